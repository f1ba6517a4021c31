//! Metadata subcommands: metadata, set-metadata.

use std::collections::BTreeMap;

use crate::flag_inputs::metadata_from_flags;
use crate::invocation::Invocation;
use crate::output;

/// `metadata ID...`: each record's metadata (one trailing newline dropped); arguments that
/// name nothing print empty metadata and make the exit status 1.
pub fn metadata(inv: &Invocation) -> i32 {
    let mut found: BTreeMap<&str, String> = BTreeMap::new();
    let mut missing_any = false;
    for arg in inv.args {
        match inv.store.metadata(arg) {
            Ok(metadata) => {
                found.insert(arg, metadata.strip_suffix('\n').unwrap_or(&metadata).to_string());
            }
            Err(_) => missing_any = true,
        }
    }
    if inv.json() {
        output::json(&found);
    } else {
        let quiet = inv.flags.get_bool("q");
        let mut text = String::new();
        for arg in inv.args {
            let metadata = found.get(arg.as_str()).map(String::as_str).unwrap_or("");
            if quiet {
                text.push_str(&format!("{metadata}\n"));
            } else {
                text.push_str(&format!("{arg}: {metadata}\n"));
            }
        }
        output::stdout_str(&text);
    }
    if missing_any {
        1
    } else {
        0
    }
}

/// `set-metadata -m text|-f file ID`. As in the Go tool, empty metadata cannot be set.
pub fn set_metadata(inv: &Invocation) -> i32 {
    if inv.flags.get_text("m").is_empty() && inv.flags.get_text("f").is_empty() {
        errln!("no new metadata provided (use --metadata or --metadata-file)");
        return 1;
    }
    let metadata = match metadata_from_flags(inv) {
        Ok(m) => m,
        Err(message) => {
            errln!("{message}");
            return 1;
        }
    };
    match inv.store.set_metadata(&inv.args[0], &metadata) {
        Ok(()) => 0,
        Err(e) => {
            errln!("{e}");
            1
        }
    }
}

//! Store-wide subcommands: exists, status, version, shutdown, gc.

use std::collections::BTreeMap;

use crate::invocation::Invocation;
use crate::output::{self, go_list, unique_args};

/// `exists [-l|-i|-c] ID...`: whether each names something; with a kind flag, the exit status
/// also requires that kind (the printed value stays "exists at all", as in the Go tool).
pub fn exists(inv: &Invocation) -> i32 {
    let store = inv.store;
    let (only_layers, only_images, only_containers) =
        (inv.flags.get_bool("l"), inv.flags.get_bool("i"), inv.flags.get_bool("c"));
    let mut found: BTreeMap<&str, bool> = BTreeMap::new();
    let mut lines = String::new();
    let mut missing_any = false;
    for arg in unique_args(inv.args) {
        let exists = store.exists(arg).unwrap_or(false);
        let of_kind = exists
            && (!only_containers || store.container(arg).is_ok())
            && (!only_images || store.image(arg).is_ok())
            && (!only_layers || store.layer(arg).is_ok());
        missing_any |= !of_kind;
        found.insert(arg, exists);
        lines.push_str(&format!("{arg}: {exists}\n"));
    }
    if inv.json() {
        output::json(&found);
    } else if !inv.flags.get_bool("q") {
        output::stdout_str(&lines);
    }
    i32::from(missing_any)
}

/// Key/value pairs: JSON as a list of pairs, else "Key: value" lines on stderr (as the Go
/// tool prints them).
fn print_pairs(inv: &Invocation, pairs: &[(String, String)]) {
    if inv.json() {
        let as_arrays: Vec<[&str; 2]> =
            pairs.iter().map(|(k, v)| [k.as_str(), v.as_str()]).collect();
        output::json(&as_arrays);
    } else {
        for (key, value) in pairs {
            errln!("{key}: {value}");
        }
    }
}

pub fn status(inv: &Invocation) -> i32 {
    let store = inv.store;
    let mut pairs = vec![
        ("Root".to_string(), store.graph_root().display().to_string()),
        ("Run Root".to_string(), store.run_root().display().to_string()),
        ("Driver Name".to_string(), store.driver_name().to_string()),
        ("Driver Options".to_string(), go_list(&store.options().driver_options)),
    ];
    pairs.extend(store.status());
    print_pairs(inv, &pairs);
    0
}

pub fn version(inv: &Invocation) -> i32 {
    print_pairs(inv, &inv.store.version());
    0
}

/// `shutdown [-f]`: release the driver; refused while layers are mounted unless forced.
pub fn shutdown(inv: &Invocation) -> i32 {
    let force = inv.flags.get_bool("f");
    let error = match inv.store.shutdown(force) {
        Ok(still_mounted) if still_mounted.is_empty() => None,
        Ok(still_mounted) => Some(format!(
            "a layer is mounted: layer is in use by a container ({}; use --force to unmount)",
            still_mounted.join(", ")
        )),
        Err(e) => Some(e.to_string()),
    };
    match error {
        None => {
            if inv.json() {
                output::json("");
            }
            0
        }
        Some(message) => {
            if inv.json() {
                // Go encodes its error value as {}, which says nothing; the message is more use.
                output::json(&message);
            } else {
                errln!("{}: {message}", inv.command);
            }
            1
        }
    }
}

/// `gc [-j]`: remove what no record owns; with `--debug`, say what went (and what stayed).
pub fn gc(inv: &Invocation) -> i32 {
    let collected = match inv.store.garbage_collect() {
        Ok(collected) => collected,
        Err(e) => {
            errln!("{e}");
            return 1;
        }
    };
    if inv.debug {
        for path in &collected.removed {
            errln!(
                "{}",
                crate::global::debug_line(&format!(
                    "removing {}",
                    output::go_quote(&path.display().to_string())
                ))
            );
        }
        for id in &collected.forgotten_mounts {
            errln!(
                "{}",
                crate::global::debug_line(&format!("removing the mount record of layer {id}"))
            );
        }
        for (path, why) in &collected.kept {
            errln!(
                "{}",
                crate::global::debug_line(&format!(
                    "keeping {}: {why}",
                    output::go_quote(&path.display().to_string())
                ))
            );
        }
    }
    for e in &collected.errors {
        errln!("{e}");
    }
    if !collected.errors.is_empty() {
        return 1;
    }
    if inv.json() {
        output::json("");
    }
    0
}

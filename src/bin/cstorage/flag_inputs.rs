//! Input that flags name, read the same way by every subcommand that takes it: metadata text
//! (`-m`, or the file `-f` names: create-image, create-container, set-metadata) and tar streams
//! (the file `-f` names, else stdin: import-layer, applydiff).

use std::fs::File;
use std::io::{self, Read};

use crate::invocation::Invocation;

/// Metadata from `-m`, or from the file named by `-f` (which wins).
pub fn metadata_from_flags(inv: &Invocation) -> Result<String, String> {
    let file = inv.flags.get_text("f");
    if file.is_empty() {
        return Ok(inv.flags.get_text("m").to_string());
    }
    std::fs::read(file)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .map_err(|e| format!("reading metadata file {file}: {e}"))
}

/// The tar stream to read: the file named by `-f`, else stdin.
pub fn input_stream(inv: &Invocation) -> Result<Box<dyn Read>, String> {
    let file = inv.flags.get_text("f");
    if file.is_empty() {
        return Ok(Box::new(io::stdin().lock()));
    }
    File::open(file)
        .map(|f| Box::new(io::BufReader::new(f)) as Box<dyn Read>)
        .map_err(|e| format!("opening {file}: {e}"))
}

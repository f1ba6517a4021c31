//! Tar-stream subcommands: changes, diffsize, diff, applydiff (import-layer is with the layer
//! commands). `layer [reference]` compares a layer with its parent, or with the reference
//! layer when one is given.

use std::fs::File;
use std::io::{self, Write};

use cstorage::archive::ChangeKind;
use cstorage::store::DiffCompression;
use serde::Serialize;

use crate::flag_inputs::input_stream;
use crate::invocation::Invocation;
use crate::output::{self, go_quote};
use crate::progress::{Progress, ProgressWriter};

/// (from, to) as the Go tool takes them: the layer first, the optional reference second.
fn layer_pair<'a>(inv: &'a Invocation) -> (Option<&'a str>, &'a str) {
    (inv.args.get(1).map(String::as_str), inv.args[0].as_str())
}

/// One entry of `changes -j`, with Go's field names and change numbering.
#[derive(Serialize)]
struct ChangeJson<'a> {
    #[serde(rename = "Path")]
    path: &'a str,
    #[serde(rename = "Kind")]
    kind: i32,
}

pub fn changes(inv: &Invocation) -> i32 {
    let (from, to) = layer_pair(inv);
    let changes = match inv.store.changes(from, to) {
        Ok(changes) => changes,
        Err(e) => {
            errln!("{e}");
            return 1;
        }
    };
    if inv.json() {
        if changes.is_empty() {
            // Go's nil list.
            outln!("null");
        } else {
            let list: Vec<ChangeJson> =
                changes.iter().map(|c| ChangeJson { path: &c.path, kind: c.kind as i32 }).collect();
            output::json(&list);
        }
        return 0;
    }
    let mut text = String::new();
    for change in &changes {
        let what = match change.kind {
            ChangeKind::Add => "Add",
            ChangeKind::Modify => "Modify",
            ChangeKind::Delete => "Delete",
        };
        text.push_str(&format!("{what} {}\n", go_quote(&change.path)));
    }
    output::stdout_str(&text);
    0
}

pub fn diff_size(inv: &Invocation) -> i32 {
    let (from, to) = layer_pair(inv);
    match inv.store.diff_size(from, to) {
        Ok(size) => {
            outln!("{size}");
            0
        }
        Err(e) => {
            errln!("{e}");
            1
        }
    }
}

/// `diff [-f file] [-u|-c] layer [reference]`: the layer's changes as a tar stream, compressed
/// as the layer was imported unless a compression flag says otherwise.
pub fn diff(inv: &Invocation) -> i32 {
    let flags = inv.flags;
    // The Go tool's precedence: xz over bzip2 over gzip over uncompressed.
    let compression = if flags.get_bool("x") {
        Err("xz")
    } else if flags.get_bool("b") {
        Err("bzip2")
    } else if flags.get_bool("c") {
        Ok(DiffCompression::Gzip)
    } else if flags.get_bool("u") {
        Ok(DiffCompression::Uncompressed)
    } else {
        Ok(DiffCompression::AsStored)
    };
    // As in Go, the output file is created first.
    let file = flags.get_text("f");
    let out: Box<dyn Write> = if file.is_empty() {
        Box::new(io::stdout().lock())
    } else {
        match File::create(file) {
            Ok(f) => Box::new(f),
            Err(e) => {
                errln!("creating {file}: {e}");
                return 1;
            }
        }
    };
    let compression = match compression {
        Ok(c) => c,
        Err(name) => {
            errln!("unsupported compression format {name}: diff can write uncompressed (-u) or gzip (-c) streams");
            return 1;
        }
    };
    let (from, to) = layer_pair(inv);
    let mut out = ProgressWriter::new(out, "exporting");
    let result = inv
        .store
        .diff(from, to, compression, &mut out)
        .and_then(|()| out.flush().map_err(|e| cstorage::Error::io("writing the diff", e)));
    out.progress.finish();
    match result {
        Ok(()) => 0,
        Err(e) => {
            errln!("{e}");
            1
        }
    }
}

/// `applydiff [-f file] layer`: apply a tar stream (plain, gzip or zstd) to an existing layer.
pub fn apply_diff(inv: &Invocation) -> i32 {
    let mut input = match input_stream(inv) {
        Ok(input) => input,
        Err(message) => {
            errln!("{message}");
            return 1;
        }
    };
    let mut progress = Progress::new("applying");
    let result = inv.store.apply_diff(
        &inv.args[0],
        &mut input,
        Some(&mut |done| {
            progress.update(done);
            true
        }),
    );
    progress.finish();
    match result {
        Ok(_) => 0,
        Err(e) => {
            errln!("{e}");
            1
        }
    }
}

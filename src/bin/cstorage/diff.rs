//! Tar-stream subcommands: changes, diffsize, diff, applydiff (import-layer is with the layer
//! commands).
//!
//! These need the store's tar import and export (put_layer, apply_diff, diff, changes,
//! diff_size), which libcstorage's `Store` does not offer yet. Until it does they check their
//! arguments and then say so, with exit status 1.

use crate::commands::Invocation;

/// Report that `what` needs store support this build lacks.
pub fn not_supported_yet(command: &str, what: &str) -> i32 {
    errln!("{command}: {what} is not supported yet: libcstorage's store does not offer tar import/export to this tool yet");
    1
}

/// The layers named by the arguments must exist before anything else is said.
fn check_layers(inv: &Invocation) -> bool {
    for arg in inv.args {
        if let Err(e) = inv.store.layer(arg) {
            errln!("{e}");
            return false;
        }
    }
    true
}

pub fn changes(inv: &Invocation) -> i32 {
    if !check_layers(inv) {
        return 1;
    }
    not_supported_yet(inv.command, "listing the changes of a layer")
}

pub fn diff_size(inv: &Invocation) -> i32 {
    if !check_layers(inv) {
        return 1;
    }
    not_supported_yet(inv.command, "measuring the diff of a layer")
}

pub fn diff(inv: &Invocation) -> i32 {
    if !check_layers(inv) {
        return 1;
    }
    not_supported_yet(inv.command, "exporting the diff of a layer")
}

pub fn apply_diff(inv: &Invocation) -> i32 {
    if !check_layers(inv) {
        return 1;
    }
    not_supported_yet(inv.command, "applying a tar diff to a layer")
}

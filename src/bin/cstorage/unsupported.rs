//! The containers-storage 1.57 commands cstorage has but cannot carry out: each says why on
//! stderr and exits 1, so that a script learns it failed (never "unrecognized command").

use crate::invocation::Invocation;

/// `dedup`: c/storage shares the blocks of identical files across image layers with the
/// FIDEDUPERANGE ioctl (on file systems with reflinks); libcstorage has no deduplication yet.
pub fn dedup(inv: &Invocation) -> i32 {
    refuse(inv, "deduplicating the files of image layers is not supported by cstorage yet")
}

/// `unshare`: c/storage re-executes itself in a new user namespace that maps the caller's
/// subordinate IDs and runs the command there; cstorage has no such re-execution.
pub fn unshare(inv: &Invocation) -> i32 {
    refuse(inv, "running a command in a user namespace is not supported by cstorage")
}

/// `applydiff-using-staging-dir`: c/storage compresses the directory to zstd:chunked and
/// applies it as a partial pull through a staging directory; libcstorage has no partial pulls.
pub fn applydiff_using_staging_dir(inv: &Invocation) -> i32 {
    refuse(inv, "applying a layer through a staging directory (zstd:chunked partial pulls) is not supported by cstorage")
}

fn refuse(inv: &Invocation, why: &str) -> i32 {
    errln!("{}: {why}", inv.command);
    1
}

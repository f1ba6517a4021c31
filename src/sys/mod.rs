//! The one place the core talks to the kernel (and libc) through raw calls: every `unsafe`
//! system call of the crate outside the C boundary (`capi`) and the CLI lives in this module.
//!
//! Each wrapper is a safe function over Rust types (`BorrowedFd`/`impl AsFd`, `&CStr`, slices)
//! that returns `std::io::Result` with the OS error as the kernel reported it, and holds one
//! small `unsafe` block whose `// SAFETY:` comment says why its pointers and descriptors are
//! valid. Wrappers do no more than the call: no retries, no fallbacks, no error translation
//! (a missing entry, an unsupported xattr, EINTR are the caller's business), so what a call
//! means is decided where the reader of that code can see it. The model is libpathrs's
//! `syscalls.rs`.
//!
//! One file per topic: `fs` (descriptors, `*at` calls, metadata, directory streams), `xattr`,
//! `mount` (the mount API and overlay's mount constants), `process` (IDs, namespaces, child
//! processes, pipes), `lock` (fcntl record locks, flock), `users` (passwd/group lookups),
//! `random` (getrandom), `copy` (FICLONE and copy_file_range for copies of file data), `memory`
//! (madvise).
//! Nothing here imports from the rest of the crate: it is the bottom floor.

pub(crate) mod copy;
pub(crate) mod fs;
pub(crate) mod lock;
pub(crate) mod memory;
pub(crate) mod mount;
pub(crate) mod process;
pub(crate) mod random;
pub(crate) mod users;
pub(crate) mod xattr;

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// The result of a call that returns 0 (or any non-negative value) on success and -1 with
/// errno on failure.
fn check(ret: libc::c_int) -> io::Result<()> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// The result of a call that returns a length on success and -1 with errno on failure.
fn check_len(ret: isize) -> io::Result<usize> {
    usize::try_from(ret).map_err(|_| io::Error::last_os_error())
}

/// The result of `libc::syscall` for a call that returns 0 on success.
fn check_syscall(ret: libc::c_long) -> io::Result<()> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Take ownership of the descriptor a call just returned, or its error (-1 and errno).
///
/// # Safety
///
/// `ret` is the return value of a call, made just now on this thread, that returns a new
/// descriptor nothing else owns on success, and -1 with errno set on failure.
unsafe fn owned_fd(ret: impl Into<libc::c_long>) -> io::Result<OwnedFd> {
    let ret = ret.into();
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: by this function's contract, a fresh descriptor owned by nobody else; it fits
    // RawFd because the kernel hands out int descriptors.
    Ok(unsafe { OwnedFd::from_raw_fd(ret as RawFd) })
}

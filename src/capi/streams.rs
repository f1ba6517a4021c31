//! Data streams between the caller and the library. For now: file descriptors the caller lends
//! for the duration of one call. The read/write/progress callback types (`cs_read_fn`,
//! `cs_write_fn`, `cs_progress_fn`) and their `io::Read`/`io::Write` adapters for the tar import
//! and export calls belong here as well.

use std::fs::File;
use std::os::fd::BorrowedFd;
use std::os::raw::c_int;

use crate::error::{Error, ErrorKind, IoContext, Result};

/// A `File` on a duplicate of the caller's descriptor: reads and writes move the shared file
/// offset as the caller would expect, and dropping it never closes the caller's descriptor.
pub(crate) fn lent_fd(fd: c_int, name: &str) -> Result<File> {
    if fd < 0 {
        return Err(Error::with_errno(
            ErrorKind::InvalidArgument,
            libc::EBADF,
            format!("parameter `{name}` is not a file descriptor ({fd})"),
        ));
    }
    // SAFETY: the caller lends an open descriptor for the duration of the call (the header's
    // contract for every `int fd` parameter); it is only used here, to duplicate it.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    Ok(File::from(borrowed.try_clone_to_owned().ctx(format_args!("duplicating file descriptor `{name}` ({fd})"))?))
}

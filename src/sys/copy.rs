//! The calls of the data copy (driver/clone_file.rs): sharing extents (`FICLONE`) and the
//! in-kernel copy (`copy_file_range`). The tree copier's other calls are the ordinary ones of
//! `fs` and `xattr`.

use std::io;
use std::os::fd::{AsFd, AsRawFd};

use super::{check, check_len};

/// ioctl(FICLONE): `dst` shares all of `src`'s extents (reflink), its data replaced by
/// `src`'s.
pub(crate) fn ficlone(dst: impl AsFd, src: impl AsFd) -> io::Result<()> {
    // SAFETY: both descriptors are open for the call; FICLONE takes the source descriptor as
    // its argument, by value.
    check(unsafe { libc::ioctl(dst.as_fd().as_raw_fd(), libc::FICLONE, src.as_fd().as_raw_fd()) })
}

/// copy_file_range(2) of up to `len` bytes from `src` to `dst` at (and advancing) both files'
/// own offsets: the bytes copied, 0 at the source's end.
pub(crate) fn copy_file_range(src: impl AsFd, dst: impl AsFd, len: usize) -> io::Result<usize> {
    // SAFETY: both descriptors are open for the call; null offsets make the kernel use and
    // advance the files' own offsets, so no pointer is read or written.
    check_len(unsafe {
        libc::copy_file_range(
            src.as_fd().as_raw_fd(),
            std::ptr::null_mut(),
            dst.as_fd().as_raw_fd(),
            std::ptr::null_mut(),
            len,
            0,
        )
    })
}

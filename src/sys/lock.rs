//! File locks: fcntl open-file-description (OFD) record locks, as the lock files of
//! c/storage's protocol take them (see src/lock.rs), and flock(2) whole-file locks.

use std::io;
use std::os::fd::{AsFd, AsRawFd};

use super::check;

/// fcntl(F_OFD_SETLK, or F_OFD_SETLKW when `wait`) over the whole file: `lock_type` is
/// F_RDLCK, F_WRLCK or F_UNLCK. EINTR is returned like any other error.
pub(crate) fn ofd_lock_whole_file(fd: impl AsFd, lock_type: i16, wait: bool) -> io::Result<()> {
    // SAFETY: flock is plain old data; all-zero is a valid value.
    let mut flock: libc::flock = unsafe { std::mem::zeroed() };
    flock.l_type = lock_type;
    flock.l_whence = libc::SEEK_SET as i16;
    flock.l_start = 0;
    flock.l_len = 0; // to the end of the file, however long it grows
    flock.l_pid = 0; // required to be 0 for OFD locks
    let cmd = if wait { libc::F_OFD_SETLKW } else { libc::F_OFD_SETLK };
    // SAFETY: the descriptor is open for the call and `flock` is a fully initialised flock
    // structure that outlives it.
    check(unsafe { libc::fcntl(fd.as_fd().as_raw_fd(), cmd, &flock) })
}

/// flock(2) (`operation`: LOCK_SH, LOCK_EX or LOCK_UN, with LOCK_NB not to wait).
pub(crate) fn flock(fd: impl AsFd, operation: libc::c_int) -> io::Result<()> {
    // SAFETY: the descriptor is open for the call.
    check(unsafe { libc::flock(fd.as_fd().as_raw_fd(), operation) })
}

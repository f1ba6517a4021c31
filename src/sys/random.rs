//! Random bytes from the kernel's CSPRNG.

use std::io;

use super::check_len;

/// getrandom(2) into `buf` (flags 0: blocks only until the pool is first initialised): how
/// many bytes it filled, which may be fewer than asked.
pub(crate) fn getrandom(buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is writable for its whole length.
    check_len(unsafe { libc::getrandom(buf.as_mut_ptr().cast(), buf.len(), 0) })
}

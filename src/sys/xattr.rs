//! Extended-attribute calls: the `l*` forms on paths (never following a final symlink) and
//! the `f*` forms on open descriptors, plus the two-step read (size, then value) that
//! `lgetxattr`/`llistxattr` need.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsFd, AsRawFd};

use super::{check, check_len};

/// The buffer as the kernel takes it: NULL for a size query (length 0), as the man page has it.
fn out_ptr(buf: &mut [u8]) -> *mut libc::c_void {
    if buf.is_empty() {
        std::ptr::null_mut()
    } else {
        buf.as_mut_ptr().cast()
    }
}

/// llistxattr(2) into `buf`: the length of the NUL-separated name list; an empty `buf` asks
/// for the size needed.
pub(crate) fn llistxattr(path: &CStr, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `path` is NUL-terminated and `buf` writable for its whole length (NULL for
    // length 0, a size query).
    check_len(unsafe { libc::llistxattr(path.as_ptr(), out_ptr(buf).cast(), buf.len()) })
}

/// lgetxattr(2) into `buf`: the length of the value; an empty `buf` asks for the size needed.
pub(crate) fn lgetxattr(path: &CStr, name: &CStr, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `path` and `name` are NUL-terminated and `buf` writable for its whole length (NULL
    // for length 0, a size query).
    check_len(unsafe { libc::lgetxattr(path.as_ptr(), name.as_ptr(), out_ptr(buf), buf.len()) })
}

/// fgetxattr(2) into `buf`: the length of the value; an empty `buf` asks for the size needed.
pub(crate) fn fgetxattr(fd: impl AsFd, name: &CStr, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: the descriptor is open, `name` NUL-terminated and `buf` writable for its whole
    // length (NULL for length 0, a size query).
    check_len(unsafe {
        libc::fgetxattr(fd.as_fd().as_raw_fd(), name.as_ptr(), out_ptr(buf), buf.len())
    })
}

/// lsetxattr(2): set `name` to `value` on `path` itself, even if it is a symlink.
pub(crate) fn lsetxattr(path: &CStr, name: &CStr, value: &[u8]) -> io::Result<()> {
    // SAFETY: `path` and `name` are NUL-terminated and `value` readable for its whole length.
    check(unsafe {
        libc::lsetxattr(path.as_ptr(), name.as_ptr(), value.as_ptr().cast(), value.len(), 0)
    })
}

/// fsetxattr(2): set `name` to `value` on an open descriptor.
pub(crate) fn fsetxattr(fd: impl AsFd, name: &CStr, value: &[u8]) -> io::Result<()> {
    // SAFETY: the descriptor is open, `name` NUL-terminated and `value` readable for its whole
    // length.
    check(unsafe {
        libc::fsetxattr(
            fd.as_fd().as_raw_fd(),
            name.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    })
}

/// The whole of a size-then-fetch read such as [`lgetxattr`]: ask for the needed size with an
/// empty buffer, then fetch; ask again if the value grew between the two calls (ERANGE).
pub(crate) fn read_sized(
    mut call: impl FnMut(&mut [u8]) -> io::Result<usize>,
) -> io::Result<Vec<u8>> {
    loop {
        let size = call(&mut [])?;
        let mut buf = vec![0u8; size];
        if size == 0 {
            return Ok(buf);
        }
        match call(&mut buf) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(buf);
            }
            Err(e) if e.raw_os_error() == Some(libc::ERANGE) => {}
            Err(e) => return Err(e),
        }
    }
}

/// flistxattr(2) asking for the size only: the length of the open file's xattr name list (0:
/// it has none).
pub(crate) fn flistxattr_size(fd: impl AsFd) -> io::Result<usize> {
    // SAFETY: the descriptor is open; a null buffer of length 0 is the man page's size query.
    check_len(unsafe { libc::flistxattr(fd.as_fd().as_raw_fd(), std::ptr::null_mut(), 0) })
}

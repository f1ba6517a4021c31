//! Reading and copying extended attributes of a path, never following a final symlink. Shared by
//! the tree copy of drivers, the archive code and the CLI's `copy`.

use std::ffi::{CStr, CString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::error::{Error, IoContext, Result};

fn cpath(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

/// Ask for the needed size with an empty buffer, then fetch; retry if the value grew between
/// the two calls (ERANGE). `call(buf, len)` is the raw syscall.
fn sized_read(mut call: impl FnMut(*mut libc::c_void, usize) -> isize) -> io::Result<Vec<u8>> {
    loop {
        let size = call(std::ptr::null_mut(), 0);
        if size < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut buf = vec![0u8; size as usize];
        if size == 0 {
            return Ok(buf);
        }
        let n = call(buf.as_mut_ptr().cast(), buf.len());
        if n >= 0 {
            buf.truncate(n as usize);
            return Ok(buf);
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::ERANGE) {
            return Err(err);
        }
    }
}

/// Names of the path's xattrs; none on a file system without xattr support.
pub fn list(path: &Path) -> io::Result<Vec<CString>> {
    let c = cpath(path)?;
    // SAFETY: valid path; the buffer pointer and length come from `sized_read`.
    match sized_read(|buf, len| unsafe { libc::llistxattr(c.as_ptr(), buf.cast(), len) }) {
        Ok(names) => Ok(names
            .split(|&b| b == 0)
            .filter(|n| !n.is_empty())
            .map(|n| CString::new(n).expect("split on NUL"))
            .collect()),
        Err(e) if e.raw_os_error() == Some(libc::ENOTSUP) => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// The value of one xattr; `None` when the path does not have it.
pub fn get(path: &Path, name: &CStr) -> io::Result<Option<Vec<u8>>> {
    let c = cpath(path)?;
    // SAFETY: valid path and name; the buffer pointer and length come from `sized_read`.
    match sized_read(|buf, len| unsafe { libc::lgetxattr(c.as_ptr(), name.as_ptr(), buf, len) }) {
        Ok(value) => Ok(Some(value)),
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENODATA) | Some(libc::ENOTSUP)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Copy the extended attributes whose names `wanted` accepts (not following symlinks); a file
/// system without xattr support simply has none to copy.
pub fn copy(src: &Path, dst: &Path, wanted: impl Fn(&CStr) -> bool) -> Result<()> {
    let d = cpath(dst).map_err(|e| Error::io(format_args!("xattrs of {}", dst.display()), e))?;
    let names = list(src).ctx(format_args!("listing xattrs of {}", src.display()))?;
    for name in names.into_iter().filter(|n| wanted(n)) {
        let shown = name.to_string_lossy();
        let Some(value) =
            get(src, &name).ctx(format_args!("reading xattr {shown} of {}", src.display()))?
        else {
            continue;
        };
        // SAFETY: valid C strings and a buffer of the given length.
        let rc = unsafe {
            libc::lsetxattr(d.as_ptr(), name.as_ptr(), value.as_ptr().cast(), value.len(), 0)
        };
        if rc != 0 {
            let err = io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::ENOTSUP) {
                continue;
            }
            return Err(Error::io(format_args!("setting xattr {shown} on {}", dst.display()), err));
        }
    }
    Ok(())
}

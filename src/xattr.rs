//! Reading and copying extended attributes of a path, never following a final symlink, with
//! the tolerance every caller wants: a file system without xattr support has none, and an
//! attribute that is absent reads as `None`. Shared by the tree copy of drivers, the archive
//! code and the CLI's `copy`; the calls themselves are in `sys::xattr`.

use std::ffi::{CStr, CString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::error::{Error, IoContext, Result};
use crate::sys::xattr::{lgetxattr, llistxattr, lsetxattr, read_sized};

fn cpath(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

/// Names of the path's xattrs; none on a file system without xattr support.
pub fn list(path: &Path) -> io::Result<Vec<CString>> {
    let c = cpath(path)?;
    match read_sized(|buf| llistxattr(&c, buf)) {
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
    match read_sized(|buf| lgetxattr(&c, name, buf)) {
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
        match lsetxattr(&d, &name, &value) {
            Ok(()) => {}
            Err(err) if err.raw_os_error() == Some(libc::ENOTSUP) => continue,
            Err(err) => {
                return Err(Error::io(
                    format_args!("setting xattr {shown} on {}", dst.display()),
                    err,
                ))
            }
        }
    }
    Ok(())
}

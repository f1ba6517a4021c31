//! Paths as the kernel takes them: C strings, the directory a path names its last component
//! in, and the flags every directory of the copy is opened with.

use std::ffi::CString;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::error::Cause;
use crate::error::{Error, Result};
use crate::sys;

/// Directories the copy reads or writes: never through a symlink, never inherited by a child.
pub(super) const DIRECTORY: libc::c_int =
    libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;

/// Open `path` (relative to the working directory if not absolute).
pub(super) fn open_path(path: &Path, flags: libc::c_int) -> Result<OwnedFd, Cause> {
    let path = cpath(path).map_err(Cause::Core)?;
    sys::fs::openat(sys::fs::cwd(), &path, flags, 0).map_err(Cause::Os)
}

/// The directory a path names its last component in ("." for a bare name).
pub(super) fn parent(path: &Path) -> &Path {
    path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// The last component of `path`, which must have one.
pub(super) fn file_name(path: &Path) -> Result<CString> {
    match path.file_name() {
        Some(name) => cpath(Path::new(name)),
        None => Err(Error::invalid(format!("{} does not end in a file name", path.display()))),
    }
}

/// The path as a C string; a NUL inside is an invalid argument.
pub(crate) fn cpath(path: &Path) -> Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| Error::invalid(format!("path {} contains a NUL byte", path.display())))
}

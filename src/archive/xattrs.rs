//! Reading extended attributes of paths (without following a final symlink), for exports and
//! change detection.

use std::ffi::{CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

fn cpath(path: &Path) -> Option<CString> {
    CString::new(path.as_os_str().as_bytes()).ok()
}

/// The value of one xattr, `None` if absent or unreadable.
pub fn get(path: &Path, name: &CStr) -> Option<Vec<u8>> {
    let c = cpath(path)?;
    let mut buf = vec![0u8; 256];
    loop {
        // SAFETY: valid NUL-terminated strings and a buffer of the given length.
        let n = unsafe { libc::lgetxattr(c.as_ptr(), name.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            buf.truncate(n as usize);
            return Some(buf);
        }
        if std::io::Error::last_os_error().raw_os_error() != Some(libc::ERANGE) || buf.len() > 1 << 20 {
            return None;
        }
        buf.resize(buf.len() * 4, 0);
    }
}

/// Names of all xattrs of `path`.
pub fn list(path: &Path) -> Vec<Vec<u8>> {
    let Some(c) = cpath(path) else { return Vec::new() };
    // SAFETY: a NULL buffer of size 0 asks for the needed size.
    let size = unsafe { libc::llistxattr(c.as_ptr(), std::ptr::null_mut(), 0) };
    if size <= 0 {
        return Vec::new();
    }
    let mut buf = vec![0u8; size as usize];
    // SAFETY: buffer of the given length.
    let n = unsafe { libc::llistxattr(c.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if n <= 0 {
        return Vec::new();
    }
    buf.truncate(n as usize);
    buf.split(|&b| b == 0).filter(|n| !n.is_empty()).map(<[u8]>::to_vec).collect()
}

/// The xattrs c/storage puts into exported tars: security.capability, security.ima, user.*.
pub fn exported(path: &Path) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    for name in list(path) {
        if name == b"security.capability" || name == b"security.ima" || name.starts_with(b"user.") {
            let Ok(c) = CString::new(name.clone()) else { continue };
            if let Some(value) = get(path, &c) {
                out.push((name, value));
            }
        }
    }
    out.sort();
    out
}

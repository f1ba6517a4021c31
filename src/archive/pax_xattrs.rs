//! Which extended attributes go into exported tars (as `SCHILY.xattr.*` PAX records), and
//! reading them for exports and change detection (unreadable ones count as absent there, as in
//! c/storage). Extraction sets a tar's xattrs in `apply`.

use std::ffi::CStr;
use std::path::Path;

use crate::xattr;

/// The value of one xattr, `None` if absent or unreadable.
pub fn get(path: &Path, name: &CStr) -> Option<Vec<u8>> {
    xattr::get(path, name).ok().flatten()
}

/// The xattrs c/storage puts into exported tars: security.capability, security.ima, user.*.
pub fn exported(path: &Path) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    for name in xattr::list(path).unwrap_or_default() {
        let bytes = name.as_bytes();
        if bytes == b"security.capability"
            || bytes == b"security.ima"
            || bytes.starts_with(b"user.")
        {
            if let Some(value) = get(path, &name) {
                out.push((bytes.to_vec(), value));
            }
        }
    }
    out.sort();
    out
}

//! The user and group names c/storage 1.43 writes into exported tar headers: Go's
//! `tar.FileInfoHeader` looks each uid and gid up through cgo's `getpwuid_r`/`getgrgid_r` (the
//! Debian binary is built with cgo, so NSS decides, as here), and leaves the name empty when the
//! lookup finds nothing. The lookup is of the host ID, before the layer's ID maps translate the
//! number in the header.

use std::collections::HashMap;
use std::ffi::CStr;

/// Names looked up so far in one export (Go keeps a process-wide cache; an export is our unit).
#[derive(Default)]
pub struct OwnerNames {
    users: HashMap<u32, Vec<u8>>,
    groups: HashMap<u32, Vec<u8>>,
}

impl OwnerNames {
    /// The name of user `uid`, empty if the host has none.
    pub fn user(&mut self, uid: u32) -> Vec<u8> {
        self.users.entry(uid).or_insert_with(|| lookup_user(uid)).clone()
    }

    /// The name of group `gid`, empty if the host has none.
    pub fn group(&mut self, gid: u32) -> Vec<u8> {
        self.groups.entry(gid).or_insert_with(|| lookup_group(gid)).clone()
    }
}

/// First buffer size for the reentrant lookups; doubled on ERANGE as Go does, up to this cap.
const FIRST_BUFFER: usize = 1024;
const MAX_BUFFER: usize = 1 << 20;

/// Run a reentrant lookup with a buffer that grows while it is too small. `call` returns the
/// lookup's result code and, if it found an entry, the name in it (which points into the
/// buffer it was given).
fn with_growing_buffer(
    mut call: impl FnMut(&mut [u8]) -> (libc::c_int, Option<*const libc::c_char>),
) -> Vec<u8> {
    let mut size = FIRST_BUFFER;
    loop {
        let mut buf = vec![0u8; size];
        let (rc, name) = call(&mut buf);
        if rc == libc::ERANGE && size < MAX_BUFFER {
            size *= 2;
            continue;
        }
        return match name {
            // SAFETY: on success the name is a NUL-terminated string inside `buf`, alive here.
            Some(name) if rc == 0 && !name.is_null() => {
                unsafe { CStr::from_ptr(name) }.to_bytes().to_vec()
            }
            _ => Vec::new(),
        };
    }
}

fn lookup_user(uid: u32) -> Vec<u8> {
    with_growing_buffer(|buf| {
        // SAFETY: passwd is plain old data; all-zero is a valid value.
        let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call and `buf` is `buf.len()` bytes long.
        let rc = unsafe {
            libc::getpwuid_r(uid, &mut entry, buf.as_mut_ptr().cast(), buf.len(), &mut found)
        };
        (rc, (!found.is_null()).then_some(entry.pw_name.cast_const()))
    })
}

fn lookup_group(gid: u32) -> Vec<u8> {
    with_growing_buffer(|buf| {
        // SAFETY: group is plain old data; all-zero is a valid value.
        let mut entry: libc::group = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::group = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call and `buf` is `buf.len()` bytes long.
        let rc = unsafe {
            libc::getgrgid_r(gid, &mut entry, buf.as_mut_ptr().cast(), buf.len(), &mut found)
        };
        (rc, (!found.is_null()).then_some(entry.gr_name.cast_const()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_named_and_unknown_ids_are_empty() {
        let mut names = OwnerNames::default();
        assert_eq!(names.user(0), b"root");
        assert_eq!(names.group(0), b"root");
        // Far above any allocated range.
        assert_eq!(names.user(3_999_999_999), b"");
        assert_eq!(names.group(3_999_999_999), b"");
    }
}

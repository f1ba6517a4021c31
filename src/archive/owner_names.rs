//! The user and group names c/storage 1.43 writes into exported tar headers: Go's
//! `tar.FileInfoHeader` looks each uid and gid up through cgo's `getpwuid_r`/`getgrgid_r` (the
//! Debian binary is built with cgo, so NSS decides, as here), and leaves the name empty when the
//! lookup finds nothing. The lookup is of the host ID, before the layer's ID maps translate the
//! number in the header.

use std::collections::HashMap;

use crate::sys;

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

/// Run a reentrant lookup with a buffer that grows while it is too small (ERANGE). `lookup`
/// is [`sys::users::user_name`] or [`sys::users::group_name`] with its ID; anything but a name
/// found is the empty name.
fn with_growing_buffer(
    mut lookup: impl FnMut(&mut [u8]) -> std::io::Result<Option<Vec<u8>>>,
) -> Vec<u8> {
    let mut size = FIRST_BUFFER;
    loop {
        let mut buf = vec![0u8; size];
        match lookup(&mut buf) {
            Err(e) if e.raw_os_error() == Some(libc::ERANGE) && size < MAX_BUFFER => size *= 2,
            Ok(Some(name)) => return name,
            Ok(None) | Err(_) => return Vec::new(),
        }
    }
}

fn lookup_user(uid: u32) -> Vec<u8> {
    with_growing_buffer(|buf| sys::users::user_name(uid, buf))
}

fn lookup_group(gid: u32) -> Vec<u8> {
    with_growing_buffer(|buf| sys::users::group_name(gid, buf))
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

//! User and group names from the host's databases (NSS: /etc/passwd, /etc/group, LDAP...),
//! through the reentrant getpwuid_r(3) and getgrgid_r(3).

use std::ffi::CStr;
use std::io;

/// getpwuid_r(3) with `buf` as its scratch space: the name of user `uid`, `None` if there is
/// no such user. ERANGE means `buf` was too small.
pub(crate) fn user_name(uid: libc::uid_t, buf: &mut [u8]) -> io::Result<Option<Vec<u8>>> {
    // SAFETY: passwd is plain old data; all-zero is a valid value.
    let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call and `buf` is `buf.len()` bytes long.
    let rc = unsafe {
        libc::getpwuid_r(uid, &mut entry, buf.as_mut_ptr().cast(), buf.len(), &mut found)
    };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    if found.is_null() || entry.pw_name.is_null() {
        return Ok(None);
    }
    // SAFETY: on success pw_name is a NUL-terminated string inside `buf`, which is alive and
    // not written to here.
    Ok(Some(unsafe { CStr::from_ptr(entry.pw_name) }.to_bytes().to_vec()))
}

/// getgrgid_r(3) with `buf` as its scratch space: the name of group `gid`, `None` if there is
/// no such group. ERANGE means `buf` was too small.
pub(crate) fn group_name(gid: libc::gid_t, buf: &mut [u8]) -> io::Result<Option<Vec<u8>>> {
    // SAFETY: group is plain old data; all-zero is a valid value.
    let mut entry: libc::group = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::group = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call and `buf` is `buf.len()` bytes long.
    let rc = unsafe {
        libc::getgrgid_r(gid, &mut entry, buf.as_mut_ptr().cast(), buf.len(), &mut found)
    };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    if found.is_null() || entry.gr_name.is_null() {
        return Ok(None);
    }
    // SAFETY: on success gr_name is a NUL-terminated string inside `buf`, which is alive and
    // not written to here.
    Ok(Some(unsafe { CStr::from_ptr(entry.gr_name) }.to_bytes().to_vec()))
}

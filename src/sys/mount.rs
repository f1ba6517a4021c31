//! Mounting: mount(2) and umount2(2), the file-system-context API (fsopen, fsconfig, fsmount,
//! move_mount) and ID-mapped bind mounts (open_tree, mount_setattr), with the constants of
//! <linux/mount.h> that the libc crate does not define.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use super::{check, check_syscall, owned_fd};

pub(crate) const FSOPEN_CLOEXEC: libc::c_uint = 0x1;
pub(crate) const FSCONFIG_SET_FLAG: libc::c_uint = 0;
pub(crate) const FSCONFIG_SET_STRING: libc::c_uint = 1;
pub(crate) const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
pub(crate) const FSMOUNT_CLOEXEC: libc::c_uint = 0x1;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
pub(crate) const OPEN_TREE_CLONE: libc::c_uint = 1;
pub(crate) const OPEN_TREE_CLOEXEC: libc::c_uint = libc::O_CLOEXEC as libc::c_uint;
pub(crate) const MOUNT_ATTR_RDONLY: u64 = 0x1;
pub(crate) const MOUNT_ATTR_NOSUID: u64 = 0x2;
pub(crate) const MOUNT_ATTR_NODEV: u64 = 0x4;
pub(crate) const MOUNT_ATTR_NOEXEC: u64 = 0x8;
pub(crate) const MOUNT_ATTR_NOATIME: u64 = 0x10;
pub(crate) const MOUNT_ATTR_STRICTATIME: u64 = 0x20;
pub(crate) const MOUNT_ATTR_NODIRATIME: u64 = 0x80;
pub(crate) const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;

/// `struct mount_attr` of <linux/mount.h>.
#[repr(C)]
pub(crate) struct MountAttr {
    pub(crate) attr_set: u64,
    pub(crate) attr_clr: u64,
    pub(crate) propagation: u64,
    pub(crate) userns_fd: u64,
}

/// mount(2). `data` is the file system's option string, if any.
pub(crate) fn mount(
    source: &CStr,
    target: &CStr,
    fs_type: &CStr,
    flags: libc::c_ulong,
    data: Option<&CStr>,
) -> io::Result<()> {
    let data = data.map_or(std::ptr::null(), |d| d.as_ptr().cast());
    // SAFETY: NUL-terminated source, target and type, and data NUL-terminated or NULL, all
    // alive for the call.
    check(unsafe { libc::mount(source.as_ptr(), target.as_ptr(), fs_type.as_ptr(), flags, data) })
}

/// umount2(2) (`flags`: MNT_DETACH and the like).
pub(crate) fn umount2(target: &CStr, flags: libc::c_int) -> io::Result<()> {
    // SAFETY: `target` is NUL-terminated for the call.
    check(unsafe { libc::umount2(target.as_ptr(), flags) })
}

/// fsopen(2): a new file-system context for `fs_type`.
pub(crate) fn fsopen(fs_type: &CStr, flags: libc::c_uint) -> io::Result<OwnedFd> {
    // SAFETY: fsopen takes a NUL-terminated name and flags; it returns a new descriptor or -1
    // with errno, as owned_fd requires.
    unsafe { owned_fd(libc::syscall(libc::SYS_fsopen, fs_type.as_ptr(), flags)) }
}

/// fsconfig(2) on a file-system context, with aux 0. `key` and `value` are NULL when absent,
/// as commands such as FSCONFIG_SET_FLAG and FSCONFIG_CMD_CREATE require.
pub(crate) fn fsconfig(
    context: BorrowedFd<'_>,
    command: libc::c_uint,
    key: Option<&CStr>,
    value: Option<&CStr>,
) -> io::Result<()> {
    let key = key.map_or(std::ptr::null(), CStr::as_ptr);
    let value = value.map_or(std::ptr::null(), CStr::as_ptr);
    // SAFETY: the context descriptor is open and the strings NUL-terminated or NULL for the
    // call.
    check_syscall(unsafe {
        libc::syscall(libc::SYS_fsconfig, context.as_raw_fd(), command, key, value, 0)
    })
}

/// fsmount(2): the configured context as a detached mount with the MOUNT_ATTR_* `attrs`.
pub(crate) fn fsmount(
    context: BorrowedFd<'_>,
    flags: libc::c_uint,
    attrs: u64,
) -> io::Result<OwnedFd> {
    // SAFETY: fsmount on an open context descriptor with plain flags; it returns a new
    // descriptor or -1 with errno, as owned_fd requires.
    unsafe {
        owned_fd(libc::syscall(
            libc::SYS_fsmount,
            context.as_raw_fd(),
            flags,
            attrs as libc::c_uint,
        ))
    }
}

/// move_mount(2) of a detached mount (its descriptor, MOVE_MOUNT_F_EMPTY_PATH) onto `target`
/// (relative to the working directory if not absolute).
pub(crate) fn move_mount(mount: BorrowedFd<'_>, target: &CStr) -> io::Result<()> {
    // SAFETY: the mount descriptor is open, the empty from-path and `target` are
    // NUL-terminated for the call.
    check_syscall(unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            mount.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_FDCWD,
            target.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH,
        )
    })
}

/// open_tree(2) of a path relative to the working directory (`flags`: OPEN_TREE_CLONE for a
/// detached copy of the mount, OPEN_TREE_CLOEXEC).
pub(crate) fn open_tree(path: &CStr, flags: libc::c_uint) -> io::Result<OwnedFd> {
    // SAFETY: `path` is NUL-terminated for the call; open_tree returns a new descriptor or -1
    // with errno, as owned_fd requires.
    unsafe { owned_fd(libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, path.as_ptr(), flags)) }
}

/// mount_setattr(2) on the mount a descriptor is open on (empty path, AT_EMPTY_PATH).
pub(crate) fn mount_setattr(mount: BorrowedFd<'_>, attr: &MountAttr) -> io::Result<()> {
    // SAFETY: the mount descriptor is open, the empty path NUL-terminated, and `attr` a valid
    // mount_attr of the size passed, for the call.
    check_syscall(unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            mount.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH,
            attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    })
}

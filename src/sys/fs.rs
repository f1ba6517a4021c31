//! File-system calls: opening (`open`, `openat`, `openat2`), the `*at` calls that create,
//! link, remove and change one name in a directory, metadata (`fstat`, `fstatat`, `statx`,
//! `statfs`), times, file status flags, `syncfs`, and directory streams.
//!
//! Flags are passed through as given: a caller that wants `O_CLOEXEC` or `O_NOFOLLOW` says so,
//! so every call site shows what it asks of the kernel.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd};
use std::ptr::NonNull;

use super::{check, check_len, owned_fd};

/// openat2's `resolve` bit: no magic links (/proc/self/fd/N and the like) on the way.
pub(crate) const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
/// openat2's `resolve` bit: resolve as if the directory were "/" (symlinks and ".." stay in).
pub(crate) const RESOLVE_IN_ROOT: u64 = 0x10;

/// The working directory as the `dir` of an `*at` call (`AT_FDCWD`): a relative name is then
/// resolved from the working directory, an absolute one as it is.
pub(crate) fn cwd() -> BorrowedFd<'static> {
    // SAFETY: AT_FDCWD is not a descriptor but the value every *at call takes for "the working
    // directory"; it is never closed, so borrowing it for 'static is sound, and it is not -1.
    unsafe { BorrowedFd::borrow_raw(libc::AT_FDCWD) }
}

/// `struct open_how` of openat2(2).
#[repr(C)]
pub(crate) struct OpenHow {
    pub(crate) flags: u64,
    pub(crate) mode: u64,
    pub(crate) resolve: u64,
}

/// open(2) of a path (relative to the working directory if not absolute).
pub(crate) fn open(path: &CStr, flags: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: `path` is NUL-terminated and outlives the call; open returns a new descriptor or
    // -1 with errno, as owned_fd requires.
    unsafe { owned_fd(libc::open(path.as_ptr(), flags)) }
}

/// openat(2) of `name` in `dir`.
pub(crate) fn openat(
    dir: BorrowedFd<'_>,
    name: &CStr,
    flags: libc::c_int,
    mode: libc::mode_t,
) -> io::Result<OwnedFd> {
    // SAFETY: `dir` is open and `name` NUL-terminated for the whole call; openat returns a new
    // descriptor or -1 with errno, as owned_fd requires.
    unsafe { owned_fd(libc::openat(dir.as_raw_fd(), name.as_ptr(), flags, mode as libc::c_uint)) }
}

/// openat2(2) of `path` relative to `dir`, resolved as `how` says.
pub(crate) fn openat2(dir: BorrowedFd<'_>, path: &CStr, how: &OpenHow) -> io::Result<OwnedFd> {
    // SAFETY: `how` is a valid open_how of the size passed, `path` is NUL-terminated and `dir`
    // open for the whole call; openat2 returns a new descriptor or -1 with errno, as owned_fd
    // requires.
    unsafe {
        owned_fd(libc::syscall(
            libc::SYS_openat2,
            dir.as_raw_fd(),
            path.as_ptr(),
            how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        ))
    }
}

/// readlinkat(2) into `buf`: the length of the target (truncated to `buf`, not terminated).
pub(crate) fn readlinkat(dir: BorrowedFd<'_>, name: &CStr, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `dir` is open, `name` NUL-terminated, and `buf` writable for its whole length.
    check_len(unsafe {
        libc::readlinkat(dir.as_raw_fd(), name.as_ptr(), buf.as_mut_ptr().cast(), buf.len())
    })
}

/// fstatat(2) of `name` in `dir` (`flags`: AT_SYMLINK_NOFOLLOW and the like).
pub(crate) fn fstatat(
    dir: BorrowedFd<'_>,
    name: &CStr,
    flags: libc::c_int,
) -> io::Result<libc::stat> {
    // SAFETY: stat is plain old data; all-zero is a valid value.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `dir` is open, `name` NUL-terminated and `st` a valid out buffer for the call.
    check(unsafe { libc::fstatat(dir.as_raw_fd(), name.as_ptr(), &mut st, flags) })?;
    Ok(st)
}

/// fstat(2) of an open descriptor.
pub(crate) fn fstat(fd: impl AsFd) -> io::Result<libc::stat> {
    // SAFETY: stat is plain old data; all-zero is a valid value.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: the descriptor is open for the call and `st` is a valid out buffer.
    check(unsafe { libc::fstat(fd.as_fd().as_raw_fd(), &mut st) })?;
    Ok(st)
}

/// statx(2) of a path relative to the working directory.
pub(crate) fn statx(
    path: &CStr,
    flags: libc::c_int,
    mask: libc::c_uint,
) -> io::Result<libc::statx> {
    // SAFETY: statx is plain old data; all-zero is a valid value.
    let mut stx: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is NUL-terminated and `stx` a valid out buffer for the call.
    check(unsafe { libc::statx(libc::AT_FDCWD, path.as_ptr(), flags, mask, &mut stx) })?;
    Ok(stx)
}

/// statfs(2) of the file system holding `path`.
pub(crate) fn statfs(path: &CStr) -> io::Result<libc::statfs> {
    // SAFETY: statfs is plain old data; all-zero is a valid value.
    let mut buf: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is NUL-terminated and `buf` a valid out buffer for the call.
    check(unsafe { libc::statfs(path.as_ptr(), &mut buf) })?;
    Ok(buf)
}

/// mkdirat(2).
pub(crate) fn mkdirat(dir: BorrowedFd<'_>, name: &CStr, mode: libc::mode_t) -> io::Result<()> {
    // SAFETY: `dir` is open and `name` NUL-terminated for the call.
    check(unsafe { libc::mkdirat(dir.as_raw_fd(), name.as_ptr(), mode) })
}

/// unlinkat(2) (`flags`: 0 or AT_REMOVEDIR).
pub(crate) fn unlinkat(dir: BorrowedFd<'_>, name: &CStr, flags: libc::c_int) -> io::Result<()> {
    // SAFETY: `dir` is open and `name` NUL-terminated for the call.
    check(unsafe { libc::unlinkat(dir.as_raw_fd(), name.as_ptr(), flags) })
}

/// symlinkat(2): `name` in `dir` becomes a symlink to `target`.
pub(crate) fn symlinkat(target: &CStr, dir: BorrowedFd<'_>, name: &CStr) -> io::Result<()> {
    // SAFETY: `target` and `name` are NUL-terminated and `dir` is open for the call.
    check(unsafe { libc::symlinkat(target.as_ptr(), dir.as_raw_fd(), name.as_ptr()) })
}

/// linkat(2): `new_name` in `new_dir` becomes a hard link to `old_name` in `old_dir` (flags 0
/// links a symlink itself, AT_SYMLINK_FOLLOW its target).
pub(crate) fn linkat(
    old_dir: BorrowedFd<'_>,
    old_name: &CStr,
    new_dir: BorrowedFd<'_>,
    new_name: &CStr,
    flags: libc::c_int,
) -> io::Result<()> {
    // SAFETY: both directories are open and both names NUL-terminated for the call.
    check(unsafe {
        libc::linkat(
            old_dir.as_raw_fd(),
            old_name.as_ptr(),
            new_dir.as_raw_fd(),
            new_name.as_ptr(),
            flags,
        )
    })
}

/// mknodat(2): a device, FIFO or socket node `name` in `dir`.
pub(crate) fn mknodat(
    dir: BorrowedFd<'_>,
    name: &CStr,
    mode: libc::mode_t,
    dev: libc::dev_t,
) -> io::Result<()> {
    // SAFETY: `dir` is open and `name` NUL-terminated for the call.
    check(unsafe { libc::mknodat(dir.as_raw_fd(), name.as_ptr(), mode, dev) })
}

/// mknod(2) of a path relative to the working directory.
pub(crate) fn mknod(path: &CStr, mode: libc::mode_t, dev: libc::dev_t) -> io::Result<()> {
    // SAFETY: `path` is NUL-terminated for the call.
    check(unsafe { libc::mknod(path.as_ptr(), mode, dev) })
}

/// fchownat(2) (`flags`: AT_SYMLINK_NOFOLLOW to change a symlink itself).
pub(crate) fn fchownat(
    dir: BorrowedFd<'_>,
    name: &CStr,
    uid: libc::uid_t,
    gid: libc::gid_t,
    flags: libc::c_int,
) -> io::Result<()> {
    // SAFETY: `dir` is open and `name` NUL-terminated for the call.
    check(unsafe { libc::fchownat(dir.as_raw_fd(), name.as_ptr(), uid, gid, flags) })
}

/// fchown(2) of an open descriptor.
pub(crate) fn fchown(fd: impl AsFd, uid: libc::uid_t, gid: libc::gid_t) -> io::Result<()> {
    // SAFETY: the descriptor is open for the call.
    check(unsafe { libc::fchown(fd.as_fd().as_raw_fd(), uid, gid) })
}

/// fchmod(2) of an open descriptor.
pub(crate) fn fchmod(fd: impl AsFd, mode: libc::mode_t) -> io::Result<()> {
    // SAFETY: the descriptor is open for the call.
    check(unsafe { libc::fchmod(fd.as_fd().as_raw_fd(), mode) })
}

/// fchmodat(2) (flags 0: Linux cannot change a symlink's own mode).
pub(crate) fn fchmodat(
    dir: BorrowedFd<'_>,
    name: &CStr,
    mode: libc::mode_t,
    flags: libc::c_int,
) -> io::Result<()> {
    // SAFETY: `dir` is open and `name` NUL-terminated for the call.
    check(unsafe { libc::fchmodat(dir.as_raw_fd(), name.as_ptr(), mode, flags) })
}

/// utimensat(2): access and modification times of `name` in `dir`.
pub(crate) fn utimensat(
    dir: BorrowedFd<'_>,
    name: &CStr,
    times: &[libc::timespec; 2],
    flags: libc::c_int,
) -> io::Result<()> {
    // SAFETY: `dir` is open, `name` NUL-terminated and `times` two valid timespecs.
    check(unsafe { libc::utimensat(dir.as_raw_fd(), name.as_ptr(), times.as_ptr(), flags) })
}

/// futimens(2): access and modification times of an open descriptor.
pub(crate) fn futimens(fd: impl AsFd, times: &[libc::timespec; 2]) -> io::Result<()> {
    // SAFETY: the descriptor is open and `times` two valid timespecs for the call.
    check(unsafe { libc::futimens(fd.as_fd().as_raw_fd(), times.as_ptr()) })
}

/// syncfs(2): flush the whole file system the descriptor is on.
pub(crate) fn syncfs(fd: impl AsFd) -> io::Result<()> {
    // SAFETY: the descriptor is open for the call.
    check(unsafe { libc::syncfs(fd.as_fd().as_raw_fd()) })
}

/// fcntl(F_GETFL): the file status flags of an open descriptor.
pub(crate) fn status_flags(fd: impl AsFd) -> io::Result<libc::c_int> {
    // SAFETY: the descriptor is open for the call; F_GETFL takes no argument.
    let flags = unsafe { libc::fcntl(fd.as_fd().as_raw_fd(), libc::F_GETFL) };
    check(flags).map(|()| flags)
}

/// fcntl(F_SETFL): set the file status flags of an open descriptor.
pub(crate) fn set_status_flags(fd: impl AsFd, flags: libc::c_int) -> io::Result<()> {
    // SAFETY: the descriptor is open for the call; F_SETFL takes an int.
    check(unsafe { libc::fcntl(fd.as_fd().as_raw_fd(), libc::F_SETFL, flags) })
}

/// An open directory stream (fdopendir/readdir/closedir), closed on drop.
pub(crate) struct DirStream {
    stream: NonNull<libc::DIR>,
}

impl DirStream {
    /// A stream over the directory `fd` is open on (for reading, not O_PATH). The stream owns
    /// the descriptor from then on.
    pub(crate) fn from_fd(fd: OwnedFd) -> io::Result<DirStream> {
        // SAFETY: `fd` is an open descriptor; on success the stream takes it over (released
        // below), on failure it is left to us and closed when `fd` drops.
        let stream = unsafe { libc::fdopendir(fd.as_raw_fd()) };
        match NonNull::new(stream) {
            Some(stream) => {
                let _owned_by_the_stream = fd.into_raw_fd();
                Ok(DirStream { stream })
            }
            None => Err(io::Error::last_os_error()),
        }
    }

    /// The next entry's name and d_type (DT_UNKNOWN where the file system does not say), or
    /// `None` at the end. The name borrows the stream until the next call.
    pub(crate) fn next_entry(&mut self) -> io::Result<Option<(&CStr, u8)>> {
        // SAFETY: errno is thread-local and ours to clear (readdir leaves it alone at the end
        // of the stream and sets it on an error); the stream is open while `self` lives.
        let entry = unsafe {
            *libc::__errno_location() = 0;
            libc::readdir(self.stream.as_ptr())
        };
        if entry.is_null() {
            let err = io::Error::last_os_error();
            return if err.raw_os_error().unwrap_or(0) != 0 { Err(err) } else { Ok(None) };
        }
        // SAFETY: readdir returned a valid entry whose d_name is NUL-terminated; it lives until
        // the next readdir or closedir on this stream, both of which need `&mut self`, which
        // the returned borrow holds.
        Ok(Some(unsafe { (CStr::from_ptr((*entry).d_name.as_ptr()), (*entry).d_type) }))
    }

    /// Every name in the directory but "." and "..".
    pub(crate) fn names(mut self) -> io::Result<Vec<CString>> {
        let mut names = Vec::new();
        while let Some((name, _)) = self.next_entry()? {
            if name != c"." && name != c".." {
                names.push(name.to_owned());
            }
        }
        Ok(names)
    }
}

impl Drop for DirStream {
    fn drop(&mut self) {
        // SAFETY: the stream is open and closed only here, once.
        unsafe { libc::closedir(self.stream.as_ptr()) };
    }
}

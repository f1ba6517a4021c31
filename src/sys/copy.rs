//! The calls of the tree copier (driver/copy/) and its data copy (driver/clone_file.rs):
//! sharing extents (`FICLONE`), the in-kernel copy (`copy_file_range`), and the `*at` calls,
//! metadata calls and directory stream the copier walks a tree with.
//!
//! Wrappers do no more than the call: no retries, no fallbacks, no error translation (EINTR, an
//! unsupported method, a missing entry are the caller's business). Flags are passed through as
//! given, so every call site shows what it asks of the kernel.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;

/// The result of a call that returns 0 (or any non-negative value) on success and -1 with
/// errno on failure.
fn check(ret: libc::c_int) -> io::Result<()> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// The result of a call that returns a length on success and -1 with errno on failure.
fn check_len(ret: isize) -> io::Result<usize> {
    usize::try_from(ret).map_err(|_| io::Error::last_os_error())
}

/// The working directory as the `dir` of an `*at` call (`AT_FDCWD`): a relative name is then
/// resolved from the working directory, an absolute one as it is.
pub(crate) fn cwd() -> BorrowedFd<'static> {
    // SAFETY: AT_FDCWD is not a descriptor but the value every *at call takes for "the working
    // directory"; it is never closed, so borrowing it for 'static is sound, and it is not -1.
    unsafe { BorrowedFd::borrow_raw(libc::AT_FDCWD) }
}

/// openat(2) of `name` in `dir` (`mode` matters only with O_CREAT).
pub(crate) fn openat(
    dir: BorrowedFd<'_>,
    name: &CStr,
    flags: libc::c_int,
    mode: libc::mode_t,
) -> io::Result<OwnedFd> {
    // SAFETY: `dir` is open and `name` NUL-terminated for the whole call.
    let fd = unsafe { libc::openat(dir.as_raw_fd(), name.as_ptr(), flags, mode as libc::c_uint) };
    check(fd)?;
    // SAFETY: openat succeeded, so `fd` is a new descriptor nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// fstatat(2) of `name` in `dir` (`flags`: AT_SYMLINK_NOFOLLOW and the like).
pub(crate) fn fstatat(
    dir: BorrowedFd<'_>,
    name: &CStr,
    flags: libc::c_int,
) -> io::Result<libc::stat> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::zeroed();
    // SAFETY: `dir` is open, `name` NUL-terminated and `st` a valid out buffer for the call.
    check(unsafe { libc::fstatat(dir.as_raw_fd(), name.as_ptr(), st.as_mut_ptr(), flags) })?;
    // SAFETY: stat is plain old data, zeroed above and filled by the kernel on success.
    Ok(unsafe { st.assume_init() })
}

/// fstat(2) of an open descriptor.
pub(crate) fn fstat(fd: impl AsFd) -> io::Result<libc::stat> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::zeroed();
    // SAFETY: the descriptor is open and `st` a valid out buffer for the call.
    check(unsafe { libc::fstat(fd.as_fd().as_raw_fd(), st.as_mut_ptr()) })?;
    // SAFETY: stat is plain old data, zeroed above and filled by the kernel on success.
    Ok(unsafe { st.assume_init() })
}

/// mkdirat(2).
pub(crate) fn mkdirat(dir: BorrowedFd<'_>, name: &CStr, mode: libc::mode_t) -> io::Result<()> {
    // SAFETY: `dir` is open and `name` NUL-terminated for the call.
    check(unsafe { libc::mkdirat(dir.as_raw_fd(), name.as_ptr(), mode) })
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

/// readlinkat(2) into `buf`: the length of the target (truncated to `buf`, not terminated).
pub(crate) fn readlinkat(dir: BorrowedFd<'_>, name: &CStr, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `dir` is open, `name` NUL-terminated, and `buf` writable for its whole length.
    check_len(unsafe {
        libc::readlinkat(dir.as_raw_fd(), name.as_ptr(), buf.as_mut_ptr().cast(), buf.len())
    })
}

/// fchown(2) of an open descriptor.
pub(crate) fn fchown(fd: impl AsFd, uid: libc::uid_t, gid: libc::gid_t) -> io::Result<()> {
    // SAFETY: the descriptor is open for the call.
    check(unsafe { libc::fchown(fd.as_fd().as_raw_fd(), uid, gid) })
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

/// futimens(2): access and modification times of an open descriptor.
pub(crate) fn futimens(fd: impl AsFd, times: &[libc::timespec; 2]) -> io::Result<()> {
    // SAFETY: the descriptor is open and `times` two valid timespecs for the call.
    check(unsafe { libc::futimens(fd.as_fd().as_raw_fd(), times.as_ptr()) })
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

/// flistxattr(2) asking for the size only: the length of the open file's xattr name list (0:
/// it has none).
pub(crate) fn flistxattr_size(fd: impl AsFd) -> io::Result<usize> {
    // SAFETY: the descriptor is open; a null buffer of length 0 is the man page's size query.
    check_len(unsafe { libc::flistxattr(fd.as_fd().as_raw_fd(), std::ptr::null_mut(), 0) })
}

/// ioctl(FICLONE): `dst` shares all of `src`'s extents (reflink), its data replaced by
/// `src`'s.
pub(crate) fn ficlone(dst: impl AsFd, src: impl AsFd) -> io::Result<()> {
    // SAFETY: both descriptors are open for the call; FICLONE takes the source descriptor as
    // its argument, by value.
    check(unsafe { libc::ioctl(dst.as_fd().as_raw_fd(), libc::FICLONE, src.as_fd().as_raw_fd()) })
}

/// copy_file_range(2) of up to `len` bytes from `src` to `dst` at (and advancing) both files'
/// own offsets: the bytes copied, 0 at the source's end.
pub(crate) fn copy_file_range(src: impl AsFd, dst: impl AsFd, len: usize) -> io::Result<usize> {
    // SAFETY: both descriptors are open for the call; null offsets make the kernel use and
    // advance the files' own offsets, so no pointer is read or written.
    check_len(unsafe {
        libc::copy_file_range(
            src.as_fd().as_raw_fd(),
            std::ptr::null_mut(),
            dst.as_fd().as_raw_fd(),
            std::ptr::null_mut(),
            len,
            0,
        )
    })
}

/// An open directory stream (fdopendir/readdir/closedir), closed on drop.
pub(crate) struct DirStream {
    stream: NonNull<libc::DIR>,
}

impl DirStream {
    /// A stream over the directory `fd` is open on (for reading, not O_PATH), from wherever
    /// its offset is. The stream owns the descriptor from then on.
    pub(crate) fn from_fd(fd: OwnedFd) -> io::Result<DirStream> {
        // SAFETY: `fd` is an open descriptor; on success the stream takes it over (released
        // below), on failure it is left to us and closed when `fd` drops.
        let stream = unsafe { libc::fdopendir(fd.as_raw_fd()) };
        match NonNull::new(stream) {
            Some(stream) => {
                let _owned_by_the_stream: RawFd = fd.into_raw_fd();
                Ok(DirStream { stream })
            }
            None => Err(io::Error::last_os_error()),
        }
    }

    /// The next entry's name, or `None` at the end. The name borrows the stream until the next
    /// call.
    pub(crate) fn next_name(&mut self) -> io::Result<Option<&CStr>> {
        // SAFETY: errno is thread-local and ours to clear (readdir leaves it alone at the end
        // of the stream and sets it on an error); the stream is open while `self` lives.
        let entry = unsafe {
            *libc::__errno_location() = 0;
            libc::readdir64(self.stream.as_ptr())
        };
        if entry.is_null() {
            let err = io::Error::last_os_error();
            return if err.raw_os_error().unwrap_or(0) != 0 { Err(err) } else { Ok(None) };
        }
        // SAFETY: readdir returned a valid entry whose d_name is NUL-terminated; it lives until
        // the next readdir or closedir on this stream, both of which need `&mut self`, which
        // the returned borrow holds.
        Ok(Some(unsafe { CStr::from_ptr((*entry).d_name.as_ptr()) }))
    }

    /// Every name in the directory but "." and "..".
    pub(crate) fn names(mut self) -> io::Result<Vec<CString>> {
        let mut names = Vec::new();
        while let Some(name) = self.next_name()? {
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

//! One inode of the copy: a regular file's data, and the metadata (owner, xattrs, mode, times)
//! of any entry, set only where the new inode lacks it (see mod.rs). Shared by the walker and
//! the worker threads.

use std::ffi::CStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

use super::error::{AtStep, CopyError, Step};
use super::policy::{CopyPolicy, OwnerMapping};
use crate::driver::clone_file::DataCopier;
use crate::sys;
use crate::xattr;

/// What copies a file and sets metadata, for one copy.
pub(super) struct FileCopier<'a> {
    pub(super) policy: &'a CopyPolicy<'a>,
    owners: OwnerMapping<'a>,
    data: DataCopier,
}

/// Where an entry's metadata is set: on open descriptors (regular files, the root), or by path
/// relative to a directory of the copy (symlinks, devices, fifos, sockets, which cannot be
/// opened for writing, and directories, closed by the time their metadata is set).
pub(super) enum Target<'a> {
    Open { src: BorrowedFd<'a>, dst: BorrowedFd<'a> },
    Named { dst_dir: BorrowedFd<'a>, name: &'a CStr },
}

/// A regular file to copy: `src_name` in `src_dir` to the new `dst_name` in `dst_dir`.
pub(super) struct FileAt<'e> {
    pub(super) src_dir: BorrowedFd<'e>,
    pub(super) src_name: &'e CStr,
    /// Open a symlink at `src_name` as the file it points to (the copy's root only).
    pub(super) follow: bool,
    pub(super) dst_dir: BorrowedFd<'e>,
    pub(super) dst_name: &'e CStr,
    pub(super) st: &'e libc::stat,
    pub(super) from: &'e Path,
    pub(super) to: &'e Path,
}

impl<'a> FileCopier<'a> {
    pub(super) fn new(policy: &'a CopyPolicy<'a>) -> Self {
        FileCopier { policy, owners: policy.owners.simplified(), data: DataCopier::new() }
    }

    pub(super) fn copy_file(&self, file: FileAt) -> Result<(), CopyError> {
        let (from, to) = (file.from, file.to);
        let nofollow = if file.follow { 0 } else { libc::O_NOFOLLOW };
        let src_flags = libc::O_RDONLY | nofollow | libc::O_CLOEXEC;
        let src = File::from(sys::fs::openat(file.src_dir, file.src_name, src_flags, 0).at(
            Step::OpenSourceFile,
            from,
            to,
        )?);
        // A new, empty file for the copy's data, open for writing whatever its mode says.
        let dst_flags =
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        let dst =
            File::from(
                sys::fs::openat(file.dst_dir, file.dst_name, dst_flags, file.st.st_mode & 0o777)
                    .at(Step::CreateFile, from, to)?,
            );
        self.data.copy(&src, &dst, file.st.st_size as u64).at(Step::CopyData, from, to)?;
        self.apply_metadata(Target::Open { src: src.as_fd(), dst: dst.as_fd() }, file.st, from, to)
    }

    /// Owner, xattrs, mode and times, in that order: chown clears set-ID bits, so mode comes
    /// after it, and times come last because the other calls touch ctime only. Owner and mode
    /// only where the new inode differs (see mod.rs); symlinks have no mode of their own to
    /// set.
    pub(super) fn apply_metadata(
        &self,
        target: Target,
        st: &libc::stat,
        src: &Path,
        dst: &Path,
    ) -> Result<(), CopyError> {
        let (uid, gid) =
            self.owners.owner_of(st.st_uid, st.st_gid, src).at(Step::MapOwner, src, dst)?;
        let mode = st.st_mode & 0o7777;
        let is_symlink = st.st_mode & libc::S_IFMT == libc::S_IFLNK;
        let times = [
            libc::timespec { tv_sec: st.st_atime, tv_nsec: st.st_atime_nsec },
            libc::timespec { tv_sec: st.st_mtime, tv_nsec: st.st_mtime_nsec },
        ];
        let now = match &target {
            Target::Open { dst: fd, .. } => sys::fs::fstat(fd),
            Target::Named { dst_dir, name } => {
                sys::fs::fstatat(*dst_dir, name, libc::AT_SYMLINK_NOFOLLOW)
            }
        }
        .at(Step::ReadCopy, src, dst)?;
        let chown = (now.st_uid, now.st_gid) != (uid, gid);
        let chmod =
            !is_symlink && ((now.st_mode & 0o7777) != mode || (chown && mode & 0o6000 != 0));
        let xattrs = self.policy.xattrs;
        match target {
            Target::Open { src: src_fd, dst: fd } => {
                if chown {
                    sys::fs::fchown(fd, uid, gid).at(Step::ChangeOwner, src, dst)?;
                }
                if has_xattrs(src_fd).at(Step::ListXattrs, src, dst)? {
                    xattr::copy(src, dst, |name| xattrs.wants(name)).at(
                        Step::CopyXattrs,
                        src,
                        dst,
                    )?;
                }
                if chmod {
                    sys::fs::fchmod(fd, mode).at(Step::ChangeMode, src, dst)?;
                }
                sys::fs::futimens(fd, &times).at(Step::SetTimes, src, dst)?;
            }
            Target::Named { dst_dir, name } => {
                if chown {
                    sys::fs::fchownat(dst_dir, name, uid, gid, libc::AT_SYMLINK_NOFOLLOW).at(
                        Step::ChangeOwner,
                        src,
                        dst,
                    )?;
                }
                xattr::copy(src, dst, |name| xattrs.wants(name)).at(Step::CopyXattrs, src, dst)?;
                if chmod {
                    sys::fs::fchmodat(dst_dir, name, mode, 0).at(Step::ChangeMode, src, dst)?;
                }
                if !is_symlink || self.policy.symlink_times {
                    sys::fs::utimensat(dst_dir, name, &times, libc::AT_SYMLINK_NOFOLLOW).at(
                        Step::SetTimes,
                        src,
                        dst,
                    )?;
                }
            }
        }
        Ok(())
    }
}

/// Whether the open file has any extended attribute: one cheap call on the descriptor, so
/// that the (path-based) copy of xattrs runs only for the few files that have some.
fn has_xattrs(fd: BorrowedFd) -> io::Result<bool> {
    match sys::xattr::flistxattr_size(fd) {
        Ok(size) => Ok(size > 0),
        Err(e) if e.raw_os_error() == Some(libc::ENOTSUP) => Ok(false),
        Err(e) => Err(e),
    }
}

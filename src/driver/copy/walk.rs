//! The walk of a copy: one thread lists each source directory and makes every entry of the
//! copy (directories, symlinks, nodes, hardlinks), handing regular files to the workers in
//! batches or copying them itself; in a merge it first clears the way at each path.

use std::collections::HashMap;
use std::ffi::{CStr, CString, OsStr};
use std::fs::{self, File};
use std::io::{self, Seek, SeekFrom};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};

use super::entry::{FileAt, FileCopier, Target};
use super::error::{AtStep, CopyError, Step};
use super::paths::{cpath, DIRECTORY};
use crate::sys;

/// Files go to the workers in batches from one directory, so that a worker is woken (a futex
/// call on each side) per batch rather than per file.
const BATCH: usize = 32;

/// A regular file for a worker: the open directories it is in and will be in.
pub(super) struct FileJob {
    src_dir: Arc<OwnedFd>,
    dst_dir: Arc<OwnedFd>,
    name: CString,
    st: libc::stat,
    from: PathBuf,
    to: PathBuf,
}

impl FileJob {
    pub(super) fn copy(&self, files: &FileCopier) -> Result<(), CopyError> {
        files.copy_file(FileAt {
            src_dir: self.src_dir.as_fd(),
            src_name: &self.name,
            follow: false,
            dst_dir: self.dst_dir.as_fd(),
            dst_name: &self.name,
            st: &self.st,
            from: &self.from,
            to: &self.to,
        })
    }
}

/// A directory whose own metadata is still to be set.
pub(super) struct DirToFinish {
    pub(super) from: PathBuf,
    pub(super) to: PathBuf,
    pub(super) st: libc::stat,
}

/// One side of an entry: its name in an open directory, and the path that names it in errors.
pub(super) struct Side<'s> {
    pub(super) dir: &'s Arc<OwnedFd>,
    pub(super) name: &'s CStr,
    pub(super) path: PathBuf,
}

pub(super) struct Walker<'a> {
    files: &'a FileCopier<'a>,
    /// (dev, ino) of multiply-linked files already copied -> their copy, to link again.
    hardlinks: HashMap<(u64, u64), PathBuf>,
    /// Directories in the order they were made.
    dirs: Vec<DirToFinish>,
    /// The workers' queue; none when the copy runs on one thread.
    jobs: Option<mpsc::SyncSender<Vec<FileJob>>>,
    worker_error: &'a Mutex<Option<CopyError>>,
}

impl<'a> Walker<'a> {
    pub(super) fn new(
        files: &'a FileCopier<'a>,
        jobs: Option<mpsc::SyncSender<Vec<FileJob>>>,
        worker_error: &'a Mutex<Option<CopyError>>,
    ) -> Self {
        Walker { files, hardlinks: HashMap::new(), dirs: Vec::new(), jobs, worker_error }
    }

    /// The directories made, in the order they were made; closes the workers' queue.
    pub(super) fn into_dirs(self) -> Vec<DirToFinish> {
        self.dirs
    }

    pub(super) fn copy_dir_contents(
        &mut self,
        src: &Arc<OwnedFd>,
        src_path: &Path,
        dst: &Arc<OwnedFd>,
        dst_path: &Path,
    ) -> Result<(), CopyError> {
        let mut batch = Vec::new();
        for name in names_in(src).at(Step::ListSource, src_path, dst_path)? {
            if self.worker_error.lock().expect("no worker panics holding it").is_some() {
                return Ok(());
            }
            let component = OsStr::from_bytes(name.to_bytes());
            self.copy_entry(
                Side { dir: src, name: &name, path: src_path.join(component) },
                Side { dir: dst, name: &name, path: dst_path.join(component) },
                false,
                &mut batch,
            )?;
        }
        if !batch.is_empty() {
            self.send(batch);
        }
        Ok(())
    }

    /// Copy one entry (a whole directory, with its contents); a regular file may go into
    /// `batch` for the workers instead. `follow`: a symlink at the source is taken for what it
    /// points to (the policy's root only).
    pub(super) fn copy_entry(
        &mut self,
        src: Side,
        dst: Side,
        follow: bool,
        batch: &mut Vec<FileJob>,
    ) -> Result<(), CopyError> {
        let (from, to) = (src.path, dst.path);
        let stat_flags = if follow { 0 } else { libc::AT_SYMLINK_NOFOLLOW };
        let st = sys::fs::fstatat(src.dir.as_fd(), src.name, stat_flags).at(
            Step::ReadSource,
            &from,
            &to,
        )?;
        let kind = st.st_mode & libc::S_IFMT;
        let into_existing_dir = self.files.policy.merge
            && clear_the_way(dst.dir, dst.name, kind == libc::S_IFDIR, &from, &to)?;
        let link_key = (kind != libc::S_IFDIR && st.st_nlink > 1).then_some((st.st_dev, st.st_ino));

        if let Some(first) = link_key.and_then(|key| self.hardlinks.get(&key)) {
            let first = cpath(first).at(Step::Link, &from, &to)?;
            return sys::fs::linkat(sys::fs::cwd(), &first, dst.dir.as_fd(), dst.name, 0).at(
                Step::Link,
                &from,
                &to,
            );
        }

        match kind {
            libc::S_IFDIR => {
                if !into_existing_dir {
                    // Writable by us until the contents are in, whatever the source's mode.
                    sys::fs::mkdirat(dst.dir.as_fd(), dst.name, (st.st_mode & 0o777) | 0o700).at(
                        Step::MakeDir,
                        &from,
                        &to,
                    )?;
                }
                let src_sub =
                    Arc::new(sys::fs::openat(src.dir.as_fd(), src.name, DIRECTORY, 0).at(
                        Step::OpenSourceDir,
                        &from,
                        &to,
                    )?);
                let dst_sub =
                    Arc::new(sys::fs::openat(dst.dir.as_fd(), dst.name, DIRECTORY, 0).at(
                        Step::OpenCopyDir,
                        &from,
                        &to,
                    )?);
                self.dirs.push(DirToFinish { from: from.clone(), to: to.clone(), st });
                return self.copy_dir_contents(&src_sub, &from, &dst_sub, &to);
            }
            libc::S_IFREG if self.jobs.is_some() && link_key.is_none() && !follow => {
                batch.push(FileJob {
                    src_dir: Arc::clone(src.dir),
                    dst_dir: Arc::clone(dst.dir),
                    name: src.name.to_owned(),
                    st,
                    from,
                    to,
                });
                if batch.len() == BATCH {
                    self.send(std::mem::take(batch));
                }
                return Ok(());
            }
            libc::S_IFREG => self.files.copy_file(FileAt {
                src_dir: src.dir.as_fd(),
                src_name: src.name,
                follow,
                dst_dir: dst.dir.as_fd(),
                dst_name: dst.name,
                st: &st,
                from: &from,
                to: &to,
            })?,
            // Left out, as tar leaves them out. It goes into the link map all the same, as in
            // the CLI's copy before it shared this copier: a further link to it fails, for want
            // of a first copy to link to.
            libc::S_IFSOCK if !self.files.policy.sockets => {}
            libc::S_IFLNK => {
                let target = read_link_at(src.dir, src.name).at(Step::ReadLink, &from, &to)?;
                sys::fs::symlinkat(&target, dst.dir.as_fd(), dst.name).at(
                    Step::MakeSymlink,
                    &from,
                    &to,
                )?;
                let target = Target::Named { dst_dir: dst.dir.as_fd(), name: dst.name };
                self.files.apply_metadata(target, &st, &from, &to)?;
            }
            _ => {
                // Block and character devices, fifos, sockets: mode and device number come
                // from the source inode.
                sys::fs::mknodat(dst.dir.as_fd(), dst.name, st.st_mode, st.st_rdev).at(
                    Step::MakeNode,
                    &from,
                    &to,
                )?;
                let target = Target::Named { dst_dir: dst.dir.as_fd(), name: dst.name };
                self.files.apply_metadata(target, &st, &from, &to)?;
            }
        }
        if let Some(key) = link_key {
            self.hardlinks.insert(key, to);
        }
        Ok(())
    }

    fn send(&self, batch: Vec<FileJob>) {
        // A closed queue means the workers are gone: only a panic does that, which the scope
        // passes on when it joins them.
        let _ = self.jobs.as_ref().expect("batches only with workers").send(batch);
    }
}

/// In a merge, make room at the copy's path: a directory merges into a directory already
/// there (true); a non-directory replaces what is there, a directory with its contents. A
/// path that cannot be read counts as free: making the entry then says what is wrong.
fn clear_the_way(
    dir: &OwnedFd,
    name: &CStr,
    is_dir: bool,
    from: &Path,
    to: &Path,
) -> Result<bool, CopyError> {
    let Ok(existing) = sys::fs::fstatat(dir.as_fd(), name, libc::AT_SYMLINK_NOFOLLOW) else {
        return Ok(false);
    };
    let existing_is_dir = existing.st_mode & libc::S_IFMT == libc::S_IFDIR;
    match (is_dir, existing_is_dir) {
        (true, true) => Ok(true),
        (true, false) => {
            Err(io::Error::from_raw_os_error(libc::ENOTDIR)).at(Step::MakeDir, from, to)
        }
        (false, true) => fs::remove_dir_all(to).map(|()| false).at(Step::Replace, from, to),
        (false, false) => fs::remove_file(to).map(|()| false).at(Step::Replace, from, to),
    }
}

fn read_link_at(dir: &OwnedFd, name: &CStr) -> io::Result<CString> {
    // Linux keeps symlink targets shorter than a page (PATH_MAX).
    let mut buf = vec![0u8; libc::PATH_MAX as usize + 1];
    let n = sys::fs::readlinkat(dir.as_fd(), name, &mut buf)?;
    if n == buf.len() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "symlink target longer than PATH_MAX",
        ));
    }
    buf.truncate(n);
    Ok(CString::new(buf).expect("the kernel returns no NUL in a symlink target"))
}

/// The names in an open directory, except "." and "..". Read in full before the caller
/// descends, so that at most one directory stream is open at a time.
fn names_in(dir: &OwnedFd) -> io::Result<Vec<CString>> {
    // A duplicate shares the offset with `dir`, which may have been read before (the tree's
    // root is opened once): start from the beginning.
    let mut dup = File::from(dir.try_clone()?);
    dup.seek(SeekFrom::Start(0))?;
    sys::fs::DirStream::from_fd(dup.into())?.names()
}

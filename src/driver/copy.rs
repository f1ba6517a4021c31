//! Copy a directory tree exactly: modes, owners, times, extended attributes, symlinks, device
//! nodes, fifos and hardlink groups. vfs builds a child layer this way, optionally shifting the
//! owners from the parent's ID maps to the child's (c/storage's chowned copy).
//!
//! The copy works on directory descriptors (fstatat, openat, mkdirat, symlinkat, ...) so that no
//! call resolves a long path again, and sets a regular file's or directory's metadata on the
//! open descriptor (fstat, fchown, fchmod, futimens). Each call that changes an inode is a
//! journal transaction on XFS and ext4, far dearer than one that reads, so owner and mode are
//! set only when the new inode does not already have them: a file is created with the source's
//! permission bits, and an fstat of the new inode (no transaction) says what the kernel actually
//! gave it. Guessing instead would be wrong in places: a new inode gets the fsuid, and the fsgid
//! or a setgid directory's group; the umask or a default ACL trims its mode; an idmapped mount
//! or a network file system may give it other owners. A regular file owned as the caller, whose
//! mode the umask leaves alone, thus costs fstatat, two openat, its data (one FICLONE on a
//! reflink file system: clone_file.rs), fstat, flistxattr, futimens and two close.

use std::collections::HashMap;
use std::ffi::{CStr, CString, OsStr};
use std::fs::File;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};

use super::clone_file::DataCopier;
use crate::error::{Error, IoContext, Result};
use crate::idmap::{to_container, to_host, IdMap};
use crate::xattr;

/// Owners in the source are host IDs under `from` maps; in the copy they become host IDs under
/// `to` maps (via the container ID they both stand for).
pub struct OwnerShift<'a> {
    pub from_uids: &'a [IdMap],
    pub from_gids: &'a [IdMap],
    pub to_uids: &'a [IdMap],
    pub to_gids: &'a [IdMap],
}

impl OwnerShift<'_> {
    fn is_identity(&self) -> bool {
        self.from_uids == self.to_uids && self.from_gids == self.to_gids
    }

    fn shift(&self, uid: u32, gid: u32, path: &Path) -> Result<(u32, u32)> {
        let map = |id, from: &[IdMap], to: &[IdMap], what| {
            to_container(from, id).and_then(|c| to_host(to, c)).ok_or_else(|| {
                Error::invalid(format!(
                    "{}: {what} {id} is not covered by the layer's ID maps",
                    path.display()
                ))
            })
        };
        Ok((
            map(uid, self.from_uids, self.to_uids, "uid")?,
            map(gid, self.from_gids, self.to_gids, "gid")?,
        ))
    }
}

/// Copy the contents of `src` into the existing directory `dst`, then `src`'s own owner, mode,
/// times and xattrs onto `dst`, shifting owners if `shift` says so.
///
/// One thread walks the tree and makes directories, symlinks, device nodes and hardlinks;
/// regular files (all but the multiply-linked, which the walk's hardlink map needs in order)
/// are copied by worker threads, as the kernel's work per file (inode creation, extent cloning
/// or data copy, journal commits) dominates and runs in parallel across directories. A
/// directory's own metadata is set after every file is in, deepest first, since adding entries
/// moves its times and its mode may forbid adding them.
pub fn copy_tree(src: &Path, dst: &Path, shift: Option<&OwnerShift>) -> Result<()> {
    let files = FileCopier { shift: shift.filter(|s| !s.is_identity()), data: DataCopier::new() };
    let src_dir = Arc::new(
        open_at(libc::AT_FDCWD, &cpath(src)?, DIRECTORY)
            .ctx(format_args!("opening {}", src.display()))?,
    );
    let dst_dir = Arc::new(
        open_at(libc::AT_FDCWD, &cpath(dst)?, DIRECTORY)
            .ctx(format_args!("opening {}", dst.display()))?,
    );
    // Read before the contents, as every other entry's is: listing a directory may move its atime.
    let st = fstat(&*src_dir).ctx(format_args!("reading {}", src.display()))?;
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(MAX_WORKERS);
    let worker_error: Mutex<Option<Error>> = Mutex::new(None);
    let (walked, dirs) = std::thread::scope(|scope| {
        let jobs = (workers > 1).then(|| {
            let (sender, receiver) = mpsc::sync_channel::<Vec<FileJob>>(QUEUED_BATCHES);
            let receiver = Arc::new(Mutex::new(receiver));
            for _ in 0..workers {
                let (receiver, files, worker_error) =
                    (Arc::clone(&receiver), &files, &worker_error);
                scope.spawn(move || loop {
                    let Ok(batch) = receiver.lock().expect("no worker panics holding it").recv()
                    else {
                        break;
                    };
                    for job in batch {
                        if worker_error.lock().expect("no worker panics holding it").is_some() {
                            break;
                        }
                        if let Err(e) = files.copy_file(
                            &job.src_dir,
                            &job.dst_dir,
                            &job.name,
                            &job.st,
                            &job.from,
                            &job.to,
                        ) {
                            worker_error
                                .lock()
                                .expect("no worker panics holding it")
                                .get_or_insert(e);
                        }
                    }
                });
            }
            sender
        });
        let mut walker = Walker {
            files: &files,
            hardlinks: HashMap::new(),
            dirs: Vec::new(),
            jobs,
            worker_error: &worker_error,
        };
        let walked = walker.copy_dir_contents(&src_dir, src, &dst_dir, dst);
        // Dropping the walker closes the queue: the workers finish what is in it and stop.
        (walked, std::mem::take(&mut walker.dirs))
    });
    walked?;
    if let Some(e) = worker_error.into_inner().expect("no worker panics holding it") {
        return Err(e);
    }
    for dir in dirs.iter().rev() {
        let relative = cpath(dir.to.strip_prefix(dst).expect("under the copy's root"))?;
        files.apply_metadata(
            Target::Named { dst_dir: &dst_dir, name: &relative },
            &dir.st,
            &dir.from,
            &dir.to,
        )?;
    }
    files.apply_metadata(Target::Open { src: src_dir.as_fd(), dst: dst_dir.as_fd() }, &st, src, dst)
}

const DIRECTORY: libc::c_int =
    libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;

/// Threads copying regular files: the machines this runs on are often small, and two already
/// keep a walker busy.
const MAX_WORKERS: usize = 2;
/// Files go to the workers in batches from one directory, so that a worker is woken (a futex
/// call on each side) per batch rather than per file.
const BATCH: usize = 32;
/// Batches the walk may be ahead of the workers: each keeps its two directories open, so this
/// bounds the descriptors the copy holds (a library must not exhaust its caller's).
const QUEUED_BATCHES: usize = 32;

/// What copies a file and sets metadata: shared by the walker and the workers.
struct FileCopier<'a> {
    shift: Option<&'a OwnerShift<'a>>,
    data: DataCopier,
}

/// A regular file for a worker: the open directories it is in and will be in.
struct FileJob {
    src_dir: Arc<OwnedFd>,
    dst_dir: Arc<OwnedFd>,
    name: CString,
    st: libc::stat,
    from: PathBuf,
    to: PathBuf,
}

/// A directory whose own metadata is still to be set.
struct DirToFinish {
    from: PathBuf,
    to: PathBuf,
    st: libc::stat,
}

struct Walker<'a> {
    files: &'a FileCopier<'a>,
    /// (dev, ino) of multiply-linked files already copied -> their copy, to link again.
    hardlinks: HashMap<(u64, u64), PathBuf>,
    /// Directories in the order they were made.
    dirs: Vec<DirToFinish>,
    /// The workers' queue; none when the copy runs on one thread.
    jobs: Option<mpsc::SyncSender<Vec<FileJob>>>,
    worker_error: &'a Mutex<Option<Error>>,
}

/// Where an entry's metadata is set: on open descriptors (regular files, the root), or by path
/// relative to a directory of the copy (symlinks, devices, fifos, sockets, which cannot be
/// opened for writing, and directories, closed by the time their metadata is set).
enum Target<'a> {
    Open { src: BorrowedFd<'a>, dst: BorrowedFd<'a> },
    Named { dst_dir: &'a OwnedFd, name: &'a CStr },
}

impl Walker<'_> {
    fn copy_dir_contents(
        &mut self,
        src: &Arc<OwnedFd>,
        src_path: &Path,
        dst: &Arc<OwnedFd>,
        dst_path: &Path,
    ) -> Result<()> {
        let mut batch = Vec::new();
        for name in names_in(src).ctx(format_args!("reading directory {}", src_path.display()))? {
            if self.worker_error.lock().expect("no worker panics holding it").is_some() {
                return Ok(());
            }
            let from = src_path.join(OsStr::from_bytes(name.to_bytes()));
            let to = dst_path.join(OsStr::from_bytes(name.to_bytes()));
            let st =
                stat_at(src.as_raw_fd(), &name).ctx(format_args!("reading {}", from.display()))?;
            let kind = st.st_mode & libc::S_IFMT;
            let link_key =
                (kind != libc::S_IFDIR && st.st_nlink > 1).then_some((st.st_dev, st.st_ino));

            if let Some(first) = link_key.and_then(|key| self.hardlinks.get(&key)) {
                let first = cpath(first)?;
                // SAFETY: valid C strings and an open directory descriptor.
                check(unsafe {
                    libc::linkat(libc::AT_FDCWD, first.as_ptr(), dst.as_raw_fd(), name.as_ptr(), 0)
                })
                .ctx(format_args!("linking {}", to.display()))?;
                continue;
            }

            match kind {
                libc::S_IFDIR => {
                    // SAFETY: valid C string and an open directory descriptor. Writable by us
                    // until the contents are in, whatever the source's mode.
                    check(unsafe {
                        libc::mkdirat(dst.as_raw_fd(), name.as_ptr(), (st.st_mode & 0o777) | 0o700)
                    })
                    .ctx(format_args!("creating {}", to.display()))?;
                    let src_sub = Arc::new(
                        open_at(src.as_raw_fd(), &name, DIRECTORY)
                            .ctx(format_args!("opening {}", from.display()))?,
                    );
                    let dst_sub = Arc::new(
                        open_at(dst.as_raw_fd(), &name, DIRECTORY)
                            .ctx(format_args!("opening {}", to.display()))?,
                    );
                    self.dirs.push(DirToFinish { from: from.clone(), to: to.clone(), st });
                    self.copy_dir_contents(&src_sub, &from, &dst_sub, &to)?;
                }
                libc::S_IFREG => match &self.jobs {
                    Some(_) if link_key.is_none() => {
                        batch.push(FileJob {
                            src_dir: Arc::clone(src),
                            dst_dir: Arc::clone(dst),
                            name,
                            st,
                            from,
                            to,
                        });
                        if batch.len() == BATCH {
                            self.send(std::mem::take(&mut batch));
                        }
                        continue;
                    }
                    _ => self.files.copy_file(src, dst, &name, &st, &from, &to)?,
                },
                libc::S_IFLNK => {
                    let target = read_link_at(src.as_raw_fd(), &name)
                        .ctx(format_args!("reading link {}", from.display()))?;
                    // SAFETY: valid C strings and an open directory descriptor.
                    check(unsafe {
                        libc::symlinkat(target.as_ptr(), dst.as_raw_fd(), name.as_ptr())
                    })
                    .ctx(format_args!("creating symlink {}", to.display()))?;
                    self.files.apply_metadata(
                        Target::Named { dst_dir: dst, name: &name },
                        &st,
                        &from,
                        &to,
                    )?;
                }
                _ => {
                    // Block and character devices, fifos, sockets: mode and device number come
                    // from the source inode.
                    // SAFETY: valid C string and an open directory descriptor.
                    check(unsafe {
                        libc::mknodat(dst.as_raw_fd(), name.as_ptr(), st.st_mode, st.st_rdev)
                    })
                    .ctx(format_args!("creating node {}", to.display()))?;
                    self.files.apply_metadata(
                        Target::Named { dst_dir: dst, name: &name },
                        &st,
                        &from,
                        &to,
                    )?;
                }
            }
            if let Some(key) = link_key {
                self.hardlinks.insert(key, to);
            }
        }
        if !batch.is_empty() {
            self.send(batch);
        }
        Ok(())
    }

    fn send(&self, batch: Vec<FileJob>) {
        // A closed queue means the workers are gone: only a panic does that, which the scope
        // passes on when it joins them.
        let _ = self.jobs.as_ref().expect("batches only with workers").send(batch);
    }
}

impl FileCopier<'_> {
    fn copy_file(
        &self,
        src: &OwnedFd,
        dst: &OwnedFd,
        name: &CStr,
        st: &libc::stat,
        from: &Path,
        to: &Path,
    ) -> Result<()> {
        let src_file = File::from(
            open_at(src.as_raw_fd(), name, libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC)
                .ctx(format_args!("opening {}", from.display()))?,
        );
        let dst_file = File::from(
            create_at(dst.as_raw_fd(), name, st.st_mode & 0o777)
                .ctx(format_args!("creating {}", to.display()))?,
        );
        self.data.copy(&src_file, &dst_file, st.st_size as u64).ctx(format_args!(
            "copying {} to {}",
            from.display(),
            to.display()
        ))?;
        self.apply_metadata(
            Target::Open { src: src_file.as_fd(), dst: dst_file.as_fd() },
            st,
            from,
            to,
        )
    }

    /// Owner, xattrs, mode and times, in that order: chown clears set-ID bits, so mode comes
    /// after it, and times come last because the other calls touch ctime only. Owner and mode
    /// only where the new inode differs (see the module comment); symlinks have no mode of
    /// their own to set.
    fn apply_metadata(
        &self,
        target: Target,
        st: &libc::stat,
        src: &Path,
        dst: &Path,
    ) -> Result<()> {
        let (uid, gid) = match self.shift {
            Some(s) => s.shift(st.st_uid, st.st_gid, src)?,
            None => (st.st_uid, st.st_gid),
        };
        let mode = st.st_mode & 0o7777;
        let times = [
            libc::timespec { tv_sec: st.st_atime, tv_nsec: st.st_atime_nsec },
            libc::timespec { tv_sec: st.st_mtime, tv_nsec: st.st_mtime_nsec },
        ];
        let now = match &target {
            Target::Open { dst: fd, .. } => fstat(*fd),
            Target::Named { dst_dir, name } => stat_at(dst_dir.as_raw_fd(), name),
        }
        .ctx(format_args!("reading {}", dst.display()))?;
        let chown = (now.st_uid, now.st_gid) != (uid, gid);
        let chmod = st.st_mode & libc::S_IFMT != libc::S_IFLNK
            && ((now.st_mode & 0o7777) != mode || (chown && mode & 0o6000 != 0));
        match target {
            Target::Open { src: src_fd, dst: fd } => {
                // SAFETY (all three blocks): an open descriptor, a two-element timespec array.
                if chown {
                    check(unsafe { libc::fchown(fd.as_raw_fd(), uid, gid) })
                        .ctx(format_args!("changing owner of {}", dst.display()))?;
                }
                if has_xattrs(src_fd).ctx(format_args!("listing xattrs of {}", src.display()))? {
                    xattr::copy(src, dst, |_| true)?;
                }
                if chmod {
                    check(unsafe { libc::fchmod(fd.as_raw_fd(), mode) })
                        .ctx(format_args!("changing mode of {}", dst.display()))?;
                }
                check(unsafe { libc::futimens(fd.as_raw_fd(), times.as_ptr()) })
                    .ctx(format_args!("setting times of {}", dst.display()))?;
            }
            Target::Named { dst_dir, name } => {
                let dir = dst_dir.as_raw_fd();
                // SAFETY (all three blocks): an open directory descriptor, a valid C string, a
                // two-element timespec array.
                if chown {
                    check(unsafe {
                        libc::fchownat(dir, name.as_ptr(), uid, gid, libc::AT_SYMLINK_NOFOLLOW)
                    })
                    .ctx(format_args!("changing owner of {}", dst.display()))?;
                }
                xattr::copy(src, dst, |_| true)?;
                if chmod {
                    check(unsafe { libc::fchmodat(dir, name.as_ptr(), mode, 0) })
                        .ctx(format_args!("changing mode of {}", dst.display()))?;
                }
                check(unsafe {
                    libc::utimensat(dir, name.as_ptr(), times.as_ptr(), libc::AT_SYMLINK_NOFOLLOW)
                })
                .ctx(format_args!("setting times of {}", dst.display()))?;
            }
        }
        Ok(())
    }
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn open_at(dir: RawFd, name: &CStr, flags: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: valid C string; on success the kernel hands us a new descriptor we own.
    let fd = unsafe { libc::openat(dir, name.as_ptr(), flags) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a new descriptor nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A new, empty file for the copy's data, open for writing whatever `mode` says.
fn create_at(dir: RawFd, name: &CStr, mode: libc::mode_t) -> io::Result<OwnedFd> {
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: valid C string; on success the kernel hands us a new descriptor we own.
    let fd = unsafe { libc::openat(dir, name.as_ptr(), flags, mode as libc::c_uint) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a new descriptor nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn stat_at(dir: RawFd, name: &CStr) -> io::Result<libc::stat> {
    let mut st = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: valid C string and a stat buffer the kernel fills on success.
    check(unsafe {
        libc::fstatat(dir, name.as_ptr(), st.as_mut_ptr(), libc::AT_SYMLINK_NOFOLLOW)
    })?;
    // SAFETY: fstatat succeeded, so it filled the buffer.
    Ok(unsafe { st.assume_init() })
}

fn fstat(fd: impl AsFd) -> io::Result<libc::stat> {
    let mut st = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: an open descriptor and a stat buffer the kernel fills on success.
    check(unsafe { libc::fstat(fd.as_fd().as_raw_fd(), st.as_mut_ptr()) })?;
    // SAFETY: fstat succeeded, so it filled the buffer.
    Ok(unsafe { st.assume_init() })
}

/// Whether the open file has any extended attribute: one cheap call on the descriptor, so
/// that the (path-based) copy of xattrs runs only for the few files that have some.
fn has_xattrs(fd: BorrowedFd) -> io::Result<bool> {
    // SAFETY: an open descriptor; a null buffer of length 0 asks for the size only.
    let size = unsafe { libc::flistxattr(fd.as_raw_fd(), std::ptr::null_mut(), 0) };
    match size {
        n if n > 0 => Ok(true),
        0 => Ok(false),
        _ => {
            let err = io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::ENOTSUP) {
                Ok(false)
            } else {
                Err(err)
            }
        }
    }
}

fn read_link_at(dir: RawFd, name: &CStr) -> io::Result<CString> {
    // Linux keeps symlink targets shorter than a page (PATH_MAX).
    let mut buf = vec![0u8; libc::PATH_MAX as usize + 1];
    // SAFETY: valid C string and a buffer of the given length.
    let n = unsafe { libc::readlinkat(dir, name.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    if n as usize == buf.len() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "symlink target longer than PATH_MAX",
        ));
    }
    buf.truncate(n as usize);
    Ok(CString::new(buf).expect("the kernel returns no NUL in a symlink target"))
}

/// The names in an open directory, except "." and "..". Read in full before the caller
/// descends, so that at most one directory stream is open at a time.
fn names_in(dir: &OwnedFd) -> io::Result<Vec<CString>> {
    // SAFETY: dup of an open descriptor; fdopendir takes ownership of the duplicate and
    // closedir releases it (on failure we close it ourselves).
    let dup = unsafe { libc::fcntl(dir.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0) };
    if dup < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `dup` is ours; the stream owns it from here on.
    let stream = unsafe { libc::fdopendir(dup) };
    if stream.is_null() {
        let err = io::Error::last_os_error();
        // SAFETY: fdopendir failed, so `dup` is still ours to close.
        unsafe { libc::close(dup) };
        return Err(err);
    }
    // The duplicate shares the offset with `dir`, which may have been read before (the tree's
    // root is opened once): start from the beginning.
    // SAFETY: an open directory stream.
    unsafe { libc::rewinddir(stream) };
    let mut names = Vec::new();
    let result = loop {
        // SAFETY: errno is thread-local; cleared so that a null from readdir can be told apart
        // (end of directory or error).
        unsafe { *libc::__errno_location() = 0 };
        // SAFETY: an open directory stream; the entry stays valid until the next readdir.
        let entry = unsafe { libc::readdir64(stream) };
        if entry.is_null() {
            let errno = io::Error::last_os_error();
            break if errno.raw_os_error() == Some(0) { Ok(()) } else { Err(errno) };
        }
        // SAFETY: d_name is a NUL-terminated name inside the entry.
        let name = unsafe { CStr::from_ptr((*entry).d_name.as_ptr()) };
        if name != c"." && name != c".." {
            names.push(name.to_owned());
        }
    };
    // SAFETY: the stream is open and not used after this.
    unsafe { libc::closedir(stream) };
    result.map(|()| names)
}

pub(crate) fn cpath(path: &Path) -> Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| Error::invalid(format!("path {} contains a NUL byte", path.display())))
}

//! The crate's one tree copier: a directory tree copied exactly (modes, owners, times, extended
//! attributes, symlinks, device nodes, fifos, sockets and hardlink groups), or as a policy
//! (policy.rs) says otherwise. vfs builds a child layer this way and overlay its ID-shifted
//! lowers (owners shifted from the parent's ID maps to the child's, c/storage's chowned copy);
//! the CLI's `copy` merges files and trees into a layer as the Go tool's tar-based copy does.
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
//!
//! Files: this one starts a copy and its worker threads; walk.rs walks the tree and makes every
//! entry; entry.rs copies a regular file's data and sets any entry's metadata; policy.rs holds
//! the choices; error.rs says which step failed; paths.rs turns paths into what the calls take.
//! The raw calls are in sys/copy.rs.

mod entry;
mod error;
mod paths;
mod policy;
mod walk;

pub use error::{Cause, CopyError, Step};
pub use policy::{CopyPolicy, OwnerMapping, OwnerShift, XattrFilter};

pub(crate) use paths::cpath;

use std::os::fd::AsFd;
use std::path::Path;
use std::sync::{mpsc, Arc, Mutex};

use crate::sys;
use entry::{FileCopier, Target};
use error::AtStep;
use paths::{file_name, open_path, parent, DIRECTORY};
use walk::{FileJob, Side, Walker};

/// Copy the contents of the directory `src` into the existing directory `dst`, then `src`'s own
/// owner, mode, times and xattrs onto `dst`, as `policy` says.
///
/// One thread walks the tree and makes directories, symlinks, device nodes and hardlinks;
/// regular files (all but the multiply-linked, which the walk's hardlink map needs in order)
/// are copied by worker threads, as the kernel's work per file (inode creation, extent cloning
/// or data copy, journal commits) dominates and runs in parallel across directories. A
/// directory's own metadata is set after every file is in, deepest first, since adding entries
/// moves its times and its mode may forbid adding them.
pub fn copy_tree(src: &Path, dst: &Path, policy: &CopyPolicy) -> Result<(), CopyError> {
    let files = FileCopier::new(policy);
    let src_flags =
        if policy.follow_root_symlink { DIRECTORY & !libc::O_NOFOLLOW } else { DIRECTORY };
    let src_dir = Arc::new(open_path(src, src_flags).at(Step::OpenSourceDir, src, dst)?);
    let dst_dir = Arc::new(open_path(dst, DIRECTORY).at(Step::OpenCopyDir, src, dst)?);
    // Read before the contents, as every other entry's is: listing a directory may move its atime.
    let st = sys::fs::fstat(&*src_dir).at(Step::ReadSource, src, dst)?;
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(MAX_WORKERS);
    let worker_error: Mutex<Option<CopyError>> = Mutex::new(None);
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
                        if let Err(e) = job.copy(files) {
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
        let mut walker = Walker::new(&files, jobs, &worker_error);
        let walked = walker.copy_dir_contents(&src_dir, src, &dst_dir, dst);
        // Dropping the walker closes the queue: the workers finish what is in it and stop.
        (walked, walker.into_dirs())
    });
    walked?;
    if let Some(e) = worker_error.into_inner().expect("no worker panics holding it") {
        return Err(e);
    }
    for dir in dirs.iter().rev() {
        let relative = cpath(dir.to.strip_prefix(dst).expect("under the copy's root")).at(
            Step::ChangeOwner,
            &dir.from,
            &dir.to,
        )?;
        let target = Target::Named { dst_dir: dst_dir.as_fd(), name: &relative };
        files.apply_metadata(target, &dir.st, &dir.from, &dir.to)?;
    }
    let target = Target::Open { src: src_dir.as_fd(), dst: dst_dir.as_fd() };
    files.apply_metadata(target, &st, src, dst)
}

/// Copy the non-directory `src` to the path `dst` (whose directory exists), with its metadata,
/// as `policy` says: a copy of one file, symlink or node where [`copy_tree`] copies a
/// directory's contents.
pub fn copy_entry(src: &Path, dst: &Path, policy: &CopyPolicy) -> Result<(), CopyError> {
    let files = FileCopier::new(policy);
    // Failing to reach either side is failing to open or create the file.
    let src_name = file_name(src).at(Step::OpenSourceFile, src, dst)?;
    let dst_name = file_name(dst).at(Step::CreateFile, src, dst)?;
    // The two directories are reached as a path-based copy reaches them, through symlinks
    // (`/bin` is one on merged-/usr hosts, as Go's `copy` allows); a caller that must not
    // follow one inside a layer checks the path on the way first, as the CLI does.
    let following = DIRECTORY & !libc::O_NOFOLLOW;
    let src_dir = Arc::new(open_path(parent(src), following).at(Step::OpenSourceFile, src, dst)?);
    let dst_dir = Arc::new(open_path(parent(dst), following).at(Step::CreateFile, src, dst)?);
    let no_workers = Mutex::new(None);
    let mut walker = Walker::new(&files, None, &no_workers);
    walker.copy_entry(
        Side { dir: &src_dir, name: &src_name, path: src.to_path_buf() },
        Side { dir: &dst_dir, name: &dst_name, path: dst.to_path_buf() },
        policy.follow_root_symlink,
        &mut Vec::new(),
    )
}

/// Threads copying regular files: the machines this runs on are often small, and two already
/// keep a walker busy. More do not help: the copy is the kernel's work on the CPU (creating
/// inodes, sharing extents, journal commits; a single-threaded copy never sleeps), so threads
/// beyond the cores only wait for them (measured with 1, 2, 4 and 8 on 2 cores, issue 16).
const MAX_WORKERS: usize = 2;
/// Batches the walk may be ahead of the workers: each keeps its two directories open, so this
/// bounds the descriptors the copy holds (a library must not exhaust its caller's).
const QUEUED_BATCHES: usize = 32;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use std::fs;
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    use std::os::unix::net::UnixListener;
    use std::path::PathBuf;
    use std::process::Command;

    /// A scratch directory, removed on drop (so on a failed assertion too).
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(tag: &str) -> Scratch {
            let dir = std::env::temp_dir().join(format!("cs-copy-{tag}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn run(program: &str, args: &[&Path]) {
        let status = Command::new(program).args(args).status().unwrap();
        assert!(status.success(), "{program} {args:?}");
    }

    /// A source tree with one entry of each kind: `file`, `dir/inner`, `link` (-> file, its
    /// own times at the epoch), `fifo` and `sock`. The socket lives as long as the listener.
    fn source_tree(src: &Path) -> UnixListener {
        fs::create_dir_all(src.join("dir")).unwrap();
        fs::write(src.join("file"), b"new\n").unwrap();
        fs::write(src.join("dir/inner"), b"inner\n").unwrap();
        std::os::unix::fs::symlink("file", src.join("link")).unwrap();
        run("touch", &[Path::new("-h"), Path::new("-d"), Path::new("@0"), &src.join("link")]);
        run("mkfifo", &[&src.join("fifo")]);
        UnixListener::bind(src.join("sock")).unwrap()
    }

    fn no_shift() -> OwnerShift<'static> {
        OwnerShift { from_uids: &[], from_gids: &[], to_uids: &[], to_gids: &[] }
    }

    /// The Go-compatible choices of the CLI's copy, owners kept.
    fn merging() -> CopyPolicy<'static> {
        CopyPolicy {
            owners: OwnerMapping::Keep,
            xattrs: XattrFilter::All,
            merge: true,
            follow_root_symlink: true,
            sockets: false,
            symlink_times: false,
        }
    }

    #[test]
    fn one_entry_is_copied_from_and_into_directories_reached_through_symlinks() {
        // `cstorage copy /bin/sh L:/x` on a merged-/usr host: /bin is a symlink to usr/bin.
        let t = Scratch::new("entry-links");
        fs::create_dir_all(t.0.join("usr/bin")).unwrap();
        fs::create_dir_all(t.0.join("target/real")).unwrap();
        std::os::unix::fs::symlink("usr/bin", t.0.join("bin")).unwrap();
        std::os::unix::fs::symlink("real", t.0.join("target/link")).unwrap();
        fs::write(t.0.join("usr/bin/sh"), b"shell\n").unwrap();
        copy_entry(&t.0.join("bin/sh"), &t.0.join("target/link/sh"), &merging()).unwrap();
        assert_eq!(fs::read(t.0.join("target/real/sh")).unwrap(), b"shell\n");
    }

    #[test]
    fn a_layer_copy_keeps_every_inode_and_refuses_a_taken_path() {
        let t = Scratch::new("layer");
        let (src, dst) = (t.0.join("src"), t.0.join("dst"));
        let _socket = source_tree(&src);
        fs::create_dir(&dst).unwrap();
        copy_tree(&src, &dst, &CopyPolicy::layer(no_shift())).unwrap();
        assert_eq!(fs::read(dst.join("dir/inner")).unwrap(), b"inner\n");
        assert!(fs::symlink_metadata(dst.join("sock")).unwrap().file_type().is_socket());
        assert!(fs::symlink_metadata(dst.join("fifo")).unwrap().file_type().is_fifo());
        let link = fs::symlink_metadata(dst.join("link")).unwrap();
        assert!(link.file_type().is_symlink());
        assert_eq!(link.mtime(), 0, "the symlink's own times are copied");

        // Without a merge, an entry already at a path of the copy is an error.
        let err = copy_tree(&src, &dst, &CopyPolicy::layer(no_shift())).unwrap_err();
        assert!(
            matches!(&err.cause, Cause::Os(e) if e.raw_os_error() == Some(libc::EEXIST)),
            "{err:?}"
        );
        assert_eq!(fs::read(dst.join("file")).unwrap(), b"new\n");
    }

    #[test]
    fn a_merge_replaces_files_merges_directories_and_leaves_out_what_the_policy_says() {
        let t = Scratch::new("merge");
        let (src, dst) = (t.0.join("src"), t.0.join("dst"));
        let _socket = source_tree(&src);
        let src_link = t.0.join("src-link");
        std::os::unix::fs::symlink(&src, &src_link).unwrap();
        fs::create_dir_all(dst.join("file/below")).unwrap();
        fs::create_dir_all(dst.join("dir")).unwrap();
        fs::write(dst.join("dir/old"), b"old\n").unwrap();
        fs::write(dst.join("link"), b"a file in the way\n").unwrap();
        fs::write(dst.join("extra"), b"extra\n").unwrap();

        copy_tree(&src_link, &dst, &merging()).unwrap();
        assert_eq!(fs::read(dst.join("file")).unwrap(), b"new\n", "a directory replaced");
        assert_eq!(fs::read(dst.join("dir/old")).unwrap(), b"old\n", "merged, not replaced");
        assert_eq!(fs::read(dst.join("dir/inner")).unwrap(), b"inner\n");
        assert_eq!(fs::read(dst.join("extra")).unwrap(), b"extra\n");
        let link = fs::symlink_metadata(dst.join("link")).unwrap();
        assert!(link.file_type().is_symlink(), "a file replaced");
        assert_ne!(link.mtime(), 0, "no symlink times in this policy");
        assert!(fs::symlink_metadata(dst.join("fifo")).unwrap().file_type().is_fifo());
        assert!(fs::symlink_metadata(dst.join("sock")).is_err(), "sockets left out");
        assert_eq!(
            fs::metadata(&dst).unwrap().mode(),
            fs::metadata(&src).unwrap().mode(),
            "the followed root's own mode"
        );
    }

    #[test]
    fn a_merge_refuses_a_directory_over_a_file_and_says_where() {
        let t = Scratch::new("notdir");
        let (src, dst) = (t.0.join("src"), t.0.join("dst"));
        fs::create_dir_all(src.join("dir")).unwrap();
        fs::create_dir(&dst).unwrap();
        fs::write(dst.join("dir"), b"a file\n").unwrap();
        let err = copy_tree(&src, &dst, &merging()).unwrap_err();
        assert_eq!((err.step, err.to.clone()), (Step::MakeDir, dst.join("dir")));
        assert_eq!(
            Error::from(err).message(),
            format!("creating {}: Not a directory (os error 20)", dst.join("dir").display())
        );
        assert_eq!(fs::read(dst.join("dir")).unwrap(), b"a file\n");
    }

    #[test]
    fn one_entry_replaces_a_directory_through_a_followed_symlink() {
        let t = Scratch::new("entry");
        let (file, link, dst) = (t.0.join("file"), t.0.join("link"), t.0.join("dst"));
        fs::write(&file, b"data\n").unwrap();
        std::os::unix::fs::symlink(&file, &link).unwrap();
        fs::create_dir_all(dst.join("below")).unwrap();
        copy_entry(&link, &dst, &merging()).unwrap();
        let copied = fs::symlink_metadata(&dst).unwrap();
        assert!(copied.is_file(), "the link's target, copied over the directory");
        assert_eq!(fs::read(&dst).unwrap(), b"data\n");
        assert_eq!(copied.mtime(), fs::metadata(&file).unwrap().mtime());
    }
}

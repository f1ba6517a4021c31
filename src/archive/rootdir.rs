//! File-system operations confined to one directory tree, for extraction.
//!
//! The root is opened once; every path is resolved relative to that descriptor with
//! `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)` (or, where openat2 is missing, a walk that
//! does the same by hand), so symlinks (absolute or full of "..")
//! are followed as if the root were "/" — what c/storage gets from its chroot, without a chroot or
//! a re-exec. Entries are then created with `*at` calls on the resolved parent directory and a
//! single final component that is never followed. Nothing here can reach outside the root.
//! The system calls themselves are `crate::sys::fs`'s; this file decides how they are combined.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Result};
use crate::sys;
use crate::sys::fs::{OpenHow, RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS};

pub fn cstring(bytes: &[u8]) -> io::Result<CString> {
    CString::new(bytes)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

/// Set once openat2 turned out to be missing (kernel before 5.6, or valgrind), so later lookups
/// go straight to the walk.
static NO_OPENAT2: AtomicBool = AtomicBool::new(false);

/// Open `path` resolved inside `root`: symlinks and ".." cannot leave it. Uses openat2 with
/// RESOLVE_IN_ROOT where the kernel has it, else an equivalent walk.
pub fn open_in_root(root: BorrowedFd<'_>, path: &CStr, flags: libc::c_int) -> io::Result<OwnedFd> {
    if !NO_OPENAT2.load(Ordering::Relaxed) {
        match openat2_in_root(root, path, flags) {
            Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {
                NO_OPENAT2.store(true, Ordering::Relaxed)
            }
            result => return result,
        }
    }
    walk_in_root(root, path.to_bytes(), flags)
}

fn openat2_in_root(root: BorrowedFd<'_>, path: &CStr, flags: libc::c_int) -> io::Result<OwnedFd> {
    let how = OpenHow {
        flags: (flags | libc::O_CLOEXEC) as u64,
        mode: 0,
        resolve: RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    loop {
        let err = match sys::fs::openat2(root, path, &how) {
            Ok(fd) => return Ok(fd),
            Err(err) => err,
        };
        // EAGAIN: a concurrent rename raced the lookup; the kernel asks us to retry.
        if err.raw_os_error() != Some(libc::EAGAIN) && err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// The same resolution as RESOLVE_IN_ROOT, done by hand: one component at a time with
/// `O_NOFOLLOW` relative to the directory reached so far; a symlink is read and its target
/// walked instead (an absolute one from the root); ".." pops our own stack of directories, never
/// the kernel's, so it stops at the root. Every step is relative to a descriptor we hold, so a
/// concurrent rename can make the lookup fail but never escape.
fn walk_in_root(root: BorrowedFd<'_>, path: &[u8], flags: libc::c_int) -> io::Result<OwnedFd> {
    const MAX_SYMLINKS: usize = 40; // the kernel's limit
    if path.is_empty() {
        return Err(io::Error::from_raw_os_error(libc::ENOENT)); // as openat2 answers
    }
    let dir_flags = libc::O_PATH | libc::O_DIRECTORY;
    let mut stack: Vec<OwnedFd> = vec![open_at(root, c".", dir_flags, 0)?];
    let mut pending: std::collections::VecDeque<Vec<u8>> = components(path).collect();
    let mut symlinks = 0;
    while let Some(name) = pending.pop_front() {
        if name == b".." {
            if stack.len() > 1 {
                stack.pop();
            }
            continue;
        }
        let is_last = pending.is_empty();
        let cname = cstring(&name)?;
        let dir = stack.last().expect("the root is never popped").as_fd();
        let follow = !is_last || flags & libc::O_NOFOLLOW == 0;
        if follow
            && stat_at(dir, &cname)?.is_some_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFLNK)
        {
            symlinks += 1;
            if symlinks > MAX_SYMLINKS {
                return Err(io::Error::from_raw_os_error(libc::ELOOP));
            }
            let target = read_link_at(dir, &cname)?;
            if target.first() == Some(&b'/') {
                stack.truncate(1);
            }
            for (i, component) in components(&target).enumerate() {
                pending.insert(i, component);
            }
            continue;
        }
        if is_last {
            return open_at(dir, &cname, flags, 0);
        }
        let next = open_at(dir, &cname, dir_flags, 0)?;
        stack.push(next);
    }
    // The path named a directory we reached ("", "a/.."): open it as asked.
    open_at(stack.last().expect("the root is never popped").as_fd(), c".", flags, 0)
}

fn components(path: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    path.split(|&b| b == b'/').filter(|c| !c.is_empty() && *c != b".").map(<[u8]>::to_vec)
}

fn read_link_at(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    let n = sys::fs::readlinkat(dir, name, &mut buf)?;
    buf.truncate(n);
    Ok(buf)
}

/// openat of a single name, never following a final symlink.
pub fn open_at(
    dir: BorrowedFd<'_>,
    name: &CStr,
    flags: libc::c_int,
    mode: libc::mode_t,
) -> io::Result<OwnedFd> {
    sys::fs::openat(dir, name, flags | libc::O_CLOEXEC | libc::O_NOFOLLOW, mode)
}

/// lstat of one name in a directory; `None` if it does not exist.
pub fn stat_at(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<Option<libc::stat>> {
    match sys::fs::fstatat(dir, name, libc::AT_SYMLINK_NOFOLLOW) {
        Ok(st) => Ok(Some(st)),
        Err(err) if err.raw_os_error() == Some(libc::ENOENT) => Ok(None),
        Err(err) => Err(err),
    }
}

pub fn is_dir(st: &libc::stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFDIR
}

/// Names in a directory (without "." and ".."), read through its descriptor.
pub fn list_dir(dir: BorrowedFd<'_>) -> io::Result<Vec<CString>> {
    // The stream takes over the descriptor it is given, so hand it a new one opened for reading
    // (the caller's may be O_PATH).
    let fd = open_at(dir, c".", libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
    sys::fs::DirStream::from_fd(fd)?.names()
}

/// Remove `name` in `dir` and, if it is a directory, everything below it; absent is fine.
/// Symlinks are removed, never followed.
pub fn remove_all_at(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<()> {
    let Err(err) = sys::fs::unlinkat(dir, name, 0) else { return Ok(()) };
    match err.raw_os_error() {
        Some(libc::ENOENT) => return Ok(()),
        Some(libc::EISDIR) | Some(libc::EPERM) => {}
        _ => return Err(err),
    }
    let sub = match open_at(dir, name, libc::O_RDONLY | libc::O_DIRECTORY, 0) {
        Ok(sub) => sub,
        Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => return Err(err),
        Err(e) => return Err(e),
    };
    for child in list_dir(sub.as_fd())? {
        remove_all_at(sub.as_fd(), &child)?;
    }
    sys::fs::unlinkat(dir, name, libc::AT_REMOVEDIR)
}

/// The extraction root and a cache of the last parent directory looked up (entries of a tar
/// usually come directory by directory, so most lookups hit it), each with whether it
/// [creates plainly](RootDir::creates_plainly).
pub struct RootDir {
    fd: OwnedFd,
    root_plain: bool,
    cached: Option<(Vec<u8>, OwnedFd, bool)>,
}

/// Whether a file created in `dir` gets the creator's owner and its requested mode less the
/// umask: not so in a setgid directory (the group is the directory's) nor in one with a default
/// ACL (the mode comes from the ACL). Unknown counts as not plain.
fn creates_plainly(dir: BorrowedFd<'_>) -> bool {
    if sys::fs::fstat(dir).map_or(true, |st| st.st_mode & libc::S_ISGID != 0) {
        return false;
    }
    // A size query: no default ACL is ENODATA (or ENOTSUP where ACLs are not supported).
    let acl = sys::xattr::fgetxattr(dir, c"system.posix_acl_default", &mut []);
    matches!(acl, Err(e) if matches!(e.raw_os_error(), Some(libc::ENODATA | libc::ENOTSUP)))
}

impl RootDir {
    pub fn open(path: &Path) -> Result<Self> {
        let c = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| Error::invalid("target path contains a NUL byte"))?;
        let fd = sys::fs::open(&c, libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC)
            .map_err(|e| Error::io(format!("opening extraction root {}", path.display()), e))?;
        Ok(RootDir { root_plain: creates_plainly(fd.as_fd()), fd, cached: None })
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Forget the cached directory; call after removing anything that could be (or contain) it.
    pub fn invalidate(&mut self) {
        self.cached = None;
    }

    /// Open a directory inside the root (cleaned relative path, "." for the root itself).
    pub fn open_dir(&self, rel: &[u8]) -> io::Result<OwnedFd> {
        open_in_root(self.fd(), &cstring(rel)?, libc::O_RDONLY | libc::O_DIRECTORY)
    }

    /// The directory `rel` (cleaned, relative) as a descriptor, creating missing components with
    /// mode 0755 and, when given, owner `owner` (c/storage makes them owned by the mapped root).
    /// A component that exists but does not resolve to a directory inside the root (a file, a
    /// dangling symlink, a symlink pointing out) is an error (EEXIST or ENOTDIR).
    pub fn dir(&mut self, rel: &[u8], owner: Option<(u32, u32)>) -> io::Result<BorrowedFd<'_>> {
        self.dir_and_plainness(rel, owner).map(|(fd, _)| fd)
    }

    /// [`RootDir::dir`], and whether files created in it get the creator's owner and their
    /// requested mode less the umask (see [`creates_plainly`]), so that chown and chmod after
    /// creating them can be skipped when they would change nothing. The answer is cached with
    /// the directory: call [`RootDir::invalidate`] after changing a directory's mode or xattrs.
    pub fn dir_and_plainness(
        &mut self,
        rel: &[u8],
        owner: Option<(u32, u32)>,
    ) -> io::Result<(BorrowedFd<'_>, bool)> {
        if rel == b"." {
            return Ok((self.fd.as_fd(), self.root_plain));
        }
        if self.cached.as_ref().is_some_and(|(path, ..)| path == rel) {
            let (_, fd, plain) = self.cached.as_ref().expect("checked");
            return Ok((fd.as_fd(), *plain));
        }
        let fd = match self.open_dir(rel) {
            Ok(fd) => fd,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => self.create_dirs(rel, owner)?,
            Err(e) => return Err(e),
        };
        let plain = creates_plainly(fd.as_fd());
        self.cached = Some((rel.to_vec(), fd, plain));
        let (_, fd, plain) = self.cached.as_ref().expect("just set");
        Ok((fd.as_fd(), *plain))
    }

    fn create_dirs(&self, rel: &[u8], owner: Option<(u32, u32)>) -> io::Result<OwnedFd> {
        let mut current: Option<OwnedFd> = None;
        let mut end = 0;
        while end < rel.len() {
            end = rel[end..].iter().position(|&b| b == b'/').map_or(rel.len(), |i| end + i);
            let prefix = &rel[..end];
            let next = match self.open_dir(prefix) {
                Ok(fd) => fd,
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                    let parent = current.as_ref().map_or(self.fd.as_fd(), |fd| fd.as_fd());
                    let start = prefix.iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1);
                    let name = cstring(&prefix[start..])?;
                    sys::fs::mkdirat(parent, &name, 0o755)?;
                    if let Some((uid, gid)) = owner {
                        sys::fs::fchownat(parent, &name, uid, gid, libc::AT_SYMLINK_NOFOLLOW)?;
                    }
                    open_at(parent, &name, libc::O_RDONLY | libc::O_DIRECTORY, 0)?
                }
                Err(e) => return Err(e),
            };
            current = Some(next);
            end += 1;
        }
        current.ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))
    }
}

#[cfg(test)]
mod walk_tests {
    use super::*;
    use std::fs;
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::symlink;

    /// Where a descriptor points, via /proc.
    fn path_of(fd: &OwnedFd) -> std::path::PathBuf {
        fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap()
    }

    #[test]
    fn the_walk_resolves_like_resolve_in_root_and_never_leaves_the_root() {
        let base = std::env::temp_dir().join(format!("cs-walk-{}", std::process::id()));
        let root = base.join("root");
        fs::create_dir_all(root.join("usr/lib")).unwrap();
        fs::create_dir_all(base.join("outside")).unwrap();
        fs::write(root.join("usr/lib/file"), "in").unwrap();
        fs::write(base.join("outside/file"), "out").unwrap();
        symlink("/usr/lib", root.join("abs")).unwrap();
        symlink("../../../../outside", root.join("usr/up")).unwrap();
        symlink("loop", root.join("loop")).unwrap();
        let dir = fs::File::open(&root).unwrap();
        let fd = dir.as_fd();
        let canon = fs::canonicalize(&root).unwrap();

        let both = |path: &[u8], flags| {
            let walked = walk_in_root(fd, path, flags);
            let kernel = openat2_in_root(fd, &cstring(path).unwrap(), flags);
            (
                walked.map(|f| path_of(&f)).map_err(|e| e.raw_os_error()),
                kernel.map(|f| path_of(&f)).map_err(|e| e.raw_os_error()),
            )
        };
        for path in [
            &b"abs/file"[..],
            b"usr/up",
            b"usr/up/file",
            b"../../x/../usr/lib",
            b"",
            b"loop",
            b"usr/lib/file/x",
        ] {
            let (walked, kernel) = both(path, libc::O_PATH);
            assert_eq!(walked, kernel, "{}", String::from_utf8_lossy(path));
            if let Ok(p) = walked {
                assert!(
                    p.starts_with(&canon),
                    "{} escaped to {}",
                    String::from_utf8_lossy(path),
                    p.display()
                );
            }
        }
        let (walked, _) = both(b"abs", libc::O_PATH | libc::O_NOFOLLOW);
        assert_eq!(walked.unwrap(), canon.join("abs"), "O_NOFOLLOW opens the final symlink itself");
        fs::remove_dir_all(&base).unwrap();
    }
}

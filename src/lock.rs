//! c/storage lock files (ONDISK.md section 4): a whole-file fcntl record lock, plus a 64-byte
//! "last writer" token at offset 0 that tells other processes their cached copy is stale.
//!
//! We use open-file-description (OFD) locks: they conflict with Go's classic POSIX locks, but they
//! belong to our file descriptor rather than to the process, so two `Store`s in one process exclude
//! each other too and closing some unrelated descriptor of the file never drops our lock.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, IoContext, Result};
use crate::ids::random_bytes;
use crate::sys;

pub const TOKEN_LEN: usize = 64;
pub type Token = [u8; TOKEN_LEN];

/// Every token this process makes carries the next value of this counter, as Go's do.
static TOKEN_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh token: time (ns, LE), process counter (LE), pid (LE), 44 random bytes.
pub fn new_token() -> Token {
    let mut token = [0u8; TOKEN_LEN];
    let nanos =
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
    token[0..8].copy_from_slice(&nanos.to_le_bytes());
    let counter = TOKEN_COUNTER.fetch_add(1, Ordering::Relaxed) + 1;
    token[8..16].copy_from_slice(&counter.to_le_bytes());
    token[16..20].copy_from_slice(&std::process::id().to_le_bytes());
    random_bytes(&mut token[20..]);
    token
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockKind {
    Shared,
    Exclusive,
}

struct LockInner {
    path: PathBuf,
    /// Unset only for a lock from `open_read_only_if_present` whose file did not exist yet:
    /// every use looks for it again.
    file: OnceLock<File>,
    read_only: bool,
    /// Nesting depth of our own acquisitions: only the outermost locks and unlocks the file,
    /// because an OFD unlock releases the lock however many times we took it.
    depth: AtomicUsize,
}

/// One lock file, opened once. Cheap to clone; guards keep it alive.
#[derive(Clone)]
pub struct LockFile {
    inner: Arc<LockInner>,
    /// A second lock file taken together with this one, after it (c/storage's
    /// multipleLockFile: the layer store of a store with a split image store is guarded by
    /// `G/D-layers/layers.lock` and `IS/D-layers/layers.lock`).
    companion: Option<Box<LockFile>>,
}

impl LockFile {
    /// Open (creating it, 0644, as Go does) a lock file for reading and writing.
    pub fn open(path: &Path) -> Result<Self> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .mode(0o644)
            .custom_flags(libc::O_CLOEXEC)
            .open(path)
            .ctx(format_args!("opening lock file {}", path.display()))?;
        Ok(Self::from_file(path, Some(file), false))
    }

    /// Open an existing lock file read-only (a read-only store): shared locks only.
    pub fn open_read_only(path: &Path) -> Result<Self> {
        let file =
            open_for_reading(path).ctx(format_args!("opening lock file {}", path.display()))?;
        Ok(Self::from_file(path, Some(file), true))
    }

    /// A read-only lock on a file that may not exist, in a store that is not ours to write
    /// (an additional image store): never created by us. While the file is missing, locking
    /// does nothing and the token reads as zeroes; each use looks for it again. That is safe
    /// because whoever writes the data it protects creates the lock file first (c/storage does
    /// when it opens a store), so until it exists there is no writer to wait for.
    pub fn open_read_only_if_present(path: &Path) -> Result<Self> {
        let lock = Self::from_file(path, None, true);
        lock.file().ctx(format_args!("opening lock file {}", path.display()))?;
        Ok(lock)
    }

    fn from_file(path: &Path, file: Option<File>, read_only: bool) -> Self {
        let cell = OnceLock::new();
        if let Some(file) = file {
            let _ = cell.set(file);
        }
        LockFile {
            inner: Arc::new(LockInner {
                path: path.to_path_buf(),
                file: cell,
                read_only,
                depth: AtomicUsize::new(0),
            }),
            companion: None,
        }
    }

    /// This lock and `other`, always taken and written together (this one first). Tokens are
    /// read from this one only, as c/storage's multipleLockFile does.
    pub fn with_companion(mut self, other: LockFile) -> Self {
        self.companion = Some(Box::new(other));
        self
    }

    /// Take the companion lock (if any) after ours; on failure, give ours back.
    fn lock_companion(&self, mut own: LockGuard, kind: LockKind) -> Result<LockGuard> {
        if let Some(companion) = &self.companion {
            own.companion = Some(Box::new(companion.lock(kind)?));
        }
        Ok(own)
    }

    /// The open lock file; `None` only while a lock from `open_read_only_if_present` has no file.
    fn file(&self) -> io::Result<Option<&File>> {
        if let Some(file) = self.inner.file.get() {
            return Ok(Some(file));
        }
        match open_for_reading(&self.inner.path) {
            Ok(file) => Ok(Some(self.inner.file.get_or_init(|| file))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Block until we hold the lock. Go retries failed fcntl calls forever; we retry EINTR only
    /// and report anything else, since a library must not hang on a broken file system.
    pub fn lock(&self, kind: LockKind) -> Result<LockGuard> {
        if kind == LockKind::Exclusive && self.inner.read_only {
            return Err(Error::new(
                crate::ErrorKind::StoreReadOnly,
                format!(
                    "{} is read-only: cannot take an exclusive lock",
                    self.inner.path.display()
                ),
            ));
        }
        if self.inner.depth.fetch_add(1, Ordering::AcqRel) == 0 {
            let lock_type = match kind {
                LockKind::Shared => libc::F_RDLCK,
                LockKind::Exclusive => libc::F_WRLCK,
            };
            if let Err(e) = self.fcntl_lock(lock_type as i16, true) {
                self.inner.depth.fetch_sub(1, Ordering::AcqRel);
                return Err(Error::io(format_args!("locking {}", self.inner.path.display()), e));
            }
        }
        self.lock_companion(LockGuard { lock: self.clone(), kind, companion: None }, kind)
    }

    fn fcntl_lock(&self, lock_type: i16, wait: bool) -> io::Result<()> {
        // No lock file: nobody to exclude (see open_read_only_if_present).
        let Some(file) = self.file()? else { return Ok(()) };
        loop {
            match sys::lock::ofd_lock_whole_file(file, lock_type, wait) {
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                result => return result,
            }
        }
    }

    fn unlock(&self) {
        if self.inner.depth.fetch_sub(1, Ordering::AcqRel) == 1 {
            // Unlocking cannot meaningfully fail on a descriptor we hold open.
            let _ = self.fcntl_lock(libc::F_UNLCK as i16, false);
        }
    }

    /// The token currently in the file; a short or empty file reads as all zeroes, which never
    /// equals a real token, so it always counts as "modified" (as in Go 1.43).
    pub fn read_token(&self) -> Result<Token> {
        let mut token = [0u8; TOKEN_LEN];
        let file =
            self.file().ctx(format_args!("opening lock file {}", self.inner.path.display()))?;
        let Some(file) = file else { return Ok(token) };
        let mut filled = 0;
        while filled < TOKEN_LEN {
            match file.read_at(&mut token[filled..], filled as u64) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(Error::io(format_args!("reading {}", self.inner.path.display()), e))
                }
            }
        }
        Ok(token)
    }
}

fn open_for_reading(path: &Path) -> io::Result<File> {
    OpenOptions::new().read(true).custom_flags(libc::O_CLOEXEC).open(path)
}

/// Proof that the lock is held; releases it when dropped.
pub struct LockGuard {
    lock: LockFile,
    kind: LockKind,
    /// The companion lock's guard; dropped (released) after ours.
    companion: Option<Box<LockGuard>>,
}

impl LockGuard {
    pub fn kind(&self) -> LockKind {
        self.kind
    }

    /// Record that we are about to change the protected data: write a new token (before the
    /// data, as c/storage 1.57 does, so a crash in between costs only a spurious reload).
    pub fn record_write(&self) -> Result<Token> {
        debug_assert_eq!(self.kind, LockKind::Exclusive);
        let token = new_token();
        let path = &self.lock.inner.path;
        // Exclusive guards exist only on writable locks, which always have their file.
        let file = self.lock.inner.file.get().ok_or_else(|| {
            Error::new(crate::ErrorKind::StoreReadOnly, format!("{} is read-only", path.display()))
        })?;
        file.write_all_at(&token, 0).ctx(format_args!("writing token to {}", path.display()))?;
        // c/storage writes every lock file of a pair, so readers of either see the change.
        if let Some(companion) = &self.companion {
            companion.record_write()?;
        }
        Ok(token)
    }

    pub fn read_token(&self) -> Result<Token> {
        self.lock.read_token()
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        self.lock.unlock();
    }
}

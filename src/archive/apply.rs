//! Importing a layer: one streaming pass over a (possibly compressed) tar that digests both the
//! raw and the decompressed stream, records tar-split, collects the uid/gid sets and extracts the
//! entries into a directory without ever writing outside it.
//!
//! Regular files are created by the extracting thread, in stream order, and then written and
//! given their owner, xattrs, mode and times by a small pool of threads
//! (`super::parallel_writer`): whole up to [`POOLED_FILE_MAX`], in pieces above it
//! (`super::file_pieces`, whose last piece written sets the metadata). The name space still
//! changes exactly in stream order, only the filling of the files lags, and what needs a file
//! complete (a hardlink to it, directory times) waits for the pool first. The writers write
//! straight out of the buffers the stream was read (or decompressed) into (`super::chunk_pipe`'s
//! shared chunks): file data is not copied again on its way to them. Sparse files, and files
//! above [`PIECED_FILE_MAX`], are written by the extracting thread as it reads them.
//!
//! Safety does not depend on a chroot: the target is opened once, parents are resolved inside it
//! with openat2(RESOLVE_IN_ROOT) (see `super::rootdir`), entries are created with `*at` calls on
//! a final name that is never followed, and names, hardlink targets and relative symlink targets
//! that lexically leave the root are refused before anything is created.

use std::collections::BTreeSet;
use std::ffi::CStr;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::Path;
use std::sync::Arc;

use super::chunk_pipe::{
    chunk_pipe, tapped_chunk_pipe, ChunkReader, ChunkWriter, Pumped, SharedBytes,
};
use super::compression::{decompress_reader, detect, Compression, MAGIC_LEN};
use super::file_pieces::{Piece, PiecedFile};
use super::landing::{Landing, WhiteoutMode};
use super::parallel_writer::{WorkerFailed, WriterPool, BYTES_IN_FLIGHT};
use super::paths::{base, clean, escapes, join, split};
use super::rootdir::{
    cstring, is_dir, list_dir, open_at, open_in_root, remove_all_at, stat_at, RootDir,
};
use super::stream::{io_to_error, SourceReader, StreamStats};
use super::tar_reader::{Header, Kind, TarReader, Timestamp};
use super::tarsplit::{crc64_iso, gzip_writer, TarSplitWriter, MAX_SEGMENT};
use crate::digest::Digester;
use crate::error::{Error, ErrorKind, Result};
use crate::idmap::{to_host, IdMap};
use crate::sys;

/// Prefix of whiteout entries ("deleted in this layer").
pub const WHITEOUT_PREFIX: &[u8] = b".wh.";
/// Prefix of whiteout meta entries (AUFS bookkeeping).
pub const WHITEOUT_META_PREFIX: &[u8] = b".wh..wh.";
/// Marks its directory as opaque (lower layers' content hidden).
pub const WHITEOUT_OPAQUE: &[u8] = b".wh..wh..opq";
/// The xattr overlayfs reads to treat a directory as opaque.
pub const OVERLAY_OPAQUE_XATTR: &CStr = c"trusted.overlay.opaque";

/// Options of [`apply_layer`].
#[derive(Default)]
pub struct ApplyOptions<'a> {
    /// What whiteouts become and whether refused chowns stop the import (the driver's choice).
    pub landing: Landing,
    /// Container-to-host ID maps of the layer; owners in the tar are container IDs. Empty = identity.
    pub uid_map: Vec<IdMap>,
    pub gid_map: Vec<IdMap>,
    /// When set, the digest (`"sha256:<hex>"`) the raw stream must have; a mismatch fails the
    /// import with `DigestMismatch` after the whole stream was read.
    pub expected_compressed_digest: Option<String>,
    /// Likewise for the decompressed tar.
    pub expected_uncompressed_digest: Option<String>,
    /// Called after every read with the number of raw bytes read so far; returning false cancels
    /// the import (`Cancelled`).
    pub progress: Option<&'a mut dyn FnMut(u64) -> bool>,
}

/// What c/storage records about a layer applied from a tar stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyStats {
    /// sha256 and length of the stream as given (c/storage `compressed-diff-digest`/`-size`).
    pub compressed_digest: String,
    pub compressed_size: u64,
    /// sha256 and length of the tar, up to the end of the stream (`diff-digest`, `diff-size`).
    pub uncompressed_digest: String,
    pub uncompressed_size: u64,
    pub compression: Compression,
    /// Distinct owners named in the tar (container IDs), sorted, whiteout entries excluded.
    pub uid_set: Vec<u32>,
    pub gid_set: Vec<u32>,
}

/// Buffer in front of the decompressor.
const RAW_BUFFER: usize = 128 << 10;

/// Regular files up to this size are filled by the writer pool in one job (their contents stay
/// in the stream's chunks meanwhile, see `share_data`); larger ones in pieces of
/// `file_pieces::PIECE_BYTES` up to [`PIECED_FILE_MAX`]; sparse ones are written by the
/// extracting thread as it reads them.
pub const POOLED_FILE_MAX: u64 = 1 << 20;

/// Regular files up to this size are filled by the writer pool in pieces; larger ones by the
/// extracting thread as it reads them: beyond the pool's bytes in flight it would wait for the
/// writers anyway. (The stream's chunks, which queued pieces hold, bound the backlog tighter,
/// to a few MiB; this limit was tuned before they were shared and has not been re-tuned.)
pub const PIECED_FILE_MAX: u64 = BYTES_IN_FLIGHT as u64;

/// The tar as the extracting thread reads it.
type Stream = TarReader<ChunkReader>;

/// A regular file's contents (or a piece of them) on their way to a writer: slices of the
/// stream's chunks (see [`share_data`]).
type FileData = Vec<SharedBytes>;

/// What the extraction needs of [`ApplyOptions`], owned so that it can move to the extracting
/// thread (the progress callback stays on the caller's).
struct ExtractRules {
    whiteouts: WhiteoutMode,
    uid_map: Vec<IdMap>,
    gid_map: Vec<IdMap>,
    ignore_chown_errors: bool,
    /// The process's umask, when known: a file created with mode m gets m less it.
    umask: Option<u32>,
}

/// Apply a layer tar stream (uncompressed, gzip or zstd) to `target_root`, writing its tar-split
/// (gzip, c/storage format) to `tar_split` when given. See the module documentation.
///
/// Threads share the work: the calling thread reads `input` (and calls the progress callback),
/// digests it if it is compressed and decompresses it; a scoped thread digests the tar; another
/// parses it, checksums file data for tar-split and creates the files, which a pool of writer
/// threads fills; a third compresses and writes the tar-split. All are joined before this
/// returns.
///
/// Errors: `BadArchive` for anything wrong with the stream (garbage, truncation, bad checksums,
/// entries escaping the root, duplicate names, unmapped owners), `DigestMismatch` when an
/// expected digest differs, `Cancelled` when the progress callback said so, `Io` for failures
/// of the input, the tar-split output or the target file system.
/// On error the target may hold part of the layer; the caller removes it.
pub fn apply_layer(
    input: &mut dyn Read,
    target_root: &Path,
    mut opts: ApplyOptions<'_>,
    tar_split: Option<&mut (dyn Write + Send)>,
) -> Result<ApplyStats> {
    for expected in
        [&opts.expected_compressed_digest, &opts.expected_uncompressed_digest].into_iter().flatten()
    {
        crate::digest::validate(expected)?;
    }
    let root = RootDir::open(target_root)?;
    let rules = ExtractRules {
        whiteouts: opts.landing.whiteouts,
        uid_map: std::mem::take(&mut opts.uid_map),
        gid_map: std::mem::take(&mut opts.gid_map),
        ignore_chown_errors: opts.landing.ignore_chown_errors,
        umask: process_umask(),
    };
    let mut raw_stats = StreamStats::default();
    let mut source = SourceReader { input, stats: &mut raw_stats, progress: opts.progress.take() };

    let mut prefix = [0u8; MAGIC_LEN];
    let mut got = 0;
    while got < MAGIC_LEN {
        let n = source
            .read(&mut prefix[got..])
            .map_err(|e| io_to_error(e, "reading the layer stream"))?;
        if n == 0 {
            break;
        }
        got += n;
    }
    let compression = detect(&prefix[..got]);
    if compression != Compression::None {
        let mut raw_digester = Digester::new();
        raw_digester.update(&prefix[..got]);
        source.stats.digester = Some(raw_digester);
    }
    let raw = BufReader::with_capacity(RAW_BUFFER, (&prefix[..got]).chain(source));
    let mut tar_stream = decompress_reader(compression, raw)?;

    let (sender, tap, mut chunks) = tapped_chunk_pipe();
    let extracted: Result<(BTreeSet<u32>, BTreeSet<u32>, Digester)> = std::thread::scope(|scope| {
        // sha256 of the tar costs as much as reading or writing it: a thread of its own.
        let digesting = spawn_named(scope, "cs-digest", move || {
            let mut tar_digester = Digester::new();
            tap.run(|chunk| tar_digester.update(chunk));
            tar_digester
        })?;
        // The tar-split's JSON lines go from the extracting thread to one that compresses and
        // writes them: for layers of many small files, gzip is a fair share of the per-entry work.
        let (tar_split_lines, compressing) = match tar_split {
            Some(out) => {
                let (lines, lines_reader) = chunk_pipe();
                let compressing = spawn_named(scope, "cs-tar-split", move || -> io::Result<()> {
                    let mut gz = gzip_writer(out);
                    io::copy(&mut { lines_reader }, &mut gz)?;
                    gz.finish()?.flush()
                })?;
                (Some(TarSplitWriter::new(ChunkWriter::new(lines))), Some(compressing))
            }
            None => (None, None),
        };
        let extracting = spawn_named(scope, "cs-extract", move || {
            let pool = Arc::new(WriterPool::new());
            // Queued writes hold the stream's chunks: the writers must work while we wait for one.
            let waker = Arc::clone(&pool);
            chunks.wake_before_waiting(Box::new(move || waker.wake_writers()));
            let extracted = std::thread::scope(|writers| {
                let _closing = pool.close_when_dropped();
                let started: Result<Vec<_>> = (0..file_writers())
                    .map(|_| spawn_named(writers, "cs-write", || pool.run_worker(FileJob::run)))
                    .collect();
                let extracted = started.and_then(|_| {
                    let mut extractor = Extractor::new(root, rules, &pool);
                    let mut tar_split = tar_split_lines;
                    extractor.run(&mut TarReader::new(chunks), tar_split.as_mut())?;
                    if let Some(ts) = tar_split {
                        ts.finish().finish().map_err(ts_error)?;
                    }
                    Ok((extractor.uids, extractor.gids))
                });
                // `_closing` closes the pool here (or while unwinding) and the writers return.
                extracted
            });
            // A writer's failure is that of an earlier entry than anything the extracting
            // thread met since: it is the one to report.
            match pool.take_error() {
                Some(e) => Err(e),
                None => extracted,
            }
        })?;
        let fed = sender.pump(&mut tar_stream);
        let extracted = extracting.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let tar_digester =
            digesting.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let compressed =
            compressing.map(|c| c.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)));
        // A failure of the stream itself (cancel, read error, corrupt compression) comes first:
        // the extracting side only saw the stream end early because of it. Then one of the
        // tar-split output, which the extracting side only saw as a broken pipe.
        let pumped = fed.map_err(|e| io_to_error(e, "reading the layer stream"))?;
        if let Some(Err(e)) = compressed {
            return Err(ts_error(e));
        }
        match pumped {
            Pumped::All => extracted.map(|(uids, gids)| (uids, gids, tar_digester)),
            // It stops reading only when it failed; anything else would leave the digests short.
            Pumped::ReaderGone => Err(extracted.err().unwrap_or_else(|| {
                Error::new(
                    ErrorKind::Io,
                    "the extracting thread stopped before the end of the layer stream",
                )
            })),
        }
    });
    let (uids, gids, tar_digester) = extracted?;
    drop(tar_stream);

    // Uncompressed, the stream is the tar.
    let raw_digester = raw_stats.digester.take().unwrap_or_else(|| tar_digester.clone());
    let stats = ApplyStats {
        compressed_digest: raw_digester.digest(),
        compressed_size: raw_digester.count(),
        uncompressed_digest: tar_digester.digest(),
        uncompressed_size: tar_digester.count(),
        compression,
        uid_set: uids.into_iter().collect(),
        gid_set: gids.into_iter().collect(),
    };
    check_digest("compressed", &opts.expected_compressed_digest, &stats.compressed_digest)?;
    check_digest("uncompressed", &opts.expected_uncompressed_digest, &stats.uncompressed_digest)?;
    Ok(stats)
}

/// Writer threads: as many as there are cores, at least two (the extracting thread mostly waits
/// on the file system too) and at most four (beyond that they only contend for the same
/// directories' locks).
fn file_writers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 4)
}

/// The umask, read from /proc/self/status (umask(2) cannot read it without setting it, which
/// would race with other threads' file creation).
fn process_umask() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("Umask:"))?;
    u32::from_str_radix(line.trim(), 8).ok()
}

/// Start a named scoped thread; failing to start one is an I/O error, not a panic.
fn spawn_named<'scope, T: Send + 'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    name: &str,
    work: impl FnOnce() -> T + Send + 'scope,
) -> Result<std::thread::ScopedJoinHandle<'scope, T>> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn_scoped(scope, work)
        .map_err(|e| Error::io(format_args!("starting the {name} thread"), e))
}

fn check_digest(what: &str, expected: &Option<String>, actual: &str) -> Result<()> {
    match expected {
        Some(expected) if expected != actual => Err(Error::new(
            ErrorKind::DigestMismatch,
            format!("layer {what} digest mismatch: expected {expected}, got {actual}"),
        )),
        _ => Ok(()),
    }
}

fn bad_entry(name: &[u8], what: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::BadArchive,
        format!("tar entry {:?}: {what}", String::from_utf8_lossy(name)),
    )
}

/// Errors of file-system calls made for an entry: those a hostile or inconsistent archive causes
/// (a parent that is a file or a dangling/outward symlink, a hardlink to a missing target, ...)
/// are `BadArchive`; anything else (no space, I/O error) is `Io`.
fn entry_io_error(name: &[u8], doing: &str, e: io::Error) -> Error {
    let structural = matches!(
        e.raw_os_error(),
        Some(
            libc::EEXIST
                | libc::ENOTDIR
                | libc::ELOOP
                | libc::EXDEV
                | libc::ENOENT
                | libc::EISDIR
                | libc::EINVAL
                | libc::EMLINK
                | libc::ENAMETOOLONG
        )
    );
    if structural {
        let mut err = bad_entry(name, format!("{doing}: {e}"));
        if let Some(errno) = e.raw_os_error() {
            err = Error::with_errno(ErrorKind::BadArchive, errno, err.message().to_string());
        }
        err
    } else {
        Error::io(format!("tar entry {:?}: {doing}", String::from_utf8_lossy(name)), e)
    }
}

/// An entry's parent that cannot be reached: when something on the way is in the way (a file,
/// a symlink that leads out of the layer or nowhere), say so rather than "File exists".
fn parent_error(name: &[u8], parent: &[u8], e: io::Error) -> Error {
    match e.raw_os_error() {
        Some(errno @ (libc::EEXIST | libc::ENOTDIR | libc::ELOOP | libc::EXDEV)) => Error::with_errno(
            ErrorKind::BadArchive,
            errno,
            format!(
                "tar entry {:?}: its parent {:?} is not a directory inside the layer (a file, or a symlink that leads out of the layer or nowhere)",
                String::from_utf8_lossy(name),
                String::from_utf8_lossy(parent)
            ),
        ),
        _ => entry_io_error(name, "resolving parent directory", e),
    }
}

/// What the extracting thread returns when the writer pool failed; the pool's own error replaces
/// it (see [`apply_layer`]).
fn writer_failed(_: WorkerFailed) -> Error {
    Error::new(ErrorKind::Io, "a file writer thread failed")
}

fn ts_error(e: io::Error) -> Error {
    Error::io("writing tar-split", e)
}

fn timespec(t: Timestamp) -> libc::timespec {
    libc::timespec { tv_sec: t.sec as libc::time_t, tv_nsec: t.nsec as libc::c_long }
}

/// atime never before mtime, as c/storage sets it; times before 1970 become the epoch, as
/// c/storage's system.Chtimes makes them (for everything but symlinks, see [`symlink_times_of`]),
/// so that a layer's files look the same whichever tool extracted it.
fn times_of(h: &Header) -> [libc::timespec; 2] {
    let epoch_at_least =
        |t: libc::timespec| if t.tv_sec < 0 { libc::timespec { tv_sec: 0, tv_nsec: 0 } } else { t };
    symlink_times_of(h).map(epoch_at_least)
}

/// A symlink's times are set as they are, before 1970 too (c/storage's LUtimesNano).
fn symlink_times_of(h: &Header) -> [libc::timespec; 2] {
    let atime = match h.atime {
        Some(a) if (a.sec, a.nsec) >= (h.mtime.sec, h.mtime.nsec) => a,
        _ => h.mtime,
    };
    [timespec(atime), timespec(h.mtime)]
}

/// Where an entry's xattrs go: an open descriptor, or (for symlinks and devices, which cannot be
/// opened for that) its name under the parent's /proc/self/fd link, which lsetxattr does not follow.
enum XattrTarget<'a> {
    Fd(BorrowedFd<'a>),
    At(BorrowedFd<'a>, &'a CStr),
}

struct Extractor<'p> {
    root: RootDir,
    opts: ExtractRules,
    pool: &'p WriterPool<FileJob>,
    /// Owner of the files this process creates.
    creator: (u32, u32),
    /// Cleaned names of all entries so far: refuses duplicates (as tar-split does) and tells the
    /// naive opaque-directory handling what this layer created.
    seen: BTreeSet<Vec<u8>>,
    /// Directories whose times are set at the end (entries below them change their mtime).
    dir_times: Vec<(Vec<u8>, [libc::timespec; 2])>,
    uids: BTreeSet<u32>,
    gids: BTreeSet<u32>,
    root_owner: Option<(u32, u32)>,
}

impl<'p> Extractor<'p> {
    fn new(root: RootDir, opts: ExtractRules, pool: &'p WriterPool<FileJob>) -> Self {
        // Missing parents are created owned by the layer's root, as c/storage does.
        let root_owner = if opts.uid_map.is_empty() && opts.gid_map.is_empty() {
            None
        } else {
            Some((to_host(&opts.uid_map, 0).unwrap_or(0), to_host(&opts.gid_map, 0).unwrap_or(0)))
        };
        let creator = (sys::process::geteuid(), sys::process::getegid());
        Extractor {
            root,
            opts,
            pool,
            creator,
            seen: BTreeSet::new(),
            dir_times: Vec::new(),
            uids: BTreeSet::new(),
            gids: BTreeSet::new(),
            root_owner,
        }
    }

    fn run(
        &mut self,
        reader: &mut Stream,
        mut ts: Option<&mut TarSplitWriter<ChunkWriter>>,
    ) -> Result<()> {
        let record = ts.is_some();
        while reader.next_entry()?.is_some() {
            if let Some(ts) = ts.as_deref_mut() {
                ts.segment(reader.raw()).map_err(ts_error)?;
            }
            reader.raw().clear();
            let header = reader.take_header();
            let outcome = self.entry(reader, &header, ts.as_deref_mut(), record);
            let (size, crc) = outcome?;
            if let Some(ts) = ts.as_deref_mut() {
                ts.file(&header.name, size, crc).map_err(ts_error)?;
            }
            reader.restore_header(header);
        }
        // The end blocks (and the padding of the last entry), then whatever follows to EOF.
        loop {
            if let Some(ts) = ts.as_deref_mut() {
                ts.segment(reader.raw()).map_err(ts_error)?;
            }
            reader.raw().clear();
            if !reader.read_trailing(MAX_SEGMENT)? {
                if let Some(ts) = ts.as_deref_mut() {
                    ts.segment(reader.raw()).map_err(ts_error)?;
                    ts.trailing_empty_segment().map_err(ts_error)?;
                }
                reader.raw().clear();
                break;
            }
        }
        self.finish_dir_times()
    }

    /// Handle one entry; returns the (size, crc) its tar-split file record carries.
    fn entry(
        &mut self,
        reader: &mut Stream,
        h: &Header,
        ts: Option<&mut TarSplitWriter<ChunkWriter>>,
        record: bool,
    ) -> Result<(u64, Option<u64>)> {
        let name = &h.name;
        let cleaned = clean(name);
        if !base(name).starts_with(WHITEOUT_PREFIX) {
            self.uids.insert(h.uid as u32);
            self.gids.insert(h.gid as u32);
        }
        if !self.seen.insert(cleaned.clone()) {
            return Err(bad_entry(name, "duplicates of file paths not supported"));
        }
        match h.kind {
            Kind::GlobalPax => return Ok((0, None)),
            Kind::Other(t) => {
                return Err(bad_entry(name, format!("unsupported tar entry type {:?}", t as char)))
            }
            _ => {}
        }
        if cleaned.starts_with(b"/") {
            return Err(bad_entry(name, "absolute path in layer tar"));
        }
        if escapes(&cleaned) {
            return Err(bad_entry(name, "path leaves the layer root"));
        }
        let host_uid = to_host(&self.opts.uid_map, h.uid as u32)
            .ok_or_else(|| bad_entry(name, format!("uid {} is not mapped", h.uid)))?;
        let host_gid = to_host(&self.opts.gid_map, h.gid as u32)
            .ok_or_else(|| bad_entry(name, format!("gid {} is not mapped", h.gid)))?;
        if cleaned == b"." {
            // c/storage leaves the layer root's own metadata alone.
            if h.kind != Kind::Dir {
                return Err(bad_entry(name, "the layer root can only be a directory"));
            }
            return Ok((0, None));
        }
        let (parent, base_name) = split(&cleaned);
        if base_name.starts_with(WHITEOUT_PREFIX) {
            self.whiteout(&cleaned, parent, base_name, host_uid, host_gid)?;
            return self.skip_data(reader, h);
        }
        let base_c = cstring(base_name).map_err(|e| bad_entry(name, e))?;
        let root_owner = self.root_owner;
        // Hardlink targets are names inside the root (an absolute one counts from the root, as
        // c/storage joins it to the root); resolved before anything at our own name changes.
        let link_target = if h.kind == Kind::Hardlink {
            // The target may be a file the pool is still filling: a link shares its inode, and
            // the link's owner and xattrs must come after the target's, as in stream order.
            self.pool.wait_idle().map_err(writer_failed)?;
            let target = clean(h.linkname.strip_prefix(b"/").unwrap_or(&h.linkname));
            if escapes(&target) || target == b"." {
                return Err(bad_entry(
                    name,
                    format!(
                        "hardlink target {:?} leaves the layer root",
                        String::from_utf8_lossy(&h.linkname)
                    ),
                ));
            }
            let (target_parent, target_base) = split(&target);
            let dir = self
                .root
                .open_dir(target_parent)
                .map_err(|e| entry_io_error(name, "resolving hardlink target", e))?;
            let target_base = cstring(target_base).map_err(|e| bad_entry(name, e))?;
            // linkat refuses directories with EPERM, which would read as a permission problem.
            let target_stat = stat_at(dir.as_fd(), &target_base)
                .map_err(|e| entry_io_error(name, "resolving hardlink target", e))?;
            if target_stat.is_some_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFDIR) {
                return Err(bad_entry(
                    name,
                    format!(
                        "hardlink target {:?} is a directory",
                        String::from_utf8_lossy(&h.linkname)
                    ),
                ));
            }
            Some((dir, target_base))
        } else {
            None
        };
        let (parent_fd, plain) = self
            .root
            .dir_and_plainness(parent, root_owner)
            .map_err(|e| parent_error(name, parent, e))?;
        // A file created here already has the owner and mode the entry asks for when the
        // directory creates plainly, the owner is us and the mode has no bit the umask clears
        // and none that only chmod sets: then chown and chmod are skipped.
        let creation = Creation {
            set_owner: !(plain && (host_uid, host_gid) == self.creator),
            set_mode: !(plain
                && self.opts.umask.is_some_and(|umask| h.mode & (umask | 0o7000) == 0)),
        };
        let ctx = EntryCtx {
            name,
            parent: parent_fd,
            base: &base_c,
            uid: host_uid,
            gid: host_gid,
            ignore_chown_errors: self.opts.ignore_chown_errors,
            whiteouts: self.opts.whiteouts,
        };
        match h.kind {
            Kind::Regular => return ctx.regular_file(reader, h, ts, record, creation, self.pool),
            Kind::Dir => {
                // An existing directory (the parent layer's, or one made for an earlier entry) is
                // merged into.
                ctx.create("creating directory", true, || {
                    sys::fs::mkdirat(parent_fd, &base_c, 0o700)
                })?;
                let dir = open_at(parent_fd, &base_c, libc::O_RDONLY | libc::O_DIRECTORY, 0)
                    .map_err(|e| entry_io_error(name, "opening directory", e))?;
                ctx.chown_at()?;
                ctx.xattrs(h, XattrTarget::Fd(dir.as_fd()))?;
                sys::fs::fchmod(&dir, h.mode).map_err(|e| entry_io_error(name, "chmod", e))?;
                self.dir_times.push((cleaned.clone(), times_of(h)));
                // Its mode and xattrs may have changed how files are created in it.
                self.root.invalidate();
            }
            Kind::Symlink => {
                if !h.linkname.starts_with(b"/") && escapes(&clean(&join(parent, &h.linkname))) {
                    return Err(bad_entry(
                        name,
                        format!(
                            "symlink target {:?} leaves the layer root",
                            String::from_utf8_lossy(&h.linkname)
                        ),
                    ));
                }
                let target = cstring(&h.linkname).map_err(|e| bad_entry(name, e))?;
                ctx.create("creating symlink", false, || {
                    sys::fs::symlinkat(&target, parent_fd, &base_c)
                })?;
                ctx.chown_at()?;
                ctx.xattrs(h, XattrTarget::At(parent_fd, &base_c))?;
                ctx.utimes_at(h)?;
            }
            Kind::Hardlink => {
                let (target_dir, target_base) =
                    link_target.as_ref().expect("resolved above for hardlinks");
                ctx.create("creating hardlink", false, || {
                    // Flags 0 links a symlink itself rather than its target.
                    sys::fs::linkat(target_dir.as_fd(), target_base, parent_fd, &base_c, 0)
                })?;
                // The inode is shared: chown only when the owner really differs, because any
                // chown clears setuid/setgid bits the first entry already set.
                let st = stat_at(parent_fd, &base_c)
                    .map_err(|e| entry_io_error(name, "inspecting hardlink", e))?;
                if st.is_some_and(|st| (st.st_uid, st.st_gid) != (host_uid, host_gid)) {
                    ctx.chown_at()?;
                }
                ctx.xattrs(h, XattrTarget::At(parent_fd, &base_c))?;
            }
            Kind::Char | Kind::Block | Kind::Fifo => {
                let kind = match h.kind {
                    Kind::Char => libc::S_IFCHR,
                    Kind::Block => libc::S_IFBLK,
                    _ => libc::S_IFIFO,
                };
                let dev = libc::makedev(h.devmajor, h.devminor);
                ctx.create("creating device or fifo", false, || {
                    sys::fs::mknodat(parent_fd, &base_c, kind | 0o600, dev)
                })?;
                ctx.chown_at()?;
                ctx.xattrs(h, XattrTarget::At(parent_fd, &base_c))?;
                sys::fs::fchmodat(parent_fd, &base_c, h.mode, 0)
                    .map_err(|e| entry_io_error(name, "chmod", e))?;
                ctx.utimes_at(h)?;
            }
            Kind::GlobalPax | Kind::Other(_) => unreachable!("handled above"),
        }
        self.skip_data(reader, h)
    }

    /// Read (and checksum for tar-split) data we do not extract.
    fn skip_data<R: io::BufRead>(
        &self,
        reader: &mut TarReader<R>,
        h: &Header,
    ) -> Result<(u64, Option<u64>)> {
        let mut crc = crc64_iso();
        loop {
            let chunk = reader.fill_data()?;
            if chunk.is_empty() {
                break;
            }
            crc.update(chunk);
            let n = chunk.len();
            reader.consume_data(n);
        }
        Ok((h.size, (h.size > 0).then(|| crc.finalize())))
    }

    fn whiteout(
        &mut self,
        cleaned: &[u8],
        parent: &[u8],
        base_name: &[u8],
        uid: u32,
        gid: u32,
    ) -> Result<()> {
        let root_owner = self.root_owner;
        let parent_fd = self
            .root
            .dir(parent, root_owner)
            .map_err(|e| entry_io_error(cleaned, "resolving parent directory", e))?;
        match (self.opts.whiteouts, base_name) {
            (WhiteoutMode::Overlay, WHITEOUT_OPAQUE) => {
                sys::xattr::fsetxattr(parent_fd, OVERLAY_OPAQUE_XATTR, b"y")
                    .map_err(|e| entry_io_error(cleaned, "marking directory opaque", e))?;
            }
            (WhiteoutMode::Naive, WHITEOUT_OPAQUE) => {
                let dir = open_at(parent_fd, c".", libc::O_RDONLY | libc::O_DIRECTORY, 0)
                    .map_err(|e| entry_io_error(cleaned, "opening opaque directory", e))?;
                self.clear_opaque(dir.as_fd(), parent)
                    .map_err(|e| entry_io_error(cleaned, "clearing opaque directory", e))?;
                self.root.invalidate();
            }
            (_, b) if b.starts_with(WHITEOUT_META_PREFIX) => {} // AUFS bookkeeping: nothing to do.
            (mode, b) => {
                let victim =
                    cstring(&b[WHITEOUT_PREFIX.len()..]).map_err(|e| bad_entry(cleaned, e))?;
                remove_all_at(parent_fd, &victim)
                    .map_err(|e| entry_io_error(cleaned, "removing whited-out entry", e))?;
                if mode == WhiteoutMode::Overlay {
                    sys::fs::mknodat(parent_fd, &victim, libc::S_IFCHR, 0)
                        .map_err(|e| entry_io_error(cleaned, "creating whiteout device", e))?;
                    let r =
                        sys::fs::fchownat(parent_fd, &victim, uid, gid, libc::AT_SYMLINK_NOFOLLOW);
                    chown_result(r, self.opts.ignore_chown_errors)
                        .map_err(|e| entry_io_error(cleaned, "chown of whiteout", e))?;
                }
                self.root.invalidate();
            }
        }
        Ok(())
    }

    /// Naive opaque directory: remove everything below `dir` that this tar did not create.
    fn clear_opaque(&self, dir: BorrowedFd<'_>, dir_rel: &[u8]) -> io::Result<()> {
        for child in list_dir(dir)? {
            let path = join(dir_rel, child.to_bytes());
            if !self.created(&path) {
                remove_all_at(dir, &child)?;
            } else if stat_at(dir, &child)?.is_some_and(|st| is_dir(&st)) {
                let sub = open_at(dir, &child, libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
                self.clear_opaque(sub.as_fd(), &path)?;
            }
        }
        Ok(())
    }

    /// Whether this tar created `path`, itself or as the parent of something it created.
    fn created(&self, path: &[u8]) -> bool {
        if self.seen.contains(path) {
            return true;
        }
        let mut prefix = path.to_vec();
        prefix.push(b'/');
        self.seen.range(prefix.clone()..).next().is_some_and(|p| p.starts_with(&prefix))
    }

    fn finish_dir_times(&mut self) -> Result<()> {
        // Files are complete before their directories' times are set: filling them does not
        // change a directory's mtime, but a failure must be reported before anything else.
        self.pool.wait_idle().map_err(writer_failed)?;
        for (path, times) in std::mem::take(&mut self.dir_times) {
            let Ok(c) = cstring(&path) else { continue };
            // Whiteouts or later entries may have removed or replaced the directory since.
            let dir = match open_in_root(
                self.root.fd(),
                &c,
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW,
            ) {
                Ok(dir) => dir,
                Err(_) => continue,
            };
            sys::fs::futimens(&dir, &times)
                .map_err(|e| entry_io_error(&path, "setting directory times", e))?;
        }
        Ok(())
    }
}

fn chown_result(r: io::Result<()>, ignore_errors: bool) -> io::Result<()> {
    match r {
        Err(e) if ignore_errors && matches!(e.raw_os_error(), Some(libc::EPERM | libc::EINVAL)) => {
            Ok(())
        }
        other => other,
    }
}

/// Apply the entry's xattrs, except security.selinux (the host labels files itself) and, on
/// an overlay upper dir, overlayfs's own xattrs (a tar must not forge whiteouts or
/// redirects). File systems without xattr support are tolerated.
fn set_xattrs(
    name: &[u8],
    whiteouts: WhiteoutMode,
    xattrs: &[(Vec<u8>, Vec<u8>)],
    target: XattrTarget<'_>,
) -> Result<()> {
    for (key, value) in xattrs {
        if key == b"security.selinux" {
            continue;
        }
        if whiteouts == WhiteoutMode::Overlay
            && (key.starts_with(b"trusted.overlay.") || key.starts_with(b"user.overlay."))
        {
            continue;
        }
        let key_c = cstring(key).map_err(|e| bad_entry(name, e))?;
        let r = match &target {
            XattrTarget::Fd(fd) => sys::xattr::fsetxattr(fd, &key_c, value),
            XattrTarget::At(dir, base) => {
                let path = cstring(format!("/proc/self/fd/{}/", dir.as_raw_fd()).as_bytes())
                    .map(|p| [p.as_bytes(), base.to_bytes()].concat())
                    .and_then(|p| cstring(&p))
                    .map_err(|e| bad_entry(name, e))?;
                sys::xattr::lsetxattr(&path, &key_c, value)
            }
        };
        match r {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOTSUP) => {}
            // user.* xattrs are not allowed on symlinks and devices.
            Err(e)
                if e.raw_os_error() == Some(libc::EPERM)
                    && matches!(target, XattrTarget::At(..)) => {}
            Err(e) => {
                return Err(entry_io_error(
                    name,
                    &format!("setting xattr {}", String::from_utf8_lossy(key)),
                    e,
                ))
            }
        }
    }
    Ok(())
}

/// One entry being created: its name (for messages), parent directory and final component.
struct EntryCtx<'e> {
    name: &'e [u8],
    parent: BorrowedFd<'e>,
    base: &'e CStr,
    uid: u32,
    gid: u32,
    ignore_chown_errors: bool,
    whiteouts: WhiteoutMode,
}

impl EntryCtx<'_> {
    /// Create the entry's name with `create`. A name already taken (by the parent layer's copy
    /// on vfs, or by an earlier entry) is replaced, except that a new directory merges into an
    /// existing one (then `None`), as c/storage does. Creating first and looking only on EEXIST
    /// spares a stat for every entry of a fresh layer.
    fn create<T>(
        &self,
        doing: &str,
        new_is_dir: bool,
        mut create: impl FnMut() -> io::Result<T>,
    ) -> Result<Option<T>> {
        let fail = |e| entry_io_error(self.name, doing, e);
        // Bounded: something else creating the name as fast as we remove it is not our problem.
        for _ in 0..3 {
            match create() {
                Ok(created) => return Ok(Some(created)),
                Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
                Err(e) => return Err(fail(e)),
            }
            match stat_at(self.parent, self.base).map_err(fail)? {
                Some(st) if new_is_dir && is_dir(&st) => return Ok(None),
                // The parent directory cached by RootDir is not below the removed name.
                Some(_) => remove_all_at(self.parent, self.base)
                    .map_err(|e| entry_io_error(self.name, "replacing existing entry", e))?,
                None => {}
            }
        }
        Err(fail(io::Error::from_raw_os_error(libc::EEXIST)))
    }

    fn chown_at(&self) -> Result<()> {
        // The final component is not followed.
        let r = sys::fs::fchownat(
            self.parent,
            self.base,
            self.uid,
            self.gid,
            libc::AT_SYMLINK_NOFOLLOW,
        );
        chown_result(r, self.ignore_chown_errors).map_err(|e| entry_io_error(self.name, "chown", e))
    }

    fn utimes_at(&self, h: &Header) -> Result<()> {
        let times = if h.kind == Kind::Symlink { symlink_times_of(h) } else { times_of(h) };
        // The final component is not followed.
        sys::fs::utimensat(self.parent, self.base, &times, libc::AT_SYMLINK_NOFOLLOW)
            .map_err(|e| entry_io_error(self.name, "setting times", e))
    }

    fn xattrs(&self, h: &Header, target: XattrTarget<'_>) -> Result<()> {
        set_xattrs(self.name, self.whiteouts, &h.xattrs, target)
    }

    /// Create a regular file and have the writer pool fill it (in one job up to
    /// [`POOLED_FILE_MAX`], in pieces up to [`PIECED_FILE_MAX`]), or, when sparse or larger,
    /// fill it here as the data is read.
    fn regular_file(
        &self,
        reader: &mut Stream,
        h: &Header,
        mut ts: Option<&mut TarSplitWriter<ChunkWriter>>,
        record: bool,
        creation: Creation,
        pool: &WriterPool<FileJob>,
    ) -> Result<(u64, Option<u64>)> {
        let name = self.name;
        let mode = if creation.set_mode { 0o600 } else { h.mode & 0o777 };
        let fd = self.create("creating file", false, || {
            open_at(self.parent, self.base, libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL, mode)
        })?;
        let mut file = File::from(fd.expect("only directories are merged"));
        let meta = FileMeta {
            name: name.to_vec(),
            uid: self.uid,
            gid: self.gid,
            creation,
            mode: h.mode,
            times: times_of(h),
            xattrs: h.xattrs.clone(),
            ignore_chown_errors: self.ignore_chown_errors,
            whiteouts: self.whiteouts,
        };
        let Some(sparse) = &h.sparse else {
            let mut crc = crc64_iso();
            if h.size <= POOLED_FILE_MAX {
                let data = share_data(reader, h.size as usize, &mut crc)?;
                submit(pool, FileJob::Whole { file, data, meta })?;
            } else if h.size <= PIECED_FILE_MAX {
                let mut pieced = PiecedFile::new(file, h.size, meta);
                while pieced.next_piece_len() > 0 {
                    let data = share_data(reader, pieced.next_piece_len(), &mut crc)?;
                    submit(pool, FileJob::Piece(pieced.piece(data)))?;
                }
            } else {
                loop {
                    let chunk = reader.fill_data()?;
                    if chunk.is_empty() {
                        break;
                    }
                    file.write_all(chunk).map_err(|e| meta.write_error(e))?;
                    crc.update(chunk);
                    let n = chunk.len();
                    reader.consume_data(n);
                }
                meta.apply(&file)?;
            }
            return Ok((h.size, (h.size > 0).then(|| crc.finalize())));
        };
        let write_err = |e: io::Error| meta.write_error(e);
        // A sparse file's archived bytes (map and chunks) are kept verbatim in tar-split
        // segments and its file record is empty: the extracted file is the expanded one,
        // so this is the only way to give back the original tar (Go records the expanded
        // data and so cannot; see ONDISK.md 9).
        let mut flush = |reader: &mut Stream| -> Result<()> {
            if let Some(ts) = ts.as_deref_mut() {
                if reader.raw().len() >= MAX_SEGMENT {
                    ts.segment(reader.raw()).map_err(ts_error)?;
                    reader.raw().clear();
                }
            }
            Ok(())
        };
        let map = if sparse.map_in_data {
            reader.read_sparse_map_from_data(sparse.real_size, record)?
        } else {
            sparse.map.clone()
        };
        for (offset, len) in map {
            file.seek(SeekFrom::Start(offset)).map_err(write_err)?;
            let mut left = len;
            while left > 0 {
                let chunk = reader.fill_data()?;
                if chunk.is_empty() {
                    return Err(bad_entry(name, "sparse map runs past the entry's data"));
                }
                let n = chunk.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                file.write_all(&chunk[..n]).map_err(write_err)?;
                reader.consume_data_recorded(n, record)?;
                left -= n as u64;
                flush(reader)?;
            }
        }
        // Anything after the last chunk is kept for tar-split, not extracted.
        loop {
            let n = reader.fill_data()?.len();
            if n == 0 {
                break;
            }
            reader.consume_data_recorded(n, record)?;
            flush(reader)?;
        }
        file.set_len(sparse.real_size).map_err(write_err)?;
        meta.apply(&file)?;
        Ok((0, None))
    }
}

/// The next `len` bytes of the entry's data, checksummed into `crc` for tar-split, as slices of
/// the stream's chunks (a writer writes them from there: no copy). Two slices when the bytes
/// straddle two chunks.
fn share_data(reader: &mut Stream, len: usize, crc: &mut crc_fast::Digest) -> Result<FileData> {
    let mut parts = Vec::with_capacity(2);
    let mut got = 0;
    while got < len {
        let chunk = reader.fill_data()?;
        // Never empty before the entry's size is read (a short stream is an error).
        let n = chunk.len().min(len - got);
        crc.update(&chunk[..n]);
        parts.push(reader.input().share(n));
        reader.consume_data(n);
        got += n;
    }
    Ok(parts)
}

/// Hand `job` to the writer pool (waiting while it holds its bytes in flight).
fn submit(pool: &WriterPool<FileJob>, job: FileJob) -> Result<()> {
    pool.submit(job.bytes(), job).map_err(writer_failed)
}

/// Which of chown and chmod a regular file needs after its creation (see [`RootDir::dir_and_plainness`]).
#[derive(Clone, Copy)]
struct Creation {
    set_owner: bool,
    set_mode: bool,
}

/// What a regular file created in stream order still needs once its contents are written, by
/// the extracting thread or a writer of the pool.
struct FileMeta {
    name: Vec<u8>,
    uid: u32,
    gid: u32,
    creation: Creation,
    mode: u32,
    times: [libc::timespec; 2],
    xattrs: Vec<(Vec<u8>, Vec<u8>)>,
    ignore_chown_errors: bool,
    whiteouts: WhiteoutMode,
}

impl FileMeta {
    fn write_error(&self, e: io::Error) -> Error {
        entry_io_error(&self.name, "writing file", e)
    }

    /// Owner, xattrs, mode and times, in that order, once every byte is written.
    fn apply(&self, file: &File) -> Result<()> {
        let name = &self.name[..];
        if self.creation.set_owner {
            // chown before chmod: chown clears setuid/setgid.
            let r = sys::fs::fchown(file, self.uid, self.gid);
            chown_result(r, self.ignore_chown_errors)
                .map_err(|e| entry_io_error(name, "chown", e))?;
        }
        set_xattrs(name, self.whiteouts, &self.xattrs, XattrTarget::Fd(file.as_fd()))?;
        if self.creation.set_mode {
            sys::fs::fchmod(file, self.mode).map_err(|e| entry_io_error(name, "chmod", e))?;
        }
        sys::fs::futimens(file, &self.times).map_err(|e| entry_io_error(name, "setting times", e))
    }
}

/// Work for the writer pool: a whole small file (contents and metadata), or a piece of a large
/// one (whose last piece written applies the metadata, see `super::file_pieces`).
enum FileJob {
    Whole { file: File, data: FileData, meta: FileMeta },
    Piece(Piece<FileMeta, SharedBytes>),
}

impl FileJob {
    fn bytes(&self) -> usize {
        match self {
            FileJob::Whole { data, .. } => data.iter().map(|part| part.len()).sum(),
            FileJob::Piece(piece) => piece.len(),
        }
    }

    fn run(self) -> Result<()> {
        match self {
            FileJob::Whole { mut file, data, meta } => {
                for part in &data {
                    file.write_all(part).map_err(|e| meta.write_error(e))?;
                }
                meta.apply(&file)
            }
            FileJob::Piece(piece) => {
                piece.write(FileMeta::write_error, |file, meta| meta.apply(file))
            }
        }
    }
}

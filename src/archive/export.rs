//! Exporting a layer as a tar stream: byte for byte from its tar-split when it has one, else by
//! comparing it with its parent (naive diff) or from an overlay upper dir (native diff).

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::apply::{WHITEOUT_OPAQUE, WHITEOUT_PREFIX};
use super::changes::{raw_changes, ChangeKind, OwnerMaps};
use super::export_style::ExportStyle;
use super::owner_names::OwnerNames;
use super::paths::{clean, escapes};
use super::pax_xattrs;
use super::rootdir::{cstring, open_in_root, RootDir};
use super::tar_writer::{write_end, write_header, write_padding, TarEntry};
use super::tarsplit::{crc64_iso, Entry, TarSplitReader};
use crate::error::{Error, ErrorKind, IoContext, Result};
use crate::idmap::{to_container, IdMap};

const COPY_BUFFER: usize = 1 << 20;

/// Rebuild a layer's original tar from its tar-split (`<id>.tar-split.gz`) and its files,
/// looked up in `file_roots` in order (overlay: the layer's diff dir, then its lowers; vfs: the
/// layer dir). Every file's CRC-64 is checked (`DigestMismatch` on a difference, as the layer
/// was modified); a file missing or shorter than recorded, or a malformed tar-split, is
/// `CorruptMetadata`. Returns the number of bytes written.
pub fn export_from_tar_split(
    tar_split_gz: &mut dyn Read,
    file_roots: &[PathBuf],
    out: &mut dyn Write,
) -> Result<u64> {
    // A root that is gone (a layer directory removed by hand) has no files: the first file
    // then fails as c/storage's does, naming the path it opened.
    let roots = file_roots
        .iter()
        .filter(|p| p.exists())
        .map(|p| RootDir::open(p))
        .collect::<Result<Vec<_>>>()?;
    let mut reader = TarSplitReader::new(tar_split_gz);
    let mut buf = vec![0u8; COPY_BUFFER];
    let mut written = 0u64;
    let write_err = |e: io::Error| Error::io("writing the layer tar", e);
    while let Some(entry) = reader.next_entry()? {
        match entry {
            Entry::Segment(bytes) => {
                out.write_all(&bytes).map_err(write_err)?;
                written += bytes.len() as u64;
            }
            Entry::File { size: 0, .. } => {}
            Entry::File { name, size, crc } => {
                let shown = String::from_utf8_lossy(&name).into_owned();
                let cleaned = clean(&name);
                // Names come from our own metadata, but a damaged file must not make us read
                // outside the layer either: resolution is confined to each root.
                if cleaned.starts_with(b"/") || escapes(&cleaned) {
                    return Err(Error::corrupt(format!(
                        "tar-split names {shown:?}, outside the layer"
                    )));
                }
                let cname = cstring(&cleaned).map_err(|_| {
                    Error::corrupt(format!("tar-split name {shown:?} contains NUL"))
                })?;
                let mut file = None;
                for root in &roots {
                    match open_in_root(root.fd(), &cname, libc::O_RDONLY | libc::O_NOFOLLOW) {
                        Ok(fd) => {
                            file = Some(File::from(fd));
                            break;
                        }
                        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
                        Err(e) => {
                            return Err(Error::io(format!("opening {shown:?} of the layer"), e))
                        }
                    }
                }
                // In c/storage's words (os.Open's, on the layer's own directory), which its check
                // report shows.
                let mut file = file.ok_or_else(|| {
                    let path = file_roots[0].join(String::from_utf8_lossy(&cleaned).as_ref());
                    Error::corrupt(format!("open {}: no such file or directory", path.display()))
                })?;
                let checksum = if size >= PIPELINE_THRESHOLD {
                    copy_checksummed_pipelined(&file, size, out, &shown)?
                } else {
                    copy_checksummed(&mut file, size, out, &mut buf, &shown)?
                };
                written += size;
                if crc.is_some_and(|c| c != checksum) {
                    return Err(Error::new(
                        ErrorKind::DigestMismatch,
                        // tar-split's words, which c/storage's check report shows.
                        format!("file integrity checksum failed for {shown:?}"),
                    ));
                }
            }
        }
    }
    out.flush().map_err(write_err)?;
    Ok(written)
}

/// Files at least this big are read by other threads while this one checksums and writes.
const PIPELINE_THRESHOLD: u64 = 8 << 20;
/// Threads reading a large file, each every `READERS`th chunk. Copying out of the page cache is
/// most of an export's work and one thread cannot saturate memory: two nearly halve it.
const READERS: usize = 2;
/// Chunks each reader may have read ahead.
const READ_AHEAD: usize = 2;

/// Copy exactly `size` bytes of `file` to `out`, returning their CRC-64/ISO.
fn copy_checksummed(
    file: &mut File,
    size: u64,
    out: &mut dyn Write,
    buf: &mut [u8],
    shown: &str,
) -> Result<u64> {
    let mut digest = crc64_iso();
    let mut left = size;
    while left > 0 {
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = file.read(&mut buf[..want]).ctx(format!("reading {shown:?} of the layer"))?;
        if n == 0 {
            return Err(shorter_than_recorded(shown, size));
        }
        digest.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(|e| Error::io("writing the layer tar", e))?;
        left -= n as u64;
    }
    Ok(digest.finalize())
}

/// Chunk `index` of a file of `size` bytes: its offset and length.
fn chunk_span(index: u64, size: u64) -> (u64, usize) {
    let offset = index * COPY_BUFFER as u64;
    (offset, usize::try_from(size - offset).unwrap_or(usize::MAX).min(COPY_BUFFER))
}

/// `copy_checksummed` of a file read from its start, with the reads done ahead by `READERS`
/// scoped threads, reader `r` taking chunks `r`, `r + READERS`, ... with pread. Each has
/// `READ_AHEAD` buffers of its own, so memory stays at `READERS * READ_AHEAD` MiB whatever the
/// file size.
fn copy_checksummed_pipelined(
    file: &File,
    size: u64,
    out: &mut dyn Write,
    shown: &str,
) -> Result<u64> {
    use std::os::unix::fs::FileExt;
    use std::sync::mpsc::sync_channel;
    let chunks = size.div_ceil(COPY_BUFFER as u64);
    std::thread::scope(|scope| {
        let mut lanes = Vec::with_capacity(READERS);
        for reader in 0..READERS {
            let (full_tx, full_rx) = sync_channel::<io::Result<(Vec<u8>, usize)>>(READ_AHEAD);
            let (empty_tx, empty_rx) = sync_channel::<Vec<u8>>(READ_AHEAD);
            for _ in 0..READ_AHEAD {
                empty_tx.send(vec![0u8; COPY_BUFFER]).expect("the receiver is alive");
            }
            scope.spawn(move || {
                for index in (reader as u64..chunks).step_by(READERS) {
                    // The consumer hung up (it failed): stop reading.
                    let Ok(mut buf) = empty_rx.recv() else { return };
                    let (offset, len) = chunk_span(index, size);
                    let mut filled = 0;
                    let result = loop {
                        match file.read_at(&mut buf[filled..len], offset + filled as u64) {
                            Ok(0) => break Ok(filled),
                            Ok(n) if filled + n == len => break Ok(len),
                            Ok(n) => filled += n,
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                            Err(e) => break Err(e),
                        }
                    };
                    let complete = matches!(result, Ok(n) if n == len);
                    if full_tx.send(result.map(|n| (buf, n))).is_err() || !complete {
                        return;
                    }
                }
            });
            lanes.push((full_rx, empty_tx));
        }
        // The consumer owns its ends of the channels, so if it stops early they are dropped
        // before the scope joins the readers, which then see the hang-up and stop too.
        let mut digest = crc64_iso();
        for index in 0..chunks {
            let (full, empty) = &lanes[(index % READERS as u64) as usize];
            let (buf, n) = full
                .recv()
                .map_err(|_| shorter_than_recorded(shown, size))?
                .ctx(format!("reading {shown:?} of the layer"))?;
            if n < chunk_span(index, size).1 {
                return Err(shorter_than_recorded(shown, size));
            }
            digest.update(&buf[..n]);
            out.write_all(&buf[..n]).map_err(|e| Error::io("writing the layer tar", e))?;
            // The reader may already have finished; then the buffer is simply dropped.
            let _ = empty.send(buf);
        }
        Ok(digest.finalize())
    })
}

fn shorter_than_recorded(shown: &str, size: u64) -> Error {
    Error::corrupt(format!(
        "file {shown:?} is shorter than the {size} bytes recorded in the tar-split"
    ))
}

/// Writes tar entries for files of a directory tree, the way c/storage's `addTarFile` does.
struct TarAdder<'w, 'm> {
    out: BufWriter<&'w mut dyn Write>,
    /// First name written for each multiply-linked inode; later ones become hardlinks to it.
    inodes: HashMap<(u64, u64), Vec<u8>>,
    uid_map: &'m [IdMap],
    gid_map: &'m [IdMap],
    style: ExportStyle,
    names: OwnerNames,
    buf: Vec<u8>,
}

/// c/storage's own major()/minor() (archive_unix.go), which overwrite Go's in the header: 12
/// bits of major and 20 of minor from the classic encoding.
fn header_device_numbers(rdev: u64) -> (u32, u32) {
    (((rdev >> 8) & 0xfff) as u32, ((rdev & 0xff) | ((rdev >> 12) & 0xfff00)) as u32)
}

/// An overlay whiteout: a character device numbered 0/0 (by c/storage's numbering).
fn is_whiteout_device(md: &fs::Metadata) -> bool {
    md.file_type().is_char_device() && header_device_numbers(md.rdev()) == (0, 0)
}

impl<'w, 'm> TarAdder<'w, 'm> {
    fn new(
        out: &'w mut dyn Write,
        uid_map: &'m [IdMap],
        gid_map: &'m [IdMap],
        style: ExportStyle,
    ) -> Self {
        TarAdder {
            out: BufWriter::with_capacity(256 << 10, out),
            inodes: HashMap::new(),
            uid_map,
            gid_map,
            style,
            names: OwnerNames::default(),
            buf: vec![0u8; COPY_BUFFER],
        }
    }

    /// The header for `path` (named `name` in the tar, no trailing slash), `None` for sockets.
    /// Owners are still host IDs (see `translate_ids`); their names, when the style has them,
    /// are the host's for those IDs, as Go looks them up before translating.
    fn entry_for(
        &mut self,
        path: &Path,
        name: &[u8],
        md: &fs::Metadata,
    ) -> Result<Option<TarEntry>> {
        let ft = md.file_type();
        let mut e = TarEntry {
            name: name.to_vec(),
            mode: self.style.mode_field(md.mode()),
            uid: md.uid(),
            gid: md.gid(),
            mtime: md.mtime(),
            ..TarEntry::default()
        };
        if self.style.looks_up_owner_names() {
            e.uname = self.names.user(md.uid());
            e.gname = self.names.group(md.gid());
        }
        if ft.is_dir() {
            e.typeflag = b'5';
            e.name.push(b'/');
        } else if ft.is_symlink() {
            e.typeflag = b'2';
            e.linkname = fs::read_link(path)
                .ctx(format!("reading symlink {}", path.display()))?
                .into_os_string()
                .into_vec();
        } else if ft.is_char_device() || ft.is_block_device() {
            e.typeflag = if ft.is_char_device() { b'3' } else { b'4' };
            (e.devmajor, e.devminor) = header_device_numbers(md.rdev());
        } else if ft.is_fifo() {
            e.typeflag = b'6';
        } else if ft.is_file() {
            e.typeflag = b'0';
            e.size = md.size();
        } else {
            return Ok(None); // sockets are not archived
        }
        if !ft.is_dir() && md.nlink() > 1 {
            match self.inodes.get(&(md.dev(), md.ino())) {
                Some(first) => {
                    e.typeflag = b'1';
                    e.linkname = first.clone();
                    e.size = 0;
                }
                None => {
                    self.inodes.insert((md.dev(), md.ino()), name.to_vec());
                }
            }
        }
        let style = self.style;
        e.xattrs = pax_xattrs::exported(path)
            .into_iter()
            .filter(|(k, _)| style.exports_xattr(k))
            .collect();
        Ok(Some(e))
    }

    fn translate_ids(&self, e: &mut TarEntry, path: &Path) -> Result<()> {
        let unmapped = |what: &str, id: u32| {
            Error::invalid(format!(
                "{} of {} is {id}, which the layer's ID map does not cover",
                what,
                path.display()
            ))
        };
        e.uid = to_container(self.uid_map, e.uid).ok_or_else(|| unmapped("owner", e.uid))?;
        e.gid = to_container(self.gid_map, e.gid).ok_or_else(|| unmapped("group", e.gid))?;
        Ok(())
    }

    /// Write `e` and, for regular files, the content of `path` (exactly `e.size` bytes).
    fn write(&mut self, e: &TarEntry, path: &Path) -> Result<()> {
        let write_err = |err: io::Error| Error::io("writing the layer tar", err);
        write_header(&mut self.out, e).map_err(write_err)?;
        if e.typeflag == b'0' && e.size > 0 {
            let mut file = fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(path)
                .ctx(format!("opening {}", path.display()))?;
            let mut left = e.size;
            while left > 0 {
                let want = self.buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                let n =
                    file.read(&mut self.buf[..want]).ctx(format!("reading {}", path.display()))?;
                if n == 0 {
                    return Err(Error::io(
                        format!("reading {}", path.display()),
                        io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "file shrank while being exported",
                        ),
                    ));
                }
                self.out.write_all(&self.buf[..n]).map_err(write_err)?;
                left -= n as u64;
            }
            write_padding(&mut self.out, e.size).map_err(write_err)?;
        }
        Ok(())
    }

    fn finish(mut self) -> Result<()> {
        write_end(&mut self.out).map_err(|e| Error::io("writing the layer tar", e))?;
        self.out.flush().map_err(|e| Error::io("writing the layer tar", e))
    }
}

/// Write the diff from `parent` (absent = empty) to `layer` as a tar, by comparing the trees
/// (ONDISK.md 7/8): changed and added paths as entries, deleted ones as `.wh.<name>` entries
/// (mode 0, owner 0 without names, time now), owners translated host -> container through the
/// layer's maps, headers and change rules as `style`'s c/storage writes them.
pub fn export_naive_diff(
    parent: Option<&Path>,
    layer: &Path,
    uid_map: &[IdMap],
    gid_map: &[IdMap],
    style: ExportStyle,
    out: &mut dyn Write,
) -> Result<()> {
    export_naive_diff_with_maps(parent, layer, OwnerMaps::same(uid_map, gid_map), style, out)
}

/// [`export_naive_diff`] where the parent's tree has ID maps of its own (`maps`).
pub fn export_naive_diff_with_maps(
    parent: Option<&Path>,
    layer: &Path,
    maps: OwnerMaps<'_>,
    style: ExportStyle,
    out: &mut dyn Write,
) -> Result<()> {
    let (uid_map, gid_map) = (maps.uid_map, maps.gid_map);
    let changes = raw_changes(parent, layer, maps, style)?;
    // Go's tar writer rounds the whiteouts' time.Now() to the nearest second.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| (d.as_secs() + u64::from(d.subsec_nanos() >= 500_000_000)) as i64);
    let mut adder = TarAdder::new(out, uid_map, gid_map, style);
    for change in changes {
        let rel = &change.path[1..];
        if change.kind == ChangeKind::Delete {
            let split = rel.iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1);
            let name = [&rel[..split], WHITEOUT_PREFIX, &rel[split..]].concat();
            let e = TarEntry { name, typeflag: b'0', mtime: now, ..TarEntry::default() };
            adder.write(&e, layer)?;
            continue;
        }
        let path = layer.join(OsStr::from_bytes(rel));
        let md = fs::symlink_metadata(&path).ctx(format!("inspecting {}", path.display()))?;
        if let Some(mut e) = adder.entry_for(&path, rel, &md)? {
            adder.translate_ids(&mut e, &path)?;
            adder.write(&e, &path)?;
        }
    }
    adder.finish()
}

/// Write an overlay layer's own changes as a tar from its upper dir (overlay "native diff"):
/// 0/0 character devices become `.wh.<name>` entries (keeping their owner and time, mode 0),
/// directories marked opaque are followed by `<dir>/.wh..wh..opq` when some lower layer has
/// that directory. `lowers` are the parent layers' diff dirs, nearest first. Headers as
/// `style`'s c/storage writes them.
pub fn export_overlay_diff(
    upper: &Path,
    lowers: &[PathBuf],
    uid_map: &[IdMap],
    gid_map: &[IdMap],
    style: ExportStyle,
    out: &mut dyn Write,
) -> Result<()> {
    let mut adder = TarAdder::new(out, uid_map, gid_map, style);
    walk_overlay(&mut adder, upper, b"", lowers)?;
    adder.finish()
}

fn sorted_children(dir: &Path) -> Result<Vec<(Vec<u8>, PathBuf, fs::Metadata)>> {
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir).ctx(format!("reading directory {}", dir.display()))? {
        let entry = entry.ctx(format!("reading directory {}", dir.display()))?;
        let md = entry.metadata().ctx(format!("inspecting {}", entry.path().display()))?;
        entries.push((entry.file_name().as_bytes().to_vec(), entry.path(), md));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(entries)
}

fn walk_overlay(
    adder: &mut TarAdder<'_, '_>,
    dir: &Path,
    rel: &[u8],
    lowers: &[PathBuf],
) -> Result<()> {
    for (name, path, md) in sorted_children(dir)? {
        let child_rel = if rel.is_empty() { name.clone() } else { [rel, b"/", &name].concat() };
        let Some(mut e) = adder.entry_for(&path, &child_rel, &md)? else { continue };
        let whiteout = is_whiteout_device(&md);
        if whiteout {
            // Written by us or the kernel with host owners already; not translated.
            let split = child_rel.iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1);
            e.name = [&child_rel[..split], WHITEOUT_PREFIX, &child_rel[split..]].concat();
            e.typeflag = b'0';
            e.mode = 0;
            e.size = 0;
            e.devmajor = 0;
            e.devminor = 0;
            e.linkname.clear();
        } else {
            adder.translate_ids(&mut e, &path)?;
        }
        adder.write(&e, &path)?;
        if md.is_dir() {
            let opaque = pax_xattrs::get(&path, super::apply::OVERLAY_OPAQUE_XATTR)
                .is_some_and(|v| v == b"y");
            if opaque && hides_a_lower_directory(&child_rel, lowers) {
                // Inherits the directory's permission bits and owner, names included.
                let marker = TarEntry {
                    name: [&child_rel[..], b"/", WHITEOUT_OPAQUE].concat(),
                    typeflag: b'0',
                    mode: e.mode & 0o777,
                    uid: e.uid,
                    gid: e.gid,
                    uname: e.uname.clone(),
                    gname: e.gname.clone(),
                    mtime: 0,
                    ..TarEntry::default()
                };
                adder.write(&marker, &path)?;
            }
            walk_overlay(adder, &path, &child_rel, lowers)?;
        }
    }
    Ok(())
}

/// Whether the opaque directory `rel` of an upper dir hides something of its lowers, so that
/// an opaque marker must delete it (c/storage's overlayWhiteoutConverter): the lowers are
/// searched nearest first; the first that has `rel` (symlinks followed, as Go's os.Stat) says
/// yes, unless that is a whiteout; one where `rel` or a directory above it is whited out says
/// no, the directory having been new in some layer above.
fn hides_a_lower_directory(rel: &[u8], lowers: &[PathBuf]) -> bool {
    for lower in lowers {
        if let Ok(md) = fs::metadata(lower.join(OsStr::from_bytes(rel))) {
            return !is_whiteout_device(&md);
        }
        let mut at = rel;
        while let Some(i) = at.iter().rposition(|&b| b == b'/') {
            at = &at[..i];
            if fs::metadata(lower.join(OsStr::from_bytes(at))).is_ok_and(|m| is_whiteout_device(&m))
            {
                return false;
            }
        }
    }
    false
}

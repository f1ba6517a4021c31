//! The content checks of `Store::check`, as c/storage 1.57's check.go makes them:
//!
//! * the layer's diff, regenerated from its tar-split and files (or by the driver), must have
//!   the recorded uncompressed digest and size (LayerDigests: a changed, missing or re-owned
//!   file, a changed xattr or symlink target all change it);
//! * the layer must mount (LayerMountable);
//! * full mode only: the mounted tree must be exactly what the diffs of the layer and its
//!   parents describe (LayerContents), which also finds files added beside the recorded ones.
//!   Each departure is one line, worded as c/storage words it (`-/a/removed`, `+/added`,
//!   `/changed(size:3￫4,mode:0644￫0600)`).

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, BufReader, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::diffs::DiffCompression;
use super::Store;
use crate::archive::chunk_pipe::{chunk_pipe, ChunkWriter};
use crate::archive::tar_reader::{Header, Kind, TarReader};
use crate::digest::DigestingReader;
use crate::driver::MountOptions;
use crate::error::Result;
use crate::idmap::{to_container, IdMap};
use crate::record::Layer;

/// A tar entry reduced to what c/storage compares (its checkFileInfo).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FileInfo {
    typeflag: u8,
    uid: i64,
    gid: i64,
    size: i64,
    mode: u32,
    mtime: i64,
}

/// The headers of one layer's diff: what check.go keeps of a diff to rebuild the tree.
pub(super) type DiffHeaders = Vec<(Vec<u8>, Vec<u8>, FileInfo)>;

/// What regenerating a layer's diff gave: its digest and length, and its headers (name, hard
/// link target, attributes).
pub(super) struct RegeneratedDiff {
    pub digest: String,
    pub size: i64,
    pub headers: DiffHeaders,
}

const TYPE_REG: u8 = b'0';
const TYPE_LINK: u8 = b'1';
const TYPE_DIR: u8 = b'5';
const WHITEOUT_PREFIX: &str = ".wh.";
const WHITEOUT_OPAQUE: &str = ".wh..wh..opq";

impl Store {
    /// Regenerate `layer`'s diff against `parent` (its parent's record; uncompressed) and read
    /// it back: digest, size and headers. Writing runs on its own thread, so nothing is held in
    /// memory but a few chunks. `go_on` is asked every few megabytes whether to continue; when
    /// it says no, reading stops with an error (the caller knows why).
    pub(super) fn regenerate_diff(
        &self,
        layer: &Layer,
        parent: Option<&Layer>,
        tar_split: &Path,
        go_on: &mut dyn FnMut() -> bool,
    ) -> Result<RegeneratedDiff> {
        let (sender, reader) = chunk_pipe();
        std::thread::scope(|scope| {
            let writer = scope.spawn(move || {
                let mut out = ChunkWriter::new(sender);
                self.write_diff(layer, tar_split, parent, DiffCompression::Uncompressed, &mut out)?;
                out.finish().map_err(|e| crate::Error::io("regenerating the diff", e))
            });
            let read = read_diff(Interruptible { inner: reader, go_on, unasked: 0 });
            let written = writer.join().unwrap_or_else(|_| {
                Err(crate::Error::io(
                    "regenerating the diff",
                    io::Error::other("the writer panicked"),
                ))
            });
            // The writer's error explains a reader's error (a missing file ends the stream).
            written?;
            read
        })
    }

    /// Mount `layer` read-only (or use its existing mount), and run `look` on the mount point.
    /// A mount made here is undone; one that was there is left alone.
    pub(super) fn with_mounted_layer<R>(
        &self,
        layer: &Layer,
        mounted_at: Option<&str>,
        look: impl FnOnce(&Path) -> R,
    ) -> Result<R> {
        if let Some(path) = mounted_at.filter(|p| self.driver.is_mounted(&layer.id, Path::new(p))) {
            return Ok(look(Path::new(path)));
        }
        let options = MountOptions {
            mount_label: &layer.mount_label,
            options: &[],
            read_only: true,
            uid_map: &[],
            gid_map: &[],
            volatile: false,
        };
        let path: PathBuf = self.driver.mount(&layer.id, &options)?;
        let result = look(&path);
        self.driver.unmount(&layer.id)?;
        Ok(result)
    }
}

/// How many bytes of a diff are read between two questions to `Interruptible::go_on`.
const ASK_EVERY_BYTES: u64 = 8 << 20;

/// A reader that stops, with an error, once `go_on` says so.
struct Interruptible<'a, R> {
    inner: R,
    go_on: &'a mut dyn FnMut() -> bool,
    /// Bytes read since `go_on` was last asked.
    unasked: u64,
}

impl<R: Read> Read for Interruptible<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.unasked >= ASK_EVERY_BYTES {
            self.unasked = 0;
            if !(self.go_on)() {
                // (Not ErrorKind::Interrupted: readers retry that.)
                return Err(io::Error::other("stopped by the caller"));
            }
        }
        let n = self.inner.read(buf)?;
        self.unasked += n as u64;
        Ok(n)
    }
}

fn read_diff(input: impl Read) -> Result<RegeneratedDiff> {
    let mut tar = TarReader::new(BufReader::with_capacity(1 << 16, DigestingReader::new(input)));
    let mut headers = Vec::new();
    while let Some(h) = tar.next_entry()? {
        headers.push((h.name.clone(), h.linkname.clone(), file_info(h)));
        tar.raw().clear();
    }
    // Whatever follows the end blocks counts too (it is part of the recorded digest).
    let mut rest = tar.into_inner();
    io::copy(&mut rest, &mut io::sink())
        .map_err(|e| crate::Error::io("reading the regenerated diff", e))?;
    let digester = rest.into_inner().into_inner().1;
    Ok(RegeneratedDiff { digest: digester.digest(), size: digester.count() as i64, headers })
}

fn file_info(h: &Header) -> FileInfo {
    let typeflag = match h.kind {
        Kind::Regular => TYPE_REG,
        Kind::Dir => TYPE_DIR,
        _ => h.typeflag,
    };
    let size = match &h.sparse {
        Some(sparse) => sparse.real_size as i64,
        None => h.size as i64,
    };
    FileInfo {
        typeflag,
        uid: h.uid as i64,
        gid: h.gid as i64,
        size,
        mode: h.mode,
        mtime: h.mtime.sec,
    }
}

/// A tree as c/storage's checkDirectory: subdirectories and other entries by name.
#[derive(Debug, Clone)]
pub(super) struct CheckDirectory {
    dirs: BTreeMap<String, CheckDirectory>,
    files: BTreeMap<String, FileInfo>,
    info: FileInfo,
}

impl CheckDirectory {
    fn new(info: FileInfo) -> Self {
        CheckDirectory {
            dirs: BTreeMap::new(),
            files: BTreeMap::new(),
            info: FileInfo { typeflag: TYPE_DIR, ..info },
        }
    }

    fn defaults() -> Self {
        CheckDirectory::new(FileInfo {
            typeflag: TYPE_DIR,
            uid: 0,
            gid: 0,
            size: 0,
            mode: 0o555,
            mtime: crate::timestamp::Timestamp::now().unix_nanos() / 1_000_000_000,
        })
    }

    fn add(&mut self, components: &[&str], mut info: FileInfo) {
        if info.typeflag != TYPE_REG {
            info.size = 0;
        }
        match components {
            [] => {
                self.info = FileInfo { typeflag: TYPE_DIR, size: self.info.size, ..info };
                // (c/storage keeps the root's size and type as they were.)
            }
            [name] => match info.typeflag {
                TYPE_DIR => {
                    self.files.remove(*name);
                    match self.dirs.get_mut(*name) {
                        Some(dir) => dir.info = info,
                        None => {
                            self.dirs.insert(name.to_string(), CheckDirectory::new(info));
                        }
                    }
                }
                b'g' => {}
                _ => {
                    self.dirs.remove(*name);
                    self.files.insert(name.to_string(), info);
                }
            },
            [first, rest @ ..] => self
                .dirs
                .entry(first.to_string())
                .or_insert_with(|| CheckDirectory::new(info))
                .add(rest, info),
        }
    }

    fn remove(&mut self, components: &[&str]) {
        match components {
            [] => {}
            [name] => {
                self.dirs.remove(*name);
                self.files.remove(*name);
            }
            [first, rest @ ..] => {
                if let Some(dir) = self.dirs.get_mut(*first) {
                    dir.remove(rest);
                }
            }
        }
    }

    fn lookup_file(&self, components: &[&str]) -> Option<FileInfo> {
        let mut dir = self;
        for component in components {
            if *component == "." || *component == ".." {
                continue;
            }
            if let Some(sub) = dir.dirs.get(*component) {
                dir = sub;
                continue;
            }
            return dir.files.get(*component).copied();
        }
        None
    }

    fn header(&mut self, name: &[u8], linkname: &[u8], mut info: FileInfo) {
        let name = clean(&String::from_utf8_lossy(name));
        let components = split(&name);
        let (dir, base) = match components.split_last() {
            Some((base, dir)) => (dir, *base),
            None => (&[][..], ""),
        };
        if let Some(file) = base.strip_prefix(WHITEOUT_PREFIX) {
            if base == WHITEOUT_OPAQUE {
                self.remove(dir);
                self.add(dir, FileInfo { typeflag: TYPE_DIR, ..info });
            } else {
                let mut target: Vec<&str> = dir.to_vec();
                target.push(file);
                self.remove(&target);
            }
            return;
        }
        if info.typeflag == TYPE_LINK {
            let link = clean(&String::from_utf8_lossy(linkname));
            if let Some(target) = self.lookup_file(&split(&link)) {
                info = target;
            }
        }
        self.add(&components, info);
    }

    /// Apply a layer's headers in c/storage's order: other entries before hard links; within a
    /// directory, whiteouts (the opaque one first) before what they precede.
    fn headers(&mut self, headers: &DiffHeaders) {
        let mut sorted: Vec<&(Vec<u8>, Vec<u8>, FileInfo)> = headers.iter().collect();
        sorted.sort_by(|a, b| header_order(a, b));
        for (name, link, info) in sorted {
            self.header(name, link, *info);
        }
    }

    /// The tree under `root` as it is, walked without following symlinks.
    fn from_directory(root: &Path) -> io::Result<Self> {
        let mut tree = CheckDirectory::defaults();
        let meta = fs::symlink_metadata(root)?;
        tree.add(&[], info_of(&meta));
        walk(root, &mut Vec::new(), &mut tree)?;
        Ok(tree)
    }
}

fn walk(dir: &Path, at: &mut Vec<String>, tree: &mut CheckDirectory) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let meta = match fs::symlink_metadata(entry.path()) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        at.push(name);
        let components: Vec<&str> = at.iter().map(String::as_str).collect();
        tree.add(&components, info_of(&meta));
        if meta.is_dir() {
            walk(&entry.path(), at, tree)?;
        }
        at.pop();
    }
    Ok(())
}

/// What Go's tar.FileInfoHeader makes of a file's metadata.
fn info_of(meta: &fs::Metadata) -> FileInfo {
    let kind = meta.mode() & libc::S_IFMT;
    let typeflag = match kind {
        libc::S_IFDIR => TYPE_DIR,
        libc::S_IFLNK => b'2',
        libc::S_IFCHR => b'3',
        libc::S_IFBLK => b'4',
        libc::S_IFIFO => b'6',
        libc::S_IFSOCK => 0,
        _ => TYPE_REG,
    };
    let size = if typeflag == TYPE_REG { meta.size() as i64 } else { 0 };
    FileInfo {
        typeflag,
        uid: meta.uid() as i64,
        gid: meta.gid() as i64,
        size,
        mode: meta.mode() & 0o7777,
        mtime: meta.mtime(),
    }
}

fn header_order(
    a: &(Vec<u8>, Vec<u8>, FileInfo),
    b: &(Vec<u8>, Vec<u8>, FileInfo),
) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    let (a_link, b_link) = (a.2.typeflag == TYPE_LINK, b.2.typeflag == TYPE_LINK);
    if !a_link && b_link {
        return Less;
    }
    if a_link && !b_link {
        return Greater;
    }
    let (a_dir, a_file) = split_dir(&a.0);
    let (b_dir, b_file) = split_dir(&b.0);
    if a_dir != b_dir {
        return a.0.cmp(&b.0);
    }
    if a_file == WHITEOUT_OPAQUE.as_bytes()
        || (a_file.starts_with(WHITEOUT_PREFIX.as_bytes())
            && !b_file.starts_with(WHITEOUT_PREFIX.as_bytes()))
    {
        return Less;
    }
    // (c/storage's comparison is not a strict order here; a stable sort keeps the rest as is.)
    Equal
}

/// Go's path.Split: everything up to and including the last slash, and the rest.
fn split_dir(name: &[u8]) -> (&[u8], &[u8]) {
    match name.iter().rposition(|&b| b == b'/') {
        Some(i) => (&name[..=i], &name[i + 1..]),
        None => (&[], name),
    }
}

/// Go's path.Clean, enough for archive names (no leading slash is kept meaningful here).
fn clean(name: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

fn split(name: &str) -> Vec<&str> {
    name.split('/').filter(|p| !p.is_empty() && *p != ".").collect()
}

/// What check.go ignores: owners when chown errors are ignored.
#[derive(Default, Clone, Copy)]
pub(super) struct Ignore {
    pub ownership: bool,
}

/// The mounted tree compared with what the diffs of the layer and its parents (base first)
/// describe: c/storage's list of departures, sorted as it sorts them.
pub(super) fn compare_contents(
    diffs: &[&DiffHeaders],
    mount_point: &Path,
    maps: Option<(&[IdMap], &[IdMap])>,
    ignore: Ignore,
) -> io::Result<Vec<String>> {
    let mut expected = CheckDirectory::defaults();
    for headers in diffs {
        expected.headers(headers);
    }
    let actual = CheckDirectory::from_directory(mount_point)?;
    let mut diff = Vec::new();
    compare_dirs("", Some(&expected), Some(&actual), maps, ignore, &mut diff);
    diff.sort_by(|a, b| {
        let (a_rest, b_rest) = (a.get(1..).unwrap_or(""), b.get(1..).unwrap_or(""));
        if a_rest < b_rest || a.starts_with('-') {
            std::cmp::Ordering::Less
        } else {
            std::cmp::Ordering::Greater
        }
    });
    Ok(diff)
}

fn compare_dirs(
    path: &str,
    a: Option<&CheckDirectory>,
    b: Option<&CheckDirectory>,
    maps: Option<(&[IdMap], &[IdMap])>,
    ignore: Ignore,
    diff: &mut Vec<String>,
) {
    let defaults = CheckDirectory::defaults();
    let a = a.unwrap_or(&defaults);
    let b = b.unwrap_or(&defaults);
    for (name, a_dir) in &a.dirs {
        match b.dirs.get(name) {
            None => {
                diff.push(format!("-{path}/{name}/"));
                compare_dirs(&format!("{path}/{name}"), Some(a_dir), None, maps, ignore, diff);
            }
            Some(b_dir) => {
                let attributes = compare_info(&a_dir.info, &b_dir.info, maps, ignore);
                if !attributes.is_empty() {
                    diff.push(format!("{path}/{name}({attributes})"));
                }
                compare_dirs(
                    &format!("{path}/{name}"),
                    Some(a_dir),
                    Some(b_dir),
                    maps,
                    ignore,
                    diff,
                );
            }
        }
    }
    for (name, b_dir) in &b.dirs {
        if !a.dirs.contains_key(name) {
            diff.push(format!("+{path}/{name}/"));
            compare_dirs(&format!("{path}/{name}"), None, Some(b_dir), maps, ignore, diff);
        }
    }
    for (name, a_file) in &a.files {
        match b.files.get(name) {
            None => diff.push(format!("-{path}/{name}")),
            Some(b_file) => {
                let attributes = compare_info(a_file, b_file, maps, ignore);
                if !attributes.is_empty() {
                    diff.push(format!("{path}/{name}({attributes})"));
                }
            }
        }
    }
    for (name, b_file) in &b.files {
        match a.files.get(name) {
            None => diff.push(format!("+{path}/{name}")),
            Some(a_file) => {
                // (c/storage reports a changed file twice: once from each side.)
                let attributes = compare_info(a_file, b_file, maps, ignore);
                if !attributes.is_empty() {
                    diff.push(format!("+{path}/{name}({attributes})"));
                }
            }
        }
    }
}

/// c/storage's compareFileInfo; `b` is the mounted file, its owner mapped back into the
/// layer's ID space when the layer's files were re-owned for its maps.
fn compare_info(
    a: &FileInfo,
    b: &FileInfo,
    maps: Option<(&[IdMap], &[IdMap])>,
    ignore: Ignore,
) -> String {
    let mut out = Vec::new();
    if a.typeflag != b.typeflag {
        out.push(format!("filetype:{}￫{}", a.typeflag, b.typeflag));
    }
    let (mut uid, mut gid) = (b.uid, b.gid);
    if let Some((uid_map, gid_map)) = maps.filter(|(u, g)| !u.is_empty() || !g.is_empty()) {
        match (to_container(uid_map, uid as u32), to_container(gid_map, gid as u32)) {
            (Some(u), Some(g)) => (uid, gid) = (u as i64, g as i64),
            _ => return format!("container ID pair for host ID {}:{} is not mapped", b.uid, b.gid),
        }
    }
    if a.uid != uid && !ignore.ownership {
        out.push(format!("uid:{}￫{}", a.uid, uid));
    }
    if a.gid != gid && !ignore.ownership {
        out.push(format!("gid:{}￫{}", a.gid, gid));
    }
    if a.size != b.size {
        out.push(format!("size:{}￫{}", a.size, b.size));
    }
    if a.mode & 0o777 != b.mode & 0o777 {
        out.push(format!("mode:{:04o}￫{:04o}", go_file_mode(a.mode), go_file_mode(b.mode)));
    }
    if a.mtime != b.mtime {
        out.push(format!("mtime:0x{:x}￫0x{:x}", a.mtime, b.mtime));
    }
    out.join(",")
}

/// Go prints os.FileMode(hdr.Mode) with %04o: the permission bits, and the setuid, setgid and
/// sticky bits as they are in a tar header.
fn go_file_mode(mode: u32) -> u32 {
    mode & 0o7777
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(typeflag: u8, size: i64, mode: u32) -> FileInfo {
        FileInfo { typeflag, uid: 0, gid: 0, size, mode, mtime: 1 }
    }

    #[test]
    fn whiteouts_remove_and_opaque_directories_empty_what_lower_diffs_made() {
        let base: DiffHeaders = vec![
            (b"a/".to_vec(), vec![], info(TYPE_DIR, 0, 0o755)),
            (b"a/x".to_vec(), vec![], info(TYPE_REG, 3, 0o644)),
            (b"b".to_vec(), vec![], info(TYPE_REG, 1, 0o644)),
        ];
        let upper: DiffHeaders = vec![
            (b"a/.wh..wh..opq".to_vec(), vec![], info(TYPE_REG, 0, 0o755)),
            (b"a/y".to_vec(), vec![], info(TYPE_REG, 2, 0o600)),
            (b".wh.b".to_vec(), vec![], info(TYPE_REG, 0, 0)),
            (b"c".to_vec(), b"a/y".to_vec(), info(TYPE_LINK, 0, 0)),
        ];
        let mut tree = CheckDirectory::defaults();
        tree.headers(&base);
        tree.headers(&upper);
        let a = &tree.dirs["a"];
        assert_eq!(a.files.keys().collect::<Vec<_>>(), ["y"]);
        assert!(!tree.files.contains_key("b"));
        assert_eq!(
            tree.files["c"],
            info(TYPE_REG, 2, 0o600),
            "a hard link takes its target's attributes"
        );
    }

    #[test]
    fn departures_are_worded_as_c_storage_words_them() {
        let a = info(TYPE_REG, 3, 0o644);
        let b = FileInfo { size: 4, mode: 0o600, uid: 5, ..a };
        assert_eq!(
            compare_info(&a, &b, None, Ignore::default()),
            "uid:0￫5,size:3￫4,mode:0644￫0600"
        );
        assert_eq!(
            compare_info(&a, &b, None, Ignore { ownership: true }),
            "size:3￫4,mode:0644￫0600"
        );
    }
}

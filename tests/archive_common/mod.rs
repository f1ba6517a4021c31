//! Helpers shared by the archive integration tests (included with `#[path]`; as a test crate of
//! its own it has no tests).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "cstorage-archive-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
    pub fn join(&self, p: &str) -> PathBuf {
        self.0.join(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A target `root/` with a sibling `outside/` holding one sentinel file; `outside_intact` checks
/// that nothing was added to, removed from or changed in the sibling or the parent.
pub struct Sandbox {
    pub dir: TempDir,
    pub root: PathBuf,
    pub outside: PathBuf,
}

impl Sandbox {
    pub fn new(tag: &str) -> Self {
        let dir = TempDir::new(tag);
        let root = dir.join("root");
        let outside = dir.join("outside");
        fs::create_dir(&root).unwrap();
        fs::create_dir(&outside).unwrap();
        fs::write(outside.join("sentinel"), b"untouched").unwrap();
        Sandbox { dir, root, outside }
    }

    pub fn assert_outside_intact(&self) {
        let mut top: Vec<_> =
            fs::read_dir(self.dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        top.sort();
        assert_eq!(top, vec!["outside", "root"], "something was created next to the target");
        let inside: Vec<_> =
            fs::read_dir(&self.outside).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(inside, vec!["sentinel"], "the sibling directory changed");
        assert_eq!(fs::read(self.outside.join("sentinel")).unwrap(), b"untouched");
        assert!(!Path::new("/tmp/cstorage-evil-outside").exists());
    }
}

pub fn sh(cmd: &str) -> String {
    let out = Command::new("sh").arg("-c").arg(cmd).output().unwrap();
    assert!(out.status.success(), "{cmd}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// "sha256:<hex>" of a file, computed by sha256sum.
pub fn sha256sum(path: &Path) -> String {
    let out = sh(&format!("sha256sum '{}'", path.display()));
    format!("sha256:{}", out.split_whitespace().next().unwrap())
}

/// Hand-made tar archives, for hostile or unusual input GNU tar would not produce.
#[derive(Default)]
pub struct TarBuilder {
    pub bytes: Vec<u8>,
}

pub fn header(
    name: &[u8],
    typeflag: u8,
    size: u64,
    link: &[u8],
    mode: u32,
    uid: u32,
    gid: u32,
) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[..name.len().min(100)].copy_from_slice(&name[..name.len().min(100)]);
    let octal = |h: &mut [u8; 512], at: usize, len: usize, v: u64| {
        let s = format!("{:0width$o}", v, width = len - 1);
        h[at..at + len - 1].copy_from_slice(s.as_bytes());
    };
    octal(&mut h, 100, 8, mode as u64);
    octal(&mut h, 108, 8, uid as u64);
    octal(&mut h, 116, 8, gid as u64);
    octal(&mut h, 124, 12, size);
    octal(&mut h, 136, 12, 1_700_000_000);
    h[156] = typeflag;
    h[157..157 + link.len().min(100)].copy_from_slice(&link[..link.len().min(100)]);
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    fix_checksum(&mut h);
    h
}

pub fn fix_checksum(h: &mut [u8; 512]) {
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| b as u32).sum();
    let s = format!("{:06o}\0 ", sum);
    h[148..156].copy_from_slice(s.as_bytes());
}

impl TarBuilder {
    pub fn raw_entry(&mut self, h: [u8; 512], data: &[u8]) -> &mut Self {
        self.bytes.extend_from_slice(&h);
        self.bytes.extend_from_slice(data);
        let pad = (512 - data.len() % 512) % 512;
        self.bytes.extend(vec![0u8; pad]);
        self
    }
    pub fn file(&mut self, name: &str, data: &[u8]) -> &mut Self {
        self.raw_entry(header(name.as_bytes(), b'0', data.len() as u64, b"", 0o644, 0, 0), data)
    }
    pub fn file_owned(&mut self, name: &str, data: &[u8], uid: u32, gid: u32) -> &mut Self {
        self.raw_entry(header(name.as_bytes(), b'0', data.len() as u64, b"", 0o644, uid, gid), data)
    }
    pub fn dir(&mut self, name: &str) -> &mut Self {
        self.raw_entry(header(name.as_bytes(), b'5', 0, b"", 0o755, 0, 0), b"")
    }
    pub fn symlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.raw_entry(header(name.as_bytes(), b'2', 0, target.as_bytes(), 0o777, 0, 0), b"")
    }
    pub fn hardlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.raw_entry(header(name.as_bytes(), b'1', 0, target.as_bytes(), 0o644, 0, 0), b"")
    }
    /// A PAX extended header applying `records` to the next entry.
    pub fn pax(&mut self, records: &[(&str, &[u8])]) -> &mut Self {
        let mut data = Vec::new();
        for (k, v) in records {
            let body_len = 1 + k.len() + 1 + v.len() + 1;
            let mut len = body_len + 1;
            while len.to_string().len() + body_len != len {
                len += 1;
            }
            data.extend_from_slice(format!("{len} {k}=").as_bytes());
            data.extend_from_slice(v);
            data.push(b'\n');
        }
        self.raw_entry(header(b"PaxHeaders/x", b'x', data.len() as u64, b"", 0o644, 0, 0), &data)
    }
    /// End blocks plus padding to a 10 KiB record, as GNU tar writes.
    pub fn finish(&mut self) -> Vec<u8> {
        self.bytes.extend_from_slice(&[0u8; 1024]);
        while self.bytes.len() % 10240 != 0 {
            self.bytes.push(0);
        }
        std::mem::take(&mut self.bytes)
    }
}

/// A description of a tree for comparison: per relative path, type, mode, owner, size, content
/// hash or link target, rdev, mtime seconds (for non-directories), user xattrs.
pub fn describe_tree(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut inodes: BTreeMap<u64, String> = BTreeMap::new();
    walk(root, root, &mut out, &mut inodes);
    out
}

fn walk(
    root: &Path,
    dir: &Path,
    out: &mut BTreeMap<String, String>,
    inodes: &mut BTreeMap<u64, String>,
) {
    let mut entries: Vec<_> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
        let md = fs::symlink_metadata(&p).unwrap();
        let ft = md.file_type();
        let mut d = format!("mode={:o} uid={} gid={}", md.mode(), md.uid(), md.gid());
        if ft.is_file() {
            let content = fs::read(&p).unwrap();
            d += &format!(" size={} sum={}", md.len(), cstorage::digest::sha256_of(&content));
            if md.nlink() > 1 {
                let first = inodes.entry(md.ino()).or_insert_with(|| rel.clone());
                d += &format!(" linkgroup={first}");
            }
        } else if ft.is_symlink() {
            d += &format!(" -> {}", fs::read_link(&p).unwrap().display());
        } else if ft.is_char_device() || ft.is_block_device() {
            d += &format!(" rdev={:x}", md.rdev());
        }
        if !ft.is_dir() {
            d += &format!(" mtime={}", md.mtime());
        }
        let x: Vec<String> = xattrs(&p)
            .into_iter()
            .filter(|(k, _)| k.starts_with("user.") || k.starts_with("trusted.overlay.opaque"))
            .map(|(k, v)| format!("{k}={}", String::from_utf8_lossy(&v)))
            .collect();
        if !x.is_empty() {
            d += &format!(" xattrs={}", x.join(","));
        }
        out.insert(rel, d);
        if ft.is_dir() {
            walk(root, &p, out, inodes);
        }
    }
}

/// All xattrs of a path (not following a final symlink), sorted by name.
pub fn xattrs(path: &Path) -> Vec<(String, Vec<u8>)> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    let mut names = vec![0u8; 65536];
    // SAFETY: `c` is NUL-terminated and `names` a live buffer of the length passed.
    let n = unsafe { libc::llistxattr(c.as_ptr(), names.as_mut_ptr().cast(), names.len()) };
    if n <= 0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    for name in names[..n as usize].split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let cname = std::ffi::CString::new(name).unwrap();
        let mut value = vec![0u8; 65536];
        // SAFETY: both names are NUL-terminated and `value` a live buffer of the length passed.
        let len = unsafe {
            libc::lgetxattr(c.as_ptr(), cname.as_ptr(), value.as_mut_ptr().cast(), value.len())
        };
        if len >= 0 {
            value.truncate(len as usize);
            out.push((String::from_utf8_lossy(name).into_owned(), value));
        }
    }
    out.sort();
    out
}

pub fn set_xattr(path: &Path, name: &str, value: &[u8]) {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    let n = std::ffi::CString::new(name).unwrap();
    // SAFETY: both names are NUL-terminated and `value` is live for the call.
    let r =
        unsafe { libc::lsetxattr(c.as_ptr(), n.as_ptr(), value.as_ptr().cast(), value.len(), 0) };
    assert_eq!(r, 0, "setxattr {name} on {}: {}", path.display(), std::io::Error::last_os_error());
}

/// Rebuild a tar from a tar-split stream and the extracted files (independently of the
/// library's exporter), checking each file's CRC.
pub fn reassemble(tar_split_gz: &[u8], root: &Path) -> Vec<u8> {
    use cstorage::archive::tarsplit::{Entry, TarSplitReader};
    use std::os::unix::ffi::OsStrExt;
    let mut r = TarSplitReader::new(tar_split_gz);
    let mut out = Vec::new();
    while let Some(e) = r.next_entry().unwrap() {
        match e {
            Entry::Segment(bytes) => out.extend_from_slice(&bytes),
            Entry::File { name, size, crc } => {
                if size == 0 {
                    continue;
                }
                let data = fs::read(root.join(std::ffi::OsStr::from_bytes(&name))).unwrap();
                assert_eq!(data.len() as u64, size);
                assert_eq!(Some(crc::Crc::<u64>::new(&crc::CRC_64_GO_ISO).checksum(&data)), crc);
                out.extend_from_slice(&data);
            }
        }
    }
    out
}

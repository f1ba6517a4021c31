//! Reading an OCI image layout directory: `oci-layout`, `index.json` and `blobs/<alg>/<hex>`.
//!
//! Every name is opened relative to the layout's directory descriptor, one component at a
//! time with O_NOFOLLOW, and blob names come from validated digests: a symlinked `blobs`,
//! algorithm directory or blob, or a digest that would name a path outside, is refused with
//! `UnsafeLayoutPath` instead of being followed. Blobs must be regular files whose size is the
//! descriptor's; their contents are checked against the digest as they are read.

use std::ffi::CString;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use super::manifest::{bad_layout, Descriptor};
use crate::digest::Digester;
use crate::error::{Error, ErrorKind, IoContext, Result};
use crate::sys;

/// JSON documents (index, manifests, configs) larger than this are refused rather than read
/// into memory; real ones are a few KiB.
pub const MAX_DOCUMENT: u64 = 16 << 20;

pub struct Layout {
    dir: OwnedFd,
    path: PathBuf,
}

/// A blob opened for reading, its size already checked against its descriptor.
pub struct Blob {
    pub file: File,
    pub size: u64,
    pub digest: String,
}

impl Layout {
    /// Open the layout at `path` (the directory itself may be a symlink: the caller chose it).
    pub fn open(path: &Path) -> Result<Layout> {
        let dir =
            File::open(path).ctx(format_args!("opening the image layout {}", path.display()))?;
        if !dir.metadata().ctx(format_args!("reading {}", path.display()))?.is_dir() {
            return Err(bad_layout(format!("{} is not a directory", path.display())));
        }
        let layout = Layout { dir: dir.into(), path: path.to_path_buf() };
        let version = layout.read_document("oci-layout")?;
        let marker: serde_json::Value = super::manifest::parse(&version, "oci-layout")?;
        if marker.get("imageLayoutVersion").and_then(|v| v.as_str()).is_none() {
            return Err(bad_layout(format!(
                "{}/oci-layout has no imageLayoutVersion",
                path.display()
            )));
        }
        Ok(layout)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `index.json`, as bytes.
    pub fn index_bytes(&self) -> Result<Vec<u8>> {
        self.read_document("index.json")
    }

    /// A top-level file of the layout, not a symlink, at most MAX_DOCUMENT bytes.
    fn read_document(&self, name: &str) -> Result<Vec<u8>> {
        let fd =
            open_component(self.dir.as_fd(), name, libc::O_RDONLY, &self.path).map_err(|e| {
                e.into_error(|| {
                    bad_layout(format!(
                        "{} has no {name}: not an OCI image layout",
                        self.path.display()
                    ))
                })
            })?;
        let file = regular_file(fd, &self.path.join(name))?;
        let mut bytes = Vec::new();
        file.take(MAX_DOCUMENT + 1)
            .read_to_end(&mut bytes)
            .ctx(format_args!("reading {}", self.path.join(name).display()))?;
        if bytes.len() as u64 > MAX_DOCUMENT {
            return Err(bad_layout(format!(
                "{} is larger than {MAX_DOCUMENT} bytes",
                self.path.join(name).display()
            )));
        }
        Ok(bytes)
    }

    /// Open the blob `descriptor` names, checking that it is a regular file of the size the
    /// descriptor gives (a shorter one is truncated, `BlobSizeMismatch`).
    pub fn open_blob(&self, descriptor: &Descriptor) -> Result<Blob> {
        let (algorithm, hex) = blob_name(&descriptor.digest)?;
        if descriptor.size < 0 {
            return Err(bad_layout(format!(
                "the descriptor of {} has the negative size {}",
                descriptor.digest, descriptor.size
            )));
        }
        let missing = || {
            Error::new(
                ErrorKind::BlobUnknown,
                format!(
                    "blob {} is missing from the image layout {}",
                    descriptor.digest,
                    self.path.display()
                ),
            )
        };
        let blobs = open_component(
            self.dir.as_fd(),
            "blobs",
            libc::O_RDONLY | libc::O_DIRECTORY,
            &self.path,
        )
        .map_err(|e| e.into_error(missing))?;
        let blobs_path = self.path.join("blobs");
        let alg_dir = open_component(
            blobs.as_fd(),
            algorithm,
            libc::O_RDONLY | libc::O_DIRECTORY,
            &blobs_path,
        )
        .map_err(|e| e.into_error(missing))?;
        let blob_path = blobs_path.join(algorithm).join(hex);
        let fd = open_component(alg_dir.as_fd(), hex, libc::O_RDONLY, &blobs_path.join(algorithm))
            .map_err(|e| e.into_error(missing))?;
        let file = regular_file(fd, &blob_path)?;
        let actual = file.metadata().ctx(format_args!("reading {}", blob_path.display()))?.len();
        let size = descriptor.size as u64;
        if actual != size {
            return Err(Error::new(
                ErrorKind::BlobSizeMismatch,
                format!(
                    "blob {} is {actual} bytes long, its descriptor says {size}",
                    descriptor.digest
                ),
            ));
        }
        Ok(Blob { file, size, digest: descriptor.digest.clone() })
    }

    /// A small blob (manifest, index, config), read whole and checked against its digest.
    pub fn read_blob(&self, descriptor: &Descriptor, what: &str) -> Result<Vec<u8>> {
        // A negative size is left to open_blob, which names it; cast, it would read as huge.
        if u64::try_from(descriptor.size).is_ok_and(|size| size > MAX_DOCUMENT) {
            return Err(bad_layout(format!(
                "the {what} {} is larger than {MAX_DOCUMENT} bytes",
                descriptor.digest
            )));
        }
        let blob = self.open_blob(descriptor)?;
        let mut bytes = Vec::with_capacity(blob.size as usize);
        let mut reader = VerifiedBlob::new(blob, true);
        reader.read_to_end(&mut bytes).map_err(|e| crate::archive::stream_error(e, what))?;
        Ok(bytes)
    }
}

/// A blob's bytes as they are read: never more than its size, and, when asked, its digest
/// checked when the end is reached (`DigestMismatch`), an early end being `BlobSizeMismatch`.
pub struct VerifiedBlob {
    blob: Blob,
    read: u64,
    digester: Option<Digester>,
}

impl VerifiedBlob {
    /// The blob back, to check it again after a failed import (see `check_digest`).
    pub fn into_blob(self) -> Blob {
        self.blob
    }

    /// `check_digest`: false when the consumer checks the digest itself (a layer import digests
    /// the raw stream anyway; hashing it twice would only cost time).
    pub fn new(blob: Blob, check_digest: bool) -> VerifiedBlob {
        VerifiedBlob { blob, read: 0, digester: check_digest.then(Digester::new) }
    }
}

impl Read for VerifiedBlob {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.blob.size - self.read;
        let want = buf.len().min(left.min(usize::MAX as u64) as usize);
        if want == 0 && !buf.is_empty() {
            if let Some(digester) = &self.digester {
                let actual = digester.digest();
                if actual != self.blob.digest {
                    let message = format!("blob {} has the digest {actual}", self.blob.digest);
                    return Err(crate::archive::carry_error(Error::new(
                        ErrorKind::DigestMismatch,
                        message,
                    )));
                }
            }
            return Ok(0);
        }
        let n = self.blob.file.read(&mut buf[..want])?;
        if n == 0 && want > 0 {
            let message = format!(
                "blob {} ended after {} of its {} bytes",
                self.blob.digest, self.read, self.blob.size
            );
            return Err(crate::archive::carry_error(Error::new(
                ErrorKind::BlobSizeMismatch,
                message,
            )));
        }
        self.read += n as u64;
        if let Some(digester) = self.digester.as_mut() {
            digester.update(&buf[..n]);
        }
        Ok(n)
    }
}

/// The directory and file name of a blob: `"sha256:<hex>"` gives `("sha256", "<hex>")`. A digest
/// that could name anything but one file two levels down is `UnsafeLayoutPath`; other
/// malformed ones `BadLayout`; algorithms other than sha256 `NotSupported`.
pub fn blob_name(digest: &str) -> Result<(&str, &str)> {
    let (algorithm, hex) =
        digest.split_once(':').ok_or_else(|| bad_layout(format!("invalid digest {digest:?}")))?;
    let unsafe_part =
        |p: &str| p.is_empty() || p == "." || p == ".." || p.contains('/') || p.contains('\0');
    if unsafe_part(algorithm) || unsafe_part(hex) {
        return Err(Error::new(
            ErrorKind::UnsafeLayoutPath,
            format!("the digest {digest:?} names a path outside the layout's blobs"),
        ));
    }
    crate::digest::validate(digest)
        .map_err(|_| bad_layout(format!("invalid digest {digest:?}")))?;
    if algorithm != "sha256" {
        return Err(Error::new(
            ErrorKind::NotSupported,
            format!("digest algorithm {algorithm:?} is not supported (only sha256)"),
        ));
    }
    Ok((algorithm, hex))
}

/// Why a component could not be opened: missing, a symlink (refused), or another failure.
enum OpenFailure {
    Missing,
    Symlink(PathBuf),
    Other(Error),
}

impl OpenFailure {
    fn into_error(self, missing: impl FnOnce() -> Error) -> Error {
        match self {
            OpenFailure::Missing => missing(),
            OpenFailure::Symlink(path) => Error::new(
                ErrorKind::UnsafeLayoutPath,
                format!(
                    "{} is a symlink; image layouts are read without following links",
                    path.display()
                ),
            ),
            OpenFailure::Other(e) => e,
        }
    }
}

/// openat(dir, name, O_NOFOLLOW | flags); a symlink is told apart from other failures.
fn open_component(
    dir: BorrowedFd<'_>,
    name: &str,
    flags: libc::c_int,
    dir_path: &Path,
) -> std::result::Result<OwnedFd, OpenFailure> {
    let path = dir_path.join(name);
    let c_name = CString::new(name)
        .map_err(|_| OpenFailure::Other(bad_layout(format!("{name:?} has a NUL byte"))))?;
    // O_NONBLOCK: a FIFO planted as a blob must not hang the open; `regular_file` refuses it.
    let flags = flags | libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK;
    let err = match sys::fs::openat(dir, &c_name, flags, 0) {
        Ok(fd) => return Ok(fd),
        Err(err) => err,
    };
    match err.raw_os_error() {
        Some(libc::ENOENT) => Err(OpenFailure::Missing),
        // O_NOFOLLOW on a symlink: ELOOP; with O_DIRECTORY some kernels say ENOTDIR.
        Some(libc::ELOOP) => Err(OpenFailure::Symlink(path)),
        Some(libc::ENOTDIR)
            if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) =>
        {
            Err(OpenFailure::Symlink(path))
        }
        _ => Err(OpenFailure::Other(Error::io(format_args!("opening {}", path.display()), err))),
    }
}

/// The descriptor as a blocking File, if it is a regular file.
fn regular_file(fd: OwnedFd, path: &Path) -> Result<File> {
    let file = File::from(fd);
    let meta = file.metadata().ctx(format_args!("reading {}", path.display()))?;
    if !meta.is_file() {
        return Err(Error::new(
            ErrorKind::UnsafeLayoutPath,
            format!("{} is not a regular file", path.display()),
        ));
    }
    if let Ok(flags) = sys::fs::status_flags(&file) {
        let _ = sys::fs::set_status_flags(&file, flags & !libc::O_NONBLOCK);
    }
    Ok(file)
}

impl Blob {
    /// Read the whole blob again and compare its digest: after an import failed on a layer,
    /// this tells a corrupt blob (`DigestMismatch`) from a well-formed blob of a bad tar.
    pub fn check_digest(mut self) -> Result<()> {
        use std::io::{Seek, SeekFrom};
        self.file.seek(SeekFrom::Start(0)).ctx("rewinding a blob")?;
        let mut reader = VerifiedBlob::new(self, true);
        std::io::copy(&mut reader, &mut std::io::sink())
            .map(drop)
            .map_err(|e| crate::archive::stream_error(e, "blob"))
    }
}

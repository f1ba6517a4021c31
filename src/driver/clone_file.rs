//! Copy one regular file's data into a new, empty file the cheapest way the file system allows:
//! `FICLONE` first (XFS with reflink=1, btrfs: the copy shares the source's extents and no data
//! is written), then `copy_file_range` (an in-kernel copy, no round trip through user space),
//! then plain reads and writes. A method the file system refuses is refused for every file of
//! the tree, so the first refusal is remembered and the other files go straight to the next
//! method instead of each paying a failed system call (what c/storage's copyRegular does too).
//!
//! Small files are cloned too, though on XFS a clone is several journal transactions (the
//! reflink flag, the extent's refcount, the new size). Measured on the minbase rootfs (issue 16:
//! 4,904 of its 5,329 files under 64 KiB, 38 MB), writing them instead saves no CPU time one can
//! tell from noise: the buffered write, the read of the source and the trim of the speculative
//! preallocation past the end on close cost about what the clone did; the data is then written
//! back after the copy (0.2-0.4 s of `sync` after four containers here), and each container
//! holds its own copy of those blocks where a clone shares them.

use std::fs::File;
use std::io;
use std::sync::atomic::{AtomicU8, Ordering};

use crate::sys;

/// The methods in the order they are tried; a tree's copier only ever moves down this list.
const CLONE: u8 = 0;
const COPY_RANGE: u8 = 1;
const READ_WRITE: u8 = 2;

/// Copies the data of the files of one tree; shareable between threads (the remembered method
/// is an atomic).
pub struct DataCopier {
    method: AtomicU8,
}

impl DataCopier {
    pub fn new() -> Self {
        DataCopier { method: AtomicU8::new(CLONE) }
    }

    /// Copy the `len` bytes of `src` (open for reading, at offset 0) into `dst` (new and empty,
    /// open for writing, at offset 0). `len` is the size the caller read from the source's
    /// inode: layers do not change while they are copied, so the copy stops there without
    /// asking the kernel once more whether the file grew.
    pub fn copy(&self, src: &File, dst: &File, len: u64) -> io::Result<()> {
        if len == 0 {
            return Ok(());
        }
        if self.method.load(Ordering::Relaxed) == CLONE {
            match sys::copy::ficlone(dst, src) {
                Ok(()) => return Ok(()),
                Err(err) if !clone_unsupported(&err) => return Err(err),
                Err(_) => self.give_up(COPY_RANGE),
            }
        }
        if self.method.load(Ordering::Relaxed) == COPY_RANGE {
            let mut copied = 0u64;
            while copied < len {
                let chunk = usize::try_from(len - copied).unwrap_or(usize::MAX).min(1 << 30);
                let err = match sys::copy::copy_file_range(src, dst, chunk) {
                    Ok(0) => {
                        // The file shrank under us: what is left to copy is nothing.
                        return Ok(());
                    }
                    Ok(n) => {
                        copied += n as u64;
                        continue;
                    }
                    Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                    Err(err) => err,
                };
                if !copy_range_unsupported(&err) {
                    return Err(err);
                }
                // Nothing was copied by this method on this file system (it refuses from the
                // first call); the plain copy goes on from the files' offsets either way.
                self.give_up(READ_WRITE);
                break;
            }
            if copied >= len {
                return Ok(());
            }
        }
        read_write(src, dst)
    }

    fn give_up(&self, next: u8) {
        self.method.fetch_max(next, Ordering::Relaxed);
    }
}

/// The last resort, by hand: `io::copy` between two files would try copy_file_range again.
fn read_write(mut src: &File, mut dst: &File) -> io::Result<()> {
    use std::io::{Read, Write};
    let mut buf = vec![0u8; 128 * 1024];
    loop {
        match src.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => dst.write_all(&buf[..n])?,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// The errors with which a file system says it cannot share extents (not that this file is
/// bad): no reflink support (EOPNOTSUPP: ext4, tmpfs, XFS without reflink=1; ENOTTY/ENOSYS: no
/// such ioctl), different file systems (EXDEV), or a layout it cannot clone (EINVAL).
fn clone_unsupported(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::EOPNOTSUPP | libc::EXDEV | libc::EINVAL | libc::ENOTTY | libc::ENOSYS)
    )
}

/// Likewise for copy_file_range: an old kernel (ENOSYS), a sandbox that forbids it (EPERM), or
/// a file system or pair of them it does not serve (EXDEV, EOPNOTSUPP, EINVAL).
fn copy_range_unsupported(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::ENOSYS | libc::EPERM | libc::EXDEV | libc::EOPNOTSUPP | libc::EINVAL)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::io::{Read, Seek};
    use std::os::unix::fs::MetadataExt;
    use std::path::Path;

    /// Between two file systems (tmpfs in /dev/shm, the temp dir's disk) FICLONE and
    /// copy_file_range both refuse (EXDEV): the data still arrives, by reads and writes, and the
    /// copier remembers that so the next file goes straight there.
    #[test]
    fn copies_across_file_systems_fall_back_to_read_write_and_remember_it() {
        let shm = Path::new("/dev/shm");
        let tmp = std::env::temp_dir();
        if !shm.is_dir() || fs::metadata(shm).unwrap().dev() == fs::metadata(&tmp).unwrap().dev() {
            eprintln!("skipping: /dev/shm and {} are not two file systems", tmp.display());
            return;
        }
        let tag = format!("cs-clone-file-{}", std::process::id());
        let (src_path, dst_path) = (shm.join(&tag), tmp.join(&tag));
        let data: Vec<u8> = (0..300_000u32).flat_map(|i| i.to_le_bytes()).collect();
        fs::write(&src_path, &data).unwrap();
        let copier = DataCopier::new();
        for _ in 0..2 {
            let src = File::open(&src_path).unwrap();
            let mut dst = fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&dst_path)
                .unwrap();
            copier.copy(&src, &dst, data.len() as u64).unwrap();
            assert_eq!(copier.method.load(Ordering::Relaxed), READ_WRITE);
            let mut copied = Vec::new();
            dst.rewind().unwrap();
            dst.read_to_end(&mut copied).unwrap();
            assert!(copied == data, "the copy has the source's {} bytes", data.len());
        }
        let _ = fs::remove_file(&src_path);
        let _ = fs::remove_file(&dst_path);
    }
}

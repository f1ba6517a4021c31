//! Replace a file atomically, as c/storage does for its JSON and big data: write a temporary
//! file in the same directory, flush it to disk, then rename it over the target. Readers see the
//! old file or the new one, never a half-written one, even after a crash.
//!
//! With `durable` (the store's `sync` option) the rename itself is made durable too: the
//! directory is synced after it, so the new file is still there after a power cut.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::error::{Error, IoContext, Result};
use crate::ids::{random_bytes, to_hex};

/// Write `data` to `path` atomically with permission bits `mode`.
pub fn write_atomic(path: &Path, data: &[u8], mode: u32, durable: bool) -> Result<()> {
    write_atomic_with(path, mode, durable, |f| f.write_all(data))
}

/// Like `write_atomic`, but the content is produced by `fill`, so large items can be streamed.
pub fn write_atomic_with(
    path: &Path,
    mode: u32,
    durable: bool,
    fill: impl FnOnce(&mut fs::File) -> std::io::Result<()>,
) -> Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| Error::invalid(format!("{} has no parent directory", path.display())))?;
    let base = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let mut suffix = [0u8; 6];
    random_bytes(&mut suffix);
    let tmp = dir.join(format!(".tmp-{base}{}", to_hex(&suffix)));

    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .custom_flags(libc::O_CLOEXEC)
            .open(&tmp)
            .ctx(format_args!("creating {}", tmp.display()))?;
        fill(&mut file).ctx(format_args!("writing {}", tmp.display()))?;
        file.sync_data().ctx(format_args!("syncing {}", tmp.display()))?;
        drop(file);
        fs::rename(&tmp, path).ctx(format_args!(
            "renaming {} to {}",
            tmp.display(),
            path.display()
        ))?;
        if durable {
            sync_dir(dir)?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// fsync a directory: what was renamed into it or created in it stays after a power cut.
pub fn sync_dir(dir: &Path) -> Result<()> {
    let file = fs::File::open(dir).ctx(format_args!("opening {}", dir.display()))?;
    file.sync_all().ctx(format_args!("syncing {}", dir.display()))
}

/// syncfs(2) the file system `path` is on: every file written there reaches the disk. On a
/// layer of 50,000 files this took 0.3 s where an fsync of each file and directory took 5-7 s
/// (ext4, see the README's figures), so layer contents are made durable this way.
pub fn sync_file_system(path: &Path) -> Result<()> {
    let file = fs::File::open(path).ctx(format_args!("opening {}", path.display()))?;
    crate::sys::fs::syncfs(&file).ctx(format_args!("syncing the file system of {}", path.display()))
}

//! Copy a directory tree exactly: modes, owners, times, extended attributes, symlinks, device
//! nodes, fifos and hardlink groups. vfs builds a child layer this way, optionally shifting the
//! owners from the parent's ID maps to the child's (c/storage's chowned copy).

use std::collections::HashMap;
use std::ffi::CString;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use crate::error::{Error, IoContext, Result};
use crate::idmap::{to_container, to_host, IdMap};
use crate::xattr;

/// Owners in the source are host IDs under `from` maps; in the copy they become host IDs under
/// `to` maps (via the container ID they both stand for).
pub struct OwnerShift<'a> {
    pub from_uids: &'a [IdMap],
    pub from_gids: &'a [IdMap],
    pub to_uids: &'a [IdMap],
    pub to_gids: &'a [IdMap],
}

impl OwnerShift<'_> {
    fn is_identity(&self) -> bool {
        self.from_uids == self.to_uids && self.from_gids == self.to_gids
    }

    fn shift(&self, uid: u32, gid: u32, path: &Path) -> Result<(u32, u32)> {
        let map = |id, from: &[IdMap], to: &[IdMap], what| {
            to_container(from, id).and_then(|c| to_host(to, c)).ok_or_else(|| {
                Error::invalid(format!("{}: {what} {id} is not covered by the layer's ID maps", path.display()))
            })
        };
        Ok((map(uid, self.from_uids, self.to_uids, "uid")?, map(gid, self.from_gids, self.to_gids, "gid")?))
    }
}

/// Copy the contents of `src` into the existing directory `dst` (whose own mode and owner the
/// caller has set), shifting owners if `shift` says so.
pub fn copy_tree(src: &Path, dst: &Path, shift: Option<&OwnerShift>) -> Result<()> {
    let shift = shift.filter(|s| !s.is_identity());
    let mut copier = Copier { shift, hardlinks: HashMap::new() };
    copier.copy_dir_contents(src, dst)?;
    let meta = fs::symlink_metadata(src).ctx(format_args!("reading {}", src.display()))?;
    copier.apply_metadata(src, dst, &meta, false)
}

struct Copier<'a> {
    shift: Option<&'a OwnerShift<'a>>,
    /// (dev, ino) of multiply-linked files already copied -> their copy, to link again.
    hardlinks: HashMap<(u64, u64), std::path::PathBuf>,
}

impl Copier<'_> {
    fn copy_dir_contents(&mut self, src: &Path, dst: &Path) -> Result<()> {
        for entry in fs::read_dir(src).ctx(format_args!("reading directory {}", src.display()))? {
            let entry = entry.ctx(format_args!("reading directory {}", src.display()))?;
            let from = entry.path();
            let to = dst.join(entry.file_name());
            let meta = fs::symlink_metadata(&from).ctx(format_args!("reading {}", from.display()))?;
            let ft = meta.file_type();

            if !ft.is_dir() && meta.nlink() > 1 {
                if let Some(first) = self.hardlinks.get(&(meta.dev(), meta.ino())) {
                    fs::hard_link(first, &to).ctx(format_args!("linking {}", to.display()))?;
                    continue;
                }
            }

            if ft.is_dir() {
                fs::create_dir(&to).ctx(format_args!("creating {}", to.display()))?;
                self.copy_dir_contents(&from, &to)?;
            } else if ft.is_file() {
                copy_file_data(&from, &to)?;
            } else if ft.is_symlink() {
                let target = fs::read_link(&from).ctx(format_args!("reading link {}", from.display()))?;
                std::os::unix::fs::symlink(&target, &to).ctx(format_args!("creating symlink {}", to.display()))?;
            } else if ft.is_block_device() || ft.is_char_device() || ft.is_fifo() || ft.is_socket() {
                let c = cpath(&to)?;
                // SAFETY: valid C string; mode and device number come from the source inode.
                if unsafe { libc::mknod(c.as_ptr(), meta.mode(), meta.rdev()) } != 0 {
                    return Err(Error::io(format_args!("creating node {}", to.display()), io::Error::last_os_error()));
                }
            }
            self.apply_metadata(&from, &to, &meta, ft.is_symlink())?;
            if !ft.is_dir() && meta.nlink() > 1 {
                self.hardlinks.insert((meta.dev(), meta.ino()), to);
            }
        }
        Ok(())
    }

    /// Owner, xattrs, mode and times, in that order: chown clears setuid bits, so mode comes
    /// after it, and times come last because the other calls touch ctime only.
    fn apply_metadata(&self, src: &Path, dst: &Path, meta: &fs::Metadata, is_symlink: bool) -> Result<()> {
        let (uid, gid) = match self.shift {
            Some(s) => s.shift(meta.uid(), meta.gid(), src)?,
            None => (meta.uid(), meta.gid()),
        };
        let c = cpath(dst)?;
        // SAFETY: valid C string.
        if unsafe { libc::lchown(c.as_ptr(), uid, gid) } != 0 {
            return Err(Error::io(format_args!("changing owner of {}", dst.display()), io::Error::last_os_error()));
        }
        xattr::copy(src, dst, |_| true)?;
        if !is_symlink {
            // SAFETY: valid C string.
            if unsafe { libc::chmod(c.as_ptr(), meta.mode() & 0o7777) } != 0 {
                return Err(Error::io(format_args!("changing mode of {}", dst.display()), io::Error::last_os_error()));
            }
        }
        let times = [
            libc::timespec { tv_sec: meta.atime(), tv_nsec: meta.atime_nsec() },
            libc::timespec { tv_sec: meta.mtime(), tv_nsec: meta.mtime_nsec() },
        ];
        // SAFETY: valid C string and a two-element timespec array.
        if unsafe { libc::utimensat(libc::AT_FDCWD, c.as_ptr(), times.as_ptr(), libc::AT_SYMLINK_NOFOLLOW) } != 0 {
            return Err(Error::io(format_args!("setting times of {}", dst.display()), io::Error::last_os_error()));
        }
        Ok(())
    }
}

/// Copy file data, letting the kernel share extents (reflink) or copy in-kernel where it can.
fn copy_file_data(from: &Path, to: &Path) -> Result<()> {
    fs::copy(from, to).ctx(format_args!("copying {} to {}", from.display(), to.display()))?;
    Ok(())
}

pub(crate) fn cpath(path: &Path) -> Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| Error::invalid(format!("path {} contains a NUL byte", path.display())))
}

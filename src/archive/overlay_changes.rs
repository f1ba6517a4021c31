//! Changes of an overlay layer read from its upper directory alone, as c/storage's
//! `archive.OverlayChanges` finds them (its overlay driver's Changes when the layer is compared
//! with its parent): the upper directory is walked in name order and each path is judged
//! against the lower layers' directories, top first.
//!
//! - A 0/0 character device is a deletion. So is an opaque directory when the first lower that
//!   has the path has it as something other than a whiteout, before any lower whites out a
//!   parent (the directory replaced one below).
//! - Anything else is an addition if the first lower that matters whites out the path or one
//!   of its parents (it was deleted below and is new here: a directory deleted in one layer
//!   and re-created in the next is added), or no lower has it; a modification if a lower has
//!   it, except a directory with the same size, mode and time as below, which is left out.
//! - An addition or deletion lists each parent not listed yet as a modification first.
//!
//! Lower paths are looked at with stat, following symlinks, as Go's os.Stat does.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use super::changes::{Change, ChangeKind};
use crate::error::{IoContext, Result};

/// The changes of the layer whose upper directory is `upper` over `lowers` (top first).
pub fn overlay_changes(upper: &Path, lowers: &[PathBuf]) -> Result<Vec<Change>> {
    let mut walk = UpperWalk { lowers, listed_dirs: HashSet::new(), out: Vec::new() };
    walk.dir(upper, b"")?;
    Ok(walk.out)
}

struct UpperWalk<'a> {
    lowers: &'a [PathBuf],
    /// Directories already in `out` (Go's changedDirs).
    listed_dirs: HashSet<Vec<u8>>,
    out: Vec<Change>,
}

/// A 0/0 character device: overlay's whiteout.
fn is_whiteout(md: &fs::Metadata) -> bool {
    md.file_type().is_char_device() && md.rdev() == 0
}

/// `rel` ("/etc/x") under `layer`, followed through symlinks; `None` if it cannot be stat'ed.
fn stat_in(layer: &Path, rel: &[u8]) -> Option<fs::Metadata> {
    fs::metadata(layer.join(OsStr::from_bytes(&rel[1..]))).ok()
}

/// The parents of `rel` ("/a/b/c": "/a/b", "/a"), without the root.
fn parents(rel: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut current = rel;
    std::iter::from_fn(move || {
        let cut = current.iter().rposition(|&b| b == b'/')?;
        current = &current[..cut];
        (!current.is_empty()).then_some(current)
    })
}

/// Whether `layer` has a whiteout at `rel` or at one of its parents.
fn whited_out_in(layer: &Path, rel: &[u8]) -> bool {
    std::iter::once(rel)
        .chain(parents(rel))
        .any(|p| stat_in(layer, p).is_some_and(|md| is_whiteout(&md)))
}

/// Go's sameFsTime, on two stats.
fn same_mtime(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    a.mtime() == b.mtime()
        && (a.mtime_nsec() == b.mtime_nsec() || a.mtime_nsec() == 0 || b.mtime_nsec() == 0)
}

impl UpperWalk<'_> {
    fn dir(&mut self, dir: &Path, rel: &[u8]) -> Result<()> {
        let mut names: Vec<_> = fs::read_dir(dir)
            .ctx(format_args!("reading {}", dir.display()))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<std::io::Result<_>>()
            .ctx(format_args!("reading {}", dir.display()))?;
        names.sort();
        for name in names {
            let path = dir.join(&name);
            let child: Vec<u8> = [rel, b"/", name.as_bytes()].concat();
            let md =
                fs::symlink_metadata(&path).ctx(format_args!("inspecting {}", path.display()))?;
            let kind = if self.deleted_here(&path, &child, &md) {
                Some(ChangeKind::Delete)
            } else {
                self.kind_against_lowers(&child, &md)
            };
            if let Some(kind) = kind {
                self.record(child.clone(), kind, md.is_dir());
            }
            if md.is_dir() {
                self.dir(&path, &child)?;
            }
        }
        Ok(())
    }

    /// Go's overlayDeletedFile.
    fn deleted_here(&self, path: &Path, rel: &[u8], md: &fs::Metadata) -> bool {
        if is_whiteout(md) {
            return true;
        }
        let opaque = md.is_dir()
            && super::pax_xattrs::get(path, super::apply::OVERLAY_OPAQUE_XATTR)
                .is_some_and(|v| v == b"y");
        if !opaque {
            return false;
        }
        for layer in self.lowers {
            if let Some(below) = stat_in(layer, rel) {
                return !is_whiteout(&below);
            }
            if parents(rel).any(|p| stat_in(layer, p).is_some_and(|md| is_whiteout(&md))) {
                return false;
            }
        }
        false
    }

    /// Add or Modify by what the lowers have at `rel`; `None` for a directory unchanged from
    /// the one below.
    fn kind_against_lowers(&self, rel: &[u8], md: &fs::Metadata) -> Option<ChangeKind> {
        for layer in self.lowers {
            if whited_out_in(layer, rel) {
                return Some(ChangeKind::Add);
            }
            if let Some(below) = stat_in(layer, rel) {
                let unchanged_dir = below.is_dir()
                    && md.is_dir()
                    && md.size() == below.size()
                    && md.mode() == below.mode()
                    && same_mtime(md, &below);
                return (!unchanged_dir).then_some(ChangeKind::Modify);
            }
        }
        Some(ChangeKind::Add)
    }

    /// Record a change; additions and deletions list their unlisted parents first.
    fn record(&mut self, rel: Vec<u8>, kind: ChangeKind, is_dir: bool) {
        if is_dir {
            self.listed_dirs.insert(rel.clone());
        }
        if kind != ChangeKind::Modify {
            let missing: Vec<Vec<u8>> = parents(&rel)
                .filter(|p| !self.listed_dirs.contains(*p))
                .map(<[u8]>::to_vec)
                .collect();
            for parent in missing.into_iter().rev() {
                self.listed_dirs.insert(parent.clone());
                self.out.push(Change {
                    path: String::from_utf8_lossy(&parent).into_owned(),
                    kind: ChangeKind::Modify,
                });
            }
        }
        self.out.push(Change { path: String::from_utf8_lossy(&rel).into_owned(), kind });
    }
}

#[cfg(test)]
mod tests {
    use super::parents;

    #[test]
    fn parents_stop_before_the_root() {
        assert_eq!(parents(b"/a/b/c").collect::<Vec<_>>(), vec![&b"/a/b"[..], b"/a"]);
        assert_eq!(parents(b"/a").count(), 0);
    }
}

//! Changes between a layer's directory and its parent's, by comparing the two trees the way
//! c/storage's `archive.ChangesDirs` does (used for vfs layers and for overlay when the native
//! diff cannot be used), and the size of such a diff.

use std::collections::{BTreeMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::export_style::ExportStyle;
use crate::error::{IoContext, Result};
use crate::idmap::IdMap;

/// Go's `archive.ChangeType` numbering.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    Modify = 0,
    Add = 1,
    Delete = 2,
}

/// One changed path, written as Go prints it: absolute within the layer ("/etc/passwd").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Change {
    pub path: String,
    pub kind: ChangeKind,
}

/// Raw-bytes form used internally (paths need not be UTF-8).
pub(crate) struct RawChange {
    pub path: Vec<u8>,
    pub kind: ChangeKind,
}

/// The ID maps of the two trees compared (c/storage's idMappings of each side of a naive
/// diff). Owners are compared as the container sees them, so a layer whose files were
/// re-owned for other maps than its parent's shows only what really changed; the layer's maps
/// also turn its owners into the container's in exports. Empty maps are the identity.
#[derive(Debug, Clone, Copy, Default)]
pub struct OwnerMaps<'a> {
    pub uid_map: &'a [IdMap],
    pub gid_map: &'a [IdMap],
    pub parent_uid_map: &'a [IdMap],
    pub parent_gid_map: &'a [IdMap],
}

impl<'a> OwnerMaps<'a> {
    /// The same maps on both sides.
    pub fn same(uid_map: &'a [IdMap], gid_map: &'a [IdMap]) -> Self {
        OwnerMaps { uid_map, gid_map, parent_uid_map: uid_map, parent_gid_map: gid_map }
    }

    /// Go's statDifferent: the layer's owner in container IDs if its maps cover it, and then
    /// the parent's through the parent's maps where they cover it; raw IDs otherwise.
    fn owners_differ(&self, old: &fs::Metadata, new: &fs::Metadata) -> bool {
        let in_container = |uids: &[IdMap], gids: &[IdMap], md: &fs::Metadata| {
            Some((
                crate::idmap::to_container(uids, md.uid())?,
                crate::idmap::to_container(gids, md.gid())?,
            ))
        };
        let raw = |md: &fs::Metadata| (md.uid(), md.gid());
        let (old_owner, new_owner) = match in_container(self.uid_map, self.gid_map, new) {
            Some(new_owner) => (
                in_container(self.parent_uid_map, self.parent_gid_map, old)
                    .unwrap_or_else(|| raw(old)),
                new_owner,
            ),
            None => (raw(old), raw(new)),
        };
        old_owner != new_owner
    }
}

/// The changes that turn `parent` (absent = empty) into `layer`, sorted by path, by the rules of
/// `style`'s c/storage. A directory with changes below it is reported as modified itself (so
/// its metadata is exported), a deleted directory only once at its top.
pub fn changes(
    parent: Option<&Path>,
    layer: &Path,
    maps: OwnerMaps<'_>,
    style: ExportStyle,
) -> Result<Vec<Change>> {
    Ok(raw_changes(parent, layer, maps, style)?
        .into_iter()
        .map(|c| Change { path: String::from_utf8_lossy(&c.path).into_owned(), kind: c.kind })
        .collect())
}

pub(crate) fn raw_changes(
    parent: Option<&Path>,
    layer: &Path,
    maps: OwnerMaps<'_>,
    style: ExportStyle,
) -> Result<Vec<RawChange>> {
    let mut out = Vec::new();
    let old = match parent {
        Some(p) => Some(fs::symlink_metadata(p).ctx(format!("inspecting {}", p.display()))?),
        None => None,
    };
    let new = fs::symlink_metadata(layer).ctx(format!("inspecting {}", layer.display()))?;
    let walk = Walk { style, maps };
    walk.compare_dir(
        parent.filter(|_| old.as_ref().is_some_and(|m| m.is_dir())),
        layer,
        &new,
        b"",
        false,
        &mut out,
    )?;
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

fn children(dir: &Path) -> Result<BTreeMap<OsString, fs::Metadata>> {
    let mut map = BTreeMap::new();
    for entry in fs::read_dir(dir).ctx(format!("reading directory {}", dir.display()))? {
        let entry = entry.ctx(format!("reading directory {}", dir.display()))?;
        let md = entry.metadata().ctx(format!("inspecting {}", entry.path().display()))?;
        map.insert(entry.file_name(), md);
    }
    Ok(map)
}

/// A file's capability; absent and empty are the same, as for Go's bytes.Equal.
fn capability(path: &Path) -> Vec<u8> {
    super::pax_xattrs::get(path, c"security.capability").unwrap_or_default()
}

/// The user.* xattrs of a path, which Go's walkchunk compares along with the capability.
fn user_xattrs(path: &Path) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    for name in crate::xattr::list(path).unwrap_or_default() {
        if name.to_bytes().starts_with(b"user.") {
            if let Some(value) = super::pax_xattrs::get(path, &name) {
                out.push((name.to_bytes().to_vec(), value));
            }
        }
    }
    out.sort();
    out
}

/// Go's `sameFsTimeSpec`: equal seconds and equal nanoseconds, or either side without
/// nanoseconds (a file extracted from a tar against the same file at full precision).
fn same_mtime(old: &fs::Metadata, new: &fs::Metadata) -> bool {
    old.mtime() == new.mtime()
        && (old.mtime_nsec() == new.mtime_nsec() || old.mtime_nsec() == 0 || new.mtime_nsec() == 0)
}

/// One comparison of two trees.
struct Walk<'a> {
    style: ExportStyle,
    maps: OwnerMaps<'a>,
}

impl Walk<'_> {
    /// Go's `statDifferent` plus the capability, user.* xattr and (1.57) symlink target
    /// comparisons of `addChanges`.
    fn differs(
        &self,
        old_path: &Path,
        old: &fs::Metadata,
        new_path: &Path,
        new: &fs::Metadata,
    ) -> bool {
        // Go tests the S_IFDIR bit alone, so block devices and sockets count as directories.
        let old_is_dir = old.mode() & libc::S_IFDIR == libc::S_IFDIR;
        let newer_rules = self.style.compares_dir_mtimes_and_link_targets();
        let stat_differs = old.mode() != new.mode()
            || self.maps.owners_differ(old, new)
            || old.rdev() != new.rdev()
            || ((newer_rules || !old_is_dir) && !same_mtime(old, new))
            || (!old_is_dir && old.size() != new.size());
        let target_differs = newer_rules
            && old.file_type().is_symlink()
            && new.file_type().is_symlink()
            && fs::read_link(old_path).ok() != fs::read_link(new_path).ok();
        stat_differs
            || capability(old_path) != capability(new_path)
            || target_differs
            || user_xattrs(old_path) != user_xattrs(new_path)
    }

    fn compare_dir(
        &self,
        old_dir: Option<&Path>,
        new_dir: &Path,
        new_md: &fs::Metadata,
        rel: &[u8],
        added: bool,
        out: &mut Vec<RawChange>,
    ) -> Result<()> {
        if !new_md.is_dir() {
            return Ok(());
        }
        let at_entry = out.len();
        let mut old_children = match old_dir {
            Some(d) => children(d)?,
            None => BTreeMap::new(),
        };
        for (name, md) in children(new_dir)? {
            let mut child_rel = rel.to_vec();
            child_rel.push(b'/');
            child_rel.extend_from_slice(name.as_bytes());
            let new_path = new_dir.join(&name);
            let old = old_children.remove(&name);
            let mut child_added = false;
            match &old {
                None => {
                    out.push(RawChange { path: child_rel.clone(), kind: ChangeKind::Add });
                    child_added = true;
                }
                Some(old_md) => {
                    let old_path = old_dir.expect("old child implies old dir").join(&name);
                    if self.differs(&old_path, old_md, &new_path, &md) {
                        out.push(RawChange { path: child_rel.clone(), kind: ChangeKind::Modify });
                        child_added = true;
                    }
                }
            }
            let old_child_dir = match (&old, old_dir) {
                (Some(old_md), Some(d)) if old_md.is_dir() => Some(d.join(&name)),
                _ => None,
            };
            self.compare_dir(
                old_child_dir.as_deref(),
                &new_path,
                &md,
                &child_rel,
                child_added,
                out,
            )?;
        }
        for name in old_children.keys() {
            let mut child_rel = rel.to_vec();
            child_rel.push(b'/');
            child_rel.extend_from_slice(name.as_bytes());
            out.push(RawChange { path: child_rel, kind: ChangeKind::Delete });
        }
        if out.len() > at_entry && !added && !rel.is_empty() {
            out.insert(at_entry, RawChange { path: rel.to_vec(), kind: ChangeKind::Modify });
        }
        Ok(())
    }
}

/// The size of the diff from `parent` to `layer` as `style`'s c/storage reports it for naive
/// diffs: the sizes of added or modified non-directories, each hardlinked inode counted once.
pub fn diff_size(
    parent: Option<&Path>,
    layer: &Path,
    maps: OwnerMaps<'_>,
    style: ExportStyle,
) -> Result<u64> {
    let mut seen = HashSet::new();
    let mut size = 0;
    for c in
        raw_changes(parent, layer, maps, style)?.iter().filter(|c| c.kind != ChangeKind::Delete)
    {
        let path = layer.join(OsStr::from_bytes(&c.path[1..]));
        let Ok(md) = fs::symlink_metadata(&path) else { continue };
        if md.is_dir() || (md.nlink() > 1 && !seen.insert(md.ino())) {
            continue;
        }
        size += md.size();
    }
    Ok(size)
}

/// Bytes under `dir` (lstat sizes of all but directories), each hardlinked inode counted once; 0 when `dir`
/// does not exist (Go's directory.Size, which c/storage uses for overlay diffs and container
/// directories).
pub fn disk_usage(dir: &Path) -> Result<u64> {
    let mut seen = HashSet::new();
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        let md = match fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(crate::Error::io(format_args!("reading {}", path.display()), e)),
        };
        if md.is_dir() {
            for entry in fs::read_dir(&path).ctx(format_args!("reading {}", path.display()))? {
                stack.push(entry.ctx(format_args!("reading {}", path.display()))?.path());
            }
        } else if md.nlink() == 1 || seen.insert((md.dev(), md.ino())) {
            // Everything but directories counts with its lstat size, as c/storage's
            // directory.Size: a symlink by its target's length, devices and whiteouts by 0.
            total += md.size();
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_kinds_use_go_numbering() {
        assert_eq!(ChangeKind::Modify as i32, 0);
        assert_eq!(ChangeKind::Add as i32, 1);
        assert_eq!(ChangeKind::Delete as i32, 2);
    }
}

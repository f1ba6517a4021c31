//! `copy [--chown UID[:GID]] [layer:]/path... layer:/path`: copy files or directories into a
//! layer, possibly out of another layer. Layers are mounted for the copy and released after.
//!
//! As with the Go tool's tar-based copy: a directory's contents are merged into the target
//! directory (created with the source directory's mode), a file replaces the target path,
//! modes, modification times and the extended attributes Go's tar carries (`user.*` and
//! `security.capability`) are kept, owners are kept (translated through the layers' ID maps)
//! unless --chown gives one for everything.

use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use cstorage::idmap::{to_container, to_host};
use cstorage::{IdMap, Layer, Store};

use crate::args::FlagSet;
use crate::invocation::{json_flag, Invocation};

pub fn add_flags(f: &mut FlagSet) {
    f.text(&["-chown"], "", "Set owner on new copies");
    json_flag(f);
}

pub fn copy(inv: &Invocation) -> i32 {
    let chown = match parse_chown(inv.flags.get_text("-chown")) {
        Ok(owner) => owner,
        Err(message) => {
            errln!("{message}");
            return 1;
        }
    };
    let mut mounts = Mounts { store: inv.store, layers: Vec::new() };
    let (target_spec, sources) = inv.args.split_last().expect("copy takes at least two arguments");
    let (target, target_layer) = match mounts.resolve(target_spec) {
        Ok(resolved) => resolved,
        Err(message) => {
            errln!("{message}");
            return 1;
        }
    };
    for source_spec in sources {
        let (source, source_layer) = match mounts.resolve(source_spec) {
            Ok(resolved) => resolved,
            Err(message) => {
                errln!("{message}");
                return 1;
            }
        };
        let owners = Owners {
            chown,
            from_uids: source_layer.as_ref().map(|l| l.uid_map.clone()).unwrap_or_default(),
            from_gids: source_layer.as_ref().map(|l| l.gid_map.clone()).unwrap_or_default(),
            to_uids: target_layer.as_ref().map(|l| l.uid_map.clone()).unwrap_or_default(),
            to_gids: target_layer.as_ref().map(|l| l.gid_map.clone()).unwrap_or_default(),
        };
        if let Err(e) = copy_path(&source, &target, &owners) {
            errln!(
                "error copying {:?} to {:?}: {e}",
                source.display().to_string(),
                target.display().to_string()
            );
            return 1;
        }
    }
    0
}

/// "UID" or "UID:GID", numeric.
fn parse_chown(text: &str) -> Result<Option<(u32, u32)>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    let (uid, gid) = text.split_once(':').unwrap_or((text, text));
    let number = |n: &str, what| {
        n.parse::<u32>().map_err(|_| format!("--chown {text:?}: {n:?} is not a numeric {what}"))
    };
    Ok(Some((number(uid, "UID")?, number(gid, "GID")?)))
}

/// Layers mounted for this copy; each mount is released when the copy ends.
struct Mounts<'a> {
    store: &'a Store,
    layers: Vec<String>,
}

impl Mounts<'_> {
    /// "layer:/path" -> the path inside the mounted layer; a plain path stays as it is.
    fn resolve(&mut self, spec: &str) -> Result<(PathBuf, Option<Layer>), String> {
        let Some((layer_key, path)) = spec.split_once(':') else {
            return Ok((PathBuf::from(spec), None));
        };
        let layer = self
            .store
            .layer(layer_key)
            .map_err(|e| format!("error finding layer {layer_key:?}: {e}"))?;
        let root = self
            .store
            .mount(&layer.id, &layer.mount_label, &[])
            .map_err(|e| format!("error mounting layer {:?}: {e}", layer.id))?;
        self.layers.push(layer.id.clone());
        let relative = relative_inside(path);
        refuse_symlinks_on_the_way(&root, &relative)?;
        Ok((root.join(relative), Some(layer)))
    }
}

impl Drop for Mounts<'_> {
    fn drop(&mut self) {
        for id in self.layers.drain(..) {
            let _ = self.store.unmount(&id, false);
        }
    }
}

/// `path` taken relative to a layer's root, with `..` unable to climb out of it.
fn relative_inside(path: &str) -> PathBuf {
    let mut out = PathBuf::new();
    for component in Path::new(path).components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

/// A symlink in the layer could point anywhere on the host (the Go tool resolves paths in a
/// chroot of the layer instead); refuse to go through one rather than write outside the layer.
fn refuse_symlinks_on_the_way(root: &Path, relative: &Path) -> Result<(), String> {
    let mut path = root.to_path_buf();
    for component in relative.components() {
        path.push(component);
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(format!(
                    "{} is a symbolic link inside the layer; copy to the path it points to instead",
                    path.display()
                ))
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    Ok(())
}

/// How owners change on the way: a fixed owner, or the source layer's container IDs mapped to
/// the target layer's host IDs.
struct Owners {
    chown: Option<(u32, u32)>,
    from_uids: Vec<IdMap>,
    from_gids: Vec<IdMap>,
    to_uids: Vec<IdMap>,
    to_gids: Vec<IdMap>,
}

impl Owners {
    fn for_copy_of(&self, meta: &fs::Metadata) -> (u32, u32) {
        let (uid, gid) = match self.chown {
            Some(owner) => owner,
            None => (
                to_container(&self.from_uids, meta.uid()).unwrap_or(meta.uid()),
                to_container(&self.from_gids, meta.gid()).unwrap_or(meta.gid()),
            ),
        };
        (to_host(&self.to_uids, uid).unwrap_or(uid), to_host(&self.to_gids, gid).unwrap_or(gid))
    }
}

fn copy_path(source: &Path, target: &Path, owners: &Owners) -> io::Result<()> {
    let meta = fs::metadata(source).map_err(|e| annotate(e, "stat", source))?;
    let mut copier = Copier { owners, hardlinks: HashMap::new() };
    if meta.is_dir() {
        copier.copy_dir(source, target, &meta)
    } else {
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|e| annotate(e, "mkdir", parent))?;
        }
        copier.copy_entry(source, target, &meta)
    }
}

fn annotate(e: io::Error, operation: &str, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{operation} {}: {e}", path.display()))
}

struct Copier<'a> {
    owners: &'a Owners,
    /// Multiply-linked source files already copied, to link again instead of copying.
    hardlinks: HashMap<(u64, u64), PathBuf>,
}

impl Copier<'_> {
    /// Merge the directory `source` into `target`.
    fn copy_dir(&mut self, source: &Path, target: &Path, meta: &fs::Metadata) -> io::Result<()> {
        match fs::symlink_metadata(target) {
            Ok(existing) if existing.is_dir() => {}
            Ok(_) => {
                return Err(annotate(io::Error::from_raw_os_error(libc::ENOTDIR), "mkdir", target))
            }
            Err(_) => fs::create_dir_all(target).map_err(|e| annotate(e, "mkdir", target))?,
        }
        for entry in fs::read_dir(source).map_err(|e| annotate(e, "open", source))? {
            let entry = entry?;
            let from = entry.path();
            let to = target.join(entry.file_name());
            let entry_meta =
                fs::symlink_metadata(&from).map_err(|e| annotate(e, "lstat", &from))?;
            if entry_meta.is_dir() {
                self.copy_dir(&from, &to, &entry_meta)?;
            } else {
                self.copy_entry(&from, &to, &entry_meta)?;
            }
        }
        self.apply_metadata(source, target, meta)
    }

    /// Copy one non-directory, replacing whatever is at `target`.
    fn copy_entry(&mut self, source: &Path, target: &Path, meta: &fs::Metadata) -> io::Result<()> {
        match fs::symlink_metadata(target) {
            Ok(existing) if existing.is_dir() => fs::remove_dir_all(target)?,
            Ok(_) => fs::remove_file(target)?,
            Err(_) => {}
        }
        if meta.nlink() > 1 {
            if let Some(first) = self.hardlinks.get(&(meta.dev(), meta.ino())) {
                return fs::hard_link(first, target);
            }
            self.hardlinks.insert((meta.dev(), meta.ino()), target.to_path_buf());
        }
        let file_type = meta.file_type();
        if file_type.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(source)?, target)?;
        } else if file_type.is_file() {
            fs::copy(source, target).map_err(|e| annotate(e, "copy", source))?;
        } else if file_type.is_block_device() || file_type.is_char_device() || file_type.is_fifo() {
            let path = CString::new(target.as_os_str().as_bytes())?;
            // SAFETY: path is a valid NUL-terminated string.
            if unsafe {
                libc::mknod(path.as_ptr(), meta.mode() as libc::mode_t, meta.rdev() as libc::dev_t)
            } != 0
            {
                return Err(annotate(io::Error::last_os_error(), "mknod", target));
            }
        } else {
            // Sockets cannot be copied; tar skips them too.
            return Ok(());
        }
        self.apply_metadata(source, target, meta)
    }

    /// Owner, xattrs, mode and modification time of `target` from `source` and its `meta`.
    fn apply_metadata(&self, source: &Path, target: &Path, meta: &fs::Metadata) -> io::Result<()> {
        let (uid, gid) = self.owners.for_copy_of(meta);
        std::os::unix::fs::lchown(target, Some(uid), Some(gid))
            .map_err(|e| annotate(e, "lchown", target))?;
        // The xattrs the Go tool's tar-based copy carries; after chown, which drops
        // security.capability.
        let carried =
            |name: &CStr| name.to_bytes().starts_with(b"user.") || name == c"security.capability";
        cstorage::xattr::copy(source, target, carried)
            .map_err(|e| io::Error::other(e.to_string()))?;
        if meta.file_type().is_symlink() {
            return Ok(());
        }
        // After chown, which clears setuid/setgid bits.
        fs::set_permissions(target, fs::Permissions::from_mode(meta.mode() & 0o7777))?;
        let times = [
            libc::timespec { tv_sec: meta.atime(), tv_nsec: meta.atime_nsec() },
            libc::timespec { tv_sec: meta.mtime(), tv_nsec: meta.mtime_nsec() },
        ];
        let path = CString::new(target.as_os_str().as_bytes())?;
        // SAFETY: path is NUL-terminated and times points to two timespecs.
        if unsafe { libc::utimensat(libc::AT_FDCWD, path.as_ptr(), times.as_ptr(), 0) } != 0 {
            return Err(annotate(io::Error::last_os_error(), "utimes", target));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chown_takes_one_or_two_numbers() {
        assert_eq!(parse_chown("").unwrap(), None);
        assert_eq!(parse_chown("7").unwrap(), Some((7, 7)));
        assert_eq!(parse_chown("5:6").unwrap(), Some((5, 6)));
        assert!(parse_chown("x").is_err());
    }

    #[test]
    fn paths_stay_inside_the_layer() {
        assert_eq!(relative_inside("/a/../../b/./c/"), PathBuf::from("b/c"));
    }
}

//! `copy [--chown UID[:GID]] [layer:]/path... layer:/path`: copy files or directories into a
//! layer, possibly out of another layer. Layers are mounted for the copy and released after.
//!
//! As with the Go tool's tar-based copy: a directory's contents are merged into the target
//! directory (created with the source directory's mode), a file replaces the target path,
//! modes, modification times and the extended attributes Go's tar carries (`user.*` and
//! `security.capability`) are kept, owners are kept (translated through the layers' ID maps)
//! unless --chown gives one for everything.

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use cstorage::driver::{
    copy_entry, copy_tree, Cause, CopyError, CopyPolicy, OwnerMapping, OwnerShift, Step,
    XattrFilter,
};
use cstorage::idmap::to_host;
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
        let (from_uids, from_gids) = id_maps(source_layer.as_ref());
        let (to_uids, to_gids) = id_maps(target_layer.as_ref());
        let shift = OwnerShift { from_uids, from_gids, to_uids, to_gids };
        if let Err(e) = copy_path(&source, &target, &go_tool_policy(chown, shift)) {
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

/// A layer's uid and gid maps; none for a path outside any layer.
fn id_maps(layer: Option<&Layer>) -> (&[IdMap], &[IdMap]) {
    layer.map_or((&[], &[]), |l| (&l.uid_map, &l.gid_map))
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

/// The Go tool's tar-based copy, in the shared copier's terms: merged into what is at the
/// target, owners translated from the source layer's maps to the target layer's (an ID a map
/// does not cover passes unchanged) or all set by --chown, only the xattrs tar carries, no
/// sockets (tar has none), no times on symlinks, and a source given as a symlink followed.
fn go_tool_policy<'a>(chown: Option<(u32, u32)>, shift: OwnerShift<'a>) -> CopyPolicy<'a> {
    let owners = match chown {
        Some((uid, gid)) => OwnerMapping::Fixed {
            uid: to_host(shift.to_uids, uid).unwrap_or(uid),
            gid: to_host(shift.to_gids, gid).unwrap_or(gid),
        },
        None => OwnerMapping::Translate(shift),
    };
    CopyPolicy {
        owners,
        // The xattrs the Go tool's tar-based copy carries.
        xattrs: XattrFilter::Only(|name| {
            name.to_bytes().starts_with(b"user.") || name == c"security.capability"
        }),
        merge: true,
        follow_root_symlink: true,
        sockets: false,
        symlink_times: false,
    }
}

fn copy_path(source: &Path, target: &Path, policy: &CopyPolicy) -> io::Result<()> {
    let meta = fs::metadata(source).map_err(|e| annotate(e, "stat", source))?;
    if meta.is_dir() {
        // Merge into the target directory, made (with any missing parents) if need be.
        match fs::symlink_metadata(target) {
            Ok(existing) if existing.is_dir() => {}
            Ok(_) => {
                return Err(annotate(io::Error::from_raw_os_error(libc::ENOTDIR), "mkdir", target))
            }
            Err(_) => fs::create_dir_all(target).map_err(|e| annotate(e, "mkdir", target))?,
        }
        copy_tree(source, target, policy).map_err(go_tool_error)
    } else {
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|e| annotate(e, "mkdir", parent))?;
        }
        copy_entry(source, target, policy).map_err(go_tool_error)
    }
}

/// A failed step worded as this command always worded it: the Go tool's operation names
/// ("lstat", "mkdir", "copy", ...) where it named one, else the bare cause.
fn go_tool_error(e: CopyError) -> io::Error {
    let (operation, path) = match e.step {
        Step::OpenSourceDir => ("open", &e.from),
        Step::ReadSource => ("lstat", &e.from),
        Step::MakeDir => ("mkdir", &e.to),
        Step::OpenSourceFile | Step::CreateFile | Step::CopyData => ("copy", &e.from),
        Step::MakeNode => ("mknod", &e.to),
        Step::ChangeOwner => ("lchown", &e.to),
        Step::ListXattrs => ("listing xattrs of", &e.from),
        Step::SetTimes => ("utimes", &e.to),
        _ => {
            return match e.cause {
                Cause::Os(err) => err,
                Cause::Core(err) => io::Error::other(err.to_string()),
            }
        }
    };
    match e.cause {
        Cause::Os(err) => annotate(err, operation, path),
        Cause::Core(err) => io::Error::other(err.to_string()),
    }
}

fn annotate(e: io::Error, operation: &str, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{operation} {}: {e}", path.display()))
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
    fn chown_names_a_container_id_of_the_target_layer() {
        let to = [IdMap { container_id: 0, host_id: 1000, size: 100 }];
        let shift = OwnerShift { from_uids: &[], from_gids: &[], to_uids: &to, to_gids: &to };
        let policy = go_tool_policy(Some((5, 600)), shift);
        assert!(
            matches!(policy.owners, OwnerMapping::Fixed { uid: 1005, gid: 600 }),
            "5 is mapped, 600 is outside the maps and stays"
        );
        assert!(policy.merge && policy.follow_root_symlink);
        assert!(!policy.sockets && !policy.symlink_times);
        let XattrFilter::Only(carried) = policy.xattrs else { panic!("tar carries only some") };
        assert!(carried(c"user.x") && carried(c"security.capability"));
        assert!(!carried(c"trusted.x") && !carried(c"security.selinux"));
    }

    #[test]
    fn failures_are_worded_with_the_go_tools_operations() {
        let dir = std::env::temp_dir().join(format!("cs-cli-copy-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let (source, target) = (dir.join("src"), dir.join("target"));
        fs::create_dir_all(source.join("sub")).unwrap();
        fs::create_dir_all(&target).unwrap();
        fs::write(target.join("sub"), b"a file where the source has a directory\n").unwrap();
        let none = OwnerShift { from_uids: &[], from_gids: &[], to_uids: &[], to_gids: &[] };
        let policy = go_tool_policy(None, none);
        let nested = copy_path(&source, &target, &policy).unwrap_err().to_string();
        let missing = copy_path(&dir.join("missing"), &target, &policy).unwrap_err().to_string();
        let _ = fs::remove_dir_all(&dir);
        let sub = target.join("sub");
        assert_eq!(nested, format!("mkdir {}: Not a directory (os error 20)", sub.display()));
        let gone = dir.join("missing");
        assert_eq!(
            missing,
            format!("stat {}: No such file or directory (os error 2)", gone.display())
        );
    }

    #[test]
    fn paths_stay_inside_the_layer() {
        assert_eq!(relative_inside("/a/../../b/./c/"), PathBuf::from("b/c"));
    }
}

//! Layers whose uid/gid maps differ from their parent's.
//!
//! Two ways exist to show a layer's files owned under other ID maps, and c/storage uses both:
//! where overlay accepts ID-mapped lower directories (Linux 5.19+; probed), a container with
//! its own maps keeps an unshifted layer and every mount shifts the lowers through an
//! ID-mapped view (mod.rs, `mount_spec`) — c/storage 1.43 does exactly that on this kind of
//! kernel, so the store creates such container layers without maps. Otherwise, and for any
//! layer created with maps that differ from its parent's, the files are re-owned on a copy,
//! which is this file.
//!
//! c/storage makes the copy (UpdateLayerIDMap) by mounting the new layer, chowning every path
//! in the merged view (which copies every file up into `diff`), unmounting, and renaming
//! `diff` to `diff1` so that the re-owned copy becomes an extra lower layer and a fresh, empty
//! `diff` keeps only the layer's own changes. On mount both implementations put `diff1`,
//! `diff2`, ... above the `lower` chain.
//!
//! We produce the same on-disk result more simply: mount the parent's view read-only, copy it
//! into `<id>/diff1` with [`copy_tree`] shifting each owner (host ID under the parent's maps ->
//! container ID -> host ID under the layer's maps), unmount. The copy is the parent's full
//! merged tree (whiteouts and opaque directories already resolved by the kernel), which is
//! correct as a lower directly above the parent's own layers: every visible path is in it
//! with its new owner, and what the parent's layers hide stays hidden because their whiteouts
//! and opaque markers are still below it. Unlike chown-driven copy-up this keeps hardlinks
//! together and leaves no overlay xattrs in the copy. The cost is the same as c/storage's: one
//! full copy of the image per differently-mapped layer.

use std::fs;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};

use super::mount::{mount_layer_stack, unmount, MountFlags, OverlaySpec};
use super::Overlay;
use crate::driver::{copy_tree, CopyPolicy, OwnerShift};
use crate::error::{IoContext, Result};
use crate::idmap::{to_host, IdMap};

impl Overlay {
    /// Fill `<id>/diff1` with the parent's files re-owned by `shift`, and give the layer's own
    /// (empty) `diff` the new maps' root as owner, as c/storage's re-created diff has.
    pub(super) fn copy_parent_with_shifted_owners(
        &self,
        id: &str,
        parent: &str,
        shift: &OwnerShift,
        uid_map: &[IdMap],
        gid_map: &[IdMap],
    ) -> Result<()> {
        let layout = &self.layout;
        let mut source_lowers =
            vec![layout.diff_dir_to_read(parent).to_string_lossy().into_owned()];
        source_lowers.extend(self.lower_dirs(parent)?);

        let scratch = layout.scratch_mounts_dir(id);
        let view = scratch.join("parent-view");
        let result = (|| {
            let source: OwnedFd = if source_lowers.len() == 1 {
                open_dir_path(std::path::Path::new(&source_lowers[0]))?
            } else {
                self.ensure_home_private()?;
                fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(&view)
                    .ctx(format_args!("creating {}", view.display()))?;
                let spec = OverlaySpec {
                    lowers: source_lowers,
                    upper: None,
                    flags: MountFlags::read_only(),
                    label: None,
                };
                mount_layer_stack(self.api, &spec, &view, layout.home(), &scratch)?;
                // Read through a descriptor of the mount itself: a bind mount of the home made
                // meanwhile by another process could hide the path, never the descriptor.
                let fd = open_dir_path(&view);
                let _ = unmount(&view, true);
                fd?
            };
            // "/." so that the root's own metadata is read from the directory, not the fd link.
            let source_path = format!("/proc/self/fd/{}/.", source.as_raw_fd());
            let copy = layout.layer_dir(id).join("diff1");
            fs::DirBuilder::new()
                .mode(0o700)
                .create(&copy)
                .ctx(format_args!("creating {}", copy.display()))?;
            copy_tree(std::path::Path::new(&source_path), &copy, &CopyPolicy::layer(*shift))?;

            let root_uid = to_host(uid_map, 0).unwrap_or(0);
            let root_gid = to_host(gid_map, 0).unwrap_or(0);
            let diff = layout.diff_dir(id);
            std::os::unix::fs::chown(&diff, Some(root_uid), Some(root_gid))
                .ctx(format_args!("changing owner of {}", diff.display()))
        })();
        let _ = fs::remove_dir(&view);
        let _ = fs::remove_dir(&scratch);
        result
    }
}

/// An O_PATH descriptor of a directory, whose /proc/self/fd link reaches it whatever is
/// mounted over its path later.
fn open_dir_path(path: &std::path::Path) -> Result<OwnedFd> {
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(path)
        .ctx(format_args!("opening {}", path.display()))?;
    Ok(file.into())
}

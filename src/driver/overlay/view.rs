//! A private, read-only view of a layer's whole root file system, for the diffs that its upper
//! directory alone cannot give: against a layer other than its parent, or where the kernel's
//! overlay leaves upper directories unexportable. Both layers are then viewed and their full
//! trees compared, as c/storage's NaiveDiffDriver does with two mounts.
//!
//! With the file-system-context API the overlay is never attached anywhere: it is reachable only
//! through our descriptor (as `/proc/self/fd/N`), invisible to other processes, independent of
//! any mount of the same layer, and gone when the descriptor closes, crash included. Where it
//! has to be attached (mount(2), or more lowers than one overlay takes) it goes on a fresh
//! directory inside the layer's directory and is detached again on drop.

use std::fs;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use super::mount::{
    create_detached, mount_layer_stack, unmount, MountApi, OverlaySpec, MAX_LOWERS_PER_OVERLAY,
};
use crate::error::{IoContext, Result};

pub struct LayerView {
    path: PathBuf,
    kind: Held,
}

enum Held {
    /// A detached mount, alive as long as its descriptor.
    Detached { _mount: OwnedFd },
    /// Mounted on `path`, a directory of our own with a scratch directory beside it.
    Attached { scratch: PathBuf },
}

impl LayerView {
    /// Mount `spec` (read-only, no upper) as a view. `home` is the driver home (mount(2) takes
    /// relative paths from it), `layer_dir` where an attached view gets its directory.
    pub fn open(
        api: MountApi,
        spec: &OverlaySpec,
        home: &Path,
        layer_dir: &Path,
    ) -> Result<LayerView> {
        if api == MountApi::FsContext && spec.lowers.len() <= MAX_LOWERS_PER_OVERLAY {
            let fd = create_detached(spec)?;
            // "/." so that even an lstat of the root itself goes through the magic link.
            let path = PathBuf::from(format!("/proc/self/fd/{}/.", fd.as_raw_fd()));
            return Ok(LayerView { path, kind: Held::Detached { _mount: fd } });
        }
        let name = format!("view-{}", &crate::ids::random_id()[..16]);
        let path = layer_dir.join(&name);
        let scratch = layer_dir.join(format!("{name}-stack"));
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .ctx(format_args!("creating {}", path.display()))?;
        let view = LayerView { path, kind: Held::Attached { scratch } };
        if let Held::Attached { scratch } = &view.kind {
            // On failure the drop removes the directory again.
            mount_layer_stack(api, spec, &view.path, home, scratch)?;
        }
        Ok(view)
    }

    /// Where the layer's root file system can be read.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for LayerView {
    fn drop(&mut self) {
        if let Held::Attached { scratch } = &self.kind {
            let _ = unmount(&self.path, true);
            let _ = fs::remove_dir(&self.path);
            let _ = fs::remove_dir(scratch);
        }
    }
}

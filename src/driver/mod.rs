//! Graph drivers: where a layer's files live and how a layer is made visible as a root
//! filesystem. The layer store decides *what* exists; a driver only manages directories.
//!
//! The store starts its driver through `registry.rs` (`open` by name, `open_chosen` when none
//! is configured) and holds it as a `dyn Driver`; a new driver is a file here plus one arm in
//! the registry (check and gc ask the driver where its layers are: `layer_dir`,
//! `list_layer_dirs`, `probe_dir_prefixes`; only check's wording of a missing layer directory,
//! in store/check.rs, copies each Go driver's words by name). How a layer's tar lands in a
//! driver (whiteouts, chown policy) is the driver's `tar_landing`, in the archive code's own
//! terms.

mod clone_file;
mod copy;
pub mod overlay;
mod registry;
pub mod vfs;

pub use copy::{
    copy_entry, copy_tree, Cause, CopyError, CopyPolicy, OwnerMapping, OwnerShift, Step,
    XattrFilter,
};
pub use registry::{open, open_chosen, DriverSetup};

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::archive::{ExportStyle, Landing, OwnerMaps};
use crate::error::Result;
use crate::fs_tree::subdirectories;
use crate::idmap::IdMap;

#[derive(Debug, Default, Clone)]
pub struct CreateOptions<'a> {
    pub parent: Option<&'a str>,
    pub mount_label: &'a str,
    /// The maps the new layer's files are written with.
    pub uid_map: &'a [IdMap],
    pub gid_map: &'a [IdMap],
    /// The parent's maps, to shift owners when they differ from the new layer's.
    pub parent_uid_map: &'a [IdMap],
    pub parent_gid_map: &'a [IdMap],
    /// A container's layer (the overlay driver gives those a work directory).
    pub read_write: bool,
}

#[derive(Debug, Default, Clone)]
pub struct MountOptions<'a> {
    pub mount_label: &'a str,
    pub options: &'a [String],
    pub read_only: bool,
    /// A container's maps, for a driver that shifts owners at mount time (see
    /// `supports_shifting`); empty when the layer's files are already owned as they should be.
    pub uid_map: &'a [IdMap],
    pub gid_map: &'a [IdMap],
    /// A volatile container's layer: overlay adds the kernel's "volatile" option (no syncs)
    /// where it works, as c/storage 1.45+ does; other drivers ignore it.
    pub volatile: bool,
}

pub trait Driver: Send + Sync {
    /// "vfs" or "overlay": also the prefix of the store's record directories.
    fn name(&self) -> &'static str;
    /// `G/<driver>`.
    fn home(&self) -> &Path;
    /// `IS/<driver>` when the store has a split image store (c/storage's `imagestore`): the
    /// home of its read-only layers.
    fn split_image_store_home(&self) -> Option<&Path> {
        None
    }
    /// Create the directory state of a new layer (a copy of the parent for vfs).
    fn create(&self, id: &str, opts: &CreateOptions) -> Result<()>;
    /// Remove everything the driver keeps for the layer; a missing layer is not an error.
    fn remove(&self, id: &str) -> Result<()>;
    fn exists(&self, id: &str) -> bool;
    /// Make the layer's root filesystem visible and return its path.
    fn mount(&self, id: &str, opts: &MountOptions) -> Result<PathBuf>;
    fn unmount(&self, id: &str) -> Result<()>;
    /// Whether an earlier mount of the layer at `path` is still in place, so that mounting
    /// again only needs to count.
    fn is_mounted(&self, id: &str, path: &Path) -> bool;
    /// The directory a tar diff is extracted into: always in this store.
    fn diff_dir(&self, id: &str) -> PathBuf;
    /// Where the layer's own files are read from: `diff_dir` for a layer of this store, the
    /// layer's directory in an additional image store for a layer that lives there (drivers
    /// that support those look for it there when this store does not have it).
    fn diff_dir_to_read(&self, id: &str) -> PathBuf {
        self.diff_dir(id)
    }
    /// The directory the driver keeps layer `id` in, in whichever home has it (vfs: the whole
    /// tree, its `diff_dir`; overlay: `<home>/<id>`, holding diff, work, link and the rest).
    /// Check and gc compare these directories with the records.
    fn layer_dir(&self, id: &str) -> PathBuf;
    /// The names of the layer directories in the driver's homes (its own and a split image
    /// store's), sorted, each once, whether or not a record owns them (c/storage's ListLayers,
    /// which reads them with os.ReadDir). A home that does not exist yet holds none.
    fn list_layer_dirs(&self) -> Result<Vec<String>>;
    /// Name prefixes of the scratch directories the driver makes among its layer directories
    /// while it probes the kernel's features (c/storage lists them as layers); check and gc
    /// leave young ones alone.
    fn probe_dir_prefixes(&self) -> &'static [&'static str] {
        &[]
    }
    /// Directories below `diff_dir` that make up the layer's root file system, topmost first
    /// (overlay: the parents' diffs), for exports that read files the layer does not hold
    /// itself. Drivers that keep full trees have none.
    fn lower_diff_dirs(&self, _id: &str) -> Result<Vec<PathBuf>> {
        Ok(Vec::new())
    }
    /// How a tar diff lands in `diff_dir`, for every extraction into this driver: what
    /// whiteouts become (vfs: deletions in a full tree; overlay: overlayfs markers), and
    /// whether a chown refused with EPERM or EINVAL is skipped (the driver's
    /// `ignore_chown_errors` option, as in c/storage).
    fn tar_landing(&self) -> Landing;
    /// Write the layer's changes relative to `from` (a layer ID; `None` = empty) as a tar;
    /// `from_is_parent` says whether `from` is the layer's parent, which lets drivers that keep
    /// only the layer's own changes (overlay) export them directly. The default compares the two
    /// full trees, right for drivers whose diff dir holds the whole root file system (vfs).
    /// `style`: whose c/storage's header bytes and change rules to follow.
    fn write_diff(
        &self,
        id: &str,
        from: Option<&str>,
        from_is_parent: bool,
        maps: OwnerMaps<'_>,
        style: ExportStyle,
        out: &mut dyn Write,
    ) -> Result<()> {
        let _ = from_is_parent;
        let from_dir = from.map(|f| self.diff_dir_to_read(f));
        crate::archive::export_naive_diff_with_maps(
            from_dir.as_deref(),
            &self.diff_dir_to_read(id),
            maps,
            style,
            out,
        )
    }
    /// Paths changed between `from` and the layer (same arguments and default as `write_diff`).
    fn changes(
        &self,
        id: &str,
        from: Option<&str>,
        from_is_parent: bool,
        maps: OwnerMaps<'_>,
        style: ExportStyle,
    ) -> Result<Vec<crate::archive::Change>> {
        let _ = from_is_parent;
        let from_dir = from.map(|f| self.diff_dir_to_read(f));
        crate::archive::changes(from_dir.as_deref(), &self.diff_dir_to_read(id), maps, style)
    }
    /// Bytes of file data changed between `from` and the layer.
    fn diff_size(
        &self,
        id: &str,
        from: Option<&str>,
        from_is_parent: bool,
        maps: OwnerMaps<'_>,
        style: ExportStyle,
    ) -> Result<u64> {
        let _ = from_is_parent;
        let from_dir = from.map(|f| self.diff_dir_to_read(f));
        crate::archive::diff_size(from_dir.as_deref(), &self.diff_dir_to_read(id), maps, style)
    }
    /// Whether `mount` can show a layer's files with shifted owners (`MountOptions::uid_map`)
    /// without changing them, so containers with their own ID maps can use unshifted layers
    /// (c/storage's SupportsShifting).
    fn supports_shifting(&self) -> bool {
        false
    }
    /// Key/value lines for `status`.
    fn status(&self) -> Vec<(String, String)>;
    /// Release what the driver holds process-wide (unmount its home, ...).
    fn cleanup(&self) -> Result<()>;
    /// Remove what the driver keeps that belongs to no layer (overlay: `l/` links to layers
    /// that are gone); called by garbage collection with every record file locked. Returns
    /// what was removed.
    fn collect_garbage(&self) -> Result<Vec<PathBuf>> {
        Ok(Vec::new())
    }
}

/// The subdirectories of `dirs` but those named in `skip`, sorted, each once: one list
/// whichever home (or both) holds a layer. A directory that does not exist holds none.
fn layer_dirs_in(dirs: impl IntoIterator<Item = PathBuf>, skip: &[&str]) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for dir in dirs {
        names.extend(
            subdirectories(&dir)?.into_iter().filter(|name| !skip.contains(&name.as_str())),
        );
    }
    names.sort();
    names.dedup();
    Ok(names)
}

//! Go's LayerParentOwners / ContainerParentOwners: the host UIDs and GIDs owning the
//! directories above a mounted layer that its ID maps do not cover. Tools use this to find
//! directories an ID-mapped container could not traverse.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::Store;
use crate::error::{Error, ErrorKind, Result};
use crate::idmap::{to_container, to_host};

impl Store {
    /// Sorted unmapped (uids, gids) of the directories above the layer's mount point; both
    /// empty for a layer without ID maps. `LayerNotMounted` when it has maps but no mount point.
    /// Layers of additional image stores are never mounted, so they are unknown here (as in
    /// c/storage).
    pub fn layer_parent_owners(&self, key: &str) -> Result<(Vec<u32>, Vec<u32>)> {
        let layer = self.own_layer(key)?;
        if layer.uid_map.is_empty() && layer.gid_map.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        if layer.mount_point.is_empty() {
            return Err(Error::new(
                ErrorKind::LayerNotMounted,
                format!("layer {} is not mounted", layer.id),
            ));
        }
        let unmapped_root = |what| {
            Error::invalid(format!(
                "the {what} map of layer {} does not map the container's root",
                layer.id
            ))
        };
        to_host(&layer.uid_map, 0).ok_or_else(|| unmapped_root("uid"))?;
        to_host(&layer.gid_map, 0).ok_or_else(|| unmapped_root("gid"))?;

        let mut uids = BTreeSet::new();
        let mut gids = BTreeSet::new();
        let mut dir = Path::new(&layer.mount_point).parent();
        while let Some(d) = dir.filter(|d| !d.as_os_str().is_empty() && *d != Path::new("/")) {
            // Both the directory and, for a symlink, what it points to.
            let followed = fs::metadata(d)
                .map_err(|e| Error::io(format_args!("reading ownership of {}", d.display()), e))?;
            let itself = fs::symlink_metadata(d)
                .map_err(|e| Error::io(format_args!("reading ownership of {}", d.display()), e))?;
            for meta in [followed, itself] {
                if to_container(&layer.uid_map, meta.uid()).is_none() {
                    uids.insert(meta.uid());
                }
                if to_container(&layer.gid_map, meta.gid()).is_none() {
                    gids.insert(meta.gid());
                }
            }
            dir = d.parent();
        }
        Ok((uids.into_iter().collect(), gids.into_iter().collect()))
    }

    /// `layer_parent_owners` of the container's read-write layer.
    pub fn container_parent_owners(&self, key: &str) -> Result<(Vec<u32>, Vec<u32>)> {
        let container = self.container(key)?;
        self.layer_parent_owners(&container.layer)
    }
}

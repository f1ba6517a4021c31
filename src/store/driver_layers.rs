//! Layers as the graph driver sees them, apart from the layer records: the driver's list of
//! layer directories (c/storage's Driver.ListLayers, `containers-storage storage-layers`), a
//! layer made only in the driver (`create-storage-layer`), and where a layer's directory is.
//! Check and garbage collection compare these directories with the records.
//!
//! Where a driver keeps a layer and which directories it lists are the driver's
//! (`Driver::layer_dir`, `list_layer_dirs`, `probe_dir_prefixes`), as in c/storage.

use std::fs;
use std::time::{Duration, SystemTime};

use super::Store;
use crate::driver::{CreateOptions, Driver};
use crate::error::{Error, ErrorKind, Result};
use crate::idmap::IdMap;
use crate::lock::LockKind;

/// A probe takes well under a second; a probe directory older than this was left by a crash.
const PROBE_MAX_AGE: Duration = Duration::from_secs(600);

/// What a layer made only in the driver should be (`create-storage-layer`).
#[derive(Debug, Clone, Default)]
pub struct StorageLayerOptions {
    /// `None`: a new random ID.
    pub id: Option<String>,
    /// A driver layer to start from: a layer's ID, name or ID prefix, or the name of a driver
    /// directory no record owns.
    pub parent: Option<String>,
    pub mount_label: String,
    pub uid_map: Vec<IdMap>,
    pub gid_map: Vec<IdMap>,
    /// A layer no container will write to (c/storage's driver.Create instead of CreateReadWrite).
    pub read_only: bool,
}

/// Whether the driver directory `name` is a feature probe's scratch directory that another
/// process may be using right now: removing it would make that probe fail, and its answer is
/// cached in the run root.
pub(super) fn is_probe_in_progress(driver: &dyn Driver, name: &str) -> bool {
    if !driver.probe_dir_prefixes().iter().any(|p| name.starts_with(p)) {
        return false;
    }
    let modified = fs::symlink_metadata(driver.layer_dir(name)).and_then(|m| m.modified());
    match modified.map(|m| SystemTime::now().duration_since(m)) {
        Ok(Ok(age)) => age < PROBE_MAX_AGE,
        // Modified "in the future" (clock change): young enough to be careful.
        Ok(Err(_)) => true,
        Err(_) => false,
    }
}

impl Store {
    /// The driver's layer directories, whether or not a layer record owns them (c/storage's
    /// driver.ListLayers), sorted by name.
    pub fn storage_layers(&self) -> Result<Vec<String>> {
        let mut layers = self.lock_layers();
        let _guard = layers.lock(LockKind::Shared)?;
        self.driver.list_layer_dirs()
    }

    /// Make a layer in the driver only, without a record (`create-storage-layer`): c/storage's
    /// driver.Create / CreateReadWrite. Nothing lists it but `storage_layers`; `check` reports
    /// it and `garbage_collect` removes it. Returns its ID.
    pub fn create_storage_layer(&self, options: &StorageLayerOptions) -> Result<String> {
        self.check_writable()?;
        let mut layers = self.lock_layers();
        let _guard = layers.lock(LockKind::Exclusive)?;
        let driver = self.driver.as_ref();
        let id = match &options.id {
            Some(id) => {
                crate::ids::validate_id(id)?;
                id.clone()
            }
            None => crate::ids::random_id(),
        };
        if driver.exists(&id) {
            return Err(Error::new(
                ErrorKind::DuplicateId,
                format!("the storage driver already has a layer {id}"),
            ));
        }
        // A recorded parent is named as layers are (and its files carry its ID maps); anything
        // else must be a directory of the driver.
        let (parent, parent_uid_map, parent_gid_map) = match options.parent.as_deref() {
            None => (None, options.uid_map.clone(), options.gid_map.clone()),
            Some(key) => match layers.records.get(key) {
                Some(layer) => {
                    (Some(layer.id.clone()), layer.uid_map.clone(), layer.gid_map.clone())
                }
                None if crate::ids::validate_id(key).is_ok() && driver.exists(key) => {
                    (Some(key.to_string()), options.uid_map.clone(), options.gid_map.clone())
                }
                None => {
                    return Err(Error::new(
                        ErrorKind::LayerUnknown,
                        format!("the storage driver has no layer {key:?} to use as parent"),
                    ))
                }
            },
        };
        driver.create(
            &id,
            &CreateOptions {
                parent: parent.as_deref(),
                mount_label: &options.mount_label,
                uid_map: &options.uid_map,
                gid_map: &options.gid_map,
                parent_uid_map: &parent_uid_map,
                parent_gid_map: &parent_gid_map,
                read_write: !options.read_only,
            },
        )?;
        Ok(id)
    }
}

//! `LayerStore` (c/storage's layerStore): a layer's records and files kept as one: layers.json
//! and mountpoints.json, the driver's directories, tar-split files and layer big data, kept
//! consistent with the incomplete-layer protocol (ONDISK.md 4.5): a
//! layer is marked incomplete and saved before its data is touched, so a crash at any point
//! leaves a record that the next exclusive opener removes.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::mountpoints::{Mount, MountsFile};
use super::record_file::{unknown_error, Location, RecordFile};
use crate::driver::{CreateOptions, Driver, MountOptions};
use crate::error::{Error, ErrorKind, Result};
use crate::fs_tree::{files_where, remove_file_if_present, remove_tree};
use crate::lock::{LockGuard, LockKind};
use crate::record::layer::INCOMPLETE_FLAG;
use crate::record::Layer;

const TAR_SPLIT_TEMP_SUFFIX: &str = ".tar-split.gz.tmp";

pub struct LayerStore {
    pub(super) records: RecordFile<Layer>,
    mounts: MountsFile,
    /// Layers this process removed: their mount records go when mountpoints.json is next
    /// written. Records of layers we do not know are kept (see `keeps_mount_record`).
    removed: HashSet<String>,
    pub(super) driver: Arc<dyn Driver>,
    /// G/<driver>-layers: tar-split files and big-data directories.
    dir: PathBuf,
}

impl LayerStore {
    pub fn new(
        records: RecordFile<Layer>,
        mounts: MountsFile,
        driver: Arc<dyn Driver>,
        dir: PathBuf,
    ) -> Self {
        LayerStore { records, mounts, removed: HashSet::new(), driver, dir }
    }

    /// Lock layers.json (and read mountpoints.json under its shared lock), reloading what
    /// changed. Incomplete layers left by a crash are removed first; a shared request upgrades
    /// to exclusive for that, as c/storage 1.57 does.
    pub fn lock(&mut self, kind: LockKind) -> Result<LockGuard> {
        let guard = self.lock_and_refresh(kind)?;
        if !self.records.records().iter().any(Layer::is_incomplete) || self.records.is_read_only() {
            return Ok(guard);
        }
        let guard = if kind == LockKind::Exclusive {
            guard
        } else {
            drop(guard);
            self.lock_and_refresh(LockKind::Exclusive)?
        };
        self.remove_incomplete(&guard)?;
        Ok(guard)
    }

    fn lock_and_refresh(&mut self, kind: LockKind) -> Result<LockGuard> {
        let (guard, _) = self.records.lock(kind)?;
        drop(self.mounts.lock(LockKind::Shared)?);
        Ok(guard)
    }

    fn remove_incomplete(&mut self, guard: &LockGuard) -> Result<()> {
        let incomplete: Vec<String> = self
            .records
            .records()
            .iter()
            .filter(|l| l.is_incomplete())
            .map(|l| l.id.clone())
            .collect();
        for id in incomplete {
            crate::log::log(crate::log::Level::Warn, || {
                format!("removing layer {id}: an interrupted create or delete left it incomplete")
            });
            self.remove_layer_data(&id)?;
            self.forget(&id);
        }
        // Tar-splits being written when a process was killed (their layers were among those
        // just removed, or were removed by a tool that does not know these files).
        self.remove_tar_split_temps(guard)?;
        self.save(guard)
    }

    /// Remove every `<id>.tar-split.gz.tmp`: under the exclusive lock no import is writing
    /// one, so each was left by a process that died. Returns what was removed.
    pub fn remove_tar_split_temps(&self, guard: &LockGuard) -> Result<Vec<PathBuf>> {
        debug_assert_eq!(guard.kind(), LockKind::Exclusive);
        let mut removed = Vec::new();
        for path in files_where(&self.dir, |name| name.ends_with(TAR_SPLIT_TEMP_SUFFIX))? {
            if remove_file_if_present(&path)? {
                removed.push(path);
            }
        }
        Ok(removed)
    }

    /// Save layers.json and mountpoints.json, each with a new token (c/storage saves both on
    /// every layer-store write).
    pub fn save(&mut self, guard: &LockGuard) -> Result<()> {
        let mounts_guard = self.mounts.lock(LockKind::Exclusive)?;
        self.records.save(guard)?;
        let removed = &self.removed;
        self.mounts.save(&mounts_guard, |id| keeps_mount_record(removed, id))
    }

    /// The layers mountpoints.json has a record of, with where each is mounted.
    pub fn mount_records(&self) -> Vec<(String, PathBuf)> {
        self.mounts
            .mounted_ids()
            .into_iter()
            .filter_map(|id| self.mounts.get(&id).map(|m| (id.clone(), PathBuf::from(&m.path))))
            .collect()
    }

    /// Drop `id`'s mount record at the next save, although this process did not remove the
    /// layer (garbage collection, which has made sure no record file anywhere has it).
    pub fn forget_mount_record(&mut self, id: &str) {
        self.removed.insert(id.to_string());
    }

    pub fn get(&self, key: &str) -> Result<&Layer> {
        self.records.get(key).ok_or_else(|| unknown_error::<Layer>(key))
    }

    /// A copy of the record with its mount state filled in.
    pub fn snapshot(&self, layer: &Layer) -> Layer {
        self.with_mount_state(layer).into_owned()
    }

    /// The record as callers see it: the record itself when mountpoints.json has no entry for
    /// it (a record's own mount fields are never set), else a copy with its mount state. Listing
    /// 50,000 layers copied each one only to hand it over.
    pub fn with_mount_state<'a>(&self, layer: &'a Layer) -> Cow<'a, Layer> {
        match self.mounts.get(&layer.id) {
            None => Cow::Borrowed(layer),
            Some(m) => {
                let mut copy = layer.clone();
                copy.mount_point = m.path.clone();
                copy.mount_count = m.count;
                Cow::Owned(copy)
            }
        }
    }

    pub fn all(&self) -> Vec<Layer> {
        self.records.records().iter().map(|l| self.snapshot(l)).collect()
    }

    pub fn tar_split_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.tar-split.gz"))
    }

    /// Where a layer's tar-split is written before it is renamed into place.
    pub fn tar_split_temp_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}{TAR_SPLIT_TEMP_SUFFIX}"))
    }

    pub fn big_data_dir(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    /// Append `layer` marked incomplete to the file of `location`, save, then let the driver
    /// create its directories on `parent` (the record of `layer.parent`, ours or an additional
    /// image store's). The caller fills in data and then calls `mark_complete`. On failure
    /// nothing is left.
    pub fn create(
        &mut self,
        guard: &LockGuard,
        mut layer: Layer,
        location: Location,
        parent: Option<&Layer>,
        read_write: bool,
    ) -> Result<()> {
        layer.flags.insert(INCOMPLETE_FLAG.into(), serde_json::Value::Bool(true));
        let id = layer.id.clone();
        self.removed.remove(&id);
        self.records.push_to(layer.clone(), location);
        self.save(guard)?;

        let opts = CreateOptions {
            parent: parent.map(|p| p.id.as_str()),
            mount_label: &layer.mount_label,
            uid_map: &layer.uid_map,
            gid_map: &layer.gid_map,
            parent_uid_map: parent.map(|p| p.uid_map.as_slice()).unwrap_or(&[]),
            parent_gid_map: parent.map(|p| p.gid_map.as_slice()).unwrap_or(&[]),
            read_write,
        };
        if let Err(e) = self.driver.create(&id, &opts) {
            self.delete(guard, &id)?;
            return Err(e);
        }
        Ok(())
    }

    /// Clear the incomplete flag of a layer whose data is in place, and save.
    pub fn mark_complete(&mut self, guard: &LockGuard, id: &str) -> Result<()> {
        if let Some(layer) = self.records.get_mut(id) {
            layer.flags.remove(INCOMPLETE_FLAG);
        }
        self.save(guard)
    }

    /// Delete a layer without safety checks: unmount it, mark it incomplete and save, remove
    /// its data, drop the record and save again.
    pub fn delete(&mut self, guard: &LockGuard, id: &str) -> Result<()> {
        let id = self.get(id)?.id.clone();
        self.unmount_all(&id)?;
        if let Some(layer) = self.records.get_mut(&id) {
            layer.flags.insert(INCOMPLETE_FLAG.into(), serde_json::Value::Bool(true));
        }
        self.save(guard)?;
        self.remove_layer_data(&id)?;
        self.forget(&id);
        self.save(guard)
    }

    /// Drop the record of a layer whose data is gone, and its mount record at the next write.
    fn forget(&mut self, id: &str) {
        self.records.remove(id);
        self.removed.insert(id.to_string());
    }

    fn unmount_all(&mut self, id: &str) -> Result<()> {
        let mounts_guard = self.mounts.lock(LockKind::Exclusive)?;
        if self.mounts.get(id).is_some() {
            self.driver.unmount(id)?;
            self.mounts.set(id, None);
            let removed = &self.removed;
            self.mounts.save(&mounts_guard, |i| keeps_mount_record(removed, i))?;
        }
        Ok(())
    }

    fn remove_layer_data(&mut self, id: &str) -> Result<()> {
        self.driver.remove(id)?;
        for path in [self.tar_split_path(id), self.tar_split_temp_path(id)] {
            match fs::remove_file(path) {
                // A name too long to exist (a record written by another tool) is not there.
                Err(e)
                    if e.kind() != io::ErrorKind::NotFound
                        && e.raw_os_error() != Some(libc::ENAMETOOLONG) =>
                {
                    return Err(Error::io(format_args!("removing tar-split of layer {id}"), e))
                }
                _ => {}
            }
        }
        remove_tree(&self.big_data_dir(id))
    }

    /// Mount a layer, or count one more user of an existing mount (ONDISK.md 5).
    pub fn mount(&mut self, _guard: &LockGuard, id: &str, opts: &MountOptions) -> Result<PathBuf> {
        let id = self.get(id)?.id.clone();
        let mounts_guard = self.mounts.lock(LockKind::Exclusive)?;
        let current = self.mounts.get(&id).cloned();
        let path = match &current {
            Some(m) if m.count > 0 && self.driver.is_mounted(&id, Path::new(&m.path)) => {
                PathBuf::from(&m.path)
            }
            _ => self.driver.mount(&id, opts)?,
        };
        let count = current.map_or(0, |m| m.count) + 1;
        self.mounts.set(&id, Some(Mount { path: path.to_string_lossy().into_owned(), count }));
        let removed = &self.removed;
        self.mounts.save(&mounts_guard, |i| keeps_mount_record(removed, i))?;
        drop(mounts_guard);
        Ok(path)
    }

    /// Release one mount (all of them with `force`); returns whether it is still mounted.
    pub fn unmount(&mut self, _guard: &LockGuard, id: &str, force: bool) -> Result<bool> {
        let id = self.get(id)?.id.clone();
        let mounts_guard = self.mounts.lock(LockKind::Exclusive)?;
        let current = self.mounts.get(&id).cloned().ok_or_else(|| {
            Error::new(ErrorKind::LayerNotMounted, format!("layer {id} is not mounted"))
        })?;
        let still_mounted = if current.count > 1 && !force {
            self.mounts.set(&id, Some(Mount { path: current.path, count: current.count - 1 }));
            true
        } else {
            self.driver.unmount(&id)?;
            self.mounts.set(&id, None);
            false
        };
        let removed = &self.removed;
        self.mounts.save(&mounts_guard, |i| keeps_mount_record(removed, i))?;
        Ok(still_mounted)
    }

    pub fn mount_count(&self, id: &str) -> u32 {
        self.mounts.get(id).map_or(0, |m| m.count)
    }

    pub fn mounted_layers(&self) -> Vec<String> {
        self.mounts.mounted_ids()
    }

    pub fn ensure_big_data_dir(&self, id: &str) -> Result<PathBuf> {
        let dir = self.big_data_dir(id);
        crate::fs_tree::create_private_dir(&dir)?;
        Ok(dir)
    }
}

/// Whether mountpoints.json keeps a layer's mount record when we rewrite it: unless we removed
/// the layer ourselves. A record of a layer we do not know stays: it may be in a file this store
/// does not read (a transient store's volatile-layers.json in the run root, opened without
/// the transient setting, or a newer c/storage's), and dropping it would make the next
/// c/storage process unmount a running container's layer. (c/storage drops such records.)
fn keeps_mount_record(removed: &HashSet<String>, id: &str) -> bool {
    !removed.contains(id)
}

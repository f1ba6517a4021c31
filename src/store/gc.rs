//! Garbage collection, as c/storage 1.57's GarbageCollect (`containers-storage gc`): remove
//! what a crash or an interrupted tool left behind that no record owns:
//!
//! * container directories (`G/<driver>-containers/<id>`, and also `R/<driver>-containers/<id>`,
//!   which c/storage leaves) whose name is a c/storage ID and which no container owns;
//! * image directories (`G/<driver>-images/<id>`) likewise;
//! * driver layer directories no layer record owns, with their tar-split file and big-data
//!   directory;
//! * overlay `l/` links whose layer directory is gone;
//! * mount records (mountpoints.json) of layers that no record file has and whose mount point
//!   is not mounted: nothing would ever unmount them, and their counts would stay forever;
//! * tar-split files a killed import was writing (`<id>.tar-split.gz.tmp`), and record files a
//!   killed writer left beside layers.json, images.json, containers.json (`.tmp-*`).
//!
//! Owners are looked for in every record file, not only in those this store reads: volatile
//! records in both roots (a process that opened the store as transient keeps its containers
//! in the run root), and the layers and images of additional image stores. Half-made layers
//! (the incomplete flag) are not for us: the layer store removes them whenever it is locked.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::driver_layers::is_probe_in_progress;
use super::{AllRecords, Store};
use crate::error::{Error, Result};
use crate::fs_tree::mount_points;
use crate::fs_tree::{files_where, remove_file_if_present, remove_tree, subdirectories};
use crate::lock::LockKind;
use crate::log::{log, Level};
use crate::record::{Image, Layer};

/// What a garbage collection did.
#[derive(Debug, Default)]
pub struct GarbageCollection {
    /// Removed, in the order they went.
    pub removed: Vec<PathBuf>,
    /// Layers whose mount records were dropped from mountpoints.json.
    pub forgotten_mounts: Vec<String>,
    /// Left in place although no record owns them, and why.
    pub kept: Vec<(PathBuf, String)>,
    /// What failed; collection goes on past a failure, as c/storage's does.
    pub errors: Vec<Error>,
}

impl GarbageCollection {
    fn remove(&mut self, path: &Path, remove: impl FnOnce() -> Result<()>) {
        log(Level::Debug, || format!("removing {}", path.display()));
        match remove() {
            Ok(()) => self.removed.push(path.to_path_buf()),
            Err(e) => self.errors.push(e),
        }
    }

    fn keep(&mut self, path: PathBuf, why: &str) {
        log(Level::Debug, || format!("keeping {}: {why}", path.display()));
        self.kept.push((path, why.to_string()));
    }

    /// Remove the record directories (named by record IDs) that `owned` does not claim.
    fn remove_unowned_dirs(
        &mut self,
        dirs: Vec<PathBuf>,
        mounts: &[PathBuf],
        owned: impl Fn(&str) -> Result<bool>,
    ) -> Result<()> {
        for dir in dirs {
            if owned(file_name(&dir))? {
                continue;
            }
            // podman mounts a container's /dev/shm in its run directory: never empty a file
            // system that is still mounted there (c/storage would remove what is inside it).
            if mounts.iter().any(|m| m.starts_with(&dir)) {
                self.keep(dir, "a file system is mounted in it");
                continue;
            }
            self.remove(&dir, || remove_tree(&dir));
        }
        Ok(())
    }
}

impl Store {
    /// Remove directories no record owns (see the module's documentation). An error reading
    /// records stops it (nothing is removed on a guess); errors removing are collected in the
    /// result and the rest goes on.
    pub fn garbage_collect(&self) -> Result<GarbageCollection> {
        self.check_writable()?;
        // All three record files locked for writing, so no record appears or goes while we
        // decide (c/storage locks them one after the other).
        let AllRecords {
            mut layers,
            layers_guard,
            images,
            images_guard: _images_guard,
            containers,
            containers_guard: _containers_guard,
        } = self.lock_all(LockKind::Exclusive)?;
        let driver = self.driver.as_ref();

        // Listed before the record files are read: a record is always written before its
        // directories, so a directory seen here whose record is being written now is owned by
        // the time the files are read.
        let containers_dir = format!("{}-containers", driver.name());
        let container_dirs: Vec<PathBuf> =
            [self.graph_root.join(&containers_dir), self.run_root.join(&containers_dir)]
                .iter()
                .map(|dir| id_shaped_dirs(dir))
                .collect::<Result<Vec<_>>>()?
                .concat();
        let image_dirs = id_shaped_dirs(&self.images_dir())?;
        let layer_dirs = driver.list_layer_dirs()?;
        let on_disk = self.record_ids_on_disk()?;

        let mut done = GarbageCollection::default();
        let mounts = mount_points();
        let container_ids: HashSet<&str> = containers
            .records()
            .iter()
            .map(|c| c.id.as_str())
            .chain(on_disk.containers.iter().map(String::as_str))
            .collect();
        done.remove_unowned_dirs(container_dirs, &mounts, |id| Ok(container_ids.contains(id)))?;
        // An image of an additional image store gets its directories in this store too
        // (ImageDirectory).
        done.remove_unowned_dirs(image_dirs, &mounts, |id| {
            Ok(images.contains_id(id) || self.additional.has_id::<Image>(id)?)
        })?;

        // A container's record names its layer even when the layer's record is gone: its files
        // may be all that is left of the container.
        let container_layers: HashSet<&str> =
            containers.records().iter().map(|c| c.layer.as_str()).collect();
        for id in layer_dirs {
            if layers.records.contains_id(&id)
                || on_disk.layers.contains(&id)
                || container_layers.contains(id.as_str())
                || self.additional.has_id::<Layer>(&id)?
            {
                continue;
            }
            let dir = driver.layer_dir(&id);
            if is_probe_in_progress(driver, &id) {
                done.keep(
                    dir,
                    "another process may be probing the kernel's overlay features in it",
                );
                continue;
            }
            // The driver's removal (overlay: also unmounts what is mounted there and removes the
            // layer's l/ link), then the layer store's files of that ID, as c/storage does.
            done.remove(&dir, || driver.remove(&id));
            let tar_split = layers.tar_split_path(&id);
            if tar_split.exists() {
                done.remove(&tar_split, || remove_file_if_present(&tar_split).map(drop));
            }
            // Only a directory: the layer store's own files sit beside the big-data directories.
            let big_data = layers.big_data_dir(&id);
            if big_data.is_dir() {
                done.remove(&big_data, || remove_tree(&big_data));
            }
        }
        // Mount records are kept for layers we cannot see (a record file this store does not
        // read may have them), but not when no record file in either root or any additional
        // store has the layer and nothing is mounted where the record says: then the count
        // only keeps a c/storage process from ever cleaning up.
        let mut stale_mounts = Vec::new();
        for (id, path) in layers.mount_records() {
            let owned = layers.records.contains_id(&id)
                || on_disk.layers.contains(&id)
                || self.additional.has_id::<Layer>(&id)?;
            if owned {
                continue;
            }
            if mounts.contains(&path) {
                done.keep(path, "a mount record of a layer no record has, but it is mounted");
                continue;
            }
            stale_mounts.push(id);
        }
        if !stale_mounts.is_empty() {
            for id in &stale_mounts {
                log(Level::Debug, || format!("removing the mount record of layer {id}"));
                layers.forget_mount_record(id);
            }
            match layers.save(&layers_guard) {
                Ok(()) => done.forgotten_mounts = stale_mounts,
                Err(e) => done.errors.push(e),
            }
        }
        // The driver's own leftovers (overlay: links to layers that are gone).
        match driver.collect_garbage() {
            Ok(removed) => done.removed.extend(removed),
            Err(e) => done.errors.push(e),
        }
        // Tar-splits a killed import was writing (its record, if any, is gone by now), and record
        // files a killed writer left half-written beside the real ones: under the three locks
        // nobody is writing either.
        match layers.remove_tar_split_temps(&layers_guard) {
            Ok(removed) => done.removed.extend(removed),
            Err(e) => done.errors.push(e),
        }
        for dir in [
            self.graph_root.join(format!("{}-layers", driver.name())),
            self.images_dir(),
            self.graph_root.join(&containers_dir),
        ] {
            // (`write_atomic`'s temporaries: `.tmp-<name><12 hex digits>`.)
            for path in files_where(&dir, |name| name.starts_with(".tmp-"))? {
                done.remove(&path, || remove_file_if_present(&path).map(drop));
            }
        }
        Ok(done)
    }
}

/// Directories in `dir` whose names are c/storage IDs (64 lowercase hex digits, its
/// stringid.ValidateID): the only ones garbage collection may take for a record's.
fn id_shaped_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    Ok(subdirectories(dir)?
        .into_iter()
        .filter(|name| is_go_id(name))
        .map(|name| dir.join(name))
        .collect())
}

fn is_go_id(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn file_name(path: &Path) -> &str {
    path.file_name().and_then(|n| n.to_str()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::is_go_id;

    #[test]
    fn only_64_lowercase_hex_digits_are_ids() {
        assert!(is_go_id(&"a1".repeat(32)));
        assert!(!is_go_id(&"A1".repeat(32)));
        assert!(!is_go_id(&"a1".repeat(31)));
        assert!(!is_go_id("userdata"));
        assert!(!is_go_id(&format!("{}g", "a".repeat(63))));
    }
}

//! Additional image stores (c/storage's `additionalimagestores`): graph roots of other stores
//! whose layers and images this store shows after its own, read-only.
//!
//! For each store S and our driver D, we read `S/D-layers/layers.json` and
//! `S/D-images/images.json` under shared locks on `layers.lock` and `images.lock` beside them
//! (reloading when S's writer changed them, as for our own files), big data from
//! `S/D-layers/<id>/` and `S/D-images/<id>/`, tar-split from `S/D-layers/<id>.tar-split.gz`;
//! the driver reads layer files from `S/D`. Nothing in S is ever written:
//!
//! * a missing lock file is not created (c/storage creates it); the JSON is then read without
//!   a lock, which is safe because a writer of S would have created the lock file first;
//! * a missing JSON file means the store has no records of that kind (e.g. another driver's);
//! * incomplete layers are not removed, and names found on two records are not repaired on
//!   disk: the later record keeps the name in memory and a warning is logged (c/storage 1.43
//!   refuses to open the primary store at all then);
//! * records come out with `read_only` set, and no write path of the store ever looks here.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::images::with_digests;
use super::record_file::{unknown_error, RecordFile};
use super::{lock_ignoring_poison, Store};
use crate::error::{Error, Result};
use crate::lock::LockFile;
use crate::record::{Image, Layer, Record};

/// One additional image store.
pub struct AdditionalImageStore {
    root: PathBuf,
    /// S/<driver>-layers
    layers_dir: PathBuf,
    /// S/<driver>-images
    images_dir: PathBuf,
    layers: Mutex<RecordFile<Layer>>,
    images: Mutex<RecordFile<Image>>,
    /// Only the images of this store are visible: it is our own graph root, seen as an image
    /// store because a split image store took its place (its layers are ours already).
    images_only: bool,
}

/// The kinds of record an additional image store holds (layers and images; never containers).
pub trait StoredRecord: Record {
    fn records_of(store: &AdditionalImageStore) -> &Mutex<RecordFile<Self>>;
    /// Whether records of this kind are looked for in `store`.
    fn shown_by(_store: &AdditionalImageStore) -> bool {
        true
    }
}

impl StoredRecord for Layer {
    fn records_of(store: &AdditionalImageStore) -> &Mutex<RecordFile<Self>> {
        &store.layers
    }

    fn shown_by(store: &AdditionalImageStore) -> bool {
        !store.images_only
    }
}

impl StoredRecord for Image {
    fn records_of(store: &AdditionalImageStore) -> &Mutex<RecordFile<Self>> {
        &store.images
    }
}

impl AdditionalImageStore {
    /// Prepare to read the store at `root` (a graph root) for `driver`; nothing is read yet.
    fn open(root: &Path, driver: &str) -> Result<Self> {
        let layers_dir = root.join(format!("{driver}-layers"));
        let images_dir = root.join(format!("{driver}-images"));
        Ok(AdditionalImageStore {
            root: root.to_path_buf(),
            // c/storage 1.57 reads a read-only store's volatile layers too.
            layers: Mutex::new(
                read_only_records(&layers_dir, "layers")?
                    .with_volatile_file(layers_dir.join("volatile-layers.json")),
            ),
            images: Mutex::new(read_only_records(&images_dir, "images")?),
            layers_dir,
            images_dir,
            images_only: false,
        })
    }

    /// c/storage 1.57 with a split image store keeps reading the images of the graph root
    /// (G/<driver>-images), after the image store's: those made before the split. Only the
    /// images: the graph root's layers are the store's own.
    fn open_graph_root_images(root: &Path, driver: &str) -> Result<Self> {
        Ok(AdditionalImageStore { images_only: true, ..Self::open(root, driver)? })
    }

    /// Run `read` on the store's layers or images, under their shared lock and up to date.
    fn read<T: StoredRecord, R>(&self, read: impl FnOnce(&RecordFile<T>) -> R) -> Result<R> {
        let mut records = lock_ignoring_poison(T::records_of(self));
        let _guard = records.lock_shared()?;
        Ok(read(&records))
    }

    pub fn layer_big_data_dir(&self, id: &str) -> PathBuf {
        self.layers_dir.join(id)
    }

    pub fn tar_split_path(&self, id: &str) -> PathBuf {
        self.layers_dir.join(format!("{id}.tar-split.gz"))
    }

    pub fn image_big_data_dir(&self, id: &str) -> PathBuf {
        self.images_dir.join(id)
    }
}

/// The additional image stores of a store, in the configured order (the order of lookups).
pub struct AdditionalImageStores {
    stores: Vec<AdditionalImageStore>,
}

impl AdditionalImageStores {
    /// `graph_root_images`: the graph root, when a split image store holds our images, so that
    /// the images left in the graph root stay visible (first, as in c/storage).
    pub fn open(roots: &[PathBuf], graph_root_images: Option<&Path>, driver: &str) -> Result<Self> {
        let mut stores = Vec::new();
        if let Some(graph_root) = graph_root_images {
            stores.push(AdditionalImageStore::open_graph_root_images(graph_root, driver)?);
        }
        for root in roots {
            stores.push(AdditionalImageStore::open(root, driver)?);
        }
        Ok(AdditionalImageStores { stores })
    }

    /// The configured additional image stores (not the graph root seen as one).
    pub fn roots(&self) -> Vec<PathBuf> {
        self.stores.iter().filter(|s| !s.images_only).map(|s| s.root.clone()).collect()
    }

    /// The IDs of the records (of kind `T`) left alone because they cannot be file names.
    pub fn quarantined_ids<T: StoredRecord>(&self) -> Result<Vec<String>> {
        let mut ids = Vec::new();
        for store in &self.stores {
            if !T::shown_by(store) {
                continue;
            }
            ids.extend(store.read(|file: &RecordFile<T>| {
                file.quarantined().map(|r| r.id().to_string()).collect::<Vec<_>>()
            })?);
        }
        Ok(ids)
    }

    /// Every layer of every store, store by store.
    pub fn layers(&self) -> Result<Vec<Layer>> {
        self.layers_matching(|_| true)
    }

    pub fn layers_matching(&self, wanted: impl Fn(&Layer) -> bool) -> Result<Vec<Layer>> {
        self.matching(read_only_layer, wanted)
    }

    /// The images (with their digests computed) for which `wanted` holds.
    pub fn images_matching(&self, wanted: impl Fn(&Image) -> bool) -> Result<Vec<Image>> {
        self.matching(read_only_image, wanted)
    }

    /// The layer `key` names (ID, name or ID prefix unique within that store) in the first
    /// store that has one.
    pub fn layer(&self, key: &str) -> Result<Option<Layer>> {
        self.with_layer(key, |layer, _| read_only_layer(layer))
    }

    /// Run `read` on the layer `key` names in the first store that has one, and on that store,
    /// under the store's shared lock (to read the layer's files consistently with its record).
    pub fn with_layer<R>(
        &self,
        key: &str,
        read: impl FnOnce(&Layer, &AdditionalImageStore) -> R,
    ) -> Result<Option<R>> {
        self.find(key, read)
    }

    /// The image `key` names in the first store that has one.
    pub fn image(&self, key: &str) -> Result<Option<Image>> {
        self.with_image(key, |image, _| read_only_image(image))
    }

    /// Run `read` on the image `key` names in the first store that has one, and on that store,
    /// under the store's shared lock.
    pub fn with_image<R>(
        &self,
        key: &str,
        read: impl FnOnce(&Image, &AdditionalImageStore) -> R,
    ) -> Result<Option<R>> {
        self.find(key, read)
    }

    /// The full ID of the layer or image `key` names in the first store that has one, and
    /// that store's root.
    pub fn locate<T: StoredRecord>(&self, key: &str) -> Result<Option<(String, PathBuf)>> {
        self.find(key, |record: &T, store| (record.id().to_string(), store.root.clone()))
    }

    /// Whether some store has a layer or image (`T`) with exactly this ID.
    pub fn has_id<T: StoredRecord>(&self, id: &str) -> Result<bool> {
        for store in self.stores.iter().filter(|s| T::shown_by(s)) {
            if store.read(|file: &RecordFile<T>| file.contains_id(id))? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn matching<T: StoredRecord>(
        &self,
        copy: fn(&T) -> T,
        wanted: impl Fn(&T) -> bool,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        for store in self.stores.iter().filter(|s| T::shown_by(s)) {
            store.read(|file| out.extend(file.records().iter().map(copy).filter(|r| wanted(r))))?;
        }
        Ok(out)
    }

    fn find<T: StoredRecord, R>(
        &self,
        key: &str,
        read: impl FnOnce(&T, &AdditionalImageStore) -> R,
    ) -> Result<Option<R>> {
        let mut read = Some(read);
        for store in self.stores.iter().filter(|s| T::shown_by(s)) {
            let found = store.read(|file: &RecordFile<T>| {
                file.get(key).map(|record| (read.take().expect("called once"))(record, store))
            })?;
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }
}

/// `dir/<kind>.json` with its lock `dir/<kind>.lock`, never written.
fn read_only_records<T: Record>(dir: &Path, kind: &str) -> Result<RecordFile<T>> {
    let lock = LockFile::open_read_only_if_present(&dir.join(format!("{kind}.lock")))?;
    Ok(RecordFile::open(dir.join(format!("{kind}.json")), lock, true))
}

fn read_only_layer(layer: &Layer) -> Layer {
    Layer { read_only: true, ..layer.clone() }
}

fn read_only_image(image: &Image) -> Image {
    Image { read_only: true, ..with_digests(image) }
}

impl Store {
    /// c/storage's "unknown" error for a change to `key`, which names no layer or image (`T`)
    /// of this store. When an additional image store has one, the message says so: changes
    /// never go there (c/storage fails the same way without saying why). Reads only those
    /// stores, so callers may hold our locks.
    pub(super) fn not_writable<T: StoredRecord>(&self, key: &str) -> Error {
        let unknown = unknown_error::<T>(key);
        match self.additional.locate::<T>(key) {
            Ok(Some((id, root))) => Error::new(
                unknown.kind(),
                format!(
                    "{} {id} belongs to the additional image store {}, which is read-only",
                    T::KIND,
                    root.display()
                ),
            ),
            _ => unknown,
        }
    }
}

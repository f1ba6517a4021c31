//! `Store`'s layer methods (Go's CreateLayer, Layers, Layer, DeleteLayer, Mount, ...): the
//! public face; the records and files they change are kept by `LayerStore`
//! (layer_records_and_files.rs).

use std::fs::File;
use std::io::Read;
use std::path::PathBuf;

use super::record_file::{unknown_error, Location};
use super::Store;
use crate::atomic_file::write_atomic_with;
use crate::bigdata;
use crate::driver::MountOptions;
use crate::error::{Error, ErrorKind, Result};
use crate::idmap::IdMap;
use crate::lock::LockKind;
use crate::record::{dedup_names, Flags, Layer};
use crate::timestamp::Timestamp;

/// What a new layer should be (Go's LayerOptions plus the CreateLayer arguments).
#[derive(Debug, Clone, Default)]
pub struct LayerOptions {
    pub id: Option<String>,
    pub parent: Option<String>,
    pub names: Vec<String>,
    pub mount_label: String,
    pub metadata: String,
    pub uid_map: Vec<IdMap>,
    pub gid_map: Vec<IdMap>,
    pub flags: Flags,
    /// Digests the caller already knows (recorded instead of computed, as Go does).
    pub compressed_digest: Option<String>,
    pub uncompressed_digest: Option<String>,
    /// Keep the record in volatile-layers.json (c/storage 1.45+: the layer of a volatile
    /// container, or of any container in a transient store).
    pub volatile: bool,
    /// Go's `writeable` argument of CreateLayer/PutLayer: a layer a container may write to.
    /// With a split image store, layers that are not writeable (image layers, what c/image
    /// makes) have their data there, writeable ones in the graph root.
    pub writeable: bool,
}

/// What mounting a key means: a layer, and for a container its options, ID maps and whether
/// it is volatile.
#[derive(Default)]
struct MountTarget {
    layer_id: String,
    options: Vec<String>,
    uid_map: Vec<IdMap>,
    gid_map: Vec<IdMap>,
    volatile: bool,
}

impl Store {
    /// Create an empty layer (Go's CreateLayer; `read_write` for a container's layer).
    pub fn create_layer(&self, options: &LayerOptions) -> Result<Layer> {
        self.create_layer_with(options, options.writeable, |_, _| Ok(()))
    }

    /// Create a layer and let `fill` put its contents in place while the layer is still marked
    /// incomplete; if `fill` fails the layer is removed again.
    pub(crate) fn create_layer_with(
        &self,
        options: &LayerOptions,
        read_write: bool,
        fill: impl FnOnce(&mut super::LayerStore, &str) -> Result<()>,
    ) -> Result<Layer> {
        self.check_writable()?;
        let mut layers = self.lock_layers();
        let guard = layers.lock(LockKind::Exclusive)?;
        // Containers are consulted so a container's layer can never become a parent.
        let mut containers = self.lock_containers();
        let _containers_guard = containers.lock_shared()?;

        let mut layer = self.new_layer_record(&layers, options)?;
        // The parent may be a layer of an additional image store: the new layer, ours, then
        // lies on it (a container of one of its images, say). An empty parent is none, as in Go.
        let parent = match options.parent.as_deref().filter(|key| !key.is_empty()) {
            Some(key) => Some(match layers.records.get(key) {
                Some(parent) => parent.clone(),
                None => self.additional.layer(key)?.ok_or_else(|| unknown_error::<Layer>(key))?,
            }),
            None => None,
        };
        if let Some(parent) = &parent {
            if containers.records().iter().any(|c| c.layer == parent.id) {
                return Err(Error::new(
                    ErrorKind::ParentIsContainer,
                    format!("layer {} belongs to a container and cannot be a parent", parent.id),
                ));
            }
            layer.parent = parent.id.clone();
        }
        drop(_containers_guard);
        drop(containers);

        let id = layer.id.clone();
        let location = if options.volatile { Location::Volatile } else { Location::Stable };
        layers.create(&guard, layer, location, parent.as_ref(), read_write)?;
        if let Err(e) = fill(&mut layers, &id) {
            layers.delete(&guard, &id)?;
            return Err(e);
        }
        if self.options.durable {
            // The layer's directories (and whatever `fill` wrote) reach the disk before the
            // record says the layer is complete. (After an import this finds little to do.)
            crate::atomic_file::sync_file_system(&layers.driver.diff_dir(&id))?;
        }
        layers.mark_complete(&guard, &id)?;
        Self::layer_snapshot(&layers, &id)
    }

    fn new_layer_record(
        &self,
        layers: &super::LayerStore,
        options: &LayerOptions,
    ) -> Result<Layer> {
        let id = layers.records.new_id(options.id.as_deref())?;
        crate::idmap::validate(&options.uid_map, "uid")?;
        crate::idmap::validate(&options.gid_map, "gid")?;
        // c/storage checks only its own store and then (overlay) wipes the additional store's
        // layer directory of that ID; an ID is used once across all of them here.
        if self.additional.has_id::<Layer>(&id)? {
            return Err(Error::new(
                ErrorKind::DuplicateId,
                format!("a layer with ID {id} exists in an additional image store"),
            ));
        }
        let names = dedup_names(&options.names);
        layers.records.check_names_free(&names)?;
        for digest in options.compressed_digest.iter().chain(options.uncompressed_digest.iter()) {
            crate::digest::validate(digest)?;
        }
        let shifting = self.can_use_shifting(&options.uid_map, &options.gid_map);
        Ok(Layer {
            id,
            names,
            metadata: options.metadata.clone(),
            mount_label: options.mount_label.clone(),
            created: Timestamp::now(),
            flags: options.flags.clone(),
            // Where the driver shifts owners at mount time, c/storage (1.43 and 1.57) records the
            // layer without maps: its files stay as they are, and containers' mounts shift them.
            uid_map: if shifting { Vec::new() } else { options.uid_map.clone() },
            gid_map: if shifting { Vec::new() } else { options.gid_map.clone() },
            ..Default::default()
        })
    }

    /// All layers: ours in creation order, then those of each additional image store.
    pub fn layers(&self) -> Result<Vec<Layer>> {
        let mut all = Vec::new();
        self.for_each_layer(|layer| all.push(layer.clone()))?;
        Ok(all)
    }

    /// Hand every layer to `visit` (ours in creation order, then each additional image store's),
    /// with its mount state: a listing that prints as it goes holds no copy of the list beside
    /// the store's own (at 50,000 layers that copy is about 30 MiB, a third of a listing's peak
    /// RSS), and no copy of a record but of a mounted one. `visit` runs under the store's lock
    /// and must not call the Store.
    ///
    /// Everything that can fail happens before the first visit, in `layers()`'s order (our lock
    /// and load, then the additional image stores' layers), so a caller that prints as it goes
    /// never prints half a list before an error. Our lock is not held while the additional
    /// stores are locked (as c/storage takes one store's lock at a time): it is taken once to
    /// load, and again to visit (which rereads only if another process wrote in between).
    pub fn for_each_layer(&self, mut visit: impl FnMut(&Layer)) -> Result<()> {
        {
            let mut layers = self.lock_layers();
            let _guard = layers.lock(LockKind::Shared)?;
        }
        let additional = self.additional.layers()?;
        {
            let mut layers = self.lock_layers();
            let _guard = layers.lock(LockKind::Shared)?;
            for layer in layers.records.records() {
                visit(&layers.with_mount_state(layer));
            }
        }
        additional.iter().for_each(visit);
        Ok(())
    }

    /// One layer by ID, name or unique ID prefix: ours first, then each additional image
    /// store's (each store resolves the key on its own, the first that does wins).
    pub fn layer(&self, key: &str) -> Result<Layer> {
        if let Some(layer) = self.own_layer_if_any(key)? {
            return Ok(layer);
        }
        self.additional.layer(key)?.ok_or_else(|| unknown_error::<Layer>(key))
    }

    /// A layer of this store only, for operations on its own files; a layer of an additional
    /// image store is unknown here (see `not_writable`).
    pub(super) fn own_layer(&self, key: &str) -> Result<Layer> {
        self.own_layer_if_any(key)?.ok_or_else(|| self.not_writable::<Layer>(key))
    }

    fn own_layer_if_any(&self, key: &str) -> Result<Option<Layer>> {
        let mut layers = self.lock_layers();
        let _guard = layers.lock(LockKind::Shared)?;
        Ok(layers.records.get(key).map(|layer| layers.snapshot(layer)))
    }

    pub fn layers_by_compressed_digest(&self, digest: &str) -> Result<Vec<Layer>> {
        crate::digest::validate(digest)?;
        self.layers_matching(|l| l.compressed_digest == digest)
    }

    pub fn layers_by_uncompressed_digest(&self, digest: &str) -> Result<Vec<Layer>> {
        crate::digest::validate(digest)?;
        self.layers_matching(|l| l.uncompressed_digest == digest)
    }

    fn layers_matching(&self, pred: impl Fn(&Layer) -> bool) -> Result<Vec<Layer>> {
        let mut found: Vec<Layer> = {
            let mut layers = self.lock_layers();
            let _guard = layers.lock(LockKind::Shared)?;
            layers
                .records
                .records()
                .iter()
                .filter(|l| pred(l))
                .map(|l| layers.snapshot(l))
                .collect()
        };
        found.extend(self.additional.layers_matching(pred)?);
        Ok(found)
    }

    /// Delete a layer with c/storage's checks: not while it has children, is an image's top
    /// layer or a container's layer. A mapped copy of an image's top layer is removed from the
    /// image instead.
    pub fn delete_layer(&self, key: &str) -> Result<()> {
        self.check_writable()?;
        let super::AllRecords {
            mut layers,
            layers_guard: guard,
            mut images,
            images_guard,
            containers,
            containers_guard: _containers_guard,
        } = self.lock_all(LockKind::Exclusive)?;

        let id = layers.records.get(key).ok_or_else(|| self.not_writable::<Layer>(key))?.id.clone();
        // c/storage 1.57's words: scripts look for the part after the last colon.
        if let Some(child) = layers.records.records().iter().find(|l| l.parent == id) {
            return Err(Error::new(
                ErrorKind::LayerHasChildren,
                format!("used by layer {}: layer has children", child.id),
            ));
        }
        if let Some(image) = images.records().iter().find(|i| i.top_layer == id) {
            return Err(Error::new(
                ErrorKind::LayerUsedByImage,
                format!("layer {id} used by image {}: layer is in use by an image", image.id),
            ));
        }
        if let Some(c) = containers.records().iter().find(|c| c.layer == id) {
            return Err(Error::new(
                ErrorKind::LayerUsedByContainer,
                format!("layer {id} used by container {}: layer is in use by a container", c.id),
            ));
        }
        // Only the images that change are taken for changing: the others' JSON is reused.
        let mapping: Vec<String> = images
            .records()
            .iter()
            .filter(|i| i.mapped_top_layers.contains(&id))
            .map(|i| i.id.clone())
            .collect();
        for image_id in &mapping {
            if let Some(image) = images.get_mut(image_id) {
                image.mapped_top_layers.retain(|l| *l != id);
            }
        }
        if !mapping.is_empty() {
            images.save(&images_guard)?;
        }
        layers.delete(&guard, &id)
    }

    /// Store `data` as the layer's big-data item `key`.
    pub fn set_layer_big_data(
        &self,
        key_or_name: &str,
        key: &str,
        data: &mut dyn Read,
    ) -> Result<()> {
        self.check_writable()?;
        bigdata::file_name(key)?;
        let mut layers = self.lock_layers();
        let guard = layers.lock(LockKind::Exclusive)?;
        let id = layers
            .records
            .get(key_or_name)
            .ok_or_else(|| self.not_writable::<Layer>(key_or_name))?
            .id
            .clone();
        let dir = layers.ensure_big_data_dir(&id)?;
        let path = bigdata::path(&dir, key)?;
        write_atomic_with(&path, 0o600, self.options.durable, |f| {
            std::io::copy(data, f).map(|_| ())
        })?;
        let layer = layers.records.get_mut(&id).expect("layer looked up above");
        if !layer.big_data_names.iter().any(|n| n == key) {
            layer.big_data_names.push(key.to_string());
            layers.save(&guard)?;
        }
        Ok(())
    }

    /// Open the layer's big-data item `key` for reading (ours, else an additional image
    /// store's layer).
    pub fn layer_big_data(&self, key_or_name: &str, key: &str) -> Result<File> {
        {
            let mut layers = self.lock_layers();
            let _guard = layers.lock(LockKind::Shared)?;
            if let Some(layer) = layers.records.get(key_or_name) {
                return open_layer_big_data(layer, &layers.big_data_dir(&layer.id), key);
            }
        }
        let found = self.additional.with_layer(key_or_name, |layer, store| {
            open_layer_big_data(layer, &store.layer_big_data_dir(&layer.id), key)
        })?;
        found.unwrap_or_else(|| Err(unknown_error::<Layer>(key_or_name)))
    }

    pub fn layer_big_data_names(&self, key_or_name: &str) -> Result<Vec<String>> {
        Ok(self.layer(key_or_name)?.big_data_names)
    }

    /// Mount a layer (or a container's layer) and return where; counted across processes.
    pub fn mount(&self, key: &str, mount_label: &str, options: &[String]) -> Result<PathBuf> {
        self.check_writable()?;
        let target = self.resolve_mount_target(key)?;
        let mut opts = target.options;
        opts.extend(options.iter().cloned());
        let _graph_guard = self.graph_lock.lock(LockKind::Exclusive)?;
        let mut layers = self.lock_layers();
        let guard = layers.lock(LockKind::Exclusive)?;
        let layer = layers.get(&target.layer_id)?;
        let label = if mount_label.is_empty() {
            layer.mount_label.clone()
        } else {
            mount_label.to_string()
        };
        let (uid_map, gid_map) = self.mount_time_maps(layer, &target.uid_map, &target.gid_map)?;
        let read_only = opts.iter().any(|o| o == "ro");
        // storage.conf's disable-volatile turns the option off for every container.
        let volatile = target.volatile && !self.options.disable_volatile;
        layers.mount(
            &guard,
            &target.layer_id,
            &MountOptions {
                mount_label: &label,
                options: &opts,
                read_only,
                uid_map,
                gid_map,
                volatile,
            },
        )
    }

    /// The maps the driver must shift a container's layer by when mounting it: the container's
    /// when its layer is stored unshifted (no maps of its own) and the driver can shift, as
    /// c/storage does; none when the layer is stored with the container's maps already.
    fn mount_time_maps<'m>(
        &self,
        layer: &Layer,
        uid_map: &'m [IdMap],
        gid_map: &'m [IdMap],
    ) -> Result<(&'m [IdMap], &'m [IdMap])> {
        if uid_map.is_empty() && gid_map.is_empty() {
            return Ok((&[], &[]));
        }
        if layer.uid_map.is_empty()
            && layer.gid_map.is_empty()
            && self.can_use_shifting(uid_map, gid_map)
        {
            return Ok((uid_map, gid_map));
        }
        if layer.uid_map == uid_map && layer.gid_map == gid_map {
            return Ok((&[], &[]));
        }
        Err(Error::new(
            ErrorKind::NotSupported,
            format!("cannot mount layer {}: shifting not enabled", layer.id),
        ))
    }

    /// Release one mount of a layer or container; returns whether it is still mounted.
    pub fn unmount(&self, key: &str, force: bool) -> Result<bool> {
        self.check_writable()?;
        let layer_id = self.resolve_mount_target(key)?.layer_id;
        let mut layers = self.lock_layers();
        let guard = layers.lock(LockKind::Exclusive)?;
        layers.unmount(&guard, &layer_id, force)
    }

    /// How many times the layer (or container's layer) is mounted.
    pub fn mounted(&self, key: &str) -> Result<u32> {
        let layer_id = self.resolve_mount_target(key)?.layer_id;
        let mut layers = self.lock_layers();
        let _guard = layers.lock(LockKind::Shared)?;
        let id = layers.get(&layer_id)?.id.clone();
        Ok(layers.mount_count(&id))
    }

    /// Mount an image read-only: its top layer with "ro" added to `options` (Go's MountImage;
    /// "rw" is refused). The mount is counted on the top layer like any other.
    pub fn mount_image(&self, key: &str, mount_label: &str, options: &[String]) -> Result<PathBuf> {
        if options.iter().any(|o| o == "rw") {
            return Err(Error::invalid("an image cannot be mounted with the \"rw\" option"));
        }
        let top_layer = self.image_top_layer(key)?;
        let mut options = options.to_vec();
        options.push("ro".to_string());
        self.mount(&top_layer, mount_label, &options)
    }

    /// Release one mount of an image's top layer (all of them with `force`); returns whether
    /// it is still mounted.
    pub fn unmount_image(&self, key: &str, force: bool) -> Result<bool> {
        let top_layer = self.image_top_layer(key)?;
        self.unmount(&top_layer, force)
    }

    fn image_top_layer(&self, key: &str) -> Result<String> {
        let image = self.image(key)?;
        image
            .top_layer()
            .map(String::from)
            .ok_or_else(|| Error::invalid(format!("image {} has no layers to mount", image.id)))
    }

    /// A container (its layer, with its mount options and ID maps) first, else a layer of
    /// ours (ONDISK.md 3): layers of additional image stores are not mounted, as in c/storage
    /// 1.43 (mount a container made from them instead).
    fn resolve_mount_target(&self, key: &str) -> Result<MountTarget> {
        let mut containers = self.lock_containers();
        let _guard = containers.lock_shared()?;
        if let Some(c) = containers.get(key) {
            return Ok(MountTarget {
                layer_id: c.layer.clone(),
                options: c.mount_options(),
                uid_map: c.uid_map.clone(),
                gid_map: c.gid_map.clone(),
                volatile: c.is_volatile(),
            });
        }
        drop(_guard);
        drop(containers);
        Ok(MountTarget { layer_id: self.own_layer(key)?.id, ..Default::default() })
    }

    /// The size of the layer's diff as recorded at import; `SizeUnknown` for layers that were
    /// not populated from a tar stream.
    pub fn layer_size(&self, key: &str) -> Result<i64> {
        let layer = self.layer(key)?;
        if layer.uncompressed_digest.is_empty() {
            return Err(Error::new(
                ErrorKind::SizeUnknown,
                format!("size of layer {} is not known", layer.id),
            ));
        }
        Ok(layer.uncompressed_size)
    }

    /// The directory holding a layer's files as the driver stores them (vfs: its full tree),
    /// for a layer of ours (a directory that may be written).
    pub fn layer_diff_dir(&self, key: &str) -> Result<PathBuf> {
        let layer = self.own_layer(key)?;
        Ok(self.driver.diff_dir(&layer.id))
    }
}

fn open_layer_big_data(layer: &Layer, dir: &std::path::Path, key: &str) -> Result<File> {
    let owner = format!("layer {}", layer.id);
    if !layer.big_data_names.iter().any(|n| n == key) {
        return Err(bigdata::unknown(key, &owner));
    }
    bigdata::open(dir, key, &owner)
}

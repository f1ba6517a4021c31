//! `Store`'s image methods (Go's CreateImage, Images, ImagesByDigest, image big data, ...),
//! over this store's images.json and, read-only, the images of additional image stores
//! (additional_stores.rs).

use super::record_file::unknown_error;
use super::Store;
use crate::bigdata;
use crate::digest::{sha256_of, validate as validate_digest};
use crate::error::{Error, ErrorKind, Result};
use crate::lock::LockKind;
use crate::record::image::is_manifest_key;
use crate::record::{dedup_names, Flags, Image, Layer};
use crate::timestamp::Timestamp;

#[derive(Debug, Clone, Default)]
pub struct ImageOptions {
    pub id: Option<String>,
    pub names: Vec<String>,
    pub metadata: String,
    pub digest: Option<String>,
    pub created: Option<Timestamp>,
    pub flags: Flags,
    /// Big-data items stored with the image as it is created (key, bytes).
    pub big_data: Vec<(String, Vec<u8>)>,
}

impl Store {
    /// Create an image on `top_layer` (or none).
    pub fn create_image(&self, top_layer: Option<&str>, options: &ImageOptions) -> Result<Image> {
        self.check_writable()?;
        let mut layers = self.lock_layers();
        let _layers_guard = layers.lock(LockKind::Shared)?;
        let mut images = self.lock_images();
        let guard = images.lock_exclusive()?;

        // The top layer may be an additional image store's (c/storage allows it too). An empty
        // key is no top layer, as in Go.
        let top_layer = match top_layer.filter(|key| !key.is_empty()) {
            Some(key) => match layers.records.get(key) {
                Some(layer) => layer.id.clone(),
                None => self.additional.layer(key)?.ok_or_else(|| unknown_error::<Layer>(key))?.id,
            },
            None => String::new(),
        };
        drop(_layers_guard);
        drop(layers);

        let id = images.new_id(options.id.as_deref())?;
        // c/storage checks only its own store (and then lists the ID twice).
        if self.additional.has_id::<Image>(&id)? {
            return Err(Error::new(
                ErrorKind::DuplicateId,
                format!("an image with ID {id} exists in an additional image store"),
            ));
        }
        let names = dedup_names(&options.names);
        images.check_names_free(&names)?;
        if let Some(d) = &options.digest {
            validate_digest(d)?;
        }
        for (key, _) in &options.big_data {
            bigdata::file_name(key)?;
        }

        let mut image = Image {
            id: id.clone(),
            digest: options.digest.clone().unwrap_or_default(),
            names,
            top_layer,
            metadata: options.metadata.clone(),
            created: options.created.unwrap_or_else(Timestamp::now),
            flags: options.flags.clone(),
            ..Default::default()
        };
        // Big data goes to disk before the record is saved, so the record never names an item
        // that is not there; on failure the directory goes away with everything in it.
        let dir = self.images_dir().join(&id);
        for (key, data) in &options.big_data {
            if let Err(e) = bigdata::write(&dir, key, data, self.options.durable) {
                let _ = crate::fs_tree::remove_tree(&dir);
                return Err(e);
            }
            record_big_data(
                &mut image.big_data_names,
                &mut image.big_data_sizes,
                &mut image.big_data_digests,
                key,
                data,
            );
        }
        image.recompute_digests();
        images.push(image);
        if let Err(e) = images.save(&guard) {
            images.remove(&id);
            let _ = crate::fs_tree::remove_tree(&dir);
            return Err(e);
        }
        Ok(images.by_exact_id(&id).expect("just added").clone())
    }

    /// All images: ours, then those of each additional image store.
    pub fn images(&self) -> Result<Vec<Image>> {
        self.images_matching(|_| true)
    }

    /// One image by ID, name or unique ID prefix: ours first, then each additional image
    /// store's (each store resolves the key on its own, the first that does wins).
    pub fn image(&self, key: &str) -> Result<Image> {
        let own = {
            let mut images = self.lock_images();
            let _guard = images.lock_shared()?;
            images.get(key).map(with_digests)
        };
        match own {
            Some(image) => Ok(image),
            None => self.additional.image(key)?.ok_or_else(|| unknown_error::<Image>(key)),
        }
    }

    /// Images with `digest` among their digests (the `digest` field and manifest digests).
    pub fn images_by_digest(&self, digest: &str) -> Result<Vec<Image>> {
        validate_digest(digest)?;
        self.images_matching(|i| i.digests.iter().any(|d| d == digest))
    }

    /// Images whose top layer (or a mapped copy of it) is `layer`.
    pub fn images_by_top_layer(&self, layer: &str) -> Result<Vec<Image>> {
        let layer_id = self.layer(layer)?.id;
        self.images_matching(|i| i.top_layer == layer_id || i.mapped_top_layers.contains(&layer_id))
    }

    /// Our images, then the additional image stores', with their digests computed, for which
    /// `wanted` holds.
    fn images_matching(&self, wanted: impl Fn(&Image) -> bool) -> Result<Vec<Image>> {
        let mut found: Vec<Image> = {
            let mut images = self.lock_images();
            let _guard = images.lock_shared()?;
            images.records().iter().map(with_digests).filter(|i| wanted(i)).collect()
        };
        found.extend(self.additional.images_matching(wanted)?);
        Ok(found)
    }

    /// Store a big-data item on an image; its size and sha256 digest are recorded, and manifest
    /// items make the image findable by their digest.
    pub fn set_image_big_data(&self, key_or_name: &str, key: &str, data: &[u8]) -> Result<()> {
        self.check_writable()?;
        bigdata::file_name(key)?;
        let mut images = self.lock_images();
        let guard = images.lock_exclusive()?;
        let id = images
            .get(key_or_name)
            .ok_or_else(|| self.not_writable::<Image>(key_or_name))?
            .id
            .clone();
        bigdata::write(&self.images_dir().join(&id), key, data, self.options.durable)?;
        let image = images.get_mut(&id).expect("looked up above");
        record_big_data(
            &mut image.big_data_names,
            &mut image.big_data_sizes,
            &mut image.big_data_digests,
            key,
            data,
        );
        if is_manifest_key(key) {
            image.recompute_digests();
        }
        images.save(&guard)
    }

    /// An image's big-data item (ours, else an additional image store's image).
    pub fn image_big_data(&self, key_or_name: &str, key: &str) -> Result<Vec<u8>> {
        {
            let mut images = self.lock_images();
            let _guard = images.lock_shared()?;
            if let Some(image) = images.get(key_or_name) {
                return read_image_big_data(image, &self.images_dir().join(&image.id), key);
            }
        }
        let found = self.additional.with_image(key_or_name, |image, store| {
            read_image_big_data(image, &store.image_big_data_dir(&image.id), key)
        })?;
        found.unwrap_or_else(|| Err(unknown_error::<Image>(key_or_name)))
    }

    pub fn image_big_data_size(&self, key_or_name: &str, key: &str) -> Result<i64> {
        let image = self.image(key_or_name)?;
        match image.big_data_sizes.get(key) {
            Some(size) => Ok(*size),
            None if image.big_data_names.iter().any(|n| n == key) => {
                Ok(self.image_big_data(key_or_name, key)?.len() as i64)
            }
            None => Err(bigdata::unknown(key, &format!("image {}", image.id))),
        }
    }

    pub fn image_big_data_digest(&self, key_or_name: &str, key: &str) -> Result<String> {
        let image = self.image(key_or_name)?;
        match image.big_data_digests.get(key) {
            Some(d) => Ok(d.clone()),
            None if image.big_data_names.iter().any(|n| n == key) => {
                Ok(sha256_of(&self.image_big_data(key_or_name, key)?))
            }
            None => Err(bigdata::unknown(key, &format!("image {}", image.id))),
        }
    }

    pub fn image_big_data_names(&self, key_or_name: &str) -> Result<Vec<String>> {
        Ok(self.image(key_or_name)?.big_data_names)
    }

    /// Go's ImageSize: the diff sizes of every layer under the image's top layer (and its
    /// mapped copies), each counted once, plus the sizes of its big-data items.
    pub fn image_size(&self, key: &str) -> Result<i64> {
        let image = self.image(key)?;
        let mut total: i64 = image.big_data_sizes.values().sum();
        let mut queue: Vec<String> = image
            .top_layer()
            .into_iter()
            .map(String::from)
            .chain(image.mapped_top_layers.iter().cloned())
            .collect();
        let mut seen = std::collections::HashSet::new();
        while let Some(id) = queue.pop() {
            if !seen.insert(id.clone()) {
                continue;
            }
            // Go counts the recorded size when there is one (a digest says it is valid).
            let layer = self.layer(&id)?;
            total += if layer.uncompressed_digest.is_empty() {
                self.diff_size(None, &id)?
            } else {
                layer.uncompressed_size
            };
            if let Some(parent) = layer.parent() {
                queue.push(parent.to_string());
            }
        }
        Ok(total)
    }
}

/// An image of an additional image store with its big data, read to become a record of ours.
pub(super) struct ImageCopy {
    pub image: Image,
    big_data: Vec<(String, Vec<u8>)>,
}

impl Store {
    /// The image `key` names in an additional image store, with every big-data item read, or
    /// `None` if none has it: what c/storage 1.57's updateNames "pulls up" into the writable
    /// store before changing the names of a read-only image (`podman tag` on a shared store).
    pub(super) fn read_only_image_copy(&self, key: &str) -> Result<Option<ImageCopy>> {
        let found = self.additional.with_image(key, |image, store| -> Result<ImageCopy> {
            let dir = store.image_big_data_dir(&image.id);
            let big_data = image
                .big_data_names
                .iter()
                .map(|k| Ok((k.clone(), read_image_big_data(image, &dir, k)?)))
                .collect::<Result<_>>()?;
            Ok(ImageCopy { image: image.clone(), big_data })
        })?;
        found.transpose()
    }

    /// Make `copy` one of our images (in `images`, locked exclusively by the caller, who saves):
    /// its big data written under our images directory, the record as it was (ID, top layer,
    /// digests, metadata, creation time, flags, names history) but without names, which the
    /// caller gives it, and without mapped top layers, which belong to the other store (as
    /// c/storage's copy). Returns the directory of its big data, for the caller to remove if
    /// saving fails.
    pub(super) fn add_image_copy(
        &self,
        images: &mut super::record_file::RecordFile<Image>,
        copy: ImageCopy,
    ) -> Result<std::path::PathBuf> {
        let ImageCopy { mut image, big_data } = copy;
        let dir = self.images_dir().join(&image.id);
        for (key, data) in &big_data {
            if let Err(e) = bigdata::write(&dir, key, data, self.options.durable) {
                let _ = crate::fs_tree::remove_tree(&dir);
                return Err(e);
            }
        }
        image.names.clear();
        image.mapped_top_layers.clear();
        image.read_only = false;
        image.recompute_digests();
        images.push(image);
        Ok(dir)
    }
}

fn read_image_big_data(image: &Image, dir: &std::path::Path, key: &str) -> Result<Vec<u8>> {
    let owner = format!("image {}", image.id);
    if !image.big_data_names.iter().any(|n| n == key) {
        return Err(bigdata::unknown(key, &owner));
    }
    bigdata::read(dir, key, &owner)
}

/// Record a big-data item's name (once, in insertion order), size and digest.
pub(super) fn record_big_data(
    names: &mut Vec<String>,
    sizes: &mut std::collections::BTreeMap<String, i64>,
    digests: &mut std::collections::BTreeMap<String, String>,
    key: &str,
    data: &[u8],
) {
    if !names.iter().any(|n| n == key) {
        names.push(key.to_string());
    }
    sizes.insert(key.to_string(), data.len() as i64);
    digests.insert(key.to_string(), sha256_of(data));
}

pub(super) fn with_digests(image: &Image) -> Image {
    let mut copy = image.clone();
    copy.recompute_digests();
    copy
}

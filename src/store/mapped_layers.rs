//! Mapped top layers (c/storage's imageTopLayerForMapping): a container whose ID maps differ
//! from its image's top layer's, on a driver that cannot shift owners at mount time, gets its
//! layer on an ID-shifted copy of that top layer, made once per distinct mapping and recorded
//! in the image's `mapped-layers`, so later containers with the same maps share it (and
//! deleting the image deletes it).
//!
//! The copy is a layer on the top layer's parent, filled with the top layer's diff applied
//! with the new maps: the same files, owned as the maps say, with the top layer's digests and
//! sizes. (c/storage copies the top layer's directory as a template; the files, owners, diff
//! and record are the same.)

use std::fs::{self, File};
use std::io::{BufWriter, Seek, Write};

use super::diffs::DiffCompression;
use super::layers::LayerOptions;
use super::Store;
use crate::error::{IoContext, Result};
use crate::idmap::IdMap;
use crate::lock::LockKind;
use crate::record::{Image, Layer};

impl Store {
    /// The layer a container with `uid_map`/`gid_map` goes on, for `image` whose top layer is
    /// `top`: `top` itself where its maps are those, where the driver shifts at mount time, or
    /// where the image is another store's (the container's layer is then a shifted copy of its
    /// own); else the image's mapped copy of `top` for those maps, made if there is none.
    pub(super) fn top_layer_for_mapping(
        &self,
        image: &Image,
        top: Layer,
        uid_map: &[IdMap],
        gid_map: &[IdMap],
    ) -> Result<Layer> {
        if (top.uid_map == uid_map && top.gid_map == gid_map)
            || self.can_use_shifting(uid_map, gid_map)
            || image.read_only
        {
            return Ok(top);
        }
        for id in &image.mapped_top_layers {
            if let Ok(mapped) = self.layer(id) {
                if mapped.uid_map == uid_map && mapped.gid_map == gid_map {
                    return Ok(mapped);
                }
            }
        }
        let mapped = self.mapped_copy(&top, uid_map, gid_map)?;
        let recorded = (|| {
            let mut images = self.lock_images();
            let guard = images.lock_exclusive()?;
            if let Some(record) = images.get_mut(&image.id) {
                record.mapped_top_layers.push(mapped.id.clone());
            }
            images.save(&guard)
        })();
        if let Err(e) = recorded {
            let _ = self.delete_layer(&mapped.id);
            return Err(e);
        }
        Ok(mapped)
    }

    /// A new layer on `top`'s parent with `top`'s diff, applied with the given maps. The diff
    /// goes through a file in the graph root's tmp directory: the export holds the layer store
    /// while it runs, and so does the import.
    fn mapped_copy(&self, top: &Layer, uid_map: &[IdMap], gid_map: &[IdMap]) -> Result<Layer> {
        let mut bytes = [0u8; 8];
        crate::ids::random_bytes(&mut bytes);
        let path = self
            .graph_root
            .join("tmp")
            .join(format!("mapped-layer-{}.tar", crate::ids::to_hex(&bytes)));
        let result = (|| {
            let mut file = File::options()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path)
                .ctx(format_args!("creating {}", path.display()))?;
            let _ = fs::remove_file(&path);
            let mut out = BufWriter::new(&mut file);
            self.diff(None, &top.id, DiffCompression::Uncompressed, &mut out)?;
            out.flush().ctx("writing the layer's diff")?;
            drop(out);
            file.rewind().ctx("reading the layer's diff back")?;
            let options = LayerOptions {
                parent: top.parent().map(String::from),
                mount_label: top.mount_label.clone(),
                uid_map: uid_map.to_vec(),
                gid_map: gid_map.to_vec(),
                ..Default::default()
            };
            let copy = self.put_layer(&options, &mut file, None)?;
            self.take_template_sums(&copy.id, top).inspect_err(|_| {
                let _ = self.delete_layer(&copy.id);
            })
        })();
        let _ = fs::remove_file(&path);
        result
    }

    /// Give the copy the digests, sizes, compression and owner sets of `top`, as c/storage's
    /// template copy has them (the same files: for a top layer with a tar-split these are what
    /// the import computed anyway; one without has none, and neither has its copy).
    fn take_template_sums(&self, id: &str, top: &Layer) -> Result<Layer> {
        let mut layers = self.lock_layers();
        let guard = layers.lock(LockKind::Exclusive)?;
        if let Some(record) = layers.records.get_mut(id) {
            record.compressed_digest = top.compressed_digest.clone();
            record.compressed_size = top.compressed_size;
            record.uncompressed_digest = top.uncompressed_digest.clone();
            record.uncompressed_size = top.uncompressed_size;
            record.compression = top.compression;
            record.uid_set = top.uid_set.clone();
            record.gid_set = top.gid_set.clone();
        }
        layers.save(&guard)?;
        Self::layer_snapshot(&layers, id)
    }
}

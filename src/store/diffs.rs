//! Layer contents as tar streams: Go's PutLayer (create + apply), ApplyDiff, Diff, Changes and
//! DiffSize, on top of the archive code and the driver.

use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::path::Path;

use super::layer_records_and_files::LayerStore;
use super::layers::LayerOptions;
use super::record_file::unknown_error;
use super::Store;
use crate::archive::{self, ApplyOptions, Change, Compression, OwnerMaps};
use crate::compat::CompatLevel;
use crate::error::{Error, ErrorKind, IoContext, Result};
use crate::lock::LockKind;
use crate::record::Layer;

/// Progress of an import: called with the bytes of the stream read so far; `false` cancels.
pub type Progress<'a> = Option<&'a mut dyn FnMut(u64) -> bool>;

/// How `diff` writes the stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DiffCompression {
    /// As the layer was imported (c/storage's default).
    #[default]
    AsStored,
    Uncompressed,
    Gzip,
    Zstd,
}

impl Store {
    /// Go's PutLayer: create a layer and fill it from a tar stream (plain, gzip or zstd), in one
    /// pass that records both digests and sizes, the compression, the owners and the tar-split.
    /// Any failure (bad archive, digest mismatch, cancel) removes the half-made layer.
    pub fn put_layer(
        &self,
        options: &LayerOptions,
        input: &mut dyn Read,
        progress: Progress,
    ) -> Result<Layer> {
        self.create_layer_with(options, options.writeable, |layers, id| {
            apply_to_layer(
                layers,
                id,
                options.compressed_digest.clone(),
                options.uncompressed_digest.clone(),
                input,
                progress,
                self.options.durable,
            )
        })
    }

    /// Go's ApplyDiff: apply a tar stream to an existing layer and record what it holds. If the
    /// stream is bad the layer keeps whatever part was applied (as in c/storage) but its record
    /// is not changed. Returns the uncompressed size.
    pub fn apply_diff(&self, key: &str, input: &mut dyn Read, progress: Progress) -> Result<i64> {
        self.check_writable()?;
        let mut layers = self.lock_layers();
        let guard = layers.lock(LockKind::Exclusive)?;
        let id = layers.records.get(key).ok_or_else(|| self.not_writable::<Layer>(key))?.id.clone();
        apply_to_layer(&mut layers, &id, None, None, input, progress, self.options.durable)?;
        layers.save(&guard)?;
        Ok(layers.get(&id)?.uncompressed_size)
    }

    /// Go's Diff: write layer `to`'s changes relative to `from` (its parent when `None`) as a
    /// tar. With a tar-split and the parent as base, the output is the imported tar byte for
    /// byte; otherwise the driver computes the diff. Nothing is buffered in memory. `to` may
    /// be a layer of an additional image store (read under that store's lock).
    pub fn diff(
        &self,
        from: Option<&str>,
        to: &str,
        compression: DiffCompression,
        out: &mut dyn Write,
    ) -> Result<()> {
        // Both records are looked up before the lock is taken: the maps of the layer compared
        // with (the parent by default) matter when the trees are compared.
        let (from_layer, _, _) = self.diff_pair(from, to)?;
        let mut layers = self.lock_layers();
        let _guard = layers.lock(LockKind::Shared)?;
        if let Some(layer) = layers.records.get(to) {
            return self.write_diff(
                layer,
                &layers.tar_split_path(&layer.id),
                from_layer.as_ref(),
                compression,
                out,
            );
        }
        let found = self.additional.with_layer(to, |layer, store| {
            self.write_diff(
                layer,
                &store.tar_split_path(&layer.id),
                from_layer.as_ref(),
                compression,
                out,
            )
        })?;
        found.unwrap_or_else(|| Err(unknown_error::<Layer>(to)))
    }

    /// `diff` of `layer`, whose tar-split (if it has one) is at `tar_split`.
    /// `from_layer` is the layer compared with (the empty tree when `None`).
    pub(super) fn write_diff(
        &self,
        layer: &Layer,
        tar_split: &Path,
        from_layer: Option<&Layer>,
        compression: DiffCompression,
        out: &mut dyn Write,
    ) -> Result<()> {
        let from_id = from_layer.map(|l| l.id.clone());
        let kind = match compression {
            DiffCompression::AsStored => {
                Compression::from_i32(layer.compression).unwrap_or(Compression::None)
            }
            DiffCompression::Uncompressed => Compression::None,
            DiffCompression::Gzip => Compression::Gzip,
            DiffCompression::Zstd => Compression::Zstd,
        };
        if matches!(kind, Compression::Bzip2 | Compression::Xz) {
            // c/storage's words ("unsupported compression format"), which scripts look for.
            let name = kind.name();
            let message = format!("unsupported compression format {name}: cannot write {name} streams; ask for another compression");
            return Err(Error::new(ErrorKind::NotSupported, message));
        }
        let mut writer = archive::compress_writer(kind, BufWriter::with_capacity(1 << 20, out))?;
        if from_id.as_deref() == layer.parent() && tar_split.exists() {
            // The layer's own files first, then (overlay) those it shows from its parents.
            let mut roots = vec![self.driver.diff_dir_to_read(&layer.id)];
            roots.extend(self.driver.lower_diff_dirs(&layer.id)?);
            let mut file =
                File::open(tar_split).ctx(format_args!("opening {}", tar_split.display()))?;
            archive::export_from_tar_split(&mut file, &roots, &mut writer)?;
        } else {
            let from_is_parent = from_id.as_deref() == layer.parent();
            let maps = owner_maps(layer, from_layer);
            self.driver.write_diff(
                &layer.id,
                from_id.as_deref(),
                from_is_parent,
                maps,
                self.export_style(),
                &mut writer,
            )?;
        }
        writer.finish().ctx("finishing the layer stream")?;
        Ok(())
    }

    /// Paths added, modified and deleted in `to` relative to `from` (its parent when `None`).
    pub fn changes(&self, from: Option<&str>, to: &str) -> Result<Vec<Change>> {
        let (from_layer, layer, from_is_parent) = self.diff_pair(from, to)?;
        let maps = owner_maps(&layer, from_layer.as_ref());
        self.driver.changes(
            &layer.id,
            from_layer.as_ref().map(|l| l.id.as_str()),
            from_is_parent,
            maps,
            self.export_style(),
        )
    }

    /// Size of `to`'s diff relative to `from` (its parent when `None`), measured by the driver
    /// as c/storage 1.43 does: the sizes of changed files, not the recorded tar size (checked
    /// against the Go CLI's `diffsize`).
    pub fn diff_size(&self, from: Option<&str>, to: &str) -> Result<i64> {
        let (from_layer, layer, from_is_parent) = self.diff_pair(from, to)?;
        let maps = owner_maps(&layer, from_layer.as_ref());
        Ok(self.driver.diff_size(
            &layer.id,
            from_layer.as_ref().map(|l| l.id.as_str()),
            from_is_parent,
            maps,
            self.export_style(),
        )? as i64)
    }

    /// Whose c/storage generation's bytes and change rules exports without tar-split follow:
    /// the generation the store serves, so a commit through us gets the digest it would get
    /// from the c/storage sharing the store.
    fn export_style(&self) -> archive::ExportStyle {
        match self.options.compat {
            CompatLevel::V1_43 => archive::ExportStyle::V1_43,
            CompatLevel::V1_57 => archive::ExportStyle::V1_57,
        }
    }

    /// The layers `from` (default: `to`'s parent) and `to`, and whether `from` is the parent.
    fn diff_pair(&self, from: Option<&str>, to: &str) -> Result<(Option<Layer>, Layer, bool)> {
        let layer = self.layer(to)?;
        let from_layer = match from.or(layer.parent()) {
            Some(f) => Some(self.layer(f)?),
            None => None,
        };
        let from_is_parent = from_layer.as_ref().map(|l| l.id.as_str()) == layer.parent();
        Ok((from_layer, layer, from_is_parent))
    }
}

/// The ID maps of a diff's two sides: `layer`'s and those of the layer it is compared with
/// (none for the empty tree).
fn owner_maps<'a>(layer: &'a Layer, from: Option<&'a Layer>) -> OwnerMaps<'a> {
    OwnerMaps {
        uid_map: &layer.uid_map,
        gid_map: &layer.gid_map,
        parent_uid_map: from.map_or(&[], |f| f.uid_map.as_slice()),
        parent_gid_map: from.map_or(&[], |f| f.gid_map.as_slice()),
    }
}

/// Apply `input` to the layer's diff directory, writing its tar-split next to layers.json, and
/// record the digests, sizes, compression and owners on the record (saved by the caller).
fn apply_to_layer(
    layers: &mut LayerStore,
    id: &str,
    expected_compressed: Option<String>,
    expected_uncompressed: Option<String>,
    input: &mut dyn Read,
    progress: Progress,
    durable: bool,
) -> Result<()> {
    let layer = layers.get(id)?.clone();
    let target = layers.driver.diff_dir(id);
    let tar_split_path = layers.tar_split_path(id);
    let tmp_path = layers.tar_split_temp_path(id);
    let options = ApplyOptions {
        landing: layers.driver.tar_landing(),
        uid_map: layer.uid_map.clone(),
        gid_map: layer.gid_map.clone(),
        expected_compressed_digest: expected_compressed,
        expected_uncompressed_digest: expected_uncompressed,
        progress,
    };
    let result: Result<archive::ApplyStats> = (|| {
        let file = File::create(&tmp_path).ctx(format_args!("creating {}", tmp_path.display()))?;
        let mut tar_split = BufWriter::new(file);
        let stats = archive::apply_layer(input, &target, options, Some(&mut tar_split))?;
        let file =
            tar_split.into_inner().map_err(|e| Error::io("writing tar-split", e.into_error()))?;
        file.sync_data().ctx("syncing tar-split")?;
        if durable {
            // The layer's files, their directories and the tar-split all reach the disk before
            // the rename that makes the tar-split the layer's; the caller then records the
            // layer complete (a durable record write).
            // (The tar-split itself was synced just above.)
            crate::atomic_file::sync_file_system(&target)?;
        }
        fs::rename(&tmp_path, &tar_split_path)
            .ctx(format_args!("renaming {}", tmp_path.display()))?;
        if durable {
            crate::atomic_file::sync_dir(&tar_split_path.with_file_name(""))?;
        }
        Ok(stats)
    })();
    let stats = match result {
        Ok(stats) => stats,
        Err(e) => {
            // The half-written tar-split is ours alone (a temporary name); losing it is harmless.
            let _ = fs::remove_file(&tmp_path);
            return Err(e);
        }
    };
    let record = layers.records.get_mut(id).expect("layer looked up above");
    record.compressed_digest = stats.compressed_digest;
    record.compressed_size = stats.compressed_size as i64;
    record.uncompressed_digest = stats.uncompressed_digest;
    record.uncompressed_size = stats.uncompressed_size as i64;
    record.compression = stats.compression as i32;
    record.uid_set = stats.uid_set;
    record.gid_set = stats.gid_set;
    Ok(())
}

//! Exporting an image of the store as an OCI image layout (or adding it, under a tag, to an
//! existing one) that `skopeo copy oci:DIR:TAG` reads: the config as stored, each layer's diff
//! as a blob, and the stored manifest when the layer blobs come out with the digests it names
//! (layers stored uncompressed, exported as stored), else a new OCI manifest with the same
//! config and annotations and the new layer descriptors. The image ID (config digest) and the
//! DiffIDs, hence c/image's layer IDs, are the same either way.
//!
//! Blobs are written to a temporary name in blobs/sha256 while they are digested, then renamed
//! to their digest; index.json is replaced atomically, moving the tag to the new manifest.

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::manifest::{
    self, bad_layout, parse, Descriptor, DocumentKind, Index, Manifest, REF_NAME,
};
use crate::atomic_file::write_atomic;
use crate::digest::DigestingWriter;
use crate::error::{Error, ErrorKind, IoContext, Result};
use crate::ids::{random_bytes, to_hex};
use crate::store::{DiffCompression, Store};

/// How layer blobs are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ExportCompression {
    /// As each layer was imported (a gzip layer is compressed again, so its digest changes).
    #[default]
    AsStored,
    Uncompressed,
    Gzip,
    Zstd,
}

#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    pub compression: ExportCompression,
}

/// Export image `key` to the layout at `layout_dir` (created if missing) under `tag` (none:
/// an untagged entry). Returns the digest of the manifest written.
pub fn export(
    store: &Store,
    key: &str,
    layout_dir: &Path,
    tag: Option<&str>,
    options: &ExportOptions,
) -> Result<String> {
    let image = store.image(key)?;
    let stored_bytes = store.image_big_data(&image.id, "manifest").map_err(|e| {
        Error::new(
            ErrorKind::NotSupported,
            format!(
                "image {} has no manifest to export (it was not stored from an image): {e}",
                image.id
            ),
        )
    })?;
    if manifest::document_kind(&stored_bytes, "the stored manifest")? != DocumentKind::Manifest {
        return Err(bad_layout(format!(
            "the manifest of image {} is not an image manifest",
            image.id
        )));
    }
    let stored: Manifest = parse(&stored_bytes, "the stored manifest")?;
    let config_bytes = store.image_big_data(&image.id, &stored.config.digest)?;

    let mut chain = Vec::new();
    let mut next = image.top_layer().map(String::from);
    while let Some(id) = next {
        let layer = store.layer(&id)?;
        next = layer.parent().map(String::from);
        chain.push(layer);
    }
    chain.reverse();
    if chain.len() != stored.layers.len() {
        return Err(Error::new(
            ErrorKind::NotSupported,
            format!(
                "image {} has {} layers but its manifest lists {}",
                image.id,
                chain.len(),
                stored.layers.len()
            ),
        ));
    }

    let blobs = layout_dirs(layout_dir)?;
    let mut layers = Vec::with_capacity(chain.len());
    for layer in &chain {
        let (compression, media_type) =
            match (options.compression, crate::archive::Compression::from_i32(layer.compression)) {
                (ExportCompression::Uncompressed, _)
                | (ExportCompression::AsStored, None | Some(crate::archive::Compression::None)) => {
                    (DiffCompression::Uncompressed, manifest::OCI_LAYER)
                }
                (ExportCompression::Zstd, _)
                | (ExportCompression::AsStored, Some(crate::archive::Compression::Zstd)) => {
                    (DiffCompression::Zstd, manifest::OCI_LAYER_ZSTD)
                }
                _ => (DiffCompression::Gzip, manifest::OCI_LAYER_GZIP),
            };
        let (digest, size) =
            write_blob(&blobs, |out| store.diff(None, &layer.id, compression, out))?;
        layers.push(Descriptor {
            media_type: media_type.to_string(),
            digest,
            size: size as i64,
            ..Default::default()
        });
    }

    let same_blobs = layers
        .iter()
        .zip(&stored.layers)
        .all(|(new, old)| new.digest == old.digest && new.size == old.size);
    let (manifest_bytes, media_type) = if same_blobs {
        let media_type = if stored.media_type.is_empty() {
            manifest::OCI_MANIFEST.to_string()
        } else {
            stored.media_type.clone()
        };
        (stored_bytes, media_type)
    } else {
        let rewritten = Manifest {
            schema_version: 2,
            media_type: manifest::OCI_MANIFEST.to_string(),
            config: Descriptor {
                media_type: manifest::OCI_CONFIG.to_string(),
                digest: stored.config.digest.clone(),
                size: config_bytes.len() as i64,
                ..Default::default()
            },
            layers,
            annotations: stored.annotations.clone(),
        };
        (
            serde_json::to_vec(&rewritten).expect("a manifest serialises"),
            manifest::OCI_MANIFEST.to_string(),
        )
    };
    write_blob(&blobs, |out| out.write_all(&config_bytes).ctx("writing the config"))?;
    let (manifest_digest, manifest_size) =
        write_blob(&blobs, |out| out.write_all(&manifest_bytes).ctx("writing the manifest"))?;

    let entry = Descriptor {
        media_type,
        digest: manifest_digest.clone(),
        size: manifest_size as i64,
        annotations: tag
            .map(|t| [(REF_NAME.to_string(), t.to_string())].into_iter().collect())
            .unwrap_or_default(),
        ..Default::default()
    };
    update_index(layout_dir, entry, tag)?;
    Ok(manifest_digest)
}

/// Create the layout's directories and oci-layout file where missing; returns blobs/sha256.
fn layout_dirs(layout_dir: &Path) -> Result<std::path::PathBuf> {
    let blobs = layout_dir.join("blobs").join("sha256");
    fs::create_dir_all(&blobs).ctx(format_args!("creating {}", blobs.display()))?;
    let marker = layout_dir.join("oci-layout");
    if !marker.exists() {
        write_atomic(&marker, br#"{"imageLayoutVersion": "1.0.0"}"#, 0o644, false)?;
    }
    Ok(blobs)
}

/// Write a blob through `fill` to a temporary file in `blobs`, then rename it to its digest.
fn write_blob(
    blobs: &Path,
    fill: impl FnOnce(&mut dyn Write) -> Result<()>,
) -> Result<(String, u64)> {
    let mut suffix = [0u8; 8];
    random_bytes(&mut suffix);
    let tmp = blobs.join(format!(".tmp-{}", to_hex(&suffix)));
    let result = (|| {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&tmp)
            .ctx(format_args!("creating {}", tmp.display()))?;
        let mut out = DigestingWriter::new(BufWriter::with_capacity(1 << 20, file));
        fill(&mut out)?;
        let (buffered, digester) = out.into_inner();
        let file: File = buffered
            .into_inner()
            .map_err(|e| Error::io(format_args!("writing {}", tmp.display()), e.into_error()))?;
        file.sync_data().ctx(format_args!("syncing {}", tmp.display()))?;
        let digest = digester.digest();
        fs::rename(&tmp, blobs.join(&digest["sha256:".len()..]))
            .ctx(format_args!("renaming {}", tmp.display()))?;
        Ok((digest, digester.count()))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Add `entry` to index.json (made if missing); an entry with the same tag loses it.
fn update_index(layout_dir: &Path, entry: Descriptor, tag: Option<&str>) -> Result<()> {
    let path = layout_dir.join("index.json");
    let mut index: Index = match fs::read(&path) {
        Ok(bytes) => parse(&bytes, "index.json")?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Index { schema_version: 2, ..Default::default() }
        }
        Err(e) => return Err(Error::io(format_args!("reading {}", path.display()), e)),
    };
    if let Some(tag) = tag {
        index.manifests.retain(|d| d.annotations.get(REF_NAME).map_or(true, |t| t != tag));
    }
    index.manifests.retain(|d| !(d.digest == entry.digest && d.annotations == entry.annotations));
    index.manifests.push(entry);
    write_atomic(&path, &serde_json::to_vec(&index).expect("an index serialises"), 0o644, false)
}

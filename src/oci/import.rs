//! Importing an image from an OCI image layout the way c/image's storage destination stores a
//! pulled image (`skopeo copy oci:DIR:TAG containers-storage:NAME`), so that podman, skopeo and
//! buildah see the same records they would have written and reuse the layers:
//!
//! - layer IDs: the first layer's is its DiffID's hex, each next one
//!   `sha256("<parent ID>+<DiffID hex>")` (c/image's layerID; not the OCI chain ID); a layer
//!   with that ID already in the store (or an additional one) is reused, not imported again;
//! - each new layer is filled from its blob in one pass with the blob digest as its compressed
//!   digest and the config's DiffID as its uncompressed digest, both verified while streaming
//!   (c/image 5.3x also refuses a layer whose DiffID differs from the config's);
//! - the image ID is the config digest's hex; its big data are the config under `"sha256:<hex>"`,
//!   the index the reference named (when it was one) under `"manifest-<digest>"`, the manifest
//!   under `"manifest-<digest>"` and `"manifest"`, in that order, then, as c/image 5.23 does for the
//!   c/storage 1.43 generation, an empty `"signature-<manifest hex>"` with metadata
//!   `{"signatures-sizes":{"<manifest digest>":[]}}` (5.3x: neither, metadata "{}"); created
//!   is the config's; the image digest the manifest's; the names are added as c/storage's AddNames does (moving them from other images).
//!
//! Atomic per image: before anything is created every blob is opened and its size checked; on a
//! later failure the layers made for this import are removed again (those that were there stay)
//! and no image record is left.

use std::path::Path;

use super::layout::{Layout, VerifiedBlob};
use super::manifest::{bad_layout, parse, Config, Platform};
use super::resolve::{resolve, Resolved};
use crate::compat::CompatLevel;
use crate::digest::sha256_of;
use crate::error::{Error, ErrorKind, Result};
use crate::record::Image;
use crate::store::{ImageOptions, LayerOptions, Retained, Store};
use crate::timestamp::Timestamp;

/// What `import` is asked to do besides reading the layout.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The platform whose manifest an index offers; `None`: this process's (`linux/<arch>`).
    pub platform: Option<Platform>,
    /// Names to give the image ("example.com/repo:tag"), taken from other images that have them.
    pub names: Vec<String>,
}

/// Where an import is, for progress reports.
#[derive(Debug, Clone, Copy)]
pub struct ImportProgress {
    /// Index of the layer being read (0 = base), and how many the manifest has.
    pub layer_index: usize,
    pub layer_count: usize,
    /// Bytes of this layer's blob read so far, and its size.
    pub done: u64,
    pub total: u64,
}

/// Called while layers are read; returning false cancels the import (`Cancelled`).
pub type ImportProgressFn<'a> = &'a mut dyn FnMut(&ImportProgress) -> bool;

/// The config's digest under which c/image keeps the config: the key is the digest itself.
pub fn config_key(config_digest: &str) -> String {
    config_digest.to_string()
}

/// c/image's big-data key of a manifest with this digest.
pub fn manifest_key(digest: &str) -> String {
    format!("manifest-{digest}")
}

/// c/image's layer ID for a layer with `diff_id` on `parent` (a layer ID), see the module doc.
pub fn layer_id(parent: Option<&str>, diff_id: &str) -> String {
    let hex = diff_id.strip_prefix("sha256:").unwrap_or(diff_id);
    match parent {
        None => hex.to_string(),
        Some(parent) => {
            sha256_of(format!("{parent}+{hex}").as_bytes())["sha256:".len()..].to_string()
        }
    }
}

/// Import the image `reference` names in the OCI layout at `layout_dir` (see the module doc).
pub fn import(
    store: &Store,
    layout_dir: &Path,
    reference: Option<&str>,
    options: &ImportOptions,
    progress: Option<ImportProgressFn>,
) -> Result<Image> {
    if store.is_read_only() {
        return Err(Error::new(
            ErrorKind::StoreReadOnly,
            format!("the store at {} is read-only", store.graph_root().display()),
        ));
    }
    let layout = Layout::open(layout_dir)?;
    let platform = options.platform.clone().unwrap_or_else(Platform::host);
    let resolved = resolve(&layout, reference, &platform)?;
    let config_bytes = layout.read_blob(&resolved.manifest.config, "config")?;
    let config: Config = parse(&config_bytes, "the image config")?;
    if !config.os.is_empty() && config.os != platform.os {
        return Err(Error::new(
            ErrorKind::NoMatchingPlatform,
            format!("the image is for {}, not {}", config.os, platform.os),
        ));
    }
    let layers = &resolved.manifest.layers;
    if config.rootfs.diff_ids.len() != layers.len() {
        return Err(bad_layout(format!(
            "the manifest has {} layers but the config lists {} DiffIDs; images without DiffIDs cannot be imported",
            layers.len(),
            config.rootfs.diff_ids.len()
        )));
    }
    for diff_id in &config.rootfs.diff_ids {
        crate::digest::validate(diff_id)
            .map_err(|_| bad_layout(format!("the config has the invalid DiffID {diff_id:?}")))?;
    }
    // Every blob is there and has its size before anything is created.
    let mut blobs = Vec::with_capacity(layers.len());
    for descriptor in layers {
        blobs.push(layout.open_blob(descriptor)?);
    }

    let mut made = Vec::new();
    let result = (|| {
        // The layers this import relies on stay while it runs, whatever a concurrent
        // delete-image of another image would remove.
        let retained = Retained::new(store)?;
        let top =
            put_layers(store, &retained, &config.rootfs.diff_ids, blobs, progress, &mut made)?;
        commit_image(store, &resolved, &config_bytes, &config, top.as_deref(), &options.names)
    })();
    if result.is_err() {
        // Children first; a layer someone else started using meanwhile (skopeo reusing it for
        // an image of its own) stays.
        for id in made.iter().rev() {
            let _ = store.delete_layer(id);
        }
    }
    result
}

/// Find or create each layer in turn; returns the top layer's ID. IDs of layers created are
/// pushed to `made` as they are.
fn put_layers(
    store: &Store,
    retained: &Retained,
    diff_ids: &[String],
    blobs: Vec<super::layout::Blob>,
    mut progress: Option<ImportProgressFn>,
    made: &mut Vec<String>,
) -> Result<Option<String>> {
    let layer_count = blobs.len();
    let mut parent: Option<String> = None;
    for (index, (blob, diff_id)) in blobs.into_iter().zip(diff_ids).enumerate() {
        let id = layer_id(parent.as_deref(), diff_id);
        retained.add(&id)?;
        if store.layer(&id).is_err() {
            let options = LayerOptions {
                id: Some(id.clone()),
                parent: parent.clone(),
                compressed_digest: Some(blob.digest.clone()),
                uncompressed_digest: Some(diff_id.clone()),
                ..Default::default()
            };
            let total = blob.size;
            let mut reader = VerifiedBlob::new(blob, false);
            let outcome = match progress.as_mut() {
                Some(report) => {
                    let mut hook = |done: u64| {
                        report(&ImportProgress { layer_index: index, layer_count, done, total })
                    };
                    store.put_layer(&options, &mut reader, Some(&mut hook))
                }
                None => store.put_layer(&options, &mut reader, None),
            };
            match outcome {
                Ok(layer) => made.push(layer.id),
                // Someone (skopeo, another import) made the same layer meanwhile: c/image
                // takes it too.
                Err(e) if e.kind() == ErrorKind::DuplicateId => {}
                // A corrupt compressed blob usually fails in the decompressor before its
                // digest is known: say it is the blob that is wrong, if it is.
                Err(e) if e.kind() == ErrorKind::BadArchive => {
                    let cause = match reader.into_blob().check_digest() {
                        Err(mismatch) if mismatch.kind() == ErrorKind::DigestMismatch => {
                            Error::new(
                                ErrorKind::DigestMismatch,
                                format!("{mismatch} (reading it failed: {e})"),
                            )
                        }
                        _ => e,
                    };
                    return Err(cause.context(format_args!("layer {index} ({diff_id})")));
                }
                Err(e) => return Err(e.context(format_args!("layer {index} ({diff_id})"))),
            }
        } else if let Some(report) = progress.as_mut() {
            if !report(&ImportProgress {
                layer_index: index,
                layer_count,
                done: blob.size,
                total: blob.size,
            }) {
                return Err(Error::new(
                    ErrorKind::Cancelled,
                    "image import cancelled by the progress callback",
                ));
            }
        }
        parent = Some(id);
    }
    Ok(parent)
}

/// Create the image record with its big data, or complete an image with the same ID and top
/// layer that exists already (as c/image does), then add the names.
fn commit_image(
    store: &Store,
    resolved: &Resolved,
    config_bytes: &[u8],
    config: &Config,
    top: Option<&str>,
    names: &[String],
) -> Result<Image> {
    let config_digest = &resolved.manifest.config.digest;
    let id = config_digest.strip_prefix("sha256:").unwrap_or(config_digest).to_string();
    let mut big_data = vec![(config_key(config_digest), config_bytes.to_vec())];
    if let Some((bytes, digest)) = &resolved.toplevel {
        big_data.push((manifest_key(digest), bytes.clone()));
    }
    big_data.push((manifest_key(&resolved.manifest_digest), resolved.manifest_bytes.clone()));
    big_data.push(("manifest".to_string(), resolved.manifest_bytes.clone()));
    // c/image 5.23 (beside c/storage 1.43) stores the manifest's signatures even when there are
    // none, as an empty item, with their sizes in the metadata; 5.3x (beside 1.57) stores
    // neither and leaves the metadata "{}". A layout carries no signatures.
    let metadata = if store.options().compat == CompatLevel::V1_43 {
        let manifest_hex =
            resolved.manifest_digest.strip_prefix("sha256:").unwrap_or(&resolved.manifest_digest);
        big_data.push((format!("signature-{manifest_hex}"), Vec::new()));
        serde_json::json!({ "signatures-sizes": { resolved.manifest_digest.as_str(): [] } })
            .to_string()
    } else {
        "{}".to_string()
    };
    let options = ImageOptions {
        id: Some(id.clone()),
        metadata,
        created: config.created.as_deref().and_then(Timestamp::parse),
        big_data,
        ..Default::default()
    };
    let existed = match store.create_image(top, &options) {
        Ok(_) => false,
        Err(e) if e.kind() == ErrorKind::DuplicateId => {
            let existing = store.image(&id)?;
            if existing.top_layer() != top {
                return Err(Error::new(
                    ErrorKind::DuplicateId,
                    format!("image {id} exists already on other layers"),
                ));
            }
            for (key, data) in &options.big_data {
                store.set_image_big_data(&id, key, data)?;
            }
            store.set_metadata(&id, &options.metadata)?;
            true
        }
        Err(e) => return Err(e),
    };
    if !names.is_empty() {
        if let Err(e) = store.add_names(&id, names) {
            if !existed {
                let _ = store.delete_image(&id, true);
            }
            return Err(e);
        }
    }
    store.image(&id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_ids_follow_c_image() {
        let diff = "sha256:0000000000000000000000000000000000000000000000000000000000000001";
        assert_eq!(layer_id(None, diff), &diff[7..]);
        let expected = sha256_of(format!("{}+{}", &diff[7..], &diff[7..]).as_bytes());
        assert_eq!(layer_id(Some(&diff[7..]), diff), expected[7..]);
    }
}

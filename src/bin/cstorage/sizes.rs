//! The sizes `image` and `container` print, computed as c/storage's ImageSize and
//! ContainerSize do: layer diff sizes (the recorded size when the layer came from a tar stream,
//! else the size of its changes against its parent), plus big data, plus (containers) the files
//! in the container's directories.
//!
//! Stopgap: libcstorage's `Store` does not yet offer the diff size of a layer without a recorded
//! size, so it is measured here by comparing the driver's directories (right for vfs, the only
//! driver of this build). Switch to the store's function when it lands.

use std::collections::HashSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use cstorage::{Error, Layer, Store};

/// The size of one layer's diff.
pub fn layer_size(store: &Store, layer: &Layer) -> cstorage::Result<i64> {
    if !layer.uncompressed_digest.is_empty() && layer.uncompressed_size >= 0 {
        return Ok(layer.uncompressed_size);
    }
    let dir = store.layer_diff_dir(&layer.id)?;
    let parent_dir = match layer.parent() {
        Some(parent) => Some(store.layer_diff_dir(parent)?),
        None => None,
    };
    Ok(cstorage::archive::diff_size(parent_dir.as_deref(), &dir)? as i64)
}

/// Go's ImageSize: every layer of the image's chain (and of its mapped top layers) once, plus
/// the sizes of its big-data items.
pub fn image_size(store: &Store, image_id: &str) -> cstorage::Result<i64> {
    let image = store.image(image_id)?;
    let mut queue: Vec<String> = std::iter::once(image.top_layer.clone())
        .chain(image.mapped_top_layers.iter().cloned())
        .filter(|id| !id.is_empty())
        .collect();
    let mut visited = HashSet::new();
    let mut size: i64 = image.big_data_sizes.values().sum();
    while let Some(id) = queue.pop() {
        if !visited.insert(id.clone()) {
            continue;
        }
        let layer = store.layer(&id)?;
        size += layer_size(store, &layer).map_err(|e| e.context(format_args!("size of layer {id} could not be calculated")))?;
        if let Some(parent) = layer.parent() {
            queue.push(parent.to_string());
        }
    }
    Ok(size)
}

/// Go's ContainerSize: the read-write layer's diff, big data, and the files in the container's
/// data and run directories (which, as in Go, this creates if missing).
pub fn container_size(store: &Store, container_id: &str) -> cstorage::Result<i64> {
    let data_dir = store.container_directory(container_id)?;
    let run_dir = store.container_run_directory(container_id)?;
    let container = store.container(container_id)?;
    let layer = store.layer(&container.layer)?;
    let mut size = layer_size(store, &Layer { uncompressed_digest: String::new(), ..layer })?;
    size += container.big_data_sizes.values().sum::<i64>();
    size += files_size(&data_dir)? + files_size(&run_dir)?;
    Ok(size)
}

/// Bytes in the non-directory files under `dir`, hardlinked files counted once.
fn files_size(dir: &Path) -> cstorage::Result<i64> {
    fn walk(path: &Path, seen: &mut HashSet<u64>, total: &mut i64) -> std::io::Result<()> {
        let meta = fs::symlink_metadata(path)?;
        if !seen.insert(meta.ino()) {
            return Ok(());
        }
        if meta.is_dir() {
            for entry in fs::read_dir(path)? {
                walk(&entry?.path(), seen, total)?;
            }
        } else {
            *total += meta.size() as i64;
        }
        Ok(())
    }
    let mut total = 0;
    walk(dir, &mut HashSet::new(), &mut total).map_err(|e| Error::io(format_args!("measuring {}", dir.display()), e))?;
    Ok(total)
}

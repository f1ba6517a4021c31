//! Layers: options, creation, snapshots (`cs_layer`) and lists of them, deletion, big data and
//! mounting. Layer contents as tar streams (import, apply diff, export) are in `layer_archive`,
//! changes and diff size in `layer_changes`.

use std::ffi::CString;
use std::io::{self, Read};
use std::os::raw::{c_char, c_int};
use std::ptr;

use super::arguments::lent_fd;
use super::boundary::into_handle;
use super::error::cs_error;
use super::id_map::cs_id_map;
use super::result::cs_result;
use super::store_handle::cs_store;
use super::streams::ProgressCallback;
use super::strings::{c_string, cs_strarray, owned_bytes, owned_c_string, strarray};
use crate::error::IoContext;
use crate::record::Layer;
use crate::store::LayerOptions;

/// What `cs_layer_create` makes, built with the `cs_layer_options_*` setters.
pub struct cs_layer_options {
    pub(super) options: LayerOptions,
    /// Called during imports (`cs_layer_import*`); see `cs_layer_options_set_progress`.
    pub(super) progress: Option<ProgressCallback>,
}

/// A snapshot of one layer, owned by the caller: later changes to the store do not show in it.
/// Strings from its getters live as long as the snapshot. Free it with `cs_layer_free`.
pub struct cs_layer {
    layer: Layer,
    id: CString,
    parent: CString,
    names: Vec<CString>,
    metadata: CString,
    mount_label: CString,
    compressed_digest: CString,
    uncompressed_digest: CString,
    mount_point: CString,
    json: CString,
}

impl From<Layer> for cs_layer {
    fn from(layer: Layer) -> Self {
        cs_layer {
            id: c_string(&layer.id),
            parent: c_string(&layer.parent),
            names: layer.names.iter().map(|n| c_string(n)).collect(),
            metadata: c_string(&layer.metadata),
            mount_label: c_string(&layer.mount_label),
            compressed_digest: c_string(&layer.compressed_digest),
            uncompressed_digest: c_string(&layer.uncompressed_digest),
            mount_point: c_string(&layer.mount_point),
            json: c_string(&layer.to_json()),
            layer,
        }
    }
}

/// Snapshots of several layers, owned by the caller. Free with `cs_layer_list_free`.
pub struct cs_layer_list {
    layers: Vec<cs_layer>,
}

pub(super) fn layer_list(layers: Vec<Layer>) -> *mut cs_layer_list {
    into_handle(cs_layer_list { layers: layers.into_iter().map(cs_layer::from).collect() })
}

/// New layer options: a random ID, no parent, no names. Free with `cs_layer_options_free`.
/// NULL only if the library panicked.
#[no_mangle]
pub extern "C" fn cs_layer_options_new() -> *mut cs_layer_options {
    boundary!(=> { into_handle(cs_layer_options { options: LayerOptions::default(), progress: None }) })
}

/// Free layer options. NULL is allowed.
#[no_mangle]
pub extern "C" fn cs_layer_options_free(options: *mut cs_layer_options) {
    boundary!(options: owned => { drop(options) })
}

/// The new layer's ID, one path component (c/storage makes 64 lowercase hex digits); NULL for a
/// random one.
#[no_mangle]
pub extern "C" fn cs_layer_options_set_id(
    options: *mut cs_layer_options,
    id: *const c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut, id: opt_str => {
        options.options.id = id.map(String::from);
        Ok(())
    })
}

/// The parent layer (ID, name or ID prefix); NULL or "" for a base layer (as in Go).
#[no_mangle]
pub extern "C" fn cs_layer_options_set_parent(
    options: *mut cs_layer_options,
    parent: *const c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut, parent: opt_str => {
        options.options.parent = parent.map(String::from);
        Ok(())
    })
}

/// Whether containers will write to the layer (c/storage's `writeable`; default false: an image
/// layer, what c/image makes). With a split image store, layers that are not writeable keep
/// their data under the image store and writeable ones under the graph root, as in c/storage
/// 1.57; elsewhere it changes nothing.
#[no_mangle]
pub extern "C" fn cs_layer_options_set_writeable(
    options: *mut cs_layer_options,
    writeable: bool,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut => {
        options.options.writeable = writeable;
        Ok(())
    })
}

/// Add a name; names are unique among layers (`CS_RESULT_DUPLICATE_NAME` at creation).
#[no_mangle]
pub extern "C" fn cs_layer_options_add_name(
    options: *mut cs_layer_options,
    name: *const c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut, name: str => {
        options.options.names.push(name.to_string());
        Ok(())
    })
}

/// The SELinux label to mount the layer with.
#[no_mangle]
pub extern "C" fn cs_layer_options_set_mount_label(
    options: *mut cs_layer_options,
    label: *const c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut, label: str => {
        options.options.mount_label = label.to_string();
        Ok(())
    })
}

/// A free-form metadata string stored with the layer.
#[no_mangle]
pub extern "C" fn cs_layer_options_set_metadata(
    options: *mut cs_layer_options,
    metadata: *const c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut, metadata: str => {
        options.options.metadata = metadata.to_string();
        Ok(())
    })
}

/// The uid map the layer's files are written with (`count` maps; `maps` may be NULL when
/// `count` is 0, the identity).
#[no_mangle]
pub extern "C" fn cs_layer_options_set_uid_map(
    options: *mut cs_layer_options,
    maps: *const cs_id_map,
    count: usize,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut, maps: id_maps(count) => {
        options.options.uid_map = maps;
        Ok(())
    })
}

/// The gid map the layer's files are written with (`count` maps; `maps` may be NULL when
/// `count` is 0, the identity).
#[no_mangle]
pub extern "C" fn cs_layer_options_set_gid_map(
    options: *mut cs_layer_options,
    maps: *const cs_id_map,
    count: usize,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut, maps: id_maps(count) => {
        options.options.gid_map = maps;
        Ok(())
    })
}

/// The digest ("sha256:...") the layer's compressed tar stream must have, when the caller
/// knows it: importing the layer checks it. An empty layer (`cs_layer_create`) records no
/// digests. NULL unsets it.
#[no_mangle]
pub extern "C" fn cs_layer_options_set_compressed_digest(
    options: *mut cs_layer_options,
    digest: *const c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut, digest: opt_str => {
        options.options.compressed_digest = digest.map(String::from);
        Ok(())
    })
}

/// The digest ("sha256:...") the layer's uncompressed tar stream (its diff ID) must have,
/// when the caller knows it: importing the layer checks it. An empty layer (`cs_layer_create`)
/// records no digests. NULL unsets it.
#[no_mangle]
pub extern "C" fn cs_layer_options_set_uncompressed_digest(
    options: *mut cs_layer_options,
    digest: *const c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut, digest: opt_str => {
        options.options.uncompressed_digest = digest.map(String::from);
        Ok(())
    })
}

/// Go's CreateLayer: an empty layer (a copy of its parent's contents). `options` may be NULL.
/// On success `*layer` receives a snapshot of the new layer.
#[no_mangle]
pub extern "C" fn cs_layer_create(
    store: *const cs_store,
    options: *const cs_layer_options,
    layer: *mut *mut cs_layer,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, options: opt_handle, layer: out => {
        let created = match options {
            Some(options) => store.create_layer(&options.options)?,
            None => store.create_layer(&LayerOptions::default())?,
        };
        layer.write(into_handle(cs_layer::from(created)));
        Ok(())
    })
}

/// A snapshot of the layer `key` names (ID, name or unique ID prefix); `CS_RESULT_LAYER_UNKNOWN`
/// if none.
#[no_mangle]
pub extern "C" fn cs_layer_get(
    store: *const cs_store,
    key: *const c_char,
    layer: *mut *mut cs_layer,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, key: str, layer: out => {
        layer.write(into_handle(cs_layer::from(store.layer(key)?)));
        Ok(())
    })
}

/// Free a layer snapshot. NULL is allowed.
#[no_mangle]
pub extern "C" fn cs_layer_free(layer: *mut cs_layer) {
    boundary!(layer: owned => { drop(layer) })
}

/// The layer's ID. NULL for NULL.
#[no_mangle]
pub extern "C" fn cs_layer_id(layer: *const cs_layer) -> *const c_char {
    boundary!(layer: handle => { layer.id.as_ptr() })
}

/// The parent layer's ID, "" for a base layer. NULL for NULL.
#[no_mangle]
pub extern "C" fn cs_layer_parent(layer: *const cs_layer) -> *const c_char {
    boundary!(layer: handle => { layer.parent.as_ptr() })
}

/// How many names the layer has.
#[no_mangle]
pub extern "C" fn cs_layer_names_count(layer: *const cs_layer) -> usize {
    boundary!(layer: handle => { layer.names.len() })
}

/// The layer's name number `index`; NULL when `index` is out of range.
#[no_mangle]
pub extern "C" fn cs_layer_name(layer: *const cs_layer, index: usize) -> *const c_char {
    boundary!(layer: handle => { layer.names.get(index).map_or(ptr::null(), |n| n.as_ptr()) })
}

/// The layer's metadata string ("" if none). NULL for NULL.
#[no_mangle]
pub extern "C" fn cs_layer_metadata(layer: *const cs_layer) -> *const c_char {
    boundary!(layer: handle => { layer.metadata.as_ptr() })
}

/// The layer's mount label ("" if none). NULL for NULL.
#[no_mangle]
pub extern "C" fn cs_layer_mount_label(layer: *const cs_layer) -> *const c_char {
    boundary!(layer: handle => { layer.mount_label.as_ptr() })
}

/// The digest of the compressed tar stream the layer was made from ("" if unknown).
#[no_mangle]
pub extern "C" fn cs_layer_compressed_digest(layer: *const cs_layer) -> *const c_char {
    boundary!(layer: handle => { layer.compressed_digest.as_ptr() })
}

/// The size of the compressed tar stream the layer was made from (0 if unknown).
#[no_mangle]
pub extern "C" fn cs_layer_compressed_size(layer: *const cs_layer) -> i64 {
    boundary!(layer: handle => { layer.layer.compressed_size })
}

/// The digest of the layer's uncompressed tar stream, its diff ID ("" if unknown).
#[no_mangle]
pub extern "C" fn cs_layer_uncompressed_digest(layer: *const cs_layer) -> *const c_char {
    boundary!(layer: handle => { layer.uncompressed_digest.as_ptr() })
}

/// The size of the layer's uncompressed tar stream (0 if unknown).
#[no_mangle]
pub extern "C" fn cs_layer_uncompressed_size(layer: *const cs_layer) -> i64 {
    boundary!(layer: handle => { layer.layer.uncompressed_size })
}

/// When the layer was created, in nanoseconds since the Unix epoch.
#[no_mangle]
pub extern "C" fn cs_layer_created(layer: *const cs_layer) -> i64 {
    boundary!(layer: handle => { layer.layer.created.unix_nanos() })
}

/// Whether the layer comes from a read-only additional store.
#[no_mangle]
pub extern "C" fn cs_layer_read_only(layer: *const cs_layer) -> bool {
    boundary!(layer: handle => { layer.layer.read_only })
}

/// Where the layer was mounted when the snapshot was taken ("" if it was not).
#[no_mangle]
pub extern "C" fn cs_layer_mount_point(layer: *const cs_layer) -> *const c_char {
    boundary!(layer: handle => { layer.mount_point.as_ptr() })
}

/// How many times the layer was mounted when the snapshot was taken.
#[no_mangle]
pub extern "C" fn cs_layer_mount_count(layer: *const cs_layer) -> u32 {
    boundary!(layer: handle => { layer.layer.mount_count })
}

/// The layer as c/storage writes it in layers.json (its field names, no mount state).
#[no_mangle]
pub extern "C" fn cs_layer_json(layer: *const cs_layer) -> *const c_char {
    boundary!(layer: handle => { layer.json.as_ptr() })
}

/// Snapshots of all layers, oldest first. Free `*list` with `cs_layer_list_free`.
#[no_mangle]
pub extern "C" fn cs_store_layers(
    store: *const cs_store,
    list: *mut *mut cs_layer_list,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, list: out => {
        list.write(layer_list(store.layers()?));
        Ok(())
    })
}

/// Snapshots of the layers whose compressed tar stream has `digest` (maybe none).
#[no_mangle]
pub extern "C" fn cs_store_layers_by_compressed_digest(
    store: *const cs_store,
    digest: *const c_char,
    list: *mut *mut cs_layer_list,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, digest: str, list: out => {
        list.write(layer_list(store.layers_by_compressed_digest(digest)?));
        Ok(())
    })
}

/// Snapshots of the layers whose uncompressed tar stream has `digest` (maybe none).
#[no_mangle]
pub extern "C" fn cs_store_layers_by_uncompressed_digest(
    store: *const cs_store,
    digest: *const c_char,
    list: *mut *mut cs_layer_list,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, digest: str, list: out => {
        list.write(layer_list(store.layers_by_uncompressed_digest(digest)?));
        Ok(())
    })
}

/// How many layers the list holds; 0 for NULL.
#[no_mangle]
pub extern "C" fn cs_layer_list_len(list: *const cs_layer_list) -> usize {
    boundary!(list: handle => { list.layers.len() })
}

/// The layer at `index`, borrowed: valid as long as the list, not to be freed. NULL when
/// `index` is out of range.
#[no_mangle]
pub extern "C" fn cs_layer_list_get(list: *const cs_layer_list, index: usize) -> *const cs_layer {
    boundary!(list: handle => { list.layers.get(index).map_or(ptr::null(), |l| l as *const cs_layer) })
}

/// Free a list and the snapshots in it. NULL is allowed.
#[no_mangle]
pub extern "C" fn cs_layer_list_free(list: *mut cs_layer_list) {
    boundary!(list: owned => { drop(list) })
}

/// Go's DeleteLayer: refused while the layer has children (`CS_RESULT_LAYER_HAS_CHILDREN`), is
/// an image's top layer (`CS_RESULT_LAYER_USED_BY_IMAGE`) or a container's layer
/// (`CS_RESULT_LAYER_USED_BY_CONTAINER`).
#[no_mangle]
pub extern "C" fn cs_layer_delete(
    store: *const cs_store,
    key: *const c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, key: str => { store.delete_layer(key) })
}

/// The size of the layer's contents as recorded when it was populated from a tar stream;
/// `CS_RESULT_SIZE_UNKNOWN` for a layer that never was (such as one from `cs_layer_create`).
#[no_mangle]
pub extern "C" fn cs_layer_size(
    store: *const cs_store,
    key: *const c_char,
    size: *mut i64,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, key: str, size: out => {
        size.write(store.layer_size(key)?);
        Ok(())
    })
}

/// Store `len` bytes (`data` may be NULL when `len` is 0) as the layer's big-data item `key`,
/// replacing any item of that key.
#[no_mangle]
pub extern "C" fn cs_layer_set_big_data(
    store: *const cs_store,
    layer: *const c_char,
    key: *const c_char,
    data: *const u8,
    len: usize,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, layer: str, key: str, data: bytes(len) => {
        store.set_layer_big_data(layer, key, &mut &*data)
    })
}

/// The layer's big-data item `key` (`CS_RESULT_BIG_DATA_UNKNOWN` if it has none): `*data`
/// receives a buffer to free with `cs_bytes_free` (not NULL, also when empty), `*len` its length.
#[no_mangle]
pub extern "C" fn cs_layer_big_data(
    store: *const cs_store,
    layer: *const c_char,
    key: *const c_char,
    data: *mut *mut u8,
    len: *mut usize,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, layer: str, key: str, data: out, len: out => {
        let mut item = Vec::new();
        store.layer_big_data(layer, key)?.read_to_end(&mut item).ctx(format_args!("reading big-data item {key:?}"))?;
        data.write(owned_bytes(&item)?);
        len.write(item.len());
        Ok(())
    })
}

/// Store everything readable from `fd` (up to end of file) as the layer's big-data item `key`.
/// The descriptor is only borrowed: it stays open, its offset at the end of what was read.
#[no_mangle]
pub extern "C" fn cs_layer_set_big_data_fd(
    store: *const cs_store,
    layer: *const c_char,
    key: *const c_char,
    fd: c_int,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, layer: str, key: str => {
        store.set_layer_big_data(layer, key, &mut lent_fd(fd, "fd")?)
    })
}

/// Write the layer's big-data item `key` to `fd` (`CS_RESULT_BIG_DATA_UNKNOWN` if it has none).
/// The descriptor is only borrowed: it stays open.
#[no_mangle]
pub extern "C" fn cs_layer_big_data_fd(
    store: *const cs_store,
    layer: *const c_char,
    key: *const c_char,
    fd: c_int,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, layer: str, key: str => {
        let mut item = store.layer_big_data(layer, key)?;
        let mut to = lent_fd(fd, "fd")?;
        io::copy(&mut item, &mut to).map(drop).ctx(format_args!("writing big-data item {key:?} to file descriptor {fd}"))
    })
}

/// The keys of the layer's big-data items. Dispose of `*names` with `cs_strarray_dispose`.
#[no_mangle]
pub extern "C" fn cs_layer_big_data_names(
    store: *const cs_store,
    layer: *const c_char,
    names: *mut cs_strarray,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, layer: str, names: out => {
        names.write(strarray(store.layer_big_data_names(layer)?));
        Ok(())
    })
}

/// Mount the layer (or, if `key` names a container, the container's layer) and return where
/// in `*path` (free with `cs_string_free`). `mount_label` may be NULL for the layer's own. Mounts
/// are counted, across processes: each needs its `cs_layer_unmount`.
#[no_mangle]
pub extern "C" fn cs_layer_mount(
    store: *const cs_store,
    key: *const c_char,
    mount_label: *const c_char,
    path: *mut *mut c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, key: str, mount_label: opt_str, path: out => {
        let mounted = store.mount(key, mount_label.unwrap_or(""), &[])?;
        path.write(owned_c_string(&mounted.to_string_lossy()));
        Ok(())
    })
}

/// Release one mount of the layer (all of them with `force`); `CS_RESULT_LAYER_NOT_MOUNTED` if
/// it is not mounted. `*still_mounted` (may be NULL) tells whether other mounts remain.
#[no_mangle]
pub extern "C" fn cs_layer_unmount(
    store: *const cs_store,
    key: *const c_char,
    force: bool,
    still_mounted: *mut bool,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, key: str, still_mounted: opt_out => {
        let remaining = store.unmount(key, force)?;
        if let Some(out) = still_mounted {
            out.write(remaining);
        }
        Ok(())
    })
}

/// How many times the layer is mounted (0 if it is not).
#[no_mangle]
pub extern "C" fn cs_layer_mounted(
    store: *const cs_store,
    key: *const c_char,
    count: *mut u32,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, key: str, count: out => {
        count.write(store.mounted(key)?);
        Ok(())
    })
}

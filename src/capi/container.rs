//! Containers: options, creation (with a read-write layer), snapshots (`cs_container`) and lists
//! of them, big data, directories, deletion, mounting and size.

use std::ffi::CString;
use std::os::raw::c_char;
use std::ptr;

use super::boundary::into_handle;
use super::error::cs_error;
use super::id_map::cs_id_map;
use super::result::cs_result;
use super::store_handle::cs_store;
use super::strings::{c_string, cs_strarray, owned_bytes, owned_c_string, strarray};
use crate::record::Container;
use crate::store::ContainerOptions;

/// What `cs_container_create` makes, built with the `cs_container_options_*` setters.
pub struct cs_container_options {
    options: ContainerOptions,
}

/// A snapshot of one container, owned by the caller: later changes to the store do not show in
/// it. Strings from its getters live as long as the snapshot. Free it with `cs_container_free`.
pub struct cs_container {
    container: Container,
    id: CString,
    image: CString,
    layer: CString,
    names: Vec<CString>,
    metadata: CString,
    mount_label: CString,
    json: CString,
}

impl From<Container> for cs_container {
    fn from(container: Container) -> Self {
        cs_container {
            id: c_string(&container.id),
            image: c_string(&container.image),
            layer: c_string(&container.layer),
            names: container.names.iter().map(|n| c_string(n)).collect(),
            metadata: c_string(&container.metadata),
            mount_label: c_string(container.mount_label()),
            json: c_string(&container.to_json()),
            container,
        }
    }
}

/// Snapshots of several containers, owned by the caller. Free with `cs_container_list_free`.
pub struct cs_container_list {
    containers: Vec<cs_container>,
}

/// New container options: a random ID, no names, the image's ID maps. Free with
/// `cs_container_options_free`. NULL only if the library panicked.
#[no_mangle]
pub extern "C" fn cs_container_options_new() -> *mut cs_container_options {
    boundary!(=> { into_handle(cs_container_options { options: ContainerOptions::default() }) })
}

/// Free container options. NULL is allowed.
#[no_mangle]
pub extern "C" fn cs_container_options_free(options: *mut cs_container_options) {
    boundary!(options: owned => { drop(options) })
}

/// The new container's ID, one path component (c/storage makes 64 lowercase hex digits); NULL
/// for a random one.
#[no_mangle]
pub extern "C" fn cs_container_options_set_id(
    options: *mut cs_container_options,
    id: *const c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut, id: opt_str => {
        options.options.id = id.map(String::from);
        Ok(())
    })
}

/// Add a name; names are unique among containers.
#[no_mangle]
pub extern "C" fn cs_container_options_add_name(
    options: *mut cs_container_options,
    name: *const c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut, name: str => {
        options.options.names.push(name.to_string());
        Ok(())
    })
}

/// A free-form metadata string stored with the container.
#[no_mangle]
pub extern "C" fn cs_container_options_set_metadata(
    options: *mut cs_container_options,
    metadata: *const c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut, metadata: str => {
        options.options.metadata = metadata.to_string();
        Ok(())
    })
}

/// The ID of the container's read-write layer; NULL for a random one.
#[no_mangle]
pub extern "C" fn cs_container_options_set_layer_id(
    options: *mut cs_container_options,
    layer_id: *const c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut, layer_id: opt_str => {
        options.options.layer_id = layer_id.map(String::from);
        Ok(())
    })
}

/// The SELinux label to mount the container's layer with. Set together with the process label
/// (`cs_container_options_set_process_label`) or not at all.
#[no_mangle]
pub extern "C" fn cs_container_options_set_mount_label(
    options: *mut cs_container_options,
    label: *const c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut, label: str => {
        options.options.mount_label = label.to_string();
        Ok(())
    })
}

/// The SELinux label of the container's processes. Set together with the mount label or not
/// at all (`CS_RESULT_INVALID_ARGUMENT` at creation otherwise).
#[no_mangle]
pub extern "C" fn cs_container_options_set_process_label(
    options: *mut cs_container_options,
    label: *const c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut, label: str => {
        options.options.process_label = label.to_string();
        Ok(())
    })
}

/// Add an option used whenever the container's layer is mounted (vfs accepts only "ro").
#[no_mangle]
pub extern "C" fn cs_container_options_add_mount_option(
    options: *mut cs_container_options,
    option: *const c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut, option: str => {
        options.options.mount_options.push(option.to_string());
        Ok(())
    })
}

/// Make the container volatile, as `podman run --rm` does: c/storage 1.45+ keeps it and its
/// layer in `volatile-containers.json` / `volatile-layers.json` (a store serving c/storage 1.43
/// keeps them with the others, flagged), and overlay mounts it with the kernel's `volatile`
/// option where supported (no syncs; its files may not survive a crash). Every container of a
/// transient store is volatile anyway.
#[no_mangle]
pub extern "C" fn cs_container_options_set_volatile(
    options: *mut cs_container_options,
    volatile: bool,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut => {
        options.options.volatile = volatile;
        Ok(())
    })
}

/// The container's uid map (`count` maps; `maps` may be NULL when `count` is 0). Without one
/// the container takes its image's top layer's map, else the store's default.
#[no_mangle]
pub extern "C" fn cs_container_options_set_uid_map(
    options: *mut cs_container_options,
    maps: *const cs_id_map,
    count: usize,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut, maps: id_maps(count) => {
        options.options.uid_map = maps;
        Ok(())
    })
}

/// The container's gid map (`count` maps; `maps` may be NULL when `count` is 0). Without one
/// the container takes its image's top layer's map, else the store's default.
#[no_mangle]
pub extern "C" fn cs_container_options_set_gid_map(
    options: *mut cs_container_options,
    maps: *const cs_id_map,
    count: usize,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut, maps: id_maps(count) => {
        options.options.gid_map = maps;
        Ok(())
    })
}

/// Go's CreateContainer: a container from `image` (ID, name or prefix; NULL or "" for none)
/// with a new read-write layer on the image's top layer. `options` may be NULL. On success
/// `*container` receives a snapshot of the new container.
#[no_mangle]
pub extern "C" fn cs_container_create(
    store: *const cs_store,
    image: *const c_char,
    options: *const cs_container_options,
    container: *mut *mut cs_container,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, image: opt_str, options: opt_handle, container: out => {
        let created = match options {
            Some(options) => store.create_container(image, &options.options)?,
            None => store.create_container(image, &ContainerOptions::default())?,
        };
        container.write(into_handle(cs_container::from(created)));
        Ok(())
    })
}

/// A snapshot of the container `key` names (ID, name, unique ID prefix or its layer's ID);
/// `CS_RESULT_CONTAINER_UNKNOWN` if none.
#[no_mangle]
pub extern "C" fn cs_container_get(
    store: *const cs_store,
    key: *const c_char,
    container: *mut *mut cs_container,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, key: str, container: out => {
        container.write(into_handle(cs_container::from(store.container(key)?)));
        Ok(())
    })
}

/// A snapshot of the container whose read-write layer is `layer` (ID, name or prefix).
#[no_mangle]
pub extern "C" fn cs_store_container_by_layer(
    store: *const cs_store,
    layer: *const c_char,
    container: *mut *mut cs_container,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, layer: str, container: out => {
        container.write(into_handle(cs_container::from(store.container_by_layer(layer)?)));
        Ok(())
    })
}

/// Free a container snapshot. NULL is allowed.
#[no_mangle]
pub extern "C" fn cs_container_free(container: *mut cs_container) {
    boundary!(container: owned => { drop(container) })
}

/// The container's ID. NULL for NULL.
#[no_mangle]
pub extern "C" fn cs_container_id(container: *const cs_container) -> *const c_char {
    boundary!(container: handle => { container.id.as_ptr() })
}

/// The ID of the image the container was made from, "" for none. NULL for NULL.
#[no_mangle]
pub extern "C" fn cs_container_image(container: *const cs_container) -> *const c_char {
    boundary!(container: handle => { container.image.as_ptr() })
}

/// The ID of the container's read-write layer. NULL for NULL.
#[no_mangle]
pub extern "C" fn cs_container_layer(container: *const cs_container) -> *const c_char {
    boundary!(container: handle => { container.layer.as_ptr() })
}

/// How many names the container has.
#[no_mangle]
pub extern "C" fn cs_container_names_count(container: *const cs_container) -> usize {
    boundary!(container: handle => { container.names.len() })
}

/// The container's name number `index`; NULL when `index` is out of range.
#[no_mangle]
pub extern "C" fn cs_container_name(container: *const cs_container, index: usize) -> *const c_char {
    boundary!(container: handle => { container.names.get(index).map_or(ptr::null(), |n| n.as_ptr()) })
}

/// The container's metadata string ("" if none). NULL for NULL.
#[no_mangle]
pub extern "C" fn cs_container_metadata(container: *const cs_container) -> *const c_char {
    boundary!(container: handle => { container.metadata.as_ptr() })
}

/// The container's mount label ("" if none). NULL for NULL.
#[no_mangle]
pub extern "C" fn cs_container_mount_label(container: *const cs_container) -> *const c_char {
    boundary!(container: handle => { container.mount_label.as_ptr() })
}

/// When the container was created, in nanoseconds since the Unix epoch.
#[no_mangle]
pub extern "C" fn cs_container_created(container: *const cs_container) -> i64 {
    boundary!(container: handle => { container.container.created.unix_nanos() })
}

/// The container as c/storage writes it in containers.json (its field names).
#[no_mangle]
pub extern "C" fn cs_container_json(container: *const cs_container) -> *const c_char {
    boundary!(container: handle => { container.json.as_ptr() })
}

/// Snapshots of all containers. Free `*list` with `cs_container_list_free`.
#[no_mangle]
pub extern "C" fn cs_store_containers(
    store: *const cs_store,
    list: *mut *mut cs_container_list,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, list: out => {
        list.write(container_list(store.containers()?));
        Ok(())
    })
}

pub(super) fn container_list(containers: Vec<Container>) -> *mut cs_container_list {
    into_handle(cs_container_list {
        containers: containers.into_iter().map(cs_container::from).collect(),
    })
}

/// How many containers the list holds; 0 for NULL.
#[no_mangle]
pub extern "C" fn cs_container_list_len(list: *const cs_container_list) -> usize {
    boundary!(list: handle => { list.containers.len() })
}

/// The container at `index`, borrowed: valid as long as the list, not to be freed. NULL when
/// `index` is out of range.
#[no_mangle]
pub extern "C" fn cs_container_list_get(
    list: *const cs_container_list,
    index: usize,
) -> *const cs_container {
    boundary!(list: handle => { list.containers.get(index).map_or(ptr::null(), |c| c as *const cs_container) })
}

/// Free a list and the snapshots in it. NULL is allowed.
#[no_mangle]
pub extern "C" fn cs_container_list_free(list: *mut cs_container_list) {
    boundary!(list: owned => { drop(list) })
}

/// Store `len` bytes (`data` may be NULL when `len` is 0) as the container's big-data item
/// `key`; its size and digest are recorded.
#[no_mangle]
pub extern "C" fn cs_container_set_big_data(
    store: *const cs_store,
    container: *const c_char,
    key: *const c_char,
    data: *const u8,
    len: usize,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, container: str, key: str, data: bytes(len) => {
        store.set_container_big_data(container, key, data)
    })
}

/// The container's big-data item `key` (`CS_RESULT_BIG_DATA_UNKNOWN` if it has none): `*data`
/// receives a buffer to free with `cs_bytes_free` (not NULL, also when empty), `*len` its length.
#[no_mangle]
pub extern "C" fn cs_container_big_data(
    store: *const cs_store,
    container: *const c_char,
    key: *const c_char,
    data: *mut *mut u8,
    len: *mut usize,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, container: str, key: str, data: out, len: out => {
        let item = store.container_big_data(container, key)?;
        data.write(owned_bytes(&item)?);
        len.write(item.len());
        Ok(())
    })
}

/// The size in bytes of the container's big-data item `key`.
#[no_mangle]
pub extern "C" fn cs_container_big_data_size(
    store: *const cs_store,
    container: *const c_char,
    key: *const c_char,
    size: *mut i64,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, container: str, key: str, size: out => {
        size.write(store.container_big_data_size(container, key)?);
        Ok(())
    })
}

/// The digest ("sha256:...") of the container's big-data item `key`. Free `*digest` with
/// `cs_string_free`.
#[no_mangle]
pub extern "C" fn cs_container_big_data_digest(
    store: *const cs_store,
    container: *const c_char,
    key: *const c_char,
    digest: *mut *mut c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, container: str, key: str, digest: out => {
        digest.write(owned_c_string(&store.container_big_data_digest(container, key)?));
        Ok(())
    })
}

/// The keys of the container's big-data items. Dispose of `*names` with `cs_strarray_dispose`.
#[no_mangle]
pub extern "C" fn cs_container_big_data_names(
    store: *const cs_store,
    container: *const c_char,
    names: *mut cs_strarray,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, container: str, names: out => {
        names.write(strarray(store.container_big_data_names(container)?));
        Ok(())
    })
}

/// The container's own directory in the graph root (created if missing), for the caller's files
/// (podman keeps the container's config there). Free `*path` with `cs_string_free`.
#[no_mangle]
pub extern "C" fn cs_container_directory(
    store: *const cs_store,
    key: *const c_char,
    path: *mut *mut c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, key: str, path: out => {
        path.write(owned_c_string(&store.container_directory(key)?.to_string_lossy()));
        Ok(())
    })
}

/// The container's own directory in the run root (created if missing), for runtime files.
/// Free `*path` with `cs_string_free`.
#[no_mangle]
pub extern "C" fn cs_container_run_directory(
    store: *const cs_store,
    key: *const c_char,
    path: *mut *mut c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, key: str, path: out => {
        path.write(owned_c_string(&store.container_run_directory(key)?.to_string_lossy()));
        Ok(())
    })
}

/// Delete the container, its read-write layer and both of its directories.
#[no_mangle]
pub extern "C" fn cs_container_delete(
    store: *const cs_store,
    key: *const c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, key: str => { store.delete_container(key) })
}

/// Mount the container's layer with the container's mount options and return where in `*path`
/// (free with `cs_string_free`). `mount_label` may be NULL for the container's own. Each mount
/// needs its `cs_container_unmount`.
#[no_mangle]
pub extern "C" fn cs_container_mount(
    store: *const cs_store,
    key: *const c_char,
    mount_label: *const c_char,
    path: *mut *mut c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, key: str, mount_label: opt_str, path: out => {
        let id = store.container(key)?.id;
        let mounted = store.mount(&id, mount_label.unwrap_or(""), &[])?;
        path.write(owned_c_string(&mounted.to_string_lossy()));
        Ok(())
    })
}

/// Release one mount of the container's layer (all with `force`); `CS_RESULT_LAYER_NOT_MOUNTED`
/// if it is not mounted. `*still_mounted` (may be NULL) tells whether other mounts remain.
#[no_mangle]
pub extern "C" fn cs_container_unmount(
    store: *const cs_store,
    key: *const c_char,
    force: bool,
    still_mounted: *mut bool,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, key: str, still_mounted: opt_out => {
        let id = store.container(key)?.id;
        let remaining = store.unmount(&id, force)?;
        if let Some(out) = still_mounted {
            out.write(remaining);
        }
        Ok(())
    })
}

/// How many times the container's layer is mounted (0 if it is not).
#[no_mangle]
pub extern "C" fn cs_container_mounted(
    store: *const cs_store,
    key: *const c_char,
    count: *mut u32,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, key: str, count: out => {
        let id = store.container(key)?.id;
        count.write(store.mounted(&id)?);
        Ok(())
    })
}

/// Go's ContainerSize: the size of the changes in the container's layer, its big data, and the
/// files in its two directories.
#[no_mangle]
pub extern "C" fn cs_container_size(
    store: *const cs_store,
    key: *const c_char,
    size: *mut i64,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, key: str, size: out => {
        size.write(store.container_size(key)?);
        Ok(())
    })
}

//! Stores: options, opening and closing, the settings an open store reports, and the operations
//! on any kind of record (lookup, names, metadata, delete) that Go's `Store` offers by ID or
//! name. The `cs_store` handle itself is in `store_handle`.

use std::os::raw::c_char;
use std::path::PathBuf;
use std::ptr;

use super::boundary::into_handle;
use super::container::{container_list, cs_container_list};
use super::error::cs_error;
use super::id_map::cs_id_map;
use super::image::{cs_image_list, image_list};
use super::layer::{cs_layer_list, layer_list};
use super::result::cs_result;
use super::store_handle::cs_store;
use super::strings::{cs_strarray, owned_c_string, strarray};
use crate::compat::CompatLevel;
use crate::error::Error;
use crate::store::{Store, StoreOptions};

/// Settings for `cs_store_open`, built with the `cs_store_options_*` setters. Settings left
/// unset come from storage.conf and the environment, as in c/storage.
pub struct cs_store_options {
    options: StoreOptions,
}

/// New, empty store options (everything from storage.conf and the environment). Free with
/// `cs_store_options_free`. NULL only if the library panicked.
#[no_mangle]
pub extern "C" fn cs_store_options_new() -> *mut cs_store_options {
    boundary!(=> { into_handle(cs_store_options { options: StoreOptions::new() }) })
}

/// Free store options. NULL is allowed.
#[no_mangle]
pub extern "C" fn cs_store_options_free(options: *mut cs_store_options) {
    boundary!(options: owned => { drop(options) })
}

/// The directory of the store's persistent data (c/storage's graph root); NULL unsets it.
#[no_mangle]
pub extern "C" fn cs_store_options_set_graph_root(
    options: *mut cs_store_options,
    path: *const c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut, path: opt_str => {
        options.options.graph_root = path.map(PathBuf::from);
        Ok(())
    })
}

/// The directory of the store's runtime state (c/storage's run root); NULL unsets it.
#[no_mangle]
pub extern "C" fn cs_store_options_set_run_root(
    options: *mut cs_store_options,
    path: *const c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut, path: opt_str => {
        options.options.run_root = path.map(PathBuf::from);
        Ok(())
    })
}

/// The storage driver ("vfs", "overlay"); NULL unsets it (the store then keeps the driver it
/// was made with, or picks one).
#[no_mangle]
pub extern "C" fn cs_store_options_set_driver(
    options: *mut cs_store_options,
    driver: *const c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut, driver: opt_str => {
        options.options.driver = driver.map(String::from);
        Ok(())
    })
}

/// Add a driver option, "key=value" or "driver.key=value" ("overlay.mountopt=nodev"). Options of
/// other drivers are ignored (c/storage refuses them), so one list serves whichever driver
/// opens the store. At `cs_store_open`, options c/storage knows but libcstorage does not
/// implement are logged as warnings; those no c/storage driver takes, and the few whose
/// neglect would make c/storage read the store differently (overlay's mount_program,
/// force_mask), fail with `CS_RESULT_CONFIG`.
#[no_mangle]
pub extern "C" fn cs_store_options_add_driver_option(
    options: *mut cs_store_options,
    option: *const c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut, option: str => {
        options.options.driver_options.push(option.to_string());
        Ok(())
    })
}

/// Read this storage.conf instead of the one c/storage would find ($CONTAINERS_STORAGE_CONF,
/// /etc/containers/storage.conf, /usr/share/containers/storage.conf); NULL unsets it.
#[no_mangle]
pub extern "C" fn cs_store_options_set_config_file(
    options: *mut cs_store_options,
    path: *const c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut, path: opt_str => {
        options.options.config_file = path.map(PathBuf::from);
        Ok(())
    })
}

/// Add an additional image store: the graph root of another store (an absolute path to an
/// existing directory, checked by `cs_store_open`, `CS_RESULT_CONFIG` otherwise) whose layers
/// and images are visible read-only after the store's own and after those named by driver
/// options (`<driver>.imagestore=`, storage.conf's `additionalimagestores`). Nothing in it is
/// ever written: its records are flagged read-only, changes to them fail as unknown, and
/// containers made from its images get their layer in this store.
#[no_mangle]
pub extern "C" fn cs_store_options_add_additional_image_store(
    options: *mut cs_store_options,
    path: *const c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut, path: str => {
        options.options.additional_image_stores.push(PathBuf::from(path));
        Ok(())
    })
}

/// Open the store read-only: nothing is created or changed, and changes fail with
/// `CS_RESULT_STORE_READ_ONLY`.
#[no_mangle]
pub extern "C" fn cs_store_options_set_read_only(
    options: *mut cs_store_options,
    read_only: bool,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut => {
        options.options.read_only = read_only;
        Ok(())
    })
}

/// The uid map given to containers created without maps and without an image (`count` maps;
/// `maps` may be NULL when `count` is 0).
#[no_mangle]
pub extern "C" fn cs_store_options_set_uid_map(
    options: *mut cs_store_options,
    maps: *const cs_id_map,
    count: usize,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut, maps: id_maps(count) => {
        options.options.uid_map = maps;
        Ok(())
    })
}

/// The gid map given to containers created without maps and without an image (`count` maps;
/// `maps` may be NULL when `count` is 0).
#[no_mangle]
pub extern "C" fn cs_store_options_set_gid_map(
    options: *mut cs_store_options,
    maps: *const cs_id_map,
    count: usize,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut, maps: id_maps(count) => {
        options.options.gid_map = maps;
        Ok(())
    })
}

/// Make the store transient (c/storage's transient store: container records kept in the run
/// root, gone at reboot) or not, whatever storage.conf's `transient_store` says.
#[no_mangle]
pub extern "C" fn cs_store_options_set_transient(
    options: *mut cs_store_options,
    transient: bool,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut => {
        options.options.transient = Some(transient);
        Ok(())
    })
}

/// The split image store (c/storage's `imagestore`): the root images are kept under, while
/// containers stay under the graph root; NULL unsets it (storage.conf's `[storage] imagestore`
/// then counts). `cs_store_open` fails with `CS_RESULT_CONFIG` unless it is an absolute path
/// other than the graph root.
#[no_mangle]
pub extern "C" fn cs_store_options_set_image_store(
    options: *mut cs_store_options,
    path: *const c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut, path: opt_str => {
        options.options.image_store = path.map(PathBuf::from);
        Ok(())
    })
}

/// The c/storage generation the store is shared with, "1.43" or "1.57" (the default): where
/// the two write different bytes (exports of layers without a tar-split), the library writes
/// what that generation writes. NULL unsets it (the `CSTORAGE_COMPAT` environment variable,
/// else "1.57"). Any other string fails with `CS_RESULT_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn cs_store_options_set_compat_level(
    options: *mut cs_store_options,
    level: *const c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut, level: opt_str => {
        options.options.compat = level.map(str::parse::<CompatLevel>).transpose()?;
        Ok(())
    })
}

/// Open (creating what is missing) the store `options` describe; NULL options means all from
/// storage.conf and the environment. On success `*store` receives a handle to free with
/// `cs_store_free`.
#[no_mangle]
pub extern "C" fn cs_store_open(
    options: *const cs_store_options,
    store: *mut *mut cs_store,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: opt_handle, store: out => {
        let opened = match options {
            Some(options) => Store::open(&options.options)?,
            None => Store::open(&StoreOptions::new())?,
        };
        store.write(into_handle(cs_store::from(opened)));
        Ok(())
    })
}

/// Close a store handle. Mounts stay (they are counted on disk); see `cs_store_shutdown`.
/// NULL is allowed.
#[no_mangle]
pub extern "C" fn cs_store_free(store: *mut cs_store) {
    boundary!(store: owned => { drop(store) })
}

/// Go's Shutdown: with `force`, unmount every mounted layer and release the driver; without,
/// do nothing if layers are mounted. `still_mounted` (may be NULL) receives the IDs of the layers
/// left mounted (empty after a forced shutdown); dispose of it with `cs_strarray_dispose`.
#[no_mangle]
pub extern "C" fn cs_store_shutdown(
    store: *const cs_store,
    force: bool,
    still_mounted: *mut cs_strarray,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, still_mounted: opt_out => {
        let mounted = store.shutdown(force)?;
        if let Some(out) = still_mounted {
            out.write(strarray(mounted));
        }
        Ok(())
    })
}

/// The store's graph root, absolute; valid as long as the store handle. NULL for NULL.
#[no_mangle]
pub extern "C" fn cs_store_graph_root(store: *const cs_store) -> *const c_char {
    boundary!(store: handle => { store.graph_root.as_ptr() })
}

/// The store's run root, absolute; valid as long as the store handle. NULL for NULL.
#[no_mangle]
pub extern "C" fn cs_store_run_root(store: *const cs_store) -> *const c_char {
    boundary!(store: handle => { store.run_root.as_ptr() })
}

/// The name of the store's driver ("vfs"); valid as long as the store handle. NULL for NULL.
#[no_mangle]
pub extern "C" fn cs_store_driver_name(store: *const cs_store) -> *const c_char {
    boundary!(store: handle => { store.driver_name.as_ptr() })
}

/// The driver options the store was opened with ("overlay.mountopt=nodev", ...; those of
/// storage.conf or `STORAGE_OPTS` when the caller gave none), as Go's GraphOptions returns
/// them. Dispose of `*driver_options` with `cs_strarray_dispose`.
#[no_mangle]
pub extern "C" fn cs_store_driver_options(
    store: *const cs_store,
    driver_options: *mut cs_strarray,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, driver_options: out => {
        driver_options.write(strarray(store.options().driver_options.clone()));
        Ok(())
    })
}

/// How many ranges the store's default uid map has (see `cs_store_uid_map`).
#[no_mangle]
pub extern "C" fn cs_store_uid_map_count(store: *const cs_store) -> usize {
    boundary!(store: handle => { store.uid_map.len() })
}

/// The store's default uid map, given to containers created without maps and without an
/// image: `cs_store_uid_map_count` ranges, valid as long as the store handle; NULL when there
/// are none (and for NULL).
#[no_mangle]
pub extern "C" fn cs_store_uid_map(store: *const cs_store) -> *const cs_id_map {
    boundary!(store: handle => { id_map_array(&store.uid_map) })
}

/// How many ranges the store's default gid map has (see `cs_store_gid_map`).
#[no_mangle]
pub extern "C" fn cs_store_gid_map_count(store: *const cs_store) -> usize {
    boundary!(store: handle => { store.gid_map.len() })
}

/// The store's default gid map, given to containers created without maps and without an
/// image: `cs_store_gid_map_count` ranges, valid as long as the store handle; NULL when there
/// are none (and for NULL).
#[no_mangle]
pub extern "C" fn cs_store_gid_map(store: *const cs_store) -> *const cs_id_map {
    boundary!(store: handle => { id_map_array(&store.gid_map) })
}

fn id_map_array(maps: &[cs_id_map]) -> *const cs_id_map {
    if maps.is_empty() {
        ptr::null()
    } else {
        maps.as_ptr()
    }
}

/// Whether the store is transient (the options' setting, else storage.conf's
/// `transient_store`). False for NULL.
#[no_mangle]
pub extern "C" fn cs_store_transient(store: *const cs_store) -> bool {
    boundary!(store: handle => { store.options().transient })
}

/// One consistent snapshot of the whole store (c/storage 1.56's MultiList): its layers, images
/// and containers read under their three locks held together, so no container in `*containers`
/// names an image or layer another process removed in between, as separate listings could.
/// Ours come first in creation order, then the additional image stores' layers and images.
/// Free the lists with `cs_layer_list_free`, `cs_image_list_free` and
/// `cs_container_list_free`; all three are written, or none.
#[no_mangle]
pub extern "C" fn cs_store_multi_list(
    store: *const cs_store,
    layers: *mut *mut cs_layer_list,
    images: *mut *mut cs_image_list,
    containers: *mut *mut cs_container_list,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, layers: out, images: out, containers: out => {
        let listing = store.multi_list()?;
        layers.write(layer_list(listing.layers));
        images.write(image_list(listing.images));
        containers.write(container_list(listing.containers));
        Ok(())
    })
}

/// The split image store's root, absolute; NULL when the store has none (images under the
/// graph root) and for NULL. Valid as long as the store handle.
#[no_mangle]
pub extern "C" fn cs_store_image_store(store: *const cs_store) -> *const c_char {
    boundary!(store: handle => { store.image_store.as_ref().map_or(ptr::null(), |path| path.as_ptr()) })
}

/// The c/storage generation the store serves, "1.43" or "1.57"; valid as long as the store
/// handle. NULL for NULL.
#[no_mangle]
pub extern "C" fn cs_store_compat_level(store: *const cs_store) -> *const c_char {
    boundary!(store: handle => { store.compat_level.as_ptr() })
}

/// The driver's status as a JSON array of [key, value] string pairs, as Go's Status returns
/// them. Free `*json` with `cs_string_free`.
#[no_mangle]
pub extern "C" fn cs_store_status_json(
    store: *const cs_store,
    json: *mut *mut c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, json: out => {
        json.write(pairs_json(&store.status())?);
        Ok(())
    })
}

/// The library and format versions as a JSON array of [key, value] string pairs, as Go's
/// Version returns them. Free `*json` with `cs_string_free`.
#[no_mangle]
pub extern "C" fn cs_store_version_json(
    store: *const cs_store,
    json: *mut *mut c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, json: out => {
        json.write(pairs_json(&store.version())?);
        Ok(())
    })
}

fn pairs_json(pairs: &[(String, String)]) -> Result<*mut c_char, Error> {
    let json =
        serde_json::to_string(pairs).map_err(|e| Error::invalid(format!("encoding JSON: {e}")))?;
    Ok(owned_c_string(&json))
}

/// The full ID of the layer, image or container (looked for in that order) that `key` names by
/// ID, name or unique ID prefix; `CS_RESULT_NOT_AN_ID` if none. Free `*id` with `cs_string_free`.
#[no_mangle]
pub extern "C" fn cs_store_lookup(
    store: *const cs_store,
    key: *const c_char,
    id: *mut *mut c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, key: str, id: out => {
        let (_, found) = store.lookup(key)?;
        id.write(owned_c_string(&found));
        Ok(())
    })
}

/// Whether `key` names a layer, image or container.
#[no_mangle]
pub extern "C" fn cs_store_exists(
    store: *const cs_store,
    key: *const c_char,
    exists: *mut bool,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, key: str, exists: out => {
        exists.write(store.exists(key)?);
        Ok(())
    })
}

/// Go's Delete: remove the container, else image, else layer that `key` names, without the
/// safety checks of `cs_layer_delete`, `cs_image_delete` and `cs_container_delete`.
#[no_mangle]
pub extern "C" fn cs_store_delete(
    store: *const cs_store,
    key: *const c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, key: str => { store.delete(key) })
}

/// Delete every container, image and layer of the store.
#[no_mangle]
pub extern "C" fn cs_store_wipe(store: *const cs_store, err: *mut *mut cs_error) -> cs_result {
    boundary!(err = err; store: handle => { store.wipe() })
}

/// The names of the layer, image or container `key` names. Dispose of `*names` with
/// `cs_strarray_dispose`.
#[no_mangle]
pub extern "C" fn cs_store_get_names(
    store: *const cs_store,
    key: *const c_char,
    names: *mut cs_strarray,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, key: str, names: out => {
        names.write(strarray(store.names(key)?));
        Ok(())
    })
}

/// Replace the names of the record `key` names with `names` (`count` strings; NULL when 0).
/// A name another record of the same kind had moves to this one, as in c/storage. An image of
/// an additional image store is first copied, with its big data, into this store (same ID),
/// whose copy then gets the names, as c/storage 1.57 does (also for add and remove).
#[no_mangle]
pub extern "C" fn cs_store_set_names(
    store: *const cs_store,
    key: *const c_char,
    names: *const *const c_char,
    count: usize,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, key: str, names: strs(count) => { store.set_names(key, &names) })
}

/// Add `names` (`count` strings) after the record's current names; names other records of
/// the same kind had move to this one.
#[no_mangle]
pub extern "C" fn cs_store_add_names(
    store: *const cs_store,
    key: *const c_char,
    names: *const *const c_char,
    count: usize,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, key: str, names: strs(count) => { store.add_names(key, &names) })
}

/// Remove `names` (`count` strings) from the record; names it does not have are ignored.
#[no_mangle]
pub extern "C" fn cs_store_remove_names(
    store: *const cs_store,
    key: *const c_char,
    names: *const *const c_char,
    count: usize,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, key: str, names: strs(count) => { store.remove_names(key, &names) })
}

/// The metadata string of the layer, image or container `key` names ("" if none). Free
/// `*metadata` with `cs_string_free`.
#[no_mangle]
pub extern "C" fn cs_store_metadata(
    store: *const cs_store,
    key: *const c_char,
    metadata: *mut *mut c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, key: str, metadata: out => {
        metadata.write(owned_c_string(&store.metadata(key)?));
        Ok(())
    })
}

/// Replace the metadata string of the layer, image or container `key` names.
#[no_mangle]
pub extern "C" fn cs_store_set_metadata(
    store: *const cs_store,
    key: *const c_char,
    metadata: *const c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, key: str, metadata: str => { store.set_metadata(key, metadata) })
}

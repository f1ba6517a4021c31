//! Images: options, creation, snapshots (`cs_image`) and lists of them, big data, deletion with
//! the layer walk-down of Go's DeleteImage, read-only mounting and size.

use std::ffi::CString;
use std::os::raw::c_char;
use std::ptr;

use super::boundary::into_handle;
use super::error::cs_error;
use super::result::cs_result;
use super::store_handle::cs_store;
use super::strings::{c_string, cs_strarray, owned_bytes, owned_c_string, strarray};
use crate::record::Image;
use crate::store::ImageOptions;
use crate::timestamp::Timestamp;

/// What `cs_image_create` makes, built with the `cs_image_options_*` setters.
pub struct cs_image_options {
    options: ImageOptions,
}

/// A snapshot of one image, owned by the caller: later changes to the store do not show in it.
/// Strings from its getters live as long as the snapshot. Free it with `cs_image_free`.
pub struct cs_image {
    image: Image,
    id: CString,
    digest: CString,
    names: Vec<CString>,
    top_layer: CString,
    metadata: CString,
    digests: Vec<CString>,
    big_data_names: Vec<CString>,
    json: CString,
}

impl From<Image> for cs_image {
    fn from(image: Image) -> Self {
        let all = |items: &[String]| items.iter().map(|s| c_string(s)).collect();
        cs_image {
            id: c_string(&image.id),
            digest: c_string(&image.digest),
            names: all(&image.names),
            top_layer: c_string(&image.top_layer),
            metadata: c_string(&image.metadata),
            digests: all(&image.digests),
            big_data_names: all(&image.big_data_names),
            json: c_string(&image.to_json()),
            image,
        }
    }
}

/// Snapshots of several images, owned by the caller. Free with `cs_image_list_free`.
pub struct cs_image_list {
    images: Vec<cs_image>,
}

pub(super) fn image_list(images: Vec<Image>) -> *mut cs_image_list {
    into_handle(cs_image_list { images: images.into_iter().map(cs_image::from).collect() })
}

/// New image options: a random ID, no names, created now. Free with `cs_image_options_free`.
/// NULL only if the library panicked.
#[no_mangle]
pub extern "C" fn cs_image_options_new() -> *mut cs_image_options {
    boundary!(=> { into_handle(cs_image_options { options: ImageOptions::default() }) })
}

/// Free image options. NULL is allowed.
#[no_mangle]
pub extern "C" fn cs_image_options_free(options: *mut cs_image_options) {
    boundary!(options: owned => { drop(options) })
}

/// The new image's ID, one path component (usually the hex of its config's digest); NULL for a
/// random one.
#[no_mangle]
pub extern "C" fn cs_image_options_set_id(
    options: *mut cs_image_options,
    id: *const c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut, id: opt_str => {
        options.options.id = id.map(String::from);
        Ok(())
    })
}

/// Add a name ("example.com/repo:tag"); names are unique among images.
#[no_mangle]
pub extern "C" fn cs_image_options_add_name(
    options: *mut cs_image_options,
    name: *const c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut, name: str => {
        options.options.names.push(name.to_string());
        Ok(())
    })
}

/// A free-form metadata string stored with the image.
#[no_mangle]
pub extern "C" fn cs_image_options_set_metadata(
    options: *mut cs_image_options,
    metadata: *const c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut, metadata: str => {
        options.options.metadata = metadata.to_string();
        Ok(())
    })
}

/// The image's digest ("sha256:...", usually its manifest's); NULL unsets it.
#[no_mangle]
pub extern "C" fn cs_image_options_set_digest(
    options: *mut cs_image_options,
    digest: *const c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut, digest: opt_str => {
        options.options.digest = digest.map(String::from);
        Ok(())
    })
}

/// When the image was created, in nanoseconds since the Unix epoch (default: now).
#[no_mangle]
pub extern "C" fn cs_image_options_set_created(
    options: *mut cs_image_options,
    created_ns: i64,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut => {
        options.options.created = Some(Timestamp::from_unix_nanos(created_ns));
        Ok(())
    })
}

/// Add a big-data item (`len` bytes; `data` may be NULL when `len` is 0) stored with the image
/// as it is created, such as its "manifest" or config.
#[no_mangle]
pub extern "C" fn cs_image_options_add_big_data(
    options: *mut cs_image_options,
    key: *const c_char,
    data: *const u8,
    len: usize,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut, key: str, data: bytes(len) => {
        options.options.big_data.push((key.to_string(), data.to_vec()));
        Ok(())
    })
}

/// Go's CreateImage: an image on `top_layer` (ID, name or prefix; NULL or "" for none).
/// `options` may be NULL. On success `*image` receives a snapshot of the new image.
#[no_mangle]
pub extern "C" fn cs_image_create(
    store: *const cs_store,
    top_layer: *const c_char,
    options: *const cs_image_options,
    image: *mut *mut cs_image,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, top_layer: opt_str, options: opt_handle, image: out => {
        let created = match options {
            Some(options) => store.create_image(top_layer, &options.options)?,
            None => store.create_image(top_layer, &ImageOptions::default())?,
        };
        image.write(into_handle(cs_image::from(created)));
        Ok(())
    })
}

/// A snapshot of the image `key` names (ID, name or unique ID prefix); `CS_RESULT_IMAGE_UNKNOWN`
/// if none.
#[no_mangle]
pub extern "C" fn cs_image_get(
    store: *const cs_store,
    key: *const c_char,
    image: *mut *mut cs_image,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, key: str, image: out => {
        image.write(into_handle(cs_image::from(store.image(key)?)));
        Ok(())
    })
}

/// Free an image snapshot. NULL is allowed.
#[no_mangle]
pub extern "C" fn cs_image_free(image: *mut cs_image) {
    boundary!(image: owned => { drop(image) })
}

/// The image's ID. NULL for NULL.
#[no_mangle]
pub extern "C" fn cs_image_id(image: *const cs_image) -> *const c_char {
    boundary!(image: handle => { image.id.as_ptr() })
}

/// The image's top layer ID, "" for an image without layers. NULL for NULL.
#[no_mangle]
pub extern "C" fn cs_image_top_layer(image: *const cs_image) -> *const c_char {
    boundary!(image: handle => { image.top_layer.as_ptr() })
}

/// How many names the image has.
#[no_mangle]
pub extern "C" fn cs_image_names_count(image: *const cs_image) -> usize {
    boundary!(image: handle => { image.names.len() })
}

/// The image's name number `index`; NULL when `index` is out of range.
#[no_mangle]
pub extern "C" fn cs_image_name(image: *const cs_image, index: usize) -> *const c_char {
    boundary!(image: handle => { nth(&image.names, index) })
}

/// The image's digest ("" if none): the one it was created with, else its first manifest's.
#[no_mangle]
pub extern "C" fn cs_image_digest(image: *const cs_image) -> *const c_char {
    boundary!(image: handle => { image.digest.as_ptr() })
}

/// How many digests the image can be found by (its digest and its manifests' digests).
#[no_mangle]
pub extern "C" fn cs_image_digests_count(image: *const cs_image) -> usize {
    boundary!(image: handle => { image.digests.len() })
}

/// The image's digest number `index` (see `cs_image_digests_count`); NULL when out of range.
#[no_mangle]
pub extern "C" fn cs_image_digests_get(image: *const cs_image, index: usize) -> *const c_char {
    boundary!(image: handle => { nth(&image.digests, index) })
}

/// The image's metadata string ("" if none). NULL for NULL.
#[no_mangle]
pub extern "C" fn cs_image_metadata(image: *const cs_image) -> *const c_char {
    boundary!(image: handle => { image.metadata.as_ptr() })
}

/// When the image was created, in nanoseconds since the Unix epoch.
#[no_mangle]
pub extern "C" fn cs_image_created(image: *const cs_image) -> i64 {
    boundary!(image: handle => { image.image.created.unix_nanos() })
}

/// Whether the image comes from a read-only additional store.
#[no_mangle]
pub extern "C" fn cs_image_read_only(image: *const cs_image) -> bool {
    boundary!(image: handle => { image.image.read_only })
}

/// How many big-data items the image has.
#[no_mangle]
pub extern "C" fn cs_image_big_data_names_count(image: *const cs_image) -> usize {
    boundary!(image: handle => { image.big_data_names.len() })
}

/// The key of the image's big-data item number `index`; NULL when out of range.
#[no_mangle]
pub extern "C" fn cs_image_big_data_name(image: *const cs_image, index: usize) -> *const c_char {
    boundary!(image: handle => { nth(&image.big_data_names, index) })
}

/// The image as c/storage writes it in images.json (its field names).
#[no_mangle]
pub extern "C" fn cs_image_json(image: *const cs_image) -> *const c_char {
    boundary!(image: handle => { image.json.as_ptr() })
}

fn nth(strings: &[CString], index: usize) -> *const c_char {
    strings.get(index).map_or(ptr::null(), |s| s.as_ptr())
}

/// Snapshots of all images. Free `*list` with `cs_image_list_free`.
#[no_mangle]
pub extern "C" fn cs_store_images(
    store: *const cs_store,
    list: *mut *mut cs_image_list,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, list: out => {
        list.write(image_list(store.images()?));
        Ok(())
    })
}

/// Snapshots of the images that have `digest` among their digests (maybe none).
#[no_mangle]
pub extern "C" fn cs_store_images_by_digest(
    store: *const cs_store,
    digest: *const c_char,
    list: *mut *mut cs_image_list,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, digest: str, list: out => {
        list.write(image_list(store.images_by_digest(digest)?));
        Ok(())
    })
}

/// Snapshots of the images whose top layer is `layer` (ID, name or prefix; maybe none).
#[no_mangle]
pub extern "C" fn cs_store_images_by_top_layer(
    store: *const cs_store,
    layer: *const c_char,
    list: *mut *mut cs_image_list,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, layer: str, list: out => {
        list.write(image_list(store.images_by_top_layer(layer)?));
        Ok(())
    })
}

/// How many images the list holds; 0 for NULL.
#[no_mangle]
pub extern "C" fn cs_image_list_len(list: *const cs_image_list) -> usize {
    boundary!(list: handle => { list.images.len() })
}

/// The image at `index`, borrowed: valid as long as the list, not to be freed. NULL when
/// `index` is out of range.
#[no_mangle]
pub extern "C" fn cs_image_list_get(list: *const cs_image_list, index: usize) -> *const cs_image {
    boundary!(list: handle => { list.images.get(index).map_or(ptr::null(), |i| i as *const cs_image) })
}

/// Free a list and the snapshots in it. NULL is allowed.
#[no_mangle]
pub extern "C" fn cs_image_list_free(list: *mut cs_image_list) {
    boundary!(list: owned => { drop(list) })
}

/// Store `len` bytes (`data` may be NULL when `len` is 0) as the image's big-data item `key`;
/// its size and sha256 digest are recorded, and a "manifest*" item makes the image findable by
/// its digest.
#[no_mangle]
pub extern "C" fn cs_image_set_big_data(
    store: *const cs_store,
    image: *const c_char,
    key: *const c_char,
    data: *const u8,
    len: usize,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, image: str, key: str, data: bytes(len) => {
        store.set_image_big_data(image, key, data)
    })
}

/// The image's big-data item `key` (`CS_RESULT_BIG_DATA_UNKNOWN` if it has none): `*data`
/// receives a buffer to free with `cs_bytes_free` (not NULL, also when empty), `*len` its length.
#[no_mangle]
pub extern "C" fn cs_image_big_data(
    store: *const cs_store,
    image: *const c_char,
    key: *const c_char,
    data: *mut *mut u8,
    len: *mut usize,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, image: str, key: str, data: out, len: out => {
        let item = store.image_big_data(image, key)?;
        data.write(owned_bytes(&item)?);
        len.write(item.len());
        Ok(())
    })
}

/// The size in bytes of the image's big-data item `key`.
#[no_mangle]
pub extern "C" fn cs_image_big_data_size(
    store: *const cs_store,
    image: *const c_char,
    key: *const c_char,
    size: *mut i64,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, image: str, key: str, size: out => {
        size.write(store.image_big_data_size(image, key)?);
        Ok(())
    })
}

/// The digest ("sha256:...") of the image's big-data item `key`. Free `*digest` with
/// `cs_string_free`.
#[no_mangle]
pub extern "C" fn cs_image_big_data_digest(
    store: *const cs_store,
    image: *const c_char,
    key: *const c_char,
    digest: *mut *mut c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, image: str, key: str, digest: out => {
        digest.write(owned_c_string(&store.image_big_data_digest(image, key)?));
        Ok(())
    })
}

/// The keys of the image's big-data items. Dispose of `*names` with `cs_strarray_dispose`.
#[no_mangle]
pub extern "C" fn cs_image_big_data_names(
    store: *const cs_store,
    image: *const c_char,
    names: *mut cs_strarray,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, image: str, names: out => {
        names.write(strarray(store.image_big_data_names(image)?));
        Ok(())
    })
}

/// Go's DeleteImage: refused while a container uses the image
/// (`CS_RESULT_IMAGE_USED_BY_CONTAINER`); removes the image and then the layers only it kept
/// alive, from the top layer down. With `commit` false nothing changes and the layers that
/// would go are reported. `*removed_layers` (may be NULL) receives their IDs; dispose of it with
/// `cs_strarray_dispose`.
#[no_mangle]
pub extern "C" fn cs_image_delete(
    store: *const cs_store,
    key: *const c_char,
    commit: bool,
    removed_layers: *mut cs_strarray,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, key: str, removed_layers: opt_out => {
        let removed = store.delete_image(key, commit)?;
        if let Some(out) = removed_layers {
            out.write(strarray(removed));
        }
        Ok(())
    })
}

/// Mount the image's top layer read-only and return where in `*path` (free with
/// `cs_string_free`). `mount_label` may be NULL for the layer's own. Each mount needs its
/// `cs_image_unmount`.
#[no_mangle]
pub extern "C" fn cs_image_mount(
    store: *const cs_store,
    key: *const c_char,
    mount_label: *const c_char,
    path: *mut *mut c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, key: str, mount_label: opt_str, path: out => {
        let mounted = store.mount_image(key, mount_label.unwrap_or(""), &[])?;
        path.write(owned_c_string(&mounted.to_string_lossy()));
        Ok(())
    })
}

/// Release one mount of the image's top layer (all with `force`). `*still_mounted` (may be
/// NULL) tells whether other mounts remain.
#[no_mangle]
pub extern "C" fn cs_image_unmount(
    store: *const cs_store,
    key: *const c_char,
    force: bool,
    still_mounted: *mut bool,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, key: str, still_mounted: opt_out => {
        let remaining = store.unmount_image(key, force)?;
        if let Some(out) = still_mounted {
            out.write(remaining);
        }
        Ok(())
    })
}

/// Go's ImageSize: the sizes of the changes in each of the image's layers plus its big data.
#[no_mangle]
pub extern "C" fn cs_image_size(
    store: *const cs_store,
    key: *const c_char,
    size: *mut i64,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, key: str, size: out => {
        size.write(store.image_size(key)?);
        Ok(())
    })
}

/// The image's own directory in the graph root, `<graph>/<driver>-images/<id>/userdata`
/// (created if missing), for the caller's files about the image (c/storage 1.57's
/// ImageDirectory). Free `*path` with `cs_string_free`.
#[no_mangle]
pub extern "C" fn cs_image_directory(
    store: *const cs_store,
    key: *const c_char,
    path: *mut *mut c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, key: str, path: out => {
        path.write(owned_c_string(&store.image_directory(key)?.to_string_lossy()));
        Ok(())
    })
}

/// The image's own directory in the run root, `<run>/<driver>-images/<id>/userdata` (created
/// if missing), for runtime files about the image (c/storage 1.57's ImageRunDirectory). Free
/// `*path` with `cs_string_free`.
#[no_mangle]
pub extern "C" fn cs_image_run_directory(
    store: *const cs_store,
    key: *const c_char,
    path: *mut *mut c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, key: str, path: out => {
        path.write(owned_c_string(&store.image_run_directory(key)?.to_string_lossy()));
        Ok(())
    })
}

//! Images in and out as OCI image layouts: `cs_image_import_oci` stores an image the way
//! `skopeo copy oci:DIR:TAG containers-storage:NAME` does (same layer and image IDs, big data,
//! digests, created time), so podman runs it and reuses its layers; `cs_image_export_oci`
//! writes an image to a layout that `skopeo copy oci:DIR:TAG` reads back.

use std::os::raw::{c_char, c_int, c_void};
use std::path::Path;

use super::boundary::into_handle;
use super::error::cs_error;
use super::image::cs_image;
use super::layer_archive::{CS_DIFF_AS_STORED, CS_DIFF_GZIP, CS_DIFF_UNCOMPRESSED, CS_DIFF_ZSTD};
use super::result::cs_result;
use super::store_handle::cs_store;
use super::strings::owned_c_string;
use crate::error::{Error, ErrorKind};
use crate::oci::{self, ExportCompression, ExportOptions, ImportOptions, ImportProgress, Platform};

/// Progress of `cs_image_import_oci`: the layer being read (0 = base) of `layer_count`, and
/// the bytes of its blob read so far of `total_bytes`. Return 0 to go on, non-zero to cancel
/// (`CS_RESULT_CANCELLED`; nothing of the image stays).
pub type cs_image_import_progress_fn = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        layer_index: usize,
        layer_count: usize,
        done_bytes: u64,
        total_bytes: u64,
    ) -> i32,
>;

/// How `cs_image_import_oci` chooses and names the image. Free with `cs_image_import_options_free`.
pub struct cs_image_import_options {
    options: ImportOptions,
    progress:
        Option<(unsafe extern "C" fn(*mut c_void, usize, usize, u64, u64) -> i32, *mut c_void)>,
}

/// How `cs_image_export_oci` writes layers. Free with `cs_image_export_options_free`.
pub struct cs_image_export_options {
    options: ExportOptions,
}

/// New import options: this host's platform, no names, no progress callback.
/// NULL only if the library panicked.
#[no_mangle]
pub extern "C" fn cs_image_import_options_new() -> *mut cs_image_import_options {
    boundary!(=> { into_handle(cs_image_import_options { options: ImportOptions::default(), progress: None }) })
}

/// Free import options. NULL is allowed.
#[no_mangle]
pub extern "C" fn cs_image_import_options_free(options: *mut cs_image_import_options) {
    boundary!(options: owned => { drop(options) })
}

/// The platform ("os/arch" or "os/arch/variant", as podman's --platform) whose manifest an
/// image index offers; NULL for this host's.
#[no_mangle]
pub extern "C" fn cs_image_import_options_set_platform(
    options: *mut cs_image_import_options,
    platform: *const c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut, platform: opt_str => {
        options.options.platform = platform.map(Platform::parse).transpose()?;
        Ok(())
    })
}

/// Add a name for the imported image ("localhost/app:1"); another image that has it loses it,
/// as with c/storage's AddNames.
#[no_mangle]
pub extern "C" fn cs_image_import_options_add_name(
    options: *mut cs_image_import_options,
    name: *const c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut, name: str => {
        options.options.names.push(name.to_string());
        Ok(())
    })
}

/// Call `progress` while layers are read (see `cs_image_import_progress_fn`); NULL removes it.
/// It runs on the importing thread, during the call only, and must not use the store.
#[no_mangle]
pub extern "C" fn cs_image_import_options_set_progress(
    options: *mut cs_image_import_options,
    progress: cs_image_import_progress_fn,
    userdata: *mut c_void,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut => {
        options.progress = progress.map(|function| (function, userdata));
        Ok(())
    })
}

/// Import the image `reference` names (a tag of index.json, a manifest digest, or NULL when the
/// layout holds one image) from the OCI image layout directory `layout_dir`, as c/image's
/// storage destination stores it; `image` receives a snapshot of it. Layers already in the
/// store are reused. Blob digests and sizes, and the config's DiffIDs, are checked while the
/// blobs stream; on failure no image is recorded and only layers made for it are removed.
/// Codes beside the usual: CS_RESULT_REFERENCE_UNKNOWN, CS_RESULT_NO_MATCHING_PLATFORM,
/// CS_RESULT_BLOB_UNKNOWN, CS_RESULT_BLOB_SIZE_MISMATCH, CS_RESULT_DIGEST_MISMATCH,
/// CS_RESULT_UNSAFE_LAYOUT_PATH, CS_RESULT_BAD_LAYOUT, CS_RESULT_BAD_ARCHIVE, CS_RESULT_CANCELLED.
#[no_mangle]
pub extern "C" fn cs_image_import_oci(
    store: *const cs_store,
    layout_dir: *const c_char,
    reference: *const c_char,
    options: *const cs_image_import_options,
    image: *mut *mut cs_image,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, layout_dir: str, reference: opt_str, options: opt_handle, image: out => {
        let imported = import(store, Path::new(layout_dir), reference, options)?;
        image.write(into_handle(cs_image::from(imported)));
        Ok(())
    })
}

/// `cs_image_import_oci` from a layout directory the caller opened (`dir_fd`, lent for the
/// call).
#[no_mangle]
pub extern "C" fn cs_image_import_oci_fd(
    store: *const cs_store,
    dir_fd: c_int,
    reference: *const c_char,
    options: *const cs_image_import_options,
    image: *mut *mut cs_image,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, reference: opt_str, options: opt_handle, image: out => {
        if dir_fd < 0 {
            return Err(Error::with_errno(ErrorKind::InvalidArgument, libc::EBADF, format!("dir_fd is not a file descriptor ({dir_fd})")));
        }
        let path = format!("/proc/self/fd/{dir_fd}");
        let imported = import(store, Path::new(&path), reference, options)?;
        image.write(into_handle(cs_image::from(imported)));
        Ok(())
    })
}

fn import(
    store: &crate::Store,
    dir: &Path,
    reference: Option<&str>,
    options: Option<&cs_image_import_options>,
) -> crate::Result<crate::Image> {
    let default = ImportOptions::default();
    let import_options = options.map_or(&default, |o| &o.options);
    match options.and_then(|o| o.progress) {
        Some((function, userdata)) => {
            // SAFETY: the caller registered this function and userdata for use during its
            // calls, which is the only time the hook runs.
            let mut hook = |p: &ImportProgress| unsafe {
                function(userdata, p.layer_index, p.layer_count, p.done, p.total) == 0
            };
            oci::import(store, dir, reference, import_options, Some(&mut hook))
        }
        None => oci::import(store, dir, reference, import_options, None),
    }
}

/// New export options: layers compressed as they were imported. Free with
/// `cs_image_export_options_free`. NULL only if the library panicked.
#[no_mangle]
pub extern "C" fn cs_image_export_options_new() -> *mut cs_image_export_options {
    boundary!(=> { into_handle(cs_image_export_options { options: ExportOptions::default() }) })
}

/// Free export options. NULL is allowed.
#[no_mangle]
pub extern "C" fn cs_image_export_options_free(options: *mut cs_image_export_options) {
    boundary!(options: owned => { drop(options) })
}

/// The layer blobs' compression: one of the `CS_DIFF_*` constants (default CS_DIFF_AS_STORED).
#[no_mangle]
pub extern "C" fn cs_image_export_options_set_compression(
    options: *mut cs_image_export_options,
    compression: i32,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut => {
        options.options.compression = match compression {
            CS_DIFF_AS_STORED => ExportCompression::AsStored,
            CS_DIFF_UNCOMPRESSED => ExportCompression::Uncompressed,
            CS_DIFF_GZIP => ExportCompression::Gzip,
            CS_DIFF_ZSTD => ExportCompression::Zstd,
            other => return Err(Error::invalid(format!("unknown compression {other}: use a CS_DIFF_* constant"))),
        };
        Ok(())
    })
}

/// Write `image` (ID, name or unique ID prefix) to the OCI image layout `layout_dir` (made if
/// missing, added to if not) under the tag `reference` (NULL: untagged); the tag moves from any
/// other entry. The config is written as stored, each layer as a blob, the stored manifest when
/// the blobs have its digests, else a new OCI manifest; `skopeo copy oci:` then gives the same
/// image ID and layer IDs. `manifest_digest` (may be NULL) receives the digest of the manifest
/// written, freed with `cs_string_free`. CS_RESULT_NOT_SUPPORTED for an image without a
/// manifest (one not stored from an image).
#[no_mangle]
pub extern "C" fn cs_image_export_oci(
    store: *const cs_store,
    image: *const c_char,
    layout_dir: *const c_char,
    reference: *const c_char,
    options: *const cs_image_export_options,
    manifest_digest: *mut *mut c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, image: str, layout_dir: str, reference: opt_str, options: opt_handle, manifest_digest: opt_out => {
        let default = ExportOptions::default();
        let export_options = options.map_or(&default, |o| &o.options);
        let digest = oci::export(store, image, Path::new(layout_dir), reference, export_options)?;
        if let Some(out) = manifest_digest {
            out.write(owned_c_string(&digest));
        }
        Ok(())
    })
}

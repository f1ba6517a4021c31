//! Layer contents as tar archives: import (Go's PutLayer) with its progress callback, apply a
//! diff to an existing layer (ApplyDiff), and export (Diff) with its options (`cs_diff_options`,
//! `CS_DIFF_*`), each from or to a file descriptor or a read/write callback of `streams`.

use std::ffi::c_void;
use std::fs::File;
use std::io::Read;
use std::os::raw::{c_char, c_int};

use super::arguments::{lent_fd, null_parameter};
use super::boundary::into_handle;
use super::error::cs_error;
use super::layer::{cs_layer, cs_layer_options};
use super::result::cs_result;
use super::store_handle::cs_store;
use super::streams::{
    cs_progress_fn, cs_read_fn, cs_write_fn, CallbackFailure, CallbackReader, CallbackWriter,
    ProgressCallback,
};
use crate::error::Result;
use crate::store::{DiffCompression, LayerOptions, Store};

/// `cs_diff_options_set_compression`: compress the export as the layer was imported (default).
pub const CS_DIFF_AS_STORED: i32 = 0;
/// Export a plain tar.
pub const CS_DIFF_UNCOMPRESSED: i32 = 1;
/// Export gzip.
pub const CS_DIFF_GZIP: i32 = 2;
/// Export zstd.
pub const CS_DIFF_ZSTD: i32 = 3;

/// How `cs_layer_export*` writes the stream. Free with `cs_diff_options_free`.
pub struct cs_diff_options {
    compression: DiffCompression,
}

/// Call `progress` during imports made with these options: with the bytes of the stream read so
/// far and its total size (0 when unknown). Returning non-zero cancels the import. NULL
/// `progress` removes the callback. It runs on the importing thread, during the call only, and
/// must not call into the store.
#[no_mangle]
pub extern "C" fn cs_layer_options_set_progress(
    options: *mut cs_layer_options,
    progress: cs_progress_fn,
    userdata: *mut c_void,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut => {
        options.progress = progress.map(|function| ProgressCallback { function, userdata });
        Ok(())
    })
}

/// Go's PutLayer: create a layer (as `cs_layer_create` would with `options`, which may be NULL)
/// and fill it from the tar stream read from `fd` (plain, gzip or zstd; detected). Digests,
/// sizes, compression and owners are recorded; a digest set on the options that the data does
/// not match fails with `CS_RESULT_DIGEST_MISMATCH`. On any failure the half-made layer is
/// removed and the store is as it was. `fd` is borrowed and read from its current offset.
#[no_mangle]
pub extern "C" fn cs_layer_import_fd(
    store: *const cs_store,
    options: *const cs_layer_options,
    fd: c_int,
    layer: *mut *mut cs_layer,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, options: opt_handle, layer: out => {
        let mut input = lent_fd(fd, "fd")?;
        let total = input.metadata().ok().filter(|m| m.is_file()).map_or(0, |m| m.len());
        let created = import(store, options, &mut input, total)?;
        layer.write(into_handle(cs_layer::from(created)));
        Ok(())
    })
}

/// `cs_layer_import_fd` reading the stream from a callback instead (see `cs_read_fn`).
#[no_mangle]
pub extern "C" fn cs_layer_import(
    store: *const cs_store,
    options: *const cs_layer_options,
    read_fn: cs_read_fn,
    userdata: *mut c_void,
    layer: *mut *mut cs_layer,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, options: opt_handle, layer: out => {
        let function = read_fn.ok_or_else(|| null_parameter("read_fn"))?;
        let failure = CallbackFailure::default();
        let mut input = CallbackReader { function, userdata, failure: &failure };
        let created = import(store, options, &mut input, 0).map_err(|e| failure.explain(e))?;
        layer.write(into_handle(cs_layer::from(created)));
        Ok(())
    })
}

fn import(
    store: &Store,
    options: Option<&cs_layer_options>,
    input: &mut dyn Read,
    total: u64,
) -> Result<crate::Layer> {
    let default = LayerOptions::default();
    let layer_options = options.map_or(&default, |o| &o.options);
    match options.and_then(|o| o.progress) {
        Some(callback) => {
            let mut hook = callback.hook(total);
            store.put_layer(layer_options, input, Some(&mut hook))
        }
        None => store.put_layer(layer_options, input, None),
    }
}

/// Go's ApplyDiff: apply the tar stream read from `fd` to the existing `layer` and record its
/// digests and sizes. `size` (may be NULL) receives the uncompressed size. If the stream is bad
/// the layer may keep part of it (as in c/storage) but its record is unchanged.
#[no_mangle]
pub extern "C" fn cs_layer_apply_diff_fd(
    store: *const cs_store,
    layer: *const c_char,
    fd: c_int,
    size: *mut i64,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, layer: str, size: opt_out => {
        let applied = store.apply_diff(layer, &mut lent_fd(fd, "fd")?, None)?;
        if let Some(size) = size {
            size.write(applied);
        }
        Ok(())
    })
}

/// `cs_layer_apply_diff_fd` reading the stream from a callback.
#[no_mangle]
pub extern "C" fn cs_layer_apply_diff(
    store: *const cs_store,
    layer: *const c_char,
    read_fn: cs_read_fn,
    userdata: *mut c_void,
    size: *mut i64,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, layer: str, size: opt_out => {
        let function = read_fn.ok_or_else(|| null_parameter("read_fn"))?;
        let failure = CallbackFailure::default();
        let mut input = CallbackReader { function, userdata, failure: &failure };
        let applied = store.apply_diff(layer, &mut input, None).map_err(|e| failure.explain(e))?;
        if let Some(size) = size {
            size.write(applied);
        }
        Ok(())
    })
}

/// New export options: compressed as stored. NULL only if the library panicked.
#[no_mangle]
pub extern "C" fn cs_diff_options_new() -> *mut cs_diff_options {
    boundary!(=> { into_handle(cs_diff_options { compression: DiffCompression::AsStored }) })
}

/// Free export options. NULL is allowed.
#[no_mangle]
pub extern "C" fn cs_diff_options_free(options: *mut cs_diff_options) {
    boundary!(options: owned => { drop(options) })
}

/// Choose the export's compression: one of the `CS_DIFF_*` constants.
#[no_mangle]
pub extern "C" fn cs_diff_options_set_compression(
    options: *mut cs_diff_options,
    compression: i32,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut => {
        options.compression = match compression {
            CS_DIFF_AS_STORED => DiffCompression::AsStored,
            CS_DIFF_UNCOMPRESSED => DiffCompression::Uncompressed,
            CS_DIFF_GZIP => DiffCompression::Gzip,
            CS_DIFF_ZSTD => DiffCompression::Zstd,
            other => return Err(crate::Error::invalid(format!("unknown compression {other}: use a CS_DIFF_* constant"))),
        };
        Ok(())
    })
}

/// Go's Diff: write layer `to`'s changes relative to `from` (NULL = its parent) as a tar stream
/// to `fd`. A layer imported from a tar, exported against its parent, gives the imported tar
/// byte for byte. `options` may be NULL (compressed as stored). `fd` is borrowed.
#[no_mangle]
pub extern "C" fn cs_layer_export_fd(
    store: *const cs_store,
    from: *const c_char,
    to: *const c_char,
    options: *const cs_diff_options,
    fd: c_int,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, from: opt_str, to: str, options: opt_handle => {
        let mut out: File = lent_fd(fd, "fd")?;
        store.diff(from, to, options.map_or(DiffCompression::AsStored, |o| o.compression), &mut out)
    })
}

/// `cs_layer_export_fd` writing the stream to a callback (see `cs_write_fn`).
#[no_mangle]
pub extern "C" fn cs_layer_export(
    store: *const cs_store,
    from: *const c_char,
    to: *const c_char,
    options: *const cs_diff_options,
    write_fn: cs_write_fn,
    userdata: *mut c_void,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, from: opt_str, to: str, options: opt_handle => {
        let function = write_fn.ok_or_else(|| null_parameter("write_fn"))?;
        let failure = CallbackFailure::default();
        let mut out = CallbackWriter { function, userdata, failure: &failure };
        store
            .diff(from, to, options.map_or(DiffCompression::AsStored, |o| o.compression), &mut out)
            .map_err(|e| failure.explain(e))
    })
}

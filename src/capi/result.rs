//! `cs_result`: what every fallible function returns.
//!
//! These numbers are ABI. A code, once released, keeps its value and meaning forever: new codes
//! are only appended (c/storage mirrors from -1 downwards, the library's own from -100
//! downwards), never renumbered or reused.

use std::ffi::CStr;
use std::os::raw::c_char;

use crate::error::ErrorKind;

/// The outcome of a fallible call: `CS_RESULT_OK` (0) or one of the negative `CS_RESULT_*` codes.
pub type cs_result = i32;

/// Success.
pub const CS_RESULT_OK: cs_result = 0;

// Mirrors of containers/storage's error values.

/// No layer has this ID, name or ID prefix (Go: ErrLayerUnknown).
pub const CS_RESULT_LAYER_UNKNOWN: cs_result = -1;
/// No image has this ID, name, ID prefix or digest (Go: ErrImageUnknown).
pub const CS_RESULT_IMAGE_UNKNOWN: cs_result = -2;
/// No container has this ID, name or ID prefix (Go: ErrContainerUnknown).
pub const CS_RESULT_CONTAINER_UNKNOWN: cs_result = -3;
/// Nothing in the store (layer, image or container) has this ID or name (Go: ErrNotAnID).
pub const CS_RESULT_NOT_AN_ID: cs_result = -4;
/// The ID is already taken (Go: ErrDuplicateID).
pub const CS_RESULT_DUPLICATE_ID: cs_result = -5;
/// The name is already taken by another record of the same kind (Go: ErrDuplicateName).
pub const CS_RESULT_DUPLICATE_NAME: cs_result = -6;
/// The layer has child layers (Go: ErrLayerHasChildren).
pub const CS_RESULT_LAYER_HAS_CHILDREN: cs_result = -7;
/// The layer is an image's top layer (Go: ErrLayerUsedByImage).
pub const CS_RESULT_LAYER_USED_BY_IMAGE: cs_result = -8;
/// The layer is a container's read-write layer (Go: ErrLayerUsedByContainer).
pub const CS_RESULT_LAYER_USED_BY_CONTAINER: cs_result = -9;
/// A container uses the image (Go: ErrImageUsedByContainer).
pub const CS_RESULT_IMAGE_USED_BY_CONTAINER: cs_result = -10;
/// The layer is not mounted (Go: ErrLayerNotMounted).
pub const CS_RESULT_LAYER_NOT_MOUNTED: cs_result = -11;
/// The store was opened read-only (Go: ErrStoreIsReadOnly).
pub const CS_RESULT_STORE_READ_ONLY: cs_result = -12;
/// The driver or this build cannot do that (Go: ErrNotSupported).
pub const CS_RESULT_NOT_SUPPORTED: cs_result = -13;
/// The size was never recorded and cannot be computed (Go: ErrSizeUnknown).
pub const CS_RESULT_SIZE_UNKNOWN: cs_result = -14;
/// The record has no big-data item with this key.
pub const CS_RESULT_BIG_DATA_UNKNOWN: cs_result = -15;
/// The layer is still being created or deleted (its "incomplete" flag is set).
pub const CS_RESULT_LAYER_INCOMPLETE: cs_result = -16;
/// A container's read-write layer cannot be the parent of another layer
/// (Go: ErrParentIsContainer).
pub const CS_RESULT_PARENT_IS_CONTAINER: cs_result = -17;
/// The layer chain is deeper than the driver can mount.
pub const CS_RESULT_MAX_DEPTH_EXCEEDED: cs_result = -18;

// The library's own.

/// An argument is malformed: not UTF-8, a bad ID or digest, an empty key, ...
pub const CS_RESULT_INVALID_ARGUMENT: cs_result = -100;
/// A required pointer argument was NULL; the message names it.
pub const CS_RESULT_NULL_PARAMETER: cs_result = -101;
/// A system call failed; `cs_error_errno` tells which errno.
pub const CS_RESULT_IO: cs_result = -102;
/// A metadata file of the store cannot be parsed; it is reported, never overwritten.
pub const CS_RESULT_CORRUPT_METADATA: cs_result = -103;
/// Data does not match the digest it should have.
pub const CS_RESULT_DIGEST_MISMATCH: cs_result = -104;
/// A tar stream is malformed or tries to write outside its layer.
pub const CS_RESULT_BAD_ARCHIVE: cs_result = -105;
/// A caller's callback reported failure; `cs_error_errno` holds what it returned.
pub const CS_RESULT_CALLBACK_FAILED: cs_result = -106;
/// A caller's progress callback asked to stop.
pub const CS_RESULT_CANCELLED: cs_result = -107;
/// A bug in the library: it panicked. The call had no effect or a partial one.
pub const CS_RESULT_PANIC: cs_result = -108;
/// storage.conf, STORAGE_OPTS or a driver option is invalid.
pub const CS_RESULT_CONFIG: cs_result = -109;
/// Mounting or unmounting failed.
pub const CS_RESULT_MOUNT: cs_result = -110;

// Images in and out (OCI image layouts).

/// A blob of an image layout is longer or shorter than its descriptor says (a truncated blob).
pub const CS_RESULT_BLOB_SIZE_MISMATCH: cs_result = -120;
/// A blob that a descriptor of the image layout names is missing.
pub const CS_RESULT_BLOB_UNKNOWN: cs_result = -121;
/// No manifest in the image index is for the platform asked for.
pub const CS_RESULT_NO_MATCHING_PLATFORM: cs_result = -122;
/// A path in the image layout is a symlink or leaves the layout directory.
pub const CS_RESULT_UNSAFE_LAYOUT_PATH: cs_result = -123;
/// index.json, a manifest or an image config is malformed or of an unsupported kind.
pub const CS_RESULT_BAD_LAYOUT: cs_result = -124;
/// The image layout has no image under the reference (tag) asked for.
pub const CS_RESULT_REFERENCE_UNKNOWN: cs_result = -125;

/// The code of each core error kind. No wildcard arm: a new `ErrorKind` does not compile until
/// it has its own code here.
pub(crate) fn code_of(kind: ErrorKind) -> cs_result {
    match kind {
        ErrorKind::LayerUnknown => CS_RESULT_LAYER_UNKNOWN,
        ErrorKind::ImageUnknown => CS_RESULT_IMAGE_UNKNOWN,
        ErrorKind::ContainerUnknown => CS_RESULT_CONTAINER_UNKNOWN,
        ErrorKind::Unknown => CS_RESULT_NOT_AN_ID,
        ErrorKind::DuplicateId => CS_RESULT_DUPLICATE_ID,
        ErrorKind::DuplicateName => CS_RESULT_DUPLICATE_NAME,
        ErrorKind::LayerHasChildren => CS_RESULT_LAYER_HAS_CHILDREN,
        ErrorKind::LayerUsedByImage => CS_RESULT_LAYER_USED_BY_IMAGE,
        ErrorKind::LayerUsedByContainer => CS_RESULT_LAYER_USED_BY_CONTAINER,
        ErrorKind::ImageUsedByContainer => CS_RESULT_IMAGE_USED_BY_CONTAINER,
        ErrorKind::LayerNotMounted => CS_RESULT_LAYER_NOT_MOUNTED,
        ErrorKind::StoreReadOnly => CS_RESULT_STORE_READ_ONLY,
        ErrorKind::NotSupported => CS_RESULT_NOT_SUPPORTED,
        ErrorKind::SizeUnknown => CS_RESULT_SIZE_UNKNOWN,
        ErrorKind::BigDataUnknown => CS_RESULT_BIG_DATA_UNKNOWN,
        ErrorKind::LayerIncomplete => CS_RESULT_LAYER_INCOMPLETE,
        ErrorKind::ParentIsContainer => CS_RESULT_PARENT_IS_CONTAINER,
        ErrorKind::MaxDepthExceeded => CS_RESULT_MAX_DEPTH_EXCEEDED,
        ErrorKind::InvalidArgument => CS_RESULT_INVALID_ARGUMENT,
        ErrorKind::NullParameter => CS_RESULT_NULL_PARAMETER,
        ErrorKind::Io => CS_RESULT_IO,
        ErrorKind::CorruptMetadata => CS_RESULT_CORRUPT_METADATA,
        ErrorKind::DigestMismatch => CS_RESULT_DIGEST_MISMATCH,
        ErrorKind::BadArchive => CS_RESULT_BAD_ARCHIVE,
        ErrorKind::CallbackFailed => CS_RESULT_CALLBACK_FAILED,
        ErrorKind::Cancelled => CS_RESULT_CANCELLED,
        ErrorKind::Panic => CS_RESULT_PANIC,
        ErrorKind::Config => CS_RESULT_CONFIG,
        ErrorKind::Mount => CS_RESULT_MOUNT,
        ErrorKind::BlobSizeMismatch => CS_RESULT_BLOB_SIZE_MISMATCH,
        ErrorKind::BlobUnknown => CS_RESULT_BLOB_UNKNOWN,
        ErrorKind::NoMatchingPlatform => CS_RESULT_NO_MATCHING_PLATFORM,
        ErrorKind::UnsafeLayoutPath => CS_RESULT_UNSAFE_LAYOUT_PATH,
        ErrorKind::BadLayout => CS_RESULT_BAD_LAYOUT,
        ErrorKind::ReferenceUnknown => CS_RESULT_REFERENCE_UNKNOWN,
    }
}

/// Every code with its name; `cs_result_name` reads it, and a test checks it against the header.
pub(crate) const RESULT_NAMES: &[(cs_result, &CStr)] = &[
    (CS_RESULT_OK, c"CS_RESULT_OK"),
    (CS_RESULT_LAYER_UNKNOWN, c"CS_RESULT_LAYER_UNKNOWN"),
    (CS_RESULT_IMAGE_UNKNOWN, c"CS_RESULT_IMAGE_UNKNOWN"),
    (CS_RESULT_CONTAINER_UNKNOWN, c"CS_RESULT_CONTAINER_UNKNOWN"),
    (CS_RESULT_NOT_AN_ID, c"CS_RESULT_NOT_AN_ID"),
    (CS_RESULT_DUPLICATE_ID, c"CS_RESULT_DUPLICATE_ID"),
    (CS_RESULT_DUPLICATE_NAME, c"CS_RESULT_DUPLICATE_NAME"),
    (CS_RESULT_LAYER_HAS_CHILDREN, c"CS_RESULT_LAYER_HAS_CHILDREN"),
    (CS_RESULT_LAYER_USED_BY_IMAGE, c"CS_RESULT_LAYER_USED_BY_IMAGE"),
    (CS_RESULT_LAYER_USED_BY_CONTAINER, c"CS_RESULT_LAYER_USED_BY_CONTAINER"),
    (CS_RESULT_IMAGE_USED_BY_CONTAINER, c"CS_RESULT_IMAGE_USED_BY_CONTAINER"),
    (CS_RESULT_LAYER_NOT_MOUNTED, c"CS_RESULT_LAYER_NOT_MOUNTED"),
    (CS_RESULT_STORE_READ_ONLY, c"CS_RESULT_STORE_READ_ONLY"),
    (CS_RESULT_NOT_SUPPORTED, c"CS_RESULT_NOT_SUPPORTED"),
    (CS_RESULT_SIZE_UNKNOWN, c"CS_RESULT_SIZE_UNKNOWN"),
    (CS_RESULT_BIG_DATA_UNKNOWN, c"CS_RESULT_BIG_DATA_UNKNOWN"),
    (CS_RESULT_LAYER_INCOMPLETE, c"CS_RESULT_LAYER_INCOMPLETE"),
    (CS_RESULT_PARENT_IS_CONTAINER, c"CS_RESULT_PARENT_IS_CONTAINER"),
    (CS_RESULT_MAX_DEPTH_EXCEEDED, c"CS_RESULT_MAX_DEPTH_EXCEEDED"),
    (CS_RESULT_INVALID_ARGUMENT, c"CS_RESULT_INVALID_ARGUMENT"),
    (CS_RESULT_NULL_PARAMETER, c"CS_RESULT_NULL_PARAMETER"),
    (CS_RESULT_IO, c"CS_RESULT_IO"),
    (CS_RESULT_CORRUPT_METADATA, c"CS_RESULT_CORRUPT_METADATA"),
    (CS_RESULT_DIGEST_MISMATCH, c"CS_RESULT_DIGEST_MISMATCH"),
    (CS_RESULT_BAD_ARCHIVE, c"CS_RESULT_BAD_ARCHIVE"),
    (CS_RESULT_CALLBACK_FAILED, c"CS_RESULT_CALLBACK_FAILED"),
    (CS_RESULT_CANCELLED, c"CS_RESULT_CANCELLED"),
    (CS_RESULT_PANIC, c"CS_RESULT_PANIC"),
    (CS_RESULT_CONFIG, c"CS_RESULT_CONFIG"),
    (CS_RESULT_MOUNT, c"CS_RESULT_MOUNT"),
    (CS_RESULT_BLOB_SIZE_MISMATCH, c"CS_RESULT_BLOB_SIZE_MISMATCH"),
    (CS_RESULT_BLOB_UNKNOWN, c"CS_RESULT_BLOB_UNKNOWN"),
    (CS_RESULT_NO_MATCHING_PLATFORM, c"CS_RESULT_NO_MATCHING_PLATFORM"),
    (CS_RESULT_UNSAFE_LAYOUT_PATH, c"CS_RESULT_UNSAFE_LAYOUT_PATH"),
    (CS_RESULT_BAD_LAYOUT, c"CS_RESULT_BAD_LAYOUT"),
    (CS_RESULT_REFERENCE_UNKNOWN, c"CS_RESULT_REFERENCE_UNKNOWN"),
];

/// The name of a result code ("CS_RESULT_LAYER_UNKNOWN"), a static string never to be freed;
/// NULL for a number that is not a `cs_result` code.
#[no_mangle]
pub extern "C" fn cs_result_name(code: cs_result) -> *const c_char {
    boundary!(=> {
        RESULT_NAMES.iter().find(|(c, _)| *c == code).map_or(std::ptr::null(), |(_, name)| name.as_ptr())
    })
}

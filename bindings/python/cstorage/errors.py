"""Exceptions: one class per cs_result code, all subclasses of CStorageError.

    try:
        store.layer("web")
    except cstorage.LayerUnknown as e:
        print(e.code, e.message)
"""
from __future__ import annotations

from ._native import ffi, lib, pystr


class CStorageError(Exception):
    """A libcstorage call failed: `code` (a negative cs_result), `errno` (0 when no system call or
    callback failed) and the library's `message`."""

    code: int = 0

    def __init__(self, message: str, code: int | None = None, errno: int = 0):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.errno = errno

    @property
    def code_name(self) -> str:
        return pystr(lib.cs_result_name(self.code)) or str(self.code)

    def __str__(self) -> str:
        return "%s: %s" % (self.code_name, self.message)


class StoreClosed(CStorageError):
    """The Store was closed (raised by the bindings, not the library)."""


class LayerUnknown(CStorageError):
    """No layer has this ID, name or ID prefix (Go: ErrLayerUnknown)."""
    code = lib.CS_RESULT_LAYER_UNKNOWN


class ImageUnknown(CStorageError):
    """No image has this ID, name, ID prefix or digest (Go: ErrImageUnknown)."""
    code = lib.CS_RESULT_IMAGE_UNKNOWN


class ContainerUnknown(CStorageError):
    """No container has this ID, name or ID prefix (Go: ErrContainerUnknown)."""
    code = lib.CS_RESULT_CONTAINER_UNKNOWN


class NotAnID(CStorageError):
    """Nothing in the store (layer, image or container) has this ID or name (Go: ErrNotAnID)."""
    code = lib.CS_RESULT_NOT_AN_ID


class DuplicateId(CStorageError):
    """The ID is already taken (Go: ErrDuplicateID)."""
    code = lib.CS_RESULT_DUPLICATE_ID


class DuplicateName(CStorageError):
    """The name is already taken by another record of the same kind (Go: ErrDuplicateName)."""
    code = lib.CS_RESULT_DUPLICATE_NAME


class LayerHasChildren(CStorageError):
    """The layer has child layers (Go: ErrLayerHasChildren)."""
    code = lib.CS_RESULT_LAYER_HAS_CHILDREN


class LayerUsedByImage(CStorageError):
    """The layer is an image's top layer (Go: ErrLayerUsedByImage)."""
    code = lib.CS_RESULT_LAYER_USED_BY_IMAGE


class LayerUsedByContainer(CStorageError):
    """The layer is a container's read-write layer (Go: ErrLayerUsedByContainer)."""
    code = lib.CS_RESULT_LAYER_USED_BY_CONTAINER


class ImageUsedByContainer(CStorageError):
    """A container uses the image (Go: ErrImageUsedByContainer)."""
    code = lib.CS_RESULT_IMAGE_USED_BY_CONTAINER


class LayerNotMounted(CStorageError):
    """The layer is not mounted (Go: ErrLayerNotMounted)."""
    code = lib.CS_RESULT_LAYER_NOT_MOUNTED


class StoreReadOnly(CStorageError):
    """The store was opened read-only (Go: ErrStoreIsReadOnly)."""
    code = lib.CS_RESULT_STORE_READ_ONLY


class NotSupported(CStorageError):
    """The driver or this build cannot do that (Go: ErrNotSupported)."""
    code = lib.CS_RESULT_NOT_SUPPORTED


class SizeUnknown(CStorageError):
    """The size was never recorded and cannot be computed (Go: ErrSizeUnknown)."""
    code = lib.CS_RESULT_SIZE_UNKNOWN


class BigDataUnknown(CStorageError):
    """The record has no big-data item with this key."""
    code = lib.CS_RESULT_BIG_DATA_UNKNOWN


class LayerIncomplete(CStorageError):
    """The layer is still being created or deleted (its "incomplete" flag is set)."""
    code = lib.CS_RESULT_LAYER_INCOMPLETE


class ParentIsContainer(CStorageError):
    """A container's read-write layer cannot be the parent of another layer"""
    code = lib.CS_RESULT_PARENT_IS_CONTAINER


class MaxDepthExceeded(CStorageError):
    """The layer chain is deeper than the driver can mount."""
    code = lib.CS_RESULT_MAX_DEPTH_EXCEEDED


class InvalidArgument(CStorageError):
    """An argument is malformed: not UTF-8, a bad ID or digest, an empty key, ..."""
    code = lib.CS_RESULT_INVALID_ARGUMENT


class NullParameter(CStorageError):
    """A required pointer argument was NULL; the message names it."""
    code = lib.CS_RESULT_NULL_PARAMETER


class IOFailure(CStorageError):
    """A system call failed; `cs_error_errno` tells which errno."""
    code = lib.CS_RESULT_IO


class CorruptMetadata(CStorageError):
    """A metadata file of the store cannot be parsed; it is reported, never overwritten."""
    code = lib.CS_RESULT_CORRUPT_METADATA


class DigestMismatch(CStorageError):
    """Data does not match the digest it should have."""
    code = lib.CS_RESULT_DIGEST_MISMATCH


class BadArchive(CStorageError):
    """A tar stream is malformed or tries to write outside its layer."""
    code = lib.CS_RESULT_BAD_ARCHIVE


class CallbackFailed(CStorageError):
    """A caller's callback reported failure; `cs_error_errno` holds what it returned."""
    code = lib.CS_RESULT_CALLBACK_FAILED


class Cancelled(CStorageError):
    """A caller's progress callback asked to stop."""
    code = lib.CS_RESULT_CANCELLED


class Panic(CStorageError):
    """A bug in the library: it panicked. The call had no effect or a partial one."""
    code = lib.CS_RESULT_PANIC


class Config(CStorageError):
    """storage.conf, STORAGE_OPTS or a driver option is invalid."""
    code = lib.CS_RESULT_CONFIG


class Mount(CStorageError):
    """Mounting or unmounting failed."""
    code = lib.CS_RESULT_MOUNT



class BlobSizeMismatch(CStorageError):
    """A blob of an image layout is longer or shorter than its descriptor says."""
    code = lib.CS_RESULT_BLOB_SIZE_MISMATCH


class BlobUnknown(CStorageError):
    """A blob that a descriptor of the image layout names is missing."""
    code = lib.CS_RESULT_BLOB_UNKNOWN


class NoMatchingPlatform(CStorageError):
    """No manifest in the image index is for the platform asked for."""
    code = lib.CS_RESULT_NO_MATCHING_PLATFORM


class UnsafeLayoutPath(CStorageError):
    """A path in the image layout is a symlink or leaves the layout directory."""
    code = lib.CS_RESULT_UNSAFE_LAYOUT_PATH


class BadLayout(CStorageError):
    """index.json, a manifest or an image config is malformed or of an unsupported kind."""
    code = lib.CS_RESULT_BAD_LAYOUT


class ReferenceUnknown(CStorageError):
    """The image layout has no image under the reference (tag) asked for."""
    code = lib.CS_RESULT_REFERENCE_UNKNOWN

#: cs_result code -> its exception class.
BY_CODE: dict[int, type[CStorageError]] = {
    cls.code: cls for cls in CStorageError.__subclasses__() if cls is not StoreClosed}


def take_error(code: int, error) -> CStorageError:
    """The exception for a failed call; frees the library's cs_error."""
    try:
        message = pystr(lib.cs_error_message(error)) if error != ffi.NULL else "(no message)"
        errno = lib.cs_error_errno(error) if error != ffi.NULL else 0
    finally:
        lib.cs_error_free(error)
    cls = BY_CODE.get(code, CStorageError)
    return cls(message, code=code, errno=errno)


def check(function, *args) -> None:
    """Call a fallible library function with a fresh `cs_error **` as its last argument and
    raise the exception its code maps to."""
    error = ffi.new("cs_error **")
    code = function(*args, error)
    if code != lib.CS_RESULT_OK:
        raise take_error(code, error[0])


__all__ = ["CStorageError", "StoreClosed"] + sorted(cls.__name__ for cls in BY_CODE.values())

"""Python binding of libcstorage: containers/storage stores (layers, images, containers on
disk, shared with podman, buildah and skopeo), through cffi over the installed library.

    import cstorage
    with cstorage.Store(graph_root="/tmp/g", run_root="/tmp/r", driver="vfs") as store:
        with open("layer.tar.gz", "rb") as f:
            layer = store.import_layer(f, names=["base"])
        image = store.create_image(layer.id, names=["example.com/app:1"])
        container = store.create_container(image.id, names=["web"])
        with store.mounted(cstorage.Kind.CONTAINER, "web") as root:
            ...
"""
from __future__ import annotations

import threading
from typing import Callable

from ._native import cstr, ffi, lib, pystr, take_str
from .check import CheckProblem, CheckReport, CheckSection, CheckStep, DamagedRecord, Problem  # noqa: F401
from .errors import *  # noqa: F401,F403 - the exception classes, one per code
from .errors import BY_CODE, CStorageError, StoreClosed, check
from .records import (Change, ChangeKind, Compression, Container, IDMap, Image, Kind,  # noqa: F401
                      Layer)
from .store import Store  # noqa: F401

__version__ = pystr(lib.cs_library_version_string())

LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG_TRACE = (
    lib.CS_LOG_ERROR, lib.CS_LOG_WARN, lib.CS_LOG_INFO, lib.CS_LOG_DEBUG, lib.CS_LOG_TRACE)


def library_version() -> tuple[str, int, int]:
    """The running library's version string, version number and ABI version."""
    return (pystr(lib.cs_library_version_string()), lib.cs_library_version_number(),
            lib.cs_library_abi_version())


def chain_id(parent_chain_id: str | None, diff_id: str) -> str:
    """The OCI chain ID of a layer with diff_id on top of parent_chain_id (None: a base layer)."""
    out = ffi.new("char **")
    check(lib.cs_digest_chain_id, cstr(parent_chain_id), cstr(diff_id), out)
    return take_str(out[0])


_log_lock = threading.Lock()
_log_callback = None  # kept alive while the library may call it


def set_log_callback(function: Callable[[int, str], None] | None, max_level: int = LOG_WARN) -> None:
    """Send the library's messages up to max_level to function(level, message), for the whole
    process; None silences the library. It may be called on any thread and must not call into
    the library."""
    global _log_callback
    with _log_lock:
        if function is None:
            callback = ffi.NULL
        else:
            def deliver(_userdata, level, message):
                try:
                    function(level, ffi.string(message).decode("utf-8", "replace"))
                except Exception:  # noqa: BLE001 - nothing may unwind into the library
                    pass
            callback = ffi.callback("cs_log_fn", deliver)
        lib.cs_set_log_callback(callback, ffi.NULL, max_level)
        _log_callback = callback  # the previous one is no longer called once the set returned

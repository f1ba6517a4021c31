"""The loaded library: cffi in ABI mode over the installed libcstorage.so.

Why cffi's ABI mode: the declarations come from the header itself (_cdef.py, generated and
checked against it), so the 198 signatures are never written twice by hand as ctypes would
need, and a wrong one cannot slip in; no C compiler is needed to install or run the package
(API mode would build an extension module); and cffi releases the GIL around every call, so a
Store serves several threads. The library is found as the SONAME of the ABI these
declarations describe, libcstorage.so.<CS_ABI_VERSION>, through the dynamic loader's usual
search (LD_LIBRARY_PATH, the ld.so cache), or at the path in $CSTORAGE_LIBRARY.
"""
from __future__ import annotations

import os

import cffi

from ._cdef import CDEF

ffi = cffi.FFI()
ffi.cdef(CDEF)


def _load():
    path = os.environ.get("CSTORAGE_LIBRARY") or "libcstorage.so.%d" % _abi_version()
    try:
        library = ffi.dlopen(path)
    except OSError as e:
        raise ImportError(
            "cstorage: cannot load %s (%s); install libcstorage, set LD_LIBRARY_PATH to its "
            "lib directory, or set CSTORAGE_LIBRARY to the .so" % (path, e)) from e
    if library.cs_library_abi_version() != library.CS_ABI_VERSION:
        raise ImportError("cstorage: %s has ABI %d, these bindings ABI %d"
                          % (path, library.cs_library_abi_version(), library.CS_ABI_VERSION))
    return library


def _abi_version() -> int:
    for line in CDEF.splitlines():
        if line.startswith("#define CS_ABI_VERSION "):
            return int(line.split()[2])
    raise ImportError("cstorage: _cdef.py has no CS_ABI_VERSION")


lib = _load()


def cstr(value: str | None):
    """A str for a `const char *` parameter: UTF-8 bytes, None as NULL."""
    return ffi.NULL if value is None else value.encode("utf-8")


def pystr(pointer) -> str:
    """A library string (borrowed) as str; "" for NULL."""
    return "" if pointer == ffi.NULL else ffi.string(pointer).decode("utf-8")


def take_str(pointer) -> str:
    """A string the library allocated, copied and freed."""
    try:
        return pystr(pointer)
    finally:
        lib.cs_string_free(pointer)


def take_strarray(array) -> list[str]:
    """A cs_strarray the library filled, copied and disposed of."""
    try:
        return [ffi.string(array.strings[i]).decode("utf-8") for i in range(array.count)]
    finally:
        lib.cs_strarray_dispose(array)

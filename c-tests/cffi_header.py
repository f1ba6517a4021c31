#!/usr/bin/env python3
"""Check that Python's cffi reads include/cstorage.h: the header's own lines, with only the
preprocessor's conditionals resolved (cffi takes `#define NAME number` but no #if or #include).

Usage: cffi_header.py HEADER [LIBRARY]   with LIBRARY, also load it and make two calls.
"""
import subprocess
import sys

try:
    import cffi
except ImportError:
    print("cffi is not installed: header not checked with cffi")
    sys.exit(0)

header, library = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else None)
with open(header) as f:
    source = "".join(line for line in f if not line.startswith("#include"))
# -dD keeps the header's #defines; -undef drops the compiler's own.
preprocessed = subprocess.run(["cc", "-E", "-P", "-dD", "-undef", "-x", "c", "-"], input=source,
                              capture_output=True, text=True, check=True).stdout
declarations = "\n".join(line for line in preprocessed.splitlines()
                         if not line.startswith("#undef") and not line.startswith("#define _")
                         and not line.startswith("#define CSTORAGE_H"))
ffi = cffi.FFI()
ffi.cdef(declarations)
if library:
    lib = ffi.dlopen(library)
    assert ffi.string(lib.cs_result_name(lib.CS_RESULT_NULL_PARAMETER)) == b"CS_RESULT_NULL_PARAMETER"
    err = ffi.new("cs_error **")
    assert lib.cs_store_options_set_driver(ffi.NULL, b"vfs", err) == lib.CS_RESULT_NULL_PARAMETER
    assert b"options" in ffi.string(lib.cs_error_message(err[0]))
    lib.cs_error_free(err[0])
print("cffi reads %s (%d declarations)" % (header, declarations.count(";")))

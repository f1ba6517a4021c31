"""The package's declarations are the header's, and every function of the header is bound.

A function added to include/cstorage.h fails here until it is declared (`make python-cdef`
regenerates cstorage/_cdef.py) and called from the package (or listed in UNBOUND with why)."""
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = os.path.join(HERE, "..", "cstorage")
sys.path.insert(0, os.path.join(HERE, ".."))

import gen_cdef  # noqa: E402
from cstorage._cdef import CDEF  # noqa: E402

# Functions of the header the package deliberately does not call, with the reason.
UNBOUND = {
    "cs_error_code": "the failed call's return value is the code",
}


def header_path():
    """The header the tests run against: the installed one ($CSTORAGE_HEADER, set by make
    check), else the repository's."""
    return os.environ.get("CSTORAGE_HEADER") or os.path.join(HERE, "..", "..", "..", "include", "cstorage.h")


def header_text():
    with open(header_path()) as f:
        return f.read()


def test_declarations_match_the_header():
    header = gen_cdef.functions(gen_cdef.declarations(header_text()))
    declared = gen_cdef.functions(CDEF)
    problems = []
    for name in sorted(header.keys() - declared.keys()):
        problems.append("%s is in %s but not declared in bindings/python/cstorage/_cdef.py: run "
                        "`make python-cdef` to declare it (it adds `%s`), then call lib.%s from "
                        "the package (bindings/python/cstorage/store.py) or list it in UNBOUND in "
                        "tests/test_header.py" % (name, header_path(), header[name], name))
    for name in sorted(declared.keys() - header.keys()):
        problems.append("%s is declared in _cdef.py but gone from %s: run `make python-cdef` and "
                        "remove its uses" % (name, header_path()))
    for name in sorted(header.keys() & declared.keys()):
        if header[name] != declared[name]:
            problems.append("%s changed: the header has `%s`, _cdef.py `%s`: run `make python-cdef` "
                            "and adapt its uses" % (name, header[name], declared[name]))
    assert not problems, "\n".join(problems)
    assert gen_cdef.declarations(header_text()) == CDEF.lstrip("\n"), \
        "types or constants of the header differ from _cdef.py: run `make python-cdef`"


def test_every_declared_function_is_bound():
    source = ""
    for name in os.listdir(PACKAGE):
        if name.endswith(".py") and name != "_cdef.py":
            with open(os.path.join(PACKAGE, name)) as f:
                source += f.read()
    unbound = [name for name in sorted(gen_cdef.functions(CDEF))
               if name not in UNBOUND and not re.search(r"\blib\.%s\b" % name, source)]
    assert not unbound, "\n".join(
        "%s is declared but the package never calls lib.%s: add a Store method (or module "
        "function) that calls it, a test for it, or list it in UNBOUND in tests/test_header.py "
        "with the reason" % (name, name) for name in unbound)

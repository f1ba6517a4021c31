# libcstorage: build, install, regenerate and check the header, run the C tests.
#
#   make build                      cargo build --release
#   make install PREFIX=/usr        shared + static library, header, pkg-config file, cstorage,
#                                   its man page; the .so and cstorage stripped (STRIP= keeps
#                                   their debug info)
#   make header                     regenerate include/cstorage.h from src/capi
#   make header-check               the header compiles alone as C99 and as C++, cffi reads it
#   make c-tests                    C tests against the library installed in TEST_PREFIX
#                                   (default ./_install: make install PREFIX=$PWD/_install first)
#   make c-tests-valgrind           the same under valgrind (leaks and memory errors fail)
#   make c-tests-asan               the same built with AddressSanitizer and UBSan
#   make go-test                    the Go binding's tests (bindings/go) against TEST_PREFIX
#   make python-test                the Python binding's tests (bindings/python) against TEST_PREFIX
#   make examples                   build and run examples/ in C, Go and Python against TEST_PREFIX
#   make python-cdef                regenerate the Python binding's declarations from the header
#   make test                       cargo test
#   make lint                       the gates: rustfmt (rustfmt.toml), clippy with warnings as
#                                   errors on every target, rustdoc with warnings as errors
#   make check                      lint, then every test: Rust (unit, integration, Go interop), header,
#                                   C tests plain, under valgrind and under ASan, the Go and
#                                   Python bindings' tests, the examples, the installed files
#   make demo                       install into ./_install and run the demo on a real layer
#   make bench                      benchmarks side by side with Go c/storage (slow; root)
#   make fuzz FUZZ_SECONDS=600      each cargo-fuzz target (fuzz/) for FUZZ_SECONDS, from its
#                                   seed corpus; needs nightly and cargo-fuzz (install-deps.sh)
#   make fuzz-smoke                 the same for 20 s each (CI)

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR ?= $(PREFIX)/bin
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
MANDIR ?= $(PREFIX)/share/man
DESTDIR ?=

CARGO ?= cargo
CXX ?= c++
STRIP ?= strip
GO ?= go
PYTHON ?= python3

VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
ABI_VERSION := $(shell sed -n 's/^const ABI_VERSION: u32 = \([0-9]*\);/\1/p' build.rs)
REAL_NAME := libcstorage.so.$(VERSION)
SONAME := libcstorage.so.$(ABI_VERSION)
RELEASE_DIR := target/release

.PHONY: build install uninstall header header-check test lint check demo bench c-tests c-tests-valgrind c-tests-asan \
        go-test python-test python-cdef examples install-check fuzz fuzz-smoke

build:
	$(CARGO) build --release

# The .pc file names libdir and includedir relative to ${prefix} when they are inside it.
install: build
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(BINDIR)
	install -m 0755 $(RELEASE_DIR)/cstorage $(DESTDIR)$(BINDIR)/cstorage
	install -m 0755 $(RELEASE_DIR)/libcstorage.so $(DESTDIR)$(LIBDIR)/$(REAL_NAME)
	ln -sfn $(REAL_NAME) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sfn $(SONAME) $(DESTDIR)$(LIBDIR)/libcstorage.so
	install -m 0644 $(RELEASE_DIR)/libcstorage.a $(DESTDIR)$(LIBDIR)/libcstorage.a
	install -m 0644 include/cstorage.h $(DESTDIR)$(INCLUDEDIR)/cstorage.h
	sed -e 's|@PREFIX@|$(PREFIX)|' \
	    -e 's|@LIBDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))|' \
	    -e 's|@INCLUDEDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))|' \
	    -e 's|@VERSION@|$(VERSION)|' \
	    pkgconfig/cstorage.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/cstorage.pc
	$(if $(STRIP),$(STRIP) --strip-unneeded $(DESTDIR)$(LIBDIR)/$(REAL_NAME) $(DESTDIR)$(BINDIR)/cstorage)
	install -d $(DESTDIR)$(MANDIR)/man1
	$(PYTHON) scripts/gen-manpage.py $(RELEASE_DIR)/cstorage $(VERSION) > $(DESTDIR)$(MANDIR)/man1/cstorage.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/cstorage
	rm -f $(DESTDIR)$(LIBDIR)/$(REAL_NAME) $(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/libcstorage.so \
	      $(DESTDIR)$(LIBDIR)/libcstorage.a $(DESTDIR)$(INCLUDEDIR)/cstorage.h $(DESTDIR)$(PKGCONFIGDIR)/cstorage.pc \
	      $(DESTDIR)$(MANDIR)/man1/cstorage.1

header:
	CSTORAGE_BLESS_HEADER=1 $(CARGO) test --test capi_header the_committed_header_matches_the_source

header-check:
	$(CC) -std=c99 -Wall -Wextra -Wpedantic -Werror -fsyntax-only -x c include/cstorage.h
	$(CXX) -std=c++11 -Wall -Wextra -Wpedantic -Werror -fsyntax-only -x c++ include/cstorage.h
	python3 c-tests/cffi_header.py include/cstorage.h

test:
	$(CARGO) test

# The one command that runs every test (CI runs it too). Release mode: the interop, crash and
# 2 GiB memory tests move a lot of data. The shared object is built first: the symbol tests read
# it, and `cargo test` alone does not link it. Benchmarks are only compiled here, not run.
# First in `make check`: a formatting slip or a new warning fails in a minute, not after the tests.
lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --release --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps --lib

check: lint
	$(CARGO) build --release --lib --benches
	$(CARGO) test --release
	$(MAKE) install PREFIX=$(TEST_PREFIX)
	$(MAKE) header-check
	$(MAKE) c-tests
	$(MAKE) c-tests-valgrind
	$(MAKE) c-tests-asan
	$(MAKE) install-check
	$(MAKE) go-test
	$(MAKE) python-test
	$(MAKE) examples

demo:
	$(MAKE) install PREFIX=$(CURDIR)/_install
	demo/run.sh $(CURDIR)/_install

bench:
	$(CARGO) bench --bench scale
	$(CARGO) bench --bench mount
	$(CARGO) bench --bench tar
	$(CARGO) bench --bench reflink
	$(CARGO) bench --bench oci

# --- C tests, built against an installed library through pkg-config ---------------------

TEST_PREFIX ?= $(CURDIR)/_install
TEST_PKG_CONFIG := PKG_CONFIG_PATH=$(TEST_PREFIX)/lib/pkgconfig pkg-config
TEST_PC := $(TEST_PREFIX)/lib/pkgconfig/cstorage.pc
TEST_CFLAGS := -std=c11 -Wall -Wextra -Wpedantic -Werror -g -pthread
TEST_LINK = $$($(TEST_PKG_CONFIG) --cflags --libs cstorage) -Wl,-rpath,$$($(TEST_PKG_CONFIG) --variable=libdir cstorage)
TEST_NAMES := $(notdir $(basename $(wildcard c-tests/test_*.c)))
TEST_BUILD := target/c-tests
SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

$(TEST_PC):
	@echo "no libcstorage in $(TEST_PREFIX): run 'make install PREFIX=$(TEST_PREFIX)' first" >&2; exit 1

$(TEST_BUILD)/plain/%: c-tests/%.c c-tests/check.h $(TEST_PC)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $< -o $@ $(TEST_LINK)

$(TEST_BUILD)/asan/%: c-tests/%.c c-tests/check.h $(TEST_PC)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $(SANITIZE) $< -o $@ $(TEST_LINK)

c-tests: $(addprefix $(TEST_BUILD)/plain/,$(TEST_NAMES))
	python3 c-tests/cffi_header.py $(TEST_PREFIX)/include/cstorage.h $(TEST_PREFIX)/lib/libcstorage.so
	c-tests/run.sh $^

c-tests-valgrind: $(addprefix $(TEST_BUILD)/plain/,$(TEST_NAMES))
	CS_TEST_WRAPPER="valgrind --quiet --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect" \
	    c-tests/run.sh $^

# Leak checking is on, and UBSan stops at the first finding.
c-tests-asan: $(addprefix $(TEST_BUILD)/asan/,$(TEST_NAMES))
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 c-tests/run.sh $^

# --- Go and Python bindings, examples and installed files, against TEST_PREFIX ----------

BINDINGS_ENV := PKG_CONFIG_PATH=$(TEST_PREFIX)/lib/pkgconfig CGO_LDFLAGS=-Wl,-rpath,$(TEST_PREFIX)/lib \
    CSTORAGE_HEADER=$(TEST_PREFIX)/include/cstorage.h \
    CSTORAGE_LIBRARY=$(TEST_PREFIX)/lib/libcstorage.so.$(ABI_VERSION)

go-test: $(TEST_PC)
	cd bindings/go && $(BINDINGS_ENV) $(GO) vet ./... && $(BINDINGS_ENV) $(GO) test -count=1 ./...

python-test: $(TEST_PC)
	cd bindings/python && $(BINDINGS_ENV) PYTHONPATH=. $(PYTHON) -m pytest -q -p no:cacheprovider tests

python-cdef:
	$(PYTHON) bindings/python/gen_cdef.py include/cstorage.h

examples: $(TEST_PC)
	examples/run.sh $(TEST_PREFIX)

# The installed shared object and command carry no debug sections (unless installed with
# STRIP=), and the man page renders without a warning.
install-check: $(TEST_PC)
	@for f in $(TEST_PREFIX)/lib/$(REAL_NAME) $(TEST_PREFIX)/bin/cstorage; do \
	    if readelf -S $$f | grep -q '\.debug_info'; then echo "$$f is not stripped" >&2; exit 1; fi; done
	groff -man -Tutf8 -ww -z $(TEST_PREFIX)/share/man/man1/cstorage.1 2>&1 | { ! grep .; }
	@echo "install-check: stripped $(REAL_NAME) ($$(stat -c %s $(TEST_PREFIX)/lib/$(REAL_NAME)) bytes), man page renders"

# --- fuzzing: fuzz/ is a workspace of its own, built only here --------------------------------

FUZZ_SECONDS ?= 600
# The targets' temp stores: on tmpfs, record writes (fdatasync) cost nothing, so the fuzzer
# spends its time in our code (tar_import: 110 executions per second against 33 on ext4).
FUZZ_TMPDIR ?= $(if $(wildcard /dev/shm),/dev/shm,/tmp)
FUZZ_TARGETS := tar_import record_files storage_conf oci_layout

# Each target runs on a scratch copy of its seeds (fuzz/seeds/<target>, committed), so new
# inputs libFuzzer finds do not dirty the tree; a crash stops the run and leaves its input in
# fuzz/artifacts/<target>/.
fuzz:
	cd fuzz && for target in $(FUZZ_TARGETS); do \
	    rm -rf ../target/fuzz-corpus/$$target && mkdir -p ../target/fuzz-corpus/$$target && \
	    cp seeds/$$target/* ../target/fuzz-corpus/$$target/ && \
	    TMPDIR=$(FUZZ_TMPDIR) cargo +nightly fuzz run -O $$target ../target/fuzz-corpus/$$target -- \
	        -max_total_time=$(FUZZ_SECONDS) -max_len=1048576 -rss_limit_mb=4096 -print_final_stats=1 \
	        || exit 1; \
	done

fuzz-smoke:
	$(MAKE) fuzz FUZZ_SECONDS=20

#!/usr/bin/env bash
# Install what building and testing libcstorage needs on Debian 12, as root: a C toolchain for
# the C tests, valgrind, pkg-config, Go and pytest for the bindings' tests, podman, the Go
# implementation to test against (Debian's containers-storage, c/storage 1.43), the tools the
# tests use to build real tar streams, and a Debian 13 chroot with c/storage 1.57 and podman 5
# (scripts/trixie-chroot.sh; about 1.5 min the first time, nothing once built). Rust itself comes
# from rustup (https://rustup.rs); this script does not install it.
set -euo pipefail

packages=(
  build-essential pkg-config valgrind   # C tests: compile through pkg-config, check for leaks
  containers-storage                    # the Go c/storage CLI we interoperate with
  attr zstd gzip bzip2 xz-utils tar     # real test tars: xattrs, zstd, gzip, bzip2 and xz streams
  python3-cffi                          # the header check parses cstorage.h with cffi; the Python binding
  python3-pytest                        # the Python binding's tests
  golang-go                             # the Go binding's tests and example (cgo, standard library only)
  podman                                # examples and the README walkthrough: podman lists their stores
  groff-base                            # install-check renders the man page
  skopeo runc busybox-static            # OCI image import/export against c/image 5.23 and podman 4.3
  debootstrap                           # the Debian 13 chroot for the 1.57 / podman 5 tests
  strace                                # tests/durability.rs asserts the order of syncs and renames
  xfsprogs                              # tests/reflink_copy.rs and benches/reflink.rs: an XFS (reflink=1) loop mount
)

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: run as root (it uses apt-get)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
# The python3 first on PATH may not be Debian's (pyenv, venv): give it cffi and pytest too.
for module in cffi pytest; do
  if ! python3 -c "import $module" 2>/dev/null; then
    python3 -m pip install --quiet "$module"
  fi
done
echo "install-deps.sh: installed ${packages[*]}"
# rustfmt and clippy for `make lint` (part of `make check`); rustup installs both by default.
if command -v rustup >/dev/null && ! { cargo fmt --version && cargo clippy --version; } >/dev/null 2>&1; then
  rustup component add rustfmt clippy
fi
# cargo-fuzz for `make fuzz` and CI's fuzz smoke (nightly comes from rustup, as Rust does).
if command -v rustup >/dev/null && rustup toolchain list | grep -q nightly && ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  cargo install --locked cargo-fuzz
fi
# c/storage 1.57 and podman 5 for tests/interop_157.rs.
"$(dirname "$0")/trixie-chroot.sh" build

#!/usr/bin/env bash
# Build the example in C, Go and Python against the library installed in PREFIX (default
# ./_install) and run each on a store of its own in a temporary directory, on a real gzip layer
# tarball. Each must export the tar inside it byte for byte, leave a store podman lists (when podman
# is installed), and print the same lines as the others (IDs aside). The README's C program is
# built and run too.
# Usage: examples/run.sh [PREFIX] [DRIVER]
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
prefix=${1:-$repo/_install}
driver=${2:-vfs}
work=$(mktemp -d /tmp/cstorage-examples.XXXXXX)
trap 'rm -rf "$work"' EXIT
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
libdir=$(pkg-config --variable=libdir cstorage)

# A small root file system as a gzip tarball (numeric owners, fixed times).
mkdir -p "$work/rootfs/etc" "$work/rootfs/bin"
echo "Hello from libcstorage" > "$work/rootfs/etc/motd"
printf '#!/bin/sh\necho hi\n' > "$work/rootfs/bin/hello" && chmod 755 "$work/rootfs/bin/hello"
tar --numeric-owner --owner=0 --group=0 --mtime=2026-11-23T06:07Z -C "$work/rootfs" -czf "$work/layer.tar.gz" etc bin

echo "== building the C and Go examples against $prefix"
cc -std=c11 -Wall -Wextra -Wpedantic -Werror examples/example.c -o "$work/example-c" \
  $(pkg-config --cflags --libs cstorage) -Wl,-rpath,"$libdir"
(cd examples/go && CGO_LDFLAGS="-Wl,-rpath,$libdir" go build -o "$work/example-go" .)

run_c() { "$work/example-c" "$@"; }
run_go() { "$work/example-go" "$@"; }
run_python() { CSTORAGE_LIBRARY=$libdir/libcstorage.so.0 PYTHONPATH=$repo/bindings/python python3 examples/example.py "$@"; }

passed=0 failed=0
for lang in c go python; do
  store=$work/$lang
  echo "== $lang"
  if ! "run_$lang" "$store/graph" "$store/run" "$work/layer.tar.gz" "$store/export.tar" "$driver" > "$store.out"; then
    echo "FAIL $lang: the example failed"; failed=$((failed + 1)); continue
  fi
  sed 's/^/    /' "$store.out"
  # IDs are random: compare the lines with each 64-digit hex ID replaced.
  sed -E 's/[0-9a-f]{64}/ID/g' "$store.out" > "$store.normalized"
  problem=
  gunzip -c "$work/layer.tar.gz" | cmp -s - "$store/export.tar" || problem="the export is not the imported tar"
  if [ -z "$problem" ] && [ "$lang" != c ] && ! diff -u "$work/c.normalized" "$store.normalized"; then
    problem="its output differs from the C example's"
  fi
  if [ -z "$problem" ] && command -v podman >/dev/null; then
    # podman's own state goes under the store too (--tmpdir), never to /run/libpod.
    if ! podman --root "$store/graph" --runroot "$store/run" --storage-driver "$driver" \
         --tmpdir "$store/podman" --events-backend none images --format '{{.Repository}}:{{.Tag}}' \
         > "$store.podman" 2>&1 || ! grep -qx 'example.com/example:latest' "$store.podman"; then
      problem="podman cannot list its store: $(cat "$store.podman")"
    fi
  fi
  if [ -n "$problem" ]; then
    echo "FAIL $lang: $problem"; failed=$((failed + 1))
  else
    echo "PASS $lang"; passed=$((passed + 1))
  fi
done
# The README's C program, compiled as printed: it imports the tarball and prints the layer's
# ID and diff ID, which must be the digest of the tar inside the tarball.
echo "== the README's C program"
sed -n '/^## Using it from C/,/^## /p' README.md | sed -n '/^```c$/,/^```$/p' | sed '1d;$d' > "$work/readme.c"
diff_id=sha256:$(gunzip -c "$work/layer.tar.gz" | sha256sum | cut -d' ' -f1)
if cc -std=c11 -Wall -Wextra -Wpedantic -Werror "$work/readme.c" -o "$work/readme-c" \
     $(pkg-config --cflags --libs cstorage) -Wl,-rpath,"$libdir" &&
   "$work/readme-c" "$work/readme-store" "$work/layer.tar.gz" > "$work/readme.out" &&
   grep -Eqx "[0-9a-f]{64} $diff_id" "$work/readme.out"; then
  echo "PASS readme-c"; passed=$((passed + 1))
else
  echo "FAIL readme-c: $(cat "$work/readme.out" 2>/dev/null)"; failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

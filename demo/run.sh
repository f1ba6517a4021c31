#!/usr/bin/env bash
# Build and run the demo against the library installed in PREFIX (default ./_install), on a real
# layer: Debian's busybox-static package unpacked into a small root file system and tarred with
# gzip. Then check independently, with sha256sum, that the exported tar is the original one.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${1:-$PWD/_install}
driver=${CS_DEMO_DRIVER:-vfs}
work=$PWD/_demo
rm -rf "$work" && mkdir -p "$work"

cache=$PWD/_demo-cache
layer=$cache/busybox-layer.tar.gz
if [ ! -f "$layer" ]; then
  echo "== building a real layer from Debian's busybox-static package"
  mkdir -p "$cache"
  (cd "$work" && apt-get download -q -o APT::Sandbox::User=root busybox-static >/dev/null)
  mkdir -p "$work/rootfs"
  dpkg-deb -x "$work"/busybox-static_*.deb "$work/rootfs"
  mkdir -p "$work/rootfs/bin" "$work/rootfs/etc" "$work/rootfs/tmp"
  for applet in sh ls cat echo; do ln -sf busybox "$work/rootfs/bin/$applet"; done
  echo "root:x:0:0:root:/root:/bin/sh" > "$work/rootfs/etc/passwd"
  tar --numeric-owner -C "$work/rootfs" -czf "$layer.tmp" . && mv "$layer.tmp" "$layer"
fi

echo "== compiling demo/demo.c against $prefix through pkg-config"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
cc -std=c11 -Wall -Wextra -Wpedantic -Werror demo/demo.c -o "$work/demo" \
  $(pkg-config --cflags --libs cstorage) -Wl,-rpath,"$(pkg-config --variable=libdir cstorage)"

echo "== running the demo ($driver driver)"
"$work/demo" "$work/graph" "$work/run" "$driver" "$layer" "$work/exported.tar" | tee "$work/demo.log"

echo "== checking the exported tar with sha256sum"
diff_id=$(sed -n 's/^diff-id sha256:\([0-9a-f]*\)$/\1/p' "$work/demo.log")
exported=$(sha256sum "$work/exported.tar" | cut -d' ' -f1)
original=$(gunzip -c "$layer" | sha256sum | cut -d' ' -f1)
echo "diff ID:            $diff_id"
echo "sha256 of export:   $exported"
echo "sha256 of original: $original (uncompressed)"
[ "$diff_id" = "$exported" ] && [ "$exported" = "$original" ]
echo "demo OK: the layer went in and came out byte for byte"

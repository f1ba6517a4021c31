#!/usr/bin/env bash
# Build and run the demo against the library installed in PREFIX (default ./_install), on a real
# OCI image: Debian's busybox-static package unpacked into a small root file system, tarred with
# gzip, and put in an OCI image layout with a config and manifest written here. Then check
# independently, with sha256sum, that the exported layer tar is the original one.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${1:-$PWD/_install}
driver=${CS_DEMO_DRIVER:-auto}
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

echo "== writing an OCI image layout around the layer (config and manifest, as a registry would)"
layout=$work/oci-layout
mkdir -p "$layout/blobs/sha256"
put_blob() { local d; d=$(sha256sum "$1" | cut -d' ' -f1); cp "$1" "$layout/blobs/sha256/$d"; echo "$d"; }
diff_id=$(gunzip -c "$layer" | sha256sum | cut -d' ' -f1)
layer_blob=$(put_blob "$layer")
printf '{"created":"2024-01-02T03:04:05Z","architecture":"amd64","os":"linux","config":{"Cmd":["/bin/sh"],"Env":["PATH=/bin"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"2024-01-02T03:04:05Z","created_by":"demo/run.sh"}]}' \
  "$diff_id" > "$work/config.json"
config_blob=$(put_blob "$work/config.json")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%d}]}' \
  "$config_blob" "$(stat -c %s "$work/config.json")" "$layer_blob" "$(stat -c %s "$layer")" > "$work/manifest.json"
manifest_blob=$(put_blob "$work/manifest.json")
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"annotations":{"org.opencontainers.image.ref.name":"latest"}}]}' \
  "$manifest_blob" "$(stat -c %s "$work/manifest.json")" > "$layout/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' > "$layout/oci-layout"

echo "== compiling demo/demo.c against $prefix through pkg-config"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
cc -std=c11 -Wall -Wextra -Wpedantic -Werror demo/demo.c -o "$work/demo" \
  $(pkg-config --cflags --libs cstorage) -Wl,-rpath,"$(pkg-config --variable=libdir cstorage)"

echo "== running the demo (driver: $driver)"
"$work/demo" "$work/graph" "$work/run" "$driver" "$layout" latest "$work/exported.tar" | tee "$work/demo.log"
grep -q "^imported image ${config_blob:0:12} " "$work/demo.log"  # the image ID is the config digest, as in c/image

echo "== checking the exported tar with sha256sum"
diff_id=$(sed -n 's/^diff-id sha256:\([0-9a-f]*\)$/\1/p' "$work/demo.log")
exported=$(sha256sum "$work/exported.tar" | cut -d' ' -f1)
original=$(gunzip -c "$layer" | sha256sum | cut -d' ' -f1)
echo "diff ID:            $diff_id"
echo "sha256 of export:   $exported"
echo "sha256 of original: $original (uncompressed)"
[ "$diff_id" = "$exported" ] && [ "$exported" = "$original" ]
echo "demo OK: the layer went in and came out byte for byte"

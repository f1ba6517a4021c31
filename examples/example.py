#!/usr/bin/env python3
"""The libcstorage example, in Python (the same program is in example.c and go/example.go):
import a layer tarball, make an image of it that podman and skopeo can read (OCI config and
manifest), create a container, mount it and write a file, list the store, export the layer.

    python3 example.py GRAPH_ROOT RUN_ROOT LAYER.tar[.gz] EXPORT.tar [DRIVER]
"""
import hashlib
import json
import os
import sys

import cstorage


def main(graph_root, run_root, tarball, export_path, driver="vfs"):
    with cstorage.Store(graph_root, run_root, driver) as store:
        # The layer, from the tarball.
        with open(tarball, "rb") as f:
            layer = store.import_layer(f, names=["example-base"])
        print("layer %s %s" % (layer.id, layer.uncompressed_digest))

        # The image, with the OCI config (stored under its digest) and manifest podman reads.
        config = ('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["%s"]}}'
                  % layer.uncompressed_digest).encode()
        config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
        plain = layer.compressed_digest == layer.uncompressed_digest
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": config_digest, "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar" + ("" if plain else "+gzip"),
                        "digest": layer.compressed_digest, "size": layer.compressed_size}],
        }, separators=(",", ":")).encode()
        image = store.create_image(layer.id, names=["example.com/example:latest"],
                                   big_data={config_digest: config, "manifest": manifest})
        print("image %s %s" % (image.id, image.names[0]))

        # A container from the image.
        container = store.create_container(image.id, names=["example"])
        print("container %s %s" % (container.id, container.names[0]))

        # Mount it, write a file; unmounted when the block ends.
        with store.mounted(cstorage.Kind.CONTAINER, "example") as root:
            with open(os.path.join(root, "etc", "example"), "w") as f:
                f.write("written by the example\n")
        print("wrote /etc/example")

        # List the store: layers, images and containers read together.
        layers, images, containers = store.multi_list()
        print("%d layers, %d images, %d containers" % (len(layers), len(images), len(containers)))
        for c in containers:
            print("  container %s on layer %s" % (c.names[0], c.layer))

        # Export the layer against its parent, uncompressed: the tar inside the tarball it was
        # imported from, byte for byte.
        with open(export_path, "wb") as f:
            store.export_layer(layer.id, f, compression=cstorage.Compression.UNCOMPRESSED)
        print("exported layer %s" % layer.id)


if __name__ == "__main__":
    if len(sys.argv) < 5:
        sys.exit("usage: example.py GRAPH_ROOT RUN_ROOT LAYER.tar[.gz] EXPORT.tar [DRIVER]")
    try:
        main(*sys.argv[1:6])
    except cstorage.CStorageError as e:
        sys.exit(str(e))

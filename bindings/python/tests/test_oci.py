"""Images in and out as OCI image layouts: a layout written here (gzip layer, config, manifest,
index.json) imported with c/image's IDs, progress and cancel, errors, export and re-import."""
import gzip
import hashlib
import json
import os

import pytest

import cstorage
from cstorage import Compression
from conftest import layer_tar


def put(layout, data):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(layout, "blobs", "sha256", digest), "wb") as f:
        f.write(data)
    return "sha256:" + digest


def write_layout(layout):
    """One image tagged v1 of one gzip layer; returns (image ID, top layer ID)."""
    os.makedirs(os.path.join(layout, "blobs", "sha256"))
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    tar = layer_tar({"etc/motd": b"from an OCI layout\n"})
    blob = gzip.compress(tar, mtime=0)
    layer = put(layout, blob)
    diff_id = "sha256:" + hashlib.sha256(tar).hexdigest()
    config = json.dumps({"created": "2020-01-02T03:04:05Z", "os": "linux", "architecture": "amd64",
                         "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
    config_digest = put(layout, config)
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": config_digest, "size": len(config)},
                           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                       "digest": layer, "size": len(blob)}]}).encode()
    manifest_digest = put(layout, manifest)
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest_digest,
            "size": len(manifest), "annotations": {"org.opencontainers.image.ref.name": "v1"}}]}, f)
    return config_digest[7:], diff_id[7:]


def test_import_and_export_oci(store, tmp_path):
    layout = str(tmp_path / "layout")
    image_id, layer_id = write_layout(layout)
    with pytest.raises(cstorage.Cancelled):
        store.import_oci(layout, "v1", progress=lambda *p: False)
    seen = []
    image = store.import_oci(layout, "v1", names=["localhost/motd:v1"], progress=lambda *p: seen.append(p))
    assert image.id == image_id and image.top_layer == layer_id
    assert image.names == ["localhost/motd:v1"]
    assert seen and seen[-1][:2] == (0, 1) and seen[-1][2] == seen[-1][3]
    with pytest.raises(cstorage.ReferenceUnknown):
        store.import_oci(layout, "nosuch")
    with pytest.raises(cstorage.NoMatchingPlatform):
        store.import_oci(layout, "v1", platform="windows/amd64")
    os.remove(os.path.join(layout, "index.json"))
    with pytest.raises(cstorage.BadLayout):
        store.import_oci(layout, "v1")

    layout = str(tmp_path / "layout2")
    write_layout(layout)
    fd = os.open(layout, os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert store.import_oci_fd(fd, "v1").id == image_id
    finally:
        os.close(fd)

    exported = str(tmp_path / "exported")
    digest = store.export_oci("localhost/motd:v1", exported, "out", compression=Compression.UNCOMPRESSED)
    assert digest.startswith("sha256:")
    with cstorage.Store(str(tmp_path / "g2"), str(tmp_path / "r2"), "vfs") as other:
        again = other.import_oci(exported, "out")
        assert again.id == image_id and again.top_layer == layer_id

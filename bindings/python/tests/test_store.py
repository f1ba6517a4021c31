"""Store, layers, images, containers, mounts, names and big data on real temporary stores."""
import gzip
import hashlib
import io
import os

import pytest

import cstorage
from cstorage import ChangeKind, Compression, Kind
from conftest import layer_tar


def test_open_reports_the_store(store):
    assert store.driver_name == "vfs"
    assert store.graph_root.endswith("/graph") and store.run_root.endswith("/run")
    assert os.path.exists(os.path.join(store.graph_root, "vfs-layers", "layers.lock"))
    assert store.compat_level == "1.57"
    assert dict(store.version())
    assert cstorage.library_version()[2] == 0


def test_import_from_a_stream_exports_byte_identical(store):
    plain = layer_tar({"etc/motd": b"hello\n", "etc/hostname": b"box\n"})
    seen = []
    layer = store.import_layer(io.BytesIO(plain), names=["base"],
                               progress=lambda done, total: seen.append(done))
    assert layer.uncompressed_digest == "sha256:" + hashlib.sha256(plain).hexdigest()
    assert layer.names == ["base"] and layer.uncompressed_size == len(plain)
    assert seen and seen[-1] == len(plain)
    out = io.BytesIO()
    store.export_layer("base", out)
    assert out.getvalue() == plain


class ReadOnlyStream:
    """A file object with read() only (no readinto), as sockets' makefile() wrappers may be."""

    def __init__(self, data):
        self._inner = io.BytesIO(data)

    def read(self, n):
        return self._inner.read(min(n, 1000))


def test_import_from_files_and_read_only_streams(store, tmp_path):
    plain = layer_tar({"etc/motd": b"zipped\n"})
    path = tmp_path / "layer.tar.gz"
    path.write_bytes(gzip.compress(plain))
    with open(path, "rb") as f:
        layer = store.import_layer(f)
    assert layer.compressed_digest == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    with open(tmp_path / "export.tar", "wb") as f:
        store.export_layer(layer.id, f, compression=Compression.UNCOMPRESSED)
    assert (tmp_path / "export.tar").read_bytes() == plain
    with open(tmp_path / "export-fd.tar", "wb") as f:
        store.export_layer_fd(layer.id, f.fileno(), compression=Compression.UNCOMPRESSED)
    assert (tmp_path / "export-fd.tar").read_bytes() == plain
    again = store.import_layer(ReadOnlyStream(plain))
    assert again.uncompressed_digest == layer.uncompressed_digest
    with open(path, "rb") as f:
        by_fd = store.import_layer_fd(f.fileno(), names=["fd"])
    assert by_fd.compressed_digest == layer.compressed_digest


def test_images_containers_mounts_names_and_big_data(store):
    base = store.import_layer(io.BytesIO(layer_tar({"etc/motd": b"hi\n"})))
    manifest = b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}'
    image = store.create_image(base.id, names=["example.com/app:1"], metadata="meta",
                               big_data={"manifest": manifest})
    assert image.top_layer == base.id and image.big_data_names == ["manifest"]
    assert image.digest == "sha256:" + hashlib.sha256(manifest).hexdigest()
    assert store.images(digest=image.digest) == [store.image("example.com/app:1")]
    container = store.create_container("example.com/app:1", names=["web"])
    assert container.image == image.id and container.layer

    with store.mounted(Kind.CONTAINER, "web") as root:
        with open(os.path.join(root, "etc", "added"), "w") as f:
            f.write("new\n")
        assert store.mount_count(Kind.CONTAINER, "web") == 1
    assert store.mount_count(Kind.CONTAINER, "web") == 0
    assert store.changes(container.layer) == [cstorage.Change("/etc", ChangeKind.MODIFY),
                                              cstorage.Change("/etc/added", ChangeKind.ADD)]

    store.add_names("web", ["web2", "web3"])
    store.remove_names("web", ["web2"])
    assert store.names("web3") == ["web", "web3"]
    store.set_names(base.id, ["base"])
    store.set_metadata("base", "layer meta")
    assert store.metadata("base") == "layer meta"
    assert store.lookup("web3") == container.id and store.exists("base")

    for kind, key in [(Kind.LAYER, "base"), (Kind.IMAGE, image.id), (Kind.CONTAINER, "web")]:
        store.set_big_data(kind, key, "blob", b"data of " + kind.value.encode())
        assert store.big_data(kind, key, "blob") == b"data of " + kind.value.encode()
        assert "blob" in store.big_data_names(kind, key)
    assert store.big_data_size(Kind.IMAGE, image.id, "manifest") == len(manifest)
    assert store.big_data_digest(Kind.CONTAINER, "web", "blob") == \
        "sha256:" + hashlib.sha256(b"data of container").hexdigest()

    with pytest.raises(cstorage.ImageUsedByContainer):
        store.delete_image(image.id)
    store.delete_container("web")
    assert store.delete_image(image.id) == [base.id]
    assert store.multi_list() == ([], [], [])


def is_mount_point(path):
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == path for line in f)


def test_overlay_mount_is_a_real_mount(make_store):
    store = make_store("overlay")
    store.import_layer(io.BytesIO(layer_tar({"etc/motd": b"lower\n"})), names=["base"])
    top = store.create_layer("base", writeable=True)
    with store.mounted(Kind.LAYER, top.id) as root:
        assert is_mount_point(root)
        with open(os.path.join(root, "etc", "motd"), "rb") as f:
            assert f.read() == b"lower\n"
    assert not is_mount_point(root)


def test_close_waits_and_then_refuses(make_store):
    store = make_store()
    store.close()
    store.close()
    with pytest.raises(cstorage.StoreClosed):
        store.layers()


def test_log_messages_reach_the_callback(tmp_path):
    conf = tmp_path / "storage.conf"
    conf.write_text('[storage]\ndriver = "vfs"\nnosuchkey = "x"\n')
    messages = []
    cstorage.set_log_callback(lambda level, message: messages.append((level, message)), cstorage.LOG_WARN)
    try:
        cstorage.Store(str(tmp_path / "g"), str(tmp_path / "r"), config_file=str(conf)).close()
    finally:
        cstorage.set_log_callback(None)
    assert any(level == cstorage.LOG_WARN and "nosuchkey" in message for level, message in messages), messages


def test_chain_id():
    diff_a, diff_b = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    assert cstorage.chain_id(None, diff_a) == diff_a
    expected = "sha256:" + hashlib.sha256((diff_a + " " + diff_b).encode()).hexdigest()
    assert cstorage.chain_id(diff_a, diff_b) == expected
    with pytest.raises(cstorage.InvalidArgument):
        cstorage.chain_id(None, "not a digest")

"""Every failure reaches Python as the exception class of its code, with the library's message,
on whichever thread it happens; the store is unchanged after each."""
import errno
import io
import re
import threading

import pytest

import cstorage
from cstorage import Kind
from conftest import layer_tar
from test_header import header_text


@pytest.fixture
def populated(store):
    tar = layer_tar({"etc/motd": b"x\n"})
    store.import_layer(io.BytesIO(tar), names=["base"])
    store.create_layer("base", names=["child"])
    image = store.create_image("child", names=["img"])
    container = store.create_container("img", names=["ctr"])
    lone = store.create_layer()
    store.create_image(lone.id, names=["lone"])
    return store, tar, image, container, lone


class FailingReader:
    def readinto(self, buffer):
        raise BrokenPipeError(errno.EPIPE, "the peer went away")


def error_cases(store, tar, image, container, lone, tmp_path):
    return [
        (cstorage.LayerUnknown, lambda: store.layer("nosuch")),
        (cstorage.ImageUnknown, lambda: store.image("nosuch")),
        (cstorage.ContainerUnknown, lambda: store.container("nosuch")),
        (cstorage.NotAnID, lambda: store.lookup("nosuch")),
        (cstorage.DuplicateId, lambda: store.create_image(None, id=image.id)),
        (cstorage.DuplicateName, lambda: store.create_layer(names=["base"])),
        (cstorage.LayerHasChildren, lambda: store.delete_layer("base")),
        (cstorage.LayerUsedByImage, lambda: store.delete_layer(lone.id)),
        (cstorage.LayerUsedByContainer, lambda: store.delete_layer(container.layer)),
        (cstorage.ImageUsedByContainer, lambda: store.delete_image("img")),
        (cstorage.LayerNotMounted, lambda: store.unmount(Kind.LAYER, "base")),
        (cstorage.SizeUnknown, lambda: store.size(Kind.LAYER, "child")),
        (cstorage.BigDataUnknown, lambda: store.big_data(Kind.IMAGE, "img", "nosuch")),
        (cstorage.NotSupported, lambda: store.mount_count(Kind.IMAGE, "img")),
        (cstorage.ParentIsContainer, lambda: store.create_layer(container.layer)),
        (cstorage.InvalidArgument, lambda: store.set_big_data(Kind.IMAGE, "img", "", b"")),
        (cstorage.InvalidArgument, lambda: store.create_layer(id="a/b")),
        (cstorage.DigestMismatch, lambda: store.import_layer(io.BytesIO(tar), uncompressed_digest="sha256:" + "0" * 64)),
        (cstorage.BadArchive, lambda: store.import_layer(io.BytesIO(b"not a tar " * 100))),
        (cstorage.CallbackFailed, lambda: store.import_layer(FailingReader())),
        (cstorage.Cancelled, lambda: store.import_layer(io.BytesIO(tar), progress=lambda d, t: False)),
        (cstorage.Config, lambda: cstorage.Store(str(tmp_path / "g"), str(tmp_path / "r"), "vfs",
                                                 additional_image_stores=["relative/path"])),
        (cstorage.StoreReadOnly, lambda: read_only_set_metadata(store)),
    ]


def read_only_set_metadata(store):
    with cstorage.Store(store.graph_root, store.run_root, "vfs", read_only=True) as ro:
        ro.set_metadata("base", "x")


def test_each_failure_raises_its_class(populated, tmp_path):
    store = populated[0]
    before = store.multi_list()
    for cls, call in error_cases(*populated, tmp_path):
        with pytest.raises(cls) as raised:
            call()
        assert raised.value.code == cls.code and raised.value.message, cls
        assert str(raised.value).startswith(raised.value.code_name + ": ")
    assert store.multi_list() == before


def test_every_header_code_has_its_class():
    codes = re.findall(r"^#define (CS_RESULT_[A-Z_]+) (-\d+)$", header_text(), re.M)
    assert len(codes) >= 29
    for name, value in codes:
        cls = cstorage.BY_CODE.get(int(value))
        assert cls is not None, (
            "%s (%s) has no exception class: add `class %s(CStorageError)` with "
            "`code = lib.%s` to bindings/python/cstorage/errors.py"
            % (name, value, "".join(w.capitalize() for w in name[10:].split("_")), name))
        assert getattr(cstorage, cls.__name__) is cls
        assert cls(message="m").code_name == name


def test_a_readers_exception_is_the_cause(store):
    with pytest.raises(cstorage.CallbackFailed) as raised:
        store.import_layer(FailingReader())
    assert raised.value.errno == errno.EPIPE
    assert isinstance(raised.value.__cause__, BrokenPipeError)
    assert store.layers() == []


def test_a_writers_exception_stops_the_export(store):
    store.import_layer(io.BytesIO(layer_tar({"etc/big": b"z" * (4 << 20)})), names=["big"])

    class Full(io.RawIOBase):
        written = 0

        def writable(self):
            return True

        def write(self, b):
            if self.written > 1 << 20:
                raise OSError(errno.ENOSPC, "disk full")
            self.written += len(b)
            return len(b)

    sink = Full()
    with pytest.raises(cstorage.CallbackFailed) as raised:
        store.export_layer("big", sink)
    assert raised.value.errno == errno.ENOSPC and isinstance(raised.value.__cause__, OSError)
    assert sink.written < 4 << 20


def test_errors_on_other_threads(store):
    """Errors raised on threads other than the opener's come back whole, while other threads
    import at the same time (cffi releases the GIL during calls)."""
    failures = []

    def work(i):
        try:
            for _ in range(4):
                if i % 2:
                    store.import_layer(io.BytesIO(layer_tar({"etc/n": b"%d" % i})))
                else:
                    with pytest.raises(cstorage.ImageUnknown, match="missing-image"):
                        store.image("missing-image")
        except BaseException as e:  # noqa: BLE001 - reported below
            failures.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert len(store.layers()) == 16

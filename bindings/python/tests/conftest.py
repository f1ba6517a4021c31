"""Fixtures: stores in the test's own temporary directory (never /var/lib/containers), and real
tar streams made with the tarfile module."""
import io
import tarfile

import pytest

import cstorage


@pytest.fixture
def make_store(tmp_path):
    """Open stores under tmp_path; each is unmounted and closed when the test ends."""
    opened = []

    def make(driver="vfs", name="store", **options):
        store = cstorage.Store(str(tmp_path / name / "graph"), str(tmp_path / name / "run"),
                               driver, **options)
        opened.append(store)
        return store

    yield make
    for store in opened:
        try:
            store.shutdown(force=True)
        except cstorage.StoreClosed:
            pass
        store.close()


@pytest.fixture
def store(make_store):
    return make_store()


def layer_tar(files: dict, mode=0o644) -> bytes:
    """A real tar stream: etc/ and the files given."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        directory = tarfile.TarInfo("etc")
        directory.type, directory.mode, directory.mtime = tarfile.DIRTYPE, 0o755, 1795000000
        tar.addfile(directory)
        for name, body in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(body), mode, 1795000000
            tar.addfile(info, io.BytesIO(body))
    return out.getvalue()

"""The Store: an open libcstorage store, shareable between threads."""
from __future__ import annotations

import contextlib
import errno as errno_codes
import json
import threading
from datetime import datetime, timedelta
from typing import BinaryIO, Callable, Iterator, Mapping, Sequence

from ._native import cstr, ffi, lib, pystr, take_str, take_strarray
from .check import CheckReport, CheckStep, step, take_report
from .errors import CStorageError, InvalidArgument, NotSupported, StoreClosed, check
from .records import (Change, ChangeKind, Compression, Container, IDMap, Image, Kind, Layer,
                      id_maps, py_id_maps, take_list, take_one)

# One library function per kind of record, for the operations the three kinds share.
_MOUNT = {Kind.LAYER: lib.cs_layer_mount, Kind.IMAGE: lib.cs_image_mount,
          Kind.CONTAINER: lib.cs_container_mount}
_UNMOUNT = {Kind.LAYER: lib.cs_layer_unmount, Kind.IMAGE: lib.cs_image_unmount,
            Kind.CONTAINER: lib.cs_container_unmount}
_MOUNTED = {Kind.LAYER: lib.cs_layer_mounted, Kind.CONTAINER: lib.cs_container_mounted}
_SIZE = {Kind.LAYER: lib.cs_layer_size, Kind.IMAGE: lib.cs_image_size,
         Kind.CONTAINER: lib.cs_container_size}
_DIRECTORY = {Kind.IMAGE: lib.cs_image_directory, Kind.CONTAINER: lib.cs_container_directory}
_RUN_DIRECTORY = {Kind.IMAGE: lib.cs_image_run_directory,
                  Kind.CONTAINER: lib.cs_container_run_directory}
_GET = {Kind.LAYER: lib.cs_layer_get, Kind.IMAGE: lib.cs_image_get,
        Kind.CONTAINER: lib.cs_container_get}
_SET_BIG_DATA = {Kind.LAYER: lib.cs_layer_set_big_data, Kind.IMAGE: lib.cs_image_set_big_data,
                 Kind.CONTAINER: lib.cs_container_set_big_data}
_BIG_DATA = {Kind.LAYER: lib.cs_layer_big_data, Kind.IMAGE: lib.cs_image_big_data,
             Kind.CONTAINER: lib.cs_container_big_data}
_BIG_DATA_NAMES = {Kind.LAYER: lib.cs_layer_big_data_names, Kind.IMAGE: lib.cs_image_big_data_names,
                   Kind.CONTAINER: lib.cs_container_big_data_names}
_BIG_DATA_SIZE = {Kind.IMAGE: lib.cs_image_big_data_size,
                  Kind.CONTAINER: lib.cs_container_big_data_size}
_BIG_DATA_DIGEST = {Kind.IMAGE: lib.cs_image_big_data_digest,
                    Kind.CONTAINER: lib.cs_container_big_data_digest}


def _for(table: dict, kind: Kind, what: str):
    try:
        return table[kind]
    except KeyError:
        raise NotSupported("libcstorage offers no %s for %ss" % (what, kind.value)) from None


def _setters(setters) -> None:
    """Run option setters (function, *args) in order, raising at the first failure."""
    for function, *args in setters:
        check(function, *args)


class _Stream:
    """The Python side of one import or export: the library calls `read`/`write` during the
    call, on the calling thread; an exception there is kept and raised after the call."""

    def __init__(self, fileobj, progress=None):
        self.fileobj, self.progress, self.failure = fileobj, progress, None
        self.read_fn = ffi.callback("cs_read_fn", self._read)
        self.write_fn = ffi.callback("cs_write_fn", self._write)
        self.progress_fn = ffi.callback("cs_progress_fn", self._progress)

    def _fail(self, exception: BaseException) -> int:
        self.failure = self.failure or exception
        return getattr(exception, "errno", None) or errno_codes.EIO

    def _read(self, _userdata, buf, length, out_n):
        try:
            target = ffi.buffer(buf, length)
            readinto = getattr(self.fileobj, "readinto", None)
            if readinto is not None:
                n = readinto(target) or 0
            else:
                data = self.fileobj.read(length)
                n = len(data)
                target[:n] = data
            out_n[0] = n
            return 0
        except BaseException as e:  # noqa: B902 - anything raised must not unwind through C
            return self._fail(e)

    def _write(self, _userdata, buf, length, out_n):
        try:
            written = self.fileobj.write(ffi.buffer(buf, length)[:])
            out_n[0] = length if written is None else written
            return 0
        except BaseException as e:  # noqa: B902
            return self._fail(e)

    def _progress(self, _userdata, done, total):
        try:
            if self.progress is not None and self.progress(done, total) is False:
                return 1
            return 0
        except BaseException as e:  # noqa: B902
            self._fail(e)
            return 1

    def raise_failure(self, error: CStorageError):
        """Raise the library's error, chained to the Python exception behind it."""
        if isinstance(self.failure, (KeyboardInterrupt, SystemExit)):
            raise self.failure
        raise error from self.failure


class Store:
    """An open store. Settings left out come from storage.conf and the environment
    (STORAGE_DRIVER, STORAGE_OPTS, CONTAINERS_STORAGE_CONF), as in c/storage.

        with cstorage.Store(graph_root="/tmp/g", run_root="/tmp/r", driver="vfs") as store:
            ...

    Methods may be called from several threads at once; close() waits for calls in flight.
    """

    def __init__(self, graph_root: str | None = None, run_root: str | None = None,
                 driver: str | None = None, *, driver_options: Sequence[str] = (),
                 config_file: str | None = None, additional_image_stores: Sequence[str] = (),
                 image_store: str | None = None, read_only: bool = False,
                 transient: bool | None = None, compat_level: str | None = None,
                 uid_map: Sequence[IDMap] = (), gid_map: Sequence[IDMap] = ()):
        options = ffi.gc(lib.cs_store_options_new(), lib.cs_store_options_free)
        uids, gids = id_maps(uid_map), id_maps(gid_map)
        setters = [
            (lib.cs_store_options_set_graph_root, options, cstr(graph_root)),
            (lib.cs_store_options_set_run_root, options, cstr(run_root)),
            (lib.cs_store_options_set_driver, options, cstr(driver)),
            (lib.cs_store_options_set_config_file, options, cstr(config_file)),
            (lib.cs_store_options_set_image_store, options, cstr(image_store)),
            (lib.cs_store_options_set_compat_level, options, cstr(compat_level)),
            (lib.cs_store_options_set_read_only, options, read_only),
            (lib.cs_store_options_set_uid_map, options, *uids),
            (lib.cs_store_options_set_gid_map, options, *gids),
        ]
        setters += [(lib.cs_store_options_add_driver_option, options, cstr(o)) for o in driver_options]
        setters += [(lib.cs_store_options_add_additional_image_store, options, cstr(p))
                    for p in additional_image_stores]
        if transient is not None:
            setters.append((lib.cs_store_options_set_transient, options, transient))
        _setters(setters)
        handle = ffi.new("cs_store **")
        check(lib.cs_store_open, options, handle)
        self._handle = handle[0]
        self._busy = 0
        self._idle = threading.Condition()
        h = self._handle
        # What the handle owns is copied now: no getter needs the handle later.
        self.graph_root = pystr(lib.cs_store_graph_root(h))
        self.run_root = pystr(lib.cs_store_run_root(h))
        self.driver_name = pystr(lib.cs_store_driver_name(h))
        self.image_store = pystr(lib.cs_store_image_store(h))  # "" without a split image store
        self.compat_level = pystr(lib.cs_store_compat_level(h))
        self.transient = bool(lib.cs_store_transient(h))
        self.uid_map = py_id_maps(lib.cs_store_uid_map(h), lib.cs_store_uid_map_count(h))
        self.gid_map = py_id_maps(lib.cs_store_gid_map(h), lib.cs_store_gid_map_count(h))

    # --- the handle -------------------------------------------------------------------

    @contextlib.contextmanager
    def _store(self) -> Iterator:
        with self._idle:
            if self._handle is None:
                raise StoreClosed("the store is closed", code=lib.CS_RESULT_NULL_PARAMETER)
            self._busy += 1
        try:
            yield self._handle
        finally:
            with self._idle:
                self._busy -= 1
                self._idle.notify_all()

    def _call(self, function, *args) -> None:
        """A fallible store call: the handle first, then args, then the error out-parameter."""
        with self._store() as handle:
            check(function, handle, *args)

    def close(self) -> None:
        """Release the handle once calls in flight have returned (mounts stay; see shutdown).
        Closing twice is harmless."""
        with self._idle:
            while self._busy:
                self._idle.wait()
            if self._handle is not None:
                lib.cs_store_free(self._handle)
                self._handle = None

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _out(self, ctype: str, function, *args):
        out = ffi.new(ctype)
        self._call(function, *args, out)
        return out[0]

    def _out_str(self, function, *args) -> str:
        return take_str(self._out("char **", function, *args))

    def _out_strarray(self, function, *args) -> list[str]:
        array = ffi.new("cs_strarray *")
        self._call(function, *args, array)
        return take_strarray(array)

    # --- records ----------------------------------------------------------------------

    def get(self, kind: Kind, key: str):
        """The layer, image or container key names (ID, name or unique ID prefix)."""
        return take_one(kind, self._out("cs_%s **" % kind.value, _GET[kind], cstr(key)))

    def layer(self, key: str) -> Layer:
        return self.get(Kind.LAYER, key)

    def image(self, key: str) -> Image:
        return self.get(Kind.IMAGE, key)

    def container(self, key: str) -> Container:
        return self.get(Kind.CONTAINER, key)

    def container_by_layer(self, layer: str) -> Container:
        return take_one(Kind.CONTAINER, self._out("cs_container **", lib.cs_store_container_by_layer, cstr(layer)))

    def layers(self, *, compressed_digest: str | None = None,
               uncompressed_digest: str | None = None) -> list[Layer]:
        """All layers, oldest first, or those whose tar stream has the digest given."""
        if compressed_digest is not None:
            out = self._out("cs_layer_list **", lib.cs_store_layers_by_compressed_digest, cstr(compressed_digest))
        elif uncompressed_digest is not None:
            out = self._out("cs_layer_list **", lib.cs_store_layers_by_uncompressed_digest, cstr(uncompressed_digest))
        else:
            out = self._out("cs_layer_list **", lib.cs_store_layers)
        return take_list(Kind.LAYER, out)

    def images(self, *, digest: str | None = None, top_layer: str | None = None) -> list[Image]:
        """All images, or those with the digest or top layer given."""
        if digest is not None:
            out = self._out("cs_image_list **", lib.cs_store_images_by_digest, cstr(digest))
        elif top_layer is not None:
            out = self._out("cs_image_list **", lib.cs_store_images_by_top_layer, cstr(top_layer))
        else:
            out = self._out("cs_image_list **", lib.cs_store_images)
        return take_list(Kind.IMAGE, out)

    def containers(self) -> list[Container]:
        return take_list(Kind.CONTAINER, self._out("cs_container_list **", lib.cs_store_containers))

    def multi_list(self) -> tuple[list[Layer], list[Image], list[Container]]:
        """Layers, images and containers read together under their three locks."""
        layers, images = ffi.new("cs_layer_list **"), ffi.new("cs_image_list **")
        containers = ffi.new("cs_container_list **")
        self._call(lib.cs_store_multi_list, layers, images, containers)
        return (take_list(Kind.LAYER, layers[0]), take_list(Kind.IMAGE, images[0]),
                take_list(Kind.CONTAINER, containers[0]))

    # --- creating and deleting ----------------------------------------------------------

    @staticmethod
    def _layer_options(parent, id, names, writeable, mount_label, metadata, uid_map, gid_map,
                       compressed_digest, uncompressed_digest):
        options = ffi.gc(lib.cs_layer_options_new(), lib.cs_layer_options_free)
        uids, gids = id_maps(uid_map), id_maps(gid_map)
        setters = [
            (lib.cs_layer_options_set_id, options, cstr(id)),
            (lib.cs_layer_options_set_parent, options, cstr(parent)),
            (lib.cs_layer_options_set_writeable, options, writeable),
            (lib.cs_layer_options_set_compressed_digest, options, cstr(compressed_digest)),
            (lib.cs_layer_options_set_uncompressed_digest, options, cstr(uncompressed_digest)),
            (lib.cs_layer_options_set_uid_map, options, *uids),
            (lib.cs_layer_options_set_gid_map, options, *gids),
        ]
        if mount_label is not None:
            setters.append((lib.cs_layer_options_set_mount_label, options, cstr(mount_label)))
        if metadata is not None:
            setters.append((lib.cs_layer_options_set_metadata, options, cstr(metadata)))
        setters += [(lib.cs_layer_options_add_name, options, cstr(n)) for n in names]
        _setters(setters)
        return options

    def create_layer(self, parent: str | None = None, *, id: str | None = None,
                     names: Sequence[str] = (), writeable: bool = False,
                     mount_label: str | None = None, metadata: str | None = None,
                     uid_map: Sequence[IDMap] = (), gid_map: Sequence[IDMap] = ()) -> Layer:
        """Go's CreateLayer: an empty layer (a copy of its parent's contents)."""
        options = self._layer_options(parent, id, names, writeable, mount_label, metadata,
                                      uid_map, gid_map, None, None)
        return take_one(Kind.LAYER, self._out("cs_layer **", lib.cs_layer_create, options))

    def import_layer(self, fileobj: BinaryIO, parent: str | None = None, *,
                     id: str | None = None, names: Sequence[str] = (), writeable: bool = False,
                     mount_label: str | None = None, metadata: str | None = None,
                     uid_map: Sequence[IDMap] = (), gid_map: Sequence[IDMap] = (),
                     compressed_digest: str | None = None, uncompressed_digest: str | None = None,
                     progress: Callable[[int, int], bool | None] | None = None) -> Layer:
        """Go's PutLayer: a new layer filled from the tar stream read from the binary file object
        (plain, gzip, zstd, bzip2 or xz; detected). `progress(done, total)` is called as the
        stream is read; returning False cancels (Cancelled; the half-made layer is removed)."""
        options = self._layer_options(parent, id, names, writeable, mount_label, metadata,
                                      uid_map, gid_map, compressed_digest, uncompressed_digest)
        stream = _Stream(fileobj, progress)
        check(lib.cs_layer_options_set_progress, options, stream.progress_fn, ffi.NULL)
        layer = ffi.new("cs_layer **")
        try:
            self._call(lib.cs_layer_import, options, stream.read_fn, ffi.NULL, layer)
        except CStorageError as e:
            stream.raise_failure(e)
        return take_one(Kind.LAYER, layer[0])

    def import_layer_fd(self, fd: int, parent: str | None = None, *, names: Sequence[str] = ()) -> Layer:
        """import_layer reading from a file descriptor (borrowed, read from its offset)."""
        options = self._layer_options(parent, None, names, False, None, None, (), (), None, None)
        return take_one(Kind.LAYER, self._out("cs_layer **", lib.cs_layer_import_fd, options, fd))

    def apply_diff(self, layer: str, fileobj: BinaryIO) -> int:
        """Go's ApplyDiff: apply a tar stream to an existing layer; returns its uncompressed size."""
        stream = _Stream(fileobj)
        size = ffi.new("int64_t *")
        try:
            self._call(lib.cs_layer_apply_diff, cstr(layer), stream.read_fn, ffi.NULL, size)
        except CStorageError as e:
            stream.raise_failure(e)
        return size[0]

    def apply_diff_fd(self, layer: str, fd: int) -> int:
        return self._out("int64_t *", lib.cs_layer_apply_diff_fd, cstr(layer), fd)

    @staticmethod
    def _diff_options(compression: Compression):
        options = ffi.gc(lib.cs_diff_options_new(), lib.cs_diff_options_free)
        check(lib.cs_diff_options_set_compression, options, int(compression))
        return options

    def export_layer(self, layer: str, fileobj: BinaryIO, *, from_layer: str | None = None,
                     compression: Compression = Compression.AS_STORED) -> None:
        """Go's Diff: write the layer's changes relative to from_layer (None: its parent) as a
        tar stream to the binary file object. A layer imported from a tar comes back byte for
        byte."""
        options = self._diff_options(compression)
        stream = _Stream(fileobj)
        try:
            self._call(lib.cs_layer_export, cstr(from_layer), cstr(layer), options,
                       stream.write_fn, ffi.NULL)
        except CStorageError as e:
            stream.raise_failure(e)

    def export_layer_fd(self, layer: str, fd: int, *, from_layer: str | None = None,
                        compression: Compression = Compression.AS_STORED) -> None:
        self._call(lib.cs_layer_export_fd, cstr(from_layer), cstr(layer),
                   self._diff_options(compression), fd)

    def changes(self, layer: str, from_layer: str | None = None) -> list[Change]:
        """The paths the layer adds, modifies and deletes relative to from_layer, sorted."""
        changes = self._out("cs_change_list **", lib.cs_layer_changes, cstr(from_layer), cstr(layer))
        try:
            return [Change(pystr(lib.cs_change_list_path(changes, i)),
                           ChangeKind(lib.cs_change_list_kind(changes, i)))
                    for i in range(lib.cs_change_list_len(changes))]
        finally:
            lib.cs_change_list_free(changes)

    def diff_size(self, layer: str, from_layer: str | None = None) -> int:
        return self._out("int64_t *", lib.cs_layer_diff_size, cstr(from_layer), cstr(layer))

    def create_image(self, top_layer: str | None = None, *, id: str | None = None,
                     names: Sequence[str] = (), metadata: str | None = None,
                     digest: str | None = None, created: datetime | None = None,
                     big_data: Mapping[str, bytes] | None = None) -> Image:
        """Go's CreateImage: an image on top_layer (None for none), with big-data items
        ("manifest", its config, ...) stored as it is created."""
        options = ffi.gc(lib.cs_image_options_new(), lib.cs_image_options_free)
        setters = [(lib.cs_image_options_set_id, options, cstr(id)),
                   (lib.cs_image_options_set_digest, options, cstr(digest))]
        if metadata is not None:
            setters.append((lib.cs_image_options_set_metadata, options, cstr(metadata)))
        if created is not None:
            setters.append((lib.cs_image_options_set_created, options, int(created.timestamp() * 1e9)))
        setters += [(lib.cs_image_options_add_name, options, cstr(n)) for n in names]
        setters += [(lib.cs_image_options_add_big_data, options, cstr(k), bytes(v), len(v))
                    for k, v in (big_data or {}).items()]
        _setters(setters)
        return take_one(Kind.IMAGE, self._out("cs_image **", lib.cs_image_create, cstr(top_layer), options))

    def import_oci(self, layout_dir: str, reference: str | None = None, *,
                   names: Sequence[str] = (), platform: str | None = None,
                   progress: Callable[[int, int, int, int], bool | None] | None = None) -> Image:
        """Import the image `reference` (a tag; None when the layout holds one image) of the OCI
        image layout directory as skopeo copy oci: containers-storage: stores it (c/image's layer
        and image IDs, big data, digest, created time). `platform` ("os/arch[/variant]") picks
        from an image index. `progress(layer_index, layer_count, done, total)` returning False
        cancels (Cancelled; nothing of the image stays)."""
        options = ffi.gc(lib.cs_image_import_options_new(), lib.cs_image_import_options_free)
        setters = [(lib.cs_image_import_options_set_platform, options, cstr(platform))]
        setters += [(lib.cs_image_import_options_add_name, options, cstr(n)) for n in names]
        _setters(setters)
        failure = []

        def on_progress(_userdata, index, count, done, total):
            try:
                return 0 if progress(index, count, done, total) is not False else 1
            except BaseException as e:  # raised again after the call
                failure.append(e)
                return 1

        callback = ffi.callback("cs_image_import_progress_fn", on_progress) if progress else ffi.NULL
        check(lib.cs_image_import_options_set_progress, options, callback, ffi.NULL)
        image = ffi.new("cs_image **")
        try:
            self._call(lib.cs_image_import_oci, cstr(layout_dir), cstr(reference), options, image)
        except CStorageError:
            if failure:
                raise failure[0]
            raise
        return take_one(Kind.IMAGE, image[0])

    def import_oci_fd(self, dir_fd: int, reference: str | None = None) -> Image:
        """import_oci from a layout directory opened by the caller (borrowed)."""
        return take_one(Kind.IMAGE, self._out("cs_image **", lib.cs_image_import_oci_fd, dir_fd,
                                              cstr(reference), ffi.NULL))

    def export_oci(self, image: str, layout_dir: str, reference: str | None = None, *,
                   compression: Compression = Compression.AS_STORED) -> str:
        """Write the image to an OCI image layout (made or added to) under the tag `reference`,
        as skopeo copy oci: reads it; returns the digest of the manifest written."""
        options = ffi.gc(lib.cs_image_export_options_new(), lib.cs_image_export_options_free)
        check(lib.cs_image_export_options_set_compression, options, int(compression))
        return self._out_str(lib.cs_image_export_oci, cstr(image), cstr(layout_dir), cstr(reference), options)

    def create_container(self, image: str | None = None, *, id: str | None = None,
                         names: Sequence[str] = (), metadata: str | None = None,
                         layer_id: str | None = None, mount_label: str | None = None,
                         process_label: str | None = None, mount_options: Sequence[str] = (),
                         volatile: bool = False, uid_map: Sequence[IDMap] = (),
                         gid_map: Sequence[IDMap] = ()) -> Container:
        """Go's CreateContainer: a container from image (None for none) with a new read-write
        layer on the image's top layer."""
        options = ffi.gc(lib.cs_container_options_new(), lib.cs_container_options_free)
        uids, gids = id_maps(uid_map), id_maps(gid_map)
        setters = [(lib.cs_container_options_set_id, options, cstr(id)),
                   (lib.cs_container_options_set_layer_id, options, cstr(layer_id)),
                   (lib.cs_container_options_set_volatile, options, volatile),
                   (lib.cs_container_options_set_uid_map, options, *uids),
                   (lib.cs_container_options_set_gid_map, options, *gids)]
        if metadata is not None:
            setters.append((lib.cs_container_options_set_metadata, options, cstr(metadata)))
        if mount_label is not None or process_label is not None:
            setters += [(lib.cs_container_options_set_mount_label, options, cstr(mount_label or "")),
                        (lib.cs_container_options_set_process_label, options, cstr(process_label or ""))]
        setters += [(lib.cs_container_options_add_name, options, cstr(n)) for n in names]
        setters += [(lib.cs_container_options_add_mount_option, options, cstr(o)) for o in mount_options]
        _setters(setters)
        return take_one(Kind.CONTAINER, self._out("cs_container **", lib.cs_container_create, cstr(image), options))

    def delete_layer(self, key: str) -> None:
        """Go's DeleteLayer: refused while the layer has children or is used."""
        self._call(lib.cs_layer_delete, cstr(key))

    def delete_image(self, key: str, commit: bool = True) -> list[str]:
        """Go's DeleteImage: the image and the layers only it kept alive, whose IDs are returned;
        with commit False nothing changes."""
        return self._out_strarray(lib.cs_image_delete, cstr(key), commit)

    def delete_container(self, key: str) -> None:
        self._call(lib.cs_container_delete, cstr(key))

    def delete(self, key: str) -> None:
        """Go's Delete: the container, else image, else layer key names, without safety checks."""
        self._call(lib.cs_store_delete, cstr(key))

    def wipe(self) -> None:
        self._call(lib.cs_store_wipe)

    def shutdown(self, force: bool = False) -> list[str]:
        """Go's Shutdown: with force, unmount every layer; returns the layers left mounted."""
        return self._out_strarray(lib.cs_store_shutdown, force)

    # --- check, repair, garbage collection -----------------------------------------------

    def check(self, full: bool = False, max_age: timedelta | float | None = None, *,
              progress: Callable[[CheckStep, int, int], bool | None] | None = None) -> CheckReport:
        """c/storage 1.57's Check: full adds the comparison of every layer's contents with its
        diff (CheckEverything; else CheckMost, `check --quick`). A layer no image or container
        uses is reported once older than max_age (a timedelta or seconds; None: c/storage's
        24 hours; whole seconds count). Reads only. `progress(step, done, total)` hears each
        step start (done 0) and each item checked, and again while a big layer's diff is read;
        returning False cancels (Cancelled; nothing was changed)."""
        seconds = 86400 if max_age is None else (
            max_age.total_seconds() if isinstance(max_age, timedelta) else max_age)
        if seconds < 0:
            raise InvalidArgument("check: max_age must not be negative")
        if progress is None:
            return take_report(self._out("cs_check_report **", lib.cs_store_check, full, int(seconds)))
        options = ffi.gc(lib.cs_check_options_new(), lib.cs_check_options_free)
        failure = []

        def on_progress(_userdata, number, done, total):
            try:
                return 0 if progress(step(number), done, total) is not False else 1
            except BaseException as e:  # raised again after the call
                failure.append(e)
                return 1

        callback = ffi.callback("cs_check_progress_fn", on_progress)
        _setters([(lib.cs_check_options_set_full, options, full),
                  (lib.cs_check_options_set_unreferenced_layer_max_age, options, int(seconds)),
                  (lib.cs_check_options_set_progress, options, callback, ffi.NULL)])
        report = ffi.new("cs_check_report **")
        try:
            self._call(lib.cs_store_check_with_options, options, report)
        except CStorageError:
            if failure:
                raise failure[0]
            raise
        return take_report(report[0])

    def repair(self, report: CheckReport, remove_containers: bool = False) -> list[str]:
        """c/storage 1.57's Repair of what report found: damaged containers (only with
        remove_containers), damaged images and layers, driver directories no record owns; never
        anything of an additional image store. Returns one line per removal."""
        report_pointer = ffi.NULL if report is None else report._report  # None: NullParameter
        return self._out_strarray(lib.cs_store_repair, report_pointer, remove_containers)

    def gc(self) -> list[str]:
        """c/storage 1.57's GarbageCollect: remove container, image and layer directories no
        record owns and tar-splits killed imports left; returns the removed paths."""
        return self._out_strarray(lib.cs_store_gc)

    # --- names, metadata, lookups -----------------------------------------------------

    def lookup(self, key: str) -> str:
        """The full ID of the layer, image or container key names (NotAnID if none)."""
        return self._out_str(lib.cs_store_lookup, cstr(key))

    def exists(self, key: str) -> bool:
        return bool(self._out("bool *", lib.cs_store_exists, cstr(key)))

    def names(self, key: str) -> list[str]:
        return self._out_strarray(lib.cs_store_get_names, cstr(key))

    def _names_call(self, function, key: str, names: Sequence[str]) -> None:
        keep = [ffi.new("char[]", n.encode("utf-8")) for n in names]
        array = ffi.new("char *[]", keep) if keep else ffi.NULL
        self._call(function, cstr(key), array, len(keep))

    def set_names(self, key: str, names: Sequence[str]) -> None:
        self._names_call(lib.cs_store_set_names, key, names)

    def add_names(self, key: str, names: Sequence[str]) -> None:
        self._names_call(lib.cs_store_add_names, key, names)

    def remove_names(self, key: str, names: Sequence[str]) -> None:
        self._names_call(lib.cs_store_remove_names, key, names)

    def metadata(self, key: str) -> str:
        return self._out_str(lib.cs_store_metadata, cstr(key))

    def set_metadata(self, key: str, metadata: str) -> None:
        self._call(lib.cs_store_set_metadata, cstr(key), cstr(metadata))

    def driver_options(self) -> list[str]:
        return self._out_strarray(lib.cs_store_driver_options)

    def status(self) -> list[tuple[str, str]]:
        """The driver's status as (key, value) pairs, as Go's Status."""
        return [tuple(p) for p in json.loads(self._out_str(lib.cs_store_status_json))]

    def version(self) -> list[tuple[str, str]]:
        """The library and format versions as (key, value) pairs, as Go's Version."""
        return [tuple(p) for p in json.loads(self._out_str(lib.cs_store_version_json))]

    # --- mounts, sizes, directories -----------------------------------------------------

    def mount(self, kind: Kind, key: str, mount_label: str | None = None) -> str:
        """Mount the layer, the image's top layer (read-only) or the container's layer and return
        where. Each mount needs its unmount; `mounted()` does both."""
        return self._out_str(_MOUNT[kind], cstr(key), cstr(mount_label))

    def unmount(self, kind: Kind, key: str, force: bool = False) -> bool:
        """Release one mount (all with force); tells whether others remain."""
        return bool(self._out("bool *", _UNMOUNT[kind], cstr(key), force))

    @contextlib.contextmanager
    def mounted(self, kind: Kind, key: str, mount_label: str | None = None) -> Iterator[str]:
        """`with store.mounted(Kind.CONTAINER, "web") as root:` mounted inside, unmounted after."""
        root = self.mount(kind, key, mount_label)
        try:
            yield root
        finally:
            self.unmount(kind, key)

    def mount_count(self, kind: Kind, key: str) -> int:
        return self._out("uint32_t *", _for(_MOUNTED, kind, "mount count"), cstr(key))

    def size(self, kind: Kind, key: str) -> int:
        """Go's LayerSize, ImageSize or ContainerSize."""
        return self._out("int64_t *", _SIZE[kind], cstr(key))

    def directory(self, kind: Kind, key: str) -> str:
        """The image's or container's own directory in the graph root (created if missing)."""
        return self._out_str(_for(_DIRECTORY, kind, "directory"), cstr(key))

    def run_directory(self, kind: Kind, key: str) -> str:
        return self._out_str(_for(_RUN_DIRECTORY, kind, "run directory"), cstr(key))

    # --- big data -------------------------------------------------------------------------

    def set_big_data(self, kind: Kind, id: str, key: str, data: bytes) -> None:
        self._call(_SET_BIG_DATA[kind], cstr(id), cstr(key), bytes(data), len(data))

    def big_data(self, kind: Kind, id: str, key: str) -> bytes:
        """The record's big-data item key (BigDataUnknown if it has none)."""
        data, length = ffi.new("uint8_t **"), ffi.new("size_t *")
        self._call(_BIG_DATA[kind], cstr(id), cstr(key), data, length)
        try:
            return ffi.buffer(data[0], length[0])[:]
        finally:
            lib.cs_bytes_free(data[0])

    def big_data_names(self, kind: Kind, id: str) -> list[str]:
        return self._out_strarray(_BIG_DATA_NAMES[kind], cstr(id))

    def big_data_size(self, kind: Kind, id: str, key: str) -> int:
        return self._out("int64_t *", _for(_BIG_DATA_SIZE, kind, "big-data size"), cstr(id), cstr(key))

    def big_data_digest(self, kind: Kind, id: str, key: str) -> str:
        return self._out_str(_for(_BIG_DATA_DIGEST, kind, "big-data digest"), cstr(id), cstr(key))

    def set_layer_big_data_fd(self, layer: str, key: str, fd: int) -> None:
        """Store what is left to read of fd (borrowed) as the layer's big-data item key."""
        self._call(lib.cs_layer_set_big_data_fd, cstr(layer), cstr(key), fd)

    def write_layer_big_data_fd(self, layer: str, key: str, fd: int) -> None:
        self._call(lib.cs_layer_big_data_fd, cstr(layer), cstr(key), fd)

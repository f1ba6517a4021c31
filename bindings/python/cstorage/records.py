"""Snapshots of layers, images and containers as plain Python values, copied out of the
library's snapshots, which are freed at once."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timezone

from ._native import ffi, lib, pystr


class Kind(enum.Enum):
    """Which sort of record a key names, for the operations all three share."""
    LAYER = "layer"
    IMAGE = "image"
    CONTAINER = "container"


class Compression(enum.IntEnum):
    AS_STORED = lib.CS_DIFF_AS_STORED
    UNCOMPRESSED = lib.CS_DIFF_UNCOMPRESSED
    GZIP = lib.CS_DIFF_GZIP
    ZSTD = lib.CS_DIFF_ZSTD


class ChangeKind(enum.IntEnum):
    MODIFY = lib.CS_CHANGE_MODIFY
    ADD = lib.CS_CHANGE_ADD
    DELETE = lib.CS_CHANGE_DELETE


@dataclass(frozen=True)
class Change:
    path: str
    kind: ChangeKind


@dataclass(frozen=True)
class IDMap:
    container_id: int
    host_id: int
    size: int


@dataclass(frozen=True)
class Layer:
    id: str
    parent: str  # "" for a base layer
    names: list[str] = field(default_factory=list)
    metadata: str = ""
    mount_label: str = ""
    compressed_digest: str = ""
    compressed_size: int = 0
    uncompressed_digest: str = ""  # the diff ID
    uncompressed_size: int = 0
    created: datetime | None = None
    read_only: bool = False
    mount_point: str = ""
    mount_count: int = 0
    json: str = ""


@dataclass(frozen=True)
class Image:
    id: str
    top_layer: str  # "" for an image without layers
    names: list[str] = field(default_factory=list)
    digest: str = ""
    digests: list[str] = field(default_factory=list)
    metadata: str = ""
    created: datetime | None = None
    read_only: bool = False
    big_data_names: list[str] = field(default_factory=list)
    json: str = ""


@dataclass(frozen=True)
class Container:
    id: str
    image: str  # "" for none
    layer: str
    names: list[str] = field(default_factory=list)
    metadata: str = ""
    mount_label: str = ""
    created: datetime | None = None
    json: str = ""


def _time(nanoseconds: int) -> datetime:
    return datetime.fromtimestamp(nanoseconds / 1e9, tz=timezone.utc)


def _indexed(count: int, get) -> list[str]:
    return [pystr(get(i)) for i in range(count)]


def layer_of(l) -> Layer:
    return Layer(
        id=pystr(lib.cs_layer_id(l)), parent=pystr(lib.cs_layer_parent(l)),
        names=_indexed(lib.cs_layer_names_count(l), lambda i: lib.cs_layer_name(l, i)),
        metadata=pystr(lib.cs_layer_metadata(l)), mount_label=pystr(lib.cs_layer_mount_label(l)),
        compressed_digest=pystr(lib.cs_layer_compressed_digest(l)),
        compressed_size=lib.cs_layer_compressed_size(l),
        uncompressed_digest=pystr(lib.cs_layer_uncompressed_digest(l)),
        uncompressed_size=lib.cs_layer_uncompressed_size(l),
        created=_time(lib.cs_layer_created(l)), read_only=bool(lib.cs_layer_read_only(l)),
        mount_point=pystr(lib.cs_layer_mount_point(l)), mount_count=lib.cs_layer_mount_count(l),
        json=pystr(lib.cs_layer_json(l)))


def image_of(i) -> Image:
    return Image(
        id=pystr(lib.cs_image_id(i)), top_layer=pystr(lib.cs_image_top_layer(i)),
        names=_indexed(lib.cs_image_names_count(i), lambda n: lib.cs_image_name(i, n)),
        digest=pystr(lib.cs_image_digest(i)),
        digests=_indexed(lib.cs_image_digests_count(i), lambda n: lib.cs_image_digests_get(i, n)),
        metadata=pystr(lib.cs_image_metadata(i)), created=_time(lib.cs_image_created(i)),
        read_only=bool(lib.cs_image_read_only(i)),
        big_data_names=_indexed(lib.cs_image_big_data_names_count(i),
                                lambda n: lib.cs_image_big_data_name(i, n)),
        json=pystr(lib.cs_image_json(i)))


def container_of(c) -> Container:
    return Container(
        id=pystr(lib.cs_container_id(c)), image=pystr(lib.cs_container_image(c)),
        layer=pystr(lib.cs_container_layer(c)),
        names=_indexed(lib.cs_container_names_count(c), lambda i: lib.cs_container_name(c, i)),
        metadata=pystr(lib.cs_container_metadata(c)),
        mount_label=pystr(lib.cs_container_mount_label(c)),
        created=_time(lib.cs_container_created(c)), json=pystr(lib.cs_container_json(c)))


# One entry per kind of snapshot: (copy one, free one, list length, list item, free list).
_SNAPSHOTS = {
    Kind.LAYER: (layer_of, lib.cs_layer_free, lib.cs_layer_list_len, lib.cs_layer_list_get,
                 lib.cs_layer_list_free),
    Kind.IMAGE: (image_of, lib.cs_image_free, lib.cs_image_list_len, lib.cs_image_list_get,
                 lib.cs_image_list_free),
    Kind.CONTAINER: (container_of, lib.cs_container_free, lib.cs_container_list_len,
                     lib.cs_container_list_get, lib.cs_container_list_free),
}


def take_one(kind: Kind, snapshot):
    """Copy and free one snapshot."""
    copy, free = _SNAPSHOTS[kind][:2]
    try:
        return copy(snapshot)
    finally:
        free(snapshot)


def take_list(kind: Kind, snapshots) -> list:
    """Copy and free a list of snapshots."""
    copy, _, length, get, free = _SNAPSHOTS[kind]
    try:
        return [copy(get(snapshots, i)) for i in range(length(snapshots))]
    finally:
        free(snapshots)


def id_maps(maps) -> tuple:
    """A `const cs_id_map *` and its count for the library (NULL, 0 when empty)."""
    maps = list(maps or ())
    if not maps:
        return ffi.NULL, 0
    array = ffi.new("cs_id_map[]", [(m.container_id, m.host_id, m.size) for m in maps])
    return array, len(maps)


def py_id_maps(pointer, count: int) -> list[IDMap]:
    if pointer == ffi.NULL:
        return []
    return [IDMap(pointer[i].container_id, pointer[i].host_id, pointer[i].size) for i in range(count)]

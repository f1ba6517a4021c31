package cstorage

/*
#include <cstorage.h>

// One C entry per operation that layers, images and containers share with the same
// signature, so the Go side is written once per operation.
enum { KIND_LAYER, KIND_IMAGE, KIND_CONTAINER };

static cs_result kind_mount(int kind, const cs_store *s, const char *key, const char *label, char **path, cs_error **e) {
	switch (kind) {
	case KIND_LAYER: return cs_layer_mount(s, key, label, path, e);
	case KIND_IMAGE: return cs_image_mount(s, key, label, path, e);
	default: return cs_container_mount(s, key, label, path, e);
	}
}

static cs_result kind_unmount(int kind, const cs_store *s, const char *key, bool force, bool *still, cs_error **e) {
	switch (kind) {
	case KIND_LAYER: return cs_layer_unmount(s, key, force, still, e);
	case KIND_IMAGE: return cs_image_unmount(s, key, force, still, e);
	default: return cs_container_unmount(s, key, force, still, e);
	}
}

static cs_result kind_mounted(int kind, const cs_store *s, const char *key, uint32_t *count, cs_error **e) {
	return kind == KIND_LAYER ? cs_layer_mounted(s, key, count, e) : cs_container_mounted(s, key, count, e);
}

static cs_result kind_size(int kind, const cs_store *s, const char *key, int64_t *size, cs_error **e) {
	switch (kind) {
	case KIND_LAYER: return cs_layer_size(s, key, size, e);
	case KIND_IMAGE: return cs_image_size(s, key, size, e);
	default: return cs_container_size(s, key, size, e);
	}
}

static cs_result kind_directory(int kind, bool run, const cs_store *s, const char *key, char **path, cs_error **e) {
	if (kind == KIND_IMAGE) return run ? cs_image_run_directory(s, key, path, e) : cs_image_directory(s, key, path, e);
	return run ? cs_container_run_directory(s, key, path, e) : cs_container_directory(s, key, path, e);
}

static cs_result kind_set_big_data(int kind, const cs_store *s, const char *id, const char *key, const uint8_t *data, size_t len, cs_error **e) {
	switch (kind) {
	case KIND_LAYER: return cs_layer_set_big_data(s, id, key, data, len, e);
	case KIND_IMAGE: return cs_image_set_big_data(s, id, key, data, len, e);
	default: return cs_container_set_big_data(s, id, key, data, len, e);
	}
}

static cs_result kind_big_data(int kind, const cs_store *s, const char *id, const char *key, uint8_t **data, size_t *len, cs_error **e) {
	switch (kind) {
	case KIND_LAYER: return cs_layer_big_data(s, id, key, data, len, e);
	case KIND_IMAGE: return cs_image_big_data(s, id, key, data, len, e);
	default: return cs_container_big_data(s, id, key, data, len, e);
	}
}

static cs_result kind_big_data_names(int kind, const cs_store *s, const char *id, cs_strarray *names, cs_error **e) {
	switch (kind) {
	case KIND_LAYER: return cs_layer_big_data_names(s, id, names, e);
	case KIND_IMAGE: return cs_image_big_data_names(s, id, names, e);
	default: return cs_container_big_data_names(s, id, names, e);
	}
}

static cs_result kind_big_data_size(int kind, const cs_store *s, const char *id, const char *key, int64_t *size, cs_error **e) {
	return kind == KIND_IMAGE ? cs_image_big_data_size(s, id, key, size, e) : cs_container_big_data_size(s, id, key, size, e);
}

static cs_result kind_big_data_digest(int kind, const cs_store *s, const char *id, const char *key, char **digest, cs_error **e) {
	return kind == KIND_IMAGE ? cs_image_big_data_digest(s, id, key, digest, e) : cs_container_big_data_digest(s, id, key, digest, e);
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// Kind says which sort of record a key names, for the operations all three share.
type Kind int

const (
	KindLayer     Kind = C.KIND_LAYER
	KindImage     Kind = C.KIND_IMAGE
	KindContainer Kind = C.KIND_CONTAINER
)

func (k Kind) String() string {
	return [...]string{"layer", "image", "container"}[k]
}

// unsupported is the error of an operation the C API does not offer for a kind of record.
func unsupported(op string, k Kind) error {
	return &Error{Code: ErrNotSupported, Message: fmt.Sprintf("libcstorage offers no %s for %ss", op, k)}
}

// Mount mounts the layer, the image's top layer (read-only) or the container's layer and
// returns where; mountLabel "" means the record's own. Each mount needs its Unmount.
func (s *Store) Mount(kind Kind, key, mountLabel string) (string, error) {
	var a arena
	defer a.free()
	var path *C.char
	err := s.call(func(st *C.cs_store, e **C.cs_error) C.cs_result {
		return C.kind_mount(C.int(kind), st, a.str(key), a.optStr(mountLabel), &path, e)
	})
	return takeString(path), err
}

// Unmount releases one mount (all of them with force) and tells whether others remain.
func (s *Store) Unmount(kind Kind, key string, force bool) (stillMounted bool, err error) {
	var a arena
	defer a.free()
	var still C.bool
	err = s.call(func(st *C.cs_store, e **C.cs_error) C.cs_result {
		return C.kind_unmount(C.int(kind), st, a.str(key), C.bool(force), &still, e)
	})
	return bool(still), err
}

// Mounted tells how many times the layer or the container's layer is mounted.
func (s *Store) Mounted(kind Kind, key string) (uint32, error) {
	if kind == KindImage {
		return 0, unsupported("mount count", kind)
	}
	var a arena
	defer a.free()
	var count C.uint32_t
	err := s.call(func(st *C.cs_store, e **C.cs_error) C.cs_result {
		return C.kind_mounted(C.int(kind), st, a.str(key), &count, e)
	})
	return uint32(count), err
}

// Size is Go's LayerSize, ImageSize or ContainerSize.
func (s *Store) Size(kind Kind, key string) (int64, error) {
	var a arena
	defer a.free()
	var size C.int64_t
	err := s.call(func(st *C.cs_store, e **C.cs_error) C.cs_result {
		return C.kind_size(C.int(kind), st, a.str(key), &size, e)
	})
	return int64(size), err
}

// Directory is the image's or container's own directory in the graph root (created if
// missing), for the caller's files.
func (s *Store) Directory(kind Kind, key string) (string, error) {
	return s.directory(kind, key, false)
}

// RunDirectory is the image's or container's own directory in the run root.
func (s *Store) RunDirectory(kind Kind, key string) (string, error) {
	return s.directory(kind, key, true)
}

func (s *Store) directory(kind Kind, key string, run bool) (string, error) {
	if kind == KindLayer {
		return "", unsupported("directory", kind)
	}
	var a arena
	defer a.free()
	var path *C.char
	err := s.call(func(st *C.cs_store, e **C.cs_error) C.cs_result {
		return C.kind_directory(C.int(kind), C.bool(run), st, a.str(key), &path, e)
	})
	return takeString(path), err
}

// SetBigData stores data as the record's big-data item key.
func (s *Store) SetBigData(kind Kind, id, key string, data []byte) error {
	var a arena
	defer a.free()
	ptr, n := a.bytes(data)
	return s.call(func(st *C.cs_store, e **C.cs_error) C.cs_result {
		return C.kind_set_big_data(C.int(kind), st, a.str(id), a.str(key), ptr, n, e)
	})
}

// BigData is the record's big-data item key (ErrBigDataUnknown if it has none).
func (s *Store) BigData(kind Kind, id, key string) ([]byte, error) {
	var a arena
	defer a.free()
	var data *C.uint8_t
	var n C.size_t
	if err := s.call(func(st *C.cs_store, e **C.cs_error) C.cs_result {
		return C.kind_big_data(C.int(kind), st, a.str(id), a.str(key), &data, &n, e)
	}); err != nil {
		return nil, err
	}
	defer C.cs_bytes_free(data)
	return C.GoBytes(unsafe.Pointer(data), C.int(n)), nil
}

// BigDataNames lists the keys of the record's big-data items.
func (s *Store) BigDataNames(kind Kind, id string) ([]string, error) {
	var a arena
	defer a.free()
	var names C.cs_strarray
	if err := s.call(func(st *C.cs_store, e **C.cs_error) C.cs_result {
		return C.kind_big_data_names(C.int(kind), st, a.str(id), &names, e)
	}); err != nil {
		return nil, err
	}
	return takeStrings(&names), nil
}

// BigDataSize is the size of an image's or container's big-data item.
func (s *Store) BigDataSize(kind Kind, id, key string) (int64, error) {
	if kind == KindLayer {
		return 0, unsupported("big-data size", kind)
	}
	var a arena
	defer a.free()
	var size C.int64_t
	err := s.call(func(st *C.cs_store, e **C.cs_error) C.cs_result {
		return C.kind_big_data_size(C.int(kind), st, a.str(id), a.str(key), &size, e)
	})
	return int64(size), err
}

// BigDataDigest is the digest ("sha256:...") of an image's or container's big-data item.
func (s *Store) BigDataDigest(kind Kind, id, key string) (string, error) {
	if kind == KindLayer {
		return "", unsupported("big-data digest", kind)
	}
	var a arena
	defer a.free()
	var digest *C.char
	err := s.call(func(st *C.cs_store, e **C.cs_error) C.cs_result {
		return C.kind_big_data_digest(C.int(kind), st, a.str(id), a.str(key), &digest, e)
	})
	return takeString(digest), err
}

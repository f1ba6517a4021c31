package cstorage

/*
#include <cstorage.h>
*/
import "C"

import (
	"encoding/json"
	"os"
	"runtime"
)

// Lookup is the full ID of the layer, image or container (looked for in that order) key names
// by ID, name or unique ID prefix; ErrNotAnID if none.
func (s *Store) Lookup(key string) (string, error) {
	var a arena
	defer a.free()
	var id *C.char
	err := s.call(func(st *C.cs_store, e **C.cs_error) C.cs_result { return C.cs_store_lookup(st, a.str(key), &id, e) })
	return takeString(id), err
}

// Exists tells whether key names a layer, image or container.
func (s *Store) Exists(key string) (bool, error) {
	var a arena
	defer a.free()
	var exists C.bool
	err := s.call(func(st *C.cs_store, e **C.cs_error) C.cs_result { return C.cs_store_exists(st, a.str(key), &exists, e) })
	return bool(exists), err
}

// Delete is Go's Delete: remove the container, else image, else layer key names, without the
// safety checks of DeleteLayer, DeleteImage and DeleteContainer.
func (s *Store) Delete(key string) error {
	var a arena
	defer a.free()
	return s.call(func(st *C.cs_store, e **C.cs_error) C.cs_result { return C.cs_store_delete(st, a.str(key), e) })
}

// Wipe deletes every container, image and layer of the store.
func (s *Store) Wipe() error {
	return s.call(func(st *C.cs_store, e **C.cs_error) C.cs_result { return C.cs_store_wipe(st, e) })
}

// Shutdown is Go's Shutdown: with force, unmount every layer; returns the layers left mounted.
func (s *Store) Shutdown(force bool) ([]string, error) {
	var still C.cs_strarray
	if err := s.call(func(st *C.cs_store, e **C.cs_error) C.cs_result {
		return C.cs_store_shutdown(st, C.bool(force), &still, e)
	}); err != nil {
		return nil, err
	}
	return takeStrings(&still), nil
}

// Names are the names of the layer, image or container key names.
func (s *Store) Names(key string) ([]string, error) {
	var a arena
	defer a.free()
	var names C.cs_strarray
	if err := s.call(func(st *C.cs_store, e **C.cs_error) C.cs_result {
		return C.cs_store_get_names(st, a.str(key), &names, e)
	}); err != nil {
		return nil, err
	}
	return takeStrings(&names), nil
}

// SetNames replaces the record's names; a name another record of the same kind had moves here.
func (s *Store) SetNames(key string, names []string) error {
	return s.changeNames(key, names, func(st *C.cs_store, k *C.char, n **C.char, count C.size_t, e **C.cs_error) C.cs_result {
		return C.cs_store_set_names(st, k, n, count, e)
	})
}

// AddNames adds names after the record's current ones.
func (s *Store) AddNames(key string, names []string) error {
	return s.changeNames(key, names, func(st *C.cs_store, k *C.char, n **C.char, count C.size_t, e **C.cs_error) C.cs_result {
		return C.cs_store_add_names(st, k, n, count, e)
	})
}

// RemoveNames removes names from the record; names it does not have are ignored.
func (s *Store) RemoveNames(key string, names []string) error {
	return s.changeNames(key, names, func(st *C.cs_store, k *C.char, n **C.char, count C.size_t, e **C.cs_error) C.cs_result {
		return C.cs_store_remove_names(st, k, n, count, e)
	})
}

func (s *Store) changeNames(key string, names []string, change func(*C.cs_store, *C.char, **C.char, C.size_t, **C.cs_error) C.cs_result) error {
	var a arena
	defer a.free()
	ptr, n := a.strs(names)
	return s.call(func(st *C.cs_store, e **C.cs_error) C.cs_result { return change(st, a.str(key), ptr, n, e) })
}

// Metadata is the metadata string of the record key names ("" if none).
func (s *Store) Metadata(key string) (string, error) {
	var a arena
	defer a.free()
	var metadata *C.char
	err := s.call(func(st *C.cs_store, e **C.cs_error) C.cs_result {
		return C.cs_store_metadata(st, a.str(key), &metadata, e)
	})
	return takeString(metadata), err
}

// SetMetadata replaces the metadata string of the record key names.
func (s *Store) SetMetadata(key, metadata string) error {
	var a arena
	defer a.free()
	return s.call(func(st *C.cs_store, e **C.cs_error) C.cs_result {
		return C.cs_store_set_metadata(st, a.str(key), a.str(metadata), e)
	})
}

// DriverOptions are the driver options the store was opened with, as Go's GraphOptions.
func (s *Store) DriverOptions() ([]string, error) {
	var options C.cs_strarray
	if err := s.call(func(st *C.cs_store, e **C.cs_error) C.cs_result { return C.cs_store_driver_options(st, &options, e) }); err != nil {
		return nil, err
	}
	return takeStrings(&options), nil
}

// Status is the driver's status as [key, value] pairs, as Go's Status.
func (s *Store) Status() ([][2]string, error) {
	return s.pairs(func(st *C.cs_store, out **C.char, e **C.cs_error) C.cs_result {
		return C.cs_store_status_json(st, out, e)
	})
}

// Version is the library and format versions as [key, value] pairs, as Go's Version.
func (s *Store) Version() ([][2]string, error) {
	return s.pairs(func(st *C.cs_store, out **C.char, e **C.cs_error) C.cs_result {
		return C.cs_store_version_json(st, out, e)
	})
}

func (s *Store) pairs(f func(st *C.cs_store, out **C.char, e **C.cs_error) C.cs_result) ([][2]string, error) {
	var out *C.char
	if err := s.call(func(st *C.cs_store, e **C.cs_error) C.cs_result { return f(st, &out, e) }); err != nil {
		return nil, err
	}
	var pairs [][2]string
	err := json.Unmarshal([]byte(takeString(out)), &pairs)
	return pairs, err
}

// ChangeKind says how a path changed.
type ChangeKind int32

const (
	ChangeModify ChangeKind = C.CS_CHANGE_MODIFY
	ChangeAdd    ChangeKind = C.CS_CHANGE_ADD
	ChangeDelete ChangeKind = C.CS_CHANGE_DELETE
)

// Change is one path a layer changes.
type Change struct {
	Path string // "/etc/hosts"
	Kind ChangeKind
}

// Changes are the paths layer adds, modifies and deletes relative to from ("" for its
// parent), sorted.
func (s *Store) Changes(from, layer string) ([]Change, error) {
	var a arena
	defer a.free()
	var list *C.cs_change_list
	if err := s.call(func(st *C.cs_store, e **C.cs_error) C.cs_result {
		return C.cs_layer_changes(st, a.optStr(from), a.str(layer), &list, e)
	}); err != nil {
		return nil, err
	}
	defer C.cs_change_list_free(list)
	changes := make([]Change, 0, int(C.cs_change_list_len(list)))
	for i := C.size_t(0); i < C.cs_change_list_len(list); i++ {
		changes = append(changes, Change{Path: goString(C.cs_change_list_path(list, i)), Kind: ChangeKind(C.cs_change_list_kind(list, i))})
	}
	return changes, nil
}

// DiffSize is the size of layer's diff relative to from ("" for its parent).
func (s *Store) DiffSize(from, layer string) (int64, error) {
	var a arena
	defer a.free()
	var size C.int64_t
	err := s.call(func(st *C.cs_store, e **C.cs_error) C.cs_result {
		return C.cs_layer_diff_size(st, a.optStr(from), a.str(layer), &size, e)
	})
	return int64(size), err
}

// SetLayerBigDataFromFile stores what is left to read of f as the layer's big-data item key.
func (s *Store) SetLayerBigDataFromFile(layer, key string, f *os.File) error {
	var a arena
	defer a.free()
	defer runtime.KeepAlive(f)
	return s.call(func(st *C.cs_store, e **C.cs_error) C.cs_result {
		return C.cs_layer_set_big_data_fd(st, a.str(layer), a.str(key), C.int(f.Fd()), e)
	})
}

// WriteLayerBigDataToFile writes the layer's big-data item key to f.
func (s *Store) WriteLayerBigDataToFile(layer, key string, f *os.File) error {
	var a arena
	defer a.free()
	defer runtime.KeepAlive(f)
	return s.call(func(st *C.cs_store, e **C.cs_error) C.cs_result {
		return C.cs_layer_big_data_fd(st, a.str(layer), a.str(key), C.int(f.Fd()), e)
	})
}

package cstorage

/*
#include <cstorage.h>
*/
import "C"

import "time"

// LayerOptions describe a new layer; the zero value (or nil) is a base layer with a random ID.
type LayerOptions struct {
	ID         string
	Parent     string // ID, name or ID prefix; "" for a base layer
	Names      []string
	Writeable  bool // a container's layer rather than an image's
	MountLabel string
	Metadata   string
	UIDMap     []IDMap
	GIDMap     []IDMap
	// Digests the imported stream must have, when the caller knows them.
	CompressedDigest   string
	UncompressedDigest string
	// Progress, when set, is called during ImportLayer with the bytes read so far and the
	// stream's size (0 when unknown), on the importing goroutine.
	Progress func(done, total uint64)
}

// build makes the C options; the caller frees them with cs_layer_options_free.
func (o *LayerOptions) build(a *arena) (*C.cs_layer_options, error) {
	copts := C.cs_layer_options_new()
	if copts == nil {
		return nil, &Error{Code: ErrPanic, Message: "cs_layer_options_new failed"}
	}
	if o == nil {
		return copts, nil
	}
	steps := []func(**C.cs_error) C.cs_result{
		func(e **C.cs_error) C.cs_result { return C.cs_layer_options_set_id(copts, a.optStr(o.ID), e) },
		func(e **C.cs_error) C.cs_result { return C.cs_layer_options_set_parent(copts, a.optStr(o.Parent), e) },
		func(e **C.cs_error) C.cs_result {
			return C.cs_layer_options_set_writeable(copts, C.bool(o.Writeable), e)
		},
		func(e **C.cs_error) C.cs_result {
			return C.cs_layer_options_set_mount_label(copts, a.str(o.MountLabel), e)
		},
		func(e **C.cs_error) C.cs_result { return C.cs_layer_options_set_metadata(copts, a.str(o.Metadata), e) },
		func(e **C.cs_error) C.cs_result {
			return C.cs_layer_options_set_compressed_digest(copts, a.optStr(o.CompressedDigest), e)
		},
		func(e **C.cs_error) C.cs_result {
			return C.cs_layer_options_set_uncompressed_digest(copts, a.optStr(o.UncompressedDigest), e)
		},
		func(e **C.cs_error) C.cs_result {
			ptr, n := idMaps(o.UIDMap)
			return C.cs_layer_options_set_uid_map(copts, ptr, n, e)
		},
		func(e **C.cs_error) C.cs_result {
			ptr, n := idMaps(o.GIDMap)
			return C.cs_layer_options_set_gid_map(copts, ptr, n, e)
		},
	}
	for _, name := range o.Names {
		name := name
		steps = append(steps, func(e **C.cs_error) C.cs_result { return C.cs_layer_options_add_name(copts, a.str(name), e) })
	}
	if err := check(steps...); err != nil {
		C.cs_layer_options_free(copts)
		return nil, err
	}
	return copts, nil
}

// ImageOptions describe a new image; nil gives a random ID, no names, created now.
type ImageOptions struct {
	ID       string
	Names    []string
	Metadata string
	Digest   string
	Created  time.Time // zero: now
	// BigData items stored with the image as it is created ("manifest", its config, ...).
	BigData map[string][]byte
}

func (o *ImageOptions) build(a *arena) (*C.cs_image_options, error) {
	copts := C.cs_image_options_new()
	if copts == nil {
		return nil, &Error{Code: ErrPanic, Message: "cs_image_options_new failed"}
	}
	if o == nil {
		return copts, nil
	}
	steps := []func(**C.cs_error) C.cs_result{
		func(e **C.cs_error) C.cs_result { return C.cs_image_options_set_id(copts, a.optStr(o.ID), e) },
		func(e **C.cs_error) C.cs_result { return C.cs_image_options_set_metadata(copts, a.str(o.Metadata), e) },
		func(e **C.cs_error) C.cs_result { return C.cs_image_options_set_digest(copts, a.optStr(o.Digest), e) },
	}
	if !o.Created.IsZero() {
		steps = append(steps, func(e **C.cs_error) C.cs_result {
			return C.cs_image_options_set_created(copts, C.int64_t(o.Created.UnixNano()), e)
		})
	}
	for _, name := range o.Names {
		name := name
		steps = append(steps, func(e **C.cs_error) C.cs_result { return C.cs_image_options_add_name(copts, a.str(name), e) })
	}
	for key, data := range o.BigData {
		key, data := key, data
		steps = append(steps, func(e **C.cs_error) C.cs_result {
			ptr, n := a.bytes(data)
			return C.cs_image_options_add_big_data(copts, a.str(key), ptr, n, e)
		})
	}
	if err := check(steps...); err != nil {
		C.cs_image_options_free(copts)
		return nil, err
	}
	return copts, nil
}

// ContainerOptions describe a new container; nil gives a random ID and the image's ID maps.
type ContainerOptions struct {
	ID           string
	Names        []string
	Metadata     string
	LayerID      string
	MountLabel   string // set together with ProcessLabel, or neither
	ProcessLabel string
	MountOptions []string
	Volatile     bool
	UIDMap       []IDMap
	GIDMap       []IDMap
}

func (o *ContainerOptions) build(a *arena) (*C.cs_container_options, error) {
	copts := C.cs_container_options_new()
	if copts == nil {
		return nil, &Error{Code: ErrPanic, Message: "cs_container_options_new failed"}
	}
	if o == nil {
		return copts, nil
	}
	steps := []func(**C.cs_error) C.cs_result{
		func(e **C.cs_error) C.cs_result { return C.cs_container_options_set_id(copts, a.optStr(o.ID), e) },
		func(e **C.cs_error) C.cs_result {
			return C.cs_container_options_set_metadata(copts, a.str(o.Metadata), e)
		},
		func(e **C.cs_error) C.cs_result {
			return C.cs_container_options_set_layer_id(copts, a.optStr(o.LayerID), e)
		},
		func(e **C.cs_error) C.cs_result {
			return C.cs_container_options_set_volatile(copts, C.bool(o.Volatile), e)
		},
		func(e **C.cs_error) C.cs_result {
			ptr, n := idMaps(o.UIDMap)
			return C.cs_container_options_set_uid_map(copts, ptr, n, e)
		},
		func(e **C.cs_error) C.cs_result {
			ptr, n := idMaps(o.GIDMap)
			return C.cs_container_options_set_gid_map(copts, ptr, n, e)
		},
	}
	if o.MountLabel != "" || o.ProcessLabel != "" {
		steps = append(steps,
			func(e **C.cs_error) C.cs_result {
				return C.cs_container_options_set_mount_label(copts, a.str(o.MountLabel), e)
			},
			func(e **C.cs_error) C.cs_result {
				return C.cs_container_options_set_process_label(copts, a.str(o.ProcessLabel), e)
			})
	}
	for _, name := range o.Names {
		name := name
		steps = append(steps, func(e **C.cs_error) C.cs_result { return C.cs_container_options_add_name(copts, a.str(name), e) })
	}
	for _, option := range o.MountOptions {
		option := option
		steps = append(steps, func(e **C.cs_error) C.cs_result {
			return C.cs_container_options_add_mount_option(copts, a.str(option), e)
		})
	}
	if err := check(steps...); err != nil {
		C.cs_container_options_free(copts)
		return nil, err
	}
	return copts, nil
}

// CreateLayer is Go's CreateLayer: an empty layer (a copy of its parent's contents).
func (s *Store) CreateLayer(opts *LayerOptions) (Layer, error) {
	var a arena
	defer a.free()
	copts, err := opts.build(&a)
	if err != nil {
		return Layer{}, err
	}
	defer C.cs_layer_options_free(copts)
	var l *C.cs_layer
	err = s.call(func(st *C.cs_store, e **C.cs_error) C.cs_result { return C.cs_layer_create(st, copts, &l, e) })
	return takeLayer(l), err
}

// CreateImage is Go's CreateImage: an image on topLayer ("" for none).
func (s *Store) CreateImage(topLayer string, opts *ImageOptions) (Image, error) {
	var a arena
	defer a.free()
	copts, err := opts.build(&a)
	if err != nil {
		return Image{}, err
	}
	defer C.cs_image_options_free(copts)
	var i *C.cs_image
	err = s.call(func(st *C.cs_store, e **C.cs_error) C.cs_result {
		return C.cs_image_create(st, a.optStr(topLayer), copts, &i, e)
	})
	return takeImage(i), err
}

// CreateContainer is Go's CreateContainer: a container from image ("" for none) with a new
// read-write layer on the image's top layer.
func (s *Store) CreateContainer(image string, opts *ContainerOptions) (Container, error) {
	var a arena
	defer a.free()
	copts, err := opts.build(&a)
	if err != nil {
		return Container{}, err
	}
	defer C.cs_container_options_free(copts)
	var c *C.cs_container
	err = s.call(func(st *C.cs_store, e **C.cs_error) C.cs_result {
		return C.cs_container_create(st, a.optStr(image), copts, &c, e)
	})
	return takeContainer(c), err
}

// DeleteLayer is Go's DeleteLayer, refused while the layer has children or is used.
func (s *Store) DeleteLayer(key string) error {
	var a arena
	defer a.free()
	return s.call(func(st *C.cs_store, e **C.cs_error) C.cs_result { return C.cs_layer_delete(st, a.str(key), e) })
}

// DeleteImage is Go's DeleteImage: removes the image and the layers only it kept alive and
// returns their IDs; with commit false nothing changes and the IDs say what would go.
func (s *Store) DeleteImage(key string, commit bool) ([]string, error) {
	var a arena
	defer a.free()
	var removed C.cs_strarray
	if err := s.call(func(st *C.cs_store, e **C.cs_error) C.cs_result {
		return C.cs_image_delete(st, a.str(key), C.bool(commit), &removed, e)
	}); err != nil {
		return nil, err
	}
	return takeStrings(&removed), nil
}

// DeleteContainer deletes the container, its read-write layer and its directories.
func (s *Store) DeleteContainer(key string) error {
	var a arena
	defer a.free()
	return s.call(func(st *C.cs_store, e **C.cs_error) C.cs_result { return C.cs_container_delete(st, a.str(key), e) })
}

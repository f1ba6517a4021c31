package cstorage

/*
#include <cstorage.h>
*/
import "C"

import "time"

// Layer is a snapshot of one layer: later changes to the store do not show in it.
type Layer struct {
	ID                 string
	Parent             string // "" for a base layer
	Names              []string
	Metadata           string
	MountLabel         string
	CompressedDigest   string // "" if unknown
	CompressedSize     int64
	UncompressedDigest string // the diff ID; "" if unknown
	UncompressedSize   int64
	Created            time.Time
	ReadOnly           bool   // from an additional image store
	MountPoint         string // "" when it was not mounted
	MountCount         uint32
	JSON               string // as c/storage writes it in layers.json
}

// Image is a snapshot of one image.
type Image struct {
	ID           string
	TopLayer     string // "" for an image without layers
	Names        []string
	Digest       string
	Digests      []string
	Metadata     string
	Created      time.Time
	ReadOnly     bool
	BigDataNames []string
	JSON         string // as c/storage writes it in images.json
}

// Container is a snapshot of one container.
type Container struct {
	ID         string
	Image      string // "" for none
	Layer      string // its read-write layer
	Names      []string
	Metadata   string
	MountLabel string
	Created    time.Time
	JSON       string // as c/storage writes it in containers.json
}

func goLayer(l *C.cs_layer) Layer {
	return Layer{
		ID:                 goString(C.cs_layer_id(l)),
		Parent:             goString(C.cs_layer_parent(l)),
		Names:              indexed(C.cs_layer_names_count(l), func(i C.size_t) *C.char { return C.cs_layer_name(l, i) }),
		Metadata:           goString(C.cs_layer_metadata(l)),
		MountLabel:         goString(C.cs_layer_mount_label(l)),
		CompressedDigest:   goString(C.cs_layer_compressed_digest(l)),
		CompressedSize:     int64(C.cs_layer_compressed_size(l)),
		UncompressedDigest: goString(C.cs_layer_uncompressed_digest(l)),
		UncompressedSize:   int64(C.cs_layer_uncompressed_size(l)),
		Created:            nanos(C.cs_layer_created(l)),
		ReadOnly:           bool(C.cs_layer_read_only(l)),
		MountPoint:         goString(C.cs_layer_mount_point(l)),
		MountCount:         uint32(C.cs_layer_mount_count(l)),
		JSON:               goString(C.cs_layer_json(l)),
	}
}

func goImage(i *C.cs_image) Image {
	return Image{
		ID:           goString(C.cs_image_id(i)),
		TopLayer:     goString(C.cs_image_top_layer(i)),
		Names:        indexed(C.cs_image_names_count(i), func(n C.size_t) *C.char { return C.cs_image_name(i, n) }),
		Digest:       goString(C.cs_image_digest(i)),
		Digests:      indexed(C.cs_image_digests_count(i), func(n C.size_t) *C.char { return C.cs_image_digests_get(i, n) }),
		Metadata:     goString(C.cs_image_metadata(i)),
		Created:      nanos(C.cs_image_created(i)),
		ReadOnly:     bool(C.cs_image_read_only(i)),
		BigDataNames: indexed(C.cs_image_big_data_names_count(i), func(n C.size_t) *C.char { return C.cs_image_big_data_name(i, n) }),
		JSON:         goString(C.cs_image_json(i)),
	}
}

func goContainer(c *C.cs_container) Container {
	return Container{
		ID:         goString(C.cs_container_id(c)),
		Image:      goString(C.cs_container_image(c)),
		Layer:      goString(C.cs_container_layer(c)),
		Names:      indexed(C.cs_container_names_count(c), func(i C.size_t) *C.char { return C.cs_container_name(c, i) }),
		Metadata:   goString(C.cs_container_metadata(c)),
		MountLabel: goString(C.cs_container_mount_label(c)),
		Created:    nanos(C.cs_container_created(c)),
		JSON:       goString(C.cs_container_json(c)),
	}
}

// takeLayer, takeImage, takeContainer copy and free one snapshot (nil gives the zero value,
// for calls that failed).
func takeLayer(l *C.cs_layer) Layer {
	if l == nil {
		return Layer{}
	}
	defer C.cs_layer_free(l)
	return goLayer(l)
}

func takeImage(i *C.cs_image) Image {
	if i == nil {
		return Image{}
	}
	defer C.cs_image_free(i)
	return goImage(i)
}

func takeContainer(c *C.cs_container) Container {
	if c == nil {
		return Container{}
	}
	defer C.cs_container_free(c)
	return goContainer(c)
}

func takeLayers(list *C.cs_layer_list) []Layer {
	defer C.cs_layer_list_free(list)
	out := make([]Layer, 0, int(C.cs_layer_list_len(list)))
	for i := C.size_t(0); i < C.cs_layer_list_len(list); i++ {
		out = append(out, goLayer(C.cs_layer_list_get(list, i)))
	}
	return out
}

func takeImages(list *C.cs_image_list) []Image {
	defer C.cs_image_list_free(list)
	out := make([]Image, 0, int(C.cs_image_list_len(list)))
	for i := C.size_t(0); i < C.cs_image_list_len(list); i++ {
		out = append(out, goImage(C.cs_image_list_get(list, i)))
	}
	return out
}

func takeContainers(list *C.cs_container_list) []Container {
	defer C.cs_container_list_free(list)
	out := make([]Container, 0, int(C.cs_container_list_len(list)))
	for i := C.size_t(0); i < C.cs_container_list_len(list); i++ {
		out = append(out, goContainer(C.cs_container_list_get(list, i)))
	}
	return out
}

// Layer finds a layer by ID, name or unique ID prefix.
func (s *Store) Layer(key string) (Layer, error) {
	var a arena
	defer a.free()
	var l *C.cs_layer
	err := s.call(func(st *C.cs_store, e **C.cs_error) C.cs_result { return C.cs_layer_get(st, a.str(key), &l, e) })
	return takeLayer(l), err
}

// Image finds an image by ID, name, unique ID prefix or digest.
func (s *Store) Image(key string) (Image, error) {
	var a arena
	defer a.free()
	var i *C.cs_image
	err := s.call(func(st *C.cs_store, e **C.cs_error) C.cs_result { return C.cs_image_get(st, a.str(key), &i, e) })
	return takeImage(i), err
}

// Container finds a container by ID, name, unique ID prefix or its layer's ID.
func (s *Store) Container(key string) (Container, error) {
	var a arena
	defer a.free()
	var c *C.cs_container
	err := s.call(func(st *C.cs_store, e **C.cs_error) C.cs_result { return C.cs_container_get(st, a.str(key), &c, e) })
	return takeContainer(c), err
}

// ContainerByLayer finds the container whose read-write layer is layer.
func (s *Store) ContainerByLayer(layer string) (Container, error) {
	var a arena
	defer a.free()
	var c *C.cs_container
	err := s.call(func(st *C.cs_store, e **C.cs_error) C.cs_result {
		return C.cs_store_container_by_layer(st, a.str(layer), &c, e)
	})
	return takeContainer(c), err
}

// layerList, imageList and containerList run one listing call and copy its snapshots.
func (s *Store) layerList(list func(st *C.cs_store, out **C.cs_layer_list, e **C.cs_error) C.cs_result) ([]Layer, error) {
	var out *C.cs_layer_list
	if err := s.call(func(st *C.cs_store, e **C.cs_error) C.cs_result { return list(st, &out, e) }); err != nil {
		return nil, err
	}
	return takeLayers(out), nil
}

func (s *Store) imageList(list func(st *C.cs_store, out **C.cs_image_list, e **C.cs_error) C.cs_result) ([]Image, error) {
	var out *C.cs_image_list
	if err := s.call(func(st *C.cs_store, e **C.cs_error) C.cs_result { return list(st, &out, e) }); err != nil {
		return nil, err
	}
	return takeImages(out), nil
}

// Layers lists all layers, oldest first.
func (s *Store) Layers() ([]Layer, error) {
	return s.layerList(func(st *C.cs_store, out **C.cs_layer_list, e **C.cs_error) C.cs_result {
		return C.cs_store_layers(st, out, e)
	})
}

// LayersByCompressedDigest lists the layers whose compressed tar stream has digest.
func (s *Store) LayersByCompressedDigest(digest string) ([]Layer, error) {
	var a arena
	defer a.free()
	return s.layerList(func(st *C.cs_store, out **C.cs_layer_list, e **C.cs_error) C.cs_result {
		return C.cs_store_layers_by_compressed_digest(st, a.str(digest), out, e)
	})
}

// LayersByUncompressedDigest lists the layers whose uncompressed tar stream has digest.
func (s *Store) LayersByUncompressedDigest(digest string) ([]Layer, error) {
	var a arena
	defer a.free()
	return s.layerList(func(st *C.cs_store, out **C.cs_layer_list, e **C.cs_error) C.cs_result {
		return C.cs_store_layers_by_uncompressed_digest(st, a.str(digest), out, e)
	})
}

// Images lists all images.
func (s *Store) Images() ([]Image, error) {
	return s.imageList(func(st *C.cs_store, out **C.cs_image_list, e **C.cs_error) C.cs_result {
		return C.cs_store_images(st, out, e)
	})
}

// ImagesByDigest lists the images that have digest among their digests.
func (s *Store) ImagesByDigest(digest string) ([]Image, error) {
	var a arena
	defer a.free()
	return s.imageList(func(st *C.cs_store, out **C.cs_image_list, e **C.cs_error) C.cs_result {
		return C.cs_store_images_by_digest(st, a.str(digest), out, e)
	})
}

// ImagesByTopLayer lists the images whose top layer is layer.
func (s *Store) ImagesByTopLayer(layer string) ([]Image, error) {
	var a arena
	defer a.free()
	return s.imageList(func(st *C.cs_store, out **C.cs_image_list, e **C.cs_error) C.cs_result {
		return C.cs_store_images_by_top_layer(st, a.str(layer), out, e)
	})
}

// Containers lists all containers.
func (s *Store) Containers() ([]Container, error) {
	var list *C.cs_container_list
	if err := s.call(func(st *C.cs_store, e **C.cs_error) C.cs_result { return C.cs_store_containers(st, &list, e) }); err != nil {
		return nil, err
	}
	return takeContainers(list), nil
}

// MultiList lists layers, images and containers read together under their three locks, so
// that no container names an image or layer another process removed in between.
func (s *Store) MultiList() ([]Layer, []Image, []Container, error) {
	var layers *C.cs_layer_list
	var images *C.cs_image_list
	var containers *C.cs_container_list
	if err := s.call(func(st *C.cs_store, e **C.cs_error) C.cs_result {
		return C.cs_store_multi_list(st, &layers, &images, &containers, e)
	}); err != nil {
		return nil, nil, nil, err
	}
	return takeLayers(layers), takeImages(images), takeContainers(containers), nil
}

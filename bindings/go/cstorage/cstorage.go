// Package cstorage is the Go binding of libcstorage, a C library for containers/storage stores
// (layers, images and containers on disk, shared with podman, buildah and skopeo).
//
// It links the installed library through pkg-config (`cstorage.pc`; set PKG_CONFIG_PATH for a
// library installed under a prefix of your own). Every call copies what the C side returns into
// Go values and frees the C memory before it returns: no C pointer outlives the call it came
// from. A Store may be used from any number of goroutines; Close waits for calls in flight.
//
// Errors are *Error values carrying the library's cs_result code; compare them with errors.Is
// against the Err* codes (errors.Is(err, cstorage.ErrLayerUnknown)).
package cstorage

/*
#cgo pkg-config: cstorage
#include <stdlib.h>
#include <cstorage.h>
*/
import "C"

import (
	"errors"
	"sync"
	"time"
	"unsafe"
)

// Store is an open store. Its methods may be called from several goroutines at once.
type Store struct {
	mu  sync.RWMutex // read-held by every call, write-held by Close
	ptr *C.cs_store  // nil once closed

	graphRoot, runRoot, driverName, imageStore, compatLevel string
	transient                                               bool
	uidMap, gidMap                                          []IDMap
}

// IDMap maps Size IDs starting at ContainerID inside a container to HostID... on the host.
type IDMap struct {
	ContainerID, HostID, Size uint32
}

// Options say which store to open. Fields left empty come from storage.conf and the
// environment (STORAGE_DRIVER, STORAGE_OPTS, CONTAINERS_STORAGE_CONF), as in c/storage.
type Options struct {
	GraphRoot string
	RunRoot   string
	Driver    string // "vfs", "overlay"
	// DriverOptions: "key=value" or "driver.key=value" ("overlay.mountopt=nodev").
	DriverOptions         []string
	ConfigFile            string   // a storage.conf to read instead of the usual ones
	AdditionalImageStores []string // graph roots of stores whose images are visible read-only
	ImageStore            string   // the split image store's root
	ReadOnly              bool
	// Transient, when not nil, overrides storage.conf's transient_store.
	Transient *bool
	// CompatLevel: the c/storage generation the store is shared with, "1.43" or "1.57".
	CompatLevel    string
	UIDMap, GIDMap []IDMap
}

// ErrClosed is returned by the methods of a Store after Close.
var ErrClosed = errors.New("cstorage: store is closed")

// Open opens (creating what is missing) the store opts describes.
func Open(opts Options) (*Store, error) {
	var a arena
	defer a.free()
	copts := C.cs_store_options_new()
	if copts == nil {
		return nil, &Error{Code: ErrPanic, Message: "cs_store_options_new failed"}
	}
	defer C.cs_store_options_free(copts)
	steps := []func(**C.cs_error) C.cs_result{
		func(e **C.cs_error) C.cs_result {
			return C.cs_store_options_set_graph_root(copts, a.optStr(opts.GraphRoot), e)
		},
		func(e **C.cs_error) C.cs_result {
			return C.cs_store_options_set_run_root(copts, a.optStr(opts.RunRoot), e)
		},
		func(e **C.cs_error) C.cs_result {
			return C.cs_store_options_set_driver(copts, a.optStr(opts.Driver), e)
		},
		func(e **C.cs_error) C.cs_result {
			return C.cs_store_options_set_config_file(copts, a.optStr(opts.ConfigFile), e)
		},
		func(e **C.cs_error) C.cs_result {
			return C.cs_store_options_set_image_store(copts, a.optStr(opts.ImageStore), e)
		},
		func(e **C.cs_error) C.cs_result {
			return C.cs_store_options_set_compat_level(copts, a.optStr(opts.CompatLevel), e)
		},
		func(e **C.cs_error) C.cs_result {
			return C.cs_store_options_set_read_only(copts, C.bool(opts.ReadOnly), e)
		},
		func(e **C.cs_error) C.cs_result {
			ptr, n := idMaps(opts.UIDMap)
			return C.cs_store_options_set_uid_map(copts, ptr, n, e)
		},
		func(e **C.cs_error) C.cs_result {
			ptr, n := idMaps(opts.GIDMap)
			return C.cs_store_options_set_gid_map(copts, ptr, n, e)
		},
	}
	if opts.Transient != nil {
		steps = append(steps, func(e **C.cs_error) C.cs_result {
			return C.cs_store_options_set_transient(copts, C.bool(*opts.Transient), e)
		})
	}
	for _, option := range opts.DriverOptions {
		option := option
		steps = append(steps, func(e **C.cs_error) C.cs_result { return C.cs_store_options_add_driver_option(copts, a.str(option), e) })
	}
	for _, path := range opts.AdditionalImageStores {
		path := path
		steps = append(steps, func(e **C.cs_error) C.cs_result {
			return C.cs_store_options_add_additional_image_store(copts, a.str(path), e)
		})
	}
	var cstore *C.cs_store
	steps = append(steps, func(e **C.cs_error) C.cs_result { return C.cs_store_open(copts, &cstore, e) })
	if err := check(steps...); err != nil {
		return nil, err
	}
	// What the handle owns is copied now, so that no getter needs the handle later.
	s := &Store{
		ptr:         cstore,
		graphRoot:   goString(C.cs_store_graph_root(cstore)),
		runRoot:     goString(C.cs_store_run_root(cstore)),
		driverName:  goString(C.cs_store_driver_name(cstore)),
		imageStore:  goString(C.cs_store_image_store(cstore)),
		compatLevel: goString(C.cs_store_compat_level(cstore)),
		transient:   bool(C.cs_store_transient(cstore)),
		uidMap:      goIDMaps(C.cs_store_uid_map(cstore), C.cs_store_uid_map_count(cstore)),
		gidMap:      goIDMaps(C.cs_store_gid_map(cstore), C.cs_store_gid_map_count(cstore)),
	}
	return s, nil
}

// Close releases the handle once calls in flight have returned. Mounts stay (they are counted
// on disk); see Shutdown. Closing twice is harmless.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	C.cs_store_free(s.ptr)
	s.ptr = nil
	return nil
}

func (s *Store) GraphRoot() string   { return s.graphRoot }
func (s *Store) RunRoot() string     { return s.runRoot }
func (s *Store) DriverName() string  { return s.driverName }
func (s *Store) ImageStore() string  { return s.imageStore } // "" without a split image store
func (s *Store) CompatLevel() string { return s.compatLevel }
func (s *Store) Transient() bool     { return s.transient }
func (s *Store) UIDMap() []IDMap     { return append([]IDMap(nil), s.uidMap...) }
func (s *Store) GIDMap() []IDMap     { return append([]IDMap(nil), s.gidMap...) }

// call runs one fallible C call on the open handle and turns its outcome into a Go error.
func (s *Store) call(f func(store *C.cs_store, e **C.cs_error) C.cs_result) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.ptr == nil {
		return ErrClosed
	}
	return check(func(e **C.cs_error) C.cs_result { return f(s.ptr, e) })
}

// check runs fallible C calls in order and stops at the first failure, returned as *Error.
func check(steps ...func(e **C.cs_error) C.cs_result) error {
	for _, step := range steps {
		var cerr *C.cs_error
		if code := step(&cerr); code != C.CS_RESULT_OK {
			return takeError(code, cerr)
		}
	}
	return nil
}

// LibraryVersion is the running library's version, "MAJOR.MINOR.PATCH".
func LibraryVersion() string { return C.GoString(C.cs_library_version_string()) }

// LibraryVersionNumber is MAJOR*1000000 + MINOR*1000 + PATCH of the running library.
func LibraryVersionNumber() uint32 { return uint32(C.cs_library_version_number()) }

// ABIVersion is the N of the running library's SONAME libcstorage.so.N.
func ABIVersion() uint32 { return uint32(C.cs_library_abi_version()) }

// ChainID is the OCI chain ID of a layer with diff ID diffID on top of parentChainID ("" for a
// base layer).
func ChainID(parentChainID, diffID string) (string, error) {
	var a arena
	defer a.free()
	var out *C.char
	err := check(func(e **C.cs_error) C.cs_result {
		return C.cs_digest_chain_id(a.optStr(parentChainID), a.str(diffID), &out, e)
	})
	return takeString(out), err
}

// --- conversions between Go and C values -------------------------------------------------

// arena collects the C strings made for one call, freed together when the call is over.
type arena struct{ ptrs []unsafe.Pointer }

func (a *arena) str(s string) *C.char {
	p := C.CString(s)
	a.ptrs = append(a.ptrs, unsafe.Pointer(p))
	return p
}

// optStr is str with "" meaning NULL (unset, default, none).
func (a *arena) optStr(s string) *C.char {
	if s == "" {
		return nil
	}
	return a.str(s)
}

// strs is a C array of C strings; nil for none.
func (a *arena) strs(list []string) (**C.char, C.size_t) {
	if len(list) == 0 {
		return nil, 0
	}
	array := (*[1 << 28]*C.char)(C.malloc(C.size_t(len(list)) * C.size_t(unsafe.Sizeof((*C.char)(nil)))))[:len(list):len(list)]
	a.ptrs = append(a.ptrs, unsafe.Pointer(&array[0]))
	for i, s := range list {
		array[i] = a.str(s)
	}
	return &array[0], C.size_t(len(list))
}

// bytes is a C copy of b (NULL when empty).
func (a *arena) bytes(b []byte) (*C.uint8_t, C.size_t) {
	if len(b) == 0 {
		return nil, 0
	}
	p := C.CBytes(b)
	a.ptrs = append(a.ptrs, p)
	return (*C.uint8_t)(p), C.size_t(len(b))
}

func (a *arena) free() {
	for _, p := range a.ptrs {
		C.free(p)
	}
	a.ptrs = nil
}

func goString(p *C.char) string {
	if p == nil {
		return ""
	}
	return C.GoString(p)
}

// takeString copies and frees a string the library allocated.
func takeString(p *C.char) string {
	defer C.cs_string_free(p)
	return goString(p)
}

// takeStrings copies and disposes of a string array the library filled.
func takeStrings(array *C.cs_strarray) []string {
	defer C.cs_strarray_dispose(array)
	out := make([]string, 0, int(array.count))
	if array.count == 0 {
		return out
	}
	for _, p := range unsafe.Slice(array.strings, int(array.count)) {
		out = append(out, C.GoString(p))
	}
	return out
}

// indexed reads count strings through a getter of the snapshot.
func indexed(count C.size_t, get func(i C.size_t) *C.char) []string {
	out := make([]string, 0, int(count))
	for i := C.size_t(0); i < count; i++ {
		out = append(out, goString(get(i)))
	}
	return out
}

func idMaps(maps []IDMap) (*C.cs_id_map, C.size_t) {
	if len(maps) == 0 {
		return nil, 0
	}
	// Go memory holding no Go pointers may be passed to C for the duration of a call.
	cmaps := make([]C.cs_id_map, len(maps))
	for i, m := range maps {
		cmaps[i] = C.cs_id_map{container_id: C.uint32_t(m.ContainerID), host_id: C.uint32_t(m.HostID), size: C.uint32_t(m.Size)}
	}
	return &cmaps[0], C.size_t(len(maps))
}

func goIDMaps(p *C.cs_id_map, n C.size_t) []IDMap {
	if p == nil || n == 0 {
		return nil
	}
	out := make([]IDMap, 0, int(n))
	for _, m := range unsafe.Slice(p, int(n)) {
		out = append(out, IDMap{ContainerID: uint32(m.container_id), HostID: uint32(m.host_id), Size: uint32(m.size)})
	}
	return out
}

func nanos(ns C.int64_t) time.Time { return time.Unix(0, int64(ns)) }

package cstorage

/*
#include <stdlib.h>
#include <cstorage.h>
*/
import "C"

import "os"

// ImportOCIOptions choose and name the image ImportOCI stores.
type ImportOCIOptions struct {
	Names    []string // names the image gets (taken from other images that have them)
	Platform string   // "os/arch[/variant]" to pick from an image index; "" for this host's
}

// ImportOCI stores the image reference names ("" when the layout holds one image; else a tag)
// of the OCI image layout directory dir, as `skopeo copy oci:DIR:TAG containers-storage:` does:
// c/image's layer and image IDs (layers already in the store are reused), config and manifest
// big data, digest, created time. Blob digests and sizes are checked as they stream; a failed
// import leaves no image and removes only the layers it made. Errors: ErrReferenceUnknown,
// ErrNoMatchingPlatform, ErrBlobUnknown, ErrBlobSizeMismatch, ErrDigestMismatch,
// ErrUnsafeLayoutPath, ErrBadLayout, ErrBadArchive, ...
func (s *Store) ImportOCI(dir, reference string, opts *ImportOCIOptions) (Image, error) {
	if opts == nil {
		opts = &ImportOCIOptions{}
	}
	var a arena
	defer a.free()
	copts := C.cs_image_import_options_new()
	if copts == nil {
		return Image{}, &Error{Code: ErrPanic, Message: "cs_image_import_options_new failed"}
	}
	defer C.cs_image_import_options_free(copts)
	steps := []func(e **C.cs_error) C.cs_result{func(e **C.cs_error) C.cs_result {
		return C.cs_image_import_options_set_platform(copts, a.optStr(opts.Platform), e)
	}}
	for _, name := range opts.Names {
		name := name
		steps = append(steps, func(e **C.cs_error) C.cs_result { return C.cs_image_import_options_add_name(copts, a.str(name), e) })
	}
	if err := check(steps...); err != nil {
		return Image{}, err
	}
	var i *C.cs_image
	err := s.call(func(st *C.cs_store, e **C.cs_error) C.cs_result {
		return C.cs_image_import_oci(st, a.str(dir), a.optStr(reference), copts, &i, e)
	})
	return takeImage(i), err
}

// ImportOCIDir is ImportOCI from a layout directory the caller opened.
func (s *Store) ImportOCIDir(dir *os.File, reference string) (Image, error) {
	var a arena
	defer a.free()
	var i *C.cs_image
	err := s.call(func(st *C.cs_store, e **C.cs_error) C.cs_result {
		return C.cs_image_import_oci_fd(st, C.int(dir.Fd()), a.optStr(reference), nil, &i, e)
	})
	return takeImage(i), err
}

// ExportOCI writes image to the OCI image layout dir (made, or added to) under the tag
// reference ("" for none), as `skopeo copy oci:DIR:TAG` reads it (the same image ID); returns
// the digest of the manifest written.
func (s *Store) ExportOCI(image, dir, reference string, compression Compression) (string, error) {
	var a arena
	defer a.free()
	copts := C.cs_image_export_options_new()
	if copts == nil {
		return "", &Error{Code: ErrPanic, Message: "cs_image_export_options_new failed"}
	}
	defer C.cs_image_export_options_free(copts)
	var digest *C.char
	err := check(func(e **C.cs_error) C.cs_result {
		return C.cs_image_export_options_set_compression(copts, C.int32_t(compression), e)
	})
	if err == nil {
		err = s.call(func(st *C.cs_store, e **C.cs_error) C.cs_result {
			return C.cs_image_export_oci(st, a.str(image), a.str(dir), a.optStr(reference), copts, &digest, e)
		})
	}
	return takeString(digest), err
}

package cstorage

/*
#include <stdint.h>
#include <cstorage.h>

// The Go callbacks of callbacks.go, and the calls that hand them to the library with a
// cgo.Handle (a uintptr) as userdata.
extern int32_t cstorageGoRead(void *userdata, uint8_t *buf, size_t len, size_t *out_n);
extern int32_t cstorageGoWrite(void *userdata, uint8_t *buf, size_t len, size_t *out_n);
extern int32_t cstorageGoProgress(void *userdata, uint64_t done, uint64_t total);
extern void cstorageGoLog(void *userdata, cs_log_level level, char *message);

static cs_result go_set_progress(cs_layer_options *o, uintptr_t h, cs_error **e) {
	return cs_layer_options_set_progress(o, cstorageGoProgress, (void *)h, e);
}
static cs_result go_layer_import(const cs_store *s, const cs_layer_options *o, uintptr_t h, cs_layer **l, cs_error **e) {
	return cs_layer_import(s, o, cstorageGoRead, (void *)h, l, e);
}
static cs_result go_layer_apply_diff(const cs_store *s, const char *layer, uintptr_t h, int64_t *size, cs_error **e) {
	return cs_layer_apply_diff(s, layer, cstorageGoRead, (void *)h, size, e);
}
static cs_result go_layer_export(const cs_store *s, const char *from, const char *to, const cs_diff_options *o, uintptr_t h, cs_error **e) {
	return cs_layer_export(s, from, to, o, (cs_write_fn)cstorageGoWrite, (void *)h, e);
}
static void go_set_log(uintptr_t h, cs_log_level max) {
	cs_set_log_callback(h ? (cs_log_fn)cstorageGoLog : NULL, (void *)h, max);
}
*/
import "C"

import (
	"context"
	"errors"
	"io"
	"os"
	"runtime"
	"runtime/cgo"
	"sync"
)

// withStream runs one streaming call with st reachable from the callbacks, and reports the
// Go-side failure (the reader's error, the context's) inside the library's error.
func withStream(st *stream, call func(h C.uintptr_t) error) error {
	h := cgo.NewHandle(st)
	defer h.Delete()
	err := call(C.uintptr_t(h))
	var cerr *Error
	if st.failure != nil && errors.As(err, &cerr) {
		cerr.cause = st.failure
	}
	return err
}

// ImportLayer is Go's PutLayer: a new layer (as CreateLayer with opts) filled from the tar
// stream r (plain, gzip, zstd, bzip2 or xz; detected). Cancelling ctx stops the import and
// removes the half-made layer; the error then matches both ErrCancelled and ctx.Err().
func (s *Store) ImportLayer(ctx context.Context, r io.Reader, opts *LayerOptions) (Layer, error) {
	var a arena
	defer a.free()
	copts, err := opts.build(&a)
	if err != nil {
		return Layer{}, err
	}
	defer C.cs_layer_options_free(copts)
	st := &stream{ctx: ctx, r: r}
	if opts != nil {
		st.progress = opts.Progress
	}
	var l *C.cs_layer
	err = withStream(st, func(h C.uintptr_t) error {
		if err := check(func(e **C.cs_error) C.cs_result { return C.go_set_progress(copts, h, e) }); err != nil {
			return err
		}
		return s.call(func(cs *C.cs_store, e **C.cs_error) C.cs_result {
			// A file is read by the library itself, from its current offset.
			if f, ok := r.(*os.File); ok {
				defer runtime.KeepAlive(f)
				return C.cs_layer_import_fd(cs, copts, C.int(f.Fd()), &l, e)
			}
			return C.go_layer_import(cs, copts, h, &l, e)
		})
	})
	return takeLayer(l), err
}

// ApplyDiff is Go's ApplyDiff: apply the tar stream r to the existing layer; returns the
// stream's uncompressed size.
func (s *Store) ApplyDiff(ctx context.Context, layer string, r io.Reader) (int64, error) {
	var a arena
	defer a.free()
	var size C.int64_t
	err := withStream(&stream{ctx: ctx, r: r}, func(h C.uintptr_t) error {
		return s.call(func(cs *C.cs_store, e **C.cs_error) C.cs_result {
			if f, ok := r.(*os.File); ok && ctx.Done() == nil {
				defer runtime.KeepAlive(f)
				return C.cs_layer_apply_diff_fd(cs, a.str(layer), C.int(f.Fd()), &size, e)
			}
			return C.go_layer_apply_diff(cs, a.str(layer), h, &size, e)
		})
	})
	return int64(size), err
}

// Compression of an export.
type Compression int32

const (
	AsStored     Compression = C.CS_DIFF_AS_STORED // as the layer was imported (the default)
	Uncompressed Compression = C.CS_DIFF_UNCOMPRESSED
	Gzip         Compression = C.CS_DIFF_GZIP
	Zstd         Compression = C.CS_DIFF_ZSTD
)

// ExportOptions say what ExportLayer writes; nil: the changes against the parent, compressed
// as stored.
type ExportOptions struct {
	From        string // the layer to compare with; "" for the parent
	Compression Compression
}

// ExportLayer is Go's Diff: write layer's changes as a tar stream to w. A layer imported from
// a tar, exported against its parent as stored, gives the imported tar byte for byte.
// Cancelling ctx stops the export at the next write.
func (s *Store) ExportLayer(ctx context.Context, layer string, w io.Writer, opts *ExportOptions) error {
	if opts == nil {
		opts = &ExportOptions{}
	}
	var a arena
	defer a.free()
	copts := C.cs_diff_options_new()
	if copts == nil {
		return &Error{Code: ErrPanic, Message: "cs_diff_options_new failed"}
	}
	defer C.cs_diff_options_free(copts)
	if err := check(func(e **C.cs_error) C.cs_result {
		return C.cs_diff_options_set_compression(copts, C.int32_t(opts.Compression), e)
	}); err != nil {
		return err
	}
	return withStream(&stream{ctx: ctx, w: w}, func(h C.uintptr_t) error {
		return s.call(func(cs *C.cs_store, e **C.cs_error) C.cs_result {
			// Without a context to watch, a file is written by the library itself.
			if f, ok := w.(*os.File); ok && ctx.Done() == nil {
				defer runtime.KeepAlive(f)
				return C.cs_layer_export_fd(cs, a.optStr(opts.From), a.str(layer), copts, C.int(f.Fd()), e)
			}
			return C.go_layer_export(cs, a.optStr(opts.From), a.str(layer), copts, h, e)
		})
	})
}

// LogLevel is how serious a library log message is; smaller is more serious.
type LogLevel int32

const (
	LogError LogLevel = C.CS_LOG_ERROR
	LogWarn  LogLevel = C.CS_LOG_WARN
	LogInfo  LogLevel = C.CS_LOG_INFO
	LogDebug LogLevel = C.CS_LOG_DEBUG
	LogTrace LogLevel = C.CS_LOG_TRACE
)

var logHandle struct {
	sync.Mutex
	h cgo.Handle
}

// SetLogFunc sends the library's messages up to max to fn, for the whole process; nil
// silences the library (the default). fn may be called on any goroutine, concurrently, and
// must not call into the library.
func SetLogFunc(fn func(level LogLevel, message string), max LogLevel) {
	logHandle.Lock()
	defer logHandle.Unlock()
	var h cgo.Handle
	if fn != nil {
		h = cgo.NewHandle(fn)
	}
	C.go_set_log(C.uintptr_t(h), C.cs_log_level(max))
	// The library no longer calls the previous function once cs_set_log_callback returned.
	if logHandle.h != 0 {
		logHandle.h.Delete()
	}
	logHandle.h = h
}

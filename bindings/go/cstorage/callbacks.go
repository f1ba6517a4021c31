package cstorage

// The C library calls these during a call only, on the calling thread (the log callback on
// any thread). userdata carries a cgo.Handle to the Go state of that call; see streams.go.
// (A file with //export may only declare C functions in its preamble, so the C side that
// passes these functions to the library lives in streams.go.)

/*
#include <stdint.h>
#include <stddef.h>
#include <cstorage.h>
*/
import "C"

import (
	"errors"
	"io"
	"runtime/cgo"
	"syscall"
	"unsafe"
)

// stream is the Go state of one import or export, reached from C through a cgo.Handle.
type stream struct {
	ctx      ctxLike
	r        io.Reader
	w        io.Writer
	progress func(done, total uint64)
	failure  error // the first Go-side error, reported by the call instead of the library's
	pending  error // a reader error that came with data: reported at the next read
}

// ctxLike is the part of context.Context the callbacks use.
type ctxLike interface{ Err() error }

func streamOf(userdata unsafe.Pointer) *stream {
	return cgo.Handle(uintptr(userdata)).Value().(*stream)
}

// fail records why the Go side stopped the call and gives the errno for the library.
func (st *stream) fail(err error) C.int32_t {
	if st.failure == nil {
		st.failure = err
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return C.int32_t(errno)
	}
	if st.ctx.Err() != nil {
		return C.int32_t(syscall.ECANCELED)
	}
	return C.int32_t(syscall.EIO)
}

//export cstorageGoRead
func cstorageGoRead(userdata unsafe.Pointer, buf *C.uint8_t, length C.size_t, outN *C.size_t) C.int32_t {
	st := streamOf(userdata)
	if err := st.ctx.Err(); err != nil {
		return st.fail(err)
	}
	if st.pending != nil {
		return st.fail(st.pending)
	}
	dst := unsafe.Slice((*byte)(unsafe.Pointer(buf)), int(length))
	// io.Reader allows (0, nil); ask again a bounded number of times, as io.ReadAtLeast does.
	for tries := 0; tries < 100; tries++ {
		n, err := st.r.Read(dst)
		if n > 0 {
			*outN = C.size_t(n)
			if err != nil && err != io.EOF {
				st.pending = err
			}
			return 0
		}
		if err == io.EOF {
			*outN = 0
			return 0
		}
		if err != nil {
			return st.fail(err)
		}
	}
	return st.fail(io.ErrNoProgress)
}

//export cstorageGoWrite
func cstorageGoWrite(userdata unsafe.Pointer, buf *C.uint8_t, length C.size_t, outN *C.size_t) C.int32_t {
	st := streamOf(userdata)
	if err := st.ctx.Err(); err != nil {
		return st.fail(err)
	}
	n, err := st.w.Write(unsafe.Slice((*byte)(unsafe.Pointer(buf)), int(length)))
	if err == nil && n == 0 && length > 0 {
		err = io.ErrShortWrite
	}
	if err != nil {
		return st.fail(err)
	}
	*outN = C.size_t(n)
	return 0
}

//export cstorageGoProgress
func cstorageGoProgress(userdata unsafe.Pointer, done C.uint64_t, total C.uint64_t) C.int32_t {
	st := streamOf(userdata)
	if err := st.ctx.Err(); err != nil {
		st.fail(err)
		return 1
	}
	if st.progress != nil {
		st.progress(uint64(done), uint64(total))
	}
	return 0
}

//export cstorageGoLog
func cstorageGoLog(userdata unsafe.Pointer, level C.cs_log_level, message *C.char) {
	cgo.Handle(uintptr(userdata)).Value().(func(LogLevel, string))(LogLevel(level), C.GoString(message))
}

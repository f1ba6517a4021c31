package cstorage

// The progress callback of CheckContext. (A file with //export may only declare C functions
// in its preamble, so the C side that hands it to the library lives in check.go.)

/*
#include <stdint.h>
#include <stddef.h>
#include <cstorage.h>
*/
import "C"

import (
	"runtime/cgo"
	"unsafe"
)

// checkProgress is the Go state of one CheckContext call, reached from C through a cgo.Handle.
type checkProgress struct {
	ctx      ctxLike
	progress CheckProgressFunc
	failure  error // the context's error, reported by the call inside the library's
}

//export cstorageGoCheckProgress
func cstorageGoCheckProgress(userdata unsafe.Pointer, step C.cs_check_step, done C.size_t, total C.size_t) C.int32_t {
	st := cgo.Handle(uintptr(userdata)).Value().(*checkProgress)
	if err := st.ctx.Err(); err != nil {
		st.failure = err
		return 1
	}
	if st.progress != nil {
		st.progress(CheckStep(step), int(done), int(total))
	}
	return 0
}

package cstorage

/*
#include <cstorage.h>
*/
import "C"

import (
	"fmt"
	"syscall"
)

// Code is a cs_result code. Every code is also an error value, so that
// errors.Is(err, cstorage.ErrLayerUnknown) tells what went wrong.
type Code int32

// The library's codes, taken from the header (they are never renumbered).
const (
	ErrLayerUnknown         Code = C.CS_RESULT_LAYER_UNKNOWN
	ErrImageUnknown         Code = C.CS_RESULT_IMAGE_UNKNOWN
	ErrContainerUnknown     Code = C.CS_RESULT_CONTAINER_UNKNOWN
	ErrNotAnID              Code = C.CS_RESULT_NOT_AN_ID
	ErrDuplicateID          Code = C.CS_RESULT_DUPLICATE_ID
	ErrDuplicateName        Code = C.CS_RESULT_DUPLICATE_NAME
	ErrLayerHasChildren     Code = C.CS_RESULT_LAYER_HAS_CHILDREN
	ErrLayerUsedByImage     Code = C.CS_RESULT_LAYER_USED_BY_IMAGE
	ErrLayerUsedByContainer Code = C.CS_RESULT_LAYER_USED_BY_CONTAINER
	ErrImageUsedByContainer Code = C.CS_RESULT_IMAGE_USED_BY_CONTAINER
	ErrLayerNotMounted      Code = C.CS_RESULT_LAYER_NOT_MOUNTED
	ErrStoreReadOnly        Code = C.CS_RESULT_STORE_READ_ONLY
	ErrNotSupported         Code = C.CS_RESULT_NOT_SUPPORTED
	ErrSizeUnknown          Code = C.CS_RESULT_SIZE_UNKNOWN
	ErrBigDataUnknown       Code = C.CS_RESULT_BIG_DATA_UNKNOWN
	ErrLayerIncomplete      Code = C.CS_RESULT_LAYER_INCOMPLETE
	ErrParentIsContainer    Code = C.CS_RESULT_PARENT_IS_CONTAINER
	ErrMaxDepthExceeded     Code = C.CS_RESULT_MAX_DEPTH_EXCEEDED
	ErrInvalidArgument      Code = C.CS_RESULT_INVALID_ARGUMENT
	ErrNullParameter        Code = C.CS_RESULT_NULL_PARAMETER
	ErrIO                   Code = C.CS_RESULT_IO
	ErrCorruptMetadata      Code = C.CS_RESULT_CORRUPT_METADATA
	ErrDigestMismatch       Code = C.CS_RESULT_DIGEST_MISMATCH
	ErrBadArchive           Code = C.CS_RESULT_BAD_ARCHIVE
	ErrCallbackFailed       Code = C.CS_RESULT_CALLBACK_FAILED
	ErrCancelled            Code = C.CS_RESULT_CANCELLED
	ErrPanic                Code = C.CS_RESULT_PANIC
	ErrConfig               Code = C.CS_RESULT_CONFIG
	ErrMount                Code = C.CS_RESULT_MOUNT
	// OCI image layouts (Store.ImportOCI).
	ErrBlobSizeMismatch   Code = C.CS_RESULT_BLOB_SIZE_MISMATCH
	ErrBlobUnknown        Code = C.CS_RESULT_BLOB_UNKNOWN
	ErrNoMatchingPlatform Code = C.CS_RESULT_NO_MATCHING_PLATFORM
	ErrUnsafeLayoutPath   Code = C.CS_RESULT_UNSAFE_LAYOUT_PATH
	ErrBadLayout          Code = C.CS_RESULT_BAD_LAYOUT
	ErrReferenceUnknown   Code = C.CS_RESULT_REFERENCE_UNKNOWN
)

// Error is the name of the code, "CS_RESULT_LAYER_UNKNOWN".
func (c Code) Error() string {
	if name := C.cs_result_name(C.cs_result(c)); name != nil {
		return C.GoString(name)
	}
	return fmt.Sprintf("cs_result %d", int32(c))
}

// Error is a failed call: the library's code, errno and message, and the Go error behind it
// when one of our callbacks failed (a reader's error, a context's cancellation).
type Error struct {
	Code    Code
	Errno   syscall.Errno // 0 when no system call or callback failed
	Message string
	cause   error
}

func (e *Error) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code.Error(), e.Message, e.cause)
	}
	return fmt.Sprintf("%s: %s", e.Code.Error(), e.Message)
}

// Is matches the error's Code: errors.Is(err, cstorage.ErrImageUnknown).
func (e *Error) Is(target error) bool {
	code, ok := target.(Code)
	return ok && code == e.Code
}

// Unwrap gives the Go error behind a callback failure, else the errno (so that
// errors.Is(err, fs.ErrNotExist) works), else nil.
func (e *Error) Unwrap() error {
	if e.cause != nil {
		return e.cause
	}
	if e.Errno != 0 {
		return e.Errno
	}
	return nil
}

// takeError converts and frees an error the library returned.
func takeError(code C.cs_result, cerr *C.cs_error) error {
	if code == C.CS_RESULT_OK {
		return nil
	}
	defer C.cs_error_free(cerr)
	e := &Error{Code: Code(code), Message: "(no message)"}
	if cerr != nil {
		e.Errno = syscall.Errno(C.cs_error_errno(cerr))
		e.Message = C.GoString(C.cs_error_message(cerr))
	}
	return e
}

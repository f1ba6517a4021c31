package cstorage

/*
#include <stdint.h>
#include <cstorage.h>

// The Go progress callback of check_progress.go, handed to the library with a cgo.Handle (a
// uintptr) as userdata.
extern int32_t cstorageGoCheckProgress(void *userdata, cs_check_step step, size_t done, size_t total);

static cs_result go_check_options_set_progress(cs_check_options *o, uintptr_t h, cs_error **e) {
	return cs_check_options_set_progress(o, cstorageGoCheckProgress, (void *)h, e);
}
*/
import "C"

import (
	"context"
	"errors"
	"runtime/cgo"
	"time"
)

// CheckSection says which kind of record a part of a CheckReport is about.
type CheckSection int32

// The report's sections, numbered as the header numbers them.
const (
	CheckLayers         CheckSection = C.CS_CHECK_SECTION_LAYERS
	CheckReadOnlyLayers CheckSection = C.CS_CHECK_SECTION_READ_ONLY_LAYERS // of additional image stores; never repaired
	CheckImages         CheckSection = C.CS_CHECK_SECTION_IMAGES
	CheckReadOnlyImages CheckSection = C.CS_CHECK_SECTION_READ_ONLY_IMAGES // of additional image stores; never repaired
	CheckContainers     CheckSection = C.CS_CHECK_SECTION_CONTAINERS
)

// CheckProblem is the kind of one problem Check found (c/storage's error of that kind is
// named after each); new kinds are only appended.
type CheckProblem int32

const (
	ProblemOther                      CheckProblem = C.CS_CHECK_PROBLEM_OTHER
	ProblemLayerDataMissing           CheckProblem = C.CS_CHECK_PROBLEM_LAYER_DATA_MISSING
	ProblemLayerMissing               CheckProblem = C.CS_CHECK_PROBLEM_LAYER_MISSING
	ProblemLayerDirectoryMissing      CheckProblem = C.CS_CHECK_PROBLEM_LAYER_DIRECTORY_MISSING
	ProblemLayerUnreferenced          CheckProblem = C.CS_CHECK_PROBLEM_LAYER_UNREFERENCED
	ProblemLayerUnaccounted           CheckProblem = C.CS_CHECK_PROBLEM_LAYER_UNACCOUNTED
	ProblemLayerIncorrectDigest       CheckProblem = C.CS_CHECK_PROBLEM_LAYER_INCORRECT_DIGEST
	ProblemLayerIncorrectSize         CheckProblem = C.CS_CHECK_PROBLEM_LAYER_INCORRECT_SIZE
	ProblemLayerContentModified       CheckProblem = C.CS_CHECK_PROBLEM_LAYER_CONTENT_MODIFIED
	ProblemLayerUnusable              CheckProblem = C.CS_CHECK_PROBLEM_LAYER_UNUSABLE
	ProblemImageDataMissing           CheckProblem = C.CS_CHECK_PROBLEM_IMAGE_DATA_MISSING
	ProblemImageDataIncorrectSize     CheckProblem = C.CS_CHECK_PROBLEM_IMAGE_DATA_INCORRECT_SIZE
	ProblemImageLayerMissing          CheckProblem = C.CS_CHECK_PROBLEM_IMAGE_LAYER_MISSING
	ProblemContainerDataMissing       CheckProblem = C.CS_CHECK_PROBLEM_CONTAINER_DATA_MISSING
	ProblemContainerDataIncorrectSize CheckProblem = C.CS_CHECK_PROBLEM_CONTAINER_DATA_INCORRECT_SIZE
	ProblemContainerImageMissing      CheckProblem = C.CS_CHECK_PROBLEM_CONTAINER_IMAGE_MISSING
	ProblemContainerLayerMissing      CheckProblem = C.CS_CHECK_PROBLEM_CONTAINER_LAYER_MISSING
	ProblemInvalidID                  CheckProblem = C.CS_CHECK_PROBLEM_INVALID_ID
)

// CheckStep is a step of a check, numbered in the order the steps run (new steps are only
// appended).
type CheckStep int32

const (
	CheckStepLayers               CheckStep = C.CS_CHECK_STEP_LAYERS         // data items and diffs of the store's layers (the long step)
	CheckStepLayerContents        CheckStep = C.CS_CHECK_STEP_LAYER_CONTENTS // layers mounted; in a full check, files compared with diffs
	CheckStepReadOnlyLayers       CheckStep = C.CS_CHECK_STEP_READ_ONLY_LAYERS
	CheckStepImages               CheckStep = C.CS_CHECK_STEP_IMAGES
	CheckStepReadOnlyImages       CheckStep = C.CS_CHECK_STEP_READ_ONLY_IMAGES
	CheckStepContainers           CheckStep = C.CS_CHECK_STEP_CONTAINERS
	CheckStepUnaccountedLayerDirs CheckStep = C.CS_CHECK_STEP_UNACCOUNTED_LAYER_DIRS // driver directories, for those no record owns
)

// CheckProgressFunc hears that done of the total items of step are checked: at the start of
// each step (done 0), after each item, and again with the same counts while a big layer's
// diff is read. It runs on the checking goroutine, during the call only.
type CheckProgressFunc func(step CheckStep, done, total int)

// Problem is one thing wrong with a record, worded as c/storage words it.
type Problem struct {
	Kind    CheckProblem
	Message string
}

// DamagedRecord is a record Check found problems with (ID is a directory name for a
// directory no record owns).
type DamagedRecord struct {
	ID       string
	Problems []Problem
}

// CheckReport is what Check found, copied out of the library's report (freed before Check
// returns: the Go side never keeps a C pointer). It remembers how it was made, so that Repair
// can check again the same way.
type CheckReport struct {
	Sections map[CheckSection][]DamagedRecord // only the sections with damaged records
	JSON     string                           // as c/storage's `check --json` writes it
	clean    bool
	full     bool
	maxAge   time.Duration
}

// Clean tells whether Check found nothing.
func (r *CheckReport) Clean() bool { return r.clean }

// Check is c/storage 1.57's Check: full adds the comparison of every layer's contents with
// its diff (CheckEverything; else CheckMost, `check --quick`). A layer no image or container
// uses is reported once older than maxAge (c/storage's default is 24h; whole seconds count).
// Reads only.
func (s *Store) Check(full bool, maxAge time.Duration) (*CheckReport, error) {
	if maxAge < 0 {
		return nil, &Error{Code: ErrInvalidArgument, Message: "Check: maxAge must not be negative"}
	}
	var report *C.cs_check_report
	if err := s.call(func(st *C.cs_store, e **C.cs_error) C.cs_result {
		return C.cs_store_check(st, C.bool(full), C.uint64_t(maxAge/time.Second), &report, e)
	}); err != nil {
		return nil, err
	}
	return goCheckReport(report, full, maxAge)
}

// CheckContext is Check telling progress (may be nil) where it is; cancelling ctx stops the
// check between two items or within a big layer's diff, and the error then matches both
// ErrCancelled and ctx.Err(). A check only reads: a cancelled one changes nothing.
func (s *Store) CheckContext(ctx context.Context, full bool, maxAge time.Duration, progress CheckProgressFunc) (*CheckReport, error) {
	if maxAge < 0 {
		return nil, &Error{Code: ErrInvalidArgument, Message: "CheckContext: maxAge must not be negative"}
	}
	copts := C.cs_check_options_new()
	if copts == nil {
		return nil, &Error{Code: ErrPanic, Message: "cs_check_options_new failed"}
	}
	defer C.cs_check_options_free(copts)
	st := &checkProgress{ctx: ctx, progress: progress}
	h := cgo.NewHandle(st)
	defer h.Delete()
	var report *C.cs_check_report
	err := check(
		func(e **C.cs_error) C.cs_result { return C.cs_check_options_set_full(copts, C.bool(full), e) },
		func(e **C.cs_error) C.cs_result {
			return C.cs_check_options_set_unreferenced_layer_max_age(copts, C.uint64_t(maxAge/time.Second), e)
		},
		func(e **C.cs_error) C.cs_result { return C.go_check_options_set_progress(copts, C.uintptr_t(h), e) },
	)
	if err == nil {
		err = s.call(func(cs *C.cs_store, e **C.cs_error) C.cs_result {
			return C.cs_store_check_with_options(cs, copts, &report, e)
		})
	}
	var cerr *Error
	if st.failure != nil && errors.As(err, &cerr) {
		cerr.cause = st.failure
	}
	if err != nil {
		return nil, err
	}
	return goCheckReport(report, full, maxAge)
}

// goCheckReport copies the library's report out and frees it.
func goCheckReport(report *C.cs_check_report, full bool, maxAge time.Duration) (*CheckReport, error) {
	defer C.cs_check_report_free(report)
	out := &CheckReport{Sections: map[CheckSection][]DamagedRecord{}, clean: bool(C.cs_check_report_is_clean(report)), full: full, maxAge: maxAge}
	for section := CheckLayers; section <= CheckContainers; section++ {
		if records := goDamagedRecords(report, section); len(records) > 0 {
			out.Sections[section] = records
		}
	}
	var json *C.char
	if err := check(func(e **C.cs_error) C.cs_result { return C.cs_check_report_json(report, &json, e) }); err != nil {
		return nil, err
	}
	out.JSON = takeString(json)
	return out, nil
}

func goDamagedRecords(report *C.cs_check_report, section CheckSection) []DamagedRecord {
	sec := C.cs_check_section(section)
	var records []DamagedRecord
	for i := C.size_t(0); i < C.cs_check_report_count(report, sec); i++ {
		record := DamagedRecord{ID: goString(C.cs_check_report_id(report, sec, i))}
		for p := C.size_t(0); p < C.cs_check_report_problem_count(report, sec, i); p++ {
			record.Problems = append(record.Problems, Problem{
				Kind:    CheckProblem(C.cs_check_report_problem_kind(report, sec, i, p)),
				Message: goString(C.cs_check_report_problem_message(report, sec, i, p)),
			})
		}
		records = append(records, record)
	}
	return records
}

// Repair is c/storage 1.57's Repair: damaged containers (only with removeContainers), damaged
// images and layers, driver directories no record owns; never anything of an additional
// image store. It checks again as report was made and repairs what that check finds, within
// one call (the store may have changed since report; a repair acts on what is there now, as
// `containers-storage check -r` does). Returns one line per removal; when a removal fails the
// others are still made and the first failure is returned with the lines.
func (s *Store) Repair(report *CheckReport, removeContainers bool) ([]string, error) {
	if report == nil {
		return nil, &Error{Code: ErrNullParameter, Message: "Repair needs a report from Check"}
	}
	var actions C.cs_strarray
	err := s.call(func(st *C.cs_store, e **C.cs_error) C.cs_result {
		var fresh *C.cs_check_report
		if rc := C.cs_store_check(st, C.bool(report.full), C.uint64_t(report.maxAge/time.Second), &fresh, e); rc != C.CS_RESULT_OK {
			return rc
		}
		defer C.cs_check_report_free(fresh)
		return C.cs_store_repair(st, fresh, C.bool(removeContainers), &actions, e)
	})
	return takeStrings(&actions), err
}

// GC is c/storage 1.57's GarbageCollect: removes container, image and layer directories no
// record owns and tar-splits killed imports left; returns the removed paths.
func (s *Store) GC() ([]string, error) {
	var removed C.cs_strarray
	err := s.call(func(st *C.cs_store, e **C.cs_error) C.cs_result {
		return C.cs_store_gc(st, &removed, e)
	})
	return takeStrings(&removed), err
}

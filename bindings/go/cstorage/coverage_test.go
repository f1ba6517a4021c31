package cstorage

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// unbound lists the header's functions the Go package deliberately does not call, with why.
var unbound = map[string]string{
	"cs_result_name":                       "Code.Error calls it; listed for clarity",
	"cs_error_code":                        "the call's return value is the code",
	"cs_strarray_dispose":                  "called by takeStrings",
	"cs_image_import_options_set_progress": "ImportOCI offers no progress or cancel yet (a cgo trampoline like the stream ones)",
}

// Every function of the installed header is called by the package (or listed in unbound):
// a function added to the C API without a Go binding fails here.
func TestEveryHeaderFunctionIsBound(t *testing.T) {
	header, err := os.ReadFile(headerPath(t))
	must(t, err)
	functions := regexp.MustCompile(`(?m)^[a-z][a-z0-9_ *]*?\b(cs_[a-z0-9_]+)\(`).FindAllSubmatch(header, -1)
	if len(functions) < 150 {
		t.Fatalf("only %d functions found in %s", len(functions), headerPath(t))
	}
	var source strings.Builder
	files, err := filepath.Glob("*.go")
	must(t, err)
	for _, f := range files {
		if !strings.HasSuffix(f, "_test.go") {
			text, err := os.ReadFile(f)
			must(t, err)
			source.Write(text)
		}
	}
	var missing []string
	for _, f := range functions {
		name := string(f[1])
		if _, ok := unbound[name]; ok {
			continue
		}
		if !regexp.MustCompile(`\b` + name + `\(`).MatchString(source.String()) {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	for _, name := range missing {
		t.Errorf("%s is in %s but the Go package never calls it: add a method that calls C.%s "+
			"(a store call goes through s.call, see store.go), a test for it, or list it in unbound "+
			"in coverage_test.go with the reason", name, headerPath(t), name)
	}
}

// headerPath is the header the package is built against: the installed one ($CSTORAGE_HEADER,
// set by make check), else the repository's.
func headerPath(t *testing.T) string {
	if path := os.Getenv("CSTORAGE_HEADER"); path != "" {
		return path
	}
	return filepath.Join("..", "..", "..", "include", "cstorage.h")
}

func atoi(t *testing.T, s string) int32 {
	n, err := strconv.Atoi(s)
	must(t, err)
	return int32(n)
}

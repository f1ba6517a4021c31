package cstorage

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Check, Repair and GC on a real vfs store damaged with real files: a layer's directory
// removed, a directory no record owns, a tar-split a killed import left.
func TestCheckRepairGC(t *testing.T) {
	s := openStore(t, "vfs")
	base, err := s.ImportLayer(context.Background(), bytes.NewReader(layerTar(t, map[string]string{"etc/motd": "hi\n"})), nil)
	must(t, err)
	_, err = s.CreateImage(base.ID, &ImageOptions{Names: []string{"kept"}})
	must(t, err)

	report, err := s.Check(true, 24*time.Hour)
	must(t, err)
	if !report.Clean() || len(report.Sections) != 0 {
		t.Fatalf("a new store is not clean: %+v", report.Sections)
	}

	lone, err := s.CreateLayer(nil)
	must(t, err)
	must(t, os.RemoveAll(filepath.Join(s.GraphRoot(), "vfs", "dir", lone.ID)))
	stray := strings.Repeat("5", 64)
	must(t, os.Mkdir(filepath.Join(s.GraphRoot(), "vfs", "dir", stray), 0o700))

	report, err = s.Check(false, 24*time.Hour)
	must(t, err)
	layers := report.Sections[CheckLayers]
	if report.Clean() || len(report.Sections) != 1 || len(layers) != 2 {
		t.Fatalf("want the lone layer and the stray directory in the layers section, got %+v", report.Sections)
	}
	found := map[string]Problem{}
	for _, record := range layers {
		if len(record.Problems) != 1 {
			t.Fatalf("%s: want one problem, got %+v", record.ID, record.Problems)
		}
		found[record.ID] = record.Problems[0]
	}
	if p := found[lone.ID]; p.Kind != ProblemLayerDirectoryMissing || p.Message == "" {
		t.Errorf("layer without its directory: got %+v", p)
	}
	if p := found[stray]; p.Kind != ProblemLayerUnaccounted || !strings.Contains(p.Message, "not accounted for") {
		t.Errorf("unowned directory: got %+v", p)
	}
	if !strings.Contains(report.JSON, lone.ID) || !strings.Contains(report.JSON, `"ROLayers":{}`) {
		t.Errorf("JSON does not name the damage as c/storage does: %s", report.JSON)
	}

	actions, err := s.Repair(report, false)
	must(t, err)
	if len(actions) != 2 || !strings.Contains(strings.Join(actions, "\n"), lone.ID) {
		t.Errorf("Repair actions: %q", actions)
	}
	if _, err := s.Layer(lone.ID); !errors.Is(err, ErrLayerUnknown) {
		t.Errorf("the damaged layer is still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(s.GraphRoot(), "vfs", "dir", stray)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the unowned directory is still there: %v", err)
	}
	report, err = s.Check(true, 0)
	must(t, err)
	if !report.Clean() {
		t.Errorf("not clean after Repair: %+v", report.Sections)
	}
	if _, err := s.Repair(nil, false); !errors.Is(err, ErrNullParameter) {
		t.Errorf("Repair(nil): %v", err)
	}
	if _, err := s.Check(false, -time.Second); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("Check with a negative age: %v", err)
	}

	leftover := filepath.Join(s.GraphRoot(), "vfs-layers", strings.Repeat("7", 64)+".tar-split.gz.tmp")
	must(t, os.WriteFile(leftover, nil, 0o600))
	removed, err := s.GC()
	must(t, err)
	if len(removed) != 1 || removed[0] != leftover {
		t.Errorf("GC removed %q, want %q", removed, leftover)
	}
	removed, err = s.GC()
	must(t, err)
	if len(removed) != 0 {
		t.Errorf("a second GC removed %q", removed)
	}
	if _, err := s.Image("kept"); err != nil {
		t.Errorf("Repair or GC touched a sound image: %v", err)
	}
}

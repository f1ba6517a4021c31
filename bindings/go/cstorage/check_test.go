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

// CheckContext on a real vfs store: every step heard in order, from 0 to its total; the same
// report as Check; a cancelled context stops it with an error that is both ErrCancelled and
// context.Canceled, the store untouched.
func TestCheckContextProgressAndCancel(t *testing.T) {
	s := openStore(t, "vfs")
	base, err := s.ImportLayer(context.Background(), bytes.NewReader(layerTar(t, map[string]string{"etc/motd": "hi\n"})), nil)
	must(t, err)
	_, err = s.CreateImage(base.ID, &ImageOptions{Names: []string{"kept"}})
	must(t, err)
	stray := filepath.Join(s.GraphRoot(), "vfs", "dir", strings.Repeat("5", 64))
	must(t, os.Mkdir(stray, 0o700))

	type event struct {
		step        CheckStep
		done, total int
	}
	var heard []event
	report, err := s.CheckContext(context.Background(), true, time.Hour, func(step CheckStep, done, total int) {
		heard = append(heard, event{step, done, total})
	})
	must(t, err)
	plain, err := s.Check(true, time.Hour)
	must(t, err)
	if report.JSON != plain.JSON || len(report.Sections[CheckLayers]) != 1 {
		t.Errorf("CheckContext's report %s, Check's %s", report.JSON, plain.JSON)
	}
	// One layer, one image, two driver directories (the stray one too).
	totals := map[CheckStep]int{CheckStepLayers: 1, CheckStepLayerContents: 1, CheckStepReadOnlyLayers: 0, CheckStepImages: 1,
		CheckStepReadOnlyImages: 0, CheckStepContainers: 0, CheckStepUnaccountedLayerDirs: 2}
	last := map[CheckStep]int{}
	for i, e := range heard {
		if i > 0 && (e.step < heard[i-1].step || e.step == heard[i-1].step && e.done < heard[i-1].done) {
			t.Fatalf("went back at %d: %+v", i, heard)
		}
		if _, seen := last[e.step]; !seen && e.done != 0 || e.total != totals[e.step] {
			t.Fatalf("step %d starts at %d of %d, want 0 of %d", e.step, e.done, e.total, totals[e.step])
		}
		last[e.step] = e.done
	}
	for step, total := range totals {
		if done, seen := last[step]; !seen || done != total {
			t.Errorf("step %d ended at %d (heard: %v), want %d", step, done, seen, total)
		}
	}

	// Cancelled when the images step starts: nothing heard after the next question.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	heard = nil
	_, err = s.CheckContext(ctx, true, time.Hour, func(step CheckStep, done, total int) {
		heard = append(heard, event{step, done, total})
		if step == CheckStepImages {
			cancel()
		}
	})
	if !errors.Is(err, ErrCancelled) || !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled check: %v", err)
	}
	if end := heard[len(heard)-1]; end.step != CheckStepImages || end.done != 0 {
		t.Errorf("heard after the cancel: %+v", heard)
	}
	// An already cancelled context stops at the first question; nil progress is fine.
	if _, err := s.CheckContext(ctx, false, time.Hour, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("a check with a cancelled context: %v", err)
	}
	if _, err := os.Stat(stray); err != nil {
		t.Errorf("a cancelled check touched the store: %v", err)
	}
	if _, err := s.CheckContext(context.Background(), false, -time.Second, nil); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("CheckContext with a negative age: %v", err)
	}
}

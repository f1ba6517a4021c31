package cstorage

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"regexp"
	"runtime"
	"sync"
	"syscall"
	"testing"
)

// Every failure the library reports reaches Go as an *Error matching its code, with the
// library's message; the cases cover every code a store call can produce here.
func TestErrorsCarryTheirCode(t *testing.T) {
	s := openStore(t, "vfs")
	ctx := context.Background()
	tarball := layerTar(t, map[string]string{"etc/motd": "x\n"})
	_, err := s.ImportLayer(ctx, bytes.NewReader(tarball), &LayerOptions{Names: []string{"base"}})
	must(t, err)
	_, err = s.CreateLayer(&LayerOptions{Parent: "base", Names: []string{"child"}})
	must(t, err)
	image, err := s.CreateImage("child", &ImageOptions{Names: []string{"img"}})
	must(t, err)
	container, err := s.CreateContainer("img", &ContainerOptions{Names: []string{"ctr"}})
	must(t, err)
	lone, err := s.CreateLayer(nil)
	must(t, err)
	_, err = s.CreateImage(lone.ID, &ImageOptions{Names: []string{"lone"}})
	must(t, err)

	cases := []struct {
		code Code
		call func() error
	}{
		{ErrLayerUnknown, func() error { _, err := s.Layer("nosuch"); return err }},
		{ErrImageUnknown, func() error { _, err := s.Image("nosuch"); return err }},
		{ErrContainerUnknown, func() error { _, err := s.Container("nosuch"); return err }},
		{ErrNotAnID, func() error { _, err := s.Lookup("nosuch"); return err }},
		{ErrDuplicateID, func() error { _, err := s.CreateImage("", &ImageOptions{ID: image.ID}); return err }},
		{ErrDuplicateName, func() error { _, err := s.CreateLayer(&LayerOptions{Names: []string{"base"}}); return err }},
		{ErrLayerHasChildren, func() error { return s.DeleteLayer("base") }},
		{ErrLayerUsedByImage, func() error { return s.DeleteLayer(lone.ID) }},
		{ErrLayerUsedByContainer, func() error { return s.DeleteLayer(container.Layer) }},
		{ErrImageUsedByContainer, func() error { _, err := s.DeleteImage("img", true); return err }},
		{ErrLayerNotMounted, func() error { _, err := s.Unmount(KindLayer, "base", false); return err }},
		{ErrSizeUnknown, func() error { _, err := s.Size(KindLayer, "child"); return err }},
		{ErrBigDataUnknown, func() error { _, err := s.BigData(KindImage, "img", "nosuch"); return err }},
		{ErrNotSupported, func() error { _, err := s.Mounted(KindImage, "img"); return err }},
		{ErrParentIsContainer, func() error { _, err := s.CreateLayer(&LayerOptions{Parent: container.Layer}); return err }},
		{ErrInvalidArgument, func() error { return s.SetMetadata("base", "bad \xc3 utf-8") }},
		{ErrInvalidArgument, func() error { return s.SetBigData(KindImage, "img", "", nil) }},
		{ErrDigestMismatch, func() error {
			_, err := s.ImportLayer(ctx, bytes.NewReader(tarball), &LayerOptions{UncompressedDigest: "sha256:" + string(bytes.Repeat([]byte("0"), 64))})
			return err
		}},
		{ErrBadArchive, func() error {
			_, err := s.ImportLayer(ctx, bytes.NewReader(bytes.Repeat([]byte("not a tar "), 100)), nil)
			return err
		}},
		{ErrCallbackFailed, func() error { _, err := s.ImportLayer(ctx, failingReader{}, nil); return err }},
		{ErrConfig, func() error {
			_, err := Open(Options{GraphRoot: t.TempDir(), RunRoot: t.TempDir(), Driver: "vfs", AdditionalImageStores: []string{"relative/path"}})
			return err
		}},
		{ErrStoreReadOnly, func() error {
			ro, err := Open(Options{GraphRoot: s.GraphRoot(), RunRoot: s.RunRoot(), Driver: "vfs", ReadOnly: true})
			if err != nil {
				return err
			}
			defer ro.Close()
			return ro.SetMetadata("base", "x")
		}},
	}
	for _, c := range cases {
		err := c.call()
		var cerr *Error
		if !errors.Is(err, c.code) || !errors.As(err, &cerr) || cerr.Message == "" {
			t.Errorf("want %v, got %#v", c.code, err)
		}
	}
	// The failures changed nothing.
	layers, images, containers, err := s.MultiList()
	must(t, err)
	if len(layers) != 4 || len(images) != 2 || len(containers) != 1 {
		t.Fatalf("store changed: %d layers, %d images, %d containers", len(layers), len(images), len(containers))
	}
}

// Every code in the header has its Go constant, named as the library names it.
func TestEveryHeaderCodeIsMapped(t *testing.T) {
	header, err := os.ReadFile(headerPath(t))
	must(t, err)
	mapped := map[int32]bool{}
	for _, c := range allCodes {
		mapped[int32(c)] = true
	}
	defines := regexp.MustCompile(`(?m)^#define (CS_RESULT_[A-Z_]+) (-?\d+)$`).FindAllSubmatch(header, -1)
	if len(defines) < 30 {
		t.Fatalf("only %d CS_RESULT_ codes found in the header", len(defines))
	}
	for _, d := range defines {
		name, value := string(d[1]), atoi(t, string(d[2]))
		if value == 0 {
			continue
		}
		if !mapped[value] {
			t.Errorf("%s (%d) has no Go constant: add `Err...  Code = C.%s` to errors.go and to allCodes", name, value, name)
		} else if got := Code(value).Error(); got != name {
			t.Errorf("Code(%d).Error() = %q, want %q", value, got, name)
		}
	}
}

var allCodes = []Code{ErrLayerUnknown, ErrImageUnknown, ErrContainerUnknown, ErrNotAnID, ErrDuplicateID,
	ErrDuplicateName, ErrLayerHasChildren, ErrLayerUsedByImage, ErrLayerUsedByContainer,
	ErrImageUsedByContainer, ErrLayerNotMounted, ErrStoreReadOnly, ErrNotSupported, ErrSizeUnknown,
	ErrBigDataUnknown, ErrLayerIncomplete, ErrParentIsContainer, ErrMaxDepthExceeded,
	ErrInvalidArgument, ErrNullParameter, ErrIO, ErrCorruptMetadata, ErrDigestMismatch,
	ErrBadArchive, ErrCallbackFailed, ErrCancelled, ErrPanic, ErrConfig, ErrMount,
	ErrBlobSizeMismatch, ErrBlobUnknown, ErrNoMatchingPlatform, ErrUnsafeLayoutPath, ErrBadLayout, ErrReferenceUnknown}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, syscall.EPIPE }

// A reader's own error comes back inside the library's, so errors.Is finds both.
func TestReaderErrorIsWrapped(t *testing.T) {
	s := openStore(t, "vfs")
	_, err := s.ImportLayer(context.Background(), failingReader{}, nil)
	var cerr *Error
	if !errors.As(err, &cerr) || cerr.Errno != syscall.EPIPE || !errors.Is(err, syscall.EPIPE) || !errors.Is(err, ErrCallbackFailed) {
		t.Fatalf("got %#v", err)
	}
}

// A context cancelled during an import stops it and leaves no layer; during an export it
// stops at the next write.
func TestContextCancelsImportsAndExports(t *testing.T) {
	s := openStore(t, "vfs")
	big := layerTar(t, map[string]string{"etc/big": string(bytes.Repeat([]byte("z"), 4<<20))})
	ctx, cancel := context.WithCancel(context.Background())
	reader := &cancellingReader{r: bytes.NewReader(big), after: 1 << 20, cancel: cancel}
	_, err := s.ImportLayer(ctx, reader, nil)
	if !errors.Is(err, context.Canceled) || !(errors.Is(err, ErrCancelled) || errors.Is(err, ErrCallbackFailed)) {
		t.Fatalf("cancelled import: %v", err)
	}
	if layers, _ := s.Layers(); len(layers) != 0 {
		t.Fatalf("a cancelled import left %d layers", len(layers))
	}

	layer, err := s.ImportLayer(context.Background(), bytes.NewReader(big), nil)
	must(t, err)
	ctx, cancel = context.WithCancel(context.Background())
	writer := &cancellingWriter{after: 1 << 20, cancel: cancel}
	err = s.ExportLayer(ctx, layer.ID, writer, nil)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrCallbackFailed) {
		t.Fatalf("cancelled export: %v", err)
	}
	if writer.n >= len(big) {
		t.Fatalf("the export went on after the cancellation (%d bytes)", writer.n)
	}
}

type cancellingReader struct {
	r      io.Reader
	n      int
	after  int
	cancel func()
}

func (c *cancellingReader) Read(p []byte) (int, error) {
	if c.n >= c.after {
		c.cancel()
	}
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

type cancellingWriter struct {
	n      int
	after  int
	cancel func()
}

func (c *cancellingWriter) Write(p []byte) (int, error) {
	c.n += len(p)
	if c.n >= c.after {
		c.cancel()
	}
	return len(p), nil
}

// Errors raised on goroutines pinned to other OS threads than the one that opened the store
// come back whole (no thread-local error state), while other goroutines import concurrently.
func TestErrorsOnOtherThreads(t *testing.T) {
	s := openStore(t, "vfs")
	var wg sync.WaitGroup
	failures := make(chan error, 64)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			for j := 0; j < 4; j++ {
				if i%2 == 0 {
					_, err := s.Image("missing-image")
					var cerr *Error
					if !errors.Is(err, ErrImageUnknown) || !errors.As(err, &cerr) || !bytes.Contains([]byte(cerr.Message), []byte("missing-image")) {
						failures <- err
					}
				} else if _, err := s.ImportLayer(context.Background(), bytes.NewReader(layerTar(t, map[string]string{"etc/n": "x"})), nil); err != nil {
					failures <- err
				}
			}
		}(i)
	}
	wg.Wait()
	close(failures)
	for err := range failures {
		t.Error(err)
	}
	if layers, err := s.Layers(); err != nil || len(layers) != 16 {
		t.Fatalf("%d layers, %v", len(layers), err)
	}
}

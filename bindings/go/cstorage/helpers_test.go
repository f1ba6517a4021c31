package cstorage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"testing"
	"time"
)

// openStore opens a store of the given driver in the test's own temporary directory; it is
// unmounted and closed when the test ends, failed or not.
func openStore(t *testing.T, driver string) *Store {
	t.Helper()
	root := t.TempDir()
	s, err := Open(Options{GraphRoot: root + "/graph", RunRoot: root + "/run", Driver: driver})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if _, err := s.Shutdown(true); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		s.Close()
	})
	return s
}

// layerTar is a real tar stream of a small root file system.
func layerTar(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	when := time.Date(2026, 11, 23, 6, 7, 0, 0, time.UTC)
	must(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "etc/", Mode: 0o755, ModTime: when, Format: tar.FormatPAX}))
	for name, body := range files {
		must(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(body)), ModTime: when, Format: tar.FormatPAX}))
		_, err := tw.Write([]byte(body))
		must(t, err)
	}
	must(t, tw.Close())
	return buf.Bytes()
}

func gzipped(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(data)
	must(t, err)
	must(t, zw.Close())
	return buf.Bytes()
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

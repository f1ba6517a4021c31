package cstorage

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// writeLayout writes an OCI image layout of one gzip layer tagged v1; returns the image ID
// (the config digest's hex) and the layer ID c/image gives a base layer (its DiffID's hex).
func writeLayout(t *testing.T, dir string) (string, string) {
	t.Helper()
	must(t, os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644))
	put := func(data []byte) string {
		hex := fmt.Sprintf("%x", sha256.Sum256(data))
		must(t, os.WriteFile(filepath.Join(dir, "blobs", "sha256", hex), data, 0o644))
		return "sha256:" + hex
	}
	tarData := layerTar(t, map[string]string{"etc/motd": "from an OCI layout\n"})
	blob := gzipped(t, tarData)
	diffID := fmt.Sprintf("sha256:%x", sha256.Sum256(tarData))
	config, _ := json.Marshal(map[string]any{"created": "2020-01-02T03:04:05Z", "os": "linux", "architecture": "amd64",
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{diffID}}})
	configDigest := put(config)
	manifest, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": configDigest, "size": len(config)},
		"layers": []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": put(blob), "size": len(blob)}}})
	index, _ := json.Marshal(map[string]any{"schemaVersion": 2, "manifests": []any{map[string]any{
		"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": put(manifest), "size": len(manifest),
		"annotations": map[string]string{"org.opencontainers.image.ref.name": "v1"}}}})
	must(t, os.WriteFile(filepath.Join(dir, "index.json"), index, 0o644))
	return configDigest[7:], diffID[7:]
}

func TestImportAndExportOCI(t *testing.T) {
	s := openStore(t, "vfs")
	layout := filepath.Join(t.TempDir(), "layout")
	imageID, layerID := writeLayout(t, layout)
	image, err := s.ImportOCI(layout, "v1", &ImportOCIOptions{Names: []string{"localhost/motd:v1"}})
	must(t, err)
	if image.ID != imageID || image.TopLayer != layerID || len(image.Names) != 1 {
		t.Fatalf("imported %+v, want ID %s on layer %s", image, imageID, layerID)
	}
	if _, err := s.ImportOCI(layout, "nosuch", nil); !errors.Is(err, ErrReferenceUnknown) {
		t.Fatalf("unknown tag: %v", err)
	}
	if _, err := s.ImportOCI(layout, "v1", &ImportOCIOptions{Platform: "windows/amd64"}); !errors.Is(err, ErrNoMatchingPlatform) {
		t.Fatalf("other platform: %v", err)
	}
	dir, err := os.Open(layout)
	must(t, err)
	defer dir.Close()
	again, err := s.ImportOCIDir(dir, "v1")
	must(t, err)
	if again.ID != imageID {
		t.Fatalf("by descriptor: %s", again.ID)
	}

	exported := filepath.Join(t.TempDir(), "exported")
	digest, err := s.ExportOCI("localhost/motd:v1", exported, "out", Uncompressed)
	must(t, err)
	if len(digest) != 71 {
		t.Fatalf("manifest digest %q", digest)
	}
	other := openStore(t, "vfs")
	back, err := other.ImportOCI(exported, "out", nil)
	must(t, err)
	if back.ID != imageID || back.TopLayer != layerID {
		t.Fatalf("re-imported %+v", back)
	}
}

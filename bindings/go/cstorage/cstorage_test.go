package cstorage

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func TestOpenReportsTheStore(t *testing.T) {
	s := openStore(t, "vfs")
	if s.DriverName() != "vfs" || !strings.HasSuffix(s.GraphRoot(), "/graph") || !strings.HasSuffix(s.RunRoot(), "/run") {
		t.Fatalf("driver %q graph %q run %q", s.DriverName(), s.GraphRoot(), s.RunRoot())
	}
	if _, err := os.Stat(filepath.Join(s.GraphRoot(), "vfs-layers", "layers.lock")); err != nil {
		t.Fatalf("the store was not created on disk: %v", err)
	}
	if s.CompatLevel() != "1.57" {
		t.Fatalf("compat level %q", s.CompatLevel())
	}
	version, err := s.Version()
	must(t, err)
	if len(version) == 0 || LibraryVersion() == "" || ABIVersion() != 0 {
		t.Fatalf("version %v, library %q, ABI %d", version, LibraryVersion(), ABIVersion())
	}
}

func TestImportFromAReaderExportsByteIdentical(t *testing.T) {
	s := openStore(t, "vfs")
	plain := layerTar(t, map[string]string{"etc/motd": "hello\n", "etc/hostname": "box\n"})
	var progressed uint64
	layer, err := s.ImportLayer(context.Background(), bytes.NewReader(plain), &LayerOptions{
		Names:    []string{"base"},
		Progress: func(done, total uint64) { progressed = done },
	})
	must(t, err)
	if want := fmt.Sprintf("sha256:%x", sha256.Sum256(plain)); layer.UncompressedDigest != want {
		t.Fatalf("diff ID %s, want %s", layer.UncompressedDigest, want)
	}
	if progressed != uint64(len(plain)) {
		t.Fatalf("progress saw %d of %d bytes", progressed, len(plain))
	}
	if !reflect.DeepEqual(layer.Names, []string{"base"}) || layer.UncompressedSize != int64(len(plain)) {
		t.Fatalf("layer %+v", layer)
	}
	var out bytes.Buffer
	must(t, s.ExportLayer(context.Background(), "base", &out, nil))
	if !bytes.Equal(out.Bytes(), plain) {
		t.Fatalf("export differs from the imported tar (%d vs %d bytes)", out.Len(), len(plain))
	}
}

func TestImportFromAFileExportsTheTarByteIdentical(t *testing.T) {
	s := openStore(t, "vfs")
	plain := layerTar(t, map[string]string{"etc/motd": "zipped\n"})
	compressed := gzipped(t, plain)
	path := filepath.Join(t.TempDir(), "layer.tar.gz")
	must(t, os.WriteFile(path, compressed, 0o644))
	f, err := os.Open(path)
	must(t, err)
	defer f.Close()
	layer, err := s.ImportLayer(context.Background(), f, nil)
	must(t, err)
	if want := fmt.Sprintf("sha256:%x", sha256.Sum256(compressed)); layer.CompressedDigest != want {
		t.Fatalf("compressed digest %s, want %s", layer.CompressedDigest, want)
	}
	// Uncompressed to a file (the library writes it), and as stored through callbacks.
	exported := filepath.Join(t.TempDir(), "export.tar")
	out, err := os.Create(exported)
	must(t, err)
	must(t, s.ExportLayer(context.Background(), layer.ID, out, &ExportOptions{Compression: Uncompressed}))
	must(t, out.Close())
	got, err := os.ReadFile(exported)
	must(t, err)
	if !bytes.Equal(got, plain) {
		t.Fatalf("uncompressed export differs from the tar (%d vs %d bytes)", len(got), len(plain))
	}
	var asStored bytes.Buffer
	must(t, s.ExportLayer(context.Background(), layer.ID, &asStored, nil))
	zr, err := gzip.NewReader(&asStored)
	must(t, err)
	unzipped, err := io.ReadAll(zr)
	must(t, err)
	if !bytes.Equal(unzipped, plain) {
		t.Fatalf("the gzip export does not hold the imported tar")
	}
}

func TestImagesContainersNamesAndBigData(t *testing.T) {
	s := openStore(t, "vfs")
	base, err := s.ImportLayer(context.Background(), bytes.NewReader(layerTar(t, map[string]string{"etc/motd": "hi\n"})), nil)
	must(t, err)
	manifest := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}`)
	image, err := s.CreateImage(base.ID, &ImageOptions{
		Names: []string{"example.com/app:1"}, Metadata: "meta",
		BigData: map[string][]byte{"manifest": manifest},
	})
	must(t, err)
	if image.TopLayer != base.ID || image.Metadata != "meta" || !reflect.DeepEqual(image.BigDataNames, []string{"manifest"}) {
		t.Fatalf("image %+v", image)
	}
	if want := fmt.Sprintf("sha256:%x", sha256.Sum256(manifest)); image.Digest != want {
		t.Fatalf("image digest %s, want %s", image.Digest, want)
	}
	container, err := s.CreateContainer("example.com/app:1", &ContainerOptions{Names: []string{"web"}})
	must(t, err)
	if container.Image != image.ID || container.Layer == "" {
		t.Fatalf("container %+v", container)
	}

	// Mount, write, see the change, unmount.
	root, err := s.Mount(KindContainer, "web", "")
	must(t, err)
	must(t, os.WriteFile(filepath.Join(root, "etc", "added"), []byte("new\n"), 0o644))
	count, err := s.Mounted(KindContainer, "web")
	must(t, err)
	if count != 1 {
		t.Fatalf("mount count %d", count)
	}
	changes, err := s.Changes("", container.Layer)
	must(t, err)
	if !reflect.DeepEqual(changes, []Change{{"/etc", ChangeModify}, {"/etc/added", ChangeAdd}}) {
		t.Fatalf("changes %+v", changes)
	}
	still, err := s.Unmount(KindContainer, "web", false)
	must(t, err)
	if still {
		t.Fatal("still mounted after the only unmount")
	}

	// Names and metadata on any record.
	must(t, s.AddNames("web", []string{"web2", "web3"}))
	must(t, s.RemoveNames("web", []string{"web2"}))
	names, err := s.Names("web3")
	must(t, err)
	if !reflect.DeepEqual(names, []string{"web", "web3"}) {
		t.Fatalf("names %v", names)
	}
	must(t, s.SetNames(base.ID, []string{"base"}))
	must(t, s.SetMetadata("base", "layer meta"))
	if meta, err := s.Metadata("base"); err != nil || meta != "layer meta" {
		t.Fatalf("metadata %q %v", meta, err)
	}
	if id, err := s.Lookup("web3"); err != nil || id != container.ID {
		t.Fatalf("lookup %q %v", id, err)
	}

	// Big data on all three kinds.
	for _, kind := range []Kind{KindLayer, KindImage, KindContainer} {
		key := map[Kind]string{KindLayer: "base", KindImage: image.ID, KindContainer: "web"}[kind]
		must(t, s.SetBigData(kind, key, "blob", []byte("data of "+kind.String())))
		got, err := s.BigData(kind, key, "blob")
		must(t, err)
		if string(got) != "data of "+kind.String() {
			t.Fatalf("%s big data %q", kind, got)
		}
		keys, err := s.BigDataNames(kind, key)
		must(t, err)
		if !contains(keys, "blob") {
			t.Fatalf("%s big-data keys %v", kind, keys)
		}
	}
	if size, err := s.BigDataSize(KindImage, image.ID, "manifest"); err != nil || size != int64(len(manifest)) {
		t.Fatalf("big-data size %d %v", size, err)
	}

	// Deletion rules, then the image takes its now unused layer along.
	if _, err := s.DeleteImage(image.ID, true); !errors.Is(err, ErrImageUsedByContainer) {
		t.Fatalf("deleting a used image: %v", err)
	}
	must(t, s.DeleteContainer("web"))
	removed, err := s.DeleteImage(image.ID, true)
	must(t, err)
	if !reflect.DeepEqual(removed, []string{base.ID}) {
		t.Fatalf("removed %v", removed)
	}
	layers, images, containers, err := s.MultiList()
	must(t, err)
	if len(layers)+len(images)+len(containers) != 0 {
		t.Fatalf("left: %v %v %v", layers, images, containers)
	}
}

func TestOverlayMountIsARealMount(t *testing.T) {
	s := openStore(t, "overlay")
	_, err := s.ImportLayer(context.Background(), bytes.NewReader(layerTar(t, map[string]string{"etc/motd": "lower\n"})), &LayerOptions{Names: []string{"base"}})
	must(t, err)
	top, err := s.CreateLayer(&LayerOptions{Parent: "base", Writeable: true})
	must(t, err)
	root, err := s.Mount(KindLayer, top.ID, "")
	must(t, err)
	if !isMountPoint(t, root) {
		t.Fatalf("%s is not a mount point", root)
	}
	if motd, err := os.ReadFile(filepath.Join(root, "etc", "motd")); err != nil || string(motd) != "lower\n" {
		t.Fatalf("lower layer not visible: %q %v", motd, err)
	}
	_, err = s.Unmount(KindLayer, top.ID, false)
	must(t, err)
	if isMountPoint(t, root) {
		t.Fatalf("%s still mounted", root)
	}
}

func isMountPoint(t *testing.T, path string) bool {
	mountinfo, err := os.ReadFile("/proc/self/mountinfo")
	must(t, err)
	for _, line := range strings.Split(string(mountinfo), "\n") {
		if fields := strings.Fields(line); len(fields) > 4 && fields[4] == path {
			return true
		}
	}
	return false
}

func TestCloseWaitsAndThenRefuses(t *testing.T) {
	root := t.TempDir()
	s, err := Open(Options{GraphRoot: root + "/g", RunRoot: root + "/r", Driver: "vfs"})
	must(t, err)
	must(t, s.Close())
	must(t, s.Close())
	if _, err := s.Layers(); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestLogMessagesReachTheFunction(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "storage.conf")
	must(t, os.WriteFile(conf, []byte("[storage]\ndriver = \"vfs\"\nnosuchkey = \"x\"\n"), 0o644))
	var mu sync.Mutex
	var messages []string
	SetLogFunc(func(level LogLevel, message string) {
		mu.Lock()
		defer mu.Unlock()
		if level == LogWarn {
			messages = append(messages, message)
		}
	}, LogWarn)
	s, err := Open(Options{GraphRoot: dir + "/g", RunRoot: dir + "/r", ConfigFile: conf})
	SetLogFunc(nil, LogWarn)
	must(t, err)
	s.Close()
	mu.Lock()
	defer mu.Unlock()
	if len(messages) != 1 || !strings.Contains(messages[0], "nosuchkey") {
		t.Fatalf("warnings: %q", messages)
	}
}

func TestChainID(t *testing.T) {
	a, b := "sha256:"+strings.Repeat("a", 64), "sha256:"+strings.Repeat("b", 64)
	if got, err := ChainID("", a); err != nil || got != a {
		t.Fatalf("base chain ID %q %v", got, err)
	}
	want := fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(a+" "+b)))
	if got, err := ChainID(a, b); err != nil || got != want {
		t.Fatalf("chain ID %q %v, want %q", got, err, want)
	}
	if _, err := ChainID("", "not a digest"); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("bad digest: %v", err)
	}
}

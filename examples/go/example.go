// The libcstorage example, in Go (the same program is in example.c and example.py): import a
// layer tarball, make an image of it that podman and skopeo can read (OCI config and manifest),
// create a container, mount it and write a file, list the store, export the layer.
//
//	go run . GRAPH_ROOT RUN_ROOT LAYER.tar[.gz] EXPORT.tar [DRIVER]
package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"

	"libcstorage/bindings/go/cstorage"
)

func main() {
	if len(os.Args) < 5 {
		fmt.Fprintln(os.Stderr, "usage: example GRAPH_ROOT RUN_ROOT LAYER.tar[.gz] EXPORT.tar [DRIVER]")
		os.Exit(2)
	}
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(args []string) error {
	driver := "vfs"
	if len(args) > 4 {
		driver = args[4]
	}
	store, err := cstorage.Open(cstorage.Options{GraphRoot: args[0], RunRoot: args[1], Driver: driver})
	if err != nil {
		return err
	}
	defer store.Close()
	ctx := context.Background()

	// The layer, from the tarball.
	tarball, err := os.Open(args[2])
	if err != nil {
		return err
	}
	defer tarball.Close()
	layer, err := store.ImportLayer(ctx, tarball, &cstorage.LayerOptions{Names: []string{"example-base"}})
	if err != nil {
		return err
	}
	fmt.Printf("layer %s %s\n", layer.ID, layer.UncompressedDigest)

	// The image, with the OCI config (stored under its digest) and manifest podman reads.
	config := fmt.Sprintf(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["%s"]}}`, layer.UncompressedDigest)
	configDigest := fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(config)))
	mediaType := "application/vnd.oci.image.layer.v1.tar+gzip"
	if layer.CompressedDigest == layer.UncompressedDigest {
		mediaType = "application/vnd.oci.image.layer.v1.tar"
	}
	manifest := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",`+
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},`+
		`"layers":[{"mediaType":"%s","digest":"%s","size":%d}]}`,
		configDigest, len(config), mediaType, layer.CompressedDigest, layer.CompressedSize)
	image, err := store.CreateImage(layer.ID, &cstorage.ImageOptions{
		Names:   []string{"example.com/example:latest"},
		BigData: map[string][]byte{configDigest: []byte(config), "manifest": []byte(manifest)},
	})
	if err != nil {
		return err
	}
	fmt.Printf("image %s %s\n", image.ID, image.Names[0])

	// A container from the image.
	container, err := store.CreateContainer(image.ID, &cstorage.ContainerOptions{Names: []string{"example"}})
	if err != nil {
		return err
	}
	fmt.Printf("container %s %s\n", container.ID, container.Names[0])

	// Mount it, write a file, unmount.
	root, err := store.Mount(cstorage.KindContainer, "example", "")
	if err != nil {
		return err
	}
	writeErr := os.WriteFile(filepath.Join(root, "etc", "example"), []byte("written by the example\n"), 0o644)
	if _, err := store.Unmount(cstorage.KindContainer, "example", false); err != nil {
		return err
	}
	if writeErr != nil {
		return writeErr
	}
	fmt.Println("wrote /etc/example")

	// List the store: layers, images and containers read together.
	layers, images, containers, err := store.MultiList()
	if err != nil {
		return err
	}
	fmt.Printf("%d layers, %d images, %d containers\n", len(layers), len(images), len(containers))
	for _, c := range containers {
		fmt.Printf("  container %s on layer %s\n", c.Names[0], c.Layer)
	}

	// Export the layer against its parent, uncompressed: the tar inside the tarball it was
	// imported from, byte for byte.
	out, err := os.Create(args[3])
	if err != nil {
		return err
	}
	if err := store.ExportLayer(ctx, layer.ID, out, &cstorage.ExportOptions{Compression: cstorage.Uncompressed}); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	fmt.Printf("exported layer %s\n", layer.ID)
	return nil
}

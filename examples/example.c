/*
 * The libcstorage example, in C (the same program is in example.go and example.py): import a
 * layer tarball, make an image of it that podman and skopeo can read (OCI config and
 * manifest), create a container, mount it and write a file, list the store, export the layer.
 *
 *   cc example.c -o example $(pkg-config --cflags --libs cstorage)
 *   ./example GRAPH_ROOT RUN_ROOT LAYER.tar[.gz] EXPORT.tar [DRIVER]
 */
#include <cstorage.h>

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Every fallible call goes through here: on failure print the error, free it (an error already
 * in *err is kept, not overwritten, so it must be freed and reset before the next call) and stop. */
static cs_error *err = NULL;
static void check(cs_result rc, const char *what) {
    if (rc == CS_RESULT_OK) return;
    fprintf(stderr, "%s: %s: %s\n", what, cs_result_name(rc), cs_error_message(err));
    cs_error_free(err);
    err = NULL;
    exit(1);
}

/* Writes the export to a FILE (the callback form; cs_layer_export_fd takes a descriptor). */
static int32_t write_to_file(void *userdata, const uint8_t *buf, size_t len, size_t *out_n) {
    *out_n = fwrite(buf, 1, len, userdata);
    return *out_n == len ? 0 : 5 /* EIO */;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s GRAPH_ROOT RUN_ROOT LAYER.tar[.gz] EXPORT.tar [DRIVER]\n", argv[0]);
        return 2;
    }
    cs_store_options *options = cs_store_options_new(); /* NULL only if the library panicked */
    check(cs_store_options_set_graph_root(options, argv[1], &err), "graph root");
    check(cs_store_options_set_run_root(options, argv[2], &err), "run root");
    check(cs_store_options_set_driver(options, argc > 5 ? argv[5] : "vfs", &err), "driver");
    cs_store *store = NULL;
    check(cs_store_open(options, &store, &err), "open store");
    cs_store_options_free(options);

    /* The layer, from the tarball (NULL parent: a base layer). */
    cs_layer_options *layer_options = cs_layer_options_new();
    check(cs_layer_options_add_name(layer_options, "example-base", &err), "layer name");
    int fd = open(argv[3], O_RDONLY);
    if (fd < 0) { perror(argv[3]); return 1; }
    cs_layer *layer = NULL;
    check(cs_layer_import_fd(store, layer_options, fd, &layer, &err), "import layer");
    close(fd);
    cs_layer_options_free(layer_options);
    printf("layer %s %s\n", cs_layer_id(layer), cs_layer_uncompressed_digest(layer));

    /* The image, with the OCI config (stored under its digest) and manifest podman reads. C has
     * no sha256 of its own: the library computes the config's digest as it stores it. */
    char config[512], manifest[1024];
    snprintf(config, sizeof config,
             "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}",
             cs_layer_uncompressed_digest(layer));
    cs_image_options *image_options = cs_image_options_new();
    check(cs_image_options_add_name(image_options, "example.com/example:latest", &err), "image name");
    check(cs_image_options_add_big_data(image_options, "config", (const uint8_t *)config, strlen(config), &err), "config");
    cs_image *image = NULL;
    check(cs_image_create(store, cs_layer_id(layer), image_options, &image, &err), "create image");
    cs_image_options_free(image_options);
    char *config_digest = NULL;
    check(cs_image_big_data_digest(store, cs_image_id(image), "config", &config_digest, &err), "config digest");
    check(cs_image_set_big_data(store, cs_image_id(image), config_digest, (const uint8_t *)config, strlen(config), &err), "config");
    bool plain = strcmp(cs_layer_compressed_digest(layer), cs_layer_uncompressed_digest(layer)) == 0;
    snprintf(manifest, sizeof manifest,
             "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
             "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"%s\",\"size\":%zu},"
             "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar%s\",\"digest\":\"%s\",\"size\":%" PRId64 "}]}",
             config_digest, strlen(config), plain ? "" : "+gzip", cs_layer_compressed_digest(layer),
             cs_layer_compressed_size(layer));
    cs_string_free(config_digest);
    check(cs_image_set_big_data(store, cs_image_id(image), "manifest", (const uint8_t *)manifest, strlen(manifest), &err), "manifest");
    printf("image %s %s\n", cs_image_id(image), cs_image_name(image, 0));

    /* A container from the image (NULL options would do: a random ID, no names). */
    cs_container_options *container_options = cs_container_options_new();
    check(cs_container_options_add_name(container_options, "example", &err), "container name");
    cs_container *container = NULL;
    check(cs_container_create(store, cs_image_id(image), container_options, &container, &err), "create container");
    cs_container_options_free(container_options);
    printf("container %s %s\n", cs_container_id(container), cs_container_name(container, 0));

    /* Mount it (NULL mount label: the container's own), write a file, unmount (NULL: we do not
     * ask whether other mounts remain). */
    char *root = NULL;
    check(cs_container_mount(store, "example", NULL, &root, &err), "mount");
    char path[4096];
    snprintf(path, sizeof path, "%s/etc/example", root);
    FILE *file = fopen(path, "w");
    if (file == NULL) { perror(path); return 1; }
    fputs("written by the example\n", file);
    fclose(file);
    cs_string_free(root);
    check(cs_container_unmount(store, "example", false, NULL, &err), "unmount");
    printf("wrote /etc/example\n");

    /* List the store: layers, images and containers read together. */
    cs_layer_list *layers = NULL;
    cs_image_list *images = NULL;
    cs_container_list *containers = NULL;
    check(cs_store_multi_list(store, &layers, &images, &containers, &err), "list");
    printf("%zu layers, %zu images, %zu containers\n", cs_layer_list_len(layers),
           cs_image_list_len(images), cs_container_list_len(containers));
    for (size_t i = 0; i < cs_container_list_len(containers); i++) {
        const cs_container *c = cs_container_list_get(containers, i);
        printf("  container %s on layer %s\n", cs_container_name(c, 0), cs_container_layer(c));
    }
    cs_layer_list_free(layers);
    cs_image_list_free(images);
    cs_container_list_free(containers);

    /* Export the layer against its parent (NULL) uncompressed: the tar inside the tarball it
     * was imported from, byte for byte. */
    cs_diff_options *diff_options = cs_diff_options_new();
    check(cs_diff_options_set_compression(diff_options, CS_DIFF_UNCOMPRESSED, &err), "compression");
    FILE *out = fopen(argv[4], "wb");
    if (out == NULL) { perror(argv[4]); return 1; }
    check(cs_layer_export(store, NULL, cs_layer_id(layer), diff_options, write_to_file, out, &err), "export");
    fclose(out);
    cs_diff_options_free(diff_options);
    printf("exported layer %s\n", cs_layer_id(layer));

    cs_container_free(container);
    cs_image_free(image);
    cs_layer_free(layer);
    cs_store_free(store);
    return 0;
}

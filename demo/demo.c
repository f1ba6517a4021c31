/*
 * libcstorage demo: the library's main job, end to end, from C.
 *
 *   demo GRAPH_ROOT RUN_ROOT DRIVER OCI_LAYOUT_DIR TAG EXPORT.tar
 *
 * DRIVER is "overlay", "vfs", or "auto" to let the library choose (overlay where it works).
 * Imports the image TAG of the OCI image layout as skopeo would store it (so podman can run
 * it), creates a container from the image, mounts the container and writes a file into it,
 * lists what the store holds, exports the image's layer again as a plain tar and checks that
 * its digest is the layer's recorded diff ID, then cleans up. Prints what it does; exits
 * non-zero on the first failure.
 */
#include <cstorage.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static cs_error *err;

static void check(cs_result rc, const char *what) {
    if (rc == CS_RESULT_OK) return;
    fprintf(stderr, "demo: %s failed: %s: %s\n", what, cs_result_name(rc), err ? cs_error_message(err) : "");
    cs_error_free(err);
    exit(1);
}

/* Export writes into this callback, which hashes nothing itself: the library's import of the
 * exported bytes (below) computes the digest we compare. */
static int32_t write_to_file(void *userdata, const uint8_t *buf, size_t len, size_t *out_n) {
    FILE *f = userdata;
    *out_n = fwrite(buf, 1, len, f);
    return *out_n == len ? 0 : 5; /* EIO */
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: %s GRAPH_ROOT RUN_ROOT DRIVER OCI_LAYOUT_DIR TAG EXPORT.tar\n", argv[0]);
        return 2;
    }
    printf("libcstorage %s (ABI %u)\n", cs_library_version_string(), cs_library_abi_version());

    cs_store_options *options = cs_store_options_new();
    check(cs_store_options_set_graph_root(options, argv[1], &err), "set graph root");
    check(cs_store_options_set_run_root(options, argv[2], &err), "set run root");
    if (strcmp(argv[3], "auto") != 0) check(cs_store_options_set_driver(options, argv[3], &err), "set driver");
    cs_store *store = NULL;
    check(cs_store_open(options, &store, &err), "open store");
    cs_store_options_free(options);
    printf("store: %s (driver %s)\n", cs_store_graph_root(store), cs_store_driver_name(store));

    /* 1. Import the OCI image: layers verified and stored with c/image's IDs, the image with its
     *    config, manifest, digest and creation time, named so that podman finds it. */
    cs_image_import_options *import_options = cs_image_import_options_new();
    check(cs_image_import_options_add_name(import_options, "localhost/demo:latest", &err), "name image");
    cs_image *image = NULL;
    check(cs_image_import_oci(store, argv[4], argv[5], import_options, &image, &err), "import OCI image");
    cs_image_import_options_free(import_options);
    printf("imported image %.12s localhost/demo:latest, digest %s, created %lld\n", cs_image_id(image),
           cs_image_digest(image), (long long)cs_image_created(image));
    cs_layer *layer = NULL;
    check(cs_layer_get(store, cs_image_top_layer(image), &layer, &err), "look up the image's layer");
    printf("its layer %.12s: %lld bytes as given (%s), %lld bytes of tar, diff ID %s\n", cs_layer_id(layer),
           (long long)cs_layer_compressed_size(layer), cs_layer_compressed_digest(layer),
           (long long)cs_layer_uncompressed_size(layer), cs_layer_uncompressed_digest(layer));

    /* 3. A container from the image, mounted, with a file written into it. */
    cs_container_options *container_options = cs_container_options_new();
    check(cs_container_options_add_name(container_options, "demo-container", &err), "name container");
    cs_container *container = NULL;
    check(cs_container_create(store, cs_image_id(image), container_options, &container, &err), "create container");
    cs_container_options_free(container_options);
    char *mount_point = NULL;
    check(cs_container_mount(store, "demo-container", NULL, &mount_point, &err), "mount container");
    printf("mounted container %.12s at %s:", cs_container_id(container), mount_point);
    DIR *dir = opendir(mount_point);
    for (struct dirent *e; dir && (e = readdir(dir)) != NULL;)
        if (e->d_name[0] != '.') printf(" %s", e->d_name);
    if (dir) closedir(dir);
    printf("\n");
    char path[4096];
    snprintf(path, sizeof path, "%s/hello-from-demo.txt", mount_point);
    FILE *f = fopen(path, "w");
    if (f == NULL || fputs("written through the mount\n", f) < 0 || fclose(f) != 0) {
        perror(path);
        return 1;
    }
    cs_string_free(mount_point);
    bool still_mounted = true;
    check(cs_container_unmount(store, "demo-container", false, &still_mounted, &err), "unmount container");

    /* 4. List the store. */
    cs_layer_list *layers = NULL;
    check(cs_store_layers(store, &layers, &err), "list layers");
    printf("layers:\n");
    for (size_t i = 0; i < cs_layer_list_len(layers); i++) {
        const cs_layer *l = cs_layer_list_get(layers, i);
        printf("  %.12s parent=%.12s names=%zu\n", cs_layer_id(l), cs_layer_parent(l), cs_layer_names_count(l));
    }
    cs_layer_list_free(layers);
    cs_image_list *images = NULL;
    check(cs_store_images(store, &images, &err), "list images");
    for (size_t i = 0; i < cs_image_list_len(images); i++)
        printf("image %.12s %s\n", cs_image_id(cs_image_list_get(images, i)), cs_image_name(cs_image_list_get(images, i), 0));
    cs_image_list_free(images);
    cs_container_list *containers = NULL;
    check(cs_store_containers(store, &containers, &err), "list containers");
    for (size_t i = 0; i < cs_container_list_len(containers); i++)
        printf("container %.12s %s\n", cs_container_id(cs_container_list_get(containers, i)),
               cs_container_name(cs_container_list_get(containers, i), 0));
    cs_container_list_free(containers);
    cs_change_list *changes = NULL;
    check(cs_layer_changes(store, NULL, cs_container_layer(container), &changes, &err), "container changes");
    for (size_t i = 0; i < cs_change_list_len(changes); i++)
        printf("container change: %s %s\n", cs_change_list_kind(changes, i) == CS_CHANGE_ADD ? "added" : "changed",
               cs_change_list_path(changes, i));
    cs_change_list_free(changes);

    /* 5. Export the layer as a plain tar; re-importing the bytes must give the same diff ID. */
    cs_diff_options *diff_options = cs_diff_options_new();
    check(cs_diff_options_set_compression(diff_options, CS_DIFF_UNCOMPRESSED, &err), "choose compression");
    FILE *out = fopen(argv[6], "wb");
    if (out == NULL) {
        perror(argv[6]);
        return 1;
    }
    check(cs_layer_export(store, NULL, cs_layer_id(layer), diff_options, write_to_file, out, &err), "export layer");
    fclose(out);
    cs_diff_options_free(diff_options);
    int fd = open(argv[6], O_RDONLY);
    cs_layer *reimported = NULL;
    check(cs_layer_import_fd(store, NULL, fd, &reimported, &err), "re-import export");
    close(fd);
    int same = strcmp(cs_layer_uncompressed_digest(reimported), cs_layer_uncompressed_digest(layer)) == 0;
    printf("exported layer to %s: digest %s %s\n", argv[6], cs_layer_uncompressed_digest(reimported),
           same ? "matches the diff ID" : "DIFFERS from the diff ID");
    printf("diff-id %s\n", cs_layer_uncompressed_digest(layer));

    /* 6. Clean up: container (and its layer), image (and the layers only it used). */
    check(cs_layer_delete(store, cs_layer_id(reimported), &err), "delete re-imported layer");
    check(cs_container_delete(store, "demo-container", &err), "delete container");
    cs_strarray removed = {0};
    check(cs_image_delete(store, cs_image_id(image), true, &removed, &err), "delete image");
    printf("deleted container, image and %zu layer(s)\n", removed.count);
    cs_strarray_dispose(&removed);
    cs_strarray still = {0};
    check(cs_store_shutdown(store, true, &still, &err), "shut down");
    cs_strarray_dispose(&still);

    cs_layer_free(reimported);
    cs_container_free(container);
    cs_image_free(image);
    cs_layer_free(layer);
    cs_store_free(store);
    return same ? 0 : 1;
}

/*
 * Images in and out through the C API: an OCI image layout (written by a shell script with tar,
 * gzip and sha256sum) imported by path and by directory descriptor, with names, platform and
 * a progress callback; the image ID and top layer as c/image computes them; errors for an
 * unknown tag, a platform the image is not for, a bad platform string and a cancel; export
 * to a new layout and import of that again.
 */
#include "check.h"

#include <fcntl.h>

static void run(const char *command) {
    if (system(command) != 0) {
        fprintf(stderr, "command failed: %s\n", command);
        exit(1);
    }
}

/* The first line of a file, without its newline; `out` holds 128 bytes. */
static void read_line(const char *path, char *out) {
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    CHECK(fgets(out, 128, f) != NULL);
    fclose(f);
    out[strcspn(out, "\n")] = '\0';
}

/* Writes <dir>/layout (tag v1: one gzip layer holding etc/hello) and, for the checks, the
 * config's hex (= image ID) in <dir>/image-id and the layer's DiffID hex in <dir>/layer-id. */
static const char *make_layout =
    "set -e; cd \"$1\"; mkdir -p root/etc layout/blobs/sha256; echo hello > root/etc/hello;\n"
    "tar --sort=name --mtime=@0 --owner=0 --group=0 -C root -cf layer.tar etc; gzip -kn layer.tar;\n"
    "put() { d=$(sha256sum \"$1\" | cut -d' ' -f1); cp \"$1\" layout/blobs/sha256/$d; echo $d; }\n"
    "diff=$(sha256sum layer.tar | cut -d' ' -f1); blob=$(put layer.tar.gz); echo $diff > layer-id;\n"
    "printf '{\"created\":\"2021-05-06T07:08:09Z\",\"os\":\"linux\",\"architecture\":\"amd64\","
    "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:%s\"]}}' $diff > config.json;\n"
    "config=$(put config.json); echo $config > image-id;\n"
    "printf '{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
    "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:%s\",\"size\":%d},"
    "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:%s\",\"size\":%d}]}'"
    " $config $(stat -c %s config.json) $blob $(stat -c %s layer.tar.gz) > manifest.json;\n"
    "manifest=$(put manifest.json);\n"
    "printf '{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
    "\"digest\":\"sha256:%s\",\"size\":%d,\"annotations\":{\"org.opencontainers.image.ref.name\":\"v1\"}}]}'"
    " $manifest $(stat -c %s manifest.json) > layout/index.json;\n"
    "echo '{\"imageLayoutVersion\":\"1.0.0\"}' > layout/oci-layout\n";

struct progress {
    int calls;
    size_t last_count;
    int cancel;
};

static int32_t on_progress(void *userdata, size_t layer_index, size_t layer_count, uint64_t done, uint64_t total) {
    struct progress *p = userdata;
    p->calls++;
    p->last_count = layer_count;
    if (layer_index >= layer_count || done > total) return 2; /* nonsense: make the import fail */
    return p->cancel;
}

int main(void) {
    char work[32], command[256], layout[64], exported[64], image_id[128], layer_id[128];
    make_temp_dir(work);
    /* The script goes through the environment rather than quoted into the command. */
    setenv("CS_TEST_SCRIPT", make_layout, 1);
    snprintf(command, sizeof command, "sh -c \"$CS_TEST_SCRIPT\" sh %s", work);
    run(command);
    snprintf(layout, sizeof layout, "%s/layout", work);
    snprintf(exported, sizeof exported, "%s/exported", work);
    snprintf(command, sizeof command, "%s/image-id", work);
    read_line(command, image_id);
    snprintf(command, sizeof command, "%s/layer-id", work);
    read_line(command, layer_id);

    struct temp_store t;
    temp_store_open(&t);
    cs_image_import_options *options = cs_image_import_options_new();
    CHECK(options != NULL);
    OK(cs_image_import_options_add_name(options, "localhost/hello:v1", &err));
    OK(cs_image_import_options_set_platform(options, NULL, &err));
    FAILS(cs_image_import_options_set_platform(options, "linux", &err), CS_RESULT_INVALID_ARGUMENT);
    struct progress progress = {0};
    OK(cs_image_import_options_set_progress(options, on_progress, &progress, &err));

    cs_image *image = NULL;
    FAILS(cs_image_import_oci(t.store, layout, "v2", options, &image, &err), CS_RESULT_REFERENCE_UNKNOWN);
    progress.cancel = 1;
    FAILS(cs_image_import_oci(t.store, layout, "v1", options, &image, &err), CS_RESULT_CANCELLED);
    progress.cancel = 0;
    OK(cs_image_import_oci(t.store, layout, "v1", options, &image, &err));
    CHECK(progress.calls > 0 && progress.last_count == 1);
    CHECK_STR(cs_image_id(image), image_id);
    CHECK_STR(cs_image_top_layer(image), layer_id); /* c/image's ID of a base layer: its DiffID */
    cs_image_free(image);

    /* The same layout again, by descriptor, into a store that has it: the same image. */
    int dir_fd = open(layout, O_RDONLY | O_DIRECTORY);
    CHECK(dir_fd >= 0);
    OK(cs_image_import_oci_fd(t.store, dir_fd, NULL, NULL, &image, &err));
    CHECK_STR(cs_image_id(image), image_id);
    cs_image_free(image);
    close(dir_fd);
    FAILS(cs_image_import_oci_fd(t.store, -1, NULL, NULL, &image, &err), CS_RESULT_INVALID_ARGUMENT);

    OK(cs_image_import_options_set_platform(options, "windows/amd64", &err));
    FAILS(cs_image_import_oci(t.store, layout, "v1", options, &image, &err), CS_RESULT_NO_MATCHING_PLATFORM);
    OK(cs_image_import_options_set_progress(options, NULL, NULL, &err));
    cs_image_import_options_free(options);
    FAILS(cs_image_import_oci(t.store, NULL, NULL, NULL, &image, &err), CS_RESULT_NULL_PARAMETER);

    /* Out as a layout with plain tar layers, and back into another store: the same image. */
    cs_image_export_options *export_options = cs_image_export_options_new();
    CHECK(export_options != NULL);
    FAILS(cs_image_export_options_set_compression(export_options, 99, &err), CS_RESULT_INVALID_ARGUMENT);
    OK(cs_image_export_options_set_compression(export_options, CS_DIFF_UNCOMPRESSED, &err));
    char *digest = NULL;
    OK(cs_image_export_oci(t.store, "localhost/hello:v1", exported, "out", export_options, &digest, &err));
    CHECK(strncmp(digest, "sha256:", 7) == 0 && strlen(digest) == 71);
    cs_string_free(digest);
    OK(cs_image_export_oci(t.store, image_id, exported, NULL, NULL, NULL, &err));
    FAILS(cs_image_export_oci(t.store, "nosuchimage", exported, NULL, NULL, NULL, &err), CS_RESULT_IMAGE_UNKNOWN);
    cs_image_export_options_free(export_options);

    struct temp_store again;
    temp_store_open(&again);
    OK(cs_image_import_oci(again.store, exported, "out", NULL, &image, &err));
    CHECK_STR(cs_image_id(image), image_id);
    CHECK_STR(cs_image_top_layer(image), layer_id);
    cs_image_free(image);
    temp_store_close(&again);

    temp_store_close(&t);
    remove_tree(work);
    return finish();
}

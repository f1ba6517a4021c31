/*
 * Containers: options, creation from an image or none, snapshot getters, lists and lookup by
 * layer, big data, the container's directories, mounting with the container's mount options,
 * sizes and deletion; volatile containers and the one-snapshot listing of the whole store.
 */
#include "check.h"

#include <fcntl.h>
#include <time.h>

#define CONTAINER_ID "3333333333333333333333333333333333333333333333333333333333333333"
#define RW_LAYER_ID "4444444444444444444444444444444444444444444444444444444444444444"
#define LABEL "system_u:object_r:container_file_t:s0:c1,c2"

static void a_container_has_what_its_options_said(cs_store *store, const cs_image *image) {
    cs_container_options *options = cs_container_options_new();
    CHECK(options != NULL);
    OK(cs_container_options_set_id(options, CONTAINER_ID, &err));
    OK(cs_container_options_add_name(options, "web", &err));
    OK(cs_container_options_set_metadata(options, "{\"pod\":false}", &err));
    OK(cs_container_options_set_layer_id(options, RW_LAYER_ID, &err));
    OK(cs_container_options_set_mount_label(options, LABEL, &err));
    OK(cs_container_options_add_mount_option(options, "ro", &err));
    cs_id_map map = {0, 300000, 65536};
    OK(cs_container_options_set_uid_map(options, &map, 1, &err));
    OK(cs_container_options_set_gid_map(options, &map, 1, &err));
    FAILS(cs_container_options_set_uid_map(options, NULL, 1, &err), CS_RESULT_NULL_PARAMETER);
    FAILS(cs_container_options_add_mount_option(NULL, "ro", &err), CS_RESULT_NULL_PARAMETER);

    /* A mount label needs a process label, and the other way round. */
    cs_container *container = NULL;
    FAILS(cs_container_create(store, cs_image_id(image), options, &container, &err), CS_RESULT_INVALID_ARGUMENT);
    CHECK(container == NULL);
    OK(cs_container_options_set_process_label(options, "system_u:system_r:container_t:s0:c1,c2", &err));
    time_t before = time(NULL);
    OK(cs_container_create(store, "app", options, &container, &err));

    CHECK_STR(cs_container_id(container), CONTAINER_ID);
    CHECK_STR(cs_container_image(container), cs_image_id(image));
    CHECK_STR(cs_container_layer(container), RW_LAYER_ID);
    CHECK(cs_container_names_count(container) == 1);
    CHECK_STR(cs_container_name(container, 0), "web");
    CHECK(cs_container_name(container, 1) == NULL);
    CHECK_STR(cs_container_metadata(container), "{\"pod\":false}");
    CHECK_STR(cs_container_mount_label(container), LABEL);
    int64_t created_s = cs_container_created(container) / 1000000000;
    CHECK(created_s >= before - 1 && created_s <= time(NULL) + 1);
    const char *json = cs_container_json(container);
    CHECK(strstr(json, "\"layer\":\"" RW_LAYER_ID "\"") != NULL);
    CHECK(strstr(json, "\"uidmap\":[{\"container_id\":0,\"host_id\":300000,\"size\":65536}]") != NULL);
    CHECK(strstr(json, "\"MountOpts\":[\"ro\"]") != NULL);
    cs_container_free(container);

    /* The layer is a child of the image's top layer; with other maps than that layer's, on
     * vfs, of the image's copy of it shifted to the container's maps (a mapped top layer). */
    cs_layer *layer = NULL;
    OK(cs_layer_get(store, RW_LAYER_ID, &layer, &err));
    cs_layer *parent = NULL, *top = NULL;
    OK(cs_layer_get(store, cs_layer_parent(layer), &parent, &err));
    OK(cs_layer_get(store, cs_image_top_layer(image), &top, &err));
    CHECK_STR(cs_layer_parent(parent), cs_layer_parent(top));
    cs_layer_free(top);
    CHECK(strstr(cs_layer_json(parent), "\"uidmap\":[{\"container_id\":0,\"host_id\":300000,\"size\":65536}]") != NULL);
    cs_layer_free(parent);
    cs_layer_free(layer);

    container = NULL;
    FAILS(cs_container_create(store, NULL, options, &container, &err), CS_RESULT_DUPLICATE_NAME);
    OK(cs_container_options_set_id(options, NULL, &err));
    OK(cs_container_options_set_layer_id(options, NULL, &err));
    OK(cs_container_options_set_metadata(options, "", &err));
    FAILS(cs_container_create(store, "no-such-image", options, &container, &err), CS_RESULT_IMAGE_UNKNOWN);
    FAILS(cs_container_create(NULL, NULL, options, &container, &err), CS_RESULT_NULL_PARAMETER);
    CHECK(container == NULL);
    cs_container_options_free(options);
    cs_container_options_free(NULL);
    cs_container_free(NULL);
    CHECK(cs_container_id(NULL) == NULL);
}

static void containers_are_found_by_id_name_and_layer(cs_store *store) {
    cs_container *container = NULL;
    OK(cs_container_get(store, "web", &container, &err));
    CHECK_STR(cs_container_id(container), CONTAINER_ID);
    cs_container_free(container);
    OK(cs_container_get(store, RW_LAYER_ID, &container, &err));
    CHECK_STR(cs_container_id(container), CONTAINER_ID);
    cs_container_free(container);
    OK(cs_store_container_by_layer(store, "44444444", &container, &err));
    CHECK_STR(cs_container_id(container), CONTAINER_ID);
    cs_container_free(container);
    container = NULL;
    FAILS(cs_container_get(store, "nothing", &container, &err), CS_RESULT_CONTAINER_UNKNOWN);
    FAILS(cs_store_container_by_layer(store, "nothing", &container, &err), CS_RESULT_LAYER_UNKNOWN);
    CHECK(container == NULL);

    cs_container *bare = NULL;
    OK(cs_container_create(store, NULL, NULL, &bare, &err));
    CHECK_STR(cs_container_image(bare), "");
    cs_container_list *list = NULL;
    OK(cs_store_containers(store, &list, &err));
    CHECK(cs_container_list_len(list) == 2);
    CHECK_STR(cs_container_id(cs_container_list_get(list, 0)), CONTAINER_ID);
    CHECK_STR(cs_container_id(cs_container_list_get(list, 1)), cs_container_id(bare));
    CHECK(cs_container_list_get(list, 2) == NULL);
    cs_container_list_free(list);
    CHECK(cs_container_list_len(NULL) == 0);
    CHECK(cs_container_list_get(NULL, 0) == NULL);
    cs_container_list_free(NULL);
    FAILS(cs_store_containers(store, NULL, &err), CS_RESULT_NULL_PARAMETER);

    OK(cs_container_delete(store, cs_container_id(bare), &err));
    bool exists = true;
    OK(cs_store_exists(store, cs_container_layer(bare), &exists, &err));
    CHECK(!exists); /* its layer went with it */
    FAILS(cs_container_delete(store, cs_container_id(bare), &err), CS_RESULT_CONTAINER_UNKNOWN);
    cs_container_free(bare);
}

static void big_data_directories_and_size(cs_store *store) {
    int64_t size_before = -1;
    OK(cs_container_size(store, "web", &size_before, &err));
    CHECK(size_before >= 0);

    static const uint8_t state[] = "{\"state\":\"running\"}";
    OK(cs_container_set_big_data(store, "web", "state", state, sizeof state - 1, &err));
    FAILS(cs_container_set_big_data(store, "nothing", "state", state, 1, &err), CS_RESULT_CONTAINER_UNKNOWN);
    uint8_t *data = NULL;
    size_t len = 0;
    OK(cs_container_big_data(store, CONTAINER_ID, "state", &data, &len, &err));
    CHECK(len == sizeof state - 1 && memcmp(data, state, len) == 0);
    cs_bytes_free(data);
    FAILS(cs_container_big_data(store, CONTAINER_ID, "missing", &data, &len, &err), CS_RESULT_BIG_DATA_UNKNOWN);
    int64_t item_size = 0;
    OK(cs_container_big_data_size(store, "web", "state", &item_size, &err));
    CHECK(item_size == (int64_t)sizeof state - 1);
    FAILS(cs_container_big_data_size(store, "web", "missing", &item_size, &err), CS_RESULT_BIG_DATA_UNKNOWN);
    char *digest = NULL;
    OK(cs_container_big_data_digest(store, "web", "state", &digest, &err));
    CHECK(strncmp(digest, "sha256:", 7) == 0 && strlen(digest) == 7 + 64);
    cs_string_free(digest);
    FAILS(cs_container_big_data_digest(store, "web", "missing", &digest, &err), CS_RESULT_BIG_DATA_UNKNOWN);
    cs_strarray names;
    OK(cs_container_big_data_names(store, "web", &names, &err));
    CHECK(names.count == 1);
    CHECK_STR(names.strings[0], "state");
    cs_strarray_dispose(&names);
    FAILS(cs_container_big_data_names(store, "nothing", &names, &err), CS_RESULT_CONTAINER_UNKNOWN);

    /* Both directories exist once asked for; files put there count toward the size. */
    char *directory = NULL, *run_directory = NULL;
    OK(cs_container_directory(store, "web", &directory, &err));
    OK(cs_container_run_directory(store, "web", &run_directory, &err));
    CHECK(strstr(directory, "/graph/vfs-containers/" CONTAINER_ID "/userdata") != NULL);
    CHECK(strstr(run_directory, "/run/vfs-containers/" CONTAINER_ID "/userdata") != NULL);
    CHECK(access(run_directory, W_OK) == 0);
    char file[256];
    snprintf(file, sizeof file, "%s/config.json", directory);
    int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    CHECK(write(fd, "0123456789", 10) == 10);
    CHECK(close(fd) == 0);
    int64_t size_after = -1;
    OK(cs_container_size(store, "web", &size_after, &err));
    /* Exactly as Go counts: each big-data item once, plus the bytes in the userdata directory. */
    CHECK(size_after == size_before + (int64_t)sizeof state - 1 + 10);
    cs_string_free(directory);
    cs_string_free(run_directory);
    FAILS(cs_container_directory(store, "nothing", &directory, &err), CS_RESULT_CONTAINER_UNKNOWN);
    FAILS(cs_container_run_directory(store, "web", NULL, &err), CS_RESULT_NULL_PARAMETER);
    FAILS(cs_container_size(store, "nothing", &size_after, &err), CS_RESULT_CONTAINER_UNKNOWN);
}

static void mounts_use_the_containers_options(cs_store *store, const cs_image *image) {
    char *path = NULL;
    OK(cs_container_mount(store, "web", NULL, &path, &err));
    CHECK(access(path, F_OK) == 0);
    cs_string_free(path);
    OK(cs_container_mount(store, "web", LABEL, &path, &err));
    cs_string_free(path);
    uint32_t count = 0;
    OK(cs_container_mounted(store, "web", &count, &err));
    CHECK(count == 2);
    bool still_mounted = false;
    OK(cs_container_unmount(store, "web", false, &still_mounted, &err));
    CHECK(still_mounted);
    OK(cs_container_unmount(store, CONTAINER_ID, true, &still_mounted, &err));
    CHECK(!still_mounted);
    FAILS(cs_container_unmount(store, "web", false, NULL, &err), CS_RESULT_LAYER_NOT_MOUNTED);
    OK(cs_container_mounted(store, "web", &count, &err));
    CHECK(count == 0);

    /* Only containers: an image's layer is not one. */
    path = NULL;
    FAILS(cs_container_mount(store, cs_image_top_layer(image), NULL, &path, &err), CS_RESULT_CONTAINER_UNKNOWN);
    FAILS(cs_container_mounted(store, "nothing", &count, &err), CS_RESULT_CONTAINER_UNKNOWN);
    FAILS(cs_container_unmount(store, "nothing", false, NULL, &err), CS_RESULT_CONTAINER_UNKNOWN);

    /* vfs takes no mount option but "ro": the container's options are applied. */
    cs_container_options *options = cs_container_options_new();
    OK(cs_container_options_add_mount_option(options, "nodev", &err));
    cs_container *odd = NULL;
    OK(cs_container_create(store, NULL, options, &odd, &err));
    cs_container_options_free(options);
    FAILS(cs_container_mount(store, cs_container_id(odd), NULL, &path, &err), CS_RESULT_NOT_SUPPORTED);
    CHECK(path == NULL);
    OK(cs_container_delete(store, cs_container_id(odd), &err));
    cs_container_free(odd);
}

/* A volatile container (podman's --rm) is written to volatile-containers.json, its layer to
 * volatile-layers.json, and shows up with the others in every listing. */
static void volatile_containers_are_kept_apart_and_listed(const struct temp_store *t) {
    cs_container_options *options = cs_container_options_new();
    OK(cs_container_options_set_volatile(options, true, &err));
    OK(cs_container_options_add_name(options, "rm-me", &err));
    FAILS(cs_container_options_set_volatile(NULL, true, &err), CS_RESULT_NULL_PARAMETER);
    cs_container *container = NULL;
    OK(cs_container_create(t->store, "app", options, &container, &err));
    cs_container_options_free(options);

    char path[4200];
    snprintf(path, sizeof path, "%s/vfs-containers/volatile-containers.json", t->graph_root);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    char text[4096] = {0};
    CHECK(fread(text, 1, sizeof text - 1, f) > 0);
    fclose(f);
    CHECK(strstr(text, cs_container_id(container)) != NULL);
    CHECK(strstr(text, "\"Volatile\":true") != NULL);

    cs_layer_list *layers = NULL;
    cs_image_list *images = NULL;
    cs_container_list *containers = NULL;
    FAILS(cs_store_multi_list(t->store, &layers, NULL, &containers, &err), CS_RESULT_NULL_PARAMETER);
    CHECK(layers == NULL && containers == NULL);
    OK(cs_store_multi_list(t->store, &layers, &images, &containers, &err));
    CHECK(cs_image_list_len(images) == 1);
    int found_container = 0, found_layer = 0;
    for (size_t i = 0; i < cs_container_list_len(containers); i++) {
        found_container |= strcmp(cs_container_id(cs_container_list_get(containers, i)), cs_container_id(container)) == 0;
    }
    for (size_t i = 0; i < cs_layer_list_len(layers); i++) {
        found_layer |= strcmp(cs_layer_id(cs_layer_list_get(layers, i)), cs_container_layer(container)) == 0;
    }
    CHECK(found_container && found_layer);
    cs_layer_list_free(layers);
    cs_image_list_free(images);
    cs_container_list_free(containers);

    /* Its image cannot go while it exists. */
    FAILS(cs_image_delete(t->store, "app", true, NULL, &err), CS_RESULT_IMAGE_USED_BY_CONTAINER);
    OK(cs_container_delete(t->store, "rm-me", &err));
    cs_container_free(container);
}

/* An empty parent, top layer or image key means none, as in Go (c/storage tests for ""). */
static void empty_keys_mean_none(cs_store *store) {
    cs_layer_options *layer_options = cs_layer_options_new();
    OK(cs_layer_options_set_parent(layer_options, "", &err));
    cs_layer *layer = NULL;
    OK(cs_layer_create(store, layer_options, &layer, &err));
    CHECK_STR(cs_layer_parent(layer), "");
    cs_layer_free(layer);
    int fds[2];
    CHECK(pipe(fds) == 0);
    close(fds[1]); /* an empty stream: an empty layer */
    layer = NULL;
    OK(cs_layer_import_fd(store, layer_options, fds[0], &layer, &err));
    close(fds[0]);
    CHECK_STR(cs_layer_parent(layer), "");
    cs_layer_free(layer);
    cs_layer_options_free(layer_options);

    cs_image *image = NULL;
    OK(cs_image_create(store, "", NULL, &image, &err));
    CHECK_STR(cs_image_top_layer(image), "");
    cs_image_free(image);

    cs_container_options *options = cs_container_options_new();
    OK(cs_container_options_add_name(options, "from-nothing", &err));
    cs_container *container = NULL;
    OK(cs_container_create(store, "", options, &container, &err));
    cs_container_options_free(options);
    CHECK_STR(cs_container_image(container), "");
    OK(cs_layer_get(store, cs_container_layer(container), &layer, &err));
    CHECK_STR(cs_layer_parent(layer), "");
    cs_layer_free(layer);
    OK(cs_container_delete(store, cs_container_id(container), &err));
    cs_container_free(container);
}

/* On vfs, a container with other maps than its image's top layer goes on the image's
 * ID-shifted copy of that layer (c/storage's mapped top layers, in the image's JSON). */
static void other_maps_use_a_mapped_top_layer(cs_store *store, const cs_image *image) {
    cs_container_options *options = cs_container_options_new();
    cs_id_map map = {0, 400000, 65536};
    OK(cs_container_options_set_uid_map(options, &map, 1, &err));
    OK(cs_container_options_set_gid_map(options, &map, 1, &err));
    cs_container *container = NULL;
    OK(cs_container_create(store, cs_image_id(image), options, &container, &err));
    cs_container_options_free(options);
    cs_layer *layer = NULL;
    OK(cs_layer_get(store, cs_container_layer(container), &layer, &err));
    cs_image *updated = NULL;
    OK(cs_image_get(store, cs_image_id(image), &updated, &err));
    char expected[80];
    snprintf(expected, sizeof expected, "\"%s\"", cs_layer_parent(layer));
    const char *mapped = strstr(cs_image_json(updated), "\"mapped-layers\":[");
    CHECK(mapped != NULL && strstr(mapped, expected) != NULL);
    CHECK(strcmp(cs_layer_parent(layer), cs_image_top_layer(image)) != 0);
    OK(cs_container_delete(store, cs_container_id(container), &err));
    cs_image_free(updated);
    cs_layer_free(layer);
    cs_container_free(container);
}

int main(void) {
    struct temp_store t;
    temp_store_open(&t);
    cs_layer *layer = NULL;
    OK(cs_layer_create(t.store, NULL, &layer, &err));
    cs_image_options *image_options = cs_image_options_new();
    OK(cs_image_options_add_name(image_options, "app", &err));
    cs_image *image = NULL;
    OK(cs_image_create(t.store, cs_layer_id(layer), image_options, &image, &err));
    cs_image_options_free(image_options);

    a_container_has_what_its_options_said(t.store, image);
    containers_are_found_by_id_name_and_layer(t.store);
    big_data_directories_and_size(t.store);
    mounts_use_the_containers_options(t.store, image);
    volatile_containers_are_kept_apart_and_listed(&t);
    empty_keys_mean_none(t.store);
    other_maps_use_a_mapped_top_layer(t.store, image);

    OK(cs_container_delete(t.store, "web", &err));
    OK(cs_image_delete(t.store, "app", true, NULL, &err));
    cs_image_free(image);
    cs_layer_free(layer);
    temp_store_close(&t);
    return finish();
}

/*
 * Images: options, creation on a layer or none, snapshot getters, lists by digest and top
 * layer, big data with sizes and digests, DeleteImage's rules and layer walk-down, read-only
 * mounts, sizes and the image's own directories.
 */
#include "check.h"

#define IMAGE_ID "2222222222222222222222222222222222222222222222222222222222222222"
#define DIGEST_C "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
/* sha256 of "hello" */
#define HELLO_DIGEST "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
#define CREATED_NS INT64_C(1700000000123456789)

static cs_layer *create_layer(cs_store *store, const char *parent) {
    cs_layer_options *options = cs_layer_options_new();
    OK(cs_layer_options_set_parent(options, parent, &err));
    cs_layer *layer = NULL;
    OK(cs_layer_create(store, options, &layer, &err));
    cs_layer_options_free(options);
    return layer;
}

static void an_image_has_what_its_options_said(cs_store *store, const char *top_layer) {
    cs_image_options *options = cs_image_options_new();
    CHECK(options != NULL);
    OK(cs_image_options_set_id(options, IMAGE_ID, &err));
    OK(cs_image_options_add_name(options, "example.com/app:1", &err));
    OK(cs_image_options_add_name(options, "example.com/app:latest", &err));
    OK(cs_image_options_set_metadata(options, "{}", &err));
    OK(cs_image_options_set_digest(options, DIGEST_C, &err));
    OK(cs_image_options_set_created(options, CREATED_NS, &err));
    OK(cs_image_options_add_big_data(options, "manifest", (const uint8_t *)"hello", 5, &err));
    OK(cs_image_options_add_big_data(options, "empty", NULL, 0, &err));
    FAILS(cs_image_options_add_big_data(options, "bad", NULL, 5, &err), CS_RESULT_NULL_PARAMETER);
    FAILS(cs_image_options_set_created(NULL, 0, &err), CS_RESULT_NULL_PARAMETER);
    FAILS(cs_image_options_set_digest(NULL, DIGEST_C, &err), CS_RESULT_NULL_PARAMETER);

    cs_image *image = NULL;
    OK(cs_image_create(store, top_layer, options, &image, &err));
    CHECK_STR(cs_image_id(image), IMAGE_ID);
    CHECK_STR(cs_image_top_layer(image), top_layer);
    CHECK(cs_image_names_count(image) == 2);
    CHECK_STR(cs_image_name(image, 0), "example.com/app:1");
    CHECK_STR(cs_image_name(image, 1), "example.com/app:latest");
    CHECK(cs_image_name(image, 2) == NULL);
    CHECK_STR(cs_image_digest(image), DIGEST_C);
    CHECK(cs_image_digests_count(image) == 2); /* its own and its manifest's */
    CHECK_STR(cs_image_digests_get(image, 0), DIGEST_C);
    CHECK_STR(cs_image_digests_get(image, 1), HELLO_DIGEST);
    CHECK(cs_image_digests_get(image, 2) == NULL);
    CHECK_STR(cs_image_metadata(image), "{}");
    CHECK(cs_image_created(image) == CREATED_NS);
    CHECK(!cs_image_read_only(image));
    CHECK(cs_image_big_data_names_count(image) == 2);
    CHECK_STR(cs_image_big_data_name(image, 0), "manifest");
    CHECK_STR(cs_image_big_data_name(image, 1), "empty");
    CHECK(cs_image_big_data_name(image, 2) == NULL);
    CHECK(strstr(cs_image_json(image), "\"created\":\"2023-11-14T22:13:20.123456789Z\"") != NULL);
    CHECK(strstr(cs_image_json(image), "\"layer\":\"") != NULL);
    cs_image_free(image);

    /* The same ID or name again. */
    image = NULL;
    FAILS(cs_image_create(store, NULL, options, &image, &err), CS_RESULT_DUPLICATE_ID);
    OK(cs_image_options_set_id(options, NULL, &err));
    FAILS(cs_image_create(store, NULL, options, &image, &err), CS_RESULT_DUPLICATE_NAME);
    cs_image_options_free(options);
    FAILS(cs_image_create(store, "no-such-layer", NULL, &image, &err), CS_RESULT_LAYER_UNKNOWN);
    FAILS(cs_image_create(store, NULL, NULL, NULL, &err), CS_RESULT_NULL_PARAMETER);
    CHECK(image == NULL);

    OK(cs_image_get(store, "example.com/app:latest", &image, &err));
    CHECK_STR(cs_image_id(image), IMAGE_ID);
    cs_image_free(image);
    FAILS(cs_image_get(store, "example.com/none", &image, &err), CS_RESULT_IMAGE_UNKNOWN);
    CHECK(cs_image_id(NULL) == NULL);
    CHECK(cs_image_created(NULL) == 0);
    cs_image_free(NULL);
    cs_image_options_free(NULL);
}

static void lists_find_images_by_digest_and_top_layer(cs_store *store, const char *top_layer) {
    cs_image *bare = NULL;
    OK(cs_image_create(store, NULL, NULL, &bare, &err));

    cs_image_list *list = NULL;
    OK(cs_store_images(store, &list, &err));
    CHECK(cs_image_list_len(list) == 2);
    CHECK_STR(cs_image_id(cs_image_list_get(list, 0)), IMAGE_ID);
    CHECK_STR(cs_image_id(cs_image_list_get(list, 1)), cs_image_id(bare));
    CHECK(cs_image_list_get(list, 2) == NULL);
    cs_image_list_free(list);

    OK(cs_store_images_by_digest(store, HELLO_DIGEST, &list, &err));
    CHECK(cs_image_list_len(list) == 1);
    CHECK_STR(cs_image_id(cs_image_list_get(list, 0)), IMAGE_ID);
    cs_image_list_free(list);
    list = NULL;
    FAILS(cs_store_images_by_digest(store, "nonsense", &list, &err), CS_RESULT_INVALID_ARGUMENT);
    CHECK(list == NULL);

    OK(cs_store_images_by_top_layer(store, top_layer, &list, &err));
    CHECK(cs_image_list_len(list) == 1);
    cs_image_list_free(list);
    FAILS(cs_store_images_by_top_layer(store, "no-such-layer", &list, &err), CS_RESULT_LAYER_UNKNOWN);
    CHECK(cs_image_list_len(NULL) == 0);
    CHECK(cs_image_list_get(NULL, 0) == NULL);
    cs_image_list_free(NULL);

    /* An image's size is its layers' changes (none in empty layers) and its big data. */
    static const uint8_t config[] = "{\"architecture\":\"amd64\"}";
    OK(cs_image_set_big_data(store, cs_image_id(bare), "config", config, sizeof config - 1, &err));
    int64_t size = 0;
    OK(cs_image_size(store, cs_image_id(bare), &size, &err));
    CHECK(size == (int64_t)sizeof config - 1);
    OK(cs_image_size(store, IMAGE_ID, &size, &err));
    CHECK(size == 5); /* "hello", the manifest */
    FAILS(cs_image_size(store, "nothing", &size, &err), CS_RESULT_IMAGE_UNKNOWN);

    /* An image without layers has nothing to mount. */
    char *path = NULL;
    FAILS(cs_image_mount(store, cs_image_id(bare), NULL, &path, &err), CS_RESULT_INVALID_ARGUMENT);
    CHECK(path == NULL);
    OK(cs_image_delete(store, cs_image_id(bare), true, NULL, &err));
    cs_image_free(bare);
}

static void big_data_keeps_sizes_and_digests(cs_store *store) {
    static const uint8_t signature[] = {0x89, 0, 0xff, 7};
    OK(cs_image_set_big_data(store, IMAGE_ID, "signature-1", signature, sizeof signature, &err));
    OK(cs_image_set_big_data(store, IMAGE_ID, "Weird:Key/with slash", (const uint8_t *)"w", 1, &err));
    FAILS(cs_image_set_big_data(store, "nothing", "k", signature, 1, &err), CS_RESULT_IMAGE_UNKNOWN);
    FAILS(cs_image_set_big_data(store, IMAGE_ID, NULL, signature, 1, &err), CS_RESULT_NULL_PARAMETER);

    uint8_t *data = NULL;
    size_t len = 0;
    OK(cs_image_big_data(store, IMAGE_ID, "signature-1", &data, &len, &err));
    CHECK(len == sizeof signature && memcmp(data, signature, len) == 0);
    cs_bytes_free(data);
    OK(cs_image_big_data(store, IMAGE_ID, "Weird:Key/with slash", &data, &len, &err));
    CHECK(len == 1 && data[0] == 'w');
    cs_bytes_free(data);
    FAILS(cs_image_big_data(store, IMAGE_ID, "missing", &data, &len, &err), CS_RESULT_BIG_DATA_UNKNOWN);

    int64_t size = 0;
    OK(cs_image_big_data_size(store, IMAGE_ID, "manifest", &size, &err));
    CHECK(size == 5);
    FAILS(cs_image_big_data_size(store, IMAGE_ID, "missing", &size, &err), CS_RESULT_BIG_DATA_UNKNOWN);
    char *digest = NULL;
    OK(cs_image_big_data_digest(store, IMAGE_ID, "manifest", &digest, &err));
    CHECK_STR(digest, HELLO_DIGEST);
    cs_string_free(digest);
    digest = NULL;
    FAILS(cs_image_big_data_digest(store, IMAGE_ID, "missing", &digest, &err), CS_RESULT_BIG_DATA_UNKNOWN);
    CHECK(digest == NULL);

    cs_strarray names;
    OK(cs_image_big_data_names(store, "example.com/app:1", &names, &err));
    CHECK(names.count == 4);
    CHECK_STR(names.strings[3], "Weird:Key/with slash");
    cs_strarray_dispose(&names);
    FAILS(cs_image_big_data_names(store, "nothing", &names, &err), CS_RESULT_IMAGE_UNKNOWN);
}

static void mounts_are_read_only_and_counted(cs_store *store, const char *top_layer) {
    char *path = NULL, *again = NULL;
    OK(cs_image_mount(store, IMAGE_ID, NULL, &path, &err));
    OK(cs_image_mount(store, "example.com/app:1", "label", &again, &err));
    CHECK_STR(again, path);
    uint32_t count = 0;
    OK(cs_layer_mounted(store, top_layer, &count, &err));
    CHECK(count == 2);
    bool still_mounted = false;
    OK(cs_image_unmount(store, IMAGE_ID, false, &still_mounted, &err));
    CHECK(still_mounted);
    OK(cs_image_unmount(store, IMAGE_ID, false, NULL, &err));
    FAILS(cs_image_unmount(store, IMAGE_ID, false, &still_mounted, &err), CS_RESULT_LAYER_NOT_MOUNTED);
    FAILS(cs_image_unmount(store, "nothing", true, &still_mounted, &err), CS_RESULT_IMAGE_UNKNOWN);
    FAILS(cs_image_mount(store, "nothing", NULL, &path, &err), CS_RESULT_IMAGE_UNKNOWN);
    cs_string_free(path);
    cs_string_free(again);
}

static void deletion_walks_down_the_layers_only_this_image_used(cs_store *store, const char *base,
                                                                 const char *top_layer) {
    cs_container *container = NULL;
    OK(cs_container_create(store, IMAGE_ID, NULL, &container, &err));
    cs_strarray removed = {NULL, 0};
    FAILS(cs_image_delete(store, IMAGE_ID, true, &removed, &err), CS_RESULT_IMAGE_USED_BY_CONTAINER);
    CHECK(removed.count == 0);
    OK(cs_container_delete(store, cs_container_id(container), &err));
    cs_container_free(container);

    /* A dry run reports, top layer first, and changes nothing. */
    OK(cs_image_delete(store, IMAGE_ID, false, &removed, &err));
    CHECK(removed.count == 2);
    CHECK_STR(removed.strings[0], top_layer);
    CHECK_STR(removed.strings[1], base);
    cs_strarray_dispose(&removed);
    bool exists = false;
    OK(cs_store_exists(store, IMAGE_ID, &exists, &err));
    CHECK(exists);

    OK(cs_image_delete(store, "example.com/app:latest", true, &removed, &err));
    CHECK(removed.count == 2);
    cs_strarray_dispose(&removed);
    OK(cs_store_exists(store, top_layer, &exists, &err));
    CHECK(!exists);
    OK(cs_store_exists(store, base, &exists, &err));
    CHECK(!exists);
    FAILS(cs_image_delete(store, IMAGE_ID, true, NULL, &err), CS_RESULT_IMAGE_UNKNOWN);
    FAILS(cs_image_delete(NULL, IMAGE_ID, true, NULL, &err), CS_RESULT_NULL_PARAMETER);
}

/* c/storage 1.57's ImageDirectory / ImageRunDirectory: <root>/vfs-images/<id>/userdata, made
 * on demand; an unknown image is an error, not a directory named after it. */
static void images_have_directories_in_both_roots(const struct temp_store *t) {
    cs_layer *layer = create_layer(t->store, NULL);
    cs_image *image = NULL;
    OK(cs_image_create(t->store, cs_layer_id(layer), NULL, &image, &err));
    cs_layer_free(layer);
    char want[256];
    char *path = NULL;
    OK(cs_image_directory(t->store, cs_image_id(image), &path, &err));
    snprintf(want, sizeof want, "%s/vfs-images/%s/userdata", t->graph_root, cs_image_id(image));
    CHECK_STR(path, want);
    CHECK(access(path, W_OK) == 0);
    cs_string_free(path);
    path = NULL;
    OK(cs_image_run_directory(t->store, cs_image_id(image), &path, &err));
    snprintf(want, sizeof want, "%s/vfs-images/%s/userdata", t->run_root, cs_image_id(image));
    CHECK_STR(path, want);
    CHECK(access(path, W_OK) == 0);
    cs_string_free(path);
    path = NULL;
    FAILS(cs_image_directory(t->store, "no-such-image", &path, &err), CS_RESULT_IMAGE_UNKNOWN);
    FAILS(cs_image_run_directory(t->store, "", &path, &err), CS_RESULT_IMAGE_UNKNOWN);
    FAILS(cs_image_directory(t->store, NULL, &path, &err), CS_RESULT_NULL_PARAMETER);
    CHECK(path == NULL);
    OK(cs_image_delete(t->store, cs_image_id(image), false, NULL, &err));
    cs_image_free(image);
}

int main(void) {
    struct temp_store t;
    temp_store_open(&t);
    cs_layer *base = create_layer(t.store, NULL);
    cs_layer *top = create_layer(t.store, cs_layer_id(base));
    an_image_has_what_its_options_said(t.store, cs_layer_id(top));
    lists_find_images_by_digest_and_top_layer(t.store, cs_layer_id(top));
    big_data_keeps_sizes_and_digests(t.store);
    mounts_are_read_only_and_counted(t.store, cs_layer_id(top));
    images_have_directories_in_both_roots(&t);
    deletion_walks_down_the_layers_only_this_image_used(t.store, cs_layer_id(base), cs_layer_id(top));
    cs_layer_free(base);
    cs_layer_free(top);
    temp_store_close(&t);
    return finish();
}

/*
 * Layers: options, creation, snapshot getters, lists and digest lookups, the deletion rules,
 * big data in memory and through file descriptors, and mount counting.
 */
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <time.h>

#define DIGEST_A "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define DIGEST_B "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define LAYER_ID "1111111111111111111111111111111111111111111111111111111111111111"

static cs_layer *create_layer(cs_store *store, const char *parent, const char *name) {
    cs_layer_options *options = cs_layer_options_new();
    CHECK(options != NULL);
    OK(cs_layer_options_set_parent(options, parent, &err));
    if (name != NULL) OK(cs_layer_options_add_name(options, name, &err));
    cs_layer *layer = NULL;
    OK(cs_layer_create(store, options, &layer, &err));
    cs_layer_options_free(options);
    return layer;
}

static void a_layer_has_what_its_options_said(cs_store *store) {
    cs_layer *base = create_layer(store, NULL, "base");

    cs_layer_options *options = cs_layer_options_new();
    OK(cs_layer_options_set_id(options, LAYER_ID, &err));
    OK(cs_layer_options_set_parent(options, "base", &err));
    OK(cs_layer_options_add_name(options, "child", &err));
    OK(cs_layer_options_add_name(options, "child-alias", &err));
    OK(cs_layer_options_set_mount_label(options, "system_u:object_r:container_file_t:s0", &err));
    OK(cs_layer_options_set_metadata(options, "meta <&>", &err));
    OK(cs_layer_options_set_compressed_digest(options, DIGEST_A, &err));
    OK(cs_layer_options_set_uncompressed_digest(options, DIGEST_B, &err));
    cs_id_map map = {0, 200000, 65536};
    OK(cs_layer_options_set_uid_map(options, &map, 1, &err));
    OK(cs_layer_options_set_gid_map(options, &map, 1, &err));
    FAILS(cs_layer_options_set_uid_map(options, NULL, 2, &err), CS_RESULT_NULL_PARAMETER);
    FAILS(cs_layer_options_set_gid_map(NULL, &map, 1, &err), CS_RESULT_NULL_PARAMETER);
    FAILS(cs_layer_options_add_name(options, NULL, &err), CS_RESULT_NULL_PARAMETER);
    FAILS(cs_layer_options_set_metadata(options, "\xc3", &err), CS_RESULT_INVALID_ARGUMENT);
    time_t before = time(NULL);
    cs_layer *child = NULL;
    OK(cs_layer_create(store, options, &child, &err));
    cs_layer_options_free(options);

    CHECK_STR(cs_layer_id(child), LAYER_ID);
    CHECK_STR(cs_layer_parent(child), cs_layer_id(base));
    CHECK_STR(cs_layer_parent(base), "");
    CHECK(cs_layer_names_count(child) == 2);
    CHECK_STR(cs_layer_name(child, 0), "child");
    CHECK_STR(cs_layer_name(child, 1), "child-alias");
    CHECK(cs_layer_name(child, 2) == NULL);
    CHECK_STR(cs_layer_metadata(child), "meta <&>");
    CHECK_STR(cs_layer_mount_label(child), "system_u:object_r:container_file_t:s0");
    /* Caller-known digests are checked by an import; an empty layer records none. */
    CHECK_STR(cs_layer_compressed_digest(child), "");
    CHECK_STR(cs_layer_uncompressed_digest(child), "");
    CHECK(cs_layer_compressed_size(child) == 0);
    CHECK(cs_layer_uncompressed_size(child) == 0);
    int64_t created_s = cs_layer_created(child) / 1000000000;
    CHECK(created_s >= before - 1 && created_s <= time(NULL) + 1);
    CHECK(!cs_layer_read_only(child));
    CHECK_STR(cs_layer_mount_point(child), "");
    CHECK(cs_layer_mount_count(child) == 0);
    const char *json = cs_layer_json(child);
    CHECK(strncmp(json, "{\"id\":\"" LAYER_ID "\"", 7 + 64 + 1) == 0);
    CHECK(strstr(json, "\"metadata\":\"meta \\u003c\\u0026\\u003e\"") != NULL); /* escaped as Go does */
    CHECK(strstr(json, "\"uidmap\":[{\"container_id\":0,\"host_id\":200000,\"size\":65536}]") != NULL);

    /* The same layer, found again by name and by ID prefix. */
    cs_layer *again = NULL;
    OK(cs_layer_get(store, "child-alias", &again, &err));
    CHECK_STR(cs_layer_id(again), LAYER_ID);
    cs_layer_free(again);
    OK(cs_layer_get(store, "11111111", &again, &err));
    CHECK_STR(cs_layer_id(again), LAYER_ID);
    cs_layer_free(again);

    cs_layer_free(child);
    cs_layer_free(base);
}

static void creation_errors_have_their_codes(cs_store *store) {
    cs_layer *layer = NULL;
    cs_layer_options *options = cs_layer_options_new();
    OK(cs_layer_options_set_id(options, LAYER_ID, &err));
    FAILS(cs_layer_create(store, options, &layer, &err), CS_RESULT_DUPLICATE_ID);
    OK(cs_layer_options_set_id(options, "not/one/component", &err));
    FAILS(cs_layer_create(store, options, &layer, &err), CS_RESULT_INVALID_ARGUMENT);
    OK(cs_layer_options_set_id(options, NULL, &err));
    OK(cs_layer_options_add_name(options, "base", &err));
    FAILS(cs_layer_create(store, options, &layer, &err), CS_RESULT_DUPLICATE_NAME);
    cs_layer_options_free(options);

    options = cs_layer_options_new();
    OK(cs_layer_options_set_parent(options, "no-such-parent", &err));
    FAILS(cs_layer_create(store, options, &layer, &err), CS_RESULT_LAYER_UNKNOWN);
    OK(cs_layer_options_set_parent(options, NULL, &err));
    OK(cs_layer_options_set_compressed_digest(options, "sha256:short", &err));
    FAILS(cs_layer_create(store, options, &layer, &err), CS_RESULT_INVALID_ARGUMENT);
    OK(cs_layer_options_set_compressed_digest(options, NULL, &err));
    OK(cs_layer_options_set_uncompressed_digest(options, NULL, &err));
    FAILS(cs_layer_create(NULL, options, &layer, &err), CS_RESULT_NULL_PARAMETER);
    FAILS(cs_layer_create(store, options, NULL, &err), CS_RESULT_NULL_PARAMETER);
    cs_layer_options_free(options);
    CHECK(layer == NULL);

    FAILS(cs_layer_get(store, "no-such-layer", &layer, &err), CS_RESULT_LAYER_UNKNOWN);
    FAILS(cs_layer_get(store, "\xff", &layer, &err), CS_RESULT_INVALID_ARGUMENT);
    FAILS(cs_layer_get(store, NULL, &layer, &err), CS_RESULT_NULL_PARAMETER);
    CHECK(layer == NULL);
    CHECK(cs_layer_id(NULL) == NULL);
    CHECK(cs_layer_names_count(NULL) == 0);
    cs_layer_options_free(NULL);
    cs_layer_free(NULL);
}

static void lists_hold_snapshots(cs_store *store) {
    cs_layer_list *list = NULL;
    OK(cs_store_layers(store, &list, &err));
    CHECK(cs_layer_list_len(list) == 2);
    CHECK_STR(cs_layer_names_count(cs_layer_list_get(list, 0)) ? cs_layer_name(cs_layer_list_get(list, 0), 0) : "",
              "base");
    CHECK_STR(cs_layer_id(cs_layer_list_get(list, 1)), LAYER_ID);
    CHECK(cs_layer_list_get(list, 2) == NULL);
    cs_layer_list_free(list);

    /* Only imported layers have digests (imports are tested with the stream calls). */
    OK(cs_store_layers_by_compressed_digest(store, DIGEST_A, &list, &err));
    CHECK(cs_layer_list_len(list) == 0);
    cs_layer_list_free(list);
    OK(cs_store_layers_by_uncompressed_digest(store, DIGEST_B, &list, &err));
    CHECK(cs_layer_list_len(list) == 0);
    cs_layer_list_free(list);
    list = NULL;
    FAILS(cs_store_layers_by_compressed_digest(store, "md5:x", &list, &err), CS_RESULT_INVALID_ARGUMENT);
    FAILS(cs_store_layers(store, NULL, &err), CS_RESULT_NULL_PARAMETER);
    CHECK(list == NULL);
    CHECK(cs_layer_list_len(NULL) == 0);
    CHECK(cs_layer_list_get(NULL, 0) == NULL);
    cs_layer_list_free(NULL);
}

static void big_data_round_trips(cs_store *store) {
    static const uint8_t blob[] = {0, 1, 2, 255, 'x'};
    OK(cs_layer_set_big_data(store, "base", "blob", blob, sizeof blob, &err));
    OK(cs_layer_set_big_data(store, "base", "empty", NULL, 0, &err));
    FAILS(cs_layer_set_big_data(store, "base", "bad", NULL, 3, &err), CS_RESULT_NULL_PARAMETER);
    FAILS(cs_layer_set_big_data(store, "base", "", blob, 1, &err), CS_RESULT_INVALID_ARGUMENT);
    FAILS(cs_layer_set_big_data(store, "nothing", "blob", blob, 1, &err), CS_RESULT_LAYER_UNKNOWN);

    uint8_t *data = NULL;
    size_t len = 99;
    OK(cs_layer_big_data(store, "base", "blob", &data, &len, &err));
    CHECK(len == sizeof blob && memcmp(data, blob, len) == 0);
    cs_bytes_free(data);
    OK(cs_layer_big_data(store, "base", "empty", &data, &len, &err));
    CHECK(len == 0 && data != NULL);
    cs_bytes_free(data);
    data = NULL;
    FAILS(cs_layer_big_data(store, "base", "missing", &data, &len, &err), CS_RESULT_BIG_DATA_UNKNOWN);
    FAILS(cs_layer_big_data(store, "base", "blob", &data, NULL, &err), CS_RESULT_NULL_PARAMETER);
    CHECK(data == NULL);

    /* Through file descriptors, which stay open and belong to the caller. */
    char dir[32], in_path[64], out_path[64];
    make_temp_dir(dir);
    snprintf(in_path, sizeof in_path, "%s/in", dir);
    snprintf(out_path, sizeof out_path, "%s/out", dir);
    int in = open(in_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(in >= 0);
    const char text[] = "layer big data through a descriptor";
    CHECK(write(in, text, sizeof text) == (ssize_t)sizeof text);
    CHECK(lseek(in, 0, SEEK_SET) == 0);
    OK(cs_layer_set_big_data_fd(store, "base", "from-fd", in, &err));
    CHECK(lseek(in, 0, SEEK_CUR) == (off_t)sizeof text);
    CHECK(close(in) == 0);

    int out = open(out_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(out >= 0);
    OK(cs_layer_big_data_fd(store, "base", "from-fd", out, &err));
    char back[sizeof text + 8];
    CHECK(pread(out, back, sizeof back, 0) == (ssize_t)sizeof text);
    CHECK(memcmp(back, text, sizeof text) == 0);
    FAILS(cs_layer_big_data_fd(store, "base", "missing", out, &err), CS_RESULT_BIG_DATA_UNKNOWN);
    CHECK(close(out) == 0);
    FAILS(cs_layer_set_big_data_fd(store, "base", "x", -1, &err), CS_RESULT_INVALID_ARGUMENT);
    CHECK(cs_layer_big_data_fd(store, "base", "blob", out, &err) == CS_RESULT_IO); /* closed */
    CHECK(cs_error_errno(err) == EBADF);
    cs_error_free(err);
    err = NULL;
    remove_tree(dir);

    cs_strarray names;
    OK(cs_layer_big_data_names(store, "base", &names, &err));
    CHECK(names.count == 3);
    CHECK_STR(names.strings[0], "blob");
    CHECK_STR(names.strings[1], "empty");
    CHECK_STR(names.strings[2], "from-fd");
    cs_strarray_dispose(&names);
    FAILS(cs_layer_big_data_names(store, "nothing", &names, &err), CS_RESULT_LAYER_UNKNOWN);
}

static void mounts_are_counted(cs_store *store) {
    uint32_t count = 99;
    OK(cs_layer_mounted(store, "base", &count, &err));
    CHECK(count == 0);
    FAILS(cs_layer_unmount(store, "base", false, NULL, &err), CS_RESULT_LAYER_NOT_MOUNTED);

    char *first = NULL, *second = NULL;
    OK(cs_layer_mount(store, "base", NULL, &first, &err));
    OK(cs_layer_mount(store, "base", "label", &second, &err));
    CHECK_STR(second, first);
    CHECK(access(first, F_OK) == 0);
    OK(cs_layer_mounted(store, "base", &count, &err));
    CHECK(count == 2);
    cs_layer *snapshot = NULL;
    OK(cs_layer_get(store, "base", &snapshot, &err));
    CHECK_STR(cs_layer_mount_point(snapshot), first);
    CHECK(cs_layer_mount_count(snapshot) == 2);
    cs_layer_free(snapshot);
    cs_string_free(first);
    cs_string_free(second);

    bool still_mounted = false;
    OK(cs_layer_unmount(store, "base", false, &still_mounted, &err));
    CHECK(still_mounted);
    OK(cs_layer_unmount(store, "base", false, &still_mounted, &err));
    CHECK(!still_mounted);
    OK(cs_layer_mount(store, "base", NULL, &first, &err));
    cs_string_free(first);
    OK(cs_layer_mount(store, "base", NULL, &first, &err));
    cs_string_free(first);
    OK(cs_layer_unmount(store, "base", true, &still_mounted, &err));
    CHECK(!still_mounted);
    OK(cs_layer_mounted(store, "base", &count, &err));
    CHECK(count == 0);
    FAILS(cs_layer_mount(store, "nothing", NULL, &first, &err), CS_RESULT_LAYER_UNKNOWN);
    FAILS(cs_layer_mounted(store, "nothing", &count, &err), CS_RESULT_LAYER_UNKNOWN);
    FAILS(cs_layer_mount(store, "base", NULL, NULL, &err), CS_RESULT_NULL_PARAMETER);
}

static void deletion_follows_the_safety_rules(cs_store *store) {
    int64_t size = -1;
    FAILS(cs_layer_size(store, "base", &size, &err), CS_RESULT_SIZE_UNKNOWN);
    FAILS(cs_layer_size(store, "nothing", &size, &err), CS_RESULT_LAYER_UNKNOWN);
    CHECK(size == -1);

    FAILS(cs_layer_delete(store, "base", &err), CS_RESULT_LAYER_HAS_CHILDREN);
    cs_image *image = NULL;
    OK(cs_image_create(store, LAYER_ID, NULL, &image, &err));
    FAILS(cs_layer_delete(store, LAYER_ID, &err), CS_RESULT_LAYER_USED_BY_IMAGE);
    cs_layer *top = create_layer(store, LAYER_ID, NULL);
    cs_container *container = NULL;
    OK(cs_container_create(store, NULL, NULL, &container, &err));
    FAILS(cs_layer_delete(store, cs_container_layer(container), &err), CS_RESULT_LAYER_USED_BY_CONTAINER);

    /* A container's layer cannot become a parent. */
    cs_layer_options *options = cs_layer_options_new();
    OK(cs_layer_options_set_parent(options, cs_container_layer(container), &err));
    cs_layer *refused = NULL;
    FAILS(cs_layer_create(store, options, &refused, &err), CS_RESULT_PARENT_IS_CONTAINER);
    cs_layer_options_free(options);

    /* A snapshot outlives the layer it shows. */
    OK(cs_layer_delete(store, cs_layer_id(top), &err));
    CHECK(strlen(cs_layer_id(top)) == 64);
    cs_layer *gone = NULL;
    FAILS(cs_layer_get(store, cs_layer_id(top), &gone, &err), CS_RESULT_LAYER_UNKNOWN);
    FAILS(cs_layer_delete(store, cs_layer_id(top), &err), CS_RESULT_LAYER_UNKNOWN);
    FAILS(cs_layer_delete(NULL, "base", &err), CS_RESULT_NULL_PARAMETER);
    cs_layer_free(top);
    cs_image_free(image);
    cs_container_free(container);
}

/* Import `len` bytes of `stream` through a pipe; it must fail with CS_RESULT_BAD_ARCHIVE and a
 * message holding `words` (those of Go's message, which callers may look for). */
static void import_fails_with_words(cs_store *store, const void *stream, size_t len, const char *words) {
    int fds[2];
    CHECK(pipe(fds) == 0);
    CHECK(write(fds[1], stream, len) == (ssize_t)len);
    close(fds[1]);
    cs_layer *layer = NULL;
    CHECK(cs_layer_import_fd(store, NULL, fds[0], &layer, &err) == CS_RESULT_BAD_ARCHIVE);
    close(fds[0]);
    CHECK(layer == NULL);
    CHECK(err != NULL && cs_error_code(err) == CS_RESULT_BAD_ARCHIVE);
    CHECK(strstr(cs_error_message(err), words) != NULL);
    cs_error_free(err);
    err = NULL;
}

/* Junk and truncated tars keep their code; their messages carry Go's words. */
static void bad_tars_say_what_go_says(cs_store *store) {
    cs_layer_list *layers = NULL;
    OK(cs_store_layers(store, &layers, &err));
    size_t layers_before = cs_layer_list_len(layers);
    cs_layer_list_free(layers);
    static char junk[1024];
    memset(junk, 'j', sizeof junk);
    import_fails_with_words(store, junk, sizeof junk, "invalid tar header");
    import_fails_with_words(store, "hello", 5, "unexpected EOF");
    /* A header announcing 1000 bytes of data, followed by 10. */
    static char header[512 + 10];
    memset(header, 0, sizeof header);
    strcpy(header, "cut-file");
    memcpy(header + 100, "0000644", 7);
    memcpy(header + 108, "0000000", 7);
    memcpy(header + 116, "0000000", 7);
    memcpy(header + 124, "00000001750", 11);
    memcpy(header + 136, "00000000000", 11);
    header[156] = '0';
    memcpy(header + 257, "ustar\00000", 8);
    memset(header + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++) sum += (unsigned char)header[i];
    snprintf(header + 148, 8, "%06o", sum);
    import_fails_with_words(store, header, sizeof header, "unexpected EOF");
    /* No half-made layer is left. */
    OK(cs_store_layers(store, &layers, &err));
    CHECK(cs_layer_list_len(layers) == layers_before);
    cs_layer_list_free(layers);
}

int main(void) {
    struct temp_store t;
    temp_store_open(&t);
    a_layer_has_what_its_options_said(t.store);
    creation_errors_have_their_codes(t.store);
    lists_hold_snapshots(t.store);
    big_data_round_trips(t.store);
    mounts_are_counted(t.store);
    deletion_follows_the_safety_rules(t.store);
    bad_tars_say_what_go_says(t.store);
    temp_store_close(&t);
    return finish();
}

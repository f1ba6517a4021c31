/*
 * The store: options and their errors, storage.conf and the environment, getters, status and
 * version, the operations on any record by ID or name (lookup, exists, names with stealing,
 * metadata, delete, wipe), shutdown with mounts, and read-only stores.
 */
#include "check.h"

#include <sys/stat.h>
#include <unistd.h>

static int strarray_equals(const cs_strarray *array, const char *const *want, size_t count) {
    if (array->count != count) return 0;
    for (size_t i = 0; i < count; i++)
        if (strcmp(array->strings[i], want[i]) != 0) return 0;
    return 1;
}

static void check_names(cs_store *store, const char *key, const char *const *want, size_t count) {
    cs_strarray names;
    OK(cs_store_get_names(store, key, &names, &err));
    CHECK(strarray_equals(&names, want, count));
    cs_strarray_dispose(&names);
    CHECK(names.strings == NULL && names.count == 0);
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fputs(text, f);
    fclose(f);
}

static void options_reach_the_opened_store(void) {
    char dir[32], graph[64], run[64], extra[64], missing_conf[64];
    make_temp_dir(dir);
    snprintf(graph, sizeof graph, "%s/graph", dir);
    snprintf(run, sizeof run, "%s/run", dir);
    snprintf(extra, sizeof extra, "%s/extra", dir);
    snprintf(missing_conf, sizeof missing_conf, "%s/missing.conf", dir);

    cs_store_options *options = cs_store_options_new();
    CHECK(options != NULL);
    OK(cs_store_options_set_graph_root(options, graph, &err));
    OK(cs_store_options_set_run_root(options, run, &err));
    OK(cs_store_options_set_driver(options, "vfs", &err));
    OK(cs_store_options_add_driver_option(options, "vfs.ignore_chown_errors=true", &err));
    OK(cs_store_options_add_driver_option(options, "overlay.mountopt=nodev", &err)); /* other drivers' are ignored */
    OK(cs_store_options_set_config_file(options, missing_conf, &err));              /* missing = defaults */
    CHECK(mkdir(extra, 0700) == 0); /* an additional image store must exist; an empty one adds nothing */
    OK(cs_store_options_add_additional_image_store(options, extra, &err));
    OK(cs_store_options_set_read_only(options, false, &err));
    cs_id_map map = {0, 100000, 65536};
    OK(cs_store_options_set_uid_map(options, &map, 1, &err));
    OK(cs_store_options_set_gid_map(options, &map, 1, &err));
    FAILS(cs_store_options_set_uid_map(options, NULL, 1, &err), CS_RESULT_NULL_PARAMETER);
    FAILS(cs_store_options_set_gid_map(NULL, &map, 1, &err), CS_RESULT_NULL_PARAMETER);
    FAILS(cs_store_options_set_read_only(NULL, true, &err), CS_RESULT_NULL_PARAMETER);
    FAILS(cs_store_options_set_config_file(NULL, NULL, &err), CS_RESULT_NULL_PARAMETER);
    FAILS(cs_store_options_add_additional_image_store(options, NULL, &err), CS_RESULT_NULL_PARAMETER);
    OK(cs_store_options_set_compat_level(options, "1.43", &err));
    FAILS(cs_store_options_set_compat_level(options, "1.50", &err), CS_RESULT_INVALID_ARGUMENT);
    FAILS(cs_store_options_set_compat_level(options, "", &err), CS_RESULT_INVALID_ARGUMENT);
    FAILS(cs_store_options_set_compat_level(NULL, "1.57", &err), CS_RESULT_NULL_PARAMETER);
    FAILS(cs_store_options_set_transient(NULL, true, &err), CS_RESULT_NULL_PARAMETER);
    FAILS(cs_store_options_set_image_store(NULL, "/images", &err), CS_RESULT_NULL_PARAMETER);

    cs_store *store = NULL;
    OK(cs_store_open(options, &store, &err));
    CHECK_STR(cs_store_graph_root(store), graph);
    CHECK_STR(cs_store_run_root(store), run);
    CHECK_STR(cs_store_driver_name(store), "vfs");
    CHECK(access(graph, F_OK) == 0 && access(run, F_OK) == 0);

    /* The settings it was opened with: the caller's driver options as given (other drivers'
     * too), the default ID maps, the compat level; no image store, not transient. */
    cs_strarray driver_options;
    const char *const want_options[] = {"vfs.ignore_chown_errors=true", "overlay.mountopt=nodev"};
    OK(cs_store_driver_options(store, &driver_options, &err));
    CHECK(strarray_equals(&driver_options, want_options, 2));
    cs_strarray_dispose(&driver_options);
    FAILS(cs_store_driver_options(store, NULL, &err), CS_RESULT_NULL_PARAMETER);
    FAILS(cs_store_driver_options(NULL, &driver_options, &err), CS_RESULT_NULL_PARAMETER);
    CHECK(cs_store_uid_map_count(store) == 1 && cs_store_gid_map_count(store) == 1);
    const cs_id_map *uid_map = cs_store_uid_map(store), *gid_map = cs_store_gid_map(store);
    CHECK(uid_map != NULL && uid_map->container_id == 0 && uid_map->host_id == 100000 && uid_map->size == 65536);
    CHECK(gid_map != NULL && gid_map->host_id == 100000);
    CHECK(cs_store_uid_map_count(NULL) == 0 && cs_store_uid_map(NULL) == NULL);
    CHECK(cs_store_gid_map_count(NULL) == 0 && cs_store_gid_map(NULL) == NULL);
    CHECK_STR(cs_store_compat_level(store), "1.43");
    CHECK(cs_store_compat_level(NULL) == NULL);
    CHECK(!cs_store_transient(store) && !cs_store_transient(NULL));
    CHECK(cs_store_image_store(store) == NULL && cs_store_image_store(NULL) == NULL);

    /* A container made without maps and without an image gets the store's default maps. */
    cs_container *container = NULL;
    OK(cs_container_create(store, NULL, NULL, &container, &err));
    CHECK(strstr(cs_container_json(container), "\"uidmap\":[{\"container_id\":0,\"host_id\":100000,\"size\":65536}]") != NULL);
    cs_container_free(container);

    char *json = NULL;
    OK(cs_store_status_json(store, &json, &err));
    CHECK(json[0] == '[');
    cs_string_free(json);
    OK(cs_store_version_json(store, &json, &err));
    CHECK(strstr(json, "[\"Version\",\"") != NULL);
    cs_string_free(json);
    FAILS(cs_store_status_json(store, NULL, &err), CS_RESULT_NULL_PARAMETER);
    FAILS(cs_store_version_json(NULL, &json, &err), CS_RESULT_NULL_PARAMETER);
    cs_store_free(store);

    /* Bad settings fail at open, with the code of what is wrong. */
    store = NULL;
    OK(cs_store_options_set_driver(options, "nosuchdriver", &err));
    FAILS(cs_store_open(options, &store, &err), CS_RESULT_NOT_SUPPORTED);
    CHECK(store == NULL); /* out-parameters are written only on success */
    OK(cs_store_options_set_driver(options, "vfs", &err));
    OK(cs_store_options_add_driver_option(options, "vfs.nosuchoption=1", &err));
    FAILS(cs_store_open(options, &store, &err), CS_RESULT_CONFIG);
    cs_store_options_free(options);
    remove_tree(dir);
}

static void storage_conf_and_the_environment_choose_the_roots(void) {
    char dir[32], conf[64], bad_conf[64], settings_conf[64], conf_text[512], graph[64], images[64], other_images[64];
    make_temp_dir(dir);
    snprintf(conf, sizeof conf, "%s/storage.conf", dir);
    snprintf(bad_conf, sizeof bad_conf, "%s/bad.conf", dir);
    snprintf(settings_conf, sizeof settings_conf, "%s/settings.conf", dir);
    snprintf(graph, sizeof graph, "%s/conf-graph", dir);
    snprintf(images, sizeof images, "%s/images", dir);
    snprintf(other_images, sizeof other_images, "%s/other-images", dir);
    snprintf(conf_text, sizeof conf_text,
             "[storage]\ndriver = \"vfs\"\ngraphroot = \"%s/conf-graph\"\nrunroot = \"%s/conf-run\"\n", dir, dir);
    write_file(conf, conf_text);
    write_file(bad_conf, "[storage\n");
    snprintf(conf_text, sizeof conf_text,
             "[storage]\ndriver = \"vfs\"\ngraphroot = \"%s/conf-graph\"\nrunroot = \"%s/conf-run\"\n"
             "transient_store = true\nimagestore = \"%s\"\n[storage.options.vfs]\nsync = \"none\"\n",
             dir, dir, images);
    write_file(settings_conf, conf_text);

    cs_store_options *options = cs_store_options_new();
    OK(cs_store_options_set_config_file(options, conf, &err));
    cs_store *store = NULL;
    OK(cs_store_open(options, &store, &err));
    CHECK_STR(cs_store_graph_root(store), graph);
    cs_store_free(store);

    OK(cs_store_options_set_config_file(options, bad_conf, &err));
    FAILS(cs_store_open(options, &store, &err), CS_RESULT_CONFIG);

    /* transient_store and imagestore come from the file unless the options set them; keys
     * libcstorage does not implement are accepted (with a warning through the log). With the
     * split image store (vfs), images and image layers' data live under it. */
    OK(cs_store_options_set_config_file(options, settings_conf, &err));
    store = NULL;
    OK(cs_store_open(options, &store, &err));
    CHECK_STR(cs_store_image_store(store), images);
    {
        cs_layer *split_layer = NULL;
        cs_image *split_image = NULL;
        char path[256];
        OK(cs_layer_create(store, NULL, &split_layer, &err));
        OK(cs_image_create(store, cs_layer_id(split_layer), NULL, &split_image, &err));
        snprintf(path, sizeof path, "%s/vfs-images/images.json", images);
        CHECK(access(path, F_OK) == 0);
        snprintf(path, sizeof path, "%s/vfs/dir/%s", images, cs_layer_id(split_layer));
        CHECK(access(path, F_OK) == 0);
        snprintf(path, sizeof path, "%s/vfs-images/images.json", graph);
        CHECK(access(path, F_OK) != 0);
        /* A layer containers write to keeps its data under the graph root. */
        cs_layer_options *writeable = cs_layer_options_new();
        OK(cs_layer_options_set_writeable(writeable, true, &err));
        FAILS(cs_layer_options_set_writeable(NULL, true, &err), CS_RESULT_NULL_PARAMETER);
        cs_layer *rw_layer = NULL;
        OK(cs_layer_create(store, writeable, &rw_layer, &err));
        cs_layer_options_free(writeable);
        snprintf(path, sizeof path, "%s/vfs/dir/%s", graph, cs_layer_id(rw_layer));
        CHECK(access(path, F_OK) == 0);
        snprintf(path, sizeof path, "%s/vfs/dir/%s", images, cs_layer_id(rw_layer));
        CHECK(access(path, F_OK) != 0);
        OK(cs_layer_delete(store, cs_layer_id(rw_layer), &err));
        cs_layer_free(rw_layer);
        cs_image_free(split_image);
        cs_layer_free(split_layer);
    }
    cs_store_free(store);
    OK(cs_store_options_set_image_store(options, other_images, &err));
    OK(cs_store_open(options, &store, &err));
    CHECK_STR(cs_store_image_store(store), other_images);
    cs_store_free(store);
    store = NULL;
    OK(cs_store_options_set_image_store(options, "relative/images", &err));
    FAILS(cs_store_open(options, &store, &err), CS_RESULT_CONFIG);
    OK(cs_store_options_set_image_store(options, NULL, &err));
    snprintf(conf_text, sizeof conf_text,
             "[storage]\ndriver = \"vfs\"\ngraphroot = \"%s/conf-graph\"\nrunroot = \"%s/conf-run\"\n"
             "transient_store = true\n[storage.options.vfs]\nsync = \"none\"\n",
             dir, dir);
    write_file(settings_conf, conf_text);
    OK(cs_store_open(options, &store, &err));
    CHECK(cs_store_transient(store));
    CHECK(cs_store_image_store(store) == NULL);
    CHECK_STR(cs_store_compat_level(store), "1.57");
    CHECK(cs_store_uid_map_count(store) == 0 && cs_store_uid_map(store) == NULL);
    cs_store_free(store);
    OK(cs_store_options_set_transient(options, false, &err));
    OK(cs_store_open(options, &store, &err));
    CHECK(!cs_store_transient(store));
    cs_store_free(store);

    /* CSTORAGE_COMPAT sets the compat level the options leave unset; a bad one fails the open. */
    CHECK(setenv("CSTORAGE_COMPAT", "1.43", 1) == 0);
    OK(cs_store_open(options, &store, &err));
    CHECK_STR(cs_store_compat_level(store), "1.43");
    cs_store_free(store);
    OK(cs_store_options_set_compat_level(options, "1.57", &err));
    OK(cs_store_open(options, &store, &err));
    CHECK_STR(cs_store_compat_level(store), "1.57");
    cs_store_free(store);
    OK(cs_store_options_set_compat_level(options, NULL, &err));
    CHECK(setenv("CSTORAGE_COMPAT", "1.5", 1) == 0);
    FAILS(cs_store_open(options, &store, &err), CS_RESULT_CONFIG);
    CHECK(unsetenv("CSTORAGE_COMPAT") == 0);
    cs_store_options_free(options);

    /* NULL options: everything from the file CONTAINERS_STORAGE_CONF names. */
    CHECK(setenv("CONTAINERS_STORAGE_CONF", conf, 1) == 0);
    OK(cs_store_open(NULL, &store, &err));
    CHECK_STR(cs_store_graph_root(store), graph);
    CHECK_STR(cs_store_driver_name(store), "vfs");
    cs_store_free(store);
    CHECK(unsetenv("CONTAINERS_STORAGE_CONF") == 0);
    remove_tree(dir);
}

static void records_are_found_renamed_and_deleted_by_id_or_name(void) {
    struct temp_store t;
    temp_store_open(&t);
    cs_store *store = t.store;

    cs_layer_options *layer_options = cs_layer_options_new();
    OK(cs_layer_options_add_name(layer_options, "base", &err));
    cs_layer *layer = NULL;
    OK(cs_layer_create(store, layer_options, &layer, &err));
    cs_layer_options_free(layer_options);
    cs_image_options *image_options = cs_image_options_new();
    OK(cs_image_options_add_name(image_options, "img", &err));
    cs_image *image = NULL;
    OK(cs_image_create(store, "base", image_options, &image, &err));
    cs_image_options_free(image_options);
    cs_container_options *container_options = cs_container_options_new();
    OK(cs_container_options_add_name(container_options, "ctr", &err));
    cs_container *container = NULL;
    OK(cs_container_create(store, "img", container_options, &container, &err));
    cs_container_options_free(container_options);

    char *id = NULL;
    OK(cs_store_lookup(store, "base", &id, &err));
    CHECK_STR(id, cs_layer_id(layer));
    cs_string_free(id);
    char prefix[13];
    snprintf(prefix, sizeof prefix, "%s", cs_image_id(image));
    OK(cs_store_lookup(store, prefix, &id, &err));
    CHECK_STR(id, cs_image_id(image));
    cs_string_free(id);
    OK(cs_store_lookup(store, "ctr", &id, &err));
    CHECK_STR(id, cs_container_id(container));
    cs_string_free(id);
    id = NULL;
    FAILS(cs_store_lookup(store, "nothing", &id, &err), CS_RESULT_NOT_AN_ID);
    CHECK(id == NULL);
    FAILS(cs_store_lookup(store, NULL, &id, &err), CS_RESULT_NULL_PARAMETER);

    bool exists = false;
    OK(cs_store_exists(store, "img", &exists, &err));
    CHECK(exists);
    OK(cs_store_exists(store, "nothing", &exists, &err));
    CHECK(!exists);
    FAILS(cs_store_exists(store, "img", NULL, &err), CS_RESULT_NULL_PARAMETER);

    /* Names: add after the current ones, remove, replace. */
    const char *more[] = {"img2", "img3"};
    OK(cs_store_add_names(store, "img", more, 2, &err));
    check_names(store, cs_image_id(image), (const char *[]){"img", "img2", "img3"}, 3);
    OK(cs_store_remove_names(store, "img2", (const char *[]){"img2"}, 1, &err));
    check_names(store, cs_image_id(image), (const char *[]){"img", "img3"}, 2);
    OK(cs_store_set_names(store, "img", (const char *[]){"only"}, 1, &err));
    check_names(store, "only", (const char *[]){"only"}, 1);
    FAILS(cs_store_set_names(store, "only", NULL, 1, &err), CS_RESULT_NULL_PARAMETER);
    FAILS(cs_store_add_names(store, "only", (const char *[]){NULL}, 1, &err), CS_RESULT_NULL_PARAMETER);
    FAILS(cs_store_get_names(store, "nothing", &(cs_strarray){NULL, 0}, &err), CS_RESULT_NOT_AN_ID);

    /* A name another record of the same kind has moves over, with set and with add. */
    cs_layer *other = NULL;
    OK(cs_layer_create(store, NULL, &other, &err));
    OK(cs_store_set_names(store, cs_layer_id(other), (const char *[]){"base"}, 1, &err));
    check_names(store, cs_layer_id(layer), NULL, 0);
    check_names(store, "base", (const char *[]){"base"}, 1);
    cs_image *second = NULL;
    OK(cs_image_create(store, NULL, NULL, &second, &err));
    OK(cs_store_add_names(store, cs_image_id(second), (const char *[]){"only"}, 1, &err));
    check_names(store, cs_image_id(image), NULL, 0);
    check_names(store, cs_image_id(second), (const char *[]){"only"}, 1);

    /* Metadata of any kind of record. */
    char *metadata = NULL;
    OK(cs_store_metadata(store, "ctr", &metadata, &err));
    CHECK_STR(metadata, "");
    cs_string_free(metadata);
    OK(cs_store_set_metadata(store, "ctr", "{\"a\":1}", &err));
    OK(cs_store_metadata(store, cs_container_id(container), &metadata, &err));
    CHECK_STR(metadata, "{\"a\":1}");
    cs_string_free(metadata);
    FAILS(cs_store_set_metadata(store, "nothing", "x", &err), CS_RESULT_NOT_AN_ID);
    FAILS(cs_store_metadata(store, "nothing", &metadata, &err), CS_RESULT_NOT_AN_ID);

    /* Go's Delete: no safety checks, whatever the key names. */
    OK(cs_store_delete(store, "ctr", &err));
    OK(cs_store_exists(store, "ctr", &exists, &err));
    CHECK(!exists);
    OK(cs_store_delete(store, cs_image_id(image), &err));
    OK(cs_store_delete(store, "base", &err));
    FAILS(cs_store_delete(store, "nothing", &err), CS_RESULT_NOT_AN_ID);

    /* Wipe: nothing left. */
    cs_container *before_wipe = NULL;
    OK(cs_container_create(store, cs_image_id(second), NULL, &before_wipe, &err));
    cs_container_free(before_wipe);
    OK(cs_store_wipe(store, &err));
    cs_layer_list *layers = NULL;
    OK(cs_store_layers(store, &layers, &err));
    CHECK(cs_layer_list_len(layers) == 0);
    cs_layer_list_free(layers);
    FAILS(cs_store_wipe(NULL, &err), CS_RESULT_NULL_PARAMETER);

    cs_layer_free(layer);
    cs_layer_free(other);
    cs_image_free(image);
    cs_image_free(second);
    cs_container_free(container);
    temp_store_close(&t);
}

static void shutdown_reports_or_releases_mounts(void) {
    struct temp_store t;
    temp_store_open(&t);
    cs_layer *layer = NULL;
    OK(cs_layer_create(t.store, NULL, &layer, &err));
    char *path = NULL;
    OK(cs_layer_mount(t.store, cs_layer_id(layer), NULL, &path, &err));
    cs_string_free(path);

    cs_strarray still_mounted;
    OK(cs_store_shutdown(t.store, false, &still_mounted, &err));
    CHECK(strarray_equals(&still_mounted, (const char *[]){cs_layer_id(layer)}, 1));
    cs_strarray_dispose(&still_mounted);
    uint32_t count = 0;
    OK(cs_layer_mounted(t.store, cs_layer_id(layer), &count, &err));
    CHECK(count == 1);

    OK(cs_store_shutdown(t.store, true, &still_mounted, &err));
    CHECK(still_mounted.count == 0 && still_mounted.strings == NULL);
    OK(cs_layer_mounted(t.store, cs_layer_id(layer), &count, &err));
    CHECK(count == 0);
    OK(cs_store_shutdown(t.store, false, NULL, &err));
    FAILS(cs_store_shutdown(NULL, false, NULL, &err), CS_RESULT_NULL_PARAMETER);
    cs_layer_free(layer);
    temp_store_close(&t);
}

static void a_read_only_store_refuses_changes(void) {
    struct temp_store t;
    temp_store_open(&t);
    cs_layer *layer = NULL;
    OK(cs_layer_create(t.store, NULL, &layer, &err));

    cs_store_options *options = cs_store_options_new();
    OK(cs_store_options_set_graph_root(options, t.graph_root, &err));
    OK(cs_store_options_set_run_root(options, t.run_root, &err));
    OK(cs_store_options_set_driver(options, "vfs", &err));
    OK(cs_store_options_set_read_only(options, true, &err));
    cs_store *read_only = NULL;
    OK(cs_store_open(options, &read_only, &err));
    cs_store_options_free(options);

    cs_layer_list *layers = NULL;
    OK(cs_store_layers(read_only, &layers, &err));
    CHECK(cs_layer_list_len(layers) == 1);
    cs_layer_list_free(layers);
    cs_layer *refused = NULL;
    FAILS(cs_layer_create(read_only, NULL, &refused, &err), CS_RESULT_STORE_READ_ONLY);
    CHECK(refused == NULL);
    FAILS(cs_store_set_metadata(read_only, cs_layer_id(layer), "x", &err), CS_RESULT_STORE_READ_ONLY);
    FAILS(cs_store_delete(read_only, cs_layer_id(layer), &err), CS_RESULT_STORE_READ_ONLY);
    cs_store_free(read_only);
    cs_layer_free(layer);
    temp_store_close(&t);
}

/* The layers and images of another store's graph root, read-only: found, flagged, not
   changed; a container of its image is ours. A path that is no directory fails the open. */
static void an_additional_image_store_is_read_only(void) {
    struct temp_store other, t;
    temp_store_open(&other);
    cs_layer *layer = NULL;
    OK(cs_layer_create(other.store, NULL, &layer, &err));
    cs_image *image = NULL;
    OK(cs_image_create(other.store, cs_layer_id(layer), NULL, &image, &err));

    make_temp_dir(t.dir);
    snprintf(t.graph_root, sizeof t.graph_root, "%s/graph", t.dir);
    snprintf(t.run_root, sizeof t.run_root, "%s/run", t.dir);
    cs_store_options *options = cs_store_options_new();
    OK(cs_store_options_set_graph_root(options, t.graph_root, &err));
    OK(cs_store_options_set_run_root(options, t.run_root, &err));
    OK(cs_store_options_set_driver(options, "vfs", &err));
    OK(cs_store_options_add_additional_image_store(options, other.graph_root, &err));
    OK(cs_store_open(options, &t.store, &err));

    cs_image *found = NULL;
    OK(cs_image_get(t.store, cs_image_id(image), &found, &err));
    CHECK(cs_image_read_only(found));
    cs_image_free(found);
    cs_layer *found_layer = NULL;
    OK(cs_layer_get(t.store, cs_layer_id(layer), &found_layer, &err));
    CHECK(cs_layer_read_only(found_layer));
    cs_layer_free(found_layer);
    FAILS(cs_store_set_metadata(t.store, cs_image_id(image), "x", &err), CS_RESULT_IMAGE_UNKNOWN);
    /* Naming its image copies the image, with its big data, into our store (as c/storage). */
    OK(cs_image_set_big_data(other.store, cs_image_id(image), "manifest", (const uint8_t *)"{}", 2, &err));
    const char *tag[] = {"localhost/tagged:1"};
    OK(cs_store_add_names(t.store, cs_image_id(image), tag, 1, &err));
    OK(cs_image_get(t.store, "localhost/tagged:1", &found, &err));
    CHECK(!cs_image_read_only(found));
    CHECK_STR(cs_image_id(found), cs_image_id(image));
    CHECK(cs_image_big_data_names_count(found) == 1);
    cs_image_free(found);
    uint8_t *data = NULL;
    size_t len = 0;
    OK(cs_image_big_data(t.store, "localhost/tagged:1", "manifest", &data, &len, &err));
    CHECK(len == 2 && memcmp(data, "{}", 2) == 0);
    cs_bytes_free(data);
    cs_strarray names = {NULL, 0};
    OK(cs_store_get_names(other.store, cs_image_id(image), &names, &err));
    CHECK(names.count == 0); /* the other store's record is unchanged */
    cs_strarray_dispose(&names);
    cs_container *container = NULL;
    OK(cs_container_create(t.store, cs_image_id(image), NULL, &container, &err));
    cs_layer *container_layer = NULL;
    OK(cs_layer_get(t.store, cs_container_layer(container), &container_layer, &err));
    CHECK(!cs_layer_read_only(container_layer));
    cs_layer_free(container_layer);
    cs_container_free(container);
    temp_store_close(&t);

    cs_store *refused = NULL;
    OK(cs_store_options_add_additional_image_store(options, "relative/store", &err));
    FAILS(cs_store_open(options, &refused, &err), CS_RESULT_CONFIG);
    CHECK(refused == NULL);
    cs_store_options_free(options);
    cs_image_free(image);
    cs_layer_free(layer);
    temp_store_close(&other);
}

int main(void) {
    options_reach_the_opened_store();
    storage_conf_and_the_environment_choose_the_roots();
    records_are_found_renamed_and_deleted_by_id_or_name();
    shutdown_reports_or_releases_mounts();
    a_read_only_store_refuses_changes();
    an_additional_image_store_is_read_only();
    return finish();
}

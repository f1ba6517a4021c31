/*
 * The overlay driver through the C API: a container on an imported layer is mounted, files are
 * written and deleted through the mount, it is unmounted, and its changes are exported as a tar
 * that holds the new file and a whiteout for the deleted one. Nothing may stay mounted.
 */
#include "check.h"

#include <fcntl.h>

static void run(const char *command) {
    if (system(command) != 0) {
        fprintf(stderr, "command failed: %s\n", command);
        exit(1);
    }
}

/* Lines of /proc/self/mountinfo that mention `dir`. */
static int mounts_under(const char *dir) {
    FILE *f = fopen("/proc/self/mountinfo", "r");
    CHECK(f != NULL);
    char line[4096];
    int count = 0;
    while (fgets(line, sizeof line, f) != NULL)
        if (strstr(line, dir) != NULL) count++;
    fclose(f);
    return count;
}

/* A new layer on `parent` with `shell` run in its mount (`%s` is the mount point); returns it. */
static cs_layer *layer_edited_by(cs_store *store, const char *parent, const char *shell) {
    cs_layer_options *options = cs_layer_options_new();
    OK(cs_layer_options_set_parent(options, parent, &err));
    cs_layer *layer = NULL;
    OK(cs_layer_create(store, options, &layer, &err));
    cs_layer_options_free(options);
    char *root = NULL, command[1024];
    OK(cs_layer_mount(store, cs_layer_id(layer), NULL, &root, &err));
    snprintf(command, sizeof command, shell, root);
    run(command);
    OK(cs_layer_unmount(store, cs_layer_id(layer), false, NULL, &err));
    cs_string_free(root);
    return layer;
}

/* A directory deleted in one layer and re-created in the next is added there, as c/storage's
 * overlay changes say (not modified). */
static void a_recreated_directory_is_added(cs_store *store, const char *base) {
    cs_layer *deleting = layer_edited_by(store, base, "rm -r %s/etc");
    cs_layer *recreating = layer_edited_by(store, cs_layer_id(deleting), "cd %s && mkdir etc && echo n > etc/new");
    cs_change_list *changes = NULL;
    OK(cs_layer_changes(store, NULL, cs_layer_id(recreating), &changes, &err));
    CHECK(cs_change_list_len(changes) == 2);
    CHECK_STR(cs_change_list_path(changes, 0), "/etc");
    CHECK(cs_change_list_kind(changes, 0) == CS_CHANGE_ADD);
    CHECK_STR(cs_change_list_path(changes, 1), "/etc/new");
    CHECK(cs_change_list_kind(changes, 1) == CS_CHANGE_ADD);
    cs_change_list_free(changes);
    OK(cs_layer_delete(store, cs_layer_id(recreating), &err));
    OK(cs_layer_delete(store, cs_layer_id(deleting), &err));
    cs_layer_free(recreating);
    cs_layer_free(deleting);
}

int main(void) {
    char dir[32], graph[64], run_root[64], tarball[96], exported[96], command[1024];
    make_temp_dir(dir);
    snprintf(graph, sizeof graph, "%s/graph", dir);
    snprintf(run_root, sizeof run_root, "%s/run", dir);
    snprintf(tarball, sizeof tarball, "%s/base.tar", dir);
    snprintf(exported, sizeof exported, "%s/diff.tar", dir);
    snprintf(command, sizeof command,
             "set -e; mkdir -p %s/src/etc; echo keep > %s/src/etc/keep; echo bye > %s/src/etc/remove;"
             " tar --numeric-owner -C %s/src -cf %s .",
             dir, dir, dir, dir, tarball);
    run(command);

    cs_store_options *options = cs_store_options_new();
    OK(cs_store_options_set_graph_root(options, graph, &err));
    OK(cs_store_options_set_run_root(options, run_root, &err));
    OK(cs_store_options_set_driver(options, "overlay", &err));
    cs_store *store = NULL;
    OK(cs_store_open(options, &store, &err));
    cs_store_options_free(options);
    CHECK_STR(cs_store_driver_name(store), "overlay");

    int fd = open(tarball, O_RDONLY);
    cs_layer *base = NULL;
    OK(cs_layer_import_fd(store, NULL, fd, &base, &err));
    close(fd);
    cs_image *image = NULL;
    OK(cs_image_create(store, cs_layer_id(base), NULL, &image, &err));
    cs_container_options *container_options = cs_container_options_new();
    OK(cs_container_options_add_name(container_options, "box", &err));
    cs_container *container = NULL;
    OK(cs_container_create(store, cs_image_id(image), container_options, &container, &err));
    cs_container_options_free(container_options);

    /* Mount, write one file, delete one from the image, unmount. */
    char *root = NULL;
    OK(cs_container_mount(store, "box", NULL, &root, &err));
    CHECK(mounts_under(graph) >= 1);
    char path[4096];
    snprintf(path, sizeof path, "%s/etc/keep", root);
    CHECK(access(path, R_OK) == 0);
    snprintf(path, sizeof path, "%s/etc/added", root);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL && fputs("added\n", f) >= 0 && fclose(f) == 0);
    snprintf(path, sizeof path, "%s/etc/remove", root);
    CHECK(unlink(path) == 0);
    uint32_t count = 0;
    OK(cs_container_mounted(store, "box", &count, &err));
    CHECK(count == 1);
    bool still = true;
    OK(cs_container_unmount(store, "box", false, &still, &err));
    CHECK(!still);
    cs_string_free(root);

    /* The image mount is read-only. */
    char *image_root = NULL;
    OK(cs_image_mount(store, cs_image_id(image), NULL, &image_root, &err));
    snprintf(path, sizeof path, "%s/etc/new", image_root);
    CHECK(fopen(path, "w") == NULL);
    OK(cs_image_unmount(store, cs_image_id(image), false, NULL, &err));
    cs_string_free(image_root);

    /* Export the container's changes as a plain tar and look inside with tar(1). */
    cs_diff_options *diff_options = cs_diff_options_new();
    OK(cs_diff_options_set_compression(diff_options, CS_DIFF_UNCOMPRESSED, &err));
    fd = open(exported, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    OK(cs_layer_export_fd(store, NULL, cs_container_layer(container), diff_options, fd, &err));
    close(fd);
    cs_diff_options_free(diff_options);
    snprintf(command, sizeof command, "tar -tf %s | grep -qx 'etc/added' && tar -tf %s | grep -qx 'etc/.wh.remove'", exported, exported);
    run(command);
    checks++;

    a_recreated_directory_is_added(store, cs_layer_id(base));

    OK(cs_container_delete(store, "box", &err));
    cs_strarray removed = {0};
    OK(cs_image_delete(store, cs_image_id(image), true, &removed, &err));
    CHECK(removed.count == 1);
    cs_strarray_dispose(&removed);
    cs_strarray left = {0};
    OK(cs_store_shutdown(store, true, &left, &err));
    CHECK(left.count == 0);
    cs_strarray_dispose(&left);
    cs_container_free(container);
    cs_image_free(image);
    cs_layer_free(base);
    cs_store_free(store);
    CHECK(mounts_under(dir) == 0);
    remove_tree(dir);
    return finish();
}

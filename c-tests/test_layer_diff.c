/*
 * Layer tar streams through the C API: import from a file descriptor and from a read callback
 * (with progress and cancel), apply a diff, export to a descriptor and to a write callback
 * (byte-identical to the import; gzip and zstd on request), changes, diff size, the chain-ID
 * helper, and the error paths: bad archive, digest mismatch, failing callbacks, NULL callbacks.
 */
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

struct buffer {
    unsigned char *data;
    size_t len;
    size_t pos;
    size_t cap;
};

static void run(const char *command) {
    if (system(command) != 0) {
        fprintf(stderr, "command failed: %s\n", command);
        exit(1);
    }
}

static struct buffer read_file(const char *path) {
    struct buffer b = {0};
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    fseek(f, 0, SEEK_END);
    b.len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    b.data = malloc(b.len);
    CHECK(b.data != NULL && fread(b.data, 1, b.len, f) == b.len);
    fclose(f);
    return b;
}

static int32_t read_from_buffer(void *userdata, uint8_t *buf, size_t len, size_t *out_n) {
    struct buffer *b = userdata;
    size_t n = b->len - b->pos < len ? b->len - b->pos : len;
    if (n > 1000) n = 1000; /* short reads must work */
    memcpy(buf, b->data + b->pos, n);
    b->pos += n;
    *out_n = n;
    return 0;
}

static int32_t read_fails(void *userdata, uint8_t *buf, size_t len, size_t *out_n) {
    (void)userdata, (void)buf, (void)len, (void)out_n;
    return EIO;
}

static int32_t write_to_buffer(void *userdata, const uint8_t *buf, size_t len, size_t *out_n) {
    struct buffer *b = userdata;
    if (b->len + len > b->cap) {
        b->cap = (b->len + len) * 2;
        b->data = realloc(b->data, b->cap);
        CHECK(b->data != NULL);
    }
    memcpy(b->data + b->len, buf, len);
    b->len += len;
    *out_n = len;
    return 0;
}

static int32_t write_fails(void *userdata, const uint8_t *buf, size_t len, size_t *out_n) {
    (void)userdata, (void)buf, (void)len, (void)out_n;
    return ENOSPC;
}

struct progress {
    uint64_t last_done;
    uint64_t total;
    int calls;
    int cancel;
};

static int32_t on_progress(void *userdata, uint64_t done, uint64_t total) {
    struct progress *p = userdata;
    p->calls++;
    p->last_done = done;
    p->total = total;
    return p->cancel;
}

static size_t layer_count(cs_store *store) {
    cs_layer_list *list = NULL;
    OK(cs_store_layers(store, &list, &err));
    size_t n = cs_layer_list_len(list);
    cs_layer_list_free(list);
    return n;
}

/* A GNU tar with times before 1970 (base-256, negative) imports, exports byte for byte, and its
 * regular file is dated the epoch on disk, as c/storage leaves it. */
static void pre_1970_times_import(struct temp_store *t) {
    char tar_path[96], cmd[1024], file[256];
    snprintf(tar_path, sizeof tar_path, "%s/old.tar", t->dir);
    snprintf(cmd, sizeof cmd,
             "set -e; mkdir -p %s/old/etc; echo old > %s/old/etc/old.txt;"
             " touch -d 1960-01-01T00:00:00Z %s/old/etc/old.txt %s/old/etc;"
             " tar --format=gnu --numeric-owner -C %s/old -cf %s etc",
             t->dir, t->dir, t->dir, t->dir, t->dir, tar_path);
    run(cmd);
    struct buffer old = read_file(tar_path);
    CHECK((old.data[512 + 136] & 0xc0) == 0xc0); /* a negative base-256 mtime */
    cs_layer *layer = NULL;
    int fd = open(tar_path, O_RDONLY);
    OK(cs_layer_import_fd(t->store, NULL, fd, &layer, &err));
    close(fd);
    struct buffer sink = {0};
    cs_diff_options *plain = cs_diff_options_new();
    OK(cs_diff_options_set_compression(plain, CS_DIFF_UNCOMPRESSED, &err));
    OK(cs_layer_export(t->store, NULL, cs_layer_id(layer), plain, write_to_buffer, &sink, &err));
    CHECK(sink.len == old.len && memcmp(sink.data, old.data, old.len) == 0);
    snprintf(file, sizeof file, "%s/vfs/dir/%s/etc/old.txt", t->graph_root, cs_layer_id(layer));
    struct stat st;
    CHECK(stat(file, &st) == 0 && st.st_mtime == 0);
    OK(cs_layer_delete(t->store, cs_layer_id(layer), &err));
    cs_diff_options_free(plain);
    cs_layer_free(layer);
    free(sink.data);
    free(old.data);
}

/* A layer with other ID maps than its parent is a re-owned copy: no changes until an owner
 * really changes (owners compared as the container sees them, as in c/storage); a container
 * with its own maps has size 0. */
static void changes_across_id_maps(struct temp_store *t) {
    char cmd[512];
    cs_layer *base = NULL;
    OK(cs_layer_create(t->store, NULL, &base, &err));
    snprintf(cmd, sizeof cmd, "echo a > %s/vfs/dir/%s/a; echo b > %s/vfs/dir/%s/b", t->graph_root, cs_layer_id(base), t->graph_root,
             cs_layer_id(base));
    run(cmd);
    cs_id_map map = {0, 100000, 65536};
    cs_layer_options *options = cs_layer_options_new();
    OK(cs_layer_options_set_parent(options, cs_layer_id(base), &err));
    OK(cs_layer_options_set_uid_map(options, &map, 1, &err));
    OK(cs_layer_options_set_gid_map(options, &map, 1, &err));
    cs_layer *mapped = NULL;
    OK(cs_layer_create(t->store, options, &mapped, &err));
    cs_layer_options_free(options);
    cs_change_list *changes = NULL;
    OK(cs_layer_changes(t->store, NULL, cs_layer_id(mapped), &changes, &err));
    CHECK(cs_change_list_len(changes) == 0);
    cs_change_list_free(changes);
    snprintf(cmd, sizeof cmd, "chown 100001:100001 %s/vfs/dir/%s/b", t->graph_root, cs_layer_id(mapped));
    run(cmd);
    OK(cs_layer_changes(t->store, NULL, cs_layer_id(mapped), &changes, &err));
    CHECK(cs_change_list_len(changes) == 1);
    CHECK_STR(cs_change_list_path(changes, 0), "/b");
    CHECK(cs_change_list_kind(changes, 0) == CS_CHANGE_MODIFY);
    cs_change_list_free(changes);

    cs_image *image = NULL;
    OK(cs_image_create(t->store, cs_layer_id(base), NULL, &image, &err));
    cs_id_map other = {0, 200000, 65536};
    cs_container_options *container_options = cs_container_options_new();
    OK(cs_container_options_set_uid_map(container_options, &other, 1, &err));
    OK(cs_container_options_set_gid_map(container_options, &other, 1, &err));
    cs_container *container = NULL;
    OK(cs_container_create(t->store, cs_image_id(image), container_options, &container, &err));
    int64_t size = -1;
    OK(cs_container_size(t->store, cs_container_id(container), &size, &err));
    CHECK(size == 0);
    OK(cs_container_delete(t->store, cs_container_id(container), &err));
    OK(cs_layer_delete(t->store, cs_layer_id(mapped), &err));
    OK(cs_image_delete(t->store, cs_image_id(image), true, NULL, &err)); /* and the base layer */
    cs_container_options_free(container_options);
    cs_container_free(container);
    cs_image_free(image);
    cs_layer_free(mapped);
    cs_layer_free(base);
}

int main(void) {
    struct temp_store t;
    temp_store_open(&t);
    char src[64], base_tar[96], child_tar[96], garbage[96], out[96], cmd[2048];
    snprintf(src, sizeof src, "%s/src", t.dir);
    snprintf(base_tar, sizeof base_tar, "%s/base.tar", t.dir);
    snprintf(child_tar, sizeof child_tar, "%s/child.tar", t.dir);
    snprintf(garbage, sizeof garbage, "%s/garbage", t.dir);
    snprintf(out, sizeof out, "%s/out.tar", t.dir);
    snprintf(cmd, sizeof cmd,
             "set -e; mkdir -p %s/base/etc %s/child/etc; echo hello > %s/base/etc/hello; echo bye > %s/base/etc/bye;"
             " ln -s hello %s/base/etc/link; echo new > %s/child/etc/new; : > %s/child/etc/.wh.bye;"
             " tar --numeric-owner -C %s/base -cf %s .; tar --numeric-owner -C %s/child -cf %s .;"
             " head -c 3000 /dev/urandom > %s",
             src, src, src, src, src, src, src, src, base_tar, src, child_tar, garbage);
    run(cmd);
    struct buffer base = read_file(base_tar);

    /* Import from a descriptor, with progress: a plain tar has equal digests and its size. */
    cs_layer_options *options = cs_layer_options_new();
    OK(cs_layer_options_add_name(options, "base", &err));
    struct progress progress = {0};
    OK(cs_layer_options_set_progress(options, on_progress, &progress, &err));
    int fd = open(base_tar, O_RDONLY);
    cs_layer *layer = NULL;
    OK(cs_layer_import_fd(t.store, options, fd, &layer, &err));
    close(fd);
    cs_layer_options_free(options);
    CHECK(progress.calls > 0 && progress.last_done == base.len && progress.total == base.len);
    CHECK(strncmp(cs_layer_uncompressed_digest(layer), "sha256:", 7) == 0);
    CHECK_STR(cs_layer_compressed_digest(layer), cs_layer_uncompressed_digest(layer));
    CHECK(cs_layer_uncompressed_size(layer) == (int64_t)base.len);
    char *diff_id = malloc(strlen(cs_layer_uncompressed_digest(layer)) + 1);
    strcpy(diff_id, cs_layer_uncompressed_digest(layer));
    cs_layer_free(layer);

    /* The same stream through a read callback gives the same digest. */
    cs_layer *again = NULL;
    OK(cs_layer_import(t.store, NULL, read_from_buffer, &base, &again, &err));
    CHECK_STR(cs_layer_uncompressed_digest(again), diff_id);
    cs_layer_list *by_digest = NULL;
    OK(cs_store_layers_by_uncompressed_digest(t.store, diff_id, &by_digest, &err));
    CHECK(cs_layer_list_len(by_digest) == 2);
    cs_layer_list_free(by_digest);
    OK(cs_layer_delete(t.store, cs_layer_id(again), &err));
    cs_layer_free(again);

    /* Failures leave no layer behind. */
    size_t before = layer_count(t.store);
    options = cs_layer_options_new();
    progress = (struct progress){.cancel = 1};
    OK(cs_layer_options_set_progress(options, on_progress, &progress, &err));
    fd = open(base_tar, O_RDONLY);
    FAILS(cs_layer_import_fd(t.store, options, fd, &layer, &err), CS_RESULT_CANCELLED);
    close(fd);
    OK(cs_layer_options_set_progress(options, NULL, NULL, &err));
    OK(cs_layer_options_set_uncompressed_digest(options, "sha256:0000000000000000000000000000000000000000000000000000000000000000", &err));
    fd = open(base_tar, O_RDONLY);
    FAILS(cs_layer_import_fd(t.store, options, fd, &layer, &err), CS_RESULT_DIGEST_MISMATCH);
    close(fd);
    cs_layer_options_free(options);
    fd = open(garbage, O_RDONLY);
    FAILS(cs_layer_import_fd(t.store, NULL, fd, &layer, &err), CS_RESULT_BAD_ARCHIVE);
    close(fd);
    cs_result rc = cs_layer_import(t.store, NULL, read_fails, NULL, &layer, &err);
    CHECK(rc == CS_RESULT_CALLBACK_FAILED && cs_error_errno(err) == EIO);
    cs_error_free(err);
    err = NULL;
    FAILS(cs_layer_import(t.store, NULL, NULL, NULL, &layer, &err), CS_RESULT_NULL_PARAMETER);
    FAILS(cs_layer_import_fd(t.store, NULL, -1, &layer, &err), CS_RESULT_INVALID_ARGUMENT);
    CHECK(layer_count(t.store) == before);

    /* Export: to a descriptor and to a callback, byte for byte; compressed on request. */
    cs_diff_options *plain = cs_diff_options_new();
    OK(cs_diff_options_set_compression(plain, CS_DIFF_UNCOMPRESSED, &err));
    fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    OK(cs_layer_export_fd(t.store, NULL, "base", plain, fd, &err));
    close(fd);
    struct buffer exported = read_file(out);
    CHECK(exported.len == base.len && memcmp(exported.data, base.data, base.len) == 0);
    free(exported.data);
    struct buffer sink = {0};
    OK(cs_layer_export(t.store, NULL, "base", NULL, write_to_buffer, &sink, &err));
    CHECK(sink.len == base.len && memcmp(sink.data, base.data, base.len) == 0);
    sink.len = 0;
    cs_diff_options *gzip = cs_diff_options_new();
    OK(cs_diff_options_set_compression(gzip, CS_DIFF_GZIP, &err));
    OK(cs_layer_export(t.store, NULL, "base", gzip, write_to_buffer, &sink, &err));
    CHECK(sink.len > 2 && sink.data[0] == 0x1f && sink.data[1] == 0x8b);
    sink.len = 0;
    OK(cs_diff_options_set_compression(gzip, CS_DIFF_ZSTD, &err));
    OK(cs_layer_export(t.store, NULL, "base", gzip, write_to_buffer, &sink, &err));
    CHECK(sink.len > 4 && sink.data[0] == 0x28 && sink.data[1] == 0xb5 && sink.data[2] == 0x2f && sink.data[3] == 0xfd);
    FAILS(cs_diff_options_set_compression(gzip, 42, &err), CS_RESULT_INVALID_ARGUMENT);
    OK(cs_diff_options_set_compression(gzip, CS_DIFF_AS_STORED, &err));
    cs_diff_options_free(gzip);
    rc = cs_layer_export(t.store, NULL, "base", plain, write_fails, NULL, &err);
    CHECK(rc == CS_RESULT_CALLBACK_FAILED && cs_error_errno(err) == ENOSPC);
    cs_error_free(err);
    err = NULL;
    FAILS(cs_layer_export(t.store, NULL, "base", plain, NULL, NULL, &err), CS_RESULT_NULL_PARAMETER);
    FAILS(cs_layer_export_fd(t.store, NULL, "no-such-layer", plain, 1, &err), CS_RESULT_LAYER_UNKNOWN);
    cs_diff_options_free(plain);
    cs_diff_options_free(NULL);

    /* Apply a diff to an empty child layer, from a descriptor; then its changes and sizes. */
    options = cs_layer_options_new();
    OK(cs_layer_options_set_parent(options, "base", &err));
    OK(cs_layer_options_add_name(options, "child", &err));
    OK(cs_layer_create(t.store, options, &layer, &err));
    cs_layer_options_free(options);
    cs_layer_free(layer);
    int64_t size = 0;
    fd = open(child_tar, O_RDONLY);
    OK(cs_layer_apply_diff_fd(t.store, "child", fd, &size, &err));
    close(fd);
    struct stat st;
    stat(child_tar, &st);
    CHECK(size == st.st_size);
    cs_change_list *changes = NULL;
    OK(cs_layer_changes(t.store, NULL, "child", &changes, &err));
    int saw_new = 0, saw_deleted = 0;
    for (size_t i = 0; i < cs_change_list_len(changes); i++) {
        if (strcmp(cs_change_list_path(changes, i), "/etc/new") == 0) saw_new = cs_change_list_kind(changes, i) == CS_CHANGE_ADD;
        if (strcmp(cs_change_list_path(changes, i), "/etc/bye") == 0) saw_deleted = cs_change_list_kind(changes, i) == CS_CHANGE_DELETE;
    }
    CHECK(saw_new && saw_deleted);
    CHECK(cs_change_list_path(changes, 1000) == NULL && cs_change_list_kind(changes, 1000) == -1);
    cs_change_list_free(changes);
    cs_change_list_free(NULL);
    /* As in c/storage 1.43: the bytes of changed files ("new\n"), not the tar's size. */
    OK(cs_layer_diff_size(t.store, NULL, "child", &size, &err));
    CHECK(size == 4);
    OK(cs_layer_diff_size(t.store, "base", "base", &size, &err));
    CHECK(size == 0);
    base.pos = 0;
    OK(cs_layer_apply_diff(t.store, "child", read_from_buffer, &base, NULL, &err));
    FAILS(cs_layer_apply_diff(t.store, "child", NULL, NULL, NULL, &err), CS_RESULT_NULL_PARAMETER);
    FAILS(cs_layer_apply_diff_fd(t.store, "nope", 0, NULL, &err), CS_RESULT_LAYER_UNKNOWN);

    /* Chain IDs: a base layer's is its diff ID; a child's hashes the pair. */
    char *chain = NULL;
    OK(cs_digest_chain_id(NULL, diff_id, &chain, &err));
    CHECK_STR(chain, diff_id);
    char *child_chain = NULL;
    OK(cs_digest_chain_id(chain, diff_id, &child_chain, &err));
    CHECK(strlen(child_chain) == 71 && strcmp(child_chain, diff_id) != 0);
    FAILS(cs_digest_chain_id(NULL, "not-a-digest", &chain, &err), CS_RESULT_INVALID_ARGUMENT);
    cs_string_free(chain);
    cs_string_free(child_chain);

    pre_1970_times_import(&t);
    changes_across_id_maps(&t);

    free(diff_id);
    free(base.data);
    free(sink.data);
    temp_store_close(&t);
    return finish();
}

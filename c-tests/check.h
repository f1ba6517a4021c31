/*
 * What every C test program shares: checks that stop at the first failure with file and line,
 * a throwaway store under /tmp, and its removal.
 *
 * Every library call in the tests passes `&err`; OK() requires success and no error, FAILS()
 * requires exactly the given code, a matching cs_error with a non-empty message, and frees it.
 */
#ifndef CS_TEST_CHECK_H
#define CS_TEST_CHECK_H

/* mkdtemp, nftw, setenv, pipe: include this header before any other. */
#define _XOPEN_SOURCE 700

#include <cstorage.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static cs_error *err;
static int checks;

#define CHECK(cond) check_true((cond), #cond, __FILE__, __LINE__)
#define CHECK_STR(got, want) check_str((got), (want), #got, __FILE__, __LINE__)
#define OK(call) check_ok((call), #call, __FILE__, __LINE__)
#define FAILS(call, code) check_fails((call), (code), #call, __FILE__, __LINE__)

static inline void fail(const char *file, int line, const char *what, const char *detail) {
    fprintf(stderr, "%s:%d: %s: %s\n", file, line, what, detail);
    exit(1);
}

static inline void check_true(int cond, const char *what, const char *file, int line) {
    checks++;
    if (!cond) fail(file, line, what, "is false");
}

static inline void check_str(const char *got, const char *want, const char *what, const char *file, int line) {
    checks++;
    if (got == NULL) fail(file, line, what, "is NULL");
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "%s:%d: %s is \"%s\", want \"%s\"\n", file, line, what, got, want);
        exit(1);
    }
}

static inline void check_ok(cs_result rc, const char *what, const char *file, int line) {
    checks++;
    if (rc != CS_RESULT_OK) {
        fprintf(stderr, "%s:%d: %s: %s: %s\n", file, line, what, cs_result_name(rc),
                err ? cs_error_message(err) : "(no error details)");
        exit(1);
    }
    if (err != NULL) fail(file, line, what, "succeeded but left an error in *err");
}

static inline void check_fails(cs_result rc, cs_result want, const char *what, const char *file, int line) {
    checks++;
    if (rc != want) {
        fprintf(stderr, "%s:%d: %s returned %s, want %s (%s)\n", file, line, what, cs_result_name(rc),
                cs_result_name(want), err ? cs_error_message(err) : "no error details");
        exit(1);
    }
    if (err == NULL) fail(file, line, what, "failed without filling *err");
    if (cs_error_code(err) != want) fail(file, line, what, "cs_error_code differs from the result");
    if (cs_error_message(err) == NULL || cs_error_message(err)[0] == '\0') fail(file, line, what, "empty error message");
    cs_error_free(err);
    err = NULL;
}

static inline int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static inline void remove_tree(const char *path) {
    if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) {
        perror(path);
        exit(1);
    }
}

/* Temp dirs not removed yet when the program exits (a failed check) are removed then. */
static char temp_dirs[8][32];
static int temp_dir_count;

static inline void remove_leftover_temp_dirs(void) {
    for (int i = 0; i < temp_dir_count; i++)
        if (access(temp_dirs[i], F_OK) == 0) nftw(temp_dirs[i], remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A new private directory under /tmp; `path` must hold 32 bytes. */
static inline void make_temp_dir(char *path) {
    strcpy(path, "/tmp/cs-ctest-XXXXXX");
    if (mkdtemp(path) == NULL) {
        perror("mkdtemp");
        exit(1);
    }
    if (temp_dir_count == 0) atexit(remove_leftover_temp_dirs);
    if (temp_dir_count < (int)(sizeof temp_dirs / sizeof temp_dirs[0])) strcpy(temp_dirs[temp_dir_count++], path);
}

/* A throwaway vfs store in its own temp directory. */
struct temp_store {
    char dir[32];
    char graph_root[64];
    char run_root[64];
    cs_store *store;
};

static inline void temp_store_open(struct temp_store *t) {
    make_temp_dir(t->dir);
    snprintf(t->graph_root, sizeof t->graph_root, "%s/graph", t->dir);
    snprintf(t->run_root, sizeof t->run_root, "%s/run", t->dir);
    cs_store_options *options = cs_store_options_new();
    CHECK(options != NULL);
    OK(cs_store_options_set_graph_root(options, t->graph_root, &err));
    OK(cs_store_options_set_run_root(options, t->run_root, &err));
    OK(cs_store_options_set_driver(options, "vfs", &err));
    OK(cs_store_open(options, &t->store, &err));
    cs_store_options_free(options);
}

static inline void temp_store_close(struct temp_store *t) {
    cs_store_free(t->store);
    t->store = NULL;
    remove_tree(t->dir);
}

/* The last line a test prints; run.sh shows it. */
static inline int finish(void) {
    printf("%d checks passed\n", checks);
    return 0;
}

#endif

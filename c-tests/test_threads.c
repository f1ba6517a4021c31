/*
 * One cs_store shared by several threads: concurrent creations, listings and mount counting
 * all land, and errors stay with the call that caused them.
 */
#include "check.h"

#include <pthread.h>

#define THREADS 4
#define ROUNDS 10

struct worker {
    cs_store *store;
    const char *shared_layer;
    int failures;
};

static void *work(void *arg) {
    struct worker *w = arg;
    for (int i = 0; i < ROUNDS; i++) {
        cs_error *error = NULL; /* each thread its own: errors are not thread-local state */
        cs_layer *layer = NULL;
        if (cs_layer_create(w->store, NULL, &layer, &error) != CS_RESULT_OK) w->failures++;
        cs_layer_free(layer);

        char *path = NULL;
        if (cs_layer_mount(w->store, w->shared_layer, NULL, &path, &error) != CS_RESULT_OK) w->failures++;
        cs_string_free(path);
        if (cs_layer_unmount(w->store, w->shared_layer, false, NULL, &error) != CS_RESULT_OK) w->failures++;

        cs_layer_list *list = NULL;
        if (cs_store_layers(w->store, &list, &error) != CS_RESULT_OK) w->failures++;
        cs_layer_list_free(list);

        if (cs_layer_get(w->store, "no-such-layer", &layer, &error) != CS_RESULT_LAYER_UNKNOWN ||
            cs_error_code(error) != CS_RESULT_LAYER_UNKNOWN)
            w->failures++;
        cs_error_free(error);
    }
    return NULL;
}

int main(void) {
    struct temp_store t;
    temp_store_open(&t);
    cs_layer *shared = NULL;
    OK(cs_layer_create(t.store, NULL, &shared, &err));

    pthread_t threads[THREADS];
    struct worker workers[THREADS];
    for (int i = 0; i < THREADS; i++) {
        workers[i] = (struct worker){t.store, cs_layer_id(shared), 0};
        CHECK(pthread_create(&threads[i], NULL, work, &workers[i]) == 0);
    }
    for (int i = 0; i < THREADS; i++) {
        CHECK(pthread_join(threads[i], NULL) == 0);
        CHECK(workers[i].failures == 0);
    }

    cs_layer_list *list = NULL;
    OK(cs_store_layers(t.store, &list, &err));
    CHECK(cs_layer_list_len(list) == 1 + THREADS * ROUNDS);
    cs_layer_list_free(list);
    uint32_t count = 99;
    OK(cs_layer_mounted(t.store, cs_layer_id(shared), &count, &err));
    CHECK(count == 0);
    cs_layer_free(shared);
    temp_store_close(&t);
    return finish();
}

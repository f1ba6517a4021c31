/*
 * Check with options and a progress callback: every step heard in order, each from 0 to its
 * total with counts that never go back, the same report as cs_store_check; a callback that
 * returns non-zero cancels with CS_RESULT_CANCELLED, nothing heard after it and no report.
 */
#include "check.h"

#include <sys/stat.h>

#define MAX_EVENTS 256

struct heard {
    int count;
    cs_check_step steps[MAX_EVENTS];
    size_t done[MAX_EVENTS], total[MAX_EVENTS];
    cs_check_step cancel_at; /* -1: never */
};

static int32_t on_progress(void *userdata, cs_check_step step, size_t done, size_t total) {
    struct heard *h = userdata;
    if (h->count < MAX_EVENTS) {
        h->steps[h->count] = step;
        h->done[h->count] = done;
        h->total[h->count] = total;
    }
    h->count++;
    return step == h->cancel_at ? 1 : 0;
}

/* The step's (first, last) done counts and its total; whether they never went back. */
static int step_ran(const struct heard *h, cs_check_step step, size_t want_total) {
    int seen = 0;
    size_t last = 0;
    for (int i = 0; i < h->count && i < MAX_EVENTS; i++) {
        if (h->steps[i] != step) continue;
        if (h->total[i] != want_total) return 0;
        if (!seen && h->done[i] != 0) return 0;
        if (seen && h->done[i] < last) return 0;
        seen = 1;
        last = h->done[i];
    }
    return seen && last == want_total;
}

int main(void) {
    struct temp_store t;
    temp_store_open(&t);

    /* Two layers, an image on the top one, and a driver directory no record owns. */
    cs_layer_options *layer_options = cs_layer_options_new();
    cs_layer *base = NULL, *top = NULL;
    OK(cs_layer_create(t.store, layer_options, &base, &err));
    OK(cs_layer_options_set_parent(layer_options, cs_layer_id(base), &err));
    OK(cs_layer_create(t.store, layer_options, &top, &err));
    cs_layer_options_free(layer_options);
    cs_image *image = NULL;
    OK(cs_image_create(t.store, cs_layer_id(top), NULL, &image, &err));
    char stray[160];
    snprintf(stray, sizeof stray, "%s/vfs/dir/%064d", t.graph_root, 5);
    CHECK(mkdir(stray, 0700) == 0);

    cs_check_options *options = cs_check_options_new();
    CHECK(options != NULL);
    OK(cs_check_options_set_full(options, true, &err));
    OK(cs_check_options_set_unreferenced_layer_max_age(options, 0, &err));
    struct heard heard = {.cancel_at = -1};
    OK(cs_check_options_set_progress(options, on_progress, &heard, &err));

    cs_check_report *report = NULL;
    OK(cs_store_check_with_options(t.store, options, &report, &err));
    CHECK(heard.count > 0 && heard.count < MAX_EVENTS);
    CHECK(step_ran(&heard, CS_CHECK_STEP_LAYERS, 2));
    CHECK(step_ran(&heard, CS_CHECK_STEP_LAYER_CONTENTS, 2));
    CHECK(step_ran(&heard, CS_CHECK_STEP_READ_ONLY_LAYERS, 0));
    CHECK(step_ran(&heard, CS_CHECK_STEP_IMAGES, 1));
    CHECK(step_ran(&heard, CS_CHECK_STEP_READ_ONLY_IMAGES, 0));
    CHECK(step_ran(&heard, CS_CHECK_STEP_CONTAINERS, 0));
    CHECK(step_ran(&heard, CS_CHECK_STEP_UNACCOUNTED_LAYER_DIRS, 3));
    int in_order = 1;
    for (int i = 1; i < heard.count && i < MAX_EVENTS; i++) in_order &= heard.steps[i - 1] <= heard.steps[i];
    CHECK(in_order);
    CHECK(heard.steps[heard.count - 1] == CS_CHECK_STEP_UNACCOUNTED_LAYER_DIRS);

    /* The same report as the plain call: the stray directory only. */
    cs_check_report *plain = NULL;
    OK(cs_store_check(t.store, true, 0, &plain, &err));
    CHECK(cs_check_report_count(report, CS_CHECK_SECTION_LAYERS) == 1);
    CHECK(cs_check_report_count(plain, CS_CHECK_SECTION_LAYERS) == 1);
    CHECK_STR(cs_check_report_id(report, CS_CHECK_SECTION_LAYERS, 0), cs_check_report_id(plain, CS_CHECK_SECTION_LAYERS, 0));
    CHECK(cs_check_report_problem_kind(report, CS_CHECK_SECTION_LAYERS, 0, 0) == CS_CHECK_PROBLEM_LAYER_UNACCOUNTED);
    cs_check_report_free(plain);
    cs_check_report_free(report);

    /* Cancelled at the start of the images step: nothing heard after, no report. */
    heard = (struct heard){.cancel_at = CS_CHECK_STEP_IMAGES};
    report = NULL;
    FAILS(cs_store_check_with_options(t.store, options, &report, &err), CS_RESULT_CANCELLED);
    CHECK(report == NULL);
    CHECK(heard.steps[heard.count - 1] == CS_CHECK_STEP_IMAGES && heard.done[heard.count - 1] == 0);
    CHECK(access(stray, F_OK) == 0);

    /* Without a callback, and with no options at all (a quick check, a day's age). */
    OK(cs_check_options_set_progress(options, NULL, NULL, &err));
    heard.count = 0;
    OK(cs_store_check_with_options(t.store, options, &report, &err));
    CHECK(heard.count == 0);
    cs_check_report_free(report);
    OK(cs_store_check_with_options(t.store, NULL, &report, &err));
    CHECK(cs_check_report_count(report, CS_CHECK_SECTION_LAYERS) == 1);
    cs_check_report_free(report);

    FAILS(cs_store_check_with_options(NULL, options, &report, &err), CS_RESULT_NULL_PARAMETER);
    FAILS(cs_store_check_with_options(t.store, options, NULL, &err), CS_RESULT_NULL_PARAMETER);
    FAILS(cs_check_options_set_full(NULL, true, &err), CS_RESULT_NULL_PARAMETER);
    cs_check_options_free(options);
    cs_check_options_free(NULL);

    cs_image_free(image);
    cs_layer_free(top);
    cs_layer_free(base);
    temp_store_close(&t);
    return finish();
}

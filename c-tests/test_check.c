/*
 * Check, repair and garbage collection: a store damaged with real files (a layer directory
 * removed, a directory no record owns, a killed import's tar-split), the owned report and its
 * getters, repair of what it found, gc of what no record owns.
 */
#include "check.h"

#include <sys/stat.h>

static int contains(const char *haystack, const char *needle) {
    return haystack != NULL && strstr(haystack, needle) != NULL;
}

int main(void) {
    struct temp_store t;
    temp_store_open(&t);

    cs_check_report *report = NULL;
    OK(cs_store_check(t.store, true, 86400, &report, &err));
    CHECK(cs_check_report_is_clean(report));
    CHECK(cs_check_report_count(report, CS_CHECK_SECTION_LAYERS) == 0);
    cs_check_report_free(report);
    FAILS(cs_store_check(t.store, true, 0, NULL, &err), CS_RESULT_NULL_PARAMETER);

    /* A layer nothing uses (reported at age 0), and a driver directory no record owns. */
    cs_layer_options *options = cs_layer_options_new();
    cs_layer *layer = NULL;
    OK(cs_layer_create(t.store, options, &layer, &err));
    cs_layer_options_free(options);
    char stray[160];
    snprintf(stray, sizeof stray, "%s/vfs/dir/%064d", t.graph_root, 5);
    CHECK(mkdir(stray, 0700) == 0);

    OK(cs_store_check(t.store, false, 0, &report, &err));
    CHECK(!cs_check_report_is_clean(report));
    CHECK(cs_check_report_count(report, CS_CHECK_SECTION_LAYERS) == 2);
    CHECK(cs_check_report_count(report, CS_CHECK_SECTION_IMAGES) == 0);
    CHECK(cs_check_report_count(report, 99) == 0);
    CHECK_STR(cs_check_report_id(report, CS_CHECK_SECTION_LAYERS, 0), cs_layer_id(layer));
    CHECK(cs_check_report_problem_count(report, CS_CHECK_SECTION_LAYERS, 0) == 1);
    CHECK(cs_check_report_problem_kind(report, CS_CHECK_SECTION_LAYERS, 0, 0) == CS_CHECK_PROBLEM_LAYER_UNREFERENCED);
    CHECK(contains(cs_check_report_problem_message(report, CS_CHECK_SECTION_LAYERS, 0, 0), "layer not referenced by any images or containers"));
    CHECK(cs_check_report_problem_kind(report, CS_CHECK_SECTION_LAYERS, 1, 0) == CS_CHECK_PROBLEM_LAYER_UNACCOUNTED);
    CHECK(cs_check_report_problem_kind(report, CS_CHECK_SECTION_LAYERS, 1, 1) == -1);
    CHECK(cs_check_report_problem_message(report, CS_CHECK_SECTION_LAYERS, 2, 0) == NULL);
    CHECK(cs_check_report_id(report, CS_CHECK_SECTION_LAYERS, 2) == NULL);
    char *json = NULL;
    OK(cs_check_report_json(report, &json, &err));
    CHECK(contains(json, "\"ROLayers\":{}"));
    CHECK(contains(json, "not accounted for"));
    cs_string_free(json);

    cs_strarray actions = {0};
    OK(cs_store_repair(t.store, report, false, &actions, &err));
    CHECK(actions.count == 2);
    CHECK(contains(actions.strings[0], cs_layer_id(layer)));
    cs_strarray_dispose(&actions);
    FAILS(cs_store_repair(t.store, NULL, false, NULL, &err), CS_RESULT_NULL_PARAMETER);
    cs_check_report_free(report);
    CHECK(access(stray, F_OK) != 0);
    cs_layer_free(layer);

    OK(cs_store_check(t.store, true, 0, &report, &err));
    CHECK(cs_check_report_is_clean(report));
    cs_check_report_free(report);

    /* gc: a tar-split a killed import left. */
    char temporary[224];
    snprintf(temporary, sizeof temporary, "%s/vfs-layers/%064d.tar-split.gz.tmp", t.graph_root, 7);
    FILE *f = fopen(temporary, "w");
    CHECK(f != NULL);
    fclose(f);
    cs_strarray removed = {0};
    OK(cs_store_gc(t.store, &removed, &err));
    CHECK(removed.count == 1);
    CHECK_STR(removed.strings[0], temporary);
    cs_strarray_dispose(&removed);
    OK(cs_store_gc(t.store, NULL, &err));
    FAILS(cs_store_gc(NULL, NULL, &err), CS_RESULT_NULL_PARAMETER);

    temp_store_close(&t);
    return finish();
}

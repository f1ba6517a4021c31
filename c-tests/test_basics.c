/*
 * The basics: versions, result names, errors, strings and arrays, the log callback, and the
 * error conventions (NULL parameters, optional err, an error already in *err, invalid UTF-8).
 */
#include "check.h"

static void versions_agree_between_header_and_library(void) {
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", CS_VERSION_MAJOR, CS_VERSION_MINOR, CS_VERSION_PATCH);
    CHECK_STR(cs_library_version_string(), expected);
    CHECK(cs_library_version_number() == CS_VERSION_NUMBER);
    CHECK(CS_VERSION_NUMBER == CS_VERSION_MAJOR * 1000000 + CS_VERSION_MINOR * 1000 + CS_VERSION_PATCH);
    CHECK(cs_library_abi_version() == CS_ABI_VERSION);
}

static void every_result_code_has_its_name(void) {
    static const struct {
        cs_result code;
        const char *name;
    } codes[] = {
        {CS_RESULT_OK, "CS_RESULT_OK"},
        {CS_RESULT_LAYER_UNKNOWN, "CS_RESULT_LAYER_UNKNOWN"},
        {CS_RESULT_IMAGE_UNKNOWN, "CS_RESULT_IMAGE_UNKNOWN"},
        {CS_RESULT_CONTAINER_UNKNOWN, "CS_RESULT_CONTAINER_UNKNOWN"},
        {CS_RESULT_NOT_AN_ID, "CS_RESULT_NOT_AN_ID"},
        {CS_RESULT_DUPLICATE_ID, "CS_RESULT_DUPLICATE_ID"},
        {CS_RESULT_DUPLICATE_NAME, "CS_RESULT_DUPLICATE_NAME"},
        {CS_RESULT_LAYER_HAS_CHILDREN, "CS_RESULT_LAYER_HAS_CHILDREN"},
        {CS_RESULT_LAYER_USED_BY_IMAGE, "CS_RESULT_LAYER_USED_BY_IMAGE"},
        {CS_RESULT_LAYER_USED_BY_CONTAINER, "CS_RESULT_LAYER_USED_BY_CONTAINER"},
        {CS_RESULT_IMAGE_USED_BY_CONTAINER, "CS_RESULT_IMAGE_USED_BY_CONTAINER"},
        {CS_RESULT_LAYER_NOT_MOUNTED, "CS_RESULT_LAYER_NOT_MOUNTED"},
        {CS_RESULT_STORE_READ_ONLY, "CS_RESULT_STORE_READ_ONLY"},
        {CS_RESULT_NOT_SUPPORTED, "CS_RESULT_NOT_SUPPORTED"},
        {CS_RESULT_SIZE_UNKNOWN, "CS_RESULT_SIZE_UNKNOWN"},
        {CS_RESULT_BIG_DATA_UNKNOWN, "CS_RESULT_BIG_DATA_UNKNOWN"},
        {CS_RESULT_LAYER_INCOMPLETE, "CS_RESULT_LAYER_INCOMPLETE"},
        {CS_RESULT_PARENT_IS_CONTAINER, "CS_RESULT_PARENT_IS_CONTAINER"},
        {CS_RESULT_MAX_DEPTH_EXCEEDED, "CS_RESULT_MAX_DEPTH_EXCEEDED"},
        {CS_RESULT_INVALID_ARGUMENT, "CS_RESULT_INVALID_ARGUMENT"},
        {CS_RESULT_NULL_PARAMETER, "CS_RESULT_NULL_PARAMETER"},
        {CS_RESULT_IO, "CS_RESULT_IO"},
        {CS_RESULT_CORRUPT_METADATA, "CS_RESULT_CORRUPT_METADATA"},
        {CS_RESULT_DIGEST_MISMATCH, "CS_RESULT_DIGEST_MISMATCH"},
        {CS_RESULT_BAD_ARCHIVE, "CS_RESULT_BAD_ARCHIVE"},
        {CS_RESULT_CALLBACK_FAILED, "CS_RESULT_CALLBACK_FAILED"},
        {CS_RESULT_CANCELLED, "CS_RESULT_CANCELLED"},
        {CS_RESULT_PANIC, "CS_RESULT_PANIC"},
        {CS_RESULT_CONFIG, "CS_RESULT_CONFIG"},
        {CS_RESULT_MOUNT, "CS_RESULT_MOUNT"},
    };
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        CHECK_STR(cs_result_name(codes[i].code), codes[i].name);
        CHECK(i == 0 || codes[i].code < 0);
    }
    CHECK(cs_result_name(1) == NULL);
    CHECK(cs_result_name(-99) == NULL);
    CHECK(cs_result_name(INT32_MIN) == NULL);
}

static void null_handles_are_harmless(void) {
    CHECK(cs_error_code(NULL) == CS_RESULT_OK);
    CHECK(cs_error_errno(NULL) == 0);
    CHECK(cs_error_message(NULL) == NULL);
    cs_error_free(NULL);
    cs_string_free(NULL);
    cs_bytes_free(NULL);
    cs_strarray_dispose(NULL);
    cs_strarray empty = {NULL, 0};
    cs_strarray_dispose(&empty);
    CHECK(empty.strings == NULL && empty.count == 0);
    cs_store_options_free(NULL);
    cs_store_free(NULL);
    CHECK(cs_store_graph_root(NULL) == NULL);
}

static void null_parameters_are_named_in_the_error(void) {
    FAILS(cs_store_options_set_graph_root(NULL, "/tmp", &err), CS_RESULT_NULL_PARAMETER);
    cs_store_options *options = cs_store_options_new();
    CHECK(options != NULL);
    OK(cs_store_options_set_graph_root(options, "/tmp/x", &err));
    OK(cs_store_options_set_graph_root(options, NULL, &err)); /* NULL unsets an optional value */
    CHECK(cs_store_options_add_driver_option(options, NULL, &err) == CS_RESULT_NULL_PARAMETER);
    CHECK(strstr(cs_error_message(err), "option") != NULL);
    CHECK(cs_error_errno(err) == 0);
    cs_error_free(err);
    err = NULL;
    FAILS(cs_store_open(options, NULL, &err), CS_RESULT_NULL_PARAMETER);
    cs_store_options_free(options);
}

static void err_is_optional_and_an_earlier_error_is_kept(void) {
    CHECK(cs_store_options_set_run_root(NULL, "/tmp", NULL) == CS_RESULT_NULL_PARAMETER);
    CHECK(cs_store_options_set_run_root(NULL, "/tmp", &err) == CS_RESULT_NULL_PARAMETER);
    cs_error *first = err;
    CHECK(cs_store_options_set_driver(NULL, "vfs", &err) == CS_RESULT_NULL_PARAMETER);
    CHECK(err == first);
    CHECK(strstr(cs_error_message(err), "options") != NULL);
    cs_error_free(err);
    err = NULL;
}

static void invalid_utf8_is_an_invalid_argument(void) {
    cs_store_options *options = cs_store_options_new();
    FAILS(cs_store_options_set_graph_root(options, "/tmp/\xff\xfe", &err), CS_RESULT_INVALID_ARGUMENT);
    cs_store_options_free(options);
}

struct log_record {
    int calls;
    int max_level_seen;
    int saw_null_parameter;
};

static void record_log(void *userdata, cs_log_level level, const char *message) {
    struct log_record *record = userdata;
    record->calls++;
    if (level > record->max_level_seen) record->max_level_seen = level;
    if (strstr(message, "CS_RESULT_NULL_PARAMETER") != NULL) record->saw_null_parameter = 1;
}

static void the_log_callback_hears_failures_at_debug_level(void) {
    struct log_record record = {0, 0, 0};
    cs_set_log_callback(record_log, &record, CS_LOG_DEBUG);
    CHECK(cs_store_options_set_driver(NULL, "vfs", NULL) == CS_RESULT_NULL_PARAMETER);
    CHECK(record.calls == 1);
    CHECK(record.max_level_seen == CS_LOG_DEBUG);
    CHECK(record.saw_null_parameter);

    cs_set_log_callback(record_log, &record, CS_LOG_WARN);
    CHECK(cs_store_options_set_driver(NULL, "vfs", NULL) == CS_RESULT_NULL_PARAMETER);
    CHECK(record.calls == 1);

    cs_set_log_callback(NULL, NULL, CS_LOG_TRACE);
    CHECK(cs_store_options_set_driver(NULL, "vfs", NULL) == CS_RESULT_NULL_PARAMETER);
    CHECK(record.calls == 1);
    CHECK(CS_LOG_ERROR < CS_LOG_WARN && CS_LOG_WARN < CS_LOG_INFO && CS_LOG_INFO < CS_LOG_DEBUG &&
          CS_LOG_DEBUG < CS_LOG_TRACE);
}

int main(void) {
    versions_agree_between_header_and_library();
    every_result_code_has_its_name();
    null_handles_are_harmless();
    null_parameters_are_named_in_the_error();
    err_is_optional_and_an_earlier_error_is_kept();
    invalid_utf8_is_an_invalid_argument();
    the_log_callback_hears_failures_at_debug_level();
    return finish();
}

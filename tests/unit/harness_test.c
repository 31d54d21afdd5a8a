/* harness_test.c: node names, message files and encoding of ledger-harness (no sockets). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"
#include "test_main.h"

static const char *const ENVELOPE =
    "{\"id\":\"harness/"
    "1\",\"type\":\"funds.reserved\",\"corr\":\"t-1\",\"body\":{\"transfer\":\"t-1\","
    "\"from\":\"alice\",\"to\":\"bob\",\"amount_minor\":5,\"currency\":\"GBP\",\"reference\":\"\"}"
    "}";

static void test_node_names_resolve_to_default_endpoints_and_overrides(void **state)
{
    (void)state;
    char endpoint[HARNESS_ENDPOINT_MAX + 1], node[HARNESS_ENDPOINT_MAX + 1];
    unsetenv("LEDGER_FRAUD_ENDPOINT");
    unsetenv("LEDGER_FRAUD_FEED");
    assert_int_equal(harness_resolve("fraud", HARNESS_INBOX, endpoint, node), LEDGER_OK);
    assert_string_equal(endpoint, "tcp://127.0.0.1:7301");
    assert_string_equal(node, "fraud");
    assert_int_equal(harness_resolve("fraud", HARNESS_FEED, endpoint, NULL), LEDGER_OK);
    assert_string_equal(endpoint, "tcp://127.0.0.1:7302");
    setenv("LEDGER_FRAUD_FEED", "tcp://10.0.0.1:9", 1);
    assert_int_equal(harness_resolve("fraud", HARNESS_FEED, endpoint, NULL), LEDGER_OK);
    assert_string_equal(endpoint, "tcp://10.0.0.1:9");
    unsetenv("LEDGER_FRAUD_FEED");
    assert_int_equal(harness_resolve("tcp://127.0.0.1:1", HARNESS_INBOX, endpoint, node),
                     LEDGER_OK);
    assert_string_equal(endpoint, "tcp://127.0.0.1:1");
    assert_int_equal(harness_resolve("bank", HARNESS_INBOX, endpoint, node), LEDGER_E_NOT_FOUND);
}

static void test_each_saga_type_has_its_receiver(void **state)
{
    (void)state;
    assert_string_equal(harness_receiver_of("transfer.requested"), "accounts");
    assert_string_equal(harness_receiver_of("funds.reserved"), "fraud");
    assert_string_equal(harness_receiver_of("fraud.rejected"), "accounts");
    assert_string_equal(harness_receiver_of("transfer.declined"), "gateway");
    assert_null(harness_receiver_of("ack"));
    assert_null(harness_receiver_of(NULL));
}

static void test_an_envelope_is_completed_and_encoded(void **state)
{
    (void)state;
    json_t *list = NULL;
    char why[256] = "";
    assert_int_equal(harness_load_text(ENVELOPE, &list, why, sizeof why), LEDGER_OK);
    assert_int_equal(json_array_size(list), 1);
    json_t *env = harness_envelope_complete(json_array_get(list, 0));
    assert_int_equal(json_integer_value(json_object_get(env, "v")), 1);
    assert_string_equal(json_string_value(json_object_get(env, "cause")), "");
    assert_true(json_integer_value(json_object_get(env, "ts")) > 0);
    void *frame = NULL;
    size_t size = 0;
    assert_int_equal(harness_encode(env, false, &frame, &size, why, sizeof why), LEDGER_OK);
    assert_true(size > 0);
    free(frame);
    json_decref(list);
}

static void test_an_invalid_message_is_refused_unless_raw(void **state)
{
    (void)state;
    json_t *list = NULL;
    char why[256] = "";
    assert_int_equal(harness_load_text(ENVELOPE, &list, why, sizeof why), LEDGER_OK);
    json_t *env = harness_envelope_complete(json_array_get(list, 0));
    json_object_set_new(json_object_get(env, "body"), "amount_minor", json_integer(-5));
    void *frame = NULL;
    size_t size = 0;
    assert_int_not_equal(harness_encode(env, false, &frame, &size, why, sizeof why), LEDGER_OK);
    assert_true(why[0] != '\0');
    assert_int_equal(harness_encode(env, true, &frame, &size, why, sizeof why), LEDGER_OK);
    free(frame);
    json_decref(list);
}

static void test_a_recorded_file_is_read_line_by_line(void **state)
{
    (void)state;
    char path[] = "/tmp/harness_test_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "{\"node\":\"accounts\",\"topic\":\"funds.reserved\",\"message\":%s}\n\n%s\n",
            ENVELOPE, ENVELOPE);
    fclose(f);
    json_t *list = NULL;
    char why[256] = "";
    assert_int_equal(harness_load_file(path, &list, why, sizeof why), LEDGER_OK);
    assert_int_equal(json_array_size(list), 2);
    for (size_t i = 0; i < 2; i++)
        assert_string_equal(json_string_value(json_object_get(json_array_get(list, i), "id")),
                            "harness/1");
    json_decref(list);

    f = fopen(path, "w");
    fprintf(f, "%s\n{broken\n", ENVELOPE);
    fclose(f);
    assert_int_equal(harness_load_file(path, &list, why, sizeof why), LEDGER_E_DECODE);
    assert_non_null(strstr(why, "line 2"));
    unlink(path);
    assert_int_equal(harness_load_file(path, &list, why, sizeof why), LEDGER_E_IO);
}

TEST_MAIN(cmocka_unit_test(test_node_names_resolve_to_default_endpoints_and_overrides),
          cmocka_unit_test(test_each_saga_type_has_its_receiver),
          cmocka_unit_test(test_an_envelope_is_completed_and_encoded),
          cmocka_unit_test(test_an_invalid_message_is_refused_unless_raw),
          cmocka_unit_test(test_a_recorded_file_is_read_line_by_line))

/* proto_json_test.c: JSON -> frame -> proto_decode -> JSON round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proto.h"
#include "proto_json.h"
#include "test_main.h"

static const char *const REQUESTED =
    "{\"v\":1,\"id\":\"gateway/"
    "42\",\"type\":\"transfer.requested\",\"corr\":\"t-1\",\"cause\":\"\","
    "\"ts\":1764028800000,\"body\":{\"transfer\":\"t-1\",\"from\":\"alice\",\"to\":\"bob\","
    "\"amount_minor\":1250,\"currency\":\"GBP\",\"reference\":\"lunch\"}}";

/* Regression: the frame size was read after msgpack_sbuffer_release had reset it (always 0). */
static void test_json_to_frame_reports_the_frame_size(void **state)
{
    (void)state;
    json_t *json = json_loads(REQUESTED, 0, NULL);
    assert_non_null(json);
    void *frame = NULL;
    size_t size = 0;
    assert_int_equal(proto_json_to_frame(json, &frame, &size), LEDGER_OK);
    assert_true(size > 100);
    proto_msg_t msg;
    assert_int_equal(proto_decode(frame, size, &msg, NULL, 0), LEDGER_OK);
    assert_int_equal(msg.type, PROTO_TRANSFER_REQUESTED);
    assert_int_equal(msg.body.transfer.amount_minor, 1250);
    assert_string_equal(msg.origin, "gateway");
    free(frame);
    json_decref(json);
}

static void test_frame_to_json_and_back_is_the_same_json(void **state)
{
    (void)state;
    json_t *json = json_loads(REQUESTED, 0, NULL);
    void *frame = NULL;
    size_t size = 0;
    assert_int_equal(proto_json_to_frame(json, &frame, &size), LEDGER_OK);
    json_t *back = proto_json_from_frame(frame, size);
    assert_non_null(back);
    assert_true(json_equal(json, back));
    free(frame);
    json_decref(back);
    json_decref(json);
}

static void test_reals_are_refused(void **state)
{
    (void)state;
    json_t *json = json_pack("{s:f}", "amount_minor", 12.5);
    void *frame = NULL;
    size_t size = 0;
    assert_int_equal(proto_json_to_frame(json, &frame, &size), LEDGER_E_INVALID);
    assert_null(frame);
    json_decref(json);
}

TEST_MAIN(cmocka_unit_test(test_json_to_frame_reports_the_frame_size),
          cmocka_unit_test(test_frame_to_json_and_back_is_the_same_json),
          cmocka_unit_test(test_reals_are_refused))

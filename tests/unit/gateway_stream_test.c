/*  gateway_stream_test.c: the stream's pure parts (gateway_stream.h): an
    event rendered with the transfer as the view holds it when it is read,
    and the Last-Event-ID parser. The stream over HTTP (suspend, resume,
    limits, stop) is driven through gateway_http in gateway_stream_http_test.c. */
#define _GNU_SOURCE /* memmem, mkdtemp */
#include "gateway_view_fx.h"
#include "test_main.h"

static void test_an_event_shows_the_transfer_as_it_is_when_read(void **state)
{
    fx_t *fx = *state;
    gateway_submit_result_t res = submit_sample(fx);
    events_seen_t seen;
    read_events(fx, 0, &seen);
    json_t *t = json_object_get(seen.events[0], "transfer");
    assert_string_equal(json_string_value(json_object_get(t, "status")), "pending");
    events_free(&seen);
    apply_ok(fx, event("accounts", 1, PROTO_TRANSFER_DECLINED, res.id, T0_MS + 1), T0_MS + 1);
    read_events(fx, 0, &seen);
    assert_int_equal(seen.count, 2);
    /* The first event still names its own step and time, with today's transfer. */
    assert_string_equal(event_type(&seen, 0), "transfer.requested");
    assert_int_equal(json_integer_value(json_object_get(seen.events[0], "ts_ms")), T0_MS);
    t = json_object_get(seen.events[0], "transfer");
    assert_string_equal(json_string_value(json_object_get(t, "status")), "declined");
    events_free(&seen);
}

static void test_an_event_of_a_missing_transfer_has_a_null_transfer(void **state)
{
    fx_t *fx = *state;
    append_events(fx, 2, T0_MS);
    events_seen_t seen;
    read_events(fx, 0, &seen);
    assert_int_equal(seen.count, 2);
    assert_int_equal(seen.seqs[1], 2);
    assert_string_equal(event_type(&seen, 0), "funds.reserved");
    assert_string_equal(json_string_value(json_object_get(seen.events[0], "message_id")),
                        "accounts/1");
    assert_true(json_is_null(json_object_get(seen.events[0], "transfer")));
    events_free(&seen);
}

static void test_a_last_event_id_is_decimal_digits_that_fit_in_64_bits(void **state)
{
    (void)state;
    uint64_t id = 0;
    assert_true(gateway_streams_parse_id("0", &id));
    assert_int_equal(id, 0);
    assert_true(gateway_streams_parse_id("18446744073709551615", &id));
    assert_true(id == UINT64_MAX);
    assert_false(gateway_streams_parse_id("18446744073709551616", &id));
    assert_false(gateway_streams_parse_id("", &id));
    assert_false(gateway_streams_parse_id("x", &id));
    assert_false(gateway_streams_parse_id("-1", &id));
    assert_false(gateway_streams_parse_id("+1", &id));
    assert_false(gateway_streams_parse_id("1 ", &id));
}

TEST_MAIN(cmocka_unit_test_setup_teardown(test_an_event_shows_the_transfer_as_it_is_when_read,
                                          setup, teardown),
          cmocka_unit_test_setup_teardown(test_an_event_of_a_missing_transfer_has_a_null_transfer,
                                          setup, teardown),
          cmocka_unit_test(test_a_last_event_id_is_decimal_digits_that_fit_in_64_bits))

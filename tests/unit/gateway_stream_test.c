/*  gateway_stream_test.c: the stream's pure parts (gateway_stream.h): an
    event rendered with the transfer as the view holds it when it is read,
    the viewers each event names (who a customer's stream shows it to) and
    the redaction for readers without risk:read (gateway_redact.h), and the
    Last-Event-ID parser. The stream over HTTP (suspend, resume,
    limits, stop) is driven through gateway_http in gateway_stream_http_test.c. */
#define _GNU_SOURCE /* memmem, mkdtemp */
#include "gateway_view_fx.h"
#include "test_main.h"
#include "gateway_owners.h"
#include "gateway_redact.h"

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

/* The stored events (their own fields and viewers), oldest first. */
typedef struct {
    size_t count;
    gateway_event_t events[8];
} raw_events_t;

static bool keep_raw(const gateway_event_t *event, void *arg)
{
    raw_events_t *raw = arg;
    raw->events[raw->count++] = *event;
    return raw->count < 8;
}

static void read_raw(fx_t *fx, raw_events_t *raw)
{
    raw->count = 0;
    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(fx->store, false, &txn), LEDGER_OK);
    assert_int_equal(gateway_events_read(txn, 0, 8, keep_raw, raw, NULL), LEDGER_OK);
    store_txn_abort(&txn);
}

static void own(fx_t *fx, const char *account, const char *owner)
{
    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(fx->store, true, &txn), LEDGER_OK);
    assert_int_equal(gateway_owners_put(txn, account, owner, NULL), LEDGER_OK);
    assert_int_equal(store_txn_commit(&txn), LEDGER_OK);
}

static void test_each_event_names_the_owners_of_from_and_to_and_nobody_else(void **state)
{
    fx_t *fx = *state;
    own(fx, "alice", "alice-p");
    own(fx, "bob", "bob-p");
    gateway_transfer_request_t req = request("alice", "bob", 500);
    gateway_submit_result_t res;
    assert_int_equal(submit_as(fx, "alice-p", "key-1", &req, T0_MS, &res), LEDGER_OK);
    apply_ok(fx, event("accounts", 1, PROTO_FUNDS_RESERVED, res.id, T0_MS + 1), T0_MS + 1);
    /* To an account the map does not know: its owner is nobody the stream can name. */
    req = request("alice", "carol", 100);
    assert_int_equal(submit_as(fx, "alice-p", "key-2", &req, T0_MS + 2, &res), LEDGER_OK);
    raw_events_t raw;
    read_raw(fx, &raw);
    assert_int_equal(raw.count, 3);
    for (size_t i = 0; i < 2; i++) {
        assert_string_equal(raw.events[i].viewers[0], "alice-p");
        assert_string_equal(raw.events[i].viewers[1], "bob-p");
        assert_true(gateway_events_visible_to(&raw.events[i], "alice-p"));
        assert_true(gateway_events_visible_to(&raw.events[i], "bob-p"));
        assert_false(gateway_events_visible_to(&raw.events[i], "mallory"));
        /* An account id is not its owner: "alice" the account names nobody. */
        assert_false(gateway_events_visible_to(&raw.events[i], "alice"));
        assert_false(gateway_events_visible_to(&raw.events[i], ""));
    }
    assert_true(gateway_events_visible_to(&raw.events[2], "alice-p"));
    assert_false(gateway_events_visible_to(&raw.events[2], "bob-p"));
    assert_string_equal(raw.events[2].viewers[1], "");
    assert_false(gateway_events_visible_to(&raw.events[2], ""));
}

/* The one event of a transfer the fraud node rejected, rendered with or without redaction. */
static json_t *rejected_transfer(fx_t *fx, bool redact)
{
    raw_events_t raw;
    read_raw(fx, &raw);
    assert_true(raw.count >= 1);
    store_txn_t *txn = NULL;
    char *text = NULL;
    assert_int_equal(store_txn_begin(fx->store, false, &txn), LEDGER_OK);
    assert_int_equal(gateway_streams_render_event(txn, &raw.events[0], redact, &text), LEDGER_OK);
    store_txn_abort(&txn);
    json_t *event = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    free(text);
    assert_non_null(event);
    json_t *transfer = json_incref(json_object_get(event, "transfer"));
    json_decref(event);
    return transfer;
}

static void test_a_redacted_event_shows_no_rules_and_a_generic_reason(void **state)
{
    fx_t *fx = *state;
    gateway_submit_result_t res = submit_sample(fx);
    proto_msg_t verdict = event("fraud", 1, PROTO_FRAUD_APPROVED, res.id, T0_MS + 1);
    verdict.type = PROTO_FRAUD_REJECTED;
    apply_ok(fx, verdict, T0_MS + 1);
    apply_ok(fx, event("accounts", 2, PROTO_TRANSFER_REJECTED_FRAUD, res.id, T0_MS + 2), T0_MS + 2);
    json_t *full = rejected_transfer(fx, false);
    json_t *reason = json_object_get(full, "reason");
    assert_int_equal(json_array_size(json_object_get(reason, "rules")), 2);
    assert_string_equal(json_string_value(json_object_get(reason, "message")),
                        "amount over the limit");
    assert_non_null(json_object_get(json_array_get(json_object_get(full, "timeline"), 1), "rules"));
    json_t *red = rejected_transfer(fx, true);
    assert_string_equal(json_string_value(json_object_get(red, "status")), "rejected_fraud");
    reason = json_object_get(red, "reason");
    assert_string_equal(json_string_value(json_object_get(reason, "code")), "fraud_rejected");
    assert_string_equal(json_string_value(json_object_get(reason, "message")),
                        gateway_redact_message("fraud_rejected"));
    assert_null(json_object_get(reason, "rules"));
    json_t *timeline = json_object_get(red, "timeline");
    assert_int_equal(json_array_size(timeline), 3); /* every step is still there */
    for (size_t i = 0; i < json_array_size(timeline); i++)
        assert_null(json_object_get(json_array_get(timeline, i), "rules"));
    char *text = json_dumps(red, JSON_COMPACT);
    assert_null(strstr(text, "amount_threshold"));
    assert_null(strstr(text, "velocity"));
    assert_null(strstr(text, "over the limit"));
    free(text);
    json_decref(full);
    json_decref(red);
}

static void test_a_decline_reason_becomes_the_generic_message_of_its_code(void **state)
{
    fx_t *fx = *state;
    gateway_submit_result_t res = submit_sample(fx);
    apply_ok(fx, event("accounts", 1, PROTO_TRANSFER_DECLINED, res.id, T0_MS + 1), T0_MS + 1);
    json_t *full = rejected_transfer(fx, false);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(full, "reason"), "message")),
        "available 100 < 500");
    json_t *red = rejected_transfer(fx, true);
    json_t *reason = json_object_get(red, "reason");
    assert_string_equal(json_string_value(json_object_get(reason, "code")), "insufficient_funds");
    assert_string_equal(json_string_value(json_object_get(reason, "message")),
                        "the account cannot cover this amount");
    json_decref(full);
    json_decref(red);
    /* One message per code, a default for any other; a pending transfer is left as it is. */
    assert_string_equal(gateway_redact_message("unknown_account"),
                        "an account of this transfer does not exist");
    assert_string_equal(gateway_redact_message("no_such_code"), "the transfer was declined");
    assert_string_equal(gateway_redact_message(NULL), "the transfer was declined");
    json_t *pending = json_pack("{s:s, s:n}", "status", "pending", "reason");
    json_t *copy = json_deep_copy(pending);
    gateway_redact_transfer(pending);
    assert_true(json_equal(pending, copy));
    gateway_redact_transfer(NULL);
    json_decref(pending);
    json_decref(copy);
}

static void test_only_a_principal_without_risk_read_is_redacted(void **state)
{
    (void)state;
    gateway_auth_caller_t caller = {0};
    caller.principal.scopes = GATEWAY_SCOPES_CUSTOMER;
    assert_true(gateway_redact_needed(&caller));
    caller.principal.scopes = GATEWAY_SCOPE_TRANSFERS_READ | GATEWAY_SCOPE_RISK_READ;
    assert_false(gateway_redact_needed(&caller));
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

TEST_MAIN(
    cmocka_unit_test_setup_teardown(test_an_event_shows_the_transfer_as_it_is_when_read, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_an_event_of_a_missing_transfer_has_a_null_transfer, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_each_event_names_the_owners_of_from_and_to_and_nobody_else,
                                    setup, teardown),
    cmocka_unit_test_setup_teardown(test_a_redacted_event_shows_no_rules_and_a_generic_reason,
                                    setup, teardown),
    cmocka_unit_test_setup_teardown(test_a_decline_reason_becomes_the_generic_message_of_its_code,
                                    setup, teardown),
    cmocka_unit_test(test_only_a_principal_without_risk_read_is_redacted),
    cmocka_unit_test(test_a_last_event_id_is_decimal_digits_that_fit_in_64_bits))

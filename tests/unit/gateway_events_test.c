/*  gateway_events_test.c: the gateway's event log (gateway_events.h): one
    event per change of a view, in order, small stored records, reads after a
    seq, and pruning by count and age. Events are read as a stream renders
    them (gateway_streams_render_event). */
#define _GNU_SOURCE /* memmem, mkdtemp */
#include "gateway_view_fx.h"
#include "test_main.h"

static void test_submit_appends_an_event_with_the_transfer_and_a_replay_does_not(void **state)
{
    fx_t *fx = *state;
    gateway_transfer_request_t req = request("alice", "bob", 500);
    gateway_submit_result_t res;
    submit_ok(fx, "key-1", &req, T0_MS, &res);
    submit_ok(fx, "key-1", &req, T0_MS + 1, &res); /* replay */
    assert_true(res.replayed);
    events_seen_t seen;
    read_events(fx, 0, &seen);
    assert_int_equal(seen.count, 1);
    assert_int_equal(seen.seqs[0], 1);
    json_t *e = seen.events[0];
    assert_int_equal(json_integer_value(json_object_get(e, "seq")), 1);
    assert_string_equal(event_type(&seen, 0), "transfer.requested");
    assert_string_equal(json_string_value(json_object_get(e, "node")), NODE);
    assert_string_equal(json_string_value(json_object_get(e, "at")), "2023-11-14T22:13:20.000Z");
    json_t *api = get_transfer(fx, res.id);
    assert_true(json_equal(json_object_get(e, "transfer"), api)); /* exactly the API form */
    json_decref(api);
    events_free(&seen);
}

static void test_each_applied_step_appends_an_event_in_order(void **state)
{
    fx_t *fx = *state;
    gateway_submit_result_t res = submit_sample(fx);
    proto_msg_t reserved = event("accounts", 1, PROTO_FUNDS_RESERVED, res.id, T0_MS + 1);
    proto_msg_t approved = event("fraud", 1, PROTO_FRAUD_APPROVED, res.id, T0_MS + 2);
    approved.body.verdict.rule_count = 0;
    proto_msg_t settled = event("accounts", 2, PROTO_TRANSFER_SETTLED, res.id, T0_MS + 3);
    assert_int_equal(apply(fx, &reserved, T0_MS + 1), LEDGER_OK);
    assert_int_equal(apply(fx, &approved, T0_MS + 2), LEDGER_OK);
    assert_int_equal(apply(fx, &settled, T0_MS + 3), LEDGER_OK);
    events_seen_t seen;
    read_events(fx, 0, &seen);
    assert_int_equal(seen.count, 4);
    static const char *const types[] = {"transfer.requested", "funds.reserved", "fraud.approved",
                                        "transfer.settled"};
    static const char *const nodes[] = {NODE, "accounts", "fraud", "accounts"};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(seen.seqs[i], i + 1);
        assert_string_equal(event_type(&seen, i), types[i]);
        assert_string_equal(json_string_value(json_object_get(seen.events[i], "node")), nodes[i]);
    }
    json_t *api = get_transfer(fx, res.id);
    /* Each event carries the transfer as it is when the log is read (settled), not as it was
       right after its step (gateway_events.h). */
    for (size_t i = 0; i < 4; i++)
        assert_true(json_equal(json_object_get(seen.events[i], "transfer"), api));
    assert_string_equal(json_string_value(json_object_get(api, "status")), "settled");
    /* The approval step lists its (empty) rules; other steps have none. */
    json_t *timeline = json_object_get(api, "timeline");
    assert_int_equal(json_array_size(timeline), 4);
    json_t *verdict = json_array_get(timeline, 2);
    assert_string_equal(json_string_value(json_object_get(verdict, "step")), "fraud.approved");
    assert_true(json_is_array(json_object_get(verdict, "rules")));
    assert_int_equal(json_array_size(json_object_get(verdict, "rules")), 0);
    assert_null(json_object_get(json_array_get(timeline, 1), "rules"));
    json_decref(api);
    events_free(&seen);
    /* Reading after a seq gives only the later ones. */
    read_events(fx, 2, &seen);
    assert_int_equal(seen.count, 2);
    assert_int_equal(seen.seqs[0], 3);
    events_free(&seen);
}

static void test_the_log_stores_small_records_not_the_transfer_json(void **state)
{
    fx_t *fx = *state;
    gateway_transfer_request_t req = request("alice", "bob", 500);
    memset(req.reference, 'r', PROTO_REFERENCE_MAX); /* a large transfer view */
    req.reference[PROTO_REFERENCE_MAX] = '\0';
    gateway_submit_result_t res;
    submit_ok(fx, "key-1", &req, T0_MS, &res);
    store_txn_t *txn = NULL;
    store_cursor_t *cursor = NULL;
    assert_int_equal(store_txn_begin(fx->store, false, &txn), LEDGER_OK);
    assert_int_equal(store_cursor_open(txn, STORE_DB_INDEX, &cursor), LEDGER_OK);
    store_kv_t kv = {.key = "evt/", .key_size = 4};
    assert_int_equal(store_cursor_get(cursor, STORE_SEEK, &kv), LEDGER_OK);
    assert_true(kv.key_size == 12 && memcmp(kv.key, "evt/", 4) == 0);
    assert_true(kv.val_size < 128);
    assert_null(memmem(kv.val, kv.val_size, "rrrr", 4)); /* no copy of the view */
    store_cursor_close(&cursor);
    store_txn_abort(&txn);
    /* Rendered on read, the event still carries the whole transfer. */
    events_seen_t seen;
    read_events(fx, 0, &seen);
    assert_int_equal(seen.count, 1);
    json_t *api = get_transfer(fx, res.id);
    assert_true(json_equal(json_object_get(seen.events[0], "transfer"), api));
    json_decref(api);
    events_free(&seen);
}

static void test_fraud_rejection_steps_carry_the_rules_that_fired(void **state)
{
    fx_t *fx = *state;
    gateway_submit_result_t res = submit_request(fx, "key-1", request("carol", "bob", 500));
    proto_msg_t rejected = event("fraud", 1, PROTO_FRAUD_APPROVED, res.id, T0_MS + 1);
    rejected.type = PROTO_FRAUD_REJECTED;
    proto_msg_t released = event("accounts", 2, PROTO_TRANSFER_REJECTED_FRAUD, res.id, T0_MS + 2);
    assert_int_equal(apply(fx, &rejected, T0_MS + 1), LEDGER_OK);
    assert_int_equal(apply(fx, &released, T0_MS + 2), LEDGER_OK);
    events_seen_t seen;
    read_events(fx, 0, &seen);
    assert_int_equal(seen.count, 3);
    assert_string_equal(event_type(&seen, 1), "fraud.rejected");
    assert_string_equal(event_type(&seen, 2), "transfer.rejected_fraud");
    json_t *timeline = json_object_get(json_object_get(seen.events[2], "transfer"), "timeline");
    for (size_t i = 1; i <= 2; i++) {
        json_t *rules = json_object_get(json_array_get(timeline, i), "rules");
        assert_int_equal(json_array_size(rules), 2);
        assert_string_equal(json_string_value(json_array_get(rules, 0)), "amount_threshold");
        assert_string_equal(json_string_value(json_array_get(rules, 1)), "velocity");
    }
    events_free(&seen);
}

static size_t prune_events(fx_t *fx, uint64_t now_ms, uint64_t keep_count, uint64_t keep_ms,
                           size_t max)
{
    store_txn_t *txn = NULL;
    size_t pruned = 0;
    assert_int_equal(store_txn_begin(fx->store, true, &txn), LEDGER_OK);
    assert_int_equal(gateway_events_prune(txn, now_ms, keep_count, keep_ms, max, &pruned),
                     LEDGER_OK);
    assert_int_equal(store_txn_commit(&txn), LEDGER_OK);
    return pruned;
}

static uint64_t first_event_seq(fx_t *fx)
{
    store_txn_t *txn = NULL;
    uint64_t first = 0;
    assert_int_equal(store_txn_begin(fx->store, false, &txn), LEDGER_OK);
    assert_int_equal(gateway_events_first_seq(txn, &first), LEDGER_OK);
    store_txn_abort(&txn);
    return first;
}

static void test_events_are_pruned_oldest_first_by_count_and_age(void **state)
{
    fx_t *fx = *state;
    gateway_transfer_request_t req = request("alice", "bob", 500);
    gateway_submit_result_t res;
    submit_ok(fx, "key-1", &req, T0_MS, &res); /* an idempotency key beside the events */
    append_events(fx, 4, T0_MS);               /* seqs 2..5 */
    append_events(fx, 5, T0_MS + 1000);        /* seqs 6..10 */
    assert_int_equal(first_event_seq(fx), 1);
    /* By count: keep 8 of 10; max bounds one call. */
    assert_int_equal(prune_events(fx, T0_MS + 1000, 8, 60000, 1), 1);
    assert_int_equal(prune_events(fx, T0_MS + 1000, 8, 60000, 100), 1);
    assert_int_equal(first_event_seq(fx), 3);
    /* By age: everything at T0 is 1000 ms old at T0 + 1000. */
    assert_int_equal(prune_events(fx, T0_MS + 1000, 100, 1000, 100), 3);
    assert_int_equal(first_event_seq(fx), 6);
    assert_int_equal(prune_events(fx, T0_MS + 1000, 100, 1000, 100), 0);
    /* Seqs go on from the newest ever handed out; the idempotency index is untouched. */
    append_events(fx, 1, T0_MS + 2000);
    events_seen_t seen;
    read_events(fx, 0, &seen);
    assert_int_equal(seen.count, 6);
    assert_int_equal(seen.seqs[0], 6);
    assert_int_equal(seen.seqs[5], 11);
    events_free(&seen);
    assert_int_equal(count_prefix(fx, STORE_DB_INDEX, "idem/"), 1);
    assert_int_equal(prune_events(fx, T0_MS + 10000, 0, 60000, 100), 6);
    assert_int_equal(first_event_seq(fx), 0);
}

TEST_MAIN(cmocka_unit_test_setup_teardown(
              test_submit_appends_an_event_with_the_transfer_and_a_replay_does_not, setup,
              teardown),
          cmocka_unit_test_setup_teardown(test_each_applied_step_appends_an_event_in_order, setup,
                                          teardown),
          cmocka_unit_test_setup_teardown(test_the_log_stores_small_records_not_the_transfer_json,
                                          setup, teardown),
          cmocka_unit_test_setup_teardown(test_fraud_rejection_steps_carry_the_rules_that_fired,
                                          setup, teardown),
          cmocka_unit_test_setup_teardown(test_events_are_pruned_oldest_first_by_count_and_age,
                                          setup, teardown))

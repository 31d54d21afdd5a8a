/*  gateway_view_test.c: the gateway's view (gateway_view.h and its record and
    idempotency files) without sockets: submissions under idempotency keys,
    status events folded into the view, the readers and ids, and the stored
    record (binary form, old JSON records, damaged bytes). */
#define _GNU_SOURCE /* memmem, mkdtemp */
#include "gateway_view_fx.h"
#include "test_main.h"

/* --- submit ---------------------------------------------------------------- */

static void test_submit_creates_pending_transfer_and_one_outbox_entry(void **state)
{
    fx_t *fx = *state;
    gateway_submit_result_t res = submit_sample(fx);
    assert_false(res.replayed);
    assert_true(gateway_view_transfer_id_valid(res.id));
    assert_int_equal(res.created_ms, T0_MS);
    assert_string_equal(res.message_id, "gateway/1");

    json_t *t = transfer_with_status(fx, res.id, "pending");
    assert_string_equal(json_string_value(json_object_get(t, "from")), "alice");
    assert_string_equal(json_string_value(json_object_get(t, "to")), "bob");
    assert_int_equal(json_integer_value(json_object_get(t, "amount")), 500);
    assert_string_equal(json_string_value(json_object_get(t, "currency")), "GBP");
    assert_string_equal(json_string_value(json_object_get(t, "reference")), "rent");
    assert_string_equal(json_string_value(json_object_get(t, "created_at")),
                        "2023-11-14T22:13:20.000Z");
    assert_true(json_is_null(json_object_get(t, "reason")));
    assert_null(json_object_get(t, "idempotency_key"));
    json_t *timeline = json_object_get(t, "timeline");
    assert_int_equal(json_array_size(timeline), 1);
    json_t *step = json_array_get(timeline, 0);
    assert_string_equal(json_string_value(json_object_get(step, "step")), "transfer.requested");
    assert_string_equal(json_string_value(json_object_get(step, "node")), NODE);
    assert_string_equal(json_string_value(json_object_get(step, "message_id")), "gateway/1");
    json_decref(t);

    assert_int_equal(count(fx, STORE_DB_OUTBOX), 1);
    store_txn_t *txn = NULL;
    store_outbox_entry_t entry;
    assert_int_equal(store_txn_begin(fx->store, false, &txn), LEDGER_OK);
    assert_int_equal(store_outbox_next(txn, 0, &entry), LEDGER_OK);
    assert_string_equal(entry.peer, NODE_PEER_ACCOUNTS);
    proto_msg_t msg;
    assert_int_equal(proto_decode(entry.msg, entry.msg_size, &msg, NULL, 0), LEDGER_OK);
    store_txn_abort(&txn);
    assert_int_equal(msg.type, PROTO_TRANSFER_REQUESTED);
    assert_string_equal(msg.corr, res.id);
    assert_string_equal(msg.origin, NODE);
    assert_string_equal(msg.body.transfer.transfer, res.id);
    assert_string_equal(msg.body.transfer.from, "alice");
    assert_string_equal(msg.body.transfer.to, "bob");
    assert_int_equal(msg.body.transfer.amount_minor, 500);
    assert_string_equal(msg.body.transfer.currency, "GBP");
    assert_string_equal(msg.body.transfer.reference, "rent");
    assert_int_equal(msg.ts_ms, T0_MS);
}

static void test_same_key_same_request_returns_the_same_transfer_and_writes_nothing(void **state)
{
    fx_t *fx = *state;
    gateway_transfer_request_t req = request("alice", "bob", 500);
    gateway_submit_result_t first, again;
    submit_ok(fx, "key-1", &req, T0_MS, &first);
    char *before = raw_record(fx, first.id);
    submit_ok(fx, "key-1", &req, T0_MS + 10, &again);
    assert_true(again.replayed);
    assert_string_equal(again.id, first.id);
    assert_int_equal(again.created_ms, T0_MS);
    assert_string_equal(again.request.from, "alice");
    assert_int_equal(again.request.amount_minor, 500);
    assert_int_equal(count(fx, STORE_DB_OUTBOX), 1);
    assert_int_equal(count(fx, STORE_DB_TRANSFERS), 1);
    assert_record_unchanged(fx, first.id, before);
}

static void test_same_key_different_request_is_refused(void **state)
{
    fx_t *fx = *state;
    gateway_transfer_request_t req = request("alice", "bob", 500);
    gateway_transfer_request_t other = request("alice", "bob", 501);
    gateway_submit_result_t res;
    submit_ok(fx, "key-1", &req, T0_MS, &res);
    assert_int_equal(submit(fx, "key-1", &other, T0_MS + 1, &res), LEDGER_E_EXISTS);
    snprintf(other.reference, sizeof other.reference, "other");
    other.amount_minor = 500;
    assert_int_equal(submit(fx, "key-1", &other, T0_MS + 1, &res), LEDGER_E_EXISTS);
    assert_int_equal(count(fx, STORE_DB_OUTBOX), 1);
    assert_int_equal(count(fx, STORE_DB_TRANSFERS), 1);
}

static void test_expired_key_makes_a_new_transfer(void **state)
{
    fx_t *fx = *state;
    gateway_transfer_request_t req = request("alice", "bob", 500);
    gateway_submit_result_t first, replay, fresh, replay_fresh;
    submit_ok(fx, "key-1", &req, T0_MS, &first);
    submit_ok(fx, "key-1", &req, T0_MS + RETENTION_MS - 1, &replay);
    assert_true(replay.replayed);
    submit_ok(fx, "key-1", &req, T0_MS + RETENTION_MS, &fresh);
    assert_false(fresh.replayed);
    assert_string_not_equal(fresh.id, first.id);
    assert_int_equal(count(fx, STORE_DB_OUTBOX), 2);
    assert_int_equal(count(fx, STORE_DB_TRANSFERS), 2);
    /* The key now names the new transfer, and only one age-index entry is left for it. */
    submit_ok(fx, "key-1", &req, T0_MS + RETENTION_MS + 1, &replay_fresh);
    assert_true(replay_fresh.replayed);
    assert_string_equal(replay_fresh.id, fresh.id);
    assert_int_equal(count(fx, STORE_DB_IDEMPOTENCY), 1);
    assert_int_equal(count_prefix(fx, STORE_DB_INDEX, "idem/"), 1);
}

static void test_invalid_request_is_refused_before_any_write(void **state)
{
    fx_t *fx = *state;
    gateway_submit_result_t res;
    gateway_transfer_request_t same = request("alice", "alice", 500);
    gateway_transfer_request_t zero = request("alice", "bob", 0);
    gateway_transfer_request_t currency = request("alice", "bob", 5);
    snprintf(currency.currency, sizeof currency.currency, "gbp");
    gateway_transfer_request_t ok = request("alice", "bob", 5);
    assert_int_equal(submit(fx, "k", &same, T0_MS, &res), LEDGER_E_INVALID);
    assert_int_equal(submit(fx, "k", &zero, T0_MS, &res), LEDGER_E_INVALID);
    assert_int_equal(submit(fx, "k", &currency, T0_MS, &res), LEDGER_E_INVALID);
    assert_int_equal(submit(fx, "bad key", &ok, T0_MS, &res), LEDGER_E_INVALID);
    assert_int_equal(submit(fx, "", &ok, T0_MS, &res), LEDGER_E_INVALID);
    assert_int_equal(count(fx, STORE_DB_OUTBOX), 0);
    assert_int_equal(count(fx, STORE_DB_TRANSFERS), 0);
}

/* Prunes expired idempotency keys (at most `max`) in a committed transaction; how many went. */
static size_t prune_keys(fx_t *fx, uint64_t now_ms, size_t max)
{
    store_txn_t *txn = NULL;
    size_t pruned = 0;
    assert_int_equal(store_txn_begin(fx->store, true, &txn), LEDGER_OK);
    assert_int_equal(gateway_view_prune_idempotency(txn, now_ms, RETENTION_MS, max, &pruned),
                     LEDGER_OK);
    assert_int_equal(store_txn_commit(&txn), LEDGER_OK);
    return pruned;
}

static void test_prune_deletes_only_expired_keys(void **state)
{
    fx_t *fx = *state;
    gateway_transfer_request_t req = request("alice", "bob", 500);
    gateway_submit_result_t res;
    submit_ok(fx, "k1", &req, T0_MS, &res);
    submit_ok(fx, "k2", &req, T0_MS + 500, &res);
    submit_ok(fx, "k3", &req, T0_MS + 2000, &res);
    assert_int_equal(prune_keys(fx, T0_MS + 1600, 100), 2);
    assert_int_equal(count(fx, STORE_DB_IDEMPOTENCY), 1);
    assert_int_equal(count_prefix(fx, STORE_DB_INDEX, "idem/"), 1);
    assert_int_equal(count(fx, STORE_DB_TRANSFERS), 3); /* transfers are kept */
    /* A pruned key is free for a new request. */
    gateway_transfer_request_t other = request("alice", "bob", 7);
    submit_ok(fx, "k1", &other, T0_MS + 1700, &res);
    assert_false(res.replayed);
    /* max bounds the work of one call. */
    assert_int_equal(prune_keys(fx, T0_MS + 10000, 1), 1);
    assert_int_equal(count(fx, STORE_DB_IDEMPOTENCY), 1);
}

/* The request hash of `b` is not `base`. */
static void assert_hash_differs(const gateway_transfer_request_t *b,
                                const uint8_t base[GATEWAY_HASH_SIZE])
{
    uint8_t h[GATEWAY_HASH_SIZE];
    assert_int_equal(gateway_view_request_hash(b, h), LEDGER_OK);
    assert_memory_not_equal(base, h, GATEWAY_HASH_SIZE);
}

static void test_request_hash_covers_every_field(void **state)
{
    (void)state;
    gateway_transfer_request_t a = request("alice", "bob", 500);
    uint8_t base[GATEWAY_HASH_SIZE], h[GATEWAY_HASH_SIZE];
    assert_int_equal(gateway_view_request_hash(&a, base), LEDGER_OK);
    assert_int_equal(gateway_view_request_hash(&a, h), LEDGER_OK);
    assert_memory_equal(base, h, sizeof h);
    gateway_transfer_request_t b = a;
    snprintf(b.from, sizeof b.from, "alicf");
    assert_int_equal(gateway_view_request_hash(&b, h), LEDGER_OK);
    assert_memory_not_equal(base, h, sizeof h);
    b = a;
    snprintf(b.to, sizeof b.to, "bo");
    assert_hash_differs(&b, base);
    b = a;
    b.amount_minor = 501;
    assert_hash_differs(&b, base);
    b = a;
    snprintf(b.currency, sizeof b.currency, "EUR");
    assert_hash_differs(&b, base);
    b = a;
    b.reference[0] = '\0';
    assert_hash_differs(&b, base);
    /* Field boundaries matter: ("ab","c") is not ("a","bc"). */
    gateway_transfer_request_t c = request("ab", "c", 1), d = request("a", "bc", 1);
    assert_int_equal(gateway_view_request_hash(&c, base), LEDGER_OK);
    assert_int_equal(gateway_view_request_hash(&d, h), LEDGER_OK);
    assert_memory_not_equal(base, h, sizeof h);
}

/* --- status events ------------------------------------------------------- */

/*  The sample transfer after one status event of `type` (accounts/1 at
    T0_MS + 5, applied at T0_MS + 6), asserted to be in `status`. The caller
    frees it. */
static json_t *sample_after_event(fx_t *fx, proto_type_t type, const char *status)
{
    gateway_submit_result_t res = submit_sample(fx);
    apply_ok(fx, event("accounts", 1, type, res.id, T0_MS + 5), T0_MS + 6);
    return transfer_with_status(fx, res.id, status);
}

static void test_funds_reserved_keeps_pending_and_marks_held(void **state)
{
    json_t *t = sample_after_event(*state, PROTO_FUNDS_RESERVED, "pending");
    assert_true(json_is_true(json_object_get(t, "held")));
    assert_int_equal(json_integer_value(json_object_get(t, "updated_ms")), T0_MS + 6);
    json_t *timeline = json_object_get(t, "timeline");
    assert_int_equal(json_array_size(timeline), 2);
    json_t *step = json_array_get(timeline, 1);
    assert_string_equal(json_string_value(json_object_get(step, "step")), "funds.reserved");
    assert_string_equal(json_string_value(json_object_get(step, "node")), "accounts");
    assert_string_equal(json_string_value(json_object_get(step, "message_id")), "accounts/1");
    assert_string_equal(json_string_value(json_object_get(step, "cause")), "gateway/1");
    assert_int_equal(json_integer_value(json_object_get(step, "ts_ms")), T0_MS + 5);
    assert_string_equal(json_string_value(json_object_get(step, "at")), "2023-11-14T22:13:20.005Z");
    json_decref(t);
}

static void test_settled_moves_pending_to_settled(void **state)
{
    fx_t *fx = *state;
    gateway_submit_result_t res = submit_sample(fx);
    apply_ok(fx, event("accounts", 1, PROTO_FUNDS_RESERVED, res.id, T0_MS + 5), T0_MS + 6);
    apply_ok(fx, event("accounts", 2, PROTO_TRANSFER_SETTLED, res.id, T0_MS + 9), T0_MS + 10);
    json_t *t = transfer_with_status(fx, res.id, "settled");
    assert_false(json_is_true(json_object_get(t, "held")));
    assert_true(json_is_null(json_object_get(t, "reason")));
    assert_int_equal(json_array_size(json_object_get(t, "timeline")), 3);
    json_decref(t);
}

/* The transfer's reason carries `code` and `message`; returns the reason (owned by t). */
static json_t *assert_reason(json_t *t, const char *code, const char *message)
{
    json_t *reason = json_object_get(t, "reason");
    assert_string_equal(json_string_value(json_object_get(reason, "code")), code);
    assert_string_equal(json_string_value(json_object_get(reason, "message")), message);
    return reason;
}

static void test_rejected_fraud_records_the_rules_that_fired(void **state)
{
    json_t *t = sample_after_event(*state, PROTO_TRANSFER_REJECTED_FRAUD, "rejected_fraud");
    json_t *reason = assert_reason(t, "fraud_rejected", "amount over the limit");
    json_t *rules = json_object_get(reason, "rules");
    assert_int_equal(json_array_size(rules), 2);
    assert_string_equal(json_string_value(json_array_get(rules, 0)), "amount_threshold");
    assert_string_equal(json_string_value(json_array_get(rules, 1)), "velocity");
    json_decref(t);
}

static void test_declined_records_the_code_and_reason(void **state)
{
    json_t *t = sample_after_event(*state, PROTO_TRANSFER_DECLINED, "declined");
    json_t *reason = assert_reason(t, "insufficient_funds", "available 100 < 500");
    assert_null(json_object_get(reason, "rules"));
    json_decref(t);
}

static void test_replayed_event_changes_nothing(void **state)
{
    fx_t *fx = *state;
    gateway_submit_result_t res = submit_sample(fx);
    proto_msg_t types[] = {
        event("accounts", 1, PROTO_FUNDS_RESERVED, res.id, T0_MS + 5),
        event("accounts", 2, PROTO_TRANSFER_SETTLED, res.id, T0_MS + 9),
    };
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(apply(fx, &types[i], T0_MS + 10 + i), LEDGER_OK);
        char *before = raw_record(fx, res.id);
        assert_int_equal(apply(fx, &types[i], T0_MS + 100 + i), LEDGER_OK);
        assert_record_unchanged(fx, res.id, before);
    }
    /* Replays of a reserved after the final status change nothing either. */
    char *before = raw_record(fx, res.id);
    assert_int_equal(apply(fx, &types[0], T0_MS + 200), LEDGER_OK);
    assert_record_unchanged(fx, res.id, before);
    assert_int_equal(count(fx, STORE_DB_OUTBOX), 1);
}

static void test_a_final_status_never_changes(void **state)
{
    fx_t *fx = *state;
    gateway_submit_result_t res = submit_sample(fx);
    apply_ok(fx, event("accounts", 2, PROTO_TRANSFER_SETTLED, res.id, T0_MS + 9), T0_MS + 10);
    char *before = raw_record(fx, res.id);
    proto_msg_t later[] = {
        event("accounts", 3, PROTO_TRANSFER_DECLINED, res.id, T0_MS + 20),
        event("accounts", 4, PROTO_TRANSFER_REJECTED_FRAUD, res.id, T0_MS + 21),
        event("accounts", 5, PROTO_TRANSFER_SETTLED, res.id, T0_MS + 22),
    };
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(apply(fx, &later[i], T0_MS + 30), LEDGER_OK);
    assert_record_unchanged(fx, res.id, before);
    assert_status(fx, res.id, "settled");
}

static void test_reserved_after_the_final_status_is_history_only(void **state)
{
    fx_t *fx = *state;
    gateway_submit_result_t res = submit_sample(fx);
    apply_ok(fx, event("accounts", 2, PROTO_TRANSFER_SETTLED, res.id, T0_MS + 9), T0_MS + 10);
    apply_ok(fx, event("accounts", 1, PROTO_FUNDS_RESERVED, res.id, T0_MS + 5), T0_MS + 11);
    json_t *t = transfer_with_status(fx, res.id, "settled");
    assert_false(json_is_true(json_object_get(t, "held")));
    json_t *timeline = json_object_get(t, "timeline");
    assert_int_equal(json_array_size(timeline), 3);
    /* Sorted by the time each step happened, not by arrival. */
    assert_string_equal(json_string_value(json_object_get(json_array_get(timeline, 1), "step")),
                        "funds.reserved");
    assert_string_equal(json_string_value(json_object_get(json_array_get(timeline, 2), "step")),
                        "transfer.settled");
    json_decref(t);
}

static void test_event_for_an_unknown_transfer_changes_nothing(void **state)
{
    fx_t *fx = *state;
    apply_ok(fx, event("accounts", 1, PROTO_TRANSFER_SETTLED, "tr_0000000000000000000f", T0_MS),
             T0_MS);
    apply_ok(fx, event("accounts", 2, PROTO_TRANSFER_DECLINED, "not-ours", T0_MS), T0_MS);
    assert_int_equal(count(fx, STORE_DB_TRANSFERS), 0);
    assert_int_equal(count(fx, STORE_DB_OUTBOX), 0);
}

static void test_fraud_verdict_is_a_timeline_step_and_keeps_pending(void **state)
{
    fx_t *fx = *state;
    gateway_submit_result_t res = submit_sample(fx);
    proto_msg_t approved = event("fraud", 1, PROTO_FRAUD_APPROVED, res.id, T0_MS + 1);
    assert_int_equal(apply(fx, &approved, T0_MS + 1), LEDGER_OK);
    json_t *t = transfer_with_status(fx, res.id, "pending");
    json_t *step = json_array_get(json_object_get(t, "timeline"), 1);
    assert_string_equal(json_string_value(json_object_get(step, "step")), "fraud.approved");
    assert_true(json_is_array(json_object_get(step, "rules")));
    json_decref(t);
    char *once = raw_record(fx, res.id);
    assert_int_equal(apply(fx, &approved, T0_MS + 2), LEDGER_OK); /* a replay changes nothing */
    char *twice = raw_record(fx, res.id);
    assert_string_equal(once, twice);
    free(once);
    free(twice);
}

static void test_other_message_types_are_invalid(void **state)
{
    fx_t *fx = *state;
    gateway_submit_result_t res = submit_sample(fx);
    char *before = raw_record(fx, res.id);
    proto_msg_t requested = event("gateway", 9, PROTO_TRANSFER_REQUESTED, res.id, T0_MS);
    assert_int_equal(apply(fx, &requested, T0_MS), LEDGER_E_INVALID);
    assert_record_unchanged(fx, res.id, before);
}

/* --- readers and ids ----------------------------------------------------- */

static json_t *list(fx_t *fx, const char *cursor, uint32_t limit)
{
    store_txn_t *txn = NULL;
    json_t *out = NULL;
    assert_int_equal(store_txn_begin(fx->store, false, &txn), LEDGER_OK);
    assert_int_equal(gateway_view_transfer_list(txn, cursor, limit, NULL, &out), LEDGER_OK);
    store_txn_abort(&txn);
    return out;
}

static void test_list_pages_newest_first(void **state)
{
    fx_t *fx = *state;
    char ids[5][PROTO_TRANSFER_ID_MAX + 1];
    for (int i = 0; i < 5; i++) {
        gateway_transfer_request_t req = request("alice", "bob", 100 + i);
        gateway_submit_result_t res;
        char key[16];
        snprintf(key, sizeof key, "key-%d", i);
        submit_ok(fx, key, &req, T0_MS + (uint64_t)i, &res);
        memcpy(ids[i], res.id, sizeof ids[i]);
    }
    const char *cursor = NULL;
    int expect = 4;
    json_t *pages[3];
    for (int p = 0; p < 3; p++) {
        pages[p] = list(fx, cursor, 2);
        json_t *items = json_object_get(pages[p], "transfers");
        size_t n = json_array_size(items);
        assert_int_equal(n, p < 2 ? 2 : 1);
        for (size_t i = 0; i < n; i++, expect--)
            assert_string_equal(json_string_value(json_object_get(json_array_get(items, i), "id")),
                                ids[expect]);
        json_t *next = json_object_get(pages[p], "next_cursor");
        if (p < 2) {
            assert_string_equal(json_string_value(next), ids[expect + 1]);
            cursor = json_string_value(next);
        } else {
            assert_true(json_is_null(next));
        }
    }
    assert_int_equal(expect, -1);
    for (int p = 0; p < 3; p++)
        json_decref(pages[p]);

    /* An exact page leaves no next cursor; a cursor past the newest starts at the newest. */
    json_t *all = list(fx, NULL, 5);
    assert_true(json_is_null(json_object_get(all, "next_cursor")));
    json_decref(all);
    json_t *top = list(fx, "tr_ffffffffffffffffffff", 1);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(top, "transfers"), 0), "id")),
                        ids[4]);
    json_decref(top);

    store_txn_t *txn = NULL;
    json_t *out = NULL;
    assert_int_equal(store_txn_begin(fx->store, false, &txn), LEDGER_OK);
    assert_int_equal(gateway_view_transfer_list(txn, NULL, 0, NULL, &out), LEDGER_E_INVALID);
    assert_int_equal(gateway_view_transfer_list(txn, NULL, GATEWAY_LIST_MAX + 1, NULL, &out),
                     LEDGER_E_INVALID);
    assert_int_equal(gateway_view_transfer_get(txn, "tr_00000000000000000001", &out),
                     LEDGER_E_NOT_FOUND);
    assert_int_equal(gateway_view_transfer_get(txn, "../etc", &out), LEDGER_E_NOT_FOUND);
    store_txn_abort(&txn);
}

static void test_transfer_ids_sort_by_creation_even_when_the_clock_steps_back(void **state)
{
    fx_t *fx = *state;
    uint64_t times[] = {T0_MS + 10, T0_MS + 10, T0_MS + 5, T0_MS + 11, T0_MS + 4000};
    char prev[PROTO_TRANSFER_ID_MAX + 1] = "";
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        gateway_transfer_request_t req = request("alice", "bob", 1);
        gateway_submit_result_t res;
        char key[16];
        snprintf(key, sizeof key, "k%zu", i);
        submit_ok(fx, key, &req, times[i], &res);
        assert_int_equal(strlen(res.id), GATEWAY_TRANSFER_ID_LEN);
        assert_true(strcmp(prev, res.id) < 0);
        memcpy(prev, res.id, sizeof prev);
    }
    char expect[32];
    snprintf(expect, sizeof expect, "tr_%012llx%08x", (unsigned long long)(T0_MS + 4000), 5u);
    assert_string_equal(prev, expect);
}

static void test_id_and_text_rules(void **state)
{
    (void)state;
    assert_true(gateway_view_transfer_id_valid("tr_0123456789abcdef0123"));
    assert_false(gateway_view_transfer_id_valid("tr_0123456789abcdef012"));
    assert_false(gateway_view_transfer_id_valid("tr_0123456789abcdef01234"));
    assert_false(gateway_view_transfer_id_valid("tr_0123456789ABCDEF0123"));
    assert_false(gateway_view_transfer_id_valid("tx_0123456789abcdef0123"));
    /* account ids (proto_account_id_valid_str) are proto's rule: proto_rules_test.c */
    assert_true(gateway_view_text_valid("caf\xc3\xa9 \xe2\x82\xac"));
    assert_false(gateway_view_text_valid("tab\there"));
    assert_false(gateway_view_text_valid("\xc3"));
    assert_false(gateway_view_text_valid("\xed\xa0\x80")); /* a surrogate */
    assert_false(gateway_view_text_valid("\xc0\xaf"));     /* overlong */
    char bad[] = "ok\x01\xff.";
    gateway_view_text_sanitize(bad);
    assert_string_equal(bad, "ok?"
                             "?.");
}

/* --- stored records ------------------------------------------------------ */

static void test_replays_and_guarded_steps_append_no_event(void **state)
{
    fx_t *fx = *state;
    gateway_submit_result_t res = submit_sample(fx);
    proto_msg_t settled = event("accounts", 2, PROTO_TRANSFER_SETTLED, res.id, T0_MS + 3);
    proto_msg_t declined = event("accounts", 3, PROTO_TRANSFER_DECLINED, res.id, T0_MS + 4);
    proto_msg_t unknown =
        event("accounts", 4, PROTO_TRANSFER_SETTLED, "tr_00000000000000000009", T0_MS + 5);
    assert_int_equal(apply(fx, &settled, T0_MS + 3), LEDGER_OK);
    assert_int_equal(apply(fx, &settled, T0_MS + 4), LEDGER_OK);  /* a replay */
    assert_int_equal(apply(fx, &declined, T0_MS + 5), LEDGER_OK); /* the saga guard */
    assert_int_equal(apply(fx, &unknown, T0_MS + 6), LEDGER_OK);  /* not ours */
    assert_int_equal(count_prefix(fx, STORE_DB_INDEX, "evt/"), 2);
    store_txn_t *txn = NULL;
    uint64_t last = 0;
    assert_int_equal(store_txn_begin(fx->store, false, &txn), LEDGER_OK);
    assert_int_equal(gateway_events_last_seq(txn, &last), LEDGER_OK);
    store_txn_abort(&txn);
    assert_int_equal(last, 2);
}

static void test_worst_case_record_with_rules_stays_under_the_limit(void **state)
{
    fx_t *fx = *state;
    gateway_transfer_request_t req = request("alice", "bob", 500);
    fill_text(req.reference, '"', PROTO_REFERENCE_MAX); /* escapes double in JSON */
    char key[GATEWAY_IDEMPOTENCY_KEY_MAX + 1];
    fill_text(key, '\\', GATEWAY_IDEMPOTENCY_KEY_MAX);
    gateway_submit_result_t res;
    submit_ok(fx, key, &req, T0_MS, &res);
    for (uint64_t i = 0; i < GATEWAY_TIMELINE_MAX + 2; i++) {
        proto_msg_t m = event("fraud", 100 + i, PROTO_FRAUD_REJECTED, res.id, T0_MS + i);
        snprintf(m.body.verdict.transfer, sizeof m.body.verdict.transfer, "%s", res.id);
        m.body.verdict.rule_count = PROTO_RULES_MAX;
        for (int r = 0; r < PROTO_RULES_MAX; r++)
            memset(m.body.verdict.rules[r], '"', PROTO_RULE_NAME_MAX);
        memset(m.cause, '"', PROTO_ID_MAX);
        assert_int_equal(apply(fx, &m, T0_MS + i), LEDGER_OK);
    }
    json_t *api = get_transfer(fx, res.id);
    assert_int_equal(json_array_size(json_object_get(api, "timeline")), GATEWAY_TIMELINE_MAX);
    json_decref(api);
}

static void test_stored_text_keeps_quotes_backslashes_and_utf8(void **state)
{
    fx_t *fx = *state;
    gateway_submit_result_t res = submit_request(fx, "key-\"\\/-1", request("alice", "bob", 500));
    proto_msg_t reserved = event("accounts", 1, PROTO_FUNDS_RESERVED, res.id, T0_MS + 1);
    snprintf(reserved.cause, sizeof reserved.cause, "%s",
             "a\"b\\c\x01\n\x7f/\xc3\xa9\xe2\x82\xac\xf0\x9f\x92\xb7 bad\xc3(");
    assert_int_equal(apply(fx, &reserved, T0_MS + 1), LEDGER_OK);
    json_t *api = get_transfer(fx, res.id);
    json_t *step = json_array_get(json_object_get(api, "timeline"), 1);
    /* Controls and broken UTF-8 were made '?' by the apply; the rest is stored as it came. */
    assert_string_equal(json_string_value(json_object_get(step, "cause")),
                        "a\"b\\c?\?\?/\xc3\xa9\xe2\x82\xac\xf0\x9f\x92\xb7 bad?(");
    json_decref(api);
}

/* The stored bytes of a transfer's view record (malloc'd) and their length. */
static uint8_t *stored_record(fx_t *fx, const char *id, size_t *len)
{
    store_txn_t *txn = NULL;
    const void *val = NULL;
    assert_int_equal(store_txn_begin(fx->store, false, &txn), LEDGER_OK);
    assert_int_equal(store_get(txn, STORE_DB_TRANSFERS, id, strlen(id), &val, len), LEDGER_OK);
    uint8_t *copy = malloc(*len);
    assert_non_null(copy);
    memcpy(copy, val, *len);
    store_txn_abort(&txn);
    return copy;
}

static void put_record(fx_t *fx, const char *id, const void *val, size_t len)
{
    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(fx->store, true, &txn), LEDGER_OK);
    assert_int_equal(store_put(txn, STORE_DB_TRANSFERS, id, strlen(id), val, len, 0), LEDGER_OK);
    assert_int_equal(store_txn_commit(&txn), LEDGER_OK);
}

static void test_a_record_with_every_field_at_its_limit_round_trips(void **state)
{
    fx_t *fx = *state;
    char from[PROTO_ACCOUNT_ID_MAX + 1], to[PROTO_ACCOUNT_ID_MAX + 1];
    memset(from, 'a', PROTO_ACCOUNT_ID_MAX);
    memset(to, 'b', PROTO_ACCOUNT_ID_MAX);
    from[PROTO_ACCOUNT_ID_MAX] = to[PROTO_ACCOUNT_ID_MAX] = '\0';
    gateway_transfer_request_t req = request(from, to, INT64_MAX);
    for (size_t i = 0; i < PROTO_REFERENCE_MAX; i += 2)
        memcpy(req.reference + i, "\xc3\xa9", 2); /* 2-byte UTF-8 up to the byte limit */
    req.reference[PROTO_REFERENCE_MAX] = '\0';
    char key[GATEWAY_IDEMPOTENCY_KEY_MAX + 1];
    fill_text(key, '~', GATEWAY_IDEMPOTENCY_KEY_MAX);
    gateway_submit_result_t res;
    submit_ok(fx, key, &req, T0_MS, &res);

    char origin[PROTO_NODE_MAX + 1], cause[PROTO_ID_MAX + 1], rule[PROTO_RULE_NAME_MAX + 1];
    char reason[PROTO_REASON_MAX + 1];
    memset(origin, 'n', PROTO_NODE_MAX);
    memset(cause, 'c', PROTO_ID_MAX);
    memset(rule, 'r', PROTO_RULE_NAME_MAX);
    memset(reason, 'm', PROTO_REASON_MAX);
    origin[PROTO_NODE_MAX] = cause[PROTO_ID_MAX] = rule[PROTO_RULE_NAME_MAX] = '\0';
    reason[PROTO_REASON_MAX] = '\0';
    /* Six verdicts and the final rejection fill the timeline (the request is the first step);
       each is applied to the record read back from the store, so every field goes through the
       encoder and the decoder seven times. */
    for (uint64_t i = 0; i < GATEWAY_TIMELINE_MAX - 1; i++) {
        proto_type_t type =
            i + 2 < GATEWAY_TIMELINE_MAX ? PROTO_FRAUD_REJECTED : PROTO_TRANSFER_REJECTED_FRAUD;
        proto_msg_t m = event(origin, 100 + i, type, res.id, T0_MS + 1 + i);
        snprintf(m.body.verdict.transfer, sizeof m.body.verdict.transfer, "%s", res.id);
        snprintf(m.cause, sizeof m.cause, "%s", cause);
        snprintf(m.body.verdict.reason, sizeof m.body.verdict.reason, "%s", reason);
        m.body.verdict.rule_count = PROTO_RULES_MAX;
        for (int r = 0; r < PROTO_RULES_MAX; r++)
            snprintf(m.body.verdict.rules[r], sizeof m.body.verdict.rules[r], "%s", rule);
        assert_int_equal(apply(fx, &m, T0_MS + 1 + i), LEDGER_OK);
    }

    size_t len = 0;
    uint8_t *raw = stored_record(fx, res.id, &len);
    assert_int_equal(raw[0], 3); /* the binary form, version 3 */
    assert_true(len < GATEWAY_RECORD_MAX);
    free(raw);

    json_t *t = get_transfer(fx, res.id);
    assert_string_equal(json_string_value(json_object_get(t, "id")), res.id);
    assert_string_equal(json_string_value(json_object_get(t, "from")), from);
    assert_string_equal(json_string_value(json_object_get(t, "to")), to);
    assert_true(json_integer_value(json_object_get(t, "amount")) == INT64_MAX);
    assert_string_equal(json_string_value(json_object_get(t, "currency")), "GBP");
    assert_string_equal(json_string_value(json_object_get(t, "reference")), req.reference);
    assert_string_equal(json_string_value(json_object_get(t, "status")), "rejected_fraud");
    assert_true(json_is_false(json_object_get(t, "held")));
    assert_int_equal(json_integer_value(json_object_get(t, "created_ms")), T0_MS);
    assert_int_equal(json_integer_value(json_object_get(t, "updated_ms")),
                     T0_MS + GATEWAY_TIMELINE_MAX - 1);
    json_t *why = json_object_get(t, "reason");
    assert_string_equal(json_string_value(json_object_get(why, "code")), "fraud_rejected");
    assert_string_equal(json_string_value(json_object_get(why, "message")), reason);
    json_t *rules = json_object_get(why, "rules");
    assert_int_equal(json_array_size(rules), PROTO_RULES_MAX);
    for (size_t r = 0; r < PROTO_RULES_MAX; r++)
        assert_string_equal(json_string_value(json_array_get(rules, r)), rule);
    json_t *timeline = json_object_get(t, "timeline");
    assert_int_equal(json_array_size(timeline), GATEWAY_TIMELINE_MAX);
    for (size_t i = 1; i < GATEWAY_TIMELINE_MAX; i++) {
        json_t *step = json_array_get(timeline, i);
        assert_string_equal(json_string_value(json_object_get(step, "node")), origin);
        assert_string_equal(json_string_value(json_object_get(step, "cause")), cause);
        assert_int_equal(json_integer_value(json_object_get(step, "ts_ms")), T0_MS + i);
        json_t *step_rules = json_object_get(step, "rules");
        assert_int_equal(json_array_size(step_rules), PROTO_RULES_MAX);
        for (size_t r = 0; r < PROTO_RULES_MAX; r++)
            assert_string_equal(json_string_value(json_array_get(step_rules, r)), rule);
    }
    json_decref(t);

    /* The idempotency key survived too: the same key and request replay this transfer. */
    gateway_submit_result_t again;
    submit_ok(fx, key, &req, T0_MS + 100, &again);
    assert_true(again.replayed);
    assert_string_equal(again.id, res.id);
}

/* A version 1 record as the gateway stored it before the binary form (JSON text). */
#define OLD_ID "tr_019a8f3c2b1d0000002a"
static const char old_json_record[] =
    "{\"v\":1,\"id\":\"" OLD_ID "\",\"from\":\"alice\",\"to\":\"bob\",\"amount\":1250,"
    "\"currency\":\"GBP\",\"reference\":\"lunch \\u00e9\",\"status\":\"pending\",\"held\":true,"
    "\"reason\":null,\"created_ms\":1764064245123,\"updated_ms\":1764064245130,"
    "\"idempotency_key\":\"old-key\",\"timeline\":["
    "{\"step\":\"transfer.requested\",\"node\":\"gateway\",\"message_id\":\"gateway/7\","
    "\"cause\":\"\",\"ts_ms\":1764064245123},"
    "{\"step\":\"funds.reserved\",\"node\":\"accounts\",\"message_id\":\"accounts/9\","
    "\"cause\":\"gateway/7\",\"ts_ms\":1764064245130}]}";

static void test_an_old_json_record_still_reads_and_is_rewritten_binary(void **state)
{
    fx_t *fx = *state;
    put_record(fx, OLD_ID, old_json_record, strlen(old_json_record));
    json_t *t = transfer_with_status(fx, OLD_ID, "pending");
    assert_string_equal(json_string_value(json_object_get(t, "from")), "alice");
    assert_string_equal(json_string_value(json_object_get(t, "reference")), "lunch \xc3\xa9");
    assert_int_equal(json_integer_value(json_object_get(t, "amount")), 1250);
    assert_true(json_is_true(json_object_get(t, "held")));
    assert_int_equal(json_integer_value(json_object_get(t, "created_ms")), 1764064245123);
    assert_int_equal(json_array_size(json_object_get(t, "timeline")), 2);
    assert_null(json_object_get(t, "idempotency_key"));
    json_t *page = list(fx, NULL, 10);
    json_t *listed = json_array_get(json_object_get(page, "transfers"), 0);
    assert_true(json_equal(listed, t));
    json_decref(page);
    json_decref(t);

    /* The next change writes the binary form, with everything the JSON record held. */
    apply_ok(fx, event("accounts", 10, PROTO_TRANSFER_SETTLED, OLD_ID, 1764064245140),
             1764064245140);
    size_t len = 0;
    uint8_t *raw = stored_record(fx, OLD_ID, &len);
    assert_int_equal(raw[0], 3);
    free(raw);
    t = transfer_with_status(fx, OLD_ID, "settled");
    assert_string_equal(json_string_value(json_object_get(t, "reference")), "lunch \xc3\xa9");
    assert_int_equal(json_array_size(json_object_get(t, "timeline")), 3);
    json_decref(t);
}

static void test_a_damaged_stored_record_reads_as_corrupt(void **state)
{
    fx_t *fx = *state;
    gateway_submit_result_t res = submit_sample(fx);
    apply_ok(fx, event("fraud", 1, PROTO_FRAUD_REJECTED, res.id, T0_MS + 1), T0_MS + 1);
    apply_ok(fx, event("accounts", 2, PROTO_TRANSFER_REJECTED_FRAUD, res.id, T0_MS + 2), T0_MS + 2);
    char good[GATEWAY_RECORD_MAX];
    size_t good_len = 0;
    store_txn_t *txn = NULL;
    const void *val = NULL;
    assert_int_equal(store_txn_begin(fx->store, false, &txn), LEDGER_OK);
    assert_int_equal(store_get(txn, STORE_DB_TRANSFERS, res.id, strlen(res.id), &val, &good_len),
                     LEDGER_OK);
    assert_true(good_len < sizeof good);
    memcpy(good, val, good_len);
    store_txn_abort(&txn);
    json_t *before = get_transfer(fx, res.id);
    assert_int_equal((unsigned char)good[0], 3); /* the binary form */
    /* Every truncation is refused; every flipped bit at every position is refused or read as a
       valid record that renders (never a crash, never a half record). */
    char bad[GATEWAY_RECORD_MAX];
    static const unsigned char flips[] = {0, 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80};
    for (size_t i = 0; i < good_len; i++) {
        for (size_t f = 0; f < sizeof flips; f++) {
            int flip = flips[f] != 0;
            memcpy(bad, good, good_len);
            size_t len = flip ? good_len : i;
            bad[i] = (char)(bad[i] ^ flips[f]);
            assert_int_equal(store_txn_begin(fx->store, true, &txn), LEDGER_OK);
            assert_int_equal(
                store_put(txn, STORE_DB_TRANSFERS, res.id, strlen(res.id), bad, len, 0), LEDGER_OK);
            json_t *out = NULL;
            ledger_err_t err = gateway_view_transfer_get(txn, res.id, &out);
            if (!flip)
                assert_int_equal(err, LEDGER_E_CORRUPT);
            else
                assert_true(err == LEDGER_OK || err == LEDGER_E_CORRUPT);
            if (err == LEDGER_OK) {
                char *text = json_dumps(out, JSON_COMPACT);
                assert_non_null(text);
                free(text);
            }
            json_decref(out);
            store_txn_abort(&txn);
        }
    }
    json_t *after = get_transfer(fx, res.id);
    assert_true(json_equal(before, after));
    json_decref(before);
    json_decref(after);
}

TEST_MAIN(
    cmocka_unit_test_setup_teardown(test_stored_text_keeps_quotes_backslashes_and_utf8, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_a_record_with_every_field_at_its_limit_round_trips, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_an_old_json_record_still_reads_and_is_rewritten_binary,
                                    setup, teardown),
    cmocka_unit_test_setup_teardown(test_a_damaged_stored_record_reads_as_corrupt, setup, teardown),
    cmocka_unit_test_setup_teardown(test_replays_and_guarded_steps_append_no_event, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_worst_case_record_with_rules_stays_under_the_limit, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_submit_creates_pending_transfer_and_one_outbox_entry,
                                    setup, teardown),
    cmocka_unit_test_setup_teardown(
        test_same_key_same_request_returns_the_same_transfer_and_writes_nothing, setup, teardown),
    cmocka_unit_test_setup_teardown(test_same_key_different_request_is_refused, setup, teardown),
    cmocka_unit_test_setup_teardown(test_expired_key_makes_a_new_transfer, setup, teardown),
    cmocka_unit_test_setup_teardown(test_invalid_request_is_refused_before_any_write, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_prune_deletes_only_expired_keys, setup, teardown),
    cmocka_unit_test(test_request_hash_covers_every_field),
    cmocka_unit_test_setup_teardown(test_funds_reserved_keeps_pending_and_marks_held, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_settled_moves_pending_to_settled, setup, teardown),
    cmocka_unit_test_setup_teardown(test_rejected_fraud_records_the_rules_that_fired, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_declined_records_the_code_and_reason, setup, teardown),
    cmocka_unit_test_setup_teardown(test_replayed_event_changes_nothing, setup, teardown),
    cmocka_unit_test_setup_teardown(test_a_final_status_never_changes, setup, teardown),
    cmocka_unit_test_setup_teardown(test_reserved_after_the_final_status_is_history_only, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_event_for_an_unknown_transfer_changes_nothing, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_fraud_verdict_is_a_timeline_step_and_keeps_pending, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_other_message_types_are_invalid, setup, teardown),
    cmocka_unit_test_setup_teardown(test_list_pages_newest_first, setup, teardown),
    cmocka_unit_test_setup_teardown(
        test_transfer_ids_sort_by_creation_even_when_the_clock_steps_back, setup, teardown),
    cmocka_unit_test(test_id_and_text_rules))

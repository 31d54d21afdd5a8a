/*  gateway_batch_test.c: POST /api/transfers/batch without sockets.

    Parsing (envelope errors, per-item errors, the size limit) is pure; the
    apply tests open a store in a temporary directory and run
    gateway_batch_apply in real write transactions, so idempotent replays
    within one batch and across batches are checked against LMDB.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "gateway_batch.h"
#include "gateway_owners_fx.h"
#include "test_store.h"
#include "test_main.h"

#define T0_MS 1700000000000ULL
#define RETENTION_MS 60000u
static const gateway_view_keys_t test_keys = {.retention_ms = RETENTION_MS};
#define NODE "gateway"

typedef test_store_t fx_t;

static gateway_batch_t *parse_ok(const char *body)
{
    gateway_batch_t *batch = NULL;
    gateway_request_error_t err;
    memset(&err, 0, sizeof err);
    assert_int_equal(gateway_batch_parse(body, strlen(body), &batch, &err), LEDGER_OK);
    assert_non_null(batch);
    return batch;
}

static void parse_fails(const char *body, unsigned status, const char *code)
{
    gateway_batch_t *batch = NULL;
    gateway_request_error_t err;
    memset(&err, 0, sizeof err);
    assert_int_equal(gateway_batch_parse(body, strlen(body), &batch, &err), LEDGER_E_INVALID);
    assert_null(batch);
    assert_int_equal(err.http_status, status);
    assert_string_equal(err.code, code);
}

/* Applies in one committed write transaction; returns how many transfers were created. */
static size_t apply(fx_t *fx, gateway_batch_t *batch, uint64_t now_ms)
{
    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(fx->store, true, &txn), LEDGER_OK);
    node_ctx_t ctx;
    node_ctx_init(&ctx, txn, NODE, now_ms);
    size_t created = 0;
    assert_int_equal(owners_fx_seed_txn(txn, NULL), LEDGER_OK);
    assert_int_equal(gateway_batch_apply(&ctx, batch, "tester", &test_keys, &created), LEDGER_OK);
    assert_int_equal(store_txn_commit(&txn), LEDGER_OK);
    node_ctx_fini(&ctx);
    return created;
}

/* --- parsing ---------------------------------------------------------------- */

static void test_malformed_envelope_is_refused_whole(void **state)
{
    (void)state;
    parse_fails("", 400, "invalid_json");
    parse_fails("{\"transfers\": [", 400, "invalid_json");
    parse_fails("[]", 400, "invalid_json");
    parse_fails("{}", 400, "missing_field");
    parse_fails("{\"transfers\": {}}", 400, "invalid_field");
    parse_fails("{\"transfers\": []}", 400, "invalid_field");
    parse_fails("{\"transfers\": [], \"extra\": 1}", 400, "unknown_field");
    parse_fails("{\"transfers\": [], \"transfers\": []}", 400, "invalid_json");
}

static void test_bad_items_are_refused_one_by_one(void **state)
{
    (void)state;
    gateway_batch_t *batch = parse_ok(
        "{\"transfers\": ["
        "{\"idempotency_key\":\"k1\",\"from\":\"alice\",\"to\":\"bob\",\"amount\":100},"
        "{\"from\":\"alice\",\"to\":\"bob\",\"amount\":100},"
        "{\"idempotency_key\":\"has space\",\"from\":\"alice\",\"to\":\"bob\",\"amount\":100},"
        "{\"idempotency_key\":\"k4\",\"from\":\"alice\",\"to\":\"alice\",\"amount\":100},"
        "{\"idempotency_key\":\"k5\",\"from\":\"alice\",\"to\":\"bob\",\"amount\":1.5},"
        "{\"idempotency_key\":\"k6\",\"from\":\"alice\",\"to\":\"bob\",\"amount\":1,\"x\":1},"
        "7,"
        "{\"idempotency_key\":\"k8\",\"from\":\"alice\",\"to\":\"bob\",\"amount\":5,"
        "\"currency\":\"EUR\",\"reference\":\"ok\"}"
        "]}");
    assert_int_equal(batch->count, 8);
    const struct {
        gateway_batch_item_state_t state;
        unsigned status;
        const char *code;
    } want[] = {
        {GATEWAY_BATCH_ITEM_PARSED, 0, ""},
        {GATEWAY_BATCH_ITEM_INVALID, 400, "missing_idempotency_key"},
        {GATEWAY_BATCH_ITEM_INVALID, 400, "invalid_idempotency_key"},
        {GATEWAY_BATCH_ITEM_INVALID, 422, "same_account"},
        {GATEWAY_BATCH_ITEM_INVALID, 400, "invalid_field"},
        {GATEWAY_BATCH_ITEM_INVALID, 400, "unknown_field"},
        {GATEWAY_BATCH_ITEM_INVALID, 400, "invalid_json"},
        {GATEWAY_BATCH_ITEM_PARSED, 0, ""},
    };
    for (size_t i = 0; i < batch->count; i++) {
        assert_int_equal(batch->items[i].state, want[i].state);
        if (want[i].status) {
            assert_int_equal(batch->items[i].error.http_status, want[i].status);
            assert_string_equal(batch->items[i].error.code, want[i].code);
        }
    }
    assert_string_equal(batch->items[7].req.currency, "EUR");
    assert_string_equal(batch->items[0].req.currency, "GBP");
    gateway_batch_destroy(&batch);
    assert_null(batch);
}

static char *batch_body(size_t count)
{
    size_t cap = 64 + count * 96;
    char *body = malloc(cap);
    assert_non_null(body);
    size_t len = (size_t)snprintf(body, cap, "{\"transfers\":[");
    for (size_t i = 0; i < count; i++)
        len += (size_t)snprintf(body + len, cap - len,
                                "%s{\"idempotency_key\":\"key-%zu\",\"from\":\"a%zu\","
                                "\"to\":\"b%zu\",\"amount\":%zu}",
                                i ? "," : "", i, i, i, i + 1);
    snprintf(body + len, cap - len, "]}");
    return body;
}

static void test_size_limit_is_8190_items(void **state)
{
    (void)state;
    char *body = batch_body(GATEWAY_BATCH_MAX);
    assert_true(strlen(body) < GATEWAY_BATCH_BODY_MAX);
    gateway_batch_t *batch = parse_ok(body);
    assert_int_equal(batch->count, GATEWAY_BATCH_MAX);
    for (size_t i = 0; i < batch->count; i++)
        assert_int_equal(batch->items[i].state, GATEWAY_BATCH_ITEM_PARSED);
    gateway_batch_destroy(&batch);
    free(body);
    body = batch_body(GATEWAY_BATCH_MAX + 1);
    parse_fails(body, 413, "batch_too_large");
    free(body);
}

/* --- answering ------------------------------------------------------------- */

/*  The pending transfer is written as text: it must be what jansson dumped
    for it before (the same keys in the same order, the same escapes). */
static void test_submitted_transfer_text_is_what_jansson_writes(void **state)
{
    (void)state;
    gateway_submit_result_t res;
    memset(&res, 0, sizeof res);
    snprintf(res.id, sizeof res.id, "tr_0123456789abcdef");
    snprintf(res.request.from, sizeof res.request.from, "alice");
    snprintf(res.request.to, sizeof res.request.to, "bob.smith-2");
    res.request.amount_minor = INT64_MAX;
    snprintf(res.request.currency, sizeof res.request.currency, "EUR");
    snprintf(res.request.reference, sizeof res.request.reference,
             "rent \"May\" \\ caf\xc3\xa9\n\t\x01 \xe2\x80\xa8");
    res.created_ms = 1764770000123ull;
    size_t size = 0;
    char *got = gateway_view_submitted_text(&res, &size);
    assert_non_null(got);
    char created_at[CLOCK_UTC_TEXT_SIZE];
    json_t *want_json =
        json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s}", "id", res.id, "status",
                  "pending", "from", res.request.from, "to", res.request.to, "amount",
                  (json_int_t)res.request.amount_minor, "currency", res.request.currency,
                  "reference", res.request.reference, "kind", "transfer", "created_at",
                  clock_format_utc(res.created_ms, created_at), "amount_text",
                  "92233720368547758.07", "capture", "auto");
    char *want = json_dumps(want_json, JSON_COMPACT);
    json_decref(want_json);
    assert_string_equal(got, want);
    assert_int_equal(size, strlen(want));
    free(got);
    free(want);
}

/* --- applying --------------------------------------------------------------- */

/* The three items' states, in order. */
static void assert_states(const gateway_batch_t *batch, gateway_batch_item_state_t s0,
                          gateway_batch_item_state_t s1, gateway_batch_item_state_t s2)
{
    assert_int_equal(batch->items[0].state, s0);
    assert_int_equal(batch->items[1].state, s1);
    assert_int_equal(batch->items[2].state, s2);
}

static void test_mixed_batch_commits_the_good_items(void **state)
{
    fx_t *fx = *state;
    gateway_batch_t *batch =
        parse_ok("{\"transfers\": ["
                 "{\"idempotency_key\":\"a\",\"from\":\"alice\",\"to\":\"bob\",\"amount\":100},"
                 "{\"idempotency_key\":\"b\",\"from\":\"alice\",\"to\":\"alice\",\"amount\":100},"
                 "{\"idempotency_key\":\"c\",\"from\":\"carol\",\"to\":\"bob\",\"amount\":300}"
                 "]}");
    assert_int_equal(apply(fx, batch, T0_MS), 2);
    assert_states(batch, GATEWAY_BATCH_ITEM_ACCEPTED, GATEWAY_BATCH_ITEM_INVALID,
                  GATEWAY_BATCH_ITEM_ACCEPTED);
    assert_string_not_equal(batch->items[0].result.id, batch->items[2].result.id);
    assert_int_equal(test_store_count(fx->store, STORE_DB_OUTBOX), 2);

    size_t size = 0;
    char *text = gateway_batch_response(batch, &size);
    assert_non_null(text);
    assert_int_equal(size, strlen(text));
    json_error_t jerr;
    json_t *answer = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    assert_non_null(answer);
    assert_int_equal(json_object_size(answer), 4);
    assert_int_equal(json_integer_value(json_object_get(answer, "replayed")), 0);
    assert_int_equal(json_integer_value(json_object_get(answer, "accepted")), 2);
    assert_int_equal(json_integer_value(json_object_get(answer, "rejected")), 1);
    const json_t *results = json_object_get(answer, "results");
    assert_int_equal(json_array_size(results), 3);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(json_integer_value(json_object_get(json_array_get(results, i), "index")),
                         i);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(results, 0), "status")),
                     202);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(results, 1), "status")),
                     422);
    const json_t *error = json_object_get(json_array_get(results, 1), "error");
    assert_string_equal(json_string_value(json_object_get(error, "code")),
                        batch->items[1].error.code);
    assert_string_equal(json_string_value(json_object_get(error, "message")),
                        batch->items[1].error.message);
    assert_true(json_object_get(error, "field") != NULL);
    /* each transfer is the single endpoint's answer: gateway_view_write_submitted */
    for (size_t i = 0; i < 3; i += 2) {
        char *single = gateway_view_submitted_text(&batch->items[i].result, NULL);
        assert_non_null(single);
        char *item =
            json_dumps(json_object_get(json_array_get(results, i), "transfer"), JSON_COMPACT);
        assert_string_equal(item, single);
        free(item);
        free(single);
    }
    json_decref(answer);
    gateway_batch_destroy(&batch);
}

static void test_an_item_from_another_principals_account_is_403_and_creates_nothing(void **state)
{
    fx_t *fx = *state;
    gateway_batch_t *batch =
        parse_ok("{\"transfers\": ["
                 "{\"idempotency_key\":\"x\",\"from\":\"dave\",\"to\":\"bob\",\"amount\":100},"
                 "{\"idempotency_key\":\"y\",\"from\":\"alice\",\"to\":\"bob\",\"amount\":100}"
                 "]}");
    assert_int_equal(apply(fx, batch, T0_MS), 1); /* dave is nobody's: only alice's goes */
    assert_int_equal(batch->items[0].state, GATEWAY_BATCH_ITEM_INVALID);
    assert_int_equal(batch->items[0].error.http_status, 403);
    assert_string_equal(batch->items[0].error.code, "forbidden_account");
    assert_string_equal(batch->items[0].error.field, "from");
    assert_int_equal(batch->items[1].state, GATEWAY_BATCH_ITEM_ACCEPTED);
    assert_int_equal(test_store_count(fx->store, STORE_DB_OUTBOX), 1);
    assert_int_equal(test_store_count(fx->store, STORE_DB_IDEMPOTENCY), 1);
    gateway_batch_destroy(&batch);
    /* Its key stayed free: a valid item under it is a new transfer. */
    batch = parse_ok("{\"transfers\": [{\"idempotency_key\":\"x\",\"from\":\"carol\","
                     "\"to\":\"bob\",\"amount\":100}]}");
    assert_int_equal(apply(fx, batch, T0_MS), 1);
    assert_int_equal(batch->items[0].state, GATEWAY_BATCH_ITEM_ACCEPTED);
    gateway_batch_destroy(&batch);
}

static void test_replay_within_one_batch_makes_one_transfer(void **state)
{
    fx_t *fx = *state;
    gateway_batch_t *batch =
        parse_ok("{\"transfers\": ["
                 "{\"idempotency_key\":\"same\",\"from\":\"alice\",\"to\":\"bob\",\"amount\":100},"
                 "{\"idempotency_key\":\"same\",\"from\":\"alice\",\"to\":\"bob\",\"amount\":100},"
                 "{\"idempotency_key\":\"same\",\"from\":\"alice\",\"to\":\"bob\",\"amount\":999}"
                 "]}");
    assert_int_equal(apply(fx, batch, T0_MS), 1);
    assert_states(batch, GATEWAY_BATCH_ITEM_ACCEPTED, GATEWAY_BATCH_ITEM_REPLAYED,
                  GATEWAY_BATCH_ITEM_INVALID);
    assert_string_equal(batch->items[0].result.id, batch->items[1].result.id);
    assert_int_equal(batch->items[2].error.http_status, 422);
    assert_string_equal(batch->items[2].error.code, "idempotency_key_reused");
    assert_int_equal(test_store_count(fx->store, STORE_DB_OUTBOX), 1);
    gateway_batch_destroy(&batch);
}

static void test_replay_across_batches_changes_nothing(void **state)
{
    fx_t *fx = *state;
    const char *body =
        "{\"transfers\": ["
        "{\"idempotency_key\":\"x1\",\"from\":\"alice\",\"to\":\"bob\",\"amount\":1},"
        "{\"idempotency_key\":\"x2\",\"from\":\"bob\",\"to\":\"alice\",\"amount\":2}"
        "]}";
    gateway_batch_t *first = parse_ok(body);
    assert_int_equal(apply(fx, first, T0_MS), 2);
    gateway_batch_t *again = parse_ok(body);
    assert_int_equal(apply(fx, again, T0_MS + 10), 0);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(again->items[i].state, GATEWAY_BATCH_ITEM_REPLAYED);
        assert_string_equal(again->items[i].result.id, first->items[i].result.id);
    }
    assert_int_equal(test_store_count(fx->store, STORE_DB_OUTBOX), 2);
    gateway_batch_destroy(&first);
    gateway_batch_destroy(&again);
}

static void test_apply_can_run_again_after_an_abort(void **state)
{
    fx_t *fx = *state;
    gateway_batch_t *batch =
        parse_ok("{\"transfers\": ["
                 "{\"idempotency_key\":\"r\",\"from\":\"alice\",\"to\":\"bob\",\"amount\":1},"
                 "{\"idempotency_key\":\"r\",\"from\":\"alice\",\"to\":\"bob\",\"amount\":2}"
                 "]}");
    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(fx->store, true, &txn), LEDGER_OK);
    node_ctx_t ctx;
    node_ctx_init(&ctx, txn, NODE, T0_MS);
    assert_int_equal(gateway_batch_apply(&ctx, batch, "tester", &test_keys, NULL), LEDGER_OK);
    store_txn_abort(&txn);
    node_ctx_fini(&ctx);
    assert_int_equal(apply(fx, batch, T0_MS), 1);
    assert_int_equal(batch->items[0].state, GATEWAY_BATCH_ITEM_ACCEPTED);
    assert_int_equal(batch->items[1].state, GATEWAY_BATCH_ITEM_INVALID);
    gateway_batch_destroy(&batch);
}

TEST_MAIN(cmocka_unit_test(test_malformed_envelope_is_refused_whole),
          cmocka_unit_test(test_bad_items_are_refused_one_by_one),
          cmocka_unit_test(test_size_limit_is_8190_items),
          cmocka_unit_test(test_submitted_transfer_text_is_what_jansson_writes),
          TEST_STORE_CASE(test_mixed_batch_commits_the_good_items),
          TEST_STORE_CASE(test_an_item_from_another_principals_account_is_403_and_creates_nothing),
          TEST_STORE_CASE(test_replay_within_one_batch_makes_one_transfer),
          TEST_STORE_CASE(test_replay_across_batches_changes_nothing),
          TEST_STORE_CASE(test_apply_can_run_again_after_an_abort))

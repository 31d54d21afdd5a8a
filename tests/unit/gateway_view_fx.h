/*  gateway_view_fx.h: the fixture and helpers of the gateway's view, event log
    and stream tests (gateway_view_test.c, gateway_events_test.c,
    gateway_stream_test.c). Each test opens a store in its own temporary
    directory, submits transfers and applies status events in real
    (committed) write transactions. Header-only: every helper is static
    inline, so a test file uses the ones it needs. */
#ifndef LEDGER_GATEWAY_VIEW_FX_H
#define LEDGER_GATEWAY_VIEW_FX_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway_events.h"
#include "gateway_stream.h"
#include "gateway_view.h"
#include "test_store.h"

#define T0_MS 1700000000000ULL
#define RETENTION_MS 1000u
#define NODE "gateway"

typedef test_store_t fx_t;

/* --- fixture --------------------------------------------------------------- */

static inline int setup(void **state)
{
    return test_store_setup(state);
}

static inline int teardown(void **state)
{
    return test_store_teardown(state);
}

/* --- helpers --------------------------------------------------------------- */

/* `n` copies of `c` and a NUL: a field at its limit. */
static inline void fill_text(char *buf, char c, size_t n)
{
    memset(buf, c, n);
    buf[n] = '\0';
}

static inline gateway_transfer_request_t request(const char *from, const char *to, int64_t amount)
{
    gateway_transfer_request_t req;
    memset(&req, 0, sizeof req);
    snprintf(req.from, sizeof req.from, "%s", from);
    snprintf(req.to, sizeof req.to, "%s", to);
    req.amount_minor = amount;
    snprintf(req.currency, sizeof req.currency, "GBP");
    snprintf(req.reference, sizeof req.reference, "rent");
    return req;
}

/* A write transaction of its own and the gateway's context on it, as of now_ms. */
typedef struct {
    store_txn_t *txn;
    node_ctx_t ctx;
} view_txn_t;

static inline void view_txn_begin(fx_t *fx, uint64_t now_ms, view_txn_t *t)
{
    t->txn = NULL;
    assert_int_equal(store_txn_begin(fx->store, true, &t->txn), LEDGER_OK);
    node_ctx_init(&t->ctx, t->txn, NODE, now_ms);
}

/* Commits when the step went well (err), aborts otherwise; returns err. */
static inline ledger_err_t view_txn_end(view_txn_t *t, ledger_err_t err)
{
    if (err == LEDGER_OK)
        assert_int_equal(store_txn_commit(&t->txn), LEDGER_OK);
    else
        store_txn_abort(&t->txn);
    node_ctx_fini(&t->ctx);
    return err;
}

/*  Submits as `principal` in its own write transaction; commits on success, aborts
    otherwise. */
static inline ledger_err_t submit_as(fx_t *fx, const char *principal, const char *key,
                                     const gateway_transfer_request_t *req, uint64_t now_ms,
                                     gateway_submit_result_t *out)
{
    /* legacy_keys: the view's tests plant keys of the legacy principal themselves. */
    const gateway_view_keys_t keys = {.retention_ms = RETENTION_MS, .legacy_keys = true};
    view_txn_t t;
    view_txn_begin(fx, now_ms, &t);
    return view_txn_end(&t, gateway_view_submit(&t.ctx, principal, req, key, &keys, out));
}

/* Submits as the principal "tester" (submit_as). */
static inline ledger_err_t submit(fx_t *fx, const char *key, const gateway_transfer_request_t *req,
                                  uint64_t now_ms, gateway_submit_result_t *out)
{
    return submit_as(fx, "tester", key, req, now_ms, out);
}

static inline void submit_ok(fx_t *fx, const char *key, const gateway_transfer_request_t *req,
                             uint64_t now_ms, gateway_submit_result_t *out)
{
    assert_int_equal(submit(fx, key, req, now_ms, out), LEDGER_OK);
}

/* Submits `req` under `key` at T0_MS (asserted to succeed); returns the result. */
static inline gateway_submit_result_t submit_request(fx_t *fx, const char *key,
                                                     gateway_transfer_request_t req)
{
    gateway_submit_result_t res;
    submit_ok(fx, key, &req, T0_MS, &res);
    return res;
}

/* The usual first step: alice pays bob 5.00 (reference "rent") under "key-1" at T0_MS. */
static inline gateway_submit_result_t submit_sample(fx_t *fx)
{
    return submit_request(fx, "key-1", request("alice", "bob", 500));
}

static inline ledger_err_t apply(fx_t *fx, const proto_msg_t *msg, uint64_t now_ms)
{
    view_txn_t t;
    view_txn_begin(fx, now_ms, &t);
    ledger_err_t err = gateway_view_apply(&t.ctx, msg);
    assert_int_equal(t.ctx.published_count, 0); /* the gateway never emits on an event */
    return view_txn_end(&t, err);
}

static inline void apply_ok(fx_t *fx, proto_msg_t msg, uint64_t now_ms)
{
    assert_int_equal(apply(fx, &msg, now_ms), LEDGER_OK);
}

static inline uint64_t count(fx_t *fx, store_db_t db)
{
    return test_store_count(fx->store, db);
}

/* Entries of `db` whose key starts with `prefix` (the INDEX db holds "idem/" and "evt/" keys). */
static inline uint64_t count_prefix(fx_t *fx, store_db_t db, const char *prefix)
{
    store_txn_t *txn = NULL;
    store_cursor_t *cursor = NULL;
    uint64_t n = 0;
    assert_int_equal(store_txn_begin(fx->store, false, &txn), LEDGER_OK);
    assert_int_equal(store_cursor_open(txn, db, &cursor), LEDGER_OK);
    store_kv_t kv = {.key = prefix, .key_size = strlen(prefix)};
    ledger_err_t err = store_cursor_get(cursor, STORE_SEEK, &kv);
    while (err == LEDGER_OK && kv.key_size >= strlen(prefix) &&
           memcmp(kv.key, prefix, strlen(prefix)) == 0) {
        n++;
        err = store_cursor_get(cursor, STORE_NEXT, &kv);
    }
    store_cursor_close(&cursor);
    store_txn_abort(&txn);
    return n;
}

/* The raw stored view record as hex text (malloc'd; the record is binary), to prove a step
   wrote nothing. */
static inline char *raw_record(fx_t *fx, const char *id)
{
    store_txn_t *txn = NULL;
    const void *val;
    size_t size;
    assert_int_equal(store_txn_begin(fx->store, false, &txn), LEDGER_OK);
    assert_int_equal(store_get(txn, STORE_DB_TRANSFERS, id, strlen(id), &val, &size), LEDGER_OK);
    char *hex = malloc(2 * size + 1);
    assert_non_null(hex);
    for (size_t i = 0; i < size; i++)
        snprintf(hex + 2 * i, 3, "%02x", ((const unsigned char *)val)[i]);
    hex[2 * size] = '\0';
    store_txn_abort(&txn);
    return hex;
}

/* The stored view record of `id` is still `before` (a raw_record, which this frees). */
static inline void assert_record_unchanged(fx_t *fx, const char *id, char *before)
{
    char *after = raw_record(fx, id);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

static inline json_t *get_transfer(fx_t *fx, const char *id)
{
    store_txn_t *txn = NULL;
    json_t *out = NULL;
    assert_int_equal(store_txn_begin(fx->store, false, &txn), LEDGER_OK);
    assert_int_equal(gateway_view_transfer_get(txn, id, &out), LEDGER_OK);
    store_txn_abort(&txn);
    return out;
}

static inline void assert_status(fx_t *fx, const char *id, const char *status)
{
    json_t *t = get_transfer(fx, id);
    assert_string_equal(json_string_value(json_object_get(t, "status")), status);
    json_decref(t);
}

/* The transfer `id` as JSON (the caller frees it), asserted to be in `status`. */
static inline json_t *transfer_with_status(fx_t *fx, const char *id, const char *status)
{
    json_t *t = get_transfer(fx, id);
    assert_string_equal(json_string_value(json_object_get(t, "status")), status);
    return t;
}

static inline proto_msg_t event(const char *origin, uint64_t seq, proto_type_t type,
                                const char *transfer, uint64_t ts_ms)
{
    proto_msg_t m;
    memset(&m, 0, sizeof m);
    m.v = PROTO_VERSION;
    snprintf(m.origin, sizeof m.origin, "%s", origin);
    m.seq = seq;
    m.type = type;
    snprintf(m.corr, sizeof m.corr, "%s", transfer);
    snprintf(m.cause, sizeof m.cause, "gateway/1");
    m.ts_ms = ts_ms;
    switch (type) {
    case PROTO_FUNDS_RESERVED:
    case PROTO_TRANSFER_SETTLED:
        snprintf(m.body.transfer.transfer, sizeof m.body.transfer.transfer, "%s", transfer);
        snprintf(m.body.transfer.from, sizeof m.body.transfer.from, "alice");
        snprintf(m.body.transfer.to, sizeof m.body.transfer.to, "bob");
        m.body.transfer.amount_minor = 500;
        snprintf(m.body.transfer.currency, sizeof m.body.transfer.currency, "GBP");
        break;
    case PROTO_TRANSFER_REJECTED_FRAUD:
    case PROTO_FRAUD_APPROVED:
        snprintf(m.body.verdict.transfer, sizeof m.body.verdict.transfer, "%s", transfer);
        m.body.verdict.rule_count = 2;
        snprintf(m.body.verdict.rules[0], sizeof m.body.verdict.rules[0], "amount_threshold");
        snprintf(m.body.verdict.rules[1], sizeof m.body.verdict.rules[1], "velocity");
        snprintf(m.body.verdict.reason, sizeof m.body.verdict.reason, "amount over the limit");
        break;
    case PROTO_TRANSFER_DECLINED:
        snprintf(m.body.declined.transfer, sizeof m.body.declined.transfer, "%s", transfer);
        snprintf(m.body.declined.code, sizeof m.body.declined.code, "insufficient_funds");
        snprintf(m.body.declined.reason, sizeof m.body.declined.reason, "available 100 < 500");
        break;
    default:
        break;
    }
    return m;
}

/* --- the event log, read and rendered as a stream renders it ---------------- */

typedef struct {
    store_txn_t *txn; /* the read's transaction, for rendering */
    uint64_t seqs[64];
    json_t *events[64];
    size_t count;
} events_seen_t;

static inline bool collect_event(const gateway_event_t *ev, void *arg)
{
    events_seen_t *seen = arg;
    assert_true(seen->count < 64);
    char *json = NULL;
    assert_int_equal(gateway_streams_render_event(seen->txn, ev, false, &json), LEDGER_OK);
    seen->seqs[seen->count] = ev->seq;
    seen->events[seen->count] = json_loadb(json, strlen(json), JSON_REJECT_DUPLICATES, NULL);
    free(json);
    assert_non_null(seen->events[seen->count]);
    seen->count++;
    return true;
}

static inline void read_events(fx_t *fx, uint64_t after_seq, events_seen_t *seen)
{
    memset(seen, 0, sizeof *seen);
    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(fx->store, false, &txn), LEDGER_OK);
    seen->txn = txn;
    assert_int_equal(gateway_events_read(txn, after_seq, 64, collect_event, seen, NULL), LEDGER_OK);
    seen->txn = NULL;
    store_txn_abort(&txn);
}

static inline void events_free(events_seen_t *seen)
{
    for (size_t i = 0; i < seen->count; i++)
        json_decref(seen->events[i]);
    seen->count = 0;
}

static inline const char *event_type(const events_seen_t *seen, size_t i)
{
    return json_string_value(json_object_get(seen->events[i], "type"));
}

static inline void append_events(fx_t *fx, size_t n, uint64_t now_ms)
{
    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(fx->store, true, &txn), LEDGER_OK);
    gateway_event_t ev = {.ts_ms = now_ms,
                          .type = "funds.reserved",
                          .node = "accounts",
                          .message_id = "accounts/1",
                          .transfer_id = "tr_x"};
    for (size_t i = 0; i < n; i++)
        assert_int_equal(gateway_events_append(txn, &ev, NULL), LEDGER_OK);
    assert_int_equal(store_txn_commit(&txn), LEDGER_OK);
}

#endif

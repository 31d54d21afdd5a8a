/*  gateway_view_action_test.c: issue 21 in the gateway's view (gateway_view_act,
    gateway_view_apply's new steps, the record's new fields): manual transfers, authorised,
    captured, voided and expired; refunds and their sums; every refusal (404 for a stranger,
    409 invalid_state for each case, 422 exceeds_authorized, exceeds_refundable also for two
    refunds back to back in one commit, too_many_refunds) writing nothing; idempotent replays
    of capture, void and refund; replays of each new message changing nothing. */
#define _GNU_SOURCE
#include "gateway_view_fx.h"
#include "gateway_owners.h"
#include "test_main.h"

#define OWNER_FROM "alice" /* principal owning account alice */
#define OWNER_TO "bob"     /* principal owning account bob */
#define OPERATOR "ops"
#define STRANGER "mallory"

/* alice and bob owned by the principals of the same names. */
static ledger_err_t seed_owners(store_txn_t *txn, void *arg)
{
    (void)arg;
    ledger_err_t err = gateway_owners_put(txn, "alice", OWNER_FROM, NULL);
    return err ? err : gateway_owners_put(txn, "bob", OWNER_TO, NULL);
}

static int setup_owned(void **state)
{
    int rc = setup(state);
    if (rc == 0) {
        fx_t *fx = *state;
        assert_int_equal(store_write(fx->store, seed_owners, NULL), LEDGER_OK);
    }
    return rc;
}

static const gateway_view_keys_t keys = {.retention_ms = 24u * 3600 * 1000};

/* alice pays bob `amount`, manual capture expiring in 600 s, as alice, at T0_MS. */
static gateway_submit_result_t submit_manual(fx_t *fx, const char *key, int64_t amount)
{
    gateway_transfer_request_t req = request("alice", "bob", amount);
    req.capture = PROTO_CAPTURE_MANUAL;
    req.expires_in_s = 600;
    gateway_submit_result_t res;
    assert_int_equal(submit_as(fx, OWNER_FROM, key, &req, T0_MS, &res), LEDGER_OK);
    return res;
}

/* The accounts node's message of `type` for transfer `id` (seq makes its id). */
static proto_msg_t msg_for(proto_type_t type, const char *id, uint64_t seq, int64_t amount)
{
    proto_msg_t m = event("accounts", seq, type, id, T0_MS + seq);
    if (type == PROTO_FRAUD_APPROVED || type == PROTO_FRAUD_REJECTED) {
        snprintf(m.body.verdict.transfer, sizeof m.body.verdict.transfer, "%s", id);
        snprintf(m.origin, sizeof m.origin, "fraud");
    } else if (type == PROTO_TRANSFER_AUTHORIZED || type == PROTO_TRANSFER_SETTLED ||
               type == PROTO_FUNDS_RESERVED) {
        proto_transfer_t *t = &m.body.transfer;
        snprintf(t->transfer, sizeof t->transfer, "%s", id);
        snprintf(t->from, sizeof t->from, "alice");
        snprintf(t->to, sizeof t->to, "bob");
        snprintf(t->currency, sizeof t->currency, "GBP");
        t->amount_minor = amount;
        t->captured_minor = type == PROTO_TRANSFER_SETTLED ? amount : 0;
    } else if (type == PROTO_TRANSFER_VOIDED || type == PROTO_TRANSFER_EXPIRED ||
               type == PROTO_TRANSFER_DECLINED) {
        proto_declined_t *d = &m.body.declined;
        snprintf(d->transfer, sizeof d->transfer, "%s", id);
        snprintf(d->code, sizeof d->code, "%s",
                 type == PROTO_TRANSFER_VOIDED    ? PROTO_CODE_VOIDED
                 : type == PROTO_TRANSFER_EXPIRED ? PROTO_CODE_EXPIRED
                                                  : "insufficient_funds");
        snprintf(d->reason, sizeof d->reason, "by the accounts node");
    }
    return m;
}

static void apply_msg(fx_t *fx, proto_type_t type, const char *id, uint64_t seq, int64_t amount)
{
    apply_ok(fx, msg_for(type, id, seq, amount), T0_MS + seq);
}

/* An action as `principal` (operator: operator_scope) in a commit of its own. */
static ledger_err_t act_as(fx_t *fx, const char *principal, bool op, gateway_view_act_t what,
                           const char *id, int64_t amount, const char *key,
                           gateway_view_action_result_t *out)
{
    gateway_view_action_t a = {.act = what, .amount_minor = amount, .operator_scope = op};
    snprintf(a.transfer, sizeof a.transfer, "%s", id);
    view_txn_t t;
    view_txn_begin(fx, T0_MS + 1000, &t);
    return view_txn_end(&t, gateway_view_act(&t.ctx, principal, &a, key, &keys, out));
}

/* The refusal of an action that must be refused: nothing written (outbox and record). */
static void assert_refused(fx_t *fx, const char *principal, bool op, gateway_view_act_t what,
                           const char *id, int64_t amount, gateway_view_refusal_t want)
{
    uint64_t outbox = count(fx, STORE_DB_OUTBOX);
    uint64_t transfers = count(fx, STORE_DB_TRANSFERS);
    uint64_t keys_before = count(fx, STORE_DB_IDEMPOTENCY);
    char *before = raw_record(fx, id);
    gateway_view_action_result_t out;
    assert_int_equal(act_as(fx, principal, op, what, id, amount, "refused-key", &out), LEDGER_OK);
    assert_int_equal(out.refusal, want);
    assert_int_equal(count(fx, STORE_DB_OUTBOX), outbox);
    assert_int_equal(count(fx, STORE_DB_TRANSFERS), transfers);
    assert_int_equal(count(fx, STORE_DB_IDEMPOTENCY), keys_before);
    assert_record_unchanged(fx, id, before);
}

/* The newest outbox message. */
static proto_msg_t last_emitted(fx_t *fx)
{
    store_txn_t *txn = NULL;
    store_outbox_entry_t entry;
    proto_msg_t msg;
    uint64_t after = 0;
    assert_int_equal(store_txn_begin(fx->store, false, &txn), LEDGER_OK);
    while (store_outbox_next(txn, after, &entry) == LEDGER_OK) {
        assert_int_equal(proto_decode(entry.msg, entry.msg_size, &msg, NULL, 0), LEDGER_OK);
        after = entry.seq;
    }
    store_txn_abort(&txn);
    assert_true(after > 0);
    return msg;
}

static const char *str_of(const json_t *t, const char *key)
{
    return json_string_value(json_object_get(t, key));
}

static json_int_t int_of(const json_t *t, const char *key)
{
    return json_integer_value(json_object_get(t, key));
}

/* An authorized manual transfer of `amount` (requested, authorized). */
static gateway_submit_result_t authorized(fx_t *fx, const char *key, int64_t amount)
{
    gateway_submit_result_t res = submit_manual(fx, key, amount);
    apply_msg(fx, PROTO_TRANSFER_AUTHORIZED, res.id, 10, amount);
    return res;
}

/* A settled automatic transfer alice -> bob of `amount`. */
static gateway_submit_result_t settled(fx_t *fx, const char *key, int64_t amount)
{
    gateway_transfer_request_t req = request("alice", "bob", amount);
    gateway_submit_result_t res;
    assert_int_equal(submit_as(fx, OWNER_FROM, key, &req, T0_MS, &res), LEDGER_OK);
    apply_msg(fx, PROTO_TRANSFER_SETTLED, res.id, 20, amount);
    return res;
}

/* --- manual transfers: authorised, captured, voided, expired ------------------------------ */

static void test_manual_transfer_carries_capture_and_expiry(void **state)
{
    fx_t *fx = *state;
    gateway_submit_result_t res = submit_manual(fx, "k1", 500);
    assert_int_equal(res.expires_at_ms, T0_MS + 600000);
    proto_msg_t m = last_emitted(fx);
    assert_int_equal(m.type, PROTO_TRANSFER_REQUESTED);
    assert_int_equal(m.body.transfer.capture, PROTO_CAPTURE_MANUAL);
    assert_int_equal(m.body.transfer.expires_at_ms, T0_MS + 600000);
    json_t *t = transfer_with_status(fx, res.id, "pending");
    assert_string_equal(str_of(t, "capture"), "manual");
    assert_string_equal(str_of(t, "expires_at"), "2023-11-14T22:23:20.000Z");
    assert_string_equal(str_of(t, "amount_text"), "5.00");
    assert_true(json_is_null(json_object_get(t, "captured_amount")));
    json_decref(t);
}

static void test_authorized_holds_and_its_replay_changes_nothing(void **state)
{
    fx_t *fx = *state;
    gateway_submit_result_t res = authorized(fx, "k1", 500);
    json_t *t = transfer_with_status(fx, res.id, "authorized");
    assert_true(json_is_true(json_object_get(t, "held")));
    json_decref(t);
    char *before = raw_record(fx, res.id);
    apply_msg(fx, PROTO_TRANSFER_AUTHORIZED, res.id, 10, 500);
    assert_record_unchanged(fx, res.id, before);
}

static void test_capture_is_sent_once_and_settles_with_the_captured_amount(void **state)
{
    fx_t *fx = *state;
    gateway_submit_result_t res = authorized(fx, "k1", 500);
    gateway_view_action_result_t out;
    assert_int_equal(
        act_as(fx, OWNER_FROM, false, GATEWAY_VIEW_ACT_CAPTURE, res.id, 300, "cap-1", &out),
        LEDGER_OK);
    assert_int_equal(out.refusal, GATEWAY_VIEW_REFUSAL_NONE);
    assert_false(out.created.replayed);
    proto_msg_t m = last_emitted(fx);
    assert_int_equal(m.type, PROTO_TRANSFER_CAPTURE);
    assert_string_equal(m.corr, res.id);
    assert_int_equal(m.body.action.amount_minor, 300);
    assert_string_equal(m.body.action.principal, OWNER_FROM);
    assert_false(m.body.action.operator_scope);
    json_t *t = transfer_with_status(fx, res.id, "authorized");
    assert_string_equal(str_of(t, "pending_action"), "capture");
    json_decref(t);
    /* In flight: a second capture and a void are refused. */
    assert_refused(fx, OWNER_FROM, false, GATEWAY_VIEW_ACT_CAPTURE, res.id, 0,
                   GATEWAY_VIEW_REFUSAL_INVALID_STATE);
    assert_refused(fx, OWNER_FROM, false, GATEWAY_VIEW_ACT_VOID, res.id, 0,
                   GATEWAY_VIEW_REFUSAL_INVALID_STATE);
    apply_msg(fx, PROTO_TRANSFER_SETTLED, res.id, 11, 300);
    t = transfer_with_status(fx, res.id, "settled");
    assert_int_equal(int_of(t, "captured_amount"), 300);
    assert_int_equal(int_of(t, "amount"), 500);
    assert_true(json_is_null(json_object_get(t, "pending_action")));
    assert_false(json_is_true(json_object_get(t, "held")));
    json_decref(t);
    /* A second capture of a settled transfer. */
    assert_refused(fx, OWNER_FROM, false, GATEWAY_VIEW_ACT_CAPTURE, res.id, 0,
                   GATEWAY_VIEW_REFUSAL_INVALID_STATE);
}

static void test_capture_without_amount_sends_the_authorised_amount(void **state)
{
    fx_t *fx = *state;
    gateway_submit_result_t res = authorized(fx, "k1", 500);
    gateway_view_action_result_t out;
    assert_int_equal(
        act_as(fx, OWNER_FROM, false, GATEWAY_VIEW_ACT_CAPTURE, res.id, 0, "cap-1", &out),
        LEDGER_OK);
    assert_int_equal(out.refusal, GATEWAY_VIEW_REFUSAL_NONE);
    assert_int_equal(last_emitted(fx).body.action.amount_minor, 500);
}

static void test_capture_above_the_authorised_amount_is_refused(void **state)
{
    fx_t *fx = *state;
    gateway_submit_result_t res = authorized(fx, "k1", 500);
    assert_refused(fx, OWNER_FROM, false, GATEWAY_VIEW_ACT_CAPTURE, res.id, 501,
                   GATEWAY_VIEW_REFUSAL_EXCEEDS_AUTHORIZED);
}

static void test_capture_before_the_verdict_is_refused(void **state)
{
    fx_t *fx = *state;
    gateway_submit_result_t res = submit_manual(fx, "k1", 500);
    assert_refused(fx, OWNER_FROM, false, GATEWAY_VIEW_ACT_CAPTURE, res.id, 0,
                   GATEWAY_VIEW_REFUSAL_INVALID_STATE);
    assert_refused(fx, OWNER_FROM, false, GATEWAY_VIEW_ACT_VOID, res.id, 0,
                   GATEWAY_VIEW_REFUSAL_INVALID_STATE);
}

static void test_void_then_voided_and_nothing_after(void **state)
{
    fx_t *fx = *state;
    gateway_submit_result_t res = authorized(fx, "k1", 500);
    gateway_view_action_result_t out;
    assert_int_equal(act_as(fx, OWNER_FROM, false, GATEWAY_VIEW_ACT_VOID, res.id, 0, "v-1", &out),
                     LEDGER_OK);
    assert_int_equal(out.refusal, GATEWAY_VIEW_REFUSAL_NONE);
    proto_msg_t m = last_emitted(fx);
    assert_int_equal(m.type, PROTO_TRANSFER_VOID);
    assert_int_equal(m.body.action.amount_minor, 0);
    apply_msg(fx, PROTO_TRANSFER_VOIDED, res.id, 11, 0);
    json_t *t = transfer_with_status(fx, res.id, "voided");
    assert_string_equal(str_of(json_object_get(t, "reason"), "code"), "voided");
    json_decref(t);
    assert_refused(fx, OWNER_FROM, false, GATEWAY_VIEW_ACT_CAPTURE, res.id, 0,
                   GATEWAY_VIEW_REFUSAL_INVALID_STATE);
    /* The saga guard: a late settle or a replay of voided changes nothing. */
    char *before = raw_record(fx, res.id);
    apply_msg(fx, PROTO_TRANSFER_SETTLED, res.id, 12, 500);
    apply_msg(fx, PROTO_TRANSFER_VOIDED, res.id, 11, 0);
    assert_record_unchanged(fx, res.id, before);
}

static void test_expired_is_final_and_a_capture_after_it_is_refused(void **state)
{
    fx_t *fx = *state;
    gateway_submit_result_t res = authorized(fx, "k1", 500);
    apply_msg(fx, PROTO_TRANSFER_EXPIRED, res.id, 11, 0);
    assert_status(fx, res.id, "expired");
    assert_refused(fx, OWNER_FROM, false, GATEWAY_VIEW_ACT_CAPTURE, res.id, 0,
                   GATEWAY_VIEW_REFUSAL_INVALID_STATE);
    assert_refused(fx, OWNER_FROM, false, GATEWAY_VIEW_ACT_VOID, res.id, 0,
                   GATEWAY_VIEW_REFUSAL_INVALID_STATE);
    char *before = raw_record(fx, res.id);
    apply_msg(fx, PROTO_TRANSFER_EXPIRED, res.id, 11, 0);
    apply_msg(fx, PROTO_TRANSFER_AUTHORIZED, res.id, 13, 500);
    assert_record_unchanged(fx, res.id, before);
}

static void test_a_capture_racing_expiry_ends_expired(void **state)
{
    fx_t *fx = *state;
    gateway_submit_result_t res = authorized(fx, "k1", 500);
    gateway_view_action_result_t out;
    assert_int_equal(
        act_as(fx, OWNER_FROM, false, GATEWAY_VIEW_ACT_CAPTURE, res.id, 0, "cap-1", &out),
        LEDGER_OK);
    /* The accounts node expired it first and ignores the capture: expired, nothing in flight. */
    apply_msg(fx, PROTO_TRANSFER_EXPIRED, res.id, 11, 0);
    json_t *t = transfer_with_status(fx, res.id, "expired");
    assert_true(json_is_null(json_object_get(t, "pending_action")));
    json_decref(t);
}

/* --- who may act ---------------------------------------------------------------------- */

static void test_only_the_payer_or_an_operator_captures_or_voids(void **state)
{
    fx_t *fx = *state;
    gateway_submit_result_t res = authorized(fx, "k1", 500);
    assert_refused(fx, STRANGER, false, GATEWAY_VIEW_ACT_CAPTURE, res.id, 0,
                   GATEWAY_VIEW_REFUSAL_NOT_FOUND);
    assert_refused(fx, OWNER_TO, false, GATEWAY_VIEW_ACT_CAPTURE, res.id, 0,
                   GATEWAY_VIEW_REFUSAL_NOT_FOUND);
    assert_refused(fx, STRANGER, false, GATEWAY_VIEW_ACT_VOID, res.id, 0,
                   GATEWAY_VIEW_REFUSAL_NOT_FOUND);
    gateway_view_action_result_t out;
    uint64_t outbox = count(fx, STORE_DB_OUTBOX);
    assert_int_equal(act_as(fx, OWNER_FROM, false, GATEWAY_VIEW_ACT_CAPTURE,
                            "tr_00000000000000000000", 0, "none-1", &out),
                     LEDGER_OK);
    assert_int_equal(out.refusal, GATEWAY_VIEW_REFUSAL_NOT_FOUND);
    assert_int_equal(count(fx, STORE_DB_OUTBOX), outbox);
    assert_int_equal(act_as(fx, OPERATOR, true, GATEWAY_VIEW_ACT_VOID, res.id, 0, "op-1", &out),
                     LEDGER_OK);
    assert_int_equal(out.refusal, GATEWAY_VIEW_REFUSAL_NONE);
    proto_msg_t m = last_emitted(fx);
    assert_string_equal(m.body.action.principal, OPERATOR);
    assert_true(m.body.action.operator_scope);
}

/* --- idempotency ------------------------------------------------------------------------ */

static void test_a_replayed_capture_or_void_writes_nothing(void **state)
{
    fx_t *fx = *state;
    gateway_submit_result_t res = authorized(fx, "k1", 500);
    gateway_view_action_result_t out;
    assert_int_equal(
        act_as(fx, OWNER_FROM, false, GATEWAY_VIEW_ACT_CAPTURE, res.id, 200, "cap-1", &out),
        LEDGER_OK);
    uint64_t outbox = count(fx, STORE_DB_OUTBOX);
    char *before = raw_record(fx, res.id);
    assert_int_equal(
        act_as(fx, OWNER_FROM, false, GATEWAY_VIEW_ACT_CAPTURE, res.id, 200, "cap-1", &out),
        LEDGER_OK);
    assert_int_equal(out.refusal, GATEWAY_VIEW_REFUSAL_NONE);
    assert_true(out.created.replayed);
    assert_string_equal(out.created.id, res.id);
    assert_int_equal(count(fx, STORE_DB_OUTBOX), outbox);
    assert_record_unchanged(fx, res.id, before);
    /* The same key for another amount, or for a void, is a reused key. */
    assert_int_equal(
        act_as(fx, OWNER_FROM, false, GATEWAY_VIEW_ACT_CAPTURE, res.id, 300, "cap-1", &out),
        LEDGER_E_EXISTS);
    assert_int_equal(act_as(fx, OWNER_FROM, false, GATEWAY_VIEW_ACT_VOID, res.id, 0, "cap-1", &out),
                     LEDGER_E_EXISTS);
    /* Still a replay after the transfer settled. */
    apply_msg(fx, PROTO_TRANSFER_SETTLED, res.id, 11, 200);
    assert_int_equal(
        act_as(fx, OWNER_FROM, false, GATEWAY_VIEW_ACT_CAPTURE, res.id, 200, "cap-1", &out),
        LEDGER_OK);
    assert_true(out.created.replayed);
    assert_int_equal(count(fx, STORE_DB_OUTBOX), outbox);
}

/* Past its expiry an authorisation is not captured, even before the accounts node said so. */
static void test_a_capture_past_the_expiry_is_invalid_state(void **state)
{
    fx_t *fx = *state;
    gateway_submit_result_t res = authorized(fx, "k1", 500);
    gateway_view_action_t a = {.act = GATEWAY_VIEW_ACT_CAPTURE, .amount_minor = 500};
    snprintf(a.transfer, sizeof a.transfer, "%s", res.id);
    uint64_t outbox = count(fx, STORE_DB_OUTBOX);
    gateway_view_action_result_t out;
    view_txn_t t;
    view_txn_begin(fx, res.expires_at_ms, &t);
    assert_int_equal(
        view_txn_end(&t, gateway_view_act(&t.ctx, OWNER_FROM, &a, "late", &keys, &out)), LEDGER_OK);
    assert_int_equal(out.refusal, GATEWAY_VIEW_REFUSAL_INVALID_STATE);
    assert_int_equal(count(fx, STORE_DB_OUTBOX), outbox);
}

/* --- refunds ------------------------------------------------------------------------- */

static void test_refund_is_a_reverse_transfer_linked_to_its_original(void **state)
{
    fx_t *fx = *state;
    gateway_submit_result_t orig = settled(fx, "k1", 500);
    gateway_view_action_result_t out;
    assert_int_equal(
        act_as(fx, OWNER_TO, false, GATEWAY_VIEW_ACT_REFUND, orig.id, 200, "r-1", &out), LEDGER_OK);
    assert_int_equal(out.refusal, GATEWAY_VIEW_REFUSAL_NONE);
    const char *refund = out.created.id;
    assert_string_equal(out.created.request.from, "bob");
    assert_string_equal(out.created.request.to, "alice");
    assert_string_equal(out.created.request.refund_of, orig.id);
    proto_msg_t m = last_emitted(fx);
    assert_int_equal(m.type, PROTO_TRANSFER_REQUESTED);
    assert_int_equal(m.body.transfer.kind, PROTO_TRANSFER_KIND_REFUND);
    assert_string_equal(m.body.transfer.refund_of, orig.id);
    assert_string_equal(m.body.transfer.principal, OWNER_TO);
    assert_false(m.body.transfer.operator_scope);
    assert_int_equal(m.body.transfer.amount_minor, 200);
    json_t *t = transfer_with_status(fx, refund, "pending");
    assert_string_equal(str_of(t, "kind"), "refund");
    assert_string_equal(str_of(t, "refund_of"), orig.id);
    json_decref(t);
    t = transfer_with_status(fx, orig.id, "settled");
    assert_int_equal(json_array_size(json_object_get(t, "refunds")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(t, "refunds"), 0)),
                        refund);
    assert_int_equal(int_of(t, "refunded_amount"), 0); /* settled refunds only */
    json_decref(t);
    apply_msg(fx, PROTO_TRANSFER_SETTLED, refund, 30, 200);
    t = transfer_with_status(fx, orig.id, "settled");
    assert_int_equal(int_of(t, "refunded_amount"), 200);
    json_decref(t);
    /* A replay of the refund's settle changes neither. */
    char *before = raw_record(fx, orig.id);
    apply_msg(fx, PROTO_TRANSFER_SETTLED, refund, 30, 200);
    assert_record_unchanged(fx, orig.id, before);
}

/*  Fraud's verdict reaches the gateway apart from the accounts node's answer, in any order: a
    verdict for a refund that settled already is history on the refund, and its original's
    refunded amount is counted once (found by the payments chaos test: 300 for one refund of
    100). */
static void test_a_late_verdict_on_a_settled_refund_does_not_count_it_again(void **state)
{
    fx_t *fx = *state;
    gateway_submit_result_t orig = settled(fx, "k1", 500);
    gateway_view_action_result_t out;
    assert_int_equal(
        act_as(fx, OWNER_TO, false, GATEWAY_VIEW_ACT_REFUND, orig.id, 100, "r-1", &out), LEDGER_OK);
    assert_int_equal(out.refusal, GATEWAY_VIEW_REFUSAL_NONE);
    apply_msg(fx, PROTO_TRANSFER_SETTLED, out.created.id, 30, 100);
    apply_msg(fx, PROTO_FRAUD_APPROVED, out.created.id, 31, 0);
    apply_msg(fx, PROTO_FUNDS_RESERVED, out.created.id, 32, 100);
    json_t *t = transfer_with_status(fx, orig.id, "settled");
    assert_int_equal(int_of(t, "refunded_amount"), 100);
    json_decref(t);
}

static void test_two_refunds_back_to_back_never_pass_the_captured_amount(void **state)
{
    fx_t *fx = *state;
    gateway_submit_result_t orig = settled(fx, "k1", 500);
    gateway_view_action_t a = {.act = GATEWAY_VIEW_ACT_REFUND, .amount_minor = 300};
    snprintf(a.transfer, sizeof a.transfer, "%s", orig.id);
    gateway_view_action_result_t first, second;
    view_txn_t t; /* one commit, as the loop takes them: the second sees the first */
    view_txn_begin(fx, T0_MS + 1000, &t);
    assert_int_equal(gateway_view_act(&t.ctx, OWNER_TO, &a, "r-1", &keys, &first), LEDGER_OK);
    assert_int_equal(gateway_view_act(&t.ctx, OWNER_TO, &a, "r-2", &keys, &second), LEDGER_OK);
    assert_int_equal(view_txn_end(&t, LEDGER_OK), LEDGER_OK);
    assert_int_equal(first.refusal, GATEWAY_VIEW_REFUSAL_NONE);
    assert_int_equal(second.refusal, GATEWAY_VIEW_REFUSAL_EXCEEDS_REFUNDABLE);
    assert_int_equal(count(fx, STORE_DB_TRANSFERS), 2);
    /* What is left (200) is the default amount; then nothing is left. */
    gateway_view_action_result_t out;
    assert_int_equal(act_as(fx, OWNER_TO, false, GATEWAY_VIEW_ACT_REFUND, orig.id, 0, "r-3", &out),
                     LEDGER_OK);
    assert_int_equal(out.refusal, GATEWAY_VIEW_REFUSAL_NONE);
    assert_int_equal(out.created.request.amount_minor, 200);
    assert_refused(fx, OWNER_TO, false, GATEWAY_VIEW_ACT_REFUND, orig.id, 0,
                   GATEWAY_VIEW_REFUSAL_EXCEEDS_REFUNDABLE);
    assert_refused(fx, OWNER_TO, false, GATEWAY_VIEW_ACT_REFUND, orig.id, 1,
                   GATEWAY_VIEW_REFUSAL_EXCEEDS_REFUNDABLE);
}

static void test_a_declined_refund_gives_its_amount_back(void **state)
{
    fx_t *fx = *state;
    gateway_submit_result_t orig = settled(fx, "k1", 500);
    gateway_view_action_result_t out;
    assert_int_equal(
        act_as(fx, OWNER_TO, false, GATEWAY_VIEW_ACT_REFUND, orig.id, 500, "r-1", &out), LEDGER_OK);
    assert_refused(fx, OWNER_TO, false, GATEWAY_VIEW_ACT_REFUND, orig.id, 1,
                   GATEWAY_VIEW_REFUSAL_EXCEEDS_REFUNDABLE);
    apply_msg(fx, PROTO_TRANSFER_DECLINED, out.created.id, 30, 0);
    assert_status(fx, out.created.id, "declined");
    json_t *t = transfer_with_status(fx, orig.id, "settled");
    assert_int_equal(int_of(t, "refunded_amount"), 0);
    /* a refund that failed leaves the list: it never uses up the 50 a transfer may have */
    assert_int_equal(json_array_size(json_object_get(t, "refunds")), 0);
    json_decref(t);
    assert_int_equal(
        act_as(fx, OWNER_TO, false, GATEWAY_VIEW_ACT_REFUND, orig.id, 500, "r-2", &out), LEDGER_OK);
    assert_int_equal(out.refusal, GATEWAY_VIEW_REFUSAL_NONE);
}

static void test_refunds_follow_the_captured_amount_of_a_partial_capture(void **state)
{
    fx_t *fx = *state;
    gateway_submit_result_t res = authorized(fx, "k1", 500);
    apply_msg(fx, PROTO_TRANSFER_SETTLED, res.id, 11, 300);
    assert_refused(fx, OWNER_TO, false, GATEWAY_VIEW_ACT_REFUND, res.id, 301,
                   GATEWAY_VIEW_REFUSAL_EXCEEDS_REFUNDABLE);
    gateway_view_action_result_t out;
    assert_int_equal(act_as(fx, OWNER_TO, false, GATEWAY_VIEW_ACT_REFUND, res.id, 0, "r-1", &out),
                     LEDGER_OK);
    assert_int_equal(out.created.request.amount_minor, 300);
}

static void test_who_may_refund_and_what(void **state)
{
    fx_t *fx = *state;
    gateway_submit_result_t orig = settled(fx, "k1", 500);
    assert_refused(fx, OWNER_FROM, false, GATEWAY_VIEW_ACT_REFUND, orig.id, 100,
                   GATEWAY_VIEW_REFUSAL_NOT_FOUND);
    assert_refused(fx, STRANGER, false, GATEWAY_VIEW_ACT_REFUND, orig.id, 100,
                   GATEWAY_VIEW_REFUSAL_NOT_FOUND);
    gateway_submit_result_t pending = submit_manual(fx, "k2", 500);
    assert_refused(fx, OWNER_TO, false, GATEWAY_VIEW_ACT_REFUND, pending.id, 100,
                   GATEWAY_VIEW_REFUSAL_INVALID_STATE);
    gateway_view_action_result_t out;
    assert_int_equal(
        act_as(fx, OPERATOR, true, GATEWAY_VIEW_ACT_REFUND, orig.id, 100, "op-1", &out), LEDGER_OK);
    assert_int_equal(out.refusal, GATEWAY_VIEW_REFUSAL_NONE);
    assert_true(last_emitted(fx).body.transfer.operator_scope);
    /* A refund is settled like any transfer, but is never refunded itself. */
    apply_msg(fx, PROTO_TRANSFER_SETTLED, out.created.id, 31, 100);
    char refund[PROTO_TRANSFER_ID_MAX + 1];
    snprintf(refund, sizeof refund, "%s", out.created.id);
    assert_refused(fx, OPERATOR, true, GATEWAY_VIEW_ACT_REFUND, refund, 50,
                   GATEWAY_VIEW_REFUSAL_INVALID_STATE);
}

static void test_a_replayed_refund_is_the_same_refund(void **state)
{
    fx_t *fx = *state;
    gateway_submit_result_t orig = settled(fx, "k1", 500);
    gateway_view_action_result_t first, again;
    assert_int_equal(
        act_as(fx, OWNER_TO, false, GATEWAY_VIEW_ACT_REFUND, orig.id, 0, "r-1", &first), LEDGER_OK);
    uint64_t outbox = count(fx, STORE_DB_OUTBOX);
    char *before = raw_record(fx, orig.id);
    /* "All that is left" is now 0, but the replay is judged by the request, not re-run. */
    assert_int_equal(
        act_as(fx, OWNER_TO, false, GATEWAY_VIEW_ACT_REFUND, orig.id, 0, "r-1", &again), LEDGER_OK);
    assert_true(again.created.replayed);
    assert_string_equal(again.created.id, first.created.id);
    assert_int_equal(count(fx, STORE_DB_OUTBOX), outbox);
    assert_int_equal(count(fx, STORE_DB_TRANSFERS), 2);
    assert_record_unchanged(fx, orig.id, before);
}

static void test_a_transfer_has_at_most_fifty_refunds(void **state)
{
    fx_t *fx = *state;
    gateway_submit_result_t orig = settled(fx, "k1", 500);
    for (int i = 0; i < GATEWAY_REFUNDS_MAX; i++) {
        char key[16];
        snprintf(key, sizeof key, "r-%d", i);
        gateway_view_action_result_t out;
        assert_int_equal(
            act_as(fx, OWNER_TO, false, GATEWAY_VIEW_ACT_REFUND, orig.id, 1, key, &out), LEDGER_OK);
        assert_int_equal(out.refusal, GATEWAY_VIEW_REFUSAL_NONE);
    }
    assert_refused(fx, OWNER_TO, false, GATEWAY_VIEW_ACT_REFUND, orig.id, 1,
                   GATEWAY_VIEW_REFUSAL_TOO_MANY_REFUNDS);
    json_t *t = get_transfer(fx, orig.id);
    assert_int_equal(json_array_size(json_object_get(t, "refunds")), GATEWAY_REFUNDS_MAX);
    json_decref(t);
}

/* --- events of the new steps ------------------------------------------------------------ */

static void test_every_new_step_appends_one_event(void **state)
{
    fx_t *fx = *state;
    gateway_submit_result_t res = authorized(fx, "k1", 500);
    gateway_view_action_result_t out;
    assert_int_equal(
        act_as(fx, OWNER_FROM, false, GATEWAY_VIEW_ACT_CAPTURE, res.id, 0, "cap-1", &out),
        LEDGER_OK);
    apply_msg(fx, PROTO_TRANSFER_SETTLED, res.id, 11, 500);
    events_seen_t seen;
    read_events(fx, 0, &seen);
    assert_int_equal(seen.count, 4);
    assert_string_equal(event_type(&seen, 0), "transfer.requested");
    assert_string_equal(event_type(&seen, 1), "transfer.authorized");
    assert_string_equal(event_type(&seen, 2), "transfer.capture");
    assert_string_equal(event_type(&seen, 3), "transfer.settled");
    events_free(&seen);
}

/* --- the record ------------------------------------------------------------------------ */

/* Write `rec` and read it back in one transaction; the put's verdict. */
static ledger_err_t round_trip(fx_t *fx, const gateway_view_record_t *rec,
                               gateway_view_record_t *back)
{
    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(fx->store, true, &txn), LEDGER_OK);
    ledger_err_t err = gateway_view_record_put(txn, rec, 0);
    if (!err)
        assert_int_equal(gateway_view_record_get(txn, rec->id, back), LEDGER_OK);
    store_txn_abort(&txn);
    return err;
}

static void test_a_record_with_fifty_refunds_and_every_step_round_trips(void **state)
{
    fx_t *fx = *state;
    static gateway_view_record_t rec, back;
    memset(&rec, 0, sizeof rec);
    snprintf(rec.id, sizeof rec.id, "tr_00000000000100000001");
    rec.req = request("alice", "bob", INT64_MAX);
    fill_text(rec.req.reference, 'r', PROTO_REFERENCE_MAX);
    rec.req.capture = PROTO_CAPTURE_MANUAL;
    snprintf(rec.req.refund_of, sizeof rec.req.refund_of, "tr_00000000000000000009");
    rec.status = GATEWAY_STATUS_SETTLED;
    rec.has_reason = true;
    fill_text(rec.reason_code, 'c', PROTO_CODE_MAX);
    fill_text(rec.reason_message, 'm', PROTO_REASON_MAX);
    fill_text(rec.idempotency_key, 'k', GATEWAY_IDEMPOTENCY_KEY_MAX);
    rec.timeline_count = GATEWAY_TIMELINE_MAX;
    for (int i = 0; i < GATEWAY_TIMELINE_MAX; i++) {
        gateway_view_step_t *e = &rec.timeline[i];
        fill_text(e->step, 's', GATEWAY_STEP_NAME_MAX);
        fill_text(e->node, 'n', PROTO_NODE_MAX);
        fill_text(e->message_id, 'i', PROTO_ID_MAX);
        fill_text(e->cause, 'c', PROTO_ID_MAX);
        e->has_rules = true;
        e->rule_count = PROTO_RULES_MAX;
        for (int r = 0; r < PROTO_RULES_MAX; r++)
            fill_text(e->rules[r], 'x', PROTO_RULE_NAME_MAX);
    }
    rec.expires_at_ms = PROTO_TS_MAX_MS;
    rec.captured_minor = INT64_MAX;
    rec.refunded_minor = INT64_MAX / 2;
    rec.refunding_minor = INT64_MAX / 2;
    rec.pending_action = GATEWAY_ACTION_VOID;
    rec.refund_count = GATEWAY_REFUNDS_MAX;
    for (int i = 0; i < GATEWAY_REFUNDS_MAX; i++)
        snprintf(rec.refunds[i], sizeof rec.refunds[i], "tr_%012x%08x", i, i);
    assert_int_equal(round_trip(fx, &rec, &back), LEDGER_OK);
    assert_memory_equal(&back.refunds, &rec.refunds, sizeof rec.refunds);
    assert_string_equal(back.req.refund_of, rec.req.refund_of);
    assert_int_equal(back.req.capture, PROTO_CAPTURE_MANUAL);
    assert_true(back.expires_at_ms == rec.expires_at_ms);
    assert_true(back.captured_minor == INT64_MAX);
    assert_true(back.refunded_minor + back.refunding_minor == rec.refunded_minor * 2);
    assert_int_equal(back.pending_action, GATEWAY_ACTION_VOID);
    assert_string_equal(back.timeline[7].rules[0], rec.timeline[7].rules[0]);
    /* Refunds beyond what it captured do not decode: a damaged record is never trusted. */
    rec.captured_minor = 10;
    rec.req.amount_minor = 10;
    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(fx->store, true, &txn), LEDGER_OK);
    ledger_err_t put = gateway_view_record_put(txn, &rec, 0);
    ledger_err_t got = gateway_view_record_get(txn, rec.id, &back);
    store_txn_abort(&txn);
    assert_int_equal(put, LEDGER_OK);
    assert_int_equal(got, LEDGER_E_CORRUPT);
}

/* --- GET /api/transfers filters ----------------------------------------------------------- */

/* `n` transfers in one commit at now_ms + i (i = 0..n-1): from -> to, amount 100 + i. */
static void submit_many(fx_t *fx, const char *from, const char *to, size_t n, uint64_t now_ms,
                        const char *key_prefix)
{
    view_txn_t t;
    view_txn_begin(fx, now_ms, &t);
    for (size_t i = 0; i < n; i++) {
        char key[48];
        snprintf(key, sizeof key, "%s-%zu", key_prefix, i);
        gateway_transfer_request_t req = request(from, to, (int64_t)(100 + i));
        gateway_submit_result_t res;
        t.ctx.now_ms = now_ms + i;
        assert_int_equal(gateway_view_submit(&t.ctx, "tester", &req, key, &keys, &res), LEDGER_OK);
    }
    assert_int_equal(view_txn_end(&t, LEDGER_OK), LEDGER_OK);
}

/* Every page of the list under `filter` with page size `limit`, concatenated: the ids. */
static size_t list_all(fx_t *fx, const gateway_view_filter_t *filter, uint32_t limit,
                       char ids[][PROTO_TRANSFER_ID_MAX + 1], size_t max, size_t *pages_out)
{
    char cursor[PROTO_TRANSFER_ID_MAX + 1] = "";
    size_t n = 0, pages = 0;
    for (;;) {
        store_txn_t *txn = NULL;
        json_t *page = NULL;
        assert_int_equal(store_txn_begin(fx->store, false, &txn), LEDGER_OK);
        assert_int_equal(gateway_view_transfer_list(txn, cursor, limit, filter, &page), LEDGER_OK);
        store_txn_abort(&txn);
        pages++;
        json_t *items = json_object_get(page, "transfers");
        assert_true(json_array_size(items) <= limit);
        for (size_t i = 0; i < json_array_size(items); i++) {
            assert_true(n < max);
            snprintf(ids[n++], sizeof ids[0], "%s", str_of(json_array_get(items, i), "id"));
        }
        json_t *next = json_object_get(page, "next_cursor");
        bool more = json_is_string(next);
        if (more)
            snprintf(cursor, sizeof cursor, "%s", json_string_value(next));
        json_decref(page);
        if (!more)
            break;
    }
    *pages_out = pages;
    return n;
}

static void test_list_filters_by_account_status_kind_and_time(void **state)
{
    fx_t *fx = *state;
    submit_many(fx, "alice", "bob", 3, T0_MS, "ab");          /* T0 .. T0+2 */
    submit_many(fx, "carol", "alice", 2, T0_MS + 100, "ca");  /* T0+100, T0+101 */
    gateway_submit_result_t s = settled(fx, "k-settled", 42); /* T0 (id after the others) */
    static char ids[64][PROTO_TRANSFER_ID_MAX + 1];
    size_t pages = 0;
    gateway_view_filter_t f = {.account = "carol"};
    assert_int_equal(list_all(fx, &f, 1, ids, 64, &pages), 2);
    f = (gateway_view_filter_t){.account = "alice"};
    assert_int_equal(list_all(fx, &f, 50, ids, 64, &pages), 6);
    f = (gateway_view_filter_t){.has_status = true, .status = GATEWAY_STATUS_SETTLED};
    assert_int_equal(list_all(fx, &f, 50, ids, 64, &pages), 1);
    assert_string_equal(ids[0], s.id);
    f = (gateway_view_filter_t){.has_kind = true, .kind = PROTO_TRANSFER_KIND_REFUND};
    assert_int_equal(list_all(fx, &f, 50, ids, 64, &pages), 0);
    /* Half-open: [T0+1, T0+101) holds T0+1, T0+2 and T0+100. */
    f = (gateway_view_filter_t){.created_from_ms = T0_MS + 1, .created_to_ms = T0_MS + 101};
    assert_int_equal(list_all(fx, &f, 2, ids, 64, &pages), 3);
}

static void test_filtered_pages_are_bounded_and_the_cursor_is_stable(void **state)
{
    fx_t *fx = *state;
    /* One match at the oldest end, under more transfers than one page may walk. */
    submit_many(fx, "carol", "bob", 1, T0_MS, "old");
    submit_many(fx, "alice", "bob", GATEWAY_LIST_SCAN_MAX + 10, T0_MS + 10, "new");
    static char ids[8][PROTO_TRANSFER_ID_MAX + 1];
    size_t pages = 0;
    gateway_view_filter_t f = {.account = "carol"};
    assert_int_equal(list_all(fx, &f, 50, ids, 8, &pages), 1);
    assert_int_equal(pages, 2); /* the first page walked its bound and came back empty */
    /* Pages of one concatenate to the unfiltered order's matches, newest first. */
    submit_many(fx, "carol", "bob", 3, T0_MS + 5000, "mid");
    assert_int_equal(list_all(fx, &f, 1, ids, 8, &pages), 4);
    for (int i = 0; i + 1 < 4; i++)
        assert_true(strcmp(ids[i], ids[i + 1]) > 0);
    /* created_from ends the walk at the first older id: no page walks to the oldest. */
    f = (gateway_view_filter_t){.created_from_ms = T0_MS + 5000};
    assert_int_equal(list_all(fx, &f, 50, ids, 8, &pages), 3);
    assert_int_equal(pages, 1);
}

TEST_MAIN(
    cmocka_unit_test_setup_teardown(test_manual_transfer_carries_capture_and_expiry, setup_owned,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_authorized_holds_and_its_replay_changes_nothing,
                                    setup_owned, teardown),
    cmocka_unit_test_setup_teardown(test_capture_is_sent_once_and_settles_with_the_captured_amount,
                                    setup_owned, teardown),
    cmocka_unit_test_setup_teardown(test_capture_without_amount_sends_the_authorised_amount,
                                    setup_owned, teardown),
    cmocka_unit_test_setup_teardown(test_capture_above_the_authorised_amount_is_refused,
                                    setup_owned, teardown),
    cmocka_unit_test_setup_teardown(test_capture_before_the_verdict_is_refused, setup_owned,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_void_then_voided_and_nothing_after, setup_owned, teardown),
    cmocka_unit_test_setup_teardown(test_expired_is_final_and_a_capture_after_it_is_refused,
                                    setup_owned, teardown),
    cmocka_unit_test_setup_teardown(test_a_capture_racing_expiry_ends_expired, setup_owned,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_only_the_payer_or_an_operator_captures_or_voids,
                                    setup_owned, teardown),
    cmocka_unit_test_setup_teardown(test_a_replayed_capture_or_void_writes_nothing, setup_owned,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_a_capture_past_the_expiry_is_invalid_state, setup_owned,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_refund_is_a_reverse_transfer_linked_to_its_original,
                                    setup_owned, teardown),
    cmocka_unit_test_setup_teardown(test_a_late_verdict_on_a_settled_refund_does_not_count_it_again,
                                    setup_owned, teardown),
    cmocka_unit_test_setup_teardown(test_two_refunds_back_to_back_never_pass_the_captured_amount,
                                    setup_owned, teardown),
    cmocka_unit_test_setup_teardown(test_a_declined_refund_gives_its_amount_back, setup_owned,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_refunds_follow_the_captured_amount_of_a_partial_capture,
                                    setup_owned, teardown),
    cmocka_unit_test_setup_teardown(test_who_may_refund_and_what, setup_owned, teardown),
    cmocka_unit_test_setup_teardown(test_a_replayed_refund_is_the_same_refund, setup_owned,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_a_transfer_has_at_most_fifty_refunds, setup_owned,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_every_new_step_appends_one_event, setup_owned, teardown),
    cmocka_unit_test_setup_teardown(test_a_record_with_fifty_refunds_and_every_step_round_trips,
                                    setup_owned, teardown),
    cmocka_unit_test_setup_teardown(test_list_filters_by_account_status_kind_and_time, setup_owned,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_filtered_pages_are_bounded_and_the_cursor_is_stable,
                                    setup_owned, teardown))

/*  accounts_test.c: the accounts node's saga handlers and queries, driven
    without sockets: each test opens a store in its own temporary directory,
    runs the handlers in one write transaction, and checks the accounts, the
    saga state, the ledger and the outbox (decoded with proto_decode).
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accounts.h"
#include "test_dir.h"
#include "test_msg.h"

#define T0_MS 1700000000000ULL
#define ALICE_DEPOSIT 100000 /* 1,000.00 */
#define BOB_DEPOSIT 25000    /* 250.00 */
#define LEDGER_PAGE 64

typedef struct {
    char dir[64];
    store_t *store;
    store_txn_t *txn;
    node_ctx_t ctx;
    uint64_t in_seq; /* sequence of the inbound messages the tests make */
} fx_t;

/* --- fixture --------------------------------------------------------------- */

static proto_msg_t query_msg(fx_t *fx, proto_query_op_t op);

static void open_account(fx_t *fx, const char *id, const char *name, int64_t deposit_minor)
{
    proto_msg_t q = query_msg(fx, PROTO_QUERY_OPEN);
    snprintf(q.body.query.account, sizeof q.body.query.account, "%s", id);
    snprintf(q.body.query.name, sizeof q.body.query.name, "%s", name);
    snprintf(q.body.query.currency, sizeof q.body.query.currency, "GBP");
    q.body.query.amount_minor = deposit_minor;
    proto_msg_t reply;
    assert_int_equal(accounts_query(&fx->ctx, &q, &reply), LEDGER_OK);
    assert_int_equal(reply.body.account_reply.status, 201);
    proto_msg_release(&reply);
}

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/accounts_test.XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    assert_int_equal(store_open(fx->dir, NULL, &fx->store), LEDGER_OK);
    assert_int_equal(store_txn_begin(fx->store, true, &fx->txn), LEDGER_OK);
    node_ctx_init(&fx->ctx, fx->txn, "accounts", T0_MS);
    assert_int_equal(accounts_ensure_funding(&fx->ctx), LEDGER_OK);
    *state = fx;
    return 0;
}

/* The usual start: alice with 1,000.00 and bob with 250.00. */
static int setup_alice_bob(void **state)
{
    setup(state);
    fx_t *fx = *state;
    open_account(fx, "alice", "Alice Smith", ALICE_DEPOSIT);
    open_account(fx, "bob", "Bob Jones", BOB_DEPOSIT);
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    node_ctx_fini(&fx->ctx);
    store_txn_abort(&fx->txn);
    store_destroy(&fx->store);
    test_remove_dir(fx->dir);
    free(fx);
    return 0;
}

/* --- messages -------------------------------------------------------------- */

static proto_msg_t inbound(fx_t *fx, proto_type_t type, const char *origin, const char *corr)
{
    return test_msg(type, origin, ++fx->in_seq, fx->ctx.now_ms, corr);
}

static proto_msg_t query_msg(fx_t *fx, proto_query_op_t op)
{
    proto_msg_t m = inbound(fx, PROTO_ACCOUNT_QUERY, "gateway", "");
    m.body.query.op = op;
    return m;
}

static proto_msg_t requested(fx_t *fx, const char *transfer, const char *from, const char *to,
                             int64_t amount_minor, const char *currency)
{
    proto_msg_t m = test_transfer_msg(PROTO_TRANSFER_REQUESTED, "gateway", ++fx->in_seq,
                                      fx->ctx.now_ms, transfer, from, to, amount_minor, currency);
    snprintf(m.body.transfer.reference, sizeof m.body.transfer.reference, "ref %s", transfer);
    return m;
}

static proto_msg_t verdict(fx_t *fx, proto_type_t type, const char *transfer)
{
    proto_msg_t m = inbound(fx, type, "fraud", transfer);
    snprintf(m.body.verdict.transfer, sizeof m.body.verdict.transfer, "%s", transfer);
    if (type == PROTO_FRAUD_REJECTED) {
        m.body.verdict.rule_count = 2;
        snprintf(m.body.verdict.rules[0], sizeof m.body.verdict.rules[0], "amount_over_threshold");
        snprintf(m.body.verdict.rules[1], sizeof m.body.verdict.rules[1], "velocity_count");
        snprintf(m.body.verdict.reason, sizeof m.body.verdict.reason, "amount 1500.00 above limit");
    } else {
        snprintf(m.body.verdict.reason, sizeof m.body.verdict.reason, "no rule fired");
    }
    return m;
}

static void apply_ok(fx_t *fx, const proto_msg_t *m)
{
    assert_int_equal(accounts_apply(&fx->ctx, m), LEDGER_OK);
}

/* --- inspection ------------------------------------------------------------ */

static uint64_t count_of(fx_t *fx, store_db_t db)
{
    uint64_t n = 0;
    assert_int_equal(store_count(fx->txn, db, &n), LEDGER_OK);
    return n;
}

static uint64_t ledger_len(fx_t *fx)
{
    uint64_t seq = 0;
    assert_int_equal(store_ledger_last_seq(fx->txn, &seq), LEDGER_OK);
    return seq;
}

static proto_account_t account(fx_t *fx, const char *id)
{
    proto_account_t a;
    assert_int_equal(accounts_get(&fx->ctx, id, &a), LEDGER_OK);
    return a;
}

static accounts_transfer_t transfer_state(fx_t *fx, const char *id)
{
    accounts_transfer_t tr;
    assert_int_equal(accounts_transfer_get(fx->txn, id, &tr), LEDGER_OK);
    return tr;
}

/* The n-th (0-based) entry in the outbox, decoded; its peer in `peer`. */
static proto_msg_t outbox_nth(fx_t *fx, size_t n, char peer[STORE_PEER_MAX + 1])
{
    store_outbox_entry_t e;
    uint64_t after = 0;
    for (size_t i = 0; i <= n; i++) {
        assert_int_equal(store_outbox_next(fx->txn, after, &e), LEDGER_OK);
        after = e.seq;
    }
    proto_msg_t m;
    char why[256];
    ledger_err_t err = proto_decode(e.msg, e.msg_size, &m, why, sizeof why);
    if (err)
        fail_msg("outbox entry %zu does not decode: %s", n, why);
    snprintf(peer, STORE_PEER_MAX + 1, "%s", e.peer);
    return m;
}

/* The newest ledger entry of `id`. */
static store_ledger_entry_t newest_entry(fx_t *fx, const char *id)
{
    accounts_record_t rec;
    assert_int_equal(accounts_record_get(fx->txn, id, &rec), LEDGER_OK);
    store_ledger_entry_t e;
    size_t n = 0;
    assert_int_equal(store_ledger_by_account(fx->txn, id, rec.ledger_seq, 0, &e, 1, &n), LEDGER_OK);
    assert_int_equal(n, 1);
    assert_int_equal(e.seq, rec.ledger_seq);
    return e;
}

/* Everything a message could change, to compare before and after a replay. */
typedef struct {
    uint64_t outbox, ledger, transfers;
    int64_t balance[4], held[4];
    uint8_t transfer_rec[512];
    size_t transfer_rec_size;
} snapshot_t;

static const char *const snap_ids[4] = {"funding", "alice", "bob", "carol"};

static snapshot_t snapshot(fx_t *fx, const char *transfer)
{
    snapshot_t s;
    memset(&s, 0, sizeof s);
    s.outbox = count_of(fx, STORE_DB_OUTBOX);
    s.ledger = ledger_len(fx);
    s.transfers = count_of(fx, STORE_DB_TRANSFERS);
    for (size_t i = 0; i < 4; i++) {
        proto_account_t a;
        if (accounts_get(&fx->ctx, snap_ids[i], &a) == LEDGER_OK) {
            s.balance[i] = a.balance_minor;
            s.held[i] = a.held_minor;
        }
    }
    const void *val;
    size_t size;
    if (transfer && store_get(fx->txn, STORE_DB_TRANSFERS, transfer, strlen(transfer), &val,
                              &size) == LEDGER_OK) {
        assert_true(size <= sizeof s.transfer_rec);
        memcpy(s.transfer_rec, val, size);
        s.transfer_rec_size = size;
    }
    return s;
}

static void assert_same(const snapshot_t *a, const snapshot_t *b)
{
    assert_int_equal(a->outbox, b->outbox);
    assert_int_equal(a->ledger, b->ledger);
    assert_int_equal(a->transfers, b->transfers);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(a->balance[i], b->balance[i]);
        assert_int_equal(a->held[i], b->held[i]);
    }
    assert_int_equal(a->transfer_rec_size, b->transfer_rec_size);
    assert_memory_equal(a->transfer_rec, b->transfer_rec, a->transfer_rec_size);
}

static int64_t balance_sum(fx_t *fx)
{
    proto_msg_t q = query_msg(fx, PROTO_QUERY_LIST);
    q.body.query.limit = PROTO_PAGE_MAX;
    proto_msg_t r;
    assert_int_equal(accounts_query(&fx->ctx, &q, &r), LEDGER_OK);
    int64_t sum = 0;
    for (uint32_t i = 0; i < r.body.account_reply.account_count; i++)
        sum += r.body.account_reply.accounts[i].balance_minor;
    proto_msg_release(&r);
    return sum;
}

static void assert_ledger_ok(fx_t *fx)
{
    store_ledger_report_t report;
    char why[256];
    assert_int_equal(accounts_check_ledger(fx->txn, &report, why, sizeof why), LEDGER_OK);
    if (!report.ok)
        fail_msg("ledger check failed: %s", why);
}

/* --- transfer.requested ---------------------------------------------------- */

static void test_requested_places_hold_and_emits_funds_reserved(void **state)
{
    fx_t *fx = *state;
    uint64_t ledger_before = ledger_len(fx);
    proto_msg_t m = requested(fx, "t1", "alice", "bob", 10000, "GBP");
    apply_ok(fx, &m);

    proto_account_t alice = account(fx, "alice"), bob = account(fx, "bob");
    assert_int_equal(alice.balance_minor, ALICE_DEPOSIT);
    assert_int_equal(alice.held_minor, 10000);
    assert_int_equal(bob.balance_minor, BOB_DEPOSIT);
    assert_int_equal(bob.held_minor, 0);

    accounts_transfer_t tr = transfer_state(fx, "t1");
    assert_int_equal(tr.state, ACCOUNTS_TRANSFER_RESERVED);
    assert_string_equal(tr.from, "alice");
    assert_string_equal(tr.to, "bob");
    assert_int_equal(tr.amount_minor, 10000);
    assert_string_equal(tr.currency, "GBP");
    assert_string_equal(tr.reference, "ref t1");

    assert_int_equal(ledger_len(fx), ledger_before + 1);
    store_ledger_entry_t e = newest_entry(fx, "alice");
    assert_string_equal(e.kind, "hold");
    assert_string_equal(e.transfer, "t1");
    assert_int_equal(e.balance_delta_minor, 0);
    assert_int_equal(e.held_delta_minor, 10000);
    assert_int_equal(e.balance_after_minor, ALICE_DEPOSIT);
    assert_int_equal(e.held_after_minor, 10000);
    assert_int_equal(e.ts_ms, T0_MS);

    assert_int_equal(count_of(fx, STORE_DB_OUTBOX), 2);
    char peer[STORE_PEER_MAX + 1], cause[PROTO_ID_MAX + 1];
    proto_msg_id(&m, cause);
    const char *want_peers[2] = {NODE_PEER_FRAUD, NODE_PEER_GATEWAY};
    for (size_t i = 0; i < 2; i++) {
        proto_msg_t out = outbox_nth(fx, i, peer);
        assert_string_equal(peer, want_peers[i]);
        assert_int_equal(out.type, PROTO_FUNDS_RESERVED);
        assert_string_equal(out.corr, "t1");
        assert_string_equal(out.origin, "accounts");
        assert_string_equal(out.cause, cause);
        assert_string_equal(out.body.transfer.transfer, "t1");
        assert_string_equal(out.body.transfer.from, "alice");
        assert_string_equal(out.body.transfer.to, "bob");
        assert_int_equal(out.body.transfer.amount_minor, 10000);
        assert_string_equal(out.body.transfer.reference, "ref t1");
    }
    assert_int_equal(fx->ctx.published_count, 1);
    assert_ledger_ok(fx);
}

static void test_holds_reduce_available_for_the_next_transfer(void **state)
{
    fx_t *fx = *state;
    proto_msg_t m1 = requested(fx, "t1", "alice", "bob", 60000, "GBP");
    apply_ok(fx, &m1);
    /* available is now 400.00: 500.00 must be declined, 400.00 accepted */
    proto_msg_t m2 = requested(fx, "t2", "alice", "bob", 50000, "GBP");
    apply_ok(fx, &m2);
    assert_int_equal(transfer_state(fx, "t2").state, ACCOUNTS_TRANSFER_DECLINED);
    assert_string_equal(transfer_state(fx, "t2").code, "insufficient_funds");
    proto_msg_t m3 = requested(fx, "t3", "alice", "bob", 40000, "GBP");
    apply_ok(fx, &m3);
    assert_int_equal(transfer_state(fx, "t3").state, ACCOUNTS_TRANSFER_RESERVED);
    assert_int_equal(account(fx, "alice").held_minor, 100000);
}

/* Applies `m`, expects a decline with `code`, and checks that no money moved. */
static void expect_decline(fx_t *fx, const proto_msg_t *m, const char *code)
{
    const char *transfer = m->body.transfer.transfer;
    snapshot_t before = snapshot(fx, NULL);
    apply_ok(fx, m);
    snapshot_t after = snapshot(fx, NULL);
    assert_int_equal(after.ledger, before.ledger); /* no ledger entry */
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(after.balance[i], before.balance[i]);
        assert_int_equal(after.held[i], before.held[i]);
    }
    accounts_transfer_t tr = transfer_state(fx, transfer);
    assert_int_equal(tr.state, ACCOUNTS_TRANSFER_DECLINED);
    assert_string_equal(tr.code, code);

    assert_int_equal(after.outbox, before.outbox + 1);
    char peer[STORE_PEER_MAX + 1];
    proto_msg_t out = outbox_nth(fx, (size_t)before.outbox, peer);
    assert_string_equal(peer, NODE_PEER_GATEWAY);
    assert_int_equal(out.type, PROTO_TRANSFER_DECLINED);
    assert_string_equal(out.corr, transfer);
    assert_string_equal(out.body.declined.transfer, transfer);
    assert_string_equal(out.body.declined.code, code);
    assert_true(strlen(out.body.declined.reason) > 0);
}

static void test_decline_same_account(void **state)
{
    fx_t *fx = *state;
    proto_msg_t m = requested(fx, "t1", "alice", "alice", 100, "GBP");
    expect_decline(fx, &m, "same_account");
}

static void test_decline_unknown_source_account(void **state)
{
    fx_t *fx = *state;
    proto_msg_t m = requested(fx, "t1", "zed", "bob", 100, "GBP");
    expect_decline(fx, &m, "unknown_account");
}

static void test_decline_unknown_destination_account(void **state)
{
    fx_t *fx = *state;
    proto_msg_t m = requested(fx, "t1", "alice", "Not An Id!", 100, "GBP");
    expect_decline(fx, &m, "unknown_account");
}

static void test_decline_funding_account_as_source_or_destination(void **state)
{
    fx_t *fx = *state;
    proto_msg_t m1 = requested(fx, "t1", "funding", "bob", 100, "GBP");
    expect_decline(fx, &m1, "funding_account");
    proto_msg_t m2 = requested(fx, "t2", "alice", "funding", 100, "GBP");
    expect_decline(fx, &m2, "funding_account");
}

static void test_decline_currency_mismatch(void **state)
{
    fx_t *fx = *state;
    proto_msg_t m = requested(fx, "t1", "alice", "bob", 100, "EUR");
    expect_decline(fx, &m, "currency_mismatch");
}

static void test_decline_insufficient_funds(void **state)
{
    fx_t *fx = *state;
    proto_msg_t m = requested(fx, "t1", "bob", "alice", BOB_DEPOSIT + 1, "GBP");
    expect_decline(fx, &m, "insufficient_funds");
    /* exactly the available amount is fine */
    proto_msg_t ok = requested(fx, "t2", "bob", "alice", BOB_DEPOSIT, "GBP");
    apply_ok(fx, &ok);
    assert_int_equal(transfer_state(fx, "t2").state, ACCOUNTS_TRANSFER_RESERVED);
}

/*  All balances sum to 0 and the funding account cannot go below INT64_MIN,
    so a credit can overflow only at that edge: everything in two accounts. */
static void test_decline_amount_overflow_of_destination(void **state)
{
    fx_t *fx = *state; /* only the funding account */
    open_account(fx, "carol", "Carol White", INT64_MAX - 9);
    open_account(fx, "alice", "Alice Smith", 10);
    assert_true(account(fx, "funding").balance_minor == INT64_MIN);
    proto_msg_t m = requested(fx, "t1", "alice", "carol", 10, "GBP");
    expect_decline(fx, &m, "amount_overflow");
    assert_ledger_ok(fx);
    proto_msg_t ok = requested(fx, "t2", "alice", "carol", 9, "GBP");
    apply_ok(fx, &ok);
    assert_int_equal(transfer_state(fx, "t2").state, ACCOUNTS_TRANSFER_RESERVED);
}

/* proto never lets amount <= 0 through; the handler does not rely on it. */
static void test_decline_invalid_amount(void **state)
{
    fx_t *fx = *state;
    proto_msg_t m = requested(fx, "t1", "alice", "bob", 0, "GBP");
    expect_decline(fx, &m, "invalid_amount");
}

/* --- fraud verdicts -------------------------------------------------------- */

static void test_approved_settles_debit_and_credit(void **state)
{
    fx_t *fx = *state;
    proto_msg_t req = requested(fx, "t1", "alice", "bob", 10000, "GBP");
    apply_ok(fx, &req);
    uint64_t ledger_before = ledger_len(fx);
    fx->ctx.now_ms = T0_MS + 5;
    proto_msg_t ok = verdict(fx, PROTO_FRAUD_APPROVED, "t1");
    apply_ok(fx, &ok);

    proto_account_t alice = account(fx, "alice"), bob = account(fx, "bob");
    assert_int_equal(alice.balance_minor, ALICE_DEPOSIT - 10000);
    assert_int_equal(alice.held_minor, 0);
    assert_int_equal(bob.balance_minor, BOB_DEPOSIT + 10000);
    assert_int_equal(bob.held_minor, 0);
    assert_int_equal(transfer_state(fx, "t1").state, ACCOUNTS_TRANSFER_SETTLED);

    assert_int_equal(ledger_len(fx), ledger_before + 2);
    store_ledger_entry_t debit = newest_entry(fx, "alice"), credit = newest_entry(fx, "bob");
    assert_string_equal(debit.kind, "debit");
    assert_int_equal(debit.balance_delta_minor, -10000);
    assert_int_equal(debit.held_delta_minor, -10000);
    assert_int_equal(debit.balance_after_minor, ALICE_DEPOSIT - 10000);
    assert_int_equal(debit.held_after_minor, 0);
    assert_int_equal(debit.ts_ms, T0_MS + 5);
    assert_string_equal(credit.kind, "credit");
    assert_string_equal(credit.transfer, "t1");
    assert_int_equal(credit.balance_delta_minor, 10000);
    assert_int_equal(credit.held_delta_minor, 0);
    assert_int_equal(credit.balance_after_minor, BOB_DEPOSIT + 10000);
    assert_int_equal(debit.balance_delta_minor + credit.balance_delta_minor, 0);

    assert_int_equal(count_of(fx, STORE_DB_OUTBOX), 3);
    char peer[STORE_PEER_MAX + 1], cause[PROTO_ID_MAX + 1];
    proto_msg_id(&ok, cause);
    proto_msg_t out = outbox_nth(fx, 2, peer);
    assert_string_equal(peer, NODE_PEER_GATEWAY);
    assert_int_equal(out.type, PROTO_TRANSFER_SETTLED);
    assert_string_equal(out.corr, "t1");
    assert_string_equal(out.cause, cause);
    assert_string_equal(out.body.transfer.from, "alice");
    assert_string_equal(out.body.transfer.to, "bob");
    assert_int_equal(out.body.transfer.amount_minor, 10000);
    assert_string_equal(out.body.transfer.currency, "GBP");
    assert_string_equal(out.body.transfer.reference, "ref t1");
    assert_ledger_ok(fx);
}

static void test_rejected_releases_the_hold(void **state)
{
    fx_t *fx = *state;
    proto_msg_t req = requested(fx, "t1", "alice", "bob", 10000, "GBP");
    apply_ok(fx, &req);
    proto_msg_t no = verdict(fx, PROTO_FRAUD_REJECTED, "t1");
    apply_ok(fx, &no);

    proto_account_t alice = account(fx, "alice"), bob = account(fx, "bob");
    assert_int_equal(alice.balance_minor, ALICE_DEPOSIT);
    assert_int_equal(alice.held_minor, 0);
    assert_int_equal(bob.balance_minor, BOB_DEPOSIT);
    assert_int_equal(transfer_state(fx, "t1").state, ACCOUNTS_TRANSFER_RELEASED);

    store_ledger_entry_t e = newest_entry(fx, "alice");
    assert_string_equal(e.kind, "release");
    assert_int_equal(e.balance_delta_minor, 0);
    assert_int_equal(e.held_delta_minor, -10000);
    assert_int_equal(e.held_after_minor, 0);
    assert_string_equal(newest_entry(fx, "bob").kind, "open"); /* bob untouched */

    assert_int_equal(count_of(fx, STORE_DB_OUTBOX), 3);
    char peer[STORE_PEER_MAX + 1];
    proto_msg_t out = outbox_nth(fx, 2, peer);
    assert_string_equal(peer, NODE_PEER_GATEWAY);
    assert_int_equal(out.type, PROTO_TRANSFER_REJECTED_FRAUD);
    assert_string_equal(out.body.verdict.transfer, "t1");
    assert_int_equal(out.body.verdict.rule_count, 2);
    assert_string_equal(out.body.verdict.rules[0], "amount_over_threshold");
    assert_string_equal(out.body.verdict.rules[1], "velocity_count");
    assert_string_equal(out.body.verdict.reason, "amount 1500.00 above limit");
    assert_ledger_ok(fx);
}

static void test_verdict_for_unknown_transfer_changes_nothing(void **state)
{
    fx_t *fx = *state;
    snapshot_t before = snapshot(fx, "nope");
    proto_msg_t ok = verdict(fx, PROTO_FRAUD_APPROVED, "nope");
    apply_ok(fx, &ok);
    proto_msg_t no = verdict(fx, PROTO_FRAUD_REJECTED, "nope");
    apply_ok(fx, &no);
    snapshot_t after = snapshot(fx, "nope");
    assert_same(&before, &after);
    accounts_transfer_t tr;
    assert_int_equal(accounts_transfer_get(fx->txn, "nope", &tr), LEDGER_E_NOT_FOUND);
}

/* --- replays and steps a transfer is past ---------------------------------- */

/* Applies `m` again and checks that nothing at all changed. */
static void expect_no_change(fx_t *fx, const proto_msg_t *m, const char *transfer)
{
    snapshot_t before = snapshot(fx, transfer);
    size_t published = fx->ctx.published_count;
    fx->ctx.now_ms += 1000; /* a later time would show in any rewritten record */
    apply_ok(fx, m);
    snapshot_t after = snapshot(fx, transfer);
    assert_same(&before, &after);
    assert_int_equal(fx->ctx.published_count, published);
}

static void test_replayed_requested_changes_nothing(void **state)
{
    fx_t *fx = *state;
    proto_msg_t m = requested(fx, "t1", "alice", "bob", 10000, "GBP");
    apply_ok(fx, &m);
    expect_no_change(fx, &m, "t1");
    /* a new message (new id) for the same transfer is guarded the same way */
    proto_msg_t again = requested(fx, "t1", "alice", "bob", 10000, "GBP");
    expect_no_change(fx, &again, "t1");
    assert_int_equal(account(fx, "alice").held_minor, 10000);
}

static void test_replayed_declined_request_changes_nothing(void **state)
{
    fx_t *fx = *state;
    proto_msg_t m = requested(fx, "t1", "alice", "bob", ALICE_DEPOSIT + 1, "GBP");
    apply_ok(fx, &m);
    expect_no_change(fx, &m, "t1");
    /* even once alice could afford a smaller amount under the same id */
    proto_msg_t smaller = requested(fx, "t1", "alice", "bob", 100, "GBP");
    expect_no_change(fx, &smaller, "t1");
}

static void test_replayed_approved_changes_nothing(void **state)
{
    fx_t *fx = *state;
    proto_msg_t req = requested(fx, "t1", "alice", "bob", 10000, "GBP");
    apply_ok(fx, &req);
    proto_msg_t ok = verdict(fx, PROTO_FRAUD_APPROVED, "t1");
    apply_ok(fx, &ok);
    expect_no_change(fx, &ok, "t1");
    assert_int_equal(account(fx, "bob").balance_minor, BOB_DEPOSIT + 10000);
}

static void test_replayed_rejected_changes_nothing(void **state)
{
    fx_t *fx = *state;
    proto_msg_t req = requested(fx, "t1", "alice", "bob", 10000, "GBP");
    apply_ok(fx, &req);
    proto_msg_t no = verdict(fx, PROTO_FRAUD_REJECTED, "t1");
    apply_ok(fx, &no);
    expect_no_change(fx, &no, "t1");
    assert_int_equal(account(fx, "alice").held_minor, 0);
}

static void test_approved_after_rejected_changes_nothing(void **state)
{
    fx_t *fx = *state;
    proto_msg_t req = requested(fx, "t1", "alice", "bob", 10000, "GBP");
    apply_ok(fx, &req);
    proto_msg_t no = verdict(fx, PROTO_FRAUD_REJECTED, "t1");
    apply_ok(fx, &no);
    proto_msg_t ok = verdict(fx, PROTO_FRAUD_APPROVED, "t1");
    expect_no_change(fx, &ok, "t1");
    assert_int_equal(transfer_state(fx, "t1").state, ACCOUNTS_TRANSFER_RELEASED);
}

static void test_rejected_after_settled_changes_nothing(void **state)
{
    fx_t *fx = *state;
    proto_msg_t req = requested(fx, "t1", "alice", "bob", 10000, "GBP");
    apply_ok(fx, &req);
    proto_msg_t ok = verdict(fx, PROTO_FRAUD_APPROVED, "t1");
    apply_ok(fx, &ok);
    proto_msg_t no = verdict(fx, PROTO_FRAUD_REJECTED, "t1");
    expect_no_change(fx, &no, "t1");
    assert_int_equal(transfer_state(fx, "t1").state, ACCOUNTS_TRANSFER_SETTLED);
}

static void test_requested_again_after_settled_changes_nothing(void **state)
{
    fx_t *fx = *state;
    proto_msg_t req = requested(fx, "t1", "alice", "bob", 10000, "GBP");
    apply_ok(fx, &req);
    proto_msg_t ok = verdict(fx, PROTO_FRAUD_APPROVED, "t1");
    apply_ok(fx, &ok);
    expect_no_change(fx, &req, "t1");
    assert_int_equal(transfer_state(fx, "t1").state, ACCOUNTS_TRANSFER_SETTLED);
}

static void test_verdict_for_declined_transfer_changes_nothing(void **state)
{
    fx_t *fx = *state;
    proto_msg_t req = requested(fx, "t1", "alice", "alice", 10000, "GBP");
    apply_ok(fx, &req);
    proto_msg_t ok = verdict(fx, PROTO_FRAUD_APPROVED, "t1");
    expect_no_change(fx, &ok, "t1");
    proto_msg_t no = verdict(fx, PROTO_FRAUD_REJECTED, "t1");
    expect_no_change(fx, &no, "t1");
    assert_int_equal(transfer_state(fx, "t1").state, ACCOUNTS_TRANSFER_DECLINED);
}

/* --- invariants ------------------------------------------------------------ */

static void test_money_is_conserved_across_a_settle(void **state)
{
    fx_t *fx = *state;
    assert_int_equal(balance_sum(fx), 0); /* funding is -(all deposits) */
    proto_msg_t req = requested(fx, "t1", "alice", "bob", 12345, "GBP");
    apply_ok(fx, &req);
    assert_int_equal(balance_sum(fx), 0);
    proto_msg_t ok = verdict(fx, PROTO_FRAUD_APPROVED, "t1");
    apply_ok(fx, &ok);
    assert_int_equal(balance_sum(fx), 0);
    assert_int_equal(account(fx, "alice").balance_minor + account(fx, "bob").balance_minor,
                     ALICE_DEPOSIT + BOB_DEPOSIT);
}

static void test_ledger_verifies_after_a_sequence_of_transfers(void **state)
{
    fx_t *fx = *state;
    open_account(fx, "carol", "Carol White", 500000);
    char id[16];
    for (int i = 0; i < 30; i++) {
        static const char *const who[3] = {"alice", "bob", "carol"};
        snprintf(id, sizeof id, "t%d", i);
        fx->ctx.now_ms = T0_MS + (uint64_t)i * 10;
        proto_msg_t req = requested(fx, id, who[i % 3], who[(i + 1) % 3], 1000 + i * 37, "GBP");
        apply_ok(fx, &req);
        if (i % 4 == 3)
            continue; /* left reserved */
        proto_msg_t v = verdict(fx, i % 4 == 2 ? PROTO_FRAUD_REJECTED : PROTO_FRAUD_APPROVED, id);
        apply_ok(fx, &v);
    }
    proto_msg_t big = requested(fx, "too_big", "bob", "alice", 10000000, "GBP");
    apply_ok(fx, &big); /* declined: touches nothing */
    assert_ledger_ok(fx);
    assert_int_equal(balance_sum(fx), 0);
    store_ledger_report_t report;
    assert_int_equal(accounts_check_ledger(fx->txn, &report, NULL, 0), LEDGER_OK);
    assert_true(report.ok);
    assert_int_equal(report.entries, ledger_len(fx));
    assert_int_equal(report.balance_sum_minor, 0);
}

/* Rewrites alice's stored record with a balance, hold or chain head off by the deltas. */
static void tamper_alice_head(fx_t *fx, int64_t balance_delta, int64_t held_delta,
                              uint64_t ledger_seq)
{
    accounts_record_t rec;
    assert_int_equal(accounts_record_get(fx->txn, "alice", &rec), LEDGER_OK);
    rec.balance_minor += balance_delta;
    rec.held_minor += held_delta;
    if (ledger_seq != UINT64_MAX)
        rec.ledger_seq = ledger_seq;
    uint8_t buf[ACCOUNTS_RECORD_MAX_BYTES];
    size_t len;
    assert_int_equal(accounts_record_encode(&rec, buf, sizeof buf, &len), LEDGER_OK);
    assert_int_equal(store_put(fx->txn, STORE_DB_ACCOUNTS, "alice", 5, buf, len, 0), LEDGER_OK);
}

static void tamper_alice(fx_t *fx, int64_t balance_delta, int64_t held_delta)
{
    tamper_alice_head(fx, balance_delta, held_delta, UINT64_MAX);
}

static void test_check_ledger_detects_a_record_naming_another_newest_entry(void **state)
{
    fx_t *fx = *state;
    proto_msg_t req = requested(fx, "t1", "alice", "bob", 10000, "GBP");
    apply_ok(fx, &req);
    assert_ledger_ok(fx);
    store_ledger_entry_t alices = newest_entry(fx, "alice"), bobs = newest_entry(fx, "bob");
    /* An older entry of alice's (her opening), then bob's entry, then none at all. */
    const uint64_t heads[] = {alices.account_prev_seq, bobs.seq, 0};
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++) {
        tamper_alice_head(fx, 0, 0, heads[i]);
        store_ledger_report_t report;
        char why[256];
        assert_int_equal(accounts_check_ledger(fx->txn, &report, why, sizeof why), LEDGER_OK);
        assert_false(report.ok);
        assert_non_null(strstr(why, "alice"));
    }
    tamper_alice_head(fx, 0, 0, alices.seq);
    assert_ledger_ok(fx);
}

static void test_check_ledger_detects_a_rewritten_balance(void **state)
{
    fx_t *fx = *state;
    proto_msg_t req = requested(fx, "t1", "alice", "bob", 10000, "GBP");
    apply_ok(fx, &req);
    assert_ledger_ok(fx);
    tamper_alice(fx, 1, 0);
    store_ledger_report_t report;
    char why[256];
    assert_int_equal(accounts_check_ledger(fx->txn, &report, why, sizeof why), LEDGER_OK);
    assert_false(report.ok);
    assert_non_null(strstr(why, "alice"));
    assert_non_null(strstr(report.problem, "alice"));
}

static void test_check_ledger_detects_a_rewritten_hold(void **state)
{
    fx_t *fx = *state;
    tamper_alice(fx, 0, 5);
    store_ledger_report_t report;
    char why[256];
    assert_int_equal(accounts_check_ledger(fx->txn, &report, why, sizeof why), LEDGER_OK);
    assert_false(report.ok);
    assert_non_null(strstr(why, "alice"));
}

static void test_check_ledger_detects_an_account_missing_from_the_ledger(void **state)
{
    fx_t *fx = *state;
    accounts_record_t rec;
    memset(&rec, 0, sizeof rec);
    snprintf(rec.id, sizeof rec.id, "ghost");
    snprintf(rec.name, sizeof rec.name, "Ghost");
    snprintf(rec.currency, sizeof rec.currency, "GBP");
    rec.balance_minor = 500;
    uint8_t buf[ACCOUNTS_RECORD_MAX_BYTES];
    size_t len;
    assert_int_equal(accounts_record_encode(&rec, buf, sizeof buf, &len), LEDGER_OK);
    assert_int_equal(store_put(fx->txn, STORE_DB_ACCOUNTS, "ghost", 5, buf, len, 0), LEDGER_OK);
    store_ledger_report_t report;
    char why[256];
    assert_int_equal(accounts_check_ledger(fx->txn, &report, why, sizeof why), LEDGER_OK);
    assert_false(report.ok);
    assert_non_null(strstr(why, "ghost"));
}

/* --- unknown types --------------------------------------------------------- */

static void test_unknown_types_are_rejected_without_writes(void **state)
{
    fx_t *fx = *state;
    static const proto_type_t others[] = {
        PROTO_FUNDS_RESERVED,
        PROTO_TRANSFER_SETTLED,
        PROTO_TRANSFER_REJECTED_FRAUD,
        PROTO_TRANSFER_DECLINED,
        PROTO_ACK,
        PROTO_NACK,
        PROTO_ACCOUNT_QUERY,
        PROTO_ACCOUNT_REPLY,
    };
    snapshot_t before = snapshot(fx, NULL);
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        proto_msg_t m = requested(fx, "t1", "alice", "bob", 100, "GBP");
        m.type = others[i];
        assert_int_equal(accounts_apply(&fx->ctx, &m), LEDGER_E_INVALID);
    }
    snapshot_t after = snapshot(fx, NULL);
    assert_same(&before, &after);
    assert_int_equal(fx->ctx.published_count, 0);

    proto_msg_t not_query = requested(fx, "t1", "alice", "bob", 100, "GBP");
    proto_msg_t reply;
    assert_int_equal(accounts_query(&fx->ctx, &not_query, &reply), LEDGER_E_INVALID);
    proto_msg_t bad_op = query_msg(fx, PROTO_QUERY_GET);
    bad_op.body.query.op = (proto_query_op_t)99;
    assert_int_equal(accounts_query(&fx->ctx, &bad_op, &reply), LEDGER_E_INVALID);
    snapshot_t end = snapshot(fx, NULL);
    assert_same(&before, &end);
}

/* --- queries --------------------------------------------------------------- */

static proto_msg_t run_query(fx_t *fx, proto_msg_t *q)
{
    proto_msg_t r;
    assert_int_equal(accounts_query(&fx->ctx, q, &r), LEDGER_OK);
    assert_int_equal(r.type, PROTO_ACCOUNT_REPLY);
    assert_string_equal(r.corr, q->corr);
    return r;
}

static proto_msg_t open_query(fx_t *fx, const char *id, const char *name, const char *currency,
                              int64_t deposit_minor)
{
    proto_msg_t q = query_msg(fx, PROTO_QUERY_OPEN);
    snprintf(q.body.query.account, sizeof q.body.query.account, "%s", id);
    snprintf(q.body.query.name, sizeof q.body.query.name, "%s", name);
    snprintf(q.body.query.currency, sizeof q.body.query.currency, "%s", currency);
    q.body.query.amount_minor = deposit_minor;
    snprintf(q.corr, sizeof q.corr, "req-%s", id);
    return run_query(fx, &q);
}

static void test_open_moves_the_deposit_from_funding(void **state)
{
    fx_t *fx = *state;
    uint64_t ledger_before = ledger_len(fx);
    proto_msg_t r = open_query(fx, "dave", "Dave Brown", "GBP", 5000);
    proto_account_reply_t *b = &r.body.account_reply;
    assert_int_equal(b->status, 201);
    assert_int_equal(b->account_count, 1);
    assert_string_equal(b->accounts[0].id, "dave");
    assert_string_equal(b->accounts[0].name, "Dave Brown");
    assert_string_equal(b->accounts[0].currency, "GBP");
    assert_int_equal(b->accounts[0].balance_minor, 5000);
    assert_false(b->accounts[0].funding);
    proto_msg_release(&r);

    proto_account_t funding = account(fx, "funding");
    assert_true(funding.funding);
    assert_int_equal(funding.balance_minor, -(ALICE_DEPOSIT + BOB_DEPOSIT + 5000));
    assert_int_equal(ledger_len(fx), ledger_before + 2);
    store_ledger_entry_t f = newest_entry(fx, "funding"), d = newest_entry(fx, "dave");
    assert_string_equal(f.kind, "open");
    assert_string_equal(f.transfer, "dave");
    assert_int_equal(f.balance_delta_minor, -5000);
    assert_int_equal(f.balance_after_minor, funding.balance_minor);
    assert_string_equal(d.kind, "open");
    assert_int_equal(d.balance_delta_minor, 5000);
    assert_int_equal(d.balance_after_minor, 5000);
    assert_int_equal(d.held_after_minor, 0);
    assert_int_equal(count_of(fx, STORE_DB_OUTBOX), 0); /* queries send nothing */
    assert_ledger_ok(fx);
}

static void test_open_with_zero_deposit(void **state)
{
    fx_t *fx = *state;
    proto_msg_t r = open_query(fx, "erin", "Erin", "GBP", 0);
    assert_int_equal(r.body.account_reply.status, 201);
    assert_int_equal(r.body.account_reply.accounts[0].balance_minor, 0);
    proto_msg_release(&r);
    assert_ledger_ok(fx);
}

static void test_open_again_with_same_name_returns_the_account(void **state)
{
    fx_t *fx = *state;
    proto_msg_t req = requested(fx, "t1", "alice", "bob", 10000, "GBP");
    apply_ok(fx, &req);
    snapshot_t before = snapshot(fx, NULL);
    /* a different deposit does not matter: the account exists, no second deposit */
    proto_msg_t r = open_query(fx, "alice", "Alice Smith", "GBP", 777);
    assert_int_equal(r.body.account_reply.status, 200);
    assert_int_equal(r.body.account_reply.account_count, 1);
    assert_int_equal(r.body.account_reply.accounts[0].balance_minor, ALICE_DEPOSIT);
    assert_int_equal(r.body.account_reply.accounts[0].held_minor, 10000);
    proto_msg_release(&r);
    snapshot_t after = snapshot(fx, NULL);
    assert_same(&before, &after);
}

static void expect_open_refused(fx_t *fx, const char *id, const char *name, const char *currency,
                                int64_t deposit, uint32_t status, const char *code)
{
    snapshot_t before = snapshot(fx, NULL);
    uint64_t accounts_before = count_of(fx, STORE_DB_ACCOUNTS);
    proto_msg_t r = open_query(fx, id, name, currency, deposit);
    assert_int_equal(r.body.account_reply.status, status);
    assert_string_equal(r.body.account_reply.code, code);
    assert_true(strlen(r.body.account_reply.reason) > 0);
    assert_int_equal(r.body.account_reply.account_count, 0);
    assert_null(r.body.account_reply.accounts);
    proto_msg_release(&r);
    snapshot_t after = snapshot(fx, NULL);
    assert_same(&before, &after);
    assert_int_equal(count_of(fx, STORE_DB_ACCOUNTS), accounts_before);
}

static void test_open_conflicts_and_invalid_input(void **state)
{
    fx_t *fx = *state;
    expect_open_refused(fx, "alice", "Alice Jones", "GBP", 100, 409, "account_exists");
    expect_open_refused(fx, "funding", "Funding (opening deposits)", "GBP", 0, 409,
                        "account_exists");
    expect_open_refused(fx, "Alice", "Alice", "GBP", 100, 400, "invalid_account_id");
    expect_open_refused(fx, "al ice", "Alice", "GBP", 100, 400, "invalid_account_id");
    expect_open_refused(fx, "", "Nobody", "GBP", 100, 400, "invalid_account_id");
    expect_open_refused(fx, "carol", "Carol", "EUR", 100, 400, "unsupported_currency");
    expect_open_refused(fx, "carol", "", "GBP", 100, 400, "invalid_name");
    expect_open_refused(fx, "carol", "Carol", "GBP", -1, 400, "invalid_amount");
    /* the longest valid id works */
    char long_id[PROTO_ACCOUNT_ID_MAX + 1];
    memset(long_id, 'x', PROTO_ACCOUNT_ID_MAX);
    long_id[PROTO_ACCOUNT_ID_MAX] = '\0';
    proto_msg_t r = open_query(fx, long_id, "Long", "GBP", 1);
    assert_int_equal(r.body.account_reply.status, 201);
    proto_msg_release(&r);
}

static void test_open_refuses_a_deposit_that_overflows_funding(void **state)
{
    fx_t *fx = *state;
    open_account(fx, "carol", "Carol", INT64_MAX - ALICE_DEPOSIT - BOB_DEPOSIT);
    assert_true(account(fx, "funding").balance_minor == -INT64_MAX);
    expect_open_refused(fx, "dave", "Dave", "GBP", 2, 400, "amount_overflow");
    assert_ledger_ok(fx);
}

static void test_get_finds_an_account_or_answers_404(void **state)
{
    fx_t *fx = *state;
    proto_msg_t q = query_msg(fx, PROTO_QUERY_GET);
    snprintf(q.body.query.account, sizeof q.body.query.account, "bob");
    proto_msg_t r = run_query(fx, &q);
    assert_int_equal(r.body.account_reply.status, 200);
    assert_string_equal(r.body.account_reply.accounts[0].name, "Bob Jones");
    assert_int_equal(r.body.account_reply.accounts[0].balance_minor, BOB_DEPOSIT);
    proto_msg_release(&r);

    snprintf(q.body.query.account, sizeof q.body.query.account, "zed");
    r = run_query(fx, &q);
    assert_int_equal(r.body.account_reply.status, 404);
    assert_string_equal(r.body.account_reply.code, "not_found");
    assert_int_equal(r.body.account_reply.account_count, 0);
    proto_msg_release(&r);
}

static void test_list_pages_in_id_order(void **state)
{
    fx_t *fx = *state;
    open_account(fx, "carol", "Carol White", 1);
    /* alice bob carol funding */
    const char *want[] = {"alice", "bob", "carol", "funding"};
    char after[PROTO_ACCOUNT_ID_MAX + 1] = "";
    size_t seen = 0;
    for (int page = 0; page < 3; page++) {
        proto_msg_t q = query_msg(fx, PROTO_QUERY_LIST);
        q.body.query.limit = 3;
        snprintf(q.body.query.after, sizeof q.body.query.after, "%s", after);
        proto_msg_t r = run_query(fx, &q);
        proto_account_reply_t *b = &r.body.account_reply;
        assert_int_equal(b->status, 200);
        for (uint32_t i = 0; i < b->account_count; i++)
            assert_string_equal(b->accounts[i].id, want[seen++]);
        snprintf(after, sizeof after, "%s", b->next);
        if (page == 0) {
            assert_int_equal(b->account_count, 3);
            assert_string_equal(b->next, "carol");
        } else {
            assert_int_equal(b->account_count, 1);
            assert_true(b->accounts[0].funding);
            assert_string_equal(b->next, "");
        }
        proto_msg_release(&r);
        if (after[0] == '\0')
            break;
    }
    assert_int_equal(seen, 4);

    /* a cursor that is not an account id starts after where it would sort */
    proto_msg_t q = query_msg(fx, PROTO_QUERY_LIST);
    q.body.query.limit = 10;
    snprintf(q.body.query.after, sizeof q.body.query.after, "b");
    proto_msg_t r = run_query(fx, &q);
    assert_int_equal(r.body.account_reply.account_count, 3);
    assert_string_equal(r.body.account_reply.accounts[0].id, "bob");
    proto_msg_release(&r);
}

static void test_ledger_query_pages_newest_first(void **state)
{
    fx_t *fx = *state;
    char id[16];
    for (int i = 0; i < 3; i++) {
        snprintf(id, sizeof id, "t%d", i);
        proto_msg_t req = requested(fx, id, "alice", "bob", 100, "GBP");
        apply_ok(fx, &req);
        proto_msg_t ok = verdict(fx, PROTO_FRAUD_APPROVED, id);
        apply_ok(fx, &ok);
    }
    /* alice: open, then (hold, debit) x 3 = 7 entries */
    const char *kinds[] = {"debit", "hold", "debit", "hold", "debit", "hold", "open"};
    const int64_t amounts[] = {-100, 100, -100, 100, -100, 100, ALICE_DEPOSIT};
    uint64_t cursor = 0;
    size_t seen = 0;
    uint64_t last_seq = UINT64_MAX;
    for (int page = 0; page < 4; page++) {
        proto_msg_t q = query_msg(fx, PROTO_QUERY_LEDGER);
        snprintf(q.body.query.account, sizeof q.body.query.account, "alice");
        q.body.query.limit = 3;
        q.body.query.cursor = cursor;
        proto_msg_t r = run_query(fx, &q);
        proto_account_reply_t *b = &r.body.account_reply;
        assert_int_equal(b->status, 200);
        for (uint32_t i = 0; i < b->entry_count; i++, seen++) {
            assert_true(b->entries[i].seq < last_seq);
            last_seq = b->entries[i].seq;
            assert_string_equal(b->entries[i].account, "alice");
            assert_string_equal(b->entries[i].kind, kinds[seen]);
            assert_int_equal(b->entries[i].amount_minor, amounts[seen]);
        }
        cursor = b->next[0] ? strtoull(b->next, NULL, 10) : 0;
        if (cursor)
            assert_int_equal(cursor, b->entries[b->entry_count - 1].seq);
        proto_msg_release(&r);
        if (!cursor)
            break;
    }
    assert_int_equal(seen, 7);

    /* A cursor that is not one of alice's entries (bob's newest, or past the end) is a 400. */
    proto_msg_t bob_q = query_msg(fx, PROTO_QUERY_LEDGER);
    snprintf(bob_q.body.query.account, sizeof bob_q.body.query.account, "bob");
    bob_q.body.query.limit = 1;
    proto_msg_t bob_r = run_query(fx, &bob_q);
    assert_int_equal(bob_r.body.account_reply.entry_count, 1);
    uint64_t bob_newest = bob_r.body.account_reply.entries[0].seq;
    proto_msg_release(&bob_r);
    for (int i = 0; i < 2; i++) {
        proto_msg_t bad = query_msg(fx, PROTO_QUERY_LEDGER);
        snprintf(bad.body.query.account, sizeof bad.body.query.account, "alice");
        bad.body.query.limit = 3;
        bad.body.query.cursor = i == 0 ? bob_newest : 1000000;
        proto_msg_t r = run_query(fx, &bad);
        assert_int_equal(r.body.account_reply.status, 400);
        assert_string_equal(r.body.account_reply.code, "invalid_cursor");
        proto_msg_release(&r);
    }

    proto_msg_t q = query_msg(fx, PROTO_QUERY_LEDGER);
    snprintf(q.body.query.account, sizeof q.body.query.account, "zed");
    q.body.query.limit = 3;
    proto_msg_t r = run_query(fx, &q);
    assert_int_equal(r.body.account_reply.status, 404);
    proto_msg_release(&r);
}

static void test_query_reply_encodes(void **state)
{
    fx_t *fx = *state;
    proto_msg_t q = query_msg(fx, PROTO_QUERY_LIST);
    q.body.query.limit = 10;
    proto_msg_t r = run_query(fx, &q);
    /* the runtime fills the envelope; with that, the reply must pass validation */
    snprintf(r.origin, sizeof r.origin, "accounts");
    r.seq = 1;
    char why[256];
    if (proto_validate(&r, why, sizeof why) != LEDGER_OK)
        fail_msg("reply does not validate: %s", why);
    proto_msg_release(&r);
}

/* --- funding and demo seed ------------------------------------------------- */

static void test_ensure_funding_is_idempotent(void **state)
{
    fx_t *fx = *state;
    proto_account_t before = account(fx, "funding");
    assert_int_equal(accounts_ensure_funding(&fx->ctx), LEDGER_OK);
    proto_account_t after = account(fx, "funding");
    assert_memory_equal(&before, &after, sizeof before);
    assert_string_equal(after.name, "Funding (opening deposits)");
    assert_string_equal(after.currency, "GBP");
    assert_true(after.funding);
    assert_int_equal(count_of(fx, STORE_DB_ACCOUNTS), 1);
    assert_int_equal(ledger_len(fx), 0);
}

static void test_seed_demo_opens_the_demo_accounts_once(void **state)
{
    fx_t *fx = *state;
    assert_int_equal(accounts_seed_demo(&fx->ctx), LEDGER_OK);
    static const struct {
        const char *id, *name;
        int64_t balance;
    } want[] = {
        {"alice", "Alice Smith", 100000},      {"bob", "Bob Jones", 25000},
        {"carol", "Carol White", 500000},      {"dave", "Dave Brown", 5000},
        {"mallory", "Mallory Black", 1000000},
    };
    for (size_t i = 0; i < 5; i++) {
        proto_account_t a = account(fx, want[i].id);
        assert_string_equal(a.name, want[i].name);
        assert_int_equal(a.balance_minor, want[i].balance);
        assert_string_equal(a.currency, "GBP");
    }
    assert_int_equal(account(fx, "funding").balance_minor, -1630000);
    assert_int_equal(count_of(fx, STORE_DB_ACCOUNTS), 6);
    assert_int_equal(ledger_len(fx), 10);
    assert_ledger_ok(fx);

    snapshot_t before = snapshot(fx, NULL);
    assert_int_equal(accounts_seed_demo(&fx->ctx), LEDGER_OK);
    snapshot_t after = snapshot(fx, NULL);
    assert_same(&before, &after);
    assert_int_equal(count_of(fx, STORE_DB_ACCOUNTS), 6);
}

static void test_seed_demo_does_nothing_when_accounts_exist(void **state)
{
    fx_t *fx = *state; /* alice and bob exist */
    assert_int_equal(accounts_seed_demo(&fx->ctx), LEDGER_OK);
    proto_account_t a;
    assert_int_equal(accounts_get(&fx->ctx, "mallory", &a), LEDGER_E_NOT_FOUND);
    assert_int_equal(count_of(fx, STORE_DB_ACCOUNTS), 3);
}

/* --- record format --------------------------------------------------------- */

static void test_account_record_round_trips_and_rejects_garbage(void **state)
{
    (void)state;
    accounts_record_t rec, back;
    memset(&rec, 0, sizeof rec);
    snprintf(rec.id, sizeof rec.id, "alice");
    snprintf(rec.name, sizeof rec.name, "Alice Smith");
    snprintf(rec.currency, sizeof rec.currency, "GBP");
    rec.balance_minor = -42;
    rec.held_minor = 7;
    rec.funding = true;
    rec.created_ms = T0_MS;
    rec.ledger_seq = 123456789;
    uint8_t buf[ACCOUNTS_RECORD_MAX_BYTES + 1];
    size_t len;
    assert_int_equal(accounts_record_encode(&rec, buf, sizeof buf, &len), LEDGER_OK);
    assert_int_equal(accounts_record_decode(buf, len, &back), LEDGER_OK);
    assert_memory_equal(&rec, &back, sizeof rec);

    for (size_t cut = 0; cut < len; cut++)
        assert_int_equal(accounts_record_decode(buf, cut, &back), LEDGER_E_CORRUPT);
    buf[len] = 0;
    assert_int_equal(accounts_record_decode(buf, len + 1, &back), LEDGER_E_CORRUPT);
    buf[0] = 3; /* unknown version */
    assert_int_equal(accounts_record_decode(buf, len, &back), LEDGER_E_CORRUPT);
    /* Version 1 (no ledger_seq after created_ms) is still read, as ledger_seq 0. */
    const size_t seq_at = 1 + 1 + PROTO_CURRENCY_LEN + 3 * 8;
    uint8_t v1[ACCOUNTS_RECORD_MAX_BYTES];
    v1[0] = 1;
    memcpy(v1 + 1, buf + 1, seq_at - 1);
    memcpy(v1 + seq_at, buf + seq_at + 8, len - seq_at - 8);
    assert_int_equal(accounts_record_decode(v1, len - 8, &back), LEDGER_OK);
    accounts_record_t expected = rec;
    expected.ledger_seq = 0;
    assert_memory_equal(&expected, &back, sizeof back);
    buf[0] = ACCOUNTS_RECORD_VERSION;
    buf[1] = 0x80; /* unknown flag */
    assert_int_equal(accounts_record_decode(buf, len, &back), LEDGER_E_CORRUPT);
    assert_int_equal(accounts_record_decode(NULL, 0, &back), LEDGER_E_CORRUPT);

    snprintf(rec.id, sizeof rec.id, "Bad Id");
    assert_int_equal(accounts_record_encode(&rec, buf, sizeof buf, &len), LEDGER_E_INVALID);
    snprintf(rec.id, sizeof rec.id, "ok");
    assert_int_equal(accounts_record_encode(&rec, buf, 10, &len), LEDGER_E_TOO_LARGE);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup_alice_bob, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_requested_places_hold_and_emits_funds_reserved),
        T(test_holds_reduce_available_for_the_next_transfer),
        T(test_decline_same_account),
        T(test_decline_unknown_source_account),
        T(test_decline_unknown_destination_account),
        T(test_decline_funding_account_as_source_or_destination),
        T(test_decline_currency_mismatch),
        T(test_decline_insufficient_funds),
        cmocka_unit_test_setup_teardown(test_decline_amount_overflow_of_destination, setup,
                                        teardown),
        T(test_decline_invalid_amount),
        T(test_approved_settles_debit_and_credit),
        T(test_rejected_releases_the_hold),
        T(test_verdict_for_unknown_transfer_changes_nothing),
        T(test_replayed_requested_changes_nothing),
        T(test_replayed_declined_request_changes_nothing),
        T(test_replayed_approved_changes_nothing),
        T(test_replayed_rejected_changes_nothing),
        T(test_approved_after_rejected_changes_nothing),
        T(test_rejected_after_settled_changes_nothing),
        T(test_requested_again_after_settled_changes_nothing),
        T(test_verdict_for_declined_transfer_changes_nothing),
        T(test_money_is_conserved_across_a_settle),
        T(test_ledger_verifies_after_a_sequence_of_transfers),
        T(test_check_ledger_detects_a_rewritten_balance),
        T(test_check_ledger_detects_a_rewritten_hold),
        T(test_check_ledger_detects_a_record_naming_another_newest_entry),
        T(test_check_ledger_detects_an_account_missing_from_the_ledger),
        T(test_unknown_types_are_rejected_without_writes),
        T(test_open_moves_the_deposit_from_funding),
        T(test_open_with_zero_deposit),
        T(test_open_again_with_same_name_returns_the_account),
        T(test_open_conflicts_and_invalid_input),
        T(test_open_refuses_a_deposit_that_overflows_funding),
        T(test_get_finds_an_account_or_answers_404),
        T(test_list_pages_in_id_order),
        T(test_ledger_query_pages_newest_first),
        T(test_query_reply_encodes),
        cmocka_unit_test_setup_teardown(test_ensure_funding_is_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seed_demo_opens_the_demo_accounts_once, setup,
                                        teardown),
        T(test_seed_demo_does_nothing_when_accounts_exist),
        cmocka_unit_test(test_account_record_round_trips_and_rejects_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

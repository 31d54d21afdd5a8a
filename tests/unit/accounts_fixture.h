/*  accounts_fixture.h: the fixture shared by the accounts node's unit tests
    (accounts_saga_test, accounts_open_test, accounts_query_test,
    accounts_verify_test): each test opens a store in its own temporary
    directory, runs the handlers in one write transaction (the funding
    account, and with setup_alice_bob alice and bob, already open), and
    inspects the accounts, the saga state, the ledger and the outbox
    (decoded with proto_decode). Header-only: every helper is static inline.
*/
#ifndef LEDGER_ACCOUNTS_FIXTURE_H
#define LEDGER_ACCOUNTS_FIXTURE_H

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
#include "accounts_cite.h"
#include "test_msg.h"
#include "test_node.h"

#define T0_MS 1700000000000ULL
#define ALICE_DEPOSIT 100000 /* 1,000.00 */
#define BOB_DEPOSIT 25000    /* 250.00 */
#define LEDGER_PAGE 64

typedef test_node_t fx_t;

/* --- fixture --------------------------------------------------------------- */

static inline proto_msg_t query_msg(fx_t *fx, proto_query_op_t op);

static inline void open_account(fx_t *fx, const char *id, const char *name, int64_t deposit_minor)
{
    proto_msg_t q = test_open_msg("gateway", ++fx->in_seq, fx->ctx.now_ms, id, name, deposit_minor);
    proto_msg_t reply;
    assert_int_equal(accounts_query(&fx->ctx, &q, &reply), LEDGER_OK);
    assert_int_equal(reply.body.account_reply.status, 201);
    proto_msg_release(&reply);
}

static inline int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    test_node_open(fx, "accounts_test", "accounts", T0_MS);
    assert_int_equal(accounts_open_ensure_funding(&fx->ctx, NULL, 0, NULL), LEDGER_OK);
    *state = fx;
    return 0;
}

/* The usual start: alice with 1,000.00 and bob with 250.00. */
static inline int setup_alice_bob(void **state)
{
    setup(state);
    fx_t *fx = *state;
    open_account(fx, "alice", "Alice Smith", ALICE_DEPOSIT);
    open_account(fx, "bob", "Bob Jones", BOB_DEPOSIT);
    return 0;
}

static inline int teardown(void **state)
{
    fx_t *fx = *state;
    test_node_close(fx);
    free(fx);
    return 0;
}

/* --- messages -------------------------------------------------------------- */

static inline proto_msg_t inbound(fx_t *fx, proto_type_t type, const char *origin, const char *corr)
{
    return test_msg(type, origin, ++fx->in_seq, fx->ctx.now_ms, corr);
}

static inline proto_msg_t query_msg(fx_t *fx, proto_query_op_t op)
{
    proto_msg_t m = inbound(fx, PROTO_ACCOUNT_QUERY, "gateway", "");
    m.body.query.op = op;
    return m;
}

static inline proto_msg_t requested(fx_t *fx, const char *transfer, const char *from,
                                    const char *to, int64_t amount_minor, const char *currency)
{
    proto_msg_t m = test_transfer_msg(PROTO_TRANSFER_REQUESTED, "gateway", ++fx->in_seq,
                                      fx->ctx.now_ms, transfer, from, to, amount_minor, currency);
    snprintf(m.body.transfer.reference, sizeof m.body.transfer.reference, "ref %s", transfer);
    /* the fixture's accounts are owned by the principal of their id: the sender owns `from` */
    snprintf(m.body.transfer.principal, sizeof m.body.transfer.principal, "%s", from);
    return m;
}

static inline proto_msg_t verdict(fx_t *fx, proto_type_t type, const char *transfer)
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
    accounts_cite_reserved(&fx->ctx, &m); /* as the fraud node does */
    return m;
}

static inline void apply_ok(fx_t *fx, const proto_msg_t *m)
{
    assert_int_equal(accounts_saga_apply(&fx->ctx, m, NULL, NULL, 0), LEDGER_OK);
}

/* --- inspection ------------------------------------------------------------ */

static inline uint64_t count_of(fx_t *fx, store_db_t db)
{
    uint64_t n = 0;
    assert_int_equal(store_count(fx->txn, db, &n), LEDGER_OK);
    return n;
}

static inline uint64_t ledger_len(fx_t *fx)
{
    uint64_t seq = 0;
    assert_int_equal(store_ledger_last_seq(fx->txn, &seq), LEDGER_OK);
    return seq;
}

static inline proto_account_t account(fx_t *fx, const char *id)
{
    proto_account_t a;
    assert_int_equal(accounts_book_get(&fx->ctx, id, &a), LEDGER_OK);
    return a;
}

static inline accounts_transfer_t transfer_state(fx_t *fx, const char *id)
{
    accounts_transfer_t tr;
    assert_int_equal(accounts_record_transfer_get(fx->txn, id, &tr), LEDGER_OK);
    return tr;
}

/* The n-th (0-based) entry in the outbox, decoded; its peer in `peer`. */
static inline proto_msg_t outbox_nth(fx_t *fx, size_t n, char peer[STORE_PEER_MAX + 1])
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
static inline store_ledger_entry_t newest_entry(fx_t *fx, const char *id)
{
    accounts_record_t rec; /* its newest value: the balance cache's when it has one */
    assert_int_equal(accounts_book_load(&fx->ctx, id, &rec), LEDGER_OK);
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

static inline snapshot_t snapshot(fx_t *fx, const char *transfer)
{
    static const char *const snap_ids[4] = {"funding", "alice", "bob", "carol"};
    snapshot_t s;
    memset(&s, 0, sizeof s);
    s.outbox = count_of(fx, STORE_DB_OUTBOX);
    s.ledger = ledger_len(fx);
    s.transfers = count_of(fx, STORE_DB_TRANSFERS);
    for (size_t i = 0; i < 4; i++) {
        proto_account_t a;
        if (accounts_book_get(&fx->ctx, snap_ids[i], &a) == LEDGER_OK) {
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

static inline void assert_same(const snapshot_t *a, const snapshot_t *b)
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

static inline int64_t balance_sum(fx_t *fx)
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

static inline void assert_ledger_ok(fx_t *fx)
{
    store_ledger_report_t report;
    char why[256];
    assert_int_equal(accounts_verify_ledger(fx->txn, &report, why, sizeof why), LEDGER_OK);
    if (!report.ok)
        fail_msg("ledger check failed: %s", why);
}

/* --- queries -------------------------------------------------------------- */

static inline proto_msg_t run_query(fx_t *fx, proto_msg_t *q)
{
    proto_msg_t r;
    assert_int_equal(accounts_query(&fx->ctx, q, &r), LEDGER_OK);
    assert_int_equal(r.type, PROTO_ACCOUNT_REPLY);
    assert_string_equal(r.corr, q->corr);
    return r;
}

static inline proto_msg_t open_query(fx_t *fx, const char *id, const char *name,
                                     const char *currency, int64_t deposit_minor)
{
    proto_msg_t q = query_msg(fx, PROTO_QUERY_OPEN);
    snprintf(q.body.query.account, sizeof q.body.query.account, "%s", id);
    snprintf(q.body.query.name, sizeof q.body.query.name, "%s", name);
    snprintf(q.body.query.currency, sizeof q.body.query.currency, "%s", currency);
    snprintf(q.body.query.owner, sizeof q.body.query.owner, "%s", id);
    q.body.query.amount_minor = deposit_minor;
    snprintf(q.corr, sizeof q.corr, "req-%s", id);
    return run_query(fx, &q);
}

#endif

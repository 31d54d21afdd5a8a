/*  accounts_life_fixture.h: helpers for the unit tests of the payments life
    cycle (issue 21: authorise, capture, void, expiry, risk timeout,
    refunds), on top of accounts_fixture.h. Header-only.
*/
#ifndef LEDGER_ACCOUNTS_LIFE_FIXTURE_H
#define LEDGER_ACCOUNTS_LIFE_FIXTURE_H

#include "accounts_fixture.h"
#include "accounts_book.h"
#include "accounts_cache.h"
#include "accounts_holds.h"
#include "accounts_timers.h"

#define EXPIRES_IN_MS (7ull * 24 * 3600 * 1000) /* the gateway's default: 7 days */

/*  The node's way: balances in the cache and reserved holds in memory (accounts_cache.h,
    accounts_reserved.h), one transaction of the cache open for the whole test (so the set's
    removals wait for its end, as in a batch). teardown_in_memory ends and frees it. */
static inline int setup_alice_bob_in_memory(void **state)
{
    setup_alice_bob(state);
    fx_t *fx = *state;
    assert_int_equal(accounts_cache_replay(fx->txn, NULL), LEDGER_OK); /* the mark, as on_start */
    accounts_cache_config_t config = {.checkpoint_ms = 1000000, .dirty_max = 100000, .chunk = 16};
    accounts_cache_t *cache = accounts_cache_new(&config);
    assert_non_null(cache);
    accounts_cache_txn_begin(cache);
    fx->ctx.state = cache;
    return 0;
}

static inline int teardown_in_memory(void **state)
{
    fx_t *fx = *state;
    accounts_cache_t *cache = fx->ctx.state;
    accounts_cache_txn_end(cache, true);
    fx->ctx.state = NULL;
    accounts_cache_destroy(&cache);
    return teardown(state);
}

/* A life test run both ways: without the cache (holds in "hd/") and with it (in memory). */
#define T_BOTH(name)                                                                               \
    cmocka_unit_test_setup_teardown(name, setup_alice_bob, teardown),                              \
    {                                                                                              \
#name " (in memory)", name, setup_alice_bob_in_memory, teardown_in_memory, NULL            \
    }

/* A manual-capture transfer.requested that expires EXPIRES_IN_MS from now. */
static inline proto_msg_t requested_manual(fx_t *fx, const char *transfer, const char *from,
                                           const char *to, int64_t amount_minor)
{
    proto_msg_t m = requested(fx, transfer, from, to, amount_minor, "GBP");
    m.body.transfer.capture = PROTO_CAPTURE_MANUAL;
    m.body.transfer.expires_at_ms = fx->ctx.now_ms + EXPIRES_IN_MS;
    return m;
}

/* A refund of `original` (from its payee back to its payer), asked by the payee. */
static inline proto_msg_t requested_refund(fx_t *fx, const char *transfer, const char *original,
                                           const char *payee, const char *payer,
                                           int64_t amount_minor)
{
    proto_msg_t m = requested(fx, transfer, payee, payer, amount_minor, "GBP");
    m.body.transfer.kind = PROTO_TRANSFER_KIND_REFUND;
    snprintf(m.body.transfer.refund_of, sizeof m.body.transfer.refund_of, "%s", original);
    return m;
}

/* transfer.capture (amount_minor > 0) or transfer.void (amount_minor 0) by `principal`. */
static inline proto_msg_t action(fx_t *fx, proto_type_t type, const char *transfer,
                                 const char *principal, int64_t amount_minor)
{
    proto_msg_t m = inbound(fx, type, "gateway", transfer);
    snprintf(m.body.action.transfer, sizeof m.body.action.transfer, "%s", transfer);
    snprintf(m.body.action.principal, sizeof m.body.action.principal, "%s", principal);
    m.body.action.amount_minor = amount_minor;
    return m;
}

/* Applies `m` and expects `want`; when refused, `why` names the reason. */
static inline void apply_expect(fx_t *fx, const proto_msg_t *m, ledger_err_t want)
{
    char why[256] = "";
    assert_int_equal(accounts_saga_apply(&fx->ctx, m, NULL, why, sizeof why), want);
    if (want == LEDGER_E_INVALID)
        assert_true(why[0] != '\0');
}

/* Requests, then approves, a transfer; it ends settled (auto) or authorized (manual). */
static inline void approve(fx_t *fx, const char *transfer)
{
    proto_msg_t v = verdict(fx, PROTO_FRAUD_APPROVED, transfer);
    apply_ok(fx, &v);
}

/* The newest outbox entry, decoded (released by the caller with proto_msg_release). */
static inline proto_msg_t outbox_last(fx_t *fx)
{
    char peer[STORE_PEER_MAX + 1];
    return outbox_nth(fx, count_of(fx, STORE_DB_OUTBOX) - 1, peer);
}

/* Runs the timers at ctx.now_ms; returns how many fired. */
static inline size_t run_timers(fx_t *fx)
{
    size_t fired = 0;
    uint64_t next = 0;
    assert_int_equal(accounts_timers_run(&fx->ctx, ACCOUNTS_TIMERS_PER_RUN, &fired, &next),
                     LEDGER_OK);
    return fired;
}

/* The open holds of `account` (at most 16). */
static inline uint32_t holds_of(fx_t *fx, const char *account, proto_hold_t out[16])
{
    uint32_t n = 0;
    char next[PROTO_TRANSFER_ID_MAX + 1];
    assert_int_equal(accounts_holds_list(fx->txn, accounts_book_reserved(&fx->ctx), account, "", 16,
                                         out, &n, next),
                     LEDGER_OK);
    assert_string_equal(next, "");
    return n;
}

/* Money is conserved, the ledger checks, and the held amounts equal the open holds. */
static inline void assert_books_ok(fx_t *fx)
{
    assert_int_equal(balance_sum(fx), 0);
    if (fx->ctx.state) /* the table current, as the verify of a running node expects */
        assert_int_equal(accounts_cache_write_all(fx->ctx.state, fx->txn), LEDGER_OK);
    assert_ledger_ok(fx);
    static const char *const ids[] = {"alice", "bob"};
    for (size_t i = 0; i < 2; i++) {
        proto_hold_t h[16];
        uint32_t n = holds_of(fx, ids[i], h);
        int64_t held = 0;
        for (uint32_t k = 0; k < n; k++)
            held += h[k].amount_minor;
        assert_int_equal(account(fx, ids[i]).held_minor, held);
    }
}

#endif

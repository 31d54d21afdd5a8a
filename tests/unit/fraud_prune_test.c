/*  fraud_prune_test.c: the retention of decisions (fraud_prune.c): old
    decisions go in key order, in chunks, the walk stops at the first young
    one, the ledger-free risk state is untouched, and a record that does not
    hold its time is an error that deletes nothing. Known payees: the ones
    not approved within their retention go, in chunks that resume where the
    last stopped and wrap, velocity entries stay, and an approval refreshes
    its payee's time at most once per FRAUD_PAYEE_REFRESH_MS.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fraud.h"
#include "fraud_prune.h"
#include "test_msg.h"
#include "test_main.h"
#include "test_node.h"

#define T0_MS 1700000000000ULL

typedef struct {
    test_node_t node;
    fraud_rules_t rules;
} fx_t;

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    test_node_open(&fx->node, "fraud_prune_test", "fraud", T0_MS);
    fraud_rules_defaults(&fx->rules);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    test_node_close(&fx->node);
    free(fx);
    return 0;
}

/* Decides transfer `id` (approved: a small amount to a known-nothing payee) at `at_ms`. */
static void decide_at(fx_t *fx, const char *id, uint64_t at_ms)
{
    fx->node.ctx.now_ms = at_ms;
    proto_msg_t m = test_transfer_msg(PROTO_FUNDS_RESERVED, "accounts", ++fx->node.in_seq, at_ms,
                                      id, "alice", "bob", 100, "GBP");
    assert_int_equal(fraud_apply(&fx->node.ctx, &fx->rules, &m), LEDGER_OK);
}

static bool decided(fx_t *fx, const char *id)
{
    fraud_decision_t d;
    ledger_err_t err = fraud_decision_get(fx->node.txn, id, &d);
    assert_true(err == LEDGER_OK || err == LEDGER_E_NOT_FOUND);
    return err == LEDGER_OK;
}

/* Approves a small transfer `id` from `from` to `to` at `at_ms` (the payee is learnt). */
static void approve_at(fx_t *fx, const char *id, const char *from, const char *to, uint64_t at_ms)
{
    fx->node.ctx.now_ms = at_ms;
    proto_msg_t m = test_transfer_msg(PROTO_FUNDS_RESERVED, "accounts", ++fx->node.in_seq, at_ms,
                                      id, from, to, 100, "GBP");
    assert_int_equal(fraud_apply(&fx->node.ctx, &fx->rules, &m), LEDGER_OK);
}

/* The stored time of payee (from, to), 0 when it is not known (the key layout of fraud.h). */
static uint64_t payee_ms(fx_t *fx, const char *from, const char *to)
{
    uint8_t key[FRAUD_PAYEE_KEY_MAX];
    size_t from_len = strlen(from), to_len = strlen(to);
    key[0] = FRAUD_RISK_TAG_PAYEE;
    key[1] = (uint8_t)from_len;
    memcpy(key + 2, from, from_len);
    memcpy(key + 2 + from_len, to, to_len);
    const void *val = NULL;
    size_t val_size = 0;
    ledger_err_t err =
        store_get(fx->node.txn, STORE_DB_RISK, key, 2 + from_len + to_len, &val, &val_size);
    if (err == LEDGER_E_NOT_FOUND)
        return 0;
    assert_int_equal(err, LEDGER_OK);
    assert_int_equal(val_size, 8);
    return store_be64_get(val);
}

static size_t prune_payees(fx_t *fx, uint64_t older_than_ms, fraud_payee_walk_t *walk,
                           size_t scan_max)
{
    size_t pruned = 99;
    assert_int_equal(fraud_prune_payees(fx->node.txn, older_than_ms, walk, 100, scan_max, &pruned),
                     LEDGER_OK);
    return pruned;
}

static void test_old_payees_go_in_chunks_that_resume(void **state)
{
    fx_t *fx = *state;
    char id[32], from[32];
    for (int i = 0; i < 10; i++) { /* ten pairs (one source each: no velocity rule fires) */
        snprintf(id, sizeof id, "tr_%02d", i);
        snprintf(from, sizeof from, "payer%02d", i);
        approve_at(fx, id, from, "bob", T0_MS + (uint64_t)i * 1000);
    }
    uint64_t risk_before = 0, risk_after = 0;
    assert_int_equal(store_count(fx->node.txn, STORE_DB_RISK, &risk_before), LEDGER_OK);
    fraud_payee_walk_t walk = {.key_size = 0};
    size_t pruned = 0, runs = 0;
    do { /* three payees looked at per run: four runs walk all ten, then it wraps */
        pruned += prune_payees(fx, T0_MS + 3500, &walk, 3);
        runs++;
    } while (walk.key_size && runs < 10);
    assert_int_equal(runs, 4);
    assert_int_equal(pruned, 4); /* payer00 .. payer03 -> bob */
    assert_int_equal(payee_ms(fx, "payer03", "bob"), 0);
    assert_int_equal(payee_ms(fx, "payer04", "bob"), T0_MS + 4000);
    assert_int_equal(store_count(fx->node.txn, STORE_DB_RISK, &risk_after), LEDGER_OK);
    assert_int_equal(risk_after, risk_before - 4); /* velocity entries untouched */
    assert_int_equal(prune_payees(fx, T0_MS + 3500, &walk, 100), 0);
}

static void test_an_approval_refreshes_its_payee_at_most_daily(void **state)
{
    fx_t *fx = *state;
    approve_at(fx, "tr_1", "alice", "bob", T0_MS);
    approve_at(fx, "tr_2", "alice", "bob", T0_MS + 1000); /* within the day: no write */
    assert_int_equal(payee_ms(fx, "alice", "bob"), T0_MS);
    uint64_t later = T0_MS + FRAUD_PAYEE_REFRESH_MS + 1;
    approve_at(fx, "tr_3", "alice", "bob", later);
    assert_int_equal(payee_ms(fx, "alice", "bob"), later);
    fraud_payee_walk_t walk = {.key_size = 0};
    assert_int_equal(prune_payees(fx, later, &walk, 100), 0); /* used lately: kept */
    assert_int_equal(prune_payees(fx, later + 1, &walk, 100), 1);
    assert_int_equal(payee_ms(fx, "alice", "bob"), 0);
}

static size_t prune(fx_t *fx, uint64_t older_than_ms, size_t max)
{
    size_t pruned = 99;
    assert_int_equal(fraud_prune_decisions(fx->node.txn, older_than_ms, max, &pruned), LEDGER_OK);
    return pruned;
}

static void test_old_decisions_go_and_recent_ones_stay(void **state)
{
    fx_t *fx = *state;
    char id[32];
    for (int i = 0; i < 10; i++) { /* ids in creation order, one a second */
        snprintf(id, sizeof id, "tr_%02d", i);
        decide_at(fx, id, T0_MS + (uint64_t)i * 1000);
    }
    uint64_t risk_before = 0, risk_after = 0;
    assert_int_equal(store_count(fx->node.txn, STORE_DB_RISK, &risk_before), LEDGER_OK);
    assert_int_equal(prune(fx, T0_MS + 3500, 2), 2);   /* a chunk: tr_00, tr_01 */
    assert_int_equal(prune(fx, T0_MS + 3500, 100), 2); /* tr_02, tr_03 */
    assert_int_equal(prune(fx, T0_MS + 3500, 100), 0);
    assert_false(decided(fx, "tr_03"));
    for (int i = 4; i < 10; i++) {
        snprintf(id, sizeof id, "tr_%02d", i);
        assert_true(decided(fx, id));
    }
    assert_int_equal(store_count(fx->node.txn, STORE_DB_RISK, &risk_after), LEDGER_OK);
    assert_int_equal(risk_after, risk_before); /* velocity and payees: not this walk's */
}

static void test_the_walk_stops_at_the_first_young_decision(void **state)
{
    fx_t *fx = *state;
    /* tr_a was decided late (fraud was down): it holds back tr_b, older, until it is old too. */
    decide_at(fx, "tr_a", T0_MS + 5000);
    decide_at(fx, "tr_b", T0_MS);
    assert_int_equal(prune(fx, T0_MS + 1000, 100), 0);
    assert_true(decided(fx, "tr_b"));
    assert_int_equal(prune(fx, T0_MS + 6000, 100), 2);
    assert_false(decided(fx, "tr_a"));
    assert_false(decided(fx, "tr_b"));
}

static void test_a_decision_without_its_time_is_an_error(void **state)
{
    fx_t *fx = *state;
    uint8_t bad[3] = {FRAUD_DECISION_VERSION, 1, 0};
    assert_int_equal(store_put(fx->node.txn, STORE_DB_DECISIONS, "tr_0", 4, bad, sizeof bad, 0),
                     LEDGER_OK);
    size_t pruned = 99;
    assert_int_equal(fraud_prune_decisions(fx->node.txn, T0_MS, 100, &pruned), LEDGER_E_CORRUPT);
    assert_int_equal(pruned, 99); /* not written on an error */
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

TEST_MAIN(T(test_old_decisions_go_and_recent_ones_stay),
          T(test_the_walk_stops_at_the_first_young_decision),
          T(test_a_decision_without_its_time_is_an_error),
          T(test_old_payees_go_in_chunks_that_resume),
          T(test_an_approval_refreshes_its_payee_at_most_daily))

/*  fraud_prune_test.c: the retention of decisions (fraud_prune.c): old
    decisions go in key order, in chunks, the walk stops at the first young
    one, the ledger-free risk state is untouched, and a record that does not
    hold its time is an error that deletes nothing.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

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
          T(test_a_decision_without_its_time_is_an_error))

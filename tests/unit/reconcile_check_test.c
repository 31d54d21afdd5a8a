/*  reconcile_check_test.c: how ledger-reconcile classifies one transfer from
    the gateway's status, the accounts node's saga state and the fraud
    node's verdict (reconcile_check_classify), with or without a message for
    it waiting in an outbox.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "reconcile_check.h"
#include "reconcile_holds.h"
#include "test_main.h"
#include "test_store.h"

enum { A = RECONCILE_ABSENT, O = RECONCILE_OPEN, S = RECONCILE_SETTLED, R = RECONCILE_REJECTED };
enum { D = RECONCILE_DECLINED };
/* issue 21: authorisations and their ends, and the risk timeout */
enum { Z = RECONCILE_AUTHORIZED, V = RECONCILE_VOIDED, E = RECONCILE_EXPIRED };
enum { T = RECONCILE_TIMED_OUT };

typedef struct {
    int gateway, accounts, fraud;
    bool waiting, dead, pruned_ok;
    reconcile_class_t want;
    const char *problem;
} case_t;

static void check(const case_t *c)
{
    reconcile_side_t sides[RECONCILE_NODE__COUNT];
    memset(sides, 0, sizeof sides);
    sides[RECONCILE_NODE_GATEWAY].outcome = (reconcile_outcome_t)c->gateway;
    sides[RECONCILE_NODE_ACCOUNTS].outcome = (reconcile_outcome_t)c->accounts;
    sides[RECONCILE_NODE_FRAUD].outcome = (reconcile_outcome_t)c->fraud;
    char problem[96];
    reconcile_class_t got =
        reconcile_check_classify(sides, c->waiting, c->dead, c->pruned_ok, problem, sizeof problem);
    assert_int_equal(got, c->want);
    assert_string_equal(problem, c->problem);
}

static void run(const case_t *cases, size_t n)
{
    for (size_t i = 0; i < n; i++)
        check(&cases[i]);
}

/* The three final outcomes, each seen alike by all three nodes, agree. */
static void test_final_everywhere_alike_agrees(void **state)
{
    (void)state;
    const case_t cases[] = {
        {S, S, S, false, false, false, RECONCILE_AGREE, ""},
        {R, R, R, false, false, false, RECONCILE_AGREE, ""},
        {D, D, A, false, false, false, RECONCILE_AGREE, ""},
    };
    run(cases, sizeof cases / sizeof cases[0]);
}

/* What the restore drill leaves, and every other contradiction, disagrees even in flight. */
static void test_contradictions_disagree_whatever_is_in_flight(void **state)
{
    (void)state;
    const case_t cases[] = {
        {S, A, S, true, false, false, RECONCILE_DISAGREE, "final_at_gateway_unknown_at_accounts"},
        {S, O, S, true, false, false, RECONCILE_DISAGREE, "held_for_final_transfer"},
        {S, R, R, true, false, false, RECONCILE_DISAGREE, "final_states_differ"},
        {O, A, S, true, false, false, RECONCILE_DISAGREE, "verdict_without_saga_at_accounts"},
        {O, S, R, true, false, false, RECONCILE_DISAGREE, "verdict_does_not_match"},
        {D, D, S, false, false, false, RECONCILE_DISAGREE, "verdict_does_not_match"},
        {S, S, A, false, false, false, RECONCILE_DISAGREE, "final_without_verdict_at_fraud"},
        {A, S, S, false, false, false, RECONCILE_DISAGREE, "unknown_at_gateway"},
        {S, S, S, true, true, false, RECONCILE_DISAGREE, "dead_letter"},
    };
    run(cases, sizeof cases / sizeof cases[0]);
}

/* A transfer on its way is in flight while a message for it waits, and stuck when none does. */
static void test_an_open_transfer_is_in_flight_only_while_a_message_waits(void **state)
{
    (void)state;
    const case_t cases[] = {
        {O, A, A, true, false, false, RECONCILE_IN_FLIGHT,
         "pending_at_gateway_unknown_at_accounts"},
        {O, O, A, true, false, false, RECONCILE_IN_FLIGHT, "awaiting_verdict"},
        {O, O, S, true, false, false, RECONCILE_IN_FLIGHT, "verdict_not_applied_at_accounts"},
        {O, S, S, true, false, false, RECONCILE_IN_FLIGHT, "final_at_accounts_pending_at_gateway"},
        {O, O, A, false, false, false, RECONCILE_DISAGREE, "stuck_awaiting_verdict"},
        {O, S, S, false, false, false, RECONCILE_DISAGREE,
         "stuck_final_at_accounts_pending_at_gateway"},
    };
    run(cases, sizeof cases / sizeof cases[0]);
}

/*  Issue 21: an authorisation both sides hold agrees (it is not final, but nothing is owed);
    voided, expired and captured ones carry fraud's approval; a transfer timed out waiting for
    fraud takes a late verdict either way, or none; the wrong verdict still disagrees. */
static void test_payments_outcomes(void **state)
{
    (void)state;
    const case_t cases[] = {
        {Z, Z, S, false, false, false, RECONCILE_AGREE, ""},
        {V, V, S, false, false, false, RECONCILE_AGREE, ""},
        {E, E, S, false, false, false, RECONCILE_AGREE, ""},
        {T, T, A, false, false, false, RECONCILE_AGREE, ""},
        {T, T, S, false, false, false, RECONCILE_AGREE, ""},
        {T, T, R, false, false, false, RECONCILE_AGREE, ""},
        {Z, S, S, true, false, false, RECONCILE_IN_FLIGHT, "final_at_accounts_pending_at_gateway"},
        {Z, V, S, false, false, false, RECONCILE_DISAGREE,
         "stuck_final_at_accounts_pending_at_gateway"},
        {V, Z, S, false, false, false, RECONCILE_DISAGREE, "held_for_final_transfer"},
        {V, E, S, false, false, false, RECONCILE_DISAGREE, "final_states_differ"},
        {Z, Z, R, false, false, false, RECONCILE_DISAGREE, "verdict_does_not_match"},
        {V, V, A, false, false, false, RECONCILE_DISAGREE, "final_without_verdict_at_fraud"},
        {T, D, A, false, false, false, RECONCILE_DISAGREE, "final_states_differ"},
    };
    run(cases, sizeof cases / sizeof cases[0]);
}

/* Past every node's retention a side may be missing because it was pruned. */
static void test_a_pruned_side_is_not_held_against_an_old_transfer(void **state)
{
    (void)state;
    const case_t cases[] = {
        {S, A, A, false, false, true, RECONCILE_AGREE, ""},
        {A, S, S, false, false, true, RECONCILE_AGREE, ""},
        {S, R, A, false, false, true, RECONCILE_DISAGREE, "final_states_differ"},
        {S, O, A, false, false, true, RECONCILE_DISAGREE, "held_for_final_transfer"},
    };
    run(cases, sizeof cases / sizeof cases[0]);
}

/* --- held amounts against reserved transfers (reconcile_holds.c) ----------------- */

/* A ledger where alice holds 100 (one hold entry). */
static void hold_100(store_t *store)
{
    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(store, true, &txn), LEDGER_OK);
    store_ledger_entry_t e;
    memset(&e, 0, sizeof e);
    strcpy(e.account, "alice");
    strcpy(e.transfer, "tr_1");
    strcpy(e.kind, "hold");
    e.held_delta_minor = 100;
    e.held_after_minor = 100;
    assert_int_equal(store_ledger_append(txn, &e), LEDGER_OK);
    assert_int_equal(store_txn_commit(&txn), LEDGER_OK);
}

static int lines_seen;
static char last_line[256];

static void on_line(void *ctx, const char *line)
{
    (void)ctx;
    lines_seen++;
    snprintf(last_line, sizeof last_line, "%s", line);
}

/* Lines reported for a ledger holding 100 on alice and reserved transfers of `account`, each of
   `reserved` (`times` of them). */
static int compare(store_t *store, const char *account, int64_t reserved, int times)
{
    reconcile_holds_t holds;
    reconcile_holds_init(&holds);
    for (int i = 0; account && i < times; i++)
        assert_int_equal(reconcile_holds_add(&holds, account, reserved), LEDGER_OK);
    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(store, false, &txn), LEDGER_OK);
    lines_seen = 0;
    last_line[0] = '\0';
    assert_int_equal(reconcile_holds_compare(&holds, txn, on_line, NULL), LEDGER_OK);
    store_txn_abort(&txn);
    reconcile_holds_free(&holds);
    return lines_seen;
}

/* A hold matched by a reserved transfer is fine; a hold without one, or the reverse, is a line. */
static void test_a_hold_without_its_reserved_transfer_is_reported(void **state)
{
    test_store_t *ts = *state;
    hold_100(ts->store);
    assert_int_equal(compare(ts->store, "alice", 100, 1), 0);
    assert_int_equal(compare(ts->store, "alice", 50, 2), 0); /* two transfers, one hold sum */
    assert_int_equal(compare(ts->store, "alice", 50, 1), 1);
    assert_int_equal(compare(ts->store, NULL, 0, 0), 1);
    assert_string_equal(last_line, "disagree account alice held_does_not_match_reserved_transfers: "
                                   "held=100 reserved=0");
    assert_int_equal(compare(ts->store, "bob", 5, 1), 2);
    assert_string_equal(last_line, "disagree account alice held_does_not_match_reserved_transfers: "
                                   "held=100 reserved=0");
}

TEST_MAIN(cmocka_unit_test(test_final_everywhere_alike_agrees),
          cmocka_unit_test(test_contradictions_disagree_whatever_is_in_flight),
          cmocka_unit_test(test_an_open_transfer_is_in_flight_only_while_a_message_waits),
          cmocka_unit_test(test_a_pruned_side_is_not_held_against_an_old_transfer),
          cmocka_unit_test(test_payments_outcomes),
          cmocka_unit_test_setup_teardown(test_a_hold_without_its_reserved_transfer_is_reported,
                                          test_store_setup, test_store_teardown))

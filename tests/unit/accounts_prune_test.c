/*  accounts_prune_test.c: the retention of the accounts node's saga state (accounts_prune.h):
    finished transfers past the retention go, oldest first and a bounded number per call;
    reserved and recently finished ones stay; the ledger and the balances never change; a late
    transfer.requested for a pruned transfer is refused, not applied a second time. Driven
    without sockets on the shared fixture (accounts_fixture.h).
*/
#include "accounts_fixture.h"

#define RETENTION_MS 60000u

/* A gateway transfer id created at ms, number seq (gateway_view.h). */
static void tid(char out[32], uint64_t ms, unsigned seq)
{
    snprintf(out, 32, "tr_%012llx%08x", (unsigned long long)ms, seq);
}

static bool has_state(fx_t *fx, const char *id)
{
    accounts_transfer_t tr;
    ledger_err_t err = accounts_record_transfer_get(fx->txn, id, &tr);
    assert_true(err == LEDGER_OK || err == LEDGER_E_NOT_FOUND);
    return err == LEDGER_OK;
}

static accounts_prune_result_t prune_at(fx_t *fx, uint64_t now_ms, const char *after, size_t max,
                                        size_t scan_max)
{
    accounts_prune_result_t res;
    assert_int_equal(accounts_prune_saga(fx->txn, now_ms, RETENTION_MS, after, max, scan_max, &res),
                     LEDGER_OK);
    return res;
}

static void settle(fx_t *fx, const char *id, int64_t amount)
{
    proto_msg_t m = requested(fx, id, "alice", "bob", amount, "GBP");
    apply_ok(fx, &m);
    proto_msg_t v = verdict(fx, PROTO_FRAUD_APPROVED, id);
    apply_ok(fx, &v);
    assert_int_equal(transfer_state(fx, id).state, ACCOUNTS_TRANSFER_SETTLED);
}

static void test_old_finished_state_goes_and_money_and_ledger_stay(void **state)
{
    fx_t *fx = *state;
    char settled[32], reserved[32], declined[32], recent[32];
    tid(settled, T0_MS, 1);
    tid(reserved, T0_MS, 2);
    tid(declined, T0_MS, 3);
    settle(fx, settled, 1000);
    proto_msg_t m = requested(fx, reserved, "alice", "bob", 2000, "GBP");
    apply_ok(fx, &m);
    m = requested(fx, declined, "alice", "bob", 10 * ALICE_DEPOSIT, "GBP");
    apply_ok(fx, &m);
    assert_int_equal(transfer_state(fx, declined).state, ACCOUNTS_TRANSFER_DECLINED);
    uint64_t now = T0_MS + RETENTION_MS;
    fx->ctx.now_ms = now;
    tid(recent, now, 4);
    settle(fx, recent, 500);
    uint64_t ledger_before = ledger_len(fx);
    proto_account_t alice = account(fx, "alice"), bob = account(fx, "bob");

    accounts_prune_result_t res = prune_at(fx, now, NULL, 100, 400);
    assert_int_equal(res.pruned, 2);
    assert_string_equal(res.next_after, "");
    assert_false(has_state(fx, settled));
    assert_false(has_state(fx, declined));
    assert_true(has_state(fx, reserved));
    assert_true(has_state(fx, recent));
    assert_int_equal(ledger_len(fx), ledger_before);
    proto_account_t alice_after = account(fx, "alice"), bob_after = account(fx, "bob");
    assert_int_equal(alice_after.balance_minor, alice.balance_minor);
    assert_int_equal(alice_after.held_minor, 2000); /* the open hold is untouched */
    assert_int_equal(bob_after.balance_minor, bob.balance_minor);
    assert_ledger_ok(fx);

    /* The reserved transfer's verdict still settles it after the pruning. */
    proto_msg_t v = verdict(fx, PROTO_FRAUD_APPROVED, reserved);
    apply_ok(fx, &v);
    assert_int_equal(account(fx, "alice").held_minor, 0);
    assert_int_equal(account(fx, "bob").balance_minor, bob.balance_minor + 2000);
}

static void test_a_late_redelivery_of_a_pruned_transfer_is_refused_not_applied(void **state)
{
    fx_t *fx = *state;
    char old[32], fresh[32];
    tid(old, T0_MS, 1);
    settle(fx, old, 1000);
    uint64_t now = T0_MS + RETENTION_MS;
    fx->ctx.now_ms = now;
    assert_int_equal(prune_at(fx, now, NULL, 100, 400).pruned, 1);

    uint64_t ledger_before = ledger_len(fx), outbox_before = count_of(fx, STORE_DB_OUTBOX);
    proto_account_t alice = account(fx, "alice");
    proto_msg_t again = requested(fx, old, "alice", "bob", 1000, "GBP");
    char why[256] = "";
    assert_int_equal(accounts_saga_apply(&fx->ctx, &again, NULL, why, sizeof why),
                     LEDGER_E_INVALID);
    assert_non_null(strstr(why, "older than the saga retention"));
    assert_false(has_state(fx, old));
    assert_int_equal(ledger_len(fx), ledger_before);
    assert_int_equal(count_of(fx, STORE_DB_OUTBOX), outbox_before);
    assert_int_equal(account(fx, "alice").held_minor, alice.held_minor);
    assert_int_equal(account(fx, "alice").balance_minor, alice.balance_minor);

    /* A verdict for it changes nothing either; a new transfer goes through. */
    proto_msg_t v = inbound(fx, PROTO_FRAUD_APPROVED, "fraud", old);
    snprintf(v.body.verdict.transfer, sizeof v.body.verdict.transfer, "%s", old);
    apply_ok(fx, &v);
    assert_int_equal(ledger_len(fx), ledger_before);
    tid(fresh, now, 2);
    settle(fx, fresh, 1000);
    assert_int_equal(account(fx, "alice").balance_minor, alice.balance_minor - 1000);
}

static void test_a_call_deletes_at_most_max_oldest_first_and_resumes(void **state)
{
    fx_t *fx = *state;
    char ids[5][32];
    for (unsigned i = 0; i < 5; i++) {
        tid(ids[i], T0_MS + i, i + 1);
        settle(fx, ids[i], 100);
    }
    uint64_t now = T0_MS + 10 + RETENTION_MS;
    accounts_prune_result_t res = prune_at(fx, now, NULL, 2, 8);
    assert_int_equal(res.pruned, 2);
    assert_false(has_state(fx, ids[0]));
    assert_false(has_state(fx, ids[1]));
    assert_true(has_state(fx, ids[2]));
    res = prune_at(fx, now, res.next_after, 2, 8);
    assert_int_equal(res.pruned, 2);
    assert_true(has_state(fx, ids[4]));
    res = prune_at(fx, now, res.next_after, 2, 8);
    assert_int_equal(res.pruned, 1);
    assert_int_equal(count_of(fx, STORE_DB_TRANSFERS), 0);
}

/* Reserved transfers in front cost a call at most scan_max reads; the next resumes after them. */
static void test_a_call_reads_at_most_scan_max(void **state)
{
    fx_t *fx = *state;
    char ids[4][32];
    for (unsigned i = 0; i < 4; i++)
        tid(ids[i], T0_MS + i, i + 1);
    for (unsigned i = 0; i < 3; i++) {
        proto_msg_t m = requested(fx, ids[i], "alice", "bob", 100, "GBP");
        apply_ok(fx, &m);
    }
    settle(fx, ids[3], 100);
    uint64_t now = T0_MS + 10 + RETENTION_MS;
    accounts_prune_result_t res = prune_at(fx, now, NULL, 2, 2);
    assert_int_equal(res.pruned, 0);
    assert_int_equal(res.scanned, 2);
    assert_string_equal(res.next_after, ids[1]);
    res = prune_at(fx, now, res.next_after, 2, 2);
    assert_int_equal(res.pruned, 1);
    assert_false(has_state(fx, ids[3]));
    assert_int_equal(count_of(fx, STORE_DB_TRANSFERS), 3);
}

static void test_nothing_is_pruned_with_a_retention_of_zero_or_before_any_pruning(void **state)
{
    fx_t *fx = *state;
    char id[32];
    tid(id, T0_MS, 1);
    settle(fx, id, 100);
    accounts_prune_result_t res;
    assert_int_equal(accounts_prune_saga(fx->txn, T0_MS * 2, 0, NULL, 100, 400, &res), LEDGER_OK);
    assert_int_equal(res.pruned, 0);
    assert_true(has_state(fx, id));
    bool refused = true;
    assert_int_equal(accounts_prune_refuses(fx->txn, id, &refused), LEDGER_OK);
    assert_false(refused); /* no floor yet */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_old_finished_state_goes_and_money_and_ledger_stay,
                                        setup_alice_bob, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_late_redelivery_of_a_pruned_transfer_is_refused_not_applied, setup_alice_bob,
            teardown),
        cmocka_unit_test_setup_teardown(test_a_call_deletes_at_most_max_oldest_first_and_resumes,
                                        setup_alice_bob, teardown),
        cmocka_unit_test_setup_teardown(test_a_call_reads_at_most_scan_max, setup_alice_bob,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_nothing_is_pruned_with_a_retention_of_zero_or_before_any_pruning, setup_alice_bob,
            teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*  gateway_view_idem_test.c: idempotency keys are scoped to the principal
    (gateway_view_idem.h, store format 3): the same key from two principals is
    two transfers, a replay is only the same principal's, and pruning deletes
    scoped keys like any other; a key record that does not decode is reported
    corrupt by the prune (the node faults), not deleted. */
#define _GNU_SOURCE /* mkdtemp */
#include "gateway_view_fx.h"

static void test_the_same_key_from_two_principals_makes_two_transfers(void **state)
{
    fx_t *fx = *state;
    gateway_transfer_request_t req = request("alice", "bob", 500);
    gateway_submit_result_t a, b, again;
    assert_int_equal(submit_as(fx, "alice", "key-1", &req, T0_MS, &a), LEDGER_OK);
    assert_int_equal(submit_as(fx, "bob", "key-1", &req, T0_MS, &b), LEDGER_OK);
    assert_false(a.replayed);
    assert_false(b.replayed);
    assert_string_not_equal(a.id, b.id);
    assert_int_equal(count(fx, STORE_DB_TRANSFERS), 2);
    assert_int_equal(count(fx, STORE_DB_OUTBOX), 2);
    assert_int_equal(submit_as(fx, "bob", "key-1", &req, T0_MS + 1, &again), LEDGER_OK);
    assert_true(again.replayed);
    assert_string_equal(again.id, b.id);
}

static void test_another_principals_key_is_not_a_reuse(void **state)
{
    fx_t *fx = *state;
    gateway_transfer_request_t req = request("alice", "bob", 500);
    gateway_transfer_request_t other = request("alice", "bob", 501);
    gateway_submit_result_t res;
    assert_int_equal(submit_as(fx, "alice", "key-1", &req, T0_MS, &res), LEDGER_OK);
    /* mallory cannot claim alice's key: for mallory it is a new key. */
    assert_int_equal(submit_as(fx, "mallory", "key-1", &other, T0_MS, &res), LEDGER_OK);
    assert_false(res.replayed);
    assert_int_equal(submit_as(fx, "alice", "key-1", &other, T0_MS, &res), LEDGER_E_EXISTS);
}

/*  A key of the legacy principal (written before keys were scoped) answers the exact retry of
    its request from anyone, and refuses nobody: another body under it is a new request. */
static void test_a_legacy_key_replays_only_its_own_request_and_both_are_pruned(void **state)
{
    fx_t *fx = *state;
    gateway_transfer_request_t req = request("alice", "bob", 500);
    gateway_transfer_request_t other = request("alice", "bob", 501);
    gateway_submit_result_t old, res;
    assert_int_equal(submit_as(fx, GATEWAY_IDEM_LEGACY_PRINCIPAL, "key-1", &req, T0_MS, &old),
                     LEDGER_OK);
    assert_int_equal(submit_as(fx, "alice", "key-1", &req, T0_MS + 1, &res), LEDGER_OK);
    assert_true(res.replayed);
    assert_string_equal(res.id, old.id);
    assert_int_equal(count(fx, STORE_DB_IDEMPOTENCY), 1);
    assert_int_equal(count(fx, STORE_DB_OUTBOX), 1); /* the retry sent nothing */
    assert_int_equal(submit_as(fx, "alice", "key-1", &other, T0_MS + 1, &res), LEDGER_OK);
    assert_false(res.replayed);
    assert_string_not_equal(res.id, old.id);
    assert_int_equal(count(fx, STORE_DB_IDEMPOTENCY), 2);
    store_txn_t *txn = NULL;
    size_t pruned = 0;
    assert_int_equal(store_txn_begin(fx->store, true, &txn), LEDGER_OK);
    assert_int_equal(
        gateway_view_prune_idempotency(txn, T0_MS + 1 + RETENTION_MS, RETENTION_MS, 100, &pruned),
        LEDGER_OK);
    assert_int_equal(store_txn_commit(&txn), LEDGER_OK);
    assert_int_equal(pruned, 2);
    assert_int_equal(count(fx, STORE_DB_IDEMPOTENCY), 0);
    assert_int_equal(count_prefix(fx, STORE_DB_INDEX, "idem/"), 0);
}

/* A key record that does not decode stops its prune (the node faults) and nothing of it goes. */
static void test_a_corrupt_key_record_is_not_pruned_but_reported_corrupt(void **state)
{
    fx_t *fx = *state;
    gateway_transfer_request_t req = request("alice", "bob", 500);
    gateway_submit_result_t res;
    assert_int_equal(submit_as(fx, "alice", "key-1", &req, T0_MS, &res), LEDGER_OK);
    uint8_t scoped[GATEWAY_IDEM_SCOPED_KEY_MAX];
    size_t scoped_len = gateway_view_idem_scoped_key(scoped, "alice", "key-1");
    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(fx->store, true, &txn), LEDGER_OK);
    assert_int_equal(store_put(txn, STORE_DB_IDEMPOTENCY, scoped, scoped_len, "\xEE", 1, 0),
                     LEDGER_OK);
    assert_int_equal(store_txn_commit(&txn), LEDGER_OK);
    size_t pruned = 0;
    assert_int_equal(store_txn_begin(fx->store, true, &txn), LEDGER_OK);
    assert_int_equal(
        gateway_view_prune_idempotency(txn, T0_MS + 1 + RETENTION_MS, RETENTION_MS, 100, &pruned),
        LEDGER_E_CORRUPT);
    store_txn_abort(&txn);
    assert_int_equal(count(fx, STORE_DB_IDEMPOTENCY), 1);
    assert_int_equal(count_prefix(fx, STORE_DB_INDEX, "idem/"), 1);
}

static bool legacy_any(fx_t *fx)
{
    store_txn_t *txn = NULL;
    bool any = true;
    assert_int_equal(store_txn_begin(fx->store, false, &txn), LEDGER_OK);
    assert_int_equal(gateway_view_idem_legacy_any(txn, &any), LEDGER_OK);
    store_txn_abort(&txn);
    return any;
}

/* The gateway asks once at start whether legacy keys remain; scoped keys alone are not. */
static void test_legacy_keys_are_found_only_when_one_is_stored(void **state)
{
    fx_t *fx = *state;
    gateway_transfer_request_t req = request("alice", "bob", 500);
    gateway_submit_result_t res;
    assert_false(legacy_any(fx));
    assert_int_equal(submit_as(fx, "alice", "key-1", &req, T0_MS, &res), LEDGER_OK);
    assert_false(legacy_any(fx));
    assert_int_equal(submit_as(fx, GATEWAY_IDEM_LEGACY_PRINCIPAL, "key-2", &req, T0_MS, &res),
                     LEDGER_OK);
    assert_true(legacy_any(fx));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_the_same_key_from_two_principals_makes_two_transfers,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_legacy_keys_are_found_only_when_one_is_stored, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_another_principals_key_is_not_a_reuse, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_a_legacy_key_replays_only_its_own_request_and_both_are_pruned, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_corrupt_key_record_is_not_pruned_but_reported_corrupt, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

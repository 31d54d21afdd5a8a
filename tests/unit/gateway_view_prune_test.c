/*  gateway_view_prune_test.c: the retention of transfer views (gateway_view_prune.h): final
    views past the retention go with their index entries, oldest first and a bounded number per
    call; pending and recently final ones stay. */
#define _GNU_SOURCE /* mkdtemp */
#include "gateway_view_fx.h"

#include "gateway_owners.h"
#include "gateway_view_prune.h"

#define VIEW_RETENTION_MS 60000u

/* alice's account is owned by "palice", bob's by "pbob": their transfers are indexed for both. */
static void put_owners(fx_t *fx)
{
    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(fx->store, true, &txn), LEDGER_OK);
    assert_int_equal(gateway_owners_put(txn, "alice", "palice", NULL), LEDGER_OK);
    assert_int_equal(gateway_owners_put(txn, "bob", "pbob", NULL), LEDGER_OK);
    assert_int_equal(store_txn_commit(&txn), LEDGER_OK);
}

/* A transfer from alice to bob created at now_ms; its id into id_out. */
static void submit_at(fx_t *fx, const char *key, uint64_t now_ms, char *id_out)
{
    gateway_transfer_request_t req = request("alice", "bob", 500);
    gateway_submit_result_t res;
    assert_int_equal(submit_as(fx, "palice", key, &req, now_ms, &res), LEDGER_OK);
    strcpy(id_out, res.id);
}

static void settle_at(fx_t *fx, const char *id, uint64_t seq, uint64_t now_ms)
{
    apply_ok(fx, event("accounts", seq, PROTO_TRANSFER_SETTLED, id, now_ms), now_ms);
}

static gateway_view_prune_result_t prune(fx_t *fx, uint64_t now_ms, const char *after, size_t max,
                                         size_t scan_max)
{
    gateway_view_prune_result_t res;
    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(fx->store, true, &txn), LEDGER_OK);
    assert_int_equal(
        gateway_view_prune_transfers(txn, now_ms, VIEW_RETENTION_MS, after, max, scan_max, &res),
        LEDGER_OK);
    assert_int_equal(store_txn_commit(&txn), LEDGER_OK);
    return res;
}

static bool view_exists(fx_t *fx, const char *id)
{
    store_txn_t *txn = NULL;
    json_t *t = NULL;
    assert_int_equal(store_txn_begin(fx->store, false, &txn), LEDGER_OK);
    ledger_err_t err = gateway_view_transfer_get(txn, id, &t);
    store_txn_abort(&txn);
    json_decref(t);
    assert_true(err == LEDGER_OK || err == LEDGER_E_NOT_FOUND);
    return err == LEDGER_OK;
}

static bool indexed_for(fx_t *fx, const char *principal, const char *id)
{
    store_txn_t *txn = NULL;
    bool sees = false;
    assert_int_equal(store_txn_begin(fx->store, false, &txn), LEDGER_OK);
    assert_int_equal(gateway_owners_sees_transfer(txn, principal, id, &sees), LEDGER_OK);
    store_txn_abort(&txn);
    return sees;
}

static void test_old_final_views_go_with_their_index_entries(void **state)
{
    fx_t *fx = *state;
    put_owners(fx);
    char old_settled[32], old_pending[32], late_final[32], recent[32];
    submit_at(fx, "k1", T0_MS, old_settled);
    submit_at(fx, "k2", T0_MS + 1, old_pending);
    submit_at(fx, "k3", T0_MS + 2, late_final);
    settle_at(fx, old_settled, 1, T0_MS + 10);
    uint64_t now = T0_MS + 10 + VIEW_RETENTION_MS;
    settle_at(fx, late_final, 2, now - 1); /* final, but not long enough ago */
    submit_at(fx, "k4", now, recent);
    settle_at(fx, recent, 3, now);
    assert_int_equal(count_prefix(fx, STORE_DB_INDEX, "pt/"), 8);

    gateway_view_prune_result_t res = prune(fx, now, NULL, 100, 100);
    assert_int_equal(res.pruned, 1);
    assert_string_equal(res.next_after, ""); /* reached the cutoff: the next pass starts over */
    assert_false(view_exists(fx, old_settled));
    assert_false(indexed_for(fx, "palice", old_settled));
    assert_false(indexed_for(fx, "pbob", old_settled));
    assert_true(view_exists(fx, old_pending));
    assert_true(view_exists(fx, late_final));
    assert_true(view_exists(fx, recent));
    assert_true(indexed_for(fx, "palice", old_pending));
    assert_int_equal(count(fx, STORE_DB_TRANSFERS), 3);
    assert_int_equal(count_prefix(fx, STORE_DB_INDEX, "pt/"), 6);

    /* Years later the pending one is still there; the others went. */
    res = prune(fx, now + 1000ull * VIEW_RETENTION_MS, NULL, 100, 100);
    assert_int_equal(res.pruned, 2);
    assert_int_equal(count(fx, STORE_DB_TRANSFERS), 1);
    assert_true(view_exists(fx, old_pending));
    assert_int_equal(count_prefix(fx, STORE_DB_INDEX, "pt/"), 2);
}

static void test_a_pruned_view_is_neither_found_nor_listed(void **state)
{
    fx_t *fx = *state;
    char a[32], b[32];
    submit_at(fx, "k1", T0_MS, a);
    submit_at(fx, "k2", T0_MS + 1, b);
    settle_at(fx, a, 1, T0_MS + 5);
    assert_int_equal(prune(fx, T0_MS + 5 + VIEW_RETENTION_MS, NULL, 100, 100).pruned, 1);
    store_txn_t *txn = NULL;
    json_t *t = NULL, *list = NULL;
    assert_int_equal(store_txn_begin(fx->store, false, &txn), LEDGER_OK);
    assert_int_equal(gateway_view_transfer_get(txn, a, &t), LEDGER_E_NOT_FOUND);
    assert_int_equal(gateway_view_transfer_list(txn, NULL, 50, NULL, &list), LEDGER_OK);
    store_txn_abort(&txn);
    json_t *items = json_object_get(list, "transfers");
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "id")), b);
    json_decref(list);
    /* A late status event for it changes nothing and brings nothing back. */
    apply_ok(fx, event("accounts", 9, PROTO_TRANSFER_SETTLED, a, T0_MS + 6), T0_MS + 6);
    assert_false(view_exists(fx, a));
}

static void test_a_call_deletes_at_most_max_oldest_first(void **state)
{
    fx_t *fx = *state;
    char ids[5][32];
    for (int i = 0; i < 5; i++) {
        char key[8];
        snprintf(key, sizeof key, "k%d", i);
        submit_at(fx, key, T0_MS + (uint64_t)i, ids[i]);
        settle_at(fx, ids[i], (uint64_t)i + 1, T0_MS + 10);
    }
    uint64_t now = T0_MS + 10 + VIEW_RETENTION_MS;
    gateway_view_prune_result_t res = prune(fx, now, NULL, 2, 100);
    assert_int_equal(res.pruned, 2);
    assert_false(view_exists(fx, ids[0]));
    assert_false(view_exists(fx, ids[1]));
    assert_true(view_exists(fx, ids[2]));
    res = prune(fx, now, res.next_after, 2, 100);
    assert_int_equal(res.pruned, 2);
    assert_true(view_exists(fx, ids[4]));
    res = prune(fx, now, res.next_after, 2, 100);
    assert_int_equal(res.pruned, 1);
    assert_int_equal(count(fx, STORE_DB_TRANSFERS), 0);
}

/* Old pending views cost a call at most scan_max reads; the next call resumes after them. */
static void test_a_call_reads_at_most_scan_max_and_the_next_resumes(void **state)
{
    fx_t *fx = *state;
    char ids[5][32];
    for (int i = 0; i < 5; i++) {
        char key[8];
        snprintf(key, sizeof key, "k%d", i);
        submit_at(fx, key, T0_MS + (uint64_t)i, ids[i]);
    }
    settle_at(fx, ids[3], 1, T0_MS + 10);
    settle_at(fx, ids[4], 2, T0_MS + 10);
    uint64_t now = T0_MS + 10 + VIEW_RETENTION_MS;
    gateway_view_prune_result_t res = prune(fx, now, NULL, 3, 3);
    assert_int_equal(res.pruned, 0);
    assert_int_equal(res.scanned, 3);
    assert_string_equal(res.next_after, ids[2]);
    res = prune(fx, now, res.next_after, 3, 3);
    assert_int_equal(res.pruned, 2);
    assert_string_equal(res.next_after, "");
    assert_int_equal(count(fx, STORE_DB_TRANSFERS), 3);
}

static void test_a_retention_of_zero_keeps_everything(void **state)
{
    fx_t *fx = *state;
    char a[32];
    submit_at(fx, "k1", T0_MS, a);
    settle_at(fx, a, 1, T0_MS);
    gateway_view_prune_result_t res;
    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(fx->store, true, &txn), LEDGER_OK);
    assert_int_equal(gateway_view_prune_transfers(txn, T0_MS * 2, 0, NULL, 100, 100, &res),
                     LEDGER_OK);
    assert_int_equal(store_txn_commit(&txn), LEDGER_OK);
    assert_int_equal(res.pruned, 0);
    assert_true(view_exists(fx, a));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_old_final_views_go_with_their_index_entries, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_pruned_view_is_neither_found_nor_listed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_call_deletes_at_most_max_oldest_first, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_call_reads_at_most_scan_max_and_the_next_resumes,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_retention_of_zero_keeps_everything, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*  gateway_migrate_test.c: the gateway's store migrations 2 -> 3 and 3 -> 4
    (gateway_migrate.h): format-2 idempotency keys and their age index move
    under the reserved principal "", nothing else changes, and a second run
    does nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway_migrate.h"
#include "gateway_owners.h"
#include "gateway_view_record.h"
#include "gateway_view.h"
#include "test_store.h"
#include "test_main.h"

#define T0_MS 1700000000000ULL
#define OLD_KEYS 1100 /* more than two batches */

typedef test_store_t fx_t;

/* Writes OLD_KEYS format-2 keys ("key-<i>" -> transfer tr_<i>) with their index entries. */
static ledger_err_t plant_format2(store_txn_t *txn, void *arg)
{
    (void)arg;
    ledger_err_t err = store_migrate_version_put(txn, 2);
    for (int i = 0; !err && i < OLD_KEYS; i++) {
        char key[32], id[32];
        snprintf(key, sizeof key, "key-%05d", i);
        size_t id_len = (size_t)snprintf(id, sizeof id, "tr_%020d", i);
        uint8_t rec[1 + 8 + 32 + 1 + 32] = {1};
        store_be64_put(rec + 1, T0_MS + (uint64_t)i);
        memset(rec + 9, 0xab, 32);
        rec[41] = (uint8_t)id_len;
        memcpy(rec + 42, id, id_len);
        err = store_put(txn, STORE_DB_IDEMPOTENCY, key, strlen(key), rec, 42 + id_len, 0);
        uint8_t ikey[64] = "idem/";
        store_be64_put(ikey + 5, T0_MS + (uint64_t)i);
        memcpy(ikey + 13, key, strlen(key));
        if (!err)
            err = store_put(txn, STORE_DB_INDEX, ikey, 13 + strlen(key), "", 0, 0);
    }
    return err;
}

static void run_plan(fx_t *fx, store_migrate_result_t *res)
{
    assert_int_equal(store_migrate_run(fx->store, &gateway_migrate_plan, NULL, NULL, res),
                     LEDGER_OK);
}

static void test_format_2_keys_move_under_the_reserved_principal(void **state)
{
    fx_t *fx = *state;
    assert_int_equal(store_write(fx->store, plant_format2, NULL), LEDGER_OK);
    store_migrate_result_t res;
    run_plan(fx, &res);
    assert_int_equal(res.from_version, 2);
    assert_int_equal(res.version, 4);
    assert_int_equal(res.ran, 2);
    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(fx->store, false, &txn), LEDGER_OK);
    uint64_t n = 0;
    assert_int_equal(store_count(txn, STORE_DB_IDEMPOTENCY, &n), LEDGER_OK);
    assert_int_equal(n, OLD_KEYS);
    gateway_view_idem_t rec;
    assert_int_equal(gateway_view_idem_get(txn, "", "key-01099", &rec), LEDGER_OK);
    assert_string_equal(rec.id, "tr_00000000000000001099");
    assert_int_equal(rec.created_ms, T0_MS + 1099);
    /* Nobody else's: a real principal does not see it. */
    assert_int_equal(gateway_view_idem_get(txn, "alice", "key-01099", &rec), LEDGER_E_NOT_FOUND);
    store_txn_abort(&txn);
    /* The age index is rewritten too: pruning finds and deletes every old key. */
    assert_int_equal(store_txn_begin(fx->store, true, &txn), LEDGER_OK);
    size_t pruned = 0, total = 0;
    do {
        assert_int_equal(gateway_view_prune_idempotency(txn, T0_MS + 10000000, 1000, 1000, &pruned),
                         LEDGER_OK);
        total += pruned;
    } while (pruned);
    assert_int_equal(total, OLD_KEYS);
    assert_int_equal(store_count(txn, STORE_DB_IDEMPOTENCY, &n), LEDGER_OK);
    assert_int_equal(n, 0);
    assert_int_equal(store_count(txn, STORE_DB_INDEX, &n), LEDGER_OK);
    assert_int_equal(n, 0);
    store_txn_abort(&txn);
}

static void test_a_second_start_runs_nothing(void **state)
{
    fx_t *fx = *state;
    assert_int_equal(store_write(fx->store, plant_format2, NULL), LEDGER_OK);
    store_migrate_result_t res;
    run_plan(fx, &res);
    run_plan(fx, &res);
    assert_int_equal(res.from_version, 4);
    assert_int_equal(res.ran, 0);
}

/* A format-3 dir with three transfers: alice -> bob, a deposit funding -> carol, and
   carol -> alice. */
static ledger_err_t plant_format3(store_txn_t *txn, void *arg)
{
    (void)arg;
    static const char *const parts[3][3] = {{"tr_000000000001000000a1", "alice", "bob"},
                                            {"tr_000000000002000000a2", "funding", "carol"},
                                            {"tr_000000000003000000a3", "carol", "alice"}};
    ledger_err_t err = store_migrate_version_put(txn, 3);
    for (size_t i = 0; !err && i < 3; i++) {
        gateway_view_record_t rec;
        memset(&rec, 0, sizeof rec);
        snprintf(rec.id, sizeof rec.id, "%s", parts[i][0]);
        snprintf(rec.req.from, sizeof rec.req.from, "%s", parts[i][1]);
        snprintf(rec.req.to, sizeof rec.req.to, "%s", parts[i][2]);
        rec.req.amount_minor = 5;
        snprintf(rec.req.currency, sizeof rec.req.currency, "GBP");
        rec.status = GATEWAY_STATUS_SETTLED;
        rec.created_ms = rec.updated_ms = T0_MS;
        err = gateway_view_record_put(txn, &rec, 0);
    }
    return err;
}

static size_t transfers_of(store_txn_t *txn, const char *principal)
{
    char ids[8][GATEWAY_OWNERS_TRANSFER_ID_MAX + 1];
    size_t n = 0;
    bool more = false;
    assert_int_equal(gateway_owners_transfers(txn, principal, NULL, 8, ids, &n, &more), LEDGER_OK);
    return n;
}

static void test_format_3_transfers_are_indexed_for_the_owners_by_account_id(void **state)
{
    fx_t *fx = *state;
    assert_int_equal(store_write(fx->store, plant_format3, NULL), LEDGER_OK);
    store_migrate_result_t res;
    run_plan(fx, &res);
    assert_int_equal(res.from_version, 3);
    assert_int_equal(res.ran, 1);
    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(fx->store, false, &txn), LEDGER_OK);
    char owner[PROTO_ACCOUNT_ID_MAX + 1];
    assert_int_equal(gateway_owners_get(txn, "alice", owner), LEDGER_OK);
    assert_string_equal(owner, "alice");
    assert_int_equal(gateway_owners_get(txn, "carol", owner), LEDGER_OK);
    assert_string_equal(owner, "carol");
    /* The settlement account is nobody's. */
    assert_int_equal(gateway_owners_get(txn, "funding", owner), LEDGER_E_NOT_FOUND);
    assert_int_equal(transfers_of(txn, "alice"), 2);
    assert_int_equal(transfers_of(txn, "bob"), 1);
    assert_int_equal(transfers_of(txn, "carol"), 2);
    assert_int_equal(transfers_of(txn, "funding"), 0);
    bool sees = true;
    assert_int_equal(gateway_owners_sees_transfer(txn, "bob", "tr_000000000003000000a3", &sees),
                     LEDGER_OK);
    assert_false(sees);
    store_txn_abort(&txn);
}

static void test_a_fresh_dir_is_stamped_with_the_newest_format(void **state)
{
    fx_t *fx = *state;
    store_migrate_result_t res;
    run_plan(fx, &res);
    assert_true(res.fresh);
    assert_int_equal(res.version, GATEWAY_STORE_FORMAT);
}

TEST_MAIN(TEST_STORE_CASE(test_format_2_keys_move_under_the_reserved_principal),
          TEST_STORE_CASE(test_a_second_start_runs_nothing),
          TEST_STORE_CASE(test_format_3_transfers_are_indexed_for_the_owners_by_account_id),
          TEST_STORE_CASE(test_a_fresh_dir_is_stamped_with_the_newest_format))

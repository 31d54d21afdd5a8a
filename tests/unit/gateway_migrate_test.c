/*  gateway_migrate_test.c: the gateway's store migration 2 -> 3
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
    assert_int_equal(res.version, 3);
    assert_int_equal(res.ran, 1);
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
    assert_int_equal(res.from_version, 3);
    assert_int_equal(res.ran, 0);
}

static void test_a_fresh_dir_is_stamped_format_3(void **state)
{
    fx_t *fx = *state;
    store_migrate_result_t res;
    run_plan(fx, &res);
    assert_true(res.fresh);
    assert_int_equal(res.version, GATEWAY_STORE_FORMAT);
}

TEST_MAIN(TEST_STORE_CASE(test_format_2_keys_move_under_the_reserved_principal),
          TEST_STORE_CASE(test_a_second_start_runs_nothing),
          TEST_STORE_CASE(test_a_fresh_dir_is_stamped_format_3))

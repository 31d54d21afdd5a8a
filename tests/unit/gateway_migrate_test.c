/*  gateway_migrate_test.c: the gateway's store migrations 2 -> 3, 3 -> 4 and
    4 -> 5 (gateway_migrate.h): format-2 idempotency keys and their age index
    move under the reserved principal "", nothing else changes, and a second
    run does nothing; format-3 transfers are indexed for their owners; format-4
    events get their viewers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway_events.h"
#include "gateway_migrate.h"
#include "gateway_owners.h"
#include "gateway_view_record.h"
#include "gateway_view.h"
#include "record.h"
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
    assert_int_equal(res.version, GATEWAY_STORE_FORMAT);
    assert_int_equal(res.ran, 5); /* 2 -> 3 -> 4 -> 5 -> 6 (seen_floors) -> 7 (transfer_payments) */
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
    assert_int_equal(res.from_version, GATEWAY_STORE_FORMAT);
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
    assert_int_equal(res.ran, 4);
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

/* A format-2 event record (no viewers) of transfer `id` at seq. */
static ledger_err_t put_event_v2(store_txn_t *txn, uint64_t seq, const char *id)
{
    uint8_t buf[256];
    record_writer_t w = {buf, sizeof buf, 0, true};
    record_put_u8(&w, 2);
    record_put_u64(&w, T0_MS + seq);
    record_put_str8(&w, "transfer.settled");
    record_put_str8(&w, "accounts");
    record_put_str8(&w, "accounts/9");
    record_put_str8(&w, id);
    uint8_t key[12] = "evt/";
    store_be64_put(key + 4, seq);
    uint64_t next = 0;
    ledger_err_t err = store_seq_next(txn, GATEWAY_EVENT_SEQUENCE, &next);
    return err ? err : store_put(txn, STORE_DB_INDEX, key, sizeof key, buf, w.len, 0);
}

/* A format-4 dir: the format-3 transfers, owners alice, bob, carol by account id (as 3 -> 4
   left them), and four version-2 events: one per transfer and one of a transfer not in the
   view. */
static ledger_err_t plant_format4(store_txn_t *txn, void *arg)
{
    ledger_err_t err = plant_format3(txn, arg);
    static const char *const owners[] = {"alice", "bob", "carol"};
    for (size_t i = 0; !err && i < 3; i++)
        err = gateway_owners_put(txn, owners[i], owners[i], NULL);
    static const char *const ids[] = {"tr_000000000001000000a1", "tr_000000000002000000a2",
                                      "tr_000000000003000000a3", "tr_000000000009000000a9"};
    for (uint64_t i = 0; !err && i < 4; i++)
        err = put_event_v2(txn, i + 1, ids[i]);
    return err ? err : store_migrate_version_put(txn, 4);
}

typedef struct {
    size_t count;
    gateway_event_t events[8];
} seen_events_t;

static bool keep_event(const gateway_event_t *event, void *arg)
{
    seen_events_t *seen = arg;
    seen->events[seen->count++] = *event;
    return seen->count < 8;
}

static void test_format_4_events_name_the_owners_of_from_and_to_as_viewers(void **state)
{
    fx_t *fx = *state;
    assert_int_equal(store_write(fx->store, plant_format4, NULL), LEDGER_OK);
    store_migrate_result_t res;
    run_plan(fx, &res);
    assert_int_equal(res.from_version, 4);
    assert_int_equal(res.ran, 3);
    store_txn_t *txn = NULL;
    seen_events_t seen = {0};
    assert_int_equal(store_txn_begin(fx->store, false, &txn), LEDGER_OK);
    assert_int_equal(gateway_events_read(txn, 0, 8, keep_event, &seen, NULL), LEDGER_OK);
    store_txn_abort(&txn);
    assert_int_equal(seen.count, 4);
    /* alice -> bob: both; funding -> carol: carol only (nobody owns funding). */
    assert_string_equal(seen.events[0].viewers[0], "alice");
    assert_string_equal(seen.events[0].viewers[1], "bob");
    assert_true(gateway_events_visible_to(&seen.events[1], "carol"));
    assert_false(gateway_events_visible_to(&seen.events[1], "funding"));
    assert_false(gateway_events_visible_to(&seen.events[1], "alice"));
    assert_true(gateway_events_visible_to(&seen.events[2], "alice"));
    assert_false(gateway_events_visible_to(&seen.events[2], "bob"));
    /* A transfer the view does not hold: nobody but operators. */
    assert_string_equal(seen.events[3].viewers[0], "");
    assert_string_equal(seen.events[3].viewers[1], "");
    /* The step's own fields are unchanged. */
    assert_int_equal(seen.events[2].seq, 3);
    assert_int_equal(seen.events[2].ts_ms, T0_MS + 3);
    assert_string_equal(seen.events[2].type, "transfer.settled");
    assert_string_equal(seen.events[2].transfer_id, "tr_000000000003000000a3");
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
          TEST_STORE_CASE(test_format_4_events_name_the_owners_of_from_and_to_as_viewers),
          TEST_STORE_CASE(test_a_fresh_dir_is_stamped_with_the_newest_format))

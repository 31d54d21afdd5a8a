/*  store_seen_test.c: seen message ids (store_seen.c): recording, checking,
    the highest seq per origin, pruning by age and by a window of ids, and
    the floor pruning leaves per origin.
*/
#define _GNU_SOURCE /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store_fixture.h"
#include "test_main.h"

/* --- seen ids ------------------------------------------------------------- */

static bool seen(fixture_t *fx, const char *origin, uint64_t seq)
{
    store_txn_t *txn = begin(fx, false);
    bool is_seen = false;
    assert_int_equal(store_seen_check(txn, origin, seq, &is_seen), LEDGER_OK);
    store_txn_abort(&txn);
    return is_seen;
}

static size_t prune_both(fixture_t *fx, uint64_t older_than_ms, uint64_t window, size_t max)
{
    store_txn_t *txn = begin(fx, true);
    size_t pruned = 99;
    assert_int_equal(store_seen_prune(txn, older_than_ms, window, max, &pruned), LEDGER_OK);
    commit(&txn);
    return pruned;
}

/* Prunes by age only (a window larger than any seq). */
static size_t prune(fixture_t *fx, uint64_t older_than_ms, size_t max)
{
    return prune_both(fx, older_than_ms, UINT64_MAX, max);
}

static uint64_t floor_of(fixture_t *fx, const char *origin)
{
    store_txn_t *txn = begin(fx, false);
    uint64_t f = 99;
    assert_int_equal(store_seen_floor(txn, origin, &f), LEDGER_OK);
    store_txn_abort(&txn);
    return f;
}

static void put_range(fixture_t *fx, const char *origin, uint64_t first, uint64_t last,
                      uint64_t at_ms)
{
    store_txn_t *txn = begin(fx, true);
    for (uint64_t seq = first; seq <= last; seq++)
        assert_int_equal(store_seen_put(txn, origin, seq, at_ms), LEDGER_OK);
    commit(&txn);
}

static void test_seen_ids_are_recorded_and_pruned_by_age(void **state)
{
    fixture_t *fx = *state;
    store_txn_t *txn = begin(fx, true);
    for (uint64_t seq = 1; seq <= 5; seq++)
        assert_int_equal(store_seen_put(txn, "accounts-1", seq, 100), LEDGER_OK);
    assert_int_equal(store_seen_put(txn, "accounts-1", 6, 1000), LEDGER_OK);
    for (uint64_t seq = 1; seq <= 3; seq++)
        assert_int_equal(store_seen_put(txn, "gateway", seq, 100), LEDGER_OK);
    /* Recording twice is fine and keeps the first time. */
    assert_int_equal(store_seen_put(txn, "gateway", 1, 9999), LEDGER_OK);
    commit(&txn);
    assert_true(seen(fx, "accounts-1", 1));
    assert_true(seen(fx, "gateway", 3));
    assert_false(seen(fx, "gateway", 4));
    assert_false(seen(fx, "accounts", 1));

    assert_int_equal(prune(fx, 500, 4), 4);
    assert_int_equal(prune(fx, 500, 100), 4);
    assert_int_equal(prune(fx, 500, 100), 0);
    assert_false(seen(fx, "accounts-1", 5));
    assert_false(seen(fx, "gateway", 1));
    assert_true(seen(fx, "accounts-1", 6));
    assert_int_equal(prune(fx, 1001, 100), 1);
    assert_int_equal(count_of(fx, STORE_DB_SEEN), 0);
}

static void test_seen_prune_stops_an_origin_at_its_first_young_id(void **state)
{
    fixture_t *fx = *state;
    store_txn_t *txn = begin(fx, true);
    /* seq 2 seen before seq 1 (out-of-order redelivery). */
    assert_int_equal(store_seen_put(txn, "fraud", 1, 1000), LEDGER_OK);
    assert_int_equal(store_seen_put(txn, "fraud", 2, 100), LEDGER_OK);
    assert_int_equal(store_seen_put(txn, "gateway", 1, 100), LEDGER_OK);
    commit(&txn);
    assert_int_equal(prune(fx, 500, 100), 1);
    assert_true(seen(fx, "fraud", 1));
    assert_true(seen(fx, "fraud", 2));
    assert_false(seen(fx, "gateway", 1));
    assert_int_equal(prune(fx, 2000, 100), 2);
}

static uint64_t high(fixture_t *fx, const char *origin)
{
    store_txn_t *txn = begin(fx, false);
    uint64_t h = 99;
    assert_int_equal(store_seen_high(txn, origin, &h), LEDGER_OK);
    store_txn_abort(&txn);
    return h;
}

static void test_seen_high_is_the_highest_seq_of_each_origin(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(high(fx, "fraud"), 0); /* empty table */
    store_txn_t *txn = begin(fx, true);
    /* Out of order, and origins that are prefixes of each other ("a" < "a-1" < "b"). */
    assert_int_equal(store_seen_put(txn, "fraud", 7, 100), LEDGER_OK);
    assert_int_equal(store_seen_put(txn, "fraud", 3, 100), LEDGER_OK);
    assert_int_equal(store_seen_put(txn, "fraud", 1ull << 40, 100), LEDGER_OK);
    assert_int_equal(store_seen_put(txn, "a", 5, 100), LEDGER_OK);
    assert_int_equal(store_seen_put(txn, "a-1", 2, 100), LEDGER_OK);
    assert_int_equal(store_seen_put(txn, "zzz", UINT64_MAX, 100), LEDGER_OK);
    commit(&txn);
    assert_int_equal(high(fx, "fraud"), 1ull << 40);
    assert_int_equal(high(fx, "a"), 5);
    assert_int_equal(high(fx, "a-1"), 2);
    assert_int_equal(high(fx, "zzz"), UINT64_MAX); /* the seek lands on the very key */
    assert_int_equal(high(fx, "gateway"), 0);      /* between two origins */
    assert_int_equal(high(fx, "0"), 0);            /* before the first */
    assert_int_equal(high(fx, "zzzz"), 0);         /* after the last */
}

static void test_seen_high_is_zero_once_an_origin_is_pruned(void **state)
{
    fixture_t *fx = *state;
    store_txn_t *txn = begin(fx, true);
    assert_int_equal(store_seen_put(txn, "fraud", 10, 100), LEDGER_OK);
    assert_int_equal(store_seen_put(txn, "fraud", 11, 100), LEDGER_OK);
    assert_int_equal(store_seen_put(txn, "gateway", 4, 1000), LEDGER_OK);
    commit(&txn);
    assert_int_equal(prune(fx, 500, 100), 2);
    assert_int_equal(high(fx, "fraud"), 0); /* silent past the retention: starts over */
    assert_int_equal(high(fx, "gateway"), 4);
    txn = begin(fx, false);
    uint64_t h;
    assert_int_equal(store_seen_high(txn, "", &h), LEDGER_E_INVALID);
    assert_int_equal(store_seen_high(txn, "fraud", NULL), LEDGER_E_INVALID);
    store_txn_abort(&txn);
}

static void test_bad_seen_origins_are_refused_as_invalid(void **state)
{
    fixture_t *fx = *state;
    const char *long_name = too_long_name();
    store_txn_t *txn = begin(fx, true);
    bool is_seen;
    assert_int_equal(store_seen_put(txn, "", 1, 0), LEDGER_E_INVALID);
    assert_int_equal(store_seen_put(txn, long_name, 1, 0), LEDGER_E_INVALID);
    assert_int_equal(store_seen_check(txn, NULL, 1, &is_seen), LEDGER_E_INVALID);
    assert_int_equal(store_seen_check(txn, "fraud", 1, NULL), LEDGER_E_INVALID);
    store_txn_abort(&txn);
}

static void test_seen_prune_keeps_a_window_of_ids_per_origin(void **state)
{
    fixture_t *fx = *state;
    put_range(fx, "fraud", 1, 100, 100);
    put_range(fx, "gateway", 1, 10, 100);
    /* Young ids all: only the window prunes. fraud keeps 80..100, gateway all ten. */
    assert_int_equal(prune_both(fx, 0, 20, 1000), 79);
    assert_false(seen(fx, "fraud", 79));
    assert_true(seen(fx, "fraud", 80));
    assert_true(seen(fx, "fraud", 100));
    assert_true(seen(fx, "gateway", 1));
    assert_int_equal(floor_of(fx, "fraud"), 79);
    assert_int_equal(floor_of(fx, "gateway"), 0);
    assert_int_equal(count_of(fx, STORE_DB_SEEN), 21 + 10);
    assert_int_equal(prune_both(fx, 0, 20, 1000), 0); /* nothing more is due */
    assert_int_equal(high(fx, "fraud"), 100);
}

static void test_seen_floor_rises_in_chunks_and_is_never_lowered(void **state)
{
    fixture_t *fx = *state;
    put_range(fx, "fraud", 1, 50, 100);
    assert_int_equal(prune_both(fx, 0, 10, 15), 15); /* a chunk: 1..15 */
    assert_int_equal(floor_of(fx, "fraud"), 15);
    assert_int_equal(prune_both(fx, 0, 10, 15), 15); /* 16..30 */
    assert_int_equal(prune_both(fx, 0, 10, 15), 9);  /* 31..39: 40..50 stay */
    assert_int_equal(floor_of(fx, "fraud"), 39);
    /* By age, everything goes: the highest reads 0, the floor keeps the last id. */
    assert_int_equal(prune(fx, 500, 100), 11);
    assert_int_equal(high(fx, "fraud"), 0);
    assert_int_equal(floor_of(fx, "fraud"), 50);
    /* Ids seen again later, lower than the floor (a peer that starts over): pruning them
       never lowers the floor. */
    put_range(fx, "fraud", 1, 3, 100);
    assert_int_equal(prune(fx, 500, 100), 3);
    assert_int_equal(floor_of(fx, "fraud"), 50);
}

static void test_a_seen_floor_of_an_unknown_or_bad_origin(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(floor_of(fx, "nobody"), 0);
    store_txn_t *txn = begin(fx, false);
    uint64_t f;
    assert_int_equal(store_seen_floor(txn, "", &f), LEDGER_E_INVALID);
    assert_int_equal(store_seen_floor(txn, too_long_name(), &f), LEDGER_E_INVALID);
    assert_int_equal(store_seen_floor(txn, "fraud", NULL), LEDGER_E_INVALID);
    store_txn_abort(&txn);
    /* Floors are the store's: a node cannot write one through store_put. */
    txn = begin(fx, true);
    uint8_t be[8] = {0};
    assert_int_equal(store_put(txn, STORE_DB_META, "store:seen_floor:fraud", 22, be, 8, 0),
                     LEDGER_E_INVALID);
    store_txn_abort(&txn);
}

static void test_the_floors_migration_counts_origins_and_writes_nothing(void **state)
{
    fixture_t *fx = *state;
    put_range(fx, "fraud", 1, 5, 100);
    put_range(fx, "gateway", 7, 9, 100);
    uint64_t meta = count_of(fx, STORE_DB_META);
    store_txn_t *txn = begin(fx, true);
    char note[64] = "";
    assert_int_equal(store_seen_migrate_floors(txn, NULL, note, sizeof note), LEDGER_OK);
    commit(&txn);
    assert_string_equal(note, "origins=2 floors=0");
    assert_int_equal(count_of(fx, STORE_DB_META), meta);
    assert_int_equal(count_of(fx, STORE_DB_SEEN), 8);
}

/*  Sustained load as node_upkeep.c sees it: each turn records a full batch
    (16,384 ids, NODE_BATCH_MAX_LIMIT) of two interleaved origins, then one
    prune of at most 16,384 ids runs. The table never holds more than the
    window plus the last batch, turn after turn. */
static void test_pruning_keeps_up_with_full_batches(void **state)
{
    fixture_t *fx = *state;
    const uint64_t window = 1000, batch = 16384;
    uint64_t seq = 0;
    for (int turn = 0; turn < 20; turn++) {
        store_txn_t *txn = begin(fx, true);
        for (uint64_t i = 0; i < batch; i++, seq++)
            assert_int_equal(store_seen_put(txn, seq % 2 ? "fraud" : "gateway", seq, 100),
                             LEDGER_OK);
        commit(&txn);
        prune_both(fx, 0, window, 16384);
        assert_true(count_of(fx, STORE_DB_SEEN) <= window + 2 + batch);
    }
    /* Once the load stops, a run or two more and each origin is at its window. */
    while (prune_both(fx, 0, window, 16384) > 0)
        ;
    assert_int_equal(count_of(fx, STORE_DB_SEEN), 2 * (window / 2 + 1));
    assert_int_equal(floor_of(fx, "fraud"), seq - 1 - window - 2);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

TEST_MAIN(T(test_seen_ids_are_recorded_and_pruned_by_age),
          T(test_seen_prune_stops_an_origin_at_its_first_young_id),
          T(test_seen_high_is_the_highest_seq_of_each_origin),
          T(test_seen_high_is_zero_once_an_origin_is_pruned),
          T(test_bad_seen_origins_are_refused_as_invalid),
          T(test_seen_prune_keeps_a_window_of_ids_per_origin),
          T(test_seen_floor_rises_in_chunks_and_is_never_lowered),
          T(test_a_seen_floor_of_an_unknown_or_bad_origin),
          T(test_the_floors_migration_counts_origins_and_writes_nothing),
          T(test_pruning_keeps_up_with_full_batches))

/*  node_seen_test.c: the far-ahead bound on a peer's ids (node_seen.c): the
    highest seq per origin comes from `seen`, moves with the ids a run
    accepts, and counts only once that run commits. Each origin is bounded
    by its own ids only. The floor pruning leaves is cached with the
    highest, counts as seen for the bound, and is read again after a prune
    (node_seen_init). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "node_seen.h"
#include "test_main.h"
#include "test_store.h"

/* Whether `seq` of `origin` is too far ahead, in a read of `store`. */
static bool too_far(node_seen_t *seen, store_t *store, const char *origin, uint64_t seq)
{
    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(store, false, &txn), LEDGER_OK);
    bool far = false;
    assert_int_equal(node_seen_ahead(seen, txn, origin, seq, &far, NULL), LEDGER_OK);
    store_txn_abort(&txn);
    return far;
}

static void put_seen(store_t *store, const char *origin, uint64_t seq)
{
    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(store, true, &txn), LEDGER_OK);
    assert_int_equal(store_seen_put(txn, origin, seq, 100), LEDGER_OK);
    assert_int_equal(store_txn_commit(&txn), LEDGER_OK);
}

static void test_an_origin_is_bounded_by_its_own_highest_id(void **state)
{
    test_store_t *t = *state;
    node_seen_t seen;
    node_seen_init(&seen);
    put_seen(t->store, "fraud", 10);
    node_seen_begin(&seen);
    assert_false(too_far(&seen, t->store, "fraud", 10 + NODE_SEEN_AHEAD_MAX));
    assert_true(too_far(&seen, t->store, "fraud", 10 + NODE_SEEN_AHEAD_MAX + 1));
    assert_false(too_far(&seen, t->store, "fraud", 3)); /* behind: for `seen` to judge */
    /* Another origin has no highest yet: anything goes, fraud's ids do not count. */
    assert_false(too_far(&seen, t->store, "accounts", 10 + NODE_SEEN_AHEAD_MAX + 1));
    assert_false(too_far(&seen, t->store, "accounts", UINT64_MAX));
    node_seen_end(&seen, true);
    /* Near the top of the range the bound does not wrap. */
    put_seen(t->store, "gateway", UINT64_MAX - 5);
    node_seen_begin(&seen);
    assert_false(too_far(&seen, t->store, "gateway", UINT64_MAX));
    node_seen_end(&seen, true);
}

static void test_accepted_ids_move_the_bound_only_when_their_run_commits(void **state)
{
    test_store_t *t = *state;
    node_seen_t seen;
    node_seen_init(&seen);
    put_seen(t->store, "fraud", 1);
    const uint64_t step = NODE_SEEN_AHEAD_MAX;

    /* A run accepts 1 + step: within the run, 1 + 2*step is now in reach. */
    node_seen_begin(&seen);
    assert_false(too_far(&seen, t->store, "fraud", 1 + step));
    node_seen_note(&seen, "fraud", 1 + step);
    assert_false(too_far(&seen, t->store, "fraud", 1 + 2 * step));
    node_seen_end(&seen, false); /* ... but the run is dropped */
    node_seen_begin(&seen);
    assert_true(too_far(&seen, t->store, "fraud", 1 + 2 * step));
    node_seen_note(&seen, "fraud", 1 + step);
    node_seen_end(&seen, true);
    node_seen_begin(&seen);
    assert_false(too_far(&seen, t->store, "fraud", 1 + 2 * step));
    node_seen_end(&seen, true);
}

static void test_a_highest_read_in_a_dropped_run_is_read_again(void **state)
{
    test_store_t *t = *state;
    node_seen_t seen;
    node_seen_init(&seen);
    /* Read inside a write transaction that recorded 5 + step, then dropped. */
    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(t->store, true, &txn), LEDGER_OK);
    assert_int_equal(store_seen_put(txn, "fraud", 5, 100), LEDGER_OK);
    node_seen_begin(&seen);
    bool far = true;
    assert_int_equal(node_seen_ahead(&seen, txn, "fraud", 6, &far, NULL), LEDGER_OK);
    assert_false(far);
    store_txn_abort(&txn);
    node_seen_end(&seen, false);
    /* Nothing of fraud is committed: no highest, anything goes. */
    node_seen_begin(&seen);
    assert_false(too_far(&seen, t->store, "fraud", 6 + NODE_SEEN_AHEAD_MAX));
    node_seen_end(&seen, true);
}

static void test_more_origins_than_slots_are_read_again_from_the_store(void **state)
{
    test_store_t *t = *state;
    node_seen_t seen;
    node_seen_init(&seen);
    char origin[16];
    for (int i = 0; i < 2 * NODE_SEEN_ORIGINS_MAX; i++) {
        snprintf(origin, sizeof origin, "n%d", i);
        put_seen(t->store, origin, 7);
    }
    for (int round = 0; round < 2; round++) {
        node_seen_begin(&seen);
        for (int i = 0; i < 2 * NODE_SEEN_ORIGINS_MAX; i++) {
            snprintf(origin, sizeof origin, "n%d", i);
            assert_false(too_far(&seen, t->store, origin, 7 + NODE_SEEN_AHEAD_MAX));
            assert_true(too_far(&seen, t->store, origin, 8 + NODE_SEEN_AHEAD_MAX));
        }
        node_seen_end(&seen, true);
    }
}

static void prune_all_older_than(store_t *store, uint64_t older_than_ms)
{
    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(store, true, &txn), LEDGER_OK);
    assert_int_equal(store_seen_prune(txn, older_than_ms, UINT64_MAX, 1000, NULL), LEDGER_OK);
    assert_int_equal(store_txn_commit(&txn), LEDGER_OK);
}

static void test_the_floor_is_cached_and_counts_as_seen_for_the_bound(void **state)
{
    test_store_t *t = *state;
    node_seen_t seen;
    node_seen_init(&seen);
    put_seen(t->store, "fraud", 40); /* put_seen records at 100 ms */
    node_seen_begin(&seen);
    assert_false(too_far(&seen, t->store, "fraud", 41));
    assert_int_equal(node_seen_floor(&seen, "fraud"), 0);
    node_seen_end(&seen, true);
    /* Pruned by age: no id left, the floor is 40. */
    prune_all_older_than(t->store, 500);
    node_seen_init(&seen); /* as node_upkeep.c does after a prune */
    node_seen_begin(&seen);
    assert_true(too_far(&seen, t->store, "fraud", 41 + NODE_SEEN_AHEAD_MAX));
    assert_false(too_far(&seen, t->store, "fraud", 40 + NODE_SEEN_AHEAD_MAX));
    assert_int_equal(node_seen_floor(&seen, "fraud"), 40);
    assert_int_equal(node_seen_floor(&seen, "accounts"), 0); /* not read: none known */
    node_seen_end(&seen, true);
}

#define T(name) cmocka_unit_test_setup_teardown(name, test_store_setup, test_store_teardown)

TEST_MAIN(T(test_an_origin_is_bounded_by_its_own_highest_id),
          T(test_accepted_ids_move_the_bound_only_when_their_run_commits),
          T(test_a_highest_read_in_a_dropped_run_is_read_again),
          T(test_more_origins_than_slots_are_read_again_from_the_store),
          T(test_the_floor_is_cached_and_counts_as_seen_for_the_bound))

/*  store_seq_test.c: named sequences (store_seq.c): counting from one,
    persisting across a reopen, and the counters a write transaction keeps
    in memory until it commits.
*/
#define _GNU_SOURCE /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store_fixture.h"
#include "test_main.h"

/* --- named sequences ------------------------------------------------------ */

/* Peeks at / takes the next value of sequence `name` and asserts it is `want`. */
static void expect_peek(store_txn_t *txn, const char *name, uint64_t want)
{
    uint64_t value = 0;
    assert_int_equal(store_seq_peek(txn, name, &value), LEDGER_OK);
    assert_int_equal(value, want);
}

static void expect_next(store_txn_t *txn, const char *name, uint64_t want)
{
    uint64_t value = 0;
    assert_int_equal(store_seq_next(txn, name, &value), LEDGER_OK);
    assert_int_equal(value, want);
}

static void test_seq_next_counts_from_one_and_persists_across_reopen(void **state)
{
    fixture_t *fx = *state;
    store_txn_t *txn = begin(fx, true);
    expect_peek(txn, "transfers", 0);
    for (uint64_t expected = 1; expected <= 3; expected++)
        expect_next(txn, "transfers", expected);
    expect_next(txn, "messages", 1);
    commit(&txn);

    reopen(fx, NULL);
    txn = begin(fx, true);
    expect_peek(txn, "transfers", 3);
    expect_next(txn, "transfers", 4);
    commit(&txn);
}

/* The named sequence's value as a new read transaction sees it (asserts the peek works). */
static uint64_t committed_seq(fixture_t *fx, const char *name)
{
    uint64_t value = 0;
    store_txn_t *reader = begin(fx, false);
    assert_int_equal(store_seq_peek(reader, name, &value), LEDGER_OK);
    store_txn_abort(&reader);
    return value;
}

/*  A write transaction keeps the counters it bumps in memory and writes them
    back when it commits (store_seq.c, txn_counter): what an abort, a reader
    and more names than it keeps in memory must see. */
static void test_seq_values_are_kept_only_when_their_transaction_commits(void **state)
{
    fixture_t *fx = *state;
    store_txn_t *txn = begin(fx, true);
    expect_next(txn, "a", 1);
    expect_next(txn, "a", 2);
    expect_peek(txn, "a", 2);
    store_txn_abort(&txn);

    txn = begin(fx, true);
    expect_peek(txn, "a", 0);
    expect_next(txn, "a", 1);
    commit(&txn);
    assert_int_equal(committed_seq(fx, "a"), 1);
    reopen(fx, NULL);
    assert_int_equal(committed_seq(fx, "a"), 1);
}

static void test_seq_more_names_than_kept_in_memory_all_count(void **state)
{
    fixture_t *fx = *state;
    enum { NAMES = 12 }; /* above what a transaction keeps in memory */
    char names[NAMES][8];
    for (int round = 1; round <= 2; round++) {
        store_txn_t *txn = begin(fx, true);
        for (int i = 0; i < NAMES; i++) {
            snprintf(names[i], sizeof names[i], "n%d", i);
            uint64_t value = 0;
            for (int k = 1; k <= 3; k++) {
                assert_int_equal(store_seq_next(txn, names[i], &value), LEDGER_OK);
                assert_int_equal(value, (uint64_t)((round - 1) * 3 + k));
            }
        }
        commit(&txn);
    }
    reopen(fx, NULL);
    for (int i = 0; i < NAMES; i++)
        assert_int_equal(committed_seq(fx, names[i]), 6);
}

static void test_bad_sequence_names_are_refused_as_invalid(void **state)
{
    fixture_t *fx = *state;
    const char *long_name = too_long_name();
    store_txn_t *txn = begin(fx, true);
    uint64_t value;
    assert_int_equal(store_seq_next(txn, "", &value), LEDGER_E_INVALID);
    assert_int_equal(store_seq_next(txn, NULL, &value), LEDGER_E_INVALID);
    assert_int_equal(store_seq_next(txn, long_name, &value), LEDGER_E_INVALID);
    store_txn_abort(&txn);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

TEST_MAIN(T(test_seq_next_counts_from_one_and_persists_across_reopen),
          T(test_seq_values_are_kept_only_when_their_transaction_commits),
          T(test_seq_more_names_than_kept_in_memory_all_count),
          T(test_bad_sequence_names_are_refused_as_invalid))

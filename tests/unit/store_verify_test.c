/*  store_verify_test.c: the ledger's verify walk (store_verify.c): balances
    recomputed per account, and the first bad entry reported for a flipped
    byte, a missing entry and a fork of an account's chain (with raw LMDB
    writes behind the store's back).
*/
#define _GNU_SOURCE /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store_fixture.h"
#include "test_main.h"

/* --- ledger verify -------------------------------------------------------- */

typedef struct {
    int calls;
    int64_t alice_balance, alice_held, bob_balance, bob_held;
    uint64_t alice_last, bob_last;
} balances_t;

static void collect_balance(const char *account, int64_t balance_minor, int64_t held_minor,
                            uint64_t last_seq, void *ctx)
{
    balances_t *balances = ctx;
    balances->calls++;
    if (!strcmp(account, "alice")) {
        balances->alice_balance = balance_minor;
        balances->alice_held = held_minor;
        balances->alice_last = last_seq;
    } else if (!strcmp(account, "bob")) {
        balances->bob_balance = balance_minor;
        balances->bob_held = held_minor;
        balances->bob_last = last_seq;
    }
}

/* verify finds the ledger broken at `seq`, with `problem` in its text. */
static void expect_verify_fails_at(fixture_t *fx, uint64_t seq, const char *problem)
{
    store_ledger_report_t report = verify(fx);
    assert_false(report.ok);
    assert_int_equal(report.first_bad_seq, seq);
    assert_non_null(strstr(report.problem, problem));
}

static void test_ledger_verify_passes_and_recomputes_balances(void **state)
{
    fixture_t *fx = *state;
    sums_t alice = {0, 0, 0}, bob = {0, 0, 0};
    append_sample_ledger(fx, &alice, &bob);
    store_txn_t *txn = begin(fx, true);
    append(txn, "bob", "t-2", "hold", 0, 700, &bob);
    commit(&txn);

    txn = begin(fx, false);
    balances_t balances = {0};
    store_ledger_report_t report;
    assert_int_equal(store_ledger_verify(txn, collect_balance, &balances, &report), LEDGER_OK);
    store_txn_abort(&txn);
    assert_true(report.ok);
    assert_int_equal(report.entries, 7);
    assert_int_equal(report.first_bad_seq, 0);
    assert_true(report.balance_sum_minor == 10000 + 500);
    assert_int_equal(balances.calls, 2);
    assert_true(balances.alice_balance == 7500 && balances.alice_held == 0);
    assert_true(balances.bob_balance == 3000 && balances.bob_held == 700);
    assert_true(balances.alice_balance == alice.balance_minor);
    assert_int_equal(balances.alice_last, alice.last_seq);
    assert_int_equal(balances.bob_last, 7);
}

static void test_ledger_verify_on_an_empty_ledger_is_ok(void **state)
{
    fixture_t *fx = *state;
    store_ledger_report_t report = verify(fx);
    assert_true(report.ok);
    assert_int_equal(report.entries, 0);
}

static void test_ledger_verify_reports_the_first_tampered_entry_for_every_byte(void **state)
{
    fixture_t *fx = *state;
    const uint64_t tampered_seq = 4;
    sums_t alice = {0, 0, 0}, bob = {0, 0, 0};
    append_sample_ledger(fx, &alice, &bob);
    store_destroy(&fx->store);
    size_t size = raw_value_size(fx->dir, "ledger", tampered_seq);
    for (size_t offset = 0; offset < size; offset++) {
        raw_edit(fx->dir, "ledger", tampered_seq, RAW_FLIP_BYTE, offset, NULL, 0);
        assert_int_equal(store_open(fx->dir, NULL, &fx->store), LEDGER_OK);
        store_ledger_report_t report = verify(fx);
        if (report.ok || report.first_bad_seq != tampered_seq)
            fail_msg("flipping byte %zu of entry %llu: ok=%d first_bad_seq=%llu", offset,
                     (unsigned long long)tampered_seq, report.ok,
                     (unsigned long long)report.first_bad_seq);
        assert_true(strlen(report.problem) > 0);
        store_destroy(&fx->store);
        raw_edit(fx->dir, "ledger", tampered_seq, RAW_FLIP_BYTE, offset, NULL, 0);
    }
    assert_int_equal(store_open(fx->dir, NULL, &fx->store), LEDGER_OK);
    assert_true(verify(fx).ok);
}

static void test_ledger_verify_reports_a_missing_entry_as_a_gap(void **state)
{
    fixture_t *fx = *state;
    sums_t alice = {0, 0, 0}, bob = {0, 0, 0};
    append_sample_ledger(fx, &alice, &bob);
    store_destroy(&fx->store);
    raw_edit(fx->dir, "ledger", 3, RAW_DELETE, 0, NULL, 0);
    assert_int_equal(store_open(fx->dir, NULL, &fx->store), LEDGER_OK);
    expect_verify_fails_at(fx, 4, "contiguous");
}

static void test_ledger_verify_reports_a_fork_of_an_accounts_chain(void **state)
{
    fixture_t *fx = *state;
    sums_t alice = {0, 0, 0}, bob = {0, 0, 0};
    append_sample_ledger(fx, &alice, &bob); /* alice 1, 3, 4, 5 */
    /* An entry chained onto alice's first entry instead of her newest: append cannot
       know (the caller keeps the newest), its sums continue entry 1, verify finds it. */
    store_txn_t *txn = begin(fx, true);
    sums_t stale = {10000, 0, 1};
    append(txn, "alice", "t-9", "credit", 1, 0, &stale);
    commit(&txn);
    expect_verify_fails_at(fx, 7, "account_prev_seq 1");
}

static void test_verify_without_a_report_is_refused_as_invalid(void **state)
{
    fixture_t *fx = *state;
    store_txn_t *txn = begin(fx, true);
    assert_int_equal(store_ledger_verify(txn, NULL, NULL, NULL), LEDGER_E_INVALID);
    store_txn_abort(&txn);
}

/* --- the chunked walk (store_ledger_walk_*) ------------------------------ */

/*  The walk in steps of `chunk` entries, each in a read transaction of its own, finished in
    the last one; *steps_out (may be NULL) gets how many steps it took. */
static store_ledger_report_t verify_in_chunks(fixture_t *fx, uint64_t chunk, balances_t *balances,
                                              int *steps_out)
{
    store_ledger_walk_t *walk = NULL;
    assert_int_equal(store_ledger_walk_new(&walk), LEDGER_OK);
    store_ledger_report_t report;
    bool done = false;
    int steps = 0;
    while (!done) {
        store_txn_t *txn = begin(fx, false);
        assert_int_equal(store_ledger_walk_step(walk, txn, chunk, &done), LEDGER_OK);
        steps++;
        if (done)
            assert_int_equal(store_ledger_walk_finish(walk, balances ? collect_balance : NULL,
                                                      balances, &report),
                             LEDGER_OK);
        store_txn_abort(&txn);
    }
    store_ledger_walk_destroy(&walk);
    assert_null(walk);
    if (steps_out)
        *steps_out = steps;
    return report;
}

static void test_a_walk_in_chunks_reports_what_one_walk_does(void **state)
{
    fixture_t *fx = *state;
    sums_t alice = {0, 0, 0}, bob = {0, 0, 0};
    append_sample_ledger(fx, &alice, &bob);
    store_txn_t *txn = begin(fx, false);
    balances_t whole = {0};
    store_ledger_report_t one;
    assert_int_equal(store_ledger_verify(txn, collect_balance, &whole, &one), LEDGER_OK);
    store_txn_abort(&txn);
    for (uint64_t chunk = 1; chunk <= 7; chunk++) {
        balances_t parts = {0};
        int steps = 0;
        store_ledger_report_t chunked = verify_in_chunks(fx, chunk, &parts, &steps);
        assert_memory_equal(&chunked, &one, sizeof one);
        assert_memory_equal(&parts, &whole, sizeof whole);
        assert_int_equal(steps, (6 + chunk - 1) / chunk); /* the last step sees the end */
    }
}

static void test_a_walk_in_chunks_finds_a_broken_chain_in_a_later_chunk(void **state)
{
    fixture_t *fx = *state;
    sums_t alice = {0, 0, 0}, bob = {0, 0, 0};
    append_sample_ledger(fx, &alice, &bob);
    store_destroy(&fx->store);
    raw_edit(fx->dir, "ledger", 5, RAW_FLIP_BYTE, 20, NULL, 0);
    assert_int_equal(store_open(fx->dir, NULL, &fx->store), LEDGER_OK);
    store_ledger_report_t one = verify(fx);
    assert_false(one.ok);
    assert_int_equal(one.first_bad_seq, 5);
    int steps = 0;
    store_ledger_report_t chunked = verify_in_chunks(fx, 2, NULL, &steps);
    assert_memory_equal(&chunked, &one, sizeof one);
    assert_int_equal(steps, 3); /* 1-2, 3-4, then 5: bad, done */
}

static void test_a_walk_in_chunks_takes_in_entries_appended_between_steps(void **state)
{
    fixture_t *fx = *state;
    sums_t alice = {0, 0, 0}, bob = {0, 0, 0};
    append_sample_ledger(fx, &alice, &bob);
    store_ledger_walk_t *walk = NULL;
    assert_int_equal(store_ledger_walk_new(&walk), LEDGER_OK);
    bool done = true;
    store_txn_t *txn = begin(fx, false);
    assert_int_equal(store_ledger_walk_step(walk, txn, 4, &done), LEDGER_OK);
    store_txn_abort(&txn);
    assert_false(done);
    txn = begin(fx, true);
    append(txn, "bob", "t-2", "hold", 0, 700, &bob); /* entry 7, while the walk waits */
    commit(&txn);
    txn = begin(fx, false);
    assert_int_equal(store_ledger_walk_step(walk, txn, 4, &done), LEDGER_OK);
    assert_true(done);
    store_ledger_report_t report;
    assert_int_equal(store_ledger_walk_finish(walk, NULL, NULL, &report), LEDGER_OK);
    store_txn_abort(&txn);
    store_ledger_walk_destroy(&walk);
    assert_true(report.ok);
    assert_int_equal(report.entries, 7);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

TEST_MAIN(T(test_ledger_verify_passes_and_recomputes_balances),
          T(test_ledger_verify_on_an_empty_ledger_is_ok),
          T(test_ledger_verify_reports_the_first_tampered_entry_for_every_byte),
          T(test_ledger_verify_reports_a_missing_entry_as_a_gap),
          T(test_ledger_verify_reports_a_fork_of_an_accounts_chain),
          T(test_verify_without_a_report_is_refused_as_invalid),
          T(test_a_walk_in_chunks_reports_what_one_walk_does),
          T(test_a_walk_in_chunks_finds_a_broken_chain_in_a_later_chunk),
          T(test_a_walk_in_chunks_takes_in_entries_appended_between_steps))

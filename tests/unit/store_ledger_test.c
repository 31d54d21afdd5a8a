/*  store_ledger_test.c: the hash-chained ledger (store_ledger.c): contiguous
    hash-chained seqs, appends that chain within a transaction, running sums
    checked on append, and each account's chain paged newest first.
*/
#define _GNU_SOURCE /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store_fixture.h"
#include "test_main.h"

/* --- ledger --------------------------------------------------------------- */

static void test_ledger_seqs_are_contiguous_and_hash_chained(void **state)
{
    fixture_t *fx = *state;
    sums_t alice = {0, 0, 0}, bob = {0, 0, 0};
    append_sample_ledger(fx, &alice, &bob);
    store_txn_t *txn = begin(fx, true);
    assert_int_equal(append(txn, "bob", "t-2", "hold", 0, 100, &bob), 7);
    commit(&txn);

    txn = begin(fx, false);
    uint64_t last = 0;
    assert_int_equal(store_ledger_last_seq(txn, &last), LEDGER_OK);
    assert_int_equal(last, 7);
    uint8_t prev_hash[STORE_HASH_SIZE] = {0};
    for (uint64_t seq = 1; seq <= last; seq++) {
        store_ledger_entry_t entry;
        assert_int_equal(store_ledger_get(txn, seq, &entry), LEDGER_OK);
        assert_int_equal(entry.seq, seq);
        assert_memory_equal(entry.prev_hash, prev_hash, STORE_HASH_SIZE);
        memcpy(prev_hash, entry.hash, STORE_HASH_SIZE);
    }
    store_ledger_entry_t entry;
    assert_int_equal(store_ledger_get(txn, 8, &entry), LEDGER_E_NOT_FOUND);
    assert_int_equal(store_ledger_get(txn, 2, &entry), LEDGER_OK);
    assert_string_equal(entry.account, "bob");
    assert_string_equal(entry.kind, "open");
    assert_string_equal(entry.transfer, "");
    assert_true(entry.balance_delta_minor == 500 && entry.balance_after_minor == 500);
    store_txn_abort(&txn);
}

/*  Appends in one transaction chain onto each other without reading the
    ledger back (store_ledger.c, ledger_tip); an aborted transaction's
    entries must not leave a stale tip behind. */
static void test_ledger_chain_holds_across_an_aborted_transaction(void **state)
{
    fixture_t *fx = *state;
    sums_t alice = {0, 0, 0}, bob = {0, 0, 0};
    append_sample_ledger(fx, &alice, &bob); /* seqs 1..6 */

    store_txn_t *txn = begin(fx, true);
    sums_t alice_aborted = alice;
    assert_int_equal(append(txn, "alice", "t-x", "hold", 0, 10, &alice_aborted), 7);
    assert_int_equal(append(txn, "alice", "t-x", "release", 0, -10, &alice_aborted), 8);
    store_txn_abort(&txn);

    txn = begin(fx, true);
    assert_int_equal(append(txn, "bob", "t-2", "hold", 0, 100, &bob), 7);
    assert_int_equal(append(txn, "bob", "t-2", "release", 0, -100, &bob), 8);
    assert_int_equal(append(txn, "alice", "t-3", "hold", 0, 7, &alice), 9);
    assert_int_equal(append(txn, "alice", "t-3", "release", 0, -7, &alice), 10);
    commit(&txn);

    store_ledger_report_t report = verify(fx);
    assert_true(report.ok);
    assert_int_equal(report.entries, 10);
}

static void test_ledger_append_refuses_after_values_that_break_running_sums(void **state)
{
    fixture_t *fx = *state;
    store_txn_t *txn = begin(fx, true);
    sums_t alice = {0, 0, 0};
    append(txn, "alice", "", "open", 1000, 0, &alice);
    store_ledger_entry_t entry;
    memset(&entry, 0, sizeof entry);
    strcpy(entry.account, "alice");
    strcpy(entry.kind, "debit");
    entry.balance_delta_minor = -100;
    entry.balance_after_minor = 1000; /* should be 900 */
    entry.account_prev_seq = alice.last_seq;
    assert_int_equal(store_ledger_append(txn, &entry), LEDGER_E_INVALID);
    entry.account_prev_seq = 0; /* as if it were alice's first entry: -100, not 900 */
    entry.balance_after_minor = 900;
    assert_int_equal(store_ledger_append(txn, &entry), LEDGER_E_INVALID);
    entry.account_prev_seq = 7; /* no such entry */
    assert_int_equal(store_ledger_append(txn, &entry), LEDGER_E_INVALID);
    entry.account_prev_seq = alice.last_seq;
    assert_int_equal(store_ledger_append(txn, &entry), LEDGER_OK);
    assert_int_equal(entry.seq, 2);
    assert_int_equal(entry.account_prev_seq, 1);

    memset(&entry, 0, sizeof entry);
    strcpy(entry.account, "bob");
    strcpy(entry.kind, "open");
    entry.balance_delta_minor = INT64_MAX - 900; /* the sum of all balances just fits */
    entry.balance_after_minor = INT64_MAX - 900;
    assert_int_equal(store_ledger_append(txn, &entry), LEDGER_OK);
    entry.balance_delta_minor = 901;
    entry.account_prev_seq = 3;
    assert_int_equal(store_ledger_append(txn, &entry), LEDGER_E_OVERFLOW);
    /* bob's entry 3 is not one of alice's. */
    memset(&entry, 0, sizeof entry);
    strcpy(entry.account, "alice");
    strcpy(entry.kind, "credit");
    entry.account_prev_seq = 3;
    entry.balance_delta_minor = 1;
    entry.balance_after_minor = INT64_MAX - 899;
    assert_int_equal(store_ledger_append(txn, &entry), LEDGER_E_INVALID);
    commit(&txn);
    assert_true(verify(fx).ok);
}

static void test_ledger_by_account_pages_newest_first(void **state)
{
    fixture_t *fx = *state;
    store_txn_t *txn = begin(fx, true);
    sums_t a = {0, 0, 0}, ab = {0, 0, 0};
    for (int i = 0; i < 5; i++) {
        append(txn, "A", "", "credit", 10, 0, &a);   /* seqs 1, 3, 5, 7, 9 */
        append(txn, "AB", "", "credit", 20, 0, &ab); /* seqs 2, 4, 6, 8, 10 */
    }
    commit(&txn);

    txn = begin(fx, false);
    store_ledger_entry_t page[4];
    size_t count = 99;
    assert_int_equal(store_ledger_by_account(txn, "A", a.last_seq, 0, page, 2, &count), LEDGER_OK);
    assert_int_equal(count, 2);
    assert_true(page[0].seq == 9 && page[1].seq == 7);
    assert_true(page[0].balance_after_minor == 50);
    assert_int_equal(store_ledger_by_account(txn, "A", a.last_seq, 7, page, 2, &count), LEDGER_OK);
    assert_int_equal(count, 2);
    assert_true(page[0].seq == 5 && page[1].seq == 3);
    assert_int_equal(store_ledger_by_account(txn, "A", a.last_seq, 3, page, 2, &count), LEDGER_OK);
    assert_int_equal(count, 1);
    assert_int_equal(page[0].seq, 1);
    assert_int_equal(store_ledger_by_account(txn, "A", a.last_seq, 1, page, 2, &count), LEDGER_OK);
    assert_int_equal(count, 0);
    assert_int_equal(store_ledger_by_account(txn, "AB", ab.last_seq, 0, page, 4, &count),
                     LEDGER_OK);
    assert_int_equal(count, 4);
    assert_true(page[0].seq == 10 && page[3].seq == 4);
    assert_string_equal(page[3].account, "AB");
    assert_int_equal(store_ledger_by_account(txn, "nobody", 0, 0, page, 4, &count), LEDGER_OK);
    assert_int_equal(count, 0);
    /* A newest_seq that is another account's entry is a broken chain. */
    assert_int_equal(store_ledger_by_account(txn, "A", ab.last_seq, 0, page, 4, &count),
                     LEDGER_E_CORRUPT);
    store_txn_abort(&txn);
}

static void test_ledger_entries_chain_each_account_and_cursors_belong_to_it(void **state)
{
    fixture_t *fx = *state;
    sums_t alice = {0, 0, 0}, bob = {0, 0, 0};
    append_sample_ledger(fx, &alice, &bob); /* alice 1, 3, 4, 5; bob 2, 6 */
    store_txn_t *txn = begin(fx, false);
    const uint64_t expected_prev[] = {0, 0, 0, 1, 3, 4, 2};
    for (uint64_t seq = 1; seq <= 6; seq++) {
        store_ledger_entry_t entry;
        assert_int_equal(store_ledger_get(txn, seq, &entry), LEDGER_OK);
        assert_int_equal(entry.account_prev_seq, expected_prev[seq]);
    }
    store_ledger_entry_t page[4];
    size_t count = 99;
    /* A cursor must be one of the account's own entries. */
    assert_int_equal(store_ledger_by_account(txn, "alice", alice.last_seq, 6, page, 4, &count),
                     LEDGER_E_NOT_FOUND);
    assert_int_equal(store_ledger_by_account(txn, "alice", alice.last_seq, 99, page, 4, &count),
                     LEDGER_E_NOT_FOUND);
    assert_int_equal(count, 99);
    assert_int_equal(store_ledger_by_account(txn, "alice", alice.last_seq, 4, page, 4, &count),
                     LEDGER_OK);
    assert_int_equal(count, 2);
    assert_true(page[0].seq == 3 && page[1].seq == 1);
    store_txn_abort(&txn);
}

static void test_bad_ledger_entries_are_refused_as_invalid(void **state)
{
    fixture_t *fx = *state;
    const char *long_name = too_long_name();
    store_txn_t *txn = begin(fx, true);
    size_t count;
    store_ledger_entry_t ledger;
    memset(&ledger, 0, sizeof ledger);
    strcpy(ledger.kind, "open");
    assert_int_equal(store_ledger_append(txn, &ledger), LEDGER_E_INVALID); /* empty account */
    memset(ledger.account, 'a', sizeof ledger.account);                    /* unterminated */
    assert_int_equal(store_ledger_append(txn, &ledger), LEDGER_E_INVALID);
    strcpy(ledger.account, "alice");
    memset(ledger.kind, 'k', sizeof ledger.kind);
    assert_int_equal(store_ledger_append(txn, &ledger), LEDGER_E_INVALID);
    ledger.kind[0] = '\0';
    assert_int_equal(store_ledger_append(txn, &ledger), LEDGER_E_INVALID);
    assert_int_equal(store_ledger_append(txn, NULL), LEDGER_E_INVALID);
    assert_int_equal(store_ledger_by_account(txn, long_name, 0, 0, &ledger, 1, &count),
                     LEDGER_E_INVALID);
    store_txn_abort(&txn);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

TEST_MAIN(T(test_ledger_seqs_are_contiguous_and_hash_chained),
          T(test_ledger_chain_holds_across_an_aborted_transaction),
          T(test_ledger_append_refuses_after_values_that_break_running_sums),
          T(test_ledger_by_account_pages_newest_first),
          T(test_ledger_entries_chain_each_account_and_cursors_belong_to_it),
          T(test_bad_ledger_entries_are_refused_as_invalid))

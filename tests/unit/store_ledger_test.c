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

/* The byte at `offset` of ledger record `seq`, read straight from LMDB. */
static void raw_read_byte(const char *dir, uint64_t seq, size_t offset, uint8_t *out)
{
    MDB_env *env;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 32), 0);
    assert_int_equal(mdb_env_open(env, dir, MDB_RDONLY, 0600), 0);
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    MDB_dbi dbi;
    assert_int_equal(mdb_dbi_open(txn, "ledger", 0, &dbi), 0);
    uint8_t key[8];
    store_be64_put(key, seq);
    MDB_val k = {sizeof key, key}, v;
    assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
    assert_true(offset < v.mv_size);
    *out = ((const uint8_t *)v.mv_data)[offset];
    mdb_txn_abort(txn);
    mdb_env_close(env);
}

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

/* --- memo and time (issue 21) ----------------------------------------------- */

/* Appends a zero-amount entry for `account` with `memo` at ts_ms; returns the stored entry. */
static store_ledger_entry_t append_audit(store_txn_t *txn, const char *account, const char *memo,
                                         uint64_t ts_ms, sums_t *sums)
{
    store_ledger_entry_t entry;
    memset(&entry, 0, sizeof entry);
    snprintf(entry.account, sizeof entry.account, "%s", account);
    snprintf(entry.kind, sizeof entry.kind, "status");
    snprintf(entry.memo, sizeof entry.memo, "%s", memo);
    entry.account_prev_seq = sums->last_seq;
    entry.balance_after_minor = sums->balance_minor;
    entry.held_after_minor = sums->held_minor;
    entry.ts_ms = ts_ms;
    assert_int_equal(store_ledger_append(txn, &entry), LEDGER_OK);
    sums->last_seq = entry.seq;
    return entry;
}

static void test_a_memo_is_stored_as_version_3_and_hashed_money_entries_stay_version_2(void **state)
{
    fixture_t *fx = *state;
    sums_t alice = {0, 0, 0}, bob = {0, 0, 0};
    append_sample_ledger(fx, &alice, &bob); /* seqs 1..6, no memo */
    size_t v2_size = raw_value_size(fx->dir, "ledger", 6);
    store_txn_t *txn = begin(fx, true);
    append_audit(txn, "alice", "ops: active -> frozen", 1700000000001u, &alice); /* 7 */
    append(txn, "bob", "t-2", "hold", 0, 10, &bob);                              /* 8 */
    commit(&txn);
    assert_true(verify(fx).ok);

    txn = begin(fx, false);
    store_ledger_entry_t e;
    assert_int_equal(store_ledger_get(txn, 7, &e), LEDGER_OK);
    assert_string_equal(e.memo, "ops: active -> frozen");
    assert_int_equal(store_ledger_get(txn, 8, &e), LEDGER_OK);
    assert_string_equal(e.memo, "");
    store_txn_abort(&txn);
    uint8_t version = 0;
    raw_read_byte(fx->dir, 7, 0, &version);
    assert_int_equal(version, 3);
    raw_read_byte(fx->dir, 8, 0, &version);
    assert_int_equal(version, 2);
    /* entry 7 is entry 6 with other texts ("alice", "", "status" for "bob", "t-1", "credit")
       plus the memo's length byte and bytes */
    assert_int_equal(raw_value_size(fx->dir, "ledger", 7), v2_size - strlen("bobt-1credit") +
                                                               strlen("alicestatus") + 1 +
                                                               strlen("ops: active -> frozen"));

    /* the memo is in the hash: one changed letter breaks the chain at that entry */
    size_t memo_last = raw_value_size(fx->dir, "ledger", 7) - 2 * STORE_HASH_SIZE - 1;
    raw_edit(fx->dir, "ledger", 7, RAW_FLIP_BYTE, memo_last, NULL, 0);
    store_ledger_report_t report = verify(fx);
    assert_false(report.ok);
    assert_int_equal(report.first_bad_seq, 7);
}

static void test_a_memo_over_its_limit_is_refused(void **state)
{
    fixture_t *fx = *state;
    store_txn_t *txn = begin(fx, true);
    store_ledger_entry_t entry;
    memset(&entry, 0, sizeof entry);
    snprintf(entry.account, sizeof entry.account, "alice");
    snprintf(entry.kind, sizeof entry.kind, "status");
    memset(entry.memo, 'm', sizeof entry.memo); /* no terminator within STORE_MEMO_MAX */
    assert_int_equal(store_ledger_append(txn, &entry), LEDGER_E_INVALID);
    memset(entry.memo, 0, sizeof entry.memo);
    memset(entry.memo, 'm', STORE_MEMO_MAX);
    assert_int_equal(store_ledger_append(txn, &entry), LEDGER_OK);
    assert_int_equal(store_ledger_get(txn, 1, &entry), LEDGER_OK);
    assert_int_equal(strlen(entry.memo), STORE_MEMO_MAX);
    commit(&txn);
    assert_true(verify(fx).ok);
}

static void test_ts_never_goes_down_and_the_ledger_is_searched_by_time(void **state)
{
    fixture_t *fx = *state;
    sums_t alice = {0, 0, 0};
    store_txn_t *txn = begin(fx, true);
    uint64_t seq_at = 99;
    assert_int_equal(store_ledger_seq_at(txn, UINT64_MAX, &seq_at), LEDGER_OK);
    assert_int_equal(seq_at, 0);                                 /* empty ledger */
    static const uint64_t ts[] = {100, 200, 150, 300, 300, 400}; /* the clock stepped back once */
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(append_audit(txn, "alice", "m", ts[i], &alice).ts_ms,
                         i == 2 ? 200 : ts[i]);
    commit(&txn);
    /* the clamp holds across transactions too (the tip is read back from the ledger) */
    txn = begin(fx, true);
    assert_int_equal(append_audit(txn, "alice", "m", 50, &alice).ts_ms, 400);
    commit(&txn);

    txn = begin(fx, false);
    static const struct {
        uint64_t at_ms, seq;
    } want[] = {{0, 0},   {99, 0},  {100, 1}, {199, 1}, {200, 3},
                {299, 3}, {300, 5}, {399, 5}, {400, 7}, {UINT64_MAX, 7}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_int_equal(store_ledger_seq_at(txn, want[i].at_ms, &seq_at), LEDGER_OK);
        assert_int_equal(seq_at, want[i].seq);
    }
    assert_int_equal(store_ledger_seq_at(txn, 1, NULL), LEDGER_E_INVALID);
    store_txn_abort(&txn);
    assert_true(verify(fx).ok);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

TEST_MAIN(T(test_ledger_seqs_are_contiguous_and_hash_chained),
          T(test_ledger_chain_holds_across_an_aborted_transaction),
          T(test_ledger_append_refuses_after_values_that_break_running_sums),
          T(test_ledger_by_account_pages_newest_first),
          T(test_ledger_entries_chain_each_account_and_cursors_belong_to_it),
          T(test_bad_ledger_entries_are_refused_as_invalid),
          T(test_a_memo_is_stored_as_version_3_and_hashed_money_entries_stay_version_2),
          T(test_a_memo_over_its_limit_is_refused),
          T(test_ts_never_goes_down_and_the_ledger_is_searched_by_time))

/*  accounts_history_test.c: an account's past from the ledger
    (accounts_history.h): checkpoints every 64 entries, the balance as of a
    time and statement pages, each checked against a walk of the whole
    ledger; the ledger's time never goes down under them.
*/
#include "accounts_fixture.h"
#include "accounts_history.h"
#include "test_main.h"

#define ENTRIES 300 /* alice's entries beyond her opening: several checkpoints */

/*  Appends ENTRIES entries on alice and (every third) bob, interleaved, with time moving by
    0 or 10 ms (equal ts happen) and once stepping back (the ledger clamps it). */
static void add_history(fx_t *fx)
{
    accounts_record_t alice, bob;
    assert_int_equal(accounts_book_load(&fx->ctx, "alice", &alice), LEDGER_OK);
    assert_int_equal(accounts_book_load(&fx->ctx, "bob", &bob), LEDGER_OK);
    for (int i = 0; i < ENTRIES; i++) {
        fx->ctx.now_ms += i % 4 == 0 ? 0 : 10;
        if (i == ENTRIES / 2)
            fx->ctx.now_ms -= 1000; /* the wall clock stepped back */
        int64_t delta = i % 2 ? 7 : -3;
        alice.balance_minor += delta;
        assert_int_equal(accounts_book_append(&fx->ctx, &alice, "tr", "credit", delta, 0),
                         LEDGER_OK);
        if (i % 3 == 0) {
            bob.held_minor += 1;
            assert_int_equal(accounts_book_append(&fx->ctx, &bob, "tr", "hold", 0, 1), LEDGER_OK);
        }
    }
    assert_int_equal(accounts_book_save(&fx->ctx, &alice, false), LEDGER_OK);
    assert_int_equal(accounts_book_save(&fx->ctx, &bob, false), LEDGER_OK);
}

/* alice's balance and held after every entry with ts <= at_ms, by walking the whole ledger. */
static void brute_balance_at(fx_t *fx, uint64_t at_ms, int64_t *balance, int64_t *held)
{
    *balance = 0;
    *held = 0;
    for (uint64_t seq = 1; seq <= ledger_len(fx); seq++) {
        store_ledger_entry_t e;
        assert_int_equal(store_ledger_get(fx->txn, seq, &e), LEDGER_OK);
        if (e.ts_ms > at_ms)
            break; /* ts never goes down */
        if (strcmp(e.account, "alice") == 0) {
            *balance = e.balance_after_minor;
            *held = e.held_after_minor;
        }
    }
}

static void test_entries_are_counted_and_every_64th_leaves_a_checkpoint(void **state)
{
    fx_t *fx = *state;
    add_history(fx);
    accounts_record_t alice;
    assert_int_equal(accounts_book_load(&fx->ctx, "alice", &alice), LEDGER_OK);
    assert_int_equal(alice.entry_count, 1 + ENTRIES); /* the opening entry too */
    uint64_t checkpoints = 0, prev_ts = 0;
    store_cursor_t *cur;
    assert_int_equal(store_cursor_open(fx->txn, STORE_DB_INDEX, &cur), LEDGER_OK);
    store_kv_t kv;
    for (ledger_err_t err = store_cursor_get(cur, STORE_FIRST, &kv); !err;
         err = store_cursor_get(cur, STORE_NEXT, &kv))
        checkpoints += kv.key_size > 9 && memcmp(kv.key, "lx/alice", 9) == 0;
    store_cursor_close(&cur);
    assert_int_equal(checkpoints, (1 + ENTRIES) / ACCOUNTS_HISTORY_EVERY);
    for (uint64_t seq = 1; seq <= ledger_len(fx); seq++) {
        store_ledger_entry_t e;
        assert_int_equal(store_ledger_get(fx->txn, seq, &e), LEDGER_OK);
        assert_true(e.ts_ms >= prev_ts);
        prev_ts = e.ts_ms;
    }
}

static void test_the_balance_at_any_time_is_what_the_whole_ledger_says(void **state)
{
    fx_t *fx = *state;
    add_history(fx);
    accounts_record_t alice;
    assert_int_equal(accounts_book_load(&fx->ctx, "alice", &alice), LEDGER_OK);
    for (uint64_t at = T0_MS - 5; at <= fx->ctx.now_ms + 20; at += 3) {
        int64_t balance, held, want_balance, want_held;
        assert_int_equal(accounts_history_balance_at(fx->txn, &alice, at, &balance, &held),
                         LEDGER_OK);
        brute_balance_at(fx, at, &want_balance, &want_held);
        assert_int_equal(balance, want_balance);
        assert_int_equal(held, want_held);
    }
}

/*  Pages through [from, to) with `limit` and checks the concatenation against every entry of
    alice in the interval, and each page's opening against the entries before it. */
static void check_statement(fx_t *fx, uint64_t from, uint64_t to, uint32_t limit)
{
    accounts_record_t alice;
    assert_int_equal(accounts_book_load(&fx->ctx, "alice", &alice), LEDGER_OK);
    store_ledger_entry_t page_entries[PROTO_PAGE_MAX];
    uint64_t cursor = 0, seq = 0;
    int64_t balance, held;
    brute_balance_at(fx, from - 1, &balance, &held);
    accounts_statement_page_t page;
    do {
        assert_int_equal(accounts_history_statement(fx->txn, &alice, from, to, cursor, limit,
                                                    page_entries, &page),
                         LEDGER_OK);
        assert_int_equal(page.opening_balance_minor, balance);
        assert_int_equal(page.opening_held_minor, held);
        for (size_t i = 0; i < page.count; i++) {
            /* the next entry of alice in the interval, by the whole ledger */
            store_ledger_entry_t e;
            do {
                assert_int_equal(store_ledger_get(fx->txn, ++seq, &e), LEDGER_OK);
            } while (strcmp(e.account, "alice") != 0 || e.ts_ms < from);
            assert_int_equal(page_entries[i].seq, e.seq);
            assert_true(e.ts_ms < to);
            balance = e.balance_after_minor;
            held = e.held_after_minor;
        }
        assert_true(page.count == limit || !page.more);
        cursor = page.last;
    } while (page.more);
    /* nothing of alice's is left in the interval */
    for (store_ledger_entry_t e; ++seq <= ledger_len(fx);) {
        assert_int_equal(store_ledger_get(fx->txn, seq, &e), LEDGER_OK);
        assert_true(strcmp(e.account, "alice") != 0 || e.ts_ms < from || e.ts_ms >= to);
    }
}

static void test_statement_pages_concatenate_to_the_entries_of_the_interval(void **state)
{
    fx_t *fx = *state;
    add_history(fx);
    uint64_t end = fx->ctx.now_ms + 1;
    check_statement(fx, T0_MS, end, PROTO_PAGE_MAX);
    check_statement(fx, T0_MS, end, 7);
    check_statement(fx, T0_MS + 100, T0_MS + 900, 64);
    check_statement(fx, T0_MS + 100, T0_MS + 900, 1);
    check_statement(fx, 1, T0_MS, 10);            /* before everything: empty, opening 0 */
    check_statement(fx, end + 100, end + 200, 5); /* after everything: empty, the balance now */
}

static void test_statement_refuses_bad_intervals_limits_and_cursors(void **state)
{
    fx_t *fx = *state;
    add_history(fx);
    accounts_record_t alice;
    assert_int_equal(accounts_book_load(&fx->ctx, "alice", &alice), LEDGER_OK);
    store_ledger_entry_t entries[PROTO_PAGE_MAX];
    accounts_statement_page_t page;
    assert_int_equal(accounts_history_statement(fx->txn, &alice, 5, 5, 0, 10, entries, &page),
                     LEDGER_E_INVALID);
    assert_int_equal(accounts_history_statement(fx->txn, &alice, 1, 5, 0, 0, entries, &page),
                     LEDGER_E_INVALID);
    assert_int_equal(
        accounts_history_statement(fx->txn, &alice, 1, 5, 0, PROTO_PAGE_MAX + 1, entries, &page),
        LEDGER_E_INVALID);
    store_ledger_entry_t bobs = newest_entry(fx, "bob");
    assert_int_equal(
        accounts_history_statement(fx->txn, &alice, 1, UINT64_MAX, bobs.seq, 10, entries, &page),
        LEDGER_E_NOT_FOUND);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup_alice_bob, teardown)

TEST_MAIN(T(test_entries_are_counted_and_every_64th_leaves_a_checkpoint),
          T(test_the_balance_at_any_time_is_what_the_whole_ledger_says),
          T(test_statement_pages_concatenate_to_the_entries_of_the_interval),
          T(test_statement_refuses_bad_intervals_limits_and_cursors))

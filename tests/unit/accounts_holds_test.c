/*  accounts_holds_test.c: the open holds (accounts_holds.h): one per reserved or authorised
    transfer on its source, listed by transfer id in pages with a cursor, gone when the
    transfer settles or is released; limits refused. Each runs without the balance cache
    (every hold in "hd/") and with it (reserved holds in memory, accounts_reserved.h); the
    in-memory set's own cases: what is where, a dropped batch, holds indexed by an earlier
    build and the start-up load.
*/
#include "accounts_life_fixture.h"
#include "test_main.h"

static void test_holds_are_listed_by_transfer_id_in_pages(void **state)
{
    fx_t *fx = *state;
    static const char *const ids[] = {"t3", "t1", "t4", "t2"};
    for (size_t i = 0; i < 4; i++) {
        proto_msg_t m = requested_manual(fx, ids[i], "alice", "bob", 100 * (int64_t)(i + 1));
        apply_ok(fx, &m);
    }
    approve(fx, "t2"); /* authorized: still held */
    proto_msg_t other = requested(fx, "t0", "bob", "alice", 5, "GBP");
    apply_ok(fx, &other); /* bob's, not alice's */
    proto_hold_t page[PROTO_PAGE_MAX];
    uint32_t n = 0;
    char next[PROTO_TRANSFER_ID_MAX + 1];
    assert_int_equal(accounts_holds_list(fx->txn, accounts_book_reserved(&fx->ctx), "alice", "", 3,
                                         page, &n, next),
                     LEDGER_OK);
    assert_int_equal(n, 3);
    assert_string_equal(page[0].transfer, "t1");
    assert_int_equal(page[0].amount_minor, 200);
    assert_int_equal(page[0].kind, PROTO_TRANSFER_KIND_TRANSFER);
    assert_int_equal(page[0].created_ms, T0_MS);
    assert_string_equal(page[2].transfer, "t3");
    assert_string_equal(next, "t3");
    assert_int_equal(accounts_holds_list(fx->txn, accounts_book_reserved(&fx->ctx), "alice", next,
                                         3, page, &n, next),
                     LEDGER_OK);
    assert_int_equal(n, 1);
    assert_string_equal(page[0].transfer, "t4");
    assert_string_equal(next, "");
    /* settled and released holds leave the index */
    proto_msg_t v = action(fx, PROTO_TRANSFER_VOID, "t2", "alice", 0);
    apply_ok(fx, &v);
    approve(fx, "t1");
    proto_msg_t c = action(fx, PROTO_TRANSFER_CAPTURE, "t1", "alice", 200);
    apply_ok(fx, &c);
    assert_int_equal(accounts_holds_list(fx->txn, accounts_book_reserved(&fx->ctx), "alice", "", 10,
                                         page, &n, next),
                     LEDGER_OK);
    assert_int_equal(n, 2);
    assert_string_equal(page[0].transfer, "t3");
    assert_string_equal(page[1].transfer, "t4");
    assert_int_equal(accounts_holds_list(fx->txn, accounts_book_reserved(&fx->ctx), "bob", "", 10,
                                         page, &n, next),
                     LEDGER_OK);
    assert_int_equal(n, 1);
    assert_int_equal(accounts_holds_list(fx->txn, accounts_book_reserved(&fx->ctx), "carol", "", 10,
                                         page, &n, next),
                     LEDGER_OK);
    assert_int_equal(n, 0);
    assert_books_ok(fx);
}

static void test_holds_list_refuses_limits_out_of_range(void **state)
{
    fx_t *fx = *state;
    proto_hold_t page[1];
    uint32_t n = 7;
    char next[PROTO_TRANSFER_ID_MAX + 1];
    assert_int_equal(accounts_holds_list(fx->txn, accounts_book_reserved(&fx->ctx), "alice", "", 0,
                                         page, &n, next),
                     LEDGER_E_INVALID);
    assert_int_equal(n, 0);
    assert_int_equal(accounts_holds_list(fx->txn, accounts_book_reserved(&fx->ctx), "alice", "",
                                         PROTO_PAGE_MAX + 1, page, &n, next),
                     LEDGER_E_INVALID);
    assert_int_equal(
        accounts_holds_list(fx->txn, accounts_book_reserved(&fx->ctx), "", "", 1, page, &n, next),
        LEDGER_E_INVALID);
}

/* --- reserved holds in memory (accounts_reserved.h) --------------------------------------- */

/* Index entries with `prefix` ("hd/" holds, "tm/" timers). */
static size_t index_entries(fx_t *fx, const char *prefix)
{
    size_t n = 0;
    store_cursor_t *cur;
    assert_int_equal(store_cursor_open(fx->txn, STORE_DB_INDEX, &cur), LEDGER_OK);
    store_kv_t kv;
    for (ledger_err_t err = store_cursor_get(cur, STORE_FIRST, &kv); !err;
         err = store_cursor_get(cur, STORE_NEXT, &kv))
        n += kv.key_size > 3 && memcmp(kv.key, prefix, 3) == 0;
    store_cursor_close(&cur);
    return n;
}

static size_t hd_entries(fx_t *fx)
{
    return index_entries(fx, ACCOUNTS_HOLDS_PREFIX);
}

static size_t tm_entries(fx_t *fx)
{
    return index_entries(fx, ACCOUNTS_TIMERS_PREFIX);
}

/* accounts_reserved_fn: counts. */
static ledger_err_t count_one(const accounts_reserved_entry_t *e, void *arg)
{
    (void)e;
    (*(size_t *)arg)++;
    return LEDGER_OK;
}

static size_t volatile_entries(accounts_reserved_t *set)
{
    size_t n = 0;
    assert_int_equal(accounts_reserved_each(set, true, count_one, &n), LEDGER_OK);
    return n;
}

static accounts_reserved_t *set_of(fx_t *fx)
{
    return accounts_book_reserved(&fx->ctx);
}

/* The batch commits (the set's removals take effect) and the next one starts. */
static void next_batch(fx_t *fx)
{
    accounts_cache_txn_end(fx->ctx.state, true);
    accounts_cache_txn_begin(fx->ctx.state);
}

static void test_a_reserved_hold_is_in_memory_and_only_an_authorised_one_in_the_index(void **state)
{
    fx_t *fx = *state;
    proto_msg_t a = requested(fx, "t1", "alice", "bob", 300, "GBP");
    proto_msg_t m = requested_manual(fx, "t2", "alice", "bob", 200);
    apply_ok(fx, &a);
    apply_ok(fx, &m);
    assert_int_equal(hd_entries(fx), 0);
    assert_int_equal(tm_entries(fx), 0); /* their risk deadlines are in memory */
    assert_int_equal(accounts_reserved_count(set_of(fx)), 2);
    assert_int_equal(volatile_entries(set_of(fx)), 2);
    proto_hold_t h[16];
    assert_int_equal(holds_of(fx, "alice", h), 2);
    assert_string_equal(h[0].transfer, "t1");
    assert_int_equal(h[0].amount_minor, 300);
    assert_int_equal(h[1].capture, PROTO_CAPTURE_MANUAL);
    assert_int_equal(h[1].expires_at_ms, T0_MS + EXPIRES_IN_MS);
    next_batch(fx);
    approve(fx, "t1"); /* settled: leaves the set, never touched the index */
    approve(fx, "t2"); /* authorized: from the set into the index */
    assert_int_equal(holds_of(fx, "alice", h), 1); /* t1's removal waits, but is not listed */
    assert_string_equal(h[0].transfer, "t2");
    assert_int_equal(hd_entries(fx), 1);
    assert_int_equal(tm_entries(fx), 1); /* t2's expiry */
    next_batch(fx);
    assert_int_equal(accounts_reserved_count(set_of(fx)), 0);
    proto_msg_t v = action(fx, PROTO_TRANSFER_VOID, "t2", "alice", 0);
    apply_ok(fx, &v);
    assert_int_equal(hd_entries(fx), 0);
    assert_int_equal(holds_of(fx, "alice", h), 0);
    assert_books_ok(fx);
}

static void test_a_dropped_batch_takes_back_its_adds_and_its_removes(void **state)
{
    fx_t *fx = *state;
    proto_msg_t a = requested(fx, "t1", "alice", "bob", 300, "GBP");
    apply_ok(fx, &a);
    next_batch(fx);
    proto_msg_t b = requested(fx, "t2", "alice", "bob", 100, "GBP");
    apply_ok(fx, &b);
    assert_int_equal(accounts_holds_persist_reserved(fx->txn, set_of(fx), false, NULL), LEDGER_OK);
    assert_int_equal(volatile_entries(set_of(fx)), 0);
    bool was_there = false, durable = false;
    assert_int_equal(accounts_reserved_remove(set_of(fx), "t1", &was_there, &durable), LEDGER_OK);
    assert_true(was_there);
    assert_true(durable);
    assert_int_equal(accounts_reserved_remove(set_of(fx), "t1", &was_there, NULL), LEDGER_OK);
    assert_false(was_there);                      /* removed already in this batch */
    accounts_cache_txn_end(fx->ctx.state, false); /* dropped */
    accounts_cache_txn_begin(fx->ctx.state);
    assert_int_equal(accounts_reserved_count(set_of(fx)), 1);
    assert_int_equal(volatile_entries(set_of(fx)), 1); /* made durable in the dropped batch */
    proto_hold_t *mine = NULL;
    size_t n = 0;
    assert_int_equal(accounts_reserved_of(set_of(fx), "alice", "", &mine, &n), LEDGER_OK);
    assert_int_equal(n, 1);
    assert_string_equal(mine[0].transfer, "t1");
    free(mine);
    accounts_reserved_entry_t again = {.from = "alice", .to = "bob", .due_ms = 1};
    strcpy(again.hold.transfer, "t1");
    assert_int_equal(accounts_reserved_add(set_of(fx), &again), LEDGER_E_EXISTS);
}

/*  A hold indexed in "hd/" by an earlier build (or without the cache) stays there until its
    transfer closes; the start-up load takes into memory only the reserved ones without it;
    a listing merges both in transfer id order, across pages. */
static void test_holds_from_before_and_the_start_up_load(void **state)
{
    fx_t *fx = *state;
    accounts_cache_t *cache = fx->ctx.state;
    fx->ctx.state = NULL; /* written through, as an earlier build did */
    proto_msg_t t1 = requested(fx, "t1", "alice", "bob", 100, "GBP");
    proto_msg_t t3 = requested_manual(fx, "t3", "alice", "bob", 300);
    apply_ok(fx, &t1);
    apply_ok(fx, &t3);
    approve(fx, "t3"); /* authorized, in "hd/" */
    fx->ctx.state = cache;
    proto_msg_t t2 = requested(fx, "t2", "alice", "bob", 200, "GBP");
    proto_msg_t t4 = requested(fx, "t4", "alice", "bob", 400, "GBP");
    apply_ok(fx, &t2);
    apply_ok(fx, &t4);
    assert_int_equal(hd_entries(fx), 2); /* t1 and t3 */
    assert_int_equal(tm_entries(fx), 2); /* t1's risk deadline and t3's expiry */
    /* a crash and a start: the replay from the mark gives t2 and t4 their timers, then a new
       set is loaded from the timers */
    assert_int_equal(accounts_cache_replay(fx->txn, NULL), LEDGER_OK);
    assert_int_equal(tm_entries(fx), 4);
    accounts_reserved_t *fresh = accounts_reserved_new();
    assert_non_null(fresh);
    size_t loaded = 0;
    assert_int_equal(accounts_holds_load_reserved(fx->txn, fresh, &loaded), LEDGER_OK);
    assert_int_equal(loaded, 2); /* t2 and t4; t1 has its "hd/" entry */
    assert_int_equal(accounts_reserved_count(fresh), 2);
    assert_int_equal(volatile_entries(fresh), 0); /* durable: their timers are on disk */
    proto_hold_t page[2];
    uint32_t n = 0;
    char next[PROTO_TRANSFER_ID_MAX + 1];
    assert_int_equal(accounts_holds_list(fx->txn, fresh, "alice", "", 2, page, &n, next),
                     LEDGER_OK);
    assert_int_equal(n, 2);
    assert_string_equal(page[0].transfer, "t1");
    assert_string_equal(page[1].transfer, "t2");
    assert_string_equal(next, "t2");
    assert_int_equal(accounts_holds_list(fx->txn, fresh, "alice", next, 2, page, &n, next),
                     LEDGER_OK);
    assert_int_equal(n, 2);
    assert_string_equal(page[0].transfer, "t3");
    assert_string_equal(page[1].transfer, "t4");
    assert_string_equal(next, "");
    accounts_reserved_destroy(&fresh);
    /* t1, reserved from before, closes: its "hd/" entry goes */
    approve(fx, "t1");
    assert_int_equal(hd_entries(fx), 1);
    proto_hold_t h[16];
    assert_int_equal(holds_of(fx, "alice", h), 3);
    assert_books_ok(fx);
}

/*  A volatile risk deadline fires from memory; one made durable by a checkpoint mark fires
    from "tm/", whose key then goes; incoming payments are seen in the set too. */
static void test_risk_deadlines_in_memory_and_on_disk_both_fire(void **state)
{
    fx_t *fx = *state;
    proto_msg_t a = requested(fx, "t1", "alice", "bob", 300, "GBP");
    apply_ok(fx, &a);
    bool incoming = false;
    assert_int_equal(accounts_holds_incoming(fx->txn, set_of(fx), "bob", &incoming), LEDGER_OK);
    assert_true(incoming);
    assert_int_equal(accounts_holds_incoming(fx->txn, set_of(fx), "alice", &incoming), LEDGER_OK);
    assert_false(incoming);
    next_batch(fx);
    fx->ctx.now_ms += 1000;
    proto_msg_t b = requested(fx, "t2", "alice", "bob", 200, "GBP");
    apply_ok(fx, &b);
    size_t written = 0;
    assert_int_equal(accounts_holds_persist_reserved(fx->txn, set_of(fx), false, &written),
                     LEDGER_OK);
    assert_int_equal(written, 2);
    assert_int_equal(tm_entries(fx), 2);
    next_batch(fx);
    fx->ctx.now_ms += 1000;
    proto_msg_t c = requested(fx, "t3", "alice", "bob", 100, "GBP");
    apply_ok(fx, &c);                                          /* volatile */
    fx->ctx.now_ms += ACCOUNTS_RISK_TIMEOUT_DEFAULT_MS - 1000; /* t1 and t2 due, t3 not yet */
    assert_int_equal(run_timers(fx), 2);
    assert_int_equal(transfer_state(fx, "t1").state, ACCOUNTS_TRANSFER_TIMED_OUT);
    assert_int_equal(transfer_state(fx, "t2").state, ACCOUNTS_TRANSFER_TIMED_OUT);
    assert_int_equal(tm_entries(fx), 0);
    fx->ctx.now_ms += 1000;
    assert_int_equal(run_timers(fx), 1); /* t3, from memory */
    assert_int_equal(transfer_state(fx, "t3").state, ACCOUNTS_TRANSFER_TIMED_OUT);
    assert_int_equal(run_timers(fx), 0);
    next_batch(fx);
    assert_int_equal(accounts_reserved_count(set_of(fx)), 0);
    assert_int_equal(account(fx, "alice").held_minor, 0);
    assert_books_ok(fx);
}

/*  Found by review: an authorisation that expires at its risk deadline to the ms keeps the
    same due time, and still needs its timer on disk (the risk deadline's was only in memory). */
static void test_an_authorisation_expiring_at_its_risk_deadline_gets_its_timer(void **state)
{
    fx_t *fx = *state;
    proto_msg_t m = requested_manual(fx, "t1", "alice", "bob", 200);
    m.body.transfer.expires_at_ms = fx->ctx.now_ms + ACCOUNTS_RISK_TIMEOUT_DEFAULT_MS;
    apply_ok(fx, &m);
    assert_int_equal(transfer_state(fx, "t1").risk_deadline_ms, m.body.transfer.expires_at_ms);
    assert_int_equal(tm_entries(fx), 0);
    approve(fx, "t1");
    assert_int_equal(transfer_state(fx, "t1").state, ACCOUNTS_TRANSFER_AUTHORIZED);
    assert_int_equal(tm_entries(fx), 1);
    next_batch(fx);
    fx->ctx.now_ms = m.body.transfer.expires_at_ms;
    assert_int_equal(run_timers(fx), 1);
    assert_int_equal(transfer_state(fx, "t1").state, ACCOUNTS_TRANSFER_EXPIRED);
    assert_books_ok(fx);
}

/*  Found by review: the store may run a clean stop's transaction twice (a map-full), and the
    start's; the second run of each must write and load what the first did. */
static void test_a_clean_stop_and_a_start_run_twice_lose_nothing(void **state)
{
    fx_t *fx = *state;
    proto_msg_t a = requested(fx, "t1", "alice", "bob", 300, "GBP");
    apply_ok(fx, &a);
    assert_int_equal(accounts_cache_write_all(fx->ctx.state, fx->txn), LEDGER_OK);
    assert_int_equal(tm_entries(fx), 1);
    /* the first run's writes are gone with its transaction; the marks in memory are not */
    uint8_t key[3 + 8 + 2] = {'t', 'm', '/'};
    uint64_t due = transfer_state(fx, "t1").risk_deadline_ms;
    for (int i = 0; i < 8; i++)
        key[3 + i] = (uint8_t)(due >> (56 - 8 * i));
    memcpy(key + 11, "t1", 2);
    assert_int_equal(store_del(fx->txn, STORE_DB_INDEX, key, sizeof key), LEDGER_OK);
    assert_int_equal(tm_entries(fx), 0);
    assert_int_equal(accounts_cache_write_all(fx->ctx.state, fx->txn), LEDGER_OK);
    assert_int_equal(tm_entries(fx), 1);

    accounts_reserved_t *fresh = accounts_reserved_new();
    assert_non_null(fresh);
    size_t loaded = 0;
    assert_int_equal(accounts_holds_load_reserved(fx->txn, fresh, &loaded), LEDGER_OK);
    assert_int_equal(loaded, 1);
    assert_int_equal(accounts_holds_load_reserved(fx->txn, fresh, &loaded), LEDGER_OK);
    assert_int_equal(loaded, 0);
    assert_int_equal(accounts_reserved_count(fresh), 1);
    accounts_reserved_destroy(&fresh);
}

#define T(name) T_BOTH(name)
#define T_MEM(name)                                                                                \
    {                                                                                              \
#name, name, setup_alice_bob_in_memory, teardown_in_memory, NULL                           \
    }

TEST_MAIN(T(test_holds_are_listed_by_transfer_id_in_pages),
          T(test_holds_list_refuses_limits_out_of_range),
          T_MEM(test_a_reserved_hold_is_in_memory_and_only_an_authorised_one_in_the_index),
          T_MEM(test_a_dropped_batch_takes_back_its_adds_and_its_removes),
          T_MEM(test_holds_from_before_and_the_start_up_load),
          T_MEM(test_risk_deadlines_in_memory_and_on_disk_both_fire),
          T_MEM(test_an_authorisation_expiring_at_its_risk_deadline_gets_its_timer),
          T_MEM(test_a_clean_stop_and_a_start_run_twice_lose_nothing))

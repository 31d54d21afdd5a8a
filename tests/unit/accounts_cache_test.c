/*  accounts_cache_test.c: the accounts node's balances in memory
    (accounts_cache.h). The cache's own rules (undo on a dropped
    transaction, checkpoints in chunks, the mark), the start-up replay and
    the ledger check with records behind the ledger, and a differential
    test: the same random saga run through the real handlers on a store
    written through and on one with the cache, with dropped transactions
    and crashes (the cache thrown away, then replayed), must give the same
    accounts after every commit and the same table after the last replay.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "accounts_cache.h"
#include "accounts_cite.h"
#include "test_store.h"
#include "test_msg.h"
#include "test_main.h"

#define T0_MS 1700000000000ULL
#define ACCOUNT_COUNT 12
#define DEPOSIT 50000

typedef struct {
    char dir[TEST_DIR_BYTES];
    store_t *store;
    accounts_cache_t *cache; /* NULL: written through */
    accounts_cache_config_t config;
    store_txn_t *txn;
    node_ctx_t ctx;
} side_t;

static uint64_t in_seq;

static void side_open(side_t *s, const accounts_cache_config_t *config)
{
    memset(s, 0, sizeof *s);
    test_store_open(s->dir, "accounts_cache_test", &s->store);
    if (config) {
        s->config = *config;
        s->cache = accounts_cache_new(config);
        assert_non_null(s->cache);
    }
}

static void side_close(side_t *s)
{
    accounts_cache_destroy(&s->cache);
    test_store_close(s->dir, &s->store);
}

/* Opens a write transaction the way the node loop does. */
static void batch_begin(side_t *s, uint64_t now_ms)
{
    assert_int_equal(store_txn_begin(s->store, true, &s->txn), LEDGER_OK);
    node_ctx_init(&s->ctx, s->txn, "accounts", now_ms);
    s->ctx.state = s->cache;
    if (s->cache)
        accounts_cache_txn_begin(s->cache);
}

static void batch_end(side_t *s, bool commit)
{
    if (commit && s->cache)
        assert_int_equal(accounts_cache_txn_prepare(s->cache, s->txn, s->ctx.now_ms), LEDGER_OK);
    if (commit)
        assert_int_equal(store_txn_commit(&s->txn), LEDGER_OK);
    else
        store_txn_abort(&s->txn);
    if (s->cache)
        accounts_cache_txn_end(s->cache, commit);
    node_ctx_fini(&s->ctx);
}

/* A crash: the cache is gone; the next start replays the ledger into the table. */
static uint64_t crash_and_restart(side_t *s)
{
    accounts_cache_destroy(&s->cache);
    store_txn_t *txn;
    uint64_t replayed = 0;
    assert_int_equal(store_txn_begin(s->store, true, &txn), LEDGER_OK);
    assert_int_equal(accounts_cache_replay(txn, &replayed), LEDGER_OK);
    assert_int_equal(store_txn_commit(&txn), LEDGER_OK);
    s->cache = accounts_cache_new(&s->config);
    assert_non_null(s->cache);
    return replayed;
}

static void account_id(char out[16], size_t i)
{
    snprintf(out, 16, "acct%02zu", i);
}

static void open_accounts(side_t *s)
{
    batch_begin(s, T0_MS);
    s->ctx.state = NULL; /* like the node's on_start: written through */
    assert_int_equal(accounts_open_ensure_funding(&s->ctx, NULL, 0, NULL), LEDGER_OK);
    store_txn_t *txn = s->txn;
    assert_int_equal(accounts_cache_replay(txn, NULL), LEDGER_OK); /* writes the first mark */
    s->ctx.state = s->cache;
    for (size_t i = 0; i < ACCOUNT_COUNT; i++) {
        char id[PROTO_ACCOUNT_ID_MAX + 1], name[PROTO_NAME_MAX + 1];
        account_id(id, i);
        snprintf(name, sizeof name, "Holder %zu", i);
        proto_msg_t q = test_open_msg("", 0, 0, id, name, DEPOSIT);
        proto_msg_t reply;
        assert_int_equal(accounts_query(&s->ctx, &q, &reply), LEDGER_OK);
        assert_int_equal(reply.body.account_reply.status, 201);
        proto_msg_release(&reply);
    }
    batch_end(s, true);
}

static proto_msg_t requested(const char *transfer, const char *from, const char *to,
                             int64_t amount_minor)
{
    return test_transfer_msg(PROTO_TRANSFER_REQUESTED, "gateway", ++in_seq, 0, transfer, from, to,
                             amount_minor, "GBP");
}

/* Applies `m` as the node does, a verdict citing its transfer's funds.reserved as fraud does. */
static ledger_err_t saga_apply(node_ctx_t *ctx, const proto_msg_t *m)
{
    proto_msg_t cited = *m;
    accounts_cite_reserved(ctx, &cited);
    return accounts_saga_apply(ctx, &cited, NULL, NULL, 0);
}

static proto_msg_t verdict(const char *transfer, bool approved)
{
    proto_msg_t m = test_msg(approved ? PROTO_FRAUD_APPROVED : PROTO_FRAUD_REJECTED, "fraud",
                             ++in_seq, 0, transfer);
    snprintf(m.body.verdict.transfer, sizeof m.body.verdict.transfer, "%s", transfer);
    if (!approved) {
        m.body.verdict.rule_count = 1;
        snprintf(m.body.verdict.rules[0], sizeof m.body.verdict.rules[0], "blocklist");
    }
    snprintf(m.body.verdict.reason, sizeof m.body.verdict.reason, "test");
    return m;
}

static void assert_check_ok(side_t *s)
{
    store_txn_t *txn;
    assert_int_equal(store_txn_begin(s->store, false, &txn), LEDGER_OK);
    store_ledger_report_t report;
    char why[256];
    assert_int_equal(accounts_verify_ledger(txn, &report, why, sizeof why), LEDGER_OK);
    store_txn_abort(&txn);
    if (!report.ok)
        fail_msg("ledger check failed: %s", why);
}

/* accounts_book_get through a fresh transaction (and the side's cache). */
static proto_account_t account_now(side_t *s, const char *id)
{
    batch_begin(s, T0_MS);
    proto_account_t a;
    assert_int_equal(accounts_book_get(&s->ctx, id, &a), LEDGER_OK);
    batch_end(s, false);
    return a;
}

static accounts_record_t table_record(side_t *s, const char *id)
{
    store_txn_t *txn;
    assert_int_equal(store_txn_begin(s->store, false, &txn), LEDGER_OK);
    accounts_record_t rec;
    assert_int_equal(accounts_record_get(txn, id, &rec), LEDGER_OK);
    store_txn_abort(&txn);
    return rec;
}

static uint64_t mark_of(side_t *s)
{
    store_txn_t *txn;
    uint64_t mark = 0;
    assert_int_equal(store_txn_begin(s->store, false, &txn), LEDGER_OK);
    assert_int_equal(accounts_cache_checkpoint_mark(txn, &mark), LEDGER_OK);
    store_txn_abort(&txn);
    return mark;
}

static const accounts_cache_config_t never_checkpoint = {UINT64_MAX / 4, SIZE_MAX, 1};

/* --- the cache's own rules -------------------------------------------------- */

static void test_a_dropped_transaction_leaves_the_last_committed_values(void **state)
{
    (void)state;
    side_t s;
    side_open(&s, &never_checkpoint);
    open_accounts(&s);

    batch_begin(&s, T0_MS + 1);
    proto_msg_t r1 = requested("t1", "acct00", "acct01", 700);
    assert_int_equal(saga_apply(&s.ctx, &r1), LEDGER_OK);
    batch_end(&s, true);
    assert_int_equal(account_now(&s, "acct00").held_minor, 700);

    /* Dropped: the approval's debit and credit are undone, the hold stays. */
    batch_begin(&s, T0_MS + 2);
    proto_msg_t v1 = verdict("t1", true);
    assert_int_equal(saga_apply(&s.ctx, &v1), LEDGER_OK);
    proto_msg_t r2 = requested("t2", "acct02", "acct03", 300);
    assert_int_equal(saga_apply(&s.ctx, &r2), LEDGER_OK);
    batch_end(&s, false);
    proto_account_t a0 = account_now(&s, "acct00"), a1 = account_now(&s, "acct01");
    assert_int_equal(a0.balance_minor, DEPOSIT);
    assert_int_equal(a0.held_minor, 700);
    assert_int_equal(a1.balance_minor, DEPOSIT);
    assert_int_equal(account_now(&s, "acct02").held_minor, 0);

    /* A rerun (begin again without an end, as after a map-full abort) also undoes. */
    batch_begin(&s, T0_MS + 3);
    assert_int_equal(saga_apply(&s.ctx, &v1), LEDGER_OK);
    store_txn_abort(&s.txn);
    node_ctx_fini(&s.ctx);
    batch_begin(&s, T0_MS + 3);
    proto_account_t during;
    assert_int_equal(accounts_book_get(&s.ctx, "acct00", &during), LEDGER_OK);
    assert_int_equal(during.held_minor, 700);
    assert_int_equal(during.balance_minor, DEPOSIT);
    assert_int_equal(saga_apply(&s.ctx, &v1), LEDGER_OK);
    batch_end(&s, true);
    a0 = account_now(&s, "acct00");
    a1 = account_now(&s, "acct01");
    assert_int_equal(a0.balance_minor, DEPOSIT - 700);
    assert_int_equal(a0.held_minor, 0);
    assert_int_equal(a1.balance_minor, DEPOSIT + 700);
    assert_check_ok(&s);
    side_close(&s);
}

static void test_a_checkpoint_writes_dirty_records_in_chunks_then_the_mark(void **state)
{
    (void)state;
    side_t s;
    const accounts_cache_config_t config = {1000, SIZE_MAX, 2};
    side_open(&s, &config);
    open_accounts(&s);
    uint64_t first_mark = mark_of(&s);

    /* The first commit (the opening, T0) started a checkpoint of the funding
       account; this one writes it and the mark, and five holds stay dirty. */
    batch_begin(&s, T0_MS);
    for (size_t i = 0; i < 5; i++) {
        char id[16], to[16], tr[16];
        account_id(id, i);
        account_id(to, i + 5);
        snprintf(tr, sizeof tr, "c%zu", i);
        proto_msg_t r = requested(tr, id, to, 100 + (int64_t)i);
        assert_int_equal(saga_apply(&s.ctx, &r), LEDGER_OK);
    }
    batch_end(&s, true);
    assert_false(accounts_cache_checkpointing(s.cache));
    assert_int_equal(accounts_cache_dirty(s.cache), 5);
    first_mark = mark_of(&s);
    assert_int_equal(table_record(&s, "acct00").held_minor, 0); /* not written yet */

    /* Not due before checkpoint_ms: nothing starts. */
    batch_begin(&s, T0_MS + 999);
    batch_end(&s, true);
    assert_false(accounts_cache_checkpointing(s.cache));
    batch_begin(&s, T0_MS + 1000);
    batch_end(&s, true);
    assert_true(accounts_cache_checkpointing(s.cache));
    size_t dirty = accounts_cache_dirty(s.cache);
    assert_int_equal(dirty, 5);

    /* Each commit writes two; a dropped one writes nothing. */
    batch_begin(&s, T0_MS + 1);
    batch_end(&s, false);
    assert_int_equal(accounts_cache_dirty(s.cache), dirty);
    size_t commits = 0;
    while (accounts_cache_checkpointing(s.cache)) {
        assert_int_equal(mark_of(&s), first_mark);
        batch_begin(&s, T0_MS + 2);
        batch_end(&s, true);
        commits++;
        assert_int_equal(accounts_cache_dirty(s.cache),
                         dirty > 2 * commits ? dirty - 2 * commits : 0);
    }
    assert_int_equal(commits, (dirty + 1) / 2);
    assert_int_equal(table_record(&s, "acct00").held_minor, 100);
    assert_int_equal(table_record(&s, "acct04").held_minor, 104);
    assert_true(mark_of(&s) > first_mark);
    accounts_cache_stats_t st = accounts_cache_stats(s.cache);
    assert_int_equal(st.dirty, 0);
    assert_int_equal(st.checkpoints, 2);             /* the opening's (funding) and this one */
    assert_int_equal(st.records_written, 1 + dirty); /* funding, then the five */
    assert_check_ok(&s);
    side_close(&s);
}

/* --- replay and the check with records behind the ledger -------------------- */

/* Reserves and settles `n` transfers on `s` in one committed batch. */
static void settle_some(side_t *s, const char *prefix, size_t n, uint64_t now_ms)
{
    batch_begin(s, now_ms);
    for (size_t i = 0; i < n; i++) {
        char from[16], to[16], tr[32];
        account_id(from, i % ACCOUNT_COUNT);
        account_id(to, (i + 1) % ACCOUNT_COUNT);
        snprintf(tr, sizeof tr, "%s%zu", prefix, i);
        proto_msg_t r = requested(tr, from, to, 10 + (int64_t)i);
        assert_int_equal(saga_apply(&s->ctx, &r), LEDGER_OK);
        proto_msg_t v = verdict(tr, true);
        assert_int_equal(saga_apply(&s->ctx, &v), LEDGER_OK);
    }
    batch_end(s, true);
}

static void test_replay_rebuilds_the_table_after_a_crash(void **state)
{
    (void)state;
    side_t s;
    side_open(&s, &never_checkpoint);
    open_accounts(&s);
    settle_some(&s, "r", 20, T0_MS + 1);
    proto_account_t before = account_now(&s, "acct03");
    assert_int_not_equal(table_record(&s, "acct03").balance_minor, before.balance_minor);
    assert_check_ok(&s); /* the table is behind, as the mark allows */

    uint64_t replayed = crash_and_restart(&s);
    assert_true(replayed > 0);
    accounts_record_t rec = table_record(&s, "acct03");
    assert_int_equal(rec.balance_minor, before.balance_minor);
    assert_int_equal(rec.held_minor, before.held_minor);
    assert_check_ok(&s);
    assert_int_equal(crash_and_restart(&s), 0); /* nothing left to replay */
    side_close(&s);
}

static void test_check_and_replay_refuse_a_record_behind_the_mark(void **state)
{
    (void)state;
    side_t s;
    side_open(&s, &never_checkpoint);
    open_accounts(&s);
    settle_some(&s, "m", 6, T0_MS + 1);
    /* A mark that claims the table is current while it is not (a lost write-back). */
    store_txn_t *txn;
    uint64_t last = 0;
    assert_int_equal(store_txn_begin(s.store, true, &txn), LEDGER_OK);
    assert_int_equal(store_ledger_last_seq(txn, &last), LEDGER_OK);
    uint8_t be[8];
    store_be64_put(be, last + 1);
    assert_int_equal(store_put(txn, STORE_DB_META, ACCOUNTS_CHECKPOINT_KEY,
                               strlen(ACCOUNTS_CHECKPOINT_KEY), be, sizeof be, 0),
                     LEDGER_OK);
    store_ledger_report_t report;
    char why[256];
    assert_int_equal(accounts_verify_ledger(txn, &report, why, sizeof why), LEDGER_OK);
    assert_false(report.ok);
    assert_non_null(strstr(why, "checkpoint mark"));
    /* The mark past entries it should cover: the second-to-last entry (acct05's
       debit) follows its hold, which replay skipped, so its chain does not
       continue the record: replay refuses instead of applying a partial history. */
    store_be64_put(be, last - 1);
    assert_int_equal(store_put(txn, STORE_DB_META, ACCOUNTS_CHECKPOINT_KEY,
                               strlen(ACCOUNTS_CHECKPOINT_KEY), be, sizeof be, 0),
                     LEDGER_OK);
    assert_int_equal(accounts_cache_replay(txn, NULL), LEDGER_E_CORRUPT);
    store_txn_abort(&txn);
    side_close(&s);
}

static void test_check_catches_a_lagging_record_that_was_rewritten(void **state)
{
    (void)state;
    side_t s;
    side_open(&s, &never_checkpoint);
    open_accounts(&s);
    settle_some(&s, "w", 4, T0_MS + 1);
    store_txn_t *txn;
    assert_int_equal(store_txn_begin(s.store, true, &txn), LEDGER_OK);
    accounts_record_t rec;
    assert_int_equal(accounts_record_get(txn, "acct01", &rec), LEDGER_OK);
    rec.balance_minor += 1;
    assert_int_equal(accounts_record_put(txn, &rec), LEDGER_OK);
    store_ledger_report_t report;
    char why[256];
    assert_int_equal(accounts_verify_ledger(txn, &report, why, sizeof why), LEDGER_OK);
    assert_false(report.ok);
    assert_non_null(strstr(why, "acct01"));
    /* Replay does not build on it either: the next entry's amounts do not continue it. */
    assert_int_equal(accounts_cache_replay(txn, NULL), LEDGER_E_CORRUPT);
    store_txn_abort(&txn);
    side_close(&s);
}

static void test_a_dropped_run_of_the_deciding_commit_still_starts_the_checkpoint(void **state)
{
    (void)state;
    side_t s;
    const accounts_cache_config_t config = {1000, SIZE_MAX, 64};
    side_open(&s, &config);
    open_accounts(&s);
    settle_some(&s, "x", 3, T0_MS); /* ends the opening's checkpoint; leaves dirty records */
    assert_false(accounts_cache_checkpointing(s.cache));
    batch_begin(&s, T0_MS + 1000); /* due: prepare decides, then the run is dropped */
    assert_int_equal(accounts_cache_txn_prepare(s.cache, s.txn, s.ctx.now_ms), LEDGER_OK);
    store_txn_abort(&s.txn);
    accounts_cache_txn_end(s.cache, false);
    node_ctx_fini(&s.ctx);
    batch_begin(&s, T0_MS + 1001); /* the rerun is still due */
    batch_end(&s, true);
    assert_true(accounts_cache_checkpointing(s.cache));
    side_close(&s);
}

static void hold_on(side_t *s, size_t first, size_t count, const char *prefix, uint64_t now_ms)
{
    batch_begin(s, now_ms);
    for (size_t i = first; i < first + count; i++) {
        char from[16], tr[32];
        account_id(from, i);
        snprintf(tr, sizeof tr, "%s%zu", prefix, i);
        proto_msg_t r = requested(tr, from, "acct11", 5);
        assert_int_equal(saga_apply(&s->ctx, &r), LEDGER_OK);
    }
    batch_end(s, true);
}

static void test_a_checkpoint_writes_at_least_twice_what_the_batch_changed(void **state)
{
    (void)state;
    side_t s;
    const accounts_cache_config_t config = {1000, SIZE_MAX, 1};
    side_open(&s, &config);
    open_accounts(&s);
    hold_on(&s, 0, 8, "a", T0_MS); /* writes the opening's checkpoint; 8 holds dirty */
    assert_int_equal(accounts_cache_dirty(s.cache), 8);
    batch_begin(&s, T0_MS + 1000);
    batch_end(&s, true);
    assert_true(accounts_cache_checkpointing(s.cache));
    /* A batch changing 3 of them writes 6 (chunk 1 < 2 x 3): acct00 .. acct05. */
    hold_on(&s, 0, 3, "b", T0_MS + 1001);
    assert_int_equal(accounts_cache_dirty(s.cache), 2);
    assert_int_equal(table_record(&s, "acct02").held_minor, 10); /* both holds, newest value */
    assert_int_equal(table_record(&s, "acct05").held_minor, 5);
    assert_int_equal(table_record(&s, "acct06").held_minor, 0);
    side_close(&s);
}

static void test_a_clean_stop_writes_every_dirty_record(void **state)
{
    (void)state;
    side_t s;
    side_open(&s, &never_checkpoint);
    open_accounts(&s);
    settle_some(&s, "s", 10, T0_MS + 1);
    proto_account_t before = account_now(&s, "acct05");
    assert_true(accounts_cache_dirty(s.cache) > 0);
    store_txn_t *txn;
    size_t dirty = accounts_cache_dirty(s.cache);
    uint64_t written = accounts_cache_stats(s.cache).records_written;
    assert_int_equal(store_txn_begin(s.store, true, &txn), LEDGER_OK);
    assert_int_equal(accounts_cache_write_all(s.cache, txn), LEDGER_OK);
    assert_int_equal(accounts_cache_stats(s.cache).records_written, written + dirty);
    assert_int_equal(store_txn_commit(&txn), LEDGER_OK);
    accounts_record_t rec = table_record(&s, "acct05");
    assert_int_equal(rec.balance_minor, before.balance_minor);
    assert_int_equal(rec.held_minor, before.held_minor);
    assert_check_ok(&s);
    assert_int_equal(crash_and_restart(&s), 0); /* the table was current: nothing to replay */
    side_close(&s);
}

/* --- the same saga written through and with the cache ----------------------- */

static void assert_sides_agree(side_t *a, side_t *b)
{
    for (size_t i = 0; i <= ACCOUNT_COUNT; i++) {
        char id[16];
        if (i == ACCOUNT_COUNT)
            snprintf(id, sizeof id, "%s", ACCOUNTS_FUNDING_ID);
        else
            account_id(id, i);
        proto_account_t x = account_now(a, id), y = account_now(b, id);
        assert_int_equal(x.balance_minor, y.balance_minor);
        assert_int_equal(x.held_minor, y.held_minor);
    }
}

static void test_the_cache_gives_what_writing_through_gives(void **state)
{
    (void)state;
    side_t plain, cached;
    const accounts_cache_config_t config = {3, SIZE_MAX, 3}; /* checkpoints all the time */
    side_open(&plain, NULL);
    side_open(&cached, &config);
    open_accounts(&plain);
    open_accounts(&cached);
    srand(20261125);
    char reserved[64][16];
    size_t reserved_count = 0, next_transfer = 0, crashes = 0, dropped = 0;
    uint64_t now = T0_MS;
    for (size_t step = 0; step < 300; step++) {
        proto_msg_t batch[8];
        size_t n = 1 + (size_t)rand() % 8;
        for (size_t k = 0; k < n; k++) {
            if (reserved_count && rand() % 2) {
                size_t pick = (size_t)rand() % reserved_count;
                batch[k] = verdict(reserved[pick], rand() % 5 != 0);
                memcpy(reserved[pick], reserved[--reserved_count], sizeof reserved[0]);
            } else {
                char tr[16], from[16], to[16];
                snprintf(tr, sizeof tr, "d%zu", next_transfer++);
                size_t f = (size_t)rand() % ACCOUNT_COUNT;
                account_id(from, f);
                account_id(to, (f + 1 + (size_t)rand() % (ACCOUNT_COUNT - 1)) % ACCOUNT_COUNT);
                batch[k] = requested(tr, from, to, 1 + rand() % 20000);
                if (reserved_count < 64)
                    snprintf(reserved[reserved_count++], sizeof reserved[0], "%s", tr);
            }
        }
        now += 1 + (uint64_t)(rand() % 3);
        if (rand() % 6 == 0) { /* the cached side's first run is dropped, then rerun */
            batch_begin(&cached, now);
            for (size_t k = 0; k < n; k++)
                assert_int_equal(saga_apply(&cached.ctx, &batch[k]), LEDGER_OK);
            if (rand() % 2) /* dropped after its checkpoint chunk: a failed commit */
                assert_int_equal(accounts_cache_txn_prepare(cached.cache, cached.txn, now),
                                 LEDGER_OK);
            batch_end(&cached, false);
            dropped++;
        }
        side_t *sides[2] = {&plain, &cached};
        for (size_t j = 0; j < 2; j++) {
            batch_begin(sides[j], now);
            for (size_t k = 0; k < n; k++)
                assert_int_equal(saga_apply(&sides[j]->ctx, &batch[k]), LEDGER_OK);
            batch_end(sides[j], true);
        }
        assert_sides_agree(&plain, &cached);
        assert_check_ok(&cached);
        if (rand() % 25 == 0) {
            crash_and_restart(&cached);
            crashes++;
            assert_sides_agree(&plain, &cached);
        }
    }
    assert_true(crashes > 0 && dropped > 0);
    assert_check_ok(&plain);
    assert_check_ok(&cached);
    crash_and_restart(&cached);
    assert_check_ok(&cached);
    for (size_t i = 0; i < ACCOUNT_COUNT; i++) {
        char id[16];
        account_id(id, i);
        accounts_record_t x = table_record(&plain, id), y = table_record(&cached, id);
        assert_int_equal(x.balance_minor, y.balance_minor);
        assert_int_equal(x.held_minor, y.held_minor);
        assert_int_equal(x.ledger_seq, y.ledger_seq);
    }
    side_close(&plain);
    side_close(&cached);
}

TEST_MAIN(cmocka_unit_test(test_a_dropped_transaction_leaves_the_last_committed_values),
          cmocka_unit_test(test_a_checkpoint_writes_dirty_records_in_chunks_then_the_mark),
          cmocka_unit_test(test_replay_rebuilds_the_table_after_a_crash),
          cmocka_unit_test(test_check_and_replay_refuse_a_record_behind_the_mark),
          cmocka_unit_test(test_check_catches_a_lagging_record_that_was_rewritten),
          cmocka_unit_test(test_a_dropped_run_of_the_deciding_commit_still_starts_the_checkpoint),
          cmocka_unit_test(test_a_checkpoint_writes_at_least_twice_what_the_batch_changed),
          cmocka_unit_test(test_a_clean_stop_writes_every_dirty_record),
          cmocka_unit_test(test_the_cache_gives_what_writing_through_gives))

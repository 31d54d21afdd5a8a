/*  store_test.c: the LMDB store: key/value basics, atomicity, crash safety,
    map growth, the outbox, dead letters, seen ids, named sequences and the
    hash-chained ledger (including tamper detection with raw LMDB writes).

    Each test opens a store in its own mkdtemp directory under /tmp and
    removes it afterwards.
*/
#define _GNU_SOURCE /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lmdb.h>

#include "store.h"
#include "store_migrate_v1.h"

#define TEST_DIR_TEMPLATE "/tmp/store_test.XXXXXX"
#define KIB ((size_t)1024)

typedef struct {
    char dir[sizeof TEST_DIR_TEMPLATE];
    store_t *store;
} fixture_t;

/* --- fixture -------------------------------------------------------------- */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void remove_tree(const char *dir)
{
    nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static int setup_dir(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    memcpy(fx->dir, TEST_DIR_TEMPLATE, sizeof TEST_DIR_TEMPLATE);
    assert_non_null(mkdtemp(fx->dir));
    *state = fx;
    return 0;
}

static int setup(void **state)
{
    setup_dir(state);
    fixture_t *fx = *state;
    assert_int_equal(store_open(fx->dir, NULL, &fx->store), LEDGER_OK);
    return 0;
}

static int teardown(void **state)
{
    fixture_t *fx = *state;
    store_destroy(&fx->store);
    assert_null(fx->store);
    remove_tree(fx->dir);
    free(fx);
    return 0;
}

static void reopen(fixture_t *fx, const store_config_t *config)
{
    store_destroy(&fx->store);
    assert_int_equal(store_open(fx->dir, config, &fx->store), LEDGER_OK);
}

static store_txn_t *begin(fixture_t *fx, bool write)
{
    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(fx->store, write, &txn), LEDGER_OK);
    assert_non_null(txn);
    return txn;
}

static void commit(store_txn_t **txn)
{
    assert_int_equal(store_txn_commit(txn), LEDGER_OK);
    assert_null(*txn);
}

static uint64_t count_of(fixture_t *fx, store_db_t db)
{
    store_txn_t *txn = begin(fx, false);
    uint64_t count = 0;
    assert_int_equal(store_count(txn, db, &count), LEDGER_OK);
    store_txn_abort(&txn);
    return count;
}

static void put_text(store_txn_t *txn, store_db_t db, const char *key, const char *val)
{
    assert_int_equal(store_put(txn, db, key, strlen(key), val, strlen(val), 0), LEDGER_OK);
}

/* --- raw LMDB access, for tampering --------------------------------------- */

typedef enum { RAW_FLIP_BYTE, RAW_DELETE, RAW_REPLACE } raw_edit_t;

/* Edits the record under `key` of sub-database `db` behind the store's back (store closed). */
static void raw_edit_key(const char *dir, const char *db, const void *key, size_t key_size,
                         raw_edit_t edit, size_t offset, const void *replacement,
                         size_t replacement_size)
{
    MDB_env *env;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 32), 0);
    assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    MDB_dbi dbi;
    assert_int_equal(mdb_dbi_open(txn, db, MDB_CREATE, &dbi), 0);
    MDB_val k = {key_size, (void *)key}, v;
    if (edit == RAW_DELETE) {
        assert_int_equal(mdb_del(txn, dbi, &k, NULL), 0);
    } else if (edit == RAW_REPLACE) {
        v.mv_size = replacement_size;
        v.mv_data = (void *)replacement;
        assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    } else {
        assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
        assert_true(offset < v.mv_size);
        uint8_t *copy = malloc(v.mv_size);
        assert_non_null(copy);
        memcpy(copy, v.mv_data, v.mv_size);
        copy[offset] ^= 0x01;
        v.mv_data = copy;
        assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
        free(copy);
    }
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

/* raw_edit_key for a be64 sequence key. */
static void raw_edit(const char *dir, const char *db, uint64_t seq, raw_edit_t edit, size_t offset,
                     const void *replacement, size_t replacement_size)
{
    uint8_t key[8];
    store_be64_put(key, seq);
    raw_edit_key(dir, db, key, sizeof key, edit, offset, replacement, replacement_size);
}

static size_t raw_value_size(const char *dir, const char *db, uint64_t seq)
{
    MDB_env *env;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 32), 0);
    assert_int_equal(mdb_env_open(env, dir, MDB_RDONLY, 0600), 0);
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    MDB_dbi dbi;
    assert_int_equal(mdb_dbi_open(txn, db, 0, &dbi), 0);
    uint8_t key[8];
    store_be64_put(key, seq);
    MDB_val k = {sizeof key, key}, v;
    assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
    size_t size = v.mv_size;
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return size;
}

/* --- ledger helpers ------------------------------------------------------- */

typedef struct {
    int64_t balance_minor;
    int64_t held_minor;
    uint64_t last_seq; /* the account's newest entry: the next one's account_prev_seq */
} sums_t;

/* Appends an entry for `account`, computing the after values from `sums`. */
static uint64_t append(store_txn_t *txn, const char *account, const char *transfer,
                       const char *kind, int64_t balance_delta, int64_t held_delta, sums_t *sums)
{
    store_ledger_entry_t entry;
    memset(&entry, 0, sizeof entry);
    snprintf(entry.account, sizeof entry.account, "%s", account);
    entry.account_prev_seq = sums->last_seq;
    snprintf(entry.transfer, sizeof entry.transfer, "%s", transfer);
    snprintf(entry.kind, sizeof entry.kind, "%s", kind);
    entry.balance_delta_minor = balance_delta;
    entry.held_delta_minor = held_delta;
    sums->balance_minor += balance_delta;
    sums->held_minor += held_delta;
    entry.balance_after_minor = sums->balance_minor;
    entry.held_after_minor = sums->held_minor;
    entry.ts_ms = 1700000000000u;
    assert_int_equal(store_ledger_append(txn, &entry), LEDGER_OK);
    assert_int_equal(entry.account_prev_seq, sums->last_seq);
    sums->last_seq = entry.seq;
    return entry.seq;
}

/* A small double-entry ledger: alice and bob open, a transfer is held and settled. */
static void append_sample_ledger(fixture_t *fx, sums_t *alice, sums_t *bob)
{
    store_txn_t *txn = begin(fx, true);
    append(txn, "alice", "", "open", 10000, 0, alice);
    append(txn, "bob", "", "open", 500, 0, bob);
    append(txn, "alice", "t-1", "hold", 0, 2500, alice);
    append(txn, "alice", "t-1", "release", 0, -2500, alice);
    append(txn, "alice", "t-1", "debit", -2500, 0, alice);
    append(txn, "bob", "t-1", "credit", 2500, 0, bob);
    commit(&txn);
}

static store_ledger_report_t verify(fixture_t *fx)
{
    store_txn_t *txn = begin(fx, false);
    store_ledger_report_t report;
    assert_int_equal(store_ledger_verify(txn, NULL, NULL, &report), LEDGER_OK);
    store_txn_abort(&txn);
    return report;
}

/* --- key/value basics ----------------------------------------------------- */

static void test_put_get_del_and_cursor_walk_work(void **state)
{
    fixture_t *fx = *state;
    store_txn_t *txn = begin(fx, true);
    put_text(txn, STORE_DB_ACCOUNTS, "b", "two");
    put_text(txn, STORE_DB_ACCOUNTS, "a", "one");
    put_text(txn, STORE_DB_ACCOUNTS, "c", "three");
    assert_int_equal(store_put(txn, STORE_DB_ACCOUNTS, "a", 1, "x", 1, STORE_PUT_NOOVERWRITE),
                     LEDGER_E_EXISTS);
    assert_int_equal(store_put(txn, STORE_DB_ACCOUNTS, "b", 1, "x", 1, STORE_PUT_APPEND),
                     LEDGER_E_EXISTS);
    assert_int_equal(store_put(txn, STORE_DB_ACCOUNTS, "d", 1, "four", 4, STORE_PUT_APPEND),
                     LEDGER_OK);
    commit(&txn);

    txn = begin(fx, false);
    const void *val;
    size_t size;
    assert_int_equal(store_get(txn, STORE_DB_ACCOUNTS, "b", 1, &val, &size), LEDGER_OK);
    assert_int_equal(size, 3);
    assert_memory_equal(val, "two", 3);
    assert_int_equal(store_get(txn, STORE_DB_TRANSFERS, "b", 1, &val, &size), LEDGER_E_NOT_FOUND);
    uint64_t count;
    assert_int_equal(store_count(txn, STORE_DB_ACCOUNTS, &count), LEDGER_OK);
    assert_int_equal(count, 4);

    store_cursor_t *cursor;
    assert_int_equal(store_cursor_open(txn, STORE_DB_ACCOUNTS, &cursor), LEDGER_OK);
    store_kv_t kv;
    const char *expected = "abcd";
    assert_int_equal(store_cursor_get(cursor, STORE_FIRST, &kv), LEDGER_OK);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(kv.key_size, 1);
        assert_int_equal(((const char *)kv.key)[0], expected[i]);
        ledger_err_t err = store_cursor_get(cursor, STORE_NEXT, &kv);
        assert_int_equal(err, i < 3 ? LEDGER_OK : LEDGER_E_NOT_FOUND);
    }
    assert_int_equal(store_cursor_get(cursor, STORE_LAST, &kv), LEDGER_OK);
    assert_memory_equal(kv.key, "d", 1);
    assert_int_equal(store_cursor_get(cursor, STORE_PREV, &kv), LEDGER_OK);
    assert_memory_equal(kv.key, "c", 1);
    kv.key = "bb";
    kv.key_size = 2;
    assert_int_equal(store_cursor_get(cursor, STORE_SEEK, &kv), LEDGER_OK);
    assert_memory_equal(kv.key, "c", 1);
    assert_memory_equal(kv.val, "three", 5);
    kv.key = "z";
    kv.key_size = 1;
    assert_int_equal(store_cursor_get(cursor, STORE_SEEK, &kv), LEDGER_E_NOT_FOUND);
    store_cursor_close(&cursor);
    assert_null(cursor);
    store_txn_abort(&txn);
    assert_null(txn);

    txn = begin(fx, true);
    assert_int_equal(store_del(txn, STORE_DB_ACCOUNTS, "a", 1), LEDGER_OK);
    assert_int_equal(store_del(txn, STORE_DB_ACCOUNTS, "a", 1), LEDGER_E_NOT_FOUND);
    assert_int_equal(store_cursor_open(txn, STORE_DB_ACCOUNTS, &cursor), LEDGER_OK);
    assert_int_equal(store_cursor_get(cursor, STORE_FIRST, &kv), LEDGER_OK);
    assert_memory_equal(kv.key, "b", 1);
    assert_int_equal(store_cursor_del(cursor), LEDGER_OK);
    store_cursor_close(&cursor);
    commit(&txn);
    assert_int_equal(count_of(fx, STORE_DB_ACCOUNTS), 2);
}

static void test_cursor_may_be_closed_after_its_transaction_ends(void **state)
{
    fixture_t *fx = *state;
    store_txn_t *txn = begin(fx, true);
    put_text(txn, STORE_DB_INDEX, "k", "v");
    store_cursor_t *cursor;
    assert_int_equal(store_cursor_open(txn, STORE_DB_INDEX, &cursor), LEDGER_OK);
    commit(&txn);
    store_kv_t kv;
    assert_int_equal(store_cursor_get(cursor, STORE_FIRST, &kv), LEDGER_E_INVALID);
    store_cursor_close(&cursor);
    assert_null(cursor);

    txn = begin(fx, false);
    assert_int_equal(store_cursor_open(txn, STORE_DB_INDEX, &cursor), LEDGER_OK);
    store_txn_abort(&txn);
    store_cursor_close(&cursor);
}

static void test_be64_keys_walk_in_numeric_order(void **state)
{
    fixture_t *fx = *state;
    const uint64_t inserted[] = {65536, 256, UINT64_MAX, 255, 0, 1, 4294967296u, 257};
    const uint64_t sorted[] = {0, 1, 255, 256, 257, 65536, 4294967296u, UINT64_MAX};
    store_txn_t *txn = begin(fx, true);
    for (size_t i = 0; i < sizeof inserted / sizeof inserted[0]; i++) {
        uint8_t key[8];
        store_be64_put(key, inserted[i]);
        assert_true(store_be64_get(key) == inserted[i]);
        assert_int_equal(store_put(txn, STORE_DB_INDEX, key, sizeof key, "", 0, 0), LEDGER_OK);
    }
    commit(&txn);

    txn = begin(fx, false);
    store_cursor_t *cursor;
    assert_int_equal(store_cursor_open(txn, STORE_DB_INDEX, &cursor), LEDGER_OK);
    store_kv_t kv;
    size_t i = 0;
    for (ledger_err_t err = store_cursor_get(cursor, STORE_FIRST, &kv); err == LEDGER_OK;
         err = store_cursor_get(cursor, STORE_NEXT, &kv)) {
        assert_int_equal(kv.key_size, 8);
        assert_true(store_be64_get(kv.key) == sorted[i]);
        i++;
    }
    assert_int_equal(i, sizeof sorted / sizeof sorted[0]);
    store_cursor_close(&cursor);
    store_txn_abort(&txn);
}

/* --- atomicity ------------------------------------------------------------ */

static ledger_err_t write_then_fail(store_txn_t *txn, void *ctx)
{
    (void)ctx;
    for (int i = 0; i < 10; i++) {
        char key[16];
        int len = snprintf(key, sizeof key, "key-%d", i);
        ledger_err_t err = store_put(txn, STORE_DB_ACCOUNTS, key, (size_t)len, "v", 1, 0);
        if (err != LEDGER_OK)
            return err;
    }
    ledger_err_t err = store_outbox_put(txn, "fraud", "msg", 3, 1000, NULL);
    if (err != LEDGER_OK)
        return err;
    uint64_t seq;
    err = store_seq_next(txn, "transfers", &seq);
    if (err != LEDGER_OK)
        return err;
    sums_t sums = {0, 0, 0};
    append(txn, "alice", "", "open", 100, 0, &sums);
    return LEDGER_E_INVALID;
}

static void test_failing_write_fn_leaves_nothing_written(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(store_write(fx->store, write_then_fail, NULL), LEDGER_E_INVALID);
    assert_int_equal(count_of(fx, STORE_DB_ACCOUNTS), 0);
    assert_int_equal(count_of(fx, STORE_DB_OUTBOX), 0);
    assert_int_equal(count_of(fx, STORE_DB_LEDGER), 0);
    store_txn_t *txn = begin(fx, false);
    uint64_t seq = 99;
    assert_int_equal(store_seq_peek(txn, "transfers", &seq), LEDGER_OK);
    assert_int_equal(seq, 0);
    store_txn_abort(&txn);
}

static ledger_err_t write_with_children(store_txn_t *txn, void *ctx)
{
    (void)ctx;
    store_txn_t *kept = NULL, *dropped = NULL;
    ledger_err_t err = store_txn_begin_child(txn, &kept);
    if (err)
        return err;
    err = store_put(kept, STORE_DB_ACCOUNTS, "kept", 4, "1", 1, 0);
    if (!err)
        err = store_outbox_put(kept, "peer", "m1", 2, 1, NULL);
    if (err) {
        store_txn_abort(&kept);
        return err;
    }
    err = store_txn_commit(&kept);
    if (err)
        return err;
    err = store_txn_begin_child(txn, &dropped);
    if (err)
        return err;
    /* a child that wrote, also a ledger entry and an outbox entry, then was refused */
    store_put(dropped, STORE_DB_ACCOUNTS, "dropped", 7, "2", 1, 0);
    store_outbox_put(dropped, "peer", "m2", 2, 1, NULL);
    store_ledger_entry_t e = {.account = "a",
                              .transfer = "t",
                              .kind = "credit",
                              .balance_delta_minor = 5,
                              .balance_after_minor = 5};
    store_ledger_append(dropped, &e);
    store_txn_abort(&dropped);
    /* the parent goes on after the child */
    return store_put(txn, STORE_DB_ACCOUNTS, "parent", 6, "3", 1, 0);
}

static void test_child_transaction_commits_into_the_parent_or_vanishes(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(store_write(fx->store, write_with_children, NULL), LEDGER_OK);
    store_txn_t *txn = begin(fx, false);
    const void *val;
    size_t size;
    assert_int_equal(store_get(txn, STORE_DB_ACCOUNTS, "kept", 4, &val, &size), LEDGER_OK);
    assert_int_equal(store_get(txn, STORE_DB_ACCOUNTS, "parent", 6, &val, &size), LEDGER_OK);
    assert_int_equal(store_get(txn, STORE_DB_ACCOUNTS, "dropped", 7, &val, &size),
                     LEDGER_E_NOT_FOUND);
    uint64_t n = 0;
    assert_int_equal(store_count(txn, STORE_DB_OUTBOX, &n), LEDGER_OK);
    assert_int_equal(n, 1);
    assert_int_equal(store_count(txn, STORE_DB_LEDGER, &n), LEDGER_OK);
    assert_int_equal(n, 0);
    store_txn_abort(&txn);
    store_txn_t *child = NULL;
    txn = begin(fx, false);
    assert_int_equal(store_txn_begin_child(txn, &child), LEDGER_E_INVALID); /* read-only parent */
    store_txn_abort(&txn);
}

/* --- crash safety --------------------------------------------------------- */

#define CRASH_ROUNDS 8
#define CRASH_KEYS_PER_BATCH 40
#define CRASH_VALUE_BYTES 200
#define CRASH_SEED 20261125u
#define CRASH_MAX_REPORTS_BEFORE_KILL 25
#define CRASH_MAX_EXTRA_US 4000

typedef struct {
    uint64_t batch;
} crash_batch_t;

static ledger_err_t write_crash_batch(store_txn_t *txn, void *ctx)
{
    const crash_batch_t *batch = ctx;
    uint8_t value[CRASH_VALUE_BYTES];
    memset(value, (int)(batch->batch & 0xff), sizeof value);
    store_be64_put(value, batch->batch);
    for (uint32_t i = 0; i < CRASH_KEYS_PER_BATCH; i++) {
        uint8_t key[12];
        store_be64_put(key, batch->batch);
        key[8] = (uint8_t)(i >> 24);
        key[9] = (uint8_t)(i >> 16);
        key[10] = (uint8_t)(i >> 8);
        key[11] = (uint8_t)i;
        ledger_err_t err =
            store_put(txn, STORE_DB_ACCOUNTS, key, sizeof key, value, sizeof value, 0);
        if (err != LEDGER_OK)
            return err;
    }
    return LEDGER_OK;
}

/* The child: commits batches start, start+1, ... and reports each after its commit. */
static void crash_child(const char *dir, uint64_t start, int report_fd)
{
    store_t *store = NULL;
    if (store_open(dir, NULL, &store) != LEDGER_OK)
        _exit(2);
    for (uint64_t batch = start;; batch++) {
        crash_batch_t ctx = {batch};
        if (store_write(store, write_crash_batch, &ctx) != LEDGER_OK)
            _exit(3);
        if (write(report_fd, &batch, sizeof batch) != (ssize_t)sizeof batch)
            _exit(4);
    }
}

/*  Checks the store holds batches 1..n each complete and nothing else;
    returns n. Every batch up to `reported` must be there. */
static uint64_t check_whole_batches(const char *dir, uint64_t reported)
{
    store_t *store = NULL;
    assert_int_equal(store_open(dir, NULL, &store), LEDGER_OK);
    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(store, false, &txn), LEDGER_OK);
    store_cursor_t *cursor;
    assert_int_equal(store_cursor_open(txn, STORE_DB_ACCOUNTS, &cursor), LEDGER_OK);
    uint64_t batch = 0;
    uint32_t keys_in_batch = CRASH_KEYS_PER_BATCH;
    store_kv_t kv;
    for (ledger_err_t err = store_cursor_get(cursor, STORE_FIRST, &kv); err == LEDGER_OK;
         err = store_cursor_get(cursor, STORE_NEXT, &kv)) {
        assert_int_equal(kv.key_size, 12);
        assert_int_equal(kv.val_size, CRASH_VALUE_BYTES);
        uint64_t key_batch = store_be64_get(kv.key);
        assert_true(store_be64_get(kv.val) == key_batch);
        if (key_batch != batch) {
            /* A batch is either all there or not at all, and batches are contiguous. */
            assert_int_equal(keys_in_batch, CRASH_KEYS_PER_BATCH);
            assert_true(key_batch == batch + 1);
            batch = key_batch;
            keys_in_batch = 0;
        }
        keys_in_batch++;
    }
    assert_int_equal(keys_in_batch, CRASH_KEYS_PER_BATCH);
    assert_true(batch >= reported);
    store_cursor_close(&cursor);
    store_txn_abort(&txn);
    store_destroy(&store);
    return batch;
}

/*  Each round forks a child that commits batches present+1, present+2, ...
    and kills it with SIGKILL at a random point. Afterwards every batch known
    to be committed must be there and whole, and at most one more: the batch
    the child was committing (or had committed but not yet reported) when it
    died. "Known committed" is per round: the batches found after the
    previous kill plus those this round's child reported. It is not simply
    the last batch ever reported, since a batch that committed unreported in
    one round is never reported by the next round's child, which starts
    after it; counting from the last report would allow one unreported batch
    per round, not one in all. */
static void test_killed_writer_leaves_only_whole_committed_batches(void **state)
{
    fixture_t *fx = *state;
    unsigned seed = CRASH_SEED;
    uint64_t reports = 0;
    uint64_t present = 0;
    for (int round = 0; round < CRASH_ROUNDS; round++) {
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            crash_child(fx->dir, present + 1, fds[1]);
            _exit(5);
        }
        close(fds[1]);
        /* Highest batch known committed: checked present, or reported this round. */
        uint64_t known = present;
        int reports_before_kill = rand_r(&seed) % (CRASH_MAX_REPORTS_BEFORE_KILL + 1);
        uint64_t batch;
        for (int i = 0; i < reports_before_kill; i++) {
            if (read(fds[0], &batch, sizeof batch) != (ssize_t)sizeof batch)
                break;
            assert_true(batch == known + 1); /* the child commits in order, from present + 1 */
            known = batch;
            reports++;
        }
        usleep((useconds_t)(rand_r(&seed) % CRASH_MAX_EXTRA_US));
        assert_int_equal(kill(pid, SIGKILL), 0);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        while (read(fds[0], &batch, sizeof batch) == (ssize_t)sizeof batch) {
            assert_true(batch == known + 1);
            known = batch;
            reports++;
        }
        close(fds[0]);
        present = check_whole_batches(fx->dir, known);
        /* At most the one batch in flight committed without being reported. */
        assert_true(present <= known + 1);
    }
    assert_true(reports > 0);
}

/* --- map growth ----------------------------------------------------------- */

#define MAP_TEST_INITIAL_BYTES (64 * KIB)
#define MAP_TEST_MAX_BYTES (256 * KIB)
#define MAP_TEST_VALUE_BYTES 4000

typedef struct {
    int values;
    int calls;
} fill_t;

static ledger_err_t write_values(store_txn_t *txn, void *ctx)
{
    fill_t *fill = ctx;
    fill->calls++;
    static uint8_t value[MAP_TEST_VALUE_BYTES];
    for (int i = 0; i < fill->values; i++) {
        uint8_t key[8];
        store_be64_put(key, (uint64_t)i);
        ledger_err_t err =
            store_put(txn, STORE_DB_ACCOUNTS, key, sizeof key, value, sizeof value, 0);
        if (err != LEDGER_OK)
            return err;
    }
    return LEDGER_OK;
}

static const store_config_t tiny_map = {
    .map_initial_bytes = MAP_TEST_INITIAL_BYTES,
    .map_max_bytes = MAP_TEST_MAX_BYTES,
};

static void test_batch_larger_than_map_max_fails_with_map_full_and_writes_nothing(void **state)
{
    fixture_t *fx = *state;
    reopen(fx, &tiny_map);
    assert_int_equal(store_map_bytes(fx->store), MAP_TEST_INITIAL_BYTES);
    fill_t fill = {.values = (int)(2 * MAP_TEST_MAX_BYTES / MAP_TEST_VALUE_BYTES)};
    assert_int_equal(store_write(fx->store, write_values, &fill), LEDGER_E_MAP_FULL);
    assert_true(fill.calls > 1);
    assert_int_equal(store_map_bytes(fx->store), MAP_TEST_MAX_BYTES);
    assert_int_equal(count_of(fx, STORE_DB_ACCOUNTS), 0);
    assert_true(strlen(store_last_error(fx->store)) > 0);

    /* The store is still usable. */
    fill_t small = {.values = 2};
    assert_int_equal(store_write(fx->store, write_values, &small), LEDGER_OK);
    assert_int_equal(count_of(fx, STORE_DB_ACCOUNTS), 2);
}

static void test_batch_that_fits_after_growth_succeeds_and_grows_the_map(void **state)
{
    fixture_t *fx = *state;
    reopen(fx, &tiny_map);
    fill_t fill = {.values = (int)(100 * KIB / MAP_TEST_VALUE_BYTES)};
    assert_int_equal(store_write(fx->store, write_values, &fill), LEDGER_OK);
    assert_true(fill.calls > 1);
    assert_true(store_map_bytes(fx->store) > MAP_TEST_INITIAL_BYTES);
    assert_true(store_map_bytes(fx->store) <= MAP_TEST_MAX_BYTES);
    assert_int_equal(count_of(fx, STORE_DB_ACCOUNTS), (uint64_t)fill.values);
}

static void test_reopen_maps_a_data_file_larger_than_map_initial(void **state)
{
    fixture_t *fx = *state;
    store_config_t big = {.map_initial_bytes = 4096 * KIB};
    reopen(fx, &big);
    fill_t fill = {.values = (int)(600 * KIB / MAP_TEST_VALUE_BYTES)};
    assert_int_equal(store_write(fx->store, write_values, &fill), LEDGER_OK);
    store_destroy(&fx->store);

    char path[64];
    snprintf(path, sizeof path, "%s/data.mdb", fx->dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true((size_t)st.st_size > MAP_TEST_MAX_BYTES);

    store_config_t small = {.map_initial_bytes = MAP_TEST_INITIAL_BYTES,
                            .map_max_bytes = 8192 * KIB};
    assert_int_equal(store_open(fx->dir, &small, &fx->store), LEDGER_OK);
    assert_true(store_map_bytes(fx->store) >= (size_t)st.st_size);
    assert_int_equal(count_of(fx, STORE_DB_ACCOUNTS), (uint64_t)fill.values);
    fill_t more = {.values = fill.values + 1};
    assert_int_equal(store_write(fx->store, write_values, &more), LEDGER_OK);
}

static void test_open_grows_a_map_too_small_for_the_database_names(void **state)
{
    fixture_t *fx = *state;
    store_destroy(&fx->store);
    remove_tree(fx->dir);
    store_config_t one_page = {.map_initial_bytes = 4 * KIB, .map_max_bytes = 1024 * KIB};
    assert_int_equal(store_open(fx->dir, &one_page, &fx->store), LEDGER_OK);
    assert_true(store_map_bytes(fx->store) > 4 * KIB);
    fill_t fill = {.values = 3};
    assert_int_equal(store_write(fx->store, write_values, &fill), LEDGER_OK);
}

/* A reader in another thread while the map grows: growth waits for it, it waits for growth. */
typedef struct {
    store_t *store;
    atomic_int stop;
    int reads;
    ledger_err_t failure;
} reader_ctx_t;

static void *reader_main(void *arg)
{
    reader_ctx_t *ctx = arg;
    while (!atomic_load(&ctx->stop)) {
        store_txn_t *txn = NULL;
        ledger_err_t err = store_txn_begin(ctx->store, false, &txn);
        uint64_t count = 0;
        if (err == LEDGER_OK)
            err = store_count(txn, STORE_DB_ACCOUNTS, &count);
        store_txn_abort(&txn);
        if (err != LEDGER_OK) {
            ctx->failure = err;
            break;
        }
        ctx->reads++;
    }
    return NULL;
}

static void test_map_grows_while_another_thread_reads(void **state)
{
    fixture_t *fx = *state;
    store_config_t config = {.map_initial_bytes = MAP_TEST_INITIAL_BYTES,
                             .map_max_bytes = 8192 * KIB};
    reopen(fx, &config);
    reader_ctx_t ctx = {.store = fx->store, .failure = LEDGER_OK};
    atomic_init(&ctx.stop, 0);
    pthread_t reader;
    assert_int_equal(pthread_create(&reader, NULL, reader_main, &ctx), 0);
    for (int round = 1; round <= 8; round++) {
        fill_t fill = {.values = round * 60};
        assert_int_equal(store_write(fx->store, write_values, &fill), LEDGER_OK);
    }
    atomic_store(&ctx.stop, 1);
    assert_int_equal(pthread_join(reader, NULL), 0);
    assert_int_equal(ctx.failure, LEDGER_OK);
    assert_true(ctx.reads > 0);
    assert_true(store_map_bytes(fx->store) >= 2048 * KIB);
    assert_int_equal(count_of(fx, STORE_DB_ACCOUNTS), 480);
}

static void
test_growth_while_this_thread_holds_a_read_transaction_fails_instead_of_hanging(void **state)
{
    fixture_t *fx = *state;
    reopen(fx, &tiny_map);
    store_txn_t *read = begin(fx, false);
    fill_t fill = {.values = (int)(100 * KIB / MAP_TEST_VALUE_BYTES)};
    assert_int_equal(store_write(fx->store, write_values, &fill), LEDGER_E_STORE);
    assert_non_null(strstr(store_last_error(fx->store), "read transaction"));
    store_txn_abort(&read);
    assert_int_equal(count_of(fx, STORE_DB_ACCOUNTS), 0);
    assert_int_equal(store_write(fx->store, write_values, &fill), LEDGER_OK);
}

/* --- transactions --------------------------------------------------------- */

static ledger_err_t write_nothing(store_txn_t *txn, void *ctx)
{
    (void)txn;
    (void)ctx;
    return LEDGER_OK;
}

static void test_second_write_transaction_in_one_thread_is_refused(void **state)
{
    fixture_t *fx = *state;
    store_txn_t *txn = begin(fx, true);
    store_txn_t *second = NULL;
    assert_int_equal(store_txn_begin(fx->store, true, &second), LEDGER_E_INVALID);
    assert_null(second);
    assert_int_equal(store_write(fx->store, write_nothing, NULL), LEDGER_E_INVALID);
    store_txn_abort(&txn);
    assert_int_equal(store_write(fx->store, write_nothing, NULL), LEDGER_OK);
}

/* --- named sequences ------------------------------------------------------ */

static void test_seq_next_counts_from_one_and_persists_across_reopen(void **state)
{
    fixture_t *fx = *state;
    store_txn_t *txn = begin(fx, true);
    uint64_t value = 0;
    assert_int_equal(store_seq_peek(txn, "transfers", &value), LEDGER_OK);
    assert_int_equal(value, 0);
    for (uint64_t expected = 1; expected <= 3; expected++) {
        assert_int_equal(store_seq_next(txn, "transfers", &value), LEDGER_OK);
        assert_int_equal(value, expected);
    }
    assert_int_equal(store_seq_next(txn, "messages", &value), LEDGER_OK);
    assert_int_equal(value, 1);
    commit(&txn);

    reopen(fx, NULL);
    txn = begin(fx, true);
    assert_int_equal(store_seq_peek(txn, "transfers", &value), LEDGER_OK);
    assert_int_equal(value, 3);
    assert_int_equal(store_seq_next(txn, "transfers", &value), LEDGER_OK);
    assert_int_equal(value, 4);
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
    back when it commits (store.c, txn_counter): what an abort, a reader, a
    child transaction and more names than it keeps in memory must see. */
static void test_seq_values_are_kept_only_when_their_transaction_commits(void **state)
{
    fixture_t *fx = *state;
    uint64_t value = 0;
    store_txn_t *txn = begin(fx, true);
    assert_int_equal(store_seq_next(txn, "a", &value), LEDGER_OK);
    assert_int_equal(store_seq_next(txn, "a", &value), LEDGER_OK);
    assert_int_equal(value, 2);
    assert_int_equal(store_seq_peek(txn, "a", &value), LEDGER_OK);
    assert_int_equal(value, 2);
    store_txn_abort(&txn);

    txn = begin(fx, true);
    assert_int_equal(store_seq_peek(txn, "a", &value), LEDGER_OK);
    assert_int_equal(value, 0);
    assert_int_equal(store_seq_next(txn, "a", &value), LEDGER_OK);
    assert_int_equal(value, 1);
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

static void test_seq_continues_through_child_transactions(void **state)
{
    fixture_t *fx = *state;
    uint64_t value = 0;
    store_txn_t *txn = begin(fx, true);
    assert_int_equal(store_seq_next(txn, "a", &value), LEDGER_OK); /* 1, in the parent's memory */
    store_txn_t *child = NULL;
    assert_int_equal(store_txn_begin_child(txn, &child), LEDGER_OK);
    assert_int_equal(store_seq_next(child, "a", &value), LEDGER_OK);
    assert_int_equal(value, 2);
    commit(&child);
    assert_int_equal(store_seq_next(txn, "a", &value), LEDGER_OK);
    assert_int_equal(value, 3);

    assert_int_equal(store_txn_begin_child(txn, &child), LEDGER_OK);
    assert_int_equal(store_seq_next(child, "a", &value), LEDGER_OK);
    assert_int_equal(value, 4);
    store_txn_abort(&child); /* its 4 vanishes */
    assert_int_equal(store_seq_next(txn, "a", &value), LEDGER_OK);
    assert_int_equal(value, 4);
    commit(&txn);
    assert_int_equal(committed_seq(fx, "a"), 4);
}

/* --- outbox and dead letters ---------------------------------------------- */

static void test_outbox_take_due_reschedule_and_ack(void **state)
{
    fixture_t *fx = *state;
    const uint64_t now = 1000000;
    store_txn_t *txn = begin(fx, true);
    uint64_t seqs[3];
    assert_int_equal(store_outbox_put(txn, "fraud", "m1", 2, now, &seqs[0]), LEDGER_OK);
    assert_int_equal(store_outbox_put(txn, "gateway", "m2", 2, now, &seqs[1]), LEDGER_OK);
    assert_int_equal(store_outbox_put(txn, "fraud", "m3", 2, now + 50, &seqs[2]), LEDGER_OK);
    assert_true(seqs[0] < seqs[1] && seqs[1] < seqs[2]);
    commit(&txn);

    txn = begin(fx, true);
    store_outbox_entry_t due[8];
    size_t count = 99;
    assert_int_equal(store_outbox_take_due(txn, now, 0, due, 8, &count), LEDGER_OK);
    assert_int_equal(count, 2);
    assert_true(due[0].seq == seqs[0] && due[1].seq == seqs[1]);
    assert_string_equal(due[0].peer, "fraud");
    assert_string_equal(due[1].peer, "gateway");
    assert_int_equal(due[0].msg_size, 2);
    assert_memory_equal(due[0].msg, "m1", 2);
    assert_int_equal(due[0].attempts, 0);
    assert_true(due[0].created_ms == now && due[0].next_attempt_ms == now);

    /* Paging with after_seq, and max. */
    assert_int_equal(store_outbox_take_due(txn, now + 50, seqs[0], due, 8, &count), LEDGER_OK);
    assert_int_equal(count, 2);
    assert_true(due[0].seq == seqs[1] && due[1].seq == seqs[2]);
    assert_int_equal(store_outbox_take_due(txn, now + 50, 0, due, 1, &count), LEDGER_OK);
    assert_int_equal(count, 1);

    assert_int_equal(store_outbox_reschedule(txn, seqs[0], now + 1000), LEDGER_OK);
    assert_int_equal(store_outbox_take_due(txn, now + 50, 0, due, 8, &count), LEDGER_OK);
    assert_int_equal(count, 2);
    assert_true(due[0].seq == seqs[1]);
    store_outbox_entry_t entry;
    assert_int_equal(store_outbox_get(txn, seqs[0], &entry), LEDGER_OK);
    assert_int_equal(entry.attempts, 1);
    assert_true(entry.next_attempt_ms == now + 1000 && entry.created_ms == now);
    assert_memory_equal(entry.msg, "m1", 2);
    assert_int_equal(store_outbox_take_due(txn, now + 1000, 0, due, 8, &count), LEDGER_OK);
    assert_int_equal(count, 3);

    assert_int_equal(store_outbox_ack(txn, seqs[1]), LEDGER_OK);
    assert_int_equal(store_outbox_ack(txn, seqs[1]), LEDGER_E_NOT_FOUND);
    assert_int_equal(store_outbox_get(txn, seqs[1], &entry), LEDGER_E_NOT_FOUND);
    assert_int_equal(store_outbox_reschedule(txn, seqs[1], now), LEDGER_E_NOT_FOUND);
    assert_int_equal(store_outbox_next(txn, seqs[0], &entry), LEDGER_OK);
    assert_true(entry.seq == seqs[2]);
    assert_int_equal(store_outbox_next(txn, seqs[2], &entry), LEDGER_E_NOT_FOUND);
    commit(&txn);
}

static void test_outbox_seq_is_never_reused_after_ack(void **state)
{
    fixture_t *fx = *state;
    store_txn_t *txn = begin(fx, true);
    uint64_t first, second;
    assert_int_equal(store_outbox_put(txn, "fraud", "a", 1, 1, &first), LEDGER_OK);
    assert_int_equal(store_outbox_ack(txn, first), LEDGER_OK);
    commit(&txn);
    reopen(fx, NULL);
    txn = begin(fx, true);
    assert_int_equal(store_outbox_put(txn, "fraud", "b", 1, 1, &second), LEDGER_OK);
    commit(&txn);
    assert_true(second > first);
}

static void test_outbox_stats_report_depth_and_oldest_age(void **state)
{
    fixture_t *fx = *state;
    store_txn_t *txn = begin(fx, true);
    uint64_t depth = 9, age = 9;
    assert_int_equal(store_outbox_stats(txn, 5000, &depth, &age), LEDGER_OK);
    assert_true(depth == 0 && age == 0);
    uint64_t first;
    assert_int_equal(store_outbox_put(txn, "fraud", "a", 1, 1000, &first), LEDGER_OK);
    assert_int_equal(store_outbox_put(txn, "fraud", "b", 1, 3000, NULL), LEDGER_OK);
    assert_int_equal(store_outbox_stats(txn, 5000, &depth, &age), LEDGER_OK);
    assert_true(depth == 2 && age == 4000);
    assert_int_equal(store_outbox_ack(txn, first), LEDGER_OK);
    assert_int_equal(store_outbox_stats(txn, 5000, &depth, &age), LEDGER_OK);
    assert_true(depth == 1 && age == 2000);
    commit(&txn);
}

static void test_outbox_to_dead_keeps_message_code_and_reason(void **state)
{
    fixture_t *fx = *state;
    store_txn_t *txn = begin(fx, true);
    uint64_t seq;
    assert_int_equal(store_outbox_put(txn, "fraud", "poison", 6, 1000, &seq), LEDGER_OK);
    assert_int_equal(store_outbox_reschedule(txn, seq, 2000), LEDGER_OK);
    assert_int_equal(store_outbox_to_dead(txn, seq, "decode_error", "bad msgpack", 3000),
                     LEDGER_OK);
    store_outbox_entry_t entry;
    assert_int_equal(store_outbox_get(txn, seq, &entry), LEDGER_E_NOT_FOUND);
    assert_int_equal(store_outbox_to_dead(txn, seq, "x", "y", 3000), LEDGER_E_NOT_FOUND);
    commit(&txn);

    txn = begin(fx, false);
    store_dead_letter_t dead;
    assert_int_equal(store_dead_get(txn, seq, &dead), LEDGER_OK);
    assert_true(dead.id == seq && dead.created_ms == 1000 && dead.dead_ms == 3000);
    assert_int_equal(dead.attempts, 1);
    assert_string_equal(dead.peer, "fraud");
    assert_string_equal(dead.code, "decode_error");
    assert_string_equal(dead.reason, "bad msgpack");
    assert_int_equal(dead.msg_size, 6);
    assert_memory_equal(dead.msg, "poison", 6);
    assert_int_equal(store_dead_next(txn, 0, &dead), LEDGER_OK);
    assert_true(dead.id == seq);
    assert_int_equal(store_dead_next(txn, seq, &dead), LEDGER_E_NOT_FOUND);
    store_txn_abort(&txn);
}

static void test_dead_letter_replay_happens_once(void **state)
{
    fixture_t *fx = *state;
    store_txn_t *txn = begin(fx, true);
    uint64_t seq;
    assert_int_equal(store_outbox_put(txn, "gateway", "again", 5, 1000, &seq), LEDGER_OK);
    assert_int_equal(store_outbox_to_dead(txn, seq, "invalid", "", 2000), LEDGER_OK);
    commit(&txn);

    txn = begin(fx, true);
    uint64_t replayed = 0;
    assert_int_equal(store_dead_replay(txn, seq, 5000, &replayed), LEDGER_OK);
    assert_true(replayed > seq);
    assert_int_equal(store_dead_replay(txn, seq, 5000, &replayed), LEDGER_E_NOT_FOUND);
    commit(&txn);

    txn = begin(fx, true);
    assert_int_equal(store_dead_replay(txn, seq, 6000, NULL), LEDGER_E_NOT_FOUND);
    store_outbox_entry_t entry;
    assert_int_equal(store_outbox_get(txn, replayed, &entry), LEDGER_OK);
    assert_string_equal(entry.peer, "gateway");
    assert_memory_equal(entry.msg, "again", 5);
    assert_true(entry.attempts == 0 && entry.created_ms == 5000 && entry.next_attempt_ms == 5000);
    uint64_t depth, age;
    assert_int_equal(store_outbox_stats(txn, 5000, &depth, &age), LEDGER_OK);
    assert_int_equal(depth, 1);
    store_txn_abort(&txn);
    assert_int_equal(count_of(fx, STORE_DB_DEAD_LETTERS), 0);
}

static void test_corrupt_outbox_record_is_reported_as_corrupt(void **state)
{
    fixture_t *fx = *state;
    store_txn_t *txn = begin(fx, true);
    uint64_t seq;
    assert_int_equal(store_outbox_put(txn, "fraud", "hello", 5, 1000, &seq), LEDGER_OK);
    commit(&txn);
    store_destroy(&fx->store);
    /* A record that claims a longer message than it holds. */
    const uint8_t truncated[] = {1, 5, 'f',  'r', 'a', 'u', 'd', 0, 0, 0, 0,    0, 0, 0, 0, 0,
                                 0, 3, 0xe8, 0,   0,   0,   0,   0, 0, 3, 0xe8, 0, 0, 0, 9, 'h'};
    raw_edit(fx->dir, "outbox", seq, RAW_REPLACE, 0, truncated, sizeof truncated);
    assert_int_equal(store_open(fx->dir, NULL, &fx->store), LEDGER_OK);
    txn = begin(fx, false);
    store_outbox_entry_t entry;
    assert_int_equal(store_outbox_get(txn, seq, &entry), LEDGER_E_CORRUPT);
    size_t count;
    assert_int_equal(store_outbox_take_due(txn, 5000, 0, &entry, 1, &count), LEDGER_E_CORRUPT);
    store_txn_abort(&txn);
}

/* --- seen ids ------------------------------------------------------------- */

static bool seen(fixture_t *fx, const char *origin, uint64_t seq)
{
    store_txn_t *txn = begin(fx, false);
    bool is_seen = false;
    assert_int_equal(store_seen_check(txn, origin, seq, &is_seen), LEDGER_OK);
    store_txn_abort(&txn);
    return is_seen;
}

static size_t prune(fixture_t *fx, uint64_t older_than_ms, size_t max)
{
    store_txn_t *txn = begin(fx, true);
    size_t pruned = 99;
    assert_int_equal(store_seen_prune(txn, older_than_ms, max, &pruned), LEDGER_OK);
    commit(&txn);
    return pruned;
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
    ledger back (store.c, ledger_tip); an aborted transaction's entries and
    a child's must not leave a stale tip behind. */
static void test_ledger_chain_holds_across_abort_and_child_transactions(void **state)
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
    store_txn_t *child = NULL;
    assert_int_equal(store_txn_begin_child(txn, &child), LEDGER_OK);
    sums_t bob_in_child = bob;
    assert_int_equal(append(child, "bob", "t-2", "release", 0, -100, &bob_in_child), 8);
    store_txn_abort(&child); /* its entry 8 vanishes */
    assert_int_equal(append(txn, "bob", "t-2", "release", 0, -100, &bob), 8);
    assert_int_equal(store_txn_begin_child(txn, &child), LEDGER_OK);
    assert_int_equal(append(child, "alice", "t-3", "hold", 0, 7, &alice), 9);
    commit(&child);
    assert_int_equal(append(txn, "alice", "t-3", "release", 0, -7, &alice), 10);
    commit(&txn);

    store_ledger_report_t report = verify(fx);
    assert_true(report.ok);
    assert_int_equal(report.entries, 10);
}

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
    store_ledger_report_t report = verify(fx);
    assert_false(report.ok);
    assert_int_equal(report.first_bad_seq, 4);
    assert_non_null(strstr(report.problem, "contiguous"));
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
    store_ledger_report_t report = verify(fx);
    assert_false(report.ok);
    assert_int_equal(report.first_bad_seq, 7);
    assert_non_null(strstr(report.problem, "account_prev_seq 1"));
}

/*  Issue 17 point 9: store_open no longer refuses ledger format 1; the node's
    migration (store_migrate.h, accounts_migrate.h) detects and upgrades it. */
static void test_open_leaves_a_data_dir_of_ledger_format_1_to_the_migration(void **state)
{
    fixture_t *fx = *state;
    store_destroy(&fx->store);
    uint8_t key[72] = "alice";
    raw_edit_key(fx->dir, "ledger_by_account", key, sizeof key, RAW_REPLACE, 0, "", 0);
    assert_int_equal(store_open(fx->dir, NULL, &fx->store), LEDGER_OK);
    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(fx->store, false, &txn), LEDGER_OK);
    uint64_t indexed = 0;
    assert_int_equal(store_migrate_v1_index_count(txn, &indexed), LEDGER_OK);
    assert_int_equal(indexed, 1);
    store_txn_abort(&txn);
}

/* --- argument validation -------------------------------------------------- */

static void test_bad_arguments_are_refused_with_invalid_or_too_large(void **state)
{
    fixture_t *fx = *state;
    store_t *other = NULL;
    store_config_t backwards = {.map_initial_bytes = 1024 * KIB, .map_max_bytes = 64 * KIB};
    assert_int_equal(store_open(NULL, NULL, &other), LEDGER_E_INVALID);
    assert_int_equal(store_open("", NULL, &other), LEDGER_E_INVALID);
    assert_int_equal(store_open(fx->dir, NULL, NULL), LEDGER_E_INVALID);
    assert_int_equal(store_open(fx->dir, &backwards, &other), LEDGER_E_INVALID);
    /* a directory below a regular file can never be created */
    char below_file[512];
    snprintf(below_file, sizeof below_file, "%s/plain-file", fx->dir);
    FILE *plain = fopen(below_file, "w");
    assert_non_null(plain);
    fclose(plain);
    snprintf(below_file, sizeof below_file, "%s/plain-file/sub", fx->dir);
    assert_int_equal(store_open(below_file, NULL, &other), LEDGER_E_IO);
    assert_null(other);
    assert_int_equal(store_txn_begin(NULL, false, NULL), LEDGER_E_INVALID);
    assert_int_equal(store_write(fx->store, NULL, NULL), LEDGER_E_INVALID);
    assert_int_equal(store_txn_commit(NULL), LEDGER_E_INVALID);
    store_txn_abort(NULL);
    store_cursor_close(NULL);
    assert_string_equal(store_db_name(STORE_DB_OUTBOX), "outbox");
    assert_string_equal(store_db_name(STORE_DB__COUNT), "unknown");

    char long_name[STORE_ACCOUNT_MAX + 2];
    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    uint8_t big_key[600] = {0};
    const void *val;
    size_t size;

    store_txn_t *read = begin(fx, false);
    assert_int_equal(store_put(read, STORE_DB_ACCOUNTS, "k", 1, "v", 1, 0), LEDGER_E_INVALID);
    assert_int_equal(store_outbox_put(read, "fraud", "m", 1, 0, NULL), LEDGER_E_INVALID);
    store_txn_abort(&read);

    store_txn_t *txn = begin(fx, true);
    assert_int_equal(store_put(txn, STORE_DB_ACCOUNTS, NULL, 1, "v", 1, 0), LEDGER_E_INVALID);
    assert_int_equal(store_put(txn, STORE_DB_ACCOUNTS, "k", 0, "v", 1, 0), LEDGER_E_INVALID);
    assert_int_equal(store_put(txn, STORE_DB_ACCOUNTS, big_key, sizeof big_key, "v", 1, 0),
                     LEDGER_E_TOO_LARGE);
    assert_int_equal(store_put(txn, STORE_DB_ACCOUNTS, "k", 1, NULL, 1, 0), LEDGER_E_INVALID);
    assert_int_equal(store_put(txn, STORE_DB_ACCOUNTS, "k", 1, "v", 1, 0x80), LEDGER_E_INVALID);
    assert_int_equal(store_put(txn, STORE_DB__COUNT, "k", 1, "v", 1, 0), LEDGER_E_INVALID);
    uint8_t *big_value = calloc(1, STORE_VALUE_MAX + 1u);
    assert_non_null(big_value);
    assert_int_equal(store_put(txn, STORE_DB_ACCOUNTS, "k", 1, big_value, STORE_VALUE_MAX + 1u, 0),
                     LEDGER_E_TOO_LARGE);
    free(big_value);
    assert_int_equal(store_get(txn, STORE_DB_ACCOUNTS, "k", 1, NULL, &size), LEDGER_E_INVALID);
    assert_int_equal(store_get(txn, STORE_DB_ACCOUNTS, big_key, sizeof big_key, &val, &size),
                     LEDGER_E_TOO_LARGE);
    assert_int_equal(store_del(txn, STORE_DB_ACCOUNTS, NULL, 0), LEDGER_E_INVALID);
    assert_int_equal(store_count(txn, STORE_DB_ACCOUNTS, NULL), LEDGER_E_INVALID);

    store_cursor_t *cursor = NULL;
    assert_int_equal(store_cursor_open(txn, (store_db_t)-1, &cursor), LEDGER_E_INVALID);
    assert_int_equal(store_cursor_open(txn, STORE_DB_ACCOUNTS, &cursor), LEDGER_OK);
    store_kv_t kv = {0};
    assert_int_equal(store_cursor_get(cursor, (store_seek_t)42, &kv), LEDGER_E_INVALID);
    assert_int_equal(store_cursor_get(cursor, STORE_SEEK, &kv), LEDGER_E_INVALID);
    assert_int_equal(store_cursor_get(cursor, STORE_FIRST, NULL), LEDGER_E_INVALID);
    store_cursor_close(&cursor);

    uint64_t value;
    assert_int_equal(store_seq_next(txn, "", &value), LEDGER_E_INVALID);
    assert_int_equal(store_seq_next(txn, NULL, &value), LEDGER_E_INVALID);
    assert_int_equal(store_seq_next(txn, long_name, &value), LEDGER_E_INVALID);

    uint8_t *huge = calloc(1, STORE_MSG_MAX + 1);
    assert_non_null(huge);
    assert_int_equal(store_outbox_put(txn, "", "m", 1, 0, NULL), LEDGER_E_INVALID);
    assert_int_equal(store_outbox_put(txn, NULL, "m", 1, 0, NULL), LEDGER_E_INVALID);
    assert_int_equal(store_outbox_put(txn, long_name, "m", 1, 0, NULL), LEDGER_E_INVALID);
    assert_int_equal(store_outbox_put(txn, "fraud", NULL, 1, 0, NULL), LEDGER_E_INVALID);
    assert_int_equal(store_outbox_put(txn, "fraud", "m", 0, 0, NULL), LEDGER_E_INVALID);
    assert_int_equal(store_outbox_put(txn, "fraud", huge, STORE_MSG_MAX + 1, 0, NULL),
                     LEDGER_E_TOO_LARGE);
    assert_int_equal(store_outbox_put(txn, "fraud", huge, STORE_MSG_MAX, 0, NULL), LEDGER_OK);
    free(huge);
    store_outbox_entry_t entry;
    size_t count;
    assert_int_equal(store_outbox_take_due(txn, 0, 0, NULL, 4, &count), LEDGER_E_INVALID);
    assert_int_equal(store_outbox_get(txn, 1, NULL), LEDGER_E_INVALID);
    assert_int_equal(store_outbox_next(txn, 0, &entry), LEDGER_OK);

    char long_reason[STORE_REASON_MAX + 2];
    memset(long_reason, 'r', sizeof long_reason - 1);
    long_reason[sizeof long_reason - 1] = '\0';
    assert_int_equal(store_outbox_to_dead(txn, entry.seq, "", "r", 0), LEDGER_E_INVALID);
    assert_int_equal(store_outbox_to_dead(txn, entry.seq, long_name, "r", 0), LEDGER_E_INVALID);
    assert_int_equal(store_outbox_to_dead(txn, entry.seq, "c", long_reason, 0), LEDGER_E_INVALID);
    assert_int_equal(store_outbox_to_dead(txn, entry.seq, "c", NULL, 0), LEDGER_E_INVALID);

    bool is_seen;
    assert_int_equal(store_seen_put(txn, "", 1, 0), LEDGER_E_INVALID);
    assert_int_equal(store_seen_put(txn, long_name, 1, 0), LEDGER_E_INVALID);
    assert_int_equal(store_seen_check(txn, NULL, 1, &is_seen), LEDGER_E_INVALID);
    assert_int_equal(store_seen_check(txn, "fraud", 1, NULL), LEDGER_E_INVALID);

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
    assert_int_equal(store_ledger_verify(txn, NULL, NULL, NULL), LEDGER_E_INVALID);
    store_txn_abort(&txn);
}

static void test_generic_writes_to_store_owned_databases_are_refused(void **state)
{
    fixture_t *fx = *state;
    store_txn_t *txn = begin(fx, true);
    uint8_t key[8];
    store_be64_put(key, 1);
    const store_db_t owned[] = {STORE_DB_OUTBOX, STORE_DB_SEEN, STORE_DB_DEAD_LETTERS,
                                STORE_DB_LEDGER};
    for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++) {
        assert_int_equal(store_put(txn, owned[i], key, sizeof key, "x", 1, 0), LEDGER_E_INVALID);
        assert_int_equal(store_del(txn, owned[i], key, sizeof key), LEDGER_E_INVALID);
    }
    assert_int_equal(store_put(txn, STORE_DB_META, "seq:transfers", 13, "x", 1, 0),
                     LEDGER_E_INVALID);
    assert_int_equal(store_put(txn, STORE_DB_META, "store:outbox_seq", 16, "x", 1, 0),
                     LEDGER_E_INVALID);
    assert_int_equal(store_put(txn, STORE_DB_META, "node_id", 7, "accounts-1", 10, 0), LEDGER_OK);

    sums_t alice = {0, 0, 0};
    append(txn, "alice", "", "open", 100, 0, &alice);
    store_cursor_t *cursor;
    assert_int_equal(store_cursor_open(txn, STORE_DB_LEDGER, &cursor), LEDGER_OK);
    store_kv_t kv;
    assert_int_equal(store_cursor_get(cursor, STORE_FIRST, &kv), LEDGER_OK);
    assert_int_equal(store_cursor_del(cursor), LEDGER_E_INVALID);
    store_cursor_close(&cursor);
    commit(&txn);
    assert_int_equal(count_of(fx, STORE_DB_LEDGER), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(test_put_get_del_and_cursor_walk_work),
        T(test_cursor_may_be_closed_after_its_transaction_ends),
        T(test_be64_keys_walk_in_numeric_order),
        T(test_failing_write_fn_leaves_nothing_written),
        T(test_child_transaction_commits_into_the_parent_or_vanishes),
        cmocka_unit_test_setup_teardown(test_killed_writer_leaves_only_whole_committed_batches,
                                        setup_dir, teardown),
        T(test_batch_larger_than_map_max_fails_with_map_full_and_writes_nothing),
        T(test_batch_that_fits_after_growth_succeeds_and_grows_the_map),
        T(test_reopen_maps_a_data_file_larger_than_map_initial),
        T(test_open_grows_a_map_too_small_for_the_database_names),
        T(test_map_grows_while_another_thread_reads),
        T(test_growth_while_this_thread_holds_a_read_transaction_fails_instead_of_hanging),
        T(test_second_write_transaction_in_one_thread_is_refused),
        T(test_seq_next_counts_from_one_and_persists_across_reopen),
        T(test_seq_values_are_kept_only_when_their_transaction_commits),
        T(test_seq_more_names_than_kept_in_memory_all_count),
        T(test_seq_continues_through_child_transactions),
        T(test_outbox_take_due_reschedule_and_ack),
        T(test_outbox_seq_is_never_reused_after_ack),
        T(test_outbox_stats_report_depth_and_oldest_age),
        T(test_outbox_to_dead_keeps_message_code_and_reason),
        T(test_dead_letter_replay_happens_once),
        T(test_corrupt_outbox_record_is_reported_as_corrupt),
        T(test_seen_ids_are_recorded_and_pruned_by_age),
        T(test_seen_prune_stops_an_origin_at_its_first_young_id),
        T(test_ledger_seqs_are_contiguous_and_hash_chained),
        T(test_ledger_chain_holds_across_abort_and_child_transactions),
        T(test_ledger_verify_passes_and_recomputes_balances),
        T(test_ledger_verify_on_an_empty_ledger_is_ok),
        T(test_ledger_verify_reports_the_first_tampered_entry_for_every_byte),
        T(test_ledger_verify_reports_a_missing_entry_as_a_gap),
        T(test_ledger_append_refuses_after_values_that_break_running_sums),
        T(test_ledger_by_account_pages_newest_first),
        T(test_ledger_entries_chain_each_account_and_cursors_belong_to_it),
        T(test_ledger_verify_reports_a_fork_of_an_accounts_chain),
        T(test_open_leaves_a_data_dir_of_ledger_format_1_to_the_migration),
        T(test_bad_arguments_are_refused_with_invalid_or_too_large),
        T(test_generic_writes_to_store_owned_databases_are_refused),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

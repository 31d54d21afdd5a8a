/*  store_test.c: the LMDB store's environment, transactions and key/value
    access (store.c, store_kv.c): key/value basics, atomicity, crash safety,
    map growth, stale readers, opening and argument checks. The other parts of the store
    have their own files (store_seq_test.c, store_outbox_test.c,
    store_seen_test.c, store_ledger_test.c, store_verify_test.c).

    Each test opens a store in its own mkdtemp directory under /tmp and
    removes it afterwards (store_fixture.h).
*/
#define _GNU_SOURCE /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store_fixture.h"
#include "store_migrate_v1.h"
#include "test_main.h"

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

/* --- stale readers -------------------------------------------------------- */

/*  The child of test_a_killed_readers_slot_is_cleared: opens the store read-only (as
    ledger-backup does beside the live node), begins a read transaction, says so on `fd`
    and waits to be killed inside it. */
static void stale_reader_child(const char *dir, int fd)
{
    store_config_t config = {.read_only = true};
    store_t *store = NULL;
    store_txn_t *txn = NULL;
    if (store_open(dir, &config, &store) != LEDGER_OK ||
        store_txn_begin(store, false, &txn) != LEDGER_OK)
        _exit(3);
    char one = 1;
    if (write(fd, &one, 1) != 1)
        _exit(4);
    for (;;)
        pause();
}

static void test_a_killed_readers_slot_is_cleared_and_a_live_one_is_not(void **state)
{
    fixture_t *fx = *state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        stale_reader_child(fx->dir, fds[1]);
    }
    close(fds[1]);
    char one = 0;
    assert_int_equal(read(fds[0], &one, 1), 1); /* blocks until the child's reader is open */
    close(fds[0]);
    /* Our own reader and the live child's are left alone. */
    store_txn_t *txn = begin(fx, false);
    unsigned cleared = 99;
    assert_int_equal(store_reader_check(fx->store, &cleared), LEDGER_OK);
    assert_int_equal(cleared, 0);
    store_txn_abort(&txn);
    assert_int_equal(kill(pid, SIGKILL), 0);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    /* The killed reader's slot is cleared once, and only once. */
    assert_int_equal(store_reader_check(fx->store, &cleared), LEDGER_OK);
    assert_int_equal(cleared, 1);
    assert_int_equal(store_reader_check(fx->store, &cleared), LEDGER_OK);
    assert_int_equal(cleared, 0);
    assert_int_equal(store_reader_check(fx->store, NULL), LEDGER_OK);
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

    char path[TEST_DIR_BYTES + 16];
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
    test_remove_dir(fx->dir);
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

/* --- opening ------------------------------------------------------------- */

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
    assert_int_equal(store_write(fx->store, NULL, NULL), LEDGER_E_INVALID);
    store_txn_abort(NULL);
    store_cursor_close(NULL);
    assert_string_equal(store_db_name(STORE_DB_OUTBOX), "outbox");
    assert_string_equal(store_db_name(STORE_DB__COUNT), "unknown");

    uint8_t big_key[600] = {0};
    const void *val;
    size_t size;

    store_txn_t *read = begin(fx, false);
    assert_int_equal(store_put(read, STORE_DB_ACCOUNTS, "k", 1, "v", 1, 0), LEDGER_E_INVALID);
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

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

TEST_MAIN(T(test_put_get_del_and_cursor_walk_work),
          T(test_cursor_may_be_closed_after_its_transaction_ends),
          T(test_be64_keys_walk_in_numeric_order), T(test_failing_write_fn_leaves_nothing_written),
          cmocka_unit_test_setup_teardown(test_killed_writer_leaves_only_whole_committed_batches,
                                          setup_dir, teardown),
          T(test_batch_larger_than_map_max_fails_with_map_full_and_writes_nothing),
          T(test_batch_that_fits_after_growth_succeeds_and_grows_the_map),
          T(test_reopen_maps_a_data_file_larger_than_map_initial),
          T(test_open_grows_a_map_too_small_for_the_database_names),
          T(test_a_killed_readers_slot_is_cleared_and_a_live_one_is_not),
          T(test_map_grows_while_another_thread_reads),
          T(test_growth_while_this_thread_holds_a_read_transaction_fails_instead_of_hanging),
          T(test_second_write_transaction_in_one_thread_is_refused),
          T(test_open_leaves_a_data_dir_of_ledger_format_1_to_the_migration),
          T(test_bad_arguments_are_refused_with_invalid_or_too_large),
          T(test_generic_writes_to_store_owned_databases_are_refused))

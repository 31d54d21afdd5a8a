/*  store_copy_test.c: what the backup tool asks of the store: a read-only
    open (store_config_t.read_only), a compacted copy (store_copy.c,
    store_copy_compact) and raising a sequence (store_seq_raise).
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "test_main.h"
#include "test_store.h"

static const uint8_t KEY[] = "alice";
static const uint8_t VAL[] = "a value that must survive the copy";

static void put_one(store_t *store)
{
    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(store, true, &txn), LEDGER_OK);
    assert_int_equal(store_put(txn, STORE_DB_ACCOUNTS, KEY, sizeof KEY, VAL, sizeof VAL, 0),
                     LEDGER_OK);
    assert_int_equal(store_txn_commit(&txn), LEDGER_OK);
}

static void expect_one(store_t *store)
{
    store_txn_t *txn = NULL;
    const void *val;
    size_t size;
    assert_int_equal(store_txn_begin(store, false, &txn), LEDGER_OK);
    assert_int_equal(store_get(txn, STORE_DB_ACCOUNTS, KEY, sizeof KEY, &val, &size), LEDGER_OK);
    assert_int_equal(size, sizeof VAL);
    assert_memory_equal(val, VAL, sizeof VAL);
    store_txn_abort(&txn);
}

/* A read-only open beside the writer sees its data, and refuses to write. */
static void test_read_only_open_reads_beside_the_writer_and_never_writes(void **state)
{
    (void)state;
    char dir[TEST_DIR_BYTES];
    store_t *writer = NULL, *reader = NULL;
    test_store_open(dir, "store_copy_test", &writer);
    put_one(writer);
    store_config_t config = {.read_only = true};
    /* LMDB's rule is one environment per process: the test closes the writer first. */
    store_destroy(&writer);
    assert_int_equal(store_open(dir, &config, &reader), LEDGER_OK);
    expect_one(reader);
    store_txn_t *txn = NULL;
    assert_int_not_equal(store_txn_begin(reader, true, &txn), LEDGER_OK);
    assert_null(txn);
    store_destroy(&reader);
    test_remove_dir(dir);
}

/* A read-only open of a directory that does not exist creates nothing. */
static void test_read_only_open_of_a_missing_directory_creates_nothing(void **state)
{
    (void)state;
    store_config_t config = {.read_only = true};
    store_t *store = NULL;
    assert_int_equal(store_open("/tmp/store_copy_test.missing/x", &config, &store), LEDGER_E_IO);
    assert_null(store);
    struct stat st;
    assert_int_not_equal(stat("/tmp/store_copy_test.missing", &st), 0);
}

/* The copy opens on its own with the same data; a second copy into it is refused. */
static void test_copy_is_a_store_of_its_own_and_is_never_overwritten(void **state)
{
    (void)state;
    char dir[TEST_DIR_BYTES], out[TEST_DIR_BYTES];
    store_t *store = NULL, *copy = NULL;
    test_store_open(dir, "store_copy_test", &store);
    put_one(store);
    test_dir_make(out, "store_copy_out");
    assert_int_equal(store_copy_compact(store, out), LEDGER_OK);
    assert_int_equal(store_copy_compact(store, out), LEDGER_E_EXISTS);
    assert_int_equal(store_copy_compact(store, "/tmp/store_copy_test.missing"), LEDGER_E_IO);
    test_store_close(dir, &store);
    assert_int_equal(store_open(out, NULL, &copy), LEDGER_OK);
    expect_one(copy);
    store_destroy(&copy);
    test_remove_dir(out);
}

/* Raise moves a sequence up, never down, and the next value follows it. */
static void test_seq_raise_moves_up_never_down(void **state)
{
    test_store_t *ts = *state;
    store_txn_t *txn = NULL;
    uint64_t value = 0;
    assert_int_equal(store_txn_begin(ts->store, true, &txn), LEDGER_OK);
    assert_int_equal(store_seq_next(txn, "msg", &value), LEDGER_OK);
    assert_int_equal(store_seq_raise(txn, "msg", 40, &value), LEDGER_OK);
    assert_int_equal(value, 40);
    assert_int_equal(store_seq_raise(txn, "msg", 7, &value), LEDGER_OK);
    assert_int_equal(value, 40);
    assert_int_equal(store_txn_commit(&txn), LEDGER_OK);
    assert_int_equal(store_txn_begin(ts->store, true, &txn), LEDGER_OK);
    assert_int_equal(store_seq_next(txn, "msg", &value), LEDGER_OK);
    assert_int_equal(value, 41);
    assert_int_equal(store_seq_raise(txn, "", 1, NULL), LEDGER_E_INVALID);
    store_txn_abort(&txn);
}

TEST_MAIN(cmocka_unit_test(test_read_only_open_reads_beside_the_writer_and_never_writes),
          cmocka_unit_test(test_read_only_open_of_a_missing_directory_creates_nothing),
          cmocka_unit_test(test_copy_is_a_store_of_its_own_and_is_never_overwritten),
          cmocka_unit_test_setup_teardown(test_seq_raise_moves_up_never_down, test_store_setup,
                                          test_store_teardown))

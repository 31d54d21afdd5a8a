/*  test_store.h: the fixture most unit tests start from, a store open in a
    temporary directory of its own (test_dir.h), closed and removed after
    the test. Header-only; include after cmocka.h.

    test_store_open / test_store_close work on a fixture's own `dir` and
    `store` fields; a test whose state is nothing more than that uses
    test_store_setup / test_store_teardown (state: a test_store_t), or
    TEST_STORE_CASE(test) in its list of tests. */
#ifndef LEDGER_TEST_STORE_H
#define LEDGER_TEST_STORE_H

#include <stdint.h>
#include <stdlib.h>

#include "store.h"
#include "test_dir.h"

typedef struct {
    char dir[TEST_DIR_BYTES];
    store_t *store;
} test_store_t;

/* Makes the directory "/tmp/<name>.XXXXXX" and opens a store in it (default configuration). */
static inline void test_store_open(char dir[TEST_DIR_BYTES], const char *name, store_t **store)
{
    test_dir_make(dir, name);
    assert_int_equal(store_open(dir, NULL, store), LEDGER_OK);
}

/* Closes the store and removes its directory. */
static inline void test_store_close(const char *dir, store_t **store)
{
    store_destroy(store);
    assert_null(*store);
    test_remove_dir(dir);
}

/* test_store_open, then a write transaction on it in *txn (tests that write without committing). */
static inline void test_store_open_writing(char dir[TEST_DIR_BYTES], const char *name,
                                           store_t **store, store_txn_t **txn)
{
    test_store_open(dir, name, store);
    assert_int_equal(store_txn_begin(*store, true, txn), LEDGER_OK);
}

/* Aborts *txn, then test_store_close. */
static inline void test_store_close_writing(const char *dir, store_t **store, store_txn_t **txn)
{
    store_txn_abort(txn);
    test_store_close(dir, store);
}

/* The number of entries in table `db`, read in a transaction of its own. */
static inline uint64_t test_store_count(store_t *store, store_db_t db)
{
    store_txn_t *txn = NULL;
    uint64_t n = 0;
    assert_int_equal(store_txn_begin(store, false, &txn), LEDGER_OK);
    assert_int_equal(store_count(txn, db, &n), LEDGER_OK);
    store_txn_abort(&txn);
    return n;
}

static inline int test_store_setup(void **state)
{
    test_store_t *ts = calloc(1, sizeof *ts);
    assert_non_null(ts);
    test_store_open(ts->dir, "store_test", &ts->store);
    *state = ts;
    return 0;
}

static inline int test_store_teardown(void **state)
{
    test_store_t *ts = *state;
    test_store_close(ts->dir, &ts->store);
    free(ts);
    return 0;
}

/* A cmocka test that runs on a fresh test_store_t (its state). */
#define TEST_STORE_CASE(test)                                                                      \
    cmocka_unit_test_setup_teardown(test, test_store_setup, test_store_teardown)

#endif

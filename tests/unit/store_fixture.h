/*  store_fixture.h: what the store's unit tests share (header-only).

    A fixture that opens a store in its own mkdtemp directory under /tmp and
    removes it afterwards (setup / setup_dir / teardown, on test_store.h's
    test_store_t), short helpers for
    transactions, raw LMDB edits behind the store's back (for the tamper
    tests), and a small double-entry sample ledger. Include after cmocka.h.
*/
#ifndef LEDGER_STORE_FIXTURE_H
#define LEDGER_STORE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lmdb.h>

#include "store.h"
#include "test_store.h"

#define KIB ((size_t)1024)

typedef test_store_t fixture_t;

/* --- fixture -------------------------------------------------------------- */

/* The directory only: the test opens the store itself. */
static inline int setup_dir(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    test_dir_make(fx->dir, "store_test");
    *state = fx;
    return 0;
}

static inline int setup(void **state)
{
    return test_store_setup(state);
}

static inline int teardown(void **state)
{
    return test_store_teardown(state);
}

static inline void reopen(fixture_t *fx, const store_config_t *config)
{
    store_destroy(&fx->store);
    assert_int_equal(store_open(fx->dir, config, &fx->store), LEDGER_OK);
}

static inline store_txn_t *begin(fixture_t *fx, bool write)
{
    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(fx->store, write, &txn), LEDGER_OK);
    assert_non_null(txn);
    return txn;
}

static inline void commit(store_txn_t **txn)
{
    assert_int_equal(store_txn_commit(txn), LEDGER_OK);
    assert_null(*txn);
}

static inline uint64_t count_of(fixture_t *fx, store_db_t db)
{
    return test_store_count(fx->store, db);
}

static inline void put_text(store_txn_t *txn, store_db_t db, const char *key, const char *val)
{
    assert_int_equal(store_put(txn, db, key, strlen(key), val, strlen(val), 0), LEDGER_OK);
}

/* A name one character over the store's limit for names (STORE_ACCOUNT_MAX), for refusal tests. */
static inline const char *too_long_name(void)
{
    static char name[STORE_ACCOUNT_MAX + 2];
    memset(name, 'x', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    return name;
}

/* --- raw LMDB access, for tampering --------------------------------------- */

typedef enum { RAW_FLIP_BYTE, RAW_DELETE, RAW_REPLACE } raw_edit_t;

/* Edits the record under `key` of sub-database `db` behind the store's back (store closed). */
static inline void raw_edit_key(const char *dir, const char *db, const void *key, size_t key_size,
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
static inline void raw_edit(const char *dir, const char *db, uint64_t seq, raw_edit_t edit,
                            size_t offset, const void *replacement, size_t replacement_size)
{
    uint8_t key[8];
    store_be64_put(key, seq);
    raw_edit_key(dir, db, key, sizeof key, edit, offset, replacement, replacement_size);
}

static inline size_t raw_value_size(const char *dir, const char *db, uint64_t seq)
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
static inline uint64_t append(store_txn_t *txn, const char *account, const char *transfer,
                              const char *kind, int64_t balance_delta, int64_t held_delta,
                              sums_t *sums)
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
static inline void append_sample_ledger(fixture_t *fx, sums_t *alice, sums_t *bob)
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

static inline store_ledger_report_t verify(fixture_t *fx)
{
    store_txn_t *txn = begin(fx, false);
    store_ledger_report_t report;
    assert_int_equal(store_ledger_verify(txn, NULL, NULL, &report), LEDGER_OK);
    store_txn_abort(&txn);
    return report;
}

#endif

/*  test_ledger_v1.h: plants a ledger of format 1 (the build before commit
    2029660: records without account_prev_seq, a ledger_by_account index;
    layout in store/store_migrate_v1.c) with raw LMDB writes, for the tests
    of the migration to format 2. Header-only, for the unit tests; links
    LMDB, core (record, sha256) and store (store_raw.h). */
#ifndef LEDGER_TEST_LEDGER_V1_H
#define LEDGER_TEST_LEDGER_V1_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <lmdb.h>

#include "record.h"
#include "sha256.h"
#include "store.h"
#include "store_migrate_v1.h"
#include "store_raw.h"

#define TEST_V1_ACCOUNTS_MAX 8
#define TEST_V1_RECORD_MAX 256

typedef struct {
    const char *account;
    int64_t delta; /* balance delta; the after values are the account's running sum */
} test_v1_entry_t;

typedef struct {
    const test_v1_entry_t *entries;
    size_t count;
    uint64_t tamper_seq; /* 0: none; else this entry's hash is wrong */
} test_v1_plant_t;

static inline int64_t *test_v1_sum(const char *names[], int64_t sums[], const char *account)
{
    for (size_t i = 0; i < TEST_V1_ACCOUNTS_MAX; i++) {
        if (!names[i]) {
            names[i] = account;
            return &sums[i];
        }
        if (strcmp(names[i], account) == 0)
            return &sums[i];
    }
    return NULL;
}

/* A store_write_fn: the entries of `arg` (test_v1_plant_t) as seqs 1.., with their index. */
static inline ledger_err_t test_v1_plant(store_txn_t *txn, void *arg)
{
    const test_v1_plant_t *p = arg;
    MDB_txn *mtxn = store_raw_txn(txn);
    MDB_dbi index;
    if (mdb_dbi_open(mtxn, STORE_MIGRATE_V1_INDEX_DB, MDB_CREATE, &index) != 0)
        return LEDGER_E_STORE;
    const char *names[TEST_V1_ACCOUNTS_MAX] = {0};
    int64_t sums[TEST_V1_ACCOUNTS_MAX] = {0};
    uint8_t prev[STORE_HASH_SIZE] = {0};
    for (size_t i = 0; i < p->count; i++) {
        uint64_t seq = i + 1;
        int64_t *sum = test_v1_sum(names, sums, p->entries[i].account);
        if (!sum)
            return LEDGER_E_INVALID;
        *sum += p->entries[i].delta;
        uint8_t rec[TEST_V1_RECORD_MAX];
        record_writer_t w = {rec, sizeof rec, 0, true};
        record_put_u8(&w, 1);
        record_put_u64(&w, seq);
        record_put_str8(&w, p->entries[i].account);
        record_put_str8(&w, "t1");
        record_put_str8(&w, "credit");
        record_put_u64(&w, (uint64_t)p->entries[i].delta);
        record_put_u64(&w, 0);
        record_put_u64(&w, (uint64_t)*sum);
        record_put_u64(&w, 0);
        record_put_u64(&w, 1000 + seq);
        uint8_t hash[STORE_HASH_SIZE];
        const sha256_part_t parts[] = {{prev, sizeof prev}, {rec + 1, w.len - 1}};
        if (sha256_parts(parts, 2, hash) != LEDGER_OK)
            return LEDGER_E_NOMEM;
        if (seq == p->tamper_seq)
            hash[0] ^= 1;
        record_put_bytes(&w, prev, sizeof prev);
        record_put_bytes(&w, hash, sizeof hash);
        if (!w.ok)
            return LEDGER_E_TOO_LARGE;
        memcpy(prev, hash, sizeof prev);
        uint8_t key[8];
        store_be64_put(key, seq);
        MDB_val k = {sizeof key, key}, v = {w.len, rec};
        if (mdb_put(mtxn, store_raw_dbi(txn, STORE_DB_LEDGER), &k, &v, 0) != 0)
            return LEDGER_E_STORE;
        uint8_t ikey[STORE_ACCOUNT_MAX + 8] = {0};
        memcpy(ikey, p->entries[i].account, strlen(p->entries[i].account));
        store_be64_put(ikey + STORE_ACCOUNT_MAX, seq);
        MDB_val ik = {sizeof ikey, ikey}, iv = {0, ""};
        if (mdb_put(mtxn, index, &ik, &iv, 0) != 0)
            return LEDGER_E_STORE;
    }
    return LEDGER_OK;
}

#endif

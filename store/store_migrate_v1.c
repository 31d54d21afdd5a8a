/*  store_migrate_v1.c: ledger format 1 -> 2 (store_migrate_v1.h says why
    entries are re-encoded and how the old chain stays auditable).

    Format-1 ledger record (the build before commit 2029660), version 1:
      u8 version (1) | fields | prev_hash[32] | hash[32]
    where fields =
      be64 seq | u8 account_len | account | u8 transfer_len | transfer |
      u8 kind_len | kind | be64 balance_delta | be64 held_delta |
      be64 balance_after | be64 held_after | be64 ts_ms
    and hash = SHA-256(prev_hash || fields); signed values as two's
    complement. Index ledger_by_account: key = account NUL-padded to
    STORE_ACCOUNT_MAX bytes + be64 seq, empty value.

    In one write transaction:
      1. walk the old ledger in seq order, verify its chain, find each
         entry's previous entry of its account in the index, and copy
         (account_prev_seq, old record) to a scratch table;
      2. empty the ledger and re-append every entry from the scratch table
         through store_ledger_append (version 2, new hash chain; it checks
         each entry's after values continue its account's chain);
      3. walk the index once more: each account's last key is its newest
         entry (head_fn); the index must hold exactly the ledger's entries;
      4. record the old tip, drop the index and the scratch table.
*/
#include "store_migrate_v1.h"
#include "store.h"
#include "store_internal.h"
#include "text.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "record.h"
#include "sha256.h"
#include "store_raw.h"

#define V1_RECORD_VERSION 1
#define V1_INDEX_KEY_BYTES (STORE_ACCOUNT_MAX + 8)
#define SCRATCH_DB "migrate_v1_scratch" /* seq -> be64 account_prev_seq | old record */
#define SEQ_BYTES 8
#define TIP_BYTES (SEQ_BYTES + STORE_HASH_SIZE)

static MDB_val mval(const void *data, size_t size)
{
    MDB_val v = {.mv_size = size, .mv_data = (void *)data};
    return v;
}

/* Opens a table the store does not name; MDB_NOTFOUND (as LEDGER_E_NOT_FOUND) if absent. */
static ledger_err_t extra_db_open(store_txn_t *txn, const char *name, unsigned flags, MDB_dbi *dbi)
{
    return store_raw_rc(txn, mdb_dbi_open(store_raw_txn(txn), name, flags, dbi), "mdb_dbi_open");
}

ledger_err_t store_migrate_v1_index_count(store_txn_t *txn, uint64_t *count_out)
{
    assert(txn && count_out);
    MDB_dbi dbi;
    ledger_err_t err = extra_db_open(txn, STORE_MIGRATE_V1_INDEX_DB, 0, &dbi);
    if (err == LEDGER_E_NOT_FOUND) {
        *count_out = 0;
        return LEDGER_OK;
    }
    MDB_stat st;
    if (err == LEDGER_OK)
        err = store_raw_rc(txn, mdb_stat(store_raw_txn(txn), dbi, &st), "mdb_stat (index)");
    if (err == LEDGER_OK)
        *count_out = st.ms_entries;
    return err;
}

/* --- the old record ------------------------------------------------------------ */

typedef struct {
    store_ledger_entry_t entry; /* account_prev_seq 0 */
    const uint8_t *fields;      /* the hashed bytes, inside the record */
    size_t fields_size;
} v1_entry_t;

static bool v1_parse(const void *data, size_t size, v1_entry_t *out)
{
    memset(out, 0, sizeof *out);
    record_reader_t r = {data, size, 0, true};
    if (record_get_u8(&r) != V1_RECORD_VERSION)
        return false;
    size_t fields_at = r.pos;
    store_ledger_entry_t *e = &out->entry;
    e->seq = record_get_u64(&r);
    record_get_str8(&r, e->account, STORE_ACCOUNT_MAX);
    record_get_str8(&r, e->transfer, STORE_TRANSFER_MAX);
    record_get_str8(&r, e->kind, STORE_KIND_MAX);
    e->balance_delta_minor = record_get_i64(&r);
    e->held_delta_minor = record_get_i64(&r);
    e->balance_after_minor = record_get_i64(&r);
    e->held_after_minor = record_get_i64(&r);
    e->ts_ms = record_get_u64(&r);
    out->fields = (const uint8_t *)data + fields_at;
    out->fields_size = r.pos - fields_at;
    const uint8_t *prev = record_take(&r, STORE_HASH_SIZE);
    const uint8_t *hash = record_take(&r, STORE_HASH_SIZE);
    if (!record_done(&r) || !e->account[0] || !e->kind[0])
        return false;
    memcpy(e->prev_hash, prev, STORE_HASH_SIZE);
    memcpy(e->hash, hash, STORE_HASH_SIZE);
    return true;
}

/* --- 1. verify the old chain, copy it with each entry's account_prev_seq ------ */

typedef struct {
    store_txn_t *txn;
    MDB_dbi index;
    MDB_dbi scratch;
    MDB_cursor *index_cursor;
    store_migrate_v1_report_t *report;
    char *why;
    size_t why_size;
} walk_t;

static void index_key(const char *account, uint64_t seq, uint8_t key[V1_INDEX_KEY_BYTES])
{
    memset(key, 0, STORE_ACCOUNT_MAX);
    memcpy(key, account, strlen(account));
    store_be64_put(key + STORE_ACCOUNT_MAX, seq);
}

/* The account's entry before `seq` in the index (0: none); LEDGER_E_CORRUPT if seq is not in it. */
static ledger_err_t index_prev(walk_t *w, const store_ledger_entry_t *e, uint64_t *prev_out)
{
    uint8_t key[V1_INDEX_KEY_BYTES];
    index_key(e->account, e->seq, key);
    MDB_val k = mval(key, sizeof key), v;
    int rc = mdb_cursor_get(w->index_cursor, &k, &v, MDB_SET);
    if (rc == MDB_NOTFOUND) {
        text_format(w->why, w->why_size, "format-1 entry %llu of %s is missing from %s",
                    (unsigned long long)e->seq, e->account, STORE_MIGRATE_V1_INDEX_DB);
        return LEDGER_E_CORRUPT;
    }
    if (rc != 0)
        return store_raw_rc(w->txn, rc, "mdb_cursor_get (index)");
    *prev_out = 0;
    rc = mdb_cursor_get(w->index_cursor, &k, &v, MDB_PREV);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return store_raw_rc(w->txn, rc, "mdb_cursor_get (index)");
    if (rc == 0 && k.mv_size == V1_INDEX_KEY_BYTES && !memcmp(k.mv_data, key, STORE_ACCOUNT_MAX))
        *prev_out = store_be64_get((const uint8_t *)k.mv_data + STORE_ACCOUNT_MAX);
    return LEDGER_OK;
}

/* Checks one old entry against the chain so far; copies it to the scratch table. */
static ledger_err_t walk_one(walk_t *w, const MDB_val *k, const MDB_val *v,
                             uint8_t prev_hash[STORE_HASH_SIZE])
{
    uint64_t expected = w->report->entries + 1;
    v1_entry_t old;
    if (k->mv_size != SEQ_BYTES || !v1_parse(v->mv_data, v->mv_size, &old) ||
        old.entry.seq != store_be64_get(k->mv_data)) {
        text_format(w->why, w->why_size, "ledger entry %llu is not a format-1 record",
                    (unsigned long long)expected);
        return LEDGER_E_CORRUPT;
    }
    uint8_t hash[STORE_HASH_SIZE];
    const sha256_part_t parts[] = {{prev_hash, STORE_HASH_SIZE}, {old.fields, old.fields_size}};
    ledger_err_t err = sha256_parts(parts, 2, hash);
    if (err != LEDGER_OK)
        return err;
    const char *problem = old.entry.seq != expected ? "seq out of order"
                          : memcmp(old.entry.prev_hash, prev_hash, STORE_HASH_SIZE) ? "prev_hash "
                                                                                      "breaks the "
                                                                                      "chain"
                          : memcmp(old.entry.hash, hash, STORE_HASH_SIZE) ? "hash does not match"
                                                                          : NULL;
    if (problem) {
        text_format(w->why, w->why_size,
                    "the format-1 chain does not verify at entry %llu (%s): nothing was changed",
                    (unsigned long long)expected, problem);
        return LEDGER_E_CORRUPT;
    }
    memcpy(prev_hash, hash, STORE_HASH_SIZE);
    uint64_t prev_seq = 0;
    err = index_prev(w, &old.entry, &prev_seq);
    if (err != LEDGER_OK)
        return err;
    MDB_val sk = *k, sv = {.mv_size = SEQ_BYTES + v->mv_size, .mv_data = NULL};
    int rc = mdb_put(store_raw_txn(w->txn), w->scratch, &sk, &sv, MDB_RESERVE | MDB_APPEND);
    if (rc != 0)
        return store_raw_rc(w->txn, rc, "mdb_put (scratch)");
    store_be64_put(sv.mv_data, prev_seq);
    memcpy((uint8_t *)sv.mv_data + SEQ_BYTES, v->mv_data, v->mv_size);
    w->report->entries++;
    return LEDGER_OK;
}

static ledger_err_t walk_old(walk_t *w)
{
    MDB_cursor *cursor;
    ledger_err_t err = store_raw_rc(
        w->txn,
        mdb_cursor_open(store_raw_txn(w->txn), store_raw_dbi(w->txn, STORE_DB_LEDGER), &cursor),
        "mdb_cursor_open (ledger)");
    if (err != LEDGER_OK)
        return err;
    uint8_t prev_hash[STORE_HASH_SIZE] = {0};
    MDB_val k, v;
    int rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST);
    for (; rc == 0 && err == LEDGER_OK; rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT))
        err = walk_one(w, &k, &v, prev_hash);
    mdb_cursor_close(cursor);
    if (err == LEDGER_OK && rc != MDB_NOTFOUND)
        err = store_raw_rc(w->txn, rc, "mdb_cursor_get (ledger)");
    if (err == LEDGER_OK) {
        w->report->tip_seq = w->report->entries;
        memcpy(w->report->old_tip_hash, prev_hash, STORE_HASH_SIZE);
    }
    return err;
}

/* --- 2. the new chain --------------------------------------------------------- */

static ledger_err_t append_one(walk_t *w, const MDB_val *v)
{
    v1_entry_t old;
    if (v->mv_size < SEQ_BYTES ||
        !v1_parse((const uint8_t *)v->mv_data + SEQ_BYTES, v->mv_size - SEQ_BYTES, &old))
        return LEDGER_E_CORRUPT; /* written by walk_one in this transaction */
    store_ledger_entry_t e = old.entry;
    uint64_t seq = e.seq;
    e.account_prev_seq = store_be64_get(v->mv_data);
    ledger_err_t err = store_ledger_append_clamped(w->txn, &e, false); /* ts kept as it was */
    if (err == LEDGER_E_INVALID) {
        text_format(w->why, w->why_size,
                    "format-1 entry %llu does not continue the balance or held amount of %s's "
                    "previous entry: nothing was changed",
                    (unsigned long long)seq, old.entry.account);
        return LEDGER_E_CORRUPT;
    }
    if (err == LEDGER_OK && e.seq != seq)
        return LEDGER_E_CORRUPT; /* the emptied ledger appends from 1, like the old one */
    if (err == LEDGER_OK)
        memcpy(w->report->new_tip_hash, e.hash, STORE_HASH_SIZE);
    return err;
}

static ledger_err_t append_all(walk_t *w)
{
    MDB_txn *mtxn = store_raw_txn(w->txn);
    ledger_err_t err = store_raw_rc(
        w->txn, mdb_drop(mtxn, store_raw_dbi(w->txn, STORE_DB_LEDGER), 0), "mdb_drop (ledger)");
    MDB_cursor *cursor;
    if (err == LEDGER_OK)
        err = store_raw_rc(w->txn, mdb_cursor_open(mtxn, w->scratch, &cursor),
                           "mdb_cursor_open (scratch)");
    if (err != LEDGER_OK)
        return err;
    MDB_val k, v;
    int rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST);
    for (; rc == 0 && err == LEDGER_OK; rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT))
        err = append_one(w, &v);
    mdb_cursor_close(cursor);
    if (err == LEDGER_OK && rc != MDB_NOTFOUND)
        err = store_raw_rc(w->txn, rc, "mdb_cursor_get (scratch)");
    return err;
}

/* --- 3. heads, from the index ----------------------------------------------------- */

static ledger_err_t head_call(walk_t *w, uint64_t seq, store_migrate_v1_head_fn head_fn, void *arg)
{
    store_ledger_entry_t newest;
    ledger_err_t err = store_ledger_get(w->txn, seq, &newest);
    if (err == LEDGER_E_NOT_FOUND) {
        text_format(w->why, w->why_size, "%s names entry %llu, which the ledger does not have",
                    STORE_MIGRATE_V1_INDEX_DB, (unsigned long long)seq);
        return LEDGER_E_CORRUPT;
    }
    if (err == LEDGER_OK)
        err = head_fn(w->txn, &newest, arg);
    if (err == LEDGER_OK)
        w->report->accounts++;
    return err;
}

/* Each account's last index key is its newest entry; the index holds the ledger's entries only. */
static ledger_err_t heads(walk_t *w, store_migrate_v1_head_fn head_fn, void *arg)
{
    uint64_t indexed = 0, last_seq = 0;
    uint8_t last_account[STORE_ACCOUNT_MAX] = {0};
    ledger_err_t err = LEDGER_OK;
    MDB_val k, v;
    int rc = mdb_cursor_get(w->index_cursor, &k, &v, MDB_FIRST);
    for (; rc == 0 && err == LEDGER_OK; rc = mdb_cursor_get(w->index_cursor, &k, &v, MDB_NEXT)) {
        if (k.mv_size != V1_INDEX_KEY_BYTES) {
            text_format(w->why, w->why_size, "a %s key is %zu bytes", STORE_MIGRATE_V1_INDEX_DB,
                        k.mv_size);
            return LEDGER_E_CORRUPT;
        }
        if (last_seq && memcmp(k.mv_data, last_account, STORE_ACCOUNT_MAX) != 0)
            err = head_call(w, last_seq, head_fn, arg);
        memcpy(last_account, k.mv_data, STORE_ACCOUNT_MAX);
        last_seq = store_be64_get((const uint8_t *)k.mv_data + STORE_ACCOUNT_MAX);
        indexed++;
    }
    if (err == LEDGER_OK && rc != MDB_NOTFOUND)
        err = store_raw_rc(w->txn, rc, "mdb_cursor_get (index)");
    if (err == LEDGER_OK && last_seq)
        err = head_call(w, last_seq, head_fn, arg);
    if (err == LEDGER_OK && indexed != w->report->entries) {
        text_format(w->why, w->why_size, "%s has %llu entries for %llu ledger entries",
                    STORE_MIGRATE_V1_INDEX_DB, (unsigned long long)indexed,
                    (unsigned long long)w->report->entries);
        err = LEDGER_E_CORRUPT;
    }
    return err;
}

/* --- 4. the old tip, and the tables of format 1 go -------------------------------- */

static ledger_err_t finish(walk_t *w)
{
    uint8_t tip[TIP_BYTES];
    store_be64_put(tip, w->report->tip_seq);
    memcpy(tip + SEQ_BYTES, w->report->old_tip_hash, STORE_HASH_SIZE);
    MDB_val k = mval(STORE_MIGRATE_V1_TIP_KEY, sizeof STORE_MIGRATE_V1_TIP_KEY - 1);
    MDB_val v = mval(tip, sizeof tip);
    MDB_txn *mtxn = store_raw_txn(w->txn);
    ledger_err_t err = LEDGER_OK;
    if (w->report->entries > 0)
        err = store_raw_rc(w->txn, mdb_put(mtxn, store_raw_dbi(w->txn, STORE_DB_META), &k, &v, 0),
                           "mdb_put (v1 tip)");
    mdb_cursor_close(w->index_cursor);
    w->index_cursor = NULL;
    if (err == LEDGER_OK)
        err = store_raw_rc(w->txn, mdb_drop(mtxn, w->index, 1), "mdb_drop (index)");
    if (err == LEDGER_OK)
        err = store_raw_rc(w->txn, mdb_drop(mtxn, w->scratch, 1), "mdb_drop (scratch)");
    return err;
}

static ledger_err_t open_tables(walk_t *w)
{
    ledger_err_t err = extra_db_open(w->txn, STORE_MIGRATE_V1_INDEX_DB, 0, &w->index);
    if (err == LEDGER_E_NOT_FOUND)
        return LEDGER_E_NOT_FOUND; /* no format-1 index: nothing to do */
    if (err == LEDGER_OK)
        err = extra_db_open(w->txn, SCRATCH_DB, MDB_CREATE, &w->scratch);
    if (err == LEDGER_OK)
        err = store_raw_rc(w->txn, mdb_drop(store_raw_txn(w->txn), w->scratch, 0),
                           "mdb_drop (scratch)");
    if (err == LEDGER_OK)
        err =
            store_raw_rc(w->txn, mdb_cursor_open(store_raw_txn(w->txn), w->index, &w->index_cursor),
                         "mdb_cursor_open (index)");
    return err;
}

ledger_err_t store_migrate_v1_ledger(store_txn_t *txn, store_migrate_v1_head_fn head_fn, void *arg,
                                     store_migrate_v1_report_t *report_out, char *why,
                                     size_t why_size)
{
    assert(txn && head_fn && report_out);
    memset(report_out, 0, sizeof *report_out);
    walk_t w = {.txn = txn, .report = report_out, .why = why, .why_size = why_size};
    ledger_err_t err = open_tables(&w);
    if (err == LEDGER_E_NOT_FOUND) {
        uint64_t entries = 0;
        err = store_count(txn, STORE_DB_LEDGER, &entries);
        if (err == LEDGER_OK && entries > 0) {
            text_format(why, why_size, "the ledger has %llu entries but no %s index",
                        (unsigned long long)entries, STORE_MIGRATE_V1_INDEX_DB);
            err = LEDGER_E_CORRUPT;
        }
        return err;
    }
    if (err == LEDGER_OK)
        err = walk_old(&w);
    if (err == LEDGER_OK)
        err = append_all(&w);
    if (err == LEDGER_OK)
        err = heads(&w, head_fn, arg);
    if (err == LEDGER_OK)
        err = finish(&w);
    if (w.index_cursor)
        mdb_cursor_close(w.index_cursor);
    return err;
}

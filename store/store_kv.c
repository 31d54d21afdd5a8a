/*  store_kv.c: the store's generic key/value access and cursors (store.h,
    "key/value" and "keys").

    The nodes' own tables are plain key/value sub-databases; this file
    reads and writes them, and refuses generic writes to the databases and
    META keys whose formats the store keeps itself (the outbox, seen ids,
    dead letters, the ledger, "seq:" and "store:" keys). It also holds the
    small helpers the other store files share: the be64 key codec, the text
    check and raw LMDB cursors.
*/
#include "store.h"
#include "store_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define BYTE_BITS 8
#define BYTE_MASK 0xffu

/* --- small helpers -------------------------------------------------------- */

void store_be64_put(uint8_t out[STORE_BE64_BYTES], uint64_t value)
{
    for (int i = STORE_BE64_BYTES - 1; i >= 0; i--) {
        out[i] = (uint8_t)(value & BYTE_MASK);
        value >>= BYTE_BITS;
    }
}

uint64_t store_be64_get(const uint8_t in[STORE_BE64_BYTES])
{
    uint64_t value = 0;
    for (int i = 0; i < STORE_BE64_BYTES; i++)
        value = (value << BYTE_BITS) | in[i];
    return value;
}

bool store_text_ok(const char *text, size_t max, bool allow_empty, size_t *len_out)
{
    if (!text)
        return false;
    size_t len = strnlen(text, max + 1);
    if (len > max || (len == 0 && !allow_empty))
        return false;
    *len_out = len;
    return true;
}

static bool db_ok(store_db_t db)
{
    return (unsigned)db < STORE_DB__COUNT;
}

static bool has_prefix(const void *key, size_t key_size, const char *prefix, size_t prefix_len)
{
    return key_size >= prefix_len && !memcmp(key, prefix, prefix_len);
}

/*  Whether generic put / del may touch `key` in `db`. The ledger is
    append-only, and the outbox, seen ids, dead letters and the store's META
    keys have formats that only the store writes. */
static bool db_key_writable(store_db_t db, const void *key, size_t key_size)
{
    switch (db) {
    case STORE_DB_OUTBOX:
    case STORE_DB_SEEN:
    case STORE_DB_DEAD_LETTERS:
    case STORE_DB_LEDGER:
        return false;
    case STORE_DB_META:
        return !has_prefix(key, key_size, STORE_META_SEQ_PREFIX, STORE_META_SEQ_PREFIX_LEN) &&
               !has_prefix(key, key_size, STORE_META_STORE_PREFIX, STORE_META_STORE_PREFIX_LEN);
    default:
        return true;
    }
}

static ledger_err_t key_ok(const store_t *store, const void *key, size_t key_size)
{
    if (!key || key_size == 0)
        return LEDGER_E_INVALID;
    if (key_size > store->max_key_bytes)
        return LEDGER_E_TOO_LARGE;
    return LEDGER_OK;
}

ledger_err_t store_db_cursor_open(store_txn_t *txn, store_db_t db, MDB_cursor **cursor_out)
{
    return store_txn_rc(txn, mdb_cursor_open(txn->txn, txn->store->dbi[db], cursor_out),
                        "mdb_cursor_open");
}

/* --- key/value ------------------------------------------------------------ */

ledger_err_t store_get(store_txn_t *txn, store_db_t db, const void *key, size_t key_size,
                       const void **val_out, size_t *val_size_out)
{
    assert(txn);
    if (!db_ok(db) || !val_out || !val_size_out)
        return LEDGER_E_INVALID;
    ledger_err_t err = key_ok(txn->store, key, key_size);
    if (err != LEDGER_OK)
        return err;
    MDB_val k = store_mval(key, key_size), v;
    err = store_txn_rc(txn, mdb_get(txn->txn, txn->store->dbi[db], &k, &v), "mdb_get");
    if (err != LEDGER_OK)
        return err;
    *val_out = v.mv_data;
    *val_size_out = v.mv_size;
    return LEDGER_OK;
}

ledger_err_t store_put(store_txn_t *txn, store_db_t db, const void *key, size_t key_size,
                       const void *val, size_t val_size, unsigned flags)
{
    assert(txn);
    if (!txn->write || !db_ok(db) || (!val && val_size > 0))
        return LEDGER_E_INVALID;
    if (flags & ~(STORE_PUT_NOOVERWRITE | STORE_PUT_APPEND))
        return LEDGER_E_INVALID;
    ledger_err_t err = key_ok(txn->store, key, key_size);
    if (err != LEDGER_OK)
        return err;
    if (val_size > STORE_VALUE_MAX)
        return LEDGER_E_TOO_LARGE;
    if (!db_key_writable(db, key, key_size))
        return LEDGER_E_INVALID;
    unsigned mdb_flags = 0;
    if (flags & STORE_PUT_NOOVERWRITE)
        mdb_flags |= MDB_NOOVERWRITE;
    if (flags & STORE_PUT_APPEND)
        mdb_flags |= MDB_APPEND;
    MDB_val k = store_mval(key, key_size), v = store_mval(val, val_size);
    return store_txn_rc(txn, mdb_put(txn->txn, txn->store->dbi[db], &k, &v, mdb_flags), "mdb_put");
}

ledger_err_t store_del(store_txn_t *txn, store_db_t db, const void *key, size_t key_size)
{
    assert(txn);
    if (!txn->write || !db_ok(db))
        return LEDGER_E_INVALID;
    ledger_err_t err = key_ok(txn->store, key, key_size);
    if (err != LEDGER_OK)
        return err;
    if (!db_key_writable(db, key, key_size))
        return LEDGER_E_INVALID;
    MDB_val k = store_mval(key, key_size);
    return store_txn_rc(txn, mdb_del(txn->txn, txn->store->dbi[db], &k, NULL), "mdb_del");
}

ledger_err_t store_count(store_txn_t *txn, store_db_t db, uint64_t *count_out)
{
    assert(txn);
    if (!db_ok(db) || !count_out)
        return LEDGER_E_INVALID;
    MDB_stat st;
    ledger_err_t err = store_txn_rc(txn, mdb_stat(txn->txn, txn->store->dbi[db], &st), "mdb_stat");
    if (err != LEDGER_OK)
        return err;
    *count_out = st.ms_entries;
    return LEDGER_OK;
}

/* --- cursors -------------------------------------------------------------- */

ledger_err_t store_cursor_open(store_txn_t *txn, store_db_t db, store_cursor_t **cursor_out)
{
    assert(txn);
    if (!db_ok(db) || !cursor_out)
        return LEDGER_E_INVALID;
    store_cursor_t *cursor = calloc(1, sizeof *cursor);
    if (!cursor)
        return LEDGER_E_NOMEM;
    ledger_err_t err = store_db_cursor_open(txn, db, &cursor->cursor);
    if (err != LEDGER_OK) {
        free(cursor);
        return err == LEDGER_E_NOT_FOUND ? LEDGER_E_STORE : err;
    }
    cursor->txn = txn;
    cursor->db = db;
    cursor->next = txn->cursors;
    txn->cursors = cursor;
    *cursor_out = cursor;
    return LEDGER_OK;
}

/* The LMDB operation of `op`; false for an op store.h does not name. */
static bool cursor_op(store_seek_t op, MDB_cursor_op *mdb_op)
{
    switch (op) {
    case STORE_FIRST:
        *mdb_op = MDB_FIRST;
        return true;
    case STORE_LAST:
        *mdb_op = MDB_LAST;
        return true;
    case STORE_NEXT:
        *mdb_op = MDB_NEXT;
        return true;
    case STORE_PREV:
        *mdb_op = MDB_PREV;
        return true;
    case STORE_SEEK:
        *mdb_op = MDB_SET_RANGE;
        return true;
    default:
        return false;
    }
}

ledger_err_t store_cursor_get(store_cursor_t *cursor, store_seek_t op, store_kv_t *kv)
{
    assert(cursor);
    MDB_cursor_op mdb_op;
    if (!cursor->txn || !kv || !cursor_op(op, &mdb_op))
        return LEDGER_E_INVALID;
    MDB_val k = {0}, v = {0};
    if (op == STORE_SEEK) {
        ledger_err_t err = key_ok(cursor->txn->store, kv->key, kv->key_size);
        if (err != LEDGER_OK)
            return err;
        k = store_mval(kv->key, kv->key_size);
    }
    ledger_err_t err =
        store_txn_rc(cursor->txn, mdb_cursor_get(cursor->cursor, &k, &v, mdb_op), "mdb_cursor_get");
    if (err != LEDGER_OK)
        return err;
    kv->key = k.mv_data;
    kv->key_size = k.mv_size;
    kv->val = v.mv_data;
    kv->val_size = v.mv_size;
    return LEDGER_OK;
}

ledger_err_t store_cursor_del(store_cursor_t *cursor)
{
    assert(cursor);
    if (!cursor->txn || !cursor->txn->write)
        return LEDGER_E_INVALID;
    MDB_val k, v;
    ledger_err_t err = store_txn_rc(
        cursor->txn, mdb_cursor_get(cursor->cursor, &k, &v, MDB_GET_CURRENT), "mdb_cursor_get");
    if (err != LEDGER_OK)
        return err;
    if (!db_key_writable(cursor->db, k.mv_data, k.mv_size))
        return LEDGER_E_INVALID;
    return store_txn_rc(cursor->txn, mdb_cursor_del(cursor->cursor, 0), "mdb_cursor_del");
}

void store_cursor_close(store_cursor_t **cursor_p)
{
    if (!cursor_p || !*cursor_p)
        return;
    store_cursor_t *cursor = *cursor_p;
    if (cursor->txn) {
        store_cursor_t **link = &cursor->txn->cursors;
        while (*link != cursor) {
            assert(*link);
            link = &(*link)->next;
        }
        *link = cursor->next;
        mdb_cursor_close(cursor->cursor);
    }
    free(cursor);
    *cursor_p = NULL;
}

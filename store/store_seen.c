/*  store_seen.c: the ids of the messages a node has applied (store.h, "seen
    message ids").

    Key: the origin node's name NUL-padded to STORE_ORIGIN_MAX bytes, then
    the message's be64 seq, so that one origin's ids sit together in seq
    order. Value: the be64 time the id was first seen, in ms.
*/
#include "store.h"
#include "store_internal.h"

#include <assert.h>
#include <string.h>

#define SEEN_KEY_BYTES (STORE_ORIGIN_MAX + STORE_BE64_BYTES)
#define SEQ_MAX_BYTE 0xff /* a be64 seq of all ones sorts after every seq of its origin */

static bool seen_key(const char *origin, uint64_t seq, uint8_t key[SEEN_KEY_BYTES])
{
    size_t len;
    if (!store_text_ok(origin, STORE_ORIGIN_MAX, false, &len))
        return false;
    memset(key, 0, STORE_ORIGIN_MAX);
    memcpy(key, origin, len);
    store_be64_put(key + STORE_ORIGIN_MAX, seq);
    return true;
}

ledger_err_t store_seen_check(store_txn_t *txn, const char *origin, uint64_t seq, bool *seen_out)
{
    assert(txn);
    uint8_t key[SEEN_KEY_BYTES];
    if (!seen_out || !seen_key(origin, seq, key))
        return LEDGER_E_INVALID;
    MDB_val k = store_mval(key, sizeof key), v;
    ledger_err_t err = store_txn_rc(txn, mdb_get(txn->txn, txn->store->dbi[STORE_DB_SEEN], &k, &v),
                                    "mdb_get (seen)");
    if (err != LEDGER_OK && err != LEDGER_E_NOT_FOUND)
        return err;
    *seen_out = err == LEDGER_OK;
    return LEDGER_OK;
}

ledger_err_t store_seen_put(store_txn_t *txn, const char *origin, uint64_t seq, uint64_t now_ms)
{
    assert(txn);
    uint8_t key[SEEN_KEY_BYTES];
    if (!txn->write || !seen_key(origin, seq, key))
        return LEDGER_E_INVALID;
    uint8_t be[STORE_BE64_BYTES];
    store_be64_put(be, now_ms);
    MDB_val k = store_mval(key, sizeof key), v = store_mval(be, sizeof be);
    /* The first sighting's time is kept: a redelivery dirties no page. */
    ledger_err_t err = store_txn_rc(
        txn, mdb_put(txn->txn, txn->store->dbi[STORE_DB_SEEN], &k, &v, MDB_NOOVERWRITE),
        "mdb_put (seen)");
    return err == LEDGER_E_EXISTS ? LEDGER_OK : err;
}

/*  The highest seq of `origin`: the cursor lands on the first key at or
    after origin + 0xff..ff (the next origin's first id, or that very key),
    and one step back is this origin's last id, if it has any. */
ledger_err_t store_seen_high(store_txn_t *txn, const char *origin, uint64_t *high_out)
{
    assert(txn);
    uint8_t key[SEEN_KEY_BYTES];
    if (!high_out || !seen_key(origin, UINT64_MAX, key))
        return LEDGER_E_INVALID;
    MDB_cursor *cursor;
    ledger_err_t err = store_db_cursor_open(txn, STORE_DB_SEEN, &cursor);
    if (err != LEDGER_OK)
        return err;
    MDB_val k = store_mval(key, sizeof key), v;
    int rc = mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE);
    bool exact = rc == 0 && k.mv_size == SEEN_KEY_BYTES && !memcmp(k.mv_data, key, sizeof key);
    if (rc == 0 && !exact)
        rc = mdb_cursor_get(cursor, &k, &v, MDB_PREV);
    else if (rc == MDB_NOTFOUND) /* nothing at or after it: the table's last id, if any */
        rc = mdb_cursor_get(cursor, &k, &v, MDB_LAST);
    *high_out = 0;
    if (rc == 0 && k.mv_size == SEEN_KEY_BYTES && !memcmp(k.mv_data, key, STORE_ORIGIN_MAX))
        *high_out = store_be64_get((const uint8_t *)k.mv_data + STORE_ORIGIN_MAX);
    mdb_cursor_close(cursor);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return store_txn_rc(txn, rc, "mdb_cursor (seen high)");
    return LEDGER_OK;
}

/*  Moves `cursor` from the id under *k to the first id of the next origin.
    The ids of one origin are in seq order, which is (nearly) the order they
    were seen: prune skips the rest of an origin at its first young id. */
static int seen_skip_origin(MDB_cursor *cursor, MDB_val *k, MDB_val *v)
{
    uint8_t next_origin[SEEN_KEY_BYTES];
    memcpy(next_origin, k->mv_data, STORE_ORIGIN_MAX);
    memset(next_origin + STORE_ORIGIN_MAX, SEQ_MAX_BYTE, STORE_BE64_BYTES);
    *k = store_mval(next_origin, sizeof next_origin);
    int rc = mdb_cursor_get(cursor, k, v, MDB_SET_RANGE);
    if (rc == 0 && k->mv_size == SEEN_KEY_BYTES &&
        !memcmp(k->mv_data, next_origin, STORE_ORIGIN_MAX))
        rc = mdb_cursor_get(cursor, k, v, MDB_NEXT);
    return rc;
}

ledger_err_t store_seen_prune(store_txn_t *txn, uint64_t older_than_ms, size_t max,
                              size_t *pruned_out)
{
    assert(txn);
    if (!txn->write)
        return LEDGER_E_INVALID;
    size_t pruned = 0;
    MDB_cursor *cursor;
    ledger_err_t err = store_db_cursor_open(txn, STORE_DB_SEEN, &cursor);
    if (err != LEDGER_OK)
        return err;
    MDB_val k, v;
    int rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST);
    while (rc == 0 && pruned < max) {
        if (k.mv_size != SEEN_KEY_BYTES || v.mv_size != STORE_BE64_BYTES) {
            err = store_corrupt(txn, STORE_DB_SEEN, 0, "seen record has the wrong size");
            break;
        }
        if (store_be64_get(v.mv_data) >= older_than_ms) {
            rc = seen_skip_origin(cursor, &k, &v);
            continue;
        }
        rc = mdb_cursor_del(cursor, 0);
        if (rc != 0)
            break;
        pruned++;
        /* After a delete, MDB_NEXT moves to the entry that followed it. */
        rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cursor);
    if (err != LEDGER_OK)
        return err;
    if (rc != 0 && rc != MDB_NOTFOUND)
        return store_txn_rc(txn, rc, "mdb_cursor (seen prune)");
    if (pruned_out)
        *pruned_out = pruned;
    return LEDGER_OK;
}

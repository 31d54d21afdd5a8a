/*  store_seen.c: the ids of the messages a node has applied (store.h, "seen
    message ids").

    Key: the origin node's name NUL-padded to STORE_ORIGIN_MAX bytes, then
    the message's be64 seq, so that one origin's ids sit together in seq
    order. Value: the be64 time the id was first seen, in ms.

    Floors: STORE_DB_META key "store:seen_floor:" + origin -> be64, the
    highest seq prune ever deleted of that origin (store.h says why).
*/
#include "store.h"
#include "store_internal.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#define SEEN_KEY_BYTES (STORE_ORIGIN_MAX + STORE_BE64_BYTES)
#define SEQ_MAX_BYTE 0xff /* a be64 seq of all ones sorts after every seq of its origin */
#define FLOOR_PREFIX STORE_META_STORE_PREFIX "seen_floor:"
#define FLOOR_KEY_MAX (sizeof FLOOR_PREFIX - 1 + STORE_ORIGIN_MAX)

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
    The ids of one origin are in seq order: prune deletes a prefix of them
    and skips the rest at the first id it keeps. */
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

/* The META key of `origin`'s floor (origin: 1..STORE_ORIGIN_MAX bytes, checked by the caller). */
static size_t floor_key(const char *origin, size_t len, char key[FLOOR_KEY_MAX])
{
    memcpy(key, FLOOR_PREFIX, sizeof FLOOR_PREFIX - 1);
    memcpy(key + sizeof FLOOR_PREFIX - 1, origin, len);
    return sizeof FLOOR_PREFIX - 1 + len;
}

static ledger_err_t floor_read(store_txn_t *txn, const char *origin, size_t len, uint64_t *out)
{
    char key[FLOOR_KEY_MAX];
    MDB_val k = store_mval(key, floor_key(origin, len, key)), v;
    ledger_err_t err = store_txn_rc(txn, mdb_get(txn->txn, txn->store->dbi[STORE_DB_META], &k, &v),
                                    "mdb_get (seen floor)");
    *out = 0;
    if (err == LEDGER_E_NOT_FOUND)
        return LEDGER_OK;
    if (err)
        return err;
    if (v.mv_size != STORE_BE64_BYTES)
        return store_corrupt(txn, STORE_DB_META, 0, "seen floor has the wrong size");
    *out = store_be64_get(v.mv_data);
    return LEDGER_OK;
}

ledger_err_t store_seen_floor(store_txn_t *txn, const char *origin, uint64_t *floor_out)
{
    assert(txn);
    size_t len;
    if (!floor_out || !store_text_ok(origin, STORE_ORIGIN_MAX, false, &len))
        return LEDGER_E_INVALID;
    return floor_read(txn, origin, len, floor_out);
}

/* Raises `origin`'s floor to `seq` (never lowers it). */
static ledger_err_t floor_raise(store_txn_t *txn, const char *origin, uint64_t seq)
{
    size_t len = strlen(origin);
    uint64_t floor = 0;
    ledger_err_t err = floor_read(txn, origin, len, &floor);
    if (err || floor >= seq)
        return err;
    char key[FLOOR_KEY_MAX];
    uint8_t be[STORE_BE64_BYTES];
    store_be64_put(be, seq);
    MDB_val k = store_mval(key, floor_key(origin, len, key)), v = store_mval(be, sizeof be);
    return store_txn_rc(txn, mdb_put(txn->txn, txn->store->dbi[STORE_DB_META], &k, &v, 0),
                        "mdb_put (seen floor)");
}

/* One prune walk's settings and progress. */
typedef struct {
    uint64_t older_than_ms;
    uint64_t window;
    size_t max;
    size_t pruned;
} seen_prune_t;

/*  Whether the id `seq`, first seen at `seen_at_ms`, of an origin whose
    highest is `high`, is past its retention: more than `window` ids behind
    high, or seen before older_than_ms. */
static bool prune_due(const seen_prune_t *p, uint64_t high, uint64_t seq, uint64_t seen_at_ms)
{
    return (high > p->window && seq < high - p->window) || seen_at_ms < p->older_than_ms;
}

/*  Prunes the origin whose first id is under *k: deletes its ids in seq
    order while they are due, raises its floor to the last one deleted, and
    leaves the cursor on the next origin's first id (rc of the move). */
static ledger_err_t prune_origin(store_txn_t *txn, MDB_cursor *cursor, MDB_val *k, MDB_val *v,
                                 seen_prune_t *p, int *rc_out)
{
    char origin[STORE_ORIGIN_MAX + 1] = "";
    memcpy(origin, k->mv_data, STORE_ORIGIN_MAX);
    uint64_t high = 0, deleted = 0;
    bool any = false;
    ledger_err_t err = origin[0] ? store_seen_high(txn, origin, &high) : LEDGER_OK;
    int rc = 0;
    while (!err && rc == 0 && p->pruned < p->max) {
        if (k->mv_size != SEEN_KEY_BYTES || v->mv_size != STORE_BE64_BYTES) {
            err = store_corrupt(txn, STORE_DB_SEEN, 0, "seen record has the wrong size");
            break;
        }
        if (memcmp(k->mv_data, origin, STORE_ORIGIN_MAX) != 0)
            break; /* the next origin's first id */
        uint64_t seq = store_be64_get((const uint8_t *)k->mv_data + STORE_ORIGIN_MAX);
        if (!origin[0] || !prune_due(p, high, seq, store_be64_get(v->mv_data))) {
            rc = seen_skip_origin(cursor, k, v);
            break;
        }
        rc = mdb_cursor_del(cursor, 0);
        if (rc != 0)
            break;
        p->pruned++;
        deleted = seq;
        any = true;
        /* After a delete, MDB_NEXT moves to the entry that followed it. */
        rc = mdb_cursor_get(cursor, k, v, MDB_NEXT);
    }
    if (!err && rc != 0 && rc != MDB_NOTFOUND)
        err = store_txn_rc(txn, rc, "mdb_cursor (seen prune)");
    if (!err && any)
        err = floor_raise(txn, origin, deleted);
    *rc_out = rc;
    return err;
}

ledger_err_t store_seen_prune(store_txn_t *txn, uint64_t older_than_ms, uint64_t window, size_t max,
                              size_t *pruned_out)
{
    assert(txn);
    if (!txn->write)
        return LEDGER_E_INVALID;
    seen_prune_t p = {.older_than_ms = older_than_ms, .window = window, .max = max};
    MDB_cursor *cursor;
    ledger_err_t err = store_db_cursor_open(txn, STORE_DB_SEEN, &cursor);
    if (err != LEDGER_OK)
        return err;
    MDB_val k, v;
    int rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST);
    while (!err && rc == 0 && p.pruned < p.max)
        err = prune_origin(txn, cursor, &k, &v, &p, &rc);
    mdb_cursor_close(cursor);
    if (err != LEDGER_OK)
        return err;
    if (rc != 0 && rc != MDB_NOTFOUND)
        return store_txn_rc(txn, rc, "mdb_cursor (seen prune)");
    if (pruned_out)
        *pruned_out = p.pruned;
    return LEDGER_OK;
}

ledger_err_t store_seen_migrate_floors(store_txn_t *txn, void *arg, char *note, size_t note_size)
{
    (void)arg;
    assert(txn && note);
    size_t origins = 0;
    MDB_cursor *cursor;
    ledger_err_t err = store_db_cursor_open(txn, STORE_DB_SEEN, &cursor);
    if (err != LEDGER_OK)
        return err;
    MDB_val k, v;
    int rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST);
    while (rc == 0 && k.mv_size == SEEN_KEY_BYTES) {
        origins++;
        rc = seen_skip_origin(cursor, &k, &v);
    }
    mdb_cursor_close(cursor);
    if (rc == 0)
        return store_corrupt(txn, STORE_DB_SEEN, 0, "seen record has the wrong size");
    if (rc != MDB_NOTFOUND)
        return store_txn_rc(txn, rc, "mdb_cursor (seen origins)");
    snprintf(note, note_size, "origins=%zu floors=0", origins);
    return LEDGER_OK;
}

/*  store_internal.h: what the store's own files share (private to store/).

    What it holds: the layout of store_t, store_txn_t and store_cursor_t,
    the META keys the store owns, and the helpers every part of the store
    uses to report errors (store.c), check text and open raw LMDB cursors
    (store_kv.c), take the next value of a counter (store_seq.c), and parse
    and hash ledger records (store_ledger.c, for store_verify.c). The
    public contract is store.h; nothing outside store/ includes this file.

    How to call it: include store.h first, then this header (it uses
    store.h's types and adds LMDB's). Every function here takes a live
    store or transaction (asserted, as in store.h's public functions).

    Errors: as store.h. store_txn_rc maps an LMDB return code and marks the
    transaction map-full when LMDB ran out of map, so that it is redone;
    store_corrupt records why a record does not parse and returns
    LEDGER_E_CORRUPT.

    Threads: as store.h (a transaction belongs to the thread that began it).
*/
#ifndef LEDGER_STORE_INTERNAL_H
#define LEDGER_STORE_INTERNAL_H

#ifndef LEDGER_STORE_H
#error "include store.h before store_internal.h"
#endif

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>

#include <lmdb.h>

#define LEDGER_RECORD_VERSION 2      /* 1 had no account_prev_seq and a ledger_by_account index */
#define LEDGER_RECORD_VERSION_MEMO 3 /* 2 + a memo (issue 21), written only when it is not "" */
#define STORE_ERROR_TEXT_MAX 256     /* bytes of an error text, NUL included */
#define STORE_BE64_BYTES 8           /* a be64 key or value */
#define STORE_DIR_MAX 4000           /* bytes of a data directory's name (store_open) */

/* META keys owned by the store; generic writes to them are refused. */
#define STORE_META_SEQ_PREFIX "seq:"
#define STORE_META_SEQ_PREFIX_LEN (sizeof STORE_META_SEQ_PREFIX - 1)
#define STORE_META_STORE_PREFIX "store:"
#define STORE_META_STORE_PREFIX_LEN (sizeof STORE_META_STORE_PREFIX - 1)
#define STORE_META_OUTBOX_SEQ_KEY "store:outbox_seq"
/* "store:format" and "store:migrate:*" are store_migrate.c's (store_migrate.h). */

/* Counters a write transaction keeps in memory (more are read and written directly). */
#define STORE_TXN_COUNTERS_MAX 8
#define STORE_TXN_COUNTER_KEY_MAX (STORE_META_SEQ_PREFIX_LEN + STORE_SEQ_NAME_MAX)

struct store_t {
    MDB_env *env;
    MDB_dbi dbi[STORE_DB__COUNT];
    size_t max_key_bytes;
    size_t map_max_bytes;
    size_t page_bytes;
    _Atomic size_t map_bytes;
    atomic_int open_txns;
    pthread_rwlock_t resize_lock; /* read: a transaction is open; write: resizing */
    pthread_mutex_t error_lock;
    char error[STORE_ERROR_TEXT_MAX];
    prealloc_t *prealloc;   /* NULL unless prealloc_ahead_bytes */
    int prealloc_fd;        /* its own fd on data.mdb (-1 without): see start_prealloc */
    size_t lmdb_page_bytes; /* LMDB's page (ms_psize): me_last_pgno counts in it */
    /* Room (store_space.c): the data directory for statvfs, the room state and its counters. */
    char dir[STORE_DIR_MAX + 1];
    atomic_int room;                 /* store_room_t */
    atomic_int room_pending;         /* why the last LMDB call failed for room (store_rc) */
    _Atomic uint64_t room_failed_ms; /* clock_mono_ms of the last write that failed for room */
    _Atomic uint64_t room_failures[STORE_ROOM__COUNT];
    _Atomic uint64_t refused_requests;
    pthread_mutex_t space_lock; /* guards the sample below */
    uint64_t space_sampled_ms;  /* clock_mono_ms of `space` (0: never) */
    store_space_t space;
};

/*  A sequence counter as a write transaction has it: read from META once,
    bumped in memory, written back when the transaction commits (one put per
    counter and transaction instead of a get and a put per value taken; the
    outbox seq and the "msg" sequence are bumped for every message). */
typedef struct {
    uint8_t key[STORE_TXN_COUNTER_KEY_MAX];
    size_t key_size;
    uint64_t value;
    bool dirty; /* bumped since read or written back */
} store_txn_counter_t;

struct store_txn_t {
    store_t *store;
    MDB_txn *txn;
    bool write;
    bool map_full;             /* some LMDB call returned MDB_MAP_FULL */
    size_t map_bytes_at_begin; /* to tell whether another thread grew the map since */
    store_cursor_t *cursors;   /* open cursors, detached when the transaction ends */
    store_txn_counter_t counters[STORE_TXN_COUNTERS_MAX]; /* write transactions only */
    size_t counter_count;
    /*  The ledger's last entry as this write transaction left it, once it
        has appended: the next append chains onto it without reading it back. */
    bool ledger_tip_known;
    uint64_t ledger_tip_seq;
    uint8_t ledger_tip_hash[STORE_HASH_SIZE];
    uint64_t ledger_tip_ts_ms; /* its ts_ms: the next entry's ts is at least this (the clamp) */
};

struct store_cursor_t {
    store_txn_t *txn; /* NULL once the transaction has ended */
    MDB_cursor *cursor;
    store_db_t db;
    store_cursor_t *next;
};

static inline MDB_val store_mval(const void *data, size_t size)
{
    MDB_val v = {.mv_size = size, .mv_data = (void *)data};
    return v;
}

/* --- errors (store.c) ------------------------------------------------------ */

/* Records the text store_last_error returns. */
void store_set_error(store_t *store, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Maps an LMDB return code to a project error; records the text of real failures. */
ledger_err_t store_rc(store_t *store, int rc, const char *what);
/* As store_rc, and remembers a map-full so the transaction is redone after growth. */
ledger_err_t store_txn_rc(store_txn_t *txn, int rc, const char *what);
/* --- room (store_space.c) --------------------------------------------------- */

/*  A write transaction failed with LEDGER_E_MAP_FULL and will not be
    redone (the map is at its max, or the disk is full): sets the room
    state from room_pending and counts it. */
void store_room_failed(store_t *store);
/*  Whether the data directory's file system has less than
    STORE_DISK_FULL_BELOW_BYTES available: LMDB reports a short write (the
    disk filled up in the middle of a commit) as EIO, which then means
    "disk full" rather than a failing device. */
#define STORE_DISK_FULL_BELOW_BYTES ((uint64_t)1 << 20)
bool store_disk_full(store_t *store);
/* A write transaction committed: the room state goes back to ok. */
static inline void store_room_committed(store_t *store)
{
    if (atomic_load_explicit(&store->room, memory_order_relaxed) != STORE_ROOM_OK)
        atomic_store(&store->room, STORE_ROOM_OK);
}

/* Records that record `id` of `db` does not parse; returns LEDGER_E_CORRUPT. */
ledger_err_t store_corrupt(store_txn_t *txn, store_db_t db, uint64_t id, const char *problem);

/* --- keys and raw cursors (store_kv.c) ------------------------------------- */

/*  True if `text` is a string of at most `max` bytes (and at least one
    unless allow_empty); its length goes to *len_out. */
bool store_text_ok(const char *text, size_t max, bool allow_empty, size_t *len_out);
/* Opens an LMDB cursor on table `db` in `txn`; a failure is reported like any LMDB error. */
ledger_err_t store_db_cursor_open(store_txn_t *txn, store_db_t db, MDB_cursor **cursor_out);

/* --- be64-keyed records: the ledger, outbox and dead letter reads ---------- */

/* Positions `cursor` on the first key > after (be64, written into key); MDB_NOTFOUND at the end. */
static inline int store_cursor_after(MDB_cursor *cursor, uint64_t after, MDB_val *k, MDB_val *v,
                                     uint8_t key[STORE_BE64_BYTES])
{
    if (after == UINT64_MAX)
        return MDB_NOTFOUND;
    store_be64_put(key, after + 1);
    *k = store_mval(key, STORE_BE64_BYTES);
    return mdb_cursor_get(cursor, k, v, MDB_SET_RANGE);
}

/*  Decodes the record k / v of one table into *out (the table's entry
    type: store_ledger_entry_t, store_outbox_entry_t, store_dead_letter_t). */
typedef ledger_err_t (*store_decode_fn)(store_txn_t *txn, const MDB_val *k, const MDB_val *v,
                                        void *out);

/*  The record under be64 key `seq` of `db` (with `after`: the first one with
    a key > seq), decoded into *out, which points into the map until the
    transaction writes again. LEDGER_E_NOT_FOUND if there is none,
    LEDGER_E_INVALID for a NULL out, the decoder's errors. `what` names the
    LMDB call in error text. Inline: the relay and the ledger read here. */
static inline ledger_err_t store_seq_record_read(store_txn_t *txn, store_db_t db, uint64_t seq,
                                                 bool after, const char *what,
                                                 store_decode_fn decode, void *out)
{
    assert(txn);
    if (!out)
        return LEDGER_E_INVALID;
    uint8_t key[STORE_BE64_BYTES];
    MDB_val k, v;
    ledger_err_t err;
    if (after) {
        MDB_cursor *cursor;
        err = store_db_cursor_open(txn, db, &cursor);
        if (err != LEDGER_OK)
            return err;
        err = store_txn_rc(txn, store_cursor_after(cursor, seq, &k, &v, key), what);
        mdb_cursor_close(cursor);
    } else {
        store_be64_put(key, seq);
        k = store_mval(key, sizeof key);
        err = store_txn_rc(txn, mdb_get(txn->txn, txn->store->dbi[db], &k, &v), what);
    }
    return err != LEDGER_OK ? err : decode(txn, &k, &v, out);
}

/* --- counters (store_seq.c) ------------------------------------------------ */

/*  Next value (1, 2, ...) of the be64 counter under META `key`, kept in the
    transaction's memory when it can be: LEDGER_E_OVERFLOW past UINT64_MAX. */
ledger_err_t store_seq_counter_next(store_txn_t *txn, const void *key, size_t key_size,
                                    uint64_t *value_out);
/* Writes the counters bumped in `txn` to the map; store_txn_commit calls it first. */
ledger_err_t store_seq_flush(store_txn_t *txn);

/* --- ledger records (store_ledger.c) --------------------------------------- */

/*  store_ledger_append, with the ts clamp (store.h) only if `clamp`: the re-encoding of a
    format-1 ledger (store_migrate_v1.c) keeps every entry's ts as it was. */
ledger_err_t store_ledger_append_clamped(store_txn_t *txn, store_ledger_entry_t *entry, bool clamp);
/* SHA-256(prev_hash || fields): the hash of a ledger entry. */
ledger_err_t store_ledger_hash(const uint8_t prev_hash[STORE_HASH_SIZE], const uint8_t *fields,
                               size_t fields_size, uint8_t out[STORE_HASH_SIZE]);
/*  Parses a ledger record. *fields_out / *fields_size_out (may be NULL) get
    the hashed bytes inside `val`. Returns false if it does not parse. */
bool store_ledger_parse(const MDB_val *val, store_ledger_entry_t *out, const uint8_t **fields_out,
                        size_t *fields_size_out);

#endif

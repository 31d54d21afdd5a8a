/*  store.h: a node's durable state in one LMDB environment.

    What it owns: the LMDB environment in a node's data directory, its named
    sub-databases, and the on-disk formats of the outbox, seen ids, dead
    letters and the hash-chained ledger. Node-specific tables (accounts,
    transfers, decisions, ...) are plain key/value sub-databases whose values
    the node's own module encodes.

    Transactions: one write transaction at a time per store (LMDB's rule);
    any number of read transactions. A store_txn_t belongs to the thread that
    began it (the environment is opened with MDB_NOTLS so read transactions
    may be used from any one thread at a time). Pointers returned by get /
    cursor / outbox / ledger functions point into the map and are valid only
    until the transaction ends, or in a write transaction until its next
    write. A thread may hold at most one write transaction of a store (a
    second store_txn_begin(write) or store_write in that thread fails with
    LEDGER_E_INVALID instead of deadlocking). At most one store_t per
    directory per process (LMDB's locks are per process).

    Map growth and threads: growing the map needs every transaction of the
    process to have ended, so growth waits (up to 5 s) for other threads'
    transactions, and new transactions wait while the map grows. A thread
    that calls store_write (or ends a write transaction that ran out of map)
    must not hold a read transaction of its own: the growth would wait for
    it, time out and fail with LEDGER_E_STORE. Keep read transactions short.

    Atomicity: everything written in one write transaction commits together
    or not at all. store_write() runs a caller's function in a write
    transaction and commits durably (fsync) unless the store was opened with
    no_sync; on MDB_MAP_FULL it aborts, grows the map and runs the function
    again from the start, up to map_max_bytes, then fails with
    LEDGER_E_MAP_FULL. Nothing is ever half written.

    The ledger is append-only: there is no function that updates or deletes a
    ledger entry. Each entry carries the SHA-256 (core/sha256.h) of the previous
    entry; store_ledger_verify() re-walks the chain.

    Keys: fixed-width big-endian integers where order matters, so that
    sequences append at the end of the B-tree (cheap) and sort numerically.

    Records: outbox entries, dead letters and ledger entries are stored in
    fixed-layout binary records (a version byte, big-endian integers,
    length-prefixed strings, written with core/record.h; the layouts are at
    the top of store_outbox.c and store_ledger.c). Only this module writes
    them: store_put / store_del / store_cursor_del refuse (LEDGER_E_INVALID)
    the outbox, seen, dead_letters and ledger databases, and META keys
    starting with "seq:" or "store:". Everything else is the nodes' own.

    Errors: LEDGER_E_NOT_FOUND, LEDGER_E_EXISTS, LEDGER_E_MAP_FULL (no room:
    the map at map_max_bytes, or the disk full; store_room tells which),
    LEDGER_E_TOO_LARGE (key over the LMDB key limit, value over a documented
    limit), LEDGER_E_INVALID (bad argument, including NULL out-pointers and
    names that are empty or too long), LEDGER_E_CORRUPT (a record that does
    not parse; also LMDB's MDB_CORRUPTED and MDB_PAGE_NOTFOUND),
    LEDGER_E_STORE (any other LMDB error; the LMDB text is
    available from store_last_error()). Out-parameters are written only on
    LEDGER_OK (arrays such as take_due's entries_out may be partly written
    before an error; their count is not). A NULL store, transaction or
    cursor is a programmer error: asserted, not returned.
*/
#ifndef LEDGER_STORE_H
#define LEDGER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ledger_err.h"
#include "prealloc.h"

#define STORE_PEER_MAX 32          /* peer (node) name in an outbox entry */
#define STORE_ORIGIN_MAX 32        /* origin node name in a seen id */
#define STORE_ACCOUNT_MAX 64       /* account id in a ledger entry */
#define STORE_TRANSFER_MAX 64      /* transfer id in a ledger entry */
#define STORE_KIND_MAX 15          /* ledger entry kind */
#define STORE_MEMO_MAX 160         /* ledger entry memo (audit entries), bytes */
#define STORE_CODE_MAX 48          /* dead letter code */
#define STORE_REASON_MAX 256       /* dead letter reason */
#define STORE_MSG_MAX 65536        /* largest message kept in outbox / dead letters */
#define STORE_HASH_SIZE 32         /* SHA-256 */
#define STORE_SEQ_NAME_MAX 32      /* name of a named sequence */
#define STORE_VALUE_MAX (4u << 20) /* largest value of store_put, bytes (4 MiB) */

/* Sub-databases. Every store opens all of them; a node uses the ones it needs. */
typedef enum {
    STORE_DB_META = 0,     /* named sequences and small settings */
    STORE_DB_OUTBOX,       /* be64 seq -> outbox record */
    STORE_DB_SEEN,         /* origin[32, NUL-padded] + be64 seq -> be64 seen_at_ms */
    STORE_DB_DEAD_LETTERS, /* be64 id -> dead letter record */
    STORE_DB_LEDGER,       /* be64 seq -> ledger record (append-only) */
    STORE_DB_ACCOUNTS,     /* accounts node: account id -> account record */
    STORE_DB_TRANSFERS,    /* accounts + gateway: transfer id -> saga state / status view */
    STORE_DB_DECISIONS,    /* fraud: transfer id -> decision */
    STORE_DB_RISK,         /* fraud: velocity windows, known payees */
    STORE_DB_IDEMPOTENCY,  /* gateway: idempotency key -> transfer id + request hash */
    STORE_DB_INDEX,        /* any node: secondary indexes (e.g. transfers by time) */
    STORE_DB__COUNT
} store_db_t;

/* Name of a sub-database as stored in LMDB ("outbox", ...). */
const char *store_db_name(store_db_t db);

typedef struct store_t store_t;
typedef struct store_txn_t store_txn_t;
typedef struct store_cursor_t store_cursor_t;

typedef struct {
    size_t map_initial_bytes; /* initial map size; 0 = 64 MiB, or map_max_bytes if smaller */
    size_t map_max_bytes;     /* the map never grows past this; 0 = 64 GiB */
    bool no_sync;             /* MDB_NOSYNC: NOT durable. Only for benchmarks that say so. */
    /*  Keep data.mdb written this far past its used end (prealloc.h: commits
        then overwrite blocks instead of allocating them, and fdatasync skips
        the file system's journal). 0 = off. Costs this much disk per store. */
    size_t prealloc_ahead_bytes;
    /*  Open with MDB_RDONLY, for operator tools reading a node's directory
        beside the live node (LMDB allows readers in other processes): the
        directory and its data file must exist, nothing is created, every
        write transaction fails (LEDGER_E_STORE). */
    bool read_only;
} store_config_t;

/*  Opens (creating if needed) the environment in directory `dir` (created
    if missing, mode 0700; its parent must exist). `config` may be NULL for
    defaults. If the existing data file is larger than map_initial_bytes the
    map starts at the file's size (and map_max_bytes is raised to it if
    needed). Opens every sub-database once.
    Errors: LEDGER_E_INVALID (map_max_bytes < map_initial_bytes, bad `dir`),
    LEDGER_E_IO (directory), LEDGER_E_STORE. The data's format version and
    its upgrades are store_migrate.h's (the node runs them after opening). */
ledger_err_t store_open(const char *dir, const store_config_t *config, store_t **store_out);

/* Closes the environment. No transaction may be open. Sets *store_p to NULL. */
void store_destroy(store_t **store_p);

/*  Text of the last error recorded by this store, from any thread (for
    logs); never NULL. The text is copied into a buffer of the calling
    thread, valid until that thread calls store_last_error again. With
    store NULL: why this thread's last store_open failed, if it said. */
const char *store_last_error(const store_t *store);

/*  Writes a consistent, compacted copy of the environment (the state of
    one read transaction, free pages left out) to `dir`/data.mdb, while
    other threads or processes keep writing. `dir` must exist and must not
    hold a data.mdb (LEDGER_E_EXISTS). No transaction of this thread may be
    open. The copy is fsynced (data file and directory) before LEDGER_OK.
    Errors: LEDGER_E_INVALID, LEDGER_E_IO (not a directory, or the fsync
    failed), LEDGER_E_EXISTS, LEDGER_E_STORE (LMDB's copy failed); after an
    error no copy is left. Any thread (store_copy.c). */
ledger_err_t store_copy_compact(store_t *store, const char *dir);

/* Current map size in bytes (grows by doubling, up to map_max_bytes). */
size_t store_map_bytes(const store_t *store);

/*  Clears the slots that dead processes left in the environment's reader
    table (LMDB's mdb_reader_check). A reader killed inside its read
    transaction (a ledger-backup or ledger-reconcile killed mid-copy) keeps
    its slot in lock.mdb, and LMDB then never reuses a page freed after that
    reader's snapshot: the file grows until the map is full. A slot is stale
    when the process that holds it is gone; this process's own slots are
    never touched. *cleared_out (may be NULL) gets how many were cleared.
    Cheap: one walk of the reader table, one fcntl per process in it.
    Errors: LEDGER_E_STORE (store_last_error says why). Any thread, also on
    a read-only store (the nodes at start and in their upkeep, the tools at
    start). */
ledger_err_t store_reader_check(store_t *store, unsigned *cleared_out);

/* --- room: map and disk (store_space.c) ------------------------------------ */

/*  Why the store has no room: STORE_ROOM_OK, or why its last write failed
    for room with no commit since. A write transaction that runs out of map
    at map_max_bytes (MDB_MAP_FULL after growth), or whose commit finds the
    disk full (ENOSPC, EDQUOT: LMDB writes its pages with pwrite, so a full
    file system fails the commit, never a page in the middle), fails with
    LEDGER_E_MAP_FULL, writes nothing, and sets the state; the next commit
    that succeeds clears it (room came back: a larger map after a restart,
    files deleted, the file system grown, records pruned). */
typedef enum {
    STORE_ROOM_OK = 0,
    STORE_ROOM_MAP_FULL,  /* the map is at map_max_bytes */
    STORE_ROOM_DISK_FULL, /* the data directory's file system is full */
    STORE_ROOM__COUNT
} store_room_t;

/* "ok", "map_full", "disk_full". */
const char *store_room_name(store_room_t room);

/*  The room state (see store_room_t) and, if age_ms_out is not NULL, how
    long ago the last write failed for room (0 when the state is ok). Two
    atomic loads: cheap enough to ask before every write request. */
store_room_t store_room(const store_t *store, uint64_t *age_ms_out);

/*  Counts a write its caller refused up front because the store had no
    room (the gateway's 503 storage_unavailable): store_space's
    refused_requests. */
void store_room_note_refused(store_t *store);

typedef struct {
    uint64_t used_bytes;       /* pages in use: the last page of the data, minus free pages */
    uint64_t file_bytes;       /* the data's high-water mark (last page + 1): LMDB never shrinks */
    uint64_t map_bytes;        /* the map now */
    uint64_t map_max_bytes;    /* the configured largest map (--map-max-bytes) */
    uint64_t disk_total_bytes; /* the data directory's file system (statvfs); 0 if unknown */
    uint64_t disk_free_bytes;  /* available to the node (f_bavail) */
    uint64_t disk_used_bytes;  /* total - free blocks (f_bfree), as df counts */
    store_room_t room;         /* store_room */
    uint64_t room_failures[STORE_ROOM__COUNT]; /* write transactions that failed for room */
    uint64_t refused_requests;                 /* store_room_note_refused */
} store_space_t;

/*  How much room the store has. Reads the environment's info, the
    free-page list in one short read transaction, and statvfs of the
    directory; the result is kept STORE_SPACE_SAMPLE_MS and given again to
    calls within that time (room and the counters are always current).
    Errors: LEDGER_E_STORE (the read transaction; the rest still filled with
    what could be read), LEDGER_E_INVALID (NULL out). Any thread. */
#define STORE_SPACE_SAMPLE_MS 500
ledger_err_t store_space(store_t *store, store_space_t *out);

/* --- transactions --------------------------------------------------------- */

/*  Begins a transaction. LEDGER_E_INVALID if `write` and this thread
    already holds a write transaction of this store. Transactions do not
    nest: to drop what a unit of work wrote, abort its whole transaction
    (the node runtime reruns a batch without the message it refused). */
ledger_err_t store_txn_begin(store_t *store, bool write, store_txn_t **txn_out);

/*  What the preallocation thread has done (prealloc.h). false (and nothing
    filled) when the store was opened without prealloc_ahead_bytes. Any thread. */
bool store_prealloc_stats(store_t *store, prealloc_stats_t *stats_out);
/* Commits and frees the transaction (sets *txn_p to NULL in every case).
   LEDGER_E_MAP_FULL if the commit (or any write in the transaction) ran out
   of map: nothing was written, and the map has been grown if it was below
   map_max_bytes, so running the transaction again may succeed (store_write
   does exactly that). A write transaction in which any call failed with an
   LMDB error cannot commit: LEDGER_E_STORE, nothing written. */
ledger_err_t store_txn_commit(store_txn_t **txn_p);
/* Aborts and frees; sets *txn_p to NULL. Safe on NULL. */
void store_txn_abort(store_txn_t **txn_p);

/*  A unit of work for store_write. It must write only through `txn` and
    must be re-runnable: after a map-full abort it is called again from
    scratch, so it resets whatever it collects in `ctx` at its start.
    Returning an error aborts the transaction and store_write returns it. */
typedef ledger_err_t (*store_write_fn)(store_txn_t *txn, void *ctx);

/*  Runs `fn` in one write transaction and commits it (see the top of this
    file). If any write inside fn ran out of map, the transaction is
    aborted, the map doubled and fn run again, whatever fn returned. Errors:
    fn's error (nothing written), LEDGER_E_MAP_FULL at map_max_bytes
    (nothing written), LEDGER_E_STORE, LEDGER_E_INVALID (called inside a
    write transaction of this thread). */
ledger_err_t store_write(store_t *store, store_write_fn fn, void *ctx);

/* --- key/value ------------------------------------------------------------ */

typedef struct {
    const void *key;
    size_t key_size;
    const void *val;
    size_t val_size;
} store_kv_t;

#define STORE_PUT_NOOVERWRITE 0x1u /* LEDGER_E_EXISTS if the key is present */
#define STORE_PUT_APPEND 0x2u      /* key sorts after every key in the db (else LEDGER_E_EXISTS) */

/*  LEDGER_E_NOT_FOUND if absent. *val_out points into the map.
    Keys are 1 .. mdb_env_get_maxkeysize (511) bytes (LEDGER_E_TOO_LARGE
    above), values 0 .. STORE_VALUE_MAX bytes. put and del need a write
    transaction and a writable database (see "Records" above). */
ledger_err_t store_get(store_txn_t *txn, store_db_t db, const void *key, size_t key_size,
                       const void **val_out, size_t *val_size_out);
ledger_err_t store_put(store_txn_t *txn, store_db_t db, const void *key, size_t key_size,
                       const void *val, size_t val_size, unsigned flags);
/* LEDGER_E_NOT_FOUND if absent. */
ledger_err_t store_del(store_txn_t *txn, store_db_t db, const void *key, size_t key_size);
/* Number of entries in `db`. */
ledger_err_t store_count(store_txn_t *txn, store_db_t db, uint64_t *count_out);

typedef enum {
    STORE_FIRST,
    STORE_LAST,
    STORE_NEXT,
    STORE_PREV,
    STORE_SEEK, /* first key >= kv->key (kv->key/key_size are input) */
} store_seek_t;

ledger_err_t store_cursor_open(store_txn_t *txn, store_db_t db, store_cursor_t **cursor_out);
/* Moves the cursor and fills *kv. LEDGER_E_NOT_FOUND past either end. */
ledger_err_t store_cursor_get(store_cursor_t *cursor, store_seek_t op, store_kv_t *kv);
/* Deletes the entry under the cursor (write transactions only). */
ledger_err_t store_cursor_del(store_cursor_t *cursor);
/*  Frees the cursor; sets *cursor_p to NULL. Safe on NULL. A cursor ends
    with its transaction (using it afterwards is LEDGER_E_INVALID) but its
    handle must still be closed, before or after the transaction ends. */
void store_cursor_close(store_cursor_t **cursor_p);

/* --- keys ----------------------------------------------------------------- */

void store_be64_put(uint8_t out[8], uint64_t value);
uint64_t store_be64_get(const uint8_t in[8]);

/*  Next value of the named sequence `name` (1, 2, 3, ...), persisted in META
    (key "seq:" + name) in the same write transaction. `name` is 1 ..
    STORE_SEQ_NAME_MAX bytes. */
ledger_err_t store_seq_next(store_txn_t *txn, const char *name, uint64_t *value_out);
/* Current value (0 if never used). */
ledger_err_t store_seq_peek(store_txn_t *txn, const char *name, uint64_t *value_out);
/*  Raises the named sequence to `at_least` if it is below (never lowers it);
    *value_out (may be NULL) gets its value afterwards. For a restore
    (tools/backup): a node put back from a backup must not hand out again
    the ids its peers saw after the backup was taken. Write transactions. */
ledger_err_t store_seq_raise(store_txn_t *txn, const char *name, uint64_t at_least,
                             uint64_t *value_out);

/* --- outbox --------------------------------------------------------------- */

typedef struct {
    uint64_t seq; /* key: order of writing */
    char peer[STORE_PEER_MAX + 1];
    uint32_t attempts; /* sends so far */
    uint64_t created_ms;
    uint64_t next_attempt_ms; /* not to be sent before this */
    const void *msg;          /* encoded envelope, points into the map */
    size_t msg_size;
} store_outbox_entry_t;

/*  Adds a message for `peer`, due at `now_ms`. *seq_out (may be NULL) gets
    its outbox seq, also its delivery tag. LEDGER_E_TOO_LARGE over STORE_MSG_MAX,
    LEDGER_E_INVALID for an empty or over-long peer name or an empty message.
    Outbox seqs come from a persistent counter: a seq is never reused, even
    after its entry was acknowledged, so a late ack cannot hit a newer entry. */
ledger_err_t store_outbox_put(store_txn_t *txn, const char *peer, const void *msg, size_t msg_size,
                              uint64_t now_ms, uint64_t *seq_out);
/* LEDGER_E_NOT_FOUND if absent (e.g. acknowledged already). */
ledger_err_t store_outbox_get(store_txn_t *txn, uint64_t seq, store_outbox_entry_t *entry_out);
/* The first entry with seq > after_seq, in seq order; LEDGER_E_NOT_FOUND at the end. */
ledger_err_t store_outbox_next(store_txn_t *txn, uint64_t after_seq,
                               store_outbox_entry_t *entry_out);
/*  Up to `max` entries with next_attempt_ms <= now_ms and seq > after_seq,
    in seq order, into entries_out; *count_out gets how many. A cursor scan
    from after_seq: it reads past entries that are not yet due, so its cost
    grows with the backlog behind after_seq. */
ledger_err_t store_outbox_take_due(store_txn_t *txn, uint64_t now_ms, uint64_t after_seq,
                                   store_outbox_entry_t *entries_out, size_t max,
                                   size_t *count_out);
/* Records a send: attempts += 1, next_attempt_ms = the given time. */
ledger_err_t store_outbox_reschedule(store_txn_t *txn, uint64_t seq, uint64_t next_attempt_ms);
/* Deletes an acknowledged entry. LEDGER_E_NOT_FOUND if it was already gone. */
ledger_err_t store_outbox_ack(store_txn_t *txn, uint64_t seq);
/*  Moves an entry to dead_letters with the nack's code and reason (same id as
    its outbox seq). LEDGER_E_NOT_FOUND if the entry is gone. `code` is 1 ..
    STORE_CODE_MAX bytes, `reason` 0 .. STORE_REASON_MAX bytes, else
    LEDGER_E_INVALID (bound a peer's text before calling). */
ledger_err_t store_outbox_to_dead(store_txn_t *txn, uint64_t seq, const char *code,
                                  const char *reason, uint64_t now_ms);
/*  Age of the oldest entry in ms (0 when empty) and the number of entries.
    The oldest is the entry with the lowest seq (now_ms - its created_ms). */
ledger_err_t store_outbox_stats(store_txn_t *txn, uint64_t now_ms, uint64_t *depth_out,
                                uint64_t *oldest_age_ms_out);

/* --- dead letters --------------------------------------------------------- */

typedef struct {
    uint64_t id; /* the outbox seq it had */
    char peer[STORE_PEER_MAX + 1];
    uint32_t attempts;
    uint64_t created_ms;
    uint64_t dead_ms;
    char code[STORE_CODE_MAX + 1];
    char reason[STORE_REASON_MAX + 1];
    const void *msg;
    size_t msg_size;
} store_dead_letter_t;

ledger_err_t store_dead_get(store_txn_t *txn, uint64_t id, store_dead_letter_t *dead_out);
/* The first dead letter with id > after_id; LEDGER_E_NOT_FOUND at the end. */
ledger_err_t store_dead_next(store_txn_t *txn, uint64_t after_id, store_dead_letter_t *dead_out);
/*  Moves dead letter `id` back to the outbox as a new entry due at now_ms
    (new seq in *outbox_seq_out, may be NULL) and deletes the dead letter, so a
    replay happens once. LEDGER_E_NOT_FOUND if there is no such dead letter.
    The new entry starts afresh: attempts 0, created_ms = now_ms. */
ledger_err_t store_dead_replay(store_txn_t *txn, uint64_t id, uint64_t now_ms,
                               uint64_t *outbox_seq_out);

/* --- seen message ids ----------------------------------------------------- */

/*  Why a floor (issue 20): `seen` must stay bounded under any sustained
    load, so ids are pruned (store_seen_prune) by a window of ids as well as
    by time, often enough to keep up (node_upkeep.c). But an id deleted from
    `seen` that arrives again must not be taken for a new one. Each origin's
    ids are one increasing sequence, and prune deletes only a prefix of an
    origin's ids (in seq order), so one number per origin remembers all it
    deleted: the FLOOR, the highest seq prune ever deleted of that origin.
    An id at or below its origin's floor that is not in `seen` may have been
    applied and pruned, or never seen: the two cannot be told apart, so the
    node refuses it (nack id_too_old, nodes/common/node_apply.c), never
    applies it and never acks it; the sender dead-letters it where an
    operator sees it. An id above the floor and not in `seen` was never
    applied. Chosen over per-peer high-water marks alone (no table): a
    receiver sees only the subset of an origin's ids sent to it, and ids
    arrive out of order after a redelivery, so a mark alone would refuse
    every id below it that simply had not arrived yet; the window keeps
    those (W ids, default 1,000,000) and the floor covers everything older.
    Floors live in STORE_DB_META ("store:seen_floor:" + origin, be64); they
    are never lowered and never pruned (one small key per origin). */

/* *seen_out = whether (origin, seq) was recorded. */
ledger_err_t store_seen_check(store_txn_t *txn, const char *origin, uint64_t seq, bool *seen_out);
/* Records (origin, seq) at now_ms. Recording twice is not an error. */
ledger_err_t store_seen_put(store_txn_t *txn, const char *origin, uint64_t seq, uint64_t now_ms);
/*  *high_out = the highest seq recorded for `origin`, 0 if none (its ids
    were never seen, or were all pruned by time). One cursor seek, no scan:
    nodes call it once per origin and cache the answer. LEDGER_E_INVALID
    for a bad origin or a NULL high_out.
    A node refuses an id far ahead of an origin's highest (node_seen.h,
    NODE_SEEN_AHEAD_MAX), counting the floor as seen: a peer silent for
    longer than the time retention has its ids pruned but keeps its floor. */
ledger_err_t store_seen_high(store_txn_t *txn, const char *origin, uint64_t *high_out);
/*  *floor_out = `origin`'s floor (above), 0 if prune never deleted one of
    its ids. One get. LEDGER_E_INVALID for a bad origin or a NULL floor_out;
    LEDGER_E_CORRUPT for a floor record of the wrong size. */
ledger_err_t store_seen_floor(store_txn_t *txn, const char *origin, uint64_t *floor_out);
/*  Deletes up to `max` ids that are past their retention: more than
    `window` ids behind their origin's highest seq, or recorded before
    `older_than_ms`. *pruned_out (may be NULL) gets how many. Walks each
    origin's ids in seq order and stops that origin at its first id that is
    due neither way (an old id behind a younger one of the same origin, seen
    out of order, stays until the younger one is due too), so it deletes a
    prefix of each origin's ids, and raises the origin's floor to the last
    one deleted, in the same transaction. Cost: one seek per origin plus
    one cheap delete per id (the leftmost pages of the origin). Recording
    keeps the first time an id was seen. */
ledger_err_t store_seen_prune(store_txn_t *txn, uint64_t older_than_ms, uint64_t window, size_t max,
                              size_t *pruned_out);
/*  The migration that brings in floors (a store_migrate_fn of
    store_migrate.h, each node's plan lists it): writes nothing, since a
    store without floor keys has floor 0 for every origin (no id pruned by
    the window yet; ids an older build pruned by time are as unknown as they
    were before). The format bump is what matters: an older build ignores
    floors and would apply an id below one, so it must refuse the dir.
    `note` gets the count of origins in `seen`. */
ledger_err_t store_seen_migrate_floors(store_txn_t *txn, void *arg, char *note, size_t note_size);

/* --- ledger --------------------------------------------------------------- */

typedef struct {
    uint64_t seq;              /* assigned by append: 1, 2, 3, ... */
    uint64_t account_prev_seq; /* the account's previous entry (0 if none), from the caller */
    char account[STORE_ACCOUNT_MAX + 1];
    char transfer[STORE_TRANSFER_MAX + 1];
    char kind[STORE_KIND_MAX + 1]; /* "open", "hold", "release", "debit", "credit", ... */
    int64_t balance_delta_minor;   /* change of the book balance */
    int64_t held_delta_minor;      /* change of the held amount */
    int64_t balance_after_minor;   /* book balance after this entry */
    int64_t held_after_minor;      /* held amount after this entry */
    uint64_t ts_ms;                /* never below the previous entry's (append clamps it) */
    /*  "" for money entries; an audit entry's words (the accounts node's
        "ops: active -> frozen"), hashed with the rest. Record version 3
        carries it, version 2 (every entry with memo "") does not. */
    char memo[STORE_MEMO_MAX + 1];
    uint8_t prev_hash[STORE_HASH_SIZE]; /* hash of entry seq-1 (zeros for seq 1) */
    uint8_t hash[STORE_HASH_SIZE];      /* SHA-256 over prev_hash and this entry's fields */
} store_ledger_entry_t;

/*  Appends an entry. The caller fills account, account_prev_seq, transfer,
    kind, the deltas, the after values and ts_ms; append assigns seq,
    prev_hash and hash, in `txn`. account is 1 .. STORE_ACCOUNT_MAX bytes,
    transfer 0 .. STORE_TRANSFER_MAX, kind 1 .. STORE_KIND_MAX, memo 0 ..
    STORE_MEMO_MAX (else LEDGER_E_INVALID).

    Time (issue 21): ts_ms never goes down along the ledger, so the ledger
    can be searched by time (balance as of a time, statements): an entry
    whose ts_ms is below the previous entry's (the wall clock stepped
    back) is stored, and returned in *entry, with the previous entry's
    ts_ms. Entries written before this rule (accounts format < 7) may go
    down; a search by time then cuts somewhere among them.

    Each account's entries form a chain: account_prev_seq is the seq of the
    account's newest entry so far (0 for its first), which the caller keeps
    in its own record of the account (the accounts node: in the account
    record it rewrites anyway), so an append writes the ledger's last page
    and nothing else: no per-account index, whose random inserts used to
    dirty a page of a growing tree per entry. Append checks that entry
    account_prev_seq is one of the account's entries and that the after
    values equal its after values (0 for a first entry) plus the deltas
    (LEDGER_E_INVALID; LEDGER_E_OVERFLOW if the sum does not fit). That it
    is the account's NEWEST entry is the caller's to keep: verify reports
    an entry whose account_prev_seq is not (a fork of the chain). */
ledger_err_t store_ledger_append(store_txn_t *txn, store_ledger_entry_t *entry);
/* LEDGER_E_NOT_FOUND if no entry has that seq. */
ledger_err_t store_ledger_get(store_txn_t *txn, uint64_t seq, store_ledger_entry_t *entry_out);
/* Sequence number of the last entry (0 if the ledger is empty). */
ledger_err_t store_ledger_last_seq(store_txn_t *txn, uint64_t *seq_out);
/*  Up to `max` entries of `account`, newest first, following the account's
    chain. newest_seq is the account's newest entry (0: it has none; the
    caller's record of the account knows it). before_seq is 0 (start at
    newest_seq) or the seq of one of the account's entries (the page starts
    with the entry before it: the last seq of a page is the next page's
    cursor); any other value is LEDGER_E_NOT_FOUND. An entry on the way
    that belongs to another account or does not point back is
    LEDGER_E_CORRUPT. *count_out gets how many. */
ledger_err_t store_ledger_by_account(store_txn_t *txn, const char *account, uint64_t newest_seq,
                                     uint64_t before_seq, store_ledger_entry_t *entries_out,
                                     size_t max, size_t *count_out);

/*  *seq_out = the seq of the last entry with ts_ms <= at_ms (0: none, or
    an empty ledger): a binary search over seqs (ts_ms never goes down along
    the ledger, see append), O(log^2 n) page reads, no scan. Entries of a
    ledger written before the clamp with ts going down are cut somewhere
    among them. LEDGER_E_CORRUPT (a gap, a record that does not parse),
    store errors. */
ledger_err_t store_ledger_seq_at(store_txn_t *txn, uint64_t at_ms, uint64_t *seq_out);

/* Balances recomputed by a verify walk, reported per account. */
typedef void (*store_ledger_balance_fn)(const char *account, int64_t balance_minor,
                                        int64_t held_minor, uint64_t last_seq, void *ctx);

typedef struct {
    uint64_t entries; /* entries walked */
    bool ok;
    uint64_t first_bad_seq;    /* 0 if ok */
    char problem[160];         /* what is wrong with first_bad_seq */
    int64_t balance_sum_minor; /* sum of all balance deltas: 0 for a double-entry ledger */
} store_ledger_report_t;

/*  Walks the whole ledger in order: checks each entry's prev_hash and hash,
    that seqs are contiguous from 1, that each entry's account_prev_seq is
    its account's previous entry, that each entry's after values equal the
    running sums of its account's deltas. Stops at the first bad entry (a
    record that does not parse is a bad entry, not an error). On a good
    walk, calls `balance_fn` (may be NULL) once per account, in order of
    first appearance, with the recomputed balance and held amount and the
    seq of its newest entry (for the caller to compare with its own
    records of the accounts). Returns LEDGER_OK when the walk ran (look at
    report->ok), or a store error (LEDGER_E_NOMEM for the per-account
    sums). Running sums or the total of balance deltas that overflow int64
    are a bad entry. Run it in a read transaction; on a large ledger that
    transaction is long. */
ledger_err_t store_ledger_verify(store_txn_t *txn, store_ledger_balance_fn balance_fn, void *ctx,
                                 store_ledger_report_t *report_out);

/*  The same walk in chunks (issue 20: a scheduled verify must not hold one read transaction
    for the whole ledger): store_ledger_verify is new + one step of UINT64_MAX + finish, so
    both give the same report. The walk keeps its position, the previous entry's hash and the
    per-account running sums between steps; entries are never changed once appended, so the
    chunks, each in its own read transaction, check what one walk would. Entries appended
    between steps are walked too: a step that meets the end of the ledger as its transaction
    sees it is the last (done).
      store_ledger_walk_new      LEDGER_E_NOMEM.
      store_ledger_walk_step     walks at most `max` (> 0) entries in `txn` from where the
                                 walk stopped; *done_out true once the walk met the end of
                                 the ledger or a bad entry. Store errors, LEDGER_E_NOMEM (the
                                 walk is then stuck on it).
      store_ledger_walk_finish   after done: *report_out as store_ledger_verify's, and on a
                                 good walk balance_fn per account; call it in the last step's
                                 transaction to compare with records of that same snapshot.
      store_ledger_walk_destroy  frees it, sets *walk_p to NULL (NULL *walk_p: nothing).
    Thread: one thread at a time per walk; the transactions as store.h says. */
typedef struct store_ledger_walk_t store_ledger_walk_t;
ledger_err_t store_ledger_walk_new(store_ledger_walk_t **walk_out);
ledger_err_t store_ledger_walk_step(store_ledger_walk_t *walk, store_txn_t *txn, uint64_t max,
                                    bool *done_out);
ledger_err_t store_ledger_walk_finish(store_ledger_walk_t *walk, store_ledger_balance_fn balance_fn,
                                      void *ctx, store_ledger_report_t *report_out);
void store_ledger_walk_destroy(store_ledger_walk_t **walk_p);

#endif

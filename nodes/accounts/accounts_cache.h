/*  accounts_cache.h: the accounts node's balances in memory, written back to
    the accounts table in checkpoints; the ledger is their durable record.

    Why: every transfer changes two or three account records at random
    places in the accounts table. Written through, each change dirties its
    own 4 KiB B-tree page, and every commit writes and fsyncs those pages
    (at 1M accounts one page per change; at 10k accounts most of the table
    on every large commit). But each ledger entry already carries its
    account's balance and held amount after it, and the account's previous
    entry (store_ledger_append), durably, in the same transaction: the
    ledger alone determines every balance. So the batch's transaction writes
    the ledger, and the changed records stay here (dirty) until a checkpoint
    writes them back, many changes to one record (and many records on one
    page) in one write.

    Durable state: the accounts table (each record as of its ledger_seq) +
    the ledger + the checkpoint mark (STORE_DB_META key
    ACCOUNTS_CHECKPOINT_KEY, be64): every ledger entry newer than its
    account's record has seq >= mark. accounts_cache_replay (at start, before
    anything else) applies those entries to the records, so after a crash
    the table is exactly as if it had been written through.

    Checkpoints: at the first batch commit once checkpoint_ms passed since
    the last one started, or dirty_max records are dirty (no commits, no
    checkpoint: an idle node keeps its dirty records, the ledger has them),
    a checkpoint takes the ids dirty at that commit (S = the next ledger
    seq) in id order and writes `chunk` of them per commit, or twice the
    records the batch changed if that is more (so it keeps up with any
    load), with their newest values (neighbours share pages), dropping them
    from memory after the commit; the commit that writes the last ones also
    writes mark = S. Records dirtied meanwhile wait for the next. Small
    chunks keep each commit short: at 1M accounts a chunk of 2,048 made
    commits of 10-50 ms (a p99 of 76 ms at half of peak, 26 ms with 256).
    `chunk` is a floor: under a backlog (batches of thousands of messages)
    the write-back grows with the batch, so commits grow too, but the
    checkpoint keeps up and the mark moves (latency is queueing there).

    Reserved transfers: the cache owns their in-memory set
    (accounts_reserved.h). Every transaction that writes the mark (the last
    chunk of a checkpoint, a clean stop) first writes the timers of the
    set's volatile entries, and the replay gives the transfer of every
    "hold" entry at or after the old mark its timer if it is still
    reserved: so every reserved transfer whose hold is behind the mark has
    its "tm/" timer on disk, and the start-up finds them all.

    Transactions: changes made while a batch's transaction is open are
    undone if it is dropped (accounts_cache_txn_end(false), or a new
    accounts_cache_txn_begin without an end: the store's map-full rerun),
    so the cache always matches the last committed transaction.

    A clean stop writes every dirty record (accounts_cache_write_all), so
    the table is current after SIGTERM; after a crash it is current only
    once this build has started (replayed). An older build must not open a
    data dir this build was killed on before that (it would read stale
    balances).

    Readers on other threads (the admin /ledger/verify) see the table as of
    the last checkpoint commit (part of a running checkpoint included);
    accounts_verify_ledger accepts a record behind its account's newest
    entry only as the checkpoint rule above allows.

    Thread: the node loop's thread only (the one that owns the write
    transactions), except accounts_cache_stats (any thread). */
#ifndef LEDGER_ACCOUNTS_CACHE_H
#define LEDGER_ACCOUNTS_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "accounts_record.h"
#include "accounts_reserved.h"
#include "store.h"

/* STORE_DB_META key of the checkpoint mark. */
#define ACCOUNTS_CHECKPOINT_KEY "accounts_checkpoint"

/* Dirty records that start a checkpoint before checkpoint_ms (the node uses this). */
#define ACCOUNTS_CACHE_DIRTY_MAX 250000

typedef struct {
    uint64_t checkpoint_ms; /* start a checkpoint this long after the last one started */
    size_t dirty_max;       /* ... or once this many records are dirty */
    size_t chunk;           /* records written back per commit while a checkpoint runs, at
                               least (>= 1; twice the records the batch changed if more) */
} accounts_cache_config_t;

typedef struct accounts_cache_t accounts_cache_t;

/*  A new, empty cache. `config` is required (the node takes its values from
    --checkpoint-ms and --checkpoint-chunk, node_config.c, the one place of
    their defaults). NULL if out of memory. */
accounts_cache_t *accounts_cache_new(const accounts_cache_config_t *config);
/* Frees the cache; dirty records are lost from memory (the ledger still has them). */
void accounts_cache_destroy(accounts_cache_t **cache_p);

/* true and *rec_out = the record's newest value if `id` is dirty here. */
bool accounts_cache_get(const accounts_cache_t *cache, const char *id, accounts_record_t *rec_out);
/*  Keeps `rec` (an existing account's new value, whose ledger entries are in
    the open transaction) dirty here instead of writing it. LEDGER_E_NOMEM. */
ledger_err_t accounts_cache_put(accounts_cache_t *cache, const accounts_record_t *rec);

/* Number of dirty records. */
size_t accounts_cache_dirty(const accounts_cache_t *cache);

/* Figures for /metrics, as of the last accounts_cache_txn_end or write_all. */
typedef struct {
    uint64_t dirty;           /* records newer here (and in the ledger) than in the table */
    uint64_t checkpoints;     /* checkpoints finished (mark moved) */
    uint64_t records_written; /* records written back, by checkpoints and a clean stop */
} accounts_cache_stats_t;

/* Thread-safe (atomics): for the admin server's thread. */
accounts_cache_stats_t accounts_cache_stats(const accounts_cache_t *cache);
/* true while a checkpoint is writing records back. */
bool accounts_cache_checkpointing(const accounts_cache_t *cache);

/*  The holds of reserved transfers in memory (accounts_reserved.h), owned by the cache, which
    passes its transaction hooks on to them. */
accounts_reserved_t *accounts_cache_reserved(accounts_cache_t *cache);

/* Starts a batch's transaction (undoing what an unfinished one changed). */
void accounts_cache_txn_begin(accounts_cache_t *cache);
/*  Last step inside the batch's transaction: writes the next chunk of a
    running checkpoint (and the mark when it is the last), and decides
    whether a checkpoint starts after this commit. Store errors. */
ledger_err_t accounts_cache_txn_prepare(accounts_cache_t *cache, store_txn_t *txn, uint64_t now_ms);
/* After the transaction: committed, or dropped (every change of it undone). */
void accounts_cache_txn_end(accounts_cache_t *cache, bool committed);

/*  A clean stop: writes every dirty record and mark = the next ledger seq
    in `txn`, so the table is current (and a build that knows nothing of
    the cache reads right balances). The cache is not changed: destroy it
    after the commit. Store errors. */
ledger_err_t accounts_cache_write_all(accounts_cache_t *cache, store_txn_t *txn);

/*  Start-up, before the cache is used: applies every ledger entry at or
    after the mark that is newer than its account's record, writes those
    records and mark = the next ledger seq, in `txn`. A data dir without a
    mark was written through (records are current): nothing is replayed.
    *replayed_out (may be NULL) = entries applied. LEDGER_E_CORRUPT if an
    entry's account is missing or its chain does not continue the record
    (then nothing may be trusted: the caller must not start); also if an
    entry's amounts do not continue its record's (after = before + delta).
    Store errors. Whatever writes account records without the cache (the
    bench seeder) must run this first: the table may be behind. */
ledger_err_t accounts_cache_replay(store_txn_t *txn, uint64_t *replayed_out);

/*  The mark in `txn`'s snapshot: every entry newer than its account's
    record has seq >= *mark_out. Without a mark (a data dir written
    through), the ledger's next seq: no record may lag. Store errors. */
ledger_err_t accounts_cache_checkpoint_mark(store_txn_t *txn, uint64_t *mark_out);

#endif

/*  store_migrate_v1.h: ledger format 1 -> 2, the store's half of the
    accounts node's first migration (nodes/accounts/accounts_migrate.h runs
    it as a step of store_migrate.h's runner and keeps the account records).

    Format 1 kept each ledger entry without account_prev_seq (so without
    it in the hash) and found an account's entries through a ledger_by_account index
    of (account, seq) keys. Two ways were open: teach the reader and verify
    to accept version-1 entries forever, or re-encode every entry as version
    2 with a recomputed hash chain. We re-encode: the readers, the verify
    walk and every later migration then know one entry format, and nothing
    in the running code depends on a format that no build writes any more.
    Re-hashing changes every hash, so it is done only after the old chain
    verified completely (contiguous seqs, each prev_hash the hash before it,
    each hash SHA-256(prev_hash || fields), every entry in the index under
    its own account); a broken old chain is refused, nothing changed. The
    old chain's tip (seq and hash) is kept in META (STORE_MIGRATE_V1_TIP_KEY)
    and logged next to the new tip, so an auditor holding the old tip can
    check the old dir (or its dump) and link it to the new chain. Seqs,
    accounts, amounts, after values and times are kept as they were; each
    entry gains account_prev_seq from the index; the index is dropped in the
    same transaction.

    What it owns: the layout of format-1 ledger records (below, in
    store_migrate_v1.c: nothing else reads them) and the ledger_by_account
    table; the rebuilt ledger is written through store_ledger_append.

    How to call: inside a store_migrate_fn (a write transaction that also
    bumps the version); store_migrate_v1_index_count from a detect function.

    Errors: per function below. Threads: the transaction's thread.
*/
#ifndef LEDGER_STORE_MIGRATE_V1_H
#define LEDGER_STORE_MIGRATE_V1_H

#include <stdint.h>
#include "ledger_err.h"
#include "store.h"

/* STORE_DB_META key of the format-1 ledger's tip after the migration: be64 seq | hash[32]. */
#define STORE_MIGRATE_V1_TIP_KEY "store:migrate:ledger_v1_tip"
/* The format-1 per-account index: (account NUL-padded to STORE_ACCOUNT_MAX, be64 seq) -> "". */
#define STORE_MIGRATE_V1_INDEX_DB "ledger_by_account"

/* Entries in the format-1 ledger_by_account index (0 if the table is absent). */
ledger_err_t store_migrate_v1_index_count(store_txn_t *txn, uint64_t *count_out);

/*  Called once per account of the rebuilt ledger, with its newest entry (as
    re-encoded, seq unchanged), in account id order. An error aborts. */
typedef ledger_err_t (*store_migrate_v1_head_fn)(store_txn_t *txn,
                                                 const store_ledger_entry_t *newest, void *arg);

typedef struct {
    uint64_t entries;  /* ledger entries re-encoded */
    uint64_t accounts; /* accounts with entries (head_fn calls) */
    uint64_t tip_seq;  /* the last entry's seq (0: empty ledger) */
    uint8_t old_tip_hash[STORE_HASH_SIZE];
    uint8_t new_tip_hash[STORE_HASH_SIZE];
} store_migrate_v1_report_t;

/*  Ledger format 1 -> 2 in `txn` (see the top): verifies the old chain and
    index, re-appends every entry with its account_prev_seq through
    store_ledger_append (one encoder, one hash), calls head_fn per account,
    records the old tip (STORE_MIGRATE_V1_TIP_KEY) and drops the index.
    A ledger that is already empty of format-1 entries (no index entries
    and no ledger entries) is a no-op. Errors: LEDGER_E_CORRUPT (the old
    chain or index does not verify; `why` says where), head_fn's error,
    store errors. `why` (why_size bytes) is written on error. */
ledger_err_t store_migrate_v1_ledger(store_txn_t *txn, store_migrate_v1_head_fn head_fn, void *arg,
                                     store_migrate_v1_report_t *report_out, char *why,
                                     size_t why_size);

#endif

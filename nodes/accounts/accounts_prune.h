/*  accounts_prune.h: the retention of the accounts node's saga state (issue 20).

    What it does: deletes the transfer records (saga state, accounts_record.h)
    of transfers that finished (settled, released, declined, voided,
    expired, timed_out) longer than a
    retention ago, oldest first, a bounded number per call, in the caller's
    write transaction (the node runtime's node_app_t.prune hook, run by
    node_upkeep.c every second in a write transaction of its own). Never
    deleted: a reserved or authorized transfer (its hold is open: the record
    is what the verdict, capture, void or timer settles or releases), the
    ledger, accounts, balances. A settled transfer pruned can no longer be
    refunded (not_refundable); a refund in flight whose original was pruned
    gives nothing back on release (accounts_refund.h).

    What orders saga state by time: its key. Transfer ids come from the
    gateway and are time-ordered ("tr_" + 12 hex digits of the creation ms +
    8 of a sequence, gateway_view.h), so STORE_DB_TRANSFERS is in creation
    order, and a transfer finishes no earlier than it was created. The walk
    goes from the oldest key and stops at the first id created after the
    cutoff (now - retention): no new index, no format change. What it steps
    over (reserved, or finished too recently) is met again by a later pass;
    a call resumes after the id where the previous one stopped, so it reads
    at most `scan_max` records. A key that is not of that shape (none are
    written today) is judged by its record alone and never stops the walk.
    "Finished since" is the record's updated_ms, the time of its final step.

    A late redelivery of transfer.requested for a transfer whose saga state
    is gone must not hold the money a second time. What protects it, in
    order:
      1. `seen` (node_seen.h, store_seen.h): the message's id was recorded
         when it was applied, and a redelivery of an id `seen` still holds
         is a duplicate (acked, nothing applied). Ids are per-origin
         sequences: with issue 20's bounded `seen` (per-origin high-water
         marks and a window above a floor), an id below its origin's floor
         is refused as too old, never applied, however long ago it was
         seen. The saga retention (default 30 days) is far beyond any
         redelivery the relay makes (its retries end when the message is
         acked, within seconds).
      2. The pruned floor (this module): each call that deletes records
         raises ACCOUNTS_PRUNE_FLOOR_KEY (STORE_DB_META, be64) to the newest
         creation ms among the ids it deleted. transfer.requested for an id
         the node does not know and created at or before the floor is
         refused for good (accounts_saga.h: LEDGER_E_INVALID, nacked, the
         gateway dead-letters it for an operator), because its saga state
         may have been pruned. This holds even if `seen` forgot the id. Its
         cost: a transfer.requested delivered more than the retention after
         the gateway created it is refused though it is new; with the
         default retention that means a month of outage.
      3. Verdicts (fraud.approved, fraud.rejected) for a transfer with no
         saga state change nothing (accounts_saga.h), as before: they can
         only act on a reserved transfer, which is never pruned.
    The floor key is a new META key, not a change of any record: a store
    without it reads as floor 0 (nothing pruned), so no migration.

    Errors: LEDGER_E_CORRUPT (a stored record that does not decode: nothing
    of the call is to be committed), LEDGER_E_NOMEM, store errors. A NULL txn
    or result is a bug, asserted.

    Threads: no state; the thread that owns the write transaction.
*/
#ifndef LEDGER_ACCOUNTS_PRUNE_H
#define LEDGER_ACCOUNTS_PRUNE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ledger_err.h"
#include "proto.h"
#include "store.h"

/* Default of --saga-retention-ms: finished saga state is kept 30 days. */
#define ACCOUNTS_PRUNE_RETENTION_DEFAULT_MS (30ull * 24 * 60 * 60 * 1000)
#define ACCOUNTS_PRUNE_BATCH 64      /* records collected per cursor walk, then deleted */
#define ACCOUNTS_PRUNE_SCAN_FACTOR 4 /* records read per call: this times the most deleted */
/* STORE_DB_META key of the pruned floor (be64 ms; absent = 0). */
#define ACCOUNTS_PRUNE_FLOOR_KEY "accounts_saga_pruned_ms"

/* What one call did. */
typedef struct {
    size_t pruned;  /* records deleted */
    size_t scanned; /* records read */
    /* Where the next call resumes (after this id); "" = from the oldest (the cutoff or the end
       was reached: a new pass starts). */
    char next_after[PROTO_TRANSFER_ID_MAX + 1];
} accounts_prune_result_t;

/*  Deletes up to `max` saga records finished at or before now_ms -
    retention_ms, walking from the first id after `after` (NULL or "" from
    the oldest) and reading at most `scan_max` (>= max) records, in `txn`;
    raises the pruned floor. retention_ms 0 deletes nothing. *out is filled
    on every return. */
ledger_err_t accounts_prune_saga(store_txn_t *txn, uint64_t now_ms, uint64_t retention_ms,
                                 const char *after, size_t max, size_t scan_max,
                                 accounts_prune_result_t *out);

/*  *refused_out: true if a transfer.requested for `transfer_id`, which the
    node has no saga state for, must be refused as possibly pruned (created
    at or before the pruned floor; see above). One META get. Store errors,
    LEDGER_E_CORRUPT (a floor value that is not 8 bytes). */
ledger_err_t accounts_prune_refuses(store_txn_t *txn, const char *transfer_id, bool *refused_out);

/* The creation ms of a gateway transfer id ("tr_" + 12 + 8 lower-case hex digits); false if
   `id` is not of that shape. Pure. */
bool accounts_prune_id_ms(const char *id, size_t len, uint64_t *ms_out);

#endif

/*  gateway_view_prune.h: the retention of the gateway's transfer views (issue 20).

    What it does: deletes the views of transfers that reached a final status
    (settled, rejected_fraud, declined) longer than a retention ago, with
    their entries in the per-principal transfer index ("pt/", gateway_owners.h),
    oldest first, a bounded number per call, in the caller's write
    transaction. A pending transfer is never deleted, however old.

    What orders views by time: their key. Transfer ids are time-ordered
    ("tr_" + 12 hex digits of the creation ms + a sequence, gateway_view.h),
    so STORE_DB_TRANSFERS is in creation order, and a transfer is final no
    earlier than it was created. Every view that can be due (final at or
    before now - retention) was therefore created at or before that cutoff:
    the walk goes from the oldest key and stops at the first id whose ms part
    is past the cutoff. No new index, no format change. What the walk steps
    over (pending, or final too recently) is stepped over again on a later
    pass; a call resumes after the id where the previous one stopped
    (`after`), so a long run of such views costs each call at most
    `scan_max` reads, and a pass that reached the cutoff starts again from
    the oldest.

    "Final since" is the view's updated_ms: the time of its last change,
    which is its final status or, later, a late funds.reserved recorded as
    history; never earlier than the final status, so never pruned early.

    Index entries deleted with a view: those of the owner of `from` and of
    the owner of `to` (the owner map, gateway_owners.h), the viewers
    gateway_view.c indexed it for. A deposit is indexed for its sender
    instead of the owner of `from` (the settlement account has none), and
    the view does not record who sent it: that one entry stays behind. It
    costs one key, and readers already skip an id with no view (a list
    never shows a pruned transfer).

    What readers see after: GET /api/transfers/{id} answers 404 `not_found`
    (the same as an id that never existed: nothing about a pruned transfer
    is disclosed), lists and streams leave it out. A late status event for
    it changes nothing (gateway_view_apply: an unknown transfer). The
    idempotency key of a pruned transfer is expired already when the
    retention is at least the keys' (node_config.c refuses a shorter one),
    so a retry can never find a key that names no view.

    Errors: LEDGER_E_CORRUPT (a stored view that does not decode: nothing of
    the call is to be committed), LEDGER_E_NOMEM, store errors. A NULL txn or
    result is a bug, asserted.

    Threads: no state; any thread that owns the write transaction (the
    gateway's pruning actor, gateway_prune.h).
*/
#ifndef LEDGER_GATEWAY_VIEW_PRUNE_H
#define LEDGER_GATEWAY_VIEW_PRUNE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ledger_err.h"
#include "proto.h"
#include "store.h"

/* Default of --transfer-retention-ms: final views are kept 90 days. */
#define GATEWAY_VIEW_RETENTION_DEFAULT_MS (90ull * 24 * 60 * 60 * 1000)
#define GATEWAY_VIEW_PRUNE_BATCH 64 /* views collected per cursor walk, then deleted */

/* What one call did. */
typedef struct {
    size_t pruned;  /* views deleted */
    size_t scanned; /* views read */
    /* Where the next call resumes (strictly after this id); "" = from the oldest (this call
       reached the cutoff or the end: a new pass starts). */
    char next_after[PROTO_TRANSFER_ID_MAX + 1];
} gateway_view_prune_result_t;

/*  Deletes up to `max` views final at or before now_ms - retention_ms, with
    their index entries, walking from the first id after `after` (NULL or ""
    from the oldest) and reading at most `scan_max` (>= max) views, in `txn`.
    retention_ms 0 deletes nothing. *out is filled on every return. */
ledger_err_t gateway_view_prune_transfers(store_txn_t *txn, uint64_t now_ms, uint64_t retention_ms,
                                          const char *after, size_t max, size_t scan_max,
                                          gateway_view_prune_result_t *out);

#endif

/*  fraud_prune.h: the fraud node's retention of decisions and known payees
    (issue 20).

    What it does: deletes the decisions (STORE_DB_DECISIONS, fraud.h) made
    before a cutoff, run by the node's retention hook (node_app_t.prune,
    node_upkeep.c: every second, at most `max` per write transaction, again
    at once while a run hits that limit). The ledger is never touched.

    How it finds old decisions cheaply: decisions are keyed by transfer id,
    and the gateway makes every transfer id as "tr_" + 12 hex digits of its
    clock in ms + a sequence (gateway_view.h), so key order is the order the
    transfers were created, and a transfer is decided soon after it was
    created. The walk goes from the first key and deletes decisions whose
    own time (ts_ms, fraud's clock) is before the cutoff, and stops at the
    first younger one: no scan in the steady state (one seek per run), no
    index, no format change. Chosen over a time index (a second write per
    decision and a migration) and over a chunked walk with a saved cursor
    (reads the whole table over and over to find nothing). The cost of the
    choice: a decision made late for an old transfer (fraud was down when it
    was reserved) holds back the decisions of the transfers created after
    it until it is old too, by at most how late it was.

    Why deleting a decision is safe: the decision is the saga guard of a
    funds.reserved ("a decision is stored once per transfer"), but the
    message itself is stopped before it reaches the handler: its id is in
    `seen` (a duplicate) or at or below its origin's floor (refused
    id_too_old, store.h "seen message ids"). A funds.reserved id above the
    floor and not in `seen` was never applied, so it has no decision to
    lose. The accounts node's saga state also ignores a verdict for a final
    transfer.

    Velocity entries (STORE_DB_RISK 'V') are not pruned here: each
    evaluation deletes its source's entries that have left the window, and
    a source keeps at most what it had in its last window, so they are
    bounded by the number of accounts, not by time.

    Known payees ('P', the new_payee rule's memory: one per pair of accounts
    approved) would grow with every new pair, up to accounts squared. A
    payee whose last approval (refreshed at most daily, fraud.h) is older
    than --payee-retention-ms (default a year) is forgotten: its next large
    payment is a first payment again, as it would be for a bank that forgets
    a payee unused for a year. Payee keys are ordered by pair, not time, so
    fraud_prune_payees walks them in chunks (scan_max keys per run) from a
    key the caller keeps between runs, wrapping to the first payee at the
    end: each payee is looked at once per full walk, and a walk of N payees
    takes N / scan_max runs (one a second: 16,384 a second, a million
    payees a minute).

    Errors: store errors; LEDGER_E_CORRUPT for a decision record too short
    to hold its time or of another version (the hook's transaction is
    dropped: nothing deleted in that run). Thread: the node loop's, in the hook's write transaction.
*/
#ifndef LEDGER_FRAUD_PRUNE_H
#define LEDGER_FRAUD_PRUNE_H

#include <stddef.h>
#include <stdint.h>
#include "ledger_err.h"
#include "fraud.h"
#include "store.h"

/*  Deletes, in key order from the first, up to `max` decisions made before
    `older_than_ms`, stopping at the first one made at or after it (see
    above); *pruned_out gets how many. */
ledger_err_t fraud_prune_decisions(store_txn_t *txn, uint64_t older_than_ms, size_t max,
                                   size_t *pruned_out);

#define FRAUD_PAYEE_SCAN_FACTOR 4 /* payees looked at per run: this many times the delete limit */

/* Where the walk over known payees goes on (empty: from the first payee). */
typedef struct {
    uint8_t key[FRAUD_PAYEE_KEY_MAX];
    size_t key_size;
} fraud_payee_walk_t;

/*  Looks at up to `scan_max` known payees from walk->key on, deletes those
    last approved before `older_than_ms` (at most `max`), and moves walk->key
    to the first payee not looked at (empty after the last one: the next run
    starts over). *pruned_out gets how many were deleted. */
ledger_err_t fraud_prune_payees(store_txn_t *txn, uint64_t older_than_ms, fraud_payee_walk_t *walk,
                                size_t max, size_t scan_max, size_t *pruned_out);

#endif

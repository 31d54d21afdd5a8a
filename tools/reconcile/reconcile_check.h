/*  reconcile_check.h: compares the three nodes' stores and reports every
    disagreement, one line each (ledger-reconcile's work; the reading is in
    reconcile_node.h and reconcile_flight.h).

    Per transfer (the three transfer tables walked side by side, in key
    order, so memory does not grow with the number of transfers), the
    gateway's status, the accounts node's saga state and the fraud node's
    verdict (reconcile_side_t) are classified:
      agree      final at gateway and accounts alike, and the verdict
                 matches (settled: approved, rejected_fraud: rejected,
                 declined: no verdict)
      in flight  not final everywhere yet, nothing contradicts, and a
                 message for it waits in some node's outbox
      disagree   anything else: final at one node and not (or otherwise) at
                 the other, a verdict without a saga at accounts or one that
                 does not match it, money held (accounts reserved) for a
                 transfer final at the gateway, a transfer unknown to the
                 gateway, one stuck (not final, nothing in flight), or one
                 with a dead letter
    and then, for the accounts node, the ledger (accounts_verify_ledger:
    the chain, and the accounts table's balances against the ledger) and
    every account's held amount against the sum of its reserved transfers.

    Pruning: with retention_ms > 0, a transfer whose newest record is older
    than now - retention_ms may be missing at a node that pruned it (each
    node has its own retention): an absent side is not held against it.

    Output: lines on `out`, "disagree <what> <id> <problem>: gateway=...
    accounts=... fraud=..." and "in_flight <id> ...: ... waiting: ...";
    nothing for transfers that agree.
    A record that does not decode is a disagreement, not an error: its
    transfer is reported "record_does_not_decode_at_<node>", and messages
    that do not decode are counted per node ("disagree messages <node>
    messages_do_not_decode: N"); the walk goes on.
    Errors: LEDGER_E_CORRUPT (a transfer table key that is not a transfer
    id: the walk cannot go on in order), LEDGER_E_NOMEM, store errors.
    Threads: the caller's, which owns the three read transactions.
*/
#ifndef LEDGER_RECONCILE_CHECK_H
#define LEDGER_RECONCILE_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include "ledger_err.h"
#include "reconcile_flight.h"
#include "reconcile_node.h"
#include "store.h"

typedef enum {
    RECONCILE_AGREE = 0,
    RECONCILE_IN_FLIGHT,
    RECONCILE_DISAGREE,
} reconcile_class_t;

typedef struct {
    uint64_t retention_ms; /* 0: every node should still have every transfer */
    uint64_t now_ms;
} reconcile_options_t;

typedef struct {
    uint64_t transfers;
    uint64_t agree;
    uint64_t in_flight;
    uint64_t disagree;   /* transfers, accounts and ledger problems */
    uint64_t lines_hash; /* FNV-1a of the disagreement lines: two passes alike or not */
} reconcile_report_t;

/*  Classifies one transfer from its three sides (indexed by reconcile_node_t)
    and whether a message for it waits in an outbox (`waiting`) or sits in
    dead letters (`dead`); a short problem text into `problem`. Pure. */
reconcile_class_t reconcile_check_classify(const reconcile_side_t sides[RECONCILE_NODE__COUNT],
                                           bool waiting, bool dead, bool pruned_ok, char *problem,
                                           size_t problem_size);

/*  Runs the whole comparison over the nodes' read transactions txns[node]
    (reconcile_node_t order), writing lines to `out` and counts to *report. */
ledger_err_t reconcile_check_run(store_txn_t *const txns[RECONCILE_NODE__COUNT],
                                 const reconcile_options_t *options, FILE *out,
                                 reconcile_report_t *report, char *why, size_t why_size);

#endif

/*  gateway_prune.h: the gateway's retention, run in the background.

    What it does: about once a minute (GATEWAY_PRUNE_INTERVAL_MS, or half
    the shortest retention when that is shorter), and once at start, deletes
    expired idempotency keys (gateway_view_prune_idempotency,
    GATEWAY_PRUNE_KEYS_MAX per run), then the oldest events of the event log
    past its retention (gateway_events_prune), then the transfer views final
    longer than views_retention_ms ago with their index entries
    (gateway_view_prune.h: at most GATEWAY_PRUNE_VIEWS_MAX deleted and
    GATEWAY_PRUNE_VIEWS_SCAN_MAX read per run), each kind in a short write
    transaction of its own: a kind that fails leaves the others running. A
    run that hit a limit, or whose walk of the views stopped before the
    cutoff, is followed by another soon (GATEWAY_PRUNE_AGAIN_MS). The node
    loop need not do it.

    Storage faults (node.h): while config.faulted says the node is faulted,
    a run writes nothing. A kind that meets a record that does not decode
    (LEDGER_E_CORRUPT) faults the node through config.fault (source
    "prune", the kind in the reason) and the run stops there; the kinds
    before it have committed.

    What it owns: one CZMQ actor (zactor: a thread behind a pipe; the
    constructor returns once the thread runs, the destructor sends $TERM and
    returns once it has ended). The store is the caller's; pruning is a short
    write transaction that LMDB serialises with the node loop's.

    Errors: a failed kind is logged through config.log and tried again at
    the next period (LEDGER_E_CORRUPT: never, the node is faulted).
    gateway_prune_start: LEDGER_E_NOMEM, LEDGER_E_IO (no actor).

    Threads: start and destroy on one thread; config.log, config.faulted and
    config.fault are called on the actor's thread.
*/
#ifndef LEDGER_GATEWAY_PRUNE_H
#define LEDGER_GATEWAY_PRUNE_H

#include <stdbool.h>
#include <stdint.h>
#include "ledger_err.h"
#include "store.h"

#define GATEWAY_PRUNE_INTERVAL_MS 60000u   /* between two runs */
#define GATEWAY_PRUNE_INTERVAL_MIN_MS 100u /* shortest period, for retentions of seconds */
#define GATEWAY_PRUNE_AGAIN_MS 10u         /* after a run that hit its limit: more are due */
#define GATEWAY_PRUNE_KEYS_MAX 2048        /* idempotency keys deleted per run */
#define GATEWAY_PRUNE_VIEWS_MAX 2048       /* transfer views deleted per run */
#define GATEWAY_PRUNE_VIEWS_SCAN_MAX 8192  /* transfer views read per run */

typedef struct {
    store_t *store;                           /* required (not owned) */
    uint64_t retention_ms;                    /* idempotency key retention */
    uint64_t views_retention_ms;              /* final transfer views; 0 = kept for ever */
    uint64_t (*now_ms)(void);                 /* Unix time in ms; NULL = the real clock */
    void (*log)(void *arg, const char *line); /* a failed run; thread-safe; may be NULL */
    void *log_arg;
    /* True while the node is faulted: nothing is pruned. Thread-safe, quick; NULL: never. */
    bool (*faulted)(void *arg);
    /* Faults the node (node_fault_set); thread-safe; NULL: a corrupt record is only logged. */
    void (*fault)(void *arg, const char *source, const char *reason);
    void *fault_arg;
} gateway_prune_config_t;

typedef struct gateway_prune_t gateway_prune_t;

/* Starts the actor (config copied); its first run is at once. */
ledger_err_t gateway_prune_start(const gateway_prune_config_t *config, gateway_prune_t **out);

/* Views deleted since the start (ledger_retention_pruned_total{what="views"}); any thread. */
uint64_t gateway_prune_views_pruned(const gateway_prune_t *self);

/* Stops the actor (a run in progress finishes first), frees it, sets *self_p to NULL; safe on NULL.
 */
void gateway_prune_destroy(gateway_prune_t **self_p);

#endif

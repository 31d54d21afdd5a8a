/*  reconcile_flight.h: the messages still waiting in the nodes' outboxes
    and dead letters, by transfer id.

    A transfer whose nodes disagree is not wrong while a message that will
    settle the difference is still in a sender's outbox (the relay redelivers
    it until it is acked). Reconcile reads every node's outbox and dead
    letters, decodes each message (proto_decode) and keeps, per message with
    a transfer id (corr), the sender, its peer, the type and whether it is a
    dead letter (delivery gave up: an operator's case, never in flight).

    What it owns: the item array (reconcile_flight_free).
    Errors: LEDGER_E_CORRUPT for a stored message that does not decode
    (reason in `why`; counted instead when `lenient`), LEDGER_E_NOMEM,
    store errors.
    Threads: the thread that owns the transaction.
*/
#ifndef LEDGER_RECONCILE_FLIGHT_H
#define LEDGER_RECONCILE_FLIGHT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ledger_err.h"
#include "proto.h"
#include "reconcile_node.h"
#include "store.h"

#define RECONCILE_FLIGHT_MAX                                                                       \
    4000000u /* messages kept at most (an outbox past it: LEDGER_E_TOO_LARGE) */

typedef struct {
    char transfer[PROTO_TRANSFER_ID_MAX + 1];
    reconcile_node_t sender;
    char peer[STORE_PEER_MAX + 1];
    proto_type_t type;
    bool dead; /* a dead letter, not an outbox entry */
} reconcile_flight_item_t;

typedef struct {
    reconcile_flight_item_t *items;
    size_t count;
    size_t cap;
    uint64_t untracked; /* messages without a transfer id (account queries) */
    /*  Set by the caller: a message that does not decode is counted here
        (per sender) instead of failing the walk with LEDGER_E_CORRUPT. */
    bool lenient;
    uint64_t undecodable[RECONCILE_NODE__COUNT];
} reconcile_flight_t;

/*  Adds every outbox entry and dead letter of `txn` (the store of `sender`)
    that carries a transfer id. Call for each node, then reconcile_flight_sort. */
ledger_err_t reconcile_flight_add_store(reconcile_flight_t *self, store_txn_t *txn,
                                        reconcile_node_t sender, char *why, size_t why_size);

/* Sorts by transfer id (before reconcile_flight_find). */
void reconcile_flight_sort(reconcile_flight_t *self);

/*  The items of `transfer`: *first_out points at the first, the return value
    is how many (0: none, *first_out NULL). */
size_t reconcile_flight_find(const reconcile_flight_t *self, const char *transfer,
                             const reconcile_flight_item_t **first_out);

/* Frees the items; the struct may be used again (empty). */
void reconcile_flight_free(reconcile_flight_t *self);

#endif

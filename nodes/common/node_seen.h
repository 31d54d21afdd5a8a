/*  node_seen.h: how far ahead of a peer's ids an inbound id may be, and
    how far behind (the floor).

    The "burn" attack: a sender that takes another node's future ids
    (fraud/N+1, N+2, ...) makes the real messages with those ids duplicates.
    With CURVE an origin is the authenticated peer, so only the peer itself
    can spend its ids; this bound stops it (or a bug in it) from spending
    ids so far ahead that they are never reached: a message whose seq is more
    than NODE_SEEN_AHEAD_MAX past the highest seq seen from its origin is
    refused (nack `id_too_far_ahead`, nothing applied or recorded). The
    origin's floor counts as seen: a peer silent past the time retention
    has its ids pruned but keeps its floor. An origin with neither (new) has
    no highest, and any seq is accepted.

    Behind: `seen` is pruned to a window of ids per origin and a time
    retention (node_upkeep.c), and each origin keeps a floor, the highest
    seq ever pruned (store.h, "seen message ids", says why). An id at or
    below the floor and not in `seen` cannot be told from an old duplicate:
    node_apply.c refuses it (nack `id_too_old`, nothing applied or
    recorded). node_seen_floor gives the cached floor.

    The highest seq and the floor per origin come from the store once
    (store_seen_high, a cursor seek; store_seen_floor, a get) and are then
    kept here, for NODE_SEEN_ORIGINS_MAX origins
    (the node's peers; more only with --insecure-plaintext, where an origin
    is a claim: the oldest slot is reused and read again when needed).
    A batch's transaction may run more than once (a refused message, a
    map-full retry) and may fail: the ids a run accepts move a pending
    highest, which becomes the highest only when that run commits
    (node_seen_end), and a value read inside a run that did not commit is
    forgotten. So the cache always equals the committed `seen` table.
    Pruning raises floors in a transaction of its own, between batches: the
    caller then empties the cache (node_seen_init) and it is read again.

    What it owns: nothing outside the caller's node_seen_t (fixed size).
    Errors: node_seen_ahead returns the store's errors (store_seen_high,
    store_seen_floor).
    Thread: the node loop's.
*/
#ifndef LEDGER_NODE_SEEN_H
#define LEDGER_NODE_SEEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ledger_err.h"
#include "store.h"

#define NODE_SEEN_AHEAD_MAX (1ull << 32) /* ids a peer may be ahead of its highest seen */
#define NODE_SEEN_ORIGINS_MAX 16         /* origins whose highest seq is kept in memory */

typedef struct {
    char origin[STORE_ORIGIN_MAX + 1];
    uint64_t high;    /* highest seq in the committed `seen` table */
    uint64_t floor;   /* highest seq pruned (store_seen_floor): at or below it is too old */
    uint64_t pending; /* with the ids the current run accepted */
    bool uncommitted; /* read inside a run that has not committed: forget it if it does not */
    bool used;
} node_seen_origin_t;

typedef struct {
    node_seen_origin_t items[NODE_SEEN_ORIGINS_MAX];
    size_t last;       /* the slot found last (a batch is mostly one origin's) */
    size_t next_reuse; /* the slot taken when all are used */
} node_seen_t;

/* Empties the cache. */
void node_seen_init(node_seen_t *self);

/* At the start of every run of a batch's write transaction. */
void node_seen_begin(node_seen_t *self);

/*  In the batch's transaction `txn`, before (origin, seq) is looked up in
    `seen`: *too_far_out = whether seq is more than NODE_SEEN_AHEAD_MAX past
    the origin's highest (this run's accepted ids included, the floor
    counted as seen); *high_out (may be NULL) gets that highest (0: none).
    Errors: store_seen_high's and store_seen_floor's. */
ledger_err_t node_seen_ahead(node_seen_t *self, store_txn_t *txn, const char *origin, uint64_t seq,
                             bool *too_far_out, uint64_t *high_out);

/*  The floor of `origin` as read by node_seen_ahead in this run (call it
    after that): an id at or below it that is not in `seen` is too old. */
uint64_t node_seen_floor(node_seen_t *self, const char *origin);

/* (origin, seq) was recorded in `seen` in this run (after node_seen_ahead for it). */
void node_seen_note(node_seen_t *self, const char *origin, uint64_t seq);

/* The run ended: committed (its ids count from now on) or dropped. */
void node_seen_end(node_seen_t *self, bool committed);

#endif

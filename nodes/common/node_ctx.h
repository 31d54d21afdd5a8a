/*  node_ctx.h: what a node's business logic sees while it handles a message.

    The saga handlers of every node are pure functions over the store: they
    take a node_ctx_t (the open write transaction, the node's name, the
    current time) and one decoded message, write their effects through
    ctx->txn and send messages only through node_ctx_emit(), which puts them in
    the outbox inside the same transaction. No sockets, no clocks, no I/O:
    this is what the unit tests drive.

    After the runtime commits the transaction it publishes every emitted
    message on the node's feed (node_ctx_published) and the relay delivers
    the outbox. If the transaction aborts, nothing was emitted.

    What it owns: the encoded copies of the messages emitted in the current
    transaction (for the feed), until node_ctx_reset. The transaction and
    the node's name are the caller's.

    How to call it: node_ctx_init once; node_ctx_begin at the start of each
    run of a write transaction; handlers call node_ctx_emit; node_ctx_reset
    after the feed was published (or the transaction dropped);
    node_ctx_fini at the end.

    Errors: node_ctx_emit returns the store's errors, LEDGER_E_NOMEM, and
    LEDGER_E_INVALID for a message that fails proto_validate. A NULL ctx or
    transaction is a bug, asserted.

    Thread: a node_ctx_t is used by the one thread that owns its transaction.
*/
#ifndef LEDGER_NODE_CTX_H
#define LEDGER_NODE_CTX_H

#include <stddef.h>
#include <stdint.h>
#include "ledger_err.h"
#include "proto.h"
#include "store.h"

/* Peer names used as outbox destinations. */
#define NODE_PEER_ACCOUNTS "accounts"
#define NODE_PEER_FRAUD "fraud"
#define NODE_PEER_GATEWAY "gateway"

/* Most messages one node_ctx_t collects for publishing (one batch's worth). */
#define NODE_CTX_PUBLISH_MAX 65536

/* One encoded message emitted in this transaction, kept for the feed. */
typedef struct {
    proto_type_t type;
    void *data; /* encoded envelope (owned by the ctx) */
    size_t size;
} node_published_t;

typedef struct {
    store_txn_t *txn;      /* the caller's write transaction */
    const char *node_name; /* origin of emitted messages, e.g. "accounts" */
    uint64_t now_ms;       /* the time the handlers must use */
    /*  The node's in-memory state that moves with its transactions (the
        accounts node's dirty balances, accounts_cache.h), or NULL. The runtime
        undoes its changes when a transaction is dropped (node_app_t.txn_*). */
    void *state;
    /* Emitted messages, for the feed after commit (owned; see node_ctx_reset). */
    node_published_t *published;
    size_t published_count;
    size_t published_cap;
    uint64_t feed_dropped; /* copies not kept for the feed (over NODE_CTX_PUBLISH_MAX) */
} node_ctx_t;

/* Sets up a ctx over `txn`. Call node_ctx_reset before reuse and node_ctx_fini at the end. */
void node_ctx_init(node_ctx_t *ctx, store_txn_t *txn, const char *node_name, uint64_t now_ms);
/* Forgets the published messages (frees them); keeps the allocation for reuse. */
void node_ctx_reset(node_ctx_t *ctx);
/*  Starts a (re)run of a store_write unit over `txn` at `now_ms`: resets the
    ctx (a map-full rerun starts from scratch) and points it at the transaction. */
void node_ctx_begin(node_ctx_t *ctx, store_txn_t *txn, uint64_t now_ms);
/* Frees everything the ctx owns. */
void node_ctx_fini(node_ctx_t *ctx);

/*  Sends `msg` to each of `peers` (names like NODE_PEER_FRAUD): assigns its
    id (origin = ctx->node_name, seq = next value of the "msg" sequence), its
    ts (ctx->now_ms) and its cause (the id of `cause`, or "" if NULL), encodes
    it, and puts one outbox entry per peer in ctx->txn. The message is also
    kept for the feed (best effort: over NODE_CTX_PUBLISH_MAX per transaction
    the copy is dropped and counted in feed_dropped, never an error).
    `peer_count` may be 0 (publish only: a local event).
    Errors: LEDGER_E_INVALID if `msg` fails proto_validate (a bug in the
    caller), store errors, LEDGER_E_NOMEM. */
ledger_err_t node_ctx_emit(node_ctx_t *ctx, const char *const *peers, size_t peer_count,
                           proto_msg_t *msg, const proto_msg_t *cause);

#endif

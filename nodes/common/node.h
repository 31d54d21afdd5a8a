/*  node.h: the node runtime: one event loop around a node's business logic.

    A node binds a ROUTER (its inbox) and a PUB (its feed), and relays its
    outbox to its peers (relay.h). Each turn of the loop:

      1. drains every inbound message that is ready, up to batch_max
         (frames: [identity][8-byte tag][envelope]);
      2. applies them all in ONE write transaction: for each saga message,
         skip it if its id is in `seen` (answered `ack` again, changes
         nothing), else call app->apply and record the id in `seen`;
         account queries go to app->query; acks/nacks from peers delete or
         dead-letter outbox entries in the same transaction;
      3. commits durably, and only then answers: `ack` per applied or
         already-seen message, `nack` (with the reason) per message that can
         never be applied (does not decode, fails validation, wrong type),
         a reply per query; then publishes every emitted message on the feed
         (topic = type name);
      4. lets the relay send new outbox entries and resend overdue ones.

    If the transaction fails (disk full, map at its limit) nothing is
    answered: senders redeliver and the batch is tried again. If it fails
    on stored data that does not decode or add up (LEDGER_E_CORRUPT), the
    node faults and writes nothing more ("Storage faults" below). A message its
    handler refuses for good is nacked and leaves none of its writes behind:
    the batch's transaction is dropped and the batch runs again without it.
    Messages are NOT applied in child (nested) transactions (node.c,
    apply_inbound, says why).

    Links (issue 19): the inbox and the feed are CURVE servers with the
    node's key, judged by zauth over allow/<name>/, and the relay's DEALERs
    CURVE clients (node_keys.h), unless --insecure-plaintext. Each inbound
    message is judged by the peer its key authenticates (node_inbound.h:
    unauthenticated, origin_mismatch, forbidden_type), before step 2.

    What it owns: the keys (node_keys.h, destroyed after the sockets), the
    store (store.h), the inbox, the feed, the wake eventfd, the relay
    (relay.h), the inbound batch (node_inbound.h), the highest seen seq
    per origin (node_seen.h: id_too_far_ahead), the handshake monitors
    (node_monitor.h, destroyed before the sockets), and the counters for
    /metrics. The caller owns the config and node_app_t it
    passes (both copied) and the app's state.

    How to call it: node_new (opens, binds, runs on_start), node_run until
    it returns, node_destroy. SIGTERM / SIGINT (or node_stop): the loop
    finishes its batch, runs on_stop, and node_run returns LEDGER_OK.

    Errors: node_new returns node_keys_open's errors (logged keys_refused),
    LEDGER_E_NOMEM, LEDGER_E_IO (sockets, bind, CURVE set-up),
    the store's errors (store_open) or on_start's, each logged; node_run
    returns LEDGER_E_IO if polling fails. A NULL node, config or app is a
    bug, asserted.

    Thread: node_new, node_run and node_destroy on one thread; node_wake,
    node_store, node_count_http and the node_get_* functions
    may be called from any thread.
*/
#ifndef LEDGER_NODE_H
#define LEDGER_NODE_H

#include "ledger_err.h"
#include "node_config.h"
#include "node_ctx.h"
#include "node_inbound.h"
#include "node_keys.h"
#include "node_metrics.h"
#include "node_monitor.h"
#include "relay.h"
#include "store.h"
#include "store_migrate.h"

typedef struct node_t node_t;

typedef struct {
    /*  Applies one saga message in ctx->txn. LEDGER_OK: applied (it may have
        changed nothing, by the saga guards). LEDGER_E_INVALID,
        LEDGER_E_OVERFLOW or LEDGER_E_TOO_LARGE (with a
        reason in `why`): it can never be applied, it is nacked, and
        everything the handler wrote for it is dropped (the batch's
        transaction is dropped and the batch runs again without it, so
        handlers must not keep state outside ctx: they are pure).
        LEDGER_E_CORRUPT (stored data does not decode or does not add up)
        aborts the batch and faults the node ("Storage faults" below): never
        return it for a bad message. Any other error (a store error) aborts
        the whole batch, which is tried again. */
    ledger_err_t (*apply)(node_ctx_t *ctx, const proto_msg_t *msg, void *app, char *why,
                          size_t why_size);
    /* Answers an account.query into `reply` (body only). NULL: queries are nacked. */
    ledger_err_t (*query)(node_ctx_t *ctx, const proto_msg_t *msg, proto_msg_t *reply, void *app);
    /* Runs once at start in a write transaction (demo data, funding account). May be NULL. */
    ledger_err_t (*on_start)(node_ctx_t *ctx, void *app);
    /* Called on the loop thread after each commit that applied messages. May be NULL. */
    void (*on_commit)(void *app);
    /*  Local work committed in the loop's own write transaction, so that a
        node has one writer (the gateway's HTTP submissions; wake the loop
        with node_wake when there is some). local_take (loop thread, each
        turn) returns how many jobs it took; when > 0, local_apply runs in
        the batch's transaction after the inbound messages (re-runnable; an
        error aborts the whole batch, inbound messages included, which are
        then redelivered), and local_done gets the outcome after the commit
        and the publishing of what the batch emitted (LEDGER_OK) or the
        batch's error. All three or none. */
    size_t (*local_take)(void *app);
    ledger_err_t (*local_apply)(node_ctx_t *ctx, void *app);
    void (*local_done)(void *app, ledger_err_t err);
    void *app;
    /*  In-memory state that moves with the batch's transactions (the accounts
        node's balances, accounts_cache.h), handed to handlers as ctx->state
        after on_start (which runs without it). txn_begin runs at the start of
        every run of a batch's transaction (also a rerun after a refused
        message or a map-full abort: it undoes an unfinished run),
        txn_prepare last inside it, txn_end after it committed (true) or was
        dropped (false). All three or none; NULL: no state. State that needs no
        undo (the gateway's owner cache: what it holds never changes) may come
        without the three. */
    void *state;
    void (*txn_begin)(void *state);
    ledger_err_t (*txn_prepare)(node_ctx_t *ctx, void *state);
    void (*txn_end)(void *state, bool committed);
    /*  Runs once when the loop stops on request (SIGTERM/SIGINT, node_stop),
        in a write transaction with ctx->state (the accounts node writes its
        balances back). An error is logged; the node still stops. May be NULL. */
    ledger_err_t (*on_stop)(node_ctx_t *ctx, void *app);
    /*  Retention (issue 20): runs between turns, at most once every
        NODE_UPKEEP_EVERY_MS (node_upkeep.c), in a write transaction of its
        own (ctx->state is NULL: it must not touch in-memory state), and
        deletes at most `max` records the app keeps past their retention,
        oldest first, setting *pruned_out. A run that pruned `max` is
        followed by another on the next turn; an error is logged and the run
        tried again a period later. It must never delete the ledger. NULL:
        nothing to prune. */
    ledger_err_t (*prune)(node_ctx_t *ctx, void *app, size_t max, size_t *pruned_out);
    /*  The store's format version and migrations (store_migrate.h), run by
        node_new right after the store opens, before on_start. NULL: none. */
    const store_migrate_plan_t *migrate;
    /* Peers this node sends to (names and endpoints). */
    relay_peer_t peers[RELAY_PEERS_MAX];
    size_t peer_count;
} node_app_t;

/*  Opens the keys (node_keys_open: before anything else, so a refused key
    leaves no store behind), opens the store, runs app->migrate's
    migrations, binds the sockets (CURVE servers unless plaintext), starts
    the relay (CURVE clients), runs app->on_start. Errors are logged. */
ledger_err_t node_new(const node_config_t *config, const node_app_t *app, node_t **node_out);
/*  node_new with keys the caller opened with node_keys_open (node_main does,
    to exit 2 on a refused key). Takes *keys_p, also on failure (set to NULL). */
ledger_err_t node_new_keyed(const node_config_t *config, const node_app_t *app,
                            node_keys_t **keys_p, node_t **node_out);
/* Runs the loop until SIGTERM/SIGINT (or node_stop). */
ledger_err_t node_run(node_t *node);
/* Asks the loop to stop after its current batch (thread-safe, async-signal-safe). */
void node_stop(node_t *node);
/* Wakes the loop so the relay sends new outbox entries now (thread-safe). */
void node_wake(node_t *node);
/* The node's keys (node_keys.h: own cert, peers' public keys), valid until node_destroy. */
node_keys_t *node_get_keys(node_t *node);
/* The node's store, for readers on other threads (HTTP). */
store_t *node_store(node_t *node);
void node_destroy(node_t **node_p);

/* What became of inbound messages, by type (node_stats_t.in_by_type). */
typedef enum {
    NODE_IN_APPLIED = 0,
    NODE_IN_DUPLICATE,
    NODE_IN_NACKED,
    NODE_IN_QUERY,
    NODE_IN__COUNT
} node_in_outcome_t;

/* Counters of issue 19's link checks (node_inbound.h), a block of their own. */
typedef struct {
    /* prejudged or refused inbound messages by reason and type (0 = did not decode) */
    uint64_t refused[NODE_REFUSED__COUNT][PROTO_TYPE__COUNT];
    node_keys_table_t allow; /* the allow table: size, failed reloads (node_keys.h) */
    bool insecure_plaintext; /* --insecure-plaintext */
} node_links_stats_t;

/* Counters for /metrics. */
typedef struct {
    uint64_t messages_in; /* saga messages applied */
    uint64_t duplicates;  /* already seen: acked again, nothing changed */
    uint64_t nacks_sent;
    uint64_t queries;
    uint64_t batches;
    uint64_t batch_failures;
    uint64_t messages_out; /* emitted */
    uint64_t commit_us_total;
    relay_stats_t relay;
    /* Inbound by type (index proto_type_t; 0 = did not decode) and outcome. */
    uint64_t in_by_type[PROTO_TYPE__COUNT][NODE_IN__COUNT];
    /* Emitted by type: by the loop's handlers and its local work. */
    uint64_t out_by_type[PROTO_TYPE__COUNT];
    uint64_t dead_lettered;      /* own outbox entries moved to dead_letters (a peer nacked) */
    uint64_t feed_dropped;       /* emitted messages not copied for the feed (node_ctx.h) */
    node_histogram_t batch_size; /* inbound messages + peer answers per write batch */
    node_histogram_t commit_us;  /* write batch latency, microseconds */
    node_links_stats_t links;
    node_handshake_stats_t handshakes; /* failed handshakes by socket / peer (node_monitor.h) */
} node_stats_t;
void node_get_stats(node_t *node, node_stats_t *stats_out);

/*  Counts one HTTP request of the node's public API (`route`: a label from
    a small fixed set, never a raw URL) with `method` answered with `status`, for /metrics.
    Thread-safe. */
void node_count_http(node_t *node, const char *method, const char *route, unsigned status);
/* Copies the HTTP request counts. Thread-safe. */
void node_get_http_counts(node_t *node, node_http_counts_t *counts_out);
/* The node's name ("gateway", ...), for labels. */
const char *node_name(const node_t *node);

/* Unix time in milliseconds. */
uint64_t node_now_ms(void);

/*  Storage faults (issue 20, "corruption fails closed"; node_fault.c).
    Stored data that does not decode or does not add up is the node's fault,
    never the message's: LEDGER_E_CORRUPT from a batch (a handler, the
    peers' answers, local work, the state's prepare; source "batch"), from
    on_start ("start"), from the node's retention (seen ids, app.prune:
    "prune"), from the relay (an outbox record that does not parse:
    "relay", relay_corrupt), or a failed check on another thread
    (node_fault_set: the accounts node's scheduled verify, "verify"; the
    gateway's retention actor, "prune"; its owner-map fill, "owners_fill")
    puts the node in the faulted state until it stops. Threads that write
    beside the loop ask node_fault_active first and write nothing once it
    is true.
    Faulted, the loop writes nothing: it applies no batch, acks and nacks
    no saga message (their senders keep them in their outboxes and
    redeliver after the operator restored the node and restarted it),
    settles no peer answer, relays nothing, runs no upkeep nor on_stop;
    it still answers read-only account queries (in a read transaction) and
    nacks messages refused before apply (undecodable, a type it does not
    take: their own fault). The first fault is logged once at error
    (event=storage_fault) and kept; later ones are counted. */
#define NODE_FAULT_REASON_MAX 256 /* bytes of a fault's reason, NUL included */
#define NODE_FAULT_SOURCE_MAX 32  /* bytes of a fault's source ("batch", "verify") */
typedef struct {
    bool faulted;
    uint64_t since_ms; /* unix ms of the first fault */
    uint64_t count;    /* faults reported (the first one is kept) */
    char source[NODE_FAULT_SOURCE_MAX];
    char reason[NODE_FAULT_REASON_MAX];
} node_fault_t;
/*  Puts `node` in the faulted state with `source` and `reason` (cut to fit);
    the first fault is kept and logged. Thread-safe. */
void node_fault_set(node_t *node, const char *source, const char *reason);
/* True once the node is faulted. Thread-safe, lock-free. */
bool node_fault_active(node_t *node);
/* Copies the fault state. Thread-safe. */
void node_fault_get(node_t *node, node_fault_t *fault_out);

#endif

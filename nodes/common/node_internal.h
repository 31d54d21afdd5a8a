/*  node_internal.h: the node's state (node_t), shared by the files of the
    node loop only: node.c (lifecycle, loop, publishing), node_apply.c (one
    batch's write transaction) and node_upkeep.c (periodic work between
    turns). Nothing outside nodes/common/node*.c includes it.
    Include node.h before it (node.h is the module's public face; this file
    only adds what is behind it, and including node.h here would make the
    two a cycle for scripts/check_structure.py).
    Thread: the node loop's, except stats and http_counts (under stats_lock).
*/
#ifndef LEDGER_NODE_INTERNAL_H
#define LEDGER_NODE_INTERNAL_H

#include <czmq.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "node_inbound.h"
#include "node_keys.h"
#include "node_monitor.h"
#include "node_seen.h"

#define NODE_ANSWERS_MAX 8192          /* acks/nacks from peers read per turn */
#define NODE_IDLE_MS 1000              /* longest poll when nothing is due */
#define NODE_FEED_REBIND_RETRY_MS 1000 /* between two tries to bind the feed again */
#define NODE_FAILURE_PAUSE_MS 200      /* wait after a failed batch before the next one */
#define NODE_US_PER_MS 1000u           /* microseconds per millisecond */
#define NODE_INBOX_MSG_MAX_BYTES RELAY_MSG_MAX_BYTES /* peers send what their relays send */
#define NODE_SOCKET_HWM_MESSAGES RELAY_HWM_MESSAGES  /* inbox and feed queue as the relay's */
#define NODE_TYPE_NAME_BYTES 32                      /* a message type name, for log lines */
/* A feed only receives subscriptions (a topic name each): any bigger frame is an attack. */
#define NODE_FEED_MSG_MAX_BYTES 4096
/*  How long a connection to the inbox or feed may take to finish its handshake. libzmq holds
    an unauthenticated peer's handshake bytes until then (30 s by default); a CURVE handshake
    takes milliseconds, so 5 s is ample even on a loaded machine. */
#define NODE_HANDSHAKE_MS 5000

struct node_t {
    node_config_t config;
    node_app_t app;
    store_t *store;
    zsock_t *inbox;
    zsock_t *feed;
    bool feed_unbound;      /* its endpoint was unbound to drop subscriptions: bind again */
    bool feed_drop_pending; /* the unbind failed: tried again next turn */
    uint64_t feed_retry_ms; /* the next bind try after a failed one (mono ms; 0: at once) */
    relay_t *relay;
    node_keys_t *keys; /* CURVE identity, zauth, peer table: outlives the sockets */
    int wake_fd;
    node_inbound_t in; /* this turn's inbound messages */
    relay_answer_t *answers;
    size_t answer_count;
    size_t answer_turn; /* which peer's answers are read first this turn */
    bool rerun_batch;   /* apply_batch set a refused message aside: run the batch again */
    size_t local_count; /* jobs app.local_take took for this turn */
    node_ctx_t ctx;
    uint64_t last_prune_ms;        /* when seen ids were last pruned (node_upkeep.c) */
    bool seen_prune_more;          /* the last seen prune hit its limit: run again now */
    uint64_t seen_pruned_unlogged; /* seen ids pruned since the last log line */
    uint64_t last_seen_log_ms;     /* when that line was last written */
    uint64_t last_app_prune_ms;    /* when app.prune last ran (node_upkeep.c) */
    bool app_prune_more;           /* app.prune's last run hit its limit: run again now */
    uint64_t last_reader_check_ms; /* when stale reader slots were last cleared */
    pthread_mutex_t stats_lock;
    node_stats_t stats;
    node_http_counts_t http_counts; /* under stats_lock */
    size_t dead_in_batch;           /* entries moved to dead_letters by the current batch */
    node_seen_t seen_high;          /* highest seen seq per origin (node_seen.h) */
    node_monitor_t *monitor;        /* failed handshakes on inbox, feed, relay (node_monitor.h) */
    atomic_bool faulted;            /* node_fault_active: read by any thread */
    node_fault_t fault;             /* under stats_lock (node_fault.c) */
    /* What the batch was doing when it last failed, for a fault's reason (loop thread). */
    char fault_where[NODE_FAULT_REASON_MAX];
};

/*  The batch's write transaction (store_write; `arg` is the node_t):
    inbound messages, then the peers' answers, then the node's local work,
    then the state's prepare. Sets node_t.rerun_batch when it set a refused
    message aside (node_apply.c). */
ledger_err_t node_apply_batch(store_txn_t *txn, void *arg);

/*  A turn of a faulted node (node_fault.c): reads its inbound messages and
    the peers' answers, answers read-only account queries in a read
    transaction and the messages refused before apply, leaves every other
    message unanswered (its sender redelivers) and every answer unsettled,
    and fails any local work with LEDGER_E_STORE. Writes nothing. */
void node_fault_turn(node_t *self);

/*  After a batch failed with `err`: LEDGER_E_CORRUPT faults the node, with
    node_t.fault_where in its reason (node_fault.c). */
void node_fault_after_batch(node_t *self, ledger_err_t err);

/*  After a batch failed for room (LEDGER_E_MAP_FULL: the map at its max or
    the disk full): every inbound message goes back to unanswered (senders
    redeliver), then the account queries among them are answered from a
    read transaction, so that reads go on while writes cannot. A query that
    needs a write (op open) fails there and stays unanswered (node_apply.c). */
void node_answer_queries_only(node_t *self);

/*  Periodic work between turns (node_upkeep.c): runs app.prune, prunes old
    seen ids, clears stale reader slots once a minute. A prune that meets
    corrupt data faults the node (source "prune"). True when a prune hit its
    limit and should run again at once: the loop then polls without
    waiting. */
bool node_upkeep(node_t *self);

/*  Clears the reader slots dead processes left (store_reader_check) and logs
    event=stale_readers_cleared count= when there were any (node_upkeep.c;
    also at start, node.c). */
void node_check_readers(node_t *self);

#endif

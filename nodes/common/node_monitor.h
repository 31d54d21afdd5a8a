/*  node_monitor.h: failed handshakes on the node's sockets, from libzmq's
    socket monitor.

    With CURVE a refused peer is silent: the server drops the connection and
    the client retries every reconnect interval, and no message ever says
    why. libzmq reports it as monitor events: HANDSHAKE_FAILED_AUTH (the ZAP
    handler refused the key; both sides see it), HANDSHAKE_FAILED_PROTOCOL
    (e.g. a plain client at a CURVE server, or the wrong server key, seen by
    the server) and HANDSHAKE_FAILED_NO_DETAIL (e.g. the client side of a
    wrong server key). czmq 4.2.1's zmonitor cannot name these, so this
    module uses raw zmq_socket_monitor: each watched socket reports to an
    inproc PAIR that the node loop polls (node_monitor_poll_items) and
    drains (node_monitor_read). Failures are counted by socket (inbox, feed)
    or by peer (the relay's DEALERs), reason auth | protocol | other, for
    /metrics (ledger_handshake_failures_total,
    ledger_peer_handshake_failures_total), and logged as
    `event=handshake_failed socket=<inbox|feed|peer name> reason= endpoint=
    unlogged=` at most once a second per socket.

    What it owns: the PAIR sockets and the monitors it started; the watched
    sockets are the caller's and must outlive the monitor: destroy the
    monitor first (it stops each socket's monitor).
    Errors: node_monitor_new LEDGER_E_NOMEM; node_monitor_watch LEDGER_E_IO
    (libzmq refused the monitor or the PAIR), LEDGER_E_INVALID (more than
    NODE_MONITOR_SOCKETS_MAX sockets). Reading fails silently: an event that
    cannot be read is not counted.
    Thread: the node loop's (the watched sockets' thread).
*/
#ifndef LEDGER_NODE_MONITOR_H
#define LEDGER_NODE_MONITOR_H

#include <czmq.h>
#include <stdint.h>

#include "ledger_err.h"
#include "relay.h"

#define NODE_MONITOR_SOCKETS_MAX (2 + RELAY_PEERS_MAX) /* inbox, feed, one DEALER per peer */

/* What a watched socket is. */
typedef enum { NODE_MONITOR_INBOX = 0, NODE_MONITOR_FEED, NODE_MONITOR_PEER } node_monitor_kind_t;

/* Why a handshake failed (the metric's reason label). */
typedef enum {
    NODE_HANDSHAKE_AUTH = 0, /* HANDSHAKE_FAILED_AUTH: the key was refused */
    NODE_HANDSHAKE_PROTOCOL, /* HANDSHAKE_FAILED_PROTOCOL: mechanism or key mismatch */
    NODE_HANDSHAKE_OTHER,    /* HANDSHAKE_FAILED_NO_DETAIL */
    NODE_HANDSHAKE__COUNT
} node_handshake_reason_t;

/* "auth", "protocol", "other"; "?" out of range. */
const char *node_handshake_reason_name(node_handshake_reason_t reason);

/* Failed handshakes so far. */
typedef struct {
    uint64_t inbox[NODE_HANDSHAKE__COUNT];
    uint64_t feed[NODE_HANDSHAKE__COUNT];
    char peer_names[RELAY_PEERS_MAX][STORE_PEER_MAX + 1];
    uint64_t peers[RELAY_PEERS_MAX][NODE_HANDSHAKE__COUNT];
    size_t peer_count;
} node_handshake_stats_t;

typedef struct node_monitor_t node_monitor_t;

ledger_err_t node_monitor_new(node_monitor_t **monitor_out);
/*  Starts watching `socket` (a raw libzmq socket; events before this call
    are not seen, which for a refused link only means its first try: a
    client retries every reconnect interval) as `kind`; `peer_name` names a
    NODE_MONITOR_PEER (copied; may be NULL otherwise). */
ledger_err_t node_monitor_watch(node_monitor_t *monitor, void *socket, node_monitor_kind_t kind,
                                const char *peer_name);
/* Fills up to `max` poll items (ZMQ_POLLIN on each PAIR); returns how many. */
size_t node_monitor_poll_items(node_monitor_t *monitor, zmq_pollitem_t *items, size_t max);
/*  Reads every event waiting, without blocking; counts and logs failures
    (`now_ms`: CLOCK_MONOTONIC ms, for the log's rate limit). Returns how
    many failures it counted. */
size_t node_monitor_read(node_monitor_t *monitor, uint64_t now_ms);
void node_monitor_get_stats(const node_monitor_t *monitor, node_handshake_stats_t *stats_out);
/* Stops every monitor (the watched sockets must still be open) and closes the PAIRs. */
void node_monitor_destroy(node_monitor_t **monitor_p);

#endif

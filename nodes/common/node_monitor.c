/* node_monitor.c: failed handshakes from raw zmq_socket_monitor events (node_monitor.h). */
#include "node_monitor.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node_log.h"

#define NODE_MONITOR_EVENTS                                                                        \
    (ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |                       \
     ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
#define NODE_MONITOR_EVENT_BYTES 6      /* first frame: u16 event, u32 value (libzmq v1) */
#define NODE_MONITOR_ENDPOINT_MAX 255   /* bytes of an endpoint in a log line */
#define NODE_MONITOR_LOG_EVERY_MS 1000u /* one log line per socket per second at most */
#define NODE_MONITOR_ADDR_BYTES 64      /* "inproc://node-monitor-<pointer>-<n>" */
#define NODE_MONITOR_READS_MAX 1024     /* events read per call and socket: a bound per turn */

typedef struct {
    void *watched; /* the caller's socket */
    void *pair;    /* where its events arrive */
    node_monitor_kind_t kind;
    size_t peer; /* index in stats.peer_names (NODE_MONITOR_PEER) */
    uint64_t log_next_ms;
    uint64_t unlogged;
} watch_t;

struct node_monitor_t {
    watch_t watches[NODE_MONITOR_SOCKETS_MAX];
    size_t count;
    node_handshake_stats_t stats;
};

const char *node_handshake_reason_name(node_handshake_reason_t reason)
{
    static const char *const names[NODE_HANDSHAKE__COUNT] = {"auth", "protocol", "other"};
    return (unsigned)reason < NODE_HANDSHAKE__COUNT ? names[reason] : "?";
}

ledger_err_t node_monitor_new(node_monitor_t **monitor_out)
{
    assert(monitor_out);
    node_monitor_t *self = calloc(1, sizeof *self);
    if (!self)
        return LEDGER_E_NOMEM;
    *monitor_out = self;
    return LEDGER_OK;
}

ledger_err_t node_monitor_watch(node_monitor_t *self, void *socket, node_monitor_kind_t kind,
                                const char *peer_name)
{
    assert(self && socket && (kind != NODE_MONITOR_PEER || peer_name));
    if (self->count == NODE_MONITOR_SOCKETS_MAX ||
        (kind == NODE_MONITOR_PEER && self->stats.peer_count == RELAY_PEERS_MAX))
        return LEDGER_E_INVALID;
    char addr[NODE_MONITOR_ADDR_BYTES];
    snprintf(addr, sizeof addr, "inproc://node-monitor-%p-%zu", (void *)self, self->count);
    if (zmq_socket_monitor(socket, addr, NODE_MONITOR_EVENTS) != 0)
        return LEDGER_E_IO;
    void *pair = zmq_socket(zsys_init(), ZMQ_PAIR);
    int zero = 0;
    if (!pair || zmq_setsockopt(pair, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_connect(pair, addr) != 0) {
        if (pair)
            zmq_close(pair);
        zmq_socket_monitor(socket, NULL, 0);
        return LEDGER_E_IO;
    }
    watch_t *w = &self->watches[self->count++];
    memset(w, 0, sizeof *w);
    w->watched = socket;
    w->pair = pair;
    w->kind = kind;
    if (kind == NODE_MONITOR_PEER) {
        w->peer = self->stats.peer_count++;
        snprintf(self->stats.peer_names[w->peer], sizeof self->stats.peer_names[0], "%s",
                 peer_name);
    }
    return LEDGER_OK;
}

size_t node_monitor_poll_items(node_monitor_t *self, zmq_pollitem_t *items, size_t max)
{
    assert(self && (items || max == 0));
    size_t n = self->count < max ? self->count : max;
    for (size_t i = 0; i < n; i++)
        items[i] = (zmq_pollitem_t){.socket = self->watches[i].pair, .events = ZMQ_POLLIN};
    return n;
}

static node_handshake_reason_t reason_of(uint16_t event)
{
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
        return NODE_HANDSHAKE_AUTH;
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
        return NODE_HANDSHAKE_PROTOCOL;
    return NODE_HANDSHAKE_OTHER;
}

/* Counts one failure of watch `w` and logs it, at most once a second per socket. */
static void count_failure(node_monitor_t *self, watch_t *w, node_handshake_reason_t reason,
                          const char *endpoint, uint64_t now_ms)
{
    uint64_t *counts = w->kind == NODE_MONITOR_INBOX  ? self->stats.inbox
                       : w->kind == NODE_MONITOR_FEED ? self->stats.feed
                                                      : self->stats.peers[w->peer];
    counts[reason]++;
    if (now_ms < w->log_next_ms) {
        w->unlogged++;
        return;
    }
    w->log_next_ms = now_ms + NODE_MONITOR_LOG_EVERY_MS;
    const char *name = w->kind == NODE_MONITOR_INBOX  ? "inbox"
                       : w->kind == NODE_MONITOR_FEED ? "feed"
                                                      : self->stats.peer_names[w->peer];
    node_log_write(NODE_LOG_WARN,
                   "event=handshake_failed socket=%s reason=%s endpoint=%s unlogged=%llu", name,
                   node_handshake_reason_name(reason), endpoint, (unsigned long long)w->unlogged);
    w->unlogged = 0;
}

/* Reads one event from `w` ([6 bytes][endpoint]); false when none is waiting. */
static bool read_event(node_monitor_t *self, watch_t *w, uint64_t now_ms, size_t *counted)
{
    zmq_msg_t head, addr;
    zmq_msg_init(&head);
    if (zmq_msg_recv(&head, w->pair, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&head);
        return false;
    }
    char endpoint[NODE_MONITOR_ENDPOINT_MAX + 1] = "-";
    zmq_msg_init(&addr);
    if (zmq_msg_more(&head) && zmq_msg_recv(&addr, w->pair, 0) >= 0) {
        size_t len = zmq_msg_size(&addr) < NODE_MONITOR_ENDPOINT_MAX ? zmq_msg_size(&addr)
                                                                     : NODE_MONITOR_ENDPOINT_MAX;
        if (len > 0) {
            memcpy(endpoint, zmq_msg_data(&addr), len);
            endpoint[len] = '\0';
        }
    }
    if (zmq_msg_size(&head) == NODE_MONITOR_EVENT_BYTES) {
        uint16_t event;
        memcpy(&event, zmq_msg_data(&head), sizeof event); /* host order, as libzmq writes it */
        if (event & NODE_MONITOR_EVENTS) {
            count_failure(self, w, reason_of(event), endpoint, now_ms);
            (*counted)++;
        }
    }
    zmq_msg_close(&addr);
    zmq_msg_close(&head);
    return true;
}

size_t node_monitor_read(node_monitor_t *self, uint64_t now_ms)
{
    assert(self);
    size_t counted = 0;
    for (size_t i = 0; i < self->count; i++)
        for (size_t n = 0; n < NODE_MONITOR_READS_MAX; n++)
            if (!read_event(self, &self->watches[i], now_ms, &counted))
                break;
    return counted;
}

void node_monitor_get_stats(const node_monitor_t *self, node_handshake_stats_t *stats_out)
{
    assert(self && stats_out);
    *stats_out = self->stats;
}

void node_monitor_destroy(node_monitor_t **monitor_p)
{
    assert(monitor_p);
    node_monitor_t *self = *monitor_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->count; i++) {
        zmq_socket_monitor(self->watches[i].watched, NULL, 0);
        zmq_close(self->watches[i].pair);
    }
    free(self);
    *monitor_p = NULL;
}

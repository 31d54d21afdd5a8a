/*  node_inbound.h: the inbound messages of one turn of the node loop (node.c):
    read from the inbox, judged, and answered after the batch's commit.

    What it owns: the batch's fixed array of messages (batch_max of them,
    allocated and touched once at init), each message's ZeroMQ identity and
    decoded envelope until it is answered or dropped, the tag buffer of a
    grouped ack, and the sequence of the answers' ids (origin "<name>-r",
    in memory only). The inbox socket is the caller's: it is passed to the
    calls that read or answer.

    How to call it: node_inbound_init once; each turn node_inbound_receive
    drains the inbox into the batch (frames [identity][8-byte tag][envelope]);
    the caller applies the decoded messages and sets each one's outcome;
    after the commit node_inbound_answer sends the acks (grouped per
    connection), nacks and replies, or after a failed batch
    node_inbound_drop releases everything unanswered (senders redeliver).
    The outcomes stay readable until the next receive. node_inbound_fini at
    the end.

    Errors: node_inbound_init returns LEDGER_E_NOMEM. A message that does not
    frame or decode is no error of the call: it is logged, and nacked (bad
    envelope) or dropped (no tag to answer to). A lost answer is no error
    either: the sender resends and is answered again.

    Thread: the node loop's, like the inbox.
*/
#ifndef LEDGER_NODE_INBOUND_H
#define LEDGER_NODE_INBOUND_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ledger_err.h"
#include "proto.h"

typedef enum {
    NODE_INBOUND_UNANSWERED = 0, /* not answered (bad framing, or the batch failed) */
    NODE_INBOUND_ACK,            /* applied */
    NODE_INBOUND_DUP,            /* seen before: acked again, nothing changed */
    NODE_INBOUND_NACK,           /* can never be applied */
    NODE_INBOUND_REPLY,          /* query answered */
} node_inbound_outcome_t;

/* One inbound message. */
typedef struct {
    zmq_msg_t identity;
    uint64_t tag;
    bool decoded;
    bool prejudged; /* rejected before apply (bad type for this node): never applied */
    /*  A harness replay under another origin (--harness-replay): only ever
        answered as a duplicate or nacked replay_not_seen (node.c apply_inbound). */
    bool replay_as_origin;
    bool acked; /* its ack went out in a grouped ack */
    node_inbound_outcome_t outcome;
    char msg_id[PROTO_ID_MAX + 1];
    char code[PROTO_CODE_MAX + 1];
    char why[PROTO_REASON_MAX + 1];
    proto_msg_t msg;
    proto_msg_t reply; /* the answer to a query (body), owned when outcome is REPLY */
} node_inbound_msg_t;

/* The messages of one turn. */
typedef struct {
    node_inbound_msg_t *items; /* max of them */
    size_t count;
    size_t max;
    const char *node_name; /* answers' origin, "is not accepted by <name>" */
    bool accepts_queries;  /* account.query is applied (else nacked as unexpected) */
    uint8_t *ack_tags;     /* PROTO_ACK_TAGS_MAX tags: the tag frame of a grouped ack */
    uint64_t reply_seq;    /* ids of acks/nacks/replies */
} node_inbound_t;

/*  Allocates room for `max` messages (max > 0). `node_name` must outlive
    the batch. LEDGER_E_NOMEM. */
ledger_err_t node_inbound_init(node_inbound_t *self, size_t max, const char *node_name,
                               bool accepts_queries);
/* Frees what init allocated (the batch must have been answered or dropped). */
void node_inbound_fini(node_inbound_t *self);

/*  Reads every message waiting on `inbox` (a ROUTER), up to max, into
    items[0 .. count): decodes each, and nacks at once (prejudged) a type
    this node does not take. Returns count. */
size_t node_inbound_receive(node_inbound_t *self, zsock_t *inbox);

/*  After the batch's commit: sends each message's answer by its outcome on
    `inbox` (acks grouped per connection, stamped `now_ms`), logs it, and
    releases the messages. Their outcomes and types stay readable (for the
    caller's counters) until the next receive. */
void node_inbound_answer(node_inbound_t *self, zsock_t *inbox, uint64_t now_ms);

/*  After a failed batch: releases every message unanswered (their senders
    redeliver): every outcome becomes NODE_INBOUND_UNANSWERED. */
void node_inbound_drop(node_inbound_t *self);

#endif

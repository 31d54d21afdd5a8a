/*  node_inbound.h: the inbound messages of one turn of the node loop (node.c):
    read from the inbox, judged, and answered after the batch's commit.

    What it owns: the batch's fixed array of messages (batch_max of them,
    allocated and touched once at init), each message's ZeroMQ identity and
    decoded envelope until it is answered or dropped, the tag buffer of a
    grouped ack, and the sequence of the answers' ids (origin "<name>-r",
    in memory only). The inbox socket is the caller's: it is passed to the
    calls that read or answer.

    Who sent a message (issue 19): on CURVE links the peer is the allowed key
    its connection authenticated with (the ZAP User-Id on a frame the peer
    sent, looked up in node_keys.h's table, reloaded when the allow dir
    changed: a denied key's open connection is refused too), never the
    envelope. With --insecure-plaintext the peer
    is the envelope's origin (without a query's "-q"), which must name a
    role (legacy, unauthenticated). Then, in this order, each refusal a
    prejudged nack (nothing applied, nothing recorded in `seen`):
      unauthenticated  no User-Id, or a key not in the table after a reload
                       (a key denied while its connection was open; else
                       only without a ZAP handler: defence in depth); in
                       plaintext an origin that names no role;
      origin_mismatch  the envelope's origin is not the peer's name (an
                       account.query may also use "<name>-q"), except a
                       harness replay below;
      unexpected_type  ack, nack, account.reply, or account.query at a node
                       that answers none;
      forbidden_type   the role table (node_roles.h) refuses the peer's role
                       sending this type to this node's role (for
                       account.query also the op rule).
    A harness replay: with harness_replay (--harness-replay), a message from
    a peer of role harness under another origin, a core role that may send
    this type to this node, is not refused: it is marked replay_as_origin
    and judged as from that origin's role. node.c's apply_inbound answers
    it as a duplicate if its id is in `seen`, else nacks it replay_not_seen:
    it is never applied. Each refusal is counted by reason and type
    (node_refused_t, ledger_messages_refused_total) and every log line about
    an inbound message ends in ` peer=<name>` ("-" when unknown).

    How to call it: node_inbound_init once (then node_inbound_links); each turn node_inbound_receive
    drains the inbox into the batch (frames [identity][8-byte tag][envelope],
    or a bundle [identity][n x 8-byte tags][n length-prefixed envelopes],
    taken as n messages that share the connection and its peer);
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
#include "node_roles.h"
#include "proto.h"

/* The origin suffix of account queries: the gateway's client sends as "gateway-q". */
#define NODE_QUERY_ORIGIN_SUFFIX "-q"

/* Nack codes of refusals for who sent a message (ledger_messages_refused_total{reason}). */
#define NODE_REFUSED_UNAUTHENTICATED_CODE "unauthenticated"
#define NODE_REFUSED_ORIGIN_MISMATCH_CODE "origin_mismatch"
#define NODE_REFUSED_FORBIDDEN_TYPE_CODE "forbidden_type"
#define NODE_REFUSED_ID_TOO_FAR_AHEAD_CODE "id_too_far_ahead"
#define NODE_REFUSED_REPLAY_NOT_SEEN_CODE "replay_not_seen"
#define NODE_REFUSED_ID_TOO_OLD_CODE "id_too_old"

/* The reasons counted in ledger_messages_refused_total, by nack code. */
typedef enum {
    NODE_REFUSED_UNAUTHENTICATED = 0,
    NODE_REFUSED_ORIGIN_MISMATCH,
    NODE_REFUSED_FORBIDDEN_TYPE,
    NODE_REFUSED_ID_TOO_FAR_AHEAD, /* node.c apply_inbound */
    NODE_REFUSED_REPLAY_NOT_SEEN,  /* node.c apply_inbound */
    NODE_REFUSED_ID_TOO_OLD,       /* node_apply.c apply_inbound: at or below the floor */
    NODE_REFUSED__COUNT
} node_refused_t;

/* The nack code of `reason`; "?" out of range. */
const char *node_refused_name(node_refused_t reason);
/* The reason whose nack code is `code` into *out; false for any other code. */
bool node_refused_from_code(const char *code, node_refused_t *out);

typedef struct node_keys_t node_keys_t;

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
    bool acked;     /* its ack went out in a grouped ack */
    /* A harness's replay under another origin, accepted only as a duplicate (top of file). */
    bool replay_as_origin;
    char peer[PROTO_NODE_MAX + 1]; /* who sent it (top of file); "" when unknown */
    node_inbound_outcome_t outcome;
    char msg_id[PROTO_ID_MAX + 1];
    char code[PROTO_CODE_MAX + 1];
    char why[PROTO_REASON_MAX + 1];
    proto_msg_t msg;
    proto_msg_t reply; /* the answer to a query (body), owned when outcome is REPLY */
} node_inbound_msg_t;

/*  A bundle being taken apart (proto/README.md "Framing": several envelopes
    in one message): its frames stay open until its last envelope is taken,
    which may be in a later turn when the batch fills up. */
typedef struct {
    zmq_msg_t identity, tags, payload;
    size_t count;  /* envelopes in it */
    size_t next;   /* the next one to take */
    size_t offset; /* where it starts in payload */
    bool active;
} node_inbound_bundle_t;

/* Nack log lines: one per code per this many ms, the rest counted (node_inbound_answer). */
#define NODE_NACK_LOG_EVERY_MS 1000u
#define NODE_NACK_LOG_CODES_MAX 24 /* codes rate-limited apart; later ones share the last slot */

/* The nack lines of one code: when one was last written, how many were not since. */
typedef struct {
    char code[PROTO_CODE_MAX + 1];
    bool logged;
    uint64_t last_ms; /* clock_mono_ms */
    uint64_t suppressed;
} node_nack_log_t;

/* The messages of one turn. */
typedef struct {
    node_inbound_msg_t *items; /* max of them */
    size_t count;
    size_t max;
    const char *node_name; /* answers' origin, "is not accepted by <name>" */
    bool accepts_queries;  /* account.query is applied (else nacked as unexpected) */
    uint8_t *ack_tags;     /* PROTO_ACK_TAGS_MAX tags: the tag frame of a grouped ack */
    uint64_t reply_seq;    /* ids of acks/nacks/replies */
    node_keys_t *keys;     /* the peer table (node_keys.h); NULL or plaintext: by origin */
    node_role_t self_role; /* this node's role, the receiver in node_roles_allows */
    bool harness_replay;   /* --harness-replay */
    node_inbound_bundle_t bundle;
    node_nack_log_t nack_log[NODE_NACK_LOG_CODES_MAX]; /* rate limit of nack lines */
} node_inbound_t;

/* True if part of a bundle is read and waiting for the next receive (the batch was full). */
bool node_inbound_pending(const node_inbound_t *self);

/*  Allocates room for `max` messages (max > 0). `node_name` must outlive
    the batch. LEDGER_E_NOMEM. */
ledger_err_t node_inbound_init(node_inbound_t *self, size_t max, const char *node_name,
                               bool accepts_queries);
/*  How peers are judged (top of file): `keys` (NULL: by the envelope's
    origin, as in plaintext; the caller's, outliving the batch), this node's
    role, and --harness-replay. Call after init, before the first receive. */
void node_inbound_links(node_inbound_t *self, node_keys_t *keys, node_role_t self_role,
                        bool harness_replay);

/* Frees what init allocated (the batch must have been answered or dropped). */
void node_inbound_fini(node_inbound_t *self);

/*  Reads every message waiting on `inbox` (a ROUTER), up to max, into
    items[0 .. count): decodes each, and nacks at once (prejudged) a type
    this node does not take. Returns count. */
size_t node_inbound_receive(node_inbound_t *self, zsock_t *inbox);

/*  After the batch's commit: sends each message's answer by its outcome on
    `inbox` (acks grouped per connection, stamped `now_ms`), logs it (a
    nack at warn, at most one line per code per NODE_NACK_LOG_EVERY_MS, the
    next line saying how many were not logged: suppressed=N), and releases
    the messages. Their outcomes and types stay readable (for the
    caller's counters) until the next receive. */
void node_inbound_answer(node_inbound_t *self, zsock_t *inbox, uint64_t now_ms);

/*  After a failed batch: releases every message unanswered (their senders
    redeliver): every outcome becomes NODE_INBOUND_UNANSWERED. */
void node_inbound_drop(node_inbound_t *self);

#endif

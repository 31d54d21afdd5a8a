/*  relay.h: delivers a node's outbox to its peers and redelivers until acked.

    One DEALER per peer connects to the peer's inbox (ROUTER). The relay
    loads new outbox entries in seq order and sends each as two frames
    [8-byte tag = outbox seq][envelope], or, when several new entries for
    one peer are loaded in one pump, up to relay_set_bundle_max of them in
    one message (a bundle, relay_bundle.h; each entry is still its own tag,
    answer and in-flight record). An entry stays "in flight" until the
    peer answers `ack` (the caller then deletes it from the outbox in its next
    write transaction) or `nack` (moved to dead_letters). With no answer it is
    resent after an exponential backoff with jitter (retry_min_ms doubling up
    to retry_max_ms), for as long as it takes: nothing is dropped because a
    peer was away. A connection delivers in order, so an overdue entry is
    resent only when the peer has answered something sent after it (it was
    lost) or has said nothing for the backoff (at least 500 ms): a peer that
    is busy with a queue keeps answering and is not sent duplicates.
    After a restart every outbox entry is sent again; the receivers' seen
    ids make that harmless.

    Which answers count: an ack or nack settles an entry only if that entry
    is in flight to the very peer on whose socket the answer came: loaded,
    sent at least once, not yet settled, and inflight_t.peer is that socket.
    A grouped ack is judged tag by tag. Anything else is dropped before the
    caller sees it, counted in relay_stats_t.answers_ignored by reason and
    logged (`event=answer_ignored peer= tag= reason=`, at most once a second
    per reason):
      unknown_tag  not in flight, already settled, or never sent (also the
                   benign late ack of a copy resent meanwhile);
      other_peer   in flight to another peer: a peer may only settle what
                   was sent to it, so one peer (or a process on its link)
                   cannot delete or dead-letter another peer's entries;
      id_mismatch  the answer's `of` is not the id of the message sent
                   under its first kept tag (the in-flight entry keeps it,
                   read at load with proto_frame_id): the whole answer is
                   ignored, every tag it would have settled counted. A
                   grouped ack names its first message, a nack its only
                   one; a nack with `of` "" (the peer could not read the
                   id) is bound by tag and peer alone.
    Nothing legitimate is lost: an entry the relay has not (re)loaded yet,
    e.g. just after a restart, is sent when it is loaded and the peer acks
    that copy as a duplicate; the tags of an ignored grouped ack are resent
    and acked again (a grouped ack led by a late duplicate's tag, which is
    ignored, names that duplicate and so is ignored whole: rare, and it only
    costs a resend).
    Local nacks (relay_take_local_nacks) are the relay's own and settle
    without this check.

    Retry state lives in memory only: persisting it would cost a write per
    send, and losing it on a crash only means an early resend.

    What it owns: one DEALER per peer, the in-flight table (seq, peer,
    attempts, deadlines) and its counters (relay_get_stats). The store is
    the caller's; the relay only reads it (in its own read transactions):
    the caller deletes or dead-letters answered entries in its write
    transaction, then calls relay_settled.

    How to call it: relay_new; each turn of the loop relay_read_answers (per
    peer) and relay_take_local_nacks, the caller commits, relay_settled,
    then relay_pump (also when its returned timeout expires);
    relay_destroy.

    Links: with relay_new_curve each DEALER is a CURVE client of its peer
    (relay_curve_t); relay_new makes plain DEALERs (--insecure-plaintext,
    tests). A peer whose
    allow-list lacks this node's key never completes the handshake, and its
    entries wait in the outbox until it does.

    Errors: relay_new returns LEDGER_E_NOMEM, LEDGER_E_IO (a socket, or
    CURVE set-up) or LEDGER_E_INVALID (an endpoint that does not connect, a
    bad server key). Nothing else
    fails: an outbox that cannot be read is logged and tried at the next
    pump, except a record that does not parse (LEDGER_E_CORRUPT; also
    LMDB's own pages): then the relay stops (its pumps read and send nothing
    more) and relay_corrupt says so, for the node loop to fault the node
    (node.h, "Storage faults"); relaying around it, or stalling on it while
    the node kept applying and acking, would strand what the node owes its
    peers. A malformed answer is logged and skipped. More than
    RELAY_PEERS_MAX peers or a NULL relay is a bug, asserted.

    Thread: the relay and its sockets belong to the node loop's thread.
*/
#ifndef LEDGER_RELAY_H
#define LEDGER_RELAY_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ledger_err.h"
#include "proto.h"
#include "store.h"

#define RELAY_PEERS_MAX 4         /* peers of one node (node_app_t.peers) */
#define RELAY_INFLIGHT_MAX 200000 /* entries in flight across all peers */
#define RELAY_LOAD_BATCH 1024     /* outbox entries read per pass */
#define RELAY_LOCAL_NACKS_MAX 256 /* entries for unknown peers waiting to be dead-lettered */
/* Largest message a socket of the mesh takes: a frame plus room for the frames around it. */
#define RELAY_MSG_MAX_BYTES (PROTO_FRAME_MAX + 1024)
#define RELAY_HWM_MESSAGES 100000 /* messages a socket of the mesh queues each way */

typedef struct relay_t relay_t;

typedef struct {
    const char *name;     /* peer name used in outbox entries */
    const char *endpoint; /* its inbox, e.g. tcp://127.0.0.1:7201 */
} relay_peer_t;

/*  CURVE for the DEALERs (node.c fills it from node_keys.h): this node's
    cert and each peer's Z85 public key, by the index of relay_new's peers. */
typedef struct {
    zcert_t *cert;
    const char *server_keys[RELAY_PEERS_MAX];
} relay_curve_t;

/* Why an answer's tag was ignored (see the top of this file). */
typedef enum {
    RELAY_IGNORED_UNKNOWN_TAG = 0,
    RELAY_IGNORED_OTHER_PEER,
    RELAY_IGNORED_ID_MISMATCH,
    RELAY_IGNORED__COUNT
} relay_ignored_t;

/* "unknown_tag", "other_peer", "id_mismatch" (the metric's label); "?" out of range. */
const char *relay_ignored_name(relay_ignored_t reason);

typedef struct {
    uint64_t sent;        /* first sends */
    uint64_t redelivered; /* resends after a timeout */
    uint64_t acked;
    uint64_t nacked;
    uint64_t inflight;
    uint64_t answers_ignored[RELAY_IGNORED__COUNT]; /* tags, not messages */
    uint64_t bundles; /* messages that carried more than one entry (relay_bundle.h) */
} relay_stats_t;

/* Creates the DEALERs (not yet connected to anything that must be up). */
ledger_err_t relay_new(store_t *store, const relay_peer_t *peers, size_t peer_count,
                       uint32_t retry_min_ms, uint32_t retry_max_ms, relay_t **relay_out);
/* relay_new with CURVE DEALERs (curve: cert and every peer's key set); NULL curve: plain. */
ledger_err_t relay_new_curve(store_t *store, const relay_peer_t *peers, size_t peer_count,
                             uint32_t retry_min_ms, uint32_t retry_max_ms,
                             const relay_curve_t *curve, relay_t **relay_out);
void relay_destroy(relay_t **relay_p);

/*  First sends go out gathered per peer, up to `bundle_max` entries in one
    message (1 .. PROTO_BUNDLE_MAX, the default; 1: never bundled, the
    framing of builds before bundles; relay_bundle.h). */
void relay_set_bundle_max(relay_t *relay, size_t bundle_max);

/* Raw libzmq sockets to poll for answers (ZMQ_POLLIN), `count` of them. */
void *relay_socket(relay_t *relay, size_t index);
size_t relay_peer_count(const relay_t *relay);

/* One answer read from a peer socket. */
typedef struct {
    uint64_t tag;
    bool ack;                          /* false: nack */
    char code[PROTO_CODE_MAX + 1];     /* nack code */
    char reason[PROTO_REASON_MAX + 1]; /* nack reason */
} relay_answer_t;

/*  Reads up to `max` answers waiting on peer socket `index` without
    blocking, one per tag: an ack message may answer up to
    PROTO_ACK_TAGS_MAX tags, so a message is read only while that many
    still fit (max below it reads nothing). Malformed answers are logged and
    skipped. Only tags in flight to this peer are returned; the others are
    ignored and counted (top of this file), so every answer returned may
    settle its entry. `now_ms` (CLOCK_MONOTONIC, as for relay_pump): the
    peer answered then, even if every tag was ignored (relay.c: an entry is
    resent only once its peer is silent, or has answered something sent
    after it). */
size_t relay_read_answers(relay_t *relay, size_t index, relay_answer_t *answers, size_t max,
                          uint64_t now_ms);

/*  Outbox entries addressed to a peer this relay does not know, as nacks
    (code unknown_peer) for the caller to dead-letter like a peer's nack.
    Up to `max` into answers; returns how many. */
size_t relay_take_local_nacks(relay_t *relay, relay_answer_t *answers, size_t max);

/*  Forget in-flight entries the caller has deleted (acked) or moved (nacked)
    in a committed txn. An answer to an entry sent after others still in
    flight makes the next relay_pump resend those (relay.c). */
void relay_settled(relay_t *relay, const relay_answer_t *answers, size_t count);

/*  Sends new outbox entries and resends overdue ones. Call after each
    commit and when the timer says. `now_ms`: CLOCK_MONOTONIC ms
    (clock_mono_ms), the same clock for every call. Returns the time (ms)
    until the next resend is due, at most `idle_ms`. */
uint64_t relay_pump(relay_t *relay, uint64_t now_ms, uint64_t idle_ms);

/*  LEDGER_E_CORRUPT once a pump met an outbox record that does not parse (sticky; `where`
    gets what it was reading), else LEDGER_OK (`where` ""). The caller faults the node. */
ledger_err_t relay_corrupt(const relay_t *relay, char *where, size_t where_size);

void relay_get_stats(const relay_t *relay, relay_stats_t *stats_out);

#endif

/*  gateway_events.h: the gateway's event log, what the live stream serves.

    Every change of a transfer view (gateway_view_submit creating it,
    gateway_view_apply changing it) appends one event in the SAME write
    transaction as the change, so the log and the view never disagree and a
    stream can resume from any event it has seen. Replays (a repeated
    Idempotency-Key, a redelivered message) change nothing and append
    nothing.

    Storage: STORE_DB_INDEX, key "evt/" + be64 seq (seq from the named
    sequence GATEWAY_EVENT_SEQUENCE: 1, 2, 3, ... never reused), value a small
    binary record (core/record.h) of the event's own fields only:

      u8 version (GATEWAY_EVENT_VERSION), u64 ts_ms, str8 type, str8 node,
      str8 message_id, str8 transfer id, str8 viewer 1, str8 viewer 2
                                                 (~70-120 bytes)

    The viewers are who may see the event besides operators (gateway
    format 5): the principals of the transfer's `from` and `to` as the
    owner map named them when the event was appended (gateway_owners_viewers:
    the sender and the owner of `to` for transfer.requested, the owners of
    `from` and `to` for the later steps), "" for none (a settlement account,
    an account the map does not know). Visibility is decided once, when the
    event is written; a stream only compares its principal's id with them
    (gateway_events_visible_to), so serving a customer costs no store read
    for the events it may not see. A version 2 record (format 4, before the
    viewers) still decodes, with no viewers (operators only); migration
    4 -> 5 (gateway_migrate.h) rewrites them with gateway_events_upgrade.

    The transfer itself is NOT copied into the log: gateway_events_read
    hands each event's own fields to its caller, and the stream
    (gateway_streams_render_event in gateway_stream.h) renders it as JSON
    when it reads it, embedding the transfer as the view holds it in the
    reader's transaction:

      {"seq": 42, "type": "fraud.approved", "node": "fraud",
       "message_id": "fraud/17", "at": "2026-11-25T10:04:05.123Z",
       "ts_ms": 1795...123, "transfer": {the transfer exactly as
       GET /api/transfers/{id} returns it AT READ TIME}}

    So "transfer" is the transfer's CURRENT state (as of the read), not its
    state right after this step: a stream that reads the events of a settled
    transfer late sees "settled" in all four of them. type / node /
    message_id / at / ts_ms always describe the step itself. A client that
    folds events must therefore never let an older event's type overrule the
    status in "transfer", and must never move a final status back (the web
    app's lib/events.js already keeps the most advanced state). Storing the
    small fields only is what makes an apply cheap (the log used to hold a
    1-2.5 KB JSON copy of the transfer per event, four per transfer). If a
    transfer is missing from the view or its record does not parse,
    "transfer" is null.

    type is the saga step that made the change: "transfer.requested",
    "funds.reserved", "fraud.approved", "fraud.rejected", "transfer.settled",
    "transfer.rejected_fraud", "transfer.declined", and since issue 21
    "transfer.authorized", "transfer.capture" and "transfer.void" (the
    gateway sent them: node "gateway"), "transfer.voided", "transfer.expired".
    A refund's final step is logged twice: for the refund, and for its
    original (whose refunded_amount or pending refunds changed; "transfer"
    is then the original, type the refund's step). node is the node the
    step came from ("gateway" for transfer.requested); at / ts_ms the time
    the gateway recorded the change.

    Retention: the newest GATEWAY_EVENTS_KEEP_MAX events and at most
    GATEWAY_EVENTS_KEEP_MS old, enforced by gateway_events_prune (the pruning
    actor, gateway_prune.h, runs it about once a minute). Seqs stay contiguous: only
    the oldest events are ever deleted.

    How to call: the view's files append (gateway_events_append, in the
    transaction of the change); the stream reads (gateway_events_read,
    first/last seq); gateway_prune.h prunes. This module knows nothing of
    the view: it stores and returns the fields it is given.

    Errors: LEDGER_E_INVALID for a bad argument, LEDGER_E_CORRUPT for a seq
    handed out twice, store errors.

    Threads: every function works inside the caller's transaction and keeps
    no state.
*/
#ifndef LEDGER_GATEWAY_EVENTS_H
#define LEDGER_GATEWAY_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ledger_err.h"
#include "proto.h"
#include "store.h"

#define GATEWAY_EVENT_SEQUENCE "event"
#define GATEWAY_EVENT_VERSION 3u                        /* stored record layout (2: no viewers) */
#define GATEWAY_EVENT_FIELD_MAX 128u                    /* type, node, message_id, transfer id */
#define GATEWAY_EVENTS_KEEP_MAX 100000u                 /* events kept at most */
#define GATEWAY_EVENTS_KEEP_MS (24ull * 60 * 60 * 1000) /* and for at most 24 h */
#define GATEWAY_EVENTS_PRUNE_MAX 4096u                  /* deleted per prune run */
#define GATEWAY_EVENT_VIEWERS 2u                        /* principals named on an event */
#define GATEWAY_EVENT_VIEWER_MAX PROTO_ACCOUNT_ID_MAX   /* bytes of one (a principal id) */

/*  Seq of the newest event ever appended (0 if none), and of the oldest one
    still stored (0 if the log is empty). */
ledger_err_t gateway_events_last_seq(store_txn_t *txn, uint64_t *seq_out);
ledger_err_t gateway_events_first_seq(store_txn_t *txn, uint64_t *seq_out);

/* One stored event: its seq and the fields it was appended with. */
typedef struct {
    uint64_t seq;
    uint64_t ts_ms;
    char type[GATEWAY_EVENT_FIELD_MAX + 1];
    char node[GATEWAY_EVENT_FIELD_MAX + 1];
    char message_id[GATEWAY_EVENT_FIELD_MAX + 1];
    char transfer_id[GATEWAY_EVENT_FIELD_MAX + 1];
    /* Principals that may see it besides operators; "" = none (see above). */
    char viewers[GATEWAY_EVENT_VIEWERS][GATEWAY_EVENT_VIEWER_MAX + 1];
} gateway_event_t;

/*  Appends `event`: seq = next value of GATEWAY_EVENT_SEQUENCE (event->seq
    is ignored), its ts_ms, type, node, message_id and transfer_id
    (NUL-terminated, at most GATEWAY_EVENT_FIELD_MAX bytes each; type, node
    and transfer_id non-empty) and viewers ("" or a principal id each). Only
    these fields are stored (see above). *seq_out (may be NULL) gets the seq.
    Errors: LEDGER_E_INVALID (bad argument), store errors (the caller aborts
    the transaction). */
ledger_err_t gateway_events_append(store_txn_t *txn, const gateway_event_t *event,
                                   uint64_t *seq_out);

/*  True if `principal` (non-empty) is one of the event's viewers. Pure: what a
    customer's stream asks of each event it reads (an operator's sees all). */
bool gateway_events_visible_to(const gateway_event_t *event, const char *principal);

/*  Called for each event read; `event` is valid only during the call.
    Return false to stop. */
typedef bool (*gateway_events_fn)(const gateway_event_t *event, void *arg);

/*  Calls `fn` for the stored events with seq > after_seq, oldest first, up
    to `max` of them. *count_out (may be NULL) gets how many were passed to
    fn (including the one it stopped at). A stored event that does not
    decode is skipped (the reader sees a gap in the seqs). Errors: store
    errors. */
ledger_err_t gateway_events_read(store_txn_t *txn, uint64_t after_seq, size_t max,
                                 gateway_events_fn fn, void *arg, size_t *count_out);

/*  Deletes the oldest events while more than keep_count are stored or the
    oldest is keep_ms old or older (at now_ms), at most `max` per call.
    *pruned_out (may be NULL) gets how many. An event whose value does not
    decode counts as expired. */
ledger_err_t gateway_events_prune(store_txn_t *txn, uint64_t now_ms, uint64_t keep_count,
                                  uint64_t keep_ms, size_t max, size_t *pruned_out);

/*  Names the viewers of a stored event: who may see transfer `transfer_id` (its `from` and
    `to`, as the caller knows them) into viewers (each "" or a principal id). LEDGER_OK, or an
    error that stops gateway_events_upgrade. */
typedef ledger_err_t (*gateway_events_viewers_fn)(
    store_txn_t *txn, const char *transfer_id, void *arg,
    char viewers[GATEWAY_EVENT_VIEWERS][GATEWAY_EVENT_VIEWER_MAX + 1]);

/*  Rewrites every version 2 record of the log as the current version, its viewers named by
    `fn` (migration 4 -> 5, gateway_migrate.h); records already current are left alone, so a
    rerun rewrites nothing twice. *count_out gets how many were rewritten. Errors: store
    errors, LEDGER_E_NOMEM, fn's errors. */
ledger_err_t gateway_events_upgrade(store_txn_t *txn, gateway_events_viewers_fn fn, void *arg,
                                    size_t *count_out);

#endif

/*  gateway_view.h: the gateway's business logic, with no I/O.

    The gateway owns three things in its store, and the view's files are the
    only code that reads or writes them:

      STORE_DB_TRANSFERS    transfer id -> transfer view record (what users see;
                            gateway_view_record.h; a final one is deleted past
                            its retention, gateway_view_prune.h)
      STORE_DB_IDEMPOTENCY  principal + NUL + Idempotency-Key bytes (the scoped key)
                            -> {transfer id, request hash, created_ms}
      STORE_DB_INDEX        "idem/" + be64 created_ms + scoped key -> "" (keys by age, for
                            pruning; both gateway_view_idem.h)
                            "evt/" + be64 seq -> event record (the event log, gateway_events.h)
                            "auth/..." principals and API keys (gateway_principals.h)
                            "own/...", "pt/..." the owner map and the transfers each
                            principal may see (gateway_owners.h; submit indexes a new
                            transfer for its sender and the owner of `to`); each
                            event names those who may see it (its viewers)

    This header is the view's API; gateway_view.c implements it (rules,
    submit, the readers, transfer ids) and gateway_view_apply.c the status
    events (gateway_view_apply), on top of gateway_view_record.h
    (the stored record and its API form) and gateway_view_idem.h (the
    idempotency keys), whose shared types it includes.

    gateway_view_submit() turns a validated request into a pending
    transfer and its transfer.requested message (via node_ctx_emit, inside the
    caller's transaction). gateway_view_apply() folds the status events that the
    accounts node sends back into the view. The readers turn view records into
    the JSON the HTTP API serves. The HTTP layer (gateway_http.h) and the unit
    tests are the callers; neither this file nor its .c touches a socket or a
    clock: time comes from node_ctx_t.now_ms or a parameter.

    Transfer ids are time-ordered so that the TRANSFERS B-tree only ever grows
    at its right edge (cheap in LMDB, see NOTES.md) and so that key order is
    creation order:

        "tr_" + 12 lower-case hex digits of unix ms + 8 lower-case hex digits
        of the gateway's "transfer" sequence (mod 2^32)
        e.g. tr_019a8f3c2b1d0000002a          (GATEWAY_TRANSFER_ID_LEN = 23)

    The ms part never goes backwards: if the clock steps back, a new id takes
    the ms of the newest existing id, and the sequence orders ids within one
    ms. Lexicographic order of ids is therefore creation order.

    The view record is stored as a compact binary record (core/record.h, at
    most GATEWAY_RECORD_MAX bytes; layout in gateway_view_record.c; older JSON
    text records are still read); its API form (JSON) is described at
    gateway_view_transfer_get() below.

    Saga guard: a transfer's status moves from "pending" (through
    "authorized" for a manual transfer) to exactly one final status
    ("settled", "rejected_fraud", "declined", "voided", "expired") and never
    changes again. Every message applied is recorded in the timeline by message id, so
    a redelivered message is recognised and changes nothing (the runtime's
    `seen` table is the first line of defence; this is the second).

    Threads: every function here works inside the caller's transaction and
    keeps no state of its own; any thread that owns a transaction may call
    them.
*/
#ifndef LEDGER_GATEWAY_VIEW_H
#define LEDGER_GATEWAY_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "gateway_view_idem.h"
#include "gateway_view_record.h"
#include "json_out.h"
#include "ledger_err.h"
#include "node_ctx.h"
#include "proto.h"
#include "store.h"

/* Limits (bytes without the NUL terminator unless said otherwise; the record's
   limits are in gateway_view_record.h, GATEWAY_HASH_SIZE in gateway_view_idem.h). */
#define GATEWAY_TRANSFER_ID_LEN 23 /* "tr_" + 12 hex (ms) + 8 hex (seq) */
#define GATEWAY_LIST_MAX 200       /* transfers in one list page */
#define GATEWAY_LIST_DEFAULT 50    /* page size when none is asked for */
#define GATEWAY_PRUNE_BATCH 64     /* idempotency keys deleted per index walk */
#define GATEWAY_RETENTION_DEFAULT_MS (24ull * 60 * 60 * 1000) /* idempotency keys: 24 h */
#define GATEWAY_CURRENCY_DEFAULT "GBP"

/* Sequence (store_seq_next) that numbers transfers. */
#define GATEWAY_TRANSFER_SEQUENCE "transfer"

/* What gateway_view_submit() did. */
typedef struct {
    char id[PROTO_TRANSFER_ID_MAX + 1]; /* the transfer (new or the earlier one) */
    bool replayed;                      /* true: the key was seen with the same request */
    uint64_t created_ms;                /* when the transfer was created */
    gateway_transfer_request_t request; /* the transfer's fields as stored */
    char message_id[PROTO_ID_MAX + 1];  /* id of the transfer.requested emitted ("" on replay) */
    uint64_t expires_at_ms;             /* manual: when its authorisation expires; else 0 */
} gateway_submit_result_t;

/*  True if `id` is a well-formed transfer id ("tr_" + 20 lower-case hex digits). */
bool gateway_view_transfer_id_valid(const char *id);

/*  True if key[0..len) is a valid Idempotency-Key: 1..GATEWAY_IDEMPOTENCY_KEY_MAX
    bytes, each a visible ASCII character 0x21..0x7E. */
bool gateway_view_idempotency_key_valid(const char *key, size_t len);

/*  True if `req` obeys the parser's rules (gateway_request_parse_transfer):
    account ids (proto_account_id_valid_str), from != to, amount > 0, a
    currency (proto_currency_valid), a reference of at most
    PROTO_REFERENCE_MAX bytes of gateway_view_text_valid text. */
bool gateway_view_transfer_request_valid(const gateway_transfer_request_t *req);

/*  True if `text` is well-formed UTF-8 (proto_utf8_valid) without control
    characters (C0, DEL): the gateway's rule for text it stores and shows. */
bool gateway_view_text_valid(const char *text);

/*  Replaces every byte of malformed UTF-8 and every control character in
    `text` with '?', in place, so it can be stored and shown as JSON text. */
void gateway_view_text_sanitize(char *text);

/*  For the view's files (submit, apply): appends the event of `step` of `rec` to the log
    (gateway_events.h) at ctx->now_ms, with its two viewers (gateway_owners_viewers: who may
    see it besides operators, "" for none), in ctx->txn. Store errors. */
ledger_err_t gateway_view_event_append(node_ctx_t *ctx, const gateway_view_record_t *rec,
                                       const gateway_view_step_t *step,
                                       char viewers[2][PROTO_ACCOUNT_ID_MAX + 1]);

/*  For the view's files (apply, actions): writes `rec` back (updated_ms = ctx->now_ms) with
    the event of `step`, its viewers the owners of from and to, decided here once
    (gateway_events.h). Store errors. */
ledger_err_t gateway_view_record_write(node_ctx_t *ctx, gateway_view_record_t *rec,
                                       const gateway_view_step_t *step);

/*  SHA-256 over the canonical form of a validated request, so that two bodies
    meaning the same transfer (key order, whitespace, an explicit default
    currency) hash alike. Canonical form: the ASCII tag "ledger.transfer.v1"
    and a NUL, then from, to as (be32 length, bytes), amount_minor as be64
    (two's complement), then currency, reference as (be32 length, bytes).
    LEDGER_E_NOMEM (or LEDGER_E_IO) when the digest cannot run (sha256.h). */
ledger_err_t gateway_view_request_hash(const gateway_transfer_request_t *req,
                                       uint8_t out[GATEWAY_HASH_SIZE]);

/*  How submit treats idempotency keys: `retention_ms`, after which a key is
    expired; `legacy_keys`, whether keys written before keys were scoped may
    still be in the store (gateway_view_idem_legacy_any, asked once at start:
    none are ever written again), so that a miss looks for one too. */
typedef struct {
    uint64_t retention_ms;
    bool legacy_keys;
} gateway_view_keys_t;

/*  Submits a transfer under an idempotency key of `principal` (the caller's
    id; "" only for keys of before format 3, gateway_view_idem.h), in
    ctx->txn, at ctx->now_ms. The same key from two principals is two keys.

    - Key unknown, or known but older than `retention_ms` (expired): creates
      the view record (status pending, timeline ["transfer.requested"]), the
      idempotency record and its age index entry, a "transfer.requested"
      event in the event log (gateway_events.h), the entries of the
      per-principal transfer index (gateway_owners.h), and emits transfer.requested
      {transfer, from, to, amount_minor, currency, reference, principal} to
      NODE_PEER_ACCOUNTS with corr = the transfer id. out->replayed = false.
    - Key known, not expired, same request hash: writes nothing; fills `out`
      with the existing transfer, out->replayed = true.
    - Key known, not expired, different hash: writes nothing; LEDGER_E_EXISTS
      (the HTTP layer answers 422 idempotency_key_reused).

    `req` must be valid (same rules as the parser: account ids, amount > 0,
    currency, reference length, from != to); otherwise LEDGER_E_INVALID and
    nothing is written; likewise for a `key` that fails
    gateway_view_idempotency_key_valid (NUL-terminated).
    LEDGER_E_EXISTS and LEDGER_E_INVALID are returned before anything is
    written, so the caller may go on with other requests in the same
    transaction. Any other error (store errors such as LEDGER_E_MAP_FULL,
    LEDGER_E_CORRUPT for a stored record that does not parse or an id that
    already exists, LEDGER_E_NOMEM) may follow partial writes: the caller
    must abort the transaction. `out` is filled only on LEDGER_OK. */
ledger_err_t gateway_view_submit(node_ctx_t *ctx, const char *principal,
                                 const gateway_transfer_request_t *req, const char *key,
                                 const gateway_view_keys_t *keys, gateway_submit_result_t *out);

/*  For the view's files (gateway_view_action.c): the key check of a submission, before
    anything is written. A live key of `principal` with the same `hash`: *replayed and `out`
    filled from the transfer it names. A live key with another hash: LEDGER_E_EXISTS. An
    expired key: its age index entry is deleted. No key: *replayed false (a legacy key may
    still make it a replay while keys->legacy_keys). Store errors, LEDGER_E_CORRUPT. */
ledger_err_t gateway_view_key_check(node_ctx_t *ctx, const char *principal, const char *key,
                                    const uint8_t hash[GATEWAY_HASH_SIZE],
                                    const gateway_view_keys_t *keys, bool *replayed,
                                    gateway_submit_result_t *out);

/*  For the view's files: creates the transfer of a valid `req` whose key was checked (as
    gateway_view_submit does after its checks). Errors: as gateway_view_submit's after a
    write (the caller must abort the transaction). */
ledger_err_t gateway_view_submit_new(node_ctx_t *ctx, const char *principal,
                                     const gateway_transfer_request_t *req, const char *key,
                                     const uint8_t hash[GATEWAY_HASH_SIZE],
                                     gateway_submit_result_t *out);

/* --- capture, void, refund (gateway_view_action.c) ---------------------------------------- */

typedef enum {
    GATEWAY_VIEW_ACT_CAPTURE = 1, /* POST /api/transfers/{id}/capture */
    GATEWAY_VIEW_ACT_VOID,        /* POST /api/transfers/{id}/void */
    GATEWAY_VIEW_ACT_REFUND,      /* POST /api/transfers/{id}/refunds */
} gateway_view_act_t;

/* Why an action was refused (nothing written); the HTTP answer in brackets. */
typedef enum {
    GATEWAY_VIEW_REFUSAL_NONE = 0,
    GATEWAY_VIEW_REFUSAL_NOT_FOUND,          /* 404 not_found: no such transfer, or not the
                                                caller's to act on */
    GATEWAY_VIEW_REFUSAL_INVALID_STATE,      /* 409 invalid_state */
    GATEWAY_VIEW_REFUSAL_EXCEEDS_AUTHORIZED, /* 422 exceeds_authorized */
    GATEWAY_VIEW_REFUSAL_EXCEEDS_REFUNDABLE, /* 422 exceeds_refundable */
    GATEWAY_VIEW_REFUSAL_TOO_MANY_REFUNDS,   /* 422 too_many_refunds */
} gateway_view_refusal_t;

/* One capture, void or refund as the caller asked for it. */
typedef struct {
    gateway_view_act_t act;
    char transfer[PROTO_TRANSFER_ID_MAX + 1]; /* the transfer acted on (from the path) */
    int64_t amount_minor; /* capture: 0 = the authorised amount; refund: 0 = what is left */
    char reference[PROTO_REFERENCE_MAX + 1]; /* refund: its reference, may be "" */
    bool operator_scope; /* the caller is an operator: it may act on any transfer */
} gateway_view_action_t;

/* What gateway_view_act did. */
typedef struct {
    gateway_view_refusal_t refusal;  /* NONE: accepted (or replayed) */
    gateway_submit_result_t created; /* the transfer answered: the one acted on (capture, void)
                                        or the new refund; `replayed` as for a submission */
} gateway_view_action_result_t;

/*  Runs `action` for `principal` under its idempotency key `key`, in ctx->txn:

    - capture / void: the transfer must be the caller's (it owns `from`; an operator: any),
      else NOT_FOUND; authorized with no capture or void in flight, else INVALID_STATE; a
      capture's amount at most the authorised amount, else EXCEEDS_AUTHORIZED. Accepted: emits
      transfer.capture {transfer, amount_minor, principal, operator} or transfer.void to the
      accounts node (corr = the transfer id), marks the record's pending_action, adds the step
      to its timeline and the event to the log.
    - refund: the caller must own the transfer's `to` (an operator: any), else NOT_FOUND; a
      settled transfer of kind transfer, else INVALID_STATE; fewer than GATEWAY_REFUNDS_MAX
      refunds, else TOO_MANY_REFUNDS; settled + pending refunds + amount at most the captured
      amount, else EXCEEDS_REFUNDABLE. Accepted: a new transfer (kind refund, from = its `to`,
      to = its `from`, refund_of) submitted like any other (transfer.requested), and the
      original's refunds and refunding sum updated.

    The key works as for a submission: the same key with the same action is a replay (writes
    nothing, the result is the transfer it named), with another request LEDGER_E_EXISTS.
    Refusals and LEDGER_E_EXISTS are decided before anything is written (the caller goes on
    with other requests); any other error may follow writes (abort the transaction). */
ledger_err_t gateway_view_act(node_ctx_t *ctx, const char *principal,
                              const gateway_view_action_t *action, const char *key,
                              const gateway_view_keys_t *keys, gateway_view_action_result_t *out);

/*  Deletes up to `max` idempotency keys created at or before
    now_ms - retention_ms (oldest first, through the age index) in `txn`.
    *pruned_out (may be NULL) gets how many were deleted. */
ledger_err_t gateway_view_prune_idempotency(store_txn_t *txn, uint64_t now_ms,
                                            uint64_t retention_ms, size_t max, size_t *pruned_out);

/*  Applies one inbound status event to the view, in ctx->txn:

      funds.reserved           timeline += step; "held": true while pending
      transfer.authorized      pending -> authorized (held; expires_at_ms from the body)
      transfer.settled         pending or authorized -> settled, captured_minor from
                               the body (proto_transfer_captured_minor)
      transfer.voided          authorized -> voided, reason {code "voided", message}
      transfer.expired         authorized -> expired, reason {code "expired", message}
      transfer.rejected_fraud  pending -> rejected_fraud, reason {code
                               "fraud_rejected", message, rules}
      transfer.declined        pending -> declined, reason {code, message}

    Each applied message is added to the timeline as {step = its type name,
    node = its origin, message_id, cause, ts_ms = its ts} (kept sorted by
    ts_ms, at most GATEWAY_TIMELINE_MAX entries; past that, steps still move
    the status but are not listed).
    Reaching a final status clears a capture or void in flight; a refund's final status
    also updates its original (its pending refunds, and refunded_minor when it settled),
    with an event of the same step for the original.
    Changes nothing and returns LEDGER_OK for: a message whose id is already
    in the timeline (a replay); a final event for a transfer that is already
    final (the saga guard: settled then declined stays settled); any message
    for a transfer id the gateway does not know. A funds.reserved arriving
    after the final status is recorded in the timeline (history), but moves
    nothing. Any other message type: LEDGER_E_INVALID, nothing written.
    Does not emit: the runtime publishes applied messages on the feed.
    Every call that changes the record also appends one event to the event
    log (gateway_events.h) in ctx->txn; a call that changes nothing appends
    nothing.
    Errors: LEDGER_E_CORRUPT (the stored record does not parse),
    LEDGER_E_TOO_LARGE (record over GATEWAY_RECORD_MAX), store errors. */
ledger_err_t gateway_view_apply(node_ctx_t *ctx, const proto_msg_t *msg);

/*  Reads one transfer in its API form (a new reference in *out; json_decref it):

      {"id", "status", "from", "to", "amount" (minor units), "currency",
       "reference", "held" (bool: funds on hold for it right now),
       "reason": null | {"code", "message", "rules": [names] (fraud only)},
       "kind", "amount_text" (money_format_decimal by the currency's exponent),
       "capture" ("auto" | "manual"), "expires_at" (manual; else null),
       "captured_amount" (settled; else null), "refunded_amount" (settled refunds),
       "refunds" ([ids]), "refund_of" (a refund's original; else null),
       "pending_action" ("capture" | "void" in flight; else null),
       "created_at", "updated_at" (ISO 8601 UTC with ms, clock_format_utc, e.g.
       "2026-11-25T10:04:05.123Z"), "created_ms", "updated_ms" (unix ms),
       "timeline": [{"step", "node", "message_id", "cause", "at", "ts_ms", "rules"?}]}

    "rules" (names of the fraud rules that fired; [] for an approval) is
    present only on the fraud verdict steps: fraud.approved, fraud.rejected
    and transfer.rejected_fraud. The record stays under GATEWAY_RECORD_MAX
    even with every field at its limit (GATEWAY_TIMELINE_MAX steps, each
    with PROTO_RULES_MAX rules).

    Errors: LEDGER_E_NOT_FOUND, LEDGER_E_CORRUPT, LEDGER_E_NOMEM, store errors. */
ledger_err_t gateway_view_transfer_get(store_txn_t *txn, const char *id, json_t **out);

/* Filters of GET /api/transfers (every one optional; all must hold). */
typedef struct {
    const char *account; /* NULL, or the transfer's from or to */
    bool has_status;     /* status */
    gateway_status_t status;
    bool has_kind; /* kind */
    proto_transfer_kind_t kind;
    uint64_t created_from_ms; /* created_ms >= it (0: no bound) */
    uint64_t created_to_ms;   /* created_ms < it (0: no bound) */
} gateway_view_filter_t;

/* A page scans at most this many transfers, matching or not (GET /api/transfers). */
#define GATEWAY_LIST_SCAN_MAX 2000

/*  True if `rec` passes `filter` (NULL: no filter). */
bool gateway_view_filter_match(const gateway_view_filter_t *filter,
                               const gateway_view_record_t *rec);

/*  Reads a page of transfers, newest first: {"transfers": [API form, as
    above], "next_cursor": id of the last one read | null when there are no more}.
    `cursor` NULL or "" starts at the newest; otherwise the page starts
    strictly before (older than) that id. `limit` 1..GATEWAY_LIST_MAX
    (LEDGER_E_INVALID otherwise). Only transfers passing `filter` (may be NULL) are listed;
    the cursor is a position in the unfiltered order, so it stays valid whatever the filter,
    and a page reads at most GATEWAY_LIST_SCAN_MAX transfers: it may come back with fewer
    than `limit` (even none) and a next_cursor. With created_from, the walk stops at the
    first id older than it (ids are time-ordered). *out is a new reference. */
ledger_err_t gateway_view_transfer_list(store_txn_t *txn, const char *cursor, uint32_t limit,
                                        const gateway_view_filter_t *filter, json_t **out);

/*  The same page for a customer: the transfers indexed for `principal` (gateway_owners.h:
    it owns their from or to), newest first, with the same cursor, filter and walk bound
    (a transfer pruned from the view counts as walked and is not listed). */
ledger_err_t gateway_view_transfer_list_own(store_txn_t *txn, const char *principal,
                                            const char *cursor, uint32_t limit,
                                            const gateway_view_filter_t *filter, json_t **out);

/*  Appends the answer to a submission, a pending transfer: {"id", "status":
    "pending", "from", "to", "amount", "currency", "reference", "kind", "created_at",
    "amount_text", "capture", "expires_at" (manual only), "refund_of" (refunds only)}
    (the 202/200 body of POST /api/transfers and each accepted item of the
    batch endpoint). Written as text, not built with jansson: json_out.h. */
void gateway_view_write_submitted(json_out_t *out, const gateway_submit_result_t *res);

/*  The same object alone, as the text of a single endpoint's answer (free()
    it; *size_out, if not NULL, gets its length). NULL when out of memory. */
char *gateway_view_submitted_text(const gateway_submit_result_t *res, size_t *size_out);

#endif

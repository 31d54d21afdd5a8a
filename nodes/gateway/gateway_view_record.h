/*  gateway_view_record.h: the transfer view record, the gateway's stored
    form of one transfer, and the types the view's files share.

    Owns the values of STORE_DB_TRANSFERS (transfer id -> view record): this
    module is the only code that encodes or decodes them (layout in
    gateway_view_record.c: a compact binary record, core/record.h; records
    written before it, as JSON text, are still read). It also renders a
    record in its API form (the JSON of GET /api/transfers/{id}, described at
    gateway_view_transfer_get in gateway_view.h) and keeps a record's
    timeline sorted.

    How to call: gateway_view.c (submit, apply, the readers) reads a record
    with gateway_view_record_get, changes it in memory, and writes it back
    with gateway_view_record_put, all in the caller's transaction. Callers
    outside the view use gateway_view.h, which includes this header for the
    shared types (gateway_status_t, gateway_transfer_request_t, the limits).

    Errors: LEDGER_E_CORRUPT for a stored value that does not decode (short,
    long, out of range, bad UTF-8, trailing bytes), LEDGER_E_TOO_LARGE for a
    record over GATEWAY_RECORD_MAX, LEDGER_E_NOT_FOUND, store errors.

    Threads: no state of its own; any thread that owns the transaction.
*/
#ifndef LEDGER_GATEWAY_VIEW_RECORD_H
#define LEDGER_GATEWAY_VIEW_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "ledger_err.h"
#include "proto.h"
#include "store.h"

/* Limits (bytes without the NUL terminator unless said otherwise). */
#define GATEWAY_IDEMPOTENCY_KEY_MAX 255 /* Idempotency-Key header value */
#define GATEWAY_TIMELINE_MAX 8          /* saga steps kept per transfer */
#define GATEWAY_RECORD_MAX 16384        /* encoded view record */
#define GATEWAY_STEP_NAME_MAX 31        /* a timeline step's name (a message type name) */

#define GATEWAY_REFUNDS_MAX 50 /* refunds of one transfer (422 too_many_refunds) */

/* A transfer's status. pending and authorized are not final; every other status is, and
   never changes again (the saga guard). Stored as its number: append only. */
typedef enum {
    GATEWAY_STATUS_PENDING = 0,
    GATEWAY_STATUS_SETTLED,
    GATEWAY_STATUS_REJECTED_FRAUD,
    GATEWAY_STATUS_DECLINED,
    GATEWAY_STATUS_AUTHORIZED, /* a manual transfer fraud approved: held until capture or void */
    GATEWAY_STATUS_VOIDED,
    GATEWAY_STATUS_EXPIRED,
    GATEWAY_STATUS__COUNT
} gateway_status_t;

/* "pending", "settled", "rejected_fraud", "declined", "authorized", "voided", "expired";
   NULL for an invalid value. */
const char *gateway_view_record_status_name(gateway_status_t status);

/* The status named `name` into *out: true, or false for no status. */
bool gateway_view_record_status_from_name(const char *name, gateway_status_t *out);

/* True for a final status (neither pending nor authorized). */
bool gateway_view_record_status_final(gateway_status_t status);

/* A capture or void the gateway sent and the accounts node has not answered yet. */
typedef enum {
    GATEWAY_ACTION_NONE = 0,
    GATEWAY_ACTION_CAPTURE,
    GATEWAY_ACTION_VOID,
    GATEWAY_ACTION__COUNT
} gateway_action_t;

/* A transfer as a client asked for it, after validation (see
   gateway_request_parse_transfer in gateway_request.h). */
typedef struct {
    char from[PROTO_ACCOUNT_ID_MAX + 1];
    char to[PROTO_ACCOUNT_ID_MAX + 1];
    int64_t amount_minor;                    /* > 0 */
    char currency[PROTO_CURRENCY_LEN + 1];   /* 3 upper-case letters */
    char reference[PROTO_REFERENCE_MAX + 1]; /* may be "" */
    proto_capture_t capture;                 /* auto (0) or manual */
    uint32_t expires_in_s; /* manual: GATEWAY_EXPIRES_IN_MIN_S..MAX_S; auto: 0 (not stored) */
    char refund_of[PROTO_TRANSFER_ID_MAX + 1]; /* a refund: the refunded transfer, else "" */
    bool operator_scope; /* a refund sent by an operator (the wire's `operator`; not stored) */
} gateway_transfer_request_t;

/* expires_in_s of a manual transfer: 1 s .. 30 days, 7 days when not given. */
#define GATEWAY_EXPIRES_IN_MIN_S 1u
#define GATEWAY_EXPIRES_IN_MAX_S 2592000u
#define GATEWAY_EXPIRES_IN_DEFAULT_S 604800u

/*  What a transfer does: a refund when refund_of is set; else derived from its accounts:
    from the settlement account of its currency (proto_settlement_id), a
    deposit; to it, a withdrawal; else a transfer. The same rule the accounts node checks
   (invalid_kind). */
proto_transfer_kind_t gateway_view_record_kind(const gateway_transfer_request_t *req);

/* One step of a transfer's timeline: a saga message the view applied. */
typedef struct {
    char step[GATEWAY_STEP_NAME_MAX + 1];
    char node[PROTO_NODE_MAX + 1];
    char message_id[PROTO_ID_MAX + 1];
    char cause[PROTO_ID_MAX + 1];
    uint64_t ts_ms;
    /* Fraud verdict steps (fraud.approved, fraud.rejected, transfer.rejected_fraud) carry the
       names of the rules that fired (empty for an approval); other steps have none. */
    bool has_rules;
    uint32_t rule_count;
    char rules[PROTO_RULES_MAX][PROTO_RULE_NAME_MAX + 1];
} gateway_view_step_t;

/* A transfer as the view holds it (a few KiB: the view allocates it rather than use the stack). */
typedef struct {
    char id[PROTO_TRANSFER_ID_MAX + 1];
    gateway_transfer_request_t req;
    gateway_status_t status;
    bool held;
    bool has_reason;
    char reason_code[PROTO_CODE_MAX + 1];
    char reason_message[PROTO_REASON_MAX + 1];
    uint32_t rule_count;
    char rules[PROTO_RULES_MAX][PROTO_RULE_NAME_MAX + 1];
    uint64_t created_ms;
    uint64_t updated_ms;
    char idempotency_key[GATEWAY_IDEMPOTENCY_KEY_MAX + 1];
    uint32_t timeline_count;
    gateway_view_step_t timeline[GATEWAY_TIMELINE_MAX];
    /* Issue 21 (record version 3; a version 1 or 2 record reads as auto, nothing captured,
       no refunds): */
    uint64_t expires_at_ms;          /* manual: when the authorisation expires; auto: 0 */
    int64_t captured_minor;          /* settled: the amount captured; else 0 */
    int64_t refunded_minor;          /* the sum of its settled refunds */
    int64_t refunding_minor;         /* the sum of its refunds still pending */
    gateway_action_t pending_action; /* a capture or void sent, not answered yet */
    uint32_t refund_count;           /* its pending and settled refunds, oldest first */
    char refunds[GATEWAY_REFUNDS_MAX][PROTO_TRANSFER_ID_MAX + 1];
} gateway_view_record_t;

/*  Zeroes `rec` except the bodies of its timeline steps and refund ids, which only their
    counts (now 0) make valid: 8 KiB a record that every decode would otherwise clear (it was
    ~3% of the gateway's CPU per transfer). Readers go by timeline_count and refund_count. */
void gateway_view_record_clear(gateway_view_record_t *rec);

/* The amount a settled record captured (captured_minor; the amount for a record of before
   captures); 0 for a record that is not settled. */
int64_t gateway_view_record_captured(const gateway_view_record_t *rec);

/*  Reads the record of transfer `id` into *rec (filled on LEDGER_OK only).
    LEDGER_E_NOT_FOUND, LEDGER_E_CORRUPT, store errors. */
ledger_err_t gateway_view_record_get(store_txn_t *txn, const char *id, gateway_view_record_t *rec);

/*  Decodes a stored value (the binary form, or a version 1 JSON record, which
    starts with '{') into *rec. LEDGER_E_CORRUPT if it is malformed in any way. */
ledger_err_t gateway_view_record_decode(const void *val, size_t size, gateway_view_record_t *rec);

/*  Stores `rec` under rec->id in the binary form (store_put `flags`, e.g.
    STORE_PUT_NOOVERWRITE). LEDGER_E_TOO_LARGE over GATEWAY_RECORD_MAX bytes
    (nothing written), store errors. */
ledger_err_t gateway_view_record_put(store_txn_t *txn, const gateway_view_record_t *rec,
                                     unsigned flags);

/*  The API form of `rec` (gateway_view_transfer_get in gateway_view.h), a new
    reference; NULL when out of memory. */
json_t *gateway_view_record_to_api(const gateway_view_record_t *rec);

/*  Inserts `step` keeping the timeline sorted by ts_ms (stable: equal times
    keep arrival order). False, and nothing changed, if the timeline is full. */
bool gateway_view_record_timeline_add(gateway_view_record_t *rec, const gateway_view_step_t *step);

/* True if a step of the timeline has this message id (the message was applied). */
bool gateway_view_record_timeline_has(const gateway_view_record_t *rec, const char *message_id);

#endif

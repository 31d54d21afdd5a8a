/*  proto.h: the wire protocol of the ledger mesh.

    Every message between nodes is one msgpack map, the envelope, with named
    keys so that any msgpack library can read it (format and one example per
    type: proto/README.md):

      v      uint    protocol version, PROTO_VERSION
      id     str     unique message id "<origin>/<seq>": origin node name
                     ([a-z0-9_-], 1..PROTO_NODE_MAX) and its per-node sequence
                     (decimal uint64, > 0)
      type   str     one of the names in proto_type_name()
      corr   str     correlation: the transfer id (may be "" for queries)
      cause  str     id of the message that caused this one ("" if none)
      ts     uint    unix time in milliseconds
      body   map     type-specific fields, below

    On a socket, a message travels as two frames: an 8-byte big-endian
    delivery tag chosen by the sender (the outbox key), then the envelope.
    The receiver answers with the same tag and an `ack` or `nack` envelope.
    (proto_frame_* below pack and check the tag.)

    Decoding is strict and bounded: frames over PROTO_FRAME_MAX, strings over
    their limits, missing or wrong-typed fields, unknown versions and types,
    unknown keys in the body, amounts <= 0 are each rejected with a named
    error code and a reason. On error the output struct is zeroed: never
    partially filled. proto_decode allocates nothing that outlives the call
    and is thread-safe.

    Rules beyond the limits above (proto/README.md has the full table):
    every map has exactly its documented keys (no extra, none missing, none
    twice; "may be empty" fields are present as ""), except that an optional
    key (a transfer body's keys from principal on, an account's status and
    overdraft_limit_minor, a ledger row's memo, a reply's holds) may be
    absent and then reads as its zero value; strings are msgpack str,
    valid UTF-8, without NUL; ids and account/transfer ids have no control
    characters; code fields are [a-z0-9_]; saga messages (transfer.*, funds.*,
    fraud.*) have a non-empty corr equal to body.transfer; account.query
    carries only the keys of its op.
*/
#ifndef LEDGER_PROTO_H
#define LEDGER_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ledger_err.h"

#define PROTO_VERSION 1

/* Limits (bytes, without the NUL terminator). */
#define PROTO_FRAME_MAX 65536    /* largest envelope frame accepted */
#define PROTO_NODE_MAX 32        /* origin node name */
#define PROTO_ID_MAX 64          /* message id "<origin>/<seq>" */
#define PROTO_TRANSFER_ID_MAX 64 /* transfer id (corr) */
#define PROTO_ACCOUNT_ID_MAX 64  /* account id */
#define PROTO_NAME_MAX 128       /* account holder name */
#define PROTO_CURRENCY_LEN 3     /* ISO 4217 code, exactly 3 upper-case letters */
#define PROTO_REFERENCE_MAX 140  /* free text reference of a transfer */
#define PROTO_CODE_MAX 48        /* machine-readable reason code */
#define PROTO_REASON_MAX 256     /* human-readable reason text */
#define PROTO_RULES_MAX 8        /* fraud rules listed in one verdict */
#define PROTO_RULE_NAME_MAX 32   /* one fraud rule name */
#define PROTO_PAGE_MAX 200       /* items in one account query reply */
#define PROTO_MEMO_MAX 160       /* memo of a ledger entry (audit entries) */
#define PROTO_STATUS_MAX 15      /* an account status name ("active", "frozen", "closed") */
/* Largest overdraft limit an account may have (minor units): 10^15. */
#define PROTO_OVERDRAFT_MAX_MINOR 1000000000000000ll
#define PROTO_NEST_MAX 4        /* deepest nesting of maps/arrays accepted */
#define PROTO_TAG_SIZE 8        /* delivery tag frame */
#define PROTO_ACK_TAGS_MAX 1024 /* tags one ack may answer (tag frame n x 8 bytes) */
/* Latest `ts` accepted (9999-12-31T23:59:59.999Z): every reader can format and store it. */
#define PROTO_TS_MAX_MS 253402300799999ull

typedef enum {
    PROTO_TRANSFER_REQUESTED = 1,  /* gateway -> accounts */
    PROTO_FUNDS_RESERVED,          /* accounts -> fraud, gateway */
    PROTO_FRAUD_APPROVED,          /* fraud -> accounts */
    PROTO_FRAUD_REJECTED,          /* fraud -> accounts */
    PROTO_TRANSFER_SETTLED,        /* accounts -> gateway */
    PROTO_TRANSFER_REJECTED_FRAUD, /* accounts -> gateway */
    PROTO_TRANSFER_DECLINED,       /* accounts -> gateway */
    PROTO_ACK,                     /* receiver -> sender: applied (or seen before) */
    PROTO_NACK,                    /* receiver -> sender: can never be applied */
    PROTO_ACCOUNT_QUERY,           /* gateway -> accounts: list/get/ledger/open */
    PROTO_ACCOUNT_REPLY,           /* accounts -> gateway: answer to a query */
    PROTO_TRANSFER_AUTHORIZED,     /* accounts -> gateway: a manual transfer's hold is kept */
    PROTO_TRANSFER_CAPTURE,        /* gateway -> accounts: settle an authorised transfer */
    PROTO_TRANSFER_VOID,           /* gateway -> accounts: release an authorised transfer */
    PROTO_TRANSFER_VOIDED,         /* accounts -> gateway: the hold was released by a void */
    PROTO_TRANSFER_EXPIRED,        /* accounts -> gateway: the authorisation expired */
    PROTO_TYPE__COUNT
} proto_type_t;

/* Wire name of a type ("transfer.requested", ...); NULL for an invalid value. */
const char *proto_type_name(proto_type_t type);
/* Type for a wire name; LEDGER_E_UNKNOWN_TYPE if none. `name` need not be NUL-terminated. */
ledger_err_t proto_type_from_name(const char *name, size_t len, proto_type_t *type_out);

/* What a transfer does (the `kind` key of a transfer body). A deposit comes
   from the settlement account of its currency, a withdrawal goes to it, a
   transfer touches none (the accounts node declines invalid_kind otherwise). */
typedef enum {
    PROTO_TRANSFER_KIND_TRANSFER = 0, /* "transfer": also what a body without `kind` means */
    PROTO_TRANSFER_KIND_DEPOSIT,      /* "deposit" */
    PROTO_TRANSFER_KIND_WITHDRAWAL,   /* "withdrawal" */
    PROTO_TRANSFER_KIND_REFUND, /* "refund": from the refunded transfer's `to` back to its `from` */
    PROTO_TRANSFER_KIND__COUNT
} proto_transfer_kind_t;

/* Wire name of a kind ("transfer", "deposit", "withdrawal", "refund"); NULL for an invalid value.
 */
const char *proto_transfer_kind_name(proto_transfer_kind_t kind);
/* Kind for the wire name name[0..len); LEDGER_E_INVALID if none (kind_out untouched). */
ledger_err_t proto_transfer_kind_from_name(const char *name, size_t len,
                                           proto_transfer_kind_t *kind_out);

/* How a transfer settles (the `capture` key of a transfer body). */
typedef enum {
    PROTO_CAPTURE_AUTO =
        0, /* "auto": settles once fraud approves; also what a body without `capture` means */
    PROTO_CAPTURE_MANUAL, /* "manual": fraud's approval authorises it; a capture settles it */
    PROTO_CAPTURE__COUNT
} proto_capture_t;

/* Wire name of a capture mode ("auto", "manual"); NULL for an invalid value. */
const char *proto_capture_name(proto_capture_t capture);
/* Capture mode for the wire name name[0..len); LEDGER_E_INVALID if none (capture_out untouched). */
ledger_err_t proto_capture_from_name(const char *name, size_t len, proto_capture_t *capture_out);

/* transfer.requested, funds.reserved, transfer.settled, transfer.authorized:
   body {transfer, from, to, amount_minor, currency, reference, principal, kind,
         capture, expires_at_ms, captured_minor, refund_of, operator}.
   Every key from principal on is optional: the encoder always writes it, the
   decoder reads a body without it (written before it existed, e.g. still in an
   outbox across an upgrade) as its zero value: principal "", kind transfer,
   capture auto, expires_at_ms 0, captured_minor 0, refund_of "", operator false. */
typedef struct {
    char transfer[PROTO_TRANSFER_ID_MAX + 1];
    char from[PROTO_ACCOUNT_ID_MAX + 1];
    char to[PROTO_ACCOUNT_ID_MAX + 1];
    int64_t amount_minor; /* > 0 */
    char currency[PROTO_CURRENCY_LEN + 1];
    char reference[PROTO_REFERENCE_MAX + 1]; /* may be "" */
    /* the principal that asked (account-id rule); "" only for a message from before
       principals, which the accounts node declines forbidden_account */
    char principal[PROTO_ACCOUNT_ID_MAX + 1];
    proto_transfer_kind_t kind;
    proto_capture_t capture;
    /* manual: unix ms when the authorisation expires (> 0, <= PROTO_TS_MAX_MS); auto: 0 */
    uint64_t expires_at_ms;
    /* transfer.settled: the amount captured (auto: amount_minor; manual: 1..amount_minor);
       0 in every other type. A settled body with 0 (one from before captures) means
       amount_minor: read it with proto_transfer_captured_minor(). 0 <= it <= amount_minor. */
    int64_t captured_minor;
    /* kind refund: the refunded transfer's id (non-empty exactly when kind is refund) */
    char refund_of[PROTO_TRANSFER_ID_MAX + 1];
    /* wire key `operator`: the principal acts as an operator (the gateway checked the
       operator's scope); false for customers and deposits */
    bool operator_scope;
} proto_transfer_t;

/* The amount a transfer.settled body captured: captured_minor, or amount_minor when it is 0
   (a settled body from before captures, or any other type). */
int64_t proto_transfer_captured_minor(const proto_transfer_t *t);

/* transfer.capture, transfer.void: body {transfer, amount_minor, principal, operator}.
   transfer.void has no amount_minor key (the struct field stays 0). */
typedef struct {
    char transfer[PROTO_TRANSFER_ID_MAX + 1];
    int64_t amount_minor; /* capture: > 0, at most the authorised amount; void: 0 */
    char principal[PROTO_ACCOUNT_ID_MAX + 1]; /* the caller (account-id rule), non-empty */
    bool operator_scope;                      /* wire key `operator` */
} proto_action_t;

/* fraud.approved, fraud.rejected, transfer.rejected_fraud:
   body {transfer, rules: [str...], reason}. rules: names of the rules that
   fired (empty for an approval). */
typedef struct {
    char transfer[PROTO_TRANSFER_ID_MAX + 1];
    uint32_t rule_count;
    char rules[PROTO_RULES_MAX][PROTO_RULE_NAME_MAX + 1];
    char reason[PROTO_REASON_MAX + 1];
} proto_verdict_t;

/* transfer.declined: body {transfer, code, reason}. code: one of the
   PROTO_DECLINE_* below (what each means: proto/README.md).
   transfer.voided and transfer.expired have the same body, with code
   PROTO_CODE_VOIDED ("voided") and PROTO_CODE_EXPIRED ("expired") exactly. */
#define PROTO_DECLINE_UNKNOWN_ACCOUNT "unknown_account"
#define PROTO_DECLINE_SAME_ACCOUNT "same_account"
#define PROTO_DECLINE_CURRENCY_MISMATCH "currency_mismatch"
#define PROTO_DECLINE_INSUFFICIENT_FUNDS "insufficient_funds"
#define PROTO_DECLINE_AMOUNT_OVERFLOW "amount_overflow"
#define PROTO_DECLINE_INVALID_AMOUNT "invalid_amount"
/* the principal does not own `from` (transfer, withdrawal), or is "" */
#define PROTO_DECLINE_FORBIDDEN_ACCOUNT "forbidden_account"
/* the kind does not match the accounts (settlement account on the wrong side, or none) */
#define PROTO_DECLINE_INVALID_KIND "invalid_kind"
/* a deposit would take the settlement account below -settlement_limit */
#define PROTO_DECLINE_SETTLEMENT_LIMIT "settlement_limit"
/* a deposit over deposit_max */
#define PROTO_DECLINE_DEPOSIT_TOO_LARGE "deposit_too_large"
/* `from` is frozen (debits declined; credits to a frozen account are accepted) */
#define PROTO_DECLINE_ACCOUNT_FROZEN "account_frozen"
/* `from` or `to` is closed */
#define PROTO_DECLINE_ACCOUNT_CLOSED "account_closed"
/* a refund would take the refunds of its transfer over the captured amount */
#define PROTO_DECLINE_EXCEEDS_REFUNDABLE "exceeds_refundable"
/* refund_of is not a settled transfer of kind transfer, or from/to/currency are not its reverse */
#define PROTO_DECLINE_NOT_REFUNDABLE "not_refundable"
/* no fraud verdict came within the risk timeout: the hold was released */
#define PROTO_DECLINE_RISK_UNAVAILABLE "risk_unavailable"
/* the currency is not in the currency table (core/currency.h) */
#define PROTO_DECLINE_UNKNOWN_CURRENCY "unknown_currency"
/* The code of transfer.voided and of transfer.expired. */
#define PROTO_CODE_VOIDED "voided"
#define PROTO_CODE_EXPIRED "expired"
typedef struct {
    char transfer[PROTO_TRANSFER_ID_MAX + 1];
    char code[PROTO_CODE_MAX + 1];
    char reason[PROTO_REASON_MAX + 1];
} proto_declined_t;

/* ack: body {of}. nack: body {of, code, reason}. `of` is the id of the
   message answered, "" when it could not be decoded far enough to know it. */
typedef struct {
    char of[PROTO_ID_MAX + 1];
    char code[PROTO_CODE_MAX + 1];     /* nack only */
    char reason[PROTO_REASON_MAX + 1]; /* nack only */
} proto_reply_t;

typedef enum {
    PROTO_QUERY_LIST = 1, /* "list": accounts, ordered by id, from cursor */
    PROTO_QUERY_GET,      /* "get": one account */
    PROTO_QUERY_LEDGER,   /* "ledger": one account's ledger entries, newest first, before cursor */
    PROTO_QUERY_OPEN,     /* "open": open an account for its owner (idempotent by id) */
    PROTO_QUERY_UPDATE,   /* "update": an operator sets an account's status / overdraft limit */
    PROTO_QUERY_BALANCE_AT, /* "balance_at": one account's balance and held as of at_ms */
    PROTO_QUERY_STATEMENT,  /* "statement": one account's entries in [from_ms, to_ms), ascending */
    PROTO_QUERY_HOLDS,      /* "holds": one account and its open holds, by transfer id */
} proto_query_op_t;

/* Account statuses (account.reply's status; account.query update's status). */
#define PROTO_ACCOUNT_STATUS_ACTIVE "active"
#define PROTO_ACCOUNT_STATUS_FROZEN "frozen"
#define PROTO_ACCOUNT_STATUS_CLOSED "closed"
/* True if `status` is "active", "frozen" or "closed"; false for NULL. */
bool proto_account_status_valid(const char *status);

/* account.query: body {op, account, cursor, limit, name, currency, owner, amount_minor,
   principal, status, overdraft_limit_minor, at_ms, from_ms, to_ms}: only the keys of its op.
   op list: cursor = account id to start after ("" = first), limit 1..PROTO_PAGE_MAX.
   op get: account. op ledger: account, cursor = 0 (newest) or the seq of one of the account's
   entries, the page starts before it (another seq: 400 invalid_cursor), limit.
   op open: account, name, currency, owner (principal id, account-id rule),
   amount_minor >= 0 (opening deposit).
   op update (gateway only): account, principal (the operator, account-id rule), status
   ("" unchanged, or a PROTO_ACCOUNT_STATUS_*), overdraft_limit_minor (-1 unchanged, else
   0..PROTO_OVERDRAFT_MAX_MINOR).
   op balance_at: account, at_ms (<= PROTO_TS_MAX_MS).
   op statement: account, from_ms < to_ms (half-open, <= PROTO_TS_MAX_MS), cursor (0 = from
   the start, else the seq of the previous page's last entry), limit.
   op holds: account, cursor = transfer id to start after ("" = first; in `after`), limit. */
typedef struct {
    proto_query_op_t op;
    char account[PROTO_ACCOUNT_ID_MAX + 1];
    char name[PROTO_NAME_MAX + 1];
    char currency[PROTO_CURRENCY_LEN + 1];
    char owner[PROTO_ACCOUNT_ID_MAX + 1]; /* open op */
    int64_t amount_minor;
    uint64_t cursor;                      /* ledger, statement ops */
    char after[PROTO_ACCOUNT_ID_MAX + 1]; /* list op (account id), holds op (transfer id) */
    uint32_t limit;
    char principal[PROTO_ACCOUNT_ID_MAX + 1]; /* update op */
    char status[PROTO_STATUS_MAX + 1];        /* update op */
    int64_t overdraft_limit_minor;            /* update op */
    uint64_t at_ms;                           /* balance_at op */
    uint64_t from_ms, to_ms;                  /* statement op */
} proto_query_t;

/* One account in a reply. */
typedef struct {
    char id[PROTO_ACCOUNT_ID_MAX + 1];
    char name[PROTO_NAME_MAX + 1];
    char currency[PROTO_CURRENCY_LEN + 1];
    int64_t balance_minor;
    int64_t held_minor;
    bool settlement;                      /* the settlement account of its currency */
    char owner[PROTO_ACCOUNT_ID_MAX + 1]; /* principal id; "" for a settlement account */
    /* optional keys: a PROTO_ACCOUNT_STATUS_* ("" is written as, and read back as, "active");
       overdraft_limit_minor >= 0 (absent: 0) */
    char status[PROTO_STATUS_MAX + 1];
    int64_t overdraft_limit_minor;
} proto_account_t;

/* One ledger entry in a reply. */
typedef struct {
    uint64_t seq;
    char account[PROTO_ACCOUNT_ID_MAX + 1];
    char transfer[PROTO_TRANSFER_ID_MAX + 1];
    char kind[16];        /* "hold", "release", "debit", "credit", "open" */
    int64_t amount_minor; /* signed: debits negative */
    int64_t balance_after_minor;
    int64_t held_after_minor;
    uint64_t ts_ms;
    char memo[PROTO_MEMO_MAX + 1]; /* optional key: "" for money entries; audit entries' text */
} proto_ledger_row_t;

/* One open hold in a reply (op holds): a reserved or authorised transfer. */
typedef struct {
    char transfer[PROTO_TRANSFER_ID_MAX + 1];
    int64_t amount_minor; /* > 0 */
    proto_transfer_kind_t kind;
    proto_capture_t capture;
    uint64_t created_ms; /* <= PROTO_TS_MAX_MS */
    uint64_t
        expires_at_ms; /* manual: when the authorisation expires; may be 0; <= PROTO_TS_MAX_MS */
} proto_hold_t;

/* account.reply: body {status, code, reason, accounts: [...], entries: [...], next, holds: [...]}.
   holds is an optional key (absent: none).
   status: 200 ok, 404 not found, 400 invalid, 409 exists with other values, 500.
   The arrays are heap-allocated by proto_decode into the reply; free them with
   proto_msg_release(). */
typedef struct {
    uint32_t status;
    char code[PROTO_CODE_MAX + 1];
    char reason[PROTO_REASON_MAX + 1];
    uint32_t account_count;
    proto_account_t *accounts;
    uint32_t entry_count;
    proto_ledger_row_t *entries;
    char next[PROTO_ACCOUNT_ID_MAX + 1]; /* cursor for the next page, "" if none */
    uint32_t hold_count;
    proto_hold_t *holds;
} proto_account_reply_t;

/* A decoded message: the envelope plus the body of its type. */
typedef struct {
    uint32_t v;
    char origin[PROTO_NODE_MAX + 1]; /* id, split: origin node */
    uint64_t seq;                    /* id, split: per-node sequence, > 0 */
    proto_type_t type;
    char corr[PROTO_TRANSFER_ID_MAX + 1];
    char cause[PROTO_ID_MAX + 1];
    uint64_t ts_ms;
    union {
        proto_transfer_t transfer; /* requested, reserved, settled, authorized */
        proto_action_t action;     /* transfer.capture, transfer.void */
        proto_verdict_t verdict;   /* fraud.approved, fraud.rejected, transfer.rejected_fraud */
        proto_declined_t declined; /* transfer.declined, transfer.voided, transfer.expired */
        proto_reply_t reply;       /* ack, nack */
        proto_query_t query;       /* account.query */
        proto_account_reply_t account_reply; /* account.reply */
    } body;
} proto_msg_t;

/* Writes the message id "<origin>/<seq>" of `msg` into `out` (PROTO_ID_MAX + 1 bytes). */
void proto_msg_id(const proto_msg_t *msg, char out[PROTO_ID_MAX + 1]);

/*  Splits a message id "<origin>/<seq>" into its parts.
    LEDGER_E_INVALID if it is not of that form or exceeds the limits. */
ledger_err_t proto_id_parse(const char *id, char origin_out[PROTO_NODE_MAX + 1], uint64_t *seq_out);

/*  Checks every field of `msg` against the rules a decoder enforces (limits,
    amount > 0, currency shape, known type). Encoders call it first, so a node
    can never send what a peer would refuse. On failure, a reason is written
    to `why` (may be NULL). */
ledger_err_t proto_validate(const proto_msg_t *msg, char *why, size_t why_size);

/*  Encodes `msg` into a malloc'd buffer; *data_out / *size_out own it (free()).
    Validates first: LEDGER_E_INVALID with a reason in `why` if `msg` breaks
    a rule. LEDGER_E_TOO_LARGE if the encoding would exceed PROTO_FRAME_MAX
    (possible only for an account.reply with long, full pages).
    LEDGER_E_NOMEM if allocation fails. On error *data_out is untouched. */
ledger_err_t proto_encode(const proto_msg_t *msg, void **data_out, size_t *size_out, char *why,
                          size_t why_size);

/*  Decodes one envelope frame strictly into `out`.
    Errors: LEDGER_E_TOO_LARGE (size > PROTO_FRAME_MAX), LEDGER_E_DECODE (not
    msgpack, trailing bytes, nesting too deep, missing/wrong-typed/unknown
    field, string over its limit, bad id), LEDGER_E_VERSION,
    LEDGER_E_UNKNOWN_TYPE, LEDGER_E_INVALID (a value breaks a rule, e.g.
    amount_minor <= 0). A reason is written to `why` (may be NULL).
    On error `out` is zeroed. On success with type account.reply the caller
    must call proto_msg_release(). */
ledger_err_t proto_decode(const void *data, size_t size, proto_msg_t *out, char *why,
                          size_t why_size);

/*  Checks, without allocating, that `data` is exactly one msgpack object of
    at most PROTO_FRAME_MAX bytes, nested at most PROTO_NEST_MAX deep, with no
    length or item count running past the end (msgpack-c allocates a
    container's items before reading them: a 5-byte frame claiming 2^32 items
    would ask for ~100 GB) and no trailing bytes. Says nothing about keys or
    types. proto_decode runs it first; any other code that hands untrusted
    bytes to msgpack-c must call it first too.
    Errors: LEDGER_E_TOO_LARGE, LEDGER_E_DECODE; a reason in `why` (may be NULL).
    Thread-safe. */
ledger_err_t proto_frame_check(const void *data, size_t size, char *why, size_t why_size);

/*  Reads the id "<origin>/<seq>" of the envelope frame data[0..size) without
    decoding it or allocating: walks the top map to its "id" key (every other
    value is walked over, bounded as in proto_frame_check) and parses the id
    as proto_id_parse does. For frames this node encoded itself (the relay's
    outbox): no other key is checked. LEDGER_E_DECODE if the frame is not a
    map, has no "id", the id is not a str or not a valid id, or the frame is
    cut short. Thread-safe. */
ledger_err_t proto_frame_id(const void *data, size_t size, char origin_out[PROTO_NODE_MAX + 1],
                            uint64_t *seq_out);

/* Frees what proto_decode allocated in `msg` (account.reply arrays: accounts, entries, holds);
   safe on any message. */
void proto_msg_release(proto_msg_t *msg);

/*  True if `a` and `b` carry the same message on the wire: the envelope and
    the fields of the body that their type sends (strings compared as
    strings, account.reply arrays item by item). A decode of an encode of a
    valid message is equal to it. */
bool proto_msg_equal(const proto_msg_t *a, const proto_msg_t *b);

/* --- the value rules, exported once (proto_rules.c) ----------------------
    Every module that checks an account id, a currency code or UTF-8 text
    calls these; none keeps a copy. Pure, thread-safe, no allocation. */

/* True if id[0..len) is an account id: 1..PROTO_ACCOUNT_ID_MAX bytes of
   [a-z0-9_-]. `id` may be NULL only with len 0 (false). */
bool proto_account_id_valid(const char *id, size_t len);

/* True if `id` is a NUL-terminated account id (proto_account_id_valid over
   at most PROTO_ACCOUNT_ID_MAX + 1 bytes); false for NULL. */
bool proto_account_id_valid_str(const char *id);

/* True if name[0..len) is a node name (the origin of message ids):
   1..PROTO_NODE_MAX bytes of [a-z0-9_-], the account-id alphabet. */
bool proto_node_name_valid(const char *name, size_t len);

/* True if `currency` is exactly PROTO_CURRENCY_LEN upper-case letters A-Z
   followed by NUL (an ISO 4217 alphabetic code); false for NULL. */
bool proto_currency_valid(const char *currency);

/*  The id of the settlement account of `currency` (the outside world's side of
    deposits and withdrawals, owned by nobody): "funding" for GBP, its id since
    before ownership (the hash-chained ledger names it), "funding-" and the
    code in lower case for every other currency of the table (core/currency.h:
    "funding-eur"); NULL for a currency not in the table, or NULL. A rule of the protocol: the
   gateway derives a transfer's kind from it and the accounts node checks the kind against it, so
   both read this one table. */
const char *proto_settlement_id(const char *currency);
/* The reverse: the currency whose settlement account `id` is, NULL for any other id (or NULL).
   On every transfer's path: one pass over six ids, most ending at their first byte. */
const char *proto_settlement_currency(const char *id);

/* True if s[0..len) is well-formed UTF-8: no overlong forms, no surrogates,
   nothing past U+10FFFF, no sequence cut short by `len`. Empty is valid. */
bool proto_utf8_valid(const char *s, size_t len);

/* Delivery tag frame: 8 bytes, big-endian. */
void proto_tag_pack(uint64_t tag, uint8_t out[PROTO_TAG_SIZE]);
/* LEDGER_E_DECODE if size != PROTO_TAG_SIZE. */
ledger_err_t proto_tag_unpack(const void *data, size_t size, uint64_t *tag_out);
/*  The tag frame of an ack, which may answer several messages of one sender
    at once: 1 .. PROTO_ACK_TAGS_MAX tags of 8 bytes each. *count_out gets
    how many; tags_out (room for PROTO_ACK_TAGS_MAX) gets them. LEDGER_E_DECODE
    if the size is 0, not a multiple of 8, or over the limit. */
ledger_err_t proto_tags_unpack(const void *data, size_t size, uint64_t tags_out[PROTO_ACK_TAGS_MAX],
                               size_t *count_out);

/*  Bundles (proto/README.md, Framing): a sender may carry up to
    PROTO_BUNDLE_MAX envelopes for one peer in one ZeroMQ message, tag frame
    n x 8 bytes (n >= 2) and a payload frame of n x [u32 big-endian length]
    [envelope], at most PROTO_BUNDLE_BYTES_MAX bytes. Why: CURVE encrypts
    every frame on its own, at a fixed cost per frame that dwarfs the cost
    per byte of a ~300-byte envelope (docs/links-plan.md, section 1). */
#define PROTO_BUNDLE_MAX 64                    /* envelopes in one bundle */
#define PROTO_BUNDLE_LEN_SIZE 4                /* the length before each envelope */
#define PROTO_BUNDLE_BYTES_MAX PROTO_FRAME_MAX /* a bundle's payload frame */
/* The length prefix of one envelope of a bundle. */
void proto_bundle_len_pack(uint32_t len, uint8_t out[PROTO_BUNDLE_LEN_SIZE]);
/*  The envelope at data[*offset..size) of a bundle's payload: *env_out
    points into data, *env_size_out its bytes; *offset moves past it.
    LEDGER_E_DECODE if no whole length-prefixed envelope of 1 ..
    PROTO_FRAME_MAX bytes is there. */
ledger_err_t proto_bundle_next(const void *data, size_t size, size_t *offset, const void **env_out,
                               size_t *env_size_out);
/*  LEDGER_OK if data[0..size) is a bundle payload of exactly `count` (2 ..
    PROTO_BUNDLE_MAX) envelopes with nothing after them, else
    LEDGER_E_DECODE. The envelopes themselves are not decoded. */
ledger_err_t proto_bundle_check(const void *data, size_t size, size_t count);

#endif

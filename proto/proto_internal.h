/*  proto_internal.h: what the files of proto share, and nobody else sees.

    proto is split by job (proto.h has the public contract):
      proto.c         delivery tags, proto_msg_release, proto_msg_equal
                      (needs nothing of this header);
      proto_names.c   type and query-op names, message ids, node names;
      proto_reason.c  the reasons every error carries (proto_reason_*);
      proto_fields.c  the key tables: one per map the wire carries (envelope,
                      each body, each reply item), in wire order;
      proto_frame.c   proto_frame_check, the allocation-free msgpack walk;
      proto_check.c   the value rules (proto_validate, and the last step of
                      proto_decode);
      proto_encode.c  proto_encode, driven by the key tables;
      proto_decode.c  proto_decode, driven by the same tables.

    The key tables decide, for encode and decode alike, which keys a map has,
    in which order, of which msgpack type and where each lands in its struct.
    Key counts and required-key masks are computed from them. Adding a plain
    key (str, int, uint, bool) is one line in its table; a key whose value
    needs its own code (PROTO_FIELD_OWN: ids, names of enums, arrays) also
    gets a slot name in the table's enum below, which the encoder and decoder
    switch on.

    Errors and threads: as in proto.h. Nothing here keeps state.
*/
#ifndef LEDGER_PROTO_INTERNAL_H
#define LEDGER_PROTO_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "proto.h"

#define PROTO_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Longest piece of an unknown key or type name quoted back in a reason (bytes). */
#define PROTO_REASON_KEY_MAX 32

/* ---------------------------------------------------------------------------
   Reasons (proto_reason.c). A proto_ctx_t carries the caller's `why` buffer and where
   in the message we are, so that every reason names its field
   ("body.accounts[3].currency").
*/
typedef struct {
    char *why;
    size_t why_size;
    const char *scope; /* "" for the envelope, "body", "body.accounts", ... */
    long index;        /* element of an array scope, -1 if none */
} proto_ctx_t;

/* Writes a formatted reason to `why` (nothing if `why` is NULL or of size 0). */
void proto_reason_say(char *why, size_t why_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Empties the caller's `why`. */
void proto_reason_clear(char *why, size_t why_size);
/* Writes "<scope>[<index>].<field>: <text>" to c->why and returns `err`. */
ledger_err_t proto_reason_fail(proto_ctx_t *c, ledger_err_t err, const char *field, const char *fmt,
                               ...) __attribute__((format(printf, 4, 5)));

/* Returns from the calling function with the error of `expr`, if any. */
#define PROTO_CHECK(expr)                                                                          \
    do {                                                                                           \
        ledger_err_t proto_check_err_ = (expr);                                                    \
        if (proto_check_err_ != LEDGER_OK)                                                         \
            return proto_check_err_;                                                               \
    } while (0)

/* Copies at most PROTO_REASON_KEY_MAX bytes of s[0..len) into `out`, with
   every non-printable byte shown as '?', so a reason can quote wire text. */
void proto_reason_quote(const char *s, size_t len, char out[PROTO_REASON_KEY_MAX + 1]);

/* ---------------------------------------------------------------------------
   Names and ids (proto_names.c).
*/
#define PROTO_QUERY_OP__COUNT (PROTO_QUERY_HOLDS + 1)

/* Wire name of a query op ("list", ...); NULL for an invalid value. */
const char *proto_query_op_name(proto_query_op_t op);
/* The op named name[0..len); false if none. */
bool proto_query_op_from_name(const char *name, size_t len, proto_query_op_t *op_out);
/* True for the saga types (transfer.*, funds.*, fraud.*): they carry a corr. */
bool proto_type_is_saga(proto_type_t type);
/* Parses `len` bytes of "<origin>/<seq>"; outputs (each may be NULL) written only on success. */
bool proto_id_parse_n(const char *id, size_t len, char origin_out[PROTO_NODE_MAX + 1],
                      uint64_t *seq_out);

/* ---------------------------------------------------------------------------
   Key tables (proto_fields.c).
*/
typedef enum {
    PROTO_FIELD_STR,    /* msgpack str into a char[size] (NUL-terminated) */
    PROTO_FIELD_INT64,  /* msgpack int into an int64_t */
    PROTO_FIELD_UINT64, /* msgpack uint into a uint64_t */
    PROTO_FIELD_UINT32, /* msgpack uint into a uint32_t (larger: invalid) */
    PROTO_FIELD_BOOL,   /* msgpack bool into a bool */
    PROTO_FIELD_OWN,    /* read and written by the map's own code, by slot */
} proto_field_kind_t;

/* One key of a map. `carried_by` is 0 when every message with this map
   carries the key, else the set of variants (bit 1 << variant: the query op
   of an account.query, the type of an ack/nack) that carry it. An `optional`
   key is written only when its value is not zero (proto_encode.c), and a map
   read without it is accepted: its value stays zero (the struct is zeroed
   before decoding). Keys added to a map that
   can be stored (an outbox across an upgrade) are optional. */
typedef struct {
    const char *name;
    uint32_t name_len;
    proto_field_kind_t kind;
    size_t offset; /* of the value in the map's struct (not for OWN) */
    size_t size;   /* of the value in the map's struct (not for OWN) */
    uint32_t carried_by;
    bool optional;
} proto_field_t;

/* A map: its keys in wire order (at most PROTO_FIELDS_MAX). */
typedef struct {
    const proto_field_t *fields;
    unsigned count;
    uint32_t all_keys; /* bit i for each fields[i] */
} proto_table_t;

/* The variant of a map that has none: it carries every key of its table.
   Real variants (query ops, message types) start at 1. */
#define PROTO_VARIANT_NONE 0u

/* Most keys one map may have: the key sets are held in a uint32_t. */
#define PROTO_FIELDS_MAX 32u

/* The envelope; its struct is proto_msg_t. */
enum {
    PROTO_ENVELOPE_V,
    PROTO_ENVELOPE_ID,
    PROTO_ENVELOPE_TYPE,
    PROTO_ENVELOPE_CORR,
    PROTO_ENVELOPE_CAUSE,
    PROTO_ENVELOPE_TS,
    PROTO_ENVELOPE_BODY,
    PROTO_ENVELOPE__COUNT
};
/* transfer.requested, funds.reserved, transfer.settled: proto_transfer_t. */
enum {
    PROTO_TRANSFER_KEY_TRANSFER,
    PROTO_TRANSFER_KEY_FROM,
    PROTO_TRANSFER_KEY_TO,
    PROTO_TRANSFER_KEY_AMOUNT_MINOR,
    PROTO_TRANSFER_KEY_CURRENCY,
    PROTO_TRANSFER_KEY_REFERENCE,
    PROTO_TRANSFER_KEY_PRINCIPAL,      /* optional */
    PROTO_TRANSFER_KEY_KIND,           /* optional; its name, by proto_transfer_kind_name */
    PROTO_TRANSFER_KEY_CAPTURE,        /* optional; its name, by proto_capture_name */
    PROTO_TRANSFER_KEY_EXPIRES_AT_MS,  /* optional */
    PROTO_TRANSFER_KEY_CAPTURED_MINOR, /* optional */
    PROTO_TRANSFER_KEY_REFUND_OF,      /* optional */
    PROTO_TRANSFER_KEY_OPERATOR,       /* optional */
    PROTO_TRANSFER_KEY__COUNT
};
/* fraud.approved, fraud.rejected, transfer.rejected_fraud: proto_verdict_t. */
enum { PROTO_VERDICT_TRANSFER, PROTO_VERDICT_RULES, PROTO_VERDICT_REASON, PROTO_VERDICT__COUNT };
/* transfer.capture, transfer.void: proto_action_t; variants are the two types. */
enum {
    PROTO_ACTION_KEY_TRANSFER,
    PROTO_ACTION_KEY_AMOUNT_MINOR, /* capture only */
    PROTO_ACTION_KEY_PRINCIPAL,
    PROTO_ACTION_KEY_OPERATOR,
    PROTO_ACTION_KEY__COUNT
};
/* account.query: proto_query_t; variants are the ops. */
enum {
    PROTO_QUERY_KEY_OP,
    PROTO_QUERY_KEY_ACCOUNT,
    PROTO_QUERY_KEY_CURSOR,
    PROTO_QUERY_KEY_LIMIT,
    PROTO_QUERY_KEY_NAME,
    PROTO_QUERY_KEY_CURRENCY,
    PROTO_QUERY_KEY_OWNER,
    PROTO_QUERY_KEY_AMOUNT_MINOR,
    PROTO_QUERY_KEY_PRINCIPAL,
    PROTO_QUERY_KEY_STATUS,
    PROTO_QUERY_KEY_OVERDRAFT_LIMIT_MINOR,
    PROTO_QUERY_KEY_AT_MS,
    PROTO_QUERY_KEY_FROM_MS,
    PROTO_QUERY_KEY_TO_MS,
    PROTO_QUERY_KEY__COUNT
};
/* account.reply: proto_account_reply_t. */
enum {
    PROTO_ACCOUNT_REPLY_STATUS,
    PROTO_ACCOUNT_REPLY_CODE,
    PROTO_ACCOUNT_REPLY_REASON,
    PROTO_ACCOUNT_REPLY_ACCOUNTS,
    PROTO_ACCOUNT_REPLY_ENTRIES,
    PROTO_ACCOUNT_REPLY_NEXT,
    PROTO_ACCOUNT_REPLY_HOLDS, /* optional */
    PROTO_ACCOUNT_REPLY__COUNT
};
/* One account of a reply: proto_account_t. */
enum {
    PROTO_ACCOUNT_KEY_ID,
    PROTO_ACCOUNT_KEY_NAME,
    PROTO_ACCOUNT_KEY_CURRENCY,
    PROTO_ACCOUNT_KEY_BALANCE_MINOR,
    PROTO_ACCOUNT_KEY_HELD_MINOR,
    PROTO_ACCOUNT_KEY_SETTLEMENT,
    PROTO_ACCOUNT_KEY_OWNER,
    PROTO_ACCOUNT_KEY_STATUS,                /* optional; "" is written as "active" */
    PROTO_ACCOUNT_KEY_OVERDRAFT_LIMIT_MINOR, /* optional */
    PROTO_ACCOUNT_KEY__COUNT
};
/* One hold of a reply: proto_hold_t. */
enum {
    PROTO_HOLD_KEY_TRANSFER,
    PROTO_HOLD_KEY_AMOUNT_MINOR,
    PROTO_HOLD_KEY_KIND,    /* its name, by proto_transfer_kind_name */
    PROTO_HOLD_KEY_CAPTURE, /* its name, by proto_capture_name */
    PROTO_HOLD_KEY_CREATED_MS,
    PROTO_HOLD_KEY_EXPIRES_AT_MS,
    PROTO_HOLD_KEY__COUNT
};

extern const proto_table_t proto_envelope_table;
extern const proto_table_t proto_transfer_table;      /* proto_transfer_t */
extern const proto_table_t proto_action_table;        /* proto_action_t; variants: capture, void */
extern const proto_table_t proto_verdict_table;       /* proto_verdict_t */
extern const proto_table_t proto_declined_table;      /* proto_declined_t */
extern const proto_table_t proto_reply_table;         /* proto_reply_t; variants: ack, nack */
extern const proto_table_t proto_query_table;         /* proto_query_t; variants: ops */
extern const proto_table_t proto_account_reply_table; /* proto_account_reply_t */
extern const proto_table_t proto_account_table;       /* proto_account_t (reply item) */
extern const proto_table_t proto_row_table;           /* proto_ledger_row_t (reply item) */
extern const proto_table_t proto_hold_table;          /* proto_hold_t (reply item) */

/* The keys (bit i for fields[i]) that a message of `variant` carries:
   table->all_keys for PROTO_VARIANT_NONE. */
uint32_t proto_fields_carried(const proto_table_t *table, unsigned variant);
/* The optional keys of `table` (bit i for fields[i]). */
uint32_t proto_fields_optional(const proto_table_t *table);
/* The table of the body of `type`; NULL for an invalid type. */
const proto_table_t *proto_fields_body(proto_type_t type);
/* The variant of the body of `msg` that selects its keys (PROTO_VARIANT_NONE if it has none). */
unsigned proto_fields_variant(const proto_msg_t *msg);

/* ---------------------------------------------------------------------------
   Value rules (proto_check.c): proto_validate's check, run by proto_decode
   after reading the fields. `c` carries the reason buffer.
*/
ledger_err_t proto_check_msg(proto_ctx_t *c, const proto_msg_t *msg);

#endif

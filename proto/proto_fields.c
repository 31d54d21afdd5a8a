/*  proto_fields.c: the key tables of the wire protocol, one per map.

    Each table lists a map's keys in wire order (the order proto_encode writes
    them and proto/README.md documents them), with the msgpack type each
    carries and where it lands in its struct. proto_encode and proto_decode
    are driven by these tables: the number of keys, which are required and
    which are unknown all come from here. A key whose value needs code of its
    own (PROTO_FIELD_OWN) has a slot name in proto_internal.h.
*/
#include <assert.h>
#include <stddef.h>

#include "proto_internal.h"

#define KEY_LEN(name) ((uint32_t)(sizeof(name) - 1))
#define MEMBER_SIZE(type, member) sizeof(((type *)0)->member)

/* carried_by of a key every message of its map carries. */
#define EVERY_VARIANT 0u

/* Key `name` stored in `member` of `type` as a `kind`, carried by the variants in `carried_by`. */
#define FIELD_AS(name, type, member, kind, carried_by)                                             \
    {                                                                                              \
        name, KEY_LEN(name), kind, offsetof(type, member), MEMBER_SIZE(type, member), carried_by,  \
            false                                                                                  \
    }
/* Key `member` of `type` that every message writes and a reader may miss (then zero). */
#define FIELD_OPTIONAL(type, member, kind)                                                         \
    {                                                                                              \
#member, KEY_LEN(#member), PROTO_FIELD_##kind, offsetof(type, member),                     \
            MEMBER_SIZE(type, member), EVERY_VARIANT, true                                         \
    }
/* An optional key (see FIELD_OPTIONAL) named `name`, stored in `member`. */
#define FIELD_OPTIONAL_AS(name, type, member, kind)                                                \
    {                                                                                              \
        name, KEY_LEN(name), PROTO_FIELD_##kind, offsetof(type, member),                           \
            MEMBER_SIZE(type, member), EVERY_VARIANT, true                                         \
    }
/* Key `member` of `type`, carried by every message of the map. */
#define FIELD(type, member, kind) FIELD_AS(#member, type, member, PROTO_FIELD_##kind, EVERY_VARIANT)
/* Key `name` whose value the map's own code reads and writes. */
#define FIELD_OWN(name, carried_by)                                                                \
    {                                                                                              \
        name, KEY_LEN(name), PROTO_FIELD_OWN, 0, 0, carried_by, false                              \
    }
/* An optional key (see FIELD_OPTIONAL) whose value the map's own code reads and writes. */
#define FIELD_OWN_OPTIONAL(name)                                                                   \
    {                                                                                              \
        name, KEY_LEN(name), PROTO_FIELD_OWN, 0, 0, EVERY_VARIANT, true                            \
    }

/* A table of `fields`, with the set of all its keys. */
#define TABLE(fields)                                                                              \
    {                                                                                              \
        fields, PROTO_ARRAY_LEN(fields), (uint32_t)((1ull << PROTO_ARRAY_LEN(fields)) - 1)         \
    }

/* Variants are bits of a uint32_t: message types and query ops must fit. */
_Static_assert(PROTO_TYPE__COUNT <= PROTO_FIELDS_MAX, "every type can be a variant");
_Static_assert(PROTO_QUERY_OP__COUNT <= PROTO_FIELDS_MAX, "every query op can be a variant");

/* The key sets are uint32_t: every table must fit. */
#define FITS(fields) _Static_assert(PROTO_ARRAY_LEN(fields) <= PROTO_FIELDS_MAX, #fields " fits")

static const proto_field_t envelope_fields[] = {
    [PROTO_ENVELOPE_V] = FIELD(proto_msg_t, v, UINT32),
    [PROTO_ENVELOPE_ID] = FIELD_OWN("id", EVERY_VARIANT),
    [PROTO_ENVELOPE_TYPE] = FIELD_OWN("type", EVERY_VARIANT),
    [PROTO_ENVELOPE_CORR] = FIELD(proto_msg_t, corr, STR),
    [PROTO_ENVELOPE_CAUSE] = FIELD(proto_msg_t, cause, STR),
    [PROTO_ENVELOPE_TS] = FIELD_AS("ts", proto_msg_t, ts_ms, PROTO_FIELD_UINT64, EVERY_VARIANT),
    [PROTO_ENVELOPE_BODY] = FIELD_OWN("body", EVERY_VARIANT),
};
_Static_assert(PROTO_ARRAY_LEN(envelope_fields) == PROTO_ENVELOPE__COUNT, "a slot per key");

/* principal and kind came with ownership (issue 18), capture .. operator with payments
   (issue 21): a body from before has none of them. */
static const proto_field_t transfer_fields[] = {
    [PROTO_TRANSFER_KEY_TRANSFER] = FIELD(proto_transfer_t, transfer, STR),
    [PROTO_TRANSFER_KEY_FROM] = FIELD(proto_transfer_t, from, STR),
    [PROTO_TRANSFER_KEY_TO] = FIELD(proto_transfer_t, to, STR),
    [PROTO_TRANSFER_KEY_AMOUNT_MINOR] = FIELD(proto_transfer_t, amount_minor, INT64),
    [PROTO_TRANSFER_KEY_CURRENCY] = FIELD(proto_transfer_t, currency, STR),
    [PROTO_TRANSFER_KEY_REFERENCE] = FIELD(proto_transfer_t, reference, STR),
    [PROTO_TRANSFER_KEY_PRINCIPAL] = FIELD_OPTIONAL(proto_transfer_t, principal, STR),
    [PROTO_TRANSFER_KEY_KIND] = FIELD_OWN_OPTIONAL("kind"),
    [PROTO_TRANSFER_KEY_CAPTURE] = FIELD_OWN_OPTIONAL("capture"),
    [PROTO_TRANSFER_KEY_EXPIRES_AT_MS] = FIELD_OPTIONAL(proto_transfer_t, expires_at_ms, UINT64),
    [PROTO_TRANSFER_KEY_CAPTURED_MINOR] = FIELD_OPTIONAL(proto_transfer_t, captured_minor, INT64),
    [PROTO_TRANSFER_KEY_REFUND_OF] = FIELD_OPTIONAL(proto_transfer_t, refund_of, STR),
    [PROTO_TRANSFER_KEY_OPERATOR] =
        FIELD_OPTIONAL_AS("operator", proto_transfer_t, operator_scope, BOOL),
};
_Static_assert(PROTO_ARRAY_LEN(transfer_fields) == PROTO_TRANSFER_KEY__COUNT, "a slot per key");

/* transfer.void carries no amount. */
#define CAPTURE (1u << PROTO_TRANSFER_CAPTURE)
static const proto_field_t action_fields[] = {
    [PROTO_ACTION_KEY_TRANSFER] = FIELD(proto_action_t, transfer, STR),
    [PROTO_ACTION_KEY_AMOUNT_MINOR] =
        FIELD_AS("amount_minor", proto_action_t, amount_minor, PROTO_FIELD_INT64, CAPTURE),
    [PROTO_ACTION_KEY_PRINCIPAL] = FIELD(proto_action_t, principal, STR),
    [PROTO_ACTION_KEY_OPERATOR] =
        FIELD_AS("operator", proto_action_t, operator_scope, PROTO_FIELD_BOOL, EVERY_VARIANT),
};
_Static_assert(PROTO_ARRAY_LEN(action_fields) == PROTO_ACTION_KEY__COUNT, "a slot per key");

static const proto_field_t verdict_fields[] = {
    [PROTO_VERDICT_TRANSFER] = FIELD(proto_verdict_t, transfer, STR),
    [PROTO_VERDICT_RULES] = FIELD_OWN("rules", EVERY_VARIANT),
    [PROTO_VERDICT_REASON] = FIELD(proto_verdict_t, reason, STR),
};
_Static_assert(PROTO_ARRAY_LEN(verdict_fields) == PROTO_VERDICT__COUNT, "a slot per key");

static const proto_field_t declined_fields[] = {
    FIELD(proto_declined_t, transfer, STR),
    FIELD(proto_declined_t, code, STR),
    FIELD(proto_declined_t, reason, STR),
};
FITS(declined_fields);

/* ack carries only `of`; nack all three. */
#define ACK_NACK ((1u << PROTO_ACK) | (1u << PROTO_NACK))
#define NACK (1u << PROTO_NACK)
static const proto_field_t reply_fields[] = {
    FIELD_AS("of", proto_reply_t, of, PROTO_FIELD_STR, ACK_NACK),
    FIELD_AS("code", proto_reply_t, code, PROTO_FIELD_STR, NACK),
    FIELD_AS("reason", proto_reply_t, reason, PROTO_FIELD_STR, NACK),
};
FITS(reply_fields);

/* Which query ops carry a key (proto/README.md): list, ledger, statement and holds page,
   open creates, update changes, balance_at and statement read by time. */
#define OP(op) (1u << PROTO_QUERY_##op)
#define ONE_ACCOUNT                                                                                \
    (OP(GET) | OP(LEDGER) | OP(OPEN) | OP(UPDATE) | OP(BALANCE_AT) | OP(STATEMENT) | OP(HOLDS))
#define PAGED (OP(LIST) | OP(LEDGER) | OP(STATEMENT) | OP(HOLDS))
static const proto_field_t query_fields[] = {
    [PROTO_QUERY_KEY_OP] = FIELD_OWN("op", EVERY_VARIANT),
    [PROTO_QUERY_KEY_ACCOUNT] =
        FIELD_AS("account", proto_query_t, account, PROTO_FIELD_STR, ONE_ACCOUNT),
    /* an id (`after`) for list and holds, a ledger seq (`cursor`) for ledger and statement */
    [PROTO_QUERY_KEY_CURSOR] = FIELD_OWN("cursor", PAGED),
    [PROTO_QUERY_KEY_LIMIT] = FIELD_AS("limit", proto_query_t, limit, PROTO_FIELD_UINT32, PAGED),
    [PROTO_QUERY_KEY_NAME] = FIELD_AS("name", proto_query_t, name, PROTO_FIELD_STR, OP(OPEN)),
    [PROTO_QUERY_KEY_CURRENCY] =
        FIELD_AS("currency", proto_query_t, currency, PROTO_FIELD_STR, OP(OPEN)),
    [PROTO_QUERY_KEY_OWNER] = FIELD_AS("owner", proto_query_t, owner, PROTO_FIELD_STR, OP(OPEN)),
    [PROTO_QUERY_KEY_AMOUNT_MINOR] =
        FIELD_AS("amount_minor", proto_query_t, amount_minor, PROTO_FIELD_INT64, OP(OPEN)),
    [PROTO_QUERY_KEY_PRINCIPAL] =
        FIELD_AS("principal", proto_query_t, principal, PROTO_FIELD_STR, OP(UPDATE)),
    [PROTO_QUERY_KEY_STATUS] =
        FIELD_AS("status", proto_query_t, status, PROTO_FIELD_STR, OP(UPDATE)),
    [PROTO_QUERY_KEY_OVERDRAFT_LIMIT_MINOR] =
        FIELD_AS("overdraft_limit_minor", proto_query_t, overdraft_limit_minor, PROTO_FIELD_INT64,
                 OP(UPDATE)),
    [PROTO_QUERY_KEY_AT_MS] =
        FIELD_AS("at_ms", proto_query_t, at_ms, PROTO_FIELD_UINT64, OP(BALANCE_AT)),
    [PROTO_QUERY_KEY_FROM_MS] =
        FIELD_AS("from_ms", proto_query_t, from_ms, PROTO_FIELD_UINT64, OP(STATEMENT)),
    [PROTO_QUERY_KEY_TO_MS] =
        FIELD_AS("to_ms", proto_query_t, to_ms, PROTO_FIELD_UINT64, OP(STATEMENT)),
};
_Static_assert(PROTO_ARRAY_LEN(query_fields) == PROTO_QUERY_KEY__COUNT, "a slot per key");

static const proto_field_t account_reply_fields[] = {
    [PROTO_ACCOUNT_REPLY_STATUS] = FIELD(proto_account_reply_t, status, UINT32),
    [PROTO_ACCOUNT_REPLY_CODE] = FIELD(proto_account_reply_t, code, STR),
    [PROTO_ACCOUNT_REPLY_REASON] = FIELD(proto_account_reply_t, reason, STR),
    [PROTO_ACCOUNT_REPLY_ACCOUNTS] = FIELD_OWN("accounts", EVERY_VARIANT),
    [PROTO_ACCOUNT_REPLY_ENTRIES] = FIELD_OWN("entries", EVERY_VARIANT),
    [PROTO_ACCOUNT_REPLY_NEXT] = FIELD(proto_account_reply_t, next, STR),
    [PROTO_ACCOUNT_REPLY_HOLDS] = FIELD_OWN_OPTIONAL("holds"),
};
_Static_assert(PROTO_ARRAY_LEN(account_reply_fields) == PROTO_ACCOUNT_REPLY__COUNT,
               "a slot per key");

/* status and overdraft_limit_minor came with account controls (issue 21). */
static const proto_field_t account_fields[] = {
    [PROTO_ACCOUNT_KEY_ID] = FIELD(proto_account_t, id, STR),
    [PROTO_ACCOUNT_KEY_NAME] = FIELD(proto_account_t, name, STR),
    [PROTO_ACCOUNT_KEY_CURRENCY] = FIELD(proto_account_t, currency, STR),
    [PROTO_ACCOUNT_KEY_BALANCE_MINOR] = FIELD(proto_account_t, balance_minor, INT64),
    [PROTO_ACCOUNT_KEY_HELD_MINOR] = FIELD(proto_account_t, held_minor, INT64),
    [PROTO_ACCOUNT_KEY_SETTLEMENT] = FIELD(proto_account_t, settlement, BOOL),
    [PROTO_ACCOUNT_KEY_OWNER] = FIELD(proto_account_t, owner, STR),
    [PROTO_ACCOUNT_KEY_STATUS] = FIELD_OWN_OPTIONAL("status"),
    [PROTO_ACCOUNT_KEY_OVERDRAFT_LIMIT_MINOR] =
        FIELD_OPTIONAL(proto_account_t, overdraft_limit_minor, INT64),
};
_Static_assert(PROTO_ARRAY_LEN(account_fields) == PROTO_ACCOUNT_KEY__COUNT, "a slot per key");

static const proto_field_t row_fields[] = {
    FIELD(proto_ledger_row_t, seq, UINT64),
    FIELD(proto_ledger_row_t, account, STR),
    FIELD(proto_ledger_row_t, transfer, STR),
    FIELD(proto_ledger_row_t, kind, STR),
    FIELD(proto_ledger_row_t, amount_minor, INT64),
    FIELD(proto_ledger_row_t, balance_after_minor, INT64),
    FIELD(proto_ledger_row_t, held_after_minor, INT64),
    FIELD(proto_ledger_row_t, ts_ms, UINT64),
    FIELD_OPTIONAL(proto_ledger_row_t, memo, STR), /* issue 21 */
};
FITS(row_fields);

static const proto_field_t hold_fields[] = {
    [PROTO_HOLD_KEY_TRANSFER] = FIELD(proto_hold_t, transfer, STR),
    [PROTO_HOLD_KEY_AMOUNT_MINOR] = FIELD(proto_hold_t, amount_minor, INT64),
    [PROTO_HOLD_KEY_KIND] = FIELD_OWN("kind", EVERY_VARIANT),
    [PROTO_HOLD_KEY_CAPTURE] = FIELD_OWN("capture", EVERY_VARIANT),
    [PROTO_HOLD_KEY_CREATED_MS] = FIELD(proto_hold_t, created_ms, UINT64),
    [PROTO_HOLD_KEY_EXPIRES_AT_MS] = FIELD(proto_hold_t, expires_at_ms, UINT64),
};
_Static_assert(PROTO_ARRAY_LEN(hold_fields) == PROTO_HOLD_KEY__COUNT, "a slot per key");

const proto_table_t proto_envelope_table = TABLE(envelope_fields);
const proto_table_t proto_transfer_table = TABLE(transfer_fields);
const proto_table_t proto_action_table = TABLE(action_fields);
const proto_table_t proto_verdict_table = TABLE(verdict_fields);
const proto_table_t proto_declined_table = TABLE(declined_fields);
const proto_table_t proto_reply_table = TABLE(reply_fields);
const proto_table_t proto_query_table = TABLE(query_fields);
const proto_table_t proto_account_reply_table = TABLE(account_reply_fields);
const proto_table_t proto_account_table = TABLE(account_fields);
const proto_table_t proto_row_table = TABLE(row_fields);
const proto_table_t proto_hold_table = TABLE(hold_fields);

uint32_t proto_fields_carried(const proto_table_t *table, unsigned variant)
{
    assert(table && table->count <= PROTO_FIELDS_MAX && variant < PROTO_FIELDS_MAX);
    if (variant == PROTO_VARIANT_NONE)
        return table->all_keys;
    uint32_t keys = 0;
    for (unsigned i = 0; i < table->count; i++) {
        uint32_t carried_by = table->fields[i].carried_by;
        if (carried_by == 0 || (carried_by & (1u << variant)))
            keys |= 1u << i;
    }
    return keys;
}

uint32_t proto_fields_optional(const proto_table_t *table)
{
    assert(table && table->count <= PROTO_FIELDS_MAX);
    uint32_t keys = 0;
    for (unsigned i = 0; i < table->count; i++)
        if (table->fields[i].optional)
            keys |= 1u << i;
    return keys;
}

const proto_table_t *proto_fields_body(proto_type_t type)
{
    switch (type) {
    case PROTO_TRANSFER_REQUESTED:
    case PROTO_FUNDS_RESERVED:
    case PROTO_TRANSFER_SETTLED:
    case PROTO_TRANSFER_AUTHORIZED:
        return &proto_transfer_table;
    case PROTO_TRANSFER_CAPTURE:
    case PROTO_TRANSFER_VOID:
        return &proto_action_table;
    case PROTO_FRAUD_APPROVED:
    case PROTO_FRAUD_REJECTED:
    case PROTO_TRANSFER_REJECTED_FRAUD:
        return &proto_verdict_table;
    case PROTO_TRANSFER_DECLINED:
    case PROTO_TRANSFER_VOIDED:
    case PROTO_TRANSFER_EXPIRED:
        return &proto_declined_table;
    case PROTO_ACK:
    case PROTO_NACK:
        return &proto_reply_table;
    case PROTO_ACCOUNT_QUERY:
        return &proto_query_table;
    case PROTO_ACCOUNT_REPLY:
        return &proto_account_reply_table;
    default:
        return NULL;
    }
}

unsigned proto_fields_variant(const proto_msg_t *msg)
{
    assert(msg);
    if (msg->type == PROTO_ACK || msg->type == PROTO_NACK || msg->type == PROTO_TRANSFER_CAPTURE ||
        msg->type == PROTO_TRANSFER_VOID)
        return (unsigned)msg->type;
    if (msg->type == PROTO_ACCOUNT_QUERY)
        return (unsigned)msg->body.query.op;
    return PROTO_VARIANT_NONE;
}

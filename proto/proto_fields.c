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

/* principal and kind came with ownership (issue 18): a body from before has neither. */
static const proto_field_t transfer_fields[] = {
    [PROTO_TRANSFER_KEY_TRANSFER] = FIELD(proto_transfer_t, transfer, STR),
    [PROTO_TRANSFER_KEY_FROM] = FIELD(proto_transfer_t, from, STR),
    [PROTO_TRANSFER_KEY_TO] = FIELD(proto_transfer_t, to, STR),
    [PROTO_TRANSFER_KEY_AMOUNT_MINOR] = FIELD(proto_transfer_t, amount_minor, INT64),
    [PROTO_TRANSFER_KEY_CURRENCY] = FIELD(proto_transfer_t, currency, STR),
    [PROTO_TRANSFER_KEY_REFERENCE] = FIELD(proto_transfer_t, reference, STR),
    [PROTO_TRANSFER_KEY_PRINCIPAL] = FIELD_OPTIONAL(proto_transfer_t, principal, STR),
    [PROTO_TRANSFER_KEY_KIND] = FIELD_OWN_OPTIONAL("kind"),
};
_Static_assert(PROTO_ARRAY_LEN(transfer_fields) == PROTO_TRANSFER_KEY__COUNT, "a slot per key");

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

/* Which query ops carry a key (proto/README.md): list and ledger page, open creates. */
#define OP(op) (1u << PROTO_QUERY_##op)
static const proto_field_t query_fields[] = {
    [PROTO_QUERY_KEY_OP] = FIELD_OWN("op", EVERY_VARIANT),
    [PROTO_QUERY_KEY_ACCOUNT] = FIELD_AS("account", proto_query_t, account, PROTO_FIELD_STR,
                                         OP(GET) | OP(LEDGER) | OP(OPEN)),
    /* an account id (`after`) for list, a ledger seq (`cursor`) for ledger */
    [PROTO_QUERY_KEY_CURSOR] = FIELD_OWN("cursor", OP(LIST) | OP(LEDGER)),
    [PROTO_QUERY_KEY_LIMIT] =
        FIELD_AS("limit", proto_query_t, limit, PROTO_FIELD_UINT32, OP(LIST) | OP(LEDGER)),
    [PROTO_QUERY_KEY_NAME] = FIELD_AS("name", proto_query_t, name, PROTO_FIELD_STR, OP(OPEN)),
    [PROTO_QUERY_KEY_CURRENCY] =
        FIELD_AS("currency", proto_query_t, currency, PROTO_FIELD_STR, OP(OPEN)),
    [PROTO_QUERY_KEY_OWNER] = FIELD_AS("owner", proto_query_t, owner, PROTO_FIELD_STR, OP(OPEN)),
    [PROTO_QUERY_KEY_AMOUNT_MINOR] =
        FIELD_AS("amount_minor", proto_query_t, amount_minor, PROTO_FIELD_INT64, OP(OPEN)),
};
_Static_assert(PROTO_ARRAY_LEN(query_fields) == PROTO_QUERY_KEY__COUNT, "a slot per key");

static const proto_field_t account_reply_fields[] = {
    [PROTO_ACCOUNT_REPLY_STATUS] = FIELD(proto_account_reply_t, status, UINT32),
    [PROTO_ACCOUNT_REPLY_CODE] = FIELD(proto_account_reply_t, code, STR),
    [PROTO_ACCOUNT_REPLY_REASON] = FIELD(proto_account_reply_t, reason, STR),
    [PROTO_ACCOUNT_REPLY_ACCOUNTS] = FIELD_OWN("accounts", EVERY_VARIANT),
    [PROTO_ACCOUNT_REPLY_ENTRIES] = FIELD_OWN("entries", EVERY_VARIANT),
    [PROTO_ACCOUNT_REPLY_NEXT] = FIELD(proto_account_reply_t, next, STR),
};
_Static_assert(PROTO_ARRAY_LEN(account_reply_fields) == PROTO_ACCOUNT_REPLY__COUNT,
               "a slot per key");

static const proto_field_t account_fields[] = {
    FIELD(proto_account_t, id, STR),           FIELD(proto_account_t, name, STR),
    FIELD(proto_account_t, currency, STR),     FIELD(proto_account_t, balance_minor, INT64),
    FIELD(proto_account_t, held_minor, INT64), FIELD(proto_account_t, settlement, BOOL),
    FIELD(proto_account_t, owner, STR),
};
FITS(account_fields);

static const proto_field_t row_fields[] = {
    FIELD(proto_ledger_row_t, seq, UINT64),
    FIELD(proto_ledger_row_t, account, STR),
    FIELD(proto_ledger_row_t, transfer, STR),
    FIELD(proto_ledger_row_t, kind, STR),
    FIELD(proto_ledger_row_t, amount_minor, INT64),
    FIELD(proto_ledger_row_t, balance_after_minor, INT64),
    FIELD(proto_ledger_row_t, held_after_minor, INT64),
    FIELD(proto_ledger_row_t, ts_ms, UINT64),
};
FITS(row_fields);

const proto_table_t proto_envelope_table = TABLE(envelope_fields);
const proto_table_t proto_transfer_table = TABLE(transfer_fields);
const proto_table_t proto_verdict_table = TABLE(verdict_fields);
const proto_table_t proto_declined_table = TABLE(declined_fields);
const proto_table_t proto_reply_table = TABLE(reply_fields);
const proto_table_t proto_query_table = TABLE(query_fields);
const proto_table_t proto_account_reply_table = TABLE(account_reply_fields);
const proto_table_t proto_account_table = TABLE(account_fields);
const proto_table_t proto_row_table = TABLE(row_fields);

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
        return &proto_transfer_table;
    case PROTO_FRAUD_APPROVED:
    case PROTO_FRAUD_REJECTED:
    case PROTO_TRANSFER_REJECTED_FRAUD:
        return &proto_verdict_table;
    case PROTO_TRANSFER_DECLINED:
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
    if (msg->type == PROTO_ACK || msg->type == PROTO_NACK)
        return (unsigned)msg->type;
    if (msg->type == PROTO_ACCOUNT_QUERY)
        return (unsigned)msg->body.query.op;
    return PROTO_VARIANT_NONE;
}

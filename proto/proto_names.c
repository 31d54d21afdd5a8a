/*  proto_names.c: the names on the wire.

    Message type names ("transfer.requested", ...), query op names ("list",
    ...), transfer kinds ("transfer", "deposit", "withdrawal", "refund"), capture modes
    ("auto", "manual"), and message ids "<origin>/<seq>" with the rule for a node's name. Pure
   functions over constant tables: thread-safe.
*/
#include <assert.h>
#include <string.h>

#include "proto.h"
#include "proto_internal.h"
#include "text.h"

static const char *const type_names[PROTO_TYPE__COUNT] = {
    [PROTO_TRANSFER_REQUESTED] = "transfer.requested",
    [PROTO_FUNDS_RESERVED] = "funds.reserved",
    [PROTO_FRAUD_APPROVED] = "fraud.approved",
    [PROTO_FRAUD_REJECTED] = "fraud.rejected",
    [PROTO_TRANSFER_SETTLED] = "transfer.settled",
    [PROTO_TRANSFER_REJECTED_FRAUD] = "transfer.rejected_fraud",
    [PROTO_TRANSFER_DECLINED] = "transfer.declined",
    [PROTO_ACK] = "ack",
    [PROTO_NACK] = "nack",
    [PROTO_ACCOUNT_QUERY] = "account.query",
    [PROTO_ACCOUNT_REPLY] = "account.reply",
    [PROTO_TRANSFER_AUTHORIZED] = "transfer.authorized",
    [PROTO_TRANSFER_CAPTURE] = "transfer.capture",
    [PROTO_TRANSFER_VOID] = "transfer.void",
    [PROTO_TRANSFER_VOIDED] = "transfer.voided",
    [PROTO_TRANSFER_EXPIRED] = "transfer.expired",
};

static const char *const op_names[] = {
    [PROTO_QUERY_LIST] = "list",           [PROTO_QUERY_GET] = "get",
    [PROTO_QUERY_LEDGER] = "ledger",       [PROTO_QUERY_OPEN] = "open",
    [PROTO_QUERY_UPDATE] = "update",       [PROTO_QUERY_BALANCE_AT] = "balance_at",
    [PROTO_QUERY_STATEMENT] = "statement", [PROTO_QUERY_HOLDS] = "holds",
};
_Static_assert(PROTO_ARRAY_LEN(op_names) == PROTO_QUERY_OP__COUNT, "a name for every query op");

static const char *const kind_names[] = {
    [PROTO_TRANSFER_KIND_TRANSFER] = "transfer",
    [PROTO_TRANSFER_KIND_DEPOSIT] = "deposit",
    [PROTO_TRANSFER_KIND_WITHDRAWAL] = "withdrawal",
    [PROTO_TRANSFER_KIND_REFUND] = "refund",
};
_Static_assert(PROTO_ARRAY_LEN(kind_names) == PROTO_TRANSFER_KIND__COUNT,
               "a name for every transfer kind");

static const char *const capture_names[] = {
    [PROTO_CAPTURE_AUTO] = "auto",
    [PROTO_CAPTURE_MANUAL] = "manual",
};
_Static_assert(PROTO_ARRAY_LEN(capture_names) == PROTO_CAPTURE__COUNT,
               "a name for every capture mode");

/* The index of name[0..len) in names[0..count); count if none. */
static unsigned name_index(const char *const *names, unsigned count, const char *name, size_t len)
{
    unsigned i = 0;
    while (i < count && !(names[i] && strlen(names[i]) == len && memcmp(names[i], name, len) == 0))
        i++;
    return i;
}

const char *proto_capture_name(proto_capture_t capture)
{
    if ((unsigned)capture >= PROTO_CAPTURE__COUNT)
        return NULL;
    return capture_names[capture];
}

ledger_err_t proto_capture_from_name(const char *name, size_t len, proto_capture_t *capture_out)
{
    assert(capture_out);
    if (!name)
        return LEDGER_E_INVALID;
    unsigned i = name_index(capture_names, PROTO_CAPTURE__COUNT, name, len);
    if (i == PROTO_CAPTURE__COUNT)
        return LEDGER_E_INVALID;
    *capture_out = (proto_capture_t)i;
    return LEDGER_OK;
}

const char *proto_transfer_kind_name(proto_transfer_kind_t kind)
{
    if ((unsigned)kind >= PROTO_TRANSFER_KIND__COUNT)
        return NULL;
    return kind_names[kind];
}

ledger_err_t proto_transfer_kind_from_name(const char *name, size_t len,
                                           proto_transfer_kind_t *kind_out)
{
    assert(kind_out);
    if (!name)
        return LEDGER_E_INVALID;
    unsigned k = name_index(kind_names, PROTO_TRANSFER_KIND__COUNT, name, len);
    if (k == PROTO_TRANSFER_KIND__COUNT)
        return LEDGER_E_INVALID;
    *kind_out = (proto_transfer_kind_t)k;
    return LEDGER_OK;
}

const char *proto_type_name(proto_type_t type)
{
    if ((unsigned)type >= PROTO_TYPE__COUNT)
        return NULL;
    return type_names[type];
}

ledger_err_t proto_type_from_name(const char *name, size_t len, proto_type_t *type_out)
{
    assert(type_out);
    if (!name)
        return LEDGER_E_UNKNOWN_TYPE;
    for (int t = PROTO_TRANSFER_REQUESTED; t < PROTO_TYPE__COUNT; t++) {
        if (strlen(type_names[t]) == len && memcmp(type_names[t], name, len) == 0) {
            *type_out = (proto_type_t)t;
            return LEDGER_OK;
        }
    }
    return LEDGER_E_UNKNOWN_TYPE;
}

const char *proto_query_op_name(proto_query_op_t op)
{
    if ((unsigned)op == 0 || (unsigned)op >= PROTO_QUERY_OP__COUNT)
        return NULL;
    return op_names[op];
}

bool proto_query_op_from_name(const char *name, size_t len, proto_query_op_t *op_out)
{
    assert(op_out && (name || len == 0));
    for (unsigned op = PROTO_QUERY_LIST; op < PROTO_QUERY_OP__COUNT; op++) {
        if (strlen(op_names[op]) == len && memcmp(op_names[op], name, len) == 0) {
            *op_out = (proto_query_op_t)op;
            return true;
        }
    }
    return false;
}

bool proto_type_is_saga(proto_type_t type)
{
    switch (type) {
    case PROTO_ACK:
    case PROTO_NACK:
    case PROTO_ACCOUNT_QUERY:
    case PROTO_ACCOUNT_REPLY:
        return false;
    default:
        return type >= PROTO_TRANSFER_REQUESTED && type < PROTO_TYPE__COUNT;
    }
}

bool proto_id_parse_n(const char *id, size_t len, char origin_out[PROTO_NODE_MAX + 1],
                      uint64_t *seq_out)
{
    assert(id || len == 0);
    if (len > PROTO_ID_MAX)
        return false;
    const char *slash = memchr(id, '/', len);
    if (!slash)
        return false;
    size_t origin_len = (size_t)(slash - id);
    size_t digits = len - origin_len - 1;
    if (!proto_node_name_valid(id, origin_len) || digits == 0 || slash[1] == '0')
        return false;
    uint64_t seq = 0;
    for (size_t i = 0; i < digits; i++) {
        unsigned char ch = (unsigned char)slash[1 + i];
        if (ch < '0' || ch > '9')
            return false;
        if (__builtin_mul_overflow(seq, 10, &seq) || __builtin_add_overflow(seq, ch - '0', &seq))
            return false;
    }
    if (origin_out) {
        memcpy(origin_out, id, origin_len);
        origin_out[origin_len] = '\0';
    }
    if (seq_out)
        *seq_out = seq;
    return true;
}

ledger_err_t proto_id_parse(const char *id, char origin_out[PROTO_NODE_MAX + 1], uint64_t *seq_out)
{
    if (!id)
        return LEDGER_E_INVALID;
    size_t len = strnlen(id, PROTO_ID_MAX + 1);
    return proto_id_parse_n(id, len, origin_out, seq_out) ? LEDGER_OK : LEDGER_E_INVALID;
}

void proto_msg_id(const proto_msg_t *msg, char out[PROTO_ID_MAX + 1])
{
    assert(msg && out);
    /* "<origin>/<seq>": at most PROTO_NODE_MAX + 1 + TEXT_U64_DIGITS_MAX bytes. */
    _Static_assert(PROTO_NODE_MAX + 1 + TEXT_U64_DIGITS_MAX <= PROTO_ID_MAX, "id fits");
    size_t n = strnlen(msg->origin, PROTO_NODE_MAX);
    memcpy(out, msg->origin, n);
    out[n] = '/';
    text_u64(msg->seq, out + n + 1);
}

/*  proto_names.c: the names on the wire.

    Message type names ("transfer.requested", ...), query op names ("list",
    ...), transfer kinds ("transfer", "deposit", "withdrawal"), and message ids "<origin>/<seq>"
   with the rule for a node's name. Pure functions over constant tables: thread-safe.
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
};

static const char *const op_names[] = {
    [PROTO_QUERY_LIST] = "list",
    [PROTO_QUERY_GET] = "get",
    [PROTO_QUERY_LEDGER] = "ledger",
    [PROTO_QUERY_OPEN] = "open",
};
_Static_assert(PROTO_ARRAY_LEN(op_names) == PROTO_QUERY_OP__COUNT, "a name for every query op");

static const char *const kind_names[] = {
    [PROTO_TRANSFER_KIND_TRANSFER] = "transfer",
    [PROTO_TRANSFER_KIND_DEPOSIT] = "deposit",
    [PROTO_TRANSFER_KIND_WITHDRAWAL] = "withdrawal",
};
_Static_assert(PROTO_ARRAY_LEN(kind_names) == PROTO_TRANSFER_KIND__COUNT,
               "a name for every transfer kind");

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
    for (unsigned k = 0; k < PROTO_TRANSFER_KIND__COUNT; k++) {
        if (strlen(kind_names[k]) == len && memcmp(kind_names[k], name, len) == 0) {
            *kind_out = (proto_transfer_kind_t)k;
            return LEDGER_OK;
        }
    }
    return LEDGER_E_INVALID;
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
    return type >= PROTO_TRANSFER_REQUESTED && type <= PROTO_TRANSFER_DECLINED;
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

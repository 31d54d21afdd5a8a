/*  proto.c: delivery tags, and what a decoded message is after decoding.

    The delivery tag frames (proto_tag_*), proto_msg_release (the arrays an
    account.reply owns) and proto_msg_equal (what the wire carries, compared).
    The rest of proto has a file per job; proto_internal.h lists them.
    Nothing here keeps state between calls: every function is thread-safe.
*/
#include "proto.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* A tag is written and read a byte at a time, most significant first. */
#define BITS_PER_BYTE 8
#define BYTE_MASK 0xffu

void proto_tag_pack(uint64_t tag, uint8_t out[PROTO_TAG_SIZE])
{
    assert(out);
    for (int i = PROTO_TAG_SIZE - 1; i >= 0; i--) {
        out[i] = (uint8_t)(tag & BYTE_MASK);
        tag >>= BITS_PER_BYTE;
    }
}

ledger_err_t proto_tags_unpack(const void *data, size_t size, uint64_t tags_out[PROTO_ACK_TAGS_MAX],
                               size_t *count_out)
{
    assert(tags_out && count_out);
    if (!data || size == 0 || size % PROTO_TAG_SIZE != 0 ||
        size > (size_t)PROTO_ACK_TAGS_MAX * PROTO_TAG_SIZE)
        return LEDGER_E_DECODE;
    size_t count = size / PROTO_TAG_SIZE;
    for (size_t i = 0; i < count; i++)
        proto_tag_unpack((const uint8_t *)data + i * PROTO_TAG_SIZE, PROTO_TAG_SIZE, &tags_out[i]);
    *count_out = count;
    return LEDGER_OK;
}

ledger_err_t proto_tag_unpack(const void *data, size_t size, uint64_t *tag_out)
{
    assert(tag_out);
    if (size != PROTO_TAG_SIZE || !data)
        return LEDGER_E_DECODE;
    const uint8_t *p = data;
    uint64_t tag = 0;
    for (int i = 0; i < PROTO_TAG_SIZE; i++)
        tag = (tag << BITS_PER_BYTE) | p[i];
    *tag_out = tag;
    return LEDGER_OK;
}
void proto_msg_release(proto_msg_t *msg)
{
    if (!msg || msg->type != PROTO_ACCOUNT_REPLY)
        return;
    proto_account_reply_t *b = &msg->body.account_reply;
    free(b->accounts);
    free(b->entries);
    free(b->holds);
    b->accounts = NULL;
    b->entries = NULL;
    b->holds = NULL;
    b->account_count = 0;
    b->entry_count = 0;
    b->hold_count = 0;
}

int64_t proto_transfer_captured_minor(const proto_transfer_t *t)
{
    assert(t);
    return t->captured_minor > 0 ? t->captured_minor : t->amount_minor;
}

/* ---------------------------------------------------------------------------
   Equality of what the wire carries.
*/
#define STR_EQ(a, b) (strncmp((a), (b), sizeof(a)) == 0)

static bool transfer_equal(const proto_transfer_t *a, const proto_transfer_t *b)
{
    return STR_EQ(a->transfer, b->transfer) && STR_EQ(a->from, b->from) && STR_EQ(a->to, b->to) &&
           a->amount_minor == b->amount_minor && STR_EQ(a->currency, b->currency) &&
           STR_EQ(a->reference, b->reference) && STR_EQ(a->principal, b->principal) &&
           a->kind == b->kind && a->capture == b->capture && a->expires_at_ms == b->expires_at_ms &&
           a->captured_minor == b->captured_minor && STR_EQ(a->refund_of, b->refund_of) &&
           a->operator_scope == b->operator_scope;
}

static bool action_equal(const proto_action_t *a, const proto_action_t *b)
{
    return STR_EQ(a->transfer, b->transfer) && a->amount_minor == b->amount_minor &&
           STR_EQ(a->principal, b->principal) && a->operator_scope == b->operator_scope;
}

static bool verdict_equal(const proto_verdict_t *a, const proto_verdict_t *b)
{
    if (!STR_EQ(a->transfer, b->transfer) || a->rule_count != b->rule_count ||
        !STR_EQ(a->reason, b->reason) || a->rule_count > PROTO_RULES_MAX)
        return false;
    for (uint32_t i = 0; i < a->rule_count; i++)
        if (!STR_EQ(a->rules[i], b->rules[i]))
            return false;
    return true;
}

static bool query_equal(const proto_query_t *a, const proto_query_t *b)
{
    return a->op == b->op && STR_EQ(a->account, b->account) && STR_EQ(a->name, b->name) &&
           STR_EQ(a->currency, b->currency) && STR_EQ(a->owner, b->owner) &&
           a->amount_minor == b->amount_minor && a->cursor == b->cursor &&
           STR_EQ(a->after, b->after) && a->limit == b->limit &&
           STR_EQ(a->principal, b->principal) && STR_EQ(a->status, b->status) &&
           a->overdraft_limit_minor == b->overdraft_limit_minor && a->at_ms == b->at_ms &&
           a->from_ms == b->from_ms && a->to_ms == b->to_ms;
}

/* An account's status as the wire carries it: "" is written as "active". */
static const char *status_on_wire(const char *status)
{
    return status[0] ? status : PROTO_ACCOUNT_STATUS_ACTIVE;
}

static bool account_equal(const proto_account_t *x, const proto_account_t *y)
{
    return STR_EQ(x->id, y->id) && STR_EQ(x->name, y->name) && STR_EQ(x->currency, y->currency) &&
           x->balance_minor == y->balance_minor && x->held_minor == y->held_minor &&
           x->settlement == y->settlement && STR_EQ(x->owner, y->owner) &&
           strncmp(status_on_wire(x->status), status_on_wire(y->status), sizeof x->status) == 0 &&
           x->overdraft_limit_minor == y->overdraft_limit_minor;
}

static bool row_equal(const proto_ledger_row_t *x, const proto_ledger_row_t *y)
{
    return x->seq == y->seq && STR_EQ(x->account, y->account) && STR_EQ(x->transfer, y->transfer) &&
           STR_EQ(x->kind, y->kind) && x->amount_minor == y->amount_minor &&
           x->balance_after_minor == y->balance_after_minor &&
           x->held_after_minor == y->held_after_minor && x->ts_ms == y->ts_ms &&
           STR_EQ(x->memo, y->memo);
}

static bool hold_equal(const proto_hold_t *x, const proto_hold_t *y)
{
    return STR_EQ(x->transfer, y->transfer) && x->amount_minor == y->amount_minor &&
           x->kind == y->kind && x->capture == y->capture && x->created_ms == y->created_ms &&
           x->expires_at_ms == y->expires_at_ms;
}

static bool account_reply_equal(const proto_account_reply_t *a, const proto_account_reply_t *b)
{
    if (a->status != b->status || !STR_EQ(a->code, b->code) || !STR_EQ(a->reason, b->reason) ||
        a->account_count != b->account_count || a->entry_count != b->entry_count ||
        a->hold_count != b->hold_count || !STR_EQ(a->next, b->next))
        return false;
    for (uint32_t i = 0; i < a->account_count; i++)
        if (!account_equal(&a->accounts[i], &b->accounts[i]))
            return false;
    for (uint32_t i = 0; i < a->entry_count; i++)
        if (!row_equal(&a->entries[i], &b->entries[i]))
            return false;
    for (uint32_t i = 0; i < a->hold_count; i++)
        if (!hold_equal(&a->holds[i], &b->holds[i]))
            return false;
    return true;
}

bool proto_msg_equal(const proto_msg_t *a, const proto_msg_t *b)
{
    assert(a && b);
    if (a->v != b->v || !STR_EQ(a->origin, b->origin) || a->seq != b->seq || a->type != b->type ||
        !STR_EQ(a->corr, b->corr) || !STR_EQ(a->cause, b->cause) || a->ts_ms != b->ts_ms)
        return false;
    switch (a->type) {
    case PROTO_TRANSFER_REQUESTED:
    case PROTO_FUNDS_RESERVED:
    case PROTO_TRANSFER_SETTLED:
    case PROTO_TRANSFER_AUTHORIZED:
        return transfer_equal(&a->body.transfer, &b->body.transfer);
    case PROTO_TRANSFER_CAPTURE:
    case PROTO_TRANSFER_VOID:
        return action_equal(&a->body.action, &b->body.action);
    case PROTO_FRAUD_APPROVED:
    case PROTO_FRAUD_REJECTED:
    case PROTO_TRANSFER_REJECTED_FRAUD:
        return verdict_equal(&a->body.verdict, &b->body.verdict);
    case PROTO_TRANSFER_DECLINED:
    case PROTO_TRANSFER_VOIDED:
    case PROTO_TRANSFER_EXPIRED:
        return STR_EQ(a->body.declined.transfer, b->body.declined.transfer) &&
               STR_EQ(a->body.declined.code, b->body.declined.code) &&
               STR_EQ(a->body.declined.reason, b->body.declined.reason);
    case PROTO_ACK:
        return STR_EQ(a->body.reply.of, b->body.reply.of);
    case PROTO_NACK:
        return STR_EQ(a->body.reply.of, b->body.reply.of) &&
               STR_EQ(a->body.reply.code, b->body.reply.code) &&
               STR_EQ(a->body.reply.reason, b->body.reply.reason);
    case PROTO_ACCOUNT_QUERY:
        return query_equal(&a->body.query, &b->body.query);
    case PROTO_ACCOUNT_REPLY:
        return account_reply_equal(&a->body.account_reply, &b->body.account_reply);
    default:
        return true;
    }
}

/*  accounts_step.c: the shared pieces of the saga's steps (accounts_step.h). */
#include "accounts_step.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "accounts_book.h"
#include "accounts_holds.h"
#include "money.h"
#include "text.h"

ledger_err_t accounts_step_refuse(accounts_decision_t *d, const char *code, const char *fmt, ...)
{
    assert(d && code && fmt);
    d->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->reason, sizeof d->reason, fmt, ap);
    va_end(ap);
    return LEDGER_OK;
}

void accounts_step_msg_start(proto_msg_t *out, proto_type_t type, const char *transfer)
{
    assert(out && transfer);
    memset(out, 0, sizeof *out);
    out->v = PROTO_VERSION;
    out->type = type;
    text_copy(out->corr, sizeof out->corr, transfer);
}

ledger_err_t accounts_step_advance(node_ctx_t *ctx, const proto_msg_t *cause,
                                   accounts_transfer_t *tr, accounts_transfer_state_t state,
                                   proto_msg_t *out, const char *const *peers, size_t peer_count)
{
    assert(ctx && ctx->txn && tr && out);
    ledger_err_t err = node_ctx_emit(ctx, peers, peer_count, out, cause);
    if (err)
        return err;
    assert(out->seq > 0);
    if (state == ACCOUNTS_TRANSFER_RESERVED)
        tr->reserved_seq = out->seq;
    accounts_transfer_state_t before = tr->state;
    uint64_t before_due_ms = accounts_holds_due_ms(tr);
    tr->state = state;
    tr->updated_ms = ctx->now_ms;
    err = accounts_holds_follow(ctx->txn, accounts_book_reserved(ctx), tr, before, before_due_ms);
    return err ? err : accounts_record_transfer_put(ctx->txn, tr);
}

ledger_err_t accounts_step_finish(node_ctx_t *ctx, const proto_msg_t *cause,
                                  accounts_transfer_t *tr, accounts_transfer_state_t state,
                                  proto_type_t type, const char *code, const char *reason)
{
    assert(code && reason);
    if (type == PROTO_TRANSFER_DECLINED)
        text_copy(tr->code, sizeof tr->code, code);
    proto_msg_t out;
    accounts_step_msg_start(&out, type, tr->id);
    text_copy(out.body.declined.transfer, sizeof out.body.declined.transfer, tr->id);
    text_copy(out.body.declined.code, sizeof out.body.declined.code, code);
    text_copy(out.body.declined.reason, sizeof out.body.declined.reason, reason);
    const char *peers[] = {NODE_PEER_GATEWAY};
    return accounts_step_advance(ctx, cause, tr, state, &out, peers, ACCOUNTS_COUNT_OF(peers));
}

ledger_err_t accounts_step_entry(node_ctx_t *ctx, accounts_record_t *acct, const char *transfer,
                                 const char *kind, int64_t balance_delta_minor,
                                 int64_t held_delta_minor)
{
    ledger_err_t err =
        accounts_book_append(ctx, acct, transfer, kind, balance_delta_minor, held_delta_minor);
    return err ? err : accounts_book_save(ctx, acct, false);
}

ledger_err_t accounts_step_load_party(node_ctx_t *ctx, const char *id, accounts_record_t *rec)
{
    ledger_err_t err = accounts_book_load(ctx, id, rec);
    return err == LEDGER_E_NOT_FOUND ? LEDGER_E_CORRUPT : err;
}

ledger_err_t accounts_step_release(node_ctx_t *ctx, const accounts_transfer_t *tr, const char *kind)
{
    assert(tr && kind && accounts_holds_open_state(tr->state));
    accounts_record_t from;
    ledger_err_t err = accounts_step_load_party(ctx, tr->from, &from);
    if (err)
        return err;
    int64_t from_held;
    if (from.held_minor < tr->amount_minor ||
        money_sub(from.held_minor, tr->amount_minor, &from_held))
        return LEDGER_E_CORRUPT; /* the hold this transfer placed is gone */
    from.held_minor = from_held;
    return accounts_step_entry(ctx, &from, tr->id, kind, 0, -tr->amount_minor);
}

ledger_err_t accounts_step_settle(node_ctx_t *ctx, const proto_msg_t *cause,
                                  accounts_transfer_t *tr, int64_t captured, const char *kind)
{
    assert(tr && kind && captured > 0 && captured <= tr->amount_minor);
    accounts_record_t from, to;
    ledger_err_t err = accounts_step_load_party(ctx, tr->from, &from);
    if (!err)
        err = accounts_step_load_party(ctx, tr->to, &to);
    if (err)
        return err;
    if (from.held_minor < tr->amount_minor)
        return LEDGER_E_CORRUPT; /* the hold this transfer placed is gone */
    int64_t from_balance, from_held, to_balance;
    if (money_sub(from.balance_minor, captured, &from_balance) ||
        money_sub(from.held_minor, tr->amount_minor, &from_held) ||
        money_add(to.balance_minor, captured, &to_balance))
        return LEDGER_E_OVERFLOW;
    from.balance_minor = from_balance;
    from.held_minor = from_held;
    to.balance_minor = to_balance;
    err = accounts_step_entry(ctx, &from, tr->id, kind, -captured, -tr->amount_minor);
    if (!err)
        err = accounts_step_entry(ctx, &to, tr->id, ACCOUNTS_KIND_CREDIT, captured, 0);
    if (err)
        return err;
    tr->captured_minor = captured;
    proto_msg_t out;
    accounts_step_msg_start(&out, PROTO_TRANSFER_SETTLED, tr->id);
    accounts_step_to_proto(tr, &out.body.transfer);
    out.body.transfer.captured_minor = captured;
    const char *peers[] = {NODE_PEER_GATEWAY};
    return accounts_step_advance(ctx, cause, tr, ACCOUNTS_TRANSFER_SETTLED, &out, peers,
                                 ACCOUNTS_COUNT_OF(peers));
}

void accounts_step_to_proto(const accounts_transfer_t *tr, proto_transfer_t *out)
{
    assert(tr && out);
    memset(out, 0, sizeof *out);
    text_copy(out->transfer, sizeof out->transfer, tr->id);
    text_copy(out->from, sizeof out->from, tr->from);
    text_copy(out->to, sizeof out->to, tr->to);
    out->amount_minor = tr->amount_minor;
    text_copy(out->currency, sizeof out->currency, tr->currency);
    text_copy(out->reference, sizeof out->reference, tr->reference);
    text_copy(out->principal, sizeof out->principal, tr->principal);
    out->kind = tr->kind;
    out->capture = (proto_capture_t)tr->capture;
    out->expires_at_ms = tr->expires_at_ms;
    text_copy(out->refund_of, sizeof out->refund_of, tr->refund_of);
    out->operator_scope = tr->operator_scope;
}

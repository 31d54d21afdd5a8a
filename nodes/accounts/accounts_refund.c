/*  accounts_refund.c: refund decisions and the original's refunded amount
    (accounts_refund.h). */
#include "accounts_refund.h"

#include <assert.h>
#include <string.h>

#include "money.h"

int64_t accounts_refund_captured(const accounts_transfer_t *tr)
{
    assert(tr);
    return tr->captured_minor > 0 ? tr->captured_minor : tr->amount_minor;
}

/* Whether `t` is the reverse of the settled plain transfer `o`. */
static bool refund_fits(const proto_transfer_t *t, const accounts_transfer_t *o)
{
    return o->state == ACCOUNTS_TRANSFER_SETTLED && o->kind == PROTO_TRANSFER_KIND_TRANSFER &&
           strcmp(t->from, o->to) == 0 && strcmp(t->to, o->from) == 0 &&
           strcmp(t->currency, o->currency) == 0;
}

ledger_err_t accounts_refund_decide(node_ctx_t *ctx, const proto_transfer_t *t,
                                    accounts_transfer_t *original_out, accounts_decision_t *d)
{
    assert(ctx && ctx->txn && t && original_out && d);
    assert(t->kind == PROTO_TRANSFER_KIND_REFUND);
    ledger_err_t err = accounts_record_transfer_get(ctx->txn, t->refund_of, original_out);
    if (err == LEDGER_E_NOT_FOUND || (!err && !refund_fits(t, original_out)))
        return accounts_step_refuse(
            d, PROTO_DECLINE_NOT_REFUNDABLE,
            "'%s' is not a settled transfer from '%s' to '%s' in %s that can be refunded",
            t->refund_of, t->to, t->from, t->currency);
    if (err)
        return err;
    int64_t captured = accounts_refund_captured(original_out), after;
    if (money_add(original_out->refunded_minor, t->amount_minor, &after) || after > captured) {
        char cap[MONEY_TEXT_MAX], done[MONEY_TEXT_MAX];
        return accounts_step_refuse(d, PROTO_DECLINE_EXCEEDS_REFUNDABLE,
                                    "transfer '%s' captured %s %s, of which %s is already refunded "
                                    "or being refunded",
                                    t->refund_of, money_format(captured, cap), t->currency,
                                    money_format(original_out->refunded_minor, done));
    }
    original_out->refunded_minor = after;
    return LEDGER_OK;
}

ledger_err_t accounts_refund_reserve(node_ctx_t *ctx, const accounts_transfer_t *original)
{
    assert(ctx && ctx->txn && original);
    return accounts_record_transfer_put(ctx->txn, original);
}

ledger_err_t accounts_refund_give_back(node_ctx_t *ctx, const accounts_transfer_t *tr)
{
    assert(ctx && ctx->txn && tr);
    if (tr->kind != PROTO_TRANSFER_KIND_REFUND)
        return LEDGER_OK;
    accounts_transfer_t original;
    ledger_err_t err = accounts_record_transfer_get(ctx->txn, tr->refund_of, &original);
    if (err == LEDGER_E_NOT_FOUND)
        return LEDGER_OK;
    if (err)
        return err;
    if (original.refunded_minor < tr->amount_minor)
        return LEDGER_E_CORRUPT;
    original.refunded_minor -= tr->amount_minor;
    return accounts_record_transfer_put(ctx->txn, &original);
}

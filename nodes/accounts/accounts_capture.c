/*  accounts_capture.c: transfer.capture and transfer.void (accounts_capture.h). */
#include "accounts_capture.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "accounts_book.h"
#include "accounts_record.h"
#include "accounts_step.h"
#include "accounts_timers.h"
#include "money.h"
#include "text.h"

/* The principal may act on the authorisation: the owner of `from`, or an operator. */
static ledger_err_t check_actor(node_ctx_t *ctx, const proto_action_t *a,
                                const accounts_transfer_t *tr, char *why, size_t why_size)
{
    if (a->operator_scope && a->principal[0])
        return LEDGER_OK;
    accounts_record_t from;
    ledger_err_t err = accounts_step_load_party(ctx, tr->from, &from);
    if (err)
        return err;
    if (a->principal[0] && from.owner[0] && strcmp(from.owner, a->principal) == 0)
        return LEDGER_OK;
    if (why)
        snprintf(why, why_size, "'%s' may not act on transfer %s: it does not own account '%s'",
                 a->principal, tr->id, tr->from);
    return LEDGER_E_INVALID;
}

static ledger_err_t void_it(node_ctx_t *ctx, const proto_msg_t *msg, accounts_transfer_t *tr)
{
    ledger_err_t err = accounts_step_release(ctx, tr, ACCOUNTS_KIND_VOID);
    if (err)
        return err;
    char reason[PROTO_REASON_MAX + 1];
    text_format(reason, sizeof reason, "voided by %s", msg->body.action.principal);
    return accounts_step_finish(ctx, msg, tr, ACCOUNTS_TRANSFER_VOIDED, PROTO_TRANSFER_VOIDED,
                                PROTO_CODE_VOIDED, reason);
}

ledger_err_t accounts_capture_apply(node_ctx_t *ctx, const proto_msg_t *msg, char *why,
                                    size_t why_size)
{
    assert(ctx && ctx->txn && msg);
    if (msg->type != PROTO_TRANSFER_CAPTURE && msg->type != PROTO_TRANSFER_VOID)
        return LEDGER_E_INVALID;
    const proto_action_t *a = &msg->body.action;
    accounts_transfer_t tr;
    ledger_err_t err = accounts_record_transfer_get(ctx->txn, a->transfer, &tr);
    if (err == LEDGER_E_NOT_FOUND)
        return LEDGER_OK; /* nothing authorised under that id: nothing to do */
    if (err)
        return err;
    if (tr.state != ACCOUNTS_TRANSFER_AUTHORIZED)
        return LEDGER_OK; /* guard: not authorised (yet, or any more) */
    if (tr.expires_at_ms && ctx->now_ms >= tr.expires_at_ms)
        return accounts_timers_expire(ctx, &tr); /* expired before its timer ran: expiry wins */
    err = check_actor(ctx, a, &tr, why, why_size);
    if (err)
        return err;
    if (msg->type == PROTO_TRANSFER_VOID)
        return void_it(ctx, msg, &tr);
    if (a->amount_minor <= 0 || a->amount_minor > tr.amount_minor) {
        if (why)
            snprintf(why, why_size, "capture of %lld is not within 1 .. %lld authorised",
                     (long long)a->amount_minor, (long long)tr.amount_minor);
        return LEDGER_E_INVALID;
    }
    return accounts_step_settle(ctx, msg, &tr, a->amount_minor, ACCOUNTS_KIND_CAPTURE);
}

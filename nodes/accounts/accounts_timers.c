/*  accounts_timers.c: risk timeouts and expiries (accounts_timers.h). */
#include "accounts_timers.h"

#include <assert.h>
#include <stdlib.h>

#include "accounts_book.h"
#include "accounts_holds.h"
#include "accounts_record.h"
#include "accounts_refund.h"
#include "accounts_step.h"
#include "text.h"

static ledger_err_t time_out(node_ctx_t *ctx, accounts_transfer_t *tr)
{
    ledger_err_t err = accounts_step_release(ctx, tr, ACCOUNTS_KIND_RELEASE);
    if (!err)
        err = accounts_refund_give_back(ctx, tr);
    if (err)
        return err;
    char reason[PROTO_REASON_MAX + 1];
    text_format(reason, sizeof reason,
                "no fraud verdict within the risk timeout; the hold is released");
    return accounts_step_finish(ctx, NULL, tr, ACCOUNTS_TRANSFER_TIMED_OUT, PROTO_TRANSFER_DECLINED,
                                PROTO_DECLINE_RISK_UNAVAILABLE, reason);
}

ledger_err_t accounts_timers_expire(node_ctx_t *ctx, accounts_transfer_t *tr)
{
    ledger_err_t err = accounts_step_release(ctx, tr, ACCOUNTS_KIND_EXPIRE);
    if (err)
        return err;
    char reason[PROTO_REASON_MAX + 1];
    text_format(reason, sizeof reason, "the authorisation expired at %llu ms",
                (unsigned long long)tr->expires_at_ms);
    return accounts_step_finish(ctx, NULL, tr, ACCOUNTS_TRANSFER_EXPIRED, PROTO_TRANSFER_EXPIRED,
                                PROTO_CODE_EXPIRED, reason);
}

/* The timer (due_ms, id): its transfer ends if it is still in the state the timer was for. */
static ledger_err_t fire(node_ctx_t *ctx, uint64_t due_ms, const char *id)
{
    accounts_transfer_t tr;
    ledger_err_t err = accounts_record_transfer_get(ctx->txn, id, &tr);
    if (err && err != LEDGER_E_NOT_FOUND)
        return err;
    if (err || accounts_holds_due_ms(&tr) != due_ms) { /* stale: its key, or its entry */
        accounts_reserved_t *reserved = accounts_book_reserved(ctx);
        bool was_there = false;
        err = reserved && (err || tr.state != ACCOUNTS_TRANSFER_RESERVED)
                  ? accounts_reserved_remove(reserved, id, &was_there, NULL)
                  : LEDGER_OK;
        return err ? err : accounts_holds_timer_del(ctx->txn, due_ms, id);
    }
    if (tr.state == ACCOUNTS_TRANSFER_RESERVED)
        return time_out(ctx, &tr);
    return accounts_timers_expire(ctx, &tr);
}

ledger_err_t accounts_timers_run(node_ctx_t *ctx, size_t max, size_t *fired_out,
                                 uint64_t *next_due_ms_out)
{
    assert(ctx && ctx->txn && max > 0 && fired_out && next_due_ms_out);
    *fired_out = 0;
    *next_due_ms_out = 0;
    char(*ids)[PROTO_TRANSFER_ID_MAX + 1] = malloc(max * sizeof *ids);
    uint64_t *due = malloc(max * sizeof *due);
    size_t count = 0;
    ledger_err_t err = ids && due ? LEDGER_OK : LEDGER_E_NOMEM;
    if (!err)
        err = accounts_holds_due(ctx->txn, ctx->now_ms, max, ids, due, &count, next_due_ms_out);
    accounts_reserved_t *reserved = accounts_book_reserved(ctx);
    if (!err && reserved) { /* the volatile risk deadlines (accounts_reserved.h) */
        size_t more = 0;
        uint64_t next_in_memory = 0;
        accounts_reserved_due(reserved, ctx->now_ms, max - count, ids + count, due + count, &more,
                              &next_in_memory);
        count += more;
        if (next_in_memory && (!*next_due_ms_out || next_in_memory < *next_due_ms_out))
            *next_due_ms_out = next_in_memory;
    }
    for (size_t i = 0; !err && i < count; i++) {
        err = fire(ctx, due[i], ids[i]);
        if (!err)
            (*fired_out)++;
    }
    free(ids);
    free(due);
    return err;
}

/*  accounts_refund.h: refunds as the accounts node sees them (issue 21).

    A refund is a transfer.requested of kind refund, from the original's
    `to` back to its `from`, naming the original in refund_of; it runs the
    saga like any transfer (hold on `from`, fraud, settle). What is special
    is the bookkeeping on the original's record: refunded_minor, the sum of
    its refunds that are reserved or settled, never above the amount it
    captured.

      accepted (reserved)      original.refunded_minor += amount
      fraud.rejected, timeout  original.refunded_minor -= amount (given back)
      settled                  unchanged (a settled refund stays counted)

    So two refunds racing for the same money are decided in the node's
    order: the first to be reserved takes it, the next one is declined
    exceeds_refundable. A declined refund never touched it.

    Decline codes (after currency_mismatch, before the funds; accounts_saga.h):
      not_refundable      refund_of does not name a settled transfer of kind
                          transfer (unknown, pruned, not settled, a deposit,
                          a refund), or from / to / currency are not its
                          reverse
      exceeds_refundable  original.refunded_minor + amount > its captured
                          amount (captured_minor; a record settled before
                          format 6 captured its whole amount)

    Ownership: a refund comes out of the payee's account, so the usual rule
    (the principal owns `from`) already says "the owner of `to` of the
    original"; with operator_scope the gateway has checked an operator and
    the ownership check is skipped (accounts_saga.c, decide_owner).

    Pure logic over ctx->txn (accounts_step.h). Errors: LEDGER_E_CORRUPT (a
    stored record does not parse or does not add up), store errors.
    Thread: the one that owns the transaction.
*/
#ifndef LEDGER_ACCOUNTS_REFUND_H
#define LEDGER_ACCOUNTS_REFUND_H

#include "accounts_record.h"
#include "accounts_step.h"
#include "ledger_err.h"
#include "node_ctx.h"
#include "proto.h"

/* The amount a settled transfer moved: captured_minor, or amount_minor for a record without it. */
int64_t accounts_refund_captured(const accounts_transfer_t *tr);

/*  Decides the refund `t` (kind refund) without writing: d->code is set on
    a decline (above); on acceptance *original_out is the original with
    refunded_minor already raised by the amount (store it with
    accounts_refund_reserve). Store errors, LEDGER_E_CORRUPT. */
ledger_err_t accounts_refund_decide(node_ctx_t *ctx, const proto_transfer_t *t,
                                    accounts_transfer_t *original_out, accounts_decision_t *d);

/* Stores the original decided by accounts_refund_decide. Store errors. */
ledger_err_t accounts_refund_reserve(node_ctx_t *ctx, const accounts_transfer_t *original);

/*  The refund `tr` (a refund whose hold is being released without settling)
    gives its amount back to its original's refunded_minor. Nothing for a
    transfer of another kind, or an original no longer stored (pruned: it
    can no longer be refunded anyway). LEDGER_E_CORRUPT if the original
    counts less than the amount. Store errors. */
ledger_err_t accounts_refund_give_back(node_ctx_t *ctx, const accounts_transfer_t *tr);

#endif

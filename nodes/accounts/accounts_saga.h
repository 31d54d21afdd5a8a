/*  accounts_saga.h: the accounts side of the transfer saga: the handlers of
    transfer.requested, fraud.approved and fraud.rejected, and the entry of
    every saga message this node takes (transfer.capture and transfer.void:
    accounts_capture.h; the node's own deadlines: accounts_timers.h;
    refunds: accounts_refund.h; shared step pieces: accounts_step.h).

    Pure logic over the store: every handler reads and writes only through
    the caller's write transaction (ctx->txn) and the node's balance cache
    that moves with it (ctx->state, accounts_book.h), and sends messages
    only through node_ctx_emit() (the outbox, same transaction). No sockets,
    clocks or logs: the time is ctx->now_ms. The runtime in nodes/common/
    owns the transaction, commits it, and acks / nacks the inbound message.

    The saga, as seen from here (DESIGN.md):

      transfer.requested -> validate; decline (transfer.declined to gateway)
                            or hold the amount on the source and send
                            funds.reserved to fraud and gateway
      fraud.approved     -> reserved, capture auto: debit source, credit
                            destination, transfer.settled (captured_minor =
                            amount) to gateway
                            reserved, capture manual: state authorized, the
                            hold stays, transfer.authorized to gateway (its
                            expiry replaces the risk deadline)
      fraud.rejected     -> reserved: release the hold,
                            transfer.rejected_fraud to gateway
      transfer.capture / transfer.void -> authorized: accounts_capture.h
      (no message)       -> reserved past its risk deadline, authorized past
                            its expiry: accounts_timers.h

    Risk deadline (issue 21): a reservation records risk_deadline_ms = now +
    limits->risk_timeout_ms (--risk-timeout-ms); without a verdict by then
    the node releases the hold itself (state timed_out, transfer.declined
    risk_unavailable), and a late verdict finds it final.

    Verdict cause (issue 19): the transfer record keeps the seq of the
    funds.reserved this node emitted for it (reserved_seq,
    accounts_record.h). A verdict for a reserved transfer is applied only
    if its envelope `cause` is "<ctx->node_name>/<reserved_seq>"; for a
    record without reserved_seq (0: reserved by a build before accounts
    format 4, its funds.reserved gone from the outbox when migration 3 -> 4
    ran) only the origin is checked. Anything else is LEDGER_E_INVALID with
    why "verdict cites cause X, not accounts/N" (nothing written; the
    runtime nacks it and the fraud node dead-letters it for an operator).
    The check comes after the saga guard: a verdict for an unknown transfer
    or one past RESERVED changes nothing and is acked, as before, and a
    duplicate id never reaches the handler (the runtime's `seen`).

    Retention (accounts_prune.h): the record of a finished transfer is
    deleted past --saga-retention-ms. A transfer.requested for a transfer
    with no record, created at or before the pruned floor, may be a late
    redelivery of one whose record is gone: it is LEDGER_E_INVALID with why
    "transfer X is older than the saga retention: a late redelivery,
    refused" (nothing written; nacked, dead-lettered by the gateway).

    Saga guard: every transfer has one record in STORE_DB_TRANSFERS
    (accounts_record.h) whose state only moves forward (reserved -> settled |
    released | timed_out | authorized; authorized -> settled | voided |
    expired; declined is final from the start). A message for a step the
    transfer is already past (a redelivery, a replay, a late or
    contradictory verdict) changes nothing and returns LEDGER_OK, so the
    runtime acks it.

    Errors and writes: all validation happens before the first write, so a
    business refusal never leaves partial writes. A store error returned in
    the middle of a handler (LEDGER_E_MAP_FULL, LEDGER_E_STORE, ...) may
    leave some writes in the transaction: the caller must abort it and roll
    the cache back (the runtime always does both on any error).

    Kinds (body.kind, issue 18): a transfer moves money between two
    customer accounts; a deposit comes from the settlement account of its
    currency (proto_settlement_id) into an account, a withdrawal goes from
    an account to it. All three run the same saga (hold on `from`, fraud,
    settle); the hold of a deposit sits on the settlement account.

    Decline codes (transfer.declined body.code, PROTO_DECLINE_* of proto.h),
    checked in this order, all before any write:
      invalid_amount      amount <= 0 (never passes proto validation; kept
                          so the handler does not depend on it)
      same_account        from == to
      unknown_currency    the currency is not in the table (core/currency.h)
      invalid_kind        the kind does not match the accounts: a deposit
                          must come from the settlement account of its
                          currency, a withdrawal must go to it, a transfer
                          or a refund touches no settlement account
      deposit_too_large   a deposit over limits->deposit_max_minor
      unknown_account     from or to does not exist
      forbidden_account   transfer, withdrawal, refund: body.principal is not
                          the owner of `from` (or is "", a message from
                          before principals); deposit, and a refund with
                          body.operator: body.principal is "" (the gateway
                          checked the operator's scope)
      currency_mismatch   transfer currency differs from either account's
      not_refundable,     a refund: accounts_refund.h
      exceeds_refundable
      settlement_limit    a deposit would take the settlement account's
                          available (balance - held) below
                          -limits->settlement_limit_minor
      account_closed      from or to is closed (accounts_controls.h)
      account_frozen      from is frozen (credits to a frozen account pass)
      insufficient_funds  not a deposit: available (balance - held) plus
                          the source's overdraft limit < amount
      amount_overflow     crediting the destination would overflow int64

    Thread: the one thread that owns the transaction.
*/
#ifndef LEDGER_ACCOUNTS_SAGA_H
#define LEDGER_ACCOUNTS_SAGA_H

#include <stddef.h>
#include <stdint.h>
#include "ledger_err.h"
#include "node_ctx.h"
#include "proto.h"

/* Defaults of the accounts node's --settlement-limit-minor and --deposit-max-minor. */
#define ACCOUNTS_SETTLEMENT_LIMIT_DEFAULT_MINOR 1000000000000ll /* 10^12 per currency */
#define ACCOUNTS_DEPOSIT_MAX_DEFAULT_MINOR 10000000000ll        /* 10^10 */

/* The limits on money coming in, and how long a hold waits for fraud (node flags;
   accounts_main.c). */
typedef struct {
    int64_t settlement_limit_minor; /* >= 0: a settlement account goes no lower than minus this */
    int64_t deposit_max_minor;      /* > 0: the largest one deposit */
    uint64_t risk_timeout_ms;       /* > 0: --risk-timeout-ms, a reservation's risk deadline */
} accounts_limits_t;

/* The defaults above. */
accounts_limits_t accounts_saga_limits_default(void);

/*  Applies one saga message (see the top of this file): transfer.requested,
    fraud.approved, fraud.rejected, transfer.capture or transfer.void. Writes effects and emits
   through ctx. Returns LEDGER_OK when the message was applied or changed nothing by design (known
   transfer, verdict for an unknown transfer or for one that is not reserved; the runtime still acks
   it). Errors: LEDGER_E_INVALID for any other message type, or a transfer.requested without a
   transfer id or a valid currency (nothing written; the runtime nacks it), LEDGER_E_INVALID with a
   reason in `why` for a transfer.requested past the pruned floor (above), a verdict whose cause is
   not the transfer's funds.reserved (above), or a capture or void refused (accounts_capture.h;
   nothing written), LEDGER_E_CORRUPT if a stored record does not parse or a reserved transfer's
   account is missing, LEDGER_E_OVERFLOW if settling would overflow a balance (credits since the
   reservation; nothing written, the message goes to dead letters for an operator), store and
   node_ctx_emit errors (the caller aborts the transaction). A NULL ctx, transaction or message is
   asserted. `limits`: the deposit limits, NULL for accounts_saga_limits_default(). `why`
    (`why_size` bytes, may be NULL) gets the reason of a refused verdict;
    it is left as it was otherwise. */
ledger_err_t accounts_saga_apply(node_ctx_t *ctx, const proto_msg_t *msg,
                                 const accounts_limits_t *limits, char *why, size_t why_size);

#endif

/*  accounts_saga.h: the accounts side of the transfer saga: the handlers of
    transfer.requested, fraud.approved and fraud.rejected.

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
      fraud.approved     -> reserved: debit source, credit destination,
                            transfer.settled to gateway
      fraud.rejected     -> reserved: release the hold,
                            transfer.rejected_fraud to gateway

    Saga guard: every transfer has one record in STORE_DB_TRANSFERS
    (accounts_record.h) whose state only moves forward (reserved -> settled |
    released; declined is final from the start). A message for a step the
    transfer is already past (a redelivery, a replay, a late or
    contradictory verdict) changes nothing and returns LEDGER_OK, so the
    runtime acks it.

    Errors and writes: all validation happens before the first write, so a
    business refusal never leaves partial writes. A store error returned in
    the middle of a handler (LEDGER_E_MAP_FULL, LEDGER_E_STORE, ...) may
    leave some writes in the transaction: the caller must abort it and roll
    the cache back (the runtime always does both on any error).

    Decline codes (transfer.declined body.code), checked in this order:
      same_account        from == to
      unknown_account     from or to does not exist
      funding_account     from or to is the funding account (it only pays
                          opening deposits; users cannot move money with it)
      currency_mismatch   transfer currency differs from either account's
      insufficient_funds  available (balance - held) of the source < amount
      amount_overflow     crediting the destination would overflow int64
      invalid_amount      amount <= 0 (never passes proto validation; kept
                          so the handler does not depend on it)

    Thread: the one thread that owns the transaction.
*/
#ifndef LEDGER_ACCOUNTS_SAGA_H
#define LEDGER_ACCOUNTS_SAGA_H

#include "ledger_err.h"
#include "node_ctx.h"
#include "proto.h"

/*  Applies one saga message (see the top of this file): transfer.requested,
    fraud.approved or fraud.rejected. Writes effects and emits through ctx.
    Returns LEDGER_OK when the message was applied or changed nothing by
    design (known transfer, verdict for an unknown transfer or for one that
    is not reserved; the runtime still acks it).
    Errors: LEDGER_E_INVALID for any other message type, or a
    transfer.requested without a transfer id or a valid currency (nothing
    written; the runtime nacks it), LEDGER_E_CORRUPT if a stored record
    does not parse or a reserved transfer's account is missing,
    LEDGER_E_OVERFLOW if settling would overflow a balance (credits since
    the reservation; nothing written, the message goes to dead letters for
    an operator), store and node_ctx_emit errors (the caller aborts the
    transaction). A NULL ctx, transaction or message is asserted. */
ledger_err_t accounts_saga_apply(node_ctx_t *ctx, const proto_msg_t *msg);

#endif

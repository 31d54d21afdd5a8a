/*  accounts.h: the accounts node's business logic: balances, holds, the
    immutable ledger, and the accounts side of the transfer saga. This
    header is the node's contract as a whole: it includes the module
    headers below, each of which documents its own functions, errors and
    threads.

      accounts_record.h  the account and transfer (saga state) records:
                         formats, encode / decode, get / put
      accounts_book.h    an account's newest value (the balance cache, then
                         the table), saving it, its ledger entries and
                         their kinds
      accounts_saga.h    transfer.requested, fraud.approved, fraud.rejected
                         (accounts_saga_apply); the decline codes; the
                         verdict cause rule (a verdict must cite the
                         transfer's funds.reserved)
      accounts_capture.h transfer.capture, transfer.void (issue 21)
      accounts_refund.h  refunds: the original's refunded amount
      accounts_timers.h  the node's own deadlines: expiry, risk timeout
      accounts_holds.h   the open-holds and timers indexes
      accounts_reserved.h the reserved transfers' holds and risk deadlines,
                         in memory (owned by the balance cache)
      accounts_kinds.h   the kinds of ledger entries
      accounts_step.h    the pieces every saga step is made of
      accounts_open.h    the funding account, opening accounts with their
                         deposit, the demo accounts
      accounts_query.h   account.query: list, get, ledger, open
      accounts_verify.h  the integrity check behind /ledger/verify
      accounts_prune.h   the retention of finished saga state, and the
                         pruned floor that refuses a late transfer.requested
      accounts_cache.h   the balances in memory and their checkpoints (the
                         node's ctx->state), the start-up replay

    Pure logic over the store: every function reads and writes only through
    the caller's transaction (ctx->txn) and the balance cache that moves
    with it (ctx->state), and sends messages only through node_ctx_emit() (the
    outbox, same transaction). No sockets, clocks or logs: the time is
    ctx->now_ms. The runtime in nodes/common/ owns the transaction, commits
    it, and acks / nacks the inbound message; accounts_main.c wires these
    functions to it.

    Errors and writes: all validation happens before the first write, so a
    business refusal never leaves partial writes. A store error returned in
    the middle of a handler (LEDGER_E_MAP_FULL, LEDGER_E_STORE, ...) may
    leave some writes in the transaction: the caller must abort it and roll
    the cache back (the runtime always does both on any error). A NULL
    context or transaction is a programmer error (asserted).

    Thread: functions are called by the one thread that owns the
    transaction (accounts_verify_ledger: any thread, its own read
    transaction; accounts_cache_stats: any thread).
*/
#ifndef LEDGER_ACCOUNTS_H
#define LEDGER_ACCOUNTS_H

#include "accounts_book.h"
#include "accounts_cache.h"
#include "accounts_capture.h"
#include "accounts_holds.h"
#include "accounts_open.h"
#include "accounts_prune.h"
#include "accounts_query.h"
#include "accounts_record.h"
#include "accounts_refund.h"
#include "accounts_saga.h"
#include "accounts_step.h"
#include "accounts_timers.h"
#include "accounts_verify.h"

#endif

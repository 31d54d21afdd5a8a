/*  accounts_query.h: answers account.query: list, get, an account's ledger,
    and open (accounts_open.h).

    Reads through ctx->txn and the node's dirty balances (ctx->state,
    accounts_book.h), so an answer sees every change of the transaction it
    runs in; only op open writes. Business outcomes are statuses with codes
    in the reply (ACCOUNTS_STATUS_*); errors are for bad queries and the
    store.

    Thread: the one thread that owns the transaction.
*/
#ifndef LEDGER_ACCOUNTS_QUERY_H
#define LEDGER_ACCOUNTS_QUERY_H

#include "ledger_err.h"
#include "node_ctx.h"
#include "proto.h"

/* Page size, in accounts or ledger entries, used when a query asks for limit 0; larger limits
   are cut to PROTO_PAGE_MAX. */
#define ACCOUNTS_PAGE_DEFAULT 50

/*  Answers an account.query in `reply` (zeroed first; type
    PROTO_ACCOUNT_REPLY, corr copied from the query; the caller fills the
    envelope id, ts and cause). Business outcomes are statuses with codes:
      list    200: accounts ordered by id after query.after, up to limit
              (0 -> ACCOUNTS_PAGE_DEFAULT, cut to PROTO_PAGE_MAX), funding
              account included (flagged); next = last id when more follow.
      get     200 one account; 404 not_found (also for ids that are not valid).
      ledger  200: the account's entries newest first with seq < cursor (0 =
              newest), up to limit; next = decimal seq of the last entry
              returned when more follow; 404 not_found; 400 invalid_cursor
              (not an entry of this account).
              Row amount_minor = balance_delta, or held_delta for hold/release.
      open    accounts_open_account's outcomes (201, 200, 409, 400), with the
              account on 201 and 200; query.amount_minor is the deposit.
              Creates the funding account if it is missing.
    reply arrays are calloc'd; the caller frees them with proto_msg_release()
    (also on error). Returns LEDGER_OK whenever `reply` holds an answer.
    Errors: LEDGER_E_INVALID if `query` is not an account.query or has an
    unknown op (nothing written), LEDGER_E_NOMEM, LEDGER_E_CORRUPT, store
    errors (the caller aborts the transaction and answers 500). A NULL ctx,
    transaction, query or reply is asserted. */
ledger_err_t accounts_query(node_ctx_t *ctx, const proto_msg_t *query, proto_msg_t *reply);

#endif

/*  accounts_query.h: answers account.query: list, get, an account's ledger,
    open (accounts_open.h), and issue 21's update (accounts_controls.h),
    balance_at and statement (accounts_history.h).

    Reads through ctx->txn and the node's dirty balances (ctx->state,
    accounts_book.h), so an answer sees every change of the transaction it
    runs in; only ops open and update write. Business outcomes are statuses with codes
    in the reply (ACCOUNTS_STATUS_*); errors are for bad queries and the
    store.

    Thread: the one thread that owns the transaction.
*/
#ifndef LEDGER_ACCOUNTS_QUERY_H
#define LEDGER_ACCOUNTS_QUERY_H

#include "accounts_record.h"
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
              Row amount_minor = balance_delta, or held_delta for an entry
              that moves only the held amount (hold, release, void, expire).
      open    accounts_open_account's outcomes (201, 200, 409, 400), with the
              account on 201 and 200; query.amount_minor is the deposit.
              Creates the funding account if it is missing.
      update  accounts_controls_update's outcomes: 200 + the account; 404
              not_found; 409 account_closed, account_not_empty; 400
              invalid (query.principal, status, overdraft_limit_minor).
      balance_at  200: the account with balance_minor / held_minor as of
              query.at_ms (after every entry with ts_ms <= at_ms; 0 and 0
              before its first); 404 not_found.
      statement   200: the account with balance_minor / held_minor = the
              opening values of this page, entries with from_ms <= ts_ms <
              to_ms and seq > cursor ascending (amounts as in ledger), up to
              limit; next = decimal seq of the last entry when more follow;
              404 not_found; 400 invalid_cursor (not an entry of this
              account), invalid (from_ms >= to_ms). Each page is one read
              of the ledger in this transaction; the ledger is append-only,
              so pages concatenate.
      holds   200: the account and its open holds (reserved and authorized
              transfers, accounts_holds_list) ordered by transfer id after
              query.after, up to limit; next = the last id when more
              follow; 404 not_found.
    reply arrays are calloc'd; the caller frees them with proto_msg_release()
    (also on error). Returns LEDGER_OK whenever `reply` holds an answer.
    Errors: LEDGER_E_INVALID if `query` is not an account.query or has an
    unknown op (nothing written), LEDGER_E_NOMEM, LEDGER_E_CORRUPT, store
    errors (the caller aborts the transaction and answers 500). A NULL ctx,
    transaction, query or reply is asserted. */
ledger_err_t accounts_query(node_ctx_t *ctx, const proto_msg_t *query, proto_msg_t *reply);

/* --- shared by the ops' files (accounts_query.c, accounts_query_history.c) --- */

/* Sets the reply's status, code and reason. */
void accounts_query_reply_status(proto_account_reply_t *r, uint32_t status, const char *code,
                                 const char *reason);
/* A 200 with `rec` as the reply's one account. LEDGER_E_NOMEM. */
ledger_err_t accounts_query_reply_account(proto_account_reply_t *r, const accounts_record_t *rec);
/* A page size: 0 -> ACCOUNTS_PAGE_DEFAULT, cut to PROTO_PAGE_MAX. */
uint32_t accounts_query_page_limit(uint32_t asked);
/*  Loads the account query->account names (its newest value). When there is none, `r` is the
    404 answer and LEDGER_E_NOT_FOUND comes back (the query itself succeeded). */
ledger_err_t accounts_query_load(node_ctx_t *ctx, const proto_query_t *q, accounts_record_t *rec,
                                 proto_account_reply_t *r);
/* A ledger entry as a reply row (amount: balance delta, or held delta for hold/release). */
void accounts_query_entry_row(const store_ledger_entry_t *e, proto_ledger_row_t *row);

/* The ops of accounts_query_history.c, answered into `r` as accounts_query says. */
ledger_err_t accounts_query_update(node_ctx_t *ctx, const proto_query_t *q,
                                   proto_account_reply_t *r);
ledger_err_t accounts_query_balance_at(node_ctx_t *ctx, const proto_query_t *q,
                                       proto_account_reply_t *r);
ledger_err_t accounts_query_statement(node_ctx_t *ctx, const proto_query_t *q,
                                      proto_account_reply_t *r);
/* The op of accounts_query_holds.c. */
ledger_err_t accounts_query_holds(node_ctx_t *ctx, const proto_query_t *q,
                                  proto_account_reply_t *r);

#endif

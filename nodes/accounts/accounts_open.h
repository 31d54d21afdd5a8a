/*  accounts_open.h: opening accounts: the settlement account of each
    currency, a new account for its owner with its opening deposit, and the
    demo accounts.

    Settlement accounts (issue 18): each currency has one, the outside world
    (the bank's account at its clearing bank). No principal owns it (owner
    ""); deposits come from it and withdrawals go to it, and it may go
    negative down to -settlement_limit (accounts_saga.h). The GBP one is the
    account "funding" of format 2: its id stays, the hash-chained ledger
    names it. proto_settlement_id maps a currency to its id, so more
    currencies are one line there.

    An opening deposit moves money from the funding account (which only
    pays deposits and goes negative) to the new account: two ledger entries
    of kind "open" (accounts_book.h), so the balances still sum to 0.
    Business refusals (bad id, name, currency or amount, an id taken) are
    results with an account.reply status and code, not errors; errors are
    for the store.

    Pure logic over ctx->txn and ctx->state (accounts_book.h): no sockets,
    clocks or logs; the time is ctx->now_ms. A NULL ctx or transaction is a
    programmer error (asserted).

    Thread: the one thread that owns the transaction.
*/
#ifndef LEDGER_ACCOUNTS_OPEN_H
#define LEDGER_ACCOUNTS_OPEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "accounts_record.h"
#include "ledger_err.h"
#include "node_ctx.h"
#include "proto.h"

/* The GBP settlement account, from which opening deposits were drawn (its id predates the name). */
#define ACCOUNTS_FUNDING_ID "funding"
#define ACCOUNTS_FUNDING_NAME "Settlement (GBP)"
/* Its name before format 3, which the migration to format 3 replaces. */
#define ACCOUNTS_FUNDING_NAME_V2 "Funding (opening deposits)"
/* Currency of the funding account (GBP's settlement account). Accounts open in any currency
   of the table (core/currency.h); the deposit comes from that currency's settlement account. */
#define ACCOUNTS_CURRENCY "GBP"

/* account.reply statuses (HTTP's meanings), of an open and of the queries. */
#define ACCOUNTS_STATUS_OK 200
#define ACCOUNTS_STATUS_CREATED 201 /* open: a new account was opened */
#define ACCOUNTS_STATUS_BAD_REQUEST 400
#define ACCOUNTS_STATUS_NOT_FOUND 404
#define ACCOUNTS_STATUS_CONFLICT 409
/* open, 409: the currency has no settlement account here (accounts_open_ensure_funding). */
#define ACCOUNTS_SETTLEMENT_UNAVAILABLE "settlement_unavailable"

/* True if `id` is the settlement account of some currency of the table. Pure. */
bool accounts_settlement_is(const char *id);

/* The outcome of accounts_open_account. */
typedef struct {
    uint32_t status;  /* ACCOUNTS_STATUS_* */
    const char *code; /* NULL on 200 and 201; a static string otherwise */
    char reason[PROTO_REASON_MAX + 1];
    accounts_record_t account; /* on 200 and 201 */
} accounts_open_result_t;

/*  Opens the account `id` named `name` in `currency`, owned by the principal
    `owner`, with an opening deposit of `deposit_minor` moved from the
    settlement account of `currency` (created if it is missing). Outcomes in *res:
      201 created, with the new account;
      200 the id exists with the same name, currency and owner: the account
          as it is now (no second deposit, the amount is not compared);
      409 account_exists (other name, currency or owner, or a settlement
          account's id);
      400 invalid_account_id (proto_account_id_valid_str), invalid_name
          (empty), invalid_owner (not a principal id: the account-id rule),
          unknown_currency (not in the currency table, core/currency.h),
          invalid_amount (< 0), amount_overflow (the funding account cannot
          pay it).
    Nothing is written unless the status is 201. Returns LEDGER_OK whenever
    *res holds an outcome; LEDGER_E_CORRUPT (a stored record does not parse,
    or the funding id names a user account), LEDGER_E_NOMEM, store errors
    (the caller aborts the transaction). */
ledger_err_t accounts_open_account(node_ctx_t *ctx, const char *id, const char *name,
                                   const char *currency, const char *owner, int64_t deposit_minor,
                                   accounts_open_result_t *res);

/*  Creates the settlement account of every currency of the table
    (proto_settlement_id: GBP's is ACCOUNTS_FUNDING_ID, named
    "Settlement (GBP)"; the others "Settlement (<code>)"), settlement =
    true, balance 0, if it is missing; none has a ledger entry of its own
    creation. The node calls it at every start (demo or not), so a currency
    added to the table gets its account.

    A currency whose settlement id is already a customer's account (opened
    under "funding-eur", say, before issue 21 gave EUR a settlement account:
    any id was free then) is left without one: its code goes into
    unavailable[] (up to unavailable_max; the arguments may be NULL, 0,
    NULL) for the node to log, that account stays an ordinary account
    (the saga goes by the record's settlement flag, not by the id), and
    opening an account, a deposit or a withdrawal in that currency is
    refused (ACCOUNTS_SETTLEMENT_UNAVAILABLE, accounts_saga.h). Nothing is
    rewritten: the hash-chained ledger names the account, so it cannot be
    renamed. LEDGER_E_CORRUPT if a settlement account of another currency
    has the id. Store errors. */
ledger_err_t accounts_open_ensure_funding(node_ctx_t *ctx, const char **unavailable,
                                          size_t unavailable_max, size_t *unavailable_count);

/*  If no account other than the settlement accounts exists, opens the demo
    accounts alice, bob, carol, dave and mallory (blocklisted by the demo
    fraud rules) in GBP, each owned by the principal of its id, at zero:
    money comes in only by deposits (scripts/demo.sh funds them through the
    gateway), and (issue 21) the EUR pair alice-eur ("Alice Smith (EUR)",
    owner alice) and bob-eur ("Bob Jones (EUR)", owner bob) at zero. Does
    nothing otherwise (a demo dir from before keeps its accounts as they
    are: its ledger gets no entry it did not have), so it is idempotent.
    Ensures the settlement accounts.
    LEDGER_E_CORRUPT; store errors. */
ledger_err_t accounts_open_seed_demo(node_ctx_t *ctx);

#endif

/*  accounts_controls.h: account limits and controls (issue 21): the rules a
    transfer must pass on an account's status and overdraft limit, and the
    operator's update of them.

    Statuses (accounts_record.h):
      active   everything as before.
      frozen   debits are declined account_frozen (a transfer, withdrawal or
               refund from it); credits to it are accepted. Holds placed
               before the freeze stay: an authorised transfer from a frozen
               account can still be captured or voided, and a reserved one
               still settles on fraud's approval (the money was committed
               before the freeze; only new movements are judged).
      closed   final: every movement from or to it is declined
               account_closed. Only an account with balance 0 and held 0
               can be closed (so no hold is ever left on a closed account).
    Overdraft (overdraft_limit_minor, 0 .. ACCOUNTS_OVERDRAFT_MAX_MINOR,
    default 0): a non-settlement account pays while
      available + overdraft_limit >= amount   (available = balance - held)
    so holds count, and its balance may go down to -overdraft_limit. The
    limit cannot be lowered below what the account uses of it (an update
    that would leave available + limit < 0 is 400 invalid), so
    available >= -overdraft_limit always holds and /ledger/verify checks it.
    Settlement accounts have neither: their rule is the settlement limit
    (accounts_saga.h), and an update of one is 400 invalid.

    Audit: each changed field of an update is one ledger entry on the
    account with zero amounts, kind "status" or "overdraft", transfer "",
    memo "<principal>: <old> -> <new>" ("ops: active -> frozen", "ops: 0 ->
    50000"), ts now: the trail is in the hash chain. The record is written
    to the accounts table at once (and to the balance cache): the start-up
    replay (accounts_cache.h) rebuilds amounts only, so a status or limit
    must never be newer in memory than in the table.

    Pure logic over ctx->txn and ctx->state; no sockets, clocks or logs.
    Thread: the one thread that owns the transaction.
*/
#ifndef LEDGER_ACCOUNTS_CONTROLS_H
#define LEDGER_ACCOUNTS_CONTROLS_H

#include <stddef.h>
#include <stdint.h>
#include "accounts_record.h"
#include "ledger_err.h"
#include "node_ctx.h"
#include "proto.h"

/*  The controls' decision on transfer `t` from `from` to `to` (their
    newest records), in this order: from or to closed -> account_closed;
    from frozen -> account_frozen; a non-settlement `from` whose available
    + overdraft_limit_minor < amount -> insufficient_funds. *code_out gets
    the PROTO_DECLINE_* (NULL: accepted) and `reason` (reason_size bytes)
    a sentence. Pure. LEDGER_E_CORRUPT if from's available does not fit an
    int64 (records are bounded: never for a sound store). */
ledger_err_t accounts_controls_decide(const accounts_record_t *from, const accounts_record_t *to,
                                      const proto_transfer_t *t, const char **code_out,
                                      char *reason, size_t reason_size);

/* The outcome of accounts_controls_update (account.reply status, code, reason). */
typedef struct {
    uint32_t status;  /* ACCOUNTS_STATUS_* (accounts_open.h) */
    const char *code; /* NULL on 200 */
    char reason[PROTO_REASON_MAX + 1];
    accounts_record_t account; /* on 200: as it is now */
} accounts_controls_result_t;

/*  The operator `principal` sets account `id`'s status (NULL or "":
    unchanged; else "active" | "frozen" | "closed") and overdraft limit (-1:
    unchanged; else 0 .. ACCOUNTS_OVERDRAFT_MAX_MINOR). Outcomes in *res:
      200 the account as it is now (also when nothing changed: no entry);
      404 not_found;
      409 account_closed (any change of a closed account), account_not_empty
          (close with balance or held != 0);
      400 invalid (a settlement account, an unknown status, a limit out of
          range or below what the account uses, a principal that is not a
          principal id).
    Writes only on 200 with a change (record + one audit entry per field,
    see the top). Returns LEDGER_OK whenever *res holds an outcome; store
    errors, LEDGER_E_CORRUPT, LEDGER_E_NOMEM (the caller aborts). */
ledger_err_t accounts_controls_update(node_ctx_t *ctx, const char *id, const char *principal,
                                      const char *status, int64_t overdraft_limit_minor,
                                      accounts_controls_result_t *res);

#endif

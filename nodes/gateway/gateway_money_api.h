/*  gateway_money_api.h: POST /api/deposits and POST /api/withdrawals, the
    only routes by which money enters or leaves the customers' accounts.

    What it does: turns a deposit or a withdrawal into a transfer between the
    customer's account and the settlement account of its currency
    (proto_settlement_id: the bank's account at its clearing
    bank, which no customer owns): a deposit moves the amount from the
    settlement account to the account, a withdrawal from the account to the
    settlement account. The submission then takes the transfer's path
    unchanged: the same Idempotency-Key rules and answers (202 with
    Location, a replay with Idempotent-Replayed: true, 422
    idempotency_key_reused; gateway_transfer_api_answer), one durable commit
    (gateway_submit.h), and the saga (hold, fraud check for withdrawals,
    settle) that moves the money as double entry. Its kind ("deposit",
    "withdrawal") is derived from its accounts wherever it is shown or sent
    (gateway_view_record_kind), never stored. The accounts node checks the
    kind, the ownership and the limits again from its own records.

    Who may: a deposit needs the scope deposits:write (operators); a
    withdrawal needs transfers:write and the caller must own the account
    (gateway_money_api_check_owner asks the owner map, gateway_owners.h,
    before anything is queued: 403 forbidden_account, field "account",
    nothing created; the submission's own check of `from` in the commit's
    transaction stands behind it).

    Body: {"account", "amount", "currency"?, "reference"?}
    (gateway_request_parse_money). Refusals, answered before anything is
    queued: the Idempotency-Key's and the body's 400s; 422
    amount_too_large (a deposit over deposit_max_minor, field "amount");
    422 unsupported_currency (no settlement account for the currency);
    422 settlement_account (the account is the settlement account itself).

    It owns nothing. Threads: MHD worker threads (the connection's handler);
    gateway_money_api_to_transfer is pure and safe on any thread.
*/
#ifndef LEDGER_GATEWAY_MONEY_API_H
#define LEDGER_GATEWAY_MONEY_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway_reply.h"
#include "gateway_request.h"
#include "gateway_submit.h"
#include "gateway_transfer_api.h"

/* Which way the money goes. */
typedef enum {
    GATEWAY_MONEY_DEPOSIT,    /* settlement account -> account */
    GATEWAY_MONEY_WITHDRAWAL, /* account -> settlement account */
} gateway_money_op_t;

/*  The transfer request of a validated deposit or withdrawal `money` into
    *out: LEDGER_OK. LEDGER_E_INVALID with `err` filled (422
    unsupported_currency, settlement_account, amount_too_large for a
    deposit over `deposit_max_minor`, > 0). Pure. */
ledger_err_t gateway_money_api_to_transfer(gateway_money_op_t op,
                                           const gateway_request_money_t *money,
                                           int64_t deposit_max_minor,
                                           gateway_transfer_request_t *out,
                                           gateway_request_error_t *err);

/*  POST /api/deposits or /api/withdrawals before it is queued: the
    Idempotency-Key header into job->key and the body (`len` bytes) into
    job->req, as the transfer between the account and the settlement
    account: true. Else answers the refusal on `conn`, stores MHD's verdict
    in *answered and returns false. */
bool gateway_money_api_parse(struct MHD_Connection *conn, gateway_money_op_t op, const char *body,
                             size_t len, int64_t deposit_max_minor, gateway_submit_job_t *job,
                             enum MHD_Result *answered);

/*  A withdrawal only: true if `principal` owns the account of the parsed
    `job` (gateway_owners_owns in a read transaction of env->store). Else
    answers 403 forbidden_account (field "account"; nothing is created, the
    Idempotency-Key stays free) or the store's 503/500, stores MHD's verdict
    in *answered and returns false. A deposit: true (its scope is the check;
    the settlement account it draws on has no owner). */
bool gateway_money_api_check_owner(struct MHD_Connection *conn,
                                   const gateway_transfer_api_env_t *env, gateway_money_op_t op,
                                   const char *principal, const gateway_submit_job_t *job,
                                   enum MHD_Result *answered);

#endif

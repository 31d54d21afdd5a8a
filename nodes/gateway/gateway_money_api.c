/*  gateway_money_api.c: deposits and withdrawals as transfers with the settlement account. */
#include "gateway_money_api.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "gateway_owners.h"
#include "gateway_transfer_api.h"

ledger_err_t gateway_money_api_to_transfer(gateway_money_op_t op,
                                           const gateway_request_money_t *money,
                                           int64_t deposit_max_minor,
                                           gateway_transfer_request_t *out,
                                           gateway_request_error_t *err)
{
    assert(money && out && err && deposit_max_minor > 0);
    const char *settlement = proto_settlement_id(money->currency);
    if (!settlement)
        return gateway_request_fail(err, 422, "unsupported_currency", "currency",
                                    "%s has no settlement account: money moves in and out "
                                    "only in a currency the ledger settles",
                                    money->currency);
    if (strcmp(money->account, settlement) == 0)
        return gateway_request_fail(err, 422, "settlement_account", "account",
                                    "%s is the settlement account: deposits and withdrawals "
                                    "name a customer's account",
                                    settlement);
    if (op == GATEWAY_MONEY_DEPOSIT && money->amount_minor > deposit_max_minor)
        return gateway_request_fail(err, 422, "amount_too_large", "amount",
                                    "one deposit is at most %" PRId64 " minor units",
                                    deposit_max_minor);
    gateway_transfer_request_t req;
    memset(&req, 0, sizeof req);
    bool deposit = op == GATEWAY_MONEY_DEPOSIT;
    snprintf(req.from, sizeof req.from, "%s", deposit ? settlement : money->account);
    snprintf(req.to, sizeof req.to, "%s", deposit ? money->account : settlement);
    req.amount_minor = money->amount_minor;
    memcpy(req.currency, money->currency, sizeof req.currency);
    memcpy(req.reference, money->reference, sizeof req.reference);
    assert(gateway_view_transfer_request_valid(&req));
    *out = req;
    return LEDGER_OK;
}

bool gateway_money_api_parse(struct MHD_Connection *conn, gateway_money_op_t op, const char *body,
                             size_t len, int64_t deposit_max_minor, gateway_submit_job_t *job,
                             enum MHD_Result *answered)
{
    assert(conn && job && answered);
    if (!gateway_transfer_api_parse_key(conn, job, answered))
        return false;
    gateway_request_money_t money;
    gateway_request_error_t verr;
    if (gateway_request_parse_money(body, len, &money, &verr) ||
        gateway_money_api_to_transfer(op, &money, deposit_max_minor, &job->req, &verr)) {
        *answered = gateway_reply_error(conn, &verr, NULL, 0);
        return false;
    }
    job->deposit = op == GATEWAY_MONEY_DEPOSIT;
    return true;
}

bool gateway_money_api_check_owner(struct MHD_Connection *conn,
                                   const gateway_transfer_api_env_t *env, gateway_money_op_t op,
                                   const char *principal, const gateway_submit_job_t *job,
                                   enum MHD_Result *answered)
{
    assert(conn && env && principal && job && answered);
    if (op == GATEWAY_MONEY_DEPOSIT)
        return true;
    store_txn_t *txn = NULL;
    bool owns = false;
    ledger_err_t err = store_txn_begin(env->store, false, &txn);
    if (!err)
        err = gateway_owners_owns(NULL, txn, principal, job->req.from, &owns);
    store_txn_abort(&txn);
    if (err) {
        *answered = gateway_transfer_api_store_error(conn, env, err, "read the account's owner");
        return false;
    }
    if (!owns)
        *answered = gateway_reply_errorf(conn, MHD_HTTP_FORBIDDEN, "forbidden_account", "account",
                                         "you can withdraw only from an account you own");
    return owns;
}

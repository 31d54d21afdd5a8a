/*  gateway_payment_api.c: capture, void and refunds of a transfer over HTTP (contract in
    gateway_payment_api.h). */
#include "gateway_payment_api.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway_owners.h"
#include "gateway_redact.h"

static const char *const not_found_text = "no transfer with this id";

static gateway_view_act_t route_act(gateway_route_t route)
{
    switch (route) {
    case GATEWAY_ROUTE_TRANSFER_CAPTURE:
        return GATEWAY_VIEW_ACT_CAPTURE;
    case GATEWAY_ROUTE_TRANSFER_VOID:
        return GATEWAY_VIEW_ACT_VOID;
    default:
        assert(route == GATEWAY_ROUTE_TRANSFER_REFUNDS);
        return GATEWAY_VIEW_ACT_REFUND;
    }
}

/* The currency of transfer `id` if `caller` may see it; LEDGER_E_NOT_FOUND otherwise. */
static ledger_err_t read_currency(const gateway_transfer_api_env_t *env,
                                  const gateway_auth_caller_t *caller, const char *id,
                                  char currency[PROTO_CURRENCY_LEN + 1])
{
    gateway_view_record_t *rec = malloc(sizeof *rec);
    if (!rec)
        return LEDGER_E_NOMEM;
    store_txn_t *txn = NULL;
    ledger_err_t err = store_txn_begin(env->store, false, &txn);
    if (!err)
        err = gateway_owners_check_transfer(txn, caller, id); /* another's: as a missing one */
    if (!err)
        err = gateway_view_record_get(txn, id, rec);
    if (!err)
        memcpy(currency, rec->req.currency, PROTO_CURRENCY_LEN + 1);
    store_txn_abort(&txn);
    free(rec);
    return err;
}

bool gateway_payment_api_parse(struct MHD_Connection *conn, const gateway_transfer_api_env_t *env,
                               const gateway_auth_caller_t *caller, gateway_route_t route,
                               const char *id, const char *body, size_t len,
                               gateway_submit_job_t *job, enum MHD_Result *answered)
{
    assert(conn && env && caller && job && answered);
    if (!gateway_transfer_api_parse_key(conn, job, answered))
        return false;
    char currency[PROTO_CURRENCY_LEN + 1];
    ledger_err_t err = id && gateway_view_transfer_id_valid(id)
                           ? read_currency(env, caller, id, currency)
                           : LEDGER_E_NOT_FOUND;
    if (err) {
        *answered = err == LEDGER_E_NOT_FOUND
                        ? gateway_reply_not_found(conn, not_found_text)
                        : gateway_transfer_api_store_error(conn, env, err, "read the transfer");
        return false;
    }
    gateway_view_action_t *action = &job->action;
    memset(action, 0, sizeof *action);
    action->act = route_act(route);
    gateway_request_error_t verr;
    if (gateway_request_parse_action(body, len, action->act, currency, action, &verr)) {
        *answered = gateway_reply_error(conn, &verr, NULL, 0);
        return false;
    }
    snprintf(action->transfer, sizeof action->transfer, "%s", id);
    action->operator_scope = gateway_owners_sees_all(caller);
    return true;
}

/* The refusal of the view as its HTTP answer. */
static enum MHD_Result answer_refusal(struct MHD_Connection *conn, gateway_view_refusal_t refusal)
{
    switch (refusal) {
    case GATEWAY_VIEW_REFUSAL_INVALID_STATE:
        return gateway_reply_errorf(conn, MHD_HTTP_CONFLICT, "invalid_state", NULL,
                                    "the transfer is not in a state that allows this: capture and "
                                    "void need an authorized transfer with no capture or void in "
                                    "flight, a refund a settled transfer");
    case GATEWAY_VIEW_REFUSAL_EXCEEDS_AUTHORIZED:
        return gateway_reply_errorf(conn, MHD_HTTP_UNPROCESSABLE_CONTENT, "exceeds_authorized",
                                    "amount", "amount is more than the authorised amount");
    case GATEWAY_VIEW_REFUSAL_EXCEEDS_REFUNDABLE:
        return gateway_reply_errorf(conn, MHD_HTTP_UNPROCESSABLE_CONTENT, "exceeds_refundable",
                                    "amount",
                                    "the refunds of this transfer would add up to more than it "
                                    "captured (pending refunds count)");
    case GATEWAY_VIEW_REFUSAL_TOO_MANY_REFUNDS:
        return gateway_reply_errorf(conn, MHD_HTTP_UNPROCESSABLE_CONTENT, "too_many_refunds", NULL,
                                    "a transfer has at most %d refunds", GATEWAY_REFUNDS_MAX);
    default:
        return gateway_reply_not_found(conn, not_found_text);
    }
}

/* 202 + the transfer as it is now (capture, void): read after the commit. */
static enum MHD_Result answer_transfer(struct MHD_Connection *conn,
                                       const gateway_transfer_api_env_t *env,
                                       const gateway_auth_caller_t *caller,
                                       const gateway_submit_result_t *res)
{
    store_txn_t *txn = NULL;
    json_t *transfer = NULL;
    ledger_err_t err = store_txn_begin(env->store, false, &txn);
    if (!err)
        err = gateway_view_transfer_get(txn, res->id, &transfer);
    store_txn_abort(&txn);
    if (err == LEDGER_E_NOT_FOUND)
        return gateway_reply_not_found(conn, not_found_text); /* pruned since: final long ago */
    if (err)
        return gateway_transfer_api_store_error(conn, env, err, "read the transfer");
    if (gateway_redact_needed(caller))
        gateway_redact_transfer(transfer);
    gateway_reply_header_t replayed = {"Idempotent-Replayed", "true"};
    return gateway_reply_json(conn, MHD_HTTP_ACCEPTED, transfer, &replayed, res->replayed ? 1 : 0);
}

/* 202 + the new refund, as a submission's answer. */
static enum MHD_Result answer_refund(struct MHD_Connection *conn,
                                     const gateway_submit_result_t *res)
{
    size_t size = 0;
    char *text = gateway_view_submitted_text(res, &size);
    char location[sizeof "/api/transfers/" + PROTO_TRANSFER_ID_MAX];
    snprintf(location, sizeof location, "/api/transfers/%s", res->id);
    gateway_reply_header_t headers[2] = {{MHD_HTTP_HEADER_LOCATION, location},
                                         {"Idempotent-Replayed", "true"}};
    return gateway_reply_json_text(conn, MHD_HTTP_ACCEPTED, text, size, headers,
                                   res->replayed ? 2 : 1);
}

enum MHD_Result gateway_payment_api_answer(struct MHD_Connection *conn,
                                           const gateway_transfer_api_env_t *env,
                                           const gateway_auth_caller_t *caller,
                                           const gateway_submit_job_t *job)
{
    assert(conn && env && caller && job && job->action.act);
    if (job->err)
        return gateway_transfer_api_answer_failed(conn, env, job->err, "request");
    const gateway_view_action_result_t *res = &job->action_result;
    if (res->refusal)
        return answer_refusal(conn, res->refusal);
    if (job->action.act == GATEWAY_VIEW_ACT_REFUND)
        return answer_refund(conn, &res->created);
    return answer_transfer(conn, env, caller, &res->created);
}

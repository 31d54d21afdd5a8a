/*  gateway_transfer_api.c: transfer reads, submission checks and answers. A read is filtered
    by ownership (gateway_owners.h) and, for a caller without risk:read, redacted
    (gateway_redact.h). */
#include "gateway_transfer_api.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gateway_owners.h"
#include "gateway_redact.h"

#define LOG_LINE_MAX 512 /* bytes of one log line */

enum MHD_Result gateway_transfer_api_refuse_full(struct MHD_Connection *conn,
                                                 const gateway_transfer_api_env_t *env)
{
    assert(conn && env);
    store_room_note_refused(env->store);
    store_room_t room = store_room(env->store, NULL);
    gateway_request_error_t err;
    gateway_request_fail(&err, MHD_HTTP_SERVICE_UNAVAILABLE, "storage_unavailable", NULL,
                         "the gateway's storage has no room (%s): nothing was written; "
                         "reads still work, retry later",
                         store_room_name(room == STORE_ROOM_OK ? STORE_ROOM_MAP_FULL : room));
    gateway_reply_header_t retry = {MHD_HTTP_HEADER_RETRY_AFTER,
                                    GATEWAY_TRANSFER_API_STORAGE_RETRY_AFTER};
    return gateway_reply_error(conn, &err, &retry, 1);
}

enum MHD_Result gateway_transfer_api_store_error(struct MHD_Connection *conn,
                                                 const gateway_transfer_api_env_t *env,
                                                 ledger_err_t err, const char *what)
{
    assert(conn && env && what);
    if (err == LEDGER_E_MAP_FULL)
        return gateway_transfer_api_refuse_full(conn, env); /* the loop logged the batch */
    if (env->log) {
        char line[LOG_LINE_MAX];
        snprintf(line, sizeof line, "gateway http: %s failed: %s (%s)", what, ledger_err_name(err),
                 store_last_error(env->store));
        env->log(env->log_arg, line);
    }
    if (err == LEDGER_E_CORRUPT || err == LEDGER_E_NOMEM || err == LEDGER_E_INVALID)
        return gateway_reply_errorf(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal_error", NULL,
                                    "the gateway could not %s (%s)", what, ledger_err_name(err));
    return gateway_reply_errorf(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "storage_unavailable", NULL,
                                "the gateway's storage is unavailable (%s); retry later",
                                ledger_err_name(err));
}

enum MHD_Result gateway_transfer_api_get(struct MHD_Connection *conn,
                                         const gateway_transfer_api_env_t *env,
                                         const gateway_auth_caller_t *caller, const char *id)
{
    assert(conn && env && caller);
    if (!id || !gateway_view_transfer_id_valid(id))
        return gateway_reply_not_found(conn, "no transfer with this id");
    store_txn_t *txn = NULL;
    json_t *transfer = NULL;
    ledger_err_t err = store_txn_begin(env->store, false, &txn);
    if (!err)
        err = gateway_owners_check_transfer(txn, caller, id); /* another's: as a missing one */
    if (!err)
        err = gateway_view_transfer_get(txn, id, &transfer);
    store_txn_abort(&txn);
    if (err == LEDGER_E_NOT_FOUND)
        return gateway_reply_not_found(conn, "no transfer with this id");
    if (err)
        return gateway_transfer_api_store_error(conn, env, err, "read the transfer");
    if (gateway_redact_needed(caller))
        gateway_redact_transfer(transfer);
    return gateway_reply_json(conn, MHD_HTTP_OK, transfer, NULL, 0);
}

/* A query value of the list, or NULL. */
static const char *query_arg(struct MHD_Connection *conn, const char *name)
{
    return MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
}

/* status= and kind= of the list into `f`; false with `verr` filled. */
static bool parse_enum_filters(struct MHD_Connection *conn, gateway_view_filter_t *f,
                               gateway_request_error_t *verr)
{
    const char *status = query_arg(conn, "status");
    const char *kind = query_arg(conn, "kind");
    if (status && !(f->has_status = gateway_view_record_status_from_name(status, &f->status))) {
        gateway_request_fail(verr, 400, "invalid_query", "status",
                             "status must be pending, authorized, settled, rejected_fraud, "
                             "declined, voided or expired");
        return false;
    }
    if (kind) {
        f->has_kind = proto_transfer_kind_from_name(kind, strlen(kind), &f->kind) == LEDGER_OK;
        if (!f->has_kind) {
            gateway_request_fail(verr, 400, "invalid_query", "kind",
                                 "kind must be transfer, deposit, withdrawal or refund");
            return false;
        }
    }
    return true;
}

/*  The filters of GET /api/transfers (gateway_view_filter_t): account, status, kind,
    created_from, created_to (RFC 3339, half-open). False with `verr` filled (400 invalid_query
    naming the field). */
static bool parse_filters(struct MHD_Connection *conn, gateway_view_filter_t *f,
                          gateway_request_error_t *verr)
{
    memset(f, 0, sizeof *f);
    f->account = query_arg(conn, "account");
    if (f->account && !proto_account_id_valid_str(f->account)) {
        gateway_request_fail(verr, 400, "invalid_query", "account",
                             "account must be an account id: 1 to %d characters of a-z, 0-9, "
                             "'_' and '-'",
                             PROTO_ACCOUNT_ID_MAX);
        return false;
    }
    if (!parse_enum_filters(conn, f, verr))
        return false;
    const char *from = query_arg(conn, "created_from");
    const char *to = query_arg(conn, "created_to");
    if ((from && gateway_request_parse_time(from, "created_from", &f->created_from_ms, verr)) ||
        (to && gateway_request_parse_time(to, "created_to", &f->created_to_ms, verr)))
        return false;
    if (to && f->created_to_ms == 0)
        f->created_to_ms = 1; /* 0 means no bound: [.., 1970-01-01T00:00:00Z) holds nothing */
    if (from && to && f->created_from_ms >= f->created_to_ms) {
        gateway_request_fail(verr, 400, "invalid_query", "created_to",
                             "created_to must be later than created_from (the interval is "
                             "[created_from, created_to))");
        return false;
    }
    return true;
}

enum MHD_Result gateway_transfer_api_list(struct MHD_Connection *conn,
                                          const gateway_transfer_api_env_t *env,
                                          const gateway_auth_caller_t *caller)
{
    assert(conn && env && caller);
    gateway_request_error_t verr;
    uint32_t limit = 0;
    const char *limit_text = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "limit");
    if (gateway_request_parse_limit(limit_text, GATEWAY_LIST_DEFAULT, GATEWAY_LIST_MAX, &limit,
                                    &verr))
        return gateway_reply_error(conn, &verr, NULL, 0);
    const char *cursor = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "cursor");
    if (cursor && cursor[0] && !gateway_view_transfer_id_valid(cursor))
        return gateway_reply_errorf(conn, 400, "invalid_query", "cursor",
                                    "cursor must be a transfer id, as given in next_cursor");
    gateway_view_filter_t filter;
    if (!parse_filters(conn, &filter, &verr))
        return gateway_reply_error(conn, &verr, NULL, 0);
    store_txn_t *txn = NULL;
    json_t *page = NULL;
    ledger_err_t err = store_txn_begin(env->store, false, &txn);
    if (!err)
        err = gateway_owners_sees_all(caller)
                  ? gateway_view_transfer_list(txn, cursor, limit, &filter, &page)
                  : gateway_view_transfer_list_own(txn, caller->principal.id, cursor, limit,
                                                   &filter, &page);
    store_txn_abort(&txn);
    if (err)
        return gateway_transfer_api_store_error(conn, env, err, "list transfers");
    if (gateway_redact_needed(caller))
        gateway_redact_page(page);
    return gateway_reply_json(conn, MHD_HTTP_OK, page, NULL, 0);
}

typedef struct {
    unsigned count;
    const char *first;
} header_count_t;

static enum MHD_Result count_idempotency_key(void *cls, enum MHD_ValueKind kind, const char *key,
                                             const char *value)
{
    (void)kind;
    header_count_t *hc = cls;
    if (key && strcasecmp(key, "Idempotency-Key") == 0) {
        if (hc->count++ == 0)
            hc->first = value ? value : "";
    }
    return MHD_YES;
}

bool gateway_transfer_api_parse_key(struct MHD_Connection *conn, gateway_submit_job_t *job,
                                    enum MHD_Result *answered)
{
    assert(conn && job && answered);
    gateway_request_error_t verr;
    header_count_t hc = {0, NULL};
    MHD_get_connection_values(conn, MHD_HEADER_KIND, count_idempotency_key, &hc);
    if (gateway_request_check_idempotency_key(hc.first, hc.count, &verr)) {
        *answered = gateway_reply_error(conn, &verr, NULL, 0);
        return false;
    }
    snprintf(job->key, sizeof job->key, "%s", hc.first);
    return true;
}

/* POST /api/transfers: the Idempotency-Key header (once) and the body. */
bool gateway_transfer_api_parse(struct MHD_Connection *conn, const char *body, size_t len,
                                gateway_submit_job_t *job, enum MHD_Result *answered)
{
    assert(conn && job && answered);
    if (!gateway_transfer_api_parse_key(conn, job, answered))
        return false;
    gateway_request_error_t verr;
    if (gateway_request_parse_transfer(body, len, &job->req, &verr)) {
        *answered = gateway_reply_error(conn, &verr, NULL, 0);
        return false;
    }
    return true;
}

bool gateway_transfer_api_admit(struct MHD_Connection *conn, const gateway_transfer_api_env_t *env,
                                uint64_t max_pending, size_t weight, enum MHD_Result *answered)
{
    assert(conn && env && answered);
    uint64_t full_for_ms = 0;
    if (store_room(env->store, &full_for_ms) != STORE_ROOM_OK &&
        full_for_ms < GATEWAY_TRANSFER_API_STORAGE_PROBE_MS) {
        *answered = gateway_transfer_api_refuse_full(conn, env);
        return false;
    }
    store_txn_t *txn = NULL;
    uint64_t pending = 0;
    if (store_txn_begin(env->store, false, &txn) == LEDGER_OK) {
        if (store_count(txn, STORE_DB_OUTBOX, &pending) != LEDGER_OK)
            pending = 0;
        store_txn_abort(&txn);
    }
    if (pending + weight <= max_pending)
        return true;
    gateway_request_error_t err;
    gateway_request_fail(&err, MHD_HTTP_SERVICE_UNAVAILABLE, "overloaded", NULL,
                         "%" PRIu64 " transfers are waiting for the accounts node (limit %" PRIu64
                         "); retry shortly",
                         pending, max_pending);
    gateway_reply_header_t retry = {MHD_HTTP_HEADER_RETRY_AFTER, "1"};
    *answered = gateway_reply_error(conn, &err, &retry, 1);
    return false;
}

static enum MHD_Result answer_batch(struct MHD_Connection *conn,
                                    const gateway_transfer_api_env_t *env,
                                    const gateway_submit_job_t *job)
{
    if (job->err == GATEWAY_SUBMIT_STOPPED)
        return gateway_reply_shutting_down(conn);
    if (job->err)
        return gateway_transfer_api_store_error(conn, env, job->err, "record the batch");
    size_t size = 0;
    char *text = gateway_batch_response(job->batch, &size);
    return gateway_reply_json_text(conn, MHD_HTTP_OK, text, size, NULL, 0);
}

enum MHD_Result gateway_transfer_api_answer_failed(struct MHD_Connection *conn,
                                                   const gateway_transfer_api_env_t *env,
                                                   ledger_err_t err, const char *what)
{
    assert(conn && env && err != LEDGER_OK && what);
    switch (err) {
    case LEDGER_E_EXISTS:
        return gateway_reply_errorf(
            conn, MHD_HTTP_UNPROCESSABLE_CONTENT, "idempotency_key_reused", "Idempotency-Key",
            "this Idempotency-Key was already used for a different %s; use a new key for a new %s",
            what, what);
    case LEDGER_E_INVALID:
        return gateway_reply_errorf(conn, MHD_HTTP_BAD_REQUEST, "invalid_field", NULL,
                                    "the %s was refused as invalid", what);
    case GATEWAY_SUBMIT_FORBIDDEN: {
        gateway_request_error_t forbidden;
        gateway_batch_forbid(&forbidden);
        return gateway_reply_error(conn, &forbidden, NULL, 0);
    }
    case GATEWAY_SUBMIT_STOPPED:
        return gateway_reply_shutting_down(conn);
    default: {
        char record[64];
        snprintf(record, sizeof record, "record the %s", what);
        return gateway_transfer_api_store_error(conn, env, err, record);
    }
    }
}

enum MHD_Result gateway_transfer_api_answer(struct MHD_Connection *conn,
                                            const gateway_transfer_api_env_t *env,
                                            const gateway_submit_job_t *job)
{
    assert(conn && env && job);
    if (job->batch)
        return answer_batch(conn, env, job);
    if (job->err)
        return gateway_transfer_api_answer_failed(conn, env, job->err, "transfer");
    const gateway_submit_result_t *res = &job->result;
    size_t size = 0;
    char *text = gateway_view_submitted_text(res, &size);
    char location[sizeof "/api/transfers/" + PROTO_TRANSFER_ID_MAX];
    snprintf(location, sizeof location, "/api/transfers/%s", res->id);
    gateway_reply_header_t headers[2] = {{MHD_HTTP_HEADER_LOCATION, location},
                                         {"Idempotent-Replayed", "true"}};
    return gateway_reply_json_text(conn, MHD_HTTP_ACCEPTED, text, size, headers,
                                   res->replayed ? 2 : 1);
}

/*  gateway_http.c: the public HTTP API of the gateway: routing, answers, MHD callbacks.

    MHD workers run on_request(): routing, validation (gateway_request.h),
    store reads, and handing slow work over by suspending the connection:
      - transfer submissions to the queue the node loop commits
        (gateway_submit.h), which resumes the connections after its commit;
      - account queries to the accounts client actor
        (gateway_accounts_client.h), which resumes them on reply or deadline.

    A request's state (request_t) lives from MHD's first call of on_request
    to its completion callback. While its connection is suspended, the job
    embedded in it belongs to the queue or the actor; after the resume they
    never touch it again.
*/
#include "gateway_http.h"

#include <arpa/inet.h>
#include <assert.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>
#include <sodium.h>

#include "clock.h"
#include "gateway_account_api.h"
#include "gateway_accounts_client.h"
#include "gateway_batch.h"
#include "gateway_budget.h"
#include "http_deadline.h"
#include "gateway_guard.h"
#include "gateway_money_api.h"
#include "gateway_openapi.h"
#include "gateway_payment_api.h"
#include "gateway_prune.h"
#include "gateway_reply.h"
#include "gateway_routes.h"
#include "gateway_request.h"
#include "gateway_static.h"
#include "gateway_stream.h"
#include "gateway_submit.h"
#include "gateway_transfer_api.h"
#include "text.h"

#define BODY_INITIAL_BYTES 1024           /* first allocation for a request body */
#define METHOD_MAX 7                      /* bytes of the method kept for count_request */
#define DISCARD_MAX_BYTES (1024u * 1024u) /* body bytes read past the cap before closing */

/* --- per-request state ---------------------------------------------------- */

typedef enum { WAIT_NONE = 0, WAIT_SUBMIT, WAIT_QUERY } wait_t;

typedef struct {
    gateway_route_t route;
    gateway_method_t method;
    bool is_post;                     /* method == GATEWAY_METHOD_POST */
    bool has_body;                    /* a JSON body is read (gateway_routes_has_body) */
    char method_text[METHOD_MAX + 1]; /* as sent (truncated), for config.count_request */
    bool id_too_long;
    char path_id[PROTO_ACCOUNT_ID_MAX + 1]; /* {id} of the path (transfer or account) */
    char *body;
    size_t body_len;
    size_t body_cap;
    size_t discarded;
    uint64_t reserved;    /* bytes taken from gw->budget, given back when the request ends */
    uint32_t budget_slot; /* the client address's share of it (gateway_budget_slot) */
    bool too_large;
    bool over_budget; /* the body budget refused it: 503 overloaded */
    wait_t wait;
    gateway_submit_job_t submit;
    gateway_accounts_query_t query;
    char owner[PROTO_ACCOUNT_ID_MAX + 1]; /* POST /api/accounts: the owner named */
    gateway_account_api_own_t *own;       /* a customer's GET /api/accounts */
    gateway_statement_t *statement;       /* GET /api/accounts/{id}/statement, page by page */
    gateway_auth_caller_t
        caller; /* who sent it (gateway_guard_check), for every route but health */
} request_t;

struct gateway_http_t {
    store_t *store;
    gateway_auth_t *auth;           /* keys, scopes, rates (gateway_guard.h); the caller's */
    gateway_transfer_api_env_t env; /* the store and the log, for the transfer routes */
    char node_name[PROTO_NODE_MAX + 1];
    uint32_t query_timeout_ms;
    size_t body_max_bytes;
    gateway_budget_t budget;   /* request body bytes buffered, all connections (gateway_budget.h) */
    http_deadline_t *deadline; /* head and body deadlines (http_deadline.h) */
    uint64_t max_pending;      /* admission control (config.max_pending) */
    int64_t deposit_max_minor; /* one deposit at most (config.deposit_max_minor) */
    void (*log)(void *arg, const char *line);
    void *log_arg;
    void (*count_request)(void *arg, const char *method, const char *route, unsigned status);
    void *count_request_arg;
    bool (*storage_faulted)(void *arg); /* config.storage_faulted */
    void *storage_faulted_arg;

    struct MHD_Daemon *daemon;
    uint16_t port;
    gateway_submit_t *submit;            /* POST /api/transfers[/batch] (gateway_submit.h) */
    gateway_accounts_client_t *accounts; /* /api/accounts* (gateway_accounts_client.h) */
    gateway_prune_t *prune;              /* key and event retention (gateway_prune.h) */
    gateway_streams_t *streams;          /* GET /api/events (gateway_stream.h) */
    gateway_static_t *web;               /* the web app at / (gateway_static.h) */
};

/* --- routing (the table: gateway_routes.h) ------------------------------ */

/*  Paths that are no API route: other /api paths 404, everything else the
    web app (gateway_static.h: files of web_dir, index.html fallback). */
static enum MHD_Result serve_unrouted(gateway_http_t *gw, struct MHD_Connection *conn,
                                      const char *url, const char *method)
{
    if (strcmp(url, "/api") == 0 || strncmp(url, "/api/", 5) == 0)
        return gateway_reply_not_found(conn, "no such resource");
    return gateway_static_serve(gw->web, conn, url, method);
}

/* --- /api/transfers* (gateway_transfer_api.h) ------------------------------ */

/* Queues a parsed job for the node loop; suspends the connection until it is done. */
static enum MHD_Result queue_submit(gateway_http_t *gw, struct MHD_Connection *conn, request_t *r)
{
    gateway_submit_job_t *job = &r->submit;
    /* Idempotency keys are the caller's own (gateway_view_idem.h). */
    memcpy(job->principal, r->caller.principal.id, sizeof job->principal);
    enum MHD_Result answered;
    if (!gateway_transfer_api_admit(conn, &gw->env, gw->max_pending,
                                    job->batch ? job->batch->count : 1, &answered))
        return answered;
    job->waiter = conn;
    r->wait = WAIT_SUBMIT;
    if (!gateway_submit_push(gw->submit, job)) {
        r->wait = WAIT_NONE;
        return gateway_reply_shutting_down(conn);
    }
    return MHD_YES;
}

/* POST /api/transfers: validate the key and the body here, then queue the job. */
static enum MHD_Result start_submit(gateway_http_t *gw, struct MHD_Connection *conn, request_t *r)
{
    enum MHD_Result answered;
    if (!gateway_transfer_api_parse(conn, r->body, r->body_len, &r->submit, &answered))
        return answered;
    return queue_submit(gw, conn, r);
}

/* POST /api/transfers/{id}/capture, /void, /refunds (gateway_payment_api.h), queued. */
static enum MHD_Result start_action(gateway_http_t *gw, struct MHD_Connection *conn, request_t *r)
{
    enum MHD_Result answered;
    if (!gateway_payment_api_parse(conn, &gw->env, &r->caller, r->route,
                                   r->id_too_long ? NULL : r->path_id, r->body, r->body_len,
                                   &r->submit, &answered))
        return answered;
    return queue_submit(gw, conn, r);
}

/* POST /api/deposits, /api/withdrawals: a transfer with the settlement account
   (gateway_money_api.h), queued like one. */
static enum MHD_Result start_money(gateway_http_t *gw, struct MHD_Connection *conn, request_t *r)
{
    gateway_money_op_t op =
        r->route == GATEWAY_ROUTE_DEPOSITS ? GATEWAY_MONEY_DEPOSIT : GATEWAY_MONEY_WITHDRAWAL;
    enum MHD_Result answered;
    if (!gateway_money_api_parse(conn, op, r->body, r->body_len, gw->deposit_max_minor, &r->submit,
                                 &answered) ||
        !gateway_money_api_check_owner(conn, &gw->env, op, r->caller.principal.id, &r->submit,
                                       &answered))
        return answered;
    return queue_submit(gw, conn, r);
}

/* POST /api/transfers/batch: parse every item here, commit them all in one job. */
static enum MHD_Result start_batch(gateway_http_t *gw, struct MHD_Connection *conn, request_t *r)
{
    gateway_request_error_t verr;
    ledger_err_t err = gateway_batch_parse(r->body, r->body_len, &r->submit.batch, &verr);
    if (err == LEDGER_E_INVALID)
        return gateway_reply_error(conn, &verr, NULL, 0);
    if (err)
        return gateway_reply_errorf(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal_error", NULL,
                                    "the gateway could not read the batch (%s)",
                                    ledger_err_name(err));
    /* The body is parsed: its memory is not needed while the job waits. */
    free(r->body);
    r->body = NULL;
    r->body_len = r->body_cap = 0;
    return queue_submit(gw, conn, r);
}

size_t gateway_http_take(gateway_http_t *self)
{
    assert(self);
    return gateway_submit_take(self->submit);
}

ledger_err_t gateway_http_apply_taken(gateway_http_t *self, node_ctx_t *ctx)
{
    assert(self);
    return gateway_submit_apply(self->submit, ctx);
}

void gateway_http_finish_taken(gateway_http_t *self, ledger_err_t err)
{
    assert(self);
    gateway_submit_finish(self->submit, err);
}

/* --- /api/accounts*: hand-off to the accounts client ---------------------- */

static enum MHD_Result send_query(gateway_http_t *gw, struct MHD_Connection *conn, request_t *r,
                                  const proto_query_t *q);

static enum MHD_Result start_query(gateway_http_t *gw, struct MHD_Connection *conn, request_t *r)
{
    gateway_account_api_request_t req = {
        .is_post = r->is_post,
        .path_id = r->path_id,
        .id_too_long = r->id_too_long,
        .body = r->body,
        .body_len = r->body_len,
        .store = gw->store,
        .caller = &r->caller,
        .owner_out = r->owner,
        .own_out = &r->own,
        .statement_out = &r->statement,
        .now_ms = clock_wall_ms(),
    };
    proto_query_t q;
    enum MHD_Result answered;
    if (!gateway_account_api_route_of(r->route, r->method, &req.route))
        return MHD_NO;
    if (!gateway_account_api_build_query(conn, &req, &q, &answered))
        return answered;
    return send_query(gw, conn, r, &q);
}

/* Hands query `q` to the accounts client; suspends the connection until it is answered. */
static enum MHD_Result send_query(gateway_http_t *gw, struct MHD_Connection *conn, request_t *r,
                                  const proto_query_t *q)
{
    char why[PROTO_REASON_MAX + 1] = "";
    ledger_err_t err = gateway_accounts_client_prepare(gw->accounts, &r->query, q, why, sizeof why);
    if (err == LEDGER_E_INVALID)
        return gateway_reply_errorf(conn, MHD_HTTP_BAD_REQUEST, "invalid_field", NULL, "%s", why);
    if (err)
        return gateway_reply_errorf(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal_error", NULL,
                                    "could not encode the account query (%s)",
                                    ledger_err_name(err));
    r->query.waiter = conn;
    r->wait = WAIT_QUERY;
    if (!gateway_accounts_client_send(gw->accounts, &r->query)) {
        r->wait = WAIT_NONE;
        return gateway_reply_shutting_down(conn);
    }
    return MHD_YES;
}

static void suspend_connection(void *waiter)
{
    MHD_suspend_connection(waiter);
}

static void resume_connection(void *waiter)
{
    MHD_resume_connection(waiter);
}

/* --- MHD callbacks -------------------------------------------------------- */

static void request_free(request_t *r)
{
    if (!r)
        return;
    free(r->body);
    gateway_batch_destroy(&r->submit.batch);
    gateway_accounts_client_query_release(&r->query);
    gateway_account_api_own_free(&r->own);
    gateway_statement_free(&r->statement);
    free(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    gateway_http_t *gw = cls;
    (void)toe;
    const request_t *r = *con_cls;
    const union MHD_ConnectionInfo *info =
        r && gw->count_request ? MHD_get_connection_info(conn, MHD_CONNECTION_INFO_HTTP_STATUS)
                               : NULL;
    if (info && info->http_status)
        gw->count_request(gw->count_request_arg, r->method_text, gateway_routes_pattern(r->route),
                          info->http_status);
    if (r && r->reserved)
        gateway_budget_give_share(&gw->budget, r->budget_slot, r->reserved);
    http_deadline_next_request(gw->deadline, conn);
    request_free(*con_cls);
    *con_cls = NULL;
}

static size_t body_limit(const gateway_http_t *gw, const request_t *r)
{
    return r->route == GATEWAY_ROUTE_TRANSFERS_BATCH ? GATEWAY_BATCH_BODY_MAX : gw->body_max_bytes;
}

/* Appends an upload chunk under the cap; past the cap the rest is read and dropped. */
static bool body_append(gateway_http_t *gw, request_t *r, const char *data, size_t size)
{
    size_t limit = body_limit(gw, r);
    if (r->too_large || r->over_budget || size > limit - r->body_len) {
        r->too_large = !r->over_budget;
        free(r->body);
        r->body = NULL;
        r->body_len = 0;
        r->discarded += size;
        return r->discarded <= DISCARD_MAX_BYTES;
    }
    if (r->body_len + size > r->body_cap) {
        size_t cap = r->body_cap ? r->body_cap : BODY_INITIAL_BYTES;
        while (cap < r->body_len + size)
            cap *= 2;
        if (cap > limit)
            cap = limit;
        if (cap > r->reserved && r->reserved >= r->body_len + size)
            cap = r->reserved; /* the declared length, taken whole with the headers */
        if (cap > r->reserved &&
            !gateway_budget_take_share(&gw->budget, r->budget_slot, cap - r->reserved)) {
            r->over_budget = true; /* answered at the end; drop what comes (above) */
            return body_append(gw, r, data, size);
        }
        r->reserved = cap > r->reserved ? cap : r->reserved;
        char *grown = realloc(r->body, cap);
        if (!grown)
            return false;
        r->body = grown;
        r->body_cap = cap;
    }
    memcpy(r->body + r->body_len, data, size);
    r->body_len += size;
    return true;
}

static enum MHD_Result reply_too_large(gateway_http_t *gw, struct MHD_Connection *conn,
                                       const request_t *r)
{
    return gateway_reply_errorf(conn, MHD_HTTP_CONTENT_TOO_LARGE, "payload_too_large", NULL,
                                "the request body is larger than %zu bytes", body_limit(gw, r));
}

static enum MHD_Result reply_method_not_allowed(struct MHD_Connection *conn, const request_t *r,
                                                const char *method)
{
    gateway_reply_header_t allow = {MHD_HTTP_HEADER_ALLOW, gateway_routes_allow(r->route)};
    gateway_request_error_t err;
    gateway_request_fail(&err, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed", NULL,
                         "%.16s is not allowed here; use %s", method, allow.value);
    return gateway_reply_error(conn, &err, &allow, 1);
}

/* A POST's headers: a JSON body, not declared larger than the cap nor than the budget left. */
static enum MHD_Result check_post_headers(gateway_http_t *gw, struct MHD_Connection *conn,
                                          request_t *r)
{
    const char *type =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!gateway_request_content_type_is_json(type))
        return gateway_reply_errorf(conn, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                                    NULL,
                                    "send the body as JSON with Content-Type: application/json");
    const char *length =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    uint64_t declared = 0;
    if (length && !text_parse_u64(length, &declared))
        declared = 0;
    if (declared > body_limit(gw, r))
        return reply_too_large(gw, conn, r);
    if (declared > 0) { /* the declared body is taken now, whole */
        if (!gateway_budget_take_share(&gw->budget, r->budget_slot, declared))
            return (enum MHD_Result)gateway_budget_reply_overloaded(conn, &gw->budget);
        r->reserved = declared;
    }
    return MHD_YES;
}

/* First call for a request: route, method, and the checks that need no body. */
static enum MHD_Result on_headers(gateway_http_t *gw, struct MHD_Connection *conn, request_t *r,
                                  const char *url, const char *method)
{
    r->method = gateway_routes_method(method);
    r->is_post = r->method == GATEWAY_METHOD_POST;
    snprintf(r->method_text, sizeof r->method_text, "%s", method);
    r->route = gateway_routes_match(url, r->path_id, &r->id_too_long);
    r->has_body = gateway_routes_has_body(r->route, r->method);
    if (r->has_body) /* every body's bytes count against its address's share */
        r->budget_slot = gateway_budget_slot(conn);
    if (r->route == GATEWAY_ROUTE_NONE)
        return serve_unrouted(gw, conn, url, method);
    if (!gateway_routes_allows(r->route, r->method))
        return reply_method_not_allowed(conn, r, method);
    /* The one check of key, scope and rate, before any body is read (gateway_guard.h). */
    enum MHD_Result answered;
    if (gateway_routes_needs_key(r->route) &&
        !gateway_guard_check(gw->auth, gw->store, conn, gateway_routes_scope(r->route, r->method),
                             r->route == GATEWAY_ROUTE_EVENTS, &r->caller, &answered))
        return answered;
    if (r->has_body && gw->storage_faulted && gw->storage_faulted(gw->storage_faulted_arg))
        return gateway_guard_refuse_faulted(conn);
    if (r->route == GATEWAY_ROUTE_EVENTS)
        return gateway_streams_serve(gw->streams, conn, method, &r->caller);
    return r->has_body ? check_post_headers(gw, conn, r) : MHD_YES;
}

/* Last call, with the whole body: do the work or hand it off. */
static enum MHD_Result on_body_complete(gateway_http_t *gw, struct MHD_Connection *conn,
                                        request_t *r)
{
    if (r->too_large)
        return reply_too_large(gw, conn, r);
    if (r->over_budget)
        return (enum MHD_Result)gateway_budget_reply_overloaded(conn, &gw->budget);
    /* The key was checked with the headers; a revocation since then stops the work here. */
    enum MHD_Result answered;
    if (gateway_routes_needs_key(r->route) && r->route != GATEWAY_ROUTE_EVENTS &&
        !gateway_guard_recheck(gw->auth, gw->store, conn, &r->caller, &answered))
        return answered;
    switch (r->route) {
    case GATEWAY_ROUTE_HEALTH:
        return gateway_reply_json(conn, MHD_HTTP_OK,
                                  json_pack("{s:s, s:s}", "status", "ok", "node", gw->node_name),
                                  NULL, 0);
    case GATEWAY_ROUTE_TRANSFERS:
        return r->is_post ? start_submit(gw, conn, r)
                          : gateway_transfer_api_list(conn, &gw->env, &r->caller);
    case GATEWAY_ROUTE_TRANSFER:
        return gateway_transfer_api_get(conn, &gw->env, &r->caller,
                                        r->id_too_long ? NULL : r->path_id);
    case GATEWAY_ROUTE_TRANSFERS_BATCH:
        return start_batch(gw, conn, r);
    case GATEWAY_ROUTE_DEPOSITS:
    case GATEWAY_ROUTE_WITHDRAWALS:
        return start_money(gw, conn, r);
    case GATEWAY_ROUTE_STREAM_TOKENS:
        return gateway_guard_issue_stream_token(gw->auth, gw->store, conn, &r->caller);
    case GATEWAY_ROUTE_ACCOUNT: /* GET, PATCH */
    case GATEWAY_ROUTE_ACCOUNTS:
    case GATEWAY_ROUTE_ACCOUNT_LEDGER:
    case GATEWAY_ROUTE_ACCOUNT_BALANCE:
    case GATEWAY_ROUTE_ACCOUNT_STATEMENT:
        return start_query(gw, conn, r);
    case GATEWAY_ROUTE_CURRENCIES:
        return gateway_account_api_currencies(conn);
    case GATEWAY_ROUTE_TRANSFER_CAPTURE:
    case GATEWAY_ROUTE_TRANSFER_VOID:
    case GATEWAY_ROUTE_TRANSFER_REFUNDS:
        return start_action(gw, conn, r);
    case GATEWAY_ROUTE_OPENAPI:
        return gateway_openapi_serve(conn);
    case GATEWAY_ROUTE_EVENTS: /* answered with its headers */
    case GATEWAY_ROUTE_NONE:
    case GATEWAY_ROUTE__COUNT:
        break;
    }
    return MHD_NO;
}

/* A resumed connection: answer its job once done (MHD may call again before). */
static enum MHD_Result on_resumed(gateway_http_t *gw, struct MHD_Connection *conn, request_t *r)
{
    if (r->wait == WAIT_SUBMIT && !gateway_submit_job_done(gw->submit, &r->submit))
        return MHD_YES;
    if (r->wait == WAIT_SUBMIT)
        return r->submit.action.act
                   ? gateway_payment_api_answer(conn, &gw->env, &r->caller, &r->submit)
                   : gateway_transfer_api_answer(conn, &gw->env, &r->submit);
    if (!gateway_accounts_client_query_done(gw->accounts, &r->query))
        return MHD_YES;
    enum MHD_Result answered;
    proto_query_t q;
    /* A customer's list (one GET query per account it owns), a statement (page by page). */
    if ((r->own && gateway_account_api_own_next(conn, r->own, &r->query, gw->query_timeout_ms, &q,
                                                &answered)) ||
        (r->statement && gateway_account_api_statement_next(conn, r->statement, &r->query,
                                                            gw->query_timeout_ms, &q, &answered))) {
        gateway_accounts_client_query_release(&r->query);
        return send_query(gw, conn, r, &q);
    }
    if (r->own || r->statement)
        return answered;
    if (r->is_post &&
        !gateway_account_api_record_owner(conn, gw->store, &r->query, r->owner, &answered))
        return answered;
    return gateway_account_api_answer(conn, &r->query, r->path_id, gw->query_timeout_ms, gw->log,
                                      gw->log_arg);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    gateway_http_t *gw = cls;
    request_t *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        *con_cls = r;
        enum MHD_Result headers_answer = on_headers(gw, conn, r, url, method);
        http_deadline_head_done(gw->deadline, conn, r->has_body, body_limit(gw, r));
        return headers_answer;
    }
    if (*upload_data_size > 0) {
        bool keep = body_append(gw, r, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return keep ? MHD_YES : MHD_NO;
    }
    http_deadline_body_done(gw->deadline, conn);
    if (r->wait != WAIT_NONE)
        return on_resumed(gw, conn, r);
    return on_body_complete(gw, conn, r);
}

/* --- life cycle ----------------------------------------------------------- */

static unsigned or_default(unsigned value, unsigned fallback)
{
    return value ? value : fallback;
}

static ledger_err_t start_daemon(gateway_http_t *gw, const gateway_http_config_t *config)
{
    /*  poll(), not epoll (which MHD_USE_AUTO picks on Linux): with epoll,
        libmicrohttpd 0.9.75 (Debian 12) sometimes leaves connections resumed
        by MHD_resume_connection unserved until its worker wakes for another
        reason, the connection timeout (30 s) when every connection is waiting
        for its answer: with 1 worker and 256 connections in 5 of 8 runs of
        5 s, all of them answered only then or closed. poll() served every
        one in 10 of 10 runs (tests/integration/test_http_load.py), at the
        same throughput within the noise (bench/README.md). */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_ALLOW_SUSPEND_RESUME |
                     gateway_tls_mhd_flags(config->tls);
    struct sockaddr_storage addr;
    if (gateway_tls_listen_address(config->listen_address ? config->listen_address
                                                          : GATEWAY_HTTP_ADDRESS_DEFAULT,
                                   config->port, &addr, &flags) != LEDGER_OK)
        return LEDGER_E_INVALID;
    gw->daemon = MHD_start_daemon(
        flags, config->port, NULL, NULL, on_request, gw, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE,
        or_default(config->thread_pool_size, GATEWAY_HTTP_THREADS_DEFAULT),
        MHD_OPTION_CONNECTION_LIMIT,
        or_default(config->connection_limit, GATEWAY_HTTP_CONNECTIONS_DEFAULT),
        MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        or_default(config->per_ip_connection_limit, GATEWAY_HTTP_PER_IP_DEFAULT),
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)GATEWAY_HTTP_CONNECTION_MEMORY,
        MHD_OPTION_CONNECTION_TIMEOUT,
        or_default(config->connection_timeout_s, GATEWAY_HTTP_CONNECTION_TIMEOUT_S_DEFAULT),
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, gw, MHD_OPTION_NOTIFY_CONNECTION,
        http_deadline_notify, gw->deadline, MHD_OPTION_ARRAY, gateway_tls_mhd_options(config->tls),
        MHD_OPTION_END);
    if (!gw->daemon)
        return LEDGER_E_IO;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(gw->daemon, MHD_DAEMON_INFO_BIND_PORT);
    gw->port = info ? info->port : config->port;
    return LEDGER_OK;
}

static void notify_streams(void *arg)
{
    gateway_streams_notify(arg);
}

/* The submission queue, the accounts client and the pruner (before MHD, which uses them). */
static ledger_err_t start_parts(gateway_http_t *gw, const gateway_http_config_t *config)
{
    uint64_t retention_ms = config->idempotency_retention_ms ? config->idempotency_retention_ms
                                                             : GATEWAY_RETENTION_DEFAULT_MS;
    gateway_submit_config_t sc = {
        .store = gw->store,
        .keys = {.retention_ms = retention_ms,
                 .legacy_keys = gateway_submit_legacy_keys_present(gw->store)},
        .suspend = suspend_connection,
        .resume = resume_connection,
        .wake = config->wake,
        .wake_arg = config->wake_arg,
        .committed = notify_streams,
        .committed_arg = gw->streams,
        .log = config->log,
        .log_arg = config->log_arg,
    };
    gateway_accounts_client_config_t ac = {
        .endpoint =
            config->accounts_endpoint ? config->accounts_endpoint : GATEWAY_HTTP_ACCOUNTS_DEFAULT,
        .node_name = gw->node_name,
        .cert = config->accounts_cert,
        .server_key = config->accounts_server_key,
        .timeout_ms = gw->query_timeout_ms,
        .now_ms = config->now_ms,
        .suspend = suspend_connection,
        .resume = resume_connection,
    };
    gateway_prune_config_t pc = {.store = gw->store,
                                 .retention_ms = retention_ms,
                                 .views_retention_ms = config->transfer_retention_ms,
                                 .now_ms = config->now_ms,
                                 .log = config->log,
                                 .log_arg = config->log_arg,
                                 .faulted = config->storage_faulted,
                                 .fault = config->storage_fault,
                                 .fault_arg = config->storage_faulted_arg};
    ledger_err_t err = gateway_submit_new(&sc, &gw->submit);
    if (!err)
        err = gateway_accounts_client_new(&ac, &gw->accounts);
    if (!err)
        err = gateway_prune_start(&pc, &gw->prune);
    return err;
}

/* gateway_auth_forget_fn: the streams opened with a revoked key end now. */
static void close_key_streams(void *arg, const char *key_id)
{
    gateway_streams_close_key(arg, key_id);
}

ledger_err_t gateway_http_start(const gateway_http_config_t *config, gateway_http_t **out)
{
    assert(config && out);
    *out = NULL;
    if (!config->store || !config->auth || !config->node_name ||
        !proto_node_name_valid(config->node_name, strlen(config->node_name)))
        return LEDGER_E_INVALID;
    if (sodium_init() < 0)
        return LEDGER_E_IO;
    gateway_http_t *gw = calloc(1, sizeof *gw);
    if (!gw)
        return LEDGER_E_NOMEM;
    gw->store = config->store;
    gw->auth = config->auth;
    snprintf(gw->node_name, sizeof gw->node_name, "%s", config->node_name);
    gw->query_timeout_ms =
        config->query_timeout_ms ? config->query_timeout_ms : GATEWAY_HTTP_QUERY_TIMEOUT_MS_DEFAULT;
    gw->max_pending = config->max_pending ? config->max_pending : GATEWAY_HTTP_MAX_PENDING_DEFAULT;
    gw->deposit_max_minor = config->deposit_max_minor > 0 ? config->deposit_max_minor
                                                          : GATEWAY_HTTP_DEPOSIT_MAX_DEFAULT;
    gw->body_max_bytes =
        config->body_max_bytes ? config->body_max_bytes : GATEWAY_HTTP_BODY_MAX_DEFAULT;
    gateway_budget_init(&gw->budget, config->body_budget_bytes);
    gateway_budget_set_share(&gw->budget, config->body_budget_per_address_bytes);
    gw->log = config->log;
    gw->log_arg = config->log_arg;
    gw->env = (gateway_transfer_api_env_t){gw->store, gw->log, gw->log_arg};
    gw->count_request = config->count_request;
    gw->count_request_arg = config->count_request_arg;
    gw->storage_faulted = config->storage_faulted;
    gw->storage_faulted_arg = config->storage_faulted_arg;
    ledger_err_t err = gateway_streams_new(gw->store, &config->streams, &gw->streams);
    if (!err && gw->auth) /* a revoked key's streams end with it */
        gateway_auth_on_forget(gw->auth, close_key_streams, gw->streams);
    if (!err)
        err = start_parts(gw, config);
    if (!err)
        err = gateway_static_new(config->web_dir ? config->web_dir : GATEWAY_HTTP_WEB_DIR_DEFAULT,
                                 &gw->web);
    if (!err)
        err = http_deadline_new(config->head_timeout_ms, config->body_min_rate,
                                1000u * or_default(config->connection_timeout_s,
                                                   GATEWAY_HTTP_CONNECTION_TIMEOUT_S_DEFAULT),
                                &gw->deadline);
    if (!err)
        err = start_daemon(gw, config);
    if (err) {
        gateway_http_destroy(&gw);
        return err;
    }
    *out = gw;
    return LEDGER_OK;
}

void gateway_http_notify_events(gateway_http_t *self)
{
    if (self)
        gateway_streams_notify(self->streams);
}

uint64_t gateway_http_views_pruned(const gateway_http_t *self)
{
    return self ? gateway_prune_views_pruned(self->prune) : 0;
}

void gateway_http_refusals(const gateway_http_t *self, gateway_http_refusals_t *out)
{
    *out = (gateway_http_refusals_t){0};
    if (!self)
        return;
    out->body_budget = gateway_budget_refused(&self->budget);
    out->body_budget_in_use = gateway_budget_in_use(&self->budget);
    out->body_budget_address = gateway_budget_refused_share(&self->budget);
    out->head_deadline = http_deadline_closed(self->deadline, &out->body_deadline);
    gateway_streams_counters(self->streams, &out->streams);
}
uint16_t gateway_http_port(const gateway_http_t *self)
{
    assert(self);
    return self->port;
}

void gateway_http_destroy(gateway_http_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gateway_http_t *gw = *self_p;
    /* Every connection the queue and the actor hold is resumed (503 shutting_down) before
       they return, so MHD is stopped with no connection suspended. */
    if (gw->submit)
        gateway_submit_stop(gw->submit);
    if (gw->accounts)
        gateway_accounts_client_stop(gw->accounts);
    /* Open event streams end now (their hub resumes them, then exits). */
    if (gw->auth && gw->streams)
        gateway_auth_on_forget(gw->auth, NULL, NULL);
    gateway_streams_stop(gw->streams);
    gateway_prune_destroy(&gw->prune);
    if (gw->daemon)
        MHD_stop_daemon(gw->daemon);
    http_deadline_destroy(&gw->deadline);
    gateway_streams_destroy(&gw->streams);
    gateway_static_destroy(&gw->web);
    /* MHD's workers are gone: nothing uses the queue or the client any more. */
    gateway_accounts_client_destroy(&gw->accounts);
    gateway_submit_destroy(&gw->submit);
    free(gw);
    *self_p = NULL;
}

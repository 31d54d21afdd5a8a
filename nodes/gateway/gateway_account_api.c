/*  gateway_account_api.c: account requests to queries, query outcomes to answers. */
#include "gateway_account_api.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "currency.h"
#include "money.h"
#include "text.h"

#define LOG_LINE_MAX 512                    /* bytes of one log line */
#define ACCOUNT_LIST_DEFAULT PROTO_PAGE_MAX /* accounts in a page when no limit is asked for */
/* The one answer for an account that does not exist and one the caller may not read. */
#define NO_ACCOUNT "no account with this id"

static_assert(GATEWAY_OWNERS_PAGE_MAX >= PROTO_PAGE_MAX, "a customer's page holds a whole page");

typedef struct {
    void (*fn)(void *arg, const char *line);
    void *arg;
} log_t;

__attribute__((format(printf, 2, 3))) static void log_line(const log_t *log, const char *fmt, ...)
{
    if (!log->fn)
        return;
    char line[LOG_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    log->fn(log->arg, line);
}

/* --- requests to queries -------------------------------------------------- */

/* The owner named by POST /api/accounts is a principal: true. Else answered 422 (or 503). */
static bool owner_exists(struct MHD_Connection *conn, store_t *store, const char *owner,
                         enum MHD_Result *answered)
{
    store_txn_t *txn = NULL;
    gateway_principal_t p;
    ledger_err_t err = store_txn_begin(store, false, &txn);
    if (!err)
        err = gateway_principals_get(txn, owner, &p);
    store_txn_abort(&txn);
    if (err == LEDGER_OK)
        return true;
    if (err == LEDGER_E_NOT_FOUND)
        *answered =
            gateway_reply_errorf(conn, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid_owner", "owner",
                                 "owner must be an existing principal (POST /principals "
                                 "on the admin port makes one)");
    else
        *answered = gateway_reply_errorf(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "storage_unavailable",
                                         NULL, "the gateway could not read its principals (%s)",
                                         ledger_err_name(err));
    return false;
}

static bool build_open(struct MHD_Connection *conn, const gateway_account_api_request_t *req,
                       proto_query_t *q, enum MHD_Result *answered)
{
    gateway_request_account_t open;
    gateway_request_error_t verr;
    if (gateway_request_parse_account(req->body, req->body_len, &open, &verr)) {
        *answered = gateway_reply_error(conn, &verr, NULL, 0);
        return false;
    }
    if (!currency_find(open.currency)) {
        *answered = gateway_reply_errorf(conn, MHD_HTTP_UNPROCESSABLE_CONTENT, "unknown_currency",
                                         "currency",
                                         "currency %s is not in the currency table (GET "
                                         "/api/currencies)",
                                         open.currency);
        return false;
    }
    if (!owner_exists(conn, req->store, open.owner, answered))
        return false;
    snprintf(req->owner_out, PROTO_ACCOUNT_ID_MAX + 1, "%s", open.owner);
    q->op = PROTO_QUERY_OPEN;
    memcpy(q->account, open.id, sizeof q->account);
    memcpy(q->name, open.name, sizeof q->name);
    memcpy(q->currency, open.currency, sizeof q->currency);
    memcpy(q->owner, open.owner, sizeof q->owner);
    q->amount_minor = 0; /* accounts open at zero (gateway_request_parse_account) */
    return true;
}

static bool build_list(struct MHD_Connection *conn, proto_query_t *q, enum MHD_Result *answered)
{
    gateway_request_error_t verr;
    const char *limit = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "limit");
    const char *cursor = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "cursor");
    q->op = PROTO_QUERY_LIST;
    if (gateway_request_parse_limit(limit, ACCOUNT_LIST_DEFAULT, PROTO_PAGE_MAX, &q->limit,
                                    &verr)) {
        *answered = gateway_reply_error(conn, &verr, NULL, 0);
        return false;
    }
    if (cursor && cursor[0]) {
        if (!proto_account_id_valid_str(cursor)) {
            *answered = gateway_reply_errorf(conn, 400, "invalid_query", "cursor",
                                             "cursor must be an account id, as given in "
                                             "next_cursor");
            return false;
        }
        snprintf(q->after, sizeof q->after, "%s", cursor);
    }
    return true;
}

/* The empty page of a customer who owns nothing (after the cursor). */
static enum MHD_Result answer_no_accounts(struct MHD_Connection *conn)
{
    return gateway_reply_json(conn, MHD_HTTP_OK,
                              json_pack("{s:[], s:n}", "accounts", "next_cursor"), NULL, 0);
}

/*  A customer's list: its page of ids from the owner map; the first GET query in q. */
static bool build_own_list(struct MHD_Connection *conn, const gateway_account_api_request_t *req,
                           proto_query_t *q, enum MHD_Result *answered)
{
    if (!build_list(conn, q, answered))
        return false;
    gateway_account_api_own_t *own = calloc(1, sizeof *own);
    store_txn_t *txn = NULL;
    ledger_err_t err = own ? store_txn_begin(req->store, false, &txn) : LEDGER_E_NOMEM;
    if (!err)
        err = gateway_owners_accounts(txn, req->caller->principal.id, q->after, q->limit, own->ids,
                                      &own->count, &own->more);
    store_txn_abort(&txn);
    if (!err && own->count > 0 && !(own->accounts = json_array()))
        err = LEDGER_E_NOMEM;
    if (err || own->count == 0) {
        *answered = err ? gateway_reply_errorf(
                              conn, MHD_HTTP_SERVICE_UNAVAILABLE, "storage_unavailable", NULL,
                              "the gateway could not read its store (%s)", ledger_err_name(err))
                        : answer_no_accounts(conn);
        gateway_account_api_own_free(&own);
        return false;
    }
    memset(q, 0, sizeof *q);
    q->op = PROTO_QUERY_GET;
    snprintf(q->account, sizeof q->account, "%s", own->ids[0]);
    *req->own_out = own;
    return true;
}

/* An account of the path the caller may read (an operator, or its owner): true. Else 404. */
static bool may_read(struct MHD_Connection *conn, const gateway_account_api_request_t *req,
                     enum MHD_Result *answered)
{
    if (gateway_owners_sees_all(req->caller))
        return true;
    store_txn_t *txn = NULL;
    bool owns = false;
    ledger_err_t err = store_txn_begin(req->store, false, &txn);
    if (!err)
        err = gateway_owners_owns(NULL, txn, req->caller->principal.id, req->path_id, &owns);
    store_txn_abort(&txn);
    if (owns)
        return true;
    *answered = err ? gateway_reply_errorf(
                          conn, MHD_HTTP_SERVICE_UNAVAILABLE, "storage_unavailable", NULL,
                          "the gateway could not read its store (%s)", ledger_err_name(err))
                    : gateway_reply_not_found(conn, NO_ACCOUNT);
    return false;
}

static bool build_ledger(struct MHD_Connection *conn, const char *account, proto_query_t *q,
                         enum MHD_Result *answered)
{
    gateway_request_error_t verr;
    const char *limit = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "limit");
    const char *cursor = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "cursor");
    q->op = PROTO_QUERY_LEDGER;
    snprintf(q->account, sizeof q->account, "%s", account);
    if (gateway_request_parse_limit(limit, GATEWAY_LIST_DEFAULT, PROTO_PAGE_MAX, &q->limit,
                                    &verr)) {
        *answered = gateway_reply_error(conn, &verr, NULL, 0);
        return false;
    }
    if (cursor && cursor[0] && (!text_parse_u64(cursor, &q->cursor) || q->cursor == 0)) {
        *answered = gateway_reply_errorf(conn, 400, "invalid_query", "cursor",
                                         "cursor must be a ledger sequence number, as given in "
                                         "next_cursor");
        return false;
    }
    return true;
}

/* PATCH: the update query, as the operator who asks. Anyone else: 403 (the scope is an
   operator's; the guard checked it). */
static bool build_patch(struct MHD_Connection *conn, const gateway_account_api_request_t *req,
                        proto_query_t *q, enum MHD_Result *answered)
{
    if (!gateway_owners_sees_all(req->caller)) {
        *answered = gateway_reply_errorf(conn, MHD_HTTP_FORBIDDEN, "forbidden", NULL,
                                         "only operators change accounts");
        return false;
    }
    gateway_request_account_patch_t patch;
    gateway_request_error_t verr;
    if (gateway_request_parse_account_patch(req->body, req->body_len, &patch, &verr)) {
        *answered = gateway_reply_error(conn, &verr, NULL, 0);
        return false;
    }
    q->op = PROTO_QUERY_UPDATE;
    snprintf(q->account, sizeof q->account, "%s", req->path_id);
    snprintf(q->principal, sizeof q->principal, "%s", req->caller->principal.id);
    memcpy(q->status, patch.status, sizeof q->status);
    q->overdraft_limit_minor = patch.overdraft_limit_minor;
    return true;
}

/* GET one: op get, or op holds with ?expand=holds (from ?holds_cursor=, a transfer id). */
static bool build_one(struct MHD_Connection *conn, const char *account, proto_query_t *q,
                      enum MHD_Result *answered)
{
    const char *expand = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "expand");
    const char *cursor = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "holds_cursor");
    snprintf(q->account, sizeof q->account, "%s", account);
    q->op = PROTO_QUERY_GET;
    if (!expand || !expand[0])
        return true;
    if (strcmp(expand, "holds") != 0) {
        *answered =
            gateway_reply_errorf(conn, 400, "invalid_query", "expand", "expand must be holds");
        return false;
    }
    if (cursor && cursor[0] && !gateway_view_transfer_id_valid(cursor)) {
        *answered = gateway_reply_errorf(conn, 400, "invalid_query", "holds_cursor",
                                         "holds_cursor must be a transfer id, as given in "
                                         "holds_next");
        return false;
    }
    q->op = PROTO_QUERY_HOLDS;
    q->limit = PROTO_PAGE_MAX;
    snprintf(q->after, sizeof q->after, "%s", cursor ? cursor : "");
    return true;
}

bool gateway_account_api_route_of(gateway_route_t route, gateway_method_t method,
                                  gateway_account_api_route_t *out)
{
    switch (route) {
    case GATEWAY_ROUTE_ACCOUNTS:
        *out = GATEWAY_ACCOUNT_API_COLLECTION;
        return true;
    case GATEWAY_ROUTE_ACCOUNT:
        *out = method == GATEWAY_METHOD_PATCH ? GATEWAY_ACCOUNT_API_PATCH : GATEWAY_ACCOUNT_API_ONE;
        return true;
    case GATEWAY_ROUTE_ACCOUNT_LEDGER:
        *out = GATEWAY_ACCOUNT_API_LEDGER;
        return true;
    case GATEWAY_ROUTE_ACCOUNT_BALANCE:
        *out = GATEWAY_ACCOUNT_API_BALANCE;
        return true;
    case GATEWAY_ROUTE_ACCOUNT_STATEMENT:
        *out = GATEWAY_ACCOUNT_API_STATEMENT;
        return true;
    default:
        return false;
    }
}

bool gateway_account_api_build_query(struct MHD_Connection *conn,
                                     const gateway_account_api_request_t *req, proto_query_t *q,
                                     enum MHD_Result *answered)
{
    assert(conn && req && req->store && req->caller && q && answered);
    memset(q, 0, sizeof *q);
    if (req->route != GATEWAY_ACCOUNT_API_COLLECTION &&
        (req->id_too_long || !proto_account_id_valid_str(req->path_id))) {
        *answered = gateway_reply_not_found(conn, NO_ACCOUNT);
        return false;
    }
    if (req->route != GATEWAY_ACCOUNT_API_COLLECTION && !may_read(conn, req, answered))
        return false;
    switch (req->route) {
    case GATEWAY_ACCOUNT_API_COLLECTION:
        if (req->is_post)
            return build_open(conn, req, q, answered);
        return gateway_owners_sees_all(req->caller) ? build_list(conn, q, answered)
                                                    : build_own_list(conn, req, q, answered);
    case GATEWAY_ACCOUNT_API_ONE:
        return build_one(conn, req->path_id, q, answered);
    case GATEWAY_ACCOUNT_API_LEDGER:
        return build_ledger(conn, req->path_id, q, answered);
    case GATEWAY_ACCOUNT_API_PATCH:
        return build_patch(conn, req, q, answered);
    case GATEWAY_ACCOUNT_API_BALANCE:
        return gateway_statement_build_balance(conn, req->path_id, q, answered);
    case GATEWAY_ACCOUNT_API_STATEMENT:
        return gateway_statement_build(conn, req->path_id, req->now_ms, q, req->statement_out,
                                       answered);
    }
    assert(!"not an account route");
    *answered = MHD_NO;
    return false;
}

/* --- replies to answers --------------------------------------------------- */

static json_t *next_cursor_json(const char *next)
{
    return next[0] ? gateway_reply_string(next) : json_null();
}

static json_t *account_json(const proto_account_t *a)
{
    int64_t available;
    json_t *avail = money_sub(a->balance_minor, a->held_minor, &available) == LEDGER_OK
                        ? json_integer(available)
                        : json_null();
    return json_pack("{s:o, s:o, s:o, s:I, s:I, s:o, s:b, s:o, s:o, s:I}", "id",
                     gateway_reply_string(a->id), "name", gateway_reply_string(a->name), "currency",
                     gateway_reply_string(a->currency), "balance", (json_int_t)a->balance_minor,
                     "held", (json_int_t)a->held_minor, "available", avail, "settlement",
                     a->settlement, "owner", gateway_reply_string(a->owner), "status",
                     gateway_reply_string(a->status[0] ? a->status : PROTO_ACCOUNT_STATUS_ACTIVE),
                     "overdraft_limit", (json_int_t)a->overdraft_limit_minor);
}

static json_t *time_or_null(uint64_t unix_ms)
{
    char at[CLOCK_UTC_TEXT_SIZE];
    return unix_ms ? json_string(clock_format_utc(unix_ms, at)) : json_null();
}

static json_t *hold_json(const proto_hold_t *h)
{
    const char *kind = proto_transfer_kind_name(h->kind);
    const char *capture = proto_capture_name(h->capture);
    return json_pack("{s:o, s:I, s:s, s:s, s:o, s:o}", "transfer",
                     gateway_reply_string(h->transfer), "amount", (json_int_t)h->amount_minor,
                     "kind", kind ? kind : "transfer", "capture", capture ? capture : "auto",
                     "created_at", time_or_null(h->created_ms), "expires_at",
                     time_or_null(h->expires_at_ms));
}

/* GET one with ?expand=holds: the account, its open holds and the cursor of the next ones. */
static json_t *account_holds_json(const proto_account_reply_t *rep)
{
    json_t *body = account_json(&rep->accounts[0]);
    json_t *holds = json_array();
    for (uint32_t i = 0; holds && i < rep->hold_count; i++)
        json_array_append_new(holds, hold_json(&rep->holds[i]));
    if (!body || !holds || json_object_set_new(body, "holds", holds) != 0 ||
        json_object_set_new(body, "holds_next", next_cursor_json(rep->next)) != 0) {
        json_decref(body);
        return NULL;
    }
    return body;
}

/* One ledger entry; `memo` only on the entries that have one (the controls' audit entries). */
static json_t *ledger_row_json(const proto_ledger_row_t *e)
{
    char at[CLOCK_UTC_TEXT_SIZE];
    json_t *row = json_pack(
        "{s:I, s:o, s:o, s:o, s:I, s:I, s:I, s:s, s:I}", "seq", (json_int_t)e->seq, "account",
        gateway_reply_string(e->account), "transfer", gateway_reply_string(e->transfer), "kind",
        gateway_reply_string(e->kind), "amount", (json_int_t)e->amount_minor, "balance_after",
        (json_int_t)e->balance_after_minor, "held_after", (json_int_t)e->held_after_minor, "at",
        clock_format_utc(e->ts_ms, at), "ts_ms", (json_int_t)e->ts_ms);
    if (row && e->memo[0] && json_object_set_new(row, "memo", gateway_reply_string(e->memo)) != 0) {
        json_decref(row);
        row = NULL;
    }
    return row;
}

/* A 200/201 account.reply: the page or the one account. */
static enum MHD_Result answer_ok(struct MHD_Connection *conn, proto_query_op_t op,
                                 const proto_account_reply_t *rep, const char *path_id)
{
    json_t *body = NULL;
    unsigned status = MHD_HTTP_OK;
    if (op == PROTO_QUERY_LIST) {
        json_t *list = json_array();
        for (uint32_t i = 0; list && i < rep->account_count; i++)
            json_array_append_new(list, account_json(&rep->accounts[i]));
        body = json_pack("{s:o, s:o}", "accounts", list ? list : json_null(), "next_cursor",
                         next_cursor_json(rep->next));
    } else if (op == PROTO_QUERY_LEDGER) {
        json_t *entries = json_array();
        for (uint32_t i = 0; entries && i < rep->entry_count; i++)
            json_array_append_new(entries, ledger_row_json(&rep->entries[i]));
        body =
            json_pack("{s:s, s:o, s:o}", "account", path_id, "entries",
                      entries ? entries : json_null(), "next_cursor", next_cursor_json(rep->next));
    } else {
        if (rep->account_count != 1)
            return gateway_reply_errorf(conn, MHD_HTTP_BAD_GATEWAY, "accounts_error", NULL,
                                        "the accounts node answered with %u accounts instead of "
                                        "one",
                                        (unsigned)rep->account_count);
        if (op == PROTO_QUERY_BALANCE_AT)
            return gateway_statement_answer_balance(conn, rep);
        body = op == PROTO_QUERY_HOLDS ? account_holds_json(rep) : account_json(&rep->accounts[0]);
        /* Opened now: 201. Already there with the same values: 200. */
        if (op == PROTO_QUERY_OPEN && (rep->status == 201 || strcmp(rep->code, "created") == 0))
            status = MHD_HTTP_CREATED;
    }
    return gateway_reply_json(conn, status, body, NULL, 0);
}

/* The accounts node refused the query: its status, code and reason, as the API's. */
static enum MHD_Result answer_refusal(struct MHD_Connection *conn, const proto_account_reply_t *rep,
                                      const log_t *log)
{
    const char *message = rep->reason[0] ? rep->reason : "the accounts node refused the request";
    switch (rep->status) {
    case 400:
        return gateway_reply_errorf(conn, MHD_HTTP_BAD_REQUEST,
                                    rep->code[0] ? rep->code : "invalid_field", NULL, "%s",
                                    message);
    case 404: /* one answer, whoever asks: the same as for an account the caller may not read */
        return gateway_reply_not_found(conn, NO_ACCOUNT);
    case 409: /* open: account_exists; update: account_not_empty, account_closed */
        if (rep->code[0] && strcmp(rep->code, "account_exists") != 0)
            return gateway_reply_errorf(conn, MHD_HTTP_CONFLICT, rep->code, NULL, "%s", message);
        return gateway_reply_errorf(
            conn, MHD_HTTP_CONFLICT, "account_exists", "id", "%s",
            rep->reason[0] ? rep->reason : "an account with this id exists with other values");
    default:
        log_line(log, "gateway http: accounts answered %u %s: %s", (unsigned)rep->status, rep->code,
                 rep->reason);
        return gateway_reply_errorf(conn, MHD_HTTP_BAD_GATEWAY, "accounts_error", NULL,
                                    "the accounts node failed: %s", message);
    }
}

enum MHD_Result gateway_account_api_answer(struct MHD_Connection *conn,
                                           const gateway_accounts_query_t *query,
                                           const char *path_id, uint32_t timeout_ms,
                                           void (*log)(void *arg, const char *line), void *log_arg)
{
    assert(conn && query && path_id);
    log_t logger = {log, log_arg};
    if (query->outcome == GATEWAY_ACCOUNTS_STOPPING)
        return gateway_reply_shutting_down(conn);
    if (query->outcome == GATEWAY_ACCOUNTS_TIMEOUT)
        return gateway_reply_errorf(
            conn, MHD_HTTP_SERVICE_UNAVAILABLE, "accounts_unavailable", NULL,
            "the accounts node did not answer within %u ms; retry later", (unsigned)timeout_ms);
    if (query->outcome == GATEWAY_ACCOUNTS_BAD_REPLY || !query->has_reply) {
        log_line(&logger, "gateway http: bad answer from accounts: %s", query->why);
        return gateway_reply_errorf(conn, MHD_HTTP_BAD_GATEWAY, "accounts_error", NULL,
                                    "the accounts node gave an answer the gateway cannot use: %s",
                                    query->why);
    }
    const proto_account_reply_t *rep = &query->reply.body.account_reply;
    if (rep->status == 200 || rep->status == 201)
        return answer_ok(conn, query->op, rep, path_id);
    return answer_refusal(conn, rep, &logger);
}

/* --- ownership after the answer -------------------------------------------- */

typedef struct {
    const char *account;
    const char *owner;
} owner_put_t;

static ledger_err_t owner_write(store_txn_t *txn, void *arg)
{
    const owner_put_t *w = arg;
    return gateway_owners_put(txn, w->account, w->owner, NULL);
}

bool gateway_account_api_record_owner(struct MHD_Connection *conn, store_t *store,
                                      const gateway_accounts_query_t *query, const char *owner,
                                      enum MHD_Result *answered)
{
    assert(conn && store && query && owner && answered);
    const proto_account_reply_t *rep = &query->reply.body.account_reply;
    if (query->outcome != GATEWAY_ACCOUNTS_OK || !query->has_reply ||
        (rep->status != 200 && rep->status != 201) || rep->account_count != 1)
        return true; /* not opened: answered as the node said */
    owner_put_t w = {rep->accounts[0].id, owner};
    ledger_err_t err = store_write(store, owner_write, &w);
    if (err == LEDGER_OK)
        return true;
    if (err == LEDGER_E_EXISTS)
        *answered = gateway_reply_errorf(conn, MHD_HTTP_CONFLICT, "account_exists", "owner",
                                         "an account with this id exists with another owner");
    else
        *answered = gateway_reply_errorf(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "storage_unavailable",
                                         NULL, "the gateway could not record the owner (%s)",
                                         ledger_err_name(err));
    return false;
}

bool gateway_account_api_own_next(struct MHD_Connection *conn, gateway_account_api_own_t *own,
                                  const gateway_accounts_query_t *query, uint32_t timeout_ms,
                                  proto_query_t *q, enum MHD_Result *answered)
{
    assert(conn && own && query && q && answered && own->next < own->count);
    const proto_account_reply_t *rep = &query->reply.body.account_reply;
    bool ok = query->outcome == GATEWAY_ACCOUNTS_OK && query->has_reply;
    if (!ok || (rep->status != 200 && rep->status != 404)) {
        *answered = gateway_account_api_answer(conn, query, "", timeout_ms, NULL, NULL);
        return false;
    }
    if (rep->status == 200 && rep->account_count == 1)
        json_array_append_new(own->accounts, account_json(&rep->accounts[0]));
    if (++own->next < own->count) {
        memset(q, 0, sizeof *q);
        q->op = PROTO_QUERY_GET;
        snprintf(q->account, sizeof q->account, "%s", own->ids[own->next]);
        return true;
    }
    json_t *next = own->more ? gateway_reply_string(own->ids[own->count - 1]) : json_null();
    *answered = gateway_reply_json(
        conn, MHD_HTTP_OK, json_pack("{s:O, s:o}", "accounts", own->accounts, "next_cursor", next),
        NULL, 0);
    return false;
}

bool gateway_account_api_statement_next(struct MHD_Connection *conn, gateway_statement_t *st,
                                        const gateway_accounts_query_t *query, uint32_t timeout_ms,
                                        proto_query_t *q, enum MHD_Result *answered)
{
    assert(conn && st && query && q && answered);
    const proto_account_reply_t *rep = &query->reply.body.account_reply;
    if (query->outcome == GATEWAY_ACCOUNTS_OK && query->has_reply && rep->status == 200 &&
        rep->account_count == 1)
        return gateway_statement_next(conn, st, rep, q, answered);
    /* The node's refusal (404, 400), a timeout or a bad answer: as for any account query. */
    *answered = rep->status == 200 && query->has_reply
                    ? gateway_reply_errorf(conn, MHD_HTTP_BAD_GATEWAY, "accounts_error", NULL,
                                           "the accounts node answered a statement page with %u "
                                           "accounts instead of one",
                                           (unsigned)rep->account_count)
                    : gateway_account_api_answer(conn, query, "", timeout_ms, NULL, NULL);
    return false;
}

enum MHD_Result gateway_account_api_currencies(struct MHD_Connection *conn)
{
    assert(conn);
    json_t *list = json_array();
    for (size_t i = 0; list && i < currency_count(); i++) {
        const currency_t *c = currency_at(i);
        json_array_append_new(list, json_pack("{s:s, s:i, s:s}", "code", c->code, "exponent",
                                              (int)c->exponent, "name", c->name));
    }
    return gateway_reply_json(conn, MHD_HTTP_OK,
                              list ? json_pack("{s:o}", "currencies", list) : NULL, NULL, 0);
}

void gateway_account_api_own_free(gateway_account_api_own_t **own_p)
{
    if (!own_p || !*own_p)
        return;
    json_decref((*own_p)->accounts);
    free(*own_p);
    *own_p = NULL;
}

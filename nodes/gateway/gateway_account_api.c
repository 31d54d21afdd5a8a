/*  gateway_account_api.c: account requests to queries, query outcomes to answers. */
#include "gateway_account_api.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "money.h"
#include "text.h"

#define LOG_LINE_MAX 512                    /* bytes of one log line */
#define ACCOUNT_LIST_DEFAULT PROTO_PAGE_MAX /* accounts in a page when no limit is asked for */

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

static bool build_open(struct MHD_Connection *conn, const gateway_account_api_request_t *req,
                       proto_query_t *q, enum MHD_Result *answered)
{
    gateway_request_account_t open;
    gateway_request_error_t verr;
    if (gateway_request_parse_account(req->body, req->body_len, &open, &verr)) {
        *answered = gateway_reply_error(conn, &verr, NULL, 0);
        return false;
    }
    q->op = PROTO_QUERY_OPEN;
    memcpy(q->account, open.id, sizeof q->account);
    memcpy(q->name, open.name, sizeof q->name);
    memcpy(q->currency, open.currency, sizeof q->currency);
    /* until the body names an owner: the upgrade rule, an account is owned by its id */
    memcpy(q->owner, open.id, sizeof q->owner);
    q->amount_minor = open.opening_balance_minor;
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

bool gateway_account_api_build_query(struct MHD_Connection *conn,
                                     const gateway_account_api_request_t *req, proto_query_t *q,
                                     enum MHD_Result *answered)
{
    assert(conn && req && q && answered);
    memset(q, 0, sizeof *q);
    if (req->route != GATEWAY_ACCOUNT_API_COLLECTION &&
        (req->id_too_long || !proto_account_id_valid_str(req->path_id))) {
        *answered = gateway_reply_not_found(conn, "no account with this id");
        return false;
    }
    switch (req->route) {
    case GATEWAY_ACCOUNT_API_COLLECTION:
        return req->is_post ? build_open(conn, req, q, answered) : build_list(conn, q, answered);
    case GATEWAY_ACCOUNT_API_ONE:
        q->op = PROTO_QUERY_GET;
        snprintf(q->account, sizeof q->account, "%s", req->path_id);
        return true;
    case GATEWAY_ACCOUNT_API_LEDGER:
        return build_ledger(conn, req->path_id, q, answered);
    }
    assert(!"not an account route");
    *answered = MHD_NO;
    return false;
}

/* --- replies to answers --------------------------------------------------- */

static json_t *account_json(const proto_account_t *a)
{
    int64_t available;
    json_t *avail = money_sub(a->balance_minor, a->held_minor, &available) == LEDGER_OK
                        ? json_integer(available)
                        : json_null();
    return json_pack("{s:o, s:o, s:o, s:I, s:I, s:o, s:b}", "id", gateway_reply_string(a->id),
                     "name", gateway_reply_string(a->name), "currency",
                     gateway_reply_string(a->currency), "balance", (json_int_t)a->balance_minor,
                     "held", (json_int_t)a->held_minor, "available", avail, "funding",
                     a->settlement);
}

static json_t *ledger_row_json(const proto_ledger_row_t *e)
{
    char at[CLOCK_UTC_TEXT_SIZE];
    return json_pack(
        "{s:I, s:o, s:o, s:o, s:I, s:I, s:I, s:s, s:I}", "seq", (json_int_t)e->seq, "account",
        gateway_reply_string(e->account), "transfer", gateway_reply_string(e->transfer), "kind",
        gateway_reply_string(e->kind), "amount", (json_int_t)e->amount_minor, "balance_after",
        (json_int_t)e->balance_after_minor, "held_after", (json_int_t)e->held_after_minor, "at",
        clock_format_utc(e->ts_ms, at), "ts_ms", (json_int_t)e->ts_ms);
}

static json_t *next_cursor_json(const char *next)
{
    return next[0] ? gateway_reply_string(next) : json_null();
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
        body = account_json(&rep->accounts[0]);
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
    case 404:
        return gateway_reply_errorf(conn, MHD_HTTP_NOT_FOUND, "not_found", NULL, "%s", message);
    case 409:
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

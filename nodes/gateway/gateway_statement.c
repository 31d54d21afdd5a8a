/*  gateway_statement.c: balance as of a time and statements, paged over account.query
    (gateway_statement.h). */
#include "gateway_statement.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "gateway_reply.h"
#include "gateway_request.h"
#include "money.h"
#include "text.h"

#define FILE_TIME_SIZE 17 /* "YYYYMMDDTHHMMSSZ" and its NUL */

struct gateway_statement_t {
    char account[PROTO_ACCOUNT_ID_MAX + 1];
    char currency[PROTO_CURRENCY_LEN + 1];
    uint64_t from_ms, to_ms; /* [from, to), to clamped to now */
    bool csv;
    bool have_opening;
    int64_t opening_minor;
    int64_t closing_minor;
    uint64_t cursor; /* the seq of the last entry read (0: none yet) */
    size_t count;
    json_t *entries;
};

/* --- balance as of a time --------------------------------------------------- */

bool gateway_statement_build_balance(struct MHD_Connection *conn, const char *account,
                                     proto_query_t *q, enum MHD_Result *answered)
{
    assert(conn && account && q && answered);
    gateway_request_error_t err;
    const char *at = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "at");
    if (!at) {
        gateway_request_fail(&err, 400, "missing_query", "at",
                             "at is required: an RFC 3339 time, e.g. 2026-12-01T00:00:00Z");
        *answered = gateway_reply_error(conn, &err, NULL, 0);
        return false;
    }
    if (gateway_request_parse_time(at, "at", &q->at_ms, &err)) {
        *answered = gateway_reply_error(conn, &err, NULL, 0);
        return false;
    }
    q->op = PROTO_QUERY_BALANCE_AT;
    snprintf(q->account, sizeof q->account, "%s", account);
    return true;
}

enum MHD_Result gateway_statement_answer_balance(struct MHD_Connection *conn,
                                                 const proto_account_reply_t *rep)
{
    assert(conn && rep && rep->account_count == 1);
    const proto_account_t *a = &rep->accounts[0];
    gateway_request_error_t err;
    uint64_t at_ms = 0;
    const char *at = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "at");
    if (!at || gateway_request_parse_time(at, "at", &at_ms, &err)) /* checked by the build */
        return gateway_reply_errorf(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal_error", "at",
                                    "the request's at changed while it was answered");
    int64_t available;
    json_t *avail = money_sub(a->balance_minor, a->held_minor, &available) == LEDGER_OK
                        ? json_integer(available)
                        : json_null();
    char text[CLOCK_UTC_TEXT_SIZE];
    return gateway_reply_json(
        conn, MHD_HTTP_OK,
        json_pack("{s:o, s:o, s:s, s:I, s:I, s:o}", "account", gateway_reply_string(a->id),
                  "currency", gateway_reply_string(a->currency), "at",
                  clock_format_utc(at_ms, text), "balance", (json_int_t)a->balance_minor, "held",
                  (json_int_t)a->held_minor, "available", avail),
        NULL, 0);
}

/* --- statement: the request ---------------------------------------------------- */

/* The statement's interval and format from the query values: true, else *err filled. */
static bool parse_interval(struct MHD_Connection *conn, uint64_t now_ms, gateway_statement_t *st,
                           gateway_request_error_t *err)
{
    const char *from = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "from");
    const char *to = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "to");
    const char *format = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "format");
    if (!from) {
        gateway_request_fail(err, 400, "missing_query", "from",
                             "from is required: an RFC 3339 time, e.g. 2026-12-01T00:00:00Z");
        return false;
    }
    if (gateway_request_parse_time(from, "from", &st->from_ms, err))
        return false;
    st->to_ms = now_ms;
    if (to && gateway_request_parse_time(to, "to", &st->to_ms, err))
        return false;
    if (format && strcmp(format, "csv") != 0 && strcmp(format, "json") != 0) {
        gateway_request_fail(err, 400, "invalid_query", "format", "format must be json or csv");
        return false;
    }
    st->csv = format && strcmp(format, "csv") == 0;
    /* Entries after now may still come: the statement ends now, so its pages cannot change. */
    if (st->to_ms > now_ms)
        st->to_ms = now_ms;
    if (st->from_ms >= st->to_ms) {
        gateway_request_fail(err, 400, "invalid_query", "from",
                             "from must be before to (and before now): the interval is [from, to)");
        return false;
    }
    return true;
}

/* The statement query of st's page after st->cursor. */
static void page_query(const gateway_statement_t *st, proto_query_t *q)
{
    memset(q, 0, sizeof *q);
    q->op = PROTO_QUERY_STATEMENT;
    snprintf(q->account, sizeof q->account, "%s", st->account);
    q->from_ms = st->from_ms;
    q->to_ms = st->to_ms;
    q->cursor = st->cursor;
    q->limit = PROTO_PAGE_MAX;
}

bool gateway_statement_build(struct MHD_Connection *conn, const char *account, uint64_t now_ms,
                             proto_query_t *q, gateway_statement_t **out, enum MHD_Result *answered)
{
    assert(conn && account && q && out && answered);
    gateway_statement_t *st = calloc(1, sizeof *st);
    if (!st || !(st->entries = json_array())) {
        free(st);
        *answered = gateway_reply_errorf(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "overloaded", NULL,
                                         "the gateway is out of memory; retry later");
        return false;
    }
    gateway_request_error_t err;
    snprintf(st->account, sizeof st->account, "%s", account);
    if (!parse_interval(conn, now_ms, st, &err)) {
        gateway_statement_free(&st);
        *answered = gateway_reply_error(conn, &err, NULL, 0);
        return false;
    }
    page_query(st, q);
    *out = st;
    return true;
}

/* --- statement: the pages ------------------------------------------------------ */

static json_t *entry_json(const proto_ledger_row_t *e)
{
    char at[CLOCK_UTC_TEXT_SIZE];
    return json_pack("{s:I, s:s, s:o, s:o, s:I, s:I, s:I, s:o}", "seq", (json_int_t)e->seq, "at",
                     clock_format_utc(e->ts_ms, at), "kind", gateway_reply_string(e->kind),
                     "transfer", gateway_reply_string(e->transfer), "amount",
                     (json_int_t)e->amount_minor, "balance_after",
                     (json_int_t)e->balance_after_minor, "held_after",
                     (json_int_t)e->held_after_minor, "memo", gateway_reply_string(e->memo));
}

/* Takes one page: its entries, and the opening balance from the first. false: out of memory. */
static bool take_page(gateway_statement_t *st, const proto_account_reply_t *rep)
{
    if (!st->have_opening) {
        st->have_opening = true;
        st->opening_minor = st->closing_minor = rep->accounts[0].balance_minor;
        snprintf(st->currency, sizeof st->currency, "%s", rep->accounts[0].currency);
    }
    for (uint32_t i = 0; i < rep->entry_count; i++) {
        const proto_ledger_row_t *e = &rep->entries[i];
        if (json_array_append_new(st->entries, entry_json(e)) != 0)
            return false;
        st->closing_minor = e->balance_after_minor;
        st->cursor = e->seq;
        st->count++;
    }
    return true;
}

static enum MHD_Result answer_json(struct MHD_Connection *conn, const gateway_statement_t *st)
{
    char from[CLOCK_UTC_TEXT_SIZE], to[CLOCK_UTC_TEXT_SIZE];
    return gateway_reply_json(
        conn, MHD_HTTP_OK,
        json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:O}", "account", st->account, "currency",
                  st->currency, "from", clock_format_utc(st->from_ms, from), "to",
                  clock_format_utc(st->to_ms, to), "opening_balance", (json_int_t)st->opening_minor,
                  "closing_balance", (json_int_t)st->closing_minor, "entries", st->entries),
        NULL, 0);
}

bool gateway_statement_csv_field(char *out, size_t cap, size_t *len, const char *text)
{
    assert(out && len && text && *len < cap);
    bool quote = strpbrk(text, ",\"\r\n") != NULL;
    size_t need = strlen(text) + (quote ? 2 : 0);
    for (const char *p = text; quote && *p; p++)
        need += *p == '"';
    if (need >= cap - *len) /* and room for the NUL */
        return false;
    char *w = out + *len;
    if (quote)
        *w++ = '"';
    for (const char *p = text; *p; p++) {
        if (*p == '"')
            *w++ = '"';
        *w++ = *p;
    }
    if (quote)
        *w++ = '"';
    *w = '\0';
    *len += need;
    return true;
}

/* A growing CSV text. */
typedef struct {
    char *text;
    size_t len, cap;
    bool ok;
} csv_t;

/* Makes room for `more` bytes and a NUL. */
static bool csv_reserve(csv_t *c, size_t more)
{
    if (c->ok && more < c->cap - c->len)
        return true;
    size_t cap = c->cap ? c->cap : 4096;
    while (c->ok && cap - c->len <= more)
        cap *= 2;
    char *grown = c->ok ? realloc(c->text, cap) : NULL;
    if (!grown)
        return c->ok = false;
    c->text = grown;
    c->cap = cap;
    return true;
}

/* Text as is (separators, numbers). */
static void csv_raw(csv_t *c, const char *text)
{
    size_t n = strlen(text);
    if (csv_reserve(c, n)) {
        memcpy(c->text + c->len, text, n + 1);
        c->len += n;
    }
}

/* Text as one quoted-when-needed field (at most twice its length plus the quotes). */
static void csv_text(csv_t *c, const char *text)
{
    if (csv_reserve(c, 2 * strlen(text) + 2))
        c->ok = gateway_statement_csv_field(c->text, c->cap, &c->len, text);
}

/* One entry (a JSON object of entry_json) as a CSV row. */
static void csv_row(csv_t *c, const json_t *e)
{
    char number[96];
    snprintf(number, sizeof number, "%lld,%s,",
             (long long)json_integer_value(json_object_get(e, "seq")),
             json_string_value(json_object_get(e, "at")));
    csv_raw(c, number);
    csv_text(c, json_string_value(json_object_get(e, "kind")));
    csv_raw(c, ",");
    csv_text(c, json_string_value(json_object_get(e, "transfer")));
    snprintf(number, sizeof number, ",%lld,%lld,%lld,",
             (long long)json_integer_value(json_object_get(e, "amount")),
             (long long)json_integer_value(json_object_get(e, "balance_after")),
             (long long)json_integer_value(json_object_get(e, "held_after")));
    csv_raw(c, number);
    csv_text(c, json_string_value(json_object_get(e, "memo")));
    csv_raw(c, "\r\n");
}

/* "YYYYMMDDTHHMMSSZ" of unix ms, for a file name. */
static const char *file_time(uint64_t ms, char out[FILE_TIME_SIZE])
{
    char utc[CLOCK_UTC_TEXT_SIZE];
    clock_format_utc(ms, utc); /* YYYY-MM-DDTHH:MM:SS.mmmZ */
    snprintf(out, FILE_TIME_SIZE, "%.4s%.2s%.2sT%.2s%.2s%.2sZ", utc, utc + 5, utc + 8, utc + 11,
             utc + 14, utc + 17);
    return out;
}

static enum MHD_Result answer_csv(struct MHD_Connection *conn, const gateway_statement_t *st)
{
    csv_t c = {.ok = true};
    csv_raw(&c, "seq,at,kind,transfer,amount,balance_after,held_after,memo\r\n");
    for (size_t i = 0; i < json_array_size(st->entries); i++)
        csv_row(&c, json_array_get(st->entries, i));
    struct MHD_Response *response =
        c.ok ? MHD_create_response_from_buffer(c.len, c.text, MHD_RESPMEM_MUST_FREE) : NULL;
    if (!response) {
        free(c.text);
        return gateway_reply_errorf(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "overloaded", NULL,
                                    "the gateway is out of memory; retry later");
    }
    char from[FILE_TIME_SIZE], to[FILE_TIME_SIZE], header[192], opening[24], closing[24];
    snprintf(header, sizeof header, "attachment; filename=\"statement-%s-%s-%s.csv\"", st->account,
             file_time(st->from_ms, from), file_time(st->to_ms, to));
    snprintf(opening, sizeof opening, "%lld", (long long)st->opening_minor);
    snprintf(closing, sizeof closing, "%lld", (long long)st->closing_minor);
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "text/csv; charset=utf-8");
    MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_DISPOSITION, header);
    MHD_add_response_header(response, "X-Opening-Balance", opening);
    MHD_add_response_header(response, "X-Closing-Balance", closing);
    enum MHD_Result result = MHD_queue_response(conn, MHD_HTTP_OK, response);
    MHD_destroy_response(response);
    return result;
}

bool gateway_statement_next(struct MHD_Connection *conn, gateway_statement_t *st,
                            const proto_account_reply_t *rep, proto_query_t *q,
                            enum MHD_Result *answered)
{
    assert(conn && st && rep && q && answered && rep->status == 200 && rep->account_count == 1);
    if (rep->entry_count > GATEWAY_STATEMENT_MAX_ENTRIES - st->count) {
        *answered = gateway_reply_errorf(
            conn, MHD_HTTP_UNPROCESSABLE_CONTENT, "statement_too_large", "from",
            "the interval holds more than %d entries: narrow it (from, to)",
            GATEWAY_STATEMENT_MAX_ENTRIES);
        return false;
    }
    if (!take_page(st, rep)) {
        *answered = gateway_reply_errorf(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "overloaded", NULL,
                                         "the gateway is out of memory; retry later");
        return false;
    }
    uint64_t next = 0;
    if (rep->next[0] && rep->entry_count > 0 && text_parse_u64(rep->next, &next) &&
        next == st->cursor) {
        page_query(st, q);
        return true;
    }
    if (rep->next[0]) { /* a cursor that is not the page's last seq: the node broke the op */
        *answered = gateway_reply_errorf(conn, MHD_HTTP_BAD_GATEWAY, "accounts_error", NULL,
                                         "the accounts node gave a statement cursor the gateway "
                                         "cannot use");
        return false;
    }
    *answered = st->csv ? answer_csv(conn, st) : answer_json(conn, st);
    return false;
}

void gateway_statement_free(gateway_statement_t **st_p)
{
    if (!st_p || !*st_p)
        return;
    json_decref((*st_p)->entries);
    free(*st_p);
    *st_p = NULL;
}

/*  gateway_http.c: the public HTTP API of the gateway.

    Three kinds of thread meet here (see gateway_http.h for the why):
      - MHD workers run on_request(): routing, validation, store reads, and
        handing slow work to the two threads below by suspending the
        connection;
      - whoever commits the queued transfer submissions groups them into
        one durable write transaction, then resumes their connections: the
        node loop (config.loop_commits, as ledger-gateway runs it: through
        gateway_http_take / _apply_taken / _finish_taken) or else the
        committer thread, which also prunes idempotency keys;
      - the accounts client owns the DEALER to the accounts node, sends
        account.query envelopes, and resumes connections on reply or deadline.

    A request's state (request_t) lives from MHD's first call of on_request
    to its completion callback. While its connection is suspended, the job
    embedded in it belongs to the committing thread or the accounts thread; after
    that thread resumes the connection it never touches the job again.
    `lock` guards both queues, the `done` flags and `stopping`.
*/
#include "gateway_http.h"
#include "text.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <czmq.h>
#include <microhttpd.h>
#include <sodium.h>

#include "gateway_batch.h"
#include "gateway_events.h"
#include "gateway_static.h"
#include "gateway_stream.h"
#include "money.h"
#include "clock.h"

#define ENDPOINT_MAX 256
#define ADDRESS_MAX 64
#define QUERY_ORIGIN_FALLBACK "gateway-q"
#define SEND_RETRY_MS 20 /* retry of a query send while no accounts connection is up */
#define ACCOUNTS_POLL_MAX_MS 1000
#define COMMITTER_IDLE_WAIT_MS 1000
#define BODY_INITIAL_BYTES 1024
#define ZMQ_FRAME_LIMIT (PROTO_FRAME_MAX + 1024) /* ZMQ_MAXMSGSIZE on the DEALER */
#define ACCOUNTS_SNDHWM 1024

/* --- jobs and per-request state ------------------------------------------- */

typedef struct submit_job {
    struct submit_job *next;
    gateway_transfer_request_t req;
    char key[GATEWAY_IDEMPOTENCY_KEY_MAX + 1];
    struct MHD_Connection *conn;
    bool done;
    ledger_err_t err;
    gateway_submit_result_t result;
    gateway_batch_t *batch; /* POST /api/transfers/batch: every item of it (owned) */
} submit_job_t;

typedef enum { QUERY_OK, QUERY_TIMEOUT, QUERY_STOPPING, QUERY_BAD_REPLY } query_outcome_t;

typedef struct query_job {
    struct query_job *next;
    proto_query_op_t op;
    uint64_t tag;
    void *data; /* encoded account.query envelope */
    size_t size;
    uint64_t deadline_mono_ms;
    bool sent;
    struct MHD_Connection *conn;
    bool done;
    query_outcome_t outcome;
    char why[PROTO_REASON_MAX + 1];
    bool has_reply;
    proto_msg_t reply;
} query_job_t;

typedef enum {
    ROUTE_NONE = 0,
    ROUTE_HEALTH,
    ROUTE_TRANSFERS,
    ROUTE_TRANSFER,
    ROUTE_ACCOUNTS,
    ROUTE_ACCOUNT,
    ROUTE_ACCOUNT_LEDGER,
    ROUTE_TRANSFERS_BATCH,
} route_t;

typedef enum { WAIT_NONE = 0, WAIT_SUBMIT, WAIT_QUERY } wait_t;

typedef struct {
    route_t route;
    bool is_post;
    char method[8]; /* as sent (truncated), for config.count_request */
    bool id_too_long;
    char path_id[PROTO_ACCOUNT_ID_MAX + 1]; /* {id} of the path (transfer or account) */
    char *body;
    size_t body_len;
    size_t body_cap;
    size_t discarded;
    bool too_large;
    wait_t wait;
    submit_job_t submit;
    query_job_t query;
} request_t;

struct gateway_http_t {
    store_t *store;
    char node_name[PROTO_NODE_MAX + 1];
    char query_origin[PROTO_NODE_MAX + 1];
    char accounts_endpoint[ENDPOINT_MAX];
    uint32_t query_timeout_ms;
    uint64_t retention_ms;
    size_t body_max_bytes;
    uint64_t max_pending; /* admission control (config.max_pending) */
    void (*wake)(void *arg);
    void *wake_arg;
    void (*publish)(void *arg, const node_published_t *items, size_t count);
    void *publish_arg;
    void (*log)(void *arg, const char *line);
    void *log_arg;
    void (*count_request)(void *arg, const char *method, const char *route, unsigned status);
    void *count_request_arg;
    uint64_t (*now_ms)(void);

    struct MHD_Daemon *daemon;
    uint16_t port;

    pthread_mutex_t lock;
    pthread_cond_t submit_cond;
    bool stopping;
    submit_job_t *submit_head, *submit_tail;
    query_job_t *query_head, *query_tail;

    pthread_t committer;
    bool committer_started;
    bool loop_commits; /* config.loop_commits: the node loop commits the submissions */
    node_ctx_t ctx;    /* the committer's */
    /* Jobs taken from the queue for one commit, by the committer or the node loop (never both:
       with loop_commits the committer takes jobs only once the loop has stopped). */
    submit_job_t *batch[GATEWAY_HTTP_BATCH_MAX];
    size_t taken;
    size_t taken_created; /* transfers the taken jobs created (not replays) */

    pthread_t accounts;
    bool accounts_started;
    zsock_t *dealer;
    int wake_fd; /* eventfd: new queries or stopping */
    atomic_uint_fast64_t query_seq;

    gateway_streams_t *streams; /* GET /api/events (gateway_stream.h) */
    gateway_static_t *web;      /* the web app at / (gateway_static.h) */
};

/* --- clocks and logging --------------------------------------------------- */

static uint64_t wall_ms(const gateway_http_t *gw)
{
    return gw->now_ms ? gw->now_ms() : clock_wall_ms();
}

__attribute__((format(printf, 2, 3))) static void gw_log(const gateway_http_t *gw, const char *fmt,
                                                         ...)
{
    if (!gw->log)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    gw->log(gw->log_arg, line);
}

/* --- errors --------------------------------------------------------------- */

__attribute__((format(printf, 5, 6))) static ledger_err_t fail(gateway_error_t *err,
                                                               unsigned status, const char *code,
                                                               const char *field, const char *fmt,
                                                               ...)
{
    err->http_status = status;
    snprintf(err->code, sizeof err->code, "%s", code);
    snprintf(err->field, sizeof err->field, "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    /* Truncation may cut a UTF-8 sequence; the text must stay valid JSON text. */
    gateway_view_text_sanitize(err->field);
    gateway_view_text_sanitize(err->message);
    return LEDGER_E_INVALID;
}

/* --- request validation --------------------------------------------------- */

static const char *json_type_name(const json_t *value)
{
    switch (json_typeof(value)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a fractional number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "a value";
}

/* Parses the body into an object; `number_field` names the field blamed for a number that
   does not fit in int64. NULL with `err` filled on failure. */
static json_t *load_object(const char *body, size_t len, const char *number_field,
                           gateway_error_t *err)
{
    if (len == 0) {
        fail(err, 400, "invalid_json", NULL, "the request body is empty: send a JSON object");
        return NULL;
    }
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        switch (json_error_code(&jerr)) {
        case json_error_duplicate_key:
            fail(err, 400, "invalid_json", NULL, "a key appears twice in the body (%s)", jerr.text);
            break;
        case json_error_numeric_overflow:
            fail(err, 400, "invalid_field", number_field,
                 "%s must be an integer between %s and 9223372036854775807 minor units",
                 number_field, strcmp(number_field, "amount") == 0 ? "1" : "0");
            break;
        default:
            fail(err, 400, "invalid_json", NULL, "malformed JSON at line %d column %d: %s",
                 jerr.line, jerr.column, jerr.text);
            break;
        }
        return NULL;
    }
    if (!json_is_object(root)) {
        fail(err, 400, "invalid_json", NULL, "the body must be a JSON object, not %s",
             json_type_name(root));
        json_decref(root);
        return NULL;
    }
    return root;
}

static bool check_known_fields(const json_t *root, const char *const *known, size_t known_count,
                               gateway_error_t *err)
{
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)root, key, value)
    {
        bool found = false;
        for (size_t i = 0; i < known_count && !found; i++)
            found = strcmp(key, known[i]) == 0;
        if (!found) {
            fail(err, 400, "unknown_field", key, "unknown field \"%.64s\"", key);
            return false;
        }
    }
    return true;
}

typedef enum { FIELD_ABSENT, FIELD_SET, FIELD_BAD } field_result_t;

/* A string field: absent (or null when optional), set, or bad (err filled). */
static field_result_t get_text_field(const json_t *root, const char *name, bool required,
                                     size_t max_len, char *dst, size_t dst_size,
                                     gateway_error_t *err)
{
    assert(max_len < dst_size);
    const json_t *value = json_object_get(root, name);
    if (!value || (!required && json_is_null(value))) {
        if (required) {
            fail(err, 400, "missing_field", name, "%s is required", name);
            return FIELD_BAD;
        }
        return FIELD_ABSENT;
    }
    if (!json_is_string(value)) {
        fail(err, 400, "invalid_field", name, "%s must be a string, not %s", name,
             json_type_name(value));
        return FIELD_BAD;
    }
    size_t len = json_string_length(value);
    if (len > max_len) {
        fail(err, 400, "invalid_field", name, "%s is longer than %zu bytes", name, max_len);
        return FIELD_BAD;
    }
    memcpy(dst, json_string_value(value), len + 1);
    return FIELD_SET;
}

static bool get_account_id(const json_t *root, const char *name, char *dst, size_t dst_size,
                           gateway_error_t *err)
{
    field_result_t r = get_text_field(root, name, true, PROTO_ACCOUNT_ID_MAX, dst, dst_size, err);
    if (r == FIELD_BAD)
        return false;
    if (!proto_account_id_valid_str(dst)) {
        fail(err, 400, "invalid_field", name,
             "%s must be an account id: 1 to %d characters of a-z, 0-9, '_' and '-'", name,
             PROTO_ACCOUNT_ID_MAX);
        return false;
    }
    return true;
}

static bool get_currency(const json_t *root, char *dst, size_t dst_size, gateway_error_t *err)
{
    char text[16 + 1];
    field_result_t r = get_text_field(root, "currency", false, 16, text, sizeof text, err);
    if (r == FIELD_BAD)
        return false;
    if (r == FIELD_ABSENT) {
        snprintf(dst, dst_size, "%s", GATEWAY_CURRENCY_DEFAULT);
        return true;
    }
    bool ok = strlen(text) == PROTO_CURRENCY_LEN;
    for (int i = 0; ok && i < PROTO_CURRENCY_LEN; i++)
        ok = text[i] >= 'A' && text[i] <= 'Z';
    if (!ok) {
        fail(err, 400, "invalid_field", "currency",
             "currency must be a 3-letter upper-case ISO 4217 code such as \"GBP\"");
        return false;
    }
    snprintf(dst, dst_size, "%s", text);
    return true;
}

/* An integer amount field with a lower bound (1 for transfers, 0 for opening balances). */
static field_result_t get_amount(const json_t *root, const char *name, bool required, int64_t min,
                                 int64_t *out, gateway_error_t *err)
{
    const json_t *value = json_object_get(root, name);
    if (!value || (!required && json_is_null(value))) {
        if (required) {
            fail(err, 400, "missing_field", name,
                 "%s is required: an integer number of minor units (pence)", name);
            return FIELD_BAD;
        }
        return FIELD_ABSENT;
    }
    if (!json_is_integer(value)) {
        fail(err, 400, "invalid_field", name,
             "%s must be an integer number of minor units (e.g. 1050 for 10.50), not %s", name,
             json_type_name(value));
        return FIELD_BAD;
    }
    json_int_t amount = json_integer_value(value);
    if (amount < min) {
        fail(err, 400, "invalid_field", name, "%s must be %s", name,
             min > 0 ? "greater than zero" : "zero or more");
        return FIELD_BAD;
    }
    *out = (int64_t)amount;
    return FIELD_SET;
}

ledger_err_t gateway_parse_transfer_request(const char *body, size_t len,
                                            gateway_transfer_request_t *out, gateway_error_t *err)
{
    assert(out && err);
    json_t *root = load_object(body, len, "amount", err);
    if (!root)
        return LEDGER_E_INVALID;
    ledger_err_t result = gateway_transfer_request_from_json(root, out, err);
    json_decref(root);
    return result;
}

ledger_err_t gateway_transfer_request_from_json(const json_t *root, gateway_transfer_request_t *out,
                                                gateway_error_t *err)
{
    assert(root && out && err);
    static const char *const known[] = {"from", "to", "amount", "currency", "reference"};
    gateway_transfer_request_t req;
    memset(&req, 0, sizeof req);
    if (!json_is_object(root))
        return fail(err, 400, "invalid_json", NULL, "a transfer must be a JSON object, not %s",
                    json_type_name(root));
    bool ok = check_known_fields(root, known, sizeof known / sizeof known[0], err) &&
              get_account_id(root, "from", req.from, sizeof req.from, err) &&
              get_account_id(root, "to", req.to, sizeof req.to, err) &&
              get_amount(root, "amount", true, 1, &req.amount_minor, err) == FIELD_SET &&
              get_currency(root, req.currency, sizeof req.currency, err) &&
              get_text_field(root, "reference", false, PROTO_REFERENCE_MAX, req.reference,
                             sizeof req.reference, err) != FIELD_BAD;
    if (!ok)
        return LEDGER_E_INVALID;
    if (!gateway_view_text_valid(req.reference))
        return fail(err, 400, "invalid_field", "reference",
                    "reference must be text without control characters");
    if (strcmp(req.from, req.to) == 0)
        return fail(err, 422, "same_account", "to",
                    "from and to are the same account: a transfer needs two accounts");
    *out = req;
    return LEDGER_OK;
}

ledger_err_t gateway_parse_account_request(const char *body, size_t len,
                                           gateway_account_request_t *out, gateway_error_t *err)
{
    assert(out && err);
    static const char *const known[] = {"id", "name", "currency", "opening_balance"};
    gateway_account_request_t req;
    memset(&req, 0, sizeof req);
    json_t *root = load_object(body, len, "opening_balance", err);
    if (!root)
        return LEDGER_E_INVALID;
    bool ok =
        check_known_fields(root, known, sizeof known / sizeof known[0], err) &&
        get_account_id(root, "id", req.id, sizeof req.id, err) &&
        get_text_field(root, "name", true, PROTO_NAME_MAX, req.name, sizeof req.name, err) ==
            FIELD_SET &&
        get_currency(root, req.currency, sizeof req.currency, err) &&
        get_amount(root, "opening_balance", false, 0, &req.opening_balance_minor, err) != FIELD_BAD;
    json_decref(root);
    if (!ok)
        return LEDGER_E_INVALID;
    if (req.name[0] == '\0' || !gateway_view_text_valid(req.name))
        return fail(err, 400, "invalid_field", "name",
                    "name must be 1 to %d bytes of text without control characters",
                    PROTO_NAME_MAX);
    *out = req;
    return LEDGER_OK;
}

ledger_err_t gateway_check_idempotency_key(const char *value, unsigned count, gateway_error_t *err)
{
    assert(err);
    if (!value || count == 0)
        return fail(err, 400, "missing_idempotency_key", "Idempotency-Key",
                    "the Idempotency-Key header is required: a unique value per transfer, "
                    "reused only to retry that same transfer");
    if (count > 1)
        return fail(err, 400, "invalid_idempotency_key", "Idempotency-Key",
                    "send the Idempotency-Key header once");
    if (!gateway_view_idempotency_key_valid(value, strlen(value)))
        return fail(err, 400, "invalid_idempotency_key", "Idempotency-Key",
                    "the Idempotency-Key must be 1 to %d visible ASCII characters (no spaces)",
                    GATEWAY_IDEMPOTENCY_KEY_MAX);
    return LEDGER_OK;
}

/* Decimal digits only, no sign, no leading '+', value fits in uint64. */

ledger_err_t gateway_parse_limit(const char *value, uint32_t default_limit, uint32_t max_limit,
                                 uint32_t *out, gateway_error_t *err)
{
    assert(out && err);
    if (!value) {
        *out = default_limit;
        return LEDGER_OK;
    }
    uint64_t limit;
    if (!text_parse_u64(value, &limit) || limit < 1 || limit > max_limit)
        return fail(err, 400, "invalid_query", "limit", "limit must be an integer from 1 to %u",
                    (unsigned)max_limit);
    *out = (uint32_t)limit;
    return LEDGER_OK;
}

bool gateway_content_type_is_json(const char *value)
{
    static const char media[] = "application/json";
    if (!value)
        return false;
    while (*value == ' ' || *value == '\t')
        value++;
    if (strncasecmp(value, media, sizeof media - 1) != 0)
        return false;
    char next = value[sizeof media - 1];
    return next == '\0' || next == ';' || next == ' ' || next == '\t';
}

/* --- responses ------------------------------------------------------------ */

typedef struct {
    const char *name;
    const char *value;
} header_t;

/*  Queues `text` (`size` bytes, stolen; NULL: out of memory, answered 500)
    as JSON with `status` and extra headers. */
static enum MHD_Result send_json_text(struct MHD_Connection *conn, unsigned status, char *text,
                                      size_t size, const header_t *headers, size_t header_count)
{
    struct MHD_Response *response;
    if (text) {
        response = MHD_create_response_from_buffer(size, text, MHD_RESPMEM_MUST_FREE);
    } else {
        static const char oom[] = "{\"error\":{\"code\":\"internal_error\",\"message\":\"out of "
                                  "memory\",\"field\":null}}";
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        response =
            MHD_create_response_from_buffer(sizeof oom - 1, (void *)oom, MHD_RESPMEM_PERSISTENT);
    }
    if (!response) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    for (size_t i = 0; i < header_count; i++)
        MHD_add_response_header(response, headers[i].name, headers[i].value);
    enum MHD_Result result = MHD_queue_response(conn, status, response);
    MHD_destroy_response(response);
    return result;
}

/* Queues `body` (stolen) as JSON with `status` and extra headers. */
static enum MHD_Result send_json(struct MHD_Connection *conn, unsigned status, json_t *body,
                                 const header_t *headers, size_t header_count)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    return send_json_text(conn, status, text, text ? strlen(text) : 0, headers, header_count);
}

static json_t *json_text(const char *text)
{
    json_t *value = json_string(text);
    if (value)
        return value;
    char copy[GATEWAY_HTTP_ERROR_MESSAGE_MAX + 1];
    snprintf(copy, sizeof copy, "%s", text);
    gateway_view_text_sanitize(copy);
    return json_string(copy);
}

static enum MHD_Result send_error_with(struct MHD_Connection *conn, const gateway_error_t *err,
                                       const header_t *headers, size_t header_count)
{
    json_t *body = json_pack("{s:{s:o, s:o, s:o}}", "error", "code", json_text(err->code),
                             "message", json_text(err->message), "field",
                             err->field[0] ? json_text(err->field) : json_null());
    return send_json(conn, err->http_status, body, headers, header_count);
}

static enum MHD_Result send_error(struct MHD_Connection *conn, const gateway_error_t *err)
{
    return send_error_with(conn, err, NULL, 0);
}

__attribute__((format(printf, 5, 6))) static enum MHD_Result
reply_error(struct MHD_Connection *conn, unsigned status, const char *code, const char *field,
            const char *fmt, ...)
{
    gateway_error_t err = {.http_status = status};
    snprintf(err.code, sizeof err.code, "%s", code);
    snprintf(err.field, sizeof err.field, "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err.message, sizeof err.message, fmt, ap);
    va_end(ap);
    gateway_view_text_sanitize(err.field);
    gateway_view_text_sanitize(err.message);
    return send_error(conn, &err);
}

static enum MHD_Result reply_not_found(struct MHD_Connection *conn, const char *what)
{
    return reply_error(conn, MHD_HTTP_NOT_FOUND, "not_found", NULL, "%s", what);
}

static enum MHD_Result reply_shutting_down(struct MHD_Connection *conn)
{
    return reply_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting_down", NULL,
                       "the gateway is shutting down; retry shortly");
}

/* --- routing -------------------------------------------------------------- */

static const char *route_allow(route_t route)
{
    switch (route) {
    case ROUTE_TRANSFERS:
    case ROUTE_ACCOUNTS:
        return "GET, HEAD, POST";
    case ROUTE_TRANSFERS_BATCH:
        return "POST";
    case ROUTE_HEALTH:
    case ROUTE_TRANSFER:
    case ROUTE_ACCOUNT:
    case ROUTE_ACCOUNT_LEDGER:
        return "GET, HEAD";
    case ROUTE_NONE:
        break;
    }
    return "";
}

/* Copies one path segment (up to '/' or the end) into r->path_id; *rest_out points after it. */
static void take_segment(request_t *r, const char *segment, const char **rest_out)
{
    size_t len = strcspn(segment, "/");
    r->id_too_long = len > PROTO_ACCOUNT_ID_MAX;
    if (!r->id_too_long) {
        memcpy(r->path_id, segment, len);
        r->path_id[len] = '\0';
    }
    *rest_out = segment + len;
}

static route_t route_match(const char *url, request_t *r)
{
    static const char transfers[] = "/api/transfers";
    static const char accounts[] = "/api/accounts";
    if (strcmp(url, "/api/health") == 0)
        return ROUTE_HEALTH;
    if (strcmp(url, transfers) == 0)
        return ROUTE_TRANSFERS;
    if (strcmp(url, accounts) == 0)
        return ROUTE_ACCOUNTS;
    if (strcmp(url, "/api/transfers/batch") == 0)
        return ROUTE_TRANSFERS_BATCH;
    const char *rest;
    if (strncmp(url, transfers, sizeof transfers - 1) == 0 && url[sizeof transfers - 1] == '/' &&
        url[sizeof transfers] != '\0') {
        take_segment(r, url + sizeof transfers, &rest);
        return *rest == '\0' ? ROUTE_TRANSFER : ROUTE_NONE;
    }
    if (strncmp(url, accounts, sizeof accounts - 1) == 0 && url[sizeof accounts - 1] == '/' &&
        url[sizeof accounts] != '\0') {
        take_segment(r, url + sizeof accounts, &rest);
        if (*rest == '\0')
            return ROUTE_ACCOUNT;
        if (strcmp(rest, "/ledger") == 0)
            return ROUTE_ACCOUNT_LEDGER;
    }
    return ROUTE_NONE;
}

/*  Paths that are no API route: GET /api/events (Server-Sent Events,
    gateway_stream.h), other /api paths 404, everything else the web app
    (gateway_static.h: files of web_dir, index.html fallback). */
static enum MHD_Result serve_unrouted(gateway_http_t *gw, struct MHD_Connection *conn,
                                      const char *url, const char *method)
{
    if (strcmp(url, "/api/events") == 0)
        return gateway_streams_serve(gw->streams, conn, method);
    if (strcmp(url, "/api") == 0 || strncmp(url, "/api/", 5) == 0)
        return reply_not_found(conn, "no such resource");
    return gateway_static_serve(gw->web, conn, url, method);
}

/* --- store reads (worker threads) ----------------------------------------- */

static enum MHD_Result reply_store_error(gateway_http_t *gw, struct MHD_Connection *conn,
                                         ledger_err_t err, const char *what)
{
    gw_log(gw, "gateway http: %s failed: %s (%s)", what, ledger_err_name(err),
           store_last_error(gw->store));
    if (err == LEDGER_E_CORRUPT || err == LEDGER_E_NOMEM || err == LEDGER_E_INVALID)
        return reply_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal_error", NULL,
                           "the gateway could not %s (%s)", what, ledger_err_name(err));
    return reply_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "storage_unavailable", NULL,
                       "the gateway's storage is unavailable (%s); retry later",
                       ledger_err_name(err));
}

static enum MHD_Result serve_transfer(gateway_http_t *gw, struct MHD_Connection *conn, request_t *r)
{
    if (r->id_too_long || !gateway_view_transfer_id_valid(r->path_id))
        return reply_not_found(conn, "no transfer with this id");
    store_txn_t *txn = NULL;
    json_t *transfer = NULL;
    ledger_err_t err = store_txn_begin(gw->store, false, &txn);
    if (!err)
        err = gateway_view_transfer_get(txn, r->path_id, &transfer);
    store_txn_abort(&txn);
    if (err == LEDGER_E_NOT_FOUND)
        return reply_not_found(conn, "no transfer with this id");
    if (err)
        return reply_store_error(gw, conn, err, "read the transfer");
    return send_json(conn, MHD_HTTP_OK, transfer, NULL, 0);
}

static enum MHD_Result serve_transfer_list(gateway_http_t *gw, struct MHD_Connection *conn)
{
    gateway_error_t verr;
    uint32_t limit = 0;
    const char *limit_text = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "limit");
    if (gateway_parse_limit(limit_text, GATEWAY_LIST_DEFAULT, GATEWAY_LIST_MAX, &limit, &verr))
        return send_error(conn, &verr);
    const char *cursor = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "cursor");
    if (cursor && cursor[0] && !gateway_view_transfer_id_valid(cursor))
        return reply_error(conn, 400, "invalid_query", "cursor",
                           "cursor must be a transfer id, as given in next_cursor");
    store_txn_t *txn = NULL;
    json_t *page = NULL;
    ledger_err_t err = store_txn_begin(gw->store, false, &txn);
    if (!err)
        err = gateway_view_transfer_list(txn, cursor, limit, &page);
    store_txn_abort(&txn);
    if (err)
        return reply_store_error(gw, conn, err, "list transfers");
    return send_json(conn, MHD_HTTP_OK, page, NULL, 0);
}

/* --- POST /api/transfers: hand-off to the committing thread --------------- */

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

/*  Admission control: true if `weight` more transfers would take the outbox
    (transfer.requested the accounts node has not acknowledged) past
    max_pending. A store that cannot be read admits: the commit will say. */
static bool overloaded(gateway_http_t *gw, size_t weight, uint64_t *pending_out)
{
    store_txn_t *txn = NULL;
    uint64_t pending = 0;
    if (store_txn_begin(gw->store, false, &txn) == LEDGER_OK) {
        if (store_count(txn, STORE_DB_OUTBOX, &pending) != LEDGER_OK)
            pending = 0;
        store_txn_abort(&txn);
    }
    *pending_out = pending;
    return pending + weight > gw->max_pending;
}

/* Queues a parsed job for the committing thread; suspends the connection until it is done. */
static enum MHD_Result queue_submit(gateway_http_t *gw, struct MHD_Connection *conn, request_t *r)
{
    submit_job_t *job = &r->submit;
    uint64_t pending;
    if (overloaded(gw, job->batch ? job->batch->count : 1, &pending)) {
        gateway_error_t err = {.http_status = MHD_HTTP_SERVICE_UNAVAILABLE};
        snprintf(err.code, sizeof err.code, "overloaded");
        snprintf(err.message, sizeof err.message,
                 "%" PRIu64 " transfers are waiting for the accounts node (limit %" PRIu64
                 "); retry shortly",
                 pending, gw->max_pending);
        header_t retry = {MHD_HTTP_HEADER_RETRY_AFTER, "1"};
        return send_error_with(conn, &err, &retry, 1);
    }
    job->conn = conn;
    pthread_mutex_lock(&gw->lock);
    if (gw->stopping) {
        pthread_mutex_unlock(&gw->lock);
        return reply_shutting_down(conn);
    }
    /* Suspend before the job becomes visible, so the resume can never come first. */
    MHD_suspend_connection(conn);
    r->wait = WAIT_SUBMIT;
    job->next = NULL;
    if (gw->submit_tail)
        gw->submit_tail->next = job;
    else
        gw->submit_head = job;
    gw->submit_tail = job;
    if (!gw->loop_commits)
        pthread_cond_signal(&gw->submit_cond); /* the committer takes it */
    pthread_mutex_unlock(&gw->lock);
    if (gw->loop_commits && gw->wake)
        gw->wake(gw->wake_arg); /* the loop takes the job on its next turn */
    return MHD_YES;
}

/* POST /api/transfers: validate the key and the body here, then queue the job. */
static enum MHD_Result start_submit(gateway_http_t *gw, struct MHD_Connection *conn, request_t *r)
{
    gateway_error_t verr;
    header_count_t hc = {0, NULL};
    MHD_get_connection_values(conn, MHD_HEADER_KIND, count_idempotency_key, &hc);
    if (gateway_check_idempotency_key(hc.first, hc.count, &verr))
        return send_error(conn, &verr);
    submit_job_t *job = &r->submit;
    if (gateway_parse_transfer_request(r->body, r->body_len, &job->req, &verr))
        return send_error(conn, &verr);
    snprintf(job->key, sizeof job->key, "%s", hc.first);
    return queue_submit(gw, conn, r);
}

/* POST /api/transfers/batch: parse every item here, commit them all in one job. */
static enum MHD_Result start_batch(gateway_http_t *gw, struct MHD_Connection *conn, request_t *r)
{
    gateway_error_t verr;
    ledger_err_t err = gateway_batch_parse(r->body, r->body_len, &r->submit.batch, &verr);
    if (err == LEDGER_E_INVALID)
        return send_error(conn, &verr);
    if (err)
        return reply_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal_error", NULL,
                           "the gateway could not read the batch (%s)", ledger_err_name(err));
    /* The body is parsed: its memory is not needed while the job waits. */
    free(r->body);
    r->body = NULL;
    r->body_len = r->body_cap = 0;
    return queue_submit(gw, conn, r);
}

static enum MHD_Result finish_batch(gateway_http_t *gw, struct MHD_Connection *conn, request_t *r)
{
    submit_job_t *job = &r->submit;
    if (job->err == LEDGER_E_TIMEOUT)
        return reply_shutting_down(conn);
    if (job->err)
        return reply_store_error(gw, conn, job->err, "record the batch");
    size_t size = 0;
    char *text = gateway_batch_response(job->batch, &size);
    return send_json_text(conn, MHD_HTTP_OK, text, size, NULL, 0);
}

static enum MHD_Result finish_submit(gateway_http_t *gw, struct MHD_Connection *conn, request_t *r)
{
    submit_job_t *job = &r->submit;
    if (job->batch)
        return finish_batch(gw, conn, r);
    switch (job->err) {
    case LEDGER_OK:
        break;
    case LEDGER_E_EXISTS:
        return reply_error(conn, MHD_HTTP_UNPROCESSABLE_CONTENT, "idempotency_key_reused",
                           "Idempotency-Key",
                           "this Idempotency-Key was already used for a different transfer; "
                           "use a new key for a new transfer");
    case LEDGER_E_INVALID:
        return reply_error(conn, MHD_HTTP_BAD_REQUEST, "invalid_field", NULL,
                           "the transfer was refused as invalid");
    case LEDGER_E_TIMEOUT:
        return reply_shutting_down(conn);
    default:
        return reply_store_error(gw, conn, job->err, "record the transfer");
    }
    const gateway_submit_result_t *res = &job->result;
    size_t size = 0;
    char *text = gateway_view_submitted_text(res, &size);
    char location[sizeof "/api/transfers/" + PROTO_TRANSFER_ID_MAX];
    snprintf(location, sizeof location, "/api/transfers/%s", res->id);
    header_t headers[2] = {{MHD_HTTP_HEADER_LOCATION, location}, {"Idempotent-Replayed", "true"}};
    return send_json_text(conn, MHD_HTTP_ACCEPTED, text, size, headers, res->replayed ? 2 : 1);
}

/* --- committing the queued submissions ------------------------------------ */

/*  Moves queued jobs into gw->batch (lock held): every queued request, up to
    GATEWAY_HTTP_BATCH_MAX, a batch request weighing its item count, so one
    commit stays under GATEWAY_HTTP_COMMIT_TRANSFERS_MAX transfers (and the
    ctx's publish limit). Returns how many. */
static size_t take_locked(gateway_http_t *gw)
{
    size_t count = 0, transfers = 0;
    while (gw->submit_head && count < GATEWAY_HTTP_BATCH_MAX) {
        size_t weight = gw->submit_head->batch ? gw->submit_head->batch->count : 1;
        if (count > 0 && transfers + weight > GATEWAY_HTTP_COMMIT_TRANSFERS_MAX)
            break;
        transfers += weight;
        gw->batch[count++] = gw->submit_head;
        gw->submit_head = gw->submit_head->next;
    }
    if (!gw->submit_head)
        gw->submit_tail = NULL;
    gw->taken = count;
    return count;
}

/* Runs the taken jobs in ctx->txn. Re-runnable after a map-full retry. */
static ledger_err_t apply_taken(gateway_http_t *gw, node_ctx_t *ctx)
{
    gw->taken_created = 0;
    for (size_t i = 0; i < gw->taken; i++) {
        submit_job_t *job = gw->batch[i];
        if (job->batch) {
            size_t created = 0;
            job->err = gateway_batch_apply(ctx, job->batch, gw->retention_ms, &created);
            if (job->err)
                return job->err;
            gw->taken_created += created;
            continue;
        }
        job->err = gateway_view_submit(ctx, &job->req, job->key, gw->retention_ms, &job->result);
        if (job->err == LEDGER_E_EXISTS || job->err == LEDGER_E_INVALID)
            continue; /* refused before any write: the others go on */
        if (job->err)
            return job->err;
        if (!job->result.replayed)
            gw->taken_created++;
    }
    return LEDGER_OK;
}

/* After the commit of the taken jobs (err LEDGER_OK) or its failure: answers them. */
static void finish_taken(gateway_http_t *gw, ledger_err_t err)
{
    size_t count = gw->taken;
    if (err) {
        gw_log(gw, "gateway http: commit of %zu transfer(s) failed: %s (%s)", count,
               ledger_err_name(err), store_last_error(gw->store));
        /* Nothing of the batch was written, and a refusal computed inside it (a key
           reused within the batch) may not hold: every request gets the batch's error. */
        for (size_t i = 0; i < count; i++)
            gw->batch[i]->err = err;
    } else if (gw->taken_created > 0) {
        gateway_streams_notify(gw->streams); /* the new transfers' events */
    }
    struct MHD_Connection *conns[GATEWAY_HTTP_BATCH_MAX];
    pthread_mutex_lock(&gw->lock);
    for (size_t i = 0; i < count; i++) {
        conns[i] = gw->batch[i]->conn;
        gw->batch[i]->done = true;
    }
    gw->taken = 0;
    pthread_mutex_unlock(&gw->lock);
    /* After its resume a job may be freed at any time: only the saved pointers are used. */
    for (size_t i = 0; i < count; i++)
        MHD_resume_connection(conns[i]);
}

size_t gateway_http_take(gateway_http_t *self)
{
    assert(self && self->loop_commits);
    pthread_mutex_lock(&self->lock);
    size_t count = self->stopping ? 0 : take_locked(self);
    bool more = !self->stopping && self->submit_head != NULL;
    pthread_mutex_unlock(&self->lock);
    /* Jobs past this commit's limits wait for the next turn: ask for one, since
       nothing else may wake the loop (their own wake was consumed by this turn). */
    if (more && self->wake)
        self->wake(self->wake_arg);
    return count;
}

ledger_err_t gateway_http_apply_taken(gateway_http_t *self, node_ctx_t *ctx)
{
    assert(self && ctx && ctx->txn);
    return apply_taken(self, ctx);
}

void gateway_http_finish_taken(gateway_http_t *self, ledger_err_t err)
{
    assert(self);
    finish_taken(self, err);
}

/* --- the committer thread ------------------------------------------------- */

typedef struct {
    gateway_http_t *gw;
    uint64_t now_ms;
} batch_t;

static ledger_err_t commit_batch_fn(store_txn_t *txn, void *arg)
{
    batch_t *b = arg;
    gateway_http_t *gw = b->gw;
    node_ctx_begin(&gw->ctx, txn, b->now_ms); /* re-runnable after a map-full retry */
    return apply_taken(gw, &gw->ctx);
}

/* The committer's own commit of the taken jobs (without loop_commits, or at stop). */
static void commit_batch(gateway_http_t *gw)
{
    batch_t b = {.gw = gw, .now_ms = wall_ms(gw)};
    ledger_err_t err = store_write(gw->store, commit_batch_fn, &b);
    if (!err && gw->taken_created > 0) {
        if (gw->publish && gw->ctx.published_count > 0)
            gw->publish(gw->publish_arg, gw->ctx.published, gw->ctx.published_count);
        if (gw->wake)
            gw->wake(gw->wake_arg);
    }
    node_ctx_reset(&gw->ctx);
    gw->ctx.txn = NULL;
    finish_taken(gw, err);
}

typedef struct {
    uint64_t now_ms;
    uint64_t retention_ms;
    size_t pruned;
    size_t events_pruned;
} prune_t;

static ledger_err_t prune_fn(store_txn_t *txn, void *arg)
{
    prune_t *p = arg;
    p->pruned = 0;
    p->events_pruned = 0;
    ledger_err_t err = gateway_view_prune_idempotency(txn, p->now_ms, p->retention_ms,
                                                      GATEWAY_HTTP_PRUNE_MAX, &p->pruned);
    /* The event log's retention (gateway_events.h) rides on the same run. */
    if (!err)
        err = gateway_events_prune(txn, p->now_ms, GATEWAY_EVENTS_KEEP_MAX, GATEWAY_EVENTS_KEEP_MS,
                                   GATEWAY_EVENTS_PRUNE_MAX, &p->events_pruned);
    return err;
}

/* Prunes expired idempotency keys; returns the monotonic time of the next run. */
static uint64_t prune_keys(gateway_http_t *gw)
{
    prune_t p = {.now_ms = wall_ms(gw), .retention_ms = gw->retention_ms};
    ledger_err_t err = store_write(gw->store, prune_fn, &p);
    if (err)
        gw_log(gw, "gateway http: idempotency pruning failed: %s (%s)", ledger_err_name(err),
               store_last_error(gw->store));
    /* A full run means more are due: go again soon, between batches. */
    bool more =
        !err && (p.pruned == GATEWAY_HTTP_PRUNE_MAX || p.events_pruned == GATEWAY_EVENTS_PRUNE_MAX);
    return clock_mono_ms() + (more ? 10u : GATEWAY_HTTP_PRUNE_INTERVAL_MS);
}

static void *committer_main(void *arg)
{
    gateway_http_t *gw = arg;
    uint64_t next_prune_ms = clock_mono_ms();
    for (;;) {
        pthread_mutex_lock(&gw->lock);
        /* With loop_commits the node loop commits the submissions: this thread prunes,
           and commits only what is still queued once the server stops (the loop is gone). */
        while (!(gw->submit_head && !gw->loop_commits) && !gw->stopping &&
               clock_mono_ms() < next_prune_ms) {
            struct timespec until;
            clock_gettime(CLOCK_MONOTONIC, &until);
            until.tv_sec += COMMITTER_IDLE_WAIT_MS / 1000;
            pthread_cond_timedwait(&gw->submit_cond, &gw->lock, &until);
        }
        size_t count = !gw->loop_commits || gw->stopping ? take_locked(gw) : 0;
        bool stop = gw->stopping && count == 0;
        pthread_mutex_unlock(&gw->lock);
        if (stop)
            break;
        if (count > 0)
            commit_batch(gw);
        if (!gw->stopping && clock_mono_ms() >= next_prune_ms)
            next_prune_ms = prune_keys(gw);
    }
    return NULL;
}

/* --- account queries: hand-off to the accounts thread --------------------- */

static void wake_accounts(gateway_http_t *gw)
{
    uint64_t one = 1;
    ssize_t n = write(gw->wake_fd, &one, sizeof one);
    (void)n; /* a full counter (EAGAIN) already means "wake up" */
}

static enum MHD_Result start_query(gateway_http_t *gw, struct MHD_Connection *conn, request_t *r,
                                   const proto_query_t *query)
{
    query_job_t *job = &r->query;
    proto_msg_t msg;
    memset(&msg, 0, sizeof msg);
    msg.v = PROTO_VERSION;
    msg.type = PROTO_ACCOUNT_QUERY;
    snprintf(msg.origin, sizeof msg.origin, "%s", gw->query_origin);
    msg.seq = atomic_fetch_add(&gw->query_seq, 1);
    msg.ts_ms = wall_ms(gw);
    msg.body.query = *query;
    char why[PROTO_REASON_MAX + 1] = "";
    ledger_err_t err = proto_encode(&msg, &job->data, &job->size, why, sizeof why);
    if (err == LEDGER_E_INVALID)
        return reply_error(conn, MHD_HTTP_BAD_REQUEST, "invalid_field", NULL, "%s", why);
    if (err)
        return reply_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal_error", NULL,
                           "could not encode the account query (%s)", ledger_err_name(err));
    job->op = query->op;
    job->tag = msg.seq;
    job->conn = conn;
    job->deadline_mono_ms = clock_mono_ms() + gw->query_timeout_ms;

    pthread_mutex_lock(&gw->lock);
    if (gw->stopping) {
        pthread_mutex_unlock(&gw->lock);
        return reply_shutting_down(conn);
    }
    MHD_suspend_connection(conn);
    r->wait = WAIT_QUERY;
    job->next = NULL;
    if (gw->query_tail)
        gw->query_tail->next = job;
    else
        gw->query_head = job;
    gw->query_tail = job;
    pthread_mutex_unlock(&gw->lock);
    wake_accounts(gw);
    return MHD_YES;
}

static json_t *account_json(const proto_account_t *a)
{
    int64_t available;
    json_t *avail = money_sub(a->balance_minor, a->held_minor, &available) == LEDGER_OK
                        ? json_integer(available)
                        : json_null();
    return json_pack("{s:o, s:o, s:o, s:I, s:I, s:o, s:b}", "id", json_text(a->id), "name",
                     json_text(a->name), "currency", json_text(a->currency), "balance",
                     (json_int_t)a->balance_minor, "held", (json_int_t)a->held_minor, "available",
                     avail, "funding", a->funding);
}

static json_t *ledger_row_json(const proto_ledger_row_t *e)
{
    char at[CLOCK_UTC_TEXT_SIZE];
    return json_pack("{s:I, s:o, s:o, s:o, s:I, s:I, s:I, s:s, s:I}", "seq", (json_int_t)e->seq,
                     "account", json_text(e->account), "transfer", json_text(e->transfer), "kind",
                     json_text(e->kind), "amount", (json_int_t)e->amount_minor, "balance_after",
                     (json_int_t)e->balance_after_minor, "held_after",
                     (json_int_t)e->held_after_minor, "at", clock_format_utc(e->ts_ms, at), "ts_ms",
                     (json_int_t)e->ts_ms);
}

static json_t *next_cursor_json(const char *next)
{
    return next[0] ? json_text(next) : json_null();
}

static enum MHD_Result finish_query(gateway_http_t *gw, struct MHD_Connection *conn, request_t *r)
{
    query_job_t *job = &r->query;
    if (job->outcome == QUERY_STOPPING)
        return reply_shutting_down(conn);
    if (job->outcome == QUERY_TIMEOUT)
        return reply_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "accounts_unavailable", NULL,
                           "the accounts node did not answer within %u ms; retry later",
                           (unsigned)gw->query_timeout_ms);
    if (job->outcome == QUERY_BAD_REPLY || !job->has_reply) {
        gw_log(gw, "gateway http: bad answer from accounts: %s", job->why);
        return reply_error(conn, MHD_HTTP_BAD_GATEWAY, "accounts_error", NULL,
                           "the accounts node gave an answer the gateway cannot use: %s", job->why);
    }
    const proto_account_reply_t *rep = &job->reply.body.account_reply;
    if (rep->status == 200 || rep->status == 201) {
        json_t *body = NULL;
        unsigned status = MHD_HTTP_OK;
        switch (job->op) {
        case PROTO_QUERY_LIST: {
            json_t *list = json_array();
            for (uint32_t i = 0; list && i < rep->account_count; i++)
                json_array_append_new(list, account_json(&rep->accounts[i]));
            body = json_pack("{s:o, s:o}", "accounts", list ? list : json_null(), "next_cursor",
                             next_cursor_json(rep->next));
            break;
        }
        case PROTO_QUERY_LEDGER: {
            json_t *entries = json_array();
            for (uint32_t i = 0; entries && i < rep->entry_count; i++)
                json_array_append_new(entries, ledger_row_json(&rep->entries[i]));
            body = json_pack("{s:s, s:o, s:o}", "account", r->path_id, "entries",
                             entries ? entries : json_null(), "next_cursor",
                             next_cursor_json(rep->next));
            break;
        }
        case PROTO_QUERY_GET:
        case PROTO_QUERY_OPEN:
            if (rep->account_count != 1)
                return reply_error(conn, MHD_HTTP_BAD_GATEWAY, "accounts_error", NULL,
                                   "the accounts node answered with %u accounts instead of one",
                                   (unsigned)rep->account_count);
            body = account_json(&rep->accounts[0]);
            /* Opened now: 201. Already there with the same values: 200. */
            if (job->op == PROTO_QUERY_OPEN &&
                (rep->status == 201 || strcmp(rep->code, "created") == 0))
                status = MHD_HTTP_CREATED;
            break;
        }
        return send_json(conn, status, body, NULL, 0);
    }
    const char *message = rep->reason[0] ? rep->reason : "the accounts node refused the request";
    switch (rep->status) {
    case 400:
        return reply_error(conn, MHD_HTTP_BAD_REQUEST, rep->code[0] ? rep->code : "invalid_field",
                           NULL, "%s", message);
    case 404:
        return reply_error(conn, MHD_HTTP_NOT_FOUND, "not_found", NULL, "%s", message);
    case 409:
        return reply_error(conn, MHD_HTTP_CONFLICT, "account_exists", "id", "%s",
                           rep->reason[0] ? rep->reason
                                          : "an account with this id exists with other values");
    default:
        gw_log(gw, "gateway http: accounts answered %u %s: %s", (unsigned)rep->status, rep->code,
               rep->reason);
        return reply_error(conn, MHD_HTTP_BAD_GATEWAY, "accounts_error", NULL,
                           "the accounts node failed: %s", message);
    }
}

/* Builds the query for an account route; on a bad request, answers and returns false. */
static bool build_query(struct MHD_Connection *conn, request_t *r, proto_query_t *q,
                        enum MHD_Result *answered)
{
    memset(q, 0, sizeof *q);
    gateway_error_t verr;
    const char *limit = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "limit");
    const char *cursor = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "cursor");
    if (r->route != ROUTE_ACCOUNTS && (r->id_too_long || !proto_account_id_valid_str(r->path_id))) {
        *answered = reply_not_found(conn, "no account with this id");
        return false;
    }
    switch (r->route) {
    case ROUTE_ACCOUNTS:
        if (r->is_post) {
            gateway_account_request_t open;
            if (gateway_parse_account_request(r->body, r->body_len, &open, &verr)) {
                *answered = send_error(conn, &verr);
                return false;
            }
            q->op = PROTO_QUERY_OPEN;
            memcpy(q->account, open.id, sizeof q->account);
            memcpy(q->name, open.name, sizeof q->name);
            memcpy(q->currency, open.currency, sizeof q->currency);
            q->amount_minor = open.opening_balance_minor;
            return true;
        }
        q->op = PROTO_QUERY_LIST;
        if (gateway_parse_limit(limit, GATEWAY_HTTP_ACCOUNT_LIST_DEFAULT, PROTO_PAGE_MAX, &q->limit,
                                &verr)) {
            *answered = send_error(conn, &verr);
            return false;
        }
        if (cursor && cursor[0]) {
            if (!proto_account_id_valid_str(cursor)) {
                *answered = reply_error(conn, 400, "invalid_query", "cursor",
                                        "cursor must be an account id, as given in next_cursor");
                return false;
            }
            snprintf(q->after, sizeof q->after, "%s", cursor);
        }
        return true;
    case ROUTE_ACCOUNT:
        q->op = PROTO_QUERY_GET;
        memcpy(q->account, r->path_id, sizeof q->account);
        return true;
    case ROUTE_ACCOUNT_LEDGER:
        q->op = PROTO_QUERY_LEDGER;
        memcpy(q->account, r->path_id, sizeof q->account);
        if (gateway_parse_limit(limit, GATEWAY_LIST_DEFAULT, PROTO_PAGE_MAX, &q->limit, &verr)) {
            *answered = send_error(conn, &verr);
            return false;
        }
        if (cursor && cursor[0] && (!text_parse_u64(cursor, &q->cursor) || q->cursor == 0)) {
            *answered = reply_error(conn, 400, "invalid_query", "cursor",
                                    "cursor must be a ledger sequence number, as given in "
                                    "next_cursor");
            return false;
        }
        return true;
    default:
        break;
    }
    assert(!"not an account route");
    *answered = MHD_NO;
    return false;
}

/* --- the accounts client thread ------------------------------------------- */

static void query_finish(gateway_http_t *gw, query_job_t *job, query_outcome_t outcome,
                         const char *why)
{
    if (why)
        snprintf(job->why, sizeof job->why, "%s", why);
    struct MHD_Connection *conn = job->conn;
    pthread_mutex_lock(&gw->lock);
    job->outcome = outcome;
    job->done = true;
    pthread_mutex_unlock(&gw->lock);
    MHD_resume_connection(conn); /* job may be freed from here on */
}

/* Unlinks and returns the in-flight job with `tag`, or NULL. */
static query_job_t *inflight_take(query_job_t **list, uint64_t tag)
{
    for (query_job_t **p = list; *p; p = &(*p)->next) {
        if ((*p)->tag == tag) {
            query_job_t *job = *p;
            *p = job->next;
            return job;
        }
    }
    return NULL;
}

/* Reads one multipart message; false when nothing more is ready. */
static bool receive_reply(gateway_http_t *gw, void *socket, query_job_t **inflight)
{
    /* frames[0], frames[1]: the tag and the envelope; frames[2] takes any extra frame. */
    zmq_msg_t frames[3];
    for (int i = 0; i < 3; i++)
        zmq_msg_init(&frames[i]);
    size_t count = 0;
    bool more = true;
    while (more) {
        zmq_msg_t *frame = &frames[count < 2 ? count : 2];
        if (zmq_msg_recv(frame, socket, count == 0 ? ZMQ_DONTWAIT : 0) < 0)
            break;
        count++;
        more = zmq_msg_more(frame);
    }
    if (count == 0) {
        for (int i = 0; i < 3; i++)
            zmq_msg_close(&frames[i]);
        return false;
    }
    uint64_t tag = 0;
    query_job_t *job = NULL;
    if (count == 2 &&
        proto_tag_unpack(zmq_msg_data(&frames[0]), zmq_msg_size(&frames[0]), &tag) == LEDGER_OK)
        job = inflight_take(inflight, tag);
    if (job) {
        char why[PROTO_REASON_MAX + 1] = "";
        proto_msg_t *reply = &job->reply;
        ledger_err_t err = proto_decode(zmq_msg_data(&frames[1]), zmq_msg_size(&frames[1]), reply,
                                        why, sizeof why);
        if (err) {
            query_finish(gw, job, QUERY_BAD_REPLY, why);
        } else if (reply->type == PROTO_ACCOUNT_REPLY) {
            job->has_reply = true;
            query_finish(gw, job, QUERY_OK, NULL);
        } else if (reply->type == PROTO_ACK) {
            job->next = *inflight; /* an ack is not the answer: keep waiting */
            *inflight = job;
        } else {
            char text[PROTO_REASON_MAX + 1];
            snprintf(text, sizeof text, "%s %.48s %.180s", proto_type_name(reply->type),
                     reply->type == PROTO_NACK ? reply->body.reply.code : "",
                     reply->type == PROTO_NACK ? reply->body.reply.reason : "");
            proto_msg_release(reply);
            query_finish(gw, job, QUERY_BAD_REPLY, text);
        }
    }
    /* Replies to queries that already timed out are dropped here. */
    for (int i = 0; i < 3; i++)
        zmq_msg_close(&frames[i]);
    return true;
}

static bool send_query(void *socket, query_job_t *job)
{
    uint8_t tag[PROTO_TAG_SIZE];
    proto_tag_pack(job->tag, tag);
    /* ZMQ_IMMEDIATE: EAGAIN while no connection is up; the multipart message is atomic. */
    if (zmq_send(socket, tag, sizeof tag, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return false;
    return zmq_send(socket, job->data, job->size, ZMQ_DONTWAIT) >= 0;
}

static void *accounts_main(void *arg)
{
    gateway_http_t *gw = arg;
    void *socket = zsock_resolve(gw->dealer);
    query_job_t *inflight = NULL;
    for (;;) {
        pthread_mutex_lock(&gw->lock);
        while (gw->query_head) {
            query_job_t *job = gw->query_head;
            gw->query_head = job->next;
            job->next = inflight;
            inflight = job;
        }
        gw->query_tail = NULL;
        bool stopping = gw->stopping;
        pthread_mutex_unlock(&gw->lock);
        if (stopping)
            break;

        uint64_t now = clock_mono_ms();
        uint64_t wait_ms = ACCOUNTS_POLL_MAX_MS;
        for (query_job_t **p = &inflight; *p;) {
            query_job_t *job = *p;
            if (!job->sent)
                job->sent = send_query(socket, job);
            if (now >= job->deadline_mono_ms) {
                *p = job->next;
                query_finish(gw, job, QUERY_TIMEOUT, NULL);
                continue;
            }
            uint64_t left = job->deadline_mono_ms - now;
            if (!job->sent && left > SEND_RETRY_MS)
                left = SEND_RETRY_MS;
            if (left < wait_ms)
                wait_ms = left;
            p = &job->next;
        }

        zmq_pollitem_t items[2] = {{socket, 0, ZMQ_POLLIN, 0}, {NULL, gw->wake_fd, ZMQ_POLLIN, 0}};
        int rc = zmq_poll(items, 2, (long)wait_ms);
        if (rc < 0 && errno != EINTR)
            break;
        if (rc > 0 && (items[1].revents & ZMQ_POLLIN)) {
            uint64_t counter;
            ssize_t n = read(gw->wake_fd, &counter, sizeof counter);
            (void)n;
        }
        if (rc > 0 && (items[0].revents & ZMQ_POLLIN)) {
            for (int i = 0; i < 1024 && receive_reply(gw, socket, &inflight); i++)
                ;
        }
    }
    /* Stopping: every query still waiting is answered 503. */
    pthread_mutex_lock(&gw->lock);
    while (gw->query_head) {
        query_job_t *job = gw->query_head;
        gw->query_head = job->next;
        job->next = inflight;
        inflight = job;
    }
    gw->query_tail = NULL;
    pthread_mutex_unlock(&gw->lock);
    while (inflight) {
        query_job_t *job = inflight;
        inflight = job->next;
        query_finish(gw, job, QUERY_STOPPING, NULL);
    }
    return NULL;
}

/* --- MHD callbacks -------------------------------------------------------- */

static void request_free(request_t *r)
{
    if (!r)
        return;
    free(r->body);
    gateway_batch_destroy(&r->submit.batch);
    free(r->query.data);
    if (r->query.has_reply)
        proto_msg_release(&r->query.reply);
    free(r);
}

/* The route's pattern, a bounded set of labels for metrics. */
static const char *route_label(route_t route)
{
    switch (route) {
    case ROUTE_HEALTH:
        return "/api/health";
    case ROUTE_TRANSFERS:
        return "/api/transfers";
    case ROUTE_TRANSFER:
        return "/api/transfers/{id}";
    case ROUTE_ACCOUNTS:
        return "/api/accounts";
    case ROUTE_ACCOUNT:
        return "/api/accounts/{id}";
    case ROUTE_ACCOUNT_LEDGER:
        return "/api/accounts/{id}/ledger";
    case ROUTE_TRANSFERS_BATCH:
        return "/api/transfers/batch";
    case ROUTE_NONE:
        break;
    }
    return "other";
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
        gw->count_request(gw->count_request_arg, r->method, route_label(r->route),
                          info->http_status);
    request_free(*con_cls);
    *con_cls = NULL;
}

/* Appends an upload chunk under the cap; past the cap the rest is read and dropped. */
static size_t body_limit(const gateway_http_t *gw, const request_t *r)
{
    return r->route == ROUTE_TRANSFERS_BATCH ? GATEWAY_BATCH_BODY_MAX : gw->body_max_bytes;
}

static bool body_append(gateway_http_t *gw, request_t *r, const char *data, size_t size)
{
    size_t limit = body_limit(gw, r);
    if (r->too_large || size > limit - r->body_len) {
        r->too_large = true;
        free(r->body);
        r->body = NULL;
        r->body_len = 0;
        r->discarded += size;
        return r->discarded <= GATEWAY_HTTP_DISCARD_MAX;
    }
    if (r->body_len + size > r->body_cap) {
        size_t cap = r->body_cap ? r->body_cap : BODY_INITIAL_BYTES;
        while (cap < r->body_len + size)
            cap *= 2;
        if (cap > limit)
            cap = limit;
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
    return reply_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, "payload_too_large", NULL,
                       "the request body is larger than %zu bytes", body_limit(gw, r));
}

/* First call for a request: route, method, and the checks that need no body. */
static enum MHD_Result on_headers(gateway_http_t *gw, struct MHD_Connection *conn, request_t *r,
                                  const char *url, const char *method)
{
    bool is_get =
        strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    r->is_post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
    snprintf(r->method, sizeof r->method, "%s", method);
    r->route = route_match(url, r);
    if (r->route == ROUTE_NONE)
        return serve_unrouted(gw, conn, url, method);
    bool allowed =
        r->route == ROUTE_TRANSFERS_BATCH
            ? r->is_post
            : is_get || (r->is_post && (r->route == ROUTE_TRANSFERS || r->route == ROUTE_ACCOUNTS));
    if (!allowed) {
        header_t allow = {MHD_HTTP_HEADER_ALLOW, route_allow(r->route)};
        gateway_error_t err = {.http_status = MHD_HTTP_METHOD_NOT_ALLOWED};
        snprintf(err.code, sizeof err.code, "method_not_allowed");
        snprintf(err.message, sizeof err.message, "%.16s is not allowed here; use %s", method,
                 allow.value);
        gateway_view_text_sanitize(err.message);
        return send_error_with(conn, &err, &allow, 1);
    }
    if (r->is_post) {
        const char *type =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
        if (!gateway_content_type_is_json(type))
            return reply_error(conn, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                               NULL, "send the body as JSON with Content-Type: application/json");
        const char *length =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        uint64_t declared;
        if (length && text_parse_u64(length, &declared) && declared > body_limit(gw, r))
            return reply_too_large(gw, conn, r);
    }
    return MHD_YES;
}

/* Last call, with the whole body: do the work or hand it off. */
static enum MHD_Result on_body_complete(gateway_http_t *gw, struct MHD_Connection *conn,
                                        request_t *r)
{
    if (r->too_large)
        return reply_too_large(gw, conn, r);
    switch (r->route) {
    case ROUTE_HEALTH:
        return send_json(conn, MHD_HTTP_OK,
                         json_pack("{s:s, s:s}", "status", "ok", "node", gw->node_name), NULL, 0);
    case ROUTE_TRANSFERS:
        return r->is_post ? start_submit(gw, conn, r) : serve_transfer_list(gw, conn);
    case ROUTE_TRANSFER:
        return serve_transfer(gw, conn, r);
    case ROUTE_TRANSFERS_BATCH:
        return start_batch(gw, conn, r);
    case ROUTE_ACCOUNTS:
    case ROUTE_ACCOUNT:
    case ROUTE_ACCOUNT_LEDGER: {
        proto_query_t query;
        enum MHD_Result answered;
        if (!build_query(conn, r, &query, &answered))
            return answered;
        return start_query(gw, conn, r, &query);
    }
    case ROUTE_NONE:
        break;
    }
    return MHD_NO;
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
        return on_headers(gw, conn, r, url, method);
    }
    if (*upload_data_size > 0) {
        bool keep = body_append(gw, r, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return keep ? MHD_YES : MHD_NO;
    }
    if (r->wait != WAIT_NONE) {
        pthread_mutex_lock(&gw->lock);
        bool done = r->wait == WAIT_SUBMIT ? r->submit.done : r->query.done;
        pthread_mutex_unlock(&gw->lock);
        if (!done)
            return MHD_YES;
        return r->wait == WAIT_SUBMIT ? finish_submit(gw, conn, r) : finish_query(gw, conn, r);
    }
    return on_body_complete(gw, conn, r);
}

/* --- life cycle ----------------------------------------------------------- */

static bool node_name_valid(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > PROTO_NODE_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static ledger_err_t start_daemon(gateway_http_t *gw, const gateway_http_config_t *config)
{
    const char *address =
        config->listen_address ? config->listen_address : GATEWAY_HTTP_ADDRESS_DEFAULT;
    struct sockaddr_storage addr;
    memset(&addr, 0, sizeof addr);
    /*  poll(), not epoll (which MHD_USE_AUTO picks on Linux): with epoll,
        libmicrohttpd 0.9.75 (Debian 12) sometimes leaves connections resumed
        by MHD_resume_connection unserved until its worker wakes for another
        reason, the connection timeout (30 s) when every connection is waiting
        for its answer: with 1 worker and 256 connections in 5 of 8 runs of
        5 s, all of them answered only then or closed. poll() served every
        one in 10 of 10 runs (tests/integration/test_http_load.py), at the
        same throughput within the noise (bench/README.md: 0.94x at 256
        connections, 1.13x at 64). */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_ALLOW_SUSPEND_RESUME;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&addr;
    if (inet_pton(AF_INET, address, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(config->port);
    } else if (inet_pton(AF_INET6, address, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(config->port);
        flags |= MHD_USE_IPv6;
    } else {
        return LEDGER_E_INVALID;
    }
    unsigned threads =
        config->thread_pool_size ? config->thread_pool_size : GATEWAY_HTTP_THREADS_DEFAULT;
    unsigned connections =
        config->connection_limit ? config->connection_limit : GATEWAY_HTTP_CONNECTIONS_DEFAULT;
    unsigned per_ip = config->per_ip_connection_limit ? config->per_ip_connection_limit
                                                      : GATEWAY_HTTP_PER_IP_DEFAULT;
    unsigned timeout_s = config->connection_timeout_s ? config->connection_timeout_s
                                                      : GATEWAY_HTTP_CONNECTION_TIMEOUT_S_DEFAULT;
    gw->daemon = MHD_start_daemon(
        flags, config->port, NULL, NULL, on_request, gw, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT,
        connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip, MHD_OPTION_CONNECTION_TIMEOUT,
        timeout_s, MHD_OPTION_NOTIFY_COMPLETED, on_completed, gw, MHD_OPTION_END);
    if (!gw->daemon)
        return LEDGER_E_IO;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(gw->daemon, MHD_DAEMON_INFO_BIND_PORT);
    gw->port = info ? info->port : config->port;
    return LEDGER_OK;
}

static ledger_err_t open_dealer(gateway_http_t *gw)
{
    gw->dealer = zsock_new(ZMQ_DEALER);
    if (!gw->dealer)
        return LEDGER_E_IO;
    zsock_set_linger(gw->dealer, 0);
    zsock_set_immediate(gw->dealer, 1);
    zsock_set_maxmsgsize(gw->dealer, ZMQ_FRAME_LIMIT);
    zsock_set_sndhwm(gw->dealer, ACCOUNTS_SNDHWM);
    zsock_set_rcvhwm(gw->dealer, ACCOUNTS_SNDHWM);
    if (zsock_connect(gw->dealer, "%s", gw->accounts_endpoint) != 0)
        return LEDGER_E_INVALID;
    return LEDGER_OK;
}

ledger_err_t gateway_http_start(const gateway_http_config_t *config, gateway_http_t **out)
{
    assert(config && out);
    *out = NULL;
    const char *endpoint =
        config->accounts_endpoint ? config->accounts_endpoint : GATEWAY_HTTP_ACCOUNTS_DEFAULT;
    if (!config->store || !config->node_name || !node_name_valid(config->node_name) ||
        strlen(endpoint) >= ENDPOINT_MAX)
        return LEDGER_E_INVALID;
    if (sodium_init() < 0)
        return LEDGER_E_IO;

    gateway_http_t *gw = calloc(1, sizeof *gw);
    if (!gw)
        return LEDGER_E_NOMEM;
    gw->store = config->store;
    snprintf(gw->node_name, sizeof gw->node_name, "%s", config->node_name);
    if (strlen(config->node_name) + 2 <= PROTO_NODE_MAX)
        snprintf(gw->query_origin, sizeof gw->query_origin, "%s-q", config->node_name);
    else
        snprintf(gw->query_origin, sizeof gw->query_origin, "%s", QUERY_ORIGIN_FALLBACK);
    snprintf(gw->accounts_endpoint, sizeof gw->accounts_endpoint, "%s", endpoint);
    gw->query_timeout_ms =
        config->query_timeout_ms ? config->query_timeout_ms : GATEWAY_HTTP_QUERY_TIMEOUT_MS_DEFAULT;
    gw->retention_ms = config->idempotency_retention_ms ? config->idempotency_retention_ms
                                                        : GATEWAY_RETENTION_DEFAULT_MS;
    gw->max_pending = config->max_pending ? config->max_pending : GATEWAY_HTTP_MAX_PENDING_DEFAULT;
    gw->body_max_bytes =
        config->body_max_bytes ? config->body_max_bytes : GATEWAY_HTTP_BODY_MAX_DEFAULT;
    gw->wake = config->wake;
    gw->loop_commits = config->loop_commits;
    gw->wake_arg = config->wake_arg;
    gw->publish = config->publish;
    gw->publish_arg = config->publish_arg;
    gw->log = config->log;
    gw->log_arg = config->log_arg;
    gw->count_request = config->count_request;
    gw->count_request_arg = config->count_request_arg;
    gw->now_ms = config->now_ms;
    gw->wake_fd = -1;
    /* Query ids only need to differ from recent ones: start from the clock, count up. */
    atomic_init(&gw->query_seq, clock_wall_ms() * 1000u + 1u);
    node_ctx_init(&gw->ctx, NULL, gw->node_name, 0);

    ledger_err_t err = LEDGER_OK;
    pthread_condattr_t cond_attr;
    pthread_condattr_init(&cond_attr);
    pthread_condattr_setclock(&cond_attr, CLOCK_MONOTONIC);
    pthread_mutex_init(&gw->lock, NULL);
    pthread_cond_init(&gw->submit_cond, &cond_attr);
    pthread_condattr_destroy(&cond_attr);

    gw->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (gw->wake_fd < 0)
        err = LEDGER_E_IO;
    if (!err)
        err = open_dealer(gw);
    if (!err && pthread_create(&gw->committer, NULL, committer_main, gw) != 0)
        err = LEDGER_E_IO;
    gw->committer_started = !err;
    if (!err && pthread_create(&gw->accounts, NULL, accounts_main, gw) != 0)
        err = LEDGER_E_IO;
    gw->accounts_started = !err;
    if (!err)
        err = gateway_streams_new(gw->store, config->max_streams, &gw->streams);
    if (!err)
        err = gateway_static_new(config->web_dir ? config->web_dir : GATEWAY_HTTP_WEB_DIR_DEFAULT,
                                 &gw->web);
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
    pthread_mutex_lock(&gw->lock);
    gw->stopping = true;
    pthread_cond_broadcast(&gw->submit_cond);
    pthread_mutex_unlock(&gw->lock);
    if (gw->wake_fd >= 0)
        wake_accounts(gw);
    /* Open event streams end now (their hub resumes them, then exits). */
    gateway_streams_stop(gw->streams);
    /* Both threads resume every connection they hold before they return, so MHD is
       stopped with no connection suspended. */
    if (gw->accounts_started)
        pthread_join(gw->accounts, NULL);
    if (gw->committer_started)
        pthread_join(gw->committer, NULL);
    if (gw->daemon)
        MHD_stop_daemon(gw->daemon);
    gateway_streams_destroy(&gw->streams);
    gateway_static_destroy(&gw->web);
    zsock_destroy(&gw->dealer);
    if (gw->wake_fd >= 0)
        close(gw->wake_fd);
    node_ctx_fini(&gw->ctx);
    pthread_cond_destroy(&gw->submit_cond);
    pthread_mutex_destroy(&gw->lock);
    free(gw);
    *self_p = NULL;
}

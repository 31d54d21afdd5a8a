/*  gateway_test.c: the gateway's HTTP API.

    The view, the event log and the stream's pure parts are tested in
    gateway_view_test.c, gateway_events_test.c and gateway_stream_test.c.
    The first part here checks request validation as pure functions. The last
    part starts gateway_http on an ephemeral loopback port, with a fake
    accounts node (a ROUTER in a thread), and talks to it with a tiny
    blocking HTTP/1.1 client.
*/
#define _GNU_SOURCE /* strcasestr */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <czmq.h>

#include "clock.h"
#include "gateway_events.h"
#include "gateway_http.h"
#include "gateway_view.h"
#include "test_dir.h"

#define T0_MS 1700000000000ULL
#define RETENTION_MS 1000u
#define NODE "gateway"

typedef struct {
    char dir[64];
    store_t *store;
} fx_t;

/* --- fixture --------------------------------------------------------------- */

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/gateway_test.XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    assert_int_equal(store_open(fx->dir, NULL, &fx->store), LEDGER_OK);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    store_destroy(&fx->store);
    test_remove_dir(fx->dir);
    free(fx);
    return 0;
}

/* --- helpers --------------------------------------------------------------- */

static gateway_transfer_request_t request(const char *from, const char *to, int64_t amount)
{
    gateway_transfer_request_t req;
    memset(&req, 0, sizeof req);
    snprintf(req.from, sizeof req.from, "%s", from);
    snprintf(req.to, sizeof req.to, "%s", to);
    req.amount_minor = amount;
    snprintf(req.currency, sizeof req.currency, "GBP");
    snprintf(req.reference, sizeof req.reference, "rent");
    return req;
}

/* Submits in its own write transaction; commits on success, aborts otherwise. */
static ledger_err_t submit(fx_t *fx, const char *key, const gateway_transfer_request_t *req,
                           uint64_t now_ms, gateway_submit_result_t *out)
{
    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(fx->store, true, &txn), LEDGER_OK);
    node_ctx_t ctx;
    node_ctx_init(&ctx, txn, NODE, now_ms);
    ledger_err_t err = gateway_view_submit(&ctx, req, key, RETENTION_MS, out);
    if (err == LEDGER_OK)
        assert_int_equal(store_txn_commit(&txn), LEDGER_OK);
    else
        store_txn_abort(&txn);
    node_ctx_fini(&ctx);
    return err;
}

static void submit_ok(fx_t *fx, const char *key, const gateway_transfer_request_t *req,
                      uint64_t now_ms, gateway_submit_result_t *out)
{
    assert_int_equal(submit(fx, key, req, now_ms, out), LEDGER_OK);
}

static ledger_err_t apply(fx_t *fx, const proto_msg_t *msg, uint64_t now_ms)
{
    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(fx->store, true, &txn), LEDGER_OK);
    node_ctx_t ctx;
    node_ctx_init(&ctx, txn, NODE, now_ms);
    ledger_err_t err = gateway_view_apply(&ctx, msg);
    assert_int_equal(ctx.published_count, 0); /* the gateway never emits on an event */
    if (err == LEDGER_OK)
        assert_int_equal(store_txn_commit(&txn), LEDGER_OK);
    else
        store_txn_abort(&txn);
    node_ctx_fini(&ctx);
    return err;
}

static uint64_t count(fx_t *fx, store_db_t db)
{
    store_txn_t *txn = NULL;
    uint64_t n = 0;
    assert_int_equal(store_txn_begin(fx->store, false, &txn), LEDGER_OK);
    assert_int_equal(store_count(txn, db, &n), LEDGER_OK);
    store_txn_abort(&txn);
    return n;
}

static proto_msg_t event(const char *origin, uint64_t seq, proto_type_t type, const char *transfer,
                         uint64_t ts_ms)
{
    proto_msg_t m;
    memset(&m, 0, sizeof m);
    m.v = PROTO_VERSION;
    snprintf(m.origin, sizeof m.origin, "%s", origin);
    m.seq = seq;
    m.type = type;
    snprintf(m.corr, sizeof m.corr, "%s", transfer);
    snprintf(m.cause, sizeof m.cause, "gateway/1");
    m.ts_ms = ts_ms;
    switch (type) {
    case PROTO_FUNDS_RESERVED:
    case PROTO_TRANSFER_SETTLED:
        snprintf(m.body.transfer.transfer, sizeof m.body.transfer.transfer, "%s", transfer);
        snprintf(m.body.transfer.from, sizeof m.body.transfer.from, "alice");
        snprintf(m.body.transfer.to, sizeof m.body.transfer.to, "bob");
        m.body.transfer.amount_minor = 500;
        snprintf(m.body.transfer.currency, sizeof m.body.transfer.currency, "GBP");
        break;
    case PROTO_TRANSFER_REJECTED_FRAUD:
    case PROTO_FRAUD_APPROVED:
        snprintf(m.body.verdict.transfer, sizeof m.body.verdict.transfer, "%s", transfer);
        m.body.verdict.rule_count = 2;
        snprintf(m.body.verdict.rules[0], sizeof m.body.verdict.rules[0], "amount_threshold");
        snprintf(m.body.verdict.rules[1], sizeof m.body.verdict.rules[1], "velocity");
        snprintf(m.body.verdict.reason, sizeof m.body.verdict.reason, "amount over the limit");
        break;
    case PROTO_TRANSFER_DECLINED:
        snprintf(m.body.declined.transfer, sizeof m.body.declined.transfer, "%s", transfer);
        snprintf(m.body.declined.code, sizeof m.body.declined.code, "insufficient_funds");
        snprintf(m.body.declined.reason, sizeof m.body.declined.reason, "available 100 < 500");
        break;
    default:
        break;
    }
    return m;
}

/* --- request validation -------------------------------------------------- */

typedef struct {
    const char *body;
    unsigned status;
    const char *code;
    const char *field;
} bad_case_t;

static void test_bad_transfer_bodies_are_refused_with_a_clear_error(void **state)
{
    (void)state;
    static const bad_case_t cases[] = {
        {"", 400, "invalid_json", ""},
        {"{", 400, "invalid_json", ""},
        {"not json", 400, "invalid_json", ""},
        {"[1,2]", 400, "invalid_json", ""},
        {"\"text\"", 400, "invalid_json", ""},
        {"{\"from\":\"alice\",\"from\":\"carol\",\"to\":\"bob\",\"amount\":5}", 400, "invalid_json",
         ""},
        {"{\"from\":\"alice\",\"to\":\"bob\",\"amount\":5,\"memo\":\"x\"}", 400, "unknown_field",
         "memo"},
        {"{\"to\":\"bob\",\"amount\":5}", 400, "missing_field", "from"},
        {"{\"from\":\"alice\",\"amount\":5}", 400, "missing_field", "to"},
        {"{\"from\":\"alice\",\"to\":\"bob\"}", 400, "missing_field", "amount"},
        {"{\"from\":\"alice\",\"to\":\"bob\",\"amount\":null}", 400, "invalid_field", "amount"},
        {"{\"from\":5,\"to\":\"bob\",\"amount\":5}", 400, "invalid_field", "from"},
        {"{\"from\":null,\"to\":\"bob\",\"amount\":5}", 400, "invalid_field", "from"},
        {"{\"from\":\"Alice\",\"to\":\"bob\",\"amount\":5}", 400, "invalid_field", "from"},
        {"{\"from\":\"\",\"to\":\"bob\",\"amount\":5}", 400, "invalid_field", "from"},
        {"{\"from\":\"alice\",\"to\":[\"bob\"],\"amount\":5}", 400, "invalid_field", "to"},
        {"{\"from\":\"alice\",\"to\":\"bob\",\"amount\":1.0}", 400, "invalid_field", "amount"},
        {"{\"from\":\"alice\",\"to\":\"bob\",\"amount\":1.5}", 400, "invalid_field", "amount"},
        {"{\"from\":\"alice\",\"to\":\"bob\",\"amount\":1e3}", 400, "invalid_field", "amount"},
        {"{\"from\":\"alice\",\"to\":\"bob\",\"amount\":\"100\"}", 400, "invalid_field", "amount"},
        {"{\"from\":\"alice\",\"to\":\"bob\",\"amount\":true}", 400, "invalid_field", "amount"},
        {"{\"from\":\"alice\",\"to\":\"bob\",\"amount\":0}", 400, "invalid_field", "amount"},
        {"{\"from\":\"alice\",\"to\":\"bob\",\"amount\":-5}", 400, "invalid_field", "amount"},
        {"{\"from\":\"alice\",\"to\":\"bob\",\"amount\":9223372036854775808}", 400, "invalid_field",
         "amount"},
        {"{\"from\":\"alice\",\"to\":\"bob\",\"amount\":-9223372036854775809}", 400,
         "invalid_field", "amount"},
        {"{\"from\":\"alice\",\"to\":\"bob\",\"amount\":5,\"currency\":\"gbp\"}", 400,
         "invalid_field", "currency"},
        {"{\"from\":\"alice\",\"to\":\"bob\",\"amount\":5,\"currency\":\"GBPX\"}", 400,
         "invalid_field", "currency"},
        {"{\"from\":\"alice\",\"to\":\"bob\",\"amount\":5,\"currency\":826}", 400, "invalid_field",
         "currency"},
        {"{\"from\":\"alice\",\"to\":\"bob\",\"amount\":5,\"reference\":7}", 400, "invalid_field",
         "reference"},
        {"{\"from\":\"alice\",\"to\":\"bob\",\"amount\":5,\"reference\":\"a\\nb\"}", 400,
         "invalid_field", "reference"},
        {"{\"from\":\"alice\",\"to\":\"bob\",\"amount\":5,\"reference\":\"a\\u0000b\"}", 400,
         "invalid_json", ""},
        {"{\"from\":\"alice\",\"to\":\"alice\",\"amount\":5}", 422, "same_account", "to"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gateway_transfer_request_t req;
        gateway_error_t err;
        memset(&err, 0, sizeof err);
        ledger_err_t rc =
            gateway_parse_transfer_request(cases[i].body, strlen(cases[i].body), &req, &err);
        if (rc != LEDGER_E_INVALID || err.http_status != cases[i].status ||
            strcmp(err.code, cases[i].code) != 0 || strcmp(err.field, cases[i].field) != 0)
            fail_msg("case %zu %s: got %d %u %s field '%s' (%s)", i, cases[i].body, (int)rc,
                     err.http_status, err.code, err.field, err.message);
        assert_true(err.message[0] != '\0');
        assert_true(gateway_view_text_valid(err.message));
    }
}

static void test_long_reference_is_refused(void **state)
{
    (void)state;
    char body[512];
    char reference[PROTO_REFERENCE_MAX + 2];
    memset(reference, 'r', sizeof reference);
    reference[PROTO_REFERENCE_MAX + 1] = '\0';
    snprintf(body, sizeof body,
             "{\"from\":\"alice\",\"to\":\"bob\",\"amount\":5,\"reference\":\"%s\"}", reference);
    gateway_transfer_request_t req;
    gateway_error_t err;
    assert_int_equal(gateway_parse_transfer_request(body, strlen(body), &req, &err),
                     LEDGER_E_INVALID);
    assert_string_equal(err.field, "reference");
    reference[PROTO_REFERENCE_MAX] = '\0'; /* exactly at the limit */
    snprintf(body, sizeof body,
             "{\"from\":\"alice\",\"to\":\"bob\",\"amount\":5,\"reference\":\"%s\"}", reference);
    assert_int_equal(gateway_parse_transfer_request(body, strlen(body), &req, &err), LEDGER_OK);
    assert_int_equal(strlen(req.reference), PROTO_REFERENCE_MAX);
}

static void test_good_transfer_bodies_parse_with_defaults(void **state)
{
    (void)state;
    gateway_transfer_request_t a, b;
    gateway_error_t err;
    const char *minimal = "{\"from\":\"alice\",\"to\":\"bob\",\"amount\":1050}";
    assert_int_equal(gateway_parse_transfer_request(minimal, strlen(minimal), &a, &err), LEDGER_OK);
    assert_string_equal(a.from, "alice");
    assert_string_equal(a.to, "bob");
    assert_int_equal(a.amount_minor, 1050);
    assert_string_equal(a.currency, "GBP");
    assert_string_equal(a.reference, "");
    const char *full = " { \"reference\" : null, \"currency\":\"GBP\", \"amount\": 1050,"
                       " \"to\":\"bob\", \"from\":\"alice\" } ";
    assert_int_equal(gateway_parse_transfer_request(full, strlen(full), &b, &err), LEDGER_OK);
    /* The same transfer however it is written: the idempotency hash agrees. */
    uint8_t ha[GATEWAY_HASH_SIZE], hb[GATEWAY_HASH_SIZE];
    assert_int_equal(gateway_view_request_hash(&a, ha), LEDGER_OK);
    assert_int_equal(gateway_view_request_hash(&b, hb), LEDGER_OK);
    assert_memory_equal(ha, hb, sizeof ha);
    const char *max = "{\"from\":\"a\",\"to\":\"b\",\"amount\":9223372036854775807,"
                      "\"reference\":\"caf\\u00e9\"}";
    assert_int_equal(gateway_parse_transfer_request(max, strlen(max), &a, &err), LEDGER_OK);
    assert_int_equal(a.amount_minor, INT64_MAX);
    assert_string_equal(a.reference, "caf\xc3\xa9");
}

static void test_account_bodies_are_validated(void **state)
{
    (void)state;
    static const bad_case_t cases[] = {
        {"{\"name\":\"Ann\"}", 400, "missing_field", "id"},
        {"{\"id\":\"ann\"}", 400, "missing_field", "name"},
        {"{\"id\":\"ann\",\"name\":\"\"}", 400, "invalid_field", "name"},
        {"{\"id\":\"Ann\",\"name\":\"Ann\"}", 400, "invalid_field", "id"},
        {"{\"id\":\"ann\",\"name\":\"Ann\",\"opening_balance\":-1}", 400, "invalid_field",
         "opening_balance"},
        {"{\"id\":\"ann\",\"name\":\"Ann\",\"opening_balance\":1.5}", 400, "invalid_field",
         "opening_balance"},
        {"{\"id\":\"ann\",\"name\":\"Ann\",\"opening_balance\":99999999999999999999}", 400,
         "invalid_field", "opening_balance"},
        {"{\"id\":\"ann\",\"name\":\"Ann\",\"balance\":5}", 400, "unknown_field", "balance"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gateway_account_request_t req;
        gateway_error_t err;
        memset(&err, 0, sizeof err);
        ledger_err_t rc =
            gateway_parse_account_request(cases[i].body, strlen(cases[i].body), &req, &err);
        if (rc != LEDGER_E_INVALID || err.http_status != cases[i].status ||
            strcmp(err.code, cases[i].code) != 0 || strcmp(err.field, cases[i].field) != 0)
            fail_msg("case %zu %s: got %d %u %s field '%s' (%s)", i, cases[i].body, (int)rc,
                     err.http_status, err.code, err.field, err.message);
    }
    gateway_account_request_t req;
    gateway_error_t err;
    const char *ok = "{\"id\":\"ann\",\"name\":\"Ann Lee\",\"opening_balance\":0}";
    assert_int_equal(gateway_parse_account_request(ok, strlen(ok), &req, &err), LEDGER_OK);
    assert_string_equal(req.id, "ann");
    assert_string_equal(req.name, "Ann Lee");
    assert_string_equal(req.currency, "GBP");
    assert_int_equal(req.opening_balance_minor, 0);
}

static void test_idempotency_key_rules(void **state)
{
    (void)state;
    gateway_error_t err;
    assert_int_equal(gateway_check_idempotency_key("abc-123_XYZ.~!", 1, &err), LEDGER_OK);
    assert_int_equal(gateway_check_idempotency_key(NULL, 0, &err), LEDGER_E_INVALID);
    assert_string_equal(err.code, "missing_idempotency_key");
    assert_int_equal(err.http_status, 400);
    assert_string_equal(err.field, "Idempotency-Key");
    const char *bad[] = {"", "has space", "tab\t", "caf\xc3\xa9", "del\x7f"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(gateway_check_idempotency_key(bad[i], 1, &err), LEDGER_E_INVALID);
        assert_string_equal(err.code, "invalid_idempotency_key");
    }
    assert_int_equal(gateway_check_idempotency_key("a", 2, &err), LEDGER_E_INVALID);
    assert_string_equal(err.code, "invalid_idempotency_key");
    char key[GATEWAY_IDEMPOTENCY_KEY_MAX + 2];
    memset(key, 'k', sizeof key);
    key[GATEWAY_IDEMPOTENCY_KEY_MAX] = '\0';
    assert_int_equal(gateway_check_idempotency_key(key, 1, &err), LEDGER_OK);
    key[GATEWAY_IDEMPOTENCY_KEY_MAX] = 'k';
    key[GATEWAY_IDEMPOTENCY_KEY_MAX + 1] = '\0';
    assert_int_equal(gateway_check_idempotency_key(key, 1, &err), LEDGER_E_INVALID);
}

static void test_limit_and_content_type_rules(void **state)
{
    (void)state;
    gateway_error_t err;
    uint32_t limit = 0;
    assert_int_equal(gateway_parse_limit(NULL, 50, 200, &limit, &err), LEDGER_OK);
    assert_int_equal(limit, 50);
    assert_int_equal(gateway_parse_limit("200", 50, 200, &limit, &err), LEDGER_OK);
    assert_int_equal(limit, 200);
    const char *bad[] = {"", "0", "201", "-1", "+5", "5x", "1e2", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(gateway_parse_limit(bad[i], 50, 200, &limit, &err), LEDGER_E_INVALID);
        assert_string_equal(err.code, "invalid_query");
        assert_string_equal(err.field, "limit");
    }
    assert_true(gateway_content_type_is_json("application/json"));
    assert_true(gateway_content_type_is_json("Application/JSON; charset=utf-8"));
    assert_false(gateway_content_type_is_json(NULL));
    assert_false(gateway_content_type_is_json("text/plain"));
    assert_false(gateway_content_type_is_json("application/jsonx"));
    assert_false(gateway_content_type_is_json("application/x-www-form-urlencoded"));
}

/* --- HTTP: a fake accounts node and a tiny client ------------------------ */

typedef struct {
    zsock_t *router;
    pthread_t thread;
    atomic_bool stop;
    atomic_int queries;
} fake_accounts_t;

static proto_account_t fake_account(const char *id, int64_t balance, int64_t held)
{
    proto_account_t a;
    memset(&a, 0, sizeof a);
    snprintf(a.id, sizeof a.id, "%s", id);
    snprintf(a.name, sizeof a.name, "Name of %s", id);
    snprintf(a.currency, sizeof a.currency, "GBP");
    a.balance_minor = balance;
    a.held_minor = held;
    return a;
}

static void *fake_accounts_main(void *arg)
{
    fake_accounts_t *fa = arg;
    while (!atomic_load(&fa->stop)) {
        zmsg_t *in = zmsg_recv(fa->router); /* rcvtimeo bounds the wait */
        if (!in)
            continue;
        atomic_fetch_add(&fa->queries, 1);
        zframe_t *identity = zmsg_pop(in);
        zframe_t *tag = zmsg_pop(in);
        zframe_t *env = zmsg_pop(in);
        proto_msg_t q;
        if (identity && tag && env &&
            proto_decode(zframe_data(env), zframe_size(env), &q, NULL, 0) == LEDGER_OK &&
            q.type == PROTO_ACCOUNT_QUERY) {
            proto_account_t accounts[2] = {fake_account("alice", 10000, 2500),
                                           fake_account("bob", 500, 0)};
            proto_ledger_row_t row;
            memset(&row, 0, sizeof row);
            row.seq = 7;
            snprintf(row.account, sizeof row.account, "alice");
            snprintf(row.kind, sizeof row.kind, "open");
            row.amount_minor = 10000;
            row.balance_after_minor = 10000;
            row.ts_ms = T0_MS;
            proto_msg_t reply;
            memset(&reply, 0, sizeof reply);
            reply.v = PROTO_VERSION;
            reply.type = PROTO_ACCOUNT_REPLY;
            snprintf(reply.origin, sizeof reply.origin, "accounts");
            reply.seq = 1;
            reply.ts_ms = T0_MS;
            proto_account_reply_t *r = &reply.body.account_reply;
            r->status = 200;
            const proto_query_t *qq = &q.body.query;
            if (q.body.query.op == PROTO_QUERY_LIST) {
                r->accounts = accounts;
                r->account_count = 2;
                snprintf(r->next, sizeof r->next, "bob");
            } else if (qq->op == PROTO_QUERY_LEDGER) {
                r->entries = &row;
                r->entry_count = 1;
            } else if (strcmp(qq->account, "alice") == 0 || qq->op == PROTO_QUERY_OPEN) {
                if (qq->op == PROTO_QUERY_OPEN)
                    snprintf(accounts[0].id, sizeof accounts[0].id, "%s", qq->account);
                r->accounts = accounts;
                r->account_count = 1;
                if (strcmp(qq->account, "taken") == 0) {
                    r->status = 409;
                    snprintf(r->code, sizeof r->code, "account_exists");
                    r->accounts = NULL;
                    r->account_count = 0;
                }
            } else {
                r->status = 404;
                snprintf(r->code, sizeof r->code, "not_found");
                snprintf(r->reason, sizeof r->reason, "no account %s", qq->account);
            }
            void *data = NULL;
            size_t size = 0;
            if (proto_encode(&reply, &data, &size, NULL, 0) == LEDGER_OK) {
                zmsg_t *out = zmsg_new();
                zmsg_append(out, &identity);
                zmsg_append(out, &tag);
                zmsg_addmem(out, data, size);
                zmsg_send(&out, fa->router);
                free(data);
            }
        }
        zframe_destroy(&identity);
        zframe_destroy(&tag);
        zframe_destroy(&env);
        zmsg_destroy(&in);
    }
    return NULL;
}

static void fake_accounts_start(fake_accounts_t *fa, char *endpoint, size_t size)
{
    memset(fa, 0, sizeof *fa);
    fa->router = zsock_new(ZMQ_ROUTER);
    assert_non_null(fa->router);
    zsock_set_linger(fa->router, 0);
    zsock_set_rcvtimeo(fa->router, 50);
    int port = zsock_bind(fa->router, "tcp://127.0.0.1:*");
    assert_true(port > 0);
    snprintf(endpoint, size, "tcp://127.0.0.1:%d", port);
    assert_int_equal(pthread_create(&fa->thread, NULL, fake_accounts_main, fa), 0);
}

static void fake_accounts_stop(fake_accounts_t *fa)
{
    atomic_store(&fa->stop, true);
    pthread_join(fa->thread, NULL);
    zsock_destroy(&fa->router);
}

typedef struct {
    int status;
    char raw[65536];
    const char *body;
} http_reply_t;

/* One request over a fresh connection ("Connection: close"); reads the whole answer. With
   `send_body` false only the headers go out (to see an answer given before the body). */
static void http_call_full(uint16_t port, const char *method, const char *path, const char *headers,
                           const char *body, bool send_body, http_reply_t *out)
{
    memset(out, 0, sizeof *out);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    char *request = malloc(65536);
    assert_non_null(request);
    int n = snprintf(request, 65536, "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n%s",
                     method, path, headers ? headers : "");
    if (body)
        n += snprintf(request + n, 65536 - (size_t)n, "Content-Length: %zu\r\n", strlen(body));
    n += snprintf(request + n, 65536 - (size_t)n, "\r\n%s", body && send_body ? body : "");
    assert_true(n < 65536);
    assert_int_equal(write(fd, request, (size_t)n), n);
    free(request);
    size_t got = 0;
    for (;;) {
        ssize_t r = read(fd, out->raw + got, sizeof out->raw - 1 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    out->raw[got] = '\0';
    assert_true(sscanf(out->raw, "HTTP/1.1 %d", &out->status) == 1);
    const char *split = strstr(out->raw, "\r\n\r\n");
    out->body = split ? split + 4 : "";
}

static void http_call(uint16_t port, const char *method, const char *path, const char *headers,
                      const char *body, http_reply_t *out)
{
    http_call_full(port, method, path, headers, body, true, out);
}

static bool has_header(const http_reply_t *r, const char *line)
{
    const char *end = strstr(r->raw, "\r\n\r\n");
    const char *at = strcasestr(r->raw, line);
    return at && end && at < end;
}

static json_t *reply_json(const http_reply_t *r)
{
    json_t *j = json_loads(r->body, 0, NULL);
    if (!j)
        fail_msg("not JSON: %s", r->raw);
    assert_true(has_header(r, "Content-Type: application/json"));
    return j;
}

static void assert_error(const http_reply_t *r, int status, const char *code)
{
    if (r->status != status)
        fail_msg("expected %d %s, got: %s", status, code, r->raw);
    json_t *j = reply_json(r);
    json_t *err = json_object_get(j, "error");
    assert_string_equal(json_string_value(json_object_get(err, "code")), code);
    assert_true(json_is_string(json_object_get(err, "message")));
    assert_non_null(json_object_get(err, "field"));
    json_decref(j);
}

static atomic_int wakes;
static atomic_int published;

static void on_wake(void *arg)
{
    (void)arg;
    atomic_fetch_add(&wakes, 1);
}

static void on_publish(void *arg, const node_published_t *items, size_t n)
{
    (void)arg;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(items[i].type, PROTO_TRANSFER_REQUESTED);
        atomic_fetch_add(&published, 1);
    }
}

/* The settings every HTTP test shares: this fixture's store, any port, no accounts node. */
static gateway_http_config_t http_config(fx_t *fx)
{
    gateway_http_config_t config;
    memset(&config, 0, sizeof config);
    config.store = fx->store;
    config.node_name = NODE;
    config.port = 0;
    config.accounts_endpoint = "tcp://127.0.0.1:1";
    return config;
}

static gateway_http_t *start_http(fx_t *fx, const char *accounts_endpoint, uint32_t timeout_ms)
{
    gateway_http_config_t config = http_config(fx);
    config.accounts_endpoint = accounts_endpoint;
    config.query_timeout_ms = timeout_ms;
    config.body_max_bytes = 512;
    config.wake = on_wake;
    config.publish = on_publish;
    gateway_http_t *gw = NULL;
    assert_int_equal(gateway_http_start(&config, &gw), LEDGER_OK);
    assert_true(gateway_http_port(gw) > 0);
    return gw;
}

#define JSON_HEADERS "Content-Type: application/json\r\n"
#define TRANSFER_BODY "{\"from\":\"alice\",\"to\":\"bob\",\"amount\":1050,\"reference\":\"rent\"}"

static void test_http_transfer_round_trip(void **state)
{
    fx_t *fx = *state;
    atomic_store(&wakes, 0);
    atomic_store(&published, 0);
    gateway_http_t *gw = start_http(fx, "tcp://127.0.0.1:1", 200);
    uint16_t port = gateway_http_port(gw);
    http_reply_t r;

    http_call(port, "GET", "/api/health", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    json_t *j = reply_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "ok");
    json_decref(j);

    http_call(port, "POST", "/api/transfers", JSON_HEADERS "Idempotency-Key: k-1\r\n",
              TRANSFER_BODY, &r);
    if (r.status != 202)
        fail_msg("%s", r.raw);
    assert_false(has_header(&r, "Idempotent-Replayed"));
    j = reply_json(&r);
    char id[PROTO_TRANSFER_ID_MAX + 1];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(j, "id")));
    assert_true(gateway_view_transfer_id_valid(id));
    assert_string_equal(json_string_value(json_object_get(j, "status")), "pending");
    assert_int_equal(json_integer_value(json_object_get(j, "amount")), 1050);
    assert_string_equal(json_string_value(json_object_get(j, "currency")), "GBP");
    assert_true(json_is_string(json_object_get(j, "created_at")));
    char first_body[1024];
    snprintf(first_body, sizeof first_body, "%s", r.body);
    json_decref(j);
    char location[128];
    snprintf(location, sizeof location, "Location: /api/transfers/%s", id);
    assert_true(has_header(&r, location));
    assert_int_equal(atomic_load(&wakes), 1);
    assert_int_equal(atomic_load(&published), 1);
    assert_int_equal(count(fx, STORE_DB_OUTBOX), 1);

    /* The same key and body (keys in another order): the same answer, marked as a replay. */
    http_call(port, "POST", "/api/transfers", JSON_HEADERS "Idempotency-Key: k-1\r\n",
              "{\"reference\":\"rent\",\"amount\":1050,\"to\":\"bob\",\"from\":\"alice\"}", &r);
    assert_int_equal(r.status, 202);
    assert_true(has_header(&r, "Idempotent-Replayed: true"));
    assert_string_equal(r.body, first_body);
    assert_int_equal(atomic_load(&wakes), 1);
    assert_int_equal(count(fx, STORE_DB_OUTBOX), 1);

    http_call(port, "POST", "/api/transfers", JSON_HEADERS "Idempotency-Key: k-1\r\n",
              "{\"from\":\"alice\",\"to\":\"bob\",\"amount\":1051}", &r);
    assert_error(&r, 422, "idempotency_key_reused");
    assert_int_equal(count(fx, STORE_DB_TRANSFERS), 1);

    char path[128];
    snprintf(path, sizeof path, "/api/transfers/%s", id);
    http_call(port, "GET", path, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    j = reply_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "pending");
    assert_int_equal(json_array_size(json_object_get(j, "timeline")), 1);
    json_decref(j);

    http_call(port, "GET", "/api/transfers?limit=1", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    j = reply_json(&r);
    assert_int_equal(json_array_size(json_object_get(j, "transfers")), 1);
    assert_true(json_is_null(json_object_get(j, "next_cursor")));
    json_decref(j);

    http_call(port, "GET", "/api/transfers/tr_00000000000000000001", NULL, NULL, &r);
    assert_error(&r, 404, "not_found");
    http_call(port, "GET", "/api/transfers/nonsense", NULL, NULL, &r);
    assert_error(&r, 404, "not_found");
    gateway_http_destroy(&gw);
    assert_null(gw);
}

/* A stand-in for the node loop of ledger-gateway: with loop_commits it commits the submissions. */
typedef struct {
    gateway_http_t *gw;
    store_t *store;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int wakes;
    bool stop;
    atomic_int commits;
    node_ctx_t ctx;
} fake_loop_t;

static void fake_loop_wake(void *arg)
{
    fake_loop_t *loop = arg;
    pthread_mutex_lock(&loop->lock);
    loop->wakes++;
    pthread_cond_signal(&loop->cond);
    pthread_mutex_unlock(&loop->lock);
}

static ledger_err_t fake_loop_apply(store_txn_t *txn, void *arg)
{
    fake_loop_t *loop = arg;
    /* The real clock: the server's pruning (on its own thread) judges key ages by it. */
    node_ctx_begin(&loop->ctx, txn, clock_wall_ms());
    return gateway_http_apply_taken(loop->gw, &loop->ctx);
}

static void *fake_loop_main(void *arg)
{
    fake_loop_t *loop = arg;
    pthread_mutex_lock(&loop->lock);
    while (!loop->stop) {
        if (loop->wakes == 0) {
            pthread_cond_wait(&loop->cond, &loop->lock);
            continue;
        }
        loop->wakes = 0;
        pthread_mutex_unlock(&loop->lock);
        if (gateway_http_take(loop->gw) > 0) {
            ledger_err_t err = store_write(loop->store, fake_loop_apply, loop);
            atomic_fetch_add(&loop->commits, 1);
            gateway_http_finish_taken(loop->gw, err);
        }
        pthread_mutex_lock(&loop->lock);
    }
    pthread_mutex_unlock(&loop->lock);
    return NULL;
}

static void test_http_loop_commits_submissions_in_the_callers_transaction(void **state)
{
    fx_t *fx = *state;
    atomic_store(&published, 0);
    fake_loop_t loop = {.store = fx->store};
    pthread_mutex_init(&loop.lock, NULL);
    pthread_cond_init(&loop.cond, NULL);
    node_ctx_init(&loop.ctx, NULL, NODE, 0);
    gateway_http_config_t config = http_config(fx);
    config.wake = fake_loop_wake;
    config.wake_arg = &loop;
    config.publish = on_publish;
    config.loop_commits = true;
    assert_int_equal(gateway_http_start(&config, &loop.gw), LEDGER_OK);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, fake_loop_main, &loop), 0);
    uint16_t port = gateway_http_port(loop.gw);
    http_reply_t r;

    http_call(port, "POST", "/api/transfers", JSON_HEADERS "Idempotency-Key: loop-1\r\n",
              TRANSFER_BODY, &r);
    assert_int_equal(r.status, 202);
    /* Committed by the loop, in its transaction: the loop's ctx emitted the message. */
    assert_int_equal(atomic_load(&loop.commits), 1);
    assert_int_equal(loop.ctx.published_count, 1);
    assert_int_equal(loop.ctx.published[0].type, PROTO_TRANSFER_REQUESTED);
    assert_int_equal(atomic_load(&published), 0); /* the loop publishes, not the server */
    assert_int_equal(count(fx, STORE_DB_OUTBOX), 1);
    assert_int_equal(count(fx, STORE_DB_TRANSFERS), 1);
    /* A replay is answered the same way, and a refusal inside the batch too. */
    http_call(port, "POST", "/api/transfers", JSON_HEADERS "Idempotency-Key: loop-1\r\n",
              TRANSFER_BODY, &r);
    assert_int_equal(r.status, 202);
    assert_true(has_header(&r, "Idempotent-Replayed: true"));
    http_call(port, "POST", "/api/transfers", JSON_HEADERS "Idempotency-Key: loop-1\r\n",
              "{\"from\":\"alice\",\"to\":\"bob\",\"amount\":7}", &r);
    assert_error(&r, 422, "idempotency_key_reused");
    assert_int_equal(atomic_load(&loop.commits), 3);
    assert_int_equal(count(fx, STORE_DB_OUTBOX), 1);

    pthread_mutex_lock(&loop.lock);
    loop.stop = true;
    pthread_cond_signal(&loop.cond);
    pthread_mutex_unlock(&loop.lock);
    pthread_join(thread, NULL);
    gateway_http_destroy(&loop.gw);
    node_ctx_fini(&loop.ctx);
    pthread_cond_destroy(&loop.cond);
    pthread_mutex_destroy(&loop.lock);
}

static void test_http_admission_refuses_new_transfers_past_max_pending(void **state)
{
    fx_t *fx = *state;
    gateway_http_config_t config = http_config(fx);
    config.max_pending = 2;
    gateway_http_t *gw = NULL;
    assert_int_equal(gateway_http_start(&config, &gw), LEDGER_OK);
    uint16_t port = gateway_http_port(gw);
    http_reply_t r;
    /* No accounts node acks: every accepted transfer stays in the outbox. */
    http_call(port, "POST", "/api/transfers", JSON_HEADERS "Idempotency-Key: adm-1\r\n",
              TRANSFER_BODY, &r);
    assert_int_equal(r.status, 202);
    http_call(port, "POST", "/api/transfers", JSON_HEADERS "Idempotency-Key: adm-2\r\n",
              TRANSFER_BODY, &r);
    assert_int_equal(r.status, 202);
    http_call(port, "POST", "/api/transfers", JSON_HEADERS "Idempotency-Key: adm-3\r\n",
              TRANSFER_BODY, &r);
    assert_error(&r, 503, "overloaded");
    assert_true(has_header(&r, "Retry-After: 1"));
    assert_non_null(strstr(r.body, "2 transfers are waiting"));
    /* A batch is weighed by its items, and nothing of a refused request is written. */
    http_call(port, "POST", "/api/transfers/batch", JSON_HEADERS,
              "{\"transfers\":[{\"idempotency_key\":\"adm-b1\",\"from\":\"alice\",\"to\":\"bob\","
              "\"amount\":5}]}",
              &r);
    assert_error(&r, 503, "overloaded");
    assert_int_equal(count(fx, STORE_DB_OUTBOX), 2);
    assert_int_equal(count(fx, STORE_DB_TRANSFERS), 2);
    gateway_http_destroy(&gw);
}

static void test_http_refuses_bad_requests(void **state)
{
    fx_t *fx = *state;
    gateway_http_t *gw = start_http(fx, "tcp://127.0.0.1:1", 200);
    uint16_t port = gateway_http_port(gw);
    http_reply_t r;

    http_call(port, "POST", "/api/transfers", JSON_HEADERS, TRANSFER_BODY, &r);
    assert_error(&r, 400, "missing_idempotency_key");
    http_call(port, "POST", "/api/transfers",
              JSON_HEADERS "Idempotency-Key: a\r\nIdempotency-Key: b\r\n", TRANSFER_BODY, &r);
    assert_error(&r, 400, "invalid_idempotency_key");
    http_call(port, "POST", "/api/transfers", "Content-Type: text/plain\r\nIdempotency-Key: k\r\n",
              TRANSFER_BODY, &r);
    assert_error(&r, 415, "unsupported_media_type");
    http_call(port, "POST", "/api/transfers", "Idempotency-Key: k\r\n", TRANSFER_BODY, &r);
    assert_error(&r, 415, "unsupported_media_type");
    http_call(port, "POST", "/api/transfers", JSON_HEADERS "Idempotency-Key: k\r\n",
              "{\"from\":\"alice\",\"to\":\"bob\",\"amount\":1.0}", &r);
    assert_error(&r, 400, "invalid_field");
    http_call(port, "POST", "/api/transfers", JSON_HEADERS "Idempotency-Key: k\r\n",
              "{\"from\":\"alice\",\"to\":\"alice\",\"amount\":1}", &r);
    assert_error(&r, 422, "same_account");

    /* Over the body cap (512 in these tests): declared, and streamed in chunks. */
    char big[1024];
    memset(big, ' ', sizeof big);
    big[sizeof big - 1] = '\0';
    http_call_full(port, "POST", "/api/transfers", JSON_HEADERS "Idempotency-Key: k\r\n", big,
                   false, &r);
    assert_error(&r, 413, "payload_too_large");

    http_call(port, "DELETE", "/api/transfers", NULL, NULL, &r);
    assert_error(&r, 405, "method_not_allowed");
    assert_true(has_header(&r, "Allow: GET, HEAD, POST"));
    http_call(port, "POST", "/api/health", JSON_HEADERS, "{}", &r);
    assert_error(&r, 405, "method_not_allowed");
    assert_true(has_header(&r, "Allow: GET, HEAD"));
    http_call(port, "GET", "/api/nowhere", NULL, NULL, &r);
    assert_error(&r, 404, "not_found");
    http_call(port, "GET", "/api", NULL, NULL, &r);
    assert_error(&r, 404, "not_found");
    http_call(port, "GET", "/api/transfers?limit=0", NULL, NULL, &r);
    assert_error(&r, 400, "invalid_query");
    http_call(port, "GET", "/api/transfers?cursor=zzz", NULL, NULL, &r);
    assert_error(&r, 400, "invalid_query");
    assert_int_equal(count(fx, STORE_DB_TRANSFERS), 0);
    assert_int_equal(count(fx, STORE_DB_OUTBOX), 0);
    gateway_http_destroy(&gw);
}

static void test_http_chunked_body_over_the_cap_is_413(void **state)
{
    fx_t *fx = *state;
    gateway_http_t *gw = start_http(fx, "tcp://127.0.0.1:1", 200);
    char big[1024];
    memset(big, ' ', sizeof big);
    big[sizeof big - 1] = '\0';
    char request[2048];
    int n = snprintf(request, sizeof request,
                     "POST /api/transfers HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" JSON_HEADERS
                     "Idempotency-Key: k\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "%zx\r\n%s\r\n0\r\n\r\n",
                     strlen(big), big);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(gateway_http_port(gw))};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    assert_int_equal(write(fd, request, (size_t)n), n);
    char answer[4096] = "";
    size_t got = 0;
    ssize_t r;
    while ((r = read(fd, answer + got, sizeof answer - 1 - got)) > 0)
        got += (size_t)r;
    answer[got] = '\0';
    close(fd);
    assert_non_null(strstr(answer, "HTTP/1.1 413"));
    assert_non_null(strstr(answer, "payload_too_large"));
    gateway_http_destroy(&gw);
}

static void test_http_account_routes_ask_the_accounts_node(void **state)
{
    fx_t *fx = *state;
    fake_accounts_t fa;
    char endpoint[64];
    fake_accounts_start(&fa, endpoint, sizeof endpoint);
    gateway_http_t *gw = start_http(fx, endpoint, 5000);
    uint16_t port = gateway_http_port(gw);
    http_reply_t r;

    http_call(port, "GET", "/api/accounts", NULL, NULL, &r);
    if (r.status != 200)
        fail_msg("%s", r.raw);
    json_t *j = reply_json(&r);
    json_t *accounts = json_object_get(j, "accounts");
    assert_int_equal(json_array_size(accounts), 2);
    json_t *alice = json_array_get(accounts, 0);
    assert_string_equal(json_string_value(json_object_get(alice, "id")), "alice");
    assert_int_equal(json_integer_value(json_object_get(alice, "balance")), 10000);
    assert_int_equal(json_integer_value(json_object_get(alice, "held")), 2500);
    assert_int_equal(json_integer_value(json_object_get(alice, "available")), 7500);
    assert_true(json_is_false(json_object_get(alice, "funding")));
    assert_string_equal(json_string_value(json_object_get(j, "next_cursor")), "bob");
    json_decref(j);

    http_call(port, "GET", "/api/accounts/alice", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    j = reply_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "name")), "Name of alice");
    json_decref(j);

    http_call(port, "GET", "/api/accounts/nobody", NULL, NULL, &r);
    assert_error(&r, 404, "not_found");
    http_call(port, "GET", "/api/accounts/Bad%20Id", NULL, NULL, &r);
    assert_error(&r, 404, "not_found");

    http_call(port, "GET", "/api/accounts/alice/ledger?limit=10", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    j = reply_json(&r);
    json_t *entries = json_object_get(j, "entries");
    assert_int_equal(json_array_size(entries), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(entries, 0), "seq")), 7);
    assert_true(json_is_null(json_object_get(j, "next_cursor")));
    json_decref(j);
    http_call(port, "GET", "/api/accounts/alice/ledger?cursor=x", NULL, NULL, &r);
    assert_error(&r, 400, "invalid_query");

    http_call(port, "POST", "/api/accounts", JSON_HEADERS,
              "{\"id\":\"carol\",\"name\":\"Carol\",\"opening_balance\":500}", &r);
    assert_int_equal(r.status, 200);
    j = reply_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "id")), "carol");
    json_decref(j);
    http_call(port, "POST", "/api/accounts", JSON_HEADERS, "{\"id\":\"taken\",\"name\":\"Carol\"}",
              &r);
    assert_error(&r, 409, "account_exists");
    http_call(port, "POST", "/api/accounts", JSON_HEADERS, "{\"id\":\"x\"}", &r);
    assert_error(&r, 400, "missing_field");

    assert_int_equal(atomic_load(&fa.queries), 6); /* refused requests never reach it */
    gateway_http_destroy(&gw);
    fake_accounts_stop(&fa);
}

static void test_http_accounts_node_away_is_503_and_transfers_still_work(void **state)
{
    fx_t *fx = *state;
    gateway_http_t *gw = start_http(fx, "tcp://127.0.0.1:1", 300);
    uint16_t port = gateway_http_port(gw);
    http_reply_t r;
    http_call(port, "GET", "/api/accounts", NULL, NULL, &r);
    assert_error(&r, 503, "accounts_unavailable");
    http_call(port, "POST", "/api/transfers", JSON_HEADERS "Idempotency-Key: k-away\r\n",
              TRANSFER_BODY, &r);
    assert_int_equal(r.status, 202);
    gateway_http_destroy(&gw);
}

/* --- GET /api/events over HTTP ---------------------------------------------- */

static int stream_open(uint16_t port, const char *extra_headers)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    char request[512];
    int n =
        snprintf(request, sizeof request, "GET /api/events HTTP/1.1\r\nHost: localhost\r\n%s\r\n",
                 extra_headers ? extra_headers : "");
    assert_int_equal(write(fd, request, (size_t)n), n);
    return fd;
}

/* What one stream has received: the raw bytes and the body with the chunked framing
   removed (an event may be split across chunks). */
typedef struct {
    char raw[65536];
    size_t raw_len;
    char body[65536];
} stream_buf_t;

static void stream_dechunk(stream_buf_t *b)
{
    b->body[0] = '\0';
    const char *p = strstr(b->raw, "\r\n\r\n");
    if (!p)
        return;
    p += 4;
    size_t body_len = 0;
    const char *end = b->raw + b->raw_len;
    while (p < end) {
        char *after = NULL;
        unsigned long size = strtoul(p, &after, 16);
        const char *data = strstr(after, "\r\n");
        if (!data || data + 2 + size > end)
            break;
        data += 2;
        assert_true(body_len + size < sizeof b->body);
        memcpy(b->body + body_len, data, size);
        body_len += size;
        p = data + size + 2;
    }
    b->body[body_len] = '\0';
}

/* Reads from `fd` until `needle` appears in the headers or the dechunked body (true),
   or EOF / the 5 s timeout (false). */
static bool stream_wait_for(int fd, stream_buf_t *b, const char *needle)
{
    for (;;) {
        stream_dechunk(b);
        if (strstr(b->raw, needle) || strstr(b->body, needle))
            return true;
        if (b->raw_len + 1 >= sizeof b->raw)
            return false;
        ssize_t r = read(fd, b->raw + b->raw_len, sizeof b->raw - 1 - b->raw_len);
        if (r <= 0)
            return false;
        b->raw_len += (size_t)r;
        b->raw[b->raw_len] = '\0';
    }
}

static void test_http_event_stream_replays_goes_live_limits_and_ends_on_stop(void **state)
{
    fx_t *fx = *state;
    gateway_transfer_request_t req = request("alice", "bob", 500);
    gateway_submit_result_t res;
    /* Event 1, before the server starts, at the real time: the server's committer prunes
       events older than 24 h as it starts. */
    uint64_t now_ms = clock_wall_ms();
    submit_ok(fx, "key-0", &req, now_ms, &res);

    gateway_http_config_t config = http_config(fx);
    config.max_streams = 2;
    config.web_dir = "/nonexistent";
    gateway_http_t *gw = NULL;
    assert_int_equal(gateway_http_start(&config, &gw), LEDGER_OK);
    uint16_t port = gateway_http_port(gw);

    stream_buf_t *live = calloc(1, sizeof *live), *replay = calloc(1, sizeof *replay);
    assert_true(live && replay);
    int live_fd = stream_open(port, NULL);
    assert_true(stream_wait_for(live_fd, live, "retry: 2000\n"));
    assert_non_null(strstr(live->raw, "Content-Type: text/event-stream"));
    assert_non_null(strstr(live->raw, "Cache-Control: no-cache"));
    int replay_fd = stream_open(port, "Last-Event-ID: 0\r\n");
    assert_true(stream_wait_for(replay_fd, replay, "id: 1\nevent: transfer\n"));

    /* A third stream is over the limit. */
    http_reply_t r;
    http_call(port, "GET", "/api/events", NULL, NULL, &r);
    assert_error(&r, 503, "too_many_streams");
    http_call(port, "GET", "/api/events?last_event_id=x", NULL, NULL, &r);
    assert_error(&r, 400, "invalid_query");

    /* A transfer committed through the API reaches both streams. */
    http_call(port, "POST", "/api/transfers", JSON_HEADERS "Idempotency-Key: k-live\r\n",
              TRANSFER_BODY, &r);
    assert_int_equal(r.status, 202);
    assert_true(stream_wait_for(live_fd, live, "id: 2\nevent: transfer\n"));
    assert_null(strstr(live->body, "id: 1\n")); /* a fresh stream starts from now */
    assert_true(stream_wait_for(replay_fd, replay, "id: 2\nevent: transfer\n"));

    /* A step applied by the node loop reaches them after the notification. */
    proto_msg_t reserved = event("accounts", 1, PROTO_FUNDS_RESERVED, res.id, now_ms + 1);
    assert_int_equal(apply(fx, &reserved, now_ms + 1), LEDGER_OK);
    gateway_http_notify_events(gw);
    assert_true(stream_wait_for(live_fd, live, "\"type\":\"funds.reserved\""));

    /* Stopping ends the open streams (the reads see EOF, not the 5 s timeout). */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    gateway_http_destroy(&gw);
    assert_false(stream_wait_for(live_fd, live, "never sent"));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(t1.tv_sec - t0.tv_sec < 3);
    close(live_fd);
    close(replay_fd);
    free(live);
    free(replay);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_http_event_stream_replays_goes_live_limits_and_ends_on_stop, setup, teardown),
        cmocka_unit_test(test_bad_transfer_bodies_are_refused_with_a_clear_error),
        cmocka_unit_test(test_long_reference_is_refused),
        cmocka_unit_test(test_good_transfer_bodies_parse_with_defaults),
        cmocka_unit_test(test_account_bodies_are_validated),
        cmocka_unit_test(test_idempotency_key_rules),
        cmocka_unit_test(test_limit_and_content_type_rules),
        cmocka_unit_test_setup_teardown(test_http_transfer_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_http_loop_commits_submissions_in_the_callers_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_admission_refuses_new_transfers_past_max_pending,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_refuses_bad_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_chunked_body_over_the_cap_is_413, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_http_account_routes_ask_the_accounts_node, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_http_accounts_node_away_is_503_and_transfers_still_work, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

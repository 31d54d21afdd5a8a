/*  gateway_account_routes_test.c: issue 21's account routes through the
    gateway's HTTP API (gateway_account_api.h, gateway_statement.h): PATCH
    /api/accounts/{id}, GET .../balance?at=, GET .../statement (JSON, CSV,
    pages, the size limit), GET /api/accounts/{id}?expand=holds and GET
    /api/currencies, against a fake accounts node (a ROUTER in a thread)
    that answers the new query ops and remembers the last query. Every
    refusal is checked to reach no accounts node.
*/
#define _GNU_SOURCE /* strcasestr */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <czmq.h>

#include "currency.h"
#include "gateway_http.h"
#include "gateway_http_fixture.h"
#include "gateway_owners.h"
#include "gateway_statement.h"
#include "test_store.h"
#include "test_main.h"

#define T0_MS 1700000000000ULL
#define ALICE_ENTRIES 250 /* two statement pages */
#define BIG_ENTRIES (GATEWAY_STATEMENT_MAX_ENTRIES + 1)
#define MEMO_TRICKY "ops, \"quoted\" memo"

typedef test_store_t fx_t;

/* --- a fake accounts node that knows the new ops ------------------------------ */

typedef struct {
    zsock_t *router;
    pthread_t thread;
    atomic_bool stop;
    atomic_int queries;
    pthread_mutex_t lock;
    proto_query_t last; /* the last query (under lock) */
} fake_t;

static proto_account_t account_of(const char *id)
{
    proto_account_t a;
    memset(&a, 0, sizeof a);
    snprintf(a.id, sizeof a.id, "%s", id);
    snprintf(a.name, sizeof a.name, "Name of %s", id);
    snprintf(a.currency, sizeof a.currency, "GBP");
    snprintf(a.status, sizeof a.status, "frozen");
    a.balance_minor = 4200;
    a.held_minor = 200;
    a.overdraft_limit_minor = 5000;
    return a;
}

static uint64_t entries_of(const char *account)
{
    return strcmp(account, "big") == 0 ? BIG_ENTRIES : ALICE_ENTRIES;
}

/* One statement page after q->cursor: entries seq cursor+1.. of 10 each, opening 1000 + 10 x
 * cursor. */
static void statement_page(const proto_query_t *q, proto_account_reply_t *r,
                           proto_ledger_row_t *rows)
{
    uint64_t total = entries_of(q->account), seq = q->cursor;
    r->accounts[0].balance_minor = 1000 + 10 * (int64_t)q->cursor;
    r->accounts[0].held_minor = 0;
    while (seq < total && r->entry_count < q->limit) {
        proto_ledger_row_t *e = &rows[r->entry_count++];
        memset(e, 0, sizeof *e);
        e->seq = ++seq;
        snprintf(e->account, sizeof e->account, "%s", q->account);
        snprintf(e->transfer, sizeof e->transfer, "tr_%llu", (unsigned long long)seq);
        snprintf(e->kind, sizeof e->kind, "credit");
        e->amount_minor = 10;
        e->balance_after_minor = 1000 + 10 * (int64_t)seq;
        e->ts_ms = q->from_ms + seq;
        if (seq == 1)
            snprintf(e->memo, sizeof e->memo, MEMO_TRICKY);
    }
    r->entries = rows;
    if (seq < total)
        snprintf(r->next, sizeof r->next, "%llu", (unsigned long long)seq);
}

static void fake_hold(proto_hold_t *h, const char *id, proto_capture_t capture)
{
    memset(h, 0, sizeof *h);
    snprintf(h->transfer, sizeof h->transfer, "%s", id);
    h->amount_minor = 150;
    h->kind = PROTO_TRANSFER_KIND_TRANSFER;
    h->capture = capture;
    h->created_ms = T0_MS;
    h->expires_at_ms = capture == PROTO_CAPTURE_MANUAL ? T0_MS + 3600000 : 0;
}

/* The answer of an update: the refusals by account name, else the account changed. */
static void answer_update(const proto_query_t *q, proto_account_reply_t *r)
{
    if (strcmp(q->account, "full") == 0 || strcmp(q->account, "shut") == 0) {
        r->status = 409;
        r->account_count = 0;
        snprintf(r->code, sizeof r->code, "%s",
                 q->account[0] == 'f' ? "account_not_empty" : "account_closed");
        snprintf(r->reason, sizeof r->reason, "refused");
        return;
    }
    snprintf(r->accounts[0].status, sizeof r->accounts[0].status, "%s",
             q->status[0] ? q->status : "active");
    if (q->overdraft_limit_minor >= 0)
        r->accounts[0].overdraft_limit_minor = q->overdraft_limit_minor;
}

static void fake_answer(const proto_query_t *q, proto_account_reply_t *r, proto_account_t *account,
                        proto_ledger_row_t *rows, proto_hold_t *holds)
{
    bool known = strcmp(q->account, "alice") == 0 || strcmp(q->account, "mine") == 0 ||
                 strcmp(q->account, "big") == 0 || strcmp(q->account, "full") == 0 ||
                 strcmp(q->account, "shut") == 0;
    r->status = 200;
    if (!known) {
        r->status = 404;
        snprintf(r->code, sizeof r->code, "not_found");
        return;
    }
    *account = account_of(q->account);
    r->accounts = account;
    r->account_count = 1;
    if (q->op == PROTO_QUERY_UPDATE) {
        answer_update(q, r);
    } else if (q->op == PROTO_QUERY_STATEMENT) {
        statement_page(q, r, rows);
    } else if (q->op == PROTO_QUERY_HOLDS) {
        fake_hold(&holds[0], "tr_a", PROTO_CAPTURE_AUTO);
        fake_hold(&holds[1], "tr_b", PROTO_CAPTURE_MANUAL);
        r->holds = holds;
        r->hold_count = 2;
        snprintf(r->next, sizeof r->next, "tr_b");
    }
}

static void fake_reply(fake_t *fa, zframe_t **identity, zframe_t **tag, const proto_query_t *q)
{
    static proto_ledger_row_t rows[PROTO_PAGE_MAX]; /* this thread's only */
    proto_account_t account;
    proto_hold_t holds[2];
    proto_msg_t reply;
    memset(&reply, 0, sizeof reply);
    reply.v = PROTO_VERSION;
    reply.type = PROTO_ACCOUNT_REPLY;
    snprintf(reply.origin, sizeof reply.origin, "accounts");
    reply.seq = 1;
    reply.ts_ms = T0_MS;
    fake_answer(q, &reply.body.account_reply, &account, rows, holds);
    void *data = NULL;
    size_t size = 0;
    char why[PROTO_REASON_MAX + 1] = "";
    if (proto_encode(&reply, &data, &size, why, sizeof why) != LEDGER_OK)
        fail_msg("the fake's reply does not encode: %s", why);
    zmsg_t *out = zmsg_new();
    zmsg_append(out, identity);
    zmsg_append(out, tag);
    zmsg_addmem(out, data, size);
    zmsg_send(&out, fa->router);
    free(data);
}

static void *fake_main(void *arg)
{
    fake_t *fa = arg;
    while (!atomic_load(&fa->stop)) {
        zmsg_t *in = zmsg_recv(fa->router); /* rcvtimeo bounds the wait */
        if (!in)
            continue;
        zframe_t *identity = zmsg_pop(in);
        zframe_t *tag = zmsg_pop(in);
        zframe_t *env = zmsg_pop(in);
        proto_msg_t q;
        if (identity && tag && env &&
            proto_decode(zframe_data(env), zframe_size(env), &q, NULL, 0) == LEDGER_OK &&
            q.type == PROTO_ACCOUNT_QUERY) {
            pthread_mutex_lock(&fa->lock);
            fa->last = q.body.query;
            pthread_mutex_unlock(&fa->lock);
            atomic_fetch_add(&fa->queries, 1);
            fake_reply(fa, &identity, &tag, &q.body.query);
        }
        zframe_destroy(&identity);
        zframe_destroy(&tag);
        zframe_destroy(&env);
        zmsg_destroy(&in);
    }
    return NULL;
}

static proto_query_t last_query(fake_t *fa)
{
    pthread_mutex_lock(&fa->lock);
    proto_query_t q = fa->last;
    pthread_mutex_unlock(&fa->lock);
    return q;
}

/* --- the server, its principals ---------------------------------------------- */

typedef struct {
    fake_t fake;
    test_loop_t loop;
    uint16_t port;
    char customer[GATEWAY_KEY_TEXT_LEN + 64]; /* "cust": a customer owning "mine" */
    char opener[GATEWAY_KEY_TEXT_LEN + 64];   /* "opener": an operator without accounts:manage */
} env_t;

static ledger_err_t seed(store_txn_t *txn, void *arg)
{
    env_t *env = arg;
    ledger_err_t err =
        test_put_principal(txn, "cust", GATEWAY_PRINCIPAL_CUSTOMER, GATEWAY_SCOPES_CUSTOMER,
                           env->customer, sizeof env->customer, JSON_HEADERS);
    if (!err)
        err = test_put_principal(txn, "opener", GATEWAY_PRINCIPAL_OPERATOR,
                                 GATEWAY_SCOPE_ACCOUNTS_OPEN | GATEWAY_SCOPE_ACCOUNTS_READ,
                                 env->opener, sizeof env->opener, JSON_HEADERS);
    if (!err)
        err = gateway_owners_put(txn, "mine", "cust", NULL);
    return err;
}

static void env_start(fx_t *fx, env_t *env)
{
    memset(env, 0, sizeof *env);
    fake_t *fa = &env->fake;
    pthread_mutex_init(&fa->lock, NULL);
    fa->router = zsock_new(ZMQ_ROUTER);
    assert_non_null(fa->router);
    zsock_set_linger(fa->router, 0);
    zsock_set_rcvtimeo(fa->router, 50);
    int port = zsock_bind(fa->router, "tcp://127.0.0.1:*");
    assert_true(port > 0);
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    assert_int_equal(pthread_create(&fa->thread, NULL, fake_main, fa), 0);
    gateway_http_config_t config = test_http_config(fx->store);
    config.accounts_endpoint = endpoint;
    config.query_timeout_ms = 5000;
    config.body_max_bytes = 512;
    env->port = gateway_http_port(test_loop_start(&env->loop, fx->store, config));
    assert_int_equal(store_write(fx->store, seed, env), LEDGER_OK);
}

static void env_stop(env_t *env)
{
    test_loop_stop(&env->loop);
    atomic_store(&env->fake.stop, true);
    pthread_join(env->fake.thread, NULL);
    zsock_destroy(&env->fake.router);
    pthread_mutex_destroy(&env->fake.lock);
}

static int queries(env_t *env)
{
    return atomic_load(&env->fake.queries);
}

/* --- PATCH /api/accounts/{id} ------------------------------------------------- */

static void test_an_operator_patches_status_and_overdraft(void **state)
{
    env_t env;
    env_start(*state, &env);
    http_reply_t r;
    http_call(env.port, "PATCH", "/api/accounts/alice", JSON_HEADERS,
              "{\"status\":\"frozen\",\"overdraft_limit\":7500}", &r);
    if (r.status != 200)
        fail_msg("%s", r.raw);
    json_t *j = reply_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "frozen");
    assert_int_equal(json_integer_value(json_object_get(j, "overdraft_limit")), 7500);
    json_decref(j);
    proto_query_t q = last_query(&env.fake);
    assert_int_equal(q.op, PROTO_QUERY_UPDATE);
    assert_string_equal(q.account, "alice");
    assert_string_equal(q.principal, "tester"); /* who changed it: the audit entry's */
    assert_string_equal(q.status, "frozen");
    assert_int_equal(q.overdraft_limit_minor, 7500);

    http_call(env.port, "PATCH", "/api/accounts/alice", JSON_HEADERS, "{\"overdraft_limit\":0}",
              &r);
    assert_int_equal(r.status, 200);
    q = last_query(&env.fake);
    assert_string_equal(q.status, ""); /* unchanged */
    assert_int_equal(q.overdraft_limit_minor, 0);
    http_call(env.port, "PATCH", "/api/accounts/alice", JSON_HEADERS, "{\"status\":\"closed\"}",
              &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(last_query(&env.fake).overdraft_limit_minor, -1); /* unchanged */
    env_stop(&env);
}

static void test_patch_refusals_of_the_accounts_node_keep_their_codes(void **state)
{
    env_t env;
    env_start(*state, &env);
    http_reply_t r;
    http_call(env.port, "PATCH", "/api/accounts/full", JSON_HEADERS, "{\"status\":\"closed\"}", &r);
    assert_error(&r, 409, "account_not_empty");
    http_call(env.port, "PATCH", "/api/accounts/shut", JSON_HEADERS, "{\"status\":\"active\"}", &r);
    assert_error(&r, 409, "account_closed");
    http_call(env.port, "PATCH", "/api/accounts/ghost", JSON_HEADERS, "{\"status\":\"active\"}",
              &r);
    assert_error(&r, 404, "not_found");
    assert_int_equal(queries(&env), 3);
    env_stop(&env);
}

static void test_bad_patch_bodies_are_400_and_reach_no_node(void **state)
{
    env_t env;
    env_start(*state, &env);
    static const struct {
        const char *body, *code;
    } cases[] = {
        {"{}", "missing_field"},
        {"{\"status\":null}", "missing_field"},
        {"{\"status\":\"open\"}", "invalid_field"},
        {"{\"status\":\"\"}", "invalid_field"},
        {"{\"status\":3}", "invalid_field"},
        {"{\"overdraft_limit\":-1}", "invalid_field"},
        {"{\"overdraft_limit\":\"12.00\"}", "invalid_field"},
        {"{\"overdraft_limit\":1.5}", "invalid_field"},
        {"{\"overdraft_limit\":1000000000000001}", "invalid_field"},
        {"{\"overdraft_limit\":99999999999999999999}", "invalid_field"},
        {"{\"status\":\"frozen\",\"owner\":\"bob\"}", "unknown_field"},
        {"[1]", "invalid_json"},
        {"{\"status\":\"frozen\",\"status\":\"active\"}", "invalid_json"},
    };
    http_reply_t r;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        http_call(env.port, "PATCH", "/api/accounts/alice", JSON_HEADERS, cases[i].body, &r);
        assert_error(&r, 400, cases[i].code);
    }
    http_call(env.port, "PATCH", "/api/accounts/alice", "Content-Type: text/plain\r\n",
              "{\"status\":\"frozen\"}", &r);
    assert_error(&r, 415, "unsupported_media_type");
    assert_int_equal(queries(&env), 0);
    env_stop(&env);
}

static void test_patch_is_403_for_customers_and_operators_without_the_scope(void **state)
{
    env_t env;
    env_start(*state, &env);
    http_reply_t r;
    /* Even on the customer's own account: changing limits is the bank's. */
    http_call(env.port, "PATCH", "/api/accounts/mine", env.customer, "{\"status\":\"active\"}", &r);
    assert_int_equal(r.status, 403);
    http_call(env.port, "PATCH", "/api/accounts/alice", env.opener, "{\"status\":\"frozen\"}", &r);
    assert_int_equal(r.status, 403);
    http_call(env.port, "PATCH", "/api/accounts/alice", JSON_HEADERS "Authorization: Bearer x\r\n",
              "{\"status\":\"frozen\"}", &r);
    assert_int_equal(r.status, 401);
    assert_int_equal(queries(&env), 0); /* nothing changed anywhere */
    env_stop(&env);
}

/* --- GET one, expand=holds, currencies --------------------------------------- */

static void test_an_account_shows_status_overdraft_and_holds_on_request(void **state)
{
    env_t env;
    env_start(*state, &env);
    http_reply_t r;
    http_call(env.port, "GET", "/api/accounts/alice", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    json_t *j = reply_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "frozen");
    assert_int_equal(json_integer_value(json_object_get(j, "overdraft_limit")), 5000);
    assert_null(json_object_get(j, "holds"));
    json_decref(j);
    assert_int_equal(last_query(&env.fake).op, PROTO_QUERY_GET);

    http_call(env.port, "GET",
              "/api/accounts/alice?expand=holds&holds_cursor=tr_01a24e3ea29200000001", NULL, NULL,
              &r);
    assert_int_equal(r.status, 200);
    j = reply_json(&r);
    json_t *holds = json_object_get(j, "holds");
    assert_int_equal(json_array_size(holds), 2);
    json_t *manual = json_array_get(holds, 1);
    assert_string_equal(json_string_value(json_object_get(manual, "transfer")), "tr_b");
    assert_int_equal(json_integer_value(json_object_get(manual, "amount")), 150);
    assert_string_equal(json_string_value(json_object_get(manual, "kind")), "transfer");
    assert_string_equal(json_string_value(json_object_get(manual, "capture")), "manual");
    assert_string_equal(json_string_value(json_object_get(manual, "created_at")),
                        "2023-11-14T22:13:20.000Z");
    assert_string_equal(json_string_value(json_object_get(manual, "expires_at")),
                        "2023-11-14T23:13:20.000Z");
    assert_true(json_is_null(json_object_get(json_array_get(holds, 0), "expires_at")));
    assert_string_equal(json_string_value(json_object_get(j, "holds_next")), "tr_b");
    assert_int_equal(json_integer_value(json_object_get(j, "available")), 4000);
    json_decref(j);
    proto_query_t q = last_query(&env.fake);
    assert_int_equal(q.op, PROTO_QUERY_HOLDS);
    assert_string_equal(q.after, "tr_01a24e3ea29200000001");
    assert_int_equal(q.limit, PROTO_PAGE_MAX);

    int before = queries(&env);
    http_call(env.port, "GET", "/api/accounts/alice?expand=owner", NULL, NULL, &r);
    assert_error(&r, 400, "invalid_query");
    http_call(env.port, "GET", "/api/accounts/alice?expand=holds&holds_cursor=%01", NULL, NULL, &r);
    assert_error(&r, 400, "invalid_query");
    /* A stranger's account: the same 404 as for none, before any query. */
    http_call(env.port, "GET", "/api/accounts/alice?expand=holds", env.customer, NULL, &r);
    assert_error(&r, 404, "not_found");
    assert_int_equal(queries(&env), before);
    env_stop(&env);
}

static void test_currencies_are_the_one_table(void **state)
{
    env_t env;
    env_start(*state, &env);
    http_reply_t r;
    http_call(env.port, "GET", "/api/currencies", env.customer, NULL, &r);
    assert_int_equal(r.status, 200);
    json_t *j = reply_json(&r);
    json_t *list = json_object_get(j, "currencies");
    assert_int_equal(json_array_size(list), currency_count());
    bool jpy = false, kwd = false;
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *c = json_array_get(list, i);
        const char *code = json_string_value(json_object_get(c, "code"));
        jpy |= strcmp(code, "JPY") == 0 && json_integer_value(json_object_get(c, "exponent")) == 0;
        kwd |= strcmp(code, "KWD") == 0 && json_integer_value(json_object_get(c, "exponent")) == 3;
        assert_non_null(json_string_value(json_object_get(c, "name")));
    }
    assert_true(jpy && kwd);
    json_decref(j);
    /* Opening an account in a currency outside the table: 422 before the node is asked. */
    http_call(env.port, "POST", "/api/accounts", JSON_HEADERS,
              "{\"id\":\"xa\",\"name\":\"X\",\"currency\":\"XYZ\",\"owner\":\"cust\"}", &r);
    assert_error(&r, 422, "unknown_currency");
    http_call(env.port, "POST", "/api/currencies", JSON_HEADERS, "{}", &r);
    assert_error(&r, 405, "method_not_allowed");
    assert_int_equal(queries(&env), 0);
    env_stop(&env);
}

/* --- balance as of a time ------------------------------------------------------- */

static void test_balance_at_a_time(void **state)
{
    env_t env;
    env_start(*state, &env);
    http_reply_t r;
    http_call(env.port, "GET", "/api/accounts/mine/balance?at=2026-12-01T10:00:00.250%2B01:00",
              env.customer, NULL, &r);
    if (r.status != 200)
        fail_msg("%s", r.raw);
    json_t *j = reply_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "account")), "mine");
    assert_string_equal(json_string_value(json_object_get(j, "currency")), "GBP");
    assert_string_equal(json_string_value(json_object_get(j, "at")), "2026-12-01T09:00:00.250Z");
    assert_int_equal(json_integer_value(json_object_get(j, "balance")), 4200);
    assert_int_equal(json_integer_value(json_object_get(j, "held")), 200);
    assert_int_equal(json_integer_value(json_object_get(j, "available")), 4000);
    json_decref(j);
    proto_query_t q = last_query(&env.fake);
    assert_int_equal(q.op, PROTO_QUERY_BALANCE_AT);
    assert_int_equal(q.at_ms, 1796115600250ULL); /* 2026-12-01T09:00:00.250Z */
    env_stop(&env);
}

static void test_bad_times_and_strangers_accounts_reach_no_node(void **state)
{
    env_t env;
    env_start(*state, &env);
    static const char *const bad[] = {
        "/api/accounts/alice/balance",
        "/api/accounts/alice/balance?at=",
        "/api/accounts/alice/balance?at=yesterday",
        "/api/accounts/alice/balance?at=2026-12-01",
        "/api/accounts/alice/balance?at=2026-12-01T10:00:00",
        "/api/accounts/alice/balance?at=2026-02-29T10:00:00Z",
        "/api/accounts/alice/balance?at=2026-12-01T24:00:00Z",
        "/api/accounts/alice/balance?at=1969-12-31T23:59:59Z",
        "/api/accounts/alice/balance?at=2026-12-01T10:00:00.Z",
        "/api/accounts/alice/statement",
        "/api/accounts/alice/statement?from=2026-13-01T00:00:00Z",
        "/api/accounts/alice/statement?from=2026-12-01T00:00:00Z&to=soon",
        "/api/accounts/alice/statement?from=2026-12-01T00:00:00Z&to=2026-12-01T00:00:00Z",
        "/api/accounts/alice/statement?from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z",
        "/api/accounts/alice/statement?from=9999-01-01T00:00:00Z", /* after now */
        "/api/accounts/alice/statement?from=2026-12-01T00:00:00Z&format=xml",
    };
    http_reply_t r;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        http_call(env.port, "GET", bad[i], NULL, NULL, &r);
        if (r.status != 400)
            fail_msg("%s: %s", bad[i], r.raw);
        json_t *j = reply_json(&r);
        const char *code = json_string_value(json_object_get(json_object_get(j, "error"), "code"));
        assert_true(strcmp(code, "invalid_query") == 0 || strcmp(code, "missing_query") == 0);
        json_decref(j);
    }
    http_call(env.port, "GET", "/api/accounts/alice/balance?at=2026-12-01T10:00:00Z", env.customer,
              NULL, &r);
    assert_error(&r, 404, "not_found");
    http_call(env.port, "GET", "/api/accounts/alice/statement?from=2026-12-01T00:00:00Z",
              env.customer, NULL, &r);
    assert_error(&r, 404, "not_found");
    assert_int_equal(queries(&env), 0);
    /* An unknown account: the node's 404. */
    http_call(env.port, "GET", "/api/accounts/ghost/balance?at=2026-12-01T10:00:00Z", NULL, NULL,
              &r);
    assert_error(&r, 404, "not_found");
    env_stop(&env);
}

/* --- statements ------------------------------------------------------------------ */

static void test_a_statement_pages_through_the_interval(void **state)
{
    env_t env;
    env_start(*state, &env);
    http_reply_t r;
    uint64_t before_ms = clock_wall_ms();
    http_call(env.port, "GET",
              "/api/accounts/mine/statement?from=2023-11-14T22:13:20Z&to=9999-01-01T00:00:00Z",
              env.customer, NULL, &r);
    if (r.status != 200)
        fail_msg("%s", r.raw);
    json_t *j = reply_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "account")), "mine");
    assert_string_equal(json_string_value(json_object_get(j, "currency")), "GBP");
    assert_string_equal(json_string_value(json_object_get(j, "from")), "2023-11-14T22:13:20.000Z");
    assert_int_equal(json_integer_value(json_object_get(j, "opening_balance")), 1000);
    assert_int_equal(json_integer_value(json_object_get(j, "closing_balance")),
                     1000 + 10 * ALICE_ENTRIES);
    json_t *entries = json_object_get(j, "entries");
    assert_int_equal(json_array_size(entries), ALICE_ENTRIES);
    json_t *first = json_array_get(entries, 0);
    assert_int_equal(json_integer_value(json_object_get(first, "seq")), 1);
    assert_string_equal(json_string_value(json_object_get(first, "memo")), MEMO_TRICKY);
    assert_string_equal(json_string_value(json_object_get(first, "transfer")), "tr_1");
    assert_int_equal(json_integer_value(json_object_get(first, "balance_after")), 1010);
    assert_int_equal(
        json_integer_value(json_object_get(json_array_get(entries, ALICE_ENTRIES - 1), "seq")),
        ALICE_ENTRIES);
    json_decref(j);
    /* The second page asked after the first's last seq, over the same clamped interval. */
    proto_query_t q = last_query(&env.fake);
    assert_int_equal(q.op, PROTO_QUERY_STATEMENT);
    assert_int_equal(q.cursor, PROTO_PAGE_MAX);
    assert_int_equal(q.from_ms, T0_MS);
    assert_true(q.to_ms >= before_ms && q.to_ms <= clock_wall_ms());
    assert_int_equal(queries(&env), 2);
    env_stop(&env);
}

static void test_a_statement_in_csv_quotes_its_text(void **state)
{
    env_t env;
    env_start(*state, &env);
    http_reply_t r;
    http_call(env.port, "GET",
              "/api/accounts/alice/statement?from=2023-11-14T22:13:20Z&to=2023-11-15T00:00:00Z"
              "&format=csv",
              NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(has_header(&r, "Content-Type: text/csv"));
    assert_true(has_header(&r,
                           "Content-Disposition: attachment; "
                           "filename=\"statement-alice-20231114T221320Z-20231115T000000Z.csv\""));
    assert_true(has_header(&r, "X-Opening-Balance: 1000"));
    assert_true(has_header(&r, "X-Closing-Balance: 3500"));
    assert_true(
        strncmp(r.body, "seq,at,kind,transfer,amount,balance_after,held_after,memo\r\n", 58) == 0);
    assert_non_null(strstr(r.body, "\r\n1,2023-11-14T22:13:20.001Z,credit,tr_1,10,1010,0,"
                                   "\"ops, \"\"quoted\"\" memo\"\r\n2,"));
    size_t rows = 0;
    for (const char *p = r.body; (p = strstr(p, "\r\n")); p += 2)
        rows++;
    assert_int_equal(rows, 1 + ALICE_ENTRIES);
    env_stop(&env);
}

static void test_a_statement_over_the_limit_is_422(void **state)
{
    env_t env;
    env_start(*state, &env);
    http_reply_t r;
    http_call(env.port, "GET", "/api/accounts/big/statement?from=2023-11-14T22:13:20Z", NULL, NULL,
              &r);
    assert_error(&r, 422, "statement_too_large");
    /* It stopped at the page that would pass the limit. */
    assert_int_equal(queries(&env), GATEWAY_STATEMENT_MAX_ENTRIES / PROTO_PAGE_MAX + 1);
    env_stop(&env);
}

/* --- pure helpers ------------------------------------------------------------- */

static void test_csv_fields_follow_rfc_4180(void **state)
{
    (void)state;
    char out[64] = "";
    size_t len = 0;
    assert_true(gateway_statement_csv_field(out, sizeof out, &len, "plain"));
    assert_true(gateway_statement_csv_field(out, sizeof out, &len, "a,b"));
    assert_true(gateway_statement_csv_field(out, sizeof out, &len, "say \"hi\""));
    assert_true(gateway_statement_csv_field(out, sizeof out, &len, "two\r\nlines"));
    assert_true(gateway_statement_csv_field(out, sizeof out, &len, "lf\nonly"));
    assert_string_equal(out, "plain\"a,b\"\"say \"\"hi\"\"\"\"two\r\nlines\"\"lf\nonly\"");
    assert_int_equal(len, strlen(out));
    char small[8] = "";
    len = 0;
    assert_false(gateway_statement_csv_field(small, sizeof small, &len, "\"\"\"")); /* 8 bytes */
    assert_int_equal(len, 0);
    assert_true(gateway_statement_csv_field(small, sizeof small, &len, "1234567"));
    assert_int_equal(len, 7);
}

TEST_MAIN(TEST_STORE_CASE(test_an_operator_patches_status_and_overdraft),
          TEST_STORE_CASE(test_patch_refusals_of_the_accounts_node_keep_their_codes),
          TEST_STORE_CASE(test_bad_patch_bodies_are_400_and_reach_no_node),
          TEST_STORE_CASE(test_patch_is_403_for_customers_and_operators_without_the_scope),
          TEST_STORE_CASE(test_an_account_shows_status_overdraft_and_holds_on_request),
          TEST_STORE_CASE(test_currencies_are_the_one_table),
          TEST_STORE_CASE(test_balance_at_a_time),
          TEST_STORE_CASE(test_bad_times_and_strangers_accounts_reach_no_node),
          TEST_STORE_CASE(test_a_statement_pages_through_the_interval),
          TEST_STORE_CASE(test_a_statement_in_csv_quotes_its_text),
          TEST_STORE_CASE(test_a_statement_over_the_limit_is_422),
          cmocka_unit_test(test_csv_fields_follow_rfc_4180))

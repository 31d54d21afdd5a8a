/*  gateway_http_test.c: the gateway's HTTP API (gateway_http.h) end to end.

    Each test opens a store in its own temporary directory and starts
    gateway_http on an ephemeral loopback port beside a stand-in for the node
    loop that commits the submissions (gateway_http_fixture.h: take, apply,
    finish, as gateway_main.c does), with a fake accounts node (a ROUTER in a
    thread), and talks to it with a tiny blocking HTTP/1.1 client: routing,
    answers, refusals, admission control and the account routes.
*/
#define _GNU_SOURCE /* strcasestr */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <czmq.h>

#include "gateway_http.h"
#include "gateway_http_fixture.h"
#include "gateway_owners.h"
#include "gateway_view.h"
#include "test_store.h"
#include "test_main.h"

#define T0_MS 1700000000000ULL
#define NODE "gateway"

typedef test_store_t fx_t;

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

/* The server and the loop that commits its submissions (stop both with test_loop_stop). */
static gateway_http_t *start_http(fx_t *fx, test_loop_t *loop, const char *accounts_endpoint,
                                  uint32_t timeout_ms)
{
    gateway_http_config_t config = test_http_config(fx->store);
    config.accounts_endpoint = accounts_endpoint;
    config.query_timeout_ms = timeout_ms;
    config.body_max_bytes = 512;
    return test_loop_start(loop, fx->store, config);
}

static void test_http_transfer_round_trip(void **state)
{
    fx_t *fx = *state;
    test_loop_t loop;
    gateway_http_t *gw = start_http(fx, &loop, "tcp://127.0.0.1:1", 200);
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
    /* The loop's commit put one transfer.requested in the outbox and woke the relay once. */
    assert_int_equal(atomic_load(&loop.relay_wakes), 1);
    assert_int_equal(atomic_load(&loop.published), 1);
    assert_int_equal(test_store_count(fx->store, STORE_DB_OUTBOX), 1);

    /* The same key and body (keys in another order): the same answer, marked as a replay. */
    http_call(port, "POST", "/api/transfers", JSON_HEADERS "Idempotency-Key: k-1\r\n",
              "{\"reference\":\"rent\",\"amount\":1050,\"to\":\"bob\",\"from\":\"alice\"}", &r);
    assert_int_equal(r.status, 202);
    assert_true(has_header(&r, "Idempotent-Replayed: true"));
    assert_string_equal(r.body, first_body);
    assert_int_equal(atomic_load(&loop.relay_wakes), 1);
    assert_int_equal(test_store_count(fx->store, STORE_DB_OUTBOX), 1);

    http_call(port, "POST", "/api/transfers", JSON_HEADERS "Idempotency-Key: k-1\r\n",
              "{\"from\":\"alice\",\"to\":\"bob\",\"amount\":1051}", &r);
    assert_error(&r, 422, "idempotency_key_reused");
    assert_int_equal(test_store_count(fx->store, STORE_DB_TRANSFERS), 1);

    /* From an account the caller does not own: 403 forbidden_account, nothing written. */
    http_call(port, "POST", "/api/transfers", JSON_HEADERS "Idempotency-Key: k-nope\r\n",
              "{\"from\":\"dave\",\"to\":\"bob\",\"amount\":5}", &r);
    assert_error(&r, 403, "forbidden_account");
    assert_non_null(strstr(r.body, "\"field\":\"from\""));
    assert_int_equal(test_store_count(fx->store, STORE_DB_TRANSFERS), 1);
    assert_int_equal(test_store_count(fx->store, STORE_DB_OUTBOX), 1);

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
    test_loop_stop(&loop);
    assert_null(loop.gw);
}

static void test_http_loop_commits_submissions_in_the_callers_transaction(void **state)
{
    fx_t *fx = *state;
    test_loop_t loop;
    test_loop_start(&loop, fx->store, test_http_config(fx->store));
    uint16_t port = gateway_http_port(loop.gw);
    http_reply_t r;

    http_call(port, "POST", "/api/transfers", JSON_HEADERS "Idempotency-Key: loop-1\r\n",
              TRANSFER_BODY, &r);
    assert_int_equal(r.status, 202);
    /* Committed by the loop, in its transaction: the loop's ctx emitted the message. */
    assert_int_equal(atomic_load(&loop.commits), 1);
    assert_int_equal(loop.ctx.published_count, 1);
    assert_int_equal(loop.ctx.published[0].type, PROTO_TRANSFER_REQUESTED);
    assert_int_equal(atomic_load(&loop.published), 1); /* the loop publishes what it committed */
    assert_int_equal(test_store_count(fx->store, STORE_DB_OUTBOX), 1);
    assert_int_equal(test_store_count(fx->store, STORE_DB_TRANSFERS), 1);
    /* A replay is answered the same way, and a refusal inside the batch too. */
    http_call(port, "POST", "/api/transfers", JSON_HEADERS "Idempotency-Key: loop-1\r\n",
              TRANSFER_BODY, &r);
    assert_int_equal(r.status, 202);
    assert_true(has_header(&r, "Idempotent-Replayed: true"));
    http_call(port, "POST", "/api/transfers", JSON_HEADERS "Idempotency-Key: loop-1\r\n",
              "{\"from\":\"alice\",\"to\":\"bob\",\"amount\":7}", &r);
    assert_error(&r, 422, "idempotency_key_reused");
    assert_int_equal(atomic_load(&loop.commits), 3);
    assert_int_equal(test_store_count(fx->store, STORE_DB_OUTBOX), 1);

    test_loop_stop(&loop);
}

static void test_http_admission_refuses_new_transfers_past_max_pending(void **state)
{
    fx_t *fx = *state;
    gateway_http_config_t config = test_http_config(fx->store);
    config.max_pending = 2;
    test_loop_t loop;
    gateway_http_t *gw = test_loop_start(&loop, fx->store, config);
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
    assert_int_equal(test_store_count(fx->store, STORE_DB_OUTBOX), 2);
    assert_int_equal(test_store_count(fx->store, STORE_DB_TRANSFERS), 2);
    test_loop_stop(&loop);
}

static void test_http_refuses_bad_requests(void **state)
{
    fx_t *fx = *state;
    test_loop_t loop;
    gateway_http_t *gw = start_http(fx, &loop, "tcp://127.0.0.1:1", 200);
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
    assert_int_equal(test_store_count(fx->store, STORE_DB_TRANSFERS), 0);
    assert_int_equal(test_store_count(fx->store, STORE_DB_OUTBOX), 0);
    test_loop_stop(&loop);
}

static void test_http_chunked_body_over_the_cap_is_413(void **state)
{
    fx_t *fx = *state;
    test_loop_t loop;
    gateway_http_t *gw = start_http(fx, &loop, "tcp://127.0.0.1:1", 200);
    char big[1024];
    memset(big, ' ', sizeof big);
    big[sizeof big - 1] = '\0';
    char request[2048];
    int n = snprintf(request, sizeof request,
                     "POST /api/transfers HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" JSON_HEADERS
                     "%sIdempotency-Key: k\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "%zx\r\n%s\r\n0\r\n\r\n",
                     test_auth_header, strlen(big), big);
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
    test_loop_stop(&loop);
}

static void test_http_account_routes_ask_the_accounts_node(void **state)
{
    fx_t *fx = *state;
    fake_accounts_t fa;
    char endpoint[64];
    fake_accounts_start(&fa, endpoint, sizeof endpoint);
    test_loop_t loop;
    gateway_http_t *gw = start_http(fx, &loop, endpoint, 5000);
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
    assert_true(json_is_false(json_object_get(alice, "settlement")));
    assert_non_null(json_string_value(json_object_get(alice, "owner")));
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
              "{\"id\":\"carol\",\"name\":\"Carol\",\"owner\":\"tester\"}", &r);
    assert_int_equal(r.status, 200);
    j = reply_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "id")), "carol");
    json_decref(j);
    store_txn_t *txn = NULL; /* the owner map has the new account's owner */
    char owner[PROTO_ACCOUNT_ID_MAX + 1] = "";
    assert_int_equal(store_txn_begin(fx->store, false, &txn), LEDGER_OK);
    assert_int_equal(gateway_owners_get(txn, "carol", owner), LEDGER_OK);
    store_txn_abort(&txn);
    assert_string_equal(owner, "tester");
    http_call(port, "POST", "/api/accounts", JSON_HEADERS,
              "{\"id\":\"taken\",\"name\":\"Carol\",\"owner\":\"tester\"}", &r);
    assert_error(&r, 409, "account_exists");
    /* The owner must be a principal: refused before the accounts node is asked. */
    http_call(port, "POST", "/api/accounts", JSON_HEADERS,
              "{\"id\":\"dora\",\"name\":\"Dora\",\"owner\":\"ghost\"}", &r);
    assert_error(&r, 422, "invalid_owner");
    http_call(port, "POST", "/api/accounts", JSON_HEADERS, "{\"id\":\"x\"}", &r);
    assert_error(&r, 400, "missing_field");

    assert_int_equal(atomic_load(&fa.queries), 6); /* refused requests never reach it */
    test_loop_stop(&loop);
    fake_accounts_stop(&fa);
}

static void test_http_accounts_node_away_is_503_and_transfers_still_work(void **state)
{
    fx_t *fx = *state;
    test_loop_t loop;
    gateway_http_t *gw = start_http(fx, &loop, "tcp://127.0.0.1:1", 300);
    uint16_t port = gateway_http_port(gw);
    http_reply_t r;
    http_call(port, "GET", "/api/accounts", NULL, NULL, &r);
    assert_error(&r, 503, "accounts_unavailable");
    http_call(port, "POST", "/api/transfers", JSON_HEADERS "Idempotency-Key: k-away\r\n",
              TRANSFER_BODY, &r);
    assert_int_equal(r.status, 202);
    test_loop_stop(&loop);
}

TEST_MAIN(TEST_STORE_CASE(test_http_transfer_round_trip),
          TEST_STORE_CASE(test_http_loop_commits_submissions_in_the_callers_transaction),
          TEST_STORE_CASE(test_http_admission_refuses_new_transfers_past_max_pending),
          TEST_STORE_CASE(test_http_refuses_bad_requests),
          TEST_STORE_CASE(test_http_chunked_body_over_the_cap_is_413),
          TEST_STORE_CASE(test_http_account_routes_ask_the_accounts_node),
          TEST_STORE_CASE(test_http_accounts_node_away_is_503_and_transfers_still_work))

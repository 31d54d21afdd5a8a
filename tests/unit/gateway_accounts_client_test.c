/*  gateway_accounts_client_test.c: the accounts client actor (gateway_accounts_client.h)
    without HTTP: a fake accounts node (a ROUTER on this thread) answers, or
    no node is there; the "waiter" of each query is an atomic counter the
    suspend and resume callbacks move. With CURVE (issue 19) the fake node is
    a CURVE server with the accounts key and zauth over allow/accounts/ of a
    temp keys dir: the gateway's key is answered, a key not allowed there is
    never delivered (its query times out).
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <czmq.h>

#include "curve_fx.h"
#include "curve_sock.h"
#include "gateway_accounts_client.h"
#include "test_msg.h"
#include "test_main.h"

#define NODE "gateway"
#define WAIT_STEP_US 1000
#define WAIT_MAX_STEPS 10000 /* 10 s */

typedef struct {
    atomic_int suspended;
    atomic_int resumed;
} waiter_t;

static void on_suspend(void *waiter)
{
    atomic_fetch_add(&((waiter_t *)waiter)->suspended, 1);
}

static void on_resume(void *waiter)
{
    atomic_fetch_add(&((waiter_t *)waiter)->resumed, 1);
}

static gateway_accounts_client_t *client_new(const char *endpoint, uint32_t timeout_ms)
{
    gateway_accounts_client_config_t config = {.endpoint = endpoint,
                                               .node_name = NODE,
                                               .timeout_ms = timeout_ms,
                                               .suspend = on_suspend,
                                               .resume = on_resume};
    gateway_accounts_client_t *client = NULL;
    assert_int_equal(gateway_accounts_client_new(&config, &client), LEDGER_OK);
    return client;
}

static void send_get(gateway_accounts_client_t *client, gateway_accounts_query_t *query,
                     waiter_t *waiter, const char *account)
{
    proto_query_t q;
    memset(&q, 0, sizeof q);
    q.op = PROTO_QUERY_GET;
    snprintf(q.account, sizeof q.account, "%s", account);
    char why[PROTO_REASON_MAX + 1];
    assert_int_equal(gateway_accounts_client_prepare(client, query, &q, why, sizeof why),
                     LEDGER_OK);
    query->waiter = waiter;
    assert_true(gateway_accounts_client_send(client, query));
    assert_int_equal(atomic_load(&waiter->suspended), 1);
}

static void wait_resumed(const waiter_t *waiter)
{
    for (int i = 0; i < WAIT_MAX_STEPS && atomic_load(&waiter->resumed) == 0; i++)
        usleep(WAIT_STEP_US);
    assert_int_equal(atomic_load(&waiter->resumed), 1);
}

/* Receives one query on `router` and answers it with an account.reply holding `id`. */
static void answer_one(zsock_t *router, const char *id)
{
    zmsg_t *in = zmsg_recv(router);
    assert_non_null(in);
    zframe_t *identity = zmsg_pop(in);
    zframe_t *tag = zmsg_pop(in);
    zframe_t *env = zmsg_pop(in);
    proto_msg_t q;
    assert_int_equal(proto_decode(zframe_data(env), zframe_size(env), &q, NULL, 0), LEDGER_OK);
    assert_int_equal(q.type, PROTO_ACCOUNT_QUERY);
    assert_string_equal(q.origin, NODE "-q");
    proto_account_t account = {.name = "Name", .currency = "GBP"};
    snprintf(account.id, sizeof account.id, "%s", id);
    proto_msg_t reply = test_msg(PROTO_ACCOUNT_REPLY, "accounts", 1, 0, "");
    reply.body.account_reply.status = 200;
    reply.body.account_reply.accounts = &account;
    reply.body.account_reply.account_count = 1;
    void *data = NULL;
    size_t size = 0;
    assert_int_equal(proto_encode(&reply, &data, &size, NULL, 0), LEDGER_OK);
    zmsg_t *out = zmsg_new();
    zmsg_append(out, &identity);
    zmsg_append(out, &tag);
    zmsg_addmem(out, data, size);
    assert_int_equal(zmsg_send(&out, router), 0);
    free(data);
    zframe_destroy(&env);
    zmsg_destroy(&in);
}

static void test_a_query_is_answered_by_the_reply_with_its_tag(void **state)
{
    (void)state;
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    assert_non_null(router);
    zsock_set_linger(router, 0);
    zsock_set_rcvtimeo(router, 5000);
    int port = zsock_bind(router, "tcp://127.0.0.1:*");
    assert_true(port > 0);
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    gateway_accounts_client_t *client = client_new(endpoint, 5000);
    gateway_accounts_query_t query;
    waiter_t waiter = {0, 0};
    send_get(client, &query, &waiter, "alice");
    answer_one(router, "alice");
    wait_resumed(&waiter);
    assert_true(gateway_accounts_client_query_done(client, &query));
    assert_int_equal(query.outcome, GATEWAY_ACCOUNTS_OK);
    assert_true(query.has_reply);
    assert_int_equal(query.reply.body.account_reply.account_count, 1);
    assert_string_equal(query.reply.body.account_reply.accounts[0].id, "alice");
    gateway_accounts_client_query_release(&query);
    gateway_accounts_client_destroy(&client);
    assert_null(client);
    zsock_destroy(&router);
}

/*  A fake accounts node with CURVE over fx's keys, and a client with `key`'s cert;
    both set up, the client's query sent. Returns the query's outcome once done. */
static gateway_accounts_outcome_t curve_query(const char *key, uint32_t timeout_ms)
{
    curve_fx_t fx;
    curve_fx_make(&fx, "gateway_accounts_client_test");
    char why[CURVE_FX_WHY_BYTES], allow[CURVE_KEYS_PATH_MAX], server_key[CURVE_KEYS_Z85_BYTES];
    curve_fx_path(&fx, allow, CURVE_KEYS_ALLOW_DIR, "accounts", "");
    curve_fx_public(&fx, "accounts", server_key);
    zactor_t *auth = NULL;
    assert_int_equal(curve_auth_start(allow, &auth, why, sizeof why), LEDGER_OK);
    zcert_t *server_cert = NULL, *client_cert = NULL;
    assert_int_equal(curve_keys_load_own(fx.keys, NULL, "accounts", &server_cert, why, sizeof why),
                     LEDGER_OK);
    assert_int_equal(curve_keys_load_own(fx.keys, NULL, key, &client_cert, why, sizeof why),
                     LEDGER_OK);
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    zsock_set_linger(router, 0);
    zsock_set_rcvtimeo(router, (int)timeout_ms * 2);
    assert_int_equal(curve_sock_server(router, server_cert, why, sizeof why), LEDGER_OK);
    int port = zsock_bind(router, "tcp://127.0.0.1:*");
    assert_true(port > 0);
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    gateway_accounts_client_config_t config = {.endpoint = endpoint,
                                               .node_name = NODE,
                                               .cert = client_cert,
                                               .server_key = server_key,
                                               .timeout_ms = timeout_ms,
                                               .suspend = on_suspend,
                                               .resume = on_resume};
    gateway_accounts_client_t *client = NULL;
    assert_int_equal(gateway_accounts_client_new(&config, &client), LEDGER_OK);
    zcert_destroy(&client_cert); /* the client keeps its own copy */
    gateway_accounts_query_t query;
    waiter_t waiter = {0, 0};
    send_get(client, &query, &waiter, "alice");
    if (strcmp(key, "gateway") == 0)
        answer_one(router, "alice");
    wait_resumed(&waiter);
    gateway_accounts_outcome_t outcome = query.outcome;
    gateway_accounts_client_query_release(&query);
    gateway_accounts_client_destroy(&client);
    zsock_destroy(&router);
    zcert_destroy(&server_cert);
    curve_auth_stop(&auth);
    curve_fx_remove(&fx);
    return outcome;
}

static void test_over_curve_the_gateways_key_is_answered(void **state)
{
    (void)state;
    assert_int_equal(curve_query("gateway", 5000), GATEWAY_ACCOUNTS_OK);
}

static void test_over_curve_a_key_the_node_does_not_allow_is_never_answered(void **state)
{
    (void)state;
    /* The harness key is allowed nowhere by default: no handshake, no delivery, a timeout. */
    assert_int_equal(curve_query("harness", 300), GATEWAY_ACCOUNTS_TIMEOUT);
}

static void test_a_cert_without_a_server_key_is_refused(void **state)
{
    (void)state;
    zcert_t *cert = zcert_new();
    gateway_accounts_client_config_t config = {.endpoint = "tcp://127.0.0.1:1",
                                               .node_name = NODE,
                                               .cert = cert,
                                               .timeout_ms = 100,
                                               .suspend = on_suspend,
                                               .resume = on_resume};
    gateway_accounts_client_t *client = NULL;
    assert_int_equal(gateway_accounts_client_new(&config, &client), LEDGER_E_INVALID);
    assert_null(client);
    config.server_key = "not a z85 key";
    assert_int_equal(gateway_accounts_client_new(&config, &client), LEDGER_E_INVALID);
    assert_null(client);
    zcert_destroy(&cert);
}

static void test_a_query_to_a_node_that_is_away_times_out(void **state)
{
    (void)state;
    gateway_accounts_client_t *client = client_new("tcp://127.0.0.1:1", 100);
    gateway_accounts_query_t query;
    waiter_t waiter = {0, 0};
    send_get(client, &query, &waiter, "alice");
    wait_resumed(&waiter);
    assert_int_equal(query.outcome, GATEWAY_ACCOUNTS_TIMEOUT);
    assert_false(query.has_reply);
    gateway_accounts_client_query_release(&query);
    gateway_accounts_client_destroy(&client);
}

static void test_destroy_answers_every_pending_query_as_stopping(void **state)
{
    (void)state;
    gateway_accounts_client_t *client = client_new("tcp://127.0.0.1:1", 60000);
    gateway_accounts_query_t queries[2];
    waiter_t waiters[2] = {{0, 0}, {0, 0}};
    send_get(client, &queries[0], &waiters[0], "alice");
    send_get(client, &queries[1], &waiters[1], "bob");
    gateway_accounts_client_destroy(&client);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(atomic_load(&waiters[i].resumed), 1); /* before destroy returned */
        assert_int_equal(queries[i].outcome, GATEWAY_ACCOUNTS_STOPPING);
        gateway_accounts_client_query_release(&queries[i]);
    }
}

static void test_a_bad_endpoint_is_refused_at_start(void **state)
{
    (void)state;
    gateway_accounts_client_config_t config = {.endpoint = "no-such-transport://x",
                                               .node_name = NODE,
                                               .timeout_ms = 100,
                                               .suspend = on_suspend,
                                               .resume = on_resume};
    gateway_accounts_client_t *client = NULL;
    assert_int_equal(gateway_accounts_client_new(&config, &client), LEDGER_E_INVALID);
    assert_null(client);
}

TEST_MAIN(cmocka_unit_test(test_over_curve_the_gateways_key_is_answered),
          cmocka_unit_test(test_over_curve_a_key_the_node_does_not_allow_is_never_answered),
          cmocka_unit_test(test_a_cert_without_a_server_key_is_refused),
          cmocka_unit_test(test_a_query_is_answered_by_the_reply_with_its_tag),
          cmocka_unit_test(test_a_query_to_a_node_that_is_away_times_out),
          cmocka_unit_test(test_destroy_answers_every_pending_query_as_stopping),
          cmocka_unit_test(test_a_bad_endpoint_is_refused_at_start))

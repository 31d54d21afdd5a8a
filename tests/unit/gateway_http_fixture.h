/*  gateway_http_fixture.h: what the gateway's HTTP tests share (test code only).

    - test_loop_t: a stand-in for ledger-gateway's node loop. It commits the
      server's submissions the way gateway_main.c does through node_app_t
      (gateway_http_take, then gateway_http_apply_taken in its own durable
      write transaction, then gateway_http_finish_taken), and after a
      commit "publishes" what its ctx emitted and counts a relay wake-up,
      as node.c does after a commit that put entries in the outbox.
    - a tiny blocking HTTP/1.1 client (one request per connection). It
      sends "Authorization: Bearer <key>" of the test principal ("tester",
      an operator with every scope, made by test_loop_start) unless the
      request's headers carry an Authorization of their own or
      test_auth_header is emptied.

    Include it after cmocka.h, with _GNU_SOURCE defined first (strcasestr). Every function is static
   inline, so a test file uses what it needs.
*/
#ifndef LEDGER_TEST_GATEWAY_HTTP_FIXTURE_H
#define LEDGER_TEST_GATEWAY_HTTP_FIXTURE_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "clock.h"
#include "gateway_http.h"
#include "gateway_owners_fx.h"

#define JSON_HEADERS "Content-Type: application/json\r\n"
#define TRANSFER_BODY "{\"from\":\"alice\",\"to\":\"bob\",\"amount\":1050,\"reference\":\"rent\"}"

/* The settings every HTTP test shares: `store`, node "gateway", any port, no accounts node. */
static inline gateway_http_config_t test_http_config(store_t *store)
{
    gateway_http_config_t config;
    memset(&config, 0, sizeof config);
    config.store = store;
    config.node_name = "gateway";
    config.port = 0;
    config.accounts_endpoint = "tcp://127.0.0.1:1";
    return config;
}

/* --- the node loop's stand-in --------------------------------------------- */

typedef struct {
    gateway_http_t *gw;
    store_t *store;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int wakes;
    bool stop;
    atomic_int commits;     /* turns that took submissions */
    atomic_int relay_wakes; /* commits that put messages in the outbox */
    atomic_int published;   /* transfer.requested messages published after a commit */
    node_ctx_t ctx;
    gateway_auth_t *auth;
} test_loop_t;

/* "Authorization: Bearer lk_...\r\n" of the test principal, sent by http_call_full. */
static char test_auth_header[GATEWAY_KEY_TEXT_LEN + 32];

/*  Writes principal `id` of `kind` with `scopes` and one key; its "Authorization: Bearer
    lk_...\r\n" line, followed by `more_headers`, into header[0..header_size). */
static inline ledger_err_t test_put_principal(store_txn_t *txn, const char *id, gateway_kind_t kind,
                                              uint32_t scopes, char *header, size_t header_size,
                                              const char *more_headers)
{
    gateway_principal_t p = {.kind = kind, .scopes = scopes, .created_ms = 1};
    snprintf(p.id, sizeof p.id, "%s", id);
    bool created;
    gateway_key_t key;
    char text[GATEWAY_KEY_TEXT_LEN + 1];
    ledger_err_t err = gateway_principals_put(txn, &p, &created);
    if (!err)
        err = gateway_principals_key_create(txn, p.id, 1, &key, text);
    if (!err)
        snprintf(header, header_size, "Authorization: Bearer %s\r\n%s", text, more_headers);
    return err;
}

static inline ledger_err_t test_seed_principal(store_txn_t *txn, void *arg)
{
    (void)arg;
    ledger_err_t err =
        test_put_principal(txn, "tester", GATEWAY_PRINCIPAL_OPERATOR, GATEWAY_SCOPES_ALL,
                           test_auth_header, sizeof test_auth_header, "");
    if (!err) /* it sends from the accounts it owns */
        err = owners_fx_seed_txn(txn, NULL);
    return err;
}

static inline void test_loop_wake(void *arg)
{
    test_loop_t *loop = arg;
    pthread_mutex_lock(&loop->lock);
    loop->wakes++;
    pthread_cond_signal(&loop->cond);
    pthread_mutex_unlock(&loop->lock);
}

static inline ledger_err_t test_loop_apply(store_txn_t *txn, void *arg)
{
    test_loop_t *loop = arg;
    /* The real clock: the server's pruning (on its own thread) judges key ages by it. */
    node_ctx_begin(&loop->ctx, txn, clock_wall_ms());
    return gateway_http_apply_taken(loop->gw, &loop->ctx);
}

/* One turn of the loop's local work, as node.c runs it. */
static inline void test_loop_turn(test_loop_t *loop)
{
    if (gateway_http_take(loop->gw) == 0)
        return;
    ledger_err_t err = store_write(loop->store, test_loop_apply, loop);
    atomic_fetch_add(&loop->commits, 1);
    if (!err && loop->ctx.published_count > 0) {
        for (size_t i = 0; i < loop->ctx.published_count; i++) {
            assert_int_equal(loop->ctx.published[i].type, PROTO_TRANSFER_REQUESTED);
            atomic_fetch_add(&loop->published, 1);
        }
        atomic_fetch_add(&loop->relay_wakes, 1);
    }
    gateway_http_finish_taken(loop->gw, err);
}

static inline void *test_loop_main(void *arg)
{
    test_loop_t *loop = arg;
    pthread_mutex_lock(&loop->lock);
    while (!loop->stop) {
        if (loop->wakes == 0) {
            pthread_cond_wait(&loop->cond, &loop->lock);
            continue;
        }
        loop->wakes = 0;
        pthread_mutex_unlock(&loop->lock);
        test_loop_turn(loop);
        pthread_mutex_lock(&loop->lock);
    }
    pthread_mutex_unlock(&loop->lock);
    return NULL;
}

/*  Starts the server with `config` (its wake set to the loop's) and the loop
    thread that commits its submissions. */
static inline gateway_http_t *test_loop_start(test_loop_t *loop, store_t *store,
                                              gateway_http_config_t config)
{
    memset(loop, 0, sizeof *loop);
    loop->store = store;
    pthread_mutex_init(&loop->lock, NULL);
    pthread_cond_init(&loop->cond, NULL);
    node_ctx_init(&loop->ctx, NULL, config.node_name, 0);
    config.wake = test_loop_wake;
    config.wake_arg = loop;
    gateway_auth_config_t ac = {0};
    assert_int_equal(gateway_auth_new(&ac, &loop->auth), LEDGER_OK);
    config.auth = loop->auth;
    assert_int_equal(store_write(store, test_seed_principal, NULL), LEDGER_OK);
    assert_int_equal(gateway_http_start(&config, &loop->gw), LEDGER_OK);
    assert_true(gateway_http_port(loop->gw) > 0);
    assert_int_equal(pthread_create(&loop->thread, NULL, test_loop_main, loop), 0);
    return loop->gw;
}

/* Stops the loop, then the server (as ledger-gateway: the loop first), and frees both. */
static inline void test_loop_stop(test_loop_t *loop)
{
    pthread_mutex_lock(&loop->lock);
    loop->stop = true;
    pthread_cond_signal(&loop->cond);
    pthread_mutex_unlock(&loop->lock);
    pthread_join(loop->thread, NULL);
    gateway_http_destroy(&loop->gw);
    assert_null(loop->gw);
    gateway_auth_destroy(&loop->auth);
    node_ctx_fini(&loop->ctx);
    pthread_cond_destroy(&loop->cond);
    pthread_mutex_destroy(&loop->lock);
}

/* --- a tiny HTTP client ----------------------------------------------------- */

typedef struct {
    int status;
    char raw[65536];
    const char *body;
} http_reply_t;

/* A socket connected to the loopback `port`, whose reads give up after `timeout_s` seconds. */
static inline int test_connect(uint16_t port, time_t timeout_s)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct timeval tv = {.tv_sec = timeout_s};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    return fd;
}

/* One request over a fresh connection ("Connection: close"); reads the whole answer. With
   `send_body` false only the headers go out (to see an answer given before the body). */
static inline void http_call_full(uint16_t port, const char *method, const char *path,
                                  const char *headers, const char *body, bool send_body,
                                  http_reply_t *out)
{
    memset(out, 0, sizeof *out);
    int fd = test_connect(port, 10);
    char *request = malloc(65536);
    assert_non_null(request);
    const char *auth = headers && strcasestr(headers, "Authorization:") ? "" : test_auth_header;
    int n =
        snprintf(request, 65536, "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n%s%s",
                 method, path, auth, headers ? headers : "");
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

static inline void http_call(uint16_t port, const char *method, const char *path,
                             const char *headers, const char *body, http_reply_t *out)
{
    http_call_full(port, method, path, headers, body, true, out);
}

static inline bool has_header(const http_reply_t *r, const char *line)
{
    const char *end = strstr(r->raw, "\r\n\r\n");
    const char *at = strcasestr(r->raw, line);
    return at && end && at < end;
}

static inline json_t *reply_json(const http_reply_t *r)
{
    json_t *j = json_loads(r->body, 0, NULL);
    if (!j)
        fail_msg("not JSON: %s", r->raw);
    assert_true(has_header(r, "Content-Type: application/json"));
    return j;
}

static inline void assert_error(const http_reply_t *r, int status, const char *code)
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

#endif

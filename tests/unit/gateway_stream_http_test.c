/*  gateway_stream_http_test.c: GET /api/events end to end (gateway_stream.h
    behind gateway_http.h).

    The test opens a store in its own temporary directory (gateway_view_fx.h),
    starts gateway_http on an ephemeral loopback port beside the node loop's
    stand-in (gateway_http_fixture.h: take, apply, finish, as gateway_main.c
    does) and reads the streams with raw sockets: replay from Last-Event-ID,
    live events, the stream limit and the end of every stream on stop.
*/
#define _GNU_SOURCE
#include "gateway_view_fx.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "gateway_http.h"
#include "gateway_http_fixture.h"

static int stream_open(uint16_t port, const char *extra_headers)
{
    int fd = test_connect(port, 5);
    char request[512];
    int n =
        snprintf(request, sizeof request, "GET /api/events HTTP/1.1\r\nHost: localhost\r\n%s%s\r\n",
                 test_auth_header, extra_headers ? extra_headers : "");
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
    /* Event 1, before the server starts, at the real time: the gateway prunes
       events older than 24 h as it starts. */
    uint64_t now_ms = clock_wall_ms();
    submit_ok(fx, "key-0", &req, now_ms, &res);

    gateway_http_config_t config = test_http_config(fx->store);
    config.streams.max_streams = 2;
    config.web_dir = "/nonexistent";
    test_loop_t loop;
    gateway_http_t *gw = test_loop_start(&loop, fx->store, config);
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
    test_loop_stop(&loop);
    assert_false(stream_wait_for(live_fd, live, "never sent"));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(t1.tv_sec - t0.tv_sec < 3);
    close(live_fd);
    close(replay_fd);
    free(live);
    free(replay);
}

typedef struct {
    char key_id[GATEWAY_KEY_ID_LEN + 1];
} revoke_t;

static ledger_err_t revoke_tester_key(store_txn_t *txn, void *arg)
{
    return gateway_principals_key_revoke(txn, "tester", ((revoke_t *)arg)->key_id, 1);
}

/*  A stream must not outlive its key: revoking the key that opened it (as the admin route does:
    commit, then forget) ends it at once, not at the next reconnect. */
static void test_revoking_the_key_ends_its_open_stream(void **state)
{
    fx_t *fx = *state;
    gateway_http_config_t config = test_http_config(fx->store);
    config.web_dir = "/nonexistent";
    test_loop_t loop;
    gateway_http_t *gw = test_loop_start(&loop, fx->store, config);
    stream_buf_t *live = calloc(1, sizeof *live);
    assert_non_null(live);
    int fd = stream_open(gateway_http_port(gw), NULL);
    assert_true(stream_wait_for(fd, live, "retry: 2000\n"));

    /* "Authorization: Bearer lk_<key id>_<secret>" */
    revoke_t r;
    const char *id = strstr(test_auth_header, "lk_") + 3;
    memcpy(r.key_id, id, GATEWAY_KEY_ID_LEN);
    r.key_id[GATEWAY_KEY_ID_LEN] = '\0';
    assert_int_equal(store_write(fx->store, revoke_tester_key, &r), LEDGER_OK);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    gateway_auth_forget_key(loop.auth, r.key_id);
    assert_false(stream_wait_for(fd, live, "never sent")); /* EOF, not the 5 s timeout */
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(t1.tv_sec - t0.tv_sec < 3);
    close(fd);
    free(live);
    test_loop_stop(&loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_http_event_stream_replays_goes_live_limits_and_ends_on_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoking_the_key_ends_its_open_stream, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

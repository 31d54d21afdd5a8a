/*  admin_http_test.c: the table of node routes of the admin server
    (admin_http.h): method and path pattern with {} segments, the body handed
    to the handler, 204 without a body, 405 for another method, 413 past
    ADMIN_BODY_MAX, and the admin token on these routes too; /health's
    storage check (degraded from 80% of the map, 503 while it is full). A
    real node (not running) and a real server on a loopback port. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "admin_http.h"
#include "node.h"
#include "node_config.h"
#include "node_log.h"
#include "test_dir.h"

#define TOKEN "t0ken"
#define SMALL_MAP "--map-max-bytes=1048576" /* 1 MiB: 256 pages of 4 KiB */
#define FILL_VALUE_BYTES 2000               /* two values a page */
#define FILL_DEGRADED_VALUES 440            /* ~220 pages: over 80% of the map, under 95% */
#define HEALTH_WAIT_MS 5000                 /* a new sample comes within STORE_SPACE_SAMPLE_MS */

typedef struct {
    char dir[TEST_DIR_BYTES];
    char data_dir[128];
    node_t *node;
    admin_http_t *admin;
    uint16_t port;
    int calls;
    char last_params[2][ADMIN_PARAM_MAX + 1];
    char last_body[64];
} fx_t;

static ledger_err_t apply_nothing(node_ctx_t *ctx, const proto_msg_t *msg, void *app, char *why,
                                  size_t why_size)
{
    (void)ctx, (void)msg, (void)app, (void)why, (void)why_size;
    return LEDGER_OK;
}

static unsigned echo(store_t *store, const admin_request_t *req, json_t **out, void *arg)
{
    fx_t *fx = arg;
    assert_non_null(store);
    fx->calls++;
    for (size_t i = 0; i < req->param_count && i < 2; i++)
        snprintf(fx->last_params[i], sizeof fx->last_params[i], "%s", req->params[i]);
    snprintf(fx->last_body, sizeof fx->last_body, "%.*s", (int)req->body_len,
             req->body ? req->body : "");
    *out = json_pack("{s:I}", "params", (json_int_t)req->param_count);
    return 201;
}

static unsigned nothing(store_t *store, const admin_request_t *req, json_t **out, void *arg)
{
    (void)store, (void)req;
    ((fx_t *)arg)->calls++;
    *out = NULL;
    return 204;
}

static const admin_route_t routes[] = {
    {"POST", "/things", echo},
    {"POST", "/things/{}/parts/{}", echo},
    {"DELETE", "/things/{}", nothing},
};

static uint16_t free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    socklen_t len = sizeof addr;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
    close(fd);
    return ntohs(addr.sin_port);
}

static void start(fx_t *fx, const char *token, const char *map_flag)
{
    test_dir_make(fx->dir, "admin_http_test");
    snprintf(fx->data_dir, sizeof fx->data_dir, "%s/data", fx->dir);
    char data_flag[160];
    snprintf(data_flag, sizeof data_flag, "--data-dir=%s", fx->data_dir);
    char inbox_flag[] = "--inbox=tcp://127.0.0.1:*", feed_flag[] = "--feed=tcp://127.0.0.1:*";
    /* Plain links: this test is about the admin port, and must not make ./data/keys. */
    char *argv[] = {"admin_http_test",
                    data_flag,
                    inbox_flag,
                    feed_flag,
                    "--admin-port=0",
                    "--prealloc-bytes=0",
                    "--insecure-plaintext",
                    (char *)map_flag};
    node_config_t config;
    char why[256];
    assert_int_equal(
        node_config_load(&config, NODE_KIND_GATEWAY, map_flag ? 8 : 7, argv, why, sizeof why),
        LEDGER_OK);
    node_log_init("admin_http_test", NODE_LOG_ERROR);
    node_app_t app = {.apply = apply_nothing};
    assert_int_equal(node_new(&config, &app, &fx->node), LEDGER_OK);
    fx->port = free_port();
    admin_http_config_t ac = {.host = "127.0.0.1",
                              .port = fx->port,
                              .token = token,
                              .node = fx->node,
                              .routes = routes,
                              .route_count = sizeof routes / sizeof routes[0],
                              .routes_arg = fx};
    assert_int_equal(admin_http_start(&ac, &fx->admin), LEDGER_OK);
}

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    start(fx, NULL, NULL);
    *state = fx;
    return 0;
}

static int setup_token(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    start(fx, TOKEN, NULL);
    *state = fx;
    return 0;
}

static int setup_small_map(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    start(fx, NULL, SMALL_MAP);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    admin_http_destroy(&fx->admin);
    node_destroy(&fx->node);
    test_remove_dir(fx->data_dir);
    test_remove_dir(fx->dir);
    free(fx);
    return 0;
}

/* One request (Connection: close); the status, and the answer's text in raw. */
static int call(fx_t *fx, const char *method, const char *path, const char *headers,
                const char *body, size_t body_len, char *raw, size_t raw_size)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(fx->port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    char head[512];
    /* An operator's tool names the machine by address unless the test sends its own Host. */
    const char *host = headers && strstr(headers, "Host:") ? "" : "Host: 127.0.0.1\r\n";
    /* ... and says its POSTs are JSON, unless the test sends its own type (or an
       "X-Content-Type" header: then none). */
    const char *type = strcmp(method, "POST") == 0 && !(headers && strstr(headers, "Content-Type"))
                           ? "Content-Type: application/json\r\n"
                           : "";
    int n = snprintf(head, sizeof head,
                     "%s %s HTTP/1.1\r\n%s%sConnection: close\r\n%sContent-Length: %zu\r\n\r\n",
                     method, path, host, type, headers ? headers : "", body_len);
    assert_int_equal(write(fd, head, (size_t)n), n);
    size_t sent = 0;
    while (sent < body_len) {
        ssize_t w = write(fd, body + sent, body_len - sent);
        if (w <= 0)
            break; /* the server may answer and close before taking it all (413) */
        sent += (size_t)w;
    }
    size_t got = 0;
    ssize_t r;
    while (got < raw_size - 1 && (r = read(fd, raw + got, raw_size - 1 - got)) > 0)
        got += (size_t)r;
    raw[got] = '\0';
    close(fd);
    int status = 0;
    assert_int_equal(sscanf(raw, "HTTP/1.1 %d", &status), 1);
    return status;
}

typedef struct {
    int first, count;
} fill_t;

static ledger_err_t fill_values(store_txn_t *txn, void *arg)
{
    const fill_t *fill = arg;
    static const uint8_t value[FILL_VALUE_BYTES];
    for (int i = fill->first; i < fill->first + fill->count; i++) {
        uint8_t key[8];
        store_be64_put(key, (uint64_t)i);
        ledger_err_t err = store_put(txn, STORE_DB_ACCOUNTS, key, sizeof key, value, sizeof value,
                                     STORE_PUT_APPEND);
        if (err)
            return err;
    }
    return LEDGER_OK;
}

/* GET /health until its answer has `status` and contains `text`; the answer in raw. */
static void wait_health(fx_t *fx, int status, const char *text, char *raw, size_t raw_size)
{
    for (int waited = 0;; waited += 20) {
        if (call(fx, "GET", "/health", NULL, "", 0, raw, raw_size) == status && strstr(raw, text))
            return;
        if (waited > HEALTH_WAIT_MS)
            fail_msg("no /health %d with %s: %s", status, text, raw);
        usleep(20 * 1000);
    }
}

static void test_health_is_degraded_at_80_percent_of_the_map_and_503_when_full(void **state)
{
    fx_t *fx = *state;
    char raw[4096];
    assert_int_equal(call(fx, "GET", "/health", NULL, "", 0, raw, sizeof raw), 200);
    assert_non_null(strstr(raw, "\"status\":\"ok\""));
    assert_non_null(strstr(raw, "\"reasons\":[]"));
    fill_t fill = {0, FILL_DEGRADED_VALUES};
    assert_int_equal(store_write(node_store(fx->node), fill_values, &fill), LEDGER_OK);
    wait_health(fx, 200, "\"status\":\"degraded\"", raw, sizeof raw);
    assert_non_null(strstr(raw, "map_usage_high"));
    assert_non_null(strstr(raw, "\"room\":\"ok\""));
    fill = (fill_t){FILL_DEGRADED_VALUES, FILL_DEGRADED_VALUES};
    assert_int_equal(store_write(node_store(fx->node), fill_values, &fill), LEDGER_E_MAP_FULL);
    wait_health(fx, 503, "\"status\":\"unavailable\"", raw, sizeof raw);
    assert_non_null(strstr(raw, "\"room\":\"map_full\""));
    assert_non_null(strstr(raw, "\"map_full\""));
}

static void test_a_table_route_gets_its_params_and_body(void **state)
{
    fx_t *fx = *state;
    char raw[4096];
    const char *body = "{\"a\":1}";
    assert_int_equal(
        call(fx, "POST", "/things/t1/parts/p-2", NULL, body, strlen(body), raw, sizeof raw), 201);
    assert_string_equal(fx->last_params[0], "t1");
    assert_string_equal(fx->last_params[1], "p-2");
    assert_string_equal(fx->last_body, body);
    assert_non_null(strstr(raw, "{\"params\":2}"));
    assert_int_equal(call(fx, "DELETE", "/things/t1", NULL, "", 0, raw, sizeof raw), 204);
    assert_int_equal(fx->calls, 2);
}

static void test_another_method_is_405_and_another_path_404(void **state)
{
    fx_t *fx = *state;
    char raw[4096];
    assert_int_equal(call(fx, "GET", "/things/t1", NULL, "", 0, raw, sizeof raw), 405);
    assert_int_equal(call(fx, "POST", "/things/t1/parts", NULL, "", 0, raw, sizeof raw), 404);
    assert_int_equal(call(fx, "POST", "/things//parts/x", NULL, "", 0, raw, sizeof raw), 404);
    char longer[160] = "/things/";
    memset(longer + 8, 'a', ADMIN_PARAM_MAX + 1);
    assert_int_equal(call(fx, "DELETE", longer, NULL, "", 0, raw, sizeof raw), 404);
    assert_int_equal(fx->calls, 0);
}

static void test_a_body_over_the_cap_is_413_and_reaches_no_handler(void **state)
{
    fx_t *fx = *state;
    char raw[4096];
    size_t size = ADMIN_BODY_MAX + 1;
    char *big = malloc(size);
    assert_non_null(big);
    memset(big, 'x', size);
    assert_int_equal(call(fx, "POST", "/things", NULL, big, size, raw, sizeof raw), 413);
    free(big);
    assert_int_equal(fx->calls, 0);
}

static void test_table_routes_need_the_admin_token_when_one_is_set(void **state)
{
    fx_t *fx = *state;
    char raw[4096];
    assert_int_equal(call(fx, "POST", "/things", NULL, "{}", 2, raw, sizeof raw), 401);
    assert_int_equal(
        call(fx, "POST", "/things", "Authorization: Bearer nope\r\n", "{}", 2, raw, sizeof raw),
        401);
    assert_int_equal(fx->calls, 0);
    assert_int_equal(call(fx, "POST", "/things", "Authorization: Bearer " TOKEN "\r\n", "{}", 2,
                          raw, sizeof raw),
                     201);
    assert_int_equal(fx->calls, 1);
}

/*  What a web page can make a browser send: a cross-origin request (Origin) or one to its
    own domain name rebound to this machine (Host). Refused before any handler runs. */
static void test_browser_requests_and_foreign_host_names_are_refused(void **state)
{
    fx_t *fx = *state;
    char raw[4096];
    assert_int_equal(
        call(fx, "POST", "/things", "Origin: https://evil.example\r\n", "{}", 2, raw, sizeof raw),
        403);
    assert_non_null(strstr(raw, "forbidden_origin"));
    assert_int_equal(
        call(fx, "POST", "/things", "Host: rebind.evil.example:8181\r\n", "{}", 2, raw, sizeof raw),
        403);
    assert_non_null(strstr(raw, "bad_host"));
    assert_int_equal(fx->calls, 0);
    assert_int_equal(
        call(fx, "POST", "/things", "Host: localhost:8181\r\n", "{}", 2, raw, sizeof raw), 201);
    assert_int_equal(call(fx, "POST", "/things", "Host: [::1]:8181\r\n", "{}", 2, raw, sizeof raw),
                     201);
    assert_int_equal(fx->calls, 2);
}

/*  A POST that is not JSON (none, text/plain, a form: what a page can make a browser send
    cross-site without asking) is 415 before any handler runs, bodiless ones too. */
static void test_a_post_that_is_not_json_is_refused(void **state)
{
    fx_t *fx = *state;
    char raw[4096];
    static const char *const refused[] = {
        "X-Content-Type: none\r\n",
        "Content-Type: text/plain\r\n",
        "Content-Type: application/x-www-form-urlencoded\r\n",
        "Content-Type: application/jsonp\r\n",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        assert_int_equal(call(fx, "POST", "/things", refused[i], "{}", 2, raw, sizeof raw), 415);
        assert_non_null(strstr(raw, "unsupported_media_type"));
        assert_int_equal(
            call(fx, "POST", "/dead-letters/1/replay", refused[i], "", 0, raw, sizeof raw), 415);
    }
    assert_int_equal(fx->calls, 0);
    assert_int_equal(call(fx, "POST", "/things",
                          "Content-Type: application/json; charset=utf-8\r\n", "{}", 2, raw,
                          sizeof raw),
                     201);
    assert_int_equal(
        call(fx, "POST", "/things", "Content-Type: Application/JSON\r\n", "{}", 2, raw, sizeof raw),
        201);
    assert_int_equal(fx->calls, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_browser_requests_and_foreign_host_names_are_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_post_that_is_not_json_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_health_is_degraded_at_80_percent_of_the_map_and_503_when_full, setup_small_map,
            teardown),
        cmocka_unit_test_setup_teardown(test_a_table_route_gets_its_params_and_body, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_another_method_is_405_and_another_path_404, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_body_over_the_cap_is_413_and_reaches_no_handler,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_table_routes_need_the_admin_token_when_one_is_set,
                                        setup_token, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*  harness_sock_test.c: tools/harness/harness_sock.h: the harness's key is
    loaded with a node's checks and every refusal names its fix; --server-key
    takes a Z85 key or a public cert; and over loopback TCP, against a CURVE
    ROUTER with zauth over the accounts node's allow dir, a key that is not
    allowed is reported as refused at once (not waited for until the
    timeout) while an allowed one delivers under its own User-Id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "curve_fx.h"
#include "curve_sock.h"
#include "harness_sock.h"
#include "test_main.h"

#define EXCHANGE_TIMEOUT_MS 20000 /* far longer than a refusal may take */
#define REFUSAL_DEADLINE_MS 5000  /* a refused handshake is reported within this */
#define DELIVERY_DEADLINE_MS 5000 /* an allowed key's message arrives within this */
#define HINT_BYTES 1024

typedef struct {
    curve_fx_t fx;
    harness_sock_keys_t keys;
    zcert_t *server_cert;
    zactor_t *auth;
    zsock_t *router;
    char endpoint[128];
    char server_pub[CURVE_KEYS_PATH_MAX];
} sock_fx_t;

static ledger_err_t load(sock_fx_t *fx, harness_sock_config_t cfg, char *why, size_t why_size)
{
    if (!cfg.keys_dir)
        cfg.keys_dir = fx->fx.keys;
    return harness_sock_keys_load(&fx->keys, &cfg, why, why_size);
}

/* The accounts node's stand-in: a CURVE ROUTER on an ephemeral port, zauth over its allow dir. */
static void fx_server(sock_fx_t *fx)
{
    char why[CURVE_FX_WHY_BYTES] = "", allow_dir[CURVE_KEYS_PATH_MAX];
    assert_int_equal(
        curve_keys_load_own(fx->fx.keys, NULL, "accounts", &fx->server_cert, why, sizeof why),
        LEDGER_OK);
    curve_fx_path(&fx->fx, allow_dir, CURVE_KEYS_ALLOW_DIR, "accounts", NULL);
    assert_int_equal(curve_auth_start(allow_dir, &fx->auth, why, sizeof why), LEDGER_OK);
    fx->router = zsock_new(ZMQ_ROUTER);
    assert_non_null(fx->router);
    zsock_set_linger(fx->router, 0);
    assert_int_equal(curve_sock_server(fx->router, fx->server_cert, why, sizeof why), LEDGER_OK);
    assert_true(zsock_bind(fx->router, "tcp://127.0.0.1:*") >= 0);
    snprintf(fx->endpoint, sizeof fx->endpoint, "%s", zsock_endpoint(fx->router));
    curve_fx_path(&fx->fx, fx->server_pub, CURVE_KEYS_PUBLIC_DIR, "accounts",
                  CURVE_KEYS_PUBLIC_SUFFIX);
}

static void fx_close(sock_fx_t *fx)
{
    harness_sock_keys_release(&fx->keys);
    zsock_destroy(&fx->router);
    curve_auth_stop(&fx->auth);
    zcert_destroy(&fx->server_cert);
    curve_fx_remove(&fx->fx);
}

static void test_missing_or_open_keys_are_refused_with_their_fix(void **state)
{
    (void)state;
    sock_fx_t fx = {0};
    char why[HINT_BYTES] = "", path[CURVE_KEYS_PATH_MAX];
    curve_fx_make(&fx.fx, "harness_sock_keys");
    snprintf(path, sizeof path, "%s/nokeys", fx.fx.base);
    assert_int_equal(load(&fx, (harness_sock_config_t){.keys_dir = path}, why, sizeof why),
                     LEDGER_E_NOT_FOUND);
    assert_non_null(strstr(why, "ledger-keys init --dir"));
    struct stat st;
    assert_int_not_equal(stat(path, &st), 0); /* never created */
    assert_int_equal(load(&fx, (harness_sock_config_t){.key_name = "nobody"}, why, sizeof why),
                     LEDGER_E_NOT_FOUND);
    assert_non_null(strstr(why, "ledger-keys init"));
    assert_int_equal(load(&fx, (harness_sock_config_t){.key_name = "../fraud"}, why, sizeof why),
                     LEDGER_E_INVALID);
    curve_fx_path(&fx.fx, path, "harness", NULL, CURVE_KEYS_SECRET_SUFFIX);
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(load(&fx, (harness_sock_config_t){0}, why, sizeof why), LEDGER_E_INVALID);
    assert_non_null(strstr(why, "chmod 600"));
    assert_null(fx.keys.cert);
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(load(&fx, (harness_sock_config_t){0}, why, sizeof why), LEDGER_OK);
    assert_non_null(fx.keys.cert);
    assert_string_equal(fx.keys.key_name, "harness");
    harness_sock_keys_release(&fx.keys);
    /* plaintext reads no key at all, and a server key makes no sense with it */
    assert_int_equal(load(&fx,
                          (harness_sock_config_t){.keys_dir = "/nonexistent", .plaintext = true},
                          why, sizeof why),
                     LEDGER_OK);
    assert_null(fx.keys.cert);
    assert_int_equal(
        load(&fx, (harness_sock_config_t){.plaintext = true, .server_key = "x"}, why, sizeof why),
        LEDGER_E_INVALID);
    fx_close(&fx);
}

static void test_server_key_is_a_z85_key_or_a_public_cert(void **state)
{
    (void)state;
    sock_fx_t fx = {0};
    char why[HINT_BYTES] = "", z85[CURVE_KEYS_Z85_BYTES], path[CURVE_KEYS_PATH_MAX];
    curve_fx_make(&fx.fx, "harness_sock_server_key");
    curve_fx_public(&fx.fx, "fraud", z85);
    assert_int_equal(load(&fx, (harness_sock_config_t){.server_key = z85}, why, sizeof why),
                     LEDGER_OK);
    assert_string_equal(fx.keys.server_z85, z85);
    harness_sock_keys_release(&fx.keys);
    curve_fx_path(&fx.fx, path, CURVE_KEYS_PUBLIC_DIR, "fraud", CURVE_KEYS_PUBLIC_SUFFIX);
    assert_int_equal(load(&fx, (harness_sock_config_t){.server_key = path}, why, sizeof why),
                     LEDGER_OK);
    assert_string_equal(fx.keys.server_z85, z85);
    assert_string_equal(fx.keys.server_name, "fraud");
    harness_sock_keys_release(&fx.keys);
    curve_fx_path(&fx.fx, path, "fraud", NULL, CURVE_KEYS_SECRET_SUFFIX); /* a secret: refused */
    assert_int_equal(load(&fx, (harness_sock_config_t){.server_key = path}, why, sizeof why),
                     LEDGER_E_INVALID);
    assert_int_equal(load(&fx, (harness_sock_config_t){.server_key = "short"}, why, sizeof why),
                     LEDGER_E_INVALID);
    /* a raw endpoint without --server-key: no socket, and the reason says what to give */
    assert_int_equal(load(&fx, (harness_sock_config_t){0}, why, sizeof why), LEDGER_OK);
    harness_sock_t s;
    assert_int_equal(harness_sock_open(&s, &fx.keys, ZMQ_DEALER, "tcp://127.0.0.1:9", HARNESS_INBOX,
                                       why, sizeof why),
                     LEDGER_E_INVALID);
    assert_non_null(strstr(why, "--server-key"));
    assert_null(s.sock);
    fx_close(&fx);
}

static void test_a_node_that_refuses_the_key_is_reported_at_once_with_the_allow_hint(void **state)
{
    (void)state;
    sock_fx_t fx = {0};
    char why[HINT_BYTES] = "", hint[HINT_BYTES], expected[HINT_BYTES];
    curve_fx_make(&fx.fx, "harness_sock_refused");
    fx_server(&fx);
    assert_int_equal(
        load(&fx, (harness_sock_config_t){.server_key = fx.server_pub}, why, sizeof why),
        LEDGER_OK);
    harness_sock_t s;
    assert_int_equal(
        harness_sock_open(&s, &fx.keys, ZMQ_DEALER, fx.endpoint, HARNESS_INBOX, why, sizeof why),
        LEDGER_OK);
    harness_answer_t answer;
    uint64_t started = harness_monotonic_ms();
    harness_sock_exchange(&s, 1, "x", 1, EXCHANGE_TIMEOUT_MS, &answer);
    assert_int_equal(answer.kind, HARNESS_ANSWER_REFUSED);
    assert_true(harness_monotonic_ms() - started < REFUSAL_DEADLINE_MS);
    assert_int_equal(harness_sock_poll(&s), HARNESS_SOCK_REFUSED);
    harness_sock_refusal(&s, &fx.keys, hint, sizeof hint);
    snprintf(expected, sizeof expected,
             "%s does not accept key harness: ledger-keys allow harness --to accounts --dir %s",
             fx.endpoint, fx.fx.keys);
    assert_string_equal(hint, expected);
    zmq_pollitem_t item = {zsock_resolve(fx.router), 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&item, 1, 0), 0); /* nothing of ours reached the node */
    harness_sock_close(&s);
    fx_close(&fx);
}

static void test_an_allowed_key_delivers_under_its_own_user_id(void **state)
{
    (void)state;
    sock_fx_t fx = {0};
    char why[HINT_BYTES] = "";
    curve_fx_make(&fx.fx, "harness_sock_allowed");
    fx_server(&fx);
    assert_int_equal(curve_keys_allow(fx.fx.keys, "harness", "accounts", why, sizeof why),
                     LEDGER_OK);
    assert_int_equal(
        load(&fx, (harness_sock_config_t){.server_key = fx.server_pub}, why, sizeof why),
        LEDGER_OK);
    harness_sock_t s;
    assert_int_equal(
        harness_sock_open(&s, &fx.keys, ZMQ_DEALER, fx.endpoint, HARNESS_INBOX, why, sizeof why),
        LEDGER_OK);
    assert_int_equal(zstr_send(s.sock, "from-harness"), 0);
    void *raw = zsock_resolve(fx.router);
    zmq_pollitem_t item = {raw, 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&item, 1, DELIVERY_DEADLINE_MS), 1);
    zmq_msg_t identity, payload;
    zmq_msg_init(&identity);
    zmq_msg_init(&payload);
    assert_true(zmq_msg_recv(&identity, raw, 0) >= 0);
    assert_true(zmq_msg_recv(&payload, raw, 0) >= 0);
    assert_string_equal(curve_sock_user_id(&payload), zcert_public_txt(fx.keys.cert));
    zmq_msg_close(&identity);
    zmq_msg_close(&payload);
    assert_int_equal(harness_sock_poll(&s), HARNESS_SOCK_OK);
    harness_sock_close(&s);
    fx_close(&fx);
}

TEST_MAIN(
    cmocka_unit_test(test_missing_or_open_keys_are_refused_with_their_fix),
    cmocka_unit_test(test_server_key_is_a_z85_key_or_a_public_cert),
    cmocka_unit_test(test_a_node_that_refuses_the_key_is_reported_at_once_with_the_allow_hint),
    cmocka_unit_test(test_an_allowed_key_delivers_under_its_own_user_id))

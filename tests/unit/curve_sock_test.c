/*  curve_sock_test.c: curve/curve_sock.h over loopback TCP: a CURVE ROUTER
    with zauth over the accounts node's allow dir delivers an allowed client's
    messages with its key as User-Id, and never those of an unknown key or a
    plain client; without zauth, the required ZAP handler makes it deliver
    nothing (and, as the control, a server without that option accepts any
    key: the fail-open default this module exists to avoid). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "curve_allow.h"
#include "curve_fx.h"
#include "curve_sock.h"
#include "test_main.h"

#define DELIVERY_DEADLINE_MS 5000 /* an allowed client's message arrives within this */
#define SILENCE_WAIT_MS 1000      /* how long "nothing arrives" is watched */

typedef struct {
    curve_fx_t fx;
    zcert_t *server_cert;
    zcert_t *gateway_cert;
    char server_z85[CURVE_KEYS_Z85_BYTES];
    zactor_t *auth;
    zsock_t *router;
    char endpoint[128];
} sock_fx_t;

/* Keys, the accounts node's cert as the server's, gateway's as the client's. */
static void fx_keys(sock_fx_t *fx)
{
    char why[CURVE_FX_WHY_BYTES] = "";
    memset(fx, 0, sizeof *fx);
    curve_fx_make(&fx->fx, "curve_sock");
    assert_int_equal(
        curve_keys_load_own(fx->fx.keys, NULL, "accounts", &fx->server_cert, why, sizeof why),
        LEDGER_OK);
    assert_int_equal(
        curve_keys_load_own(fx->fx.keys, NULL, "gateway", &fx->gateway_cert, why, sizeof why),
        LEDGER_OK);
    curve_fx_public(&fx->fx, "accounts", fx->server_z85);
}

/* A ROUTER on an ephemeral loopback port; a CURVE server requiring ZAP if enforce. */
static void fx_router(sock_fx_t *fx, bool enforce)
{
    char why[CURVE_FX_WHY_BYTES] = "";
    fx->router = zsock_new(ZMQ_ROUTER);
    assert_non_null(fx->router);
    zsock_set_linger(fx->router, 0);
    if (enforce) {
        assert_int_equal(curve_sock_server(fx->router, fx->server_cert, why, sizeof why),
                         LEDGER_OK);
    } else { /* the control: CURVE without the required handler, as czmq alone sets it up */
        zcert_apply(fx->server_cert, fx->router);
        zsock_set_curve_server(fx->router, 1);
        zsock_set_zap_domain(fx->router, CURVE_SOCK_ZAP_DOMAIN);
    }
    assert_true(zsock_bind(fx->router, "tcp://127.0.0.1:*") >= 0);
    snprintf(fx->endpoint, sizeof fx->endpoint, "%s", zsock_endpoint(fx->router));
}

static void fx_close(sock_fx_t *fx)
{
    zsock_destroy(&fx->router);
    curve_auth_stop(&fx->auth);
    zcert_destroy(&fx->server_cert);
    zcert_destroy(&fx->gateway_cert);
    curve_fx_remove(&fx->fx);
}

/* A DEALER to the router (CURVE with cert if not NULL) that has sent one message, text. */
static zsock_t *client_send(const sock_fx_t *fx, zcert_t *cert, const char *text)
{
    char why[CURVE_FX_WHY_BYTES] = "";
    zsock_t *dealer = zsock_new(ZMQ_DEALER);
    assert_non_null(dealer);
    zsock_set_linger(dealer, 0);
    if (cert != NULL)
        assert_int_equal(curve_sock_client(dealer, cert, fx->server_z85, why, sizeof why),
                         LEDGER_OK);
    assert_int_equal(zsock_connect(dealer, "%s", fx->endpoint), 0);
    assert_int_equal(zstr_send(dealer, text), 0);
    return dealer;
}

/* Waits up to timeout_ms for a message on the router: [identity][payload]. Returns false if
   none came; else copies the payload text and its User-Id ("" if none). */
static bool router_receive(sock_fx_t *fx, int timeout_ms, char *text, size_t text_size,
                           char *user_id, size_t user_id_size)
{
    void *raw = zsock_resolve(fx->router);
    zmq_pollitem_t item = {raw, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, timeout_ms) <= 0)
        return false;
    zmq_msg_t identity, payload;
    zmq_msg_init(&identity);
    zmq_msg_init(&payload);
    assert_true(zmq_msg_recv(&identity, raw, 0) >= 0);
    assert_true(zmq_msg_more(&identity));
    assert_null(curve_sock_user_id(&identity)); /* the ROUTER's own frame carries no metadata */
    assert_true(zmq_msg_recv(&payload, raw, 0) >= 0);
    assert_false(zmq_msg_more(&payload));
    snprintf(text, text_size, "%.*s", (int)zmq_msg_size(&payload),
             (const char *)zmq_msg_data(&payload));
    const char *uid = curve_sock_user_id(&payload);
    snprintf(user_id, user_id_size, "%s", uid != NULL ? uid : "");
    zmq_msg_close(&identity);
    zmq_msg_close(&payload);
    return true;
}

/* With zauth over allow/accounts: the gateway's key delivers, as itself; strangers never. */
static void test_only_an_allowed_key_delivers_and_is_named_by_user_id(void **state)
{
    (void)state;
    sock_fx_t fx;
    char allow_dir[CURVE_KEYS_PATH_MAX], why[CURVE_FX_WHY_BYTES] = "";
    char text[64], user_id[64];
    fx_keys(&fx);
    curve_fx_path(&fx.fx, allow_dir, CURVE_KEYS_ALLOW_DIR, "accounts", NULL);
    assert_int_equal(curve_auth_start(allow_dir, &fx.auth, why, sizeof why), LEDGER_OK);
    fx_router(&fx, true);
    zcert_t *stranger = zcert_new();
    zsock_t *unknown = client_send(&fx, stranger, "from-unknown-key");
    zsock_t *plain = client_send(&fx, NULL, "from-plain");
    assert_false(router_receive(&fx, SILENCE_WAIT_MS, text, sizeof text, user_id, sizeof user_id));
    zsock_t *allowed = client_send(&fx, fx.gateway_cert, "from-gateway");
    assert_true(
        router_receive(&fx, DELIVERY_DEADLINE_MS, text, sizeof text, user_id, sizeof user_id));
    assert_string_equal(text, "from-gateway");
    assert_string_equal(user_id, zcert_public_txt(fx.gateway_cert));
    curve_allow_t *table = NULL;
    assert_int_equal(curve_allow_new(allow_dir, &table, why, sizeof why), LEDGER_OK);
    assert_string_equal(curve_allow_lookup(table, user_id)->name, "gateway");
    curve_allow_destroy(&table);
    /* the strangers keep retrying; still nothing of theirs arrives */
    assert_false(router_receive(&fx, SILENCE_WAIT_MS, text, sizeof text, user_id, sizeof user_id));
    zsock_destroy(&unknown);
    zsock_destroy(&plain);
    zsock_destroy(&allowed);
    zcert_destroy(&stranger);
    fx_close(&fx);
}

/* No zauth running, ZAP required: even an allowed key delivers nothing (fails closed). */
static void test_without_zauth_a_required_zap_handler_delivers_nothing(void **state)
{
    (void)state;
    sock_fx_t fx;
    char text[64], user_id[64];
    fx_keys(&fx);
    fx_router(&fx, true);
    zcert_t *stranger = zcert_new();
    zsock_t *allowed = client_send(&fx, fx.gateway_cert, "from-gateway");
    zsock_t *unknown = client_send(&fx, stranger, "from-unknown-key");
    assert_false(router_receive(&fx, SILENCE_WAIT_MS, text, sizeof text, user_id, sizeof user_id));
    zsock_destroy(&allowed);
    zsock_destroy(&unknown);
    zcert_destroy(&stranger);
    fx_close(&fx);
}

/* The control: without the option, libzmq's default lets an unknown key in (fail open). */
static void test_control_without_the_option_any_key_is_accepted(void **state)
{
    (void)state;
    sock_fx_t fx;
    char text[64], user_id[64];
    fx_keys(&fx);
    fx_router(&fx, false);
    zcert_t *stranger = zcert_new();
    zsock_t *unknown = client_send(&fx, stranger, "from-unknown-key");
    assert_true(
        router_receive(&fx, DELIVERY_DEADLINE_MS, text, sizeof text, user_id, sizeof user_id));
    assert_string_equal(text, "from-unknown-key");
    zsock_destroy(&unknown);
    zcert_destroy(&stranger);
    fx_close(&fx);
}

/* Bad input to the set-up calls is an error with a reason, not a socket half set up. */
static void test_bad_server_key_and_missing_allow_dir_are_errors(void **state)
{
    (void)state;
    sock_fx_t fx;
    char why[CURVE_FX_WHY_BYTES] = "";
    fx_keys(&fx);
    zsock_t *dealer = zsock_new(ZMQ_DEALER);
    assert_int_equal(curve_sock_client(dealer, fx.gateway_cert, "short", why, sizeof why),
                     LEDGER_E_INVALID);
    assert_int_equal(curve_sock_client(dealer, fx.gateway_cert, NULL, why, sizeof why),
                     LEDGER_E_INVALID);
    zsock_destroy(&dealer);
    assert_int_equal(curve_auth_start("/nonexistent/allow", &fx.auth, why, sizeof why),
                     LEDGER_E_NOT_FOUND);
    assert_null(fx.auth);
    fx_close(&fx);
}

TEST_MAIN(cmocka_unit_test(test_only_an_allowed_key_delivers_and_is_named_by_user_id),
          cmocka_unit_test(test_without_zauth_a_required_zap_handler_delivers_nothing),
          cmocka_unit_test(test_control_without_the_option_any_key_is_accepted),
          cmocka_unit_test(test_bad_server_key_and_missing_allow_dir_are_errors))

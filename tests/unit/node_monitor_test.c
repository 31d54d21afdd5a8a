/*  node_monitor_test.c: failed handshakes seen by nodes/common/node_monitor.c
    on a CURVE ROUTER with zauth over the accounts node's allow dir (as a
    node's inbox), over loopback TCP: a plain client is counted as
    `protocol`, an unknown key as `auth` on the server and on the client's
    own link (watched as a peer), and an allowed key delivers with nothing
    counted. Counts are waited for with a deadline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "clock.h"
#include "curve_fx.h"
#include "curve_sock.h"
#include "node_log.h"
#include "node_monitor.h"

#define COUNT_DEADLINE_MS 5000 /* a refused handshake is reported within this */

typedef struct {
    curve_fx_t fx;
    zcert_t *server_cert;
    char server_z85[CURVE_KEYS_Z85_BYTES];
    zactor_t *auth;
    zsock_t *router;
    node_monitor_t *monitor;
} mon_fx_t;

static int setup(void **state)
{
    mon_fx_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    char why[CURVE_FX_WHY_BYTES] = "", allow_dir[CURVE_KEYS_PATH_MAX];
    curve_fx_make(&fx->fx, "node_monitor");
    assert_int_equal(
        curve_keys_load_own(fx->fx.keys, NULL, "accounts", &fx->server_cert, why, sizeof why),
        LEDGER_OK);
    curve_fx_public(&fx->fx, "accounts", fx->server_z85);
    curve_fx_path(&fx->fx, allow_dir, "allow", "accounts", "");
    assert_int_equal(curve_auth_start(allow_dir, &fx->auth, why, sizeof why), LEDGER_OK);
    fx->router = zsock_new(ZMQ_ROUTER);
    assert_non_null(fx->router);
    zsock_set_linger(fx->router, 0);
    assert_int_equal(curve_sock_server(fx->router, fx->server_cert, why, sizeof why), LEDGER_OK);
    assert_int_equal(node_monitor_new(&fx->monitor), LEDGER_OK);
    assert_int_equal(
        node_monitor_watch(fx->monitor, zsock_resolve(fx->router), NODE_MONITOR_INBOX, NULL),
        LEDGER_OK);
    assert_true(zsock_bind(fx->router, "tcp://127.0.0.1:*") >= 0);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    mon_fx_t *fx = *state;
    node_monitor_destroy(&fx->monitor);
    assert_null(fx->monitor);
    zsock_destroy(&fx->router);
    curve_auth_stop(&fx->auth);
    zcert_destroy(&fx->server_cert);
    curve_fx_remove(&fx->fx);
    free(fx);
    return 0;
}

/* A DEALER to the router, CURVE with `cert` unless NULL, not yet connected. */
static zsock_t *client_new(mon_fx_t *fx, zcert_t *cert)
{
    char why[CURVE_FX_WHY_BYTES] = "";
    zsock_t *dealer = zsock_new(ZMQ_DEALER);
    assert_non_null(dealer);
    zsock_set_linger(dealer, 0);
    if (cert)
        assert_int_equal(curve_sock_client(dealer, cert, fx->server_z85, why, sizeof why),
                         LEDGER_OK);
    return dealer;
}

static void client_connect(mon_fx_t *fx, zsock_t *dealer)
{
    assert_int_equal(zsock_connect(dealer, "%s", zsock_endpoint(fx->router)), 0);
    zstr_send(dealer, "hello");
}

/* Reads the monitor until `*count` (in its stats) reaches 1, with a deadline. */
static node_handshake_stats_t wait_counted(mon_fx_t *fx, size_t which, node_handshake_reason_t r)
{
    node_handshake_stats_t st;
    uint64_t deadline = clock_mono_ms() + COUNT_DEADLINE_MS;
    for (;;) {
        zmq_pollitem_t items[NODE_MONITOR_SOCKETS_MAX];
        size_t n = node_monitor_poll_items(fx->monitor, items, NODE_MONITOR_SOCKETS_MAX);
        zmq_poll(items, (int)n, 50);
        node_monitor_read(fx->monitor, clock_mono_ms());
        node_monitor_get_stats(fx->monitor, &st);
        uint64_t got = which == 0 ? st.inbox[r] : st.peers[which - 1][r];
        if (got >= 1)
            return st;
        assert_true(clock_mono_ms() < deadline);
    }
}

static void test_a_plain_client_at_a_curve_inbox_is_counted_as_protocol(void **state)
{
    mon_fx_t *fx = *state;
    zsock_t *plain = client_new(fx, NULL);
    client_connect(fx, plain);
    node_handshake_stats_t st = wait_counted(fx, 0, NODE_HANDSHAKE_PROTOCOL);
    assert_int_equal(st.inbox[NODE_HANDSHAKE_AUTH], 0);
    assert_int_equal(st.feed[NODE_HANDSHAKE_PROTOCOL], 0);
    zsock_destroy(&plain);
}

static void test_an_unknown_key_is_counted_as_auth_on_both_ends(void **state)
{
    mon_fx_t *fx = *state;
    zcert_t *stranger = zcert_new();
    zsock_t *client = client_new(fx, stranger);
    /* The client's link watched as this process's link to peer "accounts". */
    assert_int_equal(
        node_monitor_watch(fx->monitor, zsock_resolve(client), NODE_MONITOR_PEER, "accounts"),
        LEDGER_OK);
    client_connect(fx, client);
    wait_counted(fx, 0, NODE_HANDSHAKE_AUTH);
    node_handshake_stats_t st = wait_counted(fx, 1, NODE_HANDSHAKE_AUTH);
    assert_int_equal(st.peer_count, 1);
    assert_string_equal(st.peer_names[0], "accounts");
    assert_int_equal(st.inbox[NODE_HANDSHAKE_PROTOCOL], 0);
    /* The monitor goes before the socket it watches. */
    node_monitor_destroy(&fx->monitor);
    zsock_destroy(&client);
    zcert_destroy(&stranger);
}

static void test_an_allowed_key_delivers_and_counts_nothing(void **state)
{
    mon_fx_t *fx = *state;
    char why[CURVE_FX_WHY_BYTES] = "";
    zcert_t *gateway = NULL;
    assert_int_equal(curve_keys_load_own(fx->fx.keys, NULL, "gateway", &gateway, why, sizeof why),
                     LEDGER_OK);
    zsock_t *client = client_new(fx, gateway);
    client_connect(fx, client);
    zpoller_t *poller = zpoller_new(fx->router, NULL);
    assert_non_null(zpoller_wait(poller, COUNT_DEADLINE_MS));
    zpoller_destroy(&poller);
    zmsg_t *msg = zmsg_recv(fx->router);
    assert_non_null(msg);
    zmsg_destroy(&msg);
    assert_int_equal(node_monitor_read(fx->monitor, clock_mono_ms()), 0);
    node_handshake_stats_t st;
    node_monitor_get_stats(fx->monitor, &st);
    for (size_t r = 0; r < NODE_HANDSHAKE__COUNT; r++)
        assert_int_equal(st.inbox[r], 0);
    zsock_destroy(&client);
    zcert_destroy(&gateway);
}

int main(void)
{
    node_log_init("node_monitor_test", NODE_LOG_ERROR); /* the failures are expected */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_a_plain_client_at_a_curve_inbox_is_counted_as_protocol,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_an_unknown_key_is_counted_as_auth_on_both_ends, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_an_allowed_key_delivers_and_counts_nothing, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*  node_dedupe_test.c: dedupe per origin and the far-ahead bound, through a
    real node loop (node.c apply_inbound) and its inbox, driven by a DEALER
    like a peer. The same seq from two origins is two messages; an id more
    than NODE_SEEN_AHEAD_MAX past its origin's highest is nacked
    id_too_far_ahead, counted, and neither applied nor recorded. A harness
    replay under another origin (--harness-replay) is only ever a duplicate
    or nacked replay_not_seen: it never spends that origin's id. The loop
    counts a plain client at its CURVE inbox as a failed handshake.
    The node is a gateway with CURVE over the mesh's keys in a temp dir
    (curve_fx.h, never ./data/keys), the harness key allowed at it; each
    peer sends with its own key. One node serves every test: each test uses
    ids of its own and compares counters before and after. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <czmq.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "curve_fx.h"
#include "curve_sock.h"
#include "node.h"
#include "node_config.h"
#include "node_log.h"
#include "node_seen.h"
#include "proto.h"
#include "store.h"
#include "test_dir.h"
#include "test_msg.h"
#include "test_node_run.h"

#define ANSWER_WAIT_MS 10000
#define KEYS 3 /* the peers' keys: accounts, fraud, harness */

static const char *const key_names[KEYS] = {"accounts", "fraud", "harness"};

typedef struct {
    char dir[TEST_DIR_BYTES];
    char inbox[48];
    node_t *node;
    pthread_t thread;
    curve_fx_t keys;
    zsock_t *peers[KEYS]; /* a DEALER per key, made when first used */
    uint64_t sent;        /* messages sent (each answered) */
} fx_t;

static ledger_err_t apply_ok(node_ctx_t *ctx, const proto_msg_t *msg, void *app, char *why,
                             size_t why_size)
{
    (void)ctx, (void)msg, (void)app, (void)why, (void)why_size;
    return LEDGER_OK;
}

/* A gateway node (it takes funds.reserved from accounts and fraud.* from fraud), running. */
static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    test_dir_make(fx->dir, "node_dedupe_test");
    char why[CURVE_FX_WHY_BYTES] = "", keys_flag[600];
    curve_fx_make(&fx->keys, "node_dedupe_keys");
    assert_int_equal(curve_keys_allow(fx->keys.keys, "harness", "gateway", why, sizeof why),
                     LEDGER_OK);
    snprintf(keys_flag, sizeof keys_flag, "--keys-dir=%s", fx->keys.keys);
    node_log_init("node_dedupe_test", NODE_LOG_ERROR); /* the nacks below are expected */
    static node_app_t app = {.apply = apply_ok};
    ledger_err_t err = LEDGER_E_IO;
    /* A free port may be taken by a test beside this one before the node binds it. */
    for (int attempt = 0; attempt < 5 && err == LEDGER_E_IO; attempt++) {
        char data_flag[600], inbox_flag[64], feed_flag[64];
        int port = 0, feed_port = 0;
        test_free_ports(&port, &feed_port);
        assert_true(port > 0 && feed_port > 0 && port != feed_port);
        snprintf(fx->inbox, sizeof fx->inbox, "tcp://127.0.0.1:%d", port);
        snprintf(data_flag, sizeof data_flag, "--data-dir=%s/data", fx->dir);
        snprintf(inbox_flag, sizeof inbox_flag, "--inbox=%s", fx->inbox);
        snprintf(feed_flag, sizeof feed_flag, "--feed=tcp://127.0.0.1:%d", feed_port);
        char *argv[] = {"node_dedupe_test", data_flag,           inbox_flag, feed_flag,
                        "--admin-port=0",   "--log-level=error", keys_flag,  "--harness-replay"};
        node_config_t config;
        assert_int_equal(node_config_load(&config, NODE_KIND_GATEWAY, 8, argv, why, sizeof why),
                         LEDGER_OK);
        err = node_new(&config, &app, &fx->node);
    }
    assert_int_equal(err, LEDGER_OK);
    assert_int_equal(pthread_create(&fx->thread, NULL, test_node_run, fx->node), 0);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    for (size_t i = 0; i < KEYS; i++)
        zsock_destroy(&fx->peers[i]);
    node_stop(fx->node);
    pthread_join(fx->thread, NULL);
    node_destroy(&fx->node);
    test_remove_dir(fx->dir);
    curve_fx_remove(&fx->keys);
    free(fx);
    return 0;
}

/* The DEALER of key `key` to the node's inbox, CURVE with that key of the mesh. */
static zsock_t *peer_of(fx_t *fx, const char *key)
{
    size_t i = 0;
    while (i < KEYS && strcmp(key_names[i], key) != 0)
        i++;
    assert_true(i < KEYS);
    if (fx->peers[i])
        return fx->peers[i];
    char why[CURVE_FX_WHY_BYTES] = "", server[CURVE_KEYS_Z85_BYTES];
    zcert_t *cert = NULL;
    assert_int_equal(curve_keys_load_own(fx->keys.keys, NULL, key, &cert, why, sizeof why),
                     LEDGER_OK);
    curve_fx_public(&fx->keys, "gateway", server);
    zsock_t *peer = zsock_new(ZMQ_DEALER);
    zsock_set_linger(peer, 0);
    assert_int_equal(curve_sock_client(peer, cert, server, why, sizeof why), LEDGER_OK);
    zcert_destroy(&cert);
    assert_int_equal(zsock_connect(peer, "%s", fx->inbox), 0);
    fx->peers[i] = peer;
    return peer;
}

/*  Sends `origin`/`seq` (funds.reserved as accounts, fraud.approved as fraud)
    with key `key` and waits for its answer: the answer's type; its nack code
    in `code`. */
static proto_type_t send_as(fx_t *fx, const char *key, const char *origin, uint64_t seq,
                            char code[PROTO_CODE_MAX + 1])
{
    bool from_accounts = strcmp(origin, "accounts") == 0;
    proto_msg_t m = from_accounts
                        ? test_transfer_msg(PROTO_FUNDS_RESERVED, origin, seq, 1700000000000u,
                                            "tr_1", "alice", "bob", 100, "GBP")
                        : test_msg(PROTO_FRAUD_APPROVED, origin, seq, 1700000000000u, "tr_1");
    if (!from_accounts)
        snprintf(m.body.verdict.transfer, sizeof m.body.verdict.transfer, "tr_1");
    char why[256];
    void *data = NULL;
    size_t size = 0;
    assert_int_equal(proto_encode(&m, &data, &size, why, sizeof why), LEDGER_OK);
    uint8_t tag[PROTO_TAG_SIZE];
    proto_tag_pack(seq, tag);
    zsock_t *peer = peer_of(fx, key);
    void *sock = zsock_resolve(peer);
    assert_true(zmq_send(sock, tag, sizeof tag, ZMQ_SNDMORE) >= 0);
    assert_true(zmq_send(sock, data, size, 0) >= 0);
    free(data);
    fx->sent++;

    zpoller_t *poller = zpoller_new(peer, NULL);
    assert_non_null(zpoller_wait(poller, ANSWER_WAIT_MS));
    zpoller_destroy(&poller);
    zmsg_t *msg = zmsg_recv(peer);
    assert_non_null(msg);
    zframe_t *tags = zmsg_first(msg), *env = zmsg_next(msg);
    uint64_t got = 0;
    assert_int_equal(proto_tag_unpack(zframe_data(tags), zframe_size(tags), &got), LEDGER_OK);
    assert_int_equal(got, seq);
    proto_msg_t answer;
    assert_int_equal(proto_decode(zframe_data(env), zframe_size(env), &answer, why, sizeof why),
                     LEDGER_OK);
    snprintf(code, PROTO_CODE_MAX + 1, "%s", answer.body.reply.code);
    char id[PROTO_ID_MAX + 1];
    proto_msg_id(&m, id);
    assert_string_equal(answer.body.reply.of, id);
    zmsg_destroy(&msg);
    return answer.type;
}

/* Sends `origin`/`seq` with the origin's own key. */
static proto_type_t send_and_wait(fx_t *fx, const char *origin, uint64_t seq,
                                  char code[PROTO_CODE_MAX + 1])
{
    return send_as(fx, origin, origin, seq, code);
}

static bool seen_at_node(fx_t *fx, const char *origin, uint64_t seq)
{
    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(node_store(fx->node), false, &txn), LEDGER_OK);
    bool seen = true;
    assert_int_equal(store_seen_check(txn, origin, seq, &seen), LEDGER_OK);
    store_txn_abort(&txn);
    return seen;
}

/*  The node's counters once every message sent is counted (the loop answers
    first, then counts: wait for it, with a deadline). */
static node_stats_t stats(fx_t *fx)
{
    node_stats_t s;
    int64_t deadline = zclock_mono() + ANSWER_WAIT_MS;
    for (;;) {
        node_get_stats(fx->node, &s);
        uint64_t counted = 0;
        for (size_t t = 0; t < PROTO_TYPE__COUNT; t++)
            for (size_t o = 0; o < NODE_IN__COUNT; o++)
                counted += s.in_by_type[t][o];
        if (counted >= fx->sent)
            return s;
        assert_true(zclock_mono() < deadline);
        zclock_sleep(1); /* counted right after the answer went out */
    }
}

static void test_the_same_seq_from_two_origins_is_two_messages(void **state)
{
    fx_t *fx = *state;
    char code[PROTO_CODE_MAX + 1];
    node_stats_t before = stats(fx);
    assert_int_equal(send_and_wait(fx, "accounts", 3, code), PROTO_ACK);
    assert_int_equal(send_and_wait(fx, "fraud", 3, code), PROTO_ACK);
    assert_int_equal(send_and_wait(fx, "fraud", 3, code), PROTO_ACK); /* this one is a repeat */
    node_stats_t s = stats(fx);
    assert_int_equal(s.in_by_type[PROTO_FUNDS_RESERVED][NODE_IN_APPLIED] -
                         before.in_by_type[PROTO_FUNDS_RESERVED][NODE_IN_APPLIED],
                     1);
    assert_int_equal(s.in_by_type[PROTO_FRAUD_APPROVED][NODE_IN_APPLIED] -
                         before.in_by_type[PROTO_FRAUD_APPROVED][NODE_IN_APPLIED],
                     1);
    assert_int_equal(s.in_by_type[PROTO_FRAUD_APPROVED][NODE_IN_DUPLICATE] -
                         before.in_by_type[PROTO_FRAUD_APPROVED][NODE_IN_DUPLICATE],
                     1);
    assert_int_equal(s.in_by_type[PROTO_FUNDS_RESERVED][NODE_IN_DUPLICATE], 0);
}

static void test_an_id_far_ahead_of_its_origin_is_refused_and_not_recorded(void **state)
{
    fx_t *fx = *state;
    char code[PROTO_CODE_MAX + 1];
    node_stats_t before = stats(fx);
    const uint64_t first = 7, edge = first + NODE_SEEN_AHEAD_MAX;
    assert_int_equal(send_and_wait(fx, "accounts", first, code), PROTO_ACK);
    assert_int_equal(send_and_wait(fx, "accounts", edge, code), PROTO_ACK); /* just in reach */
    assert_int_equal(send_and_wait(fx, "accounts", edge + NODE_SEEN_AHEAD_MAX + 1, code),
                     PROTO_NACK);
    assert_string_equal(code, "id_too_far_ahead");
    /* Fraud is bounded by its own highest (3, from the test before), not by accounts'. */
    assert_int_equal(send_and_wait(fx, "fraud", 3 + NODE_SEEN_AHEAD_MAX + 1, code), PROTO_NACK);
    assert_string_equal(code, "id_too_far_ahead");
    assert_int_equal(send_and_wait(fx, "fraud", 3 + NODE_SEEN_AHEAD_MAX, code), PROTO_ACK);
    node_stats_t s = stats(fx);
    assert_int_equal(s.in_by_type[PROTO_FUNDS_RESERVED][NODE_IN_APPLIED] -
                         before.in_by_type[PROTO_FUNDS_RESERVED][NODE_IN_APPLIED],
                     2);
    assert_int_equal(s.in_by_type[PROTO_FUNDS_RESERVED][NODE_IN_NACKED], 1);
    assert_int_equal(s.links.refused[NODE_REFUSED_ID_TOO_FAR_AHEAD][PROTO_FUNDS_RESERVED], 1);
    assert_int_equal(s.links.refused[NODE_REFUSED_ID_TOO_FAR_AHEAD][PROTO_FRAUD_APPROVED], 1);
    /* Nothing was recorded for it: the refused id was not spent. */
    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(node_store(fx->node), false, &txn), LEDGER_OK);
    uint64_t high = 0;
    assert_int_equal(store_seen_high(txn, "accounts", &high), LEDGER_OK);
    assert_int_equal(high, edge);
    store_txn_abort(&txn);
}

static void test_a_harness_replay_is_only_a_duplicate_and_spends_no_id(void **state)
{
    fx_t *fx = *state;
    char code[PROTO_CODE_MAX + 1];
    node_stats_t before = stats(fx);
    const uint64_t base = 1000;
    assert_int_equal(send_and_wait(fx, "fraud", base, code), PROTO_ACK);
    /* The harness replays fraud/base, which the node has: a duplicate, nothing applied. */
    assert_int_equal(send_as(fx, "harness", "fraud", base, code), PROTO_ACK);
    /* ... and fraud/(base + 1), which it has not: refused, not recorded. */
    assert_int_equal(send_as(fx, "harness", "fraud", base + 1, code), PROTO_NACK);
    assert_string_equal(code, "replay_not_seen");
    assert_false(seen_at_node(fx, "fraud", base + 1));
    /* Fraud's own fraud/(base + 1) is then a new message, applied once. */
    assert_int_equal(send_and_wait(fx, "fraud", base + 1, code), PROTO_ACK);
    node_stats_t s = stats(fx);
    assert_int_equal(s.in_by_type[PROTO_FRAUD_APPROVED][NODE_IN_APPLIED] -
                         before.in_by_type[PROTO_FRAUD_APPROVED][NODE_IN_APPLIED],
                     2);
    assert_int_equal(s.in_by_type[PROTO_FRAUD_APPROVED][NODE_IN_DUPLICATE] -
                         before.in_by_type[PROTO_FRAUD_APPROVED][NODE_IN_DUPLICATE],
                     1);
    assert_int_equal(s.links.refused[NODE_REFUSED_REPLAY_NOT_SEEN][PROTO_FRAUD_APPROVED], 1);
    assert_true(seen_at_node(fx, "fraud", base + 1));
}

/* The node loop counts a plain client at its CURVE inbox (node_monitor.h), within a deadline. */
static void test_the_node_counts_a_plain_client_at_its_inbox(void **state)
{
    fx_t *fx = *state;
    zsock_t *plain = zsock_new(ZMQ_DEALER);
    zsock_set_linger(plain, 0);
    assert_int_equal(zsock_connect(plain, "%s", fx->inbox), 0);
    int64_t deadline = zclock_mono() + ANSWER_WAIT_MS;
    node_stats_t s;
    do {
        assert_true(zclock_mono() < deadline);
        zclock_sleep(5); /* counted by the node's loop thread */
        node_get_stats(fx->node, &s);
    } while (s.handshakes.inbox[NODE_HANDSHAKE_PROTOCOL] == 0);
    assert_int_equal(s.handshakes.inbox[NODE_HANDSHAKE_AUTH], 0);
    assert_int_equal(s.handshakes.peer_count, 0); /* a gateway's relay has no peers here */
    zsock_destroy(&plain);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_same_seq_from_two_origins_is_two_messages),
        cmocka_unit_test(test_an_id_far_ahead_of_its_origin_is_refused_and_not_recorded),
        cmocka_unit_test(test_a_harness_replay_is_only_a_duplicate_and_spends_no_id),
        cmocka_unit_test(test_the_node_counts_a_plain_client_at_its_inbox)};
    return cmocka_run_group_tests(tests, setup, teardown);
}

/*  node_test.c: the node loop with a real store and a real inbox, driven by a
    DEALER like a peer. A message its handler refuses after writing leaves
    none of its writes behind, while the messages beside it in the batch are
    applied: the loop drops the batch's transaction and runs it again without
    the refused one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <czmq.h>
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node.h"
#include "node_config.h"
#include "node_log.h"
#include "proto.h"
#include "store.h"
#include "test_dir.h"
#include "test_main.h"

#define MESSAGES 12
#define REFUSED_SEQ 5 /* the handler writes, then refuses this one */

/* Writes a key per message (in the batch's transaction), then refuses REFUSED_SEQ. */
static ledger_err_t apply_then_maybe_refuse(node_ctx_t *ctx, const proto_msg_t *msg, void *app,
                                            char *why, size_t why_size)
{
    (void)app;
    ledger_err_t err = store_put(ctx->txn, STORE_DB_INDEX, msg->corr, strlen(msg->corr), "x", 1, 0);
    if (err)
        return err;
    if (msg->seq == REFUSED_SEQ) {
        snprintf(why, why_size, "refused after writing");
        return LEDGER_E_INVALID;
    }
    return LEDGER_OK;
}

static void *run_node(void *arg)
{
    node_run(arg);
    return NULL;
}

/* Two distinct free loopback ports: both sockets stay bound until both are known. */
static void free_ports(int *first, int *second)
{
    zsock_t *a = zsock_new(ZMQ_ROUTER), *b = zsock_new(ZMQ_ROUTER);
    *first = zsock_bind(a, "tcp://127.0.0.1:*");
    *second = zsock_bind(b, "tcp://127.0.0.1:*");
    zsock_destroy(&a);
    zsock_destroy(&b);
}

static void test_a_refused_message_leaves_no_write_and_its_batch_is_applied(void **state)
{
    (void)state;
    char dir[] = "/tmp/node_test.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char data_flag[600], inbox_flag[64], feed_flag[64], inbox[48];
    int port = 0, feed_port = 0;
    node_config_t config;
    char why[256];
    node_log_init("node_test", NODE_LOG_ERROR); /* the nack of the refused one is expected */
    node_app_t app = {.apply = apply_then_maybe_refuse};
    node_t *node = NULL;
    /* A free port may be taken by a test running beside this one before the node binds it
       (LEDGER_E_IO): then again on other ports. */
    ledger_err_t err = LEDGER_E_IO;
    for (int attempt = 0; attempt < 5 && err == LEDGER_E_IO; attempt++) {
        free_ports(&port, &feed_port);
        assert_true(port > 0 && feed_port > 0 && port != feed_port);
        snprintf(inbox, sizeof inbox, "tcp://127.0.0.1:%d", port);
        snprintf(data_flag, sizeof data_flag, "--data-dir=%s/data", dir);
        snprintf(inbox_flag, sizeof inbox_flag, "--inbox=%s", inbox);
        snprintf(feed_flag, sizeof feed_flag, "--feed=tcp://127.0.0.1:%d", feed_port);
        char *argv[] = {"node_test", data_flag,        inbox_flag,
                        feed_flag,   "--admin-port=0", "--log-level=error"};
        assert_int_equal(node_config_load(&config, NODE_KIND_FRAUD, 5, argv, why, sizeof why),
                         LEDGER_OK);
        err = node_new(&config, &app, &node);
    }
    assert_int_equal(err, LEDGER_OK);

    /* Queue every message before the loop runs, so that they meet in one batch. */
    zsock_t *peer = zsock_new(ZMQ_DEALER);
    zsock_set_linger(peer, 0);
    assert_int_equal(zsock_connect(peer, "%s", inbox), 0);
    for (uint64_t seq = 1; seq <= MESSAGES; seq++) {
        proto_msg_t m;
        memset(&m, 0, sizeof m);
        m.v = PROTO_VERSION;
        m.type = PROTO_FUNDS_RESERVED;
        snprintf(m.origin, sizeof m.origin, "tester");
        m.seq = seq;
        m.ts_ms = 1700000000000u;
        snprintf(m.corr, sizeof m.corr, "tr_%02u", (unsigned)seq);
        snprintf(m.body.transfer.transfer, sizeof m.body.transfer.transfer, "%s", m.corr);
        snprintf(m.body.transfer.from, sizeof m.body.transfer.from, "alice");
        snprintf(m.body.transfer.to, sizeof m.body.transfer.to, "bob");
        m.body.transfer.amount_minor = 100;
        snprintf(m.body.transfer.currency, sizeof m.body.transfer.currency, "GBP");
        void *data = NULL;
        size_t size = 0;
        assert_int_equal(proto_encode(&m, &data, &size, why, sizeof why), LEDGER_OK);
        uint8_t tag[PROTO_TAG_SIZE];
        proto_tag_pack(seq, tag);
        void *sock = zsock_resolve(peer);
        assert_true(zmq_send(sock, tag, sizeof tag, ZMQ_SNDMORE) >= 0);
        assert_true(zmq_send(sock, data, size, 0) >= 0);
        free(data);
    }
    /* Not a synchronisation (nothing below depends on it): gives the queued messages time to
       reach the inbox, so that the refused one most likely shares its batch with others. */
    usleep(200 * 1000);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, run_node, node), 0);

    /* Every tag is answered once: acks for all but the refused one, which is nacked. */
    int answered[MESSAGES + 1] = {0};
    size_t answers = 0;
    zpoller_t *poller = zpoller_new(peer, NULL);
    int64_t deadline = zclock_mono() + 10000;
    while (answers < MESSAGES && zclock_mono() < deadline) {
        if (!zpoller_wait(poller, 200))
            continue;
        zmsg_t *msg = zmsg_recv(peer);
        assert_non_null(msg);
        zframe_t *tags = zmsg_first(msg), *env = zmsg_next(msg);
        uint64_t got[PROTO_ACK_TAGS_MAX];
        size_t count = 0;
        assert_int_equal(proto_tags_unpack(zframe_data(tags), zframe_size(tags), got, &count),
                         LEDGER_OK);
        proto_msg_t answer;
        assert_int_equal(proto_decode(zframe_data(env), zframe_size(env), &answer, why, sizeof why),
                         LEDGER_OK);
        for (size_t i = 0; i < count; i++) {
            assert_true(got[i] >= 1 && got[i] <= MESSAGES);
            assert_int_equal(answered[got[i]], 0);
            answered[got[i]] = answer.type == PROTO_NACK ? -1 : 1;
            answers++;
        }
        if (answer.type == PROTO_NACK)
            assert_string_equal(answer.body.reply.code, "invalid");
        proto_msg_release(&answer);
        zmsg_destroy(&msg);
    }
    zpoller_destroy(&poller);
    zsock_destroy(&peer);
    node_stop(node);
    pthread_join(thread, NULL);
    node_destroy(&node);
    assert_int_equal(answers, MESSAGES);
    for (uint64_t seq = 1; seq <= MESSAGES; seq++)
        assert_int_equal(answered[seq], seq == REFUSED_SEQ ? -1 : 1);

    /* The refused message's write is gone, the others' are there, and only they are seen. */
    store_t *store = NULL;
    char data_dir[600];
    snprintf(data_dir, sizeof data_dir, "%s/data", dir);
    assert_int_equal(store_open(data_dir, NULL, &store), LEDGER_OK);
    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(store, false, &txn), LEDGER_OK);
    for (uint64_t seq = 1; seq <= MESSAGES; seq++) {
        char key[16];
        snprintf(key, sizeof key, "tr_%02u", (unsigned)seq);
        const void *val;
        size_t size;
        assert_int_equal(store_get(txn, STORE_DB_INDEX, key, strlen(key), &val, &size),
                         seq == REFUSED_SEQ ? LEDGER_E_NOT_FOUND : LEDGER_OK);
        bool seen = true;
        assert_int_equal(store_seen_check(txn, "tester", seq, &seen), LEDGER_OK);
        assert_int_equal(seen, seq != REFUSED_SEQ);
    }
    store_txn_abort(&txn);
    store_destroy(&store);
    char data_path[700];
    snprintf(data_path, sizeof data_path, "%s/data", dir);
    test_remove_dir(data_path);
    test_remove_dir(dir);
}

TEST_MAIN(cmocka_unit_test(test_a_refused_message_leaves_no_write_and_its_batch_is_applied))

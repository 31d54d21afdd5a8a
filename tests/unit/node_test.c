/*  node_test.c: the node loop with a real store and a real inbox, driven by a
    DEALER like a peer.

    A message its handler refuses after writing leaves none of its writes
    behind, while the messages beside it in the batch are applied: the loop
    drops the batch's transaction and runs it again without the refused one.

    Who sent a message (issue 19, node_inbound.h): on CURVE links the peer is
    the key the connection authenticated with. A message whose origin is not
    that peer (origin_mismatch), or whose type the peer's role may not send
    here (forbidden_type), is nacked, counted, and leaves nothing: no write
    of its handler, no id in `seen`. A harness key is refused under another
    origin unless the node runs with --harness-replay. With
    --insecure-plaintext the origin names the peer. Keys live in a temp dir
    (curve_fx.h), never ./data/keys.

    Corrupt stored data met outside a batch faults the node (node.h,
    "Storage faults"): an outbox record the relay cannot read (source
    "relay") and a prune that meets one (source "prune"). */
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
#include <unistd.h>

#include "curve_fx.h"
#include "curve_sock.h"
#include "node.h"
#include "node_config.h"
#include "node_log.h"
#include "proto.h"
#include "store.h"
#include "store_raw.h"
#include "test_dir.h"
#include "test_main.h"
#include "test_node_run.h"

#define MESSAGES 12
#define REFUSED_SEQ 5        /* the handler writes, then refuses this one */
#define ANSWER_WAIT_MS 10000 /* longest wait for the node's answers */
#define NODE_FX_FLAG_BYTES 600

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

/* Set by a test: the app's retention meets a record that does not decode. */
static bool prune_meets_corrupt;

static ledger_err_t prune_maybe_corrupt(node_ctx_t *ctx, void *app, size_t max, size_t *pruned_out)
{
    (void)ctx;
    (void)app;
    (void)max;
    *pruned_out = 0;
    return prune_meets_corrupt ? LEDGER_E_CORRUPT : LEDGER_OK;
}

/* A fraud node (role fraud) over a temp data dir, CURVE with the mesh's keys or plain. */
typedef struct {
    char dir[TEST_DIR_BYTES];
    bool curve;
    curve_fx_t keys;
    char inbox[48];
    node_t *node;
    pthread_t thread;
    bool running;
} node_fx_t;

/*  Makes the node (not running). curve: the mesh's keys in a temp dir, with
    `allow_harness` the harness key allowed at fraud; else --insecure-plaintext.
    `extra` is one more flag or NULL. */
static void fx_start(node_fx_t *fx, bool curve, bool allow_harness, const char *extra)
{
    memset(fx, 0, sizeof *fx);
    test_dir_make(fx->dir, "node_test");
    fx->curve = curve;
    char why[CURVE_FX_WHY_BYTES];
    char keys_flag[NODE_FX_FLAG_BYTES] = "--insecure-plaintext";
    if (curve) {
        curve_fx_make(&fx->keys, "node_test_keys");
        if (allow_harness)
            assert_int_equal(curve_keys_allow(fx->keys.keys, "harness", "fraud", why, sizeof why),
                             LEDGER_OK);
        snprintf(keys_flag, sizeof keys_flag, "--keys-dir=%s", fx->keys.keys);
    }
    node_log_init("node_test", NODE_LOG_ERROR); /* the nacks are expected */
    node_app_t app = {.apply = apply_then_maybe_refuse, .prune = prune_maybe_corrupt};
    /* A free port may be taken by a test running beside this one before the node binds it
       (LEDGER_E_IO): then again on other ports. */
    ledger_err_t err = LEDGER_E_IO;
    for (int attempt = 0; attempt < 5 && err == LEDGER_E_IO; attempt++) {
        int port = 0, feed_port = 0;
        test_free_ports(&port, &feed_port);
        assert_true(port > 0 && feed_port > 0 && port != feed_port);
        char data_flag[NODE_FX_FLAG_BYTES], inbox_flag[64], feed_flag[64];
        snprintf(fx->inbox, sizeof fx->inbox, "tcp://127.0.0.1:%d", port);
        snprintf(data_flag, sizeof data_flag, "--data-dir=%s/data", fx->dir);
        snprintf(inbox_flag, sizeof inbox_flag, "--inbox=%s", fx->inbox);
        snprintf(feed_flag, sizeof feed_flag, "--feed=tcp://127.0.0.1:%d", feed_port);
        char *argv[] = {"node_test",
                        data_flag,
                        inbox_flag,
                        feed_flag,
                        "--admin-port=0",
                        keys_flag,
                        (char *)(extra ? extra : "--log-level=error")};
        node_config_t config;
        assert_int_equal(node_config_load(&config, NODE_KIND_FRAUD, 7, argv, why, sizeof why),
                         LEDGER_OK);
        err = node_new(&config, &app, &fx->node);
    }
    assert_int_equal(err, LEDGER_OK);
}

static void fx_run(node_fx_t *fx)
{
    assert_int_equal(pthread_create(&fx->thread, NULL, test_node_run, fx->node), 0);
    fx->running = true;
}

/* Stops the loop; the node (and its store) stay until fx_end. */
static void fx_stop(node_fx_t *fx)
{
    if (!fx->running)
        return;
    node_stop(fx->node);
    pthread_join(fx->thread, NULL);
    fx->running = false;
}

static void fx_end(node_fx_t *fx)
{
    fx_stop(fx);
    node_destroy(&fx->node);
    test_remove_dir(fx->dir);
    if (fx->curve)
        curve_fx_remove(&fx->keys);
}

/* A DEALER to the node's inbox as `key` (a key name of the mesh; ignored in plaintext). */
static zsock_t *fx_peer(node_fx_t *fx, const char *key)
{
    zsock_t *peer = zsock_new(ZMQ_DEALER);
    assert_non_null(peer);
    zsock_set_linger(peer, 0);
    if (fx->curve) {
        char why[CURVE_FX_WHY_BYTES], server[CURVE_KEYS_Z85_BYTES];
        zcert_t *cert = NULL;
        assert_int_equal(curve_keys_load_own(fx->keys.keys, NULL, key, &cert, why, sizeof why),
                         LEDGER_OK);
        curve_fx_public(&fx->keys, "fraud", server);
        assert_int_equal(curve_sock_client(peer, cert, server, why, sizeof why), LEDGER_OK);
        zcert_destroy(&cert);
    }
    assert_int_equal(zsock_connect(peer, "%s", fx->inbox), 0);
    return peer;
}

/* Sends a saga message of `type` as `origin`/`seq` under tag `tag`, corr "tr_<tag>". */
static void send_msg(zsock_t *peer, proto_type_t type, const char *origin, uint64_t seq,
                     uint64_t tag)
{
    proto_msg_t m;
    memset(&m, 0, sizeof m);
    m.v = PROTO_VERSION;
    m.type = type;
    snprintf(m.origin, sizeof m.origin, "%s", origin);
    m.seq = seq;
    m.ts_ms = 1700000000000u;
    snprintf(m.corr, sizeof m.corr, "tr_%02u", (unsigned)tag);
    if (type == PROTO_FRAUD_APPROVED) {
        snprintf(m.body.verdict.transfer, sizeof m.body.verdict.transfer, "%s", m.corr);
        snprintf(m.body.verdict.reason, sizeof m.body.verdict.reason, "ok");
    } else {
        snprintf(m.body.transfer.transfer, sizeof m.body.transfer.transfer, "%s", m.corr);
        snprintf(m.body.transfer.from, sizeof m.body.transfer.from, "alice");
        snprintf(m.body.transfer.to, sizeof m.body.transfer.to, "bob");
        m.body.transfer.amount_minor = 100;
        snprintf(m.body.transfer.currency, sizeof m.body.transfer.currency, "GBP");
    }
    char why[256];
    void *data = NULL;
    size_t size = 0;
    assert_int_equal(proto_encode(&m, &data, &size, why, sizeof why), LEDGER_OK);
    uint8_t tag_bytes[PROTO_TAG_SIZE];
    proto_tag_pack(tag, tag_bytes);
    void *sock = zsock_resolve(peer);
    assert_true(zmq_send(sock, tag_bytes, sizeof tag_bytes, ZMQ_SNDMORE) >= 0);
    assert_true(zmq_send(sock, data, size, 0) >= 0);
    free(data);
}

/*  Reads answers until tags 1..count are all answered (or the deadline):
    answered[tag] = 1 for an ack, -1 for a nack, whose code goes to codes[tag]. */
static size_t read_answers(zsock_t *peer, size_t count, int *answered,
                           char (*codes)[PROTO_CODE_MAX + 1])
{
    size_t answers = 0;
    char why[256];
    zpoller_t *poller = zpoller_new(peer, NULL);
    int64_t deadline = zclock_mono() + ANSWER_WAIT_MS;
    while (answers < count && zclock_mono() < deadline) {
        if (!zpoller_wait(poller, 200))
            continue;
        zmsg_t *msg = zmsg_recv(peer);
        assert_non_null(msg);
        zframe_t *tags = zmsg_first(msg), *env = zmsg_next(msg);
        uint64_t got[PROTO_ACK_TAGS_MAX];
        size_t n = 0;
        assert_int_equal(proto_tags_unpack(zframe_data(tags), zframe_size(tags), got, &n),
                         LEDGER_OK);
        proto_msg_t answer;
        assert_int_equal(proto_decode(zframe_data(env), zframe_size(env), &answer, why, sizeof why),
                         LEDGER_OK);
        for (size_t i = 0; i < n; i++) {
            assert_true(got[i] >= 1 && got[i] <= count);
            assert_int_equal(answered[got[i]], 0);
            answered[got[i]] = answer.type == PROTO_NACK ? -1 : 1;
            if (answer.type == PROTO_NACK)
                snprintf(codes[got[i]], PROTO_CODE_MAX + 1, "%s", answer.body.reply.code);
            answers++;
        }
        proto_msg_release(&answer);
        zmsg_destroy(&msg);
    }
    zpoller_destroy(&poller);
    return answers;
}

/* True if the handler wrote for corr "tr_<tag>"; *seen: whether origin/seq is in `seen`. */
static bool written(node_fx_t *fx, uint64_t tag, const char *origin, uint64_t seq, bool *seen)
{
    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(node_store(fx->node), false, &txn), LEDGER_OK);
    char key[16];
    snprintf(key, sizeof key, "tr_%02u", (unsigned)tag);
    const void *val;
    size_t size;
    ledger_err_t err = store_get(txn, STORE_DB_INDEX, key, strlen(key), &val, &size);
    assert_true(err == LEDGER_OK || err == LEDGER_E_NOT_FOUND);
    assert_int_equal(store_seen_check(txn, origin, seq, seen), LEDGER_OK);
    store_txn_abort(&txn);
    return err == LEDGER_OK;
}

static uint64_t refused(node_fx_t *fx, node_refused_t reason, proto_type_t type)
{
    node_stats_t stats;
    node_get_stats(fx->node, &stats);
    return stats.links.refused[reason][type];
}

static void test_a_refused_message_leaves_no_write_and_its_batch_is_applied(void **state)
{
    (void)state;
    node_fx_t fx;
    fx_start(&fx, true, false, NULL);
    /* Queue every message before the loop runs, so that they meet in one batch. */
    zsock_t *peer = fx_peer(&fx, "accounts");
    for (uint64_t seq = 1; seq <= MESSAGES; seq++)
        send_msg(peer, PROTO_FUNDS_RESERVED, "accounts", seq, seq);
    /* Not a synchronisation (nothing below depends on it): gives the queued messages time to
       reach the inbox, so that the refused one most likely shares its batch with others. */
    usleep(200 * 1000);
    fx_run(&fx);

    /* Every tag is answered once: acks for all but the refused one, which is nacked. */
    int answered[MESSAGES + 1] = {0};
    char codes[MESSAGES + 1][PROTO_CODE_MAX + 1] = {{0}};
    assert_int_equal(read_answers(peer, MESSAGES, answered, codes), MESSAGES);
    zsock_destroy(&peer);
    fx_stop(&fx);
    for (uint64_t seq = 1; seq <= MESSAGES; seq++) {
        assert_int_equal(answered[seq], seq == REFUSED_SEQ ? -1 : 1);
        if (seq == REFUSED_SEQ)
            assert_string_equal(codes[seq], "invalid");
    }
    /* The refused message's write is gone, the others' are there, and only they are seen. */
    for (uint64_t seq = 1; seq <= MESSAGES; seq++) {
        bool seen = true;
        assert_int_equal(written(&fx, seq, "accounts", seq, &seen), seq != REFUSED_SEQ);
        assert_int_equal(seen, seq != REFUSED_SEQ);
    }
    fx_end(&fx);
}

/*  Sends the `count` messages of one case from the peer with key `key` and
    checks each answer: codes[i] "" is an ack (applied: written and seen), else
    a nack with that code that left nothing. */
typedef struct {
    proto_type_t type;
    const char *origin;
    uint64_t seq;
    const char *code;
} sent_t;

static void expect_answers(node_fx_t *fx, const char *key, const sent_t *sent, size_t count)
{
    zsock_t *peer = fx_peer(fx, key);
    for (size_t i = 0; i < count; i++)
        send_msg(peer, sent[i].type, sent[i].origin, sent[i].seq, i + 1);
    int answered[8] = {0};
    char codes[8][PROTO_CODE_MAX + 1] = {{0}};
    assert_true(count < 8);
    assert_int_equal(read_answers(peer, count, answered, codes), count);
    zsock_destroy(&peer);
    fx_stop(fx);
    for (size_t i = 0; i < count; i++) {
        bool seen = false;
        bool wrote = written(fx, i + 1, sent[i].origin, sent[i].seq, &seen);
        if (!sent[i].code[0]) {
            assert_int_equal(answered[i + 1], 1);
            assert_true(wrote && seen);
        } else {
            assert_int_equal(answered[i + 1], -1);
            assert_string_equal(codes[i + 1], sent[i].code);
            assert_false(wrote || seen);
        }
    }
}

static void test_an_origin_that_is_not_the_peer_is_refused_and_leaves_nothing(void **state)
{
    (void)state;
    node_fx_t fx;
    fx_start(&fx, true, false, NULL);
    fx_run(&fx);
    /* The accounts key speaks for accounts only: as "gateway" it is refused, under the same
       seq the message signed as itself is applied (the refused id was never recorded). */
    const sent_t sent[] = {{PROTO_FUNDS_RESERVED, "gateway", 7, "origin_mismatch"},
                           {PROTO_FUNDS_RESERVED, "accounts", 7, ""}};
    expect_answers(&fx, "accounts", sent, 2);
    assert_int_equal(refused(&fx, NODE_REFUSED_ORIGIN_MISMATCH, PROTO_FUNDS_RESERVED), 1);
    fx_end(&fx);
}

static void test_a_type_the_peers_role_may_not_send_is_refused_and_leaves_nothing(void **state)
{
    (void)state;
    node_fx_t fx;
    fx_start(&fx, true, false, NULL);
    fx_run(&fx);
    /* accounts may send funds.reserved to fraud, never a verdict. */
    const sent_t sent[] = {{PROTO_FRAUD_APPROVED, "accounts", 3, "forbidden_type"},
                           {PROTO_FUNDS_RESERVED, "accounts", 4, ""}};
    expect_answers(&fx, "accounts", sent, 2);
    assert_int_equal(refused(&fx, NODE_REFUSED_FORBIDDEN_TYPE, PROTO_FRAUD_APPROVED), 1);
    assert_int_equal(refused(&fx, NODE_REFUSED_FORBIDDEN_TYPE, PROTO_FUNDS_RESERVED), 0);
    fx_end(&fx);
}

static void test_an_allowed_harness_key_without_replay_speaks_only_for_itself(void **state)
{
    (void)state;
    node_fx_t fx;
    fx_start(&fx, true, true, NULL); /* harness allowed at fraud, no --harness-replay */
    fx_run(&fx);
    const sent_t sent[] = {{PROTO_FUNDS_RESERVED, "accounts", 1, "origin_mismatch"},
                           {PROTO_FUNDS_RESERVED, "harness", 2, "forbidden_type"}};
    expect_answers(&fx, "harness", sent, 2);
    assert_int_equal(refused(&fx, NODE_REFUSED_ORIGIN_MISMATCH, PROTO_FUNDS_RESERVED), 1);
    assert_int_equal(refused(&fx, NODE_REFUSED_FORBIDDEN_TYPE, PROTO_FUNDS_RESERVED), 1);
    fx_end(&fx);
}

static void test_a_key_allowed_after_start_is_known_without_a_restart(void **state)
{
    (void)state;
    node_fx_t fx;
    fx_start(&fx, true, false, NULL);
    fx_run(&fx);
    /* zauth reloads the allow dir at the next handshake, the peer table at its first miss:
       the harness is then known by name (its message refused for its role, not as
       unauthenticated). */
    char why[CURVE_FX_WHY_BYTES];
    assert_int_equal(curve_keys_allow(fx.keys.keys, "harness", "fraud", why, sizeof why),
                     LEDGER_OK);
    const sent_t sent[] = {{PROTO_FUNDS_RESERVED, "harness", 1, "forbidden_type"}};
    expect_answers(&fx, "harness", sent, 1);
    assert_int_equal(refused(&fx, NODE_REFUSED_UNAUTHENTICATED, PROTO_FUNDS_RESERVED), 0);
    node_stats_t stats;
    node_get_stats(fx.node, &stats);
    assert_int_equal(stats.links.allow.allowed_keys, 2);
    fx_end(&fx);
}

static void test_plaintext_takes_the_peer_from_the_origin(void **state)
{
    (void)state;
    node_fx_t fx;
    fx_start(&fx, false, false, NULL);
    fx_run(&fx);
    /* Legacy and unauthenticated: the origin names the role, and the role table still holds. */
    const sent_t sent[] = {{PROTO_FUNDS_RESERVED, "accounts", 1, ""},
                           {PROTO_FUNDS_RESERVED, "gateway", 2, "forbidden_type"},
                           {PROTO_FUNDS_RESERVED, "tester", 3, "unauthenticated"}};
    expect_answers(&fx, NULL, sent, 3);
    assert_int_equal(refused(&fx, NODE_REFUSED_UNAUTHENTICATED, PROTO_FUNDS_RESERVED), 1);
    node_stats_t stats;
    node_get_stats(fx.node, &stats);
    assert_true(stats.links.insecure_plaintext);
    fx_end(&fx);
}

/* Waits (with a deadline) for the node to fault; its fault. */
static node_fault_t wait_faulted(node_fx_t *fx)
{
    int64_t deadline = zclock_mono() + ANSWER_WAIT_MS;
    while (!node_fault_active(fx->node) && zclock_mono() < deadline)
        zclock_sleep(5);
    assert_true(node_fault_active(fx->node));
    node_fault_t fault;
    node_fault_get(fx->node, &fault);
    assert_true(fault.faulted);
    return fault;
}

static void test_a_corrupt_outbox_record_faults_the_node_instead_of_stalling_its_relay(void **state)
{
    (void)state;
    node_fx_t fx;
    fx_start(&fx, false, false, NULL);
    /* An entry whose record no longer parses, before the loop's first pump. */
    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(node_store(fx.node), true, &txn), LEDGER_OK);
    uint64_t seq = 0;
    assert_int_equal(store_outbox_put(txn, "accounts", "m", 1, 1, &seq), LEDGER_OK);
    uint8_t key[8], garbage[] = {0xEE, 0x01};
    store_be64_put(key, seq);
    MDB_val k = {sizeof key, key}, v = {sizeof garbage, garbage};
    assert_int_equal(mdb_put(store_raw_txn(txn), store_raw_dbi(txn, STORE_DB_OUTBOX), &k, &v, 0),
                     0);
    assert_int_equal(store_txn_commit(&txn), LEDGER_OK);
    fx_run(&fx);
    node_fault_t fault = wait_faulted(&fx);
    assert_string_equal(fault.source, "relay");
    assert_non_null(strstr(fault.reason, "in the outbox"));
    fx_end(&fx);
}

static void test_a_prune_that_meets_corrupt_data_faults_the_node(void **state)
{
    (void)state;
    node_fx_t fx;
    fx_start(&fx, false, false, NULL);
    prune_meets_corrupt = true;
    fx_run(&fx);
    node_fault_t fault = wait_faulted(&fx);
    prune_meets_corrupt = false;
    assert_string_equal(fault.source, "prune");
    assert_non_null(strstr(fault.reason, "retention"));
    fx_end(&fx);
}

TEST_MAIN(
    cmocka_unit_test(test_a_refused_message_leaves_no_write_and_its_batch_is_applied),
    cmocka_unit_test(test_a_corrupt_outbox_record_faults_the_node_instead_of_stalling_its_relay),
    cmocka_unit_test(test_a_prune_that_meets_corrupt_data_faults_the_node),
    cmocka_unit_test(test_an_origin_that_is_not_the_peer_is_refused_and_leaves_nothing),
    cmocka_unit_test(test_a_type_the_peers_role_may_not_send_is_refused_and_leaves_nothing),
    cmocka_unit_test(test_an_allowed_harness_key_without_replay_speaks_only_for_itself),
    cmocka_unit_test(test_a_key_allowed_after_start_is_known_without_a_restart),
    cmocka_unit_test(test_plaintext_takes_the_peer_from_the_origin))

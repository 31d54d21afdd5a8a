/*  relay_test.c: when the relay resends an outbox entry (nodes/common/relay.h).
    A real store and relay; the peer is a ROUTER this test owns, so it decides
    what is answered and when. Time is the `now_ms` the test hands to the
    relay, so every case is exact: a peer that keeps answering is not sent
    duplicates of what is still in its queue; an entry the peer skipped (it
    answered one sent later) is resent at once; a silent peer gets its
    entries again after the silence. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "node_log.h"
#include "proto.h"
#include "relay.h"
#include "store.h"
#include "test_store.h"

#define RECV_TIMEOUT_MS 5000
#define CONNECT_TRIES 500

typedef struct {
    char dir[TEST_DIR_BYTES];
    store_t *store;
    relay_t *relay;
    zsock_t *peer; /* the peer's inbox */
    uint64_t now_ms;
} fixture_t;

static uint64_t put_entry(fixture_t *fx)
{
    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(fx->store, true, &txn), LEDGER_OK);
    uint64_t seq = 0;
    assert_int_equal(store_outbox_put(txn, "peer", "envelope", 8, fx->now_ms, &seq), LEDGER_OK);
    assert_int_equal(store_txn_commit(&txn), LEDGER_OK);
    return seq;
}

/* The tag of the next message at the peer, waiting for it with a deadline; 0 if none came. */
static uint64_t peer_receive(fixture_t *fx, zframe_t **identity_out)
{
    zpoller_t *poller = zpoller_new(fx->peer, NULL);
    void *ready = zpoller_wait(poller, RECV_TIMEOUT_MS);
    zpoller_destroy(&poller);
    if (!ready)
        return 0;
    zmsg_t *msg = zmsg_recv(fx->peer);
    assert_non_null(msg);
    assert_int_equal(zmsg_size(msg), 3);
    zframe_t *identity = zmsg_pop(msg);
    zframe_t *tag_frame = zmsg_pop(msg);
    uint64_t tag = 0;
    assert_int_equal(proto_tag_unpack(zframe_data(tag_frame), zframe_size(tag_frame), &tag),
                     LEDGER_OK);
    zframe_destroy(&tag_frame);
    zmsg_destroy(&msg);
    if (identity_out)
        *identity_out = identity;
    else
        zframe_destroy(&identity);
    return tag;
}

/* The peer acks `tag`; the relay reads the ack at fx->now_ms and settles it. */
static void peer_acks(fixture_t *fx, zframe_t *identity, uint64_t tag)
{
    proto_msg_t ack;
    memset(&ack, 0, sizeof ack);
    ack.v = PROTO_VERSION;
    snprintf(ack.origin, sizeof ack.origin, "peer-r");
    ack.seq = tag;
    ack.type = PROTO_ACK;
    ack.ts_ms = fx->now_ms;
    snprintf(ack.body.reply.of, sizeof ack.body.reply.of, "relay_test/%llu",
             (unsigned long long)tag);
    void *data = NULL;
    size_t size = 0;
    assert_int_equal(proto_encode(&ack, &data, &size, NULL, 0), LEDGER_OK);
    uint8_t tag_bytes[PROTO_TAG_SIZE];
    proto_tag_pack(tag, tag_bytes);
    zmsg_t *msg = zmsg_new();
    zmsg_append(msg, &identity);
    zmsg_addmem(msg, tag_bytes, sizeof tag_bytes);
    zmsg_addmem(msg, data, size);
    free(data);
    assert_int_equal(zmsg_send(&msg, fx->peer), 0);

    zpoller_t *poller = zpoller_new(NULL);
    zpoller_add(poller, relay_socket(fx->relay, 0));
    assert_non_null(zpoller_wait(poller, RECV_TIMEOUT_MS));
    zpoller_destroy(&poller);
    relay_answer_t answers[PROTO_ACK_TAGS_MAX];
    size_t n = relay_read_answers(fx->relay, 0, answers, PROTO_ACK_TAGS_MAX, fx->now_ms);
    assert_int_equal(n, 1);
    assert_int_equal(answers[0].tag, tag);
    assert_true(answers[0].ack);
    relay_settled(fx->relay, answers, n);
}

/* The relay's turn at time `t`: sends what is new, resends what it must. */
static void pump_at(fixture_t *fx, uint64_t t)
{
    fx->now_ms = t;
    relay_pump(fx->relay, t, 1000);
}

static uint64_t redelivered(fixture_t *fx)
{
    relay_stats_t st;
    relay_get_stats(fx->relay, &st);
    return st.redelivered;
}

/* `count` resends so far, the last of them `tag`, which the peer receives. */
static void expect_resent(fixture_t *fx, uint64_t count, uint64_t tag)
{
    assert_int_equal(redelivered(fx), count);
    assert_int_equal(peer_receive(fx, NULL), tag);
}

static void peer_acks_at(fixture_t *fx, uint64_t t, zframe_t *identity, uint64_t tag)
{
    fx->now_ms = t;
    peer_acks(fx, identity, tag);
}

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    test_store_open(fx->dir, "relay_test", &fx->store);
    fx->peer = zsock_new(ZMQ_ROUTER);
    zsock_set_linger(fx->peer, 0);
    int port = zsock_bind(fx->peer, "tcp://127.0.0.1:*");
    assert_true(port > 0);
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    relay_peer_t peer = {"peer", endpoint};
    assert_int_equal(relay_new(fx->store, &peer, 1, 100, 5000, &fx->relay), LEDGER_OK);
    fx->now_ms = clock_wall_ms();

    /* Until the connection is up (the DEALER refuses sends before): one entry,
       pumped at advancing times until it arrives, then acked, so every test
       starts with a peer that has answered. */
    uint64_t warm = put_entry(fx);
    zpoller_t *poller = zpoller_new(fx->peer, NULL);
    bool arrived = false;
    for (int i = 0; i < CONNECT_TRIES && !arrived; i++) {
        fx->now_ms += 20; /* past the not-connected retry (10 ms) */
        relay_pump(fx->relay, fx->now_ms, 1000);
        arrived = zpoller_wait(poller, 10) != NULL;
    }
    zpoller_destroy(&poller);
    assert_true(arrived);
    relay_stats_t st;
    relay_get_stats(fx->relay, &st);
    assert_int_equal(st.sent, 1);
    zframe_t *identity = NULL;
    assert_int_equal(peer_receive(fx, &identity), warm);
    fx->now_ms += 1;
    peer_acks(fx, identity, warm);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *fx = *state;
    relay_destroy(&fx->relay);
    zsock_destroy(&fx->peer);
    test_store_close(fx->dir, &fx->store);
    free(fx);
    return 0;
}

static void test_a_peer_that_keeps_answering_is_not_sent_duplicates(void **state)
{
    fixture_t *fx = *state;
    uint64_t t0 = fx->now_ms;
    uint64_t c = put_entry(fx);
    pump_at(fx, t0);
    uint64_t a = put_entry(fx);
    pump_at(fx, t0 + 10);
    zframe_t *identity = NULL;
    assert_int_equal(peer_receive(fx, &identity), c);
    assert_int_equal(peer_receive(fx, NULL), a);

    /* The busy peer answers c (sent before a) 400 ms later: a is still in its queue. */
    peer_acks_at(fx, t0 + 400, identity, c);
    pump_at(fx, t0 + 450); /* a's retry delay (75-125 ms) is long past */
    assert_int_equal(redelivered(fx), 0);
    pump_at(fx, t0 + 600); /* 590 ms since a went out, but only 200 since the peer answered */
    assert_int_equal(redelivered(fx), 0);

    /* Silent for 500 ms since its last answer: a goes out again. */
    pump_at(fx, t0 + 400 + 500);
    expect_resent(fx, 1, a);
}

static void test_an_entry_the_peer_skipped_is_resent_once_a_later_one_is_answered(void **state)
{
    fixture_t *fx = *state;
    uint64_t t0 = fx->now_ms;
    uint64_t a = put_entry(fx);
    pump_at(fx, t0);
    uint64_t b = put_entry(fx);
    pump_at(fx, t0 + 10);
    assert_int_equal(peer_receive(fx, NULL), a); /* received, then lost: never answered */
    zframe_t *identity = NULL;
    assert_int_equal(peer_receive(fx, &identity), b);

    peer_acks_at(fx, t0 + 20, identity, b);
    pump_at(fx, t0 + 150); /* a is overdue, and b, sent after it, was answered */
    expect_resent(fx, 1, a);
}

static void test_a_silent_peer_gets_its_entries_again_after_the_silence(void **state)
{
    fixture_t *fx = *state;
    uint64_t t0 = fx->now_ms;
    uint64_t a = put_entry(fx);
    pump_at(fx, t0);
    assert_int_equal(peer_receive(fx, NULL), a);
    pump_at(fx, t0 + 200); /* overdue, but silent for less than 500 ms */
    assert_int_equal(redelivered(fx), 0);
    pump_at(fx, t0 + 500);
    expect_resent(fx, 1, a);
}

static void test_entries_sent_in_the_same_millisecond_are_still_ordered(void **state)
{
    fixture_t *fx = *state;
    uint64_t t0 = fx->now_ms;
    uint64_t a = put_entry(fx);
    uint64_t b = put_entry(fx);
    pump_at(fx, t0);                             /* both go out at t0 */
    assert_int_equal(peer_receive(fx, NULL), a); /* lost */
    zframe_t *identity = NULL;
    assert_int_equal(peer_receive(fx, &identity), b);
    peer_acks_at(fx, t0 + 1, identity, b);
    pump_at(fx, t0 + 2); /* not even a's backoff: the answer to b proves a lost */
    expect_resent(fx, 1, a);
}

static void test_an_ack_of_a_first_copy_after_a_resend_proves_nothing_lost(void **state)
{
    fixture_t *fx = *state;
    uint64_t t0 = fx->now_ms;
    uint64_t a = put_entry(fx);
    pump_at(fx, t0);
    uint64_t e = put_entry(fx);
    pump_at(fx, t0 + 300);
    zframe_t *identity = NULL;
    assert_int_equal(peer_receive(fx, &identity), a);
    assert_int_equal(peer_receive(fx, NULL), e);
    pump_at(fx, t0 + 500); /* the peer is silent: a goes out again, after e */
    expect_resent(fx, 1, a);

    /* The peer answers a's first copy (sent before e): e is still in its queue. */
    peer_acks_at(fx, t0 + 510, identity, a);
    pump_at(fx, t0 + 520);
    assert_int_equal(redelivered(fx), 1);
}

int main(void)
{
    node_log_init("relay_test", NODE_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_a_peer_that_keeps_answering_is_not_sent_duplicates,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_an_entry_the_peer_skipped_is_resent_once_a_later_one_is_answered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_silent_peer_gets_its_entries_again_after_the_silence,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_entries_sent_in_the_same_millisecond_are_still_ordered,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_an_ack_of_a_first_copy_after_a_resend_proves_nothing_lost, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

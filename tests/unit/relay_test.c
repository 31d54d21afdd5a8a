/*  relay_test.c: when the relay resends an outbox entry (nodes/common/relay.h).
    A real store and relay; the peer is a ROUTER this test owns, so it decides
    what is answered and when. Time is the `now_ms` the test hands to the
    relay, so every case is exact: a peer that keeps answering is not sent
    duplicates of what is still in its queue; an entry the peer skipped (it
    answered one sent later) is resent at once; a silent peer gets its
    entries again after the silence.
    Which answers count (a second peer, "other", with its own ROUTER): an
    answer settles only an entry in flight to the peer on whose link it came;
    a foreign, unknown or late tag is ignored and counted, and the store
    shows the entry still there until the right peer answers it. An answer
    whose `of` is not the id sent under its first kept tag is ignored whole
    (id_mismatch); a nack with no id is bound by its tag and link.
    An outbox record that does not parse, met loading or resending, stops
    the relay and is reported by relay_corrupt (the node then faults). */
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
#include "store_raw.h"
#include "test_store.h"

#define RECV_TIMEOUT_MS 5000
#define CONNECT_TRIES 500
#define ENDPOINT_BYTES 64

typedef struct {
    char dir[TEST_DIR_BYTES];
    store_t *store;
    relay_t *relay;
    zsock_t *peer;                /* the peer's inbox */
    zsock_t *other;               /* the second peer's inbox (two-peer fixture only) */
    zframe_t *peer_id, *other_id; /* the relay's DEALERs as each ROUTER knows them */
    uint64_t now_ms;
    uint64_t last_tag; /* the outbox seq of the last entry put */
} fixture_t;

/*  Puts an entry for `peer`: an envelope with id "relay_test/<tag>", the
    outbox seq it gets (asserted), so that an answer names it by its tag. */
static uint64_t put_entry_to(fixture_t *fx, const char *peer)
{
    proto_msg_t m;
    memset(&m, 0, sizeof m);
    m.v = PROTO_VERSION;
    m.type = PROTO_FRAUD_APPROVED;
    snprintf(m.origin, sizeof m.origin, "relay_test");
    m.seq = fx->last_tag + 1;
    m.ts_ms = 1700000000000u;
    snprintf(m.corr, sizeof m.corr, "tr_1");
    snprintf(m.body.verdict.transfer, sizeof m.body.verdict.transfer, "tr_1");
    void *data = NULL;
    size_t size = 0;
    assert_int_equal(proto_encode(&m, &data, &size, NULL, 0), LEDGER_OK);
    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(fx->store, true, &txn), LEDGER_OK);
    uint64_t seq = 0;
    assert_int_equal(store_outbox_put(txn, peer, data, size, fx->now_ms, &seq), LEDGER_OK);
    assert_int_equal(store_txn_commit(&txn), LEDGER_OK);
    free(data);
    assert_int_equal(seq, fx->last_tag + 1);
    fx->last_tag = seq;
    return seq;
}

static uint64_t put_entry(fixture_t *fx)
{
    return put_entry_to(fx, "peer");
}

/*  Tags of a bundle (several entries in one message, relay_bundle.h) read
    but not yet returned by router_receive, with the connection they came on. */
static struct {
    uint64_t tags[PROTO_ACK_TAGS_MAX]; /* as proto_tags_unpack wants; a bundle has fewer */
    size_t count, next;
    zframe_t *identity;
} held;

/* The next held tag, and a copy of its connection's identity if wanted. */
static uint64_t take_held(zframe_t **identity_out)
{
    uint64_t tag = held.tags[held.next++];
    if (identity_out)
        *identity_out = zframe_dup(held.identity);
    if (held.next == held.count) {
        zframe_destroy(&held.identity);
        held.count = held.next = 0;
    }
    return tag;
}

/*  The tag of the next entry at `router`, waiting for a message with a
    deadline; 0 if none came. A bundle's entries come out one a call, in order. */
static uint64_t router_receive(zsock_t *router, zframe_t **identity_out)
{
    if (held.next < held.count)
        return take_held(identity_out);
    zpoller_t *poller = zpoller_new(router, NULL);
    void *ready = zpoller_wait(poller, RECV_TIMEOUT_MS);
    zpoller_destroy(&poller);
    if (!ready)
        return 0;
    zmsg_t *msg = zmsg_recv(router);
    assert_non_null(msg);
    assert_int_equal(zmsg_size(msg), 3);
    zframe_t *identity = zmsg_pop(msg);
    zframe_t *tag_frame = zmsg_pop(msg);
    zframe_t *payload = zmsg_pop(msg);
    size_t count = 0;
    assert_int_equal(
        proto_tags_unpack(zframe_data(tag_frame), zframe_size(tag_frame), held.tags, &count),
        LEDGER_OK);
    assert_true(count <= PROTO_BUNDLE_MAX);
    if (count > 1) /* a bundle: exactly `count` length-prefixed envelopes */
        assert_int_equal(proto_bundle_check(zframe_data(payload), zframe_size(payload), count),
                         LEDGER_OK);
    zframe_destroy(&payload);
    zframe_destroy(&tag_frame);
    zmsg_destroy(&msg);
    held.count = count;
    held.next = 0;
    held.identity = identity;
    return take_held(identity_out);
}

static uint64_t peer_receive(fixture_t *fx, zframe_t **identity_out)
{
    return router_receive(fx->peer, identity_out);
}

/*  `router` answers `tags` (one ack for all, or a nack for one) to the DEALER
    `identity` (not consumed), naming message `of`. */
static void router_answers_of(zsock_t *router, zframe_t *identity, const uint64_t *tags,
                              size_t count, bool ack, uint64_t now_ms, const char *of)
{
    proto_msg_t reply;
    memset(&reply, 0, sizeof reply);
    reply.v = PROTO_VERSION;
    snprintf(reply.origin, sizeof reply.origin, "peer-r");
    reply.seq = tags[0];
    reply.type = ack ? PROTO_ACK : PROTO_NACK;
    reply.ts_ms = now_ms;
    snprintf(reply.body.reply.of, sizeof reply.body.reply.of, "%s", of);
    if (!ack) {
        snprintf(reply.body.reply.code, sizeof reply.body.reply.code, "invalid");
        snprintf(reply.body.reply.reason, sizeof reply.body.reply.reason, "refused");
    }
    void *data = NULL;
    size_t size = 0;
    assert_int_equal(proto_encode(&reply, &data, &size, NULL, 0), LEDGER_OK);
    uint8_t tag_bytes[4 * PROTO_TAG_SIZE];
    assert_true(count >= 1 && count <= 4);
    for (size_t i = 0; i < count; i++)
        proto_tag_pack(tags[i], tag_bytes + i * PROTO_TAG_SIZE);
    zmsg_t *msg = zmsg_new();
    zframe_t *to = zframe_dup(identity);
    zmsg_append(msg, &to);
    zmsg_addmem(msg, tag_bytes, count * PROTO_TAG_SIZE);
    zmsg_addmem(msg, data, size);
    free(data);
    assert_int_equal(zmsg_send(&msg, router), 0);
}

/* As a peer's inbox answers: `of` is the id of the first tag's message (put_entry_to). */
static void router_answers(zsock_t *router, zframe_t *identity, const uint64_t *tags, size_t count,
                           bool ack, uint64_t now_ms)
{
    char of[PROTO_ID_MAX + 1];
    snprintf(of, sizeof of, "relay_test/%llu", (unsigned long long)tags[0]);
    router_answers_of(router, identity, tags, count, ack, now_ms, of);
}

/* Waits (with a deadline) for an answer on peer socket `index`, then reads what is there. */
static size_t relay_reads(fixture_t *fx, size_t index, relay_answer_t answers[PROTO_ACK_TAGS_MAX])
{
    zpoller_t *poller = zpoller_new(NULL);
    zpoller_add(poller, relay_socket(fx->relay, index));
    assert_non_null(zpoller_wait(poller, RECV_TIMEOUT_MS));
    zpoller_destroy(&poller);
    return relay_read_answers(fx->relay, index, answers, PROTO_ACK_TAGS_MAX, fx->now_ms);
}

/* The peer acks `tag`; the relay reads the ack at fx->now_ms and settles it. */
static void peer_acks(fixture_t *fx, zframe_t *identity, uint64_t tag)
{
    router_answers(fx->peer, identity, &tag, 1, true, fx->now_ms);
    zframe_destroy(&identity);
    relay_answer_t answers[PROTO_ACK_TAGS_MAX];
    size_t n = relay_reads(fx, 0, answers);
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

/* A ROUTER (a peer's inbox) on a loopback port of its own; its address in `endpoint`. */
static zsock_t *router_new(char endpoint[ENDPOINT_BYTES])
{
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    assert_non_null(router);
    zsock_set_linger(router, 0);
    int port = zsock_bind(router, "tcp://127.0.0.1:*");
    assert_true(port > 0);
    snprintf(endpoint, ENDPOINT_BYTES, "tcp://127.0.0.1:%d", port);
    return router;
}

/*  Until the link to peer `index` (`name`, inbox `router`) is up (the DEALER
    refuses sends before): one entry, pumped at advancing times until it
    arrives, then acked and settled, so every test starts with peers that
    have answered. *identity_out: the relay's DEALER as `router` knows it. */
static void warm_up(fixture_t *fx, zsock_t *router, const char *name, size_t index,
                    zframe_t **identity_out)
{
    uint64_t warm = put_entry_to(fx, name);
    zpoller_t *poller = zpoller_new(router, NULL);
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
    assert_int_equal(st.sent, index + 1);
    assert_int_equal(router_receive(router, identity_out), warm);
    fx->now_ms += 1;
    router_answers(router, *identity_out, &warm, 1, true, fx->now_ms);
    relay_answer_t answers[PROTO_ACK_TAGS_MAX];
    assert_int_equal(relay_reads(fx, index, answers), 1);
    assert_int_equal(answers[0].tag, warm);
    relay_settled(fx->relay, answers, 1);
}

static int fixture_open(void **state, size_t peer_count)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    test_store_open(fx->dir, "relay_test", &fx->store);
    char endpoints[2][ENDPOINT_BYTES];
    fx->peer = router_new(endpoints[0]);
    if (peer_count == 2)
        fx->other = router_new(endpoints[1]);
    relay_peer_t peers[2] = {{"peer", endpoints[0]}, {"other", endpoints[1]}};
    assert_int_equal(relay_new(fx->store, peers, peer_count, 100, 5000, &fx->relay), LEDGER_OK);
    fx->now_ms = clock_wall_ms();
    warm_up(fx, fx->peer, "peer", 0, &fx->peer_id);
    if (peer_count == 2)
        warm_up(fx, fx->other, "other", 1, &fx->other_id);
    *state = fx;
    return 0;
}

static int setup(void **state)
{
    return fixture_open(state, 1);
}

static int setup_two_peers(void **state)
{
    return fixture_open(state, 2);
}

static int teardown(void **state)
{
    fixture_t *fx = *state;
    zframe_destroy(&held.identity); /* a bundle's tags a test did not take */
    held.count = held.next = 0;
    relay_destroy(&fx->relay);
    zframe_destroy(&fx->peer_id);
    zframe_destroy(&fx->other_id);
    zsock_destroy(&fx->peer);
    zsock_destroy(&fx->other);
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

/* The tag frame size and payload of the next message at the peer (held tags: none). */
static size_t peer_receive_raw(fixture_t *fx, zframe_t **payload_out)
{
    assert_int_equal(held.count, 0);
    zpoller_t *poller = zpoller_new(fx->peer, NULL);
    void *ready = zpoller_wait(poller, RECV_TIMEOUT_MS);
    zpoller_destroy(&poller);
    assert_non_null(ready);
    zmsg_t *msg = zmsg_recv(fx->peer);
    assert_int_equal(zmsg_size(msg), 3);
    zframe_t *identity = zmsg_pop(msg);
    zframe_t *tags = zmsg_pop(msg);
    *payload_out = zmsg_pop(msg);
    size_t tags_size = zframe_size(tags);
    zframe_destroy(&identity);
    zframe_destroy(&tags);
    zmsg_destroy(&msg);
    return tags_size;
}

static void test_first_sends_to_one_peer_go_out_as_one_bundle(void **state)
{
    fixture_t *fx = *state;
    for (int i = 0; i < 5; i++)
        put_entry(fx);
    pump_at(fx, fx->now_ms);
    zframe_t *payload = NULL;
    assert_int_equal(peer_receive_raw(fx, &payload), 5 * PROTO_TAG_SIZE);
    assert_int_equal(proto_bundle_check(zframe_data(payload), zframe_size(payload), 5), LEDGER_OK);
    size_t offset = 0;
    const void *env = NULL;
    size_t size = 0;
    assert_int_equal(
        proto_bundle_next(zframe_data(payload), zframe_size(payload), &offset, &env, &size),
        LEDGER_OK);
    proto_msg_t m;
    assert_int_equal(proto_decode(env, size, &m, NULL, 0), LEDGER_OK); /* a whole envelope */
    proto_msg_release(&m);
    zframe_destroy(&payload);
    relay_stats_t st;
    relay_get_stats(fx->relay, &st);
    assert_int_equal(st.sent, 1 + 5); /* the fixture's warm-up entry, then these */
    assert_int_equal(st.bundles, 1);
    assert_int_equal(st.inflight, 5);
}

static void test_bundle_max_one_sends_the_framing_of_old_builds(void **state)
{
    fixture_t *fx = *state;
    relay_set_bundle_max(fx->relay, 1);
    for (int i = 0; i < 3; i++)
        put_entry(fx);
    pump_at(fx, fx->now_ms);
    for (int i = 0; i < 3; i++) {
        zframe_t *payload = NULL;
        assert_int_equal(peer_receive_raw(fx, &payload), PROTO_TAG_SIZE);
        proto_msg_t m; /* the bare envelope, no length before it */
        assert_int_equal(proto_decode(zframe_data(payload), zframe_size(payload), &m, NULL, 0),
                         LEDGER_OK);
        proto_msg_release(&m);
        zframe_destroy(&payload);
    }
    relay_stats_t st;
    relay_get_stats(fx->relay, &st);
    assert_int_equal(st.sent, 1 + 3); /* the fixture's warm-up entry, then these */
    assert_int_equal(st.bundles, 0);
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

/* --- which answers count ------------------------------------------------ */

/* What node.c's settle_answers does with the answers the relay returned, then relay_settled. */
static void settle_in_store(fixture_t *fx, const relay_answer_t *answers, size_t count)
{
    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(fx->store, true, &txn), LEDGER_OK);
    for (size_t i = 0; i < count; i++) {
        ledger_err_t err = answers[i].ack
                               ? store_outbox_ack(txn, answers[i].tag)
                               : store_outbox_to_dead(txn, answers[i].tag, answers[i].code,
                                                      answers[i].reason, fx->now_ms);
        assert_true(err == LEDGER_OK || err == LEDGER_E_NOT_FOUND);
    }
    assert_int_equal(store_txn_commit(&txn), LEDGER_OK);
    relay_settled(fx->relay, answers, count);
}

/* Peer socket `index` reads what came, and the caller settles it: how many answers counted. */
static size_t read_and_settle(fixture_t *fx, size_t index)
{
    relay_answer_t answers[PROTO_ACK_TAGS_MAX];
    size_t n = relay_reads(fx, index, answers);
    settle_in_store(fx, answers, n);
    return n;
}

static bool outbox_holds(fixture_t *fx, uint64_t seq)
{
    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(fx->store, false, &txn), LEDGER_OK);
    store_outbox_entry_t entry;
    ledger_err_t err = store_outbox_get(txn, seq, &entry);
    store_txn_abort(&txn);
    assert_true(err == LEDGER_OK || err == LEDGER_E_NOT_FOUND);
    return err == LEDGER_OK;
}

static uint64_t dead_letters(fixture_t *fx)
{
    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(fx->store, false, &txn), LEDGER_OK);
    uint64_t count = 0;
    assert_int_equal(store_count(txn, STORE_DB_DEAD_LETTERS, &count), LEDGER_OK);
    store_txn_abort(&txn);
    return count;
}

static uint64_t ignored(fixture_t *fx, relay_ignored_t reason)
{
    relay_stats_t st;
    relay_get_stats(fx->relay, &st);
    return st.answers_ignored[reason];
}

static void test_an_ack_from_another_peer_leaves_the_entry_in_the_outbox(void **state)
{
    fixture_t *fx = *state;
    uint64_t e = put_entry_to(fx, "peer");
    pump_at(fx, fx->now_ms + 1);
    assert_int_equal(peer_receive(fx, NULL), e);

    router_answers(fx->other, fx->other_id, &e, 1, true, fx->now_ms);
    assert_int_equal(read_and_settle(fx, 1), 0);
    assert_int_equal(ignored(fx, RELAY_IGNORED_OTHER_PEER), 1);
    assert_true(outbox_holds(fx, e));

    /* Still in flight: the right peer's ack settles it. */
    router_answers(fx->peer, fx->peer_id, &e, 1, true, fx->now_ms);
    assert_int_equal(read_and_settle(fx, 0), 1);
    assert_false(outbox_holds(fx, e));

    /* A late second ack of it (a resent copy) settles nothing more. */
    router_answers(fx->peer, fx->peer_id, &e, 1, true, fx->now_ms);
    assert_int_equal(read_and_settle(fx, 0), 0);
    assert_int_equal(ignored(fx, RELAY_IGNORED_UNKNOWN_TAG), 1);
}

static void test_a_nack_from_another_peer_dead_letters_nothing(void **state)
{
    fixture_t *fx = *state;
    uint64_t e = put_entry_to(fx, "peer");
    pump_at(fx, fx->now_ms + 1);
    assert_int_equal(peer_receive(fx, NULL), e);

    router_answers(fx->other, fx->other_id, &e, 1, false, fx->now_ms);
    assert_int_equal(read_and_settle(fx, 1), 0);
    assert_int_equal(ignored(fx, RELAY_IGNORED_OTHER_PEER), 1);
    assert_true(outbox_holds(fx, e));
    assert_int_equal(dead_letters(fx), 0);
}

static void test_an_ack_for_a_tag_not_sent_is_ignored_until_it_is_sent(void **state)
{
    fixture_t *fx = *state;
    uint64_t never = 1000000;
    router_answers(fx->peer, fx->peer_id, &never, 1, true, fx->now_ms);
    assert_int_equal(read_and_settle(fx, 0), 0);

    /* In the outbox but not loaded yet (as just after a restart): ignored, then sent. */
    uint64_t e = put_entry_to(fx, "peer");
    router_answers(fx->peer, fx->peer_id, &e, 1, true, fx->now_ms);
    assert_int_equal(read_and_settle(fx, 0), 0);
    assert_int_equal(ignored(fx, RELAY_IGNORED_UNKNOWN_TAG), 2);
    assert_int_equal(ignored(fx, RELAY_IGNORED_OTHER_PEER), 0);
    assert_true(outbox_holds(fx, e));

    pump_at(fx, fx->now_ms + 1);
    assert_int_equal(peer_receive(fx, NULL), e);
    router_answers(fx->peer, fx->peer_id, &e, 1, true, fx->now_ms);
    assert_int_equal(read_and_settle(fx, 0), 1);
    assert_false(outbox_holds(fx, e));
}

static void test_a_grouped_ack_settles_only_its_own_peers_tags(void **state)
{
    fixture_t *fx = *state;
    uint64_t mine = put_entry_to(fx, "peer");
    uint64_t theirs = put_entry_to(fx, "other");
    pump_at(fx, fx->now_ms + 1);
    assert_int_equal(peer_receive(fx, NULL), mine);
    assert_int_equal(router_receive(fx->other, NULL), theirs);

    /* Led by the other peer's tag and naming its message: not to be trusted at all. */
    uint64_t both[2] = {theirs, mine};
    router_answers(fx->peer, fx->peer_id, both, 2, true, fx->now_ms);
    assert_int_equal(read_and_settle(fx, 0), 0);
    assert_int_equal(ignored(fx, RELAY_IGNORED_OTHER_PEER), 1);
    assert_int_equal(ignored(fx, RELAY_IGNORED_ID_MISMATCH), 1);
    assert_true(outbox_holds(fx, mine));

    /* Naming its own first message, only its own tag counts. */
    uint64_t mine_first[2] = {mine, theirs};
    router_answers(fx->peer, fx->peer_id, mine_first, 2, true, fx->now_ms);
    relay_answer_t answers[PROTO_ACK_TAGS_MAX];
    size_t n = relay_reads(fx, 0, answers);
    assert_int_equal(n, 1);
    assert_int_equal(answers[0].tag, mine);
    settle_in_store(fx, answers, n);
    assert_false(outbox_holds(fx, mine));
    assert_true(outbox_holds(fx, theirs));
    assert_int_equal(ignored(fx, RELAY_IGNORED_OTHER_PEER), 2);

    router_answers(fx->other, fx->other_id, &theirs, 1, true, fx->now_ms);
    assert_int_equal(read_and_settle(fx, 1), 1);
    assert_false(outbox_holds(fx, theirs));
    relay_stats_t st;
    relay_get_stats(fx->relay, &st);
    assert_int_equal(st.inflight, 0);
}

/* --- answers bound by id ------------------------------------------------- */

static void test_an_ack_naming_another_message_is_ignored(void **state)
{
    fixture_t *fx = *state;
    uint64_t e = put_entry(fx);
    pump_at(fx, fx->now_ms + 1);
    assert_int_equal(peer_receive(fx, NULL), e);
    char of[PROTO_ID_MAX + 1];
    snprintf(of, sizeof of, "relay_test/%llu", (unsigned long long)e + 1); /* next id */
    router_answers_of(fx->peer, fx->peer_id, &e, 1, true, fx->now_ms, of);
    assert_int_equal(read_and_settle(fx, 0), 0);
    snprintf(of, sizeof of, "fraud/%llu", (unsigned long long)e); /* another origin */
    router_answers_of(fx->peer, fx->peer_id, &e, 1, true, fx->now_ms, of);
    assert_int_equal(read_and_settle(fx, 0), 0);
    assert_int_equal(ignored(fx, RELAY_IGNORED_ID_MISMATCH), 2);
    assert_true(outbox_holds(fx, e));

    router_answers(fx->peer, fx->peer_id, &e, 1, true, fx->now_ms);
    assert_int_equal(read_and_settle(fx, 0), 1);
    assert_false(outbox_holds(fx, e));
}

static void test_a_grouped_ack_is_bound_by_its_first_tag(void **state)
{
    fixture_t *fx = *state;
    uint64_t a = put_entry(fx), b = put_entry(fx);
    pump_at(fx, fx->now_ms + 1);
    assert_int_equal(peer_receive(fx, NULL), a);
    assert_int_equal(peer_receive(fx, NULL), b);
    uint64_t both[2] = {a, b};
    char of_b[PROTO_ID_MAX + 1];
    snprintf(of_b, sizeof of_b, "relay_test/%llu", (unsigned long long)b);
    /* Names b, but its first tag is a: ignored whole, both tags counted. */
    router_answers_of(fx->peer, fx->peer_id, both, 2, true, fx->now_ms, of_b);
    assert_int_equal(read_and_settle(fx, 0), 0);
    assert_int_equal(ignored(fx, RELAY_IGNORED_ID_MISMATCH), 2);
    assert_true(outbox_holds(fx, a));
    assert_true(outbox_holds(fx, b));

    router_answers(fx->peer, fx->peer_id, both, 2, true, fx->now_ms); /* names a */
    assert_int_equal(read_and_settle(fx, 0), 2);
    assert_false(outbox_holds(fx, a));
    assert_false(outbox_holds(fx, b));
}

static void test_a_nack_is_bound_by_its_id_or_by_its_tag_when_the_id_was_unreadable(void **state)
{
    fixture_t *fx = *state;
    uint64_t e = put_entry(fx);
    pump_at(fx, fx->now_ms + 1);
    assert_int_equal(peer_receive(fx, NULL), e);
    router_answers_of(fx->peer, fx->peer_id, &e, 1, false, fx->now_ms, "relay_test/999");
    assert_int_equal(read_and_settle(fx, 0), 0);
    assert_int_equal(ignored(fx, RELAY_IGNORED_ID_MISMATCH), 1);
    assert_true(outbox_holds(fx, e));
    assert_int_equal(dead_letters(fx), 0);

    /* A peer that could not read the message names no id: its tag and link bind it. */
    router_answers_of(fx->peer, fx->peer_id, &e, 1, false, fx->now_ms, "");
    assert_int_equal(read_and_settle(fx, 0), 1);
    assert_false(outbox_holds(fx, e));
    assert_int_equal(dead_letters(fx), 1);
}

static void test_an_entry_for_an_unknown_peer_is_still_dead_lettered(void **state)
{
    fixture_t *fx = *state;
    uint64_t e = put_entry_to(fx, "nobody");
    pump_at(fx, fx->now_ms + 1);
    relay_answer_t answers[2];
    size_t n = relay_take_local_nacks(fx->relay, answers, 2);
    assert_int_equal(n, 1);
    assert_int_equal(answers[0].tag, e);
    assert_false(answers[0].ack);
    assert_string_equal(answers[0].code, "unknown_peer");
    settle_in_store(fx, answers, n);
    assert_false(outbox_holds(fx, e));
    assert_int_equal(dead_letters(fx), 1);
}

/* Overwrites outbox entry `seq` with bytes that do not parse, through the store's own handles. */
static void corrupt_entry(fixture_t *fx, uint64_t seq)
{
    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(fx->store, true, &txn), LEDGER_OK);
    uint8_t key[8];
    store_be64_put(key, seq);
    uint8_t garbage[] = {0xEE, 0x01};
    MDB_val k = {sizeof key, key}, v = {sizeof garbage, garbage};
    assert_int_equal(mdb_put(store_raw_txn(txn), store_raw_dbi(txn, STORE_DB_OUTBOX), &k, &v, 0),
                     0);
    assert_int_equal(store_txn_commit(&txn), LEDGER_OK);
}

static uint64_t sent(fixture_t *fx)
{
    relay_stats_t st;
    relay_get_stats(fx->relay, &st);
    return st.sent;
}

static void test_a_corrupt_new_entry_stops_the_relay_and_says_so(void **state)
{
    fixture_t *fx = *state;
    char where[256];
    assert_int_equal(relay_corrupt(fx->relay, where, sizeof where), LEDGER_OK);
    assert_string_equal(where, "");
    uint64_t before = sent(fx);
    uint64_t bad = put_entry(fx);
    corrupt_entry(fx, bad);
    pump_at(fx, fx->now_ms + 1);
    assert_int_equal(relay_corrupt(fx->relay, where, sizeof where), LEDGER_E_CORRUPT);
    assert_non_null(strstr(where, "loading the entries after seq"));
    /* Stopped: a good entry after it is not sent either, not now and not later. */
    put_entry(fx);
    pump_at(fx, fx->now_ms + 1);
    pump_at(fx, fx->now_ms + 10000);
    assert_int_equal(sent(fx), before);
    assert_int_equal(relay_corrupt(fx->relay, where, sizeof where), LEDGER_E_CORRUPT);
}

static void test_an_entry_that_turns_corrupt_before_its_resend_stops_the_relay(void **state)
{
    fixture_t *fx = *state;
    uint64_t t0 = fx->now_ms;
    uint64_t a = put_entry(fx);
    pump_at(fx, t0);
    assert_int_equal(peer_receive(fx, NULL), a);
    corrupt_entry(fx, a);
    pump_at(fx, t0 + 500); /* the silent peer's entry is due again */
    assert_int_equal(redelivered(fx), 0);
    char where[256];
    assert_int_equal(relay_corrupt(fx->relay, where, sizeof where), LEDGER_E_CORRUPT);
    char expected[64];
    snprintf(expected, sizeof expected, "for a resend the entry of seq %llu",
             (unsigned long long)a);
    assert_non_null(strstr(where, expected));
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
        cmocka_unit_test_setup_teardown(test_first_sends_to_one_peer_go_out_as_one_bundle, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bundle_max_one_sends_the_framing_of_old_builds, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_entries_sent_in_the_same_millisecond_are_still_ordered,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_an_ack_of_a_first_copy_after_a_resend_proves_nothing_lost, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_an_ack_from_another_peer_leaves_the_entry_in_the_outbox, setup_two_peers,
            teardown),
        cmocka_unit_test_setup_teardown(test_a_nack_from_another_peer_dead_letters_nothing,
                                        setup_two_peers, teardown),
        cmocka_unit_test_setup_teardown(test_an_ack_for_a_tag_not_sent_is_ignored_until_it_is_sent,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_grouped_ack_settles_only_its_own_peers_tags,
                                        setup_two_peers, teardown),
        cmocka_unit_test_setup_teardown(test_an_entry_for_an_unknown_peer_is_still_dead_lettered,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_an_ack_naming_another_message_is_ignored, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_grouped_ack_is_bound_by_its_first_tag, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_a_nack_is_bound_by_its_id_or_by_its_tag_when_the_id_was_unreadable, setup,
            teardown),
        cmocka_unit_test_setup_teardown(test_a_corrupt_new_entry_stops_the_relay_and_says_so, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_an_entry_that_turns_corrupt_before_its_resend_stops_the_relay, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* relay.c: outbox delivery over DEALERs, with acks and redelivery with backoff. */
#include "relay.h"

#include <assert.h>
#include <czmq.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node_log.h"
#include "proto.h"
#include "clock.h"
#include "curve_sock.h"
#include "grow.h"
#include "relay_bundle.h"

/* Up to this many load batches per pump, so one pump never starves the inbox. */
#define RELAY_LOAD_ROUNDS 8
/*  First retry of an entry that could not be sent at all (the peer's socket
    is not connected yet, e.g. just after start): much sooner than the ack
    timeout, which must leave the peer time to commit a batch. */
#define RELAY_CONNECT_RETRY_MS 10
/*  A connection delivers in order, so while a peer keeps answering, an entry
    it has not answered yet is still in its queue, not lost: resending it
    only adds a duplicate to that queue (under a backlog that was half of all
    messages: bench/README.md). An entry that went out is therefore resent
    only when
      - the peer has answered an entry first sent after this entry's last
        send: this copy was lost (the peer restarted, the connection was made
        again, the peer dropped a message it could not read or its batch
        failed). Checked as soon as such an answer is settled. Sends are
        numbered per peer, so entries sent in the same millisecond are
        ordered, and an ack of an entry's first copy that comes after a
        resend is not taken for a gap; or
      - the peer has said nothing since this entry's last send (or since its
        own last answer, if later) for the entry's backoff, and at least
        RELAY_SILENCE_MIN_MS: a busy peer's commit of a large batch can take
        a few hundred ms; silence is for a peer that is gone.
    Times are CLOCK_MONOTONIC ms (the caller's now_ms): the relay's state is
    in memory only, and a step of the wall clock must not stall it. */
#define RELAY_SILENCE_MIN_MS 500u
#define RELAY_INFLIGHT_FIRST_CAP 1024 /* in-flight entries allocated at first, then doubled */
/* Settled entries that may pile up before they are dropped from the in-flight array. */
#define RELAY_COMPACT_AFTER_DONE 1024
/* A resend is logged at this attempt, then every RELAY_LOG_RESEND_EVERY attempts. */
#define RELAY_LOG_RESEND_FIRST 3
#define RELAY_LOG_RESEND_EVERY 20
#define RELAY_WHY_BYTES 128           /* reason text of an answer that does not decode */
#define RELAY_CORRUPT_WHERE_BYTES 200 /* what the pump was reading when it met corrupt data */
/* An ignored answer is logged at most this often per reason (the counters count them all). */
#define RELAY_IGNORED_LOG_EVERY_MS 1000u
/*  Origins of the messages in flight (in practice one: the node's own name;
    dead letters replayed keep theirs). An entry whose origin does not fit,
    or whose id cannot be read, has RELAY_ORIGIN_NONE: only a nack with an
    empty `of` can settle it (a peer that could not read it sends that). */
#define RELAY_ORIGINS_MAX 4
#define RELAY_ORIGIN_NONE UINT8_MAX

typedef struct {
    uint64_t seq;
    uint64_t deadline_ms;   /* look at it again when now >= deadline */
    uint32_t attempts;      /* tries so far, sent or refused by a peer that is away */
    uint64_t sent_ms;       /* last time it went out */
    uint64_t first_send_no; /* the peer's send number of its first copy */
    uint64_t last_send_no;  /* ... and of its last copy */
    uint64_t msg_seq;       /* the seq of the message's id "<origin>/<seq>" (proto_frame_id) */
    uint8_t origin_no;      /* its origin: relay_t.origins[origin_no], or RELAY_ORIGIN_NONE */
    uint8_t peer;
    bool sent;          /* went out at least once: later retries wait for an answer */
    bool resend_failed; /* the last resend was refused by the socket (peer away) */
    bool done;
} inflight_t;

struct relay_t {
    store_t *store;
    size_t peer_count;
    char peer_names[RELAY_PEERS_MAX][STORE_PEER_MAX + 1];
    zsock_t *peers[RELAY_PEERS_MAX];
    uint32_t retry_min_ms, retry_max_ms;
    uint64_t cursor_seq;  /* highest outbox seq loaded */
    inflight_t *inflight; /* sorted by seq */
    size_t inflight_count, inflight_cap, inflight_done;
    uint64_t next_deadline_ms;
    uint64_t send_no[RELAY_PEERS_MAX];        /* sends to the peer so far (numbers the sends) */
    uint64_t last_answer_ms[RELAY_PEERS_MAX]; /* when the peer last answered anything */
    uint64_t newest_answered_first_send_no[RELAY_PEERS_MAX]; /* of the entries it answered */
    relay_stats_t stats;
    store_outbox_entry_t load[RELAY_LOAD_BATCH];
    relay_answer_t local_nacks[RELAY_LOCAL_NACKS_MAX]; /* entries for peers not configured */
    size_t local_nack_count;
    uint64_t answer_tags[PROTO_ACK_TAGS_MAX];            /* the tags of the answer being read */
    uint64_t ignored_log_next_ms[RELAY_IGNORED__COUNT];  /* next time a line may be logged */
    uint64_t ignored_unlogged[RELAY_IGNORED__COUNT];     /* ignored since the last line */
    char origins[RELAY_ORIGINS_MAX][PROTO_NODE_MAX + 1]; /* of the messages in flight */
    size_t origin_count;
    size_t bundle_max;                       /* entries per message (relay_set_bundle_max) */
    relay_bundle_t bundles[RELAY_PEERS_MAX]; /* first sends gathered per peer (load_new) */
    bool corrupt; /* a pump met an outbox record that does not parse: sticky (relay_corrupt) */
    char corrupt_where[RELAY_CORRUPT_WHERE_BYTES];
};

const char *relay_ignored_name(relay_ignored_t reason)
{
    static const char *const names[RELAY_IGNORED__COUNT] = {"unknown_tag", "other_peer",
                                                            "id_mismatch"};
    return (unsigned)reason < RELAY_IGNORED__COUNT ? names[reason] : "?";
}

/* Makes `sock` a CURVE client of `peer` with curve's cert and key `index`; nothing if NULL. */
static ledger_err_t relay_peer_curve(const relay_curve_t *curve, size_t index,
                                     const relay_peer_t *peer, zsock_t *sock)
{
    if (!curve)
        return LEDGER_OK;
    char why[RELAY_WHY_BYTES] = "";
    ledger_err_t err =
        curve_sock_client(sock, curve->cert, curve->server_keys[index], why, sizeof why);
    if (err)
        node_log_write(NODE_LOG_ERROR, "event=relay_curve_failed peer=%s reason=\"%s\"", peer->name,
                       why);
    return err;
}

ledger_err_t relay_new(store_t *store, const relay_peer_t *peers, size_t peer_count,
                       uint32_t retry_min_ms, uint32_t retry_max_ms, relay_t **relay_out)
{
    return relay_new_curve(store, peers, peer_count, retry_min_ms, retry_max_ms, NULL, relay_out);
}

ledger_err_t relay_new_curve(store_t *store, const relay_peer_t *peers, size_t peer_count,
                             uint32_t retry_min_ms, uint32_t retry_max_ms,
                             const relay_curve_t *curve, relay_t **relay_out)
{
    assert(store && relay_out && retry_min_ms > 0 && retry_max_ms >= retry_min_ms);
    assert(peer_count <= RELAY_PEERS_MAX && (peers || peer_count == 0));
    assert(!curve || curve->cert);
    relay_t *self = calloc(1, sizeof *self);
    if (!self)
        return LEDGER_E_NOMEM;
    self->store = store;
    self->retry_min_ms = retry_min_ms;
    self->retry_max_ms = retry_max_ms;
    self->next_deadline_ms = UINT64_MAX;
    self->bundle_max = PROTO_BUNDLE_MAX;
    for (size_t i = 0; i < peer_count; i++) {
        snprintf(self->peer_names[i], sizeof self->peer_names[i], "%s", peers[i].name);
        zsock_t *sock = zsock_new(ZMQ_DEALER);
        if (!sock) {
            relay_destroy(&self);
            return LEDGER_E_IO;
        }
        self->peers[i] = sock;
        self->peer_count = i + 1;
        zsock_set_linger(sock, 0);
        zsock_set_immediate(sock, 1); /* no queueing to a peer that is not connected */
        zsock_set_sndhwm(sock, RELAY_HWM_MESSAGES);
        zsock_set_rcvhwm(sock, RELAY_HWM_MESSAGES);
        zsock_set_maxmsgsize(sock, RELAY_MSG_MAX_BYTES);
        ledger_err_t err = relay_peer_curve(curve, i, &peers[i], sock);
        if (err) {
            relay_destroy(&self);
            return err;
        }
        if (zsock_connect(sock, "%s", peers[i].endpoint) != 0) {
            node_log_write(NODE_LOG_ERROR, "event=relay_connect_failed peer=%s endpoint=%s",
                           peers[i].name, peers[i].endpoint);
            relay_destroy(&self);
            return LEDGER_E_INVALID;
        }
    }
    *relay_out = self;
    return LEDGER_OK;
}

void relay_destroy(relay_t **relay_p)
{
    assert(relay_p);
    if (!*relay_p)
        return;
    relay_t *self = *relay_p;
    for (size_t i = 0; i < self->peer_count; i++)
        zsock_destroy(&self->peers[i]);
    free(self->inflight);
    free(self);
    *relay_p = NULL;
}

void relay_set_bundle_max(relay_t *relay, size_t bundle_max)
{
    assert(relay && bundle_max >= 1 && bundle_max <= PROTO_BUNDLE_MAX);
    relay->bundle_max = bundle_max;
}

void *relay_socket(relay_t *relay, size_t index)
{
    assert(relay && index < relay->peer_count);
    return zsock_resolve(relay->peers[index]);
}

size_t relay_peer_count(const relay_t *relay)
{
    assert(relay);
    return relay->peer_count;
}

/* `first_ms` doubled per earlier try, at most retry_max_ms; no jitter. */
static uint64_t doubled_ms(const relay_t *self, uint64_t first_ms, uint32_t attempts)
{
    uint64_t delay = first_ms;
    for (uint32_t i = 1; i < attempts && delay < self->retry_max_ms; i++)
        delay *= 2;
    return delay < self->retry_max_ms ? delay : self->retry_max_ms;
}

static uint64_t backoff_ms(const relay_t *self, uint32_t attempts, bool sent)
{
    uint64_t first = sent || self->retry_min_ms < RELAY_CONNECT_RETRY_MS ? self->retry_min_ms
                                                                         : RELAY_CONNECT_RETRY_MS;
    uint64_t delay = doubled_ms(self, first, attempts);
    /* +-25% jitter so that many entries do not resend in lockstep. */
    uint64_t spread = delay / 2;
    return delay - delay / 4 + (spread ? (uint64_t)rand() % (spread + 1) : 0);
}

/*  Sends an entry; on success *send_no_out gets its number among the sends
    to this peer. */
static bool send_entry(relay_t *self, size_t peer, uint64_t seq, const void *msg, size_t size,
                       uint64_t *send_no_out)
{
    uint8_t tag[PROTO_TAG_SIZE];
    proto_tag_pack(seq, tag);
    if (!relay_bundle_send_frames(zsock_resolve(self->peers[peer]), tag, sizeof tag, msg, size))
        return false;
    *send_no_out = ++self->send_no[peer];
    return true;
}

static int find_peer(const relay_t *self, const char *name)
{
    for (size_t i = 0; i < self->peer_count; i++)
        if (strcmp(self->peer_names[i], name) == 0)
            return (int)i;
    return -1;
}

static ledger_err_t inflight_push(relay_t *self, inflight_t entry)
{
    inflight_t *inflight = grow_for_one(self->inflight, self->inflight_count, &self->inflight_cap,
                                        sizeof *inflight, RELAY_INFLIGHT_FIRST_CAP);
    if (!inflight)
        return LEDGER_E_NOMEM;
    self->inflight = inflight;
    self->inflight[self->inflight_count++] = entry;
    if (entry.deadline_ms < self->next_deadline_ms)
        self->next_deadline_ms = entry.deadline_ms;
    return LEDGER_OK;
}

static inflight_t *inflight_find(relay_t *self, uint64_t seq)
{
    size_t lo = 0, hi = self->inflight_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (self->inflight[mid].seq < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < self->inflight_count && self->inflight[lo].seq == seq ? &self->inflight[lo] : NULL;
}

static void inflight_compact(relay_t *self)
{
    if (self->inflight_done < RELAY_COMPACT_AFTER_DONE ||
        self->inflight_done * 2 < self->inflight_count)
        return;
    size_t kept = 0;
    for (size_t i = 0; i < self->inflight_count; i++)
        if (!self->inflight[i].done)
            self->inflight[kept++] = self->inflight[i];
    self->inflight_count = kept;
    self->inflight_done = 0;
}

/*  Reads one whole message from `sock` without blocking, keeping its first
    two frames in `frames` (*got_out: how many frames it had, 3 for "more
    than two"; extras are discarded). Returns false when the socket ran dry:
    with *got_out == 0 nothing was read. */
static bool read_message(void *sock, zmq_msg_t frames[2], size_t *got_out)
{
    size_t got = 0;
    bool more = true;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&part);
            *got_out = got;
            return false;
        }
        more = zmq_msg_more(&part);
        if (got < 2)
            frames[got++] = part;
        else {
            zmq_msg_close(&part);
            got = 3;
        }
    }
    *got_out = got;
    return true;
}

/*  Whether an answer from peer `index` may settle `tag`: RELAY_IGNORED__COUNT
    if so, else why not. Only an entry sent to that peer and not yet settled
    counts, so nobody settles what was not sent to them (relay.h). */
static relay_ignored_t judge_tag(relay_t *self, size_t index, uint64_t tag)
{
    const inflight_t *e = inflight_find(self, tag);
    if (!e || e->done)
        return RELAY_IGNORED_UNKNOWN_TAG;
    if (e->peer != index)
        return RELAY_IGNORED_OTHER_PEER;
    if (!e->sent)
        return RELAY_IGNORED_UNKNOWN_TAG;
    return RELAY_IGNORED__COUNT;
}

/* Counts an ignored tag and logs it, at most once a second per reason. */
static void ignore_tag(relay_t *self, size_t index, uint64_t tag, relay_ignored_t reason,
                       uint64_t now_ms)
{
    self->stats.answers_ignored[reason]++;
    if (now_ms < self->ignored_log_next_ms[reason]) {
        self->ignored_unlogged[reason]++;
        return;
    }
    self->ignored_log_next_ms[reason] = now_ms + RELAY_IGNORED_LOG_EVERY_MS;
    /* unknown_tag is mostly a late ack of a resent copy: benign; the others never are. */
    node_log_write(reason != RELAY_IGNORED_UNKNOWN_TAG ? NODE_LOG_WARN : NODE_LOG_INFO,
                   "event=answer_ignored peer=%s tag=%llu reason=%s unlogged=%llu",
                   self->peer_names[index], (unsigned long long)tag, relay_ignored_name(reason),
                   (unsigned long long)self->ignored_unlogged[reason]);
    self->ignored_unlogged[reason] = 0;
}

/*  Whether `reply` answers the message sent under entry `first`: its `of` is
    that message's id. A grouped ack names its first message, a nack its
    only one; a nack with an empty `of` (the peer could not read the
    message's id) is bound by its tag and peer alone. */
static bool answer_bound(const relay_t *self, const inflight_t *first, const proto_msg_t *reply)
{
    const char *of = reply->body.reply.of;
    if (reply->type == PROTO_NACK && of[0] == '\0')
        return true;
    if (!first || first->origin_no == RELAY_ORIGIN_NONE)
        return false;
    char sent[PROTO_ID_MAX + 1];
    snprintf(sent, sizeof sent, "%s/%llu", self->origins[first->origin_no],
             (unsigned long long)first->msg_seq);
    return strcmp(of, sent) == 0;
}

/*  One relay_answer_t per tag of a well-formed answer `reply` of peer
    `index` that may settle its entry; the other tags are ignored. If the
    answer's `of` is not the id sent under its first kept tag, the whole
    answer is ignored (id_mismatch): an answer is trusted as a whole or not
    at all. */
static size_t keep_answer_tags(relay_t *self, size_t index, const proto_msg_t *reply, size_t tags,
                               relay_answer_t *answers, uint64_t now_ms)
{
    size_t n = 0;
    const inflight_t *first = NULL;
    for (size_t t = 0; t < tags; t++) {
        relay_ignored_t why = judge_tag(self, index, self->answer_tags[t]);
        if (why != RELAY_IGNORED__COUNT) {
            ignore_tag(self, index, self->answer_tags[t], why, now_ms);
            continue;
        }
        if (n == 0)
            first = inflight_find(self, self->answer_tags[t]);
        relay_answer_t *a = &answers[n++];
        a->tag = self->answer_tags[t];
        a->ack = reply->type == PROTO_ACK;
        a->code[0] = a->reason[0] = '\0'; /* an ack has none: no copy per tag */
        if (!a->ack) {
            snprintf(a->code, sizeof a->code, "%s", reply->body.reply.code);
            snprintf(a->reason, sizeof a->reason, "%s", reply->body.reply.reason);
        }
    }
    if (n > 0 && !answer_bound(self, first, reply)) {
        for (size_t i = 0; i < n; i++)
            ignore_tag(self, index, answers[i].tag, RELAY_IGNORED_ID_MISMATCH, now_ms);
        return 0;
    }
    return n;
}

/*  Turns one answer of peer `index` ([tags][ack or nack]) into one
    relay_answer_t per tag it may settle in `answers` (room for
    PROTO_ACK_TAGS_MAX). Returns how many; 0 for a malformed answer
    (logged) or one whose tags were all ignored (counted). */
static size_t decode_answer(relay_t *self, size_t index, zmq_msg_t frames[2], size_t got,
                            relay_answer_t *answers, uint64_t now_ms)
{
    size_t tags = 0;
    if (got != 2 || proto_tags_unpack(zmq_msg_data(&frames[0]), zmq_msg_size(&frames[0]),
                                      self->answer_tags, &tags) != LEDGER_OK) {
        node_log_write(NODE_LOG_WARN, "event=bad_answer peer=%s frames=%zu",
                       self->peer_names[index], got);
        return 0;
    }
    proto_msg_t reply;
    char why[RELAY_WHY_BYTES] = "";
    ledger_err_t err =
        proto_decode(zmq_msg_data(&frames[1]), zmq_msg_size(&frames[1]), &reply, why, sizeof why);
    if (!err && reply.type == PROTO_NACK && tags != 1)
        snprintf(why, sizeof why, "a nack answers one tag, not %zu", tags);
    size_t n = 0;
    if (err || (reply.type != PROTO_ACK && reply.type != PROTO_NACK) ||
        (reply.type == PROTO_NACK && tags != 1)) {
        node_log_write(NODE_LOG_WARN,
                       "event=bad_answer peer=%s tag=%llu tags=%zu error=%s reason=\"%s\"",
                       self->peer_names[index], (unsigned long long)self->answer_tags[0], tags,
                       ledger_err_name(err), why);
    } else {
        /* The peer spoke on its own link: alive, even if it answered nothing in flight. */
        self->last_answer_ms[index] = now_ms;
        n = keep_answer_tags(self, index, &reply, tags, answers, now_ms);
    }
    proto_msg_release(&reply);
    return n;
}

size_t relay_read_answers(relay_t *self, size_t index, relay_answer_t *answers, size_t max,
                          uint64_t now_ms)
{
    assert(self && index < self->peer_count && (answers || max == 0));
    void *sock = zsock_resolve(self->peers[index]);
    size_t n = 0;
    while (max - n >= PROTO_ACK_TAGS_MAX) {
        zmq_msg_t frames[2];
        size_t got = 0;
        bool drained = !read_message(sock, frames, &got);
        if (drained && got == 0)
            break;
        n += decode_answer(self, index, frames, got, answers + n, now_ms);
        for (size_t i = 0; i < got && i < 2; i++)
            zmq_msg_close(&frames[i]);
        if (drained)
            break;
    }
    return n;
}

size_t relay_take_local_nacks(relay_t *self, relay_answer_t *answers, size_t max)
{
    assert(self && (answers || max == 0));
    size_t n = self->local_nack_count < max ? self->local_nack_count : max;
    memcpy(answers, self->local_nacks, n * sizeof *answers);
    memmove(self->local_nacks, self->local_nacks + n,
            (self->local_nack_count - n) * sizeof *self->local_nacks);
    self->local_nack_count -= n;
    return n;
}

void relay_settled(relay_t *self, const relay_answer_t *answers, size_t count)
{
    assert(self && (answers || count == 0));
    bool newer_answered = false;
    for (size_t i = 0; i < count; i++) {
        inflight_t *e = inflight_find(self, answers[i].tag);
        if (answers[i].ack)
            self->stats.acked++;
        else
            self->stats.nacked++;
        if (e && !e->done) {
            /* The answer may be to any copy: count only what the first one proves. */
            if (e->sent && e->first_send_no > self->newest_answered_first_send_no[e->peer]) {
                self->newest_answered_first_send_no[e->peer] = e->first_send_no;
                newer_answered = true;
            }
            e->done = true;
            self->inflight_done++;
        }
    }
    if (newer_answered)
        self->next_deadline_ms = 0; /* look for entries it proves lost at the next pump */
    inflight_compact(self);
}

/*  The number of the origin of outbox message msg[0..size) in self->origins
    (added if new), and its seq in *seq_out; RELAY_ORIGIN_NONE if its id
    cannot be read or the table is full (logged). */
static uint8_t origin_of(relay_t *self, uint64_t tag, const void *msg, size_t size,
                         uint64_t *seq_out)
{
    char origin[PROTO_NODE_MAX + 1];
    *seq_out = 0;
    if (proto_frame_id(msg, size, origin, seq_out) != LEDGER_OK) {
        node_log_write(NODE_LOG_ERROR, "event=outbox_bad_id tag=%llu", (unsigned long long)tag);
        return RELAY_ORIGIN_NONE;
    }
    for (size_t i = 0; i < self->origin_count; i++)
        if (strcmp(self->origins[i], origin) == 0)
            return (uint8_t)i;
    if (self->origin_count == RELAY_ORIGINS_MAX) {
        node_log_write(NODE_LOG_ERROR, "event=outbox_too_many_origins tag=%llu origin=%s",
                       (unsigned long long)tag, origin);
        return RELAY_ORIGIN_NONE;
    }
    snprintf(self->origins[self->origin_count], sizeof self->origins[0], "%s", origin);
    return (uint8_t)self->origin_count++;
}

/*  A read of the outbox failed with `err` while doing `what` (about `seq`). Logged;
    LEDGER_E_CORRUPT makes the relay stop (relay_corrupt). */
static void outbox_read_failed(relay_t *self, ledger_err_t err, const char *what, uint64_t seq)
{
    node_log_write(NODE_LOG_ERROR, "event=outbox_read_failed error=%s while=\"%s\" seq=%llu",
                   ledger_err_name(err), what, (unsigned long long)seq);
    if (err != LEDGER_E_CORRUPT || self->corrupt)
        return;
    self->corrupt = true;
    snprintf(self->corrupt_where, sizeof self->corrupt_where, "in the outbox, %s %llu", what,
             (unsigned long long)seq);
}

/*  Sends the entries gathered for `peer` as one message, and marks their
    in-flight records: sent (numbered in order, as if sent one by one) or
    refused by the socket (retried soon, like any entry the peer was away for). */
static void flush_bundle(relay_t *self, size_t peer, uint64_t now_ms)
{
    relay_bundle_t *b = &self->bundles[peer];
    if (b->count == 0)
        return;
    bool sent = relay_bundle_send(b, zsock_resolve(self->peers[peer]));
    for (size_t i = 0; i < b->count; i++) {
        inflight_t *e = &self->inflight[b->slots[i]];
        e->sent = sent;
        if (sent) {
            e->first_send_no = e->last_send_no = ++self->send_no[peer];
            self->stats.sent++;
        }
        e->deadline_ms = now_ms + backoff_ms(self, 1, sent);
        if (e->deadline_ms < self->next_deadline_ms)
            self->next_deadline_ms = e->deadline_ms;
    }
    if (sent && b->count > 1)
        self->stats.bundles++;
    relay_bundle_clear(b);
}

/*  The new outbox entries, loaded and gathered per peer (load_new); the
    caller flushes what is left gathered. In-flight indices stay valid until
    then: nothing compacts the in-flight array in between. */
static void load_rounds(relay_t *self, store_txn_t *txn, uint64_t now_ms)
{
    for (int round = 0; round < RELAY_LOAD_ROUNDS; round++) {
        size_t live = self->inflight_count - self->inflight_done;
        if (live >= RELAY_INFLIGHT_MAX)
            return;
        size_t want = RELAY_INFLIGHT_MAX - live;
        if (want > RELAY_LOAD_BATCH)
            want = RELAY_LOAD_BATCH;
        size_t n = 0;
        ledger_err_t err =
            store_outbox_take_due(txn, UINT64_MAX, self->cursor_seq, self->load, want, &n);
        if (err) {
            outbox_read_failed(self, err, "loading the entries after seq", self->cursor_seq);
            return;
        }
        for (size_t i = 0; i < n; i++) {
            const store_outbox_entry_t *o = &self->load[i];
            self->cursor_seq = o->seq;
            int peer = find_peer(self, o->peer);
            if (peer < 0) {
                /* Nobody will ever answer it: dead-letter it (visible, replayable once
                   the peer is configured) instead of holding /health down forever. */
                node_log_write(NODE_LOG_ERROR, "event=outbox_unknown_peer seq=%llu peer=%s",
                               (unsigned long long)o->seq, o->peer);
                if (self->local_nack_count < RELAY_LOCAL_NACKS_MAX) {
                    relay_answer_t *a = &self->local_nacks[self->local_nack_count++];
                    memset(a, 0, sizeof *a);
                    a->tag = o->seq;
                    snprintf(a->code, sizeof a->code, "unknown_peer");
                    snprintf(a->reason, sizeof a->reason, "no peer named '%.*s' is configured",
                             STORE_PEER_MAX, o->peer);
                } else {
                    self->cursor_seq = o->seq - 1; /* come back for it after the next batch */
                    return;
                }
                continue;
            }
            relay_bundle_t *b = &self->bundles[peer];
            if (!relay_bundle_fits(b, o->msg_size, self->bundle_max))
                flush_bundle(self, (size_t)peer, now_ms);
            uint64_t msg_seq = 0;
            uint8_t origin_no = origin_of(self, o->seq, o->msg, o->msg_size, &msg_seq);
            /* Not sent yet: flush_bundle sends it with the others for its peer and sets
               sent, its send number and its deadline. */
            inflight_t entry = {.seq = o->seq,
                                .msg_seq = msg_seq,
                                .origin_no = origin_no,
                                .peer = (uint8_t)peer,
                                .attempts = 1,
                                .sent_ms = now_ms,
                                .deadline_ms = UINT64_MAX};
            if (inflight_push(self, entry) != LEDGER_OK)
                return; /* out of memory: the entry stays in the outbox, found after restart */
            relay_bundle_add(b, o->seq, o->msg, o->msg_size, (uint32_t)(self->inflight_count - 1));
        }
        if (n < want)
            return;
    }
}

/* Logs a resend with the message's id, type, transfer id and cause (decoded only for the log line).
 */
static void log_redelivery(const relay_t *self, const inflight_t *e, const store_outbox_entry_t *o)
{
    proto_msg_t msg;
    char id[PROTO_ID_MAX + 1] = "-";
    bool decoded = proto_decode(o->msg, o->msg_size, &msg, NULL, 0) == LEDGER_OK;
    if (decoded)
        proto_msg_id(&msg, id);
    node_log_write(NODE_LOG_WARN,
                   "event=redelivering peer=%s tag=%llu attempts=%u id=%s type=%s corr=%s cause=%s",
                   self->peer_names[e->peer], (unsigned long long)e->seq, e->attempts, id,
                   decoded ? proto_type_name(msg.type) : "-",
                   decoded && msg.corr[0] ? msg.corr : "-",
                   decoded && msg.cause[0] ? msg.cause : "-");
    if (decoded)
        proto_msg_release(&msg);
}

/* How long a peer must say nothing before entry `e` counts as lost (RELAY_SILENCE_MIN_MS). */
static uint64_t silence_ms(const relay_t *self, const inflight_t *e)
{
    uint64_t delay = doubled_ms(self, self->retry_min_ms, e->attempts);
    return delay > RELAY_SILENCE_MIN_MS ? delay : RELAY_SILENCE_MIN_MS;
}

/* The peer has said nothing since then, as far as entry `e` is concerned. */
static uint64_t quiet_since_ms(const relay_t *self, const inflight_t *e)
{
    uint64_t last = self->last_answer_ms[e->peer];
    return last > e->sent_ms ? last : e->sent_ms;
}

/* The peer answered an entry first sent after this one's last copy: that copy was lost. */
static bool peer_skipped(const relay_t *self, const inflight_t *e)
{
    /* After a refused resend (the peer is away), the backoff paces the tries, not the gap. */
    return e->sent && !e->resend_failed &&
           self->newest_answered_first_send_no[e->peer] > e->last_send_no;
}

/* The peer has said nothing for silence_ms since entry `e` went out. */
static bool peer_silent(const relay_t *self, const inflight_t *e, uint64_t now_ms)
{
    uint64_t since = quiet_since_ms(self, e);
    return now_ms >= since && now_ms - since >= silence_ms(self, e);
}

static void resend_overdue(relay_t *self, store_txn_t *txn, uint64_t now_ms)
{
    if (now_ms < self->next_deadline_ms)
        return;
    uint64_t next = UINT64_MAX;
    for (size_t i = 0; i < self->inflight_count; i++) {
        inflight_t *e = &self->inflight[i];
        if (e->done)
            continue;
        bool skipped = peer_skipped(self, e);
        if (!skipped && e->deadline_ms > now_ms) {
            if (e->deadline_ms < next)
                next = e->deadline_ms;
            continue;
        }
        if (e->sent && !skipped && !peer_silent(self, e, now_ms)) {
            /* Still in the queue of a peer that is answering: look again later. */
            e->deadline_ms = quiet_since_ms(self, e) + silence_ms(self, e);
            if (e->deadline_ms < next)
                next = e->deadline_ms;
            continue;
        }
        store_outbox_entry_t o;
        ledger_err_t err = store_outbox_get(txn, e->seq, &o);
        if (err == LEDGER_E_NOT_FOUND) { /* acked or dead-lettered meanwhile */
            e->done = true;
            self->inflight_done++;
            continue;
        }
        if (err) {
            outbox_read_failed(self, err, "reading for a resend the entry of seq", e->seq);
            return;
        }
        /* attempts counts tries, sent or not, so a peer that is away backs off too; the
           first real send starts the ack-timeout backoff afresh. */
        uint64_t send_no = 0;
        bool ok = send_entry(self, e->peer, e->seq, o.msg, o.msg_size, &send_no);
        e->resend_failed = !ok && e->sent;
        if (ok) {
            e->sent_ms = now_ms;
            e->last_send_no = send_no;
            if (e->sent) {
                e->attempts++;
                self->stats.redelivered++;
                if (e->attempts == RELAY_LOG_RESEND_FIRST ||
                    e->attempts % RELAY_LOG_RESEND_EVERY == 0)
                    log_redelivery(self, e, &o);
            } else {
                e->sent = true;
                e->attempts = 1;
                e->first_send_no = send_no;
                self->stats.sent++;
            }
        } else {
            e->attempts++;
        }
        e->deadline_ms = now_ms + backoff_ms(self, e->attempts, e->sent);
        if (e->deadline_ms < next)
            next = e->deadline_ms;
    }
    self->next_deadline_ms = next;
    inflight_compact(self);
}

uint64_t relay_pump(relay_t *self, uint64_t now_ms, uint64_t idle_ms)
{
    assert(self);
    if (self->corrupt) /* the caller faults the node: nothing more is read or sent */
        return idle_ms;
    store_txn_t *txn = NULL;
    ledger_err_t err = store_txn_begin(self->store, false, &txn);
    if (err) {
        outbox_read_failed(self, err, "beginning a read transaction, loaded up to seq",
                           self->cursor_seq);
        return self->retry_min_ms;
    }
    load_rounds(self, txn, now_ms);
    /* Before the transaction ends: an entry too big to bundle is sent from the map. */
    for (size_t i = 0; i < self->peer_count; i++)
        flush_bundle(self, i, now_ms);
    resend_overdue(self, txn, now_ms);
    store_txn_abort(&txn);
    if (self->next_deadline_ms == UINT64_MAX)
        return idle_ms;
    uint64_t wait = self->next_deadline_ms > now_ms ? self->next_deadline_ms - now_ms : 0;
    return wait < idle_ms ? wait : idle_ms;
}

ledger_err_t relay_corrupt(const relay_t *self, char *where, size_t where_size)
{
    assert(self && where && where_size > 0);
    where[0] = '\0';
    if (!self->corrupt)
        return LEDGER_OK;
    snprintf(where, where_size, "%s", self->corrupt_where);
    return LEDGER_E_CORRUPT;
}

void relay_get_stats(const relay_t *self, relay_stats_t *stats_out)
{
    assert(self && stats_out);
    *stats_out = self->stats;
    stats_out->inflight = self->inflight_count - self->inflight_done;
}

/* node_inbound.c: one turn's inbound messages: read and judged, then answered (node_inbound.h). */
#include "node_inbound.h"

#include <assert.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "curve_sock.h"
#include "node_keys.h"
#include "node_log.h"

#define NODE_INBOUND_WHY_BYTES 128 /* reason text of an answer that does not encode */
/* Characters of the node name in an answer's origin "<name>-r" (room for the suffix). */
#define NODE_REPLY_ORIGIN_NAME_CHARS 29
#define NODE_INBOUND_US_PER_S 1000000u /* microseconds per second */

ledger_err_t node_inbound_init(node_inbound_t *self, size_t max, const char *node_name,
                               bool accepts_queries)
{
    assert(self && max > 0 && node_name);
    memset(self, 0, sizeof *self);
    self->max = max;
    self->node_name = node_name;
    self->accepts_queries = accepts_queries;
    if (!node_role_from_name(node_name, &self->self_role))
        self->self_role = (node_role_t)0; /* no role: every message is forbidden_type */
    /* Answers' ids must not repeat across restarts: start past anything used before. */
    self->reply_seq = clock_mono_us() + (uint64_t)time(NULL) * NODE_INBOUND_US_PER_S;
    self->items = calloc(max, sizeof *self->items);
    self->ack_tags = malloc((size_t)PROTO_ACK_TAGS_MAX * PROTO_TAG_SIZE);
    if (!self->items || !self->ack_tags) {
        node_inbound_fini(self);
        return LEDGER_E_NOMEM;
    }
    /*  Touch the array now (~10 MB at the default --batch-max): calloc maps
        it lazily, so the node's memory would otherwise step up each time a
        batch larger than any before touches more of it, which looks like
        growth in a soak (fraud's heap 4.3 -> 8.9 MiB in one) but is this
        bound being reached. */
    explicit_bzero(self->items, max * sizeof *self->items); /* not elided */
    return LEDGER_OK;
}

void node_inbound_links(node_inbound_t *self, node_keys_t *keys, node_role_t self_role,
                        bool harness_replay)
{
    assert(self);
    self->keys = keys;
    self->self_role = self_role;
    self->harness_replay = harness_replay;
}

static const char *const refused_names[NODE_REFUSED__COUNT] = {
    [NODE_REFUSED_UNAUTHENTICATED] = NODE_REFUSED_UNAUTHENTICATED_CODE,
    [NODE_REFUSED_ORIGIN_MISMATCH] = NODE_REFUSED_ORIGIN_MISMATCH_CODE,
    [NODE_REFUSED_FORBIDDEN_TYPE] = NODE_REFUSED_FORBIDDEN_TYPE_CODE,
    [NODE_REFUSED_ID_TOO_FAR_AHEAD] = NODE_REFUSED_ID_TOO_FAR_AHEAD_CODE,
    [NODE_REFUSED_REPLAY_NOT_SEEN] = NODE_REFUSED_REPLAY_NOT_SEEN_CODE,
    [NODE_REFUSED_ID_TOO_OLD] = NODE_REFUSED_ID_TOO_OLD_CODE,
};

const char *node_refused_name(node_refused_t reason)
{
    return (unsigned)reason < NODE_REFUSED__COUNT ? refused_names[reason] : "?";
}

bool node_refused_from_code(const char *code, node_refused_t *out)
{
    assert(code && out);
    for (size_t i = 0; i < NODE_REFUSED__COUNT; i++)
        if (!strcmp(code, refused_names[i])) {
            *out = (node_refused_t)i;
            return true;
        }
    return false;
}

/* Closes the frames of the bundle being taken apart, if any. */
static void bundle_close(node_inbound_bundle_t *b)
{
    if (!b->active)
        return;
    zmq_msg_close(&b->identity);
    zmq_msg_close(&b->tags);
    zmq_msg_close(&b->payload);
    b->active = false;
}

void node_inbound_fini(node_inbound_t *self)
{
    assert(self);
    bundle_close(&self->bundle);
    free(self->items);
    free(self->ack_tags);
    self->items = NULL;
    self->ack_tags = NULL;
    self->count = 0;
}

/*  Reads the frames of one message into frames[0 .. *got) (at most 3; extra frames are
    counted in *total and closed). false when nothing is waiting. */
static bool read_frames(void *sock, zmq_msg_t frames[3], size_t *got, size_t *total)
{
    bool more = true;
    *got = *total = 0;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, sock, *total == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            zmq_msg_close(&part);
            if (*total == 0)
                return false;
            break;
        }
        (*total)++;
        more = zmq_msg_more(&part);
        if (*got < 3)
            frames[(*got)++] = part;
        else
            zmq_msg_close(&part);
    }
    return true;
}

/* Refuses `in` before apply with `code` and a reason. */
static void prejudge(node_inbound_msg_t *in, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void prejudge(node_inbound_msg_t *in, const char *code, const char *fmt, ...)
{
    in->outcome = NODE_INBOUND_NACK;
    in->prejudged = true;
    snprintf(in->code, sizeof in->code, "%s", code);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(in->why, sizeof in->why, fmt, ap);
    va_end(ap);
}

/*  Who sent `in`: on CURVE links the allowed key the connection
    authenticated with (User-Id of a frame the peer sent, `user_id`), never
    the envelope; in plaintext the envelope's origin (without a query's
    "-q"), which must name a role. false: unknown, *peer_role untouched. */
static bool identify_peer(node_inbound_t *self, node_inbound_msg_t *in, const char *user_id,
                          node_role_t *peer_role)
{
    if (self->keys && !node_keys_plaintext(self->keys)) {
        const curve_allow_entry_t *e = node_keys_peer(self->keys, user_id, clock_mono_ms());
        if (!e || !node_role_from_name(e->role, peer_role))
            return false;
        snprintf(in->peer, sizeof in->peer, "%s", e->name);
        return true;
    }
    if (!in->decoded)
        return false;
    size_t n = strlen(in->msg.origin);
    size_t q = strlen(NODE_QUERY_ORIGIN_SUFFIX);
    if (in->msg.type == PROTO_ACCOUNT_QUERY && n > q &&
        !strcmp(in->msg.origin + n - q, NODE_QUERY_ORIGIN_SUFFIX))
        n -= q;
    char name[PROTO_NODE_MAX + 1];
    snprintf(name, sizeof name, "%.*s", (int)n, in->msg.origin);
    if (!node_role_from_name(name, peer_role))
        return false;
    memcpy(in->peer, name, sizeof name);
    return true;
}

/* Why the sender of `in` is unknown (identify_peer said false). */
static void refuse_unknown_peer(node_inbound_t *self, node_inbound_msg_t *in, const char *user_id)
{
    if (!self->keys || node_keys_plaintext(self->keys))
        prejudge(in, NODE_REFUSED_UNAUTHENTICATED_CODE,
                 "origin %s names no node role (plaintext links: the origin is the peer)",
                 in->msg.origin);
    else if (!user_id)
        prejudge(in, NODE_REFUSED_UNAUTHENTICATED_CODE, "the connection has no CURVE key");
    else
        prejudge(in, NODE_REFUSED_UNAUTHENTICATED_CODE, "key %.40s is not allowed at %s", user_id,
                 self->node_name);
}

/* True if `origin` is what peer `name` may sign as for a message of `type`. */
static bool origin_is_peer(const char *origin, const char *name, proto_type_t type)
{
    if (!strcmp(origin, name))
        return true;
    size_t n = strlen(name);
    return type == PROTO_ACCOUNT_QUERY && !strncmp(origin, name, n) &&
           !strcmp(origin + n, NODE_QUERY_ORIGIN_SUFFIX);
}

/*  The checks on a decoded message, in order (node_inbound.h): the peer,
    the origin, answers and queries this node does not take, the role table.
    Sets `in` prejudged on the first refusal; replay_as_origin on a harness
    replay the node was started to accept. */
static void judge(node_inbound_t *self, node_inbound_msg_t *in, const char *user_id)
{
    proto_type_t t = in->msg.type;
    node_role_t peer_role;
    if (!identify_peer(self, in, user_id, &peer_role)) {
        refuse_unknown_peer(self, in, user_id);
        return;
    }
    node_role_t role = peer_role; /* the role the message speaks with */
    if (!origin_is_peer(in->msg.origin, in->peer, t)) {
        node_role_t origin_role;
        if (!(peer_role == NODE_ROLE_HARNESS && self->harness_replay && t != PROTO_ACCOUNT_QUERY &&
              node_role_from_name(in->msg.origin, &origin_role) &&
              origin_role != NODE_ROLE_HARNESS &&
              node_roles_allows(origin_role, t, self->self_role))) {
            prejudge(in, NODE_REFUSED_ORIGIN_MISMATCH_CODE, "origin %s is not the peer %s",
                     in->msg.origin, in->peer);
            return;
        }
        in->replay_as_origin = true;
        role = origin_role;
    }
    if (t == PROTO_ACK || t == PROTO_NACK || t == PROTO_ACCOUNT_REPLY ||
        (t == PROTO_ACCOUNT_QUERY && !self->accepts_queries)) {
        prejudge(in, "unexpected_type", "%s is not accepted by %s", proto_type_name(t),
                 self->node_name);
        return;
    }
    if (!node_roles_allows(role, t, self->self_role))
        prejudge(in, NODE_REFUSED_FORBIDDEN_TYPE_CODE, "%s may not send %s to %s",
                 node_role_name(role), proto_type_name(t), self->node_name);
    else if (t == PROTO_ACCOUNT_QUERY && !node_roles_allows_query_op(role, in->msg.body.query.op))
        prejudge(in, NODE_REFUSED_FORBIDDEN_TYPE_CODE, "%s may not send account.query op %s to %s",
                 node_role_name(role), in->msg.body.query.op == PROTO_QUERY_OPEN ? "open" : "?",
                 self->node_name);
}

/*  Logs and drops a message without a well-formed tag: there is nothing to answer to. */
static void reject_framing(node_inbound_msg_t *in, size_t total, size_t tag_size)
{
    in->outcome = NODE_INBOUND_UNANSWERED;
    in->decoded = false;
    snprintf(in->code, sizeof in->code, "bad_framing");
    if (total != 3)
        node_log_write(NODE_LOG_WARN,
                       "event=rejected reason=\"expected 2 frames [tag][envelope], got %zu\" "
                       "peer=%s",
                       total > 0 ? total - 1 : 0, in->peer[0] ? in->peer : "-");
    else
        node_log_write(NODE_LOG_WARN,
                       "event=rejected reason=\"tag frame must be %d bytes (n x %d with a bundle "
                       "of n), got %zu\" peer=%s",
                       PROTO_TAG_SIZE, PROTO_TAG_SIZE, tag_size, in->peer[0] ? in->peer : "-");
}

/*  Decodes envelope env[0..size) into `in` (its identity and tag set) and
    judges it; a bad envelope is nacked. user_id: the connection's CURVE key. */
static void decode_and_judge(node_inbound_t *self, node_inbound_msg_t *in, const void *env,
                             size_t size, const char *user_id)
{
    ledger_err_t err = proto_decode(env, size, &in->msg, in->why, sizeof in->why);
    if (err) {
        in->outcome = NODE_INBOUND_NACK;
        snprintf(in->code, sizeof in->code, "%s", ledger_err_name(err));
        if (self->keys && !node_keys_plaintext(self->keys))
            identify_peer(self, in, user_id, &(node_role_t){0});
        return;
    }
    in->decoded = true;
    proto_msg_id(&in->msg, in->msg_id);
    judge(self, in, user_id);
}

/* Takes the next envelope of the bundle being taken apart into `in`. */
static void take_from_bundle(node_inbound_t *self, node_inbound_msg_t *in)
{
    node_inbound_bundle_t *b = &self->bundle;
    memset(in, 0, sizeof *in);
    zmq_msg_init(&in->identity);
    zmq_msg_copy(&in->identity, &b->identity);
    in->outcome = NODE_INBOUND_UNANSWERED;
    const uint8_t *tags = zmq_msg_data(&b->tags);
    (void)proto_tag_unpack(tags + b->next * PROTO_TAG_SIZE, PROTO_TAG_SIZE, &in->tag);
    const void *env = NULL;
    size_t size = 0;
    /* proto_bundle_check passed when the bundle was read: every envelope is there. */
    ledger_err_t err = proto_bundle_next(zmq_msg_data(&b->payload), zmq_msg_size(&b->payload),
                                         &b->offset, &env, &size);
    assert(err == LEDGER_OK);
    (void)err;
    decode_and_judge(self, in, env, size, curve_sock_user_id(&b->tags));
    if (++b->next == b->count)
        bundle_close(b);
}

/*  True if frames[0..3) of a whole 3-frame message are a well-formed bundle;
    then they move into self->bundle, to be taken apart one envelope a call. */
static bool start_bundle(node_inbound_t *self, zmq_msg_t frames[3], size_t got, size_t total)
{
    if (got != 3 || total != 3)
        return false;
    size_t tags_size = zmq_msg_size(&frames[1]);
    if (tags_size % PROTO_TAG_SIZE != 0 || tags_size < 2 * PROTO_TAG_SIZE)
        return false;
    size_t count = tags_size / PROTO_TAG_SIZE;
    if (proto_bundle_check(zmq_msg_data(&frames[2]), zmq_msg_size(&frames[2]), count) != LEDGER_OK)
        return false;
    node_inbound_bundle_t *b = &self->bundle;
    zmq_msg_init(&b->identity);
    zmq_msg_init(&b->tags);
    zmq_msg_init(&b->payload);
    zmq_msg_move(&b->identity, &frames[0]);
    zmq_msg_move(&b->tags, &frames[1]);
    zmq_msg_move(&b->payload, &frames[2]);
    b->count = count;
    b->next = 0;
    b->offset = 0;
    b->active = true;
    return true;
}

/* Reads one whole message from the inbox into `in`. false when nothing is waiting. */
static bool receive_one(node_inbound_t *self, void *sock, node_inbound_msg_t *in)
{
    if (self->bundle.active) {
        take_from_bundle(self, in);
        return true;
    }
    zmq_msg_t frames[3];
    size_t got = 0, total = 0;
    if (!read_frames(sock, frames, &got, &total))
        return false;
    if (start_bundle(self, frames, got, total)) {
        take_from_bundle(self, in);
        for (size_t i = 0; i < got; i++)
            zmq_msg_close(&frames[i]); /* moved out: empty */
        return true;
    }
    memset(in, 0, sizeof *in);
    zmq_msg_init(&in->identity);
    zmq_msg_move(&in->identity, &frames[0]);
    in->outcome = NODE_INBOUND_UNANSWERED;
    /* The ROUTER's identity frame carries no metadata: the User-Id is on the peer's frames. */
    const char *user_id = got >= 2 ? curve_sock_user_id(&frames[1]) : NULL;
    bool tag_ok = got >= 2 && proto_tag_unpack(zmq_msg_data(&frames[1]), zmq_msg_size(&frames[1]),
                                               &in->tag) == LEDGER_OK;
    if (!tag_ok || total != 3) {
        if (self->keys && !node_keys_plaintext(self->keys))
            identify_peer(self, in, user_id, &(node_role_t){0});
        reject_framing(in, total, got >= 2 ? zmq_msg_size(&frames[1]) : 0);
    } else {
        decode_and_judge(self, in, zmq_msg_data(&frames[2]), zmq_msg_size(&frames[2]), user_id);
    }
    for (size_t i = 1; i < got; i++)
        zmq_msg_close(&frames[i]);
    zmq_msg_close(&frames[0]);
    return true;
}

bool node_inbound_pending(const node_inbound_t *self)
{
    assert(self);
    return self->bundle.active;
}

size_t node_inbound_receive(node_inbound_t *self, zsock_t *inbox)
{
    assert(self && inbox);
    void *sock = zsock_resolve(inbox);
    self->count = 0;
    while (self->count < self->max && receive_one(self, sock, &self->items[self->count]))
        self->count++;
    return self->count;
}

void node_inbound_drop(node_inbound_t *self)
{
    assert(self);
    for (size_t i = 0; i < self->count; i++) {
        node_inbound_msg_t *in = &self->items[i];
        if (in->outcome == NODE_INBOUND_REPLY)
            proto_msg_release(&in->reply);
        in->outcome = NODE_INBOUND_UNANSWERED; /* nothing answered: senders redeliver */
        proto_msg_release(&in->msg);
        zmq_msg_close(&in->identity);
    }
}

/* Sends `answer` to the connection of `in` on the tag frame tags[0 .. tags_size). */
static void send_answer_tags(void *sock, node_inbound_msg_t *in, const proto_msg_t *answer,
                             const uint8_t *tags, size_t tags_size)
{
    void *data = NULL;
    size_t size = 0;
    char why[NODE_INBOUND_WHY_BYTES] = "";
    if (proto_encode(answer, &data, &size, why, sizeof why) != LEDGER_OK) {
        node_log_write(NODE_LOG_ERROR, "event=answer_encode_failed reason=\"%s\"", why);
        return;
    }
    /* A peer that has gone away gets nothing: it will resend and be acked again. */
    if (zmq_msg_send(&in->identity, sock, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0 &&
        zmq_send(sock, tags, tags_size, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
        zmq_send(sock, data, size, ZMQ_DONTWAIT);
    free(data);
}

static void send_answer(void *sock, node_inbound_msg_t *in, const proto_msg_t *answer)
{
    uint8_t tag[PROTO_TAG_SIZE];
    proto_tag_pack(in->tag, tag);
    send_answer_tags(sock, in, answer, tag, sizeof tag);
}

/* The answer envelope's common fields: origin "<name>-r", a fresh seq, now. */
static void answer_stamp(node_inbound_t *self, proto_msg_t *out, const char *cause, uint64_t now_ms)
{
    out->v = PROTO_VERSION;
    snprintf(out->origin, sizeof out->origin, "%.*s-r", NODE_REPLY_ORIGIN_NAME_CHARS,
             self->node_name);
    out->seq = ++self->reply_seq;
    out->ts_ms = now_ms;
    snprintf(out->cause, sizeof out->cause, "%s", cause);
}

static bool acked_outcome(const node_inbound_msg_t *in)
{
    return in->outcome == NODE_INBOUND_ACK || in->outcome == NODE_INBOUND_DUP;
}

static bool same_connection(zmq_msg_t *a, zmq_msg_t *b)
{
    return zmq_msg_size(a) == zmq_msg_size(b) &&
           memcmp(zmq_msg_data(a), zmq_msg_data(b), zmq_msg_size(a)) == 0;
}

/*  Acks the applied (and duplicate) messages of the batch with one message
    per connection (up to PROTO_ACK_TAGS_MAX tags each, proto/README.md):
    a sender sees each of its tags answered as if acked alone, for half the
    messages on the wire. O(batch x connections); connections are few. */
static void send_acks(node_inbound_t *self, void *sock, uint64_t now_ms)
{
    for (size_t i = 0; i < self->count; i++) {
        node_inbound_msg_t *first = &self->items[i];
        if (!acked_outcome(first) || first->acked)
            continue;
        size_t n = 0;
        for (size_t j = i; j < self->count && n < PROTO_ACK_TAGS_MAX; j++) {
            node_inbound_msg_t *in = &self->items[j];
            if (!acked_outcome(in) || in->acked ||
                !same_connection(&first->identity, &in->identity))
                continue;
            proto_tag_pack(in->tag, self->ack_tags + n * PROTO_TAG_SIZE);
            in->acked = true;
            n++;
        }
        proto_msg_t ack;
        memset(&ack, 0, sizeof ack);
        ack.type = PROTO_ACK;
        snprintf(ack.body.reply.of, sizeof ack.body.reply.of, "%s", first->msg_id);
        if (n == 1)
            snprintf(ack.corr, sizeof ack.corr, "%s", first->msg.corr);
        answer_stamp(self, &ack, first->msg_id, now_ms);
        send_answer_tags(sock, first, &ack, self->ack_tags, n * PROTO_TAG_SIZE);
    }
}

/*  The slot counting nack lines of `code`: the slot of that code, a free
    one, else the last (shared by codes past NODE_NACK_LOG_CODES_MAX). */
static node_nack_log_t *nack_log_slot(node_inbound_t *self, const char *code)
{
    size_t i = 0;
    while (i < NODE_NACK_LOG_CODES_MAX - 1 && self->nack_log[i].code[0] &&
           strcmp(self->nack_log[i].code, code) != 0)
        i++;
    if (!self->nack_log[i].code[0])
        snprintf(self->nack_log[i].code, sizeof self->nack_log[i].code, "%s", code);
    return &self->nack_log[i];
}

/*  Logs a nack, at most one line per code per NODE_NACK_LOG_EVERY_MS: a
    peer (or anyone, for unauthenticated) can send refused messages as fast
    as it likes, and the log must not be the cost of that. The next line of
    that code says how many were not logged (suppressed=N); the counters
    (ledger_messages_refused_total) stay exact. */
static void log_nack(node_inbound_t *self, const node_inbound_msg_t *in, const char *peer)
{
    node_nack_log_t *slot = nack_log_slot(self, in->code);
    uint64_t now_ms = clock_mono_ms();
    if (slot->logged && now_ms - slot->last_ms < NODE_NACK_LOG_EVERY_MS) {
        slot->suppressed++;
        return;
    }
    node_log_write(
        NODE_LOG_WARN,
        "event=nack id=%s type=%s corr=%s cause=%s code=%s reason=\"%s\" suppressed=%llu peer=%s",
        in->decoded ? in->msg_id : "-", in->decoded ? proto_type_name(in->msg.type) : "-",
        in->decoded && in->msg.corr[0] ? in->msg.corr : "-",
        in->decoded && in->msg.cause[0] ? in->msg.cause : "-", in->code, in->why,
        (unsigned long long)slot->suppressed, peer);
    slot->logged = true;
    slot->last_ms = now_ms;
    slot->suppressed = 0;
}

/* Logs what became of `in`: a nack (rate-limited), anything else at info; the peer last. */
static void log_outcome(node_inbound_t *self, const node_inbound_msg_t *in)
{
    const char *peer = in->peer[0] ? in->peer : "-";
    if (in->outcome == NODE_INBOUND_NACK)
        log_nack(self, in, peer);
    else if (node_log_enabled(NODE_LOG_INFO))
        node_log_write(NODE_LOG_INFO, "event=%s id=%s type=%s corr=%s cause=%s%s peer=%s",
                       in->outcome == NODE_INBOUND_DUP     ? "duplicate"
                       : in->outcome == NODE_INBOUND_REPLY ? "query"
                                                           : "applied",
                       in->msg_id, proto_type_name(in->msg.type), in->msg.corr,
                       in->msg.cause[0] ? in->msg.cause : "-",
                       in->replay_as_origin ? " replay_as_origin=1" : "", peer);
}

/* Sends the reply or nack of `in` (not an ack: send_acks sent those). */
static void answer_one(node_inbound_t *self, void *sock, node_inbound_msg_t *in, uint64_t now_ms)
{
    proto_msg_t answer;
    proto_msg_t *out = &answer;
    if (in->outcome == NODE_INBOUND_REPLY) {
        out = &in->reply;
        out->type = PROTO_ACCOUNT_REPLY;
        snprintf(out->corr, sizeof out->corr, "%s", in->msg.corr);
    } else { /* a nack: applied and duplicate messages were acked by send_acks */
        memset(&answer, 0, sizeof answer);
        answer.type = PROTO_NACK;
        snprintf(answer.body.reply.of, sizeof answer.body.reply.of, "%s", in->msg_id);
        snprintf(answer.body.reply.code, sizeof answer.body.reply.code, "%s", in->code);
        snprintf(answer.body.reply.reason, sizeof answer.body.reply.reason, "%s", in->why);
        if (in->decoded)
            snprintf(answer.corr, sizeof answer.corr, "%s", in->msg.corr);
    }
    answer_stamp(self, out, in->msg_id, now_ms);
    send_answer(sock, in, out);
}

void node_inbound_answer(node_inbound_t *self, zsock_t *inbox, uint64_t now_ms)
{
    assert(self && inbox);
    void *sock = zsock_resolve(inbox);
    send_acks(self, sock, now_ms);
    for (size_t i = 0; i < self->count; i++) {
        node_inbound_msg_t *in = &self->items[i];
        if (in->outcome == NODE_INBOUND_UNANSWERED) {
            proto_msg_release(&in->msg);
            zmq_msg_close(&in->identity);
            continue;
        }
        if (!in->acked)
            answer_one(self, sock, in, now_ms);
        log_outcome(self, in);
        if (in->outcome == NODE_INBOUND_REPLY)
            proto_msg_release(&in->reply);
        proto_msg_release(&in->msg); /* a decoded account.reply owns arrays, even when refused */
        zmq_msg_close(&in->identity);
    }
}

/* node.c: the node event loop: drain, apply in one commit, answer, publish, relay. */
#include "node.h"

#include <assert.h>
#include <czmq.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "node_log.h"
#include "clock.h"

#define NODE_ANSWERS_MAX 8192     /* acks/nacks from peers read per turn */
#define NODE_IDLE_MS 1000         /* longest poll when nothing is due */
#define NODE_FAILURE_PAUSE_MS 200 /* wait after a failed batch before the next one */
#define NODE_SEEN_RETENTION_MS (7ull * 24 * 3600 * 1000) /* far beyond any redelivery */
#define NODE_SEEN_PRUNE_EVERY_MS 60000
#define NODE_SEEN_PRUNE_MAX 10000

typedef enum {
    OUTCOME_NONE = 0, /* not answered (batch failed) */
    OUTCOME_ACK,      /* applied */
    OUTCOME_DUP,      /* seen before: acked again, nothing changed */
    OUTCOME_NACK,     /* can never be applied */
    OUTCOME_REPLY,    /* query answered */
} outcome_t;

typedef struct {
    zmq_msg_t identity;
    uint64_t tag;
    bool decoded;
    bool prejudged; /* rejected before apply (bad type for this node): never applied */
    bool acked;     /* its ack went out in a grouped ack (send_acks) */
    outcome_t outcome;
    char msg_id[PROTO_ID_MAX + 1];
    char code[PROTO_CODE_MAX + 1];
    char why[PROTO_REASON_MAX + 1];
    proto_msg_t msg;
    proto_msg_t reply;
} inbound_t;

struct node_t {
    node_config_t config;
    node_app_t app;
    store_t *store;
    zsock_t *inbox;
    zsock_t *feed;
    relay_t *relay;
    int wake_fd;
    inbound_t *batch;
    size_t batch_count;
    relay_answer_t *answers;
    size_t answer_count;
    uint8_t *ack_tags;  /* PROTO_ACK_TAGS_MAX tags: the tag frame of a grouped ack */
    size_t answer_turn; /* which peer's answers are read first this turn */
    bool rerun_batch;   /* apply_batch set a refused message aside: run the batch again */
    size_t local_count; /* jobs app.local_take took for this turn */
    node_ctx_t ctx;
    uint64_t reply_seq; /* ids of acks/nacks/replies: origin "<name>-r", in-memory sequence */
    uint64_t last_prune_ms;
    pthread_mutex_t stats_lock;
    node_stats_t stats;
    node_http_counts_t http_counts; /* under stats_lock */
    size_t dead_in_batch;           /* entries moved to dead_letters by the current batch */
};

static volatile sig_atomic_t stop_requested = 0;
static int signal_wake_fd = -1;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
    if (signal_wake_fd >= 0) {
        uint64_t one = 1;
        ssize_t ignored = write(signal_wake_fd, &one, sizeof one);
        (void)ignored;
    }
}

uint64_t node_now_ms(void)
{
    return clock_wall_ms();
}

/* on_start or on_stop, run in a write transaction of its own. */
typedef struct {
    node_t *node;
    ledger_err_t (*hook)(node_ctx_t *ctx, void *app);
} hook_run_t;

static ledger_err_t run_hook(store_txn_t *txn, void *arg)
{
    hook_run_t *run = arg;
    node_t *self = run->node;
    node_ctx_begin(&self->ctx, txn, node_now_ms());
    return run->hook(&self->ctx, self->app.app);
}

/* store_migrate_log_fn: the migration runner's lines in the node's log. */
static void migrate_log(void *arg, bool error, const char *line)
{
    (void)arg;
    node_log(error ? NODE_LOG_ERROR : NODE_LOG_INFO, "%s", line);
}

ledger_err_t node_new(const node_config_t *config, const node_app_t *app, node_t **node_out)
{
    assert(config && app && app->apply && node_out);
    assert(!app->local_take == !app->local_apply && !app->local_take == !app->local_done);
    assert(!app->txn_begin == !app->txn_prepare && !app->txn_begin == !app->txn_end);
    zsys_handler_set(NULL); /* we handle SIGINT/SIGTERM ourselves */
    node_t *self = calloc(1, sizeof *self);
    if (!self)
        return LEDGER_E_NOMEM;
    self->config = *config;
    self->app = *app;
    self->wake_fd = -1;
    pthread_mutex_init(&self->stats_lock, NULL);
    node_ctx_init(&self->ctx, NULL, self->config.name, 0);
    self->reply_seq = clock_mono_us() + (uint64_t)time(NULL) * 1000000u;
    self->batch = calloc(config->batch_max, sizeof *self->batch);
    self->answers = calloc(NODE_ANSWERS_MAX, sizeof *self->answers);
    self->ack_tags = malloc((size_t)PROTO_ACK_TAGS_MAX * PROTO_TAG_SIZE);
    if (!self->batch || !self->answers || !self->ack_tags) {
        node_destroy(&self);
        return LEDGER_E_NOMEM;
    }
    /*  Touch the fixed buffers now (~10 MB at the default --batch-max): calloc
        maps them lazily, so the node's memory would otherwise step up each
        time a batch larger than any before touches more of them, which looks
        like growth in a soak (fraud's heap 4.3 -> 8.9 MiB in one) but is
        this bound being reached. */
    explicit_bzero(self->batch, config->batch_max * sizeof *self->batch); /* not elided */
    explicit_bzero(self->answers, NODE_ANSWERS_MAX * sizeof *self->answers);

    store_config_t sc = {.no_sync = config->no_sync,
                         .map_max_bytes = config->map_max_bytes,
                         .prealloc_ahead_bytes = config->prealloc_bytes};
    ledger_err_t err = store_open(config->data_dir, &sc, &self->store);
    if (err) {
        node_log(NODE_LOG_ERROR, "event=store_open_failed dir=%s error=%s detail=\"%s\"",
                 config->data_dir, ledger_err_name(err), store_last_error(NULL));
        node_destroy(&self);
        return err;
    }
    if (app->migrate && (err = store_migrate_run(self->store, app->migrate, migrate_log, NULL,
                                                 NULL)) != LEDGER_OK) {
        node_destroy(&self);
        return err;
    }
    if (config->no_sync)
        node_log(NODE_LOG_WARN, "event=no_sync_mode note=\"commits are NOT durable\"");

    self->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    self->inbox = zsock_new(ZMQ_ROUTER);
    self->feed = zsock_new(ZMQ_PUB);
    if (self->wake_fd < 0 || !self->inbox || !self->feed) {
        node_destroy(&self);
        return LEDGER_E_IO;
    }
    zsock_set_linger(self->inbox, 0);
    zsock_set_linger(self->feed, 0);
    zsock_set_router_mandatory(self->inbox, 1);
    zsock_set_maxmsgsize(self->inbox, PROTO_FRAME_MAX + 1024);
    zsock_set_rcvhwm(self->inbox, 100000);
    zsock_set_sndhwm(self->inbox, 100000);
    zsock_set_sndhwm(self->feed, 100000);
    if (zsock_bind(self->inbox, "%s", config->inbox) < 0 ||
        zsock_bind(self->feed, "%s", config->feed) < 0) {
        node_log(NODE_LOG_ERROR, "event=bind_failed inbox=%s feed=%s error=\"%s\"", config->inbox,
                 config->feed, zmq_strerror(zmq_errno()));
        node_destroy(&self);
        return LEDGER_E_IO;
    }
    err = relay_new(self->store, app->peers, app->peer_count, config->retry_min_ms,
                    config->retry_max_ms, &self->relay);
    if (err) {
        node_destroy(&self);
        return err;
    }
    if (app->on_start) {
        hook_run_t run = {self, app->on_start};
        err = store_write(self->store, run_hook, &run);
        node_ctx_reset(&self->ctx);
        if (err) {
            node_log(NODE_LOG_ERROR, "event=start_failed error=%s", ledger_err_name(err));
            node_destroy(&self);
            return err;
        }
    }
    self->ctx.state = app->state; /* on_start ran without it */
    node_log(NODE_LOG_INFO, "event=started inbox=%s feed=%s data_dir=%s", config->inbox,
             config->feed, config->data_dir);
    *node_out = self;
    return LEDGER_OK;
}

void node_destroy(node_t **node_p)
{
    if (!node_p || !*node_p)
        return;
    node_t *self = *node_p;
    relay_destroy(&self->relay);
    zsock_destroy(&self->inbox);
    zsock_destroy(&self->feed);
    if (self->wake_fd >= 0)
        close(self->wake_fd);
    if (signal_wake_fd == self->wake_fd)
        signal_wake_fd = -1;
    node_ctx_fini(&self->ctx);
    store_destroy(&self->store);
    free(self->batch);
    free(self->answers);
    free(self->ack_tags);
    pthread_mutex_destroy(&self->stats_lock);
    free(self);
    *node_p = NULL;
}

void node_stop(node_t *self)
{
    (void)self;
    on_signal(0);
}

void node_wake(node_t *self)
{
    uint64_t one = 1;
    ssize_t ignored = write(self->wake_fd, &one, sizeof one);
    (void)ignored;
}

store_t *node_store(node_t *self)
{
    return self->store;
}

void node_get_stats(node_t *self, node_stats_t *stats_out)
{
    pthread_mutex_lock(&self->stats_lock);
    *stats_out = self->stats;
    pthread_mutex_unlock(&self->stats_lock);
}

const char *node_name(const node_t *self)
{
    return self->config.name;
}

void node_count_http(node_t *self, const char *method, const char *route, unsigned status)
{
    pthread_mutex_lock(&self->stats_lock);
    node_http_counts_add(&self->http_counts, method, route, status);
    pthread_mutex_unlock(&self->stats_lock);
}

void node_get_http_counts(node_t *self, node_http_counts_t *counts_out)
{
    pthread_mutex_lock(&self->stats_lock);
    *counts_out = self->http_counts;
    pthread_mutex_unlock(&self->stats_lock);
}

/* Reads one whole message from the inbox into the batch. false when nothing is waiting. */
static bool receive_one(node_t *self, inbound_t *in)
{
    void *sock = zsock_resolve(self->inbox);
    zmq_msg_t frames[3];
    size_t got = 0, total = 0;
    bool more = true;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, sock, total == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            zmq_msg_close(&part);
            if (total == 0)
                return false;
            break;
        }
        total++;
        more = zmq_msg_more(&part);
        if (got < 3)
            frames[got++] = part;
        else
            zmq_msg_close(&part);
    }
    memset(in, 0, sizeof *in);
    zmq_msg_init(&in->identity);
    zmq_msg_move(&in->identity, &frames[0]);
    in->outcome = OUTCOME_NONE;
    bool tag_ok = got >= 2 && proto_tag_unpack(zmq_msg_data(&frames[1]), zmq_msg_size(&frames[1]),
                                               &in->tag) == LEDGER_OK;
    if (!tag_ok || total != 3) {
        /* Without a well-formed tag there is nothing to answer to: log and drop. */
        in->outcome = OUTCOME_NONE;
        in->decoded = false;
        snprintf(in->code, sizeof in->code, "bad_framing");
        if (total != 3)
            node_log(NODE_LOG_WARN,
                     "event=rejected reason=\"expected 2 frames [tag][envelope], got %zu\"",
                     total > 0 ? total - 1 : 0);
        else
            node_log(NODE_LOG_WARN, "event=rejected reason=\"tag frame must be %d bytes, got %zu\"",
                     PROTO_TAG_SIZE, zmq_msg_size(&frames[1]));
    } else {
        ledger_err_t err = proto_decode(zmq_msg_data(&frames[2]), zmq_msg_size(&frames[2]),
                                        &in->msg, in->why, sizeof in->why);
        if (err) {
            in->outcome = OUTCOME_NACK;
            snprintf(in->code, sizeof in->code, "%s", ledger_err_name(err));
        } else {
            in->decoded = true;
            proto_msg_id(&in->msg, in->msg_id);
            proto_type_t t = in->msg.type;
            if (t == PROTO_ACK || t == PROTO_NACK || t == PROTO_ACCOUNT_REPLY ||
                (t == PROTO_ACCOUNT_QUERY && !self->app.query)) {
                in->outcome = OUTCOME_NACK;
                in->prejudged = true;
                snprintf(in->code, sizeof in->code, "unexpected_type");
                snprintf(in->why, sizeof in->why, "%s is not accepted by %s", proto_type_name(t),
                         self->config.name);
            }
        }
    }
    for (size_t i = 1; i < got; i++)
        zmq_msg_close(&frames[i]);
    zmq_msg_close(&frames[0]);
    return true;
}

/*  Errors that mean "this message can never be applied here" (nack it, the
    sender dead-letters it where an operator can see and replay it), as
    opposed to errors of the store, which abort the batch so that it is
    tried again. Stalling the inbox behind one bad message would stop
    every transfer behind it. A refusal leaves none of its writes behind,
    wherever the handler stopped: the batch's transaction is dropped and the
    batch runs again without that message (process_ready). */
static bool refused_for_good(ledger_err_t err)
{
    return err == LEDGER_E_INVALID || err == LEDGER_E_OVERFLOW || err == LEDGER_E_CORRUPT ||
           err == LEDGER_E_TOO_LARGE;
}

/*  Reads the id, type, transfer id (corr) and cause of outbox entry `tag` for
    a log line ("-" where unknown: gone, or bytes that do not decode). Only for
    nacked entries, which are rare, so the decode costs nothing that matters. */
static void describe_outbox_entry(store_txn_t *txn, uint64_t tag, char id[PROTO_ID_MAX + 1],
                                  char corr[PROTO_TRANSFER_ID_MAX + 1],
                                  char cause[PROTO_ID_MAX + 1], char *type, size_t type_size)
{
    store_outbox_entry_t o;
    proto_msg_t msg;
    if (store_outbox_get(txn, tag, &o) != LEDGER_OK ||
        proto_decode(o.msg, o.msg_size, &msg, NULL, 0) != LEDGER_OK)
        return;
    proto_msg_id(&msg, id);
    if (msg.corr[0])
        snprintf(corr, PROTO_TRANSFER_ID_MAX + 1, "%s", msg.corr);
    if (msg.cause[0])
        snprintf(cause, PROTO_ID_MAX + 1, "%s", msg.cause);
    snprintf(type, type_size, "%s", proto_type_name(msg.type));
    proto_msg_release(&msg);
}

static ledger_err_t apply_batch(store_txn_t *txn, void *arg)
{
    node_t *self = arg;
    /* Re-runnable after a map-full retry: start from a clean slate every time. */
    node_ctx_begin(&self->ctx, txn, node_now_ms());
    if (self->app.txn_begin)
        self->app.txn_begin(self->app.state);
    for (size_t i = 0; i < self->batch_count; i++) {
        inbound_t *in = &self->batch[i];
        if (!in->decoded || in->prejudged)
            continue;
        if (in->outcome == OUTCOME_REPLY)
            proto_msg_release(&in->reply);
        in->outcome = OUTCOME_NONE;
        if (in->msg.type == PROTO_ACCOUNT_QUERY) {
            memset(&in->reply, 0, sizeof in->reply);
            ledger_err_t err = self->app.query(&self->ctx, &in->msg, &in->reply, self->app.app);
            if (err)
                return err;
            in->outcome = OUTCOME_REPLY;
            continue;
        }
        bool seen = false;
        ledger_err_t err = store_seen_check(txn, in->msg.origin, in->msg.seq, &seen);
        if (err)
            return err;
        if (seen) {
            in->outcome = OUTCOME_DUP;
            continue;
        }
        in->why[0] = '\0';
        err = self->app.apply(&self->ctx, &in->msg, self->app.app, in->why, sizeof in->why);
        if (!err)
            err = store_seen_put(txn, in->msg.origin, in->msg.seq, self->ctx.now_ms);
        if (err) {
            if (!refused_for_good(err))
                return err;
            /*  Refused. Whatever its handler wrote is in this transaction: drop the
                transaction and run the batch again without the message (refusals are
                rare; a child transaction per message, the other way to drop its
                writes, cost ~6% CPU on every message). */
            in->outcome = OUTCOME_NACK;
            in->prejudged = true;
            snprintf(in->code, sizeof in->code, "%s", ledger_err_name(err));
            if (!in->why[0])
                snprintf(in->why, sizeof in->why, "%s cannot apply this message: %s",
                         self->config.name, ledger_err_name(err));
            self->rerun_batch = true;
            return err;
        }
        in->outcome = OUTCOME_ACK;
    }
    self->dead_in_batch = 0;
    for (size_t i = 0; i < self->answer_count; i++) {
        const relay_answer_t *a = &self->answers[i];
        char id[PROTO_ID_MAX + 1] = "-", corr[PROTO_TRANSFER_ID_MAX + 1] = "-";
        char cause[PROTO_ID_MAX + 1] = "-", type[32] = "-";
        if (!a->ack)
            describe_outbox_entry(txn, a->tag, id, corr, cause, type, sizeof type);
        ledger_err_t err =
            a->ack ? store_outbox_ack(txn, a->tag)
                   : store_outbox_to_dead(txn, a->tag, a->code, a->reason, self->ctx.now_ms);
        if (err && err != LEDGER_E_NOT_FOUND)
            return err;
        if (!a->ack && err == LEDGER_OK) {
            self->dead_in_batch++;
            node_log(
                NODE_LOG_WARN,
                "event=dead_letter tag=%llu id=%s type=%s corr=%s cause=%s code=%s reason=\"%s\"",
                (unsigned long long)a->tag, id, type, corr, cause, a->code, a->reason);
        }
    }
    if (self->local_count) {
        ledger_err_t err = self->app.local_apply(&self->ctx, self->app.app);
        if (err)
            return err;
    }
    if (self->app.txn_prepare)
        return self->app.txn_prepare(&self->ctx, self->app.state);
    return LEDGER_OK;
}

/* Sends `answer` to the connection of `in` on the tag frame tags[0 .. tags_size). */
static void send_answer_tags(node_t *self, inbound_t *in, const proto_msg_t *answer,
                             const uint8_t *tags, size_t tags_size)
{
    void *data = NULL;
    size_t size = 0;
    char why[128] = "";
    if (proto_encode(answer, &data, &size, why, sizeof why) != LEDGER_OK) {
        node_log(NODE_LOG_ERROR, "event=answer_encode_failed reason=\"%s\"", why);
        return;
    }
    void *sock = zsock_resolve(self->inbox);
    /* A peer that has gone away gets nothing: it will resend and be acked again. */
    if (zmq_msg_send(&in->identity, sock, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0 &&
        zmq_send(sock, tags, tags_size, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
        zmq_send(sock, data, size, ZMQ_DONTWAIT);
    free(data);
}

static void send_answer(node_t *self, inbound_t *in, const proto_msg_t *answer)
{
    uint8_t tag[PROTO_TAG_SIZE];
    proto_tag_pack(in->tag, tag);
    send_answer_tags(self, in, answer, tag, sizeof tag);
}

/* The answer envelope's common fields: origin "<name>-r", a fresh seq, now. */
static void answer_stamp(node_t *self, proto_msg_t *out, const char *cause)
{
    out->v = PROTO_VERSION;
    snprintf(out->origin, sizeof out->origin, "%.29s-r", self->config.name);
    out->seq = ++self->reply_seq;
    out->ts_ms = self->ctx.now_ms;
    snprintf(out->cause, sizeof out->cause, "%s", cause);
}

static bool acked_outcome(const inbound_t *in)
{
    return in->outcome == OUTCOME_ACK || in->outcome == OUTCOME_DUP;
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
static void send_acks(node_t *self)
{
    for (size_t i = 0; i < self->batch_count; i++) {
        inbound_t *first = &self->batch[i];
        if (!acked_outcome(first) || first->acked)
            continue;
        size_t n = 0;
        for (size_t j = i; j < self->batch_count && n < PROTO_ACK_TAGS_MAX; j++) {
            inbound_t *in = &self->batch[j];
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
        answer_stamp(self, &ack, first->msg_id);
        send_answer_tags(self, first, &ack, self->ack_tags, n * PROTO_TAG_SIZE);
    }
}

static void answer_batch(node_t *self)
{
    send_acks(self);
    proto_msg_t answer;
    for (size_t i = 0; i < self->batch_count; i++) {
        inbound_t *in = &self->batch[i];
        if (in->outcome == OUTCOME_NONE) {
            proto_msg_release(&in->msg);
            zmq_msg_close(&in->identity);
            continue;
        }
        proto_msg_t *out = &answer;
        if (in->acked) {
            out = NULL; /* answered by send_acks */
        } else if (in->outcome == OUTCOME_REPLY) {
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
        if (out) {
            answer_stamp(self, out, in->msg_id);
            send_answer(self, in, out);
        }
        if (in->outcome == OUTCOME_NACK)
            node_log(
                NODE_LOG_WARN, "event=nack id=%s type=%s corr=%s cause=%s code=%s reason=\"%s\"",
                in->decoded ? in->msg_id : "-", in->decoded ? proto_type_name(in->msg.type) : "-",
                in->decoded && in->msg.corr[0] ? in->msg.corr : "-",
                in->decoded && in->msg.cause[0] ? in->msg.cause : "-", in->code, in->why);
        else if (node_log_enabled(NODE_LOG_INFO))
            node_log(NODE_LOG_INFO, "event=%s id=%s type=%s corr=%s cause=%s",
                     in->outcome == OUTCOME_DUP     ? "duplicate"
                     : in->outcome == OUTCOME_REPLY ? "query"
                                                    : "applied",
                     in->msg_id, proto_type_name(in->msg.type), in->msg.corr,
                     in->msg.cause[0] ? in->msg.cause : "-");
        if (in->outcome == OUTCOME_REPLY)
            proto_msg_release(&in->reply);
        proto_msg_release(&in->msg); /* a decoded account.reply owns arrays, even when refused */
        zmq_msg_close(&in->identity);
    }
}

static void publish_emitted(node_t *self)
{
    void *sock = zsock_resolve(self->feed);
    for (size_t i = 0; i < self->ctx.published_count; i++) {
        const node_published_t *p = &self->ctx.published[i];
        const char *topic = proto_type_name(p->type);
        if (zmq_send(sock, topic, strlen(topic), ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
            zmq_send(sock, p->data, p->size, ZMQ_DONTWAIT);
    }
}

static void count_outcomes(node_t *self, uint64_t commit_us)
{
    static const uint64_t batch_bounds[] = NODE_BATCH_SIZE_BOUNDS;
    static const uint64_t commit_bounds[] = NODE_COMMIT_US_BOUNDS;
    node_stats_t s;
    memset(&s, 0, sizeof s);
    pthread_mutex_lock(&self->stats_lock);
    for (size_t i = 0; i < self->batch_count; i++) {
        const inbound_t *in = &self->batch[i];
        size_t type = in->decoded && in->msg.type < PROTO_TYPE__COUNT ? (size_t)in->msg.type : 0;
        switch (in->outcome) {
        case OUTCOME_ACK:
            s.messages_in++;
            self->stats.in_by_type[type][NODE_IN_APPLIED]++;
            break;
        case OUTCOME_DUP:
            s.duplicates++;
            self->stats.in_by_type[type][NODE_IN_DUPLICATE]++;
            break;
        case OUTCOME_NACK:
            s.nacks_sent++;
            self->stats.in_by_type[type][NODE_IN_NACKED]++;
            break;
        case OUTCOME_REPLY:
            s.queries++;
            self->stats.in_by_type[type][NODE_IN_QUERY]++;
            break;
        default:
            break;
        }
    }
    for (size_t i = 0; i < self->ctx.published_count; i++)
        if (self->ctx.published[i].type < PROTO_TYPE__COUNT)
            self->stats.out_by_type[self->ctx.published[i].type]++;
    self->stats.dead_lettered += self->dead_in_batch;
    self->stats.feed_dropped = self->ctx.feed_dropped; /* the ctx counts for the node's life */
    node_histogram_observe(&self->stats.batch_size, batch_bounds,
                           sizeof batch_bounds / sizeof batch_bounds[0],
                           self->batch_count + self->answer_count + self->local_count);
    node_histogram_observe(&self->stats.commit_us, commit_bounds,
                           sizeof commit_bounds / sizeof commit_bounds[0], commit_us);
    self->stats.messages_in += s.messages_in;
    self->stats.duplicates += s.duplicates;
    self->stats.nacks_sent += s.nacks_sent;
    self->stats.queries += s.queries;
    self->stats.messages_out += self->ctx.published_count;
    self->stats.batches++;
    self->stats.commit_us_total += commit_us;
    relay_get_stats(self->relay, &self->stats.relay);
    pthread_mutex_unlock(&self->stats_lock);
}

static ledger_err_t prune_seen(store_txn_t *txn, void *arg)
{
    size_t *pruned = arg;
    uint64_t now = node_now_ms();
    return store_seen_prune(txn, now > NODE_SEEN_RETENTION_MS ? now - NODE_SEEN_RETENTION_MS : 0,
                            NODE_SEEN_PRUNE_MAX, pruned);
}

/* One turn: drain, apply, commit, answer, publish. Returns false after a failed batch. */
static bool process_ready(node_t *self)
{
    self->batch_count = 0;
    while (self->batch_count < self->config.batch_max &&
           receive_one(self, &self->batch[self->batch_count]))
        self->batch_count++;
    self->answer_count = 0;
    /* The first peer read takes turns: a peer's grouped acks can fill most of the room. */
    size_t peers = relay_peer_count(self->relay);
    for (size_t k = 0; k < peers; k++)
        self->answer_count += relay_read_answers(
            self->relay, (self->answer_turn + k) % peers, self->answers + self->answer_count,
            NODE_ANSWERS_MAX - self->answer_count, clock_mono_ms());
    self->answer_turn++;
    self->answer_count += relay_take_local_nacks(self->relay, self->answers + self->answer_count,
                                                 NODE_ANSWERS_MAX - self->answer_count);
    self->local_count = self->app.local_take ? self->app.local_take(self->app.app) : 0;
    if (self->batch_count == 0 && self->answer_count == 0 && self->local_count == 0)
        return true;

    uint64_t start_us = clock_mono_us();
    ledger_err_t err;
    do { /* each rerun has one more refused message set aside: it ends */
        self->rerun_batch = false;
        err = store_write(self->store, apply_batch, self);
        if (self->app.txn_end)
            self->app.txn_end(self->app.state, err == LEDGER_OK);
    } while (err && self->rerun_batch);
    uint64_t commit_us = clock_mono_us() - start_us;
    if (err) {
        node_log(NODE_LOG_ERROR,
                 "event=batch_failed messages=%zu answers=%zu error=%s detail=\"%s\"",
                 self->batch_count, self->answer_count, ledger_err_name(err),
                 store_last_error(self->store));
        for (size_t i = 0; i < self->batch_count; i++) {
            if (self->batch[i].outcome == OUTCOME_REPLY)
                proto_msg_release(&self->batch[i].reply);
            self->batch[i].outcome = OUTCOME_NONE; /* nothing answered: senders redeliver */
            proto_msg_release(&self->batch[i].msg);
            zmq_msg_close(&self->batch[i].identity);
        }
        node_ctx_reset(&self->ctx);
        if (self->local_count)
            self->app.local_done(self->app.app, err);
        pthread_mutex_lock(&self->stats_lock);
        self->stats.batch_failures++;
        pthread_mutex_unlock(&self->stats_lock);
        return false;
    }
    answer_batch(self);
    publish_emitted(self);
    if (self->local_count)
        self->app.local_done(self->app.app, LEDGER_OK);
    relay_settled(self->relay, self->answers, self->answer_count);
    count_outcomes(self, commit_us);
    node_ctx_reset(&self->ctx);
    if (self->app.on_commit && self->batch_count)
        self->app.on_commit(self->app.app);
    return true;
}

ledger_err_t node_run(node_t *self)
{
    signal_wake_fd = self->wake_fd;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    size_t peers = relay_peer_count(self->relay);
    zmq_pollitem_t items[2 + RELAY_PEERS_MAX];
    items[0] = (zmq_pollitem_t){.socket = zsock_resolve(self->inbox), .events = ZMQ_POLLIN};
    items[1] = (zmq_pollitem_t){.fd = self->wake_fd, .events = ZMQ_POLLIN};
    for (size_t i = 0; i < peers; i++)
        items[2 + i] =
            (zmq_pollitem_t){.socket = relay_socket(self->relay, i), .events = ZMQ_POLLIN};

    uint64_t timeout_ms = relay_pump(self->relay, clock_mono_ms(), NODE_IDLE_MS);
    while (!stop_requested) {
        int rc = zmq_poll(items, (int)(2 + peers), (long)timeout_ms);
        if (rc < 0 && zmq_errno() != EINTR) {
            node_log(NODE_LOG_ERROR, "event=poll_failed error=\"%s\"", zmq_strerror(zmq_errno()));
            return LEDGER_E_IO;
        }
        if (stop_requested)
            break;
        if (items[1].revents & ZMQ_POLLIN) {
            uint64_t count;
            ssize_t ignored = read(self->wake_fd, &count, sizeof count);
            (void)ignored;
        }
        bool ok = process_ready(self);
        uint64_t now = node_now_ms();
        if (now - self->last_prune_ms >= NODE_SEEN_PRUNE_EVERY_MS) {
            size_t pruned = 0;
            self->last_prune_ms = now;
            if (store_write(self->store, prune_seen, &pruned) == LEDGER_OK && pruned)
                node_log(NODE_LOG_INFO, "event=seen_pruned count=%zu", pruned);
        }
        timeout_ms = relay_pump(self->relay, clock_mono_ms(), NODE_IDLE_MS);
        if (!ok)
            usleep(NODE_FAILURE_PAUSE_MS * 1000); /* back off from a failing disk */
    }
    node_log(NODE_LOG_INFO, "event=stopping");
    if (self->app.on_stop) {
        hook_run_t run = {self, self->app.on_stop};
        ledger_err_t err = store_write(self->store, run_hook, &run);
        node_ctx_reset(&self->ctx);
        if (err)
            node_log(NODE_LOG_ERROR, "event=stop_failed error=%s detail=\"%s\"",
                     ledger_err_name(err), store_last_error(self->store));
    }
    return LEDGER_OK;
}

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
#include <unistd.h>

#include "node_inbound.h"
#include "node_keys.h"
#include "node_log.h"
#include "node_monitor.h"
#include "node_seen.h"
#include "clock.h"

#define NODE_ANSWERS_MAX 8192     /* acks/nacks from peers read per turn */
#define NODE_IDLE_MS 1000         /* longest poll when nothing is due */
#define NODE_FAILURE_PAUSE_MS 200 /* wait after a failed batch before the next one */
#define NODE_SEEN_RETENTION_MS (7ull * 24 * 3600 * 1000) /* far beyond any redelivery */
#define NODE_SEEN_PRUNE_EVERY_MS 60000               /* how often the loop prunes old seen ids */
#define NODE_SEEN_PRUNE_MAX 10000                    /* seen ids deleted per prune */
#define NODE_US_PER_MS 1000u                         /* microseconds per millisecond */
#define NODE_INBOX_MSG_MAX_BYTES RELAY_MSG_MAX_BYTES /* peers send what their relays send */
#define NODE_SOCKET_HWM_MESSAGES RELAY_HWM_MESSAGES  /* inbox and feed queue as the relay's */
#define NODE_TYPE_NAME_BYTES 32                      /* a message type name, for log lines */
/* A feed only receives subscriptions (a topic name each): any bigger frame is an attack. */
#define NODE_FEED_MSG_MAX_BYTES 4096
/*  How long a connection to the inbox or feed may take to finish its handshake. libzmq holds
    an unauthenticated peer's handshake bytes until then (30 s by default); a CURVE handshake
    takes milliseconds, so 5 s is ample even on a loaded machine. */
#define NODE_HANDSHAKE_MS 5000

struct node_t {
    node_config_t config;
    node_app_t app;
    store_t *store;
    zsock_t *inbox;
    zsock_t *feed;
    relay_t *relay;
    node_keys_t *keys; /* CURVE identity, zauth, peer table: outlives the sockets */
    int wake_fd;
    node_inbound_t in; /* this turn's inbound messages */
    relay_answer_t *answers;
    size_t answer_count;
    size_t answer_turn; /* which peer's answers are read first this turn */
    bool rerun_batch;   /* apply_batch set a refused message aside: run the batch again */
    size_t local_count; /* jobs app.local_take took for this turn */
    node_ctx_t ctx;
    uint64_t last_prune_ms;
    pthread_mutex_t stats_lock;
    node_stats_t stats;
    node_http_counts_t http_counts; /* under stats_lock */
    size_t dead_in_batch;           /* entries moved to dead_letters by the current batch */
    node_seen_t seen_high;          /* highest seen seq per origin (node_seen.h) */
    node_monitor_t *monitor;        /* failed handshakes on inbox, feed, relay (node_monitor.h) */
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
    node_log_write(error ? NODE_LOG_ERROR : NODE_LOG_INFO, "%s", line);
}

/*  Allocates the node and its fixed buffers (inbound batch, peer answers)
    and touches them. NULL when memory runs out. */
static node_t *node_alloc(const node_config_t *config, const node_app_t *app)
{
    node_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->config = *config;
    self->app = *app;
    self->wake_fd = -1;
    pthread_mutex_init(&self->stats_lock, NULL);
    node_ctx_init(&self->ctx, NULL, self->config.name, 0);
    node_seen_init(&self->seen_high);
    self->answers = calloc(NODE_ANSWERS_MAX, sizeof *self->answers);
    if (!self->answers || node_inbound_init(&self->in, config->batch_max, self->config.name,
                                            app->query != NULL) != LEDGER_OK) {
        node_destroy(&self);
        return NULL;
    }
    /* Touched now, like the inbound batch (node_inbound_init says why). */
    explicit_bzero(self->answers, NODE_ANSWERS_MAX * sizeof *self->answers);
    return self;
}

/* Opens the node's store in its data directory (the failure is logged). */
static ledger_err_t node_open_store(node_t *self)
{
    const node_config_t *config = &self->config;
    store_config_t sc = {.no_sync = config->no_sync,
                         .map_max_bytes = config->map_max_bytes,
                         .prealloc_ahead_bytes = config->prealloc_bytes};
    ledger_err_t err = store_open(config->data_dir, &sc, &self->store);
    if (err) {
        node_log_write(NODE_LOG_ERROR, "event=store_open_failed dir=%s error=%s detail=\"%s\"",
                       config->data_dir, ledger_err_name(err), store_last_error(NULL));
        return err;
    }
    if (self->app.migrate) {
        err = store_migrate_run(self->store, self->app.migrate, migrate_log, NULL, NULL);
        if (err)
            return err;
    }
    if (config->no_sync)
        node_log_write(NODE_LOG_WARN, "event=no_sync_mode note=\"commits are NOT durable\"");
    return LEDGER_OK;
}

/* Creates the wake eventfd, the inbox (ROUTER) and the feed (PUB), and binds them. */
static ledger_err_t node_bind_sockets(node_t *self)
{
    const node_config_t *config = &self->config;
    self->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    self->inbox = zsock_new(ZMQ_ROUTER);
    self->feed = zsock_new(ZMQ_PUB);
    if (self->wake_fd < 0 || !self->inbox || !self->feed)
        return LEDGER_E_IO;
    zsock_set_linger(self->inbox, 0);
    zsock_set_linger(self->feed, 0);
    zsock_set_router_mandatory(self->inbox, 1);
    /* Every socket a peer can send to is bounded, even before its handshake (NOTES.md). */
    zsock_set_maxmsgsize(self->inbox, NODE_INBOX_MSG_MAX_BYTES);
    zsock_set_maxmsgsize(self->feed, NODE_FEED_MSG_MAX_BYTES);
    zsock_set_handshake_ivl(self->inbox, NODE_HANDSHAKE_MS);
    zsock_set_handshake_ivl(self->feed, NODE_HANDSHAKE_MS);
    zsock_set_rcvhwm(self->inbox, NODE_SOCKET_HWM_MESSAGES);
    zsock_set_sndhwm(self->inbox, NODE_SOCKET_HWM_MESSAGES);
    zsock_set_sndhwm(self->feed, NODE_SOCKET_HWM_MESSAGES);
    /* CURVE before bind (zauth already runs: node_keys_open); nothing in plaintext. */
    if (node_keys_server(self->keys, self->inbox) != LEDGER_OK ||
        node_keys_server(self->keys, self->feed) != LEDGER_OK)
        return LEDGER_E_IO;
    if (zsock_bind(self->inbox, "%s", config->inbox) < 0 ||
        zsock_bind(self->feed, "%s", config->feed) < 0) {
        node_log_write(NODE_LOG_ERROR, "event=bind_failed inbox=%s feed=%s error=\"%s\"",
                       config->inbox, config->feed, zmq_strerror(zmq_errno()));
        return LEDGER_E_IO;
    }
    return LEDGER_OK;
}

/* Watches the inbox, the feed and every relay DEALER for failed handshakes (node_monitor.h). */
static ledger_err_t node_watch_sockets(node_t *self, const node_app_t *app)
{
    ledger_err_t err = node_monitor_new(&self->monitor);
    if (!err)
        err =
            node_monitor_watch(self->monitor, zsock_resolve(self->inbox), NODE_MONITOR_INBOX, NULL);
    if (!err)
        err = node_monitor_watch(self->monitor, zsock_resolve(self->feed), NODE_MONITOR_FEED, NULL);
    for (size_t i = 0; !err && i < relay_peer_count(self->relay); i++)
        err = node_monitor_watch(self->monitor, relay_socket(self->relay, i), NODE_MONITOR_PEER,
                                 app->peers[i].name);
    if (err) {
        node_log_write(NODE_LOG_ERROR, "event=monitor_failed error=%s", ledger_err_name(err));
        return err;
    }
    node_monitor_get_stats(self->monitor, &self->stats.handshakes); /* peer names, zeros */
    return LEDGER_OK;
}

/*  Counts and logs the failed handshakes the monitors reported (loop
    thread), when one of their poll items `items[0 .. count)` is ready: the
    busy loop pays nothing for monitors that say nothing. */
static void node_read_monitors(node_t *self, const zmq_pollitem_t *items, size_t count)
{
    bool ready = false;
    for (size_t i = 0; i < count; i++)
        ready = ready || (items[i].revents & ZMQ_POLLIN);
    if (!ready || node_monitor_read(self->monitor, clock_mono_ms()) == 0)
        return;
    pthread_mutex_lock(&self->stats_lock);
    node_monitor_get_stats(self->monitor, &self->stats.handshakes);
    pthread_mutex_unlock(&self->stats_lock);
}

/* Rereads the allow dir if it changed (node_keys_refresh: at most once a second). */
static void node_refresh_keys(node_t *self)
{
    if (!node_keys_refresh(self->keys, clock_mono_ms()))
        return;
    pthread_mutex_lock(&self->stats_lock);
    node_keys_table_state(self->keys, &self->stats.links.allow);
    pthread_mutex_unlock(&self->stats_lock);
}

/* Runs app.on_start (if any) in a write transaction of its own (the failure is logged). */
static ledger_err_t node_run_start_hook(node_t *self)
{
    if (!self->app.on_start)
        return LEDGER_OK;
    hook_run_t run = {self, self->app.on_start};
    ledger_err_t err = store_write(self->store, run_hook, &run);
    node_ctx_reset(&self->ctx);
    if (err)
        node_log_write(NODE_LOG_ERROR, "event=start_failed error=%s", ledger_err_name(err));
    return err;
}

/* The relay's DEALERs: CURVE clients of each peer with the node's cert (plain in plaintext). */
static ledger_err_t node_start_relay(node_t *self)
{
    const node_app_t *app = &self->app;
    relay_curve_t curve = {.cert = node_keys_cert(self->keys)};
    for (size_t i = 0; i < app->peer_count; i++)
        curve.server_keys[i] = node_keys_peer_key(self->keys, app->peers[i].name);
    ledger_err_t err = relay_new_curve(
        self->store, app->peers, app->peer_count, self->config.retry_min_ms,
        self->config.retry_max_ms, node_keys_plaintext(self->keys) ? NULL : &curve, &self->relay);
    if (!err && self->config.bundle_max >= 1 && self->config.bundle_max <= PROTO_BUNDLE_MAX)
        relay_set_bundle_max(self->relay, self->config.bundle_max);
    return err;
}

ledger_err_t node_new(const node_config_t *config, const node_app_t *app, node_t **node_out)
{
    assert(config && app && node_out);
    node_keys_t *keys = NULL;
    ledger_err_t err = node_keys_open(config, app->peers, app->peer_count, &keys);
    if (err)
        return err;
    return node_new_keyed(config, app, &keys, node_out);
}

ledger_err_t node_new_keyed(const node_config_t *config, const node_app_t *app,
                            node_keys_t **keys_p, node_t **node_out)
{
    assert(config && app && app->apply && keys_p && *keys_p && node_out);
    assert(!app->local_take == !app->local_apply && !app->local_take == !app->local_done);
    assert(!app->txn_begin == !app->txn_prepare && !app->txn_begin == !app->txn_end);
    assert(app->peer_count <= RELAY_PEERS_MAX);
    zsys_handler_set(NULL); /* we handle SIGINT/SIGTERM ourselves */
    /* A node_stop of an earlier node in this process (tests) does not stop this one. Signals
       cannot have set it: node_run installs the handler. */
    stop_requested = 0;
    node_t *self = node_alloc(config, app);
    if (!self) {
        node_keys_destroy(keys_p);
        return LEDGER_E_NOMEM;
    }
    self->keys = *keys_p;
    *keys_p = NULL;
    node_role_t role = (node_role_t)0;
    node_role_from_name(config->name, &role);
    node_inbound_links(&self->in, self->keys, role, config->harness_replay);
    self->stats.links.insecure_plaintext = node_keys_plaintext(self->keys);
    node_keys_table_state(self->keys, &self->stats.links.allow);
    ledger_err_t err = node_open_store(self);
    if (!err)
        err = node_bind_sockets(self);
    if (!err)
        err = node_start_relay(self);
    if (!err)
        err = node_watch_sockets(self, app);
    if (!err)
        err = node_run_start_hook(self);
    if (err) {
        node_destroy(&self);
        return err;
    }
    self->ctx.state = app->state; /* on_start ran without it */
    node_log_write(NODE_LOG_INFO, "event=started inbox=%s feed=%s data_dir=%s links=%s",
                   config->inbox, config->feed, config->data_dir,
                   node_keys_plaintext(self->keys) ? "plaintext" : "curve");
    *node_out = self;
    return LEDGER_OK;
}

void node_destroy(node_t **node_p)
{
    assert(node_p);
    if (!*node_p)
        return;
    node_t *self = *node_p;
    node_monitor_destroy(&self->monitor); /* before the sockets it watches */
    relay_destroy(&self->relay);
    zsock_destroy(&self->inbox);
    zsock_destroy(&self->feed);
    node_keys_destroy(&self->keys); /* zauth stops after the sockets it judged */
    if (self->wake_fd >= 0)
        close(self->wake_fd);
    if (signal_wake_fd == self->wake_fd)
        signal_wake_fd = -1;
    node_ctx_fini(&self->ctx);
    store_destroy(&self->store);
    node_inbound_fini(&self->in);
    free(self->answers);
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
    assert(self);
    uint64_t one = 1;
    ssize_t ignored = write(self->wake_fd, &one, sizeof one);
    (void)ignored;
}

node_keys_t *node_get_keys(node_t *self)
{
    assert(self);
    return self->keys;
}

store_t *node_store(node_t *self)
{
    assert(self);
    return self->store;
}

void node_get_stats(node_t *self, node_stats_t *stats_out)
{
    assert(self && stats_out);
    pthread_mutex_lock(&self->stats_lock);
    *stats_out = self->stats;
    pthread_mutex_unlock(&self->stats_lock);
}

const char *node_name(const node_t *self)
{
    assert(self);
    return self->config.name;
}

void node_count_http(node_t *self, const char *method, const char *route, unsigned status)
{
    assert(self);
    pthread_mutex_lock(&self->stats_lock);
    node_metrics_http_count_add(&self->http_counts, method, route, status);
    pthread_mutex_unlock(&self->stats_lock);
}

void node_get_http_counts(node_t *self, node_http_counts_t *counts_out)
{
    assert(self && counts_out);
    pthread_mutex_lock(&self->stats_lock);
    *counts_out = self->http_counts;
    pthread_mutex_unlock(&self->stats_lock);
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

/*  Refuses `in` for good after its handler (or the seen write) failed with
    `err`: it is nacked, set aside, and the batch runs again without it. */
static void set_refused_aside(node_t *self, node_inbound_msg_t *in, ledger_err_t err)
{
    in->outcome = NODE_INBOUND_NACK;
    in->prejudged = true;
    snprintf(in->code, sizeof in->code, "%s", ledger_err_name(err));
    if (!in->why[0])
        snprintf(in->why, sizeof in->why, "%s cannot apply this message: %s", self->config.name,
                 ledger_err_name(err));
    self->rerun_batch = true;
}

/*  Nacks `in` with `code` before anything of it is applied or recorded: no
    write to drop, so the batch goes on (and a rerun skips it: prejudged). */
static void refuse_unapplied(node_inbound_msg_t *in, const char *code)
{
    in->outcome = NODE_INBOUND_NACK;
    in->prejudged = true;
    snprintf(in->code, sizeof in->code, "%s", code);
}

/*  A harness replay under another origin (node_inbound_msg_t.replay_as_origin):
    only ever a duplicate (its id is in `seen`: acked, nothing applied) or
    refused; never applied, never recorded, so a replay cannot spend an
    origin's ids. */
static ledger_err_t apply_replay(node_t *self, store_txn_t *txn, node_inbound_msg_t *in)
{
    bool seen = false;
    ledger_err_t err = store_seen_check(txn, in->msg.origin, in->msg.seq, &seen);
    if (err)
        return err;
    if (seen) {
        in->outcome = NODE_INBOUND_DUP;
        return LEDGER_OK;
    }
    refuse_unapplied(in, NODE_REFUSED_REPLAY_NOT_SEEN_CODE);
    snprintf(in->why, sizeof in->why,
             "%s has not seen %s: a replay under another origin is only accepted as a duplicate",
             self->config.name, in->msg_id);
    return LEDGER_OK;
}

/*  Refuses `in` (id_too_far_ahead) if its seq is far past the highest seen
    from its origin (node_seen.h): *refused_out. */
static ledger_err_t check_ahead(node_t *self, store_txn_t *txn, node_inbound_msg_t *in,
                                bool *refused_out)
{
    uint64_t high = 0;
    ledger_err_t err =
        node_seen_ahead(&self->seen_high, txn, in->msg.origin, in->msg.seq, refused_out, &high);
    if (err || !*refused_out)
        return err;
    refuse_unapplied(in, NODE_REFUSED_ID_TOO_FAR_AHEAD_CODE);
    snprintf(in->why, sizeof in->why, "%s is more than %llu ids past %s/%llu, the highest seen",
             in->msg_id, (unsigned long long)NODE_SEEN_AHEAD_MAX, in->msg.origin,
             (unsigned long long)high);
    return LEDGER_OK;
}

/*  Applies one inbound message in `txn`: a harness replay is only a
    duplicate or refused, a query is answered, an id far ahead of its
    origin's is refused, a message seen before is a duplicate, anything else
    goes to app.apply and its id is recorded in `seen`. An error aborts the
    batch (a refusal by the handler sets the message aside first,
    set_refused_aside). */
static ledger_err_t apply_inbound(node_t *self, store_txn_t *txn, node_inbound_msg_t *in)
{
    if (in->outcome == NODE_INBOUND_REPLY)
        proto_msg_release(&in->reply);
    in->outcome = NODE_INBOUND_UNANSWERED;
    if (in->replay_as_origin)
        return apply_replay(self, txn, in);
    if (in->msg.type == PROTO_ACCOUNT_QUERY) {
        memset(&in->reply, 0, sizeof in->reply);
        ledger_err_t err = self->app.query(&self->ctx, &in->msg, &in->reply, self->app.app);
        if (err)
            return err;
        in->outcome = NODE_INBOUND_REPLY;
        return LEDGER_OK;
    }
    bool refused = false, seen = false;
    ledger_err_t err = check_ahead(self, txn, in, &refused);
    if (err || refused)
        return err;
    err = store_seen_check(txn, in->msg.origin, in->msg.seq, &seen);
    if (err)
        return err;
    if (seen) {
        in->outcome = NODE_INBOUND_DUP;
        return LEDGER_OK;
    }
    in->why[0] = '\0';
    err = self->app.apply(&self->ctx, &in->msg, self->app.app, in->why, sizeof in->why);
    if (!err)
        err = store_seen_put(txn, in->msg.origin, in->msg.seq, self->ctx.now_ms);
    if (!err)
        node_seen_note(&self->seen_high, in->msg.origin, in->msg.seq);
    if (err) {
        /*  Refused. Whatever its handler wrote is in this transaction: drop the
            transaction and run the batch again without the message. The node
            does NOT apply each message in a child transaction (LMDB's nested
            write transactions), which would drop only the refused message's
            writes: refusals are rare, and a child per message cost ~6% CPU on
            every message, so the rare refusal pays for a rerun instead. */
        if (refused_for_good(err))
            set_refused_aside(self, in, err);
        return err;
    }
    in->outcome = NODE_INBOUND_ACK;
    return LEDGER_OK;
}

/*  Applies the peers' answers to this node's own outbox: an ack deletes the
    entry, a nack moves it to dead_letters (logged). An entry already gone is
    no error (answered twice). */
static ledger_err_t settle_answers(node_t *self, store_txn_t *txn)
{
    self->dead_in_batch = 0;
    for (size_t i = 0; i < self->answer_count; i++) {
        const relay_answer_t *a = &self->answers[i];
        char id[PROTO_ID_MAX + 1] = "-", corr[PROTO_TRANSFER_ID_MAX + 1] = "-";
        char cause[PROTO_ID_MAX + 1] = "-", type[NODE_TYPE_NAME_BYTES] = "-";
        if (!a->ack)
            describe_outbox_entry(txn, a->tag, id, corr, cause, type, sizeof type);
        ledger_err_t err =
            a->ack ? store_outbox_ack(txn, a->tag)
                   : store_outbox_to_dead(txn, a->tag, a->code, a->reason, self->ctx.now_ms);
        if (err && err != LEDGER_E_NOT_FOUND)
            return err;
        if (!a->ack && err == LEDGER_OK) {
            self->dead_in_batch++;
            node_log_write(
                NODE_LOG_WARN,
                "event=dead_letter tag=%llu id=%s type=%s corr=%s cause=%s code=%s reason=\"%s\"",
                (unsigned long long)a->tag, id, type, corr, cause, a->code, a->reason);
        }
    }
    return LEDGER_OK;
}

/*  The batch's write transaction (store_write): inbound messages, then the
    peers' answers, then the node's local work, then the state's prepare. */
static ledger_err_t apply_batch(store_txn_t *txn, void *arg)
{
    node_t *self = arg;
    /* Re-runnable after a map-full retry: start from a clean slate every time. */
    node_ctx_begin(&self->ctx, txn, node_now_ms());
    node_seen_begin(&self->seen_high);
    if (self->app.txn_begin)
        self->app.txn_begin(self->app.state);
    for (size_t i = 0; i < self->in.count; i++) {
        node_inbound_msg_t *in = &self->in.items[i];
        if (!in->decoded || in->prejudged)
            continue;
        ledger_err_t err = apply_inbound(self, txn, in);
        if (err)
            return err;
    }
    ledger_err_t err = settle_answers(self, txn);
    if (err)
        return err;
    if (self->local_count) {
        err = self->app.local_apply(&self->ctx, self->app.app);
        if (err)
            return err;
    }
    if (self->app.txn_prepare)
        return self->app.txn_prepare(&self->ctx, self->app.state);
    return LEDGER_OK;
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
    for (size_t i = 0; i < self->in.count; i++) {
        const node_inbound_msg_t *in = &self->in.items[i];
        size_t type = in->decoded && in->msg.type < PROTO_TYPE__COUNT ? (size_t)in->msg.type : 0;
        switch (in->outcome) {
        case NODE_INBOUND_ACK:
            s.messages_in++;
            self->stats.in_by_type[type][NODE_IN_APPLIED]++;
            break;
        case NODE_INBOUND_DUP:
            s.duplicates++;
            self->stats.in_by_type[type][NODE_IN_DUPLICATE]++;
            break;
        case NODE_INBOUND_NACK:
            s.nacks_sent++;
            self->stats.in_by_type[type][NODE_IN_NACKED]++;
            node_refused_t reason;
            if (node_refused_from_code(in->code, &reason))
                self->stats.links.refused[reason][type]++;
            break;
        case NODE_INBOUND_REPLY:
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
    node_metrics_histogram_observe(&self->stats.batch_size, batch_bounds,
                                   sizeof batch_bounds / sizeof batch_bounds[0],
                                   self->in.count + self->answer_count + self->local_count);
    node_metrics_histogram_observe(&self->stats.commit_us, commit_bounds,
                                   sizeof commit_bounds / sizeof commit_bounds[0], commit_us);
    self->stats.messages_in += s.messages_in;
    self->stats.duplicates += s.duplicates;
    self->stats.nacks_sent += s.nacks_sent;
    self->stats.queries += s.queries;
    self->stats.messages_out += self->ctx.published_count;
    self->stats.batches++;
    self->stats.commit_us_total += commit_us;
    node_keys_table_state(self->keys, &self->stats.links.allow);
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

static void refresh_relay_stats(node_t *self)
{
    pthread_mutex_lock(&self->stats_lock);
    relay_get_stats(self->relay, &self->stats.relay);
    pthread_mutex_unlock(&self->stats_lock);
}

/* One turn: drain, apply, commit, answer, publish. Returns false after a failed batch. */
static bool process_ready(node_t *self)
{
    node_inbound_receive(&self->in, self->inbox);
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
    if (self->in.count == 0 && self->answer_count == 0 && self->local_count == 0) {
        refresh_relay_stats(self); /* answers all ignored make no batch, but are counted */
        return true;
    }

    uint64_t start_us = clock_mono_us();
    ledger_err_t err;
    do { /* each rerun has one more refused message set aside: it ends */
        self->rerun_batch = false;
        err = store_write(self->store, apply_batch, self);
        node_seen_end(&self->seen_high, err == LEDGER_OK);
        if (self->app.txn_end)
            self->app.txn_end(self->app.state, err == LEDGER_OK);
    } while (err && self->rerun_batch);
    uint64_t commit_us = clock_mono_us() - start_us;
    if (err) {
        node_log_write(NODE_LOG_ERROR,
                       "event=batch_failed messages=%zu answers=%zu error=%s detail=\"%s\"",
                       self->in.count, self->answer_count, ledger_err_name(err),
                       store_last_error(self->store));
        node_inbound_drop(&self->in); /* nothing answered: senders redeliver */
        node_ctx_reset(&self->ctx);
        if (self->local_count)
            self->app.local_done(self->app.app, err);
        pthread_mutex_lock(&self->stats_lock);
        self->stats.batch_failures++;
        pthread_mutex_unlock(&self->stats_lock);
        return false;
    }
    node_inbound_answer(&self->in, self->inbox, self->ctx.now_ms);
    publish_emitted(self);
    if (self->local_count)
        self->app.local_done(self->app.app, LEDGER_OK);
    relay_settled(self->relay, self->answers, self->answer_count);
    count_outcomes(self, commit_us);
    node_ctx_reset(&self->ctx);
    if (self->app.on_commit && self->in.count)
        self->app.on_commit(self->app.app);
    return true;
}

ledger_err_t node_run(node_t *self)
{
    assert(self);
    signal_wake_fd = self->wake_fd;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    size_t peers = relay_peer_count(self->relay);
    zmq_pollitem_t items[2 + RELAY_PEERS_MAX + NODE_MONITOR_SOCKETS_MAX];
    items[0] = (zmq_pollitem_t){.socket = zsock_resolve(self->inbox), .events = ZMQ_POLLIN};
    items[1] = (zmq_pollitem_t){.fd = self->wake_fd, .events = ZMQ_POLLIN};
    for (size_t i = 0; i < peers; i++)
        items[2 + i] =
            (zmq_pollitem_t){.socket = relay_socket(self->relay, i), .events = ZMQ_POLLIN};
    size_t polled =
        2 + peers +
        node_monitor_poll_items(self->monitor, items + 2 + peers, NODE_MONITOR_SOCKETS_MAX);

    uint64_t timeout_ms = relay_pump(self->relay, clock_mono_ms(), NODE_IDLE_MS);
    while (!stop_requested) {
        if (node_inbound_pending(&self->in))
            timeout_ms = 0; /* the rest of a bundle is already read: no waiting for more */
        int rc = zmq_poll(items, (int)polled, (long)timeout_ms);
        if (rc < 0 && zmq_errno() != EINTR) {
            node_log_write(NODE_LOG_ERROR, "event=poll_failed error=\"%s\"",
                           zmq_strerror(zmq_errno()));
            return LEDGER_E_IO;
        }
        if (stop_requested)
            break;
        if (items[1].revents & ZMQ_POLLIN) {
            uint64_t count;
            ssize_t ignored = read(self->wake_fd, &count, sizeof count);
            (void)ignored;
        }
        node_read_monitors(self, items + 2 + peers, polled - 2 - peers);
        node_refresh_keys(self);
        bool ok = process_ready(self);
        uint64_t now = node_now_ms();
        if (now - self->last_prune_ms >= NODE_SEEN_PRUNE_EVERY_MS) {
            size_t pruned = 0;
            self->last_prune_ms = now;
            if (store_write(self->store, prune_seen, &pruned) == LEDGER_OK && pruned)
                node_log_write(NODE_LOG_INFO, "event=seen_pruned count=%zu", pruned);
        }
        timeout_ms = relay_pump(self->relay, clock_mono_ms(), NODE_IDLE_MS);
        if (!ok)
            usleep(NODE_FAILURE_PAUSE_MS * NODE_US_PER_MS); /* back off from a failing disk */
    }
    node_log_write(NODE_LOG_INFO, "event=stopping");
    if (self->app.on_stop) {
        hook_run_t run = {self, self->app.on_stop};
        ledger_err_t err = store_write(self->store, run_hook, &run);
        node_ctx_reset(&self->ctx);
        if (err)
            node_log_write(NODE_LOG_ERROR, "event=stop_failed error=%s detail=\"%s\"",
                           ledger_err_name(err), store_last_error(self->store));
    }
    return LEDGER_OK;
}

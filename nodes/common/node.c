/* node.c: the node event loop: drain, apply in one commit, answer, publish, relay. */
#include "node.h"
#include "node_internal.h"

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
    /* A tool killed inside its read transaction may have left a slot behind (node_upkeep.c). */
    node_check_readers(self);
    self->last_reader_check_ms = node_now_ms();
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

/*  Binds the feed's endpoint again after node_feed_drop. The port may not be free yet (libzmq
    closes the listener on its I/O thread): the first try is at once, then one every
    NODE_FEED_REBIND_RETRY_MS; a failure is logged at error every retry after the first
    (the feed is dark meanwhile: subscribers keep retrying by themselves). */
static void node_feed_rebind(node_t *self, uint64_t now_ms)
{
    if (self->feed_retry_ms && now_ms < self->feed_retry_ms)
        return;
    if (zsock_bind(self->feed, "%s", self->config.feed) < 0) {
        if (self->feed_retry_ms)
            node_log_write(NODE_LOG_ERROR, "event=feed_rebind_failed feed=%s error=\"%s\"",
                           self->config.feed, zmq_strerror(zmq_errno()));
        self->feed_retry_ms = now_ms + NODE_FEED_REBIND_RETRY_MS;
        return;
    }
    self->feed_unbound = false;
    self->feed_retry_ms = 0;
    node_log_write(NODE_LOG_INFO, "event=feed_rebound feed=%s", self->config.feed);
}

/*  The allow list changed (a key may have been denied): zauth judges a connection at its
    handshake only, and a PUB cannot refuse single messages, so the feed's endpoint is unbound,
    which closes every subscription (libzmq ends the sessions its listener accepted), and bound
    again. Allowed subscribers reconnect by themselves and pass zauth again; a denied key does
    not. The feed is best effort (DESIGN.md): what it publishes meanwhile is lost to them. */
static void node_feed_drop(node_t *self, uint64_t now_ms)
{
    if (self->feed_unbound) /* dropped already: nothing is subscribed */
        return;
    char *endpoint = zsock_last_endpoint(self->feed); /* as bound: a wildcard resolved */
    if (!endpoint || zsock_unbind(self->feed, "%s", endpoint) != 0) {
        node_log_write(NODE_LOG_ERROR, "event=feed_unbind_failed feed=%s error=\"%s\"",
                       self->config.feed, endpoint ? zmq_strerror(zmq_errno()) : "no endpoint");
        zstr_free(&endpoint);
        self->feed_drop_pending = true; /* tried again on the next turn */
        return;
    }
    node_log_write(NODE_LOG_INFO,
                   "event=feed_subscriptions_dropped feed=%s reason=\"the allow list changed\"",
                   endpoint);
    zstr_free(&endpoint);
    self->feed_drop_pending = false;
    self->feed_unbound = true;
    self->feed_retry_ms = 0;
    node_feed_rebind(self, now_ms);
}

/* Rereads the allow dir if it changed (node_keys_refresh: at most once a second). */
static void node_refresh_keys(node_t *self)
{
    uint64_t now_ms = clock_mono_ms();
    bool reloaded = node_keys_refresh(self->keys, now_ms);
    if (node_keys_take_dropped(self->keys) || self->feed_drop_pending)
        node_feed_drop(self, now_ms);
    if (self->feed_unbound)
        node_feed_rebind(self, now_ms);
    if (!reloaded)
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
    if (err == LEDGER_E_CORRUPT) { /* start faulted: reads are served, writes refused */
        node_fault_set(self, "start",
                       "stored data does not decode or does not add up (corrupt) "
                       "in the node's start hook");
        err = LEDGER_OK;
    }
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

static void refresh_relay_stats(node_t *self)
{
    pthread_mutex_lock(&self->stats_lock);
    relay_get_stats(self->relay, &self->stats.relay);
    pthread_mutex_unlock(&self->stats_lock);
}

/* One turn: drain, apply, commit, answer, publish. Returns false after a failed batch. */
static bool process_ready(node_t *self)
{
    if (node_fault_active(self)) {
        node_fault_turn(self); /* writes nothing (node.h, "Storage faults") */
        return true;
    }
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
        err = store_write(self->store, node_apply_batch, self);
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
        if (err == LEDGER_E_MAP_FULL) { /* no room: reads go on */
            node_answer_queries_only(self);
            node_inbound_answer(&self->in, self->inbox, self->ctx.now_ms);
        } else {
            node_inbound_drop(&self->in); /* nothing answered: senders redeliver */
        }
        node_ctx_reset(&self->ctx);
        node_fault_after_batch(self, err);
        if (self->local_count) /* a fault is the store's, not the requests' */
            self->app.local_done(self->app.app, node_fault_active(self) ? LEDGER_E_STORE : err);
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

/*  The relay's pump; an outbox record it cannot read faults the node (relay.h): carrying on
    would apply and ack inbound messages whose effects are never forwarded. */
static uint64_t node_pump(node_t *self)
{
    uint64_t timeout_ms = relay_pump(self->relay, clock_mono_ms(), NODE_IDLE_MS);
    char where[NODE_FAULT_REASON_MAX];
    if (relay_corrupt(self->relay, where, sizeof where) == LEDGER_OK)
        return timeout_ms;
    char reason[NODE_FAULT_REASON_MAX];
    snprintf(reason, sizeof reason, "stored data does not decode (corrupt) %.200s", where);
    node_fault_set(self, "relay", reason);
    return NODE_IDLE_MS;
}

/*  After a turn: upkeep, then the relay, unless the node is (or became) faulted: then nothing
    is written or relayed. The poll's timeout. */
static uint64_t node_after_turn(node_t *self)
{
    if (node_fault_active(self))
        return NODE_IDLE_MS;
    bool more = node_upkeep(self);
    if (node_fault_active(self))
        return NODE_IDLE_MS;
    uint64_t timeout_ms = node_pump(self);
    /* A prune hit its limit: the next one now, not after a poll. */
    return more && !node_fault_active(self) ? 0 : timeout_ms;
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

    uint64_t timeout_ms = node_fault_active(self) ? NODE_IDLE_MS : node_pump(self);
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
        timeout_ms = node_after_turn(self);
        if (!ok)
            usleep(NODE_FAILURE_PAUSE_MS * NODE_US_PER_MS); /* back off from a failing disk */
    }
    node_log_write(NODE_LOG_INFO, "event=stopping");
    if (self->app.on_stop && node_fault_active(self))
        node_log_write(NODE_LOG_WARN, "event=stop_hook_skipped reason=storage_fault");
    else if (self->app.on_stop) {
        hook_run_t run = {self, self->app.on_stop};
        ledger_err_t err = store_write(self->store, run_hook, &run);
        node_ctx_reset(&self->ctx);
        if (err)
            node_log_write(NODE_LOG_ERROR, "event=stop_failed error=%s detail=\"%s\"",
                           ledger_err_name(err), store_last_error(self->store));
    }
    return LEDGER_OK;
}

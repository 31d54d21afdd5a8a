/*  gateway_accounts_client.c: the accounts client actor.

    The actor's loop: take what the workers queued, send what is unsent,
    expire what is past its deadline, then poll the pipe ($TERM), the DEALER
    (replies) and the eventfd (new queries) until the nearest deadline or
    send retry. `lock` guards the queue, the queries' `done` flags and
    `stopping`; the in-flight list is the actor's alone.
*/
#include "gateway_accounts_client.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <czmq.h>

#include "curve_sock.h"
#include "gateway_actor.h"

#include "clock.h"

#define QUERY_ORIGIN_SUFFIX "-q"
#define QUERY_ORIGIN_FALLBACK "gateway-q"
#define SEND_RETRY_MS 20       /* retry of a query send while no accounts connection is up */
#define POLL_MAX_MS 1000       /* longest poll while nothing is due */
#define RECEIVE_BURST_MAX 1024 /* replies read per wake-up before the deadlines are looked at */
#define DEALER_FRAME_MAX_BYTES (PROTO_FRAME_MAX + 1024) /* ZMQ_MAXMSGSIZE on the DEALER */
#define DEALER_HWM_MESSAGES 1024
#define REPLY_FRAMES_MAX 3 /* the tag, the envelope, and a slot that takes any extra frame */

struct gateway_accounts_client_t {
    char endpoint[GATEWAY_ACCOUNTS_ENDPOINT_MAX];
    char origin[PROTO_NODE_MAX + 1];
    uint32_t timeout_ms;
    uint64_t (*now_ms)(void);
    zcert_t *cert; /* the gateway's (a copy); NULL: plain */
    char server_key[GATEWAY_ACCOUNTS_SERVER_KEY_BYTES];
    void (*suspend)(void *waiter);
    void (*resume)(void *waiter);
    atomic_uint_fast64_t seq;

    pthread_mutex_t lock;
    bool stopping;
    gateway_accounts_query_t *head, *tail; /* handed over, not yet taken by the actor */
    int wake_fd;                           /* eventfd: new queries */

    zactor_t *actor;
    ledger_err_t start_err; /* written by the actor before its ready signal */
};

/* --- the actor ----------------------------------------------------------- */

/* Marks `query` done with `outcome` and resumes its waiter; the query may be freed after. */
static void query_finish(gateway_accounts_client_t *self, gateway_accounts_query_t *query,
                         gateway_accounts_outcome_t outcome, const char *why)
{
    if (why)
        snprintf(query->why, sizeof query->why, "%s", why);
    void *waiter = query->waiter;
    pthread_mutex_lock(&self->lock);
    query->outcome = outcome;
    query->done = true;
    pthread_mutex_unlock(&self->lock);
    self->resume(waiter);
}

/* Moves every handed-over query onto the in-flight list; returns `stopping`. */
static bool take_queued(gateway_accounts_client_t *self, gateway_accounts_query_t **inflight)
{
    pthread_mutex_lock(&self->lock);
    while (self->head) {
        gateway_accounts_query_t *query = self->head;
        self->head = query->next;
        query->next = *inflight;
        *inflight = query;
    }
    self->tail = NULL;
    bool stopping = self->stopping;
    pthread_mutex_unlock(&self->lock);
    return stopping;
}

/* Unlinks and returns the in-flight query with `tag`, or NULL. */
static gateway_accounts_query_t *inflight_take(gateway_accounts_query_t **list, uint64_t tag)
{
    for (gateway_accounts_query_t **p = list; *p; p = &(*p)->next) {
        if ((*p)->tag == tag) {
            gateway_accounts_query_t *query = *p;
            *p = query->next;
            return query;
        }
    }
    return NULL;
}

/* The envelope of a reply to `query` (taken off the in-flight list): answer it, or keep waiting. */
static void handle_reply(gateway_accounts_client_t *self, gateway_accounts_query_t *query,
                         zmq_msg_t *envelope, gateway_accounts_query_t **inflight)
{
    char why[PROTO_REASON_MAX + 1] = "";
    proto_msg_t *reply = &query->reply;
    ledger_err_t err =
        proto_decode(zmq_msg_data(envelope), zmq_msg_size(envelope), reply, why, sizeof why);
    if (err) {
        query_finish(self, query, GATEWAY_ACCOUNTS_BAD_REPLY, why);
    } else if (reply->type == PROTO_ACCOUNT_REPLY) {
        query->has_reply = true;
        query_finish(self, query, GATEWAY_ACCOUNTS_OK, NULL);
    } else if (reply->type == PROTO_ACK) {
        query->next = *inflight; /* an ack is not the answer: keep waiting */
        *inflight = query;
    } else {
        char text[PROTO_REASON_MAX + 1];
        snprintf(text, sizeof text, "%s %.48s %.180s", proto_type_name(reply->type),
                 reply->type == PROTO_NACK ? reply->body.reply.code : "",
                 reply->type == PROTO_NACK ? reply->body.reply.reason : "");
        proto_msg_release(reply);
        query_finish(self, query, GATEWAY_ACCOUNTS_BAD_REPLY, text);
    }
}

/* Reads one multipart message; false when nothing more is ready. */
static bool receive_reply(gateway_accounts_client_t *self, void *socket,
                          gateway_accounts_query_t **inflight)
{
    zmq_msg_t frames[REPLY_FRAMES_MAX];
    for (int i = 0; i < REPLY_FRAMES_MAX; i++)
        zmq_msg_init(&frames[i]);
    size_t count = 0;
    bool more = true;
    while (more) {
        zmq_msg_t *frame = &frames[count < REPLY_FRAMES_MAX - 1 ? count : REPLY_FRAMES_MAX - 1];
        if (zmq_msg_recv(frame, socket, count == 0 ? ZMQ_DONTWAIT : 0) < 0)
            break;
        count++;
        more = zmq_msg_more(frame);
    }
    uint64_t tag = 0;
    gateway_accounts_query_t *query = NULL;
    if (count == 2 &&
        proto_tag_unpack(zmq_msg_data(&frames[0]), zmq_msg_size(&frames[0]), &tag) == LEDGER_OK)
        query = inflight_take(inflight, tag);
    /* Replies to queries that already timed out are dropped here. */
    if (query)
        handle_reply(self, query, &frames[1], inflight);
    for (int i = 0; i < REPLY_FRAMES_MAX; i++)
        zmq_msg_close(&frames[i]);
    return count > 0;
}

static bool send_query(void *socket, const gateway_accounts_query_t *query)
{
    uint8_t tag[PROTO_TAG_SIZE];
    proto_tag_pack(query->tag, tag);
    /* ZMQ_IMMEDIATE: EAGAIN while no connection is up; the multipart message is atomic. */
    if (zmq_send(socket, tag, sizeof tag, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return false;
    return zmq_send(socket, query->data, query->size, ZMQ_DONTWAIT) >= 0;
}

/* Sends what is unsent, expires what is due; returns how long the actor may poll. */
static uint64_t service_inflight(gateway_accounts_client_t *self, void *socket,
                                 gateway_accounts_query_t **inflight)
{
    uint64_t now = clock_mono_ms();
    uint64_t wait_ms = POLL_MAX_MS;
    for (gateway_accounts_query_t **p = inflight; *p;) {
        gateway_accounts_query_t *query = *p;
        if (!query->sent)
            query->sent = send_query(socket, query);
        if (now >= query->deadline_mono_ms) {
            *p = query->next;
            query_finish(self, query, GATEWAY_ACCOUNTS_TIMEOUT, NULL);
            continue;
        }
        uint64_t left = query->deadline_mono_ms - now;
        if (!query->sent && left > SEND_RETRY_MS)
            left = SEND_RETRY_MS;
        if (left < wait_ms)
            wait_ms = left;
        p = &query->next;
    }
    return wait_ms;
}

static zsock_t *open_dealer(const gateway_accounts_client_t *self)
{
    zsock_t *dealer = zsock_new(ZMQ_DEALER);
    if (!dealer)
        return NULL;
    zsock_set_linger(dealer, 0);
    zsock_set_immediate(dealer, 1);
    zsock_set_maxmsgsize(dealer, DEALER_FRAME_MAX_BYTES);
    zsock_set_sndhwm(dealer, DEALER_HWM_MESSAGES);
    zsock_set_rcvhwm(dealer, DEALER_HWM_MESSAGES);
    char why[PROTO_REASON_MAX + 1];
    if ((self->cert &&
         curve_sock_client(dealer, self->cert, self->server_key, why, sizeof why) != LEDGER_OK) ||
        zsock_connect(dealer, "%s", self->endpoint) != 0)
        zsock_destroy(&dealer);
    return dealer;
}

/* The actor's loop over its three inputs until $TERM; the in-flight list stays for the stop. */
static void actor_run(gateway_accounts_client_t *self, zsock_t *pipe, zsock_t *dealer,
                      gateway_accounts_query_t **inflight)
{
    void *socket = zsock_resolve(dealer);
    for (;;) {
        if (take_queued(self, inflight))
            return;
        uint64_t wait_ms = service_inflight(self, socket, inflight);
        zmq_pollitem_t items[3] = {{zsock_resolve(pipe), 0, ZMQ_POLLIN, 0},
                                   {socket, 0, ZMQ_POLLIN, 0},
                                   {NULL, self->wake_fd, ZMQ_POLLIN, 0}};
        int rc = zmq_poll(items, 3, (long)wait_ms);
        if (rc < 0 && errno != EINTR)
            return;
        if (rc <= 0)
            continue;
        if ((items[0].revents & ZMQ_POLLIN) && gateway_actor_pipe_says_stop(pipe))
            return;
        if (items[2].revents & ZMQ_POLLIN) {
            uint64_t counter;
            ssize_t n = read(self->wake_fd, &counter, sizeof counter);
            (void)n;
        }
        if (items[1].revents & ZMQ_POLLIN) {
            for (int i = 0; i < RECEIVE_BURST_MAX && receive_reply(self, socket, inflight); i++)
                ;
        }
    }
}

static void accounts_client_actor(zsock_t *pipe, void *args)
{
    gateway_accounts_client_t *self = args;
    zsock_t *dealer = open_dealer(self);
    self->start_err = dealer ? LEDGER_OK : LEDGER_E_INVALID;
    zsock_signal(pipe, 0);
    if (!dealer) {
        while (!gateway_actor_pipe_says_stop(pipe))
            ;
        return;
    }
    gateway_accounts_query_t *inflight = NULL;
    actor_run(self, pipe, dealer, &inflight);
    /* Stopping (or a broken poll): refuse new queries, answer every query held 503. */
    pthread_mutex_lock(&self->lock);
    self->stopping = true;
    pthread_mutex_unlock(&self->lock);
    take_queued(self, &inflight);
    while (inflight) {
        gateway_accounts_query_t *query = inflight;
        inflight = query->next;
        query_finish(self, query, GATEWAY_ACCOUNTS_STOPPING, NULL);
    }
    zsock_destroy(&dealer);
}

/* --- the workers' side ---------------------------------------------------- */

ledger_err_t gateway_accounts_client_new(const gateway_accounts_client_config_t *config,
                                         gateway_accounts_client_t **out)
{
    assert(config && config->suspend && config->resume && config->timeout_ms > 0 && out);
    *out = NULL;
    if (!config->endpoint || !config->node_name ||
        strlen(config->endpoint) >= GATEWAY_ACCOUNTS_ENDPOINT_MAX ||
        !config->cert != !config->server_key ||
        (config->server_key && strlen(config->server_key) >= GATEWAY_ACCOUNTS_SERVER_KEY_BYTES))
        return LEDGER_E_INVALID;
    gateway_accounts_client_t *self = calloc(1, sizeof *self);
    if (!self)
        return LEDGER_E_NOMEM;
    snprintf(self->endpoint, sizeof self->endpoint, "%s", config->endpoint);
    if (strlen(config->node_name) + strlen(QUERY_ORIGIN_SUFFIX) <= PROTO_NODE_MAX)
        snprintf(self->origin, sizeof self->origin, "%s" QUERY_ORIGIN_SUFFIX, config->node_name);
    else
        snprintf(self->origin, sizeof self->origin, "%s", QUERY_ORIGIN_FALLBACK);
    self->timeout_ms = config->timeout_ms;
    self->now_ms = config->now_ms;
    if (config->cert) {
        /* czmq's zcert_dup takes a non-const cert but only reads it. */
        self->cert = zcert_dup((zcert_t *)config->cert);
        snprintf(self->server_key, sizeof self->server_key, "%s", config->server_key);
        if (!self->cert) {
            free(self);
            return LEDGER_E_NOMEM;
        }
    }
    self->suspend = config->suspend;
    self->resume = config->resume;
    /* Query ids only need to differ from recent ones: start from the clock, count up. */
    atomic_init(&self->seq, clock_wall_ms() * 1000u + 1u);
    pthread_mutex_init(&self->lock, NULL);
    self->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (self->wake_fd >= 0)
        self->actor = zactor_new(accounts_client_actor, self);
    ledger_err_t err = !self->actor ? LEDGER_E_IO : self->start_err;
    if (err) {
        gateway_accounts_client_destroy(&self);
        return err;
    }
    *out = self;
    return LEDGER_OK;
}

ledger_err_t gateway_accounts_client_prepare(gateway_accounts_client_t *self,
                                             gateway_accounts_query_t *query,
                                             const proto_query_t *q, char *why, size_t why_size)
{
    assert(self && query && q && why);
    memset(query, 0, sizeof *query);
    proto_msg_t msg;
    memset(&msg, 0, sizeof msg);
    msg.v = PROTO_VERSION;
    msg.type = PROTO_ACCOUNT_QUERY;
    snprintf(msg.origin, sizeof msg.origin, "%s", self->origin);
    msg.seq = atomic_fetch_add(&self->seq, 1);
    msg.ts_ms = self->now_ms ? self->now_ms() : clock_wall_ms();
    msg.body.query = *q;
    ledger_err_t err = proto_encode(&msg, &query->data, &query->size, why, why_size);
    if (err)
        return err;
    query->op = q->op;
    query->tag = msg.seq;
    query->deadline_mono_ms = clock_mono_ms() + self->timeout_ms;
    return LEDGER_OK;
}

bool gateway_accounts_client_send(gateway_accounts_client_t *self, gateway_accounts_query_t *query)
{
    assert(self && query && query->data);
    pthread_mutex_lock(&self->lock);
    if (self->stopping) {
        pthread_mutex_unlock(&self->lock);
        return false;
    }
    self->suspend(query->waiter);
    query->next = NULL;
    if (self->tail)
        self->tail->next = query;
    else
        self->head = query;
    self->tail = query;
    pthread_mutex_unlock(&self->lock);
    uint64_t one = 1;
    ssize_t n = write(self->wake_fd, &one, sizeof one);
    (void)n; /* a full counter (EAGAIN) already means "wake up" */
    return true;
}

bool gateway_accounts_client_query_done(gateway_accounts_client_t *self,
                                        const gateway_accounts_query_t *query)
{
    assert(self && query);
    pthread_mutex_lock(&self->lock);
    bool done = query->done;
    pthread_mutex_unlock(&self->lock);
    return done;
}

void gateway_accounts_client_query_release(gateway_accounts_query_t *query)
{
    assert(query);
    free(query->data);
    query->data = NULL;
    if (query->has_reply)
        proto_msg_release(&query->reply);
    query->has_reply = false;
}

void gateway_accounts_client_stop(gateway_accounts_client_t *self)
{
    assert(self);
    pthread_mutex_lock(&self->lock);
    self->stopping = true;
    pthread_mutex_unlock(&self->lock);
    /* The actor answers every query it holds before it ends. */
    zactor_destroy(&self->actor);
}

void gateway_accounts_client_destroy(gateway_accounts_client_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gateway_accounts_client_t *self = *self_p;
    gateway_accounts_client_stop(self);
    if (self->wake_fd >= 0)
        close(self->wake_fd);
    pthread_mutex_destroy(&self->lock);
    zcert_destroy(&self->cert);
    free(self);
    *self_p = NULL;
}

/*  gateway_stream.c: the Server-Sent Events hub (see gateway_stream.h).

    State of one stream (stream_t) lives from gateway_streams_serve to MHD's
    free callback of its response. `lock` guards the list, each stream's
    flags (suspended, closing, peer_gone, ping_due) and known_last_seq; the
    output buffer and sent_seq belong to whichever MHD worker is running the
    stream's content reader (MHD runs one connection on one thread at a time).

    The suspend/resume handshake, without lost wake-ups: the reader suspends
    only under `lock` and only if known_last_seq (the newest event seq the
    hub has seen committed) is not beyond what it sent; the hub raises
    known_last_seq under `lock` before it looks for suspended streams to
    resume. A commit is therefore either seen by the reader's next read or
    finds the stream suspended and resumes it.
*/
#define _GNU_SOURCE /* POLLRDHUP */
#include "gateway_stream.h"
#include "gateway_stream_reply.h"
#include "text.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "gateway_owners.h"
#include "gateway_redact.h"
#include "gateway_view.h"
#include "clock.h"

#define HUB_IDLE_WAIT_MS 1000
#define HUB_POLL_ERROR_BACKOFF_US 10000 /* after poll() fails for another reason than EINTR */
#define STREAM_BLOCK_BYTES (16u * 1024u)
#define STREAM_EVENT_MAX (GATEWAY_RECORD_MAX + 1024u) /* one rendered event (JSON), bytes */
#define STREAM_OUT_CAP (GATEWAY_STREAM_BUFFER_BYTES + STREAM_EVENT_MAX + 256u)
#define STREAMS_LIMIT 1024           /* the most streams a hub allows */
#define POLL_MAX (1 + STREAMS_LIMIT) /* the wake-up fd + every stream */
#define EVENT_HEAD_SIZE 64           /* "id: <seq>\nevent: transfer\ndata: ", bytes */
#define REFUSAL_TEXT_SIZE 160        /* the too_many_streams message, bytes */
#define STALL_MS_MIN 100u            /* the shortest stall timeout honoured */
#define STREAM_PREAMBLE ": ledger events\nretry: 2000\n\n"

typedef struct stream {
    struct stream *next, *prev;
    gateway_streams_t *hub;
    struct MHD_Connection *conn;
    int fd; /* the connection's socket, polled while suspended */
    /* Worker-owned (the content reader). */
    char *out;
    size_t out_len, out_off;
    uint64_t sent_seq;                            /* newest event seq formatted into `out` */
    char key_id[GATEWAY_STREAMS_KEY_ID_MAX + 1];  /* the API key it was opened with */
    char principal[GATEWAY_PRINCIPAL_ID_MAX + 1]; /* whose stream it is */
    bool sees_all;                                /* an operator: every event */
    bool redact;                                  /* no risk:read: transfers redacted */
    /* Guarded by hub->lock. */
    bool suspended;
    bool closing;
    bool peer_gone;
    bool ping_due;
    bool stalled; /* its socket was shut down: the client stopped taking bytes */
    uint64_t last_write_mono_ms;
    uint64_t awake_mono_ms; /* when it was last started or resumed: a stall counts from later */
} stream_t;

struct gateway_streams_t {
    store_t *store;
    gateway_streams_limits_t limits; /* defaults filled in */
    pthread_mutex_t lock;
    gateway_streams_counters_t counters; /* guarded by lock; `open` is not kept here */
    stream_t *head;
    unsigned open;
    bool stopping;
    uint64_t known_last_seq;
    int wake_fd;
    pthread_t thread;
    bool thread_started;
    bool joined;
    /* The hub thread's work arrays. */
    struct pollfd fds[POLL_MAX];
    struct stream *polled[POLL_MAX];
    struct MHD_Connection *resume[POLL_MAX];
};

bool gateway_streams_parse_id(const char *text, uint64_t *out)
{
    return text_parse_u64(text, out);
}

ledger_err_t gateway_streams_render_event(store_txn_t *txn, const gateway_event_t *event,
                                          bool redact, char **text_out)
{
    assert(txn && event && text_out);
    json_t *transfer = NULL;
    ledger_err_t err = gateway_view_transfer_get(txn, event->transfer_id, &transfer);
    if (err == LEDGER_E_NOT_FOUND || err == LEDGER_E_CORRUPT)
        transfer = json_null();
    else if (err)
        return err;
    if (redact)
        gateway_redact_transfer(transfer);
    char at[CLOCK_UTC_TEXT_SIZE];
    json_t *json = json_pack("{s:I, s:s, s:s, s:s, s:s, s:I, s:o}", "seq", (json_int_t)event->seq,
                             "type", event->type, "node", event->node, "message_id",
                             event->message_id, "at", clock_format_utc(event->ts_ms, at), "ts_ms",
                             (json_int_t)event->ts_ms, "transfer", transfer);
    if (!json)
        return LEDGER_E_NOMEM;
    *text_out = json_dumps(json, JSON_COMPACT);
    json_decref(json);
    return *text_out ? LEDGER_OK : LEDGER_E_NOMEM;
}

static void hub_wake(gateway_streams_t *hub)
{
    uint64_t one = 1;
    ssize_t n = write(hub->wake_fd, &one, sizeof one);
    (void)n; /* a full counter (EAGAIN) already means "wake up" */
}

void gateway_streams_notify(gateway_streams_t *self)
{
    if (self)
        hub_wake(self);
}

unsigned gateway_streams_open(gateway_streams_t *self)
{
    assert(self);
    pthread_mutex_lock(&self->lock);
    unsigned open = self->open;
    pthread_mutex_unlock(&self->lock);
    return open;
}

/* --- responses ------------------------------------------------------------ */

/* --- the content reader (MHD worker threads) ------------------------------ */

static bool out_append(stream_t *s, const char *data, size_t len)
{
    if (s->out_len + len > STREAM_OUT_CAP)
        return false;
    memcpy(s->out + s->out_len, data, len);
    s->out_len += len;
    return true;
}

/*  Before event `seq`: if events this stream had not reached were pruned (a very slow
    reader), the reset block that says so. False if it does not fit (stop reading). */
static bool note_gap(stream_t *s, uint64_t seq)
{
    if (seq == s->sent_seq + 1)
        return true;
    char reset[GATEWAY_STREAM_RESET_TEXT_SIZE];
    int r = gateway_stream_format_reset(reset, sizeof reset, "events_pruned", s->sent_seq, seq - 1,
                                        s->hub->limits.replay_max);
    if (s->out_len + (size_t)r > STREAM_OUT_CAP)
        return false;
    out_append(s, reset, (size_t)r);
    s->sent_seq = seq - 1;
    return true;
}

/* Appends one rendered event to the buffer; false to stop reading (the buffer is full). */
static bool format_event(stream_t *s, uint64_t seq, const char *json, size_t len)
{
    if (!note_gap(s, seq))
        return false;
    char head[EVENT_HEAD_SIZE];
    int n = snprintf(head, sizeof head, "id: %" PRIu64 "\nevent: transfer\ndata: ", seq);
    assert(n > 0 && (size_t)n < sizeof head);
    /* The event is compact JSON: no raw newline can end the data line early. An event
       that could never fit is skipped rather than stalling the stream. */
    if (memchr(json, '\n', len) || (size_t)n + len + 2 > STREAM_OUT_CAP) {
        s->sent_seq = seq;
        return true;
    }
    if (s->out_len + (size_t)n + len + 2 > STREAM_OUT_CAP)
        return false; /* not sent: read again from sent_seq next time */
    out_append(s, head, (size_t)n);
    out_append(s, json, len);
    out_append(s, "\n\n", 2);
    s->sent_seq = seq;
    return s->out_len < GATEWAY_STREAM_BUFFER_BYTES;
}

/* One read of the log into a stream's buffer. */
typedef struct {
    stream_t *stream;
    store_txn_t *txn;
    ledger_err_t err; /* a render failed: the read stopped there */
} fill_t;

static bool fill_event(const gateway_event_t *event, void *arg)
{
    fill_t *fill = arg;
    stream_t *s = fill->stream;
    if (!s->sees_all && !gateway_events_visible_to(event, s->principal)) {
        if (!note_gap(s, event->seq))
            return false;
        s->sent_seq = event->seq; /* another's: passed over, nothing read or sent */
        return true;
    }
    char *json = NULL;
    fill->err = gateway_streams_render_event(fill->txn, event, s->redact, &json);
    if (fill->err)
        return false;
    bool more = format_event(fill->stream, event->seq, json, strlen(json));
    free(json);
    return more;
}

/* Formats the next stored events into the (empty) buffer. False on a store error. */
static bool fill_from_log(stream_t *s)
{
    s->out_len = s->out_off = 0;
    fill_t fill = {.stream = s, .err = LEDGER_OK};
    ledger_err_t err = store_txn_begin(s->hub->store, false, &fill.txn);
    if (!err)
        err = gateway_events_read(fill.txn, s->sent_seq, GATEWAY_STREAM_READ_MAX, fill_event, &fill,
                                  NULL);
    store_txn_abort(&fill.txn);
    return err == LEDGER_OK && fill.err == LEDGER_OK;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    stream_t *s = cls;
    gateway_streams_t *hub = s->hub;
    for (;;) {
        if (s->out_off < s->out_len) {
            size_t n = s->out_len - s->out_off;
            if (n > max)
                n = max;
            memcpy(buf, s->out + s->out_off, n);
            s->out_off += n;
            pthread_mutex_lock(&hub->lock);
            s->last_write_mono_ms = clock_mono_ms();
            pthread_mutex_unlock(&hub->lock);
            return (ssize_t)n;
        }
        pthread_mutex_lock(&hub->lock);
        bool closing = s->closing || hub->stopping;
        bool gone = s->peer_gone;
        bool ping = s->ping_due;
        s->ping_due = false;
        /* Read before the store transaction begins: every event up to `known` is
           committed, so the read below sees it unless it was pruned. */
        uint64_t known = hub->known_last_seq;
        pthread_mutex_unlock(&hub->lock);
        if (gone)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        if (closing)
            return MHD_CONTENT_READER_END_OF_STREAM;

        uint64_t before = s->sent_seq;
        if (!fill_from_log(s))
            return MHD_CONTENT_READER_END_WITH_ERROR; /* the client reconnects and resumes */
        if (s->out_len > 0 || s->sent_seq != before)
            continue;
        if (known > s->sent_seq) {
            /* Committed events that are no longer stored: say so, never spin on them. */
            char reset[GATEWAY_STREAM_RESET_TEXT_SIZE];
            int r = gateway_stream_format_reset(reset, sizeof reset, "events_pruned", s->sent_seq,
                                                known, hub->limits.replay_max);
            s->out_len = s->out_off = 0;
            out_append(s, reset, (size_t)r);
            s->sent_seq = known;
            continue;
        }
        if (ping) {
            static const char comment[] = ": ping\n\n";
            s->out_len = s->out_off = 0;
            out_append(s, comment, sizeof comment - 1);
            continue;
        }
        /* Nothing to send: suspend (never return 0 without suspending: MHD would spin). */
        pthread_mutex_lock(&hub->lock);
        if (hub->known_last_seq > s->sent_seq || s->closing || hub->stopping || s->peer_gone ||
            s->ping_due) {
            pthread_mutex_unlock(&hub->lock);
            continue;
        }
        s->suspended = true;
        MHD_suspend_connection(s->conn);
        pthread_mutex_unlock(&hub->lock);
        return 0;
    }
}

/* --- serve ---------------------------------------------------------------- */

/* Where to start: the seq after which events are sent, and the reset block (if any). */
static ledger_err_t start_position(gateway_streams_t *hub, bool has_id, uint64_t last_event_id,
                                   uint64_t *start_out, char *reset, size_t reset_size)
{
    reset[0] = '\0';
    store_txn_t *txn = NULL;
    uint64_t last = 0, first = 0;
    ledger_err_t err = store_txn_begin(hub->store, false, &txn);
    if (!err)
        err = gateway_events_last_seq(txn, &last);
    if (!err)
        err = gateway_events_first_seq(txn, &first);
    store_txn_abort(&txn);
    if (err)
        return err;
    if (!has_id) {
        *start_out = last;
        return LEDGER_OK;
    }
    const char *reason = NULL;
    uint64_t start = last_event_id;
    if (last_event_id > last) {
        reason = "unknown_event_id";
        start = last;
    } else if (last_event_id < last && (first == 0 || first > last_event_id + 1)) {
        reason = "events_pruned";
        start = first ? first - 1 : last;
    }
    /* The replay bound: never render more than replay_max events of the log for one resume. */
    if (last - start > hub->limits.replay_max) {
        reason = "replay_limit";
        start = last;
        pthread_mutex_lock(&hub->lock);
        hub->counters.replay_limited++;
        pthread_mutex_unlock(&hub->lock);
    }
    if (reason)
        gateway_stream_format_reset(reset, reset_size, reason, last_event_id, start,
                                    hub->limits.replay_max);
    *start_out = start;
    return LEDGER_OK;
}

static void stream_release(stream_t *s)
{
    free(s->out);
    free(s);
}

/* Under hub->lock: streams of `principal` open now (or taking their slot). */
static unsigned principal_streams(const gateway_streams_t *hub, const char *principal)
{
    unsigned n = 0;
    for (const stream_t *s = hub->head; s; s = s->next)
        n += strcmp(s->principal, principal) == 0;
    return n;
}

/* Under hub->lock: takes s out of the list and gives its slot back. */
static void hub_unlink(gateway_streams_t *hub, stream_t *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        hub->head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->next = s->prev = NULL;
    assert(hub->open > 0);
    hub->open--;
}

static void stream_free(void *cls)
{
    stream_t *s = cls;
    gateway_streams_t *hub = s->hub;
    pthread_mutex_lock(&hub->lock);
    hub_unlink(hub, s);
    pthread_mutex_unlock(&hub->lock);
    stream_release(s);
}

/*  Takes a stream slot for s and links it into the hub (not yet suspended: the hub leaves it
    alone until its reader suspends it), so that concurrent opens of one principal count it.
    Otherwise answers 503 shutting_down / too_many_streams or 429 too_many_principal_streams,
    true. */
static bool refuse_without_slot(gateway_streams_t *self, stream_t *s, enum MHD_Result *result)
{
    pthread_mutex_lock(&self->lock);
    bool stopping = self->stopping;
    bool full = !stopping && self->open >= self->limits.max_streams;
    bool mine = !stopping && !full &&
                principal_streams(self, s->principal) >= self->limits.max_per_principal;
    if (full)
        self->counters.refused_full++;
    if (mine)
        self->counters.refused_per_principal++;
    if (!stopping && !full && !mine) {
        self->open++;
        s->last_write_mono_ms = s->awake_mono_ms = clock_mono_ms();
        s->next = self->head;
        if (self->head)
            self->head->prev = s;
        self->head = s;
    }
    pthread_mutex_unlock(&self->lock);
    char message[REFUSAL_TEXT_SIZE];
    if (stopping) {
        *result = gateway_stream_reply_error(s->conn, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting_down",
                                             NULL, "the gateway is shutting down; retry shortly");
    } else if (full) {
        snprintf(message, sizeof message,
                 "too many event streams are open (at most %u); close one or retry shortly",
                 self->limits.max_streams);
        *result = gateway_stream_reply_error(s->conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                                             "too_many_streams", NULL, message);
    } else if (mine) {
        snprintf(message, sizeof message,
                 "this principal has %u event streams open, the most allowed; close one first",
                 self->limits.max_per_principal);
        *result = gateway_stream_reply_error(s->conn, MHD_HTTP_TOO_MANY_REQUESTS,
                                             "too_many_principal_streams", NULL, message);
    }
    return stopping || full || mine;
}

/* The stream's response, its buffer holding the preamble and any reset block; NULL (and the
   slot given back) if the log cannot be read or MHD has no memory. */
static struct MHD_Response *stream_response(gateway_streams_t *self, stream_t *s, bool has_id,
                                            uint64_t last_event_id)
{
    char reset[GATEWAY_STREAM_RESET_TEXT_SIZE];
    ledger_err_t err =
        start_position(self, has_id, last_event_id, &s->sent_seq, reset, sizeof reset);
    if (!err) {
        out_append(s, STREAM_PREAMBLE, sizeof STREAM_PREAMBLE - 1);
        out_append(s, reset, strlen(reset));
    }
    struct MHD_Response *response =
        err ? NULL
            : MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK_BYTES, stream_read,
                                                s, stream_free);
    if (!response) {
        pthread_mutex_lock(&self->lock);
        hub_unlink(self, s);
        pthread_mutex_unlock(&self->lock);
    }
    return response;
}

/* Queues the stream's response (the stream is in the hub's list since it took its slot). */
static enum MHD_Result stream_start(stream_t *s, struct MHD_Response *response)
{
    gateway_stream_add_headers(response);
    MHD_set_connection_option(s->conn, MHD_CONNECTION_OPTION_TIMEOUT,
                              (unsigned int)GATEWAY_STREAM_TIMEOUT_S);
    enum MHD_Result result = MHD_queue_response(s->conn, MHD_HTTP_OK, response);
    MHD_destroy_response(response);
    return result;
}

void gateway_streams_close_key(gateway_streams_t *self, const char *key_id)
{
    assert(self && key_id);
    bool any = false;
    pthread_mutex_lock(&self->lock);
    for (stream_t *s = self->head; s; s = s->next) {
        if (strcmp(s->key_id, key_id) == 0) {
            s->closing = true;
            any = true;
        }
    }
    pthread_mutex_unlock(&self->lock);
    if (any)
        hub_wake(self);
}

enum MHD_Result gateway_streams_serve(gateway_streams_t *self, struct MHD_Connection *conn,
                                      const char *method, const gateway_auth_caller_t *caller)
{
    assert(self && conn && method && caller);
    bool head = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    if (!head && strcmp(method, MHD_HTTP_METHOD_GET) != 0)
        return gateway_stream_reply_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                                          NULL, "the event stream answers GET (and HEAD) only");
    bool has_id = false;
    uint64_t last_event_id = 0;
    const char *field = NULL;
    if (!gateway_stream_parse_last_event_id(conn, &has_id, &last_event_id, &field))
        return gateway_stream_reply_error(conn, MHD_HTTP_BAD_REQUEST, "invalid_query", field,
                                          "the last event id must be the decimal id of an event");
    if (head)
        return gateway_stream_reply_head(conn);

    stream_t *s = calloc(1, sizeof *s);
    char *out = malloc(STREAM_OUT_CAP);
    if (!s || !out) {
        free(s);
        free(out);
        return gateway_stream_reply_error(
            conn, MHD_HTTP_SERVICE_UNAVAILABLE, "too_many_streams", NULL,
            "the gateway is out of memory for event streams; retry shortly");
    }
    s->hub = self;
    s->conn = conn;
    s->out = out;
    text_copy_cut(s->key_id, sizeof s->key_id, caller->key_id);
    text_copy_cut(s->principal, sizeof s->principal, caller->principal.id);
    s->sees_all = gateway_owners_sees_all(caller);
    s->redact = gateway_redact_needed(caller);
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    s->fd = info ? info->connect_fd : -1;
    /* A fixed send buffer: the kernel's autotuning would let one client that does not read
       hold megabytes (4 MiB by default) before its stream could be seen to stall. */
    int sndbuf = (int)GATEWAY_STREAM_SNDBUF_BYTES;
    if (s->fd >= 0)
        setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);

    /* Take a slot first, so a refused stream costs no store read. */
    enum MHD_Result refused = MHD_NO;
    if (refuse_without_slot(self, s, &refused)) {
        stream_release(s);
        return refused;
    }
    struct MHD_Response *response = stream_response(self, s, has_id, last_event_id);
    if (!response) {
        stream_release(s);
        return gateway_stream_reply_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "storage_unavailable",
                                          NULL, "the event log cannot be read now; retry shortly");
    }
    /* From here the response owns s (stream_free). */
    return stream_start(s, response);
}

/* --- the hub thread ------------------------------------------------------- */

/*  Polls the wake-up fd and the idle streams' sockets (hang-up only) for up to
    timeout_ms; the number of fds polled (fds[0] is the wake-up fd). Only the hub
    thread resumes streams, so a polled socket stays open during the poll. */
static size_t hub_poll(gateway_streams_t *hub, int timeout_ms)
{
    struct pollfd *fds = hub->fds;
    size_t n = 1;
    fds[0] = (struct pollfd){.fd = hub->wake_fd, .events = POLLIN};
    pthread_mutex_lock(&hub->lock);
    bool stopping = hub->stopping;
    for (stream_t *s = hub->head; s && n < POLL_MAX; s = s->next) {
        if (s->suspended && s->fd >= 0) {
            fds[n] = (struct pollfd){.fd = s->fd, .events = POLLRDHUP};
            hub->polled[n++] = s;
        }
    }
    pthread_mutex_unlock(&hub->lock);
    if (stopping)
        return n;
    int rc = poll(fds, n, timeout_ms);
    if (rc < 0 && errno != EINTR)
        usleep(HUB_POLL_ERROR_BACKOFF_US);
    if (fds[0].revents & POLLIN) {
        uint64_t count;
        ssize_t r = read(hub->wake_fd, &count, sizeof count);
        (void)r;
    }
    return n;
}

/* The newest event seq committed (0 if the log cannot be read now). */
static uint64_t hub_last_seq(gateway_streams_t *hub)
{
    uint64_t last = 0;
    store_txn_t *txn = NULL;
    if (store_txn_begin(hub->store, false, &txn) == LEDGER_OK)
        gateway_events_last_seq(txn, &last);
    store_txn_abort(&txn);
    return last;
}

/*  Under hub->lock: marks the streams whose peer hung up (fds[1..n)), and picks
    the suspended streams to resume into hub->resume (new events, a ping due,
    a hang-up, the stop). *next_ping gets the earliest heartbeat still ahead;
    the result is how many to resume. */
static size_t hub_pick_resumes(gateway_streams_t *hub, size_t n, uint64_t now, uint64_t *next_ping)
{
    size_t resumes = 0;
    for (size_t i = 1; i < n; i++) {
        if (hub->fds[i].revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))
            hub->polled[i]->peer_gone = true;
    }
    for (stream_t *s = hub->head; s; s = s->next) {
        if (!s->suspended)
            continue;
        uint64_t ping_at = s->last_write_mono_ms + GATEWAY_STREAM_PING_MS;
        bool wake =
            hub->stopping || s->closing || s->peer_gone || hub->known_last_seq > s->sent_seq;
        if (!wake && now >= ping_at) {
            s->ping_due = true;
            wake = true;
        }
        if (!wake) {
            if (ping_at < *next_ping)
                *next_ping = ping_at;
            continue;
        }
        if (hub->stopping)
            s->closing = true;
        if (resumes < POLL_MAX) {
            s->suspended = false;
            s->awake_mono_ms = now;
            hub->resume[resumes++] = s->conn;
        }
    }
    return resumes;
}

/*  Under hub->lock: closes the streams whose client stopped taking bytes: not suspended (their
    reader has bytes for MHD, or MHD has bytes for the socket) and no write for stall_ms since
    they were last woken (an idle stream resumed for a ping or new events is not late). The
    stream is in the list, so MHD has not freed its response and its socket is still open;
    SO_LINGER 0 makes the close drop what the kernel holds for the client instead of keeping
    it for a peer that does not read. MHD sees the shut socket and closes the connection. */
static void hub_close_stalled(gateway_streams_t *hub, uint64_t now)
{
    for (stream_t *s = hub->head; s; s = s->next) {
        uint64_t since =
            s->last_write_mono_ms > s->awake_mono_ms ? s->last_write_mono_ms : s->awake_mono_ms;
        if (s->suspended || s->stalled || s->fd < 0 || now < since + hub->limits.stall_ms)
            continue;
        struct linger off = {.l_onoff = 1, .l_linger = 0};
        setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &off, sizeof off);
        shutdown(s->fd, SHUT_RDWR);
        s->stalled = true;
        hub->counters.stalled++;
    }
}

static void *gateway_streams_hub_thread(void *arg)
{
    gateway_streams_t *hub = arg;
    int timeout_ms = 0;
    for (;;) {
        size_t n = hub_poll(hub, timeout_ms);
        uint64_t last = hub_last_seq(hub);
        uint64_t now = clock_mono_ms();
        uint64_t next_ping = now + HUB_IDLE_WAIT_MS;
        pthread_mutex_lock(&hub->lock);
        if (last > hub->known_last_seq)
            hub->known_last_seq = last;
        size_t resumes = hub_pick_resumes(hub, n, now, &next_ping);
        hub_close_stalled(hub, now);
        bool done = hub->stopping;
        for (stream_t *s = hub->head; done && s; s = s->next)
            done = !s->suspended;
        pthread_mutex_unlock(&hub->lock);
        /* A suspended connection is never freed: the saved pointers stay valid. */
        for (size_t i = 0; i < resumes; i++)
            MHD_resume_connection(hub->resume[i]);
        if (done)
            break;
        timeout_ms = next_ping > now ? (int)(next_ping - now) : 0;
    }
    return NULL;
}

/* --- life cycle ----------------------------------------------------------- */

void gateway_streams_counters(gateway_streams_t *self, gateway_streams_counters_t *out)
{
    *out = (gateway_streams_counters_t){0};
    if (!self)
        return;
    pthread_mutex_lock(&self->lock);
    *out = self->counters;
    out->open = self->open;
    pthread_mutex_unlock(&self->lock);
}

static unsigned or_default(unsigned value, unsigned fallback)
{
    return value ? value : fallback;
}

ledger_err_t gateway_streams_new(store_t *store, const gateway_streams_limits_t *limits,
                                 gateway_streams_t **out)
{
    assert(store && out);
    *out = NULL;
    gateway_streams_t *hub = calloc(1, sizeof *hub);
    if (!hub)
        return LEDGER_E_NOMEM;
    hub->store = store;
    gateway_streams_limits_t given = limits ? *limits : (gateway_streams_limits_t){0};
    hub->limits = (gateway_streams_limits_t){
        .max_streams = or_default(given.max_streams, GATEWAY_STREAMS_MAX_DEFAULT),
        .max_per_principal =
            or_default(given.max_per_principal, GATEWAY_STREAMS_PER_PRINCIPAL_DEFAULT),
        .replay_max = or_default(given.replay_max, GATEWAY_STREAM_REPLAY_MAX_DEFAULT),
        .stall_ms = or_default(given.stall_ms, GATEWAY_STREAM_STALL_MS_DEFAULT),
    };
    if (hub->limits.max_streams > POLL_MAX - 1)
        hub->limits.max_streams = POLL_MAX - 1;
    if (hub->limits.stall_ms < STALL_MS_MIN)
        hub->limits.stall_ms = STALL_MS_MIN;
    pthread_mutex_init(&hub->lock, NULL);
    hub->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    store_txn_t *txn = NULL;
    if (store_txn_begin(store, false, &txn) == LEDGER_OK)
        gateway_events_last_seq(txn, &hub->known_last_seq);
    store_txn_abort(&txn);
    if (hub->wake_fd < 0 ||
        pthread_create(&hub->thread, NULL, gateway_streams_hub_thread, hub) != 0) {
        gateway_streams_destroy(&hub);
        return LEDGER_E_IO;
    }
    hub->thread_started = true;
    *out = hub;
    return LEDGER_OK;
}

void gateway_streams_stop(gateway_streams_t *self)
{
    if (!self)
        return;
    pthread_mutex_lock(&self->lock);
    self->stopping = true;
    pthread_mutex_unlock(&self->lock);
    if (self->thread_started && !self->joined) {
        hub_wake(self);
        pthread_join(self->thread, NULL);
        self->joined = true;
    }
}

void gateway_streams_destroy(gateway_streams_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gateway_streams_t *hub = *self_p;
    gateway_streams_stop(hub);
    if (hub->wake_fd >= 0)
        close(hub->wake_fd);
    pthread_mutex_destroy(&hub->lock);
    free(hub);
    *self_p = NULL;
}

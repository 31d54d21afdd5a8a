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
#define RESET_TEXT_SIZE 256          /* one "reset" block, bytes */
#define EVENT_HEAD_SIZE 64           /* "id: <seq>\nevent: transfer\ndata: ", bytes */
#define REFUSAL_TEXT_SIZE 160        /* the too_many_streams message, bytes */
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
    uint64_t last_write_mono_ms;
} stream_t;

struct gateway_streams_t {
    store_t *store;
    unsigned max_streams;
    pthread_mutex_t lock;
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

static enum MHD_Result reply_error(struct MHD_Connection *conn, unsigned status, const char *code,
                                   const char *field, const char *message)
{
    json_t *body = json_pack("{s:{s:s, s:s, s:o}}", "error", "code", code, "message", message,
                             "field", field ? json_string(field) : json_null());
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text)
        return MHD_NO;
    struct MHD_Response *response =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!response) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (status == MHD_HTTP_SERVICE_UNAVAILABLE)
        MHD_add_response_header(response, MHD_HTTP_HEADER_RETRY_AFTER, "2");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result result = MHD_queue_response(conn, status, response);
    MHD_destroy_response(response);
    return result;
}

static void add_stream_headers(struct MHD_Response *response)
{
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(response, "X-Accel-Buffering", "no");
}

/* --- the content reader (MHD worker threads) ------------------------------ */

static bool out_append(stream_t *s, const char *data, size_t len)
{
    if (s->out_len + len > STREAM_OUT_CAP)
        return false;
    memcpy(s->out + s->out_len, data, len);
    s->out_len += len;
    return true;
}

/* The "reset" block: events after `last_event_id` up to `resume_seq` are gone. */
static int format_reset(char *out, size_t size, const char *reason, uint64_t last_event_id,
                        uint64_t resume_seq)
{
    return snprintf(out, size,
                    "id: %" PRIu64
                    "\nevent: reset\ndata: {\"reason\":\"%s\",\"last_event_id\":%" PRIu64
                    ",\"resume_seq\":%" PRIu64 "}\n\n",
                    resume_seq, reason, last_event_id, resume_seq);
}

/*  Before event `seq`: if events this stream had not reached were pruned (a very slow
    reader), the reset block that says so. False if it does not fit (stop reading). */
static bool note_gap(stream_t *s, uint64_t seq)
{
    if (seq == s->sent_seq + 1)
        return true;
    char reset[RESET_TEXT_SIZE];
    int r = format_reset(reset, sizeof reset, "events_pruned", s->sent_seq, seq - 1);
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
            char reset[RESET_TEXT_SIZE];
            int r = format_reset(reset, sizeof reset, "events_pruned", s->sent_seq, known);
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

static void stream_free(void *cls)
{
    stream_t *s = cls;
    gateway_streams_t *hub = s->hub;
    pthread_mutex_lock(&hub->lock);
    if (s->prev)
        s->prev->next = s->next;
    else
        hub->head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    assert(hub->open > 0);
    hub->open--;
    pthread_mutex_unlock(&hub->lock);
    free(s->out);
    free(s);
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
    if (reason)
        format_reset(reset, reset_size, reason, last_event_id, start);
    *start_out = start;
    return LEDGER_OK;
}

/* The Last-Event-ID header, or else the last_event_id query; *field_out names the one used.
   False if it is given but is not a decimal event id. */
static bool parse_last_event_id(struct MHD_Connection *conn, bool *has_id, uint64_t *id,
                                const char **field_out)
{
    const char *id_text = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Last-Event-ID");
    *field_out = "Last-Event-ID";
    if (!id_text || !id_text[0]) {
        id_text = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "last_event_id");
        *field_out = "last_event_id";
    }
    *has_id = id_text && id_text[0];
    *id = 0;
    return !*has_id || gateway_streams_parse_id(id_text, id);
}

/* HEAD /api/events: the stream's headers, no body. */
static enum MHD_Result reply_head(struct MHD_Connection *conn)
{
    struct MHD_Response *response =
        MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (!response)
        return MHD_NO;
    add_stream_headers(response);
    enum MHD_Result result = MHD_queue_response(conn, MHD_HTTP_OK, response);
    MHD_destroy_response(response);
    return result;
}

static void stream_release(stream_t *s)
{
    free(s->out);
    free(s);
}

/* Takes a stream slot; otherwise answers 503 (shutting_down or too_many_streams), true. */
static bool refuse_without_slot(gateway_streams_t *self, struct MHD_Connection *conn,
                                enum MHD_Result *result)
{
    pthread_mutex_lock(&self->lock);
    bool stopping = self->stopping;
    bool full = self->open >= self->max_streams;
    if (!stopping && !full)
        self->open++;
    pthread_mutex_unlock(&self->lock);
    if (stopping) {
        *result = reply_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting_down", NULL,
                              "the gateway is shutting down; retry shortly");
    } else if (full) {
        char message[REFUSAL_TEXT_SIZE];
        snprintf(message, sizeof message,
                 "too many event streams are open (at most %u); close one or retry shortly",
                 self->max_streams);
        *result =
            reply_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "too_many_streams", NULL, message);
    }
    return stopping || full;
}

/* The stream's response, its buffer holding the preamble and any reset block; NULL (and the
   slot given back) if the log cannot be read or MHD has no memory. */
static struct MHD_Response *stream_response(gateway_streams_t *self, stream_t *s, bool has_id,
                                            uint64_t last_event_id)
{
    char reset[RESET_TEXT_SIZE];
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
        self->open--;
        pthread_mutex_unlock(&self->lock);
    }
    return response;
}

/* Links the stream into the hub (before MHD can call its reader) and queues its response. */
static enum MHD_Result stream_start(gateway_streams_t *self, stream_t *s,
                                    struct MHD_Response *response)
{
    pthread_mutex_lock(&self->lock);
    s->last_write_mono_ms = clock_mono_ms();
    s->next = self->head;
    if (self->head)
        self->head->prev = s;
    self->head = s;
    pthread_mutex_unlock(&self->lock);
    add_stream_headers(response);
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
        return reply_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed", NULL,
                           "the event stream answers GET (and HEAD) only");
    bool has_id = false;
    uint64_t last_event_id = 0;
    const char *field = NULL;
    if (!parse_last_event_id(conn, &has_id, &last_event_id, &field))
        return reply_error(conn, MHD_HTTP_BAD_REQUEST, "invalid_query", field,
                           "the last event id must be the decimal id of an event");
    if (head)
        return reply_head(conn);

    stream_t *s = calloc(1, sizeof *s);
    char *out = malloc(STREAM_OUT_CAP);
    if (!s || !out) {
        free(s);
        free(out);
        return reply_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "too_many_streams", NULL,
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

    /* Take a slot first, so a refused stream costs no store read. */
    enum MHD_Result refused = MHD_NO;
    if (refuse_without_slot(self, conn, &refused)) {
        stream_release(s);
        return refused;
    }
    struct MHD_Response *response = stream_response(self, s, has_id, last_event_id);
    if (!response) {
        stream_release(s);
        return reply_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "storage_unavailable", NULL,
                           "the event log cannot be read now; retry shortly");
    }
    /* From here the response owns s (stream_free). */
    return stream_start(self, s, response);
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
            hub->resume[resumes++] = s->conn;
        }
    }
    return resumes;
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

ledger_err_t gateway_streams_new(store_t *store, unsigned max_streams, gateway_streams_t **out)
{
    assert(store && out);
    *out = NULL;
    gateway_streams_t *hub = calloc(1, sizeof *hub);
    if (!hub)
        return LEDGER_E_NOMEM;
    hub->store = store;
    hub->max_streams = max_streams ? max_streams : GATEWAY_STREAMS_MAX_DEFAULT;
    if (hub->max_streams > POLL_MAX - 1)
        hub->max_streams = POLL_MAX - 1;
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

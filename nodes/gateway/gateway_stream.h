/*  gateway_stream.h: GET /api/events, the live stream of transfer events
    (Server-Sent Events) over the event log of gateway_events.h.

    The wire format (text/event-stream, UTF-8):

      HTTP/1.1 200 OK
      Content-Type: text/event-stream
      Cache-Control: no-cache
      X-Accel-Buffering: no
      (chunked body, never ends while the gateway runs)

      : ledger events
      retry: 2000
                                          <- blank line ends each block
      id: 42
      event: transfer
      data: {"seq":42,"type":"funds.reserved","node":"accounts","message_id":"accounts/7",
             "at":"2026-11-25T10:04:05.123Z","ts_ms":...,"transfer":{...}}   (one line)

      : ping                              <- a comment after 15 s without a write

    - Who sees what: a stream sends the events of the transfers its principal
      may see, the ones that name it as a viewer (gateway_events.h: the owners
      of the transfer's `from` and `to`, decided once when the event was
      written; the stream compares ids, it reads nothing for another's
      event); an operator (kind operator, gateway_owners_sees_all) gets every
      event. A principal without risk:read gets each transfer redacted
      (gateway_redact.h: no rules, the generic message of its code).
    - `id` is the event's seq (decimal, increasing, never reused; a customer's
      stream skips the seqs of events it may not see); `data` is the event JSON on one line,
   rendered when the stream reads the event (gateway_streams_render_event): "transfer" is the
   transfer exactly as GET /api/transfers/{id} returns it AT THE TIME THE STREAM READS THE EVENT,
   i.e. its current state, not necessarily its state right after this step
   (type/node/message_id/at/ts_ms describe the step). Events of one transfer read together (a
   resume, a burst) may all show its final status; a client keeps the most advanced status and never
   moves a final one back.
    - Resume: a request with the header `Last-Event-ID: <seq>` (what
      EventSource sends when it reconnects) or the query `?last_event_id=<seq>`
      first gets every stored event with a larger seq, in order, then the live
      ones. Without either it starts from now. A value that is not a decimal
      integer: 400 invalid_query.
    - If events after the given seq are no longer stored (pruned), or the
      seq is ahead of the log (the gateway's data was reset), the stream
      first sends
          id: <seq to resume from>
          event: reset
          data:
   {"reason":"events_pruned"|"unknown_event_id","last_event_id":<given>,"resume_seq":<seq>} meaning
   "reload your state from the API"; the events that follow are complete from resume_seq + 1.
    - Bounded replay: a resume replays at most `replay_max` events of the log
      (seqs, the events it may not see included). A Last-Event-ID further
      behind than that (or behind what pruning left, when that is more than
      replay_max behind too) gets instead
          id: <newest seq>
          event: reset
          data: {"reason":"replay_limit","last_event_id":<given>,"resume_seq":<newest>,
                 "replay_max":<n>,"action":"..."}
      and the stream follows live from there: the client re-reads its state
      with GET (/api/transfers, /api/accounts) and keeps the stream. So a
      `Last-Event-ID: 0` costs one small block, not a render of the whole log.
      Every reset block carries that "action" text.
    - At most `max_streams` streams are open at once; one more is answered
      503 {"error":{"code":"too_many_streams",...}} with Retry-After: 2. At
      most `max_per_principal` of them belong to one principal; one more is
      answered 429 {"error":{"code":"too_many_principal_streams",...}} with
      Retry-After: 2, while other principals still get theirs.
      While the gateway stops: 503 shutting_down. Other methods than GET and
      HEAD: 405. HEAD answers the headers only.
    - Slow clients: a stream holds no queue of its own (it reads the log
      when the socket can take more), and its output buffer is fixed
      (GATEWAY_STREAM_BUFFER_BYTES plus one event). What a client that stops
      reading could still hold is its connection and the kernel's socket
      buffers, which a stream fixes at GATEWAY_STREAM_SNDBUF_BYTES (SO_SNDBUF:
      Linux's autotuning would let them grow to 4 MiB): a stream with bytes
      to send that libmicrohttpd could not hand to the socket for `stall_ms`
      is closed (the hub shuts its socket down,
      with SO_LINGER 0 so the kernel drops what it held). The client
      reconnects with Last-Event-ID like after any drop.
    - Counted (gateway_streams_counters): refusals per principal and over the
      global limit, replay_limit resets, stalled streams closed.

    How it runs (NOTES.md, libmicrohttpd): a stream is an MHD response with a
    content-reader callback, on the daemon's suspend/resume-enabled thread
    pool. The callback formats what the log holds beyond the stream's last
    sent seq; when there is nothing to send it SUSPENDS the connection and
    returns 0, so it never spins and a stream holds no worker thread while
    idle (streams cannot starve API requests). One hub thread resumes
    streams: at once after gateway_streams_notify (called after every commit
    that may have appended events: the node loop's on_commit), when a heartbeat is due, when the
   peer hung up (it polls the idle streams' sockets for POLLRDHUP, so a closed browser tab frees its
    slot at once), and at stop. Only the hub thread
    (gateway_streams_hub_thread) resumes streams.

    Threads: gateway_streams_serve from MHD access-handler threads;
    gateway_streams_notify from any thread; new/stop/destroy from the owner's
    thread (gateway_http), destroy only after the MHD daemon is stopped.
*/
#ifndef LEDGER_GATEWAY_STREAM_H
#define LEDGER_GATEWAY_STREAM_H

#include <stdbool.h>
#include <stdint.h>
#include <microhttpd.h>
#include "gateway_auth.h"
#include "gateway_events.h"
#include "ledger_err.h"
#include "store.h"

#define GATEWAY_STREAMS_MAX_DEFAULT 64u
#define GATEWAY_STREAMS_PER_PRINCIPAL_DEFAULT 4u   /* --stream-max-per-principal */
#define GATEWAY_STREAM_REPLAY_MAX_DEFAULT 1000u    /* --stream-replay-max, events */
#define GATEWAY_STREAM_STALL_MS_DEFAULT 10000u     /* --stream-stall-timeout-ms */
#define GATEWAY_STREAM_PING_MS 15000u              /* heartbeat after this long without a write */
#define GATEWAY_STREAM_RETRY_MS 2000u              /* "retry:" sent to clients */
#define GATEWAY_STREAM_BUFFER_BYTES (64u * 1024u)  /* formatted events held per stream */
#define GATEWAY_STREAM_READ_MAX 256u               /* events read per store transaction */
#define GATEWAY_STREAM_TIMEOUT_S 60u               /* MHD inactivity timeout of a stream */
#define GATEWAY_STREAM_SNDBUF_BYTES (128u * 1024u) /* SO_SNDBUF of a stream's socket */

typedef struct gateway_streams_t gateway_streams_t;

/* The hub's limits; 0 in any field = its default. */
typedef struct {
    unsigned max_streams;       /* open at once, all principals (GATEWAY_STREAMS_MAX_DEFAULT) */
    unsigned max_per_principal; /* open at once by one principal */
    uint32_t replay_max;        /* events a Last-Event-ID may replay at most */
    uint32_t stall_ms;          /* a stream whose bytes wait this long is closed */
} gateway_streams_limits_t;

/*  Creates the hub and starts its thread. `store` is borrowed; `limits` may
    be NULL (every default). LEDGER_E_IO (thread, eventfd), LEDGER_E_NOMEM. */
ledger_err_t gateway_streams_new(store_t *store, const gateway_streams_limits_t *limits,
                                 gateway_streams_t **out);

/* What the hub refused or closed to bound its resources, since the start. */
typedef struct {
    uint64_t refused_full;          /* 503 too_many_streams: the global limit */
    uint64_t refused_per_principal; /* 429 too_many_principal_streams */
    uint64_t replay_limited;        /* resumes answered with a replay_limit reset */
    uint64_t stalled;               /* streams closed: their client stopped taking bytes */
    uint64_t open;                  /* streams open now */
} gateway_streams_counters_t;
/* Any thread; safe on NULL (all zero). */
void gateway_streams_counters(gateway_streams_t *self, gateway_streams_counters_t *out);

#define GATEWAY_STREAMS_KEY_ID_MAX 32 /* bytes of the API key id a stream was opened with */

/*  Answers GET/HEAD /api/events on `conn` (called from the access handler on
    its first call for the request) for `caller` (copied): its principal
    decides which events the stream carries and whether they are redacted
    (above); caller->key_id, the API key that opened it (directly or through
    a stream token), is what gateway_streams_close_key ends it by. */
enum MHD_Result gateway_streams_serve(gateway_streams_t *self, struct MHD_Connection *conn,
                                      const char *method, const gateway_auth_caller_t *caller);

/*  Ends every open stream opened with API key `key_id` (a revoked key: its
    streams must not outlive it). They finish their current write and close.
    Any thread; the hub's lock only. */
void gateway_streams_close_key(gateway_streams_t *self, const char *key_id);

/* New events may have been committed: wake the streams now. Any thread; cheap. */
void gateway_streams_notify(gateway_streams_t *self);

/* Streams open now (for metrics and tests). */
unsigned gateway_streams_open(gateway_streams_t *self);

/*  Ends every open stream (they finish their current write and close), refuses
    new ones (503 shutting_down), and joins the hub thread. Safe on NULL and
    twice. */
void gateway_streams_stop(gateway_streams_t *self);

/* Frees the hub; call after the MHD daemon has stopped. Sets *self_p to NULL; safe on NULL. */
void gateway_streams_destroy(gateway_streams_t **self_p);

/*  Parses a Last-Event-ID value: decimal digits only (at most 20), fitting
    in uint64. Pure; exposed for tests. */
bool gateway_streams_parse_id(const char *text, uint64_t *out);

/*  Renders one event of the log as the JSON of its `data:` line (one line,
    compact), with "transfer" read from the view in `txn` (gateway_view.h;
    null when the transfer is missing or its record does not parse), redacted
    if `redact` (gateway_redact_transfer: a reader without risk:read):

      {"seq", "type", "node", "message_id", "at" (clock_format_utc of ts_ms),
       "ts_ms", "transfer": {the API form of gateway_view_transfer_get}}

    *text_out is malloc'd (free() it). Errors: LEDGER_E_NOMEM, store
    errors. Any thread that owns `txn`. */
ledger_err_t gateway_streams_render_event(store_txn_t *txn, const gateway_event_t *event,
                                          bool redact, char **text_out);

#endif

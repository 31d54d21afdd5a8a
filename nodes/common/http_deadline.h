/*  http_deadline.h: slowloris deadlines on the connections of a libmicrohttpd daemon: the
    gateway's public port (gateway_http.c) and every node's admin port (admin_http.c).

    What it does: libmicrohttpd's connection timeout is an idle timeout, reset
    by every byte, so a client sending one header byte a second holds a
    connection for ever. This module gives each connection two deadlines: its
    request head must arrive whole within head_ms of the connection opening
    (or, on a kept-alive connection, of the previous request's end plus the
    idle timeout), and a body within head_ms + declared length / min_rate
    seconds once the head is in. A sweep thread (every SWEEP_MS) shuts down
    (shutdown(2)) the socket of a connection past its deadline; libmicrohttpd
    then sees the socket end and closes the connection as usual (its request,
    if any, is told through MHD_OPTION_NOTIFY_COMPLETED). Connections waiting
    for an answer (suspended) or streaming one have no deadline.

    What it owns: one entry per open connection (its socket_context, from
    MHD_OPTION_NOTIFY_CONNECTION), a mutex and the sweep thread.
    libmicrohttpd notifies MHD_CONNECTION_NOTIFY_CLOSED before it closes the
    socket, and the entry leaves the list under the mutex the sweep holds
    while it shuts sockets down: a socket number is never used after close.

    Errors: http_deadline_new: LEDGER_E_NOMEM, LEDGER_E_IO (thread).

    Threads: the notify and mark functions run on MHD threads; the counters
    are read from any thread.
*/
#ifndef LEDGER_HTTP_DEADLINE_H
#define LEDGER_HTTP_DEADLINE_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>

#include "ledger_err.h"

#define HTTP_DEADLINE_HEAD_MS_DEFAULT 5000u         /* --http-head-timeout-ms */
#define HTTP_DEADLINE_MIN_RATE_DEFAULT (64u * 1024) /* --http-body-min-rate, bytes/s */

typedef struct http_deadline_t http_deadline_t;

/*  Starts the sweep. head_ms: time for a request head (0: default); min_rate:
    the slowest body upload allowed, bytes/s (0: default); idle_ms: the
    connection's idle timeout, added to a kept-alive connection's head time. */
ledger_err_t http_deadline_new(uint32_t head_ms, uint32_t min_rate, uint32_t idle_ms,
                               http_deadline_t **out);
/* Stops the sweep and frees it; after MHD_stop_daemon (every connection closed). */
void http_deadline_destroy(http_deadline_t **self_p);

/* MHD_OPTION_NOTIFY_CONNECTION's callback, with the deadline as its closure. */
void http_deadline_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code);

/*  The head is in: a POST's body (its Content-Length, else `cap` bytes) must
    follow within its deadline; other methods have none. */
void http_deadline_head_done(http_deadline_t *self, struct MHD_Connection *conn, bool is_post,
                             uint64_t cap);
/* The body is in (or the request is answered / waits): no deadline until the next request. */
void http_deadline_body_done(http_deadline_t *self, struct MHD_Connection *conn);
/* The request ended: the connection's next head has its deadline from now. */
void http_deadline_next_request(http_deadline_t *self, struct MHD_Connection *conn);

/* Connections closed past their head deadline since the start; *body: past a body deadline. */
uint64_t http_deadline_closed(const http_deadline_t *self, uint64_t *body);

#endif

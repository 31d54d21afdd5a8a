/*  gateway_reply.h: the gateway API's JSON answers over libmicrohttpd.

    What it does: queues an answer on an MHD connection: a JSON body
    (Content-Type: application/json, Cache-Control: no-store, extra headers
    if asked) or an error object {"error":{"code","message","field"}} (field
    null when no field is at fault). Out of memory while building an answer
    is answered 500 internal_error with a static body. It owns nothing.

    Errors: each function returns MHD's verdict on queueing the answer
    (MHD_NO closes the connection).

    Threads: MHD worker threads, or any thread holding the connection
    (as MHD allows: from its handler callback).
*/
#ifndef LEDGER_GATEWAY_REPLY_H
#define LEDGER_GATEWAY_REPLY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <microhttpd.h>

#include "gateway_request.h"

/* An extra response header. */
typedef struct {
    const char *name;
    const char *value;
} gateway_reply_header_t;

/* Queues `text` (`size` bytes, stolen; NULL: out of memory, answered 500) as JSON. */
enum MHD_Result gateway_reply_json_text(struct MHD_Connection *conn, unsigned status, char *text,
                                        size_t size, const gateway_reply_header_t *headers,
                                        size_t header_count);

/* Queues `body` (stolen; NULL: out of memory, answered 500) as JSON. */
enum MHD_Result gateway_reply_json(struct MHD_Connection *conn, unsigned status, json_t *body,
                                   const gateway_reply_header_t *headers, size_t header_count);

/* A JSON string of `text`, made valid UTF-8 first if it is not (NULL when out of memory). */
json_t *gateway_reply_string(const char *text);

/* Queues the error `err` (its http_status and fields) with extra headers. */
enum MHD_Result gateway_reply_error(struct MHD_Connection *conn, const gateway_request_error_t *err,
                                    const gateway_reply_header_t *headers, size_t header_count);

/* Queues an error built like gateway_request_fail (field NULL = none). */
__attribute__((format(printf, 5, 6))) enum MHD_Result
gateway_reply_errorf(struct MHD_Connection *conn, unsigned status, const char *code,
                     const char *field, const char *fmt, ...);

/* 404 not_found with `what` as the message. */
enum MHD_Result gateway_reply_not_found(struct MHD_Connection *conn, const char *what);

/* 503 shutting_down. */
enum MHD_Result gateway_reply_shutting_down(struct MHD_Connection *conn);

#endif

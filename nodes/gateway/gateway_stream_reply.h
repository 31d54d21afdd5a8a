/*  gateway_stream_reply.h: the texts of GET /api/events other than the stream's loop
    (gateway_stream.h has the wire format): its JSON error answers and HEAD answer, its
    headers, the `event: reset` block and the Last-Event-ID of a request.

    What it owns: nothing. Errors: as each function says. Threads: any (MHD worker threads
    for the replies).
*/
#ifndef LEDGER_GATEWAY_STREAM_REPLY_H
#define LEDGER_GATEWAY_STREAM_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <microhttpd.h>

#define GATEWAY_STREAM_RESET_TEXT_SIZE 512 /* one "reset" block, bytes */

/*  Queues {"error":{"code","message","field"}} with `status`; 503 and 429 carry
    Retry-After: 2, 405 Allow: GET, HEAD. MHD_NO when out of memory. */
enum MHD_Result gateway_stream_reply_error(struct MHD_Connection *conn, unsigned status,
                                           const char *code, const char *field,
                                           const char *message);

/* The stream's headers (Content-Type text/event-stream, no caching, no proxy buffering). */
void gateway_stream_add_headers(struct MHD_Response *response);

/* HEAD /api/events: the stream's headers, no body. */
enum MHD_Result gateway_stream_reply_head(struct MHD_Connection *conn);

/*  The "reset" block into out (size at least GATEWAY_STREAM_RESET_TEXT_SIZE): events after
    `last_event_id` up to `resume_seq` will not be sent (`reason`: events_pruned,
    unknown_event_id, replay_limit), with replay_max and what the client should do instead
    (re-read its state with GET, then keep following). Its length. */
int gateway_stream_format_reset(char *out, size_t size, const char *reason, uint64_t last_event_id,
                                uint64_t resume_seq, uint32_t replay_max);

/*  The Last-Event-ID header, or else the last_event_id query; *field_out names the one used.
    False if it is given but is not a decimal event id (text_parse_u64). */
bool gateway_stream_parse_last_event_id(struct MHD_Connection *conn, bool *has_id, uint64_t *id,
                                        const char **field_out);

#endif

/*  gateway_stream_reply.c: the texts of GET /api/events (gateway_stream_reply.h). */
#include "gateway_stream_reply.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "text.h"

#define RESET_ACTION                                                                               \
    "re-read your state with GET /api/transfers and /api/accounts, then keep following this "      \
    "stream"

enum MHD_Result gateway_stream_reply_error(struct MHD_Connection *conn, unsigned status,
                                           const char *code, const char *field, const char *message)
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
    if (status == MHD_HTTP_SERVICE_UNAVAILABLE || status == MHD_HTTP_TOO_MANY_REQUESTS)
        MHD_add_response_header(response, MHD_HTTP_HEADER_RETRY_AFTER, "2");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result result = MHD_queue_response(conn, status, response);
    MHD_destroy_response(response);
    return result;
}

void gateway_stream_add_headers(struct MHD_Response *response)
{
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(response, "X-Accel-Buffering", "no");
}

/*  The "reset" block: events after `last_event_id` up to `resume_seq` will not be sent (pruned,
    or past the replay bound replay_max); what the client should do instead. */
int gateway_stream_format_reset(char *out, size_t size, const char *reason, uint64_t last_event_id,
                                uint64_t resume_seq, uint32_t replay_max)
{
    int n = snprintf(out, size,
                     "id: %" PRIu64
                     "\nevent: reset\ndata: {\"reason\":\"%s\",\"last_event_id\":%" PRIu64
                     ",\"resume_seq\":%" PRIu64 ",\"replay_max\":%" PRIu32
                     ",\"action\":\"" RESET_ACTION "\"}\n\n",
                     resume_seq, reason, last_event_id, resume_seq, replay_max);
    assert(n > 0 && (size_t)n < size);
    return n;
}

/* The Last-Event-ID header, or else the last_event_id query; *field_out names the one used.
   False if it is given but is not a decimal event id. */
bool gateway_stream_parse_last_event_id(struct MHD_Connection *conn, bool *has_id, uint64_t *id,
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
    return !*has_id || text_parse_u64(id_text, id);
}

/* HEAD /api/events: the stream's headers, no body. */
enum MHD_Result gateway_stream_reply_head(struct MHD_Connection *conn)
{
    struct MHD_Response *response =
        MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (!response)
        return MHD_NO;
    gateway_stream_add_headers(response);
    enum MHD_Result result = MHD_queue_response(conn, MHD_HTTP_OK, response);
    MHD_destroy_response(response);
    return result;
}

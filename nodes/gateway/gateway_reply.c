/*  gateway_reply.c: JSON answers and error objects on MHD connections. */
#include "gateway_reply.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum MHD_Result gateway_reply_json_text(struct MHD_Connection *conn, unsigned status, char *text,
                                        size_t size, const gateway_reply_header_t *headers,
                                        size_t header_count)
{
    assert(conn);
    struct MHD_Response *response;
    if (text) {
        response = MHD_create_response_from_buffer(size, text, MHD_RESPMEM_MUST_FREE);
    } else {
        static const char oom[] = "{\"error\":{\"code\":\"internal_error\",\"message\":\"out of "
                                  "memory\",\"field\":null}}";
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        response =
            MHD_create_response_from_buffer(sizeof oom - 1, (void *)oom, MHD_RESPMEM_PERSISTENT);
    }
    if (!response) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    for (size_t i = 0; i < header_count; i++)
        MHD_add_response_header(response, headers[i].name, headers[i].value);
    enum MHD_Result result = MHD_queue_response(conn, status, response);
    MHD_destroy_response(response);
    return result;
}

enum MHD_Result gateway_reply_json(struct MHD_Connection *conn, unsigned status, json_t *body,
                                   const gateway_reply_header_t *headers, size_t header_count)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    return gateway_reply_json_text(conn, status, text, text ? strlen(text) : 0, headers,
                                   header_count);
}

json_t *gateway_reply_string(const char *text)
{
    assert(text);
    json_t *value = json_string(text);
    if (value)
        return value;
    char copy[GATEWAY_REQUEST_ERROR_MESSAGE_MAX + 1];
    snprintf(copy, sizeof copy, "%s", text);
    gateway_view_text_sanitize(copy);
    return json_string(copy);
}

enum MHD_Result gateway_reply_error(struct MHD_Connection *conn, const gateway_request_error_t *err,
                                    const gateway_reply_header_t *headers, size_t header_count)
{
    assert(err);
    json_t *body =
        json_pack("{s:{s:o, s:o, s:o}}", "error", "code", gateway_reply_string(err->code),
                  "message", gateway_reply_string(err->message), "field",
                  err->field[0] ? gateway_reply_string(err->field) : json_null());
    return gateway_reply_json(conn, err->http_status, body, headers, header_count);
}

enum MHD_Result gateway_reply_errorf(struct MHD_Connection *conn, unsigned status, const char *code,
                                     const char *field, const char *fmt, ...)
{
    gateway_request_error_t err;
    char message[GATEWAY_REQUEST_ERROR_MESSAGE_MAX + 1];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    gateway_request_fail(&err, status, code, field, "%s", message);
    return gateway_reply_error(conn, &err, NULL, 0);
}

enum MHD_Result gateway_reply_not_found(struct MHD_Connection *conn, const char *what)
{
    return gateway_reply_errorf(conn, MHD_HTTP_NOT_FOUND, "not_found", NULL, "%s", what);
}

enum MHD_Result gateway_reply_shutting_down(struct MHD_Connection *conn)
{
    return gateway_reply_errorf(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting_down", NULL,
                                "the gateway is shutting down; retry shortly");
}

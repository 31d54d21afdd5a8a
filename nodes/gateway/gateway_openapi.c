/*  gateway_openapi.c: GET /api/openapi.yaml from the text embedded at build time. */
#include "gateway_openapi.h"

#include <assert.h>

/* Written by cmake/embed_file.cmake from openapi.yaml (nodes/gateway/CMakeLists.txt). */
extern const unsigned char gateway_openapi_yaml[];
extern const size_t gateway_openapi_yaml_size;

const unsigned char *gateway_openapi_text(size_t *size_out)
{
    assert(size_out);
    *size_out = gateway_openapi_yaml_size;
    return gateway_openapi_yaml;
}

enum MHD_Result gateway_openapi_serve(struct MHD_Connection *conn)
{
    assert(conn);
    size_t size;
    const unsigned char *text = gateway_openapi_text(&size);
    struct MHD_Response *response =
        MHD_create_response_from_buffer(size, (void *)text, MHD_RESPMEM_PERSISTENT);
    if (!response)
        return MHD_NO;
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "application/yaml");
    /* A new binary may serve another text: clients revalidate rather than keep it. */
    MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    enum MHD_Result result = MHD_queue_response(conn, MHD_HTTP_OK, response);
    MHD_destroy_response(response);
    return result;
}

/*  gateway_openapi.h: GET /api/openapi.yaml, the API's OpenAPI description.

    What it does: answers the text of openapi.yaml (the repository's root),
    which the build embeds in the gateway binary (cmake/embed_file.cmake
    writes it as a byte array into gateway_openapi_text.c), so the binary
    serves the description of the API it was built with and never reads a
    file at run time. 200 with Content-Type application/yaml; HEAD gets the
    headers only (libmicrohttpd drops the body).

    Who may read it: any authenticated principal, no scope (the route table,
    gateway_routes.c, says so; the router checks the key before this runs).

    What it owns: nothing; the text is a constant of the binary. Errors: none
    but libmicrohttpd's own (MHD_NO when it cannot queue the answer).
    Threads: any MHD worker (constant data).
*/
#ifndef LEDGER_GATEWAY_OPENAPI_H
#define LEDGER_GATEWAY_OPENAPI_H

#include <stddef.h>
#include <microhttpd.h>

/* The embedded openapi.yaml: its bytes (not NUL-terminated) and their number. */
const unsigned char *gateway_openapi_text(size_t *size_out);

/* Queues 200 + the embedded openapi.yaml on `conn`. */
enum MHD_Result gateway_openapi_serve(struct MHD_Connection *conn);

#endif

/*  gateway_routes.h: the public API's route table: which path is which
    route, the methods each route takes, whether it needs a key and the
    scope each method needs, and the Allow header of a route.

    The one place a route is declared: gateway_http.c dispatches on
    gateway_route_t, the metrics label a request by gateway_routes_pattern,
    and the guard (gateway_guard.h) checks the scope given here before any
    body is read. Adding a route is a row in gateway_routes.c, a case in
    gateway_http.c's dispatch, a line in README's route table and in
    openapi.yaml.

    Paths: exact paths ("/api/transfers"), or one {id} segment under
    /api/transfers/ or /api/accounts/ followed by nothing or one of the
    sub-paths of the table ("/capture", "/ledger", ...). An {id} longer than
    PROTO_ACCOUNT_ID_MAX is reported (id_too_long), not copied: the route
    answers 404 as for any unknown id.

    Errors: none; an unknown path is GATEWAY_ROUTE_NONE, an unknown method
    GATEWAY_METHOD_OTHER. Pure and thread-safe (constant tables).
*/
#ifndef LEDGER_GATEWAY_ROUTES_H
#define LEDGER_GATEWAY_ROUTES_H

#include <stdbool.h>
#include <stdint.h>
#include "proto.h"

typedef enum {
    GATEWAY_ROUTE_NONE = 0,
    GATEWAY_ROUTE_HEALTH,
    GATEWAY_ROUTE_TRANSFERS,
    GATEWAY_ROUTE_TRANSFER,
    GATEWAY_ROUTE_TRANSFER_CAPTURE, /* POST /api/transfers/{id}/capture */
    GATEWAY_ROUTE_TRANSFER_VOID,    /* POST /api/transfers/{id}/void */
    GATEWAY_ROUTE_TRANSFER_REFUNDS, /* POST /api/transfers/{id}/refunds */
    GATEWAY_ROUTE_ACCOUNTS,
    GATEWAY_ROUTE_ACCOUNT,           /* GET (?expand=holds), PATCH /api/accounts/{id} */
    GATEWAY_ROUTE_ACCOUNT_LEDGER,    /* GET /api/accounts/{id}/ledger */
    GATEWAY_ROUTE_ACCOUNT_BALANCE,   /* GET /api/accounts/{id}/balance?at= */
    GATEWAY_ROUTE_ACCOUNT_STATEMENT, /* GET /api/accounts/{id}/statement */
    GATEWAY_ROUTE_TRANSFERS_BATCH,
    GATEWAY_ROUTE_EVENTS,
    GATEWAY_ROUTE_STREAM_TOKENS,
    GATEWAY_ROUTE_DEPOSITS,
    GATEWAY_ROUTE_WITHDRAWALS,
    GATEWAY_ROUTE_CURRENCIES, /* GET /api/currencies */
    GATEWAY_ROUTE_OPENAPI,    /* GET /api/openapi.yaml */
    GATEWAY_ROUTE__COUNT
} gateway_route_t;

typedef enum {
    GATEWAY_METHOD_OTHER = 0,
    GATEWAY_METHOD_GET, /* GET and HEAD */
    GATEWAY_METHOD_POST,
    GATEWAY_METHOD_PATCH,
} gateway_method_t;

/* The method of an HTTP method name; GATEWAY_METHOD_OTHER for any other (or NULL). */
gateway_method_t gateway_routes_method(const char *method);

/*  The route of `url` (a path without the query). The {id} segment, if the
    route has one, is copied into path_id, or *id_too_long is set when it is
    longer than PROTO_ACCOUNT_ID_MAX. */
gateway_route_t gateway_routes_match(const char *url, char path_id[PROTO_ACCOUNT_ID_MAX + 1],
                                     bool *id_too_long);

/* Whether `route` takes `method`. */
bool gateway_routes_allows(gateway_route_t route, gateway_method_t method);

/*  Whether a request of `route` must carry a valid key (every route but
    /api/health), and the GATEWAY_SCOPE_* bit its `method` needs (0: a key
    and no particular scope). */
bool gateway_routes_needs_key(gateway_route_t route);
uint32_t gateway_routes_scope(gateway_route_t route, gateway_method_t method);

/* Whether `method` carries a JSON body on `route` (POST, PATCH; not stream tokens). */
bool gateway_routes_has_body(gateway_route_t route, gateway_method_t method);

/* The route's pattern ("/api/transfers/{id}", "other" for NONE): the metrics label. */
const char *gateway_routes_pattern(gateway_route_t route);

/* The Allow header of `route` ("GET, HEAD, POST", ...). */
const char *gateway_routes_allow(gateway_route_t route);

#endif

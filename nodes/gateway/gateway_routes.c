/* gateway_routes.c: the route table of the public API (gateway_routes.h). */
#include "gateway_routes.h"

#include <stddef.h>
#include <string.h>

#include "gateway_principals.h"

/*  What each route is: its pattern (the metrics label; the exact path of a
    route without {id}), the methods it takes and the scope each needs
    (gateway_principals.h lists them). /api/health answers anyone: liveness
    probes carry no key, and it tells nothing but "ok" and the node's name. */
typedef struct {
    const char *pattern;
    const char *sub_path; /* after /{id}: "" for the item itself; NULL: no {id} */
    bool get, post, patch;
    uint32_t get_scope, post_scope, patch_scope; /* GATEWAY_SCOPE_* */
    const char *allow;
} route_info_t;

#define TR_READ GATEWAY_SCOPE_TRANSFERS_READ
#define TR_WRITE GATEWAY_SCOPE_TRANSFERS_WRITE
#define AC_READ GATEWAY_SCOPE_ACCOUNTS_READ

static const route_info_t routes[GATEWAY_ROUTE__COUNT] = {
    [GATEWAY_ROUTE_NONE] = {"other", NULL, false, false, false, 0, 0, 0, ""},
    [GATEWAY_ROUTE_HEALTH] = {"/api/health", NULL, true, false, false, 0, 0, 0, "GET, HEAD"},
    [GATEWAY_ROUTE_TRANSFERS] = {"/api/transfers", NULL, true, true, false, TR_READ, TR_WRITE, 0,
                                 "GET, HEAD, POST"},
    [GATEWAY_ROUTE_TRANSFER] = {"/api/transfers/{id}", "", true, false, false, TR_READ, 0, 0,
                                "GET, HEAD"},
    [GATEWAY_ROUTE_TRANSFER_CAPTURE] = {"/api/transfers/{id}/capture", "/capture", false, true,
                                        false, 0, TR_WRITE, 0, "POST"},
    [GATEWAY_ROUTE_TRANSFER_VOID] = {"/api/transfers/{id}/void", "/void", false, true, false, 0,
                                     TR_WRITE, 0, "POST"},
    [GATEWAY_ROUTE_TRANSFER_REFUNDS] = {"/api/transfers/{id}/refunds", "/refunds", false, true,
                                        false, 0, TR_WRITE, 0, "POST"},
    [GATEWAY_ROUTE_ACCOUNTS] = {"/api/accounts", NULL, true, true, false, AC_READ,
                                GATEWAY_SCOPE_ACCOUNTS_OPEN, 0, "GET, HEAD, POST"},
    [GATEWAY_ROUTE_ACCOUNT] = {"/api/accounts/{id}", "", true, false, true, AC_READ, 0,
                               GATEWAY_SCOPE_ACCOUNTS_MANAGE, "GET, HEAD, PATCH"},
    [GATEWAY_ROUTE_ACCOUNT_LEDGER] = {"/api/accounts/{id}/ledger", "/ledger", true, false, false,
                                      AC_READ, 0, 0, "GET, HEAD"},
    [GATEWAY_ROUTE_ACCOUNT_BALANCE] = {"/api/accounts/{id}/balance", "/balance", true, false, false,
                                       AC_READ, 0, 0, "GET, HEAD"},
    [GATEWAY_ROUTE_ACCOUNT_STATEMENT] = {"/api/accounts/{id}/statement", "/statement", true, false,
                                         false, AC_READ, 0, 0, "GET, HEAD"},
    [GATEWAY_ROUTE_TRANSFERS_BATCH] = {"/api/transfers/batch", NULL, false, true, false, 0,
                                       TR_WRITE, 0, "POST"},
    [GATEWAY_ROUTE_EVENTS] = {"/api/events", NULL, true, false, false, GATEWAY_SCOPE_EVENTS_READ, 0,
                              0, "GET, HEAD"},
    [GATEWAY_ROUTE_STREAM_TOKENS] = {"/api/stream-tokens", NULL, false, true, false, 0,
                                     GATEWAY_SCOPE_EVENTS_READ, 0, "POST"},
    [GATEWAY_ROUTE_DEPOSITS] = {"/api/deposits", NULL, false, true, false, 0,
                                GATEWAY_SCOPE_DEPOSITS_WRITE, 0, "POST"},
    [GATEWAY_ROUTE_WITHDRAWALS] = {"/api/withdrawals", NULL, false, true, false, 0, TR_WRITE, 0,
                                   "POST"},
    [GATEWAY_ROUTE_CURRENCIES] = {"/api/currencies", NULL, true, false, false, AC_READ, 0, 0,
                                  "GET, HEAD"},
    [GATEWAY_ROUTE_OPENAPI] = {"/api/openapi.yaml", NULL, true, false, false, 0, 0, 0, "GET, HEAD"},
};

gateway_method_t gateway_routes_method(const char *method)
{
    if (!method)
        return GATEWAY_METHOD_OTHER;
    if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
        return GATEWAY_METHOD_GET;
    if (strcmp(method, "POST") == 0)
        return GATEWAY_METHOD_POST;
    if (strcmp(method, "PATCH") == 0)
        return GATEWAY_METHOD_PATCH;
    return GATEWAY_METHOD_OTHER;
}

/* The length of `prefix` if url is prefix + "/" + a non-empty rest, else 0. */
static size_t under(const char *url, const char *prefix)
{
    size_t len = strlen(prefix);
    if (strncmp(url, prefix, len) == 0 && url[len] == '/' && url[len + 1] != '\0')
        return len + 1;
    return 0;
}

/* The route under `collection` ("/api/transfers/") whose sub-path is `rest`. */
static gateway_route_t match_sub_path(const char *collection, const char *rest)
{
    size_t collection_len = strlen(collection);
    for (size_t i = GATEWAY_ROUTE_NONE + 1; i < GATEWAY_ROUTE__COUNT; i++) {
        const route_info_t *info = &routes[i];
        if (info->sub_path && strncmp(info->pattern, collection, collection_len) == 0 &&
            info->pattern[collection_len] == '/' && strcmp(info->sub_path, rest) == 0)
            return (gateway_route_t)i;
    }
    return GATEWAY_ROUTE_NONE;
}

gateway_route_t gateway_routes_match(const char *url, char path_id[PROTO_ACCOUNT_ID_MAX + 1],
                                     bool *id_too_long)
{
    path_id[0] = '\0';
    *id_too_long = false;
    for (size_t i = GATEWAY_ROUTE_NONE + 1; i < GATEWAY_ROUTE__COUNT; i++) {
        if (!routes[i].sub_path && strcmp(url, routes[i].pattern) == 0)
            return (gateway_route_t)i;
    }
    static const char *const collections[] = {"/api/transfers", "/api/accounts"};
    for (size_t c = 0; c < sizeof collections / sizeof collections[0]; c++) {
        size_t at = under(url, collections[c]);
        if (!at)
            continue;
        const char *segment = url + at;
        size_t len = strcspn(segment, "/");
        *id_too_long = len > PROTO_ACCOUNT_ID_MAX;
        if (!*id_too_long) {
            memcpy(path_id, segment, len);
            path_id[len] = '\0';
        }
        return match_sub_path(collections[c], segment + len);
    }
    return GATEWAY_ROUTE_NONE;
}

static const route_info_t *info_of(gateway_route_t route)
{
    return (unsigned)route < GATEWAY_ROUTE__COUNT ? &routes[route] : &routes[GATEWAY_ROUTE_NONE];
}

bool gateway_routes_allows(gateway_route_t route, gateway_method_t method)
{
    const route_info_t *info = info_of(route);
    return (method == GATEWAY_METHOD_GET && info->get) ||
           (method == GATEWAY_METHOD_POST && info->post) ||
           (method == GATEWAY_METHOD_PATCH && info->patch);
}

bool gateway_routes_needs_key(gateway_route_t route)
{
    return route != GATEWAY_ROUTE_NONE && route != GATEWAY_ROUTE_HEALTH;
}

uint32_t gateway_routes_scope(gateway_route_t route, gateway_method_t method)
{
    const route_info_t *info = info_of(route);
    switch (method) {
    case GATEWAY_METHOD_GET:
        return info->get_scope;
    case GATEWAY_METHOD_POST:
        return info->post_scope;
    case GATEWAY_METHOD_PATCH:
        return info->patch_scope;
    default:
        return 0;
    }
}

bool gateway_routes_has_body(gateway_route_t route, gateway_method_t method)
{
    return (method == GATEWAY_METHOD_POST || method == GATEWAY_METHOD_PATCH) &&
           route != GATEWAY_ROUTE_STREAM_TOKENS;
}

const char *gateway_routes_pattern(gateway_route_t route)
{
    return info_of(route)->pattern;
}

const char *gateway_routes_allow(gateway_route_t route)
{
    return info_of(route)->allow;
}

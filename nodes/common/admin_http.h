/*  admin_http.h: the admin HTTP endpoints every node serves (loopback by default).

      GET  /health                    200 {"status":"ok",...}; 200 "degraded" when the
                                      map or the disk is ADMIN_HEALTH_DEGRADED_PCT used;
                                      503 "unavailable" when not ready (store
                                      unreadable, the oldest outbox entry older than
                                      stale_outbox_ms: a peer is away, the allow-list's
                                      reload failed, the map or disk
                                      ADMIN_HEALTH_UNAVAILABLE_PCT used, or the store
                                      full: its last write failed for room);
                                      "reasons" names what did not pass, "storage"
                                      the room (store_space)
      GET  /metrics                   Prometheus text exposition format (the families
                                      are listed in admin_metrics.h)
      GET  /outbox?after=&limit=      outbox entries, decoded to JSON
      GET  /dead-letters?after=&limit=  dead letters with their nack code and reason
      POST /dead-letters/{id}/replay  moves the entry back to the outbox, once
      plus the node's own routes: the single GET route of route_path
      (accounts: GET /ledger/verify) and a table of routes (admin_route_t:
      method, path pattern, handler; the gateway's /principals routes),
      whose handlers get the path's {} segments and the request body (JSON,
      at most ADMIN_BODY_MAX bytes, else 413 payload_too_large).

    When a token is configured (LEDGER_ADMIN_TOKEN), every request needs
    "Authorization: Bearer <token>", else 401; the table's routes too.
    Before any body is read, what only a browser sends is refused: an Origin
    header (403 forbidden_origin), a Host that is a domain name (403
    bad_host, DNS rebinding), and a POST without "Content-Type:
    application/json" (415 unsupported_media_type; bodiless POSTs too: a
    page can make a browser send a text/plain or form POST cross-site
    without asking first, never a JSON one).

    Bounds, as on the gateway's public port: a request head must be in
    within head_timeout_ms (--http-head-timeout-ms) of the connection's
    opening (or of the previous request's end plus the 10 s idle timeout),
    a body within that plus its size at 64 KiB/s (http_deadline.h: the
    socket is shut down past it, counted as
    ledger_admin_http_refused_total{reason="head_deadline"|"body_deadline"});
    a connection's memory pool is ADMIN_CONNECTION_MEMORY (32 KiB; a larger
    head is answered by libmicrohttpd itself, 431).

    What it owns: the libmicrohttpd daemon, copies of the token and the
    route path, and each request's body while it is read. The node, the
    store, the route table and the routes' arguments are the caller's and
    must outlive the server.

    How to call it: admin_http_start after node_new, admin_http_destroy
    before node_destroy (node_main.c does both).

    Errors: admin_http_start returns LEDGER_E_INVALID (a token over
    ADMIN_TOKEN_MAX bytes, a host that is not an IPv4 address),
    LEDGER_E_IO (the port cannot be bound) or LEDGER_E_NOMEM, each logged.
    Requests get JSON errors {"error":{"code","message"}}: 400 bad page or
    id, 401, 403, 404, 405, 413, 415, 503 store unavailable; a table route answers
    what its handler returns (a NULL body: no body, e.g. 204).

    Threads: requests run on libmicrohttpd's thread; they read the store in
    their own read transactions and write (replay, the table's handlers)
    with store_write, which LMDB serialises with the node loop's write
    transaction (store.h), then wake the node loop. They never touch the
    node's sockets.
*/
#ifndef LEDGER_ADMIN_HTTP_H
#define LEDGER_ADMIN_HTTP_H

#include <jansson.h>
#include <stdint.h>
#include "admin_metrics.h"
#include "ledger_err.h"
#include "node.h"

#define ADMIN_PAGE_MAX 500          /* entries per page of /outbox and /dead-letters */
#define ADMIN_PAGE_DEFAULT 100      /* entries per page without ?limit= */
#define ADMIN_STALE_OUTBOX_MS 30000 /* default /health threshold of the oldest outbox entry */
/*  /health's thresholds of the map (pages in use / --map-max-bytes) and the
    data directory's disk (used / (used + available), as df): degraded (200)
    from the first, 503 from the second. */
#define ADMIN_HEALTH_DEGRADED_PCT 80.0
#define ADMIN_HEALTH_UNAVAILABLE_PCT 95.0
#define ADMIN_TOKEN_MAX 255        /* bytes of the bearer token */
#define ADMIN_ROUTE_PATH_MAX 63    /* bytes of the node's own route path */
#define ADMIN_BODY_MAX (16 * 1024) /* bytes of a request body for a table route */
#define ADMIN_PARAMS_MAX 4         /* {} segments in a route pattern */
#define ADMIN_PARAM_MAX 64         /* bytes of one {} segment */

typedef struct admin_http_t admin_http_t;

/* A node-specific GET route: fills *body_out (owned by the caller) and returns the HTTP status. */
typedef unsigned (*admin_route_fn)(store_t *store, json_t **body_out, void *arg);

/* What a table route's handler gets. */
typedef struct {
    const char *params[ADMIN_PARAMS_MAX]; /* the {} segments of the path, in order */
    size_t param_count;
    const char *body; /* the request body (not NUL-terminated), NULL when empty */
    size_t body_len;
} admin_request_t;

/*  A table route's handler: fills *body_out (NULL for no body) and returns
    the HTTP status. Runs on the admin thread (see Threads above). */
typedef unsigned (*admin_handler_fn)(store_t *store, const admin_request_t *req, json_t **body_out,
                                     void *arg);

/*  One route of a node's table: `method` ("GET", "POST", "DELETE") and
    `pattern` ("/principals/{}/keys/{}": a {} stands for one non-empty
    segment of at most ADMIN_PARAM_MAX bytes). A path that matches a pattern
    with another method is 405. */
typedef struct {
    const char *method;
    const char *pattern;
    admin_handler_fn handler;
} admin_route_t;

typedef struct {
    const char *host;  /* listen address, e.g. "127.0.0.1" */
    uint16_t port;     /* 0: no admin server */
    const char *token; /* bearer token (at most ADMIN_TOKEN_MAX bytes, else LEDGER_E_INVALID), NULL
                          or "" for none */
    node_t *node;
    uint64_t stale_outbox_ms; /* /health is 503 past this outbox age; 0 = ADMIN_STALE_OUTBOX_MS */
    uint32_t head_timeout_ms; /* a request head's deadline (http_deadline.h); 0 = 5 s */
    const char *route_path;   /* optional extra GET route, e.g. "/ledger/verify" */
    admin_route_fn route;
    void *route_arg;
    const admin_route_t *routes; /* optional table of node routes (the caller's) */
    size_t route_count;
    void *routes_arg;              /* handed to every handler of the table */
    admin_metrics_fn node_metrics; /* optional, appended to /metrics */
    void *node_metrics_arg;
} admin_http_config_t;

/* Starts the server. LEDGER_E_IO if the port cannot be bound. port 0: *out = NULL, LEDGER_OK. */
ledger_err_t admin_http_start(const admin_http_config_t *config, admin_http_t **out);
void admin_http_destroy(admin_http_t **admin_p);

#endif

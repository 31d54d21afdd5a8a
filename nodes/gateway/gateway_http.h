/*  gateway_http.h: the gateway's public HTTP API (libmicrohttpd + jansson).

    What it owns: one MHD daemon (a pool of poll() worker threads, not
    epoll: see start_daemon; HTTPS when config.tls is set, gateway_tls.h)
    and the parts it serves with: the submission queue the node loop
    commits (gateway_submit.h), the accounts client actor
    (gateway_accounts_client.h: the ZeroMQ DEALER to the accounts node), the
    retention actor (gateway_prune.h), the event-stream hub
    (gateway_stream.h: GET /api/events, one thread) and the web app server
    (gateway_static.h, no thread of its own). The store is the caller's and
    is shared with the node runtime, whose loop is its one writer of
    submissions and inbound messages (the pruner's short write transactions
    are the exception, which LMDB serialises with the loop's). Requests are
    validated by gateway_request.h, answered by gateway_reply.h, and the
    account routes are gateway_account_api.h.

    Threads, and why:
    - HTTP worker threads parse and validate, read the store for GETs, and never
      block on a peer or on fsync.
    - POST /api/transfers[/batch]: the worker suspends the connection
      (MHD_ALLOW_SUSPEND_RESUME) and queues the request. The node loop takes
      every queued request (up to GATEWAY_SUBMIT_BATCH_MAX) through
      gateway_http_take / _apply_taken / _finish_taken, runs
      gateway_view_submit for each in ONE durable write transaction (group
      commit, beside its inbound messages), then resumes the connections,
      which answer. A 202 is never sent before its commit. At
      gateway_http_destroy, requests the loop never took are answered 503
      shutting_down (nothing of them was written; a retry with the same
      Idempotency-Key is safe).
    - /api/accounts*: the worker suspends the connection and hands an
      account.query to the accounts client actor, which sends it over one
      persistent DEALER (ZMQ_IMMEDIATE, so nothing is queued towards a peer
      that is away), matches replies by delivery tag, and resumes the
      connection on the reply or at the deadline (503 accounts_unavailable).
      An accounts node that is down therefore never ties up HTTP threads,
      and transfers keep being accepted (the saga delivers them later).
      A statement takes several queries, one page each, one after the other
      on the same connection (gateway_statement.h); GET /api/currencies is
      answered at once from core/currency.h.
    - GET /api/events: a content-reader response that suspends its connection
      whenever it has nothing to send (never a busy loop, never a worker held
      by an idle stream); the hub resumes it on gateway_http_notify_events,
      after the loop's commits of new transfers, for heartbeats and at stop
      (gateway_http_destroy ends open streams at once).
    - Idempotency keys and the event log are pruned by the retention actor
      about once a minute (gateway_prune.h); the runtime need not do it.

    Who may call: every /api route but /api/health needs an API key
    ("Authorization: Bearer lk_...") of a principal holding the route's scope,
    checked in ONE place, the router's on_headers, before any body is read
    (gateway_guard.h over config.auth: 401 unauthenticated, 403 forbidden,
    429 rate_limited). Scopes: POST /api/transfers[/batch] transfers:write;
    GET /api/transfers* transfers:read; GET /api/accounts* and GET
    /api/currencies accounts:read; POST /api/accounts accounts:open; PATCH
    /api/accounts/{id} accounts:manage (operators); GET /api/events and POST
    /api/stream-tokens events:read; POST /api/deposits deposits:write; POST
    /api/withdrawals transfers:write (gateway_money_api.h). Idempotency keys
    are the caller's principal's (gateway_view_idem.h). Ownership
    (gateway_owners.h): a transfer from an account the caller does not own is
    403 forbidden_account (checked in the commit's transaction,
    gateway_submit.h; a deposit draws on the settlement account, nobody's);
    customers read only their own accounts and the transfers of their
    accounts (404 not_found otherwise, the answer of a missing one);
    operators read all.

    Routes (all JSON, Content-Type: application/json, Cache-Control: no-store):
      GET  /api/health                         200 {"status":"ok","node"} (no key needed)
      POST /api/stream-tokens                  201 {"token","expires_at"}: one use of
                                               GET /api/events?token= within 5 minutes
      POST /api/transfers                      202 {"id","status":"pending","from","to",
                                                    "amount","currency","reference","created_at"}
                                               + Location: /api/transfers/{id}
        A replay (same Idempotency-Key, same request) answers exactly the
        original answer again (202, same body, status "pending") with the
        header `Idempotent-Replayed: true`; GET the transfer for its status now.
      POST /api/deposits, /api/withdrawals     202 as POST /api/transfers, "kind" "deposit" or
                                               "withdrawal": body {"account","amount",
                                               "currency"?,"reference"?} (gateway_money_api.h)
      POST /api/transfers/batch                200
   {"results":[...],"accepted","replayed","rejected"} up to 8,190 transfers, each with its own
                                               idempotency_key and result (gateway_batch.h)
      GET  /api/transfers?limit=&cursor=       200 {"transfers":[...],"next_cursor"} newest first,
                                               limit 1..200 (default 50)
      GET  /api/transfers/{id}                 200 transfer (gateway_view.h), 404 not_found
      GET  /api/accounts?limit=&cursor=        200 {"accounts":[...],"next_cursor"} by id,
                                               limit 1..200 (default 200), cursor = last id seen
      POST /api/accounts                       201 created, 200 existed with the same values,
                                               409 account_exists (other values);
                                               body {"id","name","currency"?,"owner"};
                                               422 invalid_owner, 400 opening_balance_removed
      GET  /api/accounts/{id}                  200 account, 404 not_found
      GET  /api/accounts/{id}/ledger?limit=&cursor=
                                               200 {"account","entries":[...],"next_cursor"}
                                               newest first, cursor = next_cursor of the previous
   page An account: {"id","name","currency","balance","held","available","settlement","owner"}; a
   ledger entry:
   {"seq","account","transfer","kind","amount","balance_after", "held_after","at","ts_ms"}. Amounts
   are integers in minor units. GET  /api/events                         200 text/event-stream:
   every change of a transfer, resumable with Last-Event-ID; 503 too_many_streams over
   config.streams.max_streams, 429 too_many_principal_streams (format: gateway_stream.h) Every other
   /api path: 404 not_found. Every other path: the web app from config.web_dir (gateway_static.h:
   content types, cache headers, index.html fallback, nothing outside web_dir readable).

    Errors: {"error":{"code","message","field"}} (field null when no field is
    at fault). Codes and statuses:
      401 unauthenticated (WWW-Authenticate: Bearer)   403 forbidden
      429 rate_limited (Retry-After)
      400 invalid_json, missing_field, unknown_field, invalid_field,
          missing_idempotency_key, invalid_idempotency_key, invalid_query
      404 not_found          405 method_not_allowed (with Allow)
      409 account_exists     413 payload_too_large   415 unsupported_media_type
      422 same_account, idempotency_key_reused
      502 accounts_error (the accounts node answered with an error of its own)
      503 accounts_unavailable, storage_unavailable, shutting_down,
          overloaded (admission control, with Retry-After: 1: the outbox already
          holds config.max_pending transfers the accounts node has not taken;
          new transfers, replays included, wait until it catches up; or
          the body budget, gateway_budget.h: a POST whose body would take the
          bytes buffered over all connections past config.body_budget_bytes)
      500 internal_error
*/
#ifndef LEDGER_GATEWAY_HTTP_H
#define LEDGER_GATEWAY_HTTP_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "gateway_tls.h"
#include "gateway_auth.h"
#include "gateway_stream.h"
#include "gateway_view.h"
#include "ledger_err.h"
#include "node_ctx.h"
#include "store.h"

/* Defaults (used when the config field is 0 / NULL). */
#define GATEWAY_HTTP_ADDRESS_DEFAULT "127.0.0.1"
#define GATEWAY_HTTP_ACCOUNTS_DEFAULT "tcp://127.0.0.1:7201"
#define GATEWAY_HTTP_QUERY_TIMEOUT_MS_DEFAULT 2000u
#define GATEWAY_HTTP_BODY_MAX_DEFAULT (64u * 1024u)
#define GATEWAY_HTTP_THREADS_DEFAULT 4u
#define GATEWAY_HTTP_CONNECTIONS_DEFAULT 1024u
#define GATEWAY_HTTP_PER_IP_DEFAULT 512u
#define GATEWAY_HTTP_CONNECTION_TIMEOUT_S_DEFAULT 30u
/*  MHD_OPTION_CONNECTION_MEMORY_LIMIT, set explicitly (it is MHD's default
    too): each connection's pool for its request head, read buffer and reply
    headers. A head larger than this is refused by MHD (431); ours are < 4 KiB
    (an API key, a few headers). Bodies are not in it: they are buffered by
    the gateway, under the body cap and the global body budget. */
#define GATEWAY_HTTP_CONNECTION_MEMORY (32u * 1024u)
#define GATEWAY_HTTP_WEB_DIR_DEFAULT "./web/dist"
#define GATEWAY_HTTP_MAX_PENDING_DEFAULT 100000u /* undelivered transfer.requested before 503 */
#define GATEWAY_HTTP_DEPOSIT_MAX_DEFAULT 10000000000LL /* minor units of one deposit (10^10) */

typedef struct {
    store_t *store;                    /* required: the gateway's store (not owned) */
    gateway_auth_t *auth;              /* required: keys, scopes and rates (not owned) */
    const char *node_name;             /* required: origin of emitted messages, e.g. "gateway" */
    const char *listen_address;        /* IPv4 or IPv6 literal; NULL = "127.0.0.1" */
    uint16_t port;                     /* 0 = an ephemeral port (see gateway_http_port) */
    const char *accounts_endpoint;     /* ZeroMQ endpoint of the accounts inbox; NULL = default */
    const zcert_t *accounts_cert;      /* CURVE: the gateway's cert (gateway_accounts_client.h) */
    const char *accounts_server_key;   /* and the accounts node's public key; both NULL: plain */
    uint32_t query_timeout_ms;         /* account query deadline; 0 = 2000 */
    uint64_t idempotency_retention_ms; /* 0 = GATEWAY_RETENTION_DEFAULT_MS (24 h) */
    uint64_t transfer_retention_ms;    /* final views (gateway_view_prune.h); 0 = kept */
    size_t body_max_bytes;             /* request body cap; 0 = 64 KiB */
    uint64_t body_budget_bytes; /* body bytes buffered at once, all connections; 0 = 64 MiB */
    uint64_t body_budget_per_address_bytes; /* of them, one client address's; 0 = all */
    uint32_t head_timeout_ms;  /* a request head's deadline (http_deadline.h); 0 = 5 s */
    uint32_t body_min_rate;    /* a body's deadline: head_timeout_ms + size / this; 0 = 64 KiB/s */
    unsigned thread_pool_size; /* MHD worker threads; 0 = 4 */
    unsigned connection_limit; /* MHD_OPTION_CONNECTION_LIMIT; 0 = 1024 */
    unsigned per_ip_connection_limit; /* MHD_OPTION_PER_IP_CONNECTION_LIMIT; 0 = 512 */
    unsigned connection_timeout_s;    /* idle connection timeout; 0 = 30 */
    gateway_streams_limits_t streams; /* GET /api/events limits (gateway_stream.h); 0s: defaults */
    const char *web_dir;              /* built web app served at /; NULL = "./web/dist" */
    uint64_t max_pending;             /* admission: most undelivered transfers; 0 = 100,000 */
    int64_t deposit_max_minor;        /* one POST /api/deposits at most; <= 0 = 10^10 */
    const gateway_tls_t *tls; /* HTTPS (gateway_tls.h; must outlive the server); NULL = HTTP */
    /*  Called when a submission is queued (and when a take leaves some
        behind), to wake the loop that commits them (gateway_http_take).
        Must be thread-safe and quick (e.g. a write to an eventfd). May be
        NULL. */
    void (*wake)(void *arg);
    void *wake_arg;
    /*  One line of text about a failure the API hid behind a 5xx (store errors,
        accounts protocol errors). Any thread; must be thread-safe. May be NULL. */
    void (*log)(void *arg, const char *line);
    void *log_arg;
    /*  Called once per request when its connection is done, on an MHD thread,
        with the method, the route's pattern ("/api/transfers/{id}", ...;
        "other" for paths outside the API routes) and the HTTP status
        answered, for /metrics. Not called when no answer was queued. Must be
        thread-safe and quick. May be NULL. */
    void (*count_request)(void *arg, const char *method, const char *route, unsigned status);
    void *count_request_arg;
    /* Unix time in ms (query and pruning clock); NULL = the real clock (CLOCK_REALTIME). */
    uint64_t (*now_ms)(void);
    /*  True while the node's storage is faulted (node.h, "Storage faults"): every POST but
        /api/stream-tokens is refused 503 storage_unavailable with Retry-After, before its
        body is read; reads go on. Any thread; must be thread-safe and quick. May be NULL. */
    bool (*storage_faulted)(void *arg);
    /*  Faults the node (node_fault_set) with a source and a reason: the retention actor
        calls it when a kind of retention meets a record that does not decode, and prunes
        nothing while storage_faulted says true (gateway_prune.h). Any thread; thread-safe.
        May be NULL (such a record is then only logged). Both get storage_faulted_arg. */
    void (*storage_fault)(void *arg, const char *source, const char *reason);
    void *storage_faulted_arg;
} gateway_http_config_t;

typedef struct gateway_http_t gateway_http_t;

/*  Starts the HTTP API: copies what it needs from `config` (strings too; the
    store must outlive the server), binds the listening socket, starts the
    threads. Errors: LEDGER_E_INVALID (a required field missing, a bad
    address, endpoint or node name), LEDGER_E_IO (cannot bind or start MHD,
    cannot create the ZeroMQ socket), LEDGER_E_NOMEM. */
ledger_err_t gateway_http_start(const gateway_http_config_t *config, gateway_http_t **out);

/*  On the loop thread, once per turn (gateway_submit.h says more):
      gateway_http_take          moves the queued submissions (at most
                                 GATEWAY_SUBMIT_BATCH_MAX requests and
                                 GATEWAY_SUBMIT_COMMIT_TRANSFERS_MAX transfers)
                                 into the server's batch; returns how many
                                 (0 once the server is stopping);
      gateway_http_apply_taken   runs them in ctx->txn (the loop's write
                                 transaction; re-runnable); an error other
                                 than a per-request refusal must fail the
                                 whole transaction;
      gateway_http_finish_taken  after the commit (LEDGER_OK) or its failure
                                 (the error every request of the batch gets):
                                 answers the requests. A 202 is never sent
                                 before its commit. */
size_t gateway_http_take(gateway_http_t *self);
ledger_err_t gateway_http_apply_taken(gateway_http_t *self, node_ctx_t *ctx);
void gateway_http_finish_taken(gateway_http_t *self, ledger_err_t err);

/* The TCP port the server listens on (the chosen one when config.port was 0). */
uint16_t gateway_http_port(const gateway_http_t *self);

/*  What the public port refused to bound its resources, since the start (any thread). */
typedef struct {
    uint64_t body_budget;               /* 503 overloaded: the body budget was full */
    uint64_t body_budget_in_use;        /* body bytes taken from the budget now */
    uint64_t body_budget_address;       /* 503 overloaded: the client address's share was full */
    uint64_t head_deadline;             /* connections closed: no whole request head in time */
    uint64_t body_deadline;             /* connections closed: no whole body in time */
    gateway_streams_counters_t streams; /* event streams refused or closed (gateway_stream.h) */
} gateway_http_refusals_t;
void gateway_http_refusals(const gateway_http_t *self, gateway_http_refusals_t *out);
/* Transfer views the retention deleted since the start (gateway_prune.h); any thread. */
uint64_t gateway_http_views_pruned(const gateway_http_t *self);
/*  Tells the event streams that a commit may have appended events (the node
    loop's on_commit after gateway_view_apply; new transfers the loop commits
    through gateway_http_finish_taken notify by themselves). Any thread; cheap (an eventfd write).
   Safe on NULL. */
void gateway_http_notify_events(gateway_http_t *self);

/*  Stops the server, after the loop no longer calls gateway_http_take:
    refuses new work (503 shutting_down), answers every submission still
    queued and every pending account query 503 shutting_down, stops MHD
    and the threads, frees everything. Sets *self_p to
    NULL; safe on NULL. Call from the thread that started it (not from a
    callback). */
void gateway_http_destroy(gateway_http_t **self_p);

#endif

/*  gateway_account_api.h: the /api/accounts routes, between HTTP and account.query.

    What it does: turns an account request (GET /api/accounts?limit=&cursor=,
    POST /api/accounts, GET /api/accounts/{id}[?expand=holds], PATCH
    /api/accounts/{id}, GET /api/accounts/{id}/ledger?limit=&cursor=, and
    the history routes of gateway_statement.h) into a proto_query_t, or
    answers it at once when it is bad (400, 403, 404); and turns the outcome
    of the query (gateway_accounts_client.h) into the HTTP answer: the
    account (200, 201 when opened now), the page of accounts or ledger
    entries, the accounts node's refusal (400, 404, 409 account_exists /
    account_not_empty / account_closed), or 502 accounts_error / 503
    accounts_unavailable / 503 shutting_down. The JSON shapes are in
    gateway_http.h; an account carries status ("active", "frozen",
    "closed") and overdraft_limit (minor units); ?expand=holds adds "holds"
    (its open holds, op holds: at most PROTO_PAGE_MAX, from the transfer id
    in ?holds_cursor=) and "holds_next". It owns nothing and does no I/O
    besides queueing the answer and the short store transactions below.

    PATCH /api/accounts/{id} {"status"?, "overdraft_limit"?} (issue 21):
    scope accounts:manage, which only operators hold (the guard answers 403
    to anyone else, and a non-operator is refused 403 here too); the body is
    gateway_request_parse_account_patch's; op update names the operator as
    principal, and the accounts node writes the change and its audit entry
    in the ledger's hash chain.

    Ownership (gateway_owners.h): POST names the owner, a principal that must
    exist (422 invalid_owner); once the accounts node has opened the account
    the owner map gets its entry (gateway_account_api_record_owner, its own
    durable write) before the 201/200 is answered. A customer reads only its
    own accounts: GET /api/accounts lists them from the owner map (one GET
    query per account, one after the other:
    gateway_account_api_own_t), and GET /api/accounts/{id}[/ledger] of an
    account it does not own is 404 not_found, the same answer as for an
    account that does not exist (ids cannot be probed). Operators read all.

    Threads: MHD worker threads (the connection's handler).
*/
#ifndef LEDGER_GATEWAY_ACCOUNT_API_H
#define LEDGER_GATEWAY_ACCOUNT_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway_accounts_client.h"
#include "gateway_auth.h"
#include "gateway_owners.h"
#include "gateway_reply.h"
#include "gateway_routes.h"
#include "gateway_statement.h"
#include "store.h"

/* A customer's GET /api/accounts: the page of its account ids and the accounts read so far. */
typedef struct {
    char ids[GATEWAY_OWNERS_PAGE_MAX][PROTO_ACCOUNT_ID_MAX + 1];
    size_t count; /* ids in the page */
    size_t next;  /* the id whose GET query is out */
    bool more;    /* more ids after the page */
    json_t *accounts;
} gateway_account_api_own_t;

typedef enum {
    GATEWAY_ACCOUNT_API_COLLECTION, /* /api/accounts: GET lists, POST opens */
    GATEWAY_ACCOUNT_API_ONE,        /* GET /api/accounts/{id}[?expand=holds] */
    GATEWAY_ACCOUNT_API_LEDGER,     /* /api/accounts/{id}/ledger */
    GATEWAY_ACCOUNT_API_PATCH,      /* PATCH /api/accounts/{id} (operators: accounts:manage) */
    GATEWAY_ACCOUNT_API_BALANCE,    /* GET /api/accounts/{id}/balance?at= */
    GATEWAY_ACCOUNT_API_STATEMENT,  /* GET /api/accounts/{id}/statement?from=&to=&format= */
} gateway_account_api_route_t;

/* The account route of a gateway route and method (gateway_routes.h); false if none. */
bool gateway_account_api_route_of(gateway_route_t route, gateway_method_t method,
                                  gateway_account_api_route_t *out);

/* What the router knows of an account request. */
typedef struct {
    gateway_account_api_route_t route;
    bool is_post;
    const char *path_id; /* {id} of the path (NUL-terminated), unless id_too_long */
    bool id_too_long;
    const char *body; /* POST body (`body_len` bytes) */
    size_t body_len;
    store_t *store;                      /* the owner map and the principals */
    const gateway_auth_caller_t *caller; /* who asks */
    char *owner_out;                     /* POST: the owner named, [PROTO_ACCOUNT_ID_MAX + 1] */
    gateway_account_api_own_t **own_out; /* a customer's list: its state (malloc'd here) */
    gateway_statement_t **statement_out; /* a statement's pages: its state (malloc'd here) */
    uint64_t now_ms;                     /* the statement's `to` is clamped to it */
} gateway_account_api_request_t;

/*  Builds the query for `req` into `q`: true. On a bad request (or a
    customer's empty list, or an account the caller may not read), answers
    it on `conn`, stores MHD's verdict in *answered and returns false. */
bool gateway_account_api_build_query(struct MHD_Connection *conn,
                                     const gateway_account_api_request_t *req, proto_query_t *q,
                                     enum MHD_Result *answered);

/*  Answers a finished query. `path_id` is the account of a ledger page;
    `timeout_ms` is quoted in the 503; `log` (may be NULL) gets one line about
    an answer the gateway could not use. */
enum MHD_Result gateway_account_api_answer(struct MHD_Connection *conn,
                                           const gateway_accounts_query_t *query,
                                           const char *path_id, uint32_t timeout_ms,
                                           void (*log)(void *arg, const char *line), void *log_arg);

/*  After an open query came back 200/201: records its owner (`owner`) in the
    map. true: recorded (or already), answer the query now. false: answered
    here (409 account_exists when the map names another owner, 503
    storage_unavailable). */
bool gateway_account_api_record_owner(struct MHD_Connection *conn, store_t *store,
                                      const gateway_accounts_query_t *query, const char *owner,
                                      enum MHD_Result *answered);

/*  A customer's list, after one of its GET queries finished: takes the
    account (an account the node does not know is left out). true with the
    next GET query in `q`; false when answered (the page, or the query's
    error). */
bool gateway_account_api_own_next(struct MHD_Connection *conn, gateway_account_api_own_t *own,
                                  const gateway_accounts_query_t *query, uint32_t timeout_ms,
                                  proto_query_t *q, enum MHD_Result *answered);

/*  A statement, after one of its pages came back: true with the next page's
    query in `q`; false when answered (the statement, or the query's error
    as gateway_account_api_answer gives it, with `timeout_ms`). */
bool gateway_account_api_statement_next(struct MHD_Connection *conn, gateway_statement_t *st,
                                        const gateway_accounts_query_t *query, uint32_t timeout_ms,
                                        proto_query_t *q, enum MHD_Result *answered);

/*  GET /api/currencies: the currency table (core/currency.h) as
    {"currencies":[{"code","exponent","name"}...]}. */
enum MHD_Result gateway_account_api_currencies(struct MHD_Connection *conn);

/* Frees a customer's list state; sets *own_p to NULL. Safe on NULL. */
void gateway_account_api_own_free(gateway_account_api_own_t **own_p);

#endif

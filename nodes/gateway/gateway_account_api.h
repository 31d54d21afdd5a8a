/*  gateway_account_api.h: the /api/accounts routes, between HTTP and account.query.

    What it does: turns an account request (GET /api/accounts?limit=&cursor=,
    POST /api/accounts, GET /api/accounts/{id}, GET
    /api/accounts/{id}/ledger?limit=&cursor=) into a proto_query_t, or
    answers it at once when it is bad (400, 404); and turns the outcome of
    the query (gateway_accounts_client.h) into the HTTP answer: the account
    (200, 201 when opened now), the page of accounts or ledger entries, the
    accounts node's refusal (400, 404, 409 account_exists), or 502
    accounts_error / 503 accounts_unavailable / 503 shutting_down. The JSON
    shapes are in gateway_http.h. It owns nothing and does no I/O besides
    queueing the answer.

    Threads: MHD worker threads (the connection's handler).
*/
#ifndef LEDGER_GATEWAY_ACCOUNT_API_H
#define LEDGER_GATEWAY_ACCOUNT_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway_accounts_client.h"
#include "gateway_reply.h"

typedef enum {
    GATEWAY_ACCOUNT_API_COLLECTION, /* /api/accounts: GET lists, POST opens */
    GATEWAY_ACCOUNT_API_ONE,        /* /api/accounts/{id} */
    GATEWAY_ACCOUNT_API_LEDGER,     /* /api/accounts/{id}/ledger */
} gateway_account_api_route_t;

/* What the router knows of an account request. */
typedef struct {
    gateway_account_api_route_t route;
    bool is_post;
    const char *path_id; /* {id} of the path (NUL-terminated), unless id_too_long */
    bool id_too_long;
    const char *body; /* POST body (`body_len` bytes) */
    size_t body_len;
} gateway_account_api_request_t;

/*  Builds the query for `req` into `q`: true. On a bad request, answers it on
    `conn`, stores MHD's verdict in *answered and returns false. */
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

#endif

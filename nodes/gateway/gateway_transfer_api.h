/*  gateway_transfer_api.h: the /api/transfers routes' reads, checks and answers.

    What it does: GET /api/transfers/{id} and GET /api/transfers?limit=&cursor=
    (read transactions on the store, answered at once); for POST
    /api/transfers the Idempotency-Key and body checks before the request is
    queued, admission control (503 overloaded while the outbox holds
    max_pending undelivered transfers), and the answer once the node loop has
    committed it (202 with Location, a replay with Idempotent-Replayed: true,
    422 idempotency_key_reused, a batch's 200, 503 shutting_down or a store
    error). The JSON shapes are in gateway_http.h and gateway_batch.h. It
    owns nothing; the store is the caller's.

    Errors: a store error is logged (env->log) and answered 503
    storage_unavailable, or 500 internal_error for a corrupt record, no
    memory or a broken invariant. A store without room (map full at
    --map-max-bytes, disk full): 503 storage_unavailable with Retry-After,
    up front at admission or after the failed commit; reads go on.

    Threads: MHD worker threads (the connection's handler); it only opens
    read transactions, which never wait for a writer.
*/
#ifndef LEDGER_GATEWAY_TRANSFER_API_H
#define LEDGER_GATEWAY_TRANSFER_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway_auth.h"
#include "gateway_reply.h"
#include "gateway_submit.h"
#include "store.h"

/* What the transfer routes work with. */
typedef struct {
    store_t *store;                           /* the gateway's store (not owned) */
    void (*log)(void *arg, const char *line); /* one line about a store error; may be NULL */
    void *log_arg;
} gateway_transfer_api_env_t;

/*  While the store has no room (store_room: its last write failed for room,
    map at --map-max-bytes or disk full), write requests are refused up front
    for this long after that failure; after it, the next batch is let
    through to the commit, which tries the store again (room may be back). */
#define GATEWAY_TRANSFER_API_STORAGE_PROBE_MS 1000
#define GATEWAY_TRANSFER_API_STORAGE_RETRY_AFTER "1" /* Retry-After of storage_unavailable, s */

/*  503 storage_unavailable with Retry-After: the store has no room, nothing
    was written. Counted (store_room_note_refused: ledger_storage_refused_total). */
enum MHD_Result gateway_transfer_api_refuse_full(struct MHD_Connection *conn,
                                                 const gateway_transfer_api_env_t *env);

/*  The answer to a submission that failed (err != LEDGER_OK), for a transfer and for a
    capture, void or refund alike: 422 idempotency_key_reused (LEDGER_E_EXISTS), 400
    invalid_field (LEDGER_E_INVALID), 403 (GATEWAY_SUBMIT_FORBIDDEN), 503 shutting down
    (GATEWAY_SUBMIT_STOPPED), else the store error of gateway_transfer_api_store_error.
    `what` ("transfer", "request") names it in the messages. */
enum MHD_Result gateway_transfer_api_answer_failed(struct MHD_Connection *conn,
                                                   const gateway_transfer_api_env_t *env,
                                                   ledger_err_t err, const char *what);

/*  Logs `err` (what failed: "read the transfer", ...) and answers 503 or 500;
    LEDGER_E_MAP_FULL (no room) is gateway_transfer_api_refuse_full, not logged
    per request (the node loop logs the failed batch). */
enum MHD_Result gateway_transfer_api_store_error(struct MHD_Connection *conn,
                                                 const gateway_transfer_api_env_t *env,
                                                 ledger_err_t err, const char *what);

/*  GET /api/transfers/{id}: `id` NULL when the path's id was too long (404). A customer sees
    only a transfer indexed for it (gateway_owners.h: it owns `from` or `to`); any other is
    404 not_found, the same answer as an id that does not exist. Operators see all. */
enum MHD_Result gateway_transfer_api_get(struct MHD_Connection *conn,
                                         const gateway_transfer_api_env_t *env,
                                         const gateway_auth_caller_t *caller, const char *id);

/*  GET /api/transfers?limit=&cursor=&account=&status=&kind=&created_from=&created_to=: a
    page, newest first: every transfer for an operator, a customer's own (its index,
    gateway_owners_transfers) for a customer, filtered (gateway_view_transfer_list: the cursor
    is a position in the unfiltered order; a page walks a bounded number of transfers and may
    come back short, with a next_cursor). A bad value: 400 invalid_query naming the field. */
enum MHD_Result gateway_transfer_api_list(struct MHD_Connection *conn,
                                          const gateway_transfer_api_env_t *env,
                                          const gateway_auth_caller_t *caller);

/*  The Idempotency-Key header (sent once, gateway_request_check_idempotency_key)
    into job->key: true. Else answers the refusal (400), stores MHD's verdict
    in *answered, returns false. Every submission route checks it first. */
bool gateway_transfer_api_parse_key(struct MHD_Connection *conn, gateway_submit_job_t *job,
                                    enum MHD_Result *answered);

/*  POST /api/transfers before it is queued: checks the Idempotency-Key
    header and the body (`len` bytes) into job->req and job->key: true. Else
    answers the refusal, stores MHD's verdict in *answered, returns false. */
bool gateway_transfer_api_parse(struct MHD_Connection *conn, const char *body, size_t len,
                                gateway_submit_job_t *job, enum MHD_Result *answered);

/*  Admission control: true if `weight` more transfers fit under
    `max_pending` undelivered ones (a store that cannot be read admits: the
    commit will say). Else answers 503 overloaded with Retry-After: 1, stores
    MHD's verdict in *answered and returns false. First of all, while the
    store has no room (less than GATEWAY_TRANSFER_API_STORAGE_PROBE_MS after
    a write failed for it): 503 storage_unavailable, Retry-After: 1. */
bool gateway_transfer_api_admit(struct MHD_Connection *conn, const gateway_transfer_api_env_t *env,
                                uint64_t max_pending, size_t weight, enum MHD_Result *answered);

/* The answer to a submission the node loop has finished (gateway_submit_job_done). */
enum MHD_Result gateway_transfer_api_answer(struct MHD_Connection *conn,
                                            const gateway_transfer_api_env_t *env,
                                            const gateway_submit_job_t *job);

#endif

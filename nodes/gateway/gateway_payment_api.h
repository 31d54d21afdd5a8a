/*  gateway_payment_api.h: the routes that act on an existing transfer:
    POST /api/transfers/{id}/capture {"amount"?}, POST /api/transfers/{id}/void {} and
    POST /api/transfers/{id}/refunds {"amount"?, "reference"?}.

    What it does: before a request is queued, checks the Idempotency-Key (required), that the
    transfer exists and the caller may see it (a customer: it is indexed for it; 404 otherwise,
    the answer of a missing transfer), and the body, whose amount may be a decimal text in the
    transfer's currency (read here: a transfer's currency never changes). The rules that depend
    on the transfer's state (who may act, its status, the amounts) are decided by the node loop
    in its commit (gateway_view_act), so two requests are always judged one after the other.
    After the commit it answers:

      202 + the transfer (capture, void: status authorized, "pending_action": "capture" |
          "void", until the accounts node answers), or + the new refund (kind refund,
          refund_of, status pending) with Location; an idempotent replay: the same, with
          Idempotent-Replayed: true (the transfer as it is now)
      404 not_found        no such transfer, or not the caller's to act on
      409 invalid_state    capture/void of a transfer not authorized, or with a capture or
                           void in flight; a refund of one not settled or not of kind transfer
      422 exceeds_authorized, exceeds_refundable, too_many_refunds, idempotency_key_reused
      400 (key, body), 503 (store, shutting down) as for POST /api/transfers

    Owns nothing. Threads: MHD worker threads (read transactions only).
*/
#ifndef LEDGER_GATEWAY_PAYMENT_API_H
#define LEDGER_GATEWAY_PAYMENT_API_H

#include <stdbool.h>
#include <stddef.h>

#include "gateway_auth.h"
#include "gateway_routes.h"
#include "gateway_submit.h"
#include "gateway_transfer_api.h"

/*  The checks above for `route` (capture, void or refunds), transfer `id` (NULL when the
    path's id was too long), the body (`len` bytes), into job->action and job->key: true. Else
    answers the refusal, stores MHD's verdict in *answered, returns false. */
bool gateway_payment_api_parse(struct MHD_Connection *conn, const gateway_transfer_api_env_t *env,
                               const gateway_auth_caller_t *caller, gateway_route_t route,
                               const char *id, const char *body, size_t len,
                               gateway_submit_job_t *job, enum MHD_Result *answered);

/* The answer to an action job the node loop has finished (gateway_submit_job_done). */
enum MHD_Result gateway_payment_api_answer(struct MHD_Connection *conn,
                                           const gateway_transfer_api_env_t *env,
                                           const gateway_auth_caller_t *caller,
                                           const gateway_submit_job_t *job);

#endif

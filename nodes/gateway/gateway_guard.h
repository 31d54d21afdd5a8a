/*  gateway_guard.h: the public API's door: the one place where a request's
    key, scope and rate are checked (gateway_auth.h) and refused, called by
    the router (gateway_http.c) for every /api route before its handler, and
    the route that issues stream tokens.

      401 unauthenticated  no key, a malformed, unknown or revoked one; with
                           "WWW-Authenticate: Bearer" (one answer for all:
                           nothing tells a prober which it was)
      403 forbidden        a valid key without the route's scope
      429 rate_limited     past the principal's bucket, with Retry-After (s); or,
                           before any key is looked at, the client address
                           failed to authenticate too often (gateway_authfail.h:
                           every 401 here counts, a valid key gets the same 429)
      503 storage_unavailable  the key records could not be read; or (gateway_http.c) a
                           write while the node's storage is faulted (node.h, "Storage
                           faults"), with Retry-After

    GET /api/events may instead carry ?token=<stream token> (EventSource
    cannot send headers): a token from POST /api/stream-tokens, redeemed
    once, within GATEWAY_AUTH_STREAM_TOKEN_TTL_MS, for the principal that
    asked, taking a token of its bucket like any request (429 past it: the
    stream token is used up all the same); an open stream may outlive it.

    What it owns: nothing. Errors: as above. Threads: MHD worker threads.
*/
#ifndef LEDGER_GATEWAY_GUARD_H
#define LEDGER_GATEWAY_GUARD_H

#include <stdbool.h>
#include <stdint.h>
#include <microhttpd.h>
#include "gateway_auth.h"
#include "store.h"

/*  Checks the request on `conn` for `scope` (a GATEWAY_SCOPE_* bit;
    token_ok: a ?token= stream token is accepted instead of the header). true
    with *caller_out filled: go on. false: an answer was queued, its MHD
    verdict in *answered. */
bool gateway_guard_check(gateway_auth_t *auth, store_t *store, struct MHD_Connection *conn,
                         uint32_t scope, bool token_ok, gateway_auth_caller_t *caller_out,
                         enum MHD_Result *answered);

/*  With the whole body, before any work: true if `caller`'s key (checked
    with the headers) is still active. false: 401 unauthenticated was
    queued (the key was revoked meanwhile), its verdict in *answered. */
bool gateway_guard_recheck(gateway_auth_t *auth, store_t *store, struct MHD_Connection *conn,
                           gateway_auth_caller_t *caller, enum MHD_Result *answered);

/* Retry-After (s) of a write refused while the storage is faulted: an operator must act. */
#define GATEWAY_GUARD_FAULT_RETRY_S "60"

/*  Queues 503 storage_unavailable (Retry-After) for a write while the node's storage is
    faulted (issue 20): it takes no writes until restored and restarted; reads go on. */
enum MHD_Result gateway_guard_refuse_faulted(struct MHD_Connection *conn);

/* Queues 401 unauthenticated for a key revoked while its request was under way. */
enum MHD_Result gateway_guard_refuse_revoked(struct MHD_Connection *conn);

/*  POST /api/stream-tokens for `caller` (already checked for events:read):
    201 {"token","expires_at"}; 401 if its key was revoked meanwhile (no
    token of a revoked key is ever left behind); 503 overloaded when too many
    are out. */
enum MHD_Result gateway_guard_issue_stream_token(gateway_auth_t *auth, store_t *store,
                                                 struct MHD_Connection *conn,
                                                 gateway_auth_caller_t *caller);

#endif

/*  gateway_admin_api.h: the gateway's admin routes for principals and API keys
    (served on the admin port by admin_http.h, behind LEDGER_ADMIN_TOKEN when
    it is set).

      POST   /principals                  body {"id","kind","scopes":[...]}
                                          201 the principal, written now;
                                          200 the same principal was there;
                                          409 principal_exists (another kind or scopes);
                                          400 invalid_json, missing_field, unknown_field,
                                          invalid_field (field named)
      POST   /principals/{id}/keys        201 {"key_id","key","principal"}: the only time the
                                          key is shown; 404 not_found; 409 key_limit (two
                                          active keys already: revoke one first)
      DELETE /principals/{id}/keys/{key_id}
                                          204, the key fails from now on (also when it
                                          was revoked before); 404 not_found
      GET    /principals/{id}             200 {"id","kind","scopes","created_at",
                                          "keys":[{"key_id","state","created_at",
                                          "revoked_at"}],"keys_truncated","accounts":[ids],
                                          "accounts_truncated"}: the accounts it owns
                                          (the first 200 by id); never a secret
                                          (the store has none); 404 not_found

    Principals are "the same" when kind and scopes are (scopes as a set).
    Logs: event=principal_created, api_key_created, api_key_revoked with the
    principal and the key id, never the key.

    What it owns: nothing; gateway_admin_api_routes is a static table, and
    the argument the handlers get (gateway_admin_api_t) is the caller's.

    Errors: as HTTP answers above; 503 storage_unavailable when the store
    cannot be read or written.

    Threads: the admin server's thread. Writes go through store_write (its
    own durable write transaction, serialised by LMDB with the node loop's:
    store.h allows a second writer thread as long as it holds no read
    transaction of its own, which these handlers never do). Principal writes
    are rare and small, so the loop's queue is not worth a detour.
*/
#ifndef LEDGER_GATEWAY_ADMIN_API_H
#define LEDGER_GATEWAY_ADMIN_API_H

#include <stddef.h>
#include <stdint.h>
#include "admin_http.h"
#include "gateway_auth.h"

typedef struct {
    gateway_auth_t *auth;     /* revocations are forgotten here before the 204 */
    uint64_t (*now_ms)(void); /* Unix ms of records; NULL = the wall clock */
} gateway_admin_api_t;

/* The routes above, for admin_http_config_t.routes (routes_arg: a gateway_admin_api_t). */
extern const admin_route_t gateway_admin_api_routes[];
extern const size_t gateway_admin_api_route_count;

#endif

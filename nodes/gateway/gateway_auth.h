/*  gateway_auth.h: who is calling, may they, and not too often: the one check
    the public API's router makes before any /api handler runs.

    What it does, for a request's Authorization header and the scope its
    route needs (gateway_auth_check):
      1. authenticates "Bearer lk_<key_id>_<secret>" against the key records
         (gateway_principals.h), through a cache: key id -> {stored hash,
         principal}. A hit costs one SHA-256 of the presented secret and a
         constant-time compare with the cached hash; a miss reads the store
         once (a short read transaction) and fills the cache;
      2. takes a token from the principal's bucket (gateway_ratelimit.h; rate
         and burst per kind, one token per request: a batch request is one);
      3. checks the scope.
    A cache hit takes one lock (lookup and bucket together), one SHA-256 and
    no store read.
    and it issues and redeems the one-use stream tokens of GET /api/events
    (EventSource cannot send a header): 32 random bytes in hex, valid
    GATEWAY_AUTH_STREAM_TOKEN_TTL_MS, bound to the principal and the key
    that asked, kept in memory only (a restart forgets them: ask again).

    Revocation is immediate: gateway_auth_forget_key, called after the
    revocation's commit and before its 204 is sent, drops the key's cache
    entry and its stream tokens; a lookup that read the store before the
    commit cannot put the old entry back (a generation counter: a miss fills
    the cache only if no key was forgotten while it read the store). From
    the 204 on, the key fails, idempotent replays included (the check runs
    before the handler).

    Failed authentications are throttled per client address by the
    gateway_authfail_t it owns (gateway_auth_failures; the guard asks it
    before and tells it after each check).

    What it owns: the cache (GATEWAY_AUTH_CACHE_SLOTS direct-mapped slots: a
    collision only costs a store read), the buckets (one per principal seen,
    at most GATEWAY_AUTH_BUCKETS_MAX: full buckets are dropped first, as a
    full bucket is the same as a new one), the stream tokens (at most
    GATEWAY_AUTH_STREAM_TOKENS_MAX outstanding), and one mutex over all of
    them. The store is the caller's, passed in per call.

    Errors: gateway_auth_new: LEDGER_E_INVALID (a rate or burst over the
    bucket's limits), LEDGER_E_NOMEM. gateway_auth_check answers one of
    gateway_auth_result_t; GATEWAY_AUTH_UNAVAILABLE when the store could not
    be read (the caller answers 503).

    Threads: every function but new and destroy is thread-safe (MHD workers
    check, the admin thread forgets).
*/
#ifndef LEDGER_GATEWAY_AUTH_H
#define LEDGER_GATEWAY_AUTH_H

#include <stdbool.h>
#include <stdint.h>
#include "gateway_authfail.h"
#include "gateway_principals.h"
#include "ledger_err.h"
#include "store.h"

#define GATEWAY_AUTH_CACHE_SLOTS 4096u       /* cached keys at most */
#define GATEWAY_AUTH_BUCKETS_MAX 100000u     /* principals with a bucket at most */
#define GATEWAY_AUTH_STREAM_TOKENS_MAX 1024u /* outstanding stream tokens at most */
/* Outstanding stream tokens of one principal at most: its next one replaces its oldest, so
   no principal can fill the table and lock the others out of the live stream. */
#define GATEWAY_AUTH_STREAM_TOKENS_PER_PRINCIPAL 8u
#define GATEWAY_AUTH_STREAM_TOKEN_TTL_MS 300000u /* a stream token is good for 5 minutes */
#define GATEWAY_AUTH_STREAM_TOKEN_BYTES 32u      /* random bytes of a stream token */
#define GATEWAY_AUTH_STREAM_TOKEN_LEN (2u * GATEWAY_AUTH_STREAM_TOKEN_BYTES) /* hex */
/* Defaults: high enough that bench/ never meets them (it sends ~10^4 transfers/s). */
#define GATEWAY_AUTH_CUSTOMER_RATE_DEFAULT 20000u
#define GATEWAY_AUTH_CUSTOMER_BURST_DEFAULT 40000u
#define GATEWAY_AUTH_OPERATOR_RATE_DEFAULT 50000u
#define GATEWAY_AUTH_OPERATOR_BURST_DEFAULT 100000u

typedef struct {
    uint32_t customer_rate_per_s; /* 0 = default */
    uint32_t customer_burst;      /* 0 = default */
    uint32_t operator_rate_per_s; /* 0 = default */
    uint32_t operator_burst;      /* 0 = default */
    uint32_t fail_rate_per_s;     /* failed authentications per address (gateway_authfail.h) */
    uint32_t fail_burst;          /* 0 = defaults */
    uint64_t (*now_ms)(void);     /* the buckets' and tokens' clock; NULL = CLOCK_MONOTONIC */
} gateway_auth_config_t;

typedef enum {
    GATEWAY_AUTH_OK = 0,
    GATEWAY_AUTH_UNAUTHENTICATED, /* 401 unauthenticated, WWW-Authenticate: Bearer */
    GATEWAY_AUTH_FORBIDDEN,       /* 403 forbidden: the key is good, the scope is missing */
    GATEWAY_AUTH_RATE_LIMITED,    /* 429 rate_limited, Retry-After */
    GATEWAY_AUTH_UNAVAILABLE,     /* 503: the store could not be read */
} gateway_auth_result_t;

/* Who called: the principal and the key it presented. */
typedef struct {
    gateway_principal_t principal;
    char key_id[GATEWAY_KEY_ID_LEN + 1];
    uint64_t generation; /* the revocation count when the key was last found active */
} gateway_auth_caller_t;

typedef struct gateway_auth_t gateway_auth_t;

ledger_err_t gateway_auth_new(const gateway_auth_config_t *config, gateway_auth_t **out);
void gateway_auth_destroy(gateway_auth_t **self_p);

/*  The check described above, for header value `authorization` (NULL when
    absent) and `scope` (one GATEWAY_SCOPE_* bit). On GATEWAY_AUTH_OK (and
    on FORBIDDEN and RATE_LIMITED) *caller_out is the caller; on
    RATE_LIMITED *retry_after_s is the Retry-After value (>= 1). */
gateway_auth_result_t gateway_auth_check(gateway_auth_t *self, store_t *store,
                                         const char *authorization, uint32_t scope,
                                         gateway_auth_caller_t *caller_out,
                                         uint64_t *retry_after_s);

/* The per-address throttle of failed authentications it owns (gateway_authfail.h). */
gateway_authfail_t *gateway_auth_failures(gateway_auth_t *self);

/*  Takes one token of `caller`'s principal bucket, as gateway_auth_check does: true if
    there was one, else *retry_after_s (>= 1). For a request that authenticated otherwise
    (a redeemed stream token). */
bool gateway_auth_take_rate(gateway_auth_t *self, const gateway_auth_caller_t *caller,
                            uint64_t *retry_after_s);

/* Forgets key `key_id`: its cache entry and its stream tokens (see above). */
void gateway_auth_forget_key(gateway_auth_t *self, const char *key_id);

/*  What else must end with a key: `fn(arg, key_id)` is called by
    gateway_auth_forget_key, under this module's lock (so it never runs
    after gateway_auth_on_forget(self, NULL, NULL) has returned; it must not
    call back into this module). The HTTP server closes the key's event
    streams with it. One listener; NULL removes it. */
typedef void (*gateway_auth_forget_fn)(void *arg, const char *key_id);
void gateway_auth_on_forget(gateway_auth_t *self, gateway_auth_forget_fn fn, void *arg);

/*  True if `caller`'s key is still active now. A request is checked with its
    headers and does its work when its body is complete: a key revoked in
    between must not do that work. Cheap when no key was revoked since the
    caller was checked (one lock); otherwise one store read, and the
    caller's generation is brought up to date. */
bool gateway_auth_caller_live(gateway_auth_t *self, store_t *store, gateway_auth_caller_t *caller);

/*  A new stream token for `caller` (as gateway_auth_check gave it):
    token_out[GATEWAY_AUTH_STREAM_TOKEN_LEN + 1], *expires_ms on the
    config's clock. GATEWAY_AUTH_OK: issued. GATEWAY_AUTH_UNAUTHENTICATED:
    the key was revoked (checked under the same lock as the issue, so a
    revocation can never leave a token of its key behind).
    GATEWAY_AUTH_UNAVAILABLE: the table is full of live tokens. */
gateway_auth_result_t gateway_auth_stream_token_issue(gateway_auth_t *self, store_t *store,
                                                      gateway_auth_caller_t *caller,
                                                      char *token_out, uint64_t *expires_ms);

/*  Redeems stream token token[0..len) (once: it is gone afterwards): true
    with its caller in *caller_out if it exists and has not expired. */
bool gateway_auth_stream_token_redeem(gateway_auth_t *self, const char *token, size_t len,
                                      gateway_auth_caller_t *caller_out);

#endif

/*  gateway_authfail.h: failed authentications throttled per client address.

    What it does: the principals' buckets (gateway_auth.h) only limit callers
    that authenticated, so a client could try key ids and secrets as fast as
    it could send them. Each client address (an IPv4 address, an IPv6 /64:
    one host's or one network's addresses share a bucket) gets a token bucket
    (gateway_ratelimit.h) that each FAILED authentication empties by one: a
    wrong, unknown or revoked key, a bad stream token. While an address's
    bucket is empty, every request from it that needs a key is answered 429
    rate_limited with Retry-After BEFORE its key is looked at, so a valid key
    sent while throttled gets exactly the same answer as a wrong one and the
    throttle is no oracle. Requests that authenticate take nothing here.

    What it owns: GATEWAY_AUTHFAIL_SLOTS slots, each a bucket shared by the
    addresses that hash to it (a slot whose bucket is full again is free),
    and a mutex. The hash is SipHash keyed with a secret drawn at start
    (libsodium crypto_shorthash), so clients cannot choose addresses that
    collide: an earlier FNV hash let two colliding addresses take turns
    resetting each other's bucket, found in review. The price of sharing: an
    honest address in a guesser's slot (1 in 4,096 per guessing address) is
    throttled with it.

    Deployment: behind a proxy or a NAT every client has the proxy's
    address, so one guesser throttles all of them (X-Forwarded-For is not
    trusted: any client can write it). There, raise --auth-fail-burst /
    --auth-fail-rate, or let the proxy throttle by the real address. While no address has failed
   recently the check is one atomic load (the hot path of honest traffic takes no lock).

    Errors: gateway_authfail_new: LEDGER_E_INVALID (rate or burst 0 or over
    gateway_ratelimit.h's limits), LEDGER_E_NOMEM.

    Threads: every function but new and destroy is thread-safe (MHD workers).
*/
#ifndef LEDGER_GATEWAY_AUTHFAIL_H
#define LEDGER_GATEWAY_AUTHFAIL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ledger_err.h"

#define GATEWAY_AUTHFAIL_SLOTS 4096u       /* addresses tracked at once */
#define GATEWAY_AUTHFAIL_RATE_DEFAULT 2u   /* --auth-fail-rate: failures/s per address */
#define GATEWAY_AUTHFAIL_BURST_DEFAULT 20u /* --auth-fail-burst: failures at once */

typedef struct gateway_authfail_t gateway_authfail_t;

/* rate_per_s and burst: 0 = defaults. now_ms: the buckets' clock (NULL = CLOCK_MONOTONIC). */
ledger_err_t gateway_authfail_new(uint32_t rate_per_s, uint32_t burst, uint64_t (*now_ms)(void),
                                  gateway_authfail_t **out);
/* Sets *self_p to NULL; safe on NULL. */
void gateway_authfail_destroy(gateway_authfail_t **self_p);

/*  True if `addr` (NULL: an unknown address, one shared bucket) may try to
    authenticate now. False: its failures used up its bucket; *retry_after_s
    (>= 1) is when it may try again, and the refusal is counted. */
bool gateway_authfail_allowed(gateway_authfail_t *self, const struct sockaddr *addr,
                              uint64_t *retry_after_s);

/* An authentication from `addr` failed: takes a token of its bucket. */
void gateway_authfail_note(gateway_authfail_t *self, const struct sockaddr *addr);

/*  A keyed hash of the address's bucket key (IPv4, IPv6 /64; NULL: 0): what other per-address
    tables (gateway_budget.h) index by. The same address gives the same hash for the life of
    the process. */
uint32_t gateway_authfail_address_hash(const struct sockaddr *addr);

/* Requests refused by gateway_authfail_allowed since the start. Safe on NULL (0). */
uint64_t gateway_authfail_refused(const gateway_authfail_t *self);

#endif

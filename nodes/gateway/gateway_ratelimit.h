/*  gateway_ratelimit.h: a token bucket, the rate limit of one principal.

    What it does: a bucket holds up to `burst` tokens and gains `rate_per_s`
    tokens per second; a request takes one token or is refused with the time
    until one is there (Retry-After). Pure arithmetic on the caller's bucket
    and the caller's clock (now_ms is passed in: tests drive it), integers
    only: the bucket counts millitokens, so a rate of 1/s refills 1 every
    1,000 ms exactly, and a rate of 20,000/s 20 tokens per ms.

    What it owns: nothing; the bucket is the caller's, and so is its lock
    (gateway_auth.h keeps one bucket per principal under its mutex).

    Errors: none; a rate or burst of 0 is a programmer error (asserted).

    Threads: any, on a bucket no other thread uses at the same time.
*/
#ifndef LEDGER_GATEWAY_RATELIMIT_H
#define LEDGER_GATEWAY_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define GATEWAY_RATELIMIT_RATE_MAX 10000000u  /* tokens per second at most */
#define GATEWAY_RATELIMIT_BURST_MAX 10000000u /* tokens a bucket holds at most */

typedef struct {
    uint64_t millitokens; /* tokens * 1000 */
    uint64_t last_ms;     /* when millitokens was last brought up to date */
    bool started;         /* false: a new bucket, full at its first take */
} gateway_ratelimit_t;

/*  Takes one token at now_ms from a bucket of `rate_per_s` (1..RATE_MAX)
    and `burst` (1..BURST_MAX): true if there was one. Else false, and
    *retry_after_ms (may be NULL) is how long until there is one (>= 1).
    A clock that went back refills nothing (never a negative interval). */
bool gateway_ratelimit_take(gateway_ratelimit_t *bucket, uint32_t rate_per_s, uint32_t burst,
                            uint64_t now_ms, uint64_t *retry_after_ms);

/* True if the bucket would be full at now_ms (a full bucket is as good as none: evictable). */
bool gateway_ratelimit_full(const gateway_ratelimit_t *bucket, uint32_t rate_per_s, uint32_t burst,
                            uint64_t now_ms);

#endif

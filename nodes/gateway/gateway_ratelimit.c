/* gateway_ratelimit.c: the token bucket (contract in gateway_ratelimit.h). */
#include "gateway_ratelimit.h"

#include <assert.h>
#include <stddef.h>

#define MILLI 1000u

/* The bucket's millitokens at now_ms (not stored), capped at burst. */
static uint64_t level_at(const gateway_ratelimit_t *b, uint32_t rate_per_s, uint32_t burst,
                         uint64_t now_ms)
{
    uint64_t cap = (uint64_t)burst * MILLI;
    if (!b->started)
        return cap;
    uint64_t elapsed_ms = now_ms > b->last_ms ? now_ms - b->last_ms : 0;
    /* rate_per_s tokens per 1,000 ms = rate_per_s millitokens per ms. */
    uint64_t gained = elapsed_ms >= cap ? cap : elapsed_ms * rate_per_s;
    uint64_t level = b->millitokens + gained;
    return level > cap ? cap : level;
}

bool gateway_ratelimit_take(gateway_ratelimit_t *bucket, uint32_t rate_per_s, uint32_t burst,
                            uint64_t now_ms, uint64_t *retry_after_ms)
{
    assert(bucket && rate_per_s > 0 && burst > 0);
    assert(rate_per_s <= GATEWAY_RATELIMIT_RATE_MAX && burst <= GATEWAY_RATELIMIT_BURST_MAX);
    uint64_t level = level_at(bucket, rate_per_s, burst, now_ms);
    if (!bucket->started || now_ms > bucket->last_ms)
        bucket->last_ms = now_ms;
    bucket->started = true;
    if (level >= MILLI) {
        bucket->millitokens = level - MILLI;
        return true;
    }
    bucket->millitokens = level;
    if (retry_after_ms) {
        uint64_t missing = MILLI - level;
        *retry_after_ms = (missing + rate_per_s - 1) / rate_per_s;
    }
    return false;
}

bool gateway_ratelimit_full(const gateway_ratelimit_t *bucket, uint32_t rate_per_s, uint32_t burst,
                            uint64_t now_ms)
{
    assert(bucket);
    return level_at(bucket, rate_per_s, burst, now_ms) >= (uint64_t)burst * MILLI;
}

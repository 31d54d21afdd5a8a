/*  gateway_budget.h: one process-wide budget of bytes of request bodies
    buffered by the public HTTP API, across all its connections.

    What it does: a request that is about to buffer body bytes takes them
    from the budget first (gateway_budget_take); when that would take the
    budget past its limit the take fails, the request is answered
    503 overloaded (Retry-After) instead of buffering, and the refusal is
    counted. The bytes go back (gateway_budget_give) when the request ends,
    however it ends (answered, refused, or its connection aborted: the
    gateway gives them back from MHD's completion callback), so the budget
    cannot leak. Without it, N idle uploads of a batch body (cap ~8 MiB)
    cost N x 8 MiB: 64 of them took the gateway from 30 MB to ~500 MB.

    Fairness: one client address could otherwise hold the whole budget with
    idle declared uploads until their body deadlines. With a share set
    (gateway_budget_set_share, --http-body-budget-per-address-bytes), the
    bytes one address (an IPv4 address, an IPv6 /64; addresses are hashed
    into GATEWAY_BUDGET_SLOTS counters, so two that collide share one) holds
    at once are bounded too: gateway_budget_take_share takes from the
    address's counter and the global budget, refusing (and counting, apart)
    past either; gateway_budget_give_share gives back to both.

    What it owns: the counters; the caller owns the struct (embedded).

    Errors: none; a take past the limit is a refusal, not an error.

    Threads: any; the counters are atomics (the MHD worker threads take and
    give, the admin thread reads for /metrics).
*/
#ifndef LEDGER_GATEWAY_BUDGET_H
#define LEDGER_GATEWAY_BUDGET_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define GATEWAY_BUDGET_DEFAULT_BYTES (64ull * 1024 * 1024)       /* --http-body-budget-bytes */
#define GATEWAY_BUDGET_SHARE_DEFAULT_BYTES (16ull * 1024 * 1024) /* per address */
#define GATEWAY_BUDGET_SLOTS 1024u /* per-address counters (hashed addresses) */

struct MHD_Connection;

typedef struct {
    uint64_t limit;                 /* bytes that may be buffered at once */
    _Atomic uint64_t in_use;        /* bytes taken now */
    _Atomic uint64_t refused;       /* takes refused since the start */
    uint64_t share;                 /* bytes one address may hold at once (limit: no share) */
    _Atomic uint64_t refused_share; /* takes refused past an address's share */
    _Atomic uint64_t by_address[GATEWAY_BUDGET_SLOTS]; /* bytes held per address slot */
} gateway_budget_t;

/* A budget of `limit` bytes (0: GATEWAY_BUDGET_DEFAULT_BYTES), nothing taken. */
void gateway_budget_init(gateway_budget_t *b, uint64_t limit);

/* Takes `bytes`; false (and one refusal counted) when in_use + bytes > limit. */
bool gateway_budget_take(gateway_budget_t *b, uint64_t bytes);

/* Gives back `bytes` taken before. */
void gateway_budget_give(gateway_budget_t *b, uint64_t bytes);

/* The most one address may hold at once (0 or over the limit: the limit). Before any take. */
void gateway_budget_set_share(gateway_budget_t *b, uint64_t share);
/* The slot of the client address of `conn` (unknown: slot 0). */
uint32_t gateway_budget_slot(struct MHD_Connection *conn);
/*  Takes `bytes` for the address of `slot`: false (counted in refused_share or refused) when
    that address would hold more than the share, or the budget would go past its limit. */
bool gateway_budget_take_share(gateway_budget_t *b, uint32_t slot, uint64_t bytes);
/* Gives back `bytes` taken with gateway_budget_take_share for `slot`. */
void gateway_budget_give_share(gateway_budget_t *b, uint32_t slot, uint64_t bytes);
uint64_t gateway_budget_refused_share(const gateway_budget_t *b);

uint64_t gateway_budget_in_use(const gateway_budget_t *b);
uint64_t gateway_budget_refused(const gateway_budget_t *b);
uint64_t gateway_budget_limit(const gateway_budget_t *b);

/* Answers 503 overloaded with Retry-After: 1 (the budget is full); MHD_YES/MHD_NO as queued. */
int gateway_budget_reply_overloaded(struct MHD_Connection *conn, const gateway_budget_t *b);

#endif

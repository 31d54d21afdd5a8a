/* gateway_budget.c: the global budget of buffered request body bytes (gateway_budget.h). */
#include "gateway_budget.h"

#include <assert.h>
#include <inttypes.h>
#include <microhttpd.h>

#include "gateway_authfail.h"
#include "gateway_reply.h"
#include "gateway_request.h"

void gateway_budget_init(gateway_budget_t *b, uint64_t limit)
{
    assert(b);
    b->limit = limit ? limit : GATEWAY_BUDGET_DEFAULT_BYTES;
    atomic_init(&b->in_use, 0);
    atomic_init(&b->refused, 0);
    b->share = b->limit;
    atomic_init(&b->refused_share, 0);
    for (size_t i = 0; i < GATEWAY_BUDGET_SLOTS; i++)
        atomic_init(&b->by_address[i], 0);
}

void gateway_budget_set_share(gateway_budget_t *b, uint64_t share)
{
    assert(b);
    b->share = share && share < b->limit ? share : b->limit;
}

uint32_t gateway_budget_slot(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    return gateway_authfail_address_hash(info ? info->client_addr : NULL) % GATEWAY_BUDGET_SLOTS;
}

bool gateway_budget_take_share(gateway_budget_t *b, uint32_t slot, uint64_t bytes)
{
    assert(b && slot < GATEWAY_BUDGET_SLOTS);
    /* The global budget first: a full budget is counted as such, whoever holds it. */
    if (!gateway_budget_take(b, bytes))
        return false;
    uint64_t held = atomic_fetch_add(&b->by_address[slot], bytes);
    if (bytes > b->share || held > b->share - bytes) {
        atomic_fetch_sub(&b->by_address[slot], bytes);
        gateway_budget_give(b, bytes);
        atomic_fetch_add(&b->refused_share, 1);
        return false;
    }
    return true;
}

void gateway_budget_give_share(gateway_budget_t *b, uint32_t slot, uint64_t bytes)
{
    assert(b && slot < GATEWAY_BUDGET_SLOTS);
    uint64_t before = atomic_fetch_sub(&b->by_address[slot], bytes);
    assert(before >= bytes);
    (void)before;
    gateway_budget_give(b, bytes);
}

uint64_t gateway_budget_refused_share(const gateway_budget_t *b)
{
    return atomic_load(&((gateway_budget_t *)b)->refused_share);
}

bool gateway_budget_take(gateway_budget_t *b, uint64_t bytes)
{
    assert(b);
    uint64_t now = atomic_load(&b->in_use);
    do {
        if (bytes > b->limit || now > b->limit - bytes) {
            atomic_fetch_add(&b->refused, 1);
            return false;
        }
    } while (!atomic_compare_exchange_weak(&b->in_use, &now, now + bytes));
    return true;
}

void gateway_budget_give(gateway_budget_t *b, uint64_t bytes)
{
    assert(b);
    uint64_t before = atomic_fetch_sub(&b->in_use, bytes);
    assert(before >= bytes);
    (void)before;
}

uint64_t gateway_budget_in_use(const gateway_budget_t *b)
{
    return atomic_load(&((gateway_budget_t *)b)->in_use);
}

uint64_t gateway_budget_refused(const gateway_budget_t *b)
{
    return atomic_load(&((gateway_budget_t *)b)->refused);
}

uint64_t gateway_budget_limit(const gateway_budget_t *b)
{
    return b->limit;
}

int gateway_budget_reply_overloaded(struct MHD_Connection *conn, const gateway_budget_t *b)
{
    gateway_request_error_t err;
    gateway_request_fail(&err, MHD_HTTP_SERVICE_UNAVAILABLE, "overloaded", NULL,
                         "the gateway holds %" PRIu64 " bytes of request bodies (limit %" PRIu64
                         "); retry shortly",
                         gateway_budget_in_use(b), b->limit);
    gateway_reply_header_t retry = {MHD_HTTP_HEADER_RETRY_AFTER, "1"};
    return gateway_reply_error(conn, &err, &retry, 1);
}

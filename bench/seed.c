/*  seed.c: opens N numbered accounts in an accounts node's store before the
    benchmark starts the node (ledger-bench-seed).

    It runs the accounts node's own code for opening an account
    (accounts_open_account: the account record owned by OWNER, and a first
    deposit drawn from the GBP settlement account with both ledger entries
    on the hash chain), only without HTTP and ZeroMQ in front, and
    SEED_CHUNK accounts per durable write transaction instead of one. The
    API opens accounts at zero and funds them by deposits through the saga;
    a benchmark of 10^5 accounts seeds them offline instead. Every account
    is OWNER's (default "bench", the principal whose one key the load
    generator sends: a transfer comes only from an account its caller owns).
    Ids are <prefix>0000000 .. <prefix>(N-1), so the accounts B-tree is
    filled in key order.

    It writes account records without the accounts node's balance cache,
    so it first replays the ledger into the table (accounts_cache_replay), as the
    node does at start: a data dir the node was killed on has a table behind
    its ledger.

    Usage: ledger-bench-seed DATA_DIR COUNT [DEPOSIT_MINOR] [PREFIX] [OWNER]
*/
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accounts.h"
#include "accounts_cache.h"
#include "accounts_migrate.h"
#include "accounts_open.h"
#include "node_ctx.h"
#include "store.h"
#include "store_migrate.h"
#include "clock.h"

#define SEED_CHUNK 20000u

typedef struct {
    node_ctx_t ctx;
    uint32_t first, count;
    int64_t deposit_minor;
    const char *prefix;
    const char *owner;
    uint32_t failed;
} seed_t;

static ledger_err_t seed_chunk(store_txn_t *txn, void *arg)
{
    seed_t *s = arg;
    node_ctx_begin(&s->ctx, txn, clock_wall_ms());
    s->failed = 0;
    ledger_err_t err = accounts_cache_replay(txn, NULL); /* the table may be behind the ledger */
    if (!err)
        err = accounts_open_ensure_funding(&s->ctx, NULL, 0, NULL);
    for (uint32_t i = 0; !err && i < s->count; i++) {
        char id[PROTO_ACCOUNT_ID_MAX + 1], name[PROTO_NAME_MAX + 1];
        snprintf(id, sizeof id, "%s%07" PRIu32, s->prefix, s->first + i);
        snprintf(name, sizeof name, "Bench %" PRIu32, s->first + i);
        accounts_open_result_t res;
        err = accounts_open_account(&s->ctx, id, name, ACCOUNTS_CURRENCY, s->owner,
                                    s->deposit_minor, &res);
        if (!err && res.status != ACCOUNTS_STATUS_CREATED && res.status != ACCOUNTS_STATUS_OK)
            s->failed++;
    }
    return err;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s DATA_DIR COUNT [DEPOSIT_MINOR] [PREFIX] [OWNER]\n", argv[0]);
        return 2;
    }
    uint32_t total = (uint32_t)strtoul(argv[2], NULL, 10);
    seed_t s = {.deposit_minor = argc > 3 ? strtoll(argv[3], NULL, 10) : 100000000,
                .prefix = argc > 4 ? argv[4] : "acct-",
                .owner = argc > 5 ? argv[5] : "bench"};
    store_t *store = NULL;
    store_config_t sc = {0};
    ledger_err_t err = store_open(argv[1], &sc, &store);
    if (err) {
        fprintf(stderr, "seed: cannot open %s: %s\n", argv[1], ledger_err_name(err));
        return 1;
    }
    /* Stamp today's format first, as the node does on a fresh dir: unstamped, the node would
       take the seeded records for an older format and migrate them (owner := account id). */
    store_migrate_result_t mr;
    err = store_migrate_run(store, &accounts_migrate_plan, NULL, NULL, &mr);
    if (err) {
        fprintf(stderr, "seed: cannot stamp the store format: %s (%s)\n", ledger_err_name(err),
                mr.why);
        store_destroy(&store);
        return 1;
    }
    node_ctx_init(&s.ctx, NULL, "accounts", 0);
    uint32_t failed = 0;
    for (uint32_t first = 0; first < total; first += SEED_CHUNK) {
        s.first = first;
        s.count = total - first < SEED_CHUNK ? total - first : SEED_CHUNK;
        err = store_write(store, seed_chunk, &s);
        if (err) {
            fprintf(stderr, "seed: chunk at %" PRIu32 " failed: %s (%s)\n", first,
                    ledger_err_name(err), store_last_error(store));
            break;
        }
        failed += s.failed;
    }
    node_ctx_fini(&s.ctx);
    store_destroy(&store);
    if (failed)
        fprintf(stderr, "seed: %" PRIu32 " accounts refused\n", failed);
    return err || failed ? 1 : 0;
}

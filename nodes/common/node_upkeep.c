/*  node_upkeep.c: periodic work of the node loop between turns (node_internal.h).
    Seen ids older than NODE_SEEN_RETENTION_MS are pruned, at most
    NODE_SEEN_PRUNE_MAX per NODE_SEEN_PRUNE_EVERY_MS; the app's retention
    (node_app_t.prune) runs every NODE_UPKEEP_EVERY_MS, NODE_UPKEEP_PRUNE_MAX
    records per write transaction, again at once while it finds more.
*/
#include "node.h"
#include "node_internal.h"

#include "node_log.h"

#define NODE_SEEN_RETENTION_MS (7ull * 24 * 3600 * 1000) /* far beyond any redelivery */
#define NODE_SEEN_PRUNE_EVERY_MS 60000 /* how often the loop prunes old seen ids */
#define NODE_SEEN_PRUNE_MAX 10000      /* seen ids deleted per prune */

#define NODE_UPKEEP_EVERY_MS 1000  /* how often app.prune runs when it has caught up */
#define NODE_UPKEEP_PRUNE_MAX 4096 /* records app.prune may delete per transaction */

typedef struct {
    node_t *node;
    size_t pruned;
} app_prune_run_t;

static ledger_err_t run_app_prune(store_txn_t *txn, void *arg)
{
    app_prune_run_t *run = arg;
    node_t *self = run->node;
    run->pruned = 0;
    node_ctx_begin(&self->ctx, txn, node_now_ms());
    return self->app.prune(&self->ctx, self->app.app, NODE_UPKEEP_PRUNE_MAX, &run->pruned);
}

/* app.prune once, if it is due (or its last run found more). */
static void upkeep_app(node_t *self, uint64_t now)
{
    if (!self->app.prune ||
        (!self->app_prune_more && now - self->last_app_prune_ms < NODE_UPKEEP_EVERY_MS))
        return;
    self->last_app_prune_ms = now;
    app_prune_run_t run = {self, 0};
    ledger_err_t err = store_write(self->store, run_app_prune, &run);
    node_ctx_reset(&self->ctx);
    self->app_prune_more = err == LEDGER_OK && run.pruned >= NODE_UPKEEP_PRUNE_MAX;
    if (err)
        node_log_write(NODE_LOG_ERROR, "event=prune_failed error=%s detail=\"%s\"",
                       ledger_err_name(err), store_last_error(self->store));
}

static ledger_err_t prune_seen(store_txn_t *txn, void *arg)
{
    size_t *pruned = arg;
    uint64_t now = node_now_ms();
    return store_seen_prune(txn, now > NODE_SEEN_RETENTION_MS ? now - NODE_SEEN_RETENTION_MS : 0,
                            NODE_SEEN_PRUNE_MAX, pruned);
}

void node_upkeep(node_t *self)
{
    uint64_t now = node_now_ms();
    upkeep_app(self, now);
    if (now - self->last_prune_ms < NODE_SEEN_PRUNE_EVERY_MS)
        return;
    size_t pruned = 0;
    self->last_prune_ms = now;
    if (store_write(self->store, prune_seen, &pruned) == LEDGER_OK && pruned)
        node_log_write(NODE_LOG_INFO, "event=seen_pruned count=%zu", pruned);
}

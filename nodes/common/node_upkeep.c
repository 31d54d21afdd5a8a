/*  node_upkeep.c: periodic work of the node loop between turns (node_internal.h).
    Seen ids more than --seen-window ids behind their origin's highest, or
    older than NODE_SEEN_RETENTION_MS, are pruned (store_seen_prune raises
    the origin's floor, store.h) every NODE_SEEN_PRUNE_EVERY_MS, at most
    NODE_SEEN_PRUNE_MAX per write transaction, and again on the next turn
    (without waiting in the poll) while a run hits that limit: a turn applies
    at most --batch-max ids (<= NODE_BATCH_MAX_LIMIT <= NODE_SEEN_PRUNE_MAX),
    so pruning keeps up with any rate the node applies, and `seen` stays
    within about the window plus one second of ids per origin. The app's
    retention (node_app_t.prune) runs every NODE_UPKEEP_EVERY_MS,
    NODE_UPKEEP_PRUNE_MAX records per write transaction, again at once while
    it finds more.

    A prune that meets stored data that does not decode (LEDGER_E_CORRUPT)
    faults the node (source "prune", node.h "Storage faults"): logging it and
    going on would leave that retention stopped for good while the node kept
    applying and acking. Any other failure is logged and tried at the next
    period.

    Every NODE_READER_CHECK_EVERY_MS (and at start, node.c) the slots that
    dead processes left in LMDB's reader table are cleared
    (store_reader_check): a ledger-backup or ledger-reconcile killed inside
    its read transaction would otherwise pin the pages freed after its
    snapshot, and the file would grow until the map is full.
*/
#include "node.h"
#include "node_internal.h"

#include "node_log.h"

#define NODE_SEEN_RETENTION_MS (7ull * 24 * 3600 * 1000) /* far beyond any redelivery */
#define NODE_SEEN_PRUNE_EVERY_MS 1000 /* how often the loop prunes seen ids when caught up */
#define NODE_SEEN_PRUNE_MAX 16384     /* seen ids deleted per write transaction */
#define NODE_SEEN_LOG_EVERY_MS 60000  /* at most one seen_pruned log line per minute */

_Static_assert(NODE_SEEN_PRUNE_MAX >= NODE_BATCH_MAX_LIMIT, "a prune must outpace a batch");

#define NODE_UPKEEP_EVERY_MS 1000        /* how often app.prune runs when it has caught up */
#define NODE_UPKEEP_PRUNE_MAX 4096       /* records app.prune may delete per transaction */
#define NODE_READER_CHECK_EVERY_MS 60000 /* how often stale reader slots are looked for */

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
    if (err == LEDGER_E_CORRUPT)
        node_fault_set(self, "prune",
                       "stored data does not decode or does not add up (corrupt) "
                       "in the node's retention (app prune)");
}

typedef struct {
    uint64_t window;
    size_t pruned;
} seen_prune_run_t;

static ledger_err_t prune_seen(store_txn_t *txn, void *arg)
{
    seen_prune_run_t *run = arg;
    uint64_t now = node_now_ms();
    run->pruned = 0;
    return store_seen_prune(txn, now > NODE_SEEN_RETENTION_MS ? now - NODE_SEEN_RETENTION_MS : 0,
                            run->window, NODE_SEEN_PRUNE_MAX, &run->pruned);
}

/*  Seen ids past the window or the retention, if due (or the last run
    found more). A run that pruned raised floors: the cached highs and
    floors are read again (node_seen.h). One log line a minute at most. */
static void upkeep_seen(node_t *self, uint64_t now)
{
    if (!self->seen_prune_more && now - self->last_prune_ms < NODE_SEEN_PRUNE_EVERY_MS)
        return;
    self->last_prune_ms = now;
    seen_prune_run_t run = {self->config.seen_window, 0};
    ledger_err_t err = store_write(self->store, prune_seen, &run);
    self->seen_prune_more = err == LEDGER_OK && run.pruned >= NODE_SEEN_PRUNE_MAX;
    if (err) {
        node_log_write(NODE_LOG_ERROR, "event=seen_prune_failed error=%s detail=\"%s\"",
                       ledger_err_name(err), store_last_error(self->store));
        if (err == LEDGER_E_CORRUPT)
            node_fault_set(self, "prune",
                           "stored data does not decode or does not add up (corrupt) "
                           "in the seen ids' retention");
        return;
    }
    if (run.pruned)
        node_seen_init(&self->seen_high);
    self->seen_pruned_unlogged += run.pruned;
    if (self->seen_pruned_unlogged && now - self->last_seen_log_ms >= NODE_SEEN_LOG_EVERY_MS) {
        node_log_write(NODE_LOG_INFO, "event=seen_pruned count=%llu window=%llu",
                       (unsigned long long)self->seen_pruned_unlogged,
                       (unsigned long long)self->config.seen_window);
        self->seen_pruned_unlogged = 0;
        self->last_seen_log_ms = now;
    }
}

/* node_internal.h */
void node_check_readers(node_t *self)
{
    unsigned cleared = 0;
    ledger_err_t err = store_reader_check(self->store, &cleared);
    if (err)
        node_log_write(NODE_LOG_WARN, "event=reader_check_failed error=%s detail=\"%s\"",
                       ledger_err_name(err), store_last_error(self->store));
    else if (cleared)
        node_log_write(NODE_LOG_WARN,
                       "event=stale_readers_cleared count=%u detail=\"reader slots of processes "
                       "that died inside a read transaction (a killed backup or reconcile)\"",
                       cleared);
}

bool node_upkeep(node_t *self)
{
    uint64_t now = node_now_ms();
    upkeep_app(self, now);
    if (!node_fault_active(self))
        upkeep_seen(self, now);
    if (now - self->last_reader_check_ms >= NODE_READER_CHECK_EVERY_MS) {
        self->last_reader_check_ms = now;
        node_check_readers(self);
    }
    if (node_fault_active(self))
        return false;
    return self->app_prune_more || self->seen_prune_more;
}

/*  accounts_main.c: the accounts node executable (ledger-accounts).
    Wires the pure handlers of accounts.h to the node runtime. */
#include <stdio.h>
#include <string.h>

#include <inttypes.h>
#include <stdatomic.h>

#include "accounts.h"
#include "accounts_cache.h"
#include "accounts_holds.h"
#include "accounts_migrate.h"
#include "accounts_timers.h"
#include "accounts_verify.h"
#include "accounts_verify_sched.h"
#include "clock.h"
#include "node_log.h"
#include "node.h"
#include "node_main.h"

/* What apply needs: the limits on money coming in, from the node's flags; and the retention's
   own: where its walk resumes (loop thread) and what it deleted (read by /metrics). */
typedef struct {
    const node_config_t *config;
    accounts_limits_t limits;
    accounts_cache_t *cache;
    char prune_after[PROTO_TRANSFER_ID_MAX + 1];
    _Atomic uint64_t saga_pruned;
    accounts_verify_sched_t *verify; /* NULL: --verify-every-ms 0, or not started yet */
    /* The timers (accounts_timers.h), loop thread only: when the next run is due (unix ms), and
       what the run of the batch in progress found (kept only if the batch commits). */
    uint64_t timers_next_ms;
    uint64_t timers_found_next_ms;
} accounts_app_t;

static ledger_err_t apply(node_ctx_t *ctx, const proto_msg_t *msg, void *app, char *why,
                          size_t why_size)
{
    const accounts_app_t *a = app;
    ledger_err_t err = accounts_saga_apply(ctx, msg, &a->limits, why, why_size);
    if (err == LEDGER_E_INVALID && why[0] == '\0')
        snprintf(why, why_size, "accounts does not handle %s", proto_type_name(msg->type));
    return err;
}

/*  node_app_t.prune: finished saga state past --saga-retention-ms (accounts_prune.h). Also a
    walk that stopped before the cutoff counts as "more" (pruned_out = max), so the next turn
    goes on from where it stopped instead of a second later. */
static ledger_err_t prune(node_ctx_t *ctx, void *app, size_t max, size_t *pruned_out)
{
    accounts_app_t *a = app;
    accounts_prune_result_t res;
    ledger_err_t err =
        accounts_prune_saga(ctx->txn, ctx->now_ms, a->config->saga_retention_ms, a->prune_after,
                            max, max * ACCOUNTS_PRUNE_SCAN_FACTOR, &res);
    if (err)
        return err;
    memcpy(a->prune_after, res.next_after, sizeof a->prune_after);
    atomic_fetch_add(&a->saga_pruned, res.pruned);
    *pruned_out = res.next_after[0] ? max : res.pruned;
    return LEDGER_OK;
}

static ledger_err_t query(node_ctx_t *ctx, const proto_msg_t *msg, proto_msg_t *reply, void *app)
{
    (void)app;
    return accounts_query(ctx, msg, reply);
}

/*  node_app_t.local_take: asks for a timers run (accounts_timers.h) when the earliest timer
    known is due, or ACCOUNTS_TIMERS_RECHECK_MS after the last look (timers added since). */
static size_t timers_take(void *app)
{
    const accounts_app_t *a = app;
    return node_now_ms() >= a->timers_next_ms ? 1 : 0;
}

/*  node_app_t.local_apply: in the batch's write transaction, after its messages, with the
    balance cache: ends the transfers past their deadline, at most ACCOUNTS_TIMERS_PER_RUN. */
static ledger_err_t timers_apply(node_ctx_t *ctx, void *app)
{
    accounts_app_t *a = app;
    size_t fired = 0;
    uint64_t next_due = 0;
    ledger_err_t err = accounts_timers_run(ctx, ACCOUNTS_TIMERS_PER_RUN, &fired, &next_due);
    if (err)
        return err;
    uint64_t recheck = ctx->now_ms + ACCOUNTS_TIMERS_RECHECK_MS;
    a->timers_found_next_ms = next_due && next_due < recheck ? next_due : recheck;
    if (fired)
        node_log_write(NODE_LOG_DEBUG, "event=timers_fired count=%zu", fired);
    return LEDGER_OK;
}

/* node_app_t.local_done: a committed run sets the next look; a failed one is tried again. */
static void timers_done(void *app, ledger_err_t err)
{
    accounts_app_t *a = app;
    uint64_t now = node_now_ms();
    a->timers_next_ms = err ? now + ACCOUNTS_TIMERS_RECHECK_MS : a->timers_found_next_ms;
}

/* Balances newer than the accounts table are rebuilt from the ledger first (accounts_cache.h);
   the holds of reserved transfers are loaded into memory last (accounts_reserved.h). */
static ledger_err_t on_start(node_ctx_t *ctx, void *app)
{
    const node_config_t *config = ((const accounts_app_t *)app)->config;
    uint64_t started_ms = clock_mono_ms(), replayed = 0;
    ledger_err_t err = accounts_cache_replay(ctx->txn, &replayed);
    if (err) {
        node_log_write(NODE_LOG_ERROR, "event=replay_failed error=%s", ledger_err_name(err));
        return err;
    }
    node_log_write(NODE_LOG_INFO, "event=balances_replayed entries=%" PRIu64 " ms=%" PRIu64,
                   replayed, clock_mono_ms() - started_ms);
    const char *unavailable[8];
    size_t unavailable_count = 0;
    err = accounts_open_ensure_funding(ctx, unavailable, 8, &unavailable_count);
    for (size_t i = 0; !err && i < unavailable_count; i++)
        node_log_write(NODE_LOG_WARN,
                       "event=settlement_unavailable currency=%s id=%s reason=a customer account "
                       "has the id: accounts, deposits and withdrawals in %s are refused",
                       unavailable[i], proto_settlement_id(unavailable[i]), unavailable[i]);
    if (!err && config->demo)
        err = accounts_open_seed_demo(ctx);
    size_t reserved = 0;
    if (!err)
        err = accounts_holds_load_reserved(
            ctx->txn, accounts_cache_reserved(((accounts_app_t *)app)->cache), &reserved);
    if (!err)
        node_log_write(NODE_LOG_INFO, "event=reserved_holds_loaded count=%zu", reserved);
    return err;
}

static void txn_begin(void *state)
{
    accounts_cache_txn_begin(state);
}

static ledger_err_t txn_prepare(node_ctx_t *ctx, void *state)
{
    return accounts_cache_txn_prepare(state, ctx->txn, ctx->now_ms);
}

static void txn_end(void *state, bool committed)
{
    bool was_checkpointing = accounts_cache_checkpointing(state);
    accounts_cache_txn_end(state, committed);
    if (was_checkpointing && !accounts_cache_checkpointing(state))
        node_log_write(NODE_LOG_DEBUG, "event=checkpoint_done dirty=%zu",
                       accounts_cache_dirty(state));
}

/* The scheduled verify's last run (accounts_verify_sched.h), for /metrics. */
static void verify_metrics(FILE *out, accounts_verify_sched_t *verify)
{
    accounts_verify_sched_stats_t v;
    accounts_verify_sched_stats(verify, &v);
    admin_metrics_scalar(out, "ledger_verify_runs_total", "counter",
                         "Scheduled ledger verifies that finished (--verify-every-ms).", v.runs);
    admin_metrics_scalar(out, "ledger_verify_failures_total", "counter",
                         "Scheduled verifies that found a problem (the node faulted).", v.failures);
    admin_metrics_scalar(out, "ledger_verify_errors_total", "counter",
                         "Scheduled verifies stopped by an error of memory or the store.",
                         v.errors);
    admin_metrics_scalar(out, "ledger_verify_last_ok", "gauge",
                         "1 if the last scheduled verify found nothing wrong (0 before one).",
                         v.last_ok);
    admin_metrics_scalar(out, "ledger_verify_last_run_timestamp_seconds", "gauge",
                         "Unix time the last scheduled verify ended (0: none yet).",
                         v.last_unix_ms / 1000);
    admin_metrics_scalar(out, "ledger_verify_last_entries", "gauge",
                         "Ledger entries the last scheduled verify walked.", v.last_entries);
    admin_metrics_scalar(out, "ledger_verify_last_chunks", "gauge",
                         "Read transactions the last scheduled verify took (--verify-chunk).",
                         v.last_chunks);
    fprintf(out,
            "# HELP ledger_verify_last_duration_seconds How long the last scheduled verify "
            "took.\n# TYPE ledger_verify_last_duration_seconds gauge\n"
            "ledger_verify_last_duration_seconds %.3f\n",
            (double)v.last_duration_ms / 1000.0);
}

/* /metrics on the admin server's thread: the cache's, the verify's and the retention's figures. */
static void cache_metrics(FILE *out, void *arg)
{
    accounts_app_t *a = arg;
    verify_metrics(out, a->verify);
    accounts_cache_stats_t s = accounts_cache_stats(a->cache);
    admin_metrics_scalar(out, "ledger_accounts_dirty_balances", "gauge",
                         "Accounts whose balance is newer in memory (and the ledger) than in the "
                         "accounts table.",
                         s.dirty);
    admin_metrics_scalar(out, "ledger_accounts_checkpoints_total", "counter",
                         "Checkpoints that wrote the dirty balances back and moved the mark.",
                         s.checkpoints);
    admin_metrics_scalar(out, "ledger_accounts_balances_written_total", "counter",
                         "Account records written back (checkpoints and a clean stop).",
                         s.records_written);
    admin_metrics_retention_pruned(out, "saga", atomic_load(&a->saga_pruned));
}

/* A clean stop leaves the accounts table current (accounts_cache_write_all). */
static ledger_err_t on_stop(node_ctx_t *ctx, void *app)
{
    (void)app;
    size_t dirty = accounts_cache_dirty(ctx->state);
    ledger_err_t err = accounts_cache_write_all(ctx->state, ctx->txn);
    if (!err)
        node_log_write(NODE_LOG_INFO, "event=balances_written records=%zu", dirty);
    return err;
}

/*  /ledger/verify's "currencies": [{"currency", "balance_sum", "ok"}...], each currency's
    balances summed (issue 21; ok false for a sum that is not 0 or beyond an int64). */
static void verify_currencies(json_t *body, const accounts_verify_sums_t *sums)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < sums->count; i++) {
        const accounts_verify_sum_t *s = &sums->items[i];
        json_array_append_new(list, json_pack("{s:s,s:I,s:b}", "currency", s->currency,
                                              "balance_sum", (json_int_t)s->sum_minor, "ok",
                                              s->fits && s->sum_minor == 0));
    }
    if (body && list)
        json_object_set_new(body, "currencies", list);
    else
        json_decref(list);
}

/* GET /ledger/verify: walk the hash chain, recompute balances, compare with the accounts table. */
static unsigned verify_route(store_t *store, json_t **body_out, void *arg)
{
    (void)arg;
    store_txn_t *txn = NULL;
    if (store_txn_begin(store, false, &txn) != LEDGER_OK) {
        *body_out = json_pack("{s:{s:s,s:s}}", "error", "code", "store_unavailable", "message",
                              "could not read the store");
        return 503;
    }
    store_ledger_report_t report;
    accounts_verify_sums_t sums;
    char why[256] = "";
    ledger_err_t err = accounts_verify_ledger_sums(txn, &report, &sums, why, sizeof why);
    store_txn_abort(&txn);
    if (err && err != LEDGER_E_CORRUPT) {
        *body_out =
            json_pack("{s:{s:s,s:s}}", "error", "code", ledger_err_name(err), "message", why);
        return 500;
    }
    *body_out =
        json_pack("{s:b,s:I,s:I,s:I,s:s}", "ok", report.ok && !err, "entries",
                  (json_int_t)report.entries, "first_bad_seq", (json_int_t)report.first_bad_seq,
                  "balance_sum", (json_int_t)report.balance_sum_minor, "problem",
                  report.ok && !err ? "" : (why[0] ? why : report.problem));
    verify_currencies(*body_out, &sums);
    return 200;
}

/* accounts_verify_sched's on_failure: a problem in stored data faults the node. */
static void verify_failed(void *arg, const char *problem)
{
    node_fault_set(arg, "verify", problem);
}

/* before_run: starts the scheduled verify (none with --verify-every-ms 0). */
static int start_verify(node_t *node, void *arg)
{
    accounts_app_t *rt = arg;
    accounts_verify_sched_config_t vc = {.store = node_store(node),
                                         .period_ms = rt->config->verify_every_ms,
                                         .chunk_entries = rt->config->verify_chunk,
                                         .on_failure = verify_failed,
                                         .arg = node};
    ledger_err_t err = accounts_verify_sched_start(&vc, &rt->verify);
    if (err) {
        node_log_write(NODE_LOG_ERROR, "event=verify_start_failed error=%s", ledger_err_name(err));
        return NODE_MAIN_EXIT_FAILURE;
    }
    node_log_write(NODE_LOG_INFO, "event=verify_scheduled every_ms=%" PRIu64 " chunk=%u",
                   rt->config->verify_every_ms, rt->config->verify_chunk);
    return NODE_MAIN_EXIT_OK;
}

/* after_run: stops it before the node and its store go. */
static void stop_verify(node_t *node, void *arg)
{
    (void)node;
    accounts_verify_sched_destroy(&((accounts_app_t *)arg)->verify);
}

int main(int argc, char **argv)
{
    node_config_t config;
    int code = node_main_setup(&config, NODE_KIND_ACCOUNTS, argc, argv);
    if (code >= 0)
        return code;
    accounts_cache_config_t cache_config = {.checkpoint_ms = config.checkpoint_ms,
                                            .dirty_max = ACCOUNTS_CACHE_DIRTY_MAX,
                                            .chunk = config.checkpoint_chunk};
    accounts_cache_t *cache = accounts_cache_new(&cache_config);
    if (!cache) {
        fprintf(stderr, "ledger-accounts: out of memory\n");
        return 1;
    }
    accounts_app_t accounts_app = {
        .config = &config,
        .cache = cache,
        .limits = {.settlement_limit_minor = (int64_t)config.settlement_limit_minor,
                   .deposit_max_minor = (int64_t)config.deposit_max_minor,
                   .risk_timeout_ms = config.risk_timeout_ms}};
    /* Migration 5 -> 6 gives reserved transfers a risk deadline of this node's timeout. */
    accounts_migrate_arg_t migrate_arg = {.risk_timeout_ms = config.risk_timeout_ms};
    store_migrate_plan_t plan = accounts_migrate_plan;
    plan.arg = &migrate_arg;
    node_app_t app = {.apply = apply,
                      .query = query,
                      .on_start = on_start,
                      .app = &accounts_app,
                      .state = cache,
                      .txn_begin = txn_begin,
                      .txn_prepare = txn_prepare,
                      .txn_end = txn_end,
                      .on_stop = on_stop,
                      .prune = prune,
                      .local_take = timers_take,
                      .local_apply = timers_apply,
                      .local_done = timers_done,
                      .migrate = &plan};
    app.peers[0] = (relay_peer_t){NODE_PEER_FRAUD, config.fraud};
    app.peers[1] = (relay_peer_t){NODE_PEER_GATEWAY, config.gateway};
    app.peer_count = 2;
    node_main_hooks_t hooks = {.admin_route_path = "/ledger/verify",
                               .admin_route = verify_route,
                               .before_run = start_verify,
                               .after_run = stop_verify,
                               .node_metrics = cache_metrics,
                               .node_metrics_arg = &accounts_app,
                               .arg = &accounts_app};
    code = node_main_run(&config, &app, &hooks);
    accounts_cache_destroy(&cache);
    return code;
}

/*  gateway_main.c: the gateway node executable (ledger-gateway).
    Runs the public HTTP API (gateway_http.h) beside the node loop. The loop
    is the store's one writer: each turn it commits the HTTP submissions the
    API queued (transfers and their outbox entries; gateway_submit.h: take,
    apply, finish) in the same write transaction as the inbound messages (status events from
   accounts and fraud, folded into the transfer view by gateway_view_apply), then its relay delivers
   the new transfer.requested messages to accounts. Before anything starts,
   the listen rule (gateway_tls.h) decides HTTPS or plain HTTP, or refuses
   to start (plain HTTP on a non-loopback address without --insecure-http). */
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>

#include "admin_metrics.h"
#include "gateway_admin_api.h"
#include "gateway_http.h"
#include "gateway_migrate.h"
#include "gateway_owners.h"
#include "gateway_owners_fill.h"
#include "gateway_tls.h"
#include "gateway_view.h"
#include "node.h"
#include "node_log.h"
#include "node_main.h"

typedef struct {
    const node_config_t *config;
    gateway_auth_t *auth; /* shared by the public API (checks) and the admin routes (revocations) */
    gateway_http_t *http;
    gateway_owners_fill_t *fill; /* the owner map's start-up fill from the accounts node */
    gateway_tls_mode_t tls_mode;
    gateway_tls_t *tls; /* NULL unless GATEWAY_TLS_MODE_HTTPS; outlives the HTTP server */
} gateway_main_t;

static ledger_err_t apply(node_ctx_t *ctx, const proto_msg_t *msg, void *app, char *why,
                          size_t why_size)
{
    (void)app;
    ledger_err_t err = gateway_view_apply(ctx, msg);
    if (err == LEDGER_E_INVALID)
        snprintf(why, why_size, "gateway does not handle %s", proto_type_name(msg->type));
    return err;
}

static void wake_loop(void *arg)
{
    node_wake(arg);
}

/* The loop's side of the HTTP submissions (node_app_t local work). */
static size_t take_submissions(void *app)
{
    gateway_main_t *gw = app;
    return gateway_http_take(gw->http);
}

static ledger_err_t apply_submissions(node_ctx_t *ctx, void *app)
{
    gateway_main_t *gw = app;
    return gateway_http_apply_taken(gw->http, ctx);
}

static void answer_submissions(void *app, ledger_err_t err)
{
    gateway_main_t *gw = app;
    gateway_http_finish_taken(gw->http, err);
}

static void count_request(void *arg, const char *method, const char *route, unsigned status)
{
    node_count_http(arg, method, route, status);
}

static bool storage_faulted(void *arg)
{
    return node_fault_active(arg);
}

static void storage_fault(void *arg, const char *source, const char *reason)
{
    node_fault_set(arg, source, reason);
}

static void log_line(void *arg, const char *line)
{
    (void)arg;
    node_log_write(NODE_LOG_ERROR, "event=http_error detail=\"%s\"", line);
}

static int start_http(node_t *node, void *arg)
{
    gateway_main_t *gw = arg;
    const node_config_t *c = gw->config;
    /* The accounts client is a CURVE client like the relay, as the gateway's key. */
    const zcert_t *cert = node_keys_cert(node_get_keys(node));
    const char *accounts_key = node_keys_peer_key(node_get_keys(node), NODE_PEER_ACCOUNTS);
    gateway_http_config_t hc = {
        .store = node_store(node),
        .auth = gw->auth,
        .node_name = c->name,
        .listen_address = c->http_host,
        .port = c->http_port,
        .thread_pool_size = c->http_threads,
        .accounts_endpoint = c->accounts,
        .accounts_cert = cert,
        .accounts_server_key = accounts_key,
        .idempotency_retention_ms = c->idempotency_retention_ms,
        .transfer_retention_ms = c->transfer_retention_ms,
        .wake = wake_loop,
        .wake_arg = node,
        .count_request = count_request,
        .count_request_arg = node,
        .storage_faulted = storage_faulted,
        .storage_fault = storage_fault,
        .storage_faulted_arg = node,
        .log = log_line,
        .web_dir = c->web_dir,
        .max_pending = c->max_pending,
        .body_budget_bytes = c->http_body_budget_bytes,
        .body_budget_per_address_bytes = c->http_body_budget_per_address_bytes,
        .head_timeout_ms = c->http_head_timeout_ms,
        .body_min_rate = c->http_body_min_rate,
        .streams = {.max_per_principal = c->stream_max_per_principal,
                    .replay_max = c->stream_replay_max,
                    .stall_ms = c->stream_stall_timeout_ms},
        .deposit_max_minor = (int64_t)c->deposit_max_minor, /* node_config keeps it <= INT64_MAX */
        .tls = gw->tls,
    };
    if (gateway_http_start(&hc, &gw->http) != LEDGER_OK) {
        node_log_write(NODE_LOG_ERROR, "event=http_start_failed host=%s port=%u tls=%d",
                       c->http_host, c->http_port, gw->tls != NULL);
        return 1;
    }
    node_log_write(NODE_LOG_INFO, "event=http_listening host=%s port=%u scheme=%s", c->http_host,
                   gateway_http_port(gw->http), gw->tls ? "https" : "http");
    gateway_owners_fill_config_t fc = {.store = node_store(node),
                                       .accounts_endpoint = c->accounts,
                                       .node_name = c->name,
                                       .cert = cert,
                                       .server_key = accounts_key,
                                       .timeout_ms = GATEWAY_HTTP_QUERY_TIMEOUT_MS_DEFAULT,
                                       .faulted = storage_faulted,
                                       .fault = storage_fault,
                                       .fault_arg = node};
    if (gateway_owners_fill_start(&fc, &gw->fill) != LEDGER_OK) {
        node_log_write(NODE_LOG_ERROR, "event=owners_fill_start_failed");
        return 1;
    }
    return 0;
}

/*  The listen rule and, for HTTPS, the certificate and key, before the node
    opens its store: a refusal is a clear log line and a non-zero exit. */
static int setup_listen(const node_config_t *c, gateway_main_t *gw)
{
    char why[512] = "";
    if (gateway_tls_decide(c->http_host, c->tls_cert, c->tls_key, c->insecure_http, &gw->tls_mode,
                           why, sizeof why) != LEDGER_OK) {
        node_log_write(NODE_LOG_ERROR, "event=http_refused reason=\"%s\"", why);
        return NODE_MAIN_EXIT_USAGE;
    }
    if (gw->tls_mode == GATEWAY_TLS_MODE_HTTPS &&
        gateway_tls_new(c->tls_cert, c->tls_key, &gw->tls, why, sizeof why) != LEDGER_OK) {
        node_log_write(NODE_LOG_ERROR, "event=tls_load_failed reason=\"%s\"", why);
        return NODE_MAIN_EXIT_USAGE;
    }
    if (gw->tls_mode == GATEWAY_TLS_MODE_INSECURE_HTTP)
        node_log_write(NODE_LOG_WARN,
                       "event=insecure_http host=%s warning=\"INSECURE: plain HTTP on a "
                       "non-loopback address (--insecure-http): API keys and transfers cross "
                       "the network unencrypted; give --tls-cert and --tls-key instead\"",
                       c->http_host);
    return NODE_MAIN_GO_ON;
}

/* The gateway's own /metrics families (admin server's thread; reads what no longer changes). */
static void gateway_metrics(FILE *out, void *arg)
{
    const gateway_main_t *gw = arg;
    admin_metrics_scalar(out, "ledger_gateway_insecure_http", "gauge",
                         "1 when the public port serves plain HTTP on a non-loopback address "
                         "(--insecure-http)",
                         gw->tls_mode == GATEWAY_TLS_MODE_INSECURE_HTTP);
    admin_metrics_scalar(out, "ledger_gateway_https", "gauge",
                         "1 when the public port serves HTTPS (--tls-cert)", gw->tls != NULL);
    admin_metrics_scalar(out, "ledger_gateway_owners_fill_done", "gauge",
                         "1 once the owner map was filled from the accounts node's list since "
                         "the start",
                         gateway_owners_fill_done(gw->fill));
    gateway_http_refusals_t n;
    gateway_http_refusals(gw->http, &n);
    fprintf(out,
            "# HELP ledger_http_refused_total Public API requests refused or connections closed "
            "to bound resources\n"
            "# TYPE ledger_http_refused_total counter\n"
            "ledger_http_refused_total{reason=\"body_budget\"} %" PRIu64 "\n"
            "ledger_http_refused_total{reason=\"body_budget_address\"} %" PRIu64 "\n"
            "ledger_http_refused_total{reason=\"head_deadline\"} %" PRIu64 "\n"
            "ledger_http_refused_total{reason=\"body_deadline\"} %" PRIu64 "\n"
            "ledger_http_refused_total{reason=\"streams_full\"} %" PRIu64 "\n"
            "ledger_http_refused_total{reason=\"stream_per_principal\"} %" PRIu64 "\n"
            "ledger_http_refused_total{reason=\"stream_replay_limit\"} %" PRIu64 "\n"
            "ledger_http_refused_total{reason=\"stream_stalled\"} %" PRIu64 "\n"
            "ledger_http_refused_total{reason=\"auth_failures\"} %" PRIu64 "\n"
            "# HELP ledger_http_streams_open Event streams (GET /api/events) open now\n"
            "# TYPE ledger_http_streams_open gauge\n"
            "ledger_http_streams_open %" PRIu64 "\n"
            "# HELP ledger_http_body_budget_bytes_in_use Request body bytes buffered now "
            "(--http-body-budget-bytes)\n"
            "# TYPE ledger_http_body_budget_bytes_in_use gauge\n"
            "ledger_http_body_budget_bytes_in_use %" PRIu64 "\n",
            n.body_budget, n.body_budget_address, n.head_deadline, n.body_deadline,
            n.streams.refused_full, n.streams.refused_per_principal, n.streams.replay_limited,
            n.streams.stalled, gateway_authfail_refused(gateway_auth_failures(gw->auth)),
            n.streams.open, n.body_budget_in_use);
    admin_metrics_retention_pruned(out, "views", gateway_http_views_pruned(gw->http));
}

/* After each commit of applied messages (loop thread): their events reach the open streams now. */
static void on_commit(void *app)
{
    gateway_main_t *gw = app;
    gateway_http_notify_events(gw->http);
}

static void stop_http(node_t *node, void *arg)
{
    (void)node;
    gateway_main_t *gw = arg;
    gateway_owners_fill_destroy(&gw->fill);
    gateway_http_destroy(&gw->http);
}

/*  Blocks of 64 KiB and more (a batch request's body and its answer, up to
    ~1 MB) come from mmap and go back with munmap. On the heap, glibc frees
    such a block by first consolidating every small free chunk of the arena
    (malloc_consolidate): 7% of the gateway's CPU under the batch endpoint in
    a profile. A fixed threshold also stops glibc from raising it after the
    first free of a mapped block, which would put these blocks back on the
    heap. */
#define GATEWAY_MMAP_THRESHOLD_BYTES (64 * 1024)

int main(int argc, char **argv)
{
    mallopt(M_MMAP_THRESHOLD, GATEWAY_MMAP_THRESHOLD_BYTES);
    node_config_t config;
    int code = node_main_setup(&config, NODE_KIND_GATEWAY, argc, argv);
    if (code >= 0)
        return code;
    gateway_main_t gw = {.config = &config};
    code = setup_listen(&config, &gw);
    if (code >= 0) {
        gateway_tls_destroy(&gw.tls);
        return code;
    }
    gateway_auth_config_t auth_config = {.customer_rate_per_s = config.customer_rate,
                                         .customer_burst = config.customer_burst,
                                         .operator_rate_per_s = config.operator_rate,
                                         .operator_burst = config.operator_burst,
                                         .fail_rate_per_s = config.auth_fail_rate,
                                         .fail_burst = config.auth_fail_burst};
    if (gateway_auth_new(&auth_config, &gw.auth) != LEDGER_OK) {
        node_log_write(NODE_LOG_ERROR, "event=auth_start_failed");
        gateway_tls_destroy(&gw.tls);
        return NODE_MAIN_EXIT_FAILURE;
    }
    gateway_admin_api_t admin_api = {.auth = gw.auth};
    /* the loop's owner cache (gateway_owners.h): entries never change, so no txn hooks */
    gateway_owners_cache_t *owners_cache = gateway_owners_cache_new();
    node_app_t app = {.apply = apply,
                      .on_commit = on_commit,
                      .local_take = take_submissions,
                      .local_apply = apply_submissions,
                      .local_done = answer_submissions,
                      .app = &gw,
                      .state = owners_cache,
                      .migrate = &gateway_migrate_plan};
    app.peers[0] = (relay_peer_t){NODE_PEER_ACCOUNTS, config.accounts};
    app.peer_count = 1;
    node_main_hooks_t hooks = {.admin_routes = gateway_admin_api_routes,
                               .admin_route_count = gateway_admin_api_route_count,
                               .admin_routes_arg = &admin_api,
                               .before_run = start_http,
                               .after_run = stop_http,
                               .node_metrics = gateway_metrics,
                               .node_metrics_arg = &gw,
                               .arg = &gw};
    code = node_main_run(&config, &app, &hooks);
    gateway_owners_cache_destroy(&owners_cache);
    gateway_auth_destroy(&gw.auth);
    gateway_tls_destroy(&gw.tls);
    return code;
}

/* node_config.c: defaults, LEDGER_* environment variables and flags. */
#include "node_config.h"

#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "node_log.h"
#include "proto.h"

typedef enum { OPT_STR, OPT_U16, OPT_U32, OPT_U64, OPT_BOOL, OPT_LOG } opt_type_t;

typedef struct {
    const char *flag;
    const char *env;
    opt_type_t type;
    size_t offset;
    size_t size;
    const char *help;
} option_t;

#define STR(field) OPT_STR, offsetof(node_config_t, field), sizeof(((node_config_t *)0)->field)
#define NUM(t, field) t, offsetof(node_config_t, field), sizeof(((node_config_t *)0)->field)

static const option_t options[] = {
    {"data-dir", "LEDGER_DATA_DIR", STR(data_dir), "LMDB data directory"},
    {"inbox", "LEDGER_INBOX", STR(inbox), "ROUTER endpoint this node binds (its inbox)"},
    {"feed", "LEDGER_FEED", STR(feed), "PUB endpoint this node binds (its event feed)"},
    {"accounts", "LEDGER_ACCOUNTS_ENDPOINT", STR(accounts), "inbox of the accounts node"},
    {"fraud", "LEDGER_FRAUD_ENDPOINT", STR(fraud), "inbox of the fraud node"},
    {"gateway", "LEDGER_GATEWAY_ENDPOINT", STR(gateway), "inbox of the gateway node"},
    {"admin-host", "LEDGER_ADMIN_HOST", STR(admin_host), "admin HTTP listen address"},
    {"admin-port", "LEDGER_ADMIN_PORT", NUM(OPT_U16, admin_port), "admin HTTP port (0 = off)"},
    {"http-host", "LEDGER_HTTP_HOST", STR(http_host), "public HTTP listen address (gateway)"},
    {"http-port", "LEDGER_HTTP_PORT", NUM(OPT_U16, http_port), "public HTTP port (gateway)"},
    {"http-threads", "LEDGER_HTTP_THREADS", NUM(OPT_U32, http_threads),
     "HTTP worker threads (gateway, 1..64)"},
    {"web-dir", "LEDGER_WEB_DIR", STR(web_dir), "built demo app served at / (gateway)"},
    {"tls-cert", "LEDGER_TLS_CERT", STR(tls_cert),
     "PEM certificate (chain): serve HTTPS, TLS 1.2 or later (gateway; needs --tls-key)"},
    {"tls-key", "LEDGER_TLS_KEY", STR(tls_key), "PEM private key of --tls-cert (gateway)"},
    {"insecure-http", "LEDGER_INSECURE_HTTP", NUM(OPT_BOOL, insecure_http),
     "allow plain HTTP on a non-loopback --http-host (gateway; NOT safe: keys in clear)"},
    {"fraud-rules", "LEDGER_FRAUD_RULES", STR(fraud_rules),
     "fraud rules file, key = value (fraud)"},
    {"demo", "LEDGER_DEMO", NUM(OPT_BOOL, demo),
     "open the demo accounts on first start (accounts)"},
    {"no-sync", "LEDGER_NO_SYNC", NUM(OPT_BOOL, no_sync), "skip fsync on commit: NOT durable"},
    {"batch-max", "LEDGER_BATCH_MAX", NUM(OPT_U32, batch_max), "most inbound messages per commit"},
    {"bundle-max", "LEDGER_BUNDLE_MAX", NUM(OPT_U32, bundle_max),
     "most outbox entries sent to a peer in one message (1..64; 1 = the framing of builds "
     "before bundles, for a rolling upgrade)"},
    {"retry-min-ms", "LEDGER_RETRY_MIN_MS", NUM(OPT_U32, retry_min_ms), "first redelivery delay"},
    {"retry-max-ms", "LEDGER_RETRY_MAX_MS", NUM(OPT_U32, retry_max_ms), "longest redelivery delay"},
    {"log-level", "LEDGER_LOG_LEVEL", NUM(OPT_LOG, log_level), "debug, info, warn or error"},
    {"idempotency-retention-ms", "LEDGER_IDEMPOTENCY_RETENTION_MS",
     NUM(OPT_U64, idempotency_retention_ms), "how long idempotency keys are kept (gateway)"},
    {"transfer-retention-ms", "LEDGER_TRANSFER_RETENTION_MS", NUM(OPT_U64, transfer_retention_ms),
     "gateway: a transfer's view is deleted this long after it became final (0 = never; at "
     "least the idempotency retention)"},
    {"saga-retention-ms", "LEDGER_SAGA_RETENTION_MS", NUM(OPT_U64, saga_retention_ms),
     "accounts: a finished transfer's saga state is deleted this long after it finished "
     "(0 = never; the ledger and holds are never deleted)"},
    {"map-max-bytes", "LEDGER_MAP_MAX_BYTES", NUM(OPT_U64, map_max_bytes),
     "largest LMDB map: the most the node's data may take (0 = 64 GiB; at least 1 MiB; "
     "past it writes are refused, 503 storage_unavailable at the gateway, reads go on)"},
    {"health-stale-ms", "LEDGER_HEALTH_STALE_MS", NUM(OPT_U64, health_stale_ms),
     "admin /health is 503 once the oldest outbox entry is this old"},
    {"max-pending", "LEDGER_MAX_PENDING", NUM(OPT_U64, max_pending),
     "gateway: answer 503 overloaded while this many transfers wait for accounts"},
    {"http-body-budget-bytes", "LEDGER_HTTP_BODY_BUDGET_BYTES",
     NUM(OPT_U64, http_body_budget_bytes),
     "gateway: request body bytes buffered at once over all connections; past it 503 "
     "overloaded (at least 65536)"},
    {"http-body-budget-per-address-bytes", "LEDGER_HTTP_BODY_BUDGET_PER_ADDRESS_BYTES",
     NUM(OPT_U64, http_body_budget_per_address_bytes),
     "gateway: of the body budget, what one client address (IPv6: its /64) may hold at once "
     "(at least 65536; past it 503 overloaded)"},
    {"http-head-timeout-ms", "LEDGER_HTTP_HEAD_TIMEOUT_MS", NUM(OPT_U32, http_head_timeout_ms),
     "gateway: a connection whose request head is not in within this is closed (slowloris)"},
    {"http-body-min-rate", "LEDGER_HTTP_BODY_MIN_RATE", NUM(OPT_U32, http_body_min_rate),
     "gateway: slowest body upload, bytes/s: a body not in within head timeout + size / this "
     "closes its connection"},
    {"stream-max-per-principal", "LEDGER_STREAM_MAX_PER_PRINCIPAL",
     NUM(OPT_U32, stream_max_per_principal),
     "gateway: event streams one principal may hold open (1..1024); one more: 429"},
    {"stream-replay-max", "LEDGER_STREAM_REPLAY_MAX", NUM(OPT_U32, stream_replay_max),
     "gateway: events a Last-Event-ID may replay; further behind: event reset (1..1000000)"},
    {"stream-stall-timeout-ms", "LEDGER_STREAM_STALL_TIMEOUT_MS",
     NUM(OPT_U32, stream_stall_timeout_ms),
     "gateway: an event stream whose client takes no bytes for this long is closed (>= 100)"},
    {"checkpoint-ms", "LEDGER_CHECKPOINT_MS", NUM(OPT_U64, checkpoint_ms),
     "accounts: start writing changed balances back to the accounts table this often"},
    {"checkpoint-chunk", "LEDGER_CHECKPOINT_CHUNK", NUM(OPT_U32, checkpoint_chunk),
     "accounts: balances written back per commit while a checkpoint runs, at least "
     "(1..1000000; more when a batch changed more)"},
    {"verify-every-ms", "LEDGER_VERIFY_EVERY_MS", NUM(OPT_U64, verify_every_ms),
     "accounts: run the /ledger/verify check in the background this often (0 = off); a "
     "problem it finds faults the node"},
    {"verify-chunk", "LEDGER_VERIFY_CHUNK", NUM(OPT_U32, verify_chunk),
     "accounts: ledger entries the scheduled verify walks per read transaction (1..1000000)"},
    {"prealloc-bytes", "LEDGER_PREALLOC_BYTES", NUM(OPT_U64, prealloc_bytes),
     "keep the data file written this far past its used end, so that commits overwrite "
     "blocks instead of allocating them (0 = off, at most 1 GiB)"},
    {"settlement-limit-minor", "LEDGER_SETTLEMENT_LIMIT_MINOR",
     NUM(OPT_U64, settlement_limit_minor),
     "accounts: how far below zero a settlement account may go, minor units per currency "
     "(deposits past it are declined settlement_limit)"},
    {"deposit-max-minor", "LEDGER_DEPOSIT_MAX_MINOR", NUM(OPT_U64, deposit_max_minor),
     "accounts and gateway: the largest one deposit, minor units (1..; larger: "
     "deposit_too_large at the accounts node, 422 amount_too_large at the gateway)"},
    {"risk-timeout-ms", "LEDGER_RISK_TIMEOUT_MS", NUM(OPT_U64, risk_timeout_ms),
     "accounts: how long a hold waits for the fraud verdict before the transfer is declined "
     "risk_unavailable and the hold released (>= 1000)"},
    {"customer-rate", "LEDGER_CUSTOMER_RATE", NUM(OPT_U32, customer_rate),
     "gateway: API requests per second a customer principal may make (1..10000000)"},
    {"customer-burst", "LEDGER_CUSTOMER_BURST", NUM(OPT_U32, customer_burst),
     "gateway: requests a customer principal may make at once (1..10000000)"},
    {"operator-rate", "LEDGER_OPERATOR_RATE", NUM(OPT_U32, operator_rate),
     "gateway: API requests per second an operator principal may make (1..10000000)"},
    {"operator-burst", "LEDGER_OPERATOR_BURST", NUM(OPT_U32, operator_burst),
     "gateway: requests an operator principal may make at once (1..10000000)"},
    {"auth-fail-rate", "LEDGER_AUTH_FAIL_RATE", NUM(OPT_U32, auth_fail_rate),
     "gateway: failed authentications per second one client address may make (1..10000000); "
     "past its burst: 429 before any key is looked at"},
    {"auth-fail-burst", "LEDGER_AUTH_FAIL_BURST", NUM(OPT_U32, auth_fail_burst),
     "gateway: failed authentications one client address may make at once (1..10000000)"},
    {"keys-dir", "LEDGER_KEYS_DIR", STR(keys_dir),
     "the mesh's CURVE keys (ledger-keys init); only the default is created when missing"},
    {"node-key", "LEDGER_NODE_KEY", STR(node_key),
     "this node's secret key file, mode 0600 (empty: <keys-dir>/<name>.key)"},
    {"insecure-plaintext", "LEDGER_INSECURE_PLAINTEXT", NUM(OPT_BOOL, insecure_plaintext),
     "node links without CURVE: NOT authenticated or encrypted (tests, benchmarks)"},
    {"harness-replay", "LEDGER_HARNESS_REPLAY", NUM(OPT_BOOL, harness_replay),
     "accept a harness's replays under their original origin, as duplicates only"},
    {"seen-window", "LEDGER_SEEN_WINDOW", NUM(OPT_U64, seen_window),
     "seen ids kept per origin behind its highest; older ones are refused id_too_old "
     "(keep it above the relay's 200,000 in flight)"},
    {"decision-retention-ms", "LEDGER_DECISION_RETENTION_MS", NUM(OPT_U64, decision_retention_ms),
     "how long decisions are kept (fraud; 0 = forever)"},
    {"payee-retention-ms", "LEDGER_PAYEE_RETENTION_MS", NUM(OPT_U64, payee_retention_ms),
     "fraud: a known payee is forgotten this long after its last approval (0 = never)"},
};
#define OPTION_COUNT (sizeof options / sizeof options[0])
/* getopt_long's value for options[i] is OPTION_ID_BASE + i: clear of every short option. */
#define OPTION_ID_BASE 1000

static const char *kind_name(node_kind_t kind)
{
    return kind == NODE_KIND_GATEWAY    ? "gateway"
           : kind == NODE_KIND_ACCOUNTS ? "accounts"
                                        : "fraud";
}

static void set_defaults(node_config_t *c, node_kind_t kind)
{
    memset(c, 0, sizeof *c);
    c->kind = kind;
    snprintf(c->name, sizeof c->name, "%s", kind_name(kind));
    snprintf(c->data_dir, sizeof c->data_dir, "./data/%s", c->name);
    int base = kind == NODE_KIND_GATEWAY ? 7101 : kind == NODE_KIND_ACCOUNTS ? 7201 : 7301;
    snprintf(c->inbox, sizeof c->inbox, "tcp://127.0.0.1:%d", base);
    snprintf(c->feed, sizeof c->feed, "tcp://127.0.0.1:%d", base + 1);
    snprintf(c->gateway, sizeof c->gateway, "tcp://127.0.0.1:7101");
    snprintf(c->accounts, sizeof c->accounts, "tcp://127.0.0.1:7201");
    snprintf(c->fraud, sizeof c->fraud, "tcp://127.0.0.1:7301");
    snprintf(c->admin_host, sizeof c->admin_host, "127.0.0.1");
    c->admin_port = (uint16_t)(kind == NODE_KIND_GATEWAY    ? 8181
                               : kind == NODE_KIND_ACCOUNTS ? 8182
                                                            : 8183);
    snprintf(c->http_host, sizeof c->http_host, "127.0.0.1");
    c->http_port = 8080;
    c->http_threads = 4;
    snprintf(c->web_dir, sizeof c->web_dir, "./web/dist");
    c->batch_max = 4096;
    c->bundle_max = PROTO_BUNDLE_MAX;
    c->retry_min_ms = 100;
    c->retry_max_ms = 5000;
    c->log_level = NODE_LOG_INFO;
    c->idempotency_retention_ms = 24ull * 3600 * 1000;
    c->transfer_retention_ms = 90ull * 24 * 3600 * 1000; /* gateway_view_prune.h */
    c->saga_retention_ms = 30ull * 24 * 3600 * 1000;     /* accounts_prune.h */
    c->health_stale_ms = 30000;
    c->max_pending = 100000;
    c->http_body_budget_bytes = 64ull * 1024 * 1024;
    c->http_body_budget_per_address_bytes = 16ull * 1024 * 1024;
    c->http_head_timeout_ms = 5000;
    c->http_body_min_rate = 64u * 1024;
    c->stream_max_per_principal = 4;
    c->stream_replay_max = 1000;
    c->stream_stall_timeout_ms = 10000;
    c->checkpoint_ms = 5000;
    c->checkpoint_chunk = 256;
    c->verify_every_ms = 3600ull * 1000; /* hourly: a walk of 10^7 entries costs seconds */
    c->verify_chunk = 10000;
    c->prealloc_bytes = 16ull << 20;
    c->settlement_limit_minor = 1000000000000ull; /* 10^12 (accounts_saga.h) */
    c->deposit_max_minor = 10000000000ull;        /* 10^10 */
    c->risk_timeout_ms = 60000;                   /* accounts_timers.h */
    /* High enough that bench/ never meets them (gateway_auth.h). */
    c->customer_rate = 20000;
    c->customer_burst = 40000;
    c->operator_rate = 50000;
    c->operator_burst = 100000;
    c->auth_fail_rate = 2;
    c->auth_fail_burst = 20;
    snprintf(c->keys_dir, sizeof c->keys_dir, "%s", NODE_KEYS_DIR_DEFAULT);
    c->seen_window = 1000000;                            /* store.h, "seen message ids" */
    c->decision_retention_ms = 30ull * 24 * 3600 * 1000; /* 30 days (fraud.h) */
    c->payee_retention_ms = 365ull * 24 * 3600 * 1000;   /* a year (fraud_prune.h) */
}

static ledger_err_t set_value(node_config_t *c, const option_t *o, const char *value, char *why,
                              size_t why_size)
{
    char *field = (char *)c + o->offset;
    if (o->type == OPT_STR) {
        if (strlen(value) >= o->size) {
            snprintf(why, why_size, "--%s: value longer than %zu bytes", o->flag, o->size - 1);
            return LEDGER_E_INVALID;
        }
        memcpy(field, value, strlen(value) + 1);
        if (o->offset == offsetof(node_config_t, keys_dir))
            c->keys_dir_given = value[0] != '\0';
        return LEDGER_OK;
    }
    if (o->type == OPT_BOOL) {
        bool b;
        if (!strcmp(value, "1") || !strcmp(value, "true") || !strcmp(value, "yes"))
            b = true;
        else if (!strcmp(value, "0") || !strcmp(value, "false") || !strcmp(value, "no") || !*value)
            b = false;
        else {
            snprintf(why, why_size, "--%s: expected 1/0, true/false or yes/no, got '%s'", o->flag,
                     value);
            return LEDGER_E_INVALID;
        }
        *(bool *)field = b;
        return LEDGER_OK;
    }
    if (o->type == OPT_LOG) {
        int level = node_log_level_parse(value);
        if (level < 0) {
            snprintf(why, why_size, "--%s: expected debug, info, warn or error, got '%s'", o->flag,
                     value);
            return LEDGER_E_INVALID;
        }
        *(uint32_t *)field = (uint32_t)level;
        return LEDGER_OK;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long n = strtoull(value, &end, 10);
    uint64_t max = o->type == OPT_U16 ? UINT16_MAX : o->type == OPT_U32 ? UINT32_MAX : UINT64_MAX;
    if (!*value || *end || errno || value[0] == '-' || n > max) {
        snprintf(why, why_size, "--%s: expected an integer 0..%" PRIu64 ", got '%s'", o->flag, max,
                 value);
        return LEDGER_E_INVALID;
    }
    if (o->type == OPT_U16)
        *(uint16_t *)field = (uint16_t)n;
    else if (o->type == OPT_U32)
        *(uint32_t *)field = (uint32_t)n;
    else
        *(uint64_t *)field = (uint64_t)n;
    return LEDGER_OK;
}

/* The checks across fields and of ranges, once every value is set. */
/* The store's limits: the seen window, preallocation, the map's max. False with `why`. */
static bool check_storage_values(const node_config_t *c, char *why, size_t why_size)
{
    if (c->seen_window < NODE_SEEN_WINDOW_MIN) {
        snprintf(why, why_size, "seen-window must be >= %u", NODE_SEEN_WINDOW_MIN);
        return false;
    }
    if (c->prealloc_bytes > NODE_PREALLOC_BYTES_LIMIT ||
        (c->map_max_bytes && c->map_max_bytes < NODE_MAP_MAX_BYTES_MIN)) {
        snprintf(why, why_size, "prealloc-bytes must be 0..%llu, map-max-bytes 0 or at least %llu",
                 (unsigned long long)NODE_PREALLOC_BYTES_LIMIT,
                 (unsigned long long)NODE_MAP_MAX_BYTES_MIN);
        return false;
    }
    return true;
}

/* The event streams' limits (gateway_stream.h). False with `why`. */
static bool check_stream_values(const node_config_t *c, char *why, size_t why_size)
{
    if (c->stream_max_per_principal == 0 || c->stream_max_per_principal > 1024 ||
        c->stream_replay_max == 0 || c->stream_replay_max > 1000000 ||
        c->stream_stall_timeout_ms < 100) {
        snprintf(why, why_size,
                 "stream-max-per-principal must be 1..1024, stream-replay-max 1..1000000, "
                 "stream-stall-timeout-ms >= 100");
        return false;
    }
    return true;
}

/* The accounts node's limits: money coming in, and the risk timeout. */
static bool check_accounts_values(const node_config_t *c, char *why, size_t why_size)
{
    if (c->settlement_limit_minor > INT64_MAX || c->deposit_max_minor == 0 ||
        c->deposit_max_minor > INT64_MAX) {
        snprintf(why, why_size, "settlement-limit-minor must be 0..%lld, deposit-max-minor 1..%lld",
                 (long long)INT64_MAX, (long long)INT64_MAX);
        return false;
    }
    if (c->risk_timeout_ms < 1000 || c->risk_timeout_ms > 30ull * 24 * 3600 * 1000) {
        snprintf(why, why_size, "risk-timeout-ms must be 1000..2592000000 (30 days)");
        return false;
    }
    return true;
}

static ledger_err_t check_values(const node_config_t *c, char *why, size_t why_size)
{
    if (c->batch_max == 0 || c->batch_max > NODE_BATCH_MAX_LIMIT || c->retry_min_ms == 0 ||
        c->retry_max_ms < c->retry_min_ms) {
        snprintf(why, why_size,
                 "batch-max must be 1..%u, retry-min-ms > 0, retry-max-ms >= retry-min-ms",
                 NODE_BATCH_MAX_LIMIT);
        return LEDGER_E_INVALID;
    }
    if (c->bundle_max == 0 || c->bundle_max > PROTO_BUNDLE_MAX) {
        snprintf(why, why_size, "bundle-max must be 1..%u", (unsigned)PROTO_BUNDLE_MAX);
        return LEDGER_E_INVALID;
    }
    if (c->http_threads == 0 || c->http_threads > NODE_HTTP_THREADS_LIMIT ||
        c->http_body_budget_bytes < 65536 || c->http_body_budget_per_address_bytes < 65536 ||
        c->http_head_timeout_ms < 100 || c->http_body_min_rate < 1024) {
        snprintf(why, why_size,
                 "http-threads must be 1..%u, http-body-budget-bytes and "
                 "http-body-budget-per-address-bytes >= 65536, "
                 "http-head-timeout-ms >= 100, http-body-min-rate >= 1024",
                 NODE_HTTP_THREADS_LIMIT);
        return LEDGER_E_INVALID;
    }
    if (!check_stream_values(c, why, why_size))
        return LEDGER_E_INVALID;
    if (c->checkpoint_chunk == 0 || c->checkpoint_chunk > NODE_CHECKPOINT_CHUNK_LIMIT ||
        c->verify_chunk == 0 || c->verify_chunk > NODE_VERIFY_CHUNK_LIMIT) {
        snprintf(why, why_size, "checkpoint-chunk must be 1..%u, verify-chunk 1..%u",
                 NODE_CHECKPOINT_CHUNK_LIMIT, NODE_VERIFY_CHUNK_LIMIT);
        return LEDGER_E_INVALID;
    }
    if (!check_accounts_values(c, why, why_size))
        return LEDGER_E_INVALID;
    /* A key must never outlive the view it names (gateway_view_prune.h). */
    uint64_t keys_ms = c->idempotency_retention_ms ? c->idempotency_retention_ms
                                                   : 24ull * 3600 * 1000; /* its 0: 24 h */
    if (c->transfer_retention_ms && c->transfer_retention_ms < keys_ms) {
        snprintf(why, why_size,
                 "transfer-retention-ms must be 0 or at least idempotency-retention-ms");
        return LEDGER_E_INVALID;
    }
    if (!c->tls_cert[0] != !c->tls_key[0]) {
        snprintf(why, why_size, "tls-cert and tls-key go together: give both or neither");
        return LEDGER_E_INVALID;
    }
    if (c->tls_cert[0] && c->insecure_http) {
        snprintf(why, why_size, "insecure-http with tls-cert: choose one (HTTPS or plain HTTP)");
        return LEDGER_E_INVALID;
    }
    if (c->insecure_plaintext && c->node_key[0]) {
        snprintf(why, why_size, "insecure-plaintext with node-key: choose one (CURVE or none)");
        return LEDGER_E_INVALID;
    }
    if (!check_storage_values(c, why, why_size))
        return LEDGER_E_INVALID;
    uint32_t rates[] = {c->customer_rate,  c->customer_burst, c->operator_rate,
                        c->operator_burst, c->auth_fail_rate, c->auth_fail_burst};
    for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++)
        if (rates[i] == 0 || rates[i] > NODE_RATE_LIMIT) {
            snprintf(why, why_size,
                     "customer-/operator-rate and -burst, auth-fail-rate and -burst must be 1..%u",
                     NODE_RATE_LIMIT);
            return LEDGER_E_INVALID;
        }
    return LEDGER_OK;
}

ledger_err_t node_config_load(node_config_t *c, node_kind_t kind, int argc, char **argv, char *why,
                              size_t why_size)
{
    assert(c && (argv || argc == 0) && why);
    set_defaults(c, kind);
    for (size_t i = 0; i < OPTION_COUNT; i++) {
        const char *value = getenv(options[i].env);
        if (value) {
            ledger_err_t err = set_value(c, &options[i], value, why, why_size);
            if (err)
                return err;
        }
    }
    struct option longopts[OPTION_COUNT + 2];
    for (size_t i = 0; i < OPTION_COUNT; i++) {
        bool is_bool = options[i].type == OPT_BOOL;
        longopts[i] =
            (struct option){options[i].flag, is_bool ? optional_argument : required_argument, NULL,
                            (int)(OPTION_ID_BASE + i)};
    }
    longopts[OPTION_COUNT] = (struct option){"help", no_argument, NULL, 'h'};
    longopts[OPTION_COUNT + 1] = (struct option){0, 0, 0, 0};
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (ch == 'h') {
            c->help = true;
            continue;
        }
        if (ch < OPTION_ID_BASE || ch >= OPTION_ID_BASE + (int)OPTION_COUNT) {
            snprintf(why, why_size, "unknown or incomplete option '%s' (see --help)",
                     argv[optind - 1]);
            return LEDGER_E_INVALID;
        }
        const option_t *o = &options[ch - OPTION_ID_BASE];
        const char *value = optarg ? optarg : (o->type == OPT_BOOL ? "1" : "");
        ledger_err_t err = set_value(c, o, value, why, why_size);
        if (err)
            return err;
    }
    if (!c->keys_dir[0]) /* LEDGER_KEYS_DIR= (empty) means the default */
        snprintf(c->keys_dir, sizeof c->keys_dir, "%s", NODE_KEYS_DIR_DEFAULT);
    if (optind < argc) {
        snprintf(why, why_size, "unexpected argument '%s' (see --help)", argv[optind]);
        return LEDGER_E_INVALID;
    }
    return check_values(c, why, why_size);
}

void node_config_usage(node_kind_t kind, FILE *out)
{
    node_config_t d;
    set_defaults(&d, kind);
    fprintf(out,
            "usage: ledger-%s [options]\n\nEvery option can also be set with the environment "
            "variable shown; flags win.\n\n",
            kind_name(kind));
    for (size_t i = 0; i < OPTION_COUNT; i++) {
        const option_t *o = &options[i];
        const char *field = (const char *)&d + o->offset;
        char def[NODE_PATH_MAX + 8];
        switch (o->type) {
        case OPT_STR:
            snprintf(def, sizeof def, "%s", field);
            break;
        case OPT_U16:
            snprintf(def, sizeof def, "%u", *(const uint16_t *)field);
            break;
        case OPT_U32:
            snprintf(def, sizeof def, "%" PRIu32, *(const uint32_t *)field);
            break;
        case OPT_U64:
            snprintf(def, sizeof def, "%" PRIu64, *(const uint64_t *)field);
            break;
        case OPT_BOOL:
            snprintf(def, sizeof def, "%s", *(const bool *)field ? "1" : "0");
            break;
        case OPT_LOG:
            snprintf(def, sizeof def, "info");
            break;
        }
        fprintf(out, "  --%-26s %-34s %s (default: %s)\n", o->flag, o->env, o->help, def);
    }
    fprintf(out, "  --%-26s %-34s %s\n", "help", "", "show this text");
}

/*  node_config.h: a node's settings from defaults, LEDGER_* environment
    variables and command-line flags (in that order: flags win).

    The defaults run all three nodes on one machine with no arguments:

      node      inbox (ROUTER)          feed (PUB)              admin   http
      gateway   tcp://127.0.0.1:7101    tcp://127.0.0.1:7102    8181    8080
      accounts  tcp://127.0.0.1:7201    tcp://127.0.0.1:7202    8182
      fraud     tcp://127.0.0.1:7301    tcp://127.0.0.1:7302    8183

    Data lives in ./data/<node>. node_config_usage() prints every flag with
    its variable and default (for --help).

    What it owns: nothing; it fills the caller's node_config_t (fixed-size
    strings, no pointers into argv or the environment).

    How to call it: node_config_load once at start, before any thread.

    Errors: LEDGER_E_INVALID with a reason in `why` for an unknown flag, a
    value that does not parse or is out of its range, a string over its
    field's size, --tls-cert without --tls-key or the other way round, or
    --insecure-http together with a certificate (the gateway's listen rule
    itself, which needs the address, is gateway_tls_decide's), or
    --insecure-plaintext together with --node-key.

    Keys (node_keys.h): --keys-dir defaults to ./data/keys; keys_dir_given
    says whether it was set (LEDGER_KEYS_DIR or the flag, non-empty), since
    only the default directory is ever created by a node. A NULL config or argv is a bug,
   asserted.

    Thread: not thread-safe (getopt_long's globals): main's thread, at start.
*/
#ifndef LEDGER_NODE_CONFIG_H
#define LEDGER_NODE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "ledger_err.h"

#define NODE_NAME_MAX 32            /* bytes of a node name (an origin: PROTO_NODE_MAX) */
#define NODE_ENDPOINT_MAX 255       /* bytes of a ZeroMQ endpoint */
#define NODE_PATH_MAX 1024          /* bytes of a path (with its terminating NUL) */
#define NODE_HOST_MAX 64            /* bytes of a listen address (with its terminating NUL) */
#define NODE_BATCH_MAX_LIMIT 16384u /* most inbound messages one commit may take */
#define NODE_CHECKPOINT_CHUNK_LIMIT 1000000u   /* most balances --checkpoint-chunk may ask for */
#define NODE_VERIFY_CHUNK_LIMIT 1000000u       /* most entries --verify-chunk may ask for */
#define NODE_PREALLOC_BYTES_LIMIT (1ull << 30) /* most --prealloc-bytes may ask for: 1 GiB */
#define NODE_MAP_MAX_BYTES_MIN (1ull << 20)    /* least --map-max-bytes other than 0: 1 MiB */
#define NODE_HTTP_THREADS_LIMIT 64u            /* most --http-threads may ask for */
#define NODE_SEEN_WINDOW_MIN 16u               /* fewest ids --seen-window may keep per origin */
#define NODE_RATE_LIMIT                                                                            \
    10000000u /* most --*-rate and --*-burst may ask for (gateway_ratelimit.h) */

/* The keys directory when none is given: created by the first node that starts (node_keys.h);
   the same path as curve_keys.h's CURVE_KEYS_DEFAULT_DIR. */
#define NODE_KEYS_DIR_DEFAULT "./data/keys"

typedef enum { NODE_KIND_GATEWAY, NODE_KIND_ACCOUNTS, NODE_KIND_FRAUD } node_kind_t;

typedef struct {
    node_kind_t kind;
    char name[NODE_NAME_MAX + 1];         /* origin of messages: "gateway", ... */
    char data_dir[NODE_PATH_MAX];         /* LEDGER_DATA_DIR, --data-dir */
    char inbox[NODE_ENDPOINT_MAX + 1];    /* LEDGER_INBOX, --inbox: ROUTER bind */
    char feed[NODE_ENDPOINT_MAX + 1];     /* LEDGER_FEED, --feed: PUB bind */
    char accounts[NODE_ENDPOINT_MAX + 1]; /* LEDGER_ACCOUNTS_ENDPOINT, --accounts */
    char fraud[NODE_ENDPOINT_MAX + 1];    /* LEDGER_FRAUD_ENDPOINT, --fraud */
    char gateway[NODE_ENDPOINT_MAX + 1];  /* LEDGER_GATEWAY_ENDPOINT, --gateway */
    char admin_host[NODE_HOST_MAX];       /* LEDGER_ADMIN_HOST, --admin-host */
    uint16_t admin_port;                  /* LEDGER_ADMIN_PORT, --admin-port (0 = off) */
    char http_host[NODE_HOST_MAX];        /* LEDGER_HTTP_HOST, --http-host (gateway) */
    uint16_t http_port;                   /* LEDGER_HTTP_PORT, --http-port (gateway) */
    uint32_t http_threads;                /* LEDGER_HTTP_THREADS, --http-threads (gateway) */
    char web_dir[NODE_PATH_MAX];          /* LEDGER_WEB_DIR, --web-dir (gateway) */
    char tls_cert[NODE_PATH_MAX];         /* LEDGER_TLS_CERT, --tls-cert: PEM chain (gateway) */
    char tls_key[NODE_PATH_MAX];          /* LEDGER_TLS_KEY, --tls-key: PEM key (gateway) */
    bool insecure_http; /* LEDGER_INSECURE_HTTP=1, --insecure-http: plain HTTP off loopback */
    char fraud_rules[NODE_PATH_MAX];   /* LEDGER_FRAUD_RULES, --fraud-rules (fraud) */
    bool demo;                         /* LEDGER_DEMO=1, --demo: seed demo accounts */
    bool no_sync;                      /* LEDGER_NO_SYNC=1, --no-sync: NOT durable */
    uint32_t batch_max;                /* LEDGER_BATCH_MAX, --batch-max */
    uint32_t bundle_max;               /* LEDGER_BUNDLE_MAX, --bundle-max (relay_bundle.h) */
    uint32_t retry_min_ms;             /* LEDGER_RETRY_MIN_MS, --retry-min-ms */
    uint32_t retry_max_ms;             /* LEDGER_RETRY_MAX_MS, --retry-max-ms */
    uint32_t log_level;                /* LEDGER_LOG_LEVEL, --log-level */
    uint64_t idempotency_retention_ms; /* LEDGER_IDEMPOTENCY_RETENTION_MS (gateway) */
    /* LEDGER_TRANSFER_RETENTION_MS, --transfer-retention-ms (gateway): final transfer views
       are deleted this long after they became final; 0 = kept for ever */
    uint64_t transfer_retention_ms;
    /* LEDGER_SAGA_RETENTION_MS, --saga-retention-ms (accounts): saga state of finished
       transfers is deleted this long after it finished; 0 = kept for ever */
    uint64_t saga_retention_ms;
    uint64_t map_max_bytes;   /* LEDGER_MAP_MAX_BYTES, --map-max-bytes */
    uint64_t health_stale_ms; /* LEDGER_HEALTH_STALE_MS, --health-stale-ms */
    uint64_t max_pending;     /* LEDGER_MAX_PENDING, --max-pending (gateway) */
    /* LEDGER_HTTP_BODY_BUDGET_BYTES, --http-body-budget-bytes (gateway; gateway_budget.h) */
    uint64_t http_body_budget_bytes;
    uint64_t http_body_budget_per_address_bytes; /* LEDGER_HTTP_BODY_BUDGET_PER_ADDRESS_BYTES */
    uint32_t http_head_timeout_ms; /* LEDGER_HTTP_HEAD_TIMEOUT_MS, --http-head-timeout-ms */
    uint32_t http_body_min_rate;   /* LEDGER_HTTP_BODY_MIN_RATE, --http-body-min-rate (bytes/s) */
    /* GET /api/events limits (gateway; gateway_stream.h) */
    uint32_t stream_max_per_principal; /* LEDGER_STREAM_MAX_PER_PRINCIPAL */
    uint32_t stream_replay_max;        /* LEDGER_STREAM_REPLAY_MAX, events */
    uint32_t stream_stall_timeout_ms;  /* LEDGER_STREAM_STALL_TIMEOUT_MS */
    uint64_t checkpoint_ms;            /* LEDGER_CHECKPOINT_MS, --checkpoint-ms (accounts) */
    uint32_t checkpoint_chunk;         /* LEDGER_CHECKPOINT_CHUNK, --checkpoint-chunk (accounts) */
    uint64_t verify_every_ms; /* LEDGER_VERIFY_EVERY_MS, --verify-every-ms (accounts; 0 off) */
    uint32_t verify_chunk;    /* LEDGER_VERIFY_CHUNK, --verify-chunk (accounts) */
    uint64_t prealloc_bytes;  /* LEDGER_PREALLOC_BYTES, --prealloc-bytes (0 = off) */
    /* LEDGER_SETTLEMENT_LIMIT_MINOR, --settlement-limit-minor (accounts): 0..INT64_MAX */
    uint64_t settlement_limit_minor;
    /* LEDGER_DEPOSIT_MAX_MINOR, --deposit-max-minor (accounts; the gateway checks it too) */
    uint64_t deposit_max_minor;
    uint64_t risk_timeout_ms; /* LEDGER_RISK_TIMEOUT_MS, --risk-timeout-ms (accounts; >= 1000) */
    uint32_t customer_rate;   /* LEDGER_CUSTOMER_RATE, --customer-rate (gateway, requests/s) */
    uint32_t customer_burst;  /* LEDGER_CUSTOMER_BURST, --customer-burst (gateway) */
    uint32_t operator_rate;   /* LEDGER_OPERATOR_RATE, --operator-rate (gateway, requests/s) */
    uint32_t operator_burst;  /* LEDGER_OPERATOR_BURST, --operator-burst (gateway) */
    uint32_t auth_fail_rate;  /* LEDGER_AUTH_FAIL_RATE, --auth-fail-rate (gateway, /s) */
    uint32_t auth_fail_burst; /* LEDGER_AUTH_FAIL_BURST, --auth-fail-burst (gateway) */
    char keys_dir[NODE_PATH_MAX]; /* LEDGER_KEYS_DIR, --keys-dir: the mesh's keys (node_keys.h) */
    bool keys_dir_given;          /* keys_dir came from the environment or a flag: never created */
    char node_key[NODE_PATH_MAX]; /* LEDGER_NODE_KEY, --node-key ("": <keys_dir>/<name>.key) */
    bool insecure_plaintext;      /* LEDGER_INSECURE_PLAINTEXT=1, --insecure-plaintext: no CURVE */
    bool harness_replay;          /* LEDGER_HARNESS_REPLAY=1, --harness-replay (node_inbound.h) */
    uint64_t seen_window; /* LEDGER_SEEN_WINDOW, --seen-window: ids kept per origin (store.h) */
    /* LEDGER_DECISION_RETENTION_MS, --decision-retention-ms (fraud; fraud.h) */
    uint64_t decision_retention_ms;
    /* LEDGER_PAYEE_RETENTION_MS, --payee-retention-ms (fraud; fraud_prune.h) */
    uint64_t payee_retention_ms;
    bool help; /* --help was given */
} node_config_t;

/*  Fills `config` for a node of `kind` from defaults, the environment and
    argv. LEDGER_E_INVALID with a reason in `why` for an unknown flag or a
    bad value. --help sets config->help. */
ledger_err_t node_config_load(node_config_t *config, node_kind_t kind, int argc, char **argv,
                              char *why, size_t why_size);

/* Writes the --help text for `kind` to `out`. */
void node_config_usage(node_kind_t kind, FILE *out);

#endif

/*  fraud_main.c: the fraud node executable (ledger-fraud).
    Loads the rules (demo defaults, then the rules file if given) and wires
    the pure handler of fraud.h and the retention of decisions and known
    payees (fraud_prune.h, --decision-retention-ms, --payee-retention-ms) to
    the node runtime. */
#include <stdio.h>

#include "fraud.h"
#include "fraud_prune.h"
#include "node.h"
#include "node_main.h"

typedef struct {
    fraud_rules_t rules;
    uint64_t decision_retention_ms; /* 0: decisions are kept forever */
    uint64_t payee_retention_ms;    /* 0: known payees are kept forever */
    fraud_payee_walk_t payee_walk;  /* where the walk over payees goes on (loop thread) */
} fraud_app_t;

static ledger_err_t apply(node_ctx_t *ctx, const proto_msg_t *msg, void *app, char *why,
                          size_t why_size)
{
    ledger_err_t err = fraud_apply(ctx, &((fraud_app_t *)app)->rules, msg);
    if (err == LEDGER_E_INVALID)
        snprintf(why, why_size, "fraud does not handle %s", proto_type_name(msg->type));
    return err;
}

/*  Store formats (store_migrate.h): 1 kept risk keys NUL-padded to 64 bytes,
    2 keeps them compact (fraud.h), 3 (issue 20) has floors of seen ids
    (store.h, "seen message ids"; the migration writes nothing, the bump
    makes an older build refuse the dir). A dir without a version is taken
    as 1: the migration rewrites only keys of the first layout, so on a dir
    that has none it changes nothing. */
#define FRAUD_STORE_FORMAT 3

static ledger_err_t detect(store_txn_t *txn, void *arg, uint32_t *version_out)
{
    (void)txn;
    (void)arg;
    *version_out = 1;
    return LEDGER_OK;
}

static ledger_err_t migrate_risk(store_txn_t *txn, void *arg, char *note, size_t note_size)
{
    (void)arg;
    size_t migrated = 0;
    ledger_err_t err = fraud_migrate_risk(txn, &migrated);
    if (err)
        snprintf(note, note_size,
                 "a risk key of the first layout has an impossible size or an empty id");
    else
        snprintf(note, note_size, "risk_keys=%zu", migrated);
    return err;
}

/*  node_app_t.prune: decisions older than their retention, then known payees not approved
    within theirs, from where the last run's walk stopped (fraud_prune.h). */
static ledger_err_t prune(node_ctx_t *ctx, void *app, size_t max, size_t *pruned_out)
{
    fraud_app_t *self = app;
    size_t decisions = 0, payees = 0;
    ledger_err_t err = LEDGER_OK;
    if (self->decision_retention_ms && ctx->now_ms > self->decision_retention_ms)
        err = fraud_prune_decisions(ctx->txn, ctx->now_ms - self->decision_retention_ms, max,
                                    &decisions);
    if (!err && decisions < max && self->payee_retention_ms &&
        ctx->now_ms > self->payee_retention_ms)
        err =
            fraud_prune_payees(ctx->txn, ctx->now_ms - self->payee_retention_ms, &self->payee_walk,
                               max - decisions, max * FRAUD_PAYEE_SCAN_FACTOR, &payees);
    *pruned_out = err ? 0 : decisions + payees;
    return err;
}

static const store_migrate_step_t steps[] = {
    {.to_version = 2, .name = "compact_risk_keys", .run = migrate_risk},
    {.to_version = 3, .name = "seen_floors", .run = store_seen_migrate_floors},
};
static const store_migrate_plan_t plan = {.node = "fraud",
                                          .version = FRAUD_STORE_FORMAT,
                                          .steps = steps,
                                          .step_count = 2,
                                          .detect = detect};

int main(int argc, char **argv)
{
    node_config_t config;
    int code = node_main_setup(&config, NODE_KIND_FRAUD, argc, argv);
    if (code >= 0)
        return code;
    static fraud_app_t fraud;
    fraud_rules_defaults(&fraud.rules);
    fraud.decision_retention_ms = config.decision_retention_ms;
    fraud.payee_retention_ms = config.payee_retention_ms;
    if (config.fraud_rules[0]) {
        char why[256] = "";
        if (fraud_rules_load_file(&fraud.rules, config.fraud_rules, why, sizeof why) != LEDGER_OK) {
            fprintf(stderr, "%s: %s: %s\n", argv[0], config.fraud_rules, why);
            return 2;
        }
    }
    node_app_t app = {.apply = apply, .prune = prune, .app = &fraud, .migrate = &plan};
    app.peers[0] = (relay_peer_t){NODE_PEER_ACCOUNTS, config.accounts};
    app.peers[1] = (relay_peer_t){NODE_PEER_GATEWAY, config.gateway};
    app.peer_count = 2;
    return node_main_run(&config, &app, NULL);
}

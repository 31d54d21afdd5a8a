/*  fraud_main.c: the fraud node executable (ledger-fraud).
    Loads the rules (demo defaults, then the rules file if given) and wires
    the pure handler of fraud.h to the node runtime. */
#include <stdio.h>

#include "fraud.h"
#include "node.h"
#include "node_log.h"
#include "node_main.h"

static ledger_err_t apply(node_ctx_t *ctx, const proto_msg_t *msg, void *app, char *why,
                          size_t why_size)
{
    ledger_err_t err = fraud_apply(ctx, app, msg);
    if (err == LEDGER_E_INVALID)
        snprintf(why, why_size, "fraud does not handle %s", proto_type_name(msg->type));
    return err;
}

/* At start: risk keys of the first layout are rewritten in the compact one. */
static ledger_err_t on_start(node_ctx_t *ctx, void *app)
{
    (void)app;
    size_t migrated = 0;
    ledger_err_t err = fraud_migrate_risk(ctx->txn, &migrated);
    if (!err && migrated)
        node_log_write(NODE_LOG_INFO, "event=risk_keys_migrated count=%zu", migrated);
    if (err)
        node_log_write(
            NODE_LOG_ERROR,
            "event=risk_migration_failed error=%s detail=\"a risk key of the first layout "
            "has an impossible size or an empty id; nothing was changed\"",
            ledger_err_name(err));
    return err;
}

int main(int argc, char **argv)
{
    node_config_t config;
    int code = node_main_setup(&config, NODE_KIND_FRAUD, argc, argv);
    if (code >= 0)
        return code;
    static fraud_rules_t rules;
    fraud_rules_defaults(&rules);
    if (config.fraud_rules[0]) {
        char why[256] = "";
        if (fraud_rules_load_file(&rules, config.fraud_rules, why, sizeof why) != LEDGER_OK) {
            fprintf(stderr, "%s: %s: %s\n", argv[0], config.fraud_rules, why);
            return 2;
        }
    }
    node_app_t app = {.apply = apply, .on_start = on_start, .app = &rules};
    app.peers[0] = (relay_peer_t){NODE_PEER_ACCOUNTS, config.accounts};
    app.peers[1] = (relay_peer_t){NODE_PEER_GATEWAY, config.gateway};
    app.peer_count = 2;
    return node_main_run(&config, &app, NULL);
}

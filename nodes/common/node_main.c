/* node_main.c: start-up and shutdown shared by the node executables. */
#include "node_main.h"

#include <stdio.h>
#include <stdlib.h>

#include "node_log.h"

int node_main_setup(node_config_t *config, node_kind_t kind, int argc, char **argv)
{
    char why[256] = "";
    if (node_config_load(config, kind, argc, argv, why, sizeof why) != LEDGER_OK) {
        fprintf(stderr, "%s: %s\n", argv[0], why);
        return 2;
    }
    if (config->help) {
        node_config_usage(kind, stdout);
        return 0;
    }
    node_log_init(config->name, (node_log_level_t)config->log_level);
    return -1;
}

int node_main_run(const node_config_t *config, const node_app_t *app,
                  const node_main_hooks_t *hooks)
{
    node_main_hooks_t none = {0};
    if (!hooks)
        hooks = &none;
    node_t *node = NULL;
    if (node_new(config, app, &node) != LEDGER_OK)
        return 1;
    admin_http_config_t ac = {
        .host = config->admin_host,
        .port = config->admin_port,
        .token = getenv("LEDGER_ADMIN_TOKEN"),
        .node = node,
        .stale_outbox_ms = config->health_stale_ms,
        .route_path = hooks->admin_route_path,
        .route = hooks->admin_route,
        .route_arg = hooks->admin_route_arg,
        .node_metrics = hooks->node_metrics,
        .node_metrics_arg = hooks->node_metrics_arg,
    };
    admin_http_t *admin = NULL;
    if (admin_http_start(&ac, &admin) != LEDGER_OK) {
        node_destroy(&node);
        return 1;
    }
    int code = hooks->before_run ? hooks->before_run(node, hooks->arg) : 0;
    if (code == 0) {
        code = node_run(node) == LEDGER_OK ? 0 : 1;
        if (hooks->after_run)
            hooks->after_run(node, hooks->arg);
    }
    admin_http_destroy(&admin);
    node_destroy(&node);
    node_log_write(NODE_LOG_INFO, "event=stopped code=%d", code);
    return code;
}

/* node_main.c: start-up and shutdown shared by the node executables. */
#include "node_main.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>

#include "node_log.h"

#define NODE_MAIN_WHY_BYTES 256 /* the reason a bad option is refused */

int node_main_setup(node_config_t *config, node_kind_t kind, int argc, char **argv)
{
    assert(config && argv);
    char why[NODE_MAIN_WHY_BYTES] = "";
    if (node_config_load(config, kind, argc, argv, why, sizeof why) != LEDGER_OK) {
        fprintf(stderr, "%s: %s\n", argv[0], why);
        return NODE_MAIN_EXIT_USAGE;
    }
    if (config->help) {
        node_config_usage(kind, stdout);
        return NODE_MAIN_EXIT_OK;
    }
    node_log_init(config->name, (node_log_level_t)config->log_level);
    return NODE_MAIN_GO_ON;
}

int node_main_run(const node_config_t *config, const node_app_t *app,
                  const node_main_hooks_t *hooks)
{
    assert(config && app);
    node_main_hooks_t none = {0};
    if (!hooks)
        hooks = &none;
    node_t *node = NULL;
    if (node_new(config, app, &node) != LEDGER_OK)
        return NODE_MAIN_EXIT_FAILURE;
    admin_http_config_t ac = {
        .host = config->admin_host,
        .port = config->admin_port,
        .token = getenv("LEDGER_ADMIN_TOKEN"),
        .node = node,
        .stale_outbox_ms = config->health_stale_ms,
        .route_path = hooks->admin_route_path,
        .route = hooks->admin_route,
        .route_arg = hooks->admin_route_arg,
        .routes = hooks->admin_routes,
        .route_count = hooks->admin_route_count,
        .routes_arg = hooks->admin_routes_arg,
        .node_metrics = hooks->node_metrics,
        .node_metrics_arg = hooks->node_metrics_arg,
    };
    admin_http_t *admin = NULL;
    if (admin_http_start(&ac, &admin) != LEDGER_OK) {
        node_destroy(&node);
        return NODE_MAIN_EXIT_FAILURE;
    }
    int code = hooks->before_run ? hooks->before_run(node, hooks->arg) : NODE_MAIN_EXIT_OK;
    if (code == NODE_MAIN_EXIT_OK) {
        code = node_run(node) == LEDGER_OK ? NODE_MAIN_EXIT_OK : NODE_MAIN_EXIT_FAILURE;
        if (hooks->after_run)
            hooks->after_run(node, hooks->arg);
    }
    admin_http_destroy(&admin);
    node_destroy(&node);
    node_log_write(NODE_LOG_INFO, "event=stopped code=%d", code);
    return code;
}

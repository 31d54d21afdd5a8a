/*  node_main.h: the start-up and shutdown every node's main() shares.

    node_main_setup loads the config (printing --help or the error) and sets
    up logging. node_main_run creates the node, starts its admin HTTP server
    (token from LEDGER_ADMIN_TOKEN), calls the node's own start hook (the
    gateway starts its public HTTP server there), runs the loop until
    SIGTERM/SIGINT, and tears everything down in reverse order.
*/
#ifndef LEDGER_NODE_MAIN_H
#define LEDGER_NODE_MAIN_H

#include "admin_http.h"
#include "node.h"
#include "node_config.h"

typedef struct {
    const char *admin_route_path; /* extra admin GET route, or NULL */
    admin_route_fn admin_route;
    void *admin_route_arg;
    /* Called after the node is up and before the loop runs; non-zero: exit with it. */
    int (*before_run)(node_t *node, void *arg);
    /* Called after the loop stops, before the node is destroyed. */
    void (*after_run)(node_t *node, void *arg);
    /* The node's own metrics, appended to /metrics (admin_metrics.h; called on
       the admin server's thread with node_metrics_arg), or NULL. */
    admin_metrics_fn node_metrics;
    void *node_metrics_arg;
    void *arg;
} node_main_hooks_t;

/* Returns an exit code to use now (0 after --help, 2 for a bad option) or -1 to go on. */
int node_main_setup(node_config_t *config, node_kind_t kind, int argc, char **argv);

/* Runs the node to the end; returns the process exit code. `hooks` may be NULL. */
int node_main_run(const node_config_t *config, const node_app_t *app,
                  const node_main_hooks_t *hooks);

#endif

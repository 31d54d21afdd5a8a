/*  node_main.h: the start-up and shutdown every node's main() shares.

    node_main_setup loads the config (printing --help or the error) and sets
    up logging. node_main_run decides the admin token (LEDGER_ADMIN_TOKEN, or
    the file named by LEDGER_ADMIN_TOKEN_FILE, e.g. a compose secret; not
    both) and refuses to start (NODE_MAIN_EXIT_USAGE, event=admin_refused)
    when the admin host is not loopback (net_addr.h) and there is no token,
    opens the node's keys (node_keys.h; a refused key directory, key file or
    allow-list: NODE_MAIN_EXIT_USAGE, event=keys_refused, before the store
    opens), then creates the node, starts its admin HTTP server, calls the node's own start hook
   (the gateway starts its public HTTP server there), runs the loop until SIGTERM/SIGINT, and tears
   everything down in reverse order.

    What it owns: the node and its admin server, for the length of
    node_main_run. The hooks and their argument are the caller's.

    How to call it: from main: code = node_main_setup(...); if code !=
    NODE_MAIN_GO_ON return code; ...; return node_main_run(...).

    Errors: exit codes (NODE_MAIN_EXIT_*), with the reason printed
    (setup) or logged (run).

    Thread: main's thread; the hooks run on it too (node_metrics on the
    admin server's thread).
*/
#ifndef LEDGER_NODE_MAIN_H
#define LEDGER_NODE_MAIN_H

#include "admin_http.h"
#include "node.h"
#include "node_config.h"

/* Exit codes of the node executables. */
#define NODE_MAIN_EXIT_OK 0      /* stopped on request, or --help */
#define NODE_MAIN_EXIT_FAILURE 1 /* could not start, or the loop failed */
#define NODE_MAIN_EXIT_USAGE 2   /* a bad option or value */
/* Returned by node_main_setup when the caller should go on. */
#define NODE_MAIN_GO_ON (-1)

typedef struct {
    const char *admin_route_path; /* extra admin GET route, or NULL */
    admin_route_fn admin_route;
    void *admin_route_arg;
    const admin_route_t
        *admin_routes; /* the node's table of admin routes (admin_http.h), or NULL */
    size_t admin_route_count;
    void *admin_routes_arg;
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

/*  Returns an exit code to use now (NODE_MAIN_EXIT_OK after --help,
    NODE_MAIN_EXIT_USAGE for a bad option) or NODE_MAIN_GO_ON. */
int node_main_setup(node_config_t *config, node_kind_t kind, int argc, char **argv);

/* Runs the node to the end; returns the process exit code. `hooks` may be NULL. */
int node_main_run(const node_config_t *config, const node_app_t *app,
                  const node_main_hooks_t *hooks);

#endif

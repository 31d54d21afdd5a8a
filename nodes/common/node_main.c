/* node_main.c: start-up and shutdown shared by the node executables. */
#include "node_main.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_addr.h"
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

/*  The first line of the file at `path` (without its line end) into token; "" and a reason in
    why when it cannot be read, is empty, is longer than ADMIN_TOKEN_MAX or holds a control
    character. */
static bool admin_token_read_file(const char *path, char token[ADMIN_TOKEN_MAX + 1], char *why,
                                  size_t why_size)
{
    token[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(why, why_size, "cannot read LEDGER_ADMIN_TOKEN_FILE %s: %s", path,
                 strerror(errno));
        return false;
    }
    char line[ADMIN_TOKEN_MAX + 3]; /* the token, "\r\n" and the NUL */
    bool read = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    size_t n = read ? strcspn(line, "\r\n") : 0;
    if (n == 0 || n > ADMIN_TOKEN_MAX) {
        snprintf(why, why_size, "LEDGER_ADMIN_TOKEN_FILE %s: %s", path,
                 n == 0 ? "no token on its first line" : "the token is over 255 bytes");
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)line[i] < 0x21 || line[i] == 0x7f) {
            snprintf(why, why_size, "LEDGER_ADMIN_TOKEN_FILE %s: a space or control character",
                     path);
            return false;
        }
    }
    memcpy(token, line, n);
    token[n] = '\0';
    return true;
}

/*  The admin token into token ("" for none): LEDGER_ADMIN_TOKEN, or LEDGER_ADMIN_TOKEN_FILE (a
    file holding it, e.g. a compose secret); not both. A non-loopback admin host without a token
    is refused: the admin port mints API keys and replays messages. false: refused, why set. */
static bool admin_token_decide(const node_config_t *config, char token[ADMIN_TOKEN_MAX + 1],
                               char *why, size_t why_size)
{
    const char *given = getenv("LEDGER_ADMIN_TOKEN");
    const char *file = getenv("LEDGER_ADMIN_TOKEN_FILE");
    token[0] = '\0';
    if (given && given[0] && file && file[0]) {
        snprintf(why, why_size, "set LEDGER_ADMIN_TOKEN or LEDGER_ADMIN_TOKEN_FILE, not both");
        return false;
    }
    if (file && file[0] && !admin_token_read_file(file, token, why, why_size))
        return false;
    if (given && given[0]) {
        if (strlen(given) > ADMIN_TOKEN_MAX) {
            snprintf(why, why_size, "LEDGER_ADMIN_TOKEN is over %d bytes", ADMIN_TOKEN_MAX);
            return false;
        }
        memcpy(token, given, strlen(given) + 1);
    }
    if (!token[0] && !net_addr_is_loopback(config->admin_host)) {
        snprintf(why, why_size,
                 "the admin host %s is not loopback and no admin token is set: set "
                 "LEDGER_ADMIN_TOKEN (or LEDGER_ADMIN_TOKEN_FILE), or keep --admin-host on "
                 "127.0.0.1",
                 config->admin_host);
        return false;
    }
    return true;
}

int node_main_run(const node_config_t *config, const node_app_t *app,
                  const node_main_hooks_t *hooks)
{
    assert(config && app);
    node_main_hooks_t none = {0};
    if (!hooks)
        hooks = &none;
    char token[ADMIN_TOKEN_MAX + 1];
    char why[NODE_MAIN_WHY_BYTES];
    if (!admin_token_decide(config, token, why, sizeof why)) {
        node_log_write(NODE_LOG_ERROR, "event=admin_refused reason=\"%s\"", why);
        return NODE_MAIN_EXIT_USAGE;
    }
    /* The keys first (logged as keys_refused): a bad key is the operator's to fix, like a flag. */
    node_keys_t *keys = NULL;
    if (node_keys_open(config, app->peers, app->peer_count, &keys) != LEDGER_OK)
        return NODE_MAIN_EXIT_USAGE;
    node_t *node = NULL;
    if (node_new_keyed(config, app, &keys, &node) != LEDGER_OK)
        return NODE_MAIN_EXIT_FAILURE;
    admin_http_config_t ac = {
        .host = config->admin_host,
        .port = config->admin_port,
        .token = token,
        .node = node,
        .stale_outbox_ms = config->health_stale_ms,
        .head_timeout_ms = config->http_head_timeout_ms,
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

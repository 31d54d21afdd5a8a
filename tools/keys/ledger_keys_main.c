/*  ledger_keys_main.c: ledger-keys, the operator's tool for the mesh's CURVE
    keys (layout in curve/curve_keys.h): create them with their allow-lists,
    let a key connect to a node or stop it, list them, and run the checks a
    node makes on its keys at start.

    Exit codes: 0 ok, 1 a check or an operation failed (the reason is on
    stderr), 2 usage. The keys dir is --dir, else $LEDGER_KEYS_DIR, else
    ./data/keys.
*/
#define _GNU_SOURCE /* scandir, alphasort */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "curve_allow.h"
#include "curve_keys.h"

#define KEYS_EXIT_OK 0
#define KEYS_EXIT_FAILED 1
#define KEYS_EXIT_USAGE 2
#define KEYS_NODES_MAX 16  /* --to and --node values of one command */
#define KEYS_WHY_BYTES 512 /* a reason printed to the operator */

static const char *const CORE_NODES[] = {"gateway", "accounts", "fraud"};
#define CORE_NODE_COUNT (sizeof CORE_NODES / sizeof CORE_NODES[0])

typedef struct {
    const char *command;
    const char *dir;
    const char *name;
    const char *nodes[KEYS_NODES_MAX];
    size_t node_count;
    bool if_missing;
} keys_options_t;

static const char *const USAGE =
    "usage: ledger-keys <command> [--dir D] [options]\n"
    "\n"
    "commands:\n"
    "  init [--if-missing]        create the mesh's key pairs (gateway, accounts, fraud,\n"
    "                             harness) and allow-lists in D; with --if-missing an\n"
    "                             existing D is kept as it is\n"
    "  allow NAME --to NODE...    let key NAME connect to NODE (applies to new connections)\n"
    "  deny NAME --to NODE...     stop accepting key NAME at NODE\n"
    "  list                       every key: role, public key, where it is allowed\n"
    "  check [--node NAME]        the checks a node makes on its keys at start (default:\n"
    "                             gateway, accounts and fraud)\n"
    "\n"
    "D: --dir, else $LEDGER_KEYS_DIR, else ./data/keys. Layout: D/<name>.key (secret, 0600),\n"
    "D/public/<name>.pub, D/allow/<node>/<peer>.pub (the keys <node> accepts).\n"
    "Exit codes: 0 ok, 1 failed, 2 usage.\n";

static int usage_error(const char *what)
{
    fprintf(stderr, "ledger-keys: %s\n\n%s", what, USAGE);
    return KEYS_EXIT_USAGE;
}

static bool add_node(keys_options_t *opt, const char *node)
{
    if (opt->node_count == KEYS_NODES_MAX || !curve_keys_name_valid(node))
        return false;
    opt->nodes[opt->node_count++] = node;
    return true;
}

/* Parses argv into opt; returns -1 if fine, else the exit code (usage, or 0 for --help). */
static int parse_args(int argc, char **argv, keys_options_t *opt)
{
    if (argc < 2)
        return usage_error("a command is required");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return fputs(USAGE, stdout), KEYS_EXIT_OK;
    opt->command = argv[1];
    const char *env_dir = getenv("LEDGER_KEYS_DIR");
    opt->dir = env_dir != NULL && env_dir[0] != '\0' ? env_dir : CURVE_KEYS_DEFAULT_DIR;
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
            return fputs(USAGE, stdout), KEYS_EXIT_OK;
        if (strcmp(arg, "--if-missing") == 0) {
            opt->if_missing = true;
        } else if (strcmp(arg, "--dir") == 0 && i + 1 < argc && argv[i + 1][0] != '\0') {
            opt->dir = argv[++i];
        } else if ((strcmp(arg, "--to") == 0 || strcmp(arg, "--node") == 0) && i + 1 < argc) {
            /* --to takes one or more node names, up to the next option */
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
                if (!add_node(opt, argv[++i]))
                    return usage_error("a node name is 1..31 characters of [a-z0-9_-]");
        } else if (arg[0] != '-' && opt->name == NULL) {
            opt->name = arg;
        } else {
            fprintf(stderr, "ledger-keys: unknown or incomplete argument: %s\n", arg);
            return usage_error("see the usage");
        }
    }
    return -1;
}

static int cmd_init(const keys_options_t *opt)
{
    char why[KEYS_WHY_BYTES];
    curve_keys_outcome_t outcome;
    ledger_err_t err = curve_keys_create_mesh(opt->dir, &CURVE_KEYS_MESH_PLAN, !opt->if_missing,
                                              &outcome, why, sizeof why);
    if (err == LEDGER_E_EXISTS) {
        fprintf(stderr, "ledger-keys: %s; nothing changed (--if-missing keeps it silently)\n", why);
        return KEYS_EXIT_FAILED;
    }
    if (err != LEDGER_OK) {
        fprintf(stderr, "ledger-keys: cannot create keys: %s\n", why);
        return KEYS_EXIT_FAILED;
    }
    if (outcome == CURVE_KEYS_FOUND) {
        printf("keys already in %s: nothing changed\n", opt->dir);
        return KEYS_EXIT_OK;
    }
    printf("created keys in %s: gateway, accounts, fraud, harness\n"
           "allow-lists: gateway <- accounts, fraud; accounts <- gateway, fraud; fraud <- "
           "accounts\n"
           "the harness key is allowed nowhere: ledger-keys allow harness --to NODE...\n",
           opt->dir);
    return KEYS_EXIT_OK;
}

static int cmd_allow_deny(const keys_options_t *opt, bool allow)
{
    if (opt->name == NULL || !curve_keys_name_valid(opt->name) || opt->node_count == 0)
        return usage_error(allow ? "allow NAME --to NODE..." : "deny NAME --to NODE...");
    int rc = KEYS_EXIT_OK;
    for (size_t i = 0; i < opt->node_count; i++) {
        char why[KEYS_WHY_BYTES];
        ledger_err_t err =
            allow ? curve_keys_allow(opt->dir, opt->name, opt->nodes[i], why, sizeof why)
                  : curve_keys_deny(opt->dir, opt->name, opt->nodes[i], why, sizeof why);
        if (err != LEDGER_OK) {
            fprintf(stderr, "ledger-keys: %s\n", why);
            rc = KEYS_EXIT_FAILED;
            continue;
        }
        printf("%s %s %s (new connections; connected peers stay until they reconnect)\n",
               opt->nodes[i], allow ? "accepts" : "no longer accepts", opt->name);
    }
    return rc;
}

/* Names of the .pub files (or subdirectories) under <dir>/<sub>, sorted; the caller frees. */
static int scan_names(const char *dir, const char *sub, bool dirs, struct dirent ***list)
{
    char path[CURVE_KEYS_PATH_MAX];
    if (curve_keys_path(path, sizeof path, dir, sub, NULL, NULL) != LEDGER_OK)
        return -1;
    int n = scandir(path, list, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        const char *name = (*list)[i]->d_name;
        size_t len = strlen(name);
        bool pub = len > 4 && strcmp(name + len - 4, CURVE_KEYS_PUBLIC_SUFFIX) == 0;
        if (name[0] == '.' || (dirs ? (*list)[i]->d_type != DT_DIR : !pub))
            (*list)[i]->d_name[0] = '\0'; /* not one of ours: skipped by callers */
        else if (!dirs)
            (*list)[i]->d_name[len - 4] = '\0';
    }
    return n;
}

static void free_names(struct dirent **list, int n)
{
    for (int i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

/* Prints the nodes whose allow-list holds name's key, comma-separated. */
static void print_allowed_at(const char *dir, const char *name, struct dirent **nodes, int n)
{
    bool any = false;
    for (int i = 0; i < n; i++) {
        char node_dir[CURVE_KEYS_PATH_MAX], path[CURVE_KEYS_PATH_MAX];
        struct stat st;
        if (nodes[i]->d_name[0] == '\0' ||
            curve_keys_path(node_dir, sizeof node_dir, dir, CURVE_KEYS_ALLOW_DIR, nodes[i]->d_name,
                            NULL) != LEDGER_OK ||
            curve_keys_path(path, sizeof path, node_dir, name, NULL, CURVE_KEYS_PUBLIC_SUFFIX) !=
                LEDGER_OK ||
            stat(path, &st) != 0)
            continue;
        printf("%s%s", any ? "," : "", nodes[i]->d_name);
        any = true;
    }
    printf("%s\n", any ? "" : "(nowhere)");
}

static int cmd_list(const keys_options_t *opt)
{
    struct dirent **keys = NULL, **nodes = NULL;
    int key_count = scan_names(opt->dir, CURVE_KEYS_PUBLIC_DIR, false, &keys);
    if (key_count < 0) {
        fprintf(stderr, "ledger-keys: no keys in %s (make them with: ledger-keys init --dir %s)\n",
                opt->dir, opt->dir);
        return KEYS_EXIT_FAILED;
    }
    int node_count = scan_names(opt->dir, CURVE_KEYS_ALLOW_DIR, true, &nodes);
    int rc = KEYS_EXIT_OK;
    for (int i = 0; i < key_count; i++) {
        const char *name = keys[i]->d_name;
        char z85[CURVE_KEYS_Z85_BYTES], role[CURVE_KEYS_NAME_MAX + 1], why[KEYS_WHY_BYTES];
        if (name[0] == '\0')
            continue;
        if (curve_keys_load_public(opt->dir, name, z85, role, why, sizeof why) != LEDGER_OK) {
            fprintf(stderr, "ledger-keys: %s\n", why);
            rc = KEYS_EXIT_FAILED;
            continue;
        }
        printf("%-10s role=%-8s key=%s allowed-at=", name, role, z85);
        print_allowed_at(opt->dir, name, nodes, node_count < 0 ? 0 : node_count);
    }
    free_names(keys, key_count);
    if (node_count >= 0)
        free_names(nodes, node_count);
    return rc;
}

/* The start checks of one node: its own key, and its allow-list if it has one. */
static bool check_node(const char *dir, const char *node, bool needs_allow)
{
    char why[KEYS_WHY_BYTES], allow_dir[CURVE_KEYS_PATH_MAX];
    zcert_t *cert = NULL;
    if (curve_keys_load_own(dir, NULL, node, &cert, why, sizeof why) != LEDGER_OK) {
        printf("FAIL %s: %s\n", node, why);
        return false;
    }
    zcert_destroy(&cert);
    struct stat st;
    curve_keys_path(allow_dir, sizeof allow_dir, dir, CURVE_KEYS_ALLOW_DIR, node, NULL);
    if (!needs_allow && stat(allow_dir, &st) != 0) {
        printf("ok   %s: key mode 0600, matches public/%s.pub (not a server: no allow-list)\n",
               node, node);
        return true;
    }
    curve_allow_t *allow = NULL;
    if (curve_allow_new(allow_dir, &allow, why, sizeof why) != LEDGER_OK) {
        printf("FAIL %s: %s\n", node, why);
        return false;
    }
    printf("ok   %s: key mode 0600, matches public/%s.pub; accepts:", node, node);
    for (size_t i = 0; i < curve_allow_count(allow); i++)
        printf("%s%s", i == 0 ? " " : ", ", curve_allow_at(allow, i)->name);
    printf("%s\n", curve_allow_count(allow) == 0 ? " nobody" : "");
    curve_allow_destroy(&allow);
    return true;
}

/* Stray temp dirs of an interrupted creation beside the keys dir. */
static bool check_strays(const char *dir)
{
    char parent[CURVE_KEYS_PATH_MAX];
    const char *slash = strrchr(dir, '/');
    int len = slash == NULL ? 1 : slash == dir ? 1 : (int)(slash - dir);
    snprintf(parent, sizeof parent, "%.*s", len, slash == NULL ? "." : dir);
    DIR *d = opendir(parent);
    bool ok = true;
    for (struct dirent *ent; d != NULL && (ent = readdir(d)) != NULL;)
        if (strncmp(ent->d_name, CURVE_KEYS_TEMP_PREFIX, strlen(CURVE_KEYS_TEMP_PREFIX)) == 0) {
            printf("FAIL %s/%s: left by an interrupted key creation; remove it\n", parent,
                   ent->d_name);
            ok = false;
        }
    if (d != NULL)
        closedir(d);
    return ok;
}

static int cmd_check(const keys_options_t *opt)
{
    bool ok = true;
    struct stat st;
    if (stat(opt->dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        printf("FAIL %s: no keys dir (make it with: ledger-keys init --dir %s)\n", opt->dir,
               opt->dir);
        return KEYS_EXIT_FAILED;
    }
    if ((st.st_mode & 077) != 0) {
        printf("FAIL %s: mode %04o, the keys dir must be 0700: chmod 700 %s\n", opt->dir,
               (unsigned)(st.st_mode & 07777), opt->dir);
        ok = false;
    }
    if (opt->node_count > 0) {
        for (size_t i = 0; i < opt->node_count; i++) {
            bool core = false;
            for (size_t c = 0; c < CORE_NODE_COUNT; c++)
                core = core || strcmp(opt->nodes[i], CORE_NODES[c]) == 0;
            ok = check_node(opt->dir, opt->nodes[i], core) && ok;
        }
    } else {
        for (size_t c = 0; c < CORE_NODE_COUNT; c++)
            ok = check_node(opt->dir, CORE_NODES[c], true) && ok;
    }
    ok = check_strays(opt->dir) && ok;
    return ok ? KEYS_EXIT_OK : KEYS_EXIT_FAILED;
}

int main(int argc, char **argv)
{
    keys_options_t opt = {0};
    int rc = parse_args(argc, argv, &opt);
    if (rc >= 0)
        return rc;
    if (strcmp(opt.command, "init") == 0)
        return cmd_init(&opt);
    if (strcmp(opt.command, "allow") == 0 || strcmp(opt.command, "deny") == 0)
        return cmd_allow_deny(&opt, strcmp(opt.command, "allow") == 0);
    if (strcmp(opt.command, "list") == 0)
        return cmd_list(&opt);
    if (strcmp(opt.command, "check") == 0)
        return cmd_check(&opt);
    return usage_error("unknown command");
}

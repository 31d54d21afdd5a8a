/*  ledger_backup_main.c: ledger-backup, the operator's tool for backups of
    the nodes' LMDB environments (a new tool rather than a verb of
    ledger-keys: it links the store and every node's record library, which
    the keys tool has no business with).

      create   a hot, consistent, compacted copy of each node's environment
               while it serves (store_copy_compact: LMDB's mdb_env_copy2 from
               a read-only open in this process), verified (backup_manifest.h)
               and described in manifest.json; --all does the three nodes
      verify   checks a backup again: its data file against the manifest's
               sha256, and the same checks as create
      restore  puts a backup back into a node's (stopped) data directory and
               raises its message seq past what its peers have seen, in
               `seen` or below their floor (backup_restore.h): every peer's
               data directory, named (--peer-data NAME=DIR for both other
               nodes; a partial list is refused, exit 2), or none and
               --msg-seq-at-least N; staged inside the data directory and
               linked into place only when raised and fsynced, so a crash
               never leaves a startable store with the backup's seq

    Exit codes: 0 ok, 1 a node's backup, check or restore failed (the others
    are still done; the reason is on stderr), 2 usage (restore: also a
    --peer-data list that is not every peer of the node).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup_cmd.h"

static const char *const USAGE =
    "usage: ledger-backup create (--all --data-root DIR | --node NAME --data DIR) --out DIR\n"
    "       ledger-backup verify --dir BACKUP/NODE\n"
    "       ledger-backup restore --from BACKUP/NODE --data DIR --node NAME\n"
    "                             (--peer-data PEER=DIR --peer-data PEER=DIR\n"
    "                              | --msg-seq-at-least N)\n"
    "\n"
    "create   copies each node's environment while it runs (consistent, compacted),\n"
    "         verifies the copy (ledger chain, every record decodes) and writes\n"
    "         OUT/NODE/data.mdb and OUT/NODE/manifest.json; --all: gateway, accounts,\n"
    "         fraud under --data-root. OUT/NODE must not exist yet.\n"
    "verify   checks a backup against its manifest (sha256) and re-runs the checks.\n"
    "restore  the node must be stopped and DIR/data.mdb moved aside: copies the backup\n"
    "         in and raises the node's message seq past the highest its peers have seen\n"
    "         or pruned, so it never reuses an id. --peer-data: each peer's name and data\n"
    "         directory (read-only), BOTH other nodes (accounts: gateway= and fraud=;\n"
    "         gateway: accounts= and fraud=; fraud: accounts= and gateway=); or, when\n"
    "         they cannot be read, --msg-seq-at-least N alone. NAME: gateway, accounts\n"
    "         or fraud.\n"
    "Exit codes: 0 ok, 1 failed (reason on stderr), 2 usage.\n";

static int usage_error(const char *what)
{
    fprintf(stderr, "ledger-backup: %s\n\n%s", what, USAGE);
    return BACKUP_EXIT_USAGE;
}

static bool parse_u64(const char *text, uint64_t *out)
{
    if (!text || !*text || strspn(text, "0123456789") != strlen(text) || strlen(text) > 19)
        return false;
    *out = strtoull(text, NULL, 10);
    return true;
}

/* --peer-data NAME=DIR: the peer's name and data directory. */
static bool parse_peer(backup_options_t *opt, const char *val)
{
    const char *eq = strchr(val, '=');
    size_t len = eq ? (size_t)(eq - val) : 0;
    if (!eq || len == 0 || len > BACKUP_PEER_NAME_MAX || !eq[1] ||
        opt->peer_count >= BACKUP_RESTORE_PEERS_MAX)
        return false;
    memcpy(opt->peer_names[opt->peer_count], val, len);
    opt->peer_names[opt->peer_count][len] = '\0';
    opt->peers[opt->peer_count++] = eq + 1;
    return true;
}

/* One option and its value into opt; false if unknown or bad. */
static bool parse_option(backup_options_t *opt, const char *arg, const char *val)
{
    if (!strcmp(arg, "--data-root"))
        opt->data_root = val;
    else if (!strcmp(arg, "--data"))
        opt->data = val;
    else if (!strcmp(arg, "--node"))
        opt->node = val;
    else if (!strcmp(arg, "--out"))
        opt->out = val;
    else if (!strcmp(arg, "--dir") || !strcmp(arg, "--from"))
        opt->from = val;
    else if (!strcmp(arg, "--msg-seq-at-least"))
        return parse_u64(val, &opt->msg_seq_at_least) && opt->msg_seq_at_least > 0;
    else if (!strcmp(arg, "--peer-data"))
        return parse_peer(opt, val);
    else
        return false;
    return true;
}

/* Returns -1 when the options are complete, else the exit code. */
static int parse_args(int argc, char **argv, backup_options_t *opt)
{
    if (argc < 2)
        return usage_error("a command is required");
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
        return fputs(USAGE, stdout), BACKUP_EXIT_OK;
    opt->command = argv[1];
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--all")) {
            opt->all = true;
            continue;
        }
        if (i + 1 >= argc)
            return usage_error("an option lacks its value");
        if (!parse_option(opt, argv[i], argv[i + 1]))
            return usage_error(!strcmp(argv[i], "--peer-data")
                                   ? "--peer-data takes NAME=DIR (e.g. gateway=data/gateway)"
                                   : "bad option");
        i++;
    }
    return -1;
}

int main(int argc, char **argv)
{
    backup_options_t opt;
    memset(&opt, 0, sizeof opt);
    int rc = parse_args(argc, argv, &opt);
    if (rc >= 0)
        return rc;
    backup_cmd_clear_stale_readers(&opt);
    if (!strcmp(opt.command, "create")) {
        if (!opt.out || (opt.all ? !opt.data_root || opt.node : !opt.node || !opt.data))
            return usage_error("create needs --out and either --all --data-root or --node --data");
        return backup_cmd_create(&opt);
    }
    if (!strcmp(opt.command, "verify")) {
        if (!opt.from)
            return usage_error("verify needs --dir");
        return backup_cmd_verify(&opt);
    }
    if (!strcmp(opt.command, "restore")) {
        if (!opt.from || !opt.data || !opt.node || (!opt.peer_count && !opt.msg_seq_at_least))
            return usage_error(
                "restore needs --from, --data, --node and --peer-data or --msg-seq-at-least");
        return backup_cmd_restore(&opt);
    }
    return usage_error("unknown command");
}

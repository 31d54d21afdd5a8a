/*  backup_cmd.c: ledger-backup's commands (backup_cmd.h). */
#include "backup_cmd.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup_file.h"
#include "backup_manifest.h"
#include "clock.h"
#include "store.h"
#include "text.h"

#define CMD_PATH_MAX 4096
#define CMD_WHY_MAX 512
#define CMD_DIR_MODE 0700
#define CMD_LOCK_FILE "lock.mdb"

/* Copies the live environment in `data` into the new directory `dir`. */
static ledger_err_t copy_live(const char *data, const char *dir, char *why, size_t why_size)
{
    if (mkdir(dir, CMD_DIR_MODE) != 0) {
        backup_file_fmt(why, why_size, "cannot create %s: %s", dir, strerror(errno));
        return errno == EEXIST ? LEDGER_E_EXISTS : LEDGER_E_IO;
    }
    store_config_t config = {.read_only = true};
    store_t *store = NULL;
    ledger_err_t err = store_open(data, &config, &store);
    if (err != LEDGER_OK) {
        backup_file_fmt(why, why_size, "cannot open %s: %s", data, store_last_error(NULL));
        return err;
    }
    err = store_copy_compact(store, dir);
    if (err != LEDGER_OK)
        backup_file_fmt(why, why_size, "copy: %s", store_last_error(store));
    store_destroy(&store);
    return err;
}

/* Verifies the copy in `dir` and writes its manifest; *m gets it. */
static ledger_err_t describe(const char *dir, reconcile_node_t node, uint64_t started_ms,
                             backup_manifest_t *m, char *why, size_t why_size)
{
    ledger_err_t err =
        backup_manifest_verify(dir, node, reconcile_node_name(node), m, why, why_size);
    char path[CMD_PATH_MAX];
    /* The read-only open made a lock file: it is no part of the backup. */
    backup_file_fmt(path, sizeof path, "%s/%s", dir, CMD_LOCK_FILE);
    unlink(path);
    if (err != LEDGER_OK)
        return err;
    m->created_ms = started_ms;
    backup_file_fmt(path, sizeof path, "%s/%s", dir, BACKUP_DATA_FILE);
    err = backup_file_sha256(path, m->sha256, &m->size_bytes, why, why_size);
    if (err != LEDGER_OK)
        return err;
    backup_file_fmt(path, sizeof path, "%s/%s", dir, BACKUP_MANIFEST_FILE);
    err = backup_manifest_write(path, m, why, why_size);
    return err == LEDGER_OK ? backup_file_sync_dir(dir, why, why_size) : err;
}

static void print_done(const char *verb, const backup_manifest_t *m, const char *dir,
                       uint64_t took_ms)
{
    printf("%s %s: ok in %llu ms: %s (%llu bytes, sha256 %.16s...), ledger %llu entries, "
           "%llu transfer records, msg seq %llu, outbox %llu\n",
           verb, m->node, (unsigned long long)took_ms, dir, (unsigned long long)m->size_bytes,
           m->sha256, (unsigned long long)m->ledger_entries,
           (unsigned long long)m->transfer_records, (unsigned long long)m->msg_seq,
           (unsigned long long)m->outbox_depth);
    fflush(stdout);
}

static bool backup_one(const backup_options_t *opt, reconcile_node_t node, const char *data)
{
    char dir[CMD_PATH_MAX], why[CMD_WHY_MAX] = "";
    const char *name = reconcile_node_name(node);
    if (!backup_file_fmt(dir, sizeof dir, "%s/%s", opt->out, name)) {
        fprintf(stderr, "ledger-backup: %s: path too long\n", name);
        return false;
    }
    printf("backup %s: copying %s\n", name, data);
    fflush(stdout);
    uint64_t started_ms = clock_wall_ms(), t0 = clock_mono_ms();
    backup_manifest_t m;
    ledger_err_t err = copy_live(data, dir, why, sizeof why);
    if (err == LEDGER_OK)
        err = describe(dir, node, started_ms, &m, why, sizeof why);
    if (err != LEDGER_OK) {
        fprintf(stderr, "ledger-backup: %s: FAILED (%s): %s\n", name, ledger_err_name(err), why);
        printf("backup %s: FAILED\n", name);
        return false;
    }
    print_done("backup", &m, dir, clock_mono_ms() - t0);
    return true;
}

/*  Clears the reader slots that dead processes left in the live directory `data`
    (store_reader_check): quiet when it cannot be opened (the command says why) or none was
    stale. */
static void clear_readers_of(const char *data)
{
    store_config_t config = {.read_only = true};
    store_t *store = NULL;
    if (!data || store_open(data, &config, &store) != LEDGER_OK)
        return;
    unsigned cleared = 0;
    if (store_reader_check(store, &cleared) != LEDGER_OK)
        fprintf(stderr, "ledger-backup: %s: stale reader check failed: %s\n", data,
                store_last_error(store));
    else if (cleared)
        fprintf(stderr,
                "ledger-backup: %s: cleared %u stale reader slot(s) left by a process killed "
                "inside a read transaction\n",
                data, cleared);
    store_destroy(&store);
}

void backup_cmd_clear_stale_readers(const backup_options_t *opt)
{
    if (!opt->command || !strcmp(opt->command, "verify")) /* a backup, not a live directory */
        return;
    clear_readers_of(opt->data);
    for (int n = 0; opt->all && opt->data_root && n < RECONCILE_NODE__COUNT; n++) {
        char data[CMD_PATH_MAX];
        if (backup_file_fmt(data, sizeof data, "%s/%s", opt->data_root, reconcile_node_name(n)))
            clear_readers_of(data);
    }
    for (size_t i = 0; i < opt->peer_count; i++)
        clear_readers_of(opt->peers[i]);
}

int backup_cmd_create(const backup_options_t *opt)
{
    if (mkdir(opt->out, CMD_DIR_MODE) != 0 && errno != EEXIST) {
        fprintf(stderr, "ledger-backup: cannot create %s: %s\n", opt->out, strerror(errno));
        return BACKUP_EXIT_FAILED;
    }
    if (!opt->all) {
        reconcile_node_t node;
        if (!reconcile_node_from_name(opt->node, &node)) {
            fprintf(stderr, "ledger-backup: --node: gateway, accounts or fraud\n");
            return BACKUP_EXIT_USAGE;
        }
        return backup_one(opt, node, opt->data) ? BACKUP_EXIT_OK : BACKUP_EXIT_FAILED;
    }
    int failed = 0;
    for (int n = 0; n < RECONCILE_NODE__COUNT; n++) {
        char data[CMD_PATH_MAX];
        backup_file_fmt(data, sizeof data, "%s/%s", opt->data_root, reconcile_node_name(n));
        failed += !backup_one(opt, (reconcile_node_t)n, data);
    }
    printf("backup: %d of %d nodes ok\n", RECONCILE_NODE__COUNT - failed, RECONCILE_NODE__COUNT);
    return failed ? BACKUP_EXIT_FAILED : BACKUP_EXIT_OK;
}

int backup_cmd_verify(const backup_options_t *opt)
{
    char path[CMD_PATH_MAX], why[CMD_WHY_MAX] = "", sha[BACKUP_SHA256_HEX_LEN + 1];
    backup_manifest_t want, got;
    reconcile_node_t node;
    uint64_t size = 0, t0 = clock_mono_ms();
    backup_file_fmt(path, sizeof path, "%s/%s", opt->from, BACKUP_MANIFEST_FILE);
    ledger_err_t err = backup_manifest_read(path, &want, why, sizeof why);
    if (err == LEDGER_OK && !reconcile_node_from_name(want.node, &node)) {
        backup_file_fmt(why, sizeof why, "manifest names an unknown node %s", want.node);
        err = LEDGER_E_CORRUPT;
    }
    backup_file_fmt(path, sizeof path, "%s/%s", opt->from, BACKUP_DATA_FILE);
    if (err == LEDGER_OK)
        err = backup_file_sha256(path, sha, &size, why, sizeof why);
    if (err == LEDGER_OK && (strcmp(sha, want.sha256) || size != want.size_bytes)) {
        backup_file_fmt(why, sizeof why, "%s does not match its manifest's sha256 or size", path);
        err = LEDGER_E_CORRUPT;
    }
    if (err == LEDGER_OK)
        err = backup_manifest_verify(opt->from, node, want.node, &got, why, sizeof why);
    backup_file_fmt(path, sizeof path, "%s/%s", opt->from, CMD_LOCK_FILE);
    unlink(path);
    if (err != LEDGER_OK) {
        fprintf(stderr, "ledger-backup: verify %s: FAILED (%s): %s\n", opt->from,
                ledger_err_name(err), why);
        return BACKUP_EXIT_FAILED;
    }
    got.size_bytes = size;
    text_copy(got.sha256, sizeof got.sha256, sha);
    print_done("verify", &got, opt->from, clock_mono_ms() - t0);
    return BACKUP_EXIT_OK;
}

int backup_cmd_restore(const backup_options_t *opt)
{
    reconcile_node_t node;
    if (!reconcile_node_from_name(opt->node, &node)) {
        fprintf(stderr, "ledger-backup: --node: gateway, accounts or fraud\n");
        return BACKUP_EXIT_USAGE;
    }
    backup_restore_options_t ro = {.from_dir = opt->from,
                                   .data_dir = opt->data,
                                   .node = opt->node,
                                   .peer_count = opt->peer_count,
                                   .msg_seq_at_least = opt->msg_seq_at_least};
    for (size_t i = 0; i < opt->peer_count; i++) {
        ro.peer_names[i] = opt->peer_names[i];
        ro.peer_dirs[i] = opt->peers[i];
    }
    backup_restore_result_t res;
    char why[CMD_WHY_MAX] = "";
    if (backup_restore_check_peers(&ro, why, sizeof why) != LEDGER_OK) {
        fprintf(stderr, "ledger-backup: restore %s: %s\n", opt->node, why);
        return BACKUP_EXIT_USAGE;
    }
    ledger_err_t err = backup_restore(&ro, &res, why, sizeof why);
    if (err != LEDGER_OK) {
        fprintf(stderr, "ledger-backup: restore %s: FAILED (%s): %s\n", opt->node,
                ledger_err_name(err), why);
        return BACKUP_EXIT_FAILED;
    }
    printf("restore %s: ok: %s into %s; msg seq %llu in the backup, peers had seen up to %llu, "
           "now %llu (next id %s/%llu)\n",
           opt->node, opt->from, opt->data, (unsigned long long)res.backup_msg_seq,
           (unsigned long long)res.peers_high, (unsigned long long)res.msg_seq, opt->node,
           (unsigned long long)res.msg_seq + 1);
    return BACKUP_EXIT_OK;
}

/*  backup_restore.c: a backup put back, its message ids moved past what the
    peers have seen (backup_restore.h). */
#include "backup_restore.h"

#include <errno.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backup_file.h"
#include "backup_manifest.h"
#include "store.h"

#define RESTORE_PATH_MAX 4096
#define RESTORE_DIR_MODE 0700
#define RESTORE_MSG_SEQUENCE "msg"            /* node_ctx.c's: the seq of the node's message ids */
#define RESTORE_STAGE_NAME "/.restore.XXXXXX" /* mkdtemp template inside the data dir */
#define RESTORE_LOCK_FILE "lock.mdb"
#define RESTORE_PAUSE_MAX_MS 600000u /* the test pause is cut to this */

/* The backup's data file matches its manifest, which is `node`'s. */
static ledger_err_t check_backup(const backup_restore_options_t *o, backup_manifest_t *m, char *why,
                                 size_t why_size)
{
    char path[RESTORE_PATH_MAX];
    backup_file_fmt(path, sizeof path, "%s/%s", o->from_dir, BACKUP_MANIFEST_FILE);
    ledger_err_t err = backup_manifest_read(path, m, why, why_size);
    if (err != LEDGER_OK)
        return err;
    if (strcmp(m->node, o->node) != 0) {
        backup_file_fmt(why, why_size, "the backup is of node %s, not %s", m->node, o->node);
        return LEDGER_E_CORRUPT;
    }
    char sha[BACKUP_SHA256_HEX_LEN + 1];
    uint64_t size;
    backup_file_fmt(path, sizeof path, "%s/%s", o->from_dir, BACKUP_DATA_FILE);
    err = backup_file_sha256(path, sha, &size, why, why_size);
    if (err == LEDGER_OK && (strcmp(sha, m->sha256) != 0 || size != m->size_bytes)) {
        backup_file_fmt(why, why_size, "%s does not match its manifest (sha256 or size)", path);
        err = LEDGER_E_CORRUPT;
    }
    return err;
}

/*  LEDGER_OK unless two peers' directories are one (each peer must be read:
    a directory given under two names hides the one left out). */
static ledger_err_t distinct_dirs(const backup_restore_options_t *o, char *why, size_t why_size)
{
    struct stat a, b;
    for (size_t i = 0; i < o->peer_count; i++) {
        for (size_t j = i + 1; j < o->peer_count; j++) {
            if (stat(o->peer_dirs[i], &a) != 0 || stat(o->peer_dirs[j], &b) != 0 ||
                a.st_dev != b.st_dev || a.st_ino != b.st_ino)
                continue;
            backup_file_fmt(why, why_size, "--peer-data %s and %s are the same directory %s",
                            o->peer_names[i], o->peer_names[j], o->peer_dirs[i]);
            return LEDGER_E_INVALID;
        }
    }
    return LEDGER_OK;
}

ledger_err_t backup_restore_check_peers(const backup_restore_options_t *o, char *why,
                                        size_t why_size)
{
    reconcile_node_t self, peer;
    if (!reconcile_node_from_name(o->node, &self))
        return backup_file_fmt(why, why_size, "--node: gateway, accounts or fraud"),
               LEDGER_E_INVALID;
    if (o->peer_count == 0 && o->msg_seq_at_least > 0)
        return LEDGER_OK;
    bool have[RECONCILE_NODE__COUNT] = {false};
    for (size_t i = 0; i < o->peer_count; i++) {
        if (!reconcile_node_from_name(o->peer_names[i], &peer) || peer == self) {
            backup_file_fmt(why, why_size, "--peer-data %s: not a peer of %s", o->peer_names[i],
                            o->node);
            return LEDGER_E_INVALID;
        }
        if (have[peer]) {
            backup_file_fmt(why, why_size, "--peer-data %s given twice", o->peer_names[i]);
            return LEDGER_E_INVALID;
        }
        have[peer] = true;
    }
    for (int n = 0; n < RECONCILE_NODE__COUNT; n++) {
        if (n == (int)self || have[n])
            continue;
        backup_file_fmt(why, why_size,
                        "--peer-data %s=DIR is missing: %s uses one message seq for all its "
                        "peers, and a peer left out may have seen higher ids than the others; "
                        "give every peer, or none and --msg-seq-at-least N",
                        reconcile_node_name((reconcile_node_t)n), o->node);
        return LEDGER_E_INVALID;
    }
    return distinct_dirs(o, why, why_size);
}

/*  The highest seq of `node` that the peer in `dir` has seen: its highest in
    `seen`, or its floor for `node` if higher (ids pruned by time leave no
    highest, but the peer refuses every id up to the floor). */
static ledger_err_t peer_high(const char *dir, const char *node, uint64_t *high_out, char *why,
                              size_t why_size)
{
    store_config_t config = {.read_only = true};
    store_t *store = NULL;
    ledger_err_t err = store_open(dir, &config, &store);
    if (err != LEDGER_OK) {
        backup_file_fmt(why, why_size, "cannot open peer %s: %s", dir, store_last_error(NULL));
        return err;
    }
    store_txn_t *txn = NULL;
    uint64_t high = 0, floor = 0;
    err = store_txn_begin(store, false, &txn);
    if (err == LEDGER_OK)
        err = store_seen_high(txn, node, &high);
    if (err == LEDGER_OK)
        err = store_seen_floor(txn, node, &floor);
    if (err != LEDGER_OK)
        backup_file_fmt(why, why_size, "peer %s: %s", dir, store_last_error(store));
    store_txn_abort(&txn);
    store_destroy(&store);
    *high_out = high > floor ? high : floor;
    return err;
}

typedef struct {
    uint64_t at_least;
    uint64_t before;
    uint64_t after;
} raise_t;

static ledger_err_t raise_seq(store_txn_t *txn, void *ctx)
{
    raise_t *r = ctx;
    ledger_err_t err = store_seq_peek(txn, RESTORE_MSG_SEQUENCE, &r->before);
    return err != LEDGER_OK ? err
                            : store_seq_raise(txn, RESTORE_MSG_SEQUENCE, r->at_least, &r->after);
}

/* Test-only: stops between the copy and the raise for a test to kill (backup_restore.h). */
static void test_pause(void)
{
    const char *env = getenv(BACKUP_RESTORE_PAUSE_ENV);
    if (!env || !*env)
        return;
    unsigned long ms = strtoul(env, NULL, 10);
    if (ms > RESTORE_PAUSE_MAX_MS)
        ms = RESTORE_PAUSE_MAX_MS;
    fprintf(stderr, "restore_test_pause ms=%lu\n", ms);
    fflush(stderr);
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/*  Makes the data directory if missing, refuses one with a data.mdb, and
    makes the staging directory in it (its path into stage). */
static ledger_err_t make_stage(const backup_restore_options_t *o, char *stage, size_t stage_size,
                               char *why, size_t why_size)
{
    char to[RESTORE_PATH_MAX];
    if (!backup_file_fmt(to, sizeof to, "%s/%s", o->data_dir, BACKUP_DATA_FILE) ||
        !backup_file_fmt(stage, stage_size, "%s%s", o->data_dir, RESTORE_STAGE_NAME))
        return backup_file_fmt(why, why_size, "path too long"), LEDGER_E_INVALID;
    struct stat st;
    if (stat(to, &st) == 0) {
        backup_file_fmt(why, why_size,
                        "%s exists: stop the node and move its data directory aside first", to);
        return LEDGER_E_EXISTS;
    }
    if (mkdir(o->data_dir, RESTORE_DIR_MODE) != 0 && errno != EEXIST) {
        backup_file_fmt(why, why_size, "cannot create %s: %s", o->data_dir, strerror(errno));
        return LEDGER_E_IO;
    }
    if (!mkdtemp(stage)) {
        backup_file_fmt(why, why_size, "cannot create a directory in %s: %s", o->data_dir,
                        strerror(errno));
        stage[0] = '\0';
        return LEDGER_E_IO;
    }
    return LEDGER_OK;
}

/* Raises the message seq of the store in `dir` (r->at_least in, before/after out). */
static ledger_err_t raise_in(const char *dir, raise_t *r, char *why, size_t why_size)
{
    store_t *store = NULL;
    ledger_err_t err = store_open(dir, NULL, &store);
    if (err == LEDGER_OK)
        err = store_write(store, raise_seq, r);
    if (err != LEDGER_OK)
        backup_file_fmt(why, why_size, "cannot raise the message seq in %s: %s", dir,
                        store ? store_last_error(store) : store_last_error(NULL));
    store_destroy(&store);
    return err;
}

/*  Copies the backup into `stage`, raises its seq there, fsyncs it and links
    it into the data directory as its data.mdb (never over one). */
static ledger_err_t put_back(const backup_restore_options_t *o, const char *stage, raise_t *r,
                             char *why, size_t why_size)
{
    char from[RESTORE_PATH_MAX], staged[RESTORE_PATH_MAX], to[RESTORE_PATH_MAX];
    backup_file_fmt(from, sizeof from, "%s/%s", o->from_dir, BACKUP_DATA_FILE);
    backup_file_fmt(to, sizeof to, "%s/%s", o->data_dir, BACKUP_DATA_FILE);
    if (!backup_file_fmt(staged, sizeof staged, "%s/%s", stage, BACKUP_DATA_FILE))
        return backup_file_fmt(why, why_size, "path too long"), LEDGER_E_INVALID;
    ledger_err_t err = backup_file_copy(from, staged, why, why_size);
    if (err != LEDGER_OK)
        return err;
    test_pause();
    err = raise_in(stage, r, why, why_size);
    if (err == LEDGER_OK)
        err = backup_file_sync(staged, why, why_size);
    if (err != LEDGER_OK)
        return err;
    if (link(staged, to) != 0) {
        int e = errno;
        backup_file_fmt(why, why_size, "cannot link %s: %s", to, strerror(e));
        return e == EEXIST ? LEDGER_E_EXISTS : LEDGER_E_IO;
    }
    /* The data directory's entry too: restore may have made the directory. */
    char parent[RESTORE_PATH_MAX];
    backup_file_fmt(parent, sizeof parent, "%s", o->data_dir);
    err = backup_file_sync_dir(o->data_dir, why, why_size);
    if (err == LEDGER_OK)
        err = backup_file_sync_dir(dirname(parent), why, why_size);
    if (err != LEDGER_OK)
        unlink(to); /* not known durable: leave nothing to start */
    return err;
}

/* Removes the staging directory and what restore put in it. */
static void remove_stage(const char *stage)
{
    char path[RESTORE_PATH_MAX];
    if (!stage[0])
        return;
    backup_file_fmt(path, sizeof path, "%s/%s", stage, BACKUP_DATA_FILE);
    unlink(path);
    backup_file_fmt(path, sizeof path, "%s/%s.tmp", stage, BACKUP_DATA_FILE);
    unlink(path);
    backup_file_fmt(path, sizeof path, "%s/%s", stage, RESTORE_LOCK_FILE);
    unlink(path);
    rmdir(stage);
}

ledger_err_t backup_restore(const backup_restore_options_t *o, backup_restore_result_t *result,
                            char *why, size_t why_size)
{
    memset(result, 0, sizeof *result);
    backup_manifest_t m;
    ledger_err_t err = backup_restore_check_peers(o, why, why_size);
    if (err == LEDGER_OK)
        err = check_backup(o, &m, why, why_size);
    for (size_t i = 0; err == LEDGER_OK && i < o->peer_count; i++) {
        uint64_t high = 0;
        err = peer_high(o->peer_dirs[i], o->node, &high, why, why_size);
        if (high > result->peers_high)
            result->peers_high = high;
    }
    char stage[RESTORE_PATH_MAX] = "";
    if (err == LEDGER_OK)
        err = make_stage(o, stage, sizeof stage, why, why_size);
    raise_t r = {.at_least = result->peers_high > o->msg_seq_at_least ? result->peers_high
                                                                      : o->msg_seq_at_least};
    if (err == LEDGER_OK)
        err = put_back(o, stage, &r, why, why_size);
    remove_stage(stage);
    if (err != LEDGER_OK)
        return err;
    result->backup_created_ms = m.created_ms;
    result->backup_msg_seq = r.before;
    result->msg_seq = r.after;
    return LEDGER_OK;
}

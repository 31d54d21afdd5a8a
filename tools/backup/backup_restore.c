/*  backup_restore.c: a backup put back, its message ids moved past what the
    peers have seen (backup_restore.h). */
#include "backup_restore.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "backup_file.h"
#include "backup_manifest.h"
#include "store.h"

#define RESTORE_PATH_MAX 4096
#define RESTORE_DIR_MODE 0700
#define RESTORE_MSG_SEQUENCE "msg" /* node_ctx.c's: the seq of the node's message ids */

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

/* The highest seq of `node` that the peer in `dir` has recorded as seen. */
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
    err = store_txn_begin(store, false, &txn);
    if (err == LEDGER_OK)
        err = store_seen_high(txn, node, high_out);
    if (err != LEDGER_OK)
        backup_file_fmt(why, why_size, "peer %s: %s", dir, store_last_error(store));
    store_txn_abort(&txn);
    store_destroy(&store);
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

/* Copies the backup's data file into the data directory (made if missing). */
static ledger_err_t put_back(const backup_restore_options_t *o, char *why, size_t why_size)
{
    char from[RESTORE_PATH_MAX], to[RESTORE_PATH_MAX];
    backup_file_fmt(from, sizeof from, "%s/%s", o->from_dir, BACKUP_DATA_FILE);
    if (!backup_file_fmt(to, sizeof to, "%s/%s", o->data_dir, BACKUP_DATA_FILE))
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
    return backup_file_copy(from, to, why, why_size);
}

ledger_err_t backup_restore(const backup_restore_options_t *o, backup_restore_result_t *result,
                            char *why, size_t why_size)
{
    memset(result, 0, sizeof *result);
    backup_manifest_t m;
    ledger_err_t err = check_backup(o, &m, why, why_size);
    for (size_t i = 0; err == LEDGER_OK && i < o->peer_count; i++) {
        uint64_t high = 0;
        err = peer_high(o->peer_dirs[i], o->node, &high, why, why_size);
        if (high > result->peers_high)
            result->peers_high = high;
    }
    if (err == LEDGER_OK)
        err = put_back(o, why, why_size);
    if (err != LEDGER_OK)
        return err;
    store_t *store = NULL;
    err = store_open(o->data_dir, NULL, &store);
    raise_t r = {.at_least = result->peers_high > o->msg_seq_at_least ? result->peers_high
                                                                      : o->msg_seq_at_least};
    if (err == LEDGER_OK)
        err = store_write(store, raise_seq, &r);
    if (err != LEDGER_OK)
        backup_file_fmt(why, why_size, "cannot raise the message seq in %s: %s", o->data_dir,
                        store ? store_last_error(store) : store_last_error(NULL));
    store_destroy(&store);
    if (err != LEDGER_OK) {
        /* A node started on it would reuse ids its peers have seen: leave nothing to start. */
        char path[RESTORE_PATH_MAX];
        backup_file_fmt(path, sizeof path, "%s/%s", o->data_dir, BACKUP_DATA_FILE);
        remove(path);
    }
    result->backup_created_ms = m.created_ms;
    result->backup_msg_seq = r.before;
    result->msg_seq = r.after;
    return err;
}

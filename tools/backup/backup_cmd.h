/*  backup_cmd.h: ledger-backup's three commands (create, verify, restore),
    each printing one progress line per node on stdout and the reason of a
    failure on stderr. The work is in backup_manifest.h, backup_restore.h,
    backup_file.h and store_copy_compact (store.h).

    Returns the tool's exit code: BACKUP_EXIT_OK, BACKUP_EXIT_FAILED (some
    node failed; the others were still done), BACKUP_EXIT_USAGE (a bad node
    name; restore: not every peer given, backup_restore_check_peers).
    Threads: main's.
*/
#ifndef LEDGER_BACKUP_CMD_H
#define LEDGER_BACKUP_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "backup_restore.h"

#define BACKUP_EXIT_OK 0
#define BACKUP_EXIT_FAILED 1
#define BACKUP_EXIT_USAGE 2
#define BACKUP_PEER_NAME_MAX 32 /* a node name (STORE_ORIGIN_MAX) */

typedef struct {
    const char *command;
    bool all;
    const char *data_root;
    const char *data;
    const char *node;
    const char *out;
    const char *from;
    char peer_names[BACKUP_RESTORE_PEERS_MAX][BACKUP_PEER_NAME_MAX + 1]; /* --peer-data NAME= */
    const char *peers[BACKUP_RESTORE_PEERS_MAX];                         /* and its DIR */
    size_t peer_count;
    uint64_t msg_seq_at_least;
} backup_options_t;

/*  Before any command (main): clears the reader slots that dead processes (a ledger-backup
    or ledger-reconcile killed mid-copy) left in the live data directories the options name
    (--data, --data-root's nodes, --peer-data; not verify's backup), with store_reader_check,
    and says how many on stderr. A directory that cannot be opened is skipped quietly. */
void backup_cmd_clear_stale_readers(const backup_options_t *opt);

int backup_cmd_create(const backup_options_t *opt);
int backup_cmd_verify(const backup_options_t *opt);
int backup_cmd_restore(const backup_options_t *opt);

#endif

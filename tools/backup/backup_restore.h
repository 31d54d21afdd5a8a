/*  backup_restore.h: puts a node's backup back in its data directory (the
    node stopped), and makes sure the restored node does not reuse message
    ids.

    Why the ids: a node's message ids are "<node>/<seq>" from its "msg"
    sequence, and its peers drop an id they have seen as a duplicate
    (nodes/common/node_seen.h). A backup holds the sequence as it was when
    the backup was taken; the node went on sending after that, and its peers
    saw those ids. Restored as it is, the node would hand out the same ids
    again for new messages, and its peers would ack them unread: transfers
    silently stuck. So restore raises the sequence past the highest id any
    peer has seen from this node (read from the peers' data directories,
    read-only), or past a number the operator gives.

    What it owns: nothing past a call. Errors: LEDGER_E_EXISTS (the data
    directory still has a data.mdb: move it aside first), LEDGER_E_CORRUPT
    (the backup's data file does not match its manifest, or the manifest is
    another node's), LEDGER_E_IO, store errors; the reason in `why`.
    Threads: any.
*/
#ifndef LEDGER_BACKUP_RESTORE_H
#define LEDGER_BACKUP_RESTORE_H

#include <stddef.h>
#include <stdint.h>
#include "ledger_err.h"

#define BACKUP_RESTORE_PEERS_MAX 8

typedef struct {
    const char *from_dir; /* the node's backup: data.mdb + manifest.json */
    const char *data_dir; /* the node's data directory (no data.mdb in it) */
    const char *node;     /* the node's name: its message origin */
    const char *peer_dirs[BACKUP_RESTORE_PEERS_MAX];
    size_t peer_count;
    uint64_t msg_seq_at_least; /* 0: only the peers decide */
} backup_restore_options_t;

typedef struct {
    uint64_t backup_created_ms;
    uint64_t backup_msg_seq; /* the sequence in the backup */
    uint64_t peers_high;     /* the highest seq of `node` its peers had seen */
    uint64_t msg_seq;        /* the sequence now: the next id is msg_seq + 1 */
} backup_restore_result_t;

ledger_err_t backup_restore(const backup_restore_options_t *options,
                            backup_restore_result_t *result, char *why, size_t why_size);

#endif

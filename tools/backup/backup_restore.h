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
    peer has seen from this node, or past a number the operator gives.

    What a peer has seen (read from its data directory, read-only): the
    larger of its highest id of this node in `seen` and its floor for this
    node (store.h, store_seen_floor: the highest id it ever pruned). A peer
    that pruned all of this node's ids by time has no id left in `seen` but
    refuses every id up to its floor as too old, so the floor counts.

    Why every peer (backup_restore_check_peers): the node has ONE message
    sequence for all its peers, and each peer saw only the ids sent to it;
    a peer left out may have seen higher ids than the others, and would ack
    the restored node's new messages as duplicates. So a restore reads
    every other node (gateway, accounts, fraud: each is the others' peer),
    named, or none and the operator's --msg-seq-at-least.

    Crash safety: the backup is copied into a new directory inside the data
    directory (".restore.XXXXXX", same file system: the data directory is
    often a mount point), its sequence raised there and the file fsynced;
    only then is it linked into place as the data directory's data.mdb
    (link(2): atomic, never over an existing file) and the directory
    fsynced. A crash at any point leaves either no data.mdb in the data
    directory or the finished, raised one; never a startable store with the
    backup's sequence. A crash may leave the .restore.XXXXXX directory: no
    node opens it, it may be deleted.

    Test-only: if BACKUP_RESTORE_PAUSE_ENV holds a number of milliseconds,
    restore prints "restore_test_pause" on stderr after the copy and before
    the raise and sleeps that long (at most 10 minutes), so a test can kill
    it there. Never set it in production.

    What it owns: nothing past a call. Errors: LEDGER_E_INVALID (the peers
    are not all of the node's peers, each once, each in its own directory),
    LEDGER_E_EXISTS (the data directory still has a data.mdb: move it aside
    first), LEDGER_E_CORRUPT (the backup's data file does not match its
    manifest, or the manifest is another node's), LEDGER_E_IO, store
    errors; the reason in `why`.
    Threads: any.
*/
#ifndef LEDGER_BACKUP_RESTORE_H
#define LEDGER_BACKUP_RESTORE_H

#include <stddef.h>
#include <stdint.h>
#include "ledger_err.h"

#define BACKUP_RESTORE_PEERS_MAX 8
#define BACKUP_RESTORE_PAUSE_ENV "LEDGER_TEST_RESTORE_PAUSE_MS" /* test-only, see above */

typedef struct {
    const char *from_dir; /* the node's backup: data.mdb + manifest.json */
    const char *data_dir; /* the node's data directory (no data.mdb in it) */
    const char *node;     /* the node's name: its message origin */
    const char *peer_names[BACKUP_RESTORE_PEERS_MAX]; /* the peer's node name */
    const char *peer_dirs[BACKUP_RESTORE_PEERS_MAX];  /* its data directory */
    size_t peer_count;
    uint64_t msg_seq_at_least; /* 0: only the peers decide */
} backup_restore_options_t;

typedef struct {
    uint64_t backup_created_ms;
    uint64_t backup_msg_seq; /* the sequence in the backup */
    uint64_t peers_high;     /* the highest seq of `node` its peers had seen (or pruned) */
    uint64_t msg_seq;        /* the sequence now: the next id is msg_seq + 1 */
} backup_restore_result_t;

/*  LEDGER_OK if `names` (count of them) are every peer of `node`, each once,
    or none at all with msg_seq_at_least > 0; else LEDGER_E_INVALID and what
    is wrong in `why` (a name that is no peer, one given twice, one left out,
    two names for one directory). */
ledger_err_t backup_restore_check_peers(const backup_restore_options_t *options, char *why,
                                        size_t why_size);

ledger_err_t backup_restore(const backup_restore_options_t *options,
                            backup_restore_result_t *result, char *why, size_t why_size);

#endif

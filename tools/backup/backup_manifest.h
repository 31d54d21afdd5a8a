/*  backup_manifest.h: what a backup of one node holds, checked and written
    beside its data file as manifest.json.

    backup_manifest_verify opens a copied environment read-only and checks
    it as far as is cheap: the store's format version, the ledger's hash
    chain (store_ledger_verify; for the accounts node accounts_verify_ledger,
    which also checks the accounts table's balances against the ledger),
    every account, transfer / view / decision record decoding through the
    node's own record library (tools/reconcile's per-node readers), and
    every outbox entry and dead letter decoding as a message. On the way it
    notes the facts a restore needs: the node's last message seq (the "msg"
    sequence: its message ids), its outbox (depth, first seq), the highest
    seq it had seen from each peer, and the ledger's head.

    Manifest (JSON, one object; manifest_version 1):
      manifest_version, node, created_at (RFC 3339 UTC), created_ms,
      store_format, msg_seq, outbox {depth, first_seq}, dead_letters,
      seen_high {peer: seq, ...}, ledger {entries, head_seq, head_hash (hex)},
      records {transfers, accounts}, data_file "data.mdb", size_bytes,
      sha256 (hex of data.mdb)

    What it owns: nothing past a call. Errors: LEDGER_E_CORRUPT (a check
    failed; what, in `why`), LEDGER_E_IO (manifest file), LEDGER_E_STORE,
    LEDGER_E_NOMEM. Threads: any.
*/
#ifndef LEDGER_BACKUP_MANIFEST_H
#define LEDGER_BACKUP_MANIFEST_H

#include <stdint.h>
#include "backup_file.h"
#include "ledger_err.h"
#include "reconcile_node.h"
#include "store.h"

#define BACKUP_MANIFEST_VERSION 1
#define BACKUP_MANIFEST_FILE "manifest.json"
#define BACKUP_DATA_FILE "data.mdb"
#define BACKUP_PEERS_MAX (RECONCILE_NODE__COUNT - 1)

typedef struct {
    char node[STORE_ORIGIN_MAX + 1];
    uint64_t created_ms;
    uint32_t store_format;
    uint64_t msg_seq;
    uint64_t outbox_depth;
    uint64_t outbox_first_seq; /* 0: empty */
    uint64_t dead_letters;
    size_t peer_count;
    char peers[BACKUP_PEERS_MAX][STORE_ORIGIN_MAX + 1];
    uint64_t seen_high[BACKUP_PEERS_MAX];
    uint64_t ledger_entries;
    uint64_t ledger_head_seq;
    char ledger_head_hash[2 * STORE_HASH_SIZE + 1]; /* "" when the ledger is empty */
    uint64_t transfer_records;
    uint64_t account_records;
    uint64_t size_bytes;
    char sha256[BACKUP_SHA256_HEX_LEN + 1];
} backup_manifest_t;

/*  Checks the environment in `dir` (read-only) as the node `node` (name
    `name`, its message origin) and fills *m's store facts (node, format,
    sequences, ledger, records; not the time or the file's hash). */
ledger_err_t backup_manifest_verify(const char *dir, reconcile_node_t node, const char *name,
                                    backup_manifest_t *m, char *why, size_t why_size);

/* Writes *m as JSON to `path` (through a temporary file and a rename). */
ledger_err_t backup_manifest_write(const char *path, const backup_manifest_t *m, char *why,
                                   size_t why_size);

/* Reads the manifest at `path` (node, msg_seq, size_bytes, sha256, created_ms). */
ledger_err_t backup_manifest_read(const char *path, backup_manifest_t *m, char *why,
                                  size_t why_size);

#endif

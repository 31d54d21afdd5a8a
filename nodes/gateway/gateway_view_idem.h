/*  gateway_view_idem.h: the gateway's idempotency keys and their age index.

    Owns STORE_DB_IDEMPOTENCY (scoped key -> {created_ms, request hash,
    transfer id}) and the "idem/" keys of STORE_DB_INDEX ("idem/" + be64
    created_ms + scoped key -> "", the keys by age, for pruning).

    Keys are scoped to the principal that sent them (store format 3): the
    scoped key is the principal's id, a NUL byte, then the Idempotency-Key
    bytes, so the same key from two principals is two records (neither id
    nor key can hold a NUL: unambiguous). Keys written before format 3 had
    no principal; the migration (gateway_migrate.h) keeps them under the
    empty principal "" (GATEWAY_IDEM_LEGACY_PRINCIPAL), which no real
    principal can be (ids are 1..64 bytes): nobody collides with them, a
    request that repeats one exactly is answered as its replay (a retry
    across the upgrade is never a second transfer; gateway_view.c), and
    they expire within the retention like any key. This module is
    the only code that reads or writes them; gateway_view_submit (which
    decides replay, reuse or a new transfer) and gateway_view_prune_idempotency
    (which decides how much to delete per call) are its callers.

    An idempotency record is binary and fixed-layout:
      u8 version (1) | be64 created_ms | 32-byte request hash | u8 id length | id bytes

    Errors: LEDGER_E_CORRUPT for a stored record that does not decode,
    LEDGER_E_NOT_FOUND, store errors (the caller aborts the transaction).

    Threads: no state of its own; any thread that owns the transaction.
*/
#ifndef LEDGER_GATEWAY_VIEW_IDEM_H
#define LEDGER_GATEWAY_VIEW_IDEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "gateway_view_record.h"
#include "ledger_err.h"
#include "store.h"

#define GATEWAY_HASH_SIZE 32 /* SHA-256 of the canonical request, bytes */
#define GATEWAY_IDEM_PRINCIPAL_MAX PROTO_ACCOUNT_ID_MAX /* bytes of a principal id */
/* The age index: "idem/" + be64 created_ms + scoped key (gateway_migrate.c rewrites it too). */
#define GATEWAY_IDEM_INDEX_PREFIX "idem/"
#define GATEWAY_IDEM_INDEX_HEAD_BYTES (sizeof GATEWAY_IDEM_INDEX_PREFIX - 1 + 8)
/* The principal of keys written before format 3: no real principal (ids are 1..64 bytes). */
#define GATEWAY_IDEM_LEGACY_PRINCIPAL ""
/* A scoped key: principal + NUL + the Idempotency-Key bytes. */
#define GATEWAY_IDEM_SCOPED_KEY_MAX (GATEWAY_IDEM_PRINCIPAL_MAX + 1 + GATEWAY_IDEMPOTENCY_KEY_MAX)
/* An age index key: "idem/" + be64 created_ms + the scoped key. */
#define GATEWAY_IDEM_INDEX_KEY_MAX (5 + 8 + GATEWAY_IDEM_SCOPED_KEY_MAX)

/* What an idempotency key remembers. */
typedef struct {
    uint64_t created_ms;
    uint8_t hash[GATEWAY_HASH_SIZE];
    char id[PROTO_TRANSFER_ID_MAX + 1];
} gateway_view_idem_t;

/* One age index entry found by gateway_view_idem_collect_expired. */
typedef struct {
    uint8_t key[GATEWAY_IDEM_INDEX_KEY_MAX];
    size_t key_size;
} gateway_view_idem_index_t;

/*  True if a key created at created_ms is expired at now_ms: at least
    retention_ms old (a key from the future, after a clock step, is not). */
bool gateway_view_idem_expired(uint64_t created_ms, uint64_t now_ms, uint64_t retention_ms);

/*  The scoped key of `key` (1..GATEWAY_IDEMPOTENCY_KEY_MAX bytes) sent by
    `principal` ("" or a principal id) into out; its length. */
size_t gateway_view_idem_scoped_key(uint8_t out[GATEWAY_IDEM_SCOPED_KEY_MAX], const char *principal,
                                    const char *key);

/*  *any_out: whether any key of the legacy principal (written before keys
    were scoped; they sort first, their scoped key starting with NUL) is in
    the store. One cursor step. Store errors. */
ledger_err_t gateway_view_idem_legacy_any(store_txn_t *txn, bool *any_out);

/*  Reads the record of `key` sent by `principal` into *rec (filled on
    LEDGER_OK). LEDGER_E_NOT_FOUND, LEDGER_E_CORRUPT, store errors. */
ledger_err_t gateway_view_idem_get(store_txn_t *txn, const char *principal, const char *key,
                                   gateway_view_idem_t *rec);

/*  Writes the record of `key` sent by `principal` and its age index entry
    (at rec->created_ms). Store errors. */
ledger_err_t gateway_view_idem_put(store_txn_t *txn, const char *principal, const char *key,
                                   const gateway_view_idem_t *rec);

/*  Deletes the age index entry of `principal`'s `key` created at
    created_ms (the record itself stays: it is about to be overwritten). An
    entry already gone is not an error. Store errors. */
ledger_err_t gateway_view_idem_unindex(store_txn_t *txn, const char *principal, const char *key,
                                       uint64_t created_ms);

/*  Fills out[0..*count_out) with up to `want` age index entries of keys
    expired at now_ms, oldest first. The cursor is closed before it returns,
    so the caller may delete them. Store errors. */
ledger_err_t gateway_view_idem_collect_expired(store_txn_t *txn, uint64_t now_ms,
                                               uint64_t retention_ms,
                                               gateway_view_idem_index_t *out, size_t want,
                                               size_t *count_out);

/*  Deletes an age index entry and, if it is its key's current entry (the
    same created_ms), the key's record. A record that is gone does not stop
    the entry's deletion; one that does not decode does: LEDGER_E_CORRUPT,
    nothing deleted (the pruning actor faults the node, gateway_prune.h).
    Store errors. */
ledger_err_t gateway_view_idem_delete(store_txn_t *txn, const gateway_view_idem_index_t *entry);

#endif

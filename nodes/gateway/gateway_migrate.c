/* gateway_migrate.c: the gateway's store formats and migration 2 -> 3 (gateway_migrate.h). */
#include "gateway_migrate.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway_view_idem.h"

#define IDEM_INDEX_PREFIX GATEWAY_IDEM_INDEX_PREFIX /* the age index (gateway_view_idem.h) */
#define IDEM_INDEX_HEAD GATEWAY_IDEM_INDEX_HEAD_BYTES
#define VALUE_MAX 128 /* bytes of an idempotency record, at most ~106 */

/* One format-2 entry to rewrite. */
typedef struct {
    uint8_t key[GATEWAY_IDEM_INDEX_KEY_MAX];
    size_t key_size;
    uint8_t val[VALUE_MAX];
    size_t val_size;
} old_entry_t;

/* A table's format-2 entries: keys starting with prefix, whose part after `head` bytes has no NUL.
 */
typedef struct {
    store_db_t db;
    const char *prefix;
    size_t head;
    size_t done;
} table_t;

static bool is_old(const table_t *t, const store_kv_t *kv)
{
    return kv->key_size > t->head && kv->key_size - t->head <= GATEWAY_IDEMPOTENCY_KEY_MAX &&
           kv->val_size <= VALUE_MAX &&
           memchr((const uint8_t *)kv->key + t->head, 0, kv->key_size - t->head) == NULL;
}

/*  Collects up to GATEWAY_MIGRATE_BATCH old entries from `from` (a key, may be
    a deleted one) on; *count_out of them. The cursor is closed on return. */
static ledger_err_t collect(store_txn_t *txn, const table_t *t, const uint8_t *from,
                            size_t from_size, old_entry_t *out, size_t *count_out)
{
    store_cursor_t *cursor = NULL;
    ledger_err_t err = store_cursor_open(txn, t->db, &cursor);
    if (err)
        return err;
    size_t n = 0, plen = strlen(t->prefix);
    store_kv_t kv = {.key = from, .key_size = from_size};
    err = from_size ? store_cursor_get(cursor, STORE_SEEK, &kv)
                    : store_cursor_get(cursor, STORE_FIRST, &kv);
    while (err == LEDGER_OK && n < GATEWAY_MIGRATE_BATCH && kv.key_size >= plen &&
           memcmp(kv.key, t->prefix, plen) == 0) {
        if (is_old(t, &kv)) {
            memcpy(out[n].key, kv.key, kv.key_size);
            out[n].key_size = kv.key_size;
            memcpy(out[n].val, kv.val, kv.val_size);
            out[n].val_size = kv.val_size;
            n++;
        }
        err = store_cursor_get(cursor, STORE_NEXT, &kv);
    }
    store_cursor_close(&cursor);
    *count_out = n;
    return err == LEDGER_E_NOT_FOUND ? LEDGER_OK : err;
}

/* Rewrites one entry under the reserved principal "": NUL inserted after `head`. */
static ledger_err_t rewrite(store_txn_t *txn, const table_t *t, const old_entry_t *e)
{
    uint8_t key[GATEWAY_IDEM_INDEX_KEY_MAX + 1];
    memcpy(key, e->key, t->head);
    key[t->head] = '\0';
    memcpy(key + t->head + 1, e->key + t->head, e->key_size - t->head);
    ledger_err_t err = store_put(txn, t->db, key, e->key_size + 1, e->val, e->val_size, 0);
    if (!err)
        err = store_del(txn, t->db, e->key, e->key_size);
    return err;
}

/*  Every old entry of the table, batch by batch. New keys sort before the
    old key they come from (NUL < any key byte), so the walk, resumed at the
    last old key, never meets them. */
static ledger_err_t migrate_table(store_txn_t *txn, table_t *t, old_entry_t *batch)
{
    uint8_t from[GATEWAY_IDEM_INDEX_KEY_MAX];
    size_t from_size = strlen(t->prefix), n;
    memcpy(from, t->prefix, from_size);
    t->done = 0;
    do {
        ledger_err_t err = collect(txn, t, from, from_size, batch, &n);
        for (size_t i = 0; !err && i < n; i++)
            err = rewrite(txn, t, &batch[i]);
        if (err)
            return err;
        t->done += n;
        if (n) {
            memcpy(from, batch[n - 1].key, batch[n - 1].key_size);
            from_size = batch[n - 1].key_size;
        }
    } while (n == GATEWAY_MIGRATE_BATCH);
    return LEDGER_OK;
}

static ledger_err_t scope_idempotency_keys(store_txn_t *txn, void *arg, char *note,
                                           size_t note_size)
{
    (void)arg;
    old_entry_t *batch = malloc(GATEWAY_MIGRATE_BATCH * sizeof *batch);
    if (!batch)
        return LEDGER_E_NOMEM;
    table_t keys = {STORE_DB_IDEMPOTENCY, "", 0, 0};
    table_t index = {STORE_DB_INDEX, IDEM_INDEX_PREFIX, IDEM_INDEX_HEAD, 0};
    ledger_err_t err = migrate_table(txn, &keys, batch);
    if (!err)
        err = migrate_table(txn, &index, batch);
    free(batch);
    if (!err)
        snprintf(note, note_size, "keys=%zu index_entries=%zu principal=\"\"", keys.done,
                 index.done);
    else
        snprintf(note, note_size, "could not rewrite the idempotency keys (%s)",
                 ledger_err_name(err));
    return err;
}

static ledger_err_t detect_format(store_txn_t *txn, void *arg, uint32_t *version_out)
{
    (void)txn;
    (void)arg;
    /* No version key: any build before versions, whose records are format 2. */
    *version_out = 2;
    return LEDGER_OK;
}

static const store_migrate_step_t steps[] = {
    {.to_version = 3, .name = "idempotency_scoped", .run = scope_idempotency_keys},
};

const store_migrate_plan_t gateway_migrate_plan = {.node = "gateway",
                                                   .version = GATEWAY_STORE_FORMAT,
                                                   .steps = steps,
                                                   .step_count = 1,
                                                   .detect = detect_format};

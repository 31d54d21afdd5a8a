/* gateway_migrate.c: the gateway's store formats and migrations 2 -> 3 ... 6 -> 7
   (gateway_migrate.h). */
#include "gateway_migrate.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway_events.h"
#include "gateway_owners.h"
#include "gateway_principals.h"
#include "gateway_view_idem.h"
#include "gateway_view_record.h"

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

/* --- 3 -> 4: the owner map and the per-principal transfer index ---------------- */

/* One transfer's accounts, collected before the writes. */
typedef struct {
    char id[PROTO_TRANSFER_ID_MAX + 1];
    char from[PROTO_ACCOUNT_ID_MAX + 1];
    char to[PROTO_ACCOUNT_ID_MAX + 1];
    char currency[PROTO_CURRENCY_LEN + 1];
} owned_transfer_t;

typedef struct {
    size_t transfers, index_entries, owners, conflicts;
} owners_note_t;

/*  Collects up to GATEWAY_MIGRATE_BATCH transfers with an id above `after` ("" = from the
    first); a record that does not decode is skipped (it is no transfer anyone can see). */
static ledger_err_t collect_transfers(store_txn_t *txn, const char *after, owned_transfer_t *out,
                                      gateway_view_record_t *rec, size_t *count_out)
{
    store_cursor_t *cursor = NULL;
    ledger_err_t err = store_cursor_open(txn, STORE_DB_TRANSFERS, &cursor);
    if (err)
        return err;
    size_t n = 0, after_len = strlen(after);
    char from_key[PROTO_TRANSFER_ID_MAX + 2];
    memcpy(from_key, after, after_len);
    from_key[after_len] = '\0'; /* the first id strictly above `after` */
    store_kv_t kv = {.key = from_key, .key_size = after_len + 1};
    err = after_len ? store_cursor_get(cursor, STORE_SEEK, &kv)
                    : store_cursor_get(cursor, STORE_FIRST, &kv);
    while (err == LEDGER_OK && n < GATEWAY_MIGRATE_BATCH) {
        if (gateway_view_record_decode(kv.val, kv.val_size, rec) == LEDGER_OK) {
            snprintf(out[n].id, sizeof out[n].id, "%s", rec->id);
            memcpy(out[n].from, rec->req.from, sizeof out[n].from);
            memcpy(out[n].to, rec->req.to, sizeof out[n].to);
            memcpy(out[n].currency, rec->req.currency, sizeof out[n].currency);
            n++;
        }
        err = store_cursor_get(cursor, STORE_NEXT, &kv);
    }
    store_cursor_close(&cursor);
    *count_out = n;
    return err == LEDGER_E_NOT_FOUND ? LEDGER_OK : err;
}

/*  The upgrade rule for one account of a transfer: owned by the principal with its id (not a
    settlement account: nobody owns it); the owner map gets the entry, never overwritten, and
    the transfer is indexed for that owner. */
static ledger_err_t own_by_id(store_txn_t *txn, const char *account, const char *currency,
                              const char *transfer_id, owners_note_t *note)
{
    const char *settlement = proto_settlement_id(currency);
    if (settlement && strcmp(settlement, account) == 0)
        return LEDGER_OK;
    bool added = false;
    char owner[PROTO_ACCOUNT_ID_MAX + 1];
    ledger_err_t err = gateway_owners_put(txn, account, account, &added);
    if (err == LEDGER_E_EXISTS) { /* another owner already: index for that one */
        note->conflicts++;
        err = gateway_owners_get(txn, account, owner);
        account = owner;
    }
    if (err)
        return err;
    note->owners += added ? 1 : 0;
    note->index_entries++;
    return gateway_owners_index_transfer(txn, account, transfer_id);
}

static ledger_err_t fill_owners(store_txn_t *txn, void *arg, char *note_text, size_t note_size)
{
    (void)arg;
    owned_transfer_t *batch = malloc(GATEWAY_MIGRATE_BATCH * sizeof *batch);
    gateway_view_record_t *rec = malloc(sizeof *rec);
    owners_note_t note = {0};
    char after[PROTO_TRANSFER_ID_MAX + 1] = "";
    size_t n = 0;
    ledger_err_t err = batch && rec ? LEDGER_OK : LEDGER_E_NOMEM;
    do {
        if (!err)
            err = collect_transfers(txn, after, batch, rec, &n);
        for (size_t i = 0; !err && i < n; i++) {
            err = own_by_id(txn, batch[i].from, batch[i].currency, batch[i].id, &note);
            if (!err)
                err = own_by_id(txn, batch[i].to, batch[i].currency, batch[i].id, &note);
        }
        note.transfers += err ? 0 : n;
        if (!err && n)
            memcpy(after, batch[n - 1].id, sizeof after);
    } while (!err && n == GATEWAY_MIGRATE_BATCH);
    free(batch);
    free(rec);
    if (!err)
        snprintf(note_text, note_size, "transfers=%zu index_entries=%zu owners=%zu conflicts=%zu",
                 note.transfers, note.index_entries, note.owners, note.conflicts);
    else
        snprintf(note_text, note_size, "could not build the owner map (%s)", ledger_err_name(err));
    return err;
}

/* --- 4 -> 5: the viewers of each stored event ----------------------------------------- */

/* The viewers of an event of transfer `transfer_id`: the owners of its from and to in the
   owner map (migration 3 -> 4 filled it); none if the transfer is not in the view. */
static ledger_err_t viewers_of(store_txn_t *txn, const char *transfer_id, void *arg,
                               char viewers[GATEWAY_EVENT_VIEWERS][GATEWAY_EVENT_VIEWER_MAX + 1])
{
    gateway_view_record_t *rec = arg;
    memset(viewers, 0, GATEWAY_EVENT_VIEWERS * sizeof viewers[0]);
    ledger_err_t err = gateway_view_record_get(txn, transfer_id, rec);
    if (err == LEDGER_E_NOT_FOUND || err == LEDGER_E_CORRUPT)
        return LEDGER_OK; /* no transfer anyone can see: operators only */
    if (err)
        return err;
    return gateway_owners_viewers(NULL, txn, NULL, rec->req.from, rec->req.to, rec->req.currency,
                                  viewers);
}

static ledger_err_t name_event_viewers(store_txn_t *txn, void *arg, char *note, size_t note_size)
{
    (void)arg;
    static_assert(GATEWAY_EVENT_VIEWERS == 2, "gateway_owners_viewers names two");
    gateway_view_record_t *rec = malloc(sizeof *rec);
    size_t events = 0;
    ledger_err_t err = rec ? gateway_events_upgrade(txn, viewers_of, rec, &events) : LEDGER_E_NOMEM;
    free(rec);
    if (!err)
        snprintf(note, note_size, "events=%zu", events);
    else
        snprintf(note, note_size, "could not name the events' viewers (%s)", ledger_err_name(err));
    return err;
}

/* --- 6 -> 7: accounts:manage for the operators who open accounts ------------------- */

static ledger_err_t grant_accounts_manage(store_txn_t *txn, void *arg, char *note, size_t note_size)
{
    (void)arg;
    size_t granted = 0;
    ledger_err_t err = gateway_principals_grant(txn, GATEWAY_SCOPE_ACCOUNTS_OPEN,
                                                GATEWAY_SCOPE_ACCOUNTS_MANAGE, &granted);
    if (!err)
        snprintf(note, note_size, "operators_granted=%zu", granted);
    else
        snprintf(note, note_size, "could not grant accounts:manage (%s)", ledger_err_name(err));
    return err;
}

/*  7 -> 8 (transfer_payments, issue 21): writes nothing. Version 1 and 2 view records read
    as automatic captures with nothing captured, refunded or in flight, which is what they
    were; each is rewritten as version 3 the next time it changes. The step counts them, and
    the bump makes an older build, which cannot read version 3 records, refuse the dir. */
static ledger_err_t count_payment_views(store_txn_t *txn, void *arg, char *note, size_t note_size)
{
    (void)arg;
    uint64_t transfers = 0;
    ledger_err_t err = store_count(txn, STORE_DB_TRANSFERS, &transfers);
    if (!err)
        snprintf(note, note_size, "transfers=%llu", (unsigned long long)transfers);
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
    {.to_version = 4, .name = "owner_map", .run = fill_owners},
    {.to_version = 5, .name = "event_viewers", .run = name_event_viewers},
    {.to_version = 6, .name = "seen_floors", .run = store_seen_migrate_floors},
    {.to_version = 7, .name = "accounts_manage_scope", .run = grant_accounts_manage},
    {.to_version = 8, .name = "transfer_payments", .run = count_payment_views},
};

const store_migrate_plan_t gateway_migrate_plan = {.node = "gateway",
                                                   .version = GATEWAY_STORE_FORMAT,
                                                   .steps = steps,
                                                   .step_count = sizeof steps / sizeof steps[0],
                                                   .detect = detect_format};

/*  accounts_prune.c: deletes finished saga state past its retention and keeps
    the pruned floor (accounts_prune.h).

    Each round collects up to ACCOUNTS_PRUNE_BATCH due ids with a cursor,
    closes it, then deletes them, so no cursor is moved across a delete; the
    next round seeks past the last id it read.
*/
#include "accounts_prune.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "accounts_holds.h"
#include "accounts_record.h"
#include "text.h"

/* A gateway transfer id: "tr_" + 12 hex digits of ms + 8 of a sequence (gateway_view.h). */
#define ID_PREFIX "tr_"
#define ID_PREFIX_LEN 3
#define ID_MS_DIGITS 12
#define ID_SEQ_DIGITS 8
#define ID_LEN (ID_PREFIX_LEN + ID_MS_DIGITS + ID_SEQ_DIGITS)

/* One collecting round. */
typedef struct {
    uint64_t cutoff_ms;
    size_t want;     /* due ids to collect at most */
    size_t scan_max; /* records to read at most */
    char (*due)[PROTO_TRANSFER_ID_MAX + 1];
    size_t count;                         /* due ids collected */
    size_t scanned;                       /* records read */
    bool done;                            /* reached the cutoff or the end */
    uint64_t floor_ms;                    /* newest creation ms among the deleted ids */
    char last[PROTO_TRANSFER_ID_MAX + 1]; /* the last key read */
} round_t;

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

bool accounts_prune_id_ms(const char *id, size_t len, uint64_t *ms_out)
{
    if (len != ID_LEN || memcmp(id, ID_PREFIX, ID_PREFIX_LEN) != 0)
        return false;
    uint64_t ms = 0;
    for (size_t i = ID_PREFIX_LEN; i < ID_LEN; i++) {
        int v = hex_value(id[i]);
        if (v < 0)
            return false;
        if (i < ID_PREFIX_LEN + ID_MS_DIGITS)
            ms = ms << 4 | (uint64_t)v;
    }
    *ms_out = ms;
    return true;
}

static ledger_err_t floor_read(store_txn_t *txn, uint64_t *floor_out)
{
    const void *val;
    size_t size;
    *floor_out = 0;
    ledger_err_t err = store_get(txn, STORE_DB_META, ACCOUNTS_PRUNE_FLOOR_KEY,
                                 strlen(ACCOUNTS_PRUNE_FLOOR_KEY), &val, &size);
    if (err == LEDGER_E_NOT_FOUND)
        return LEDGER_OK;
    if (err)
        return err;
    if (size != 8)
        return LEDGER_E_CORRUPT;
    *floor_out = store_be64_get(val);
    return LEDGER_OK;
}

/* Raises the floor to floor_ms (never lowers it). */
static ledger_err_t floor_raise(store_txn_t *txn, uint64_t floor_ms)
{
    uint64_t old = 0;
    ledger_err_t err = floor_read(txn, &old);
    if (err || floor_ms <= old)
        return err;
    uint8_t be[8];
    store_be64_put(be, floor_ms);
    return store_put(txn, STORE_DB_META, ACCOUNTS_PRUNE_FLOOR_KEY, strlen(ACCOUNTS_PRUNE_FLOOR_KEY),
                     be, sizeof be, 0);
}

ledger_err_t accounts_prune_refuses(store_txn_t *txn, const char *transfer_id, bool *refused_out)
{
    assert(txn && transfer_id && refused_out);
    *refused_out = false;
    uint64_t ms = 0, floor_ms = 0;
    if (!accounts_prune_id_ms(transfer_id, strlen(transfer_id), &ms))
        return LEDGER_OK;
    ledger_err_t err = floor_read(txn, &floor_ms);
    *refused_out = !err && floor_ms > 0 && ms <= floor_ms;
    return err;
}

/* Reads the record under the cursor (key `id`): collects it if it is due. */
static ledger_err_t round_visit(round_t *r, const store_kv_t *kv, const char *id)
{
    accounts_transfer_t tr;
    ledger_err_t err = accounts_record_transfer_decode(id, kv->val, kv->val_size, &tr);
    if (err)
        return err;
    if (accounts_holds_open_state(tr.state) || tr.updated_ms > r->cutoff_ms)
        return LEDGER_OK;
    text_copy_cut(r->due[r->count++], PROTO_TRANSFER_ID_MAX + 1, id);
    return LEDGER_OK;
}

static ledger_err_t round_seek(store_cursor_t *cur, const round_t *r, store_kv_t *kv)
{
    if (!r->last[0])
        return store_cursor_get(cur, STORE_FIRST, kv);
    kv->key = r->last;
    kv->key_size = strlen(r->last);
    ledger_err_t err = store_cursor_get(cur, STORE_SEEK, kv);
    if (!err && kv->key_size == strlen(r->last) && memcmp(kv->key, r->last, kv->key_size) == 0)
        err = store_cursor_get(cur, STORE_NEXT, kv);
    return err;
}

/* One step of the walk over the record under the cursor; *stop when the cutoff is passed. */
static ledger_err_t round_step(round_t *r, const store_kv_t *kv, bool *stop)
{
    uint64_t ms = 0;
    bool shaped = accounts_prune_id_ms(kv->key, kv->key_size, &ms);
    if (shaped && ms > r->cutoff_ms) {
        *stop = true; /* created after the cutoff: neither it nor any later one is due */
        return LEDGER_OK;
    }
    r->scanned++;
    if (kv->key_size > PROTO_TRANSFER_ID_MAX)
        return LEDGER_E_CORRUPT; /* no transfer id is that long */
    char id[PROTO_TRANSFER_ID_MAX + 1];
    memcpy(id, kv->key, kv->key_size);
    id[kv->key_size] = '\0';
    size_t before = r->count;
    ledger_err_t err = round_visit(r, kv, id);
    if (!err && r->count > before && shaped && ms > r->floor_ms)
        r->floor_ms = ms;
    memcpy(r->last, id, sizeof r->last);
    return err;
}

static ledger_err_t round_collect(store_txn_t *txn, round_t *r)
{
    store_cursor_t *cur = NULL;
    ledger_err_t err = store_cursor_open(txn, STORE_DB_TRANSFERS, &cur);
    if (err)
        return err;
    store_kv_t kv = {0};
    err = round_seek(cur, r, &kv);
    bool stop = false;
    while (!err && r->count < r->want && r->scanned < r->scan_max) {
        err = round_step(r, &kv, &stop);
        if (err || stop)
            break;
        err = store_cursor_get(cur, STORE_NEXT, &kv);
    }
    if (err == LEDGER_E_NOT_FOUND || stop) {
        r->done = true;
        err = err == LEDGER_E_NOT_FOUND ? LEDGER_OK : err;
    }
    store_cursor_close(&cur);
    return err;
}

static ledger_err_t prune_rounds(store_txn_t *txn, size_t max, round_t *r,
                                 accounts_prune_result_t *out)
{
    ledger_err_t err = LEDGER_OK;
    while (!err && !r->done && out->pruned < max && r->scanned < r->scan_max) {
        size_t left = max - out->pruned;
        r->want = left < ACCOUNTS_PRUNE_BATCH ? left : ACCOUNTS_PRUNE_BATCH;
        r->count = 0;
        err = round_collect(txn, r);
        for (size_t i = 0; !err && i < r->count; i++) {
            err = store_del(txn, STORE_DB_TRANSFERS, r->due[i], strlen(r->due[i]));
            if (!err)
                out->pruned++;
        }
    }
    if (!err && r->floor_ms)
        err = floor_raise(txn, r->floor_ms);
    return err;
}

ledger_err_t accounts_prune_saga(store_txn_t *txn, uint64_t now_ms, uint64_t retention_ms,
                                 const char *after, size_t max, size_t scan_max,
                                 accounts_prune_result_t *out)
{
    assert(txn && out && scan_max >= max);
    memset(out, 0, sizeof *out);
    if (retention_ms == 0 || max == 0 || now_ms < retention_ms)
        return LEDGER_OK;
    round_t r = {.cutoff_ms = now_ms - retention_ms, .scan_max = scan_max};
    text_copy_cut(r.last, sizeof r.last, after ? after : "");
    r.due = malloc(ACCOUNTS_PRUNE_BATCH * sizeof *r.due);
    ledger_err_t err = r.due ? prune_rounds(txn, max, &r, out) : LEDGER_E_NOMEM;
    free(r.due);
    out->scanned = r.scanned;
    if (!err && !r.done)
        text_copy_cut(out->next_after, sizeof out->next_after, r.last);
    return err;
}

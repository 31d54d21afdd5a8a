/*  gateway_view_prune.c: deletes final transfer views past their retention
    (gateway_view_prune.h).

    Each round collects up to GATEWAY_VIEW_PRUNE_BATCH due views with a
    cursor, closes it, then deletes them, so no cursor is moved across a
    delete; the next round seeks past the last id it read.
*/
#include "gateway_view_prune.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "gateway_owners.h"
#include "gateway_view.h"
#include "gateway_view_record.h"
#include "text.h"

/* The ms part of a transfer id: 12 hex digits after "tr_" (gateway_view.h). */
#define ID_MS_OFFSET 3
#define ID_MS_DIGITS 12

/* A due view: what deleting it needs. */
typedef struct {
    char id[PROTO_TRANSFER_ID_MAX + 1];
    char from[PROTO_ACCOUNT_ID_MAX + 1];
    char to[PROTO_ACCOUNT_ID_MAX + 1];
} due_view_t;

/* One collecting round. */
typedef struct {
    uint64_t cutoff_ms;
    size_t want;     /* due views to collect at most */
    size_t scan_max; /* views to read at most */
    due_view_t *due;
    size_t count;                         /* due views collected */
    size_t scanned;                       /* views read */
    bool done;                            /* reached the cutoff or the end */
    char last[PROTO_TRANSFER_ID_MAX + 1]; /* the last id read */
    gateway_view_record_t *rec;           /* scratch */
} round_t;

/* The creation ms of a stored key if it is a transfer id; false if it is not one. */
static bool key_ms(const store_kv_t *kv, char id[PROTO_TRANSFER_ID_MAX + 1], uint64_t *ms_out)
{
    if (kv->key_size != GATEWAY_TRANSFER_ID_LEN)
        return false;
    memcpy(id, kv->key, kv->key_size);
    id[kv->key_size] = '\0';
    if (!gateway_view_transfer_id_valid(id))
        return false;
    char hex[ID_MS_DIGITS + 1];
    memcpy(hex, id + ID_MS_OFFSET, ID_MS_DIGITS);
    hex[ID_MS_DIGITS] = '\0';
    *ms_out = strtoull(hex, NULL, 16);
    return true;
}

/* Positions the cursor on the first key after r->last ("" : the first key). */
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

/* Reads the view under the cursor: collects it if it is due. */
static ledger_err_t round_visit(round_t *r, const store_kv_t *kv, const char *id)
{
    ledger_err_t err = gateway_view_record_decode(kv->val, kv->val_size, r->rec);
    if (err)
        return err;
    if (!gateway_view_record_status_final(r->rec->status) || r->rec->updated_ms > r->cutoff_ms)
        return LEDGER_OK;
    due_view_t *d = &r->due[r->count++];
    text_copy_cut(d->id, sizeof d->id, id);
    text_copy_cut(d->from, sizeof d->from, r->rec->req.from);
    text_copy_cut(d->to, sizeof d->to, r->rec->req.to);
    return LEDGER_OK;
}

/* Collects due views after r->last, with the cursor closed again before anything is deleted. */
static ledger_err_t round_collect(store_txn_t *txn, round_t *r)
{
    store_cursor_t *cur = NULL;
    ledger_err_t err = store_cursor_open(txn, STORE_DB_TRANSFERS, &cur);
    if (err)
        return err;
    store_kv_t kv = {0};
    err = round_seek(cur, r, &kv);
    while (!err && r->count < r->want && r->scanned < r->scan_max) {
        char id[PROTO_TRANSFER_ID_MAX + 1];
        uint64_t ms = 0;
        bool is_id = key_ms(&kv, id, &ms);
        if (is_id && ms > r->cutoff_ms) {
            r->done = true; /* created after the cutoff: neither it nor any later one is due */
            break;
        }
        r->scanned++;
        if (is_id)
            err = round_visit(r, &kv, id);
        if (!err && kv.key_size < sizeof r->last) { /* else (no id): met again next pass */
            memcpy(r->last, kv.key, kv.key_size);
            r->last[kv.key_size] = '\0';
        }
        if (!err)
            err = store_cursor_get(cur, STORE_NEXT, &kv);
    }
    if (err == LEDGER_E_NOT_FOUND) {
        r->done = true;
        err = LEDGER_OK;
    }
    store_cursor_close(&cur);
    return err;
}

/* Deletes one due view and its index entries. */
static ledger_err_t delete_view(store_txn_t *txn, const due_view_t *d)
{
    char viewers[2][PROTO_ACCOUNT_ID_MAX + 1];
    ledger_err_t err = gateway_owners_viewers(NULL, txn, NULL, d->from, d->to, NULL, viewers);
    for (size_t i = 0; !err && i < 2; i++) {
        if (viewers[i][0])
            err = gateway_owners_unindex_transfer(txn, viewers[i], d->id);
    }
    if (!err)
        err = store_del(txn, STORE_DB_TRANSFERS, d->id, strlen(d->id));
    return err;
}

static ledger_err_t prune_rounds(store_txn_t *txn, size_t max, round_t *r,
                                 gateway_view_prune_result_t *out)
{
    ledger_err_t err = LEDGER_OK;
    while (!err && !r->done && out->pruned < max && r->scanned < r->scan_max) {
        size_t left = max - out->pruned;
        r->want = left < GATEWAY_VIEW_PRUNE_BATCH ? left : GATEWAY_VIEW_PRUNE_BATCH;
        r->count = 0;
        err = round_collect(txn, r);
        for (size_t i = 0; !err && i < r->count; i++) {
            err = delete_view(txn, &r->due[i]);
            if (!err)
                out->pruned++;
        }
    }
    return err;
}

ledger_err_t gateway_view_prune_transfers(store_txn_t *txn, uint64_t now_ms, uint64_t retention_ms,
                                          const char *after, size_t max, size_t scan_max,
                                          gateway_view_prune_result_t *out)
{
    assert(txn && out && scan_max >= max);
    memset(out, 0, sizeof *out);
    if (retention_ms == 0 || max == 0 || now_ms < retention_ms)
        return LEDGER_OK;
    round_t r = {.cutoff_ms = now_ms - retention_ms, .scan_max = scan_max};
    text_copy_cut(r.last, sizeof r.last, after ? after : "");
    r.due = malloc(GATEWAY_VIEW_PRUNE_BATCH * sizeof *r.due);
    r.rec = malloc(sizeof *r.rec);
    ledger_err_t err = r.due && r.rec ? LEDGER_OK : LEDGER_E_NOMEM;
    if (!err)
        err = prune_rounds(txn, max, &r, out);
    free(r.due);
    free(r.rec);
    out->scanned = r.scanned;
    if (!err && !r.done)
        text_copy_cut(out->next_after, sizeof out->next_after, r.last);
    return err;
}

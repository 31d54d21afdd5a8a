/*  gateway_view_list.c: the pages of GET /api/transfers (gateway_view_transfer_list and
    gateway_view_transfer_list_own in gateway_view.h), with their filters.

    The cursor is a transfer id, a position in the unfiltered order (newest first): a filter
    only decides which of the transfers walked are listed, so a cursor stays valid whatever
    the filter, and pages concatenate. A filter that matches little must not make one request
    walk the whole store: a page reads at most GATEWAY_LIST_SCAN_MAX transfers and then stops
    with a next_cursor, even with fewer (or no) transfers listed. Ids are time-ordered and an
    id's ms is never below its transfer's created_ms (gateway_view.h), so with created_from
    the walk ends at the first id older than it.
*/
#include "gateway_view.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "gateway_owners.h"

/* "tr_" then 12 hex digits of the id's unix ms. */
#define ID_MS_OFFSET 3
#define ID_MS_DIGITS 12

bool gateway_view_filter_match(const gateway_view_filter_t *filter,
                               const gateway_view_record_t *rec)
{
    assert(rec);
    if (!filter)
        return true;
    if (filter->account && strcmp(rec->req.from, filter->account) != 0 &&
        strcmp(rec->req.to, filter->account) != 0)
        return false;
    if (filter->has_status && rec->status != filter->status)
        return false;
    if (filter->has_kind && gateway_view_record_kind(&rec->req) != filter->kind)
        return false;
    if (filter->created_from_ms && rec->created_ms < filter->created_from_ms)
        return false;
    return !filter->created_to_ms || rec->created_ms < filter->created_to_ms;
}

/* True if the walk can stop at `id`: it and every older id predate created_from. */
static bool before_window(const gateway_view_filter_t *filter, const char *id)
{
    if (!filter || !filter->created_from_ms || !gateway_view_transfer_id_valid(id))
        return false;
    uint64_t ms = 0;
    for (int i = 0; i < ID_MS_DIGITS; i++) {
        char c = id[ID_MS_OFFSET + i];
        ms = ms * 16 + (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    return ms < filter->created_from_ms;
}

/* One page being filled: its items, how many were listed and walked, the last id walked. */
typedef struct {
    const gateway_view_filter_t *filter;
    uint32_t limit;
    json_t *items;
    uint32_t listed;
    uint32_t walked;
    bool stop; /* nothing older can match */
    char last[PROTO_TRANSFER_ID_MAX + 1];
} page_t;

/* True while the page takes another transfer. */
static bool page_open(const page_t *page)
{
    return !page->stop && page->listed < page->limit && page->walked < GATEWAY_LIST_SCAN_MAX;
}

/* Walks `rec`: lists it if it passes the filter. */
static ledger_err_t page_take(page_t *page, const gateway_view_record_t *rec)
{
    if (before_window(page->filter, rec->id)) {
        page->stop = true;
        return LEDGER_OK;
    }
    page->walked++;
    memcpy(page->last, rec->id, sizeof page->last);
    if (!gateway_view_filter_match(page->filter, rec))
        return LEDGER_OK;
    json_t *api = gateway_view_record_to_api(rec);
    if (!api || json_array_append_new(page->items, api))
        return LEDGER_E_NOMEM;
    page->listed++;
    return LEDGER_OK;
}

/* The page's answer; `more`: older transfers follow the last one walked. */
static ledger_err_t page_answer(page_t *page, bool more, json_t **out)
{
    json_t *next = more && !page->stop && page->walked ? json_string(page->last) : json_null();
    *out = json_pack("{s:o, s:o}", "transfers", page->items, "next_cursor", next);
    page->items = NULL;
    return *out ? LEDGER_OK : LEDGER_E_NOMEM;
}

/* Places `cur` on the newest transfer strictly older than `cursor` (the newest if none). */
static ledger_err_t seek_before(store_cursor_t *cur, const char *cursor, store_kv_t *kv)
{
    if (!cursor || !cursor[0])
        return store_cursor_get(cur, STORE_LAST, kv);
    kv->key = cursor;
    kv->key_size = strlen(cursor);
    ledger_err_t err = store_cursor_get(cur, STORE_SEEK, kv);
    if (err == LEDGER_OK)
        return store_cursor_get(cur, STORE_PREV, kv); /* first key >= cursor, one step back */
    return err == LEDGER_E_NOT_FOUND ? store_cursor_get(cur, STORE_LAST, kv) : err;
}

ledger_err_t gateway_view_transfer_list(store_txn_t *txn, const char *cursor, uint32_t limit,
                                        const gateway_view_filter_t *filter, json_t **out)
{
    assert(txn && out);
    if (limit < 1 || limit > GATEWAY_LIST_MAX)
        return LEDGER_E_INVALID;
    if (cursor && strlen(cursor) > PROTO_TRANSFER_ID_MAX)
        return LEDGER_E_INVALID;
    page_t page = {.filter = filter, .limit = limit, .items = json_array()};
    gateway_view_record_t *rec = malloc(sizeof *rec);
    store_cursor_t *cur = NULL;
    ledger_err_t err = (page.items && rec) ? LEDGER_OK : LEDGER_E_NOMEM;
    if (!err)
        err = store_cursor_open(txn, STORE_DB_TRANSFERS, &cur);
    store_kv_t kv = {0};
    if (!err)
        err = seek_before(cur, cursor, &kv);
    while (err == LEDGER_OK && page_open(&page)) {
        err = gateway_view_record_decode(kv.val, kv.val_size, rec);
        if (!err)
            err = page_take(&page, rec);
        if (!err)
            err = store_cursor_get(cur, STORE_PREV, &kv);
    }
    /* Stopped with a record under the cursor: more follow. */
    bool more = err == LEDGER_OK;
    if (err == LEDGER_E_NOT_FOUND)
        err = LEDGER_OK;
    if (!err)
        err = page_answer(&page, more, out);
    store_cursor_close(&cur);
    json_decref(page.items);
    free(rec);
    return err;
}

/* One page of `principal`'s index into `page`; *more_out if older ids follow. */
static ledger_err_t own_walk(store_txn_t *txn, const char *principal, const char *before,
                             page_t *page, gateway_view_record_t *rec,
                             char (*ids)[GATEWAY_OWNERS_TRANSFER_ID_MAX + 1], bool *more_out)
{
    size_t count = 0;
    ledger_err_t err =
        gateway_owners_transfers(txn, principal, before, GATEWAY_LIST_MAX, ids, &count, more_out);
    size_t i = 0;
    for (; !err && i < count && page_open(page); i++) {
        err = gateway_view_record_get(txn, ids[i], rec);
        if (err == LEDGER_E_NOT_FOUND) { /* pruned from the view: walked, never listed */
            page->walked++;
            memcpy(page->last, ids[i], sizeof page->last);
            err = LEDGER_OK;
        } else if (!err) {
            err = page_take(page, rec);
        }
    }
    if (i < count)
        *more_out = true; /* the page closed inside this batch of ids */
    return err;
}

ledger_err_t gateway_view_transfer_list_own(store_txn_t *txn, const char *principal,
                                            const char *cursor, uint32_t limit,
                                            const gateway_view_filter_t *filter, json_t **out)
{
    assert(txn && principal && out);
    static_assert(GATEWAY_LIST_MAX <= GATEWAY_OWNERS_PAGE_MAX, "one index page per batch");
    if (limit < 1 || limit > GATEWAY_LIST_MAX)
        return LEDGER_E_INVALID;
    page_t page = {.filter = filter, .limit = limit, .items = json_array()};
    gateway_view_record_t *rec = malloc(sizeof *rec);
    char(*ids)[GATEWAY_OWNERS_TRANSFER_ID_MAX + 1] = malloc(GATEWAY_LIST_MAX * sizeof *ids);
    ledger_err_t err = page.items && rec && ids ? LEDGER_OK : LEDGER_E_NOMEM;
    bool more = true;
    const char *before = cursor;
    while (!err && more && page_open(&page)) {
        err = own_walk(txn, principal, before, &page, rec, ids, &more);
        before = page.last;
    }
    if (!err)
        err = page_answer(&page, more, out);
    json_decref(page.items);
    free(ids);
    free(rec);
    return err;
}

/*  accounts_query.c: account.query's list, get, ledger and open, and the
    dispatch of every op (issue 21's in accounts_query_history.c). See
    accounts_query.h. */
#include "accounts_query.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "accounts_book.h"
#include "accounts_cache.h"
#include "accounts_open.h"
#include "text.h"

void accounts_query_reply_status(proto_account_reply_t *r, uint32_t status, const char *code,
                                 const char *reason)
{
    r->status = status;
    text_copy(r->code, sizeof r->code, code);
    text_copy(r->reason, sizeof r->reason, reason);
}

uint32_t accounts_query_page_limit(uint32_t asked)
{
    if (asked == 0)
        return ACCOUNTS_PAGE_DEFAULT;
    return asked > PROTO_PAGE_MAX ? PROTO_PAGE_MAX : asked;
}

ledger_err_t accounts_query_reply_account(proto_account_reply_t *r, const accounts_record_t *rec)
{
    r->accounts = calloc(1, sizeof *r->accounts);
    if (!r->accounts)
        return LEDGER_E_NOMEM;
    r->account_count = 1;
    accounts_book_to_proto(rec, &r->accounts[0]);
    r->status = ACCOUNTS_STATUS_OK;
    return LEDGER_OK;
}

static ledger_err_t query_list(node_ctx_t *ctx, const proto_query_t *q, proto_account_reply_t *r)
{
    uint32_t limit = accounts_query_page_limit(q->limit);
    r->accounts = calloc(limit, sizeof *r->accounts);
    if (!r->accounts)
        return LEDGER_E_NOMEM;
    store_cursor_t *cur;
    ledger_err_t err = store_cursor_open(ctx->txn, STORE_DB_ACCOUNTS, &cur);
    if (err)
        return err;
    store_kv_t kv;
    size_t after_len = text_len_within(q->after, PROTO_ACCOUNT_ID_MAX);
    if (after_len) {
        kv.key = q->after;
        kv.key_size = after_len;
        err = store_cursor_get(cur, STORE_SEEK, &kv);
        if (!err && kv.key_size == after_len && memcmp(kv.key, q->after, after_len) == 0)
            err = store_cursor_get(cur, STORE_NEXT, &kv); /* the page starts after the cursor */
    } else {
        err = store_cursor_get(cur, STORE_FIRST, &kv);
    }
    while (!err && r->account_count < limit) {
        accounts_record_t rec;
        err = accounts_record_decode(kv.val, kv.val_size, &rec);
        if (err)
            break;
        if (ctx->state)
            accounts_cache_get(ctx->state, rec.id, &rec); /* its newest value if dirty */
        accounts_book_to_proto(&rec, &r->accounts[r->account_count++]);
        err = store_cursor_get(cur, STORE_NEXT, &kv);
    }
    store_cursor_close(&cur);
    if (err == LEDGER_OK) /* one more account follows this page */
        text_copy(r->next, sizeof r->next, r->accounts[r->account_count - 1].id);
    else if (err != LEDGER_E_NOT_FOUND)
        return err;
    r->status = ACCOUNTS_STATUS_OK;
    return LEDGER_OK;
}

/*  Loads the account the query names. When there is none, `r` is the 404
    answer and LEDGER_E_NOT_FOUND comes back (the query itself succeeded). */
ledger_err_t accounts_query_load(node_ctx_t *ctx, const proto_query_t *q, accounts_record_t *rec,
                                 proto_account_reply_t *r)
{
    ledger_err_t err = accounts_book_load(ctx, q->account, rec);
    if (err == LEDGER_E_NOT_FOUND)
        accounts_query_reply_status(r, ACCOUNTS_STATUS_NOT_FOUND, "not_found", "no such account");
    return err;
}

static ledger_err_t query_get(node_ctx_t *ctx, const proto_query_t *q, proto_account_reply_t *r)
{
    accounts_record_t rec;
    ledger_err_t err = accounts_query_load(ctx, q, &rec, r);
    if (err)
        return err == LEDGER_E_NOT_FOUND ? LEDGER_OK : err;
    return accounts_query_reply_account(r, &rec);
}

void accounts_query_entry_row(const store_ledger_entry_t *e, proto_ledger_row_t *row)
{
    memset(row, 0, sizeof *row);
    row->seq = e->seq;
    text_copy(row->account, sizeof row->account, e->account);
    text_copy(row->transfer, sizeof row->transfer, e->transfer);
    text_copy(row->kind, sizeof row->kind, e->kind);
    /* entries that move only the held amount show it (a void or expiry releases a hold) */
    bool moves_hold = e->balance_delta_minor == 0 && e->held_delta_minor != 0;
    row->amount_minor = moves_hold ? e->held_delta_minor : e->balance_delta_minor;
    row->balance_after_minor = e->balance_after_minor;
    row->held_after_minor = e->held_after_minor;
    row->ts_ms = e->ts_ms;
    text_copy(row->memo, sizeof row->memo, e->memo);
}

static ledger_err_t query_ledger(node_ctx_t *ctx, const proto_query_t *q, proto_account_reply_t *r)
{
    accounts_record_t rec;
    ledger_err_t err = accounts_query_load(ctx, q, &rec, r);
    if (err)
        return err == LEDGER_E_NOT_FOUND ? LEDGER_OK : err;
    uint32_t limit = accounts_query_page_limit(q->limit);
    /* One entry more than the page, to know whether a next page exists. */
    store_ledger_entry_t *entries = calloc((size_t)limit + 1, sizeof *entries);
    if (!entries)
        return LEDGER_E_NOMEM;
    size_t count = 0;
    err = store_ledger_by_account(ctx->txn, rec.id, rec.ledger_seq, q->cursor, entries,
                                  (size_t)limit + 1, &count);
    if (err == LEDGER_E_NOT_FOUND) { /* the cursor is not one of this account's entries */
        free(entries);
        accounts_query_reply_status(
            r, ACCOUNTS_STATUS_BAD_REQUEST, "invalid_cursor",
            "cursor must be the next_cursor of a previous page of this account's ledger");
        return LEDGER_OK;
    }
    if (!err && count > 0) {
        size_t rows = count > limit ? limit : count;
        r->entries = calloc(rows, sizeof *r->entries);
        if (!r->entries)
            err = LEDGER_E_NOMEM;
        for (size_t i = 0; !err && i < rows; i++)
            accounts_query_entry_row(&entries[i], &r->entries[r->entry_count++]);
        if (!err && count > limit)
            text_format(r->next, sizeof r->next, "%" PRIu64, entries[rows - 1].seq);
    }
    free(entries);
    if (err)
        return err;
    r->status = ACCOUNTS_STATUS_OK;
    return LEDGER_OK;
}

static ledger_err_t query_open(node_ctx_t *ctx, const proto_query_t *q, proto_account_reply_t *r)
{
    accounts_open_result_t res;
    ledger_err_t err = accounts_open_account(ctx, q->account, q->name, q->currency, q->owner,
                                             q->amount_minor, &res);
    if (err)
        return err;
    if (res.status != ACCOUNTS_STATUS_OK && res.status != ACCOUNTS_STATUS_CREATED) {
        accounts_query_reply_status(r, res.status, res.code, res.reason);
        return LEDGER_OK;
    }
    err = accounts_query_reply_account(r, &res.account);
    if (!err)
        r->status = res.status; /* 201 created, or 200 when it existed already */
    return err;
}

ledger_err_t accounts_query(node_ctx_t *ctx, const proto_msg_t *query, proto_msg_t *reply)
{
    assert(ctx && ctx->txn && query && reply);
    memset(reply, 0, sizeof *reply);
    if (query->type != PROTO_ACCOUNT_QUERY)
        return LEDGER_E_INVALID;
    reply->v = PROTO_VERSION;
    reply->type = PROTO_ACCOUNT_REPLY;
    text_copy(reply->corr, sizeof reply->corr, query->corr);
    proto_account_reply_t *r = &reply->body.account_reply;
    const proto_query_t *q = &query->body.query;
    ledger_err_t err;
    switch (q->op) {
    case PROTO_QUERY_LIST:
        err = query_list(ctx, q, r);
        break;
    case PROTO_QUERY_GET:
        err = query_get(ctx, q, r);
        break;
    case PROTO_QUERY_LEDGER:
        err = query_ledger(ctx, q, r);
        break;
    case PROTO_QUERY_OPEN:
        err = query_open(ctx, q, r);
        break;
    case PROTO_QUERY_UPDATE:
        err = accounts_query_update(ctx, q, r);
        break;
    case PROTO_QUERY_BALANCE_AT:
        err = accounts_query_balance_at(ctx, q, r);
        break;
    case PROTO_QUERY_STATEMENT:
        err = accounts_query_statement(ctx, q, r);
        break;
    case PROTO_QUERY_HOLDS:
        err = accounts_query_holds(ctx, q, r);
        break;
    default:
        err = LEDGER_E_INVALID;
        break;
    }
    if (!err && r->account_count == 0) {
        free(r->accounts); /* an empty page carries no array */
        r->accounts = NULL;
    }
    if (err) {
        free(r->accounts);
        free(r->entries);
        free(r->holds);
        memset(reply, 0, sizeof *reply);
    }
    return err;
}

/*  accounts_query_history.c: account.query's ops of issue 21: update (the
    controls, accounts_controls.h), balance_at and statement (the ledger's
    past, accounts_history.h). See accounts_query.h. */
#include "accounts_query.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "accounts_book.h"
#include "accounts_controls.h"
#include "accounts_history.h"
#include "accounts_open.h"
#include "text.h"

ledger_err_t accounts_query_update(node_ctx_t *ctx, const proto_query_t *q,
                                   proto_account_reply_t *r)
{
    accounts_controls_result_t res;
    ledger_err_t err = accounts_controls_update(ctx, q->account, q->principal, q->status,
                                                q->overdraft_limit_minor, &res);
    if (err)
        return err;
    if (res.status != ACCOUNTS_STATUS_OK) {
        accounts_query_reply_status(r, res.status, res.code, res.reason);
        return LEDGER_OK;
    }
    return accounts_query_reply_account(r, &res.account);
}

ledger_err_t accounts_query_balance_at(node_ctx_t *ctx, const proto_query_t *q,
                                       proto_account_reply_t *r)
{
    accounts_record_t rec;
    ledger_err_t err = accounts_query_load(ctx, q, &rec, r);
    if (err)
        return err == LEDGER_E_NOT_FOUND ? LEDGER_OK : err;
    err =
        accounts_history_balance_at(ctx->txn, &rec, q->at_ms, &rec.balance_minor, &rec.held_minor);
    return err ? err : accounts_query_reply_account(r, &rec);
}

/* The entries of one statement page into r->entries (ascending), and `next`. */
static ledger_err_t statement_rows(const store_ledger_entry_t *entries,
                                   const accounts_statement_page_t *page, proto_account_reply_t *r)
{
    if (page->count == 0)
        return LEDGER_OK;
    r->entries = calloc(page->count, sizeof *r->entries);
    if (!r->entries)
        return LEDGER_E_NOMEM;
    for (size_t i = 0; i < page->count; i++)
        accounts_query_entry_row(&entries[i], &r->entries[r->entry_count++]);
    if (page->more)
        text_format(r->next, sizeof r->next, "%" PRIu64, page->last);
    return LEDGER_OK;
}

ledger_err_t accounts_query_statement(node_ctx_t *ctx, const proto_query_t *q,
                                      proto_account_reply_t *r)
{
    accounts_record_t rec;
    ledger_err_t err = accounts_query_load(ctx, q, &rec, r);
    if (err)
        return err == LEDGER_E_NOT_FOUND ? LEDGER_OK : err;
    if (q->from_ms >= q->to_ms) { /* proto validation refuses it first */
        accounts_query_reply_status(r, ACCOUNTS_STATUS_BAD_REQUEST, "invalid",
                                    "from must be before to");
        return LEDGER_OK;
    }
    uint32_t limit = accounts_query_page_limit(q->limit);
    store_ledger_entry_t *entries = calloc(limit, sizeof *entries);
    if (!entries)
        return LEDGER_E_NOMEM;
    accounts_statement_page_t page;
    err = accounts_history_statement(ctx->txn, &rec, q->from_ms, q->to_ms, q->cursor, limit,
                                     entries, &page);
    if (err == LEDGER_E_NOT_FOUND) {
        free(entries);
        accounts_query_reply_status(r, ACCOUNTS_STATUS_BAD_REQUEST, "invalid_cursor",
                                    "cursor must be the next of a previous page of this statement");
        return LEDGER_OK;
    }
    if (!err)
        err = statement_rows(entries, &page, r);
    free(entries);
    if (err)
        return err;
    rec.balance_minor = page.opening_balance_minor;
    rec.held_minor = page.opening_held_minor;
    return accounts_query_reply_account(r, &rec);
}

/*  accounts_query_holds.c: account.query's op holds (issue 21): an account
    and its open holds, from one read (GET /api/accounts/{id}?expand=holds).
    The holds come from the saga's index of authorised transfers and the
    in-memory set of reserved ones (accounts_holds_list, accounts_holds.h). See accounts_query.h. */
#include "accounts_query.h"

#include "accounts_book.h"
#include "accounts_holds.h"

#include <stdlib.h>
#include <string.h>

ledger_err_t accounts_query_holds(node_ctx_t *ctx, const proto_query_t *q, proto_account_reply_t *r)
{
    accounts_record_t rec;
    ledger_err_t err = accounts_query_load(ctx, q, &rec, r);
    if (err)
        return err == LEDGER_E_NOT_FOUND ? LEDGER_OK : err;
    uint32_t limit = accounts_query_page_limit(q->limit), count = 0;
    proto_hold_t *holds = calloc(limit, sizeof *holds);
    if (!holds)
        return LEDGER_E_NOMEM;
    err = accounts_holds_list(ctx->txn, accounts_book_reserved(ctx), rec.id, q->after, limit, holds,
                              &count, r->next);
    if (err || count == 0) {
        free(holds); /* an empty page carries no array */
        holds = NULL;
    }
    if (err)
        return err;
    r->holds = holds;
    r->hold_count = count;
    return accounts_query_reply_account(r, &rec);
}

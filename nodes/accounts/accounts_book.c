/*  accounts_book.c: an account's newest value (the balance cache, then the
    table), saving it, and its ledger entries. See accounts_book.h. */
#include "accounts_book.h"

#include <assert.h>
#include <string.h>

#include "accounts_cache.h"
#include "accounts_history.h"
#include "text.h"

ledger_err_t accounts_book_load(node_ctx_t *ctx, const char *id, accounts_record_t *rec_out)
{
    assert(ctx && ctx->txn && id && rec_out);
    if (ctx->state && accounts_cache_get(ctx->state, id, rec_out))
        return LEDGER_OK;
    return accounts_record_get(ctx->txn, id, rec_out);
}

/* A new account is always written: the start-up replay needs its record (name, currency) in the
   table. */
accounts_reserved_t *accounts_book_reserved(node_ctx_t *ctx)
{
    assert(ctx);
    return ctx->state ? accounts_cache_reserved(ctx->state) : NULL;
}

ledger_err_t accounts_book_save(node_ctx_t *ctx, const accounts_record_t *rec, bool is_new)
{
    assert(ctx && ctx->txn && rec);
    if (ctx->state && !is_new)
        return accounts_cache_put(ctx->state, rec);
    return accounts_record_put(ctx->txn, rec);
}

ledger_err_t accounts_book_append(node_ctx_t *ctx, accounts_record_t *acct, const char *transfer,
                                  const char *kind, int64_t balance_delta_minor,
                                  int64_t held_delta_minor)
{
    return accounts_book_append_memo(ctx, acct, transfer, kind, "", balance_delta_minor,
                                     held_delta_minor);
}

ledger_err_t accounts_book_append_memo(node_ctx_t *ctx, accounts_record_t *acct,
                                       const char *transfer, const char *kind, const char *memo,
                                       int64_t balance_delta_minor, int64_t held_delta_minor)
{
    assert(ctx && ctx->txn && acct && transfer && kind && memo);
    store_ledger_entry_t e;
    memset(&e, 0, sizeof e);
    e.account_prev_seq = acct->ledger_seq;
    text_copy(e.account, sizeof e.account, acct->id);
    text_copy(e.transfer, sizeof e.transfer, transfer);
    text_copy(e.kind, sizeof e.kind, kind);
    e.balance_delta_minor = balance_delta_minor;
    e.held_delta_minor = held_delta_minor;
    e.balance_after_minor = acct->balance_minor;
    e.held_after_minor = acct->held_minor;
    e.ts_ms = ctx->now_ms;
    text_copy(e.memo, sizeof e.memo, memo);
    ledger_err_t err = store_ledger_append(ctx->txn, &e);
    if (err)
        return err;
    acct->ledger_seq = e.seq;
    acct->entry_count++;
    return accounts_history_note(ctx->txn, acct, e.seq);
}

void accounts_book_to_proto(const accounts_record_t *rec, proto_account_t *out)
{
    assert(rec && out);
    memset(out, 0, sizeof *out);
    text_copy(out->id, sizeof out->id, rec->id);
    text_copy(out->name, sizeof out->name, rec->name);
    text_copy(out->currency, sizeof out->currency, rec->currency);
    out->balance_minor = rec->balance_minor;
    out->held_minor = rec->held_minor;
    out->settlement = rec->settlement;
    text_copy(out->owner, sizeof out->owner, rec->owner);
    text_copy(out->status, sizeof out->status, accounts_record_status_name(rec->status));
    out->overdraft_limit_minor = rec->overdraft_limit_minor;
}

ledger_err_t accounts_book_get(node_ctx_t *ctx, const char *id, proto_account_t *out)
{
    assert(out);
    accounts_record_t rec;
    ledger_err_t err = accounts_book_load(ctx, id, &rec);
    if (err)
        return err;
    accounts_book_to_proto(&rec, out);
    return LEDGER_OK;
}

/*  accounts_book.h: the accounts as the handlers see them: an account's
    newest value (the node's balance cache first, then the accounts table),
    saving a changed account, and appending its ledger entries.

    Shared by the saga handlers (accounts_saga), opening (accounts_open) and
    the queries (accounts_query), so each reads and writes balances the same
    way. Pure logic over ctx->txn and ctx->state: no sockets, clocks or logs.

    Balances in memory: when ctx->state is an accounts_cache_t (the node
    does this; tests and the bench seeder may not), changed account records
    stay there and reach the accounts table in checkpoints; reads here see
    them first. New accounts are always written to the table (the start-up
    replay needs their name and currency). See accounts_cache.h.

    Ledger entries (store_ledger_append, hash-chained, append-only) carry the
    account's balance and held amount after the entry, and ctx->now_ms:
      hold     source       balance_delta 0        held_delta +amount
      release  source       balance_delta 0        held_delta -amount
      debit    source       balance_delta -amount  held_delta -amount
      credit   destination  balance_delta +amount  held_delta 0
                            (+captured for a capture)
      capture  source       balance_delta -captured held_delta -authorised
      void     source       balance_delta 0        held_delta -authorised
      expire   source       balance_delta 0        held_delta -authorised
      (release also ends a hold whose fraud verdict did not come in time)
      open     funding      balance_delta -deposit (transfer = new account id)
      open     new account  balance_delta +deposit (transfer = new account id)
      status   the account  0, 0 (transfer "", memo "<principal>: <old> -> <new>")
      overdraft the account 0, 0 (transfer "", memo "<principal>: <old> -> <new>")
    Every movement of a balance has its opposite leg, so the sum of all
    balances (funding included, which goes negative) is always 0.

    Each append also counts the entry in the record (entry_count) and, for
    every 64th, writes the account's history checkpoint (accounts_history.h).
    The ledger keeps ts_ms from going down (store.h: an entry stamped
    before the previous one gets the previous one's ts_ms).

    Errors: LEDGER_E_NOT_FOUND, LEDGER_E_CORRUPT, LEDGER_E_NOMEM (the
    cache), store errors. A NULL ctx or transaction is a programmer error
    (asserted).

    Thread: the one thread that owns ctx->txn.
*/
#ifndef LEDGER_ACCOUNTS_BOOK_H
#define LEDGER_ACCOUNTS_BOOK_H

#include <stdbool.h>
#include <stdint.h>
#include "accounts_kinds.h"
#include "accounts_record.h"
#include "accounts_reserved.h"
#include "ledger_err.h"
#include "node_ctx.h"
#include "proto.h"

/* Ledger entry kinds (the table above): accounts_kinds.h. */

/* The account's newest value: the cache first (dirty records), then the table.
   Same errors as accounts_record_get. */
ledger_err_t accounts_book_load(node_ctx_t *ctx, const char *id, accounts_record_t *rec_out);

/* The node's in-memory holds of reserved transfers (accounts_reserved.h); NULL without the
   balance cache (tests, the seeder, on_start and the retention: holds then go to "hd/"). */
accounts_reserved_t *accounts_book_reserved(node_ctx_t *ctx);

/*  Saves an account's new value: kept in the node's cache when it has one
    (the ledger entries of the change are in this transaction), else
    written. `is_new`: the account is new, always written to the table.
    LEDGER_E_NOMEM, LEDGER_E_INVALID (a field breaks its limit), store errors. */
ledger_err_t accounts_book_save(node_ctx_t *ctx, const accounts_record_t *rec, bool is_new);

/*  Appends one ledger entry for `acct`, whose record already holds the
    after values, chained onto the account's newest entry; moves
    acct->ledger_seq to the new entry and counts it in acct->entry_count
    (the caller then saves the record). `kind` is one of ACCOUNTS_KIND_*.
    Store errors. */
ledger_err_t accounts_book_append(node_ctx_t *ctx, accounts_record_t *acct, const char *transfer,
                                  const char *kind, int64_t balance_delta_minor,
                                  int64_t held_delta_minor);

/*  accounts_book_append with a memo (0 .. STORE_MEMO_MAX bytes, else
    LEDGER_E_INVALID): the audit entries of the controls (kinds status and
    overdraft, accounts_controls.h). */
ledger_err_t accounts_book_append_memo(node_ctx_t *ctx, accounts_record_t *acct,
                                       const char *transfer, const char *kind, const char *memo,
                                       int64_t balance_delta_minor, int64_t held_delta_minor);

/* The reply shape of an account record (proto's account). */
void accounts_book_to_proto(const accounts_record_t *rec, proto_account_t *out);

/*  Reads the account `id` in its reply shape, as of ctx->txn and the node's
    dirty records (ctx->state). Same errors as accounts_record_get. */
ledger_err_t accounts_book_get(node_ctx_t *ctx, const char *id, proto_account_t *out);

#endif

/*  gateway_owners.h: who owns which account, and which transfers each
    principal may see, as records in the gateway's store.

    An account has exactly one owner principal, set when it is opened
    (POST /api/accounts names it) and never changed. The accounts node keeps
    the owner on its account record and checks it again on every
    transfer.requested; the gateway keeps this map so that it can refuse a
    transfer from an account the caller does not own BEFORE anything is
    committed, without a round trip per request (one LMDB get in the
    submission's own transaction: gateway_owners_owns), and filter every read.

    What it owns: these records in STORE_DB_INDEX (beside "idem/", "evt/" and
    "auth/"; ids follow the account-id rule, so they hold no '/'):
      "own/a/" + account                  -> owner principal id (bytes, no NUL)
      "own/p/" + principal + "/" + account -> ""   (a principal's accounts, by id)
      "pt/" + principal + "/" + transfer id -> ""   (the transfers a principal
                                                     may see, oldest first:
                                                     ids are time-ordered)
    Settlement accounts (owner "") have no entry: nobody owns them.
    An entry of the map is never overwritten: a second owner for an account
    is refused (LEDGER_E_EXISTS), the same owner again is a no-op. The
    transfer index is written when a transfer is committed, for the owner of
    `from` (the caller) and the owner of `to` when the map knows it
    (gateway_view.c), and built for older transfers by the store migration
    3 -> 4 (gateway_migrate.h).

    Who sees what (gateway_owners_sees_all): an operator (kind operator) sees
    every account and transfer its scopes allow; a customer sees its own
    accounts and the transfers indexed for it, and on /api/events the events
    that name it as a viewer (gateway_owners_viewers, stored on each event by
    gateway_events.h: the same principals the index holds).

    Errors: LEDGER_E_INVALID (an id that breaks the account-id rule, a
    transfer id that is not one), LEDGER_E_EXISTS (the account has another
    owner), LEDGER_E_NOT_FOUND (no entry), LEDGER_E_CORRUPT (a stored owner
    that is not an id), store errors. A NULL txn is a bug.

    The owner cache (gateway_owners_cache_t): an entry of the map never changes once written
    and is never deleted, so an owner read once stays true for the life of the process. The
    node loop, which reads the map for every submission and every saga event (the ownership
    check, the transfer index, the events' viewers) but never writes it, keeps the owners it
    read in a cache of its own (node_ctx_t.state of the gateway) and skips the store for them
    (bench/callgrind.py: the gets were 17k of the gateway's 29k instructions per transfer that
    ownership added). Only found owners are kept (an account the map does not know yet may be
    given one later); a lookup through a NULL cache reads the store. Its size is fixed
    (GATEWAY_OWNERS_CACHE_SLOTS, direct-mapped: a colliding account replaces the slot).

    Threads: no state but the cache, which belongs to the one thread that passes it (the
    loop); any thread that owns the transaction.
*/
#ifndef LEDGER_GATEWAY_OWNERS_H
#define LEDGER_GATEWAY_OWNERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "gateway_auth.h"
#include "ledger_err.h"
#include "proto.h"
#include "store.h"

#define GATEWAY_OWNERS_ACCOUNT_PREFIX "own/a/"
#define GATEWAY_OWNERS_PRINCIPAL_PREFIX "own/p/"
#define GATEWAY_OWNERS_TRANSFER_PREFIX "pt/"
#define GATEWAY_OWNERS_PAGE_MAX 200 /* accounts or transfers in one page of a principal's */
#define GATEWAY_OWNERS_TRANSFER_ID_MAX PROTO_TRANSFER_ID_MAX

#define GATEWAY_OWNERS_CACHE_SLOTS                                                                 \
    65536 /* owners the loop's cache holds (a power of two; 8.5 MB) */

typedef struct gateway_owners_cache gateway_owners_cache_t;

/* An empty owner cache (NULL when out of memory: lookups then read the store). */
gateway_owners_cache_t *gateway_owners_cache_new(void);
/* Frees it; sets *cache_p to NULL. Safe on NULL. */
void gateway_owners_cache_destroy(gateway_owners_cache_t **cache_p);

/*  True if `caller` sees every account and transfer (an operator; the
    route's scope was checked by the guard). */
bool gateway_owners_sees_all(const gateway_auth_caller_t *caller);

/*  Records `owner` as the owner of `account` (both account ids). *added_out
    (may be NULL): true if written now, false if the same owner was there.
    LEDGER_E_EXISTS (nothing written) if another owner is recorded. */
ledger_err_t gateway_owners_put(store_txn_t *txn, const char *account, const char *owner,
                                bool *added_out);

/* The owner of `account` into owner_out. LEDGER_E_NOT_FOUND if the map has none. */
ledger_err_t gateway_owners_get(store_txn_t *txn, const char *account,
                                char owner_out[PROTO_ACCOUNT_ID_MAX + 1]);

/*  *owns_out: true if `principal` owns `account` (one get, none on a hit of `cache`, which may
    be NULL). A principal "" owns nothing (no read). Store errors; LEDGER_OK otherwise. */
ledger_err_t gateway_owners_owns(gateway_owners_cache_t *cache, store_txn_t *txn,
                                 const char *principal, const char *account, bool *owns_out);

/*  A page of `principal`'s accounts, by id, strictly after `after` (NULL or
    "" from the first): up to `limit` (1..GATEWAY_OWNERS_PAGE_MAX) ids into
    ids[], *count_out of them, *more_out if more follow. */
ledger_err_t gateway_owners_accounts(store_txn_t *txn, const char *principal, const char *after,
                                     uint32_t limit, char (*ids)[PROTO_ACCOUNT_ID_MAX + 1],
                                     size_t *count_out, bool *more_out);

/*  Who may see a transfer from `from` to `to` besides operators, the two viewers of its events
    (gateway_events.h): viewers[0] = `sender` when given (non-NULL, non-empty: the principal
    that sent it, who owns `from` or deposited), else the owner of `from`; viewers[1] = the
    owner of `to` unless it is viewers[0]. "" where there is none (a settlement account, an
    account the map does not know). With `currency` (may be NULL), the settlement account of
    that currency has no owner even if the map names one: a customer's account opened under a
    settlement id before its currency existed (accounts_open.h) is not shown the withdrawals
    of others. At most two gets, none for owners in `cache` (may be NULL). Store errors,
    LEDGER_E_CORRUPT. */
ledger_err_t gateway_owners_viewers(gateway_owners_cache_t *cache, store_txn_t *txn,
                                    const char *sender, const char *from, const char *to,
                                    const char *currency,
                                    char viewers[2][PROTO_ACCOUNT_ID_MAX + 1]);

/* Indexes transfer `transfer_id` for `principal` (idempotent). */
ledger_err_t gateway_owners_index_transfer(store_txn_t *txn, const char *principal,
                                           const char *transfer_id);

/*  Deletes the index entry of transfer `transfer_id` for `principal` (the view's retention,
    gateway_view_prune.h); LEDGER_OK when there was none. */
ledger_err_t gateway_owners_unindex_transfer(store_txn_t *txn, const char *principal,
                                             const char *transfer_id);

/*  LEDGER_OK if `caller` may read transfer `transfer_id` (an operator: any; a customer: one
    indexed for it), else LEDGER_E_NOT_FOUND, the answer of a transfer that does not exist.
    Store errors. */
ledger_err_t gateway_owners_check_transfer(store_txn_t *txn, const gateway_auth_caller_t *caller,
                                           const char *transfer_id);

/* *sees_out: true if transfer `transfer_id` is indexed for `principal` (one get). */
ledger_err_t gateway_owners_sees_transfer(store_txn_t *txn, const char *principal,
                                          const char *transfer_id, bool *sees_out);

/*  A page of the transfers indexed for `principal`, newest first, strictly
    older than `before` (NULL or "" from the newest): up to `limit`
    (1..GATEWAY_OWNERS_PAGE_MAX) ids into ids[], *count_out of them,
    *more_out if older ones follow. */
ledger_err_t gateway_owners_transfers(store_txn_t *txn, const char *principal, const char *before,
                                      uint32_t limit,
                                      char (*ids)[GATEWAY_OWNERS_TRANSFER_ID_MAX + 1],
                                      size_t *count_out, bool *more_out);

#endif

/*  reconcile_holds.h: money held against the transfers that hold it.

    At the accounts node an account's held amount (the ledger's running
    held_after) must equal the sum of the amounts of its transfers still
    reserved: a hold left behind by a transfer that is final, or a reserved
    transfer whose hold is missing, is a disagreement. The walk of the
    transfers adds each reserved transfer's amount under its source account;
    compare then recomputes every account's held amount from the ledger
    (store_ledger_verify's balances) and reports each account where the two
    differ, one line each.

    What it owns: the per-account sums (reconcile_holds_free).
    Errors: LEDGER_E_NOMEM, LEDGER_E_OVERFLOW (a sum past int64), store errors.
    Threads: the caller's.
*/
#ifndef LEDGER_RECONCILE_HOLDS_H
#define LEDGER_RECONCILE_HOLDS_H

#include <stddef.h>
#include <stdint.h>
#include "ledger_err.h"
#include "proto.h"
#include "store.h"

typedef struct {
    char account[PROTO_ACCOUNT_ID_MAX + 1];
    int64_t reserved_minor; /* sum of the reserved transfers' amounts */
    int64_t held_minor;     /* the ledger's held amount (compare) */
    bool in_ledger;
} reconcile_hold_t;

typedef struct {
    reconcile_hold_t *items;
    size_t count;
    size_t cap;
    bool sorted; /* by account, one item per account (compare merges them) */
} reconcile_holds_t;

void reconcile_holds_init(reconcile_holds_t *self);
void reconcile_holds_free(reconcile_holds_t *self);

/* Adds a reserved transfer of `amount_minor` from `account`. */
ledger_err_t reconcile_holds_add(reconcile_holds_t *self, const char *account,
                                 int64_t amount_minor);

/*  Walks the ledger of `txn` (the accounts node's) and calls line_fn once per
    account whose held amount differs from its reserved transfers' sum. */
ledger_err_t reconcile_holds_compare(reconcile_holds_t *self, store_txn_t *txn,
                                     void (*line_fn)(void *ctx, const char *line), void *ctx);

#endif

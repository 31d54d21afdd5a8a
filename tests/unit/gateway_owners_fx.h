/*  gateway_owners_fx.h: the gateway tests' owners: the test principal
    ("tester") owns the accounts its transfers come from (gateway_owners.h),
    as the gateway requires since ownership. Header-only. */
#ifndef LEDGER_GATEWAY_OWNERS_FX_H
#define LEDGER_GATEWAY_OWNERS_FX_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gateway_owners.h"

/* The accounts the tests send from, all the test principal's. */
static const char *const owners_fx_accounts[] = {"alice", "bob", "carol", "a"};
#define OWNERS_FX_PRINCIPAL "tester"

/* Records OWNERS_FX_PRINCIPAL as the owner of every owners_fx_accounts in txn. */
static inline ledger_err_t owners_fx_seed_txn(store_txn_t *txn, void *arg)
{
    (void)arg;
    ledger_err_t err = LEDGER_OK;
    for (size_t i = 0; !err && i < sizeof owners_fx_accounts / sizeof owners_fx_accounts[0]; i++)
        err = gateway_owners_put(txn, owners_fx_accounts[i], OWNERS_FX_PRINCIPAL, NULL);
    return err;
}

/* The same in a write of its own. */
static inline void owners_fx_seed(store_t *store)
{
    assert_int_equal(store_write(store, owners_fx_seed_txn, NULL), LEDGER_OK);
}

#endif

/*  accounts_holds_stub.c: STUB, ONLY IN BRANCH i21-controls. DROP AT MERGE.

    accounts_holds_list belongs to the saga engineer's accounts_holds.c
    (issue 21 contract, section 3), which was not on main when the holds op
    of account.query (accounts_query_holds.c) was written. This stand-in
    has the contract's signature and behaviour for a node with no open
    holds in its index (nothing in this branch writes "hd/" keys): it checks
    the limit and answers an empty page. At merge: delete this file and its
    line in nodes/accounts/CMakeLists.txt; the real module takes its place.
*/
#include <assert.h>

#include "accounts_query.h"

ledger_err_t accounts_holds_list(store_txn_t *txn, const char *account, const char *after,
                                 uint32_t limit, proto_hold_t *out, uint32_t *count_out,
                                 char next[PROTO_TRANSFER_ID_MAX + 1])
{
    assert(txn && account && after && out && count_out && next);
    if (limit == 0 || limit > PROTO_PAGE_MAX)
        return LEDGER_E_INVALID;
    *count_out = 0;
    next[0] = '\0';
    return LEDGER_OK;
}

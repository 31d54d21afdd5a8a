/*  reconcile_fraud.c: the fraud node's decision on a transfer (fraud.h)
    reduced to a reconcile_side_t. The one file of the tools that knows the
    decision record: it reads through fraud_decision_get. */
#include "reconcile_node.h"

#include <stdio.h>
#include <string.h>

#include "fraud.h"
#include "text.h"

ledger_err_t reconcile_fraud_decode(store_txn_t *txn, const char *id, const store_kv_t *kv,
                                    reconcile_side_t *out, char *why, size_t why_size)
{
    (void)kv;
    fraud_decision_t d;
    ledger_err_t err = fraud_decision_get(txn, id, &d);
    if (err != LEDGER_OK) {
        snprintf(why, why_size, "decision does not decode");
        return err == LEDGER_E_NOT_FOUND ? LEDGER_E_CORRUPT : err;
    }
    memset(out, 0, sizeof *out);
    bool approved = d.verdict == FRAUD_APPROVED;
    out->outcome = approved ? RECONCILE_SETTLED : RECONCILE_REJECTED;
    text_copy(out->state, sizeof out->state, approved ? "approved" : "rejected");
    out->updated_ms = d.ts_ms;
    out->amount_minor = d.amount_minor;
    text_copy(out->from, sizeof out->from, d.from);
    return LEDGER_OK;
}

/*  reconcile_gateway.c: the gateway's transfer view (gateway_view_record.h)
    reduced to a reconcile_side_t. The one file of the tools that knows the
    view record: it decodes through gateway_view_record_decode. */
#include "reconcile_node.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway_view_record.h"
#include "text.h"

/* A decline for want of a fraud verdict is the accounts node's timed-out transfer. */
static reconcile_outcome_t outcome_of(const gateway_view_record_t *rec)
{
    switch (rec->status) {
    case GATEWAY_STATUS_SETTLED:
        return RECONCILE_SETTLED;
    case GATEWAY_STATUS_REJECTED_FRAUD:
        return RECONCILE_REJECTED;
    case GATEWAY_STATUS_DECLINED:
        return strcmp(rec->reason_code, PROTO_DECLINE_RISK_UNAVAILABLE) == 0 ? RECONCILE_TIMED_OUT
                                                                             : RECONCILE_DECLINED;
    case GATEWAY_STATUS_AUTHORIZED:
        return RECONCILE_AUTHORIZED;
    case GATEWAY_STATUS_VOIDED:
        return RECONCILE_VOIDED;
    case GATEWAY_STATUS_EXPIRED:
        return RECONCILE_EXPIRED;
    default:
        return RECONCILE_OPEN;
    }
}

ledger_err_t reconcile_gateway_decode(store_txn_t *txn, const char *id, const store_kv_t *kv,
                                      reconcile_side_t *out, char *why, size_t why_size)
{
    (void)txn;
    gateway_view_record_t *rec = malloc(sizeof *rec);
    if (!rec)
        return LEDGER_E_NOMEM;
    ledger_err_t err = gateway_view_record_decode(kv->val, kv->val_size, rec);
    if (err == LEDGER_OK && strcmp(rec->id, id) != 0)
        err = LEDGER_E_CORRUPT;
    if (err != LEDGER_OK) {
        snprintf(why, why_size, "view record does not decode");
        free(rec);
        return err;
    }
    memset(out, 0, sizeof *out);
    out->outcome = outcome_of(rec);
    const char *name = gateway_view_record_status_name(rec->status);
    text_copy(out->state, sizeof out->state, name ? name : "unknown");
    out->updated_ms = rec->updated_ms;
    out->amount_minor = rec->req.amount_minor;
    text_copy(out->from, sizeof out->from, rec->req.from);
    free(rec);
    return LEDGER_OK;
}

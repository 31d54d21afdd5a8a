/*  accounts_cite.h: what a fraud node does for the accounts node's unit
    tests: a verdict's cause is the funds.reserved the accounts node sent for
    its transfer (accounts_saga.h, "Verdict cause"). Header-only.
*/
#ifndef LEDGER_ACCOUNTS_CITE_H
#define LEDGER_ACCOUNTS_CITE_H

#include <inttypes.h>
#include <stdio.h>

#include "accounts_record.h"
#include "node_ctx.h"

/*  Sets the cause of verdict `m` to "<ctx->node_name>/<reserved_seq>" of its transfer as stored
    in ctx->txn; leaves it as it is when the transfer is unknown (the handler then ignores the
    verdict whatever it cites). */
static inline void accounts_cite_reserved(const node_ctx_t *ctx, proto_msg_t *m)
{
    accounts_transfer_t tr;
    if ((m->type == PROTO_FRAUD_APPROVED || m->type == PROTO_FRAUD_REJECTED) &&
        accounts_record_transfer_get(ctx->txn, m->body.verdict.transfer, &tr) == LEDGER_OK)
        snprintf(m->cause, sizeof m->cause, "%s/%" PRIu64, ctx->node_name, tr.reserved_seq);
}

#endif

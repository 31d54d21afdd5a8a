/*  test_msg.h: saga messages as a peer would send them, for the handler
    tests (accounts, fraud, the balance cache). Header-only. */
#ifndef LEDGER_TEST_MSG_H
#define LEDGER_TEST_MSG_H

#include <stdio.h>
#include <string.h>
#include "proto.h"

/* An envelope: version, type, origin/seq (its id), ts and corr; empty body. */
static inline proto_msg_t test_msg(proto_type_t type, const char *origin, uint64_t seq,
                                   uint64_t ts_ms, const char *corr)
{
    proto_msg_t m;
    memset(&m, 0, sizeof m);
    m.v = PROTO_VERSION;
    m.type = type;
    snprintf(m.origin, sizeof m.origin, "%s", origin);
    m.seq = seq;
    snprintf(m.corr, sizeof m.corr, "%s", corr);
    m.ts_ms = ts_ms;
    return m;
}

/* A message with a transfer body (transfer.requested, funds.reserved, ...); corr = the transfer. */
static inline proto_msg_t test_transfer_msg(proto_type_t type, const char *origin, uint64_t seq,
                                            uint64_t ts_ms, const char *transfer, const char *from,
                                            const char *to, int64_t amount_minor,
                                            const char *currency)
{
    proto_msg_t m = test_msg(type, origin, seq, ts_ms, transfer);
    proto_transfer_t *t = &m.body.transfer;
    snprintf(t->transfer, sizeof t->transfer, "%s", transfer);
    snprintf(t->from, sizeof t->from, "%s", from);
    snprintf(t->to, sizeof t->to, "%s", to);
    t->amount_minor = amount_minor;
    snprintf(t->currency, sizeof t->currency, "%s", currency);
    /* sent by the owner of `from`: test accounts are owned by the principal of their id */
    snprintf(t->principal, sizeof t->principal, "%s", from);
    return m;
}

/* An account.query that opens account `id` for `name` in GBP with `deposit_minor`. */
static inline proto_msg_t test_open_msg(const char *origin, uint64_t seq, uint64_t ts_ms,
                                        const char *id, const char *name, int64_t deposit_minor)
{
    proto_msg_t m = test_msg(PROTO_ACCOUNT_QUERY, origin, seq, ts_ms, "");
    proto_query_t *q = &m.body.query;
    q->op = PROTO_QUERY_OPEN;
    snprintf(q->account, sizeof q->account, "%s", id);
    snprintf(q->name, sizeof q->name, "%s", name);
    snprintf(q->currency, sizeof q->currency, "GBP");
    snprintf(q->owner, sizeof q->owner, "%s", id); /* owned by the principal of its id */
    q->amount_minor = deposit_minor;
    return m;
}

#endif

/*  make_proto_corpus.c: writes the fuzz seed corpus, one valid frame per
    message type (and per account.query op) as a binary file.

    Usage: make_proto_corpus DIR     (e.g. tests/fuzz/corpus/proto)
    Files are named after the type: transfer.requested.msgpack, ...
    Rerun it whenever the wire format changes, and commit the result.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

static proto_account_t accounts[2] = {
    {.id = "acc-alice",
     .name = "Alice Smith",
     .currency = "GBP",
     .balance_minor = 125000,
     .held_minor = 2500},
    {.id = "funding",
     .name = "Funding",
     .currency = "GBP",
     .balance_minor = -250000,
     .funding = true},
};

static proto_ledger_row_t entries[2] = {
    {.seq = 8,
     .account = "acc-alice",
     .transfer = "t-0001",
     .kind = "hold",
     .amount_minor = -2500,
     .balance_after_minor = 125000,
     .held_after_minor = 2500,
     .ts_ms = 1764028800100},
    {.seq = 1,
     .account = "acc-alice",
     .transfer = "",
     .kind = "open",
     .amount_minor = 127500,
     .balance_after_minor = 127500,
     .ts_ms = 1764028700000},
};

static proto_msg_t envelope(proto_type_t type, const char *origin, uint64_t seq)
{
    proto_msg_t m;
    memset(&m, 0, sizeof m);
    m.v = PROTO_VERSION;
    snprintf(m.origin, sizeof m.origin, "%s", origin);
    m.seq = seq;
    m.type = type;
    m.ts_ms = 1764028800123;
    return m;
}

static proto_msg_t transfer(proto_type_t type, const char *origin)
{
    proto_msg_t m = envelope(type, origin, 42);
    strcpy(m.corr, "t-0001");
    strcpy(m.cause, "gateway/41");
    strcpy(m.body.transfer.transfer, "t-0001");
    strcpy(m.body.transfer.from, "acc-alice");
    strcpy(m.body.transfer.to, "acc-bob");
    m.body.transfer.amount_minor = 2500;
    strcpy(m.body.transfer.currency, "GBP");
    strcpy(m.body.transfer.reference, "rent");
    return m;
}

static proto_msg_t verdict(proto_type_t type, const char *origin, int rules)
{
    proto_msg_t m = envelope(type, origin, 43);
    strcpy(m.corr, "t-0001");
    strcpy(m.cause, "accounts/42");
    strcpy(m.body.verdict.transfer, "t-0001");
    if (rules) {
        m.body.verdict.rule_count = 2;
        strcpy(m.body.verdict.rules[0], "amount_threshold");
        strcpy(m.body.verdict.rules[1], "velocity");
        strcpy(m.body.verdict.reason, "amount over threshold");
    }
    return m;
}

static int write_frame(const char *dir, const char *name, const proto_msg_t *m)
{
    void *data;
    size_t size;
    char why[256];
    ledger_err_t err = proto_encode(m, &data, &size, why, sizeof why);
    if (err != LEDGER_OK) {
        fprintf(stderr, "make_proto_corpus: %s: %s: %s\n", name, ledger_err_name(err), why);
        return -1;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.msgpack", dir, name);
    FILE *f = fopen(path, "wb");
    int rc = f && fwrite(data, 1, size, f) == size ? 0 : -1;
    if (f && fclose(f) != 0)
        rc = -1;
    if (rc != 0)
        perror(path);
    free(data);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_proto_corpus DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    int rc = 0;
    proto_msg_t m;

    rc |= write_frame(dir, "transfer.requested",
                      (m = transfer(PROTO_TRANSFER_REQUESTED, "gateway"), &m));
    rc |= write_frame(dir, "funds.reserved", (m = transfer(PROTO_FUNDS_RESERVED, "accounts"), &m));
    rc |= write_frame(dir, "transfer.settled",
                      (m = transfer(PROTO_TRANSFER_SETTLED, "accounts"), &m));
    rc |= write_frame(dir, "fraud.approved", (m = verdict(PROTO_FRAUD_APPROVED, "fraud", 0), &m));
    rc |= write_frame(dir, "fraud.rejected", (m = verdict(PROTO_FRAUD_REJECTED, "fraud", 1), &m));
    rc |= write_frame(dir, "transfer.rejected_fraud",
                      (m = verdict(PROTO_TRANSFER_REJECTED_FRAUD, "accounts", 1), &m));

    m = envelope(PROTO_TRANSFER_DECLINED, "accounts", 44);
    strcpy(m.corr, "t-0001");
    strcpy(m.cause, "gateway/41");
    strcpy(m.body.declined.transfer, "t-0001");
    strcpy(m.body.declined.code, "insufficient_funds");
    strcpy(m.body.declined.reason, "available 1000 < amount 2500");
    rc |= write_frame(dir, "transfer.declined", &m);

    m = envelope(PROTO_ACK, "accounts", 45);
    strcpy(m.body.reply.of, "gateway/41");
    rc |= write_frame(dir, "ack", &m);

    m = envelope(PROTO_NACK, "fraud", 46);
    strcpy(m.body.reply.of, "accounts/42");
    strcpy(m.body.reply.code, "decode_error");
    strcpy(m.body.reply.reason, "body.amount_minor: must be > 0");
    rc |= write_frame(dir, "nack", &m);

    m = envelope(PROTO_ACCOUNT_QUERY, "gateway", 47);
    m.body.query.op = PROTO_QUERY_LIST;
    strcpy(m.body.query.after, "acc-alice");
    m.body.query.limit = 50;
    rc |= write_frame(dir, "account.query.list", &m);

    m = envelope(PROTO_ACCOUNT_QUERY, "gateway", 48);
    m.body.query.op = PROTO_QUERY_GET;
    strcpy(m.body.query.account, "acc-alice");
    rc |= write_frame(dir, "account.query.get", &m);

    m = envelope(PROTO_ACCOUNT_QUERY, "gateway", 49);
    m.body.query.op = PROTO_QUERY_LEDGER;
    strcpy(m.body.query.account, "acc-alice");
    m.body.query.cursor = 9;
    m.body.query.limit = 20;
    rc |= write_frame(dir, "account.query.ledger", &m);

    m = envelope(PROTO_ACCOUNT_QUERY, "gateway", 50);
    m.body.query.op = PROTO_QUERY_OPEN;
    strcpy(m.body.query.account, "acc-carol");
    strcpy(m.body.query.name, "Carol Jones");
    strcpy(m.body.query.currency, "GBP");
    m.body.query.amount_minor = 10000;
    rc |= write_frame(dir, "account.query.open", &m);

    m = envelope(PROTO_ACCOUNT_REPLY, "accounts", 51);
    strcpy(m.cause, "gateway/48");
    m.body.account_reply.status = 200;
    m.body.account_reply.account_count = 2;
    m.body.account_reply.accounts = accounts;
    m.body.account_reply.entry_count = 2;
    m.body.account_reply.entries = entries;
    strcpy(m.body.account_reply.next, "funding");
    rc |= write_frame(dir, "account.reply", &m);

    return rc ? 1 : 0;
}

/*  proto_samples.h: one valid sample message of every type (and every
    account.query op), for the proto unit tests (through test_proto.h) and
    the fuzz seed corpus (tests/fuzz/make_proto_corpus.c), named by
    sample_names. Header-only and free of cmocka: sample(S_...) returns the
    message by value; an account.reply's accounts, rows and holds point into
    this header's arrays. */
#ifndef LEDGER_PROTO_SAMPLES_H
#define LEDGER_PROTO_SAMPLES_H

#include <string.h>

#include "proto.h"

typedef enum {
    S_REQUESTED,
    S_RESERVED,
    S_SETTLED,
    S_APPROVED,
    S_REJECTED,
    S_REJECTED_FRAUD,
    S_DECLINED,
    S_ACK,
    S_NACK,
    S_QUERY_LIST,
    S_QUERY_GET,
    S_QUERY_LEDGER,
    S_QUERY_OPEN,
    S_REPLY,
    S_AUTHORIZED,
    S_CAPTURE,
    S_VOID,
    S_VOIDED,
    S_EXPIRED,
    S_QUERY_UPDATE,
    S_QUERY_BALANCE_AT,
    S_QUERY_STATEMENT,
    S_QUERY_HOLDS,
    S_REFUND_REQUESTED,
    S__COUNT
} sample_t;

/* A file name for each sample (the fuzz corpus): its type, and a query's op. */
static const char *const sample_names[S__COUNT] = {
    [S_REQUESTED] = "transfer.requested",
    [S_RESERVED] = "funds.reserved",
    [S_SETTLED] = "transfer.settled",
    [S_APPROVED] = "fraud.approved",
    [S_REJECTED] = "fraud.rejected",
    [S_REJECTED_FRAUD] = "transfer.rejected_fraud",
    [S_DECLINED] = "transfer.declined",
    [S_ACK] = "ack",
    [S_NACK] = "nack",
    [S_QUERY_LIST] = "account.query.list",
    [S_QUERY_GET] = "account.query.get",
    [S_QUERY_LEDGER] = "account.query.ledger",
    [S_QUERY_OPEN] = "account.query.open",
    [S_REPLY] = "account.reply",
    [S_AUTHORIZED] = "transfer.authorized",
    [S_CAPTURE] = "transfer.capture",
    [S_VOID] = "transfer.void",
    [S_VOIDED] = "transfer.voided",
    [S_EXPIRED] = "transfer.expired",
    [S_QUERY_UPDATE] = "account.query.update",
    [S_QUERY_BALANCE_AT] = "account.query.balance_at",
    [S_QUERY_STATEMENT] = "account.query.statement",
    [S_QUERY_HOLDS] = "account.query.holds",
    [S_REFUND_REQUESTED] = "transfer.requested.refund",
};

static proto_account_t sample_accounts[2] = {
    {.id = "acc-alice",
     .name = "Alice Smith",
     .currency = "GBP",
     .balance_minor = 125000,
     .held_minor = 2500,
     .settlement = false,
     .owner = "alice",
     .status = "frozen",
     .overdraft_limit_minor = 50000},
    {.id = "funding",
     .name = "",
     .currency = "GBP",
     .balance_minor = -9000000,
     .held_minor = 0,
     .settlement = true,
     .owner = "",
     .status = "active"},
};

static proto_ledger_row_t sample_rows[2] = {
    {.seq = 7,
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
     .held_after_minor = 0,
     .ts_ms = 1764028700000,
     .memo = "opened by alice"},
};

static proto_hold_t sample_holds[2] = {
    {.transfer = "t-0001",
     .amount_minor = 2500,
     .kind = PROTO_TRANSFER_KIND_TRANSFER,
     .capture = PROTO_CAPTURE_MANUAL,
     .created_ms = 1764028800100,
     .expires_at_ms = 1764633600100},
    {.transfer = "t-0002",
     .amount_minor = 700,
     .kind = PROTO_TRANSFER_KIND_REFUND,
     .capture = PROTO_CAPTURE_AUTO,
     .created_ms = 1764028800200,
     .expires_at_ms = 0},
};

static inline proto_msg_t sample(sample_t s)
{
    proto_msg_t m;
    memset(&m, 0, sizeof m);
    m.v = PROTO_VERSION;
    strcpy(m.origin, "gateway");
    m.seq = 42;
    m.ts_ms = 1764028800123;
    strcpy(m.corr, "t-0001");
    strcpy(m.cause, "accounts/41");
    switch (s) {
    case S_REQUESTED:
    case S_RESERVED:
    case S_SETTLED:
        m.type = s == S_REQUESTED  ? PROTO_TRANSFER_REQUESTED
                 : s == S_RESERVED ? PROTO_FUNDS_RESERVED
                                   : PROTO_TRANSFER_SETTLED;
        strcpy(m.body.transfer.transfer, "t-0001");
        strcpy(m.body.transfer.from, "acc-alice");
        strcpy(m.body.transfer.to, "acc-bob");
        m.body.transfer.amount_minor = 2500;
        strcpy(m.body.transfer.currency, "GBP");
        strcpy(m.body.transfer.reference, "rent for März");
        strcpy(m.body.transfer.principal, "alice");
        m.body.transfer.kind =
            s == S_SETTLED ? PROTO_TRANSFER_KIND_WITHDRAWAL : PROTO_TRANSFER_KIND_DEPOSIT;
        if (s == S_SETTLED)
            m.body.transfer.captured_minor = 2500;
        break;
    case S_AUTHORIZED:
    case S_REFUND_REQUESTED:
        m.type = s == S_AUTHORIZED ? PROTO_TRANSFER_AUTHORIZED : PROTO_TRANSFER_REQUESTED;
        strcpy(m.origin, "accounts");
        strcpy(m.body.transfer.transfer, "t-0001");
        strcpy(m.body.transfer.from, "acc-alice");
        strcpy(m.body.transfer.to, "acc-bob");
        m.body.transfer.amount_minor = 2500;
        strcpy(m.body.transfer.currency, "EUR");
        strcpy(m.body.transfer.reference, "order 77");
        strcpy(m.body.transfer.principal, "alice");
        if (s == S_AUTHORIZED) {
            m.body.transfer.capture = PROTO_CAPTURE_MANUAL;
            m.body.transfer.expires_at_ms = 1764633600123;
        } else {
            m.body.transfer.kind = PROTO_TRANSFER_KIND_REFUND;
            strcpy(m.body.transfer.refund_of, "t-0000");
            strcpy(m.body.transfer.principal, "ops");
            m.body.transfer.operator_scope = true;
        }
        break;
    case S_CAPTURE:
    case S_VOID:
        m.type = s == S_CAPTURE ? PROTO_TRANSFER_CAPTURE : PROTO_TRANSFER_VOID;
        strcpy(m.body.action.transfer, "t-0001");
        m.body.action.amount_minor = s == S_CAPTURE ? 2000 : 0;
        strcpy(m.body.action.principal, s == S_CAPTURE ? "alice" : "ops");
        m.body.action.operator_scope = s == S_VOID;
        break;
    case S_VOIDED:
    case S_EXPIRED:
        m.type = s == S_VOIDED ? PROTO_TRANSFER_VOIDED : PROTO_TRANSFER_EXPIRED;
        strcpy(m.origin, "accounts");
        strcpy(m.body.declined.transfer, "t-0001");
        strcpy(m.body.declined.code, s == S_VOIDED ? PROTO_CODE_VOIDED : PROTO_CODE_EXPIRED);
        strcpy(m.body.declined.reason,
               s == S_VOIDED ? "voided by ops" : "authorisation expired at 2025-12-02T00:00:00Z");
        break;
    case S_QUERY_UPDATE:
    case S_QUERY_BALANCE_AT:
    case S_QUERY_STATEMENT:
    case S_QUERY_HOLDS:
        m.type = PROTO_ACCOUNT_QUERY;
        m.corr[0] = '\0';
        m.cause[0] = '\0';
        strcpy(m.body.query.account, "acc-alice");
        if (s == S_QUERY_UPDATE) {
            m.body.query.op = PROTO_QUERY_UPDATE;
            strcpy(m.body.query.principal, "ops");
            strcpy(m.body.query.status, PROTO_ACCOUNT_STATUS_FROZEN);
            m.body.query.overdraft_limit_minor = 50000;
        } else if (s == S_QUERY_BALANCE_AT) {
            m.body.query.op = PROTO_QUERY_BALANCE_AT;
            m.body.query.at_ms = 1764028800000;
        } else if (s == S_QUERY_STATEMENT) {
            m.body.query.op = PROTO_QUERY_STATEMENT;
            m.body.query.from_ms = 1764028700000;
            m.body.query.to_ms = 1764115200000;
            m.body.query.cursor = 7;
            m.body.query.limit = 100;
        } else {
            m.body.query.op = PROTO_QUERY_HOLDS;
            strcpy(m.body.query.after, "t-0000");
            m.body.query.limit = 50;
        }
        break;
    case S_APPROVED:
        m.type = PROTO_FRAUD_APPROVED;
        strcpy(m.body.verdict.transfer, "t-0001");
        break;
    case S_REJECTED:
    case S_REJECTED_FRAUD:
        m.type = s == S_REJECTED ? PROTO_FRAUD_REJECTED : PROTO_TRANSFER_REJECTED_FRAUD;
        strcpy(m.body.verdict.transfer, "t-0001");
        m.body.verdict.rule_count = 2;
        strcpy(m.body.verdict.rules[0], "amount_threshold");
        strcpy(m.body.verdict.rules[1], "velocity");
        strcpy(m.body.verdict.reason, "amount 2500 over threshold; 6 transfers in 60 s");
        break;
    case S_DECLINED:
        m.type = PROTO_TRANSFER_DECLINED;
        strcpy(m.body.declined.transfer, "t-0001");
        strcpy(m.body.declined.code, "insufficient_funds");
        strcpy(m.body.declined.reason, "available 1000 < amount 2500");
        break;
    case S_ACK:
        m.type = PROTO_ACK;
        m.corr[0] = '\0';
        strcpy(m.body.reply.of, "accounts/41");
        break;
    case S_NACK:
        m.type = PROTO_NACK;
        m.corr[0] = '\0';
        m.cause[0] = '\0';
        strcpy(m.body.reply.code, "decode_error");
        strcpy(m.body.reply.reason, "truncated frame");
        break;
    case S_QUERY_LIST:
    case S_QUERY_GET:
    case S_QUERY_LEDGER:
    case S_QUERY_OPEN:
        m.type = PROTO_ACCOUNT_QUERY;
        m.corr[0] = '\0';
        m.cause[0] = '\0';
        if (s == S_QUERY_LIST) {
            m.body.query.op = PROTO_QUERY_LIST;
            strcpy(m.body.query.after, "acc-alice");
            m.body.query.limit = 50;
        } else if (s == S_QUERY_GET) {
            m.body.query.op = PROTO_QUERY_GET;
            strcpy(m.body.query.account, "acc-alice");
        } else if (s == S_QUERY_LEDGER) {
            m.body.query.op = PROTO_QUERY_LEDGER;
            strcpy(m.body.query.account, "acc-alice");
            m.body.query.cursor = 99;
            m.body.query.limit = PROTO_PAGE_MAX;
        } else {
            m.body.query.op = PROTO_QUERY_OPEN;
            strcpy(m.body.query.account, "acc-carol");
            strcpy(m.body.query.name, "Carol Jones");
            strcpy(m.body.query.currency, "EUR");
            strcpy(m.body.query.owner, "carol");
            m.body.query.amount_minor = 10000;
        }
        break;
    case S_REPLY:
        m.type = PROTO_ACCOUNT_REPLY;
        strcpy(m.origin, "accounts");
        m.corr[0] = '\0';
        strcpy(m.cause, "gateway/42");
        m.body.account_reply.status = 200;
        m.body.account_reply.account_count = 2;
        m.body.account_reply.accounts = sample_accounts;
        m.body.account_reply.entry_count = 2;
        m.body.account_reply.entries = sample_rows;
        strcpy(m.body.account_reply.next, "funding");
        m.body.account_reply.hold_count = 2;
        m.body.account_reply.holds = sample_holds;
        break;
    case S__COUNT:
        break;
    }
    return m;
}

#endif

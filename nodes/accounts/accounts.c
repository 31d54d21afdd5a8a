/*  accounts.c: balances, holds, the ledger and the accounts side of the saga.

    Every handler has the same shape: read what it needs, decide (all
    validation and all arithmetic happen here, on copies in memory), then
    write the records, the ledger entries and the outbound messages. Nothing
    is written before the decision is final, so a refusal never leaves a
    half-applied step in the caller's transaction. Formats and codes: see
    accounts.h.
*/
#include "accounts.h"
#include "accounts_cache.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "money.h"
#include "record.h"
#include "text.h"

#define ACCOUNT_FLAG_FUNDING 0x01u
#define ACCOUNT_FLAGS_KNOWN ACCOUNT_FLAG_FUNDING
/* Largest encoded transfer record: fixed part + four length-prefixed strings. */
#define TRANSFER_RECORD_MAX_BYTES                                                                  \
    (2 + 8 + PROTO_CURRENCY_LEN + 8 + 8 + 4 + 2 * PROTO_ACCOUNT_ID_MAX + PROTO_CODE_MAX +          \
     PROTO_REFERENCE_MAX)

/* Ledger entry kinds. */
#define KIND_HOLD "hold"
#define KIND_RELEASE "release"
#define KIND_DEBIT "debit"
#define KIND_CREDIT "credit"
#define KIND_OPEN "open"

/* Decline codes (accounts.h). */
#define DECLINE_SAME_ACCOUNT "same_account"
#define DECLINE_UNKNOWN_ACCOUNT "unknown_account"
#define DECLINE_FUNDING_ACCOUNT "funding_account"
#define DECLINE_CURRENCY_MISMATCH "currency_mismatch"
#define DECLINE_INSUFFICIENT_FUNDS "insufficient_funds"
#define DECLINE_AMOUNT_OVERFLOW "amount_overflow"
#define DECLINE_INVALID_AMOUNT "invalid_amount"

/* account.reply statuses. */
#define STATUS_OK 200
#define STATUS_CREATED 201 /* open: a new account was opened */
#define STATUS_BAD_REQUEST 400
#define STATUS_NOT_FOUND 404
#define STATUS_CONFLICT 409

static bool currency_valid(const char *c)
{
    for (size_t i = 0; i < PROTO_CURRENCY_LEN; i++)
        if (c[i] < 'A' || c[i] > 'Z')
            return false;
    return c[PROTO_CURRENCY_LEN] == '\0';
}

bool accounts_id_valid(const char *id)
{
    size_t n = text_len_within(id, PROTO_ACCOUNT_ID_MAX);
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

const char *accounts_transfer_state_name(accounts_transfer_state_t state)
{
    switch (state) {
    case ACCOUNTS_TRANSFER_RESERVED:
        return "reserved";
    case ACCOUNTS_TRANSFER_SETTLED:
        return "settled";
    case ACCOUNTS_TRANSFER_RELEASED:
        return "released";
    case ACCOUNTS_TRANSFER_DECLINED:
        return "declined";
    }
    return "unknown";
}

/* --- account records ----------------------------------------------------- */

ledger_err_t accounts_record_encode(const accounts_record_t *rec, uint8_t *buf, size_t cap,
                                    size_t *len_out)
{
    assert(rec && buf && len_out);
    if (!accounts_id_valid(rec->id) || strnlen(rec->name, PROTO_NAME_MAX + 1) > PROTO_NAME_MAX ||
        !currency_valid(rec->currency))
        return LEDGER_E_INVALID;
    record_writer_t w = {buf, cap, 0, true};
    record_put_u8(&w, ACCOUNTS_RECORD_VERSION);
    record_put_u8(&w, rec->funding ? ACCOUNT_FLAG_FUNDING : 0);
    record_put_bytes(&w, rec->currency, PROTO_CURRENCY_LEN);
    record_put_u64(&w, (uint64_t)rec->balance_minor);
    record_put_u64(&w, (uint64_t)rec->held_minor);
    record_put_u64(&w, rec->created_ms);
    record_put_u64(&w, rec->ledger_seq);
    record_put_str8(&w, rec->id);
    record_put_str8(&w, rec->name);
    if (!w.ok)
        return LEDGER_E_TOO_LARGE;
    *len_out = w.len;
    return LEDGER_OK;
}

ledger_err_t accounts_record_decode(const void *data, size_t size, accounts_record_t *rec_out)
{
    assert(rec_out);
    accounts_record_t rec;
    memset(&rec, 0, sizeof rec);
    record_reader_t r = {data, data ? size : 0, 0, data != NULL};
    uint8_t version = record_get_u8(&r);
    uint8_t flags = record_get_u8(&r);
    record_get_fixed(&r, rec.currency, PROTO_CURRENCY_LEN);
    rec.balance_minor = (int64_t)record_get_u64(&r);
    rec.held_minor = (int64_t)record_get_u64(&r);
    rec.created_ms = record_get_u64(&r);
    /* Version 1 had no ledger_seq. The migration from ledger format 1
       (accounts_migrate.h) rewrites the records of accounts with entries, so a
       version-1 record left is of an account that has none: 0. */
    if (version == ACCOUNTS_RECORD_VERSION)
        rec.ledger_seq = record_get_u64(&r);
    record_get_str8(&r, rec.id, PROTO_ACCOUNT_ID_MAX);
    record_get_str8(&r, rec.name, PROTO_NAME_MAX);
    rec.funding = (flags & ACCOUNT_FLAG_FUNDING) != 0;
    if (!record_done(&r) ||
        (version != ACCOUNTS_RECORD_VERSION && version != ACCOUNTS_RECORD_VERSION_1) ||
        (flags & ~ACCOUNT_FLAGS_KNOWN) || !currency_valid(rec.currency) ||
        !accounts_id_valid(rec.id)) {
        memset(rec_out, 0, sizeof *rec_out);
        return LEDGER_E_CORRUPT;
    }
    *rec_out = rec;
    return LEDGER_OK;
}

ledger_err_t accounts_record_get(store_txn_t *txn, const char *id, accounts_record_t *rec_out)
{
    assert(txn && id && rec_out);
    size_t n = text_len_within(id, PROTO_ACCOUNT_ID_MAX);
    if (n == 0)
        return LEDGER_E_NOT_FOUND; /* no such key can exist */
    const void *val;
    size_t val_size;
    ledger_err_t err = store_get(txn, STORE_DB_ACCOUNTS, id, n, &val, &val_size);
    if (err)
        return err;
    err = accounts_record_decode(val, val_size, rec_out);
    if (err)
        return err;
    if (strcmp(rec_out->id, id) != 0)
        return LEDGER_E_CORRUPT; /* a record stored under another account's key */
    return LEDGER_OK;
}

ledger_err_t accounts_record_put(store_txn_t *txn, const accounts_record_t *rec)
{
    uint8_t buf[ACCOUNTS_RECORD_MAX_BYTES];
    size_t len;
    ledger_err_t err = accounts_record_encode(rec, buf, sizeof buf, &len);
    if (err)
        return err;
    return store_put(txn, STORE_DB_ACCOUNTS, rec->id, strlen(rec->id), buf, len, 0);
}

/* The account's newest value: the node's cache first (dirty records), then the table. */
static ledger_err_t account_load(node_ctx_t *ctx, const char *id, accounts_record_t *rec_out)
{
    if (ctx->state && accounts_cache_get(ctx->state, id, rec_out))
        return LEDGER_OK;
    return accounts_record_get(ctx->txn, id, rec_out);
}

/*  Saves an account's new value: kept in the node's cache when it has one
    (the ledger entries of the change are in this transaction), else
    written. A new account is always written: the start-up replay needs its
    record (name, currency) in the table. */
static ledger_err_t account_save(node_ctx_t *ctx, const accounts_record_t *rec, bool is_new)
{
    if (ctx->state && !is_new)
        return accounts_cache_put(ctx->state, rec);
    return accounts_record_put(ctx->txn, rec);
}

static void record_to_proto(const accounts_record_t *rec, proto_account_t *out)
{
    memset(out, 0, sizeof *out);
    text_copy(out->id, sizeof out->id, rec->id);
    text_copy(out->name, sizeof out->name, rec->name);
    text_copy(out->currency, sizeof out->currency, rec->currency);
    out->balance_minor = rec->balance_minor;
    out->held_minor = rec->held_minor;
    out->funding = rec->funding;
}

ledger_err_t accounts_get(node_ctx_t *ctx, const char *id, proto_account_t *out)
{
    accounts_record_t rec;
    ledger_err_t err = account_load(ctx, id, &rec);
    if (err)
        return err;
    record_to_proto(&rec, out);
    return LEDGER_OK;
}

/* --- transfer (saga state) records --------------------------------------- */

static bool state_valid(unsigned state)
{
    return state >= ACCOUNTS_TRANSFER_RESERVED && state <= ACCOUNTS_TRANSFER_DECLINED;
}

static ledger_err_t transfer_put(store_txn_t *txn, const accounts_transfer_t *tr)
{
    size_t id_len = text_len_within(tr->id, PROTO_TRANSFER_ID_MAX);
    assert(id_len > 0 && state_valid(tr->state));
    assert(strlen(tr->from) <= PROTO_ACCOUNT_ID_MAX && strlen(tr->to) <= PROTO_ACCOUNT_ID_MAX);
    assert(strlen(tr->code) <= PROTO_CODE_MAX && strlen(tr->reference) <= PROTO_REFERENCE_MAX);
    uint8_t buf[TRANSFER_RECORD_MAX_BYTES];
    record_writer_t w = {buf, sizeof buf, 0, true};
    record_put_u8(&w, ACCOUNTS_TRANSFER_VERSION);
    record_put_u8(&w, (uint8_t)tr->state);
    record_put_u64(&w, (uint64_t)tr->amount_minor);
    record_put_bytes(&w, tr->currency, PROTO_CURRENCY_LEN);
    record_put_u64(&w, tr->created_ms);
    record_put_u64(&w, tr->updated_ms);
    record_put_str8(&w, tr->from);
    record_put_str8(&w, tr->to);
    record_put_str8(&w, tr->code);
    record_put_str8(&w, tr->reference);
    assert(w.ok);
    return store_put(txn, STORE_DB_TRANSFERS, tr->id, id_len, buf, w.len, 0);
}

ledger_err_t accounts_transfer_get(store_txn_t *txn, const char *id, accounts_transfer_t *out)
{
    assert(txn && id && out);
    size_t id_len = text_len_within(id, PROTO_TRANSFER_ID_MAX);
    if (id_len == 0)
        return LEDGER_E_NOT_FOUND;
    const void *val;
    size_t size;
    ledger_err_t err = store_get(txn, STORE_DB_TRANSFERS, id, id_len, &val, &size);
    if (err)
        return err;
    accounts_transfer_t tr;
    memset(&tr, 0, sizeof tr);
    text_copy(tr.id, sizeof tr.id, id);
    record_reader_t r = {val, size, 0, true};
    uint8_t version = record_get_u8(&r);
    uint8_t state = record_get_u8(&r);
    tr.amount_minor = (int64_t)record_get_u64(&r);
    record_get_fixed(&r, tr.currency, PROTO_CURRENCY_LEN);
    tr.created_ms = record_get_u64(&r);
    tr.updated_ms = record_get_u64(&r);
    record_get_str8(&r, tr.from, PROTO_ACCOUNT_ID_MAX);
    record_get_str8(&r, tr.to, PROTO_ACCOUNT_ID_MAX);
    record_get_str8(&r, tr.code, PROTO_CODE_MAX);
    record_get_str8(&r, tr.reference, PROTO_REFERENCE_MAX);
    if (!record_done(&r) || version != ACCOUNTS_TRANSFER_VERSION || !state_valid(state))
        return LEDGER_E_CORRUPT;
    tr.state = (accounts_transfer_state_t)state;
    *out = tr;
    return LEDGER_OK;
}

/* --- ledger and messages ------------------------------------------------- */

/*  Appends one entry for `acct`, whose record already holds the after values,
    chained onto the account's newest entry; moves acct->ledger_seq to the new
    entry (the caller then writes the record). */
static ledger_err_t ledger_add(node_ctx_t *ctx, accounts_record_t *acct, const char *transfer,
                               const char *kind, int64_t balance_delta_minor,
                               int64_t held_delta_minor)
{
    store_ledger_entry_t e;
    memset(&e, 0, sizeof e);
    e.account_prev_seq = acct->ledger_seq;
    text_copy(e.account, sizeof e.account, acct->id);
    text_copy(e.transfer, sizeof e.transfer, transfer);
    text_copy(e.kind, sizeof e.kind, kind);
    e.balance_delta_minor = balance_delta_minor;
    e.held_delta_minor = held_delta_minor;
    e.balance_after_minor = acct->balance_minor;
    e.held_after_minor = acct->held_minor;
    e.ts_ms = ctx->now_ms;
    ledger_err_t err = store_ledger_append(ctx->txn, &e);
    if (err == LEDGER_OK)
        acct->ledger_seq = e.seq;
    return err;
}

static void msg_start(proto_msg_t *out, proto_type_t type, const char *transfer)
{
    memset(out, 0, sizeof *out);
    out->v = PROTO_VERSION;
    out->type = type;
    text_copy(out->corr, sizeof out->corr, transfer);
}

static void transfer_to_proto(const accounts_transfer_t *tr, proto_transfer_t *out)
{
    memset(out, 0, sizeof *out);
    text_copy(out->transfer, sizeof out->transfer, tr->id);
    text_copy(out->from, sizeof out->from, tr->from);
    text_copy(out->to, sizeof out->to, tr->to);
    out->amount_minor = tr->amount_minor;
    text_copy(out->currency, sizeof out->currency, tr->currency);
    text_copy(out->reference, sizeof out->reference, tr->reference);
}

static void transfer_from_proto(const proto_transfer_t *t, uint64_t now_ms,
                                accounts_transfer_t *out)
{
    memset(out, 0, sizeof *out);
    text_copy(out->id, sizeof out->id, t->transfer);
    text_copy(out->from, sizeof out->from, t->from);
    text_copy(out->to, sizeof out->to, t->to);
    out->amount_minor = t->amount_minor;
    text_copy(out->currency, sizeof out->currency, t->currency);
    text_copy(out->reference, sizeof out->reference, t->reference);
    out->created_ms = now_ms;
    out->updated_ms = now_ms;
}

/* --- transfer.requested -------------------------------------------------- */

typedef struct {
    const char *code; /* NULL: accepted */
    char reason[PROTO_REASON_MAX + 1];
} decision_t;

/* Looks up one side of a transfer; a missing or funding account is a decline. */
static ledger_err_t load_party(node_ctx_t *ctx, const char *id, accounts_record_t *rec,
                               decision_t *d)
{
    ledger_err_t err = account_load(ctx, id, rec);
    if (err == LEDGER_E_NOT_FOUND) {
        d->code = DECLINE_UNKNOWN_ACCOUNT;
        text_format(d->reason, sizeof d->reason, "account '%s' does not exist", id);
        return LEDGER_OK;
    }
    if (err)
        return err;
    if (rec->funding) {
        d->code = DECLINE_FUNDING_ACCOUNT;
        text_format(d->reason, sizeof d->reason,
                    "account '%s' is the funding account and cannot send or receive transfers", id);
    }
    return LEDGER_OK;
}

/*  Decides a transfer.requested without writing. On acceptance d->code is
    NULL and *from / *to hold the records updated with the hold. */
static ledger_err_t decide_request(node_ctx_t *ctx, const proto_transfer_t *t,
                                   accounts_record_t *from, accounts_record_t *to, decision_t *d)
{
    memset(from, 0, sizeof *from);
    memset(to, 0, sizeof *to);
    d->code = NULL;
    d->reason[0] = '\0';
    if (t->amount_minor <= 0) {
        d->code = DECLINE_INVALID_AMOUNT;
        text_format(d->reason, sizeof d->reason, "amount must be greater than 0");
        return LEDGER_OK;
    }
    if (strcmp(t->from, t->to) == 0) {
        d->code = DECLINE_SAME_ACCOUNT;
        text_format(d->reason, sizeof d->reason, "source and destination are the same account");
        return LEDGER_OK;
    }
    ledger_err_t err = load_party(ctx, t->from, from, d);
    if (err || d->code)
        return err;
    err = load_party(ctx, t->to, to, d);
    if (err || d->code)
        return err;
    const accounts_record_t *sides[2] = {from, to};
    for (size_t i = 0; i < 2; i++) {
        if (strcmp(sides[i]->currency, t->currency) != 0) {
            d->code = DECLINE_CURRENCY_MISMATCH;
            text_format(d->reason, sizeof d->reason,
                        "transfer currency %s differs from account '%s' currency %s", t->currency,
                        sides[i]->id, sides[i]->currency);
            return LEDGER_OK;
        }
    }
    int64_t available;
    if (money_sub(from->balance_minor, from->held_minor, &available))
        return LEDGER_E_CORRUPT; /* balance and held of a user account are both >= 0 */
    if (available < t->amount_minor) {
        char have[MONEY_TEXT_MAX], want[MONEY_TEXT_MAX];
        d->code = DECLINE_INSUFFICIENT_FUNDS;
        text_format(d->reason, sizeof d->reason, "available %s %s is less than the amount %s %s",
                    money_format(available, have), t->currency, money_format(t->amount_minor, want),
                    t->currency);
        return LEDGER_OK;
    }
    int64_t new_held, to_balance;
    if (money_add(to->balance_minor, t->amount_minor, &to_balance) ||
        money_add(from->held_minor, t->amount_minor, &new_held)) {
        d->code = DECLINE_AMOUNT_OVERFLOW;
        text_format(d->reason, sizeof d->reason,
                    "crediting account '%s' would overflow its balance", to->id);
        return LEDGER_OK;
    }
    from->held_minor = new_held;
    return LEDGER_OK;
}

static ledger_err_t on_requested(node_ctx_t *ctx, const proto_msg_t *msg)
{
    const proto_transfer_t *t = &msg->body.transfer;
    /* Without an id and a currency there is nothing to record a decline under;
       proto validation never lets such a message through. */
    if (text_len_within(t->transfer, PROTO_TRANSFER_ID_MAX) == 0 || !currency_valid(t->currency))
        return LEDGER_E_INVALID;
    accounts_transfer_t tr;
    ledger_err_t err = accounts_transfer_get(ctx->txn, t->transfer, &tr);
    if (err == LEDGER_OK)
        return LEDGER_OK; /* saga guard: a known transfer is never requested twice */
    if (err != LEDGER_E_NOT_FOUND)
        return err;

    accounts_record_t from, to;
    decision_t d;
    err = decide_request(ctx, t, &from, &to, &d);
    if (err)
        return err;

    transfer_from_proto(t, ctx->now_ms, &tr);
    proto_msg_t out;
    if (d.code) {
        tr.state = ACCOUNTS_TRANSFER_DECLINED;
        text_copy(tr.code, sizeof tr.code, d.code);
        err = transfer_put(ctx->txn, &tr);
        if (err)
            return err;
        msg_start(&out, PROTO_TRANSFER_DECLINED, t->transfer);
        text_copy(out.body.declined.transfer, sizeof out.body.declined.transfer, t->transfer);
        text_copy(out.body.declined.code, sizeof out.body.declined.code, d.code);
        text_copy(out.body.declined.reason, sizeof out.body.declined.reason, d.reason);
        const char *peers[] = {NODE_PEER_GATEWAY};
        return node_emit(ctx, peers, 1, &out, msg);
    }

    err = ledger_add(ctx, &from, t->transfer, KIND_HOLD, 0, t->amount_minor);
    if (!err)
        err = account_save(ctx, &from, false);
    tr.state = ACCOUNTS_TRANSFER_RESERVED;
    if (!err)
        err = transfer_put(ctx->txn, &tr);
    if (err)
        return err;
    msg_start(&out, PROTO_FUNDS_RESERVED, t->transfer);
    out.body.transfer = *t;
    const char *peers[] = {NODE_PEER_FRAUD, NODE_PEER_GATEWAY};
    return node_emit(ctx, peers, 2, &out, msg);
}

/* --- fraud.approved / fraud.rejected ------------------------------------- */

/* Loads an account a reserved transfer refers to: it must exist. */
static ledger_err_t load_reserved_party(node_ctx_t *ctx, const char *id, accounts_record_t *rec)
{
    ledger_err_t err = account_load(ctx, id, rec);
    return err == LEDGER_E_NOT_FOUND ? LEDGER_E_CORRUPT : err;
}

static ledger_err_t on_approved(node_ctx_t *ctx, const proto_msg_t *msg, accounts_transfer_t *tr)
{
    accounts_record_t from, to;
    ledger_err_t err = load_reserved_party(ctx, tr->from, &from);
    if (!err)
        err = load_reserved_party(ctx, tr->to, &to);
    if (err)
        return err;
    if (from.held_minor < tr->amount_minor)
        return LEDGER_E_CORRUPT; /* the hold this transfer placed is gone */
    int64_t from_balance, from_held, to_balance;
    if (money_sub(from.balance_minor, tr->amount_minor, &from_balance) ||
        money_sub(from.held_minor, tr->amount_minor, &from_held) ||
        money_add(to.balance_minor, tr->amount_minor, &to_balance))
        return LEDGER_E_OVERFLOW;
    from.balance_minor = from_balance;
    from.held_minor = from_held;
    to.balance_minor = to_balance;

    err = ledger_add(ctx, &from, tr->id, KIND_DEBIT, -tr->amount_minor, -tr->amount_minor);
    if (!err)
        err = account_save(ctx, &from, false);
    if (!err)
        err = ledger_add(ctx, &to, tr->id, KIND_CREDIT, tr->amount_minor, 0);
    if (!err)
        err = account_save(ctx, &to, false);
    tr->state = ACCOUNTS_TRANSFER_SETTLED;
    tr->updated_ms = ctx->now_ms;
    if (!err)
        err = transfer_put(ctx->txn, tr);
    if (err)
        return err;
    proto_msg_t out;
    msg_start(&out, PROTO_TRANSFER_SETTLED, tr->id);
    transfer_to_proto(tr, &out.body.transfer);
    const char *peers[] = {NODE_PEER_GATEWAY};
    return node_emit(ctx, peers, 1, &out, msg);
}

static ledger_err_t on_rejected(node_ctx_t *ctx, const proto_msg_t *msg, accounts_transfer_t *tr)
{
    accounts_record_t from;
    ledger_err_t err = load_reserved_party(ctx, tr->from, &from);
    if (err)
        return err;
    int64_t from_held;
    if (from.held_minor < tr->amount_minor ||
        money_sub(from.held_minor, tr->amount_minor, &from_held))
        return LEDGER_E_CORRUPT;
    from.held_minor = from_held;

    err = ledger_add(ctx, &from, tr->id, KIND_RELEASE, 0, -tr->amount_minor);
    if (!err)
        err = account_save(ctx, &from, false);
    tr->state = ACCOUNTS_TRANSFER_RELEASED;
    tr->updated_ms = ctx->now_ms;
    if (!err)
        err = transfer_put(ctx->txn, tr);
    if (err)
        return err;
    proto_msg_t out;
    msg_start(&out, PROTO_TRANSFER_REJECTED_FRAUD, tr->id);
    out.body.verdict = msg->body.verdict; /* transfer, rules and reason from the fraud node */
    text_copy(out.body.verdict.transfer, sizeof out.body.verdict.transfer, tr->id);
    const char *peers[] = {NODE_PEER_GATEWAY};
    return node_emit(ctx, peers, 1, &out, msg);
}

static ledger_err_t on_verdict(node_ctx_t *ctx, const proto_msg_t *msg)
{
    accounts_transfer_t tr;
    ledger_err_t err = accounts_transfer_get(ctx->txn, msg->body.verdict.transfer, &tr);
    if (err == LEDGER_E_NOT_FOUND)
        return LEDGER_OK; /* a verdict for a transfer we never reserved: nothing to do */
    if (err)
        return err;
    if (tr.state != ACCOUNTS_TRANSFER_RESERVED)
        return LEDGER_OK; /* saga guard: already settled, released or declined */
    if (msg->type == PROTO_FRAUD_APPROVED)
        return on_approved(ctx, msg, &tr);
    return on_rejected(ctx, msg, &tr);
}

ledger_err_t accounts_apply(node_ctx_t *ctx, const proto_msg_t *msg)
{
    assert(ctx && ctx->txn && msg);
    switch (msg->type) {
    case PROTO_TRANSFER_REQUESTED:
        return on_requested(ctx, msg);
    case PROTO_FRAUD_APPROVED:
    case PROTO_FRAUD_REJECTED:
        return on_verdict(ctx, msg);
    default:
        return LEDGER_E_INVALID;
    }
}

/* --- opening accounts ---------------------------------------------------- */

static void funding_make(uint64_t now_ms, accounts_record_t *rec)
{
    memset(rec, 0, sizeof *rec);
    text_copy(rec->id, sizeof rec->id, ACCOUNTS_FUNDING_ID);
    text_copy(rec->name, sizeof rec->name, ACCOUNTS_FUNDING_NAME);
    text_copy(rec->currency, sizeof rec->currency, ACCOUNTS_CURRENCY);
    rec->funding = true;
    rec->created_ms = now_ms;
}

/*  The funding account as it is, or a new one (in memory only; *is_new set)
    if it is missing. */
static ledger_err_t funding_load(node_ctx_t *ctx, accounts_record_t *rec, bool *is_new)
{
    ledger_err_t err = account_load(ctx, ACCOUNTS_FUNDING_ID, rec);
    *is_new = err == LEDGER_E_NOT_FOUND;
    if (*is_new) {
        funding_make(ctx->now_ms, rec);
        return LEDGER_OK;
    }
    if (err)
        return err;
    return rec->funding ? LEDGER_OK : LEDGER_E_CORRUPT;
}

ledger_err_t accounts_ensure_funding(node_ctx_t *ctx)
{
    assert(ctx && ctx->txn);
    accounts_record_t rec;
    ledger_err_t err = account_load(ctx, ACCOUNTS_FUNDING_ID, &rec);
    if (err == LEDGER_OK)
        return rec.funding ? LEDGER_OK : LEDGER_E_CORRUPT;
    if (err != LEDGER_E_NOT_FOUND)
        return err;
    funding_make(ctx->now_ms, &rec);
    return account_save(ctx, &rec, true);
}

typedef struct {
    uint32_t status;
    const char *code; /* NULL on 200 */
    char reason[PROTO_REASON_MAX + 1];
    accounts_record_t account; /* on 200 */
} open_result_t;

static void open_refuse(open_result_t *res, uint32_t status, const char *code, const char *reason)
{
    res->status = status;
    res->code = code;
    text_copy(res->reason, sizeof res->reason, reason);
}

/* Opens an account (see accounts_query, op open). Business refusals are in *res. */
static ledger_err_t open_account(node_ctx_t *ctx, const char *id, const char *name,
                                 const char *currency, int64_t deposit_minor, open_result_t *res)
{
    memset(res, 0, sizeof *res);
    if (!accounts_id_valid(id)) {
        open_refuse(res, STATUS_BAD_REQUEST, "invalid_account_id",
                    "account id must be 1 to 64 characters of a-z, 0-9, '_' and '-'");
        return LEDGER_OK;
    }
    if (name[0] == '\0') {
        open_refuse(res, STATUS_BAD_REQUEST, "invalid_name", "name must not be empty");
        return LEDGER_OK;
    }
    if (strcmp(currency, ACCOUNTS_CURRENCY) != 0) {
        open_refuse(res, STATUS_BAD_REQUEST, "unsupported_currency",
                    "accounts can only be opened in " ACCOUNTS_CURRENCY);
        return LEDGER_OK;
    }
    if (deposit_minor < 0) {
        open_refuse(res, STATUS_BAD_REQUEST, "invalid_amount",
                    "the opening deposit must not be negative");
        return LEDGER_OK;
    }
    if (strcmp(id, ACCOUNTS_FUNDING_ID) == 0) {
        open_refuse(res, STATUS_CONFLICT, "account_exists",
                    "'" ACCOUNTS_FUNDING_ID "' is the funding account");
        return LEDGER_OK;
    }
    accounts_record_t existing;
    ledger_err_t err = account_load(ctx, id, &existing);
    if (err == LEDGER_OK) {
        if (strcmp(existing.name, name) == 0 && strcmp(existing.currency, currency) == 0) {
            res->status = STATUS_OK; /* the same open again: answer with the account as it is */
            res->account = existing;
            return LEDGER_OK;
        }
        open_refuse(res, STATUS_CONFLICT, "account_exists",
                    "an account with this id exists with another name or currency");
        return LEDGER_OK;
    }
    if (err != LEDGER_E_NOT_FOUND)
        return err;

    accounts_record_t funding, acct;
    bool funding_is_new;
    err = funding_load(ctx, &funding, &funding_is_new);
    if (err)
        return err;
    int64_t funding_balance;
    if (money_sub(funding.balance_minor, deposit_minor, &funding_balance)) {
        open_refuse(res, STATUS_BAD_REQUEST, "amount_overflow",
                    "the funding account cannot pay this opening deposit");
        return LEDGER_OK;
    }
    funding.balance_minor = funding_balance;
    memset(&acct, 0, sizeof acct);
    text_copy(acct.id, sizeof acct.id, id);
    text_copy(acct.name, sizeof acct.name, name);
    text_copy(acct.currency, sizeof acct.currency, currency);
    acct.balance_minor = deposit_minor;
    acct.created_ms = ctx->now_ms;

    err = ledger_add(ctx, &funding, id, KIND_OPEN, -deposit_minor, 0);
    if (!err)
        err = account_save(ctx, &funding, funding_is_new);
    if (!err)
        err = ledger_add(ctx, &acct, id, KIND_OPEN, deposit_minor, 0);
    if (!err)
        err = account_save(ctx, &acct, true);
    if (err)
        return err;
    res->status = STATUS_CREATED;
    res->account = acct;
    return LEDGER_OK;
}

typedef struct {
    const char *id;
    const char *name;
    int64_t deposit_minor;
} demo_account_t;

static const demo_account_t demo_accounts[] = {
    {"alice", "Alice Smith", 100000},      {"bob", "Bob Jones", 25000},
    {"carol", "Carol White", 500000},      {"dave", "Dave Brown", 5000},
    {"mallory", "Mallory Black", 1000000},
};

ledger_err_t accounts_seed_demo(node_ctx_t *ctx)
{
    assert(ctx && ctx->txn);
    ledger_err_t err = accounts_ensure_funding(ctx);
    if (err)
        return err;
    store_cursor_t *cur;
    err = store_cursor_open(ctx->txn, STORE_DB_ACCOUNTS, &cur);
    if (err)
        return err;
    bool any_user_account = false;
    store_kv_t kv;
    for (err = store_cursor_get(cur, STORE_FIRST, &kv); !err && !any_user_account;
         err = store_cursor_get(cur, STORE_NEXT, &kv)) {
        accounts_record_t rec;
        err = accounts_record_decode(kv.val, kv.val_size, &rec);
        if (err)
            break;
        any_user_account = !rec.funding;
    }
    store_cursor_close(&cur);
    if (err && err != LEDGER_E_NOT_FOUND)
        return err;
    if (any_user_account)
        return LEDGER_OK;
    for (size_t i = 0; i < sizeof demo_accounts / sizeof demo_accounts[0]; i++) {
        const demo_account_t *d = &demo_accounts[i];
        open_result_t res;
        err = open_account(ctx, d->id, d->name, ACCOUNTS_CURRENCY, d->deposit_minor, &res);
        if (err)
            return err;
        if (res.status != STATUS_OK && res.status != STATUS_CREATED)
            return LEDGER_E_OVERFLOW; /* the only refusal possible here: funding would overflow */
    }
    return LEDGER_OK;
}

/* --- account.query ------------------------------------------------------- */

static void reply_status(proto_account_reply_t *r, uint32_t status, const char *code,
                         const char *reason)
{
    r->status = status;
    text_copy(r->code, sizeof r->code, code);
    text_copy(r->reason, sizeof r->reason, reason);
}

static uint32_t page_limit(uint32_t asked)
{
    if (asked == 0)
        return ACCOUNTS_PAGE_DEFAULT;
    return asked > PROTO_PAGE_MAX ? PROTO_PAGE_MAX : asked;
}

static ledger_err_t reply_one_account(proto_account_reply_t *r, const accounts_record_t *rec)
{
    r->accounts = calloc(1, sizeof *r->accounts);
    if (!r->accounts)
        return LEDGER_E_NOMEM;
    r->account_count = 1;
    record_to_proto(rec, &r->accounts[0]);
    r->status = STATUS_OK;
    return LEDGER_OK;
}

static ledger_err_t query_list(node_ctx_t *ctx, const proto_query_t *q, proto_account_reply_t *r)
{
    uint32_t limit = page_limit(q->limit);
    r->accounts = calloc(limit, sizeof *r->accounts);
    if (!r->accounts)
        return LEDGER_E_NOMEM;
    store_cursor_t *cur;
    ledger_err_t err = store_cursor_open(ctx->txn, STORE_DB_ACCOUNTS, &cur);
    if (err)
        return err;
    store_kv_t kv;
    size_t after_len = text_len_within(q->after, PROTO_ACCOUNT_ID_MAX);
    if (after_len) {
        kv.key = q->after;
        kv.key_size = after_len;
        err = store_cursor_get(cur, STORE_SEEK, &kv);
        if (!err && kv.key_size == after_len && memcmp(kv.key, q->after, after_len) == 0)
            err = store_cursor_get(cur, STORE_NEXT, &kv); /* the page starts after the cursor */
    } else {
        err = store_cursor_get(cur, STORE_FIRST, &kv);
    }
    while (!err && r->account_count < limit) {
        accounts_record_t rec;
        err = accounts_record_decode(kv.val, kv.val_size, &rec);
        if (err)
            break;
        if (ctx->state)
            accounts_cache_get(ctx->state, rec.id, &rec); /* its newest value if dirty */
        record_to_proto(&rec, &r->accounts[r->account_count++]);
        err = store_cursor_get(cur, STORE_NEXT, &kv);
    }
    store_cursor_close(&cur);
    if (err == LEDGER_OK) /* one more account follows this page */
        text_copy(r->next, sizeof r->next, r->accounts[r->account_count - 1].id);
    else if (err != LEDGER_E_NOT_FOUND)
        return err;
    r->status = STATUS_OK;
    return LEDGER_OK;
}

static ledger_err_t query_get(node_ctx_t *ctx, const proto_query_t *q, proto_account_reply_t *r)
{
    accounts_record_t rec;
    ledger_err_t err = account_load(ctx, q->account, &rec);
    if (err == LEDGER_E_NOT_FOUND) {
        reply_status(r, STATUS_NOT_FOUND, "not_found", "no such account");
        return LEDGER_OK;
    }
    if (err)
        return err;
    return reply_one_account(r, &rec);
}

static void entry_to_row(const store_ledger_entry_t *e, proto_ledger_row_t *row)
{
    memset(row, 0, sizeof *row);
    row->seq = e->seq;
    text_copy(row->account, sizeof row->account, e->account);
    text_copy(row->transfer, sizeof row->transfer, e->transfer);
    text_copy(row->kind, sizeof row->kind, e->kind);
    bool moves_hold = strcmp(e->kind, KIND_HOLD) == 0 || strcmp(e->kind, KIND_RELEASE) == 0;
    row->amount_minor = moves_hold ? e->held_delta_minor : e->balance_delta_minor;
    row->balance_after_minor = e->balance_after_minor;
    row->held_after_minor = e->held_after_minor;
    row->ts_ms = e->ts_ms;
}

static ledger_err_t query_ledger(node_ctx_t *ctx, const proto_query_t *q, proto_account_reply_t *r)
{
    accounts_record_t rec;
    ledger_err_t err = account_load(ctx, q->account, &rec);
    if (err == LEDGER_E_NOT_FOUND) {
        reply_status(r, STATUS_NOT_FOUND, "not_found", "no such account");
        return LEDGER_OK;
    }
    if (err)
        return err;
    uint32_t limit = page_limit(q->limit);
    /* One entry more than the page, to know whether a next page exists. */
    store_ledger_entry_t *entries = calloc((size_t)limit + 1, sizeof *entries);
    if (!entries)
        return LEDGER_E_NOMEM;
    size_t count = 0;
    err = store_ledger_by_account(ctx->txn, rec.id, rec.ledger_seq, q->cursor, entries,
                                  (size_t)limit + 1, &count);
    if (err == LEDGER_E_NOT_FOUND) { /* the cursor is not one of this account's entries */
        free(entries);
        reply_status(r, STATUS_BAD_REQUEST, "invalid_cursor",
                     "cursor must be the next_cursor of a previous page of this account's ledger");
        return LEDGER_OK;
    }
    if (!err && count > 0) {
        size_t rows = count > limit ? limit : count;
        r->entries = calloc(rows, sizeof *r->entries);
        if (!r->entries)
            err = LEDGER_E_NOMEM;
        for (size_t i = 0; !err && i < rows; i++)
            entry_to_row(&entries[i], &r->entries[r->entry_count++]);
        if (!err && count > limit)
            text_format(r->next, sizeof r->next, "%" PRIu64, entries[rows - 1].seq);
    }
    free(entries);
    if (err)
        return err;
    r->status = STATUS_OK;
    return LEDGER_OK;
}

static ledger_err_t query_open(node_ctx_t *ctx, const proto_query_t *q, proto_account_reply_t *r)
{
    open_result_t res;
    ledger_err_t err = open_account(ctx, q->account, q->name, q->currency, q->amount_minor, &res);
    if (err)
        return err;
    if (res.status != STATUS_OK && res.status != STATUS_CREATED) {
        reply_status(r, res.status, res.code, res.reason);
        return LEDGER_OK;
    }
    err = reply_one_account(r, &res.account);
    if (!err)
        r->status = res.status; /* 201 created, or 200 when it existed already */
    return err;
}

ledger_err_t accounts_query(node_ctx_t *ctx, const proto_msg_t *query, proto_msg_t *reply)
{
    assert(ctx && ctx->txn && query && reply);
    memset(reply, 0, sizeof *reply);
    if (query->type != PROTO_ACCOUNT_QUERY)
        return LEDGER_E_INVALID;
    reply->v = PROTO_VERSION;
    reply->type = PROTO_ACCOUNT_REPLY;
    text_copy(reply->corr, sizeof reply->corr, query->corr);
    proto_account_reply_t *r = &reply->body.account_reply;
    const proto_query_t *q = &query->body.query;
    ledger_err_t err;
    switch (q->op) {
    case PROTO_QUERY_LIST:
        err = query_list(ctx, q, r);
        break;
    case PROTO_QUERY_GET:
        err = query_get(ctx, q, r);
        break;
    case PROTO_QUERY_LEDGER:
        err = query_ledger(ctx, q, r);
        break;
    case PROTO_QUERY_OPEN:
        err = query_open(ctx, q, r);
        break;
    default:
        err = LEDGER_E_INVALID;
        break;
    }
    if (!err && r->account_count == 0) {
        free(r->accounts); /* an empty page carries no array */
        r->accounts = NULL;
    }
    if (err) {
        free(r->accounts);
        free(r->entries);
        memset(reply, 0, sizeof *reply);
    }
    return err;
}

/* --- integrity check ----------------------------------------------------- */

typedef struct {
    store_txn_t *txn;
    uint64_t mark;         /* accounts_checkpoint_mark: records may lag only behind it */
    __int128 table_behind; /* sum of (ledger balance - record balance) of lagging records */
    ledger_err_t err;      /* first store error seen in the callback */
    bool bad;
    char problem[sizeof((store_ledger_report_t *)0)->problem];
} check_t;

/*  A record behind its account's newest entry (the balances in memory,
    accounts_cache.h): it must hold the after values of the entry it names,
    that entry must be in the account's chain, and every newer entry of the
    account must be at or after the checkpoint mark (the start-up replay
    applies exactly those). */
static void check_lagging(check_t *c, const accounts_record_t *rec, uint64_t last_seq)
{
    uint64_t seq = last_seq;
    store_ledger_entry_t e;
    while (seq > rec->ledger_seq) {
        if (seq < c->mark) {
            c->bad = true;
            text_format(c->problem, sizeof c->problem,
                        "account '%s': entry %" PRIu64 " is newer than its record (entry %" PRIu64
                        ") but older than the checkpoint mark %" PRIu64,
                        rec->id, seq, rec->ledger_seq, c->mark);
            return;
        }
        ledger_err_t err = store_ledger_get(c->txn, seq, &e);
        if (err) {
            c->err = err;
            return;
        }
        seq = e.account_prev_seq;
    }
    int64_t balance = 0, held = 0;
    if (seq == rec->ledger_seq && seq != 0) {
        ledger_err_t err = store_ledger_get(c->txn, seq, &e);
        if (err) {
            c->err = err;
            return;
        }
        balance = e.balance_after_minor;
        held = e.held_after_minor;
    }
    if (seq != rec->ledger_seq) {
        c->bad = true;
        text_format(c->problem, sizeof c->problem,
                    "account '%s': its record names ledger entry %" PRIu64
                    ", which is not in its chain",
                    rec->id, rec->ledger_seq);
    } else if (rec->balance_minor != balance || rec->held_minor != held) {
        c->bad = true;
        text_format(c->problem, sizeof c->problem,
                    "account '%s': table balance %" PRId64 " held %" PRId64 ", its entry %" PRIu64
                    " says balance %" PRId64 " held %" PRId64,
                    rec->id, rec->balance_minor, rec->held_minor, rec->ledger_seq, balance, held);
    }
}

/* Called by store_ledger_verify once per account with its recomputed amounts. */
static void check_account(const char *account, int64_t balance_minor, int64_t held_minor,
                          uint64_t last_seq, void *arg)
{
    check_t *c = arg;
    if (c->bad || c->err)
        return;
    accounts_record_t rec;
    ledger_err_t err = accounts_record_get(c->txn, account, &rec);
    if (err == LEDGER_E_NOT_FOUND) {
        c->bad = true;
        text_format(c->problem, sizeof c->problem,
                    "account '%s' is in the ledger but not in the accounts table", account);
        return;
    }
    if (err) {
        c->err = err;
        return;
    }
    if (rec.ledger_seq < last_seq) {
        check_lagging(c, &rec, last_seq);
        if (!c->bad)
            c->table_behind += (__int128)balance_minor - rec.balance_minor;
    } else if (rec.balance_minor != balance_minor || rec.held_minor != held_minor) {
        c->bad = true;
        text_format(c->problem, sizeof c->problem,
                    "account '%s': table balance %" PRId64 " held %" PRId64
                    ", ledger balance %" PRId64 " held %" PRId64,
                    account, rec.balance_minor, rec.held_minor, balance_minor, held_minor);
    } else if (rec.ledger_seq != last_seq) {
        c->bad = true;
        text_format(c->problem, sizeof c->problem,
                    "account '%s': its record names ledger entry %" PRIu64
                    " as its newest, the ledger's newest is %" PRIu64,
                    account, rec.ledger_seq, last_seq);
    }
}

/* Accounts the ledger never mentions must be empty; the table's balances must sum to 0. */
static ledger_err_t check_table(store_txn_t *txn, check_t *c)
{
    store_cursor_t *cur;
    ledger_err_t err = store_cursor_open(txn, STORE_DB_ACCOUNTS, &cur);
    if (err)
        return err;
    /* 128 bits: partial sums of a correct table may pass int64 (the funding
       account, which balances them, can come last in id order). */
    __int128 sum = 0;
    store_kv_t kv;
    for (err = store_cursor_get(cur, STORE_FIRST, &kv); !err && !c->bad;
         err = store_cursor_get(cur, STORE_NEXT, &kv)) {
        accounts_record_t rec;
        err = accounts_record_decode(kv.val, kv.val_size, &rec);
        if (err)
            break;
        sum += rec.balance_minor;
        /* Accounts in the ledger were compared by check_account; an account that
           names an entry must be one of them, one that names none must be empty. */
        store_ledger_entry_t last;
        if (rec.ledger_seq) {
            err = store_ledger_get(txn, rec.ledger_seq, &last);
            if (err && err != LEDGER_E_NOT_FOUND)
                break;
            if (err || strcmp(last.account, rec.id) != 0) {
                err = LEDGER_OK;
                c->bad = true;
                text_format(c->problem, sizeof c->problem,
                            "account '%s' names ledger entry %" PRIu64 ", which is not its own",
                            rec.id, rec.ledger_seq);
            }
        } else if (rec.balance_minor != 0 || rec.held_minor != 0) {
            c->bad = true;
            text_format(c->problem, sizeof c->problem,
                        "account '%s' has balance %" PRId64 " held %" PRId64
                        " but no ledger entries",
                        rec.id, rec.balance_minor, rec.held_minor);
        }
    }
    store_cursor_close(&cur);
    if (err && err != LEDGER_E_NOT_FOUND)
        return err;
    sum += c->table_behind; /* as the records will be once the checkpoint writes them */
    if (!c->bad && sum != 0) {
        c->bad = true;
        bool fits = sum >= INT64_MIN && sum <= INT64_MAX;
        text_format(c->problem, sizeof c->problem, "the accounts table's balances sum to %s, not 0",
                    fits ? "a non-zero amount" : "more than an int64");
        if (fits)
            text_format(c->problem, sizeof c->problem,
                        "the accounts table's balances sum to %" PRId64 ", not 0", (int64_t)sum);
    }
    return LEDGER_OK;
}

ledger_err_t accounts_check_ledger(store_txn_t *txn, store_ledger_report_t *report, char *why,
                                   size_t why_size)
{
    assert(txn && report);
    if (why && why_size)
        why[0] = '\0';
    check_t c;
    memset(&c, 0, sizeof c);
    c.txn = txn;
    ledger_err_t err = accounts_checkpoint_mark(txn, &c.mark);
    if (err)
        return err;
    err = store_ledger_verify(txn, check_account, &c, report);
    if (err)
        return err;
    if (c.err)
        return c.err;
    if (report->ok && !c.bad && report->balance_sum_minor != 0) {
        c.bad = true;
        text_format(c.problem, sizeof c.problem, "ledger balances sum to %" PRId64 ", not 0",
                    report->balance_sum_minor);
    }
    if (report->ok && !c.bad) {
        err = check_table(txn, &c);
        if (err)
            return err;
    }
    if (c.bad) {
        report->ok = false;
        text_copy(report->problem, sizeof report->problem, c.problem);
    }
    if (!report->ok && why && why_size)
        text_format(why, why_size, "%s", report->problem);
    return LEDGER_OK;
}

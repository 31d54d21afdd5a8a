/*  accounts_open.c: the funding account, opening an account with its
    deposit, and the demo accounts. See accounts_open.h.

    accounts_open_account decides on copies first (the input, an existing
    account, what the funding account can pay), then writes: a refusal
    never leaves a write behind. */
#include "accounts_open.h"

#include <assert.h>
#include <string.h>

#include "accounts_book.h"
#include "currency.h"
#include "money.h"
#include "text.h"

bool accounts_settlement_is(const char *id)
{
    return proto_settlement_currency(id) != NULL;
}

/* A new settlement account of `currency` (a table currency), in memory. */
static void funding_make(const char *currency, uint64_t now_ms, accounts_record_t *rec)
{
    memset(rec, 0, sizeof *rec);
    text_copy(rec->id, sizeof rec->id, proto_settlement_id(currency));
    text_format(rec->name, sizeof rec->name, "Settlement (%s)", currency);
    text_copy(rec->currency, sizeof rec->currency, currency);
    rec->settlement = true;
    rec->created_ms = now_ms;
}

/*  The settlement account of `currency` (a table currency) as it is, or a new one (in memory
    only; *is_new set) if it is missing. LEDGER_E_EXISTS if its id is a customer account's
    (opened under that id before the currency had a settlement account: issue 21 added them);
    LEDGER_E_CORRUPT if it is a settlement account of another currency. */
static ledger_err_t funding_load(node_ctx_t *ctx, const char *currency, accounts_record_t *rec,
                                 bool *is_new)
{
    const char *id = proto_settlement_id(currency);
    assert(id);
    ledger_err_t err = accounts_book_load(ctx, id, rec);
    *is_new = err == LEDGER_E_NOT_FOUND;
    if (*is_new) {
        funding_make(currency, ctx->now_ms, rec);
        return LEDGER_OK;
    }
    if (err)
        return err;
    if (!rec->settlement)
        return LEDGER_E_EXISTS;
    return strcmp(rec->currency, currency) == 0 ? LEDGER_OK : LEDGER_E_CORRUPT;
}

ledger_err_t accounts_open_ensure_funding(node_ctx_t *ctx, const char **unavailable,
                                          size_t unavailable_max, size_t *unavailable_count)
{
    assert(ctx && ctx->txn);
    if (unavailable_count)
        *unavailable_count = 0;
    for (size_t i = 0; i < currency_count(); i++) {
        accounts_record_t rec;
        bool is_new = false;
        const char *code = currency_at(i)->code;
        ledger_err_t err = funding_load(ctx, code, &rec, &is_new);
        if (err == LEDGER_E_EXISTS) { /* a customer's account has its id: no settlement */
            if (unavailable && unavailable_count && *unavailable_count < unavailable_max)
                unavailable[(*unavailable_count)++] = code;
            continue;
        }
        if (!err && is_new)
            err = accounts_book_save(ctx, &rec, true);
        if (err)
            return err;
    }
    return LEDGER_OK;
}

static void open_refuse(accounts_open_result_t *res, uint32_t status, const char *code,
                        const char *reason)
{
    res->status = status;
    res->code = code;
    text_copy(res->reason, sizeof res->reason, reason);
}

/* The checks that need no store: false (and the refusal in *res) if one fails. */
static bool open_input_valid(const char *id, const char *name, const char *currency,
                             const char *owner, int64_t deposit_minor, accounts_open_result_t *res)
{
    if (!proto_account_id_valid_str(id)) {
        open_refuse(res, ACCOUNTS_STATUS_BAD_REQUEST, "invalid_account_id",
                    "account id must be 1 to 64 characters of a-z, 0-9, '_' and '-'");
        return false;
    }
    if (name[0] == '\0') {
        open_refuse(res, ACCOUNTS_STATUS_BAD_REQUEST, "invalid_name", "name must not be empty");
        return false;
    }
    if (!proto_account_id_valid_str(owner)) {
        open_refuse(res, ACCOUNTS_STATUS_BAD_REQUEST, "invalid_owner",
                    "owner must be a principal id: 1 to 64 characters of a-z, 0-9, '_' and '-'");
        return false;
    }
    if (!currency_find(currency) || !proto_settlement_id(currency)) {
        open_refuse(res, ACCOUNTS_STATUS_BAD_REQUEST, PROTO_DECLINE_UNKNOWN_CURRENCY,
                    "the currency is not in the currency table (GET /api/currencies)");
        return false;
    }
    if (deposit_minor < 0) {
        open_refuse(res, ACCOUNTS_STATUS_BAD_REQUEST, "invalid_amount",
                    "the opening deposit must not be negative");
        return false;
    }
    if (accounts_settlement_is(id)) {
        open_refuse(res, ACCOUNTS_STATUS_CONFLICT, "account_exists",
                    "the id is a settlement account's");
        return false;
    }
    return true;
}

/*  An open of an id that exists: the same open again answers 200 with the
    account as it is, anything else is a conflict. */
static void open_existing(const accounts_record_t *existing, const char *name, const char *currency,
                          const char *owner, accounts_open_result_t *res)
{
    if (strcmp(existing->name, name) == 0 && strcmp(existing->currency, currency) == 0 &&
        strcmp(existing->owner, owner) == 0) {
        res->status = ACCOUNTS_STATUS_OK;
        res->account = *existing;
        return;
    }
    open_refuse(res, ACCOUNTS_STATUS_CONFLICT, "account_exists",
                "an account with this id exists with another name, currency or owner");
}

/*  A new account: the deposit moves from the settlement account of its
    currency (created if missing) with one "open" entry on each side. */
static ledger_err_t open_new(node_ctx_t *ctx, const char *id, const char *name,
                             const char *currency, const char *owner, int64_t deposit_minor,
                             accounts_open_result_t *res)
{
    accounts_record_t funding, acct;
    bool funding_is_new;
    ledger_err_t err = funding_load(ctx, currency, &funding, &funding_is_new);
    if (err == LEDGER_E_EXISTS) {
        open_refuse(res, ACCOUNTS_STATUS_CONFLICT, ACCOUNTS_SETTLEMENT_UNAVAILABLE,
                    "this ledger has no settlement account for the currency: its id is a "
                    "customer account's, opened before the currency was added");
        return LEDGER_OK;
    }
    if (err)
        return err;
    int64_t funding_balance;
    if (money_sub(funding.balance_minor, deposit_minor, &funding_balance)) {
        open_refuse(res, ACCOUNTS_STATUS_BAD_REQUEST, "amount_overflow",
                    "the funding account cannot pay this opening deposit");
        return LEDGER_OK;
    }
    funding.balance_minor = funding_balance;
    memset(&acct, 0, sizeof acct);
    text_copy(acct.id, sizeof acct.id, id);
    text_copy(acct.name, sizeof acct.name, name);
    text_copy(acct.currency, sizeof acct.currency, currency);
    text_copy(acct.owner, sizeof acct.owner, owner);
    acct.balance_minor = deposit_minor;
    acct.created_ms = ctx->now_ms;

    err = accounts_book_append(ctx, &funding, id, ACCOUNTS_KIND_OPEN, -deposit_minor, 0);
    if (!err)
        err = accounts_book_save(ctx, &funding, funding_is_new);
    if (!err)
        err = accounts_book_append(ctx, &acct, id, ACCOUNTS_KIND_OPEN, deposit_minor, 0);
    if (!err)
        err = accounts_book_save(ctx, &acct, true);
    if (err)
        return err;
    res->status = ACCOUNTS_STATUS_CREATED;
    res->account = acct;
    return LEDGER_OK;
}

ledger_err_t accounts_open_account(node_ctx_t *ctx, const char *id, const char *name,
                                   const char *currency, const char *owner, int64_t deposit_minor,
                                   accounts_open_result_t *res)
{
    assert(ctx && ctx->txn && id && name && currency && owner && res);
    memset(res, 0, sizeof *res);
    if (!open_input_valid(id, name, currency, owner, deposit_minor, res))
        return LEDGER_OK;
    accounts_record_t existing;
    ledger_err_t err = accounts_book_load(ctx, id, &existing);
    if (err == LEDGER_OK) {
        open_existing(&existing, name, currency, owner, res);
        return LEDGER_OK;
    }
    if (err != LEDGER_E_NOT_FOUND)
        return err;
    return open_new(ctx, id, name, currency, owner, deposit_minor, res);
}

/* --- demo accounts ------------------------------------------------------- */

typedef struct {
    const char *id;
    const char *name;
    const char *currency;
    const char *owner;
} demo_account_t;

static const demo_account_t demo_accounts[] = {
    {"alice", "Alice Smith", "GBP", "alice"},
    {"bob", "Bob Jones", "GBP", "bob"},
    {"carol", "Carol White", "GBP", "carol"},
    {"dave", "Dave Brown", "GBP", "dave"},
    {"mallory", "Mallory Black", "GBP", "mallory"},
    /* issue 21's second currency */
    {"alice-eur", "Alice Smith (EUR)", "EUR", "alice"},
    {"bob-eur", "Bob Jones (EUR)", "EUR", "bob"},
};

/* Whether any account but a settlement account exists. */
static ledger_err_t any_user_account(node_ctx_t *ctx, bool *any_out)
{
    store_cursor_t *cur;
    ledger_err_t err = store_cursor_open(ctx->txn, STORE_DB_ACCOUNTS, &cur);
    if (err)
        return err;
    bool any = false;
    store_kv_t kv;
    for (err = store_cursor_get(cur, STORE_FIRST, &kv); !err && !any;
         err = store_cursor_get(cur, STORE_NEXT, &kv)) {
        accounts_record_t rec;
        err = accounts_record_decode(kv.val, kv.val_size, &rec);
        if (err)
            break;
        any = !rec.settlement;
    }
    store_cursor_close(&cur);
    if (err && err != LEDGER_E_NOT_FOUND)
        return err;
    *any_out = any;
    return LEDGER_OK;
}

/*  Opens each demo account at zero, owned by its owner: scripts/demo.sh makes the principals
    and funds the accounts by deposits through the gateway (no money from nowhere). */
static ledger_err_t open_demo(node_ctx_t *ctx)
{
    for (size_t i = 0; i < sizeof demo_accounts / sizeof demo_accounts[0]; i++) {
        const demo_account_t *d = &demo_accounts[i];
        accounts_open_result_t res;
        ledger_err_t err =
            accounts_open_account(ctx, d->id, d->name, d->currency, d->owner, 0, &res);
        if (err)
            return err;
        if (res.status != ACCOUNTS_STATUS_OK && res.status != ACCOUNTS_STATUS_CREATED)
            return LEDGER_E_CORRUPT; /* a valid demo account at zero is never refused */
    }
    return LEDGER_OK;
}

ledger_err_t accounts_open_seed_demo(node_ctx_t *ctx)
{
    assert(ctx && ctx->txn);
    ledger_err_t err = accounts_open_ensure_funding(ctx, NULL, 0, NULL);
    bool any = false;
    if (!err)
        err = any_user_account(ctx, &any);
    if (!err && !any)
        err = open_demo(ctx);
    return err;
}

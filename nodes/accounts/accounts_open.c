/*  accounts_open.c: the funding account, opening an account with its
    deposit, and the demo accounts. See accounts_open.h.

    accounts_open_account decides on copies first (the input, an existing
    account, what the funding account can pay), then writes: a refusal
    never leaves a write behind. */
#include "accounts_open.h"

#include <assert.h>
#include <string.h>

#include "accounts_book.h"
#include "money.h"
#include "text.h"

bool accounts_settlement_is(const char *id)
{
    return id && strcmp(id, ACCOUNTS_FUNDING_ID) == 0;
}

static void funding_make(uint64_t now_ms, accounts_record_t *rec)
{
    memset(rec, 0, sizeof *rec);
    text_copy(rec->id, sizeof rec->id, ACCOUNTS_FUNDING_ID);
    text_copy(rec->name, sizeof rec->name, ACCOUNTS_FUNDING_NAME);
    text_copy(rec->currency, sizeof rec->currency, ACCOUNTS_CURRENCY);
    rec->settlement = true;
    rec->created_ms = now_ms;
}

/*  The funding account as it is, or a new one (in memory only; *is_new set)
    if it is missing. */
static ledger_err_t funding_load(node_ctx_t *ctx, accounts_record_t *rec, bool *is_new)
{
    ledger_err_t err = accounts_book_load(ctx, ACCOUNTS_FUNDING_ID, rec);
    *is_new = err == LEDGER_E_NOT_FOUND;
    if (*is_new) {
        funding_make(ctx->now_ms, rec);
        return LEDGER_OK;
    }
    if (err)
        return err;
    return rec->settlement ? LEDGER_OK : LEDGER_E_CORRUPT;
}

ledger_err_t accounts_open_ensure_funding(node_ctx_t *ctx)
{
    assert(ctx && ctx->txn);
    accounts_record_t rec;
    ledger_err_t err = accounts_book_load(ctx, ACCOUNTS_FUNDING_ID, &rec);
    if (err == LEDGER_OK)
        return rec.settlement ? LEDGER_OK : LEDGER_E_CORRUPT;
    if (err != LEDGER_E_NOT_FOUND)
        return err;
    funding_make(ctx->now_ms, &rec);
    return accounts_book_save(ctx, &rec, true);
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
    if (strcmp(currency, ACCOUNTS_CURRENCY) != 0) {
        open_refuse(res, ACCOUNTS_STATUS_BAD_REQUEST, "unsupported_currency",
                    "accounts can only be opened in " ACCOUNTS_CURRENCY);
        return false;
    }
    if (deposit_minor < 0) {
        open_refuse(res, ACCOUNTS_STATUS_BAD_REQUEST, "invalid_amount",
                    "the opening deposit must not be negative");
        return false;
    }
    if (strcmp(id, ACCOUNTS_FUNDING_ID) == 0) {
        open_refuse(res, ACCOUNTS_STATUS_CONFLICT, "account_exists",
                    "'" ACCOUNTS_FUNDING_ID "' is the funding account");
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

/*  A new account: the deposit moves from the funding account (created if
    missing) with one "open" entry on each side. */
static ledger_err_t open_new(node_ctx_t *ctx, const char *id, const char *name,
                             const char *currency, const char *owner, int64_t deposit_minor,
                             accounts_open_result_t *res)
{
    accounts_record_t funding, acct;
    bool funding_is_new;
    ledger_err_t err = funding_load(ctx, &funding, &funding_is_new);
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
} demo_account_t;

static const demo_account_t demo_accounts[] = {
    {"alice", "Alice Smith"}, {"bob", "Bob Jones"},         {"carol", "Carol White"},
    {"dave", "Dave Brown"},   {"mallory", "Mallory Black"},
};

ledger_err_t accounts_open_seed_demo(node_ctx_t *ctx)
{
    assert(ctx && ctx->txn);
    ledger_err_t err = accounts_open_ensure_funding(ctx);
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
        any_user_account = !rec.settlement;
    }
    store_cursor_close(&cur);
    if (err && err != LEDGER_E_NOT_FOUND)
        return err;
    if (any_user_account)
        return LEDGER_OK;
    for (size_t i = 0; i < sizeof demo_accounts / sizeof demo_accounts[0]; i++) {
        const demo_account_t *d = &demo_accounts[i];
        accounts_open_result_t res;
        /* owned by the principal of its id, at zero: scripts/demo.sh makes the principals and
           funds the accounts by deposits through the gateway (no money from nowhere) */
        err = accounts_open_account(ctx, d->id, d->name, ACCOUNTS_CURRENCY, d->id, 0, &res);
        if (err)
            return err;
        if (res.status != ACCOUNTS_STATUS_OK && res.status != ACCOUNTS_STATUS_CREATED)
            return LEDGER_E_CORRUPT; /* a valid demo account at zero is never refused */
    }
    return LEDGER_OK;
}

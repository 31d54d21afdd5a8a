/*  accounts_controls.c: the controls' decision on a transfer and the
    operator's update of an account's status and overdraft limit. See
    accounts_controls.h. */
#include "accounts_controls.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "accounts_book.h"
#include "accounts_cache.h"
#include "accounts_holds.h"
#include "accounts_open.h"
#include "money.h"
#include "text.h"

/* --- the decision on a transfer -------------------------------------------- */

ledger_err_t accounts_controls_decide(const accounts_record_t *from, const accounts_record_t *to,
                                      const proto_transfer_t *t, const char **code_out,
                                      char *reason, size_t reason_size)
{
    assert(from && to && t && code_out && reason && reason_size > 0);
    *code_out = NULL;
    reason[0] = '\0';
    const accounts_record_t *closed = from->status == ACCOUNTS_ACCOUNT_CLOSED ? from
                                      : to->status == ACCOUNTS_ACCOUNT_CLOSED ? to
                                                                              : NULL;
    if (closed) {
        *code_out = PROTO_DECLINE_ACCOUNT_CLOSED;
        text_format(reason, reason_size, "account '%s' is closed", closed->id);
        return LEDGER_OK;
    }
    if (from->status == ACCOUNTS_ACCOUNT_FROZEN) {
        *code_out = PROTO_DECLINE_ACCOUNT_FROZEN;
        text_format(reason, reason_size, "account '%s' is frozen: no money may leave it", from->id);
        return LEDGER_OK;
    }
    if (from->settlement)
        return LEDGER_OK; /* the settlement limit is the saga's (decide_funds) */
    int64_t available, spendable;
    if (money_sub(from->balance_minor, from->held_minor, &available) ||
        money_add(available, from->overdraft_limit_minor, &spendable))
        return LEDGER_E_CORRUPT; /* records are bounded: both fit */
    if (spendable >= t->amount_minor)
        return LEDGER_OK;
    char have[MONEY_TEXT_MAX], limit[MONEY_TEXT_MAX], want[MONEY_TEXT_MAX];
    *code_out = PROTO_DECLINE_INSUFFICIENT_FUNDS;
    if (from->overdraft_limit_minor == 0)
        text_format(reason, reason_size, "available %s %s is less than the amount %s %s",
                    money_format(available, have), t->currency, money_format(t->amount_minor, want),
                    t->currency);
    else
        text_format(reason, reason_size,
                    "available %s %s with an overdraft of %s is less than the amount %s %s",
                    money_format(available, have), t->currency,
                    money_format(from->overdraft_limit_minor, limit),
                    money_format(t->amount_minor, want), t->currency);
    return LEDGER_OK;
}

/* --- the operator's update ------------------------------------------------- */

static ledger_err_t update_refuse(accounts_controls_result_t *res, uint32_t status,
                                  const char *code, const char *reason)
{
    res->status = status;
    res->code = code;
    text_copy(res->reason, sizeof res->reason, reason);
    return LEDGER_OK;
}

/*  The checks that need no store: false (and the refusal in *res) if one fails; the new
    status in *status_out (the old one's stand-in ACCOUNTS_ACCOUNT_ACTIVE with *has_status
    false when unchanged). */
static bool update_input_valid(const char *principal, const char *status,
                               int64_t overdraft_limit_minor, accounts_account_status_t *status_out,
                               bool *has_status, accounts_controls_result_t *res)
{
    *has_status = status && status[0];
    if (!proto_account_id_valid_str(principal)) {
        update_refuse(res, ACCOUNTS_STATUS_BAD_REQUEST, "invalid",
                      "principal must be a principal id");
        return false;
    }
    if (*has_status && !accounts_record_status_parse(status, status_out)) {
        update_refuse(res, ACCOUNTS_STATUS_BAD_REQUEST, "invalid",
                      "status must be active, frozen or closed");
        return false;
    }
    if (overdraft_limit_minor < -1 || overdraft_limit_minor > ACCOUNTS_OVERDRAFT_MAX_MINOR) {
        update_refuse(res, ACCOUNTS_STATUS_BAD_REQUEST, "invalid",
                      "overdraft_limit must be 0 to 1000000000000000 minor units");
        return false;
    }
    return true;
}

/*  Decides the update of `rec` (its newest value) on copies: *next gets the account as it
    would be. LEDGER_OK with res->status set on a refusal. */
static ledger_err_t update_decide(const accounts_record_t *rec, bool has_status,
                                  accounts_account_status_t status, int64_t limit,
                                  accounts_record_t *next, accounts_controls_result_t *res)
{
    *next = *rec;
    if (has_status)
        next->status = status;
    if (limit >= 0)
        next->overdraft_limit_minor = limit;
    bool changes =
        next->status != rec->status || next->overdraft_limit_minor != rec->overdraft_limit_minor;
    if (rec->settlement)
        return update_refuse(res, ACCOUNTS_STATUS_BAD_REQUEST, "invalid",
                             "a settlement account has no status or overdraft limit");
    if (rec->status == ACCOUNTS_ACCOUNT_CLOSED && changes)
        return update_refuse(res, ACCOUNTS_STATUS_CONFLICT, "account_closed",
                             "the account is closed: closing is final");
    if (next->status == ACCOUNTS_ACCOUNT_CLOSED && rec->status != ACCOUNTS_ACCOUNT_CLOSED &&
        (rec->balance_minor != 0 || rec->held_minor != 0))
        return update_refuse(res, ACCOUNTS_STATUS_CONFLICT, "account_not_empty",
                             "only an account with balance 0 and nothing held can be closed");
    int64_t available, spendable;
    if (money_sub(rec->balance_minor, rec->held_minor, &available) ||
        money_add(available, next->overdraft_limit_minor, &spendable))
        return LEDGER_E_CORRUPT;
    if (spendable < 0)
        return update_refuse(res, ACCOUNTS_STATUS_BAD_REQUEST, "invalid",
                             "overdraft_limit is below what the account already uses of it");
    res->status = ACCOUNTS_STATUS_OK;
    return LEDGER_OK;
}

/*  The audit entries of the change from `old` to `next` (which then holds the after values of
    its chain), and the record, written through to the table (see accounts_controls.h). */
static ledger_err_t update_write(node_ctx_t *ctx, const char *principal,
                                 const accounts_record_t *old, accounts_record_t *next)
{
    char memo[STORE_MEMO_MAX + 1];
    ledger_err_t err = LEDGER_OK;
    if (next->status != old->status) {
        text_format(memo, sizeof memo, "%s: %s -> %s", principal,
                    accounts_record_status_name(old->status),
                    accounts_record_status_name(next->status));
        err = accounts_book_append_memo(ctx, next, "", ACCOUNTS_KIND_STATUS, memo, 0, 0);
    }
    if (!err && next->overdraft_limit_minor != old->overdraft_limit_minor) {
        text_format(memo, sizeof memo, "%s: %" PRId64 " -> %" PRId64, principal,
                    old->overdraft_limit_minor, next->overdraft_limit_minor);
        err = accounts_book_append_memo(ctx, next, "", ACCOUNTS_KIND_OVERDRAFT, memo, 0, 0);
    }
    if (!err)
        err = accounts_record_put(ctx->txn, next);
    accounts_record_t dirty;
    if (!err && ctx->state && accounts_cache_get(ctx->state, next->id, &dirty))
        err = accounts_cache_put(ctx->state, next); /* so a checkpoint writes this, not that */
    return err;
}

ledger_err_t accounts_controls_update(node_ctx_t *ctx, const char *id, const char *principal,
                                      const char *status, int64_t overdraft_limit_minor,
                                      accounts_controls_result_t *res)
{
    assert(ctx && ctx->txn && id && principal && res);
    memset(res, 0, sizeof *res);
    accounts_account_status_t new_status = ACCOUNTS_ACCOUNT_ACTIVE;
    bool has_status;
    if (!update_input_valid(principal, status, overdraft_limit_minor, &new_status, &has_status,
                            res))
        return LEDGER_OK;
    accounts_record_t rec, next;
    ledger_err_t err = accounts_book_load(ctx, id, &rec);
    if (err == LEDGER_E_NOT_FOUND)
        return update_refuse(res, ACCOUNTS_STATUS_NOT_FOUND, "not_found", "no such account");
    if (!err)
        err = update_decide(&rec, has_status, new_status, overdraft_limit_minor, &next, res);
    if (err || res->status != ACCOUNTS_STATUS_OK)
        return err;
    bool incoming = false;
    if (next.status == ACCOUNTS_ACCOUNT_CLOSED && rec.status != ACCOUNTS_ACCOUNT_CLOSED)
        err = accounts_holds_incoming(ctx->txn, accounts_book_reserved(ctx), id, &incoming);
    if (err)
        return err;
    if (incoming) /* money on its way in would land in an account nobody can move it out of */
        return update_refuse(res, ACCOUNTS_STATUS_CONFLICT, "account_not_empty",
                             "a transfer into the account is still open (reserved or "
                             "authorised): close it once that transfer is final");
    if (next.status != rec.status || next.overdraft_limit_minor != rec.overdraft_limit_minor)
        err = update_write(ctx, principal, &rec, &next);
    if (!err)
        res->account = next;
    return err;
}

/*  accounts_saga.c: transfer.requested, fraud.approved and fraud.rejected, and the entry of
    every saga message (capture and void go on to accounts_capture.c).

    Every handler has the same shape: read what it needs, decide (all
    validation and all arithmetic happen here, on copies in memory), then
    write the records, the ledger entries and the outbound messages. Nothing
    is written before the decision is final, so a refusal never leaves a
    half-applied step in the caller's transaction. Codes: accounts_saga.h.
*/
#include "accounts_saga.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "accounts_book.h"
#include "accounts_capture.h"
#include "accounts_controls.h"
#include "accounts_open.h"
#include "accounts_prune.h"
#include "accounts_record.h"
#include "accounts_refund.h"
#include "accounts_step.h"
#include "accounts_timers.h"
#include "currency.h"
#include "money.h"
#include "text.h"

/* Decline codes (accounts_saga.h). */
#define DECLINE_SAME_ACCOUNT PROTO_DECLINE_SAME_ACCOUNT
#define DECLINE_UNKNOWN_ACCOUNT PROTO_DECLINE_UNKNOWN_ACCOUNT
#define DECLINE_CURRENCY_MISMATCH PROTO_DECLINE_CURRENCY_MISMATCH
#define DECLINE_INSUFFICIENT_FUNDS PROTO_DECLINE_INSUFFICIENT_FUNDS
#define DECLINE_AMOUNT_OVERFLOW PROTO_DECLINE_AMOUNT_OVERFLOW
#define DECLINE_INVALID_AMOUNT PROTO_DECLINE_INVALID_AMOUNT
#define DECLINE_FORBIDDEN_ACCOUNT PROTO_DECLINE_FORBIDDEN_ACCOUNT
#define DECLINE_INVALID_KIND PROTO_DECLINE_INVALID_KIND
#define DECLINE_SETTLEMENT_LIMIT PROTO_DECLINE_SETTLEMENT_LIMIT
#define DECLINE_DEPOSIT_TOO_LARGE PROTO_DECLINE_DEPOSIT_TOO_LARGE
#define DECLINE_UNKNOWN_CURRENCY PROTO_DECLINE_UNKNOWN_CURRENCY

/* The short names this file's decisions use (accounts_step.h). */
#define COUNT_OF ACCOUNTS_COUNT_OF
typedef accounts_decision_t decision_t;
#define refuse accounts_step_refuse

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
    text_copy(out->principal, sizeof out->principal, t->principal);
    out->kind = t->kind;
    out->capture = (uint8_t)t->capture;
    out->expires_at_ms = t->capture == PROTO_CAPTURE_MANUAL ? t->expires_at_ms : 0;
    text_copy(out->refund_of, sizeof out->refund_of, t->refund_of);
    out->operator_scope = t->operator_scope;
    out->created_ms = now_ms;
    out->updated_ms = now_ms;
}

/* --- transfer.requested -------------------------------------------------- */

accounts_limits_t accounts_saga_limits_default(void)
{
    return (accounts_limits_t){.settlement_limit_minor = ACCOUNTS_SETTLEMENT_LIMIT_DEFAULT_MINOR,
                               .deposit_max_minor = ACCOUNTS_DEPOSIT_MAX_DEFAULT_MINOR,
                               .risk_timeout_ms = ACCOUNTS_RISK_TIMEOUT_DEFAULT_MS};
}

/* Looks up one side of a transfer; a missing account is a decline. */
static ledger_err_t load_party(node_ctx_t *ctx, const char *id, accounts_record_t *rec,
                               decision_t *d)
{
    ledger_err_t err = accounts_book_load(ctx, id, rec);
    if (err == LEDGER_E_NOT_FOUND)
        return refuse(d, DECLINE_UNKNOWN_ACCOUNT, "account '%s' does not exist", id);
    return err;
}

/*  The checks that need no account: the kind against the settlement account of the currency
    (by id: proto_settlement_id), and a deposit's size. decide_settlement checks the records. */
static ledger_err_t decide_kind(const proto_transfer_t *t, const accounts_limits_t *limits,
                                decision_t *d)
{
    const char *settlement = proto_settlement_id(t->currency);
    bool from_settles = settlement && strcmp(t->from, settlement) == 0;
    bool to_settles = settlement && strcmp(t->to, settlement) == 0;
    bool ok = false;
    switch (t->kind) {
    case PROTO_TRANSFER_KIND_TRANSFER:
    case PROTO_TRANSFER_KIND_REFUND:
        ok = !from_settles && !to_settles;
        break;
    case PROTO_TRANSFER_KIND_DEPOSIT:
        ok = settlement && strcmp(t->from, settlement) == 0 && !to_settles;
        break;
    case PROTO_TRANSFER_KIND_WITHDRAWAL:
        ok = settlement && strcmp(t->to, settlement) == 0 && !from_settles;
        break;
    default:
        break;
    }
    const char *kind = proto_transfer_kind_name(t->kind);
    if (!ok)
        return refuse(d, DECLINE_INVALID_KIND, "a %s must %s",
                      kind ? kind : "transfer of an unknown kind",
                      t->kind == PROTO_TRANSFER_KIND_DEPOSIT
                          ? "come from the settlement account of its currency"
                      : t->kind == PROTO_TRANSFER_KIND_WITHDRAWAL
                          ? "go to the settlement account of its currency"
                          : "not touch a settlement account");
    if (t->kind == PROTO_TRANSFER_KIND_DEPOSIT && t->amount_minor > limits->deposit_max_minor) {
        char max[MONEY_TEXT_MAX];
        return refuse(d, DECLINE_DEPOSIT_TOO_LARGE, "one deposit is at most %s %s",
                      money_format(limits->deposit_max_minor, max), t->currency);
    }
    return LEDGER_OK;
}

/*  Ownership, from the node's own records: whatever the gateway decided, money moves out of an
    account only for its owner. A deposit's principal is the operator who asked. */
static ledger_err_t decide_owner(const proto_transfer_t *t, const accounts_record_t *from,
                                 decision_t *d)
{
    if (t->principal[0] == '\0')
        return refuse(d, DECLINE_FORBIDDEN_ACCOUNT, "the request names no principal");
    if (t->kind == PROTO_TRANSFER_KIND_DEPOSIT ||
        (t->kind == PROTO_TRANSFER_KIND_REFUND && t->operator_scope))
        return LEDGER_OK;
    if (from->owner[0] == '\0' || strcmp(from->owner, t->principal) != 0)
        return refuse(d, DECLINE_FORBIDDEN_ACCOUNT, "account '%s' is not owned by '%s'", from->id,
                      t->principal);
    return LEDGER_OK;
}

/*  Whether the transfer may move money: the account controls first (accounts_controls.h:
    closed, frozen, and available + overdraft >= amount for a non-settlement `from`), then a
    settlement account (a deposit) down to -settlement_limit, on available = balance - held. */
static ledger_err_t decide_funds(const proto_transfer_t *t, const accounts_record_t *from,
                                 const accounts_record_t *to, const accounts_limits_t *limits,
                                 decision_t *d)
{
    /* issue 21, account controls (accounts_controls.h) */
    ledger_err_t err = accounts_controls_decide(from, to, t, &d->code, d->reason, sizeof d->reason);
    if (err || d->code || t->kind != PROTO_TRANSFER_KIND_DEPOSIT)
        return err;
    int64_t available, after;
    if (money_sub(from->balance_minor, from->held_minor, &available))
        return LEDGER_E_CORRUPT; /* both within int64 and bounded by the limits */
    char have[MONEY_TEXT_MAX];
    if (money_sub(available, t->amount_minor, &after) || after < -limits->settlement_limit_minor)
        return refuse(d, DECLINE_SETTLEMENT_LIMIT,
                      "the settlement account of %s would go below its limit of -%s", t->currency,
                      money_format(limits->settlement_limit_minor, have));
    return LEDGER_OK;
}

/*  The kind against the records: a deposit comes from, a withdrawal goes to, a settlement
    account (its record's flag); nothing else touches one. The id alone is not enough: a
    customer's account may have a settlement id of a currency added later
    (accounts_open_ensure_funding), and is then an ordinary account. */
static ledger_err_t decide_settlement(const proto_transfer_t *t, const accounts_record_t *from,
                                      const accounts_record_t *to, decision_t *d)
{
    bool deposit = t->kind == PROTO_TRANSFER_KIND_DEPOSIT,
         withdrawal = t->kind == PROTO_TRANSFER_KIND_WITHDRAWAL;
    if (from->settlement == deposit && to->settlement == withdrawal)
        return LEDGER_OK;
    if ((deposit && !from->settlement) || (withdrawal && !to->settlement))
        return refuse(d, DECLINE_INVALID_KIND,
                      "%s has no settlement account on this ledger: '%s' is a customer's account",
                      t->currency, deposit ? from->id : to->id);
    return refuse(d, DECLINE_INVALID_KIND, "a %s must not touch a settlement account",
                  proto_transfer_kind_name(t->kind));
}

/*  The checks once both accounts are loaded: the settlement accounts, ownership, currencies, a
    refund's original, the funds. On acceptance of a refund *original holds the original to
    store. */
static ledger_err_t decide_parties(node_ctx_t *ctx, const proto_transfer_t *t,
                                   const accounts_limits_t *limits, const accounts_record_t *from,
                                   const accounts_record_t *to, accounts_transfer_t *original,
                                   decision_t *d)
{
    ledger_err_t err = decide_settlement(t, from, to, d);
    if (err || d->code)
        return err;
    err = decide_owner(t, from, d);
    if (err || d->code)
        return err;
    const accounts_record_t *sides[] = {from, to};
    for (size_t i = 0; i < COUNT_OF(sides); i++)
        if (strcmp(sides[i]->currency, t->currency) != 0)
            return refuse(d, DECLINE_CURRENCY_MISMATCH,
                          "transfer currency %s differs from account '%s' currency %s", t->currency,
                          sides[i]->id, sides[i]->currency);
    if (t->kind == PROTO_TRANSFER_KIND_REFUND) {
        err = accounts_refund_decide(ctx, t, original, d);
        if (err || d->code)
            return err;
    }
    return decide_funds(t, from, to, limits, d);
}

/*  Decides a transfer.requested without writing. On acceptance d->code is
    NULL and *from / *to hold the records updated with the hold (and, for a
    refund, *original the refunded transfer with its refunded_minor raised). */
static ledger_err_t decide_request(node_ctx_t *ctx, const proto_transfer_t *t,
                                   const accounts_limits_t *limits, accounts_record_t *from,
                                   accounts_record_t *to, accounts_transfer_t *original,
                                   decision_t *d)
{
    memset(from, 0, sizeof *from);
    memset(to, 0, sizeof *to);
    d->code = NULL;
    d->reason[0] = '\0';
    if (t->amount_minor <= 0)
        return refuse(d, DECLINE_INVALID_AMOUNT, "amount must be greater than 0");
    if (strcmp(t->from, t->to) == 0)
        return refuse(d, DECLINE_SAME_ACCOUNT, "source and destination are the same account");
    if (!currency_find(t->currency))
        return refuse(d, DECLINE_UNKNOWN_CURRENCY, "currency %s is not one this ledger keeps",
                      t->currency);
    ledger_err_t err = decide_kind(t, limits, d);
    if (!err && !d->code)
        err = load_party(ctx, t->from, from, d);
    if (!err && !d->code)
        err = load_party(ctx, t->to, to, d);
    if (!err && !d->code)
        err = decide_parties(ctx, t, limits, from, to, original, d);
    if (err || d->code)
        return err;
    int64_t new_held, to_balance;
    if (money_add(to->balance_minor, t->amount_minor, &to_balance) ||
        money_add(from->held_minor, t->amount_minor, &new_held))
        return refuse(d, DECLINE_AMOUNT_OVERFLOW,
                      "crediting account '%s' would overflow its balance", to->id);
    from->held_minor = new_held;
    return LEDGER_OK;
}

/*  Places the hold decided on `from` (its record already holds it), records
    the reserved transfer `tr` with its risk deadline, raises a refund's
    original, and sends funds.reserved to fraud and the gateway. */
static ledger_err_t reserve(node_ctx_t *ctx, const proto_msg_t *msg,
                            const accounts_limits_t *limits, accounts_record_t *from,
                            const accounts_transfer_t *original, accounts_transfer_t *tr)
{
    const proto_transfer_t *t = &msg->body.transfer;
    ledger_err_t err =
        accounts_step_entry(ctx, from, t->transfer, ACCOUNTS_KIND_HOLD, 0, t->amount_minor);
    if (!err && t->kind == PROTO_TRANSFER_KIND_REFUND)
        err = accounts_refund_reserve(ctx, original);
    if (err)
        return err;
    tr->risk_deadline_ms = ctx->now_ms + limits->risk_timeout_ms;
    proto_msg_t out;
    accounts_step_msg_start(&out, PROTO_FUNDS_RESERVED, t->transfer);
    out.body.transfer = *t;
    const char *peers[] = {NODE_PEER_FRAUD, NODE_PEER_GATEWAY};
    return accounts_step_advance(ctx, msg, tr, ACCOUNTS_TRANSFER_RESERVED, &out, peers,
                                 COUNT_OF(peers));
}

/*  A transfer.requested for a transfer without saga state, created at or before the pruned
    floor: its state may have been pruned, so it is refused, never applied (accounts_prune.h). */
static ledger_err_t check_not_pruned(node_ctx_t *ctx, const char *transfer, char *why,
                                     size_t why_size)
{
    bool refused = false;
    ledger_err_t err = accounts_prune_refuses(ctx->txn, transfer, &refused);
    if (err || !refused)
        return err;
    if (why)
        snprintf(why, why_size,
                 "transfer %s is older than the saga retention: a late redelivery, refused",
                 transfer);
    return LEDGER_E_INVALID;
}

static ledger_err_t on_requested(node_ctx_t *ctx, const proto_msg_t *msg,
                                 const accounts_limits_t *limits, char *why, size_t why_size)
{
    const proto_transfer_t *t = &msg->body.transfer;
    /* Without an id and a currency there is nothing to record a decline under;
       proto validation never lets such a message through. */
    if (text_len_within(t->transfer, PROTO_TRANSFER_ID_MAX) == 0 ||
        !proto_currency_valid(t->currency))
        return LEDGER_E_INVALID;
    accounts_transfer_t tr;
    ledger_err_t err = accounts_record_transfer_get(ctx->txn, t->transfer, &tr);
    if (err == LEDGER_OK)
        return LEDGER_OK; /* saga guard: a known transfer is never requested twice */
    if (err != LEDGER_E_NOT_FOUND)
        return err;
    err = check_not_pruned(ctx, t->transfer, why, why_size);
    if (err)
        return err;

    accounts_record_t from, to;
    accounts_transfer_t original;
    decision_t d;
    err = decide_request(ctx, t, limits, &from, &to, &original, &d);
    if (err)
        return err;

    transfer_from_proto(t, ctx->now_ms, &tr);
    if (d.code)
        return accounts_step_finish(ctx, msg, &tr, ACCOUNTS_TRANSFER_DECLINED,
                                    PROTO_TRANSFER_DECLINED, d.code, d.reason);
    return reserve(ctx, msg, limits, &from, &original, &tr);
}

/* --- fraud.approved / fraud.rejected ------------------------------------- */

/*  fraud.approved of a manual transfer: the hold stays, the transfer is AUTHORIZED until its
    capture, void or expiry (its timer replaces the risk deadline), transfer.authorized to the
    gateway. */
static ledger_err_t authorize(node_ctx_t *ctx, const proto_msg_t *msg, accounts_transfer_t *tr)
{
    proto_msg_t out;
    accounts_step_msg_start(&out, PROTO_TRANSFER_AUTHORIZED, tr->id);
    accounts_step_to_proto(tr, &out.body.transfer);
    const char *peers[] = {NODE_PEER_GATEWAY};
    return accounts_step_advance(ctx, msg, tr, ACCOUNTS_TRANSFER_AUTHORIZED, &out, peers,
                                 COUNT_OF(peers));
}

static ledger_err_t on_approved(node_ctx_t *ctx, const proto_msg_t *msg, accounts_transfer_t *tr)
{
    if (tr->capture == PROTO_CAPTURE_MANUAL)
        return authorize(ctx, msg, tr);
    return accounts_step_settle(ctx, msg, tr, tr->amount_minor, ACCOUNTS_KIND_DEBIT);
}

static ledger_err_t on_rejected(node_ctx_t *ctx, const proto_msg_t *msg, accounts_transfer_t *tr)
{
    ledger_err_t err = accounts_step_release(ctx, tr, ACCOUNTS_KIND_RELEASE);
    if (!err)
        err = accounts_refund_give_back(ctx, tr);
    if (err)
        return err;
    proto_msg_t out;
    accounts_step_msg_start(&out, PROTO_TRANSFER_REJECTED_FRAUD, tr->id);
    out.body.verdict = msg->body.verdict; /* transfer, rules and reason from the fraud node */
    text_copy(out.body.verdict.transfer, sizeof out.body.verdict.transfer, tr->id);
    const char *peers[] = {NODE_PEER_GATEWAY};
    return accounts_step_advance(ctx, msg, tr, ACCOUNTS_TRANSFER_RELEASED, &out, peers,
                                 COUNT_OF(peers));
}

/*  Whether the verdict `msg` answers the funds.reserved this node sent for
    `tr`: its cause must be <this node>/<tr->reserved_seq>, or any message of
    this node for a transfer reserved before reserved_seq was kept (0).
    Otherwise LEDGER_E_INVALID with why "verdict cites cause X, not
    accounts/N": a verdict about another message (forged, or misrouted by a
    confused peer) never moves money. */
static ledger_err_t check_cause(const node_ctx_t *ctx, const proto_msg_t *msg,
                                const accounts_transfer_t *tr, char *why, size_t why_size)
{
    char origin[PROTO_NODE_MAX + 1];
    uint64_t seq = 0;
    bool parsed = proto_id_parse(msg->cause, origin, &seq) == LEDGER_OK;
    if (parsed && strcmp(origin, ctx->node_name) == 0 &&
        (tr->reserved_seq == 0 || seq == tr->reserved_seq))
        return LEDGER_OK;
    const char *cited = msg->cause[0] ? msg->cause : "\"\"";
    if (why && tr->reserved_seq)
        snprintf(why, why_size, "verdict cites cause %s, not %s/%llu", cited, ctx->node_name,
                 (unsigned long long)tr->reserved_seq);
    else if (why)
        snprintf(why, why_size, "verdict cites cause %s, not a message of %s", cited,
                 ctx->node_name);
    return LEDGER_E_INVALID;
}

static ledger_err_t on_verdict(node_ctx_t *ctx, const proto_msg_t *msg, char *why, size_t why_size)
{
    accounts_transfer_t tr;
    ledger_err_t err = accounts_record_transfer_get(ctx->txn, msg->body.verdict.transfer, &tr);
    if (err == LEDGER_E_NOT_FOUND)
        return LEDGER_OK; /* a verdict for a transfer we never reserved: nothing to do */
    if (err)
        return err;
    if (tr.state != ACCOUNTS_TRANSFER_RESERVED)
        return LEDGER_OK; /* saga guard: already past the verdict (or timed out waiting) */
    err = check_cause(ctx, msg, &tr, why, why_size);
    if (err)
        return err;
    if (msg->type == PROTO_FRAUD_APPROVED)
        return on_approved(ctx, msg, &tr);
    return on_rejected(ctx, msg, &tr);
}

ledger_err_t accounts_saga_apply(node_ctx_t *ctx, const proto_msg_t *msg,
                                 const accounts_limits_t *limits, char *why, size_t why_size)
{
    assert(ctx && ctx->txn && msg);
    accounts_limits_t defaults = accounts_saga_limits_default();
    if (!limits)
        limits = &defaults;
    assert(limits->settlement_limit_minor >= 0 && limits->deposit_max_minor > 0 &&
           limits->risk_timeout_ms > 0);
    switch (msg->type) {
    case PROTO_TRANSFER_REQUESTED:
        return on_requested(ctx, msg, limits, why, why_size);
    case PROTO_FRAUD_APPROVED:
    case PROTO_FRAUD_REJECTED:
        return on_verdict(ctx, msg, why, why_size);
    case PROTO_TRANSFER_CAPTURE:
    case PROTO_TRANSFER_VOID:
        return accounts_capture_apply(ctx, msg, why, why_size);
    default:
        return LEDGER_E_INVALID;
    }
}

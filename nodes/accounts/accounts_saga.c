/*  accounts_saga.c: transfer.requested, fraud.approved and fraud.rejected.

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
#include "accounts_controls.h"
#include "accounts_open.h"
#include "accounts_prune.h"
#include "accounts_record.h"
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

/* The number of items of an array (peer lists, the two sides of a transfer). */
#define COUNT_OF(array) (sizeof(array) / sizeof((array)[0]))

/* --- messages ------------------------------------------------------------ */

static void msg_start(proto_msg_t *out, proto_type_t type, const char *transfer)
{
    memset(out, 0, sizeof *out);
    out->v = PROTO_VERSION;
    out->type = type;
    text_copy(out->corr, sizeof out->corr, transfer);
}

/*  A saga step's last writes: emits `out` to `peers` (the effect of the
    step's message `msg`), then stores `tr` in `state` (as of now). Emitting
    first gives out->seq its value: a reservation keeps it in tr->reserved_seq,
    the cause every verdict for the transfer must cite (on_verdict). */
static ledger_err_t transfer_advance(node_ctx_t *ctx, const proto_msg_t *msg,
                                     accounts_transfer_t *tr, accounts_transfer_state_t state,
                                     proto_msg_t *out, const char *const *peers, size_t peer_count)
{
    ledger_err_t err = node_ctx_emit(ctx, peers, peer_count, out, msg);
    if (err)
        return err;
    assert(out->seq > 0);
    if (state == ACCOUNTS_TRANSFER_RESERVED)
        tr->reserved_seq = out->seq;
    tr->state = state;
    tr->updated_ms = ctx->now_ms;
    return accounts_record_transfer_put(ctx->txn, tr);
}

/* One ledger entry on `acct` (its record already holds the after values), then the record. */
static ledger_err_t book_entry(node_ctx_t *ctx, accounts_record_t *acct, const char *transfer,
                               const char *kind, int64_t balance_delta_minor,
                               int64_t held_delta_minor)
{
    ledger_err_t err =
        accounts_book_append(ctx, acct, transfer, kind, balance_delta_minor, held_delta_minor);
    return err ? err : accounts_book_save(ctx, acct, false);
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
    text_copy(out->principal, sizeof out->principal, tr->principal);
    out->kind = tr->kind;
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
    text_copy(out->principal, sizeof out->principal, t->principal);
    out->kind = t->kind;
    out->created_ms = now_ms;
    out->updated_ms = now_ms;
}

/* --- transfer.requested -------------------------------------------------- */

typedef struct {
    const char *code; /* NULL: accepted */
    char reason[PROTO_REASON_MAX + 1];
} decision_t;

accounts_limits_t accounts_saga_limits_default(void)
{
    return (accounts_limits_t){.settlement_limit_minor = ACCOUNTS_SETTLEMENT_LIMIT_DEFAULT_MINOR,
                               .deposit_max_minor = ACCOUNTS_DEPOSIT_MAX_DEFAULT_MINOR};
}

/* A decline with a formatted reason; returns LEDGER_OK (a decision, not an error). */
static ledger_err_t __attribute__((format(printf, 3, 4)))
refuse(decision_t *d, const char *code, const char *fmt, ...)
{
    d->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->reason, sizeof d->reason, fmt, ap);
    va_end(ap);
    return LEDGER_OK;
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
    (by id: proto_settlement_id), and a deposit's size. */
static ledger_err_t decide_kind(const proto_transfer_t *t, const accounts_limits_t *limits,
                                decision_t *d)
{
    const char *settlement = proto_settlement_id(t->currency);
    bool from_settles = accounts_settlement_is(t->from);
    bool to_settles = accounts_settlement_is(t->to);
    bool ok = false;
    switch (t->kind) {
    case PROTO_TRANSFER_KIND_TRANSFER:
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
    if (t->kind == PROTO_TRANSFER_KIND_DEPOSIT)
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

/*  Decides a transfer.requested without writing. On acceptance d->code is
    NULL and *from / *to hold the records updated with the hold. */
static ledger_err_t decide_request(node_ctx_t *ctx, const proto_transfer_t *t,
                                   const accounts_limits_t *limits, accounts_record_t *from,
                                   accounts_record_t *to, decision_t *d)
{
    memset(from, 0, sizeof *from);
    memset(to, 0, sizeof *to);
    d->code = NULL;
    d->reason[0] = '\0';
    if (t->amount_minor <= 0)
        return refuse(d, DECLINE_INVALID_AMOUNT, "amount must be greater than 0");
    if (strcmp(t->from, t->to) == 0)
        return refuse(d, DECLINE_SAME_ACCOUNT, "source and destination are the same account");
    ledger_err_t err = decide_kind(t, limits, d);
    if (err || d->code)
        return err;
    err = load_party(ctx, t->from, from, d);
    if (err || d->code)
        return err;
    err = load_party(ctx, t->to, to, d);
    if (err || d->code)
        return err;
    err = decide_owner(t, from, d);
    if (err || d->code)
        return err;
    const accounts_record_t *sides[] = {from, to};
    for (size_t i = 0; i < COUNT_OF(sides); i++) {
        if (strcmp(sides[i]->currency, t->currency) != 0) {
            d->code = DECLINE_CURRENCY_MISMATCH;
            text_format(d->reason, sizeof d->reason,
                        "transfer currency %s differs from account '%s' currency %s", t->currency,
                        sides[i]->id, sides[i]->currency);
            return LEDGER_OK;
        }
    }
    err = decide_funds(t, from, to, limits, d);
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

/* Records the declined transfer `tr` and tells the gateway why. */
static ledger_err_t decline(node_ctx_t *ctx, const proto_msg_t *msg, accounts_transfer_t *tr,
                            const decision_t *d)
{
    text_copy(tr->code, sizeof tr->code, d->code);
    proto_msg_t out;
    msg_start(&out, PROTO_TRANSFER_DECLINED, tr->id);
    text_copy(out.body.declined.transfer, sizeof out.body.declined.transfer, tr->id);
    text_copy(out.body.declined.code, sizeof out.body.declined.code, d->code);
    text_copy(out.body.declined.reason, sizeof out.body.declined.reason, d->reason);
    const char *peers[] = {NODE_PEER_GATEWAY};
    return transfer_advance(ctx, msg, tr, ACCOUNTS_TRANSFER_DECLINED, &out, peers, COUNT_OF(peers));
}

/*  Places the hold decided on `from` (its record already holds it), records
    the reserved transfer `tr`, and sends funds.reserved to fraud and the
    gateway. */
static ledger_err_t reserve(node_ctx_t *ctx, const proto_msg_t *msg, accounts_record_t *from,
                            accounts_transfer_t *tr)
{
    const proto_transfer_t *t = &msg->body.transfer;
    ledger_err_t err = book_entry(ctx, from, t->transfer, ACCOUNTS_KIND_HOLD, 0, t->amount_minor);
    if (err)
        return err;
    proto_msg_t out;
    msg_start(&out, PROTO_FUNDS_RESERVED, t->transfer);
    out.body.transfer = *t;
    const char *peers[] = {NODE_PEER_FRAUD, NODE_PEER_GATEWAY};
    return transfer_advance(ctx, msg, tr, ACCOUNTS_TRANSFER_RESERVED, &out, peers, COUNT_OF(peers));
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
    decision_t d;
    err = decide_request(ctx, t, limits, &from, &to, &d);
    if (err)
        return err;

    transfer_from_proto(t, ctx->now_ms, &tr);
    if (d.code)
        return decline(ctx, msg, &tr, &d);
    return reserve(ctx, msg, &from, &tr);
}

/* --- fraud.approved / fraud.rejected ------------------------------------- */

/* Loads an account a reserved transfer refers to: it must exist. */
static ledger_err_t load_reserved_party(node_ctx_t *ctx, const char *id, accounts_record_t *rec)
{
    ledger_err_t err = accounts_book_load(ctx, id, rec);
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

    err = book_entry(ctx, &from, tr->id, ACCOUNTS_KIND_DEBIT, -tr->amount_minor, -tr->amount_minor);
    if (!err)
        err = book_entry(ctx, &to, tr->id, ACCOUNTS_KIND_CREDIT, tr->amount_minor, 0);
    if (err)
        return err;
    proto_msg_t out;
    msg_start(&out, PROTO_TRANSFER_SETTLED, tr->id);
    transfer_to_proto(tr, &out.body.transfer);
    const char *peers[] = {NODE_PEER_GATEWAY};
    return transfer_advance(ctx, msg, tr, ACCOUNTS_TRANSFER_SETTLED, &out, peers, COUNT_OF(peers));
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

    err = book_entry(ctx, &from, tr->id, ACCOUNTS_KIND_RELEASE, 0, -tr->amount_minor);
    if (err)
        return err;
    proto_msg_t out;
    msg_start(&out, PROTO_TRANSFER_REJECTED_FRAUD, tr->id);
    out.body.verdict = msg->body.verdict; /* transfer, rules and reason from the fraud node */
    text_copy(out.body.verdict.transfer, sizeof out.body.verdict.transfer, tr->id);
    const char *peers[] = {NODE_PEER_GATEWAY};
    return transfer_advance(ctx, msg, tr, ACCOUNTS_TRANSFER_RELEASED, &out, peers, COUNT_OF(peers));
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
        return LEDGER_OK; /* saga guard: already settled, released or declined */
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
    assert(limits->settlement_limit_minor >= 0 && limits->deposit_max_minor > 0);
    switch (msg->type) {
    case PROTO_TRANSFER_REQUESTED:
        return on_requested(ctx, msg, limits, why, why_size);
    case PROTO_FRAUD_APPROVED:
    case PROTO_FRAUD_REJECTED:
        return on_verdict(ctx, msg, why, why_size);
    default:
        return LEDGER_E_INVALID;
    }
}

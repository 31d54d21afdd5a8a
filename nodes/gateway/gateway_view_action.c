/*  gateway_view_action.c: gateway_view_act (contract in gateway_view.h): capture, void and
    refund of a transfer, each under an idempotency key, in the node loop's transaction.

    Every refusal is decided on copies before the first write, as a submission's: the key
    (replay or reused), the transfer and who may act on it, its status, then the amounts.
    A capture or void is a message to the accounts node (transfer.capture, transfer.void,
    through the outbox in this transaction) and a mark on the record (pending_action), so a
    second one is refused 409 until the accounts node answers with transfer.settled or
    transfer.voided (or the authorisation expires). A refund is a new transfer (kind refund)
    submitted like any other, and its amount is counted at once in its original's refunding
    sum: two refunds sent back to back are judged one after the other in the loop's order,
    so together they can never pass the captured amount.

    The request hash of an action covers what the caller asked (the amount as given, 0 for
    "all"), not what it resolved to, so a retry hashes alike whatever happened since.
*/
#include "gateway_view.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "gateway_owners.h"
#include "sha256.h"
#include "text.h"

static const char *const action_tags[] = {
    [GATEWAY_VIEW_ACT_CAPTURE] = "ledger.capture.v1",
    [GATEWAY_VIEW_ACT_VOID] = "ledger.void.v1",
    [GATEWAY_VIEW_ACT_REFUND] = "ledger.refund.v1",
};

/* SHA-256 of the action as asked: tag + NUL, transfer id + NUL, be64 amount, reference. */
static ledger_err_t action_hash(const gateway_view_action_t *a, uint8_t out[GATEWAY_HASH_SIZE])
{
    uint8_t amount[8];
    store_be64_put(amount, (uint64_t)a->amount_minor);
    const char *tag = action_tags[a->act];
    sha256_part_t parts[] = {
        {tag, strlen(tag) + 1},
        {a->transfer, strlen(a->transfer) + 1},
        {amount, sizeof amount},
        {a->reference, strlen(a->reference)},
    };
    return sha256_parts(parts, sizeof parts / sizeof parts[0], out);
}

/* Who may act: an operator on any transfer; a customer on one whose `account` it owns. */
static ledger_err_t may_act(node_ctx_t *ctx, const char *principal, const gateway_view_action_t *a,
                            const char *account, bool *may_out)
{
    *may_out = a->operator_scope;
    if (*may_out)
        return LEDGER_OK;
    return gateway_owners_owns(ctx->state, ctx->txn, principal, account, may_out);
}

/*  The refusal of a capture or void of `rec` at `now_ms`, or NONE. Past its expiry an
    authorisation is not captured any more, even before the accounts node's answer says so. */
static gateway_view_refusal_t judge_capture(const gateway_view_record_t *rec,
                                            const gateway_view_action_t *a, uint64_t now_ms)
{
    if (rec->status != GATEWAY_STATUS_AUTHORIZED || rec->pending_action != GATEWAY_ACTION_NONE ||
        (rec->expires_at_ms && now_ms >= rec->expires_at_ms))
        return GATEWAY_VIEW_REFUSAL_INVALID_STATE;
    if (a->act == GATEWAY_VIEW_ACT_CAPTURE && a->amount_minor > rec->req.amount_minor)
        return GATEWAY_VIEW_REFUSAL_EXCEEDS_AUTHORIZED;
    return GATEWAY_VIEW_REFUSAL_NONE;
}

/* What is left to refund of `rec` (captured, less settled and pending refunds). */
static int64_t refundable(const gateway_view_record_t *rec)
{
    int64_t left = gateway_view_record_captured(rec) - rec->refunded_minor - rec->refunding_minor;
    return left > 0 ? left : 0;
}

/* The refusal of a refund of `rec`, or NONE; *amount_out the refund's amount. */
static gateway_view_refusal_t judge_refund(const gateway_view_record_t *rec,
                                           const gateway_view_action_t *a, int64_t *amount_out)
{
    if (rec->status != GATEWAY_STATUS_SETTLED ||
        gateway_view_record_kind(&rec->req) != PROTO_TRANSFER_KIND_TRANSFER)
        return GATEWAY_VIEW_REFUSAL_INVALID_STATE;
    if (rec->refund_count >= GATEWAY_REFUNDS_MAX)
        return GATEWAY_VIEW_REFUSAL_TOO_MANY_REFUNDS;
    int64_t left = refundable(rec);
    *amount_out = a->amount_minor ? a->amount_minor : left;
    if (*amount_out <= 0 || *amount_out > left)
        return GATEWAY_VIEW_REFUSAL_EXCEEDS_REFUNDABLE;
    return GATEWAY_VIEW_REFUSAL_NONE;
}

/* Emits transfer.capture or transfer.void for `rec` to the accounts node; its id into step. */
static ledger_err_t emit_action(node_ctx_t *ctx, const char *principal,
                                const gateway_view_action_t *a, const gateway_view_record_t *rec,
                                gateway_view_step_t *step)
{
    proto_msg_t msg;
    memset(&msg, 0, sizeof msg);
    msg.type = a->act == GATEWAY_VIEW_ACT_CAPTURE ? PROTO_TRANSFER_CAPTURE : PROTO_TRANSFER_VOID;
    memcpy(msg.corr, rec->id, sizeof msg.corr);
    proto_action_t *body = &msg.body.action;
    memcpy(body->transfer, rec->id, sizeof body->transfer);
    if (a->act == GATEWAY_VIEW_ACT_CAPTURE)
        body->amount_minor = a->amount_minor ? a->amount_minor : rec->req.amount_minor;
    text_copy_cut(body->principal, sizeof body->principal, principal);
    body->operator_scope = a->operator_scope;
    static const char *const peers[] = {NODE_PEER_ACCOUNTS};
    ledger_err_t err = node_ctx_emit(ctx, peers, 1, &msg, NULL);
    if (err)
        return err;
    proto_msg_id(&msg, step->message_id);
    text_copy_cut(step->step, sizeof step->step, proto_type_name(msg.type));
    text_copy_cut(step->node, sizeof step->node, ctx->node_name);
    return LEDGER_OK;
}

/* An accepted capture or void: the message, the mark, the step, the event. */
static ledger_err_t capture_accept(node_ctx_t *ctx, const char *principal,
                                   const gateway_view_action_t *a, gateway_view_record_t *rec)
{
    gateway_view_step_t step = {.ts_ms = ctx->now_ms};
    ledger_err_t err = emit_action(ctx, principal, a, rec, &step);
    if (err)
        return err;
    rec->pending_action =
        a->act == GATEWAY_VIEW_ACT_CAPTURE ? GATEWAY_ACTION_CAPTURE : GATEWAY_ACTION_VOID;
    gateway_view_record_timeline_add(rec, &step); /* past GATEWAY_TIMELINE_MAX: not listed */
    return gateway_view_record_write(ctx, rec, &step);
}

/* An accepted refund of `orig`: the new transfer, then the original's sums and list. */
static ledger_err_t refund_accept(node_ctx_t *ctx, const char *principal,
                                  const gateway_view_action_t *a, gateway_view_record_t *orig,
                                  int64_t amount, const char *key,
                                  const uint8_t hash[GATEWAY_HASH_SIZE],
                                  gateway_submit_result_t *out)
{
    gateway_transfer_request_t req = {
        .amount_minor = amount, .capture = PROTO_CAPTURE_AUTO, .operator_scope = a->operator_scope};
    memcpy(req.from, orig->req.to, sizeof req.from);
    memcpy(req.to, orig->req.from, sizeof req.to);
    memcpy(req.currency, orig->req.currency, sizeof req.currency);
    memcpy(req.reference, a->reference, sizeof req.reference);
    memcpy(req.refund_of, orig->id, sizeof req.refund_of);
    ledger_err_t err = gateway_view_submit_new(ctx, principal, &req, key, hash, out);
    if (err)
        return err;
    orig->refunding_minor += amount; /* <= captured: judge_refund */
    memcpy(orig->refunds[orig->refund_count++], out->id, sizeof orig->refunds[0]);
    orig->updated_ms = ctx->now_ms;
    return gateway_view_record_put(ctx->txn, orig, 0);
}

/* The action on `rec` (read, key checked): refused, or accepted and written. */
static ledger_err_t act_on(node_ctx_t *ctx, const char *principal, const gateway_view_action_t *a,
                           gateway_view_record_t *rec, const char *key,
                           const uint8_t hash[GATEWAY_HASH_SIZE], gateway_view_action_result_t *out)
{
    bool refund = a->act == GATEWAY_VIEW_ACT_REFUND;
    bool may = false;
    ledger_err_t err = may_act(ctx, principal, a, refund ? rec->req.to : rec->req.from, &may);
    if (err)
        return err;
    int64_t amount = 0;
    out->refusal = !may     ? GATEWAY_VIEW_REFUSAL_NOT_FOUND
                   : refund ? judge_refund(rec, a, &amount)
                            : judge_capture(rec, a, ctx->now_ms);
    if (out->refusal)
        return LEDGER_OK;
    if (refund)
        return refund_accept(ctx, principal, a, rec, amount, key, hash, &out->created);
    err = capture_accept(ctx, principal, a, rec);
    if (!err) {
        gateway_view_idem_t fresh = {.created_ms = ctx->now_ms};
        memcpy(fresh.hash, hash, sizeof fresh.hash);
        memcpy(fresh.id, rec->id, sizeof fresh.id);
        err = gateway_view_idem_put(ctx->txn, principal, key, &fresh);
    }
    if (!err) {
        memcpy(out->created.id, rec->id, sizeof out->created.id);
        out->created.created_ms = rec->created_ms;
        out->created.request = rec->req;
        out->created.expires_at_ms = rec->expires_at_ms;
    }
    return err;
}

ledger_err_t gateway_view_act(node_ctx_t *ctx, const char *principal,
                              const gateway_view_action_t *action, const char *key,
                              const gateway_view_keys_t *keys, gateway_view_action_result_t *out)
{
    assert(ctx && ctx->txn && principal && action && keys && out);
    assert(action->act >= GATEWAY_VIEW_ACT_CAPTURE && action->act <= GATEWAY_VIEW_ACT_REFUND);
    memset(out, 0, sizeof *out);
    if (strlen(principal) > GATEWAY_IDEM_PRINCIPAL_MAX || !key ||
        !gateway_view_idempotency_key_valid(key, strlen(key)) || action->amount_minor < 0 ||
        !gateway_view_text_valid(action->reference))
        return LEDGER_E_INVALID;
    if (!gateway_view_transfer_id_valid(action->transfer)) {
        out->refusal = GATEWAY_VIEW_REFUSAL_NOT_FOUND;
        return LEDGER_OK;
    }
    uint8_t hash[GATEWAY_HASH_SIZE];
    ledger_err_t err = action_hash(action, hash);
    bool replayed = false;
    if (!err)
        err = gateway_view_key_check(ctx, principal, key, hash, keys, &replayed, &out->created);
    if (err || replayed)
        return err;
    gateway_view_record_t *rec = malloc(sizeof *rec);
    if (!rec)
        return LEDGER_E_NOMEM;
    err = gateway_view_record_get(ctx->txn, action->transfer, rec);
    if (err == LEDGER_E_NOT_FOUND) {
        out->refusal = GATEWAY_VIEW_REFUSAL_NOT_FOUND;
        err = LEDGER_OK;
    } else if (!err) {
        err = act_on(ctx, principal, action, rec, key, hash, out);
    }
    free(rec);
    return err;
}

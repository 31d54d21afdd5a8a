/*  gateway_view_apply.c: gateway_view_apply (contract in gateway_view.h), the
    status events of the saga folded into the transfer view.

    Each message becomes a timeline step (sanitized text, the rules of a fraud
    verdict); funds.reserved marks the funds held, a verdict is history only,
    transfer.authorized moves a pending manual transfer to authorized (held),
    and a final event (settled with its captured amount, rejected_fraud,
    declined, voided, expired) moves a pending or authorized transfer to its
    final status with its reason. The saga guard: a final status never
    changes. A message already in the timeline (by message id) is a replay and
    changes nothing. Every change is written back with one event in the log,
    in the caller's transaction.

    A refund's final status also updates its original (refund_fold): its
    amount leaves the original's refunding sum and, if it settled, joins
    refunded_amount; the original gets an event of the same type, so a stream
    shows its new refunded_amount.
*/
#include "gateway_view.h"
#include "gateway_events.h"
#include "gateway_owners.h"
#include "text.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define FRAUD_REASON_CODE "fraud_rejected"

static const char *event_transfer_id(const proto_msg_t *msg)
{
    switch (msg->type) {
    case PROTO_FUNDS_RESERVED:
    case PROTO_TRANSFER_SETTLED:
    case PROTO_TRANSFER_AUTHORIZED:
        return msg->body.transfer.transfer;
    case PROTO_TRANSFER_REJECTED_FRAUD:
    case PROTO_FRAUD_APPROVED:
    case PROTO_FRAUD_REJECTED:
        return msg->body.verdict.transfer;
    case PROTO_TRANSFER_DECLINED:
    case PROTO_TRANSFER_VOIDED:
    case PROTO_TRANSFER_EXPIRED:
        return msg->body.declined.transfer;
    default:
        return NULL;
    }
}

static bool is_fraud_verdict(proto_type_t type)
{
    return type == PROTO_FRAUD_APPROVED || type == PROTO_FRAUD_REJECTED ||
           type == PROTO_TRANSFER_REJECTED_FRAUD;
}

/* The rest of the step of `msg` (its message id is set): name, node, cause, and the rules of a
   fraud verdict, cut to their fields and sanitized. */
static void step_fill(const proto_msg_t *msg, gateway_view_step_t *step)
{
    text_copy_cut(step->step, sizeof step->step, proto_type_name(msg->type));
    text_copy_cut(step->node, sizeof step->node, msg->origin);
    text_copy_cut(step->cause, sizeof step->cause, msg->cause);
    gateway_view_text_sanitize(step->node);
    gateway_view_text_sanitize(step->message_id);
    gateway_view_text_sanitize(step->cause);
    if (is_fraud_verdict(msg->type)) {
        const proto_verdict_t *v = &msg->body.verdict;
        step->has_rules = true;
        step->rule_count = v->rule_count <= PROTO_RULES_MAX ? v->rule_count : PROTO_RULES_MAX;
        for (uint32_t i = 0; i < step->rule_count; i++) {
            text_copy_cut(step->rules[i], sizeof step->rules[i], v->rules[i]);
            gateway_view_text_sanitize(step->rules[i]);
        }
    }
}

/* The final status a declined-shape message gives. */
static gateway_status_t declined_status(proto_type_t type)
{
    if (type == PROTO_TRANSFER_VOIDED)
        return GATEWAY_STATUS_VOIDED;
    if (type == PROTO_TRANSFER_EXPIRED)
        return GATEWAY_STATUS_EXPIRED;
    return GATEWAY_STATUS_DECLINED;
}

/* Moves a pending or authorized transfer to the final status of `msg` (settled with its
   captured amount, rejected_fraud, declined, voided, expired), with its reason. */
static void apply_final(gateway_view_record_t *rec, const proto_msg_t *msg)
{
    rec->held = false;
    rec->has_reason = false;
    rec->rule_count = 0;
    rec->pending_action = GATEWAY_ACTION_NONE;
    if (msg->type == PROTO_TRANSFER_SETTLED) {
        int64_t captured = proto_transfer_captured_minor(&msg->body.transfer);
        rec->status = GATEWAY_STATUS_SETTLED;
        rec->captured_minor =
            captured > 0 && captured <= rec->req.amount_minor ? captured : rec->req.amount_minor;
    } else if (msg->type == PROTO_TRANSFER_REJECTED_FRAUD) {
        const proto_verdict_t *v = &msg->body.verdict;
        rec->status = GATEWAY_STATUS_REJECTED_FRAUD;
        rec->has_reason = true;
        text_copy_cut(rec->reason_code, sizeof rec->reason_code, FRAUD_REASON_CODE);
        text_copy_cut(rec->reason_message, sizeof rec->reason_message, v->reason);
        rec->rule_count = v->rule_count <= PROTO_RULES_MAX ? v->rule_count : PROTO_RULES_MAX;
        for (uint32_t i = 0; i < rec->rule_count; i++)
            text_copy_cut(rec->rules[i], sizeof rec->rules[i], v->rules[i]);
    } else {
        const proto_declined_t *d = &msg->body.declined;
        rec->status = declined_status(msg->type);
        rec->has_reason = true;
        text_copy_cut(rec->reason_code, sizeof rec->reason_code, d->code);
        text_copy_cut(rec->reason_message, sizeof rec->reason_message, d->reason);
    }
    gateway_view_text_sanitize(rec->reason_code);
    gateway_view_text_sanitize(rec->reason_message);
    for (uint32_t i = 0; i < rec->rule_count; i++)
        gateway_view_text_sanitize(rec->rules[i]);
}

/* Folds `step` of `msg` into `rec`; true if the record changed (and must be written). */
static bool apply_step(gateway_view_record_t *rec, const proto_msg_t *msg,
                       const gateway_view_step_t *step)
{
    bool pending = rec->status == GATEWAY_STATUS_PENDING;
    bool changed = false;
    if (msg->type == PROTO_TRANSFER_AUTHORIZED) {
        if (!pending)
            return false; /* authorized once, and never after a final status */
        rec->status = GATEWAY_STATUS_AUTHORIZED;
        rec->held = true;
        if (msg->body.transfer.expires_at_ms)
            rec->expires_at_ms = msg->body.transfer.expires_at_ms; /* the accounts node's */
        gateway_view_record_timeline_add(rec, step);
        changed = true;
    } else if (msg->type == PROTO_FUNDS_RESERVED) {
        if (pending && !rec->held) {
            rec->held = true;
            changed = true;
        }
        changed |= gateway_view_record_timeline_add(rec, step);
    } else if (msg->type == PROTO_FRAUD_APPROVED || msg->type == PROTO_FRAUD_REJECTED) {
        /* The verdict is a step of the timeline; the status changes only when
           accounts has settled or released the hold. */
        changed |= gateway_view_record_timeline_add(rec, step);
    } else {
        if (gateway_view_record_status_final(rec->status))
            return false; /* the saga guard: a final status never changes */
        apply_final(rec, msg);
        gateway_view_record_timeline_add(rec, step);
        changed = true;
    }
    return changed;
}

ledger_err_t gateway_view_record_write(node_ctx_t *ctx, gateway_view_record_t *rec,
                                       const gateway_view_step_t *step)
{
    rec->updated_ms = ctx->now_ms;
    ledger_err_t err = gateway_view_record_put(ctx->txn, rec, 0);
    /* Its viewers are decided here, once: the owners of from and to (gateway_events.h). */
    char viewers[2][PROTO_ACCOUNT_ID_MAX + 1];
    if (!err)
        err = gateway_owners_viewers(ctx->state, ctx->txn, NULL, rec->req.from, rec->req.to,
                                     rec->req.currency, viewers);
    if (!err)
        err = gateway_view_event_append(ctx, rec, step, viewers);
    return err;
}

/* Removes refund `id` from the list of `orig`'s refunds, keeping the order of the others. */
static void refund_forget(gateway_view_record_t *orig, const char *id)
{
    for (uint32_t i = 0; i < orig->refund_count; i++) {
        if (strcmp(orig->refunds[i], id) != 0)
            continue;
        memmove(orig->refunds[i], orig->refunds[i + 1],
                (orig->refund_count - i - 1) * sizeof orig->refunds[0]);
        orig->refund_count--;
        return;
    }
}

/*  A refund reached its final status: its amount leaves the original's refunding sum and,
    settled, joins its refunded sum; one that did not settle leaves the original's list of
    refunds, so refunds that failed never use up its GATEWAY_REFUNDS_MAX. An original no longer in
   the view (pruned) is left alone; sums that would go out of range are clamped (a record is never
   made unreadable). */
static ledger_err_t refund_fold(node_ctx_t *ctx, const gateway_view_record_t *refund,
                                const gateway_view_step_t *step)
{
    gateway_view_record_t *orig = malloc(sizeof *orig);
    if (!orig)
        return LEDGER_E_NOMEM;
    ledger_err_t err = gateway_view_record_get(ctx->txn, refund->req.refund_of, orig);
    if (err == LEDGER_OK) {
        int64_t amount = refund->req.amount_minor;
        orig->refunding_minor = orig->refunding_minor > amount ? orig->refunding_minor - amount : 0;
        if (refund->status == GATEWAY_STATUS_SETTLED &&
            orig->refunded_minor <= orig->req.amount_minor - amount - orig->refunding_minor)
            orig->refunded_minor += amount;
        if (refund->status != GATEWAY_STATUS_SETTLED)
            refund_forget(orig, refund->id); /* its slot of GATEWAY_REFUNDS_MAX is free again */
        err = gateway_view_record_write(ctx, orig, step);
    } else if (err == LEDGER_E_NOT_FOUND) {
        err = LEDGER_OK;
    }
    free(orig);
    return err;
}

ledger_err_t gateway_view_apply(node_ctx_t *ctx, const proto_msg_t *msg)
{
    assert(ctx && ctx->txn && msg);
    const char *id = event_transfer_id(msg);
    if (!id)
        return LEDGER_E_INVALID;
    if (!gateway_view_transfer_id_valid(id))
        return LEDGER_OK; /* not one of ours: unknown transfer */

    gateway_view_record_t *rec = malloc(sizeof *rec);
    if (!rec)
        return LEDGER_E_NOMEM;
    ledger_err_t err = gateway_view_record_get(ctx->txn, id, rec);
    if (err == LEDGER_E_NOT_FOUND) {
        err = LEDGER_OK;
        goto done;
    }
    if (err)
        goto done;

    gateway_view_step_t step = {.ts_ms = msg->ts_ms};
    proto_msg_id(msg, step.message_id);
    if (gateway_view_record_timeline_has(rec, step.message_id))
        goto done; /* a replay */
    step_fill(msg, &step);
    bool was_final = gateway_view_record_status_final(rec->status);
    if (apply_step(rec, msg, &step)) {
        err = gateway_view_record_write(ctx, rec, &step);
        /* Folded once, by the step that made the refund final: a later step (fraud's verdict
           reaches the gateway apart from the accounts node's answer, in any order) is only
           history. */
        if (!err && rec->req.refund_of[0] && !was_final &&
            gateway_view_record_status_final(rec->status))
            err = refund_fold(ctx, rec, &step);
    }
done:
    free(rec);
    return err;
}

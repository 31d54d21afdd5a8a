/*  node_apply.c: one batch's write transaction: inbound messages (replays,
    queries, ids far ahead, duplicates, the app's handler), then the peers'
    answers to this node's outbox, then local work (node_internal.h).
    A refusal for good is nacked and set aside, and the batch runs again
    without it (process_ready in node.c).
*/
#include "node.h"
#include "node_internal.h"

#include <assert.h>
#include <string.h>

#include "node_log.h"

/*  Errors that mean "this message can never be applied here" (nack it, the
    sender dead-letters it where an operator can see and replay it), as
    opposed to errors of the store, which abort the batch so that it is
    tried again. Stalling the inbox behind one bad message would stop
    every transfer behind it. A refusal leaves none of its writes behind,
    wherever the handler stopped: the batch's transaction is dropped and the
    batch runs again without that message (process_ready).
    LEDGER_E_CORRUPT is NOT one of them (issue 20): it says that stored data
    does not decode or does not add up, the node's fault and not the
    message's, so the batch fails and the node faults (node_fault.c): the
    message stays with its sender instead of being dead-lettered. */
static bool refused_for_good(ledger_err_t err)
{
    return err == LEDGER_E_INVALID || err == LEDGER_E_OVERFLOW || err == LEDGER_E_TOO_LARGE;
}

/*  Notes what the batch was doing when it failed with `err` (a fault's reason names it). */
static void note_failure(node_t *self, ledger_err_t err, const char *what,
                         const node_inbound_msg_t *in)
{
    if (err != LEDGER_E_CORRUPT)
        return;
    if (in)
        snprintf(self->fault_where, sizeof self->fault_where, "while %s %s %s (transfer %s)", what,
                 proto_type_name(in->msg.type), in->msg_id, in->msg.corr[0] ? in->msg.corr : "-");
    else
        snprintf(self->fault_where, sizeof self->fault_where, "while %s", what);
}

/*  Reads the id, type, transfer id (corr) and cause of outbox entry `tag` for
    a log line ("-" where unknown: gone, or bytes that do not decode). Only for
    nacked entries, which are rare, so the decode costs nothing that matters. */
static void describe_outbox_entry(store_txn_t *txn, uint64_t tag, char id[PROTO_ID_MAX + 1],
                                  char corr[PROTO_TRANSFER_ID_MAX + 1],
                                  char cause[PROTO_ID_MAX + 1], char *type, size_t type_size)
{
    store_outbox_entry_t o;
    proto_msg_t msg;
    if (store_outbox_get(txn, tag, &o) != LEDGER_OK ||
        proto_decode(o.msg, o.msg_size, &msg, NULL, 0) != LEDGER_OK)
        return;
    proto_msg_id(&msg, id);
    if (msg.corr[0])
        snprintf(corr, PROTO_TRANSFER_ID_MAX + 1, "%s", msg.corr);
    if (msg.cause[0])
        snprintf(cause, PROTO_ID_MAX + 1, "%s", msg.cause);
    snprintf(type, type_size, "%s", proto_type_name(msg.type));
    proto_msg_release(&msg);
}

/*  Refuses `in` for good after its handler (or the seen write) failed with
    `err`: it is nacked, set aside, and the batch runs again without it. */
static void set_refused_aside(node_t *self, node_inbound_msg_t *in, ledger_err_t err)
{
    in->outcome = NODE_INBOUND_NACK;
    in->prejudged = true;
    snprintf(in->code, sizeof in->code, "%s", ledger_err_name(err));
    if (!in->why[0])
        snprintf(in->why, sizeof in->why, "%s cannot apply this message: %s", self->config.name,
                 ledger_err_name(err));
    self->rerun_batch = true;
}

/*  Nacks `in` with `code` before anything of it is applied or recorded: no
    write to drop, so the batch goes on (and a rerun skips it: prejudged). */
static void refuse_unapplied(node_inbound_msg_t *in, const char *code)
{
    in->outcome = NODE_INBOUND_NACK;
    in->prejudged = true;
    snprintf(in->code, sizeof in->code, "%s", code);
}

/*  A harness replay under another origin (node_inbound_msg_t.replay_as_origin):
    only ever a duplicate (its id is in `seen`: acked, nothing applied) or
    refused; never applied, never recorded, so a replay cannot spend an
    origin's ids. */
static ledger_err_t apply_replay(node_t *self, store_txn_t *txn, node_inbound_msg_t *in)
{
    bool seen = false;
    ledger_err_t err = store_seen_check(txn, in->msg.origin, in->msg.seq, &seen);
    if (err)
        return err;
    if (seen) {
        in->outcome = NODE_INBOUND_DUP;
        return LEDGER_OK;
    }
    refuse_unapplied(in, NODE_REFUSED_REPLAY_NOT_SEEN_CODE);
    snprintf(in->why, sizeof in->why,
             "%s has not seen %s: a replay under another origin is only accepted as a duplicate",
             self->config.name, in->msg_id);
    return LEDGER_OK;
}

/*  Refuses `in` (id_too_far_ahead) if its seq is far past the highest seen
    from its origin (node_seen.h): *refused_out. */
static ledger_err_t check_ahead(node_t *self, store_txn_t *txn, node_inbound_msg_t *in,
                                bool *refused_out)
{
    uint64_t high = 0;
    ledger_err_t err =
        node_seen_ahead(&self->seen_high, txn, in->msg.origin, in->msg.seq, refused_out, &high);
    if (err || !*refused_out)
        return err;
    refuse_unapplied(in, NODE_REFUSED_ID_TOO_FAR_AHEAD_CODE);
    snprintf(in->why, sizeof in->why, "%s is more than %llu ids past %s/%llu, the highest seen",
             in->msg_id, (unsigned long long)NODE_SEEN_AHEAD_MAX, in->msg.origin,
             (unsigned long long)high);
    return LEDGER_OK;
}

/*  Refuses `in` (id_too_old): not in `seen`, and at or below its origin's
    floor, so it may have been applied and pruned (node_seen.h). */
static void refuse_too_old(node_t *self, node_inbound_msg_t *in)
{
    refuse_unapplied(in, NODE_REFUSED_ID_TOO_OLD_CODE);
    snprintf(in->why, sizeof in->why,
             "%s is at or below %s/%llu, the highest id %s no longer keeps: it cannot be told "
             "from a duplicate",
             in->msg_id, in->msg.origin,
             (unsigned long long)node_seen_floor(&self->seen_high, in->msg.origin),
             self->config.name);
}

/*  Applies one inbound message in `txn`: a harness replay is only a
    duplicate or refused, a query is answered, an id far ahead of its
    origin's is refused, a message seen before is a duplicate, an id at or
    below its origin's floor is refused (id_too_old), anything else
    goes to app.apply and its id is recorded in `seen`. An error aborts the
    batch (a refusal by the handler sets the message aside first,
    set_refused_aside). */
static ledger_err_t apply_inbound(node_t *self, store_txn_t *txn, node_inbound_msg_t *in)
{
    if (in->outcome == NODE_INBOUND_REPLY)
        proto_msg_release(&in->reply);
    in->outcome = NODE_INBOUND_UNANSWERED;
    if (in->replay_as_origin)
        return apply_replay(self, txn, in);
    if (in->msg.type == PROTO_ACCOUNT_QUERY) {
        memset(&in->reply, 0, sizeof in->reply);
        ledger_err_t err = self->app.query(&self->ctx, &in->msg, &in->reply, self->app.app);
        if (err)
            return err;
        in->outcome = NODE_INBOUND_REPLY;
        return LEDGER_OK;
    }
    bool refused = false, seen = false;
    ledger_err_t err = check_ahead(self, txn, in, &refused);
    if (err || refused)
        return err;
    err = store_seen_check(txn, in->msg.origin, in->msg.seq, &seen);
    if (err)
        return err;
    if (seen) {
        in->outcome = NODE_INBOUND_DUP;
        return LEDGER_OK;
    }
    if (in->msg.seq <= node_seen_floor(&self->seen_high, in->msg.origin)) {
        refuse_too_old(self, in);
        return LEDGER_OK;
    }
    in->why[0] = '\0';
    err = self->app.apply(&self->ctx, &in->msg, self->app.app, in->why, sizeof in->why);
    if (!err)
        err = store_seen_put(txn, in->msg.origin, in->msg.seq, self->ctx.now_ms);
    if (!err)
        node_seen_note(&self->seen_high, in->msg.origin, in->msg.seq);
    if (err) {
        /*  Refused. Whatever its handler wrote is in this transaction: drop the
            transaction and run the batch again without the message. The node
            does NOT apply each message in a child transaction (LMDB's nested
            write transactions), which would drop only the refused message's
            writes: refusals are rare, and a child per message cost ~6% CPU on
            every message, so the rare refusal pays for a rerun instead. */
        if (refused_for_good(err))
            set_refused_aside(self, in, err);
        return err;
    }
    in->outcome = NODE_INBOUND_ACK;
    return LEDGER_OK;
}

/*  Applies the peers' answers to this node's own outbox: an ack deletes the
    entry, a nack moves it to dead_letters (logged). An entry already gone is
    no error (answered twice). */
static ledger_err_t settle_answers(node_t *self, store_txn_t *txn)
{
    self->dead_in_batch = 0;
    for (size_t i = 0; i < self->answer_count; i++) {
        const relay_answer_t *a = &self->answers[i];
        char id[PROTO_ID_MAX + 1] = "-", corr[PROTO_TRANSFER_ID_MAX + 1] = "-";
        char cause[PROTO_ID_MAX + 1] = "-", type[NODE_TYPE_NAME_BYTES] = "-";
        if (!a->ack)
            describe_outbox_entry(txn, a->tag, id, corr, cause, type, sizeof type);
        ledger_err_t err =
            a->ack ? store_outbox_ack(txn, a->tag)
                   : store_outbox_to_dead(txn, a->tag, a->code, a->reason, self->ctx.now_ms);
        if (err && err != LEDGER_E_NOT_FOUND)
            return err;
        if (!a->ack && err == LEDGER_OK) {
            self->dead_in_batch++;
            node_log_write(
                NODE_LOG_WARN,
                "event=dead_letter tag=%llu id=%s type=%s corr=%s cause=%s code=%s reason=\"%s\"",
                (unsigned long long)a->tag, id, type, corr, cause, a->code, a->reason);
        }
    }
    return LEDGER_OK;
}

/* node_internal.h */
ledger_err_t node_apply_batch(store_txn_t *txn, void *arg)
{
    node_t *self = arg;
    /* Re-runnable after a map-full retry: start from a clean slate every time. */
    self->fault_where[0] = '\0';
    node_ctx_begin(&self->ctx, txn, node_now_ms());
    node_seen_begin(&self->seen_high);
    if (self->app.txn_begin)
        self->app.txn_begin(self->app.state);
    for (size_t i = 0; i < self->in.count; i++) {
        node_inbound_msg_t *in = &self->in.items[i];
        if (!in->decoded || in->prejudged)
            continue;
        ledger_err_t err = apply_inbound(self, txn, in);
        if (err) {
            note_failure(self, err, "applying", in);
            return err;
        }
    }
    ledger_err_t err = settle_answers(self, txn);
    note_failure(self, err, "settling the peers' answers", NULL);
    if (err)
        return err;
    if (self->local_count) {
        err = self->app.local_apply(&self->ctx, self->app.app);
        note_failure(self, err, "applying the node's local work", NULL);
        if (err)
            return err;
    }
    if (self->app.txn_prepare) {
        err = self->app.txn_prepare(&self->ctx, self->app.state);
        note_failure(self, err, "preparing the commit of the node's state", NULL);
    }
    return err;
}

/* node_internal.h */
void node_answer_queries_only(node_t *self)
{
    for (size_t i = 0; i < self->in.count; i++) {
        node_inbound_msg_t *in = &self->in.items[i];
        if (in->outcome == NODE_INBOUND_REPLY)
            proto_msg_release(&in->reply);
        in->outcome = NODE_INBOUND_UNANSWERED;
    }
    store_txn_t *txn = NULL;
    if (!self->app.query || store_txn_begin(self->store, false, &txn) != LEDGER_OK)
        return;
    node_ctx_begin(&self->ctx, txn, node_now_ms());
    if (self->app.txn_begin)
        self->app.txn_begin(self->app.state);
    for (size_t i = 0; i < self->in.count; i++) {
        node_inbound_msg_t *in = &self->in.items[i];
        if (!in->decoded || in->replay_as_origin || in->msg.type != PROTO_ACCOUNT_QUERY)
            continue;
        memset(&in->reply, 0, sizeof in->reply);
        if (self->app.query(&self->ctx, &in->msg, &in->reply, self->app.app) == LEDGER_OK)
            in->outcome = NODE_INBOUND_REPLY;
        else
            proto_msg_release(&in->reply);
    }
    if (self->app.txn_end)
        self->app.txn_end(self->app.state, false);
    store_txn_abort(&txn);
}

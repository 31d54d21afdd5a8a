/*  node_fault.c: the node's faulted state (node.h, "Storage faults"): set
    once from a batch that met corrupt stored data, from on_start, from the
    loop's upkeep (a prune, node_upkeep.c) or relay (an outbox record,
    node.c), or from another thread (the accounts node's scheduled verify,
    the gateway's retention actor and owner-map fill); read by the admin
    server (/health, /metrics), the gateway's HTTP threads and those
    background writers, which write nothing once it is set; and the loop's
    turn while faulted, which writes nothing (node_internal.h,
    node_fault_turn).

    Why stop instead of nacking: a record that does not decode is the
    node's fault. Nacking the message that met it would dead-letter a good
    message at its sender (today's behaviour before issue 20), and carrying
    on would write new state next to state that cannot be trusted. Left
    unanswered, every message stays in its sender's outbox and is applied
    once the operator restored the store and restarted the node.
*/
#include "node.h"
#include "node_internal.h"

#include <assert.h>
#include <string.h>

#include "clock.h"
#include "node_log.h"

void node_fault_set(node_t *self, const char *source, const char *reason)
{
    assert(self && source && reason);
    pthread_mutex_lock(&self->stats_lock);
    bool first = !self->fault.faulted;
    self->fault.count++;
    if (first) {
        self->fault.faulted = true;
        self->fault.since_ms = node_now_ms();
        snprintf(self->fault.source, sizeof self->fault.source, "%s", source);
        snprintf(self->fault.reason, sizeof self->fault.reason, "%s", reason);
    }
    pthread_mutex_unlock(&self->stats_lock);
    atomic_store(&self->faulted, true);
    if (first)
        node_log_write(NODE_LOG_ERROR,
                       "event=storage_fault source=%s reason=\"%s\" store_detail=\"%s\" "
                       "action=\"writes stopped: no message is acked, nacked or applied until "
                       "the store is restored and the node restarted\"",
                       source, reason, store_last_error(self->store));
}

bool node_fault_active(node_t *self)
{
    assert(self);
    return atomic_load_explicit(&self->faulted, memory_order_relaxed);
}

void node_fault_get(node_t *self, node_fault_t *fault_out)
{
    assert(self && fault_out);
    pthread_mutex_lock(&self->stats_lock);
    *fault_out = self->fault;
    pthread_mutex_unlock(&self->stats_lock);
}

void node_fault_after_batch(node_t *self, ledger_err_t err)
{
    assert(self);
    if (err != LEDGER_E_CORRUPT)
        return;
    char reason[NODE_FAULT_REASON_MAX];
    snprintf(reason, sizeof reason, "stored data does not decode or does not add up (%s) %.180s",
             ledger_err_name(err), self->fault_where[0] ? self->fault_where : "in a batch");
    node_fault_set(self, "batch", reason);
}

/*  A query that only reads (not op open, which writes), answered in the
    read transaction `txn` (NULL: none could be begun, so unanswered). */
static void answer_read_query(node_t *self, store_txn_t *txn, node_inbound_msg_t *in)
{
    in->outcome = NODE_INBOUND_UNANSWERED;
    if (!txn || !self->app.query || in->replay_as_origin || in->msg.type != PROTO_ACCOUNT_QUERY ||
        in->msg.body.query.op == PROTO_QUERY_OPEN)
        return;
    node_ctx_begin(&self->ctx, txn, node_now_ms());
    memset(&in->reply, 0, sizeof in->reply);
    if (self->app.query(&self->ctx, &in->msg, &in->reply, self->app.app) == LEDGER_OK)
        in->outcome = NODE_INBOUND_REPLY;
}

/* Reads the peers' answers and leaves them unsettled: the outbox keeps every entry. */
static void drop_answers(node_t *self)
{
    size_t peers = relay_peer_count(self->relay);
    for (size_t k = 0; k < peers; k++)
        while (relay_read_answers(self->relay, k, self->answers, NODE_ANSWERS_MAX,
                                  clock_mono_ms()) == NODE_ANSWERS_MAX)
            ;
    while (relay_take_local_nacks(self->relay, self->answers, NODE_ANSWERS_MAX) == NODE_ANSWERS_MAX)
        ;
    self->answer_count = 0;
}

/* node_internal.h */
void node_fault_turn(node_t *self)
{
    assert(self && node_fault_active(self));
    node_inbound_receive(&self->in, self->inbox);
    drop_answers(self);
    self->local_count = self->app.local_take ? self->app.local_take(self->app.app) : 0;
    if (self->local_count)
        self->app.local_done(self->app.app, LEDGER_E_STORE); /* storage_unavailable */
    store_txn_t *txn = NULL;
    if (store_txn_begin(self->store, false, &txn) != LEDGER_OK)
        txn = NULL;
    for (size_t i = 0; i < self->in.count; i++) {
        node_inbound_msg_t *in = &self->in.items[i];
        if (in->decoded && !in->prejudged)
            answer_read_query(self, txn, in);
    }
    if (txn)
        store_txn_abort(&txn);
    node_ctx_reset(&self->ctx);
    node_inbound_answer(&self->in, self->inbox, node_now_ms());
}

/*  gateway_submit.c: the submission queue between the HTTP workers and the node loop.

    `lock` guards the queue, the jobs' `done` flags and `stopping`. The taken
    batch is the loop's alone between take and finish.
*/
#include "gateway_submit.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "gateway_owners.h"
#include "gateway_view.h"

#define LOG_LINE_MAX 512 /* bytes of one log line */

struct gateway_submit_t {
    gateway_submit_config_t config;
    pthread_mutex_t lock;
    bool stopping;
    gateway_submit_job_t *head, *tail;
    gateway_submit_job_t *batch[GATEWAY_SUBMIT_BATCH_MAX]; /* taken for one commit */
    size_t taken;
    size_t taken_created; /* transfers the taken jobs created (not replays) */
};

ledger_err_t gateway_submit_new(const gateway_submit_config_t *config, gateway_submit_t **out)
{
    assert(config && config->suspend && config->resume && out);
    gateway_submit_t *self = calloc(1, sizeof *self);
    if (!self)
        return LEDGER_E_NOMEM;
    self->config = *config;
    pthread_mutex_init(&self->lock, NULL);
    *out = self;
    return LEDGER_OK;
}

bool gateway_submit_push(gateway_submit_t *self, gateway_submit_job_t *job)
{
    assert(self && job);
    pthread_mutex_lock(&self->lock);
    if (self->stopping) {
        pthread_mutex_unlock(&self->lock);
        return false;
    }
    /* Suspend before the job becomes visible, so the resume can never come first. */
    self->config.suspend(job->waiter);
    job->done = false;
    job->next = NULL;
    if (self->tail)
        self->tail->next = job;
    else
        self->head = job;
    self->tail = job;
    pthread_mutex_unlock(&self->lock);
    if (self->config.wake)
        self->config.wake(self->config.wake_arg); /* the loop takes the job on its next turn */
    return true;
}

bool gateway_submit_job_done(gateway_submit_t *self, const gateway_submit_job_t *job)
{
    assert(self && job);
    pthread_mutex_lock(&self->lock);
    bool done = job->done;
    pthread_mutex_unlock(&self->lock);
    return done;
}

/*  Moves queued jobs into self->batch (lock held): every queued request, up
    to GATEWAY_SUBMIT_BATCH_MAX, a batch request weighing its item count, so
    one commit stays under GATEWAY_SUBMIT_COMMIT_TRANSFERS_MAX transfers (and
    the ctx's publish limit). Returns how many. */
static size_t take_locked(gateway_submit_t *self)
{
    size_t count = 0, transfers = 0;
    while (self->head && count < GATEWAY_SUBMIT_BATCH_MAX) {
        size_t weight = self->head->batch ? self->head->batch->count : 1;
        if (count > 0 && transfers + weight > GATEWAY_SUBMIT_COMMIT_TRANSFERS_MAX)
            break;
        transfers += weight;
        self->batch[count++] = self->head;
        self->head = self->head->next;
    }
    if (!self->head)
        self->tail = NULL;
    self->taken = count;
    return count;
}

size_t gateway_submit_take(gateway_submit_t *self)
{
    assert(self && self->taken == 0);
    pthread_mutex_lock(&self->lock);
    size_t count = self->stopping ? 0 : take_locked(self);
    bool more = !self->stopping && self->head != NULL;
    pthread_mutex_unlock(&self->lock);
    /* Jobs past this commit's limits wait for the next turn: ask for one, since
       nothing else may wake the loop (their own wake was consumed by this turn). */
    if (more && self->config.wake)
        self->config.wake(self->config.wake_arg);
    return count;
}

/* One taken job in ctx->txn: LEDGER_OK or a refusal of this job alone, else a store error. */
static ledger_err_t apply_job(gateway_submit_t *self, node_ctx_t *ctx, gateway_submit_job_t *job)
{
    if (job->batch) {
        size_t created = 0;
        job->err =
            gateway_batch_apply(ctx, job->batch, job->principal, &self->config.keys, &created);
        if (!job->err)
            self->taken_created += created;
        return job->err;
    }
    if (job->action.act) {
        job->err = gateway_view_act(ctx, job->principal, &job->action, job->key, &self->config.keys,
                                    &job->action_result);
        if (job->err == LEDGER_E_EXISTS || job->err == LEDGER_E_INVALID)
            return LEDGER_OK; /* refused before any write: the others go on */
        if (!job->err && !job->action_result.refusal && !job->action_result.created.replayed)
            self->taken_created++; /* events were appended */
        return job->err;
    }
    /* A deposit draws on the settlement account, which nobody owns: its route's scope
       (deposits:write) was its check, and it must be one (gateway_money_api.h). */
    bool owns = job->deposit && gateway_view_record_kind(&job->req) == PROTO_TRANSFER_KIND_DEPOSIT;
    job->err = job->deposit ? LEDGER_OK
                            : gateway_owners_owns(ctx->state, ctx->txn, job->principal,
                                                  job->req.from, &owns);
    if (job->err)
        return job->err;
    if (!owns) {
        job->err = GATEWAY_SUBMIT_FORBIDDEN;
        return LEDGER_OK; /* refused before any write: the others go on */
    }
    job->err = gateway_view_submit(ctx, job->principal, &job->req, job->key, &self->config.keys,
                                   &job->result);
    if (job->err == LEDGER_E_EXISTS || job->err == LEDGER_E_INVALID)
        return LEDGER_OK; /* refused before any write: the others go on */
    if (!job->err && !job->result.replayed)
        self->taken_created++;
    return job->err;
}

ledger_err_t gateway_submit_apply(gateway_submit_t *self, node_ctx_t *ctx)
{
    assert(self && ctx && ctx->txn);
    self->taken_created = 0; /* re-runnable: an aborted run's outcomes were never committed */
    for (size_t i = 0; i < self->taken; i++) {
        ledger_err_t err = apply_job(self, ctx, self->batch[i]);
        if (err)
            return err;
    }
    return LEDGER_OK;
}

/* Marks `count` jobs done (lock held by nobody) and resumes their waiters. */
static void answer_jobs(gateway_submit_t *self, gateway_submit_job_t **jobs, size_t count)
{
    void *waiters[GATEWAY_SUBMIT_BATCH_MAX];
    assert(count <= GATEWAY_SUBMIT_BATCH_MAX);
    pthread_mutex_lock(&self->lock);
    for (size_t i = 0; i < count; i++) {
        waiters[i] = jobs[i]->waiter;
        jobs[i]->done = true;
    }
    pthread_mutex_unlock(&self->lock);
    /* After its resume a job may be freed at any time: only the saved waiters are used. */
    for (size_t i = 0; i < count; i++)
        self->config.resume(waiters[i]);
}

void gateway_submit_finish(gateway_submit_t *self, ledger_err_t err)
{
    assert(self);
    size_t count = self->taken;
    if (err) {
        if (self->config.log) {
            char line[LOG_LINE_MAX];
            snprintf(line, sizeof line, "gateway http: commit of %zu transfer(s) failed: %s (%s)",
                     count, ledger_err_name(err),
                     self->config.store ? store_last_error(self->config.store) : "");
            self->config.log(self->config.log_arg, line);
        }
        /* Nothing of the batch was written, and a refusal computed inside it (a key
           reused within the batch) may not hold: every request gets the batch's error. */
        for (size_t i = 0; i < count; i++)
            self->batch[i]->err = err;
    } else if (self->taken_created > 0 && self->config.committed) {
        self->config.committed(self->config.committed_arg); /* the new transfers' events */
    }
    self->taken = 0;
    answer_jobs(self, self->batch, count);
}

void gateway_submit_stop(gateway_submit_t *self)
{
    assert(self);
    for (;;) {
        gateway_submit_job_t *jobs[GATEWAY_SUBMIT_BATCH_MAX];
        size_t count = 0;
        pthread_mutex_lock(&self->lock);
        self->stopping = true;
        while (self->head && count < GATEWAY_SUBMIT_BATCH_MAX) {
            jobs[count] = self->head;
            jobs[count++]->err = GATEWAY_SUBMIT_STOPPED;
            self->head = self->head->next;
        }
        if (!self->head)
            self->tail = NULL;
        pthread_mutex_unlock(&self->lock);
        if (count == 0)
            return;
        answer_jobs(self, jobs, count);
    }
}

void gateway_submit_destroy(gateway_submit_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gateway_submit_t *self = *self_p;
    assert(!self->head && self->taken == 0);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

/*  Whether keys written before keys were scoped may still be in the store: asked once, since
    none are written again. If the store cannot say, assume so (one more read per new key). */
bool gateway_submit_legacy_keys_present(store_t *store)
{
    store_txn_t *txn = NULL;
    bool any = true;
    if (store_txn_begin(store, false, &txn) == LEDGER_OK) {
        if (gateway_view_idem_legacy_any(txn, &any) != LEDGER_OK)
            any = true;
        store_txn_abort(&txn);
    }
    return any;
}

/*  gateway_submit.h: the queue of transfer submissions the node loop commits.

    What it does: HTTP worker threads queue validated submissions (one
    transfer, a whole batch request, gateway_batch.h, or a capture, void or
    refund of a transfer, gateway_view_act); the node loop takes
    them, runs them in its own write transaction beside the inbound messages
    (group commit: one fsync for all of them), and answers them after the
    commit. There is ONE commit path, the loop's (gateway_main.c, through
    node_app_t's local_take / local_apply / local_done):

      gateway_submit_take     moves the queued jobs (at most
                              GATEWAY_SUBMIT_BATCH_MAX requests and
                              GATEWAY_SUBMIT_COMMIT_TRANSFERS_MAX transfers)
                              into the queue's batch; returns how many
                              (0 once the queue is stopped);
      gateway_submit_apply    runs them in ctx->txn (re-runnable after an
                              aborted run); an error other than a per-request
                              refusal must fail the whole transaction;
      gateway_submit_finish   after the commit (LEDGER_OK) or its failure (the
                              error every job of the batch gets): marks the
                              jobs done and resumes their waiters. A 202 is
                              never sent before its commit.

    What it owns: the queue, its lock and the taken batch. The jobs are the
    caller's (embedded in the HTTP request state): from gateway_submit_push
    until their waiter is resumed they belong to the queue and the loop, and
    after the resume the queue never touches them again.

    Errors: gateway_submit_push refuses (false) once the queue is stopped.
    A job's `err` after it is done: LEDGER_OK (result filled), LEDGER_E_EXISTS
    (the key was used for another transfer), LEDGER_E_INVALID (refused by the
    view), GATEWAY_SUBMIT_FORBIDDEN (`from` is not the caller's account), GATEWAY_SUBMIT_STOPPED
   (the queue stopped before the loop took it: nothing was written), or the store error of a failed
   commit.

    Threads: push and job_done on any thread (HTTP workers); take, apply and
    finish on the loop thread only; new, stop and destroy on the thread that
    owns the server, stop after the loop no longer takes.
*/
#ifndef LEDGER_GATEWAY_SUBMIT_H
#define LEDGER_GATEWAY_SUBMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "gateway_batch.h"
#include "gateway_view.h"
#include "ledger_err.h"
#include "node_ctx.h"
#include "store.h"

#define GATEWAY_SUBMIT_BATCH_MAX 512 /* requests in one group commit */
/*  Transfers in one group commit (a batch request counts its items; one batch
    request always fits, GATEWAY_BATCH_MAX < this). */
#define GATEWAY_SUBMIT_COMMIT_TRANSFERS_MAX 16384
/* The error of a job the queue answered at stop without committing it. */
#define GATEWAY_SUBMIT_STOPPED LEDGER_E_TIMEOUT
/*  The error of a transfer whose `from` the caller does not own (gateway_owners_owns, one get
    in the commit's transaction, before anything of it is written: no transfer, no outbox
    entry, the Idempotency-Key stays free). The HTTP answer is 403 forbidden_account. */
#define GATEWAY_SUBMIT_FORBIDDEN LEDGER_E_NOT_FOUND

/* One submission: a single transfer (req + key) or a batch request (batch). */
typedef struct gateway_submit_job {
    struct gateway_submit_job *next; /* the queue's link */
    gateway_transfer_request_t req;
    char key[GATEWAY_IDEMPOTENCY_KEY_MAX + 1];
    char principal[GATEWAY_IDEM_PRINCIPAL_MAX + 1]; /* who sent it: keys are scoped to it */
    gateway_batch_t *batch; /* POST /api/transfers/batch: every item of it (the caller's) */
    /* POST /api/deposits: `from` is the settlement account, owned by nobody; the caller's
       scope deposits:write stands for the ownership of `from` (gateway_money_api.h) */
    bool deposit;
    /*  POST /api/transfers/{id}/capture, /void, /refunds (action.act set, else 0): run by
        gateway_view_act with `key`; its outcome in action_result (refusals there). */
    gateway_view_action_t action;
    gateway_view_action_result_t action_result;
    void *waiter; /* handed to config.suspend / config.resume (an MHD connection) */
    bool done;    /* guarded by the queue's lock: read it with gateway_submit_job_done */
    ledger_err_t err;
    gateway_submit_result_t result; /* a single transfer, when err is LEDGER_OK */
} gateway_submit_job_t;

typedef struct {
    store_t *store;           /* the store the loop commits to: only for store_last_error in logs */
    gateway_view_keys_t keys; /* how gateway_view_submit treats idempotency keys */
    /*  Called under the queue's lock, before the job becomes visible to the
        loop, so its resume can never come first (MHD_suspend_connection). */
    void (*suspend)(void *waiter);
    /* Called once per job after it is done, outside the lock (MHD_resume_connection). */
    void (*resume)(void *waiter);
    /*  Called on a push (and when a take leaves jobs behind) to wake the loop.
        Thread-safe and quick. May be NULL. */
    void (*wake)(void *arg);
    void *wake_arg;
    /* Called on the loop thread after a commit that created transfers. May be NULL. */
    void (*committed)(void *arg);
    void *committed_arg;
    /* One line about a failed commit. Loop thread. May be NULL. */
    void (*log)(void *arg, const char *line);
    void *log_arg;
} gateway_submit_config_t;

typedef struct gateway_submit_t gateway_submit_t;

/* A new, empty queue (config copied; suspend and resume required). LEDGER_E_NOMEM. */
ledger_err_t gateway_submit_new(const gateway_submit_config_t *config, gateway_submit_t **out);

/*  Queues `job` (req + key, or batch, and waiter set by the caller): suspends
    its waiter and wakes the loop. false, with nothing done, once stopped. */
bool gateway_submit_push(gateway_submit_t *self, gateway_submit_job_t *job);

/* True once the loop (or the stop) has answered the job. */
bool gateway_submit_job_done(gateway_submit_t *self, const gateway_submit_job_t *job);

size_t gateway_submit_take(gateway_submit_t *self);
ledger_err_t gateway_submit_apply(gateway_submit_t *self, node_ctx_t *ctx);
void gateway_submit_finish(gateway_submit_t *self, ledger_err_t err);

/*  Refuses new jobs from now on and answers every job still queued with
    GATEWAY_SUBMIT_STOPPED (their waiters resumed). Idempotent. */
void gateway_submit_stop(gateway_submit_t *self);

/* Frees the queue (stop it first: no job may be queued) and sets *self_p to NULL; safe on NULL. */
void gateway_submit_destroy(gateway_submit_t **self_p);

/*  Whether keys written before keys were scoped may still be in the store (what
    gateway_view_keys_t.legacy_keys says): asked once at start, since none are written
    again. If the store cannot say, true (one more read per new key). */
bool gateway_submit_legacy_keys_present(store_t *store);

#endif

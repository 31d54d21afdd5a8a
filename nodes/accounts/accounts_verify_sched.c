/*  accounts_verify_sched.c: the scheduled, chunked integrity check (see
    accounts_verify_sched.h): a thread that sleeps on a condition variable
    for the period, then walks the ledger a chunk per read transaction. */
#include "accounts_verify_sched.h"

#include <assert.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts_verify.h"
#include "clock.h"
#include "node_log.h"

#define SCHED_WAIT_MAX_MS 3600000u /* one wait at most (clock_mono_deadline takes 32 bits) */

struct accounts_verify_sched_t {
    accounts_verify_sched_config_t config;
    pthread_t thread;
    pthread_mutex_t lock; /* guards stats and the wait */
    pthread_cond_t wake;
    atomic_bool stop;
    accounts_verify_sched_stats_t stats;
};

/* How one run ended. */
typedef struct {
    ledger_err_t err;
    bool done; /* false: stopped between two chunks (the node is stopping) */
    store_ledger_report_t report;
    char why[ACCOUNTS_VERIFY_PROBLEM_MAX];
    uint64_t chunks;
} run_t;

/* Walks the whole check, a chunk per read transaction, until done, an error or a stop. */
static void run_chunks(accounts_verify_sched_t *self, run_t *run)
{
    store_ledger_walk_t *walk = NULL;
    run->err = store_ledger_walk_new(&walk);
    while (!run->err && !run->done && !atomic_load(&self->stop)) {
        store_txn_t *txn = NULL;
        run->err = store_txn_begin(self->config.store, false, &txn);
        if (run->err)
            break;
        run->err = accounts_verify_chunk(txn, walk, self->config.chunk_entries, &run->done,
                                         &run->report, run->why, sizeof run->why);
        store_txn_abort(&txn);
        run->chunks++;
    }
    store_ledger_walk_destroy(&walk);
}

/* Counts and logs a finished run (or an error); a problem goes to on_failure (true). */
static bool record_run(accounts_verify_sched_t *self, const run_t *run, uint64_t duration_ms)
{
    bool problem = run->err == LEDGER_E_CORRUPT || (!run->err && !run->report.ok);
    char text[ACCOUNTS_VERIFY_PROBLEM_MAX];
    if (run->err == LEDGER_E_CORRUPT)
        snprintf(text, sizeof text, "scheduled verify: a stored record does not decode (%s)",
                 ledger_err_name(run->err));
    else
        snprintf(text, sizeof text, "scheduled verify: %.200s", run->why);
    pthread_mutex_lock(&self->lock);
    if (run->err && !problem) {
        self->stats.errors++;
    } else {
        self->stats.runs++;
        self->stats.failures += problem;
        self->stats.last_ok = !problem;
        self->stats.last_unix_ms = clock_wall_ms();
        self->stats.last_entries = run->report.entries;
        self->stats.last_chunks = run->chunks;
        self->stats.last_duration_ms = duration_ms;
    }
    pthread_mutex_unlock(&self->lock);
    if (run->err && !problem)
        node_log_write(NODE_LOG_ERROR, "event=verify_error error=%s chunks=%" PRIu64,
                       ledger_err_name(run->err), run->chunks);
    else if (problem)
        node_log_write(NODE_LOG_ERROR,
                       "event=verify_failed first_bad_seq=%" PRIu64 " chunks=%" PRIu64
                       " problem=\"%s\"",
                       run->report.first_bad_seq, run->chunks, text);
    else
        node_log_write(NODE_LOG_INFO,
                       "event=verify_ok entries=%" PRIu64 " chunks=%" PRIu64 " ms=%" PRIu64,
                       run->report.entries, run->chunks, duration_ms);
    if (problem && self->config.on_failure)
        self->config.on_failure(self->config.arg, text);
    return problem;
}

/* One run; false when it found a problem (the schedule ends: the node is faulted). */
static bool run_once(accounts_verify_sched_t *self)
{
    run_t run;
    memset(&run, 0, sizeof run);
    uint64_t started_ms = clock_mono_ms();
    run_chunks(self, &run);
    if (!run.err && !run.done) /* a stop between chunks is no result */
        return true;
    return !record_run(self, &run, clock_mono_ms() - started_ms);
}

/* Sleeps the period (woken early by destroy); false once asked to stop. */
static bool wait_period(accounts_verify_sched_t *self)
{
    uint64_t until_ms = clock_mono_ms() + self->config.period_ms;
    pthread_mutex_lock(&self->lock);
    for (uint64_t now = clock_mono_ms(); !atomic_load(&self->stop) && now < until_ms;
         now = clock_mono_ms()) {
        uint64_t left = until_ms - now;
        struct timespec deadline =
            clock_mono_deadline((uint32_t)(left < SCHED_WAIT_MAX_MS ? left : SCHED_WAIT_MAX_MS));
        pthread_cond_timedwait(&self->wake, &self->lock, &deadline);
    }
    pthread_mutex_unlock(&self->lock);
    return !atomic_load(&self->stop);
}

static void *sched_thread(void *arg)
{
    accounts_verify_sched_t *self = arg;
    while (wait_period(self) && run_once(self))
        ;
    return NULL;
}

ledger_err_t accounts_verify_sched_start(const accounts_verify_sched_config_t *config,
                                         accounts_verify_sched_t **out)
{
    assert(config && out);
    *out = NULL;
    if (!config->store || config->chunk_entries == 0)
        return LEDGER_E_INVALID;
    if (config->period_ms == 0)
        return LEDGER_OK;
    accounts_verify_sched_t *self = calloc(1, sizeof *self);
    if (!self)
        return LEDGER_E_NOMEM;
    self->config = *config;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->wake, &attr);
    pthread_condattr_destroy(&attr);
    atomic_init(&self->stop, false);
    if (pthread_create(&self->thread, NULL, sched_thread, self) != 0) {
        pthread_cond_destroy(&self->wake);
        pthread_mutex_destroy(&self->lock);
        free(self);
        return LEDGER_E_IO;
    }
    *out = self;
    return LEDGER_OK;
}

void accounts_verify_sched_stats(accounts_verify_sched_t *self,
                                 accounts_verify_sched_stats_t *stats_out)
{
    assert(stats_out);
    memset(stats_out, 0, sizeof *stats_out);
    if (!self)
        return;
    pthread_mutex_lock(&self->lock);
    *stats_out = self->stats;
    pthread_mutex_unlock(&self->lock);
}

void accounts_verify_sched_destroy(accounts_verify_sched_t **sched_p)
{
    assert(sched_p);
    accounts_verify_sched_t *self = *sched_p;
    if (!self)
        return;
    pthread_mutex_lock(&self->lock);
    atomic_store(&self->stop, true);
    pthread_cond_signal(&self->wake);
    pthread_mutex_unlock(&self->lock);
    pthread_join(self->thread, NULL);
    pthread_cond_destroy(&self->wake);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *sched_p = NULL;
}

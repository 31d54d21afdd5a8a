/*  gateway_submit_test.c: the submission queue (gateway_submit.h) without HTTP.

    Each test opens a store in its own temporary directory and plays both
    sides: an HTTP worker that pushes jobs (its "waiter" is a counter the
    suspend and resume callbacks move), and the node loop, which takes,
    applies in its own durable write transaction and finishes, the way
    gateway_main.c does through node_app_t.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway_submit.h"
#include "gateway_owners_fx.h"
#include "test_store.h"
#include "test_main.h"

#define T0_MS 1700000000000ULL
#define RETENTION_MS 1000u
#define NODE "gateway"

/* What happened to one job's waiter (an MHD connection in the server). */
typedef struct {
    int suspended;
    int resumed;
} waiter_t;

typedef struct {
    char dir[TEST_DIR_BYTES];
    store_t *store;
    gateway_submit_t *queue;
    node_ctx_t ctx;
    int wakes;
    int committed;
} fx_t;

static void on_suspend(void *waiter)
{
    ((waiter_t *)waiter)->suspended++;
}

static void on_resume(void *waiter)
{
    ((waiter_t *)waiter)->resumed++;
}

static void on_wake(void *arg)
{
    ((fx_t *)arg)->wakes++;
}

static void on_committed(void *arg)
{
    ((fx_t *)arg)->committed++;
}

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    test_store_open(fx->dir, "gateway_submit_test", &fx->store);
    gateway_submit_config_t config = {.store = fx->store,
                                      .keys = {.retention_ms = RETENTION_MS},
                                      .suspend = on_suspend,
                                      .resume = on_resume,
                                      .wake = on_wake,
                                      .wake_arg = fx,
                                      .committed = on_committed,
                                      .committed_arg = fx};
    assert_int_equal(gateway_submit_new(&config, &fx->queue), LEDGER_OK);
    owners_fx_seed(fx->store);
    node_ctx_init(&fx->ctx, NULL, NODE, 0);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    gateway_submit_stop(fx->queue);
    gateway_submit_destroy(&fx->queue);
    assert_null(fx->queue);
    node_ctx_fini(&fx->ctx);
    test_store_close(fx->dir, &fx->store);
    free(fx);
    return 0;
}

static void job_init(gateway_submit_job_t *job, waiter_t *waiter, const char *key, int64_t amount)
{
    memset(job, 0, sizeof *job);
    snprintf(job->principal, sizeof job->principal, "%s", OWNERS_FX_PRINCIPAL);
    snprintf(job->req.from, sizeof job->req.from, "alice");
    snprintf(job->req.to, sizeof job->req.to, "bob");
    job->req.amount_minor = amount;
    snprintf(job->req.currency, sizeof job->req.currency, "GBP");
    snprintf(job->key, sizeof job->key, "%s", key);
    job->waiter = waiter;
}

static ledger_err_t loop_apply(store_txn_t *txn, void *arg)
{
    fx_t *fx = arg;
    node_ctx_begin(&fx->ctx, txn, T0_MS);
    return gateway_submit_apply(fx->queue, &fx->ctx);
}

/* One turn of the node loop's local work; returns how many jobs it took. */
static size_t loop_turn(fx_t *fx)
{
    size_t taken = gateway_submit_take(fx->queue);
    if (taken > 0)
        gateway_submit_finish(fx->queue, store_write(fx->store, loop_apply, fx));
    return taken;
}

static uint64_t count(fx_t *fx, store_db_t db)
{
    return test_store_count(fx->store, db);
}

static void test_a_pushed_job_is_answered_only_after_the_loops_commit(void **state)
{
    fx_t *fx = *state;
    waiter_t w = {0, 0};
    gateway_submit_job_t job;
    job_init(&job, &w, "k-1", 500);
    assert_true(gateway_submit_push(fx->queue, &job));
    assert_int_equal(w.suspended, 1);
    assert_int_equal(fx->wakes, 1);
    assert_false(gateway_submit_job_done(fx->queue, &job));
    assert_int_equal(w.resumed, 0);

    assert_int_equal(loop_turn(fx), 1);
    assert_true(gateway_submit_job_done(fx->queue, &job));
    assert_int_equal(w.resumed, 1);
    assert_int_equal(job.err, LEDGER_OK);
    assert_false(job.result.replayed);
    assert_int_equal(fx->committed, 1);
    /* Committed in the loop's transaction: its ctx emitted the transfer.requested. */
    assert_int_equal(fx->ctx.published_count, 1);
    assert_int_equal(fx->ctx.published[0].type, PROTO_TRANSFER_REQUESTED);
    assert_int_equal(count(fx, STORE_DB_TRANSFERS), 1);
    assert_int_equal(count(fx, STORE_DB_OUTBOX), 1);
    assert_int_equal(loop_turn(fx), 0); /* nothing left */
}

static void test_a_refused_job_does_not_fail_the_others_of_its_commit(void **state)
{
    fx_t *fx = *state;
    waiter_t w[3] = {{0, 0}, {0, 0}, {0, 0}};
    gateway_submit_job_t jobs[3];
    job_init(&jobs[0], &w[0], "same", 500);
    job_init(&jobs[1], &w[1], "same", 501); /* the key again, another transfer */
    job_init(&jobs[2], &w[2], "other", 502);
    for (int i = 0; i < 3; i++)
        assert_true(gateway_submit_push(fx->queue, &jobs[i]));
    assert_int_equal(loop_turn(fx), 3);
    assert_int_equal(jobs[0].err, LEDGER_OK);
    assert_int_equal(jobs[1].err, LEDGER_E_EXISTS);
    assert_int_equal(jobs[2].err, LEDGER_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(w[i].resumed, 1);
    assert_int_equal(count(fx, STORE_DB_TRANSFERS), 2);
}

static void test_a_transfer_from_an_account_not_the_callers_creates_nothing(void **state)
{
    fx_t *fx = *state;
    waiter_t w[3] = {{0, 0}, {0, 0}, {0, 0}};
    gateway_submit_job_t jobs[3];
    job_init(&jobs[0], &w[0], "k-mine", 500);
    snprintf(jobs[0].req.from, sizeof jobs[0].req.from, "dave"); /* nobody's in the map */
    job_init(&jobs[1], &w[1], "k-theirs", 500);
    snprintf(jobs[1].principal, sizeof jobs[1].principal, "mallory"); /* alice is tester's */
    job_init(&jobs[2], &w[2], "k-none", 500);
    jobs[2].principal[0] = '\0'; /* no principal owns anything */
    for (int i = 0; i < 3; i++)
        assert_true(gateway_submit_push(fx->queue, &jobs[i]));
    assert_int_equal(loop_turn(fx), 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(jobs[i].err, GATEWAY_SUBMIT_FORBIDDEN);
        assert_int_equal(w[i].resumed, 1);
    }
    assert_int_equal(count(fx, STORE_DB_TRANSFERS), 0);
    assert_int_equal(count(fx, STORE_DB_OUTBOX), 0);
    assert_int_equal(count(fx, STORE_DB_IDEMPOTENCY), 0);
    assert_int_equal(fx->committed, 0);
    /* The key stayed free: the owner's valid request under it is a new transfer. */
    job_init(&jobs[0], &w[0], "k-mine", 500);
    assert_true(gateway_submit_push(fx->queue, &jobs[0]));
    assert_int_equal(loop_turn(fx), 1);
    assert_int_equal(jobs[0].err, LEDGER_OK);
    assert_false(jobs[0].result.replayed);
    assert_int_equal(count(fx, STORE_DB_TRANSFERS), 1);
    /* transfer.requested names the principal that asked. */
    proto_msg_t sent;
    char why[PROTO_REASON_MAX + 1];
    assert_int_equal(
        proto_decode(fx->ctx.published[0].data, fx->ctx.published[0].size, &sent, why, sizeof why),
        LEDGER_OK);
    assert_string_equal(sent.body.transfer.principal, OWNERS_FX_PRINCIPAL);
    proto_msg_release(&sent);
}

static void test_a_failed_commit_gives_every_job_its_error(void **state)
{
    fx_t *fx = *state;
    waiter_t w[2] = {{0, 0}, {0, 0}};
    gateway_submit_job_t jobs[2];
    job_init(&jobs[0], &w[0], "a", 500);
    job_init(&jobs[1], &w[1], "b", 500);
    assert_true(gateway_submit_push(fx->queue, &jobs[0]));
    assert_true(gateway_submit_push(fx->queue, &jobs[1]));
    assert_int_equal(gateway_submit_take(fx->queue), 2);
    gateway_submit_finish(fx->queue, LEDGER_E_MAP_FULL); /* as the loop after a failed write */
    for (int i = 0; i < 2; i++) {
        assert_true(gateway_submit_job_done(fx->queue, &jobs[i]));
        assert_int_equal(jobs[i].err, LEDGER_E_MAP_FULL);
        assert_int_equal(w[i].resumed, 1);
    }
    assert_int_equal(fx->committed, 0);
    assert_int_equal(count(fx, STORE_DB_TRANSFERS), 0);
}

static void test_a_take_stops_at_the_request_limit_and_asks_for_another_turn(void **state)
{
    fx_t *fx = *state;
    size_t n = GATEWAY_SUBMIT_BATCH_MAX + 1;
    gateway_submit_job_t *jobs = calloc(n, sizeof *jobs);
    waiter_t *w = calloc(n, sizeof *w);
    assert_true(jobs && w);
    for (size_t i = 0; i < n; i++) {
        char key[32];
        snprintf(key, sizeof key, "key-%zu", i);
        job_init(&jobs[i], &w[i], key, 100);
        assert_true(gateway_submit_push(fx->queue, &jobs[i]));
    }
    int wakes_before = fx->wakes;
    assert_int_equal(loop_turn(fx), GATEWAY_SUBMIT_BATCH_MAX);
    assert_int_equal(fx->wakes, wakes_before + 1); /* one job left: the loop is woken again */
    assert_false(gateway_submit_job_done(fx->queue, &jobs[n - 1]));
    assert_int_equal(loop_turn(fx), 1);
    assert_true(gateway_submit_job_done(fx->queue, &jobs[n - 1]));
    assert_int_equal(count(fx, STORE_DB_TRANSFERS), n);
    free(jobs);
    free(w);
}

static void test_stop_answers_queued_jobs_and_refuses_new_ones(void **state)
{
    fx_t *fx = *state;
    waiter_t w = {0, 0}, late = {0, 0};
    gateway_submit_job_t job, late_job;
    job_init(&job, &w, "queued", 500);
    job_init(&late_job, &late, "late", 500);
    assert_true(gateway_submit_push(fx->queue, &job));
    gateway_submit_stop(fx->queue);
    assert_true(gateway_submit_job_done(fx->queue, &job));
    assert_int_equal(job.err, GATEWAY_SUBMIT_STOPPED);
    assert_int_equal(w.resumed, 1);
    assert_false(gateway_submit_push(fx->queue, &late_job));
    assert_int_equal(late.suspended, 0);
    assert_int_equal(gateway_submit_take(fx->queue), 0);
    assert_int_equal(count(fx, STORE_DB_TRANSFERS), 0); /* nothing of it was written */
}

TEST_MAIN(cmocka_unit_test_setup_teardown(test_a_pushed_job_is_answered_only_after_the_loops_commit,
                                          setup, teardown),
          cmocka_unit_test_setup_teardown(test_a_refused_job_does_not_fail_the_others_of_its_commit,
                                          setup, teardown),
          cmocka_unit_test_setup_teardown(
              test_a_transfer_from_an_account_not_the_callers_creates_nothing, setup, teardown),
          cmocka_unit_test_setup_teardown(test_a_failed_commit_gives_every_job_its_error, setup,
                                          teardown),
          cmocka_unit_test_setup_teardown(
              test_a_take_stops_at_the_request_limit_and_asks_for_another_turn, setup, teardown),
          cmocka_unit_test_setup_teardown(test_stop_answers_queued_jobs_and_refuses_new_ones, setup,
                                          teardown))

/*  store_migrate_test.c: the format version and the migration runner
    (store_migrate.h), and ledger format 1 -> 2 (store_migrate_v1.h) on a
    format-1 ledger planted with raw writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_migrate.h"
#include "test_store.h"
#include "test_ledger_v1.h"
#include "test_main.h"

#define LOG_LINES_MAX 32
#define LOG_LINE_BYTES 640
#define STEPS_MAX 8

typedef struct {
    char dir[TEST_DIR_BYTES];
    store_t *store;
    char log[LOG_LINES_MAX][LOG_LINE_BYTES];
    size_t log_count;
    uint32_t ran[STEPS_MAX]; /* to_version of each run, in order (reruns included) */
    size_t ran_count;
    uint32_t detected; /* what detect answers */
    uint32_t fail_at;  /* the step whose run fails (0: none) */
} fixture_t;

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    test_store_open(fx->dir, "store_migrate_test", &fx->store);
    fx->detected = 1;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *fx = *state;
    test_store_close(fx->dir, &fx->store);
    free(fx);
    return 0;
}

static void log_line(void *arg, bool error, const char *line)
{
    (void)error;
    fixture_t *fx = arg;
    if (fx->log_count < LOG_LINES_MAX)
        snprintf(fx->log[fx->log_count++], LOG_LINE_BYTES, "%s", line);
}

static bool logged(const fixture_t *fx, const char *text)
{
    for (size_t i = 0; i < fx->log_count; i++)
        if (strstr(fx->log[i], text))
            return true;
    return false;
}

/* --- a test plan: versions 1 .. 3, each step writes a key "m<to>" ------------- */

static ledger_err_t step_run(store_txn_t *txn, fixture_t *fx, uint32_t to, char *note,
                             size_t note_size)
{
    if (fx->ran_count < STEPS_MAX)
        fx->ran[fx->ran_count++] = to;
    char key[8];
    snprintf(key, sizeof key, "m%u", (unsigned)to);
    ledger_err_t err = store_put(txn, STORE_DB_INDEX, key, strlen(key), "x", 1, 0);
    if (err == LEDGER_OK && fx->fail_at == to) {
        snprintf(note, note_size, "step %u fails on purpose", (unsigned)to);
        return LEDGER_E_CORRUPT;
    }
    snprintf(note, note_size, "keys=1");
    return err;
}

static ledger_err_t step2(store_txn_t *txn, void *arg, char *note, size_t note_size)
{
    return step_run(txn, arg, 2, note, note_size);
}

static ledger_err_t step3(store_txn_t *txn, void *arg, char *note, size_t note_size)
{
    return step_run(txn, arg, 3, note, note_size);
}

static ledger_err_t detect(store_txn_t *txn, void *arg, uint32_t *version_out)
{
    (void)txn;
    *version_out = ((fixture_t *)arg)->detected;
    return LEDGER_OK;
}

static const store_migrate_step_t test_steps[] = {
    {.to_version = 2, .name = "second", .run = step2},
    {.to_version = 3, .name = "third", .run = step3},
};

static store_migrate_plan_t plan_of(fixture_t *fx)
{
    store_migrate_plan_t plan = {.node = "test",
                                 .version = 3,
                                 .steps = test_steps,
                                 .step_count = 2,
                                 .detect = detect,
                                 .arg = fx};
    return plan;
}

static ledger_err_t run(fixture_t *fx, store_migrate_result_t *result)
{
    store_migrate_plan_t plan = plan_of(fx);
    return store_migrate_run(fx->store, &plan, log_line, fx, result);
}

static uint32_t stored_version(fixture_t *fx)
{
    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(fx->store, false, &txn), LEDGER_OK);
    uint32_t version = 0;
    ledger_err_t err = store_migrate_version_get(txn, &version);
    store_txn_abort(&txn);
    return err == LEDGER_OK ? version : 0;
}

static bool has_key(fixture_t *fx, const char *key)
{
    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(fx->store, false, &txn), LEDGER_OK);
    const void *v;
    size_t n;
    ledger_err_t err = store_get(txn, STORE_DB_INDEX, key, strlen(key), &v, &n);
    store_txn_abort(&txn);
    return err == LEDGER_OK;
}

static ledger_err_t put_some_data(store_txn_t *txn, void *arg)
{
    (void)arg;
    return store_put(txn, STORE_DB_ACCOUNTS, "old", 3, "data", 4, 0);
}

static ledger_err_t stamp_nine(store_txn_t *txn, void *arg)
{
    (void)arg;
    return store_migrate_version_put(txn, 9);
}

/* --- the runner -------------------------------------------------------------- */

static void test_a_fresh_dir_is_stamped_with_the_newest_version_and_runs_nothing(void **state)
{
    fixture_t *fx = *state;
    store_migrate_result_t result;
    assert_int_equal(run(fx, &result), LEDGER_OK);
    assert_true(result.fresh);
    assert_int_equal(result.ran, 0);
    assert_int_equal(fx->ran_count, 0);
    assert_int_equal(stored_version(fx), 3);
    assert_true(logged(fx, "event=store_format_stamped node=test version=3 reason=fresh_dir"));
}

static void
test_an_unversioned_dir_runs_every_migration_from_the_detected_version_in_order(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(store_write(fx->store, put_some_data, NULL), LEDGER_OK);
    store_migrate_result_t result;
    assert_int_equal(run(fx, &result), LEDGER_OK);
    assert_false(result.fresh);
    assert_int_equal(result.from_version, 1);
    assert_int_equal(result.version, 3);
    assert_int_equal(result.ran, 2);
    assert_int_equal(fx->ran_count, 2);
    assert_int_equal(fx->ran[0], 2);
    assert_int_equal(fx->ran[1], 3);
    assert_true(has_key(fx, "m2") && has_key(fx, "m3"));
    assert_int_equal(stored_version(fx), 3);
    assert_true(logged(fx, "event=store_format_detected node=test version=1"));
    assert_true(logged(fx, "event=migration_started node=test from=1 to=2 name=second"));
    assert_true(logged(fx, "event=migration_done node=test from=2 to=3 name=third ms="));
    assert_true(logged(fx, "keys=1"));
}

static void test_a_detected_current_dir_is_stamped_and_runs_nothing(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(store_write(fx->store, put_some_data, NULL), LEDGER_OK);
    fx->detected = 3;
    assert_int_equal(run(fx, NULL), LEDGER_OK);
    assert_int_equal(fx->ran_count, 0);
    assert_int_equal(stored_version(fx), 3);
}

static void test_a_failed_migration_rolls_back_and_keeps_the_version_before_it(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(store_write(fx->store, put_some_data, NULL), LEDGER_OK);
    fx->fail_at = 3;
    store_migrate_result_t result;
    assert_int_equal(run(fx, &result), LEDGER_E_CORRUPT);
    assert_int_equal(stored_version(fx), 2); /* step 2 committed, step 3 did not */
    assert_true(has_key(fx, "m2"));
    assert_false(has_key(fx, "m3"));
    assert_non_null(strstr(result.why, "step 3 fails on purpose"));
    assert_true(logged(fx, "event=migration_failed node=test from=2 to=3 name=third"));
    /* The next start redoes the failed step only, and finishes. */
    fx->fail_at = 0;
    fx->ran_count = 0;
    assert_int_equal(run(fx, &result), LEDGER_OK);
    assert_int_equal(result.from_version, 2);
    assert_int_equal(fx->ran_count, 1);
    assert_int_equal(fx->ran[0], 3);
    assert_int_equal(stored_version(fx), 3);
}

static void test_a_dir_newer_than_the_binary_is_refused_and_left_as_it_is(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(store_write(fx->store, stamp_nine, NULL), LEDGER_OK);
    store_migrate_result_t result;
    assert_int_equal(run(fx, &result), LEDGER_E_VERSION);
    assert_non_null(strstr(result.why, "format 9, newer than this build's format 3"));
    assert_true(logged(fx, "event=store_format_newer node=test version=9 binary_version=3"));
    assert_int_equal(fx->ran_count, 0);
    assert_int_equal(stored_version(fx), 9);
}

static void test_a_second_run_runs_no_migration(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(store_write(fx->store, put_some_data, NULL), LEDGER_OK);
    assert_int_equal(run(fx, NULL), LEDGER_OK);
    fx->ran_count = 0;
    fx->log_count = 0;
    store_migrate_result_t result;
    assert_int_equal(run(fx, &result), LEDGER_OK);
    assert_int_equal(result.ran, 0);
    assert_int_equal(fx->ran_count, 0);
    assert_true(logged(fx, "event=store_format_current node=test version=3 migrations=0"));
    assert_false(logged(fx, "migration_started"));
}

static void test_a_version_below_the_oldest_migration_is_refused(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(store_write(fx->store, put_some_data, NULL), LEDGER_OK);
    store_migrate_plan_t plan = plan_of(fx);
    plan.steps = &test_steps[1]; /* only 2 -> 3 */
    plan.step_count = 1;
    store_migrate_result_t result;
    assert_int_equal(store_migrate_run(fx->store, &plan, log_line, fx, &result), LEDGER_E_VERSION);
    assert_non_null(strstr(result.why, "no migration from it"));
    assert_int_equal(fx->ran_count, 0);
}

/* --- ledger format 1 -> 2 ----------------------------------------------------- */

static const test_v1_entry_t two_accounts[] = {
    {"a", 100}, {"b", 50}, {"a", -30}, {"a", 5}, {"b", 7},
};

typedef struct {
    store_ledger_entry_t heads[4];
    size_t count;
    store_migrate_v1_report_t report;
    char why[256];
} v1_run_t;

static ledger_err_t keep_head(store_txn_t *txn, const store_ledger_entry_t *newest, void *arg)
{
    (void)txn;
    v1_run_t *r = arg;
    if (r->count < 4)
        r->heads[r->count++] = *newest;
    return LEDGER_OK;
}

static ledger_err_t migrate_v1(store_txn_t *txn, void *arg)
{
    v1_run_t *r = arg;
    r->count = 0;
    return store_migrate_v1_ledger(txn, keep_head, r, &r->report, r->why, sizeof r->why);
}

static uint64_t index_entries(fixture_t *fx)
{
    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(fx->store, false, &txn), LEDGER_OK);
    uint64_t count = 99;
    assert_int_equal(store_migrate_v1_index_count(txn, &count), LEDGER_OK);
    store_txn_abort(&txn);
    return count;
}

static void test_a_format_1_ledger_is_rebuilt_as_account_chains_that_verify(void **state)
{
    fixture_t *fx = *state;
    test_v1_plant_t plant = {two_accounts, 5, 0};
    assert_int_equal(store_write(fx->store, test_v1_plant, &plant), LEDGER_OK);
    assert_int_equal(index_entries(fx), 5);
    v1_run_t r;
    memset(&r, 0, sizeof r);
    assert_int_equal(store_write(fx->store, migrate_v1, &r), LEDGER_OK);
    assert_int_equal(r.report.entries, 5);
    assert_int_equal(r.report.accounts, 2);
    assert_int_equal(r.report.tip_seq, 5);
    assert_int_equal(r.count, 2);
    assert_string_equal(r.heads[0].account, "a"); /* account id order */
    assert_int_equal(r.heads[0].seq, 4);
    assert_int_equal(r.heads[0].balance_after_minor, 75);
    assert_int_equal(r.heads[1].seq, 5);
    assert_int_equal(r.heads[1].account_prev_seq, 2);
    assert_int_equal(index_entries(fx), 0);

    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(fx->store, false, &txn), LEDGER_OK);
    store_ledger_report_t report;
    assert_int_equal(store_ledger_verify(txn, NULL, NULL, &report), LEDGER_OK);
    assert_true(report.ok);
    assert_int_equal(report.entries, 5);
    store_ledger_entry_t e;
    assert_int_equal(store_ledger_get(txn, 3, &e), LEDGER_OK);
    assert_int_equal(e.account_prev_seq, 1);
    assert_int_equal(e.ts_ms, 1003);
    const void *tip;
    size_t tip_size;
    assert_int_equal(store_get(txn, STORE_DB_META, STORE_MIGRATE_V1_TIP_KEY,
                               strlen(STORE_MIGRATE_V1_TIP_KEY), &tip, &tip_size),
                     LEDGER_OK);
    assert_int_equal(tip_size, 8 + STORE_HASH_SIZE);
    assert_int_equal(store_be64_get(tip), 5);
    assert_memory_equal((const uint8_t *)tip + 8, r.report.old_tip_hash, STORE_HASH_SIZE);
    store_txn_abort(&txn);
}

static void test_a_broken_format_1_chain_is_refused_and_nothing_changes(void **state)
{
    fixture_t *fx = *state;
    test_v1_plant_t plant = {two_accounts, 5, 3};
    assert_int_equal(store_write(fx->store, test_v1_plant, &plant), LEDGER_OK);
    v1_run_t r;
    memset(&r, 0, sizeof r);
    assert_int_equal(store_write(fx->store, migrate_v1, &r), LEDGER_E_CORRUPT);
    assert_non_null(strstr(r.why, "does not verify at entry 3"));
    assert_int_equal(index_entries(fx), 5);
    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(fx->store, false, &txn), LEDGER_OK);
    store_ledger_entry_t e;
    /* Still the format-1 record: this build's reader does not parse it. */
    assert_int_equal(store_ledger_get(txn, 1, &e), LEDGER_E_CORRUPT);
    store_txn_abort(&txn);
}

static void test_a_ledger_without_a_format_1_index_is_left_alone(void **state)
{
    fixture_t *fx = *state;
    v1_run_t r;
    memset(&r, 0, sizeof r);
    assert_int_equal(store_write(fx->store, migrate_v1, &r), LEDGER_OK);
    assert_int_equal(r.report.entries, 0);
    assert_int_equal(r.count, 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

TEST_MAIN(T(test_a_fresh_dir_is_stamped_with_the_newest_version_and_runs_nothing),
          T(test_an_unversioned_dir_runs_every_migration_from_the_detected_version_in_order),
          T(test_a_detected_current_dir_is_stamped_and_runs_nothing),
          T(test_a_failed_migration_rolls_back_and_keeps_the_version_before_it),
          T(test_a_dir_newer_than_the_binary_is_refused_and_left_as_it_is),
          T(test_a_second_run_runs_no_migration),
          T(test_a_version_below_the_oldest_migration_is_refused),
          T(test_a_format_1_ledger_is_rebuilt_as_account_chains_that_verify),
          T(test_a_broken_format_1_chain_is_refused_and_nothing_changes),
          T(test_a_ledger_without_a_format_1_index_is_left_alone))

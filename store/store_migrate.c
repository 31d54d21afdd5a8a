/*  store_migrate.c: the format version of a node's store and the runner of
    its migrations (store_migrate.h has the contract and the why).

    The version key lives under META's "store:" prefix, which store_put
    refuses, so it is read and written through store_raw.h. Each migration
    is one store_write unit: check the version is still the one it starts
    from, run, stamp the new version, (test-only) pause, commit.
*/
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include "store_migrate.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "store_raw.h"

#define VERSION_BYTES 4  /* be32 */
#define LOG_LINE_MAX 640 /* one log line, bytes */
#define MS_PER_S 1000u   /* for the test pause's timespec */
#define NS_PER_MS 1000000u

/* --- the version key -------------------------------------------------------- */

static MDB_val version_key(void)
{
    MDB_val k = {.mv_size = sizeof STORE_MIGRATE_VERSION_KEY - 1,
                 .mv_data = (void *)STORE_MIGRATE_VERSION_KEY};
    return k;
}

ledger_err_t store_migrate_version_get(store_txn_t *txn, uint32_t *version_out)
{
    assert(txn && version_out);
    MDB_val k = version_key(), v;
    int rc = mdb_get(store_raw_txn(txn), store_raw_dbi(txn, STORE_DB_META), &k, &v);
    if (rc != 0)
        return store_raw_rc(txn, rc, "mdb_get (store:format)");
    const uint8_t *b = v.mv_data;
    if (v.mv_size != VERSION_BYTES)
        return LEDGER_E_CORRUPT;
    uint32_t version = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    if (version == 0)
        return LEDGER_E_CORRUPT;
    *version_out = version;
    return LEDGER_OK;
}

ledger_err_t store_migrate_version_put(store_txn_t *txn, uint32_t version)
{
    assert(txn && version >= 1);
    uint8_t b[VERSION_BYTES] = {(uint8_t)(version >> 24), (uint8_t)(version >> 16),
                                (uint8_t)(version >> 8), (uint8_t)version};
    MDB_val k = version_key(), v = {.mv_size = sizeof b, .mv_data = b};
    return store_raw_rc(txn,
                        mdb_put(store_raw_txn(txn), store_raw_dbi(txn, STORE_DB_META), &k, &v, 0),
                        "mdb_put (store:format)");
}

ledger_err_t store_migrate_store_empty(store_txn_t *txn, bool *empty_out)
{
    assert(txn && empty_out);
    for (int db = 0; db < STORE_DB__COUNT; db++) {
        uint64_t count = 0;
        ledger_err_t err = store_count(txn, (store_db_t)db, &count);
        if (err != LEDGER_OK)
            return err;
        if (count > 0) {
            *empty_out = false;
            return LEDGER_OK;
        }
    }
    *empty_out = true;
    return LEDGER_OK;
}

/* --- logging ---------------------------------------------------------------- */

typedef struct {
    const store_migrate_plan_t *plan;
    store_migrate_log_fn log;
    void *log_arg;
    store_migrate_result_t *result;
} runner_t;

static void say(const runner_t *r, bool error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(const runner_t *r, bool error, const char *fmt, ...)
{
    if (!r->log)
        return;
    char line[LOG_LINE_MAX];
    va_list args;
    va_start(args, fmt);
    vsnprintf(line, sizeof line, fmt, args);
    va_end(args);
    r->log(r->log_arg, error, line);
}

static ledger_err_t fail(runner_t *r, ledger_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records why in result->why and returns err. */
static ledger_err_t fail(runner_t *r, ledger_err_t err, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vsnprintf(r->result->why, sizeof r->result->why, fmt, args);
    va_end(args);
    return err;
}

/* --- finding the version ------------------------------------------------------ */

typedef struct {
    runner_t *runner;
    uint32_t version; /* out */
    bool fresh;       /* out */
    bool detected;    /* out */
} find_t;

/*  One write transaction: reads the version; a dir without one is stamped
    (fresh: the newest; with data: what detect says). */
static ledger_err_t find_version(store_txn_t *txn, void *arg)
{
    find_t *f = arg;
    const store_migrate_plan_t *plan = f->runner->plan;
    f->fresh = f->detected = false;
    ledger_err_t err = store_migrate_version_get(txn, &f->version);
    if (err != LEDGER_E_NOT_FOUND)
        return err;
    bool empty = false;
    err = store_migrate_store_empty(txn, &empty);
    if (err != LEDGER_OK)
        return err;
    if (empty) {
        f->fresh = true;
        f->version = plan->version;
    } else {
        err = plan->detect(txn, plan->arg, &f->version);
        if (err != LEDGER_OK)
            return err;
        f->detected = true;
    }
    return f->version >= 1 ? store_migrate_version_put(txn, f->version) : LEDGER_E_CORRUPT;
}

/* --- one migration ------------------------------------------------------------ */

typedef struct {
    const store_migrate_plan_t *plan;
    const store_migrate_step_t *step;
    uint32_t from;
    unsigned pause_ms;
    runner_t *runner;
    char note[STORE_MIGRATE_NOTE_MAX];
} step_run_t;

static void pause_for_test(step_run_t *s)
{
    say(s->runner, false,
        "event=migration_test_pause node=%s to=%" PRIu32 " name=%s ms=%u note=\"%s is set: "
        "test only\"",
        s->plan->node, s->step->to_version, s->step->name, s->pause_ms, STORE_MIGRATE_PAUSE_ENV);
    struct timespec ts = {.tv_sec = s->pause_ms / MS_PER_S,
                          .tv_nsec = (long)(s->pause_ms % MS_PER_S) * NS_PER_MS};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* store_write unit: the migration and its version bump, together. */
static ledger_err_t step_txn(store_txn_t *txn, void *arg)
{
    step_run_t *s = arg;
    s->note[0] = '\0';
    uint32_t version = 0;
    ledger_err_t err = store_migrate_version_get(txn, &version);
    if (err != LEDGER_OK)
        return err;
    if (version != s->from) { /* a programmer error: only this thread writes the store now */
        snprintf(s->note, sizeof s->note, "the store is at version %" PRIu32 ", not %" PRIu32,
                 version, s->from);
        return LEDGER_E_CORRUPT;
    }
    err = s->step->run(txn, s->plan->arg, s->note, sizeof s->note);
    if (err == LEDGER_OK)
        err = store_migrate_version_put(txn, s->step->to_version);
    if (err == LEDGER_OK && s->pause_ms)
        pause_for_test(s);
    return err;
}

/* LEDGER_TEST_MIGRATION_PAUSE_MS, test-only (store_migrate.h); 0 when unset or not a number. */
static unsigned test_pause_ms(void)
{
    const char *text = getenv(STORE_MIGRATE_PAUSE_ENV);
    if (!text || !*text)
        return 0;
    char *end = NULL;
    unsigned long ms = strtoul(text, &end, 10);
    if (*end != '\0')
        return 0;
    return ms > STORE_MIGRATE_PAUSE_MAX_MS ? STORE_MIGRATE_PAUSE_MAX_MS : (unsigned)ms;
}

static ledger_err_t run_step(store_t *store, runner_t *r, const store_migrate_step_t *step,
                             uint32_t from)
{
    const store_migrate_plan_t *plan = r->plan;
    step_run_t s = {
        .plan = plan, .step = step, .from = from, .pause_ms = test_pause_ms(), .runner = r};
    say(r, false, "event=migration_started node=%s from=%" PRIu32 " to=%" PRIu32 " name=%s",
        plan->node, from, step->to_version, step->name);
    uint64_t started_ms = clock_mono_ms();
    ledger_err_t err = store_write(store, step_txn, &s);
    uint64_t ms = clock_mono_ms() - started_ms;
    if (err != LEDGER_OK) {
        const char *detail = s.note[0] ? s.note : store_last_error(store);
        say(r, true,
            "event=migration_failed node=%s from=%" PRIu32 " to=%" PRIu32
            " name=%s error=%s ms=%" PRIu64 " detail=\"%s\" note=\"nothing of it was written; "
            "the store stays at version %" PRIu32 "\"",
            plan->node, from, step->to_version, step->name, ledger_err_name(err), ms, detail, from);
        return fail(r, err, "migration %s (%s format %" PRIu32 " -> %" PRIu32 ") failed: %s: %s",
                    step->name, plan->node, from, step->to_version, ledger_err_name(err), detail);
    }
    say(r, false,
        "event=migration_done node=%s from=%" PRIu32 " to=%" PRIu32 " name=%s ms=%" PRIu64 " %s",
        plan->node, from, step->to_version, step->name, ms, s.note);
    return LEDGER_OK;
}

/* --- the runner ------------------------------------------------------------------ */

static void plan_check(const store_migrate_plan_t *plan)
{
    assert(plan && plan->node && plan->detect && plan->version >= 1);
    assert(plan->step_count == 0 || plan->steps);
    for (size_t i = 0; i < plan->step_count; i++) {
        assert(plan->steps[i].run && plan->steps[i].name);
        assert(plan->steps[i].to_version >= 2);
        assert(i == 0 || plan->steps[i].to_version == plan->steps[i - 1].to_version + 1);
    }
    assert(plan->step_count == 0 || plan->steps[plan->step_count - 1].to_version == plan->version);
    (void)plan;
}

static void say_found(const runner_t *r, const find_t *f)
{
    const store_migrate_plan_t *plan = r->plan;
    if (f->fresh)
        say(r, false, "event=store_format_stamped node=%s version=%" PRIu32 " reason=fresh_dir",
            plan->node, f->version);
    else if (f->detected)
        say(r, false,
            "event=store_format_detected node=%s version=%" PRIu32
            " note=\"the dir had no format version: detected from its data, stamped\"",
            plan->node, f->version);
}

/* Runs every step above `version`, in order. */
static ledger_err_t run_steps(store_t *store, runner_t *r, uint32_t version)
{
    const store_migrate_plan_t *plan = r->plan;
    for (size_t i = 0; i < plan->step_count && version < plan->version; i++) {
        const store_migrate_step_t *step = &plan->steps[i];
        if (step->to_version <= version)
            continue;
        if (step->to_version != version + 1)
            return fail(r, LEDGER_E_VERSION,
                        "the %s store is at format %" PRIu32 " and this build has no migration "
                        "from it (its oldest goes to %" PRIu32 ")",
                        plan->node, version, step->to_version);
        ledger_err_t err = run_step(store, r, step, version);
        if (err != LEDGER_OK)
            return err;
        version = step->to_version;
        r->result->version = version;
        r->result->ran++;
    }
    if (version != plan->version)
        return fail(r, LEDGER_E_VERSION,
                    "the %s store is at format %" PRIu32 " and this build has no migration from "
                    "it to %" PRIu32,
                    plan->node, version, plan->version);
    return LEDGER_OK;
}

ledger_err_t store_migrate_run(store_t *store, const store_migrate_plan_t *plan,
                               store_migrate_log_fn log, void *log_arg,
                               store_migrate_result_t *result_out)
{
    assert(store);
    plan_check(plan);
    store_migrate_result_t result;
    memset(&result, 0, sizeof result);
    runner_t r = {.plan = plan, .log = log, .log_arg = log_arg, .result = &result};
    find_t f = {.runner = &r};
    ledger_err_t err = store_write(store, find_version, &f);
    if (err != LEDGER_OK) {
        err = fail(&r, err, "cannot read the %s store's format version: %s", plan->node,
                   store_last_error(store));
        say(&r, true, "event=store_format_unreadable node=%s error=%s detail=\"%s\"", plan->node,
            ledger_err_name(err), result.why);
    } else {
        say_found(&r, &f);
        result.from_version = result.version = f.version;
        result.fresh = f.fresh;
        if (f.version > plan->version) {
            err = fail(&r, LEDGER_E_VERSION,
                       "this %s data dir is format %" PRIu32
                       ", newer than this build's format %" PRIu32
                       ": it was written by a newer build; run that build (or a newer one) on it. "
                       "Nothing was changed",
                       plan->node, f.version, plan->version);
            say(&r, true,
                "event=store_format_newer node=%s version=%" PRIu32 " binary_version=%" PRIu32
                " detail=\"%s\"",
                plan->node, f.version, plan->version, result.why);
        } else if (f.version == plan->version) {
            say(&r, false, "event=store_format_current node=%s version=%" PRIu32 " migrations=0",
                plan->node, f.version);
        } else {
            err = run_steps(store, &r, f.version);
        }
    }
    if (result_out)
        *result_out = result;
    return err;
}

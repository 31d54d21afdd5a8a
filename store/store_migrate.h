/*  store_migrate.h: a node store's format version and the migrations that
    bring an older data dir up to it at start, keeping the data.

    What it does: each node's store carries one format version (STORE_DB_META
    key STORE_MIGRATE_VERSION_KEY, be32), the version of every record the
    node keeps in it. A node describes its formats in a plan: the newest
    version it writes, its numbered migrations {to_version, name, run} and
    a detect function for dirs written before versions existed. At start
    (node.c, right after store_open, before anything reads the store),
    store_migrate_run:

      - fresh dir (every table empty): stamps plan->version; nothing runs;
      - no version key but data: plan->detect names the version the data is
        in (e.g. the accounts node: format 1 if the ledger_by_account index
        of ledger format 1 has entries, else 2); it is stamped, then
      - version < plan->version: runs each migration with to_version above
        it, in order, each in ONE durable write transaction (store_write)
        together with the bump of the version to its to_version;
      - version == plan->version: nothing;
      - version > plan->version: refuses with LEDGER_E_VERSION and a message
        naming both versions; nothing is written.

    Why one transaction per migration, with its version bump: LMDB commits a
    transaction whole or not at all, so a crash (kill -9, power) at any point
    leaves the store at the previous version with none of the migration's
    writes, and the next start runs that migration again from the start.
    Migrations are idempotent by construction, not by care; the cost is that
    one migration's writes must fit one transaction (LMDB spills dirty pages
    to the file, and store_write grows the map and reruns on a map-full,
    so a migration's run function must be re-runnable: it resets whatever it
    collects in `arg` at its start, like any store_write unit).

    The first real migration, ledger format 1 -> 2, is store_migrate_v1.h's
    (driven by the accounts node, nodes/accounts/accounts_migrate.h).

    Logging: every step goes through the caller's log function, one line
    per event, key=value: store_format_stamped / store_format_detected /
    store_format_current, migration_started (from, to, name),
    migration_done (from, to, name, ms, and the migration's counts),
    migration_failed (error, detail), store_format_newer (refusal).

    Test-only: if the environment variable STORE_MIGRATE_PAUSE_ENV
    (LEDGER_TEST_MIGRATION_PAUSE_MS) holds a number of milliseconds, each
    migration sleeps that long inside its transaction after its writes and
    before the commit (logging migration_test_pause first), so a crash test
    can kill the node at that point. Never set it in production.

    Errors: LEDGER_E_VERSION (data newer than the binary, or a version with
    no migration path in the plan), a migration's own error (its
    transaction is aborted: the store stays at the version before it),
    store errors. result->why says what went wrong in words.

    Threads: store_migrate_run on the thread that opened the store, before
    any other thread uses it (it runs write transactions of its own).
*/
#ifndef LEDGER_STORE_MIGRATE_H
#define LEDGER_STORE_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ledger_err.h"
#include "store.h"

/* STORE_DB_META key of the store's format version (be32); store.h refuses generic writes. */
#define STORE_MIGRATE_VERSION_KEY "store:format"
/* Test-only: milliseconds each migration sleeps before its commit (see above). */
#define STORE_MIGRATE_PAUSE_ENV "LEDGER_TEST_MIGRATION_PAUSE_MS"
#define STORE_MIGRATE_PAUSE_MAX_MS 600000u /* longer values are cut to this */
#define STORE_MIGRATE_NOTE_MAX 256         /* a migration's counts / failure detail, bytes */
#define STORE_MIGRATE_WHY_MAX 320          /* result->why, bytes */

/*  One migration's work, in `txn` (a write transaction that also bumps the
    version when this returns LEDGER_OK). `note` (note_size bytes, starts
    empty) gets its counts on success ("entries=62 accounts=8") or what is
    wrong on failure, for the log. Must be re-runnable (see the top). */
typedef ledger_err_t (*store_migrate_fn)(store_txn_t *txn, void *arg, char *note, size_t note_size);

typedef struct {
    uint32_t to_version; /* the version the store is at after this migration */
    const char *name;    /* for the log: [a-z0-9_]+ */
    store_migrate_fn run;
} store_migrate_step_t;

/*  The version of a dir that holds data but no version key (written before
    versions existed). Read-only in `txn`. */
typedef ledger_err_t (*store_migrate_detect_fn)(store_txn_t *txn, void *arg, uint32_t *version_out);

/*  A node's formats. steps: ascending to_version, each one more than the
    one before, the last == version (none if version has no predecessor to
    migrate from). A dir at a version v >= 1 below steps[0].to_version - 1
    has no path (LEDGER_E_VERSION). */
typedef struct {
    const char *node; /* for the log and messages: "accounts" */
    uint32_t version; /* newest format this binary reads and writes (>= 1) */
    const store_migrate_step_t *steps;
    size_t step_count;
    store_migrate_detect_fn detect; /* required */
    void *arg;                      /* handed to detect and to every run */
} store_migrate_plan_t;

/* One log line (no newline); error true for a failure or refusal. */
typedef void (*store_migrate_log_fn)(void *log_arg, bool error, const char *line);

typedef struct {
    uint32_t from_version; /* as found (after detect; plan->version for a fresh dir) */
    uint32_t version;      /* as left */
    size_t ran;            /* migrations committed by this call */
    bool fresh;            /* the dir was empty and has been stamped */
    char why[STORE_MIGRATE_WHY_MAX];
} store_migrate_result_t;

/*  Brings `store` to plan->version (see the top). `log` may be NULL;
    `result_out` may be NULL. Errors: see the top. A programmer error in
    the plan (steps out of order, no detect) is an assert. */
ledger_err_t store_migrate_run(store_t *store, const store_migrate_plan_t *plan,
                               store_migrate_log_fn log, void *log_arg,
                               store_migrate_result_t *result_out);

/* The stored version. LEDGER_E_NOT_FOUND if the store has none; LEDGER_E_CORRUPT. */
ledger_err_t store_migrate_version_get(store_txn_t *txn, uint32_t *version_out);

/*  Stamps `version` (>= 1) in a write transaction. The runner uses it; tests
    use it to make a dir of another version. */
ledger_err_t store_migrate_version_put(store_txn_t *txn, uint32_t version);

/* *empty_out = every table of the store is empty (a fresh dir). */
ledger_err_t store_migrate_store_empty(store_txn_t *txn, bool *empty_out);

#endif

/*  accounts_verify_sched.h: the accounts node's scheduled integrity check
    (issue 20): every period_ms, on a thread of its own, the whole of
    accounts_verify_ledger's check, walked in chunks of chunk_entries
    ledger entries, each chunk in a read transaction of its own
    (accounts_verify_chunk), so that no read transaction is held for the
    whole ledger (LMDB keeps every page a reader may see: a long reader
    makes the map grow under writes). Entries appended while a run walks are
    walked by that run too: it ends at the end of the ledger as its last
    chunk sees it, and checks the accounts table in that same last
    transaction.

    A run that finds a problem (the report is not ok, or a record does not
    decode: LEDGER_E_CORRUPT) calls on_failure with the problem in words
    (the node faults: node.h, "Storage faults"), logs event=verify_failed
    and ends the schedule (nothing more to learn before the operator
    restores the store and restarts the node); other errors (memory, the store) are logged
    (event=verify_error) and counted, the next run tries again. A good run
    logs event=verify_ok at info. The last run's result, time, entries,
    chunks and duration are kept for /metrics (accounts_verify_sched_stats).

    What it owns: the thread and the walk of the run under way. The store
    and on_failure's argument are the caller's and must outlive it.
    How to call it: accounts_verify_sched_start after the node is up (not
    with period_ms 0: off, *out NULL), accounts_verify_sched_destroy before
    the store closes (it stops a run between two chunks and joins).
    Errors: accounts_verify_sched_start returns LEDGER_E_INVALID (no store,
    chunk_entries 0), LEDGER_E_NOMEM, LEDGER_E_IO (no thread).
    Threads: its own for the runs; start and destroy on one thread; stats
    from any thread.
*/
#ifndef LEDGER_ACCOUNTS_VERIFY_SCHED_H
#define LEDGER_ACCOUNTS_VERIFY_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include "ledger_err.h"
#include "store.h"

#define ACCOUNTS_VERIFY_PROBLEM_MAX 256 /* bytes of a failed run's problem, NUL included */

typedef struct accounts_verify_sched_t accounts_verify_sched_t;

typedef struct {
    store_t *store;
    uint64_t period_ms;     /* between the end of a run and the start of the next; 0: off */
    uint64_t chunk_entries; /* ledger entries walked per read transaction (> 0) */
    /* A failed run (on the verify thread), with what is wrong. May be NULL. */
    void (*on_failure)(void *arg, const char *problem);
    void *arg;
} accounts_verify_sched_config_t;

typedef struct {
    uint64_t runs;             /* runs that finished, good or bad */
    uint64_t failures;         /* runs that found a problem */
    uint64_t errors;           /* runs stopped by an error of memory or the store */
    bool last_ok;              /* the last finished run found nothing (false before one) */
    uint64_t last_unix_ms;     /* when the last finished run ended (0: none yet) */
    uint64_t last_entries;     /* ledger entries it walked */
    uint64_t last_chunks;      /* read transactions it took */
    uint64_t last_duration_ms; /* how long it took */
} accounts_verify_sched_stats_t;

ledger_err_t accounts_verify_sched_start(const accounts_verify_sched_config_t *config,
                                         accounts_verify_sched_t **out);
/* Copies the figures of the runs so far. Thread-safe. */
void accounts_verify_sched_stats(accounts_verify_sched_t *sched,
                                 accounts_verify_sched_stats_t *stats_out);
/* Stops the thread (a run under way stops between two chunks), joins, frees; NULL-safe. */
void accounts_verify_sched_destroy(accounts_verify_sched_t **sched_p);

#endif

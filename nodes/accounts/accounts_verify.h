/*  accounts_verify.h: the accounts node's full integrity check, for the
    admin /ledger/verify endpoint, the chaos tests and the scheduled verify
    (accounts_verify_sched.h).

    Read-only: it walks the ledger (store_ledger_walk_*) and the accounts
    table in one read transaction (accounts_verify_ledger) or the ledger in
    chunks of read transactions (accounts_verify_chunk), allocates only the
    walk's per-account sums, and reports the first problem it finds in words. It knows the balance
   cache's rule (accounts_cache.h): a record may lag behind its account's newest ledger entry only
   as far as the checkpoint mark allows.

    Thread: any thread with its own read transaction (the admin server's).
*/
#ifndef LEDGER_ACCOUNTS_VERIFY_H
#define LEDGER_ACCOUNTS_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ledger_err.h"
#include "proto.h"
#include "store.h"

/*  store_ledger_verify (hash chain, contiguous seqs, running after values:
    so an account's balance is the sum of its entries), then every account's
    recomputed balance and held amount must equal the accounts table (an
    account without ledger entries must have 0 and 0, an account in the
    ledger must exist in the table); no account but a settlement account may
    have available (balance - held) below minus its overdraft limit (issue
    21; without one: below zero); the balances of each currency must sum to 0
    in the ledger (at most 32 currencies), and all balances must sum to 0,
    both in the ledger and in the table. A record
    behind its account's newest entry (not yet checkpointed) must equal the
    entry it names, in the account's chain, and every newer entry must be at
    or after the checkpoint mark (accounts_cache.h); the table's sum counts
    it as the ledger has it.
    Fills *report (report->ok false on the first problem found; problem and
    `why` (may be NULL) describe it). Returns LEDGER_OK when the check ran,
    whatever it found; LEDGER_E_CORRUPT if an account record does not parse;
    store errors. A NULL txn or report is asserted. A read transaction is
    enough. */
ledger_err_t accounts_verify_ledger(store_txn_t *txn, store_ledger_report_t *report, char *why,
                                    size_t why_size);

/* Distinct currencies the per-currency sums keep apart; more is reported as a problem. */
#define ACCOUNTS_VERIFY_CURRENCIES_MAX 32

/* One currency's balances in the ledger, summed (issue 21: /ledger/verify lists them). */
typedef struct {
    char currency[PROTO_CURRENCY_LEN + 1];
    int64_t sum_minor; /* 0 for a sound ledger; 0 when !fits */
    bool fits;         /* false: the sum is beyond an int64 (a problem too) */
} accounts_verify_sum_t;

typedef struct {
    size_t count; /* currencies, in order of first appearance in the ledger */
    accounts_verify_sum_t items[ACCOUNTS_VERIFY_CURRENCIES_MAX];
} accounts_verify_sums_t;

/*  accounts_verify_ledger that also fills *sums (may be NULL) with each
    currency's sum once the walk got through (count 0 if it stopped at a
    bad entry): report->ok is false if any is not 0. */
ledger_err_t accounts_verify_ledger_sums(store_txn_t *txn, store_ledger_report_t *report,
                                         accounts_verify_sums_t *sums, char *why, size_t why_size);

/*  The same check in chunks (issue 20, the scheduled verify, accounts_verify_sched.h): steps
    `walk` (store_ledger_walk_new) by at most chunk_entries (> 0) ledger entries in `txn`;
    once the walk is done (*done_out), runs the rest of accounts_verify_ledger's checks in
    that same `txn` and fills *report and `why` as it does. Call it with a new read
    transaction each time until *done_out: no transaction is held for the whole ledger (the
    last one also reads the accounts table). accounts_verify_ledger is this with one chunk
    of UINT64_MAX, so both find the same. Errors as accounts_verify_ledger's. */
ledger_err_t accounts_verify_chunk(store_txn_t *txn, store_ledger_walk_t *walk,
                                   uint64_t chunk_entries, bool *done_out,
                                   store_ledger_report_t *report, char *why, size_t why_size);

#endif

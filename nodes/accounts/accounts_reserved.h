/*  accounts_reserved.h: the reserved transfers (hold placed, fraud verdict
    awaited), in memory: their holds for the listing by account and their
    risk deadlines.

    Why: almost every transfer is reserved for a few milliseconds. Written
    through, that was an "hd/" hold entry (at a random place in the index)
    and a "tm/" timer, each put and deleted again: four B-tree writes per
    plain transfer, ~10% of its throughput (bench/README.md, "2026-12-07").
    What they record is already durable elsewhere: the hold is the ledger's
    "hold" entry and the account's held amount, the state and the deadline
    are in the transfer record. So a reserved transfer lives here, and
    reaches the disk only if it outlives a checkpoint:

      durable  an entry whose "tm/" timer is on disk. The commit that writes
               the balance cache's checkpoint mark first writes the timer of
               every entry not yet durable (accounts_holds_persist_reserved),
               and so does a clean stop. So every transfer reserved before
               the mark has its timer, and one reserved after it has its
               "hold" entry at or after the mark: the start-up finds them
               all (accounts_holds_recover_reserved: the ledger from the
               mark, then the timers) and loads them here.
      volatile an entry whose timer is only here: its deadline is in this
               set's due queue (accounts_reserved_due), which the timers run
               walks beside the "tm/" keys (accounts_timers.h).

    An authorised transfer (manual capture, days or weeks) has its hold in
    "hd/" and its timer in "tm/", written through (accounts_holds.h).

    Transactions: inside txn_begin .. txn_end an add is visible at once and
    undone if the transaction is dropped, as is an entry made durable; a
    remove takes effect when it commits (until then the entry is marked and
    neither listed as due nor counted as incoming). Outside a transaction
    (the start-up load) changes take effect at once. Nothing here allocates
    on the undo path.

    Cost: add, remove and make durable are a hash operation and a list
    operation each; the due queue is ordered by deadline (a new entry goes
    in from the tail: deadlines are now + a constant, so that is O(1)); a
    listing by account walks the whole set (its size is the transfers
    awaiting a verdict, bounded by the gateway's --max-pending).

    Owned by the balance cache (accounts_cache_reserved), which passes its
    transaction hooks on. Thread: the node loop's only. Errors:
    LEDGER_E_NOMEM, LEDGER_E_EXISTS (an id added twice).
*/
#ifndef LEDGER_ACCOUNTS_RESERVED_H
#define LEDGER_ACCOUNTS_RESERVED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ledger_err.h"
#include "proto.h"

typedef struct accounts_reserved_t accounts_reserved_t;

/* One reserved transfer as this set keeps it. */
typedef struct {
    char from[PROTO_ACCOUNT_ID_MAX + 1]; /* whose hold */
    char to[PROTO_ACCOUNT_ID_MAX + 1];   /* who is paid (the close check: incoming) */
    proto_hold_t hold;                   /* as listed; hold.transfer is the id */
    uint64_t due_ms;                     /* its risk deadline (> 0) */
    bool durable;                        /* its "tm/" timer is on disk */
} accounts_reserved_entry_t;

/* A new, empty set; NULL if out of memory. */
accounts_reserved_t *accounts_reserved_new(void);
void accounts_reserved_destroy(accounts_reserved_t **self_p);

/* Adds `entry` (its id not in the set). LEDGER_E_EXISTS, LEDGER_E_NOMEM. */
ledger_err_t accounts_reserved_add(accounts_reserved_t *self,
                                   const accounts_reserved_entry_t *entry);

/*  Removes transfer `id` (at the commit, inside a transaction). *was_there: it was in the set
    (and not removed already in this transaction); *was_durable (may be NULL): its timer is on
    disk. LEDGER_E_NOMEM. */
ledger_err_t accounts_reserved_remove(accounts_reserved_t *self, const char *id, bool *was_there,
                                      bool *was_durable);

/* Entries in the set (removals waiting for their commit included). */
size_t accounts_reserved_count(const accounts_reserved_t *self);

/*  The entries of `from` with a transfer id after `after` ("" = all), ordered by id: their
    holds into a new array *out (free() it; NULL when none) of *count_out. LEDGER_E_NOMEM. */
ledger_err_t accounts_reserved_of(const accounts_reserved_t *self, const char *from,
                                  const char *after, proto_hold_t **out, size_t *count_out);

/* Whether an entry not being removed pays into `to`. */
bool accounts_reserved_pays_into(const accounts_reserved_t *self, const char *to);

/*  The volatile entries due at `now_ms` (due_ms <= now_ms), earliest first, not being
    removed: up to `max` ids into ids[] with their deadlines in due_out[], *count_out of them;
    *next_due_ms_out = the deadline of the first volatile entry not returned (0: none). */
void accounts_reserved_due(const accounts_reserved_t *self, uint64_t now_ms, size_t max,
                           char (*ids)[PROTO_TRANSFER_ID_MAX + 1], uint64_t *due_out,
                           size_t *count_out, uint64_t *next_due_ms_out);

/*  Calls fn(entry, arg) for every entry not being removed (only the volatile ones if
    `volatile_only`); a non-OK return stops the walk and is returned. For the writer of their
    timers, who then calls make_durable. */
typedef ledger_err_t (*accounts_reserved_fn)(const accounts_reserved_entry_t *entry, void *arg);
ledger_err_t accounts_reserved_each(const accounts_reserved_t *self, bool volatile_only,
                                    accounts_reserved_fn fn, void *arg);

/* Marks transfer `id` durable (undone if the transaction is dropped). LEDGER_E_NOMEM. */
ledger_err_t accounts_reserved_make_durable(accounts_reserved_t *self, const char *id);

/* A batch's transaction starts (dropping what an unfinished one left), and ends. */
void accounts_reserved_txn_begin(accounts_reserved_t *self);
void accounts_reserved_txn_end(accounts_reserved_t *self, bool committed);

#endif

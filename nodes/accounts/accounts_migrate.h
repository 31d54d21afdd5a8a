/*  accounts_migrate.h: the accounts node's store formats and migrations
    (store/store_migrate.h runs them at start, before the replay).

    Formats of the accounts node's store:
      1  ledger format 1: ledger entries without account_prev_seq, found
         per account through the ledger_by_account index; account records
         version 1 (no ledger_seq). Written by the builds before commit
         2029660. A dir without a version key is format 1 if that index
         has entries, else format 2 (accounts_migrate_detect).
      2  each account's entries form a chain (account_prev_seq in the
         hashed entry), the account record names the chain's head
         (ledger_seq), no index. Account records version 1 or 2 (no owner),
         transfer records version 1.
      3  issue 18: account records version 3 carry their owner
         principal; new transfer records are version 2 (kind, principal;
         version 1 is still read as a plain transfer with principal "").
      4  issue 19: new transfer records are version 3, with
         reserved_seq, the seq of the funds.reserved this node sent for the
         transfer: a verdict must cite it as its cause (accounts_saga.h).
         Versions 1 and 2 are still read, as reserved_seq 0.
      5  issue 20: `seen` is pruned to a window and each origin has a
         floor (store.h, "seen message ids"); nothing else changed.
      6  issue 21, "payments_life": transfer records version 4
         (capture, expiry, risk deadline, captured and refunded amounts,
         refund_of, operator; accounts_record.h); the open-holds and
         timers indexes "hd/" and "tm/" in STORE_DB_INDEX
         (accounts_holds.h). Versions 1-3 still read.
      7  issue 21, "controls_history": account records version 4
         (status, overdraft_limit_minor, entry_count), ledger records
         version 3 for entries with a memo, history checkpoints "lx/" in
         the index (accounts_history.h), ledger ts never going down.
      8  today (issue 21, "reserved_in_memory"): no record changes. A
         reserved transfer's hold and risk timer live in memory
         (accounts_reserved.h); its "tm/" timer reaches the disk only when
         a checkpoint mark passes its hold entry, and the start-up replay
         writes the timers of those after the mark. An older build would
         find no timer for a transfer reserved after the mark when it
         starts after a crash (and would never time it out), so the
         number refuses it.

    Migration 1 -> 2 ("account_chains"): store_migrate_v1_ledger verifies
    the old hash chain and index and re-encodes the ledger as version 2 with
    a new hash chain (store_migrate_v1.h says why and how the old tip stays
    auditable); here, each account with entries gets its record rewritten
    (version 2) with ledger_seq = its newest entry, after checking that the
    record's balance and held amount equal that entry's after values (the
    format-1 build wrote balances through, so they must). Accounts without
    entries keep their records (version 1 reads as ledger_seq 0). The log
    line of the migration gives the counts and both chain tips.

    Migration 2 -> 3 ("account_owners"): every account record is rewritten
    as version 3, with owner = its own id (the documented upgrade rule: an
    account opened before ownership is owned by the principal with its id,
    so the demo's principals alice, bob ... own their accounts), except the
    settlement account (flag settlement, formerly funding), whose owner is
    "". Balances, held amounts and ledger_seq are copied as they are (the
    start-up replay brings balances up to the ledger afterwards); the ledger
    is not touched. Transfer records are not rewritten. The log line gives
    the counts (accounts=, settlement=).

    Migration 3 -> 4 ("transfer_causes"): a transfer reserved by a format-3
    build kept no reserved_seq. For each funds.reserved still in this
    node's outbox (fraud has not acked it yet: the verdict is still to
    come) or in its dead letters (an operator may replay it), the transfer
    it reserved, if still reserved and without reserved_seq, is rewritten
    as version 3 with that message's seq: its verdict then gets the full
    check. A reserved transfer whose funds.reserved has left the outbox
    (fraud has it; its verdict may be on the way) keeps reserved_seq 0:
    its verdict is checked by origin only, the best that can be known.
    Final transfers (settled, released, declined) are not rewritten: the
    saga guard ignores every later verdict for them, so their reserved_seq
    is never read, and rewriting each transfer ever made would cost one
    write per transfer in the one transaction of the migration; their
    version 1 and 2 records stay readable. Why a format bump at all, when
    version 2 records read as reserved_seq 0: without this migration a
    transfer reserved just before the upgrade (its verdict still to come)
    would get the weaker origin-only check although its funds.reserved is
    right there in the outbox; and an older build, which cannot read a
    version-3 transfer record, is refused on this dir by the format number
    (store_format_newer) instead of failing on the first verdict. Reads
    the whole transfers table once to count; the log line gives
    transfers=, reserved=, causes_found= (seqs filled) and origin_only=
    (reserved transfers left at reserved_seq 0).

    Migration 4 -> 5 ("seen_floors"): store_seen_migrate_floors (store.h),
    common to every node: writes nothing; the bump makes an older build,
    which ignores floors, refuse the dir.

    Migration 5 -> 6 ("payments_life"): every transfer still reserved at
    the upgrade is rewritten as version 4 with risk_deadline_ms = upgrade
    time + the risk timeout (plan.arg, an accounts_migrate_arg_t; NULL:
    now and ACCOUNTS_RISK_TIMEOUT_DEFAULT_MS), and gets its hold entry and
    its timer: a verdict that never comes no longer holds the money for
    ever. Final transfers are not rewritten (their version 1-3 records read
    as auto, nothing refunded: right for what they were). The log line
    gives transfers= and reserved= (indexed).

    Migration 6 -> 7 ("controls_history", accounts_migrate_controls.c):
    every account record is rewritten as version 4: status active,
    overdraft 0 (how versions 1-3 read), entry_count = the entries of its
    chain up to the entry its record names (walked back from it), and the
    history checkpoint of every 64th of them. Entries newer than the record
    (balances still in memory when the older build stopped) are the
    start-up replay's: it counts them and writes their checkpoints
    (accounts_cache.h). Ledger entries are not rewritten (version 2 stays
    valid; their ts may go down where the old build's clock stepped back).
    The log line gives accounts=, entries=, checkpoints=. An older build
    cannot read a version-4 account record: the format number refuses it.

    Migration 7 -> 8 ("reserved_in_memory"): writes nothing. The holds and
    timers a format-7 dir has stay valid (a reserved transfer's "hd/" entry
    from before stays until it closes, accounts_holds.h); the log line
    counts them: holds_indexed=, timers=.

    What it owns: accounts_migrate_plan, the node's plan. Uses only
    the record functions of accounts_record.h and the store's outbox and
    dead letters (read).

    How to call: pass &accounts_migrate_plan as node_app_t.migrate.
    Errors (through the runner): LEDGER_E_CORRUPT (old chain broken, an
    account in the ledger missing from the table, a record whose amounts
    differ from its newest entry, a record that does not parse; nothing
    changed), store errors.
    Threads: the node's thread at start.
*/
#ifndef LEDGER_ACCOUNTS_MIGRATE_H
#define LEDGER_ACCOUNTS_MIGRATE_H

#include <stdint.h>
#include "accounts_record.h"
#include "ledger_err.h"
#include "store.h"
#include "store_migrate.h"

#define ACCOUNTS_STORE_FORMAT 8 /* the accounts store format this build writes */

/* What migration 5 -> 6 needs to know (plan.arg; accounts_main.c fills it from its flags). */
typedef struct {
    uint64_t now_ms;          /* the upgrade time; 0: the wall clock */
    uint64_t risk_timeout_ms; /* --risk-timeout-ms; 0: the default */
} accounts_migrate_arg_t;

/* The accounts node's formats and migrations. */
extern const store_migrate_plan_t accounts_migrate_plan;

/* Format of an unversioned accounts dir: 1 if the format-1 index has entries, else 2. */
ledger_err_t accounts_migrate_detect(store_txn_t *txn, void *arg, uint32_t *version_out);

/* Migration 1 -> 2 (see above), a store_migrate_fn. */
ledger_err_t accounts_migrate_chains(store_txn_t *txn, void *arg, char *note, size_t note_size);

/* Migration 2 -> 3 (see above), a store_migrate_fn. LEDGER_E_CORRUPT: a record does not parse. */
ledger_err_t accounts_migrate_owners(store_txn_t *txn, void *arg, char *note, size_t note_size);

/*  Migration 3 -> 4 (see above), a store_migrate_fn. LEDGER_E_CORRUPT: a transfer record does
    not parse (named in `note`; nothing changed). */
ledger_err_t accounts_migrate_causes(store_txn_t *txn, void *arg, char *note, size_t note_size);

/*  Migration 5 -> 6 (see above), a store_migrate_fn; `arg` an accounts_migrate_arg_t or NULL.
    LEDGER_E_CORRUPT: a transfer record does not parse (named in `note`; nothing changed). */
ledger_err_t accounts_migrate_payments(store_txn_t *txn, void *arg, char *note, size_t note_size);

/*  Migration 6 -> 7 "controls_history" (see above), a store_migrate_fn. LEDGER_E_CORRUPT: a
    record does not parse or a chain is broken (named in `note`; nothing changed). */
ledger_err_t accounts_migrate_controls(store_txn_t *txn, void *arg, char *note, size_t note_size);

/*  Migration 7 -> 8 "reserved_in_memory" (see above), a store_migrate_fn: counts, writes
    nothing. Store errors. */
ledger_err_t accounts_migrate_reserved(store_txn_t *txn, void *arg, char *note, size_t note_size);

/*  For the migrations' own files: the first account record with an id after `after` ("" =
    the first of all) into *rec; LEDGER_E_NOT_FOUND past the last. A fresh cursor per record:
    the caller rewrites records between calls. LEDGER_E_CORRUPT, store errors. */
ledger_err_t accounts_migrate_next_account(store_txn_t *txn, const char *after,
                                           accounts_record_t *rec);

#endif

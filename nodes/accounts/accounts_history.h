/*  accounts_history.h: an account's past from the ledger: its balance and
    held amount as of a time, and a statement (the entries of an interval),
    without reading the account's whole history.

    Why checkpoints: an account's entries are chained newest to oldest
    (account_prev_seq, store_ledger_append), so the entry in force at some
    seq is found by walking back from the newest, which costs the whole
    history for an old time. So every 64th entry of an account
    (ACCOUNTS_HISTORY_EVERY; its entry_count % 64 == 0 after the entry,
    accounts_record.h) leaves a key in STORE_DB_INDEX:
        "lx/" + account id + "\0" + be64 seq  ->  ""
    (accounts_history_note, called by accounts_book_append in the same
    transaction: one small put per 64 entries of an account). The account's
    newest entry at or below a seq S is then found by seeking the first
    checkpoint above S (one B-tree seek) and walking back from it (or from
    the account's newest entry, when no checkpoint is above S) at most 64
    steps. A time becomes a seq by a binary search of the ledger by ts
    (store_ledger_seq_at: ts never goes down along the ledger). So a
    balance as of a time costs O(log n) seeks plus at most 64 entry reads,
    and a statement page O(log n + 64 + its size).

    Pure logic over the caller's transaction (read-only, except _note);
    the caller passes the account's record (its newest value: the balance
    cache's, accounts_book_load). Errors: LEDGER_E_CORRUPT (a chain that
    does not point back or reaches another account), LEDGER_E_INVALID (bad
    arguments), store errors. A NULL txn or record is asserted.

    Thread: the one thread that owns the transaction.
*/
#ifndef LEDGER_ACCOUNTS_HISTORY_H
#define LEDGER_ACCOUNTS_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "accounts_record.h"
#include "ledger_err.h"
#include "store.h"

/* An account's entries between two checkpoints. */
#define ACCOUNTS_HISTORY_EVERY 64
/* Index key prefix of the checkpoints (STORE_DB_INDEX). */
#define ACCOUNTS_HISTORY_PREFIX "lx/"
#define ACCOUNTS_HISTORY_PREFIX_LEN (sizeof ACCOUNTS_HISTORY_PREFIX - 1)
/* Bytes of a checkpoint key: prefix, id, NUL, be64 seq. */
#define ACCOUNTS_HISTORY_KEY_MAX (ACCOUNTS_HISTORY_PREFIX_LEN + PROTO_ACCOUNT_ID_MAX + 1 + 8)

/*  After `acct`'s entry `seq` was appended and acct->entry_count counts it:
    writes the checkpoint key if entry_count is a multiple of
    ACCOUNTS_HISTORY_EVERY (a put of a key that exists is harmless: the
    start-up replay may write one again). Store errors. */
ledger_err_t accounts_history_note(store_txn_t *txn, const accounts_record_t *acct, uint64_t seq);

/*  The account's newest entry with seq <= bound into *entry_out; *found_out
    false (entry untouched) if it has none at or below bound. */
ledger_err_t accounts_history_entry_at(store_txn_t *txn, const accounts_record_t *acct,
                                       uint64_t bound, store_ledger_entry_t *entry_out,
                                       bool *found_out);

/*  The account's book balance and held amount after every entry with
    ts_ms <= at_ms (0 and 0 before its first). */
ledger_err_t accounts_history_balance_at(store_txn_t *txn, const accounts_record_t *acct,
                                         uint64_t at_ms, int64_t *balance_out, int64_t *held_out);

/* One page of a statement (accounts_history_statement). */
typedef struct {
    int64_t opening_balance_minor; /* before the page's first entry (or at from, if none) */
    int64_t opening_held_minor;
    size_t count;  /* entries in entries[], ascending by seq */
    bool more;     /* more entries of the interval follow the last one */
    uint64_t last; /* seq of the last entry (the next page's cursor), 0 if none */
} accounts_statement_page_t;

/*  The account's entries with from_ms <= ts_ms < to_ms (from_ms < to_ms,
    else LEDGER_E_INVALID) and seq > cursor (0: from the start of the
    interval), ascending, up to `limit` (1 .. max of `entries`, else
    LEDGER_E_INVALID) into entries[]; the page's opening balance and held
    amount (the after values of the account's entry before the first one
    returned, 0 before its first entry). cursor must be 0 or one of the
    account's entries (else LEDGER_E_NOT_FOUND). Reads at most limit + 3 *
    ACCOUNTS_HISTORY_EVERY entries of the account. */
ledger_err_t accounts_history_statement(store_txn_t *txn, const accounts_record_t *acct,
                                        uint64_t from_ms, uint64_t to_ms, uint64_t cursor,
                                        uint32_t limit, store_ledger_entry_t *entries,
                                        accounts_statement_page_t *page);

#endif

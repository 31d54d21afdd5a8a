/*  accounts_holds.h: the accounts node's two indexes of open transfers, in
    STORE_DB_INDEX: the open holds of each account, and the timers (the risk
    deadline of a reserved transfer, the expiry of an authorised one).

      "hd/" + account id + "\0" + transfer id -> hold value
          one per authorized transfer, on its `from` account. A reserved
          transfer's hold is in the node's in-memory set instead
          (accounts_reserved.h, rebuilt from the timers at start); it has an
          "hd/" entry only when it was reserved without that set (a data
          dir of an earlier build, a handler run without the balance cache:
          tests, the migrations), which then stays until the transfer
          closes. Hold value (big-endian):
          i64 amount_minor, u8 kind (proto_transfer_kind_t), u8 capture
          (proto_capture_t), u64 created_ms, u64 expires_at_ms.
      "tm/" + be64 due_ms + transfer id -> ""
          one per open transfer with a deadline: reserved -> its
          risk_deadline_ms, authorized -> its expires_at_ms. Ordered by due
          time, so the due ones are the first keys (accounts_timers.h). A
          reserved transfer in the in-memory set has its timer there only
          until a checkpoint mark passes it (accounts_reserved.h:
          "volatile" and "durable").

    Both follow the transfer's state through accounts_holds_follow, which
    the saga calls at every state change (accounts_step.h), so a timer
    exists exactly while the transfer is open, and its hold is listed (from
    the set or "hd/") exactly then. The ids in the keys
    are those of validated messages (no NUL; at most PROTO_*_MAX bytes).

    What it owns: nothing; every function works through the caller's
    transaction. Errors: LEDGER_E_CORRUPT (an index entry that does not
    parse), store errors. A NULL transaction or argument is asserted.
    Thread: the one that owns the transaction.
*/
#ifndef LEDGER_ACCOUNTS_HOLDS_H
#define LEDGER_ACCOUNTS_HOLDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "accounts_record.h"
#include "accounts_reserved.h"
#include "ledger_err.h"
#include "proto.h"
#include "store.h"

#define ACCOUNTS_HOLDS_PREFIX "hd/"
#define ACCOUNTS_TIMERS_PREFIX "tm/"
/* Bytes of the hold value: amount, kind, capture, created_ms, expires_at_ms. */
#define ACCOUNTS_HOLD_VALUE_BYTES (8 + 1 + 1 + 8 + 8)

/* Whether a transfer in `state` holds money on its source (reserved or authorized). */
bool accounts_holds_open_state(accounts_transfer_state_t state);

/* The deadline of `tr` as of its state: its timer's due time, 0 if it has none. */
uint64_t accounts_holds_due_ms(const accounts_transfer_t *tr);

/*  Moves the indexes of `tr` from `before` (its state until now; 0 for a new
    transfer) to tr->state: the timer of the old state goes, that of the new
    one comes; the hold goes into `reserved` when the transfer is reserved
    (into "hd/" when `reserved` is NULL), moves to "hd/" when it is
    authorized and leaves when it closes (an "hd/" entry from before is kept
    from reserved to authorized and deleted when it closes).
    LEDGER_E_NOMEM (the set), store errors. */
ledger_err_t accounts_holds_follow(store_txn_t *txn, accounts_reserved_t *reserved,
                                   const accounts_transfer_t *tr, accounts_transfer_state_t before,
                                   uint64_t before_due_ms);

/*  Up to `limit` (1..PROTO_PAGE_MAX) open holds of `account` with a transfer
    id after `after` ("" = from the first), ordered by transfer id, into
    out[0 .. *count_out): the "hd/" entries merged with those of `reserved`
    (may be NULL) whose transfer record is still reserved. `next` gets the id
    of the last one returned if more follow, else "" (`next` may be the
    caller's `after`: the next page's cursor). One cursor in the caller's
    (read or write) transaction. LEDGER_E_INVALID (limit out of range),
    LEDGER_E_CORRUPT, LEDGER_E_NOMEM, store errors. */
ledger_err_t accounts_holds_list(store_txn_t *txn, const accounts_reserved_t *reserved,
                                 const char *account, const char *after, uint32_t limit,
                                 proto_hold_t *out, uint32_t *count_out,
                                 char next[PROTO_TRANSFER_ID_MAX + 1]);

/*  Start-up, after the replay (every reserved transfer has its timer then): puts every
    reserved transfer (found by its timer, due at its risk deadline) that has no "hd/" entry
    into `reserved` as durable (outside a transaction of the set; one already there is left
    as it is, so a rerun of the start loads nothing twice); *loaded_out = how many. O(open
    transfers).
    LEDGER_E_CORRUPT (a timer key that does not parse), LEDGER_E_NOMEM, store errors. */
ledger_err_t accounts_holds_load_reserved(store_txn_t *txn, accounts_reserved_t *reserved,
                                          size_t *loaded_out);

/*  The timers due at `now_ms` (due_ms <= now_ms), oldest first: up to `max`
    transfer ids into ids[0 .. *count_out) with their due times in due_out.
    *next_due_ms_out gets the due time of the first timer not returned (0:
    none). LEDGER_E_CORRUPT (a key that does not parse), store errors. */
ledger_err_t accounts_holds_due(store_txn_t *txn, uint64_t now_ms, size_t max,
                                char (*ids)[PROTO_TRANSFER_ID_MAX + 1], uint64_t *due_out,
                                size_t *count_out, uint64_t *next_due_ms_out);

/* Deletes the timer (due_ms, transfer) if it exists (a stale one). Store errors. */
ledger_err_t accounts_holds_timer_del(store_txn_t *txn, uint64_t due_ms, const char *transfer);

/*  Whether an open transfer (reserved or authorized) pays INTO `account`: the set `reserved`
    (may be NULL), then a walk of every timer on disk (each other open transfer has one) and
    its transfer record, O(open transfers). Only closing an account asks it
    (accounts_controls.h), so the transfer path keeps no index of incoming holds.
    LEDGER_E_CORRUPT (a key that does not parse), store errors. */
ledger_err_t accounts_holds_incoming(store_txn_t *txn, const accounts_reserved_t *reserved,
                                     const char *account, bool *any_out);

/*  Writes the "tm/" timer of every volatile entry of `reserved` (of every entry with `all`: a
    clean stop, whose transaction the store may run twice, outside the set's transactions) and
    marks it durable (in the set's transaction: undone if it is dropped); *written_out (may be
    NULL) = how many. The balance cache calls it in every transaction that moves its
    checkpoint mark (accounts_reserved.h). Store errors, LEDGER_E_NOMEM. */
ledger_err_t accounts_holds_persist_reserved(store_txn_t *txn, accounts_reserved_t *reserved,
                                             bool all, size_t *written_out);

/*  The start-up replay's part (accounts_cache_replay): the transfer of a "hold" entry at or
    after the old mark, if still reserved, gets its "tm/" timer (it may have been volatile when
    the node stopped), before the mark moves past that entry. Store errors. */
ledger_err_t accounts_holds_recover_timer(store_txn_t *txn, const char *transfer);

#endif

/*  accounts_holds.h: the accounts node's two indexes of open transfers, in
    STORE_DB_INDEX: the open holds of each account, and the timers (the risk
    deadline of a reserved transfer, the expiry of an authorised one).

      "hd/" + account id + "\0" + transfer id -> hold value
          one per transfer whose hold is open (states reserved and
          authorized), on its `from` account. Hold value (big-endian):
          i64 amount_minor, u8 kind (proto_transfer_kind_t), u8 capture
          (proto_capture_t), u64 created_ms, u64 expires_at_ms.
      "tm/" + be64 due_ms + transfer id -> ""
          one per open transfer with a deadline: reserved -> its
          risk_deadline_ms (none when 0: a transfer reserved before format
          6 and not given one), authorized -> its expires_at_ms. Ordered by
          due time, so the due ones are the first keys (accounts_timers.h).

    Both follow the transfer's state through accounts_holds_follow, which
    the saga calls at every state change (accounts_step.h), so an index
    entry exists exactly while the transfer is open. The ids in the keys
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
    one comes; the hold entry is written when the transfer opens and
    deleted when it closes (kept, not rewritten, from reserved to
    authorized). Store errors. */
ledger_err_t accounts_holds_follow(store_txn_t *txn, const accounts_transfer_t *tr,
                                   accounts_transfer_state_t before, uint64_t before_due_ms);

/*  Up to `limit` (1..PROTO_PAGE_MAX) open holds of `account` with a transfer
    id after `after` ("" = from the first), ordered by transfer id, into
    out[0 .. *count_out); `next` gets the id of the last one returned if more
    follow, else "" (`next` may be the caller's `after`: the next page's cursor). One cursor
    in the caller's (read or write) transaction.
    LEDGER_E_INVALID (limit out of range), LEDGER_E_CORRUPT, store errors. */
ledger_err_t accounts_holds_list(store_txn_t *txn, const char *account, const char *after,
                                 uint32_t limit, proto_hold_t *out, uint32_t *count_out,
                                 char next[PROTO_TRANSFER_ID_MAX + 1]);

/*  The timers due at `now_ms` (due_ms <= now_ms), oldest first: up to `max`
    transfer ids into ids[0 .. *count_out) with their due times in due_out.
    *next_due_ms_out gets the due time of the first timer not returned (0:
    none). LEDGER_E_CORRUPT (a key that does not parse), store errors. */
ledger_err_t accounts_holds_due(store_txn_t *txn, uint64_t now_ms, size_t max,
                                char (*ids)[PROTO_TRANSFER_ID_MAX + 1], uint64_t *due_out,
                                size_t *count_out, uint64_t *next_due_ms_out);

/* Deletes the timer (due_ms, transfer) if it exists (a stale one). Store errors. */
ledger_err_t accounts_holds_timer_del(store_txn_t *txn, uint64_t due_ms, const char *transfer);

/*  Whether an open transfer (reserved or authorized) pays INTO `account`: a walk of every
    timer (each open transfer has one) and its transfer record, O(open transfers). Only
    closing an account asks it (accounts_controls.h), so the transfer path keeps no index of
    incoming holds. LEDGER_E_CORRUPT (a key that does not parse), store errors. */
ledger_err_t accounts_holds_incoming(store_txn_t *txn, const char *account, bool *any_out);

#endif

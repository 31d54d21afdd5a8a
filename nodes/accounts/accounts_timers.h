/*  accounts_timers.h: the deadlines the accounts node keeps by itself
    (issue 21), run from the node's loop, never from a second thread.

      risk timeout  a RESERVED transfer past risk_deadline_ms (set at the
                    reservation: now + --risk-timeout-ms) without a fraud
                    verdict: entry "release" (held -amount), state
                    TIMED_OUT, transfer.declined code risk_unavailable to
                    the gateway; a refund gives its amount back to its
                    original (accounts_refund.h). A fraud node that is away
                    cannot keep money held for ever; its late verdict finds
                    the transfer final and changes nothing (saga guard).
      expiry        an AUTHORIZED transfer past expires_at_ms: entry
                    "expire" (held -amount), state EXPIRED, transfer.expired
                    code "expired" to the gateway.

    The due transfers are found in the timers index (accounts_holds.h,
    "tm/" keys ordered by due time), then in the in-memory set's due queue
    (the risk deadlines not yet on disk, accounts_reserved.h): at most `max`
    per call, oldest first within each.
    A timer whose transfer has moved on (a stale key; the saga removes
    timers as transfers leave a state, so none should be) is deleted and
    counted as fired. The messages these steps emit have no cause (the
    node's own decision).

    When: accounts_main.c runs accounts_timers_run as the node's local work
    (node_app_t.local_take / local_apply), in the batch's write transaction
    with the balance cache (ctx->state); not as node_app_t.prune, whose
    transaction has no cache and would read stale balances. local_take
    asks for a run when the earliest known due time has come, and at least
    every ACCOUNTS_TIMERS_RECHECK_MS (timers added since are found then).

    Pure logic over ctx->txn and ctx->state. Errors: LEDGER_E_CORRUPT (a
    timer key or record that does not parse, a party or hold missing),
    store and node_ctx_emit errors (the caller aborts the transaction).
    Thread: the one that owns the transaction.
*/
#ifndef LEDGER_ACCOUNTS_TIMERS_H
#define LEDGER_ACCOUNTS_TIMERS_H

#include <stddef.h>
#include <stdint.h>
#include "accounts_record.h"
#include "ledger_err.h"
#include "node_ctx.h"

#define ACCOUNTS_RISK_TIMEOUT_DEFAULT_MS 60000 /* --risk-timeout-ms */
#define ACCOUNTS_RISK_TIMEOUT_MIN_MS 1000      /* the smallest --risk-timeout-ms */
#define ACCOUNTS_TIMERS_PER_RUN 256            /* transfers one run ends at most */
#define ACCOUNTS_TIMERS_RECHECK_MS 500         /* the longest gap between two looks */

/*  Ends up to `max` (> 0) transfers whose deadline is at or before
    ctx->now_ms (above). *fired_out gets how many timers it took;
    *next_due_ms_out the due time of the earliest timer left (0: none).
    Errors above. */
ledger_err_t accounts_timers_run(node_ctx_t *ctx, size_t max, size_t *fired_out,
                                 uint64_t *next_due_ms_out);

/*  Ends the AUTHORIZED transfer `tr` as expired now (entry "expire", state EXPIRED,
    transfer.expired to the gateway), as its timer does: also called by a capture or void that
    comes after expires_at_ms before the timer ran (accounts_capture.h), so nothing is captured
    after its expiry however late the timers run. Store errors. */
ledger_err_t accounts_timers_expire(node_ctx_t *ctx, accounts_transfer_t *tr);

#endif

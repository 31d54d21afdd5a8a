/*  accounts_capture.h: transfer.capture and transfer.void, the gateway's
    end of an authorisation (issue 21; a manual-capture transfer that fraud
    approved is AUTHORIZED, its hold kept on `from`).

      transfer.capture {transfer, amount_minor, principal, operator}
          AUTHORIZED only: source entry "capture" (balance -captured, held
          -authorised), destination entry "credit" (+captured); state
          SETTLED with captured_minor; transfer.settled (captured_minor) to
          the gateway. The rest of the authorised amount is released by the
          same entry. A capture does not look at the controls of the
          accounts (frozen): the money was held before, so it settles.
      transfer.void {transfer, principal, operator}
          AUTHORIZED only: source entry "void" (held -authorised); state
          VOIDED; transfer.voided (code "voided", reason "voided by
          <principal>") to the gateway.

    Guard: a capture or void of a transfer that is unknown or not
    AUTHORIZED (a second capture, after a void or an expiry, before the
    verdict, a replay) changes nothing and returns LEDGER_OK: the runtime
    acks it. Capture racing expiry is decided by this node's order: the
    first one applied wins, the other finds the transfer final.

    Refused (LEDGER_E_INVALID with a reason in `why`, nothing written; the
    runtime nacks it): the principal does not own `from` and is not an
    operator; a capture of more than the authorised amount, or of <= 0 (the
    gateway checks both first).

    Pure logic over ctx->txn and ctx->state (accounts_step.h). Errors as
    above, LEDGER_E_CORRUPT (a party or the hold is missing), store errors.
    Thread: the one that owns the transaction.
*/
#ifndef LEDGER_ACCOUNTS_CAPTURE_H
#define LEDGER_ACCOUNTS_CAPTURE_H

#include <stddef.h>
#include "ledger_err.h"
#include "node_ctx.h"
#include "proto.h"

/*  Applies a transfer.capture or transfer.void (above). LEDGER_E_INVALID for any other type.
    `why` (`why_size` bytes, may be NULL) gets the reason of a refusal. */
ledger_err_t accounts_capture_apply(node_ctx_t *ctx, const proto_msg_t *msg, char *why,
                                    size_t why_size);

#endif

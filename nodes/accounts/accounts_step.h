/*  accounts_step.h: the pieces every step of the accounts side of the saga
    is made of, shared by its handlers (accounts_saga.c: request and
    verdicts; accounts_capture.c: capture and void; accounts_timers.c:
    expiry and risk timeout; accounts_refund.c: refund bookkeeping).

    - a decision (accounts_decision_t): a decline code and its reason, built
      on copies before any write;
    - the step's last writes (accounts_step_advance): emit the outbound
      message, move the transfer to its new state, keep its indexes
      (accounts_holds.h) in step, store the record;
    - ledger entries (accounts_step_entry) and the release of a hold
      (accounts_step_release);
    - the wire shape of a transfer record (accounts_step_to_proto).

    Pure logic over ctx->txn and ctx->state (accounts_book.h): no sockets,
    clocks or logs. Errors: store and node_ctx_emit errors (the caller
    aborts the transaction), LEDGER_E_CORRUPT (an account a transfer refers
    to is missing, or its hold is gone). A NULL argument is asserted.
    Thread: the one that owns the transaction.
*/
#ifndef LEDGER_ACCOUNTS_STEP_H
#define LEDGER_ACCOUNTS_STEP_H

#include <stddef.h>
#include <stdint.h>
#include "accounts_record.h"
#include "ledger_err.h"
#include "node_ctx.h"
#include "proto.h"

/* The number of items of an array (peer lists, the two sides of a transfer). */
#define ACCOUNTS_COUNT_OF(array) (sizeof(array) / sizeof((array)[0]))

/* A business decision: code NULL = accepted, else a PROTO_DECLINE_* and its reason. */
typedef struct {
    const char *code;
    char reason[PROTO_REASON_MAX + 1];
} accounts_decision_t;

/* Sets the decline `code` with a formatted reason; returns LEDGER_OK (a decision, not an error). */
ledger_err_t accounts_step_refuse(accounts_decision_t *d, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Zeroes `out` and gives it its version, type and corr (= transfer). */
void accounts_step_msg_start(proto_msg_t *out, proto_type_t type, const char *transfer);

/*  A step's last writes: emits `out` to `peers` (caused by `cause`; NULL for
    the node's own timers), then moves `tr` to `state` as of ctx->now_ms,
    follows it in the indexes and stores it. Emitting first gives out->seq
    its value: a reservation keeps it in tr->reserved_seq, the cause every
    verdict for the transfer must cite (accounts_saga.h). */
ledger_err_t accounts_step_advance(node_ctx_t *ctx, const proto_msg_t *cause,
                                   accounts_transfer_t *tr, accounts_transfer_state_t state,
                                   proto_msg_t *out, const char *const *peers, size_t peer_count);

/*  A step that ends a transfer with a declined-shape message of `type`
    (transfer.declined, .voided, .expired) to the gateway: code and reason
    in the body; tr->code = code for transfer.declined only. */
ledger_err_t accounts_step_finish(node_ctx_t *ctx, const proto_msg_t *cause,
                                  accounts_transfer_t *tr, accounts_transfer_state_t state,
                                  proto_type_t type, const char *code, const char *reason);

/*  One ledger entry on `acct` (its record already holds the after values),
    then the record saved (accounts_book.h). */
ledger_err_t accounts_step_entry(node_ctx_t *ctx, accounts_record_t *acct, const char *transfer,
                                 const char *kind, int64_t balance_delta_minor,
                                 int64_t held_delta_minor);

/* Loads an account an open transfer refers to: it must exist (else LEDGER_E_CORRUPT). */
ledger_err_t accounts_step_load_party(node_ctx_t *ctx, const char *id, accounts_record_t *rec);

/*  Settles `captured` (1..amount) of the reserved or authorised transfer `tr`: its whole hold
    leaves the source's held amount, `captured` its balance (one entry of `kind`: debit for an
    automatic transfer, capture for a manual one; the rest is released), the payee gets a
    credit, and transfer.settled with captured_minor goes to the gateway. LEDGER_E_CORRUPT if
    the hold is not there, LEDGER_E_OVERFLOW, store and emit errors. */
ledger_err_t accounts_step_settle(node_ctx_t *ctx, const proto_msg_t *cause,
                                  accounts_transfer_t *tr, int64_t captured, const char *kind);

/*  Releases the hold of the open transfer `tr` on its source: held -= amount,
    one ledger entry of `kind` (release, void, expire). LEDGER_E_CORRUPT if
    the hold is not there. */
ledger_err_t accounts_step_release(node_ctx_t *ctx, const accounts_transfer_t *tr,
                                   const char *kind);

/* The transfer body of a stored transfer (captured_minor 0: set it for transfer.settled). */
void accounts_step_to_proto(const accounts_transfer_t *tr, proto_transfer_t *out);

#endif

/*  gateway_batch.h: POST /api/transfers/batch, many transfers in one request.

    A batch is the single endpoint many times over, with one request and one
    durable commit for all of them:

      body   {"transfers": [{"idempotency_key", "from", "to", "amount",
                             "currency"?, "reference"?}, ...]}
             1..GATEWAY_BATCH_MAX items, at most GATEWAY_BATCH_BODY_MAX bytes
      answer 200 {"results": [{"index", "status", "transfer" | "error"}, ...],
                  "accepted", "replayed", "rejected"}
             one result per item, in the order of the items:
               202 + transfer   a new pending transfer (as POST /api/transfers answers)
               200 + transfer   a replay: this idempotency_key was used before
                                (in an earlier request or earlier in this batch)
                                with the same transfer; nothing new was made
               4xx + error      this item only: 400 (missing_field, unknown_field,
                                invalid_field, invalid_idempotency_key, ...),
                                422 (same_account, idempotency_key_reused),
                                403 forbidden_account (field "from": the caller
                                does not own `from`; nothing of it was written)

    Each item is validated exactly like the single endpoint's body
    (gateway_request_transfer_from_json) plus its key
    (gateway_request_check_idempotency_key), and submitted with
    gateway_view_submit, so the idempotency rules are the same. A bad item
    never fails the others. The envelope itself failing (not JSON, no
    "transfers" array, an unknown top-level key, an empty array) is 400 for
    the whole request; more than GATEWAY_BATCH_MAX items is 413
    batch_too_large.

    Durability: the HTTP layer queues the parsed batch for the node loop
    (gateway_submit.h), which runs gateway_batch_apply for every item inside ONE write
    transaction and commits it (fsync) before the answer is sent. A store
    error aborts that transaction: then no item was recorded and the whole
    request is answered 503.

    Threads: a gateway_batch_t belongs to one thread at a time (the HTTP
    worker that parsed it, then the committing thread while the connection
    is suspended, then the worker again). No function here does I/O.
*/
#ifndef LEDGER_GATEWAY_BATCH_H
#define LEDGER_GATEWAY_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "gateway_request.h"
#include "gateway_view.h"
#include "ledger_err.h"
#include "node_ctx.h"

#define GATEWAY_BATCH_MAX 8190 /* transfers in one request */
/*  Worst case item: a 255-byte key, two 64-byte ids, a 140-byte reference
    written with \u escapes (6 bytes a character), the names and punctuation:
    under 1,024 bytes. The cap is that for every item plus the envelope. */
#define GATEWAY_BATCH_ITEM_BYTES_MAX 1024u
/* What one item's result usually takes in the answer: the buffer starts that big. */
#define GATEWAY_BATCH_RESULT_BYTES_TYPICAL 256u
#define GATEWAY_BATCH_BODY_MAX ((size_t)GATEWAY_BATCH_MAX * GATEWAY_BATCH_ITEM_BYTES_MAX + 4096u)

typedef enum {
    GATEWAY_BATCH_ITEM_INVALID = 0, /* refused at parse or at submit: `error` says why */
    GATEWAY_BATCH_ITEM_PARSED,      /* valid, not submitted yet */
    GATEWAY_BATCH_ITEM_ACCEPTED,    /* a new pending transfer: `result` */
    GATEWAY_BATCH_ITEM_REPLAYED,    /* an earlier transfer with the same key: `result` */
} gateway_batch_item_state_t;

typedef struct {
    gateway_batch_item_state_t state;
    bool parsed; /* passed validation: submitted by every gateway_batch_apply run */
    char key[GATEWAY_IDEMPOTENCY_KEY_MAX + 1];
    gateway_transfer_request_t req; /* PARSED and after */
    gateway_submit_result_t result; /* ACCEPTED, REPLAYED */
    gateway_request_error_t error;  /* INVALID */
} gateway_batch_item_t;

typedef struct {
    size_t count; /* 1..GATEWAY_BATCH_MAX */
    gateway_batch_item_t *items;
} gateway_batch_t;

/*  Parses a batch body (`len` bytes, need not be NUL-terminated). On LEDGER_OK
    *out is a new batch (free it with gateway_batch_destroy) whose items are
    PARSED or INVALID (with their error). On LEDGER_E_INVALID the envelope is
    bad: `err` holds the whole request's error (400, or 413 batch_too_large).
    LEDGER_E_NOMEM when memory runs out. */
ledger_err_t gateway_batch_parse(const char *body, size_t len, gateway_batch_t **out,
                                 gateway_request_error_t *err);

/*  Submits every PARSED item in order with gateway_view_submit in
    ctx->txn (at ctx->now_ms): each becomes ACCEPTED, REPLAYED, or INVALID
    (403 forbidden_account when `principal` does not own its `from`, checked
    first with gateway_owners_owns; 422 idempotency_key_reused, 400 invalid_field). Re-runnable on
   the same batch after an aborted transaction (items refused at submit are tried again).
   *created_out (may be NULL) gets the number of new transfers. Any other error is a store error:
   the caller must abort the transaction. Every item's idempotency_key is `principal`'s (the
   caller's id). */
ledger_err_t gateway_batch_apply(node_ctx_t *ctx, gateway_batch_t *batch, const char *principal,
                                 const gateway_view_keys_t *keys, size_t *created_out);

/*  The refusal of a transfer from an account the caller does not own: 403 forbidden_account,
    field "from" (the single endpoint answers the same). */
void gateway_batch_forbid(gateway_request_error_t *err);

/*  The answer body for an applied batch, as JSON text (free() it; *size_out
    its length): written straight, not built with jansson (json_out.h), the
    "transfer" of each item by gateway_view_write_submitted like the single
    endpoint's answer. NULL when out of memory. */
char *gateway_batch_response(const gateway_batch_t *batch, size_t *size_out);

/* Frees the batch and sets *batch_p to NULL; safe on NULL. */
void gateway_batch_destroy(gateway_batch_t **batch_p);

#endif

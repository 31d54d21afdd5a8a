/*  gateway_request_fuzz.c: libFuzzer target for the gateway's HTTP body
    parsers, the most exposed untrusted input of the mesh.

    Every input is given to gateway_request_parse_transfer (POST
    /api/transfers), gateway_batch_parse (POST /api/transfers/batch) and
    gateway_request_parse_money (POST /api/deposits, /api/withdrawals), as
    `size` bytes without a terminating NUL (as libmicrohttpd hands a body
    over). Neither may crash, leak, read past the body or trip a sanitizer.
    What each answer must be:

    - accepted: every field obeys the rules the headers state (account ids,
      from != to, amount >= 1, currency of 3 upper-case letters, a reference
      of well-formed text within PROTO_REFERENCE_MAX; in a batch 1 ..
      GATEWAY_BATCH_MAX items, each either parsed with a valid
      Idempotency-Key and such a request, or refused with its own 400/422);
    - refused: a 400 or 422 (single) or 400 / 413 (batch) with an error
      code and a message, all NUL-terminated within their buffers.

    Seeds: corpus/gateway/ (hand-written JSON bodies); dictionary:
    gateway_request.dict.
*/
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway_batch.h"
#include "gateway_request.h"
#include "gateway_view.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

static bool terminated(const char *text, size_t size)
{
    return memchr(text, '\0', size) != NULL;
}

static void check_error(const gateway_request_error_t *err, bool batch_envelope)
{
    check(terminated(err->code, sizeof err->code));
    check(terminated(err->message, sizeof err->message));
    check(terminated(err->field, sizeof err->field));
    check(err->code[0] != '\0' && err->message[0] != '\0');
    if (batch_envelope)
        check(err->http_status == 400 || err->http_status == 413);
    else
        check(err->http_status == 400 || err->http_status == 422);
}

static void check_request(const gateway_transfer_request_t *req)
{
    check(terminated(req->from, sizeof req->from) && terminated(req->to, sizeof req->to));
    check(terminated(req->currency, sizeof req->currency));
    check(terminated(req->reference, sizeof req->reference));
    check(gateway_view_transfer_request_valid(req));
}

static void fuzz_single(const char *body, size_t size)
{
    gateway_transfer_request_t req;
    gateway_request_error_t err;
    memset(&err, 0, sizeof err);
    ledger_err_t rc = gateway_request_parse_transfer(body, size, &req, &err);
    if (rc == LEDGER_OK)
        check_request(&req);
    else if (rc == LEDGER_E_INVALID)
        check_error(&err, false);
    else
        check(rc == LEDGER_E_NOMEM);
}

static void fuzz_money(const char *body, size_t size)
{
    gateway_request_money_t money;
    gateway_request_error_t err;
    memset(&err, 0, sizeof err);
    ledger_err_t rc = gateway_request_parse_money(body, size, &money, &err);
    if (rc == LEDGER_OK) {
        check(proto_account_id_valid_str(money.account) && money.amount_minor > 0);
        check(proto_currency_valid(money.currency));
        check(terminated(money.reference, sizeof money.reference));
        check(gateway_view_text_valid(money.reference));
    } else if (rc == LEDGER_E_INVALID) {
        check_error(&err, false);
    } else {
        check(rc == LEDGER_E_NOMEM);
    }
}

static void fuzz_batch(const char *body, size_t size)
{
    gateway_batch_t *batch = NULL;
    gateway_request_error_t err;
    memset(&err, 0, sizeof err);
    ledger_err_t rc = gateway_batch_parse(body, size, &batch, &err);
    if (rc == LEDGER_E_INVALID) {
        check(batch == NULL);
        check_error(&err, true);
        return;
    }
    if (rc != LEDGER_OK) {
        check(rc == LEDGER_E_NOMEM && batch == NULL);
        return;
    }
    check(batch && batch->count >= 1 && batch->count <= GATEWAY_BATCH_MAX);
    for (size_t i = 0; i < batch->count; i++) {
        const gateway_batch_item_t *item = &batch->items[i];
        if (item->state == GATEWAY_BATCH_ITEM_PARSED) {
            check(item->parsed);
            check(terminated(item->key, sizeof item->key));
            check(gateway_view_idempotency_key_valid(item->key, strlen(item->key)));
            check_request(&item->req);
        } else {
            check(item->state == GATEWAY_BATCH_ITEM_INVALID && !item->parsed);
            check_error(&item->error, false);
        }
    }
    gateway_batch_destroy(&batch);
    check(batch == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly `size` bytes: ASan reports any read past the body. */
    char *body = malloc(size ? size : 1);
    check(body != NULL);
    if (size)
        memcpy(body, data, size);
    fuzz_single(body, size);
    fuzz_batch(body, size);
    fuzz_money(body, size);
    free(body);
    return 0;
}

/*  gateway_batch.c: parsing, applying and answering POST /api/transfers/batch.

    The per-item rules are the single endpoint's: the item object minus its
    "idempotency_key" goes through gateway_request_transfer_from_json, the key
    through gateway_request_check_idempotency_key, and the store work through
    gateway_view_submit. This file only adds the envelope, the per-item
    bookkeeping and the answer.
*/
#include "gateway_batch.h"
#include "gateway_owners.h"

#include <assert.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Validates one item into `item` (PARSED or INVALID). `value` is modified (key removed). */
static void parse_item(json_t *value, gateway_batch_item_t *item)
{
    item->state = GATEWAY_BATCH_ITEM_INVALID;
    if (!json_is_object(value)) {
        gateway_request_fail(&item->error, 400, "invalid_json", NULL,
                             "each transfer must be a JSON object");
        return;
    }
    const json_t *key = json_object_get(value, "idempotency_key");
    if (!key) {
        gateway_request_fail(
            &item->error, 400, "missing_idempotency_key", "idempotency_key",
            "idempotency_key is required: a unique value per transfer, reused only to "
            "retry that same transfer");
        return;
    }
    if (!json_is_string(key) || json_string_length(key) > GATEWAY_IDEMPOTENCY_KEY_MAX ||
        gateway_request_check_idempotency_key(json_string_value(key), 1, &item->error) !=
            LEDGER_OK ||
        strlen(json_string_value(key)) != json_string_length(key)) {
        gateway_request_fail(
            &item->error, 400, "invalid_idempotency_key", "idempotency_key",
            "idempotency_key must be a string of 1 to 255 visible ASCII characters (no "
            "spaces)");
        return;
    }
    memcpy(item->key, json_string_value(key), json_string_length(key) + 1);
    json_object_del(value, "idempotency_key");
    if (gateway_request_transfer_from_json(value, &item->req, &item->error) != LEDGER_OK)
        return;
    item->state = GATEWAY_BATCH_ITEM_PARSED;
    item->parsed = true;
}

ledger_err_t gateway_batch_parse(const char *body, size_t len, gateway_batch_t **out,
                                 gateway_request_error_t *err)
{
    assert(out && err);
    *out = NULL;
    if (len == 0)
        return gateway_request_fail(err, 400, "invalid_json", NULL,
                                    "the request body is empty: send {\"transfers\": [...]}");
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return gateway_request_fail(err, 400, "invalid_json", NULL,
                                    "malformed JSON at line %d column %d: %s", jerr.line,
                                    jerr.column, jerr.text);
    ledger_err_t result = LEDGER_E_INVALID;
    const json_t *list = json_object_get(root, "transfers");
    if (!json_is_object(root)) {
        gateway_request_fail(err, 400, "invalid_json", NULL, "the body must be a JSON object");
    } else if (json_object_size(root) != (list ? 1u : 0u)) {
        gateway_request_fail(err, 400, "unknown_field", NULL,
                             "the body takes one field: \"transfers\"");
    } else if (!list) {
        gateway_request_fail(err, 400, "missing_field", "transfers",
                             "transfers is required: an array of transfers");
    } else if (!json_is_array(list)) {
        gateway_request_fail(err, 400, "invalid_field", "transfers", "transfers must be an array");
    } else if (json_array_size(list) == 0) {
        gateway_request_fail(err, 400, "invalid_field", "transfers",
                             "transfers is empty: send 1 to 8190 transfers");
    } else if (json_array_size(list) > GATEWAY_BATCH_MAX) {
        gateway_request_fail(err, 413, "batch_too_large", "transfers",
                             "a batch takes at most 8190 transfers");
    } else {
        gateway_batch_t *batch = calloc(1, sizeof *batch);
        size_t count = json_array_size(list);
        if (batch)
            batch->items = calloc(count, sizeof *batch->items);
        if (!batch || !batch->items) {
            gateway_batch_destroy(&batch);
            result = LEDGER_E_NOMEM;
        } else {
            batch->count = count;
            for (size_t i = 0; i < count; i++)
                parse_item(json_array_get(list, i), &batch->items[i]);
            *out = batch;
            result = LEDGER_OK;
        }
    }
    json_decref(root);
    return result;
}

void gateway_batch_forbid(gateway_request_error_t *err)
{
    gateway_request_fail(err, 403, "forbidden_account", "from",
                         "you may send only from an account you own");
}

ledger_err_t gateway_batch_apply(node_ctx_t *ctx, gateway_batch_t *batch, const char *principal,
                                 const gateway_view_keys_t *keys, size_t *created_out)
{
    assert(ctx && ctx->txn && batch && principal);
    size_t created = 0;
    for (size_t i = 0; i < batch->count; i++) {
        gateway_batch_item_t *item = &batch->items[i];
        /* Every run starts over: an aborted run's outcomes were never committed. */
        if (!item->parsed)
            continue;
        bool owns = false;
        ledger_err_t err =
            gateway_owners_owns(ctx->state, ctx->txn, principal, item->req.from, &owns);
        if (err)
            return err;
        if (!owns) {
            item->state = GATEWAY_BATCH_ITEM_INVALID;
            gateway_batch_forbid(&item->error);
            continue;
        }
        err = gateway_view_submit(ctx, principal, &item->req, item->key, keys, &item->result);
        switch (err) {
        case LEDGER_OK:
            item->state =
                item->result.replayed ? GATEWAY_BATCH_ITEM_REPLAYED : GATEWAY_BATCH_ITEM_ACCEPTED;
            created += item->result.replayed ? 0 : 1;
            break;
        case LEDGER_E_EXISTS:
            item->state = GATEWAY_BATCH_ITEM_INVALID;
            gateway_request_fail(
                &item->error, 422, "idempotency_key_reused", "idempotency_key",
                "this idempotency_key was already used for a different transfer; use a "
                "new key for a new transfer");
            break;
        case LEDGER_E_INVALID:
            item->state = GATEWAY_BATCH_ITEM_INVALID;
            gateway_request_fail(&item->error, 400, "invalid_field", NULL,
                                 "the transfer was refused as invalid");
            break;
        default:
            return err; /* a store error: the whole transaction goes */
        }
    }
    if (created_out)
        *created_out = created;
    return LEDGER_OK;
}

static void write_error(json_out_t *out, const gateway_request_error_t *e)
{
    json_out_begin_object(out);
    json_out_member_str(out, "code", e->code);
    json_out_member_str(out, "message", e->message);
    json_out_key(out, "field");
    if (e->field[0])
        json_out_str(out, e->field);
    else
        json_out_null(out);
    json_out_end_object(out);
}

char *gateway_batch_response(const gateway_batch_t *batch, size_t *size_out)
{
    assert(batch);
    json_out_t out;
    json_out_init(&out, batch->count * GATEWAY_BATCH_RESULT_BYTES_TYPICAL + 64);
    size_t accepted = 0, replayed = 0, rejected = 0;
    json_out_begin_object(&out);
    json_out_key(&out, "results");
    json_out_begin_array(&out);
    for (size_t i = 0; i < batch->count; i++) {
        const gateway_batch_item_t *item = &batch->items[i];
        json_out_begin_object(&out);
        json_out_member_int(&out, "index", (int64_t)i);
        switch (item->state) {
        case GATEWAY_BATCH_ITEM_ACCEPTED:
        case GATEWAY_BATCH_ITEM_REPLAYED: {
            bool again = item->state == GATEWAY_BATCH_ITEM_REPLAYED;
            accepted += again ? 0 : 1;
            replayed += again ? 1 : 0;
            json_out_member_int(&out, "status", again ? 200 : 202);
            json_out_key(&out, "transfer");
            gateway_view_write_submitted(&out, &item->result);
            break;
        }
        case GATEWAY_BATCH_ITEM_INVALID:
        case GATEWAY_BATCH_ITEM_PARSED: /* never submitted: cannot happen after apply */
            rejected++;
            json_out_member_int(&out, "status", (int64_t)item->error.http_status);
            json_out_key(&out, "error");
            write_error(&out, &item->error);
            break;
        }
        json_out_end_object(&out);
    }
    json_out_end_array(&out);
    json_out_member_int(&out, "accepted", (int64_t)accepted);
    json_out_member_int(&out, "replayed", (int64_t)replayed);
    json_out_member_int(&out, "rejected", (int64_t)rejected);
    json_out_end_object(&out);
    return json_out_take(&out, size_out);
}

void gateway_batch_destroy(gateway_batch_t **batch_p)
{
    if (!batch_p || !*batch_p)
        return;
    free((*batch_p)->items);
    free(*batch_p);
    *batch_p = NULL;
}

/*  gateway_view.c: the view's API (gateway_view.h): the request rules, the
    submission of a transfer under an idempotency key, the readers, and the
    time-ordered transfer ids. The status events folded into the view
    (gateway_view_apply) are in gateway_view_apply.c.

    The stored forms live in their own files: the view record in
    gateway_view_record.c, the idempotency keys and their age index in
    gateway_view_idem.c. Every change of a view also appends one event to the
    log (gateway_events.h) in the same transaction.
*/
#include "gateway_view.h"
#include "gateway_events.h"
#include "gateway_owners.h"
#include "clock.h"
#include "currency.h"
#include "money.h"
#include "sha256.h"
#include "text.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#define REQUEST_HASH_TAG "ledger.transfer.v1"
/* The parts of the canonical request: the tag, four text fields of two parts, the amount. */
#define REQUEST_HASH_PARTS 10
/* A manual transfer's tail of the canonical form: the tag and be32 expires_in_s. */
#define REQUEST_HASH_MANUAL "manual"
#define REQUEST_HASH_MANUAL_PARTS 2
/* A transfer id: "tr_" + 12 hex digits of unix ms + 8 hex digits of the sequence. */
#define ID_PREFIX "tr_"
#define ID_PREFIX_LEN 3
#define ID_MS_DIGITS 12
#define ID_SEQ_DIGITS 8
/* 12 hex digits of ms: enough until the year 10889. */
#define ID_MS_MASK 0xFFFFFFFFFFFFull
/* The longest UTF-8 sequence, bytes. */
#define UTF8_CHAR_MAX 4
/* A typical submitted answer, bytes; json_out grows past it. */
#define SUBMITTED_TEXT_HINT 256

static_assert(GATEWAY_TRANSFER_ID_LEN == ID_PREFIX_LEN + ID_MS_DIGITS + ID_SEQ_DIGITS,
              "transfer id length");

/* --- validation ----------------------------------------------------------- */

static bool is_lower_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool gateway_view_transfer_id_valid(const char *id)
{
    if (!id || strncmp(id, ID_PREFIX, ID_PREFIX_LEN) != 0)
        return false;
    for (int i = ID_PREFIX_LEN; i < GATEWAY_TRANSFER_ID_LEN; i++) {
        if (!is_lower_hex(id[i]))
            return false;
    }
    return id[GATEWAY_TRANSFER_ID_LEN] == '\0';
}

bool gateway_view_idempotency_key_valid(const char *key, size_t len)
{
    if (!key || len == 0 || len > GATEWAY_IDEMPOTENCY_KEY_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)key[i];
        if (c < 0x21 || c > 0x7E)
            return false;
    }
    return true;
}

static bool is_control(unsigned char c)
{
    return c < 0x20 || c == 0x7F;
}

bool gateway_view_text_valid(const char *text)
{
    size_t len = strlen(text);
    if (!proto_utf8_valid(text, len))
        return false;
    /* In well-formed UTF-8 every byte below 0x80 is a character of its own. */
    for (size_t i = 0; i < len; i++) {
        if (is_control((unsigned char)text[i]))
            return false;
    }
    return true;
}

/*  Length (1..UTF8_CHAR_MAX) of the character at s (NUL-terminated) if it is
    well-formed UTF-8 and not a control character, 0 if not. The shortest
    prefix that proto_utf8_valid accepts is exactly the first character. */
static size_t text_char_len(const char *s)
{
    if ((unsigned char)s[0] < 0x80)
        return is_control((unsigned char)s[0]) ? 0 : 1;
    size_t avail = strnlen(s, UTF8_CHAR_MAX);
    for (size_t n = 2; n <= avail; n++) {
        if (proto_utf8_valid(s, n))
            return n;
    }
    return 0;
}

void gateway_view_text_sanitize(char *text)
{
    while (*text) {
        size_t len = text_char_len(text);
        if (len == 0) {
            *text++ = '?';
            continue;
        }
        text += len;
    }
}

/* manual <=> an expiry in range; a refund names a transfer id. */
static bool payment_fields_valid(const gateway_transfer_request_t *req)
{
    bool manual = req->capture == PROTO_CAPTURE_MANUAL;
    if ((unsigned)req->capture >= PROTO_CAPTURE__COUNT)
        return false;
    if (manual ? req->expires_in_s < GATEWAY_EXPIRES_IN_MIN_S ||
                     req->expires_in_s > GATEWAY_EXPIRES_IN_MAX_S
               : req->expires_in_s != 0)
        return false;
    return req->refund_of[0] == '\0' || gateway_view_transfer_id_valid(req->refund_of);
}

bool gateway_view_transfer_request_valid(const gateway_transfer_request_t *req)
{
    return proto_account_id_valid_str(req->from) && proto_account_id_valid_str(req->to) &&
           strcmp(req->from, req->to) != 0 && req->amount_minor > 0 &&
           proto_currency_valid(req->currency) &&
           strnlen(req->reference, sizeof req->reference) <= PROTO_REFERENCE_MAX &&
           gateway_view_text_valid(req->reference) && payment_fields_valid(req);
}

/* --- answers and the request hash ------------------------------------------ */

void gateway_view_write_submitted(json_out_t *out, const gateway_submit_result_t *res)
{
    char created_at[CLOCK_UTC_TEXT_SIZE];
    json_out_begin_object(out);
    json_out_member_str(out, "id", res->id);
    json_out_member_str(out, "status", gateway_view_record_status_name(GATEWAY_STATUS_PENDING));
    json_out_member_str(out, "from", res->request.from);
    json_out_member_str(out, "to", res->request.to);
    json_out_member_int(out, "amount", res->request.amount_minor);
    json_out_member_str(out, "currency", res->request.currency);
    json_out_member_str(out, "reference", res->request.reference);
    json_out_member_str(out, "kind",
                        proto_transfer_kind_name(gateway_view_record_kind(&res->request)));
    json_out_member_str(out, "created_at", clock_format_utc(res->created_ms, created_at));
    const currency_t *currency = currency_find(res->request.currency);
    char text[MONEY_TEXT_MAX];
    json_out_member_str(
        out, "amount_text",
        money_format_decimal(res->request.amount_minor, currency ? currency->exponent : 0, text));
    json_out_member_str(out, "capture", proto_capture_name(res->request.capture));
    if (res->expires_at_ms)
        json_out_member_str(out, "expires_at", clock_format_utc(res->expires_at_ms, created_at));
    if (res->request.refund_of[0])
        json_out_member_str(out, "refund_of", res->request.refund_of);
    json_out_end_object(out);
}

char *gateway_view_submitted_text(const gateway_submit_result_t *res, size_t *size_out)
{
    json_out_t out;
    json_out_init(&out, SUBMITTED_TEXT_HINT);
    gateway_view_write_submitted(&out, res);
    return json_out_take(&out, size_out);
}

/* A text field of the canonical form: its be32 length (into len_be) and its bytes. */
static void hash_field(sha256_part_t *parts, size_t *count, uint8_t len_be[4], const char *text)
{
    size_t len = strlen(text);
    len_be[0] = (uint8_t)(len >> 24);
    len_be[1] = (uint8_t)(len >> 16);
    len_be[2] = (uint8_t)(len >> 8);
    len_be[3] = (uint8_t)len;
    parts[(*count)++] = (sha256_part_t){len_be, 4};
    parts[(*count)++] = (sha256_part_t){text, len};
}

ledger_err_t gateway_view_request_hash(const gateway_transfer_request_t *req,
                                       uint8_t out[GATEWAY_HASH_SIZE])
{
    sha256_part_t parts[REQUEST_HASH_PARTS + REQUEST_HASH_MANUAL_PARTS];
    size_t count = 0;
    uint8_t lens[4][4], amount[8], expires[4];
    parts[count++] = (sha256_part_t){REQUEST_HASH_TAG, sizeof REQUEST_HASH_TAG}; /* with its NUL */
    hash_field(parts, &count, lens[0], req->from);
    hash_field(parts, &count, lens[1], req->to);
    store_be64_put(amount, (uint64_t)req->amount_minor);
    parts[count++] = (sha256_part_t){amount, sizeof amount};
    hash_field(parts, &count, lens[2], req->currency);
    hash_field(parts, &count, lens[3], req->reference);
    if (req->capture == PROTO_CAPTURE_MANUAL) {
        /* Only a manual transfer adds to the form: an automatic one hashes as before issue 21,
           so the retry of a request sent before an upgrade is still its replay. */
        for (int i = 0; i < 4; i++)
            expires[i] = (uint8_t)(req->expires_in_s >> (24 - 8 * i));
        parts[count++] = (sha256_part_t){REQUEST_HASH_MANUAL, sizeof REQUEST_HASH_MANUAL};
        parts[count++] = (sha256_part_t){expires, sizeof expires};
    }
    return sha256_parts(parts, count, out);
}

/* Appends the change of `rec` caused by `step` to the event log (gateway_events.h), in ctx->txn.
   Only the step's fields, the transfer id and its viewers are logged; a stream renders the
   transfer when it reads the event. */
ledger_err_t gateway_view_event_append(node_ctx_t *ctx, const gateway_view_record_t *rec,
                                       const gateway_view_step_t *step,
                                       char viewers[2][PROTO_ACCOUNT_ID_MAX + 1])
{
    static_assert(GATEWAY_EVENT_VIEWERS == 2, "gateway_owners_viewers names two");
    static_assert(GATEWAY_EVENT_VIEWER_MAX == PROTO_ACCOUNT_ID_MAX, "viewers are principal ids");
    gateway_event_t ev = {.ts_ms = ctx->now_ms};
    text_copy_cut(ev.type, sizeof ev.type, step->step);
    text_copy_cut(ev.node, sizeof ev.node, step->node);
    text_copy_cut(ev.message_id, sizeof ev.message_id, step->message_id);
    text_copy_cut(ev.transfer_id, sizeof ev.transfer_id, rec->id);
    memcpy(ev.viewers, viewers, sizeof ev.viewers);
    return gateway_events_append(ctx->txn, &ev, NULL);
}

/* --- transfer ids --------------------------------------------------------- */

/* ms part of the newest transfer id in the view (0 if none). */
static ledger_err_t newest_id_ms(store_txn_t *txn, uint64_t *ms_out)
{
    *ms_out = 0;
    store_cursor_t *cursor = NULL;
    ledger_err_t err = store_cursor_open(txn, STORE_DB_TRANSFERS, &cursor);
    if (err)
        return err;
    store_kv_t kv = {0};
    err = store_cursor_get(cursor, STORE_LAST, &kv);
    if (err == LEDGER_OK && kv.key_size == GATEWAY_TRANSFER_ID_LEN) {
        char id[GATEWAY_TRANSFER_ID_LEN + 1];
        memcpy(id, kv.key, GATEWAY_TRANSFER_ID_LEN);
        id[GATEWAY_TRANSFER_ID_LEN] = '\0';
        if (gateway_view_transfer_id_valid(id)) {
            char ms_hex[ID_MS_DIGITS + 1];
            memcpy(ms_hex, id + ID_PREFIX_LEN, ID_MS_DIGITS);
            ms_hex[ID_MS_DIGITS] = '\0';
            *ms_out = strtoull(ms_hex, NULL, 16);
        }
    }
    store_cursor_close(&cursor);
    return (err == LEDGER_OK || err == LEDGER_E_NOT_FOUND) ? LEDGER_OK : err;
}

static ledger_err_t make_transfer_id(store_txn_t *txn, uint64_t now_ms,
                                     char out[PROTO_TRANSFER_ID_MAX + 1])
{
    uint64_t ms = now_ms & ID_MS_MASK;
    uint64_t newest_ms = 0;
    ledger_err_t err = newest_id_ms(txn, &newest_ms);
    if (err)
        return err;
    /* A clock that stepped back must not make keys go backwards. */
    if (ms < newest_ms)
        ms = newest_ms;
    uint64_t seq = 0;
    err = store_seq_next(txn, GATEWAY_TRANSFER_SEQUENCE, &seq);
    if (err)
        return err;
    /* "tr_" + 12 hex digits of ms + 8 of the sequence (as "tr_%012x%08x"). */
    memcpy(out, ID_PREFIX, ID_PREFIX_LEN);
    text_hex(ms, ID_MS_DIGITS, out + ID_PREFIX_LEN);
    text_hex((uint32_t)seq, ID_SEQ_DIGITS, out + ID_PREFIX_LEN + ID_MS_DIGITS);
    assert(gateway_view_transfer_id_valid(out));
    return LEDGER_OK;
}

/* --- submit --------------------------------------------------------------- */

static void fill_result(const gateway_view_record_t *rec, bool replayed, const char *message_id,
                        gateway_submit_result_t *out)
{
    memset(out, 0, sizeof *out);
    memcpy(out->id, rec->id, sizeof out->id);
    out->replayed = replayed;
    out->created_ms = rec->created_ms;
    out->request = rec->req;
    out->expires_at_ms = rec->expires_at_ms;
    text_copy_cut(out->message_id, sizeof out->message_id, message_id);
}

/* A live key with the same request: the transfer it names answers as the replay (*replayed,
   `out` filled). */
static ledger_err_t submit_replay(node_ctx_t *ctx, const gateway_view_idem_t *idem, bool *replayed,
                                  gateway_submit_result_t *out)
{
    gateway_view_record_t rec;
    ledger_err_t err = gateway_view_record_get(ctx->txn, idem->id, &rec);
    if (err == LEDGER_E_NOT_FOUND)
        return LEDGER_E_CORRUPT; /* a key pointing at no transfer */
    if (err)
        return err;
    fill_result(&rec, true, "", out);
    *replayed = true;
    return LEDGER_OK;
}

/*  A key written before keys were scoped (gateway store format 2, kept under the legacy
    principal "" by the migration) answers a request that repeats it exactly: the retry of a
    request sent before the upgrade is a replay, never a second transfer. Anything else (another
    body, an expired key, no such key) leaves the request new: the old key's sender is unknown,
    so it cannot refuse anybody's key. Before scoping every caller saw every transfer, so a
    replay discloses nothing that was not visible then. */
static ledger_err_t submit_check_legacy_key(node_ctx_t *ctx, const char *key,
                                            const uint8_t hash[GATEWAY_HASH_SIZE],
                                            uint64_t retention_ms, bool *replayed,
                                            gateway_submit_result_t *out)
{
    gateway_view_idem_t idem;
    ledger_err_t err = gateway_view_idem_get(ctx->txn, GATEWAY_IDEM_LEGACY_PRINCIPAL, key, &idem);
    if (err == LEDGER_E_NOT_FOUND)
        return LEDGER_OK;
    if (err)
        return err;
    if (gateway_view_idem_expired(idem.created_ms, ctx->now_ms, retention_ms) ||
        sodium_memcmp(idem.hash, hash, GATEWAY_HASH_SIZE) != 0)
        return LEDGER_OK;
    return submit_replay(ctx, &idem, replayed, out);
}

/*  Looks `key` up before anything is written. A live key with the same request: *replayed and
    `out` filled. A live key with another request: LEDGER_E_EXISTS. An expired key: its age index
    entry is deleted (the new transfer indexes the key again); the caller goes on. No key of
    this principal: a legacy key may still make it a replay (submit_check_legacy_key), looked
    up only while keys->legacy_keys says the store may hold one (not a second read per new
    transfer for ever). */
ledger_err_t gateway_view_key_check(node_ctx_t *ctx, const char *principal, const char *key,
                                    const uint8_t hash[GATEWAY_HASH_SIZE],
                                    const gateway_view_keys_t *keys, bool *replayed,
                                    gateway_submit_result_t *out)
{
    *replayed = false;
    gateway_view_idem_t idem;
    ledger_err_t err = gateway_view_idem_get(ctx->txn, principal, key, &idem);
    if (err == LEDGER_E_NOT_FOUND)
        return keys->legacy_keys
                   ? submit_check_legacy_key(ctx, key, hash, keys->retention_ms, replayed, out)
                   : LEDGER_OK;
    if (err)
        return err;
    if (gateway_view_idem_expired(idem.created_ms, ctx->now_ms, keys->retention_ms))
        return gateway_view_idem_unindex(ctx->txn, principal, key, idem.created_ms);
    if (sodium_memcmp(idem.hash, hash, GATEWAY_HASH_SIZE) != 0)
        return LEDGER_E_EXISTS;
    return submit_replay(ctx, &idem, replayed, out);
}

/* Emits transfer.requested for the new transfer rec->id to the accounts node; its id into
   message_id. */
static ledger_err_t emit_requested(node_ctx_t *ctx, const char *principal,
                                   const gateway_view_record_t *rec,
                                   const gateway_transfer_request_t *req,
                                   char message_id[PROTO_ID_MAX + 1])
{
    proto_msg_t msg;
    memset(&msg, 0, sizeof msg);
    msg.type = PROTO_TRANSFER_REQUESTED;
    memcpy(msg.corr, rec->id, sizeof msg.corr);
    proto_transfer_t *body = &msg.body.transfer;
    memcpy(body->transfer, rec->id, sizeof body->transfer);
    memcpy(body->from, req->from, sizeof body->from);
    memcpy(body->to, req->to, sizeof body->to);
    body->amount_minor = req->amount_minor;
    body->kind = gateway_view_record_kind(req);
    memcpy(body->currency, req->currency, sizeof body->currency);
    memcpy(body->reference, req->reference, sizeof body->reference);
    text_copy_cut(body->principal, sizeof body->principal, principal);
    body->capture = req->capture;
    body->expires_at_ms = rec->expires_at_ms;
    memcpy(body->refund_of, req->refund_of, sizeof body->refund_of);
    body->operator_scope = req->operator_scope;
    static const char *const peers[] = {NODE_PEER_ACCOUNTS};
    ledger_err_t err = node_ctx_emit(ctx, peers, 1, &msg, NULL);
    if (!err)
        proto_msg_id(&msg, message_id);
    return err;
}

/* The new transfer's record: pending, its request, its key, the first step. */
static void record_fill_new(node_ctx_t *ctx, gateway_view_record_t *rec,
                            const gateway_transfer_request_t *req, const char *key,
                            gateway_view_step_t *step)
{
    rec->req = *req;
    rec->status = GATEWAY_STATUS_PENDING;
    rec->created_ms = ctx->now_ms;
    rec->updated_ms = ctx->now_ms;
    text_copy_cut(rec->idempotency_key, sizeof rec->idempotency_key, key);
    text_copy_cut(step->step, sizeof step->step, proto_type_name(PROTO_TRANSFER_REQUESTED));
    text_copy_cut(step->node, sizeof step->node, ctx->node_name);
    gateway_view_record_timeline_add(rec, step);
}

/*  Indexes the new transfer for those who may see it (gateway_owners.h), its viewers: the
    principal that sent it (it owns `from`: gateway_submit.c checked) and the owner of `to`,
    when the owner map knows one. */
static ledger_err_t index_for_viewers(store_txn_t *txn, const gateway_view_record_t *rec,
                                      char viewers[2][PROTO_ACCOUNT_ID_MAX + 1])
{
    ledger_err_t err = LEDGER_OK;
    for (size_t i = 0; !err && i < 2; i++) {
        if (viewers[i][0])
            err = gateway_owners_index_transfer(txn, viewers[i], rec->id);
    }
    return err;
}

/* Creates the transfer: its id, the message, its record, its event, its index entries and its
   key. */
ledger_err_t gateway_view_submit_new(node_ctx_t *ctx, const char *principal,
                                     const gateway_transfer_request_t *req, const char *key,
                                     const uint8_t hash[GATEWAY_HASH_SIZE],
                                     gateway_submit_result_t *out)
{
    gateway_view_record_t *rec = malloc(sizeof *rec);
    if (!rec)
        return LEDGER_E_NOMEM;
    gateway_view_record_clear(rec);
    gateway_view_step_t step = {.ts_ms = ctx->now_ms};
    ledger_err_t err = make_transfer_id(ctx->txn, ctx->now_ms, rec->id);
    if (req->capture == PROTO_CAPTURE_MANUAL)
        rec->expires_at_ms = ctx->now_ms + (uint64_t)req->expires_in_s * 1000u;
    if (!err)
        err = emit_requested(ctx, principal, rec, req, step.message_id);
    if (!err) {
        record_fill_new(ctx, rec, req, key, &step);
        /* NOOVERWRITE: an id made twice must never replace a transfer (EXISTS, reported as
           LEDGER_E_CORRUPT below because writes were made already). */
        err = gateway_view_record_put(ctx->txn, rec, STORE_PUT_NOOVERWRITE);
    }
    char viewers[2][PROTO_ACCOUNT_ID_MAX + 1];
    /* An operator's refund: the payee (who owns `from`) is its viewer, not the operator. */
    const char *sender = req->operator_scope ? NULL : principal;
    if (!err)
        err = gateway_owners_viewers(ctx->state, ctx->txn, sender, req->from, req->to,
                                     req->currency, viewers);
    if (!err)
        err = gateway_view_event_append(ctx, rec, &step, viewers);
    if (!err)
        err = index_for_viewers(ctx->txn, rec, viewers);
    if (!err) {
        gateway_view_idem_t fresh = {.created_ms = ctx->now_ms};
        memcpy(fresh.hash, hash, sizeof fresh.hash);
        memcpy(fresh.id, rec->id, sizeof fresh.id);
        err = gateway_view_idem_put(ctx->txn, principal, key, &fresh);
    }
    if (!err)
        fill_result(rec, false, step.message_id, out);
    free(rec);
    /* From here on writes may have happened: the two "refused, nothing written" codes must not
       leak out (node_ctx_emit's INVALID would be a bug in this file, not a bad request). */
    if (err == LEDGER_E_INVALID || err == LEDGER_E_EXISTS || err == LEDGER_E_NOT_FOUND)
        err = LEDGER_E_CORRUPT;
    return err;
}

ledger_err_t gateway_view_submit(node_ctx_t *ctx, const char *principal,
                                 const gateway_transfer_request_t *req, const char *key,
                                 const gateway_view_keys_t *keys, gateway_submit_result_t *out)
{
    assert(ctx && ctx->txn && principal && req && keys && out);
    if (strlen(principal) > GATEWAY_IDEM_PRINCIPAL_MAX || !key ||
        !gateway_view_idempotency_key_valid(key, strlen(key)) ||
        !gateway_view_transfer_request_valid(req))
        return LEDGER_E_INVALID;

    uint8_t hash[GATEWAY_HASH_SIZE];
    ledger_err_t err = gateway_view_request_hash(req, hash);
    if (err)
        return err;
    /* Everything that can refuse the request is checked before the first write. */
    bool replayed = false;
    err = gateway_view_key_check(ctx, principal, key, hash, keys, &replayed, out);
    if (err || replayed)
        return err;
    return gateway_view_submit_new(ctx, principal, req, key, hash, out);
}

/* --- pruning -------------------------------------------------------------- */

ledger_err_t gateway_view_prune_idempotency(store_txn_t *txn, uint64_t now_ms,
                                            uint64_t retention_ms, size_t max, size_t *pruned_out)
{
    assert(txn);
    size_t pruned = 0;
    if (pruned_out)
        *pruned_out = 0;
    gateway_view_idem_index_t *batch = malloc(GATEWAY_PRUNE_BATCH * sizeof *batch);
    if (!batch)
        return LEDGER_E_NOMEM;
    ledger_err_t err = LEDGER_OK;
    /* Collect a batch of expired index keys with the cursor closed before deleting, so no
       cursor is ever moved across a delete. */
    while (pruned < max) {
        size_t want = max - pruned < GATEWAY_PRUNE_BATCH ? max - pruned : GATEWAY_PRUNE_BATCH;
        size_t n = 0;
        err = gateway_view_idem_collect_expired(txn, now_ms, retention_ms, batch, want, &n);
        for (size_t i = 0; i < n && !err; i++) {
            err = gateway_view_idem_delete(txn, &batch[i]);
            if (!err)
                pruned++;
        }
        if (err || n < want)
            break;
    }
    free(batch);
    if (pruned_out)
        *pruned_out = pruned;
    return err;
}

/* --- readers -------------------------------------------------------------- */

ledger_err_t gateway_view_transfer_get(store_txn_t *txn, const char *id, json_t **out)
{
    assert(txn && id && out);
    if (!gateway_view_transfer_id_valid(id))
        return LEDGER_E_NOT_FOUND;
    gateway_view_record_t *rec = malloc(sizeof *rec);
    if (!rec)
        return LEDGER_E_NOMEM;
    ledger_err_t err = gateway_view_record_get(txn, id, rec);
    if (err == LEDGER_OK) {
        *out = gateway_view_record_to_api(rec);
        if (!*out)
            err = LEDGER_E_NOMEM;
    }
    free(rec);
    return err;
}

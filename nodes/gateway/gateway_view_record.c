/*  gateway_view_record.c: the transfer view record, encoded and decoded
    (contract in gateway_view_record.h).

    A view record lives in TRANSFERS as a compact binary record (core/record.h:
    integers big-endian, strings with a 1- or 2-byte length), version 3
    (written; version 2 is the same without the tail, still read):

      u8 version (2) | str8 id | str8 from | str8 to | be64 amount | str8 currency
      | str8 reference | u8 status | u8 flags (1 held, 2 has reason)
      | [has reason: str8 code | str16 message | u8 rule count | str8 rule ...]
      | be64 created_ms | be64 updated_ms | str8 idempotency_key
      | u8 step count | per step: str8 step | str8 node | str8 message_id
        | str8 cause | be64 ts_ms | u8 has rules | [u8 rule count | str8 rule ...]
      version 3 tail (issue 21): u8 capture | be64 expires_at_ms | be64 captured_minor
      | be64 refunded_minor | be64 refunding_minor | str8 refund_of | u8 pending_action
      | u8 refund count | str8 refund id ...

    Every string is bounded by its proto limit and must be valid UTF-8
    (proto_utf8_valid), every count by its array; anything short, long, out of
    range or with trailing bytes reads as LEDGER_E_CORRUPT rather than
    trusted. Worst case, every field at its limit: about 6.5 KiB (8 steps of
    ~0.5 KiB, ~1.2 KiB, 50 refund ids of 24 bytes), under GATEWAY_RECORD_MAX
    (16 KiB); a unit test builds that record.

    Version 1 records (written before the binary form) are compact JSON text
    and start with '{'; they are still read through jansson (record_from_json)
    so existing data dirs keep working, and are rewritten in the binary form
    the next time the transfer changes. JSON (jansson) is otherwise only the
    API form (gateway_view_record_to_api).
*/
#include "gateway_view_record.h"
#include "clock.h"
#include "currency.h"
#include "gateway_owners.h"
#include "money.h"
#include "record.h"

#include <assert.h>
#include <string.h>

/* Version of the JSON text form (read only) and of the binary form (written). */
#define RECORD_VERSION 1
#define RECORD_BINARY_V2 2
#define RECORD_BINARY_VERSION 3
#define RECORD_FLAG_HELD 0x01
#define RECORD_FLAG_REASON 0x02
/* Longest status name ("rejected_fraud"), with room to spare, bytes with the NUL. */
#define STATUS_NAME_SIZE 24

static const char *const status_names[GATEWAY_STATUS__COUNT] = {
    [GATEWAY_STATUS_PENDING] = "pending",
    [GATEWAY_STATUS_SETTLED] = "settled",
    [GATEWAY_STATUS_REJECTED_FRAUD] = "rejected_fraud",
    [GATEWAY_STATUS_DECLINED] = "declined",
    [GATEWAY_STATUS_AUTHORIZED] = "authorized",
    [GATEWAY_STATUS_VOIDED] = "voided",
    [GATEWAY_STATUS_EXPIRED] = "expired",
};

const char *gateway_view_record_status_name(gateway_status_t status)
{
    if ((unsigned)status >= GATEWAY_STATUS__COUNT)
        return NULL;
    return status_names[status];
}

bool gateway_view_record_status_final(gateway_status_t status)
{
    return status != GATEWAY_STATUS_PENDING && status != GATEWAY_STATUS_AUTHORIZED;
}

int64_t gateway_view_record_captured(const gateway_view_record_t *rec)
{
    assert(rec);
    if (rec->status != GATEWAY_STATUS_SETTLED)
        return 0;
    return rec->captured_minor > 0 ? rec->captured_minor : rec->req.amount_minor;
}

bool gateway_view_record_status_from_name(const char *name, gateway_status_t *out)
{
    for (int i = 0; i < GATEWAY_STATUS__COUNT; i++) {
        if (strcmp(name, status_names[i]) == 0) {
            *out = (gateway_status_t)i;
            return true;
        }
    }
    return false;
}

/* Copies a NUL-terminated string into a bounded buffer; false if it does not fit. */
static bool copy_bounded(char *dst, size_t dst_size, const char *src)
{
    size_t len = strlen(src);
    if (len >= dst_size)
        return false;
    memcpy(dst, src, len + 1);
    return true;
}

/* --- view record: encode / decode ----------------------------------------- */

/* The JSON object of `rec` in the version 1 shape; only gateway_view_record_to_api uses it now (the
   stored form is binary). NULL on allocation failure. */
static json_t *record_to_json(const gateway_view_record_t *rec)
{
    json_t *timeline = json_array();
    json_t *obj = json_object();
    if (!timeline || !obj)
        goto fail;
    for (uint32_t i = 0; i < rec->timeline_count; i++) {
        const gateway_view_step_t *e = &rec->timeline[i];
        json_t *entry =
            json_pack("{s:s, s:s, s:s, s:s, s:I}", "step", e->step, "node", e->node, "message_id",
                      e->message_id, "cause", e->cause, "ts_ms", (json_int_t)e->ts_ms);
        if (entry && e->has_rules) {
            json_t *rules = json_array();
            for (uint32_t r = 0; rules && r < e->rule_count; r++) {
                if (json_array_append_new(rules, json_string(e->rules[r]))) {
                    json_decref(rules);
                    rules = NULL;
                }
            }
            if (!rules || json_object_set_new(entry, "rules", rules)) {
                json_decref(entry);
                entry = NULL;
            }
        }
        if (json_array_append_new(timeline, entry))
            goto fail;
    }
    json_t *reason = json_null();
    if (rec->has_reason) {
        reason = json_pack("{s:s, s:s}", "code", rec->reason_code, "message", rec->reason_message);
        if (reason && rec->status == GATEWAY_STATUS_REJECTED_FRAUD) {
            json_t *rules = json_array();
            for (uint32_t i = 0; rules && i < rec->rule_count; i++)
                json_array_append_new(rules, json_string(rec->rules[i]));
            json_object_set_new(reason, "rules", rules ? rules : json_null());
        }
    }
    int rc = 0;
    rc |= json_object_set_new(obj, "v", json_integer(RECORD_VERSION));
    rc |= json_object_set_new(obj, "id", json_string(rec->id));
    rc |= json_object_set_new(obj, "from", json_string(rec->req.from));
    rc |= json_object_set_new(obj, "to", json_string(rec->req.to));
    rc |= json_object_set_new(obj, "amount", json_integer(rec->req.amount_minor));
    rc |= json_object_set_new(obj, "currency", json_string(rec->req.currency));
    rc |= json_object_set_new(obj, "reference", json_string(rec->req.reference));
    rc |= json_object_set_new(obj, "status",
                              json_string(gateway_view_record_status_name(rec->status)));
    rc |= json_object_set_new(obj, "held", json_boolean(rec->held));
    rc |= json_object_set_new(obj, "reason", reason);
    rc |= json_object_set_new(obj, "created_ms", json_integer((json_int_t)rec->created_ms));
    rc |= json_object_set_new(obj, "updated_ms", json_integer((json_int_t)rec->updated_ms));
    rc |= json_object_set_new(obj, "idempotency_key", json_string(rec->idempotency_key));
    rc |= json_object_set_new(obj, "timeline", timeline);
    timeline = NULL;
    if (rc)
        goto fail;
    return obj;
fail:
    json_decref(timeline);
    json_decref(obj);
    return NULL;
}

static void put_rules(record_writer_t *w, uint32_t count,
                      const char rules[][PROTO_RULE_NAME_MAX + 1])
{
    assert(count <= PROTO_RULES_MAX);
    record_put_u8(w, (uint8_t)count);
    for (uint32_t i = 0; i < count; i++)
        record_put_str8(w, rules[i]);
}

/* Encodes `rec` in the binary form into buf[cap]; the length, or 0 if it does not fit. */
static size_t record_encode(const gateway_view_record_t *rec, uint8_t *buf, size_t cap)
{
    assert(rec->timeline_count <= GATEWAY_TIMELINE_MAX);
    assert(rec->refund_count <= GATEWAY_REFUNDS_MAX);
    record_writer_t w = {buf, cap, 0, true};
    record_put_u8(&w, RECORD_BINARY_VERSION);
    record_put_str8(&w, rec->id);
    record_put_str8(&w, rec->req.from);
    record_put_str8(&w, rec->req.to);
    record_put_u64(&w, (uint64_t)rec->req.amount_minor);
    record_put_str8(&w, rec->req.currency);
    record_put_str8(&w, rec->req.reference);
    record_put_u8(&w, (uint8_t)rec->status);
    record_put_u8(&w, (uint8_t)((rec->held ? RECORD_FLAG_HELD : 0) |
                                (rec->has_reason ? RECORD_FLAG_REASON : 0)));
    if (rec->has_reason) {
        record_put_str8(&w, rec->reason_code);
        record_put_str16(&w, rec->reason_message);
        put_rules(&w, rec->rule_count, rec->rules);
    }
    record_put_u64(&w, rec->created_ms);
    record_put_u64(&w, rec->updated_ms);
    record_put_str8(&w, rec->idempotency_key);
    record_put_u8(&w, (uint8_t)rec->timeline_count);
    for (uint32_t i = 0; i < rec->timeline_count; i++) {
        const gateway_view_step_t *e = &rec->timeline[i];
        record_put_str8(&w, e->step);
        record_put_str8(&w, e->node);
        record_put_str8(&w, e->message_id);
        record_put_str8(&w, e->cause);
        record_put_u64(&w, e->ts_ms);
        record_put_u8(&w, e->has_rules ? 1 : 0);
        if (e->has_rules)
            put_rules(&w, e->rule_count, e->rules);
    }
    record_put_u8(&w, (uint8_t)rec->req.capture);
    record_put_u64(&w, rec->expires_at_ms);
    record_put_u64(&w, (uint64_t)rec->captured_minor);
    record_put_u64(&w, (uint64_t)rec->refunded_minor);
    record_put_u64(&w, (uint64_t)rec->refunding_minor);
    record_put_str8(&w, rec->req.refund_of);
    record_put_u8(&w, (uint8_t)rec->pending_action);
    record_put_u8(&w, (uint8_t)rec->refund_count);
    for (uint32_t i = 0; i < rec->refund_count; i++)
        record_put_str8(&w, rec->refunds[i]);
    return w.ok ? w.len : 0;
}

ledger_err_t gateway_view_record_put(store_txn_t *txn, const gateway_view_record_t *rec,
                                     unsigned flags)
{
    assert(txn && rec);
    uint8_t buf[GATEWAY_RECORD_MAX];
    size_t len = record_encode(rec, buf, sizeof buf);
    if (len == 0)
        return LEDGER_E_TOO_LARGE;
    return store_put(txn, STORE_DB_TRANSFERS, rec->id, strlen(rec->id), buf, len, flags);
}

/* Reads string member `key` of `obj` into a bounded buffer; false if absent, not a string or too
 * long. */
static bool get_str(const json_t *obj, const char *key, char *dst, size_t dst_size)
{
    const json_t *value = json_object_get(obj, key);
    if (!json_is_string(value) || json_string_length(value) >= dst_size ||
        strlen(json_string_value(value)) != json_string_length(value))
        return false;
    memcpy(dst, json_string_value(value), json_string_length(value) + 1);
    return true;
}

static bool get_u64(const json_t *obj, const char *key, uint64_t *out)
{
    const json_t *value = json_object_get(obj, key);
    if (!json_is_integer(value) || json_integer_value(value) < 0)
        return false;
    *out = (uint64_t)json_integer_value(value);
    return true;
}

/* A version 1 "rules" array (at most PROTO_RULES_MAX bounded strings) into rules[] and *count. */
static bool rules_from_json(const json_t *rules, uint32_t *count,
                            char out[PROTO_RULES_MAX][PROTO_RULE_NAME_MAX + 1])
{
    if (!json_is_array(rules) || json_array_size(rules) > PROTO_RULES_MAX)
        return false;
    for (size_t i = 0; i < json_array_size(rules); i++) {
        const json_t *rule = json_array_get(rules, i);
        if (!json_is_string(rule) || !copy_bounded(out[i], sizeof out[i], json_string_value(rule)))
            return false;
    }
    *count = (uint32_t)json_array_size(rules);
    return true;
}

/* The top-level fields of a version 1 record: version, ids, request, status, times, key. */
static bool fields_from_json(const json_t *obj, gateway_view_record_t *rec)
{
    char status[STATUS_NAME_SIZE];
    uint64_t version = 0;
    const json_t *amount = json_object_get(obj, "amount");
    const json_t *held = json_object_get(obj, "held");
    if (!json_is_object(obj) || !get_u64(obj, "v", &version) || version != RECORD_VERSION ||
        !get_str(obj, "id", rec->id, sizeof rec->id) ||
        !get_str(obj, "from", rec->req.from, sizeof rec->req.from) ||
        !get_str(obj, "to", rec->req.to, sizeof rec->req.to) || !json_is_integer(amount) ||
        !get_str(obj, "currency", rec->req.currency, sizeof rec->req.currency) ||
        !get_str(obj, "reference", rec->req.reference, sizeof rec->req.reference) ||
        !get_str(obj, "status", status, sizeof status) ||
        !gateway_view_record_status_from_name(status, &rec->status) || !json_is_boolean(held) ||
        !get_u64(obj, "created_ms", &rec->created_ms) ||
        !get_u64(obj, "updated_ms", &rec->updated_ms) ||
        !get_str(obj, "idempotency_key", rec->idempotency_key, sizeof rec->idempotency_key))
        return false;
    rec->req.amount_minor = json_integer_value(amount);
    rec->held = json_is_true(held);
    return true;
}

/* The "reason" of a version 1 record: null, or {code, message, rules?}. */
static bool reason_from_json(const json_t *reason, gateway_view_record_t *rec)
{
    if (json_is_null(reason))
        return true;
    if (!json_is_object(reason))
        return false;
    rec->has_reason = true;
    if (!get_str(reason, "code", rec->reason_code, sizeof rec->reason_code) ||
        !get_str(reason, "message", rec->reason_message, sizeof rec->reason_message))
        return false;
    const json_t *rules = json_object_get(reason, "rules");
    return !rules || rules_from_json(rules, &rec->rule_count, rec->rules);
}

/* The "timeline" of a version 1 record: at most GATEWAY_TIMELINE_MAX steps. */
static bool timeline_from_json(const json_t *timeline, gateway_view_record_t *rec)
{
    if (!json_is_array(timeline) || json_array_size(timeline) > GATEWAY_TIMELINE_MAX)
        return false;
    for (size_t i = 0; i < json_array_size(timeline); i++) {
        const json_t *e = json_array_get(timeline, i);
        gateway_view_step_t *t = &rec->timeline[i];
        if (!get_str(e, "step", t->step, sizeof t->step) ||
            !get_str(e, "node", t->node, sizeof t->node) ||
            !get_str(e, "message_id", t->message_id, sizeof t->message_id) ||
            !get_str(e, "cause", t->cause, sizeof t->cause) || !get_u64(e, "ts_ms", &t->ts_ms))
            return false;
        const json_t *rules = json_object_get(e, "rules");
        if (rules) {
            if (!rules_from_json(rules, &t->rule_count, t->rules))
                return false;
            t->has_rules = true;
        }
    }
    rec->timeline_count = (uint32_t)json_array_size(timeline);
    return true;
}

/* Decodes a version 1 record (JSON text, written before the binary form). */
static bool record_from_json(const json_t *obj, gateway_view_record_t *rec)
{
    memset(rec, 0, sizeof *rec);
    return fields_from_json(obj, rec) && reason_from_json(json_object_get(obj, "reason"), rec) &&
           timeline_from_json(json_object_get(obj, "timeline"), rec);
}

/* A string read from a binary record must be valid UTF-8 (the API form is JSON). */
static bool utf8_valid(const char *text)
{
    return proto_utf8_valid(text, strlen(text));
}

/* A count (u8, at most `max`) and that many bounded UTF-8 rule names; false if malformed. */
static bool get_rules(record_reader_t *r, uint32_t *count,
                      char rules[PROTO_RULES_MAX][PROTO_RULE_NAME_MAX + 1])
{
    uint8_t n = record_get_u8(r);
    if (!r->ok || n > PROTO_RULES_MAX)
        return false;
    for (uint8_t i = 0; i < n; i++) {
        record_get_str8(r, rules[i], PROTO_RULE_NAME_MAX);
        if (!r->ok || !utf8_valid(rules[i]))
            return false;
    }
    *count = n;
    return true;
}

/* Reads a bounded UTF-8 string; false once the reader is not ok. */
static bool get_text8(record_reader_t *r, char *out, size_t max)
{
    record_get_str8(r, out, max);
    return r->ok && utf8_valid(out);
}

/* The money fields of the version 3 tail: none negative, the refunds within the amount. */
static bool tail_amounts_valid(const gateway_view_record_t *rec)
{
    int64_t refunds = 0;
    return rec->captured_minor >= 0 && rec->captured_minor <= rec->req.amount_minor &&
           rec->refunded_minor >= 0 && rec->refunding_minor >= 0 &&
           !__builtin_add_overflow(rec->refunded_minor, rec->refunding_minor, &refunds) &&
           refunds <= rec->req.amount_minor;
}

/* The version 3 tail (issue 21's fields); false if malformed. */
static bool record_decode_tail(record_reader_t *r, gateway_view_record_t *rec)
{
    uint8_t capture = record_get_u8(r);
    rec->expires_at_ms = record_get_u64(r);
    rec->captured_minor = (int64_t)record_get_u64(r);
    rec->refunded_minor = (int64_t)record_get_u64(r);
    rec->refunding_minor = (int64_t)record_get_u64(r);
    if (!r->ok || capture >= PROTO_CAPTURE__COUNT || !tail_amounts_valid(rec) ||
        !get_text8(r, rec->req.refund_of, PROTO_TRANSFER_ID_MAX))
        return false;
    rec->req.capture = (proto_capture_t)capture;
    uint8_t action = record_get_u8(r);
    uint8_t refunds = record_get_u8(r);
    if (!r->ok || action >= GATEWAY_ACTION__COUNT || refunds > GATEWAY_REFUNDS_MAX)
        return false;
    rec->pending_action = (gateway_action_t)action;
    for (uint8_t i = 0; i < refunds; i++) {
        if (!get_text8(r, rec->refunds[i], PROTO_TRANSFER_ID_MAX))
            return false;
    }
    rec->refund_count = refunds;
    return true;
}

/* The arrays gateway_view_record_clear leaves alone come in this order, the refunds last. */
_Static_assert(offsetof(gateway_view_record_t, timeline) <
                       offsetof(gateway_view_record_t, expires_at_ms) &&
                   offsetof(gateway_view_record_t, expires_at_ms) <
                       offsetof(gateway_view_record_t, refunds) &&
                   sizeof(gateway_view_record_t) - offsetof(gateway_view_record_t, refunds) -
                           GATEWAY_REFUNDS_MAX * (PROTO_TRANSFER_ID_MAX + 1) <
                       sizeof(uint64_t), /* nothing but padding after the refunds */
               "gateway_view_record_clear's layout");

void gateway_view_record_clear(gateway_view_record_t *rec)
{
    assert(rec);
    memset(rec, 0, offsetof(gateway_view_record_t, timeline));
    memset(&rec->expires_at_ms, 0,
           offsetof(gateway_view_record_t, refunds) -
               offsetof(gateway_view_record_t, expires_at_ms));
}

/* Decodes the binary form (version byte included); false if it is malformed in any way. */
static bool record_decode_binary(const uint8_t *val, size_t size, gateway_view_record_t *rec)
{
    gateway_view_record_clear(rec);
    record_reader_t r = {val, size, 0, true};
    uint8_t version = record_get_u8(&r);
    if (version != RECORD_BINARY_V2 && version != RECORD_BINARY_VERSION)
        return false;
    if (!get_text8(&r, rec->id, PROTO_TRANSFER_ID_MAX) ||
        !get_text8(&r, rec->req.from, PROTO_ACCOUNT_ID_MAX) ||
        !get_text8(&r, rec->req.to, PROTO_ACCOUNT_ID_MAX))
        return false;
    rec->req.amount_minor = (int64_t)record_get_u64(&r);
    if (!get_text8(&r, rec->req.currency, PROTO_CURRENCY_LEN) ||
        !get_text8(&r, rec->req.reference, PROTO_REFERENCE_MAX))
        return false;
    uint8_t status = record_get_u8(&r);
    uint8_t flags = record_get_u8(&r);
    if (!r.ok || status >= GATEWAY_STATUS__COUNT ||
        (flags & ~(RECORD_FLAG_HELD | RECORD_FLAG_REASON)) != 0)
        return false;
    rec->status = (gateway_status_t)status;
    rec->held = (flags & RECORD_FLAG_HELD) != 0;
    rec->has_reason = (flags & RECORD_FLAG_REASON) != 0;
    if (rec->has_reason) {
        if (!get_text8(&r, rec->reason_code, PROTO_CODE_MAX))
            return false;
        record_get_str16(&r, rec->reason_message, PROTO_REASON_MAX);
        if (!r.ok || !utf8_valid(rec->reason_message) ||
            !get_rules(&r, &rec->rule_count, rec->rules))
            return false;
    }
    rec->created_ms = record_get_u64(&r);
    rec->updated_ms = record_get_u64(&r);
    if (!get_text8(&r, rec->idempotency_key, GATEWAY_IDEMPOTENCY_KEY_MAX))
        return false;
    uint8_t steps = record_get_u8(&r);
    if (!r.ok || steps > GATEWAY_TIMELINE_MAX)
        return false;
    for (uint8_t i = 0; i < steps; i++) {
        gateway_view_step_t *e = &rec->timeline[i];
        memset(e, 0, offsetof(gateway_view_step_t, rules)); /* its rules up to rule_count */
        if (!get_text8(&r, e->step, GATEWAY_STEP_NAME_MAX) ||
            !get_text8(&r, e->node, PROTO_NODE_MAX) ||
            !get_text8(&r, e->message_id, PROTO_ID_MAX) || !get_text8(&r, e->cause, PROTO_ID_MAX))
            return false;
        e->ts_ms = record_get_u64(&r);
        uint8_t has_rules = record_get_u8(&r);
        if (!r.ok || has_rules > 1)
            return false;
        e->has_rules = has_rules == 1;
        if (e->has_rules && !get_rules(&r, &e->rule_count, e->rules))
            return false;
    }
    rec->timeline_count = steps;
    if (version == RECORD_BINARY_VERSION && !record_decode_tail(&r, rec))
        return false;
    return record_done(&r);
}

ledger_err_t gateway_view_record_decode(const void *val, size_t size, gateway_view_record_t *rec)
{
    assert(rec);
    if (size == 0 || size > GATEWAY_RECORD_MAX)
        return LEDGER_E_CORRUPT;
    const uint8_t *bytes = val;
    if (bytes[0] != '{')
        return record_decode_binary(bytes, size, rec) ? LEDGER_OK : LEDGER_E_CORRUPT;
    json_t *obj = json_loadb(val, size, JSON_REJECT_DUPLICATES, NULL);
    bool ok = obj && record_from_json(obj, rec);
    json_decref(obj);
    return ok ? LEDGER_OK : LEDGER_E_CORRUPT;
}

ledger_err_t gateway_view_record_get(store_txn_t *txn, const char *id, gateway_view_record_t *rec)
{
    assert(txn && id && rec);
    const void *val;
    size_t val_size;
    ledger_err_t err = store_get(txn, STORE_DB_TRANSFERS, id, strlen(id), &val, &val_size);
    if (err)
        return err;
    return gateway_view_record_decode(val, val_size, rec);
}

proto_transfer_kind_t gateway_view_record_kind(const gateway_transfer_request_t *req)
{
    assert(req);
    if (req->refund_of[0])
        return PROTO_TRANSFER_KIND_REFUND;
    const char *settlement = proto_settlement_id(req->currency);
    if (settlement && strcmp(req->from, settlement) == 0)
        return PROTO_TRANSFER_KIND_DEPOSIT;
    if (settlement && strcmp(req->to, settlement) == 0)
        return PROTO_TRANSFER_KIND_WITHDRAWAL;
    return PROTO_TRANSFER_KIND_TRANSFER;
}

/* The amount in major units by its currency's exponent ("12.34"); the integer when the
   currency is not in the table (a record of before the table). */
static const char *amount_text(const gateway_view_record_t *rec, char out[MONEY_TEXT_MAX])
{
    const currency_t *currency = currency_find(rec->req.currency);
    return money_format_decimal(rec->req.amount_minor, currency ? currency->exponent : 0, out);
}

static const char *const action_names[GATEWAY_ACTION__COUNT] = {
    [GATEWAY_ACTION_CAPTURE] = "capture",
    [GATEWAY_ACTION_VOID] = "void",
};

/* The issue 21 members of the API form: capture, expires_at, captured_amount, refunded_amount,
   refunds, refund_of, pending_action, amount_text. Nonzero if one could not be set. */
static int record_api_payments(json_t *obj, const gateway_view_record_t *rec)
{
    char when[CLOCK_UTC_TEXT_SIZE];
    char text[MONEY_TEXT_MAX];
    json_t *refunds = json_array();
    for (uint32_t i = 0; refunds && i < rec->refund_count; i++) {
        if (json_array_append_new(refunds, json_string(rec->refunds[i]))) {
            json_decref(refunds);
            refunds = NULL;
        }
    }
    bool settled = rec->status == GATEWAY_STATUS_SETTLED;
    int rc = refunds ? 0 : -1;
    rc |= json_object_set_new(obj, "amount_text", json_string(amount_text(rec, text)));
    rc |= json_object_set_new(obj, "capture", json_string(proto_capture_name(rec->req.capture)));
    rc |= json_object_set_new(
        obj, "expires_at",
        rec->expires_at_ms ? json_string(clock_format_utc(rec->expires_at_ms, when)) : json_null());
    rc |= json_object_set_new(obj, "captured_amount",
                              settled ? json_integer(gateway_view_record_captured(rec))
                                      : json_null());
    rc |= json_object_set_new(obj, "refunded_amount", json_integer(rec->refunded_minor));
    rc |= json_object_set_new(obj, "refunds", refunds ? refunds : json_array());
    rc |= json_object_set_new(
        obj, "refund_of", rec->req.refund_of[0] ? json_string(rec->req.refund_of) : json_null());
    rc |= json_object_set_new(obj, "pending_action",
                              rec->pending_action ? json_string(action_names[rec->pending_action])
                                                  : json_null());
    return rc;
}

/* Turns `obj` (record_to_json of `rec`; stolen, may be NULL) into the API form. */
static json_t *record_api_from_json(json_t *obj, const gateway_view_record_t *rec)
{
    if (!obj)
        return NULL;
    char when[CLOCK_UTC_TEXT_SIZE];
    json_object_del(obj, "v");
    json_object_del(obj, "idempotency_key");
    int rc = 0;
    rc |= json_object_set_new(
        obj, "kind", json_string(proto_transfer_kind_name(gateway_view_record_kind(&rec->req))));
    rc |= json_object_set_new(obj, "created_at",
                              json_string(clock_format_utc(rec->created_ms, when)));
    rc |= json_object_set_new(obj, "updated_at",
                              json_string(clock_format_utc(rec->updated_ms, when)));
    rc |= record_api_payments(obj, rec);
    json_t *timeline = json_object_get(obj, "timeline");
    for (uint32_t i = 0; i < rec->timeline_count; i++) {
        rc |= json_object_set_new(json_array_get(timeline, i), "at",
                                  json_string(clock_format_utc(rec->timeline[i].ts_ms, when)));
    }
    if (rc) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

json_t *gateway_view_record_to_api(const gateway_view_record_t *rec)
{
    assert(rec);
    return record_api_from_json(record_to_json(rec), rec);
}

/* Appends the change of `rec` caused by `step` to the event log (gateway_events.h), in ctx->txn.
   Only the step's fields and the transfer id are logged; a stream renders the transfer when it
   reads the event. */

bool gateway_view_record_timeline_add(gateway_view_record_t *rec, const gateway_view_step_t *entry)
{
    assert(rec && entry);
    if (rec->timeline_count >= GATEWAY_TIMELINE_MAX)
        return false;
    uint32_t at = rec->timeline_count;
    while (at > 0 && rec->timeline[at - 1].ts_ms > entry->ts_ms)
        at--;
    memmove(&rec->timeline[at + 1], &rec->timeline[at],
            (rec->timeline_count - at) * sizeof rec->timeline[0]);
    rec->timeline[at] = *entry;
    rec->timeline_count++;
    return true;
}

bool gateway_view_record_timeline_has(const gateway_view_record_t *rec, const char *message_id)
{
    assert(rec && message_id);
    for (uint32_t i = 0; i < rec->timeline_count; i++) {
        if (strcmp(rec->timeline[i].message_id, message_id) == 0)
            return true;
    }
    return false;
}

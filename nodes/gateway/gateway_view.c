/*  gateway_view.c: transfer view records, idempotency keys and status events.

    A view record lives in TRANSFERS as a compact binary record (core/record.h:
    integers big-endian, strings with a 1- or 2-byte length), version 2:

      u8 version (2) | str8 id | str8 from | str8 to | be64 amount | str8 currency
      | str8 reference | u8 status | u8 flags (1 held, 2 has reason)
      | [has reason: str8 code | str16 message | u8 rule count | str8 rule ...]
      | be64 created_ms | be64 updated_ms | str8 idempotency_key
      | u8 step count | per step: str8 step | str8 node | str8 message_id
        | str8 cause | be64 ts_ms | u8 has rules | [u8 rule count | str8 rule ...]

    Every string is bounded by its proto limit and must be valid UTF-8, every
    count by its array; anything short, long, out of range or with trailing
    bytes reads as LEDGER_E_CORRUPT rather than trusted. Worst case, every
    field at its limit: about 5 KiB (8 steps of ~0.5 KiB and ~1.2 KiB), under
    GATEWAY_RECORD_MAX (16 KiB); a unit test builds that record.

    Version 1 records (written before the binary form) are compact JSON text
    and start with '{'; they are still read through jansson (record_from_json)
    so existing data dirs keep working, and are rewritten in the binary form
    the next time the transfer changes. JSON (jansson) is otherwise only the
    API form (record_to_api).

    An idempotency record is binary and fixed-layout:
      u8 version (1) | be64 created_ms | 32-byte request hash | u8 id length | id bytes
*/
#include "gateway_view.h"
#include "gateway_events.h"
#include "record.h"
#include "sha256.h"
#include "text.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

/* Version of the JSON text form (read only) and of the binary form (written). */
#define RECORD_VERSION 1
#define RECORD_BINARY_VERSION 2
#define RECORD_FLAG_HELD 0x01
#define RECORD_FLAG_REASON 0x02
#define IDEM_RECORD_VERSION 1
#define IDEM_RECORD_MIN (1 + 8 + GATEWAY_HASH_SIZE + 1)
#define IDEM_INDEX_PREFIX "idem/"
#define IDEM_INDEX_PREFIX_LEN 5
#define IDEM_INDEX_KEY_MAX (IDEM_INDEX_PREFIX_LEN + 8 + GATEWAY_IDEMPOTENCY_KEY_MAX)
#define STEP_NAME_MAX 31
#define REQUEST_HASH_TAG "ledger.transfer.v1"
#define FRAUD_REASON_CODE "fraud_rejected"
/* 12 hex digits of ms: enough until the year 10889. */
#define ID_MS_MASK 0xFFFFFFFFFFFFull

static const char *const status_names[GATEWAY_STATUS__COUNT] = {
    [GATEWAY_STATUS_PENDING] = "pending",
    [GATEWAY_STATUS_SETTLED] = "settled",
    [GATEWAY_STATUS_REJECTED_FRAUD] = "rejected_fraud",
    [GATEWAY_STATUS_DECLINED] = "declined",
};

typedef struct {
    char step[STEP_NAME_MAX + 1];
    char node[PROTO_NODE_MAX + 1];
    char message_id[PROTO_ID_MAX + 1];
    char cause[PROTO_ID_MAX + 1];
    uint64_t ts_ms;
    /* Fraud verdict steps (fraud.approved, fraud.rejected, transfer.rejected_fraud) carry the
       names of the rules that fired (empty for an approval); other steps have none. */
    bool has_rules;
    uint32_t rule_count;
    char rules[PROTO_RULES_MAX][PROTO_RULE_NAME_MAX + 1];
} timeline_entry_t;

typedef struct {
    char id[PROTO_TRANSFER_ID_MAX + 1];
    gateway_transfer_request_t req;
    gateway_status_t status;
    bool held;
    bool has_reason;
    char reason_code[PROTO_CODE_MAX + 1];
    char reason_message[PROTO_REASON_MAX + 1];
    uint32_t rule_count;
    char rules[PROTO_RULES_MAX][PROTO_RULE_NAME_MAX + 1];
    uint64_t created_ms;
    uint64_t updated_ms;
    char idempotency_key[GATEWAY_IDEMPOTENCY_KEY_MAX + 1];
    uint32_t timeline_count;
    timeline_entry_t timeline[GATEWAY_TIMELINE_MAX];
} view_record_t;

typedef struct {
    uint64_t created_ms;
    uint8_t hash[GATEWAY_HASH_SIZE];
    char id[PROTO_TRANSFER_ID_MAX + 1];
} idem_record_t;

const char *gateway_view_status_name(gateway_status_t status)
{
    if ((unsigned)status >= GATEWAY_STATUS__COUNT)
        return NULL;
    return status_names[status];
}

static bool status_from_name(const char *name, gateway_status_t *out)
{
    for (int i = 0; i < GATEWAY_STATUS__COUNT; i++) {
        if (strcmp(name, status_names[i]) == 0) {
            *out = (gateway_status_t)i;
            return true;
        }
    }
    return false;
}

/* --- validation ----------------------------------------------------------- */

static bool is_lower_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool gateway_view_transfer_id_valid(const char *id)
{
    if (!id || strncmp(id, "tr_", 3) != 0)
        return false;
    for (int i = 3; i < GATEWAY_TRANSFER_ID_LEN; i++) {
        if (!is_lower_hex(id[i]))
            return false;
    }
    return id[GATEWAY_TRANSFER_ID_LEN] == '\0';
}

bool gateway_account_id_valid(const char *id)
{
    if (!id)
        return false;
    size_t len = 0;
    for (; id[len]; len++) {
        char c = id[len];
        if (len >= PROTO_ACCOUNT_ID_MAX)
            return false;
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return len >= 1;
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

static bool currency_valid(const char *currency)
{
    for (int i = 0; i < PROTO_CURRENCY_LEN; i++) {
        if (currency[i] < 'A' || currency[i] > 'Z')
            return false;
    }
    return currency[PROTO_CURRENCY_LEN] == '\0';
}

/* Length of the UTF-8 sequence at s (1..4) if it is well formed, 0 if not. */
static size_t utf8_sequence(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t len;
    uint32_t cp;
    if ((s[0] & 0xE0) == 0xC0) {
        len = 2;
        cp = s[0] & 0x1F;
    } else if ((s[0] & 0xF0) == 0xE0) {
        len = 3;
        cp = s[0] & 0x0F;
    } else if ((s[0] & 0xF8) == 0xF0) {
        len = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

static bool is_control(unsigned char c)
{
    return c < 0x20 || c == 0x7F;
}

bool gateway_view_text_valid(const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    while (*s) {
        size_t len = utf8_sequence(s);
        if (len == 0 || (len == 1 && is_control(*s)))
            return false;
        s += len;
    }
    return true;
}

void gateway_view_text_sanitize(char *text)
{
    unsigned char *s = (unsigned char *)text;
    while (*s) {
        size_t len = utf8_sequence(s);
        if (len == 0 || (len == 1 && is_control(*s))) {
            *s++ = '?';
            continue;
        }
        s += len;
    }
}

bool gateway_view_transfer_request_valid(const gateway_transfer_request_t *req)
{
    return gateway_account_id_valid(req->from) && gateway_account_id_valid(req->to) &&
           strcmp(req->from, req->to) != 0 && req->amount_minor > 0 &&
           currency_valid(req->currency) &&
           strnlen(req->reference, sizeof req->reference) <= PROTO_REFERENCE_MAX &&
           gateway_view_text_valid(req->reference);
}

/* --- small helpers -------------------------------------------------------- */

/* Copies a NUL-terminated string into a bounded buffer; false if it does not fit. */
static bool copy_bounded(char *dst, size_t dst_size, const char *src)
{
    size_t len = strlen(src);
    if (len >= dst_size)
        return false;
    memcpy(dst, src, len + 1);
    return true;
}

void gateway_view_write_submitted(json_out_t *out, const gateway_submit_result_t *res)
{
    char created_at[GATEWAY_TIME_TEXT_SIZE];
    json_out_begin_object(out);
    json_out_member_str(out, "id", res->id);
    json_out_member_str(out, "status", gateway_view_status_name(GATEWAY_STATUS_PENDING));
    json_out_member_str(out, "from", res->request.from);
    json_out_member_str(out, "to", res->request.to);
    json_out_member_int(out, "amount", res->request.amount_minor);
    json_out_member_str(out, "currency", res->request.currency);
    json_out_member_str(out, "reference", res->request.reference);
    json_out_member_str(out, "created_at", gateway_format_time(res->created_ms, created_at));
    json_out_end_object(out);
}

char *gateway_view_submitted_text(const gateway_submit_result_t *res, size_t *size_out)
{
    json_out_t out;
    json_out_init(&out, 256); /* a typical answer; json_out grows past it */
    gateway_view_write_submitted(&out, res);
    return json_out_take(&out, size_out);
}

/* Writes `value` as exactly `width` decimal digits (zero-padded; `value` must fit). */
static char *put_digits(char *p, unsigned value, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + value % 10);
        value /= 10;
    }
    return p + width;
}

/*  The proleptic Gregorian date of a day count since 1970-01-01 (days >= 0),
    by the era arithmetic of H. Hinnant's civil_from_days: what gmtime_r
    computes, without its locking and table walks (~4,000 instructions a
    call with strftime and snprintf, on every answer and timeline). */
static void civil_from_days(uint64_t days, unsigned *year, unsigned *month, unsigned *day)
{
    uint64_t z = days + 719468;                  /* days since 0000-03-01 */
    uint64_t era = z / 146097;                   /* 400-year eras */
    unsigned doe = (unsigned)(z - era * 146097); /* [0, 146096] */
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365], from March */
    unsigned mp = (5 * doy + 2) / 153;                                    /* [0, 11], March = 0 */
    *day = doy - (153 * mp + 2) / 5 + 1;
    *month = mp < 10 ? mp + 3 : mp - 9;
    *year = (unsigned)(era * 400 + yoe) + (*month <= 2 ? 1 : 0);
}

char *gateway_format_time(uint64_t unix_ms, char out[GATEWAY_TIME_TEXT_SIZE])
{
    uint64_t secs = unix_ms / 1000;
    unsigned in_day = (unsigned)(secs % 86400);
    unsigned year, month, day;
    civil_from_days(secs / 86400, &year, &month, &day);
    /* Years past 9999 as plain digits, as strftime's %Y (up to 584,556,019 at UINT64_MAX ms). */
    char *p = year <= 9999 ? put_digits(out, year, 4) : out + text_u64(year, out);
    *p++ = '-';
    p = put_digits(p, month, 2);
    *p++ = '-';
    p = put_digits(p, day, 2);
    *p++ = 'T';
    p = put_digits(p, in_day / 3600, 2);
    *p++ = ':';
    p = put_digits(p, in_day / 60 % 60, 2);
    *p++ = ':';
    p = put_digits(p, in_day % 60, 2);
    *p++ = '.';
    p = put_digits(p, (unsigned)(unix_ms % 1000), 3);
    *p++ = 'Z';
    *p = '\0';
    return out;
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
    sha256_part_t parts[10];
    size_t count = 0;
    uint8_t lens[4][4], amount[8];
    parts[count++] = (sha256_part_t){REQUEST_HASH_TAG, sizeof REQUEST_HASH_TAG}; /* with its NUL */
    hash_field(parts, &count, lens[0], req->from);
    hash_field(parts, &count, lens[1], req->to);
    store_be64_put(amount, (uint64_t)req->amount_minor);
    parts[count++] = (sha256_part_t){amount, sizeof amount};
    hash_field(parts, &count, lens[2], req->currency);
    hash_field(parts, &count, lens[3], req->reference);
    return sha256_parts(parts, count, out);
}

/* --- view record: encode / decode ----------------------------------------- */

/* The JSON object of `rec` in the version 1 shape; only record_to_api uses it now (the
   stored form is binary). NULL on allocation failure. */
static json_t *record_to_json(const view_record_t *rec)
{
    json_t *timeline = json_array();
    json_t *obj = json_object();
    if (!timeline || !obj)
        goto fail;
    for (uint32_t i = 0; i < rec->timeline_count; i++) {
        const timeline_entry_t *e = &rec->timeline[i];
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
    rc |= json_object_set_new(obj, "status", json_string(gateway_view_status_name(rec->status)));
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
static size_t record_encode(const view_record_t *rec, uint8_t *buf, size_t cap)
{
    assert(rec->timeline_count <= GATEWAY_TIMELINE_MAX);
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
        const timeline_entry_t *e = &rec->timeline[i];
        record_put_str8(&w, e->step);
        record_put_str8(&w, e->node);
        record_put_str8(&w, e->message_id);
        record_put_str8(&w, e->cause);
        record_put_u64(&w, e->ts_ms);
        record_put_u8(&w, e->has_rules ? 1 : 0);
        if (e->has_rules)
            put_rules(&w, e->rule_count, e->rules);
    }
    return w.ok ? w.len : 0;
}

/* Stores `rec` in the binary form, at most GATEWAY_RECORD_MAX bytes. */
static ledger_err_t record_put(store_txn_t *txn, const view_record_t *rec, unsigned flags)
{
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

/* Decodes a version 1 record (JSON text, written before the binary form). */
static bool record_from_json(const json_t *obj, view_record_t *rec)
{
    memset(rec, 0, sizeof *rec);
    char status[24];
    uint64_t version = 0;
    const json_t *amount = json_object_get(obj, "amount");
    const json_t *held = json_object_get(obj, "held");
    if (!json_is_object(obj) || !get_u64(obj, "v", &version) || version != RECORD_VERSION ||
        !get_str(obj, "id", rec->id, sizeof rec->id) ||
        !get_str(obj, "from", rec->req.from, sizeof rec->req.from) ||
        !get_str(obj, "to", rec->req.to, sizeof rec->req.to) || !json_is_integer(amount) ||
        !get_str(obj, "currency", rec->req.currency, sizeof rec->req.currency) ||
        !get_str(obj, "reference", rec->req.reference, sizeof rec->req.reference) ||
        !get_str(obj, "status", status, sizeof status) || !status_from_name(status, &rec->status) ||
        !json_is_boolean(held) || !get_u64(obj, "created_ms", &rec->created_ms) ||
        !get_u64(obj, "updated_ms", &rec->updated_ms) ||
        !get_str(obj, "idempotency_key", rec->idempotency_key, sizeof rec->idempotency_key))
        return false;
    rec->req.amount_minor = json_integer_value(amount);
    rec->held = json_is_true(held);

    const json_t *reason = json_object_get(obj, "reason");
    if (json_is_object(reason)) {
        rec->has_reason = true;
        if (!get_str(reason, "code", rec->reason_code, sizeof rec->reason_code) ||
            !get_str(reason, "message", rec->reason_message, sizeof rec->reason_message))
            return false;
        const json_t *rules = json_object_get(reason, "rules");
        if (rules) {
            if (!json_is_array(rules) || json_array_size(rules) > PROTO_RULES_MAX)
                return false;
            for (size_t i = 0; i < json_array_size(rules); i++) {
                const json_t *rule = json_array_get(rules, i);
                if (!json_is_string(rule) ||
                    !copy_bounded(rec->rules[i], sizeof rec->rules[i], json_string_value(rule)))
                    return false;
            }
            rec->rule_count = (uint32_t)json_array_size(rules);
        }
    } else if (!json_is_null(reason)) {
        return false;
    }

    const json_t *timeline = json_object_get(obj, "timeline");
    if (!json_is_array(timeline) || json_array_size(timeline) > GATEWAY_TIMELINE_MAX)
        return false;
    for (size_t i = 0; i < json_array_size(timeline); i++) {
        const json_t *e = json_array_get(timeline, i);
        timeline_entry_t *t = &rec->timeline[i];
        if (!get_str(e, "step", t->step, sizeof t->step) ||
            !get_str(e, "node", t->node, sizeof t->node) ||
            !get_str(e, "message_id", t->message_id, sizeof t->message_id) ||
            !get_str(e, "cause", t->cause, sizeof t->cause) || !get_u64(e, "ts_ms", &t->ts_ms))
            return false;
        const json_t *rules = json_object_get(e, "rules");
        if (rules) {
            if (!json_is_array(rules) || json_array_size(rules) > PROTO_RULES_MAX)
                return false;
            for (size_t r = 0; r < json_array_size(rules); r++) {
                const json_t *rule = json_array_get(rules, r);
                if (!json_is_string(rule) ||
                    !copy_bounded(t->rules[r], sizeof t->rules[r], json_string_value(rule)))
                    return false;
            }
            t->has_rules = true;
            t->rule_count = (uint32_t)json_array_size(rules);
        }
    }
    rec->timeline_count = (uint32_t)json_array_size(timeline);
    return true;
}

/* A string read from a binary record must be valid UTF-8 (the API form is JSON). */
static bool utf8_valid(const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    while (*s) {
        size_t len = utf8_sequence(s);
        if (len == 0)
            return false;
        s += len;
    }
    return true;
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

/* Decodes the binary form (version byte included); false if it is malformed in any way. */
static bool record_decode_binary(const uint8_t *val, size_t size, view_record_t *rec)
{
    memset(rec, 0, sizeof *rec);
    record_reader_t r = {val, size, 0, true};
    if (record_get_u8(&r) != RECORD_BINARY_VERSION)
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
        timeline_entry_t *e = &rec->timeline[i];
        if (!get_text8(&r, e->step, STEP_NAME_MAX) || !get_text8(&r, e->node, PROTO_NODE_MAX) ||
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
    return record_done(&r);
}

/* Decodes a stored record: the binary form, or a version 1 JSON record (starts with '{'). */
static ledger_err_t record_decode(const void *val, size_t size, view_record_t *rec)
{
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

/* LEDGER_E_NOT_FOUND, LEDGER_E_CORRUPT or a store error; *rec filled on LEDGER_OK. */
static ledger_err_t record_get(store_txn_t *txn, const char *id, view_record_t *rec)
{
    const void *val;
    size_t val_size;
    ledger_err_t err = store_get(txn, STORE_DB_TRANSFERS, id, strlen(id), &val, &val_size);
    if (err)
        return err;
    return record_decode(val, val_size, rec);
}

/* Turns `obj` (record_to_json of `rec`; stolen, may be NULL) into the API form. */
static json_t *record_api_from_json(json_t *obj, const view_record_t *rec)
{
    if (!obj)
        return NULL;
    char when[GATEWAY_TIME_TEXT_SIZE];
    json_object_del(obj, "v");
    json_object_del(obj, "idempotency_key");
    int rc = 0;
    rc |= json_object_set_new(obj, "created_at",
                              json_string(gateway_format_time(rec->created_ms, when)));
    rc |= json_object_set_new(obj, "updated_at",
                              json_string(gateway_format_time(rec->updated_ms, when)));
    json_t *timeline = json_object_get(obj, "timeline");
    for (uint32_t i = 0; i < rec->timeline_count; i++) {
        rc |= json_object_set_new(json_array_get(timeline, i), "at",
                                  json_string(gateway_format_time(rec->timeline[i].ts_ms, when)));
    }
    if (rc) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

/* API form of a record (see gateway_view.h). NULL on allocation failure. */
static json_t *record_to_api(const view_record_t *rec)
{
    return record_api_from_json(record_to_json(rec), rec);
}

/* Appends the change of `rec` caused by `step` to the event log (gateway_events.h), in ctx->txn.
   Only the step's fields and the transfer id are logged; a stream renders the transfer when it
   reads the event. */
static ledger_err_t event_append(node_ctx_t *ctx, const view_record_t *rec,
                                 const timeline_entry_t *step)
{
    return gateway_event_append(ctx->txn, step->step, step->node, step->message_id, ctx->now_ms,
                                rec->id, NULL);
}

/* Inserts a step keeping the timeline sorted by ts_ms (stable: equal times keep arrival order).
   False if the timeline is full. */
static bool timeline_add(view_record_t *rec, const timeline_entry_t *entry)
{
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

static bool timeline_has(const view_record_t *rec, const char *message_id)
{
    for (uint32_t i = 0; i < rec->timeline_count; i++) {
        if (strcmp(rec->timeline[i].message_id, message_id) == 0)
            return true;
    }
    return false;
}

/* --- idempotency records -------------------------------------------------- */

static ledger_err_t idem_get(store_txn_t *txn, const char *key, idem_record_t *rec)
{
    const void *val;
    size_t size;
    ledger_err_t err = store_get(txn, STORE_DB_IDEMPOTENCY, key, strlen(key), &val, &size);
    if (err)
        return err;
    const uint8_t *bytes = val;
    if (size < IDEM_RECORD_MIN || bytes[0] != IDEM_RECORD_VERSION)
        return LEDGER_E_CORRUPT;
    size_t id_len = bytes[1 + 8 + GATEWAY_HASH_SIZE];
    if (id_len > PROTO_TRANSFER_ID_MAX || size != IDEM_RECORD_MIN + id_len)
        return LEDGER_E_CORRUPT;
    rec->created_ms = store_be64_get(bytes + 1);
    memcpy(rec->hash, bytes + 1 + 8, GATEWAY_HASH_SIZE);
    memcpy(rec->id, bytes + IDEM_RECORD_MIN, id_len);
    rec->id[id_len] = '\0';
    return LEDGER_OK;
}

static ledger_err_t idem_put(store_txn_t *txn, const char *key, const idem_record_t *rec)
{
    uint8_t buf[IDEM_RECORD_MIN + PROTO_TRANSFER_ID_MAX];
    size_t id_len = strlen(rec->id);
    assert(id_len <= PROTO_TRANSFER_ID_MAX);
    buf[0] = IDEM_RECORD_VERSION;
    store_be64_put(buf + 1, rec->created_ms);
    memcpy(buf + 1 + 8, rec->hash, GATEWAY_HASH_SIZE);
    buf[1 + 8 + GATEWAY_HASH_SIZE] = (uint8_t)id_len;
    memcpy(buf + IDEM_RECORD_MIN, rec->id, id_len);
    return store_put(txn, STORE_DB_IDEMPOTENCY, key, strlen(key), buf, IDEM_RECORD_MIN + id_len, 0);
}

static size_t idem_index_key(uint8_t out[IDEM_INDEX_KEY_MAX], uint64_t created_ms, const char *key)
{
    size_t key_len = strlen(key);
    assert(key_len <= GATEWAY_IDEMPOTENCY_KEY_MAX);
    memcpy(out, IDEM_INDEX_PREFIX, IDEM_INDEX_PREFIX_LEN);
    store_be64_put(out + IDEM_INDEX_PREFIX_LEN, created_ms);
    memcpy(out + IDEM_INDEX_PREFIX_LEN + 8, key, key_len);
    return IDEM_INDEX_PREFIX_LEN + 8 + key_len;
}

static bool expired(uint64_t created_ms, uint64_t now_ms, uint64_t retention_ms)
{
    return now_ms >= created_ms && now_ms - created_ms >= retention_ms;
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
            char ms_hex[13];
            memcpy(ms_hex, id + 3, 12);
            ms_hex[12] = '\0';
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
    memcpy(out, "tr_", 3);
    text_hex(ms, 12, out + 3);
    text_hex((uint32_t)seq, 8, out + 15);
    assert(gateway_view_transfer_id_valid(out));
    return LEDGER_OK;
}

/* --- submit --------------------------------------------------------------- */

static void fill_result(const view_record_t *rec, bool replayed, const char *message_id,
                        gateway_submit_result_t *out)
{
    memset(out, 0, sizeof *out);
    memcpy(out->id, rec->id, sizeof out->id);
    out->replayed = replayed;
    out->created_ms = rec->created_ms;
    out->request = rec->req;
    text_copy_cut(out->message_id, sizeof out->message_id, message_id);
}

ledger_err_t gateway_view_submit(node_ctx_t *ctx, const gateway_transfer_request_t *req,
                                 const char *key, uint64_t retention_ms,
                                 gateway_submit_result_t *out)
{
    assert(ctx && ctx->txn && req && out);
    if (!key || !gateway_view_idempotency_key_valid(key, strlen(key)) ||
        !gateway_view_transfer_request_valid(req))
        return LEDGER_E_INVALID;

    uint8_t hash[GATEWAY_HASH_SIZE];
    ledger_err_t hash_err = gateway_view_request_hash(req, hash);
    if (hash_err)
        return hash_err;

    /* Everything that can refuse the request is checked before the first write. */
    idem_record_t idem;
    ledger_err_t err = idem_get(ctx->txn, key, &idem);
    bool stale_index = false;
    if (err == LEDGER_OK) {
        if (!expired(idem.created_ms, ctx->now_ms, retention_ms)) {
            if (sodium_memcmp(idem.hash, hash, GATEWAY_HASH_SIZE) != 0)
                return LEDGER_E_EXISTS;
            view_record_t rec;
            err = record_get(ctx->txn, idem.id, &rec);
            if (err == LEDGER_E_NOT_FOUND)
                return LEDGER_E_CORRUPT; /* a key pointing at no transfer */
            if (err)
                return err;
            fill_result(&rec, true, "", out);
            return LEDGER_OK;
        }
        stale_index = true;
    } else if (err != LEDGER_E_NOT_FOUND) {
        return err;
    }

    if (stale_index) {
        uint8_t ikey[IDEM_INDEX_KEY_MAX];
        size_t ikey_len = idem_index_key(ikey, idem.created_ms, key);
        err = store_del(ctx->txn, STORE_DB_INDEX, ikey, ikey_len);
        if (err && err != LEDGER_E_NOT_FOUND)
            return err;
    }

    view_record_t *rec = calloc(1, sizeof *rec);
    if (!rec)
        return LEDGER_E_NOMEM;
    err = make_transfer_id(ctx->txn, ctx->now_ms, rec->id);
    if (err)
        goto done;

    proto_msg_t msg;
    memset(&msg, 0, sizeof msg);
    msg.type = PROTO_TRANSFER_REQUESTED;
    memcpy(msg.corr, rec->id, sizeof msg.corr);
    proto_transfer_t *body = &msg.body.transfer;
    memcpy(body->transfer, rec->id, sizeof body->transfer);
    memcpy(body->from, req->from, sizeof body->from);
    memcpy(body->to, req->to, sizeof body->to);
    body->amount_minor = req->amount_minor;
    memcpy(body->currency, req->currency, sizeof body->currency);
    memcpy(body->reference, req->reference, sizeof body->reference);
    static const char *const peers[] = {NODE_PEER_ACCOUNTS};
    err = node_ctx_emit(ctx, peers, 1, &msg, NULL);
    if (err)
        goto done;

    rec->req = *req;
    rec->status = GATEWAY_STATUS_PENDING;
    rec->created_ms = ctx->now_ms;
    rec->updated_ms = ctx->now_ms;
    text_copy_cut(rec->idempotency_key, sizeof rec->idempotency_key, key);
    timeline_entry_t step = {.ts_ms = ctx->now_ms};
    text_copy_cut(step.step, sizeof step.step, proto_type_name(PROTO_TRANSFER_REQUESTED));
    text_copy_cut(step.node, sizeof step.node, ctx->node_name);
    proto_msg_id(&msg, step.message_id);
    timeline_add(rec, &step);

    /* NOOVERWRITE: an id made twice must never replace a transfer (EXISTS, reported as
       LEDGER_E_CORRUPT below because writes were made already). */
    err = record_put(ctx->txn, rec, STORE_PUT_NOOVERWRITE);
    if (err)
        goto done;
    err = event_append(ctx, rec, &step);
    if (err)
        goto done;

    idem_record_t fresh = {.created_ms = ctx->now_ms};
    memcpy(fresh.hash, hash, sizeof fresh.hash);
    memcpy(fresh.id, rec->id, sizeof fresh.id);
    err = idem_put(ctx->txn, key, &fresh);
    if (err)
        goto done;
    uint8_t ikey[IDEM_INDEX_KEY_MAX];
    size_t ikey_len = idem_index_key(ikey, ctx->now_ms, key);
    err = store_put(ctx->txn, STORE_DB_INDEX, ikey, ikey_len, "", 0, 0);
    if (err)
        goto done;

    fill_result(rec, false, step.message_id, out);
done:
    free(rec);
    /* From here on writes may have happened: the two "refused, nothing written" codes must not
       leak out (node_ctx_emit's INVALID would be a bug in this file, not a bad request). */
    if (err == LEDGER_E_INVALID || err == LEDGER_E_EXISTS)
        err = LEDGER_E_CORRUPT;
    return err;
}

/* --- pruning -------------------------------------------------------------- */

typedef struct {
    uint8_t key[IDEM_INDEX_KEY_MAX];
    size_t key_size;
} index_key_t;

ledger_err_t gateway_view_prune_idempotency(store_txn_t *txn, uint64_t now_ms,
                                            uint64_t retention_ms, size_t max, size_t *pruned_out)
{
    size_t pruned = 0;
    if (pruned_out)
        *pruned_out = 0;
    index_key_t *batch = malloc(GATEWAY_PRUNE_BATCH * sizeof *batch);
    if (!batch)
        return LEDGER_E_NOMEM;
    ledger_err_t err = LEDGER_OK;
    /* Collect a batch of expired index keys with the cursor closed before deleting, so no
       cursor is ever moved across a delete. */
    while (pruned < max) {
        store_cursor_t *cursor = NULL;
        err = store_cursor_open(txn, STORE_DB_INDEX, &cursor);
        if (err)
            break;
        size_t want = max - pruned < GATEWAY_PRUNE_BATCH ? max - pruned : GATEWAY_PRUNE_BATCH;
        size_t n = 0;
        store_kv_t kv = {.key = IDEM_INDEX_PREFIX, .key_size = IDEM_INDEX_PREFIX_LEN};
        err = store_cursor_get(cursor, STORE_SEEK, &kv);
        while (err == LEDGER_OK && n < want) {
            if (kv.key_size < IDEM_INDEX_PREFIX_LEN + 8 + 1 || kv.key_size > IDEM_INDEX_KEY_MAX ||
                memcmp(kv.key, IDEM_INDEX_PREFIX, IDEM_INDEX_PREFIX_LEN) != 0)
                break;
            uint64_t created_ms = store_be64_get((const uint8_t *)kv.key + IDEM_INDEX_PREFIX_LEN);
            if (!expired(created_ms, now_ms, retention_ms))
                break;
            memcpy(batch[n].key, kv.key, kv.key_size);
            batch[n].key_size = kv.key_size;
            n++;
            err = store_cursor_get(cursor, STORE_NEXT, &kv);
        }
        store_cursor_close(&cursor);
        if (err == LEDGER_E_NOT_FOUND)
            err = LEDGER_OK;
        if (err)
            break;
        for (size_t i = 0; i < n && !err; i++) {
            const uint8_t *k = batch[i].key;
            size_t idem_len = batch[i].key_size - IDEM_INDEX_PREFIX_LEN - 8;
            char idem_key[GATEWAY_IDEMPOTENCY_KEY_MAX + 1];
            memcpy(idem_key, k + IDEM_INDEX_PREFIX_LEN + 8, idem_len);
            idem_key[idem_len] = '\0';
            /* Delete the key only if this index entry is its current one. */
            idem_record_t rec;
            ledger_err_t get_err = idem_get(txn, idem_key, &rec);
            if (get_err == LEDGER_OK && rec.created_ms == store_be64_get(k + IDEM_INDEX_PREFIX_LEN))
                err = store_del(txn, STORE_DB_IDEMPOTENCY, idem_key, idem_len);
            else if (get_err != LEDGER_E_NOT_FOUND && get_err != LEDGER_OK &&
                     get_err != LEDGER_E_CORRUPT)
                err = get_err;
            if (!err)
                err = store_del(txn, STORE_DB_INDEX, k, batch[i].key_size);
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

/* --- status events -------------------------------------------------------- */

static const char *event_transfer_id(const proto_msg_t *msg)
{
    switch (msg->type) {
    case PROTO_FUNDS_RESERVED:
    case PROTO_TRANSFER_SETTLED:
        return msg->body.transfer.transfer;
    case PROTO_TRANSFER_REJECTED_FRAUD:
    case PROTO_FRAUD_APPROVED:
    case PROTO_FRAUD_REJECTED:
        return msg->body.verdict.transfer;
    case PROTO_TRANSFER_DECLINED:
        return msg->body.declined.transfer;
    default:
        return NULL;
    }
}

ledger_err_t gateway_view_apply(node_ctx_t *ctx, const proto_msg_t *msg)
{
    assert(ctx && ctx->txn && msg);
    const char *id = event_transfer_id(msg);
    if (!id)
        return LEDGER_E_INVALID;
    if (!gateway_view_transfer_id_valid(id))
        return LEDGER_OK; /* not one of ours: unknown transfer */

    view_record_t *rec = malloc(sizeof *rec);
    if (!rec)
        return LEDGER_E_NOMEM;
    ledger_err_t err = record_get(ctx->txn, id, rec);
    if (err == LEDGER_E_NOT_FOUND) {
        err = LEDGER_OK;
        goto done;
    }
    if (err)
        goto done;

    timeline_entry_t step = {.ts_ms = msg->ts_ms};
    proto_msg_id(msg, step.message_id);
    if (timeline_has(rec, step.message_id))
        goto done; /* a replay */
    text_copy_cut(step.step, sizeof step.step, proto_type_name(msg->type));
    text_copy_cut(step.node, sizeof step.node, msg->origin);
    text_copy_cut(step.cause, sizeof step.cause, msg->cause);
    gateway_view_text_sanitize(step.node);
    gateway_view_text_sanitize(step.message_id);
    gateway_view_text_sanitize(step.cause);
    if (msg->type == PROTO_FRAUD_APPROVED || msg->type == PROTO_FRAUD_REJECTED ||
        msg->type == PROTO_TRANSFER_REJECTED_FRAUD) {
        const proto_verdict_t *v = &msg->body.verdict;
        step.has_rules = true;
        step.rule_count = v->rule_count <= PROTO_RULES_MAX ? v->rule_count : PROTO_RULES_MAX;
        for (uint32_t i = 0; i < step.rule_count; i++) {
            text_copy_cut(step.rules[i], sizeof step.rules[i], v->rules[i]);
            gateway_view_text_sanitize(step.rules[i]);
        }
    }

    bool pending = rec->status == GATEWAY_STATUS_PENDING;
    bool changed = false;
    if (msg->type == PROTO_FUNDS_RESERVED) {
        if (pending && !rec->held) {
            rec->held = true;
            changed = true;
        }
        changed |= timeline_add(rec, &step);
    } else if (msg->type == PROTO_FRAUD_APPROVED || msg->type == PROTO_FRAUD_REJECTED) {
        /* The verdict is a step of the timeline; the status changes only when
           accounts has settled or released the hold. */
        changed |= timeline_add(rec, &step);
    } else {
        if (!pending)
            goto done; /* the saga guard: a final status never changes */
        rec->held = false;
        rec->has_reason = false;
        rec->rule_count = 0;
        if (msg->type == PROTO_TRANSFER_SETTLED) {
            rec->status = GATEWAY_STATUS_SETTLED;
        } else if (msg->type == PROTO_TRANSFER_REJECTED_FRAUD) {
            const proto_verdict_t *v = &msg->body.verdict;
            rec->status = GATEWAY_STATUS_REJECTED_FRAUD;
            rec->has_reason = true;
            text_copy_cut(rec->reason_code, sizeof rec->reason_code, FRAUD_REASON_CODE);
            text_copy_cut(rec->reason_message, sizeof rec->reason_message, v->reason);
            rec->rule_count = v->rule_count <= PROTO_RULES_MAX ? v->rule_count : PROTO_RULES_MAX;
            for (uint32_t i = 0; i < rec->rule_count; i++)
                text_copy_cut(rec->rules[i], sizeof rec->rules[i], v->rules[i]);
        } else {
            const proto_declined_t *d = &msg->body.declined;
            rec->status = GATEWAY_STATUS_DECLINED;
            rec->has_reason = true;
            text_copy_cut(rec->reason_code, sizeof rec->reason_code, d->code);
            text_copy_cut(rec->reason_message, sizeof rec->reason_message, d->reason);
        }
        gateway_view_text_sanitize(rec->reason_code);
        gateway_view_text_sanitize(rec->reason_message);
        for (uint32_t i = 0; i < rec->rule_count; i++)
            gateway_view_text_sanitize(rec->rules[i]);
        timeline_add(rec, &step);
        changed = true;
    }
    if (changed) {
        rec->updated_ms = ctx->now_ms;
        err = record_put(ctx->txn, rec, 0);
        if (!err)
            err = event_append(ctx, rec, &step);
    }
done:
    free(rec);
    return err;
}

/* --- readers -------------------------------------------------------------- */

ledger_err_t gateway_view_transfer_get(store_txn_t *txn, const char *id, json_t **out)
{
    assert(txn && id && out);
    if (!gateway_view_transfer_id_valid(id))
        return LEDGER_E_NOT_FOUND;
    view_record_t *rec = malloc(sizeof *rec);
    if (!rec)
        return LEDGER_E_NOMEM;
    ledger_err_t err = record_get(txn, id, rec);
    if (err == LEDGER_OK) {
        *out = record_to_api(rec);
        if (!*out)
            err = LEDGER_E_NOMEM;
    }
    free(rec);
    return err;
}

/* Decodes the record under the cursor into its API form and appends it to `array`. */
static ledger_err_t list_append(const store_kv_t *kv, view_record_t *rec, json_t *array)
{
    ledger_err_t err = record_decode(kv->val, kv->val_size, rec);
    if (err)
        return err;
    json_t *api = record_to_api(rec);
    if (!api || json_array_append_new(array, api))
        return LEDGER_E_NOMEM;
    return LEDGER_OK;
}

ledger_err_t gateway_view_transfer_list(store_txn_t *txn, const char *cursor, uint32_t limit,
                                        json_t **out)
{
    assert(txn && out);
    if (limit < 1 || limit > GATEWAY_LIST_MAX)
        return LEDGER_E_INVALID;
    if (cursor && strlen(cursor) > PROTO_TRANSFER_ID_MAX)
        return LEDGER_E_INVALID;
    json_t *items = json_array();
    view_record_t *rec = malloc(sizeof *rec);
    store_cursor_t *cur = NULL;
    ledger_err_t err = (items && rec) ? LEDGER_OK : LEDGER_E_NOMEM;
    if (!err)
        err = store_cursor_open(txn, STORE_DB_TRANSFERS, &cur);
    if (err)
        goto fail;

    store_kv_t kv = {0};
    if (cursor && cursor[0]) {
        /* First key >= cursor, then one step back: the newest key < cursor. */
        kv.key = cursor;
        kv.key_size = strlen(cursor);
        err = store_cursor_get(cur, STORE_SEEK, &kv);
        if (err == LEDGER_OK)
            err = store_cursor_get(cur, STORE_PREV, &kv);
        else if (err == LEDGER_E_NOT_FOUND)
            err = store_cursor_get(cur, STORE_LAST, &kv);
    } else {
        err = store_cursor_get(cur, STORE_LAST, &kv);
    }
    uint32_t count = 0;
    bool more = false;
    while (err == LEDGER_OK) {
        if (count == limit) {
            more = true;
            break;
        }
        err = list_append(&kv, rec, items);
        if (err)
            goto fail;
        count++;
        err = store_cursor_get(cur, STORE_PREV, &kv);
    }
    if (err && err != LEDGER_E_NOT_FOUND)
        goto fail;

    json_t *next = json_null();
    if (more && count > 0)
        next = json_string(rec->id); /* rec holds the last record appended */
    *out = json_pack("{s:o, s:o}", "transfers", items, "next_cursor", next);
    items = NULL;
    err = *out ? LEDGER_OK : LEDGER_E_NOMEM;
    store_cursor_close(&cur);
    free(rec);
    return err;
fail:
    store_cursor_close(&cur);
    json_decref(items);
    free(rec);
    return err;
}

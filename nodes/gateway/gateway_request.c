/*  gateway_request.c: validation of request bodies, headers and query values.

    Bodies are parsed with jansson (JSON_REJECT_DUPLICATES) into a JSON
    object; each field then goes through one getter that names the field in
    its refusal. The order of the checks is the order of the errors a client
    sees first: unknown keys, then each field in turn, then the rules that
    join fields (same_account).
*/
#include "gateway_request.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "currency.h"
#include "money.h"
#include "text.h"

/* Longest currency text read before the 3-letter check (a longer one is refused as too long). */
#define CURRENCY_TEXT_MAX 16

ledger_err_t gateway_request_fail(gateway_request_error_t *err, unsigned status, const char *code,
                                  const char *field, const char *fmt, ...)
{
    assert(err && code && fmt);
    err->http_status = status;
    snprintf(err->code, sizeof err->code, "%s", code);
    snprintf(err->field, sizeof err->field, "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    /* Truncation may cut a UTF-8 sequence; the text must stay valid JSON text. */
    gateway_view_text_sanitize(err->field);
    gateway_view_text_sanitize(err->message);
    return LEDGER_E_INVALID;
}

/* --- request validation --------------------------------------------------- */

static const char *json_type_name(const json_t *value)
{
    switch (json_typeof(value)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a fractional number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "a value";
}

/* Parses the body into an object; `number_field` names the field blamed for a number that
   does not fit in int64. NULL with `err` filled on failure. */
static json_t *load_object(const char *body, size_t len, const char *number_field,
                           gateway_request_error_t *err)
{
    if (len == 0) {
        gateway_request_fail(err, 400, "invalid_json", NULL,
                             "the request body is empty: send a JSON object");
        return NULL;
    }
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        switch (json_error_code(&jerr)) {
        case json_error_duplicate_key:
            gateway_request_fail(err, 400, "invalid_json", NULL,
                                 "a key appears twice in the body (%s)", jerr.text);
            break;
        case json_error_numeric_overflow:
            gateway_request_fail(
                err, 400, "invalid_field", number_field,
                "%s must be an integer between %s and 9223372036854775807 minor units",
                number_field, strcmp(number_field, "amount") == 0 ? "1" : "0");
            break;
        default:
            gateway_request_fail(err, 400, "invalid_json", NULL,
                                 "malformed JSON at line %d column %d: %s", jerr.line, jerr.column,
                                 jerr.text);
            break;
        }
        return NULL;
    }
    if (!json_is_object(root)) {
        gateway_request_fail(err, 400, "invalid_json", NULL,
                             "the body must be a JSON object, not %s", json_type_name(root));
        json_decref(root);
        return NULL;
    }
    return root;
}

static bool check_known_fields(const json_t *root, const char *const *known, size_t known_count,
                               gateway_request_error_t *err)
{
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)root, key, value)
    {
        bool found = false;
        for (size_t i = 0; i < known_count && !found; i++)
            found = strcmp(key, known[i]) == 0;
        if (!found) {
            gateway_request_fail(err, 400, "unknown_field", key, "unknown field \"%.64s\"", key);
            return false;
        }
    }
    return true;
}

typedef enum { FIELD_ABSENT, FIELD_SET, FIELD_BAD } field_result_t;

/* A string field: absent (or null when optional), set, or bad (err filled). */
static field_result_t get_text_field(const json_t *root, const char *name, bool required,
                                     size_t max_len, char *dst, size_t dst_size,
                                     gateway_request_error_t *err)
{
    assert(max_len < dst_size);
    const json_t *value = json_object_get(root, name);
    if (!value || (!required && json_is_null(value))) {
        if (required) {
            gateway_request_fail(err, 400, "missing_field", name, "%s is required", name);
            return FIELD_BAD;
        }
        return FIELD_ABSENT;
    }
    if (!json_is_string(value)) {
        gateway_request_fail(err, 400, "invalid_field", name, "%s must be a string, not %s", name,
                             json_type_name(value));
        return FIELD_BAD;
    }
    size_t len = json_string_length(value);
    if (len > max_len) {
        gateway_request_fail(err, 400, "invalid_field", name, "%s is longer than %zu bytes", name,
                             max_len);
        return FIELD_BAD;
    }
    memcpy(dst, json_string_value(value), len + 1);
    return FIELD_SET;
}

static bool get_account_id(const json_t *root, const char *name, char *dst, size_t dst_size,
                           gateway_request_error_t *err)
{
    field_result_t r = get_text_field(root, name, true, PROTO_ACCOUNT_ID_MAX, dst, dst_size, err);
    if (r == FIELD_BAD)
        return false;
    if (!proto_account_id_valid_str(dst)) {
        gateway_request_fail(
            err, 400, "invalid_field", name,
            "%s must be an account id: 1 to %d characters of a-z, 0-9, '_' and '-'", name,
            PROTO_ACCOUNT_ID_MAX);
        return false;
    }
    return true;
}

static bool get_currency(const json_t *root, char *dst, size_t dst_size,
                         gateway_request_error_t *err)
{
    char text[CURRENCY_TEXT_MAX + 1];
    field_result_t r =
        get_text_field(root, "currency", false, CURRENCY_TEXT_MAX, text, sizeof text, err);
    if (r == FIELD_BAD)
        return false;
    if (r == FIELD_ABSENT) {
        snprintf(dst, dst_size, "%s", GATEWAY_CURRENCY_DEFAULT);
        return true;
    }
    if (!proto_currency_valid(text)) {
        gateway_request_fail(
            err, 400, "invalid_field", "currency",
            "currency must be a 3-letter upper-case ISO 4217 code such as \"GBP\"");
        return false;
    }
    assert(dst_size > PROTO_CURRENCY_LEN);
    memcpy(dst, text, PROTO_CURRENCY_LEN + 1);
    return true;
}

/* A decimal amount text ("12.34") in `currency`'s minor units; false with `err` filled. */
static bool amount_from_text(const json_t *value, const char *name, const char *currency,
                             int64_t *out, gateway_request_error_t *err)
{
    const currency_t *c = currency_find(currency);
    if (!c) {
        gateway_request_fail(err, 422, "unknown_currency", "currency",
                             "%s is not a currency of this ledger (GET /api/currencies lists them)",
                             currency);
        return false;
    }
    int64_t minor = 0;
    if (json_string_length(value) > MONEY_INPUT_MAX ||
        strlen(json_string_value(value)) != json_string_length(value) ||
        money_parse_decimal(json_string_value(value), c->exponent, &minor) != LEDGER_OK) {
        gateway_request_fail(err, 400, "invalid_field", name,
                             "%s must be an integer of minor units or a decimal text of %s "
                             "with at most %u decimals (e.g. \"12.34\")",
                             name, c->code, (unsigned)c->exponent);
        return false;
    }
    *out = minor;
    return true;
}

/*  An amount field with a lower bound (1 for transfers): a JSON integer of minor units, or,
    when `currency` is given (a code of the table), a decimal text in its major units. */
static field_result_t get_amount_in(const json_t *root, const char *name, bool required,
                                    int64_t min, const char *currency, int64_t *out,
                                    gateway_request_error_t *err)
{
    const json_t *value = json_object_get(root, name);
    if (!value || (!required && json_is_null(value))) {
        if (required) {
            gateway_request_fail(err, 400, "missing_field", name,
                                 "%s is required: an integer number of minor units (pence)", name);
            return FIELD_BAD;
        }
        return FIELD_ABSENT;
    }
    int64_t amount = 0;
    if (json_is_string(value) && currency) {
        if (!amount_from_text(value, name, currency, &amount, err))
            return FIELD_BAD;
    } else if (json_is_integer(value)) {
        amount = (int64_t)json_integer_value(value);
    } else {
        gateway_request_fail(
            err, 400, "invalid_field", name,
            "%s must be an integer number of minor units (e.g. 1050 for 10.50), not %s", name,
            json_type_name(value));
        return FIELD_BAD;
    }
    if (amount < min) {
        gateway_request_fail(err, 400, "invalid_field", name, "%s must be %s", name,
                             min > 0 ? "greater than zero" : "zero or more");
        return FIELD_BAD;
    }
    *out = amount;
    return FIELD_SET;
}

/* An integer amount field of minor units with a lower bound, no decimal text (limits; inline:
   no warning while no parser of this file takes one). */
static inline field_result_t get_amount(const json_t *root, const char *name, bool required,
                                        int64_t min, int64_t *out, gateway_request_error_t *err)
{
    return get_amount_in(root, name, required, min, NULL, out, err);
}

/* 422 unknown_currency unless `code` (well-formed) is in the currency table. */
static bool currency_known(const char *code, gateway_request_error_t *err)
{
    if (currency_find(code))
        return true;
    gateway_request_fail(err, 422, "unknown_currency", "currency",
                         "%s is not a currency of this ledger (GET /api/currencies lists them)",
                         code);
    return false;
}

/* A refusal (err filled by gateway_request_fail) as a getter's false. */
static bool refuse(ledger_err_t failed)
{
    assert(failed == LEDGER_E_INVALID);
    return false;
}

/* "capture" ("auto" | "manual", default auto) and "expires_in_s" (manual only). */
static bool get_capture(const json_t *root, gateway_transfer_request_t *req,
                        gateway_request_error_t *err)
{
    char text[8];
    field_result_t r =
        get_text_field(root, "capture", false, sizeof text - 1, text, sizeof text, err);
    if (r == FIELD_BAD)
        return false;
    if (r == FIELD_SET && proto_capture_from_name(text, strlen(text), &req->capture) != LEDGER_OK)
        return refuse(gateway_request_fail(err, 400, "invalid_field", "capture",
                                           "capture must be \"auto\" or \"manual\""));
    const json_t *value = json_object_get(root, "expires_in_s");
    if (!value || json_is_null(value)) {
        req->expires_in_s = req->capture == PROTO_CAPTURE_MANUAL ? GATEWAY_EXPIRES_IN_DEFAULT_S : 0;
        return true;
    }
    if (req->capture != PROTO_CAPTURE_MANUAL)
        return refuse(gateway_request_fail(err, 400, "invalid_field", "expires_in_s",
                                           "expires_in_s is only for \"capture\": \"manual\""));
    if (!json_is_integer(value) || json_integer_value(value) < GATEWAY_EXPIRES_IN_MIN_S ||
        json_integer_value(value) > GATEWAY_EXPIRES_IN_MAX_S)
        return refuse(gateway_request_fail(err, 400, "invalid_field", "expires_in_s",
                                           "expires_in_s must be an integer from %u to %u seconds",
                                           GATEWAY_EXPIRES_IN_MIN_S, GATEWAY_EXPIRES_IN_MAX_S));
    req->expires_in_s = (uint32_t)json_integer_value(value);
    return true;
}

ledger_err_t gateway_request_parse_transfer(const char *body, size_t len,
                                            gateway_transfer_request_t *out,
                                            gateway_request_error_t *err)
{
    assert(out && err);
    json_t *root = load_object(body, len, "amount", err);
    if (!root)
        return LEDGER_E_INVALID;
    ledger_err_t result = gateway_request_transfer_from_json(root, out, err);
    json_decref(root);
    return result;
}

ledger_err_t gateway_request_transfer_from_json(const json_t *root, gateway_transfer_request_t *out,
                                                gateway_request_error_t *err)
{
    assert(root && out && err);
    static const char *const known[] = {"from",      "to",      "amount",      "currency",
                                        "reference", "capture", "expires_in_s"};
    gateway_transfer_request_t req;
    memset(&req, 0, sizeof req);
    if (!json_is_object(root))
        return gateway_request_fail(err, 400, "invalid_json", NULL,
                                    "a transfer must be a JSON object, not %s",
                                    json_type_name(root));
    bool ok =
        check_known_fields(root, known, sizeof known / sizeof known[0], err) &&
        get_account_id(root, "from", req.from, sizeof req.from, err) &&
        get_account_id(root, "to", req.to, sizeof req.to, err) &&
        get_currency(root, req.currency, sizeof req.currency, err) &&
        get_amount_in(root, "amount", true, 1, req.currency, &req.amount_minor, err) == FIELD_SET &&
        get_text_field(root, "reference", false, PROTO_REFERENCE_MAX, req.reference,
                       sizeof req.reference, err) != FIELD_BAD &&
        get_capture(root, &req, err);
    if (!ok)
        return LEDGER_E_INVALID;
    if (!gateway_view_text_valid(req.reference))
        return gateway_request_fail(err, 400, "invalid_field", "reference",
                                    "reference must be text without control characters");
    if (strcmp(req.from, req.to) == 0)
        return gateway_request_fail(
            err, 422, "same_account", "to",
            "from and to are the same account: a transfer needs two accounts");
    if (!currency_known(req.currency, err))
        return LEDGER_E_INVALID;
    if (req.capture == PROTO_CAPTURE_MANUAL &&
        gateway_view_record_kind(&req) != PROTO_TRANSFER_KIND_TRANSFER)
        return gateway_request_fail(err, 422, "invalid_field", "capture",
                                    "only a transfer between customer accounts is authorised "
                                    "and captured; a withdrawal settles at once");
    *out = req;
    return LEDGER_OK;
}

ledger_err_t gateway_request_parse_account(const char *body, size_t len,
                                           gateway_request_account_t *out,
                                           gateway_request_error_t *err)
{
    assert(out && err);
    static const char *const known[] = {"id", "name", "currency", "owner"};
    gateway_request_account_t req;
    memset(&req, 0, sizeof req);
    json_t *root = load_object(body, len, "opening_balance", err);
    if (!root)
        return LEDGER_E_INVALID;
    /* Named before the unknown keys: a client of the old API learns what replaced it. */
    if (json_object_get(root, "opening_balance")) {
        json_decref(root);
        return gateway_request_fail(err, 400, "opening_balance_removed", "opening_balance",
                                    "accounts open at zero: no request creates money; put money "
                                    "in with POST /api/deposits (operators)");
    }
    bool ok = check_known_fields(root, known, sizeof known / sizeof known[0], err) &&
              get_account_id(root, "id", req.id, sizeof req.id, err) &&
              get_text_field(root, "name", true, PROTO_NAME_MAX, req.name, sizeof req.name, err) ==
                  FIELD_SET &&
              get_currency(root, req.currency, sizeof req.currency, err) &&
              get_account_id(root, "owner", req.owner, sizeof req.owner, err);
    json_decref(root);
    if (!ok)
        return LEDGER_E_INVALID;
    if (req.name[0] == '\0' || !gateway_view_text_valid(req.name))
        return gateway_request_fail(err, 400, "invalid_field", "name",
                                    "name must be 1 to %d bytes of text without control characters",
                                    PROTO_NAME_MAX);
    *out = req;
    return LEDGER_OK;
}

ledger_err_t gateway_request_check_idempotency_key(const char *value, unsigned count,
                                                   gateway_request_error_t *err)
{
    assert(err);
    if (!value || count == 0)
        return gateway_request_fail(
            err, 400, "missing_idempotency_key", "Idempotency-Key",
            "the Idempotency-Key header is required: a unique value per transfer, "
            "reused only to retry that same transfer");
    if (count > 1)
        return gateway_request_fail(err, 400, "invalid_idempotency_key", "Idempotency-Key",
                                    "send the Idempotency-Key header once");
    if (!gateway_view_idempotency_key_valid(value, strlen(value)))
        return gateway_request_fail(
            err, 400, "invalid_idempotency_key", "Idempotency-Key",
            "the Idempotency-Key must be 1 to %d visible ASCII characters (no spaces)",
            GATEWAY_IDEMPOTENCY_KEY_MAX);
    return LEDGER_OK;
}

/* Decimal digits only, no sign, no leading '+', value fits in uint64. */
ledger_err_t gateway_request_parse_limit(const char *value, uint32_t default_limit,
                                         uint32_t max_limit, uint32_t *out,
                                         gateway_request_error_t *err)
{
    assert(out && err);
    if (!value) {
        *out = default_limit;
        return LEDGER_OK;
    }
    uint64_t limit;
    if (!text_parse_u64(value, &limit) || limit < 1 || limit > max_limit)
        return gateway_request_fail(err, 400, "invalid_query", "limit",
                                    "limit must be an integer from 1 to %u", (unsigned)max_limit);
    *out = (uint32_t)limit;
    return LEDGER_OK;
}

bool gateway_request_content_type_is_json(const char *value)
{
    static const char media[] = "application/json";
    if (!value)
        return false;
    while (*value == ' ' || *value == '\t')
        value++;
    if (strncasecmp(value, media, sizeof media - 1) != 0)
        return false;
    char next = value[sizeof media - 1];
    return next == '\0' || next == ';' || next == ' ' || next == '\t';
}

ledger_err_t gateway_request_parse_money(const char *body, size_t len, gateway_request_money_t *out,
                                         gateway_request_error_t *err)
{
    assert(out && err);
    static const char *const known[] = {"account", "amount", "currency", "reference"};
    gateway_request_money_t req;
    memset(&req, 0, sizeof req);
    json_t *root = load_object(body, len, "amount", err);
    if (!root)
        return LEDGER_E_INVALID;
    bool ok =
        check_known_fields(root, known, sizeof known / sizeof known[0], err) &&
        get_account_id(root, "account", req.account, sizeof req.account, err) &&
        get_currency(root, req.currency, sizeof req.currency, err) &&
        get_amount_in(root, "amount", true, 1, req.currency, &req.amount_minor, err) == FIELD_SET &&
        get_text_field(root, "reference", false, PROTO_REFERENCE_MAX, req.reference,
                       sizeof req.reference, err) != FIELD_BAD;
    json_decref(root);
    if (!ok)
        return LEDGER_E_INVALID;
    if (!gateway_view_text_valid(req.reference))
        return gateway_request_fail(err, 400, "invalid_field", "reference",
                                    "reference must be text without control characters");
    if (!currency_known(req.currency, err))
        return LEDGER_E_INVALID;
    *out = req;
    return LEDGER_OK;
}

/* --- account routes (issue 21): PATCH /api/accounts/{id}, times in query values --- */

ledger_err_t gateway_request_parse_account_patch(const char *body, size_t len,
                                                 gateway_request_account_patch_t *out,
                                                 gateway_request_error_t *err)
{
    assert(out && err);
    static const char *const known[] = {"status", "overdraft_limit"};
    gateway_request_account_patch_t req = {.status = "", .overdraft_limit_minor = -1};
    json_t *root = load_object(body, len, "overdraft_limit", err);
    if (!root)
        return LEDGER_E_INVALID;
    bool ok = check_known_fields(root, known, sizeof known / sizeof known[0], err);
    field_result_t status = FIELD_ABSENT, limit = FIELD_ABSENT;
    if (ok)
        status = get_text_field(root, "status", false, PROTO_STATUS_MAX, req.status,
                                sizeof req.status, err);
    if (ok && status != FIELD_BAD)
        limit = get_amount(root, "overdraft_limit", false, 0, &req.overdraft_limit_minor, err);
    json_decref(root);
    if (!ok || status == FIELD_BAD || limit == FIELD_BAD)
        return LEDGER_E_INVALID;
    if (status == FIELD_ABSENT && limit == FIELD_ABSENT)
        return gateway_request_fail(err, 400, "missing_field", NULL,
                                    "send status, overdraft_limit or both");
    if (status == FIELD_SET && !proto_account_status_valid(req.status))
        return gateway_request_fail(err, 400, "invalid_field", "status",
                                    "status must be active, frozen or closed");
    if (limit == FIELD_SET && req.overdraft_limit_minor > PROTO_OVERDRAFT_MAX_MINOR)
        return gateway_request_fail(err, 400, "invalid_field", "overdraft_limit",
                                    "overdraft_limit must be an integer from 0 to %lld minor units",
                                    (long long)PROTO_OVERDRAFT_MAX_MINOR);
    *out = req;
    return LEDGER_OK;
}

/* `n` decimal digits of text at *p into *out (advancing *p); false if any is not a digit. */
static bool take_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return true;
}

/* Days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar (H. Hinnant's algorithm). */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = y / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* The zone of an RFC 3339 time at p: "Z" or "+hh:mm" / "-hh:mm", as seconds east of UTC. */
static bool take_zone(const char *p, int64_t *offset_s)
{
    int hh, mm;
    if ((p[0] == 'Z' || p[0] == 'z') && p[1] == '\0') {
        *offset_s = 0;
        return true;
    }
    if (p[0] != '+' && p[0] != '-')
        return false;
    int sign = p[0] == '-' ? -1 : 1;
    p++;
    if (!take_digits(&p, 2, &hh) || *p++ != ':' || !take_digits(&p, 2, &mm) || *p != '\0' ||
        hh > 23 || mm > 59)
        return false;
    *offset_s = sign * (int64_t)(hh * 3600 + mm * 60);
    return true;
}

/* RFC 3339 date-time text to unix ms (fractions past ms are cut); false if it is not one. */
static bool parse_rfc3339(const char *p, int64_t *ms_out)
{
    int y, mo, d, h, mi, s, ms = 0;
    if (!take_digits(&p, 4, &y) || *p++ != '-' || !take_digits(&p, 2, &mo) || *p++ != '-' ||
        !take_digits(&p, 2, &d) || (*p != 'T' && *p != 't'))
        return false;
    p++;
    if (!take_digits(&p, 2, &h) || *p++ != ':' || !take_digits(&p, 2, &mi) || *p++ != ':' ||
        !take_digits(&p, 2, &s))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 59)
        return false;
    if (*p == '.') {
        int digits = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, digits++)
            if (digits < 3)
                ms = ms * 10 + (*p - '0');
        if (digits == 0 || digits > 9)
            return false;
        for (; digits < 3; digits++)
            ms *= 10;
    }
    int64_t offset_s;
    if (!take_zone(p, &offset_s))
        return false;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset_s;
    *ms_out = secs * 1000 + ms;
    return true;
}

ledger_err_t gateway_request_parse_time(const char *value, const char *field, uint64_t *ms_out,
                                        gateway_request_error_t *err)
{
    assert(value && field && ms_out && err);
    int64_t ms = 0;
    if (strlen(value) > GATEWAY_REQUEST_TIME_MAX || !parse_rfc3339(value, &ms) || ms < 0 ||
        (uint64_t)ms > PROTO_TS_MAX_MS)
        return gateway_request_fail(err, 400, "invalid_query", field,
                                    "%s must be an RFC 3339 time between 1970 and 9999, e.g. "
                                    "2026-12-01T00:00:00Z",
                                    field);
    *ms_out = (uint64_t)ms;
    return LEDGER_OK;
}

ledger_err_t gateway_request_parse_action(const char *body, size_t len, gateway_view_act_t act,
                                          const char *currency, gateway_view_action_t *out,
                                          gateway_request_error_t *err)
{
    assert(out && err && currency);
    static const char *const known[] = {"amount", "reference"};
    /* void: no key; capture: amount; refund: amount and reference. */
    size_t known_count = act == GATEWAY_VIEW_ACT_VOID ? 0 : act == GATEWAY_VIEW_ACT_CAPTURE ? 1 : 2;
    out->amount_minor = 0;
    out->reference[0] = '\0';
    if (len == 0)
        return LEDGER_OK; /* every field is optional: no body is {} */
    json_t *root = load_object(body, len, "amount", err);
    if (!root)
        return LEDGER_E_INVALID;
    bool ok =
        check_known_fields(root, known, known_count, err) &&
        get_amount_in(root, "amount", false, 1, currency, &out->amount_minor, err) != FIELD_BAD &&
        get_text_field(root, "reference", false, PROTO_REFERENCE_MAX, out->reference,
                       sizeof out->reference, err) != FIELD_BAD;
    json_decref(root);
    if (!ok)
        return LEDGER_E_INVALID;
    if (!gateway_view_text_valid(out->reference))
        return gateway_request_fail(err, 400, "invalid_field", "reference",
                                    "reference must be text without control characters");
    return LEDGER_OK;
}

/*  gateway_request.h: validation of the gateway's HTTP requests, as pure functions.

    What it does: turns request bodies, headers and query values into
    validated structs, or into the error the API answers
    ({"error":{"code","message","field"}} with an HTTP status). It owns
    nothing: no sockets, no store, no clock, no allocation that outlives a
    call. The HTTP server (gateway_http.h), the batch endpoint
    (gateway_batch.h) and the fuzz target are its callers.

    The wire's rules (account ids, currencies, UTF-8) are proto's
    (proto_account_id_valid_str, proto_currency_valid); text without control
    characters and idempotency keys are gateway_view's. This module only says
    which rule a field obeys and how a refusal reads.

    Errors: every parser returns LEDGER_OK and fills its out-parameter, or
    LEDGER_E_INVALID and fills a gateway_request_error_t with the first
    problem found. The message is always valid UTF-8 (JSON text).

    Threads: every function is safe on any thread (no shared state).
*/
#ifndef LEDGER_GATEWAY_REQUEST_H
#define LEDGER_GATEWAY_REQUEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "gateway_view.h"
#include "ledger_err.h"
#include "proto.h"

#define GATEWAY_REQUEST_ERROR_CODE_MAX 48     /* bytes of an error code */
#define GATEWAY_REQUEST_ERROR_MESSAGE_MAX 256 /* bytes of an error message */
#define GATEWAY_REQUEST_ERROR_FIELD_MAX 64    /* bytes of the field named by an error */

/* Why a request was refused: the HTTP status and the error object's fields. */
typedef struct {
    unsigned http_status;
    char code[GATEWAY_REQUEST_ERROR_CODE_MAX + 1];
    char message[GATEWAY_REQUEST_ERROR_MESSAGE_MAX + 1];
    char field[GATEWAY_REQUEST_ERROR_FIELD_MAX + 1]; /* "" = no field */
} gateway_request_error_t;

/* An account to open, from POST /api/accounts. */
typedef struct {
    char id[PROTO_ACCOUNT_ID_MAX + 1];
    char name[PROTO_NAME_MAX + 1];
    char currency[PROTO_CURRENCY_LEN + 1];
    char owner[PROTO_ACCOUNT_ID_MAX + 1]; /* the principal that will own it (its id) */
} gateway_request_account_t;

/*  Fills `err` (status, code, field: NULL = none, printf-style message; both
    texts cut to their size, then made valid UTF-8) and returns
    LEDGER_E_INVALID, so a refusal reads `return gateway_request_fail(...)`. */
__attribute__((format(printf, 5, 6))) ledger_err_t
gateway_request_fail(gateway_request_error_t *err, unsigned status, const char *code,
                     const char *field, const char *fmt, ...);

/*  Parses and validates a POST /api/transfers body (`len` bytes, need not be
    NUL-terminated): a JSON object with the keys from, to, amount,
    currency (optional, default "GBP"; null = absent), reference (optional,
    default ""; null = absent), capture and expires_in_s (optional), no key twice.
      from, to      account ids (proto_account_id_valid_str)
      amount        a JSON integer 1..INT64_MAX in minor units (not 1.0), or a decimal
                    text in major units with at most the currency's exponent of decimals
                    (money_parse_decimal: "12.34" GBP = 1234, "1234" JPY = 1234)
      currency      3 upper-case letters (proto_currency_valid) of the currency table
                    (core/currency.h)
      reference     text of at most PROTO_REFERENCE_MAX bytes of UTF-8, no control characters
      capture       "auto" (default) | "manual"
      expires_in_s  manual only: GATEWAY_EXPIRES_IN_MIN_S..MAX_S, default 7 days
    The first problem found is reported: 400 invalid_json (empty, malformed,
    a duplicate key, not an object), 400 unknown_field, 400 missing_field,
    400 invalid_field (wrong type or value; a number too large for int64
    anywhere in the body is reported against "amount"), 422 same_account
    (field "to"), 422 unknown_currency (field "currency"). Returns LEDGER_OK and fills `out`, or
   LEDGER_E_INVALID and fills `err`. */
ledger_err_t gateway_request_parse_transfer(const char *body, size_t len,
                                            gateway_transfer_request_t *out,
                                            gateway_request_error_t *err);

/*  The same validation over an already parsed JSON value (one item of
    POST /api/transfers/batch, see gateway_batch.h): `root` must be an object
    with exactly the keys above (400 invalid_json otherwise). Same errors. */
ledger_err_t gateway_request_transfer_from_json(const json_t *root, gateway_transfer_request_t *out,
                                                gateway_request_error_t *err);

/*  Parses and validates a POST /api/accounts body: keys id (account id), name
    (1..PROTO_NAME_MAX bytes of UTF-8, no control characters), currency
    (optional, default "GBP"), owner (required: a principal id, the
    account-id rule; whether that principal exists is the caller's check). An
    account opens at zero: no request creates money. A body with the key
    opening_balance (whatever its value) is refused 400
    opening_balance_removed, field "opening_balance" (money comes in by POST
    /api/deposits). Otherwise errors as for transfers. */
ledger_err_t gateway_request_parse_account(const char *body, size_t len,
                                           gateway_request_account_t *out,
                                           gateway_request_error_t *err);

/*  Checks the Idempotency-Key header value (`value` NULL = header absent,
    `count` = how many times the header was sent): 400
    missing_idempotency_key, or 400 invalid_idempotency_key (empty, longer
    than GATEWAY_IDEMPOTENCY_KEY_MAX, a character outside 0x21..0x7E, sent
    more than once). */
ledger_err_t gateway_request_check_idempotency_key(const char *value, unsigned count,
                                                   gateway_request_error_t *err);

/*  Parses a "limit" query value: NULL = `default_limit`; otherwise decimal
    digits only, 1..`max_limit`. LEDGER_E_INVALID (400 invalid_query, field
    "limit") otherwise. */
ledger_err_t gateway_request_parse_limit(const char *value, uint32_t default_limit,
                                         uint32_t max_limit, uint32_t *out,
                                         gateway_request_error_t *err);

/*  True if the Content-Type value names application/json (case-insensitive,
    parameters such as "; charset=utf-8" allowed). False for NULL. */
bool gateway_request_content_type_is_json(const char *value);

/* A deposit or a withdrawal, from POST /api/deposits or POST /api/withdrawals. */
typedef struct {
    char account[PROTO_ACCOUNT_ID_MAX + 1];  /* the customer account credited or debited */
    int64_t amount_minor;                    /* > 0 */
    char currency[PROTO_CURRENCY_LEN + 1];   /* 3 upper-case letters */
    char reference[PROTO_REFERENCE_MAX + 1]; /* may be "" */
} gateway_request_money_t;

/*  Parses and validates a POST /api/deposits or /api/withdrawals body: a
    JSON object with exactly the keys account (an account id), amount (a JSON
    integer 1..INT64_MAX in minor units, or a decimal text by the currency's
    exponent, as for transfers; 422 unknown_currency likewise), currency (optional, default "GBP";
    null = absent) and reference (optional, default ""), with the transfer's
    rules for each. Errors as for transfers (400 invalid_json, unknown_field,
    missing_field, invalid_field; a number too large for int64 is reported
    against "amount"). */
ledger_err_t gateway_request_parse_money(const char *body, size_t len, gateway_request_money_t *out,
                                         gateway_request_error_t *err);

/* PATCH /api/accounts/{id}: what to change (issue 21). */
typedef struct {
    char status[PROTO_STATUS_MAX + 1]; /* "" unchanged, else a PROTO_ACCOUNT_STATUS_* */
    int64_t overdraft_limit_minor;     /* -1 unchanged, else 0..PROTO_OVERDRAFT_MAX_MINOR */
} gateway_request_account_patch_t;

/*  Parses and validates a PATCH /api/accounts/{id} body: a JSON object with
    the keys status (optional: "active", "frozen" or "closed") and
    overdraft_limit (optional: a JSON integer 0..PROTO_OVERDRAFT_MAX_MINOR
    in minor units; a decimal string is refused: limits are integers), at
    least one of them (null = absent). Errors: 400 invalid_json,
    unknown_field, missing_field (neither key), invalid_field (wrong type or
    value). */
ledger_err_t gateway_request_parse_account_patch(const char *body, size_t len,
                                                 gateway_request_account_patch_t *out,
                                                 gateway_request_error_t *err);

#define GATEWAY_REQUEST_TIME_MAX 40 /* bytes of an RFC 3339 query value */

/*  Parses a query value holding an RFC 3339 date-time ("2026-12-01T10:00:00Z",
    "2026-12-01T10:00:00.250+01:00"; a fraction past milliseconds is cut)
    into unix ms, from 1970 to PROTO_TS_MAX_MS. LEDGER_E_INVALID (400
    invalid_query, the error naming `field`) for anything else: a date
    without a time, no zone, day 31 of a 30-day month, leap seconds,
    longer than GATEWAY_REQUEST_TIME_MAX bytes. */
ledger_err_t gateway_request_parse_time(const char *value, const char *field, uint64_t *ms_out,
                                        gateway_request_error_t *err);

/*  Parses the body of POST /api/transfers/{id}/capture ({"amount"?}), /void ({}) or
    /refunds ({"amount"?, "reference"?}) for `act`, of a transfer in `currency` (its amount may
    be a decimal text of that currency, as for transfers). An empty body is {}. Fills
    out->amount_minor (0 when absent) and out->reference ("" when absent); the rest of `out`
    is untouched. Errors as for transfers (400 unknown_field for a key the action does not
    take). */
ledger_err_t gateway_request_parse_action(const char *body, size_t len, gateway_view_act_t act,
                                          const char *currency, gateway_view_action_t *out,
                                          gateway_request_error_t *err);

#endif

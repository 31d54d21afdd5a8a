/*  gateway_request_test.c: request validation (gateway_request.h) as pure functions:
    transfer and account bodies, the Idempotency-Key header, the limit query
    value and the Content-Type check. No store, no sockets.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "gateway_request.h"
#include "gateway_view.h"
#include "test_main.h"

typedef struct {
    const char *body;
    unsigned status;
    const char *code;
    const char *field;
} bad_case_t;

static void test_bad_transfer_bodies_are_refused_with_a_clear_error(void **state)
{
    (void)state;
    static const bad_case_t cases[] = {
        {"", 400, "invalid_json", ""},
        {"{", 400, "invalid_json", ""},
        {"not json", 400, "invalid_json", ""},
        {"[1,2]", 400, "invalid_json", ""},
        {"\"text\"", 400, "invalid_json", ""},
        {"{\"from\":\"alice\",\"from\":\"carol\",\"to\":\"bob\",\"amount\":5}", 400, "invalid_json",
         ""},
        {"{\"from\":\"alice\",\"to\":\"bob\",\"amount\":5,\"memo\":\"x\"}", 400, "unknown_field",
         "memo"},
        {"{\"to\":\"bob\",\"amount\":5}", 400, "missing_field", "from"},
        {"{\"from\":\"alice\",\"amount\":5}", 400, "missing_field", "to"},
        {"{\"from\":\"alice\",\"to\":\"bob\"}", 400, "missing_field", "amount"},
        {"{\"from\":\"alice\",\"to\":\"bob\",\"amount\":null}", 400, "invalid_field", "amount"},
        {"{\"from\":5,\"to\":\"bob\",\"amount\":5}", 400, "invalid_field", "from"},
        {"{\"from\":null,\"to\":\"bob\",\"amount\":5}", 400, "invalid_field", "from"},
        {"{\"from\":\"Alice\",\"to\":\"bob\",\"amount\":5}", 400, "invalid_field", "from"},
        {"{\"from\":\"\",\"to\":\"bob\",\"amount\":5}", 400, "invalid_field", "from"},
        {"{\"from\":\"alice\",\"to\":[\"bob\"],\"amount\":5}", 400, "invalid_field", "to"},
        {"{\"from\":\"alice\",\"to\":\"bob\",\"amount\":1.0}", 400, "invalid_field", "amount"},
        {"{\"from\":\"alice\",\"to\":\"bob\",\"amount\":1.5}", 400, "invalid_field", "amount"},
        {"{\"from\":\"alice\",\"to\":\"bob\",\"amount\":1e3}", 400, "invalid_field", "amount"},
        {"{\"from\":\"alice\",\"to\":\"bob\",\"amount\":\"1e5\"}", 400, "invalid_field", "amount"},
        {"{\"from\":\"alice\",\"to\":\"bob\",\"amount\":\"12.345\"}", 400, "invalid_field",
         "amount"},
        {"{\"from\":\"alice\",\"to\":\"bob\",\"amount\":\"-1.00\"}", 400, "invalid_field",
         "amount"},
        {"{\"from\":\"alice\",\"to\":\"bob\",\"amount\":\"0.00\"}", 400, "invalid_field", "amount"},
        {"{\"from\":\"alice\",\"to\":\"bob\",\"amount\":\"1.5\",\"currency\":\"JPY\"}", 400,
         "invalid_field", "amount"},
        {"{\"from\":\"alice\",\"to\":\"bob\",\"amount\":5,\"currency\":\"XYZ\"}", 422,
         "unknown_currency", "currency"},
        {"{\"from\":\"alice\",\"to\":\"bob\",\"amount\":\"5.00\",\"currency\":\"XYZ\"}", 422,
         "unknown_currency", "currency"},
        {"{\"from\":\"alice\",\"to\":\"bob\",\"amount\":5,\"capture\":\"later\"}", 400,
         "invalid_field", "capture"},
        {"{\"from\":\"alice\",\"to\":\"bob\",\"amount\":5,\"capture\":1}", 400, "invalid_field",
         "capture"},
        {"{\"from\":\"alice\",\"to\":\"bob\",\"amount\":5,\"expires_in_s\":600}", 400,
         "invalid_field", "expires_in_s"},
        {"{\"from\":\"alice\",\"to\":\"bob\",\"amount\":5,\"capture\":\"manual\","
         "\"expires_in_s\":0}",
         400, "invalid_field", "expires_in_s"},
        {"{\"from\":\"alice\",\"to\":\"funding\",\"amount\":5,\"capture\":\"manual\"}", 422,
         "invalid_field", "capture"},
        {"{\"from\":\"alice\",\"to\":\"bob\",\"amount\":5,\"capture\":\"manual\","
         "\"expires_in_s\":2592001}",
         400, "invalid_field", "expires_in_s"},
        {"{\"from\":\"alice\",\"to\":\"bob\",\"amount\":5,\"capture\":\"manual\","
         "\"expires_in_s\":\"600\"}",
         400, "invalid_field", "expires_in_s"},
        {"{\"from\":\"alice\",\"to\":\"bob\",\"amount\":true}", 400, "invalid_field", "amount"},
        {"{\"from\":\"alice\",\"to\":\"bob\",\"amount\":0}", 400, "invalid_field", "amount"},
        {"{\"from\":\"alice\",\"to\":\"bob\",\"amount\":-5}", 400, "invalid_field", "amount"},
        {"{\"from\":\"alice\",\"to\":\"bob\",\"amount\":9223372036854775808}", 400, "invalid_field",
         "amount"},
        {"{\"from\":\"alice\",\"to\":\"bob\",\"amount\":-9223372036854775809}", 400,
         "invalid_field", "amount"},
        {"{\"from\":\"alice\",\"to\":\"bob\",\"amount\":5,\"currency\":\"gbp\"}", 400,
         "invalid_field", "currency"},
        {"{\"from\":\"alice\",\"to\":\"bob\",\"amount\":5,\"currency\":\"GBPX\"}", 400,
         "invalid_field", "currency"},
        {"{\"from\":\"alice\",\"to\":\"bob\",\"amount\":5,\"currency\":826}", 400, "invalid_field",
         "currency"},
        {"{\"from\":\"alice\",\"to\":\"bob\",\"amount\":5,\"reference\":7}", 400, "invalid_field",
         "reference"},
        {"{\"from\":\"alice\",\"to\":\"bob\",\"amount\":5,\"reference\":\"a\\nb\"}", 400,
         "invalid_field", "reference"},
        {"{\"from\":\"alice\",\"to\":\"bob\",\"amount\":5,\"reference\":\"a\\u0000b\"}", 400,
         "invalid_json", ""},
        {"{\"from\":\"alice\",\"to\":\"alice\",\"amount\":5}", 422, "same_account", "to"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gateway_transfer_request_t req;
        gateway_request_error_t err;
        memset(&err, 0, sizeof err);
        ledger_err_t rc =
            gateway_request_parse_transfer(cases[i].body, strlen(cases[i].body), &req, &err);
        if (rc != LEDGER_E_INVALID || err.http_status != cases[i].status ||
            strcmp(err.code, cases[i].code) != 0 || strcmp(err.field, cases[i].field) != 0)
            fail_msg("case %zu %s: got %d %u %s field '%s' (%s)", i, cases[i].body, (int)rc,
                     err.http_status, err.code, err.field, err.message);
        assert_true(err.message[0] != '\0');
        assert_true(gateway_view_text_valid(err.message));
    }
}

static void test_long_reference_is_refused(void **state)
{
    (void)state;
    char body[512];
    char reference[PROTO_REFERENCE_MAX + 2];
    memset(reference, 'r', sizeof reference);
    reference[PROTO_REFERENCE_MAX + 1] = '\0';
    snprintf(body, sizeof body,
             "{\"from\":\"alice\",\"to\":\"bob\",\"amount\":5,\"reference\":\"%s\"}", reference);
    gateway_transfer_request_t req;
    gateway_request_error_t err;
    assert_int_equal(gateway_request_parse_transfer(body, strlen(body), &req, &err),
                     LEDGER_E_INVALID);
    assert_string_equal(err.field, "reference");
    reference[PROTO_REFERENCE_MAX] = '\0'; /* exactly at the limit */
    snprintf(body, sizeof body,
             "{\"from\":\"alice\",\"to\":\"bob\",\"amount\":5,\"reference\":\"%s\"}", reference);
    assert_int_equal(gateway_request_parse_transfer(body, strlen(body), &req, &err), LEDGER_OK);
    assert_int_equal(strlen(req.reference), PROTO_REFERENCE_MAX);
}

static void test_good_transfer_bodies_parse_with_defaults(void **state)
{
    (void)state;
    gateway_transfer_request_t a, b;
    gateway_request_error_t err;
    const char *minimal = "{\"from\":\"alice\",\"to\":\"bob\",\"amount\":1050}";
    assert_int_equal(gateway_request_parse_transfer(minimal, strlen(minimal), &a, &err), LEDGER_OK);
    assert_string_equal(a.from, "alice");
    assert_string_equal(a.to, "bob");
    assert_int_equal(a.amount_minor, 1050);
    assert_string_equal(a.currency, "GBP");
    assert_string_equal(a.reference, "");
    const char *full = " { \"reference\" : null, \"currency\":\"GBP\", \"amount\": 1050,"
                       " \"to\":\"bob\", \"from\":\"alice\" } ";
    assert_int_equal(gateway_request_parse_transfer(full, strlen(full), &b, &err), LEDGER_OK);
    /* The same transfer however it is written: the idempotency hash agrees. */
    uint8_t ha[GATEWAY_HASH_SIZE], hb[GATEWAY_HASH_SIZE];
    assert_int_equal(gateway_view_request_hash(&a, ha), LEDGER_OK);
    assert_int_equal(gateway_view_request_hash(&b, hb), LEDGER_OK);
    assert_memory_equal(ha, hb, sizeof ha);
    const char *max = "{\"from\":\"a\",\"to\":\"b\",\"amount\":9223372036854775807,"
                      "\"reference\":\"caf\\u00e9\"}";
    assert_int_equal(gateway_request_parse_transfer(max, strlen(max), &a, &err), LEDGER_OK);
    assert_int_equal(a.amount_minor, INT64_MAX);
    assert_string_equal(a.reference, "caf\xc3\xa9");
}

/* Amount as a decimal text by the currency's exponent; capture and its expiry. */
static void test_decimal_amounts_and_manual_capture_parse(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        int64_t amount_minor;
        proto_capture_t capture;
        uint32_t expires_in_s;
    } cases[] = {
        {"{\"from\":\"a\",\"to\":\"b\",\"amount\":\"12.34\",\"currency\":\"EUR\"}", 1234,
         PROTO_CAPTURE_AUTO, 0},
        {"{\"from\":\"a\",\"to\":\"b\",\"amount\":\"12\"}", 1200, PROTO_CAPTURE_AUTO, 0},
        {"{\"from\":\"a\",\"to\":\"b\",\"amount\":\"1234\",\"currency\":\"JPY\"}", 1234,
         PROTO_CAPTURE_AUTO, 0},
        {"{\"from\":\"a\",\"to\":\"b\",\"amount\":\"0.005\",\"currency\":\"KWD\"}", 5,
         PROTO_CAPTURE_AUTO, 0},
        {"{\"from\":\"a\",\"to\":\"b\",\"amount\":77,\"capture\":\"manual\"}", 77,
         PROTO_CAPTURE_MANUAL, GATEWAY_EXPIRES_IN_DEFAULT_S},
        {"{\"from\":\"a\",\"to\":\"b\",\"amount\":77,\"capture\":\"manual\",\"expires_in_s\":60}",
         77, PROTO_CAPTURE_MANUAL, 60},
        {"{\"from\":\"a\",\"to\":\"b\",\"amount\":77,\"capture\":\"auto\"}", 77, PROTO_CAPTURE_AUTO,
         0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gateway_transfer_request_t req;
        gateway_request_error_t err;
        if (gateway_request_parse_transfer(cases[i].body, strlen(cases[i].body), &req, &err))
            fail_msg("case %zu %s: %s %s", i, cases[i].body, err.code, err.message);
        assert_int_equal(req.amount_minor, cases[i].amount_minor);
        assert_int_equal(req.capture, cases[i].capture);
        assert_int_equal(req.expires_in_s, cases[i].expires_in_s);
        assert_true(gateway_view_transfer_request_valid(&req));
    }
}

/* Deposits and withdrawals take decimal amounts and the currency table too. */
static void test_money_bodies_take_decimals_and_known_currencies(void **state)
{
    (void)state;
    gateway_request_money_t m;
    gateway_request_error_t err;
    const char *ok = "{\"account\":\"alice\",\"amount\":\"500.00\",\"currency\":\"EUR\"}";
    assert_int_equal(gateway_request_parse_money(ok, strlen(ok), &m, &err), LEDGER_OK);
    assert_int_equal(m.amount_minor, 50000);
    const char *unknown = "{\"account\":\"alice\",\"amount\":5,\"currency\":\"ABC\"}";
    assert_int_equal(gateway_request_parse_money(unknown, strlen(unknown), &m, &err),
                     LEDGER_E_INVALID);
    assert_int_equal(err.http_status, 422);
    assert_string_equal(err.code, "unknown_currency");
}

/* The bodies of capture, void and refunds. */
static void test_action_bodies_are_validated(void **state)
{
    (void)state;
    gateway_view_action_t a;
    gateway_request_error_t err;
    memset(&a, 0, sizeof a);
    assert_int_equal(gateway_request_parse_action("", 0, GATEWAY_VIEW_ACT_VOID, "GBP", &a, &err),
                     LEDGER_OK);
    assert_int_equal(a.amount_minor, 0);
    const char *amount = "{\"amount\":\"10.50\"}";
    assert_int_equal(gateway_request_parse_action(amount, strlen(amount), GATEWAY_VIEW_ACT_CAPTURE,
                                                  "GBP", &a, &err),
                     LEDGER_OK);
    assert_int_equal(a.amount_minor, 1050);
    assert_int_equal(gateway_request_parse_action(amount, strlen(amount), GATEWAY_VIEW_ACT_VOID,
                                                  "GBP", &a, &err),
                     LEDGER_E_INVALID);
    assert_string_equal(err.code, "unknown_field");
    const char *refund = "{\"amount\":250,\"reference\":\"sorry\"}";
    assert_int_equal(gateway_request_parse_action(refund, strlen(refund), GATEWAY_VIEW_ACT_REFUND,
                                                  "JPY", &a, &err),
                     LEDGER_OK);
    assert_int_equal(a.amount_minor, 250);
    assert_string_equal(a.reference, "sorry");
    assert_int_equal(gateway_request_parse_action(refund, strlen(refund), GATEWAY_VIEW_ACT_CAPTURE,
                                                  "GBP", &a, &err),
                     LEDGER_E_INVALID);
    assert_string_equal(err.field, "reference");
    const char *bad[] = {"{\"amount\":0}",
                         "{\"amount\":-5}",
                         "{\"amount\":\"1.234\"}",
                         "{\"amount\":1.5}",
                         "[]",
                         "{\"amount\":5,\"amount\":6}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(gateway_request_parse_action(bad[i], strlen(bad[i]),
                                                      GATEWAY_VIEW_ACT_REFUND, "GBP", &a, &err),
                         LEDGER_E_INVALID);
        assert_int_equal(err.http_status, 400);
    }
}

static void test_account_bodies_are_validated(void **state)
{
    (void)state;
    static const bad_case_t cases[] = {
        {"{\"name\":\"Ann\"}", 400, "missing_field", "id"},
        {"{\"id\":\"ann\"}", 400, "missing_field", "name"},
        {"{\"id\":\"ann\",\"name\":\"\",\"owner\":\"ann\"}", 400, "invalid_field", "name"},
        {"{\"id\":\"Ann\",\"name\":\"Ann\"}", 400, "invalid_field", "id"},
        /* No request creates money: an opening balance is refused whatever its value. */
        {"{\"id\":\"ann\",\"name\":\"Ann\",\"owner\":\"ann\",\"opening_balance\":5000}", 400,
         "opening_balance_removed", "opening_balance"},
        {"{\"id\":\"ann\",\"name\":\"Ann\",\"owner\":\"ann\",\"opening_balance\":0}", 400,
         "opening_balance_removed", "opening_balance"},
        {"{\"opening_balance\":-1,\"bogus\":1}", 400, "opening_balance_removed", "opening_balance"},
        {"{\"id\":\"ann\",\"name\":\"Ann\",\"owner\":\"ann\",\"opening_balance\":"
         "99999999999999999999}",
         400, "invalid_field", "opening_balance"},
        {"{\"id\":\"ann\",\"name\":\"Ann\",\"balance\":5}", 400, "unknown_field", "balance"},
        {"{\"id\":\"ann\",\"name\":\"Ann\"}", 400, "missing_field", "owner"},
        {"{\"id\":\"ann\",\"name\":\"Ann\",\"owner\":\"Ann\"}", 400, "invalid_field", "owner"},
        {"{\"id\":\"ann\",\"name\":\"Ann\",\"owner\":7}", 400, "invalid_field", "owner"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gateway_request_account_t req;
        gateway_request_error_t err;
        memset(&err, 0, sizeof err);
        ledger_err_t rc =
            gateway_request_parse_account(cases[i].body, strlen(cases[i].body), &req, &err);
        if (rc != LEDGER_E_INVALID || err.http_status != cases[i].status ||
            strcmp(err.code, cases[i].code) != 0 || strcmp(err.field, cases[i].field) != 0)
            fail_msg("case %zu %s: got %d %u %s field '%s' (%s)", i, cases[i].body, (int)rc,
                     err.http_status, err.code, err.field, err.message);
    }
    gateway_request_account_t req;
    gateway_request_error_t err;
    const char *ok = "{\"id\":\"ann\",\"name\":\"Ann Lee\",\"owner\":\"ann-lee\"}";
    assert_int_equal(gateway_request_parse_account(ok, strlen(ok), &req, &err), LEDGER_OK);
    assert_string_equal(req.id, "ann");
    assert_string_equal(req.name, "Ann Lee");
    assert_string_equal(req.currency, "GBP");
    assert_string_equal(req.owner, "ann-lee");
}

static void test_idempotency_key_rules(void **state)
{
    (void)state;
    gateway_request_error_t err;
    assert_int_equal(gateway_request_check_idempotency_key("abc-123_XYZ.~!", 1, &err), LEDGER_OK);
    assert_int_equal(gateway_request_check_idempotency_key(NULL, 0, &err), LEDGER_E_INVALID);
    assert_string_equal(err.code, "missing_idempotency_key");
    assert_int_equal(err.http_status, 400);
    assert_string_equal(err.field, "Idempotency-Key");
    const char *bad[] = {"", "has space", "tab\t", "caf\xc3\xa9", "del\x7f"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(gateway_request_check_idempotency_key(bad[i], 1, &err), LEDGER_E_INVALID);
        assert_string_equal(err.code, "invalid_idempotency_key");
    }
    assert_int_equal(gateway_request_check_idempotency_key("a", 2, &err), LEDGER_E_INVALID);
    assert_string_equal(err.code, "invalid_idempotency_key");
    char key[GATEWAY_IDEMPOTENCY_KEY_MAX + 2];
    memset(key, 'k', sizeof key);
    key[GATEWAY_IDEMPOTENCY_KEY_MAX] = '\0';
    assert_int_equal(gateway_request_check_idempotency_key(key, 1, &err), LEDGER_OK);
    key[GATEWAY_IDEMPOTENCY_KEY_MAX] = 'k';
    key[GATEWAY_IDEMPOTENCY_KEY_MAX + 1] = '\0';
    assert_int_equal(gateway_request_check_idempotency_key(key, 1, &err), LEDGER_E_INVALID);
}

static void test_limit_and_content_type_rules(void **state)
{
    (void)state;
    gateway_request_error_t err;
    uint32_t limit = 0;
    assert_int_equal(gateway_request_parse_limit(NULL, 50, 200, &limit, &err), LEDGER_OK);
    assert_int_equal(limit, 50);
    assert_int_equal(gateway_request_parse_limit("200", 50, 200, &limit, &err), LEDGER_OK);
    assert_int_equal(limit, 200);
    const char *bad[] = {"", "0", "201", "-1", "+5", "5x", "1e2", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(gateway_request_parse_limit(bad[i], 50, 200, &limit, &err),
                         LEDGER_E_INVALID);
        assert_string_equal(err.code, "invalid_query");
        assert_string_equal(err.field, "limit");
    }
    assert_true(gateway_request_content_type_is_json("application/json"));
    assert_true(gateway_request_content_type_is_json("Application/JSON; charset=utf-8"));
    assert_false(gateway_request_content_type_is_json(NULL));
    assert_false(gateway_request_content_type_is_json("text/plain"));
    assert_false(gateway_request_content_type_is_json("application/jsonx"));
    assert_false(gateway_request_content_type_is_json("application/x-www-form-urlencoded"));
}

static void test_rfc_3339_times_parse_to_unix_ms(void **state)
{
    (void)state;
    gateway_request_error_t err;
    uint64_t ms = 0;
    assert_int_equal(gateway_request_parse_time("1970-01-01T00:00:00Z", "at", &ms, &err),
                     LEDGER_OK);
    assert_int_equal(ms, 0);
    assert_int_equal(gateway_request_parse_time("2023-11-14T22:13:20Z", "at", &ms, &err),
                     LEDGER_OK);
    assert_int_equal(ms, 1700000000000ULL);
    assert_int_equal(gateway_request_parse_time("2023-11-14t23:13:20.5+01:00", "at", &ms, &err),
                     LEDGER_OK);
    assert_int_equal(ms, 1700000000500ULL);
    assert_int_equal(
        gateway_request_parse_time("2023-11-14T21:13:20.123456789-01:00", "at", &ms, &err),
        LEDGER_OK);
    assert_int_equal(ms, 1700000000123ULL);
    assert_int_equal(gateway_request_parse_time("2024-02-29T00:00:00Z", "at", &ms, &err),
                     LEDGER_OK);
    assert_int_equal(gateway_request_parse_time("9999-12-31T23:59:59.999Z", "at", &ms, &err),
                     LEDGER_OK);
    assert_int_equal(ms, PROTO_TS_MAX_MS);
    static const char *const bad[] = {
        "",
        "2023-11-14",
        "2023-11-14T22:13:20",
        "2023-11-14 22:13:20Z",
        "2023-11-14T22:13Z",
        "2023-02-29T00:00:00Z",
        "2100-02-29T00:00:00Z",
        "2023-04-31T00:00:00Z",
        "2023-00-10T00:00:00Z",
        "2023-11-14T22:13:60Z",
        "2023-11-14T22:13:20.Z",
        "2023-11-14T22:13:20.1234567890Z",
        "2023-11-14T22:13:20+1:00",
        "2023-11-14T22:13:20+24:00",
        "2023-11-14T22:13:20Zjunk",
        "1969-12-31T23:59:59Z",
        "1970-01-01T00:00:00+00:01",
        "+2023-11-14T22:13:20Z",
        "2023-11-14T22:13:20.000000000000000000000000000000000Z",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (gateway_request_parse_time(bad[i], "from", &ms, &err) != LEDGER_E_INVALID)
            fail_msg("accepted %s", bad[i]);
        assert_int_equal(err.http_status, 400);
        assert_string_equal(err.code, "invalid_query");
        assert_string_equal(err.field, "from");
    }
}

static void test_account_patch_bodies(void **state)
{
    (void)state;
    gateway_request_error_t err;
    gateway_request_account_patch_t p;
    const char *body = "{\"status\":\"frozen\"}";
    assert_int_equal(gateway_request_parse_account_patch(body, strlen(body), &p, &err), LEDGER_OK);
    assert_string_equal(p.status, "frozen");
    assert_int_equal(p.overdraft_limit_minor, -1);
    body = "{\"overdraft_limit\":1000000000000000,\"status\":null}";
    assert_int_equal(gateway_request_parse_account_patch(body, strlen(body), &p, &err), LEDGER_OK);
    assert_string_equal(p.status, "");
    assert_int_equal(p.overdraft_limit_minor, PROTO_OVERDRAFT_MAX_MINOR);
    body = "{\"overdraft_limit\":null}";
    assert_int_equal(gateway_request_parse_account_patch(body, strlen(body), &p, &err),
                     LEDGER_E_INVALID);
    assert_string_equal(err.code, "missing_field");
    body = "{\"status\":\"FROZEN\"}";
    assert_int_equal(gateway_request_parse_account_patch(body, strlen(body), &p, &err),
                     LEDGER_E_INVALID);
    assert_string_equal(err.field, "status");
}

TEST_MAIN(cmocka_unit_test(test_bad_transfer_bodies_are_refused_with_a_clear_error),
          cmocka_unit_test(test_long_reference_is_refused),
          cmocka_unit_test(test_good_transfer_bodies_parse_with_defaults),
          cmocka_unit_test(test_decimal_amounts_and_manual_capture_parse),
          cmocka_unit_test(test_money_bodies_take_decimals_and_known_currencies),
          cmocka_unit_test(test_action_bodies_are_validated),
          cmocka_unit_test(test_account_bodies_are_validated),
          cmocka_unit_test(test_idempotency_key_rules),
          cmocka_unit_test(test_limit_and_content_type_rules),
          cmocka_unit_test(test_rfc_3339_times_parse_to_unix_ms),
          cmocka_unit_test(test_account_patch_bodies))

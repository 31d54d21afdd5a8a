/* money_test.c: overflow edges, parsing and formatting of minor units, with the exponent of
   every currency (money_parse_decimal, money_format_decimal). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "money.h"
#include "test_main.h"

static ledger_err_t parse(const char *text, int64_t *out)
{
    return money_parse(text, strlen(text), out);
}

static void test_add_detects_overflow_at_both_edges(void **state)
{
    (void)state;
    int64_t out = 7;
    assert_int_equal(money_add(INT64_MAX, 1, &out), LEDGER_E_OVERFLOW);
    assert_int_equal(out, 7);
    assert_int_equal(money_add(INT64_MIN, -1, &out), LEDGER_E_OVERFLOW);
    assert_int_equal(money_add(INT64_MAX - 1, 1, &out), LEDGER_OK);
    assert_true(out == INT64_MAX);
    assert_int_equal(money_add(-5, 3, &out), LEDGER_OK);
    assert_int_equal(out, -2);
}

static void test_sub_detects_overflow_at_both_edges(void **state)
{
    (void)state;
    int64_t out = 7;
    assert_int_equal(money_sub(INT64_MIN, 1, &out), LEDGER_E_OVERFLOW);
    assert_int_equal(money_sub(0, INT64_MIN, &out), LEDGER_E_OVERFLOW);
    assert_int_equal(out, 7);
    assert_int_equal(money_sub(INT64_MIN + 1, 1, &out), LEDGER_OK);
    assert_true(out == INT64_MIN);
}

static void test_parse_accepts_plain_amounts(void **state)
{
    (void)state;
    int64_t out = 0;
    assert_int_equal(parse("12.34", &out), LEDGER_OK);
    assert_int_equal(out, 1234);
    assert_int_equal(parse("12.3", &out), LEDGER_OK);
    assert_int_equal(out, 1230);
    assert_int_equal(parse("12", &out), LEDGER_OK);
    assert_int_equal(out, 1200);
    assert_int_equal(parse("0.05", &out), LEDGER_OK);
    assert_int_equal(out, 5);
    assert_int_equal(parse("0", &out), LEDGER_OK);
    assert_int_equal(out, 0);
    assert_int_equal(parse("-1.50", &out), LEDGER_OK);
    assert_int_equal(out, -150);
    assert_int_equal(parse("92233720368547758.07", &out), LEDGER_OK);
    assert_true(out == INT64_MAX);
    assert_int_equal(parse("-92233720368547758.08", &out), LEDGER_OK);
    assert_true(out == INT64_MIN);
}

static void test_parse_rejects_malformed_text(void **state)
{
    (void)state;
    const char *bad[] = {"",   "1.2.3", "-0", "-0.00", "1e5", "+1",   " 1",  "1 ", ".5",
                         "5.", "1.234", "-",  "abc",   "1,5", "0x10", "--1", "1-", "1..2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t out = 42;
        assert_int_equal(parse(bad[i], &out), LEDGER_E_INVALID);
        assert_int_equal(out, 42);
    }
}

static void test_parse_rejects_values_beyond_int64(void **state)
{
    (void)state;
    int64_t out = 42;
    assert_int_equal(parse("99999999999999999999", &out), LEDGER_E_OVERFLOW);
    assert_int_equal(parse("92233720368547758.08", &out), LEDGER_E_OVERFLOW);
    assert_int_equal(parse("-92233720368547758.09", &out), LEDGER_E_OVERFLOW);
    assert_int_equal(out, 42);
}

static void test_parse_reads_only_len_bytes(void **state)
{
    (void)state;
    int64_t out = 0;
    assert_int_equal(money_parse("12.34xyz", 5, &out), LEDGER_OK);
    assert_int_equal(out, 1234);
    assert_int_equal(money_parse(NULL, 0, &out), LEDGER_E_INVALID);
}

static void test_format_writes_two_decimals(void **state)
{
    (void)state;
    char buf[MONEY_TEXT_MAX];
    assert_string_equal(money_format(1234, buf), "12.34");
    assert_string_equal(money_format(5, buf), "0.05");
    assert_string_equal(money_format(0, buf), "0.00");
    assert_string_equal(money_format(-5, buf), "-0.05");
    assert_string_equal(money_format(INT64_MAX, buf), "92233720368547758.07");
    assert_string_equal(money_format(INT64_MIN, buf), "-92233720368547758.08");
}

static void test_format_then_parse_round_trips(void **state)
{
    (void)state;
    const int64_t values[] = {0, 1, -1, 99, 100, 123456789, INT64_MAX, INT64_MIN, -100};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char buf[MONEY_TEXT_MAX];
        int64_t back = 0;
        money_format(values[i], buf);
        assert_int_equal(parse(buf, &back), LEDGER_OK);
        assert_true(back == values[i]);
    }
}

/* ---------------------------------------------------------------------------
   money_parse_decimal / money_format_decimal: any currency's exponent.
*/
static void expect_decimal(const char *text, uint8_t exponent, int64_t expected)
{
    int64_t out = -7;
    ledger_err_t err = money_parse_decimal(text, exponent, &out);
    if (err != LEDGER_OK)
        fail_msg("\"%s\" exponent %u: %s", text, exponent, ledger_err_name(err));
    if (out != expected)
        fail_msg("\"%s\" exponent %u: %lld, expected %lld", text, exponent, (long long)out,
                 (long long)expected);
}

static void expect_decimal_refused(const char *text, uint8_t exponent, ledger_err_t expected)
{
    int64_t out = -7;
    ledger_err_t err = money_parse_decimal(text, exponent, &out);
    if (err != expected)
        fail_msg("\"%s\" exponent %u: %s, expected %s", text ? text : "(null)", exponent,
                 ledger_err_name(err), ledger_err_name(expected));
    assert_int_equal(out, -7); /* untouched */
}

static void test_parse_decimal_by_exponent(void **state)
{
    (void)state;
    expect_decimal("12.34", 2, 1234);
    expect_decimal("12.3", 2, 1230);
    expect_decimal("12", 2, 1200);
    expect_decimal("0.05", 2, 5);
    expect_decimal("0", 2, 0);
    expect_decimal("007.10", 2, 710);
    expect_decimal("1234", 0, 1234);
    expect_decimal("0", 0, 0);
    expect_decimal("0.005", 3, 5);
    expect_decimal("1.5", 3, 1500);
    expect_decimal("12.345", 3, 12345);
    expect_decimal("7", 3, 7000);
    expect_decimal("0.0001", 4, 1);
    expect_decimal("500.00", 2, 50000);
}

static void test_parse_decimal_refuses_malformed_text(void **state)
{
    (void)state;
    const char *const bad[] = {"",   "-1",  "+1",   " 1",    "1 ",     "1,5", "1e5", "1E2",
                               ".5", "5.",  "1..2", "1.2.3", "0x10",   "-0",  "--1", "1.-2",
                               "١٢", "NaN", "inf",  "1\t",   "12.34€", "€1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_decimal_refused(bad[i], 2, LEDGER_E_INVALID);
    expect_decimal_refused(NULL, 2, LEDGER_E_INVALID);
    /* more decimals than the currency has, even zeros */
    expect_decimal_refused("12.345", 2, LEDGER_E_INVALID);
    expect_decimal_refused("12.340", 2, LEDGER_E_INVALID);
    expect_decimal_refused("1.0", 0, LEDGER_E_INVALID);
    expect_decimal_refused("1.", 0, LEDGER_E_INVALID);
    expect_decimal_refused("0.0005", 3, LEDGER_E_INVALID);
    /* an exponent no currency has */
    expect_decimal_refused("1", CURRENCY_EXPONENT_MAX + 1, LEDGER_E_INVALID);
    /* longer than MONEY_INPUT_MAX, even if all digits */
    char longer[MONEY_INPUT_MAX + 2];
    memset(longer, '0', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    expect_decimal_refused(longer, 2, LEDGER_E_INVALID);
    longer[MONEY_INPUT_MAX] = '\0'; /* exactly MONEY_INPUT_MAX zeros: 0 */
    expect_decimal(longer, 2, 0);
}

static void test_parse_decimal_refuses_values_beyond_int64(void **state)
{
    (void)state;
    expect_decimal("9223372036854775807", 0, INT64_MAX);
    expect_decimal("92233720368547758.07", 2, INT64_MAX);
    expect_decimal("9223372036854775.807", 3, INT64_MAX);
    expect_decimal_refused("9223372036854775808", 0, LEDGER_E_OVERFLOW);
    expect_decimal_refused("92233720368547758.08", 2, LEDGER_E_OVERFLOW);
    expect_decimal_refused("92233720368547758", 3, LEDGER_E_OVERFLOW);
    expect_decimal_refused("99999999999999999999", 0, LEDGER_E_OVERFLOW);
    /* the padding to the exponent overflows too */
    expect_decimal_refused("922337203685477581", 1, LEDGER_E_OVERFLOW);
}

static void test_format_decimal_by_exponent(void **state)
{
    (void)state;
    char buf[MONEY_TEXT_MAX];
    assert_string_equal(money_format_decimal(1234, 2, buf), "12.34");
    assert_string_equal(money_format_decimal(5, 3, buf), "0.005");
    assert_string_equal(money_format_decimal(-5, 2, buf), "-0.05");
    assert_string_equal(money_format_decimal(1234, 0, buf), "1234");
    assert_string_equal(money_format_decimal(0, 0, buf), "0");
    assert_string_equal(money_format_decimal(0, 3, buf), "0.000");
    assert_string_equal(money_format_decimal(-1234, 0, buf), "-1234");
    assert_string_equal(money_format_decimal(12345, 3, buf), "12.345");
    assert_string_equal(money_format_decimal(1, 4, buf), "0.0001");
    assert_string_equal(money_format_decimal(INT64_MAX, 0, buf), "9223372036854775807");
    assert_string_equal(money_format_decimal(INT64_MIN, 0, buf), "-9223372036854775808");
    assert_string_equal(money_format_decimal(INT64_MIN, 4, buf), "-922337203685477.5808");
    assert_string_equal(money_format_decimal(INT64_MIN, 2, buf), money_format(INT64_MIN, buf));
}

static void test_format_decimal_then_parse_round_trips_for_every_currency(void **state)
{
    (void)state;
    const int64_t values[] = {0, 1, 9, 10, 99, 100, 1001, 123456789, INT64_MAX};
    for (size_t c = 0; c < currency_count(); c++) {
        const currency_t *cur = currency_at(c);
        for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
            char buf[MONEY_TEXT_MAX];
            int64_t back = -1;
            money_format_decimal(values[i], cur->exponent, buf);
            assert_int_equal(money_parse_decimal(buf, cur->exponent, &back), LEDGER_OK);
            assert_true(back == values[i]);
        }
    }
}

TEST_MAIN(cmocka_unit_test(test_add_detects_overflow_at_both_edges),
          cmocka_unit_test(test_sub_detects_overflow_at_both_edges),
          cmocka_unit_test(test_parse_accepts_plain_amounts),
          cmocka_unit_test(test_parse_rejects_malformed_text),
          cmocka_unit_test(test_parse_rejects_values_beyond_int64),
          cmocka_unit_test(test_parse_reads_only_len_bytes),
          cmocka_unit_test(test_format_writes_two_decimals),
          cmocka_unit_test(test_format_then_parse_round_trips),
          cmocka_unit_test(test_parse_decimal_by_exponent),
          cmocka_unit_test(test_parse_decimal_refuses_malformed_text),
          cmocka_unit_test(test_parse_decimal_refuses_values_beyond_int64),
          cmocka_unit_test(test_format_decimal_by_exponent),
          cmocka_unit_test(test_format_decimal_then_parse_round_trips_for_every_currency))

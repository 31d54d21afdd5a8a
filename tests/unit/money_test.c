/* money_test.c: overflow edges, parsing and formatting of minor units. */
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

TEST_MAIN(cmocka_unit_test(test_add_detects_overflow_at_both_edges),
          cmocka_unit_test(test_sub_detects_overflow_at_both_edges),
          cmocka_unit_test(test_parse_accepts_plain_amounts),
          cmocka_unit_test(test_parse_rejects_malformed_text),
          cmocka_unit_test(test_parse_rejects_values_beyond_int64),
          cmocka_unit_test(test_parse_reads_only_len_bytes),
          cmocka_unit_test(test_format_writes_two_decimals),
          cmocka_unit_test(test_format_then_parse_round_trips))

/* text_test.c: bounded text field helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "text.h"
#include "test_main.h"

static void test_len_within_is_zero_for_empty_or_too_long(void **state)
{
    (void)state;
    assert_int_equal(text_len_within("", 4), 0);
    assert_int_equal(text_len_within("abcd", 4), 4);
    assert_int_equal(text_len_within("abcde", 4), 0);
}

static void test_format_truncates_and_copy_fits(void **state)
{
    (void)state;
    char small[6];
    text_format(small, sizeof small, "%s-%d", "abc", 12345);
    assert_string_equal(small, "abc-1");
    char field[8];
    text_copy(field, sizeof field, "alice");
    assert_string_equal(field, "alice");
    /* text_copy_cut cuts like snprintf("%s") */
    const char *sources[] = {"", "abcdefg", "abcdefgh", "abcdefghijkl"};
    for (size_t i = 0; i < sizeof sources / sizeof sources[0]; i++) {
        char want[8], got[8];
        memset(got, 'x', sizeof got);
        snprintf(want, sizeof want, "%s", sources[i]);
        text_copy_cut(got, sizeof got, sources[i]);
        assert_string_equal(got, want);
    }
    char one[1] = {'x'};
    text_copy_cut(one, sizeof one, "abc");
    assert_int_equal(one[0], '\0');
}

static void test_parse_u64_takes_digits_only_and_refuses_overflow(void **state)
{
    (void)state;
    uint64_t v = 7;
    assert_true(text_parse_u64("0", &v) && v == 0);
    assert_true(text_parse_u64("18446744073709551615", &v) && v == UINT64_MAX);
    v = 7;
    const char *bad[] = {"",     "18446744073709551616", "-1", "+1", " 1", "1 ", "1x",
                         "0x10", "123456789012345678901"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(text_parse_u64(bad[i], &v));
    assert_false(text_parse_u64(NULL, &v));
    assert_int_equal(v, 7);
}

/* Against snprintf, which the two replace on the per-message path. */
static void test_u64_and_hex_write_what_snprintf_writes(void **state)
{
    (void)state;
    const uint64_t values[] = {0,         1, 9, 10, 99, 100, 4096, 1234567890123ull, UINT64_MAX - 1,
                               UINT64_MAX};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char got[TEXT_U64_DIGITS_MAX + 1], want[32];
        size_t n = text_u64(values[i], got);
        snprintf(want, sizeof want, "%" PRIu64, values[i]);
        assert_string_equal(got, want);
        assert_int_equal(n, strlen(want));

        char hex[17];
        text_hex(values[i], 16, hex);
        snprintf(want, sizeof want, "%016" PRIx64, values[i]);
        assert_string_equal(hex, want);
    }
    char hex[13];
    text_hex(0xabcdef, 12, hex);
    assert_string_equal(hex, "000000abcdef");
    text_hex(0xfffffffffffull, 12, hex);
    assert_string_equal(hex, "0fffffffffff");
    char one[2];
    text_hex(0xa, 1, one);
    assert_string_equal(one, "a");
}

TEST_MAIN(cmocka_unit_test(test_len_within_is_zero_for_empty_or_too_long),
          cmocka_unit_test(test_format_truncates_and_copy_fits),
          cmocka_unit_test(test_parse_u64_takes_digits_only_and_refuses_overflow),
          cmocka_unit_test(test_u64_and_hex_write_what_snprintf_writes))

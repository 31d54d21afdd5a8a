/* text_test.c: bounded text field helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "text.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_len_within_is_zero_for_empty_or_too_long),
        cmocka_unit_test(test_format_truncates_and_copy_fits),
        cmocka_unit_test(test_parse_u64_takes_digits_only_and_refuses_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_len_within_is_zero_for_empty_or_too_long),
        cmocka_unit_test(test_format_truncates_and_copy_fits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

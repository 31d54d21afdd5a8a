/* gateway_ratelimit_test.c: the token bucket (gateway_ratelimit.h) on a clock the test moves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gateway_ratelimit.h"

#define T0_MS 1000000u

static void test_a_new_bucket_allows_its_burst_then_refuses(void **state)
{
    (void)state;
    gateway_ratelimit_t b = {0};
    for (int i = 0; i < 5; i++)
        assert_true(gateway_ratelimit_take(&b, 1, 5, T0_MS, NULL));
    uint64_t retry = 0;
    assert_false(gateway_ratelimit_take(&b, 1, 5, T0_MS, &retry));
    assert_int_equal(retry, 1000);
}

static void test_tokens_come_back_at_the_rate(void **state)
{
    (void)state;
    gateway_ratelimit_t b = {0};
    assert_true(gateway_ratelimit_take(&b, 10, 1, T0_MS, NULL));
    uint64_t retry = 0;
    assert_false(gateway_ratelimit_take(&b, 10, 1, T0_MS + 40, &retry));
    assert_int_equal(retry, 60); /* 10/s: one token per 100 ms, 40 of them gone */
    assert_false(gateway_ratelimit_take(&b, 10, 1, T0_MS + 99, NULL));
    assert_true(gateway_ratelimit_take(&b, 10, 1, T0_MS + 100, NULL));
}

static void test_a_long_pause_refills_no_more_than_the_burst(void **state)
{
    (void)state;
    gateway_ratelimit_t b = {0};
    assert_true(gateway_ratelimit_take(&b, 1000, 3, T0_MS, NULL));
    uint64_t later = T0_MS + 3600u * 1000u;
    assert_true(gateway_ratelimit_full(&b, 1000, 3, later));
    for (int i = 0; i < 3; i++)
        assert_true(gateway_ratelimit_take(&b, 1000, 3, later, NULL));
    assert_false(gateway_ratelimit_take(&b, 1000, 3, later, NULL));
}

static void test_a_clock_that_goes_back_refills_nothing(void **state)
{
    (void)state;
    gateway_ratelimit_t b = {0};
    assert_true(gateway_ratelimit_take(&b, 1, 1, T0_MS, NULL));
    assert_false(gateway_ratelimit_take(&b, 1, 1, T0_MS - 500000, NULL));
    assert_false(gateway_ratelimit_take(&b, 1, 1, T0_MS + 999, NULL));
    assert_true(gateway_ratelimit_take(&b, 1, 1, T0_MS + 1000, NULL));
}

static void test_the_largest_rate_and_burst_do_not_overflow(void **state)
{
    (void)state;
    gateway_ratelimit_t b = {0};
    uint32_t r = GATEWAY_RATELIMIT_RATE_MAX, burst = GATEWAY_RATELIMIT_BURST_MAX;
    assert_true(gateway_ratelimit_take(&b, r, burst, T0_MS, NULL));
    assert_true(gateway_ratelimit_full(&b, r, burst, UINT64_MAX / 2));
    assert_true(gateway_ratelimit_take(&b, r, burst, UINT64_MAX / 2, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_new_bucket_allows_its_burst_then_refuses),
        cmocka_unit_test(test_tokens_come_back_at_the_rate),
        cmocka_unit_test(test_a_long_pause_refills_no_more_than_the_burst),
        cmocka_unit_test(test_a_clock_that_goes_back_refills_nothing),
        cmocka_unit_test(test_the_largest_rate_and_burst_do_not_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

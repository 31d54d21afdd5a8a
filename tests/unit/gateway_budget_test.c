/* gateway_budget_test.c: the body budget (gateway_budget.h): takes up to the limit, refusals
   counted, bytes given back, and takes from several threads never pass the limit. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gateway_budget.h"

static void test_takes_up_to_the_limit_then_refuses_and_counts(void **state)
{
    (void)state;
    gateway_budget_t b;
    gateway_budget_init(&b, 1000);
    assert_true(gateway_budget_take(&b, 600));
    assert_true(gateway_budget_take(&b, 400)); /* exactly the limit */
    assert_false(gateway_budget_take(&b, 1));
    assert_false(gateway_budget_take(&b, UINT64_MAX)); /* no overflow */
    assert_int_equal(gateway_budget_in_use(&b), 1000);
    assert_int_equal(gateway_budget_refused(&b), 2);
    gateway_budget_give(&b, 600);
    assert_true(gateway_budget_take(&b, 600));
    gateway_budget_give(&b, 1000);
    assert_int_equal(gateway_budget_in_use(&b), 0);
}

static void test_zero_means_the_default(void **state)
{
    (void)state;
    gateway_budget_t b;
    gateway_budget_init(&b, 0);
    assert_int_equal(gateway_budget_limit(&b), GATEWAY_BUDGET_DEFAULT_BYTES);
}

#define THREADS 4
#define ROUNDS 20000

static void *take_and_give(void *arg)
{
    gateway_budget_t *b = arg;
    for (int i = 0; i < ROUNDS; i++) {
        if (gateway_budget_take(b, 3)) {
            if (gateway_budget_in_use(b) > gateway_budget_limit(b))
                return (void *)1;
            gateway_budget_give(b, 3);
        }
    }
    return NULL;
}

static void test_threads_never_pass_the_limit_and_give_all_back(void **state)
{
    (void)state;
    gateway_budget_t b;
    gateway_budget_init(&b, 7); /* two takes of 3 fit, a third does not */
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, take_and_give, &b), 0);
    for (int i = 0; i < THREADS; i++) {
        void *over = NULL;
        assert_int_equal(pthread_join(t[i], &over), 0);
        assert_null(over);
    }
    assert_int_equal(gateway_budget_in_use(&b), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_takes_up_to_the_limit_then_refuses_and_counts),
        cmocka_unit_test(test_zero_means_the_default),
        cmocka_unit_test(test_threads_never_pass_the_limit_and_give_all_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

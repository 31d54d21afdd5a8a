/* node_metrics_test.c: histogram buckets and the bounded HTTP counter table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "node_metrics.h"
#include "test_main.h"

static void test_histogram_counts_each_value_in_its_bucket(void **state)
{
    (void)state;
    static const uint64_t bounds[] = {1, 4, 16};
    node_histogram_t h;
    memset(&h, 0, sizeof h);
    uint64_t values[] = {0, 1, 2, 4, 5, 16, 17, 1000};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        node_metrics_histogram_observe(&h, bounds, 3, values[i]);
    assert_int_equal(h.buckets[0], 2); /* 0, 1 */
    assert_int_equal(h.buckets[1], 2); /* 2, 4 */
    assert_int_equal(h.buckets[2], 2); /* 5, 16 */
    assert_int_equal(h.over, 2);       /* 17, 1000 */
    assert_int_equal(h.count, 8);
    assert_int_equal(h.sum, 1045);
}

static void test_http_counts_group_by_method_route_and_status(void **state)
{
    (void)state;
    node_http_counts_t t;
    memset(&t, 0, sizeof t);
    node_metrics_http_count_add(&t, "POST", "/api/transfers", 202);
    node_metrics_http_count_add(&t, "POST", "/api/transfers", 202);
    node_metrics_http_count_add(&t, "POST", "/api/transfers", 400);
    node_metrics_http_count_add(&t, "BREW", "/api/transfers", 400);
    assert_int_equal(t.count, 3);
    assert_int_equal(t.items[0].count, 2);
    assert_string_equal(t.items[2].method, "other");
}

static void test_http_counts_never_grow_past_the_table(void **state)
{
    (void)state;
    node_http_counts_t t;
    memset(&t, 0, sizeof t);
    node_metrics_http_count_add(&t, "GET", "other", 500);
    for (unsigned status = 100; status < 100 + 2 * NODE_HTTP_COUNTS_MAX; status++)
        node_metrics_http_count_add(&t, "GET", "/api/health", status);
    assert_int_equal(t.count, NODE_HTTP_COUNTS_MAX);
    node_metrics_http_count_add(&t, "other", "other", 500);
    assert_int_equal(t.count, NODE_HTTP_COUNTS_MAX);
}

TEST_MAIN(cmocka_unit_test(test_histogram_counts_each_value_in_its_bucket),
          cmocka_unit_test(test_http_counts_group_by_method_route_and_status),
          cmocka_unit_test(test_http_counts_never_grow_past_the_table))

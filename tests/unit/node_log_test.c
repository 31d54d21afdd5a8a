/* node_log_test.c: log levels by name, and which levels a minimum lets through. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "node_log.h"
#include "test_main.h"

static void test_every_level_name_parses_to_its_level(void **state)
{
    (void)state;
    assert_int_equal(node_log_level_parse("debug"), NODE_LOG_DEBUG);
    assert_int_equal(node_log_level_parse("info"), NODE_LOG_INFO);
    assert_int_equal(node_log_level_parse("warn"), NODE_LOG_WARN);
    assert_int_equal(node_log_level_parse("error"), NODE_LOG_ERROR);
}

static void test_an_unknown_level_name_is_refused(void **state)
{
    (void)state;
    assert_int_equal(node_log_level_parse("warning"), -1);
    assert_int_equal(node_log_level_parse("INFO"), -1);
    assert_int_equal(node_log_level_parse(""), -1);
}

static void test_levels_below_the_minimum_are_not_printed(void **state)
{
    (void)state;
    node_log_init("node_log_test", NODE_LOG_WARN);
    assert_false(node_log_enabled(NODE_LOG_DEBUG));
    assert_false(node_log_enabled(NODE_LOG_INFO));
    assert_true(node_log_enabled(NODE_LOG_WARN));
    assert_true(node_log_enabled(NODE_LOG_ERROR));
}

TEST_MAIN(cmocka_unit_test(test_every_level_name_parses_to_its_level),
          cmocka_unit_test(test_an_unknown_level_name_is_refused),
          cmocka_unit_test(test_levels_below_the_minimum_are_not_printed))

/* node_config_test.c: defaults, LEDGER_* environment variables and flags, and their errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "node_config.h"

static const char *const variables[] = {
    "LEDGER_DATA_DIR",  "LEDGER_INBOX",     "LEDGER_HTTP_PORT",    "LEDGER_DEMO",
    "LEDGER_BATCH_MAX", "LEDGER_LOG_LEVEL", "LEDGER_RETRY_MIN_MS", "LEDGER_RETRY_MAX_MS",
    "LEDGER_TLS_CERT",  "LEDGER_TLS_KEY",   "LEDGER_INSECURE_HTTP"};

static int clean_environment(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof variables / sizeof variables[0]; i++)
        unsetenv(variables[i]);
    return 0;
}

static ledger_err_t load(node_config_t *c, node_kind_t kind, int argc, char **argv, char *why)
{
    return node_config_load(c, kind, argc, argv, why, 256);
}

static void test_defaults_run_three_nodes_on_one_machine(void **state)
{
    (void)state;
    node_config_t gw, ac, fr;
    char why[256] = "";
    char *argv[] = {"node", NULL};
    assert_int_equal(load(&gw, NODE_KIND_GATEWAY, 1, argv, why), LEDGER_OK);
    assert_int_equal(load(&ac, NODE_KIND_ACCOUNTS, 1, argv, why), LEDGER_OK);
    assert_int_equal(load(&fr, NODE_KIND_FRAUD, 1, argv, why), LEDGER_OK);
    assert_string_equal(gw.name, "gateway");
    assert_string_equal(gw.inbox, "tcp://127.0.0.1:7101");
    assert_string_equal(ac.inbox, "tcp://127.0.0.1:7201");
    assert_string_equal(fr.inbox, "tcp://127.0.0.1:7301");
    /* every node's peer endpoints point at the others' inboxes */
    assert_string_equal(gw.accounts, ac.inbox);
    assert_string_equal(ac.fraud, fr.inbox);
    assert_string_equal(fr.gateway, gw.inbox);
    assert_string_equal(ac.data_dir, "./data/accounts");
    assert_int_equal(gw.http_port, 8080);
    assert_int_equal(gw.http_threads, 4);
    assert_true(gw.admin_port != ac.admin_port && ac.admin_port != fr.admin_port);
    assert_false(ac.demo);
    assert_false(ac.no_sync);
    assert_int_equal(ac.checkpoint_ms, 5000);
    assert_int_equal(ac.checkpoint_chunk, 256);
    assert_int_equal(ac.prealloc_bytes, 16u << 20);
}

static void test_environment_sets_and_flags_win(void **state)
{
    (void)state;
    setenv("LEDGER_DATA_DIR", "/env/dir", 1);
    setenv("LEDGER_HTTP_PORT", "9000", 1);
    setenv("LEDGER_DEMO", "1", 1);
    node_config_t c;
    char why[256] = "";
    char *argv[] = {"node",        "--data-dir", "/flag/dir",        "--batch-max=17",
                    "--log-level", "warn",       "--http-threads=2", NULL};
    assert_int_equal(load(&c, NODE_KIND_ACCOUNTS, 7, argv, why), LEDGER_OK);
    assert_int_equal(c.http_threads, 2);
    assert_string_equal(c.data_dir, "/flag/dir");
    assert_int_equal(c.http_port, 9000);
    assert_true(c.demo);
    assert_int_equal(c.batch_max, 17);
}

static void test_bool_flag_without_value_means_true(void **state)
{
    (void)state;
    node_config_t c;
    char why[256] = "";
    char *argv[] = {"node", "--demo", "--no-sync", NULL};
    assert_int_equal(load(&c, NODE_KIND_ACCOUNTS, 3, argv, why), LEDGER_OK);
    assert_true(c.demo);
    assert_true(c.no_sync);
}

static void test_bad_values_are_refused_with_a_reason(void **state)
{
    (void)state;
    struct {
        char *flag;
        char *value;
        const char *reason_part;
    } cases[] = {
        {"--http-port", "65536", "http-port"},
        {"--http-port", "-1", "http-port"},
        {"--http-port", "80x", "http-port"},
        {"--batch-max", "", "batch-max"},
        {"--log-level", "loud", "log-level"},
        {"--demo=maybe", NULL, "demo"},
        {"--batch-max", "0", "batch-max"},
        {"--retry-min-ms", "0", "retry"},
        {"--http-threads", "0", "http-threads"},
        {"--http-threads", "65", "http-threads"},
        {"--checkpoint-chunk", "0", "checkpoint-chunk"},
        {"--checkpoint-chunk", "1000001", "checkpoint-chunk"},
        {"--prealloc-bytes", "1073741825", "prealloc-bytes"},
        {"--customer-rate", "0", "customer-/operator-rate"},
        {"--customer-burst", "10000001", "customer-/operator-rate"},
        {"--operator-rate", "0", "customer-/operator-rate"},
        {"--operator-burst", "0", "customer-/operator-rate"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        node_config_t c;
        char why[256] = "";
        char *argv[] = {"node", cases[i].flag, cases[i].value, NULL};
        int argc = cases[i].value ? 3 : 2;
        assert_int_equal(load(&c, NODE_KIND_GATEWAY, argc, argv, why), LEDGER_E_INVALID);
        if (!strstr(why, cases[i].reason_part))
            fail_msg("case %zu: reason '%s' does not mention '%s'", i, why, cases[i].reason_part);
    }
}

static void test_unknown_flags_and_arguments_are_refused(void **state)
{
    (void)state;
    node_config_t c;
    char why[256] = "";
    char *unknown[] = {"node", "--bogus", NULL};
    assert_int_equal(load(&c, NODE_KIND_FRAUD, 2, unknown, why), LEDGER_E_INVALID);
    assert_non_null(strstr(why, "--bogus"));
    char *extra[] = {"node", "stray", NULL};
    assert_int_equal(load(&c, NODE_KIND_FRAUD, 2, extra, why), LEDGER_E_INVALID);
    assert_non_null(strstr(why, "stray"));
}

static void test_bad_environment_value_is_refused(void **state)
{
    (void)state;
    setenv("LEDGER_BATCH_MAX", "lots", 1);
    node_config_t c;
    char why[256] = "";
    char *argv[] = {"node", NULL};
    assert_int_equal(load(&c, NODE_KIND_GATEWAY, 1, argv, why), LEDGER_E_INVALID);
    assert_non_null(strstr(why, "batch-max"));
}

static void test_too_long_string_is_refused(void **state)
{
    (void)state;
    char long_value[NODE_PATH_MAX + 16];
    memset(long_value, 'a', sizeof long_value - 1);
    long_value[sizeof long_value - 1] = '\0';
    node_config_t c;
    char why[256] = "";
    char *argv[] = {"node", "--data-dir", long_value, NULL};
    assert_int_equal(load(&c, NODE_KIND_GATEWAY, 3, argv, why), LEDGER_E_INVALID);
}

static void test_tls_is_off_and_insecure_http_not_allowed_by_default(void **state)
{
    (void)state;
    node_config_t c;
    char why[256] = "";
    char *argv[] = {"node", NULL};
    assert_int_equal(load(&c, NODE_KIND_GATEWAY, 1, argv, why), LEDGER_OK);
    assert_string_equal(c.tls_cert, "");
    assert_string_equal(c.tls_key, "");
    assert_false(c.insecure_http);
    assert_string_equal(c.http_host, "127.0.0.1");
}

static void test_tls_files_come_from_flags_or_environment(void **state)
{
    (void)state;
    setenv("LEDGER_TLS_CERT", "/env/cert.pem", 1);
    setenv("LEDGER_TLS_KEY", "/env/key.pem", 1);
    node_config_t c;
    char why[256] = "";
    char *env_only[] = {"node", NULL};
    assert_int_equal(load(&c, NODE_KIND_GATEWAY, 1, env_only, why), LEDGER_OK);
    assert_string_equal(c.tls_cert, "/env/cert.pem");
    assert_string_equal(c.tls_key, "/env/key.pem");
    char *argv[] = {"node", "--tls-cert", "/flag/cert.pem", "--tls-key=/flag/key.pem", NULL};
    assert_int_equal(load(&c, NODE_KIND_GATEWAY, 4, argv, why), LEDGER_OK);
    assert_string_equal(c.tls_cert, "/flag/cert.pem");
    assert_string_equal(c.tls_key, "/flag/key.pem");
}

static void test_insecure_http_comes_from_flag_or_environment(void **state)
{
    (void)state;
    node_config_t c;
    char why[256] = "";
    char *argv[] = {"node", "--http-host", "0.0.0.0", "--insecure-http", NULL};
    assert_int_equal(load(&c, NODE_KIND_GATEWAY, 4, argv, why), LEDGER_OK);
    assert_true(c.insecure_http);
    assert_string_equal(c.http_host, "0.0.0.0");
    setenv("LEDGER_INSECURE_HTTP", "1", 1);
    char *plain[] = {"node", NULL};
    assert_int_equal(load(&c, NODE_KIND_GATEWAY, 1, plain, why), LEDGER_OK);
    assert_true(c.insecure_http);
}

static void test_tls_cert_without_key_is_refused(void **state)
{
    (void)state;
    node_config_t c;
    char why[256] = "";
    char *cert_only[] = {"node", "--tls-cert", "/c.pem", NULL};
    assert_int_equal(load(&c, NODE_KIND_GATEWAY, 3, cert_only, why), LEDGER_E_INVALID);
    assert_non_null(strstr(why, "tls-key"));
    why[0] = '\0';
    setenv("LEDGER_TLS_KEY", "/k.pem", 1);
    char *key_only[] = {"node", NULL};
    assert_int_equal(load(&c, NODE_KIND_GATEWAY, 1, key_only, why), LEDGER_E_INVALID);
    assert_non_null(strstr(why, "tls-cert"));
}

static void test_insecure_http_with_a_certificate_is_refused(void **state)
{
    (void)state;
    node_config_t c;
    char why[256] = "";
    char *argv[] = {"node", "--tls-cert", "/c.pem", "--tls-key", "/k.pem", "--insecure-http", NULL};
    assert_int_equal(load(&c, NODE_KIND_GATEWAY, 6, argv, why), LEDGER_E_INVALID);
    assert_non_null(strstr(why, "insecure-http"));
}

static void test_help_is_reported_not_an_error(void **state)
{
    (void)state;
    node_config_t c;
    char why[256] = "";
    char *argv[] = {"node", "--help", NULL};
    assert_int_equal(load(&c, NODE_KIND_GATEWAY, 2, argv, why), LEDGER_OK);
    assert_true(c.help);
}

static void test_rate_limits_default_above_the_benchmark_and_can_be_set(void **state)
{
    (void)state;
    node_config_t c;
    char why[256] = "";
    char *none[] = {"node", NULL};
    assert_int_equal(load(&c, NODE_KIND_GATEWAY, 1, none, why), LEDGER_OK);
    assert_int_equal(c.customer_rate, 20000);
    assert_int_equal(c.customer_burst, 40000);
    assert_int_equal(c.operator_rate, 50000);
    assert_int_equal(c.operator_burst, 100000);
    setenv("LEDGER_CUSTOMER_RATE", "7", 1);
    char *argv[] = {"node", "--customer-burst", "9", "--operator-rate=11", NULL};
    assert_int_equal(load(&c, NODE_KIND_GATEWAY, 4, argv, why), LEDGER_OK);
    unsetenv("LEDGER_CUSTOMER_RATE");
    assert_int_equal(c.customer_rate, 7);
    assert_int_equal(c.customer_burst, 9);
    assert_int_equal(c.operator_rate, 11);
}

static void
test_retentions_default_to_months_and_a_view_may_not_outlive_less_than_its_key(void **state)
{
    (void)state;
    node_config_t c;
    char why[256] = "";
    char *none[] = {"node", NULL};
    assert_int_equal(load(&c, NODE_KIND_GATEWAY, 1, none, why), LEDGER_OK);
    assert_int_equal(c.transfer_retention_ms, 90ull * 24 * 3600 * 1000);
    assert_int_equal(c.saga_retention_ms, 30ull * 24 * 3600 * 1000);
    char *short_views[] = {
        "node", "--idempotency-retention-ms", "5000", "--transfer-retention-ms", "4999", NULL};
    assert_int_equal(load(&c, NODE_KIND_GATEWAY, 5, short_views, why), LEDGER_E_INVALID);
    assert_non_null(strstr(why, "transfer-retention-ms"));
    char *ok[] = {"node", "--idempotency-retention-ms", "5000", "--transfer-retention-ms",
                  "5000", "--saga-retention-ms",        "0",    NULL};
    assert_int_equal(load(&c, NODE_KIND_GATEWAY, 7, ok, why), LEDGER_OK);
    assert_int_equal(c.transfer_retention_ms, 5000);
    assert_int_equal(c.saga_retention_ms, 0);
    char *off[] = {"node", "--transfer-retention-ms", "0", NULL};
    assert_int_equal(load(&c, NODE_KIND_GATEWAY, 3, off, why), LEDGER_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults_run_three_nodes_on_one_machine, clean_environment),
        cmocka_unit_test_setup(test_environment_sets_and_flags_win, clean_environment),
        cmocka_unit_test_setup(test_bool_flag_without_value_means_true, clean_environment),
        cmocka_unit_test_setup(test_bad_values_are_refused_with_a_reason, clean_environment),
        cmocka_unit_test_setup(test_unknown_flags_and_arguments_are_refused, clean_environment),
        cmocka_unit_test_setup(test_bad_environment_value_is_refused, clean_environment),
        cmocka_unit_test_setup(test_too_long_string_is_refused, clean_environment),
        cmocka_unit_test_setup(test_help_is_reported_not_an_error, clean_environment),
        cmocka_unit_test_setup(test_tls_is_off_and_insecure_http_not_allowed_by_default,
                               clean_environment),
        cmocka_unit_test_setup(test_tls_files_come_from_flags_or_environment, clean_environment),
        cmocka_unit_test_setup(test_insecure_http_comes_from_flag_or_environment,
                               clean_environment),
        cmocka_unit_test_setup(test_tls_cert_without_key_is_refused, clean_environment),
        cmocka_unit_test_setup(test_insecure_http_with_a_certificate_is_refused, clean_environment),
        cmocka_unit_test_setup(test_rate_limits_default_above_the_benchmark_and_can_be_set,
                               clean_environment),
        cmocka_unit_test_setup(
            test_retentions_default_to_months_and_a_view_may_not_outlive_less_than_its_key,
            clean_environment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

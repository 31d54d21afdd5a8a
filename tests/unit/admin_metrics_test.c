/*  admin_metrics_test.c: the Prometheus text of /metrics, as a scrape reads
    it: one HELP and TYPE line per family, counters and gauges with their
    value, cumulative histogram buckets in base units (seconds), and the
    gateway-only families only on the gateway. A real node (store and
    sockets, not running) stands behind the text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_metrics.h"
#include "curve_fx.h"
#include "node.h"
#include "node_config.h"
#include "node_log.h"
#include "test_dir.h"
#include "test_main.h"

typedef struct {
    char dir[TEST_DIR_BYTES];
    char data_dir[128];
    node_t *node;
    bool curve;
    curve_fx_t keys; /* the mesh's keys in a temp dir (curve), never ./data/keys */
} fixture_t;

static ledger_err_t apply_nothing(node_ctx_t *ctx, const proto_msg_t *msg, void *app, char *why,
                                  size_t why_size)
{
    (void)ctx;
    (void)msg;
    (void)app;
    (void)why;
    (void)why_size;
    return LEDGER_OK;
}

/* A node of `kind` over a fresh data dir, not running: CURVE links with keys in a temp dir
   (curve), or plain ones. */
static void node_up_links(fixture_t *fx, node_kind_t kind, bool curve)
{
    test_dir_make(fx->dir, "admin_metrics_test");
    snprintf(fx->data_dir, sizeof fx->data_dir, "%s/data", fx->dir);
    char data_flag[160], keys_flag[CURVE_KEYS_PATH_MAX + 16] = "--insecure-plaintext";
    snprintf(data_flag, sizeof data_flag, "--data-dir=%s", fx->data_dir);
    fx->curve = curve;
    if (curve) {
        curve_fx_make(&fx->keys, "admin_metrics_keys");
        snprintf(keys_flag, sizeof keys_flag, "--keys-dir=%s", fx->keys.keys);
    }
    /* Ephemeral ports: nothing connects to this node. */
    char inbox_flag[] = "--inbox=tcp://127.0.0.1:*", feed_flag[] = "--feed=tcp://127.0.0.1:*";
    char *argv[] = {"admin_metrics_test", data_flag, inbox_flag, feed_flag, "--admin-port=0",
                    "--prealloc-bytes=0", keys_flag};
    node_config_t config;
    char why[256];
    assert_int_equal(node_config_load(&config, kind, 7, argv, why, sizeof why), LEDGER_OK);
    node_log_init("admin_metrics_test", NODE_LOG_ERROR);
    node_app_t app = {.apply = apply_nothing};
    assert_int_equal(node_new(&config, &app, &fx->node), LEDGER_OK);
}

static void node_up(fixture_t *fx, node_kind_t kind)
{
    node_up_links(fx, kind, true);
}

static void node_down(fixture_t *fx)
{
    node_destroy(&fx->node);
    test_remove_dir(fx->data_dir);
    test_remove_dir(fx->dir);
    if (fx->curve)
        curve_fx_remove(&fx->keys);
}

/* The whole /metrics text of the fixture's node (malloc'd). */
static char *scrape(fixture_t *fx)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    admin_metrics_write(fx->node, out);
    assert_int_equal(fclose(out), 0);
    return text;
}

static void test_a_scalar_is_a_help_line_a_type_line_and_its_value(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    admin_metrics_scalar(out, "ledger_things_total", "counter", "Things counted.", 42);
    assert_int_equal(fclose(out), 0);
    assert_string_equal(text, "# HELP ledger_things_total Things counted.\n"
                              "# TYPE ledger_things_total counter\n"
                              "ledger_things_total 42\n");
    free(text);
}

static void test_a_fresh_node_reports_zero_counters_and_an_empty_outbox(void **state)
{
    (void)state;
    fixture_t fx;
    node_up(&fx, NODE_KIND_FRAUD);
    char *text = scrape(&fx);
    assert_non_null(strstr(text, "# HELP ledger_batches_total Write batches committed.\n"
                                 "# TYPE ledger_batches_total counter\n"
                                 "ledger_batches_total 0\n"));
    assert_non_null(strstr(text, "# TYPE ledger_relay_inflight gauge\nledger_relay_inflight 0\n"));
    assert_non_null(strstr(text, "# TYPE ledger_outbox_depth gauge\nledger_outbox_depth 0\n"));
    assert_non_null(strstr(text, "ledger_outbox_oldest_age_seconds 0.000\n"));
    assert_non_null(strstr(text, "ledger_dead_letters 0\n"));
    assert_non_null(strstr(text, "# TYPE ledger_answers_ignored_total counter\n"
                                 "ledger_answers_ignored_total{reason=\"unknown_tag\"} 0\n"
                                 "ledger_answers_ignored_total{reason=\"other_peer\"} 0\n"));
    /* Nothing was received or emitted: the families are there, without samples. */
    assert_non_null(strstr(text, "# TYPE ledger_messages_received_total counter\n"
                                 "# HELP ledger_messages_emitted_total"));
    free(text);
    node_down(&fx);
}

static void test_histograms_have_cumulative_buckets_in_seconds(void **state)
{
    (void)state;
    fixture_t fx;
    node_up(&fx, NODE_KIND_FRAUD);
    char *text = scrape(&fx);
    assert_non_null(strstr(text, "# TYPE ledger_batch_messages histogram\n"
                                 "ledger_batch_messages_bucket{le=\"1\"} 0\n"
                                 "ledger_batch_messages_bucket{le=\"2\"} 0\n"));
    assert_non_null(strstr(text, "ledger_batch_messages_bucket{le=\"16384\"} 0\n"
                                 "ledger_batch_messages_bucket{le=\"+Inf\"} 0\n"
                                 "ledger_batch_messages_sum 0.000000\n"
                                 "ledger_batch_messages_count 0\n"));
    /* Kept in microseconds, rendered in seconds: 250 us is 0.00025 s. */
    assert_non_null(strstr(text, "ledger_commit_duration_seconds_bucket{le=\"0.00025\"} 0\n"));
    assert_non_null(strstr(text, "ledger_commit_duration_seconds_bucket{le=\"2.5\"} 0\n"));
    free(text);
    node_down(&fx);
}

static void test_only_the_gateway_reports_http_requests_and_final_transfers(void **state)
{
    (void)state;
    fixture_t fx;
    node_up(&fx, NODE_KIND_FRAUD);
    node_count_http(fx.node, "GET", "/api/x", 200);
    char *text = scrape(&fx);
    assert_null(strstr(text, "ledger_http_requests_total"));
    assert_null(strstr(text, "ledger_transfers_final_total"));
    free(text);
    node_down(&fx);

    node_up(&fx, NODE_KIND_GATEWAY);
    node_count_http(fx.node, "GET", "/api/transfers/{id}", 200);
    node_count_http(fx.node, "GET", "/api/transfers/{id}", 200);
    node_count_http(fx.node, "POST", "/api/transfers", 400);
    text = scrape(&fx);
    assert_non_null(strstr(
        text, "ledger_http_requests_total{method=\"GET\",route=\"/api/transfers/{id}\","
              "status=\"200\"} 2\n"
              "ledger_http_requests_total{method=\"POST\",route=\"/api/transfers\",status=\"400\"} "
              "1\n"));
    assert_non_null(strstr(text, "ledger_transfers_final_total{status=\"settled\"} 0\n"
                                 "ledger_transfers_final_total{status=\"rejected_fraud\"} 0\n"
                                 "ledger_transfers_final_total{status=\"declined\"} 0\n"));
    free(text);
    node_down(&fx);
}

static void test_links_report_plaintext_and_the_allowed_keys(void **state)
{
    (void)state;
    fixture_t fx;
    node_up_links(&fx, NODE_KIND_FRAUD, true); /* fraud accepts the accounts key only */
    char *text = scrape(&fx);
    assert_non_null(strstr(text, "# TYPE ledger_insecure_plaintext gauge\n"
                                 "ledger_insecure_plaintext 0\n"));
    assert_non_null(strstr(text, "# TYPE ledger_curve_allowed_keys gauge\n"
                                 "ledger_curve_allowed_keys 1\n"));
    /* Nothing refused yet: the family is there, without samples. */
    assert_non_null(strstr(text, "# TYPE ledger_messages_refused_total counter\n# HELP"));
    free(text);
    node_down(&fx);

    node_up_links(&fx, NODE_KIND_GATEWAY, false);
    text = scrape(&fx);
    assert_non_null(strstr(text, "ledger_insecure_plaintext 1\n"));
    assert_non_null(strstr(text, "ledger_curve_allowed_keys 0\n"));
    free(text);
    node_down(&fx);
}

TEST_MAIN(cmocka_unit_test(test_a_scalar_is_a_help_line_a_type_line_and_its_value),
          cmocka_unit_test(test_links_report_plaintext_and_the_allowed_keys),
          cmocka_unit_test(test_a_fresh_node_reports_zero_counters_and_an_empty_outbox),
          cmocka_unit_test(test_histograms_have_cumulative_buckets_in_seconds),
          cmocka_unit_test(test_only_the_gateway_reports_http_requests_and_final_transfers))

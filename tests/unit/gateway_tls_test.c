/* gateway_tls_test.c: the loopback rule, the listen decision, bounded PEM loading, MHD options. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <microhttpd.h>

#include "gateway_tls.h"
#include "net_addr.h"
#include "test_dir.h"

#define WHY_BYTES 512
static const char pem_cert[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

typedef struct {
    char dir[64];
    char path[256];
} fx_t;

static int fx_setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/gateway-tls-test-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    *state = fx;
    return 0;
}

static int fx_teardown(void **state)
{
    fx_t *fx = *state;
    test_remove_dir(fx->dir);
    free(fx);
    return 0;
}

/* Writes `len` bytes of `data` to <dir>/<name> and returns its path (in fx->path). */
static const char *write_file(fx_t *fx, const char *name, const void *data, size_t len)
{
    snprintf(fx->path, sizeof fx->path, "%s/%s", fx->dir, name);
    FILE *f = fopen(fx->path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
    return fx->path;
}

/* A PEM-looking file of exactly `len` bytes: a BEGIN line padded with 'A'. */
static const char *write_pem_of_size(fx_t *fx, const char *name, size_t len)
{
    char *buf = malloc(len);
    memset(buf, 'A', len);
    memcpy(buf, "-----BEGIN CERTIFICATE-----\n", 28);
    const char *path = write_file(fx, name, buf, len);
    free(buf);
    return path;
}

static void test_loopback_addresses_are_loopback(void **state)
{
    (void)state;
    const char *yes[] = {"127.0.0.1",        "127.0.0.53", "127.255.255.254", "::1",
                         "0:0:0:0:0:0:0:1",  "localhost",  "LocalHost",       "::ffff:127.0.0.1",
                         "::ffff:127.1.2.3", "127.1.2.3"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        assert_true(net_addr_is_loopback(yes[i]));
}

static void test_wildcards_and_other_addresses_are_not_loopback(void **state)
{
    (void)state;
    const char *no[] = {"0.0.0.0",
                        "::",
                        "10.0.0.1",
                        "128.0.0.1",
                        "126.255.255.255",
                        "192.168.1.2",
                        "::2",
                        "::ffff:10.0.0.1",
                        "localhost.evil",
                        "127.0.0.1 ",
                        " 127.0.0.1",
                        "127.0.0.1.nip.io",
                        "fe80::1",
                        "",
                        "127.1"};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        assert_false(net_addr_is_loopback(no[i]));
    assert_false(net_addr_is_loopback(NULL));
}

/* gateway_tls_decide for `host` with the mode first set to `start`: asserts its answer is `want`;
   the mode it left, its reason in why. */
static gateway_tls_mode_t decide(const char *host, const char *cert, const char *key,
                                 bool insecure_http, gateway_tls_mode_t start, ledger_err_t want,
                                 char why[WHY_BYTES])
{
    gateway_tls_mode_t mode = start;
    why[0] = '\0';
    assert_int_equal(gateway_tls_decide(host, cert, key, insecure_http, &mode, why, WHY_BYTES),
                     want);
    return mode;
}

static void test_loopback_without_certificate_is_plain_http(void **state)
{
    (void)state;
    char why[WHY_BYTES];
    assert_int_equal(decide("127.0.0.1", "", "", false, GATEWAY_TLS_MODE_HTTPS, LEDGER_OK, why),
                     GATEWAY_TLS_MODE_LOOPBACK_HTTP);
    assert_int_equal(decide("::1", "", "", true, GATEWAY_TLS_MODE_HTTPS, LEDGER_OK, why),
                     GATEWAY_TLS_MODE_LOOPBACK_HTTP);
}

static void test_non_loopback_without_certificate_is_refused(void **state)
{
    (void)state;
    const char *hosts[] = {"0.0.0.0", "::", "10.1.2.3"};
    for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++) {
        char why[WHY_BYTES];
        decide(hosts[i], "", "", false, GATEWAY_TLS_MODE_HTTPS, LEDGER_E_INVALID, why);
        assert_non_null(strstr(why, hosts[i]));
        assert_non_null(strstr(why, "--tls-cert"));
        assert_non_null(strstr(why, "--insecure-http"));
    }
}

static void test_non_loopback_with_insecure_http_is_insecure_http(void **state)
{
    (void)state;
    char why[WHY_BYTES];
    assert_int_equal(decide("0.0.0.0", "", "", true, GATEWAY_TLS_MODE_HTTPS, LEDGER_OK, why),
                     GATEWAY_TLS_MODE_INSECURE_HTTP);
}

static void test_a_certificate_means_https_on_any_address(void **state)
{
    (void)state;
    const char *hosts[] = {"0.0.0.0", "127.0.0.1", "::"};
    for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++) {
        char why[WHY_BYTES];
        assert_int_equal(decide(hosts[i], "/c.pem", "/k.pem", false, GATEWAY_TLS_MODE_INSECURE_HTTP,
                                LEDGER_OK, why),
                         GATEWAY_TLS_MODE_HTTPS);
    }
}

static void test_pem_file_is_read_whole_and_terminated(void **state)
{
    fx_t *fx = *state;
    const char *path = write_file(fx, "cert.pem", pem_cert, strlen(pem_cert));
    char *pem = NULL;
    size_t len = 0;
    char why[WHY_BYTES] = "";
    assert_int_equal(gateway_tls_read_pem(path, 4096, &pem, &len, why, sizeof why), LEDGER_OK);
    assert_int_equal(len, strlen(pem_cert));
    assert_string_equal(pem, pem_cert);
    free(pem);
}

static void test_pem_file_at_the_bound_is_read_and_one_byte_more_is_refused(void **state)
{
    fx_t *fx = *state;
    char *pem = NULL;
    size_t len = 0;
    char why[WHY_BYTES] = "";
    const char *path = write_pem_of_size(fx, "at.pem", 1024);
    assert_int_equal(gateway_tls_read_pem(path, 1024, &pem, &len, why, sizeof why), LEDGER_OK);
    assert_int_equal(len, 1024);
    free(pem);
    pem = NULL;
    path = write_pem_of_size(fx, "over.pem", 1025);
    assert_int_equal(gateway_tls_read_pem(path, 1024, &pem, &len, why, sizeof why),
                     LEDGER_E_TOO_LARGE);
    assert_null(pem);
    assert_non_null(strstr(why, "over.pem"));
    assert_non_null(strstr(why, "1024"));
}

static void test_bad_pem_files_are_refused_with_a_reason(void **state)
{
    fx_t *fx = *state;
    char *pem = NULL;
    size_t len = 0;
    char why[WHY_BYTES] = "";
    const char *path = write_file(fx, "empty.pem", "", 0);
    assert_int_equal(gateway_tls_read_pem(path, 4096, &pem, &len, why, sizeof why),
                     LEDGER_E_INVALID);
    assert_non_null(strstr(why, "empty"));
    path = write_file(fx, "der.pem", "\x30\x82\x01\x00-----BEGIN ", 15);
    assert_int_equal(gateway_tls_read_pem(path, 4096, &pem, &len, why, sizeof why),
                     LEDGER_E_INVALID);
    assert_non_null(strstr(why, "NUL"));
    path = write_file(fx, "text.pem", "hello\n", 6);
    assert_int_equal(gateway_tls_read_pem(path, 4096, &pem, &len, why, sizeof why),
                     LEDGER_E_INVALID);
    assert_non_null(strstr(why, "not PEM"));
    assert_null(pem);
}

static void test_missing_file_and_directory_are_refused(void **state)
{
    fx_t *fx = *state;
    char *pem = NULL;
    size_t len = 0;
    char why[WHY_BYTES] = "";
    char missing[300];
    snprintf(missing, sizeof missing, "%s/missing.pem", fx->dir);
    assert_int_equal(gateway_tls_read_pem(missing, 4096, &pem, &len, why, sizeof why), LEDGER_E_IO);
    assert_non_null(strstr(why, "missing.pem"));
    assert_non_null(strstr(why, "No such file"));
    assert_int_equal(gateway_tls_read_pem(fx->dir, 4096, &pem, &len, why, sizeof why),
                     LEDGER_E_INVALID);
    assert_non_null(strstr(why, "regular file"));
    assert_null(pem);
}

/* A self-signed certificate <dir>/<name>.crt and its key <dir>/<name>.key (openssl CLI). */
static void make_pair(fx_t *fx, const char *name)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-keyout %s/%s.key -out %s/%s.crt -days 1 -subj /CN=localhost 2>/dev/null",
             fx->dir, name, fx->dir, name);
    assert_int_equal(system(cmd), 0);
}

static void pair_paths(fx_t *fx, const char *cert, const char *key, char *cert_path, char *key_path)
{
    snprintf(cert_path, 300, "%s/%s.crt", fx->dir, cert);
    snprintf(key_path, 300, "%s/%s.key", fx->dir, key);
}

static void test_loaded_tls_gives_mhd_the_files_and_the_tls12_floor(void **state)
{
    fx_t *fx = *state;
    make_pair(fx, "a");
    char cert[300], key[300];
    pair_paths(fx, "a", "a", cert, key);
    gateway_tls_t *tls = NULL;
    char why[WHY_BYTES] = "";
    assert_int_equal(gateway_tls_new(cert, key, &tls, why, sizeof why), LEDGER_OK);
    assert_int_equal(gateway_tls_mhd_flags(tls), MHD_USE_TLS);
    const struct MHD_OptionItem *o = gateway_tls_mhd_options(tls);
    assert_int_equal(o[0].option, MHD_OPTION_HTTPS_MEM_CERT);
    assert_non_null(strstr(o[0].ptr_value, "-----BEGIN CERTIFICATE-----"));
    assert_int_equal(o[1].option, MHD_OPTION_HTTPS_MEM_KEY);
    assert_non_null(strstr(o[1].ptr_value, "PRIVATE KEY-----"));
    assert_int_equal(o[2].option, MHD_OPTION_HTTPS_PRIORITIES);
    assert_non_null(strstr(o[2].ptr_value, "-VERS-ALL"));
    assert_null(strstr(o[2].ptr_value, "TLS1.1"));
    assert_null(strstr(o[2].ptr_value, "TLS1.0"));
    assert_int_equal(o[3].option, MHD_OPTION_END);
    gateway_tls_destroy(&tls);
    assert_null(tls);
    gateway_tls_destroy(&tls);
}

static void test_a_key_of_another_certificate_is_refused(void **state)
{
    fx_t *fx = *state;
    make_pair(fx, "a");
    make_pair(fx, "b");
    char cert[300], key[300];
    pair_paths(fx, "a", "b", cert, key);
    gateway_tls_t *tls = NULL;
    char why[WHY_BYTES] = "";
    assert_int_equal(gateway_tls_new(cert, key, &tls, why, sizeof why), LEDGER_E_INVALID);
    assert_null(tls);
    assert_non_null(strstr(why, "a.crt"));
    assert_non_null(strstr(why, "b.key"));
    assert_non_null(strstr(why, "do not match"));
}

static void test_pem_that_is_no_certificate_is_refused(void **state)
{
    fx_t *fx = *state;
    make_pair(fx, "a");
    char cert[300], key[300];
    pair_paths(fx, "a", "a", cert, key);
    snprintf(cert, sizeof cert, "%s", write_file(fx, "fake.crt", pem_cert, strlen(pem_cert)));
    gateway_tls_t *tls = NULL;
    char why[WHY_BYTES] = "";
    assert_int_equal(gateway_tls_new(cert, key, &tls, why, sizeof why), LEDGER_E_INVALID);
    assert_null(tls);
    assert_non_null(strstr(why, "fake.crt"));
}

static void test_a_key_given_as_the_certificate_and_an_encrypted_key_are_refused(void **state)
{
    fx_t *fx = *state;
    make_pair(fx, "a");
    char cert[300], key[300], cmd[800];
    pair_paths(fx, "a", "a", cert, key);
    gateway_tls_t *tls = NULL;
    char why[WHY_BYTES] = "";
    assert_int_equal(gateway_tls_new(key, key, &tls, why, sizeof why), LEDGER_E_INVALID);
    assert_non_null(strstr(why, "certificate"));
    snprintf(cmd, sizeof cmd,
             "openssl pkey -in %s -aes256 -passout pass:secret -out %s/enc.key 2>/dev/null", key,
             fx->dir);
    assert_int_equal(system(cmd), 0);
    snprintf(key, sizeof key, "%s/enc.key", fx->dir);
    assert_int_equal(gateway_tls_new(cert, key, &tls, why, sizeof why), LEDGER_E_INVALID);
    assert_null(tls);
    assert_non_null(strstr(why, "enc.key"));
}

static void test_a_missing_key_fails_the_load(void **state)
{
    fx_t *fx = *state;
    char cert[300], key[300];
    snprintf(cert, sizeof cert, "%s", write_file(fx, "cert.pem", pem_cert, strlen(pem_cert)));
    snprintf(key, sizeof key, "%s/nokey.pem", fx->dir);
    gateway_tls_t *tls = NULL;
    char why[WHY_BYTES] = "";
    assert_int_equal(gateway_tls_new(cert, key, &tls, why, sizeof why), LEDGER_E_IO);
    assert_null(tls);
    assert_non_null(strstr(why, "nokey.pem"));
}

static void test_no_tls_means_no_flags_and_no_options(void **state)
{
    (void)state;
    assert_int_equal(gateway_tls_mhd_flags(NULL), 0);
    assert_int_equal(gateway_tls_mhd_options(NULL)[0].option, MHD_OPTION_END);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loopback_addresses_are_loopback),
        cmocka_unit_test(test_wildcards_and_other_addresses_are_not_loopback),
        cmocka_unit_test(test_loopback_without_certificate_is_plain_http),
        cmocka_unit_test(test_non_loopback_without_certificate_is_refused),
        cmocka_unit_test(test_non_loopback_with_insecure_http_is_insecure_http),
        cmocka_unit_test(test_a_certificate_means_https_on_any_address),
        cmocka_unit_test_setup_teardown(test_pem_file_is_read_whole_and_terminated, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_pem_file_at_the_bound_is_read_and_one_byte_more_is_refused, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_bad_pem_files_are_refused_with_a_reason, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_missing_file_and_directory_are_refused, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_loaded_tls_gives_mhd_the_files_and_the_tls12_floor,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_a_key_of_another_certificate_is_refused, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_pem_that_is_no_certificate_is_refused, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_a_key_given_as_the_certificate_and_an_encrypted_key_are_refused, fx_setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(test_a_missing_key_fails_the_load, fx_setup, fx_teardown),
        cmocka_unit_test(test_no_tls_means_no_flags_and_no_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*  gateway_static_test.c: the web app's path and header rules (gateway_static.h),
    as pure functions: which URL paths may reach the disk and what they map
    to, the Content-Type per extension and the Cache-Control per path. The
    file serving itself (realpath, O_NOFOLLOW, symlinks, the index.html
    fallback) is exercised against real files by the integration test
    tests/integration/test_events.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "gateway_static.h"
#include "test_main.h"

static void assert_path(const char *url, const char *rel)
{
    char out[GATEWAY_STATIC_PATH_MAX + 1];
    if (!gateway_static_path_sanitize(url, out, sizeof out))
        fail_msg("refused a good path: %s", url);
    assert_string_equal(out, rel);
}

static void assert_refused(const char *url)
{
    char out[GATEWAY_STATIC_PATH_MAX + 1];
    if (gateway_static_path_sanitize(url, out, sizeof out))
        fail_msg("accepted a bad path: %s -> %s", url, out);
}

static void test_plain_paths_map_to_files_under_the_web_dir(void **state)
{
    (void)state;
    assert_path("/", "index.html");
    assert_path("/index.html", "index.html");
    assert_path("/assets/index-3f2a9c.js", "assets/index-3f2a9c.js");
    assert_path("/favicon.ico", "favicon.ico");
    assert_path("/transfers/tr_019a8f3c2b1d0000002a", "transfers/tr_019a8f3c2b1d0000002a");
    assert_path("/a/b/", "a/b/");
    assert_path("/file..name.txt", "file..name.txt"); /* dots inside a name are fine */
}

static void test_traversal_and_encodings_are_refused(void **state)
{
    (void)state;
    /* MHD hands over the path decoded once: "%2e%2e" arrives as "..", "%2f" as "/". */
    assert_refused("/..");
    assert_refused("/../etc/passwd");
    assert_refused("/assets/../../README.md");
    assert_refused("/assets/..");
    assert_refused("/./index.html");
    assert_refused("/a/./b");
    /* What is still encoded after one decoding is a double encoding: refused. */
    assert_refused("/%2e%2e/etc/passwd");
    assert_refused("/assets/..%2f..%2fREADME.md");
    assert_refused("/%252e%252e/x");
    assert_refused("/a%5cb");
    assert_refused("/a\\..\\b");
    assert_refused("/.env");
    assert_refused("/.git/config");
    assert_refused("/assets/.hidden");
    assert_refused("/a\x01"
                   "b");
    assert_refused("/a\x7f");
    assert_refused("");
    assert_refused("index.html");
    assert_refused(NULL);
}

static void test_long_paths_and_small_buffers_are_refused(void **state)
{
    (void)state;
    char url[GATEWAY_STATIC_PATH_MAX + 2];
    url[0] = '/';
    memset(url + 1, 'a', sizeof url - 2);
    url[sizeof url - 1] = '\0';
    assert_refused(url); /* one byte over the limit */
    url[GATEWAY_STATIC_PATH_MAX] = '\0';
    char out[GATEWAY_STATIC_PATH_MAX + 1];
    assert_true(gateway_static_path_sanitize(url, out, sizeof out));
    char tiny[4];
    assert_false(gateway_static_path_sanitize("/index.html", tiny, sizeof tiny));
}

static void test_content_types_follow_the_extension(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        /* path, its content type */
        {"index.html", "text/html; charset=utf-8"},
        {"assets/app-1a2b.js", "text/javascript; charset=utf-8"},
        {"assets/x.mjs", "text/javascript; charset=utf-8"},
        {"assets/app.CSS", "text/css; charset=utf-8"},
        {"logo.svg", "image/svg+xml"},
        {"shot.png", "image/png"},
        {"favicon.ico", "image/x-icon"},
        {"manifest.json", "application/json"},
        {"assets/inter.woff2", "font/woff2"},
        {"assets/app.js.map", "application/json"},
        {"robots.txt", "text/plain; charset=utf-8"},
        {"LICENSE", "application/octet-stream"},
        {"archive.tar.gz", "application/octet-stream"},
        {"dir.js/file", "application/octet-stream"},
        {".html", "application/octet-stream"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_string_equal(gateway_static_content_type(cases[i][0]), cases[i][1]);
    assert_string_equal(gateway_static_content_type(NULL), "application/octet-stream");
}

static void test_hashed_assets_are_immutable_and_the_rest_no_cache(void **state)
{
    (void)state;
    assert_string_equal(gateway_static_cache_control("assets/index-3f2a9c.js"),
                        "public, max-age=31536000, immutable");
    assert_string_equal(gateway_static_cache_control("index.html"), "no-cache");
    assert_string_equal(gateway_static_cache_control("favicon.ico"), "no-cache");
    assert_string_equal(gateway_static_cache_control("assetsx/a.js"), "no-cache");
}

TEST_MAIN(cmocka_unit_test(test_plain_paths_map_to_files_under_the_web_dir),
          cmocka_unit_test(test_traversal_and_encodings_are_refused),
          cmocka_unit_test(test_long_paths_and_small_buffers_are_refused),
          cmocka_unit_test(test_content_types_follow_the_extension),
          cmocka_unit_test(test_hashed_assets_are_immutable_and_the_rest_no_cache))

/* json_out_test.c: json_out writes what jansson's json_dumps(JSON_COMPACT) writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "json_out.h"
#include "test_main.h"

/* jansson's text for one value (JSON_ENCODE_ANY: a bare string or integer). */
static char *jansson_text(json_t *value)
{
    char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(value);
    assert_non_null(text);
    return text;
}

static char *take(json_out_t *out)
{
    size_t size = 0;
    char *text = json_out_take(out, &size);
    assert_non_null(text);
    assert_int_equal(size, strlen(text));
    return text;
}

/* `out`'s text (taken) is what jansson writes for `want` (stolen). */
static void assert_same_text(json_out_t *out, json_t *want_value)
{
    char *got = take(out);
    char *want = jansson_text(want_value);
    assert_string_equal(got, want);
    free(got);
    free(want);
}

static void assert_string_as_jansson(const char *text)
{
    json_out_t out;
    json_out_init(&out, 0);
    json_out_str(&out, text);
    assert_same_text(&out, json_string(text));
}

static void test_strings_are_escaped_as_jansson_escapes_them(void **state)
{
    (void)state;
    const char *cases[] = {
        "",
        "plain text",
        "quote \" and backslash \\ and slash /",
        "\b\f\n\r\t named escapes",
        "\x01\x02\x1f\x7f other control bytes",
        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x92\xb8 \xe2\x80\xa8 UTF-8 goes out as it is",
        "\"\"\\\\\n\n",
        "ends with an escape\x1b",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_string_as_jansson(cases[i]);
    /* Every byte below 0x80 on its own. */
    for (int c = 1; c < 0x80; c++) {
        char text[2] = {(char)c, '\0'};
        assert_string_as_jansson(text);
    }
}

static void test_integers_are_written_in_decimal(void **state)
{
    (void)state;
    const int64_t cases[] = {0, 1, -1, 9, 10, 202, 8190, INT64_MAX, INT64_MIN, -1234567890123};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_out_t out;
        json_out_init(&out, 0);
        json_out_int(&out, cases[i]);
        assert_same_text(&out, json_integer(cases[i]));
    }
}

/* An object written by hand equals json_dumps of the same object, and grows past its reserve. */
static void test_a_written_object_matches_jansson_and_grows(void **state)
{
    (void)state;
    json_out_t out;
    json_out_init(&out, 8);
    json_t *want_array = json_array();
    json_out_begin_object(&out);
    json_out_key(&out, "items");
    json_out_begin_array(&out);
    for (int i = 0; i < 1000; i++) {
        json_out_begin_object(&out);
        json_out_member_int(&out, "index", i);
        json_out_member_str(&out, "name \"q\"", "line\nbreak");
        json_out_key(&out, "none");
        json_out_null(&out);
        json_out_key(&out, "list");
        json_out_begin_array(&out);
        json_out_int(&out, -i);
        json_out_str(&out, "x");
        json_out_begin_array(&out);
        json_out_end_array(&out);
        json_out_end_array(&out);
        json_out_end_object(&out);
        json_array_append_new(want_array, json_pack("{s:I, s:s, s:n, s:[I, s, []]}", "index",
                                                    (json_int_t)i, "name \"q\"", "line\nbreak",
                                                    "none", "list", (json_int_t)-i, "x"));
    }
    json_out_end_array(&out);
    json_out_member_int(&out, "count", 1000);
    json_out_end_object(&out);
    assert_same_text(&out, json_pack("{s:o, s:i}", "items", want_array, "count", 1000));
    /* take emptied it: a second take is an empty text, and free is safe twice */
    char *empty = take(&out);
    assert_string_equal(empty, "");
    free(empty);
    json_out_free(&out);
    json_out_free(&out);
}

static void test_out_of_memory_is_sticky_and_take_returns_null(void **state)
{
    (void)state;
    json_out_t out;
    json_out_init(&out, 0);
    json_out_begin_array(&out);
    out.failed = true; /* what a failed realloc leaves */
    json_out_int(&out, 5);
    assert_int_equal(out.len, 1);
    size_t size = 99;
    assert_null(json_out_take(&out, &size));
    assert_int_equal(size, 99);
    assert_null(out.data);
}

TEST_MAIN(cmocka_unit_test(test_strings_are_escaped_as_jansson_escapes_them),
          cmocka_unit_test(test_integers_are_written_in_decimal),
          cmocka_unit_test(test_a_written_object_matches_jansson_and_grows),
          cmocka_unit_test(test_out_of_memory_is_sticky_and_take_returns_null))

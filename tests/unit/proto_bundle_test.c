/*  proto_bundle_test.c: the bundle payload (proto.h "Bundles"): envelopes
    walked back out exactly as packed, and every malformed payload refused
    by proto_bundle_check before a receiver takes any envelope of it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "test_main.h"
#include "proto.h"

/* Packs `count` envelopes "e0", "e11", "e222", ... (envelope i is i+2 bytes) into out. */
static size_t pack(uint8_t *out, size_t count)
{
    size_t size = 0;
    for (size_t i = 0; i < count; i++) {
        size_t len = i + 2;
        proto_bundle_len_pack((uint32_t)len, out + size);
        out[size + PROTO_BUNDLE_LEN_SIZE] = 'e';
        memset(out + size + PROTO_BUNDLE_LEN_SIZE + 1, '0' + (int)(i % 10), len - 1);
        size += PROTO_BUNDLE_LEN_SIZE + len;
    }
    return size;
}

static void test_envelopes_come_back_in_order_and_whole(void **state)
{
    (void)state;
    uint8_t buf[4096];
    size_t size = pack(buf, 5);
    assert_int_equal(proto_bundle_check(buf, size, 5), LEDGER_OK);
    size_t offset = 0;
    for (size_t i = 0; i < 5; i++) {
        const void *env = NULL;
        size_t env_size = 0;
        assert_int_equal(proto_bundle_next(buf, size, &offset, &env, &env_size), LEDGER_OK);
        assert_int_equal(env_size, i + 2);
        assert_int_equal(((const uint8_t *)env)[0], 'e');
        assert_int_equal(((const uint8_t *)env)[env_size - 1], '0' + (int)i);
    }
    assert_int_equal(offset, size);
    const void *env;
    size_t env_size;
    assert_int_equal(proto_bundle_next(buf, size, &offset, &env, &env_size), LEDGER_E_DECODE);
}

static void test_a_count_that_does_not_match_the_payload_is_refused(void **state)
{
    (void)state;
    uint8_t buf[4096];
    size_t size = pack(buf, 3);
    assert_int_equal(proto_bundle_check(buf, size, 2), LEDGER_E_DECODE); /* bytes left over */
    assert_int_equal(proto_bundle_check(buf, size, 4), LEDGER_E_DECODE); /* one missing */
    assert_int_equal(proto_bundle_check(buf, size, 1), LEDGER_E_DECODE); /* not a bundle */
    assert_int_equal(proto_bundle_check(buf, size, PROTO_BUNDLE_MAX + 1), LEDGER_E_DECODE);
}

static void test_every_cut_of_a_payload_is_refused(void **state)
{
    (void)state;
    uint8_t buf[4096];
    size_t size = pack(buf, 4);
    for (size_t cut = 0; cut < size; cut++)
        if (proto_bundle_check(buf, cut, 4) != LEDGER_E_DECODE)
            fail_msg("a payload cut to %zu of %zu bytes passed", cut, size);
}

static void test_zero_and_oversized_lengths_are_refused(void **state)
{
    (void)state;
    uint8_t buf[64];
    size_t size = pack(buf, 2);
    proto_bundle_len_pack(0, buf); /* an empty envelope */
    assert_int_equal(proto_bundle_check(buf, size, 2), LEDGER_E_DECODE);
    pack(buf, 2);
    proto_bundle_len_pack(PROTO_FRAME_MAX + 1u, buf); /* longer than any envelope */
    assert_int_equal(proto_bundle_check(buf, size, 2), LEDGER_E_DECODE);
    proto_bundle_len_pack(UINT32_MAX, buf); /* would wrap a 32-bit sum */
    assert_int_equal(proto_bundle_check(buf, size, 2), LEDGER_E_DECODE);
    assert_int_equal(proto_bundle_check(NULL, 0, 2), LEDGER_E_DECODE);
}

static void test_a_payload_over_the_frame_limit_is_refused(void **state)
{
    (void)state;
    static uint8_t buf[PROTO_BUNDLE_BYTES_MAX + 64];
    size_t half = (PROTO_BUNDLE_BYTES_MAX + 16) / 2; /* two envelopes, together past the limit */
    for (size_t i = 0; i < 2; i++) {
        proto_bundle_len_pack((uint32_t)(half - PROTO_BUNDLE_LEN_SIZE), buf + i * half);
        memset(buf + i * half + PROTO_BUNDLE_LEN_SIZE, 'x', half - PROTO_BUNDLE_LEN_SIZE);
    }
    assert_true(2 * half > PROTO_BUNDLE_BYTES_MAX);
    assert_int_equal(proto_bundle_check(buf, 2 * half, 2), LEDGER_E_DECODE);
}

TEST_MAIN(cmocka_unit_test(test_envelopes_come_back_in_order_and_whole),
          cmocka_unit_test(test_a_count_that_does_not_match_the_payload_is_refused),
          cmocka_unit_test(test_every_cut_of_a_payload_is_refused),
          cmocka_unit_test(test_zero_and_oversized_lengths_are_refused),
          cmocka_unit_test(test_a_payload_over_the_frame_limit_is_refused))

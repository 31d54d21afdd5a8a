/* record_test.c: the bounded binary record writer and reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "record.h"
#include "test_main.h"

static void test_fields_round_trip_big_endian(void **state)
{
    (void)state;
    uint8_t buf[64];
    record_writer_t w = {buf, sizeof buf, 0, true};
    record_put_u8(&w, 7);
    record_put_u64(&w, 0x0102030405060708ull);
    record_put_str8(&w, "alice");
    record_put_str16(&w, "a reason");
    assert_true(w.ok);
    assert_int_equal(buf[1], 0x01); /* big-endian */
    assert_int_equal(buf[8], 0x08);

    record_reader_t r = {buf, w.len, 0, true};
    char name[16], reason[16];
    assert_int_equal(record_get_u8(&r), 7);
    assert_true(record_get_u64(&r) == 0x0102030405060708ull);
    record_get_str8(&r, name, 15);
    record_get_str16(&r, reason, 15);
    assert_true(record_done(&r));
    assert_string_equal(name, "alice");
    assert_string_equal(reason, "a reason");
}

static void test_writer_that_runs_out_of_room_stays_failed(void **state)
{
    (void)state;
    uint8_t buf[4];
    record_writer_t w = {buf, sizeof buf, 0, true};
    record_put_u64(&w, 1);
    assert_false(w.ok);
    record_put_u8(&w, 1); /* later calls are no-ops */
    assert_false(w.ok);
    assert_int_equal(w.len, 0);
}

static void test_reader_refuses_short_long_and_embedded_nul(void **state)
{
    (void)state;
    char out[8];
    const uint8_t short_u64[] = {1, 2, 3};
    record_reader_t r1 = {short_u64, sizeof short_u64, 0, true};
    assert_true(record_get_u64(&r1) == 0);
    assert_false(r1.ok);

    const uint8_t too_long[] = {9, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'};
    record_reader_t r2 = {too_long, sizeof too_long, 0, true};
    record_get_str8(&r2, out, 7);
    assert_false(r2.ok);
    assert_string_equal(out, "");

    const uint8_t with_nul[] = {3, 'a', 0, 'b'};
    record_reader_t r3 = {with_nul, sizeof with_nul, 0, true};
    record_get_str8(&r3, out, 7);
    assert_false(r3.ok);

    const uint8_t trailing[] = {1, 2};
    record_reader_t r4 = {trailing, sizeof trailing, 0, true};
    record_get_u8(&r4);
    assert_true(r4.ok);
    assert_false(record_done(&r4)); /* a trailing byte is malformed */
}

static void test_u16_u32_and_i64_round_trip_big_endian(void **state)
{
    (void)state;
    uint8_t buf[32];
    record_writer_t w = {buf, sizeof buf, 0, true};
    record_put_u16(&w, 0x0102);
    record_put_u32(&w, 0x03040506u);
    record_put_i64(&w, -2);
    record_put_i64(&w, INT64_MIN);
    record_put_i64(&w, INT64_MAX);
    assert_true(w.ok);
    assert_int_equal(w.len, 2 + 4 + 3 * 8);
    assert_int_equal(buf[0], 0x01); /* big-endian */
    assert_int_equal(buf[1], 0x02);
    assert_int_equal(buf[2], 0x03);
    assert_int_equal(buf[5], 0x06);
    assert_int_equal(buf[6], 0xff); /* -2: two's complement */
    assert_int_equal(buf[13], 0xfe);

    record_reader_t r = {buf, w.len, 0, true};
    assert_int_equal(record_get_u16(&r), 0x0102);
    assert_int_equal(record_get_u32(&r), 0x03040506u);
    assert_true(record_get_i64(&r) == -2);
    assert_true(record_get_i64(&r) == INT64_MIN);
    assert_true(record_get_i64(&r) == INT64_MAX);
    assert_true(record_done(&r));
}

static void test_short_u16_and_u32_read_as_zero_and_fail(void **state)
{
    (void)state;
    const uint8_t one[] = {1};
    record_reader_t r1 = {one, sizeof one, 0, true};
    assert_int_equal(record_get_u16(&r1), 0);
    assert_false(r1.ok);

    const uint8_t three[] = {1, 2, 3};
    record_reader_t r2 = {three, sizeof three, 0, true};
    assert_int_equal(record_get_u32(&r2), 0);
    assert_false(r2.ok);
    assert_true(record_get_i64(&r2) == 0); /* a failed reader stays failed */

    uint8_t buf[3];
    record_writer_t w = {buf, sizeof buf, 0, true};
    record_put_u16(&w, 1);
    record_put_u32(&w, 1); /* does not fit in the one byte left */
    assert_false(w.ok);
    assert_int_equal(w.len, 2);
}

TEST_MAIN(cmocka_unit_test(test_fields_round_trip_big_endian),
          cmocka_unit_test(test_writer_that_runs_out_of_room_stays_failed),
          cmocka_unit_test(test_reader_refuses_short_long_and_embedded_nul),
          cmocka_unit_test(test_u16_u32_and_i64_round_trip_big_endian),
          cmocka_unit_test(test_short_u16_and_u32_read_as_zero_and_fail))

/*  clock_test.c: the clock helpers of core/clock.h; the UTC text formatter
    against the C library's gmtime_r + strftime. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <time.h>

#include "clock.h"
#include "test_main.h"

/* The time text, written without gmtime/strftime, is what they write, over every era edge. */
static void test_utc_text_matches_gmtime_over_every_era_edge(void **state)
{
    (void)state;
    uint64_t cases[] = {0,
                        999,
                        86399999,
                        951782400000ull,  /* 2000-02-29 */
                        951868800000ull,  /* 2000-03-01 */
                        4107542400000ull, /* 2100-03-01 (2100 is not a leap year) */
                        1764770000123ull,
                        253402300799999ull,  /* 9999-12-31T23:59:59.999Z: the last fast one */
                        253402300800000ull}; /* 10000-01-01: the library's path */
    uint64_t seed = 88172645463325252ull;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0] + 200000; i++) {
        uint64_t ms;
        if (i < sizeof cases / sizeof cases[0]) {
            ms = cases[i];
        } else { /* xorshift over 1970..9999, and densely around today */
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            ms = i % 2 ? seed % 253402300800000ull : 1700000000000ull + seed % 400000000000ull;
        }
        time_t secs = (time_t)(ms / 1000);
        struct tm tm;
        assert_non_null(gmtime_r(&secs, &tm));
        char date[24], want[CLOCK_UTC_TEXT_SIZE], got[CLOCK_UTC_TEXT_SIZE];
        strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(want, sizeof want, "%s.%03uZ", date, (unsigned)(ms % 1000));
        assert_string_equal(clock_format_utc(ms, got), want);
    }
}

/* The largest ms value still gives a whole text (a nine-digit year), within the buffer. */
static void test_the_largest_time_gives_a_whole_text(void **state)
{
    (void)state;
    char got[CLOCK_UTC_TEXT_SIZE];
    assert_string_equal(clock_format_utc(UINT64_MAX, got), "584556019-04-03T14:25:51.615Z");
}

TEST_MAIN(cmocka_unit_test(test_utc_text_matches_gmtime_over_every_era_edge),
          cmocka_unit_test(test_the_largest_time_gives_a_whole_text))

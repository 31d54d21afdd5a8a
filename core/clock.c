/* clock.c: see clock.h. */
#include "clock.h"
#include "text.h"

#include <time.h>

#define MS_PER_S 1000u
#define S_PER_HOUR 3600u
#define S_PER_DAY 86400u

static uint64_t read_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t clock_wall_ms(void)
{
    return read_us(CLOCK_REALTIME) / 1000u;
}

uint64_t clock_mono_ms(void)
{
    return read_us(CLOCK_MONOTONIC) / 1000u;
}

uint64_t clock_mono_us(void)
{
    return read_us(CLOCK_MONOTONIC);
}

struct timespec clock_mono_deadline(uint32_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec += 1;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* Writes `value` as exactly `width` decimal digits (zero-padded; `value` must fit). */
static char *put_digits(char *p, unsigned value, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + value % 10);
        value /= 10;
    }
    return p + width;
}

/*  The proleptic Gregorian date of a day count since 1970-01-01 (days >= 0),
    by the era arithmetic of H. Hinnant's civil_from_days: what gmtime_r
    computes, without its locking and table walks (~4,000 instructions a
    call with strftime and snprintf, on every answer and timeline). */
static void civil_from_days(uint64_t days, unsigned *year, unsigned *month, unsigned *day)
{
    uint64_t z = days + 719468;                  /* days since 0000-03-01 */
    uint64_t era = z / 146097;                   /* 400-year eras */
    unsigned doe = (unsigned)(z - era * 146097); /* [0, 146096] */
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365], from March */
    unsigned mp = (5 * doy + 2) / 153;                                    /* [0, 11], March = 0 */
    *day = doy - (153 * mp + 2) / 5 + 1;
    *month = mp < 10 ? mp + 3 : mp - 9;
    *year = (unsigned)(era * 400 + yoe) + (*month <= 2 ? 1 : 0);
}

char *clock_format_utc(uint64_t unix_ms, char out[CLOCK_UTC_TEXT_SIZE])
{
    uint64_t secs = unix_ms / MS_PER_S;
    unsigned in_day = (unsigned)(secs % S_PER_DAY);
    unsigned year, month, day;
    civil_from_days(secs / S_PER_DAY, &year, &month, &day);
    /* Years past 9999 as plain digits, as strftime's %Y (up to 584,556,019 at UINT64_MAX ms). */
    char *p = year <= 9999 ? put_digits(out, year, 4) : out + text_u64(year, out);
    *p++ = '-';
    p = put_digits(p, month, 2);
    *p++ = '-';
    p = put_digits(p, day, 2);
    *p++ = 'T';
    p = put_digits(p, in_day / S_PER_HOUR, 2);
    *p++ = ':';
    p = put_digits(p, in_day / 60 % 60, 2);
    *p++ = ':';
    p = put_digits(p, in_day % 60, 2);
    *p++ = '.';
    p = put_digits(p, (unsigned)(unix_ms % MS_PER_S), 3);
    *p++ = 'Z';
    *p = '\0';
    return out;
}

/*  gateway_request_time.c: RFC 3339 query values (contract in gateway_request_time.h). */
#include "gateway_request_time.h"

#include <assert.h>
#include <stdbool.h>
#include <string.h>

static bool take_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return true;
}

/* Days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar (H. Hinnant's algorithm). */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = y / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* The zone of an RFC 3339 time at p: "Z" or "+hh:mm" / "-hh:mm", as seconds east of UTC. */
static bool take_zone(const char *p, int64_t *offset_s)
{
    int hh, mm;
    if ((p[0] == 'Z' || p[0] == 'z') && p[1] == '\0') {
        *offset_s = 0;
        return true;
    }
    if (p[0] != '+' && p[0] != '-')
        return false;
    int sign = p[0] == '-' ? -1 : 1;
    p++;
    if (!take_digits(&p, 2, &hh) || *p++ != ':' || !take_digits(&p, 2, &mm) || *p != '\0' ||
        hh > 23 || mm > 59)
        return false;
    *offset_s = sign * (int64_t)(hh * 3600 + mm * 60);
    return true;
}

/* RFC 3339 date-time text to unix ms (fractions past ms are cut); false if it is not one. */
static bool parse_rfc3339(const char *p, int64_t *ms_out)
{
    int y, mo, d, h, mi, s, ms = 0;
    if (!take_digits(&p, 4, &y) || *p++ != '-' || !take_digits(&p, 2, &mo) || *p++ != '-' ||
        !take_digits(&p, 2, &d) || (*p != 'T' && *p != 't'))
        return false;
    p++;
    if (!take_digits(&p, 2, &h) || *p++ != ':' || !take_digits(&p, 2, &mi) || *p++ != ':' ||
        !take_digits(&p, 2, &s))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 59)
        return false;
    if (*p == '.') {
        int digits = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, digits++)
            if (digits < 3)
                ms = ms * 10 + (*p - '0');
        if (digits == 0 || digits > 9)
            return false;
        for (; digits < 3; digits++)
            ms *= 10;
    }
    int64_t offset_s;
    if (!take_zone(p, &offset_s))
        return false;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset_s;
    *ms_out = secs * 1000 + ms;
    return true;
}

ledger_err_t gateway_request_parse_time(const char *value, const char *field, uint64_t *ms_out,
                                        gateway_request_error_t *err)
{
    assert(value && field && ms_out && err);
    int64_t ms = 0;
    if (strlen(value) > GATEWAY_REQUEST_TIME_MAX || !parse_rfc3339(value, &ms) || ms < 0 ||
        (uint64_t)ms > PROTO_TS_MAX_MS)
        return gateway_request_fail(err, 400, "invalid_query", field,
                                    "%s must be an RFC 3339 time between 1970 and 9999, e.g. "
                                    "2026-12-01T00:00:00Z",
                                    field);
    *ms_out = (uint64_t)ms;
    return LEDGER_OK;
}

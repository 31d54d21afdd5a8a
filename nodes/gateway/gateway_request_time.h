/*  gateway_request_time.h: RFC 3339 times in query values (GET /api/transfers?created_from=).

    NOTE for the merge of issue 21: the same function, byte for byte, is written by the
    gateway-accounts part in gateway_request.c/.h (its balance and statement routes). When
    both are on one branch, delete this file pair and its include: one rule, one place.

    Pure and thread-safe.
*/
#ifndef LEDGER_GATEWAY_REQUEST_TIME_H
#define LEDGER_GATEWAY_REQUEST_TIME_H

#include <stdint.h>
#include "gateway_request.h"

#define GATEWAY_REQUEST_TIME_MAX 40 /* bytes of an RFC 3339 query value */

/*  Parses a query value holding an RFC 3339 date-time ("2026-12-01T10:00:00Z",
    "2026-12-01T10:00:00.250+01:00"; a fraction past milliseconds is cut)
    into unix ms, from 1970 to PROTO_TS_MAX_MS. LEDGER_E_INVALID (400
    invalid_query, the error naming `field`) for anything else: a date
    without a time, no zone, day 31 of a 30-day month, leap seconds,
    longer than GATEWAY_REQUEST_TIME_MAX bytes. */
ledger_err_t gateway_request_parse_time(const char *value, const char *field, uint64_t *ms_out,
                                        gateway_request_error_t *err);

#endif

/*  curve_why.h: the one way curve/ refuses: a ledger error code and a reason
    for people, written into the caller's `why` buffer (bounded; NULL or a
    zero size writes nothing). Used by curve_keys, curve_keys_file,
    curve_sock and curve_allow so that each `return curve_why_fail(...)`
    reads as the refusal it is. Owns nothing; thread-safe.
*/
#ifndef LEDGER_CURVE_WHY_H
#define LEDGER_CURVE_WHY_H

#include <stddef.h>
#include "ledger_err.h"

/* Formats the reason into why (cut to why_size) and returns err. */
ledger_err_t curve_why_fail(ledger_err_t err, char *why, size_t why_size, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif

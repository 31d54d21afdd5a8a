/*  curve_why.c: refusals with a reason (curve_why.h). */
#include "curve_why.h"

#include <stdarg.h>
#include <stdio.h>

ledger_err_t curve_why_fail(ledger_err_t err, char *why, size_t why_size, const char *fmt, ...)
{
    if (why != NULL && why_size > 0) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(why, why_size, fmt, ap);
        va_end(ap);
        if (n < 0)
            why[0] = '\0';
    }
    return err;
}

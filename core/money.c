/* money.c: overflow-checked arithmetic, parsing and formatting of minor units. */
#include "money.h"

#include <stdbool.h>

ledger_err_t money_add(int64_t a_minor, int64_t b_minor, int64_t *sum_out)
{
    int64_t sum;
    if (__builtin_add_overflow(a_minor, b_minor, &sum))
        return LEDGER_E_OVERFLOW;
    *sum_out = sum;
    return LEDGER_OK;
}

ledger_err_t money_sub(int64_t a_minor, int64_t b_minor, int64_t *diff_out)
{
    int64_t diff;
    if (__builtin_sub_overflow(a_minor, b_minor, &diff))
        return LEDGER_E_OVERFLOW;
    *diff_out = diff;
    return LEDGER_OK;
}

ledger_err_t money_parse(const char *text, size_t len, int64_t *minor_out)
{
    if (!text || len == 0 || len > MONEY_INPUT_MAX)
        return LEDGER_E_INVALID;
    size_t i = 0;
    bool negative = false;
    if (text[0] == '-') {
        negative = true;
        i = 1;
    }
    /* Accumulate as a negative number so INT64_MIN parses without overflow. */
    int64_t acc = 0;
    size_t int_digits = 0, frac_digits = 0;
    bool seen_point = false, any_nonzero = false;
    for (; i < len; i++) {
        char c = text[i];
        if (c == '.') {
            if (seen_point)
                return LEDGER_E_INVALID;
            seen_point = true;
            continue;
        }
        if (c < '0' || c > '9')
            return LEDGER_E_INVALID;
        if (seen_point) {
            if (++frac_digits > MONEY_MINOR_DIGITS)
                return LEDGER_E_INVALID;
        } else {
            int_digits++;
        }
        if (c != '0')
            any_nonzero = true;
        if (__builtin_mul_overflow(acc, 10, &acc) || __builtin_sub_overflow(acc, c - '0', &acc))
            return LEDGER_E_OVERFLOW;
    }
    if (int_digits == 0 || (seen_point && frac_digits == 0))
        return LEDGER_E_INVALID;
    for (size_t pad = frac_digits; pad < MONEY_MINOR_DIGITS; pad++)
        if (__builtin_mul_overflow(acc, 10, &acc))
            return LEDGER_E_OVERFLOW;
    if (negative && !any_nonzero)
        return LEDGER_E_INVALID;
    if (!negative) {
        if (acc == INT64_MIN)
            return LEDGER_E_OVERFLOW;
        acc = -acc;
    }
    *minor_out = acc;
    return LEDGER_OK;
}

char *money_format(int64_t minor, char out[MONEY_TEXT_MAX])
{
    /* Work on the magnitude as uint64 so INT64_MIN formats correctly. */
    uint64_t mag = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;
    char rev[MONEY_TEXT_MAX];
    size_t n = 0;
    for (int d = 0; d < MONEY_MINOR_DIGITS; d++) {
        rev[n++] = (char)('0' + mag % 10);
        mag /= 10;
    }
    rev[n++] = '.';
    do {
        rev[n++] = (char)('0' + mag % 10);
        mag /= 10;
    } while (mag);
    size_t o = 0;
    if (minor < 0)
        out[o++] = '-';
    while (n)
        out[o++] = rev[--n];
    out[o] = '\0';
    return out;
}

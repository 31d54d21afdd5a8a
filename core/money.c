/* money.c: overflow-checked arithmetic, parsing and formatting of minor units (any exponent of
   core/currency.h; money_parse and money_format are the exponent-2 forms). */
#include "money.h"

#include <assert.h>
#include <stdbool.h>
#include <string.h>

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

/*  The digits of text[0..len), an optional '-' first if `signed_ok`, at most
    `exponent` of them after one '.', into minor units: the rules of
    money_parse (signed, exponent 2) and money_parse_decimal (unsigned). */
static ledger_err_t parse_minor(const char *text, size_t len, unsigned exponent, bool signed_ok,
                                int64_t *minor_out)
{
    if (!text || len == 0 || len > MONEY_INPUT_MAX || exponent > CURRENCY_EXPONENT_MAX)
        return LEDGER_E_INVALID;
    size_t i = 0;
    bool negative = false;
    if (signed_ok && text[0] == '-') {
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
            if (seen_point || exponent == 0)
                return LEDGER_E_INVALID;
            seen_point = true;
            continue;
        }
        if (c < '0' || c > '9')
            return LEDGER_E_INVALID;
        if (seen_point) {
            if (++frac_digits > exponent)
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
    for (size_t pad = frac_digits; pad < exponent; pad++)
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

ledger_err_t money_parse(const char *text, size_t len, int64_t *minor_out)
{
    return parse_minor(text, len, MONEY_MINOR_DIGITS, true, minor_out);
}

ledger_err_t money_parse_decimal(const char *text, uint8_t exponent, int64_t *minor_out)
{
    if (!text)
        return LEDGER_E_INVALID;
    /* one byte past the limit is enough to know it is too long */
    return parse_minor(text, strnlen(text, MONEY_INPUT_MAX + 1), exponent, false, minor_out);
}

char *money_format_decimal(int64_t minor, uint8_t exponent, char out[MONEY_TEXT_MAX])
{
    assert(out && exponent <= CURRENCY_EXPONENT_MAX);
    /* Work on the magnitude as uint64 so INT64_MIN formats correctly. */
    uint64_t mag = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;
    char rev[MONEY_TEXT_MAX];
    size_t n = 0;
    for (unsigned d = 0; d < exponent; d++) {
        rev[n++] = (char)('0' + mag % 10);
        mag /= 10;
    }
    if (exponent > 0)
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

char *money_format(int64_t minor, char out[MONEY_TEXT_MAX])
{
    return money_format_decimal(minor, MONEY_MINOR_DIGITS, out);
}

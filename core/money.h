/*  money.h: amounts of money as int64_t counts of minor units (pence, cents,
    fils, yen).

    No floating point anywhere: amounts are parsed from and formatted to
    decimal text digit by digit. Arithmetic is overflow-checked. How many
    digits a currency's minor unit has is its exponent (core/currency.h):
    money_parse_decimal / money_format_decimal take it; money_parse /
    money_format are the exponent-2 forms. All functions are pure and
    thread-safe.
*/
#ifndef LEDGER_MONEY_H
#define LEDGER_MONEY_H

#include <stddef.h>
#include <stdint.h>
#include "currency.h"
#include "ledger_err.h"

/* Digits after the decimal point of the currencies we support (GBP, EUR, USD). */
#define MONEY_MINOR_DIGITS 2
/* Longest text money_format writes, with sign and terminator: "-92233720368547758.08". */
#define MONEY_TEXT_MAX 24
/* Longest text money_parse accepts (without terminator). */
#define MONEY_INPUT_MAX 32

/* *sum_out = a + b. LEDGER_E_OVERFLOW (and *sum_out untouched) if it does not fit. */
ledger_err_t money_add(int64_t a_minor, int64_t b_minor, int64_t *sum_out);

/* *diff_out = a - b. LEDGER_E_OVERFLOW (and *diff_out untouched) if it does not fit. */
ledger_err_t money_sub(int64_t a_minor, int64_t b_minor, int64_t *diff_out);

/*  Parses a decimal amount in major units ("12.34", "12.3", "12", "0.05",
    "-1.50") into minor units (1234, 1230, 1200, 5, -150).
    Accepted: optional '-', one or more digits, optionally '.' followed by 1 or 2
    digits. Rejected with LEDGER_E_INVALID: empty text, '+', spaces, exponents
    ("1e5"), more than one '.', a '.' with no digits on either side, more than
    MONEY_MINOR_DIGITS decimals, "-0" / "-0.00" (a negative zero is not an
    amount), text longer than MONEY_INPUT_MAX. Out of int64 range:
    LEDGER_E_OVERFLOW. *minor_out is written only on LEDGER_OK.
    `text` need not be NUL-terminated; `len` bytes are read. */
ledger_err_t money_parse(const char *text, size_t len, int64_t *minor_out);

/*  Formats minor units as a decimal in major units with exactly
    MONEY_MINOR_DIGITS decimals: 1234 -> "12.34", -5 -> "-0.05".
    `out` must hold MONEY_TEXT_MAX bytes. Returns `out`. */
char *money_format(int64_t minor, char out[MONEY_TEXT_MAX]);

/*  Parses a positive decimal amount in major units of a currency with
    `exponent` minor digits (0 .. CURRENCY_EXPONENT_MAX) into minor units:
    "12.34" exponent 2 -> 1234, "12" -> 1200, "12.3" -> 1230, "0.005"
    exponent 3 -> 5, "1234" exponent 0 -> 1234. `text` is NUL-terminated.
    Accepted: one or more digits, optionally '.' followed by 1 .. exponent
    digits (no '.' at all when exponent is 0). "0" parses as 0: whether an
    amount may be 0 is the caller's rule.
    LEDGER_E_INVALID: NULL or empty text, any sign ('-', '+'), spaces,
    exponents ("1e5"), more than one '.', a '.' without digits on either side,
    more decimals than the exponent ("12.345" with exponent 2, "1.0" with 0),
    any other character, text longer than MONEY_INPUT_MAX, an exponent over
    CURRENCY_EXPONENT_MAX. LEDGER_E_OVERFLOW: the amount in minor units does
    not fit an int64_t. *minor_out is written only on LEDGER_OK. */
ledger_err_t money_parse_decimal(const char *text, uint8_t exponent, int64_t *minor_out);

/*  Formats minor units as a decimal in major units with exactly `exponent`
    (0 .. CURRENCY_EXPONENT_MAX) decimals, and no '.' for exponent 0:
    1234, 2 -> "12.34"; 5, 3 -> "0.005"; -5, 2 -> "-0.05"; 1234, 0 -> "1234".
    INT64_MIN formats too. `out` must hold MONEY_TEXT_MAX bytes. Returns `out`. */
char *money_format_decimal(int64_t minor, uint8_t exponent, char out[MONEY_TEXT_MAX]);

#endif

/*  currency.h: the one table of ISO 4217 currencies the ledger knows, with
    their minor-unit exponents (digits after the decimal point).

    What it does: maps a currency code ("EUR") to its exponent and name, and
    lists the table. Core (money_parse_decimal / money_format_decimal take
    the exponent), the accounts node (opening accounts, declining transfers
    in an unknown currency: unknown_currency), the gateway (amount parsing,
    GET /api/currencies) and, through that route, the web page all read this
    table: there is no second copy anywhere.

    Owns: a static const table; nothing is allocated.
    Errors: none; currency_find returns NULL for a code not in the table (or
    NULL), currency_at NULL for an index out of range.
    Threads: any thread (pure functions over constant data).
*/
#ifndef LEDGER_CURRENCY_H
#define LEDGER_CURRENCY_H

#include <stddef.h>
#include <stdint.h>

/* Most digits after the decimal point of any currency in the table (ISO 4217 has up to 4). */
#define CURRENCY_EXPONENT_MAX 4
/* Bytes of a currency code, without the terminator. */
#define CURRENCY_CODE_LEN 3

typedef struct {
    const char *code; /* ISO 4217 alphabetic code: 3 upper-case letters */
    uint8_t exponent; /* minor-unit digits: 2 for GBP (pence), 0 for JPY, 3 for KWD */
    const char *name; /* English name, for people ("Pound sterling") */
} currency_t;

/* The currency whose code is exactly `code` (NUL-terminated, case-sensitive); NULL if none
   or `code` is NULL. */
const currency_t *currency_find(const char *code);

/* How many currencies the table has (at least 1). */
size_t currency_count(void);

/* The i-th currency of the table (GBP first, then in the table's fixed order); NULL if
   i >= currency_count(). */
const currency_t *currency_at(size_t i);

#endif

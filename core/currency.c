/*  currency.c: the ISO 4217 table (see currency.h). GBP first: the currency of
    every account opened before there were others. To add a currency, add a
    row here and its settlement account id in proto_settlement_id
    (proto/proto_rules.c; a unit test checks that every row has one). */
#include "currency.h"

#include <string.h>

static const currency_t CURRENCIES[] = {
    {"GBP", 2, "Pound sterling"}, {"EUR", 2, "Euro"},
    {"USD", 2, "US dollar"},      {"JPY", 0, "Yen"},
    {"KWD", 3, "Kuwaiti dinar"},  {"CHF", 2, "Swiss franc"},
};

#define CURRENCY_ROWS (sizeof CURRENCIES / sizeof CURRENCIES[0])

const currency_t *currency_find(const char *code)
{
    if (!code)
        return NULL;
    for (size_t i = 0; i < CURRENCY_ROWS; i++)
        if (strcmp(CURRENCIES[i].code, code) == 0)
            return &CURRENCIES[i];
    return NULL;
}

size_t currency_count(void)
{
    return CURRENCY_ROWS;
}

const currency_t *currency_at(size_t i)
{
    return i < CURRENCY_ROWS ? &CURRENCIES[i] : NULL;
}

/*  proto_rules.c: the value rules of the wire, in one place.

    The account-id, node-name, currency and UTF-8 rules used to be written out in
    accounts, fraud, the gateway and proto each; these are the only copies
    now (contracts in proto.h). proto's own field checks call them too.
*/
#include "proto.h"

#include <string.h>

#include "currency.h"

static bool account_id_char_valid(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

bool proto_account_id_valid(const char *id, size_t len)
{
    if (len == 0 || len > PROTO_ACCOUNT_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!account_id_char_valid(id[i]))
            return false;
    }
    return true;
}

bool proto_node_name_valid(const char *name, size_t len)
{
    if (len == 0 || len > PROTO_NODE_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!account_id_char_valid(name[i]))
            return false;
    }
    return true;
}

bool proto_account_id_valid_str(const char *id)
{
    if (!id)
        return false;
    return proto_account_id_valid(id, strnlen(id, PROTO_ACCOUNT_ID_MAX + 1));
}

/* The settlement account of each currency of core/currency.h. GBP's is "funding", its id
   since before there were other currencies (the hash-chained ledger names it); the others
   are "funding-" and the code in lower case. currency_test checks every row has one. */
static const struct {
    const char *currency;
    const char *id;
} SETTLEMENT_IDS[] = {
    {"GBP", "funding"},     {"EUR", "funding-eur"}, {"USD", "funding-usd"},
    {"JPY", "funding-jpy"}, {"KWD", "funding-kwd"}, {"CHF", "funding-chf"},
};

const char *proto_settlement_id(const char *currency)
{
    /* only a currency of the table has one: a row here without one there is not a currency */
    if (!currency_find(currency))
        return NULL;
    for (size_t i = 0; i < sizeof SETTLEMENT_IDS / sizeof SETTLEMENT_IDS[0]; i++)
        if (strcmp(SETTLEMENT_IDS[i].currency, currency) == 0)
            return SETTLEMENT_IDS[i].id;
    return NULL;
}

const char *proto_settlement_currency(const char *id)
{
    if (!id)
        return NULL;
    for (size_t i = 0; i < sizeof SETTLEMENT_IDS / sizeof SETTLEMENT_IDS[0]; i++)
        if (id[0] == SETTLEMENT_IDS[i].id[0] && strcmp(id, SETTLEMENT_IDS[i].id) == 0)
            return currency_find(SETTLEMENT_IDS[i].currency) ? SETTLEMENT_IDS[i].currency : NULL;
    return NULL;
}

bool proto_account_status_valid(const char *status)
{
    return status && (strcmp(status, PROTO_ACCOUNT_STATUS_ACTIVE) == 0 ||
                      strcmp(status, PROTO_ACCOUNT_STATUS_FROZEN) == 0 ||
                      strcmp(status, PROTO_ACCOUNT_STATUS_CLOSED) == 0);
}

bool proto_currency_valid(const char *currency)
{
    if (!currency)
        return false;
    for (size_t i = 0; i < PROTO_CURRENCY_LEN; i++) {
        if (currency[i] < 'A' || currency[i] > 'Z')
            return false;
    }
    return currency[PROTO_CURRENCY_LEN] == '\0';
}

/* Length of the well-formed UTF-8 sequence at s[0..avail), or 0 if it is not one. */
static size_t utf8_sequence_len(const unsigned char *s, size_t avail)
{
    unsigned lead = s[0];
    if (lead < 0x80)
        return 1;
    size_t len;
    uint32_t cp, min;
    if ((lead & 0xe0) == 0xc0) {
        len = 2, cp = lead & 0x1f, min = 0x80;
    } else if ((lead & 0xf0) == 0xe0) {
        len = 3, cp = lead & 0x0f, min = 0x800;
    } else if ((lead & 0xf8) == 0xf0) {
        len = 4, cp = lead & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (len > avail)
        return 0;
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[k] & 0x3f);
    }
    /* overlong forms, surrogates and code points past Unicode are not UTF-8 */
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

bool proto_utf8_valid(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        /* ASCII, most of every string on the wire, needs no decoding */
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        size_t n = utf8_sequence_len(u + i, len - i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

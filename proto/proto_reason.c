/*  proto_reason.c: the reasons proto's errors carry.

    Every error proto returns comes with a sentence in the caller's `why`
    buffer that names the field it is about ("body.accounts[3].currency:
    must be 3 upper-case letters A-Z"). proto_internal.h has the contracts.
*/
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>

#include "proto_internal.h"

/* Room for the place a reason names ("body.accounts[199].balance_minor") and its text. */
#define REASON_WHERE_MAX 96
#define REASON_TEXT_MAX 192
/* Bytes quoted as themselves: printable ASCII. */
#define ASCII_FIRST_PRINTABLE 0x20
#define ASCII_DEL 0x7f

void proto_reason_say(char *why, size_t why_size, const char *fmt, ...)
{
    if (!why || why_size == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_size, fmt, ap);
    va_end(ap);
}

void proto_reason_clear(char *why, size_t why_size)
{
    if (why && why_size)
        why[0] = '\0';
}

ledger_err_t proto_reason_fail(proto_ctx_t *c, ledger_err_t err, const char *field, const char *fmt,
                               ...)
{
    assert(c && field && fmt);
    if (!c->why || c->why_size == 0)
        return err;
    char where[REASON_WHERE_MAX];
    if (c->index >= 0 && !field[0])
        snprintf(where, sizeof where, "%s[%ld]", c->scope, c->index);
    else if (c->index >= 0)
        snprintf(where, sizeof where, "%s[%ld].%s", c->scope, c->index, field);
    else if (c->scope[0])
        snprintf(where, sizeof where, "%s.%s", c->scope, field);
    else
        snprintf(where, sizeof where, "%s", field);
    char text[REASON_TEXT_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    proto_reason_say(c->why, c->why_size, "%s: %s", where, text);
    return err;
}

void proto_reason_quote(const char *s, size_t len, char out[PROTO_REASON_KEY_MAX + 1])
{
    assert(s || len == 0);
    size_t n = len < PROTO_REASON_KEY_MAX ? len : PROTO_REASON_KEY_MAX;
    for (size_t q = 0; q < n; q++)
        out[q] = (s[q] >= ASCII_FIRST_PRINTABLE && s[q] < ASCII_DEL) ? s[q] : '?';
    out[n] = '\0';
}

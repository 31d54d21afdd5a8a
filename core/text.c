/* text.c: bounded text field helpers. */
#include "text.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void text_copy(char *dst, size_t dst_size, const char *src)
{
    size_t n = strnlen(src, dst_size);
    assert(n < dst_size);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

size_t text_len_within(const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);
    return n > max ? 0 : n;
}

void text_format(char *out, size_t out_size, const char *fmt, ...)
{
    if (!out || out_size == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, out_size, fmt, ap);
    va_end(ap);
    if (n < 0)
        out[0] = '\0';
}

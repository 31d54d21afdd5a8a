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

void text_copy_cut(char *dst, size_t dst_size, const char *src)
{
    assert(dst_size >= 1);
    size_t n = strnlen(src, dst_size - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

size_t text_len_within(const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);
    return n > max ? 0 : n;
}

bool text_parse_u64(const char *text, uint64_t *out)
{
    if (!text || !*text || strlen(text) > 20)
        return false;
    uint64_t value = 0;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        if (__builtin_mul_overflow(value, 10u, &value) ||
            __builtin_add_overflow(value, (uint64_t)(*p - '0'), &value))
            return false;
    }
    *out = value;
    return true;
}

size_t text_u64(uint64_t value, char *out)
{
    char reversed[TEXT_U64_DIGITS_MAX];
    size_t n = 0;
    do {
        reversed[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value);
    for (size_t i = 0; i < n; i++)
        out[i] = reversed[n - 1 - i];
    out[n] = '\0';
    return n;
}

void text_hex(uint64_t value, size_t width, char *out)
{
    static const char digits[] = "0123456789abcdef";
    assert(width >= 1 && width <= 16);
    assert(width == 16 || value >> (4 * width) == 0);
    for (size_t i = width; i-- > 0; value >>= 4)
        out[i] = digits[value & 0xf];
    out[width] = '\0';
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

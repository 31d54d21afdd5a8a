/* json_out.c: JSON text written straight into a growing buffer. */
#include "json_out.h"

#include <stdlib.h>
#include <string.h>

#include "text.h"

#define JSON_OUT_MIN_CAP 256

/* Room for `more` bytes plus the final NUL; false (sticky) when memory runs out. */
static bool reserve(json_out_t *out, size_t more)
{
    if (out->failed)
        return false;
    if (more < out->cap - out->len) /* cap > len always once allocated; 0 - 0 before */
        return true;
    size_t need = out->len + more + 1;
    if (need < more) { /* overflow */
        out->failed = true;
        return false;
    }
    size_t cap = out->cap ? out->cap : JSON_OUT_MIN_CAP;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *data = realloc(out->data, cap);
    if (!data) {
        out->failed = true;
        return false;
    }
    out->data = data;
    out->cap = cap;
    return true;
}

void json_out_init(json_out_t *out, size_t reserve_bytes)
{
    memset(out, 0, sizeof *out);
    if (reserve_bytes)
        reserve(out, reserve_bytes);
}

static void put_raw(json_out_t *out, const char *text, size_t size)
{
    if (!reserve(out, size))
        return;
    memcpy(out->data + out->len, text, size);
    out->len += size;
}

/* A comma before a key or value unless it opens its container or follows its key. */
static void put_separator(json_out_t *out)
{
    if (out->failed || out->len == 0)
        return;
    char last = out->data[out->len - 1];
    if (last != '{' && last != '[' && last != ':')
        put_raw(out, ",", 1);
}

void json_out_begin_object(json_out_t *out)
{
    put_separator(out);
    put_raw(out, "{", 1);
}

void json_out_end_object(json_out_t *out)
{
    put_raw(out, "}", 1);
}

void json_out_begin_array(json_out_t *out)
{
    put_separator(out);
    put_raw(out, "[", 1);
}

void json_out_end_array(json_out_t *out)
{
    put_raw(out, "]", 1);
}

void json_out_null(json_out_t *out)
{
    put_separator(out);
    put_raw(out, "null", 4);
}

/* The escape jansson writes for byte `c`, or NULL when it goes out as it is. */
static const char *named_escape(unsigned char c)
{
    switch (c) {
    case '"':
        return "\\\"";
    case '\\':
        return "\\\\";
    case '\b':
        return "\\b";
    case '\f':
        return "\\f";
    case '\n':
        return "\\n";
    case '\r':
        return "\\r";
    case '\t':
        return "\\t";
    default:
        return NULL;
    }
}

/* `text` quoted and escaped, with no separator. */
static void put_string(json_out_t *out, const char *text)
{
    size_t size = strlen(text);
    /* Worst case every byte becomes \u00XX (6 bytes), plus the quotes. */
    if (size > (SIZE_MAX - 2) / 6 || !reserve(out, size * 6 + 2)) {
        out->failed = true;
        return;
    }
    char *dst = out->data + out->len;
    *dst++ = '"';
    size_t run = 0; /* bytes of `text` before i that go out as they are */
    for (size_t i = 0; i < size; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        memcpy(dst, text + run, i - run);
        dst += i - run;
        run = i + 1;
        const char *named = named_escape(c);
        if (named) {
            memcpy(dst, named, 2);
            dst += 2;
        } else {
            static const char hex[] = "0123456789ABCDEF"; /* jansson: \\u%04X */
            memcpy(dst, "\\u00", 4);
            dst[4] = hex[c >> 4];
            dst[5] = hex[c & 0xf];
            dst += 6;
        }
    }
    memcpy(dst, text + run, size - run);
    dst += size - run;
    *dst++ = '"';
    out->len = (size_t)(dst - out->data);
}

void json_out_str(json_out_t *out, const char *text)
{
    put_separator(out);
    put_string(out, text);
}

void json_out_key(json_out_t *out, const char *key)
{
    put_separator(out);
    put_string(out, key);
    put_raw(out, ":", 1);
}

void json_out_int(json_out_t *out, int64_t value)
{
    char digits[TEXT_U64_DIGITS_MAX + 2];
    char *p = digits;
    uint64_t magnitude = (uint64_t)value;
    if (value < 0) {
        *p++ = '-';
        magnitude = 0 - magnitude; /* well defined for INT64_MIN too */
    }
    size_t n = text_u64(magnitude, p);
    put_separator(out);
    put_raw(out, digits, (size_t)(p - digits) + n);
}

void json_out_member_str(json_out_t *out, const char *key, const char *text)
{
    json_out_key(out, key);
    json_out_str(out, text);
}

void json_out_member_int(json_out_t *out, const char *key, int64_t value)
{
    json_out_key(out, key);
    json_out_int(out, value);
}

char *json_out_take(json_out_t *out, size_t *size_out)
{
    if (out->failed || !reserve(out, 0)) {
        json_out_free(out);
        return NULL;
    }
    out->data[out->len] = '\0';
    char *text = out->data;
    if (size_out)
        *size_out = out->len;
    memset(out, 0, sizeof *out);
    return text;
}

void json_out_free(json_out_t *out)
{
    free(out->data);
    memset(out, 0, sizeof *out);
}

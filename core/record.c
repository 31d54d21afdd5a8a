/* record.c: bounded big-endian binary record writer and reader. */
#include "record.h"

#include <string.h>

void record_put_bytes(record_writer_t *w, const void *bytes, size_t n)
{
    if (!w->ok || n > w->cap - w->len) {
        w->ok = false;
        return;
    }
    if (n)
        memcpy(w->buf + w->len, bytes, n);
    w->len += n;
}

void record_put_u8(record_writer_t *w, uint8_t v)
{
    record_put_bytes(w, &v, 1);
}

void record_put_u64(record_writer_t *w, uint64_t v)
{
    uint8_t b[8];
    for (int i = 7; i >= 0; i--, v >>= 8)
        b[i] = (uint8_t)v;
    record_put_bytes(w, b, sizeof b);
}

void record_put_str8(record_writer_t *w, const char *s)
{
    size_t n = strlen(s);
    if (n > UINT8_MAX) {
        w->ok = false;
        return;
    }
    record_put_u8(w, (uint8_t)n);
    record_put_bytes(w, s, n);
}

void record_put_str16(record_writer_t *w, const char *s)
{
    size_t n = strlen(s);
    if (n > UINT16_MAX) {
        w->ok = false;
        return;
    }
    uint8_t b[2] = {(uint8_t)(n >> 8), (uint8_t)n};
    record_put_bytes(w, b, sizeof b);
    record_put_bytes(w, s, n);
}

const uint8_t *record_take(record_reader_t *r, size_t n)
{
    if (!r->ok || n > r->size - r->pos) {
        r->ok = false;
        return NULL;
    }
    const uint8_t *p = r->p + r->pos;
    r->pos += n;
    return p;
}

uint8_t record_get_u8(record_reader_t *r)
{
    const uint8_t *p = record_take(r, 1);
    return p ? p[0] : 0;
}

uint64_t record_get_u64(record_reader_t *r)
{
    const uint8_t *p = record_take(r, 8);
    uint64_t v = 0;
    for (int i = 0; p && i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

void record_get_fixed(record_reader_t *r, char *out, size_t n)
{
    const uint8_t *p = record_take(r, n);
    if (!p || memchr(p, '\0', n)) {
        r->ok = false;
        out[0] = '\0';
        return;
    }
    memcpy(out, p, n);
    out[n] = '\0';
}

static void get_counted(record_reader_t *r, size_t n, char *out, size_t max)
{
    if (!r->ok || n > max) {
        r->ok = false;
        out[0] = '\0';
        return;
    }
    record_get_fixed(r, out, n);
}

void record_get_str8(record_reader_t *r, char *out, size_t max)
{
    size_t n = record_get_u8(r);
    get_counted(r, n, out, max);
}

void record_get_str16(record_reader_t *r, char *out, size_t max)
{
    const uint8_t *b = record_take(r, 2);
    size_t n = b ? ((size_t)b[0] << 8 | b[1]) : 0;
    get_counted(r, n, out, max);
}

bool record_done(const record_reader_t *r)
{
    return r->ok && r->pos == r->size;
}

/* record.c: bounded big-endian binary record writer and reader. */
#include "record.h"

#include <string.h>

#define RECORD_U16_BYTES 2
#define RECORD_U32_BYTES 4
#define RECORD_U64_BYTES 8

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

/* The low `n` bytes of `v`, most significant first. */
static void put_be(record_writer_t *w, uint64_t v, size_t n)
{
    uint8_t b[RECORD_U64_BYTES];
    for (size_t i = n; i-- > 0; v >>= 8)
        b[i] = (uint8_t)v;
    record_put_bytes(w, b, n);
}

void record_put_u16(record_writer_t *w, uint16_t v)
{
    put_be(w, v, RECORD_U16_BYTES);
}

void record_put_u32(record_writer_t *w, uint32_t v)
{
    put_be(w, v, RECORD_U32_BYTES);
}

void record_put_u64(record_writer_t *w, uint64_t v)
{
    put_be(w, v, RECORD_U64_BYTES);
}

void record_put_i64(record_writer_t *w, int64_t v)
{
    put_be(w, (uint64_t)v, RECORD_U64_BYTES);
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
    record_put_u16(w, (uint16_t)n);
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

/* The next `n` bytes as a big-endian unsigned value; 0 if short. */
static uint64_t get_be(record_reader_t *r, size_t n)
{
    const uint8_t *p = record_take(r, n);
    uint64_t v = 0;
    for (size_t i = 0; p && i < n; i++)
        v = v << 8 | p[i];
    return v;
}

uint16_t record_get_u16(record_reader_t *r)
{
    return (uint16_t)get_be(r, RECORD_U16_BYTES);
}

uint32_t record_get_u32(record_reader_t *r)
{
    return (uint32_t)get_be(r, RECORD_U32_BYTES);
}

uint64_t record_get_u64(record_reader_t *r)
{
    return get_be(r, RECORD_U64_BYTES);
}

int64_t record_get_i64(record_reader_t *r)
{
    uint64_t u = get_be(r, RECORD_U64_BYTES);
    if (u <= (uint64_t)INT64_MAX)
        return (int64_t)u;
    return -(int64_t)(~u) - 1;
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
    size_t n = record_get_u16(r);
    get_counted(r, n, out, max);
}

bool record_done(const record_reader_t *r)
{
    return r->ok && r->pos == r->size;
}

/*  record.h: bounded big-endian binary records (writer and reader).

    The nodes keep their own records (accounts, saga state, fraud decisions)
    in LMDB as small fixed-layout binary values: integers big-endian,
    strings with a 1- or 2-byte length in front. The store keeps its outbox,
    dead letter and ledger records the same way. These two cursors write and
    read them with explicit bounds: once anything does not fit (writer) or is
    short or malformed (reader), `ok` turns false and stays false, every later
    call is a no-op, and the caller checks `ok` once at the end. Nothing is
    ever read or written out of bounds. Pure, thread-safe.

    Usage:
        uint8_t buf[64];
        record_writer_t w = {buf, sizeof buf, 0, true};
        record_put_u8(&w, VERSION); record_put_str8(&w, id);
        if (!w.ok) ...                     // w.len bytes written

        record_reader_t r = {data, size, 0, true};
        uint8_t version = record_get_u8(&r); record_get_str8(&r, id, ID_MAX);
        if (!record_done(&r)) ...          // malformed, short, or trailing bytes
*/
#ifndef LEDGER_RECORD_H
#define LEDGER_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    uint8_t *buf;
    size_t cap;
    size_t len;
    bool ok; /* false once anything did not fit */
} record_writer_t;

typedef struct {
    const uint8_t *p;
    size_t size;
    size_t pos;
    bool ok; /* false once anything was short or malformed */
} record_reader_t;

/*  The functions are static inline: the ledger append writes ten fields an
    entry and the nodes read and write their records on every message, so
    a call per field out of line was measurable (bench/callgrind.py). */
#define RECORD_U16_BYTES 2
#define RECORD_U32_BYTES 4
#define RECORD_U64_BYTES 8

static inline void record_put_bytes(record_writer_t *w, const void *bytes, size_t n)
{
    if (!w->ok || n > w->cap - w->len) {
        w->ok = false;
        return;
    }
    if (n)
        memcpy(w->buf + w->len, bytes, n);
    w->len += n;
}

static inline void record_put_u8(record_writer_t *w, uint8_t v)
{
    record_put_bytes(w, &v, 1);
}

/* The low `n` bytes of `v`, most significant first. */
static inline void record_put_be(record_writer_t *w, uint64_t v, size_t n)
{
    uint8_t b[RECORD_U64_BYTES];
    for (size_t i = n; i-- > 0; v >>= 8)
        b[i] = (uint8_t)v;
    record_put_bytes(w, b, n);
}

static inline void record_put_u16(record_writer_t *w, uint16_t v)
{
    record_put_be(w, v, RECORD_U16_BYTES);
}

static inline void record_put_u32(record_writer_t *w, uint32_t v)
{
    record_put_be(w, v, RECORD_U32_BYTES);
}

static inline void record_put_u64(record_writer_t *w, uint64_t v)
{
    record_put_be(w, v, RECORD_U64_BYTES);
}

/* A signed value as the two's complement bit pattern of its 8 bytes. */
static inline void record_put_i64(record_writer_t *w, int64_t v)
{
    record_put_be(w, (uint64_t)v, RECORD_U64_BYTES);
}

/* A string with a 1-byte length; a string over 255 bytes sets ok = false. */
static inline void record_put_str8(record_writer_t *w, const char *s)
{
    size_t n = strlen(s);
    if (n > UINT8_MAX) {
        w->ok = false;
        return;
    }
    record_put_u8(w, (uint8_t)n);
    record_put_bytes(w, s, n);
}

/* A string with a 2-byte big-endian length; over 65535 bytes sets ok = false. */
static inline void record_put_str16(record_writer_t *w, const char *s)
{
    size_t n = strlen(s);
    if (n > UINT16_MAX) {
        w->ok = false;
        return;
    }
    record_put_u16(w, (uint16_t)n);
    record_put_bytes(w, s, n);
}

/* The next n bytes (pointer into the record), or NULL (and ok = false) if short. */
static inline const uint8_t *record_take(record_reader_t *r, size_t n)
{
    if (!r->ok || n > r->size - r->pos) {
        r->ok = false;
        return NULL;
    }
    const uint8_t *p = r->p + r->pos;
    r->pos += n;
    return p;
}

static inline uint8_t record_get_u8(record_reader_t *r)
{
    const uint8_t *p = record_take(r, 1);
    return p ? p[0] : 0;
}

/* The next `n` bytes as a big-endian unsigned value; 0 if short. */
static inline uint64_t record_get_be(record_reader_t *r, size_t n)
{
    const uint8_t *p = record_take(r, n);
    uint64_t v = 0;
    for (size_t i = 0; p && i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static inline uint16_t record_get_u16(record_reader_t *r)
{
    return (uint16_t)record_get_be(r, RECORD_U16_BYTES);
}

static inline uint32_t record_get_u32(record_reader_t *r)
{
    return (uint32_t)record_get_be(r, RECORD_U32_BYTES);
}

static inline uint64_t record_get_u64(record_reader_t *r)
{
    return record_get_be(r, RECORD_U64_BYTES);
}

/* The inverse of record_put_i64, without relying on an implementation-defined cast. */
static inline int64_t record_get_i64(record_reader_t *r)
{
    uint64_t u = record_get_be(r, RECORD_U64_BYTES);
    if (u <= (uint64_t)INT64_MAX)
        return (int64_t)u;
    return -(int64_t)(~u) - 1;
}

/* Exactly n bytes into out[n + 1], NUL-terminated; an embedded NUL is malformed. */
static inline void record_get_fixed(record_reader_t *r, char *out, size_t n)
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

static inline void record_get_counted(record_reader_t *r, size_t n, char *out, size_t max)
{
    if (!r->ok || n > max) {
        r->ok = false;
        out[0] = '\0';
        return;
    }
    record_get_fixed(r, out, n);
}

/* A 1-byte-length string of at most `max` bytes into out[max + 1]. */
static inline void record_get_str8(record_reader_t *r, char *out, size_t max)
{
    size_t n = record_get_u8(r);
    record_get_counted(r, n, out, max);
}

/* A 2-byte-length string of at most `max` bytes into out[max + 1]. */
static inline void record_get_str16(record_reader_t *r, char *out, size_t max)
{
    size_t n = record_get_u16(r);
    record_get_counted(r, n, out, max);
}

/* True when everything read was well-formed and the whole record was consumed. */
static inline bool record_done(const record_reader_t *r)
{
    return r->ok && r->pos == r->size;
}

#endif

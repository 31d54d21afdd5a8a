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

void record_put_bytes(record_writer_t *w, const void *bytes, size_t n);
void record_put_u8(record_writer_t *w, uint8_t v);
void record_put_u16(record_writer_t *w, uint16_t v);
void record_put_u32(record_writer_t *w, uint32_t v);
void record_put_u64(record_writer_t *w, uint64_t v);
/* A signed value as the two's complement bit pattern of its 8 bytes. */
void record_put_i64(record_writer_t *w, int64_t v);
/* A string with a 1-byte length; a string over 255 bytes sets ok = false. */
void record_put_str8(record_writer_t *w, const char *s);
/* A string with a 2-byte big-endian length; over 65535 bytes sets ok = false. */
void record_put_str16(record_writer_t *w, const char *s);

/* The next n bytes (pointer into the record), or NULL (and ok = false) if short. */
const uint8_t *record_take(record_reader_t *r, size_t n);
uint8_t record_get_u8(record_reader_t *r);
uint16_t record_get_u16(record_reader_t *r);
uint32_t record_get_u32(record_reader_t *r);
uint64_t record_get_u64(record_reader_t *r);
/* The inverse of record_put_i64, without relying on an implementation-defined cast. */
int64_t record_get_i64(record_reader_t *r);
/* Exactly n bytes into out[n + 1], NUL-terminated; an embedded NUL is malformed. */
void record_get_fixed(record_reader_t *r, char *out, size_t n);
/* A 1-byte-length string of at most `max` bytes into out[max + 1]. */
void record_get_str8(record_reader_t *r, char *out, size_t max);
/* A 2-byte-length string of at most `max` bytes into out[max + 1]. */
void record_get_str16(record_reader_t *r, char *out, size_t max);
/* True when everything read was well-formed and the whole record was consumed. */
bool record_done(const record_reader_t *r);

#endif

/*  proto_frame.c: decoding, step 2: the structural check (proto_frame_check);
    and proto_frame_id, which reads an envelope's id with the same walk.

    msgpack-c allocates an array's or map's elements as soon as it reads the
    count, before reading them: a 5-byte frame claiming 2^32 elements asks for
    ~100 GB. Its nesting limit is 32 and not configurable. So before handing
    the bytes to msgpack-c we walk them once, allocating nothing: every claimed
    element needs at least one byte of input (a map entry two), nesting may not
    pass PROTO_NEST_MAX, lengths may not run past the end, and exactly one
    object must fill the frame.
*/
#include <assert.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>

#include "proto.h"
#include "proto_internal.h"

/* The msgpack format bytes the walk tells apart (msgpack spec, "formats"). */
#define MP_POSITIVE_FIXINT_LAST 0x7f
#define MP_FIXMAP_LAST 0x8f    /* 0x80..0x8f: map of (b & 0x0f) entries */
#define MP_FIXARRAY_LAST 0x9f  /* 0x90..0x9f: array of (b & 0x0f) items */
#define MP_FIXSTR_LAST 0xbf    /* 0xa0..0xbf: str of (b & 0x1f) bytes */
#define MP_FIX_COUNT_MASK 0x0f /* count of a fixmap/fixarray */
#define MP_FIXSTR_LEN_MASK 0x1f
#define MP_NIL 0xc0
#define MP_NEVER_USED 0xc1
#define MP_FALSE 0xc2
#define MP_TRUE 0xc3
#define MP_NEGATIVE_FIXINT_FIRST 0xe0

/* What a header byte announces. */
typedef struct {
    uint64_t skip;  /* payload bytes after the header (and its length) */
    uint64_t count; /* items of a container (entries of a map) */
    int width;      /* bytes of a big-endian length or count that follows */
    bool container;
    bool is_map;
} frame_head_t;

/* The walk: the bytes, where we are, and the caller's reason buffer. */
typedef struct {
    const uint8_t *p;
    size_t size;
    size_t pos;
    char *why;
    size_t why_size;
} frame_walk_t;

/* Heads of the formats from 0xc4 on that carry a length, a count or a fixed payload. */
static bool frame_head_ext(uint8_t b, frame_head_t *h)
{
    /* clang-format off */
    switch (b) {
    case 0xc4: case 0xd9: h->width = 1; break;         /* bin8, str8 */
    case 0xc5: case 0xda: h->width = 2; break;         /* bin16, str16 */
    case 0xc6: case 0xdb: h->width = 4; break;         /* bin32, str32 */
    case 0xc7: h->width = 1, h->skip = 1; break;       /* ext8: + type byte */
    case 0xc8: h->width = 2, h->skip = 1; break;       /* ext16 */
    case 0xc9: h->width = 4, h->skip = 1; break;       /* ext32 */
    case 0xca: h->skip = 4; break;                     /* float32 */
    case 0xcb: h->skip = 8; break;                     /* float64 */
    case 0xcc: case 0xd0: h->skip = 1; break;          /* (u)int8 */
    case 0xcd: case 0xd1: h->skip = 2; break;          /* (u)int16 */
    case 0xce: case 0xd2: h->skip = 4; break;          /* (u)int32 */
    case 0xcf: case 0xd3: h->skip = 8; break;          /* (u)int64 */
    case 0xd4: h->skip = 2; break;                     /* fixext1 */
    case 0xd5: h->skip = 3; break;                     /* fixext2 */
    case 0xd6: h->skip = 5; break;                     /* fixext4 */
    case 0xd7: h->skip = 9; break;                     /* fixext8 */
    case 0xd8: h->skip = 17; break;                    /* fixext16 */
    case 0xdc: h->container = true, h->width = 2; break;  /* array16 */
    case 0xdd: h->container = true, h->width = 4; break;  /* array32 */
    case 0xde: h->container = h->is_map = true, h->width = 2; break; /* map16 */
    case 0xdf: h->container = h->is_map = true, h->width = 4; break; /* map32 */
    default: return false; /* MP_NEVER_USED */
    }
    /* clang-format on */
    return true;
}

/* Reads header byte `b` into *h; false for the byte msgpack never uses. */
static bool frame_head(uint8_t b, frame_head_t *h)
{
    *h = (frame_head_t){0};
    if (b <= MP_POSITIVE_FIXINT_LAST || b >= MP_NEGATIVE_FIXINT_FIRST || b == MP_NIL ||
        b == MP_FALSE || b == MP_TRUE)
        return true;
    if (b <= MP_FIXMAP_LAST) {
        h->container = h->is_map = true;
        h->count = b & MP_FIX_COUNT_MASK;
    } else if (b <= MP_FIXARRAY_LAST) {
        h->container = true;
        h->count = b & MP_FIX_COUNT_MASK;
    } else if (b <= MP_FIXSTR_LAST) {
        h->skip = b & MP_FIXSTR_LEN_MASK;
    } else {
        return frame_head_ext(b, h);
    }
    return true;
}

/* LEDGER_E_DECODE unless `n` more bytes remain. */
static ledger_err_t frame_need(frame_walk_t *w, uint64_t n)
{
    if (n > w->size - w->pos) {
        proto_reason_say(w->why, w->why_size,
                         "truncated frame: needs %" PRIu64 " more bytes at offset %zu", n, w->pos);
        return LEDGER_E_DECODE;
    }
    return LEDGER_OK;
}

/* Reads the header of the next object into *h, with its big-endian length or count. */
static ledger_err_t frame_read_head(frame_walk_t *w, frame_head_t *h)
{
    PROTO_CHECK(frame_need(w, 1));
    uint8_t b = w->p[w->pos++];
    if (!frame_head(b, h)) {
        proto_reason_say(w->why, w->why_size, "not msgpack: byte 0x%02x at offset %zu", b,
                         w->pos - 1);
        return LEDGER_E_DECODE;
    }
    if (h->width == 0)
        return LEDGER_OK;
    PROTO_CHECK(frame_need(w, (uint64_t)h->width));
    uint64_t n = 0;
    for (int i = 0; i < h->width; i++)
        n = (n << 8) | w->p[w->pos++];
    if (h->container)
        h->count = n;
    else
        h->skip += n;
    return LEDGER_OK;
}

/* Items a container at nesting level `depth` opens (a map's entries count twice). */
static ledger_err_t frame_open(frame_walk_t *w, const frame_head_t *h, int depth,
                               uint64_t *items_out)
{
    if (depth > PROTO_NEST_MAX) {
        proto_reason_say(w->why, w->why_size, "nesting deeper than %d levels at offset %zu",
                         PROTO_NEST_MAX, w->pos);
        return LEDGER_E_DECODE;
    }
    uint64_t items = h->is_map ? h->count * 2 : h->count;
    if (items > w->size - w->pos) {
        proto_reason_say(w->why, w->why_size,
                         "truncated frame: container claims %" PRIu64 " items, %zu bytes remain",
                         h->count, w->size - w->pos);
        return LEDGER_E_DECODE;
    }
    *items_out = items;
    return LEDGER_OK;
}

/* Walks one object and everything inside it, without recursion. */
static ledger_err_t frame_walk(frame_walk_t *w)
{
    uint64_t left[PROTO_NEST_MAX + 1]; /* items still to read at each open level */
    int top = 0;
    left[0] = 1;
    while (top >= 0) {
        if (left[top] == 0) {
            top--;
            continue;
        }
        left[top]--;
        frame_head_t h;
        PROTO_CHECK(frame_read_head(w, &h));
        if (!h.container) {
            PROTO_CHECK(frame_need(w, h.skip));
            w->pos += (size_t)h.skip;
            continue;
        }
        uint64_t items = 0;
        PROTO_CHECK(frame_open(w, &h, top + 1, &items));
        left[++top] = items;
    }
    return LEDGER_OK;
}

ledger_err_t proto_frame_check(const void *data, size_t size, char *why, size_t why_size)
{
    if (size > PROTO_FRAME_MAX) {
        proto_reason_say(why, why_size, "frame of %zu bytes exceeds PROTO_FRAME_MAX (%d)", size,
                         PROTO_FRAME_MAX);
        return LEDGER_E_TOO_LARGE;
    }
    if (size == 0 || !data) {
        proto_reason_say(why, why_size, "empty frame");
        return LEDGER_E_DECODE;
    }
    frame_walk_t w = {data, size, 0, why, why_size};
    PROTO_CHECK(frame_walk(&w));
    assert(w.pos <= size);
    if (w.pos != size) {
        proto_reason_say(why, why_size, "%zu trailing bytes after the envelope", size - w.pos);
        return LEDGER_E_DECODE;
    }
    return LEDGER_OK;
}

/* True if header byte `b` opens a msgpack str (fixstr, str8, str16, str32). */
static bool frame_is_str(uint8_t b)
{
    return (b > MP_FIXARRAY_LAST && b <= MP_FIXSTR_LAST) || b == 0xd9 || b == 0xda || b == 0xdb;
}

/* Reads a str at the walk's position: *s_out points into the frame, *len_out its bytes. */
static ledger_err_t frame_read_str(frame_walk_t *w, const uint8_t **s_out, size_t *len_out)
{
    PROTO_CHECK(frame_need(w, 1));
    if (!frame_is_str(w->p[w->pos]))
        return LEDGER_E_DECODE;
    frame_head_t h;
    PROTO_CHECK(frame_read_head(w, &h));
    PROTO_CHECK(frame_need(w, h.skip));
    *s_out = w->p + w->pos;
    *len_out = (size_t)h.skip;
    w->pos += (size_t)h.skip;
    return LEDGER_OK;
}

ledger_err_t proto_frame_id(const void *data, size_t size, char origin_out[PROTO_NODE_MAX + 1],
                            uint64_t *seq_out)
{
    assert(origin_out && seq_out);
    if (!data || size == 0 || size > PROTO_FRAME_MAX)
        return LEDGER_E_DECODE;
    frame_walk_t w = {data, size, 0, NULL, 0};
    frame_head_t h;
    PROTO_CHECK(frame_read_head(&w, &h));
    if (!h.is_map)
        return LEDGER_E_DECODE;
    /* Each entry: a str key, then its value; values other than the id's are walked over. */
    for (uint64_t i = 0; i < h.count; i++) {
        const uint8_t *key;
        size_t key_len;
        PROTO_CHECK(frame_read_str(&w, &key, &key_len));
        if (key_len != 2 || key[0] != 'i' || key[1] != 'd') {
            PROTO_CHECK(frame_walk(&w));
            continue;
        }
        const uint8_t *id;
        size_t id_len;
        PROTO_CHECK(frame_read_str(&w, &id, &id_len));
        return proto_id_parse_n((const char *)id, id_len, origin_out, seq_out) ? LEDGER_OK
                                                                               : LEDGER_E_DECODE;
    }
    return LEDGER_E_DECODE;
}

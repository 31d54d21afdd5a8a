/*  proto_encode.c: proto_encode, a proto_msg_t to one msgpack envelope.

    Validates first (proto_validate), so a node never sends what a peer would
    refuse. Every map is written from its key table (proto_fields.c): the
    keys the message carries, in table order; the values of PROTO_FIELD_OWN
    keys by the switch of their map below. An optional key at its zero value is left out (a
    reader takes the zero for it: README "General rules"). Packs into a growable buffer capped
    at PROTO_FRAME_MAX. No state between calls: thread-safe.
*/
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "proto_internal.h"

/* First allocation of an encode buffer: any saga message fits without growing. */
#define ENCODE_INITIAL_BYTES 512
/* Writes up to this many bytes (msgpack headers, short keys) are copied byte by byte. */
#define SMALL_WRITE_BYTES 8

typedef struct {
    char *data;
    size_t size;
    size_t alloc;
    ledger_err_t err;
} wbuf_t;

/* Grows `w` to hold `len` more bytes: doubling, never past PROTO_FRAME_MAX. */
static int wbuf_grow(wbuf_t *w, size_t len)
{
    if (len > PROTO_FRAME_MAX - w->size) {
        w->err = LEDGER_E_TOO_LARGE;
        return -1;
    }
    size_t alloc = w->alloc ? w->alloc : ENCODE_INITIAL_BYTES;
    while (alloc < w->size + len)
        alloc *= 2;
    if (alloc > PROTO_FRAME_MAX)
        alloc = PROTO_FRAME_MAX;
    char *grown = realloc(w->data, alloc);
    if (!grown) {
        w->err = LEDGER_E_NOMEM;
        return -1;
    }
    w->data = grown;
    w->alloc = alloc;
    return 0;
}

/* msgpack_packer callback: appends. msgpack-c calls it for every header and
   every body, most of them a byte or a few: those are copied without memcpy. */
static int wbuf_write(void *data, const char *buf, size_t len)
{
    wbuf_t *w = data;
    if (w->err)
        return -1;
    /* w->alloc <= PROTO_FRAME_MAX, so what fits the buffer fits a frame */
    if (len > w->alloc - w->size && wbuf_grow(w, len) != 0)
        return -1;
    char *out = w->data + w->size;
    if (len <= SMALL_WRITE_BYTES) {
        for (size_t i = 0; i < len; i++)
            out[i] = buf[i];
    } else {
        memcpy(out, buf, len);
    }
    w->size += len;
    return 0;
}

/* Each pack_* returns non-zero once a write failed; callers OR the results. */
static int pack_strn(msgpack_packer *pk, const char *s, size_t len)
{
    return msgpack_pack_str(pk, len) | msgpack_pack_str_body(pk, s, len);
}

static int pack_str(msgpack_packer *pk, const char *s)
{
    return pack_strn(pk, s, strlen(s));
}

/* Writes the value of plain field `f` of the struct at `base`. */
static int pack_value(msgpack_packer *pk, const proto_field_t *f, const char *base)
{
    const void *v = base + f->offset;
    switch (f->kind) {
    case PROTO_FIELD_STR:
        return pack_str(pk, v);
    case PROTO_FIELD_INT64:
        return msgpack_pack_int64(pk, *(const int64_t *)v);
    case PROTO_FIELD_UINT64:
        return msgpack_pack_uint64(pk, *(const uint64_t *)v);
    case PROTO_FIELD_UINT32:
        return msgpack_pack_uint32(pk, *(const uint32_t *)v);
    case PROTO_FIELD_BOOL:
        return *(const bool *)v ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
    case PROTO_FIELD_OWN:
        break;
    }
    assert(!"pack_value of a field without a plain kind");
    return -1;
}

/* Writes the value of OWN key `slot` of `table` for the struct at `base`. */
typedef int (*pack_own_fn)(msgpack_packer *pk, const proto_table_t *table, unsigned slot,
                           const void *base);

/*  Whether optional key `slot` of `table` holds its zero value in the struct at `base` (then it
    is not written: a reader takes the zero for an absent optional key, README "General rules").
    Plain kinds by their bytes; of the OWN keys, a transfer's kind and capture (0 = "transfer",
    "auto"), an account's status ("" = "active") and a reply's holds (none). */
static bool optional_is_zero(const proto_table_t *table, unsigned slot, const void *base)
{
    const proto_field_t *f = &table->fields[slot];
    const char *v = (const char *)base + f->offset;
    switch (f->kind) {
    case PROTO_FIELD_STR:
    case PROTO_FIELD_BOOL:
        return v[0] == 0;
    case PROTO_FIELD_INT64:
        return *(const int64_t *)(const void *)v == 0;
    case PROTO_FIELD_UINT64:
        return *(const uint64_t *)(const void *)v == 0;
    case PROTO_FIELD_UINT32:
        return *(const uint32_t *)(const void *)v == 0;
    case PROTO_FIELD_OWN:
        break;
    }
    if (table == &proto_transfer_table) {
        const proto_transfer_t *t = base;
        return slot == PROTO_TRANSFER_KEY_KIND ? t->kind == PROTO_TRANSFER_KIND_TRANSFER
                                               : t->capture == PROTO_CAPTURE_AUTO;
    }
    if (table == &proto_account_table)
        return ((const proto_account_t *)base)->status[0] == '\0';
    if (table == &proto_account_reply_table)
        return ((const proto_account_reply_t *)base)->hold_count == 0;
    return false;
}

/*  The keys of `table` to write for the struct at `base`: those `variant` carries, less the
    optional ones at their zero value. */
static uint32_t keys_to_write(const proto_table_t *table, unsigned variant, const void *base)
{
    uint32_t keys = proto_fields_carried(table, variant);
    for (uint32_t left = keys & proto_fields_optional(table); left; left &= left - 1) {
        unsigned i = (unsigned)__builtin_ctz(left);
        if (optional_is_zero(table, i, base))
            keys &= ~(1u << i);
    }
    return keys;
}

/* Writes the map of `table` for the struct at `base`: the keys `variant` carries (optional
   ones only when not zero). */
static int pack_map(msgpack_packer *pk, const proto_table_t *table, unsigned variant,
                    const void *base, pack_own_fn own)
{
    uint32_t keys = keys_to_write(table, variant, base);
    int rc = msgpack_pack_map(pk, (size_t)__builtin_popcount(keys));
    for (uint32_t left = keys; left && rc == 0; left &= left - 1) {
        unsigned i = (unsigned)__builtin_ctz(left);
        const proto_field_t *f = &table->fields[i];
        rc |= pack_strn(pk, f->name, f->name_len);
        rc |= f->kind == PROTO_FIELD_OWN ? own(pk, table, i, base) : pack_value(pk, f, base);
    }
    return rc;
}

/* The OWN keys of reply items: an account's status, a hold's kind and capture. */
static int pack_item_own(msgpack_packer *pk, const proto_table_t *table, unsigned slot,
                         const void *base)
{
    if (table == &proto_account_table) {
        assert(slot == PROTO_ACCOUNT_KEY_STATUS);
        const char *status = ((const proto_account_t *)base)->status;
        /* "" is an account from before statuses: active */
        return pack_str(pk, status[0] ? status : PROTO_ACCOUNT_STATUS_ACTIVE);
    }
    assert(table == &proto_hold_table);
    const proto_hold_t *h = base;
    if (slot == PROTO_HOLD_KEY_KIND)
        return pack_str(pk, proto_transfer_kind_name(h->kind));
    assert(slot == PROTO_HOLD_KEY_CAPTURE);
    return pack_str(pk, proto_capture_name(h->capture));
}

/* An array of `count` reply items of `item_size` bytes at `items`, each a map of `table`. */
static int pack_items(msgpack_packer *pk, const proto_table_t *table, const void *items,
                      uint32_t count, size_t item_size)
{
    int rc = msgpack_pack_array(pk, count);
    for (uint32_t i = 0; i < count && !rc; i++)
        rc |= pack_map(pk, table, PROTO_VARIANT_NONE, (const char *)items + i * item_size,
                       pack_item_own);
    return rc;
}

static int pack_reply_items(msgpack_packer *pk, unsigned slot, const proto_account_reply_t *b)
{
    switch (slot) {
    case PROTO_ACCOUNT_REPLY_ACCOUNTS:
        return pack_items(pk, &proto_account_table, b->accounts, b->account_count,
                          sizeof *b->accounts);
    case PROTO_ACCOUNT_REPLY_ENTRIES:
        return pack_items(pk, &proto_row_table, b->entries, b->entry_count, sizeof *b->entries);
    case PROTO_ACCOUNT_REPLY_HOLDS:
        return pack_items(pk, &proto_hold_table, b->holds, b->hold_count, sizeof *b->holds);
    default:
        assert(!"an account.reply key without code");
        return -1;
    }
}

static int pack_transfer_own(msgpack_packer *pk, unsigned slot, const proto_transfer_t *b)
{
    if (slot == PROTO_TRANSFER_KEY_KIND)
        return pack_str(pk, proto_transfer_kind_name(b->kind));
    assert(slot == PROTO_TRANSFER_KEY_CAPTURE);
    return pack_str(pk, proto_capture_name(b->capture));
}

static int pack_body_own(msgpack_packer *pk, const proto_table_t *table, unsigned slot,
                         const void *base)
{
    if (table == &proto_transfer_table)
        return pack_transfer_own(pk, slot, base);
    if (table == &proto_verdict_table) {
        assert(slot == PROTO_VERDICT_RULES);
        const proto_verdict_t *b = base;
        int rc = msgpack_pack_array(pk, b->rule_count);
        for (uint32_t i = 0; i < b->rule_count; i++)
            rc |= pack_str(pk, b->rules[i]);
        return rc;
    }
    if (table == &proto_query_table) {
        const proto_query_t *b = base;
        if (slot == PROTO_QUERY_KEY_OP)
            return pack_str(pk, proto_query_op_name(b->op));
        assert(slot == PROTO_QUERY_KEY_CURSOR);
        /* an id for list and holds, a ledger seq for ledger and statement */
        return b->op == PROTO_QUERY_LIST || b->op == PROTO_QUERY_HOLDS
                   ? pack_str(pk, b->after)
                   : msgpack_pack_uint64(pk, b->cursor);
    }
    assert(table == &proto_account_reply_table);
    return pack_reply_items(pk, slot, base);
}

static int pack_envelope_own(msgpack_packer *pk, const proto_table_t *table, unsigned slot,
                             const void *base)
{
    assert(table == &proto_envelope_table);
    const proto_msg_t *m = base;
    switch (slot) {
    case PROTO_ENVELOPE_ID: {
        char id[PROTO_ID_MAX + 1];
        proto_msg_id(m, id);
        return pack_str(pk, id);
    }
    case PROTO_ENVELOPE_TYPE:
        return pack_str(pk, proto_type_name(m->type));
    case PROTO_ENVELOPE_BODY: {
        const proto_table_t *body = proto_fields_body(m->type);
        assert(body && "proto_validate let an unknown type through");
        return pack_map(pk, body, proto_fields_variant(m), &m->body, pack_body_own);
    }
    default:
        assert(!"an envelope key without code");
        return -1;
    }
}

ledger_err_t proto_encode(const proto_msg_t *msg, void **data_out, size_t *size_out, char *why,
                          size_t why_size)
{
    assert(msg && data_out && size_out);
    ledger_err_t err = proto_validate(msg, why, why_size);
    if (err)
        return err;

    wbuf_t w = {0};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &w, wbuf_write);
    int rc = pack_map(&pk, &proto_envelope_table, PROTO_VARIANT_NONE, msg, pack_envelope_own);
    if (rc != 0 || w.err) {
        free(w.data);
        if (w.err == LEDGER_E_TOO_LARGE) {
            proto_reason_say(why, why_size, "encoded message exceeds PROTO_FRAME_MAX (%d bytes)",
                             PROTO_FRAME_MAX);
            return LEDGER_E_TOO_LARGE;
        }
        proto_reason_say(why, why_size, "out of memory while encoding");
        return LEDGER_E_NOMEM;
    }
    *data_out = w.data;
    *size_out = w.size;
    return LEDGER_OK;
}

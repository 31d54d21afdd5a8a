/*  proto_decode.c: proto_decode, one msgpack envelope to a proto_msg_t.

    Decoding runs in four steps, each refusing what it cannot vouch for:
      1. size: frames over PROTO_FRAME_MAX are refused before a byte is read;
      2. proto_frame_check (proto_frame.c): a walk over the raw bytes that
         checks the msgpack structure without allocating anything;
      3. msgpack-c builds the object tree (strings point into the input);
      4. the tree is read into a proto_msg_t, map by map, from the key tables
         of proto_fields.c (exact key sets, types, lengths, no NUL); then
         proto_check_msg (proto_check.c) applies the value rules, the same
         function proto_validate runs before encoding.
    On error the output is zeroed. No state between calls: thread-safe.
*/
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "proto_internal.h"

/* Room for the " for op <name>" that follows "unexpected key" in a query's reason. */
#define QUERY_EXTRA_WHY_MAX 32

static const char *obj_type_name(msgpack_object_type t)
{
    switch (t) {
    case MSGPACK_OBJECT_NIL:
        return "nil";
    case MSGPACK_OBJECT_BOOLEAN:
        return "bool";
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return "uint";
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return "negative int";
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return "float";
    case MSGPACK_OBJECT_STR:
        return "str";
    case MSGPACK_OBJECT_ARRAY:
        return "array";
    case MSGPACK_OBJECT_MAP:
        return "map";
    case MSGPACK_OBJECT_BIN:
        return "bin";
    case MSGPACK_OBJECT_EXT:
        return "ext";
    }
    return "unknown";
}

/* ---------------------------------------------------------------------------
   Values.
*/
static ledger_err_t get_str(proto_ctx_t *c, const char *field, const msgpack_object *o, char *out,
                            size_t cap)
{
    if (o->type != MSGPACK_OBJECT_STR)
        return proto_reason_fail(c, LEDGER_E_DECODE, field, "must be a str, got %s",
                                 obj_type_name(o->type));
    uint32_t n = o->via.str.size;
    if (n > cap - 1)
        return proto_reason_fail(c, LEDGER_E_DECODE, field, "longer than %zu bytes (%" PRIu32 ")",
                                 cap - 1, n);
    if (n && memchr(o->via.str.ptr, '\0', n))
        return proto_reason_fail(c, LEDGER_E_DECODE, field, "contains a NUL byte");
    memcpy(out, o->via.str.ptr, n);
    out[n] = '\0';
    return LEDGER_OK;
}

#define GET_STR(c, field, o, buf) get_str((c), (field), (o), (buf), sizeof(buf))

static ledger_err_t get_uint(proto_ctx_t *c, const char *field, const msgpack_object *o,
                             uint64_t *out)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return proto_reason_fail(c, LEDGER_E_DECODE, field, "must be a uint, got %s",
                                 obj_type_name(o->type));
    *out = o->via.u64;
    return LEDGER_OK;
}

static ledger_err_t get_uint32(proto_ctx_t *c, const char *field, const msgpack_object *o,
                               uint32_t *out)
{
    uint64_t v = 0;
    PROTO_CHECK(get_uint(c, field, o, &v));
    if (v > UINT32_MAX)
        return proto_reason_fail(c, LEDGER_E_INVALID, field, "must be <= %" PRIu32, UINT32_MAX);
    *out = (uint32_t)v;
    return LEDGER_OK;
}

static ledger_err_t get_int(proto_ctx_t *c, const char *field, const msgpack_object *o,
                            int64_t *out)
{
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *out = o->via.i64;
        return LEDGER_OK;
    }
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return proto_reason_fail(c, LEDGER_E_DECODE, field, "must be an int, got %s",
                                 obj_type_name(o->type));
    if (o->via.u64 > INT64_MAX)
        return proto_reason_fail(c, LEDGER_E_INVALID, field, "beyond int64");
    *out = (int64_t)o->via.u64;
    return LEDGER_OK;
}

static ledger_err_t get_bool(proto_ctx_t *c, const char *field, const msgpack_object *o, bool *out)
{
    if (o->type != MSGPACK_OBJECT_BOOLEAN)
        return proto_reason_fail(c, LEDGER_E_DECODE, field, "must be a bool, got %s",
                                 obj_type_name(o->type));
    *out = o->via.boolean;
    return LEDGER_OK;
}

static ledger_err_t get_array(proto_ctx_t *c, const char *field, const msgpack_object *o,
                              uint32_t max, uint32_t *count_out)
{
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return proto_reason_fail(c, LEDGER_E_DECODE, field, "must be an array, got %s",
                                 obj_type_name(o->type));
    if (o->via.array.size > max)
        return proto_reason_fail(c, LEDGER_E_DECODE, field,
                                 "more than %" PRIu32 " items (%" PRIu32 ")", max,
                                 o->via.array.size);
    *count_out = o->via.array.size;
    return LEDGER_OK;
}

/* Reads plain field `f` from `o` into the struct at `base`. */
static ledger_err_t get_value(proto_ctx_t *c, const proto_field_t *f, const msgpack_object *o,
                              char *base)
{
    void *v = base + f->offset;
    switch (f->kind) {
    case PROTO_FIELD_STR:
        return get_str(c, f->name, o, v, f->size);
    case PROTO_FIELD_INT64:
        return get_int(c, f->name, o, v);
    case PROTO_FIELD_UINT64:
        return get_uint(c, f->name, o, v);
    case PROTO_FIELD_UINT32:
        return get_uint32(c, f->name, o, v);
    case PROTO_FIELD_BOOL:
        return get_bool(c, f->name, o, v);
    case PROTO_FIELD_OWN:
        break;
    }
    assert(!"get_value of a field without a plain kind");
    return LEDGER_E_INVALID;
}

/* ---------------------------------------------------------------------------
   Maps, from their key tables.
*/

/* A map being read: its table, its values by slot, and which keys it had. */
typedef struct {
    const proto_table_t *table;
    const msgpack_object *slots[PROTO_FIELDS_MAX];
    uint32_t present; /* bit i: fields[i] was in the map */
} map_read_t;

/*  Files each value of `map` under its key's slot in r->table. Unknown keys,
    duplicates and non-string keys are errors, reported against `field`;
    which keys must be present is map_require's job. */
static ledger_err_t map_collect(proto_ctx_t *c, const char *field, const msgpack_object *map,
                                map_read_t *r)
{
    if (map->type != MSGPACK_OBJECT_MAP)
        return proto_reason_fail(c, LEDGER_E_DECODE, field, "must be a map, got %s",
                                 obj_type_name(map->type));
    const proto_field_t *keys = r->table->fields;
    unsigned nkeys = r->table->count;
    r->present = 0;
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object_kv *kv = &map->via.map.ptr[i];
        if (kv->key.type != MSGPACK_OBJECT_STR)
            return proto_reason_fail(c, LEDGER_E_DECODE, field,
                                     "has a key of type %s (keys are str)",
                                     obj_type_name(kv->key.type));
        const char *k = kv->key.via.str.ptr;
        uint32_t klen = kv->key.via.str.size;
        unsigned j = 0;
        while (j < nkeys && !(keys[j].name_len == klen && memcmp(keys[j].name, k, klen) == 0))
            j++;
        if (j == nkeys) {
            char shown[PROTO_REASON_KEY_MAX + 1];
            proto_reason_quote(k, klen, shown);
            return proto_reason_fail(c, LEDGER_E_DECODE, field, "unknown key \"%s\"", shown);
        }
        if (r->present & (1u << j))
            return proto_reason_fail(c, LEDGER_E_DECODE, field, "duplicate key \"%s\"",
                                     keys[j].name);
        r->present |= 1u << j;
        r->slots[j] = &kv->val;
    }
    return LEDGER_OK;
}

/* Every key `variant` carries must be present (an optional one may be missing), and no other. */
static ledger_err_t map_require(proto_ctx_t *c, const map_read_t *r, unsigned variant,
                                const char *extra_why)
{
    uint32_t required = proto_fields_carried(r->table, variant);
    uint32_t missing_ok = required & proto_fields_optional(r->table) & ~r->present;
    uint32_t wrong = (required ^ r->present) & ~missing_ok;
    if (wrong == 0)
        return LEDGER_OK;
    /* the first key in table order that is missing or should not be there */
    unsigned j = (unsigned)__builtin_ctz(wrong);
    const char *name = r->table->fields[j].name;
    if (required & (1u << j))
        return proto_reason_fail(c, LEDGER_E_DECODE, name, "missing");
    return proto_reason_fail(c, LEDGER_E_DECODE, name, "unexpected key%s", extra_why);
}

/* Reads the value of OWN key `slot` of r->table into the struct at `base`. */
typedef ledger_err_t (*read_own_fn)(proto_ctx_t *c, const map_read_t *r, unsigned slot, void *base);

/* Reads every present key, in table order, into the struct at `base`. */
static ledger_err_t map_read_values(proto_ctx_t *c, const map_read_t *r, void *base,
                                    read_own_fn own)
{
    for (uint32_t left = r->present; left; left &= left - 1) {
        unsigned j = (unsigned)__builtin_ctz(left);
        const proto_field_t *f = &r->table->fields[j];
        if (f->kind == PROTO_FIELD_OWN)
            PROTO_CHECK(own(c, r, j, base));
        else
            PROTO_CHECK(get_value(c, f, r->slots[j], base));
    }
    return LEDGER_OK;
}

/* Reads the map `o` of `table` into the struct at `base`: exactly the keys
   `variant` carries, each once. `field` names the map in a reason about its
   keys; `scope` is where its values are (and c->scope afterwards). */
static ledger_err_t read_map(proto_ctx_t *c, const char *field, const char *scope,
                             const msgpack_object *o, const proto_table_t *table, unsigned variant,
                             const char *extra_why, void *base, read_own_fn own)
{
    map_read_t r; /* slots are read only where r.present says they were filled */
    r.table = table;
    PROTO_CHECK(map_collect(c, field, o, &r));
    c->scope = scope;
    PROTO_CHECK(map_require(c, &r, variant, extra_why));
    return map_read_values(c, &r, base, own);
}

/* ---------------------------------------------------------------------------
   Bodies. Each enters with c->scope "" and leaves it "body".
*/
static ledger_err_t read_rules(proto_ctx_t *c, const msgpack_object *o, proto_verdict_t *b)
{
    uint32_t n = 0;
    PROTO_CHECK(get_array(c, "rules", o, PROTO_RULES_MAX, &n));
    c->scope = "body.rules";
    for (uint32_t i = 0; i < n; i++) {
        c->index = (long)i;
        PROTO_CHECK(GET_STR(c, "", &o->via.array.ptr[i], b->rules[i]));
    }
    b->rule_count = n;
    c->scope = "body";
    c->index = -1;
    return LEDGER_OK;
}

/* A name of a table of names (a transfer kind, a capture mode), through `from_name`. */
typedef ledger_err_t (*from_name_fn)(const char *name, size_t len, void *out);

static ledger_err_t read_name(proto_ctx_t *c, const char *field, const msgpack_object *o,
                              from_name_fn from_name, void *out, const char *names)
{
    if (o->type != MSGPACK_OBJECT_STR)
        return proto_reason_fail(c, LEDGER_E_DECODE, field, "must be a str, got %s",
                                 obj_type_name(o->type));
    if (from_name(o->via.str.ptr, o->via.str.size, out) != LEDGER_OK)
        return proto_reason_fail(c, LEDGER_E_INVALID, field, "unknown %s", names);
    return LEDGER_OK;
}

static ledger_err_t kind_from_name(const char *name, size_t len, void *out)
{
    return proto_transfer_kind_from_name(name, len, out);
}

static ledger_err_t capture_from_name(const char *name, size_t len, void *out)
{
    return proto_capture_from_name(name, len, out);
}

/* A transfer's kind: one of the names of proto_transfer_kind_name. */
static ledger_err_t read_kind(proto_ctx_t *c, const msgpack_object *o, proto_transfer_kind_t *out)
{
    return read_name(c, "kind", o, kind_from_name, out,
                     "transfer kind (transfer, deposit, withdrawal, refund)");
}

/* A transfer's capture mode: "auto" or "manual". */
static ledger_err_t read_capture(proto_ctx_t *c, const msgpack_object *o, proto_capture_t *out)
{
    return read_name(c, "capture", o, capture_from_name, out, "capture mode (auto, manual)");
}

/* An account's status: present means one of the PROTO_ACCOUNT_STATUS_* (never ""). */
static ledger_err_t read_status(proto_ctx_t *c, const msgpack_object *o, proto_account_t *a)
{
    PROTO_CHECK(GET_STR(c, "status", o, a->status));
    if (!proto_account_status_valid(a->status))
        return proto_reason_fail(c, LEDGER_E_INVALID, "status",
                                 "unknown account status (active, frozen, closed)");
    return LEDGER_OK;
}

/* The OWN keys of reply items: an account's status, a hold's kind and capture. */
static ledger_err_t read_item_own(proto_ctx_t *c, const map_read_t *r, unsigned slot, void *base)
{
    const msgpack_object *o = r->slots[slot];
    if (r->table == &proto_account_table) {
        assert(slot == PROTO_ACCOUNT_KEY_STATUS);
        return read_status(c, o, base);
    }
    assert(r->table == &proto_hold_table);
    proto_hold_t *h = base;
    if (slot == PROTO_HOLD_KEY_KIND)
        return read_kind(c, o, &h->kind);
    assert(slot == PROTO_HOLD_KEY_CAPTURE);
    return read_capture(c, o, &h->capture);
}

/* Reads an array of reply items: `count` structs of `item_size` bytes at `items`. */
static ledger_err_t read_items(proto_ctx_t *c, const char *scope, const msgpack_object *o,
                               const proto_table_t *table, void *items, size_t item_size)
{
    c->scope = scope;
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        c->index = (long)i;
        PROTO_CHECK(read_map(c, "", scope, &o->via.array.ptr[i], table, PROTO_VARIANT_NONE, "",
                             (char *)items + i * item_size, read_item_own));
    }
    c->scope = "body";
    c->index = -1;
    return LEDGER_OK;
}

/* An account read without status is from before statuses: active. */
static void accounts_default_status(proto_account_reply_t *b)
{
    for (uint32_t i = 0; i < b->account_count; i++)
        if (b->accounts[i].status[0] == '\0')
            strcpy(b->accounts[i].status, PROTO_ACCOUNT_STATUS_ACTIVE);
}

/* Allocates `n` items of `size` bytes for `field`. */
static ledger_err_t items_alloc(proto_ctx_t *c, const char *field, uint32_t n, size_t size,
                                void **out)
{
    *out = calloc(n, size);
    if (!*out)
        return proto_reason_fail(c, LEDGER_E_NOMEM, field, "out of memory");
    return LEDGER_OK;
}

/* Arrays are attached to `b` as soon as allocated, so proto_msg_release frees them on error. */
static ledger_err_t read_reply_items(proto_ctx_t *c, unsigned slot, const msgpack_object *o,
                                     proto_account_reply_t *b)
{
    static const char *const fields[PROTO_ACCOUNT_REPLY__COUNT] = {
        [PROTO_ACCOUNT_REPLY_ACCOUNTS] = "accounts",
        [PROTO_ACCOUNT_REPLY_ENTRIES] = "entries",
        [PROTO_ACCOUNT_REPLY_HOLDS] = "holds",
    };
    const char *field = fields[slot];
    assert(field);
    uint32_t n = 0;
    PROTO_CHECK(get_array(c, field, o, PROTO_PAGE_MAX, &n));
    if (n == 0)
        return LEDGER_OK;
    switch (slot) {
    case PROTO_ACCOUNT_REPLY_ACCOUNTS:
        PROTO_CHECK(items_alloc(c, field, n, sizeof *b->accounts, (void **)&b->accounts));
        b->account_count = n;
        PROTO_CHECK(read_items(c, "body.accounts", o, &proto_account_table, b->accounts,
                               sizeof *b->accounts));
        accounts_default_status(b);
        return LEDGER_OK;
    case PROTO_ACCOUNT_REPLY_ENTRIES:
        PROTO_CHECK(items_alloc(c, field, n, sizeof *b->entries, (void **)&b->entries));
        b->entry_count = n;
        return read_items(c, "body.entries", o, &proto_row_table, b->entries, sizeof *b->entries);
    default:
        PROTO_CHECK(items_alloc(c, field, n, sizeof *b->holds, (void **)&b->holds));
        b->hold_count = n;
        return read_items(c, "body.holds", o, &proto_hold_table, b->holds, sizeof *b->holds);
    }
}

/* The query's cursor: an id (`after`) for list and holds, a ledger seq for ledger and
   statement. */
static ledger_err_t read_cursor(proto_ctx_t *c, const msgpack_object *o, proto_query_t *b)
{
    if (b->op == PROTO_QUERY_LIST || b->op == PROTO_QUERY_HOLDS)
        return GET_STR(c, "cursor", o, b->after);
    return get_uint(c, "cursor", o, &b->cursor);
}

static ledger_err_t read_body_own(proto_ctx_t *c, const map_read_t *r, unsigned slot, void *base)
{
    const msgpack_object *o = r->slots[slot];
    if (r->table == &proto_transfer_table) {
        proto_transfer_t *t = base;
        if (slot == PROTO_TRANSFER_KEY_KIND)
            return read_kind(c, o, &t->kind);
        assert(slot == PROTO_TRANSFER_KEY_CAPTURE);
        return read_capture(c, o, &t->capture);
    }
    if (r->table == &proto_verdict_table) {
        assert(slot == PROTO_VERDICT_RULES);
        return read_rules(c, o, base);
    }
    if (r->table == &proto_query_table) {
        /* the op was read before the key set could be judged: see read_query */
        if (slot == PROTO_QUERY_KEY_OP)
            return LEDGER_OK;
        assert(slot == PROTO_QUERY_KEY_CURSOR);
        return read_cursor(c, o, base);
    }
    assert(r->table == &proto_account_reply_table);
    return read_reply_items(c, slot, o, base);
}

/* Which keys a query must have depends on its op: read that first. */
static ledger_err_t read_query(proto_ctx_t *c, const msgpack_object *o, proto_query_t *b)
{
    map_read_t r = {.table = &proto_query_table};
    PROTO_CHECK(map_collect(c, "body", o, &r));
    c->scope = "body";
    if (!(r.present & (1u << PROTO_QUERY_KEY_OP)))
        return proto_reason_fail(c, LEDGER_E_DECODE, "op", "missing");
    const msgpack_object *op = r.slots[PROTO_QUERY_KEY_OP];
    if (op->type != MSGPACK_OBJECT_STR)
        return proto_reason_fail(c, LEDGER_E_DECODE, "op", "must be a str, got %s",
                                 obj_type_name(op->type));
    if (!proto_query_op_from_name(op->via.str.ptr, op->via.str.size, &b->op))
        return proto_reason_fail(c, LEDGER_E_INVALID, "op",
                                 "unknown query op (list, get, ledger, open, update, "
                                 "balance_at, statement, holds)");
    char extra[QUERY_EXTRA_WHY_MAX];
    snprintf(extra, sizeof extra, " for op %s", proto_query_op_name(b->op));
    PROTO_CHECK(map_require(c, &r, (unsigned)b->op, extra));
    return map_read_values(c, &r, b, read_body_own);
}

static ledger_err_t read_body(proto_ctx_t *c, const msgpack_object *o, proto_msg_t *m)
{
    if (m->type == PROTO_ACCOUNT_QUERY)
        return read_query(c, o, &m->body.query);
    const proto_table_t *table = proto_fields_body(m->type);
    if (!table)
        return proto_reason_fail(c, LEDGER_E_UNKNOWN_TYPE, "type", "unknown message type");
    const char *extra = m->type == PROTO_ACK ? " in an ack" : "";
    return read_map(c, "body", "body", o, table, proto_fields_variant(m), extra, &m->body,
                    read_body_own);
}

/* ---------------------------------------------------------------------------
   The envelope.
*/
static ledger_err_t read_id(proto_ctx_t *c, const msgpack_object *o, proto_msg_t *m)
{
    char id[PROTO_ID_MAX + 1];
    PROTO_CHECK(GET_STR(c, "id", o, id));
    if (!proto_id_parse_n(id, strlen(id), m->origin, &m->seq))
        return proto_reason_fail(
            c, LEDGER_E_DECODE, "id",
            "not a message id \"<origin>/<seq>\" (origin [a-z0-9_-]{1,%d}, seq > 0)",
            PROTO_NODE_MAX);
    return LEDGER_OK;
}

static ledger_err_t read_type(proto_ctx_t *c, const msgpack_object *o, proto_msg_t *m)
{
    if (o->type != MSGPACK_OBJECT_STR)
        return proto_reason_fail(c, LEDGER_E_DECODE, "type", "must be a str, got %s",
                                 obj_type_name(o->type));
    if (proto_type_from_name(o->via.str.ptr, o->via.str.size, &m->type) != LEDGER_OK) {
        char shown[PROTO_REASON_KEY_MAX + 1];
        proto_reason_quote(o->via.str.ptr, o->via.str.size, shown);
        return proto_reason_fail(c, LEDGER_E_UNKNOWN_TYPE, "type", "unknown message type \"%s\"",
                                 shown);
    }
    return LEDGER_OK;
}

static ledger_err_t read_envelope_own(proto_ctx_t *c, const map_read_t *r, unsigned slot,
                                      void *base)
{
    assert(r->table == &proto_envelope_table);
    const msgpack_object *o = r->slots[slot];
    switch (slot) {
    case PROTO_ENVELOPE_ID:
        return read_id(c, o, base);
    case PROTO_ENVELOPE_TYPE:
        return read_type(c, o, base);
    case PROTO_ENVELOPE_BODY:
        return read_body(c, o, base);
    default:
        assert(!"an envelope key without code");
        return LEDGER_E_INVALID;
    }
}

/* The version decides what the rest means: look at it before judging the rest,
   so that a newer peer gets "unknown version", not "unknown key". */
static ledger_err_t check_version_first(proto_ctx_t *c, const msgpack_object *root)
{
    for (uint32_t i = 0; i < root->via.map.size; i++) {
        const msgpack_object_kv *kv = &root->via.map.ptr[i];
        if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == 1 &&
            kv->key.via.str.ptr[0] == 'v' && kv->val.type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
            kv->val.via.u64 != PROTO_VERSION)
            return proto_reason_fail(c, LEDGER_E_VERSION, "v",
                                     "unsupported protocol version %" PRIu64
                                     " (this build speaks %d)",
                                     kv->val.via.u64, PROTO_VERSION);
    }
    return LEDGER_OK;
}

static ledger_err_t read_envelope(proto_ctx_t *c, const msgpack_object *root, proto_msg_t *m)
{
    if (root->type != MSGPACK_OBJECT_MAP)
        return proto_reason_fail(c, LEDGER_E_DECODE, "envelope", "must be a map, got %s",
                                 obj_type_name(root->type));
    PROTO_CHECK(check_version_first(c, root));
    return read_map(c, "envelope", "", root, &proto_envelope_table, PROTO_VARIANT_NONE, "", m,
                    read_envelope_own);
}

ledger_err_t proto_decode(const void *data, size_t size, proto_msg_t *out, char *why,
                          size_t why_size)
{
    assert(out);
    memset(out, 0, sizeof *out);
    proto_reason_clear(why, why_size);
    ledger_err_t err = proto_frame_check(data, size, why, why_size);
    if (err)
        return err;

    msgpack_unpacked unpacked;
    msgpack_unpacked_init(&unpacked);
    size_t off = 0;
    msgpack_unpack_return ret = msgpack_unpack_next(&unpacked, data, size, &off);
    proto_ctx_t c = {why, why_size, "", -1};
    if (ret == MSGPACK_UNPACK_NOMEM_ERROR) {
        proto_reason_say(why, why_size, "out of memory while unpacking");
        err = LEDGER_E_NOMEM;
    } else if (ret != MSGPACK_UNPACK_SUCCESS || off != size) {
        /* proto_frame_check accepted it, so this is msgpack-c disagreeing: still refuse */
        proto_reason_say(why, why_size, "not a msgpack frame (unpack returned %d)", (int)ret);
        err = LEDGER_E_DECODE;
    } else {
        err = read_envelope(&c, &unpacked.data, out);
        if (!err)
            err = proto_check_msg(&c, out);
    }
    msgpack_unpacked_destroy(&unpacked);
    if (err) {
        proto_msg_release(out);
        memset(out, 0, sizeof *out);
    }
    return err;
}

/*  test_proto.h: what the proto unit tests share (proto_*_test.c). Header-only.

    Sample messages of every type and query op (proto_samples.h); encode/decode wrappers that
    check the contract's promise on error (the output is all zeros); and a
    msgpack-c object tree of an encoded sample that a test edits by path
    (set / remove / add / duplicate a key, such as "body.accounts.0.id") and
    packs again, so each test states exactly one thing that is wrong.
*/
#ifndef LEDGER_TEST_PROTO_H
#define LEDGER_TEST_PROTO_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <msgpack.h>

#include "proto.h"
#include "proto_samples.h"

#define WHY_SIZE 256

/* ---------------------------------------------------------------------------
   Helpers.
*/
static inline bool all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

static inline void encode_ok(const proto_msg_t *m, void **data, size_t *size)
{
    char why[WHY_SIZE];
    ledger_err_t err = proto_encode(m, data, size, why, sizeof why);
    if (err != LEDGER_OK)
        fail_msg("encode failed: %s: %s", ledger_err_name(err), why);
}

/* Encodes sample `s` into a malloc'd frame (*data, *size). */
static inline void encode_sample(sample_t s, void **data, size_t *size)
{
    proto_msg_t m = sample(s);
    encode_ok(&m, data, size);
}

/* A check of one sample's encoded frame; `arg` is the caller's. */
typedef void (*sample_frame_fn)(sample_t s, const uint8_t *frame, size_t size, void *arg);

/* Calls `check` with the encoded frame of every sample (the frame is freed after). */
static inline void for_each_sample_frame(sample_frame_fn check, void *arg)
{
    for (sample_t s = 0; s < S__COUNT; s++) {
        void *data;
        size_t size;
        encode_sample(s, &data, &size);
        check(s, data, size, arg);
        free(data);
    }
}

/* Decodes and checks the contract's promise on error: `out` is all zeros. */
static inline ledger_err_t decode(const void *data, size_t size, proto_msg_t *out, char *why)
{
    memset(out, 0xa5, sizeof *out);
    ledger_err_t err = proto_decode(data, size, out, why, WHY_SIZE);
    if (err != LEDGER_OK && !all_zero(out, sizeof *out))
        fail_msg("decode failed (%s) but left the output partly filled", ledger_err_name(err));
    if (err != LEDGER_OK && why[0] == '\0')
        fail_msg("decode failed (%s) without a reason", ledger_err_name(err));
    return err;
}

/* Encodes m and decodes the frame into *out, both asserted to succeed; the frame is freed. */
static inline void encode_decode_ok(const proto_msg_t *m, proto_msg_t *out)
{
    void *data;
    size_t size;
    char why[WHY_SIZE];
    encode_ok(m, &data, &size);
    assert_int_equal(decode(data, size, out, why), LEDGER_OK);
    free(data);
}

static inline void assert_round_trips(const proto_msg_t *m)
{
    void *data;
    size_t size;
    char why[WHY_SIZE];
    encode_ok(m, &data, &size);
    proto_msg_t out;
    ledger_err_t err = decode(data, size, &out, why);
    if (err != LEDGER_OK)
        fail_msg("decode failed: %s: %s", ledger_err_name(err), why);
    assert_true(proto_msg_equal(m, &out));
    assert_true(proto_msg_equal(&out, m));
    proto_msg_release(&out);
    free(data);
}

/* A msgpack object tree of an encoded message, editable by path. */
typedef struct {
    void *frame;
    msgpack_unpacked unpacked;
} tree_t;

static inline void tree_init(tree_t *t, const proto_msg_t *m)
{
    size_t size, off = 0;
    encode_ok(m, &t->frame, &size);
    msgpack_unpacked_init(&t->unpacked);
    assert_int_equal(msgpack_unpack_next(&t->unpacked, t->frame, size, &off),
                     MSGPACK_UNPACK_SUCCESS);
}

static inline void tree_init_sample(tree_t *t, sample_t s)
{
    proto_msg_t m = sample(s);
    tree_init(t, &m);
}

static inline void tree_fini(tree_t *t)
{
    msgpack_unpacked_destroy(&t->unpacked);
    free(t->frame);
}

static inline void *tree_alloc(tree_t *t, size_t size)
{
    void *p = msgpack_zone_malloc(t->unpacked.zone, size);
    assert_non_null(p);
    return p;
}

/* Finds the value at `path` ("" = root; components separated by '.'; array
   elements by index); NULL if a map on the way lacks its key (an optional key
   at zero is not written: proto_encode.c). If `kv_out` is given, the last
   component must be a map key and *kv_out points at its key/value pair. */
static inline msgpack_object *tree_lookup(tree_t *t, const char *path, msgpack_object_kv **kv_out)
{
    msgpack_object *o = &t->unpacked.data;
    const char *p = path;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (o->type == MSGPACK_OBJECT_MAP) {
            msgpack_object_kv *kv = NULL;
            for (uint32_t i = 0; i < o->via.map.size && !kv; i++) {
                msgpack_object_kv *k = &o->via.map.ptr[i];
                if (k->key.via.str.size == n && memcmp(k->key.via.str.ptr, p, n) == 0)
                    kv = k;
            }
            if (!kv)
                return NULL;
            if (kv_out)
                *kv_out = kv;
            o = &kv->val;
        } else if (o->type == MSGPACK_OBJECT_ARRAY) {
            uint32_t i = (uint32_t)strtoul(p, NULL, 10);
            assert_true(i < o->via.array.size);
            o = &o->via.array.ptr[i];
        } else {
            fail_msg("path %s goes through a scalar", path);
        }
        p = dot ? dot + 1 : p + n;
    }
    return o;
}

/* As tree_lookup, but the path must be there. */
static inline msgpack_object *tree_find(tree_t *t, const char *path, msgpack_object_kv **kv_out)
{
    msgpack_object *o = tree_lookup(t, path, kv_out);
    if (!o)
        fail_msg("no key at %s", path);
    return o;
}

/* Whether the key at `path` was written. */
static inline bool tree_has(tree_t *t, const char *path)
{
    return tree_lookup(t, path, NULL) != NULL;
}

static inline void tree_add(tree_t *t, const char *map_path, const char *key, msgpack_object v);

/* The map holding the last key of `path`, and that key's name. */
static inline msgpack_object *tree_parent(tree_t *t, const char *path, const char **key_out);

/* Sets the value at `path`; a missing last key (an optional key left out at zero) is added. */
static inline void tree_set(tree_t *t, const char *path, msgpack_object v)
{
    msgpack_object *o = tree_lookup(t, path, NULL);
    if (o) {
        *o = v;
        return;
    }
    const char *key;
    tree_parent(t, path, &key);
    size_t n = (size_t)(key - path);
    char *parent = tree_alloc(t, n + 1);
    memcpy(parent, path, n);
    parent[n ? n - 1 : 0] = '\0'; /* without the dot before the key */
    tree_add(t, parent, key, v);
}

/* The map holding the last key of `path`, and that key's name. */
static inline msgpack_object *tree_parent(tree_t *t, const char *path, const char **key_out)
{
    const char *dot = strrchr(path, '.');
    if (!dot) {
        *key_out = path;
        return &t->unpacked.data;
    }
    size_t n = (size_t)(dot - path);
    char *parent = tree_alloc(t, n + 1);
    memcpy(parent, path, n);
    parent[n] = '\0';
    *key_out = dot + 1;
    return tree_find(t, parent, NULL);
}

static inline void tree_remove(tree_t *t, const char *path)
{
    msgpack_object_kv *kv = NULL;
    if (!tree_lookup(t, path, &kv))
        return; /* not written (an optional key at zero): nothing to remove */
    const char *key;
    msgpack_object *map = tree_parent(t, path, &key);
    size_t i = (size_t)(kv - map->via.map.ptr);
    memmove(kv, kv + 1, (map->via.map.size - i - 1) * sizeof *kv);
    map->via.map.size--;
}

static inline msgpack_object o_str(const char *s);

/* Adds `key` = `v` at the end of the map at `map_path`, even if `key` is there already. */
static inline void tree_add(tree_t *t, const char *map_path, const char *key, msgpack_object v)
{
    msgpack_object *map = tree_find(t, map_path, NULL);
    assert_int_equal(map->type, MSGPACK_OBJECT_MAP);
    uint32_t n = map->via.map.size;
    msgpack_object_kv *kvs = tree_alloc(t, (n + 1) * sizeof *kvs);
    memcpy(kvs, map->via.map.ptr, n * sizeof *kvs);
    kvs[n].key = o_str(key);
    kvs[n].val = v;
    map->via.map.ptr = kvs;
    map->via.map.size = n + 1;
}

/* Adds a second copy of the key at `path` to its map. */
static inline void tree_dup(tree_t *t, const char *path, msgpack_object v)
{
    const char *key;
    msgpack_object *map = tree_parent(t, path, &key);
    (void)map;
    char *parent = tree_alloc(t, strlen(path) + 1);
    strcpy(parent, path);
    char *dot = strrchr(parent, '.');
    if (dot)
        *dot = '\0';
    else
        parent[0] = '\0';
    tree_add(t, parent, key, v);
}

static inline void pack_tree(tree_t *t, msgpack_sbuffer *sb)
{
    msgpack_sbuffer_init(sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    assert_int_equal(msgpack_pack_object(&pk, t->unpacked.data), 0);
}

/* Packs the edited tree, decodes it, releases a success, frees the tree. */
static inline ledger_err_t tree_decode(tree_t *t, char *why)
{
    msgpack_sbuffer sb;
    pack_tree(t, &sb);
    proto_msg_t out;
    ledger_err_t err = decode(sb.data, sb.size, &out, why);
    proto_msg_release(&out);
    msgpack_sbuffer_destroy(&sb);
    tree_fini(t);
    return err;
}

static inline void expect_decode(tree_t *t, ledger_err_t expected, const char *what)
{
    char why[WHY_SIZE];
    ledger_err_t err = tree_decode(t, why);
    if (err != expected)
        fail_msg("%s: expected %s, got %s (%s)", what, ledger_err_name(expected),
                 ledger_err_name(err), why);
}

static inline msgpack_object o_str(const char *s)
{
    msgpack_object o = {.type = MSGPACK_OBJECT_STR};
    o.via.str.ptr = s;
    o.via.str.size = (uint32_t)strlen(s);
    return o;
}

static inline msgpack_object o_strn(const char *s, uint32_t n)
{
    msgpack_object o = {.type = MSGPACK_OBJECT_STR};
    o.via.str.ptr = s;
    o.via.str.size = n;
    return o;
}

static inline msgpack_object o_bin(const char *s)
{
    msgpack_object o = {.type = MSGPACK_OBJECT_BIN};
    o.via.bin.ptr = s;
    o.via.bin.size = (uint32_t)strlen(s);
    return o;
}

static inline msgpack_object o_uint(uint64_t u)
{
    return (msgpack_object){.type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = u};
}

static inline msgpack_object o_int(int64_t i)
{
    if (i >= 0)
        return o_uint((uint64_t)i);
    return (msgpack_object){.type = MSGPACK_OBJECT_NEGATIVE_INTEGER, .via.i64 = i};
}

static inline msgpack_object o_bool(bool b)
{
    return (msgpack_object){.type = MSGPACK_OBJECT_BOOLEAN, .via.boolean = b};
}

static inline msgpack_object o_nil(void)
{
    return (msgpack_object){.type = MSGPACK_OBJECT_NIL};
}

static inline msgpack_object o_float(double d)
{
    return (msgpack_object){.type = MSGPACK_OBJECT_FLOAT64, .via.f64 = d};
}

static inline msgpack_object o_map0(void)
{
    return (msgpack_object){.type = MSGPACK_OBJECT_MAP};
}

static inline msgpack_object o_arr0(void)
{
    return (msgpack_object){.type = MSGPACK_OBJECT_ARRAY};
}

static inline msgpack_object o_arr1(tree_t *t, msgpack_object item)
{
    msgpack_object o = {.type = MSGPACK_OBJECT_ARRAY};
    o.via.array.ptr = tree_alloc(t, sizeof item);
    o.via.array.ptr[0] = item;
    o.via.array.size = 1;
    return o;
}

/* A string of `n` copies of `ch`, kept in the tree's zone. */
static inline msgpack_object o_repeat(tree_t *t, char ch, uint32_t n)
{
    char *s = tree_alloc(t, n + 1);
    memset(s, ch, n);
    s[n] = '\0';
    return o_strn(s, n);
}

/* Expects `path` of sample `s` set to `v` to be refused with `expected`. */
static inline void expect_set_refused(sample_t s, const char *path, msgpack_object v,
                                      ledger_err_t expected)
{
    tree_t t;
    tree_init_sample(&t, s);
    tree_set(&t, path, v);
    char what[128];
    snprintf(what, sizeof what, "sample %d, %s", (int)s, path);
    expect_decode(&t, expected, what);
}

/* Deterministic pseudo-random numbers (splitmix64). */
static inline uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Decodes bytes that may be anything: must not crash; on success the message
   must re-encode and decode to an equal message. */
static inline void decode_anything(const void *data, size_t size)
{
    char why[WHY_SIZE];
    proto_msg_t out;
    if (decode(data, size, &out, why) != LEDGER_OK)
        return;
    void *again;
    size_t again_size;
    encode_ok(&out, &again, &again_size);
    proto_msg_t second;
    assert_int_equal(decode(again, again_size, &second, why), LEDGER_OK);
    assert_true(proto_msg_equal(&out, &second));
    proto_msg_release(&second);
    proto_msg_release(&out);
    free(again);
}

/* Message ids that are not "<origin>/<seq>" (decode and proto_id_parse refuse them). */
static const char *const bad_ids[] __attribute__((unused)) = {
    "",
    "gateway",
    "gateway/",
    "/42",
    "gateway/0",
    "gateway/042",
    "gateway/+42",
    "gateway/-42",
    "gateway/4 2",
    "gateway/42x",
    "gateway/0x2a",
    "Gateway/42",
    "gate way/42",
    "gate.way/42",
    "gateway/42/1",
    "gateway//42",
    "gateway/18446744073709551616",
    "gateway/99999999999999999999",
    "abcdefghijklmnopqrstuvwxyz0123456/1", /* origin of 33 */
    "gatewäy/42",
};

#endif

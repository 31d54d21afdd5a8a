/*  proto_test.c: round trips, strict rejection and robustness of the wire protocol.

    Invalid frames are made by encoding a valid sample message, unpacking it
    into a msgpack-c object tree, editing the tree (set / remove / add /
    duplicate a key, at a path such as "body.accounts.0.id") and packing it
    again, so each test states exactly one thing that is wrong. Every failed
    decode is checked to leave the output struct all zeros.
*/
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

#define WHY_SIZE 256

/* ---------------------------------------------------------------------------
   Sample messages, one of every type (and every query op).
*/
typedef enum {
    S_REQUESTED,
    S_RESERVED,
    S_SETTLED,
    S_APPROVED,
    S_REJECTED,
    S_REJECTED_FRAUD,
    S_DECLINED,
    S_ACK,
    S_NACK,
    S_QUERY_LIST,
    S_QUERY_GET,
    S_QUERY_LEDGER,
    S_QUERY_OPEN,
    S_REPLY,
    S__COUNT
} sample_t;

static proto_account_t sample_accounts[2] = {
    {.id = "acc-alice",
     .name = "Alice Smith",
     .currency = "GBP",
     .balance_minor = 125000,
     .held_minor = 2500,
     .funding = false},
    {.id = "funding",
     .name = "",
     .currency = "GBP",
     .balance_minor = -9000000,
     .held_minor = 0,
     .funding = true},
};

static proto_ledger_row_t sample_rows[2] = {
    {.seq = 7,
     .account = "acc-alice",
     .transfer = "t-0001",
     .kind = "hold",
     .amount_minor = -2500,
     .balance_after_minor = 125000,
     .held_after_minor = 2500,
     .ts_ms = 1764028800100},
    {.seq = 1,
     .account = "acc-alice",
     .transfer = "",
     .kind = "open",
     .amount_minor = 127500,
     .balance_after_minor = 127500,
     .held_after_minor = 0,
     .ts_ms = 1764028700000},
};

static proto_msg_t sample(sample_t s)
{
    proto_msg_t m;
    memset(&m, 0, sizeof m);
    m.v = PROTO_VERSION;
    strcpy(m.origin, "gateway");
    m.seq = 42;
    m.ts_ms = 1764028800123;
    strcpy(m.corr, "t-0001");
    strcpy(m.cause, "accounts/41");
    switch (s) {
    case S_REQUESTED:
    case S_RESERVED:
    case S_SETTLED:
        m.type = s == S_REQUESTED  ? PROTO_TRANSFER_REQUESTED
                 : s == S_RESERVED ? PROTO_FUNDS_RESERVED
                                   : PROTO_TRANSFER_SETTLED;
        strcpy(m.body.transfer.transfer, "t-0001");
        strcpy(m.body.transfer.from, "acc-alice");
        strcpy(m.body.transfer.to, "acc-bob");
        m.body.transfer.amount_minor = 2500;
        strcpy(m.body.transfer.currency, "GBP");
        strcpy(m.body.transfer.reference, "rent for März");
        break;
    case S_APPROVED:
        m.type = PROTO_FRAUD_APPROVED;
        strcpy(m.body.verdict.transfer, "t-0001");
        break;
    case S_REJECTED:
    case S_REJECTED_FRAUD:
        m.type = s == S_REJECTED ? PROTO_FRAUD_REJECTED : PROTO_TRANSFER_REJECTED_FRAUD;
        strcpy(m.body.verdict.transfer, "t-0001");
        m.body.verdict.rule_count = 2;
        strcpy(m.body.verdict.rules[0], "amount_threshold");
        strcpy(m.body.verdict.rules[1], "velocity");
        strcpy(m.body.verdict.reason, "amount 2500 over threshold; 6 transfers in 60 s");
        break;
    case S_DECLINED:
        m.type = PROTO_TRANSFER_DECLINED;
        strcpy(m.body.declined.transfer, "t-0001");
        strcpy(m.body.declined.code, "insufficient_funds");
        strcpy(m.body.declined.reason, "available 1000 < amount 2500");
        break;
    case S_ACK:
        m.type = PROTO_ACK;
        m.corr[0] = '\0';
        strcpy(m.body.reply.of, "accounts/41");
        break;
    case S_NACK:
        m.type = PROTO_NACK;
        m.corr[0] = '\0';
        m.cause[0] = '\0';
        strcpy(m.body.reply.code, "decode_error");
        strcpy(m.body.reply.reason, "truncated frame");
        break;
    case S_QUERY_LIST:
    case S_QUERY_GET:
    case S_QUERY_LEDGER:
    case S_QUERY_OPEN:
        m.type = PROTO_ACCOUNT_QUERY;
        m.corr[0] = '\0';
        m.cause[0] = '\0';
        if (s == S_QUERY_LIST) {
            m.body.query.op = PROTO_QUERY_LIST;
            strcpy(m.body.query.after, "acc-alice");
            m.body.query.limit = 50;
        } else if (s == S_QUERY_GET) {
            m.body.query.op = PROTO_QUERY_GET;
            strcpy(m.body.query.account, "acc-alice");
        } else if (s == S_QUERY_LEDGER) {
            m.body.query.op = PROTO_QUERY_LEDGER;
            strcpy(m.body.query.account, "acc-alice");
            m.body.query.cursor = 99;
            m.body.query.limit = PROTO_PAGE_MAX;
        } else {
            m.body.query.op = PROTO_QUERY_OPEN;
            strcpy(m.body.query.account, "acc-carol");
            strcpy(m.body.query.name, "Carol Jones");
            strcpy(m.body.query.currency, "EUR");
            m.body.query.amount_minor = 10000;
        }
        break;
    case S_REPLY:
        m.type = PROTO_ACCOUNT_REPLY;
        strcpy(m.origin, "accounts");
        m.corr[0] = '\0';
        strcpy(m.cause, "gateway/42");
        m.body.account_reply.status = 200;
        m.body.account_reply.account_count = 2;
        m.body.account_reply.accounts = sample_accounts;
        m.body.account_reply.entry_count = 2;
        m.body.account_reply.entries = sample_rows;
        strcpy(m.body.account_reply.next, "funding");
        break;
    case S__COUNT:
        break;
    }
    return m;
}

/* ---------------------------------------------------------------------------
   Helpers.
*/
static bool all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

static void encode_ok(const proto_msg_t *m, void **data, size_t *size)
{
    char why[WHY_SIZE];
    ledger_err_t err = proto_encode(m, data, size, why, sizeof why);
    if (err != LEDGER_OK)
        fail_msg("encode failed: %s: %s", ledger_err_name(err), why);
}

/* Decodes and checks the contract's promise on error: `out` is all zeros. */
static ledger_err_t decode(const void *data, size_t size, proto_msg_t *out, char *why)
{
    memset(out, 0xa5, sizeof *out);
    ledger_err_t err = proto_decode(data, size, out, why, WHY_SIZE);
    if (err != LEDGER_OK && !all_zero(out, sizeof *out))
        fail_msg("decode failed (%s) but left the output partly filled", ledger_err_name(err));
    if (err != LEDGER_OK && why[0] == '\0')
        fail_msg("decode failed (%s) without a reason", ledger_err_name(err));
    return err;
}

static void assert_round_trips(const proto_msg_t *m)
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

static void tree_init(tree_t *t, const proto_msg_t *m)
{
    size_t size, off = 0;
    encode_ok(m, &t->frame, &size);
    msgpack_unpacked_init(&t->unpacked);
    assert_int_equal(msgpack_unpack_next(&t->unpacked, t->frame, size, &off),
                     MSGPACK_UNPACK_SUCCESS);
}

static void tree_init_sample(tree_t *t, sample_t s)
{
    proto_msg_t m = sample(s);
    tree_init(t, &m);
}

static void tree_fini(tree_t *t)
{
    msgpack_unpacked_destroy(&t->unpacked);
    free(t->frame);
}

static void *tree_alloc(tree_t *t, size_t size)
{
    void *p = msgpack_zone_malloc(t->unpacked.zone, size);
    assert_non_null(p);
    return p;
}

/* Finds the value at `path` ("" = root; components separated by '.'; array
   elements by index). If `kv_out` is given, the last component must be a map
   key and *kv_out points at its key/value pair. */
static msgpack_object *tree_find(tree_t *t, const char *path, msgpack_object_kv **kv_out)
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
                fail_msg("no key at %s", path);
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

static void tree_set(tree_t *t, const char *path, msgpack_object v)
{
    *tree_find(t, path, NULL) = v;
}

/* The map holding the last key of `path`, and that key's name. */
static msgpack_object *tree_parent(tree_t *t, const char *path, const char **key_out)
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

static void tree_remove(tree_t *t, const char *path)
{
    msgpack_object_kv *kv;
    tree_find(t, path, &kv);
    const char *key;
    msgpack_object *map = tree_parent(t, path, &key);
    size_t i = (size_t)(kv - map->via.map.ptr);
    memmove(kv, kv + 1, (map->via.map.size - i - 1) * sizeof *kv);
    map->via.map.size--;
}

static msgpack_object o_str(const char *s);

/* Adds `key` = `v` at the end of the map at `map_path`, even if `key` is there already. */
static void tree_add(tree_t *t, const char *map_path, const char *key, msgpack_object v)
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
static void tree_dup(tree_t *t, const char *path, msgpack_object v)
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

static void pack_tree(tree_t *t, msgpack_sbuffer *sb)
{
    msgpack_sbuffer_init(sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    assert_int_equal(msgpack_pack_object(&pk, t->unpacked.data), 0);
}

/* Packs the edited tree, decodes it, releases a success, frees the tree. */
static ledger_err_t tree_decode(tree_t *t, char *why)
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

static void expect_decode(tree_t *t, ledger_err_t expected, const char *what)
{
    char why[WHY_SIZE];
    ledger_err_t err = tree_decode(t, why);
    if (err != expected)
        fail_msg("%s: expected %s, got %s (%s)", what, ledger_err_name(expected),
                 ledger_err_name(err), why);
}

static msgpack_object o_str(const char *s)
{
    msgpack_object o = {.type = MSGPACK_OBJECT_STR};
    o.via.str.ptr = s;
    o.via.str.size = (uint32_t)strlen(s);
    return o;
}

static msgpack_object o_strn(const char *s, uint32_t n)
{
    msgpack_object o = {.type = MSGPACK_OBJECT_STR};
    o.via.str.ptr = s;
    o.via.str.size = n;
    return o;
}

static msgpack_object o_bin(const char *s)
{
    msgpack_object o = {.type = MSGPACK_OBJECT_BIN};
    o.via.bin.ptr = s;
    o.via.bin.size = (uint32_t)strlen(s);
    return o;
}

static msgpack_object o_uint(uint64_t u)
{
    msgpack_object o = {.type = MSGPACK_OBJECT_POSITIVE_INTEGER};
    o.via.u64 = u;
    return o;
}

static msgpack_object o_int(int64_t i)
{
    if (i >= 0)
        return o_uint((uint64_t)i);
    msgpack_object o = {.type = MSGPACK_OBJECT_NEGATIVE_INTEGER};
    o.via.i64 = i;
    return o;
}

static msgpack_object o_bool(bool b)
{
    msgpack_object o = {.type = MSGPACK_OBJECT_BOOLEAN};
    o.via.boolean = b;
    return o;
}

static msgpack_object o_nil(void)
{
    msgpack_object o = {.type = MSGPACK_OBJECT_NIL};
    return o;
}

static msgpack_object o_float(double d)
{
    msgpack_object o = {.type = MSGPACK_OBJECT_FLOAT64};
    o.via.f64 = d;
    return o;
}

static msgpack_object o_map0(void)
{
    msgpack_object o = {.type = MSGPACK_OBJECT_MAP};
    return o;
}

static msgpack_object o_arr0(void)
{
    msgpack_object o = {.type = MSGPACK_OBJECT_ARRAY};
    return o;
}

static msgpack_object o_arr1(tree_t *t, msgpack_object item)
{
    msgpack_object o = {.type = MSGPACK_OBJECT_ARRAY};
    o.via.array.ptr = tree_alloc(t, sizeof item);
    o.via.array.ptr[0] = item;
    o.via.array.size = 1;
    return o;
}

/* A string of `n` copies of `ch`, kept in the tree's zone. */
static msgpack_object o_repeat(tree_t *t, char ch, uint32_t n)
{
    char *s = tree_alloc(t, n + 1);
    memset(s, ch, n);
    s[n] = '\0';
    return o_strn(s, n);
}

/* Expects `path` of sample `s` set to `v` to be refused with `expected`. */
static void expect_set_refused(sample_t s, const char *path, msgpack_object v,
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
static uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Decodes bytes that may be anything: must not crash; on success the message
   must re-encode and decode to an equal message. */
static void decode_anything(const void *data, size_t size)
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

/* ---------------------------------------------------------------------------
   Round trips.
*/
static void test_transfer_requested_round_trips(void **state)
{
    (void)state;
    proto_msg_t m = sample(S_REQUESTED);
    assert_round_trips(&m);
}

static void test_funds_reserved_round_trips(void **state)
{
    (void)state;
    proto_msg_t m = sample(S_RESERVED);
    assert_round_trips(&m);
}

static void test_transfer_settled_round_trips(void **state)
{
    (void)state;
    proto_msg_t m = sample(S_SETTLED);
    assert_round_trips(&m);
}

static void test_fraud_approved_with_no_rules_round_trips(void **state)
{
    (void)state;
    proto_msg_t m = sample(S_APPROVED);
    assert_round_trips(&m);
}

static void test_fraud_rejected_with_rules_round_trips(void **state)
{
    (void)state;
    proto_msg_t m = sample(S_REJECTED);
    assert_round_trips(&m);
}

static void test_transfer_rejected_fraud_round_trips(void **state)
{
    (void)state;
    proto_msg_t m = sample(S_REJECTED_FRAUD);
    assert_round_trips(&m);
}

static void test_transfer_declined_round_trips(void **state)
{
    (void)state;
    proto_msg_t m = sample(S_DECLINED);
    assert_round_trips(&m);
}

static void test_ack_round_trips(void **state)
{
    (void)state;
    proto_msg_t m = sample(S_ACK);
    assert_round_trips(&m);
}

static void test_nack_of_an_undecodable_message_round_trips_with_empty_of(void **state)
{
    (void)state;
    proto_msg_t m = sample(S_NACK);
    assert_string_equal(m.body.reply.of, "");
    assert_round_trips(&m);
}

static void test_account_query_list_round_trips(void **state)
{
    (void)state;
    proto_msg_t m = sample(S_QUERY_LIST);
    assert_round_trips(&m);
    m.body.query.after[0] = '\0'; /* "" = from the first account */
    assert_round_trips(&m);
}

static void test_account_query_get_round_trips(void **state)
{
    (void)state;
    proto_msg_t m = sample(S_QUERY_GET);
    assert_round_trips(&m);
}

static void test_account_query_ledger_round_trips(void **state)
{
    (void)state;
    proto_msg_t m = sample(S_QUERY_LEDGER);
    assert_round_trips(&m);
    m.body.query.cursor = 0; /* 0 = newest */
    assert_round_trips(&m);
}

static void test_account_query_open_round_trips_with_a_zero_deposit(void **state)
{
    (void)state;
    proto_msg_t m = sample(S_QUERY_OPEN);
    assert_round_trips(&m);
    m.body.query.amount_minor = 0;
    assert_round_trips(&m);
}

static void test_account_reply_with_accounts_and_entries_round_trips(void **state)
{
    (void)state;
    proto_msg_t m = sample(S_REPLY);
    assert_round_trips(&m);
}

static void test_account_reply_with_empty_pages_round_trips(void **state)
{
    (void)state;
    proto_msg_t m = sample(S_REPLY);
    m.body.account_reply.status = 404;
    strcpy(m.body.account_reply.code, "not_found");
    strcpy(m.body.account_reply.reason, "no account acc-zed");
    m.body.account_reply.account_count = 0;
    m.body.account_reply.accounts = NULL;
    m.body.account_reply.entry_count = 0;
    m.body.account_reply.entries = NULL;
    m.body.account_reply.next[0] = '\0';
    assert_round_trips(&m);
}

static void test_account_reply_with_full_pages_round_trips(void **state)
{
    (void)state;
    proto_account_t *accounts = calloc(PROTO_PAGE_MAX, sizeof *accounts);
    proto_ledger_row_t *rows = calloc(PROTO_PAGE_MAX, sizeof *rows);
    assert_non_null(accounts);
    assert_non_null(rows);
    for (int i = 0; i < PROTO_PAGE_MAX; i++) {
        snprintf(accounts[i].id, sizeof accounts[i].id, "acc-%03d", i);
        snprintf(accounts[i].name, sizeof accounts[i].name, "Holder %d", i);
        strcpy(accounts[i].currency, "GBP");
        accounts[i].balance_minor = i * 100;
        rows[i].seq = (uint64_t)(PROTO_PAGE_MAX - i);
        strcpy(rows[i].account, "acc-007");
        snprintf(rows[i].transfer, sizeof rows[i].transfer, "t-%d", i);
        strcpy(rows[i].kind, i % 2 ? "debit" : "credit");
        rows[i].amount_minor = i % 2 ? -i : i;
    }
    proto_msg_t m = sample(S_REPLY);
    m.body.account_reply.account_count = PROTO_PAGE_MAX;
    m.body.account_reply.accounts = accounts;
    m.body.account_reply.entry_count = PROTO_PAGE_MAX;
    m.body.account_reply.entries = rows;
    assert_round_trips(&m);
    free(accounts);
    free(rows);
}

static void test_values_at_their_limits_round_trip(void **state)
{
    (void)state;
    proto_msg_t m = sample(S_REQUESTED);
    memset(m.origin, 'z', PROTO_NODE_MAX);
    m.origin[PROTO_NODE_MAX] = '\0';
    m.seq = UINT64_MAX;
    m.ts_ms = PROTO_TS_MAX_MS;
    memset(m.corr, 't', PROTO_TRANSFER_ID_MAX);
    m.corr[PROTO_TRANSFER_ID_MAX] = '\0';
    strcpy(m.body.transfer.transfer, m.corr);
    memset(m.body.transfer.from, 'f', PROTO_ACCOUNT_ID_MAX);
    m.body.transfer.from[PROTO_ACCOUNT_ID_MAX] = '\0';
    memset(m.body.transfer.to, 'o', PROTO_ACCOUNT_ID_MAX);
    m.body.transfer.to[PROTO_ACCOUNT_ID_MAX] = '\0';
    m.body.transfer.amount_minor = INT64_MAX;
    /* 70 two-byte characters: exactly PROTO_REFERENCE_MAX bytes of UTF-8 */
    m.body.transfer.reference[0] = '\0';
    for (int i = 0; i < PROTO_REFERENCE_MAX / 2; i++)
        strcat(m.body.transfer.reference, "\xc3\xa9");
    assert_int_equal(strlen(m.body.transfer.reference), PROTO_REFERENCE_MAX);
    assert_round_trips(&m);
}

static void test_ts_beyond_year_9999_is_refused(void **state)
{
    (void)state;
    proto_msg_t m = sample(S_RESERVED);
    m.ts_ms = PROTO_TS_MAX_MS + 1;
    char why[256] = "";
    assert_int_equal(proto_validate(&m, why, sizeof why), LEDGER_E_INVALID);
    assert_non_null(strstr(why, "ts"));
    m.ts_ms = UINT64_MAX; /* a peer's 2^64-1 must never reach a view as -1 */
    assert_int_equal(proto_validate(&m, why, sizeof why), LEDGER_E_INVALID);
}

static void test_extreme_signed_amounts_round_trip_in_replies(void **state)
{
    (void)state;
    proto_msg_t m = sample(S_REPLY);
    proto_account_t accounts[1] = {sample_accounts[0]};
    proto_ledger_row_t rows[1] = {sample_rows[0]};
    accounts[0].balance_minor = INT64_MIN;
    accounts[0].held_minor = INT64_MAX;
    rows[0].amount_minor = INT64_MIN;
    rows[0].seq = UINT64_MAX;
    m.body.account_reply.accounts = accounts;
    m.body.account_reply.account_count = 1;
    m.body.account_reply.entries = rows;
    m.body.account_reply.entry_count = 1;
    assert_round_trips(&m);
}

static void test_decoded_id_is_split_into_origin_and_seq(void **state)
{
    (void)state;
    proto_msg_t m = sample(S_DECLINED);
    void *data;
    size_t size;
    encode_ok(&m, &data, &size);
    proto_msg_t out;
    char why[WHY_SIZE];
    assert_int_equal(decode(data, size, &out, why), LEDGER_OK);
    assert_string_equal(out.origin, "gateway");
    assert_true(out.seq == 42);
    char id[PROTO_ID_MAX + 1];
    proto_msg_id(&out, id);
    assert_string_equal(id, "gateway/42");
    free(data);
}

static void test_envelope_is_a_map_of_named_keys(void **state)
{
    (void)state;
    tree_t t;
    tree_init_sample(&t, S_ACK);
    assert_int_equal(tree_find(&t, "v", NULL)->via.u64, PROTO_VERSION);
    msgpack_object *id = tree_find(&t, "id", NULL);
    assert_int_equal(id->type, MSGPACK_OBJECT_STR);
    assert_memory_equal(id->via.str.ptr, "gateway/42", 10);
    msgpack_object *type = tree_find(&t, "type", NULL);
    assert_memory_equal(type->via.str.ptr, "ack", 3);
    assert_int_equal(tree_find(&t, "ts", NULL)->via.u64, 1764028800123);
    assert_int_equal(tree_find(&t, "body", NULL)->via.map.size, 1);
    tree_fini(&t);
}

/* ---------------------------------------------------------------------------
   Framing and structure.
*/
static void test_every_prefix_of_a_valid_frame_is_rejected(void **state)
{
    (void)state;
    for (sample_t s = 0; s < S__COUNT; s++) {
        proto_msg_t m = sample(s);
        void *data;
        size_t size;
        encode_ok(&m, &data, &size);
        for (size_t len = 0; len < size; len++) {
            /* a fresh copy of exactly `len` bytes so ASan sees any over-read */
            void *prefix = malloc(len ? len : 1);
            memcpy(prefix, data, len);
            proto_msg_t out;
            char why[WHY_SIZE];
            ledger_err_t err = decode(prefix, len, &out, why);
            if (err != LEDGER_E_DECODE)
                fail_msg("sample %d prefix %zu/%zu: got %s", (int)s, len, size,
                         ledger_err_name(err));
            free(prefix);
        }
        free(data);
    }
}

static void test_frame_over_the_size_limit_is_rejected_as_too_large(void **state)
{
    (void)state;
    size_t size = PROTO_FRAME_MAX + 1;
    unsigned char *big = calloc(1, size);
    assert_non_null(big);
    proto_msg_t m = sample(S_REQUESTED);
    void *data;
    size_t len;
    encode_ok(&m, &data, &len);
    memcpy(big, data, len); /* a valid message, then padding: size alone decides */
    proto_msg_t out;
    char why[WHY_SIZE];
    assert_int_equal(decode(big, size, &out, why), LEDGER_E_TOO_LARGE);
    assert_int_equal(decode(big, SIZE_MAX, &out, why), LEDGER_E_TOO_LARGE);
    free(data);
    free(big);
}

static void test_frame_of_exactly_the_size_limit_is_not_refused_for_its_size(void **state)
{
    (void)state;
    unsigned char *big = calloc(1, PROTO_FRAME_MAX);
    assert_non_null(big);
    proto_msg_t m = sample(S_REQUESTED);
    void *data;
    size_t len;
    encode_ok(&m, &data, &len);
    memcpy(big, data, len);
    proto_msg_t out;
    char why[WHY_SIZE];
    assert_int_equal(decode(big, PROTO_FRAME_MAX, &out, why), LEDGER_E_DECODE);
    assert_non_null(strstr(why, "trailing"));
    free(data);
    free(big);
}

static void test_encode_refuses_a_reply_larger_than_a_frame(void **state)
{
    (void)state;
    proto_account_t *accounts = calloc(PROTO_PAGE_MAX, sizeof *accounts);
    proto_ledger_row_t *rows = calloc(PROTO_PAGE_MAX, sizeof *rows);
    assert_non_null(accounts);
    assert_non_null(rows);
    for (int i = 0; i < PROTO_PAGE_MAX; i++) {
        memset(accounts[i].id, 'a', PROTO_ACCOUNT_ID_MAX);
        memset(accounts[i].name, 'n', PROTO_NAME_MAX);
        strcpy(accounts[i].currency, "GBP");
        memset(rows[i].account, 'a', PROTO_ACCOUNT_ID_MAX);
        memset(rows[i].transfer, 't', PROTO_TRANSFER_ID_MAX);
        strcpy(rows[i].kind, "credit");
    }
    proto_msg_t m = sample(S_REPLY);
    m.body.account_reply.account_count = PROTO_PAGE_MAX;
    m.body.account_reply.accounts = accounts;
    m.body.account_reply.entry_count = PROTO_PAGE_MAX;
    m.body.account_reply.entries = rows;
    void *data = (void *)&m; /* sentinel: must stay untouched */
    size_t size = 0;
    char why[WHY_SIZE];
    assert_int_equal(proto_encode(&m, &data, &size, why, sizeof why), LEDGER_E_TOO_LARGE);
    assert_ptr_equal(data, &m);
    assert_non_null(strstr(why, "PROTO_FRAME_MAX"));
    free(accounts);
    free(rows);
}

static void test_empty_input_is_rejected(void **state)
{
    (void)state;
    proto_msg_t out;
    char why[WHY_SIZE];
    assert_int_equal(decode("", 0, &out, why), LEDGER_E_DECODE);
    assert_int_equal(decode(NULL, 0, &out, why), LEDGER_E_DECODE);
}

static void test_top_level_that_is_not_a_map_is_rejected(void **state)
{
    (void)state;
    /* 1, "v", [], nil, true, 1.5 */
    static const char *frames[] = {"\x01", "\xa1v", "\x90",
                                   "\xc0", "\xc3",  "\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00"};
    static const size_t sizes[] = {1, 2, 1, 1, 1, 9};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        proto_msg_t out;
        char why[WHY_SIZE];
        assert_int_equal(decode(frames[i], sizes[i], &out, why), LEDGER_E_DECODE);
    }
}

static void test_trailing_bytes_are_rejected(void **state)
{
    (void)state;
    for (sample_t s = 0; s < S__COUNT; s++) {
        proto_msg_t m = sample(s);
        void *data;
        size_t size;
        encode_ok(&m, &data, &size);
        unsigned char *longer = malloc(size + 2);
        memcpy(longer, data, size);
        longer[size] = 0xc0;
        longer[size + 1] = 0x01;
        proto_msg_t out;
        char why[WHY_SIZE];
        assert_int_equal(decode(longer, size + 1, &out, why), LEDGER_E_DECODE);
        assert_int_equal(decode(longer, size + 2, &out, why), LEDGER_E_DECODE);
        /* a second whole envelope is trailing bytes too */
        unsigned char *twice = malloc(2 * size);
        memcpy(twice, data, size);
        memcpy(twice + size, data, size);
        assert_int_equal(decode(twice, 2 * size, &out, why), LEDGER_E_DECODE);
        free(twice);
        free(longer);
        free(data);
    }
}

static void test_deeply_nested_input_is_rejected(void **state)
{
    (void)state;
    /* 1000 nested one-element arrays around an int: past msgpack-c's own stack too */
    unsigned char deep[1001];
    memset(deep, 0x91, 1000);
    deep[1000] = 0x01;
    proto_msg_t out;
    char why[WHY_SIZE];
    assert_int_equal(decode(deep, sizeof deep, &out, why), LEDGER_E_DECODE);
    assert_non_null(strstr(why, "nesting"));
    /* nested maps: {"body": {"body": ...}} */
    unsigned char maps[6 * 50 + 1];
    for (int i = 0; i < 50; i++)
        memcpy(maps + 6 * i,
               "\x81\xa4"
               "body",
               6);
    maps[6 * 50] = 0x80;
    assert_int_equal(decode(maps, sizeof maps, &out, why), LEDGER_E_DECODE);
}

static void test_nesting_one_level_too_deep_inside_a_body_is_rejected(void **state)
{
    (void)state;
    /* envelope(1) > body(2) > rules(3) > [ (4) > [ (5) ] ] */
    tree_t t;
    tree_init_sample(&t, S_REJECTED);
    msgpack_object inner = o_arr1(&t, o_arr1(&t, o_arr1(&t, o_str("velocity"))));
    tree_set(&t, "body.rules", inner);
    char why[WHY_SIZE];
    assert_int_equal(tree_decode(&t, why), LEDGER_E_DECODE);
    assert_non_null(strstr(why, "nesting"));
}

static void test_container_claiming_more_items_than_bytes_is_rejected(void **state)
{
    (void)state;
    /* array32 / map32 of 2^32-1 items in 5 bytes: refused before any allocation */
    proto_msg_t out;
    char why[WHY_SIZE];
    assert_int_equal(decode("\xdd\xff\xff\xff\xff", 5, &out, why), LEDGER_E_DECODE);
    assert_int_equal(decode("\xdf\xff\xff\xff\xff", 5, &out, why), LEDGER_E_DECODE);
    assert_int_equal(decode("\x81\xa1v\xdd\x7f\xff\xff\xff", 8, &out, why), LEDGER_E_DECODE);
    /* str32 claiming 4 GB */
    assert_int_equal(decode("\x81\xa1v\xdb\xff\xff\xff\xff", 8, &out, why), LEDGER_E_DECODE);
}

static void test_reserved_byte_0xc1_is_rejected(void **state)
{
    (void)state;
    proto_msg_t out;
    char why[WHY_SIZE];
    assert_int_equal(decode("\x81\xa1v\xc1", 4, &out, why), LEDGER_E_DECODE);
}

static void test_frame_check_accepts_any_single_msgpack_object_within_limits(void **state)
{
    (void)state;
    const struct {
        const char *bytes;
        size_t size;
    } ok[] = {
        {"\x93\x01\x02\x03", 4},     /* [1, 2, 3] */
        {"\xc0", 1},                 /* nil */
        {"\x91\x91\x91\x91\x01", 5}, /* nesting of exactly 4 */
        {"\xc7\x02\x01"
         "ab",
         5}, /* ext8 */
        {"\xd8\x01"
         "0123456789abcdef",
         18},                        /* fixext16 */
        {"\xca\x00\x00\x00\x00", 5}, /* float32 */
        {"\xc4\x03"
         "abc",
         5},                                                           /* bin8 */
        {"\xde\x00\x01\xa1k\xcf\x00\x00\x00\x00\x00\x00\x00\x01", 14}, /* map16 */
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char why[WHY_SIZE] = "";
        if (proto_frame_check(ok[i].bytes, ok[i].size, why, sizeof why) != LEDGER_OK)
            fail_msg("case %zu: %s", i, why);
    }
}

static void test_frame_check_rejects_lengths_and_counts_past_the_end(void **state)
{
    (void)state;
    const struct {
        const char *bytes;
        size_t size;
        ledger_err_t err;
    } bad[] = {
        {"\x91\x91\x91\x91\x91\x01", 6, LEDGER_E_DECODE}, /* nesting of 5 */
        {"\x92\x01", 2, LEDGER_E_DECODE},                 /* one item short */
        {"\xc7\x02\x01"
         "a",
         4, LEDGER_E_DECODE},                                     /* ext8 one byte short */
        {"\xd9", 1, LEDGER_E_DECODE},                             /* str8 without its length */
        {"\xdb\x00\x01\x00\x00", 5, LEDGER_E_DECODE},             /* str32 of 64 KiB, 0 bytes */
        {"\xdf\x00\x00\x00\x02\x01\x02\x03", 8, LEDGER_E_DECODE}, /* map32 of 2, 3 bytes */
        {"\x01\x02", 2, LEDGER_E_DECODE},                         /* trailing byte */
        {"\xc1", 1, LEDGER_E_DECODE},                             /* reserved byte */
        {"", 0, LEDGER_E_DECODE},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char why[WHY_SIZE] = "";
        assert_int_equal(proto_frame_check(bad[i].bytes, bad[i].size, why, sizeof why), bad[i].err);
        assert_true(why[0] != '\0');
    }
    static unsigned char big[PROTO_FRAME_MAX + 1];
    assert_int_equal(proto_frame_check(big, sizeof big, NULL, 0), LEDGER_E_TOO_LARGE);
}

/* ---------------------------------------------------------------------------
   Keys: missing, unknown, duplicate, wrong type.
*/
static const char *const envelope_fields[] = {"v", "id", "type", "corr", "cause", "ts", "body"};

static const char *const body_fields[S__COUNT][9] = {
    [S_REQUESTED] = {"transfer", "from", "to", "amount_minor", "currency", "reference"},
    [S_RESERVED] = {"transfer", "from", "to", "amount_minor", "currency", "reference"},
    [S_SETTLED] = {"transfer", "from", "to", "amount_minor", "currency", "reference"},
    [S_APPROVED] = {"transfer", "rules", "reason"},
    [S_REJECTED] = {"transfer", "rules", "reason"},
    [S_REJECTED_FRAUD] = {"transfer", "rules", "reason"},
    [S_DECLINED] = {"transfer", "code", "reason"},
    [S_ACK] = {"of"},
    [S_NACK] = {"of", "code", "reason"},
    [S_QUERY_LIST] = {"op", "cursor", "limit"},
    [S_QUERY_GET] = {"op", "account"},
    [S_QUERY_LEDGER] = {"op", "account", "cursor", "limit"},
    [S_QUERY_OPEN] = {"op", "account", "name", "currency", "amount_minor"},
    [S_REPLY] = {"status", "code", "reason", "accounts", "entries", "next"},
};

static void test_missing_envelope_fields_are_rejected(void **state)
{
    (void)state;
    for (size_t i = 0; i < 7; i++) {
        tree_t t;
        tree_init_sample(&t, S_REQUESTED);
        tree_remove(&t, envelope_fields[i]);
        char why[WHY_SIZE];
        assert_int_equal(tree_decode(&t, why), LEDGER_E_DECODE);
        assert_non_null(strstr(why, "missing"));
    }
}

static void test_missing_body_fields_are_rejected_for_every_type(void **state)
{
    (void)state;
    for (sample_t s = 0; s < S__COUNT; s++) {
        for (size_t i = 0; body_fields[s][i]; i++) {
            char path[64];
            snprintf(path, sizeof path, "body.%s", body_fields[s][i]);
            tree_t t;
            tree_init_sample(&t, s);
            tree_remove(&t, path);
            expect_decode(&t, LEDGER_E_DECODE, path);
        }
    }
}

static void test_missing_fields_of_reply_items_are_rejected(void **state)
{
    (void)state;
    static const char *const paths[] = {"body.accounts.0.id",
                                        "body.accounts.0.name",
                                        "body.accounts.0.currency",
                                        "body.accounts.0.balance_minor",
                                        "body.accounts.0.held_minor",
                                        "body.accounts.0.funding",
                                        "body.entries.1.seq",
                                        "body.entries.1.account",
                                        "body.entries.1.transfer",
                                        "body.entries.1.kind",
                                        "body.entries.1.amount_minor",
                                        "body.entries.1.balance_after_minor",
                                        "body.entries.1.held_after_minor",
                                        "body.entries.1.ts_ms"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        tree_t t;
        tree_init_sample(&t, S_REPLY);
        tree_remove(&t, paths[i]);
        expect_decode(&t, LEDGER_E_DECODE, paths[i]);
    }
}

static void test_unknown_envelope_key_is_rejected(void **state)
{
    (void)state;
    tree_t t;
    tree_init_sample(&t, S_REQUESTED);
    tree_add(&t, "", "priority", o_uint(1));
    char why[WHY_SIZE];
    assert_int_equal(tree_decode(&t, why), LEDGER_E_DECODE);
    assert_non_null(strstr(why, "unknown key \"priority\""));
}

static void test_unknown_body_key_is_rejected_for_every_type(void **state)
{
    (void)state;
    for (sample_t s = 0; s < S__COUNT; s++) {
        tree_t t;
        tree_init_sample(&t, s);
        tree_add(&t, "body", "extra", o_str(""));
        expect_decode(&t, LEDGER_E_DECODE, "body.extra");
    }
}

static void test_unknown_key_in_a_reply_item_is_rejected(void **state)
{
    (void)state;
    tree_t t;
    tree_init_sample(&t, S_REPLY);
    tree_add(&t, "body.accounts.1", "overdraft", o_int(0));
    expect_decode(&t, LEDGER_E_DECODE, "accounts[1].overdraft");
    tree_init_sample(&t, S_REPLY);
    tree_add(&t, "body.entries.0", "memo", o_str("x"));
    expect_decode(&t, LEDGER_E_DECODE, "entries[0].memo");
}

static void test_key_belonging_to_another_query_op_is_rejected(void **state)
{
    (void)state;
    tree_t t;
    tree_init_sample(&t, S_QUERY_GET);
    tree_add(&t, "body", "limit", o_uint(10));
    char why[WHY_SIZE];
    assert_int_equal(tree_decode(&t, why), LEDGER_E_DECODE);
    assert_non_null(strstr(why, "body.limit"));
    tree_init_sample(&t, S_QUERY_LIST);
    tree_add(&t, "body", "account", o_str("acc-alice"));
    expect_decode(&t, LEDGER_E_DECODE, "list with account");
}

static void test_ack_carrying_nack_fields_is_rejected(void **state)
{
    (void)state;
    tree_t t;
    tree_init_sample(&t, S_ACK);
    tree_add(&t, "body", "code", o_str("decode_error"));
    expect_decode(&t, LEDGER_E_DECODE, "ack with code");
}

static void test_duplicate_envelope_key_is_rejected(void **state)
{
    (void)state;
    for (size_t i = 0; i < 7; i++) {
        tree_t t;
        tree_init_sample(&t, S_REQUESTED);
        /* the same value twice: still two readings of one key */
        tree_dup(&t, envelope_fields[i], *tree_find(&t, envelope_fields[i], NULL));
        char why[WHY_SIZE];
        assert_int_equal(tree_decode(&t, why), LEDGER_E_DECODE);
        assert_non_null(strstr(why, "duplicate"));
    }
}

static void test_duplicate_body_key_is_rejected_for_every_type(void **state)
{
    (void)state;
    for (sample_t s = 0; s < S__COUNT; s++) {
        for (size_t i = 0; body_fields[s][i]; i++) {
            char path[64];
            snprintf(path, sizeof path, "body.%s", body_fields[s][i]);
            tree_t t;
            tree_init_sample(&t, s);
            tree_dup(&t, path, *tree_find(&t, path, NULL));
            expect_decode(&t, LEDGER_E_DECODE, path);
        }
    }
}

static void test_duplicate_key_in_a_reply_item_is_rejected(void **state)
{
    (void)state;
    tree_t t;
    tree_init_sample(&t, S_REPLY);
    tree_dup(&t, "body.accounts.0.balance_minor", o_int(1));
    expect_decode(&t, LEDGER_E_DECODE, "accounts[0] duplicate");
}

static void test_key_that_is_not_a_string_is_rejected(void **state)
{
    (void)state;
    tree_t t;
    tree_init_sample(&t, S_ACK);
    msgpack_object_kv *kv;
    tree_find(&t, "cause", &kv);
    kv->key = o_bin("cause");
    expect_decode(&t, LEDGER_E_DECODE, "bin key");
    tree_init_sample(&t, S_ACK);
    tree_find(&t, "body.of", &kv);
    kv->key = o_uint(1);
    expect_decode(&t, LEDGER_E_DECODE, "uint key");
}

static void test_wrong_typed_envelope_fields_are_rejected(void **state)
{
    (void)state;
    const struct {
        const char *path;
        msgpack_object v;
    } cases[] = {
        {"v", o_str("1")},     {"v", o_int(-1)},
        {"v", o_float(1.0)},   {"v", o_nil()},
        {"id", o_uint(42)},    {"id", o_bin("gateway/42")},
        {"type", o_uint(1)},   {"type", o_bin("ack")},
        {"corr", o_nil()},     {"corr", o_uint(1)},
        {"cause", o_arr0()},   {"cause", o_bool(false)},
        {"ts", o_int(-5)},     {"ts", o_str("1764028800123")},
        {"ts", o_float(1.5)},  {"body", o_arr0()},
        {"body", o_str("{}")}, {"body", o_nil()},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_set_refused(S_REQUESTED, cases[i].path, cases[i].v, LEDGER_E_DECODE);
}

static void test_wrong_typed_body_fields_are_rejected(void **state)
{
    (void)state;
    const struct {
        sample_t s;
        const char *path;
        msgpack_object v;
    } cases[] = {
        {S_REQUESTED, "body.transfer", o_uint(1)},
        {S_REQUESTED, "body.from", o_bin("acc-alice")},
        {S_REQUESTED, "body.to", o_nil()},
        {S_REQUESTED, "body.amount_minor", o_str("2500")},
        {S_REQUESTED, "body.amount_minor", o_float(25.0)},
        {S_REQUESTED, "body.amount_minor", o_bool(true)},
        {S_REQUESTED, "body.currency", o_uint(826)},
        {S_REQUESTED, "body.reference", o_nil()},
        {S_REJECTED, "body.rules", o_str("velocity")},
        {S_REJECTED, "body.rules", o_map0()},
        {S_REJECTED, "body.rules.0", o_uint(3)},
        {S_REJECTED, "body.reason", o_arr0()},
        {S_DECLINED, "body.code", o_uint(402)},
        {S_ACK, "body.of", o_nil()},
        {S_NACK, "body.reason", o_bool(false)},
        {S_QUERY_LIST, "body.op", o_uint(1)},
        {S_QUERY_LIST, "body.cursor", o_uint(5)},     /* list cursor is an account id */
        {S_QUERY_LEDGER, "body.cursor", o_str("99")}, /* ledger cursor is a seq */
        {S_QUERY_LEDGER, "body.limit", o_str("10")},
        {S_QUERY_LEDGER, "body.limit", o_int(-10)},
        {S_QUERY_OPEN, "body.amount_minor", o_float(0.0)},
        {S_QUERY_OPEN, "body.name", o_uint(0)},
        {S_REPLY, "body", o_arr0()},
        {S_REPLY, "body.status", o_str("200")},
        {S_REPLY, "body.status", o_int(-200)},
        {S_REPLY, "body.accounts", o_map0()},
        {S_REPLY, "body.entries", o_nil()},
        {S_REPLY, "body.accounts.0", o_arr0()},
        {S_REPLY, "body.accounts.0.funding", o_uint(1)},
        {S_REPLY, "body.accounts.0.balance_minor", o_float(1.0)},
        {S_REPLY, "body.entries.0.seq", o_int(-1)},
        {S_REPLY, "body.entries.0.ts_ms", o_str("0")},
        {S_REPLY, "body.entries.1", o_str("row")},
        {S_REPLY, "body.next", o_uint(0)},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_set_refused(cases[i].s, cases[i].path, cases[i].v, LEDGER_E_DECODE);
}

/* ---------------------------------------------------------------------------
   Values: version, type, ids, currency, amounts, strings.
*/
static void test_unknown_version_is_rejected(void **state)
{
    (void)state;
    const uint64_t versions[] = {0, 2, 255, UINT32_MAX, (uint64_t)UINT32_MAX + 1, UINT64_MAX};
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++)
        expect_set_refused(S_REQUESTED, "v", o_uint(versions[i]), LEDGER_E_VERSION);
}

static void test_unknown_version_is_reported_before_other_problems(void **state)
{
    (void)state;
    tree_t t;
    tree_init_sample(&t, S_REQUESTED);
    tree_set(&t, "v", o_uint(2));
    tree_add(&t, "", "trace", o_str("abc"));
    tree_remove(&t, "corr");
    tree_set(&t, "type", o_str("transfer.requested.v2"));
    expect_decode(&t, LEDGER_E_VERSION, "v2 with new keys");
}

static void test_unknown_type_is_rejected(void **state)
{
    (void)state;
    static const char *const names[] = {"transfer.refunded",      "",        "ACK", "ack ",
                                        "transfer.requested\x01", "transfer"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        expect_set_refused(S_ACK, "type", o_str(names[i]), LEDGER_E_UNKNOWN_TYPE);
    expect_set_refused(S_ACK, "type", o_strn("ack\0", 4), LEDGER_E_UNKNOWN_TYPE);
}

static const char *const bad_ids[] = {
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

static void test_bad_message_ids_are_rejected(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++)
        expect_set_refused(S_REQUESTED, "id", o_str(bad_ids[i]), LEDGER_E_DECODE);
}

static void test_bad_cause_and_of_ids_are_rejected(void **state)
{
    (void)state;
    for (size_t i = 1; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
        expect_set_refused(S_REQUESTED, "cause", o_str(bad_ids[i]), LEDGER_E_DECODE);
        expect_set_refused(S_ACK, "body.of", o_str(bad_ids[i]), LEDGER_E_DECODE);
        expect_set_refused(S_NACK, "body.of", o_str(bad_ids[i]), LEDGER_E_DECODE);
    }
}

static void test_ack_must_name_the_message_it_answers(void **state)
{
    (void)state;
    expect_set_refused(S_ACK, "body.of", o_str(""), LEDGER_E_DECODE);
}

static void test_id_parse_accepts_well_formed_ids(void **state)
{
    (void)state;
    char origin[PROTO_NODE_MAX + 1];
    uint64_t seq = 0;
    assert_int_equal(proto_id_parse("accounts-2/1", origin, &seq), LEDGER_OK);
    assert_string_equal(origin, "accounts-2");
    assert_true(seq == 1);
    assert_int_equal(proto_id_parse("a_b/18446744073709551615", origin, &seq), LEDGER_OK);
    assert_string_equal(origin, "a_b");
    assert_true(seq == UINT64_MAX);
    assert_int_equal(proto_id_parse("abcdefghijklmnopqrstuvwxyz012345/9", origin, &seq), LEDGER_OK);
    assert_int_equal(strlen(origin), PROTO_NODE_MAX);
}

static void test_id_parse_rejects_malformed_ids_and_leaves_outputs_alone(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
        char origin[PROTO_NODE_MAX + 1] = "keep";
        uint64_t seq = 7;
        assert_int_equal(proto_id_parse(bad_ids[i], origin, &seq), LEDGER_E_INVALID);
        assert_string_equal(origin, "keep");
        assert_true(seq == 7);
    }
    assert_int_equal(proto_id_parse(NULL, NULL, NULL), LEDGER_E_INVALID);
}

static void test_bad_currency_is_rejected(void **state)
{
    (void)state;
    static const char *const bad[] = {"gbp", "GB", "", "G1P", "Gbp", "G P", "ÄBC"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ledger_err_t expected =
            strlen(bad[i]) > PROTO_CURRENCY_LEN ? LEDGER_E_DECODE : LEDGER_E_INVALID;
        expect_set_refused(S_REQUESTED, "body.currency", o_str(bad[i]), expected);
        expect_set_refused(S_QUERY_OPEN, "body.currency", o_str(bad[i]), expected);
        expect_set_refused(S_REPLY, "body.accounts.0.currency", o_str(bad[i]), expected);
    }
    expect_set_refused(S_REQUESTED, "body.currency", o_str("GBPX"), LEDGER_E_DECODE);
}

static void test_zero_or_negative_transfer_amount_is_rejected(void **state)
{
    (void)state;
    const int64_t bad[] = {0, -1, -2500, INT64_MIN};
    for (sample_t s = S_REQUESTED; s <= S_SETTLED; s++)
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
            expect_set_refused(s, "body.amount_minor", o_int(bad[i]), LEDGER_E_INVALID);
}

static void test_amount_beyond_int64_is_rejected(void **state)
{
    (void)state;
    expect_set_refused(S_REQUESTED, "body.amount_minor", o_uint((uint64_t)INT64_MAX + 1),
                       LEDGER_E_INVALID);
    expect_set_refused(S_REPLY, "body.accounts.0.balance_minor", o_uint(UINT64_MAX),
                       LEDGER_E_INVALID);
}

static void test_open_query_accepts_a_zero_deposit_but_not_a_negative_one(void **state)
{
    (void)state;
    tree_t t;
    tree_init_sample(&t, S_QUERY_OPEN);
    tree_set(&t, "body.amount_minor", o_int(0));
    expect_decode(&t, LEDGER_OK, "open with 0");
    expect_set_refused(S_QUERY_OPEN, "body.amount_minor", o_int(-1), LEDGER_E_INVALID);
}

static void test_over_long_strings_are_rejected(void **state)
{
    (void)state;
    const struct {
        sample_t s;
        const char *path;
        uint32_t limit;
    } cases[] = {
        {S_REQUESTED, "id", PROTO_ID_MAX},
        {S_REQUESTED, "corr", PROTO_TRANSFER_ID_MAX},
        {S_REQUESTED, "cause", PROTO_ID_MAX},
        {S_REQUESTED, "body.transfer", PROTO_TRANSFER_ID_MAX},
        {S_REQUESTED, "body.from", PROTO_ACCOUNT_ID_MAX},
        {S_REQUESTED, "body.to", PROTO_ACCOUNT_ID_MAX},
        {S_REQUESTED, "body.currency", PROTO_CURRENCY_LEN},
        {S_REQUESTED, "body.reference", PROTO_REFERENCE_MAX},
        {S_REJECTED, "body.rules.1", PROTO_RULE_NAME_MAX},
        {S_REJECTED, "body.reason", PROTO_REASON_MAX},
        {S_DECLINED, "body.code", PROTO_CODE_MAX},
        {S_DECLINED, "body.reason", PROTO_REASON_MAX},
        {S_ACK, "body.of", PROTO_ID_MAX},
        {S_NACK, "body.code", PROTO_CODE_MAX},
        {S_NACK, "body.reason", PROTO_REASON_MAX},
        {S_QUERY_LIST, "body.cursor", PROTO_ACCOUNT_ID_MAX},
        {S_QUERY_GET, "body.account", PROTO_ACCOUNT_ID_MAX},
        {S_QUERY_OPEN, "body.name", PROTO_NAME_MAX},
        {S_REPLY, "body.code", PROTO_CODE_MAX},
        {S_REPLY, "body.reason", PROTO_REASON_MAX},
        {S_REPLY, "body.next", PROTO_ACCOUNT_ID_MAX},
        {S_REPLY, "body.accounts.0.id", PROTO_ACCOUNT_ID_MAX},
        {S_REPLY, "body.accounts.1.name", PROTO_NAME_MAX},
        {S_REPLY, "body.entries.0.account", PROTO_ACCOUNT_ID_MAX},
        {S_REPLY, "body.entries.0.transfer", PROTO_TRANSFER_ID_MAX},
        {S_REPLY, "body.entries.1.kind", 15},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tree_t t;
        tree_init_sample(&t, cases[i].s);
        tree_set(&t, cases[i].path, o_repeat(&t, 'a', cases[i].limit + 1));
        char why[WHY_SIZE];
        ledger_err_t err = tree_decode(&t, why);
        if (err != LEDGER_E_DECODE || !strstr(why, "longer than"))
            fail_msg("%s: got %s (%s)", cases[i].path, ledger_err_name(err), why);
    }
}

static void test_strings_with_nul_bytes_are_rejected(void **state)
{
    (void)state;
    expect_set_refused(S_REQUESTED, "body.reference", o_strn("rent\0hidden", 11), LEDGER_E_DECODE);
    expect_set_refused(S_REQUESTED, "body.from", o_strn("acc-alice\0", 10), LEDGER_E_DECODE);
    expect_set_refused(S_REQUESTED, "corr", o_strn("\0", 1), LEDGER_E_DECODE);
    expect_set_refused(S_REPLY, "body.accounts.0.name", o_strn("A\0B", 3), LEDGER_E_DECODE);
}

static void test_strings_that_are_not_utf8_are_rejected(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "\xff",             /* never in UTF-8 */
        "caf\xc3",          /* truncated sequence */
        "\xc0\xaf",         /* overlong '/' */
        "\xed\xa0\x80",     /* surrogate */
        "\xf4\x90\x80\x80", /* past U+10FFFF */
        "\x80",             /* stray continuation */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        expect_set_refused(S_REQUESTED, "body.reference", o_str(bad[i]), LEDGER_E_DECODE);
        expect_set_refused(S_DECLINED, "body.reason", o_str(bad[i]), LEDGER_E_DECODE);
        expect_set_refused(S_REQUESTED, "body.to", o_str(bad[i]), LEDGER_E_DECODE);
    }
}

static void test_control_characters_in_identifiers_are_rejected(void **state)
{
    (void)state;
    expect_set_refused(S_REQUESTED, "body.from", o_str("acc\nalice"), LEDGER_E_INVALID);
    expect_set_refused(S_QUERY_GET, "body.account", o_str("acc\x7f"), LEDGER_E_INVALID);
    expect_set_refused(S_REQUESTED, "corr", o_str("t-\t1"), LEDGER_E_INVALID);
    /* free text may hold them */
    tree_t t;
    tree_init_sample(&t, S_DECLINED);
    tree_set(&t, "body.reason", o_str("line one\nline two"));
    expect_decode(&t, LEDGER_OK, "newline in a reason");
}

static void test_codes_must_be_snake_case(void **state)
{
    (void)state;
    expect_set_refused(S_DECLINED, "body.code", o_str("Insufficient Funds"), LEDGER_E_INVALID);
    expect_set_refused(S_NACK, "body.code", o_str("decode-error"), LEDGER_E_INVALID);
    expect_set_refused(S_REPLY, "body.code", o_str("NOT_FOUND"), LEDGER_E_INVALID);
    expect_set_refused(S_REPLY, "body.entries.0.kind", o_str("hold2"), LEDGER_E_INVALID);
}

static void test_required_strings_must_not_be_empty(void **state)
{
    (void)state;
    expect_set_refused(S_REQUESTED, "body.from", o_str(""), LEDGER_E_INVALID);
    expect_set_refused(S_DECLINED, "body.code", o_str(""), LEDGER_E_INVALID);
    expect_set_refused(S_NACK, "body.code", o_str(""), LEDGER_E_INVALID);
    expect_set_refused(S_QUERY_GET, "body.account", o_str(""), LEDGER_E_INVALID);
    expect_set_refused(S_QUERY_OPEN, "body.name", o_str(""), LEDGER_E_INVALID);
    expect_set_refused(S_REJECTED, "body.rules.0", o_str(""), LEDGER_E_INVALID);
    expect_set_refused(S_REPLY, "body.accounts.0.id", o_str(""), LEDGER_E_INVALID);
}

static void test_saga_message_needs_corr_equal_to_its_transfer(void **state)
{
    (void)state;
    expect_set_refused(S_REQUESTED, "corr", o_str(""), LEDGER_E_INVALID);
    expect_set_refused(S_REQUESTED, "corr", o_str("t-0002"), LEDGER_E_INVALID);
    expect_set_refused(S_APPROVED, "body.transfer", o_str("t-0002"), LEDGER_E_INVALID);
    expect_set_refused(S_DECLINED, "body.transfer", o_str(""), LEDGER_E_INVALID);
}

static void test_query_limit_out_of_range_is_rejected(void **state)
{
    (void)state;
    expect_set_refused(S_QUERY_LIST, "body.limit", o_uint(0), LEDGER_E_INVALID);
    expect_set_refused(S_QUERY_LIST, "body.limit", o_uint(PROTO_PAGE_MAX + 1), LEDGER_E_INVALID);
    expect_set_refused(S_QUERY_LEDGER, "body.limit", o_uint(UINT64_MAX), LEDGER_E_INVALID);
}

static void test_unknown_query_op_is_rejected(void **state)
{
    (void)state;
    expect_set_refused(S_QUERY_GET, "body.op", o_str("delete"), LEDGER_E_INVALID);
    expect_set_refused(S_QUERY_GET, "body.op", o_str("GET"), LEDGER_E_INVALID);
    expect_set_refused(S_QUERY_GET, "body.op", o_str("list-and-more-than-eight"), LEDGER_E_INVALID);
}

static void test_too_many_rules_are_rejected(void **state)
{
    (void)state;
    tree_t t;
    tree_init_sample(&t, S_REJECTED);
    msgpack_object rules = {.type = MSGPACK_OBJECT_ARRAY};
    rules.via.array.size = PROTO_RULES_MAX + 1;
    rules.via.array.ptr = tree_alloc(&t, rules.via.array.size * sizeof(msgpack_object));
    for (uint32_t i = 0; i < rules.via.array.size; i++)
        rules.via.array.ptr[i] = o_str("velocity");
    tree_set(&t, "body.rules", rules);
    expect_decode(&t, LEDGER_E_DECODE, "9 rules");
}

static void test_too_many_accounts_in_a_reply_are_rejected(void **state)
{
    (void)state;
    tree_t t;
    tree_init_sample(&t, S_REPLY);
    msgpack_object one = *tree_find(&t, "body.accounts.0", NULL);
    msgpack_object list = {.type = MSGPACK_OBJECT_ARRAY};
    list.via.array.size = PROTO_PAGE_MAX + 1;
    list.via.array.ptr = tree_alloc(&t, list.via.array.size * sizeof(msgpack_object));
    for (uint32_t i = 0; i < list.via.array.size; i++)
        list.via.array.ptr[i] = one;
    tree_set(&t, "body.accounts", list);
    expect_decode(&t, LEDGER_E_DECODE, "201 accounts");
}

static void test_reply_status_out_of_range_is_rejected(void **state)
{
    (void)state;
    expect_set_refused(S_REPLY, "body.status", o_uint(0), LEDGER_E_INVALID);
    expect_set_refused(S_REPLY, "body.status", o_uint(600), LEDGER_E_INVALID);
    expect_set_refused(S_REPLY, "body.status", o_uint((uint64_t)UINT32_MAX + 200),
                       LEDGER_E_INVALID);
}

static void test_failed_reply_decode_frees_what_it_allocated(void **state)
{
    (void)state;
    /* the last entry is bad: both arrays are allocated by then; ASan reports a leak */
    tree_t t;
    tree_init_sample(&t, S_REPLY);
    tree_set(&t, "body.entries.1.kind", o_str("HOLD"));
    expect_decode(&t, LEDGER_E_INVALID, "bad last entry");
}

static void test_reason_names_the_offending_field(void **state)
{
    (void)state;
    tree_t t;
    tree_init_sample(&t, S_REPLY);
    tree_set(&t, "body.entries.1.ts_ms", o_str("yesterday"));
    char why[WHY_SIZE];
    assert_int_equal(tree_decode(&t, why), LEDGER_E_DECODE);
    assert_non_null(strstr(why, "body.entries[1].ts_ms"));
    tree_init_sample(&t, S_REQUESTED);
    tree_set(&t, "body.amount_minor", o_int(0));
    assert_int_equal(tree_decode(&t, why), LEDGER_E_INVALID);
    assert_non_null(strstr(why, "body.amount_minor"));
}

static void test_reason_is_optional_and_bounded(void **state)
{
    (void)state;
    proto_msg_t out;
    assert_int_equal(proto_decode("\x90", 1, &out, NULL, 0), LEDGER_E_DECODE);
    char tiny[8];
    memset(tiny, 'x', sizeof tiny);
    assert_int_equal(proto_decode("\x90", 1, &out, tiny, sizeof tiny), LEDGER_E_DECODE);
    assert_int_equal(strlen(tiny), sizeof tiny - 1);
    proto_msg_t m = sample(S_REQUESTED);
    m.body.transfer.amount_minor = 0;
    assert_int_equal(proto_validate(&m, NULL, 0), LEDGER_E_INVALID);
}

static void test_error_zeroes_an_output_that_held_a_message(void **state)
{
    (void)state;
    proto_msg_t m = sample(S_REQUESTED);
    proto_msg_t out = m;
    char why[WHY_SIZE];
    assert_int_equal(proto_decode("\x80", 1, &out, why, sizeof why), LEDGER_E_DECODE);
    assert_true(all_zero(&out, sizeof out));
}

/* ---------------------------------------------------------------------------
   Random input.
*/
static void test_random_bytes_never_crash_and_zero_the_output_on_error(void **state)
{
    (void)state;
    uint64_t rng = 20261125;
    unsigned char buf[512];
    for (int i = 0; i < 4000; i++) {
        size_t len = rng_next(&rng) % sizeof buf;
        for (size_t k = 0; k < len; k++)
            buf[k] = (unsigned char)rng_next(&rng);
        /* half of them start like an envelope so that they get further in */
        if (i % 2 && len > 0)
            buf[0] = 0x87;
        decode_anything(buf, len);
    }
}

/* Random sequences of msgpack tokens an envelope is made of: reach deeper than bytes do. */
static void test_random_token_soup_never_crashes(void **state)
{
    (void)state;
    static const char *const tokens[] = {
        "\x87",
        "\x86",
        "\x83",
        "\x81",
        "\x80",
        "\x90",
        "\x91",
        "\x92",
        "\xa1v",
        "\x01",
        "\x02",
        "\xa2id",
        "\xaagateway/42",
        "\xa4type",
        "\xa3"
        "ack",
        "\xaetransfer.declined",
        "\xa4"
        "corr",
        "\xa6t-0001",
        "\xa5"
        "cause",
        "\xa0",
        "\xa2ts",
        "\xcd\x01\x02",
        "\xa4"
        "body",
        "\xa2of",
        "\xa4"
        "code",
        "\xa9not_found",
        "\xa6reason",
        "\xa8transfer",
        "\xa5rules",
        "\xa3GBP",
        "\xa6status",
        "\xcc\xc8",
        "\xa8"
        "accounts",
        "\xa7"
        "entries",
        "\xa4next",
        "\xff",
        "\xc3",
        "\xc0",
        "\xd0\x80",
        "\xa2op",
        "\xa3get",
        "\xa7"
        "account",
        "\xa5limit",
        "\xa6"
        "cursor",
        "\xac"
        "amount_minor",
        "\xa8"
        "currency",
        "\xa2id",
        "\xa7"
        "funding",
        "\xa3seq",
        "\xa4kind",
        "\xa4hold",
        "\xa5ts_ms",
        "\x93",
    };
    const size_t ntokens = sizeof tokens / sizeof tokens[0];
    uint64_t rng = 7;
    char buf[1024];
    for (int i = 0; i < 4000; i++) {
        size_t len = 0;
        size_t count = 1 + rng_next(&rng) % 48;
        for (size_t k = 0; k < count; k++) {
            const char *tok = tokens[rng_next(&rng) % ntokens];
            size_t n = strlen(tok);
            if (len + n > sizeof buf)
                break;
            memcpy(buf + len, tok, n);
            len += n;
        }
        decode_anything(buf, len);
    }
}

static void test_random_mutations_of_valid_frames_never_crash(void **state)
{
    (void)state;
    uint64_t rng = 42;
    for (sample_t s = 0; s < S__COUNT; s++) {
        proto_msg_t m = sample(s);
        void *data;
        size_t size;
        encode_ok(&m, &data, &size);
        for (int i = 0; i < 500; i++) {
            unsigned char buf[2048];
            size_t len = size;
            memcpy(buf, data, size);
            int edits = 1 + (int)(rng_next(&rng) % 4);
            for (int e = 0; e < edits && len > 0; e++) {
                size_t at = rng_next(&rng) % len;
                switch (rng_next(&rng) % 5) {
                case 0: /* flip a bit */
                    buf[at] ^= (unsigned char)(1u << (rng_next(&rng) % 8));
                    break;
                case 1: /* overwrite a byte */
                    buf[at] = (unsigned char)rng_next(&rng);
                    break;
                case 2: /* insert a byte */
                    if (len < sizeof buf) {
                        memmove(buf + at + 1, buf + at, len - at);
                        buf[at] = (unsigned char)rng_next(&rng);
                        len++;
                    }
                    break;
                case 3: /* delete a byte */
                    memmove(buf + at, buf + at + 1, len - at - 1);
                    len--;
                    break;
                default: /* set a byte to an interesting value */
                    buf[at] = (unsigned char)"\x00\x7f\x80\xff\xc1\xdd\xdf\xdb"[rng_next(&rng) % 8];
                    break;
                }
            }
            decode_anything(buf, len);
        }
        free(data);
    }
}

/* ---------------------------------------------------------------------------
   proto_validate and proto_encode refuse what decode refuses.
*/
static void expect_refused_by_validate(const proto_msg_t *m, const char *what)
{
    char why[WHY_SIZE] = "";
    ledger_err_t err = proto_validate(m, why, sizeof why);
    if (err != LEDGER_E_INVALID)
        fail_msg("%s: validate returned %s", what, ledger_err_name(err));
    if (why[0] == '\0')
        fail_msg("%s: no reason", what);
    void *data = (void *)m;
    size_t size = 12345;
    assert_int_equal(proto_encode(m, &data, &size, why, sizeof why), LEDGER_E_INVALID);
    assert_ptr_equal(data, m);
    assert_int_equal(size, 12345);
}

/* The same rule broken twice: in a struct (validate) and on the wire (decode). */
#define BOTH(smp, stmt, path, value)                                                               \
    do {                                                                                           \
        proto_msg_t m = sample(smp);                                                               \
        stmt;                                                                                      \
        expect_refused_by_validate(&m, #stmt);                                                     \
        tree_t t;                                                                                  \
        tree_init_sample(&t, smp);                                                                 \
        tree_set(&t, path, value);                                                                 \
        char why[WHY_SIZE];                                                                        \
        if (tree_decode(&t, why) == LEDGER_OK)                                                     \
            fail_msg("decode accepted %s = ...", path);                                            \
    } while (0)

static void test_validate_rejects_what_decode_rejects(void **state)
{
    (void)state;
    BOTH(S_REQUESTED, m.v = 2, "v", o_uint(2));
    BOTH(S_REQUESTED, m.seq = 0, "id", o_str("gateway/0"));
    BOTH(S_REQUESTED, strcpy(m.origin, "Gateway"), "id", o_str("Gateway/42"));
    BOTH(S_REQUESTED, m.origin[0] = '\0', "id", o_str("/42"));
    BOTH(S_REQUESTED, strcpy(m.cause, "accounts/0"), "cause", o_str("accounts/0"));
    BOTH(S_REQUESTED, m.corr[0] = '\0', "corr", o_str(""));
    BOTH(S_REQUESTED, m.body.transfer.amount_minor = 0, "body.amount_minor", o_int(0));
    BOTH(S_SETTLED, m.body.transfer.amount_minor = -5, "body.amount_minor", o_int(-5));
    BOTH(S_REQUESTED, strcpy(m.body.transfer.currency, "gbp"), "body.currency", o_str("gbp"));
    BOTH(S_REQUESTED, strcpy(m.body.transfer.currency, "GB"), "body.currency", o_str("GB"));
    BOTH(S_REQUESTED, m.body.transfer.from[0] = '\0', "body.from", o_str(""));
    BOTH(S_REQUESTED, strcpy(m.body.transfer.to, "a\x01"), "body.to", o_str("a\x01"));
    BOTH(S_REQUESTED, strcpy(m.body.transfer.reference, "\xff"), "body.reference", o_str("\xff"));
    BOTH(S_REQUESTED, strcpy(m.body.transfer.transfer, "t-9"), "body.transfer", o_str("t-9"));
    BOTH(S_REJECTED, m.body.verdict.rules[1][0] = '\0', "body.rules.1", o_str(""));
    BOTH(S_DECLINED, strcpy(m.body.declined.code, "Bad"), "body.code", o_str("Bad"));
    BOTH(S_ACK, m.body.reply.of[0] = '\0', "body.of", o_str(""));
    BOTH(S_NACK, strcpy(m.body.reply.of, "x/01"), "body.of", o_str("x/01"));
    BOTH(S_QUERY_LIST, m.body.query.limit = 0, "body.limit", o_uint(0));
    BOTH(S_QUERY_LEDGER, m.body.query.limit = PROTO_PAGE_MAX + 1, "body.limit",
         o_uint(PROTO_PAGE_MAX + 1));
    BOTH(S_QUERY_OPEN, m.body.query.amount_minor = -1, "body.amount_minor", o_int(-1));
    BOTH(S_QUERY_OPEN, m.body.query.name[0] = '\0', "body.name", o_str(""));
    BOTH(S_QUERY_GET, m.body.query.op = (proto_query_op_t)9, "body.op", o_str("drop"));
    BOTH(S_REPLY, m.body.account_reply.status = 99, "body.status", o_uint(99));
    BOTH(S_REPLY, strcpy(m.body.account_reply.code, "E1!"), "body.code", o_str("E1!"));
}

static void test_validate_rejects_a_type_or_op_out_of_range(void **state)
{
    (void)state;
    proto_msg_t m = sample(S_ACK);
    m.type = 0;
    expect_refused_by_validate(&m, "type 0");
    m.type = PROTO_TYPE__COUNT;
    expect_refused_by_validate(&m, "type count");
    m = sample(S_QUERY_GET);
    m.body.query.op = 0;
    expect_refused_by_validate(&m, "op 0");
}

static void test_validate_rejects_unterminated_strings(void **state)
{
    (void)state;
    proto_msg_t m = sample(S_REQUESTED);
    memset(m.body.transfer.reference, 'r', sizeof m.body.transfer.reference);
    expect_refused_by_validate(&m, "reference");
    m = sample(S_REQUESTED);
    memset(m.corr, 'c', sizeof m.corr);
    expect_refused_by_validate(&m, "corr");
    m = sample(S_REQUESTED);
    memset(m.origin, 'o', sizeof m.origin);
    expect_refused_by_validate(&m, "origin");
    m = sample(S_REQUESTED);
    memset(m.body.transfer.currency, 'G', sizeof m.body.transfer.currency);
    expect_refused_by_validate(&m, "currency");
}

static void test_validate_rejects_fields_a_message_does_not_carry(void **state)
{
    (void)state;
    proto_msg_t m = sample(S_ACK);
    strcpy(m.body.reply.code, "late");
    expect_refused_by_validate(&m, "ack with a code");
    m = sample(S_QUERY_GET);
    m.body.query.limit = 10;
    expect_refused_by_validate(&m, "get with a limit");
    m = sample(S_QUERY_LIST);
    strcpy(m.body.query.account, "acc-alice");
    expect_refused_by_validate(&m, "list with an account");
    m = sample(S_QUERY_OPEN);
    m.body.query.cursor = 5;
    expect_refused_by_validate(&m, "open with a cursor");
    m = sample(S_QUERY_LEDGER);
    strcpy(m.body.query.after, "acc-bob");
    expect_refused_by_validate(&m, "ledger with an after");
}

static void test_validate_rejects_reply_counts_without_arrays_or_over_a_page(void **state)
{
    (void)state;
    proto_msg_t m = sample(S_REPLY);
    m.body.account_reply.accounts = NULL;
    expect_refused_by_validate(&m, "accounts NULL");
    m = sample(S_REPLY);
    m.body.account_reply.entry_count = PROTO_PAGE_MAX + 1;
    expect_refused_by_validate(&m, "entries over a page");
    m = sample(S_REPLY);
    m.body.account_reply.account_count = PROTO_PAGE_MAX + 1;
    expect_refused_by_validate(&m, "accounts over a page");
    m = sample(S_REJECTED);
    m.body.verdict.rule_count = PROTO_RULES_MAX + 1;
    expect_refused_by_validate(&m, "too many rules");
}

static void test_validate_accepts_every_sample(void **state)
{
    (void)state;
    for (sample_t s = 0; s < S__COUNT; s++) {
        proto_msg_t m = sample(s);
        char why[WHY_SIZE];
        if (proto_validate(&m, why, sizeof why) != LEDGER_OK)
            fail_msg("sample %d: %s", (int)s, why);
        assert_string_equal(why, "");
    }
}

/* ---------------------------------------------------------------------------
   Names, tags, release, equality.
*/
static void test_type_names_map_both_ways(void **state)
{
    (void)state;
    for (int t = PROTO_TRANSFER_REQUESTED; t < PROTO_TYPE__COUNT; t++) {
        const char *name = proto_type_name((proto_type_t)t);
        assert_non_null(name);
        proto_type_t back = 0;
        assert_int_equal(proto_type_from_name(name, strlen(name), &back), LEDGER_OK);
        assert_int_equal(back, t);
    }
    assert_string_equal(proto_type_name(PROTO_TRANSFER_REJECTED_FRAUD), "transfer.rejected_fraud");
    assert_string_equal(proto_type_name(PROTO_ACCOUNT_REPLY), "account.reply");
    assert_null(proto_type_name(0));
    assert_null(proto_type_name(PROTO_TYPE__COUNT));
}

static void test_type_from_name_reads_only_len_bytes_and_rejects_unknown_names(void **state)
{
    (void)state;
    proto_type_t t = PROTO_ACK;
    assert_int_equal(proto_type_from_name("nackXYZ", 4, &t), LEDGER_OK);
    assert_int_equal(t, PROTO_NACK);
    t = PROTO_ACK;
    assert_int_equal(proto_type_from_name("nack", 3, &t), LEDGER_E_UNKNOWN_TYPE);
    assert_int_equal(proto_type_from_name("transfer", 8, &t), LEDGER_E_UNKNOWN_TYPE);
    assert_int_equal(proto_type_from_name(NULL, 0, &t), LEDGER_E_UNKNOWN_TYPE);
    assert_int_equal(t, PROTO_ACK);
}

static void test_tag_packs_big_endian_and_unpacks(void **state)
{
    (void)state;
    uint8_t b[PROTO_TAG_SIZE];
    proto_tag_pack(0x0102030405060708ull, b);
    assert_memory_equal(b, "\x01\x02\x03\x04\x05\x06\x07\x08", PROTO_TAG_SIZE);
    const uint64_t tags[] = {0, 1, 255, 256, 0x0102030405060708ull, UINT64_MAX};
    for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++) {
        uint64_t back = 0;
        proto_tag_pack(tags[i], b);
        assert_int_equal(proto_tag_unpack(b, sizeof b, &back), LEDGER_OK);
        assert_true(back == tags[i]);
    }
}

static void test_tag_of_the_wrong_size_is_rejected(void **state)
{
    (void)state;
    uint8_t b[PROTO_TAG_SIZE + 1] = {0};
    uint64_t tag = 77;
    assert_int_equal(proto_tag_unpack(b, PROTO_TAG_SIZE - 1, &tag), LEDGER_E_DECODE);
    assert_int_equal(proto_tag_unpack(b, PROTO_TAG_SIZE + 1, &tag), LEDGER_E_DECODE);
    assert_int_equal(proto_tag_unpack(b, 0, &tag), LEDGER_E_DECODE);
    assert_int_equal(proto_tag_unpack(NULL, PROTO_TAG_SIZE, &tag), LEDGER_E_DECODE);
    assert_true(tag == 77);
}

static void test_ack_tag_frame_holds_one_to_the_limit_of_tags(void **state)
{
    (void)state;
    static uint8_t frame[(PROTO_ACK_TAGS_MAX + 1) * PROTO_TAG_SIZE];
    for (size_t i = 0; i <= PROTO_ACK_TAGS_MAX; i++)
        proto_tag_pack(1000 + i, frame + i * PROTO_TAG_SIZE);
    static uint64_t tags[PROTO_ACK_TAGS_MAX];
    size_t count = 0;
    assert_int_equal(proto_tags_unpack(frame, PROTO_TAG_SIZE, tags, &count), LEDGER_OK);
    assert_int_equal(count, 1);
    assert_int_equal(tags[0], 1000);
    assert_int_equal(
        proto_tags_unpack(frame, (size_t)PROTO_ACK_TAGS_MAX * PROTO_TAG_SIZE, tags, &count),
        LEDGER_OK);
    assert_int_equal(count, PROTO_ACK_TAGS_MAX);
    assert_int_equal(tags[PROTO_ACK_TAGS_MAX - 1], 1000 + PROTO_ACK_TAGS_MAX - 1);
    count = 77;
    const size_t bad[] = {0,
                          1,
                          PROTO_TAG_SIZE - 1,
                          PROTO_TAG_SIZE + 1,
                          2 * PROTO_TAG_SIZE + 3,
                          (size_t)(PROTO_ACK_TAGS_MAX + 1) * PROTO_TAG_SIZE};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(proto_tags_unpack(frame, bad[i], tags, &count), LEDGER_E_DECODE);
    assert_int_equal(proto_tags_unpack(NULL, PROTO_TAG_SIZE, tags, &count), LEDGER_E_DECODE);
    assert_int_equal(count, 77);
}

static void test_release_is_safe_on_any_message_and_twice(void **state)
{
    (void)state;
    proto_msg_t m;
    memset(&m, 0, sizeof m);
    proto_msg_release(&m);
    proto_msg_release(NULL);
    m = sample(S_REQUESTED);
    proto_msg_release(&m);
    assert_string_equal(m.body.transfer.from, "acc-alice");

    proto_msg_t r = sample(S_REPLY);
    void *data;
    size_t size;
    encode_ok(&r, &data, &size);
    proto_msg_t out;
    char why[WHY_SIZE];
    assert_int_equal(decode(data, size, &out, why), LEDGER_OK);
    assert_non_null(out.body.account_reply.accounts);
    proto_msg_release(&out);
    assert_null(out.body.account_reply.accounts);
    assert_null(out.body.account_reply.entries);
    assert_int_equal(out.body.account_reply.account_count, 0);
    proto_msg_release(&out);
    free(data);
}

static void test_equality_sees_every_carried_field(void **state)
{
    (void)state;
    proto_msg_t a = sample(S_REJECTED);
    proto_msg_t b = a;
    assert_true(proto_msg_equal(&a, &b));
    strcpy(b.body.verdict.rules[1], "blocklist");
    assert_false(proto_msg_equal(&a, &b));
    b = a;
    b.ts_ms++;
    assert_false(proto_msg_equal(&a, &b));
    /* slots past rule_count are not on the wire */
    b = a;
    strcpy(b.body.verdict.rules[5], "junk");
    assert_true(proto_msg_equal(&a, &b));

    proto_msg_t r = sample(S_REPLY);
    proto_msg_t s = r;
    proto_ledger_row_t rows[2] = {sample_rows[0], sample_rows[1]};
    s.body.account_reply.entries = rows;
    assert_true(proto_msg_equal(&r, &s));
    rows[1].held_after_minor = 1;
    assert_false(proto_msg_equal(&r, &s));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transfer_requested_round_trips),
        cmocka_unit_test(test_funds_reserved_round_trips),
        cmocka_unit_test(test_transfer_settled_round_trips),
        cmocka_unit_test(test_fraud_approved_with_no_rules_round_trips),
        cmocka_unit_test(test_fraud_rejected_with_rules_round_trips),
        cmocka_unit_test(test_transfer_rejected_fraud_round_trips),
        cmocka_unit_test(test_transfer_declined_round_trips),
        cmocka_unit_test(test_ack_round_trips),
        cmocka_unit_test(test_nack_of_an_undecodable_message_round_trips_with_empty_of),
        cmocka_unit_test(test_account_query_list_round_trips),
        cmocka_unit_test(test_account_query_get_round_trips),
        cmocka_unit_test(test_account_query_ledger_round_trips),
        cmocka_unit_test(test_account_query_open_round_trips_with_a_zero_deposit),
        cmocka_unit_test(test_account_reply_with_accounts_and_entries_round_trips),
        cmocka_unit_test(test_account_reply_with_empty_pages_round_trips),
        cmocka_unit_test(test_account_reply_with_full_pages_round_trips),
        cmocka_unit_test(test_values_at_their_limits_round_trip),
        cmocka_unit_test(test_ts_beyond_year_9999_is_refused),
        cmocka_unit_test(test_extreme_signed_amounts_round_trip_in_replies),
        cmocka_unit_test(test_decoded_id_is_split_into_origin_and_seq),
        cmocka_unit_test(test_envelope_is_a_map_of_named_keys),
        cmocka_unit_test(test_every_prefix_of_a_valid_frame_is_rejected),
        cmocka_unit_test(test_frame_over_the_size_limit_is_rejected_as_too_large),
        cmocka_unit_test(test_frame_of_exactly_the_size_limit_is_not_refused_for_its_size),
        cmocka_unit_test(test_encode_refuses_a_reply_larger_than_a_frame),
        cmocka_unit_test(test_empty_input_is_rejected),
        cmocka_unit_test(test_top_level_that_is_not_a_map_is_rejected),
        cmocka_unit_test(test_trailing_bytes_are_rejected),
        cmocka_unit_test(test_deeply_nested_input_is_rejected),
        cmocka_unit_test(test_nesting_one_level_too_deep_inside_a_body_is_rejected),
        cmocka_unit_test(test_container_claiming_more_items_than_bytes_is_rejected),
        cmocka_unit_test(test_reserved_byte_0xc1_is_rejected),
        cmocka_unit_test(test_frame_check_accepts_any_single_msgpack_object_within_limits),
        cmocka_unit_test(test_frame_check_rejects_lengths_and_counts_past_the_end),
        cmocka_unit_test(test_missing_envelope_fields_are_rejected),
        cmocka_unit_test(test_missing_body_fields_are_rejected_for_every_type),
        cmocka_unit_test(test_missing_fields_of_reply_items_are_rejected),
        cmocka_unit_test(test_unknown_envelope_key_is_rejected),
        cmocka_unit_test(test_unknown_body_key_is_rejected_for_every_type),
        cmocka_unit_test(test_unknown_key_in_a_reply_item_is_rejected),
        cmocka_unit_test(test_key_belonging_to_another_query_op_is_rejected),
        cmocka_unit_test(test_ack_carrying_nack_fields_is_rejected),
        cmocka_unit_test(test_duplicate_envelope_key_is_rejected),
        cmocka_unit_test(test_duplicate_body_key_is_rejected_for_every_type),
        cmocka_unit_test(test_duplicate_key_in_a_reply_item_is_rejected),
        cmocka_unit_test(test_key_that_is_not_a_string_is_rejected),
        cmocka_unit_test(test_wrong_typed_envelope_fields_are_rejected),
        cmocka_unit_test(test_wrong_typed_body_fields_are_rejected),
        cmocka_unit_test(test_unknown_version_is_rejected),
        cmocka_unit_test(test_unknown_version_is_reported_before_other_problems),
        cmocka_unit_test(test_unknown_type_is_rejected),
        cmocka_unit_test(test_bad_message_ids_are_rejected),
        cmocka_unit_test(test_bad_cause_and_of_ids_are_rejected),
        cmocka_unit_test(test_ack_must_name_the_message_it_answers),
        cmocka_unit_test(test_id_parse_accepts_well_formed_ids),
        cmocka_unit_test(test_id_parse_rejects_malformed_ids_and_leaves_outputs_alone),
        cmocka_unit_test(test_bad_currency_is_rejected),
        cmocka_unit_test(test_zero_or_negative_transfer_amount_is_rejected),
        cmocka_unit_test(test_amount_beyond_int64_is_rejected),
        cmocka_unit_test(test_open_query_accepts_a_zero_deposit_but_not_a_negative_one),
        cmocka_unit_test(test_over_long_strings_are_rejected),
        cmocka_unit_test(test_strings_with_nul_bytes_are_rejected),
        cmocka_unit_test(test_strings_that_are_not_utf8_are_rejected),
        cmocka_unit_test(test_control_characters_in_identifiers_are_rejected),
        cmocka_unit_test(test_codes_must_be_snake_case),
        cmocka_unit_test(test_required_strings_must_not_be_empty),
        cmocka_unit_test(test_saga_message_needs_corr_equal_to_its_transfer),
        cmocka_unit_test(test_query_limit_out_of_range_is_rejected),
        cmocka_unit_test(test_unknown_query_op_is_rejected),
        cmocka_unit_test(test_too_many_rules_are_rejected),
        cmocka_unit_test(test_too_many_accounts_in_a_reply_are_rejected),
        cmocka_unit_test(test_reply_status_out_of_range_is_rejected),
        cmocka_unit_test(test_failed_reply_decode_frees_what_it_allocated),
        cmocka_unit_test(test_reason_names_the_offending_field),
        cmocka_unit_test(test_reason_is_optional_and_bounded),
        cmocka_unit_test(test_error_zeroes_an_output_that_held_a_message),
        cmocka_unit_test(test_random_bytes_never_crash_and_zero_the_output_on_error),
        cmocka_unit_test(test_random_token_soup_never_crashes),
        cmocka_unit_test(test_random_mutations_of_valid_frames_never_crash),
        cmocka_unit_test(test_validate_rejects_what_decode_rejects),
        cmocka_unit_test(test_validate_rejects_a_type_or_op_out_of_range),
        cmocka_unit_test(test_validate_rejects_unterminated_strings),
        cmocka_unit_test(test_validate_rejects_fields_a_message_does_not_carry),
        cmocka_unit_test(test_validate_rejects_reply_counts_without_arrays_or_over_a_page),
        cmocka_unit_test(test_validate_accepts_every_sample),
        cmocka_unit_test(test_type_names_map_both_ways),
        cmocka_unit_test(test_type_from_name_reads_only_len_bytes_and_rejects_unknown_names),
        cmocka_unit_test(test_tag_packs_big_endian_and_unpacks),
        cmocka_unit_test(test_tag_of_the_wrong_size_is_rejected),
        cmocka_unit_test(test_ack_tag_frame_holds_one_to_the_limit_of_tags),
        cmocka_unit_test(test_release_is_safe_on_any_message_and_twice),
        cmocka_unit_test(test_equality_sees_every_carried_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

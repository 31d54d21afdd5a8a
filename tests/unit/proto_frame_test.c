/*  proto_frame_test.c: the structural check before msgpack-c (proto_frame_check): truncated,
    oversized, over-nested, trailing and reserved bytes; and proto_frame_id, an envelope's id
    read without decoding it.

    Shared samples and tree editing: test_proto.h.
*/
#include "test_proto.h"
#include "test_main.h"

/* ---------------------------------------------------------------------------
   Framing and structure.
*/
static void every_prefix_is_rejected(sample_t s, const uint8_t *frame, size_t size, void *arg)
{
    (void)arg;
    for (size_t len = 0; len < size; len++) {
        /* a fresh copy of exactly `len` bytes so ASan sees any over-read */
        void *prefix = malloc(len ? len : 1);
        memcpy(prefix, frame, len);
        proto_msg_t out;
        char why[WHY_SIZE];
        ledger_err_t err = decode(prefix, len, &out, why);
        if (err != LEDGER_E_DECODE)
            fail_msg("sample %d prefix %zu/%zu: got %s", (int)s, len, size, ledger_err_name(err));
        free(prefix);
    }
}

static void test_every_prefix_of_a_valid_frame_is_rejected(void **state)
{
    (void)state;
    for_each_sample_frame(every_prefix_is_rejected, NULL);
}

/* `size` bytes (malloc'd): a valid transfer.requested frame, then zero padding. */
static unsigned char *padded_frame(size_t size)
{
    unsigned char *big = calloc(1, size);
    assert_non_null(big);
    void *data;
    size_t len;
    encode_sample(S_REQUESTED, &data, &len);
    memcpy(big, data, len);
    free(data);
    return big;
}

static void test_frame_over_the_size_limit_is_rejected_as_too_large(void **state)
{
    (void)state;
    size_t size = PROTO_FRAME_MAX + 1;
    unsigned char *big = padded_frame(size); /* a valid message, then padding: size alone decides */
    proto_msg_t out;
    char why[WHY_SIZE];
    assert_int_equal(decode(big, size, &out, why), LEDGER_E_TOO_LARGE);
    assert_int_equal(decode(big, SIZE_MAX, &out, why), LEDGER_E_TOO_LARGE);
    free(big);
}

static void test_frame_of_exactly_the_size_limit_is_not_refused_for_its_size(void **state)
{
    (void)state;
    unsigned char *big = padded_frame(PROTO_FRAME_MAX);
    proto_msg_t out;
    char why[WHY_SIZE];
    assert_int_equal(decode(big, PROTO_FRAME_MAX, &out, why), LEDGER_E_DECODE);
    assert_non_null(strstr(why, "trailing"));
    free(big);
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

static void trailing_bytes_are_rejected(sample_t s, const uint8_t *frame, size_t size, void *arg)
{
    (void)s;
    (void)arg;
    unsigned char *longer = malloc(size + 2);
    memcpy(longer, frame, size);
    longer[size] = 0xc0;
    longer[size + 1] = 0x01;
    proto_msg_t out;
    char why[WHY_SIZE];
    assert_int_equal(decode(longer, size + 1, &out, why), LEDGER_E_DECODE);
    assert_int_equal(decode(longer, size + 2, &out, why), LEDGER_E_DECODE);
    /* a second whole envelope is trailing bytes too */
    unsigned char *twice = malloc(2 * size);
    memcpy(twice, frame, size);
    memcpy(twice + size, frame, size);
    assert_int_equal(decode(twice, 2 * size, &out, why), LEDGER_E_DECODE);
    free(twice);
    free(longer);
}

static void test_trailing_bytes_are_rejected(void **state)
{
    (void)state;
    for_each_sample_frame(trailing_bytes_are_rejected, NULL);
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
   proto_frame_id: the id of an envelope, without decoding it.
*/
static void id_matches_decode(sample_t s, const uint8_t *frame, size_t size, void *arg)
{
    (void)arg;
    proto_msg_t m;
    char why[WHY_SIZE];
    assert_int_equal(decode(frame, size, &m, why), LEDGER_OK);
    char origin[PROTO_NODE_MAX + 1] = "";
    uint64_t seq = 0;
    if (proto_frame_id(frame, size, origin, &seq) != LEDGER_OK)
        fail_msg("sample %d: no id", (int)s);
    assert_string_equal(origin, m.origin);
    assert_int_equal(seq, m.seq);
    /* Cut short anywhere before the id's last byte: never an id, never a read past the end. */
    for (size_t len = 0; len < size; len++) {
        void *prefix = malloc(len ? len : 1);
        memcpy(prefix, frame, len);
        if (proto_frame_id(prefix, len, origin, &seq) == LEDGER_OK)
            assert_int_equal(seq, m.seq); /* only once the whole id is in */
        free(prefix);
    }
    proto_msg_release(&m);
}

static void test_frame_id_reads_the_id_of_every_sample(void **state)
{
    (void)state;
    for_each_sample_frame(id_matches_decode, NULL);
}

static void test_frame_id_finds_the_id_after_other_keys_of_any_shape(void **state)
{
    (void)state;
    tree_t t;
    tree_init_sample(&t, S_APPROVED);
    /* The id moved to the end of the map, after values of every kind. */
    tree_remove(&t, "id");
    tree_add(&t, "", "zz", o_arr1(&t, o_map0()));
    tree_add(&t, "", "yy", o_bin("ab"));
    tree_add(&t, "", "id", o_str("fraud/18446744073709551615"));
    msgpack_sbuffer sb;
    pack_tree(&t, &sb);
    char origin[PROTO_NODE_MAX + 1];
    uint64_t seq = 0;
    assert_int_equal(proto_frame_id(sb.data, sb.size, origin, &seq), LEDGER_OK);
    assert_string_equal(origin, "fraud");
    assert_int_equal(seq, UINT64_MAX);
    msgpack_sbuffer_destroy(&sb);
    tree_fini(&t);
}

static void test_frame_id_refuses_what_has_no_valid_id(void **state)
{
    (void)state;
    const struct {
        const char *bytes;
        size_t size;
    } bad[] = {
        {"\x91\xa2id", 4},     /* an array, not a map */
        {"\x81\xa1v\x01", 4},  /* no id key */
        {"\x81\xa2id\x05", 4}, /* id not a str */
        {"\x81\xa2id\xc4\x03"
         "a/1",
         7}, /* id a bin */
        {"\x81\xa2id\xa3"
         "a/0",
         7},                     /* seq 0 */
        {"\x81\xa2id\xa2/1", 6}, /* no origin */
        {"\x81\xa2id\xa3"
         "A/1",
         7}, /* origin out of the alphabet */
        {"\x81\x01\xa3"
         "a/1",
         6},                                  /* a key that is not a str */
        {"\x82\xa1v\xdd\x00\x00\x00\x09", 8}, /* a value cut short before the id */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char origin[PROTO_NODE_MAX + 1];
        uint64_t seq = 0;
        if (proto_frame_id(bad[i].bytes, bad[i].size, origin, &seq) != LEDGER_E_DECODE)
            fail_msg("case %zu: an id was read", i);
    }
    char origin[PROTO_NODE_MAX + 1];
    uint64_t seq = 0;
    assert_int_equal(proto_frame_id(NULL, 0, origin, &seq), LEDGER_E_DECODE);
}

TEST_MAIN(cmocka_unit_test(test_every_prefix_of_a_valid_frame_is_rejected),
          cmocka_unit_test(test_frame_over_the_size_limit_is_rejected_as_too_large),
          cmocka_unit_test(test_frame_of_exactly_the_size_limit_is_not_refused_for_its_size),
          cmocka_unit_test(test_empty_input_is_rejected),
          cmocka_unit_test(test_top_level_that_is_not_a_map_is_rejected),
          cmocka_unit_test(test_trailing_bytes_are_rejected),
          cmocka_unit_test(test_deeply_nested_input_is_rejected),
          cmocka_unit_test(test_nesting_one_level_too_deep_inside_a_body_is_rejected),
          cmocka_unit_test(test_container_claiming_more_items_than_bytes_is_rejected),
          cmocka_unit_test(test_reserved_byte_0xc1_is_rejected),
          cmocka_unit_test(test_frame_check_accepts_any_single_msgpack_object_within_limits),
          cmocka_unit_test(test_frame_check_rejects_lengths_and_counts_past_the_end),
          cmocka_unit_test(test_frame_id_reads_the_id_of_every_sample),
          cmocka_unit_test(test_frame_id_finds_the_id_after_other_keys_of_any_shape),
          cmocka_unit_test(test_frame_id_refuses_what_has_no_valid_id))

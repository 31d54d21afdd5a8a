/*  proto_test.c: names, message ids, delivery tags, release and equality.

    Shared samples and tree editing: test_proto.h.
*/
#include "test_proto.h"
#include "test_main.h"

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

    proto_msg_t r = sample(S_REPLY), out;
    encode_decode_ok(&r, &out);
    assert_non_null(out.body.account_reply.accounts);
    proto_msg_release(&out);
    assert_null(out.body.account_reply.accounts);
    assert_null(out.body.account_reply.entries);
    assert_int_equal(out.body.account_reply.account_count, 0);
    proto_msg_release(&out);
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

TEST_MAIN(cmocka_unit_test(test_id_parse_accepts_well_formed_ids),
          cmocka_unit_test(test_id_parse_rejects_malformed_ids_and_leaves_outputs_alone),
          cmocka_unit_test(test_type_names_map_both_ways),
          cmocka_unit_test(test_type_from_name_reads_only_len_bytes_and_rejects_unknown_names),
          cmocka_unit_test(test_tag_packs_big_endian_and_unpacks),
          cmocka_unit_test(test_tag_of_the_wrong_size_is_rejected),
          cmocka_unit_test(test_ack_tag_frame_holds_one_to_the_limit_of_tags),
          cmocka_unit_test(test_release_is_safe_on_any_message_and_twice),
          cmocka_unit_test(test_equality_sees_every_carried_field))

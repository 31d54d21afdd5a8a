/*  proto_fields_test.c: the keys that came with ownership (issue 18): a transfer body's optional
    principal and kind, account.query open's owner, and an account's owner and settlement flag.
    Optional keys: always written, and a body without them (from before they existed) decodes as
    principal "" and kind transfer.

    Shared samples and tree editing: test_proto.h.
*/
#include "test_proto.h"
#include "test_main.h"

static void test_new_keys_round_trip_for_every_kind(void **state)
{
    (void)state;
    const sample_t samples[] = {S_REQUESTED, S_RESERVED, S_SETTLED};
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        for (int k = 0; k < PROTO_TRANSFER_KIND__COUNT; k++) {
            proto_msg_t m = sample(samples[i]);
            m.body.transfer.kind = (proto_transfer_kind_t)k;
            if (k == PROTO_TRANSFER_KIND_REFUND) /* a refund names what it refunds */
                strcpy(m.body.transfer.refund_of, "t-0000");
            strcpy(m.body.transfer.principal, "ops-team_7");
            proto_msg_t out;
            encode_decode_ok(&m, &out);
            assert_string_equal(out.body.transfer.principal, "ops-team_7");
            assert_int_equal(out.body.transfer.kind, k);
            assert_round_trips(&m);
        }
    }
    proto_msg_t open = sample(S_QUERY_OPEN);
    proto_msg_t out;
    encode_decode_ok(&open, &out);
    assert_string_equal(out.body.query.owner, "carol");
    proto_msg_t reply = sample(S_REPLY);
    encode_decode_ok(&reply, &out);
    assert_string_equal(out.body.account_reply.accounts[0].owner, "alice");
    assert_false(out.body.account_reply.accounts[0].settlement);
    assert_string_equal(out.body.account_reply.accounts[1].owner, "");
    assert_true(out.body.account_reply.accounts[1].settlement);
    proto_msg_release(&out);
}

/* An optional key at its zero value is left out, and read back as that zero; otherwise it is
   written. */
static void test_the_encoder_writes_principal_and_kind_unless_zero(void **state)
{
    (void)state;
    proto_msg_t m = sample(S_REQUESTED);
    m.body.transfer.principal[0] = '\0';
    m.body.transfer.kind = PROTO_TRANSFER_KIND_TRANSFER;
    tree_t t;
    tree_init(&t, &m);
    assert_false(tree_has(&t, "body.principal"));
    assert_false(tree_has(&t, "body.kind"));
    tree_fini(&t);
    assert_round_trips(&m);

    m = sample(S_REFUND_REQUESTED);
    tree_init(&t, &m);
    msgpack_object *principal = tree_find(&t, "body.principal", NULL);
    msgpack_object *kind = tree_find(&t, "body.kind", NULL);
    assert_int_equal(principal->via.str.size, strlen(m.body.transfer.principal));
    assert_true(principal->via.str.size > 0);
    assert_int_equal(kind->via.str.size, strlen("refund"));
    assert_memory_equal(kind->via.str.ptr, "refund", strlen("refund"));
    tree_fini(&t);
}

static void test_a_body_from_before_ownership_decodes_as_a_plain_transfer(void **state)
{
    (void)state;
    const sample_t samples[] = {S_REQUESTED, S_RESERVED, S_SETTLED};
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        tree_t t;
        tree_init_sample(&t, samples[i]);
        tree_remove(&t, "body.principal");
        tree_remove(&t, "body.kind");
        msgpack_sbuffer sb;
        pack_tree(&t, &sb);
        proto_msg_t out;
        char why[WHY_SIZE];
        ledger_err_t err = decode(sb.data, sb.size, &out, why);
        if (err != LEDGER_OK)
            fail_msg("an old body was refused: %s", why);
        assert_string_equal(out.body.transfer.principal, "");
        assert_int_equal(out.body.transfer.kind, PROTO_TRANSFER_KIND_TRANSFER);
        assert_string_equal(out.body.transfer.from, "acc-alice");
        assert_int_equal(out.body.transfer.amount_minor, 2500);
        msgpack_sbuffer_destroy(&sb);
        tree_fini(&t);
    }
}

static void test_either_optional_key_may_be_missing_alone(void **state)
{
    (void)state;
    tree_t t;
    tree_init_sample(&t, S_REQUESTED);
    tree_remove(&t, "body.kind");
    expect_decode(&t, LEDGER_OK, "body without kind");
    tree_init_sample(&t, S_REQUESTED);
    tree_remove(&t, "body.principal");
    expect_decode(&t, LEDGER_OK, "body without principal");
}

static void test_an_unknown_kind_is_a_decode_error(void **state)
{
    (void)state;
    const char *const kinds[] = {"refunds", "", "Transfer", "deposit ", "withdraw"};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        expect_set_refused(S_REQUESTED, "body.kind", o_str(kinds[i]), LEDGER_E_INVALID);
    expect_set_refused(S_REQUESTED, "body.kind", o_uint(1), LEDGER_E_DECODE);
    expect_set_refused(S_SETTLED, "body.kind", o_nil(), LEDGER_E_DECODE);
}

static void test_a_bad_principal_is_refused(void **state)
{
    (void)state;
    tree_t t;
    tree_init_sample(&t, S_REQUESTED);
    tree_set(&t, "body.principal", o_repeat(&t, 'a', PROTO_ACCOUNT_ID_MAX + 1));
    expect_decode(&t, LEDGER_E_DECODE, "principal of 65 bytes");
    tree_init_sample(&t, S_REQUESTED);
    tree_set(&t, "body.principal", o_repeat(&t, 'a', PROTO_ACCOUNT_ID_MAX));
    expect_decode(&t, LEDGER_OK, "principal of 64 bytes");
    const char *const bad[] = {"Alice", "al ice", "alice/1", "al\x01ice", "äli"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_set_refused(S_REQUESTED, "body.principal", o_str(bad[i]), LEDGER_E_INVALID);
    expect_set_refused(S_REQUESTED, "body.principal", o_uint(7), LEDGER_E_DECODE);
}

static void expect_invalid(const proto_msg_t *m, const char *what)
{
    char why[WHY_SIZE] = "";
    if (proto_validate(m, why, sizeof why) != LEDGER_E_INVALID)
        fail_msg("%s: validate accepted it", what);
    assert_true(why[0] != '\0');
}

static void test_validate_refuses_what_the_decoder_refuses(void **state)
{
    (void)state;
    proto_msg_t m = sample(S_REQUESTED);
    strcpy(m.body.transfer.principal, "Alice");
    expect_invalid(&m, "upper-case principal");
    m = sample(S_REQUESTED);
    memset(m.body.transfer.principal, 'a', sizeof m.body.transfer.principal);
    expect_invalid(&m, "unterminated principal");
    m = sample(S_REQUESTED);
    m.body.transfer.kind = PROTO_TRANSFER_KIND__COUNT;
    expect_invalid(&m, "kind out of range");
    m = sample(S_QUERY_OPEN);
    m.body.query.owner[0] = '\0';
    expect_invalid(&m, "open without an owner");
    m = sample(S_QUERY_OPEN);
    strcpy(m.body.query.owner, "bad owner");
    expect_invalid(&m, "open with a bad owner");
    m = sample(S_QUERY_GET);
    strcpy(m.body.query.owner, "alice");
    expect_invalid(&m, "owner on a get");
    m = sample(S_REPLY);
    strcpy(m.body.account_reply.accounts[0].owner, "x y");
    expect_invalid(&m, "account with a bad owner");
    strcpy(m.body.account_reply.accounts[0].owner, "alice");
}

static void test_open_needs_an_owner_on_the_wire(void **state)
{
    (void)state;
    tree_t t;
    tree_init_sample(&t, S_QUERY_OPEN);
    tree_remove(&t, "body.owner");
    expect_decode(&t, LEDGER_E_DECODE, "open without owner");
    expect_set_refused(S_QUERY_OPEN, "body.owner", o_str(""), LEDGER_E_INVALID);
    expect_set_refused(S_QUERY_OPEN, "body.owner", o_str("Carol"), LEDGER_E_INVALID);
    tree_init_sample(&t, S_QUERY_GET);
    tree_add(&t, "body", "owner", o_str("carol"));
    expect_decode(&t, LEDGER_E_DECODE, "owner on a get");
}

static void test_kind_names_map_both_ways(void **state)
{
    (void)state;
    for (int k = 0; k < PROTO_TRANSFER_KIND__COUNT; k++) {
        const char *name = proto_transfer_kind_name((proto_transfer_kind_t)k);
        assert_non_null(name);
        proto_transfer_kind_t back = PROTO_TRANSFER_KIND__COUNT;
        assert_int_equal(proto_transfer_kind_from_name(name, strlen(name), &back), LEDGER_OK);
        assert_int_equal(back, k);
    }
    assert_string_equal(proto_transfer_kind_name(PROTO_TRANSFER_KIND_DEPOSIT), "deposit");
    assert_null(proto_transfer_kind_name(PROTO_TRANSFER_KIND__COUNT));
    proto_transfer_kind_t kind = PROTO_TRANSFER_KIND_DEPOSIT;
    assert_int_equal(proto_transfer_kind_from_name("depositx", 7, &kind), LEDGER_OK);
    assert_int_equal(proto_transfer_kind_from_name("rebate", 6, &kind), LEDGER_E_INVALID);
    assert_int_equal(kind, PROTO_TRANSFER_KIND_DEPOSIT);
}

TEST_MAIN(cmocka_unit_test(test_new_keys_round_trip_for_every_kind),
          cmocka_unit_test(test_the_encoder_writes_principal_and_kind_unless_zero),
          cmocka_unit_test(test_a_body_from_before_ownership_decodes_as_a_plain_transfer),
          cmocka_unit_test(test_either_optional_key_may_be_missing_alone),
          cmocka_unit_test(test_an_unknown_kind_is_a_decode_error),
          cmocka_unit_test(test_a_bad_principal_is_refused),
          cmocka_unit_test(test_validate_refuses_what_the_decoder_refuses),
          cmocka_unit_test(test_open_needs_an_owner_on_the_wire),
          cmocka_unit_test(test_kind_names_map_both_ways))

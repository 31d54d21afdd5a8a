/*  proto_decode_test.c: strict decoding: missing, unknown, duplicate and wrong-typed keys, the
    value rules on the wire, and random input that must never crash.

    Shared samples and tree editing: test_proto.h.
*/
#include "test_proto.h"
#include "test_main.h"

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
    [S_QUERY_OPEN] = {"op", "account", "name", "currency", "owner", "amount_minor"},
    [S_REPLY] = {"status", "code", "reason", "accounts", "entries", "next"},
    [S_AUTHORIZED] = {"transfer", "from", "to", "amount_minor", "currency", "reference"},
    [S_CAPTURE] = {"transfer", "amount_minor", "principal", "operator"},
    [S_VOID] = {"transfer", "principal", "operator"},
    [S_VOIDED] = {"transfer", "code", "reason"},
    [S_EXPIRED] = {"transfer", "code", "reason"},
    [S_QUERY_UPDATE] = {"op", "account", "principal", "status", "overdraft_limit_minor"},
    [S_QUERY_BALANCE_AT] = {"op", "account", "at_ms"},
    [S_QUERY_STATEMENT] = {"op", "account", "cursor", "limit", "from_ms", "to_ms"},
    [S_QUERY_HOLDS] = {"op", "account", "cursor", "limit"},
    [S_REFUND_REQUESTED] = {"transfer", "from", "to", "amount_minor", "currency", "reference"},
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
                                        "body.accounts.0.settlement",
                                        "body.accounts.0.owner",
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
    tree_add(&t, "body.entries.0", "note", o_str("x"));
    expect_decode(&t, LEDGER_E_DECODE, "entries[0].note");
    tree_init_sample(&t, S_REPLY);
    tree_add(&t, "body.holds.1", "reason", o_str("x"));
    expect_decode(&t, LEDGER_E_DECODE, "holds[1].reason");
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
        {S_REPLY, "body.accounts.0.settlement", o_uint(1)},
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
        "\xaa"
        "settlement",
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
        void *data;
        size_t size;
        encode_sample(s, &data, &size);
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

TEST_MAIN(cmocka_unit_test(test_missing_envelope_fields_are_rejected),
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
          cmocka_unit_test(test_random_mutations_of_valid_frames_never_crash))

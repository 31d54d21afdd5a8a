/*  proto_check_test.c: proto_validate (and proto_encode) refuse what proto_decode refuses.

    Shared samples and tree editing: test_proto.h.
*/
#include "test_proto.h"
#include "test_main.h"

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

TEST_MAIN(cmocka_unit_test(test_validate_rejects_what_decode_rejects),
          cmocka_unit_test(test_validate_rejects_a_type_or_op_out_of_range),
          cmocka_unit_test(test_validate_rejects_unterminated_strings),
          cmocka_unit_test(test_validate_rejects_fields_a_message_does_not_carry),
          cmocka_unit_test(test_validate_rejects_reply_counts_without_arrays_or_over_a_page),
          cmocka_unit_test(test_validate_accepts_every_sample))

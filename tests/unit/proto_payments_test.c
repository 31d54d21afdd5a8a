/*  proto_payments_test.c: the wire of issue 21. The five new types (transfer.authorized,
    .capture, .void, .voided, .expired) round trip and are refused when they break a rule;
    a transfer body's new optional keys (capture, expires_at_ms, captured_minor, refund_of,
    operator) are always written and read as zero when absent; the query ops update,
    balance_at, statement and holds carry exactly their keys; an account's status and
    overdraft limit, a ledger row's memo and a reply's holds.

    Shared samples and tree editing: test_proto.h.
*/
#include "test_proto.h"
#include "test_main.h"

static void expect_invalid(const proto_msg_t *m, const char *what, const char *field)
{
    char why[WHY_SIZE] = "";
    if (proto_validate(m, why, sizeof why) != LEDGER_E_INVALID)
        fail_msg("%s: validate accepted it", what);
    if (field && !strstr(why, field))
        fail_msg("%s: the reason \"%s\" does not name %s", what, why, field);
    void *data = NULL;
    size_t size = 0;
    assert_int_equal(proto_encode(m, &data, &size, why, sizeof why), LEDGER_E_INVALID);
    assert_null(data);
}

static void expect_valid(const proto_msg_t *m, const char *what)
{
    char why[WHY_SIZE] = "";
    if (proto_validate(m, why, sizeof why) != LEDGER_OK)
        fail_msg("%s: refused: %s", what, why);
    assert_round_trips(m);
}

/* ---------------------------------------------------------------------------
   Names.
*/
static void test_new_type_op_kind_and_capture_names_map_both_ways(void **state)
{
    (void)state;
    const char *const types[] = {"transfer.authorized", "transfer.capture", "transfer.void",
                                 "transfer.voided", "transfer.expired"};
    const proto_type_t values[] = {PROTO_TRANSFER_AUTHORIZED, PROTO_TRANSFER_CAPTURE,
                                   PROTO_TRANSFER_VOID, PROTO_TRANSFER_VOIDED,
                                   PROTO_TRANSFER_EXPIRED};
    for (size_t i = 0; i < 5; i++) {
        proto_type_t t = 0;
        assert_int_equal(proto_type_from_name(types[i], strlen(types[i]), &t), LEDGER_OK);
        assert_int_equal(t, values[i]);
        assert_string_equal(proto_type_name(values[i]), types[i]);
    }
    assert_int_equal(PROTO_TRANSFER_EXPIRED + 1, PROTO_TYPE__COUNT);
    assert_string_equal(proto_transfer_kind_name(PROTO_TRANSFER_KIND_REFUND), "refund");
    proto_transfer_kind_t kind = PROTO_TRANSFER_KIND_TRANSFER;
    assert_int_equal(proto_transfer_kind_from_name("refund", 6, &kind), LEDGER_OK);
    assert_int_equal(kind, PROTO_TRANSFER_KIND_REFUND);
    assert_string_equal(proto_capture_name(PROTO_CAPTURE_AUTO), "auto");
    assert_string_equal(proto_capture_name(PROTO_CAPTURE_MANUAL), "manual");
    assert_null(proto_capture_name(PROTO_CAPTURE__COUNT));
    proto_capture_t capture = PROTO_CAPTURE_AUTO;
    assert_int_equal(proto_capture_from_name("manual", 6, &capture), LEDGER_OK);
    assert_int_equal(capture, PROTO_CAPTURE_MANUAL);
    assert_int_equal(proto_capture_from_name("Manual", 6, &capture), LEDGER_E_INVALID);
    assert_int_equal(proto_capture_from_name("manua", 5, &capture), LEDGER_E_INVALID);
    assert_int_equal(proto_capture_from_name(NULL, 0, &capture), LEDGER_E_INVALID);
    assert_int_equal(capture, PROTO_CAPTURE_MANUAL);
    assert_true(proto_account_status_valid("active"));
    assert_true(proto_account_status_valid("frozen"));
    assert_true(proto_account_status_valid("closed"));
    assert_false(proto_account_status_valid(""));
    assert_false(proto_account_status_valid("Active"));
    assert_false(proto_account_status_valid(NULL));
}

/* ---------------------------------------------------------------------------
   The transfer body's new keys.
*/
/* A plain transfer carries none of them (each is at its zero: left out); an authorisation, a
   capture's settlement and an operator's refund carry theirs. */
static void test_the_encoder_writes_the_payment_keys_unless_zero(void **state)
{
    (void)state;
    const char *const keys[] = {"body.capture", "body.expires_at_ms", "body.captured_minor",
                                "body.refund_of", "body.operator"};
    tree_t t;
    tree_init_sample(&t, S_REQUESTED);
    for (size_t i = 0; i < 5; i++)
        if (tree_has(&t, keys[i]))
            fail_msg("%s written at its zero", keys[i]);
    tree_fini(&t);

    tree_init_sample(&t, S_AUTHORIZED);
    msgpack_object *capture = tree_find(&t, "body.capture", NULL);
    assert_int_equal(capture->via.str.size, 6);
    assert_memory_equal(capture->via.str.ptr, "manual", 6);
    assert_true(tree_find(&t, "body.expires_at_ms", NULL)->via.u64 > 0);
    tree_fini(&t);

    tree_init_sample(&t, S_SETTLED);
    assert_true(tree_has(&t, "body.captured_minor"));
    tree_fini(&t);

    tree_init_sample(&t, S_REFUND_REQUESTED);
    assert_true(tree_has(&t, "body.refund_of"));
    msgpack_object *op = tree_find(&t, "body.operator", NULL);
    assert_int_equal(op->type, MSGPACK_OBJECT_BOOLEAN);
    assert_true(op->via.boolean);
    tree_fini(&t);
}

static void test_a_body_from_before_payments_reads_as_zero(void **state)
{
    (void)state;
    const sample_t samples[] = {S_REQUESTED, S_RESERVED, S_SETTLED};
    const char *const keys[] = {"body.capture", "body.expires_at_ms", "body.captured_minor",
                                "body.refund_of", "body.operator"};
    for (size_t i = 0; i < 3; i++) {
        tree_t t;
        tree_init_sample(&t, samples[i]);
        for (size_t k = 0; k < 5; k++)
            tree_remove(&t, keys[k]);
        msgpack_sbuffer sb;
        pack_tree(&t, &sb);
        proto_msg_t out;
        char why[WHY_SIZE];
        if (decode(sb.data, sb.size, &out, why) != LEDGER_OK)
            fail_msg("an old body was refused: %s", why);
        assert_int_equal(out.body.transfer.capture, PROTO_CAPTURE_AUTO);
        assert_int_equal(out.body.transfer.expires_at_ms, 0);
        assert_int_equal(out.body.transfer.captured_minor, 0);
        assert_string_equal(out.body.transfer.refund_of, "");
        assert_false(out.body.transfer.operator_scope);
        /* a settled body without captured_minor captured all of it */
        assert_int_equal(proto_transfer_captured_minor(&out.body.transfer), 2500);
        msgpack_sbuffer_destroy(&sb);
        tree_fini(&t);
    }
    /* each may be missing alone */
    for (size_t k = 0; k < 5; k++) {
        tree_t t;
        tree_init_sample(&t, S_REFUND_REQUESTED);
        if (k == 3) { /* a refund needs refund_of: take a plain transfer */
            tree_fini(&t);
            tree_init_sample(&t, S_REQUESTED);
        }
        tree_remove(&t, keys[k]);
        expect_decode(&t, LEDGER_OK, keys[k]);
    }
}

static void test_the_payment_keys_round_trip(void **state)
{
    (void)state;
    proto_msg_t m = sample(S_AUTHORIZED);
    proto_msg_t out;
    encode_decode_ok(&m, &out);
    assert_int_equal(out.body.transfer.capture, PROTO_CAPTURE_MANUAL);
    assert_int_equal(out.body.transfer.expires_at_ms, 1764633600123ull);
    m = sample(S_REFUND_REQUESTED);
    encode_decode_ok(&m, &out);
    assert_int_equal(out.body.transfer.kind, PROTO_TRANSFER_KIND_REFUND);
    assert_string_equal(out.body.transfer.refund_of, "t-0000");
    assert_true(out.body.transfer.operator_scope);
    m = sample(S_SETTLED);
    m.body.transfer.captured_minor = 1;
    encode_decode_ok(&m, &out);
    assert_int_equal(out.body.transfer.captured_minor, 1);
    assert_int_equal(proto_transfer_captured_minor(&out.body.transfer), 1);
    /* a manual transfer.requested and funds.reserved carry the expiry too */
    m = sample(S_AUTHORIZED);
    m.type = PROTO_TRANSFER_REQUESTED;
    expect_valid(&m, "manual requested");
    m.type = PROTO_FUNDS_RESERVED;
    expect_valid(&m, "manual reserved");
    m.body.transfer.expires_at_ms = PROTO_TS_MAX_MS;
    expect_valid(&m, "expiry at the last ms");
}

static void test_payment_rules_are_enforced_before_encoding(void **state)
{
    (void)state;
    proto_msg_t m = sample(S_AUTHORIZED);
    m.body.transfer.expires_at_ms = 0;
    expect_invalid(&m, "manual without expiry", "expires_at_ms");
    m = sample(S_REQUESTED);
    m.body.transfer.expires_at_ms = 1764633600123ull;
    expect_invalid(&m, "auto with an expiry", "expires_at_ms");
    m = sample(S_AUTHORIZED);
    m.body.transfer.expires_at_ms = PROTO_TS_MAX_MS + 1;
    expect_invalid(&m, "expiry after year 9999", "expires_at_ms");
    m = sample(S_AUTHORIZED);
    m.body.transfer.capture = PROTO_CAPTURE_AUTO;
    m.body.transfer.expires_at_ms = 0;
    expect_invalid(&m, "an automatic transfer.authorized", "capture");
    m = sample(S_REQUESTED);
    m.body.transfer.capture = PROTO_CAPTURE__COUNT;
    expect_invalid(&m, "capture out of range", "capture");
    m = sample(S_SETTLED);
    m.body.transfer.captured_minor = 2501;
    expect_invalid(&m, "captured over the amount", "captured_minor");
    m.body.transfer.captured_minor = -1;
    expect_invalid(&m, "captured below 0", "captured_minor");
    m = sample(S_REFUND_REQUESTED);
    m.body.transfer.refund_of[0] = '\0';
    expect_invalid(&m, "a refund without refund_of", "refund_of");
    m = sample(S_REQUESTED);
    strcpy(m.body.transfer.refund_of, "t-0000");
    expect_invalid(&m, "refund_of on a deposit", "refund_of");
    m = sample(S_REFUND_REQUESTED);
    strcpy(m.body.transfer.refund_of, "t\x01");
    expect_invalid(&m, "refund_of with a control character", "refund_of");
    m = sample(S_REFUND_REQUESTED);
    m.body.transfer.capture = PROTO_CAPTURE_MANUAL;
    m.body.transfer.expires_at_ms = 1764633600123ull;
    expect_invalid(&m, "a refund to authorise", "capture");
    m = sample(S_REFUND_REQUESTED);
    memset(m.body.transfer.refund_of, 'r', sizeof m.body.transfer.refund_of);
    char why[WHY_SIZE];
    assert_int_equal(proto_validate(&m, why, sizeof why), LEDGER_E_INVALID);
}

static void test_payment_rules_are_enforced_on_the_wire(void **state)
{
    (void)state;
    expect_set_refused(S_AUTHORIZED, "body.capture", o_str("later"), LEDGER_E_INVALID);
    expect_set_refused(S_AUTHORIZED, "body.capture", o_str(""), LEDGER_E_INVALID);
    expect_set_refused(S_AUTHORIZED, "body.capture", o_uint(1), LEDGER_E_DECODE);
    expect_set_refused(S_AUTHORIZED, "body.expires_at_ms", o_uint(0), LEDGER_E_INVALID);
    expect_set_refused(S_AUTHORIZED, "body.expires_at_ms", o_int(-1), LEDGER_E_DECODE);
    expect_set_refused(S_AUTHORIZED, "body.capture", o_str("auto"), LEDGER_E_INVALID);
    expect_set_refused(S_REQUESTED, "body.expires_at_ms", o_uint(5), LEDGER_E_INVALID);
    expect_set_refused(S_SETTLED, "body.captured_minor", o_uint(2501), LEDGER_E_INVALID);
    expect_set_refused(S_SETTLED, "body.captured_minor", o_int(-1), LEDGER_E_INVALID);
    expect_set_refused(S_SETTLED, "body.captured_minor", o_str("1"), LEDGER_E_DECODE);
    expect_set_refused(S_REFUND_REQUESTED, "body.refund_of", o_str(""), LEDGER_E_INVALID);
    expect_set_refused(S_REQUESTED, "body.refund_of", o_str("t-0000"), LEDGER_E_INVALID);
    expect_set_refused(S_REFUND_REQUESTED, "body.operator", o_uint(1), LEDGER_E_DECODE);
    tree_t t;
    tree_init_sample(&t, S_REFUND_REQUESTED);
    tree_set(&t, "body.refund_of", o_repeat(&t, 'r', PROTO_TRANSFER_ID_MAX + 1));
    expect_decode(&t, LEDGER_E_DECODE, "refund_of of 65 bytes");
    tree_init_sample(&t, S_REFUND_REQUESTED);
    tree_set(&t, "body.refund_of", o_repeat(&t, 'r', PROTO_TRANSFER_ID_MAX));
    expect_decode(&t, LEDGER_OK, "refund_of of 64 bytes");
    /* a refund body without refund_of is a refund of nothing */
    tree_init_sample(&t, S_REFUND_REQUESTED);
    tree_remove(&t, "body.refund_of");
    expect_decode(&t, LEDGER_E_INVALID, "refund without refund_of");
}

/* ---------------------------------------------------------------------------
   transfer.capture, transfer.void.
*/
static void test_capture_and_void_carry_their_keys(void **state)
{
    (void)state;
    proto_msg_t out;
    proto_msg_t m = sample(S_CAPTURE);
    encode_decode_ok(&m, &out);
    assert_int_equal(out.body.action.amount_minor, 2000);
    assert_string_equal(out.body.action.principal, "alice");
    assert_false(out.body.action.operator_scope);
    m = sample(S_VOID);
    encode_decode_ok(&m, &out);
    assert_int_equal(out.body.action.amount_minor, 0);
    assert_string_equal(out.body.action.principal, "ops");
    assert_true(out.body.action.operator_scope);
    tree_t t;
    tree_init_sample(&t, S_VOID);
    msgpack_object *body = tree_find(&t, "body", NULL);
    assert_int_equal(body->via.map.size, 3); /* transfer, principal, operator */
    for (uint32_t i = 0; i < body->via.map.size; i++)
        assert_int_not_equal(body->via.map.ptr[i].key.via.str.size, strlen("amount_minor"));
    tree_fini(&t);
    /* a void with an amount, a capture without */
    tree_init_sample(&t, S_VOID);
    tree_add(&t, "body", "amount_minor", o_uint(5));
    expect_decode(&t, LEDGER_E_DECODE, "void with amount_minor");
    tree_init_sample(&t, S_CAPTURE);
    tree_remove(&t, "body.amount_minor");
    expect_decode(&t, LEDGER_E_DECODE, "capture without amount_minor");
    tree_init_sample(&t, S_CAPTURE);
    tree_remove(&t, "body.operator");
    expect_decode(&t, LEDGER_E_DECODE, "capture without operator");
}

static void test_capture_and_void_rules(void **state)
{
    (void)state;
    proto_msg_t m = sample(S_CAPTURE);
    m.body.action.amount_minor = 0;
    expect_invalid(&m, "capture of 0", "amount_minor");
    m = sample(S_VOID);
    m.body.action.amount_minor = 5;
    expect_invalid(&m, "void with an amount", "amount_minor");
    m = sample(S_CAPTURE);
    m.body.action.principal[0] = '\0';
    expect_invalid(&m, "capture without a principal", "principal");
    m = sample(S_VOID);
    strcpy(m.body.action.principal, "Ops");
    expect_invalid(&m, "void by a bad principal", "principal");
    m = sample(S_CAPTURE);
    strcpy(m.corr, "t-0002");
    expect_invalid(&m, "capture whose corr is another transfer", "transfer");
    m = sample(S_VOID);
    m.corr[0] = '\0';
    expect_invalid(&m, "void without corr", "corr");
    expect_set_refused(S_CAPTURE, "body.amount_minor", o_int(-5), LEDGER_E_INVALID);
    expect_set_refused(S_CAPTURE, "body.principal", o_str(""), LEDGER_E_INVALID);
    expect_set_refused(S_VOID, "body.principal", o_str("a b"), LEDGER_E_INVALID);
    expect_set_refused(S_VOID, "body.transfer", o_str("t-9"), LEDGER_E_INVALID);
    m = sample(S_CAPTURE);
    m.body.action.amount_minor = INT64_MAX;
    expect_valid(&m, "capture of INT64_MAX");
}

/* ---------------------------------------------------------------------------
   transfer.voided, transfer.expired.
*/
static void test_voided_and_expired_carry_their_own_code(void **state)
{
    (void)state;
    proto_msg_t m = sample(S_VOIDED);
    strcpy(m.body.declined.code, "expired");
    expect_invalid(&m, "voided with code expired", "code");
    m = sample(S_EXPIRED);
    strcpy(m.body.declined.code, "voided");
    expect_invalid(&m, "expired with code voided", "code");
    m = sample(S_EXPIRED);
    m.body.declined.reason[0] = '\0';
    expect_valid(&m, "expired without a reason");
    expect_set_refused(S_VOIDED, "body.code", o_str("insufficient_funds"), LEDGER_E_INVALID);
    expect_set_refused(S_EXPIRED, "body.code", o_str(""), LEDGER_E_INVALID);
    /* transfer.declined takes the new decline codes */
    const char *const codes[] = {PROTO_DECLINE_ACCOUNT_FROZEN,     PROTO_DECLINE_ACCOUNT_CLOSED,
                                 PROTO_DECLINE_EXCEEDS_REFUNDABLE, PROTO_DECLINE_NOT_REFUNDABLE,
                                 PROTO_DECLINE_RISK_UNAVAILABLE,   PROTO_DECLINE_UNKNOWN_CURRENCY};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        m = sample(S_DECLINED);
        strcpy(m.body.declined.code, codes[i]);
        expect_valid(&m, codes[i]);
    }
}

/* ---------------------------------------------------------------------------
   account.query: update, balance_at, statement, holds.
*/
static void test_update_values(void **state)
{
    (void)state;
    proto_msg_t m = sample(S_QUERY_UPDATE);
    const int64_t good[] = {-1, 0, 1, PROTO_OVERDRAFT_MAX_MINOR};
    for (size_t i = 0; i < 4; i++) {
        m.body.query.overdraft_limit_minor = good[i];
        expect_valid(&m, "overdraft limit");
    }
    const int64_t bad[] = {-2, INT64_MIN, PROTO_OVERDRAFT_MAX_MINOR + 1, INT64_MAX};
    for (size_t i = 0; i < 4; i++) {
        m.body.query.overdraft_limit_minor = bad[i];
        expect_invalid(&m, "overdraft limit", "overdraft_limit_minor");
    }
    m = sample(S_QUERY_UPDATE);
    const char *const statuses[] = {"", "active", "frozen", "closed"};
    for (size_t i = 0; i < 4; i++) {
        strcpy(m.body.query.status, statuses[i]);
        expect_valid(&m, statuses[i]);
    }
    strcpy(m.body.query.status, "open");
    expect_invalid(&m, "status open", "status");
    m = sample(S_QUERY_UPDATE);
    m.body.query.principal[0] = '\0';
    expect_invalid(&m, "update without a principal", "principal");
    m = sample(S_QUERY_UPDATE);
    m.body.query.account[0] = '\0';
    expect_invalid(&m, "update without an account", "account");
    expect_set_refused(S_QUERY_UPDATE, "body.status", o_str("Frozen"), LEDGER_E_INVALID);
    expect_set_refused(S_QUERY_UPDATE, "body.overdraft_limit_minor", o_int(-2), LEDGER_E_INVALID);
    expect_set_refused(S_QUERY_UPDATE, "body.principal", o_str("ops team"), LEDGER_E_INVALID);
    tree_t t;
    tree_init_sample(&t, S_QUERY_UPDATE);
    tree_remove(&t, "body.status");
    expect_decode(&t, LEDGER_E_DECODE, "update without status");
}

static void test_history_query_values(void **state)
{
    (void)state;
    proto_msg_t m = sample(S_QUERY_BALANCE_AT);
    m.body.query.at_ms = 0;
    expect_valid(&m, "balance at 0");
    m.body.query.at_ms = PROTO_TS_MAX_MS;
    expect_valid(&m, "balance at the last ms");
    m.body.query.at_ms = PROTO_TS_MAX_MS + 1;
    expect_invalid(&m, "balance after year 9999", "at_ms");
    m = sample(S_QUERY_STATEMENT);
    m.body.query.to_ms = m.body.query.from_ms;
    expect_invalid(&m, "empty interval", "from_ms");
    m.body.query.to_ms = m.body.query.from_ms - 1;
    expect_invalid(&m, "interval backwards", "from_ms");
    m = sample(S_QUERY_STATEMENT);
    m.body.query.cursor = 0;
    m.body.query.from_ms = 0;
    m.body.query.to_ms = 1;
    expect_valid(&m, "first page of [0, 1)");
    m.body.query.limit = 0;
    expect_invalid(&m, "statement limit 0", "limit");
    m.body.query.limit = PROTO_PAGE_MAX + 1;
    expect_invalid(&m, "statement limit over the page", "limit");
    m = sample(S_QUERY_STATEMENT);
    m.body.query.to_ms = PROTO_TS_MAX_MS + 1;
    expect_invalid(&m, "statement to after year 9999", "to_ms");
    m = sample(S_QUERY_HOLDS);
    m.body.query.after[0] = '\0';
    expect_valid(&m, "holds from the first");
    strcpy(m.body.query.after, "t\x7f");
    expect_invalid(&m, "holds cursor with DEL", "cursor");
    /* the cursor is a seq for statement, an id for holds */
    expect_set_refused(S_QUERY_STATEMENT, "body.cursor", o_str("7"), LEDGER_E_DECODE);
    expect_set_refused(S_QUERY_HOLDS, "body.cursor", o_uint(7), LEDGER_E_DECODE);
    expect_set_refused(S_QUERY_STATEMENT, "body.from_ms", o_uint(1764115200000ull),
                       LEDGER_E_INVALID);
    expect_set_refused(S_QUERY_BALANCE_AT, "body.at_ms", o_int(-1), LEDGER_E_DECODE);
    proto_msg_t out;
    m = sample(S_QUERY_HOLDS);
    encode_decode_ok(&m, &out);
    assert_string_equal(out.body.query.after, "t-0000");
    assert_int_equal(out.body.query.limit, 50);
    m = sample(S_QUERY_STATEMENT);
    encode_decode_ok(&m, &out);
    assert_int_equal(out.body.query.cursor, 7);
    assert_int_equal(out.body.query.from_ms, 1764028700000ull);
    assert_int_equal(out.body.query.to_ms, 1764115200000ull);
}

/* Every new key on an op that does not carry it: refused by validate and on the wire. */
static void test_the_new_query_keys_belong_to_their_op_only(void **state)
{
    (void)state;
    proto_msg_t m = sample(S_QUERY_GET);
    strcpy(m.body.query.status, "frozen");
    expect_invalid(&m, "status on get", "status");
    m = sample(S_QUERY_LIST);
    m.body.query.overdraft_limit_minor = -1;
    expect_invalid(&m, "overdraft on list", "overdraft_limit_minor");
    m = sample(S_QUERY_STATEMENT);
    m.body.query.at_ms = 5;
    expect_invalid(&m, "at_ms on statement", "at_ms");
    m = sample(S_QUERY_BALANCE_AT);
    m.body.query.from_ms = 5;
    expect_invalid(&m, "from_ms on balance_at", "from_ms");
    m = sample(S_QUERY_UPDATE);
    m.body.query.limit = 5;
    expect_invalid(&m, "limit on update", "limit");
    m = sample(S_QUERY_OPEN);
    strcpy(m.body.query.principal, "ops");
    expect_invalid(&m, "principal on open", "principal");
    m = sample(S_QUERY_BALANCE_AT);
    m.body.query.cursor = 3;
    expect_invalid(&m, "cursor on balance_at", "cursor");
    m = sample(S_QUERY_STATEMENT);
    strcpy(m.body.query.after, "x");
    expect_invalid(&m, "an id cursor on statement", "cursor");
    struct {
        sample_t s;
        const char *key;
        msgpack_object v;
    } extra[] = {
        {S_QUERY_GET, "at_ms", o_uint(1)},        {S_QUERY_LIST, "status", o_str("")},
        {S_QUERY_LEDGER, "from_ms", o_uint(1)},   {S_QUERY_OPEN, "principal", o_str("ops")},
        {S_QUERY_HOLDS, "to_ms", o_uint(1)},      {S_QUERY_BALANCE_AT, "limit", o_uint(1)},
        {S_QUERY_UPDATE, "cursor", o_uint(0)},    {S_QUERY_STATEMENT, "at_ms", o_uint(1)},
        {S_QUERY_BALANCE_AT, "cursor", o_uint(0)}};
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) {
        tree_t t;
        tree_init_sample(&t, extra[i].s);
        tree_add(&t, "body", extra[i].key, extra[i].v);
        char why[WHY_SIZE];
        assert_int_equal(tree_decode(&t, why), LEDGER_E_DECODE);
        assert_non_null(strstr(why, extra[i].key));
    }
    expect_set_refused(S_QUERY_GET, "body.op", o_str("refund"), LEDGER_E_INVALID);
}

/* ---------------------------------------------------------------------------
   account.reply: status, overdraft limit, memo, holds.
*/
static void test_reply_keys_round_trip_and_default_when_absent(void **state)
{
    (void)state;
    proto_msg_t m = sample(S_REPLY);
    proto_msg_t out;
    encode_decode_ok(&m, &out);
    proto_account_reply_t *r = &out.body.account_reply;
    assert_string_equal(r->accounts[0].status, "frozen");
    assert_int_equal(r->accounts[0].overdraft_limit_minor, 50000);
    assert_string_equal(r->entries[1].memo, "opened by alice");
    assert_string_equal(r->entries[0].memo, "");
    assert_int_equal(r->hold_count, 2);
    assert_string_equal(r->holds[0].transfer, "t-0001");
    assert_int_equal(r->holds[0].capture, PROTO_CAPTURE_MANUAL);
    assert_int_equal(r->holds[0].expires_at_ms, 1764633600100ull);
    assert_int_equal(r->holds[1].kind, PROTO_TRANSFER_KIND_REFUND);
    assert_int_equal(r->holds[1].amount_minor, 700);
    proto_msg_release(&out);
    assert_null(out.body.account_reply.holds);
    assert_int_equal(out.body.account_reply.hold_count, 0);

    tree_t t;
    tree_init_sample(&t, S_REPLY);
    tree_remove(&t, "body.holds");
    tree_remove(&t, "body.accounts.0.status");
    tree_remove(&t, "body.accounts.0.overdraft_limit_minor");
    tree_remove(&t, "body.entries.1.memo");
    msgpack_sbuffer sb;
    pack_tree(&t, &sb);
    char why[WHY_SIZE];
    if (decode(sb.data, sb.size, &out, why) != LEDGER_OK)
        fail_msg("a reply from before issue 21 was refused: %s", why);
    r = &out.body.account_reply;
    assert_string_equal(r->accounts[0].status, "active");
    assert_int_equal(r->accounts[0].overdraft_limit_minor, 0);
    assert_string_equal(r->entries[1].memo, "");
    assert_int_equal(r->hold_count, 0);
    assert_null(r->holds);
    proto_msg_release(&out);
    msgpack_sbuffer_destroy(&sb);
    tree_fini(&t);
}

/* An account whose C status is "" (from before statuses) is written without the key, which a
   reader takes as "active" (README "General rules"). */
static void test_an_account_without_status_is_written_active(void **state)
{
    (void)state;
    proto_msg_t m = sample(S_REPLY);
    proto_account_t accounts[1] = {sample_accounts[0]};
    accounts[0].status[0] = '\0';
    m.body.account_reply.accounts = accounts;
    m.body.account_reply.account_count = 1;
    tree_t t;
    tree_init(&t, &m);
    assert_false(tree_has(&t, "body.accounts.0.status"));
    tree_fini(&t);
    assert_round_trips(&m);
    accounts[0] = sample_accounts[0];
    strcpy(accounts[0].status, "frozen");
    tree_init(&t, &m);
    msgpack_object *status = tree_find(&t, "body.accounts.0.status", NULL);
    assert_int_equal(status->via.str.size, 6);
    assert_memory_equal(status->via.str.ptr, "frozen", 6);
    tree_fini(&t);
}

static void test_reply_item_rules(void **state)
{
    (void)state;
    expect_set_refused(S_REPLY, "body.accounts.0.status", o_str(""), LEDGER_E_INVALID);
    expect_set_refused(S_REPLY, "body.accounts.0.status", o_str("gone"), LEDGER_E_INVALID);
    expect_set_refused(S_REPLY, "body.accounts.0.status", o_bool(true), LEDGER_E_DECODE);
    expect_set_refused(S_REPLY, "body.accounts.0.overdraft_limit_minor", o_int(-1),
                       LEDGER_E_INVALID);
    expect_set_refused(S_REPLY, "body.entries.0.memo", o_strn("\xff", 1), LEDGER_E_DECODE);
    expect_set_refused(S_REPLY, "body.holds.0.amount_minor", o_int(0), LEDGER_E_INVALID);
    expect_set_refused(S_REPLY, "body.holds.0.kind", o_str("gift"), LEDGER_E_INVALID);
    expect_set_refused(S_REPLY, "body.holds.0.capture", o_str("never"), LEDGER_E_INVALID);
    expect_set_refused(S_REPLY, "body.holds.0.transfer", o_str(""), LEDGER_E_INVALID);
    expect_set_refused(S_REPLY, "body.holds.1.created_ms", o_uint(PROTO_TS_MAX_MS + 1),
                       LEDGER_E_INVALID);
    expect_set_refused(S_REPLY, "body.holds", o_map0(), LEDGER_E_DECODE);
    tree_t t;
    tree_init_sample(&t, S_REPLY);
    tree_set(&t, "body.entries.1.memo", o_repeat(&t, 'm', PROTO_MEMO_MAX + 1));
    expect_decode(&t, LEDGER_E_DECODE, "memo of 161 bytes");
    tree_init_sample(&t, S_REPLY);
    tree_set(&t, "body.entries.1.memo", o_repeat(&t, 'm', PROTO_MEMO_MAX));
    expect_decode(&t, LEDGER_OK, "memo of 160 bytes");
    tree_init_sample(&t, S_REPLY);
    tree_remove(&t, "body.holds.0.expires_at_ms");
    expect_decode(&t, LEDGER_E_DECODE, "hold without expires_at_ms");

    proto_msg_t m = sample(S_REPLY);
    proto_account_t accounts[1] = {sample_accounts[0]};
    strcpy(accounts[0].status, "dormant");
    m.body.account_reply.accounts = accounts;
    m.body.account_reply.account_count = 1;
    expect_invalid(&m, "an unknown status", "status");
    m = sample(S_REPLY);
    m.body.account_reply.holds = NULL;
    expect_invalid(&m, "holds counted but NULL", "holds");
    m = sample(S_REPLY);
    m.body.account_reply.hold_count = PROTO_PAGE_MAX + 1;
    expect_invalid(&m, "too many holds", "holds");
}

/* A reply with a full page of holds fits a frame and round trips; a decode that fails half
   way through the holds frees what it allocated (the sanitizer build checks). */
static void test_a_full_page_of_holds_round_trips(void **state)
{
    (void)state;
    proto_msg_t m = sample(S_REPLY);
    proto_hold_t *holds = calloc(PROTO_PAGE_MAX, sizeof *holds);
    assert_non_null(holds);
    for (int i = 0; i < PROTO_PAGE_MAX; i++) {
        memset(holds[i].transfer, 'h', PROTO_TRANSFER_ID_MAX);
        snprintf(holds[i].transfer, sizeof holds[i].transfer, "%03d", i);
        holds[i].transfer[3] = 'h';
        holds[i].amount_minor = INT64_MAX - i;
        holds[i].kind = (proto_transfer_kind_t)(i % PROTO_TRANSFER_KIND__COUNT);
        holds[i].capture = (proto_capture_t)(i % PROTO_CAPTURE__COUNT);
        holds[i].created_ms = PROTO_TS_MAX_MS;
        holds[i].expires_at_ms = PROTO_TS_MAX_MS;
    }
    m.body.account_reply.holds = holds;
    m.body.account_reply.hold_count = PROTO_PAGE_MAX;
    assert_round_trips(&m);
    tree_t t;
    tree_init(&t, &m);
    tree_set(&t, "body.holds.199.kind", o_str("bad"));
    expect_decode(&t, LEDGER_E_INVALID, "the last hold bad");
    free(holds);
}

TEST_MAIN(cmocka_unit_test(test_new_type_op_kind_and_capture_names_map_both_ways),
          cmocka_unit_test(test_the_encoder_writes_the_payment_keys_unless_zero),
          cmocka_unit_test(test_a_body_from_before_payments_reads_as_zero),
          cmocka_unit_test(test_the_payment_keys_round_trip),
          cmocka_unit_test(test_payment_rules_are_enforced_before_encoding),
          cmocka_unit_test(test_payment_rules_are_enforced_on_the_wire),
          cmocka_unit_test(test_capture_and_void_carry_their_keys),
          cmocka_unit_test(test_capture_and_void_rules),
          cmocka_unit_test(test_voided_and_expired_carry_their_own_code),
          cmocka_unit_test(test_update_values), cmocka_unit_test(test_history_query_values),
          cmocka_unit_test(test_the_new_query_keys_belong_to_their_op_only),
          cmocka_unit_test(test_reply_keys_round_trip_and_default_when_absent),
          cmocka_unit_test(test_an_account_without_status_is_written_active),
          cmocka_unit_test(test_reply_item_rules),
          cmocka_unit_test(test_a_full_page_of_holds_round_trips))

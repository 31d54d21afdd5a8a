/* node_roles_test.c: the role table of issue 19, checked for every sender x type x receiver
   against a list written out here by wire names (not the table's enum rows), so a row missing,
   extra or pointing at the wrong role fails; the query-op rule; role names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "node_roles.h"
#include "proto.h"
#include "test_main.h"

typedef struct {
    const char *sender;
    const char *type;
    const char *receiver;
} expected_rule_t;

/* Issue 19 and its design, section 4; fraud emits its verdicts to accounts and gateway
   (nodes/fraud/fraud.c); issue 21's contract, section 2 (capture, void and their answers). */
static const expected_rule_t EXPECTED[] = {
    {"gateway", "transfer.requested", "accounts"},
    {"gateway", "account.query", "accounts"},
    {"gateway", "transfer.capture", "accounts"},
    {"gateway", "transfer.void", "accounts"},
    {"accounts", "funds.reserved", "fraud"},
    {"accounts", "funds.reserved", "gateway"},
    {"accounts", "transfer.settled", "gateway"},
    {"accounts", "transfer.rejected_fraud", "gateway"},
    {"accounts", "transfer.declined", "gateway"},
    {"accounts", "transfer.authorized", "gateway"},
    {"accounts", "transfer.voided", "gateway"},
    {"accounts", "transfer.expired", "gateway"},
    {"fraud", "fraud.approved", "accounts"},
    {"fraud", "fraud.rejected", "accounts"},
    {"fraud", "fraud.approved", "gateway"},
    {"fraud", "fraud.rejected", "gateway"},
    {"harness", "account.query", "accounts"},
};

#define EXPECTED_COUNT (sizeof EXPECTED / sizeof EXPECTED[0])

static bool same(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static bool expected_allows(int sender, int type, int receiver)
{
    const char *s = node_role_name((node_role_t)sender);
    const char *t = proto_type_name((proto_type_t)type);
    const char *r = node_role_name((node_role_t)receiver);
    for (size_t i = 0; i < EXPECTED_COUNT; i++) {
        if (same(s, EXPECTED[i].sender) && same(t, EXPECTED[i].type) &&
            same(r, EXPECTED[i].receiver))
            return true;
    }
    return false;
}

static const char *or_none(const char *name)
{
    return name != NULL ? name : "-";
}

/* One past each end of the enums, so out-of-range values are covered too. */
static void test_every_triple_is_allowed_exactly_when_listed(void **state)
{
    (void)state;
    size_t allowed = 0;
    for (int s = 0; s <= NODE_ROLE__COUNT; s++) {
        for (int t = 0; t <= PROTO_TYPE__COUNT; t++) {
            for (int r = 0; r <= NODE_ROLE__COUNT; r++) {
                bool got = node_roles_allows((node_role_t)s, (proto_type_t)t, (node_role_t)r);
                if (got != expected_allows(s, t, r))
                    fail_msg("%s (%d) -> %s (%d) to %s (%d): table %d, expected %d",
                             or_none(node_role_name((node_role_t)s)), s,
                             or_none(proto_type_name((proto_type_t)t)), t,
                             or_none(node_role_name((node_role_t)r)), r, got, !got);
                allowed += got;
            }
        }
    }
    /* Every listed rule was reached: no name in EXPECTED is misspelt. */
    assert_int_equal(allowed, EXPECTED_COUNT);
}

static void test_answers_are_refused_for_every_pair(void **state)
{
    (void)state;
    const proto_type_t answers[] = {PROTO_ACK, PROTO_NACK, PROTO_ACCOUNT_REPLY};
    for (size_t a = 0; a < sizeof answers / sizeof answers[0]; a++)
        for (int s = NODE_ROLE_GATEWAY; s < NODE_ROLE__COUNT; s++)
            for (int r = NODE_ROLE_GATEWAY; r < NODE_ROLE__COUNT; r++)
                assert_false(node_roles_allows((node_role_t)s, answers[a], (node_role_t)r));
}

static void test_the_forgeries_of_the_issue_are_refused(void **state)
{
    (void)state;
    /* fraud's key sending transfer.settled; a harness forging a verdict or a settlement. */
    assert_false(node_roles_allows(NODE_ROLE_FRAUD, PROTO_TRANSFER_SETTLED, NODE_ROLE_GATEWAY));
    assert_false(node_roles_allows(NODE_ROLE_HARNESS, PROTO_FRAUD_APPROVED, NODE_ROLE_ACCOUNTS));
    assert_false(node_roles_allows(NODE_ROLE_HARNESS, PROTO_TRANSFER_SETTLED, NODE_ROLE_GATEWAY));
    assert_false(
        node_roles_allows(NODE_ROLE_HARNESS, PROTO_TRANSFER_REQUESTED, NODE_ROLE_ACCOUNTS));
    /* the gateway never reaches fraud; accounts never approves for fraud. */
    assert_false(node_roles_allows(NODE_ROLE_GATEWAY, PROTO_FUNDS_RESERVED, NODE_ROLE_FRAUD));
    assert_false(node_roles_allows(NODE_ROLE_ACCOUNTS, PROTO_FRAUD_APPROVED, NODE_ROLE_ACCOUNTS));
}

static void test_the_gateway_may_ask_any_query_op(void **state)
{
    (void)state;
    assert_true(node_roles_allows_query_op(NODE_ROLE_GATEWAY, PROTO_QUERY_LIST));
    assert_true(node_roles_allows_query_op(NODE_ROLE_GATEWAY, PROTO_QUERY_GET));
    assert_true(node_roles_allows_query_op(NODE_ROLE_GATEWAY, PROTO_QUERY_LEDGER));
    assert_true(node_roles_allows_query_op(NODE_ROLE_GATEWAY, PROTO_QUERY_OPEN));
    assert_true(node_roles_allows_query_op(NODE_ROLE_GATEWAY, PROTO_QUERY_UPDATE));
    assert_true(node_roles_allows_query_op(NODE_ROLE_GATEWAY, PROTO_QUERY_BALANCE_AT));
    assert_true(node_roles_allows_query_op(NODE_ROLE_GATEWAY, PROTO_QUERY_STATEMENT));
    assert_true(node_roles_allows_query_op(NODE_ROLE_GATEWAY, PROTO_QUERY_HOLDS));
}

static void test_the_harness_may_read_but_never_open_or_update(void **state)
{
    (void)state;
    assert_true(node_roles_allows_query_op(NODE_ROLE_HARNESS, PROTO_QUERY_LIST));
    assert_true(node_roles_allows_query_op(NODE_ROLE_HARNESS, PROTO_QUERY_GET));
    assert_true(node_roles_allows_query_op(NODE_ROLE_HARNESS, PROTO_QUERY_LEDGER));
    assert_true(node_roles_allows_query_op(NODE_ROLE_HARNESS, PROTO_QUERY_BALANCE_AT));
    assert_true(node_roles_allows_query_op(NODE_ROLE_HARNESS, PROTO_QUERY_STATEMENT));
    assert_true(node_roles_allows_query_op(NODE_ROLE_HARNESS, PROTO_QUERY_HOLDS));
    assert_false(node_roles_allows_query_op(NODE_ROLE_HARNESS, PROTO_QUERY_OPEN));
    assert_false(node_roles_allows_query_op(NODE_ROLE_HARNESS, PROTO_QUERY_UPDATE));
}

static void test_the_harness_may_send_none_of_the_payment_messages(void **state)
{
    (void)state;
    const proto_type_t types[] = {PROTO_TRANSFER_AUTHORIZED, PROTO_TRANSFER_CAPTURE,
                                  PROTO_TRANSFER_VOID, PROTO_TRANSFER_VOIDED,
                                  PROTO_TRANSFER_EXPIRED};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        for (int r = NODE_ROLE_GATEWAY; r < NODE_ROLE__COUNT; r++) {
            assert_false(node_roles_allows(NODE_ROLE_HARNESS, types[i], (node_role_t)r));
            assert_false(node_roles_allows(NODE_ROLE_FRAUD, types[i], (node_role_t)r));
        }
    /* a capture forged by accounts for itself, a voided forged by the gateway */
    assert_false(node_roles_allows(NODE_ROLE_ACCOUNTS, PROTO_TRANSFER_CAPTURE, NODE_ROLE_ACCOUNTS));
    assert_false(node_roles_allows(NODE_ROLE_GATEWAY, PROTO_TRANSFER_VOIDED, NODE_ROLE_GATEWAY));
}

static void test_no_other_sender_and_no_unknown_op_may_query(void **state)
{
    (void)state;
    for (int op = 0; op <= PROTO_QUERY_HOLDS + 1; op++) {
        bool known = op >= PROTO_QUERY_LIST && op <= PROTO_QUERY_HOLDS;
        assert_false(node_roles_allows_query_op(NODE_ROLE_ACCOUNTS, (proto_query_op_t)op));
        assert_false(node_roles_allows_query_op(NODE_ROLE_FRAUD, (proto_query_op_t)op));
        assert_false(node_roles_allows_query_op((node_role_t)0, (proto_query_op_t)op));
        assert_false(node_roles_allows_query_op(NODE_ROLE__COUNT, (proto_query_op_t)op));
        if (!known) {
            assert_false(node_roles_allows_query_op(NODE_ROLE_GATEWAY, (proto_query_op_t)op));
            assert_false(node_roles_allows_query_op(NODE_ROLE_HARNESS, (proto_query_op_t)op));
        }
    }
}

static void test_role_names_round_trip(void **state)
{
    (void)state;
    const char *names[] = {"gateway", "accounts", "fraud", "harness"};
    const node_role_t roles[] = {NODE_ROLE_GATEWAY, NODE_ROLE_ACCOUNTS, NODE_ROLE_FRAUD,
                                 NODE_ROLE_HARNESS};
    for (size_t i = 0; i < 4; i++) {
        node_role_t got = 0;
        assert_true(node_role_from_name(names[i], &got));
        assert_int_equal(got, roles[i]);
        assert_string_equal(node_role_name(roles[i]), names[i]);
    }
    assert_null(node_role_name((node_role_t)0));
    assert_null(node_role_name(NODE_ROLE__COUNT));
}

static void test_unknown_role_names_are_refused(void **state)
{
    (void)state;
    const char *bad[] = {"", "Gateway", "gateway ", "gate", "gatewayx", "accounts-q", "admin"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        node_role_t got = NODE_ROLE_FRAUD;
        assert_false(node_role_from_name(bad[i], &got));
        assert_int_equal(got, NODE_ROLE_FRAUD);
    }
    node_role_t got = NODE_ROLE_FRAUD;
    assert_false(node_role_from_name(NULL, &got));
    assert_int_equal(got, NODE_ROLE_FRAUD);
}

TEST_MAIN(cmocka_unit_test(test_every_triple_is_allowed_exactly_when_listed),
          cmocka_unit_test(test_answers_are_refused_for_every_pair),
          cmocka_unit_test(test_the_forgeries_of_the_issue_are_refused),
          cmocka_unit_test(test_the_gateway_may_ask_any_query_op),
          cmocka_unit_test(test_the_harness_may_read_but_never_open_or_update),
          cmocka_unit_test(test_the_harness_may_send_none_of_the_payment_messages),
          cmocka_unit_test(test_no_other_sender_and_no_unknown_op_may_query),
          cmocka_unit_test(test_role_names_round_trip),
          cmocka_unit_test(test_unknown_role_names_are_refused))

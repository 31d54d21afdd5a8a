/* proto_rules_test.c: the account-id, currency and UTF-8 rules exported by proto. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto.h"
#include "test_main.h"

static void test_account_ids_are_lower_case_digits_underscore_and_dash(void **state)
{
    (void)state;
    assert_true(proto_account_id_valid_str("alice"));
    assert_true(proto_account_id_valid_str("a-b_c9"));
    assert_true(proto_account_id_valid_str("acc_1-x"));
    assert_false(proto_account_id_valid_str(""));
    assert_false(proto_account_id_valid_str(NULL));
    assert_false(proto_account_id_valid_str("Alice"));
    assert_false(proto_account_id_valid_str("a b"));
    assert_false(proto_account_id_valid_str("../x"));
    assert_false(proto_account_id_valid_str("caf\xc3\xa9"));
    assert_false(proto_account_id_valid("alice", 0));
    assert_true(proto_account_id_valid("alice!", 5));
}

static void test_account_ids_are_at_most_the_limit_long(void **state)
{
    (void)state;
    char id[PROTO_ACCOUNT_ID_MAX + 2];
    memset(id, 'a', sizeof id);
    id[PROTO_ACCOUNT_ID_MAX] = '\0';
    assert_true(proto_account_id_valid_str(id));
    id[PROTO_ACCOUNT_ID_MAX] = 'a';
    id[PROTO_ACCOUNT_ID_MAX + 1] = '\0';
    assert_false(proto_account_id_valid_str(id));
    assert_false(proto_account_id_valid(id, PROTO_ACCOUNT_ID_MAX + 1));
}

static void test_node_names_use_the_account_id_alphabet_up_to_their_limit(void **state)
{
    (void)state;
    assert_true(proto_node_name_valid("accounts", 8));
    assert_true(proto_node_name_valid("node_2-b", 8));
    assert_false(proto_node_name_valid("", 0));
    assert_false(proto_node_name_valid("Fraud", 5));
    assert_false(proto_node_name_valid("a/b", 3));
    char name[PROTO_NODE_MAX + 1];
    memset(name, 'n', sizeof name);
    assert_true(proto_node_name_valid(name, PROTO_NODE_MAX));
    assert_false(proto_node_name_valid(name, PROTO_NODE_MAX + 1));
}

static void test_currencies_are_three_upper_case_letters(void **state)
{
    (void)state;
    assert_true(proto_currency_valid("GBP"));
    assert_false(proto_currency_valid("gbp"));
    assert_false(proto_currency_valid("GB"));
    assert_false(proto_currency_valid("GBPX"));
    assert_false(proto_currency_valid("G1P"));
    assert_false(proto_currency_valid(NULL));
}

static void test_utf8_accepts_well_formed_text_and_refuses_the_rest(void **state)
{
    (void)state;
    assert_true(proto_utf8_valid("", 0));
    assert_true(proto_utf8_valid("caf\xc3\xa9", 5));
    assert_true(proto_utf8_valid("\xf0\x9f\x92\xb7", 4));
    assert_false(proto_utf8_valid("\xc3", 1));             /* cut short */
    assert_false(proto_utf8_valid("\xc0\xaf", 2));         /* overlong */
    assert_false(proto_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
    assert_false(proto_utf8_valid("\xf4\x90\x80\x80", 4)); /* past U+10FFFF */
    assert_false(proto_utf8_valid("\xff", 1));
    assert_false(proto_utf8_valid("\xf0\x9f\x92\xb7", 3)); /* len cuts the sequence */
}

TEST_MAIN(cmocka_unit_test(test_account_ids_are_lower_case_digits_underscore_and_dash),
          cmocka_unit_test(test_account_ids_are_at_most_the_limit_long),
          cmocka_unit_test(test_node_names_use_the_account_id_alphabet_up_to_their_limit),
          cmocka_unit_test(test_currencies_are_three_upper_case_letters),
          cmocka_unit_test(test_utf8_accepts_well_formed_text_and_refuses_the_rest))

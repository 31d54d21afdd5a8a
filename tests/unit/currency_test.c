/* currency_test.c: the one currency table (core/currency.h): the currencies the issue names with
   their exponents, lookups, and a settlement account id for each (proto_settlement_id). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "currency.h"
#include "proto.h"
#include "test_main.h"

static void test_the_table_has_the_currencies_of_the_issue(void **state)
{
    (void)state;
    static const struct {
        const char *code;
        uint8_t exponent;
        const char *name;
    } expected[] = {{"GBP", 2, "Pound sterling"}, {"EUR", 2, "Euro"},
                    {"USD", 2, "US dollar"},      {"JPY", 0, "Yen"},
                    {"KWD", 3, "Kuwaiti dinar"},  {"CHF", 2, "Swiss franc"}};
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        const currency_t *c = currency_find(expected[i].code);
        if (!c)
            fail_msg("%s missing", expected[i].code);
        assert_string_equal(c->code, expected[i].code);
        assert_int_equal(c->exponent, expected[i].exponent);
        assert_string_equal(c->name, expected[i].name);
    }
    assert_string_equal(currency_at(0)->code, "GBP");
}

static void test_every_row_is_well_formed_and_unique(void **state)
{
    (void)state;
    assert_true(currency_count() >= 6);
    for (size_t i = 0; i < currency_count(); i++) {
        const currency_t *c = currency_at(i);
        assert_non_null(c);
        assert_true(proto_currency_valid(c->code));
        assert_int_equal(strlen(c->code), CURRENCY_CODE_LEN);
        assert_true(c->exponent <= CURRENCY_EXPONENT_MAX);
        assert_true(c->name && c->name[0]);
        assert_ptr_equal(currency_find(c->code), c);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(currency_at(j)->code, c->code);
    }
    assert_null(currency_at(currency_count()));
    assert_null(currency_at(SIZE_MAX));
}

static void test_unknown_codes_are_not_found(void **state)
{
    (void)state;
    const char *const bad[] = {"", "gbp", "GB", "GBPX", "XXX", "EUR ", " EUR", "ZZZ"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_null(currency_find(bad[i]));
    assert_null(currency_find(NULL));
}

static void test_every_currency_has_its_own_settlement_account(void **state)
{
    (void)state;
    assert_string_equal(proto_settlement_id("GBP"), "funding");
    assert_string_equal(proto_settlement_id("EUR"), "funding-eur");
    for (size_t i = 0; i < currency_count(); i++) {
        const char *id = proto_settlement_id(currency_at(i)->code);
        if (!id)
            fail_msg("%s has no settlement account", currency_at(i)->code);
        assert_true(proto_account_id_valid_str(id));
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(proto_settlement_id(currency_at(j)->code), id);
        assert_string_equal(proto_settlement_currency(id), currency_at(i)->code);
    }
    static const char *const others[] = {"alice", "funding-xyz", "funding-",    "fundin",
                                         "",      "Funding",     "funding-eurx"};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
        if (proto_settlement_currency(others[i]))
            fail_msg("'%s' taken for a settlement account", others[i]);
    assert_null(proto_settlement_currency(NULL));
    assert_null(proto_settlement_id("XXX"));
    assert_null(proto_settlement_id("gbp"));
    assert_null(proto_settlement_id(NULL));
}

TEST_MAIN(cmocka_unit_test(test_the_table_has_the_currencies_of_the_issue),
          cmocka_unit_test(test_every_row_is_well_formed_and_unique),
          cmocka_unit_test(test_unknown_codes_are_not_found),
          cmocka_unit_test(test_every_currency_has_its_own_settlement_account))

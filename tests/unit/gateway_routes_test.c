/*  gateway_routes_test.c: the public API's route table (gateway_routes.h):
    which path is which route, the {id} segment, methods, keys and scopes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "gateway_principals.h"
#include "gateway_routes.h"
#include "test_main.h"

typedef struct {
    const char *url;
    gateway_route_t route;
    const char *id;
} match_case_t;

static void test_paths_match_their_route_and_id(void **state)
{
    (void)state;
    static const match_case_t cases[] = {
        {"/api/health", GATEWAY_ROUTE_HEALTH, ""},
        {"/api/transfers", GATEWAY_ROUTE_TRANSFERS, ""},
        {"/api/transfers/batch", GATEWAY_ROUTE_TRANSFERS_BATCH, ""},
        {"/api/transfers/t-1", GATEWAY_ROUTE_TRANSFER, "t-1"},
        {"/api/transfers/t-1/capture", GATEWAY_ROUTE_TRANSFER_CAPTURE, "t-1"},
        {"/api/transfers/t-1/void", GATEWAY_ROUTE_TRANSFER_VOID, "t-1"},
        {"/api/transfers/t-1/refunds", GATEWAY_ROUTE_TRANSFER_REFUNDS, "t-1"},
        {"/api/accounts", GATEWAY_ROUTE_ACCOUNTS, ""},
        {"/api/accounts/alice", GATEWAY_ROUTE_ACCOUNT, "alice"},
        {"/api/accounts/alice/ledger", GATEWAY_ROUTE_ACCOUNT_LEDGER, "alice"},
        {"/api/accounts/alice/balance", GATEWAY_ROUTE_ACCOUNT_BALANCE, "alice"},
        {"/api/accounts/alice/statement", GATEWAY_ROUTE_ACCOUNT_STATEMENT, "alice"},
        {"/api/currencies", GATEWAY_ROUTE_CURRENCIES, ""},
        {"/api/openapi.yaml", GATEWAY_ROUTE_OPENAPI, ""},
        {"/api/events", GATEWAY_ROUTE_EVENTS, ""},
        {"/api/stream-tokens", GATEWAY_ROUTE_STREAM_TOKENS, ""},
        {"/api/deposits", GATEWAY_ROUTE_DEPOSITS, ""},
        {"/api/withdrawals", GATEWAY_ROUTE_WITHDRAWALS, ""},
        /* not routes */
        {"/api/transfers/", GATEWAY_ROUTE_NONE, ""},
        {"/api/transfers/t-1/", GATEWAY_ROUTE_NONE, "t-1"},
        {"/api/transfers/t-1/ledger", GATEWAY_ROUTE_NONE, "t-1"},
        {"/api/accounts/alice/capture", GATEWAY_ROUTE_NONE, "alice"},
        {"/api/accounts/alice/ledger/x", GATEWAY_ROUTE_NONE, "alice"},
        {"/api/transfersx", GATEWAY_ROUTE_NONE, ""},
        {"/api", GATEWAY_ROUTE_NONE, ""},
        {"/", GATEWAY_ROUTE_NONE, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char id[PROTO_ACCOUNT_ID_MAX + 1];
        bool too_long = true;
        gateway_route_t route = gateway_routes_match(cases[i].url, id, &too_long);
        if (route != cases[i].route || strcmp(id, cases[i].id) != 0 || too_long)
            fail_msg("%s: route %d id '%s' (want %d '%s')", cases[i].url, route, id, cases[i].route,
                     cases[i].id);
    }
}

static void test_an_id_over_the_limit_is_flagged_not_copied(void **state)
{
    (void)state;
    char url[256] = "/api/transfers/";
    memset(url + strlen(url), 'x', PROTO_ACCOUNT_ID_MAX + 1);
    strcat(url, "/capture");
    char id[PROTO_ACCOUNT_ID_MAX + 1];
    bool too_long = false;
    assert_int_equal(gateway_routes_match(url, id, &too_long), GATEWAY_ROUTE_TRANSFER_CAPTURE);
    assert_true(too_long);
    assert_string_equal(id, "");
}

static void test_methods_keys_and_scopes(void **state)
{
    (void)state;
    assert_int_equal(gateway_routes_method("HEAD"), GATEWAY_METHOD_GET);
    assert_int_equal(gateway_routes_method("PATCH"), GATEWAY_METHOD_PATCH);
    assert_int_equal(gateway_routes_method("DELETE"), GATEWAY_METHOD_OTHER);
    assert_int_equal(gateway_routes_method(NULL), GATEWAY_METHOD_OTHER);

    assert_true(gateway_routes_allows(GATEWAY_ROUTE_ACCOUNT, GATEWAY_METHOD_PATCH));
    assert_false(gateway_routes_allows(GATEWAY_ROUTE_TRANSFER, GATEWAY_METHOD_PATCH));
    assert_false(gateway_routes_allows(GATEWAY_ROUTE_TRANSFER_CAPTURE, GATEWAY_METHOD_GET));
    assert_false(gateway_routes_allows(GATEWAY_ROUTE_NONE, GATEWAY_METHOD_GET));
    assert_string_equal(gateway_routes_allow(GATEWAY_ROUTE_ACCOUNT), "GET, HEAD, PATCH");

    /* every route but health needs a key; every write needs a scope */
    for (int r = GATEWAY_ROUTE_NONE + 1; r < GATEWAY_ROUTE__COUNT; r++) {
        assert_int_equal(gateway_routes_needs_key((gateway_route_t)r), r != GATEWAY_ROUTE_HEALTH);
        if (gateway_routes_allows((gateway_route_t)r, GATEWAY_METHOD_POST))
            assert_int_not_equal(gateway_routes_scope((gateway_route_t)r, GATEWAY_METHOD_POST), 0);
    }
    assert_int_equal(gateway_routes_scope(GATEWAY_ROUTE_TRANSFER_REFUNDS, GATEWAY_METHOD_POST),
                     GATEWAY_SCOPE_TRANSFERS_WRITE);
    assert_int_equal(gateway_routes_scope(GATEWAY_ROUTE_ACCOUNT, GATEWAY_METHOD_PATCH),
                     GATEWAY_SCOPE_ACCOUNTS_MANAGE);
    assert_int_equal(gateway_routes_scope(GATEWAY_ROUTE_ACCOUNT_STATEMENT, GATEWAY_METHOD_GET),
                     GATEWAY_SCOPE_ACCOUNTS_READ);
    assert_int_equal(gateway_routes_scope(GATEWAY_ROUTE_CURRENCIES, GATEWAY_METHOD_GET),
                     GATEWAY_SCOPE_ACCOUNTS_READ);
    assert_true(gateway_routes_has_body(GATEWAY_ROUTE_ACCOUNT, GATEWAY_METHOD_PATCH));
    assert_false(gateway_routes_has_body(GATEWAY_ROUTE_STREAM_TOKENS, GATEWAY_METHOD_POST));
    assert_false(gateway_routes_has_body(GATEWAY_ROUTE_TRANSFERS, GATEWAY_METHOD_GET));
    assert_string_equal(gateway_routes_pattern(GATEWAY_ROUTE_TRANSFER_VOID),
                        "/api/transfers/{id}/void");
}

TEST_MAIN(cmocka_unit_test(test_paths_match_their_route_and_id),
          cmocka_unit_test(test_an_id_over_the_limit_is_flagged_not_copied),
          cmocka_unit_test(test_methods_keys_and_scopes))

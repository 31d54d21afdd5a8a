/*  gateway_owners_test.c: the owner map and the per-principal transfer index
    (gateway_owners.h) over a real store in a temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway_owners.h"
#include "test_main.h"
#include "test_store.h"

typedef struct {
    char dir[TEST_DIR_BYTES];
    store_t *store;
    store_txn_t *txn;
} fx_t;

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    test_store_open_writing(fx->dir, "gateway_owners_test", &fx->store, &fx->txn);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    test_store_close_writing(fx->dir, &fx->store, &fx->txn);
    free(fx);
    return 0;
}

static bool owns(fx_t *fx, const char *principal, const char *account)
{
    bool yes = true;
    assert_int_equal(gateway_owners_owns(NULL, fx->txn, principal, account, &yes), LEDGER_OK);
    return yes;
}

static void test_an_owner_is_recorded_once_and_never_replaced(void **state)
{
    fx_t *fx = *state;
    bool added = false;
    assert_int_equal(gateway_owners_put(fx->txn, "acc-1", "alice", &added), LEDGER_OK);
    assert_true(added);
    assert_int_equal(gateway_owners_put(fx->txn, "acc-1", "alice", &added), LEDGER_OK);
    assert_false(added);
    assert_int_equal(gateway_owners_put(fx->txn, "acc-1", "mallory", &added), LEDGER_E_EXISTS);
    assert_false(added);
    char owner[PROTO_ACCOUNT_ID_MAX + 1];
    assert_int_equal(gateway_owners_get(fx->txn, "acc-1", owner), LEDGER_OK);
    assert_string_equal(owner, "alice");
    assert_true(owns(fx, "alice", "acc-1"));
    assert_false(owns(fx, "mallory", "acc-1"));
    assert_false(owns(fx, "alic", "acc-1"));
    assert_false(owns(fx, "alicee", "acc-1"));
}

static void test_unknown_accounts_and_the_empty_principal_own_nothing(void **state)
{
    fx_t *fx = *state;
    assert_int_equal(gateway_owners_put(fx->txn, "acc-1", "alice", NULL), LEDGER_OK);
    assert_false(owns(fx, "alice", "nobody-knows"));
    assert_false(owns(fx, "", "acc-1"));
    assert_false(owns(fx, "alice", "BAD/ID"));
    char owner[PROTO_ACCOUNT_ID_MAX + 1];
    assert_int_equal(gateway_owners_get(fx->txn, "nobody-knows", owner), LEDGER_E_NOT_FOUND);
    assert_int_equal(gateway_owners_put(fx->txn, "acc-2", "", NULL), LEDGER_E_INVALID);
    assert_int_equal(gateway_owners_put(fx->txn, "a/b", "alice", NULL), LEDGER_E_INVALID);
}

static void test_a_principal_lists_only_its_accounts_page_by_page(void **state)
{
    fx_t *fx = *state;
    const char *alice[] = {"a1", "a2", "a3", "a4", "a5"};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(gateway_owners_put(fx->txn, alice[i], "alice", NULL), LEDGER_OK);
    /* Principals whose ids share alice's prefix, or sort right after her range. */
    assert_int_equal(gateway_owners_put(fx->txn, "b1", "alice-2", NULL), LEDGER_OK);
    assert_int_equal(gateway_owners_put(fx->txn, "b2", "alicea", NULL), LEDGER_OK);
    assert_int_equal(gateway_owners_put(fx->txn, "b3", "alic", NULL), LEDGER_OK);
    char ids[3][PROTO_ACCOUNT_ID_MAX + 1];
    size_t n = 0;
    bool more = false;
    assert_int_equal(gateway_owners_accounts(fx->txn, "alice", NULL, 3, ids, &n, &more), LEDGER_OK);
    assert_int_equal(n, 3);
    assert_true(more);
    assert_string_equal(ids[0], "a1");
    assert_string_equal(ids[2], "a3");
    assert_int_equal(gateway_owners_accounts(fx->txn, "alice", "a3", 3, ids, &n, &more), LEDGER_OK);
    assert_int_equal(n, 2);
    assert_false(more);
    assert_string_equal(ids[0], "a4");
    assert_string_equal(ids[1], "a5");
    assert_int_equal(gateway_owners_accounts(fx->txn, "bob", NULL, 3, ids, &n, &more), LEDGER_OK);
    assert_int_equal(n, 0);
    assert_int_equal(gateway_owners_accounts(fx->txn, "alice", NULL, 0, ids, &n, &more),
                     LEDGER_E_INVALID);
}

static void test_transfers_are_seen_by_those_indexed_newest_first(void **state)
{
    fx_t *fx = *state;
    const char *ids_in[] = {"tr_000000000001000000a1", "tr_000000000002000000a2",
                            "tr_000000000003000000a3"};
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(gateway_owners_index_transfer(fx->txn, "alice", ids_in[i]), LEDGER_OK);
    assert_int_equal(gateway_owners_index_transfer(fx->txn, "alicea", "tr_000000000004000000a4"),
                     LEDGER_OK);
    assert_int_equal(gateway_owners_index_transfer(fx->txn, "alic", "tr_000000000005000000a5"),
                     LEDGER_OK);
    bool sees = false;
    assert_int_equal(gateway_owners_sees_transfer(fx->txn, "alice", ids_in[1], &sees), LEDGER_OK);
    assert_true(sees);
    assert_int_equal(gateway_owners_sees_transfer(fx->txn, "bob", ids_in[1], &sees), LEDGER_OK);
    assert_false(sees);
    char ids[2][GATEWAY_OWNERS_TRANSFER_ID_MAX + 1];
    size_t n = 0;
    bool more = false;
    assert_int_equal(gateway_owners_transfers(fx->txn, "alice", NULL, 2, ids, &n, &more),
                     LEDGER_OK);
    assert_int_equal(n, 2);
    assert_true(more);
    assert_string_equal(ids[0], ids_in[2]);
    assert_string_equal(ids[1], ids_in[1]);
    assert_int_equal(gateway_owners_transfers(fx->txn, "alice", ids[1], 2, ids, &n, &more),
                     LEDGER_OK);
    assert_int_equal(n, 1);
    assert_false(more);
    assert_string_equal(ids[0], ids_in[0]);
}

static void test_only_operators_see_everything(void **state)
{
    (void)state;
    gateway_auth_caller_t c = {.principal = {.id = "op", .kind = GATEWAY_PRINCIPAL_OPERATOR}};
    assert_true(gateway_owners_sees_all(&c));
    c.principal.kind = GATEWAY_PRINCIPAL_CUSTOMER;
    assert_false(gateway_owners_sees_all(&c));
}

/*  The loop's cache keeps owners it found (they never change) and only those: an account
    without an owner yet is read again, and a cached owner answers even where the store has
    none (a second, empty store: proof the store was not asked). More accounts than slots
    (collisions replace slots) still all answer right. */
static void test_the_owner_cache_keeps_found_owners_only(void **state)
{
    fx_t *fx = *state;
    gateway_owners_cache_t *cache = gateway_owners_cache_new();
    assert_non_null(cache);
    bool yes = true;
    assert_int_equal(gateway_owners_owns(cache, fx->txn, "alice", "acc-1", &yes), LEDGER_OK);
    assert_false(yes); /* not there yet: not cached */
    assert_int_equal(gateway_owners_put(fx->txn, "acc-1", "alice", NULL), LEDGER_OK);
    assert_int_equal(gateway_owners_owns(cache, fx->txn, "alice", "acc-1", &yes), LEDGER_OK);
    assert_true(yes);

    char other_dir[TEST_DIR_BYTES];
    store_t *other = NULL;
    store_txn_t *other_txn = NULL;
    test_store_open_writing(other_dir, "gateway_owners_test_other", &other, &other_txn);
    assert_int_equal(gateway_owners_owns(cache, other_txn, "alice", "acc-1", &yes), LEDGER_OK);
    assert_true(yes); /* from the cache */
    assert_int_equal(gateway_owners_owns(NULL, other_txn, "alice", "acc-1", &yes), LEDGER_OK);
    assert_false(yes); /* the store of the other dir has no such owner */
    char viewers[2][PROTO_ACCOUNT_ID_MAX + 1];
    assert_int_equal(
        gateway_owners_viewers(cache, other_txn, NULL, "acc-1", "acc-2", NULL, viewers), LEDGER_OK);
    assert_string_equal(viewers[0], "alice");
    assert_string_equal(viewers[1], "");
    /* a customer who owns an account under EUR's settlement id (opened before EUR had one)
       views its own GBP transfers, never another's EUR withdrawal */
    assert_int_equal(gateway_owners_put(other_txn, "funding-eur", "mallory", NULL), LEDGER_OK);
    assert_int_equal(
        gateway_owners_viewers(NULL, other_txn, "bob", "bob-eur", "funding-eur", "EUR", viewers),
        LEDGER_OK);
    assert_string_equal(viewers[0], "bob");
    assert_string_equal(viewers[1], "");
    assert_int_equal(
        gateway_owners_viewers(NULL, other_txn, "bob", "bob", "funding-eur", "GBP", viewers),
        LEDGER_OK);
    assert_string_equal(viewers[1], "mallory");
    test_store_close_writing(other_dir, &other, &other_txn);

    enum { MANY = 20000 }; /* more than fit without collisions */
    char account[32], owner[32];
    for (int i = 0; i < MANY; i++) {
        snprintf(account, sizeof account, "many-%d", i);
        snprintf(owner, sizeof owner, "owner-%d", i % 7);
        assert_int_equal(gateway_owners_put(fx->txn, account, owner, NULL), LEDGER_OK);
    }
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < MANY; i++) {
            snprintf(account, sizeof account, "many-%d", i);
            snprintf(owner, sizeof owner, "owner-%d", i % 7);
            assert_int_equal(gateway_owners_owns(cache, fx->txn, owner, account, &yes), LEDGER_OK);
            assert_true(yes);
            snprintf(owner, sizeof owner, "owner-%d", (i + 1) % 7);
            assert_int_equal(gateway_owners_owns(cache, fx->txn, owner, account, &yes), LEDGER_OK);
            assert_false(yes);
        }
    }
    gateway_owners_cache_destroy(&cache);
    assert_null(cache);
    gateway_owners_cache_destroy(&cache); /* safe on NULL */
}

TEST_MAIN(cmocka_unit_test_setup_teardown(test_an_owner_is_recorded_once_and_never_replaced, setup,
                                          teardown),
          cmocka_unit_test_setup_teardown(test_unknown_accounts_and_the_empty_principal_own_nothing,
                                          setup, teardown),
          cmocka_unit_test_setup_teardown(test_a_principal_lists_only_its_accounts_page_by_page,
                                          setup, teardown),
          cmocka_unit_test_setup_teardown(test_transfers_are_seen_by_those_indexed_newest_first,
                                          setup, teardown),
          cmocka_unit_test_setup_teardown(test_the_owner_cache_keeps_found_owners_only, setup,
                                          teardown),
          cmocka_unit_test(test_only_operators_see_everything))

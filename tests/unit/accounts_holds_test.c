/*  accounts_holds_test.c: the open-holds index (accounts_holds.h): one entry per reserved or
    authorised transfer on its source, listed by transfer id in pages with a cursor, gone when
    the transfer settles or is released; limits refused.
*/
#include "accounts_life_fixture.h"
#include "test_main.h"

static void test_holds_are_listed_by_transfer_id_in_pages(void **state)
{
    fx_t *fx = *state;
    static const char *const ids[] = {"t3", "t1", "t4", "t2"};
    for (size_t i = 0; i < 4; i++) {
        proto_msg_t m = requested_manual(fx, ids[i], "alice", "bob", 100 * (int64_t)(i + 1));
        apply_ok(fx, &m);
    }
    approve(fx, "t2"); /* authorized: still held */
    proto_msg_t other = requested(fx, "t0", "bob", "alice", 5, "GBP");
    apply_ok(fx, &other); /* bob's, not alice's */
    proto_hold_t page[PROTO_PAGE_MAX];
    uint32_t n = 0;
    char next[PROTO_TRANSFER_ID_MAX + 1];
    assert_int_equal(accounts_holds_list(fx->txn, "alice", "", 3, page, &n, next), LEDGER_OK);
    assert_int_equal(n, 3);
    assert_string_equal(page[0].transfer, "t1");
    assert_int_equal(page[0].amount_minor, 200);
    assert_int_equal(page[0].kind, PROTO_TRANSFER_KIND_TRANSFER);
    assert_int_equal(page[0].created_ms, T0_MS);
    assert_string_equal(page[2].transfer, "t3");
    assert_string_equal(next, "t3");
    assert_int_equal(accounts_holds_list(fx->txn, "alice", next, 3, page, &n, next), LEDGER_OK);
    assert_int_equal(n, 1);
    assert_string_equal(page[0].transfer, "t4");
    assert_string_equal(next, "");
    /* settled and released holds leave the index */
    proto_msg_t v = action(fx, PROTO_TRANSFER_VOID, "t2", "alice", 0);
    apply_ok(fx, &v);
    approve(fx, "t1");
    proto_msg_t c = action(fx, PROTO_TRANSFER_CAPTURE, "t1", "alice", 200);
    apply_ok(fx, &c);
    assert_int_equal(accounts_holds_list(fx->txn, "alice", "", 10, page, &n, next), LEDGER_OK);
    assert_int_equal(n, 2);
    assert_string_equal(page[0].transfer, "t3");
    assert_string_equal(page[1].transfer, "t4");
    assert_int_equal(accounts_holds_list(fx->txn, "bob", "", 10, page, &n, next), LEDGER_OK);
    assert_int_equal(n, 1);
    assert_int_equal(accounts_holds_list(fx->txn, "carol", "", 10, page, &n, next), LEDGER_OK);
    assert_int_equal(n, 0);
    assert_books_ok(fx);
}

static void test_holds_list_refuses_limits_out_of_range(void **state)
{
    fx_t *fx = *state;
    proto_hold_t page[1];
    uint32_t n = 7;
    char next[PROTO_TRANSFER_ID_MAX + 1];
    assert_int_equal(accounts_holds_list(fx->txn, "alice", "", 0, page, &n, next),
                     LEDGER_E_INVALID);
    assert_int_equal(n, 0);
    assert_int_equal(accounts_holds_list(fx->txn, "alice", "", PROTO_PAGE_MAX + 1, page, &n, next),
                     LEDGER_E_INVALID);
    assert_int_equal(accounts_holds_list(fx->txn, "", "", 1, page, &n, next), LEDGER_E_INVALID);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup_alice_bob, teardown)

TEST_MAIN(T(test_holds_are_listed_by_transfer_id_in_pages),
          T(test_holds_list_refuses_limits_out_of_range))

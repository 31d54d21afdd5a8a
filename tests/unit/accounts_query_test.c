/*  accounts_query_test.c: account.query (accounts_query.h): get, list pages in id order,
    an account's ledger newest first, and replies that encode. On the shared
    fixture (accounts_fixture.h).
*/
#include "accounts_fixture.h"
#include "currency.h"
#include "test_main.h"

static void test_get_finds_an_account_or_answers_404(void **state)
{
    fx_t *fx = *state;
    proto_msg_t q = query_msg(fx, PROTO_QUERY_GET);
    snprintf(q.body.query.account, sizeof q.body.query.account, "bob");
    proto_msg_t r = run_query(fx, &q);
    assert_int_equal(r.body.account_reply.status, 200);
    assert_string_equal(r.body.account_reply.accounts[0].name, "Bob Jones");
    assert_int_equal(r.body.account_reply.accounts[0].balance_minor, BOB_DEPOSIT);
    proto_msg_release(&r);

    snprintf(q.body.query.account, sizeof q.body.query.account, "zed");
    r = run_query(fx, &q);
    assert_int_equal(r.body.account_reply.status, 404);
    assert_string_equal(r.body.account_reply.code, "not_found");
    assert_int_equal(r.body.account_reply.account_count, 0);
    proto_msg_release(&r);
}

static void test_list_pages_in_id_order(void **state)
{
    fx_t *fx = *state;
    open_account(fx, "carol", "Carol White", 1);
    /* alice bob carol, then the settlement account of each currency (issue 21) */
    const char *want[] = {"alice",       "bob",         "carol",       "funding",    "funding-chf",
                          "funding-eur", "funding-jpy", "funding-kwd", "funding-usd"};
    const size_t want_count = sizeof want / sizeof want[0];
    assert_int_equal(want_count, 3 + currency_count());
    char after[PROTO_ACCOUNT_ID_MAX + 1] = "";
    size_t seen = 0;
    for (int page = 0; page < 4; page++) {
        proto_msg_t q = query_msg(fx, PROTO_QUERY_LIST);
        q.body.query.limit = 3;
        snprintf(q.body.query.after, sizeof q.body.query.after, "%s", after);
        proto_msg_t r = run_query(fx, &q);
        proto_account_reply_t *b = &r.body.account_reply;
        assert_int_equal(b->status, 200);
        assert_int_equal(b->account_count, 3);
        for (uint32_t i = 0; i < b->account_count; i++) {
            assert_string_equal(b->accounts[i].id, want[seen]);
            assert_int_equal(b->accounts[i].settlement, seen >= 3);
            seen++;
        }
        snprintf(after, sizeof after, "%s", b->next);
        assert_string_equal(b->next, seen < want_count ? want[seen - 1] : "");
        proto_msg_release(&r);
        if (after[0] == '\0')
            break;
    }
    assert_int_equal(seen, want_count);

    /* a cursor that is not an account id starts after where it would sort */
    proto_msg_t q = query_msg(fx, PROTO_QUERY_LIST);
    q.body.query.limit = 10;
    snprintf(q.body.query.after, sizeof q.body.query.after, "b");
    proto_msg_t r = run_query(fx, &q);
    assert_int_equal(r.body.account_reply.account_count, want_count - 1);
    assert_string_equal(r.body.account_reply.accounts[0].id, "bob");
    proto_msg_release(&r);
}

static void test_ledger_query_pages_newest_first(void **state)
{
    fx_t *fx = *state;
    char id[16];
    for (int i = 0; i < 3; i++) {
        snprintf(id, sizeof id, "t%d", i);
        proto_msg_t req = requested(fx, id, "alice", "bob", 100, "GBP");
        apply_ok(fx, &req);
        proto_msg_t ok = verdict(fx, PROTO_FRAUD_APPROVED, id);
        apply_ok(fx, &ok);
    }
    /* alice: open, then (hold, debit) x 3 = 7 entries */
    const char *kinds[] = {"debit", "hold", "debit", "hold", "debit", "hold", "open"};
    const int64_t amounts[] = {-100, 100, -100, 100, -100, 100, ALICE_DEPOSIT};
    uint64_t cursor = 0;
    size_t seen = 0;
    uint64_t last_seq = UINT64_MAX;
    for (int page = 0; page < 4; page++) {
        proto_msg_t q = query_msg(fx, PROTO_QUERY_LEDGER);
        snprintf(q.body.query.account, sizeof q.body.query.account, "alice");
        q.body.query.limit = 3;
        q.body.query.cursor = cursor;
        proto_msg_t r = run_query(fx, &q);
        proto_account_reply_t *b = &r.body.account_reply;
        assert_int_equal(b->status, 200);
        for (uint32_t i = 0; i < b->entry_count; i++, seen++) {
            assert_true(b->entries[i].seq < last_seq);
            last_seq = b->entries[i].seq;
            assert_string_equal(b->entries[i].account, "alice");
            assert_string_equal(b->entries[i].kind, kinds[seen]);
            assert_int_equal(b->entries[i].amount_minor, amounts[seen]);
        }
        cursor = b->next[0] ? strtoull(b->next, NULL, 10) : 0;
        if (cursor)
            assert_int_equal(cursor, b->entries[b->entry_count - 1].seq);
        proto_msg_release(&r);
        if (!cursor)
            break;
    }
    assert_int_equal(seen, 7);

    /* A cursor that is not one of alice's entries (bob's newest, or past the end) is a 400. */
    proto_msg_t bob_q = query_msg(fx, PROTO_QUERY_LEDGER);
    snprintf(bob_q.body.query.account, sizeof bob_q.body.query.account, "bob");
    bob_q.body.query.limit = 1;
    proto_msg_t bob_r = run_query(fx, &bob_q);
    assert_int_equal(bob_r.body.account_reply.entry_count, 1);
    uint64_t bob_newest = bob_r.body.account_reply.entries[0].seq;
    proto_msg_release(&bob_r);
    for (int i = 0; i < 2; i++) {
        proto_msg_t bad = query_msg(fx, PROTO_QUERY_LEDGER);
        snprintf(bad.body.query.account, sizeof bad.body.query.account, "alice");
        bad.body.query.limit = 3;
        bad.body.query.cursor = i == 0 ? bob_newest : 1000000;
        proto_msg_t r = run_query(fx, &bad);
        assert_int_equal(r.body.account_reply.status, 400);
        assert_string_equal(r.body.account_reply.code, "invalid_cursor");
        proto_msg_release(&r);
    }

    proto_msg_t q = query_msg(fx, PROTO_QUERY_LEDGER);
    snprintf(q.body.query.account, sizeof q.body.query.account, "zed");
    q.body.query.limit = 3;
    proto_msg_t r = run_query(fx, &q);
    assert_int_equal(r.body.account_reply.status, 404);
    proto_msg_release(&r);
}

static void test_query_reply_encodes(void **state)
{
    fx_t *fx = *state;
    proto_msg_t q = query_msg(fx, PROTO_QUERY_LIST);
    q.body.query.limit = 10;
    proto_msg_t r = run_query(fx, &q);
    /* the runtime fills the envelope; with that, the reply must pass validation */
    snprintf(r.origin, sizeof r.origin, "accounts");
    r.seq = 1;
    char why[256];
    if (proto_validate(&r, why, sizeof why) != LEDGER_OK)
        fail_msg("reply does not validate: %s", why);
    proto_msg_release(&r);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup_alice_bob, teardown)

TEST_MAIN(T(test_get_finds_an_account_or_answers_404), T(test_list_pages_in_id_order),
          T(test_ledger_query_pages_newest_first), T(test_query_reply_encodes))

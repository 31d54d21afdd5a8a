/*  accounts_open_test.c: opening accounts (accounts_open.h), through account.query op
    open as the gateway sends it: the deposit moves from the funding
    account, the same open again answers the account, refusals write
    nothing; the funding account and the demo seed. On the shared fixture
    (accounts_fixture.h).
*/
#include "accounts_fixture.h"
#include "currency.h"
#include "test_main.h"

static void test_open_moves_the_deposit_from_funding(void **state)
{
    fx_t *fx = *state;
    uint64_t ledger_before = ledger_len(fx);
    proto_msg_t r = open_query(fx, "dave", "Dave Brown", "GBP", 5000);
    proto_account_reply_t *b = &r.body.account_reply;
    assert_int_equal(b->status, 201);
    assert_int_equal(b->account_count, 1);
    assert_string_equal(b->accounts[0].id, "dave");
    assert_string_equal(b->accounts[0].name, "Dave Brown");
    assert_string_equal(b->accounts[0].currency, "GBP");
    assert_int_equal(b->accounts[0].balance_minor, 5000);
    assert_false(b->accounts[0].settlement);
    proto_msg_release(&r);

    proto_account_t funding = account(fx, "funding");
    assert_true(funding.settlement);
    assert_int_equal(funding.balance_minor, -(ALICE_DEPOSIT + BOB_DEPOSIT + 5000));
    assert_int_equal(ledger_len(fx), ledger_before + 2);
    store_ledger_entry_t f = newest_entry(fx, "funding"), d = newest_entry(fx, "dave");
    assert_string_equal(f.kind, "open");
    assert_string_equal(f.transfer, "dave");
    assert_int_equal(f.balance_delta_minor, -5000);
    assert_int_equal(f.balance_after_minor, funding.balance_minor);
    assert_string_equal(d.kind, "open");
    assert_int_equal(d.balance_delta_minor, 5000);
    assert_int_equal(d.balance_after_minor, 5000);
    assert_int_equal(d.held_after_minor, 0);
    assert_int_equal(count_of(fx, STORE_DB_OUTBOX), 0); /* queries send nothing */
    assert_ledger_ok(fx);
}

static void test_open_with_zero_deposit(void **state)
{
    fx_t *fx = *state;
    proto_msg_t r = open_query(fx, "erin", "Erin", "GBP", 0);
    assert_int_equal(r.body.account_reply.status, 201);
    assert_int_equal(r.body.account_reply.accounts[0].balance_minor, 0);
    proto_msg_release(&r);
    assert_ledger_ok(fx);
}

static void test_open_again_with_same_name_returns_the_account(void **state)
{
    fx_t *fx = *state;
    proto_msg_t req = requested(fx, "t1", "alice", "bob", 10000, "GBP");
    apply_ok(fx, &req);
    snapshot_t before = snapshot(fx, NULL);
    /* a different deposit does not matter: the account exists, no second deposit */
    proto_msg_t r = open_query(fx, "alice", "Alice Smith", "GBP", 777);
    assert_int_equal(r.body.account_reply.status, 200);
    assert_int_equal(r.body.account_reply.account_count, 1);
    assert_int_equal(r.body.account_reply.accounts[0].balance_minor, ALICE_DEPOSIT);
    assert_int_equal(r.body.account_reply.accounts[0].held_minor, 10000);
    proto_msg_release(&r);
    snapshot_t after = snapshot(fx, NULL);
    assert_same(&before, &after);
}

static void expect_open_refused(fx_t *fx, const char *id, const char *name, const char *currency,
                                int64_t deposit, uint32_t status, const char *code)
{
    snapshot_t before = snapshot(fx, NULL);
    uint64_t accounts_before = count_of(fx, STORE_DB_ACCOUNTS);
    proto_msg_t r = open_query(fx, id, name, currency, deposit);
    assert_int_equal(r.body.account_reply.status, status);
    assert_string_equal(r.body.account_reply.code, code);
    assert_true(strlen(r.body.account_reply.reason) > 0);
    assert_int_equal(r.body.account_reply.account_count, 0);
    assert_null(r.body.account_reply.accounts);
    proto_msg_release(&r);
    snapshot_t after = snapshot(fx, NULL);
    assert_same(&before, &after);
    assert_int_equal(count_of(fx, STORE_DB_ACCOUNTS), accounts_before);
}

static void test_open_conflicts_and_invalid_input(void **state)
{
    fx_t *fx = *state;
    expect_open_refused(fx, "alice", "Alice Jones", "GBP", 100, 409, "account_exists");
    expect_open_refused(fx, "funding", ACCOUNTS_FUNDING_NAME, "GBP", 0, 409, "account_exists");
    expect_open_refused(fx, "Alice", "Alice", "GBP", 100, 400, "invalid_account_id");
    expect_open_refused(fx, "al ice", "Alice", "GBP", 100, 400, "invalid_account_id");
    expect_open_refused(fx, "", "Nobody", "GBP", 100, 400, "invalid_account_id");
    expect_open_refused(fx, "carol", "Carol", "XYZ", 100, 400, "unknown_currency");
    expect_open_refused(fx, "funding-eur", "Mine", "EUR", 0, 409, "account_exists");
    expect_open_refused(fx, "carol", "", "GBP", 100, 400, "invalid_name");
    expect_open_refused(fx, "carol", "Carol", "GBP", -1, 400, "invalid_amount");
    /* the longest valid id works */
    char long_id[PROTO_ACCOUNT_ID_MAX + 1];
    memset(long_id, 'x', PROTO_ACCOUNT_ID_MAX);
    long_id[PROTO_ACCOUNT_ID_MAX] = '\0';
    proto_msg_t r = open_query(fx, long_id, "Long", "GBP", 1);
    assert_int_equal(r.body.account_reply.status, 201);
    proto_msg_release(&r);
}

/* An open of `id` for `owner`, answered. */
static proto_msg_t open_for(fx_t *fx, const char *id, const char *owner)
{
    proto_msg_t q = query_msg(fx, PROTO_QUERY_OPEN);
    snprintf(q.body.query.account, sizeof q.body.query.account, "%s", id);
    snprintf(q.body.query.name, sizeof q.body.query.name, "Name of %s", id);
    snprintf(q.body.query.currency, sizeof q.body.query.currency, "GBP");
    snprintf(q.body.query.owner, sizeof q.body.query.owner, "%s", owner);
    return run_query(fx, &q);
}

static void test_open_stores_the_owner_and_the_reply_carries_it(void **state)
{
    fx_t *fx = *state;
    proto_msg_t r = open_for(fx, "erin-savings", "erin");
    assert_int_equal(r.body.account_reply.status, 201);
    assert_string_equal(r.body.account_reply.accounts[0].owner, "erin");
    proto_msg_release(&r);
    assert_string_equal(account(fx, "erin-savings").owner, "erin");
    accounts_record_t rec;
    assert_int_equal(accounts_record_get(fx->ctx.txn, "erin-savings", &rec), LEDGER_OK);
    assert_string_equal(rec.owner, "erin");
    assert_string_equal(account(fx, "alice").owner, "alice");
    proto_account_t funding = account(fx, "funding");
    assert_string_equal(funding.owner, "");
    assert_true(funding.settlement);
    assert_string_equal(proto_settlement_id("GBP"), "funding");
    assert_string_equal(proto_settlement_id("EUR"), "funding-eur");

    r = open_for(fx, "erin-savings", "erin"); /* the same open again */
    assert_int_equal(r.body.account_reply.status, 200);
    proto_msg_release(&r);
}

static void test_open_refuses_another_owner_or_a_bad_one_and_writes_nothing(void **state)
{
    fx_t *fx = *state;
    snapshot_t before = snapshot(fx, NULL);
    uint64_t accounts_before = count_of(fx, STORE_DB_ACCOUNTS);
    proto_msg_t r = open_for(fx, "alice", "mallory"); /* alice's account, claimed by another */
    assert_int_equal(r.body.account_reply.status, 409);
    assert_string_equal(r.body.account_reply.code, "account_exists");
    proto_msg_release(&r);
    /* the node checks what proto would refuse anyway: it does not depend on the decoder */
    r = open_for(fx, "frank", "Frank Owner");
    assert_int_equal(r.body.account_reply.status, 400);
    assert_string_equal(r.body.account_reply.code, "invalid_owner");
    proto_msg_release(&r);
    snapshot_t after = snapshot(fx, NULL);
    assert_same(&before, &after);
    assert_int_equal(count_of(fx, STORE_DB_ACCOUNTS), accounts_before);
    assert_string_equal(account(fx, "alice").owner, "alice");
}

static void test_open_refuses_a_deposit_that_overflows_funding(void **state)
{
    fx_t *fx = *state;
    open_account(fx, "carol", "Carol", INT64_MAX - ALICE_DEPOSIT - BOB_DEPOSIT);
    assert_true(account(fx, "funding").balance_minor == -INT64_MAX);
    expect_open_refused(fx, "dave", "Dave", "GBP", 2, 400, "amount_overflow");
    assert_ledger_ok(fx);
}

static void test_ensure_funding_is_idempotent(void **state)
{
    fx_t *fx = *state;
    proto_account_t before = account(fx, "funding");
    assert_int_equal(accounts_open_ensure_funding(&fx->ctx, NULL, 0, NULL), LEDGER_OK);
    proto_account_t after = account(fx, "funding");
    assert_memory_equal(&before, &after, sizeof before);
    assert_string_equal(after.name, ACCOUNTS_FUNDING_NAME);
    assert_string_equal(after.currency, "GBP");
    assert_true(after.settlement);
    assert_int_equal(count_of(fx, STORE_DB_ACCOUNTS), currency_count()); /* one per currency */
    assert_int_equal(ledger_len(fx), 0);
}

static void test_seed_demo_opens_the_demo_accounts_once(void **state)
{
    fx_t *fx = *state;
    assert_int_equal(accounts_open_seed_demo(&fx->ctx), LEDGER_OK);
    static const struct {
        const char *id, *name;
    } want[] = {
        {"alice", "Alice Smith"}, {"bob", "Bob Jones"},         {"carol", "Carol White"},
        {"dave", "Dave Brown"},   {"mallory", "Mallory Black"},
    };
    for (size_t i = 0; i < 5; i++) {
        proto_account_t a = account(fx, want[i].id);
        assert_string_equal(a.name, want[i].name);
        assert_int_equal(a.balance_minor, 0); /* no money from nowhere: deposits fund them */
        assert_string_equal(a.owner, want[i].id);
        assert_string_equal(a.currency, "GBP");
    }
    assert_int_equal(account(fx, "funding").balance_minor, 0);
    /* the five, the EUR pair (issue 21), a settlement account per currency */
    assert_int_equal(count_of(fx, STORE_DB_ACCOUNTS), 5 + 2 + currency_count());
    assert_int_equal(ledger_len(fx), 2 * (5 + 2));
    assert_ledger_ok(fx);

    snapshot_t before = snapshot(fx, NULL);
    assert_int_equal(accounts_open_seed_demo(&fx->ctx), LEDGER_OK);
    snapshot_t after = snapshot(fx, NULL);
    assert_same(&before, &after);
    assert_int_equal(count_of(fx, STORE_DB_ACCOUNTS), 5 + 2 + currency_count());
}

static void test_seed_demo_does_nothing_when_accounts_exist(void **state)
{
    fx_t *fx = *state; /* alice and bob exist */
    assert_int_equal(accounts_open_seed_demo(&fx->ctx), LEDGER_OK);
    proto_account_t a;
    assert_int_equal(accounts_book_get(&fx->ctx, "mallory", &a), LEDGER_E_NOT_FOUND);
    /* alice, bob and the settlement accounts */
    assert_int_equal(count_of(fx, STORE_DB_ACCOUNTS), 2 + currency_count());
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup_alice_bob, teardown)

TEST_MAIN(T(test_open_moves_the_deposit_from_funding), T(test_open_with_zero_deposit),
          T(test_open_again_with_same_name_returns_the_account),
          T(test_open_conflicts_and_invalid_input),
          T(test_open_refuses_a_deposit_that_overflows_funding),
          T(test_open_stores_the_owner_and_the_reply_carries_it),
          T(test_open_refuses_another_owner_or_a_bad_one_and_writes_nothing),
          cmocka_unit_test_setup_teardown(test_ensure_funding_is_idempotent, setup, teardown),
          cmocka_unit_test_setup_teardown(test_seed_demo_opens_the_demo_accounts_once, setup,
                                          teardown),
          T(test_seed_demo_does_nothing_when_accounts_exist))

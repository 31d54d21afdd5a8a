/*  accounts_ownership_test.c: the checks of issue 18 in transfer.requested (accounts_saga.h):
    only the owner of `from` moves its money (forbidden_account, also for a message without a
    principal), the kind must match the settlement account (invalid_kind), deposits stop at
    deposit_max (deposit_too_large) and at the settlement limit (settlement_limit), and every
    decline writes nothing but the declined transfer and its message. Deposits and withdrawals
    run the whole saga. On the shared fixture (accounts_fixture.h): alice and bob, owned by the
    principals of their ids; "funding" is the GBP settlement account.
*/
#include "accounts_fixture.h"
#include "test_main.h"

/* A transfer.requested of `kind` asked by `principal`. */
static proto_msg_t ask(fx_t *fx, const char *transfer, proto_transfer_kind_t kind,
                       const char *principal, const char *from, const char *to,
                       int64_t amount_minor)
{
    proto_msg_t m = requested(fx, transfer, from, to, amount_minor, "GBP");
    m.body.transfer.kind = kind;
    snprintf(m.body.transfer.principal, sizeof m.body.transfer.principal, "%s", principal);
    return m;
}

/* Applies `m` with `limits` and expects a decline `code` that moved nothing. */
static void expect_decline_with(fx_t *fx, const proto_msg_t *m, const accounts_limits_t *limits,
                                const char *code)
{
    const char *transfer = m->body.transfer.transfer;
    snapshot_t before = snapshot(fx, NULL);
    assert_int_equal(accounts_saga_apply(&fx->ctx, m, limits, NULL, 0), LEDGER_OK);
    snapshot_t after = snapshot(fx, NULL);
    assert_int_equal(after.ledger, before.ledger); /* no ledger entry, no hold */
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(after.balance[i], before.balance[i]);
        assert_int_equal(after.held[i], before.held[i]);
    }
    accounts_transfer_t tr = transfer_state(fx, transfer);
    assert_int_equal(tr.state, ACCOUNTS_TRANSFER_DECLINED);
    assert_string_equal(tr.code, code);
    assert_int_equal(after.outbox, before.outbox + 1); /* only the decline, to the gateway */
    char peer[STORE_PEER_MAX + 1];
    proto_msg_t out = outbox_nth(fx, (size_t)before.outbox, peer);
    assert_string_equal(peer, NODE_PEER_GATEWAY);
    assert_int_equal(out.type, PROTO_TRANSFER_DECLINED);
    assert_string_equal(out.body.declined.code, code);
    assert_true(strlen(out.body.declined.reason) > 0);
    assert_ledger_ok(fx);
}

static void expect_decline(fx_t *fx, const proto_msg_t *m, const char *code)
{
    expect_decline_with(fx, m, NULL, code);
}

/* Applies `m` and expects it reserved: funds.reserved to fraud and the gateway, as sent. */
static void expect_reserved(fx_t *fx, const proto_msg_t *m, const accounts_limits_t *limits)
{
    snapshot_t before = snapshot(fx, NULL);
    assert_int_equal(accounts_saga_apply(&fx->ctx, m, limits, NULL, 0), LEDGER_OK);
    assert_int_equal(transfer_state(fx, m->body.transfer.transfer).state,
                     ACCOUNTS_TRANSFER_RESERVED);
    char peer[STORE_PEER_MAX + 1];
    proto_msg_t out = outbox_nth(fx, (size_t)before.outbox, peer);
    assert_string_equal(peer, NODE_PEER_FRAUD);
    assert_int_equal(out.type, PROTO_FUNDS_RESERVED);
    assert_string_equal(out.body.transfer.principal, m->body.transfer.principal);
    assert_int_equal(out.body.transfer.kind, m->body.transfer.kind);
}

static void test_a_principal_that_does_not_own_from_is_declined_forbidden_account(void **state)
{
    fx_t *fx = *state;
    proto_msg_t m = ask(fx, "t1", PROTO_TRANSFER_KIND_TRANSFER, "bob", "alice", "bob", 100);
    expect_decline(fx, &m, "forbidden_account");
    m = ask(fx, "t2", PROTO_TRANSFER_KIND_TRANSFER, "mallory", "alice", "bob", 100);
    expect_decline(fx, &m, "forbidden_account");
    m = ask(fx, "t3", PROTO_TRANSFER_KIND_WITHDRAWAL, "bob", "alice", "funding", 100);
    expect_decline(fx, &m, "forbidden_account");
    /* the owner itself passes the same check */
    m = ask(fx, "t4", PROTO_TRANSFER_KIND_TRANSFER, "alice", "alice", "bob", 100);
    expect_reserved(fx, &m, NULL);
}

static void test_a_message_without_a_principal_is_declined_forbidden_account(void **state)
{
    fx_t *fx = *state;
    /* a transfer.requested written before principals existed (decoded as principal "") */
    proto_msg_t m = ask(fx, "t1", PROTO_TRANSFER_KIND_TRANSFER, "", "alice", "bob", 100);
    expect_decline(fx, &m, "forbidden_account");
    m = ask(fx, "t2", PROTO_TRANSFER_KIND_DEPOSIT, "", "funding", "alice", 100);
    expect_decline(fx, &m, "forbidden_account");
}

static void test_a_kind_that_does_not_match_the_accounts_is_declined_invalid_kind(void **state)
{
    fx_t *fx = *state;
    static const struct {
        proto_transfer_kind_t kind;
        const char *principal, *from, *to;
    } cases[] = {
        {PROTO_TRANSFER_KIND_TRANSFER, "ops", "funding", "bob"},     /* money from outside */
        {PROTO_TRANSFER_KIND_TRANSFER, "alice", "alice", "funding"}, /* money out */
        {PROTO_TRANSFER_KIND_DEPOSIT, "ops", "alice", "bob"},        /* not from settlement */
        {PROTO_TRANSFER_KIND_DEPOSIT, "alice", "alice", "funding"},
        {PROTO_TRANSFER_KIND_WITHDRAWAL, "alice", "alice", "bob"}, /* not to settlement */
        {PROTO_TRANSFER_KIND_WITHDRAWAL, "ops", "funding", "alice"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char id[16];
        snprintf(id, sizeof id, "t%zu", i);
        proto_msg_t m =
            ask(fx, id, cases[i].kind, cases[i].principal, cases[i].from, cases[i].to, 100);
        expect_decline(fx, &m, "invalid_kind");
    }
    /* a currency without a settlement account cannot be deposited */
    proto_msg_t m = ask(fx, "t-eur", PROTO_TRANSFER_KIND_DEPOSIT, "ops", "funding", "alice", 100);
    snprintf(m.body.transfer.currency, sizeof m.body.transfer.currency, "EUR");
    expect_decline(fx, &m, "invalid_kind");
}

static void test_a_deposit_over_deposit_max_is_declined_deposit_too_large(void **state)
{
    fx_t *fx = *state;
    accounts_limits_t limits = accounts_saga_limits_default();
    limits.deposit_max_minor = 1000;
    proto_msg_t m = ask(fx, "t1", PROTO_TRANSFER_KIND_DEPOSIT, "ops", "funding", "alice", 1001);
    expect_decline_with(fx, &m, &limits, "deposit_too_large");
    m = ask(fx, "t2", PROTO_TRANSFER_KIND_DEPOSIT, "ops", "funding", "alice", 1000);
    expect_reserved(fx, &m, &limits);
    /* the default: 10^10 */
    m = ask(fx, "t3", PROTO_TRANSFER_KIND_DEPOSIT, "ops", "funding", "alice",
            ACCOUNTS_DEPOSIT_MAX_DEFAULT_MINOR + 1);
    expect_decline(fx, &m, "deposit_too_large");
}

static void test_deposits_past_the_settlement_limit_are_declined(void **state)
{
    fx_t *fx = *state;
    /* funding is at -(alice + bob deposits); let it go 500 further */
    accounts_limits_t limits = accounts_saga_limits_default();
    limits.settlement_limit_minor = ALICE_DEPOSIT + BOB_DEPOSIT + 500;
    proto_msg_t m = ask(fx, "t1", PROTO_TRANSFER_KIND_DEPOSIT, "ops", "funding", "alice", 501);
    expect_decline_with(fx, &m, &limits, "settlement_limit");
    m = ask(fx, "t2", PROTO_TRANSFER_KIND_DEPOSIT, "ops", "funding", "alice", 400);
    expect_reserved(fx, &m, &limits);
    /* the reserved deposit holds its amount on the settlement account: 100 are left */
    m = ask(fx, "t3", PROTO_TRANSFER_KIND_DEPOSIT, "ops", "funding", "bob", 101);
    expect_decline_with(fx, &m, &limits, "settlement_limit");
    m = ask(fx, "t4", PROTO_TRANSFER_KIND_DEPOSIT, "ops", "funding", "bob", 100);
    expect_reserved(fx, &m, &limits);
    assert_int_equal(account(fx, "funding").held_minor, 500);
}

/* fraud.approved for `transfer`; returns the transfer.settled it sent. */
static proto_msg_t settle(fx_t *fx, const char *transfer)
{
    uint64_t outbox = count_of(fx, STORE_DB_OUTBOX);
    proto_msg_t v = verdict(fx, PROTO_FRAUD_APPROVED, transfer);
    apply_ok(fx, &v);
    assert_int_equal(transfer_state(fx, transfer).state, ACCOUNTS_TRANSFER_SETTLED);
    char peer[STORE_PEER_MAX + 1];
    proto_msg_t out = outbox_nth(fx, (size_t)outbox, peer);
    assert_int_equal(out.type, PROTO_TRANSFER_SETTLED);
    return out;
}

static void test_a_deposit_and_a_withdrawal_run_the_saga_through_settlement(void **state)
{
    fx_t *fx = *state;
    int64_t funding = account(fx, "funding").balance_minor;
    proto_msg_t m = ask(fx, "dep1", PROTO_TRANSFER_KIND_DEPOSIT, "ops", "funding", "alice", 7000);
    expect_reserved(fx, &m, NULL);
    assert_int_equal(account(fx, "funding").held_minor, 7000);
    proto_msg_t out = settle(fx, "dep1");
    assert_int_equal(out.body.transfer.kind, PROTO_TRANSFER_KIND_DEPOSIT);
    assert_string_equal(out.body.transfer.principal, "ops");
    assert_int_equal(account(fx, "alice").balance_minor, ALICE_DEPOSIT + 7000);
    assert_int_equal(account(fx, "funding").balance_minor, funding - 7000);
    assert_int_equal(account(fx, "funding").held_minor, 0);

    m = ask(fx, "wd1", PROTO_TRANSFER_KIND_WITHDRAWAL, "alice", "alice", "funding",
            ALICE_DEPOSIT + 7001);
    expect_decline(fx, &m, "insufficient_funds");
    m = ask(fx, "wd2", PROTO_TRANSFER_KIND_WITHDRAWAL, "alice", "alice", "funding", 2000);
    expect_reserved(fx, &m, NULL);
    out = settle(fx, "wd2");
    assert_int_equal(out.body.transfer.kind, PROTO_TRANSFER_KIND_WITHDRAWAL);
    assert_string_equal(out.body.transfer.principal, "alice");
    assert_int_equal(account(fx, "alice").balance_minor, ALICE_DEPOSIT + 5000);
    assert_int_equal(account(fx, "funding").balance_minor, funding - 5000);
    assert_int_equal(balance_sum(fx), 0);
    assert_ledger_ok(fx);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup_alice_bob, teardown)

TEST_MAIN(T(test_a_principal_that_does_not_own_from_is_declined_forbidden_account),
          T(test_a_message_without_a_principal_is_declined_forbidden_account),
          T(test_a_kind_that_does_not_match_the_accounts_is_declined_invalid_kind),
          T(test_a_deposit_over_deposit_max_is_declined_deposit_too_large),
          T(test_deposits_past_the_settlement_limit_are_declined),
          T(test_a_deposit_and_a_withdrawal_run_the_saga_through_settlement))

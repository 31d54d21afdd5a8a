/*  accounts_open_currency_test.c: accounts in several currencies (issue 21,
    accounts_open.h): every table currency has its settlement account from
    the start, an account opens in any table currency with its deposit from
    that currency's settlement account, a currency not in the table is
    refused unknown_currency with nothing written, and the demo seed opens
    the EUR pair with the others (an older demo dir keeps what it has); a
    customer account under a settlement id from before stays one.
*/
#include "accounts_fixture.h"
#include "currency.h"
#include "test_main.h"

static void test_every_table_currency_has_its_settlement_account(void **state)
{
    fx_t *fx = *state;
    assert_int_equal(count_of(fx, STORE_DB_ACCOUNTS), currency_count());
    for (size_t i = 0; i < currency_count(); i++) {
        const char *code = currency_at(i)->code;
        proto_account_t a = account(fx, proto_settlement_id(code));
        assert_true(a.settlement);
        assert_string_equal(a.currency, code);
        assert_string_equal(a.owner, "");
        assert_int_equal(a.balance_minor, 0);
        assert_true(accounts_settlement_is(proto_settlement_id(code)));
    }
    assert_string_equal(account(fx, "funding").name, ACCOUNTS_FUNDING_NAME);
    assert_false(accounts_settlement_is("alice"));
    assert_int_equal(ledger_len(fx), 0); /* no entry of their creation */
    /* again: nothing changes */
    assert_int_equal(accounts_open_ensure_funding(&fx->ctx, NULL, 0, NULL), LEDGER_OK);
    assert_int_equal(count_of(fx, STORE_DB_ACCOUNTS), currency_count());
}

static void test_an_account_opens_in_a_table_currency_from_its_settlement_account(void **state)
{
    fx_t *fx = *state;
    accounts_open_result_t res;
    assert_int_equal(accounts_open_account(&fx->ctx, "erin-eur", "Erin", "EUR", "erin", 700, &res),
                     LEDGER_OK);
    assert_int_equal(res.status, 201);
    assert_string_equal(res.account.currency, "EUR");
    assert_int_equal(account(fx, "erin-eur").balance_minor, 700);
    assert_int_equal(account(fx, proto_settlement_id("EUR")).balance_minor, -700);
    assert_int_equal(account(fx, "funding").balance_minor, 0);
    store_ledger_report_t report;
    char why[256];
    assert_int_equal(accounts_verify_ledger(fx->txn, &report, why, sizeof why), LEDGER_OK);
    assert_true(report.ok);
}

static void test_a_currency_not_in_the_table_is_refused_and_writes_nothing(void **state)
{
    fx_t *fx = *state;
    uint64_t accounts = count_of(fx, STORE_DB_ACCOUNTS), entries = ledger_len(fx);
    static const char *const bad[] = {"XYZ", "eur", "", "EURO"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        accounts_open_result_t res;
        assert_int_equal(accounts_open_account(&fx->ctx, "erin", "Erin", bad[i], "erin", 100, &res),
                         LEDGER_OK);
        assert_int_equal(res.status, 400);
        assert_string_equal(res.code, "unknown_currency");
    }
    accounts_open_result_t res;
    assert_int_equal(
        accounts_open_account(&fx->ctx, proto_settlement_id("EUR"), "Mine", "EUR", "erin", 0, &res),
        LEDGER_OK);
    assert_int_equal(res.status, 409); /* a settlement account's id */
    assert_int_equal(count_of(fx, STORE_DB_ACCOUNTS), accounts);
    assert_int_equal(ledger_len(fx), entries);
}

static void test_the_demo_seed_opens_the_eur_pair_with_the_others(void **state)
{
    fx_t *fx = *state;
    assert_int_equal(accounts_open_seed_demo(&fx->ctx), LEDGER_OK);
    proto_account_t a = account(fx, "alice-eur"), b = account(fx, "bob-eur");
    assert_string_equal(a.name, "Alice Smith (EUR)");
    assert_string_equal(a.owner, "alice");
    assert_string_equal(a.currency, "EUR");
    assert_string_equal(b.name, "Bob Jones (EUR)");
    assert_string_equal(b.owner, "bob");
    assert_int_equal(a.balance_minor + b.balance_minor, 0);
    assert_int_equal(account(fx, proto_settlement_id("EUR")).balance_minor, 0);
    uint64_t accounts = count_of(fx, STORE_DB_ACCOUNTS), entries = ledger_len(fx);
    assert_int_equal(accounts_open_seed_demo(&fx->ctx), LEDGER_OK); /* idempotent */
    assert_int_equal(count_of(fx, STORE_DB_ACCOUNTS), accounts);
    assert_int_equal(ledger_len(fx), entries);
}

static void test_an_older_demo_dir_keeps_its_accounts_as_they_are(void **state)
{
    fx_t *fx = *state;
    open_account(fx, "alice", "Alice Smith", 0); /* a demo dir from before: alice exists */
    uint64_t entries = ledger_len(fx);
    assert_int_equal(accounts_open_seed_demo(&fx->ctx), LEDGER_OK);
    proto_account_t none;
    assert_int_equal(accounts_book_get(&fx->ctx, "alice-eur", &none), LEDGER_E_NOT_FOUND);
    assert_int_equal(ledger_len(fx), entries);
}

/*  A data dir from before issue 21 may have a customer's account under a settlement id of a
    currency added since ("funding-eur", any id was free then). The start leaves it as it is,
    an ordinary account, and names EUR as without a settlement account; opening an account
    and depositing in EUR are refused with a clear reason, nothing else changes. */
static void test_a_customer_account_with_a_settlement_id_stays_a_customer_account(void **state)
{
    fx_t *fx = *state;
    const char *taken = proto_settlement_id("EUR");
    assert_int_equal(store_del(fx->txn, STORE_DB_ACCOUNTS, taken, strlen(taken)), LEDGER_OK);
    accounts_record_t old = {.currency = "GBP", .created_ms = T0_MS};
    strcpy(old.id, taken);
    strcpy(old.name, "Opened before EUR");
    strcpy(old.owner, taken);
    assert_int_equal(accounts_record_put(fx->txn, &old), LEDGER_OK);

    const char *unavailable[8];
    size_t n = 9;
    assert_int_equal(accounts_open_ensure_funding(&fx->ctx, unavailable, 8, &n), LEDGER_OK);
    assert_int_equal(n, 1);
    assert_string_equal(unavailable[0], "EUR");
    assert_false(account(fx, taken).settlement);

    /* GBP in and out of it: an ordinary account */
    proto_msg_t in = requested(fx, "t-in", "alice", taken, 500, "GBP");
    apply_ok(fx, &in);
    proto_msg_t ok = verdict(fx, PROTO_FRAUD_APPROVED, "t-in");
    apply_ok(fx, &ok);
    assert_int_equal(transfer_state(fx, "t-in").state, ACCOUNTS_TRANSFER_SETTLED);
    proto_msg_t out = requested(fx, "t-out", taken, "bob", 100, "GBP");
    apply_ok(fx, &out);
    assert_int_equal(transfer_state(fx, "t-out").state, ACCOUNTS_TRANSFER_RESERVED);

    /* EUR has no settlement account: no account opens, no deposit comes in */
    uint64_t accounts = count_of(fx, STORE_DB_ACCOUNTS), entries = ledger_len(fx);
    accounts_open_result_t res;
    assert_int_equal(accounts_open_account(&fx->ctx, "erin-eur", "Erin", "EUR", "erin", 0, &res),
                     LEDGER_OK);
    assert_int_equal(res.status, 409);
    assert_string_equal(res.code, ACCOUNTS_SETTLEMENT_UNAVAILABLE);
    assert_int_equal(count_of(fx, STORE_DB_ACCOUNTS), accounts);
    assert_int_equal(ledger_len(fx), entries);
    proto_msg_t deposit = requested(fx, "t-dep", taken, "bob", 100, "EUR");
    deposit.body.transfer.kind = PROTO_TRANSFER_KIND_DEPOSIT;
    strcpy(deposit.body.transfer.principal, "ops");
    apply_ok(fx, &deposit);
    accounts_transfer_t tr = transfer_state(fx, "t-dep");
    assert_int_equal(tr.state, ACCOUNTS_TRANSFER_DECLINED);
    assert_string_equal(tr.code, "invalid_kind");
    assert_int_equal(ledger_len(fx), entries);
    assert_int_equal(balance_sum(fx), 0);
    assert_ledger_ok(fx);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

TEST_MAIN(T(test_every_table_currency_has_its_settlement_account),
          T(test_an_account_opens_in_a_table_currency_from_its_settlement_account),
          T(test_a_currency_not_in_the_table_is_refused_and_writes_nothing),
          T(test_the_demo_seed_opens_the_eur_pair_with_the_others),
          T(test_an_older_demo_dir_keeps_its_accounts_as_they_are),
          cmocka_unit_test_setup_teardown(
              test_a_customer_account_with_a_settlement_id_stays_a_customer_account,
              setup_alice_bob, teardown))

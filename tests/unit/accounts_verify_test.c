/*  accounts_verify_test.c: the integrity check (accounts_verify.h): a ledger built by many
    transfers verifies, and a rewritten balance, hold or chain head, or an
    account missing from the ledger, is found and named. On the shared
    fixture (accounts_fixture.h).
*/
#include "accounts_fixture.h"
#include "test_main.h"

/* The ledger check runs and finds the ledger broken, naming alice; returns its report. */
static store_ledger_report_t verify_fails_on_alice(fx_t *fx)
{
    store_ledger_report_t report;
    char why[256];
    assert_int_equal(accounts_verify_ledger(fx->txn, &report, why, sizeof why), LEDGER_OK);
    assert_false(report.ok);
    assert_non_null(strstr(why, "alice"));
    return report;
}

static void test_ledger_verifies_after_a_sequence_of_transfers(void **state)
{
    fx_t *fx = *state;
    open_account(fx, "carol", "Carol White", 500000);
    char id[16];
    for (int i = 0; i < 30; i++) {
        static const char *const who[3] = {"alice", "bob", "carol"};
        snprintf(id, sizeof id, "t%d", i);
        fx->ctx.now_ms = T0_MS + (uint64_t)i * 10;
        proto_msg_t req = requested(fx, id, who[i % 3], who[(i + 1) % 3], 1000 + i * 37, "GBP");
        apply_ok(fx, &req);
        if (i % 4 == 3)
            continue; /* left reserved */
        proto_msg_t v = verdict(fx, i % 4 == 2 ? PROTO_FRAUD_REJECTED : PROTO_FRAUD_APPROVED, id);
        apply_ok(fx, &v);
    }
    proto_msg_t big = requested(fx, "too_big", "bob", "alice", 10000000, "GBP");
    apply_ok(fx, &big); /* declined: touches nothing */
    assert_ledger_ok(fx);
    assert_int_equal(balance_sum(fx), 0);
    store_ledger_report_t report;
    assert_int_equal(accounts_verify_ledger(fx->txn, &report, NULL, 0), LEDGER_OK);
    assert_true(report.ok);
    assert_int_equal(report.entries, ledger_len(fx));
    assert_int_equal(report.balance_sum_minor, 0);
}

/* Rewrites alice's stored record with a balance, hold or chain head off by the deltas. */
static void tamper_alice_head(fx_t *fx, int64_t balance_delta, int64_t held_delta,
                              uint64_t ledger_seq)
{
    accounts_record_t rec;
    assert_int_equal(accounts_record_get(fx->txn, "alice", &rec), LEDGER_OK);
    rec.balance_minor += balance_delta;
    rec.held_minor += held_delta;
    if (ledger_seq != UINT64_MAX)
        rec.ledger_seq = ledger_seq;
    uint8_t buf[ACCOUNTS_RECORD_MAX_BYTES];
    size_t len;
    assert_int_equal(accounts_record_encode(&rec, buf, sizeof buf, &len), LEDGER_OK);
    assert_int_equal(store_put(fx->txn, STORE_DB_ACCOUNTS, "alice", 5, buf, len, 0), LEDGER_OK);
}

static void tamper_alice(fx_t *fx, int64_t balance_delta, int64_t held_delta)
{
    tamper_alice_head(fx, balance_delta, held_delta, UINT64_MAX);
}

static void test_check_ledger_detects_a_record_naming_another_newest_entry(void **state)
{
    fx_t *fx = *state;
    proto_msg_t req = requested(fx, "t1", "alice", "bob", 10000, "GBP");
    apply_ok(fx, &req);
    assert_ledger_ok(fx);
    store_ledger_entry_t alices = newest_entry(fx, "alice"), bobs = newest_entry(fx, "bob");
    /* An older entry of alice's (her opening), then bob's entry, then none at all. */
    const uint64_t heads[] = {alices.account_prev_seq, bobs.seq, 0};
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++) {
        tamper_alice_head(fx, 0, 0, heads[i]);
        (void)verify_fails_on_alice(fx);
    }
    tamper_alice_head(fx, 0, 0, alices.seq);
    assert_ledger_ok(fx);
}

static void test_check_ledger_detects_a_rewritten_balance(void **state)
{
    fx_t *fx = *state;
    proto_msg_t req = requested(fx, "t1", "alice", "bob", 10000, "GBP");
    apply_ok(fx, &req);
    assert_ledger_ok(fx);
    tamper_alice(fx, 1, 0);
    store_ledger_report_t report = verify_fails_on_alice(fx);
    assert_non_null(strstr(report.problem, "alice"));
}

static void test_check_ledger_detects_a_rewritten_hold(void **state)
{
    fx_t *fx = *state;
    tamper_alice(fx, 0, 5);
    (void)verify_fails_on_alice(fx);
}

static void test_check_ledger_detects_an_account_missing_from_the_ledger(void **state)
{
    fx_t *fx = *state;
    accounts_record_t rec;
    memset(&rec, 0, sizeof rec);
    snprintf(rec.id, sizeof rec.id, "ghost");
    snprintf(rec.name, sizeof rec.name, "Ghost");
    snprintf(rec.currency, sizeof rec.currency, "GBP");
    rec.balance_minor = 500;
    uint8_t buf[ACCOUNTS_RECORD_MAX_BYTES];
    size_t len;
    assert_int_equal(accounts_record_encode(&rec, buf, sizeof buf, &len), LEDGER_OK);
    assert_int_equal(store_put(fx->txn, STORE_DB_ACCOUNTS, "ghost", 5, buf, len, 0), LEDGER_OK);
    store_ledger_report_t report;
    char why[256];
    assert_int_equal(accounts_verify_ledger(fx->txn, &report, why, sizeof why), LEDGER_OK);
    assert_false(report.ok);
    assert_non_null(strstr(why, "ghost"));
}

/*  A consistent, hash-chained move of `amount_minor` from `from` to `to` written past the saga
    (as a bug or a forged write would): both records and both entries agree, so only the rules
    of money can catch what it breaks. */
static void book_move(fx_t *fx, accounts_record_t *from, accounts_record_t *to,
                      int64_t amount_minor)
{
    from->balance_minor -= amount_minor;
    to->balance_minor += amount_minor;
    assert_int_equal(accounts_book_append(&fx->ctx, from, "forged", "debit", -amount_minor, 0),
                     LEDGER_OK);
    assert_int_equal(accounts_book_save(&fx->ctx, from, false), LEDGER_OK);
    assert_int_equal(accounts_book_append(&fx->ctx, to, "forged", "credit", amount_minor, 0),
                     LEDGER_OK);
    assert_int_equal(accounts_book_save(&fx->ctx, to, to->ledger_seq == 0), LEDGER_OK);
}

static store_ledger_report_t verify_fails(fx_t *fx, const char *words)
{
    store_ledger_report_t report;
    char why[256];
    assert_int_equal(accounts_verify_ledger(fx->txn, &report, why, sizeof why), LEDGER_OK);
    assert_false(report.ok);
    if (!strstr(why, words))
        fail_msg("expected \"%s\" in: %s", words, why);
    return report;
}

static void test_check_ledger_detects_a_customer_account_below_zero(void **state)
{
    fx_t *fx = *state;
    accounts_record_t alice, bob;
    assert_int_equal(accounts_book_load(&fx->ctx, "alice", &alice), LEDGER_OK);
    assert_int_equal(accounts_book_load(&fx->ctx, "bob", &bob), LEDGER_OK);
    book_move(fx, &alice, &bob, ALICE_DEPOSIT);
    assert_ledger_ok(fx); /* exactly zero is allowed */
    book_move(fx, &alice, &bob, 1);
    verify_fails(fx, "account 'alice' is not a settlement account but its available balance is "
                     "-1 - 0, below its overdraft limit of 0");
    /* the settlement account may be below zero: it is at -(alice + bob) already */
    assert_true(account(fx, "funding").balance_minor < 0);
}

static void test_check_ledger_detects_money_moved_across_currencies(void **state)
{
    fx_t *fx = *state;
    accounts_record_t alice, euro;
    assert_int_equal(accounts_book_load(&fx->ctx, "alice", &alice), LEDGER_OK);
    memset(&euro, 0, sizeof euro);
    snprintf(euro.id, sizeof euro.id, "euro");
    snprintf(euro.name, sizeof euro.name, "Euro");
    snprintf(euro.currency, sizeof euro.currency, "EUR");
    snprintf(euro.owner, sizeof euro.owner, "alice");
    /* all balances still sum to 0; each currency's do not */
    book_move(fx, &alice, &euro, 500);
    store_ledger_report_t report = verify_fails(fx, "balances in the ledger sum to");
    assert_int_equal(report.balance_sum_minor, 0);
    assert_non_null(strstr(report.problem, "sum to -500") ? report.problem
                                                          : strstr(report.problem, "sum to 500"));
}

static void test_an_overdraft_lets_an_account_go_below_zero_down_to_its_limit(void **state)
{
    fx_t *fx = *state;
    accounts_record_t alice, bob;
    assert_int_equal(accounts_book_load(&fx->ctx, "alice", &alice), LEDGER_OK);
    assert_int_equal(accounts_book_load(&fx->ctx, "bob", &bob), LEDGER_OK);
    alice.overdraft_limit_minor = 300;
    book_move(fx, &alice, &bob, ALICE_DEPOSIT + 300);
    assert_int_equal(accounts_record_put(fx->txn, &alice), LEDGER_OK);
    assert_ledger_ok(fx); /* -300 with an overdraft of 300 */
    alice.overdraft_limit_minor = 299;
    assert_int_equal(accounts_record_put(fx->txn, &alice), LEDGER_OK);
    verify_fails(fx, "below its overdraft limit of 299");
}

static void test_verify_lists_each_currency_sum(void **state)
{
    fx_t *fx = *state;
    store_ledger_report_t report;
    accounts_verify_sums_t sums;
    char why[256];
    assert_int_equal(accounts_verify_ledger_sums(fx->txn, &report, &sums, why, sizeof why),
                     LEDGER_OK);
    assert_true(report.ok);
    assert_int_equal(sums.count, 1);
    assert_string_equal(sums.items[0].currency, "GBP");
    assert_true(sums.items[0].fits && sums.items[0].sum_minor == 0);

    accounts_record_t alice, euro;
    assert_int_equal(accounts_book_load(&fx->ctx, "alice", &alice), LEDGER_OK);
    memset(&euro, 0, sizeof euro);
    snprintf(euro.id, sizeof euro.id, "euro");
    snprintf(euro.name, sizeof euro.name, "Euro");
    snprintf(euro.currency, sizeof euro.currency, "EUR");
    snprintf(euro.owner, sizeof euro.owner, "alice");
    book_move(fx, &alice, &euro, 500);
    assert_int_equal(accounts_verify_ledger_sums(fx->txn, &report, &sums, why, sizeof why),
                     LEDGER_OK);
    assert_false(report.ok);
    assert_int_equal(sums.count, 2);
    assert_string_equal(sums.items[1].currency, "EUR");
    assert_int_equal(sums.items[0].sum_minor, -500);
    assert_int_equal(sums.items[1].sum_minor, 500);
}

/*  accounts_verify_chunk until done, `chunk` entries a step (in the fixture's one transaction:
    the walk carries its position, hash and sums between steps); the steps it took. */
static int verify_chunked(fx_t *fx, uint64_t chunk, store_ledger_report_t *report, char *why,
                          size_t why_size)
{
    store_ledger_walk_t *walk = NULL;
    assert_int_equal(store_ledger_walk_new(&walk), LEDGER_OK);
    bool done = false;
    int steps = 0;
    while (!done) {
        assert_int_equal(accounts_verify_chunk(fx->txn, walk, chunk, &done, report, why, why_size),
                         LEDGER_OK);
        steps++;
    }
    store_ledger_walk_destroy(&walk);
    return steps;
}

static void test_a_chunked_verify_finds_what_the_one_shot_verify_finds(void **state)
{
    fx_t *fx = *state;
    char id[16];
    for (int i = 0; i < 12; i++) {
        snprintf(id, sizeof id, "t%d", i);
        proto_msg_t req =
            requested(fx, id, i % 2 ? "alice" : "bob", i % 2 ? "bob" : "alice", 100 + i, "GBP");
        apply_ok(fx, &req);
        proto_msg_t v = verdict(fx, PROTO_FRAUD_APPROVED, id);
        apply_ok(fx, &v);
    }
    store_ledger_report_t one, chunked;
    char why_one[256], why_chunked[256];
    assert_int_equal(accounts_verify_ledger(fx->txn, &one, why_one, sizeof why_one), LEDGER_OK);
    assert_true(one.ok);
    int steps = verify_chunked(fx, 5, &chunked, why_chunked, sizeof why_chunked);
    assert_memory_equal(&chunked, &one, sizeof one);
    assert_true(steps >= (int)(one.entries / 5));
    tamper_alice(fx, 1, 0); /* found at the end, in the last chunk's transaction */
    assert_int_equal(accounts_verify_ledger(fx->txn, &one, why_one, sizeof why_one), LEDGER_OK);
    (void)verify_chunked(fx, 5, &chunked, why_chunked, sizeof why_chunked);
    assert_false(chunked.ok);
    assert_memory_equal(&chunked, &one, sizeof one);
    assert_string_equal(why_chunked, why_one);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup_alice_bob, teardown)

TEST_MAIN(T(test_ledger_verifies_after_a_sequence_of_transfers),
          T(test_check_ledger_detects_a_rewritten_balance),
          T(test_check_ledger_detects_a_rewritten_hold),
          T(test_check_ledger_detects_a_record_naming_another_newest_entry),
          T(test_check_ledger_detects_an_account_missing_from_the_ledger),
          T(test_check_ledger_detects_a_customer_account_below_zero),
          T(test_check_ledger_detects_money_moved_across_currencies),
          T(test_an_overdraft_lets_an_account_go_below_zero_down_to_its_limit),
          T(test_verify_lists_each_currency_sum),
          T(test_a_chunked_verify_finds_what_the_one_shot_verify_finds))

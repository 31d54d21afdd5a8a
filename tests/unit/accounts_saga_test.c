/*  accounts_saga_test.c: the accounts side of the saga (accounts_saga.h): transfer.requested,
    the declines, the fraud verdicts, the saga guard against replays, money
    conserved, and message types the handlers refuse. Driven without
    sockets on the shared fixture (accounts_fixture.h).
*/
#include "accounts_fixture.h"
#include "test_main.h"

/* --- transfer.requested ---------------------------------------------------- */

static void test_requested_places_hold_and_emits_funds_reserved(void **state)
{
    fx_t *fx = *state;
    uint64_t ledger_before = ledger_len(fx);
    proto_msg_t m = requested(fx, "t1", "alice", "bob", 10000, "GBP");
    apply_ok(fx, &m);

    proto_account_t alice = account(fx, "alice"), bob = account(fx, "bob");
    assert_int_equal(alice.balance_minor, ALICE_DEPOSIT);
    assert_int_equal(alice.held_minor, 10000);
    assert_int_equal(bob.balance_minor, BOB_DEPOSIT);
    assert_int_equal(bob.held_minor, 0);

    accounts_transfer_t tr = transfer_state(fx, "t1");
    assert_int_equal(tr.state, ACCOUNTS_TRANSFER_RESERVED);
    assert_string_equal(tr.from, "alice");
    assert_string_equal(tr.to, "bob");
    assert_int_equal(tr.amount_minor, 10000);
    assert_string_equal(tr.currency, "GBP");
    assert_string_equal(tr.reference, "ref t1");

    assert_int_equal(ledger_len(fx), ledger_before + 1);
    store_ledger_entry_t e = newest_entry(fx, "alice");
    assert_string_equal(e.kind, "hold");
    assert_string_equal(e.transfer, "t1");
    assert_int_equal(e.balance_delta_minor, 0);
    assert_int_equal(e.held_delta_minor, 10000);
    assert_int_equal(e.balance_after_minor, ALICE_DEPOSIT);
    assert_int_equal(e.held_after_minor, 10000);
    assert_int_equal(e.ts_ms, T0_MS);

    assert_int_equal(count_of(fx, STORE_DB_OUTBOX), 2);
    char peer[STORE_PEER_MAX + 1], cause[PROTO_ID_MAX + 1];
    proto_msg_id(&m, cause);
    const char *want_peers[2] = {NODE_PEER_FRAUD, NODE_PEER_GATEWAY};
    for (size_t i = 0; i < 2; i++) {
        proto_msg_t out = outbox_nth(fx, i, peer);
        assert_string_equal(peer, want_peers[i]);
        assert_int_equal(out.type, PROTO_FUNDS_RESERVED);
        assert_string_equal(out.corr, "t1");
        assert_string_equal(out.origin, "accounts");
        assert_string_equal(out.cause, cause);
        assert_string_equal(out.body.transfer.transfer, "t1");
        assert_string_equal(out.body.transfer.from, "alice");
        assert_string_equal(out.body.transfer.to, "bob");
        assert_int_equal(out.body.transfer.amount_minor, 10000);
        assert_string_equal(out.body.transfer.reference, "ref t1");
    }
    assert_int_equal(fx->ctx.published_count, 1);
    assert_ledger_ok(fx);
}

static void test_holds_reduce_available_for_the_next_transfer(void **state)
{
    fx_t *fx = *state;
    proto_msg_t m1 = requested(fx, "t1", "alice", "bob", 60000, "GBP");
    apply_ok(fx, &m1);
    /* available is now 400.00: 500.00 must be declined, 400.00 accepted */
    proto_msg_t m2 = requested(fx, "t2", "alice", "bob", 50000, "GBP");
    apply_ok(fx, &m2);
    assert_int_equal(transfer_state(fx, "t2").state, ACCOUNTS_TRANSFER_DECLINED);
    assert_string_equal(transfer_state(fx, "t2").code, "insufficient_funds");
    proto_msg_t m3 = requested(fx, "t3", "alice", "bob", 40000, "GBP");
    apply_ok(fx, &m3);
    assert_int_equal(transfer_state(fx, "t3").state, ACCOUNTS_TRANSFER_RESERVED);
    assert_int_equal(account(fx, "alice").held_minor, 100000);
}

/* Applies `m`, expects a decline with `code`, and checks that no money moved. */
static void expect_decline(fx_t *fx, const proto_msg_t *m, const char *code)
{
    const char *transfer = m->body.transfer.transfer;
    snapshot_t before = snapshot(fx, NULL);
    apply_ok(fx, m);
    snapshot_t after = snapshot(fx, NULL);
    assert_int_equal(after.ledger, before.ledger); /* no ledger entry */
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(after.balance[i], before.balance[i]);
        assert_int_equal(after.held[i], before.held[i]);
    }
    accounts_transfer_t tr = transfer_state(fx, transfer);
    assert_int_equal(tr.state, ACCOUNTS_TRANSFER_DECLINED);
    assert_string_equal(tr.code, code);

    assert_int_equal(after.outbox, before.outbox + 1);
    char peer[STORE_PEER_MAX + 1];
    proto_msg_t out = outbox_nth(fx, (size_t)before.outbox, peer);
    assert_string_equal(peer, NODE_PEER_GATEWAY);
    assert_int_equal(out.type, PROTO_TRANSFER_DECLINED);
    assert_string_equal(out.corr, transfer);
    assert_string_equal(out.body.declined.transfer, transfer);
    assert_string_equal(out.body.declined.code, code);
    assert_true(strlen(out.body.declined.reason) > 0);
}

static void test_decline_same_account(void **state)
{
    fx_t *fx = *state;
    proto_msg_t m = requested(fx, "t1", "alice", "alice", 100, "GBP");
    expect_decline(fx, &m, "same_account");
}

static void test_decline_unknown_source_account(void **state)
{
    fx_t *fx = *state;
    proto_msg_t m = requested(fx, "t1", "zed", "bob", 100, "GBP");
    expect_decline(fx, &m, "unknown_account");
}

static void test_decline_unknown_destination_account(void **state)
{
    fx_t *fx = *state;
    proto_msg_t m = requested(fx, "t1", "alice", "Not An Id!", 100, "GBP");
    expect_decline(fx, &m, "unknown_account");
}

static void test_decline_currency_mismatch(void **state)
{
    fx_t *fx = *state;
    proto_msg_t m = requested(fx, "t1", "alice", "bob", 100, "EUR");
    expect_decline(fx, &m, "currency_mismatch");
}

static void test_decline_insufficient_funds(void **state)
{
    fx_t *fx = *state;
    proto_msg_t m = requested(fx, "t1", "bob", "alice", BOB_DEPOSIT + 1, "GBP");
    expect_decline(fx, &m, "insufficient_funds");
    /* exactly the available amount is fine */
    proto_msg_t ok = requested(fx, "t2", "bob", "alice", BOB_DEPOSIT, "GBP");
    apply_ok(fx, &ok);
    assert_int_equal(transfer_state(fx, "t2").state, ACCOUNTS_TRANSFER_RESERVED);
}

/*  All balances sum to 0 and the funding account cannot go below INT64_MIN,
    so a credit can overflow only at that edge: everything in two accounts. */
static void test_decline_amount_overflow_of_destination(void **state)
{
    fx_t *fx = *state; /* only the funding account */
    open_account(fx, "carol", "Carol White", INT64_MAX - 9);
    open_account(fx, "alice", "Alice Smith", 10);
    assert_true(account(fx, "funding").balance_minor == INT64_MIN);
    proto_msg_t m = requested(fx, "t1", "alice", "carol", 10, "GBP");
    expect_decline(fx, &m, "amount_overflow");
    assert_ledger_ok(fx);
    proto_msg_t ok = requested(fx, "t2", "alice", "carol", 9, "GBP");
    apply_ok(fx, &ok);
    assert_int_equal(transfer_state(fx, "t2").state, ACCOUNTS_TRANSFER_RESERVED);
}

/* proto never lets amount <= 0 through; the handler does not rely on it. */
static void test_decline_invalid_amount(void **state)
{
    fx_t *fx = *state;
    proto_msg_t m = requested(fx, "t1", "alice", "bob", 0, "GBP");
    expect_decline(fx, &m, "invalid_amount");
}

/* --- fraud verdicts -------------------------------------------------------- */

static void test_approved_settles_debit_and_credit(void **state)
{
    fx_t *fx = *state;
    proto_msg_t req = requested(fx, "t1", "alice", "bob", 10000, "GBP");
    apply_ok(fx, &req);
    uint64_t ledger_before = ledger_len(fx);
    fx->ctx.now_ms = T0_MS + 5;
    proto_msg_t ok = verdict(fx, PROTO_FRAUD_APPROVED, "t1");
    apply_ok(fx, &ok);

    proto_account_t alice = account(fx, "alice"), bob = account(fx, "bob");
    assert_int_equal(alice.balance_minor, ALICE_DEPOSIT - 10000);
    assert_int_equal(alice.held_minor, 0);
    assert_int_equal(bob.balance_minor, BOB_DEPOSIT + 10000);
    assert_int_equal(bob.held_minor, 0);
    assert_int_equal(transfer_state(fx, "t1").state, ACCOUNTS_TRANSFER_SETTLED);

    assert_int_equal(ledger_len(fx), ledger_before + 2);
    store_ledger_entry_t debit = newest_entry(fx, "alice"), credit = newest_entry(fx, "bob");
    assert_string_equal(debit.kind, "debit");
    assert_int_equal(debit.balance_delta_minor, -10000);
    assert_int_equal(debit.held_delta_minor, -10000);
    assert_int_equal(debit.balance_after_minor, ALICE_DEPOSIT - 10000);
    assert_int_equal(debit.held_after_minor, 0);
    assert_int_equal(debit.ts_ms, T0_MS + 5);
    assert_string_equal(credit.kind, "credit");
    assert_string_equal(credit.transfer, "t1");
    assert_int_equal(credit.balance_delta_minor, 10000);
    assert_int_equal(credit.held_delta_minor, 0);
    assert_int_equal(credit.balance_after_minor, BOB_DEPOSIT + 10000);
    assert_int_equal(debit.balance_delta_minor + credit.balance_delta_minor, 0);

    assert_int_equal(count_of(fx, STORE_DB_OUTBOX), 3);
    char peer[STORE_PEER_MAX + 1], cause[PROTO_ID_MAX + 1];
    proto_msg_id(&ok, cause);
    proto_msg_t out = outbox_nth(fx, 2, peer);
    assert_string_equal(peer, NODE_PEER_GATEWAY);
    assert_int_equal(out.type, PROTO_TRANSFER_SETTLED);
    assert_string_equal(out.corr, "t1");
    assert_string_equal(out.cause, cause);
    assert_string_equal(out.body.transfer.from, "alice");
    assert_string_equal(out.body.transfer.to, "bob");
    assert_int_equal(out.body.transfer.amount_minor, 10000);
    assert_string_equal(out.body.transfer.currency, "GBP");
    assert_string_equal(out.body.transfer.reference, "ref t1");
    assert_ledger_ok(fx);
}

static void test_rejected_releases_the_hold(void **state)
{
    fx_t *fx = *state;
    proto_msg_t req = requested(fx, "t1", "alice", "bob", 10000, "GBP");
    apply_ok(fx, &req);
    proto_msg_t no = verdict(fx, PROTO_FRAUD_REJECTED, "t1");
    apply_ok(fx, &no);

    proto_account_t alice = account(fx, "alice"), bob = account(fx, "bob");
    assert_int_equal(alice.balance_minor, ALICE_DEPOSIT);
    assert_int_equal(alice.held_minor, 0);
    assert_int_equal(bob.balance_minor, BOB_DEPOSIT);
    assert_int_equal(transfer_state(fx, "t1").state, ACCOUNTS_TRANSFER_RELEASED);

    store_ledger_entry_t e = newest_entry(fx, "alice");
    assert_string_equal(e.kind, "release");
    assert_int_equal(e.balance_delta_minor, 0);
    assert_int_equal(e.held_delta_minor, -10000);
    assert_int_equal(e.held_after_minor, 0);
    assert_string_equal(newest_entry(fx, "bob").kind, "open"); /* bob untouched */

    assert_int_equal(count_of(fx, STORE_DB_OUTBOX), 3);
    char peer[STORE_PEER_MAX + 1];
    proto_msg_t out = outbox_nth(fx, 2, peer);
    assert_string_equal(peer, NODE_PEER_GATEWAY);
    assert_int_equal(out.type, PROTO_TRANSFER_REJECTED_FRAUD);
    assert_string_equal(out.body.verdict.transfer, "t1");
    assert_int_equal(out.body.verdict.rule_count, 2);
    assert_string_equal(out.body.verdict.rules[0], "amount_over_threshold");
    assert_string_equal(out.body.verdict.rules[1], "velocity_count");
    assert_string_equal(out.body.verdict.reason, "amount 1500.00 above limit");
    assert_ledger_ok(fx);
}

static void test_verdict_for_unknown_transfer_changes_nothing(void **state)
{
    fx_t *fx = *state;
    snapshot_t before = snapshot(fx, "nope");
    proto_msg_t ok = verdict(fx, PROTO_FRAUD_APPROVED, "nope");
    apply_ok(fx, &ok);
    proto_msg_t no = verdict(fx, PROTO_FRAUD_REJECTED, "nope");
    apply_ok(fx, &no);
    snapshot_t after = snapshot(fx, "nope");
    assert_same(&before, &after);
    accounts_transfer_t tr;
    assert_int_equal(accounts_record_transfer_get(fx->txn, "nope", &tr), LEDGER_E_NOT_FOUND);
}

/* --- replays and steps a transfer is past ---------------------------------- */

/* Applies `m` again and checks that nothing at all changed. */
static void expect_no_change(fx_t *fx, const proto_msg_t *m, const char *transfer)
{
    snapshot_t before = snapshot(fx, transfer);
    size_t published = fx->ctx.published_count;
    fx->ctx.now_ms += 1000; /* a later time would show in any rewritten record */
    apply_ok(fx, m);
    snapshot_t after = snapshot(fx, transfer);
    assert_same(&before, &after);
    assert_int_equal(fx->ctx.published_count, published);
}

static void test_replayed_requested_changes_nothing(void **state)
{
    fx_t *fx = *state;
    proto_msg_t m = requested(fx, "t1", "alice", "bob", 10000, "GBP");
    apply_ok(fx, &m);
    expect_no_change(fx, &m, "t1");
    /* a new message (new id) for the same transfer is guarded the same way */
    proto_msg_t again = requested(fx, "t1", "alice", "bob", 10000, "GBP");
    expect_no_change(fx, &again, "t1");
    assert_int_equal(account(fx, "alice").held_minor, 10000);
}

static void test_replayed_declined_request_changes_nothing(void **state)
{
    fx_t *fx = *state;
    proto_msg_t m = requested(fx, "t1", "alice", "bob", ALICE_DEPOSIT + 1, "GBP");
    apply_ok(fx, &m);
    expect_no_change(fx, &m, "t1");
    /* even once alice could afford a smaller amount under the same id */
    proto_msg_t smaller = requested(fx, "t1", "alice", "bob", 100, "GBP");
    expect_no_change(fx, &smaller, "t1");
}

static void test_replayed_approved_changes_nothing(void **state)
{
    fx_t *fx = *state;
    proto_msg_t req = requested(fx, "t1", "alice", "bob", 10000, "GBP");
    apply_ok(fx, &req);
    proto_msg_t ok = verdict(fx, PROTO_FRAUD_APPROVED, "t1");
    apply_ok(fx, &ok);
    expect_no_change(fx, &ok, "t1");
    assert_int_equal(account(fx, "bob").balance_minor, BOB_DEPOSIT + 10000);
}

static void test_replayed_rejected_changes_nothing(void **state)
{
    fx_t *fx = *state;
    proto_msg_t req = requested(fx, "t1", "alice", "bob", 10000, "GBP");
    apply_ok(fx, &req);
    proto_msg_t no = verdict(fx, PROTO_FRAUD_REJECTED, "t1");
    apply_ok(fx, &no);
    expect_no_change(fx, &no, "t1");
    assert_int_equal(account(fx, "alice").held_minor, 0);
}

static void test_approved_after_rejected_changes_nothing(void **state)
{
    fx_t *fx = *state;
    proto_msg_t req = requested(fx, "t1", "alice", "bob", 10000, "GBP");
    apply_ok(fx, &req);
    proto_msg_t no = verdict(fx, PROTO_FRAUD_REJECTED, "t1");
    apply_ok(fx, &no);
    proto_msg_t ok = verdict(fx, PROTO_FRAUD_APPROVED, "t1");
    expect_no_change(fx, &ok, "t1");
    assert_int_equal(transfer_state(fx, "t1").state, ACCOUNTS_TRANSFER_RELEASED);
}

static void test_rejected_after_settled_changes_nothing(void **state)
{
    fx_t *fx = *state;
    proto_msg_t req = requested(fx, "t1", "alice", "bob", 10000, "GBP");
    apply_ok(fx, &req);
    proto_msg_t ok = verdict(fx, PROTO_FRAUD_APPROVED, "t1");
    apply_ok(fx, &ok);
    proto_msg_t no = verdict(fx, PROTO_FRAUD_REJECTED, "t1");
    expect_no_change(fx, &no, "t1");
    assert_int_equal(transfer_state(fx, "t1").state, ACCOUNTS_TRANSFER_SETTLED);
}

static void test_requested_again_after_settled_changes_nothing(void **state)
{
    fx_t *fx = *state;
    proto_msg_t req = requested(fx, "t1", "alice", "bob", 10000, "GBP");
    apply_ok(fx, &req);
    proto_msg_t ok = verdict(fx, PROTO_FRAUD_APPROVED, "t1");
    apply_ok(fx, &ok);
    expect_no_change(fx, &req, "t1");
    assert_int_equal(transfer_state(fx, "t1").state, ACCOUNTS_TRANSFER_SETTLED);
}

static void test_verdict_for_declined_transfer_changes_nothing(void **state)
{
    fx_t *fx = *state;
    proto_msg_t req = requested(fx, "t1", "alice", "alice", 10000, "GBP");
    apply_ok(fx, &req);
    proto_msg_t ok = verdict(fx, PROTO_FRAUD_APPROVED, "t1");
    expect_no_change(fx, &ok, "t1");
    proto_msg_t no = verdict(fx, PROTO_FRAUD_REJECTED, "t1");
    expect_no_change(fx, &no, "t1");
    assert_int_equal(transfer_state(fx, "t1").state, ACCOUNTS_TRANSFER_DECLINED);
}

/* --- invariants ------------------------------------------------------------ */

static void test_money_is_conserved_across_a_settle(void **state)
{
    fx_t *fx = *state;
    assert_int_equal(balance_sum(fx), 0); /* funding is -(all deposits) */
    proto_msg_t req = requested(fx, "t1", "alice", "bob", 12345, "GBP");
    apply_ok(fx, &req);
    assert_int_equal(balance_sum(fx), 0);
    proto_msg_t ok = verdict(fx, PROTO_FRAUD_APPROVED, "t1");
    apply_ok(fx, &ok);
    assert_int_equal(balance_sum(fx), 0);
    assert_int_equal(account(fx, "alice").balance_minor + account(fx, "bob").balance_minor,
                     ALICE_DEPOSIT + BOB_DEPOSIT);
}

/* --- unknown types --------------------------------------------------------- */

static ledger_err_t saga_handle(node_ctx_t *ctx, const proto_msg_t *msg, void *arg)
{
    (void)arg;
    return accounts_saga_apply(ctx, msg, NULL, NULL, 0);
}

static void test_unknown_types_are_rejected_without_writes(void **state)
{
    fx_t *fx = *state;
    static const proto_type_t handled[] = {PROTO_TRANSFER_REQUESTED, PROTO_FRAUD_APPROVED,
                                           PROTO_FRAUD_REJECTED, PROTO_TRANSFER_CAPTURE,
                                           PROTO_TRANSFER_VOID};
    snapshot_t before = snapshot(fx, NULL);
    test_node_expect_other_types_refused(fx, saga_handle, NULL,
                                         requested(fx, "t1", "alice", "bob", 100, "GBP"), handled,
                                         sizeof handled / sizeof handled[0]);
    snapshot_t after = snapshot(fx, NULL);
    assert_same(&before, &after);

    proto_msg_t not_query = requested(fx, "t1", "alice", "bob", 100, "GBP");
    proto_msg_t reply;
    assert_int_equal(accounts_query(&fx->ctx, &not_query, &reply), LEDGER_E_INVALID);
    proto_msg_t bad_op = query_msg(fx, PROTO_QUERY_GET);
    bad_op.body.query.op = (proto_query_op_t)99;
    assert_int_equal(accounts_query(&fx->ctx, &bad_op, &reply), LEDGER_E_INVALID);
    snapshot_t end = snapshot(fx, NULL);
    assert_same(&before, &end);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup_alice_bob, teardown)

TEST_MAIN(
    T(test_requested_places_hold_and_emits_funds_reserved),
    T(test_holds_reduce_available_for_the_next_transfer), T(test_decline_same_account),
    T(test_decline_unknown_source_account), T(test_decline_unknown_destination_account),
    T(test_decline_currency_mismatch), T(test_decline_insufficient_funds),
    cmocka_unit_test_setup_teardown(test_decline_amount_overflow_of_destination, setup, teardown),
    T(test_decline_invalid_amount), T(test_approved_settles_debit_and_credit),
    T(test_rejected_releases_the_hold), T(test_verdict_for_unknown_transfer_changes_nothing),
    T(test_replayed_requested_changes_nothing), T(test_replayed_declined_request_changes_nothing),
    T(test_replayed_approved_changes_nothing), T(test_replayed_rejected_changes_nothing),
    T(test_approved_after_rejected_changes_nothing), T(test_rejected_after_settled_changes_nothing),
    T(test_requested_again_after_settled_changes_nothing),
    T(test_verdict_for_declined_transfer_changes_nothing),
    T(test_money_is_conserved_across_a_settle), T(test_unknown_types_are_rejected_without_writes))

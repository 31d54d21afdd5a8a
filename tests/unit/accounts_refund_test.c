/*  accounts_refund_test.c: refunds (accounts_refund.h) and the risk timeout
    (accounts_timers.h): a refund reserves against its original's refundable
    amount, exceeds_refundable (also for two racing refunds: exactly one is
    reserved), not_refundable, who may refund, the amount given back when
    fraud rejects or the verdict never comes, a late verdict changing
    nothing, replays, unknown_currency, and money conserved after each.
*/
#include "accounts_life_fixture.h"
#include "test_main.h"

/* alice pays bob 100.00 (t1), settled. */
static void settle_t1(fx_t *fx)
{
    proto_msg_t m = requested(fx, "t1", "alice", "bob", 10000, "GBP");
    apply_ok(fx, &m);
    approve(fx, "t1");
    assert_int_equal(transfer_state(fx, "t1").state, ACCOUNTS_TRANSFER_SETTLED);
    assert_int_equal(transfer_state(fx, "t1").captured_minor, 10000);
}

static void expect_refund_declined(fx_t *fx, const proto_msg_t *m, const char *code)
{
    snapshot_t before = snapshot(fx, "t1");
    apply_ok(fx, m);
    accounts_transfer_t tr = transfer_state(fx, m->body.transfer.transfer);
    assert_int_equal(tr.state, ACCOUNTS_TRANSFER_DECLINED);
    assert_string_equal(tr.code, code);
    proto_msg_t out = outbox_last(fx);
    assert_int_equal(out.type, PROTO_TRANSFER_DECLINED);
    assert_string_equal(out.body.declined.code, code);
    snapshot_t after = snapshot(fx, "t1");
    /* no money moved and the original is as it was (the decline added its record and message) */
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(before.balance[i], after.balance[i]);
        assert_int_equal(before.held[i], after.held[i]);
    }
    assert_int_equal(before.ledger, after.ledger);
    assert_memory_equal(before.transfer_rec, after.transfer_rec, before.transfer_rec_size);
}

static void test_refund_of_a_settled_transfer_reserves_then_settles(void **state)
{
    fx_t *fx = *state;
    settle_t1(fx);
    proto_msg_t r = requested_refund(fx, "r1", "t1", "bob", "alice", 4000);
    apply_ok(fx, &r);
    accounts_transfer_t tr = transfer_state(fx, "r1");
    assert_int_equal(tr.state, ACCOUNTS_TRANSFER_RESERVED);
    assert_int_equal(tr.kind, PROTO_TRANSFER_KIND_REFUND);
    assert_string_equal(tr.refund_of, "t1");
    assert_int_equal(transfer_state(fx, "t1").refunded_minor, 4000);
    assert_int_equal(account(fx, "bob").held_minor, 4000);
    approve(fx, "r1");
    assert_int_equal(transfer_state(fx, "r1").state, ACCOUNTS_TRANSFER_SETTLED);
    assert_int_equal(transfer_state(fx, "t1").refunded_minor, 4000);
    assert_int_equal(account(fx, "alice").balance_minor, ALICE_DEPOSIT - 10000 + 4000);
    assert_int_equal(account(fx, "bob").balance_minor, BOB_DEPOSIT + 10000 - 4000);
    proto_msg_t out = outbox_last(fx);
    assert_int_equal(out.type, PROTO_TRANSFER_SETTLED);
    assert_int_equal(out.body.transfer.kind, PROTO_TRANSFER_KIND_REFUND);
    assert_string_equal(out.body.transfer.refund_of, "t1");
    assert_books_ok(fx);
}

static void test_refunds_never_add_up_to_more_than_the_transfer(void **state)
{
    fx_t *fx = *state;
    settle_t1(fx);
    proto_msg_t over = requested_refund(fx, "r0", "t1", "bob", "alice", 10001);
    expect_refund_declined(fx, &over, "exceeds_refundable");
    proto_msg_t r1 = requested_refund(fx, "r1", "t1", "bob", "alice", 7000);
    apply_ok(fx, &r1);
    approve(fx, "r1");
    proto_msg_t r2 = requested_refund(fx, "r2", "t1", "bob", "alice", 3001);
    expect_refund_declined(fx, &r2, "exceeds_refundable");
    proto_msg_t r3 = requested_refund(fx, "r3", "t1", "bob", "alice", 3000);
    apply_ok(fx, &r3);
    assert_int_equal(transfer_state(fx, "r3").state, ACCOUNTS_TRANSFER_RESERVED);
    assert_int_equal(transfer_state(fx, "t1").refunded_minor, 10000);
    assert_books_ok(fx);
}

static void test_two_racing_refunds_exactly_one_is_reserved(void **state)
{
    fx_t *fx = *state;
    settle_t1(fx);
    proto_msg_t a = requested_refund(fx, "ra", "t1", "bob", "alice", 6000);
    proto_msg_t b = requested_refund(fx, "rb", "t1", "bob", "alice", 6000);
    apply_ok(fx, &a);
    apply_ok(fx, &b);
    assert_int_equal(transfer_state(fx, "ra").state, ACCOUNTS_TRANSFER_RESERVED);
    assert_int_equal(transfer_state(fx, "rb").state, ACCOUNTS_TRANSFER_DECLINED);
    assert_string_equal(transfer_state(fx, "rb").code, "exceeds_refundable");
    assert_int_equal(transfer_state(fx, "t1").refunded_minor, 6000);
    assert_int_equal(account(fx, "bob").held_minor, 6000);
    assert_books_ok(fx);
}

static void test_refund_rejected_by_fraud_gives_its_amount_back(void **state)
{
    fx_t *fx = *state;
    settle_t1(fx);
    proto_msg_t r = requested_refund(fx, "r1", "t1", "bob", "alice", 6000);
    apply_ok(fx, &r);
    proto_msg_t v = verdict(fx, PROTO_FRAUD_REJECTED, "r1");
    apply_ok(fx, &v);
    assert_int_equal(transfer_state(fx, "r1").state, ACCOUNTS_TRANSFER_RELEASED);
    assert_int_equal(transfer_state(fx, "t1").refunded_minor, 0);
    assert_int_equal(account(fx, "bob").held_minor, 0);
    proto_msg_t all = requested_refund(fx, "r2", "t1", "bob", "alice", 10000);
    apply_ok(fx, &all);
    assert_int_equal(transfer_state(fx, "r2").state, ACCOUNTS_TRANSFER_RESERVED);
    assert_books_ok(fx);
}

static void test_refund_timed_out_gives_its_amount_back(void **state)
{
    fx_t *fx = *state;
    settle_t1(fx);
    proto_msg_t r = requested_refund(fx, "r1", "t1", "bob", "alice", 6000);
    apply_ok(fx, &r);
    fx->ctx.now_ms += ACCOUNTS_RISK_TIMEOUT_DEFAULT_MS;
    assert_int_equal(run_timers(fx), 1);
    assert_int_equal(transfer_state(fx, "r1").state, ACCOUNTS_TRANSFER_TIMED_OUT);
    assert_int_equal(transfer_state(fx, "t1").refunded_minor, 0);
    assert_int_equal(account(fx, "bob").held_minor, 0);
    assert_books_ok(fx);
}

static void test_not_refundable_unless_the_reverse_of_a_settled_transfer(void **state)
{
    fx_t *fx = *state;
    proto_msg_t pending = requested(fx, "t2", "alice", "bob", 500, "GBP");
    apply_ok(fx, &pending); /* reserved, not settled */
    settle_t1(fx);
    proto_msg_t unknown = requested_refund(fx, "r1", "nope", "bob", "alice", 100);
    expect_refund_declined(fx, &unknown, "not_refundable");
    proto_msg_t reserved = requested_refund(fx, "r2", "t2", "bob", "alice", 100);
    expect_refund_declined(fx, &reserved, "not_refundable");
    proto_msg_t reversed = requested_refund(fx, "r3", "t1", "alice", "bob", 100);
    expect_refund_declined(fx, &reversed, "not_refundable");
    proto_msg_t ok = requested_refund(fx, "r4", "t1", "bob", "alice", 100);
    apply_ok(fx, &ok);
    approve(fx, "r4");
    proto_msg_t of_refund = requested_refund(fx, "r5", "r4", "alice", "bob", 50);
    expect_refund_declined(fx, &of_refund, "not_refundable");
    assert_books_ok(fx);
}

static void test_only_the_payee_or_an_operator_may_refund(void **state)
{
    fx_t *fx = *state;
    settle_t1(fx);
    proto_msg_t r = requested_refund(fx, "r1", "t1", "bob", "alice", 100);
    snprintf(r.body.transfer.principal, sizeof r.body.transfer.principal, "alice");
    expect_refund_declined(fx, &r, "forbidden_account");
    proto_msg_t op = requested_refund(fx, "r2", "t1", "bob", "alice", 100);
    snprintf(op.body.transfer.principal, sizeof op.body.transfer.principal, "ops");
    op.body.transfer.operator_scope = true;
    apply_ok(fx, &op);
    assert_int_equal(transfer_state(fx, "r2").state, ACCOUNTS_TRANSFER_RESERVED);
    assert_books_ok(fx);
}

static void test_refund_of_a_partial_capture_is_bounded_by_the_captured_amount(void **state)
{
    fx_t *fx = *state;
    proto_msg_t m = requested_manual(fx, "t1", "alice", "bob", 10000);
    apply_ok(fx, &m);
    approve(fx, "t1");
    proto_msg_t c = action(fx, PROTO_TRANSFER_CAPTURE, "t1", "alice", 4000);
    apply_ok(fx, &c);
    proto_msg_t over = requested_refund(fx, "r1", "t1", "bob", "alice", 4001);
    expect_refund_declined(fx, &over, "exceeds_refundable");
    proto_msg_t ok = requested_refund(fx, "r2", "t1", "bob", "alice", 4000);
    apply_ok(fx, &ok);
    assert_int_equal(transfer_state(fx, "r2").state, ACCOUNTS_TRANSFER_RESERVED);
    assert_books_ok(fx);
}

static void test_replayed_refund_request_changes_nothing(void **state)
{
    fx_t *fx = *state;
    settle_t1(fx);
    proto_msg_t r = requested_refund(fx, "r1", "t1", "bob", "alice", 4000);
    apply_ok(fx, &r);
    snapshot_t before = snapshot(fx, "t1");
    apply_ok(fx, &r);
    snapshot_t after = snapshot(fx, "t1");
    assert_same(&before, &after);
    assert_int_equal(transfer_state(fx, "t1").refunded_minor, 4000);
    assert_books_ok(fx);
}

/* --- risk timeout ------------------------------------------------------------ */

static void test_no_verdict_in_time_declines_risk_unavailable_and_releases(void **state)
{
    fx_t *fx = *state;
    proto_msg_t m = requested(fx, "t1", "alice", "bob", 10000, "GBP");
    apply_ok(fx, &m);
    accounts_transfer_t tr = transfer_state(fx, "t1");
    assert_int_equal(tr.risk_deadline_ms, T0_MS + ACCOUNTS_RISK_TIMEOUT_DEFAULT_MS);
    fx->ctx.now_ms = tr.risk_deadline_ms - 1;
    assert_int_equal(run_timers(fx), 0);
    assert_int_equal(transfer_state(fx, "t1").state, ACCOUNTS_TRANSFER_RESERVED);
    fx->ctx.now_ms = tr.risk_deadline_ms;
    assert_int_equal(run_timers(fx), 1);
    tr = transfer_state(fx, "t1");
    assert_int_equal(tr.state, ACCOUNTS_TRANSFER_TIMED_OUT);
    assert_string_equal(tr.code, "risk_unavailable");
    assert_int_equal(account(fx, "alice").held_minor, 0);
    store_ledger_entry_t e = newest_entry(fx, "alice");
    assert_string_equal(e.kind, "release");
    assert_int_equal(e.held_delta_minor, -10000);
    proto_msg_t out = outbox_last(fx);
    assert_int_equal(out.type, PROTO_TRANSFER_DECLINED);
    assert_string_equal(out.body.declined.code, "risk_unavailable");
    proto_hold_t h[16];
    assert_int_equal(holds_of(fx, "alice", h), 0);
    assert_books_ok(fx);
}

static void test_a_late_verdict_after_the_timeout_changes_nothing(void **state)
{
    fx_t *fx = *state;
    proto_msg_t m = requested(fx, "t1", "alice", "bob", 10000, "GBP");
    apply_ok(fx, &m);
    proto_msg_t late = verdict(fx, PROTO_FRAUD_APPROVED, "t1"); /* cites the reservation */
    fx->ctx.now_ms += ACCOUNTS_RISK_TIMEOUT_DEFAULT_MS;
    assert_int_equal(run_timers(fx), 1);
    snapshot_t before = snapshot(fx, "t1");
    apply_ok(fx, &late);
    proto_msg_t rejected = verdict(fx, PROTO_FRAUD_REJECTED, "t1");
    apply_ok(fx, &rejected);
    assert_int_equal(run_timers(fx), 0);
    snapshot_t after = snapshot(fx, "t1");
    assert_same(&before, &after);
    assert_books_ok(fx);
}

static void test_a_verdict_in_time_removes_the_risk_timer(void **state)
{
    fx_t *fx = *state;
    proto_msg_t m = requested(fx, "t1", "alice", "bob", 10000, "GBP");
    apply_ok(fx, &m);
    approve(fx, "t1");
    fx->ctx.now_ms += ACCOUNTS_RISK_TIMEOUT_DEFAULT_MS;
    snapshot_t before = snapshot(fx, "t1");
    assert_int_equal(run_timers(fx), 0);
    snapshot_t after = snapshot(fx, "t1");
    assert_same(&before, &after);
    assert_books_ok(fx);
}

static void test_timers_run_at_most_max_oldest_first(void **state)
{
    fx_t *fx = *state;
    for (int i = 0; i < 3; i++) {
        char id[8];
        snprintf(id, sizeof id, "t%d", i);
        proto_msg_t m = requested(fx, id, "alice", "bob", 100, "GBP");
        apply_ok(fx, &m);
        fx->ctx.now_ms += 10;
    }
    fx->ctx.now_ms = T0_MS + ACCOUNTS_RISK_TIMEOUT_DEFAULT_MS + 10; /* t0 and t1 due */
    size_t fired = 0;
    uint64_t next = 0;
    assert_int_equal(accounts_timers_run(&fx->ctx, 1, &fired, &next), LEDGER_OK);
    assert_int_equal(fired, 1);
    assert_int_equal(next, T0_MS + ACCOUNTS_RISK_TIMEOUT_DEFAULT_MS + 10);
    assert_int_equal(transfer_state(fx, "t0").state, ACCOUNTS_TRANSFER_TIMED_OUT);
    assert_int_equal(transfer_state(fx, "t1").state, ACCOUNTS_TRANSFER_RESERVED);
    assert_int_equal(accounts_timers_run(&fx->ctx, 8, &fired, &next), LEDGER_OK);
    assert_int_equal(fired, 1);
    assert_int_equal(next, T0_MS + ACCOUNTS_RISK_TIMEOUT_DEFAULT_MS + 20);
    assert_int_equal(transfer_state(fx, "t2").state, ACCOUNTS_TRANSFER_RESERVED);
    assert_books_ok(fx);
}

static void test_decline_unknown_currency(void **state)
{
    fx_t *fx = *state;
    proto_msg_t m = requested(fx, "t1", "alice", "bob", 100, "XYZ");
    apply_ok(fx, &m);
    assert_string_equal(transfer_state(fx, "t1").code, "unknown_currency");
    assert_int_equal(account(fx, "alice").held_minor, 0);
    assert_int_equal(count_of(fx, STORE_DB_OUTBOX), 1); /* the decline, nothing else */
    assert_books_ok(fx);
}

#define T(name) T_BOTH(name)

TEST_MAIN(T(test_refund_of_a_settled_transfer_reserves_then_settles),
          T(test_refunds_never_add_up_to_more_than_the_transfer),
          T(test_two_racing_refunds_exactly_one_is_reserved),
          T(test_refund_rejected_by_fraud_gives_its_amount_back),
          T(test_refund_timed_out_gives_its_amount_back),
          T(test_not_refundable_unless_the_reverse_of_a_settled_transfer),
          T(test_only_the_payee_or_an_operator_may_refund),
          T(test_refund_of_a_partial_capture_is_bounded_by_the_captured_amount),
          T(test_replayed_refund_request_changes_nothing),
          T(test_no_verdict_in_time_declines_risk_unavailable_and_releases),
          T(test_a_late_verdict_after_the_timeout_changes_nothing),
          T(test_a_verdict_in_time_removes_the_risk_timer),
          T(test_timers_run_at_most_max_oldest_first), T(test_decline_unknown_currency))

/*  accounts_capture_test.c: authorise, capture and void (accounts_capture.h,
    accounts_saga.h): a manual transfer approved by fraud keeps its hold,
    full and partial captures, captures over the authorised amount, captures
    and voids of transfers that are not authorised, who may act, replays,
    and money conserved after each. Driven without sockets on the shared
    fixture (accounts_fixture.h).
*/
#include "accounts_life_fixture.h"
#include "test_main.h"

/* alice authorises 100.00 to bob (t1). */
static void authorize_t1(fx_t *fx)
{
    proto_msg_t m = requested_manual(fx, "t1", "alice", "bob", 10000);
    apply_ok(fx, &m);
    approve(fx, "t1");
}

static void test_manual_transfer_approved_is_authorized_and_keeps_its_hold(void **state)
{
    fx_t *fx = *state;
    authorize_t1(fx);
    accounts_transfer_t tr = transfer_state(fx, "t1");
    assert_int_equal(tr.state, ACCOUNTS_TRANSFER_AUTHORIZED);
    assert_int_equal(tr.capture, PROTO_CAPTURE_MANUAL);
    assert_int_equal(tr.expires_at_ms, T0_MS + EXPIRES_IN_MS);
    assert_int_equal(account(fx, "alice").held_minor, 10000);
    assert_int_equal(account(fx, "alice").balance_minor, ALICE_DEPOSIT);
    assert_int_equal(account(fx, "bob").balance_minor, BOB_DEPOSIT);
    proto_msg_t out = outbox_last(fx);
    assert_int_equal(out.type, PROTO_TRANSFER_AUTHORIZED);
    assert_string_equal(out.body.transfer.transfer, "t1");
    assert_int_equal(out.body.transfer.capture, PROTO_CAPTURE_MANUAL);
    assert_int_equal(out.body.transfer.expires_at_ms, T0_MS + EXPIRES_IN_MS);
    assert_int_equal(out.body.transfer.captured_minor, 0);
    proto_hold_t h[16];
    assert_int_equal(holds_of(fx, "alice", h), 1);
    assert_string_equal(h[0].transfer, "t1");
    assert_int_equal(h[0].amount_minor, 10000);
    assert_int_equal(h[0].capture, PROTO_CAPTURE_MANUAL);
    assert_int_equal(h[0].expires_at_ms, T0_MS + EXPIRES_IN_MS);
    /* the risk deadline passing changes nothing any more: the expiry is the timer now */
    fx->ctx.now_ms = tr.risk_deadline_ms + 1;
    assert_int_equal(run_timers(fx), 0);
    assert_int_equal(transfer_state(fx, "t1").state, ACCOUNTS_TRANSFER_AUTHORIZED);
    assert_books_ok(fx);
}

static void test_full_capture_settles_the_authorised_amount(void **state)
{
    fx_t *fx = *state;
    authorize_t1(fx);
    proto_msg_t c = action(fx, PROTO_TRANSFER_CAPTURE, "t1", "alice", 10000);
    apply_ok(fx, &c);
    accounts_transfer_t tr = transfer_state(fx, "t1");
    assert_int_equal(tr.state, ACCOUNTS_TRANSFER_SETTLED);
    assert_int_equal(tr.captured_minor, 10000);
    assert_int_equal(account(fx, "alice").balance_minor, ALICE_DEPOSIT - 10000);
    assert_int_equal(account(fx, "alice").held_minor, 0);
    assert_int_equal(account(fx, "bob").balance_minor, BOB_DEPOSIT + 10000);
    store_ledger_entry_t e = newest_entry(fx, "alice");
    assert_string_equal(e.kind, "capture");
    assert_int_equal(e.balance_delta_minor, -10000);
    assert_int_equal(e.held_delta_minor, -10000);
    assert_string_equal(newest_entry(fx, "bob").kind, "credit");
    proto_msg_t out = outbox_last(fx);
    assert_int_equal(out.type, PROTO_TRANSFER_SETTLED);
    assert_int_equal(out.body.transfer.captured_minor, 10000);
    char cause[PROTO_ID_MAX + 1];
    proto_msg_id(&c, cause);
    assert_string_equal(out.cause, cause);
    proto_hold_t h[16];
    assert_int_equal(holds_of(fx, "alice", h), 0);
    assert_books_ok(fx);
}

static void test_partial_capture_settles_part_and_releases_the_rest(void **state)
{
    fx_t *fx = *state;
    authorize_t1(fx);
    proto_msg_t c = action(fx, PROTO_TRANSFER_CAPTURE, "t1", "alice", 4000);
    apply_ok(fx, &c);
    assert_int_equal(transfer_state(fx, "t1").captured_minor, 4000);
    assert_int_equal(account(fx, "alice").balance_minor, ALICE_DEPOSIT - 4000);
    assert_int_equal(account(fx, "alice").held_minor, 0);
    assert_int_equal(account(fx, "bob").balance_minor, BOB_DEPOSIT + 4000);
    store_ledger_entry_t e = newest_entry(fx, "alice");
    assert_int_equal(e.balance_delta_minor, -4000);
    assert_int_equal(e.held_delta_minor, -10000);
    proto_msg_t out = outbox_last(fx);
    assert_int_equal(out.body.transfer.captured_minor, 4000);
    assert_int_equal(out.body.transfer.amount_minor, 10000);
    assert_books_ok(fx);
}

static void test_capture_above_the_authorised_amount_is_refused_and_changes_nothing(void **state)
{
    fx_t *fx = *state;
    authorize_t1(fx);
    snapshot_t before = snapshot(fx, "t1");
    proto_msg_t c = action(fx, PROTO_TRANSFER_CAPTURE, "t1", "alice", 10001);
    apply_expect(fx, &c, LEDGER_E_INVALID);
    proto_msg_t zero = action(fx, PROTO_TRANSFER_CAPTURE, "t1", "alice", 0);
    apply_expect(fx, &zero, LEDGER_E_INVALID);
    snapshot_t after = snapshot(fx, "t1");
    assert_same(&before, &after);
    assert_int_equal(transfer_state(fx, "t1").state, ACCOUNTS_TRANSFER_AUTHORIZED);
    assert_books_ok(fx);
}

/* Captures and voids of a transfer in `id` that is not authorised: acked, nothing written. */
static void expect_no_change(fx_t *fx, const char *id)
{
    snapshot_t before = snapshot(fx, id);
    proto_msg_t c = action(fx, PROTO_TRANSFER_CAPTURE, id, "alice", 100);
    apply_ok(fx, &c);
    proto_msg_t v = action(fx, PROTO_TRANSFER_VOID, id, "alice", 0);
    apply_ok(fx, &v);
    snapshot_t after = snapshot(fx, id);
    assert_same(&before, &after);
}

static void test_capture_or_void_of_a_transfer_not_authorized_changes_nothing(void **state)
{
    fx_t *fx = *state;
    expect_no_change(fx, "nope"); /* unknown */
    proto_msg_t m = requested_manual(fx, "t1", "alice", "bob", 10000);
    apply_ok(fx, &m);
    expect_no_change(fx, "t1"); /* before the verdict */
    proto_msg_t a = requested(fx, "t2", "alice", "bob", 500, "GBP");
    apply_ok(fx, &a);
    approve(fx, "t2");
    expect_no_change(fx, "t2"); /* an auto transfer, settled */
    proto_msg_t d = requested_manual(fx, "t3", "alice", "bob", 999999999);
    apply_ok(fx, &d);
    expect_no_change(fx, "t3"); /* declined */
    approve(fx, "t1");
    proto_msg_t c = action(fx, PROTO_TRANSFER_CAPTURE, "t1", "alice", 10000);
    apply_ok(fx, &c);
    expect_no_change(fx, "t1"); /* a second capture, or a void after it */
    assert_books_ok(fx);
}

static void test_void_releases_the_hold(void **state)
{
    fx_t *fx = *state;
    authorize_t1(fx);
    proto_msg_t v = action(fx, PROTO_TRANSFER_VOID, "t1", "alice", 0);
    apply_ok(fx, &v);
    assert_int_equal(transfer_state(fx, "t1").state, ACCOUNTS_TRANSFER_VOIDED);
    assert_int_equal(account(fx, "alice").held_minor, 0);
    assert_int_equal(account(fx, "alice").balance_minor, ALICE_DEPOSIT);
    assert_int_equal(account(fx, "bob").balance_minor, BOB_DEPOSIT);
    store_ledger_entry_t e = newest_entry(fx, "alice");
    assert_string_equal(e.kind, "void");
    assert_int_equal(e.held_delta_minor, -10000);
    assert_int_equal(e.balance_delta_minor, 0);
    proto_msg_t out = outbox_last(fx);
    assert_int_equal(out.type, PROTO_TRANSFER_VOIDED);
    assert_string_equal(out.body.declined.code, "voided");
    assert_string_equal(out.body.declined.reason, "voided by alice");
    /* nothing left to expire */
    fx->ctx.now_ms = T0_MS + EXPIRES_IN_MS;
    assert_int_equal(run_timers(fx), 0);
    expect_no_change(fx, "t1");
    assert_books_ok(fx);
}

static void test_only_the_owner_of_from_or_an_operator_may_capture_or_void(void **state)
{
    fx_t *fx = *state;
    authorize_t1(fx);
    snapshot_t before = snapshot(fx, "t1");
    proto_msg_t c = action(fx, PROTO_TRANSFER_CAPTURE, "t1", "bob", 10000);
    apply_expect(fx, &c, LEDGER_E_INVALID);
    proto_msg_t v = action(fx, PROTO_TRANSFER_VOID, "t1", "bob", 0);
    apply_expect(fx, &v, LEDGER_E_INVALID);
    snapshot_t after = snapshot(fx, "t1");
    assert_same(&before, &after);
    proto_msg_t op = action(fx, PROTO_TRANSFER_VOID, "t1", "ops", 0);
    op.body.action.operator_scope = true;
    apply_ok(fx, &op);
    assert_int_equal(transfer_state(fx, "t1").state, ACCOUNTS_TRANSFER_VOIDED);
    assert_books_ok(fx);
}

static void test_replayed_capture_and_void_change_nothing(void **state)
{
    fx_t *fx = *state;
    authorize_t1(fx);
    proto_msg_t c = action(fx, PROTO_TRANSFER_CAPTURE, "t1", "alice", 10000);
    apply_ok(fx, &c);
    snapshot_t before = snapshot(fx, "t1");
    apply_ok(fx, &c);
    snapshot_t after = snapshot(fx, "t1");
    assert_same(&before, &after);

    proto_msg_t m = requested_manual(fx, "t2", "alice", "bob", 500);
    apply_ok(fx, &m);
    approve(fx, "t2");
    proto_msg_t v = action(fx, PROTO_TRANSFER_VOID, "t2", "alice", 0);
    apply_ok(fx, &v);
    before = snapshot(fx, "t2");
    apply_ok(fx, &v);
    approve(fx, "t2"); /* a replayed verdict too */
    after = snapshot(fx, "t2");
    assert_same(&before, &after);
    assert_books_ok(fx);
}

static void test_expiry_releases_an_authorisation_and_a_later_capture_changes_nothing(void **state)
{
    fx_t *fx = *state;
    authorize_t1(fx);
    fx->ctx.now_ms = T0_MS + EXPIRES_IN_MS - 1;
    assert_int_equal(run_timers(fx), 0);
    fx->ctx.now_ms = T0_MS + EXPIRES_IN_MS;
    assert_int_equal(run_timers(fx), 1);
    assert_int_equal(transfer_state(fx, "t1").state, ACCOUNTS_TRANSFER_EXPIRED);
    assert_int_equal(account(fx, "alice").held_minor, 0);
    assert_string_equal(newest_entry(fx, "alice").kind, "expire");
    proto_msg_t out = outbox_last(fx);
    assert_int_equal(out.type, PROTO_TRANSFER_EXPIRED);
    assert_string_equal(out.body.declined.code, "expired");
    assert_string_equal(out.cause, "");
    expect_no_change(fx, "t1"); /* capture after expiry: the node's order decided */
    assert_int_equal(run_timers(fx), 0);
    assert_books_ok(fx);
}

static void test_capture_before_the_expiry_wins_and_the_timer_is_gone(void **state)
{
    fx_t *fx = *state;
    authorize_t1(fx);
    fx->ctx.now_ms = T0_MS + EXPIRES_IN_MS - 1;
    proto_msg_t c = action(fx, PROTO_TRANSFER_CAPTURE, "t1", "alice", 10000);
    apply_ok(fx, &c);
    fx->ctx.now_ms = T0_MS + EXPIRES_IN_MS + 1;
    snapshot_t before = snapshot(fx, "t1");
    assert_int_equal(run_timers(fx), 0);
    snapshot_t after = snapshot(fx, "t1");
    assert_same(&before, &after);
    assert_int_equal(transfer_state(fx, "t1").state, ACCOUNTS_TRANSFER_SETTLED);
    assert_books_ok(fx);
}

/*  A capture that comes after expires_at_ms, before the timer ran (timers lag under load):
    the expiry wins, nothing is captured (found by the security review of issue 21). */
static void test_a_capture_after_the_expiry_expires_it_even_before_the_timer(void **state)
{
    fx_t *fx = *state;
    authorize_t1(fx);
    fx->ctx.now_ms = T0_MS + EXPIRES_IN_MS + 60000;
    proto_msg_t c = action(fx, PROTO_TRANSFER_CAPTURE, "t1", "alice", 10000);
    apply_ok(fx, &c);
    assert_int_equal(transfer_state(fx, "t1").state, ACCOUNTS_TRANSFER_EXPIRED);
    assert_int_equal(account(fx, "alice").held_minor, 0);
    assert_string_equal(newest_entry(fx, "alice").kind, "expire");
    assert_int_equal(outbox_last(fx).type, PROTO_TRANSFER_EXPIRED);
    assert_int_equal(run_timers(fx), 0); /* its timer went with it */
    assert_books_ok(fx);
}

#define T(name) T_BOTH(name)

TEST_MAIN(T(test_manual_transfer_approved_is_authorized_and_keeps_its_hold),
          T(test_full_capture_settles_the_authorised_amount),
          T(test_partial_capture_settles_part_and_releases_the_rest),
          T(test_capture_above_the_authorised_amount_is_refused_and_changes_nothing),
          T(test_capture_or_void_of_a_transfer_not_authorized_changes_nothing),
          T(test_void_releases_the_hold),
          T(test_only_the_owner_of_from_or_an_operator_may_capture_or_void),
          T(test_replayed_capture_and_void_change_nothing),
          T(test_expiry_releases_an_authorisation_and_a_later_capture_changes_nothing),
          T(test_capture_before_the_expiry_wins_and_the_timer_is_gone),
          T(test_a_capture_after_the_expiry_expires_it_even_before_the_timer))

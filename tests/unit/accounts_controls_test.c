/*  accounts_controls_test.c: account limits and controls (accounts_controls.h)
    and the account.query ops of issue 21 (accounts_query.h): the decision
    on a transfer (closed, frozen, overdraft), the saga's declines with it,
    the operator's update with its audit entries in the ledger, balance_at
    and statement through the query. Each refusal changes nothing.
*/
#include "accounts_fixture.h"
#include "accounts_cache.h"
#include "accounts_controls.h"
#include "accounts_verify.h"
#include "test_main.h"

/* --- the decision (pure) ----------------------------------------------------- */

static accounts_record_t rec_of(const char *id, int64_t balance, int64_t held,
                                accounts_account_status_t status, int64_t overdraft)
{
    accounts_record_t r;
    memset(&r, 0, sizeof r);
    snprintf(r.id, sizeof r.id, "%s", id);
    snprintf(r.currency, sizeof r.currency, "GBP");
    r.balance_minor = balance;
    r.held_minor = held;
    r.status = status;
    r.overdraft_limit_minor = overdraft;
    return r;
}

static const char *decide(const accounts_record_t *from, const accounts_record_t *to,
                          int64_t amount)
{
    proto_transfer_t t;
    memset(&t, 0, sizeof t);
    snprintf(t.currency, sizeof t.currency, "GBP");
    t.amount_minor = amount;
    const char *code = "unset";
    char reason[PROTO_REASON_MAX + 1];
    assert_int_equal(accounts_controls_decide(from, to, &t, &code, reason, sizeof reason),
                     LEDGER_OK);
    assert_true(code == NULL || reason[0] != '\0');
    return code;
}

static void test_decide_applies_closed_then_frozen_then_the_overdraft(void **state)
{
    (void)state;
    accounts_record_t a = rec_of("a", 1000, 200, ACCOUNTS_ACCOUNT_ACTIVE, 0);
    accounts_record_t b = rec_of("b", 0, 0, ACCOUNTS_ACCOUNT_ACTIVE, 0);
    assert_null(decide(&a, &b, 800)); /* available 800 */
    assert_string_equal(decide(&a, &b, 801), PROTO_DECLINE_INSUFFICIENT_FUNDS);
    a.overdraft_limit_minor = 500; /* holds count: 800 + 500 */
    assert_null(decide(&a, &b, 1300));
    assert_string_equal(decide(&a, &b, 1301), PROTO_DECLINE_INSUFFICIENT_FUNDS);
    b.status = ACCOUNTS_ACCOUNT_FROZEN; /* credits to a frozen account are accepted */
    assert_null(decide(&a, &b, 10));
    a.status = ACCOUNTS_ACCOUNT_FROZEN;
    assert_string_equal(decide(&a, &b, 10), PROTO_DECLINE_ACCOUNT_FROZEN);
    b.status = ACCOUNTS_ACCOUNT_CLOSED; /* closed wins over frozen */
    assert_string_equal(decide(&a, &b, 10), PROTO_DECLINE_ACCOUNT_CLOSED);
    a.status = ACCOUNTS_ACCOUNT_CLOSED;
    b.status = ACCOUNTS_ACCOUNT_ACTIVE;
    assert_string_equal(decide(&a, &b, 10), PROTO_DECLINE_ACCOUNT_CLOSED);
    /* a settlement account's funds are the saga's rule (settlement limit), not the overdraft */
    accounts_record_t s = rec_of("funding", -5000, 0, ACCOUNTS_ACCOUNT_ACTIVE, 0);
    s.settlement = true;
    assert_null(decide(&s, &b, 100000));
}

/* --- the update --------------------------------------------------------------- */

/* account.query update as the gateway sends it; returns the reply's status. */
static uint32_t update(fx_t *fx, const char *id, const char *status, int64_t overdraft,
                       proto_msg_t *reply_out)
{
    proto_msg_t q = query_msg(fx, PROTO_QUERY_UPDATE);
    snprintf(q.body.query.account, sizeof q.body.query.account, "%s", id);
    snprintf(q.body.query.principal, sizeof q.body.query.principal, "ops");
    snprintf(q.body.query.status, sizeof q.body.query.status, "%s", status);
    q.body.query.overdraft_limit_minor = overdraft;
    proto_msg_t reply;
    assert_int_equal(accounts_query(&fx->ctx, &q, &reply), LEDGER_OK);
    uint32_t st = reply.body.account_reply.status;
    if (reply_out)
        *reply_out = reply;
    else
        proto_msg_release(&reply);
    return st;
}

static void test_an_update_writes_one_audit_entry_per_changed_field(void **state)
{
    fx_t *fx = *state;
    uint64_t before = ledger_len(fx);
    proto_msg_t reply;
    assert_int_equal(update(fx, "alice", "frozen", 50000, &reply), 200);
    const proto_account_t *a = &reply.body.account_reply.accounts[0];
    assert_string_equal(a->status, "frozen");
    assert_int_equal(a->overdraft_limit_minor, 50000);
    assert_int_equal(a->balance_minor, ALICE_DEPOSIT);
    proto_msg_release(&reply);
    assert_int_equal(ledger_len(fx), before + 2);
    store_ledger_entry_t e;
    assert_int_equal(store_ledger_get(fx->txn, before + 1, &e), LEDGER_OK);
    assert_string_equal(e.kind, "status");
    assert_string_equal(e.memo, "ops: active -> frozen");
    assert_string_equal(e.transfer, "");
    assert_true(e.balance_delta_minor == 0 && e.held_delta_minor == 0);
    assert_int_equal(e.balance_after_minor, ALICE_DEPOSIT);
    assert_int_equal(store_ledger_get(fx->txn, before + 2, &e), LEDGER_OK);
    assert_string_equal(e.kind, "overdraft");
    assert_string_equal(e.memo, "ops: 0 -> 50000");
    /* the same update again changes nothing, not even the ledger */
    assert_int_equal(update(fx, "alice", "frozen", 50000, NULL), 200);
    assert_int_equal(update(fx, "alice", "", -1, NULL), 200);
    assert_int_equal(ledger_len(fx), before + 2);
    accounts_record_t rec;
    assert_int_equal(accounts_record_get(fx->txn, "alice", &rec), LEDGER_OK);
    assert_int_equal(rec.status, ACCOUNTS_ACCOUNT_FROZEN);
    assert_int_equal(rec.entry_count, 3); /* open + two audit entries */
    assert_ledger_ok(fx);
}

static void test_bad_updates_are_refused_and_change_nothing(void **state)
{
    fx_t *fx = *state;
    snapshot_t before = snapshot(fx, NULL);
    proto_msg_t reply;
    assert_int_equal(update(fx, "nobody", "frozen", -1, NULL), 404);
    assert_int_equal(update(fx, "funding", "frozen", -1, &reply), 400);
    assert_string_equal(reply.body.account_reply.code, "invalid");
    proto_msg_release(&reply);
    assert_int_equal(update(fx, "alice", "asleep", -1, NULL), 400);
    assert_int_equal(update(fx, "alice", "", -2, NULL), 400);
    assert_int_equal(update(fx, "alice", "", ACCOUNTS_OVERDRAFT_MAX_MINOR + 1, NULL), 400);
    assert_int_equal(update(fx, "alice", "closed", -1, &reply), 409); /* not empty */
    assert_string_equal(reply.body.account_reply.code, "account_not_empty");
    proto_msg_release(&reply);
    accounts_controls_result_t res;
    assert_int_equal(accounts_controls_update(&fx->ctx, "alice", "Not An Id", "frozen", -1, &res),
                     LEDGER_OK);
    assert_int_equal(res.status, 400);
    snapshot_t after = snapshot(fx, NULL);
    assert_same(&before, &after);
    assert_int_equal(account(fx, "alice").overdraft_limit_minor, 0);
    assert_string_equal(account(fx, "alice").status, "active");
}

static void test_a_frozen_account_cannot_pay_but_can_be_paid(void **state)
{
    fx_t *fx = *state;
    assert_int_equal(update(fx, "alice", "frozen", -1, NULL), 200);
    snapshot_t before = snapshot(fx, NULL);
    proto_msg_t m = requested(fx, "tr_frozen", "alice", "bob", 100, "GBP");
    apply_ok(fx, &m);
    accounts_transfer_t tr = transfer_state(fx, "tr_frozen");
    assert_int_equal(tr.state, ACCOUNTS_TRANSFER_DECLINED);
    assert_string_equal(tr.code, PROTO_DECLINE_ACCOUNT_FROZEN);
    snapshot_t after = snapshot(fx, NULL);
    assert_int_equal(after.ledger, before.ledger); /* no money moved, no hold */
    assert_int_equal(after.held[1], before.held[1]);
    m = requested(fx, "tr_in", "bob", "alice", 100, "GBP");
    apply_ok(fx, &m);
    assert_int_equal(transfer_state(fx, "tr_in").state, ACCOUNTS_TRANSFER_RESERVED);
    proto_msg_t v = verdict(fx, PROTO_FRAUD_APPROVED, "tr_in");
    apply_ok(fx, &v);
    assert_int_equal(account(fx, "alice").balance_minor, ALICE_DEPOSIT + 100);
    assert_ledger_ok(fx);
}

static void test_a_hold_placed_before_a_freeze_still_settles(void **state)
{
    fx_t *fx = *state;
    proto_msg_t m = requested(fx, "tr_early", "alice", "bob", 300, "GBP");
    apply_ok(fx, &m);
    assert_int_equal(update(fx, "alice", "frozen", -1, NULL), 200);
    proto_msg_t v = verdict(fx, PROTO_FRAUD_APPROVED, "tr_early");
    apply_ok(fx, &v);
    assert_int_equal(transfer_state(fx, "tr_early").state, ACCOUNTS_TRANSFER_SETTLED);
    assert_int_equal(account(fx, "alice").balance_minor, ALICE_DEPOSIT - 300);
    assert_ledger_ok(fx);
}

static void test_a_closed_account_is_final_and_takes_no_money(void **state)
{
    fx_t *fx = *state;
    /* bob empties his account (a withdrawal to the settlement account) and is closed */
    proto_msg_t m = requested(fx, "tr_out", "bob", "funding", BOB_DEPOSIT, "GBP");
    m.body.transfer.kind = PROTO_TRANSFER_KIND_WITHDRAWAL;
    apply_ok(fx, &m);
    proto_msg_t v = verdict(fx, PROTO_FRAUD_APPROVED, "tr_out");
    apply_ok(fx, &v);
    assert_int_equal(account(fx, "bob").balance_minor, 0);
    assert_int_equal(update(fx, "bob", "closed", -1, NULL), 200);
    proto_msg_t reply;
    assert_int_equal(update(fx, "bob", "active", -1, &reply), 409);
    assert_string_equal(reply.body.account_reply.code, "account_closed");
    proto_msg_release(&reply);
    assert_int_equal(update(fx, "bob", "", 100, NULL), 409);
    assert_int_equal(update(fx, "bob", "closed", -1, NULL), 200); /* no change: fine */
    m = requested(fx, "tr_to_closed", "alice", "bob", 100, "GBP");
    apply_ok(fx, &m);
    assert_string_equal(transfer_state(fx, "tr_to_closed").code, PROTO_DECLINE_ACCOUNT_CLOSED);
    assert_int_equal(account(fx, "alice").held_minor, 0);
    assert_ledger_ok(fx);
}

/*  An account with money on its way in cannot be closed: the credit would land where nothing
    can move it out again (found by the security review of issue 21). Once that transfer is
    final (here rejected by fraud), it can. */
static void test_an_account_with_an_open_transfer_into_it_cannot_be_closed(void **state)
{
    fx_t *fx = *state;
    proto_msg_t m = requested(fx, "tr_out", "bob", "funding", BOB_DEPOSIT, "GBP");
    m.body.transfer.kind = PROTO_TRANSFER_KIND_WITHDRAWAL;
    apply_ok(fx, &m);
    proto_msg_t v = verdict(fx, PROTO_FRAUD_APPROVED, "tr_out");
    apply_ok(fx, &v);
    m = requested(fx, "tr_incoming", "alice", "bob", 100, "GBP");
    apply_ok(fx, &m);
    assert_int_equal(transfer_state(fx, "tr_incoming").state, ACCOUNTS_TRANSFER_RESERVED);
    snapshot_t before = snapshot(fx, NULL);
    proto_msg_t reply;
    assert_int_equal(update(fx, "bob", "closed", -1, &reply), 409);
    assert_string_equal(reply.body.account_reply.code, "account_not_empty");
    proto_msg_release(&reply);
    snapshot_t after = snapshot(fx, NULL);
    assert_int_equal(after.ledger, before.ledger); /* no audit entry for a refused change */
    v = verdict(fx, PROTO_FRAUD_REJECTED, "tr_incoming");
    apply_ok(fx, &v);
    assert_int_equal(update(fx, "bob", "closed", -1, NULL), 200);
    assert_ledger_ok(fx);
}

static void test_an_overdraft_lets_an_account_pay_past_zero_down_to_its_limit(void **state)
{
    fx_t *fx = *state;
    assert_int_equal(update(fx, "alice", "", 50000, NULL), 200);
    proto_msg_t m = requested(fx, "tr_od", "alice", "bob", ALICE_DEPOSIT + 40000, "GBP");
    apply_ok(fx, &m);
    assert_int_equal(transfer_state(fx, "tr_od").state, ACCOUNTS_TRANSFER_RESERVED);
    /* holds count: 10000 of the limit are left */
    m = requested(fx, "tr_od2", "alice", "bob", 10001, "GBP");
    apply_ok(fx, &m);
    assert_string_equal(transfer_state(fx, "tr_od2").code, PROTO_DECLINE_INSUFFICIENT_FUNDS);
    proto_msg_t v = verdict(fx, PROTO_FRAUD_APPROVED, "tr_od");
    apply_ok(fx, &v);
    assert_int_equal(account(fx, "alice").balance_minor, -40000);
    assert_ledger_ok(fx);
    /* the limit cannot go below what the account uses of it; closing needs zero */
    assert_int_equal(update(fx, "alice", "", 39999, NULL), 400);
    assert_int_equal(update(fx, "alice", "", 40000, NULL), 200);
    assert_int_equal(update(fx, "alice", "closed", -1, NULL), 409);
    assert_ledger_ok(fx);
}

/*  With the balance cache (the node's way), an update writes the record through to the table,
    so the start-up replay, which rebuilds amounts only, never loses a status. */
static void test_an_update_is_written_through_the_balance_cache(void **state)
{
    fx_t *fx = *state;
    accounts_cache_config_t config = {.checkpoint_ms = 1000000, .dirty_max = 1000, .chunk = 16};
    accounts_cache_t *cache = accounts_cache_new(&config);
    assert_non_null(cache);
    fx->ctx.state = cache;
    accounts_cache_txn_begin(cache);
    proto_msg_t m = requested(fx, "tr_c", "alice", "bob", 700, "GBP");
    apply_ok(fx, &m); /* alice's hold: dirty in the cache */
    assert_int_equal(update(fx, "alice", "frozen", -1, NULL), 200);
    accounts_record_t in_table, in_cache;
    assert_int_equal(accounts_record_get(fx->txn, "alice", &in_table), LEDGER_OK);
    assert_true(accounts_cache_get(cache, "alice", &in_cache));
    assert_memory_equal(&in_table, &in_cache, sizeof in_table);
    assert_int_equal(in_table.status, ACCOUNTS_ACCOUNT_FROZEN);
    assert_int_equal(in_table.held_minor, 700);
    uint64_t replayed = 99;
    assert_int_equal(accounts_cache_replay(fx->txn, &replayed), LEDGER_OK);
    assert_int_equal(replayed, 0); /* the table is current */
    accounts_cache_txn_end(cache, true);
    fx->ctx.state = NULL;
    accounts_cache_destroy(&cache);
}

/* --- balance_at and statement through account.query ----------------------------- */

static void test_balance_at_and_statement_answer_from_the_ledger(void **state)
{
    fx_t *fx = *state;
    uint64_t t_open = fx->ctx.now_ms;
    fx->ctx.now_ms += 1000;
    proto_msg_t m = requested(fx, "tr_h", "alice", "bob", 2500, "GBP");
    apply_ok(fx, &m);
    fx->ctx.now_ms += 1000;
    assert_int_equal(update(fx, "alice", "frozen", -1, NULL), 200);

    proto_msg_t q = query_msg(fx, PROTO_QUERY_BALANCE_AT);
    snprintf(q.body.query.account, sizeof q.body.query.account, "alice");
    q.body.query.at_ms = t_open + 999; /* before the hold */
    proto_msg_t reply;
    assert_int_equal(accounts_query(&fx->ctx, &q, &reply), LEDGER_OK);
    assert_int_equal(reply.body.account_reply.status, 200);
    assert_int_equal(reply.body.account_reply.accounts[0].balance_minor, ALICE_DEPOSIT);
    assert_int_equal(reply.body.account_reply.accounts[0].held_minor, 0);
    proto_msg_release(&reply);
    q.body.query.at_ms = t_open + 1000;
    assert_int_equal(accounts_query(&fx->ctx, &q, &reply), LEDGER_OK);
    assert_int_equal(reply.body.account_reply.accounts[0].held_minor, 2500);
    proto_msg_release(&reply);
    snprintf(q.body.query.account, sizeof q.body.query.account, "nobody");
    assert_int_equal(accounts_query(&fx->ctx, &q, &reply), LEDGER_OK);
    assert_int_equal(reply.body.account_reply.status, 404);
    proto_msg_release(&reply);

    q = query_msg(fx, PROTO_QUERY_STATEMENT);
    snprintf(q.body.query.account, sizeof q.body.query.account, "alice");
    q.body.query.from_ms = t_open + 1;
    q.body.query.to_ms = t_open + 5000;
    q.body.query.limit = 1;
    assert_int_equal(accounts_query(&fx->ctx, &q, &reply), LEDGER_OK);
    proto_account_reply_t *r = &reply.body.account_reply;
    assert_int_equal(r->status, 200);
    assert_int_equal(r->accounts[0].balance_minor, ALICE_DEPOSIT); /* opening: after the open */
    assert_int_equal(r->entry_count, 1);
    assert_string_equal(r->entries[0].kind, "hold");
    assert_int_equal(r->entries[0].amount_minor, 2500);
    char next[sizeof r->next];
    snprintf(next, sizeof next, "%s", r->next);
    assert_int_equal(strtoull(next, NULL, 10), r->entries[0].seq);
    proto_msg_release(&reply);
    q.body.query.cursor = strtoull(next, NULL, 10);
    assert_int_equal(accounts_query(&fx->ctx, &q, &reply), LEDGER_OK);
    r = &reply.body.account_reply;
    assert_int_equal(r->entry_count, 1);
    assert_string_equal(r->entries[0].kind, "status");
    assert_string_equal(r->entries[0].memo, "ops: active -> frozen");
    assert_int_equal(r->accounts[0].held_minor, 2500); /* this page's opening */
    assert_string_equal(r->next, "");
    proto_msg_release(&reply);
    q.body.query.cursor = newest_entry(fx, "bob").seq; /* not alice's */
    assert_int_equal(accounts_query(&fx->ctx, &q, &reply), LEDGER_OK);
    assert_int_equal(reply.body.account_reply.status, 400);
    assert_string_equal(reply.body.account_reply.code, "invalid_cursor");
    proto_msg_release(&reply);
}

/*  The holds op answers the account and its open holds (the saga's index, accounts_holds.h)
    from the same read. */
static void test_the_holds_op_answers_the_account_and_its_holds(void **state)
{
    fx_t *fx = *state;
    proto_msg_t m = requested(fx, "tr_held", "alice", "bob", 1234, "GBP");
    apply_ok(fx, &m);
    proto_msg_t q = query_msg(fx, PROTO_QUERY_HOLDS);
    snprintf(q.body.query.account, sizeof q.body.query.account, "alice");
    q.body.query.limit = 10;
    proto_msg_t reply;
    assert_int_equal(accounts_query(&fx->ctx, &q, &reply), LEDGER_OK);
    assert_int_equal(reply.body.account_reply.status, 200);
    assert_int_equal(reply.body.account_reply.account_count, 1);
    assert_string_equal(reply.body.account_reply.accounts[0].id, "alice");
    assert_int_equal(reply.body.account_reply.accounts[0].held_minor, 1234);
    assert_int_equal(reply.body.account_reply.hold_count, 1);
    assert_string_equal(reply.body.account_reply.holds[0].transfer, "tr_held");
    assert_int_equal(reply.body.account_reply.holds[0].amount_minor, 1234);
    assert_string_equal(reply.body.account_reply.next, "");
    proto_msg_release(&reply);
    snprintf(q.body.query.account, sizeof q.body.query.account, "nobody");
    assert_int_equal(accounts_query(&fx->ctx, &q, &reply), LEDGER_OK);
    assert_int_equal(reply.body.account_reply.status, 404);
    assert_null(reply.body.account_reply.holds);
    proto_msg_release(&reply);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup_alice_bob, teardown)

TEST_MAIN(cmocka_unit_test(test_decide_applies_closed_then_frozen_then_the_overdraft),
          T(test_an_update_writes_one_audit_entry_per_changed_field),
          T(test_bad_updates_are_refused_and_change_nothing),
          T(test_a_frozen_account_cannot_pay_but_can_be_paid),
          T(test_a_hold_placed_before_a_freeze_still_settles),
          T(test_a_closed_account_is_final_and_takes_no_money),
          T(test_an_account_with_an_open_transfer_into_it_cannot_be_closed),
          T(test_an_overdraft_lets_an_account_pay_past_zero_down_to_its_limit),
          T(test_an_update_is_written_through_the_balance_cache),
          T(test_balance_at_and_statement_answer_from_the_ledger),
          T(test_the_holds_op_answers_the_account_and_its_holds))

/*  accounts_cause_test.c: the verdict cause rule of issue 19 (accounts_saga.h, "Verdict
    cause"): a reservation keeps the seq of its funds.reserved; a verdict that cites it is
    applied; one that cites another seq, another origin or nothing is refused with
    LEDGER_E_INVALID and a reason, and changes nothing (balances, holds, the transfer record,
    ledger, outbox); a transfer record of an older version (no reserved_seq) checks the origin
    only; the saga guard still comes first. On the shared fixture (accounts_fixture.h).
*/
#include "accounts_fixture.h"
#include "test_main.h"

#define WHY_BYTES 256

/* Reserves alice -> bob `amount` as `transfer`; the seq of the funds.reserved it emitted. */
static uint64_t reserve(fx_t *fx, const char *transfer, int64_t amount_minor)
{
    uint64_t outbox_before = count_of(fx, STORE_DB_OUTBOX);
    proto_msg_t req = requested(fx, transfer, "alice", "bob", amount_minor, "GBP");
    apply_ok(fx, &req);
    char peer[STORE_PEER_MAX + 1];
    proto_msg_t to_fraud = outbox_nth(fx, (size_t)outbox_before, peer);
    assert_string_equal(peer, NODE_PEER_FRAUD);
    assert_int_equal(to_fraud.type, PROTO_FUNDS_RESERVED);
    assert_string_equal(to_fraud.origin, "accounts");
    accounts_transfer_t tr = transfer_state(fx, transfer);
    assert_int_equal(tr.state, ACCOUNTS_TRANSFER_RESERVED);
    assert_int_equal(tr.reserved_seq, to_fraud.seq);
    assert_int_equal(tr.version, ACCOUNTS_TRANSFER_VERSION);
    return to_fraud.seq;
}

/* A verdict of `type` for `transfer` citing `cause`. */
static proto_msg_t verdict_citing(fx_t *fx, proto_type_t type, const char *transfer,
                                  const char *cause)
{
    proto_msg_t m = verdict(fx, type, transfer);
    snprintf(m.cause, sizeof m.cause, "%s", cause);
    return m;
}

/* Applies `m`, expects it refused with `why` and nothing changed. */
static void expect_refused(fx_t *fx, const proto_msg_t *m, const char *why)
{
    const char *transfer = m->body.verdict.transfer;
    snapshot_t before = snapshot(fx, transfer);
    char got[WHY_BYTES] = "";
    assert_int_equal(accounts_saga_apply(&fx->ctx, m, NULL, got, sizeof got), LEDGER_E_INVALID);
    assert_string_equal(got, why);
    snapshot_t after = snapshot(fx, transfer);
    assert_same(&before, &after);
    assert_int_equal(transfer_state(fx, transfer).state, ACCOUNTS_TRANSFER_RESERVED);
    assert_ledger_ok(fx);
}

static void test_a_verdict_citing_the_funds_reserved_is_applied(void **state)
{
    fx_t *fx = *state;
    uint64_t seq = reserve(fx, "t1", 10000);
    char cause[PROTO_ID_MAX + 1];
    snprintf(cause, sizeof cause, "accounts/%" PRIu64, seq);
    proto_msg_t ok = verdict_citing(fx, PROTO_FRAUD_APPROVED, "t1", cause);
    char why[WHY_BYTES] = "";
    assert_int_equal(accounts_saga_apply(&fx->ctx, &ok, NULL, why, sizeof why), LEDGER_OK);
    assert_string_equal(why, "");
    accounts_transfer_t tr = transfer_state(fx, "t1");
    assert_int_equal(tr.state, ACCOUNTS_TRANSFER_SETTLED);
    assert_int_equal(tr.reserved_seq, seq); /* kept past the reservation */
    assert_int_equal(account(fx, "alice").balance_minor, ALICE_DEPOSIT - 10000);
    assert_int_equal(account(fx, "bob").balance_minor, BOB_DEPOSIT + 10000);

    uint64_t seq2 = reserve(fx, "t2", 500);
    assert_true(seq2 > seq);
    snprintf(cause, sizeof cause, "accounts/%" PRIu64, seq2);
    proto_msg_t no = verdict_citing(fx, PROTO_FRAUD_REJECTED, "t2", cause);
    apply_ok(fx, &no);
    assert_int_equal(transfer_state(fx, "t2").state, ACCOUNTS_TRANSFER_RELEASED);
    assert_int_equal(account(fx, "alice").held_minor, 0);
    assert_ledger_ok(fx);
}

static void test_a_verdict_citing_another_seq_is_refused_and_changes_nothing(void **state)
{
    fx_t *fx = *state;
    uint64_t seq1 = reserve(fx, "t1", 10000);
    uint64_t seq2 = reserve(fx, "t2", 2000);
    char cause[PROTO_ID_MAX + 1], why[WHY_BYTES];
    /* t2's funds.reserved is a real message of this node, but not t1's */
    snprintf(cause, sizeof cause, "accounts/%" PRIu64, seq2);
    snprintf(why, sizeof why, "verdict cites cause accounts/%" PRIu64 ", not accounts/%" PRIu64,
             seq2, seq1);
    proto_msg_t ok = verdict_citing(fx, PROTO_FRAUD_APPROVED, "t1", cause);
    expect_refused(fx, &ok, why);
    proto_msg_t no = verdict_citing(fx, PROTO_FRAUD_REJECTED, "t1", cause);
    expect_refused(fx, &no, why);
    snprintf(cause, sizeof cause, "accounts/%" PRIu64, seq1 + 1000);
    snprintf(why, sizeof why, "verdict cites cause %s, not accounts/%" PRIu64, cause, seq1);
    ok = verdict_citing(fx, PROTO_FRAUD_APPROVED, "t1", cause);
    expect_refused(fx, &ok, why);
    assert_int_equal(account(fx, "alice").held_minor, 12000);

    /* the real verdict still settles it, once */
    ok = verdict(fx, PROTO_FRAUD_APPROVED, "t1");
    apply_ok(fx, &ok);
    assert_int_equal(transfer_state(fx, "t1").state, ACCOUNTS_TRANSFER_SETTLED);
    assert_int_equal(account(fx, "alice").balance_minor, ALICE_DEPOSIT - 10000);
    assert_int_equal(account(fx, "alice").held_minor, 2000);
}

static void test_a_verdict_citing_another_origin_or_nothing_is_refused(void **state)
{
    fx_t *fx = *state;
    uint64_t seq = reserve(fx, "t1", 10000);
    char cause[PROTO_ID_MAX + 1], why[WHY_BYTES];
    snprintf(cause, sizeof cause, "fraud/%" PRIu64, seq); /* right number, wrong node */
    snprintf(why, sizeof why, "verdict cites cause %s, not accounts/%" PRIu64, cause, seq);
    proto_msg_t ok = verdict_citing(fx, PROTO_FRAUD_APPROVED, "t1", cause);
    expect_refused(fx, &ok, why);
    snprintf(cause, sizeof cause, "gateway/%" PRIu64, seq);
    snprintf(why, sizeof why, "verdict cites cause %s, not accounts/%" PRIu64, cause, seq);
    ok = verdict_citing(fx, PROTO_FRAUD_APPROVED, "t1", cause);
    expect_refused(fx, &ok, why);
    snprintf(why, sizeof why, "verdict cites cause \"\", not accounts/%" PRIu64, seq);
    ok = verdict_citing(fx, PROTO_FRAUD_APPROVED, "t1", "");
    expect_refused(fx, &ok, why);
    /* the runtime may pass no buffer for the reason */
    assert_int_equal(accounts_saga_apply(&fx->ctx, &ok, NULL, NULL, 0), LEDGER_E_INVALID);
    assert_int_equal(transfer_state(fx, "t1").state, ACCOUNTS_TRANSFER_RESERVED);
}

/*  Rewrites the stored record of `transfer` as the older version `version` (2: no
    reserved_seq; 1: no kind, principal or reserved_seq), as a build before format 4 wrote it. */
static void store_as_version(fx_t *fx, const char *transfer, uint8_t version)
{
    accounts_transfer_t tr = transfer_state(fx, transfer);
    tr.principal[0] = '\0';
    uint8_t buf[ACCOUNTS_TRANSFER_MAX_BYTES];
    size_t len;
    assert_int_equal(accounts_record_transfer_encode(&tr, buf, sizeof buf, &len), LEDGER_OK);
    len -= ACCOUNTS_TRANSFER_V4_EXTRA_BYTES + 8; /* version 4's fields, then reserved_seq */
    if (version == ACCOUNTS_TRANSFER_VERSION_1)
        len -= 2; /* kind and the principal's length byte ("") */
    buf[0] = version;
    assert_int_equal(
        store_put(fx->txn, STORE_DB_TRANSFERS, transfer, strlen(transfer), buf, len, 0), LEDGER_OK);
    accounts_transfer_t back = transfer_state(fx, transfer);
    assert_int_equal(back.version, version);
    assert_int_equal(back.reserved_seq, 0);
    assert_int_equal(back.state, ACCOUNTS_TRANSFER_RESERVED);
}

static void test_an_older_record_checks_the_origin_only(void **state)
{
    fx_t *fx = *state;
    uint64_t seq1 = reserve(fx, "t1", 10000);
    reserve(fx, "t2", 2000);
    store_as_version(fx, "t1", ACCOUNTS_TRANSFER_VERSION_2);
    store_as_version(fx, "t2", ACCOUNTS_TRANSFER_VERSION_1);

    char cause[PROTO_ID_MAX + 1], why[WHY_BYTES];
    snprintf(cause, sizeof cause, "fraud/%" PRIu64, seq1);
    snprintf(why, sizeof why, "verdict cites cause %s, not a message of accounts", cause);
    proto_msg_t ok = verdict_citing(fx, PROTO_FRAUD_APPROVED, "t1", cause);
    expect_refused(fx, &ok, why);
    proto_msg_t no = verdict_citing(fx, PROTO_FRAUD_REJECTED, "t2", "");
    expect_refused(fx, &no, "verdict cites cause \"\", not a message of accounts");

    /* any message of this node will do: the seq was never kept */
    ok = verdict_citing(fx, PROTO_FRAUD_APPROVED, "t1", "accounts/999999");
    apply_ok(fx, &ok);
    no = verdict_citing(fx, PROTO_FRAUD_REJECTED, "t2", "accounts/1");
    apply_ok(fx, &no);
    accounts_transfer_t t1 = transfer_state(fx, "t1"), t2 = transfer_state(fx, "t2");
    assert_int_equal(t1.state, ACCOUNTS_TRANSFER_SETTLED);
    assert_int_equal(t2.state, ACCOUNTS_TRANSFER_RELEASED);
    assert_int_equal(t1.version, ACCOUNTS_TRANSFER_VERSION); /* written back as the newest */
    assert_int_equal(t1.reserved_seq, 0);
    assert_int_equal(t2.kind, PROTO_TRANSFER_KIND_TRANSFER);
    assert_int_equal(account(fx, "alice").balance_minor, ALICE_DEPOSIT - 10000);
    assert_int_equal(account(fx, "alice").held_minor, 0);
    assert_ledger_ok(fx);
}

static void test_the_saga_guard_comes_before_the_cause(void **state)
{
    fx_t *fx = *state;
    reserve(fx, "t1", 10000);
    proto_msg_t ok = verdict(fx, PROTO_FRAUD_APPROVED, "t1");
    apply_ok(fx, &ok);
    /* past RESERVED, or unknown: acked and ignored whatever it cites, as before */
    snapshot_t before = snapshot(fx, "t1");
    proto_msg_t late = verdict_citing(fx, PROTO_FRAUD_REJECTED, "t1", "fraud/1");
    apply_ok(fx, &late);
    proto_msg_t unknown = verdict_citing(fx, PROTO_FRAUD_APPROVED, "nope", "fraud/1");
    apply_ok(fx, &unknown);
    snapshot_t after = snapshot(fx, "t1");
    assert_same(&before, &after);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup_alice_bob, teardown)

TEST_MAIN(T(test_a_verdict_citing_the_funds_reserved_is_applied),
          T(test_a_verdict_citing_another_seq_is_refused_and_changes_nothing),
          T(test_a_verdict_citing_another_origin_or_nothing_is_refused),
          T(test_an_older_record_checks_the_origin_only),
          T(test_the_saga_guard_comes_before_the_cause))

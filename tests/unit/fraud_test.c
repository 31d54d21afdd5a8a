/*  fraud_test.c: the fraud node's rules, decisions and risk state, driven
    without sockets (a store in a temporary directory, one write
    transaction, the outbox decoded with proto_decode), and the parsing of
    rules from text and from files.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fraud.h"
#include "test_msg.h"
#include "test_node.h"
#include "test_main.h"

#define T0_MS 1700000000000ULL
#define WINDOW_MS 60000ULL

typedef struct {
    test_node_t node;
    fraud_rules_t rules;
    int transfer_no; /* for fresh transfer ids */
} fx_t;

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    test_node_open(&fx->node, "fraud_test", "fraud", T0_MS);
    fraud_rules_defaults(&fx->rules);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    test_node_close(&fx->node);
    free(fx);
    return 0;
}

/* --- helpers --------------------------------------------------------------- */

static proto_msg_t reserved_msg(fx_t *fx, const char *transfer, const char *from, const char *to,
                                int64_t amount_minor)
{
    return test_transfer_msg(PROTO_FUNDS_RESERVED, "accounts", ++fx->node.in_seq,
                             fx->node.ctx.now_ms, transfer, from, to, amount_minor, "GBP");
}

static uint64_t count_of(fx_t *fx, store_db_t db)
{
    uint64_t n = 0;
    assert_int_equal(store_count(fx->node.txn, db, &n), LEDGER_OK);
    return n;
}

/* The last outbox entry, decoded. */
static proto_msg_t last_out(fx_t *fx, char peer[STORE_PEER_MAX + 1])
{
    store_outbox_entry_t e, last;
    uint64_t after = 0;
    bool any = false;
    while (store_outbox_next(fx->node.txn, after, &e) == LEDGER_OK) {
        last = e;
        after = e.seq;
        any = true;
    }
    assert_true(any);
    proto_msg_t m;
    char why[256];
    if (proto_decode(last.msg, last.msg_size, &m, why, sizeof why) != LEDGER_OK)
        fail_msg("outbox entry does not decode: %s", why);
    snprintf(peer, STORE_PEER_MAX + 1, "%s", last.peer);
    return m;
}

/* The last two outbox entries are one verdict, to accounts (which acts on it) and to the
   gateway (which shows it): same bytes, those two peers, in that order. */
static void assert_verdict_sent_to_accounts_and_gateway(fx_t *fx)
{
    store_outbox_entry_t e, prev = {0}, last = {0};
    uint64_t after = 0;
    size_t n = 0;
    while (store_outbox_next(fx->node.txn, after, &e) == LEDGER_OK) {
        prev = last;
        last = e;
        after = e.seq;
        n++;
    }
    assert_true(n >= 2);
    assert_string_equal(prev.peer, NODE_PEER_ACCOUNTS);
    assert_string_equal(last.peer, NODE_PEER_GATEWAY);
    assert_int_equal(prev.msg_size, last.msg_size);
    assert_memory_equal(prev.msg, last.msg, last.msg_size);
}

/* Sends a fresh transfer through fraud_apply and returns the verdict it emitted. */
static proto_msg_t decide(fx_t *fx, const char *from, const char *to, int64_t amount_minor)
{
    char id[32];
    snprintf(id, sizeof id, "t%d", ++fx->transfer_no);
    proto_msg_t m = reserved_msg(fx, id, from, to, amount_minor);
    uint64_t outbox_before = count_of(fx, STORE_DB_OUTBOX);
    assert_int_equal(fraud_apply(&fx->node.ctx, &fx->rules, &m), LEDGER_OK);
    assert_int_equal(count_of(fx, STORE_DB_OUTBOX), outbox_before + 2);
    assert_verdict_sent_to_accounts_and_gateway(fx);
    char peer[STORE_PEER_MAX + 1];
    proto_msg_t v = last_out(fx, peer);
    assert_string_equal(v.corr, id);
    assert_string_equal(v.body.verdict.transfer, id);
    return v;
}

static void assert_approved(const proto_msg_t *v)
{
    if (v->type != PROTO_FRAUD_APPROVED)
        fail_msg("expected approval, got rejection: %s", v->body.verdict.reason);
    assert_int_equal(v->body.verdict.rule_count, 0);
}

/* The verdict is a rejection with exactly the given rules, in order. */
static void assert_rejected(const proto_msg_t *v, size_t n, const char *const *rules)
{
    assert_int_equal(v->type, PROTO_FRAUD_REJECTED);
    assert_int_equal(v->body.verdict.rule_count, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(v->body.verdict.rules[i], rules[i]);
    assert_true(strlen(v->body.verdict.reason) > 0);
}

static void assert_rejected_by(const proto_msg_t *v, const char *rule)
{
    assert_rejected(v, 1, &rule);
}

/* decide() from -> to of amount_minor is approved. */
static void expect_approved(fx_t *fx, const char *from, const char *to, int64_t amount_minor)
{
    proto_msg_t v = decide(fx, from, to, amount_minor);
    assert_approved(&v);
}

/* decide() from -> to of amount_minor is rejected by `rule` alone, with `reason`. */
static void expect_rejected(fx_t *fx, const char *from, const char *to, int64_t amount_minor,
                            const char *rule, const char *reason)
{
    proto_msg_t v = decide(fx, from, to, amount_minor);
    assert_rejected_by(&v, rule);
    assert_string_equal(v.body.verdict.reason, reason);
}

/* --- decisions ------------------------------------------------------------- */

static void test_small_transfer_is_approved_and_the_decision_stored(void **state)
{
    fx_t *fx = *state;
    proto_msg_t m = reserved_msg(fx, "t-ok", "alice", "bob", 1000);
    assert_int_equal(fraud_apply(&fx->node.ctx, &fx->rules, &m), LEDGER_OK);
    assert_verdict_sent_to_accounts_and_gateway(fx);
    char peer[STORE_PEER_MAX + 1];
    proto_msg_t v = last_out(fx, peer);
    assert_int_equal(v.type, PROTO_FRAUD_APPROVED);
    assert_string_equal(v.corr, "t-ok");
    assert_string_equal(v.cause, "accounts/1");
    assert_string_equal(v.origin, "fraud");
    assert_int_equal(v.body.verdict.rule_count, 0);
    assert_string_equal(v.body.verdict.reason, "no rule fired");
    assert_int_equal(fx->node.ctx.published_count, 1);

    fraud_decision_t d;
    assert_int_equal(fraud_decision_get(fx->node.txn, "t-ok", &d), LEDGER_OK);
    assert_int_equal(d.verdict, FRAUD_APPROVED);
    assert_int_equal(d.rule_count, 0);
    assert_string_equal(d.reason, "no rule fired");
    assert_int_equal(d.ts_ms, T0_MS);
    assert_int_equal(d.amount_minor, 1000);
    assert_string_equal(d.currency, "GBP");
    assert_string_equal(d.from, "alice");
    assert_string_equal(d.to, "bob");
    /* risk state: one velocity entry, one known payee */
    assert_int_equal(count_of(fx, STORE_DB_RISK), 2);
}

static void test_rejection_is_stored_with_its_rules_and_reason(void **state)
{
    fx_t *fx = *state;
    proto_msg_t v = decide(fx, "alice", "mallory", 100);
    assert_rejected_by(&v, "blocklisted_account");
    fraud_decision_t d;
    assert_int_equal(fraud_decision_get(fx->node.txn, "t1", &d), LEDGER_OK);
    assert_int_equal(d.verdict, FRAUD_REJECTED);
    assert_int_equal(d.rule_count, 1);
    assert_string_equal(d.rules[0], "blocklisted_account");
    assert_string_equal(d.reason, v.body.verdict.reason);
    assert_int_equal(count_of(fx, STORE_DB_RISK), 0); /* nothing learned from a rejection */
    assert_int_equal(fraud_decision_get(fx->node.txn, "nope", &d), LEDGER_E_NOT_FOUND);
}

static void test_amount_over_threshold_fires_alone(void **state)
{
    fx_t *fx = *state;
    expect_approved(fx, "alice", "bob", 100);    /* bob becomes a known payee */
    expect_approved(fx, "alice", "bob", 100000); /* exactly the limit: not above */
    fx->node.ctx.now_ms += WINDOW_MS;            /* keep velocity out of it */
    expect_rejected(fx, "alice", "bob", 150000, "amount_over_threshold",
                    "amount 1500.00 above limit 1000.00");
}

static void test_velocity_count_fires_alone(void **state)
{
    fx_t *fx = *state;
    for (int i = 0; i < 5; i++) {
        fx->node.ctx.now_ms = T0_MS + (uint64_t)i * 1000;
        expect_approved(fx, "alice", "bob", 100);
    }
    fx->node.ctx.now_ms = T0_MS + 10000;
    expect_rejected(fx, "alice", "bob", 100, "velocity_count", "6 transfers in 60 s above limit 5");
    /* other sources are not affected */
    expect_approved(fx, "carol", "bob", 100);
}

static void test_velocity_sum_fires_alone(void **state)
{
    fx_t *fx = *state;
    expect_approved(fx, "alice", "bob", 100); /* learn the payee */
    expect_approved(fx, "alice", "bob", 100000);
    expect_approved(fx, "alice", "bob", 100000);
    expect_approved(fx, "alice", "bob", 99900); /* sum 3000.00: not above */
    expect_rejected(fx, "alice", "bob", 1, "velocity_sum",
                    "3000.01 sent in 60 s above limit 3000.00");
}

static void test_blocklisted_source_or_destination_fires(void **state)
{
    fx_t *fx = *state;
    expect_rejected(fx, "alice", "mallory", 100, "blocklisted_account",
                    "blocklisted account mallory");
    proto_msg_t v = decide(fx, "mallory", "alice", 100);
    assert_rejected_by(&v, "blocklisted_account");
    assert_int_equal(fraud_rules_set(&fx->rules, "blocklist", "mallory,eve", NULL, 0), LEDGER_OK);
    expect_rejected(fx, "eve", "mallory", 100, "blocklisted_account",
                    "blocklisted accounts eve and mallory");
}

static void test_new_payee_large_amount_fires_alone(void **state)
{
    fx_t *fx = *state;
    expect_rejected(fx, "alice", "carol", 50001, "new_payee_large_amount",
                    "first payment to carol of 500.01 above new payee limit 500.00");
    expect_approved(fx, "alice", "carol", 50000); /* exactly the limit: not above */
}

static void test_a_deposit_is_approved_without_rules_and_teaches_nothing(void **state)
{
    fx_t *fx = *state;
    uint64_t risk_before = count_of(fx, STORE_DB_RISK);
    /* over the threshold, to a blocklisted account, a first payment: a transfer would fire */
    proto_msg_t m = reserved_msg(fx, "dep1", "funding", "mallory", 9000000);
    m.body.transfer.kind = PROTO_TRANSFER_KIND_DEPOSIT;
    snprintf(m.body.transfer.principal, sizeof m.body.transfer.principal, "ops");
    assert_int_equal(fraud_apply(&fx->node.ctx, &fx->rules, &m), LEDGER_OK);
    assert_verdict_sent_to_accounts_and_gateway(fx);
    char peer[STORE_PEER_MAX + 1];
    proto_msg_t v = last_out(fx, peer);
    assert_approved(&v);
    assert_string_equal(v.body.verdict.reason, FRAUD_DEPOSIT_REASON);
    fraud_decision_t d;
    assert_int_equal(fraud_decision_get(fx->node.ctx.txn, "dep1", &d), LEDGER_OK);
    assert_int_equal(d.verdict, FRAUD_APPROVED);
    assert_int_equal(count_of(fx, STORE_DB_RISK), risk_before); /* no velocity, no payee */
    /* a withdrawal is evaluated like a transfer */
    m = reserved_msg(fx, "wd1", "mallory", "funding", 100);
    m.body.transfer.kind = PROTO_TRANSFER_KIND_WITHDRAWAL;
    assert_int_equal(fraud_apply(&fx->node.ctx, &fx->rules, &m), LEDGER_OK);
    v = last_out(fx, peer);
    assert_rejected_by(&v, "blocklisted_account");
}

static void test_known_payee_is_learned_after_approval(void **state)
{
    fx_t *fx = *state;
    proto_msg_t v = decide(fx, "alice", "dave", 60000);
    assert_rejected_by(&v, "new_payee_large_amount");
    v = decide(fx, "alice", "dave", 60000); /* a rejection teaches nothing */
    assert_rejected_by(&v, "new_payee_large_amount");
    expect_approved(fx, "alice", "dave", 1000);
    expect_approved(fx, "alice", "dave", 60000);
    /* known payees are per source */
    v = decide(fx, "bob", "dave", 60000);
    assert_rejected_by(&v, "new_payee_large_amount");
}

static void test_several_rules_fire_together(void **state)
{
    fx_t *fx = *state;
    for (int i = 0; i < 5; i++) {
        expect_approved(fx, "alice", "bob", 30000); /* 5 x 300.00: at the limits */
    }
    /* the 6th transfer, 1500.00 + 2000.00 in the window, to a blocklisted new payee */
    proto_msg_t v = decide(fx, "alice", "mallory", 200000);
    static const char *const all[] = {"amount_over_threshold", "velocity_count", "velocity_sum",
                                      "blocklisted_account", "new_payee_large_amount"};
    assert_rejected(&v, 5, all);
    assert_non_null(strstr(v.body.verdict.reason, "amount 2000.00 above limit 1000.00; "));
    assert_non_null(strstr(v.body.verdict.reason, "; blocklisted account mallory; "));
    assert_true(strlen(v.body.verdict.reason) <= PROTO_REASON_MAX);
}

static void test_velocity_window_slides_with_time(void **state)
{
    fx_t *fx = *state;
    for (int i = 0; i < 5; i++) {
        fx->node.ctx.now_ms = T0_MS + (uint64_t)i * 1000;
        expect_approved(fx, "alice", "bob", 100);
    }
    assert_int_equal(count_of(fx, STORE_DB_RISK), 6); /* 5 velocity entries + 1 payee */
    fx->node.ctx.now_ms = T0_MS + WINDOW_MS - 1;      /* the first one is still inside */
    proto_msg_t v = decide(fx, "alice", "bob", 100);
    assert_rejected_by(&v, "velocity_count");
    fx->node.ctx.now_ms = T0_MS + WINDOW_MS; /* the first one has left: pruned */
    expect_approved(fx, "alice", "bob", 100);
    assert_int_equal(count_of(fx, STORE_DB_RISK), 6);
    fx->node.ctx.now_ms = T0_MS + WINDOW_MS + 1000; /* the second has left too */
    expect_approved(fx, "alice", "bob", 100);
    fx->node.ctx.now_ms = T0_MS + 10 * WINDOW_MS; /* all gone */
    expect_approved(fx, "alice", "bob", 100);
    assert_int_equal(count_of(fx, STORE_DB_RISK), 2);
}

static void test_rules_set_to_zero_are_off(void **state)
{
    fx_t *fx = *state;
    static const char *const keys[] = {"amount_threshold_minor", "velocity_max_count",
                                       "velocity_max_sum_minor", "new_payee_limit_minor"};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(fraud_rules_set(&fx->rules, keys[i], "0", NULL, 0), LEDGER_OK);
    assert_int_equal(fraud_rules_set(&fx->rules, "blocklist", "", NULL, 0), LEDGER_OK);
    for (int i = 0; i < 10; i++) {
        expect_approved(fx, "mallory", "bob", 1000000);
    }
    assert_int_equal(fraud_rules_set(&fx->rules, "velocity_window_ms", "0", NULL, 0), LEDGER_OK);
    assert_int_equal(fraud_rules_set(&fx->rules, "velocity_max_count", "1", NULL, 0), LEDGER_OK);
    expect_approved(fx, "mallory", "bob", 1000000);
}

/* --- replays and other types ----------------------------------------------- */

typedef struct {
    uint64_t outbox, risk, decisions;
    uint8_t decision[1024];
    size_t decision_size;
} snapshot_t;

static snapshot_t snapshot(fx_t *fx, const char *transfer)
{
    snapshot_t s;
    memset(&s, 0, sizeof s);
    s.outbox = count_of(fx, STORE_DB_OUTBOX);
    s.risk = count_of(fx, STORE_DB_RISK);
    s.decisions = count_of(fx, STORE_DB_DECISIONS);
    const void *val;
    size_t size;
    if (transfer && store_get(fx->node.txn, STORE_DB_DECISIONS, transfer, strlen(transfer), &val,
                              &size) == LEDGER_OK) {
        assert_true(size <= sizeof s.decision);
        memcpy(s.decision, val, size);
        s.decision_size = size;
    }
    return s;
}

static void assert_same(const snapshot_t *a, const snapshot_t *b)
{
    assert_int_equal(a->outbox, b->outbox);
    assert_int_equal(a->risk, b->risk);
    assert_int_equal(a->decisions, b->decisions);
    assert_int_equal(a->decision_size, b->decision_size);
    assert_memory_equal(a->decision, b->decision, a->decision_size);
}

static void test_replayed_reserved_changes_nothing(void **state)
{
    fx_t *fx = *state;
    proto_msg_t ok = reserved_msg(fx, "t-ok", "alice", "bob", 100);
    proto_msg_t no = reserved_msg(fx, "t-no", "alice", "mallory", 100);
    assert_int_equal(fraud_apply(&fx->node.ctx, &fx->rules, &ok), LEDGER_OK);
    assert_int_equal(fraud_apply(&fx->node.ctx, &fx->rules, &no), LEDGER_OK);
    const proto_msg_t *msgs[2] = {&ok, &no};
    for (size_t i = 0; i < 2; i++) {
        const char *id = msgs[i]->body.transfer.transfer;
        snapshot_t before = snapshot(fx, id);
        size_t published = fx->node.ctx.published_count;
        fx->node.ctx.now_ms += 1000;
        assert_int_equal(fraud_apply(&fx->node.ctx, &fx->rules, msgs[i]), LEDGER_OK);
        /* the same transfer under a new message id, even with other rules, is guarded too */
        proto_msg_t again = reserved_msg(fx, id, "alice", "bob", 100);
        fraud_rules_t strict = fx->rules;
        strict.amount_threshold_minor = 1;
        assert_int_equal(fraud_apply(&fx->node.ctx, &strict, &again), LEDGER_OK);
        snapshot_t after = snapshot(fx, id);
        assert_same(&before, &after);
        assert_int_equal(fx->node.ctx.published_count, published);
    }
}

static ledger_err_t fraud_handle(node_ctx_t *ctx, const proto_msg_t *msg, void *rules)
{
    return fraud_apply(ctx, rules, msg);
}

static void test_unknown_types_are_rejected_without_writes(void **state)
{
    fx_t *fx = *state;
    static const proto_type_t handled[] = {PROTO_FUNDS_RESERVED};
    snapshot_t before = snapshot(fx, "t1");
    test_node_expect_other_types_refused(&fx->node, fraud_handle, &fx->rules,
                                         reserved_msg(fx, "t1", "alice", "bob", 100), handled, 1);
    snapshot_t after = snapshot(fx, "t1");
    assert_same(&before, &after);
    assert_int_equal(after.decisions, 0);
}

/* --- rules from text ------------------------------------------------------- */

/* --- first risk key layout ------------------------------------------------ */

/* A risk key of the first layout: tag + ids NUL-padded to 64 bytes (+ be64 ts + transfer). */
static size_t padded_key(uint8_t *key, char tag, const char *a, const char *b, uint64_t ts_ms,
                         const char *transfer)
{
    memset(key, 0, 1 + 2 * PROTO_ACCOUNT_ID_MAX);
    key[0] = (uint8_t)tag;
    memcpy(key + 1, a, strlen(a));
    if (tag == 'p') {
        memcpy(key + 1 + PROTO_ACCOUNT_ID_MAX, b, strlen(b));
        return 1 + 2 * PROTO_ACCOUNT_ID_MAX;
    }
    store_be64_put(key + 1 + PROTO_ACCOUNT_ID_MAX, ts_ms);
    memcpy(key + 1 + PROTO_ACCOUNT_ID_MAX + 8, transfer, strlen(transfer));
    return 1 + PROTO_ACCOUNT_ID_MAX + 8 + strlen(transfer);
}

static void put_padded(fx_t *fx, char tag, const char *a, const char *b, uint64_t ts_ms,
                       const char *transfer, uint64_t value)
{
    uint8_t key[256], val[8];
    size_t key_size = padded_key(key, tag, a, b, ts_ms, transfer);
    store_be64_put(val, value);
    assert_int_equal(store_put(fx->node.txn, STORE_DB_RISK, key, key_size, val, sizeof val, 0),
                     LEDGER_OK);
}

static void test_risk_keys_of_the_first_layout_are_migrated_and_still_count(void **state)
{
    fx_t *fx = *state;
    /* State written by the first layout: alice knows dave, and sent 5 transfers of 100
       in the last 5 s (velocity limit 5 in the demo rules). */
    put_padded(fx, 'p', "alice", "dave", 0, "", T0_MS);
    for (int i = 0; i < 5; i++) {
        char id[16];
        snprintf(id, sizeof id, "old%d", i);
        put_padded(fx, 'v', "alice", "", T0_MS + (uint64_t)i * 1000, id, 100);
    }
    size_t migrated = 0;
    assert_int_equal(fraud_migrate_risk(fx->node.txn, &migrated), LEDGER_OK);
    assert_int_equal(migrated, 6);
    assert_int_equal(count_of(fx, STORE_DB_RISK), 6);
    /* Nothing of the first layout is left, and a second run has nothing to do. */
    store_cursor_t *cur;
    store_kv_t kv;
    assert_int_equal(store_cursor_open(fx->node.txn, STORE_DB_RISK, &cur), LEDGER_OK);
    for (ledger_err_t err = store_cursor_get(cur, STORE_FIRST, &kv); !err;
         err = store_cursor_get(cur, STORE_NEXT, &kv)) {
        uint8_t tag = ((const uint8_t *)kv.key)[0];
        assert_true(tag == 'P' || tag == 'V');
        assert_true(kv.key_size < 1 + 2 * PROTO_ACCOUNT_ID_MAX);
    }
    store_cursor_close(&cur);
    assert_int_equal(fraud_migrate_risk(fx->node.txn, &migrated), LEDGER_OK);
    assert_int_equal(migrated, 0);

    /* The migrated state still counts: dave is a known payee, and the 6th transfer in
       the window is over the velocity limit. */
    fx->node.ctx.now_ms = T0_MS + 6000;
    proto_msg_t v = decide(fx, "alice", "dave", 60000);
    assert_rejected(&v, 1, (const char *const[]){"velocity_count"});
    fx->node.ctx.now_ms = T0_MS + WINDOW_MS + 10000; /* the old entries have left the window */
    expect_approved(fx, "alice", "dave", 60000);
}

static void test_padded_risk_keys_keep_any_id_proto_accepted_and_refuse_bad_sizes(void **state)
{
    fx_t *fx = *state;
    /* The old build stored whatever ids proto validation let through. */
    put_padded(fx, 'p', "Bob.Smith", "dave", 0, "", T0_MS);
    size_t migrated = 0;
    assert_int_equal(fraud_migrate_risk(fx->node.txn, &migrated), LEDGER_OK);
    assert_int_equal(migrated, 1);
    uint8_t compact[] = "P\x09"
                        "Bob.Smithdave";
    const void *val;
    size_t size;
    assert_int_equal(
        store_get(fx->node.txn, STORE_DB_RISK, compact, sizeof compact - 1, &val, &size),
        LEDGER_OK);
    /* A 'p' key of the wrong size, or with an empty source, cannot be of that layout. */
    uint8_t key[1 + 2 * PROTO_ACCOUNT_ID_MAX] = {'p'};
    uint8_t value[8] = {0};
    assert_int_equal(
        store_put(fx->node.txn, STORE_DB_RISK, key, sizeof key, value, sizeof value, 0), LEDGER_OK);
    migrated = 99;
    assert_int_equal(fraud_migrate_risk(fx->node.txn, &migrated), LEDGER_E_CORRUPT);
    assert_int_equal(migrated, 99);
    assert_int_equal(store_del(fx->node.txn, STORE_DB_RISK, key, sizeof key), LEDGER_OK);
    memcpy(key + 1, "ab", 2);
    assert_int_equal(store_put(fx->node.txn, STORE_DB_RISK, key, 20, value, sizeof value, 0),
                     LEDGER_OK);
    assert_int_equal(fraud_migrate_risk(fx->node.txn, &migrated), LEDGER_E_CORRUPT);
}

static void test_rules_defaults_are_the_demo_rules(void **state)
{
    (void)state;
    fraud_rules_t r;
    fraud_rules_defaults(&r);
    assert_int_equal(r.amount_threshold_minor, 100000);
    assert_int_equal(r.velocity_max_count, 5);
    assert_int_equal(r.velocity_max_sum_minor, 300000);
    assert_int_equal(r.velocity_window_ms, 60000);
    assert_int_equal(r.new_payee_limit_minor, 50000);
    assert_int_equal(r.blocklist_count, 1);
    assert_string_equal(r.blocklist[0], "mallory");
}

static void test_rules_set_accepts_every_key(void **state)
{
    (void)state;
    fraud_rules_t r;
    fraud_rules_defaults(&r);
    assert_int_equal(fraud_rules_set(&r, "amount_threshold_minor", "123", NULL, 0), LEDGER_OK);
    assert_int_equal(fraud_rules_set(&r, "velocity_max_count", "7", NULL, 0), LEDGER_OK);
    assert_int_equal(fraud_rules_set(&r, "velocity_max_sum_minor", "9223372036854775807", NULL, 0),
                     LEDGER_OK);
    assert_int_equal(fraud_rules_set(&r, "velocity_window_ms", "2592000000", NULL, 0), LEDGER_OK);
    assert_int_equal(fraud_rules_set(&r, "new_payee_limit_minor", "0", NULL, 0), LEDGER_OK);
    assert_int_equal(fraud_rules_set(&r, "blocklist", " eve , mallory,eve,x-1_2 ", NULL, 0),
                     LEDGER_OK);
    assert_int_equal(r.amount_threshold_minor, 123);
    assert_int_equal(r.velocity_max_count, 7);
    assert_true(r.velocity_max_sum_minor == INT64_MAX);
    assert_int_equal(r.velocity_window_ms, 2592000000ULL);
    assert_int_equal(r.new_payee_limit_minor, 0);
    assert_int_equal(r.blocklist_count, 3);
    assert_string_equal(r.blocklist[0], "eve");
    assert_string_equal(r.blocklist[1], "mallory");
    assert_string_equal(r.blocklist[2], "x-1_2");
    assert_int_equal(fraud_rules_set(&r, "blocklist", "  ", NULL, 0), LEDGER_OK);
    assert_int_equal(r.blocklist_count, 0);
}

static void test_rules_set_rejects_bad_values_and_changes_nothing(void **state)
{
    (void)state;
    static const struct {
        const char *key, *value;
    } bad[] = {
        {"amount_threshold_minor", ""},
        {"amount_threshold_minor", "-1"},
        {"amount_threshold_minor", "+1"},
        {"amount_threshold_minor", " 1"},
        {"amount_threshold_minor", "1 "},
        {"amount_threshold_minor", "1.5"},
        {"amount_threshold_minor", "0x10"},
        {"amount_threshold_minor", "1e3"},
        {"amount_threshold_minor", "9223372036854775808"},
        {"velocity_max_sum_minor", "99999999999999999999999"},
        {"velocity_max_count", "1000001"},
        {"velocity_window_ms", "2592000001"},
        {"new_payee_limit_minor", "ten"},
        {"blocklist", "Mallory"},
        {"blocklist", "a,,b"},
        {"blocklist", "a,"},
        {"blocklist", "a b"},
        {"no_such_rule", "1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fraud_rules_t r, before;
        fraud_rules_defaults(&r);
        before = r;
        char why[256] = "";
        if (fraud_rules_set(&r, bad[i].key, bad[i].value, why, sizeof why) != LEDGER_E_INVALID)
            fail_msg("%s = '%s' was accepted", bad[i].key, bad[i].value);
        assert_true(strlen(why) > 0);
        assert_memory_equal(&r, &before, sizeof r);
    }
    /* more than FRAUD_BLOCKLIST_MAX accounts */
    char list[FRAUD_BLOCKLIST_MAX * 8];
    size_t n = 0;
    for (int i = 0; i <= FRAUD_BLOCKLIST_MAX; i++)
        n += (size_t)snprintf(list + n, sizeof list - n, "%sa%d", i ? "," : "", i);
    fraud_rules_t r;
    fraud_rules_defaults(&r);
    char why[256];
    assert_int_equal(fraud_rules_set(&r, "blocklist", list, why, sizeof why), LEDGER_E_INVALID);
    assert_non_null(strstr(why, "more than"));
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_rules_file_is_loaded(void **state)
{
    fx_t *fx = *state;
    char path[128];
    snprintf(path, sizeof path, "%s/rules.conf", fx->node.dir);
    write_file(path, "# demo rules\n"
                     "\n"
                     "amount_threshold_minor = 250000   # 2,500.00\n"
                     "  velocity_max_count=3\n"
                     "blocklist = eve, mallory\r\n"
                     "velocity_window_ms = 1000\n"
                     "velocity_window_ms = 2000\n"
                     "new_payee_limit_minor = 7"); /* no newline at the end */
    fraud_rules_t r;
    fraud_rules_defaults(&r);
    char why[256];
    assert_int_equal(fraud_rules_load_file(&r, path, why, sizeof why), LEDGER_OK);
    assert_int_equal(r.amount_threshold_minor, 250000);
    assert_int_equal(r.velocity_max_count, 3);
    assert_int_equal(r.velocity_max_sum_minor, 300000); /* untouched: default */
    assert_int_equal(r.velocity_window_ms, 2000);       /* the later line wins */
    assert_int_equal(r.new_payee_limit_minor, 7);
    assert_int_equal(r.blocklist_count, 2);
    assert_string_equal(r.blocklist[1], "mallory");
}

/* Loads `text`, expects `err` and a reason containing `want`; the rules stay as they were. */
static void expect_file_error(fx_t *fx, const char *text, ledger_err_t err, const char *want)
{
    char path[128];
    snprintf(path, sizeof path, "%s/bad.conf", fx->node.dir);
    write_file(path, text);
    fraud_rules_t r, before;
    fraud_rules_defaults(&r);
    before = r;
    char why[256] = "";
    assert_int_equal(fraud_rules_load_file(&r, path, why, sizeof why), err);
    if (!strstr(why, want))
        fail_msg("reason '%s' does not contain '%s'", why, want);
    assert_memory_equal(&r, &before, sizeof r);
}

static void test_rules_file_errors_name_the_line(void **state)
{
    fx_t *fx = *state;
    expect_file_error(fx, "velocity_max_count = 3\n# fine\njust words\n", LEDGER_E_INVALID,
                      "line 3: expected 'key = value'");
    expect_file_error(fx, "\nspeed_limit = 3\n", LEDGER_E_INVALID,
                      "line 2: unknown key 'speed_limit'");
    expect_file_error(fx, "amount_threshold_minor = 1.5\n", LEDGER_E_INVALID,
                      "line 1: amount_threshold_minor");
    expect_file_error(fx, "velocity_max_count = 3\nvelocity_max_count = -3\n", LEDGER_E_INVALID,
                      "line 2:");
    expect_file_error(fx, "= 3\n", LEDGER_E_INVALID, "line 1: missing key");
    expect_file_error(fx, "# a\n# b\n\n   \nblocklist = Bad\n", LEDGER_E_INVALID,
                      "line 5: blocklist");

    /* a line over the limit */
    size_t size = FRAUD_RULES_LINE_MAX + 64;
    char *text = malloc(size);
    assert_non_null(text);
    int n = snprintf(text, size, "velocity_max_count = 3\nblocklist = ");
    memset(text + n, 'a', size - (size_t)n - 1);
    text[size - 1] = '\0';
    expect_file_error(fx, text, LEDGER_E_TOO_LARGE, "line 2: longer than");
    free(text);

    char why[256];
    fraud_rules_t r;
    fraud_rules_defaults(&r);
    char path[128];
    snprintf(path, sizeof path, "%s/missing.conf", fx->node.dir);
    assert_int_equal(fraud_rules_load_file(&r, path, why, sizeof why), LEDGER_E_IO);
    assert_non_null(strstr(why, "cannot open"));
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

TEST_MAIN(T(test_small_transfer_is_approved_and_the_decision_stored),
          T(test_rejection_is_stored_with_its_rules_and_reason),
          T(test_amount_over_threshold_fires_alone), T(test_velocity_count_fires_alone),
          T(test_velocity_sum_fires_alone), T(test_blocklisted_source_or_destination_fires),
          T(test_new_payee_large_amount_fires_alone), T(test_known_payee_is_learned_after_approval),
          T(test_several_rules_fire_together),
          T(test_a_deposit_is_approved_without_rules_and_teaches_nothing),
          T(test_velocity_window_slides_with_time), T(test_rules_set_to_zero_are_off),
          T(test_replayed_reserved_changes_nothing),
          T(test_unknown_types_are_rejected_without_writes),
          T(test_risk_keys_of_the_first_layout_are_migrated_and_still_count),
          T(test_padded_risk_keys_keep_any_id_proto_accepted_and_refuse_bad_sizes),
          cmocka_unit_test(test_rules_defaults_are_the_demo_rules),
          cmocka_unit_test(test_rules_set_accepts_every_key),
          cmocka_unit_test(test_rules_set_rejects_bad_values_and_changes_nothing),
          T(test_rules_file_is_loaded), T(test_rules_file_errors_name_the_line))

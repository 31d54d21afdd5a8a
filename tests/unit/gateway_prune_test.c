/*  gateway_prune_test.c: the gateway's retention actor (gateway_prune.h) and the node's fault
    state. Each kind of retention (idempotency keys, events, transfer views) runs in a write
    transaction of its own: a view that does not decode faults the node (source "prune") after
    the keys and events before it were pruned and committed; a key record that does not decode
    faults it with nothing of that key deleted; a faulted node prunes nothing. The actor runs
    for real; the test waits for its callbacks with a deadline, the clock is fixed. */
#define _GNU_SOURCE /* mkdtemp */
#include "gateway_view_fx.h"

#include <stdatomic.h>
#include <time.h>

#include "gateway_owners.h"
#include "gateway_prune.h"
#include "gateway_view_idem.h"
#include "test_main.h"

#define NOW_MS (T0_MS + 2 * GATEWAY_EVENTS_KEEP_MS) /* past every retention of the test */
#define VIEW_RETENTION_MS 60000u
#define WAIT_MS 10000 /* longest wait for the actor */
#define EVENTS 3

/* What the actor told the test (its thread writes, the test's reads). */
static struct {
    atomic_bool faulted;
    atomic_bool always_faulted; /* the node is faulted before the actor starts */
    atomic_uint faulted_calls;
    atomic_uint fault_calls;
    char source[32];
    char reason[256];
} seen;

static uint64_t fixed_now(void)
{
    return NOW_MS;
}

static bool on_faulted(void *arg)
{
    (void)arg;
    atomic_fetch_add(&seen.faulted_calls, 1);
    return atomic_load(&seen.always_faulted) || atomic_load(&seen.faulted);
}

static void on_fault(void *arg, const char *source, const char *reason)
{
    (void)arg;
    if (atomic_load(&seen.fault_calls) == 0) { /* the first is kept, as node_fault_set does */
        snprintf(seen.source, sizeof seen.source, "%s", source);
        snprintf(seen.reason, sizeof seen.reason, "%s", reason);
    }
    atomic_store(&seen.faulted, true);
    atomic_fetch_add(&seen.fault_calls, 1);
}

static gateway_prune_t *start_actor(fx_t *fx)
{
    gateway_prune_config_t pc = {.store = fx->store,
                                 .retention_ms = RETENTION_MS,
                                 .views_retention_ms = VIEW_RETENTION_MS,
                                 .now_ms = fixed_now,
                                 .faulted = on_faulted,
                                 .fault = on_fault};
    gateway_prune_t *prune = NULL;
    assert_int_equal(gateway_prune_start(&pc, &prune), LEDGER_OK);
    return prune;
}

/* Waits (with a deadline) until *counter >= at_least. */
static void wait_count(atomic_uint *counter, unsigned at_least)
{
    struct timespec pause = {0, 5 * 1000 * 1000};
    for (int waited_ms = 0; atomic_load(counter) < at_least && waited_ms < WAIT_MS; waited_ms += 5)
        nanosleep(&pause, NULL);
    assert_true(atomic_load(counter) >= at_least);
}

static int setup_prune(void **state)
{
    memset(&seen, 0, sizeof seen);
    return setup(state);
}

/* alice's and bob's owners, one transfer (key "k1" of "palice", its view) and EVENTS events,
   all at T0_MS. */
static gateway_submit_result_t sample_data(fx_t *fx)
{
    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(fx->store, true, &txn), LEDGER_OK);
    assert_int_equal(gateway_owners_put(txn, "alice", "palice", NULL), LEDGER_OK);
    assert_int_equal(gateway_owners_put(txn, "bob", "pbob", NULL), LEDGER_OK);
    assert_int_equal(store_txn_commit(&txn), LEDGER_OK);
    gateway_transfer_request_t req = request("alice", "bob", 500);
    gateway_submit_result_t res;
    assert_int_equal(submit_as(fx, "palice", "k1", &req, T0_MS, &res), LEDGER_OK);
    append_events(fx, EVENTS, T0_MS);
    assert_int_equal(count(fx, STORE_DB_IDEMPOTENCY), 1);
    assert_true(count_prefix(fx, STORE_DB_INDEX, "evt/") >= EVENTS);
    return res;
}

/* Overwrites the value under `key` of `db` with a byte no record starts with. */
static void corrupt(fx_t *fx, store_db_t db, const void *key, size_t key_size)
{
    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(fx->store, true, &txn), LEDGER_OK);
    assert_int_equal(store_put(txn, db, key, key_size, "\xEE", 1, 0), LEDGER_OK);
    assert_int_equal(store_txn_commit(&txn), LEDGER_OK);
}

static void test_a_corrupt_view_faults_the_node_after_keys_and_events_were_pruned(void **state)
{
    fx_t *fx = *state;
    gateway_submit_result_t res = sample_data(fx);
    corrupt(fx, STORE_DB_TRANSFERS, res.id, strlen(res.id));
    gateway_prune_t *prune = start_actor(fx);
    wait_count(&seen.fault_calls, 1);
    gateway_prune_destroy(&prune);
    assert_string_equal(seen.source, "prune");
    assert_non_null(strstr(seen.reason, "transfer views"));
    assert_int_equal(atomic_load(&seen.fault_calls), 1); /* faulted: no run after it */
    /* The kinds before the views committed in their own transactions. */
    assert_int_equal(count(fx, STORE_DB_IDEMPOTENCY), 0);
    assert_int_equal(count_prefix(fx, STORE_DB_INDEX, "idem/"), 0);
    assert_int_equal(count_prefix(fx, STORE_DB_INDEX, "evt/"), 0);
    assert_int_equal(count(fx, STORE_DB_TRANSFERS), 1); /* the bad view stays, as evidence */
}

static void test_a_corrupt_key_record_faults_the_node_and_stops_the_run(void **state)
{
    fx_t *fx = *state;
    sample_data(fx);
    uint64_t events = count_prefix(fx, STORE_DB_INDEX, "evt/");
    uint8_t scoped[GATEWAY_IDEM_SCOPED_KEY_MAX];
    corrupt(fx, STORE_DB_IDEMPOTENCY, scoped, gateway_view_idem_scoped_key(scoped, "palice", "k1"));
    gateway_prune_t *prune = start_actor(fx);
    wait_count(&seen.fault_calls, 1);
    gateway_prune_destroy(&prune);
    assert_string_equal(seen.source, "prune");
    assert_non_null(strstr(seen.reason, "idempotency keys"));
    /* Neither the record nor its index entry was deleted; the node faulted, nothing after. */
    assert_int_equal(count(fx, STORE_DB_IDEMPOTENCY), 1);
    assert_int_equal(count_prefix(fx, STORE_DB_INDEX, "idem/"), 1);
    assert_int_equal(count_prefix(fx, STORE_DB_INDEX, "evt/"), events);
    assert_int_equal(count(fx, STORE_DB_TRANSFERS), 1);
}

static void test_a_faulted_node_prunes_nothing(void **state)
{
    fx_t *fx = *state;
    sample_data(fx);
    uint64_t events = count_prefix(fx, STORE_DB_INDEX, "evt/");
    atomic_store(&seen.always_faulted, true);
    gateway_prune_t *prune = start_actor(fx);
    /* The first run asked and was told: from then on it writes nothing. */
    wait_count(&seen.faulted_calls, 1);
    gateway_prune_destroy(&prune);
    assert_int_equal(atomic_load(&seen.fault_calls), 0);
    assert_int_equal(count(fx, STORE_DB_IDEMPOTENCY), 1);
    assert_int_equal(count_prefix(fx, STORE_DB_INDEX, "evt/"), events);
    assert_int_equal(count(fx, STORE_DB_TRANSFERS), 1);
}

static void test_a_healthy_node_prunes_every_kind(void **state)
{
    fx_t *fx = *state;
    gateway_submit_result_t res = sample_data(fx);
    apply_ok(fx, event("accounts", 1, PROTO_TRANSFER_SETTLED, res.id, T0_MS + 10), T0_MS + 10);
    gateway_prune_t *prune = start_actor(fx);
    struct timespec pause = {0, 5 * 1000 * 1000};
    for (int waited_ms = 0; gateway_prune_views_pruned(prune) < 1 && waited_ms < WAIT_MS;
         waited_ms += 5)
        nanosleep(&pause, NULL);
    assert_int_equal(gateway_prune_views_pruned(prune), 1);
    gateway_prune_destroy(&prune);
    assert_int_equal(atomic_load(&seen.fault_calls), 0);
    assert_int_equal(count(fx, STORE_DB_IDEMPOTENCY), 0);
    assert_int_equal(count(fx, STORE_DB_TRANSFERS), 0);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup_prune, teardown)

TEST_MAIN(T(test_a_corrupt_view_faults_the_node_after_keys_and_events_were_pruned),
          T(test_a_corrupt_key_record_faults_the_node_and_stops_the_run),
          T(test_a_faulted_node_prunes_nothing), T(test_a_healthy_node_prunes_every_kind))

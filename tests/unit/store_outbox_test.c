/*  store_outbox_test.c: the outbox and dead letters (store_outbox.c): due
    entries, rescheduling and acks, seqs never reused, stats, moving to and
    replaying from dead letters, corrupt records.
*/
#define _GNU_SOURCE /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store_fixture.h"
#include "test_main.h"

/* --- outbox and dead letters ---------------------------------------------- */

/* Puts the text `msg` (without its NUL) for `peer` at created_ms; returns its outbox seq. */
static uint64_t put_msg(store_txn_t *txn, const char *peer, const char *msg, uint64_t created_ms)
{
    uint64_t seq = 0;
    assert_int_equal(store_outbox_put(txn, peer, msg, strlen(msg), created_ms, &seq), LEDGER_OK);
    return seq;
}

static void test_outbox_take_due_reschedule_and_ack(void **state)
{
    fixture_t *fx = *state;
    const uint64_t now = 1000000;
    store_txn_t *txn = begin(fx, true);
    uint64_t seqs[3];
    assert_int_equal(store_outbox_put(txn, "fraud", "m1", 2, now, &seqs[0]), LEDGER_OK);
    assert_int_equal(store_outbox_put(txn, "gateway", "m2", 2, now, &seqs[1]), LEDGER_OK);
    assert_int_equal(store_outbox_put(txn, "fraud", "m3", 2, now + 50, &seqs[2]), LEDGER_OK);
    assert_true(seqs[0] < seqs[1] && seqs[1] < seqs[2]);
    commit(&txn);

    txn = begin(fx, true);
    store_outbox_entry_t due[8];
    size_t count = 99;
    assert_int_equal(store_outbox_take_due(txn, now, 0, due, 8, &count), LEDGER_OK);
    assert_int_equal(count, 2);
    assert_true(due[0].seq == seqs[0] && due[1].seq == seqs[1]);
    assert_string_equal(due[0].peer, "fraud");
    assert_string_equal(due[1].peer, "gateway");
    assert_int_equal(due[0].msg_size, 2);
    assert_memory_equal(due[0].msg, "m1", 2);
    assert_int_equal(due[0].attempts, 0);
    assert_true(due[0].created_ms == now && due[0].next_attempt_ms == now);

    /* Paging with after_seq, and max. */
    assert_int_equal(store_outbox_take_due(txn, now + 50, seqs[0], due, 8, &count), LEDGER_OK);
    assert_int_equal(count, 2);
    assert_true(due[0].seq == seqs[1] && due[1].seq == seqs[2]);
    assert_int_equal(store_outbox_take_due(txn, now + 50, 0, due, 1, &count), LEDGER_OK);
    assert_int_equal(count, 1);

    assert_int_equal(store_outbox_reschedule(txn, seqs[0], now + 1000), LEDGER_OK);
    assert_int_equal(store_outbox_take_due(txn, now + 50, 0, due, 8, &count), LEDGER_OK);
    assert_int_equal(count, 2);
    assert_true(due[0].seq == seqs[1]);
    store_outbox_entry_t entry;
    assert_int_equal(store_outbox_get(txn, seqs[0], &entry), LEDGER_OK);
    assert_int_equal(entry.attempts, 1);
    assert_true(entry.next_attempt_ms == now + 1000 && entry.created_ms == now);
    assert_memory_equal(entry.msg, "m1", 2);
    assert_int_equal(store_outbox_take_due(txn, now + 1000, 0, due, 8, &count), LEDGER_OK);
    assert_int_equal(count, 3);

    assert_int_equal(store_outbox_ack(txn, seqs[1]), LEDGER_OK);
    assert_int_equal(store_outbox_ack(txn, seqs[1]), LEDGER_E_NOT_FOUND);
    assert_int_equal(store_outbox_get(txn, seqs[1], &entry), LEDGER_E_NOT_FOUND);
    assert_int_equal(store_outbox_reschedule(txn, seqs[1], now), LEDGER_E_NOT_FOUND);
    assert_int_equal(store_outbox_next(txn, seqs[0], &entry), LEDGER_OK);
    assert_true(entry.seq == seqs[2]);
    assert_int_equal(store_outbox_next(txn, seqs[2], &entry), LEDGER_E_NOT_FOUND);
    commit(&txn);
}

static void test_outbox_seq_is_never_reused_after_ack(void **state)
{
    fixture_t *fx = *state;
    store_txn_t *txn = begin(fx, true);
    uint64_t first, second;
    first = put_msg(txn, "fraud", "a", 1);
    assert_int_equal(store_outbox_ack(txn, first), LEDGER_OK);
    commit(&txn);
    reopen(fx, NULL);
    txn = begin(fx, true);
    second = put_msg(txn, "fraud", "b", 1);
    commit(&txn);
    assert_true(second > first);
}

static void test_outbox_stats_report_depth_and_oldest_age(void **state)
{
    fixture_t *fx = *state;
    store_txn_t *txn = begin(fx, true);
    uint64_t depth = 9, age = 9;
    assert_int_equal(store_outbox_stats(txn, 5000, &depth, &age), LEDGER_OK);
    assert_true(depth == 0 && age == 0);
    uint64_t first = put_msg(txn, "fraud", "a", 1000);
    assert_int_equal(store_outbox_put(txn, "fraud", "b", 1, 3000, NULL), LEDGER_OK);
    assert_int_equal(store_outbox_stats(txn, 5000, &depth, &age), LEDGER_OK);
    assert_true(depth == 2 && age == 4000);
    assert_int_equal(store_outbox_ack(txn, first), LEDGER_OK);
    assert_int_equal(store_outbox_stats(txn, 5000, &depth, &age), LEDGER_OK);
    assert_true(depth == 1 && age == 2000);
    commit(&txn);
}

static void test_outbox_to_dead_keeps_message_code_and_reason(void **state)
{
    fixture_t *fx = *state;
    store_txn_t *txn = begin(fx, true);
    uint64_t seq = put_msg(txn, "fraud", "poison", 1000);
    assert_int_equal(store_outbox_reschedule(txn, seq, 2000), LEDGER_OK);
    assert_int_equal(store_outbox_to_dead(txn, seq, "decode_error", "bad msgpack", 3000),
                     LEDGER_OK);
    store_outbox_entry_t entry;
    assert_int_equal(store_outbox_get(txn, seq, &entry), LEDGER_E_NOT_FOUND);
    assert_int_equal(store_outbox_to_dead(txn, seq, "x", "y", 3000), LEDGER_E_NOT_FOUND);
    commit(&txn);

    txn = begin(fx, false);
    store_dead_letter_t dead;
    assert_int_equal(store_dead_get(txn, seq, &dead), LEDGER_OK);
    assert_true(dead.id == seq && dead.created_ms == 1000 && dead.dead_ms == 3000);
    assert_int_equal(dead.attempts, 1);
    assert_string_equal(dead.peer, "fraud");
    assert_string_equal(dead.code, "decode_error");
    assert_string_equal(dead.reason, "bad msgpack");
    assert_int_equal(dead.msg_size, 6);
    assert_memory_equal(dead.msg, "poison", 6);
    assert_int_equal(store_dead_next(txn, 0, &dead), LEDGER_OK);
    assert_true(dead.id == seq);
    assert_int_equal(store_dead_next(txn, seq, &dead), LEDGER_E_NOT_FOUND);
    store_txn_abort(&txn);
}

static void test_dead_letter_replay_happens_once(void **state)
{
    fixture_t *fx = *state;
    store_txn_t *txn = begin(fx, true);
    uint64_t seq = put_msg(txn, "gateway", "again", 1000);
    assert_int_equal(store_outbox_to_dead(txn, seq, "invalid", "", 2000), LEDGER_OK);
    commit(&txn);

    txn = begin(fx, true);
    uint64_t replayed = 0;
    assert_int_equal(store_dead_replay(txn, seq, 5000, &replayed), LEDGER_OK);
    assert_true(replayed > seq);
    assert_int_equal(store_dead_replay(txn, seq, 5000, &replayed), LEDGER_E_NOT_FOUND);
    commit(&txn);

    txn = begin(fx, true);
    assert_int_equal(store_dead_replay(txn, seq, 6000, NULL), LEDGER_E_NOT_FOUND);
    store_outbox_entry_t entry;
    assert_int_equal(store_outbox_get(txn, replayed, &entry), LEDGER_OK);
    assert_string_equal(entry.peer, "gateway");
    assert_memory_equal(entry.msg, "again", 5);
    assert_true(entry.attempts == 0 && entry.created_ms == 5000 && entry.next_attempt_ms == 5000);
    uint64_t depth, age;
    assert_int_equal(store_outbox_stats(txn, 5000, &depth, &age), LEDGER_OK);
    assert_int_equal(depth, 1);
    store_txn_abort(&txn);
    assert_int_equal(count_of(fx, STORE_DB_DEAD_LETTERS), 0);
}

static void test_corrupt_outbox_record_is_reported_as_corrupt(void **state)
{
    fixture_t *fx = *state;
    store_txn_t *txn = begin(fx, true);
    uint64_t seq = put_msg(txn, "fraud", "hello", 1000);
    commit(&txn);
    store_destroy(&fx->store);
    /* A record that claims a longer message than it holds. */
    const uint8_t truncated[] = {1, 5, 'f',  'r', 'a', 'u', 'd', 0, 0, 0, 0,    0, 0, 0, 0, 0,
                                 0, 3, 0xe8, 0,   0,   0,   0,   0, 0, 3, 0xe8, 0, 0, 0, 9, 'h'};
    raw_edit(fx->dir, "outbox", seq, RAW_REPLACE, 0, truncated, sizeof truncated);
    assert_int_equal(store_open(fx->dir, NULL, &fx->store), LEDGER_OK);
    txn = begin(fx, false);
    store_outbox_entry_t entry;
    assert_int_equal(store_outbox_get(txn, seq, &entry), LEDGER_E_CORRUPT);
    size_t count;
    assert_int_equal(store_outbox_take_due(txn, 5000, 0, &entry, 1, &count), LEDGER_E_CORRUPT);
    store_txn_abort(&txn);
}

static void test_bad_outbox_arguments_are_refused_with_invalid_or_too_large(void **state)
{
    fixture_t *fx = *state;
    const char *long_name = too_long_name();

    store_txn_t *read = begin(fx, false);
    assert_int_equal(store_outbox_put(read, "fraud", "m", 1, 0, NULL), LEDGER_E_INVALID);
    store_txn_abort(&read);

    store_txn_t *txn = begin(fx, true);
    uint8_t *huge = calloc(1, STORE_MSG_MAX + 1);
    assert_non_null(huge);
    assert_int_equal(store_outbox_put(txn, "", "m", 1, 0, NULL), LEDGER_E_INVALID);
    assert_int_equal(store_outbox_put(txn, NULL, "m", 1, 0, NULL), LEDGER_E_INVALID);
    assert_int_equal(store_outbox_put(txn, long_name, "m", 1, 0, NULL), LEDGER_E_INVALID);
    assert_int_equal(store_outbox_put(txn, "fraud", NULL, 1, 0, NULL), LEDGER_E_INVALID);
    assert_int_equal(store_outbox_put(txn, "fraud", "m", 0, 0, NULL), LEDGER_E_INVALID);
    assert_int_equal(store_outbox_put(txn, "fraud", huge, STORE_MSG_MAX + 1, 0, NULL),
                     LEDGER_E_TOO_LARGE);
    assert_int_equal(store_outbox_put(txn, "fraud", huge, STORE_MSG_MAX, 0, NULL), LEDGER_OK);
    free(huge);
    store_outbox_entry_t entry;
    size_t count;
    assert_int_equal(store_outbox_take_due(txn, 0, 0, NULL, 4, &count), LEDGER_E_INVALID);
    assert_int_equal(store_outbox_get(txn, 1, NULL), LEDGER_E_INVALID);
    assert_int_equal(store_outbox_next(txn, 0, &entry), LEDGER_OK);

    char long_reason[STORE_REASON_MAX + 2];
    memset(long_reason, 'r', sizeof long_reason - 1);
    long_reason[sizeof long_reason - 1] = '\0';
    assert_int_equal(store_outbox_to_dead(txn, entry.seq, "", "r", 0), LEDGER_E_INVALID);
    assert_int_equal(store_outbox_to_dead(txn, entry.seq, long_name, "r", 0), LEDGER_E_INVALID);
    assert_int_equal(store_outbox_to_dead(txn, entry.seq, "c", long_reason, 0), LEDGER_E_INVALID);
    assert_int_equal(store_outbox_to_dead(txn, entry.seq, "c", NULL, 0), LEDGER_E_INVALID);
    store_txn_abort(&txn);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

TEST_MAIN(T(test_outbox_take_due_reschedule_and_ack), T(test_outbox_seq_is_never_reused_after_ack),
          T(test_outbox_stats_report_depth_and_oldest_age),
          T(test_outbox_to_dead_keeps_message_code_and_reason),
          T(test_dead_letter_replay_happens_once),
          T(test_corrupt_outbox_record_is_reported_as_corrupt),
          T(test_bad_outbox_arguments_are_refused_with_invalid_or_too_large))

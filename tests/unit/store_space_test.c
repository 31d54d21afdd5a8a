/*  store_space_test.c: the store's room (store_space.c): a write that runs
    out of map at map_max_bytes sets the room state and counts it, writes
    nothing, and the next commit clears it; store_space reports the used,
    map and disk bytes, and pages freed by deletes as free again; a small
    map_max_bytes alone opens (the map starts at it).
    The disk-full half (ENOSPC on a real file system) is
    tests/integration/test_capacity.py's: it needs a tmpfs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "clock.h"
#include "store_fixture.h"
#include "test_main.h"

#define SPACE_MAP_MAX_BYTES (256 * KIB)
#define SPACE_VALUE_BYTES 2000
#define SPACE_WAIT_MS 5000 /* longest wait for a new sample (STORE_SPACE_SAMPLE_MS) */

typedef struct {
    int first, count;
    bool del;
} span_t;

/* Puts (or deletes) values first .. first + count - 1 in ACCOUNTS. */
static ledger_err_t write_span(store_txn_t *txn, void *ctx)
{
    const span_t *span = ctx;
    static uint8_t value[SPACE_VALUE_BYTES];
    for (int i = span->first; i < span->first + span->count; i++) {
        uint8_t key[8];
        store_be64_put(key, (uint64_t)i);
        ledger_err_t err =
            span->del ? store_del(txn, STORE_DB_ACCOUNTS, key, sizeof key)
                      : store_put(txn, STORE_DB_ACCOUNTS, key, sizeof key, value, sizeof value, 0);
        if (err)
            return err;
    }
    return LEDGER_OK;
}

static const store_config_t small_map = {.map_max_bytes = SPACE_MAP_MAX_BYTES};

/* A sample taken after `after_ms` (clock_mono_ms), so not the cached one. */
static store_space_t fresh_space(store_t *store, uint64_t after_ms)
{
    uint64_t deadline = clock_mono_ms() + SPACE_WAIT_MS;
    for (;;) {
        store_space_t sp;
        assert_int_equal(store_space(store, &sp), LEDGER_OK);
        if (clock_mono_ms() >= after_ms + STORE_SPACE_SAMPLE_MS || clock_mono_ms() > deadline)
            return sp;
        struct timespec pause = {0, 20 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
}

static void test_a_small_map_max_alone_opens_with_the_map_at_it(void **state)
{
    fixture_t *fx = *state;
    reopen(fx, &small_map);
    assert_int_equal(store_map_bytes(fx->store), SPACE_MAP_MAX_BYTES);
    store_space_t sp;
    assert_int_equal(store_space(fx->store, &sp), LEDGER_OK);
    assert_int_equal(sp.map_max_bytes, SPACE_MAP_MAX_BYTES);
    assert_int_equal(sp.map_bytes, SPACE_MAP_MAX_BYTES);
    assert_true(sp.used_bytes > 0 && sp.used_bytes <= sp.file_bytes);
    assert_true(sp.file_bytes <= sp.map_bytes);
    assert_true(sp.disk_total_bytes > 0 && sp.disk_free_bytes <= sp.disk_total_bytes);
    assert_true(sp.disk_used_bytes <= sp.disk_total_bytes);
    assert_int_equal(sp.room, STORE_ROOM_OK);
}

static void test_map_full_sets_the_room_state_until_a_commit(void **state)
{
    fixture_t *fx = *state;
    reopen(fx, &small_map);
    uint64_t age = 1;
    assert_int_equal(store_room(fx->store, &age), STORE_ROOM_OK);
    assert_int_equal(age, 0);
    span_t too_much = {0, (int)(2 * SPACE_MAP_MAX_BYTES / SPACE_VALUE_BYTES), false};
    assert_int_equal(store_write(fx->store, write_span, &too_much), LEDGER_E_MAP_FULL);
    assert_int_equal(count_of(fx, STORE_DB_ACCOUNTS), 0); /* nothing of it written */
    assert_int_equal(store_room(fx->store, &age), STORE_ROOM_MAP_FULL);
    assert_true(age < SPACE_WAIT_MS);
    assert_string_equal(store_room_name(STORE_ROOM_MAP_FULL), "map_full");
    store_room_note_refused(fx->store);
    store_space_t sp;
    assert_int_equal(store_space(fx->store, &sp), LEDGER_OK);
    assert_int_equal(sp.room, STORE_ROOM_MAP_FULL);
    assert_int_equal(sp.room_failures[STORE_ROOM_MAP_FULL], 1);
    assert_int_equal(sp.room_failures[STORE_ROOM_DISK_FULL], 0);
    assert_int_equal(sp.refused_requests, 1);

    span_t some = {0, 4, false};
    assert_int_equal(store_write(fx->store, write_span, &some), LEDGER_OK);
    assert_int_equal(store_room(fx->store, &age), STORE_ROOM_OK);
    assert_int_equal(age, 0);
    assert_int_equal(store_space(fx->store, &sp), LEDGER_OK);
    assert_int_equal(sp.room_failures[STORE_ROOM_MAP_FULL], 1); /* a counter: it stays */
}

static void test_deleted_records_show_as_free_pages(void **state)
{
    fixture_t *fx = *state;
    span_t fill = {0, 60, false};
    assert_int_equal(store_write(fx->store, write_span, &fill), LEDGER_OK);
    store_space_t full = fresh_space(fx->store, clock_mono_ms());
    assert_true(full.used_bytes >= 60 * SPACE_VALUE_BYTES);

    uint64_t deleted_at = clock_mono_ms();
    span_t drop = {0, 60, true};
    assert_int_equal(store_write(fx->store, write_span, &drop), LEDGER_OK);
    /* Two more commits, so that LMDB files the pages of the delete as free. */
    span_t touch = {100, 1, false};
    assert_int_equal(store_write(fx->store, write_span, &touch), LEDGER_OK);
    touch.first = 101;
    assert_int_equal(store_write(fx->store, write_span, &touch), LEDGER_OK);
    store_space_t after = fresh_space(fx->store, deleted_at);
    assert_true(after.file_bytes >= full.file_bytes); /* LMDB never shrinks the file */
    assert_true(after.used_bytes + 50 * SPACE_VALUE_BYTES <= full.used_bytes);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

TEST_MAIN(T(test_a_small_map_max_alone_opens_with_the_map_at_it),
          T(test_map_full_sets_the_room_state_until_a_commit),
          T(test_deleted_records_show_as_free_pages))

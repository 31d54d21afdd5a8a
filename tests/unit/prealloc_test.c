/*  prealloc_test.c: the thread that keeps a data file allocated ahead of its
    used end (store/prealloc.h): how far it allocates, that no byte already in
    the file changes (also while a writer appends at the same time), what a
    failing fallocate does, and, through the store, that an LMDB environment
    growing while the thread runs loses no byte of what was committed.

    Files live in mkdtemp directories under /tmp, removed afterwards.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "prealloc.h"
#include "store.h"
#include "test_dir.h"
#include "test_main.h"

#define MIB ((size_t)1 << 20)
#define WAIT_MS 10000
#define RETRY_MS 20           /* after a failure, notes are ignored this long */
#define FAILURE_RETRY_MS 1000 /* the same, in the test of failures */

typedef struct {
    char dir[TEST_DIR_BYTES];
    char path[TEST_DIR_BYTES + 16];
    int fd;
} fixture_t;

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    test_dir_make(fx->dir, "prealloc_test");
    snprintf(fx->path, sizeof fx->path, "%s/data", fx->dir);
    fx->fd = open(fx->path, O_RDWR | O_CREAT, 0600);
    assert_true(fx->fd >= 0);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *fx = *state;
    if (fx->fd >= 0)
        close(fx->fd);
    test_remove_dir(fx->dir);
    free(fx);
    return 0;
}

static size_t file_size(int fd)
{
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    return (size_t)st.st_size;
}

/* Writes `size` bytes of `byte` at `offset`. */
static void fill(int fd, size_t offset, size_t size, unsigned char byte)
{
    unsigned char *buf = malloc(size);
    assert_non_null(buf);
    memset(buf, byte, size);
    assert_int_equal(pwrite(fd, buf, size, (off_t)offset), (ssize_t)size);
    free(buf);
}

/* true when bytes [offset, offset + size) are all `byte`. */
static bool all_bytes(int fd, size_t offset, size_t size, unsigned char byte)
{
    unsigned char *buf = malloc(size);
    assert_non_null(buf);
    assert_int_equal(pread(fd, buf, size, (off_t)offset), (ssize_t)size);
    bool same = true;
    for (size_t i = 0; i < size && same; i++)
        same = buf[i] == byte;
    free(buf);
    return same;
}

static void test_the_file_is_allocated_ahead_of_its_used_end_and_reads_as_zeros(void **state)
{
    fixture_t *fx = *state;
    fill(fx->fd, 0, 8192, 0xAB);
    prealloc_t *p = NULL;
    assert_int_equal(prealloc_new(fx->fd, 3 * MIB, RETRY_MS, &p), LEDGER_OK);
    prealloc_note_used(p, 8192, 64 * MIB);
    assert_true(prealloc_wait(p, WAIT_MS));
    /* used + ahead, rounded up to whole chunks */
    assert_int_equal(file_size(fx->fd), 4 * MIB);
    assert_true(all_bytes(fx->fd, 0, 8192, 0xAB));
    assert_true(all_bytes(fx->fd, 8192, 4 * MIB - 8192, 0));
    struct stat sb;
    assert_int_equal(fstat(fx->fd, &sb), 0);
    assert_true((size_t)sb.st_blocks * 512 >= 4 * MIB); /* allocated, not a hole */
    prealloc_stats_t st;
    prealloc_get_stats(p, &st);
    assert_int_equal(st.bytes_allocated, 4 * MIB - 8192);
    assert_int_equal(st.allocated_end, 4 * MIB);
    assert_int_equal(st.extensions, 1);
    assert_int_equal(st.failures, 0);
    assert_false(st.unsupported);
    prealloc_destroy(&p);
    assert_null(p);
}

static void test_no_byte_already_in_the_file_changes(void **state)
{
    fixture_t *fx = *state;
    /* The file holds 2 MiB of data, but the caller says only 4 KiB are in use
       (a commit in progress may have written past what was committed):
       1 MiB, less than half the slack past it is written, so it extends. */
    fill(fx->fd, 0, 2 * MIB, 0x5A);
    prealloc_t *p = NULL;
    assert_int_equal(prealloc_new(fx->fd, 3 * MIB, RETRY_MS, &p), LEDGER_OK);
    prealloc_note_used(p, MIB, 64 * MIB);
    assert_true(prealloc_wait(p, WAIT_MS));
    assert_int_equal(file_size(fx->fd), 4 * MIB);
    assert_true(all_bytes(fx->fd, 0, 2 * MIB, 0x5A));
    assert_true(all_bytes(fx->fd, 2 * MIB, 2 * MIB, 0));
    prealloc_destroy(&p);
}

static void test_no_wake_while_half_of_the_slack_is_left(void **state)
{
    fixture_t *fx = *state;
    prealloc_t *p = NULL;
    assert_int_equal(prealloc_new(fx->fd, 4 * MIB, RETRY_MS, &p), LEDGER_OK);
    prealloc_note_used(p, 0, 64 * MIB);
    assert_true(prealloc_wait(p, WAIT_MS));
    assert_int_equal(file_size(fx->fd), 4 * MIB);
    prealloc_stats_t st;
    prealloc_get_stats(p, &st);
    prealloc_note_used(p, 2 * MIB - 4096, 64 * MIB); /* more than half (2 MiB) left */
    assert_true(prealloc_wait(p, WAIT_MS));
    prealloc_stats_t after;
    prealloc_get_stats(p, &after);
    assert_int_equal(after.extensions, st.extensions);
    assert_int_equal(file_size(fx->fd), 4 * MIB);
    prealloc_note_used(p, 3 * MIB, 64 * MIB); /* 1 MiB left: extend to 7 MiB */
    assert_true(prealloc_wait(p, WAIT_MS));
    assert_int_equal(file_size(fx->fd), 7 * MIB);
    prealloc_destroy(&p);
}

static void test_the_file_never_grows_past_the_limit(void **state)
{
    fixture_t *fx = *state;
    prealloc_t *p = NULL;
    assert_int_equal(prealloc_new(fx->fd, 16 * MIB, RETRY_MS, &p), LEDGER_OK);
    prealloc_note_used(p, 4096, 2 * MIB + 8192);
    assert_true(prealloc_wait(p, WAIT_MS));
    assert_int_equal(file_size(fx->fd), 2 * MIB + 8192);
    prealloc_note_used(p, 2 * MIB, 2 * MIB + 8192); /* at the limit: nothing to do */
    assert_true(prealloc_wait(p, WAIT_MS));
    assert_int_equal(file_size(fx->fd), 2 * MIB + 8192);
    prealloc_destroy(&p);
}

static void test_a_failing_fallocate_changes_nothing_and_is_counted(void **state)
{
    fixture_t *fx = *state;
    fill(fx->fd, 0, 8192, 0x11);
    int ro = open(fx->path, O_RDONLY); /* fallocate needs a writable fd: EBADF */
    assert_true(ro >= 0);
    prealloc_t *p = NULL;
    /* 1 s: long enough that the note right after the failure falls inside it on a slow CI */
    assert_int_equal(prealloc_new(ro, 2 * MIB, FAILURE_RETRY_MS, &p), LEDGER_OK);
    prealloc_note_used(p, 8192, 64 * MIB);
    assert_false(prealloc_wait(p, WAIT_MS)); /* given up */
    assert_int_equal(file_size(fx->fd), 8192);
    assert_true(all_bytes(fx->fd, 0, 8192, 0x11));
    prealloc_stats_t st;
    prealloc_get_stats(p, &st);
    assert_int_equal(st.bytes_allocated, 0);
    assert_true(st.failures >= 1);
    assert_int_equal(st.last_errno, EBADF);
    /* Not at every commit while the disk is full: a note right away is ignored... */
    prealloc_note_used(p, 12288, 64 * MIB);
    prealloc_wait(p, WAIT_MS);
    prealloc_stats_t again;
    prealloc_get_stats(p, &again);
    assert_int_equal(again.failures, st.failures);
    /* ...and once FAILURE_RETRY_MS has passed, a note tries again (and fails again). */
    uint64_t deadline = clock_mono_ms() + WAIT_MS;
    while (again.failures == st.failures && clock_mono_ms() < deadline) {
        prealloc_note_used(p, 16384, 64 * MIB);
        prealloc_wait(p, WAIT_MS);
        prealloc_get_stats(p, &again);
    }
    assert_true(again.failures > st.failures);
    prealloc_destroy(&p);
    close(ro);
}

static void test_bad_arguments_are_refused(void **state)
{
    fixture_t *fx = *state;
    prealloc_t *p = NULL;
    assert_int_equal(prealloc_new(-1, MIB, RETRY_MS, &p), LEDGER_E_INVALID);
    assert_int_equal(prealloc_new(fx->fd, 0, RETRY_MS, &p), LEDGER_E_INVALID);
    assert_int_equal(prealloc_new(fx->fd, MIB, RETRY_MS, NULL), LEDGER_E_INVALID);
    assert_null(p);
    prealloc_destroy(NULL);
    prealloc_destroy(&p);
}

/*  A writer like LMDB's: it writes its next page (a pattern naming the page)
    right after its last one, wherever the file ends, while the thread
    allocates past the end, then says how much is in use. */
#define WRITER_PAGES 5000
#define PAGE_BYTES 4096

static void page_pattern(uint32_t page, unsigned char *buf)
{
    for (size_t k = 0; k < PAGE_BYTES; k++)
        buf[k] = (unsigned char)(page * 7u + k + 1);
}

static void test_pages_a_writer_appends_meanwhile_are_never_lost(void **state)
{
    fixture_t *fx = *state;
    prealloc_t *p = NULL;
    assert_int_equal(prealloc_new(fx->fd, MIB, RETRY_MS, &p), LEDGER_OK);
    unsigned char page[PAGE_BYTES];
    for (uint32_t i = 0; i < WRITER_PAGES; i++) {
        page_pattern(i, page);
        assert_int_equal(pwrite(fx->fd, page, sizeof page, (off_t)i * PAGE_BYTES),
                         (ssize_t)sizeof page);
        prealloc_note_used(p, (size_t)(i + 1) * PAGE_BYTES, 1u << 30);
    }
    assert_true(prealloc_wait(p, WAIT_MS));
    prealloc_stats_t st;
    prealloc_get_stats(p, &st);
    assert_true(st.extensions > 1);
    prealloc_destroy(&p);
    unsigned char got[PAGE_BYTES];
    for (uint32_t i = 0; i < WRITER_PAGES; i++) {
        page_pattern(i, page);
        assert_int_equal(pread(fx->fd, got, sizeof got, (off_t)i * PAGE_BYTES),
                         (ssize_t)sizeof got);
        if (memcmp(got, page, sizeof page) != 0)
            fail_msg("page %u was overwritten", i);
    }
    assert_true(file_size(fx->fd) >= (size_t)WRITER_PAGES * PAGE_BYTES + MIB / 2);
}

/* --- through the store ---------------------------------------------------- */

#define STORE_ROUNDS 400
#define STORE_PUTS_PER_ROUND 25
#define STORE_VALUE_BYTES 1000

static void value_for(uint32_t i, unsigned char *val)
{
    for (size_t k = 0; k < STORE_VALUE_BYTES; k++)
        val[k] = (unsigned char)(i * 31u + k);
}

static void test_a_store_growing_under_the_thread_keeps_every_committed_byte(void **state)
{
    fixture_t *fx = *state;
    char dir[sizeof fx->dir + 8];
    snprintf(dir, sizeof dir, "%s/env", fx->dir);
    store_config_t config = {.prealloc_ahead_bytes = MIB};
    store_t *store = NULL;
    assert_int_equal(store_open(dir, &config, &store), LEDGER_OK);
    unsigned char val[STORE_VALUE_BYTES];
    /* ~10 MB of values in 400 commits: the file grows by ten times the slack
       while the thread extends it, chunk by chunk, between the commits. */
    for (uint32_t round = 0; round < STORE_ROUNDS; round++) {
        store_txn_t *txn = NULL;
        assert_int_equal(store_txn_begin(store, true, &txn), LEDGER_OK);
        for (uint32_t k = 0; k < STORE_PUTS_PER_ROUND; k++) {
            uint32_t i = round * STORE_PUTS_PER_ROUND + k;
            unsigned char key[4] = {(unsigned char)(i >> 24), (unsigned char)(i >> 16),
                                    (unsigned char)(i >> 8), (unsigned char)i};
            value_for(i, val);
            assert_int_equal(
                store_put(txn, STORE_DB_INDEX, key, sizeof key, val, sizeof val, STORE_PUT_APPEND),
                LEDGER_OK);
        }
        assert_int_equal(store_txn_commit(&txn), LEDGER_OK);
    }
    prealloc_stats_t st;
    assert_true(store_prealloc_stats(store, &st));
    assert_true(st.bytes_allocated > 0);
    assert_int_equal(st.failures, 0);
    store_destroy(&store);

    /* Reopened without the thread: every value reads back as written. */
    char data[sizeof dir + 16];
    snprintf(data, sizeof data, "%s/data.mdb", dir);
    struct stat sb;
    assert_int_equal(stat(data, &sb), 0);
    assert_true((size_t)sb.st_size >= st.allocated_end);
    assert_int_equal(store_open(dir, NULL, &store), LEDGER_OK);
    assert_false(store_prealloc_stats(store, &st));
    store_txn_t *txn = NULL;
    assert_int_equal(store_txn_begin(store, false, &txn), LEDGER_OK);
    uint64_t count = 0;
    assert_int_equal(store_count(txn, STORE_DB_INDEX, &count), LEDGER_OK);
    assert_int_equal(count, STORE_ROUNDS * STORE_PUTS_PER_ROUND);
    for (uint32_t i = 0; i < STORE_ROUNDS * STORE_PUTS_PER_ROUND; i++) {
        unsigned char key[4] = {(unsigned char)(i >> 24), (unsigned char)(i >> 16),
                                (unsigned char)(i >> 8), (unsigned char)i};
        const void *got = NULL;
        size_t got_size = 0;
        assert_int_equal(store_get(txn, STORE_DB_INDEX, key, sizeof key, &got, &got_size),
                         LEDGER_OK);
        value_for(i, val);
        assert_int_equal(got_size, sizeof val);
        assert_memory_equal(got, val, sizeof val);
    }
    store_txn_abort(&txn);
    store_destroy(&store);
    test_remove_dir(dir);
}

TEST_MAIN(
    cmocka_unit_test_setup_teardown(
        test_the_file_is_allocated_ahead_of_its_used_end_and_reads_as_zeros, setup, teardown),
    cmocka_unit_test_setup_teardown(test_no_byte_already_in_the_file_changes, setup, teardown),
    cmocka_unit_test_setup_teardown(test_no_wake_while_half_of_the_slack_is_left, setup, teardown),
    cmocka_unit_test_setup_teardown(test_the_file_never_grows_past_the_limit, setup, teardown),
    cmocka_unit_test_setup_teardown(test_a_failing_fallocate_changes_nothing_and_is_counted, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_bad_arguments_are_refused, setup, teardown),
    cmocka_unit_test_setup_teardown(test_pages_a_writer_appends_meanwhile_are_never_lost, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(
        test_a_store_growing_under_the_thread_keeps_every_committed_byte, setup, teardown))

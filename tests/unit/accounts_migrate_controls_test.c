/*  accounts_migrate_controls_test.c: migration "controls_history"
    (accounts_migrate.h): account records of version 3 become version 4
    with their entries counted and the history checkpoints written, as a
    build with the controls would have left them; run twice it changes
    nothing more; a broken chain is refused.
*/
#include "accounts_fixture.h"
#include "accounts_history.h"
#include "accounts_migrate.h"
#include "currency.h"
#include "test_main.h"

#define ENTRIES 140 /* alice's entries beyond her opening: two checkpoints */

static void add_entries(fx_t *fx)
{
    accounts_record_t alice;
    assert_int_equal(accounts_book_load(&fx->ctx, "alice", &alice), LEDGER_OK);
    for (int i = 0; i < ENTRIES; i++) {
        alice.held_minor += i % 2 ? -1 : 1;
        assert_int_equal(accounts_book_append(&fx->ctx, &alice, "tr", i % 2 ? "release" : "hold", 0,
                                              i % 2 ? -1 : 1),
                         LEDGER_OK);
    }
    assert_int_equal(accounts_book_save(&fx->ctx, &alice, false), LEDGER_OK);
}

/* Every "lx/" key of the index, into keys (as "account@seq" lines); returns how many. */
static size_t checkpoints(fx_t *fx, char *keys, size_t size)
{
    size_t n = 0, used = 0;
    keys[0] = '\0';
    store_cursor_t *cur;
    assert_int_equal(store_cursor_open(fx->txn, STORE_DB_INDEX, &cur), LEDGER_OK);
    store_kv_t kv;
    for (ledger_err_t err = store_cursor_get(cur, STORE_FIRST, &kv); !err;
         err = store_cursor_get(cur, STORE_NEXT, &kv)) {
        if (kv.key_size < 3 || memcmp(kv.key, "lx/", 3) != 0)
            continue;
        const char *account = (const char *)kv.key + 3;
        uint64_t seq = store_be64_get((const uint8_t *)kv.key + kv.key_size - 8);
        used += (size_t)snprintf(keys + used, size - used, "%s@%" PRIu64 "\n", account, seq);
        n++;
    }
    store_cursor_close(&cur);
    return n;
}

/* Makes the store look as a format-5 build left it: version-3 records, no checkpoints. */
static void downgrade(fx_t *fx)
{
    uint8_t keys[16][ACCOUNTS_HISTORY_KEY_MAX];
    size_t sizes[16], n = 0;
    store_cursor_t *cur;
    assert_int_equal(store_cursor_open(fx->txn, STORE_DB_INDEX, &cur), LEDGER_OK);
    store_kv_t kv;
    for (ledger_err_t err = store_cursor_get(cur, STORE_FIRST, &kv); !err;
         err = store_cursor_get(cur, STORE_NEXT, &kv)) {
        if (kv.key_size >= 3 && memcmp(kv.key, "lx/", 3) == 0) {
            assert_true(n < 16 && kv.key_size <= ACCOUNTS_HISTORY_KEY_MAX);
            memcpy(keys[n], kv.key, kv.key_size);
            sizes[n++] = kv.key_size;
        }
    }
    store_cursor_close(&cur);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(store_del(fx->txn, STORE_DB_INDEX, keys[i], sizes[i]), LEDGER_OK);
    static const char *const ids[] = {"funding", "alice", "bob"};
    for (size_t i = 0; i < 3; i++) {
        accounts_record_t rec;
        assert_int_equal(accounts_record_get(fx->txn, ids[i], &rec), LEDGER_OK);
        uint8_t buf[ACCOUNTS_RECORD_MAX_BYTES];
        size_t len;
        assert_int_equal(accounts_record_encode(&rec, buf, sizeof buf, &len), LEDGER_OK);
        buf[0] = 3;
        assert_int_equal(store_put(fx->txn, STORE_DB_ACCOUNTS, ids[i], strlen(ids[i]), buf,
                                   len - (1 + 8 + 8), 0),
                         LEDGER_OK);
    }
}

static void test_the_migration_counts_entries_and_writes_the_checkpoints(void **state)
{
    fx_t *fx = *state;
    char note[STORE_MIGRATE_NOTE_MAX] = "";
    add_entries(fx);
    accounts_record_t before[3], after;
    static const char *const ids[] = {"funding", "alice", "bob"};
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(accounts_record_get(fx->txn, ids[i], &before[i]), LEDGER_OK);
    assert_int_equal(before[1].entry_count, 1 + ENTRIES);
    assert_int_equal(before[0].entry_count, 2); /* alice's and bob's opening deposits */
    char keys_before[512], keys_after[512];
    size_t n = checkpoints(fx, keys_before, sizeof keys_before);
    assert_int_equal(n, (1 + ENTRIES) / ACCOUNTS_HISTORY_EVERY);

    downgrade(fx);
    assert_int_equal(checkpoints(fx, keys_after, sizeof keys_after), 0);
    assert_int_equal(accounts_record_get(fx->txn, "alice", &after), LEDGER_OK);
    assert_int_equal(after.entry_count, 0); /* how a version 3 reads */

    for (int run = 0; run < 2; run++) { /* run twice: the same result */
        assert_int_equal(accounts_migrate_controls(fx->txn, NULL, note, sizeof note), LEDGER_OK);
        char want[STORE_MIGRATE_NOTE_MAX];
        snprintf(want, sizeof want, "accounts=%zu entries=144 checkpoints=2",
                 2 + currency_count()); /* alice, bob, a settlement account per currency */
        assert_string_equal(note, want);
        assert_int_equal(checkpoints(fx, keys_after, sizeof keys_after), n);
        assert_string_equal(keys_after, keys_before);
        for (size_t i = 0; i < 3; i++) {
            const void *val;
            size_t size;
            assert_int_equal(
                store_get(fx->txn, STORE_DB_ACCOUNTS, ids[i], strlen(ids[i]), &val, &size),
                LEDGER_OK);
            assert_int_equal(((const uint8_t *)val)[0], ACCOUNTS_RECORD_VERSION);
            assert_int_equal(accounts_record_get(fx->txn, ids[i], &after), LEDGER_OK);
            assert_memory_equal(&after, &before[i], sizeof after);
        }
    }
}

static void test_the_migration_refuses_a_broken_chain(void **state)
{
    fx_t *fx = *state;
    char note[STORE_MIGRATE_NOTE_MAX] = "";
    add_entries(fx);
    accounts_record_t alice;
    assert_int_equal(accounts_record_get(fx->txn, "alice", &alice), LEDGER_OK);
    alice.ledger_seq = newest_entry(fx, "bob").seq; /* names an entry of another account */
    assert_int_equal(accounts_record_put(fx->txn, &alice), LEDGER_OK);
    assert_int_equal(accounts_migrate_controls(fx->txn, NULL, note, sizeof note), LEDGER_E_CORRUPT);
    assert_non_null(strstr(note, "chain of account 'alice' is broken"));
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup_alice_bob, teardown)

TEST_MAIN(T(test_the_migration_counts_entries_and_writes_the_checkpoints),
          T(test_the_migration_refuses_a_broken_chain))

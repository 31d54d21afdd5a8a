/*  accounts_migrate_test.c: the accounts node's format detection, its
    migration 1 -> 2 (accounts_migrate.h) on format-1 ledgers planted with
    raw writes (test_ledger_v1.h) and account records as the old build
    wrote them through, migration 2 -> 3 (owners) on version-2 account
    records planted as raw bytes, migration 3 -> 4 (transfer causes) on
    version-2 transfer records with their funds.reserved in the outbox, in
    the dead letters or gone, and migration 5 -> 6 (payments_life: risk
    deadlines, holds and timers of the reserved transfers). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "accounts_holds.h"
#include "accounts_migrate.h"
#include "store.h"
#include "test_store.h"
#include "test_ledger_v1.h"
#include "test_msg.h"
#include "test_main.h"

#define NOTE_BYTES 256

typedef struct {
    char dir[TEST_DIR_BYTES];
    store_t *store;
    store_txn_t *txn;
    char note[NOTE_BYTES];
} fx_t;

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    test_store_open_writing(fx->dir, "accounts_migrate_test", &fx->store, &fx->txn);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    test_store_close_writing(fx->dir, &fx->store, &fx->txn);
    free(fx);
    return 0;
}

/*  Double-entry, as the old build wrote: funding pays alice 100 and bob 50
    (seqs 1-4), alice pays bob 30 (seqs 5, 6). */
static const test_v1_entry_t entries[] = {{"funding", -100}, {"alice", 100}, {"funding", -50},
                                          {"bob", 50},       {"alice", -30}, {"bob", 30}};

static void put_account(fx_t *fx, const char *id, int64_t balance_minor)
{
    accounts_record_t rec = {
        .balance_minor = balance_minor, .created_ms = 1, .settlement = strcmp(id, "funding") == 0};
    snprintf(rec.id, sizeof rec.id, "%s", id);
    snprintf(rec.name, sizeof rec.name, "Name of %s", id);
    snprintf(rec.currency, sizeof rec.currency, "GBP");
    assert_int_equal(accounts_record_put(fx->txn, &rec), LEDGER_OK);
}

static void plant(fx_t *fx)
{
    test_v1_plant_t p = {entries, sizeof entries / sizeof entries[0], 0};
    assert_int_equal(test_v1_plant(fx->txn, &p), LEDGER_OK);
}

/* The planted ledger and the records the old build kept beside it; alice's says `alice_minor`. */
static void plant_with_records(fx_t *fx, int64_t alice_minor)
{
    plant(fx);
    put_account(fx, "funding", -150);
    put_account(fx, "alice", alice_minor);
    put_account(fx, "bob", 80);
}

static void test_an_unversioned_dir_with_the_format_1_index_is_format_1(void **state)
{
    fx_t *fx = *state;
    uint32_t version = 0;
    assert_int_equal(accounts_migrate_detect(fx->txn, NULL, &version), LEDGER_OK);
    assert_int_equal(version, 2); /* versions came with format 2: the owner migration follows */
    plant(fx);
    assert_int_equal(accounts_migrate_detect(fx->txn, NULL, &version), LEDGER_OK);
    assert_int_equal(version, 1);
}

static void test_the_migration_gives_each_account_the_head_of_its_chain(void **state)
{
    fx_t *fx = *state;
    plant_with_records(fx, 70);
    put_account(fx, "carol", 0); /* no entries: left as it is */
    assert_int_equal(accounts_migrate_chains(fx->txn, NULL, fx->note, sizeof fx->note), LEDGER_OK);
    assert_non_null(strstr(fx->note, "entries=6 accounts=3 records=3 tip_seq=6 old_tip="));
    accounts_record_t rec;
    assert_int_equal(accounts_record_get(fx->txn, "alice", &rec), LEDGER_OK);
    assert_int_equal(rec.ledger_seq, 5);
    assert_int_equal(rec.balance_minor, 70);
    assert_int_equal(accounts_record_get(fx->txn, "bob", &rec), LEDGER_OK);
    assert_int_equal(rec.ledger_seq, 6);
    assert_int_equal(accounts_record_get(fx->txn, "carol", &rec), LEDGER_OK);
    assert_int_equal(rec.ledger_seq, 0);

    store_ledger_report_t report;
    char why[256] = "";
    assert_int_equal(accounts_verify_ledger(fx->txn, &report, why, sizeof why), LEDGER_OK);
    assert_true(report.ok && why[0] == '\0');
    assert_int_equal(report.entries, 6);
    uint32_t version = 0;
    assert_int_equal(accounts_migrate_detect(fx->txn, NULL, &version), LEDGER_OK);
    assert_int_equal(version, 2); /* the index is gone */
}

static void test_a_record_that_differs_from_its_newest_entry_is_refused(void **state)
{
    fx_t *fx = *state;
    plant_with_records(fx, 71);
    assert_int_equal(accounts_migrate_chains(fx->txn, NULL, fx->note, sizeof fx->note),
                     LEDGER_E_CORRUPT);
    assert_non_null(strstr(fx->note, "account alice: record says balance 71"));
}

static void test_an_account_in_the_ledger_without_a_record_is_refused(void **state)
{
    fx_t *fx = *state;
    plant(fx);
    put_account(fx, "funding", -150);
    put_account(fx, "alice", 70);
    assert_int_equal(accounts_migrate_chains(fx->txn, NULL, fx->note, sizeof fx->note),
                     LEDGER_E_CORRUPT);
    assert_non_null(strstr(fx->note, "account bob has ledger entries but no account record"));
}

/* --- migration 2 -> 3: owners ------------------------------------------------ */

/* An account record as format 2 wrote it: version 2, no owner after the name. */
static void put_v2_account(fx_t *fx, const char *id, bool settlement, int64_t balance_minor,
                           uint64_t ledger_seq)
{
    accounts_record_t rec = {.balance_minor = balance_minor,
                             .held_minor = settlement ? 0 : 5,
                             .settlement = settlement,
                             .created_ms = 1,
                             .ledger_seq = ledger_seq};
    snprintf(rec.id, sizeof rec.id, "%s", id);
    snprintf(rec.name, sizeof rec.name, "%s", settlement ? ACCOUNTS_FUNDING_NAME_V2 : id);
    snprintf(rec.currency, sizeof rec.currency, "GBP");
    uint8_t buf[ACCOUNTS_RECORD_MAX_BYTES];
    size_t len;
    assert_int_equal(accounts_record_encode(&rec, buf, sizeof buf, &len), LEDGER_OK);
    len -= 1 + 8 + 8;                  /* version 4's controls: cut them off */
    assert_int_equal(buf[len - 1], 0); /* the empty owner: cut it off */
    buf[0] = 2;
    assert_int_equal(store_put(fx->txn, STORE_DB_ACCOUNTS, id, strlen(id), buf, len - 1, 0),
                     LEDGER_OK);
}

static void plant_v2(fx_t *fx)
{
    put_v2_account(fx, "funding", true, -150, 4);
    put_v2_account(fx, "alice", false, 70, 5);
    put_v2_account(fx, "bob", false, 80, 6);
    put_v2_account(fx, "carol-2", false, 0, 0);
}

/* The stored record of `id`: its version byte and its decoded value. */
static uint8_t stored(fx_t *fx, const char *id, accounts_record_t *rec)
{
    const void *val;
    size_t size;
    assert_int_equal(store_get(fx->txn, STORE_DB_ACCOUNTS, id, strlen(id), &val, &size), LEDGER_OK);
    assert_int_equal(accounts_record_decode(val, size, rec), LEDGER_OK);
    return ((const uint8_t *)val)[0];
}

static void expect_owned(fx_t *fx)
{
    static const struct {
        const char *id, *owner;
        int64_t balance_minor;
        uint64_t ledger_seq;
    } want[] = {{"funding", "", -150, 4},
                {"alice", "alice", 70, 5},
                {"bob", "bob", 80, 6},
                {"carol-2", "carol-2", 0, 0}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        accounts_record_t rec;
        assert_int_equal(stored(fx, want[i].id, &rec), ACCOUNTS_RECORD_VERSION);
        assert_string_equal(rec.owner, want[i].owner);
        assert_int_equal(rec.balance_minor, want[i].balance_minor);
        assert_int_equal(rec.ledger_seq, want[i].ledger_seq);
        assert_int_equal(rec.held_minor, want[i].owner[0] ? 5 : 0);
        assert_int_equal(rec.settlement, want[i].owner[0] == '\0');
        /* the settlement account's name of format 2 is replaced, the others kept */
        assert_string_equal(rec.name, rec.settlement ? ACCOUNTS_FUNDING_NAME : want[i].id);
    }
}

static void test_the_owner_migration_gives_each_account_the_principal_of_its_id(void **state)
{
    fx_t *fx = *state;
    plant_v2(fx);
    accounts_record_t rec;
    assert_int_equal(stored(fx, "alice", &rec), 2);
    assert_string_equal(rec.owner, "");
    assert_int_equal(accounts_migrate_owners(fx->txn, NULL, fx->note, sizeof fx->note), LEDGER_OK);
    assert_string_equal(fx->note, "accounts=3 settlement=1");
    expect_owned(fx);
}

static void test_the_owner_migration_run_twice_changes_nothing_more(void **state)
{
    fx_t *fx = *state;
    plant_v2(fx);
    assert_int_equal(accounts_migrate_owners(fx->txn, NULL, fx->note, sizeof fx->note), LEDGER_OK);
    assert_int_equal(accounts_migrate_owners(fx->txn, NULL, fx->note, sizeof fx->note), LEDGER_OK);
    assert_string_equal(fx->note, "accounts=3 settlement=1");
    expect_owned(fx);
}

static void test_the_owner_migration_refuses_a_record_that_does_not_parse(void **state)
{
    fx_t *fx = *state;
    plant_v2(fx);
    assert_int_equal(store_put(fx->txn, STORE_DB_ACCOUNTS, "bz", 2, "junk", 4, 0), LEDGER_OK);
    assert_int_equal(accounts_migrate_owners(fx->txn, NULL, fx->note, sizeof fx->note),
                     LEDGER_E_CORRUPT);
    assert_non_null(strstr(fx->note, "after 'bob' does not parse"));
}

static void test_an_empty_store_migrates_to_owners_with_nothing_to_do(void **state)
{
    fx_t *fx = *state;
    assert_int_equal(accounts_migrate_owners(fx->txn, NULL, fx->note, sizeof fx->note), LEDGER_OK);
    assert_string_equal(fx->note, "accounts=0 settlement=0");
}

/* --- 3 -> 4: transfer causes ----------------------------------------------- */

/* A transfer record as format 3 wrote it: version 2, no reserved_seq at the end. */
static void put_v2_transfer(fx_t *fx, const char *id, accounts_transfer_state_t state)
{
    accounts_transfer_t tr = {.state = state,
                              .amount_minor = 30,
                              .created_ms = 1,
                              .updated_ms = 2,
                              .kind = PROTO_TRANSFER_KIND_TRANSFER};
    snprintf(tr.id, sizeof tr.id, "%s", id);
    snprintf(tr.from, sizeof tr.from, "alice");
    snprintf(tr.to, sizeof tr.to, "bob");
    snprintf(tr.currency, sizeof tr.currency, "GBP");
    snprintf(tr.principal, sizeof tr.principal, "alice");
    uint8_t buf[ACCOUNTS_TRANSFER_MAX_BYTES];
    size_t len;
    assert_int_equal(accounts_record_transfer_encode(&tr, buf, sizeof buf, &len), LEDGER_OK);
    buf[0] = 2;
    assert_int_equal(store_put(fx->txn, STORE_DB_TRANSFERS, id, strlen(id), buf,
                               len - ACCOUNTS_TRANSFER_V4_EXTRA_BYTES - 8, 0),
                     LEDGER_OK);
}

/* Puts message accounts/`seq` of `type` about `transfer` in the outbox for `peer`; its tag. */
static uint64_t put_sent(fx_t *fx, proto_type_t type, uint64_t seq, const char *transfer,
                         const char *peer)
{
    proto_msg_t m =
        test_transfer_msg(type, "accounts", seq, 1, transfer, "alice", "bob", 30, "GBP");
    snprintf(m.body.transfer.principal, sizeof m.body.transfer.principal, "alice");
    void *data;
    size_t size;
    char why[128];
    assert_int_equal(proto_encode(&m, &data, &size, why, sizeof why), LEDGER_OK);
    uint64_t tag = 0;
    assert_int_equal(store_outbox_put(fx->txn, peer, data, size, 1, &tag), LEDGER_OK);
    free(data);
    return tag;
}

/*  t-out: reserved, its funds.reserved in the outbox (to fraud and the gateway); t-dead:
    reserved, its funds.reserved dead-lettered at fraud; t-gone: reserved, funds.reserved
    delivered; t-done: settled, the gateway's copy of its funds.reserved not yet delivered. */
static void plant_v3(fx_t *fx)
{
    put_v2_transfer(fx, "t-out", ACCOUNTS_TRANSFER_RESERVED);
    put_v2_transfer(fx, "t-dead", ACCOUNTS_TRANSFER_RESERVED);
    put_v2_transfer(fx, "t-gone", ACCOUNTS_TRANSFER_RESERVED);
    put_v2_transfer(fx, "t-done", ACCOUNTS_TRANSFER_SETTLED);
    put_sent(fx, PROTO_FUNDS_RESERVED, 13, "t-out", "fraud");
    put_sent(fx, PROTO_FUNDS_RESERVED, 13, "t-out", "gateway");
    uint64_t tag = put_sent(fx, PROTO_FUNDS_RESERVED, 17, "t-dead", "fraud");
    assert_int_equal(store_outbox_to_dead(fx->txn, tag, "invalid", "test", 2), LEDGER_OK);
    put_sent(fx, PROTO_FUNDS_RESERVED, 21, "t-done", "gateway");
    put_sent(fx, PROTO_TRANSFER_SETTLED, 22, "t-gone", "gateway"); /* not a funds.reserved */
    uint64_t junk_tag = 0;
    assert_int_equal(store_outbox_put(fx->txn, "fraud", "junk", 4, 1, &junk_tag), LEDGER_OK);
}

/* The stored transfer `id`: its version and reserved_seq. */
static void expect_transfer(fx_t *fx, const char *id, uint8_t version, uint64_t reserved_seq)
{
    accounts_transfer_t tr;
    assert_int_equal(accounts_record_transfer_get(fx->txn, id, &tr), LEDGER_OK);
    assert_int_equal(tr.version, version);
    assert_int_equal(tr.reserved_seq, reserved_seq);
    assert_int_equal(tr.amount_minor, 30);
    assert_string_equal(tr.principal, "alice");
    assert_int_equal(tr.updated_ms, 2); /* a migration does not move the saga */
}

static void expect_cited(fx_t *fx)
{
    expect_transfer(fx, "t-out", ACCOUNTS_TRANSFER_VERSION, 13);
    expect_transfer(fx, "t-dead", ACCOUNTS_TRANSFER_VERSION, 17);
    expect_transfer(fx, "t-gone", ACCOUNTS_TRANSFER_VERSION_2, 0); /* origin only */
    expect_transfer(fx, "t-done", ACCOUNTS_TRANSFER_VERSION_2, 0); /* final: not rewritten */
}

static void test_the_cause_migration_keeps_the_seq_of_each_funds_reserved_it_finds(void **state)
{
    fx_t *fx = *state;
    plant_v3(fx);
    uint64_t outbox = 0;
    assert_int_equal(store_count(fx->txn, STORE_DB_OUTBOX, &outbox), LEDGER_OK);
    assert_int_equal(accounts_migrate_causes(fx->txn, NULL, fx->note, sizeof fx->note), LEDGER_OK);
    assert_string_equal(fx->note, "transfers=4 reserved=3 causes_found=2 origin_only=1");
    expect_cited(fx);
    uint64_t after = 0;
    assert_int_equal(store_count(fx->txn, STORE_DB_OUTBOX, &after), LEDGER_OK);
    assert_int_equal(after, outbox); /* the outbox is read, never changed */
}

static void test_the_cause_migration_run_twice_changes_nothing_more(void **state)
{
    fx_t *fx = *state;
    plant_v3(fx);
    assert_int_equal(accounts_migrate_causes(fx->txn, NULL, fx->note, sizeof fx->note), LEDGER_OK);
    assert_int_equal(accounts_migrate_causes(fx->txn, NULL, fx->note, sizeof fx->note), LEDGER_OK);
    assert_string_equal(fx->note, "transfers=4 reserved=3 causes_found=0 origin_only=1");
    expect_cited(fx);
}

static void test_the_cause_migration_refuses_a_transfer_record_that_does_not_parse(void **state)
{
    fx_t *fx = *state;
    plant_v3(fx);
    assert_int_equal(store_put(fx->txn, STORE_DB_TRANSFERS, "t-bad", 5, "junk", 4, 0), LEDGER_OK);
    assert_int_equal(accounts_migrate_causes(fx->txn, NULL, fx->note, sizeof fx->note),
                     LEDGER_E_CORRUPT);
    assert_string_equal(fx->note, "the transfer record 't-bad' does not parse");
}

static void test_an_empty_store_migrates_to_causes_with_nothing_to_do(void **state)
{
    fx_t *fx = *state;
    assert_int_equal(accounts_migrate_causes(fx->txn, NULL, fx->note, sizeof fx->note), LEDGER_OK);
    assert_string_equal(fx->note, "transfers=0 reserved=0 causes_found=0 origin_only=0");
}

/* --- 5 -> 6: payments_life ----------------------------------------------------- */

#define UPGRADE_MS 1700000000000ull

static void test_the_payments_migration_gives_each_reserved_transfer_a_deadline(void **state)
{
    fx_t *fx = *state;
    plant_v3(fx);
    accounts_migrate_arg_t arg = {.now_ms = UPGRADE_MS, .risk_timeout_ms = 5000};
    assert_int_equal(accounts_migrate_payments(fx->txn, &arg, fx->note, sizeof fx->note),
                     LEDGER_OK);
    assert_string_equal(fx->note, "transfers=4 reserved=3");
    static const char *const reserved[] = {"t-dead", "t-gone", "t-out"};
    proto_hold_t holds[8];
    uint32_t n = 0;
    char next[PROTO_TRANSFER_ID_MAX + 1];
    assert_int_equal(accounts_holds_list(fx->txn, NULL, "alice", "", 8, holds, &n, next),
                     LEDGER_OK);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < 3; i++) {
        accounts_transfer_t tr;
        assert_int_equal(accounts_record_transfer_get(fx->txn, reserved[i], &tr), LEDGER_OK);
        assert_int_equal(tr.version, ACCOUNTS_TRANSFER_VERSION);
        assert_int_equal(tr.risk_deadline_ms, UPGRADE_MS + 5000);
        assert_int_equal(tr.updated_ms, 2); /* a migration does not move the saga */
        assert_string_equal(holds[i].transfer, reserved[i]);
        assert_int_equal(holds[i].amount_minor, 30);
    }
    expect_transfer(fx, "t-done", ACCOUNTS_TRANSFER_VERSION_2, 0); /* final: not rewritten */
    char ids[8][PROTO_TRANSFER_ID_MAX + 1];
    uint64_t due[8], next_due = 0;
    size_t count = 0;
    assert_int_equal(accounts_holds_due(fx->txn, UPGRADE_MS + 4999, 8, ids, due, &count, &next_due),
                     LEDGER_OK);
    assert_int_equal(count, 0);
    assert_int_equal(next_due, UPGRADE_MS + 5000);
    assert_int_equal(accounts_holds_due(fx->txn, UPGRADE_MS + 5000, 8, ids, due, &count, &next_due),
                     LEDGER_OK);
    assert_int_equal(count, 3);
    /* run again (a crash before the version was stamped): nothing more */
    assert_int_equal(accounts_migrate_payments(fx->txn, &arg, fx->note, sizeof fx->note),
                     LEDGER_OK);
    assert_string_equal(fx->note, "transfers=4 reserved=0");
}

static void test_the_payments_migration_refuses_a_transfer_record_that_does_not_parse(void **state)
{
    fx_t *fx = *state;
    plant_v3(fx);
    assert_int_equal(store_put(fx->txn, STORE_DB_TRANSFERS, "t-bad", 5, "junk", 4, 0), LEDGER_OK);
    assert_int_equal(accounts_migrate_payments(fx->txn, NULL, fx->note, sizeof fx->note),
                     LEDGER_E_CORRUPT);
    assert_string_equal(fx->note, "the transfer record 't-bad' does not parse");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

TEST_MAIN(T(test_an_unversioned_dir_with_the_format_1_index_is_format_1),
          T(test_the_migration_gives_each_account_the_head_of_its_chain),
          T(test_a_record_that_differs_from_its_newest_entry_is_refused),
          T(test_an_account_in_the_ledger_without_a_record_is_refused),
          T(test_the_owner_migration_gives_each_account_the_principal_of_its_id),
          T(test_the_owner_migration_run_twice_changes_nothing_more),
          T(test_the_owner_migration_refuses_a_record_that_does_not_parse),
          T(test_an_empty_store_migrates_to_owners_with_nothing_to_do),
          T(test_the_cause_migration_keeps_the_seq_of_each_funds_reserved_it_finds),
          T(test_the_cause_migration_run_twice_changes_nothing_more),
          T(test_the_cause_migration_refuses_a_transfer_record_that_does_not_parse),
          T(test_an_empty_store_migrates_to_causes_with_nothing_to_do),
          T(test_the_payments_migration_gives_each_reserved_transfer_a_deadline),
          T(test_the_payments_migration_refuses_a_transfer_record_that_does_not_parse))

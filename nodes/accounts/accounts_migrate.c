/*  accounts_migrate.c: the accounts node's store formats and migrations
    1 -> 2 and 2 -> 3 (accounts_migrate.h). */
#include "accounts_migrate.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "accounts.h"
#include "accounts_open.h"
#include "store_migrate_v1.h"
#include "text.h"

#define HASH_HEX_BYTES (2 * STORE_HASH_SIZE + 1)
/* The format of an unversioned dir without the format-1 index: versions came with format 2. */
#define ACCOUNTS_FORMAT_UNVERSIONED_CHAINS 2

typedef struct {
    uint64_t rewritten; /* account records given their ledger_seq */
    char *note;
    size_t note_size;
} chains_t;

ledger_err_t accounts_migrate_detect(store_txn_t *txn, void *arg, uint32_t *version_out)
{
    (void)arg;
    assert(txn && version_out);
    uint64_t indexed = 0;
    ledger_err_t err = store_migrate_v1_index_count(txn, &indexed);
    if (err == LEDGER_OK)
        *version_out = indexed > 0 ? 1 : ACCOUNTS_FORMAT_UNVERSIONED_CHAINS;
    return err;
}

/* store_migrate_v1_head_fn: the account's record names its newest entry and matches it. */
static ledger_err_t head_keep(store_txn_t *txn, const store_ledger_entry_t *newest, void *arg)
{
    chains_t *c = arg;
    accounts_record_t rec;
    ledger_err_t err = accounts_record_get(txn, newest->account, &rec);
    if (err == LEDGER_E_NOT_FOUND) {
        snprintf(c->note, c->note_size, "account %s has ledger entries but no account record",
                 newest->account);
        return LEDGER_E_CORRUPT;
    }
    if (err != LEDGER_OK)
        return err;
    if (rec.balance_minor != newest->balance_after_minor ||
        rec.held_minor != newest->held_after_minor) {
        snprintf(c->note, c->note_size,
                 "account %s: record says balance %lld held %lld, its newest entry %llu says "
                 "%lld and %lld",
                 rec.id, (long long)rec.balance_minor, (long long)rec.held_minor,
                 (unsigned long long)newest->seq, (long long)newest->balance_after_minor,
                 (long long)newest->held_after_minor);
        return LEDGER_E_CORRUPT;
    }
    rec.ledger_seq = newest->seq;
    err = accounts_record_put(txn, &rec);
    if (err == LEDGER_OK)
        c->rewritten++;
    return err;
}

static void hex(const uint8_t hash[STORE_HASH_SIZE], char out[HASH_HEX_BYTES])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < STORE_HASH_SIZE; i++) {
        out[2 * i] = digits[hash[i] >> 4];
        out[2 * i + 1] = digits[hash[i] & 0xf];
    }
    out[2 * STORE_HASH_SIZE] = '\0';
}

ledger_err_t accounts_migrate_chains(store_txn_t *txn, void *arg, char *note, size_t note_size)
{
    (void)arg;
    assert(txn && note);
    chains_t c = {.note = note, .note_size = note_size};
    store_migrate_v1_report_t report;
    ledger_err_t err = store_migrate_v1_ledger(txn, head_keep, &c, &report, note, note_size);
    if (err != LEDGER_OK)
        return err;
    char old_tip[HASH_HEX_BYTES], new_tip[HASH_HEX_BYTES];
    hex(report.old_tip_hash, old_tip);
    hex(report.new_tip_hash, new_tip);
    snprintf(note, note_size,
             "entries=%llu accounts=%llu records=%llu tip_seq=%llu old_tip=%s new_tip=%s",
             (unsigned long long)report.entries, (unsigned long long)report.accounts,
             (unsigned long long)c.rewritten, (unsigned long long)report.tip_seq, old_tip, new_tip);
    return LEDGER_OK;
}

/*  The first account record with an id after `after` ("" = the first of all) into *rec;
    LEDGER_E_NOT_FOUND past the last. A fresh cursor per record: the caller rewrites records
    between calls. */
static ledger_err_t next_account(store_txn_t *txn, const char *after, accounts_record_t *rec)
{
    store_cursor_t *cur;
    ledger_err_t err = store_cursor_open(txn, STORE_DB_ACCOUNTS, &cur);
    if (err)
        return err;
    /* the first key > after is the first key >= after + "\0" */
    char key[PROTO_ACCOUNT_ID_MAX + 1];
    size_t n = strlen(after);
    memcpy(key, after, n);
    key[n] = '\0';
    store_kv_t kv = {.key = key, .key_size = after[0] ? n + 1 : 0};
    err = store_cursor_get(cur, after[0] ? STORE_SEEK : STORE_FIRST, &kv);
    if (!err)
        err = accounts_record_decode(kv.val, kv.val_size, rec);
    store_cursor_close(&cur);
    return err;
}

ledger_err_t accounts_migrate_owners(store_txn_t *txn, void *arg, char *note, size_t note_size)
{
    (void)arg;
    assert(txn && note);
    uint64_t accounts = 0, settlement = 0;
    accounts_record_t rec;
    char after[PROTO_ACCOUNT_ID_MAX + 1] = "";
    ledger_err_t err;
    while ((err = next_account(txn, after, &rec)) == LEDGER_OK) {
        if (rec.settlement) {
            rec.owner[0] = '\0';
            if (strcmp(rec.name, ACCOUNTS_FUNDING_NAME_V2) == 0)
                text_copy(rec.name, sizeof rec.name, ACCOUNTS_FUNDING_NAME);
            settlement++;
        } else {
            memcpy(rec.owner, rec.id, sizeof rec.owner);
            accounts++;
        }
        err = accounts_record_put(txn, &rec);
        if (err)
            return err;
        memcpy(after, rec.id, sizeof after);
    }
    if (err == LEDGER_E_CORRUPT)
        snprintf(note, note_size, "the account record after '%s' does not parse", after);
    if (err != LEDGER_E_NOT_FOUND)
        return err;
    snprintf(note, note_size, "accounts=%llu settlement=%llu", (unsigned long long)accounts,
             (unsigned long long)settlement);
    return LEDGER_OK;
}

static const store_migrate_step_t steps[] = {
    {.to_version = 2, .name = "account_chains", .run = accounts_migrate_chains},
    {.to_version = 3, .name = "account_owners", .run = accounts_migrate_owners},
};

const store_migrate_plan_t accounts_migrate_plan = {
    .node = "accounts",
    .version = ACCOUNTS_STORE_FORMAT,
    .steps = steps,
    .step_count = sizeof steps / sizeof steps[0],
    .detect = accounts_migrate_detect,
};

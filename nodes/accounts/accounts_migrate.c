/*  accounts_migrate.c: the accounts node's store formats and migration
    1 -> 2 (accounts_migrate.h). */
#include "accounts_migrate.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "accounts.h"
#include "store_migrate_v1.h"

#define HASH_HEX_BYTES (2 * STORE_HASH_SIZE + 1)

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
        *version_out = indexed > 0 ? 1 : ACCOUNTS_STORE_FORMAT;
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

static const store_migrate_step_t steps[] = {
    {.to_version = 2, .name = "account_chains", .run = accounts_migrate_chains},
};

const store_migrate_plan_t accounts_migrate_plan = {
    .node = "accounts",
    .version = ACCOUNTS_STORE_FORMAT,
    .steps = steps,
    .step_count = sizeof steps / sizeof steps[0],
    .detect = accounts_migrate_detect,
};

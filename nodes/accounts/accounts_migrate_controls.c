/*  accounts_migrate_controls.c: migration 6 -> 7 "controls_history"
    (accounts_migrate.h). Self-contained: one function, one plan row. */
#include "accounts_migrate.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "accounts_history.h"
#include "accounts_record.h"

/*  Walks `rec`'s chain back from its record's newest entry: counts the entries into
    *count_out; with `total` (the count of a first walk) writes the checkpoint of every entry
    whose position from the oldest is a multiple of ACCOUNTS_HISTORY_EVERY. */
static ledger_err_t chain_walk(store_txn_t *txn, const accounts_record_t *rec, uint64_t total,
                               uint64_t *count_out, uint64_t *checkpoints)
{
    uint64_t count = 0, seq = rec->ledger_seq, newer = UINT64_MAX;
    while (seq != 0) {
        store_ledger_entry_t e;
        ledger_err_t err = store_ledger_get(txn, seq, &e);
        if (err == LEDGER_E_NOT_FOUND || (!err && strcmp(e.account, rec->id) != 0) ||
            (!err && seq >= newer))
            return LEDGER_E_CORRUPT;
        if (err)
            return err;
        if (total) {
            accounts_record_t at = *rec;
            at.entry_count = total - count; /* this entry's position from the oldest */
            err = accounts_history_note(txn, &at, seq);
            if (err)
                return err;
            *checkpoints += at.entry_count % ACCOUNTS_HISTORY_EVERY == 0;
        }
        count++;
        newer = seq;
        seq = e.account_prev_seq;
    }
    *count_out = count;
    return LEDGER_OK;
}

ledger_err_t accounts_migrate_controls(store_txn_t *txn, void *arg, char *note, size_t note_size)
{
    (void)arg;
    assert(txn && note);
    uint64_t accounts = 0, entries = 0, checkpoints = 0;
    accounts_record_t rec;
    char after[PROTO_ACCOUNT_ID_MAX + 1] = "";
    ledger_err_t err;
    while ((err = accounts_migrate_next_account(txn, after, &rec)) == LEDGER_OK) {
        uint64_t count = 0, again = 0;
        err = chain_walk(txn, &rec, 0, &count, &checkpoints);
        if (!err && count)
            err = chain_walk(txn, &rec, count, &again, &checkpoints);
        if (err == LEDGER_E_CORRUPT)
            snprintf(note, note_size, "the ledger chain of account '%s' is broken", rec.id);
        if (err)
            return err;
        rec.entry_count = count; /* status active and overdraft 0: how versions 1-3 read */
        err = accounts_record_put(txn, &rec);
        if (err)
            return err;
        accounts++;
        entries += count;
        memcpy(after, rec.id, sizeof after);
    }
    if (err == LEDGER_E_CORRUPT)
        snprintf(note, note_size, "the account record after '%s' does not parse", after);
    if (err != LEDGER_E_NOT_FOUND)
        return err;
    snprintf(note, note_size, "accounts=%llu entries=%llu checkpoints=%llu",
             (unsigned long long)accounts, (unsigned long long)entries,
             (unsigned long long)checkpoints);
    return LEDGER_OK;
}

/*  accounts_migrate.c: the accounts node's store formats and migrations
    1 -> 2, 2 -> 3, 3 -> 4, 5 -> 6 and 7 -> 8 (accounts_migrate.h). */
#include "accounts_migrate.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "accounts.h"
#include "accounts_holds.h"
#include "accounts_timers.h"
#include "clock.h"
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

ledger_err_t accounts_migrate_next_account(store_txn_t *txn, const char *after,
                                           accounts_record_t *rec)
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
    while ((err = accounts_migrate_next_account(txn, after, &rec)) == LEDGER_OK) {
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

/* --- 3 -> 4: the funds.reserved of each reserved transfer ------------------- */

/*  If the envelope `data` (`size` bytes; from this node's outbox or dead letters, so its own)
    is a funds.reserved whose transfer is still reserved without reserved_seq, gives the
    transfer that message's seq and counts it in *found. Anything else is left alone: an
    entry that does not decode is the operator's to judge, not the migration's. */
static ledger_err_t cite_reserved(store_txn_t *txn, const void *data, size_t size, uint64_t *found)
{
    proto_msg_t m;
    if (proto_decode(data, size, &m, NULL, 0) != LEDGER_OK)
        return LEDGER_OK;
    /* decoded into copies before any write: `data` points into the map */
    bool reserved = m.type == PROTO_FUNDS_RESERVED;
    uint64_t seq = m.seq;
    char transfer[PROTO_TRANSFER_ID_MAX + 1];
    text_copy(transfer, sizeof transfer, m.body.transfer.transfer);
    proto_msg_release(&m);
    if (!reserved)
        return LEDGER_OK;
    accounts_transfer_t tr;
    ledger_err_t err = accounts_record_transfer_get(txn, transfer, &tr);
    if (err == LEDGER_E_NOT_FOUND)
        return LEDGER_OK;
    if (err != LEDGER_OK || tr.state != ACCOUNTS_TRANSFER_RESERVED || tr.reserved_seq != 0)
        return err;
    tr.reserved_seq = seq;
    err = accounts_record_transfer_put(txn, &tr);
    if (err == LEDGER_OK)
        (*found)++;
    return err;
}

/* Every funds.reserved in the outbox, then in the dead letters, through cite_reserved. */
static ledger_err_t cite_all(store_txn_t *txn, uint64_t *found)
{
    ledger_err_t err;
    store_outbox_entry_t e;
    for (uint64_t after = 0; (err = store_outbox_next(txn, after, &e)) == LEDGER_OK;
         after = e.seq) {
        err = cite_reserved(txn, e.msg, e.msg_size, found);
        if (err)
            return err;
    }
    if (err != LEDGER_E_NOT_FOUND)
        return err;
    store_dead_letter_t d;
    for (uint64_t after = 0; (err = store_dead_next(txn, after, &d)) == LEDGER_OK; after = d.id) {
        err = cite_reserved(txn, d.msg, d.msg_size, found);
        if (err)
            return err;
    }
    return err == LEDGER_E_NOT_FOUND ? LEDGER_OK : err;
}

/*  Counts the transfers, the reserved ones and those of them still without reserved_seq,
    reading every record (one that does not parse is LEDGER_E_CORRUPT, named in `note`). */
static ledger_err_t count_reserved(store_txn_t *txn, uint64_t counts[3], char *note,
                                   size_t note_size)
{
    store_cursor_t *cur;
    ledger_err_t err = store_cursor_open(txn, STORE_DB_TRANSFERS, &cur);
    if (err)
        return err;
    store_kv_t kv = {0};
    for (store_seek_t op = STORE_FIRST; (err = store_cursor_get(cur, op, &kv)) == LEDGER_OK;
         op = STORE_NEXT) {
        char id[PROTO_TRANSFER_ID_MAX + 1] = "";
        accounts_transfer_t tr;
        if (kv.key_size <= PROTO_TRANSFER_ID_MAX)
            memcpy(id, kv.key, kv.key_size);
        if (kv.key_size > PROTO_TRANSFER_ID_MAX || strlen(id) != kv.key_size ||
            accounts_record_transfer_decode(id, kv.val, kv.val_size, &tr) != LEDGER_OK) {
            snprintf(note, note_size, "the transfer record '%s' does not parse", id);
            err = LEDGER_E_CORRUPT;
            break;
        }
        counts[0]++;
        counts[1] += tr.state == ACCOUNTS_TRANSFER_RESERVED;
        counts[2] += tr.state == ACCOUNTS_TRANSFER_RESERVED && tr.reserved_seq == 0;
    }
    store_cursor_close(&cur);
    return err == LEDGER_E_NOT_FOUND ? LEDGER_OK : err;
}

ledger_err_t accounts_migrate_causes(store_txn_t *txn, void *arg, char *note, size_t note_size)
{
    (void)arg;
    assert(txn && note);
    uint64_t found = 0, counts[3] = {0, 0, 0};
    ledger_err_t err = cite_all(txn, &found);
    if (!err)
        err = count_reserved(txn, counts, note, note_size);
    if (err)
        return err;
    snprintf(note, note_size, "transfers=%llu reserved=%llu causes_found=%llu origin_only=%llu",
             (unsigned long long)counts[0], (unsigned long long)counts[1],
             (unsigned long long)found, (unsigned long long)counts[2]);
    return LEDGER_OK;
}

/* --- 5 -> 6: risk deadlines, holds and timers of the reserved transfers ---------------- */

/*  The first transfer record with an id after `after` ("" = the first) into *tr; LEDGER_E_NOT_FOUND
    past the last, LEDGER_E_CORRUPT (named in `note`) for one that does not parse. A fresh cursor
    per record: the caller rewrites records between calls. */
static ledger_err_t next_transfer(store_txn_t *txn, const char *after, accounts_transfer_t *tr,
                                  char *note, size_t note_size)
{
    store_cursor_t *cur;
    ledger_err_t err = store_cursor_open(txn, STORE_DB_TRANSFERS, &cur);
    if (err)
        return err;
    size_t n = strlen(after);
    store_kv_t kv = {.key = after, .key_size = n};
    err = store_cursor_get(cur, n ? STORE_SEEK : STORE_FIRST, &kv);
    if (!err && n && kv.key_size == n && memcmp(kv.key, after, n) == 0)
        err = store_cursor_get(cur, STORE_NEXT, &kv);
    char id[PROTO_TRANSFER_ID_MAX + 1] = "";
    if (!err && kv.key_size <= PROTO_TRANSFER_ID_MAX)
        memcpy(id, kv.key, kv.key_size);
    if (!err && (kv.key_size > PROTO_TRANSFER_ID_MAX || strlen(id) != kv.key_size ||
                 accounts_record_transfer_decode(id, kv.val, kv.val_size, tr) != LEDGER_OK)) {
        snprintf(note, note_size, "the transfer record '%s' does not parse", id);
        err = LEDGER_E_CORRUPT;
    }
    store_cursor_close(&cur);
    return err;
}

ledger_err_t accounts_migrate_payments(store_txn_t *txn, void *arg, char *note, size_t note_size)
{
    assert(txn && note);
    const accounts_migrate_arg_t *a = arg;
    uint64_t now = a && a->now_ms ? a->now_ms : clock_wall_ms();
    uint64_t timeout =
        a && a->risk_timeout_ms ? a->risk_timeout_ms : ACCOUNTS_RISK_TIMEOUT_DEFAULT_MS;
    uint64_t transfers = 0, reserved = 0;
    accounts_transfer_t tr;
    char after[PROTO_TRANSFER_ID_MAX + 1] = "";
    ledger_err_t err;
    while ((err = next_transfer(txn, after, &tr, note, note_size)) == LEDGER_OK) {
        transfers++;
        memcpy(after, tr.id, sizeof after);
        if (tr.state != ACCOUNTS_TRANSFER_RESERVED || tr.risk_deadline_ms)
            continue;
        tr.risk_deadline_ms = now + timeout;
        err = accounts_record_transfer_put(txn, &tr);
        if (!err)
            err = accounts_holds_follow(txn, NULL, &tr, 0, 0);
        if (err)
            return err;
        reserved++;
    }
    if (err != LEDGER_E_NOT_FOUND)
        return err;
    snprintf(note, note_size, "transfers=%llu reserved=%llu", (unsigned long long)transfers,
             (unsigned long long)reserved);
    return LEDGER_OK;
}

/* Index keys starting with `prefix` (3 bytes). */
static ledger_err_t count_prefix(store_txn_t *txn, const char *prefix, uint64_t *count_out)
{
    *count_out = 0;
    store_cursor_t *cur;
    ledger_err_t err = store_cursor_open(txn, STORE_DB_INDEX, &cur);
    if (err)
        return err;
    store_kv_t kv = {.key = prefix, .key_size = 3};
    for (err = store_cursor_get(cur, STORE_SEEK, &kv);
         !err && kv.key_size >= 3 && memcmp(kv.key, prefix, 3) == 0;
         err = store_cursor_get(cur, STORE_NEXT, &kv))
        (*count_out)++;
    store_cursor_close(&cur);
    return err == LEDGER_E_NOT_FOUND ? LEDGER_OK : err;
}

ledger_err_t accounts_migrate_reserved(store_txn_t *txn, void *arg, char *note, size_t note_size)
{
    (void)arg;
    assert(txn && note);
    uint64_t holds = 0, timers = 0;
    ledger_err_t err = count_prefix(txn, ACCOUNTS_HOLDS_PREFIX, &holds);
    if (!err)
        err = count_prefix(txn, ACCOUNTS_TIMERS_PREFIX, &timers);
    if (!err)
        snprintf(note, note_size, "holds_indexed=%llu timers=%llu", (unsigned long long)holds,
                 (unsigned long long)timers);
    return err;
}

static const store_migrate_step_t steps[] = {
    {.to_version = 2, .name = "account_chains", .run = accounts_migrate_chains},
    {.to_version = 3, .name = "account_owners", .run = accounts_migrate_owners},
    {.to_version = 4, .name = "transfer_causes", .run = accounts_migrate_causes},
    {.to_version = 5, .name = "seen_floors", .run = store_seen_migrate_floors},
    {.to_version = 6, .name = "payments_life", .run = accounts_migrate_payments},
    {.to_version = 7, .name = "controls_history", .run = accounts_migrate_controls},
    {.to_version = 8, .name = "reserved_in_memory", .run = accounts_migrate_reserved},
};

const store_migrate_plan_t accounts_migrate_plan = {
    .node = "accounts",
    .version = ACCOUNTS_STORE_FORMAT,
    .steps = steps,
    .step_count = sizeof steps / sizeof steps[0],
    .detect = accounts_migrate_detect,
};

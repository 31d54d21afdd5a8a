/*  store_verify.c: the walk that re-checks the whole ledger (store.h,
    store_ledger_verify).

    One pass in seq order: each entry's key and seq, its prev_hash and
    hash, its place in its account's chain and its after values against
    the account's running sums, kept in an open-addressing hash table.
*/
#include "store.h"
#include "store_internal.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "money.h"

#define FNV1A_OFFSET_BASIS 1469598103934665603u
#define FNV1A_PRIME 1099511628211u
#define SUM_TABLE_FIRST_SLOTS 64 /* slots of a new table (a power of two); half hold sums */

/* Running sums per account during a verify walk. */
typedef struct {
    char account[STORE_ACCOUNT_MAX + 1];
    int64_t balance_minor;
    int64_t held_minor;
    uint64_t last_seq; /* the account's newest entry so far */
} account_sum_t;

typedef struct {
    account_sum_t *sums; /* in order of first appearance */
    size_t count;
    size_t sums_cap;
    uint32_t *slots;  /* index + 1 into sums, 0 = empty */
    size_t slots_cap; /* power of two */
} sum_table_t;

/* What the walk carries from one entry to the next. */
typedef struct {
    uint64_t expected_seq;
    uint8_t prev_hash[STORE_HASH_SIZE];
    sum_table_t sums;
    store_ledger_report_t report;
    ledger_err_t err; /* a store error that stopped the walk (not a bad entry) */
} verify_walk_t;

/* --- per-account sums ----------------------------------------------------- */

static uint64_t text_hash(const char *text)
{
    uint64_t hash = FNV1A_OFFSET_BASIS;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        hash = (hash ^ *p) * FNV1A_PRIME;
    return hash;
}

static bool sum_table_grow(sum_table_t *table)
{
    size_t slots_cap = table->slots_cap ? table->slots_cap * 2 : SUM_TABLE_FIRST_SLOTS;
    if (slots_cap / 2 > UINT32_MAX)
        return false;
    uint32_t *slots = calloc(slots_cap, sizeof *slots);
    account_sum_t *sums = realloc(table->sums, (slots_cap / 2) * sizeof *sums);
    if (!slots || !sums) {
        free(slots);
        if (sums)
            table->sums = sums;
        return false;
    }
    table->sums = sums;
    table->sums_cap = slots_cap / 2;
    for (size_t i = 0; i < table->count; i++) {
        size_t slot = text_hash(sums[i].account) & (slots_cap - 1);
        while (slots[slot])
            slot = (slot + 1) & (slots_cap - 1);
        slots[slot] = (uint32_t)(i + 1);
    }
    free(table->slots);
    table->slots = slots;
    table->slots_cap = slots_cap;
    return true;
}

/* The running sums of `account`, added at zero if new; NULL if out of memory. */
static account_sum_t *sum_table_find(sum_table_t *table, const char *account)
{
    if (table->count + 1 > table->sums_cap && !sum_table_grow(table))
        return NULL;
    size_t slot = text_hash(account) & (table->slots_cap - 1);
    while (table->slots[slot]) {
        account_sum_t *sum = &table->sums[table->slots[slot] - 1];
        if (!strcmp(sum->account, account))
            return sum;
        slot = (slot + 1) & (table->slots_cap - 1);
    }
    account_sum_t *sum = &table->sums[table->count++];
    memset(sum, 0, sizeof *sum);
    snprintf(sum->account, sizeof sum->account, "%s", account);
    table->slots[slot] = (uint32_t)table->count;
    return sum;
}

static void sum_table_free(sum_table_t *table)
{
    free(table->sums);
    free(table->slots);
}

/* --- one entry ------------------------------------------------------------ */

static void report_bad(store_ledger_report_t *report, uint64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void report_bad(store_ledger_report_t *report, uint64_t seq, const char *fmt, ...)
{
    report->ok = false;
    report->first_bad_seq = seq;
    va_list args;
    va_start(args, fmt);
    vsnprintf(report->problem, sizeof report->problem, fmt, args);
    va_end(args);
}

/*  Checks that the record under `k` is the next entry of the hash chain and
    parses it into *entry. false (with the report filled, or walk->err set)
    at a bad entry. */
static bool verify_entry_chain(verify_walk_t *walk, const MDB_val *k, const MDB_val *v,
                               store_ledger_entry_t *entry)
{
    store_ledger_report_t *report = &walk->report;
    if (k->mv_size != STORE_BE64_BYTES) {
        report_bad(report, walk->expected_seq, "key is %zu bytes, not 8", k->mv_size);
        return false;
    }
    uint64_t seq = store_be64_get(k->mv_data);
    if (seq != walk->expected_seq) {
        report_bad(report, seq, "seq %llu follows %llu: the ledger is not contiguous",
                   (unsigned long long)seq, (unsigned long long)(walk->expected_seq - 1));
        return false;
    }
    const uint8_t *fields;
    size_t fields_size;
    if (!store_ledger_parse(v, entry, &fields, &fields_size)) {
        report_bad(report, seq, "record does not parse");
        return false;
    }
    if (entry->seq != seq) {
        report_bad(report, seq, "record says seq %llu", (unsigned long long)entry->seq);
        return false;
    }
    if (memcmp(entry->prev_hash, walk->prev_hash, STORE_HASH_SIZE) != 0) {
        report_bad(report, seq, "prev_hash is not the hash of entry %llu",
                   (unsigned long long)(seq - 1));
        return false;
    }
    uint8_t hash[STORE_HASH_SIZE];
    walk->err = store_ledger_hash(walk->prev_hash, fields, fields_size, hash);
    if (walk->err != LEDGER_OK)
        return false;
    if (memcmp(hash, entry->hash, STORE_HASH_SIZE) != 0) {
        report_bad(report, seq, "hash does not match the entry's contents");
        return false;
    }
    return true;
}

/*  Checks `entry` against its account's chain and running sums, and adds
    it to them and to the total. false (report filled, or walk->err set) at
    a bad entry. */
static bool verify_entry_sums(verify_walk_t *walk, const store_ledger_entry_t *entry)
{
    store_ledger_report_t *report = &walk->report;
    uint64_t seq = entry->seq;
    account_sum_t *sum = sum_table_find(&walk->sums, entry->account);
    if (!sum) {
        walk->err = LEDGER_E_NOMEM;
        return false;
    }
    if (entry->account_prev_seq != sum->last_seq) {
        report_bad(report, seq, "account_prev_seq %llu, but the previous entry of %s is %llu",
                   (unsigned long long)entry->account_prev_seq, entry->account,
                   (unsigned long long)sum->last_seq);
        return false;
    }
    sum->last_seq = seq;
    if (money_add(sum->balance_minor, entry->balance_delta_minor, &sum->balance_minor) !=
            LEDGER_OK ||
        money_add(sum->held_minor, entry->held_delta_minor, &sum->held_minor) != LEDGER_OK) {
        report_bad(report, seq, "running sums of %s overflow", entry->account);
        return false;
    }
    if (sum->balance_minor != entry->balance_after_minor ||
        sum->held_minor != entry->held_after_minor) {
        report_bad(report, seq, "after values (%lld, %lld) differ from running sums (%lld, %lld)",
                   (long long)entry->balance_after_minor, (long long)entry->held_after_minor,
                   (long long)sum->balance_minor, (long long)sum->held_minor);
        return false;
    }
    if (money_add(report->balance_sum_minor, entry->balance_delta_minor,
                  &report->balance_sum_minor) != LEDGER_OK) {
        report_bad(report, seq, "sum of all balance deltas overflows");
        return false;
    }
    return true;
}

/* Checks one entry against the walk so far and moves the walk past it. */
static bool verify_entry(verify_walk_t *walk, const MDB_val *k, const MDB_val *v)
{
    store_ledger_entry_t entry;
    if (!verify_entry_chain(walk, k, v, &entry) || !verify_entry_sums(walk, &entry))
        return false;
    memcpy(walk->prev_hash, entry.hash, STORE_HASH_SIZE);
    walk->expected_seq++;
    return true;
}

/* --- the walk ------------------------------------------------------------- */

struct store_ledger_walk_t {
    verify_walk_t walk;
    bool done; /* at the end of the ledger (as its last step's transaction saw it) or a bad entry */
};

ledger_err_t store_ledger_walk_new(store_ledger_walk_t **walk_out)
{
    assert(walk_out);
    store_ledger_walk_t *self = calloc(1, sizeof *self);
    if (!self)
        return LEDGER_E_NOMEM;
    self->walk.report.ok = true;
    self->walk.expected_seq = 1;
    *walk_out = self;
    return LEDGER_OK;
}

void store_ledger_walk_destroy(store_ledger_walk_t **walk_p)
{
    assert(walk_p);
    if (!*walk_p)
        return;
    sum_table_free(&(*walk_p)->walk.sums);
    free(*walk_p);
    *walk_p = NULL;
}

ledger_err_t store_ledger_walk_step(store_ledger_walk_t *self, store_txn_t *txn, uint64_t max,
                                    bool *done_out)
{
    assert(self && txn && done_out && max > 0);
    verify_walk_t *walk = &self->walk;
    if (self->done || walk->err) {
        *done_out = self->done;
        return walk->err;
    }
    MDB_cursor *cursor;
    ledger_err_t err = store_db_cursor_open(txn, STORE_DB_LEDGER, &cursor);
    if (err != LEDGER_OK)
        return err;
    /*  The first step starts at the first key, whatever it is (a stray key before seq 1 is
        reported); a later one at the next entry after where the last step stopped (a gap is
        reported by verify_entry, as in one walk). */
    uint8_t key[STORE_BE64_BYTES];
    store_be64_put(key, walk->expected_seq);
    MDB_val k = {sizeof key, key}, v;
    int rc = mdb_cursor_get(cursor, &k, &v, walk->report.entries ? MDB_SET_RANGE : MDB_FIRST);
    for (uint64_t n = 0; rc == 0 && n < max; n++) {
        walk->report.entries++;
        if (!verify_entry(walk, &k, &v)) {
            self->done = walk->err == LEDGER_OK;
            break;
        }
        rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cursor);
    if (walk->err == LEDGER_OK && rc != 0 && rc != MDB_NOTFOUND)
        walk->err = store_txn_rc(txn, rc, "mdb_cursor_get (ledger)");
    if (rc == MDB_NOTFOUND)
        self->done = true;
    *done_out = self->done;
    return walk->err;
}

ledger_err_t store_ledger_walk_finish(store_ledger_walk_t *self, store_ledger_balance_fn balance_fn,
                                      void *ctx, store_ledger_report_t *report_out)
{
    assert(self && self->done && report_out);
    verify_walk_t *walk = &self->walk;
    if (walk->err != LEDGER_OK)
        return walk->err;
    if (walk->report.ok && balance_fn) {
        for (size_t i = 0; i < walk->sums.count; i++) {
            const account_sum_t *sum = &walk->sums.sums[i];
            balance_fn(sum->account, sum->balance_minor, sum->held_minor, sum->last_seq, ctx);
        }
    }
    *report_out = walk->report;
    return LEDGER_OK;
}

ledger_err_t store_ledger_verify(store_txn_t *txn, store_ledger_balance_fn balance_fn, void *ctx,
                                 store_ledger_report_t *report_out)
{
    assert(txn);
    if (!report_out)
        return LEDGER_E_INVALID;
    store_ledger_walk_t *walk = NULL;
    bool done = false;
    ledger_err_t err = store_ledger_walk_new(&walk);
    if (!err)
        err = store_ledger_walk_step(walk, txn, UINT64_MAX, &done);
    if (!err)
        err = store_ledger_walk_finish(walk, balance_fn, ctx, report_out);
    store_ledger_walk_destroy(&walk);
    return err;
}

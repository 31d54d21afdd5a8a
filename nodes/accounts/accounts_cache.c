/*  accounts_cache.c: dirty account records in a czmq hash, an undo log per
    transaction, checkpoints in id order, and the start-up replay. See
    accounts_cache.h. */
#include "accounts_cache.h"
#include "accounts_history.h"
#include "accounts_holds.h"
#include "accounts_kinds.h"

#include <assert.h>
#include <czmq.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "money.h"
#include "text.h"

/* Undo entries allocated at a transaction's first change (doubled when full). */
#define UNDO_INITIAL_CAP 256
/* The checkpoint mark in STORE_DB_META: a be64 ledger seq. */
#define MARK_BYTES 8

typedef struct {
    accounts_record_t rec; /* newest value, not yet in the accounts table */
    uint64_t txn_stamp;    /* the transaction that last saved an undo for it */
} dirty_t;

/* How to undo one record's first change in a transaction. */
typedef struct {
    bool existed;          /* it was dirty before: restore `old`; else: forget it */
    accounts_record_t old; /* old.id names the record either way */
} undo_t;

struct accounts_cache_t {
    accounts_cache_config_t config;
    zhashx_t *dirty;               /* id -> dirty_t (owned) */
    accounts_reserved_t *reserved; /* the reserved transfers' holds (owned) */
    uint64_t txn_stamp;            /* current transaction */
    undo_t *undo;
    size_t undo_count, undo_cap;

    /* The running checkpoint: the records dirty when it started, in id order.
       Entries stay where they are until the checkpoint's own commit drops them
       (a rollback restores values in place), so the list holds their addresses. */
    dirty_t **sweep;
    size_t sweep_count, sweep_pos;
    uint64_t sweep_mark;     /* the next ledger seq when it started */
    uint64_t last_start_ms;  /* when the last checkpoint started (0: none yet) */
    size_t written_pos;      /* prepare wrote sweep[sweep_pos .. written_pos) */
    bool written_mark;       /* prepare wrote the mark: the checkpoint ends on commit */
    bool start_after_commit; /* prepare decided a checkpoint starts on commit */
    uint64_t start_mark;     /* its mark */
    uint64_t start_ms;       /* and its start time (last_start_ms once committed) */
    /* For accounts_cache_stats on other threads; written by the loop only. */
    _Atomic uint64_t checkpoints_done, records_written, shared_dirty;
};

static void dirty_free(void **item)
{
    free(*item);
    *item = NULL;
}

accounts_cache_t *accounts_cache_new(const accounts_cache_config_t *config)
{
    assert(config);
    accounts_cache_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->config = *config;
    if (self->config.chunk == 0)
        self->config.chunk = 1;
    self->dirty = zhashx_new();
    self->reserved = accounts_reserved_new();
    if (!self->dirty || !self->reserved) {
        zhashx_destroy(&self->dirty);
        accounts_reserved_destroy(&self->reserved);
        free(self);
        return NULL;
    }
    zhashx_set_destructor(self->dirty, dirty_free);
    self->txn_stamp = 1;
    return self;
}

static void sweep_free(accounts_cache_t *self)
{
    free(self->sweep);
    self->sweep = NULL;
    self->sweep_count = self->sweep_pos = 0;
}

void accounts_cache_destroy(accounts_cache_t **cache_p)
{
    if (!cache_p || !*cache_p)
        return;
    accounts_cache_t *self = *cache_p;
    zhashx_destroy(&self->dirty);
    accounts_reserved_destroy(&self->reserved);
    free(self->undo);
    sweep_free(self);
    free(self);
    *cache_p = NULL;
}

bool accounts_cache_get(const accounts_cache_t *self, const char *id, accounts_record_t *rec_out)
{
    assert(self && id && rec_out);
    const dirty_t *d = zhashx_lookup(self->dirty, id);
    if (!d)
        return false;
    *rec_out = d->rec;
    return true;
}

static ledger_err_t undo_push(accounts_cache_t *self, const dirty_t *existing, const char *id)
{
    undo_t *undo =
        grow_for_one(self->undo, self->undo_count, &self->undo_cap, sizeof *undo, UNDO_INITIAL_CAP);
    if (!undo)
        return LEDGER_E_NOMEM;
    self->undo = undo;
    undo_t *u = &self->undo[self->undo_count++];
    u->existed = existing != NULL;
    if (existing) {
        u->old = existing->rec;
    } else {
        memset(&u->old, 0, sizeof u->old);
        text_copy(u->old.id, sizeof u->old.id, id);
    }
    return LEDGER_OK;
}

ledger_err_t accounts_cache_put(accounts_cache_t *self, const accounts_record_t *rec)
{
    assert(self && rec && rec->id[0]);
    dirty_t *d = zhashx_lookup(self->dirty, rec->id);
    if (d && d->txn_stamp == self->txn_stamp) {
        d->rec = *rec; /* its undo is already saved */
        return LEDGER_OK;
    }
    ledger_err_t err = undo_push(self, d, rec->id);
    if (err)
        return err;
    if (d) {
        d->rec = *rec;
        d->txn_stamp = self->txn_stamp;
        return LEDGER_OK;
    }
    d = malloc(sizeof *d);
    if (!d) {
        self->undo_count--;
        return LEDGER_E_NOMEM;
    }
    d->rec = *rec;
    d->txn_stamp = self->txn_stamp;
    if (zhashx_insert(self->dirty, rec->id, d) != 0) {
        free(d);
        self->undo_count--;
        return LEDGER_E_NOMEM;
    }
    return LEDGER_OK;
}

size_t accounts_cache_dirty(const accounts_cache_t *self)
{
    assert(self);
    return zhashx_size(self->dirty);
}

accounts_cache_stats_t accounts_cache_stats(const accounts_cache_t *self)
{
    assert(self);
    return (accounts_cache_stats_t){self->shared_dirty, self->checkpoints_done,
                                    self->records_written};
}

static void publish_stats(accounts_cache_t *self)
{
    self->shared_dirty = zhashx_size(self->dirty);
}

bool accounts_cache_checkpointing(const accounts_cache_t *self)
{
    assert(self);
    return self->sweep != NULL;
}

/* Forgets what prepare planned for the open transaction (chunk, mark, a start). */
static void forget_plan(accounts_cache_t *self)
{
    self->written_pos = self->sweep_pos;
    self->written_mark = false;
    self->start_after_commit = false;
}

/* Undoes the open transaction's changes, newest first, and forgets what prepare planned. */
static void rollback(accounts_cache_t *self)
{
    while (self->undo_count) {
        const undo_t *u = &self->undo[--self->undo_count];
        if (!u->existed) {
            zhashx_delete(self->dirty, u->old.id);
            continue;
        }
        dirty_t *d = zhashx_lookup(self->dirty, u->old.id);
        assert(d); /* only a commit removes records */
        if (d)
            d->rec = u->old;
    }
    forget_plan(self);
}

void accounts_cache_txn_begin(accounts_cache_t *self)
{
    assert(self);
    rollback(self);
    self->txn_stamp++;
    accounts_reserved_txn_begin(self->reserved);
}

accounts_reserved_t *accounts_cache_reserved(accounts_cache_t *self)
{
    assert(self);
    return self->reserved;
}

static ledger_err_t write_mark(store_txn_t *txn, uint64_t mark)
{
    uint8_t be[MARK_BYTES];
    store_be64_put(be, mark);
    return store_put(txn, STORE_DB_META, ACCOUNTS_CHECKPOINT_KEY, strlen(ACCOUNTS_CHECKPOINT_KEY),
                     be, sizeof be, 0);
}

ledger_err_t accounts_cache_txn_prepare(accounts_cache_t *self, store_txn_t *txn, uint64_t now_ms)
{
    assert(self && txn);
    forget_plan(self);
    if (self->sweep) {
        /* Keep ahead of the batch: at least twice the records it changed. */
        size_t chunk = self->config.chunk;
        if (chunk < 2 * self->undo_count)
            chunk = 2 * self->undo_count;
        size_t end = self->sweep_pos + chunk;
        if (end > self->sweep_count)
            end = self->sweep_count;
        for (size_t i = self->sweep_pos; i < end; i++) {
            ledger_err_t err = accounts_record_put(txn, &self->sweep[i]->rec);
            if (err)
                return err;
        }
        self->written_pos = end;
        if (end == self->sweep_count) {
            /* the reserved transfers behind the new mark get their timers first */
            ledger_err_t err = accounts_holds_persist_reserved(txn, self->reserved, false, NULL);
            if (!err)
                err = write_mark(txn, self->sweep_mark);
            if (err)
                return err;
            self->written_mark = true;
        }
        return LEDGER_OK;
    }
    size_t dirty = zhashx_size(self->dirty);
    bool due = now_ms >= self->last_start_ms + self->config.checkpoint_ms ||
               now_ms < self->last_start_ms; /* the wall clock went back */
    if (dirty == 0 || (!due && dirty < self->config.dirty_max))
        return LEDGER_OK;
    uint64_t last = 0;
    ledger_err_t err = store_ledger_last_seq(txn, &last);
    if (err)
        return err;
    self->start_after_commit = true;
    self->start_mark = last + 1;
    self->start_ms = now_ms;
    return LEDGER_OK;
}

static int compare_ids(const void *a, const void *b)
{
    return strcmp((*(dirty_t *const *)a)->rec.id, (*(dirty_t *const *)b)->rec.id);
}

/* Takes the records dirty now, in id order. Out of memory: no checkpoint this time. */
static void sweep_start(accounts_cache_t *self, uint64_t mark)
{
    size_t n = zhashx_size(self->dirty), i = 0;
    dirty_t **list = calloc(n ? n : 1, sizeof *list);
    if (!list)
        return;
    for (dirty_t *d = zhashx_first(self->dirty); d && i < n; d = zhashx_next(self->dirty))
        list[i++] = d;
    qsort(list, i, sizeof *list, compare_ids);
    self->sweep = list;
    self->sweep_count = i;
    self->sweep_pos = self->written_pos = 0;
    self->sweep_mark = mark;
}

void accounts_cache_txn_end(accounts_cache_t *self, bool committed)
{
    assert(self);
    accounts_reserved_txn_end(self->reserved, committed);
    if (!committed) {
        rollback(self);
        publish_stats(self);
        return;
    }
    self->undo_count = 0;
    if (self->sweep) {
        for (size_t i = self->sweep_pos; i < self->written_pos; i++)
            zhashx_delete(self->dirty, self->sweep[i]->rec.id); /* in the table now */
        self->records_written += self->written_pos - self->sweep_pos;
        self->sweep_pos = self->written_pos;
        if (self->written_mark) {
            sweep_free(self);
            self->checkpoints_done++;
        }
    } else if (self->start_after_commit) {
        self->last_start_ms = self->start_ms;
        sweep_start(self, self->start_mark);
    }
    forget_plan(self);
    publish_stats(self);
}

ledger_err_t accounts_cache_write_all(accounts_cache_t *self, store_txn_t *txn)
{
    assert(self && txn);
    for (void *item = zhashx_first(self->dirty); item; item = zhashx_next(self->dirty)) {
        ledger_err_t err = accounts_record_put(txn, &((const dirty_t *)item)->rec);
        if (err)
            return err;
    }
    uint64_t last = 0;
    ledger_err_t err = accounts_holds_persist_reserved(txn, self->reserved, true, NULL);
    if (!err)
        err = store_ledger_last_seq(txn, &last);
    if (!err)
        err = write_mark(txn, last + 1);
    if (!err) { /* counted now: the node is stopping, the commit follows */
        self->records_written += zhashx_size(self->dirty);
    }
    return err;
}

/* --- durable side: the mark and the replay ------------------------------- */

static ledger_err_t read_mark(store_txn_t *txn, bool *found, uint64_t *mark)
{
    const void *val;
    size_t size;
    ledger_err_t err = store_get(txn, STORE_DB_META, ACCOUNTS_CHECKPOINT_KEY,
                                 strlen(ACCOUNTS_CHECKPOINT_KEY), &val, &size);
    *found = err == LEDGER_OK;
    if (err == LEDGER_E_NOT_FOUND)
        return LEDGER_OK;
    if (err)
        return err;
    if (size != MARK_BYTES)
        return LEDGER_E_CORRUPT;
    *mark = store_be64_get(val);
    return LEDGER_OK;
}

ledger_err_t accounts_cache_checkpoint_mark(store_txn_t *txn, uint64_t *mark_out)
{
    assert(txn && mark_out);
    bool found = false;
    uint64_t mark = 0, last = 0;
    ledger_err_t err = read_mark(txn, &found, &mark);
    if (!err && !found)
        err = store_ledger_last_seq(txn, &last);
    if (err)
        return err;
    *mark_out = found ? mark : last + 1;
    return LEDGER_OK;
}

ledger_err_t accounts_cache_replay(store_txn_t *txn, uint64_t *replayed_out)
{
    assert(txn);
    uint64_t replayed = 0, last = 0, mark = 0;
    bool found = false;
    ledger_err_t err = read_mark(txn, &found, &mark);
    if (!err)
        err = store_ledger_last_seq(txn, &last);
    if (err)
        return err;
    for (uint64_t seq = found && mark > 0 ? mark : last + 1; seq <= last; seq++) {
        store_ledger_entry_t e;
        accounts_record_t rec;
        err = store_ledger_get(txn, seq, &e);
        if (!err && strcmp(e.kind, ACCOUNTS_KIND_HOLD) == 0)
            err = accounts_holds_recover_timer(txn, e.transfer); /* accounts_reserved.h */
        if (!err)
            err = accounts_record_get(txn, e.account, &rec);
        if (err)
            return err == LEDGER_E_NOT_FOUND ? LEDGER_E_CORRUPT : err;
        if (e.seq <= rec.ledger_seq)
            continue; /* the record was written back after this entry */
        if (e.account_prev_seq != rec.ledger_seq)
            return LEDGER_E_CORRUPT; /* an entry of the account older than the mark was lost */
        int64_t balance, held;
        if (money_add(rec.balance_minor, e.balance_delta_minor, &balance) ||
            money_add(rec.held_minor, e.held_delta_minor, &held) ||
            balance != e.balance_after_minor || held != e.held_after_minor)
            return LEDGER_E_CORRUPT; /* the entry does not continue the record's amounts */
        rec.balance_minor = e.balance_after_minor;
        rec.held_minor = e.held_after_minor;
        rec.ledger_seq = e.seq;
        rec.entry_count++;
        /* The audit entries of the controls are written through (accounts_controls.h): an
           entry newer than its record moves money only. */
        err = accounts_history_note(txn, &rec, e.seq);
        if (!err)
            err = accounts_record_put(txn, &rec);
        if (err)
            return err;
        replayed++;
    }
    err = write_mark(txn, last + 1);
    if (err)
        return err;
    if (replayed_out)
        *replayed_out = replayed;
    return LEDGER_OK;
}

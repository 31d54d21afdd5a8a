/*  reconcile_holds.c: held amounts against reserved transfers (reconcile_holds.h). */
#include "reconcile_holds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "text.h"

#define HOLDS_FIRST_CAP 64
#define HOLDS_LINE_MAX 256

void reconcile_holds_init(reconcile_holds_t *self)
{
    memset(self, 0, sizeof *self);
}

void reconcile_holds_free(reconcile_holds_t *self)
{
    free(self->items);
    memset(self, 0, sizeof *self);
}

static int by_account(const void *a, const void *b)
{
    return strcmp(((const reconcile_hold_t *)a)->account, ((const reconcile_hold_t *)b)->account);
}

/* A new item for `account` at the end (NULL when out of memory). */
static reconcile_hold_t *hold_append(reconcile_holds_t *self, const char *account)
{
    reconcile_hold_t *items =
        grow_for_one(self->items, self->count, &self->cap, sizeof *items, HOLDS_FIRST_CAP);
    if (!items)
        return NULL;
    self->items = items;
    reconcile_hold_t *it = &items[self->count++];
    memset(it, 0, sizeof *it);
    text_copy(it->account, sizeof it->account, account);
    self->sorted = false;
    return it;
}

ledger_err_t reconcile_holds_add(reconcile_holds_t *self, const char *account, int64_t amount_minor)
{
    reconcile_hold_t *it = hold_append(self, account);
    if (!it)
        return LEDGER_E_NOMEM;
    it->reserved_minor = amount_minor;
    return LEDGER_OK;
}

/*  Sorts by account and sums the items of one account into one: adds are
    appended as they come (one per reserved transfer), so that the walk
    costs no search. */
static ledger_err_t holds_merge(reconcile_holds_t *self)
{
    if (self->count > 1)
        qsort(self->items, self->count, sizeof *self->items, by_account);
    size_t out = 0;
    for (size_t i = 0; i < self->count; i++) {
        if (out > 0 && strcmp(self->items[out - 1].account, self->items[i].account) == 0) {
            if (__builtin_add_overflow(self->items[out - 1].reserved_minor,
                                       self->items[i].reserved_minor,
                                       &self->items[out - 1].reserved_minor))
                return LEDGER_E_OVERFLOW;
            continue;
        }
        self->items[out++] = self->items[i];
    }
    self->count = out;
    self->sorted = true;
    return LEDGER_OK;
}

typedef struct {
    reconcile_holds_t *holds;
    reconcile_holds_t extra; /* accounts with a hold but no reserved transfer */
    ledger_err_t err;
} compare_ctx_t;

static void on_balance(const char *account, int64_t balance_minor, int64_t held_minor,
                       uint64_t last_seq, void *ctx)
{
    (void)balance_minor;
    (void)last_seq;
    compare_ctx_t *c = ctx;
    reconcile_hold_t key;
    text_copy(key.account, sizeof key.account, account);
    /* bsearch on no items (a NULL array) is undefined: none reserved, nothing to find. */
    reconcile_hold_t *it = c->holds->count ? bsearch(&key, c->holds->items, c->holds->count,
                                                     sizeof *c->holds->items, by_account)
                                           : NULL;
    if (!it && held_minor != 0) {
        it = hold_append(&c->extra, account);
        if (!it) {
            c->err = LEDGER_E_NOMEM;
            return;
        }
    }
    if (it) {
        it->held_minor = held_minor;
        it->in_ledger = true;
    }
}

static void report(const reconcile_holds_t *holds, void (*line_fn)(void *, const char *), void *ctx)
{
    for (size_t i = 0; i < holds->count; i++) {
        const reconcile_hold_t *it = &holds->items[i];
        if (it->held_minor == it->reserved_minor)
            continue;
        char line[HOLDS_LINE_MAX];
        snprintf(line, sizeof line,
                 "disagree account %s held_does_not_match_reserved_transfers: held=%lld "
                 "reserved=%lld",
                 it->account, (long long)it->held_minor, (long long)it->reserved_minor);
        line_fn(ctx, line);
    }
}

ledger_err_t reconcile_holds_compare(reconcile_holds_t *self, store_txn_t *txn,
                                     void (*line_fn)(void *ctx, const char *line), void *ctx)
{
    ledger_err_t err = holds_merge(self);
    if (err != LEDGER_OK)
        return err;
    compare_ctx_t c = {.holds = self, .err = LEDGER_OK};
    reconcile_holds_init(&c.extra);
    store_ledger_report_t rep;
    err = store_ledger_verify(txn, on_balance, &c, &rep);
    if (err == LEDGER_OK)
        err = c.err;
    /* A broken ledger is check_ledger's line; its held amounts mean nothing. */
    if (err == LEDGER_OK && rep.ok) {
        report(self, line_fn, ctx);
        report(&c.extra, line_fn, ctx);
    }
    reconcile_holds_free(&c.extra);
    return err;
}

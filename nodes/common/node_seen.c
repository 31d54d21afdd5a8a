/* node_seen.c: the highest seen seq per origin and the far-ahead rule (node_seen.h). */
#include "node_seen.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

void node_seen_init(node_seen_t *self)
{
    assert(self);
    memset(self, 0, sizeof *self);
}

void node_seen_begin(node_seen_t *self)
{
    assert(self);
    for (size_t i = 0; i < NODE_SEEN_ORIGINS_MAX; i++) {
        node_seen_origin_t *o = &self->items[i];
        if (o->uncommitted) /* read in a run that did not commit: it may hold that run's ids */
            memset(o, 0, sizeof *o);
        o->pending = o->high;
    }
}

static node_seen_origin_t *seen_find(node_seen_t *self, const char *origin)
{
    node_seen_origin_t *o = &self->items[self->last];
    if (o->used && strcmp(o->origin, origin) == 0)
        return o;
    for (size_t i = 0; i < NODE_SEEN_ORIGINS_MAX; i++) {
        o = &self->items[i];
        if (o->used && strcmp(o->origin, origin) == 0) {
            self->last = i;
            return o;
        }
    }
    return NULL;
}

/* A slot for `origin`, filled from `seen` in `txn`. */
static ledger_err_t seen_load(node_seen_t *self, store_txn_t *txn, const char *origin,
                              node_seen_origin_t **out)
{
    uint64_t high = 0, floor = 0;
    ledger_err_t err = store_seen_high(txn, origin, &high);
    if (!err)
        err = store_seen_floor(txn, origin, &floor);
    if (err)
        return err;
    size_t slot = NODE_SEEN_ORIGINS_MAX;
    for (size_t i = 0; i < NODE_SEEN_ORIGINS_MAX && slot == NODE_SEEN_ORIGINS_MAX; i++)
        if (!self->items[i].used)
            slot = i;
    if (slot == NODE_SEEN_ORIGINS_MAX) {
        slot = self->next_reuse;
        self->next_reuse = (self->next_reuse + 1) % NODE_SEEN_ORIGINS_MAX;
    }
    node_seen_origin_t *o = &self->items[slot];
    memset(o, 0, sizeof *o);
    snprintf(o->origin, sizeof o->origin, "%s", origin);
    /*  Read inside this run: it includes the ids this run recorded if the slot
        was reused meanwhile, which is right for `pending`; `high` is only
        trusted once the run commits. */
    /* Everything up to the floor was seen (and pruned): it counts as the highest when more. */
    o->high = o->pending = high > floor ? high : floor;
    o->floor = floor;
    o->uncommitted = true;
    o->used = true;
    self->last = slot;
    *out = o;
    return LEDGER_OK;
}

ledger_err_t node_seen_ahead(node_seen_t *self, store_txn_t *txn, const char *origin, uint64_t seq,
                             bool *too_far_out, uint64_t *high_out)
{
    assert(self && txn && origin && too_far_out);
    node_seen_origin_t *o = seen_find(self, origin);
    if (!o) {
        ledger_err_t err = seen_load(self, txn, origin, &o);
        if (err)
            return err;
    }
    /* seq - high, not high + bound: near UINT64_MAX the sum would wrap. */
    *too_far_out = o->pending > 0 && seq > o->pending && seq - o->pending > NODE_SEEN_AHEAD_MAX;
    if (high_out)
        *high_out = o->pending;
    return LEDGER_OK;
}

uint64_t node_seen_floor(node_seen_t *self, const char *origin)
{
    assert(self && origin);
    const node_seen_origin_t *o = seen_find(self, origin);
    return o ? o->floor : 0;
}

void node_seen_note(node_seen_t *self, const char *origin, uint64_t seq)
{
    assert(self && origin);
    node_seen_origin_t *o = seen_find(self, origin);
    if (o && seq > o->pending)
        o->pending = seq;
}

void node_seen_end(node_seen_t *self, bool committed)
{
    assert(self);
    for (size_t i = 0; i < NODE_SEEN_ORIGINS_MAX; i++) {
        node_seen_origin_t *o = &self->items[i];
        if (!o->used)
            continue;
        if (committed) {
            o->high = o->pending;
            o->uncommitted = false;
        } else if (o->uncommitted) {
            memset(o, 0, sizeof *o);
        } else {
            o->pending = o->high;
        }
    }
}

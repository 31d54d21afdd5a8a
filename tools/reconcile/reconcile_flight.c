/*  reconcile_flight.c: messages in the outboxes and dead letters, by transfer
    id (reconcile_flight.h). */
#include "reconcile_flight.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "text.h"

#define FLIGHT_FIRST_CAP 256

static ledger_err_t add_message(reconcile_flight_t *self, reconcile_node_t sender, const char *peer,
                                const void *msg, size_t size, bool dead, uint64_t seq, char *why,
                                size_t why_size)
{
    proto_msg_t m;
    char reason[128];
    ledger_err_t err = proto_decode(msg, size, &m, reason, sizeof reason);
    if (err != LEDGER_OK && self->lenient) {
        self->undecodable[sender]++;
        return LEDGER_OK;
    }
    if (err != LEDGER_OK) {
        snprintf(why, why_size, "%s %s %llu does not decode: %s", reconcile_node_name(sender),
                 dead ? "dead letter" : "outbox entry", (unsigned long long)seq, reason);
        return LEDGER_E_CORRUPT;
    }
    err = LEDGER_OK;
    reconcile_flight_item_t *items = NULL;
    if (!m.corr[0])
        self->untracked++;
    else if (self->count >= RECONCILE_FLIGHT_MAX)
        err = LEDGER_E_TOO_LARGE;
    else if (!(items = grow_for_one(self->items, self->count, &self->cap, sizeof *items,
                                    FLIGHT_FIRST_CAP)))
        err = LEDGER_E_NOMEM;
    if (items) {
        self->items = items;
        reconcile_flight_item_t *it = &self->items[self->count++];
        text_copy(it->transfer, sizeof it->transfer, m.corr);
        it->sender = sender;
        text_copy(it->peer, sizeof it->peer, peer);
        it->type = m.type;
        it->dead = dead;
    }
    proto_msg_release(&m);
    return err;
}

ledger_err_t reconcile_flight_add_store(reconcile_flight_t *self, store_txn_t *txn,
                                        reconcile_node_t sender, char *why, size_t why_size)
{
    ledger_err_t err;
    store_outbox_entry_t entry;
    for (uint64_t after = 0; (err = store_outbox_next(txn, after, &entry)) == LEDGER_OK;
         after = entry.seq) {
        err = add_message(self, sender, entry.peer, entry.msg, entry.msg_size, false, entry.seq,
                          why, why_size);
        if (err != LEDGER_OK)
            return err;
    }
    if (err != LEDGER_E_NOT_FOUND)
        return err;
    store_dead_letter_t dead;
    for (uint64_t after = 0; (err = store_dead_next(txn, after, &dead)) == LEDGER_OK;
         after = dead.id) {
        err = add_message(self, sender, dead.peer, dead.msg, dead.msg_size, true, dead.id, why,
                          why_size);
        if (err != LEDGER_OK)
            return err;
    }
    return err == LEDGER_E_NOT_FOUND ? LEDGER_OK : err;
}

static int by_transfer(const void *a, const void *b)
{
    const reconcile_flight_item_t *x = a, *y = b;
    return strcmp(x->transfer, y->transfer);
}

void reconcile_flight_sort(reconcile_flight_t *self)
{
    if (self->count > 1)
        qsort(self->items, self->count, sizeof *self->items, by_transfer);
}

size_t reconcile_flight_find(const reconcile_flight_t *self, const char *transfer,
                             const reconcile_flight_item_t **first_out)
{
    size_t lo = 0, hi = self->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(self->items[mid].transfer, transfer) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t n = 0;
    while (lo + n < self->count && strcmp(self->items[lo + n].transfer, transfer) == 0)
        n++;
    *first_out = n ? &self->items[lo] : NULL;
    return n;
}

void reconcile_flight_free(reconcile_flight_t *self)
{
    free(self->items);
    memset(self, 0, sizeof *self);
}

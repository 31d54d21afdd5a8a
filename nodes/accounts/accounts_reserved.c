/*  accounts_reserved.c: the reserved transfers in memory (accounts_reserved.h): a czmq hash by
    transfer id, a czmq list ordered by deadline, and per transaction the ids it added, removed
    and made durable (for its commit or its undo). */
#include "accounts_reserved.h"

#include <assert.h>
#include <czmq.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    accounts_reserved_entry_t e;
    bool removing; /* removed in the open transaction: deleted when it commits */
    void *handle;  /* in the due queue */
} item_t;

/* Ids a transaction touched. */
typedef struct {
    char (*ids)[PROTO_TRANSFER_ID_MAX + 1];
    size_t count, cap;
} id_list_t;

struct accounts_reserved_t {
    zhashx_t *by_id; /* transfer id (the item's own) -> item_t (owned) */
    zlistx_t *queue; /* item_t, by due_ms (not owned) */
    bool in_txn;
    id_list_t added, removed, made_durable;
};

static void item_free(void **item)
{
    free(*item);
    *item = NULL;
}

static int by_due(const void *a, const void *b)
{
    uint64_t x = ((const item_t *)a)->e.due_ms, y = ((const item_t *)b)->e.due_ms;
    return x < y ? -1 : x > y;
}

accounts_reserved_t *accounts_reserved_new(void)
{
    accounts_reserved_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->by_id = zhashx_new();
    self->queue = zlistx_new();
    if (!self->by_id || !self->queue) {
        zhashx_destroy(&self->by_id);
        zlistx_destroy(&self->queue);
        free(self);
        return NULL;
    }
    zhashx_set_destructor(self->by_id, item_free);
    /* keyed by the id inside the item: no copy of the key to make and free */
    zhashx_set_key_duplicator(self->by_id, NULL);
    zhashx_set_key_destructor(self->by_id, NULL);
    zlistx_set_comparator(self->queue, by_due);
    return self;
}

void accounts_reserved_destroy(accounts_reserved_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    accounts_reserved_t *self = *self_p;
    zlistx_destroy(&self->queue); /* before the items it points at */
    zhashx_destroy(&self->by_id);
    free(self->added.ids);
    free(self->removed.ids);
    free(self->made_durable.ids);
    free(self);
    *self_p = NULL;
}

static ledger_err_t id_list_push(id_list_t *list, const char *id)
{
    if (list->count == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 64;
        void *grown = realloc(list->ids, cap * sizeof *list->ids);
        if (!grown)
            return LEDGER_E_NOMEM;
        list->ids = grown;
        list->cap = cap;
    }
    size_t len = strnlen(id, PROTO_TRANSFER_ID_MAX);
    memcpy(list->ids[list->count], id, len);
    list->ids[list->count++][len] = '\0';
    return LEDGER_OK;
}

/* Takes the item of `id` out of the queue and the hash (which frees it). */
static void item_delete(accounts_reserved_t *self, const char *id)
{
    item_t *it = zhashx_lookup(self->by_id, id);
    if (!it)
        return;
    zlistx_delete(self->queue, it->handle);
    zhashx_delete(self->by_id, id);
}

ledger_err_t accounts_reserved_add(accounts_reserved_t *self,
                                   const accounts_reserved_entry_t *entry)
{
    assert(self && entry && entry->hold.transfer[0] && entry->due_ms > 0);
    const char *id = entry->hold.transfer;
    if (zhashx_lookup(self->by_id, id))
        return LEDGER_E_EXISTS; /* a transfer is reserved once */
    item_t *it = calloc(1, sizeof *it);
    if (!it)
        return LEDGER_E_NOMEM;
    it->e = *entry;
    /* pushed first: the undo must know every item it has to take back */
    ledger_err_t err = self->in_txn ? id_list_push(&self->added, id) : LEDGER_OK;
    if (err) {
        free(it);
        return err;
    }
    if (zhashx_insert(self->by_id, it->e.hold.transfer, it) != 0) { /* not there: no memory */
        self->added.count -= self->in_txn;
        free(it);
        return LEDGER_E_NOMEM;
    }
    it->handle = zlistx_insert(self->queue, it, false); /* from the tail: the latest deadline */
    return LEDGER_OK;
}

ledger_err_t accounts_reserved_remove(accounts_reserved_t *self, const char *id, bool *was_there,
                                      bool *was_durable)
{
    assert(self && id && was_there);
    item_t *it = zhashx_lookup(self->by_id, id);
    *was_there = it && !it->removing;
    if (was_durable)
        *was_durable = *was_there && it->e.durable;
    if (!*was_there)
        return LEDGER_OK;
    if (!self->in_txn) {
        item_delete(self, id);
        return LEDGER_OK;
    }
    ledger_err_t err = id_list_push(&self->removed, id);
    if (err)
        return err;
    it->removing = true;
    return LEDGER_OK;
}

size_t accounts_reserved_count(const accounts_reserved_t *self)
{
    assert(self);
    return zhashx_size(self->by_id);
}

static int hold_compare(const void *a, const void *b)
{
    return strcmp(((const proto_hold_t *)a)->transfer, ((const proto_hold_t *)b)->transfer);
}

ledger_err_t accounts_reserved_of(const accounts_reserved_t *self, const char *from,
                                  const char *after, proto_hold_t **out, size_t *count_out)
{
    assert(self && from && after && out && count_out);
    *out = NULL;
    *count_out = 0;
    size_t count = 0, cap = 0;
    proto_hold_t *holds = NULL;
    for (item_t *it = zhashx_first(self->by_id); it; it = zhashx_next(self->by_id)) {
        if (strcmp(it->e.from, from) != 0 || strcmp(it->e.hold.transfer, after) <= 0)
            continue;
        if (count == cap) {
            cap = cap ? cap * 2 : 8;
            proto_hold_t *grown = realloc(holds, cap * sizeof *holds);
            if (!grown) {
                free(holds);
                return LEDGER_E_NOMEM;
            }
            holds = grown;
        }
        holds[count++] = it->e.hold;
    }
    if (count > 1)
        qsort(holds, count, sizeof *holds, hold_compare);
    *out = holds;
    *count_out = count;
    return LEDGER_OK;
}

bool accounts_reserved_pays_into(const accounts_reserved_t *self, const char *to)
{
    assert(self && to);
    for (item_t *it = zhashx_first(self->by_id); it; it = zhashx_next(self->by_id))
        if (!it->removing && strcmp(it->e.to, to) == 0)
            return true;
    return false;
}

void accounts_reserved_due(const accounts_reserved_t *self, uint64_t now_ms, size_t max,
                           char (*ids)[PROTO_TRANSFER_ID_MAX + 1], uint64_t *due_out,
                           size_t *count_out, uint64_t *next_due_ms_out)
{
    assert(self && ids && due_out && count_out && next_due_ms_out);
    *count_out = 0;
    *next_due_ms_out = 0;
    for (item_t *it = zlistx_first(self->queue); it; it = zlistx_next(self->queue)) {
        if (it->e.durable || it->removing)
            continue; /* the "tm/" walk has it / it is closing */
        if (it->e.due_ms > now_ms || *count_out == max) {
            *next_due_ms_out = it->e.due_ms;
            return;
        }
        memcpy(ids[*count_out], it->e.hold.transfer, sizeof *ids);
        due_out[(*count_out)++] = it->e.due_ms;
    }
}

ledger_err_t accounts_reserved_each(const accounts_reserved_t *self, bool volatile_only,
                                    accounts_reserved_fn fn, void *arg)
{
    assert(self && fn);
    ledger_err_t err = LEDGER_OK;
    for (item_t *it = zlistx_first(self->queue); it && !err; it = zlistx_next(self->queue))
        if (!(volatile_only && it->e.durable) && !it->removing)
            err = fn(&it->e, arg);
    return err;
}

ledger_err_t accounts_reserved_make_durable(accounts_reserved_t *self, const char *id)
{
    assert(self && id);
    item_t *it = zhashx_lookup(self->by_id, id);
    if (!it || it->e.durable)
        return LEDGER_OK;
    ledger_err_t err = self->in_txn ? id_list_push(&self->made_durable, id) : LEDGER_OK;
    if (!err)
        it->e.durable = true;
    return err;
}

static void lists_clear(accounts_reserved_t *self)
{
    self->added.count = self->removed.count = self->made_durable.count = 0;
}

/* Undoes the open transaction: its removals and durable marks are forgotten, its adds taken
   out. */
static void undo(accounts_reserved_t *self)
{
    for (size_t i = 0; i < self->removed.count; i++) {
        item_t *it = zhashx_lookup(self->by_id, self->removed.ids[i]);
        if (it)
            it->removing = false;
    }
    for (size_t i = 0; i < self->made_durable.count; i++) {
        item_t *it = zhashx_lookup(self->by_id, self->made_durable.ids[i]);
        if (it)
            it->e.durable = false;
    }
    for (size_t i = 0; i < self->added.count; i++)
        item_delete(self, self->added.ids[i]);
    lists_clear(self);
}

void accounts_reserved_txn_begin(accounts_reserved_t *self)
{
    assert(self);
    if (self->in_txn)
        undo(self); /* a rerun: the unfinished run never committed */
    self->in_txn = true;
}

void accounts_reserved_txn_end(accounts_reserved_t *self, bool committed)
{
    assert(self);
    if (!committed) {
        undo(self);
    } else {
        for (size_t i = 0; i < self->removed.count; i++)
            item_delete(self, self->removed.ids[i]);
        lists_clear(self);
    }
    self->in_txn = false;
}

/*  grow.h: room for one more item in a doubling array (a pointer, a count
    and a capacity), the growth the node context, the relay and the balance
    cache share. Header-only (static inline: the per-message paths call it
    and only reach realloc when the array is full). Pure; thread-safe on
    arrays the caller does not share.

    Errors: NULL when out of memory or when the size would overflow; the
    array passed in is then unchanged and still the caller's. */
#ifndef LEDGER_GROW_H
#define LEDGER_GROW_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/*  The array to use for `count` + 1 items of `item_size` bytes: `items`
    itself while count < *cap, else `items` reallocated to twice *cap (or
    `first_cap` items when it has none), with *cap updated. */
static inline void *grow_for_one(void *items, size_t count, size_t *cap, size_t item_size,
                                 size_t first_cap)
{
    if (count < *cap)
        return items;
    size_t new_cap = *cap ? *cap * 2 : first_cap;
    if (new_cap < *cap || new_cap > SIZE_MAX / item_size)
        return NULL;
    void *grown = realloc(items, new_cap * item_size);
    if (grown)
        *cap = new_cap;
    return grown;
}

#endif

/*  store_space.c: how much room a store has (store.h, "room: map and disk").

    What it does: keeps the room state (the last write failed for room, no
    commit since: store_room_failed / store_room_committed, called by
    store.c) and samples how much of the map and the disk is used
    (store_space): mdb_env_info for the last used page, a walk over LMDB's
    free-page list (database 0, as mdb_stat -f does) for the pages that
    are free for reuse inside that, and statvfs of the data directory.

    Owns: the sample (store_t.space, under space_lock) and the counters.

    Errors: store_space returns LEDGER_E_STORE when the read transaction
    fails (the rest of the sample is still filled).

    Threads: any; the room state and counters are atomics, the sample is
    taken under a mutex, at most every STORE_SPACE_SAMPLE_MS.
*/
#include "store.h"
#include "store_internal.h"

#include <string.h>
#include <sys/statvfs.h>

#include "clock.h"

static const char *const room_names[STORE_ROOM__COUNT] = {
    [STORE_ROOM_OK] = "ok",
    [STORE_ROOM_MAP_FULL] = "map_full",
    [STORE_ROOM_DISK_FULL] = "disk_full",
};

const char *store_room_name(store_room_t room)
{
    if ((unsigned)room >= STORE_ROOM__COUNT)
        return "unknown";
    return room_names[room];
}

void store_room_failed(store_t *store)
{
    int why = atomic_load(&store->room_pending);
    if (why <= STORE_ROOM_OK || why >= STORE_ROOM__COUNT)
        why = STORE_ROOM_MAP_FULL;
    atomic_store(&store->room_failed_ms, clock_mono_ms());
    atomic_store(&store->room, why);
    atomic_fetch_add(&store->room_failures[why], 1);
}

store_room_t store_room(const store_t *store, uint64_t *age_ms_out)
{
    assert(store);
    store_t *s = (store_t *)store; /* atomics only: no logical change */
    store_room_t room = (store_room_t)atomic_load(&s->room);
    if (age_ms_out) {
        uint64_t now = clock_mono_ms(), at = atomic_load(&s->room_failed_ms);
        *age_ms_out = room == STORE_ROOM_OK ? 0 : now > at ? now - at : 0;
    }
    return room;
}

bool store_disk_full(store_t *store)
{
    struct statvfs vfs;
    if (statvfs(store->dir, &vfs) != 0)
        return false;
    uint64_t unit = vfs.f_frsize ? vfs.f_frsize : vfs.f_bsize;
    return (uint64_t)vfs.f_bavail * unit < STORE_DISK_FULL_BELOW_BYTES;
}

void store_room_note_refused(store_t *store)
{
    assert(store);
    atomic_fetch_add(&store->refused_requests, 1);
}

/*  Pages on LMDB's free list (database 0): each record is a transaction id
    and the list of the pages it freed, an MDB_ID count first. */
static ledger_err_t free_pages(store_t *store, uint64_t *pages_out)
{
    store_txn_t *txn = NULL;
    ledger_err_t err = store_txn_begin(store, false, &txn);
    if (err)
        return err;
    MDB_cursor *cursor = NULL;
    int rc = mdb_cursor_open(txn->txn, 0, &cursor);
    uint64_t pages = 0;
    MDB_val k, v;
    for (MDB_cursor_op op = MDB_FIRST; rc == 0; op = MDB_NEXT) {
        rc = mdb_cursor_get(cursor, &k, &v, op);
        if (rc == 0 && v.mv_size >= sizeof(size_t)) {
            size_t count;
            memcpy(&count, v.mv_data, sizeof count);
            pages += count;
        }
    }
    if (cursor)
        mdb_cursor_close(cursor);
    store_txn_abort(&txn);
    if (rc != MDB_NOTFOUND)
        return store_rc(store, rc, "free page list");
    *pages_out = pages;
    return LEDGER_OK;
}

/* Takes a new sample into store->space (space_lock held). */
static ledger_err_t sample(store_t *store)
{
    store_space_t *sp = &store->space;
    memset(sp, 0, sizeof *sp);
    sp->map_max_bytes = store->map_max_bytes;
    sp->map_bytes = atomic_load(&store->map_bytes);
    MDB_envinfo info;
    uint64_t page = store->lmdb_page_bytes ? store->lmdb_page_bytes : store->page_bytes;
    if (mdb_env_info(store->env, &info) == 0) {
        sp->map_bytes = info.me_mapsize;
        sp->file_bytes = ((uint64_t)info.me_last_pgno + 1) * page;
    }
    uint64_t unused = 0;
    ledger_err_t err = free_pages(store, &unused);
    sp->used_bytes = sp->file_bytes > unused * page ? sp->file_bytes - unused * page : 0;
    struct statvfs vfs;
    if (statvfs(store->dir, &vfs) == 0) {
        uint64_t unit = vfs.f_frsize ? vfs.f_frsize : vfs.f_bsize;
        sp->disk_total_bytes = (uint64_t)vfs.f_blocks * unit;
        sp->disk_free_bytes = (uint64_t)vfs.f_bavail * unit;
        sp->disk_used_bytes = (uint64_t)(vfs.f_blocks - vfs.f_bfree) * unit;
    }
    return err;
}

ledger_err_t store_space(store_t *store, store_space_t *out)
{
    assert(store);
    if (!out)
        return LEDGER_E_INVALID;
    ledger_err_t err = LEDGER_OK;
    pthread_mutex_lock(&store->space_lock);
    uint64_t now = clock_mono_ms();
    if (!store->space_sampled_ms || now - store->space_sampled_ms >= STORE_SPACE_SAMPLE_MS) {
        err = sample(store);
        store->space_sampled_ms = err ? 0 : now;
    }
    *out = store->space;
    pthread_mutex_unlock(&store->space_lock);
    out->room = store_room(store, NULL);
    for (int r = 0; r < STORE_ROOM__COUNT; r++)
        out->room_failures[r] = atomic_load(&store->room_failures[r]);
    out->refused_requests = atomic_load(&store->refused_requests);
    return err;
}

/*  store_copy.c: a consistent, compacted copy of a store's environment
    (store.h, store_copy_compact), for tools/backup.

    LMDB's mdb_env_copy2 with MDB_CP_COMPACT copies the pages one read
    transaction sees, leaving out free pages, so the copy is a snapshot of
    one committed state even while the node that owns the environment
    keeps writing in another process (a reader never blocks the writer).
    The copy holds the store's resize lock for reading like any
    transaction; when another process grew the map past this one's view
    (MDB_MAP_RESIZED), it adopts the new size and tries again.

    mdb_env_copy2 writes the file and closes it without an fsync: after a
    power loss the copy could be short or hold stale blocks while the
    manifest the backup tool writes next describes it whole. So the copy is
    fsynced, and its directory too, before store_copy_compact returns.
*/
#include "store.h"
#include "store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STORE_COPY_RESIZED_RETRIES 3 /* adopt another process's map growth this often */
#define STORE_COPY_PATH_MAX 4096

/* Adopts the map size another process wrote (no transaction of ours may be open). */
static int adopt_map(store_t *store)
{
    pthread_rwlock_wrlock(&store->resize_lock);
    int rc = mdb_env_set_mapsize(store->env, 0);
    MDB_envinfo info;
    if (rc == 0 && mdb_env_info(store->env, &info) == 0)
        atomic_store(&store->map_bytes, info.me_mapsize);
    pthread_rwlock_unlock(&store->resize_lock);
    return rc;
}

/* fsync of the file or directory at `path`; 0 or an errno. */
static int sync_path(const char *path, int flags)
{
    int fd = open(path, flags | O_CLOEXEC);
    if (fd < 0)
        return errno;
    int rc = fsync(fd) == 0 ? 0 : errno;
    close(fd);
    return rc;
}

/* Makes the finished copy durable: its data file, then its directory entry. */
static ledger_err_t sync_copy(store_t *store, const char *data_path, const char *dir)
{
    int rc = sync_path(data_path, O_RDONLY);
    if (rc == 0)
        rc = sync_path(dir, O_RDONLY | O_DIRECTORY);
    if (rc == 0)
        return LEDGER_OK;
    store_set_error(store, "copy: cannot sync %s: %s", data_path, strerror(rc));
    return LEDGER_E_IO;
}

ledger_err_t store_copy_compact(store_t *store, const char *dir)
{
    assert(store);
    if (!dir || !dir[0])
        return LEDGER_E_INVALID;
    char data_path[STORE_COPY_PATH_MAX];
    if (snprintf(data_path, sizeof data_path, "%s/data.mdb", dir) >= (int)sizeof data_path)
        return LEDGER_E_INVALID;
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        store_set_error(store, "copy: %s is not a directory", dir);
        return LEDGER_E_IO;
    }
    if (stat(data_path, &st) == 0) {
        store_set_error(store, "copy: %s exists already", data_path);
        return LEDGER_E_EXISTS;
    }
    int rc = 0;
    for (int attempt = 0; attempt <= STORE_COPY_RESIZED_RETRIES; attempt++) {
        pthread_rwlock_rdlock(&store->resize_lock);
        rc = mdb_env_copy2(store->env, dir, MDB_CP_COMPACT);
        pthread_rwlock_unlock(&store->resize_lock);
        if (rc != MDB_MAP_RESIZED)
            break;
        /* A partial copy must not stay behind for the next attempt (or a restore). */
        remove(data_path);
        rc = adopt_map(store);
        if (rc != 0)
            break;
        rc = MDB_MAP_RESIZED;
    }
    ledger_err_t err =
        rc == 0 ? sync_copy(store, data_path, dir) : store_rc(store, rc, "mdb_env_copy2");
    if (err != LEDGER_OK)
        remove(data_path);
    return err;
}

/*  store.c: a node's durable state in one LMDB environment: the environment,
    its transactions and map growth.

    See store.h for the contract. The rest of the store lives beside this
    file and shares its layout through store_internal.h: key/value and
    cursors (store_kv.c), named sequences (store_seq.c), the outbox and dead
    letters (store_outbox.c), seen ids (store_seen.c), the ledger
    (store_ledger.c) and its verify walk (store_verify.c), and the room of
    the map and the disk (store_space.c).

    Room: store_rc turns MDB_MAP_FULL, ENOSPC, EDQUOT (and EIO, LMDB's word
    for a short write, when the disk is in fact full) into LEDGER_E_MAP_FULL
    and remembers which; a write that fails with it sets the store's room
    state (store_room_failed), the next commit clears it.

    Map growth: a write transaction that hits MDB_MAP_FULL is aborted, the
    map is doubled (up to map_max_bytes) and store_write runs the caller's
    function again.

    Map growth and threads: LMDB allows mdb_env_set_mapsize only while no
    transaction is active in the process. Every store transaction, read or
    write, holds `resize_lock` for reading from begin to end; growth takes it
    for writing, so it waits until every transaction in the process has
    ended. The wait is bounded (STORE_RESIZE_WAIT_MS) so that a thread that
    calls store_write while it still holds a read transaction of its own gets
    an error instead of hanging forever.
*/
#define _GNU_SOURCE /* pthread_rwlock_clockwrlock: a resize wait immune to clock jumps */
#include "store.h"
#include "store_internal.h"
#include "store_raw.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

/* --- limits --------------------------------------------------------------- */

#define STORE_MAP_INITIAL_DEFAULT_BYTES ((size_t)64 << 20) /* 64 MiB */
#define STORE_MAP_MAX_DEFAULT_BYTES ((size_t)64 << 30)     /* 64 GiB */
#define STORE_PAGE_FALLBACK_BYTES ((size_t)4096) /* when sysconf cannot tell the page size */
#define STORE_RESIZE_WAIT_MS 5000                /* longest wait for other threads' transactions */
#define STORE_MAP_RESIZED_RETRIES 3              /* adopt another process's map growth this often */
#define STORE_DIR_MODE 0700
#define STORE_FILE_MODE 0600
#define STORE_PATH_MAX STORE_DIR_MAX /* directory name, leaving room for "/data.mdb" */
#define STORE_DATA_FILE "/data.mdb"
#define STORE_DATA_PATH_MAX (STORE_PATH_MAX + sizeof STORE_DATA_FILE)
/* After a failed preallocation (a full disk), the thread waits this long before the next try. */
#define STORE_PREALLOC_RETRY_MS 1000

static const char *const db_names[STORE_DB__COUNT] = {
    [STORE_DB_META] = "meta",           [STORE_DB_OUTBOX] = "outbox",
    [STORE_DB_SEEN] = "seen",           [STORE_DB_DEAD_LETTERS] = "dead_letters",
    [STORE_DB_LEDGER] = "ledger",       [STORE_DB_ACCOUNTS] = "accounts",
    [STORE_DB_TRANSFERS] = "transfers", [STORE_DB_DECISIONS] = "decisions",
    [STORE_DB_RISK] = "risk",           [STORE_DB_IDEMPOTENCY] = "idempotency",
    [STORE_DB_INDEX] = "index",
};

/* The store a thread has a write transaction open on: LMDB would deadlock on a second one. */
static _Thread_local const store_t *tls_write_store;
/* store_last_error hands out a copy, so another thread's error cannot change it under a reader. */
static _Thread_local char tls_error_copy[STORE_ERROR_TEXT_MAX];
/* Why this thread's last store_open failed (store_last_error(NULL)). */
static _Thread_local char tls_open_error[STORE_ERROR_TEXT_MAX];

/* --- errors --------------------------------------------------------------- */

void store_set_error(store_t *store, const char *fmt, ...)
{
    char text[STORE_ERROR_TEXT_MAX];
    va_list args;
    va_start(args, fmt);
    vsnprintf(text, sizeof text, fmt, args);
    va_end(args);
    pthread_mutex_lock(&store->error_lock);
    memcpy(store->error, text, sizeof text);
    pthread_mutex_unlock(&store->error_lock);
}

ledger_err_t store_rc(store_t *store, int rc, const char *what)
{
    switch (rc) {
    case MDB_SUCCESS:
        return LEDGER_OK;
    case MDB_NOTFOUND:
        return LEDGER_E_NOT_FOUND;
    case MDB_KEYEXIST:
        return LEDGER_E_EXISTS;
    default:
        break;
    }
    store_set_error(store, "%s: %s", what, mdb_strerror(rc));
    switch (rc) {
    case MDB_MAP_FULL:
        atomic_store(&store->room_pending, STORE_ROOM_MAP_FULL);
        return LEDGER_E_MAP_FULL;
    case EIO: /* LMDB's answer to a short write: a disk full, if it is (store_space.c) */
        if (!store_disk_full(store))
            return LEDGER_E_STORE;
        /* fall through */
    case ENOSPC: /* a commit's pwrite found the disk full: nothing was written */
    case EDQUOT:
        atomic_store(&store->room_pending, STORE_ROOM_DISK_FULL);
        return LEDGER_E_MAP_FULL;
    case MDB_BAD_VALSIZE:
        return LEDGER_E_TOO_LARGE;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND: /* LMDB's own pages do not add up: the node faults (issue 20) */
        return LEDGER_E_CORRUPT;
    case ENOMEM:
        return LEDGER_E_NOMEM;
    default:
        return LEDGER_E_STORE;
    }
}

ledger_err_t store_txn_rc(store_txn_t *txn, int rc, const char *what)
{
    if (rc == MDB_MAP_FULL)
        txn->map_full = true;
    return store_rc(txn->store, rc, what);
}

/* store_raw.h: the LMDB handles under a transaction, for store_migrate.c. */
MDB_txn *store_raw_txn(store_txn_t *txn)
{
    assert(txn);
    return txn->txn;
}

MDB_dbi store_raw_dbi(store_txn_t *txn, int db)
{
    assert(txn && db >= 0 && db < STORE_DB__COUNT);
    return txn->store->dbi[db];
}

ledger_err_t store_raw_rc(store_txn_t *txn, int rc, const char *what)
{
    assert(txn);
    return store_txn_rc(txn, rc, what);
}

ledger_err_t store_corrupt(store_txn_t *txn, store_db_t db, uint64_t id, const char *problem)
{
    store_set_error(txn->store, "%s record %llu: %s", store_db_name(db), (unsigned long long)id,
                    problem);
    return LEDGER_E_CORRUPT;
}

const char *store_last_error(const store_t *store)
{
    if (!store)
        return tls_open_error[0] ? tls_open_error : "no store";
    /* The mutex is not part of the store's logical state. */
    store_t *mutable_store = (store_t *)store;
    pthread_mutex_lock(&mutable_store->error_lock);
    memcpy(tls_error_copy, store->error, sizeof tls_error_copy);
    pthread_mutex_unlock(&mutable_store->error_lock);
    return tls_error_copy;
}

const char *store_db_name(store_db_t db)
{
    if ((unsigned)db >= STORE_DB__COUNT)
        return "unknown";
    return db_names[db];
}

/* --- environment ---------------------------------------------------------- */

static size_t round_up(size_t value, size_t unit)
{
    size_t rest = value % unit;
    if (rest == 0)
        return value;
    if (value > SIZE_MAX - (unit - rest))
        return value - rest;
    return value + (unit - rest);
}

/* mkdir -p: creates `dir` and any missing parents (mode STORE_DIR_MODE). */
static ledger_err_t make_dir(const char *dir)
{
    char path[STORE_PATH_MAX + 1];
    size_t len = strlen(dir);
    if (len == 0 || len > STORE_PATH_MAX)
        return LEDGER_E_IO;
    memcpy(path, dir, len + 1);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, STORE_DIR_MODE) != 0 && errno != EEXIST)
            return LEDGER_E_IO;
        *p = '/';
    }
    if (mkdir(dir, STORE_DIR_MODE) != 0 && errno != EEXIST)
        return LEDGER_E_IO;
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return LEDGER_E_IO;
    return LEDGER_OK;
}

/* Size of the existing data file, 0 if there is none. */
static size_t data_file_bytes(const char *dir)
{
    char path[STORE_DATA_PATH_MAX];
    snprintf(path, sizeof path, "%s" STORE_DATA_FILE, dir);
    struct stat st;
    if (stat(path, &st) != 0 || st.st_size <= 0)
        return 0;
    if ((uintmax_t)st.st_size > SIZE_MAX)
        return SIZE_MAX;
    return (size_t)st.st_size;
}

static void refresh_map_bytes(store_t *store)
{
    MDB_envinfo info;
    if (mdb_env_info(store->env, &info) == 0)
        atomic_store(&store->map_bytes, info.me_mapsize);
}

/* read_only: the tables must exist (a read-only transaction cannot create them). */
static ledger_err_t open_dbis(store_t *store, bool read_only)
{
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(store->env, NULL, read_only ? MDB_RDONLY : 0, &txn);
    if (rc != 0)
        return store_rc(store, rc, "mdb_txn_begin (open databases)");
    for (int db = 0; db < STORE_DB__COUNT; db++) {
        rc = mdb_dbi_open(txn, db_names[db], read_only ? 0 : MDB_CREATE, &store->dbi[db]);
        if (rc != 0) {
            mdb_txn_abort(txn);
            return store_rc(store, rc, "mdb_dbi_open");
        }
    }
    rc = mdb_txn_commit(txn);
    if (rc != 0)
        return store_rc(store, rc, "mdb_txn_commit (open databases)");
    return LEDGER_OK;
}

/* Why this thread's store_open failed, for store_last_error(NULL). */
static ledger_err_t open_failed(ledger_err_t err, const char *why)
{
    snprintf(tls_open_error, sizeof tls_open_error, "%s", why);
    return err;
}

/* After a commit: tells the preallocation thread how much of the file is in use. */
static void note_pages_used(store_t *store)
{
    MDB_envinfo info;
    if (!store->prealloc || mdb_env_info(store->env, &info) != 0)
        return;
    prealloc_note_used(store->prealloc, ((size_t)info.me_last_pgno + 1) * store->lmdb_page_bytes,
                       info.me_mapsize);
}

/*  The thread gets an fd of its own on data.mdb, not LMDB's: Linux reports a
    write-back error once per open file, so an fdatasync of the thread's on
    LMDB's fd could take an error that LMDB's own commit must see. */
static ledger_err_t start_prealloc(store_t *store, const char *dir, size_t ahead_bytes)
{
    MDB_stat st;
    int rc = mdb_env_stat(store->env, &st);
    if (rc != 0)
        return store_rc(store, rc, "mdb_env_stat");
    store->lmdb_page_bytes = st.ms_psize;
    char path[STORE_DATA_PATH_MAX];
    snprintf(path, sizeof path, "%s" STORE_DATA_FILE, dir);
    store->prealloc_fd = open(path, O_RDWR | O_CLOEXEC);
    if (store->prealloc_fd < 0) {
        store_set_error(store, "cannot open %s for preallocation: %s", path, strerror(errno));
        return LEDGER_E_IO;
    }
    ledger_err_t err =
        prealloc_new(store->prealloc_fd, ahead_bytes, STORE_PREALLOC_RETRY_MS, &store->prealloc);
    if (err != LEDGER_OK) {
        store_set_error(store, "cannot start the preallocation thread: %s", ledger_err_name(err));
        return err;
    }
    note_pages_used(store);
    return LEDGER_OK;
}

bool store_prealloc_stats(store_t *store, prealloc_stats_t *stats_out)
{
    if (!store || !store->prealloc)
        return false;
    prealloc_get_stats(store->prealloc, stats_out);
    return true;
}

/* The map sizes and flags store_open runs with (config may be NULL: the defaults). */
typedef struct {
    size_t page_bytes;
    size_t map_initial;
    size_t map_max;
    bool no_sync;
    bool read_only;
} open_params_t;

/*  Defaults filled in, sizes rounded to pages, and the map widened to an
    existing data file of `dir` (created here if missing). */
static ledger_err_t open_params(const char *dir, const store_config_t *config, open_params_t *p)
{
    long page = sysconf(_SC_PAGESIZE);
    p->page_bytes = page > 0 ? (size_t)page : STORE_PAGE_FALLBACK_BYTES;
    p->map_initial = STORE_MAP_INITIAL_DEFAULT_BYTES;
    p->map_max = STORE_MAP_MAX_DEFAULT_BYTES;
    p->no_sync = false;
    p->read_only = config && config->read_only;
    if (config) {
        if (config->map_max_bytes)
            p->map_max = config->map_max_bytes;
        if (config->map_initial_bytes)
            p->map_initial = config->map_initial_bytes;
        else if (p->map_initial > p->map_max)
            p->map_initial = p->map_max; /* a small map: start at its max */
        p->no_sync = config->no_sync;
    }
    p->map_initial = round_up(p->map_initial, p->page_bytes);
    p->map_max = round_up(p->map_max, p->page_bytes);
    if (p->map_max < p->map_initial)
        return open_failed(LEDGER_E_INVALID, "map_max_bytes is below map_initial_bytes");

    struct stat st;
    ledger_err_t err = LEDGER_OK;
    if (p->read_only && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)))
        err = LEDGER_E_IO;
    else if (!p->read_only)
        err = make_dir(dir);
    if (err != LEDGER_OK)
        return open_failed(err, p->read_only
                                    ? "no such data directory (a read-only open creates nothing)"
                                    : "cannot create the data directory (its parent must exist)");

    /* An existing environment may already be larger than asked: map all of it. */
    size_t file_bytes = round_up(data_file_bytes(dir), p->page_bytes);
    if (file_bytes > p->map_initial)
        p->map_initial = file_bytes;
    if (p->map_initial > p->map_max)
        p->map_max = p->map_initial;
    return LEDGER_OK;
}

/* A store with its locks made and no environment yet; NULL if out of memory. */
static store_t *store_alloc(const open_params_t *p)
{
    store_t *store = calloc(1, sizeof *store);
    if (!store)
        return NULL;
    store->page_bytes = p->page_bytes;
    store->prealloc_fd = -1;
    store->map_max_bytes = p->map_max;
    atomic_init(&store->map_bytes, p->map_initial);
    atomic_init(&store->open_txns, 0);
    atomic_init(&store->room, STORE_ROOM_OK);
    atomic_init(&store->room_pending, STORE_ROOM_OK);
    snprintf(store->error, sizeof store->error, "no error");
    if (pthread_mutex_init(&store->error_lock, NULL) != 0) {
        free(store);
        return NULL;
    }
    if (pthread_mutex_init(&store->space_lock, NULL) != 0) {
        pthread_mutex_destroy(&store->error_lock);
        free(store);
        return NULL;
    }
    if (pthread_rwlock_init(&store->resize_lock, NULL) != 0) {
        pthread_mutex_destroy(&store->space_lock);
        pthread_mutex_destroy(&store->error_lock);
        free(store);
        return NULL;
    }
    return store;
}

/* Frees a store whose open failed (its environment, if any, is closed). */
static void store_free(store_t *store)
{
    if (store->env)
        mdb_env_close(store->env);
    pthread_rwlock_destroy(&store->resize_lock);
    pthread_mutex_destroy(&store->space_lock);
    pthread_mutex_destroy(&store->error_lock);
    free(store);
}

/*  Opens the LMDB environment and every sub-database; a map too small even
    for the database names grows like any write. */
static ledger_err_t store_env_open(store_t *store, const char *dir, open_params_t *p)
{
    int rc = mdb_env_create(&store->env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(store->env, STORE_DB__COUNT + STORE_RAW_EXTRA_DBS);
    if (rc == 0)
        rc = mdb_env_set_mapsize(store->env, p->map_initial);
    if (rc == 0) {
        unsigned flags =
            MDB_NOTLS | (p->no_sync ? MDB_NOSYNC : 0u) | (p->read_only ? MDB_RDONLY : 0u);
        rc = mdb_env_open(store->env, dir, flags, STORE_FILE_MODE);
    }
    if (rc != 0)
        return store_rc(store, rc, "mdb_env_open");
    ledger_err_t err = open_dbis(store, p->read_only);
    while (err == LEDGER_E_MAP_FULL && p->map_initial < p->map_max) {
        p->map_initial = p->map_initial > p->map_max / 2 ? p->map_max : p->map_initial * 2;
        rc = mdb_env_set_mapsize(store->env, p->map_initial);
        err = rc == 0 ? open_dbis(store, p->read_only) : store_rc(store, rc, "mdb_env_set_mapsize");
    }
    return err;
}

ledger_err_t store_open(const char *dir, const store_config_t *config, store_t **store_out)
{
    tls_open_error[0] = '\0';
    if (!dir || !store_out)
        return open_failed(LEDGER_E_INVALID, "no directory given");
    size_t dir_len = strnlen(dir, STORE_PATH_MAX + 1);
    if (dir_len == 0 || dir_len > STORE_PATH_MAX)
        return open_failed(LEDGER_E_INVALID, "directory name empty or too long");
    open_params_t params;
    ledger_err_t err = open_params(dir, config, &params);
    if (err != LEDGER_OK)
        return err;
    store_t *store = store_alloc(&params);
    if (!store)
        return LEDGER_E_NOMEM;
    memcpy(store->dir, dir, dir_len + 1);
    err = store_env_open(store, dir, &params);
    if (err != LEDGER_OK) {
        memcpy(tls_open_error, store->error, sizeof tls_open_error);
        store_free(store);
        return err == LEDGER_E_NOT_FOUND || err == LEDGER_E_EXISTS ? LEDGER_E_STORE : err;
    }
    store->max_key_bytes = (size_t)mdb_env_get_maxkeysize(store->env);
    MDB_stat st;
    if (mdb_env_stat(store->env, &st) == 0)
        store->lmdb_page_bytes = st.ms_psize;
    refresh_map_bytes(store);
    if (config && config->prealloc_ahead_bytes) {
        err = start_prealloc(store, dir, config->prealloc_ahead_bytes);
        if (err != LEDGER_OK) {
            memcpy(tls_open_error, store->error, sizeof tls_open_error);
            store_destroy(&store);
            return err;
        }
    }
    *store_out = store;
    return LEDGER_OK;
}

void store_destroy(store_t **store_p)
{
    if (!store_p || !*store_p)
        return;
    store_t *store = *store_p;
    prealloc_destroy(&store->prealloc); /* its thread uses the file: stop it first */
    if (store->prealloc_fd >= 0)
        close(store->prealloc_fd);
    /* Closing under an open transaction is a programmer error: LMDB would free it under us. */
    assert(atomic_load(&store->open_txns) == 0);
    mdb_env_close(store->env);
    pthread_rwlock_destroy(&store->resize_lock);
    pthread_mutex_destroy(&store->space_lock);
    pthread_mutex_destroy(&store->error_lock);
    free(store);
    *store_p = NULL;
}

size_t store_map_bytes(const store_t *store)
{
    if (!store)
        return 0;
    return atomic_load(&((store_t *)store)->map_bytes);
}

ledger_err_t store_reader_check(store_t *store, unsigned *cleared_out)
{
    assert(store);
    if (cleared_out)
        *cleared_out = 0;
    int dead = 0;
    int rc = mdb_reader_check(store->env, &dead);
    if (rc != MDB_SUCCESS) {
        store_set_error(store, "mdb_reader_check: %s", mdb_strerror(rc));
        return LEDGER_E_STORE;
    }
    if (cleared_out)
        *cleared_out = dead > 0 ? (unsigned)dead : 0;
    return LEDGER_OK;
}

/* --- map growth ----------------------------------------------------------- */

/*  Takes the resize lock for writing, waiting at most STORE_RESIZE_WAIT_MS
    for every transaction of this process to end. */
static ledger_err_t resize_lock_take(store_t *store)
{
    struct timespec deadline = clock_mono_deadline(STORE_RESIZE_WAIT_MS);
    int rc = pthread_rwlock_clockwrlock(&store->resize_lock, CLOCK_MONOTONIC, &deadline);
    if (rc != 0) {
        store_set_error(store,
                        "map resize: other transactions of this process stayed open for %d ms "
                        "(a thread holding a read transaction must not call store_write)",
                        STORE_RESIZE_WAIT_MS);
        return LEDGER_E_STORE;
    }
    return LEDGER_OK;
}

/*  Doubles the map (at most to map_max_bytes). `seen_map_bytes` is the size
    the failed transaction ran with: if another thread has grown the map
    since, that is growth enough. Called with no transaction open in this
    thread. LEDGER_OK: grown, run again. LEDGER_E_MAP_FULL: at the limit. */
static ledger_err_t store_grow(store_t *store, size_t seen_map_bytes)
{
    /* At the limit already: no need to wait for every transaction to say so. */
    if (seen_map_bytes >= store->map_max_bytes &&
        atomic_load(&store->map_bytes) >= store->map_max_bytes) {
        store_set_error(store, "map full: %zu bytes, the configured maximum", store->map_max_bytes);
        return LEDGER_E_MAP_FULL;
    }
    ledger_err_t err = resize_lock_take(store);
    if (err != LEDGER_OK)
        return err;
    size_t current = atomic_load(&store->map_bytes);
    if (current > seen_map_bytes) {
        pthread_rwlock_unlock(&store->resize_lock);
        return LEDGER_OK;
    }
    if (current >= store->map_max_bytes) {
        pthread_rwlock_unlock(&store->resize_lock);
        store_set_error(store, "map full: %zu bytes, the configured maximum", current);
        return LEDGER_E_MAP_FULL;
    }
    size_t target = current > store->map_max_bytes / 2 ? store->map_max_bytes : current * 2;
    target = round_up(target, store->page_bytes);
    if (target > store->map_max_bytes)
        target = store->map_max_bytes;
    int rc = mdb_env_set_mapsize(store->env, target);
    if (rc == 0)
        refresh_map_bytes(store);
    pthread_rwlock_unlock(&store->resize_lock);
    if (rc != 0)
        return store_rc(store, rc, "mdb_env_set_mapsize");
    return LEDGER_OK;
}

/* Another process grew the map: adopt its size (mdb_env_set_mapsize(0)). */
static ledger_err_t store_adopt_map(store_t *store)
{
    ledger_err_t err = resize_lock_take(store);
    if (err != LEDGER_OK)
        return err;
    int rc = mdb_env_set_mapsize(store->env, 0);
    if (rc == 0)
        refresh_map_bytes(store);
    pthread_rwlock_unlock(&store->resize_lock);
    return store_rc(store, rc, "mdb_env_set_mapsize (adopt)");
}

/* --- transactions --------------------------------------------------------- */

ledger_err_t store_txn_begin(store_t *store, bool write, store_txn_t **txn_out)
{
    assert(store);
    if (!txn_out)
        return LEDGER_E_INVALID;
    if (write && tls_write_store == store) {
        store_set_error(store, "a write transaction is already open in this thread");
        return LEDGER_E_INVALID;
    }
    store_txn_t *txn = calloc(1, sizeof *txn);
    if (!txn)
        return LEDGER_E_NOMEM;
    for (int attempt = 0;; attempt++) {
        pthread_rwlock_rdlock(&store->resize_lock);
        MDB_txn *mdb_txn = NULL;
        int rc = mdb_txn_begin(store->env, NULL, write ? 0 : MDB_RDONLY, &mdb_txn);
        if (rc == 0) {
            txn->store = store;
            txn->txn = mdb_txn;
            txn->write = write;
            txn->map_bytes_at_begin = atomic_load(&store->map_bytes);
            atomic_fetch_add(&store->open_txns, 1);
            if (write)
                tls_write_store = store;
            *txn_out = txn;
            return LEDGER_OK;
        }
        pthread_rwlock_unlock(&store->resize_lock);
        if (rc == MDB_MAP_RESIZED && attempt < STORE_MAP_RESIZED_RETRIES &&
            store_adopt_map(store) == LEDGER_OK)
            continue;
        free(txn);
        return store_rc(store, rc, "mdb_txn_begin");
    }
}

/* Closes the LMDB cursors of `txn`; their handles stay valid for store_cursor_close. */
static void txn_detach_cursors(store_txn_t *txn)
{
    for (store_cursor_t *cursor = txn->cursors; cursor; cursor = cursor->next) {
        mdb_cursor_close(cursor->cursor);
        cursor->cursor = NULL;
        cursor->txn = NULL;
    }
    txn->cursors = NULL;
}

/* Frees `txn` after its LMDB transaction has ended. */
static void txn_release(store_txn_t *txn)
{
    store_t *store = txn->store;
    if (txn->write)
        tls_write_store = NULL;
    atomic_fetch_sub(&store->open_txns, 1);
    pthread_rwlock_unlock(&store->resize_lock);
    free(txn);
}

/* Aborts a transaction (cursors first) and frees it. */
static void txn_abort_release(store_txn_t *txn)
{
    txn_detach_cursors(txn);
    mdb_txn_abort(txn->txn);
    txn_release(txn);
}

/*  Aborts a write transaction that ran out of map and grows the map.
    Returns what store_grow says: LEDGER_OK means run it again. */
static ledger_err_t txn_abort_and_grow(store_txn_t *txn)
{
    store_t *store = txn->store;
    size_t seen = txn->map_bytes_at_begin;
    txn_abort_release(txn);
    return store_grow(store, seen);
}

/*  Commits `txn` and frees it. On a map-full, *grow_out gets the outcome of
    growing the map (LEDGER_OK: run the transaction again). */
static ledger_err_t txn_commit(store_txn_t *txn, ledger_err_t *grow_out)
{
    store_t *store = txn->store;
    *grow_out = LEDGER_E_MAP_FULL;
    if (!txn->write) {
        txn_abort_release(txn);
        return LEDGER_OK;
    }
    ledger_err_t flushed = store_seq_flush(txn);
    if (txn->map_full) {
        *grow_out = txn_abort_and_grow(txn);
        return LEDGER_E_MAP_FULL;
    }
    if (flushed != LEDGER_OK) {
        txn_abort_release(txn);
        return flushed;
    }
    size_t seen = txn->map_bytes_at_begin;
    txn_detach_cursors(txn);
    /* On failure mdb_txn_commit aborts: nothing of this transaction is written. */
    int rc = mdb_txn_commit(txn->txn);
    txn_release(txn);
    if (rc == MDB_MAP_FULL) {
        store_rc(store, rc, "mdb_txn_commit");
        *grow_out = store_grow(store, seen);
        return LEDGER_E_MAP_FULL;
    }
    ledger_err_t err = store_rc(store, rc, "mdb_txn_commit");
    if (err == LEDGER_OK) {
        note_pages_used(store);
        store_room_committed(store);
    }
    return err == LEDGER_E_NOT_FOUND || err == LEDGER_E_EXISTS ? LEDGER_E_STORE : err;
}

ledger_err_t store_txn_commit(store_txn_t **txn_p)
{
    assert(txn_p && *txn_p);
    store_txn_t *txn = *txn_p;
    store_t *store = txn->store;
    *txn_p = NULL;
    ledger_err_t grow;
    ledger_err_t err = txn_commit(txn, &grow);
    if (err == LEDGER_E_MAP_FULL && grow != LEDGER_OK)
        store_room_failed(store);
    return err;
}

void store_txn_abort(store_txn_t **txn_p)
{
    if (!txn_p || !*txn_p)
        return;
    store_txn_t *txn = *txn_p;
    *txn_p = NULL;
    if (txn->write && txn->map_full) {
        txn_abort_and_grow(txn);
        return;
    }
    txn_abort_release(txn);
}

/* store_write's rounds: see store_write. */
static ledger_err_t write_rounds(store_t *store, store_write_fn fn, void *ctx)
{
    /* Each round either commits, fails, or grows the map strictly: it ends. */
    for (;;) {
        store_txn_t *txn = NULL;
        ledger_err_t err = store_txn_begin(store, true, &txn);
        if (err != LEDGER_OK)
            return err;
        err = fn(txn, ctx);
        if (txn->map_full) {
            /* Whatever fn made of the map-full, the transaction is dead: grow and redo. */
            ledger_err_t grow = txn_abort_and_grow(txn);
            if (grow == LEDGER_OK)
                continue;
            return grow;
        }
        if (err != LEDGER_OK) {
            store_txn_abort(&txn);
            return err;
        }
        ledger_err_t grow;
        err = txn_commit(txn, &grow);
        if (err == LEDGER_E_MAP_FULL) {
            if (grow == LEDGER_OK)
                continue;
            return grow;
        }
        return err;
    }
}

ledger_err_t store_write(store_t *store, store_write_fn fn, void *ctx)
{
    assert(store);
    if (!fn)
        return LEDGER_E_INVALID;
    ledger_err_t err = write_rounds(store, fn, ctx);
    if (err == LEDGER_E_MAP_FULL)
        store_room_failed(store); /* no room even at the largest map: nothing written */
    return err;
}

/*  store.c: a node's durable state in one LMDB environment.

    See store.h for the contract. This file holds three things:

    - the environment and its transactions, including map growth: a write
      transaction that hits MDB_MAP_FULL is aborted, the map is doubled (up
      to map_max_bytes) and store_write runs the caller's function again;
    - the fixed-layout binary records of the outbox, dead letters and ledger
      (version byte, big-endian integers, length-prefixed strings), each
      parsed with bounds checks: a record that does not parse is
      LEDGER_E_CORRUPT, never a crash;
    - the hash-chained ledger and its verify walk.

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
#include "store_raw.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>

#include "clock.h"
#include "money.h"
#include "sha256.h"

/* --- limits and formats --------------------------------------------------- */

#define STORE_MAP_INITIAL_DEFAULT_BYTES ((size_t)64 << 20) /* 64 MiB */
#define STORE_MAP_MAX_DEFAULT_BYTES ((size_t)64 << 30)     /* 64 GiB */
#define STORE_RESIZE_WAIT_MS 5000   /* longest wait for other threads' transactions */
#define STORE_MAP_RESIZED_RETRIES 3 /* adopt another process's map growth this often */
#define STORE_ERROR_TEXT_MAX 256
#define STORE_DIR_MODE 0700
#define STORE_FILE_MODE 0600
#define STORE_PATH_MAX 4000 /* directory name, leaving room for "/data.mdb" */
/* After a failed preallocation (a full disk), the thread waits this long before the next try. */
#define STORE_PREALLOC_RETRY_MS 1000

#define STORE_RECORD_VERSION 1 /* first byte of every outbox / dead letter record */

/* META keys owned by this file; generic writes to them are refused. */
#define META_SEQ_PREFIX "seq:"
#define META_SEQ_PREFIX_LEN (sizeof META_SEQ_PREFIX - 1)
#define META_STORE_PREFIX "store:"
#define META_STORE_PREFIX_LEN (sizeof META_STORE_PREFIX - 1)
#define META_OUTBOX_SEQ_KEY "store:outbox_seq"
/* "store:format" and "store:migrate:*" are store_migrate.c's (store_migrate.h). */
/* Counters a write transaction keeps in memory (more are read and written directly). */
#define TXN_COUNTERS_MAX 8
#define TXN_COUNTER_KEY_MAX (META_SEQ_PREFIX_LEN + STORE_SEQ_NAME_MAX)

#define BE64_BYTES 8
#define SEEN_KEY_BYTES (STORE_ORIGIN_MAX + BE64_BYTES)

/*  Outbox record, version 1:
      u8 version | u8 peer_len | peer | be32 attempts | be64 created_ms |
      be64 next_attempt_ms | be32 msg_len | msg                          */
#define OUTBOX_FIXED_BYTES (1 + 1 + 4 + 8 + 8 + 4)

/*  Dead letter record, version 1:
      u8 version | u8 peer_len | peer | be32 attempts | be64 created_ms |
      be64 dead_ms | u8 code_len | code | be16 reason_len | reason |
      be32 msg_len | msg                                                 */
#define DEAD_FIXED_BYTES (1 + 1 + 4 + 8 + 8 + 1 + 2 + 4)

/*  Ledger record, version 2:
      u8 version | fields | prev_hash[32] | hash[32]
    where fields =
      be64 seq | be64 account_prev_seq | u8 account_len | account |
      u8 transfer_len | transfer |
      u8 kind_len | kind | be64 balance_delta | be64 held_delta |
      be64 balance_after | be64 held_after | be64 ts_ms
    and hash = SHA-256(prev_hash || fields). Signed values are stored as
    their two's complement bit pattern.                                  */
#define LEDGER_FIELDS_FIXED_BYTES (8 + 8 + 1 + 1 + 1 + 8 * 4 + 8)
#define LEDGER_RECORD_VERSION 2 /* 1 had no account_prev_seq and a ledger_by_account index */

#define LEDGER_FIELDS_MAX_BYTES                                                                    \
    (LEDGER_FIELDS_FIXED_BYTES + STORE_ACCOUNT_MAX + STORE_TRANSFER_MAX + STORE_KIND_MAX)
#define LEDGER_RECORD_MAX_BYTES (1 + LEDGER_FIELDS_MAX_BYTES + 2 * STORE_HASH_SIZE)

_Static_assert(STORE_PEER_MAX <= UINT8_MAX, "peer length fits a u8");
_Static_assert(STORE_CODE_MAX <= UINT8_MAX, "code length fits a u8");
_Static_assert(STORE_REASON_MAX <= UINT16_MAX, "reason length fits a be16");
_Static_assert(STORE_ACCOUNT_MAX <= UINT8_MAX, "account length fits a u8");
_Static_assert(STORE_TRANSFER_MAX <= UINT8_MAX, "transfer length fits a u8");
_Static_assert(STORE_KIND_MAX <= UINT8_MAX, "kind length fits a u8");
_Static_assert(STORE_MSG_MAX <= UINT32_MAX, "message length fits a be32");

/* --- types ---------------------------------------------------------------- */

struct store_t {
    MDB_env *env;
    MDB_dbi dbi[STORE_DB__COUNT];
    size_t max_key_bytes;
    size_t map_max_bytes;
    size_t page_bytes;
    _Atomic size_t map_bytes;
    atomic_int open_txns;
    pthread_rwlock_t resize_lock; /* read: a transaction is open; write: resizing */
    pthread_mutex_t error_lock;
    char error[STORE_ERROR_TEXT_MAX];
    prealloc_t *prealloc;   /* NULL unless prealloc_ahead_bytes */
    int prealloc_fd;        /* its own fd on data.mdb (-1 without): see start_prealloc */
    size_t lmdb_page_bytes; /* LMDB's page (ms_psize): me_last_pgno counts in it */
};

/*  A sequence counter as a write transaction has it: read from META once,
    bumped in memory, written back when the transaction commits (one put per
    counter and transaction instead of a get and a put per value taken; the
    outbox seq and the "msg" sequence are bumped for every message). */
typedef struct {
    uint8_t key[TXN_COUNTER_KEY_MAX];
    size_t key_size;
    uint64_t value;
    bool dirty; /* bumped since read or written back */
} txn_counter_t;

struct store_txn_t {
    store_t *store;
    store_txn_t *parent; /* set for a child transaction (store_txn_begin_child) */
    MDB_txn *txn;
    bool write;
    bool map_full;             /* some LMDB call returned MDB_MAP_FULL */
    size_t map_bytes_at_begin; /* to tell whether another thread grew the map since */
    store_cursor_t *cursors;   /* open cursors, detached when the transaction ends */
    txn_counter_t counters[TXN_COUNTERS_MAX]; /* top-level write transactions only */
    size_t counter_count;
    /*  The ledger's last entry as this (top-level write) transaction left it,
        once it has appended: the next append chains onto it without reading
        it back. */
    bool ledger_tip_known;
    uint64_t ledger_tip_seq;
    uint8_t ledger_tip_hash[STORE_HASH_SIZE];
};

static ledger_err_t txn_counters_flush(store_txn_t *txn); /* named sequences, below */

struct store_cursor_t {
    store_txn_t *txn; /* NULL once the transaction has ended */
    MDB_cursor *cursor;
    store_db_t db;
    store_cursor_t *next;
};

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

static void set_error(store_t *store, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_error(store_t *store, const char *fmt, ...)
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

/* Maps an LMDB return code to a project error; records the text of real failures. */
static ledger_err_t store_rc(store_t *store, int rc, const char *what)
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
    set_error(store, "%s: %s", what, mdb_strerror(rc));
    switch (rc) {
    case MDB_MAP_FULL:
        return LEDGER_E_MAP_FULL;
    case MDB_BAD_VALSIZE:
        return LEDGER_E_TOO_LARGE;
    case ENOMEM:
        return LEDGER_E_NOMEM;
    default:
        return LEDGER_E_STORE;
    }
}

/* As store_rc, and remembers a map-full so the transaction is redone after growth. */
static ledger_err_t txn_rc(store_txn_t *txn, int rc, const char *what)
{
    /* A map-full in a child dooms its whole family: the top transaction is redone. */
    for (store_txn_t *t = txn; rc == MDB_MAP_FULL && t; t = t->parent)
        t->map_full = true;
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
    return txn_rc(txn, rc, what);
}

/* Opens a cursor on table `db` in `txn`; a failure is reported like any LMDB error. */
static ledger_err_t db_cursor_open(store_txn_t *txn, store_db_t db, MDB_cursor **cursor_out)
{
    return txn_rc(txn, mdb_cursor_open(txn->txn, txn->store->dbi[db], cursor_out),
                  "mdb_cursor_open");
}

static ledger_err_t corrupt(store_txn_t *txn, store_db_t db, uint64_t id, const char *problem)
{
    set_error(txn->store, "%s record %llu: %s", db_names[db], (unsigned long long)id, problem);
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

/* --- small helpers -------------------------------------------------------- */

void store_be64_put(uint8_t out[8], uint64_t value)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)(value & 0xffu);
        value >>= 8;
    }
}

uint64_t store_be64_get(const uint8_t in[8])
{
    uint64_t value = 0;
    for (int i = 0; i < 8; i++)
        value = (value << 8) | in[i];
    return value;
}

static int64_t i64_from_u64(uint64_t u)
{
    if (u <= (uint64_t)INT64_MAX)
        return (int64_t)u;
    return -(int64_t)(~u) - 1;
}

/*  True if `text` is a string of at most `max` bytes (and at least one
    unless allow_empty); its length goes to *len_out. */
static bool text_ok(const char *text, size_t max, bool allow_empty, size_t *len_out)
{
    if (!text)
        return false;
    size_t len = strnlen(text, max + 1);
    if (len > max || (len == 0 && !allow_empty))
        return false;
    *len_out = len;
    return true;
}

static bool db_ok(store_db_t db)
{
    return (unsigned)db < STORE_DB__COUNT;
}

/*  Whether generic put / del may touch `key` in `db`. The ledger is
    append-only, and the outbox, seen ids, dead letters and this file's META
    keys have formats that only this file writes. */
static bool db_key_writable(store_db_t db, const void *key, size_t key_size)
{
    switch (db) {
    case STORE_DB_OUTBOX:
    case STORE_DB_SEEN:
    case STORE_DB_DEAD_LETTERS:
    case STORE_DB_LEDGER:
        return false;
    case STORE_DB_META:
        if (key_size >= META_SEQ_PREFIX_LEN && !memcmp(key, META_SEQ_PREFIX, META_SEQ_PREFIX_LEN))
            return false;
        if (key_size >= META_STORE_PREFIX_LEN &&
            !memcmp(key, META_STORE_PREFIX, META_STORE_PREFIX_LEN))
            return false;
        return true;
    default:
        return true;
    }
}

static ledger_err_t key_ok(const store_t *store, const void *key, size_t key_size)
{
    if (!key || key_size == 0)
        return LEDGER_E_INVALID;
    if (key_size > store->max_key_bytes)
        return LEDGER_E_TOO_LARGE;
    return LEDGER_OK;
}

static size_t round_up(size_t value, size_t unit)
{
    size_t rest = value % unit;
    if (rest == 0)
        return value;
    if (value > SIZE_MAX - (unit - rest))
        return value - rest;
    return value + (unit - rest);
}

/* --- binary records: writer and bounds-checked reader --------------------- */

typedef struct {
    uint8_t *p;
    uint8_t *end;
} writer_t;

static void put_u8(writer_t *w, uint8_t v)
{
    assert(w->p < w->end);
    *w->p++ = v;
}

static void put_be16(writer_t *w, uint16_t v)
{
    put_u8(w, (uint8_t)(v >> 8));
    put_u8(w, (uint8_t)v);
}

static void put_be32(writer_t *w, uint32_t v)
{
    for (int shift = 24; shift >= 0; shift -= 8)
        put_u8(w, (uint8_t)(v >> shift));
}

static void put_be64(writer_t *w, uint64_t v)
{
    assert((size_t)(w->end - w->p) >= BE64_BYTES);
    store_be64_put(w->p, v);
    w->p += BE64_BYTES;
}

static void put_bytes(writer_t *w, const void *bytes, size_t n)
{
    assert((size_t)(w->end - w->p) >= n);
    if (n)
        memcpy(w->p, bytes, n);
    w->p += n;
}

typedef struct {
    const uint8_t *p;
    const uint8_t *end;
    bool ok;
} reader_t;

static bool need(reader_t *r, size_t n)
{
    if (!r->ok || (size_t)(r->end - r->p) < n) {
        r->ok = false;
        return false;
    }
    return true;
}

static uint8_t get_u8(reader_t *r)
{
    if (!need(r, 1))
        return 0;
    return *r->p++;
}

static uint16_t get_be16(reader_t *r)
{
    if (!need(r, 2))
        return 0;
    uint16_t v = (uint16_t)((r->p[0] << 8) | r->p[1]);
    r->p += 2;
    return v;
}

static uint32_t get_be32(reader_t *r)
{
    if (!need(r, 4))
        return 0;
    uint32_t v = ((uint32_t)r->p[0] << 24) | ((uint32_t)r->p[1] << 16) | ((uint32_t)r->p[2] << 8) |
                 (uint32_t)r->p[3];
    r->p += 4;
    return v;
}

static uint64_t get_be64(reader_t *r)
{
    if (!need(r, BE64_BYTES))
        return 0;
    uint64_t v = store_be64_get(r->p);
    r->p += BE64_BYTES;
    return v;
}

static const uint8_t *get_bytes(reader_t *r, size_t n)
{
    if (!need(r, n))
        return NULL;
    const uint8_t *bytes = r->p;
    r->p += n;
    return bytes;
}

/* Reads `len` bytes of text (no NUL inside, at most `max`) into out[max + 1]. */
static void get_text(reader_t *r, size_t len, size_t max, bool allow_empty, char *out)
{
    out[0] = '\0';
    if (len > max || (len == 0 && !allow_empty)) {
        r->ok = false;
        return;
    }
    const uint8_t *bytes = get_bytes(r, len);
    if (!bytes)
        return;
    if (memchr(bytes, '\0', len)) {
        r->ok = false;
        return;
    }
    memcpy(out, bytes, len);
    out[len] = '\0';
}

static bool reader_done(const reader_t *r)
{
    return r->ok && r->p == r->end;
}

/* --- environment ---------------------------------------------------------- */

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
    char path[STORE_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
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

static ledger_err_t open_dbis(store_t *store)
{
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(store->env, NULL, 0, &txn);
    if (rc != 0)
        return store_rc(store, rc, "mdb_txn_begin (open databases)");
    for (int db = 0; db < STORE_DB__COUNT; db++) {
        rc = mdb_dbi_open(txn, db_names[db], MDB_CREATE, &store->dbi[db]);
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
    char path[STORE_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    store->prealloc_fd = open(path, O_RDWR | O_CLOEXEC);
    if (store->prealloc_fd < 0) {
        set_error(store, "cannot open %s for preallocation: %s", path, strerror(errno));
        return LEDGER_E_IO;
    }
    ledger_err_t err =
        prealloc_new(store->prealloc_fd, ahead_bytes, STORE_PREALLOC_RETRY_MS, &store->prealloc);
    if (err != LEDGER_OK) {
        set_error(store, "cannot start the preallocation thread: %s", ledger_err_name(err));
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

ledger_err_t store_open(const char *dir, const store_config_t *config, store_t **store_out)
{
    tls_open_error[0] = '\0';
    if (!dir || !store_out)
        return open_failed(LEDGER_E_INVALID, "no directory given");
    size_t dir_len = strnlen(dir, STORE_PATH_MAX + 1);
    if (dir_len == 0 || dir_len > STORE_PATH_MAX)
        return open_failed(LEDGER_E_INVALID, "directory name empty or too long");

    long page = sysconf(_SC_PAGESIZE);
    size_t page_bytes = page > 0 ? (size_t)page : 4096;
    size_t map_initial = STORE_MAP_INITIAL_DEFAULT_BYTES;
    size_t map_max = STORE_MAP_MAX_DEFAULT_BYTES;
    bool no_sync = false;
    if (config) {
        if (config->map_initial_bytes)
            map_initial = config->map_initial_bytes;
        if (config->map_max_bytes)
            map_max = config->map_max_bytes;
        no_sync = config->no_sync;
    }
    map_initial = round_up(map_initial, page_bytes);
    map_max = round_up(map_max, page_bytes);
    if (map_max < map_initial)
        return open_failed(LEDGER_E_INVALID, "map_max_bytes is below map_initial_bytes");

    ledger_err_t err = make_dir(dir);
    if (err != LEDGER_OK)
        return open_failed(err, "cannot create the data directory (its parent must exist)");

    /* An existing environment may already be larger than asked: map all of it. */
    size_t file_bytes = round_up(data_file_bytes(dir), page_bytes);
    if (file_bytes > map_initial)
        map_initial = file_bytes;
    if (map_initial > map_max)
        map_max = map_initial;

    store_t *store = calloc(1, sizeof *store);
    if (!store)
        return LEDGER_E_NOMEM;
    store->page_bytes = page_bytes;
    store->prealloc_fd = -1;
    store->map_max_bytes = map_max;
    atomic_init(&store->map_bytes, map_initial);
    atomic_init(&store->open_txns, 0);
    snprintf(store->error, sizeof store->error, "no error");
    if (pthread_mutex_init(&store->error_lock, NULL) != 0) {
        free(store);
        return LEDGER_E_NOMEM;
    }
    if (pthread_rwlock_init(&store->resize_lock, NULL) != 0) {
        pthread_mutex_destroy(&store->error_lock);
        free(store);
        return LEDGER_E_NOMEM;
    }

    int rc = mdb_env_create(&store->env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(store->env, STORE_DB__COUNT + STORE_RAW_EXTRA_DBS);
    if (rc == 0)
        rc = mdb_env_set_mapsize(store->env, map_initial);
    if (rc == 0) {
        unsigned flags = MDB_NOTLS | (no_sync ? MDB_NOSYNC : 0u);
        rc = mdb_env_open(store->env, dir, flags, STORE_FILE_MODE);
    }
    if (rc != 0) {
        err = store_rc(store, rc, "mdb_env_open");
    } else {
        err = open_dbis(store);
        /* A map too small even for the database names: grow it like any write. */
        while (err == LEDGER_E_MAP_FULL && map_initial < map_max) {
            map_initial = map_initial > map_max / 2 ? map_max : map_initial * 2;
            rc = mdb_env_set_mapsize(store->env, map_initial);
            err = rc == 0 ? open_dbis(store) : store_rc(store, rc, "mdb_env_set_mapsize");
        }
    }
    if (err != LEDGER_OK) {
        memcpy(tls_open_error, store->error, sizeof tls_open_error);
        if (store->env)
            mdb_env_close(store->env);
        pthread_rwlock_destroy(&store->resize_lock);
        pthread_mutex_destroy(&store->error_lock);
        free(store);
        return err == LEDGER_E_NOT_FOUND || err == LEDGER_E_EXISTS ? LEDGER_E_STORE : err;
    }
    store->max_key_bytes = (size_t)mdb_env_get_maxkeysize(store->env);
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

/*  Takes the resize lock for writing, waiting at most STORE_RESIZE_WAIT_MS
    for every transaction of this process to end. */
static ledger_err_t resize_lock_take(store_t *store)
{
    struct timespec deadline = clock_mono_deadline(STORE_RESIZE_WAIT_MS);
    int rc = pthread_rwlock_clockwrlock(&store->resize_lock, CLOCK_MONOTONIC, &deadline);
    if (rc != 0) {
        set_error(store,
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
        set_error(store, "map full: %zu bytes, the configured maximum", current);
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
    if (!store || !txn_out)
        return LEDGER_E_INVALID;
    if (write && tls_write_store == store) {
        set_error(store, "a write transaction is already open in this thread");
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

ledger_err_t store_txn_begin_child(store_txn_t *parent, store_txn_t **child_out)
{
    if (!parent || !child_out || !parent->write)
        return LEDGER_E_INVALID;
    /* The child reads counters from the map, and may change them: hand them over. */
    ledger_err_t err = txn_counters_flush(parent);
    if (err != LEDGER_OK)
        return err;
    parent->counter_count = 0;
    parent->ledger_tip_known = false; /* the child may append */
    store_txn_t *child = calloc(1, sizeof *child);
    if (!child)
        return LEDGER_E_NOMEM;
    int rc = mdb_txn_begin(parent->store->env, parent->txn, 0, &child->txn);
    if (rc != 0) {
        free(child);
        return txn_rc(parent, rc, "mdb_txn_begin (child)");
    }
    child->store = parent->store;
    child->parent = parent;
    child->write = true;
    child->map_bytes_at_begin = parent->map_bytes_at_begin;
    *child_out = child;
    return LEDGER_OK;
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

/* Aborts a top-level transaction (cursors first) and frees it. */
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
    ledger_err_t flushed = txn_counters_flush(txn);
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
    if (err == LEDGER_OK)
        note_pages_used(store);
    return err == LEDGER_E_NOT_FOUND || err == LEDGER_E_EXISTS ? LEDGER_E_STORE : err;
}

/* Ends a child transaction: its writes join the parent's (commit) or vanish (abort). */
static ledger_err_t child_end(store_txn_t *child, bool commit)
{
    store_txn_t *parent = child->parent;
    txn_detach_cursors(child);
    ledger_err_t err = LEDGER_OK;
    if (commit && !child->map_full) {
        int rc = mdb_txn_commit(child->txn);
        err = rc ? txn_rc(parent, rc, "mdb_txn_commit (child)") : LEDGER_OK;
    } else {
        mdb_txn_abort(child->txn);
        err = commit ? LEDGER_E_MAP_FULL : LEDGER_OK;
    }
    free(child);
    return err;
}

ledger_err_t store_txn_commit(store_txn_t **txn_p)
{
    if (!txn_p || !*txn_p)
        return LEDGER_E_INVALID;
    store_txn_t *txn = *txn_p;
    *txn_p = NULL;
    if (txn->parent)
        return child_end(txn, true);
    ledger_err_t grow;
    return txn_commit(txn, &grow);
}

void store_txn_abort(store_txn_t **txn_p)
{
    if (!txn_p || !*txn_p)
        return;
    store_txn_t *txn = *txn_p;
    *txn_p = NULL;
    if (txn->parent) {
        child_end(txn, false);
        return;
    }
    if (txn->write && txn->map_full) {
        txn_abort_and_grow(txn);
        return;
    }
    txn_abort_release(txn);
}

ledger_err_t store_write(store_t *store, store_write_fn fn, void *ctx)
{
    if (!store || !fn)
        return LEDGER_E_INVALID;
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

/* --- key/value ------------------------------------------------------------ */

static MDB_val mval(const void *data, size_t size)
{
    MDB_val v = {.mv_size = size, .mv_data = (void *)data};
    return v;
}

ledger_err_t store_get(store_txn_t *txn, store_db_t db, const void *key, size_t key_size,
                       const void **val_out, size_t *val_size_out)
{
    if (!txn || !db_ok(db) || !val_out || !val_size_out)
        return LEDGER_E_INVALID;
    ledger_err_t err = key_ok(txn->store, key, key_size);
    if (err != LEDGER_OK)
        return err;
    MDB_val k = mval(key, key_size), v;
    err = txn_rc(txn, mdb_get(txn->txn, txn->store->dbi[db], &k, &v), "mdb_get");
    if (err != LEDGER_OK)
        return err;
    *val_out = v.mv_data;
    *val_size_out = v.mv_size;
    return LEDGER_OK;
}

ledger_err_t store_put(store_txn_t *txn, store_db_t db, const void *key, size_t key_size,
                       const void *val, size_t val_size, unsigned flags)
{
    if (!txn || !txn->write || !db_ok(db) || (!val && val_size > 0))
        return LEDGER_E_INVALID;
    if (flags & ~(STORE_PUT_NOOVERWRITE | STORE_PUT_APPEND))
        return LEDGER_E_INVALID;
    ledger_err_t err = key_ok(txn->store, key, key_size);
    if (err != LEDGER_OK)
        return err;
    if (val_size > STORE_VALUE_MAX)
        return LEDGER_E_TOO_LARGE;
    if (!db_key_writable(db, key, key_size))
        return LEDGER_E_INVALID;
    unsigned mdb_flags = 0;
    if (flags & STORE_PUT_NOOVERWRITE)
        mdb_flags |= MDB_NOOVERWRITE;
    if (flags & STORE_PUT_APPEND)
        mdb_flags |= MDB_APPEND;
    MDB_val k = mval(key, key_size), v = mval(val, val_size);
    return txn_rc(txn, mdb_put(txn->txn, txn->store->dbi[db], &k, &v, mdb_flags), "mdb_put");
}

ledger_err_t store_del(store_txn_t *txn, store_db_t db, const void *key, size_t key_size)
{
    if (!txn || !txn->write || !db_ok(db))
        return LEDGER_E_INVALID;
    ledger_err_t err = key_ok(txn->store, key, key_size);
    if (err != LEDGER_OK)
        return err;
    if (!db_key_writable(db, key, key_size))
        return LEDGER_E_INVALID;
    MDB_val k = mval(key, key_size);
    return txn_rc(txn, mdb_del(txn->txn, txn->store->dbi[db], &k, NULL), "mdb_del");
}

ledger_err_t store_count(store_txn_t *txn, store_db_t db, uint64_t *count_out)
{
    if (!txn || !db_ok(db) || !count_out)
        return LEDGER_E_INVALID;
    MDB_stat st;
    ledger_err_t err = txn_rc(txn, mdb_stat(txn->txn, txn->store->dbi[db], &st), "mdb_stat");
    if (err != LEDGER_OK)
        return err;
    *count_out = st.ms_entries;
    return LEDGER_OK;
}

ledger_err_t store_cursor_open(store_txn_t *txn, store_db_t db, store_cursor_t **cursor_out)
{
    if (!txn || !db_ok(db) || !cursor_out)
        return LEDGER_E_INVALID;
    store_cursor_t *cursor = calloc(1, sizeof *cursor);
    if (!cursor)
        return LEDGER_E_NOMEM;
    ledger_err_t err = db_cursor_open(txn, db, &cursor->cursor);
    if (err != LEDGER_OK) {
        free(cursor);
        return err == LEDGER_E_NOT_FOUND ? LEDGER_E_STORE : err;
    }
    cursor->txn = txn;
    cursor->db = db;
    cursor->next = txn->cursors;
    txn->cursors = cursor;
    *cursor_out = cursor;
    return LEDGER_OK;
}

ledger_err_t store_cursor_get(store_cursor_t *cursor, store_seek_t op, store_kv_t *kv)
{
    if (!cursor || !cursor->txn || !kv)
        return LEDGER_E_INVALID;
    MDB_val k = {0}, v = {0};
    MDB_cursor_op mdb_op;
    switch (op) {
    case STORE_FIRST:
        mdb_op = MDB_FIRST;
        break;
    case STORE_LAST:
        mdb_op = MDB_LAST;
        break;
    case STORE_NEXT:
        mdb_op = MDB_NEXT;
        break;
    case STORE_PREV:
        mdb_op = MDB_PREV;
        break;
    case STORE_SEEK: {
        ledger_err_t err = key_ok(cursor->txn->store, kv->key, kv->key_size);
        if (err != LEDGER_OK)
            return err;
        k = mval(kv->key, kv->key_size);
        mdb_op = MDB_SET_RANGE;
        break;
    }
    default:
        return LEDGER_E_INVALID;
    }
    ledger_err_t err =
        txn_rc(cursor->txn, mdb_cursor_get(cursor->cursor, &k, &v, mdb_op), "mdb_cursor_get");
    if (err != LEDGER_OK)
        return err;
    kv->key = k.mv_data;
    kv->key_size = k.mv_size;
    kv->val = v.mv_data;
    kv->val_size = v.mv_size;
    return LEDGER_OK;
}

ledger_err_t store_cursor_del(store_cursor_t *cursor)
{
    if (!cursor || !cursor->txn || !cursor->txn->write)
        return LEDGER_E_INVALID;
    MDB_val k, v;
    ledger_err_t err = txn_rc(cursor->txn, mdb_cursor_get(cursor->cursor, &k, &v, MDB_GET_CURRENT),
                              "mdb_cursor_get");
    if (err != LEDGER_OK)
        return err;
    if (!db_key_writable(cursor->db, k.mv_data, k.mv_size))
        return LEDGER_E_INVALID;
    return txn_rc(cursor->txn, mdb_cursor_del(cursor->cursor, 0), "mdb_cursor_del");
}

void store_cursor_close(store_cursor_t **cursor_p)
{
    if (!cursor_p || !*cursor_p)
        return;
    store_cursor_t *cursor = *cursor_p;
    if (cursor->txn) {
        store_cursor_t **link = &cursor->txn->cursors;
        while (*link != cursor) {
            assert(*link);
            link = &(*link)->next;
        }
        *link = cursor->next;
        mdb_cursor_close(cursor->cursor);
    }
    free(cursor);
    *cursor_p = NULL;
}

/* --- named sequences ------------------------------------------------------ */

/* Reads the be64 counter under META `key` from the map (0 if absent). */
static ledger_err_t counter_read(store_txn_t *txn, const void *key, size_t key_size,
                                 uint64_t *value_out)
{
    MDB_val k = mval(key, key_size), v;
    int rc = mdb_get(txn->txn, txn->store->dbi[STORE_DB_META], &k, &v);
    if (rc == MDB_NOTFOUND) {
        *value_out = 0;
        return LEDGER_OK;
    }
    ledger_err_t err = txn_rc(txn, rc, "mdb_get (sequence)");
    if (err != LEDGER_OK)
        return err;
    if (v.mv_size != BE64_BYTES)
        return corrupt(txn, STORE_DB_META, 0, "sequence value is not 8 bytes");
    *value_out = store_be64_get(v.mv_data);
    return LEDGER_OK;
}

static ledger_err_t counter_write(store_txn_t *txn, const void *key, size_t key_size,
                                  uint64_t value)
{
    uint8_t be[BE64_BYTES];
    store_be64_put(be, value);
    MDB_val k = mval(key, key_size), v = mval(be, sizeof be);
    return txn_rc(txn, mdb_put(txn->txn, txn->store->dbi[STORE_DB_META], &k, &v, 0),
                  "mdb_put (sequence)");
}

/*  The in-memory copy of a counter in a top-level write transaction, read
    from the map on first use. *out is NULL where none is kept: read and
    child transactions, or all TXN_COUNTERS_MAX slots taken; the caller then
    reads and writes the map directly. */
static ledger_err_t txn_counter(store_txn_t *txn, const void *key, size_t key_size,
                                txn_counter_t **out)
{
    *out = NULL;
    if (!txn->write || txn->parent || key_size > TXN_COUNTER_KEY_MAX)
        return LEDGER_OK;
    for (size_t i = 0; i < txn->counter_count; i++) {
        txn_counter_t *c = &txn->counters[i];
        if (c->key_size == key_size && !memcmp(c->key, key, key_size)) {
            *out = c;
            return LEDGER_OK;
        }
    }
    if (txn->counter_count == TXN_COUNTERS_MAX)
        return LEDGER_OK;
    txn_counter_t *c = &txn->counters[txn->counter_count];
    ledger_err_t err = counter_read(txn, key, key_size, &c->value);
    if (err != LEDGER_OK)
        return err;
    memcpy(c->key, key, key_size);
    c->key_size = key_size;
    c->dirty = false;
    txn->counter_count++;
    *out = c;
    return LEDGER_OK;
}

/*  Writes the counters bumped in `txn` to the map: before it commits, and
    before a child transaction begins (the child reads the map). */
static ledger_err_t txn_counters_flush(store_txn_t *txn)
{
    for (size_t i = 0; i < txn->counter_count; i++) {
        txn_counter_t *c = &txn->counters[i];
        if (!c->dirty)
            continue;
        ledger_err_t err = counter_write(txn, c->key, c->key_size, c->value);
        if (err != LEDGER_OK)
            return err;
        c->dirty = false;
    }
    return LEDGER_OK;
}

/*  The counter under META `key` as `txn` sees it (0 if absent), and in *c_out
    the in-memory copy the transaction keeps of it (NULL: read from the map). */
static ledger_err_t counter_lookup(store_txn_t *txn, const void *key, size_t key_size,
                                   txn_counter_t **c_out, uint64_t *value_out)
{
    ledger_err_t err = txn_counter(txn, key, key_size, c_out);
    if (err != LEDGER_OK)
        return err;
    if (!*c_out)
        return counter_read(txn, key, key_size, value_out);
    *value_out = (*c_out)->value;
    return LEDGER_OK;
}

static ledger_err_t counter_peek(store_txn_t *txn, const void *key, size_t key_size,
                                 uint64_t *value_out)
{
    txn_counter_t *c;
    return counter_lookup(txn, key, key_size, &c, value_out);
}

static ledger_err_t counter_next(store_txn_t *txn, const void *key, size_t key_size,
                                 uint64_t *value_out)
{
    txn_counter_t *c;
    uint64_t value;
    ledger_err_t err = counter_lookup(txn, key, key_size, &c, &value);
    if (err != LEDGER_OK)
        return err;
    if (value == UINT64_MAX)
        return LEDGER_E_OVERFLOW;
    value++;
    if (c) {
        c->value = value;
        c->dirty = true;
    } else if ((err = counter_write(txn, key, key_size, value)) != LEDGER_OK) {
        return err;
    }
    *value_out = value;
    return LEDGER_OK;
}

/* META key of a named sequence: "seq:" + name. */
static bool seq_key(const char *name, uint8_t key[TXN_COUNTER_KEY_MAX], size_t *key_size_out)
{
    size_t len;
    if (!text_ok(name, STORE_SEQ_NAME_MAX, false, &len))
        return false;
    memcpy(key, META_SEQ_PREFIX, META_SEQ_PREFIX_LEN);
    memcpy(key + META_SEQ_PREFIX_LEN, name, len);
    *key_size_out = META_SEQ_PREFIX_LEN + len;
    return true;
}

ledger_err_t store_seq_next(store_txn_t *txn, const char *name, uint64_t *value_out)
{
    uint8_t key[TXN_COUNTER_KEY_MAX];
    size_t key_size;
    if (!txn || !txn->write || !value_out || !seq_key(name, key, &key_size))
        return LEDGER_E_INVALID;
    return counter_next(txn, key, key_size, value_out);
}

ledger_err_t store_seq_peek(store_txn_t *txn, const char *name, uint64_t *value_out)
{
    uint8_t key[TXN_COUNTER_KEY_MAX];
    size_t key_size;
    if (!txn || !value_out || !seq_key(name, key, &key_size))
        return LEDGER_E_INVALID;
    return counter_peek(txn, key, key_size, value_out);
}

/* --- outbox --------------------------------------------------------------- */

static size_t outbox_record_bytes(size_t peer_len, size_t msg_size)
{
    return OUTBOX_FIXED_BYTES + peer_len + msg_size;
}

static void outbox_encode(uint8_t *buf, size_t size, const char *peer, size_t peer_len,
                          uint32_t attempts, uint64_t created_ms, uint64_t next_attempt_ms,
                          const void *msg, size_t msg_size)
{
    writer_t w = {buf, buf + size};
    put_u8(&w, STORE_RECORD_VERSION);
    put_u8(&w, (uint8_t)peer_len);
    put_bytes(&w, peer, peer_len);
    put_be32(&w, attempts);
    put_be64(&w, created_ms);
    put_be64(&w, next_attempt_ms);
    put_be32(&w, (uint32_t)msg_size);
    put_bytes(&w, msg, msg_size);
    assert(w.p == w.end);
}

/*  The start outbox and dead letter records share: version, peer, attempts,
    created_ms. false for an unknown version (the reader's ok flag says the rest). */
static bool get_entry_head(reader_t *r, char peer[STORE_PEER_MAX + 1], uint32_t *attempts,
                           uint64_t *created_ms)
{
    if (get_u8(r) != STORE_RECORD_VERSION)
        return false;
    size_t peer_len = get_u8(r);
    get_text(r, peer_len, STORE_PEER_MAX, false, peer);
    *attempts = get_be32(r);
    *created_ms = get_be64(r);
    return true;
}

/* The end they share: be32 length + the message, at most STORE_MSG_MAX bytes. */
static const uint8_t *get_msg(reader_t *r, size_t *size_out)
{
    size_t size = get_be32(r);
    if (size > STORE_MSG_MAX)
        r->ok = false;
    *size_out = size;
    return get_bytes(r, size);
}

static ledger_err_t outbox_decode(store_txn_t *txn, const MDB_val *key, const MDB_val *val,
                                  store_outbox_entry_t *out)
{
    if (key->mv_size != BE64_BYTES)
        return corrupt(txn, STORE_DB_OUTBOX, 0, "key is not 8 bytes");
    uint64_t seq = store_be64_get(key->mv_data);
    reader_t r = {val->mv_data, (const uint8_t *)val->mv_data + val->mv_size, true};
    store_outbox_entry_t entry = {.seq = seq};
    if (!get_entry_head(&r, entry.peer, &entry.attempts, &entry.created_ms))
        return corrupt(txn, STORE_DB_OUTBOX, seq, "unknown record version");
    entry.next_attempt_ms = get_be64(&r);
    entry.msg = get_msg(&r, &entry.msg_size);
    if (!reader_done(&r))
        return corrupt(txn, STORE_DB_OUTBOX, seq, "record does not parse");
    *out = entry;
    return LEDGER_OK;
}

static ledger_err_t outbox_check_msg(const void *msg, size_t msg_size)
{
    if (!msg || msg_size == 0)
        return LEDGER_E_INVALID;
    if (msg_size > STORE_MSG_MAX)
        return LEDGER_E_TOO_LARGE;
    return LEDGER_OK;
}

/* Writes a new outbox entry under the next outbox seq. */
static ledger_err_t outbox_insert(store_txn_t *txn, const char *peer, size_t peer_len,
                                  uint32_t attempts, uint64_t created_ms, uint64_t next_attempt_ms,
                                  const void *msg, size_t msg_size, uint64_t *seq_out)
{
    uint64_t seq;
    ledger_err_t err = counter_next(txn, META_OUTBOX_SEQ_KEY, sizeof META_OUTBOX_SEQ_KEY - 1, &seq);
    if (err != LEDGER_OK)
        return err;
    uint8_t key[BE64_BYTES];
    store_be64_put(key, seq);
    MDB_val k = mval(key, sizeof key);
    MDB_val v = {.mv_size = outbox_record_bytes(peer_len, msg_size), .mv_data = NULL};
    /* MDB_RESERVE: encode straight into the map. `msg` is caller memory, not the map. */
    int rc = mdb_put(txn->txn, txn->store->dbi[STORE_DB_OUTBOX], &k, &v, MDB_APPEND | MDB_RESERVE);
    if (rc == MDB_KEYEXIST)
        return corrupt(txn, STORE_DB_OUTBOX, seq, "outbox seq counter is behind the outbox");
    err = txn_rc(txn, rc, "mdb_put (outbox)");
    if (err != LEDGER_OK)
        return err;
    outbox_encode(v.mv_data, v.mv_size, peer, peer_len, attempts, created_ms, next_attempt_ms, msg,
                  msg_size);
    if (seq_out)
        *seq_out = seq;
    return LEDGER_OK;
}

ledger_err_t store_outbox_put(store_txn_t *txn, const char *peer, const void *msg, size_t msg_size,
                              uint64_t now_ms, uint64_t *seq_out)
{
    size_t peer_len;
    if (!txn || !txn->write || !text_ok(peer, STORE_PEER_MAX, false, &peer_len))
        return LEDGER_E_INVALID;
    ledger_err_t err = outbox_check_msg(msg, msg_size);
    if (err != LEDGER_OK)
        return err;
    return outbox_insert(txn, peer, peer_len, 0, now_ms, now_ms, msg, msg_size, seq_out);
}

ledger_err_t store_outbox_get(store_txn_t *txn, uint64_t seq, store_outbox_entry_t *entry_out)
{
    if (!txn || !entry_out)
        return LEDGER_E_INVALID;
    uint8_t key[BE64_BYTES];
    store_be64_put(key, seq);
    MDB_val k = mval(key, sizeof key), v;
    ledger_err_t err = txn_rc(txn, mdb_get(txn->txn, txn->store->dbi[STORE_DB_OUTBOX], &k, &v),
                              "mdb_get (outbox)");
    if (err != LEDGER_OK)
        return err;
    return outbox_decode(txn, &k, &v, entry_out);
}

/* Positions `cursor` on the first key > after (be64); MDB_NOTFOUND at the end. */
static int cursor_after(MDB_cursor *cursor, uint64_t after, MDB_val *k, MDB_val *v,
                        uint8_t key[BE64_BYTES])
{
    if (after == UINT64_MAX)
        return MDB_NOTFOUND;
    store_be64_put(key, after + 1);
    *k = mval(key, BE64_BYTES);
    return mdb_cursor_get(cursor, k, v, MDB_SET_RANGE);
}

ledger_err_t store_outbox_next(store_txn_t *txn, uint64_t after_seq,
                               store_outbox_entry_t *entry_out)
{
    if (!txn || !entry_out)
        return LEDGER_E_INVALID;
    MDB_cursor *cursor;
    ledger_err_t err = db_cursor_open(txn, STORE_DB_OUTBOX, &cursor);
    if (err != LEDGER_OK)
        return err;
    uint8_t key[BE64_BYTES];
    MDB_val k, v;
    err = txn_rc(txn, cursor_after(cursor, after_seq, &k, &v, key), "mdb_cursor_get (outbox)");
    if (err == LEDGER_OK)
        err = outbox_decode(txn, &k, &v, entry_out);
    mdb_cursor_close(cursor);
    return err;
}

ledger_err_t store_outbox_take_due(store_txn_t *txn, uint64_t now_ms, uint64_t after_seq,
                                   store_outbox_entry_t *entries_out, size_t max, size_t *count_out)
{
    if (!txn || !count_out || (!entries_out && max > 0))
        return LEDGER_E_INVALID;
    size_t count = 0;
    if (max == 0) {
        *count_out = 0;
        return LEDGER_OK;
    }
    MDB_cursor *cursor;
    ledger_err_t err = db_cursor_open(txn, STORE_DB_OUTBOX, &cursor);
    if (err != LEDGER_OK)
        return err;
    uint8_t key[BE64_BYTES];
    MDB_val k, v;
    int rc = cursor_after(cursor, after_seq, &k, &v, key);
    while (rc == 0 && count < max) {
        store_outbox_entry_t entry;
        err = outbox_decode(txn, &k, &v, &entry);
        if (err != LEDGER_OK)
            break;
        if (entry.next_attempt_ms <= now_ms)
            entries_out[count++] = entry;
        rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cursor);
    if (err != LEDGER_OK)
        return err;
    if (rc != 0 && rc != MDB_NOTFOUND)
        return txn_rc(txn, rc, "mdb_cursor_get (outbox)");
    *count_out = count;
    return LEDGER_OK;
}

ledger_err_t store_outbox_reschedule(store_txn_t *txn, uint64_t seq, uint64_t next_attempt_ms)
{
    if (!txn || !txn->write)
        return LEDGER_E_INVALID;
    store_outbox_entry_t entry;
    ledger_err_t err = store_outbox_get(txn, seq, &entry);
    if (err != LEDGER_OK)
        return err;
    size_t peer_len = strlen(entry.peer);
    size_t size = outbox_record_bytes(peer_len, entry.msg_size);
    /* entry.msg points into the map and a put may move it: copy before writing. */
    uint8_t *buf = malloc(size);
    if (!buf)
        return LEDGER_E_NOMEM;
    uint32_t attempts = entry.attempts == UINT32_MAX ? UINT32_MAX : entry.attempts + 1;
    outbox_encode(buf, size, entry.peer, peer_len, attempts, entry.created_ms, next_attempt_ms,
                  entry.msg, entry.msg_size);
    uint8_t key[BE64_BYTES];
    store_be64_put(key, seq);
    MDB_val k = mval(key, sizeof key), v = mval(buf, size);
    err = txn_rc(txn, mdb_put(txn->txn, txn->store->dbi[STORE_DB_OUTBOX], &k, &v, 0),
                 "mdb_put (outbox)");
    free(buf);
    return err;
}

ledger_err_t store_outbox_ack(store_txn_t *txn, uint64_t seq)
{
    if (!txn || !txn->write)
        return LEDGER_E_INVALID;
    uint8_t key[BE64_BYTES];
    store_be64_put(key, seq);
    MDB_val k = mval(key, sizeof key);
    return txn_rc(txn, mdb_del(txn->txn, txn->store->dbi[STORE_DB_OUTBOX], &k, NULL),
                  "mdb_del (outbox)");
}

static size_t dead_record_bytes(size_t peer_len, size_t code_len, size_t reason_len,
                                size_t msg_size)
{
    return DEAD_FIXED_BYTES + peer_len + code_len + reason_len + msg_size;
}

ledger_err_t store_outbox_to_dead(store_txn_t *txn, uint64_t seq, const char *code,
                                  const char *reason, uint64_t now_ms)
{
    size_t code_len, reason_len;
    if (!txn || !txn->write || !text_ok(code, STORE_CODE_MAX, false, &code_len) ||
        !text_ok(reason, STORE_REASON_MAX, true, &reason_len))
        return LEDGER_E_INVALID;
    store_outbox_entry_t entry;
    ledger_err_t err = store_outbox_get(txn, seq, &entry);
    if (err != LEDGER_OK)
        return err;
    size_t peer_len = strlen(entry.peer);
    size_t size = dead_record_bytes(peer_len, code_len, reason_len, entry.msg_size);
    /* Built before any write: entry.msg points into the map. */
    uint8_t *buf = malloc(size);
    if (!buf)
        return LEDGER_E_NOMEM;
    writer_t w = {buf, buf + size};
    put_u8(&w, STORE_RECORD_VERSION);
    put_u8(&w, (uint8_t)peer_len);
    put_bytes(&w, entry.peer, peer_len);
    put_be32(&w, entry.attempts);
    put_be64(&w, entry.created_ms);
    put_be64(&w, now_ms);
    put_u8(&w, (uint8_t)code_len);
    put_bytes(&w, code, code_len);
    put_be16(&w, (uint16_t)reason_len);
    put_bytes(&w, reason, reason_len);
    put_be32(&w, (uint32_t)entry.msg_size);
    put_bytes(&w, entry.msg, entry.msg_size);
    assert(w.p == w.end);

    uint8_t key[BE64_BYTES];
    store_be64_put(key, seq);
    MDB_val k = mval(key, sizeof key), v = mval(buf, size);
    err = txn_rc(txn,
                 mdb_put(txn->txn, txn->store->dbi[STORE_DB_DEAD_LETTERS], &k, &v, MDB_NOOVERWRITE),
                 "mdb_put (dead_letters)");
    free(buf);
    if (err == LEDGER_E_EXISTS)
        return corrupt(txn, STORE_DB_DEAD_LETTERS, seq, "a dead letter with this id exists");
    if (err != LEDGER_OK)
        return err;
    return txn_rc(txn, mdb_del(txn->txn, txn->store->dbi[STORE_DB_OUTBOX], &k, NULL),
                  "mdb_del (outbox)");
}

ledger_err_t store_outbox_stats(store_txn_t *txn, uint64_t now_ms, uint64_t *depth_out,
                                uint64_t *oldest_age_ms_out)
{
    if (!txn || !depth_out || !oldest_age_ms_out)
        return LEDGER_E_INVALID;
    uint64_t depth;
    ledger_err_t err = store_count(txn, STORE_DB_OUTBOX, &depth);
    if (err != LEDGER_OK)
        return err;
    uint64_t age = 0;
    if (depth > 0) {
        store_outbox_entry_t oldest;
        err = store_outbox_next(txn, 0, &oldest);
        if (err != LEDGER_OK)
            return err == LEDGER_E_NOT_FOUND ? LEDGER_E_STORE : err;
        age = now_ms > oldest.created_ms ? now_ms - oldest.created_ms : 0;
    }
    *depth_out = depth;
    *oldest_age_ms_out = age;
    return LEDGER_OK;
}

/* --- dead letters --------------------------------------------------------- */

static ledger_err_t dead_decode(store_txn_t *txn, const MDB_val *key, const MDB_val *val,
                                store_dead_letter_t *out)
{
    if (key->mv_size != BE64_BYTES)
        return corrupt(txn, STORE_DB_DEAD_LETTERS, 0, "key is not 8 bytes");
    uint64_t id = store_be64_get(key->mv_data);
    reader_t r = {val->mv_data, (const uint8_t *)val->mv_data + val->mv_size, true};
    store_dead_letter_t dead = {.id = id};
    if (!get_entry_head(&r, dead.peer, &dead.attempts, &dead.created_ms))
        return corrupt(txn, STORE_DB_DEAD_LETTERS, id, "unknown record version");
    dead.dead_ms = get_be64(&r);
    size_t code_len = get_u8(&r);
    get_text(&r, code_len, STORE_CODE_MAX, false, dead.code);
    size_t reason_len = get_be16(&r);
    get_text(&r, reason_len, STORE_REASON_MAX, true, dead.reason);
    dead.msg = get_msg(&r, &dead.msg_size);
    if (!reader_done(&r))
        return corrupt(txn, STORE_DB_DEAD_LETTERS, id, "record does not parse");
    *out = dead;
    return LEDGER_OK;
}

ledger_err_t store_dead_get(store_txn_t *txn, uint64_t id, store_dead_letter_t *dead_out)
{
    if (!txn || !dead_out)
        return LEDGER_E_INVALID;
    uint8_t key[BE64_BYTES];
    store_be64_put(key, id);
    MDB_val k = mval(key, sizeof key), v;
    ledger_err_t err =
        txn_rc(txn, mdb_get(txn->txn, txn->store->dbi[STORE_DB_DEAD_LETTERS], &k, &v),
               "mdb_get (dead_letters)");
    if (err != LEDGER_OK)
        return err;
    return dead_decode(txn, &k, &v, dead_out);
}

ledger_err_t store_dead_next(store_txn_t *txn, uint64_t after_id, store_dead_letter_t *dead_out)
{
    if (!txn || !dead_out)
        return LEDGER_E_INVALID;
    MDB_cursor *cursor;
    ledger_err_t err = db_cursor_open(txn, STORE_DB_DEAD_LETTERS, &cursor);
    if (err != LEDGER_OK)
        return err;
    uint8_t key[BE64_BYTES];
    MDB_val k, v;
    err = txn_rc(txn, cursor_after(cursor, after_id, &k, &v, key), "mdb_cursor_get (dead_letters)");
    if (err == LEDGER_OK)
        err = dead_decode(txn, &k, &v, dead_out);
    mdb_cursor_close(cursor);
    return err;
}

ledger_err_t store_dead_replay(store_txn_t *txn, uint64_t id, uint64_t now_ms,
                               uint64_t *outbox_seq_out)
{
    if (!txn || !txn->write)
        return LEDGER_E_INVALID;
    store_dead_letter_t dead;
    ledger_err_t err = store_dead_get(txn, id, &dead);
    if (err != LEDGER_OK)
        return err;
    /* dead.msg points into the map: keep a copy across the writes below. */
    size_t msg_size = dead.msg_size;
    uint8_t *msg = malloc(msg_size ? msg_size : 1);
    if (!msg)
        return LEDGER_E_NOMEM;
    memcpy(msg, dead.msg, msg_size);
    uint8_t key[BE64_BYTES];
    store_be64_put(key, id);
    MDB_val k = mval(key, sizeof key);
    err = txn_rc(txn, mdb_del(txn->txn, txn->store->dbi[STORE_DB_DEAD_LETTERS], &k, NULL),
                 "mdb_del (dead_letters)");
    if (err == LEDGER_OK)
        err = outbox_insert(txn, dead.peer, strlen(dead.peer), 0, now_ms, now_ms, msg, msg_size,
                            outbox_seq_out);
    free(msg);
    return err;
}

/* --- seen message ids ----------------------------------------------------- */

static bool seen_key(const char *origin, uint64_t seq, uint8_t key[SEEN_KEY_BYTES])
{
    size_t len;
    if (!text_ok(origin, STORE_ORIGIN_MAX, false, &len))
        return false;
    memset(key, 0, STORE_ORIGIN_MAX);
    memcpy(key, origin, len);
    store_be64_put(key + STORE_ORIGIN_MAX, seq);
    return true;
}

ledger_err_t store_seen_check(store_txn_t *txn, const char *origin, uint64_t seq, bool *seen_out)
{
    uint8_t key[SEEN_KEY_BYTES];
    if (!txn || !seen_out || !seen_key(origin, seq, key))
        return LEDGER_E_INVALID;
    MDB_val k = mval(key, sizeof key), v;
    ledger_err_t err =
        txn_rc(txn, mdb_get(txn->txn, txn->store->dbi[STORE_DB_SEEN], &k, &v), "mdb_get (seen)");
    if (err != LEDGER_OK && err != LEDGER_E_NOT_FOUND)
        return err;
    *seen_out = err == LEDGER_OK;
    return LEDGER_OK;
}

ledger_err_t store_seen_put(store_txn_t *txn, const char *origin, uint64_t seq, uint64_t now_ms)
{
    uint8_t key[SEEN_KEY_BYTES];
    if (!txn || !txn->write || !seen_key(origin, seq, key))
        return LEDGER_E_INVALID;
    uint8_t be[BE64_BYTES];
    store_be64_put(be, now_ms);
    MDB_val k = mval(key, sizeof key), v = mval(be, sizeof be);
    /* The first sighting's time is kept: a redelivery dirties no page. */
    ledger_err_t err =
        txn_rc(txn, mdb_put(txn->txn, txn->store->dbi[STORE_DB_SEEN], &k, &v, MDB_NOOVERWRITE),
               "mdb_put (seen)");
    return err == LEDGER_E_EXISTS ? LEDGER_OK : err;
}

ledger_err_t store_seen_prune(store_txn_t *txn, uint64_t older_than_ms, size_t max,
                              size_t *pruned_out)
{
    if (!txn || !txn->write)
        return LEDGER_E_INVALID;
    size_t pruned = 0;
    MDB_cursor *cursor;
    ledger_err_t err = db_cursor_open(txn, STORE_DB_SEEN, &cursor);
    if (err != LEDGER_OK)
        return err;
    MDB_val k, v;
    int rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST);
    while (rc == 0 && pruned < max) {
        if (k.mv_size != SEEN_KEY_BYTES || v.mv_size != BE64_BYTES) {
            err = corrupt(txn, STORE_DB_SEEN, 0, "seen record has the wrong size");
            break;
        }
        if (store_be64_get(v.mv_data) < older_than_ms) {
            rc = mdb_cursor_del(cursor, 0);
            if (rc != 0)
                break;
            pruned++;
            /* After a delete, MDB_NEXT moves to the entry that followed it. */
            rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT);
            continue;
        }
        /*  The ids of one origin are in seq order, which is (nearly) the order
            they were seen: at the first young one, skip to the next origin. */
        uint8_t next_origin[SEEN_KEY_BYTES];
        memcpy(next_origin, k.mv_data, STORE_ORIGIN_MAX);
        memset(next_origin + STORE_ORIGIN_MAX, 0xff, BE64_BYTES);
        MDB_val seek = mval(next_origin, sizeof next_origin);
        k = seek;
        rc = mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE);
        if (rc == 0 && k.mv_size == SEEN_KEY_BYTES &&
            !memcmp(k.mv_data, next_origin, STORE_ORIGIN_MAX))
            rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cursor);
    if (err != LEDGER_OK)
        return err;
    if (rc != 0 && rc != MDB_NOTFOUND)
        return txn_rc(txn, rc, "mdb_cursor (seen prune)");
    if (pruned_out)
        *pruned_out = pruned;
    return LEDGER_OK;
}

/* --- ledger --------------------------------------------------------------- */

/* Validates the caller's fields of `entry`; lengths go to lens[0..2]. */
static bool ledger_fields_ok(const store_ledger_entry_t *entry, size_t lens[3])
{
    return text_ok(entry->account, STORE_ACCOUNT_MAX, false, &lens[0]) &&
           text_ok(entry->transfer, STORE_TRANSFER_MAX, true, &lens[1]) &&
           text_ok(entry->kind, STORE_KIND_MAX, false, &lens[2]);
}

/*  Serializes the hashed fields of `entry` (seq included) into `buf`;
    returns their size. */
static size_t ledger_encode_fields(const store_ledger_entry_t *entry, const size_t lens[3],
                                   uint8_t *buf, size_t size)
{
    writer_t w = {buf, buf + size};
    put_be64(&w, entry->seq);
    put_be64(&w, entry->account_prev_seq);
    put_u8(&w, (uint8_t)lens[0]);
    put_bytes(&w, entry->account, lens[0]);
    put_u8(&w, (uint8_t)lens[1]);
    put_bytes(&w, entry->transfer, lens[1]);
    put_u8(&w, (uint8_t)lens[2]);
    put_bytes(&w, entry->kind, lens[2]);
    put_be64(&w, (uint64_t)entry->balance_delta_minor);
    put_be64(&w, (uint64_t)entry->held_delta_minor);
    put_be64(&w, (uint64_t)entry->balance_after_minor);
    put_be64(&w, (uint64_t)entry->held_after_minor);
    put_be64(&w, entry->ts_ms);
    return (size_t)(w.p - buf);
}

static ledger_err_t ledger_hash(const uint8_t prev_hash[STORE_HASH_SIZE], const uint8_t *fields,
                                size_t fields_size, uint8_t out[STORE_HASH_SIZE])
{
    const sha256_part_t parts[] = {{prev_hash, STORE_HASH_SIZE}, {fields, fields_size}};
    return sha256_parts(parts, 2, out);
}

/*  Parses a ledger record. *fields_out / *fields_size_out (may be NULL) get
    the hashed bytes inside `val`. Returns false if it does not parse. */
static bool ledger_parse(const MDB_val *val, store_ledger_entry_t *out, const uint8_t **fields_out,
                         size_t *fields_size_out)
{
    reader_t r = {val->mv_data, (const uint8_t *)val->mv_data + val->mv_size, true};
    store_ledger_entry_t entry;
    memset(&entry, 0, sizeof entry);
    if (get_u8(&r) != LEDGER_RECORD_VERSION)
        return false;
    const uint8_t *fields = r.p;
    entry.seq = get_be64(&r);
    entry.account_prev_seq = get_be64(&r);
    get_text(&r, get_u8(&r), STORE_ACCOUNT_MAX, false, entry.account);
    get_text(&r, get_u8(&r), STORE_TRANSFER_MAX, true, entry.transfer);
    get_text(&r, get_u8(&r), STORE_KIND_MAX, false, entry.kind);
    entry.balance_delta_minor = i64_from_u64(get_be64(&r));
    entry.held_delta_minor = i64_from_u64(get_be64(&r));
    entry.balance_after_minor = i64_from_u64(get_be64(&r));
    entry.held_after_minor = i64_from_u64(get_be64(&r));
    entry.ts_ms = get_be64(&r);
    size_t fields_size = r.ok ? (size_t)(r.p - fields) : 0;
    const uint8_t *prev_hash = get_bytes(&r, STORE_HASH_SIZE);
    const uint8_t *hash = get_bytes(&r, STORE_HASH_SIZE);
    if (!reader_done(&r))
        return false;
    memcpy(entry.prev_hash, prev_hash, STORE_HASH_SIZE);
    memcpy(entry.hash, hash, STORE_HASH_SIZE);
    *out = entry;
    if (fields_out)
        *fields_out = fields;
    if (fields_size_out)
        *fields_size_out = fields_size;
    return true;
}

/* Reads and parses the ledger entry under `k`; the record's seq must match its key. */
static ledger_err_t ledger_decode(store_txn_t *txn, const MDB_val *k, const MDB_val *v,
                                  store_ledger_entry_t *out)
{
    if (k->mv_size != BE64_BYTES)
        return corrupt(txn, STORE_DB_LEDGER, 0, "key is not 8 bytes");
    uint64_t seq = store_be64_get(k->mv_data);
    if (!ledger_parse(v, out, NULL, NULL))
        return corrupt(txn, STORE_DB_LEDGER, seq, "record does not parse");
    if (out->seq != seq)
        return corrupt(txn, STORE_DB_LEDGER, seq, "record seq differs from its key");
    return LEDGER_OK;
}

/*  The ledger's last record as `txn` sees it, into *k / *v (valid until the
    transaction writes again); *found_out false for an empty ledger. */
static ledger_err_t ledger_last_record(store_txn_t *txn, MDB_val *k, MDB_val *v, bool *found_out)
{
    MDB_cursor *cursor;
    ledger_err_t err = db_cursor_open(txn, STORE_DB_LEDGER, &cursor);
    if (err != LEDGER_OK)
        return err;
    int rc = mdb_cursor_get(cursor, k, v, MDB_LAST);
    mdb_cursor_close(cursor);
    *found_out = rc == 0;
    if (rc != 0 && rc != MDB_NOTFOUND)
        return txn_rc(txn, rc, "mdb_cursor_get (ledger)");
    return LEDGER_OK;
}

/*  The seq the next entry gets and the hash it chains onto (zeros for the
    first): from what this transaction appended last, else from the ledger's
    last record. */
static ledger_err_t ledger_tip(store_txn_t *txn, uint64_t *next_seq_out,
                               uint8_t prev_hash_out[STORE_HASH_SIZE])
{
    if (txn->ledger_tip_known) {
        if (txn->ledger_tip_seq == UINT64_MAX)
            return LEDGER_E_OVERFLOW;
        *next_seq_out = txn->ledger_tip_seq + 1;
        memcpy(prev_hash_out, txn->ledger_tip_hash, STORE_HASH_SIZE);
        return LEDGER_OK;
    }
    MDB_val k, v;
    bool found;
    ledger_err_t err = ledger_last_record(txn, &k, &v, &found);
    if (err != LEDGER_OK || !found)
        return err;
    store_ledger_entry_t last;
    err = ledger_decode(txn, &k, &v, &last);
    if (err == LEDGER_OK && last.seq == UINT64_MAX)
        err = LEDGER_E_OVERFLOW;
    if (err == LEDGER_OK) {
        *next_seq_out = last.seq + 1;
        memcpy(prev_hash_out, last.hash, STORE_HASH_SIZE);
    }
    return err;
}

ledger_err_t store_ledger_append(store_txn_t *txn, store_ledger_entry_t *entry)
{
    size_t lens[3];
    if (!txn || !txn->write || !entry || !ledger_fields_ok(entry, lens))
        return LEDGER_E_INVALID;

    /* The after values must continue the account's running sums: those of the
       entry the caller names as the account's previous one. */
    int64_t balance = 0, held = 0;
    if (entry->account_prev_seq) {
        store_ledger_entry_t previous;
        ledger_err_t err = store_ledger_get(txn, entry->account_prev_seq, &previous);
        if (err == LEDGER_E_NOT_FOUND ||
            (err == LEDGER_OK && strcmp(previous.account, entry->account) != 0)) {
            set_error(txn->store, "ledger append for %s: entry %llu is not one of its entries",
                      entry->account, (unsigned long long)entry->account_prev_seq);
            return LEDGER_E_INVALID;
        }
        if (err != LEDGER_OK)
            return err;
        balance = previous.balance_after_minor;
        held = previous.held_after_minor;
    }
    if (money_add(balance, entry->balance_delta_minor, &balance) != LEDGER_OK ||
        money_add(held, entry->held_delta_minor, &held) != LEDGER_OK)
        return LEDGER_E_OVERFLOW;
    if (balance != entry->balance_after_minor || held != entry->held_after_minor) {
        set_error(txn->store,
                  "ledger append for %s: after values (%lld, %lld) do not continue the "
                  "account's running sums (%lld, %lld)",
                  entry->account, (long long)entry->balance_after_minor,
                  (long long)entry->held_after_minor, (long long)balance, (long long)held);
        return LEDGER_E_INVALID;
    }

    /* Chain onto the last entry. */
    uint64_t seq = 1;
    uint8_t prev_hash[STORE_HASH_SIZE] = {0};
    ledger_err_t err = ledger_tip(txn, &seq, prev_hash);
    if (err != LEDGER_OK)
        return err;

    store_ledger_entry_t stored = *entry;
    stored.seq = seq;
    memcpy(stored.prev_hash, prev_hash, STORE_HASH_SIZE);
    uint8_t record[LEDGER_RECORD_MAX_BYTES];
    record[0] = LEDGER_RECORD_VERSION;
    size_t fields_size = ledger_encode_fields(&stored, lens, record + 1, LEDGER_FIELDS_MAX_BYTES);
    err = ledger_hash(prev_hash, record + 1, fields_size, stored.hash);
    if (err != LEDGER_OK)
        return err;
    memcpy(record + 1 + fields_size, prev_hash, STORE_HASH_SIZE);
    memcpy(record + 1 + fields_size + STORE_HASH_SIZE, stored.hash, STORE_HASH_SIZE);
    size_t record_size = 1 + fields_size + 2 * STORE_HASH_SIZE;

    uint8_t key[BE64_BYTES];
    store_be64_put(key, seq);
    MDB_val k = mval(key, sizeof key), v = mval(record, record_size);
    err = txn_rc(txn, mdb_put(txn->txn, txn->store->dbi[STORE_DB_LEDGER], &k, &v, MDB_APPEND),
                 "mdb_put (ledger)");
    if (err != LEDGER_OK)
        return err;
    if (!txn->parent) {
        txn->ledger_tip_known = true;
        txn->ledger_tip_seq = seq;
        memcpy(txn->ledger_tip_hash, stored.hash, STORE_HASH_SIZE);
    }
    *entry = stored;
    return LEDGER_OK;
}

ledger_err_t store_ledger_get(store_txn_t *txn, uint64_t seq, store_ledger_entry_t *entry_out)
{
    if (!txn || !entry_out)
        return LEDGER_E_INVALID;
    uint8_t key[BE64_BYTES];
    store_be64_put(key, seq);
    MDB_val k = mval(key, sizeof key), v;
    ledger_err_t err = txn_rc(txn, mdb_get(txn->txn, txn->store->dbi[STORE_DB_LEDGER], &k, &v),
                              "mdb_get (ledger)");
    if (err != LEDGER_OK)
        return err;
    return ledger_decode(txn, &k, &v, entry_out);
}

ledger_err_t store_ledger_last_seq(store_txn_t *txn, uint64_t *seq_out)
{
    if (!txn || !seq_out)
        return LEDGER_E_INVALID;
    MDB_val k, v;
    bool found;
    ledger_err_t err = ledger_last_record(txn, &k, &v, &found);
    if (err != LEDGER_OK)
        return err;
    uint64_t seq = 0;
    if (found && k.mv_size != BE64_BYTES)
        return corrupt(txn, STORE_DB_LEDGER, 0, "key is not 8 bytes");
    if (found)
        seq = store_be64_get(k.mv_data);
    *seq_out = seq;
    return LEDGER_OK;
}

ledger_err_t store_ledger_by_account(store_txn_t *txn, const char *account, uint64_t newest_seq,
                                     uint64_t before_seq, store_ledger_entry_t *entries_out,
                                     size_t max, size_t *count_out)
{
    size_t len;
    if (!txn || !count_out || (!entries_out && max > 0) ||
        !text_ok(account, STORE_ACCOUNT_MAX, false, &len))
        return LEDGER_E_INVALID;
    uint64_t seq;
    if (before_seq == 0) {
        seq = newest_seq;
    } else {
        store_ledger_entry_t cursor_entry;
        ledger_err_t err = store_ledger_get(txn, before_seq, &cursor_entry);
        if (err != LEDGER_OK)
            return err;
        if (strcmp(cursor_entry.account, account) != 0)
            return LEDGER_E_NOT_FOUND; /* not a cursor of this account */
        seq = cursor_entry.account_prev_seq;
    }
    size_t count = 0;
    uint64_t newer = before_seq ? before_seq : UINT64_MAX;
    while (seq != 0 && count < max) {
        /* A chain only ever points back; anything else would loop or skip. */
        if (seq >= newer)
            return corrupt(txn, STORE_DB_LEDGER, newer, "account chain does not point back");
        ledger_err_t err = store_ledger_get(txn, seq, &entries_out[count]);
        if (err == LEDGER_E_NOT_FOUND)
            return corrupt(txn, STORE_DB_LEDGER, newer, "account chain names a missing entry");
        if (err != LEDGER_OK)
            return err;
        if (strcmp(entries_out[count].account, account) != 0)
            return corrupt(txn, STORE_DB_LEDGER, seq, "account chain reaches another account");
        newer = seq;
        seq = entries_out[count].account_prev_seq;
        count++;
    }
    *count_out = count;
    return LEDGER_OK;
}

/* --- ledger verify -------------------------------------------------------- */

/* Running sums per account during a verify walk: an open-addressing hash table. */
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

static uint64_t text_hash(const char *text)
{
    uint64_t hash = 1469598103934665603u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        hash = (hash ^ *p) * 1099511628211u;
    return hash;
}

static bool sum_table_grow(sum_table_t *table)
{
    size_t slots_cap = table->slots_cap ? table->slots_cap * 2 : 64;
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

/*  Checks one entry against the walk so far. Returns false (with the report
    filled) at a bad entry, LEDGER_OK-style errors through *err. */
static bool verify_entry(const MDB_val *k, const MDB_val *v, uint64_t expected_seq,
                         uint8_t prev_hash[STORE_HASH_SIZE], sum_table_t *sums,
                         store_ledger_report_t *report, ledger_err_t *err)
{
    if (k->mv_size != BE64_BYTES) {
        report_bad(report, expected_seq, "key is %zu bytes, not 8", k->mv_size);
        return false;
    }
    uint64_t seq = store_be64_get(k->mv_data);
    if (seq != expected_seq) {
        report_bad(report, seq, "seq %llu follows %llu: the ledger is not contiguous",
                   (unsigned long long)seq, (unsigned long long)(expected_seq - 1));
        return false;
    }
    store_ledger_entry_t entry;
    const uint8_t *fields;
    size_t fields_size;
    if (!ledger_parse(v, &entry, &fields, &fields_size)) {
        report_bad(report, seq, "record does not parse");
        return false;
    }
    if (entry.seq != seq) {
        report_bad(report, seq, "record says seq %llu", (unsigned long long)entry.seq);
        return false;
    }
    if (memcmp(entry.prev_hash, prev_hash, STORE_HASH_SIZE) != 0) {
        report_bad(report, seq, "prev_hash is not the hash of entry %llu",
                   (unsigned long long)(seq - 1));
        return false;
    }
    uint8_t hash[STORE_HASH_SIZE];
    *err = ledger_hash(prev_hash, fields, fields_size, hash);
    if (*err != LEDGER_OK)
        return false;
    if (memcmp(hash, entry.hash, STORE_HASH_SIZE) != 0) {
        report_bad(report, seq, "hash does not match the entry's contents");
        return false;
    }
    account_sum_t *sum = sum_table_find(sums, entry.account);
    if (!sum) {
        *err = LEDGER_E_NOMEM;
        return false;
    }
    if (entry.account_prev_seq != sum->last_seq) {
        report_bad(report, seq, "account_prev_seq %llu, but the previous entry of %s is %llu",
                   (unsigned long long)entry.account_prev_seq, entry.account,
                   (unsigned long long)sum->last_seq);
        return false;
    }
    sum->last_seq = seq;
    if (money_add(sum->balance_minor, entry.balance_delta_minor, &sum->balance_minor) !=
            LEDGER_OK ||
        money_add(sum->held_minor, entry.held_delta_minor, &sum->held_minor) != LEDGER_OK) {
        report_bad(report, seq, "running sums of %s overflow", entry.account);
        return false;
    }
    if (sum->balance_minor != entry.balance_after_minor ||
        sum->held_minor != entry.held_after_minor) {
        report_bad(report, seq, "after values (%lld, %lld) differ from running sums (%lld, %lld)",
                   (long long)entry.balance_after_minor, (long long)entry.held_after_minor,
                   (long long)sum->balance_minor, (long long)sum->held_minor);
        return false;
    }
    if (money_add(report->balance_sum_minor, entry.balance_delta_minor,
                  &report->balance_sum_minor) != LEDGER_OK) {
        report_bad(report, seq, "sum of all balance deltas overflows");
        return false;
    }
    memcpy(prev_hash, entry.hash, STORE_HASH_SIZE);
    return true;
}

ledger_err_t store_ledger_verify(store_txn_t *txn, store_ledger_balance_fn balance_fn, void *ctx,
                                 store_ledger_report_t *report_out)
{
    if (!txn || !report_out)
        return LEDGER_E_INVALID;
    store_ledger_report_t report;
    memset(&report, 0, sizeof report);
    report.ok = true;
    sum_table_t sums = {0};
    MDB_cursor *cursor;
    ledger_err_t err = db_cursor_open(txn, STORE_DB_LEDGER, &cursor);
    if (err != LEDGER_OK)
        return err;
    uint8_t prev_hash[STORE_HASH_SIZE] = {0};
    uint64_t expected_seq = 1;
    MDB_val k, v;
    int rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST);
    while (rc == 0) {
        report.entries++;
        if (!verify_entry(&k, &v, expected_seq, prev_hash, &sums, &report, &err))
            break;
        expected_seq++;
        rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cursor);
    if (err == LEDGER_OK && rc != 0 && rc != MDB_NOTFOUND)
        err = txn_rc(txn, rc, "mdb_cursor_get (ledger)");
    if (err == LEDGER_OK && report.ok && balance_fn) {
        for (size_t i = 0; i < sums.count; i++)
            balance_fn(sums.sums[i].account, sums.sums[i].balance_minor, sums.sums[i].held_minor,
                       sums.sums[i].last_seq, ctx);
    }
    sum_table_free(&sums);
    if (err != LEDGER_OK)
        return err;
    *report_out = report;
    return LEDGER_OK;
}

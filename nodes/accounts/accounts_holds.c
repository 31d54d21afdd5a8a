/*  accounts_holds.c: the open-holds and timers indexes (accounts_holds.h). */
#include "accounts_holds.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "text.h"

#define PREFIX_LEN 3 /* "hd/" and "tm/" */
/* Largest key: the hold key (prefix, account id, NUL, transfer id); a timer key is shorter. */
#define KEY_MAX (PREFIX_LEN + PROTO_ACCOUNT_ID_MAX + 1 + PROTO_TRANSFER_ID_MAX)
#define TIMER_ID_AT (PREFIX_LEN + 8) /* where a timer key's transfer id starts */

bool accounts_holds_open_state(accounts_transfer_state_t state)
{
    return state == ACCOUNTS_TRANSFER_RESERVED || state == ACCOUNTS_TRANSFER_AUTHORIZED;
}

uint64_t accounts_holds_due_ms(const accounts_transfer_t *tr)
{
    assert(tr);
    if (tr->state == ACCOUNTS_TRANSFER_RESERVED)
        return tr->risk_deadline_ms;
    if (tr->state == ACCOUNTS_TRANSFER_AUTHORIZED)
        return tr->expires_at_ms;
    return 0;
}

/* "hd/" + account + "\0" + transfer; returns its length. */
static size_t hold_key(uint8_t key[KEY_MAX], const char *account, const char *transfer)
{
    record_writer_t w = {key, KEY_MAX, 0, true};
    record_put_bytes(&w, ACCOUNTS_HOLDS_PREFIX, PREFIX_LEN);
    record_put_bytes(&w, account, strlen(account) + 1);
    record_put_bytes(&w, transfer, strlen(transfer));
    assert(w.ok); /* ids within their limits */
    return w.len;
}

/* "tm/" + be64 due + transfer; returns its length. */
static size_t timer_key(uint8_t key[KEY_MAX], uint64_t due_ms, const char *transfer)
{
    record_writer_t w = {key, KEY_MAX, 0, true};
    record_put_bytes(&w, ACCOUNTS_TIMERS_PREFIX, PREFIX_LEN);
    record_put_u64(&w, due_ms);
    record_put_bytes(&w, transfer, strlen(transfer));
    assert(w.ok);
    return w.len;
}

static ledger_err_t del_if_there(store_txn_t *txn, const uint8_t *key, size_t key_size)
{
    ledger_err_t err = store_del(txn, STORE_DB_INDEX, key, key_size);
    return err == LEDGER_E_NOT_FOUND ? LEDGER_OK : err;
}

ledger_err_t accounts_holds_timer_del(store_txn_t *txn, uint64_t due_ms, const char *transfer)
{
    assert(txn && transfer);
    uint8_t key[KEY_MAX];
    return del_if_there(txn, key, timer_key(key, due_ms, transfer));
}

static ledger_err_t hold_put(store_txn_t *txn, const accounts_transfer_t *tr)
{
    uint8_t key[KEY_MAX], val[ACCOUNTS_HOLD_VALUE_BYTES];
    record_writer_t w = {val, sizeof val, 0, true};
    record_put_i64(&w, tr->amount_minor);
    record_put_u8(&w, (uint8_t)tr->kind);
    record_put_u8(&w, tr->capture);
    record_put_u64(&w, tr->created_ms);
    record_put_u64(&w, tr->expires_at_ms);
    assert(w.ok && w.len == sizeof val);
    return store_put(txn, STORE_DB_INDEX, key, hold_key(key, tr->from, tr->id), val, w.len, 0);
}

/* The hold of `tr` as listed. */
static proto_hold_t hold_of(const accounts_transfer_t *tr)
{
    proto_hold_t h;
    memset(&h, 0, sizeof h);
    text_copy(h.transfer, sizeof h.transfer, tr->id);
    h.amount_minor = tr->amount_minor;
    h.kind = tr->kind;
    h.capture = (proto_capture_t)tr->capture;
    h.created_ms = tr->created_ms;
    h.expires_at_ms = tr->expires_at_ms;
    return h;
}

/* The set's entry of the reserved transfer `tr`, its timer due at `due_ms`. */
static accounts_reserved_entry_t entry_of(const accounts_transfer_t *tr, uint64_t due_ms,
                                          bool durable)
{
    accounts_reserved_entry_t e;
    memset(&e, 0, sizeof e);
    text_copy(e.from, sizeof e.from, tr->from);
    text_copy(e.to, sizeof e.to, tr->to);
    e.hold = hold_of(tr);
    e.due_ms = due_ms;
    e.durable = durable;
    return e;
}

/*  The hold of `tr` as its state moves from `before` (0 for a new transfer); `in_set`: it was
    in the set until now. A reserved transfer's hold goes into the set when there is one, an
    authorised one's into "hd/"; an "hd/" entry from before (a reserved transfer written
    without the set) stays until the transfer closes. */
static ledger_err_t hold_follow(store_txn_t *txn, accounts_reserved_t *reserved,
                                const accounts_transfer_t *tr, accounts_transfer_state_t before,
                                bool in_set)
{
    bool was_open = accounts_holds_open_state(before),
         is_open = accounts_holds_open_state(tr->state);
    uint8_t key[KEY_MAX];
    if (!is_open)
        return !was_open || in_set ? LEDGER_OK
                                   : del_if_there(txn, key, hold_key(key, tr->from, tr->id));
    if (reserved && tr->state == ACCOUNTS_TRANSFER_RESERVED) {
        accounts_reserved_entry_t e = entry_of(tr, tr->risk_deadline_ms, false);
        return accounts_reserved_add(reserved, &e);
    }
    /* opening into authorized (or anything without the set), or reserved -> authorized out of
       the set; an "hd/" entry from before stays as it is */
    return was_open && !in_set ? LEDGER_OK : hold_put(txn, tr);
}

ledger_err_t accounts_holds_follow(store_txn_t *txn, accounts_reserved_t *reserved,
                                   const accounts_transfer_t *tr, accounts_transfer_state_t before,
                                   uint64_t before_due_ms)
{
    assert(txn && tr);
    uint64_t due = accounts_holds_due_ms(tr);
    if (before == tr->state && before_due_ms == due)
        return LEDGER_OK;
    bool was_open = accounts_holds_open_state(before),
         is_open = accounts_holds_open_state(tr->state);
    bool in_set = false, durable = false; /* where its hold and timer were until now */
    ledger_err_t err = LEDGER_OK;
    if (reserved && before == ACCOUNTS_TRANSFER_RESERVED)
        err = accounts_reserved_remove(reserved, tr->id, &in_set, &durable);
    bool to_set = reserved && tr->state == ACCOUNTS_TRANSFER_RESERVED;
    bool on_disk = !in_set || durable; /* its old timer's key, if it had one */
    uint8_t key[KEY_MAX];
    if (!err && was_open && before_due_ms && before_due_ms != due && on_disk)
        err = del_if_there(txn, key, timer_key(key, before_due_ms, tr->id));
    /* a timer on disk for the new state: another due time, or the same one whose key was only
       in memory (an authorisation that expires at its risk deadline, to the ms) */
    if (!err && is_open && due && !to_set && (due != before_due_ms || !on_disk))
        err = store_put(txn, STORE_DB_INDEX, key, timer_key(key, due, tr->id), "", 0, 0);
    return err ? err : hold_follow(txn, reserved, tr, before, in_set);
}

/* One hold entry (key past the account's prefix: the transfer id) into *out. */
static ledger_err_t hold_decode(const store_kv_t *kv, size_t id_at, proto_hold_t *out)
{
    size_t id_len = kv->key_size - id_at;
    record_reader_t r = {kv->val, kv->val_size, 0, kv->val != NULL};
    memset(out, 0, sizeof *out);
    out->amount_minor = record_get_i64(&r);
    uint8_t kind = record_get_u8(&r), capture = record_get_u8(&r);
    out->created_ms = record_get_u64(&r);
    out->expires_at_ms = record_get_u64(&r);
    if (!record_done(&r) || id_len == 0 || id_len > PROTO_TRANSFER_ID_MAX ||
        !proto_transfer_kind_name((proto_transfer_kind_t)kind) || capture > PROTO_CAPTURE_MANUAL)
        return LEDGER_E_CORRUPT;
    memcpy(out->transfer, (const uint8_t *)kv->key + id_at, id_len);
    out->transfer[id_len] = '\0';
    if (strlen(out->transfer) != id_len)
        return LEDGER_E_CORRUPT;
    out->kind = (proto_transfer_kind_t)kind;
    out->capture = (proto_capture_t)capture;
    return LEDGER_OK;
}

/* Positions the cursor on the first hold of the account after `after`. */
static ledger_err_t holds_seek(store_cursor_t *cur, const uint8_t *prefix, size_t prefix_len,
                               const char *after, store_kv_t *kv)
{
    uint8_t key[KEY_MAX];
    memcpy(key, prefix, prefix_len);
    size_t after_len = strlen(after);
    memcpy(key + prefix_len, after, after_len);
    kv->key = key;
    kv->key_size = prefix_len + after_len;
    ledger_err_t err = store_cursor_get(cur, STORE_SEEK, kv);
    if (!err && after_len && kv->key_size == prefix_len + after_len &&
        memcmp(kv->key, key, kv->key_size) == 0)
        err = store_cursor_get(cur, STORE_NEXT, kv);
    return err;
}

/* *more = the cursor's entry is a hold of the prefix's account (then decoded into *out). */
static ledger_err_t disk_hold(ledger_err_t got, const store_kv_t *kv, const uint8_t *prefix,
                              size_t prefix_len, proto_hold_t *out, bool *more)
{
    *more =
        got == LEDGER_OK && kv->key_size > prefix_len && memcmp(kv->key, prefix, prefix_len) == 0;
    if (got && got != LEDGER_E_NOT_FOUND)
        return got;
    return *more ? hold_decode(kv, prefix_len, out) : LEDGER_OK;
}

/*  Moves *at past the set's candidates that are no longer reserved on `account` (a removal
    waiting for its commit, or a transfer the set outlived). */
static ledger_err_t skip_stale(store_txn_t *txn, const char *account, const proto_hold_t *mem,
                               size_t mem_count, size_t *at)
{
    for (; *at < mem_count; (*at)++) {
        accounts_transfer_t tr;
        ledger_err_t err = accounts_record_transfer_get(txn, mem[*at].transfer, &tr);
        if (err && err != LEDGER_E_NOT_FOUND)
            return err;
        if (!err && tr.state == ACCOUNTS_TRANSFER_RESERVED && strcmp(tr.from, account) == 0)
            return LEDGER_OK;
    }
    return LEDGER_OK;
}

/* The merge of the "hd/" entries (cursor at the first) and the set's (mem) into out. */
static ledger_err_t holds_merge(store_txn_t *txn, store_cursor_t *cur, const uint8_t *prefix,
                                size_t prefix_len, const char *account, const proto_hold_t *mem,
                                size_t mem_count, uint32_t limit, proto_hold_t *out,
                                uint32_t *count_out, char next[PROTO_TRANSFER_ID_MAX + 1],
                                store_kv_t *kv, ledger_err_t got)
{
    proto_hold_t disk;
    bool disk_more = false;
    size_t at = 0;
    ledger_err_t err = disk_hold(got, kv, prefix, prefix_len, &disk, &disk_more);
    while (!err && !(err = skip_stale(txn, account, mem, mem_count, &at))) {
        bool mem_more = at < mem_count;
        if (!mem_more && !disk_more)
            break;
        if (*count_out == limit) {
            text_copy(next, PROTO_TRANSFER_ID_MAX + 1, out[limit - 1].transfer);
            break;
        }
        if (mem_more && (!disk_more || strcmp(mem[at].transfer, disk.transfer) < 0)) {
            out[(*count_out)++] = mem[at++];
            continue;
        }
        out[(*count_out)++] = disk;
        err = disk_hold(store_cursor_get(cur, STORE_NEXT, kv), kv, prefix, prefix_len, &disk,
                        &disk_more);
    }
    return err;
}

ledger_err_t accounts_holds_list(store_txn_t *txn, const accounts_reserved_t *reserved,
                                 const char *account, const char *after, uint32_t limit,
                                 proto_hold_t *out, uint32_t *count_out,
                                 char next[PROTO_TRANSFER_ID_MAX + 1])
{
    assert(txn && account && after && out && count_out && next);
    *count_out = 0;
    if (limit == 0 || limit > PROTO_PAGE_MAX ||
        text_len_within(account, PROTO_ACCOUNT_ID_MAX) == 0 ||
        strnlen(after, PROTO_TRANSFER_ID_MAX + 1) > PROTO_TRANSFER_ID_MAX) {
        next[0] = '\0';
        return LEDGER_E_INVALID;
    }
    char cursor[PROTO_TRANSFER_ID_MAX + 1]; /* `after` may be `next` itself */
    text_copy(cursor, sizeof cursor, after);
    next[0] = '\0';
    proto_hold_t *mem = NULL;
    size_t mem_count = 0;
    ledger_err_t err =
        reserved ? accounts_reserved_of(reserved, account, cursor, &mem, &mem_count) : LEDGER_OK;
    store_cursor_t *cur = NULL;
    if (!err)
        err = store_cursor_open(txn, STORE_DB_INDEX, &cur);
    if (!err) {
        uint8_t prefix[KEY_MAX];
        size_t prefix_len = hold_key(prefix, account, "");
        store_kv_t kv = {0};
        ledger_err_t got = holds_seek(cur, prefix, prefix_len, cursor, &kv);
        err = holds_merge(txn, cur, prefix, prefix_len, account, mem, mem_count, limit, out,
                          count_out, next, &kv, got);
        store_cursor_close(&cur);
    }
    free(mem);
    return err;
}

/* A timer key's due time and transfer id; LEDGER_E_CORRUPT if it has no id or a bad one. */
static ledger_err_t timer_decode(const store_kv_t *kv, uint64_t *due_ms,
                                 char id[PROTO_TRANSFER_ID_MAX + 1])
{
    size_t id_len = kv->key_size - TIMER_ID_AT;
    if (kv->key_size <= TIMER_ID_AT || id_len > PROTO_TRANSFER_ID_MAX)
        return LEDGER_E_CORRUPT;
    record_reader_t r = {(const uint8_t *)kv->key + PREFIX_LEN, 8, 0, true};
    *due_ms = record_get_u64(&r);
    memcpy(id, (const uint8_t *)kv->key + TIMER_ID_AT, id_len);
    id[id_len] = '\0';
    return strlen(id) == id_len ? LEDGER_OK : LEDGER_E_CORRUPT;
}

/*  One timer met by timers_walk, in due order: non-OK stops the walk with that error (never
    LEDGER_E_NOT_FOUND: the walk's own end), *stop stops it without one. */
typedef ledger_err_t (*timer_visit_fn)(uint64_t due_ms, const char *id, void *arg, bool *stop);

/* Walks the "tm/" keys in due order, one cursor in `txn` (visits must not write the index). */
static ledger_err_t timers_walk(store_txn_t *txn, timer_visit_fn visit, void *arg)
{
    store_cursor_t *cur;
    ledger_err_t err = store_cursor_open(txn, STORE_DB_INDEX, &cur);
    if (err)
        return err;
    bool stop = false;
    store_kv_t kv = {.key = ACCOUNTS_TIMERS_PREFIX, .key_size = PREFIX_LEN};
    err = store_cursor_get(cur, STORE_SEEK, &kv);
    while (!err && !stop && kv.key_size >= PREFIX_LEN &&
           memcmp(kv.key, ACCOUNTS_TIMERS_PREFIX, PREFIX_LEN) == 0) {
        uint64_t due = 0;
        char id[PROTO_TRANSFER_ID_MAX + 1];
        err = timer_decode(&kv, &due, id);
        if (!err)
            err = visit(due, id, arg, &stop);
        if (!err && !stop)
            err = store_cursor_get(cur, STORE_NEXT, &kv);
    }
    store_cursor_close(&cur);
    return err == LEDGER_E_NOT_FOUND ? LEDGER_OK : err;
}

typedef struct {
    uint64_t now_ms;
    size_t max;
    char (*ids)[PROTO_TRANSFER_ID_MAX + 1];
    uint64_t *due_out;
    size_t *count_out;
    uint64_t *next_due_ms_out;
} due_walk_t;

static ledger_err_t visit_due(uint64_t due_ms, const char *id, void *arg, bool *stop)
{
    due_walk_t *w = arg;
    if (due_ms > w->now_ms || *w->count_out == w->max) {
        *w->next_due_ms_out = due_ms;
        *stop = true;
        return LEDGER_OK;
    }
    text_copy(w->ids[*w->count_out], sizeof *w->ids, id);
    w->due_out[(*w->count_out)++] = due_ms;
    return LEDGER_OK;
}

ledger_err_t accounts_holds_due(store_txn_t *txn, uint64_t now_ms, size_t max,
                                char (*ids)[PROTO_TRANSFER_ID_MAX + 1], uint64_t *due_out,
                                size_t *count_out, uint64_t *next_due_ms_out)
{
    assert(txn && ids && due_out && count_out && next_due_ms_out);
    *count_out = 0;
    *next_due_ms_out = 0;
    due_walk_t w = {now_ms, max, ids, due_out, count_out, next_due_ms_out};
    return timers_walk(txn, visit_due, &w);
}

typedef struct {
    store_txn_t *txn;
    const char *account;
    bool *any_out;
} incoming_walk_t;

static ledger_err_t visit_incoming(uint64_t due_ms, const char *id, void *arg, bool *stop)
{
    (void)due_ms;
    incoming_walk_t *w = arg;
    accounts_transfer_t tr;
    ledger_err_t err = accounts_record_transfer_get(w->txn, id, &tr);
    if (err == LEDGER_E_NOT_FOUND)
        return LEDGER_OK; /* a stale timer (its transfer pruned) */
    *w->any_out = !err && accounts_holds_open_state(tr.state) && strcmp(tr.to, w->account) == 0;
    *stop = *w->any_out;
    return err;
}

ledger_err_t accounts_holds_incoming(store_txn_t *txn, const accounts_reserved_t *reserved,
                                     const char *account, bool *any_out)
{
    assert(txn && account && any_out);
    *any_out = reserved && accounts_reserved_pays_into(reserved, account);
    if (*any_out)
        return LEDGER_OK;
    incoming_walk_t w = {txn, account, any_out};
    return timers_walk(txn, visit_incoming, &w);
}

typedef struct {
    store_txn_t *txn;
    accounts_reserved_t *reserved;
    size_t *loaded_out;
} load_walk_t;

static ledger_err_t visit_load(uint64_t due_ms, const char *id, void *arg, bool *stop)
{
    (void)stop;
    load_walk_t *w = arg;
    accounts_transfer_t tr;
    ledger_err_t err = accounts_record_transfer_get(w->txn, id, &tr);
    /* a stale key (its transfer gone, moved on, or another deadline) is the timers run's */
    if (err == LEDGER_E_NOT_FOUND ||
        (!err && (tr.state != ACCOUNTS_TRANSFER_RESERVED || due_ms != tr.risk_deadline_ms)))
        return LEDGER_OK;
    if (err)
        return err;
    /* unless its hold has an "hd/" entry from before (accounts_holds_follow) */
    uint8_t key[KEY_MAX];
    store_kv_t hd = {.key = key, .key_size = hold_key(key, tr.from, tr.id)};
    err = store_get(w->txn, STORE_DB_INDEX, hd.key, hd.key_size, &hd.val, &hd.val_size);
    if (err != LEDGER_E_NOT_FOUND)
        return err;
    accounts_reserved_entry_t e = entry_of(&tr, due_ms, true);
    err = accounts_reserved_add(w->reserved, &e);
    *w->loaded_out += err == LEDGER_OK;
    return err == LEDGER_E_EXISTS ? LEDGER_OK : err; /* EXISTS: a rerun of the start */
}

ledger_err_t accounts_holds_load_reserved(store_txn_t *txn, accounts_reserved_t *reserved,
                                          size_t *loaded_out)
{
    assert(txn && reserved && loaded_out);
    *loaded_out = 0;
    load_walk_t w = {txn, reserved, loaded_out};
    return timers_walk(txn, visit_load, &w);
}

/* accounts_reserved_fn: writes the timer of a volatile entry and marks it durable. */
static ledger_err_t persist_one(const accounts_reserved_entry_t *e, void *arg)
{
    void **args = arg;
    store_txn_t *txn = args[0];
    uint8_t key[KEY_MAX];
    ledger_err_t err =
        store_put(txn, STORE_DB_INDEX, key, timer_key(key, e->due_ms, e->hold.transfer), "", 0, 0);
    if (!err)
        err = accounts_reserved_make_durable(args[1], e->hold.transfer);
    if (!err)
        (*(size_t *)args[2])++;
    return err;
}

ledger_err_t accounts_holds_persist_reserved(store_txn_t *txn, accounts_reserved_t *reserved,
                                             bool all, size_t *written_out)
{
    assert(txn && reserved);
    size_t written = 0;
    void *args[] = {txn, reserved, &written};
    ledger_err_t err = accounts_reserved_each(reserved, !all, persist_one, args);
    if (written_out)
        *written_out = written;
    return err;
}

ledger_err_t accounts_holds_recover_timer(store_txn_t *txn, const char *transfer)
{
    assert(txn && transfer);
    accounts_transfer_t tr;
    ledger_err_t err = accounts_record_transfer_get(txn, transfer, &tr);
    if (err == LEDGER_E_NOT_FOUND)
        return LEDGER_OK; /* pruned long after it closed */
    if (err || tr.state != ACCOUNTS_TRANSFER_RESERVED || tr.risk_deadline_ms == 0)
        return err;
    uint8_t key[KEY_MAX];
    return store_put(txn, STORE_DB_INDEX, key, timer_key(key, tr.risk_deadline_ms, tr.id), "", 0,
                     0);
}

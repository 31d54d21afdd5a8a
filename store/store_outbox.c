/*  store_outbox.c: the outbox and the dead letters (store.h, "outbox" and
    "dead letters").

    Both are keyed by a be64 seq (a dead letter keeps the outbox seq it had)
    and hold fixed-layout binary records written and read with core/record.h:
    a record that does not parse is LEDGER_E_CORRUPT, never a crash.
*/
#include "store.h"
#include "store_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"

#define STORE_RECORD_VERSION 1 /* first byte of every outbox / dead letter record */

/*  Outbox record, version 1:
      u8 version | u8 peer_len | peer | be32 attempts | be64 created_ms |
      be64 next_attempt_ms | be32 msg_len | msg                          */
#define OUTBOX_FIXED_BYTES (1 + 1 + 4 + 8 + 8 + 4)

/*  Dead letter record, version 1:
      u8 version | u8 peer_len | peer | be32 attempts | be64 created_ms |
      be64 dead_ms | u8 code_len | code | be16 reason_len | reason |
      be32 msg_len | msg                                                 */
#define DEAD_FIXED_BYTES (1 + 1 + 4 + 8 + 8 + 1 + 2 + 4)

_Static_assert(STORE_PEER_MAX <= UINT8_MAX, "peer length fits a u8");
_Static_assert(STORE_CODE_MAX <= UINT8_MAX, "code length fits a u8");
_Static_assert(STORE_REASON_MAX <= UINT16_MAX, "reason length fits a be16");
_Static_assert(STORE_MSG_MAX <= UINT32_MAX, "message length fits a be32");

/* --- records -------------------------------------------------------------- */

static size_t outbox_record_bytes(size_t peer_len, size_t msg_size)
{
    return OUTBOX_FIXED_BYTES + peer_len + msg_size;
}

static size_t dead_record_bytes(size_t peer_len, size_t code_len, size_t reason_len,
                                size_t msg_size)
{
    return DEAD_FIXED_BYTES + peer_len + code_len + reason_len + msg_size;
}

/* Writes an outbox record of exactly `size` bytes (outbox_record_bytes) into buf. */
static void outbox_encode(uint8_t *buf, size_t size, const char *peer, uint32_t attempts,
                          uint64_t created_ms, uint64_t next_attempt_ms, const void *msg,
                          size_t msg_size)
{
    record_writer_t w = {buf, size, 0, true};
    record_put_u8(&w, STORE_RECORD_VERSION);
    record_put_str8(&w, peer);
    record_put_u32(&w, attempts);
    record_put_u64(&w, created_ms);
    record_put_u64(&w, next_attempt_ms);
    record_put_u32(&w, (uint32_t)msg_size);
    record_put_bytes(&w, msg, msg_size);
    assert(w.ok && w.len == size);
}

/*  The start outbox and dead letter records of table `db` share: the be64
    key (*id) and, read by *r (set up on the value), version, peer, attempts,
    created_ms. The reader's ok flag says whether the rest parsed. */
static ledger_err_t get_entry_head(store_txn_t *txn, store_db_t db, const MDB_val *key,
                                   const MDB_val *val, record_reader_t *r, uint64_t *id,
                                   char peer[STORE_PEER_MAX + 1], uint32_t *attempts,
                                   uint64_t *created_ms)
{
    if (key->mv_size != STORE_BE64_BYTES)
        return store_corrupt(txn, db, 0, "key is not 8 bytes");
    *id = store_be64_get(key->mv_data);
    *r = (record_reader_t){val->mv_data, val->mv_size, 0, true};
    if (record_get_u8(r) != STORE_RECORD_VERSION)
        return store_corrupt(txn, db, *id, "unknown record version");
    record_get_str8(r, peer, STORE_PEER_MAX);
    if (!peer[0])
        r->ok = false; /* a peer name is never empty */
    *attempts = record_get_u32(r);
    *created_ms = record_get_u64(r);
    return LEDGER_OK;
}

/* The end they share: be32 length + the message, at most STORE_MSG_MAX bytes. */
static const uint8_t *get_msg(record_reader_t *r, size_t *size_out)
{
    size_t size = record_get_u32(r);
    if (size > STORE_MSG_MAX)
        r->ok = false;
    *size_out = size;
    return record_take(r, size);
}

/* A store_decode_fn: *out is a store_outbox_entry_t. */
static ledger_err_t outbox_decode(store_txn_t *txn, const MDB_val *key, const MDB_val *val,
                                  void *out)
{
    store_outbox_entry_t entry = {0};
    record_reader_t r;
    ledger_err_t err = get_entry_head(txn, STORE_DB_OUTBOX, key, val, &r, &entry.seq, entry.peer,
                                      &entry.attempts, &entry.created_ms);
    if (err != LEDGER_OK)
        return err;
    entry.next_attempt_ms = record_get_u64(&r);
    entry.msg = get_msg(&r, &entry.msg_size);
    if (!record_done(&r))
        return store_corrupt(txn, STORE_DB_OUTBOX, entry.seq, "record does not parse");
    *(store_outbox_entry_t *)out = entry;
    return LEDGER_OK;
}

/* A store_decode_fn: *out is a store_dead_letter_t. */
static ledger_err_t dead_decode(store_txn_t *txn, const MDB_val *key, const MDB_val *val, void *out)
{
    store_dead_letter_t dead = {0};
    record_reader_t r;
    ledger_err_t err = get_entry_head(txn, STORE_DB_DEAD_LETTERS, key, val, &r, &dead.id, dead.peer,
                                      &dead.attempts, &dead.created_ms);
    if (err != LEDGER_OK)
        return err;
    dead.dead_ms = record_get_u64(&r);
    record_get_str8(&r, dead.code, STORE_CODE_MAX);
    if (!dead.code[0])
        r.ok = false; /* a code is never empty */
    record_get_str16(&r, dead.reason, STORE_REASON_MAX);
    dead.msg = get_msg(&r, &dead.msg_size);
    if (!record_done(&r))
        return store_corrupt(txn, STORE_DB_DEAD_LETTERS, dead.id, "record does not parse");
    *(store_dead_letter_t *)out = dead;
    return LEDGER_OK;
}

/* --- outbox --------------------------------------------------------------- */

static ledger_err_t outbox_check_msg(const void *msg, size_t msg_size)
{
    if (!msg || msg_size == 0)
        return LEDGER_E_INVALID;
    if (msg_size > STORE_MSG_MAX)
        return LEDGER_E_TOO_LARGE;
    return LEDGER_OK;
}

/* Writes a new outbox entry (attempts 0, due at now_ms) under the next outbox seq. */
static ledger_err_t outbox_insert(store_txn_t *txn, const char *peer, uint64_t now_ms,
                                  const void *msg, size_t msg_size, uint64_t *seq_out)
{
    uint64_t seq;
    ledger_err_t err = store_seq_counter_next(txn, STORE_META_OUTBOX_SEQ_KEY,
                                              sizeof STORE_META_OUTBOX_SEQ_KEY - 1, &seq);
    if (err != LEDGER_OK)
        return err;
    uint8_t key[STORE_BE64_BYTES];
    store_be64_put(key, seq);
    MDB_val k = store_mval(key, sizeof key);
    MDB_val v = {.mv_size = outbox_record_bytes(strlen(peer), msg_size), .mv_data = NULL};
    /* MDB_RESERVE: encode straight into the map. `msg` is caller memory, not the map. */
    int rc = mdb_put(txn->txn, txn->store->dbi[STORE_DB_OUTBOX], &k, &v, MDB_APPEND | MDB_RESERVE);
    if (rc == MDB_KEYEXIST)
        return store_corrupt(txn, STORE_DB_OUTBOX, seq, "outbox seq counter is behind the outbox");
    err = store_txn_rc(txn, rc, "mdb_put (outbox)");
    if (err != LEDGER_OK)
        return err;
    outbox_encode(v.mv_data, v.mv_size, peer, 0, now_ms, now_ms, msg, msg_size);
    if (seq_out)
        *seq_out = seq;
    return LEDGER_OK;
}

ledger_err_t store_outbox_put(store_txn_t *txn, const char *peer, const void *msg, size_t msg_size,
                              uint64_t now_ms, uint64_t *seq_out)
{
    assert(txn);
    size_t peer_len;
    if (!txn->write || !store_text_ok(peer, STORE_PEER_MAX, false, &peer_len))
        return LEDGER_E_INVALID;
    ledger_err_t err = outbox_check_msg(msg, msg_size);
    if (err != LEDGER_OK)
        return err;
    return outbox_insert(txn, peer, now_ms, msg, msg_size, seq_out);
}

ledger_err_t store_outbox_get(store_txn_t *txn, uint64_t seq, store_outbox_entry_t *entry_out)
{
    return store_seq_record_read(txn, STORE_DB_OUTBOX, seq, false, "mdb_get (outbox)",
                                 outbox_decode, entry_out);
}

ledger_err_t store_outbox_next(store_txn_t *txn, uint64_t after_seq,
                               store_outbox_entry_t *entry_out)
{
    return store_seq_record_read(txn, STORE_DB_OUTBOX, after_seq, true, "mdb_cursor_get (outbox)",
                                 outbox_decode, entry_out);
}

ledger_err_t store_outbox_take_due(store_txn_t *txn, uint64_t now_ms, uint64_t after_seq,
                                   store_outbox_entry_t *entries_out, size_t max, size_t *count_out)
{
    assert(txn);
    if (!count_out || (!entries_out && max > 0))
        return LEDGER_E_INVALID;
    size_t count = 0;
    if (max == 0) {
        *count_out = 0;
        return LEDGER_OK;
    }
    MDB_cursor *cursor;
    ledger_err_t err = store_db_cursor_open(txn, STORE_DB_OUTBOX, &cursor);
    if (err != LEDGER_OK)
        return err;
    uint8_t key[STORE_BE64_BYTES];
    MDB_val k, v;
    int rc = store_cursor_after(cursor, after_seq, &k, &v, key);
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
        return store_txn_rc(txn, rc, "mdb_cursor_get (outbox)");
    *count_out = count;
    return LEDGER_OK;
}

ledger_err_t store_outbox_reschedule(store_txn_t *txn, uint64_t seq, uint64_t next_attempt_ms)
{
    assert(txn);
    if (!txn->write)
        return LEDGER_E_INVALID;
    store_outbox_entry_t entry;
    ledger_err_t err = store_outbox_get(txn, seq, &entry);
    if (err != LEDGER_OK)
        return err;
    size_t size = outbox_record_bytes(strlen(entry.peer), entry.msg_size);
    /* entry.msg points into the map and a put may move it: copy before writing. */
    uint8_t *buf = malloc(size);
    if (!buf)
        return LEDGER_E_NOMEM;
    uint32_t attempts = entry.attempts == UINT32_MAX ? UINT32_MAX : entry.attempts + 1;
    outbox_encode(buf, size, entry.peer, attempts, entry.created_ms, next_attempt_ms, entry.msg,
                  entry.msg_size);
    uint8_t key[STORE_BE64_BYTES];
    store_be64_put(key, seq);
    MDB_val k = store_mval(key, sizeof key), v = store_mval(buf, size);
    err = store_txn_rc(txn, mdb_put(txn->txn, txn->store->dbi[STORE_DB_OUTBOX], &k, &v, 0),
                       "mdb_put (outbox)");
    free(buf);
    return err;
}

ledger_err_t store_outbox_ack(store_txn_t *txn, uint64_t seq)
{
    assert(txn);
    if (!txn->write)
        return LEDGER_E_INVALID;
    uint8_t key[STORE_BE64_BYTES];
    store_be64_put(key, seq);
    MDB_val k = store_mval(key, sizeof key);
    return store_txn_rc(txn, mdb_del(txn->txn, txn->store->dbi[STORE_DB_OUTBOX], &k, NULL),
                        "mdb_del (outbox)");
}

/*  The dead letter record of `entry` with the nack's code and reason, in a
    buffer the caller frees (NULL if out of memory); its size in *size_out. */
static uint8_t *dead_record_new(const store_outbox_entry_t *entry, const char *code,
                                const char *reason, uint64_t now_ms, size_t *size_out)
{
    size_t size =
        dead_record_bytes(strlen(entry->peer), strlen(code), strlen(reason), entry->msg_size);
    uint8_t *buf = malloc(size);
    if (!buf)
        return NULL;
    record_writer_t w = {buf, size, 0, true};
    record_put_u8(&w, STORE_RECORD_VERSION);
    record_put_str8(&w, entry->peer);
    record_put_u32(&w, entry->attempts);
    record_put_u64(&w, entry->created_ms);
    record_put_u64(&w, now_ms);
    record_put_str8(&w, code);
    record_put_str16(&w, reason);
    record_put_u32(&w, (uint32_t)entry->msg_size);
    record_put_bytes(&w, entry->msg, entry->msg_size);
    assert(w.ok && w.len == size);
    *size_out = size;
    return buf;
}

ledger_err_t store_outbox_to_dead(store_txn_t *txn, uint64_t seq, const char *code,
                                  const char *reason, uint64_t now_ms)
{
    assert(txn);
    size_t code_len, reason_len;
    if (!txn->write || !store_text_ok(code, STORE_CODE_MAX, false, &code_len) ||
        !store_text_ok(reason, STORE_REASON_MAX, true, &reason_len))
        return LEDGER_E_INVALID;
    store_outbox_entry_t entry;
    ledger_err_t err = store_outbox_get(txn, seq, &entry);
    if (err != LEDGER_OK)
        return err;
    /* Built before any write: entry.msg points into the map. */
    size_t size;
    uint8_t *buf = dead_record_new(&entry, code, reason, now_ms, &size);
    if (!buf)
        return LEDGER_E_NOMEM;
    uint8_t key[STORE_BE64_BYTES];
    store_be64_put(key, seq);
    MDB_val k = store_mval(key, sizeof key), v = store_mval(buf, size);
    err = store_txn_rc(
        txn, mdb_put(txn->txn, txn->store->dbi[STORE_DB_DEAD_LETTERS], &k, &v, MDB_NOOVERWRITE),
        "mdb_put (dead_letters)");
    free(buf);
    if (err == LEDGER_E_EXISTS)
        return store_corrupt(txn, STORE_DB_DEAD_LETTERS, seq, "a dead letter with this id exists");
    if (err != LEDGER_OK)
        return err;
    return store_txn_rc(txn, mdb_del(txn->txn, txn->store->dbi[STORE_DB_OUTBOX], &k, NULL),
                        "mdb_del (outbox)");
}

ledger_err_t store_outbox_stats(store_txn_t *txn, uint64_t now_ms, uint64_t *depth_out,
                                uint64_t *oldest_age_ms_out)
{
    assert(txn);
    if (!depth_out || !oldest_age_ms_out)
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

ledger_err_t store_dead_get(store_txn_t *txn, uint64_t id, store_dead_letter_t *dead_out)
{
    return store_seq_record_read(txn, STORE_DB_DEAD_LETTERS, id, false, "mdb_get (dead_letters)",
                                 dead_decode, dead_out);
}

ledger_err_t store_dead_next(store_txn_t *txn, uint64_t after_id, store_dead_letter_t *dead_out)
{
    return store_seq_record_read(txn, STORE_DB_DEAD_LETTERS, after_id, true,
                                 "mdb_cursor_get (dead_letters)", dead_decode, dead_out);
}

ledger_err_t store_dead_replay(store_txn_t *txn, uint64_t id, uint64_t now_ms,
                               uint64_t *outbox_seq_out)
{
    assert(txn);
    if (!txn->write)
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
    uint8_t key[STORE_BE64_BYTES];
    store_be64_put(key, id);
    MDB_val k = store_mval(key, sizeof key);
    err = store_txn_rc(txn, mdb_del(txn->txn, txn->store->dbi[STORE_DB_DEAD_LETTERS], &k, NULL),
                       "mdb_del (dead_letters)");
    if (err == LEDGER_OK)
        err = outbox_insert(txn, dead.peer, now_ms, msg, msg_size, outbox_seq_out);
    free(msg);
    return err;
}

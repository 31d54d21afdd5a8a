/*  gateway_events.c: the event log (see gateway_events.h for its format).

    Keys are "evt/" + be64 seq in STORE_DB_INDEX, beside the idempotency age
    index ("idem/..."): the two prefixes never overlap, and within "evt/" the
    keys grow at the right edge, the cheap case for LMDB.

    Why the value holds only the event's small fields: an apply used to
    build the transfer's API JSON and store a 1-2.5 KB copy per event (four
    per transfer), about a quarter of the gateway's CPU. Streams are few and
    read each event once, so the JSON is now built on read instead, by the
    stream (gateway_stream.c), which formats what it reads anyway.
*/
#include "gateway_events.h"

#include <assert.h>
#include <string.h>
#include "record.h"

#define EVENT_PREFIX "evt/"
#define EVENT_PREFIX_LEN 4
#define EVENT_KEY_LEN (EVENT_PREFIX_LEN + 8)

static void event_key(uint8_t out[EVENT_KEY_LEN], uint64_t seq)
{
    memcpy(out, EVENT_PREFIX, EVENT_PREFIX_LEN);
    store_be64_put(out + EVENT_PREFIX_LEN, seq);
}

static bool is_event_key(const store_kv_t *kv)
{
    return kv->key_size == EVENT_KEY_LEN && memcmp(kv->key, EVENT_PREFIX, EVENT_PREFIX_LEN) == 0;
}

/* Upper bound of an encoded event record: version, ts_ms, four str8 fields. */
#define EVENT_RECORD_MAX (1 + 8 + 4 * (1 + GATEWAY_EVENT_FIELD_MAX))

static bool field_ok(const char *s, bool may_be_empty)
{
    return s && (may_be_empty || s[0]) && strlen(s) <= GATEWAY_EVENT_FIELD_MAX;
}

static bool event_decode(const void *val, size_t size, gateway_event_t *ev)
{
    record_reader_t r = {val, size, 0, true};
    if (record_get_u8(&r) != GATEWAY_EVENT_VERSION)
        return false;
    ev->ts_ms = record_get_u64(&r);
    record_get_str8(&r, ev->type, GATEWAY_EVENT_FIELD_MAX);
    record_get_str8(&r, ev->node, GATEWAY_EVENT_FIELD_MAX);
    record_get_str8(&r, ev->message_id, GATEWAY_EVENT_FIELD_MAX);
    record_get_str8(&r, ev->transfer_id, GATEWAY_EVENT_FIELD_MAX);
    return record_done(&r);
}

ledger_err_t gateway_events_append(store_txn_t *txn, const char *type, const char *node,
                                   const char *message_id, uint64_t now_ms, const char *transfer_id,
                                   uint64_t *seq_out)
{
    assert(txn);
    if (!field_ok(type, false) || !field_ok(node, false) || !field_ok(message_id, true) ||
        !field_ok(transfer_id, false))
        return LEDGER_E_INVALID;
    uint8_t buf[EVENT_RECORD_MAX];
    record_writer_t w = {buf, sizeof buf, 0, true};
    record_put_u8(&w, GATEWAY_EVENT_VERSION);
    record_put_u64(&w, now_ms);
    record_put_str8(&w, type);
    record_put_str8(&w, node);
    record_put_str8(&w, message_id);
    record_put_str8(&w, transfer_id);
    assert(w.ok); /* the fields were bounded above */
    uint64_t seq = 0;
    ledger_err_t err = store_seq_next(txn, GATEWAY_EVENT_SEQUENCE, &seq);
    if (err)
        return err;
    uint8_t key[EVENT_KEY_LEN];
    event_key(key, seq);
    err = store_put(txn, STORE_DB_INDEX, key, sizeof key, buf, w.len, STORE_PUT_NOOVERWRITE);
    if (err == LEDGER_E_EXISTS)
        err = LEDGER_E_CORRUPT; /* a seq handed out twice */
    if (!err && seq_out)
        *seq_out = seq;
    return err;
}

ledger_err_t gateway_events_last_seq(store_txn_t *txn, uint64_t *seq_out)
{
    assert(txn && seq_out);
    return store_seq_peek(txn, GATEWAY_EVENT_SEQUENCE, seq_out);
}

/* The first event with seq > after_seq: LEDGER_OK with *kv filled, or LEDGER_E_NOT_FOUND. */
static ledger_err_t seek_after(store_cursor_t *cursor, uint64_t after_seq, store_kv_t *kv)
{
    if (after_seq == UINT64_MAX)
        return LEDGER_E_NOT_FOUND;
    uint8_t key[EVENT_KEY_LEN];
    event_key(key, after_seq + 1);
    kv->key = key;
    kv->key_size = sizeof key;
    ledger_err_t err = store_cursor_get(cursor, STORE_SEEK, kv);
    if (err == LEDGER_OK && !is_event_key(kv))
        err = LEDGER_E_NOT_FOUND;
    return err;
}

ledger_err_t gateway_events_first_seq(store_txn_t *txn, uint64_t *seq_out)
{
    assert(txn && seq_out);
    store_cursor_t *cursor = NULL;
    ledger_err_t err = store_cursor_open(txn, STORE_DB_INDEX, &cursor);
    if (err)
        return err;
    store_kv_t kv = {0};
    err = seek_after(cursor, 0, &kv);
    uint64_t seq = 0;
    if (err == LEDGER_OK)
        seq = store_be64_get((const uint8_t *)kv.key + EVENT_PREFIX_LEN);
    store_cursor_close(&cursor);
    if (err && err != LEDGER_E_NOT_FOUND)
        return err;
    *seq_out = seq;
    return LEDGER_OK;
}

ledger_err_t gateway_events_read(store_txn_t *txn, uint64_t after_seq, size_t max,
                                 gateway_events_fn fn, void *arg, size_t *count_out)
{
    assert(txn && fn);
    if (count_out)
        *count_out = 0;
    store_cursor_t *cursor = NULL;
    ledger_err_t err = store_cursor_open(txn, STORE_DB_INDEX, &cursor);
    if (err)
        return err;
    size_t count = 0;
    store_kv_t kv = {0};
    gateway_event_t ev;
    err = max > 0 ? seek_after(cursor, after_seq, &kv) : LEDGER_E_NOT_FOUND;
    while (err == LEDGER_OK) {
        if (!is_event_key(&kv))
            break;
        if (event_decode(kv.val, kv.val_size, &ev)) {
            ev.seq = store_be64_get((const uint8_t *)kv.key + EVENT_PREFIX_LEN);
            count++;
            if (!fn(&ev, arg) || count >= max)
                break;
        }
        err = store_cursor_get(cursor, STORE_NEXT, &kv);
    }
    store_cursor_close(&cursor);
    if (err && err != LEDGER_E_NOT_FOUND)
        return err;
    if (count_out)
        *count_out = count;
    return LEDGER_OK;
}

/* Time an event was recorded; false if the value does not decode. */
static bool event_ts_ms(const store_kv_t *kv, uint64_t *ts_out)
{
    gateway_event_t ev;
    if (!event_decode(kv->val, kv->val_size, &ev))
        return false;
    *ts_out = ev.ts_ms;
    return true;
}

ledger_err_t gateway_events_prune(store_txn_t *txn, uint64_t now_ms, uint64_t keep_count,
                                  uint64_t keep_ms, size_t max, size_t *pruned_out)
{
    assert(txn);
    if (pruned_out)
        *pruned_out = 0;
    uint64_t last = 0;
    ledger_err_t err = gateway_events_last_seq(txn, &last);
    if (err)
        return err;
    size_t pruned = 0;
    uint64_t after = 0;
    while (pruned < max) {
        /* Read the oldest with the cursor closed before deleting, so no cursor moves
           across a delete. */
        store_cursor_t *cursor = NULL;
        err = store_cursor_open(txn, STORE_DB_INDEX, &cursor);
        if (err)
            return err;
        store_kv_t kv = {0};
        err = seek_after(cursor, after, &kv);
        bool expired = false;
        uint64_t seq = 0;
        if (err == LEDGER_OK) {
            seq = store_be64_get((const uint8_t *)kv.key + EVENT_PREFIX_LEN);
            uint64_t stored = last >= seq ? last - seq + 1 : 0;
            uint64_t ts_ms = 0;
            expired = stored > keep_count || !event_ts_ms(&kv, &ts_ms) ||
                      (now_ms >= ts_ms && now_ms - ts_ms >= keep_ms);
        }
        store_cursor_close(&cursor);
        if (err == LEDGER_E_NOT_FOUND)
            break;
        if (err)
            return err;
        if (!expired)
            break;
        uint8_t key[EVENT_KEY_LEN];
        event_key(key, seq);
        err = store_del(txn, STORE_DB_INDEX, key, sizeof key);
        if (err)
            return err;
        pruned++;
        after = seq;
    }
    if (pruned_out)
        *pruned_out = pruned;
    return LEDGER_OK;
}

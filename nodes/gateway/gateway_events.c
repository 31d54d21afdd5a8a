/*  gateway_events.c: the event log (see gateway_events.h for its format).

    Keys are "evt/" + be64 seq in STORE_DB_INDEX, beside the idempotency age
    index ("idem/..."): the two prefixes never overlap, and within "evt/" the
    keys grow at the right edge, the cheap case for LMDB.

    Why the value holds only the event's small fields: an apply used to
    build the transfer's API JSON and store a 1-2.5 KB copy per event (four
    per transfer), about a quarter of the gateway's CPU. Streams are few and
    read each event once, so the JSON is now built on read instead, by the
    stream (gateway_stream.c), which formats what it reads anyway. The two
    viewers (format 5) are what lets a customer's stream skip another's
    events without reading the view.
*/
#include "gateway_events.h"

#include <assert.h>
#include <stdlib.h>
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

/* Upper bound of an encoded event record: version, ts_ms, four str8 fields, the viewers. */
#define EVENT_RECORD_MAX                                                                           \
    (1 + 8 + 4 * (1 + GATEWAY_EVENT_FIELD_MAX) +                                                   \
     GATEWAY_EVENT_VIEWERS * (1 + GATEWAY_EVENT_VIEWER_MAX))
#define EVENT_VERSION_NO_VIEWERS 2u /* format 4: read, rewritten by gateway_events_upgrade */
#define EVENT_UPGRADE_BATCH 512u    /* records collected per cursor walk of the upgrade */

static bool field_ok(const char *s, bool may_be_empty)
{
    return s && (may_be_empty || s[0]) && strlen(s) <= GATEWAY_EVENT_FIELD_MAX;
}

static bool event_decode(const void *val, size_t size, gateway_event_t *ev)
{
    record_reader_t r = {val, size, 0, true};
    uint8_t version = record_get_u8(&r);
    if (version != GATEWAY_EVENT_VERSION && version != EVENT_VERSION_NO_VIEWERS)
        return false;
    ev->ts_ms = record_get_u64(&r);
    record_get_str8(&r, ev->type, GATEWAY_EVENT_FIELD_MAX);
    record_get_str8(&r, ev->node, GATEWAY_EVENT_FIELD_MAX);
    record_get_str8(&r, ev->message_id, GATEWAY_EVENT_FIELD_MAX);
    record_get_str8(&r, ev->transfer_id, GATEWAY_EVENT_FIELD_MAX);
    for (size_t i = 0; i < GATEWAY_EVENT_VIEWERS; i++) {
        ev->viewers[i][0] = '\0';
        if (version == GATEWAY_EVENT_VERSION)
            record_get_str8(&r, ev->viewers[i], GATEWAY_EVENT_VIEWER_MAX);
    }
    return record_done(&r);
}

/* The stored form of `ev` (fields checked by the caller) into buf; its length. */
static size_t event_encode(const gateway_event_t *ev, uint8_t buf[EVENT_RECORD_MAX])
{
    record_writer_t w = {buf, EVENT_RECORD_MAX, 0, true};
    record_put_u8(&w, GATEWAY_EVENT_VERSION);
    record_put_u64(&w, ev->ts_ms);
    record_put_str8(&w, ev->type);
    record_put_str8(&w, ev->node);
    record_put_str8(&w, ev->message_id);
    record_put_str8(&w, ev->transfer_id);
    for (size_t i = 0; i < GATEWAY_EVENT_VIEWERS; i++)
        record_put_str8(&w, ev->viewers[i]);
    assert(w.ok); /* the fields were bounded by the caller */
    return w.len;
}

static bool event_ok(const gateway_event_t *ev)
{
    bool ok = field_ok(ev->type, false) && field_ok(ev->node, false) &&
              field_ok(ev->message_id, true) && field_ok(ev->transfer_id, false);
    for (size_t i = 0; ok && i < GATEWAY_EVENT_VIEWERS; i++)
        ok = strnlen(ev->viewers[i], GATEWAY_EVENT_VIEWER_MAX + 1) <= GATEWAY_EVENT_VIEWER_MAX;
    return ok;
}

ledger_err_t gateway_events_append(store_txn_t *txn, const gateway_event_t *event,
                                   uint64_t *seq_out)
{
    assert(txn && event);
    if (!event_ok(event))
        return LEDGER_E_INVALID;
    uint8_t buf[EVENT_RECORD_MAX];
    size_t len = event_encode(event, buf);
    uint64_t seq = 0;
    ledger_err_t err = store_seq_next(txn, GATEWAY_EVENT_SEQUENCE, &seq);
    if (err)
        return err;
    uint8_t key[EVENT_KEY_LEN];
    event_key(key, seq);
    err = store_put(txn, STORE_DB_INDEX, key, sizeof key, buf, len, STORE_PUT_NOOVERWRITE);
    if (err == LEDGER_E_EXISTS)
        err = LEDGER_E_CORRUPT; /* a seq handed out twice */
    if (!err && seq_out)
        *seq_out = seq;
    return err;
}

bool gateway_events_visible_to(const gateway_event_t *event, const char *principal)
{
    assert(event && principal);
    if (!principal[0])
        return false;
    for (size_t i = 0; i < GATEWAY_EVENT_VIEWERS; i++) {
        if (strcmp(event->viewers[i], principal) == 0)
            return true;
    }
    return false;
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

/* --- migration 4 -> 5: name the viewers of version 2 records -------------------------- */

/*  Collects up to EVENT_UPGRADE_BATCH version 2 events with seq > after_seq into out[];
 *count_out of them, *last_out the last seq walked. The cursor is closed on return. */
static ledger_err_t collect_old(store_txn_t *txn, uint64_t after_seq, gateway_event_t *out,
                                size_t *count_out, uint64_t *last_out)
{
    store_cursor_t *cursor = NULL;
    ledger_err_t err = store_cursor_open(txn, STORE_DB_INDEX, &cursor);
    if (err)
        return err;
    size_t n = 0;
    store_kv_t kv = {0};
    err = seek_after(cursor, after_seq, &kv);
    while (err == LEDGER_OK && n < EVENT_UPGRADE_BATCH && is_event_key(&kv)) {
        *last_out = store_be64_get((const uint8_t *)kv.key + EVENT_PREFIX_LEN);
        const uint8_t *val = kv.val;
        if (kv.val_size > 0 && val[0] == EVENT_VERSION_NO_VIEWERS &&
            event_decode(kv.val, kv.val_size, &out[n])) {
            out[n].seq = *last_out;
            n++;
        }
        err = store_cursor_get(cursor, STORE_NEXT, &kv);
    }
    store_cursor_close(&cursor);
    *count_out = n;
    return err == LEDGER_E_NOT_FOUND ? LEDGER_OK : err;
}

/* Names the viewers of `ev` with fn and stores it again, as the current version. */
static ledger_err_t rewrite_old(store_txn_t *txn, gateway_event_t *ev, gateway_events_viewers_fn fn,
                                void *arg)
{
    ledger_err_t err = fn(txn, ev->transfer_id, arg, ev->viewers);
    if (err)
        return err;
    if (!event_ok(ev))
        return LEDGER_E_INVALID;
    uint8_t buf[EVENT_RECORD_MAX];
    size_t len = event_encode(ev, buf);
    uint8_t key[EVENT_KEY_LEN];
    event_key(key, ev->seq);
    return store_put(txn, STORE_DB_INDEX, key, sizeof key, buf, len, 0);
}

ledger_err_t gateway_events_upgrade(store_txn_t *txn, gateway_events_viewers_fn fn, void *arg,
                                    size_t *count_out)
{
    assert(txn && fn && count_out);
    *count_out = 0;
    gateway_event_t *batch = malloc(EVENT_UPGRADE_BATCH * sizeof *batch);
    if (!batch)
        return LEDGER_E_NOMEM;
    uint64_t after = 0;
    ledger_err_t err = LEDGER_OK;
    for (;;) {
        uint64_t last = after;
        size_t n = 0;
        err = collect_old(txn, after, batch, &n, &last);
        for (size_t i = 0; !err && i < n; i++)
            err = rewrite_old(txn, &batch[i], fn, arg);
        if (err || last == after)
            break; /* an error, or the walk reached the end of the log */
        *count_out += n;
        after = last;
    }
    free(batch);
    return err;
}

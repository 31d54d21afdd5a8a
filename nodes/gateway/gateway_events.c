/*  gateway_events.c: the event log (see gateway_events.h for its format).

    Keys are "evt/" + be64 seq in STORE_DB_INDEX, beside the idempotency age
    index ("idem/..."): the two prefixes never overlap, and within "evt/" the
    keys grow at the right edge, the cheap case for LMDB.
*/
#include "gateway_events.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

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

ledger_err_t gateway_event_append(store_txn_t *txn, const char *type, const char *node,
                                  const char *message_id, uint64_t now_ms, json_t *transfer,
                                  uint64_t *seq_out)
{
    assert(txn);
    if (!type || !type[0] || !node || !node[0] || !message_id || !json_is_object(transfer))
        return LEDGER_E_INVALID;
    uint64_t seq = 0;
    ledger_err_t err = store_seq_next(txn, GATEWAY_EVENT_SEQUENCE, &seq);
    if (err)
        return err;
    char at[GATEWAY_TIME_TEXT_SIZE];
    json_t *event =
        json_pack("{s:I, s:s, s:s, s:s, s:s, s:I, s:O}", "seq", (json_int_t)seq, "type", type,
                  "node", node, "message_id", message_id, "at", gateway_format_time(now_ms, at),
                  "ts_ms", (json_int_t)now_ms, "transfer", transfer);
    if (!event)
        return LEDGER_E_NOMEM;
    char *text = json_dumps(event, JSON_COMPACT);
    json_decref(event);
    if (!text)
        return LEDGER_E_NOMEM;
    size_t len = strlen(text);
    err = LEDGER_E_TOO_LARGE;
    if (len <= GATEWAY_EVENT_MAX) {
        uint8_t key[EVENT_KEY_LEN];
        event_key(key, seq);
        err = store_put(txn, STORE_DB_INDEX, key, sizeof key, text, len, STORE_PUT_NOOVERWRITE);
        if (err == LEDGER_E_EXISTS)
            err = LEDGER_E_CORRUPT; /* a seq handed out twice */
    }
    free(text);
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
                                 gateway_event_fn fn, void *arg, size_t *count_out)
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
    err = max > 0 ? seek_after(cursor, after_seq, &kv) : LEDGER_E_NOT_FOUND;
    while (err == LEDGER_OK) {
        if (!is_event_key(&kv))
            break;
        uint64_t seq = store_be64_get((const uint8_t *)kv.key + EVENT_PREFIX_LEN);
        count++;
        if (!fn(seq, kv.val, kv.val_size, arg) || count >= max)
            break;
        err = store_cursor_get(cursor, STORE_NEXT, &kv);
    }
    store_cursor_close(&cursor);
    if (err && err != LEDGER_E_NOT_FOUND)
        return err;
    if (count_out)
        *count_out = count;
    return LEDGER_OK;
}

/* Time an event was recorded (its "ts_ms"); false if the value does not parse. */
static bool event_ts_ms(const store_kv_t *kv, uint64_t *ts_out)
{
    json_t *event = json_loadb(kv->val, kv->val_size, 0, NULL);
    const json_t *ts = json_object_get(event, "ts_ms");
    bool ok = json_is_integer(ts) && json_integer_value(ts) >= 0;
    if (ok)
        *ts_out = (uint64_t)json_integer_value(ts);
    json_decref(event);
    return ok;
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

/*  gateway_view_idem.c: idempotency records and their age index (contract
    and layout in gateway_view_idem.h). */
#include "gateway_view_idem.h"

#include <assert.h>
#include <string.h>

#define IDEM_RECORD_VERSION 1
/* Everything but the id: version, created_ms, hash, id length. */
#define IDEM_RECORD_MIN (1 + 8 + GATEWAY_HASH_SIZE + 1)
#define IDEM_INDEX_PREFIX "idem/"
#define IDEM_INDEX_PREFIX_LEN 5
/* An index key: the prefix, be64 created_ms, and at least one byte of key. */
#define IDEM_INDEX_KEY_MIN (IDEM_INDEX_PREFIX_LEN + 8 + 1)

static_assert(IDEM_INDEX_PREFIX_LEN == sizeof IDEM_INDEX_PREFIX - 1, "prefix length");
static_assert(GATEWAY_IDEM_INDEX_KEY_MAX == IDEM_INDEX_PREFIX_LEN + 8 + GATEWAY_IDEMPOTENCY_KEY_MAX,
              "index key bound");

bool gateway_view_idem_expired(uint64_t created_ms, uint64_t now_ms, uint64_t retention_ms)
{
    return now_ms >= created_ms && now_ms - created_ms >= retention_ms;
}

ledger_err_t gateway_view_idem_get(store_txn_t *txn, const char *key, gateway_view_idem_t *rec)
{
    assert(txn && key && rec);
    const void *val;
    size_t size;
    ledger_err_t err = store_get(txn, STORE_DB_IDEMPOTENCY, key, strlen(key), &val, &size);
    if (err)
        return err;
    const uint8_t *bytes = val;
    if (size < IDEM_RECORD_MIN || bytes[0] != IDEM_RECORD_VERSION)
        return LEDGER_E_CORRUPT;
    size_t id_len = bytes[1 + 8 + GATEWAY_HASH_SIZE];
    if (id_len > PROTO_TRANSFER_ID_MAX || size != IDEM_RECORD_MIN + id_len)
        return LEDGER_E_CORRUPT;
    rec->created_ms = store_be64_get(bytes + 1);
    memcpy(rec->hash, bytes + 1 + 8, GATEWAY_HASH_SIZE);
    memcpy(rec->id, bytes + IDEM_RECORD_MIN, id_len);
    rec->id[id_len] = '\0';
    return LEDGER_OK;
}

static size_t index_key(uint8_t out[GATEWAY_IDEM_INDEX_KEY_MAX], uint64_t created_ms,
                        const char *key)
{
    size_t key_len = strlen(key);
    assert(key_len <= GATEWAY_IDEMPOTENCY_KEY_MAX);
    memcpy(out, IDEM_INDEX_PREFIX, IDEM_INDEX_PREFIX_LEN);
    store_be64_put(out + IDEM_INDEX_PREFIX_LEN, created_ms);
    memcpy(out + IDEM_INDEX_PREFIX_LEN + 8, key, key_len);
    return IDEM_INDEX_PREFIX_LEN + 8 + key_len;
}

ledger_err_t gateway_view_idem_put(store_txn_t *txn, const char *key,
                                   const gateway_view_idem_t *rec)
{
    assert(txn && key && rec);
    uint8_t buf[IDEM_RECORD_MIN + PROTO_TRANSFER_ID_MAX];
    size_t id_len = strlen(rec->id);
    assert(id_len <= PROTO_TRANSFER_ID_MAX);
    buf[0] = IDEM_RECORD_VERSION;
    store_be64_put(buf + 1, rec->created_ms);
    memcpy(buf + 1 + 8, rec->hash, GATEWAY_HASH_SIZE);
    buf[1 + 8 + GATEWAY_HASH_SIZE] = (uint8_t)id_len;
    memcpy(buf + IDEM_RECORD_MIN, rec->id, id_len);
    ledger_err_t err =
        store_put(txn, STORE_DB_IDEMPOTENCY, key, strlen(key), buf, IDEM_RECORD_MIN + id_len, 0);
    if (err)
        return err;
    uint8_t ikey[GATEWAY_IDEM_INDEX_KEY_MAX];
    size_t ikey_len = index_key(ikey, rec->created_ms, key);
    return store_put(txn, STORE_DB_INDEX, ikey, ikey_len, "", 0, 0);
}

ledger_err_t gateway_view_idem_unindex(store_txn_t *txn, const char *key, uint64_t created_ms)
{
    assert(txn && key);
    uint8_t ikey[GATEWAY_IDEM_INDEX_KEY_MAX];
    size_t ikey_len = index_key(ikey, created_ms, key);
    ledger_err_t err = store_del(txn, STORE_DB_INDEX, ikey, ikey_len);
    return err == LEDGER_E_NOT_FOUND ? LEDGER_OK : err;
}

ledger_err_t gateway_view_idem_collect_expired(store_txn_t *txn, uint64_t now_ms,
                                               uint64_t retention_ms,
                                               gateway_view_idem_index_t *out, size_t want,
                                               size_t *count_out)
{
    assert(txn && out && count_out);
    *count_out = 0;
    store_cursor_t *cursor = NULL;
    ledger_err_t err = store_cursor_open(txn, STORE_DB_INDEX, &cursor);
    if (err)
        return err;
    size_t n = 0;
    store_kv_t kv = {.key = IDEM_INDEX_PREFIX, .key_size = IDEM_INDEX_PREFIX_LEN};
    err = store_cursor_get(cursor, STORE_SEEK, &kv);
    while (err == LEDGER_OK && n < want) {
        if (kv.key_size < IDEM_INDEX_KEY_MIN || kv.key_size > GATEWAY_IDEM_INDEX_KEY_MAX ||
            memcmp(kv.key, IDEM_INDEX_PREFIX, IDEM_INDEX_PREFIX_LEN) != 0)
            break;
        uint64_t created_ms = store_be64_get((const uint8_t *)kv.key + IDEM_INDEX_PREFIX_LEN);
        if (!gateway_view_idem_expired(created_ms, now_ms, retention_ms))
            break;
        memcpy(out[n].key, kv.key, kv.key_size);
        out[n].key_size = kv.key_size;
        n++;
        err = store_cursor_get(cursor, STORE_NEXT, &kv);
    }
    store_cursor_close(&cursor);
    if (err == LEDGER_E_NOT_FOUND)
        err = LEDGER_OK;
    *count_out = n;
    return err;
}

ledger_err_t gateway_view_idem_delete(store_txn_t *txn, const gateway_view_idem_index_t *entry)
{
    assert(txn && entry);
    assert(entry->key_size >= IDEM_INDEX_KEY_MIN && entry->key_size <= GATEWAY_IDEM_INDEX_KEY_MAX);
    const uint8_t *k = entry->key;
    size_t idem_len = entry->key_size - IDEM_INDEX_PREFIX_LEN - 8;
    char idem_key[GATEWAY_IDEMPOTENCY_KEY_MAX + 1];
    memcpy(idem_key, k + IDEM_INDEX_PREFIX_LEN + 8, idem_len);
    idem_key[idem_len] = '\0';
    /* Delete the key only if this index entry is its current one. */
    gateway_view_idem_t rec;
    ledger_err_t err = LEDGER_OK;
    ledger_err_t get_err = gateway_view_idem_get(txn, idem_key, &rec);
    if (get_err == LEDGER_OK && rec.created_ms == store_be64_get(k + IDEM_INDEX_PREFIX_LEN))
        err = store_del(txn, STORE_DB_IDEMPOTENCY, idem_key, idem_len);
    else if (get_err != LEDGER_E_NOT_FOUND && get_err != LEDGER_OK && get_err != LEDGER_E_CORRUPT)
        err = get_err;
    if (!err)
        err = store_del(txn, STORE_DB_INDEX, k, entry->key_size);
    return err;
}

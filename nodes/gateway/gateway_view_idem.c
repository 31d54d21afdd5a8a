/*  gateway_view_idem.c: idempotency records and their age index (contract
    and layout in gateway_view_idem.h). */
#include "gateway_view_idem.h"

#include <assert.h>
#include <string.h>

#define IDEM_RECORD_VERSION 1
/* Everything but the id: version, created_ms, hash, id length. */
#define IDEM_RECORD_MIN (1 + 8 + GATEWAY_HASH_SIZE + 1)
#define IDEM_INDEX_PREFIX GATEWAY_IDEM_INDEX_PREFIX
#define IDEM_INDEX_PREFIX_LEN 5
/* An index key: the prefix, be64 created_ms, a NUL after the principal and a byte of key. */
#define IDEM_INDEX_KEY_MIN (IDEM_INDEX_PREFIX_LEN + 8 + 2)

static_assert(IDEM_INDEX_PREFIX_LEN == sizeof IDEM_INDEX_PREFIX - 1, "prefix length");
static_assert(GATEWAY_IDEM_INDEX_KEY_MAX == IDEM_INDEX_PREFIX_LEN + 8 + GATEWAY_IDEM_SCOPED_KEY_MAX,
              "index key bound");
static_assert(GATEWAY_IDEM_INDEX_KEY_MAX <= 511, "LMDB's key limit");

size_t gateway_view_idem_scoped_key(uint8_t out[GATEWAY_IDEM_SCOPED_KEY_MAX], const char *principal,
                                    const char *key)
{
    assert(out && principal && key);
    size_t plen = strlen(principal), klen = strlen(key);
    assert(plen <= GATEWAY_IDEM_PRINCIPAL_MAX && klen >= 1 && klen <= GATEWAY_IDEMPOTENCY_KEY_MAX);
    memcpy(out, principal, plen);
    out[plen] = '\0';
    memcpy(out + plen + 1, key, klen);
    return plen + 1 + klen;
}

bool gateway_view_idem_expired(uint64_t created_ms, uint64_t now_ms, uint64_t retention_ms)
{
    return now_ms >= created_ms && now_ms - created_ms >= retention_ms;
}

/* The record under scoped key k[0..len). */
static ledger_err_t idem_get_scoped(store_txn_t *txn, const uint8_t *k, size_t len,
                                    gateway_view_idem_t *rec)
{
    const void *val;
    size_t size;
    ledger_err_t err = store_get(txn, STORE_DB_IDEMPOTENCY, k, len, &val, &size);
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

ledger_err_t gateway_view_idem_get(store_txn_t *txn, const char *principal, const char *key,
                                   gateway_view_idem_t *rec)
{
    assert(txn && principal && key && rec);
    uint8_t k[GATEWAY_IDEM_SCOPED_KEY_MAX];
    return idem_get_scoped(txn, k, gateway_view_idem_scoped_key(k, principal, key), rec);
}

static size_t index_key(uint8_t out[GATEWAY_IDEM_INDEX_KEY_MAX], uint64_t created_ms,
                        const uint8_t *scoped, size_t scoped_len)
{
    assert(scoped_len <= GATEWAY_IDEM_SCOPED_KEY_MAX);
    memcpy(out, IDEM_INDEX_PREFIX, IDEM_INDEX_PREFIX_LEN);
    store_be64_put(out + IDEM_INDEX_PREFIX_LEN, created_ms);
    memcpy(out + IDEM_INDEX_PREFIX_LEN + 8, scoped, scoped_len);
    return IDEM_INDEX_PREFIX_LEN + 8 + scoped_len;
}

ledger_err_t gateway_view_idem_put(store_txn_t *txn, const char *principal, const char *key,
                                   const gateway_view_idem_t *rec)
{
    assert(txn && principal && key && rec);
    uint8_t k[GATEWAY_IDEM_SCOPED_KEY_MAX];
    size_t klen = gateway_view_idem_scoped_key(k, principal, key);
    uint8_t buf[IDEM_RECORD_MIN + PROTO_TRANSFER_ID_MAX];
    size_t id_len = strlen(rec->id);
    assert(id_len <= PROTO_TRANSFER_ID_MAX);
    buf[0] = IDEM_RECORD_VERSION;
    store_be64_put(buf + 1, rec->created_ms);
    memcpy(buf + 1 + 8, rec->hash, GATEWAY_HASH_SIZE);
    buf[1 + 8 + GATEWAY_HASH_SIZE] = (uint8_t)id_len;
    memcpy(buf + IDEM_RECORD_MIN, rec->id, id_len);
    ledger_err_t err =
        store_put(txn, STORE_DB_IDEMPOTENCY, k, klen, buf, IDEM_RECORD_MIN + id_len, 0);
    if (err)
        return err;
    uint8_t ikey[GATEWAY_IDEM_INDEX_KEY_MAX];
    size_t ikey_len = index_key(ikey, rec->created_ms, k, klen);
    return store_put(txn, STORE_DB_INDEX, ikey, ikey_len, "", 0, 0);
}

ledger_err_t gateway_view_idem_unindex(store_txn_t *txn, const char *principal, const char *key,
                                       uint64_t created_ms)
{
    assert(txn && principal && key);
    uint8_t k[GATEWAY_IDEM_SCOPED_KEY_MAX];
    size_t klen = gateway_view_idem_scoped_key(k, principal, key);
    uint8_t ikey[GATEWAY_IDEM_INDEX_KEY_MAX];
    size_t ikey_len = index_key(ikey, created_ms, k, klen);
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
    const uint8_t *scoped = k + IDEM_INDEX_PREFIX_LEN + 8;
    size_t scoped_len = entry->key_size - IDEM_INDEX_PREFIX_LEN - 8;
    /* Delete the key only if this index entry is its current one. */
    gateway_view_idem_t rec;
    ledger_err_t err = LEDGER_OK;
    ledger_err_t get_err = idem_get_scoped(txn, scoped, scoped_len, &rec);
    if (get_err == LEDGER_OK && rec.created_ms == store_be64_get(k + IDEM_INDEX_PREFIX_LEN))
        err = store_del(txn, STORE_DB_IDEMPOTENCY, scoped, scoped_len);
    else if (get_err != LEDGER_E_NOT_FOUND && get_err != LEDGER_OK)
        err = get_err; /* LEDGER_E_CORRUPT too: the node faults, the entry stays as evidence */
    if (!err)
        err = store_del(txn, STORE_DB_INDEX, k, entry->key_size);
    return err;
}

ledger_err_t gateway_view_idem_legacy_any(store_txn_t *txn, bool *any_out)
{
    assert(txn && any_out);
    *any_out = false;
    store_cursor_t *cursor = NULL;
    ledger_err_t err = store_cursor_open(txn, STORE_DB_IDEMPOTENCY, &cursor);
    if (err)
        return err;
    store_kv_t kv;
    err = store_cursor_get(cursor, STORE_FIRST, &kv);
    if (err == LEDGER_OK)
        *any_out = kv.key_size > 0 && ((const uint8_t *)kv.key)[0] == '\0';
    store_cursor_close(&cursor);
    return err == LEDGER_E_NOT_FOUND ? LEDGER_OK : err;
}

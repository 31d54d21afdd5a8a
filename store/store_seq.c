/*  store_seq.c: named sequences and the counters behind them (store.h,
    store_seq_next / store_seq_peek; the outbox seq is one too).

    A counter is a be64 value under a META key. A write transaction keeps
    up to STORE_TXN_COUNTERS_MAX of them in memory: read from the map on
    first use, bumped in memory, written back by store_seq_flush when the
    transaction commits. Read transactions, and counters past that many,
    read and write the map directly.
*/
#include "store.h"
#include "store_internal.h"

#include <assert.h>
#include <string.h>

/* Reads the be64 counter under META `key` from the map (0 if absent). */
static ledger_err_t counter_read(store_txn_t *txn, const void *key, size_t key_size,
                                 uint64_t *value_out)
{
    MDB_val k = store_mval(key, key_size), v;
    int rc = mdb_get(txn->txn, txn->store->dbi[STORE_DB_META], &k, &v);
    if (rc == MDB_NOTFOUND) {
        *value_out = 0;
        return LEDGER_OK;
    }
    ledger_err_t err = store_txn_rc(txn, rc, "mdb_get (sequence)");
    if (err != LEDGER_OK)
        return err;
    if (v.mv_size != STORE_BE64_BYTES)
        return store_corrupt(txn, STORE_DB_META, 0, "sequence value is not 8 bytes");
    *value_out = store_be64_get(v.mv_data);
    return LEDGER_OK;
}

static ledger_err_t counter_write(store_txn_t *txn, const void *key, size_t key_size,
                                  uint64_t value)
{
    uint8_t be[STORE_BE64_BYTES];
    store_be64_put(be, value);
    MDB_val k = store_mval(key, key_size), v = store_mval(be, sizeof be);
    return store_txn_rc(txn, mdb_put(txn->txn, txn->store->dbi[STORE_DB_META], &k, &v, 0),
                        "mdb_put (sequence)");
}

/*  The in-memory copy of a counter in a write transaction, read from the
    map on first use. *out is NULL where none is kept: read transactions,
    or all STORE_TXN_COUNTERS_MAX slots taken; the caller then reads and
    writes the map directly. */
static ledger_err_t txn_counter(store_txn_t *txn, const void *key, size_t key_size,
                                store_txn_counter_t **out)
{
    *out = NULL;
    if (!txn->write || key_size > STORE_TXN_COUNTER_KEY_MAX)
        return LEDGER_OK;
    for (size_t i = 0; i < txn->counter_count; i++) {
        store_txn_counter_t *c = &txn->counters[i];
        if (c->key_size == key_size && !memcmp(c->key, key, key_size)) {
            *out = c;
            return LEDGER_OK;
        }
    }
    if (txn->counter_count == STORE_TXN_COUNTERS_MAX)
        return LEDGER_OK;
    store_txn_counter_t *c = &txn->counters[txn->counter_count];
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

ledger_err_t store_seq_flush(store_txn_t *txn)
{
    assert(txn);
    for (size_t i = 0; i < txn->counter_count; i++) {
        store_txn_counter_t *c = &txn->counters[i];
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
                                   store_txn_counter_t **c_out, uint64_t *value_out)
{
    ledger_err_t err = txn_counter(txn, key, key_size, c_out);
    if (err != LEDGER_OK)
        return err;
    if (!*c_out)
        return counter_read(txn, key, key_size, value_out);
    *value_out = (*c_out)->value;
    return LEDGER_OK;
}

ledger_err_t store_seq_counter_next(store_txn_t *txn, const void *key, size_t key_size,
                                    uint64_t *value_out)
{
    assert(txn && txn->write);
    store_txn_counter_t *c;
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
static bool seq_key(const char *name, uint8_t key[STORE_TXN_COUNTER_KEY_MAX], size_t *key_size_out)
{
    size_t len;
    if (!store_text_ok(name, STORE_SEQ_NAME_MAX, false, &len))
        return false;
    memcpy(key, STORE_META_SEQ_PREFIX, STORE_META_SEQ_PREFIX_LEN);
    memcpy(key + STORE_META_SEQ_PREFIX_LEN, name, len);
    *key_size_out = STORE_META_SEQ_PREFIX_LEN + len;
    return true;
}

ledger_err_t store_seq_next(store_txn_t *txn, const char *name, uint64_t *value_out)
{
    assert(txn);
    uint8_t key[STORE_TXN_COUNTER_KEY_MAX];
    size_t key_size;
    if (!txn->write || !value_out || !seq_key(name, key, &key_size))
        return LEDGER_E_INVALID;
    return store_seq_counter_next(txn, key, key_size, value_out);
}

ledger_err_t store_seq_peek(store_txn_t *txn, const char *name, uint64_t *value_out)
{
    assert(txn);
    uint8_t key[STORE_TXN_COUNTER_KEY_MAX];
    size_t key_size;
    if (!value_out || !seq_key(name, key, &key_size))
        return LEDGER_E_INVALID;
    store_txn_counter_t *c;
    return counter_lookup(txn, key, key_size, &c, value_out);
}

ledger_err_t store_seq_raise(store_txn_t *txn, const char *name, uint64_t at_least,
                             uint64_t *value_out)
{
    assert(txn);
    uint8_t key[STORE_TXN_COUNTER_KEY_MAX];
    size_t key_size;
    if (!txn->write || !seq_key(name, key, &key_size))
        return LEDGER_E_INVALID;
    store_txn_counter_t *c;
    uint64_t value;
    ledger_err_t err = counter_lookup(txn, key, key_size, &c, &value);
    if (err != LEDGER_OK)
        return err;
    if (value < at_least) {
        value = at_least;
        if (c) {
            c->value = value;
            c->dirty = true;
        } else if ((err = counter_write(txn, key, key_size, value)) != LEDGER_OK) {
            return err;
        }
    }
    if (value_out)
        *value_out = value;
    return LEDGER_OK;
}

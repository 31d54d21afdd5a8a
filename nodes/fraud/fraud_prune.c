/* fraud_prune.c: the retention of decisions and known payees (fraud_prune.h). */
#include "fraud_prune.h"

#include <assert.h>
#include <string.h>

#include "fraud.h"

/* A decision record starts u8 version, u8 verdict, u64 ts_ms (fraud.h). */
#define DECISION_TS_AT 2
#define DECISION_TS_BYTES 8

ledger_err_t fraud_prune_decisions(store_txn_t *txn, uint64_t older_than_ms, size_t max,
                                   size_t *pruned_out)
{
    assert(txn && pruned_out);
    size_t pruned = 0;
    store_cursor_t *cursor = NULL;
    ledger_err_t err = store_cursor_open(txn, STORE_DB_DECISIONS, &cursor);
    if (err)
        return err;
    store_kv_t kv;
    err = store_cursor_get(cursor, STORE_FIRST, &kv);
    while (err == LEDGER_OK && pruned < max) {
        const uint8_t *v = kv.val;
        if (kv.val_size < DECISION_TS_AT + DECISION_TS_BYTES || v[0] != FRAUD_DECISION_VERSION) {
            err = LEDGER_E_CORRUPT;
            break;
        }
        if (store_be64_get(v + DECISION_TS_AT) >= older_than_ms)
            break; /* the first young decision: the rest were created after it */
        err = store_cursor_del(cursor);
        if (err == LEDGER_OK) {
            pruned++;
            err = store_cursor_get(cursor, STORE_NEXT, &kv); /* the entry after the deleted one */
        }
    }
    store_cursor_close(&cursor);
    if (err && err != LEDGER_E_NOT_FOUND)
        return err;
    *pruned_out = pruned;
    return LEDGER_OK;
}

#define PAYEE_VALUE_BYTES 8 /* be64 ms of the last approval (fraud.h) */

/* Whether the cursor's entry is a known payee (velocity and first-layout keys sort elsewhere). */
static bool is_payee(const store_kv_t *kv)
{
    return kv->key_size >= 2 && kv->key_size <= FRAUD_PAYEE_KEY_MAX &&
           ((const uint8_t *)kv->key)[0] == FRAUD_RISK_TAG_PAYEE;
}

ledger_err_t fraud_prune_payees(store_txn_t *txn, uint64_t older_than_ms, fraud_payee_walk_t *walk,
                                size_t max, size_t scan_max, size_t *pruned_out)
{
    assert(txn && walk && pruned_out);
    static const uint8_t first[1] = {FRAUD_RISK_TAG_PAYEE};
    size_t pruned = 0, scanned = 0;
    store_cursor_t *cursor = NULL;
    ledger_err_t err = store_cursor_open(txn, STORE_DB_RISK, &cursor);
    if (err)
        return err;
    store_kv_t kv = {.key = walk->key_size ? walk->key : first,
                     .key_size = walk->key_size ? walk->key_size : sizeof first};
    err = store_cursor_get(cursor, STORE_SEEK, &kv);
    while (err == LEDGER_OK && is_payee(&kv) && scanned < scan_max && pruned < max) {
        scanned++;
        if (kv.val_size != PAYEE_VALUE_BYTES) {
            err = LEDGER_E_CORRUPT;
            break;
        }
        if (store_be64_get(kv.val) < older_than_ms) {
            err = store_cursor_del(cursor);
            if (err)
                break;
            pruned++;
        }
        err = store_cursor_get(cursor, STORE_NEXT, &kv); /* after a delete: the entry after it */
    }
    walk->key_size = 0; /* past the last payee: start over next time */
    if (err == LEDGER_OK && is_payee(&kv)) {
        memcpy(walk->key, kv.key, kv.key_size);
        walk->key_size = kv.key_size;
    }
    store_cursor_close(&cursor);
    if (err && err != LEDGER_E_NOT_FOUND)
        return err;
    *pruned_out = pruned;
    return LEDGER_OK;
}

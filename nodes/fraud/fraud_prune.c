/* fraud_prune.c: the retention of decisions (fraud_prune.h). */
#include "fraud_prune.h"

#include <assert.h>

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

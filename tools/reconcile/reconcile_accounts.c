/*  reconcile_accounts.c: the accounts node's saga state of a transfer
    (accounts_record.h) reduced to a reconcile_side_t. The one file of the
    tools that knows the accounts node's records. */
#include "reconcile_node.h"

#include <stdio.h>
#include <string.h>

#include "accounts_record.h"
#include "text.h"

static reconcile_outcome_t outcome_of(accounts_transfer_state_t state)
{
    switch (state) {
    case ACCOUNTS_TRANSFER_SETTLED:
        return RECONCILE_SETTLED;
    case ACCOUNTS_TRANSFER_RELEASED:
        return RECONCILE_REJECTED;
    case ACCOUNTS_TRANSFER_DECLINED:
        return RECONCILE_DECLINED;
    case ACCOUNTS_TRANSFER_AUTHORIZED:
        return RECONCILE_AUTHORIZED;
    case ACCOUNTS_TRANSFER_VOIDED:
        return RECONCILE_VOIDED;
    case ACCOUNTS_TRANSFER_EXPIRED:
        return RECONCILE_EXPIRED;
    case ACCOUNTS_TRANSFER_TIMED_OUT:
        return RECONCILE_TIMED_OUT;
    default:
        return RECONCILE_OPEN;
    }
}

ledger_err_t reconcile_accounts_decode(store_txn_t *txn, const char *id, const store_kv_t *kv,
                                       reconcile_side_t *out, char *why, size_t why_size)
{
    (void)txn;
    accounts_transfer_t tr;
    ledger_err_t err = accounts_record_transfer_decode(id, kv->val, kv->val_size, &tr);
    if (err != LEDGER_OK) {
        snprintf(why, why_size, "saga record does not decode");
        return err;
    }
    memset(out, 0, sizeof *out);
    out->outcome = outcome_of(tr.state);
    text_copy(out->state, sizeof out->state, accounts_record_transfer_state_name(tr.state));
    out->updated_ms = tr.updated_ms;
    out->amount_minor = tr.amount_minor;
    text_copy(out->from, sizeof out->from, tr.from);
    return LEDGER_OK;
}

ledger_err_t reconcile_accounts_decode_accounts(store_txn_t *txn, uint64_t *count_out, char *why,
                                                size_t why_size)
{
    store_cursor_t *cursor = NULL;
    ledger_err_t err = store_cursor_open(txn, STORE_DB_ACCOUNTS, &cursor);
    if (err != LEDGER_OK)
        return err;
    uint64_t count = 0;
    store_kv_t kv;
    for (store_seek_t op = STORE_FIRST; (err = store_cursor_get(cursor, op, &kv)) == LEDGER_OK;
         op = STORE_NEXT) {
        accounts_record_t rec;
        err = accounts_record_decode(kv.val, kv.val_size, &rec);
        if (err == LEDGER_OK &&
            (kv.key_size != strlen(rec.id) || memcmp(kv.key, rec.id, kv.key_size)))
            err = LEDGER_E_CORRUPT;
        if (err != LEDGER_OK) {
            snprintf(why, why_size, "accounts: account record %llu does not decode",
                     (unsigned long long)count + 1);
            break;
        }
        count++;
    }
    store_cursor_close(&cursor);
    if (err != LEDGER_E_NOT_FOUND)
        return err;
    *count_out = count;
    return LEDGER_OK;
}

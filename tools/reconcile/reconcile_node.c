/*  reconcile_node.c: what the three per-node decoders share (reconcile_node.h):
    node names, each node's table and decoder, and the decode-everything walk
    the backup tool verifies a copy with. */
#include "reconcile_node.h"

#include <stdio.h>
#include <string.h>

static const char *const node_names[RECONCILE_NODE__COUNT] = {
    [RECONCILE_NODE_GATEWAY] = "gateway",
    [RECONCILE_NODE_ACCOUNTS] = "accounts",
    [RECONCILE_NODE_FRAUD] = "fraud",
};

const char *reconcile_node_name(reconcile_node_t node)
{
    return (unsigned)node < RECONCILE_NODE__COUNT ? node_names[node] : "unknown";
}

bool reconcile_node_from_name(const char *name, reconcile_node_t *node_out)
{
    for (int i = 0; i < RECONCILE_NODE__COUNT; i++) {
        if (name && strcmp(name, node_names[i]) == 0) {
            *node_out = (reconcile_node_t)i;
            return true;
        }
    }
    return false;
}

store_db_t reconcile_node_table(reconcile_node_t node)
{
    return node == RECONCILE_NODE_FRAUD ? STORE_DB_DECISIONS : STORE_DB_TRANSFERS;
}

reconcile_decode_fn reconcile_node_decoder(reconcile_node_t node)
{
    switch (node) {
    case RECONCILE_NODE_GATEWAY:
        return reconcile_gateway_decode;
    case RECONCILE_NODE_ACCOUNTS:
        return reconcile_accounts_decode;
    default:
        return reconcile_fraud_decode;
    }
}

bool reconcile_key_id(const store_kv_t *kv, char id[PROTO_TRANSFER_ID_MAX + 1])
{
    if (kv->key_size == 0 || kv->key_size > PROTO_TRANSFER_ID_MAX ||
        memchr(kv->key, '\0', kv->key_size))
        return false;
    memcpy(id, kv->key, kv->key_size);
    id[kv->key_size] = '\0';
    return true;
}

ledger_err_t reconcile_node_decode_all(store_txn_t *txn, reconcile_node_t node, uint64_t *count_out,
                                       char *why, size_t why_size)
{
    store_cursor_t *cursor = NULL;
    ledger_err_t err = store_cursor_open(txn, reconcile_node_table(node), &cursor);
    if (err != LEDGER_OK)
        return err;
    reconcile_decode_fn decode = reconcile_node_decoder(node);
    uint64_t count = 0;
    store_kv_t kv;
    for (store_seek_t op = STORE_FIRST; (err = store_cursor_get(cursor, op, &kv)) == LEDGER_OK;
         op = STORE_NEXT) {
        char id[PROTO_TRANSFER_ID_MAX + 1];
        reconcile_side_t side;
        char reason[160] = "";
        if (!reconcile_key_id(&kv, id)) {
            snprintf(why, why_size, "%s record %llu: key is not a transfer id",
                     reconcile_node_name(node), (unsigned long long)count + 1);
            err = LEDGER_E_CORRUPT;
            break;
        }
        err = decode(txn, id, &kv, &side, reason, sizeof reason);
        if (err != LEDGER_OK) {
            snprintf(why, why_size, "%s transfer %s: %s", reconcile_node_name(node), id,
                     reason[0] ? reason : ledger_err_name(err));
            break;
        }
        count++;
    }
    store_cursor_close(&cursor);
    if (err == LEDGER_E_NOT_FOUND) {
        *count_out = count;
        return LEDGER_OK;
    }
    return err;
}

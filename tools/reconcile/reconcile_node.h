/*  reconcile_node.h: one node's view of a transfer, as the reconcile and
    backup tools read it from the node's data directory (read-only).

    Each node keeps one table keyed by transfer id (the gateway's views and
    the accounts node's saga state in STORE_DB_TRANSFERS, the fraud node's
    decisions in STORE_DB_DECISIONS), so the three tables sort alike and can
    be walked side by side. A small module per node (reconcile_gateway.c,
    reconcile_accounts.c, reconcile_fraud.c) decodes that node's records
    through the node's own record library and reduces each to a
    reconcile_side_t: the only code here that knows a node's record format,
    so a format change touches one of them.

    What it owns: nothing; the decoders fill the caller's struct.
    Errors: LEDGER_E_CORRUPT for a record that does not decode (a reason in
    `why`), store errors.
    Threads: the thread that owns the transaction.
*/
#ifndef LEDGER_RECONCILE_NODE_H
#define LEDGER_RECONCILE_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ledger_err.h"
#include "proto.h"
#include "store.h"

/* Where a transfer stands at one node, in terms the three nodes share. */
typedef enum {
    RECONCILE_ABSENT = 0, /* the node has no record of it */
    RECONCILE_OPEN,       /* gateway pending, accounts reserved (fraud: never) */
    RECONCILE_SETTLED,    /* gateway settled, accounts settled, fraud approved */
    RECONCILE_REJECTED,   /* gateway rejected_fraud, accounts released, fraud rejected */
    RECONCILE_DECLINED,   /* gateway declined, accounts declined (fraud: never) */
    RECONCILE_AUTHORIZED, /* gateway and accounts authorized (fraud approved): held, not final */
    RECONCILE_VOIDED,     /* gateway voided, accounts voided (fraud approved) */
    RECONCILE_EXPIRED,    /* gateway expired, accounts expired (fraud approved) */
    RECONCILE_TIMED_OUT,  /* gateway declined risk_unavailable, accounts timed out (fraud: a
                             late verdict either way, or none) */
} reconcile_outcome_t;

#define RECONCILE_STATE_NAME_MAX 23 /* a node's own name of a state ("rejected_fraud") */

typedef struct {
    reconcile_outcome_t outcome;
    char state[RECONCILE_STATE_NAME_MAX + 1]; /* the node's own word for it; "none" when absent */
    uint64_t updated_ms;                      /* the record's last change (fraud: decided at) */
    int64_t amount_minor;
    char from[PROTO_ACCOUNT_ID_MAX + 1];
} reconcile_side_t;

/* Which node a data directory belongs to. */
typedef enum {
    RECONCILE_NODE_GATEWAY = 0,
    RECONCILE_NODE_ACCOUNTS,
    RECONCILE_NODE_FRAUD,
    RECONCILE_NODE__COUNT
} reconcile_node_t;

/* "gateway", "accounts", "fraud". */
const char *reconcile_node_name(reconcile_node_t node);
/* The node of a name; false if it is none of the three. */
bool reconcile_node_from_name(const char *name, reconcile_node_t *node_out);

/*  Decodes the record under kv (a key and value of the node's transfer
    table) into *out. `id` is the key as a string. */
typedef ledger_err_t (*reconcile_decode_fn)(store_txn_t *txn, const char *id, const store_kv_t *kv,
                                            reconcile_side_t *out, char *why, size_t why_size);

/* The table keyed by transfer id of `node`, and its decoder. */
store_db_t reconcile_node_table(reconcile_node_t node);
reconcile_decode_fn reconcile_node_decoder(reconcile_node_t node);

/* Each node's decoder (reconcile_gateway.c, reconcile_accounts.c, reconcile_fraud.c). */
ledger_err_t reconcile_gateway_decode(store_txn_t *txn, const char *id, const store_kv_t *kv,
                                      reconcile_side_t *out, char *why, size_t why_size);
ledger_err_t reconcile_accounts_decode(store_txn_t *txn, const char *id, const store_kv_t *kv,
                                       reconcile_side_t *out, char *why, size_t why_size);
ledger_err_t reconcile_fraud_decode(store_txn_t *txn, const char *id, const store_kv_t *kv,
                                    reconcile_side_t *out, char *why, size_t why_size);

/*  The accounts node's account records (STORE_DB_ACCOUNTS): decodes every
    one; *count_out gets how many. LEDGER_E_CORRUPT with the account in `why`. */
ledger_err_t reconcile_accounts_decode_accounts(store_txn_t *txn, uint64_t *count_out, char *why,
                                                size_t why_size);

/*  Walks every record of the node's transfer table and decodes it; *count_out
    gets how many. The first that does not decode: LEDGER_E_CORRUPT with the
    transfer id and the reason in `why`. */
ledger_err_t reconcile_node_decode_all(store_txn_t *txn, reconcile_node_t node, uint64_t *count_out,
                                       char *why, size_t why_size);

/*  The key of a transfer table's record as a string, into id (checked: 1 ..
    PROTO_TRANSFER_ID_MAX bytes, no NUL). False if the key is not a transfer id. */
bool reconcile_key_id(const store_kv_t *kv, char id[PROTO_TRANSFER_ID_MAX + 1]);

#endif

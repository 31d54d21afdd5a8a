/*  store_raw.h: the LMDB handles under a store transaction, for the store's
    own files that must reach past store.h (store_migrate.c: it reads and
    drops tables of older formats that store.h does not name, and writes the
    store's own META keys). Not for nodes: everything they need is in
    store.h and store_migrate.h.

    What it owns: nothing; store.c defines these and keeps the handles.

    How to call: inside a transaction begun through store.h. Every LMDB
    return code goes through store_raw_rc, so a map-full marks the
    transaction for store_write's grow-and-rerun, like store.c's own calls.
    The environment has room for STORE_RAW_EXTRA_DBS named tables beyond
    store_db_t (mdb_dbi_open on names of older formats, a scratch table).

    Errors: store_raw_rc maps an LMDB code as store.h's functions do.
    Threads: the transaction's thread.
*/
#ifndef LEDGER_STORE_RAW_H
#define LEDGER_STORE_RAW_H

#include <lmdb.h>

#include "ledger_err.h"

/* store.h's transaction; not included here, so that store.c can include this without a cycle. */
typedef struct store_txn_t store_txn_t;

/* Named tables beyond store_db_t that an environment can open: the format-1
   ledger_by_account index and store_migrate.c's scratch table. */
#define STORE_RAW_EXTRA_DBS 2

MDB_txn *store_raw_txn(store_txn_t *txn);
/* The handle of table `db` (a store_db_t of store.h). */
MDB_dbi store_raw_dbi(store_txn_t *txn, int db);
/* LMDB code -> project error; records the text and a map-full (store.h's rules). */
ledger_err_t store_raw_rc(store_txn_t *txn, int rc, const char *what);

#endif

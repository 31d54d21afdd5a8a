/*  backup_verify.c: the checks of a copied environment and the store facts
    of its manifest (backup_manifest.h, backup_manifest_verify). */
#include "backup_manifest.h"

#include <stdio.h>
#include <string.h>

#include "accounts_verify.h"
#include "reconcile_flight.h"
#include "store_migrate.h"
#include "text.h"

#define VERIFY_MSG_SEQUENCE "msg" /* node_ctx.c's: the seq of the node's message ids */

static ledger_err_t corrupt(char *why, size_t why_size, const char *what, const char *detail)
{
    backup_file_fmt(why, why_size, "%s: %s", what, detail);
    return LEDGER_E_CORRUPT;
}

/* The ledger's chain (and for the accounts node, its balances), entries and head. */
static ledger_err_t verify_ledger(store_txn_t *txn, reconcile_node_t node, backup_manifest_t *m,
                                  char *why, size_t why_size)
{
    store_ledger_report_t rep;
    char detail[256] = "";
    ledger_err_t err = node == RECONCILE_NODE_ACCOUNTS
                           ? accounts_verify_ledger(txn, &rep, detail, sizeof detail)
                           : store_ledger_verify(txn, NULL, NULL, &rep);
    if (err == LEDGER_E_CORRUPT)
        return corrupt(why, why_size, "an account record does not decode", detail);
    if (err != LEDGER_OK)
        return err;
    if (!rep.ok)
        return corrupt(why, why_size, "the ledger does not verify", rep.problem);
    m->ledger_entries = rep.entries;
    err = store_ledger_last_seq(txn, &m->ledger_head_seq);
    if (err != LEDGER_OK || m->ledger_head_seq == 0)
        return err;
    store_ledger_entry_t head;
    err = store_ledger_get(txn, m->ledger_head_seq, &head);
    for (size_t i = 0; err == LEDGER_OK && i < STORE_HASH_SIZE; i++)
        snprintf(m->ledger_head_hash + 2 * i, 3, "%02x", head.hash[i]);
    return err;
}

/* msg seq, outbox, dead letters and the highest seq seen from each peer. */
static ledger_err_t note_sequences(store_txn_t *txn, reconcile_node_t node, backup_manifest_t *m)
{
    ledger_err_t err = store_seq_peek(txn, VERIFY_MSG_SEQUENCE, &m->msg_seq);
    uint64_t age_ms;
    if (err == LEDGER_OK)
        err = store_outbox_stats(txn, 0, &m->outbox_depth, &age_ms);
    store_outbox_entry_t first;
    if (err == LEDGER_OK) {
        err = store_outbox_next(txn, 0, &first);
        m->outbox_first_seq = err == LEDGER_OK ? first.seq : 0;
        err = err == LEDGER_E_NOT_FOUND ? LEDGER_OK : err;
    }
    if (err == LEDGER_OK)
        err = store_count(txn, STORE_DB_DEAD_LETTERS, &m->dead_letters);
    m->peer_count = 0;
    for (int n = 0; err == LEDGER_OK && n < RECONCILE_NODE__COUNT; n++) {
        if (n == (int)node)
            continue;
        text_copy(m->peers[m->peer_count], sizeof m->peers[0], reconcile_node_name(n));
        err = store_seen_high(txn, m->peers[m->peer_count], &m->seen_high[m->peer_count]);
        m->peer_count++;
    }
    return err;
}

/* Every record of the node's own tables and every message decodes. */
static ledger_err_t verify_records(store_txn_t *txn, reconcile_node_t node, backup_manifest_t *m,
                                   char *why, size_t why_size)
{
    ledger_err_t err = reconcile_node_decode_all(txn, node, &m->transfer_records, why, why_size);
    if (err == LEDGER_OK && node == RECONCILE_NODE_ACCOUNTS)
        err = reconcile_accounts_decode_accounts(txn, &m->account_records, why, why_size);
    reconcile_flight_t flight;
    memset(&flight, 0, sizeof flight);
    if (err == LEDGER_OK)
        err = reconcile_flight_add_store(&flight, txn, node, why, why_size);
    reconcile_flight_free(&flight);
    return err;
}

static ledger_err_t verify_txn(store_txn_t *txn, reconcile_node_t node, backup_manifest_t *m,
                               char *why, size_t why_size)
{
    ledger_err_t err = store_migrate_version_get(txn, &m->store_format);
    if (err == LEDGER_E_NOT_FOUND)
        return corrupt(why, why_size, "no store format", "not a node's data (or never started)");
    if (err == LEDGER_OK)
        err = verify_ledger(txn, node, m, why, why_size);
    if (err == LEDGER_OK)
        err = note_sequences(txn, node, m);
    if (err == LEDGER_OK)
        err = verify_records(txn, node, m, why, why_size);
    return err;
}

ledger_err_t backup_manifest_verify(const char *dir, reconcile_node_t node, const char *name,
                                    backup_manifest_t *m, char *why, size_t why_size)
{
    memset(m, 0, sizeof *m);
    text_copy(m->node, sizeof m->node, name);
    store_config_t config = {.read_only = true};
    store_t *store = NULL;
    ledger_err_t err = store_open(dir, &config, &store);
    if (err != LEDGER_OK) {
        backup_file_fmt(why, why_size, "cannot open the copy: %s", store_last_error(NULL));
        return err;
    }
    store_txn_t *txn = NULL;
    err = store_txn_begin(store, false, &txn);
    if (err == LEDGER_OK)
        err = verify_txn(txn, node, m, why, why_size);
    if (err != LEDGER_OK && !why[0])
        backup_file_fmt(why, why_size, "%s", store_last_error(store));
    store_txn_abort(&txn);
    store_destroy(&store);
    return err;
}

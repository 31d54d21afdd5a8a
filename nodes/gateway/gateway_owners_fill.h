/*  gateway_owners_fill.h: fills the owner map (gateway_owners.h) from the
    accounts node at start.

    Why: the map is written when POST /api/accounts succeeds, but accounts
    opened before ownership existed (an upgraded data dir), or opened while
    the gateway's write of the map failed, are known only to the accounts
    node, which keeps the owner on every account record. So at every start a
    thread pages through the accounts node's account list (account.query op
    list, PROTO_PAGE_MAX accounts a page, through a client of its own,
    gateway_accounts_client.h) and adds every entry the map is missing, one
    durable write per page. It never overwrites an entry: an account the map
    names another owner for is counted as a conflict and logged (the accounts
    node checks the owner again on every transfer and declines
    forbidden_account if the two ever disagree). Settlement accounts (owner
    "") get no entry.

    Until the fill has passed an account, a transfer from it may be refused
    403 forbidden_account and it may be missing from its owner's lists: the
    fill takes about a second per 10^5 accounts, and an account opened
    through the API is in the map at once.

    Logs: event=owners_fill_page (every GATEWAY_OWNERS_FILL_LOG_PAGES pages),
    event=owners_fill_done accounts= added= conflicts= pages= ms=, and
    event=owners_fill_retry when the accounts node does not answer (retried
    every GATEWAY_OWNERS_FILL_RETRY_MS until it does or the gateway stops).

    What it owns: one thread, one accounts client (its own DEALER), a lock
    and a condition variable. The store is the caller's.

    Storage faults: once the node is faulted the fill writes no more pages
    and ends (event=owners_fill_stopped); a page whose write meets corrupt
    data faults the node (source "owners_fill").

    Errors: start: LEDGER_E_INVALID (a bad endpoint or node name), LEDGER_E_IO
    (no thread, no socket), LEDGER_E_NOMEM.

    Threads: start and destroy on the thread that owns the server (the
    gateway's main); destroy stops the fill where it is and joins it.
*/
#ifndef LEDGER_GATEWAY_OWNERS_FILL_H
#define LEDGER_GATEWAY_OWNERS_FILL_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>
#include "ledger_err.h"
#include "store.h"

#define GATEWAY_OWNERS_FILL_RETRY_MS 1000u /* wait before asking an absent accounts node again */
#define GATEWAY_OWNERS_FILL_LOG_PAGES 50u  /* a progress line every this many pages */

typedef struct {
    store_t *store;                /* required: the gateway's store (not owned) */
    const char *accounts_endpoint; /* required: the accounts node's inbox */
    const char *node_name;         /* required: queries come from "<node_name>-q" */
    const zcert_t *cert;           /* CURVE: the gateway's cert (gateway_accounts_client.h) */
    const char *server_key;        /* and the accounts node's public key; both NULL: plain */
    uint32_t timeout_ms;           /* required (> 0): one page query's deadline */
    /*  The node's fault state (node.h, "Storage faults"): while `faulted` says true the fill
        writes nothing and stops; a page whose write meets a record that does not decode
        faults the node through `fault`. Thread-safe; NULL: not checked, only logged. */
    bool (*faulted)(void *arg);
    void (*fault)(void *arg, const char *source, const char *reason);
    void *fault_arg;
} gateway_owners_fill_config_t;

typedef struct gateway_owners_fill_t gateway_owners_fill_t;

/* Starts the fill (config copied). */
ledger_err_t gateway_owners_fill_start(const gateway_owners_fill_config_t *config,
                                       gateway_owners_fill_t **out);

/*  true once the fill has gone through the accounts node's whole list (any thread; false
    while it runs, retries or was stopped). /metrics shows it as ledger_gateway_owners_fill_done:
    until then a customer's transfer from an account opened before the gateway's owner map
    knew it may be refused 403. */
bool gateway_owners_fill_done(gateway_owners_fill_t *self);

/* Stops the fill if it still runs, joins it, frees it; sets *self_p to NULL. Safe on NULL. */
void gateway_owners_fill_destroy(gateway_owners_fill_t **self_p);

#endif

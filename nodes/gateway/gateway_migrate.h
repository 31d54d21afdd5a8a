/*  gateway_migrate.h: the gateway store's formats and their migrations
    (store/store_migrate.h runs them at start, before anything reads the store).

      2  the gateway's records as of ledger format 1 (transfer views, event
         log, idempotency keys keyed by the Idempotency-Key alone). A dir
         without a version key (any earlier build) is format 2.
      3  idempotency keys scoped to the principal (gateway_view_idem.h:
         principal + NUL + key, in STORE_DB_IDEMPOTENCY and in the "idem/"
         age index), and the principals' and keys' records under "auth/"
         (gateway_principals.h; new records: nothing to migrate).
      4  the owner map and the per-principal transfer index (gateway_owners.h:
         "own/a/", "own/p/", "pt/" in STORE_DB_INDEX).
      5  each event of the log ("evt/", gateway_events.h) names its two
         viewers, the principals who may see it besides operators (record
         version 3).
      6  `seen` pruned to a window, with a floor per origin (issue 20).
      7  operators may hold accounts:manage (issue 21, PATCH /api/accounts/{id}).
      8  view records version 3 (issue 21: capture, expiry, captured and
         refunded amounts, refunds, a capture or void in flight).

    Migration 2 -> 3 (idempotency_scoped): every format-2 idempotency record
    and age index entry is rewritten under the reserved principal "" (its
    key becomes NUL + key). "" is no principal id (ids are 1..64 bytes), so
    no caller collides with an old key: the same key with another body is
    a new request of its sender, while the same key with the same body
    (the retry of a request sent before the upgrade) is answered as the
    replay of the old transfer, so nothing is applied twice across an
    upgrade (gateway_view.c). The old keys are kept
    only so that the pruner retires them with their age like any other
    (they expire within the retention, 24 h by default). Keeping them under
    their real sender is impossible: format 2 never recorded one. It runs
    in batches of GATEWAY_MIGRATE_BATCH entries inside the one transaction
    store_migrate.h gives it; a format-2 key is one whose scoped part holds
    no NUL (Idempotency-Keys are visible ASCII), so a rerun after a crash
    skips nothing and rewrites nothing twice.

    Migration 3 -> 4 (owner_map): every transfer of the view is indexed for
    the owners of its `from` and `to` by the documented upgrade rule, "an
    account opened before ownership is owned by the principal with its id"
    (the accounts node's migration 2 -> 3 gives its records the same owners),
    and the owner map gets those entries; a settlement account
    (proto_settlement_id) is nobody's. An entry already in the map
    is never overwritten (a rerun after a crash starts from an untouched
    format 3, since the step and the version bump are one transaction).
    Accounts without a transfer get their entry from the start-up fill
    (gateway_owners_fill.h), which asks the accounts node. It walks the
    transfers in batches of GATEWAY_MIGRATE_BATCH, the cursor closed before
    each batch's writes. The log's note: transfers=, index_entries=, owners=,
    conflicts=.

    Migration 4 -> 5 (event_viewers): every version 2 event record is
    rewritten as version 3 with its viewers, the owners of its transfer's
    `from` and `to` in the owner map (which 3 -> 4 filled for every
    transfer of the view); an event whose transfer is not in the view gets
    none (operators only). gateway_events_upgrade walks the log in batches,
    the cursor closed before each batch's writes, and leaves version 3
    records alone. The log's note: events=.

    Migration 5 -> 6 (seen_floors, issue 20): store_seen_migrate_floors
    (store.h, "seen message ids"), common to every node: writes nothing;
    the bump makes an older build, which ignores floors, refuse the dir.

    Migration 6 -> 7 (accounts_manage_scope, issue 21): every operator that
    holds accounts:open gets accounts:manage (gateway_principals_grant), so
    whoever could open accounts before the upgrade can freeze, close and set
    overdrafts after it, without a new key. Customers get nothing (it is an
    operator scope). A rerun grants nobody twice. The log's note:
    operators_granted=.

    Migration 7 -> 8 (transfer_payments, issue 21): writes nothing; older
    view records (versions 1, 2) read as what they were, automatic captures
    with nothing captured, refunded or in flight, and are rewritten as
    version 3 when they next change. The bump keeps an older build, which
    cannot read version 3, off the dir. The log's note: transfers=.

    What it owns: nothing; the plan is static. Errors: store errors,
    LEDGER_E_NOMEM. Threads: the thread that opened the store, at start.
*/
#ifndef LEDGER_GATEWAY_MIGRATE_H
#define LEDGER_GATEWAY_MIGRATE_H

#include "store_migrate.h"

#define GATEWAY_STORE_FORMAT 8
#define GATEWAY_MIGRATE_BATCH 512 /* entries collected per cursor walk */

/* The plan for node_app_t.migrate. */
extern const store_migrate_plan_t gateway_migrate_plan;

#endif

/*  node_roles.h: which node role may send which message type to which role
    (issue 19, "Roles"), as a table of data and two pure lookups.

    Why: before issue 19 any process that reached an inbox could speak for any
    node (a forged fraud.approved settled a transfer fraud had rejected, a
    forged transfer.settled made the gateway show money that never moved).
    Once a peer's identity comes from its CURVE key, this table says what that
    identity may say. Each rule exists because the saga needs it:

      gateway  -> accounts  transfer.requested   a customer's transfer enters the saga
      gateway  -> accounts  account.query        the HTTP API reads and opens accounts
      gateway  -> accounts  transfer.capture,    a customer or operator settles or releases
                            transfer.void        an authorised transfer (issue 21)
      accounts -> fraud     funds.reserved       funds are held; fraud must judge them
      accounts -> gateway   funds.reserved       the gateway's timeline shows the hold
      accounts -> gateway   transfer.settled,    the saga's end states, shown to the
                            transfer.rejected_fraud, customer
                            transfer.declined
      accounts -> gateway   transfer.authorized, a manual transfer's life cycle (issue 21)
                            transfer.voided,
                            transfer.expired
      fraud    -> accounts  fraud.approved,      accounts acts on the verdict
                            fraud.rejected
      fraud    -> gateway   fraud.approved,      the gateway shows the verdict and its
                            fraud.rejected       rules (nodes/fraud/fraud.c emits to both)
      harness  -> accounts  account.query        read-only ops (get, list, ledger,
                                                 balance_at, statement, holds): an
                                                 operator's look, never an account opened
                                                 or changed (open, update)

    Everything else is refused: no role sends another role's messages, and
    ack, nack and account.reply are answers on the sender's own DEALER, never
    inbox messages, so the table refuses them for every pair.

    How it will be used (not yet: the next step wires it): node_inbound, after
    taking the peer from the authenticated key (ZAP user id), nacks a message
    whose envelope origin is not that peer with the code `origin_mismatch`,
    then calls node_roles_allows(peer role, type, own role) and, for an
    account.query, node_roles_allows_query_op(peer role, op); a refusal is
    nacked with the code `forbidden_type` and counted. Nothing is applied or
    recorded for either refusal.

    Owns: the static const rule table; no state, nothing allocated.

    Errors: none. Out-of-range roles, types or ops are simply not allowed;
    node_role_from_name returns false for an unknown or NULL name;
    node_role_name returns NULL for an out-of-range role.

    Threads: any thread (pure functions over constant data).
*/
#ifndef LEDGER_NODE_ROLES_H
#define LEDGER_NODE_ROLES_H

#include <stdbool.h>

#include "proto.h"

/* A node's role: what the keys' `role` metadata names (curve_allow_role_valid). */
typedef enum {
    NODE_ROLE_GATEWAY = 1,
    NODE_ROLE_ACCOUNTS,
    NODE_ROLE_FRAUD,
    NODE_ROLE_HARNESS,
    NODE_ROLE__COUNT
} node_role_t;

/* One rule of the table: `sender` may send `type` to `receiver`. */
typedef struct {
    node_role_t sender;
    proto_type_t type;
    node_role_t receiver;
} node_role_rule_t;

/* True if a peer of role `sender` may deliver a message of `type` to the inbox of a node of
   role `receiver`. False for answers (ack, nack, account.reply) and any value out of range. */
bool node_roles_allows(node_role_t sender, proto_type_t type, node_role_t receiver);

/* True if a peer of role `sender` may ask the accounts node an account.query with `op`: the
   gateway any op; the harness list, get, ledger, balance_at, statement and holds (never open
   or update); no one else. Call it after
   node_roles_allows said the query itself is allowed. */
bool node_roles_allows_query_op(node_role_t sender, proto_query_op_t op);

/* The role named `name` ("gateway", "accounts", "fraud", "harness", exact case) into *out.
   Returns false, *out untouched, for NULL or any other name. */
bool node_role_from_name(const char *name, node_role_t *out);

/* The name of `role` (static string); NULL if `role` is out of range. */
const char *node_role_name(node_role_t role);

#endif

/* node_roles.c: the role table of issue 19 as data, and its lookups (see node_roles.h for why
   each rule exists). A rule missing here refuses a message the saga needs, which the unit test
   and every integration test would show; a rule too many lets a forger through, which only the
   unit test's independent list shows: change both together. */
#include "node_roles.h"

#include <assert.h>
#include <stddef.h>
#include <string.h>

/* Who may send what to whom. Answers (ack, nack, account.reply) are never listed. */
static const node_role_rule_t NODE_ROLE_RULES[] = {
    {NODE_ROLE_GATEWAY, PROTO_TRANSFER_REQUESTED, NODE_ROLE_ACCOUNTS},
    {NODE_ROLE_GATEWAY, PROTO_ACCOUNT_QUERY, NODE_ROLE_ACCOUNTS},
    {NODE_ROLE_GATEWAY, PROTO_TRANSFER_CAPTURE, NODE_ROLE_ACCOUNTS},
    {NODE_ROLE_GATEWAY, PROTO_TRANSFER_VOID, NODE_ROLE_ACCOUNTS},
    {NODE_ROLE_ACCOUNTS, PROTO_FUNDS_RESERVED, NODE_ROLE_FRAUD},
    {NODE_ROLE_ACCOUNTS, PROTO_FUNDS_RESERVED, NODE_ROLE_GATEWAY},
    {NODE_ROLE_ACCOUNTS, PROTO_TRANSFER_SETTLED, NODE_ROLE_GATEWAY},
    {NODE_ROLE_ACCOUNTS, PROTO_TRANSFER_REJECTED_FRAUD, NODE_ROLE_GATEWAY},
    {NODE_ROLE_ACCOUNTS, PROTO_TRANSFER_DECLINED, NODE_ROLE_GATEWAY},
    {NODE_ROLE_ACCOUNTS, PROTO_TRANSFER_AUTHORIZED, NODE_ROLE_GATEWAY},
    {NODE_ROLE_ACCOUNTS, PROTO_TRANSFER_VOIDED, NODE_ROLE_GATEWAY},
    {NODE_ROLE_ACCOUNTS, PROTO_TRANSFER_EXPIRED, NODE_ROLE_GATEWAY},
    {NODE_ROLE_FRAUD, PROTO_FRAUD_APPROVED, NODE_ROLE_ACCOUNTS},
    {NODE_ROLE_FRAUD, PROTO_FRAUD_REJECTED, NODE_ROLE_ACCOUNTS},
    {NODE_ROLE_FRAUD, PROTO_FRAUD_APPROVED, NODE_ROLE_GATEWAY},
    {NODE_ROLE_FRAUD, PROTO_FRAUD_REJECTED, NODE_ROLE_GATEWAY},
    /* read ops only: node_roles_allows_query_op */
    {NODE_ROLE_HARNESS, PROTO_ACCOUNT_QUERY, NODE_ROLE_ACCOUNTS},
};

#define NODE_ROLE_RULE_COUNT (sizeof NODE_ROLE_RULES / sizeof NODE_ROLE_RULES[0])

/* Indexed by node_role_t; index 0 is not a role. */
static const char *const NODE_ROLE_NAMES[NODE_ROLE__COUNT] = {
    [NODE_ROLE_GATEWAY] = "gateway",
    [NODE_ROLE_ACCOUNTS] = "accounts",
    [NODE_ROLE_FRAUD] = "fraud",
    [NODE_ROLE_HARNESS] = "harness",
};

bool node_roles_allows(node_role_t sender, proto_type_t type, node_role_t receiver)
{
    for (size_t i = 0; i < NODE_ROLE_RULE_COUNT; i++) {
        const node_role_rule_t *r = &NODE_ROLE_RULES[i];
        if (r->sender == sender && r->type == type && r->receiver == receiver)
            return true;
    }
    return false;
}

bool node_roles_allows_query_op(node_role_t sender, proto_query_op_t op)
{
    bool known = op >= PROTO_QUERY_LIST && op <= PROTO_QUERY_HOLDS;
    if (!known)
        return false;
    if (sender == NODE_ROLE_GATEWAY)
        return true;
    /* An operator's harness may look, never open or change an account (both are the
       gateway's, behind its owner and operator checks). */
    if (sender == NODE_ROLE_HARNESS)
        return op != PROTO_QUERY_OPEN && op != PROTO_QUERY_UPDATE;
    return false;
}

bool node_role_from_name(const char *name, node_role_t *out)
{
    assert(out != NULL);
    if (name == NULL)
        return false;
    for (int r = NODE_ROLE_GATEWAY; r < NODE_ROLE__COUNT; r++) {
        if (strcmp(name, NODE_ROLE_NAMES[r]) == 0) {
            *out = (node_role_t)r;
            return true;
        }
    }
    return false;
}

const char *node_role_name(node_role_t role)
{
    if ((int)role < NODE_ROLE_GATEWAY || (int)role >= NODE_ROLE__COUNT)
        return NULL;
    return NODE_ROLE_NAMES[role];
}

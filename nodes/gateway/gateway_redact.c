/*  gateway_redact.c: the transfer JSON for principals without risk:read (gateway_redact.h). */
#include "gateway_redact.h"

#include <assert.h>
#include <string.h>

static const struct {
    const char *code;
    const char *message;
} generic_messages[] = {
    {"insufficient_funds", "the account cannot cover this amount"},
    {"forbidden_account", "the account the money would come from is not the sender's"},
    {"unknown_account", "an account of this transfer does not exist"},
    {"currency_mismatch", "the accounts and the transfer are not in one currency"},
    {"same_account", "the money cannot go to the account it comes from"},
    {"settlement_limit", "the bank cannot take this deposit now"},
    {"deposit_too_large", "the deposit is larger than one deposit may be"},
    {"invalid_kind", "this kind of transfer is not allowed between these accounts"},
    {"fraud_rejected", "the transfer was refused by the bank's fraud checks"},
};

#define DEFAULT_MESSAGE "the transfer was declined"

bool gateway_redact_needed(const gateway_auth_caller_t *caller)
{
    assert(caller);
    return (caller->principal.scopes & GATEWAY_SCOPE_RISK_READ) == 0;
}

const char *gateway_redact_message(const char *code)
{
    for (size_t i = 0; code && i < sizeof generic_messages / sizeof generic_messages[0]; i++) {
        if (strcmp(generic_messages[i].code, code) == 0)
            return generic_messages[i].message;
    }
    return DEFAULT_MESSAGE;
}

void gateway_redact_transfer(json_t *transfer)
{
    if (!json_is_object(transfer))
        return;
    json_t *reason = json_object_get(transfer, "reason");
    if (json_is_object(reason)) {
        const char *code = json_string_value(json_object_get(reason, "code"));
        json_object_del(reason, "rules");
        /* A failed set leaves no message rather than the real one. */
        if (json_object_set_new(reason, "message", json_string(gateway_redact_message(code))))
            json_object_del(reason, "message");
    }
    json_t *timeline = json_object_get(transfer, "timeline");
    size_t i;
    json_t *step;
    json_array_foreach(timeline, i, step)
    {
        if (json_is_object(step))
            json_object_del(step, "rules");
    }
}

void gateway_redact_page(json_t *page)
{
    json_t *transfers = json_object_get(page, "transfers");
    size_t i;
    json_t *transfer;
    json_array_foreach(transfers, i, transfer) gateway_redact_transfer(transfer);
}

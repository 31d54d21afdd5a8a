/*  gateway_redact.h: what a principal without the risk:read scope is told of
    a transfer's refusal.

    The fraud rules that fired and the accounts node's decline reasons are
    for the bank's risk staff: a rule name and its threshold tell a fraudster
    what to stay under, and a decline reason may name a balance ("available
    1200 < 5000"). So the transfer JSON (GET /api/transfers/{id}, the list,
    every /api/events event) is served whole only to principals holding
    risk:read (gateway_redact_needed is false); everyone else gets it through
    gateway_redact_transfer:

      reason {"code", "message", "rules"?}  ->  {"code", "message": the generic
                                                 message of the code}
      timeline[i].rules                     ->  removed

    The status ("rejected_fraud", "declined"), the code and the timeline's
    steps stay: a customer learns that and how its transfer ended, not why in
    the bank's terms. The generic messages (gateway_redact_message, one per
    code; proto/README.md describes the codes):

      insufficient_funds  the account cannot cover this amount
      forbidden_account   the account the money would come from is not the sender's
      unknown_account     an account of this transfer does not exist
      currency_mismatch   the accounts and the transfer are not in one currency
      same_account        the money cannot go to the account it comes from
      settlement_limit    the bank cannot take this deposit now
      deposit_too_large   the deposit is larger than one deposit may be
      invalid_kind        this kind of transfer is not allowed between these accounts
      fraud_rejected      the transfer was refused by the bank's fraud checks
      (any other code)    the transfer was declined

    What it owns: nothing (a static table). Errors: none (a JSON value that
    is not a transfer object is left as it is). Threads: any; pure.
*/
#ifndef LEDGER_GATEWAY_REDACT_H
#define LEDGER_GATEWAY_REDACT_H

#include <stdbool.h>
#include <jansson.h>
#include "gateway_auth.h"

/* True if `caller` must get transfers redacted (it lacks risk:read). */
bool gateway_redact_needed(const gateway_auth_caller_t *caller);

/* The generic message of a decline or rejection code (the table above); never NULL. */
const char *gateway_redact_message(const char *code);

/*  Redacts a transfer in its API form in place (see above). NULL, json null and
    non-objects are left alone. */
void gateway_redact_transfer(json_t *transfer);

/*  Redacts each transfer of a list page ({"transfers": [...], ...}) in place. */
void gateway_redact_page(json_t *page);

#endif

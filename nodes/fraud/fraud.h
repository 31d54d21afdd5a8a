/*  fraud.h: the fraud node's business logic: risk rules and decisions.

    On funds.reserved the node evaluates every rule, stores the decision with
    the rules that fired and a human reason, updates its risk state, and
    sends fraud.approved (no rule fired) or fraud.rejected to accounts (and
    the gateway, for the timeline). Pure
    logic over the store, like every saga handler: reads and writes only
    through ctx->txn, sends only through node_ctx_emit(), time is ctx->now_ms.
    The one piece of I/O here is fraud_rules_load_file(), configuration
    loading at start-up, never called by a handler.

    Rules (name in the verdict's `rules`, in this order; a limit of 0
    disables its rule):
      amount_over_threshold   amount > amount_threshold_minor
      velocity_count          approved transfers from the source within the
                              window, plus this one, > velocity_max_count
      velocity_sum            their amounts, plus this one, > velocity_max_sum_minor
      blocklisted_account     source or destination is on the blocklist
      new_payee_large_amount  the source never had a transfer to this
                              destination approved, and amount > new_payee_limit_minor
    The velocity window holds the transfers approved at times t with
    now_ms - t < velocity_window_ms (a window of 0 disables both velocity
    rules). Only approved transfers are recorded: money that actually left
    the account, so a rejected attempt does not hold back the next ones.

    Deposits (body.kind deposit, issue 18) are approved without evaluating
    the rules: rules [] and reason FRAUD_DEPOSIT_REASON ("deposit"), and they
    add nothing to the risk state. Transfers and withdrawals are evaluated as
    above.

    Saga guard: a decision is stored once per transfer; funds.reserved for a
    transfer already decided changes nothing (no second verdict is sent).
    Decisions are kept --decision-retention-ms (default 30 days) and then
    deleted (fraud_prune.h, which says why a redelivered funds.reserved of
    a pruned transfer still gets no second verdict: `seen` and its floor).

    Record formats (integers big-endian; strings length-prefixed by one byte
    unless said otherwise, no terminator; decoding bounds-checks every field):

      STORE_DB_DECISIONS key = transfer id bytes
        u8 version (FRAUD_DECISION_VERSION = 1), u8 verdict (fraud_verdict_t),
        u64 ts_ms, i64 amount_minor, 3 currency,
        u8 len + from, u8 len + to,
        u8 rule_count, rule_count x (u8 len + rule name),
        u16 len + reason

      STORE_DB_RISK
        velocity entry: 'V' + u8 len + source + be64 ts_ms + transfer id
                        -> be64 amount_minor. Sorted by source then time;
                        entries of a source that have left the window are
                        deleted when that source's next transfer is
                        evaluated (at most FRAUD_PRUNE_MAX_PER_EVAL per
                        evaluation).
        known payee:    'P' + u8 len + source + destination -> be64 ms of
                        its last approval, refreshed at most once per
                        FRAUD_PAYEE_REFRESH_MS (so a busy pair costs no
                        write per transfer); forgotten past
                        --payee-retention-ms (fraud_prune.h). Data written
                        before issue 20 holds the first approval's time in
                        the same bytes: read as a last approval, it is only
                        older than the truth, which is refreshed by the
                        pair's next approval, so no migration rewrites it.
        The first layout ('v' / 'p' with both ids NUL-padded to 64 bytes:
        129-byte payee keys, a quarter of the entries per page) is rewritten
        in this one by fraud_migrate_risk, the store's migration to format 2
        (fraud_main.c's plan, store_migrate.h).

    Thread: functions are called by the one thread that owns the transaction.
*/
#ifndef LEDGER_FRAUD_H
#define LEDGER_FRAUD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ledger_err.h"
#include "node_ctx.h"
#include "proto.h"
#include "store.h"

#define FRAUD_BLOCKLIST_MAX 64            /* account ids on the blocklist */
#define FRAUD_WINDOW_MAX_MS 2592000000ULL /* longest velocity window: 30 days */
#define FRAUD_VELOCITY_COUNT_MAX 1000000u /* largest velocity_max_count accepted */
#define FRAUD_PRUNE_MAX_PER_EVAL 1024     /* old velocity entries deleted per evaluation */
#define FRAUD_RISK_TAG_PAYEE 'P'          /* the first byte of a known payee's key */
#define FRAUD_PAYEE_KEY_MAX (2 + 2 * PROTO_ACCOUNT_ID_MAX) /* 'P' + len + source + destination */
#define FRAUD_PAYEE_REFRESH_MS 86400000ULL /* a known payee's time is rewritten at most daily */
#define FRAUD_RULES_LINE_MAX                                                                       \
    8192 /* longest line of a rules file, in bytes (fits a full blocklist) */
#define FRAUD_DECISION_VERSION 1
#define FRAUD_DEPOSIT_REASON "deposit" /* the reason of a deposit's approval (no rule runs) */

/* Demo defaults (fraud_rules_defaults). Amounts in pence. */
#define FRAUD_DEFAULT_AMOUNT_THRESHOLD_MINOR 100000 /* 1,000.00 */
#define FRAUD_DEFAULT_VELOCITY_MAX_COUNT 5
#define FRAUD_DEFAULT_VELOCITY_MAX_SUM_MINOR 300000 /* 3,000.00 */
#define FRAUD_DEFAULT_VELOCITY_WINDOW_MS 60000      /* 60 s */
#define FRAUD_DEFAULT_NEW_PAYEE_LIMIT_MINOR 50000   /* 500.00 */
#define FRAUD_DEFAULT_BLOCKLIST "mallory"

/* Rule names, as they appear in verdicts and decisions. */
#define FRAUD_RULE_AMOUNT "amount_over_threshold"
#define FRAUD_RULE_VELOCITY_COUNT "velocity_count"
#define FRAUD_RULE_VELOCITY_SUM "velocity_sum"
#define FRAUD_RULE_BLOCKLIST "blocklisted_account"
#define FRAUD_RULE_NEW_PAYEE "new_payee_large_amount"

typedef struct {
    int64_t amount_threshold_minor; /* 0 = off */
    uint32_t velocity_max_count;    /* 0 = off */
    int64_t velocity_max_sum_minor; /* 0 = off */
    uint64_t velocity_window_ms;    /* 0 = both velocity rules off */
    int64_t new_payee_limit_minor;  /* 0 = off */
    uint32_t blocklist_count;
    char blocklist[FRAUD_BLOCKLIST_MAX][PROTO_ACCOUNT_ID_MAX + 1];
} fraud_rules_t;

typedef enum {
    FRAUD_APPROVED = 1,
    FRAUD_REJECTED = 2,
} fraud_verdict_t;

/* A stored decision. */
typedef struct {
    char transfer[PROTO_TRANSFER_ID_MAX + 1];
    fraud_verdict_t verdict;
    uint32_t rule_count;
    char rules[PROTO_RULES_MAX][PROTO_RULE_NAME_MAX + 1];
    char reason[PROTO_REASON_MAX + 1];
    uint64_t ts_ms;
    int64_t amount_minor;
    char currency[PROTO_CURRENCY_LEN + 1];
    char from[PROTO_ACCOUNT_ID_MAX + 1];
    char to[PROTO_ACCOUNT_ID_MAX + 1];
} fraud_decision_t;

/* Fills `rules` with the demo defaults above (blocklist: mallory). */
void fraud_rules_defaults(fraud_rules_t *rules);

/*  Sets one rule from text. Keys: amount_threshold_minor,
    velocity_max_count, velocity_max_sum_minor, velocity_window_ms,
    new_payee_limit_minor (each a plain decimal integer: digits only, no
    sign, no spaces, within its range), blocklist (comma separated account
    ids, spaces around each allowed, "" empties it; replaces the list;
    duplicates kept once; at most FRAUD_BLOCKLIST_MAX).
    LEDGER_E_INVALID with a reason in `why` (may be NULL) for an unknown
    key or a bad value; *rules is unchanged then. */
ledger_err_t fraud_rules_set(fraud_rules_t *rules, const char *key, const char *value, char *why,
                             size_t why_size);

/*  Applies a rules file to `rules` (start from fraud_rules_defaults for the
    demo values): lines `key = value`, '#' starts a comment to the end of
    the line, blank lines ignored, spaces around key and value ignored, a
    later line wins. All or nothing: on error *rules is unchanged.
    Errors: LEDGER_E_IO (cannot open / read; reason with the OS text),
    LEDGER_E_INVALID ("line N: ..." for a line without '=', an unknown key,
    a bad value, a NUL byte), LEDGER_E_TOO_LARGE (a line over
    FRAUD_RULES_LINE_MAX, with its number). Reason in `why` (may be NULL),
    without the path: the caller names the file. */
ledger_err_t fraud_rules_load_file(fraud_rules_t *rules, const char *path, char *why,
                                   size_t why_size);

/*  Handles funds.reserved (see the top of this file): decides, stores the
    decision and the risk state, emits fraud.approved / fraud.rejected
    {transfer, rules, reason} to NODE_PEER_ACCOUNTS and NODE_PEER_GATEWAY
    (which shows the verdict and its rules in the transfer's timeline). Returns LEDGER_OK also
    when the transfer was already decided (nothing changes).
    Errors: LEDGER_E_INVALID for any other message type (nothing written;
    the runtime nacks it), LEDGER_E_CORRUPT for a stored record that does
    not parse, store and node_ctx_emit errors (the caller aborts the
    transaction: some writes may have been made). */
ledger_err_t fraud_apply(node_ctx_t *ctx, const fraud_rules_t *rules, const proto_msg_t *msg);

/*  Rewrites risk keys of the first layout ('v' / 'p', padded ids; see the
    top of this file) in the compact one, in `txn` (the node's start). A
    compact payee key already present wins (it is newer). *migrated_out
    (may be NULL) gets how many keys were rewritten. LEDGER_E_CORRUPT for a
    padded key that does not parse (nothing is guessed), store errors. */
ledger_err_t fraud_migrate_risk(store_txn_t *txn, size_t *migrated_out);

/*  Reads the decision for `transfer`. LEDGER_E_NOT_FOUND, LEDGER_E_CORRUPT,
    store errors. */
ledger_err_t fraud_decision_get(store_txn_t *txn, const char *transfer, fraud_decision_t *out);

#endif

/*  accounts.h: the accounts node's business logic: balances, holds, the
    immutable ledger, and the accounts side of the transfer saga.

    Pure logic over the store: every function reads and writes only through
    the caller's write transaction (ctx->txn) and the node's balance cache
    that moves with it (ctx->state, see below), and sends messages only
    through node_ctx_emit() (the outbox, same transaction). No sockets, clocks or logs:
    the time is ctx->now_ms. The runtime in nodes/common/ owns the
    transaction, commits it, and acks / nacks the inbound message.

    The saga, as seen from here (DESIGN.md):

      transfer.requested -> validate; decline (transfer.declined to gateway)
                            or hold the amount on the source and send
                            funds.reserved to fraud and gateway
      fraud.approved     -> reserved: debit source, credit destination,
                            transfer.settled to gateway
      fraud.rejected     -> reserved: release the hold,
                            transfer.rejected_fraud to gateway

    Saga guard: every transfer has one record in STORE_DB_TRANSFERS whose
    state only moves forward (reserved -> settled | released; declined is
    final from the start). A message for a step the transfer is already past
    (a redelivery, a replay, a late or contradictory verdict) changes nothing
    and returns LEDGER_OK, so the runtime acks it.

    Errors and writes: all validation happens before the first write, so a
    business refusal never leaves partial writes. A store error returned in
    the middle of a handler (LEDGER_E_MAP_FULL, LEDGER_E_STORE, ...) may
    leave some writes in the transaction: the caller must abort it and roll
    the cache back (the runtime always does both on any error).

    Decline codes (transfer.declined body.code), checked in this order:
      same_account        from == to
      unknown_account     from or to does not exist
      funding_account     from or to is the funding account (it only pays
                          opening deposits; users cannot move money with it)
      currency_mismatch   transfer currency differs from either account's
      insufficient_funds  available (balance - held) of the source < amount
      amount_overflow     crediting the destination would overflow int64
      invalid_amount      amount <= 0 (never passes proto validation; kept
                          so the handler does not depend on it)

    Record formats (all integers big-endian; strings length-prefixed by one
    byte, no terminator; decoding checks every length against the buffer and
    the field's limit, and rejects NUL bytes and trailing bytes):

      STORE_DB_ACCOUNTS  key = account id bytes (no NUL)
        u8 version (ACCOUNTS_RECORD_VERSION = 2; version 1, without
            ledger_seq, is still read as ledger_seq 0)
        u8 flags (bit 0: funding)
        3  currency
        i64 balance_minor, i64 held_minor, u64 created_ms
        u64 ledger_seq (the account's newest ledger entry, 0: none; the head
            of its chain in the ledger, see store_ledger_append)
        u8 id_len, id, u8 name_len, name

      STORE_DB_TRANSFERS key = transfer id bytes (no NUL)
        u8 version (ACCOUNTS_TRANSFER_VERSION = 1)
        u8 state (accounts_transfer_state_t)
        i64 amount_minor
        3  currency
        u64 created_ms, u64 updated_ms
        u8 len + from, u8 len + to, u8 len + code (decline code, "" unless
        declined), u8 len + reference

    Ledger entries (store_ledger_append, hash-chained, append-only) carry the
    account's balance and held amount after the entry, and ctx->now_ms:
      hold     source       balance_delta 0        held_delta +amount
      release  source       balance_delta 0        held_delta -amount
      debit    source       balance_delta -amount  held_delta -amount
      credit   destination  balance_delta +amount  held_delta 0
      open     funding      balance_delta -deposit (transfer = new account id)
      open     new account  balance_delta +deposit (transfer = new account id)
    Every movement of a balance has its opposite leg, so the sum of all
    balances (funding included, which goes negative) is always 0.

    Balances in memory: when ctx->state is an accounts_cache_t (the node
    does this; tests and the bench seeder may not), changed account records
    stay there and reach the accounts table in checkpoints; reads in the
    handlers and queries see them first. New accounts are always written to
    the table. See accounts_cache.h for the checkpoint mark and the replay.

    Thread: functions are called by the one thread that owns the transaction.
*/
#ifndef LEDGER_ACCOUNTS_H
#define LEDGER_ACCOUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ledger_err.h"
#include "node_ctx.h"
#include "proto.h"
#include "store.h"

/* The account that opening deposits are drawn from. */
#define ACCOUNTS_FUNDING_ID "funding"
#define ACCOUNTS_FUNDING_NAME "Funding (opening deposits)"
/* Currency of the funding account, and the only currency accounts can be opened in:
   an opening deposit moves money from the funding account, so both must agree. */
#define ACCOUNTS_CURRENCY "GBP"

#define ACCOUNTS_RECORD_VERSION 2
#define ACCOUNTS_RECORD_VERSION_1 1 /* still read: no ledger_seq (taken as 0) */
#define ACCOUNTS_TRANSFER_VERSION 1
/* Largest encoded account record in bytes: fixed part + id + name. */
#define ACCOUNTS_RECORD_MAX_BYTES (39 + PROTO_ACCOUNT_ID_MAX + PROTO_NAME_MAX)
/* Page size used when a query asks for limit 0; larger limits are cut to PROTO_PAGE_MAX. */
#define ACCOUNTS_PAGE_DEFAULT 50

/* One account as stored. */
typedef struct {
    char id[PROTO_ACCOUNT_ID_MAX + 1];
    char name[PROTO_NAME_MAX + 1];
    char currency[PROTO_CURRENCY_LEN + 1];
    int64_t balance_minor; /* book balance; the funding account's goes negative */
    int64_t held_minor;    /* sum of open holds, 0 <= held <= balance for user accounts */
    bool funding;
    uint64_t created_ms;
    uint64_t ledger_seq; /* newest ledger entry of the account (0: none yet) */
} accounts_record_t;

typedef enum {
    ACCOUNTS_TRANSFER_RESERVED = 1, /* hold placed, waiting for the fraud verdict */
    ACCOUNTS_TRANSFER_SETTLED,      /* final: source debited, destination credited */
    ACCOUNTS_TRANSFER_RELEASED,     /* final: fraud rejected, hold released */
    ACCOUNTS_TRANSFER_DECLINED,     /* final: refused by validation, money never touched */
} accounts_transfer_state_t;

/* Saga state of one transfer. */
typedef struct {
    char id[PROTO_TRANSFER_ID_MAX + 1];
    accounts_transfer_state_t state;
    char from[PROTO_ACCOUNT_ID_MAX + 1];
    char to[PROTO_ACCOUNT_ID_MAX + 1];
    int64_t amount_minor;
    char currency[PROTO_CURRENCY_LEN + 1];
    char code[PROTO_CODE_MAX + 1]; /* decline code; "" unless declined */
    char reference[PROTO_REFERENCE_MAX + 1];
    uint64_t created_ms;
    uint64_t updated_ms;
} accounts_transfer_t;

/* Stable name of a saga state ("reserved", ...); "unknown" for an invalid value. */
const char *accounts_transfer_state_name(accounts_transfer_state_t state);

/* true if `id` is a valid account id: [a-z0-9_-], 1..PROTO_ACCOUNT_ID_MAX bytes. */
bool accounts_id_valid(const char *id);

/*  Encodes `rec` in the account record format above into `buf` (`cap`
    bytes; ACCOUNTS_RECORD_MAX_BYTES always suffice); *len_out gets the size.
    LEDGER_E_INVALID if a field breaks its limit, LEDGER_E_TOO_LARGE if
    `cap` is too small. Pure. */
ledger_err_t accounts_record_encode(const accounts_record_t *rec, uint8_t *buf, size_t cap,
                                    size_t *len_out);

/*  Decodes an account record with bounds checks on every field.
    LEDGER_E_CORRUPT (and *rec_out zeroed) for anything that does not parse:
    short or trailing bytes, unknown version, over-long or NUL-containing
    strings, unknown flag bits. Pure; safe on any bytes. */
ledger_err_t accounts_record_decode(const void *data, size_t size, accounts_record_t *rec_out);

/* Reads the account `id`. LEDGER_E_NOT_FOUND, LEDGER_E_CORRUPT, store errors. */
ledger_err_t accounts_record_get(store_txn_t *txn, const char *id, accounts_record_t *rec_out);

/*  Writes `rec` to the accounts table as it is. LEDGER_E_INVALID (a field
    breaks its limit), store errors. */
ledger_err_t accounts_record_put(store_txn_t *txn, const accounts_record_t *rec);

/*  Reads the account `id` in its reply shape, as of ctx->txn and the node's
    dirty records (ctx->state). Same errors as accounts_record_get. */
ledger_err_t accounts_get(node_ctx_t *ctx, const char *id, proto_account_t *out);

/* Reads the saga state of transfer `id`. LEDGER_E_NOT_FOUND, LEDGER_E_CORRUPT, store errors. */
ledger_err_t accounts_transfer_get(store_txn_t *txn, const char *id, accounts_transfer_t *out);

/*  Applies one saga message (see the top of this file): transfer.requested,
    fraud.approved or fraud.rejected. Writes effects and emits through ctx.
    Returns LEDGER_OK when the message was applied or changed nothing by
    design (known transfer, verdict for an unknown transfer or for one that
    is not reserved; the runtime still acks it).
    Errors: LEDGER_E_INVALID for any other message type (nothing written;
    the runtime nacks it), LEDGER_E_CORRUPT if a stored record does not
    parse or a reserved transfer's account is missing, LEDGER_E_OVERFLOW if
    settling would overflow a balance (credits since the reservation;
    nothing written, the message goes to dead letters for an operator),
    store and node_ctx_emit errors (the caller aborts the transaction). */
ledger_err_t accounts_apply(node_ctx_t *ctx, const proto_msg_t *msg);

/*  Answers an account.query in `reply` (zeroed first; type
    PROTO_ACCOUNT_REPLY, corr copied from the query; the caller fills the
    envelope id, ts and cause). Business outcomes are statuses with codes:
      list    200: accounts ordered by id after query.after, up to limit
              (0 -> ACCOUNTS_PAGE_DEFAULT, cut to PROTO_PAGE_MAX), funding
              account included (flagged); next = last id when more follow.
      get     200 one account; 404 not_found (also for ids that are not valid).
      ledger  200: the account's entries newest first with seq < cursor (0 =
              newest), up to limit; next = decimal seq of the last entry
              returned when more follow; 404 not_found.
              Row amount_minor = balance_delta, or held_delta for hold/release.
      open    201 with the account, created with the opening deposit
              (query.amount_minor >= 0) moved from the funding account (two
              ledger entries kind "open"); an existing id with the same name
              and currency answers 200 with the account as it is now (no
              second deposit, the amount is not compared);
              409 account_exists (other name or currency, or the funding id);
              400 invalid_account_id, invalid_name (empty), unsupported_currency
              (not ACCOUNTS_CURRENCY), invalid_amount (< 0), amount_overflow.
              Creates the funding account if it is missing.
    reply arrays are calloc'd; the caller frees them with proto_msg_release()
    (also on error). Returns LEDGER_OK whenever `reply` holds an answer.
    Errors: LEDGER_E_INVALID if `query` is not an account.query or has an
    unknown op (nothing written), LEDGER_E_NOMEM, LEDGER_E_CORRUPT, store
    errors (the caller aborts the transaction and answers 500). */
ledger_err_t accounts_query(node_ctx_t *ctx, const proto_msg_t *query, proto_msg_t *reply);

/*  Creates the funding account (ACCOUNTS_FUNDING_ID, ACCOUNTS_FUNDING_NAME,
    ACCOUNTS_CURRENCY, funding = true, balance 0) if it is missing; it never
    has a ledger entry of its own creation. LEDGER_E_CORRUPT if an account
    with that id exists but is not the funding account. Store errors. */
ledger_err_t accounts_ensure_funding(node_ctx_t *ctx);

/*  If no account other than the funding account exists, opens the demo
    accounts with opening deposits (pence): alice 100000, bob 25000, carol
    500000, dave 5000, mallory 1000000 (blocklisted by the demo fraud rules).
    Does nothing otherwise, so it is idempotent. Ensures the funding account.
    LEDGER_E_OVERFLOW if the funding account cannot pay the deposits;
    LEDGER_E_CORRUPT; store errors. */
ledger_err_t accounts_seed_demo(node_ctx_t *ctx);

/*  Full integrity check for the admin /ledger/verify endpoint and chaos
    tests: store_ledger_verify (hash chain, contiguous seqs, running after
    values), then every account's recomputed balance and held amount must
    equal the accounts table (an account without ledger entries must have
    0 and 0, an account in the ledger must exist in the table), and the sum
    of all balances must be 0, both in the ledger and in the table. A record
    behind its account's newest entry (not yet checkpointed) must equal the
    entry it names, in the account's chain, and every newer entry must be at
    or after the checkpoint mark (accounts_cache.h); the table's sum counts
    it as the ledger has it.
    Fills *report (report->ok false on the first problem found; problem and
    `why` (may be NULL) describe it). Returns LEDGER_OK when the check ran,
    whatever it found; LEDGER_E_CORRUPT if an account record does not parse;
    store errors. Read-only: a read transaction is enough. */
ledger_err_t accounts_check_ledger(store_txn_t *txn, store_ledger_report_t *report, char *why,
                                   size_t why_size);

#endif

/*  accounts_record.h: the accounts node's two stored records, the account
    and the transfer (saga state): their byte formats, encode / decode, and
    get / put in the store.

    The one home of these formats: the handlers (accounts_saga, accounts_open,
    accounts_query, accounts_verify) and the balance cache (accounts_cache)
    all read and write records through here, so neither includes the other.

    Owns nothing: every function is pure or works through the caller's
    transaction; the caller owns the records it passes in and gets back.

    Record formats (all integers big-endian; strings length-prefixed by one
    byte, no terminator; decoding checks every length against the buffer and
    the field's limit, and rejects NUL bytes and trailing bytes):

      STORE_DB_ACCOUNTS  key = account id bytes (no NUL)
        u8 version (ACCOUNTS_RECORD_VERSION = 4; versions 1 to 3 are still
            read, for the migrations: version 1 without ledger_seq (read as
            0), versions 1 and 2 without owner (read as ""), versions 1 to
            3 without the controls (read as active, overdraft 0,
            entry_count 0: migration "controls_history" counts them))
        u8 flags (bit 0: settlement, the account "funding" of format 2)
        3  currency
        i64 balance_minor, i64 held_minor, u64 created_ms
        u64 ledger_seq (the account's newest ledger entry, 0: none; the head
            of its chain in the ledger, see store_ledger_append)
        u8 id_len, id, u8 name_len, name
        u8 owner_len, owner (version 3: the owning principal; "" only for a
            settlement account)
        version 4 (issue 21) adds:
        u8 status (accounts_account_status_t: 0 active, 1 frozen, 2 closed)
        i64 overdraft_limit_minor (0 .. ACCOUNTS_OVERDRAFT_MAX_MINOR)
        u64 entry_count (the account's ledger entries: every 64th has a
            checkpoint in the index, accounts_history.h)

      STORE_DB_TRANSFERS key = transfer id bytes (no NUL)
        u8 version (ACCOUNTS_TRANSFER_VERSION = 3; versions 1 and 2 are
            still read: version 1, without kind and principal, as kind
            transfer and principal "" (a transfer reserved before issue 18 is
            a plain transfer); versions 1 and 2, without reserved_seq, as
            reserved_seq 0)
        u8 state (accounts_transfer_state_t)
        i64 amount_minor
        3  currency
        u64 created_ms, u64 updated_ms
        u8 len + from, u8 len + to, u8 len + code (decline code, "" unless
        declined), u8 len + reference
        u8 kind (proto_transfer_kind_t), u8 len + principal (versions 2, 3)
        u64 reserved_seq (versions 3, 4): the seq of the funds.reserved this
            node emitted for the transfer, the cause every verdict must cite
            (accounts_saga.h); 0: unknown, a transfer reserved by a build
            before format 4 whose funds.reserved had left the outbox when
            migration 3 -> 4 ran (accounts_migrate.h), or never reserved
        version 4 (issue 21, the payments life cycle; versions 1-3 read as
        an auto-capture transfer with every one of these 0 / ""):
        u8 capture (proto_capture_t: 0 auto, 1 manual)
        u64 expires_at_ms (manual: when the authorisation expires; else 0)
        u64 risk_deadline_ms (when a reserved transfer without a verdict
            times out, accounts_timers.h; 0: no deadline, a transfer
            reserved by a build before format 6 and not given one)
        i64 captured_minor (settled: the amount that moved; 0 before)
        i64 refunded_minor (the sum of this transfer's refunds that are
            reserved or settled; never above captured_minor)
        u8 len + refund_of (a refund: the refunded transfer's id; else "")
        u8 operator_scope (0 / 1: the principal acted as an operator)

    Errors: bad bytes in the store are LEDGER_E_CORRUPT, a missing key
    LEDGER_E_NOT_FOUND, a record that breaks a field's limit on the way in
    LEDGER_E_INVALID; store errors pass through. A NULL transaction or
    record is a programmer error (asserted).

    Thread: the functions that take a transaction are called by the thread
    that owns it; the codec (encode, decode, state names) is thread-safe.
*/
#ifndef LEDGER_ACCOUNTS_RECORD_H
#define LEDGER_ACCOUNTS_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ledger_err.h"
#include "proto.h"
#include "store.h"

#define ACCOUNTS_RECORD_VERSION 4
#define ACCOUNTS_RECORD_VERSION_3 3 /* still read: active, overdraft 0, entry_count 0 */
#define ACCOUNTS_RECORD_VERSION_2 2 /* still read: no owner (taken as "") */
#define ACCOUNTS_RECORD_VERSION_1 1 /* still read: no ledger_seq (taken as 0), no owner */
#define ACCOUNTS_TRANSFER_VERSION 4
#define ACCOUNTS_TRANSFER_VERSION_3 3 /* still read: auto capture, no timers, no refunds */
#define ACCOUNTS_TRANSFER_VERSION_2 2 /* still read: reserved_seq 0 */
/* still read: kind transfer, principal "", reserved_seq 0 */
#define ACCOUNTS_TRANSFER_VERSION_1 1
/* Fixed part of an account record in bytes: version, flags, currency, four u64, three lengths,
   status, overdraft, entry_count. */
#define ACCOUNTS_RECORD_FIXED_BYTES (1 + 1 + PROTO_CURRENCY_LEN + 4 * 8 + 3 + 1 + 8 + 8)
/* The largest overdraft limit an account may have (10^15 minor units). */
#define ACCOUNTS_OVERDRAFT_MAX_MINOR 1000000000000000ll
/* Largest encoded account record in bytes: fixed part + id + name + owner. */
#define ACCOUNTS_RECORD_MAX_BYTES                                                                  \
    (ACCOUNTS_RECORD_FIXED_BYTES + 2 * PROTO_ACCOUNT_ID_MAX + PROTO_NAME_MAX)

/* Fixed part of a transfer record in bytes: version, state, amount, currency, three u64, kind,
   five lengths; version 4: capture, four u64, the refund_of length, operator_scope. */
#define ACCOUNTS_TRANSFER_FIXED_BYTES                                                              \
    (1 + 1 + 8 + PROTO_CURRENCY_LEN + 3 * 8 + 1 + 5 + 1 + 4 * 8 + 1 + 1)
/* The bytes version 4 adds after reserved_seq when refund_of is "" (what an older record lacks). */
#define ACCOUNTS_TRANSFER_V4_EXTRA_BYTES (1 + 4 * 8 + 1 + 1)
/* Largest encoded transfer record in bytes: fixed part + six length-prefixed strings. */
#define ACCOUNTS_TRANSFER_MAX_BYTES                                                                \
    (ACCOUNTS_TRANSFER_FIXED_BYTES + 3 * PROTO_ACCOUNT_ID_MAX + PROTO_CODE_MAX +                   \
     PROTO_REFERENCE_MAX + PROTO_TRANSFER_ID_MAX)

/*  An account's status (issue 21; accounts_controls.h says what each allows).
    The values are stored: append only. */
typedef enum {
    ACCOUNTS_ACCOUNT_ACTIVE = 0,
    ACCOUNTS_ACCOUNT_FROZEN = 1, /* debits declined account_frozen, credits accepted */
    ACCOUNTS_ACCOUNT_CLOSED = 2, /* final: every movement declined account_closed */
} accounts_account_status_t;

/* "active", "frozen", "closed"; NULL for an invalid value. Pure. */
const char *accounts_record_status_name(accounts_account_status_t status);
/* The status named `name`; false if it names none. Pure. */
bool accounts_record_status_parse(const char *name, accounts_account_status_t *status_out);

/* One account as stored. */
typedef struct {
    char id[PROTO_ACCOUNT_ID_MAX + 1];
    char name[PROTO_NAME_MAX + 1];
    char currency[PROTO_CURRENCY_LEN + 1];
    int64_t balance_minor; /* book balance; a settlement account's goes negative */
    int64_t held_minor;    /* sum of open holds, 0 <= held <= balance for user accounts */
    bool settlement;       /* the settlement account of its currency (proto_settlement_id) */
    char owner[PROTO_ACCOUNT_ID_MAX + 1]; /* owning principal; "" for a settlement account */
    uint64_t created_ms;
    uint64_t ledger_seq; /* newest ledger entry of the account (0: none yet) */
    accounts_account_status_t status;
    int64_t overdraft_limit_minor; /* 0 .. ACCOUNTS_OVERDRAFT_MAX_MINOR */
    uint64_t entry_count;          /* the account's ledger entries (its chain's length) */
} accounts_record_t;

typedef enum {
    ACCOUNTS_TRANSFER_RESERVED = 1, /* hold placed, waiting for the fraud verdict */
    ACCOUNTS_TRANSFER_SETTLED,      /* final: source debited, destination credited */
    ACCOUNTS_TRANSFER_RELEASED,     /* final: fraud rejected, hold released */
    ACCOUNTS_TRANSFER_DECLINED,     /* final: refused by validation, money never touched */
    ACCOUNTS_TRANSFER_AUTHORIZED,   /* fraud approved a manual transfer: hold kept until capture */
    ACCOUNTS_TRANSFER_VOIDED,       /* final: an authorisation voided, hold released */
    ACCOUNTS_TRANSFER_EXPIRED,      /* final: an authorisation past expires_at_ms, hold released */
    ACCOUNTS_TRANSFER_TIMED_OUT,    /* final: no verdict within --risk-timeout-ms, hold released */
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
    proto_transfer_kind_t kind;
    char principal[PROTO_ACCOUNT_ID_MAX + 1]; /* who asked; "" for a version-1 record */
    uint64_t reserved_seq;     /* seq of this node's funds.reserved for it; 0: unknown (above) */
    uint8_t capture;           /* proto_capture_t: PROTO_CAPTURE_AUTO or PROTO_CAPTURE_MANUAL */
    uint64_t expires_at_ms;    /* manual: the authorisation's expiry; auto: 0 */
    uint64_t risk_deadline_ms; /* reserved: when it times out without a verdict; 0: none */
    int64_t captured_minor;    /* settled: the amount that moved (auto: amount_minor) */
    int64_t refunded_minor;    /* refunds of this transfer, reserved or settled */
    char refund_of[PROTO_TRANSFER_ID_MAX + 1]; /* a refund: the refunded transfer; else "" */
    bool operator_scope;                       /* the principal acted as an operator */
    uint8_t version; /* as read (decode); the encoder always writes the newest */
} accounts_transfer_t;

/* Stable name of a saga state ("reserved", ...); "unknown" for an invalid value. */
const char *accounts_record_transfer_state_name(accounts_transfer_state_t state);

/*  Encodes `rec` in the account record format above into `buf` (`cap`
    bytes; ACCOUNTS_RECORD_MAX_BYTES always suffice); *len_out gets the size.
    LEDGER_E_INVALID if a field breaks its limit, LEDGER_E_TOO_LARGE if
    `cap` is too small. Pure. */
ledger_err_t accounts_record_encode(const accounts_record_t *rec, uint8_t *buf, size_t cap,
                                    size_t *len_out);

/*  Decodes an account record with bounds checks on every field.
    LEDGER_E_CORRUPT (and *rec_out zeroed) for anything that does not parse:
    short or trailing bytes, unknown version, over-long or NUL-containing
    strings, unknown flag bits, an owner that is not a principal id, an
    unknown status, an overdraft limit out of its range. Pure;
    safe on any bytes. */
ledger_err_t accounts_record_decode(const void *data, size_t size, accounts_record_t *rec_out);

/*  Reads the account `id` from the accounts table (not the balance cache:
    see accounts_book_load). LEDGER_E_NOT_FOUND, LEDGER_E_CORRUPT, store
    errors. */
ledger_err_t accounts_record_get(store_txn_t *txn, const char *id, accounts_record_t *rec_out);

/*  Writes `rec` to the accounts table as it is. LEDGER_E_INVALID (a field
    breaks its limit), store errors. */
ledger_err_t accounts_record_put(store_txn_t *txn, const accounts_record_t *rec);

/*  Decodes the transfer record `data` (`size` bytes) stored under key `id`
    (a transfer id: not in the record) into *out, with bounds checks on every
    field. LEDGER_E_CORRUPT (and *out zeroed) for anything that does not
    parse (short or trailing bytes, unknown version, state or kind, an id
    that is not a stored key's). Pure; safe on any bytes. */
ledger_err_t accounts_record_transfer_decode(const char *id, const void *data, size_t size,
                                             accounts_transfer_t *out);

/*  Encodes `tr` as the newest transfer record version into `buf` (`cap`
    bytes; ACCOUNTS_TRANSFER_MAX_BYTES always suffice); *len_out gets the size. Its fields must be
    within their limits and its state valid (asserted, as for _put).
    LEDGER_E_TOO_LARGE if `cap` is too small. Pure. */
ledger_err_t accounts_record_transfer_encode(const accounts_transfer_t *tr, uint8_t *buf,
                                             size_t cap, size_t *len_out);

/*  Reads the saga state of transfer `id`. LEDGER_E_NOT_FOUND,
    LEDGER_E_CORRUPT, store errors. */
ledger_err_t accounts_record_transfer_get(store_txn_t *txn, const char *id,
                                          accounts_transfer_t *out);

/*  Writes the saga state `tr` under its id. Its fields must be within their
    limits and its state valid (asserted: the handlers build it from a
    validated message). Store errors. */
ledger_err_t accounts_record_transfer_put(store_txn_t *txn, const accounts_transfer_t *tr);

#endif

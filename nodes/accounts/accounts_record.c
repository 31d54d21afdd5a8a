/*  accounts_record.c: the account and transfer records: codec and store
    access. Formats and errors: accounts_record.h. */
#include "accounts_record.h"

#include <assert.h>
#include <string.h>

#include "record.h"
#include "text.h"

#define ACCOUNT_FLAG_SETTLEMENT 0x01u
#define ACCOUNT_FLAGS_KNOWN ACCOUNT_FLAG_SETTLEMENT

static const char *const status_names[] = {
    [ACCOUNTS_ACCOUNT_ACTIVE] = "active",
    [ACCOUNTS_ACCOUNT_FROZEN] = "frozen",
    [ACCOUNTS_ACCOUNT_CLOSED] = "closed",
};
#define STATUS_COUNT (sizeof status_names / sizeof status_names[0])

const char *accounts_record_status_name(accounts_account_status_t status)
{
    return (unsigned)status < STATUS_COUNT ? status_names[status] : NULL;
}

bool accounts_record_status_parse(const char *name, accounts_account_status_t *status_out)
{
    assert(status_out);
    for (size_t i = 0; name && i < STATUS_COUNT; i++) {
        if (strcmp(name, status_names[i]) == 0) {
            *status_out = (accounts_account_status_t)i;
            return true;
        }
    }
    return false;
}

/* The controls' values are in range (version 4's fields). */
static bool controls_valid(const accounts_record_t *rec)
{
    return accounts_record_status_name(rec->status) && rec->overdraft_limit_minor >= 0 &&
           rec->overdraft_limit_minor <= ACCOUNTS_OVERDRAFT_MAX_MINOR;
}

const char *accounts_record_transfer_state_name(accounts_transfer_state_t state)
{
    switch (state) {
    case ACCOUNTS_TRANSFER_RESERVED:
        return "reserved";
    case ACCOUNTS_TRANSFER_SETTLED:
        return "settled";
    case ACCOUNTS_TRANSFER_RELEASED:
        return "released";
    case ACCOUNTS_TRANSFER_DECLINED:
        return "declined";
    case ACCOUNTS_TRANSFER_AUTHORIZED:
        return "authorized";
    case ACCOUNTS_TRANSFER_VOIDED:
        return "voided";
    case ACCOUNTS_TRANSFER_EXPIRED:
        return "expired";
    case ACCOUNTS_TRANSFER_TIMED_OUT:
        return "timed_out";
    }
    return "unknown";
}

/* --- account records ----------------------------------------------------- */

ledger_err_t accounts_record_encode(const accounts_record_t *rec, uint8_t *buf, size_t cap,
                                    size_t *len_out)
{
    assert(rec && buf && len_out);
    if (!proto_account_id_valid_str(rec->id) ||
        strnlen(rec->name, PROTO_NAME_MAX + 1) > PROTO_NAME_MAX ||
        !proto_currency_valid(rec->currency) ||
        (rec->owner[0] != '\0' && !proto_account_id_valid_str(rec->owner)) || !controls_valid(rec))
        return LEDGER_E_INVALID;
    record_writer_t w = {buf, cap, 0, true};
    record_put_u8(&w, ACCOUNTS_RECORD_VERSION);
    record_put_u8(&w, rec->settlement ? ACCOUNT_FLAG_SETTLEMENT : 0);
    record_put_bytes(&w, rec->currency, PROTO_CURRENCY_LEN);
    record_put_u64(&w, (uint64_t)rec->balance_minor);
    record_put_u64(&w, (uint64_t)rec->held_minor);
    record_put_u64(&w, rec->created_ms);
    record_put_u64(&w, rec->ledger_seq);
    record_put_str8(&w, rec->id);
    record_put_str8(&w, rec->name);
    record_put_str8(&w, rec->owner);
    record_put_u8(&w, (uint8_t)rec->status);
    record_put_i64(&w, rec->overdraft_limit_minor);
    record_put_u64(&w, rec->entry_count);
    if (!w.ok)
        return LEDGER_E_TOO_LARGE;
    *len_out = w.len;
    return LEDGER_OK;
}

ledger_err_t accounts_record_decode(const void *data, size_t size, accounts_record_t *rec_out)
{
    assert(rec_out);
    accounts_record_t rec;
    memset(&rec, 0, sizeof rec);
    record_reader_t r = {data, data ? size : 0, 0, data != NULL};
    uint8_t version = record_get_u8(&r);
    uint8_t flags = record_get_u8(&r);
    record_get_fixed(&r, rec.currency, PROTO_CURRENCY_LEN);
    rec.balance_minor = (int64_t)record_get_u64(&r);
    rec.held_minor = (int64_t)record_get_u64(&r);
    rec.created_ms = record_get_u64(&r);
    /* Version 1 had no ledger_seq. The migration from ledger format 1
       (accounts_migrate.h) rewrites the records of accounts with entries, so a
       version-1 record left is of an account that has none: 0. */
    if (version != ACCOUNTS_RECORD_VERSION_1)
        rec.ledger_seq = record_get_u64(&r);
    record_get_str8(&r, rec.id, PROTO_ACCOUNT_ID_MAX);
    record_get_str8(&r, rec.name, PROTO_NAME_MAX);
    /* Versions 1 and 2 had no owner: migration 2 -> 3 (accounts_migrate.h) gives every
       account one. */
    if (version == ACCOUNTS_RECORD_VERSION || version == ACCOUNTS_RECORD_VERSION_3)
        record_get_str8(&r, rec.owner, PROTO_ACCOUNT_ID_MAX);
    /* Versions 1 to 3 had no controls: active, no overdraft; migration "controls_history"
       (accounts_migrate.h) counts their entries. */
    if (version == ACCOUNTS_RECORD_VERSION) {
        rec.status = (accounts_account_status_t)record_get_u8(&r);
        rec.overdraft_limit_minor = record_get_i64(&r);
        rec.entry_count = record_get_u64(&r);
    }
    rec.settlement = (flags & ACCOUNT_FLAG_SETTLEMENT) != 0;
    if (!record_done(&r) || version < ACCOUNTS_RECORD_VERSION_1 ||
        version > ACCOUNTS_RECORD_VERSION || !controls_valid(&rec) ||
        (flags & ~ACCOUNT_FLAGS_KNOWN) || !proto_currency_valid(rec.currency) ||
        !proto_account_id_valid_str(rec.id) ||
        (rec.owner[0] != '\0' && !proto_account_id_valid_str(rec.owner))) {
        memset(rec_out, 0, sizeof *rec_out);
        return LEDGER_E_CORRUPT;
    }
    *rec_out = rec;
    return LEDGER_OK;
}

ledger_err_t accounts_record_get(store_txn_t *txn, const char *id, accounts_record_t *rec_out)
{
    assert(txn && id && rec_out);
    size_t n = text_len_within(id, PROTO_ACCOUNT_ID_MAX);
    if (n == 0)
        return LEDGER_E_NOT_FOUND; /* no such key can exist */
    const void *val;
    size_t val_size;
    ledger_err_t err = store_get(txn, STORE_DB_ACCOUNTS, id, n, &val, &val_size);
    if (err)
        return err;
    err = accounts_record_decode(val, val_size, rec_out);
    if (err)
        return err;
    if (strcmp(rec_out->id, id) != 0)
        return LEDGER_E_CORRUPT; /* a record stored under another account's key */
    return LEDGER_OK;
}

ledger_err_t accounts_record_put(store_txn_t *txn, const accounts_record_t *rec)
{
    assert(txn && rec);
    uint8_t buf[ACCOUNTS_RECORD_MAX_BYTES];
    size_t len;
    ledger_err_t err = accounts_record_encode(rec, buf, sizeof buf, &len);
    if (err)
        return err;
    return store_put(txn, STORE_DB_ACCOUNTS, rec->id, strlen(rec->id), buf, len, 0);
}

/* --- transfer (saga state) records --------------------------------------- */

static bool state_valid(unsigned state)
{
    return state >= ACCOUNTS_TRANSFER_RESERVED && state <= ACCOUNTS_TRANSFER_TIMED_OUT;
}

ledger_err_t accounts_record_transfer_encode(const accounts_transfer_t *tr, uint8_t *buf,
                                             size_t cap, size_t *len_out)
{
    assert(tr && buf && len_out);
    assert(text_len_within(tr->id, PROTO_TRANSFER_ID_MAX) > 0 && state_valid(tr->state));
    assert(strlen(tr->from) <= PROTO_ACCOUNT_ID_MAX && strlen(tr->to) <= PROTO_ACCOUNT_ID_MAX);
    assert(strlen(tr->code) <= PROTO_CODE_MAX && strlen(tr->reference) <= PROTO_REFERENCE_MAX);
    assert(strlen(tr->principal) <= PROTO_ACCOUNT_ID_MAX && proto_transfer_kind_name(tr->kind));
    assert(strlen(tr->refund_of) <= PROTO_TRANSFER_ID_MAX && tr->capture <= 1);
    record_writer_t w = {buf, cap, 0, true};
    record_put_u8(&w, ACCOUNTS_TRANSFER_VERSION);
    record_put_u8(&w, (uint8_t)tr->state);
    record_put_u64(&w, (uint64_t)tr->amount_minor);
    record_put_bytes(&w, tr->currency, PROTO_CURRENCY_LEN);
    record_put_u64(&w, tr->created_ms);
    record_put_u64(&w, tr->updated_ms);
    record_put_str8(&w, tr->from);
    record_put_str8(&w, tr->to);
    record_put_str8(&w, tr->code);
    record_put_str8(&w, tr->reference);
    record_put_u8(&w, (uint8_t)tr->kind);
    record_put_str8(&w, tr->principal);
    record_put_u64(&w, tr->reserved_seq);
    record_put_u8(&w, tr->capture);
    record_put_u64(&w, tr->expires_at_ms);
    record_put_u64(&w, tr->risk_deadline_ms);
    record_put_u64(&w, (uint64_t)tr->captured_minor);
    record_put_u64(&w, (uint64_t)tr->refunded_minor);
    record_put_str8(&w, tr->refund_of);
    record_put_u8(&w, tr->operator_scope ? 1 : 0);
    if (!w.ok)
        return LEDGER_E_TOO_LARGE;
    *len_out = w.len;
    return LEDGER_OK;
}

ledger_err_t accounts_record_transfer_put(store_txn_t *txn, const accounts_transfer_t *tr)
{
    assert(txn && tr);
    uint8_t buf[ACCOUNTS_TRANSFER_MAX_BYTES];
    size_t len;
    ledger_err_t err = accounts_record_transfer_encode(tr, buf, sizeof buf, &len);
    assert(err == LEDGER_OK); /* the buffer fits the largest record */
    (void)err;
    return store_put(txn, STORE_DB_TRANSFERS, tr->id, strlen(tr->id), buf, len, 0);
}

/* The fields version 4 added (accounts_record.h); bytes are checked by the caller. */
static void transfer_decode_v4(record_reader_t *r, accounts_transfer_t *tr, uint8_t *capture,
                               uint8_t *operator_scope)
{
    *capture = record_get_u8(r);
    tr->expires_at_ms = record_get_u64(r);
    tr->risk_deadline_ms = record_get_u64(r);
    tr->captured_minor = (int64_t)record_get_u64(r);
    tr->refunded_minor = (int64_t)record_get_u64(r);
    record_get_str8(r, tr->refund_of, PROTO_TRANSFER_ID_MAX);
    *operator_scope = record_get_u8(r);
}

ledger_err_t accounts_record_transfer_decode(const char *id, const void *data, size_t size,
                                             accounts_transfer_t *out)
{
    assert(id && out);
    accounts_transfer_t tr;
    memset(&tr, 0, sizeof tr);
    size_t id_len = text_len_within(id, PROTO_TRANSFER_ID_MAX);
    text_copy(tr.id, sizeof tr.id, id);
    record_reader_t r = {data, data ? size : 0, 0, data != NULL};
    uint8_t version = record_get_u8(&r);
    uint8_t state = record_get_u8(&r);
    tr.amount_minor = (int64_t)record_get_u64(&r);
    record_get_fixed(&r, tr.currency, PROTO_CURRENCY_LEN);
    tr.created_ms = record_get_u64(&r);
    tr.updated_ms = record_get_u64(&r);
    record_get_str8(&r, tr.from, PROTO_ACCOUNT_ID_MAX);
    record_get_str8(&r, tr.to, PROTO_ACCOUNT_ID_MAX);
    record_get_str8(&r, tr.code, PROTO_CODE_MAX);
    record_get_str8(&r, tr.reference, PROTO_REFERENCE_MAX);
    uint8_t kind = PROTO_TRANSFER_KIND_TRANSFER; /* all a version-1 record can be */
    if (version != ACCOUNTS_TRANSFER_VERSION_1) {
        kind = record_get_u8(&r);
        record_get_str8(&r, tr.principal, PROTO_ACCOUNT_ID_MAX);
    }
    /* Versions 1 and 2 had no reserved_seq: 0, the verdict's cause is checked by origin only
       (accounts_saga.h); migration 3 -> 4 fills it where the outbox still knows it. */
    if (version == ACCOUNTS_TRANSFER_VERSION || version == ACCOUNTS_TRANSFER_VERSION_3)
        tr.reserved_seq = record_get_u64(&r);
    /* Versions 1-3 knew only auto capture and no refunds: the fields below read as 0 / "". */
    uint8_t capture = 0, operator_scope = 0;
    if (version == ACCOUNTS_TRANSFER_VERSION)
        transfer_decode_v4(&r, &tr, &capture, &operator_scope);
    if (!record_done(&r) || id_len == 0 || version < ACCOUNTS_TRANSFER_VERSION_1 ||
        version > ACCOUNTS_TRANSFER_VERSION || !state_valid(state) ||
        !proto_transfer_kind_name((proto_transfer_kind_t)kind) || capture > 1 ||
        operator_scope > 1 || tr.captured_minor < 0 || tr.refunded_minor < 0) {
        memset(out, 0, sizeof *out);
        return LEDGER_E_CORRUPT;
    }
    tr.kind = (proto_transfer_kind_t)kind;
    tr.capture = capture;
    tr.operator_scope = operator_scope != 0;
    tr.state = (accounts_transfer_state_t)state;
    tr.version = version;
    *out = tr;
    return LEDGER_OK;
}

ledger_err_t accounts_record_transfer_get(store_txn_t *txn, const char *id,
                                          accounts_transfer_t *out)
{
    assert(txn && id && out);
    size_t id_len = text_len_within(id, PROTO_TRANSFER_ID_MAX);
    if (id_len == 0)
        return LEDGER_E_NOT_FOUND;
    const void *val;
    size_t size;
    ledger_err_t err = store_get(txn, STORE_DB_TRANSFERS, id, id_len, &val, &size);
    if (err)
        return err;
    return accounts_record_transfer_decode(id, val, size, out);
}

/*  store_ledger.c: the append-only, hash-chained ledger (store.h, "ledger").

    Each entry is a fixed-layout binary record (core/record.h) under its
    be64 seq; its hash covers the previous entry's hash and its own fields,
    so rewriting any entry breaks every hash after it (store_verify.c walks
    the chain). Each account's entries also form a chain of their own
    through account_prev_seq, which store_ledger_by_account follows.
*/
#include "store.h"
#include "store_internal.h"

#include <assert.h>
#include <string.h>

#include "money.h"
#include "record.h"
#include "sha256.h"

/*  Ledger record, version LEDGER_RECORD_VERSION (2):
      u8 version | fields | prev_hash[32] | hash[32]
    where fields =
      be64 seq | be64 account_prev_seq | u8 account_len | account |
      u8 transfer_len | transfer |
      u8 kind_len | kind | be64 balance_delta | be64 held_delta |
      be64 balance_after | be64 held_after | be64 ts_ms
    and hash = SHA-256(prev_hash || fields). Signed values are stored as
    their two's complement bit pattern.
    Version LEDGER_RECORD_VERSION_MEMO (3, issue 21) is version 2 with
      u8 memo_len (1 .. STORE_MEMO_MAX) | memo
    at the end of the fields (so in the hash). Append writes version 2 for
    memo "" (every money entry: its bytes and hash are as before) and
    version 3 otherwise; a version 3 with an empty memo does not parse. */
#define LEDGER_VERSION_BYTES 1
#define LEDGER_FIELDS_FIXED_BYTES (8 + 8 + 1 + 1 + 1 + 8 * 4 + 8)
#define LEDGER_FIELDS_MAX_BYTES                                                                    \
    (LEDGER_FIELDS_FIXED_BYTES + STORE_ACCOUNT_MAX + STORE_TRANSFER_MAX + STORE_KIND_MAX + 1 +     \
     STORE_MEMO_MAX)
#define LEDGER_RECORD_MAX_BYTES                                                                    \
    (LEDGER_VERSION_BYTES + LEDGER_FIELDS_MAX_BYTES + 2 * STORE_HASH_SIZE)
#define LEDGER_HASH_PARTS 2 /* prev_hash, fields */

_Static_assert(STORE_ACCOUNT_MAX <= UINT8_MAX, "account length fits a u8");
_Static_assert(STORE_TRANSFER_MAX <= UINT8_MAX, "transfer length fits a u8");
_Static_assert(STORE_KIND_MAX <= UINT8_MAX, "kind length fits a u8");
_Static_assert(STORE_MEMO_MAX <= UINT8_MAX, "memo length fits a u8");

/* --- records -------------------------------------------------------------- */

/* Validates the caller's text fields of `entry`. */
static bool ledger_fields_ok(const store_ledger_entry_t *entry)
{
    size_t len;
    return store_text_ok(entry->account, STORE_ACCOUNT_MAX, false, &len) &&
           store_text_ok(entry->transfer, STORE_TRANSFER_MAX, true, &len) &&
           store_text_ok(entry->kind, STORE_KIND_MAX, false, &len) &&
           store_text_ok(entry->memo, STORE_MEMO_MAX, true, &len);
}

/* Writes the hashed fields of `entry` (seq included). */
static void ledger_put_fields(record_writer_t *w, const store_ledger_entry_t *entry)
{
    record_put_u64(w, entry->seq);
    record_put_u64(w, entry->account_prev_seq);
    record_put_str8(w, entry->account);
    record_put_str8(w, entry->transfer);
    record_put_str8(w, entry->kind);
    record_put_i64(w, entry->balance_delta_minor);
    record_put_i64(w, entry->held_delta_minor);
    record_put_i64(w, entry->balance_after_minor);
    record_put_i64(w, entry->held_after_minor);
    record_put_u64(w, entry->ts_ms);
    if (entry->memo[0])
        record_put_str8(w, entry->memo);
}

/*  Reads the hashed fields of a record of `version` into `entry`; an empty
    account or kind, or an empty memo in a version 3, is malformed. */
static void ledger_get_fields(record_reader_t *r, uint8_t version, store_ledger_entry_t *entry)
{
    entry->seq = record_get_u64(r);
    entry->account_prev_seq = record_get_u64(r);
    record_get_str8(r, entry->account, STORE_ACCOUNT_MAX);
    record_get_str8(r, entry->transfer, STORE_TRANSFER_MAX);
    record_get_str8(r, entry->kind, STORE_KIND_MAX);
    if (!entry->account[0] || !entry->kind[0])
        r->ok = false;
    entry->balance_delta_minor = record_get_i64(r);
    entry->held_delta_minor = record_get_i64(r);
    entry->balance_after_minor = record_get_i64(r);
    entry->held_after_minor = record_get_i64(r);
    entry->ts_ms = record_get_u64(r);
    if (version == LEDGER_RECORD_VERSION_MEMO) {
        record_get_str8(r, entry->memo, STORE_MEMO_MAX);
        if (!entry->memo[0])
            r->ok = false;
    }
}

ledger_err_t store_ledger_hash(const uint8_t prev_hash[STORE_HASH_SIZE], const uint8_t *fields,
                               size_t fields_size, uint8_t out[STORE_HASH_SIZE])
{
    const sha256_part_t parts[LEDGER_HASH_PARTS] = {{prev_hash, STORE_HASH_SIZE},
                                                    {fields, fields_size}};
    return sha256_parts(parts, LEDGER_HASH_PARTS, out);
}

bool store_ledger_parse(const MDB_val *val, store_ledger_entry_t *out, const uint8_t **fields_out,
                        size_t *fields_size_out)
{
    record_reader_t r = {val->mv_data, val->mv_size, 0, true};
    store_ledger_entry_t entry;
    memset(&entry, 0, sizeof entry);
    uint8_t version = record_get_u8(&r);
    if (version != LEDGER_RECORD_VERSION && version != LEDGER_RECORD_VERSION_MEMO)
        return false;
    size_t fields_start = r.pos;
    ledger_get_fields(&r, version, &entry);
    size_t fields_size = r.ok ? r.pos - fields_start : 0;
    const uint8_t *prev_hash = record_take(&r, STORE_HASH_SIZE);
    const uint8_t *hash = record_take(&r, STORE_HASH_SIZE);
    if (!record_done(&r))
        return false;
    memcpy(entry.prev_hash, prev_hash, STORE_HASH_SIZE);
    memcpy(entry.hash, hash, STORE_HASH_SIZE);
    *out = entry;
    if (fields_out)
        *fields_out = r.p + fields_start;
    if (fields_size_out)
        *fields_size_out = fields_size;
    return true;
}

/*  Reads and parses the ledger entry under `k` into *out_arg (a
    store_ledger_entry_t; a store_decode_fn); its seq must match its key. */
static ledger_err_t ledger_decode(store_txn_t *txn, const MDB_val *k, const MDB_val *v,
                                  void *out_arg)
{
    store_ledger_entry_t *out = out_arg;
    if (k->mv_size != STORE_BE64_BYTES)
        return store_corrupt(txn, STORE_DB_LEDGER, 0, "key is not 8 bytes");
    uint64_t seq = store_be64_get(k->mv_data);
    if (!store_ledger_parse(v, out, NULL, NULL))
        return store_corrupt(txn, STORE_DB_LEDGER, seq, "record does not parse");
    if (out->seq != seq)
        return store_corrupt(txn, STORE_DB_LEDGER, seq, "record seq differs from its key");
    return LEDGER_OK;
}

/* --- append --------------------------------------------------------------- */

/*  The ledger's last record as `txn` sees it, into *k / *v (valid until the
    transaction writes again); *found_out false for an empty ledger. */
static ledger_err_t ledger_last_record(store_txn_t *txn, MDB_val *k, MDB_val *v, bool *found_out)
{
    MDB_cursor *cursor;
    ledger_err_t err = store_db_cursor_open(txn, STORE_DB_LEDGER, &cursor);
    if (err != LEDGER_OK)
        return err;
    int rc = mdb_cursor_get(cursor, k, v, MDB_LAST);
    mdb_cursor_close(cursor);
    *found_out = rc == 0;
    if (rc != 0 && rc != MDB_NOTFOUND)
        return store_txn_rc(txn, rc, "mdb_cursor_get (ledger)");
    return LEDGER_OK;
}

/*  The seq the next entry gets and the hash it chains onto (zeros for the
    first): from what this transaction appended last, else from the ledger's
    last record. */
static ledger_err_t ledger_tip(store_txn_t *txn, uint64_t *next_seq_out,
                               uint8_t prev_hash_out[STORE_HASH_SIZE], uint64_t *prev_ts_out)
{
    if (txn->ledger_tip_known) {
        if (txn->ledger_tip_seq == UINT64_MAX)
            return LEDGER_E_OVERFLOW;
        *next_seq_out = txn->ledger_tip_seq + 1;
        memcpy(prev_hash_out, txn->ledger_tip_hash, STORE_HASH_SIZE);
        *prev_ts_out = txn->ledger_tip_ts_ms;
        return LEDGER_OK;
    }
    MDB_val k, v;
    bool found;
    ledger_err_t err = ledger_last_record(txn, &k, &v, &found);
    if (err != LEDGER_OK || !found)
        return err;
    store_ledger_entry_t last;
    err = ledger_decode(txn, &k, &v, &last);
    if (err == LEDGER_OK && last.seq == UINT64_MAX)
        err = LEDGER_E_OVERFLOW;
    if (err == LEDGER_OK) {
        *next_seq_out = last.seq + 1;
        memcpy(prev_hash_out, last.hash, STORE_HASH_SIZE);
        *prev_ts_out = last.ts_ms;
    }
    return err;
}

/*  The after values must continue the account's running sums: those of the
    entry the caller names as the account's previous one. */
static ledger_err_t ledger_check_running_sums(store_txn_t *txn, const store_ledger_entry_t *entry)
{
    int64_t balance = 0, held = 0;
    if (entry->account_prev_seq) {
        store_ledger_entry_t previous;
        ledger_err_t err = store_ledger_get(txn, entry->account_prev_seq, &previous);
        if (err == LEDGER_E_NOT_FOUND ||
            (err == LEDGER_OK && strcmp(previous.account, entry->account) != 0)) {
            store_set_error(txn->store,
                            "ledger append for %s: entry %llu is not one of its entries",
                            entry->account, (unsigned long long)entry->account_prev_seq);
            return LEDGER_E_INVALID;
        }
        if (err != LEDGER_OK)
            return err;
        balance = previous.balance_after_minor;
        held = previous.held_after_minor;
    }
    if (money_add(balance, entry->balance_delta_minor, &balance) != LEDGER_OK ||
        money_add(held, entry->held_delta_minor, &held) != LEDGER_OK)
        return LEDGER_E_OVERFLOW;
    if (balance != entry->balance_after_minor || held != entry->held_after_minor) {
        store_set_error(txn->store,
                        "ledger append for %s: after values (%lld, %lld) do not continue the "
                        "account's running sums (%lld, %lld)",
                        entry->account, (long long)entry->balance_after_minor,
                        (long long)entry->held_after_minor, (long long)balance, (long long)held);
        return LEDGER_E_INVALID;
    }
    return LEDGER_OK;
}

/*  Writes `stored` (seq and prev_hash set) at the end of the ledger, its
    hash computed into stored->hash, and remembers it as the tip. */
static ledger_err_t ledger_write(store_txn_t *txn, store_ledger_entry_t *stored)
{
    uint8_t record[LEDGER_RECORD_MAX_BYTES];
    record_writer_t w = {record, sizeof record, 0, true};
    record_put_u8(&w, stored->memo[0] ? LEDGER_RECORD_VERSION_MEMO : LEDGER_RECORD_VERSION);
    ledger_put_fields(&w, stored);
    ledger_err_t err = store_ledger_hash(stored->prev_hash, record + LEDGER_VERSION_BYTES,
                                         w.len - LEDGER_VERSION_BYTES, stored->hash);
    if (err != LEDGER_OK)
        return err;
    record_put_bytes(&w, stored->prev_hash, STORE_HASH_SIZE);
    record_put_bytes(&w, stored->hash, STORE_HASH_SIZE);
    assert(w.ok);

    uint8_t key[STORE_BE64_BYTES];
    store_be64_put(key, stored->seq);
    MDB_val k = store_mval(key, sizeof key), v = store_mval(record, w.len);
    err = store_txn_rc(txn, mdb_put(txn->txn, txn->store->dbi[STORE_DB_LEDGER], &k, &v, MDB_APPEND),
                       "mdb_put (ledger)");
    if (err != LEDGER_OK)
        return err;
    txn->ledger_tip_known = true;
    txn->ledger_tip_seq = stored->seq;
    memcpy(txn->ledger_tip_hash, stored->hash, STORE_HASH_SIZE);
    txn->ledger_tip_ts_ms = stored->ts_ms;
    return LEDGER_OK;
}

ledger_err_t store_ledger_append(store_txn_t *txn, store_ledger_entry_t *entry)
{
    return store_ledger_append_clamped(txn, entry, true);
}

ledger_err_t store_ledger_append_clamped(store_txn_t *txn, store_ledger_entry_t *entry, bool clamp)
{
    assert(txn);
    if (!txn->write || !entry || !ledger_fields_ok(entry))
        return LEDGER_E_INVALID;
    ledger_err_t err = ledger_check_running_sums(txn, entry);
    if (err != LEDGER_OK)
        return err;
    /* Chain onto the last entry. */
    store_ledger_entry_t stored = *entry;
    stored.seq = 1;
    memset(stored.prev_hash, 0, STORE_HASH_SIZE);
    uint64_t prev_ts_ms = 0;
    err = ledger_tip(txn, &stored.seq, stored.prev_hash, &prev_ts_ms);
    if (err != LEDGER_OK)
        return err;
    /* Time never goes down along the ledger (store.h): searches by time rely on it. */
    if (clamp && stored.ts_ms < prev_ts_ms)
        stored.ts_ms = prev_ts_ms;
    err = ledger_write(txn, &stored);
    if (err != LEDGER_OK)
        return err;
    *entry = stored;
    return LEDGER_OK;
}

/* --- reading -------------------------------------------------------------- */

ledger_err_t store_ledger_get(store_txn_t *txn, uint64_t seq, store_ledger_entry_t *entry_out)
{
    return store_seq_record_read(txn, STORE_DB_LEDGER, seq, false, "mdb_get (ledger)",
                                 ledger_decode, entry_out);
}

ledger_err_t store_ledger_last_seq(store_txn_t *txn, uint64_t *seq_out)
{
    assert(txn);
    if (!seq_out)
        return LEDGER_E_INVALID;
    MDB_val k, v;
    bool found;
    ledger_err_t err = ledger_last_record(txn, &k, &v, &found);
    if (err != LEDGER_OK)
        return err;
    uint64_t seq = 0;
    if (found && k.mv_size != STORE_BE64_BYTES)
        return store_corrupt(txn, STORE_DB_LEDGER, 0, "key is not 8 bytes");
    if (found)
        seq = store_be64_get(k.mv_data);
    *seq_out = seq;
    return LEDGER_OK;
}

ledger_err_t store_ledger_by_account(store_txn_t *txn, const char *account, uint64_t newest_seq,
                                     uint64_t before_seq, store_ledger_entry_t *entries_out,
                                     size_t max, size_t *count_out)
{
    assert(txn);
    size_t len;
    if (!count_out || (!entries_out && max > 0) ||
        !store_text_ok(account, STORE_ACCOUNT_MAX, false, &len))
        return LEDGER_E_INVALID;
    uint64_t seq;
    if (before_seq == 0) {
        seq = newest_seq;
    } else {
        store_ledger_entry_t cursor_entry;
        ledger_err_t err = store_ledger_get(txn, before_seq, &cursor_entry);
        if (err != LEDGER_OK)
            return err;
        if (strcmp(cursor_entry.account, account) != 0)
            return LEDGER_E_NOT_FOUND; /* not a cursor of this account */
        seq = cursor_entry.account_prev_seq;
    }
    size_t count = 0;
    uint64_t newer = before_seq ? before_seq : UINT64_MAX;
    while (seq != 0 && count < max) {
        /* A chain only ever points back; anything else would loop or skip. */
        if (seq >= newer)
            return store_corrupt(txn, STORE_DB_LEDGER, newer, "account chain does not point back");
        ledger_err_t err = store_ledger_get(txn, seq, &entries_out[count]);
        if (err == LEDGER_E_NOT_FOUND)
            return store_corrupt(txn, STORE_DB_LEDGER, newer,
                                 "account chain names a missing entry");
        if (err != LEDGER_OK)
            return err;
        if (strcmp(entries_out[count].account, account) != 0)
            return store_corrupt(txn, STORE_DB_LEDGER, seq,
                                 "account chain reaches another account");
        newer = seq;
        seq = entries_out[count].account_prev_seq;
        count++;
    }
    *count_out = count;
    return LEDGER_OK;
}

ledger_err_t store_ledger_seq_at(store_txn_t *txn, uint64_t at_ms, uint64_t *seq_out)
{
    assert(txn);
    if (!seq_out)
        return LEDGER_E_INVALID;
    uint64_t lo = 0, hi;
    ledger_err_t err = store_ledger_last_seq(txn, &hi);
    /* Invariant: entry lo (0: before the first) has ts <= at_ms, every entry after hi has more. */
    while (!err && lo < hi) {
        uint64_t mid = lo + (hi - lo + 1) / 2;
        store_ledger_entry_t e;
        err = store_ledger_get(txn, mid, &e);
        if (err == LEDGER_E_NOT_FOUND)
            return store_corrupt(txn, STORE_DB_LEDGER, mid, "the ledger is not contiguous");
        if (!err && e.ts_ms <= at_ms)
            lo = mid;
        else if (!err)
            hi = mid - 1;
    }
    if (!err)
        *seq_out = lo;
    return err;
}

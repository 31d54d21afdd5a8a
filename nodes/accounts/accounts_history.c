/*  accounts_history.c: checkpoints of each account's chain, the entry in
    force at a seq, balance as of a time, statement pages. See
    accounts_history.h. */
#include "accounts_history.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "money.h"

/* Writes the checkpoint key of (account, seq) into key; returns its size. */
static size_t checkpoint_key(const char *account, uint64_t seq,
                             uint8_t key[ACCOUNTS_HISTORY_KEY_MAX])
{
    size_t id_len = strlen(account);
    assert(id_len <= PROTO_ACCOUNT_ID_MAX);
    memcpy(key, ACCOUNTS_HISTORY_PREFIX, ACCOUNTS_HISTORY_PREFIX_LEN);
    memcpy(key + ACCOUNTS_HISTORY_PREFIX_LEN, account, id_len);
    key[ACCOUNTS_HISTORY_PREFIX_LEN + id_len] = '\0';
    store_be64_put(key + ACCOUNTS_HISTORY_PREFIX_LEN + id_len + 1, seq);
    return ACCOUNTS_HISTORY_PREFIX_LEN + id_len + 1 + 8;
}

ledger_err_t accounts_history_note(store_txn_t *txn, const accounts_record_t *acct, uint64_t seq)
{
    assert(txn && acct && seq > 0);
    if (acct->entry_count == 0 || acct->entry_count % ACCOUNTS_HISTORY_EVERY != 0)
        return LEDGER_OK;
    uint8_t key[ACCOUNTS_HISTORY_KEY_MAX];
    size_t size = checkpoint_key(acct->id, seq, key);
    return store_put(txn, STORE_DB_INDEX, key, size, "", 0, 0);
}

/*  Seeks the checkpoints of `acct` from the first with seq > after: the `nth` (1 = the first)
    into *seq_out, 0 if there are fewer. */
static ledger_err_t checkpoint_after(store_txn_t *txn, const char *account, uint64_t after,
                                     uint32_t nth, uint64_t *seq_out)
{
    *seq_out = 0;
    if (after == UINT64_MAX)
        return LEDGER_OK;
    uint8_t key[ACCOUNTS_HISTORY_KEY_MAX];
    size_t size = checkpoint_key(account, after + 1, key);
    size_t prefix = size - 8;
    store_cursor_t *cur;
    ledger_err_t err = store_cursor_open(txn, STORE_DB_INDEX, &cur);
    if (err)
        return err;
    store_kv_t kv = {.key = key, .key_size = size};
    err = store_cursor_get(cur, STORE_SEEK, &kv);
    for (uint32_t i = 1; !err; i++) {
        if (kv.key_size != size || memcmp(kv.key, key, prefix) != 0)
            break; /* past this account's checkpoints */
        if (i == nth) {
            *seq_out = store_be64_get((const uint8_t *)kv.key + prefix);
            break;
        }
        err = store_cursor_get(cur, STORE_NEXT, &kv);
    }
    store_cursor_close(&cur);
    return err == LEDGER_E_NOT_FOUND ? LEDGER_OK : err;
}

/* Reads entry `seq` of `account`'s chain, which must be below `newer`. */
static ledger_err_t chain_get(store_txn_t *txn, const char *account, uint64_t seq, uint64_t newer,
                              store_ledger_entry_t *e)
{
    if (seq >= newer)
        return LEDGER_E_CORRUPT; /* a chain only points back */
    ledger_err_t err = store_ledger_get(txn, seq, e);
    if (err == LEDGER_E_NOT_FOUND)
        return LEDGER_E_CORRUPT;
    if (!err && strcmp(e->account, account) != 0)
        return LEDGER_E_CORRUPT;
    return err;
}

ledger_err_t accounts_history_entry_at(store_txn_t *txn, const accounts_record_t *acct,
                                       uint64_t bound, store_ledger_entry_t *entry_out,
                                       bool *found_out)
{
    assert(txn && acct && entry_out && found_out);
    *found_out = false;
    uint64_t start = acct->ledger_seq;
    if (bound < acct->ledger_seq) {
        uint64_t checkpoint = 0;
        ledger_err_t err = checkpoint_after(txn, acct->id, bound, 1, &checkpoint);
        if (err)
            return err;
        if (checkpoint && checkpoint < start)
            start = checkpoint;
    }
    uint64_t seq = start, newer = UINT64_MAX;
    while (seq != 0) {
        ledger_err_t err = chain_get(txn, acct->id, seq, newer, entry_out);
        if (err)
            return err;
        if (seq <= bound) {
            *found_out = true;
            return LEDGER_OK;
        }
        newer = seq;
        seq = entry_out->account_prev_seq;
    }
    return LEDGER_OK;
}

/* The last seq with ts_ms < t (0 for t 0: nothing is before the epoch). */
static ledger_err_t seq_before(store_txn_t *txn, uint64_t t, uint64_t *seq_out)
{
    *seq_out = 0;
    return t == 0 ? LEDGER_OK : store_ledger_seq_at(txn, t - 1, seq_out);
}

ledger_err_t accounts_history_balance_at(store_txn_t *txn, const accounts_record_t *acct,
                                         uint64_t at_ms, int64_t *balance_out, int64_t *held_out)
{
    assert(txn && acct && balance_out && held_out);
    uint64_t bound;
    ledger_err_t err = store_ledger_seq_at(txn, at_ms, &bound);
    store_ledger_entry_t e;
    bool found = false;
    if (!err)
        err = accounts_history_entry_at(txn, acct, bound, &e, &found);
    if (err)
        return err;
    *balance_out = found ? e.balance_after_minor : 0;
    *held_out = found ? e.held_after_minor : 0;
    return LEDGER_OK;
}

/*  The entries of `acct` in (lo, bound], newest first, into buf (cap entries): walks back from
    the account's newest entry at or below bound. LEDGER_E_CORRUPT if more than cap. */
static ledger_err_t collect_back(store_txn_t *txn, const accounts_record_t *acct, uint64_t lo,
                                 uint64_t bound, store_ledger_entry_t *buf, size_t cap,
                                 size_t *count_out)
{
    bool found;
    size_t count = 0;
    ledger_err_t err = accounts_history_entry_at(txn, acct, bound, &buf[0], &found);
    if (err || !found || buf[0].seq <= lo) {
        *count_out = 0;
        return err;
    }
    count = 1;
    uint64_t seq = buf[0].account_prev_seq;
    while (seq > lo) {
        if (count == cap)
            return LEDGER_E_CORRUPT; /* the checkpoints promised fewer */
        err = chain_get(txn, acct->id, seq, buf[count - 1].seq, &buf[count]);
        if (err)
            return err;
        seq = buf[count++].account_prev_seq;
    }
    *count_out = count;
    return LEDGER_OK;
}

/* The opening values of a page: before its first entry, or at `lo` for an empty page. */
static ledger_err_t page_opening(store_txn_t *txn, const accounts_record_t *acct, uint64_t lo,
                                 const store_ledger_entry_t *first, accounts_statement_page_t *page)
{
    if (first) {
        if (money_sub(first->balance_after_minor, first->balance_delta_minor,
                      &page->opening_balance_minor) ||
            money_sub(first->held_after_minor, first->held_delta_minor, &page->opening_held_minor))
            return LEDGER_E_CORRUPT;
        return LEDGER_OK;
    }
    store_ledger_entry_t e;
    bool found = false;
    ledger_err_t err = accounts_history_entry_at(txn, acct, lo, &e, &found);
    if (err)
        return err;
    page->opening_balance_minor = found ? e.balance_after_minor : 0;
    page->opening_held_minor = found ? e.held_after_minor : 0;
    return LEDGER_OK;
}

/* The cursor must be 0 or one of the account's entries. */
static ledger_err_t cursor_check(store_txn_t *txn, const accounts_record_t *acct, uint64_t cursor)
{
    if (cursor == 0)
        return LEDGER_OK;
    store_ledger_entry_t e;
    ledger_err_t err = store_ledger_get(txn, cursor, &e);
    if (!err && strcmp(e.account, acct->id) != 0)
        err = LEDGER_E_NOT_FOUND;
    return err;
}

ledger_err_t accounts_history_statement(store_txn_t *txn, const accounts_record_t *acct,
                                        uint64_t from_ms, uint64_t to_ms, uint64_t cursor,
                                        uint32_t limit, store_ledger_entry_t *entries,
                                        accounts_statement_page_t *page)
{
    assert(txn && acct && entries && page);
    memset(page, 0, sizeof *page);
    if (from_ms >= to_ms || limit == 0 || limit > PROTO_PAGE_MAX)
        return LEDGER_E_INVALID;
    uint64_t lo, hi;
    ledger_err_t err = cursor_check(txn, acct, cursor);
    if (!err)
        err = seq_before(txn, from_ms, &lo);
    if (!err)
        err = seq_before(txn, to_ms, &hi);
    if (err)
        return err;
    if (cursor > lo)
        lo = cursor;
    if (lo >= hi)
        return page_opening(txn, acct, lo, NULL, page);
    /* (lo, the nth checkpoint after lo] holds more than `limit` entries: no need to walk from
       further up. */
    uint32_t nth = limit / ACCOUNTS_HISTORY_EVERY + 2;
    uint64_t checkpoint = 0, bound = hi;
    err = checkpoint_after(txn, acct->id, lo, nth, &checkpoint);
    if (err)
        return err;
    if (checkpoint && checkpoint < hi)
        bound = checkpoint;
    size_t cap = (size_t)nth * ACCOUNTS_HISTORY_EVERY, count = 0;
    store_ledger_entry_t *buf = malloc(cap * sizeof *buf);
    if (!buf)
        return LEDGER_E_NOMEM;
    err = collect_back(txn, acct, lo, bound, buf, cap, &count);
    if (!err) {
        page->more = count > limit;
        page->count = count > limit ? limit : count;
        for (size_t i = 0; i < page->count; i++)
            entries[i] = buf[count - 1 - i];
        page->last = page->count ? entries[page->count - 1].seq : 0;
        err = page_opening(txn, acct, lo, page->count ? &entries[0] : NULL, page);
    }
    free(buf);
    return err;
}

/*  gateway_owners.c: the owner map and the per-principal transfer index
    (contract and key layouts in gateway_owners.h). */
#include "gateway_owners.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "gateway_principals.h"
#include "text.h"

/* The longest key of this module: "own/p/" + principal + "/" + account. */
#define OWNERS_KEY_MAX (6 + 2 * PROTO_ACCOUNT_ID_MAX + 1)
static_assert(GATEWAY_OWNERS_TRANSFER_ID_MAX <= PROTO_ACCOUNT_ID_MAX, "transfer ids fit the key");

bool gateway_owners_sees_all(const gateway_auth_caller_t *caller)
{
    assert(caller);
    return caller->principal.kind == GATEWAY_PRINCIPAL_OPERATOR;
}

/* prefix + a [+ "/" + b] into key; its length. The ids were checked (no '/', bounded). */
static size_t make_key(char key[OWNERS_KEY_MAX + 1], const char *prefix, const char *a,
                       const char *b)
{
    size_t n = strlen(prefix), la = strlen(a);
    memcpy(key, prefix, n);
    memcpy(key + n, a, la);
    n += la;
    if (b) {
        size_t lb = strlen(b);
        key[n++] = '/';
        memcpy(key + n, b, lb);
        n += lb;
    }
    key[n] = '\0';
    return n;
}

ledger_err_t gateway_owners_get(store_txn_t *txn, const char *account,
                                char owner_out[PROTO_ACCOUNT_ID_MAX + 1])
{
    assert(txn && account && owner_out);
    if (!proto_account_id_valid_str(account))
        return LEDGER_E_INVALID;
    char key[OWNERS_KEY_MAX + 1];
    size_t key_size = make_key(key, GATEWAY_OWNERS_ACCOUNT_PREFIX, account, NULL);
    const void *val;
    size_t size;
    ledger_err_t err = store_get(txn, STORE_DB_INDEX, key, key_size, &val, &size);
    if (err)
        return err;
    if (size == 0 || size > PROTO_ACCOUNT_ID_MAX || !proto_account_id_valid(val, size))
        return LEDGER_E_CORRUPT;
    memcpy(owner_out, val, size);
    owner_out[size] = '\0';
    return LEDGER_OK;
}

/* --- the loop's owner cache ------------------------------------------------ */

static_assert((GATEWAY_OWNERS_CACHE_SLOTS & (GATEWAY_OWNERS_CACHE_SLOTS - 1)) == 0,
              "the slot of an account is its hash masked");

typedef struct {
    char account[PROTO_ACCOUNT_ID_MAX + 1]; /* "" for a free slot */
    char owner[PROTO_ACCOUNT_ID_MAX + 1];
} cache_slot_t;

struct gateway_owners_cache {
    cache_slot_t slots[GATEWAY_OWNERS_CACHE_SLOTS];
};

gateway_owners_cache_t *gateway_owners_cache_new(void)
{
    return calloc(1, sizeof(gateway_owners_cache_t));
}

void gateway_owners_cache_destroy(gateway_owners_cache_t **cache_p)
{
    if (!cache_p)
        return;
    free(*cache_p);
    *cache_p = NULL;
}

/* FNV-1a of the account id: its slot. */
static cache_slot_t *cache_slot(gateway_owners_cache_t *cache, const char *account)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *c = (const unsigned char *)account; *c; c++)
        h = (h ^ *c) * 16777619u;
    return &cache->slots[h & (GATEWAY_OWNERS_CACHE_SLOTS - 1)];
}

/*  The owner of `account` into owner_out, "" when the map has none (or the id is no account's);
    from `cache` when it holds it, else from the store (and kept in `cache` when found). */
static ledger_err_t owner_or_none(gateway_owners_cache_t *cache, store_txn_t *txn,
                                  const char *account, char owner_out[PROTO_ACCOUNT_ID_MAX + 1])
{
    cache_slot_t *slot = cache && account[0] ? cache_slot(cache, account) : NULL;
    if (slot && strcmp(slot->account, account) == 0) {
        memcpy(owner_out, slot->owner, PROTO_ACCOUNT_ID_MAX + 1);
        return LEDGER_OK;
    }
    ledger_err_t err = gateway_owners_get(txn, account, owner_out);
    if (err == LEDGER_E_NOT_FOUND || err == LEDGER_E_INVALID) {
        owner_out[0] = '\0';
        return LEDGER_OK;
    }
    if (!err && slot) { /* found: it never changes */
        text_copy(slot->account, sizeof slot->account, account);
        memcpy(slot->owner, owner_out, PROTO_ACCOUNT_ID_MAX + 1);
    }
    return err;
}

ledger_err_t gateway_owners_viewers(gateway_owners_cache_t *cache, store_txn_t *txn,
                                    const char *sender, const char *from, const char *to,
                                    const char *currency, char viewers[2][PROTO_ACCOUNT_ID_MAX + 1])
{
    assert(txn && from && to && viewers);
    const char *settlement = currency ? proto_settlement_id(currency) : NULL;
    ledger_err_t err = LEDGER_OK;
    viewers[0][0] = viewers[1][0] = '\0';
    if (sender && sender[0])
        text_copy_cut(viewers[0], PROTO_ACCOUNT_ID_MAX + 1, sender);
    else if (!settlement || strcmp(from, settlement) != 0)
        err = owner_or_none(cache, txn, from, viewers[0]);
    if (!err && (!settlement || strcmp(to, settlement) != 0))
        err = owner_or_none(cache, txn, to, viewers[1]);
    if (!err && strcmp(viewers[0], viewers[1]) == 0)
        viewers[1][0] = '\0';
    return err;
}

ledger_err_t gateway_owners_owns(gateway_owners_cache_t *cache, store_txn_t *txn,
                                 const char *principal, const char *account, bool *owns_out)
{
    assert(txn && principal && account && owns_out);
    *owns_out = false;
    if (!principal[0])
        return LEDGER_OK;
    char owner[PROTO_ACCOUNT_ID_MAX + 1];
    ledger_err_t err = owner_or_none(cache, txn, account, owner);
    if (err)
        return err;
    *owns_out = owner[0] && strcmp(owner, principal) == 0;
    return LEDGER_OK;
}

ledger_err_t gateway_owners_put(store_txn_t *txn, const char *account, const char *owner,
                                bool *added_out)
{
    assert(txn && account && owner);
    if (added_out)
        *added_out = false;
    if (!proto_account_id_valid_str(account) || !proto_account_id_valid_str(owner))
        return LEDGER_E_INVALID;
    char known[PROTO_ACCOUNT_ID_MAX + 1];
    ledger_err_t err = gateway_owners_get(txn, account, known);
    if (err == LEDGER_OK)
        return strcmp(known, owner) == 0 ? LEDGER_OK : LEDGER_E_EXISTS;
    if (err != LEDGER_E_NOT_FOUND)
        return err;
    char key[OWNERS_KEY_MAX + 1];
    size_t key_size = make_key(key, GATEWAY_OWNERS_ACCOUNT_PREFIX, account, NULL);
    err = store_put(txn, STORE_DB_INDEX, key, key_size, owner, strlen(owner), 0);
    if (!err) {
        key_size = make_key(key, GATEWAY_OWNERS_PRINCIPAL_PREFIX, owner, account);
        err = store_put(txn, STORE_DB_INDEX, key, key_size, "", 0, 0);
    }
    if (!err && added_out)
        *added_out = true;
    return err;
}

/*  Walks the keys under prefix + principal + "/" from `from` (a suffix, NULL or "" = the
    start; exclusive) forwards or backwards, copying up to `limit` suffixes into out
    (rows of `row_size` bytes). */
typedef struct {
    const char *principal;
    const char *prefix;
    const char *from;
    bool backwards;
    uint32_t limit;
    char *out;
    size_t row_size;
} walk_t;

/* Positions the cursor on the first key of the walk (NOT_FOUND: none). */
static ledger_err_t walk_start(store_cursor_t *cur, const walk_t *w, const char *head,
                               size_t head_len, store_kv_t *kv)
{
    char key[OWNERS_KEY_MAX + 2];
    bool from = w->from && w->from[0];
    size_t n = make_key(key, w->prefix, w->principal, from ? w->from : "");
    if (!w->backwards) {
        if (from) /* strictly after: the smallest key above `from` */
            key[n++] = '\0';
        *kv = (store_kv_t){.key = key, .key_size = n};
        return store_cursor_get(cur, STORE_SEEK, kv);
    }
    if (!from) { /* the newest: seek past the principal's range, one step back */
        memcpy(key, head, head_len);
        key[head_len - 1] = '/' + 1;
        n = head_len;
    }
    *kv = (store_kv_t){.key = key, .key_size = n};
    ledger_err_t err = store_cursor_get(cur, STORE_SEEK, kv);
    if (err == LEDGER_OK)
        return store_cursor_get(cur, STORE_PREV, kv);
    return err == LEDGER_E_NOT_FOUND ? store_cursor_get(cur, STORE_LAST, kv) : err;
}

static ledger_err_t walk(store_txn_t *txn, const walk_t *w, size_t *count_out, bool *more_out)
{
    *count_out = 0;
    *more_out = false;
    if (!proto_account_id_valid_str(w->principal) || w->limit < 1 ||
        w->limit > GATEWAY_OWNERS_PAGE_MAX || (w->from && strlen(w->from) > PROTO_ACCOUNT_ID_MAX))
        return LEDGER_E_INVALID;
    char head[OWNERS_KEY_MAX + 1];
    size_t head_len = make_key(head, w->prefix, w->principal, "");
    store_cursor_t *cur = NULL;
    ledger_err_t err = store_cursor_open(txn, STORE_DB_INDEX, &cur);
    if (err)
        return err;
    store_kv_t kv;
    err = walk_start(cur, w, head, head_len, &kv);
    size_t count = 0;
    while (err == LEDGER_OK && kv.key_size > head_len && memcmp(kv.key, head, head_len) == 0) {
        size_t len = kv.key_size - head_len;
        if (count == w->limit) {
            *more_out = true;
            break;
        }
        if (len < w->row_size) {
            char *row = w->out + count * w->row_size;
            memcpy(row, (const char *)kv.key + head_len, len);
            row[len] = '\0';
            count++;
        }
        err = store_cursor_get(cur, w->backwards ? STORE_PREV : STORE_NEXT, &kv);
    }
    store_cursor_close(&cur);
    *count_out = count;
    return err == LEDGER_E_NOT_FOUND ? LEDGER_OK : err;
}

ledger_err_t gateway_owners_accounts(store_txn_t *txn, const char *principal, const char *after,
                                     uint32_t limit, char (*ids)[PROTO_ACCOUNT_ID_MAX + 1],
                                     size_t *count_out, bool *more_out)
{
    assert(txn && principal && ids && count_out && more_out);
    walk_t w = {principal,    GATEWAY_OWNERS_PRINCIPAL_PREFIX, after, false, limit, ids[0],
                sizeof ids[0]};
    return walk(txn, &w, count_out, more_out);
}

ledger_err_t gateway_owners_index_transfer(store_txn_t *txn, const char *principal,
                                           const char *transfer_id)
{
    assert(txn && principal && transfer_id);
    if (!proto_account_id_valid_str(principal) ||
        strlen(transfer_id) > GATEWAY_OWNERS_TRANSFER_ID_MAX || !transfer_id[0] ||
        strchr(transfer_id, '/'))
        return LEDGER_E_INVALID;
    char key[OWNERS_KEY_MAX + 1];
    size_t key_size = make_key(key, GATEWAY_OWNERS_TRANSFER_PREFIX, principal, transfer_id);
    return store_put(txn, STORE_DB_INDEX, key, key_size, "", 0, 0);
}

ledger_err_t gateway_owners_unindex_transfer(store_txn_t *txn, const char *principal,
                                             const char *transfer_id)
{
    assert(txn && principal && transfer_id);
    if (!proto_account_id_valid_str(principal) ||
        strlen(transfer_id) > GATEWAY_OWNERS_TRANSFER_ID_MAX || !transfer_id[0] ||
        strchr(transfer_id, '/'))
        return LEDGER_OK; /* never indexed */
    char key[OWNERS_KEY_MAX + 1];
    size_t key_size = make_key(key, GATEWAY_OWNERS_TRANSFER_PREFIX, principal, transfer_id);
    ledger_err_t err = store_del(txn, STORE_DB_INDEX, key, key_size);
    return err == LEDGER_E_NOT_FOUND ? LEDGER_OK : err;
}

ledger_err_t gateway_owners_sees_transfer(store_txn_t *txn, const char *principal,
                                          const char *transfer_id, bool *sees_out)
{
    assert(txn && principal && transfer_id && sees_out);
    *sees_out = false;
    if (!proto_account_id_valid_str(principal) ||
        strlen(transfer_id) > GATEWAY_OWNERS_TRANSFER_ID_MAX || strchr(transfer_id, '/'))
        return LEDGER_OK;
    char key[OWNERS_KEY_MAX + 1];
    size_t key_size = make_key(key, GATEWAY_OWNERS_TRANSFER_PREFIX, principal, transfer_id);
    const void *val;
    size_t size;
    ledger_err_t err = store_get(txn, STORE_DB_INDEX, key, key_size, &val, &size);
    *sees_out = err == LEDGER_OK;
    return err == LEDGER_E_NOT_FOUND ? LEDGER_OK : err;
}

ledger_err_t gateway_owners_transfers(store_txn_t *txn, const char *principal, const char *before,
                                      uint32_t limit,
                                      char (*ids)[GATEWAY_OWNERS_TRANSFER_ID_MAX + 1],
                                      size_t *count_out, bool *more_out)
{
    assert(txn && principal && ids && count_out && more_out);
    walk_t w = {principal,    GATEWAY_OWNERS_TRANSFER_PREFIX, before, true, limit, ids[0],
                sizeof ids[0]};
    return walk(txn, &w, count_out, more_out);
}

ledger_err_t gateway_owners_check_transfer(store_txn_t *txn, const gateway_auth_caller_t *caller,
                                           const char *transfer_id)
{
    assert(txn && caller && transfer_id);
    if (gateway_owners_sees_all(caller))
        return LEDGER_OK;
    bool sees = false;
    ledger_err_t err = gateway_owners_sees_transfer(txn, caller->principal.id, transfer_id, &sees);
    return err ? err : sees ? LEDGER_OK : LEDGER_E_NOT_FOUND;
}

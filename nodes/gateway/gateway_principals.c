/*  gateway_principals.c: principal and API key records (contract and layouts
    in gateway_principals.h). */
#include "gateway_principals.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "record.h"
#include "sha256.h"

#define PRINCIPAL_VERSION 1
#define KEY_VERSION 1
#define PRINCIPAL_PREFIX "auth/p/"
#define KEY_PREFIX "auth/k/"
#define OWNED_PREFIX "auth/pk/"
#define KEY_HASH_DOMAIN "ledger-api-key/1"
/* The longest store key of this module: "auth/pk/" + id + "/" + key id. */
#define AUTH_KEY_MAX (8 + GATEWAY_PRINCIPAL_ID_MAX + 1 + GATEWAY_KEY_ID_LEN)
#define PRINCIPAL_RECORD_BYTES (1 + 1 + 4 + 8)
#define GRANT_BATCH 256 /* principal ids collected per cursor walk (gateway_principals_grant) */
#define KEY_RECORD_MAX (1 + 1 + 1 + GATEWAY_PRINCIPAL_ID_MAX + GATEWAY_KEY_HASH_SIZE + 8 + 8)

static const struct {
    gateway_scope_t scope;
    const char *name;
} scope_names[GATEWAY_SCOPE_COUNT] = {
    {GATEWAY_SCOPE_TRANSFERS_WRITE, "transfers:write"},
    {GATEWAY_SCOPE_TRANSFERS_READ, "transfers:read"},
    {GATEWAY_SCOPE_ACCOUNTS_READ, "accounts:read"},
    {GATEWAY_SCOPE_EVENTS_READ, "events:read"},
    {GATEWAY_SCOPE_ACCOUNTS_OPEN, "accounts:open"},
    {GATEWAY_SCOPE_DEPOSITS_WRITE, "deposits:write"},
    {GATEWAY_SCOPE_RISK_READ, "risk:read"},
    {GATEWAY_SCOPE_ACCOUNTS_MANAGE, "accounts:manage"},
};

const char *gateway_scope_name(gateway_scope_t scope)
{
    for (size_t i = 0; i < GATEWAY_SCOPE_COUNT; i++)
        if (scope_names[i].scope == scope)
            return scope_names[i].name;
    return NULL;
}

uint32_t gateway_scope_parse(const char *name, size_t len)
{
    for (size_t i = 0; name && i < GATEWAY_SCOPE_COUNT; i++)
        if (strlen(scope_names[i].name) == len && memcmp(scope_names[i].name, name, len) == 0)
            return scope_names[i].scope;
    return 0;
}

const char *gateway_kind_name(gateway_kind_t kind)
{
    return kind == GATEWAY_PRINCIPAL_OPERATOR ? "operator" : "customer";
}

gateway_kind_t gateway_kind_parse(const char *text)
{
    if (text && strcmp(text, "customer") == 0)
        return GATEWAY_PRINCIPAL_CUSTOMER;
    if (text && strcmp(text, "operator") == 0)
        return GATEWAY_PRINCIPAL_OPERATOR;
    return 0;
}

bool gateway_principal_valid(const gateway_principal_t *p, char *why, size_t why_size)
{
    assert(p && why);
    if (!proto_account_id_valid_str(p->id))
        snprintf(why, why_size, "id must be 1..%d characters of a-z, 0-9, _ and -",
                 GATEWAY_PRINCIPAL_ID_MAX);
    else if (p->kind != GATEWAY_PRINCIPAL_CUSTOMER && p->kind != GATEWAY_PRINCIPAL_OPERATOR)
        snprintf(why, why_size, "kind must be customer or operator");
    else if (p->scopes & ~(uint32_t)GATEWAY_SCOPES_ALL)
        snprintf(why, why_size, "unknown scope bits");
    else if (p->kind == GATEWAY_PRINCIPAL_CUSTOMER &&
             (p->scopes & ~(uint32_t)GATEWAY_SCOPES_CUSTOMER))
        snprintf(why, why_size,
                 "a customer may hold only transfers:write, transfers:read, "
                 "accounts:read and events:read");
    else
        return true;
    return false;
}

/* prefix + a + (b ? "/" + b : "") into out[AUTH_KEY_MAX]; its length. */
static size_t auth_key(uint8_t out[AUTH_KEY_MAX], const char *prefix, const char *a, const char *b)
{
    size_t n = strlen(prefix), la = strlen(a), lb = b ? strlen(b) : 0;
    assert(la <= GATEWAY_PRINCIPAL_ID_MAX && lb <= GATEWAY_KEY_ID_LEN);
    memcpy(out, prefix, n);
    memcpy(out + n, a, la);
    n += la;
    if (b) {
        out[n++] = '/';
        memcpy(out + n, b, lb);
        n += lb;
    }
    return n;
}

/* A reader over the record stored under prefix + id, or the store's error (LEDGER_E_NOT_FOUND
   when there is none). */
static ledger_err_t auth_record_get(store_txn_t *txn, const char *prefix, const char *id,
                                    record_reader_t *r)
{
    uint8_t k[AUTH_KEY_MAX];
    const void *val;
    size_t size;
    ledger_err_t err =
        store_get(txn, STORE_DB_INDEX, k, auth_key(k, prefix, id, NULL), &val, &size);
    if (err)
        return err;
    *r = (record_reader_t){val, size, 0, true};
    return LEDGER_OK;
}

ledger_err_t gateway_principals_get(store_txn_t *txn, const char *id, gateway_principal_t *out)
{
    assert(txn && id && out);
    if (!proto_account_id_valid_str(id))
        return LEDGER_E_NOT_FOUND;
    record_reader_t r;
    ledger_err_t err = auth_record_get(txn, PRINCIPAL_PREFIX, id, &r);
    if (err)
        return err;
    uint8_t version = record_get_u8(&r);
    gateway_principal_t p = {.kind = record_get_u8(&r)};
    p.scopes = record_get_u32(&r);
    p.created_ms = record_get_u64(&r);
    snprintf(p.id, sizeof p.id, "%s", id);
    char why[8];
    if (!record_done(&r) || version != PRINCIPAL_VERSION || !gateway_principal_valid(&p, why, 8))
        return LEDGER_E_CORRUPT;
    *out = p;
    return LEDGER_OK;
}

/* Writes principal *p's record (checked by the caller), over any record of its id. */
static ledger_err_t principal_write(store_txn_t *txn, const gateway_principal_t *p)
{
    uint8_t buf[PRINCIPAL_RECORD_BYTES];
    record_writer_t w = {buf, sizeof buf, 0, true};
    record_put_u8(&w, PRINCIPAL_VERSION);
    record_put_u8(&w, (uint8_t)p->kind);
    record_put_u32(&w, p->scopes);
    record_put_u64(&w, p->created_ms);
    assert(w.ok);
    uint8_t k[AUTH_KEY_MAX];
    return store_put(txn, STORE_DB_INDEX, k, auth_key(k, PRINCIPAL_PREFIX, p->id, NULL), buf, w.len,
                     0);
}

ledger_err_t gateway_principals_put(store_txn_t *txn, gateway_principal_t *p, bool *created_out)
{
    assert(txn && p && created_out);
    char why[8];
    if (!gateway_principal_valid(p, why, sizeof why))
        return LEDGER_E_INVALID;
    gateway_principal_t old;
    ledger_err_t err = gateway_principals_get(txn, p->id, &old);
    if (err == LEDGER_OK) {
        if (old.kind != p->kind || old.scopes != p->scopes)
            return LEDGER_E_EXISTS;
        p->created_ms = old.created_ms;
        *created_out = false;
        return LEDGER_OK;
    }
    if (err != LEDGER_E_NOT_FOUND)
        return err;
    err = principal_write(txn, p);
    if (!err)
        *created_out = true;
    return err;
}

/*  Up to GRANT_BATCH principal ids above `after` ("" = from the first) into ids[];
 *count_out of them. The cursor is closed on return. */
static ledger_err_t collect_ids(store_txn_t *txn, const char *after,
                                char ids[][GATEWAY_PRINCIPAL_ID_MAX + 1], size_t *count_out)
{
    uint8_t from[AUTH_KEY_MAX + 1];
    size_t plen = strlen(PRINCIPAL_PREFIX);
    size_t from_len = auth_key(from, PRINCIPAL_PREFIX, after, NULL);
    if (after[0])
        from[from_len++] = '\0'; /* the first id strictly above `after` */
    store_cursor_t *cursor = NULL;
    ledger_err_t err = store_cursor_open(txn, STORE_DB_INDEX, &cursor);
    if (err)
        return err;
    size_t n = 0;
    store_kv_t kv = {.key = from, .key_size = from_len};
    err = store_cursor_get(cursor, STORE_SEEK, &kv);
    while (err == LEDGER_OK && n < GRANT_BATCH && kv.key_size > plen &&
           kv.key_size - plen <= GATEWAY_PRINCIPAL_ID_MAX &&
           memcmp(kv.key, PRINCIPAL_PREFIX, plen) == 0) {
        memcpy(ids[n], (const uint8_t *)kv.key + plen, kv.key_size - plen);
        ids[n++][kv.key_size - plen] = '\0';
        err = store_cursor_get(cursor, STORE_NEXT, &kv);
    }
    store_cursor_close(&cursor);
    *count_out = n;
    return err == LEDGER_E_NOT_FOUND ? LEDGER_OK : err;
}

ledger_err_t gateway_principals_grant(store_txn_t *txn, uint32_t if_scopes, uint32_t grant,
                                      size_t *granted_out)
{
    assert(txn && granted_out && grant && !(grant & ~(uint32_t)GATEWAY_SCOPES_ALL));
    *granted_out = 0;
    char(*ids)[GATEWAY_PRINCIPAL_ID_MAX + 1] = malloc(GRANT_BATCH * sizeof *ids);
    if (!ids)
        return LEDGER_E_NOMEM;
    char after[GATEWAY_PRINCIPAL_ID_MAX + 1] = "";
    size_t n = 0;
    ledger_err_t err;
    do {
        err = collect_ids(txn, after, ids, &n);
        for (size_t i = 0; !err && i < n; i++) {
            gateway_principal_t p;
            err = gateway_principals_get(txn, ids[i], &p);
            if (err || p.kind != GATEWAY_PRINCIPAL_OPERATOR ||
                (p.scopes & if_scopes) != if_scopes || (p.scopes & grant) == grant)
                continue;
            p.scopes |= grant;
            err = principal_write(txn, &p);
            *granted_out += err ? 0 : 1;
        }
        if (!err && n)
            memcpy(after, ids[n - 1], sizeof after);
    } while (!err && n == GRANT_BATCH);
    free(ids);
    return err;
}

static bool key_id_valid(const char *key_id)
{
    size_t n = strnlen(key_id, GATEWAY_KEY_ID_LEN + 1);
    if (n != GATEWAY_KEY_ID_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((key_id[i] >= '0' && key_id[i] <= '9') || (key_id[i] >= 'a' && key_id[i] <= 'f')))
            return false;
    return true;
}

ledger_err_t gateway_principals_key_get(store_txn_t *txn, const char *key_id, gateway_key_t *out)
{
    assert(txn && key_id && out);
    if (!key_id_valid(key_id))
        return LEDGER_E_NOT_FOUND;
    record_reader_t r;
    ledger_err_t err = auth_record_get(txn, KEY_PREFIX, key_id, &r);
    if (err)
        return err;
    gateway_key_t key = {0};
    uint8_t version = record_get_u8(&r);
    key.state = record_get_u8(&r);
    record_get_str8(&r, key.principal, GATEWAY_PRINCIPAL_ID_MAX);
    const uint8_t *hash = record_take(&r, GATEWAY_KEY_HASH_SIZE);
    key.created_ms = record_get_u64(&r);
    key.revoked_ms = record_get_u64(&r);
    if (!record_done(&r) || version != KEY_VERSION ||
        (key.state != GATEWAY_KEY_ACTIVE && key.state != GATEWAY_KEY_REVOKED))
        return LEDGER_E_CORRUPT;
    memcpy(key.hash, hash, GATEWAY_KEY_HASH_SIZE);
    memcpy(key.key_id, key_id, GATEWAY_KEY_ID_LEN + 1);
    *out = key;
    return LEDGER_OK;
}

static ledger_err_t key_put(store_txn_t *txn, const gateway_key_t *key)
{
    uint8_t buf[KEY_RECORD_MAX];
    record_writer_t w = {buf, sizeof buf, 0, true};
    record_put_u8(&w, KEY_VERSION);
    record_put_u8(&w, (uint8_t)key->state);
    record_put_str8(&w, key->principal);
    record_put_bytes(&w, key->hash, GATEWAY_KEY_HASH_SIZE);
    record_put_u64(&w, key->created_ms);
    record_put_u64(&w, key->revoked_ms);
    assert(w.ok);
    uint8_t k[AUTH_KEY_MAX];
    return store_put(txn, STORE_DB_INDEX, k, auth_key(k, KEY_PREFIX, key->key_id, NULL), buf, w.len,
                     0);
}

/* Called for each key of a principal, by key id; false stops the walk. */
typedef bool (*key_visit_fn)(const gateway_key_t *key, void *arg);

/* Every key of principal `id` to `visit`. Store errors, LEDGER_E_CORRUPT. */
static ledger_err_t keys_walk(store_txn_t *txn, const char *id, key_visit_fn visit, void *arg)
{
    uint8_t prefix[AUTH_KEY_MAX];
    size_t plen = auth_key(prefix, OWNED_PREFIX, id, "");
    store_cursor_t *cursor = NULL;
    ledger_err_t err = store_cursor_open(txn, STORE_DB_INDEX, &cursor);
    if (err)
        return err;
    store_kv_t kv = {.key = prefix, .key_size = plen};
    err = store_cursor_get(cursor, STORE_SEEK, &kv);
    while (err == LEDGER_OK && kv.key_size == plen + GATEWAY_KEY_ID_LEN &&
           memcmp(kv.key, prefix, plen) == 0) {
        char key_id[GATEWAY_KEY_ID_LEN + 1];
        memcpy(key_id, (const uint8_t *)kv.key + plen, GATEWAY_KEY_ID_LEN);
        key_id[GATEWAY_KEY_ID_LEN] = '\0';
        gateway_key_t key;
        /* The cursor stays valid: this is a read of another key of the same transaction. */
        err = gateway_principals_key_get(txn, key_id, &key);
        if (err || !visit(&key, arg))
            break;
        err = store_cursor_get(cursor, STORE_NEXT, &kv);
    }
    store_cursor_close(&cursor);
    return err == LEDGER_E_NOT_FOUND ? LEDGER_OK : err;
}

typedef struct {
    gateway_key_t *out;
    size_t max;
    size_t n;
    size_t revoked; /* of the n */
    bool more;
} list_t;

/*  Active keys always find room (at most GATEWAY_PRINCIPAL_ACTIVE_KEYS_MAX of
    them); revoked ones while the rest of the room lasts. */
static bool list_visit(const gateway_key_t *key, void *arg)
{
    list_t *l = arg;
    size_t room_for_revoked =
        l->max > GATEWAY_PRINCIPAL_ACTIVE_KEYS_MAX ? l->max - GATEWAY_PRINCIPAL_ACTIVE_KEYS_MAX : 0;
    bool active = key->state == GATEWAY_KEY_ACTIVE;
    bool fits = l->n < l->max && (active || l->revoked < room_for_revoked);
    if (fits) {
        l->out[l->n++] = *key;
        l->revoked += !active;
    } else
        l->more = true;
    return true;
}

ledger_err_t gateway_principals_keys_list(store_txn_t *txn, const char *id, gateway_key_t *out,
                                          size_t max, size_t *count_out, bool *more_out)
{
    assert(txn && id && (out || max == 0) && count_out && more_out);
    *count_out = 0;
    *more_out = false;
    list_t l = {out, max, 0, 0, false};
    ledger_err_t err = keys_walk(txn, id, list_visit, &l);
    if (!err) {
        *count_out = l.n;
        *more_out = l.more;
    }
    return err;
}

static bool count_visit(const gateway_key_t *key, void *arg)
{
    *(size_t *)arg += key->state == GATEWAY_KEY_ACTIVE;
    return true;
}

ledger_err_t gateway_principals_key_create(store_txn_t *txn, const char *id, uint64_t now_ms,
                                           gateway_key_t *key_out, char *key_text)
{
    assert(txn && id && key_out && key_text);
    gateway_principal_t p;
    ledger_err_t err = gateway_principals_get(txn, id, &p);
    size_t active = 0;
    if (!err)
        err = keys_walk(txn, id, count_visit, &active);
    if (err)
        return err;
    if (active >= GATEWAY_PRINCIPAL_ACTIVE_KEYS_MAX)
        return LEDGER_E_TOO_LARGE;
    gateway_key_t key = {.state = GATEWAY_KEY_ACTIVE, .created_ms = now_ms};
    uint8_t raw_id[GATEWAY_KEY_ID_BYTES], secret[GATEWAY_KEY_SECRET_BYTES];
    randombytes_buf(raw_id, sizeof raw_id);
    randombytes_buf(secret, sizeof secret);
    sodium_bin2hex(key.key_id, sizeof key.key_id, raw_id, sizeof raw_id);
    snprintf(key.principal, sizeof key.principal, "%s", id);
    err = gateway_key_hash(key.key_id, secret, key.hash);
    if (!err)
        err = key_put(txn, &key);
    uint8_t k[AUTH_KEY_MAX];
    if (!err)
        err =
            store_put(txn, STORE_DB_INDEX, k, auth_key(k, OWNED_PREFIX, id, key.key_id), "", 0, 0);
    if (!err) {
        char hex[2 * GATEWAY_KEY_SECRET_BYTES + 1];
        sodium_bin2hex(hex, sizeof hex, secret, sizeof secret);
        snprintf(key_text, GATEWAY_KEY_TEXT_LEN + 1, GATEWAY_KEY_PREFIX "%s_%s", key.key_id, hex);
        sodium_memzero(hex, sizeof hex);
        *key_out = key;
    }
    sodium_memzero(secret, sizeof secret);
    return err;
}

ledger_err_t gateway_principals_key_revoke(store_txn_t *txn, const char *id, const char *key_id,
                                           uint64_t now_ms)
{
    assert(txn && id && key_id);
    gateway_key_t key;
    ledger_err_t err = gateway_principals_key_get(txn, key_id, &key);
    if (err)
        return err;
    if (strcmp(key.principal, id) != 0)
        return LEDGER_E_NOT_FOUND;
    if (key.state == GATEWAY_KEY_REVOKED)
        return LEDGER_OK;
    key.state = GATEWAY_KEY_REVOKED;
    key.revoked_ms = now_ms ? now_ms : 1;
    return key_put(txn, &key);
}

static int hex_value(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

bool gateway_key_parse(const char *text, size_t len, char key_id[GATEWAY_KEY_ID_LEN + 1],
                       uint8_t secret[GATEWAY_KEY_SECRET_BYTES])
{
    static const size_t id_at = sizeof GATEWAY_KEY_PREFIX - 1;
    static const size_t secret_at = id_at + GATEWAY_KEY_ID_LEN + 1;
    if (!text || len != GATEWAY_KEY_TEXT_LEN || memcmp(text, GATEWAY_KEY_PREFIX, id_at) != 0 ||
        text[secret_at - 1] != '_')
        return false;
    memcpy(key_id, text + id_at, GATEWAY_KEY_ID_LEN);
    key_id[GATEWAY_KEY_ID_LEN] = '\0';
    if (!key_id_valid(key_id))
        return false;
    for (size_t i = 0; i < GATEWAY_KEY_SECRET_BYTES; i++) {
        int hi = hex_value(text[secret_at + 2 * i]), lo = hex_value(text[secret_at + 2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        secret[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

ledger_err_t gateway_key_hash(const char *key_id, const uint8_t secret[GATEWAY_KEY_SECRET_BYTES],
                              uint8_t hash[GATEWAY_KEY_HASH_SIZE])
{
    assert(key_id && secret && hash);
    sha256_part_t parts[] = {{KEY_HASH_DOMAIN, sizeof KEY_HASH_DOMAIN - 1},
                             {key_id, strlen(key_id)},
                             {secret, GATEWAY_KEY_SECRET_BYTES}};
    return sha256_parts(parts, 3, hash);
}

ledger_err_t gateway_principals_authenticate(store_txn_t *txn, const char *text, size_t len,
                                             gateway_principal_t *principal_out,
                                             char key_id_out[GATEWAY_KEY_ID_LEN + 1])
{
    assert(txn && principal_out && key_id_out);
    char key_id[GATEWAY_KEY_ID_LEN + 1];
    uint8_t secret[GATEWAY_KEY_SECRET_BYTES], hash[GATEWAY_KEY_HASH_SIZE];
    if (!gateway_key_parse(text, len, key_id, secret))
        return LEDGER_E_NOT_FOUND;
    ledger_err_t err = gateway_key_hash(key_id, secret, hash);
    sodium_memzero(secret, sizeof secret);
    gateway_key_t key;
    if (!err)
        err = gateway_principals_key_get(txn, key_id, &key);
    if (err)
        return err;
    if (key.state != GATEWAY_KEY_ACTIVE ||
        sodium_memcmp(key.hash, hash, GATEWAY_KEY_HASH_SIZE) != 0)
        return LEDGER_E_NOT_FOUND;
    err = gateway_principals_get(txn, key.principal, principal_out);
    if (!err)
        memcpy(key_id_out, key_id, GATEWAY_KEY_ID_LEN + 1);
    return err;
}

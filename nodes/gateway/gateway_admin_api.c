/*  gateway_admin_api.c: POST/GET /principals, POST/DELETE keys (contract in
    gateway_admin_api.h). */
#include "gateway_admin_api.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "clock.h"
#include "gateway_owners.h"
#include "node_log.h"

static json_t *error_body(const char *code, const char *field, const char *message)
{
    return json_pack("{s:{s:s,s:s?,s:s}}", "error", "code", code, "field", field, "message",
                     message);
}

static unsigned fail(json_t **out, unsigned status, const char *code, const char *field,
                     const char *message)
{
    *out = error_body(code, field, message);
    return status;
}

static uint64_t now_ms(const gateway_admin_api_t *api)
{
    return api->now_ms ? api->now_ms() : clock_wall_ms();
}

static json_t *time_json(uint64_t unix_ms)
{
    char text[CLOCK_UTC_TEXT_SIZE];
    return unix_ms ? json_string(clock_format_utc(unix_ms, text)) : json_null();
}

static json_t *scopes_json(uint32_t scopes)
{
    json_t *arr = json_array();
    for (uint32_t bit = 1; bit & GATEWAY_SCOPES_ALL; bit <<= 1)
        if (scopes & bit)
            json_array_append_new(arr, json_string(gateway_scope_name(bit)));
    return arr;
}

static json_t *principal_json(const gateway_principal_t *p)
{
    return json_pack("{s:s,s:s,s:o,s:o}", "id", p->id, "kind", gateway_kind_name(p->kind), "scopes",
                     scopes_json(p->scopes), "created_at", time_json(p->created_ms));
}

/* The scopes array: each a known scope name. false with *out filled if not. */
static bool parse_scopes(const json_t *arr, uint32_t *scopes, json_t **out)
{
    *scopes = 0;
    if (!json_is_array(arr) || json_array_size(arr) > 2 * GATEWAY_SCOPE_COUNT) {
        *out = error_body("invalid_field", "scopes", "scopes must be an array of scope names");
        return false;
    }
    size_t i;
    const json_t *v;
    json_array_foreach(arr, i, v)
    {
        uint32_t bit = json_is_string(v)
                           ? gateway_scope_parse(json_string_value(v), json_string_length(v))
                           : 0;
        if (!bit) {
            *out = error_body("invalid_field", "scopes",
                              "unknown scope: use transfers:write, transfers:read, accounts:read, "
                              "events:read, accounts:open, deposits:write, risk:read or "
                              "accounts:manage");
            return false;
        }
        *scopes |= bit;
    }
    return true;
}

/* Only id, kind and scopes, all three: 0, else 400 with *out filled. */
static unsigned check_fields(json_t *root, json_t **out)
{
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        if (strcmp(key, "id") != 0 && strcmp(key, "kind") != 0 && strcmp(key, "scopes") != 0)
            return fail(out, 400, "unknown_field", key, "only id, kind and scopes are accepted");
    }
    static const char *const required[] = {"id", "kind", "scopes"};
    for (size_t i = 0; i < 3; i++)
        if (!json_object_get(root, required[i]))
            return fail(out, 400, "missing_field", required[i], "id, kind and scopes are required");
    return 0;
}

/* The body of POST /principals into *p. 0 on success, else the status with *out filled. */
static unsigned parse_principal(const admin_request_t *req, gateway_principal_t *p, json_t **out)
{
    json_error_t jerr;
    json_t *root =
        req->body ? json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (!json_is_object(root)) {
        json_decref(root);
        return fail(out, 400, "invalid_json", NULL,
                    "send a JSON object {\"id\",\"kind\",\"scopes\"}");
    }
    unsigned status = check_fields(root, out);
    const json_t *id = json_object_get(root, "id"), *kind = json_object_get(root, "kind");
    if (!status && (!json_is_string(id) ||
                    !proto_account_id_valid(json_string_value(id), json_string_length(id))))
        status = fail(out, 400, "invalid_field", "id",
                      "id must be 1..64 characters of a-z, 0-9, _ and -");
    if (!status && !(p->kind = gateway_kind_parse(json_string_value(kind))))
        status = fail(out, 400, "invalid_field", "kind", "kind must be customer or operator");
    if (!status && !parse_scopes(json_object_get(root, "scopes"), &p->scopes, out))
        status = 400;
    if (!status)
        snprintf(p->id, sizeof p->id, "%s", json_string_value(id));
    char why[160];
    if (!status && !gateway_principal_valid(p, why, sizeof why))
        status = fail(out, 400, "invalid_field", "scopes", why);
    json_decref(root);
    return status;
}

typedef struct {
    gateway_principal_t p;
    bool created;
} put_t;

static ledger_err_t put_write(store_txn_t *txn, void *arg)
{
    put_t *w = arg;
    w->created = false;
    return gateway_principals_put(txn, &w->p, &w->created);
}

static unsigned post_principal(store_t *store, const admin_request_t *req, json_t **out, void *arg)
{
    put_t w = {.p.created_ms = now_ms(arg)};
    unsigned status = parse_principal(req, &w.p, out);
    if (status)
        return status;
    ledger_err_t err = store_write(store, put_write, &w);
    if (err == LEDGER_E_EXISTS)
        return fail(out, 409, "principal_exists", "id",
                    "a principal with this id exists with another kind or scopes");
    if (err)
        return fail(out, 503, "storage_unavailable", NULL, "could not write the store");
    if (w.created)
        node_log_write(NODE_LOG_INFO, "event=principal_created principal=%s kind=%s", w.p.id,
                       gateway_kind_name(w.p.kind));
    *out = principal_json(&w.p);
    return w.created ? 201 : 200;
}

typedef struct {
    const char *id;
    uint64_t now_ms;
    gateway_key_t key;
    char text[GATEWAY_KEY_TEXT_LEN + 1];
} key_new_t;

static ledger_err_t key_write(store_txn_t *txn, void *arg)
{
    key_new_t *k = arg;
    return gateway_principals_key_create(txn, k->id, k->now_ms, &k->key, k->text);
}

static unsigned post_key(store_t *store, const admin_request_t *req, json_t **out, void *arg)
{
    key_new_t k = {.id = req->params[0], .now_ms = now_ms(arg)};
    ledger_err_t err = store_write(store, key_write, &k);
    if (err == LEDGER_E_NOT_FOUND)
        return fail(out, 404, "not_found", NULL, "no such principal");
    if (err == LEDGER_E_TOO_LARGE)
        return fail(out, 409, "key_limit", NULL,
                    "this principal already holds two active keys: revoke one first");
    if (err)
        return fail(out, 503, "storage_unavailable", NULL, "could not write the store");
    node_log_write(NODE_LOG_INFO, "event=api_key_created principal=%s key_id=%s", k.id,
                   k.key.key_id);
    *out = json_pack("{s:s,s:s,s:s}", "key_id", k.key.key_id, "key", k.text, "principal", k.id);
    sodium_memzero(k.text, sizeof k.text);
    return 201;
}

typedef struct {
    const char *id;
    const char *key_id;
    uint64_t now_ms;
} key_revoke_t;

static ledger_err_t revoke_write(store_txn_t *txn, void *arg)
{
    key_revoke_t *k = arg;
    return gateway_principals_key_revoke(txn, k->id, k->key_id, k->now_ms);
}

static unsigned delete_key(store_t *store, const admin_request_t *req, json_t **out, void *arg)
{
    gateway_admin_api_t *api = arg;
    key_revoke_t k = {req->params[0], req->params[1], now_ms(api)};
    ledger_err_t err = store_write(store, revoke_write, &k);
    if (err == LEDGER_E_NOT_FOUND)
        return fail(out, 404, "not_found", NULL, "this principal has no such key");
    if (err)
        return fail(out, 503, "storage_unavailable", NULL, "could not write the store");
    /* Committed: from now on no request may pass with it (before the 204 is sent). */
    if (api->auth)
        gateway_auth_forget_key(api->auth, k.key_id);
    node_log_write(NODE_LOG_INFO, "event=api_key_revoked principal=%s key_id=%s", k.id, k.key_id);
    *out = NULL;
    return 204;
}

static json_t *keys_json(const gateway_key_t *keys, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr,
                              json_pack("{s:s,s:s,s:o,s:o}", "key_id", keys[i].key_id, "state",
                                        keys[i].state == GATEWAY_KEY_ACTIVE ? "active" : "revoked",
                                        "created_at", time_json(keys[i].created_ms), "revoked_at",
                                        time_json(keys[i].revoked_ms)));
    return arr;
}

/* The accounts a principal owns (gateway_owners.h), the first page of them by id. */
typedef struct {
    char ids[GATEWAY_OWNERS_PAGE_MAX][PROTO_ACCOUNT_ID_MAX + 1];
    size_t count;
    bool more;
} owned_t;

static json_t *owned_json(const owned_t *owned)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < owned->count; i++)
        json_array_append_new(arr, json_string(owned->ids[i]));
    return arr;
}

static unsigned get_principal(store_t *store, const admin_request_t *req, json_t **out, void *arg)
{
    (void)arg;
    owned_t owned = {.count = 0};
    store_txn_t *txn = NULL;
    if (store_txn_begin(store, false, &txn) != LEDGER_OK)
        return fail(out, 503, "storage_unavailable", NULL, "could not read the store");
    gateway_principal_t p;
    gateway_key_t keys[GATEWAY_PRINCIPAL_KEYS_LIST_MAX];
    size_t n = 0;
    bool more = false;
    ledger_err_t err = gateway_principals_get(txn, req->params[0], &p);
    if (!err)
        err = gateway_principals_keys_list(txn, p.id, keys, GATEWAY_PRINCIPAL_KEYS_LIST_MAX, &n,
                                           &more);
    if (!err)
        err = gateway_owners_accounts(txn, p.id, NULL, GATEWAY_OWNERS_PAGE_MAX, owned.ids,
                                      &owned.count, &owned.more);
    store_txn_abort(&txn);
    if (err == LEDGER_E_NOT_FOUND)
        return fail(out, 404, "not_found", NULL, "no such principal");
    if (err)
        return fail(out, 503, "storage_unavailable", NULL, "could not read the store");
    *out = principal_json(&p);
    json_object_set_new(*out, "keys", keys_json(keys, n));
    json_object_set_new(*out, "keys_truncated", json_boolean(more));
    json_object_set_new(*out, "accounts", owned_json(&owned));
    json_object_set_new(*out, "accounts_truncated", json_boolean(owned.more));
    return 200;
}

const admin_route_t gateway_admin_api_routes[] = {
    {"POST", "/principals", post_principal},
    {"GET", "/principals/{}", get_principal},
    {"POST", "/principals/{}/keys", post_key},
    {"DELETE", "/principals/{}/keys/{}", delete_key},
};
const size_t gateway_admin_api_route_count =
    sizeof gateway_admin_api_routes / sizeof gateway_admin_api_routes[0];

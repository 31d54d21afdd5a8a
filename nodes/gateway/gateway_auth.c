/*  gateway_auth.c: the key cache, the principals' buckets and the stream
    tokens behind one mutex (contract in gateway_auth.h). */
#include "gateway_auth.h"
#include "clock.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "gateway_ratelimit.h"

#define GATEWAY_AUTH_ISSUE_ATTEMPTS 4 /* re-checks of a key that revocations overtook */
#define BEARER_PREFIX "Bearer "
#define BUCKET_HEADS 4096u /* chains of the principals' bucket table */

typedef struct {
    bool used;
    char key_id[GATEWAY_KEY_ID_LEN + 1];
    uint8_t hash[GATEWAY_KEY_HASH_SIZE];
    gateway_principal_t principal;
} cache_slot_t;

typedef struct bucket_node {
    struct bucket_node *next;
    char principal[GATEWAY_PRINCIPAL_ID_MAX + 1];
    gateway_kind_t kind;
    gateway_ratelimit_t bucket;
} bucket_node_t;

typedef struct {
    bool used;
    uint8_t token[GATEWAY_AUTH_STREAM_TOKEN_BYTES];
    uint64_t expires_ms;
    gateway_auth_caller_t caller;
} stream_token_t;

struct gateway_auth_t {
    gateway_auth_config_t config;
    pthread_mutex_t lock;
    uint64_t generation; /* bumped by every forget: a miss that read before it is not cached */
    cache_slot_t cache[GATEWAY_AUTH_CACHE_SLOTS];
    bucket_node_t *buckets[BUCKET_HEADS];
    size_t bucket_count;
    stream_token_t tokens[GATEWAY_AUTH_STREAM_TOKENS_MAX];
    gateway_authfail_t *fails;        /* failed authentications per address */
    gateway_auth_forget_fn on_forget; /* guarded by lock */
    void *on_forget_arg;
};

static uint32_t hash_text(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static uint32_t or_default(uint32_t value, uint32_t fallback)
{
    return value ? value : fallback;
}

ledger_err_t gateway_auth_new(const gateway_auth_config_t *config, gateway_auth_t **out)
{
    assert(config && out);
    *out = NULL;
    gateway_auth_config_t c = *config;
    c.customer_rate_per_s = or_default(c.customer_rate_per_s, GATEWAY_AUTH_CUSTOMER_RATE_DEFAULT);
    c.customer_burst = or_default(c.customer_burst, GATEWAY_AUTH_CUSTOMER_BURST_DEFAULT);
    c.operator_rate_per_s = or_default(c.operator_rate_per_s, GATEWAY_AUTH_OPERATOR_RATE_DEFAULT);
    c.operator_burst = or_default(c.operator_burst, GATEWAY_AUTH_OPERATOR_BURST_DEFAULT);
    if (!c.now_ms)
        c.now_ms = clock_mono_ms;
    if (c.customer_rate_per_s > GATEWAY_RATELIMIT_RATE_MAX ||
        c.operator_rate_per_s > GATEWAY_RATELIMIT_RATE_MAX ||
        c.customer_burst > GATEWAY_RATELIMIT_BURST_MAX ||
        c.operator_burst > GATEWAY_RATELIMIT_BURST_MAX)
        return LEDGER_E_INVALID;
    if (sodium_init() < 0)
        return LEDGER_E_IO;
    gateway_auth_t *self = calloc(1, sizeof *self);
    if (!self)
        return LEDGER_E_NOMEM;
    self->config = c;
    pthread_mutex_init(&self->lock, NULL);
    ledger_err_t err =
        gateway_authfail_new(c.fail_rate_per_s, c.fail_burst, c.now_ms, &self->fails);
    if (err) {
        gateway_auth_destroy(&self);
        return err;
    }
    *out = self;
    return LEDGER_OK;
}

void gateway_auth_destroy(gateway_auth_t **self_p)
{
    assert(self_p);
    gateway_auth_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < BUCKET_HEADS; i++)
        while (self->buckets[i]) {
            bucket_node_t *n = self->buckets[i];
            self->buckets[i] = n->next;
            free(n);
        }
    gateway_authfail_destroy(&self->fails);
    pthread_mutex_destroy(&self->lock);
    sodium_memzero(self, sizeof *self);
    free(self);
    *self_p = NULL;
}

static void kind_limits(const gateway_auth_t *self, gateway_kind_t kind, uint32_t *rate,
                        uint32_t *burst)
{
    bool op = kind == GATEWAY_PRINCIPAL_OPERATOR;
    *rate = op ? self->config.operator_rate_per_s : self->config.customer_rate_per_s;
    *burst = op ? self->config.operator_burst : self->config.customer_burst;
}

/* Drops every bucket that is full at now_ms (under the lock). */
static void buckets_sweep(gateway_auth_t *self, uint64_t now_ms)
{
    for (size_t i = 0; i < BUCKET_HEADS; i++)
        for (bucket_node_t **p = &self->buckets[i]; *p;) {
            uint32_t rate, burst;
            kind_limits(self, (*p)->kind, &rate, &burst);
            if (gateway_ratelimit_full(&(*p)->bucket, rate, burst, now_ms)) {
                bucket_node_t *gone = *p;
                *p = gone->next;
                free(gone);
                self->bucket_count--;
            } else {
                p = &(*p)->next;
            }
        }
}

/*  Takes a token of principal p's bucket (under the lock). No room for a new
    bucket and none full to drop: refused, as if empty, for a second. */
static bool bucket_take(gateway_auth_t *self, const gateway_principal_t *p, uint64_t *retry_ms)
{
    uint64_t now_ms = self->config.now_ms();
    uint32_t rate, burst;
    kind_limits(self, p->kind, &rate, &burst);
    bucket_node_t **head = &self->buckets[hash_text(p->id) % BUCKET_HEADS];
    bucket_node_t *n = *head;
    while (n && strcmp(n->principal, p->id) != 0)
        n = n->next;
    if (!n) {
        if (self->bucket_count >= GATEWAY_AUTH_BUCKETS_MAX)
            buckets_sweep(self, now_ms);
        n = self->bucket_count < GATEWAY_AUTH_BUCKETS_MAX ? calloc(1, sizeof *n) : NULL;
        if (!n) {
            *retry_ms = 1000;
            return false;
        }
        memcpy(n->principal, p->id, sizeof n->principal);
        n->kind = p->kind;
        n->next = *head;
        *head = n;
        self->bucket_count++;
    }
    return gateway_ratelimit_take(&n->bucket, rate, burst, now_ms, retry_ms);
}

/*  The principal of a key from the cache (under the lock): true on a hit
    whose hash matches; false on a miss. *known: the slot held this key id
    (a hash mismatch then means a wrong secret, no store read needed). */
static bool cache_lookup(gateway_auth_t *self, const char *key_id, const uint8_t *hash,
                         gateway_principal_t *out, bool *known)
{
    const cache_slot_t *s = &self->cache[hash_text(key_id) % GATEWAY_AUTH_CACHE_SLOTS];
    *known = s->used && strcmp(s->key_id, key_id) == 0;
    if (!*known)
        return false;
    if (sodium_memcmp(s->hash, hash, GATEWAY_KEY_HASH_SIZE) != 0)
        return false;
    *out = s->principal;
    return true;
}

/* Reads the key from the store: GATEWAY_AUTH_OK with the principal and the stored hash. */
static gateway_auth_result_t store_lookup(store_t *store, const char *key_id,
                                          gateway_principal_t *p, uint8_t *stored_hash)
{
    store_txn_t *txn = NULL;
    if (store_txn_begin(store, false, &txn) != LEDGER_OK)
        return GATEWAY_AUTH_UNAVAILABLE;
    gateway_key_t key;
    ledger_err_t err = gateway_principals_key_get(txn, key_id, &key);
    if (!err && key.state != GATEWAY_KEY_ACTIVE)
        err = LEDGER_E_NOT_FOUND;
    if (!err)
        err = gateway_principals_get(txn, key.principal, p);
    store_txn_abort(&txn);
    if (err == LEDGER_E_NOT_FOUND)
        return GATEWAY_AUTH_UNAUTHENTICATED;
    if (err)
        return GATEWAY_AUTH_UNAVAILABLE;
    memcpy(stored_hash, key.hash, GATEWAY_KEY_HASH_SIZE);
    return GATEWAY_AUTH_OK;
}

/*  Who presents `authorization`: the principal of an active key with that
    secret; on GATEWAY_AUTH_OK also whether its bucket had a token (*allowed,
    else *retry_ms), taken in the same critical section as the cache lookup:
    one lock per request on the hot path. */
static gateway_auth_result_t authenticate(gateway_auth_t *self, store_t *store,
                                          const char *authorization, gateway_auth_caller_t *caller,
                                          bool *allowed, uint64_t *retry_ms)
{
    size_t plen = sizeof BEARER_PREFIX - 1;
    uint8_t secret[GATEWAY_KEY_SECRET_BYTES], hash[GATEWAY_KEY_HASH_SIZE];
    if (!authorization || strncmp(authorization, BEARER_PREFIX, plen) != 0 ||
        !gateway_key_parse(authorization + plen, strlen(authorization + plen), caller->key_id,
                           secret))
        return GATEWAY_AUTH_UNAUTHENTICATED;
    ledger_err_t herr = gateway_key_hash(caller->key_id, secret, hash);
    sodium_memzero(secret, sizeof secret);
    if (herr)
        return GATEWAY_AUTH_UNAVAILABLE;
    bool known;
    pthread_mutex_lock(&self->lock);
    bool hit = cache_lookup(self, caller->key_id, hash, &caller->principal, &known);
    uint64_t generation = self->generation;
    caller->generation = generation;
    if (hit)
        *allowed = bucket_take(self, &caller->principal, retry_ms);
    pthread_mutex_unlock(&self->lock);
    if (hit)
        return GATEWAY_AUTH_OK;
    if (known)
        return GATEWAY_AUTH_UNAUTHENTICATED;
    uint8_t stored[GATEWAY_KEY_HASH_SIZE];
    gateway_auth_result_t res = store_lookup(store, caller->key_id, &caller->principal, stored);
    if (res != GATEWAY_AUTH_OK)
        return res;
    bool match = sodium_memcmp(stored, hash, GATEWAY_KEY_HASH_SIZE) == 0;
    pthread_mutex_lock(&self->lock);
    if (self->generation == generation) {
        cache_slot_t *s = &self->cache[hash_text(caller->key_id) % GATEWAY_AUTH_CACHE_SLOTS];
        s->used = true;
        memcpy(s->key_id, caller->key_id, sizeof s->key_id);
        memcpy(s->hash, stored, GATEWAY_KEY_HASH_SIZE);
        s->principal = caller->principal;
    }
    if (match)
        *allowed = bucket_take(self, &caller->principal, retry_ms);
    pthread_mutex_unlock(&self->lock);
    return match ? GATEWAY_AUTH_OK : GATEWAY_AUTH_UNAUTHENTICATED;
}

gateway_auth_result_t gateway_auth_check(gateway_auth_t *self, store_t *store,
                                         const char *authorization, uint32_t scope,
                                         gateway_auth_caller_t *caller_out, uint64_t *retry_after_s)
{
    assert(self && store && caller_out && retry_after_s);
    gateway_auth_caller_t caller;
    bool allowed = false;
    uint64_t retry_ms = 0;
    gateway_auth_result_t res =
        authenticate(self, store, authorization, &caller, &allowed, &retry_ms);
    if (res != GATEWAY_AUTH_OK)
        return res;
    *caller_out = caller;
    if (!allowed) {
        *retry_after_s = (retry_ms + 999) / 1000;
        if (*retry_after_s == 0)
            *retry_after_s = 1;
        return GATEWAY_AUTH_RATE_LIMITED;
    }
    return (caller.principal.scopes & scope) == scope ? GATEWAY_AUTH_OK : GATEWAY_AUTH_FORBIDDEN;
}

gateway_authfail_t *gateway_auth_failures(gateway_auth_t *self)
{
    return self ? self->fails : NULL;
}

bool gateway_auth_take_rate(gateway_auth_t *self, const gateway_auth_caller_t *caller,
                            uint64_t *retry_after_s)
{
    assert(self && caller && retry_after_s);
    uint64_t retry_ms = 0;
    pthread_mutex_lock(&self->lock);
    bool allowed = bucket_take(self, &caller->principal, &retry_ms);
    pthread_mutex_unlock(&self->lock);
    if (!allowed)
        *retry_after_s = retry_ms ? (retry_ms + 999) / 1000 : 1;
    return allowed;
}

void gateway_auth_forget_key(gateway_auth_t *self, const char *key_id)
{
    assert(self && key_id);
    pthread_mutex_lock(&self->lock);
    self->generation++;
    cache_slot_t *s = &self->cache[hash_text(key_id) % GATEWAY_AUTH_CACHE_SLOTS];
    if (s->used && strcmp(s->key_id, key_id) == 0)
        memset(s, 0, sizeof *s);
    for (size_t i = 0; i < GATEWAY_AUTH_STREAM_TOKENS_MAX; i++)
        if (self->tokens[i].used && strcmp(self->tokens[i].caller.key_id, key_id) == 0)
            memset(&self->tokens[i], 0, sizeof self->tokens[i]);
    if (self->on_forget)
        self->on_forget(self->on_forget_arg, key_id);
    pthread_mutex_unlock(&self->lock);
}

void gateway_auth_on_forget(gateway_auth_t *self, gateway_auth_forget_fn fn, void *arg)
{
    assert(self);
    pthread_mutex_lock(&self->lock);
    self->on_forget = fn;
    self->on_forget_arg = arg;
    pthread_mutex_unlock(&self->lock);
}

bool gateway_auth_caller_live(gateway_auth_t *self, store_t *store, gateway_auth_caller_t *caller)
{
    assert(self && store && caller);
    pthread_mutex_lock(&self->lock);
    uint64_t generation = self->generation;
    pthread_mutex_unlock(&self->lock);
    if (generation == caller->generation)
        return true; /* no key was revoked since this one was found active */
    gateway_principal_t p;
    uint8_t stored[GATEWAY_KEY_HASH_SIZE];
    if (store_lookup(store, caller->key_id, &p, stored) != GATEWAY_AUTH_OK)
        return false;
    caller->generation = generation; /* active after that revocation count */
    return true;
}

/*  The slot for a new token of `caller` (lock held): its principal's oldest live token once it
    holds GATEWAY_AUTH_STREAM_TOKENS_PER_PRINCIPAL, else a free or expired slot; NULL if none. */
static stream_token_t *token_slot_pick(gateway_auth_t *self, const gateway_auth_caller_t *caller,
                                       uint64_t now_ms)
{
    stream_token_t *free_slot = NULL, *oldest_own = NULL;
    unsigned own = 0;
    for (size_t i = 0; i < GATEWAY_AUTH_STREAM_TOKENS_MAX; i++) {
        stream_token_t *t = &self->tokens[i];
        if (!t->used || t->expires_ms <= now_ms) {
            if (!free_slot)
                free_slot = t;
        } else if (strcmp(t->caller.principal.id, caller->principal.id) == 0) {
            own++;
            if (!oldest_own || t->expires_ms < oldest_own->expires_ms)
                oldest_own = t;
        }
    }
    return own >= GATEWAY_AUTH_STREAM_TOKENS_PER_PRINCIPAL ? oldest_own : free_slot;
}

/* Fills a slot with a new token for `caller` (lock held); false when none is free. */
static bool token_slot_fill(gateway_auth_t *self, const gateway_auth_caller_t *caller,
                            uint64_t now_ms, char *token_out, uint64_t *expires_ms)
{
    stream_token_t *slot = token_slot_pick(self, caller, now_ms);
    if (!slot)
        return false;
    slot->used = true;
    randombytes_buf(slot->token, sizeof slot->token);
    slot->expires_ms = now_ms + GATEWAY_AUTH_STREAM_TOKEN_TTL_MS;
    slot->caller = *caller;
    sodium_bin2hex(token_out, GATEWAY_AUTH_STREAM_TOKEN_LEN + 1, slot->token, sizeof slot->token);
    *expires_ms = slot->expires_ms;
    return true;
}

gateway_auth_result_t gateway_auth_stream_token_issue(gateway_auth_t *self, store_t *store,
                                                      gateway_auth_caller_t *caller,
                                                      char *token_out, uint64_t *expires_ms)
{
    assert(self && store && caller && token_out && expires_ms);
    /* The generation is compared under the lock that stores the token: a revocation either
       came first (seen here: the key is checked again) or comes after (its forget removes
       the token). A revocation storm can make this go round: a bounded number of times. */
    for (unsigned attempt = 0; attempt < GATEWAY_AUTH_ISSUE_ATTEMPTS; attempt++) {
        if (!gateway_auth_caller_live(self, store, caller))
            return GATEWAY_AUTH_UNAUTHENTICATED;
        uint64_t now_ms = self->config.now_ms();
        pthread_mutex_lock(&self->lock);
        bool current = self->generation == caller->generation;
        bool issued = current && token_slot_fill(self, caller, now_ms, token_out, expires_ms);
        pthread_mutex_unlock(&self->lock);
        if (current)
            return issued ? GATEWAY_AUTH_OK : GATEWAY_AUTH_UNAVAILABLE;
    }
    return GATEWAY_AUTH_UNAVAILABLE;
}

bool gateway_auth_stream_token_redeem(gateway_auth_t *self, const char *token, size_t len,
                                      gateway_auth_caller_t *caller_out)
{
    assert(self && caller_out);
    uint8_t raw[GATEWAY_AUTH_STREAM_TOKEN_BYTES];
    size_t raw_len = 0;
    if (!token || len != GATEWAY_AUTH_STREAM_TOKEN_LEN ||
        sodium_hex2bin(raw, sizeof raw, token, len, NULL, &raw_len, NULL) != 0 ||
        raw_len != sizeof raw)
        return false;
    uint64_t now_ms = self->config.now_ms();
    bool found = false;
    pthread_mutex_lock(&self->lock);
    for (size_t i = 0; i < GATEWAY_AUTH_STREAM_TOKENS_MAX && !found; i++) {
        stream_token_t *t = &self->tokens[i];
        if (t->used && sodium_memcmp(t->token, raw, sizeof raw) == 0) {
            found = t->expires_ms > now_ms;
            *caller_out = t->caller;
            memset(t, 0, sizeof *t);
        }
    }
    pthread_mutex_unlock(&self->lock);
    return found;
}

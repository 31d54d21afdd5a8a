/* gateway_authfail.c: the per-address buckets of failed authentications (gateway_authfail.h). */
#include "gateway_authfail.h"

#include <assert.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "gateway_ratelimit.h"

#define ADDR_KEY_BYTES 9 /* family tag + an IPv4 address or an IPv6 /64 */

/*  A slot's bucket is shared by every address that hashes to it: the hash is
    keyed with a secret drawn at start (SipHash, libsodium's
    crypto_shorthash), so a client cannot pick addresses that share, reset
    or evict another address's bucket; an honest address shares a guesser's
    slot by chance only (1 in GATEWAY_AUTHFAIL_SLOTS per guessing address). */
typedef struct {
    bool used;
    gateway_ratelimit_t bucket;
} slot_t;

struct gateway_authfail_t {
    uint32_t rate_per_s, burst;
    uint64_t (*now_ms)(void);
    pthread_mutex_t lock;
    _Atomic uint32_t used; /* slots in use: 0 = nobody is throttled, no lock needed */
    _Atomic uint64_t refused;
    slot_t slots[GATEWAY_AUTHFAIL_SLOTS];
};

ledger_err_t gateway_authfail_new(uint32_t rate_per_s, uint32_t burst, uint64_t (*now_ms)(void),
                                  gateway_authfail_t **out)
{
    assert(out);
    *out = NULL;
    rate_per_s = rate_per_s ? rate_per_s : GATEWAY_AUTHFAIL_RATE_DEFAULT;
    burst = burst ? burst : GATEWAY_AUTHFAIL_BURST_DEFAULT;
    if (rate_per_s > GATEWAY_RATELIMIT_RATE_MAX || burst > GATEWAY_RATELIMIT_BURST_MAX)
        return LEDGER_E_INVALID;
    gateway_authfail_t *self = calloc(1, sizeof *self);
    if (!self)
        return LEDGER_E_NOMEM;
    self->rate_per_s = rate_per_s;
    self->burst = burst;
    self->now_ms = now_ms ? now_ms : clock_mono_ms;
    pthread_mutex_init(&self->lock, NULL);
    *out = self;
    return LEDGER_OK;
}

void gateway_authfail_destroy(gateway_authfail_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    pthread_mutex_destroy(&(*self_p)->lock);
    free(*self_p);
    *self_p = NULL;
}

/* The bucket's key of an address: IPv4 (an IPv4-mapped IPv6 one too), or the /64 of IPv6. */
static void addr_key(const struct sockaddr *addr, uint8_t key[ADDR_KEY_BYTES])
{
    memset(key, 0, ADDR_KEY_BYTES);
    if (addr && addr->sa_family == AF_INET) {
        key[0] = 4;
        memcpy(key + 1, &((const struct sockaddr_in *)addr)->sin_addr, 4);
    } else if (addr && addr->sa_family == AF_INET6) {
        const uint8_t *a = ((const struct sockaddr_in6 *)addr)->sin6_addr.s6_addr;
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        bool v4 = memcmp(a, mapped, sizeof mapped) == 0;
        key[0] = v4 ? 4 : 6;
        memcpy(key + 1, v4 ? a + 12 : a, v4 ? 4 : 8);
    }
}

static uint8_t hash_secret[crypto_shorthash_KEYBYTES];
static pthread_once_t hash_secret_once = PTHREAD_ONCE_INIT;

static void draw_hash_secret(void)
{
    if (sodium_init() < 0)
        abort(); /* no randomness: a predictable hash would let clients pick collisions */
    randombytes_buf(hash_secret, sizeof hash_secret);
}

static uint32_t key_hash(const uint8_t key[ADDR_KEY_BYTES])
{
    pthread_once(&hash_secret_once, draw_hash_secret);
    uint8_t out[crypto_shorthash_BYTES];
    crypto_shorthash(out, key, ADDR_KEY_BYTES, hash_secret);
    uint32_t h;
    memcpy(&h, out, sizeof h);
    return h;
}

static slot_t *slot_of(gateway_authfail_t *self, const uint8_t key[ADDR_KEY_BYTES])
{
    return &self->slots[key_hash(key) % GATEWAY_AUTHFAIL_SLOTS];
}

uint32_t gateway_authfail_address_hash(const struct sockaddr *addr)
{
    uint8_t key[ADDR_KEY_BYTES];
    addr_key(addr, key);
    return addr ? key_hash(key) : 0;
}

bool gateway_authfail_allowed(gateway_authfail_t *self, const struct sockaddr *addr,
                              uint64_t *retry_after_s)
{
    assert(self && retry_after_s);
    if (atomic_load(&self->used) == 0)
        return true;
    uint8_t key[ADDR_KEY_BYTES];
    addr_key(addr, key);
    uint64_t now = self->now_ms(), retry_ms = 0;
    bool allowed = true;
    pthread_mutex_lock(&self->lock);
    slot_t *s = slot_of(self, key);
    if (s->used) {
        if (gateway_ratelimit_full(&s->bucket, self->rate_per_s, self->burst, now)) {
            s->used = false; /* a full bucket is as good as none */
            atomic_fetch_sub(&self->used, 1);
        } else {
            gateway_ratelimit_t probe = s->bucket; /* would a failure find a token? */
            allowed = gateway_ratelimit_take(&probe, self->rate_per_s, self->burst, now, &retry_ms);
        }
    }
    pthread_mutex_unlock(&self->lock);
    if (!allowed) {
        atomic_fetch_add(&self->refused, 1);
        *retry_after_s = retry_ms ? (retry_ms + 999) / 1000 : 1;
    }
    return allowed;
}

void gateway_authfail_note(gateway_authfail_t *self, const struct sockaddr *addr)
{
    assert(self);
    uint8_t key[ADDR_KEY_BYTES];
    addr_key(addr, key);
    uint64_t now = self->now_ms();
    pthread_mutex_lock(&self->lock);
    slot_t *s = slot_of(self, key);
    if (!s->used) { /* a fresh bucket; a used one is shared, never reset by another address */
        atomic_fetch_add(&self->used, 1);
        s->used = true;
        s->bucket = (gateway_ratelimit_t){0};
    }
    gateway_ratelimit_take(&s->bucket, self->rate_per_s, self->burst, now, NULL);
    pthread_mutex_unlock(&self->lock);
}

uint64_t gateway_authfail_refused(const gateway_authfail_t *self)
{
    return self ? atomic_load(&((gateway_authfail_t *)self)->refused) : 0;
}

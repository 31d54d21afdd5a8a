/*  gateway_principals.h: who may call the public API: principals, their
    scopes and their API keys, as records in the gateway's store.

    A principal is {id, kind, scopes}: the id follows the account-id rule
    (proto_account_id_valid: 1..64 bytes of [a-z0-9_-]), the kind is
    customer or operator, the scopes are a set of GATEWAY_SCOPE_* bits:

      transfers:write  POST /api/transfers and /api/transfers/batch    (customer)
      transfers:read   GET /api/transfers, GET /api/transfers/{id}     (customer)
      accounts:read    GET /api/accounts, /api/accounts/{id}[/ledger]  (customer)
      events:read      GET /api/events, POST /api/stream-tokens        (customer)
      accounts:open    POST /api/accounts                              (operator)
      deposits:write   POST /api/deposits (a later step)               (operator)
      risk:read        fraud rules and decline reasons in full         (operator)
                       (gateway_redact.h: others get a generic message)
      accounts:manage  PATCH /api/accounts/{id}: status, overdraft     (operator)

    A customer may hold only the customer scopes; an operator any of them.
    A principal is never changed once written (POST /principals with
    another body is a conflict), so its record never needs a migration of
    its meaning, only of its layout; the one exception is a migration that
    grants a new scope to the principals who held what it was split from
    (gateway_principals_grant: operators with accounts:open get
    accounts:manage, gateway format 7).

    An API key is shown once, as "lk_<key_id>_<secret>": key_id is 8 random
    bytes in hex (16 characters, public: it names the key in the admin
    routes and in logs), secret 32 random bytes from libsodium in hex (64
    characters). The store keeps only SHA-256("ledger-api-key/1" | key_id |
    secret bytes). A fast hash is enough here, and a slow password hash
    (argon2) would be wrong: the secret is 256 uniformly random bits, not
    something a person chose, so there is no dictionary to try and
    brute force over 2^256 is out of reach whatever the hash costs; and
    the lookup is on the hot path of every API request (~0.3 µs for
    SHA-256 against milliseconds for argon2). The presented hash is compared
    with the stored one in constant time (sodium_memcmp). A principal holds
    at most GATEWAY_PRINCIPAL_ACTIVE_KEYS_MAX active keys (rotation: make
    the new one, move clients, revoke the old one); a revoked key stays on
    record (state revoked) and never authenticates again.

    What it owns: these records in STORE_DB_INDEX (under "auth/", beside the
    view's "idem/" and the event log's "evt/" keys; a sub-database of their own would need
    a change to store/, which later work may make):
      "auth/p/" + id               -> u8 version (1) | u8 kind | be32 scopes |
                                      be64 created_ms
      "auth/k/" + key_id           -> u8 version (1) | u8 state (1 active,
                                      2 revoked) | str8 principal | 32-byte
                                      hash | be64 created_ms | be64 revoked_ms
      "auth/pk/" + id + "/" + key_id -> ""  (a principal's keys; ids have no '/')
    It is the only code that reads or writes them.

    Errors: LEDGER_E_INVALID (a bad id, kind, scope or a customer asking for
    an operator scope), LEDGER_E_NOT_FOUND (no such principal or key; for
    gateway_principals_authenticate: the key is malformed, unknown, revoked
    or wrong), LEDGER_E_EXISTS (another principal under that id),
    LEDGER_E_TOO_LARGE (the principal already holds
    GATEWAY_PRINCIPAL_ACTIVE_KEYS_MAX active keys), LEDGER_E_CORRUPT (a
    record that does not decode), store errors. A NULL txn is a bug.

    Threads: no state; any thread that owns the transaction. Key creation
    draws from libsodium (sodium_init must have run: gateway_http_start and
    the gateway's main do it).
*/
#ifndef LEDGER_GATEWAY_PRINCIPALS_H
#define LEDGER_GATEWAY_PRINCIPALS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ledger_err.h"
#include "proto.h"
#include "store.h"

#define GATEWAY_PRINCIPAL_ID_MAX PROTO_ACCOUNT_ID_MAX /* bytes of a principal id */
#define GATEWAY_PRINCIPAL_ACTIVE_KEYS_MAX 2           /* active keys per principal */
#define GATEWAY_KEY_ID_BYTES 8                        /* random bytes of a key id */
#define GATEWAY_KEY_ID_LEN (2 * GATEWAY_KEY_ID_BYTES) /* hex characters of a key id */
#define GATEWAY_KEY_SECRET_BYTES 32                   /* random bytes of a key's secret */
#define GATEWAY_KEY_HASH_SIZE 32                      /* SHA-256 */
#define GATEWAY_KEY_PREFIX "lk_"
/* "lk_" + key id + "_" + secret in hex: the whole key a client sends. */
#define GATEWAY_KEY_TEXT_LEN (3 + GATEWAY_KEY_ID_LEN + 1 + 2 * GATEWAY_KEY_SECRET_BYTES)
#define GATEWAY_PRINCIPAL_KEYS_LIST_MAX                                                            \
    64 /* keys GET /principals/{id} lists, the active ones always */

typedef enum {
    GATEWAY_SCOPE_TRANSFERS_WRITE = 1u << 0,
    GATEWAY_SCOPE_TRANSFERS_READ = 1u << 1,
    GATEWAY_SCOPE_ACCOUNTS_READ = 1u << 2,
    GATEWAY_SCOPE_EVENTS_READ = 1u << 3,
    GATEWAY_SCOPE_ACCOUNTS_OPEN = 1u << 4,
    GATEWAY_SCOPE_DEPOSITS_WRITE = 1u << 5,
    GATEWAY_SCOPE_RISK_READ = 1u << 6,
    GATEWAY_SCOPE_ACCOUNTS_MANAGE = 1u << 7,
} gateway_scope_t;

#define GATEWAY_SCOPES_CUSTOMER                                                                    \
    (GATEWAY_SCOPE_TRANSFERS_WRITE | GATEWAY_SCOPE_TRANSFERS_READ | GATEWAY_SCOPE_ACCOUNTS_READ |  \
     GATEWAY_SCOPE_EVENTS_READ)
#define GATEWAY_SCOPES_ALL                                                                         \
    (GATEWAY_SCOPES_CUSTOMER | GATEWAY_SCOPE_ACCOUNTS_OPEN | GATEWAY_SCOPE_DEPOSITS_WRITE |        \
     GATEWAY_SCOPE_RISK_READ | GATEWAY_SCOPE_ACCOUNTS_MANAGE)
#define GATEWAY_SCOPE_COUNT 8

typedef enum { GATEWAY_PRINCIPAL_CUSTOMER = 1, GATEWAY_PRINCIPAL_OPERATOR = 2 } gateway_kind_t;

typedef struct {
    char id[GATEWAY_PRINCIPAL_ID_MAX + 1];
    gateway_kind_t kind;
    uint32_t scopes; /* GATEWAY_SCOPE_* bits */
    uint64_t created_ms;
} gateway_principal_t;

typedef enum { GATEWAY_KEY_ACTIVE = 1, GATEWAY_KEY_REVOKED = 2 } gateway_key_state_t;

typedef struct {
    char key_id[GATEWAY_KEY_ID_LEN + 1];
    char principal[GATEWAY_PRINCIPAL_ID_MAX + 1];
    gateway_key_state_t state;
    uint8_t hash[GATEWAY_KEY_HASH_SIZE];
    uint64_t created_ms;
    uint64_t revoked_ms; /* 0 while active */
} gateway_key_t;

/* "transfers:write", ... for one scope bit; NULL for anything else. */
const char *gateway_scope_name(gateway_scope_t scope);
/* The scope bit named name[0..len), or 0 if none is. */
uint32_t gateway_scope_parse(const char *name, size_t len);
/* "customer" / "operator"; gateway_kind_parse: 0 for any other text. */
const char *gateway_kind_name(gateway_kind_t kind);
gateway_kind_t gateway_kind_parse(const char *text);

/*  Checks a principal's fields (id rule, kind, scopes allowed for the kind):
    true, or false with a reason in why[why_size]. */
bool gateway_principal_valid(const gateway_principal_t *p, char *why, size_t why_size);

/*  Writes principal *p (checked first: LEDGER_E_INVALID) unless its id is
    taken. *created_out: true if written now; false if the same principal
    (kind and scopes) was already there (nothing written, created_ms of the
    stored one copied into p). LEDGER_E_EXISTS if the id holds another one. */
ledger_err_t gateway_principals_put(store_txn_t *txn, gateway_principal_t *p, bool *created_out);

/*  Upgrade step: every operator holding all of `if_scopes` also gets `grant`
    (its record rewritten in place, created_ms kept); customers never do.
    *granted_out: how many records changed (a rerun changes none). Store
    errors, LEDGER_E_CORRUPT (a principal record that does not decode). */
ledger_err_t gateway_principals_grant(store_txn_t *txn, uint32_t if_scopes, uint32_t grant,
                                      size_t *granted_out);

/* Reads principal `id` into *out. LEDGER_E_NOT_FOUND, LEDGER_E_CORRUPT, store errors. */
ledger_err_t gateway_principals_get(store_txn_t *txn, const char *id, gateway_principal_t *out);

/*  Makes a new key for principal `id` at now_ms, stores its hash, and
    writes the whole key, shown once, to key_text[GATEWAY_KEY_TEXT_LEN + 1]
    and its id to key_out. LEDGER_E_NOT_FOUND (no principal),
    LEDGER_E_TOO_LARGE (already GATEWAY_PRINCIPAL_ACTIVE_KEYS_MAX active),
    store errors. */
ledger_err_t gateway_principals_key_create(store_txn_t *txn, const char *id, uint64_t now_ms,
                                           gateway_key_t *key_out, char *key_text);

/*  Revokes key `key_id` of principal `id` at now_ms (a revoked key stays
    revoked: revoking it again is LEDGER_OK, nothing changed).
    LEDGER_E_NOT_FOUND if the principal holds no such key. Store errors. */
ledger_err_t gateway_principals_key_revoke(store_txn_t *txn, const char *id, const char *key_id,
                                           uint64_t now_ms);

/* Reads key `key_id` (any principal's). LEDGER_E_NOT_FOUND, LEDGER_E_CORRUPT, store errors. */
ledger_err_t gateway_principals_key_get(store_txn_t *txn, const char *key_id, gateway_key_t *out);

/*  Fills out[0..*count_out) with up to `max` keys of principal `id`, by key
    id: every active key (there are at most GATEWAY_PRINCIPAL_ACTIVE_KEYS_MAX),
    and revoked ones while room is left; *more_out true if a revoked key was
    left out. Store errors, LEDGER_E_CORRUPT. */
ledger_err_t gateway_principals_keys_list(store_txn_t *txn, const char *id, gateway_key_t *out,
                                          size_t max, size_t *count_out, bool *more_out);

/*  Splits a presented key text[0..len) ("lk_<key_id>_<secret>") into its id
    and the secret's bytes. false if it is not of that shape. Pure. */
bool gateway_key_parse(const char *text, size_t len, char key_id[GATEWAY_KEY_ID_LEN + 1],
                       uint8_t secret[GATEWAY_KEY_SECRET_BYTES]);

/* The stored hash of a key (see the top of this file). LEDGER_E_NOMEM from sha256. */
ledger_err_t gateway_key_hash(const char *key_id, const uint8_t secret[GATEWAY_KEY_SECRET_BYTES],
                              uint8_t hash[GATEWAY_KEY_HASH_SIZE]);

/*  Who presents key text[0..len): the principal of an active key whose hash
    matches (constant-time compare) into *principal_out and the key's id into
    key_id_out. LEDGER_E_NOT_FOUND for a malformed, unknown, revoked or
    wrong key (one answer for all: no oracle). Store errors. */
ledger_err_t gateway_principals_authenticate(store_txn_t *txn, const char *text, size_t len,
                                             gateway_principal_t *principal_out,
                                             char key_id_out[GATEWAY_KEY_ID_LEN + 1]);

#endif

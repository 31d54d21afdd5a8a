/*  gateway_principals_test.c: principal and key records (gateway_principals.h)
    over a real store in a temporary directory. */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "gateway_principals.h"
#include "test_store.h"

#define T0_MS 1700000000000ULL

typedef struct {
    char dir[TEST_DIR_BYTES];
    store_t *store;
    store_txn_t *txn;
} fx_t;

static int setup(void **state)
{
    assert_true(sodium_init() >= 0);
    fx_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    test_store_open_writing(fx->dir, "gateway_principals_test", &fx->store, &fx->txn);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    test_store_close_writing(fx->dir, &fx->store, &fx->txn);
    free(fx);
    return 0;
}

static gateway_principal_t customer(const char *id)
{
    gateway_principal_t p = {
        .kind = GATEWAY_PRINCIPAL_CUSTOMER, .scopes = GATEWAY_SCOPES_CUSTOMER, .created_ms = T0_MS};
    snprintf(p.id, sizeof p.id, "%s", id);
    return p;
}

static void put(fx_t *fx, const char *id)
{
    gateway_principal_t p = customer(id);
    bool created = false;
    assert_int_equal(gateway_principals_put(fx->txn, &p, &created), LEDGER_OK);
    assert_true(created);
}

/* Creates a key of `owner` (asserted); its record and its text. */
static void new_key(fx_t *fx, const char *owner, gateway_key_t *key, char *text)
{
    assert_int_equal(gateway_principals_key_create(fx->txn, owner, T0_MS, key, text), LEDGER_OK);
}

/* The customer alice with one key: its record and its text. */
static void alice_with_a_key(fx_t *fx, gateway_key_t *key, char text[GATEWAY_KEY_TEXT_LEN + 1])
{
    put(fx, "alice");
    new_key(fx, "alice", key, text);
}

static void test_scope_names_round_trip(void **state)
{
    (void)state;
    for (unsigned bit = 1; bit & GATEWAY_SCOPES_ALL; bit <<= 1) {
        const char *name = gateway_scope_name(bit);
        assert_non_null(name);
        assert_int_equal(gateway_scope_parse(name, strlen(name)), bit);
    }
    assert_int_equal(gateway_scope_parse("transfers:writ", 14), 0);
    assert_int_equal(gateway_scope_parse("admin", 5), 0);
}

static void test_a_principal_is_written_once_and_read_back(void **state)
{
    fx_t *fx = *state;
    put(fx, "alice");
    gateway_principal_t got;
    assert_int_equal(gateway_principals_get(fx->txn, "alice", &got), LEDGER_OK);
    assert_string_equal(got.id, "alice");
    assert_int_equal(got.kind, GATEWAY_PRINCIPAL_CUSTOMER);
    assert_int_equal(got.scopes, GATEWAY_SCOPES_CUSTOMER);
    assert_int_equal(gateway_principals_get(fx->txn, "bob", &got), LEDGER_E_NOT_FOUND);
}

static void test_the_same_principal_again_is_not_created_and_another_conflicts(void **state)
{
    fx_t *fx = *state;
    put(fx, "alice");
    gateway_principal_t same = customer("alice");
    same.created_ms = T0_MS + 5;
    bool created = true;
    assert_int_equal(gateway_principals_put(fx->txn, &same, &created), LEDGER_OK);
    assert_false(created);
    assert_int_equal(same.created_ms, T0_MS);
    gateway_principal_t other = customer("alice");
    other.scopes = GATEWAY_SCOPE_TRANSFERS_READ;
    assert_int_equal(gateway_principals_put(fx->txn, &other, &created), LEDGER_E_EXISTS);
    gateway_principal_t got;
    assert_int_equal(gateway_principals_get(fx->txn, "alice", &got), LEDGER_OK);
    assert_int_equal(got.scopes, GATEWAY_SCOPES_CUSTOMER);
}

static void test_bad_principals_are_refused(void **state)
{
    fx_t *fx = *state;
    bool created;
    gateway_principal_t p = customer("Alice");
    assert_int_equal(gateway_principals_put(fx->txn, &p, &created), LEDGER_E_INVALID);
    p = customer("");
    assert_int_equal(gateway_principals_put(fx->txn, &p, &created), LEDGER_E_INVALID);
    p = customer("mallory");
    p.scopes |= GATEWAY_SCOPE_ACCOUNTS_OPEN; /* an operator scope */
    assert_int_equal(gateway_principals_put(fx->txn, &p, &created), LEDGER_E_INVALID);
    p.scopes = GATEWAY_SCOPES_CUSTOMER | GATEWAY_SCOPE_ACCOUNTS_MANAGE; /* so is this one */
    assert_int_equal(gateway_principals_put(fx->txn, &p, &created), LEDGER_E_INVALID);
    p.kind = 0;
    assert_int_equal(gateway_principals_put(fx->txn, &p, &created), LEDGER_E_INVALID);
    p.kind = GATEWAY_PRINCIPAL_OPERATOR;
    p.scopes = GATEWAY_SCOPES_ALL;
    assert_int_equal(gateway_principals_put(fx->txn, &p, &created), LEDGER_OK);
    gateway_principal_t got;
    assert_int_equal(gateway_principals_get(fx->txn, "Alice", &got), LEDGER_E_NOT_FOUND);
}

static void test_a_key_authenticates_its_principal_and_only_its_hash_is_stored(void **state)
{
    fx_t *fx = *state;
    gateway_key_t key;
    char text[GATEWAY_KEY_TEXT_LEN + 1];
    alice_with_a_key(fx, &key, text);
    assert_int_equal(strlen(text), GATEWAY_KEY_TEXT_LEN);
    assert_memory_equal(text, "lk_", 3);
    assert_memory_equal(text + 3, key.key_id, GATEWAY_KEY_ID_LEN);
    gateway_principal_t who;
    char key_id[GATEWAY_KEY_ID_LEN + 1];
    assert_int_equal(gateway_principals_authenticate(fx->txn, text, strlen(text), &who, key_id),
                     LEDGER_OK);
    assert_string_equal(who.id, "alice");
    assert_string_equal(key_id, key.key_id);
    /* The stored record holds no byte run of the secret. */
    const void *val;
    size_t size;
    char k[64];
    snprintf(k, sizeof k, "auth/k/%s", key.key_id);
    assert_int_equal(store_get(fx->txn, STORE_DB_INDEX, k, strlen(k), &val, &size), LEDGER_OK);
    uint8_t secret[GATEWAY_KEY_SECRET_BYTES];
    assert_true(gateway_key_parse(text, strlen(text), key_id, secret));
    assert_null(memmem(val, size, secret, 8));
    assert_null(memmem(val, size, text + 20, 16));
}

static void test_wrong_malformed_and_unknown_keys_do_not_authenticate(void **state)
{
    fx_t *fx = *state;
    gateway_key_t key;
    char text[GATEWAY_KEY_TEXT_LEN + 1];
    alice_with_a_key(fx, &key, text);
    gateway_principal_t who;
    char key_id[GATEWAY_KEY_ID_LEN + 1];
    char wrong[GATEWAY_KEY_TEXT_LEN + 1];
    memcpy(wrong, text, sizeof wrong);
    wrong[GATEWAY_KEY_TEXT_LEN - 1] = wrong[GATEWAY_KEY_TEXT_LEN - 1] == '0' ? '1' : '0';
    assert_int_equal(gateway_principals_authenticate(fx->txn, wrong, strlen(wrong), &who, key_id),
                     LEDGER_E_NOT_FOUND);
    assert_int_equal(gateway_principals_authenticate(fx->txn, text, strlen(text) - 1, &who, key_id),
                     LEDGER_E_NOT_FOUND);
    memcpy(wrong, text, sizeof wrong);
    wrong[4] = wrong[4] == 'a' ? 'b' : 'a'; /* another key id */
    assert_int_equal(gateway_principals_authenticate(fx->txn, wrong, strlen(wrong), &who, key_id),
                     LEDGER_E_NOT_FOUND);
    assert_int_equal(gateway_principals_authenticate(fx->txn, "", 0, &who, key_id),
                     LEDGER_E_NOT_FOUND);
    memcpy(wrong, text, sizeof wrong);
    wrong[GATEWAY_KEY_TEXT_LEN - 1] = 'G';
    assert_int_equal(gateway_principals_authenticate(fx->txn, wrong, strlen(wrong), &who, key_id),
                     LEDGER_E_NOT_FOUND);
}

static void test_a_third_active_key_is_refused_until_one_is_revoked(void **state)
{
    fx_t *fx = *state;
    put(fx, "alice");
    gateway_key_t k1, k2, k3;
    char t1[GATEWAY_KEY_TEXT_LEN + 1], t2[GATEWAY_KEY_TEXT_LEN + 1], t3[GATEWAY_KEY_TEXT_LEN + 1];
    new_key(fx, "alice", &k1, t1);
    new_key(fx, "alice", &k2, t2);
    assert_int_equal(gateway_principals_key_create(fx->txn, "alice", T0_MS, &k3, t3),
                     LEDGER_E_TOO_LARGE);
    assert_int_equal(gateway_principals_key_revoke(fx->txn, "alice", k1.key_id, T0_MS + 1),
                     LEDGER_OK);
    new_key(fx, "alice", &k3, t3);
    gateway_key_t keys[4];
    size_t n;
    bool more;
    assert_int_equal(gateway_principals_keys_list(fx->txn, "alice", keys, 4, &n, &more), LEDGER_OK);
    assert_int_equal(n, 3);
    assert_false(more);
    size_t revoked = 0;
    for (size_t i = 0; i < n; i++)
        revoked += keys[i].state == GATEWAY_KEY_REVOKED;
    assert_int_equal(revoked, 1);
    assert_int_equal(gateway_principals_key_create(fx->txn, "nobody", T0_MS, &k3, t3),
                     LEDGER_E_NOT_FOUND);
}

static void test_a_revoked_key_stops_at_once_and_only_its_owner_revokes_it(void **state)
{
    fx_t *fx = *state;
    put(fx, "alice");
    put(fx, "bob");
    gateway_key_t key;
    char text[GATEWAY_KEY_TEXT_LEN + 1];
    new_key(fx, "alice", &key, text);
    assert_int_equal(gateway_principals_key_revoke(fx->txn, "bob", key.key_id, T0_MS),
                     LEDGER_E_NOT_FOUND);
    gateway_principal_t who;
    char key_id[GATEWAY_KEY_ID_LEN + 1];
    assert_int_equal(gateway_principals_authenticate(fx->txn, text, strlen(text), &who, key_id),
                     LEDGER_OK);
    assert_int_equal(gateway_principals_key_revoke(fx->txn, "alice", key.key_id, T0_MS), LEDGER_OK);
    assert_int_equal(gateway_principals_authenticate(fx->txn, text, strlen(text), &who, key_id),
                     LEDGER_E_NOT_FOUND);
    assert_int_equal(gateway_principals_key_revoke(fx->txn, "alice", key.key_id, T0_MS), LEDGER_OK);
    assert_int_equal(gateway_principals_key_revoke(fx->txn, "alice", "0011223344556677", T0_MS),
                     LEDGER_E_NOT_FOUND);
    /* bob's keys are not alice's. */
    gateway_key_t keys[2];
    size_t n;
    bool more;
    assert_int_equal(gateway_principals_keys_list(fx->txn, "bob", keys, 2, &n, &more), LEDGER_OK);
    assert_int_equal(n, 0);
}

static void test_many_revoked_keys_never_block_a_new_one_nor_hide_the_active(void **state)
{
    fx_t *fx = *state;
    put(fx, "alice");
    gateway_key_t key;
    char text[GATEWAY_KEY_TEXT_LEN + 1];
    for (int i = 0; i < GATEWAY_PRINCIPAL_KEYS_LIST_MAX + 6; i++) {
        assert_int_equal(gateway_principals_key_create(fx->txn, "alice", T0_MS, &key, text),
                         LEDGER_OK);
        assert_int_equal(gateway_principals_key_revoke(fx->txn, "alice", key.key_id, T0_MS),
                         LEDGER_OK);
    }
    gateway_key_t live;
    assert_int_equal(gateway_principals_key_create(fx->txn, "alice", T0_MS, &live, text),
                     LEDGER_OK);
    gateway_key_t keys[GATEWAY_PRINCIPAL_KEYS_LIST_MAX];
    size_t n;
    bool more;
    assert_int_equal(gateway_principals_keys_list(fx->txn, "alice", keys,
                                                  GATEWAY_PRINCIPAL_KEYS_LIST_MAX, &n, &more),
                     LEDGER_OK);
    assert_true(more);
    size_t active = 0;
    for (size_t i = 0; i < n; i++)
        if (keys[i].state == GATEWAY_KEY_ACTIVE) {
            assert_string_equal(keys[i].key_id, live.key_id);
            active++;
        }
    assert_int_equal(active, 1);
    assert_true(n <= GATEWAY_PRINCIPAL_KEYS_LIST_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scope_names_round_trip),
        cmocka_unit_test_setup_teardown(test_a_principal_is_written_once_and_read_back, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_the_same_principal_again_is_not_created_and_another_conflicts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_principals_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_key_authenticates_its_principal_and_only_its_hash_is_stored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_malformed_and_unknown_keys_do_not_authenticate,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_third_active_key_is_refused_until_one_is_revoked,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_revoked_key_stops_at_once_and_only_its_owner_revokes_it, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_many_revoked_keys_never_block_a_new_one_nor_hide_the_active, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*  gateway_auth_test.c: the router's one check (gateway_auth.h): keys through
    the cache, scopes, revocation at once, buckets per principal on a clock
    the test moves, and one-use stream tokens. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway_auth.h"
#include "test_store.h"

#define T0_MS 1700000000000ULL

static uint64_t fake_now_ms = T0_MS;

static uint64_t fake_clock(void)
{
    return fake_now_ms;
}

typedef struct {
    char dir[TEST_DIR_BYTES];
    store_t *store;
    gateway_auth_t *auth;
    char alice[GATEWAY_KEY_TEXT_LEN + 8]; /* "Bearer " + key */
    char alice_id[GATEWAY_KEY_ID_LEN + 1];
    char bob[GATEWAY_KEY_TEXT_LEN + 8];
} fx_t;

typedef struct {
    const char *id;
    gateway_kind_t kind;
    uint32_t scopes;
    char *header;
    char *key_id;
} seed_t;

static ledger_err_t seed(store_txn_t *txn, void *arg)
{
    seed_t *s = arg;
    gateway_principal_t p = {.kind = s->kind, .scopes = s->scopes, .created_ms = T0_MS};
    snprintf(p.id, sizeof p.id, "%s", s->id);
    bool created;
    ledger_err_t err = gateway_principals_put(txn, &p, &created);
    gateway_key_t key;
    char text[GATEWAY_KEY_TEXT_LEN + 1];
    if (!err)
        err = gateway_principals_key_create(txn, s->id, T0_MS, &key, text);
    if (!err) {
        snprintf(s->header, GATEWAY_KEY_TEXT_LEN + 8, "Bearer %s", text);
        if (s->key_id)
            memcpy(s->key_id, key.key_id, GATEWAY_KEY_ID_LEN + 1);
    }
    return err;
}

static int setup(void **state)
{
    fake_now_ms = T0_MS;
    fx_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    test_store_open(fx->dir, "gateway_auth_test", &fx->store);
    gateway_auth_config_t c = {.customer_rate_per_s = 1,
                               .customer_burst = 3,
                               .operator_rate_per_s = 1000,
                               .operator_burst = 1000,
                               .now_ms = fake_clock};
    assert_int_equal(gateway_auth_new(&c, &fx->auth), LEDGER_OK);
    seed_t a = {"alice", GATEWAY_PRINCIPAL_CUSTOMER, GATEWAY_SCOPE_TRANSFERS_READ, fx->alice,
                fx->alice_id};
    seed_t b = {"bob", GATEWAY_PRINCIPAL_CUSTOMER, GATEWAY_SCOPES_CUSTOMER, fx->bob, NULL};
    assert_int_equal(store_write(fx->store, seed, &a), LEDGER_OK);
    assert_int_equal(store_write(fx->store, seed, &b), LEDGER_OK);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    gateway_auth_destroy(&fx->auth);
    test_store_close(fx->dir, &fx->store);
    free(fx);
    return 0;
}

static gateway_auth_result_t check(fx_t *fx, const char *header, uint32_t scope,
                                   gateway_auth_caller_t *caller)
{
    gateway_auth_caller_t ignored;
    uint64_t retry;
    return gateway_auth_check(fx->auth, fx->store, header, scope, caller ? caller : &ignored,
                              &retry);
}

/* Authenticates `header` for `scope` into *who and issues a stream token for it; its expiry. */
static uint64_t issue_token(fx_t *fx, const char *header, uint32_t scope,
                            gateway_auth_caller_t *who, char *token)
{
    assert_int_equal(check(fx, header, scope, who), GATEWAY_AUTH_OK);
    uint64_t expires = 0;
    assert_int_equal(gateway_auth_stream_token_issue(fx->auth, fx->store, who, token, &expires),
                     GATEWAY_AUTH_OK);
    return expires;
}

static void test_a_valid_key_with_the_scope_passes_twice_through_the_cache(void **state)
{
    fx_t *fx = *state;
    gateway_auth_caller_t who;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(check(fx, fx->alice, GATEWAY_SCOPE_TRANSFERS_READ, &who), GATEWAY_AUTH_OK);
        assert_string_equal(who.principal.id, "alice");
        assert_string_equal(who.key_id, fx->alice_id);
    }
}

static void test_no_key_a_bad_scheme_or_a_wrong_secret_is_unauthenticated(void **state)
{
    fx_t *fx = *state;
    uint32_t s = GATEWAY_SCOPE_TRANSFERS_READ;
    assert_int_equal(check(fx, NULL, s, NULL), GATEWAY_AUTH_UNAUTHENTICATED);
    assert_int_equal(check(fx, "", s, NULL), GATEWAY_AUTH_UNAUTHENTICATED);
    assert_int_equal(check(fx, fx->alice + 7, s, NULL), GATEWAY_AUTH_UNAUTHENTICATED);
    char wrong[sizeof fx->alice];
    memcpy(wrong, fx->alice, sizeof wrong);
    size_t last = strlen(wrong) - 1;
    wrong[last] = wrong[last] == '0' ? '1' : '0';
    /* Before and after the right key is cached: both refused. */
    assert_int_equal(check(fx, wrong, s, NULL), GATEWAY_AUTH_UNAUTHENTICATED);
    assert_int_equal(check(fx, fx->alice, s, NULL), GATEWAY_AUTH_OK);
    assert_int_equal(check(fx, wrong, s, NULL), GATEWAY_AUTH_UNAUTHENTICATED);
}

static void test_a_key_without_the_scope_is_forbidden(void **state)
{
    fx_t *fx = *state;
    assert_int_equal(check(fx, fx->alice, GATEWAY_SCOPE_TRANSFERS_WRITE, NULL),
                     GATEWAY_AUTH_FORBIDDEN);
    assert_int_equal(check(fx, fx->bob, GATEWAY_SCOPE_TRANSFERS_WRITE, NULL), GATEWAY_AUTH_OK);
}

typedef struct {
    const char *key_id;
} revoke_arg_t;

static ledger_err_t revoke_alice_key(store_txn_t *txn, void *arg)
{
    return gateway_principals_key_revoke(txn, "alice", ((revoke_arg_t *)arg)->key_id, T0_MS);
}

static void test_a_revoked_and_forgotten_key_fails_at_once(void **state)
{
    fx_t *fx = *state;
    assert_int_equal(check(fx, fx->alice, GATEWAY_SCOPE_TRANSFERS_READ, NULL), GATEWAY_AUTH_OK);
    revoke_arg_t r = {fx->alice_id};
    assert_int_equal(store_write(fx->store, revoke_alice_key, &r), LEDGER_OK);
    gateway_auth_forget_key(fx->auth, fx->alice_id);
    assert_int_equal(check(fx, fx->alice, GATEWAY_SCOPE_TRANSFERS_READ, NULL),
                     GATEWAY_AUTH_UNAUTHENTICATED);
    assert_int_equal(check(fx, fx->bob, GATEWAY_SCOPE_TRANSFERS_READ, NULL), GATEWAY_AUTH_OK);
}

/*  A request checked with its headers and revoked before its body is complete: the re-check
    stops it, and no stream token can be issued for its key. Another caller stays live. */
static void test_a_key_revoked_after_its_headers_were_checked_does_no_work(void **state)
{
    fx_t *fx = *state;
    gateway_auth_caller_t alice, bob;
    assert_int_equal(check(fx, fx->alice, GATEWAY_SCOPE_TRANSFERS_READ, &alice), GATEWAY_AUTH_OK);
    assert_int_equal(check(fx, fx->bob, GATEWAY_SCOPE_TRANSFERS_READ, &bob), GATEWAY_AUTH_OK);
    assert_true(gateway_auth_caller_live(fx->auth, fx->store, &alice));
    revoke_arg_t r = {fx->alice_id};
    assert_int_equal(store_write(fx->store, revoke_alice_key, &r), LEDGER_OK);
    gateway_auth_forget_key(fx->auth, fx->alice_id);
    assert_false(gateway_auth_caller_live(fx->auth, fx->store, &alice));
    char token[GATEWAY_AUTH_STREAM_TOKEN_LEN + 1] = "";
    uint64_t expires = 0;
    assert_int_equal(gateway_auth_stream_token_issue(fx->auth, fx->store, &alice, token, &expires),
                     GATEWAY_AUTH_UNAUTHENTICATED);
    assert_string_equal(token, "");
    /* bob's key is still active: one store read brings his check up to date. */
    assert_true(gateway_auth_caller_live(fx->auth, fx->store, &bob));
    assert_int_equal(gateway_auth_stream_token_issue(fx->auth, fx->store, &bob, token, &expires),
                     GATEWAY_AUTH_OK);
    gateway_auth_caller_t redeemed;
    assert_true(gateway_auth_stream_token_redeem(fx->auth, token, strlen(token), &redeemed));
    assert_string_equal(redeemed.principal.id, "bob");
}

static void test_a_principal_past_its_burst_is_limited_while_another_is_served(void **state)
{
    fx_t *fx = *state;
    gateway_auth_caller_t who;
    uint64_t retry = 0;
    for (int i = 0; i < 3; i++)
        assert_int_equal(check(fx, fx->bob, GATEWAY_SCOPE_TRANSFERS_READ, NULL), GATEWAY_AUTH_OK);
    assert_int_equal(gateway_auth_check(fx->auth, fx->store, fx->bob, GATEWAY_SCOPE_TRANSFERS_READ,
                                        &who, &retry),
                     GATEWAY_AUTH_RATE_LIMITED);
    assert_int_equal(retry, 1);
    assert_int_equal(check(fx, fx->alice, GATEWAY_SCOPE_TRANSFERS_READ, NULL), GATEWAY_AUTH_OK);
    fake_now_ms += 1000;
    assert_int_equal(check(fx, fx->bob, GATEWAY_SCOPE_TRANSFERS_READ, NULL), GATEWAY_AUTH_OK);
}

static void test_a_stream_token_is_good_once_and_not_after_five_minutes(void **state)
{
    fx_t *fx = *state;
    gateway_auth_caller_t who, got;
    char token[GATEWAY_AUTH_STREAM_TOKEN_LEN + 1];
    uint64_t expires = issue_token(fx, fx->bob, GATEWAY_SCOPE_EVENTS_READ, &who, token);
    assert_int_equal(expires, T0_MS + GATEWAY_AUTH_STREAM_TOKEN_TTL_MS);
    assert_true(gateway_auth_stream_token_redeem(fx->auth, token, strlen(token), &got));
    assert_string_equal(got.principal.id, "bob");
    assert_false(gateway_auth_stream_token_redeem(fx->auth, token, strlen(token), &got));
    issue_token(fx, fx->bob, GATEWAY_SCOPE_EVENTS_READ, &who, token);
    fake_now_ms += GATEWAY_AUTH_STREAM_TOKEN_TTL_MS;
    assert_false(gateway_auth_stream_token_redeem(fx->auth, token, strlen(token), &got));
    assert_false(gateway_auth_stream_token_redeem(fx->auth, "zz", 2, &got));
}

static void test_forgetting_a_key_drops_its_stream_tokens(void **state)
{
    fx_t *fx = *state;
    gateway_auth_caller_t who, got;
    char token[GATEWAY_AUTH_STREAM_TOKEN_LEN + 1];
    issue_token(fx, fx->alice, GATEWAY_SCOPE_TRANSFERS_READ, &who, token);
    gateway_auth_forget_key(fx->auth, fx->alice_id);
    assert_false(gateway_auth_stream_token_redeem(fx->auth, token, strlen(token), &got));
}

/* One principal asking for token after token replaces its own oldest; another still gets one. */
static void test_one_principal_cannot_take_every_stream_token(void **state)
{
    fx_t *fx = *state;
    gateway_auth_caller_t bob, alice, got;
    char first[GATEWAY_AUTH_STREAM_TOKEN_LEN + 1], token[GATEWAY_AUTH_STREAM_TOKEN_LEN + 1];
    issue_token(fx, fx->bob, GATEWAY_SCOPE_TRANSFERS_READ, &bob, first);
    uint64_t expires;
    for (unsigned i = 0; i < GATEWAY_AUTH_STREAM_TOKENS_MAX + 1; i++)
        assert_int_equal(
            gateway_auth_stream_token_issue(fx->auth, fx->store, &bob, token, &expires),
            GATEWAY_AUTH_OK);
    assert_false(gateway_auth_stream_token_redeem(fx->auth, first, strlen(first), &got));
    assert_true(gateway_auth_stream_token_redeem(fx->auth, token, strlen(token), &got));
    issue_token(fx, fx->alice, GATEWAY_SCOPE_TRANSFERS_READ, &alice, token);
    assert_true(gateway_auth_stream_token_redeem(fx->auth, token, strlen(token), &got));
    assert_string_equal(got.principal.id, "alice");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_a_valid_key_with_the_scope_passes_twice_through_the_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_no_key_a_bad_scheme_or_a_wrong_secret_is_unauthenticated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_key_without_the_scope_is_forbidden, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_key_revoked_after_its_headers_were_checked_does_no_work, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_revoked_and_forgotten_key_fails_at_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_a_principal_past_its_burst_is_limited_while_another_is_served, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_stream_token_is_good_once_and_not_after_five_minutes,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_principal_cannot_take_every_stream_token, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_forgetting_a_key_drops_its_stream_tokens, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

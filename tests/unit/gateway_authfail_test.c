/* gateway_authfail_test.c: failed authentications per address (gateway_authfail.h): a burst of
   failures empties the address's bucket, other addresses and IPv6 /64s are apart, the bucket
   refills with time, and the per-address share of the body budget (gateway_budget.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "gateway_authfail.h"
#include "gateway_budget.h"

static uint64_t fake_now;
static uint64_t now_ms(void)
{
    return fake_now;
}

static struct sockaddr_in v4(const char *text)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    assert_int_equal(inet_pton(AF_INET, text, &a.sin_addr), 1);
    return a;
}

static struct sockaddr_in6 v6(const char *text)
{
    struct sockaddr_in6 a = {.sin6_family = AF_INET6};
    assert_int_equal(inet_pton(AF_INET6, text, &a.sin6_addr), 1);
    return a;
}

static uint32_t slot_of(const void *addr)
{
    return gateway_authfail_address_hash((const struct sockaddr *)addr) % GATEWAY_AUTHFAIL_SLOTS;
}

/* The first 10.0.x.y after `a` whose slot is (want_same) or is not a's: the hash is keyed. */
static struct sockaddr_in v4_near(const struct sockaddr_in *a, bool want_same)
{
    char text[INET_ADDRSTRLEN];
    for (unsigned i = 2; i < 65536; i++) {
        snprintf(text, sizeof text, "10.0.%u.%u", i / 256, i % 256);
        struct sockaddr_in b = v4(text);
        if ((slot_of(&b) == slot_of(a)) == want_same)
            return b;
    }
    fail_msg("no address found");
    return *a;
}

static void test_a_burst_of_failures_throttles_that_address_only(void **state)
{
    (void)state;
    fake_now = 1000;
    gateway_authfail_t *f = NULL;
    assert_int_equal(gateway_authfail_new(1, 3, now_ms, &f), LEDGER_OK);
    struct sockaddr_in a = v4("10.0.0.1"), b = v4_near(&a, false);
    uint64_t retry = 0;
    for (int i = 0; i < 3; i++) {
        assert_true(gateway_authfail_allowed(f, (struct sockaddr *)&a, &retry));
        gateway_authfail_note(f, (struct sockaddr *)&a);
    }
    assert_false(gateway_authfail_allowed(f, (struct sockaddr *)&a, &retry));
    assert_int_equal(retry, 1);
    assert_true(gateway_authfail_allowed(f, (struct sockaddr *)&b, &retry));
    assert_int_equal(gateway_authfail_refused(f), 1);
    fake_now += 1000; /* one token back */
    assert_true(gateway_authfail_allowed(f, (struct sockaddr *)&a, &retry));
    gateway_authfail_note(f, (struct sockaddr *)&a);
    assert_false(gateway_authfail_allowed(f, (struct sockaddr *)&a, &retry));
    fake_now += 3000; /* full again: the slot is free */
    assert_true(gateway_authfail_allowed(f, (struct sockaddr *)&a, &retry));
    gateway_authfail_destroy(&f);
    assert_null(f);
}

/*  Two addresses in one slot share its bucket: the second's failure takes from the first's
    bucket and never gives it a fresh one (an unkeyed hash with eviction let two colliding
    addresses reset each other's bucket in turn; found in review). */
static void test_colliding_addresses_share_a_bucket_and_never_reset_it(void **state)
{
    (void)state;
    fake_now = 1000;
    gateway_authfail_t *f = NULL;
    assert_int_equal(gateway_authfail_new(1, 3, now_ms, &f), LEDGER_OK);
    struct sockaddr_in a = v4("10.0.0.1"), b = v4_near(&a, true);
    uint64_t retry = 0;
    gateway_authfail_note(f, (struct sockaddr *)&a);
    gateway_authfail_note(f, (struct sockaddr *)&a);
    gateway_authfail_note(f, (struct sockaddr *)&b); /* the slot's third: empty now */
    assert_false(gateway_authfail_allowed(f, (struct sockaddr *)&a, &retry));
    assert_false(gateway_authfail_allowed(f, (struct sockaddr *)&b, &retry));
    gateway_authfail_note(f, (struct sockaddr *)&b);
    assert_false(gateway_authfail_allowed(f, (struct sockaddr *)&a, &retry));
    gateway_authfail_destroy(&f);
}

static void test_an_ipv6_64_shares_one_bucket_and_mapped_ipv4_is_ipv4(void **state)
{
    (void)state;
    fake_now = 1000;
    gateway_authfail_t *f = NULL;
    assert_int_equal(gateway_authfail_new(1, 1, now_ms, &f), LEDGER_OK);
    struct sockaddr_in6 one = v6("2001:db8:1:2::1"), same64 = v6("2001:db8:1:2::ffff"),
                        other64 = v6("2001:db8:1:3::1"), mapped = v6("::ffff:10.0.0.9");
    for (unsigned n = 4; slot_of(&other64) == slot_of(&one) && n < 65536; n++) {
        char text[INET6_ADDRSTRLEN]; /* another /64 in another slot: the hash is keyed */
        snprintf(text, sizeof text, "2001:db8:1:%x::1", n);
        other64 = v6(text);
    }
    struct sockaddr_in plain = v4("10.0.0.9");
    uint64_t retry = 0;
    gateway_authfail_note(f, (struct sockaddr *)&one);
    assert_false(gateway_authfail_allowed(f, (struct sockaddr *)&same64, &retry));
    assert_true(gateway_authfail_allowed(f, (struct sockaddr *)&other64, &retry));
    gateway_authfail_note(f, (struct sockaddr *)&mapped);
    assert_false(gateway_authfail_allowed(f, (struct sockaddr *)&plain, &retry));
    assert_int_equal(gateway_authfail_address_hash((struct sockaddr *)&mapped),
                     gateway_authfail_address_hash((struct sockaddr *)&plain));
    gateway_authfail_destroy(&f);
}

static void test_one_address_holds_at_most_its_share_of_the_budget(void **state)
{
    (void)state;
    gateway_budget_t b;
    gateway_budget_init(&b, 1000);
    gateway_budget_set_share(&b, 400);
    assert_true(gateway_budget_take_share(&b, 1, 400));
    assert_false(gateway_budget_take_share(&b, 1, 1)); /* its share is full */
    assert_int_equal(gateway_budget_refused_share(&b), 1);
    assert_true(gateway_budget_take_share(&b, 2, 400));  /* another address */
    assert_false(gateway_budget_take_share(&b, 3, 300)); /* the budget is full */
    assert_int_equal(gateway_budget_refused(&b), 1);
    assert_int_equal(gateway_budget_in_use(&b), 800);
    gateway_budget_give_share(&b, 1, 400);
    assert_true(gateway_budget_take_share(&b, 1, 100));
    gateway_budget_give_share(&b, 1, 100);
    gateway_budget_give_share(&b, 2, 400);
    assert_int_equal(gateway_budget_in_use(&b), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_burst_of_failures_throttles_that_address_only),
        cmocka_unit_test(test_colliding_addresses_share_a_bucket_and_never_reset_it),
        cmocka_unit_test(test_an_ipv6_64_shares_one_bucket_and_mapped_ipv4_is_ipv4),
        cmocka_unit_test(test_one_address_holds_at_most_its_share_of_the_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

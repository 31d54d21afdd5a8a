/*  gateway_money_api_test.c: POST /api/deposits and POST /api/withdrawals
    (gateway_money_api.h): the pure mapping to a transfer with the settlement
    account, then the routes end to end over loopback HTTP with the node
    loop's stand-in (gateway_http_fixture.h): what is committed and sent,
    the kind shown, the scope, the limits, and that a refusal writes nothing.
*/
#define _GNU_SOURCE /* strcasestr */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gateway_http.h"
#include "gateway_http_fixture.h"
#include "gateway_money_api.h"
#include "gateway_owners.h"
#include "gateway_view.h"
#include "test_main.h"
#include "test_store.h"

typedef test_store_t fx_t;

#define DEPOSIT_BODY "{\"account\":\"alice\",\"amount\":5000,\"reference\":\"salary\"}"
#define DEPOSIT_MAX 100000

/* --- the mapping (pure) ---------------------------------------------------- */

static gateway_request_money_t money(const char *account, int64_t amount, const char *currency)
{
    gateway_request_money_t m;
    memset(&m, 0, sizeof m);
    snprintf(m.account, sizeof m.account, "%s", account);
    m.amount_minor = amount;
    snprintf(m.currency, sizeof m.currency, "%s", currency);
    snprintf(m.reference, sizeof m.reference, "ref");
    return m;
}

static void test_a_deposit_comes_from_the_settlement_account(void **state)
{
    (void)state;
    gateway_request_money_t m = money("alice", 5000, "GBP");
    gateway_transfer_request_t req;
    gateway_request_error_t err;
    assert_int_equal(
        gateway_money_api_to_transfer(GATEWAY_MONEY_DEPOSIT, &m, DEPOSIT_MAX, &req, &err),
        LEDGER_OK);
    assert_string_equal(req.from, "funding");
    assert_string_equal(req.to, "alice");
    assert_int_equal(req.amount_minor, 5000);
    assert_string_equal(req.reference, "ref");
    assert_int_equal(gateway_view_record_kind(&req), PROTO_TRANSFER_KIND_DEPOSIT);
}

static void test_a_withdrawal_goes_to_the_settlement_account(void **state)
{
    (void)state;
    /* Withdrawals have no upper limit of their own: the balance is the limit. */
    gateway_request_money_t m = money("alice", DEPOSIT_MAX + 1, "GBP");
    gateway_transfer_request_t req;
    gateway_request_error_t err;
    assert_int_equal(
        gateway_money_api_to_transfer(GATEWAY_MONEY_WITHDRAWAL, &m, DEPOSIT_MAX, &req, &err),
        LEDGER_OK);
    assert_string_equal(req.from, "alice");
    assert_string_equal(req.to, "funding");
    assert_int_equal(gateway_view_record_kind(&req), PROTO_TRANSFER_KIND_WITHDRAWAL);
}

static void assert_refused(gateway_money_op_t op, gateway_request_money_t m, const char *code,
                           const char *field)
{
    gateway_transfer_request_t req;
    gateway_request_error_t err;
    assert_int_equal(gateway_money_api_to_transfer(op, &m, DEPOSIT_MAX, &req, &err),
                     LEDGER_E_INVALID);
    assert_int_equal(err.http_status, 422);
    assert_string_equal(err.code, code);
    assert_string_equal(err.field, field);
}

static void test_refusals_name_their_code_and_field(void **state)
{
    (void)state;
    assert_refused(GATEWAY_MONEY_DEPOSIT, money("alice", DEPOSIT_MAX + 1, "GBP"),
                   "amount_too_large", "amount");
    assert_refused(GATEWAY_MONEY_DEPOSIT, money("funding", 5, "GBP"), "settlement_account",
                   "account");
    assert_refused(GATEWAY_MONEY_WITHDRAWAL, money("funding", 5, "GBP"), "settlement_account",
                   "account");
    /* XTS (ISO 4217's code for tests) is in no table: no settlement account */
    assert_refused(GATEWAY_MONEY_DEPOSIT, money("alice", 5, "XTS"), "unsupported_currency",
                   "currency");
}

static void test_the_kind_is_derived_from_the_accounts(void **state)
{
    (void)state;
    gateway_transfer_request_t req = {
        .from = "alice", .to = "bob", .amount_minor = 1, .currency = "GBP"};
    assert_int_equal(gateway_view_record_kind(&req), PROTO_TRANSFER_KIND_TRANSFER);
    /* Another currency has its own settlement account: "funding" is an ordinary id there. */
    gateway_transfer_request_t usd = {
        .from = "funding", .to = "bob", .amount_minor = 1, .currency = "USD"};
    assert_int_equal(gateway_view_record_kind(&usd), PROTO_TRANSFER_KIND_TRANSFER);
    assert_string_equal(proto_settlement_id("EUR"), "funding-eur");
    assert_string_equal(proto_settlement_id("GBP"), "funding");
}

static void test_the_body_is_parsed_with_the_transfers_rules(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        const char *code;
        const char *field;
    } bad[] = {
        {"", "invalid_json", ""},
        {"{\"account\":\"alice\",\"amount\":5,\"from\":\"bob\"}", "unknown_field", "from"},
        {"{\"amount\":5}", "missing_field", "account"},
        {"{\"account\":\"Alice!\",\"amount\":5}", "invalid_field", "account"},
        {"{\"account\":\"alice\",\"amount\":0}", "invalid_field", "amount"},
        {"{\"account\":\"alice\",\"amount\":1.5}", "invalid_field", "amount"},
        {"{\"account\":\"alice\",\"amount\":9223372036854775808}", "invalid_field", "amount"},
        {"{\"account\":\"alice\",\"amount\":5,\"currency\":\"gbp\"}", "invalid_field", "currency"},
        {"{\"account\":\"alice\",\"amount\":5,\"reference\":\"a\\u0001b\"}", "invalid_field",
         "reference"},
        {"{\"account\":\"alice\",\"account\":\"bob\",\"amount\":5}", "invalid_json", ""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gateway_request_money_t out;
        gateway_request_error_t err;
        assert_int_equal(gateway_request_parse_money(bad[i].body, strlen(bad[i].body), &out, &err),
                         LEDGER_E_INVALID);
        assert_string_equal(err.code, bad[i].code);
        assert_string_equal(err.field, bad[i].field);
    }
    gateway_request_money_t out;
    gateway_request_error_t err;
    assert_int_equal(gateway_request_parse_money(DEPOSIT_BODY, strlen(DEPOSIT_BODY), &out, &err),
                     LEDGER_OK);
    assert_string_equal(out.account, "alice");
    assert_string_equal(out.currency, "GBP"); /* the default */
    assert_string_equal(out.reference, "salary");
}

/* --- the routes over HTTP ---------------------------------------------------- */

static gateway_http_t *start_money_http(fx_t *fx, test_loop_t *loop)
{
    gateway_http_config_t config = test_http_config(fx->store);
    config.deposit_max_minor = DEPOSIT_MAX;
    return test_loop_start(loop, fx->store, config);
}

/* The message the loop's last commit emitted, decoded. */
static proto_msg_t last_published(const test_loop_t *loop)
{
    assert_true(loop->ctx.published_count > 0);
    const node_published_t *p = &loop->ctx.published[loop->ctx.published_count - 1];
    proto_msg_t msg;
    char why[128];
    if (proto_decode(p->data, p->size, &msg, why, sizeof why))
        fail_msg("published message does not decode: %s", why);
    return msg;
}

static const char *member(const json_t *j, const char *key)
{
    return json_string_value(json_object_get(j, key));
}

static void test_http_deposit_is_committed_as_a_transfer_from_the_settlement_account(void **state)
{
    fx_t *fx = *state;
    test_loop_t loop;
    uint16_t port = gateway_http_port(start_money_http(fx, &loop));
    http_reply_t r;
    http_call(port, "POST", "/api/deposits", JSON_HEADERS "Idempotency-Key: dep-1\r\n",
              DEPOSIT_BODY, &r);
    if (r.status != 202)
        fail_msg("%s", r.raw);
    json_t *j = reply_json(&r);
    assert_string_equal(member(j, "from"), "funding");
    assert_string_equal(member(j, "to"), "alice");
    assert_string_equal(member(j, "kind"), "deposit");
    assert_string_equal(member(j, "status"), "pending");
    char path[64];
    snprintf(path, sizeof path, "/api/transfers/%s", member(j, "id"));
    json_decref(j);
    proto_msg_t msg = last_published(&loop);
    assert_int_equal(msg.type, PROTO_TRANSFER_REQUESTED);
    assert_int_equal(msg.body.transfer.kind, PROTO_TRANSFER_KIND_DEPOSIT);
    assert_string_equal(msg.body.transfer.from, "funding");
    assert_int_equal(msg.body.transfer.amount_minor, 5000);
    /* The view shows it with its kind; the same key and body replay it. */
    http_call(port, "GET", path, NULL, NULL, &r);
    j = reply_json(&r);
    assert_string_equal(member(j, "kind"), "deposit");
    json_decref(j);
    http_call(port, "POST", "/api/deposits", JSON_HEADERS "Idempotency-Key: dep-1\r\n",
              DEPOSIT_BODY, &r);
    assert_int_equal(r.status, 202);
    assert_true(has_header(&r, "Idempotent-Replayed: true"));
    http_call(port, "POST", "/api/deposits", JSON_HEADERS "Idempotency-Key: dep-1\r\n",
              "{\"account\":\"alice\",\"amount\":5001}", &r);
    assert_error(&r, 422, "idempotency_key_reused");
    assert_int_equal(test_store_count(fx->store, STORE_DB_TRANSFERS), 1);
    assert_int_equal(test_store_count(fx->store, STORE_DB_OUTBOX), 1);
    test_loop_stop(&loop);
}

/* The test principal "tester" owns the account "savings" (gateway_owners.h). */
static ledger_err_t own_savings(store_txn_t *txn, void *arg)
{
    (void)arg;
    return gateway_owners_put(txn, "savings", "tester", NULL);
}

static void test_http_withdrawal_is_committed_as_a_transfer_to_the_settlement_account(void **state)
{
    fx_t *fx = *state;
    test_loop_t loop;
    uint16_t port = gateway_http_port(start_money_http(fx, &loop));
    assert_int_equal(store_write(fx->store, own_savings, NULL), LEDGER_OK);
    http_reply_t r;
    http_call(port, "POST", "/api/withdrawals", JSON_HEADERS "Idempotency-Key: wd-1\r\n",
              "{\"account\":\"savings\",\"amount\":700,\"currency\":\"GBP\"}", &r);
    if (r.status != 202)
        fail_msg("%s", r.raw);
    json_t *j = reply_json(&r);
    assert_string_equal(member(j, "from"), "savings");
    assert_string_equal(member(j, "to"), "funding");
    assert_string_equal(member(j, "kind"), "withdrawal");
    json_decref(j);
    proto_msg_t msg = last_published(&loop);
    assert_int_equal(msg.body.transfer.kind, PROTO_TRANSFER_KIND_WITHDRAWAL);
    /* An ordinary transfer says so too. */
    http_call(port, "POST", "/api/transfers", JSON_HEADERS "Idempotency-Key: tr-1\r\n",
              TRANSFER_BODY, &r);
    j = reply_json(&r);
    assert_string_equal(member(j, "kind"), "transfer");
    json_decref(j);
    test_loop_stop(&loop);
}

/* What a refusal must leave alone: no transfer, no outbox entry, no idempotency key. */
static void assert_nothing_written(fx_t *fx)
{
    assert_int_equal(test_store_count(fx->store, STORE_DB_TRANSFERS), 0);
    assert_int_equal(test_store_count(fx->store, STORE_DB_OUTBOX), 0);
    assert_int_equal(test_store_count(fx->store, STORE_DB_IDEMPOTENCY), 0);
}

static void test_http_refusals_create_nothing(void **state)
{
    fx_t *fx = *state;
    test_loop_t loop;
    uint16_t port = gateway_http_port(start_money_http(fx, &loop));
    http_reply_t r;
    http_call(port, "POST", "/api/deposits", JSON_HEADERS, DEPOSIT_BODY, &r);
    assert_error(&r, 400, "missing_idempotency_key");
    http_call(port, "POST", "/api/deposits", JSON_HEADERS "Idempotency-Key: big\r\n",
              "{\"account\":\"alice\",\"amount\":100001}", &r);
    assert_error(&r, 422, "amount_too_large");
    http_call(port, "POST", "/api/deposits", JSON_HEADERS "Idempotency-Key: self\r\n",
              "{\"account\":\"funding\",\"amount\":5}", &r);
    assert_error(&r, 422, "settlement_account");
    http_call(port, "POST", "/api/withdrawals", JSON_HEADERS "Idempotency-Key: usd\r\n",
              "{\"account\":\"alice\",\"amount\":5,\"currency\":\"XTS\"}", &r);
    assert_error(&r, 422, "unknown_currency"); /* not in the currency table */
    /* Another's account, an account nobody owns, the settlement account: refused, key free. */
    assert_int_equal(store_write(fx->store, own_savings, NULL), LEDGER_OK);
    http_call(port, "POST", "/api/withdrawals", JSON_HEADERS "Idempotency-Key: mine\r\n",
              "{\"account\":\"dave\",\"amount\":5}", &r); /* not the tester's */
    assert_error(&r, 403, "forbidden_account");
    assert_non_null(strstr(r.body, "\"field\":\"account\""));
    http_call(port, "POST", "/api/withdrawals", JSON_HEADERS "Idempotency-Key: from\r\n",
              "{\"account\":\"alice\",\"from\":\"bob\",\"amount\":5}", &r);
    assert_error(&r, 400, "unknown_field");
    http_call(port, "GET", "/api/deposits", NULL, NULL, &r);
    assert_error(&r, 405, "method_not_allowed");
    assert_true(has_header(&r, "Allow: POST"));
    http_call(port, "POST", "/api/deposits", "Idempotency-Key: ct\r\n", DEPOSIT_BODY, &r);
    assert_error(&r, 415, "unsupported_media_type");
    assert_nothing_written(fx);
    http_call(port, "POST", "/api/withdrawals", JSON_HEADERS "Idempotency-Key: mine\r\n",
              "{\"account\":\"savings\",\"amount\":5}", &r);
    assert_int_equal(r.status, 202); /* the refused request's key was still free */
    test_loop_stop(&loop);
}

/* A customer principal "alice" (customer scopes: no deposits:write) and its key's header. */
static ledger_err_t put_customer(store_txn_t *txn, void *arg)
{
    return test_put_principal(txn, "alice", GATEWAY_PRINCIPAL_CUSTOMER, GATEWAY_SCOPES_CUSTOMER,
                              arg, GATEWAY_KEY_TEXT_LEN + 64, JSON_HEADERS);
}

static void test_http_a_deposit_needs_the_deposits_write_scope(void **state)
{
    fx_t *fx = *state;
    test_loop_t loop;
    uint16_t port = gateway_http_port(start_money_http(fx, &loop));
    char headers[GATEWAY_KEY_TEXT_LEN + 64];
    assert_int_equal(store_write(fx->store, put_customer, headers), LEDGER_OK);
    char with_key[sizeof headers + 32];
    snprintf(with_key, sizeof with_key, "%sIdempotency-Key: self-1\r\n", headers);
    http_reply_t r;
    http_call(port, "POST", "/api/deposits", with_key, DEPOSIT_BODY, &r);
    assert_error(&r, 403, "forbidden");
    assert_non_null(strstr(r.body, "deposits:write"));
    http_call(port, "POST", "/api/deposits",
              "Authorization: Bearer lk_nope\r\n" JSON_HEADERS "Idempotency-Key: x\r\n",
              DEPOSIT_BODY, &r);
    assert_error(&r, 401, "unauthenticated");
    assert_nothing_written(fx);
    test_loop_stop(&loop);
}

TEST_MAIN(
    cmocka_unit_test(test_a_deposit_comes_from_the_settlement_account),
    cmocka_unit_test(test_a_withdrawal_goes_to_the_settlement_account),
    cmocka_unit_test(test_refusals_name_their_code_and_field),
    cmocka_unit_test(test_the_kind_is_derived_from_the_accounts),
    cmocka_unit_test(test_the_body_is_parsed_with_the_transfers_rules),
    TEST_STORE_CASE(test_http_deposit_is_committed_as_a_transfer_from_the_settlement_account),
    TEST_STORE_CASE(test_http_withdrawal_is_committed_as_a_transfer_to_the_settlement_account),
    TEST_STORE_CASE(test_http_refusals_create_nothing),
    TEST_STORE_CASE(test_http_a_deposit_needs_the_deposits_write_scope))

/*  proto_encode_test.c: encoding: every type and query op round trips through proto_encode and
    proto_decode, values at their limits included, and encode refuses a
    message larger than a frame.

    Shared samples and tree editing: test_proto.h.
*/
#include "test_proto.h"
#include "test_main.h"

/* ---------------------------------------------------------------------------
   Round trips.
*/
/* Every sample: one message of each type and query op (proto_samples.h). */
static void test_every_type_and_query_op_round_trips(void **state)
{
    (void)state;
    for (sample_t s = 0; s < S__COUNT; s++) {
        proto_msg_t m = sample(s);
        assert_round_trips(&m);
    }
}

static void test_nack_of_an_undecodable_message_round_trips_with_empty_of(void **state)
{
    (void)state;
    proto_msg_t m = sample(S_NACK);
    assert_string_equal(m.body.reply.of, "");
    assert_round_trips(&m);
}

static void test_account_query_list_from_the_first_account_round_trips(void **state)
{
    (void)state;
    proto_msg_t m = sample(S_QUERY_LIST);
    m.body.query.after[0] = '\0'; /* "" = from the first account */
    assert_round_trips(&m);
}

static void test_account_query_ledger_from_the_newest_entry_round_trips(void **state)
{
    (void)state;
    proto_msg_t m = sample(S_QUERY_LEDGER);
    m.body.query.cursor = 0; /* 0 = newest */
    assert_round_trips(&m);
}

static void test_account_query_open_with_a_zero_deposit_round_trips(void **state)
{
    (void)state;
    proto_msg_t m = sample(S_QUERY_OPEN);
    m.body.query.amount_minor = 0;
    assert_round_trips(&m);
}

static void test_account_reply_with_empty_pages_round_trips(void **state)
{
    (void)state;
    proto_msg_t m = sample(S_REPLY);
    m.body.account_reply.status = 404;
    strcpy(m.body.account_reply.code, "not_found");
    strcpy(m.body.account_reply.reason, "no account acc-zed");
    m.body.account_reply.account_count = 0;
    m.body.account_reply.accounts = NULL;
    m.body.account_reply.entry_count = 0;
    m.body.account_reply.entries = NULL;
    m.body.account_reply.next[0] = '\0';
    assert_round_trips(&m);
}

/*  An account.reply (the S_REPLY sample) with full pages: PROTO_PAGE_MAX
    zeroed accounts and rows for the test to fill. Free with full_reply_free. */
static proto_msg_t full_reply_new(void)
{
    proto_msg_t m = sample(S_REPLY);
    proto_account_reply_t *r = &m.body.account_reply;
    r->accounts = calloc(PROTO_PAGE_MAX, sizeof *r->accounts);
    r->entries = calloc(PROTO_PAGE_MAX, sizeof *r->entries);
    assert_non_null(r->accounts);
    assert_non_null(r->entries);
    r->account_count = PROTO_PAGE_MAX;
    r->entry_count = PROTO_PAGE_MAX;
    return m;
}

static void full_reply_free(proto_msg_t *m)
{
    free(m->body.account_reply.accounts);
    free(m->body.account_reply.entries);
}

static void test_account_reply_with_full_pages_round_trips(void **state)
{
    (void)state;
    proto_msg_t m = full_reply_new();
    proto_account_reply_t *r = &m.body.account_reply;
    for (int i = 0; i < PROTO_PAGE_MAX; i++) {
        snprintf(r->accounts[i].id, sizeof r->accounts[i].id, "acc-%03d", i);
        snprintf(r->accounts[i].name, sizeof r->accounts[i].name, "Holder %d", i);
        strcpy(r->accounts[i].currency, "GBP");
        r->accounts[i].balance_minor = i * 100;
        r->entries[i].seq = (uint64_t)(PROTO_PAGE_MAX - i);
        strcpy(r->entries[i].account, "acc-007");
        snprintf(r->entries[i].transfer, sizeof r->entries[i].transfer, "t-%d", i);
        strcpy(r->entries[i].kind, i % 2 ? "debit" : "credit");
        r->entries[i].amount_minor = i % 2 ? -i : i;
    }
    assert_round_trips(&m);
    full_reply_free(&m);
}

static void test_values_at_their_limits_round_trip(void **state)
{
    (void)state;
    proto_msg_t m = sample(S_REQUESTED);
    memset(m.origin, 'z', PROTO_NODE_MAX);
    m.origin[PROTO_NODE_MAX] = '\0';
    m.seq = UINT64_MAX;
    m.ts_ms = PROTO_TS_MAX_MS;
    memset(m.corr, 't', PROTO_TRANSFER_ID_MAX);
    m.corr[PROTO_TRANSFER_ID_MAX] = '\0';
    strcpy(m.body.transfer.transfer, m.corr);
    memset(m.body.transfer.from, 'f', PROTO_ACCOUNT_ID_MAX);
    m.body.transfer.from[PROTO_ACCOUNT_ID_MAX] = '\0';
    memset(m.body.transfer.to, 'o', PROTO_ACCOUNT_ID_MAX);
    m.body.transfer.to[PROTO_ACCOUNT_ID_MAX] = '\0';
    m.body.transfer.amount_minor = INT64_MAX;
    /* 70 two-byte characters: exactly PROTO_REFERENCE_MAX bytes of UTF-8 */
    m.body.transfer.reference[0] = '\0';
    for (int i = 0; i < PROTO_REFERENCE_MAX / 2; i++)
        strcat(m.body.transfer.reference, "\xc3\xa9");
    assert_int_equal(strlen(m.body.transfer.reference), PROTO_REFERENCE_MAX);
    assert_round_trips(&m);
}

static void test_ts_beyond_year_9999_is_refused(void **state)
{
    (void)state;
    proto_msg_t m = sample(S_RESERVED);
    m.ts_ms = PROTO_TS_MAX_MS + 1;
    char why[256] = "";
    assert_int_equal(proto_validate(&m, why, sizeof why), LEDGER_E_INVALID);
    assert_non_null(strstr(why, "ts"));
    m.ts_ms = UINT64_MAX; /* a peer's 2^64-1 must never reach a view as -1 */
    assert_int_equal(proto_validate(&m, why, sizeof why), LEDGER_E_INVALID);
}

static void test_extreme_signed_amounts_round_trip_in_replies(void **state)
{
    (void)state;
    proto_msg_t m = sample(S_REPLY);
    proto_account_t accounts[1] = {sample_accounts[0]};
    proto_ledger_row_t rows[1] = {sample_rows[0]};
    accounts[0].balance_minor = INT64_MIN;
    accounts[0].held_minor = INT64_MAX;
    rows[0].amount_minor = INT64_MIN;
    rows[0].seq = UINT64_MAX;
    m.body.account_reply.accounts = accounts;
    m.body.account_reply.account_count = 1;
    m.body.account_reply.entries = rows;
    m.body.account_reply.entry_count = 1;
    assert_round_trips(&m);
}

static void test_decoded_id_is_split_into_origin_and_seq(void **state)
{
    (void)state;
    proto_msg_t m = sample(S_DECLINED), out;
    encode_decode_ok(&m, &out);
    assert_string_equal(out.origin, "gateway");
    assert_true(out.seq == 42);
    char id[PROTO_ID_MAX + 1];
    proto_msg_id(&out, id);
    assert_string_equal(id, "gateway/42");
}

static void test_envelope_is_a_map_of_named_keys(void **state)
{
    (void)state;
    tree_t t;
    tree_init_sample(&t, S_ACK);
    assert_int_equal(tree_find(&t, "v", NULL)->via.u64, PROTO_VERSION);
    msgpack_object *id = tree_find(&t, "id", NULL);
    assert_int_equal(id->type, MSGPACK_OBJECT_STR);
    assert_memory_equal(id->via.str.ptr, "gateway/42", 10);
    msgpack_object *type = tree_find(&t, "type", NULL);
    assert_memory_equal(type->via.str.ptr, "ack", 3);
    assert_int_equal(tree_find(&t, "ts", NULL)->via.u64, 1764028800123);
    assert_int_equal(tree_find(&t, "body", NULL)->via.map.size, 1);
    tree_fini(&t);
}

static void test_encode_refuses_a_reply_larger_than_a_frame(void **state)
{
    (void)state;
    proto_msg_t m = full_reply_new();
    proto_account_reply_t *r = &m.body.account_reply;
    for (int i = 0; i < PROTO_PAGE_MAX; i++) {
        memset(r->accounts[i].id, 'a', PROTO_ACCOUNT_ID_MAX);
        memset(r->accounts[i].name, 'n', PROTO_NAME_MAX);
        strcpy(r->accounts[i].currency, "GBP");
        memset(r->entries[i].account, 'a', PROTO_ACCOUNT_ID_MAX);
        memset(r->entries[i].transfer, 't', PROTO_TRANSFER_ID_MAX);
        strcpy(r->entries[i].kind, "credit");
    }
    void *data = (void *)&m; /* sentinel: must stay untouched */
    size_t size = 0;
    char why[WHY_SIZE];
    assert_int_equal(proto_encode(&m, &data, &size, why, sizeof why), LEDGER_E_TOO_LARGE);
    assert_ptr_equal(data, &m);
    assert_non_null(strstr(why, "PROTO_FRAME_MAX"));
    full_reply_free(&m);
}

TEST_MAIN(cmocka_unit_test(test_every_type_and_query_op_round_trips),
          cmocka_unit_test(test_nack_of_an_undecodable_message_round_trips_with_empty_of),
          cmocka_unit_test(test_account_query_list_from_the_first_account_round_trips),
          cmocka_unit_test(test_account_query_ledger_from_the_newest_entry_round_trips),
          cmocka_unit_test(test_account_query_open_with_a_zero_deposit_round_trips),
          cmocka_unit_test(test_account_reply_with_empty_pages_round_trips),
          cmocka_unit_test(test_account_reply_with_full_pages_round_trips),
          cmocka_unit_test(test_values_at_their_limits_round_trip),
          cmocka_unit_test(test_ts_beyond_year_9999_is_refused),
          cmocka_unit_test(test_extreme_signed_amounts_round_trip_in_replies),
          cmocka_unit_test(test_decoded_id_is_split_into_origin_and_seq),
          cmocka_unit_test(test_envelope_is_a_map_of_named_keys),
          cmocka_unit_test(test_encode_refuses_a_reply_larger_than_a_frame))

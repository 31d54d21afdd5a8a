/*  accounts_record_test.c: the account record's byte format (accounts_record.h): it round
    trips, version 1 is still read, and anything else is refused. Pure: no
    store.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "accounts_record.h"
#include "test_main.h"

#define T0_MS 1700000000000ULL

/* --- record format --------------------------------------------------------- */

static void test_account_record_round_trips_and_rejects_garbage(void **state)
{
    (void)state;
    accounts_record_t rec, back;
    memset(&rec, 0, sizeof rec);
    snprintf(rec.id, sizeof rec.id, "alice");
    snprintf(rec.name, sizeof rec.name, "Alice Smith");
    snprintf(rec.currency, sizeof rec.currency, "GBP");
    rec.balance_minor = -42;
    rec.held_minor = 7;
    rec.settlement = true;
    rec.created_ms = T0_MS;
    rec.ledger_seq = 123456789;
    uint8_t buf[ACCOUNTS_RECORD_MAX_BYTES + 1];
    size_t len;
    assert_int_equal(accounts_record_encode(&rec, buf, sizeof buf, &len), LEDGER_OK);
    assert_int_equal(accounts_record_decode(buf, len, &back), LEDGER_OK);
    assert_memory_equal(&rec, &back, sizeof rec);

    for (size_t cut = 0; cut < len; cut++)
        assert_int_equal(accounts_record_decode(buf, cut, &back), LEDGER_E_CORRUPT);
    buf[len] = 0;
    assert_int_equal(accounts_record_decode(buf, len + 1, &back), LEDGER_E_CORRUPT);
    buf[0] = 4; /* unknown version */
    assert_int_equal(accounts_record_decode(buf, len, &back), LEDGER_E_CORRUPT);
    /* Version 2 (no owner: the record ends after the name) is still read, as owner "". The
       settlement account has owner "" anyway: its version-3 record ends with a 0 length byte. */
    buf[0] = 2;
    assert_int_equal(accounts_record_decode(buf, len - 1, &back), LEDGER_OK);
    assert_memory_equal(&rec, &back, sizeof back);
    /* Version 1 (no ledger_seq after created_ms, no owner) is still read, as ledger_seq 0. */
    const size_t seq_at = 1 + 1 + PROTO_CURRENCY_LEN + 3 * 8;
    uint8_t v1[ACCOUNTS_RECORD_MAX_BYTES];
    v1[0] = 1;
    memcpy(v1 + 1, buf + 1, seq_at - 1);
    memcpy(v1 + seq_at, buf + seq_at + 8, len - seq_at - 8 - 1);
    assert_int_equal(accounts_record_decode(v1, len - 8 - 1, &back), LEDGER_OK);
    accounts_record_t expected = rec;
    expected.ledger_seq = 0;
    assert_memory_equal(&expected, &back, sizeof back);
    buf[0] = ACCOUNTS_RECORD_VERSION;
    /* an owner is a principal id */
    rec.settlement = false;
    snprintf(rec.owner, sizeof rec.owner, "alice");
    assert_int_equal(accounts_record_encode(&rec, buf, sizeof buf, &len), LEDGER_OK);
    assert_int_equal(accounts_record_decode(buf, len, &back), LEDGER_OK);
    assert_string_equal(back.owner, "alice");
    buf[len - 1] = 'A';
    assert_int_equal(accounts_record_decode(buf, len, &back), LEDGER_E_CORRUPT);
    snprintf(rec.owner, sizeof rec.owner, "Alice");
    assert_int_equal(accounts_record_encode(&rec, buf, sizeof buf, &len), LEDGER_E_INVALID);
    snprintf(rec.owner, sizeof rec.owner, "alice");
    assert_int_equal(accounts_record_encode(&rec, buf, sizeof buf, &len), LEDGER_OK);
    buf[1] = 0x80; /* unknown flag */
    assert_int_equal(accounts_record_decode(buf, len, &back), LEDGER_E_CORRUPT);
    assert_int_equal(accounts_record_decode(NULL, 0, &back), LEDGER_E_CORRUPT);

    snprintf(rec.id, sizeof rec.id, "Bad Id");
    assert_int_equal(accounts_record_encode(&rec, buf, sizeof buf, &len), LEDGER_E_INVALID);
    snprintf(rec.id, sizeof rec.id, "ok");
    assert_int_equal(accounts_record_encode(&rec, buf, 10, &len), LEDGER_E_TOO_LARGE);
}

TEST_MAIN(cmocka_unit_test(test_account_record_round_trips_and_rejects_garbage))

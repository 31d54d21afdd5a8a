/*  accounts_record_test.c: the account and transfer records' byte formats
    (accounts_record.h): they round trip, older versions are still read (an
    account record of version 1 or 2, a transfer record of version 1 or 2,
    which reads as reserved_seq 0 and is written back as the newest), and
    anything else is refused. Pure: no store.
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
/* Bytes version 4 adds at the end of an account record: status, overdraft, entry_count. */
#define CONTROLS_BYTES (1 + 8 + 8)

/* --- record format --------------------------------------------------------- */

static void test_account_record_version_4_keeps_the_controls_and_refuses_bad_ones(void **state)
{
    (void)state;
    accounts_record_t rec, back;
    memset(&rec, 0, sizeof rec);
    snprintf(rec.id, sizeof rec.id, "dave");
    snprintf(rec.name, sizeof rec.name, "Dave");
    snprintf(rec.currency, sizeof rec.currency, "EUR");
    snprintf(rec.owner, sizeof rec.owner, "dave");
    rec.balance_minor = -500;
    rec.status = ACCOUNTS_ACCOUNT_FROZEN;
    rec.overdraft_limit_minor = ACCOUNTS_OVERDRAFT_MAX_MINOR;
    rec.entry_count = 129;
    uint8_t buf[ACCOUNTS_RECORD_MAX_BYTES];
    size_t len;
    assert_int_equal(accounts_record_encode(&rec, buf, sizeof buf, &len), LEDGER_OK);
    assert_int_equal(buf[0], ACCOUNTS_RECORD_VERSION);
    assert_int_equal(accounts_record_decode(buf, len, &back), LEDGER_OK);
    assert_memory_equal(&rec, &back, sizeof rec);
    /* an unknown status, a limit out of range: refused both ways */
    buf[len - CONTROLS_BYTES] = 3;
    assert_int_equal(accounts_record_decode(buf, len, &back), LEDGER_E_CORRUPT);
    rec.status = (accounts_account_status_t)3;
    assert_int_equal(accounts_record_encode(&rec, buf, sizeof buf, &len), LEDGER_E_INVALID);
    rec.status = ACCOUNTS_ACCOUNT_CLOSED;
    rec.overdraft_limit_minor = -1;
    assert_int_equal(accounts_record_encode(&rec, buf, sizeof buf, &len), LEDGER_E_INVALID);
    rec.overdraft_limit_minor = ACCOUNTS_OVERDRAFT_MAX_MINOR + 1;
    assert_int_equal(accounts_record_encode(&rec, buf, sizeof buf, &len), LEDGER_E_INVALID);
    rec.overdraft_limit_minor = 0;
    assert_int_equal(accounts_record_encode(&rec, buf, sizeof buf, &len), LEDGER_OK);
    buf[len - CONTROLS_BYTES + 1] = 0x80; /* a negative limit */
    assert_int_equal(accounts_record_decode(buf, len, &back), LEDGER_E_CORRUPT);
    /* the status names */
    accounts_account_status_t st;
    assert_true(accounts_record_status_parse("frozen", &st));
    assert_int_equal(st, ACCOUNTS_ACCOUNT_FROZEN);
    assert_false(accounts_record_status_parse("Frozen", &st));
    assert_false(accounts_record_status_parse(NULL, &st));
    assert_string_equal(accounts_record_status_name(ACCOUNTS_ACCOUNT_CLOSED), "closed");
    assert_null(accounts_record_status_name((accounts_account_status_t)7));
}

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
    /* Version 3 (no controls) is still read as active, no overdraft, entry_count 0. */
    len -= CONTROLS_BYTES;
    buf[0] = 3;
    assert_int_equal(accounts_record_decode(buf, len, &back), LEDGER_OK);
    assert_memory_equal(&rec, &back, sizeof rec);
    buf[0] = 5; /* unknown version */
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
    buf[len - 1 - CONTROLS_BYTES] = 'A';
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

/* --- transfer records ------------------------------------------------------ */

static accounts_transfer_t a_transfer(void)
{
    accounts_transfer_t tr;
    memset(&tr, 0, sizeof tr);
    snprintf(tr.id, sizeof tr.id, "tr_01");
    tr.state = ACCOUNTS_TRANSFER_RESERVED;
    snprintf(tr.from, sizeof tr.from, "alice");
    snprintf(tr.to, sizeof tr.to, "bob");
    tr.amount_minor = 1500;
    snprintf(tr.currency, sizeof tr.currency, "GBP");
    snprintf(tr.reference, sizeof tr.reference, "rent");
    tr.created_ms = T0_MS;
    tr.updated_ms = T0_MS + 1;
    tr.kind = PROTO_TRANSFER_KIND_WITHDRAWAL;
    snprintf(tr.principal, sizeof tr.principal, "alice");
    tr.reserved_seq = 0x0102030405060708ull;
    tr.version = ACCOUNTS_TRANSFER_VERSION;
    return tr;
}

#define V4_TAIL_BYTES ACCOUNTS_TRANSFER_V4_EXTRA_BYTES

/* A refund under manual capture, settled: every field of version 4 set. */
static accounts_transfer_t a_v4_transfer(void)
{
    accounts_transfer_t tr = a_transfer();
    tr.state = ACCOUNTS_TRANSFER_SETTLED;
    tr.kind = PROTO_TRANSFER_KIND_REFUND;
    tr.capture = PROTO_CAPTURE_MANUAL;
    tr.expires_at_ms = T0_MS + 7000;
    tr.risk_deadline_ms = T0_MS + 60000;
    tr.captured_minor = 1200;
    tr.refunded_minor = 300;
    snprintf(tr.refund_of, sizeof tr.refund_of, "tr_00");
    tr.operator_scope = true;
    return tr;
}

static void test_transfer_record_round_trips_and_rejects_garbage(void **state)
{
    (void)state;
    accounts_transfer_t tr = a_v4_transfer(), back;
    uint8_t buf[ACCOUNTS_TRANSFER_MAX_BYTES + 1];
    size_t len;
    assert_int_equal(accounts_record_transfer_encode(&tr, buf, sizeof buf, &len), LEDGER_OK);
    assert_int_equal(buf[0], ACCOUNTS_TRANSFER_VERSION);
    assert_int_equal(accounts_record_transfer_decode("tr_01", buf, len, &back), LEDGER_OK);
    assert_memory_equal(&tr, &back, sizeof tr);
    for (size_t cut = 0; cut < len; cut++)
        assert_int_equal(accounts_record_transfer_decode("tr_01", buf, cut, &back),
                         LEDGER_E_CORRUPT);
    buf[len] = 0;
    assert_int_equal(accounts_record_transfer_decode("tr_01", buf, len + 1, &back),
                     LEDGER_E_CORRUPT);
    buf[0] = ACCOUNTS_TRANSFER_VERSION + 1; /* unknown version */
    assert_int_equal(accounts_record_transfer_decode("tr_01", buf, len, &back), LEDGER_E_CORRUPT);
    buf[0] = ACCOUNTS_TRANSFER_VERSION;
    buf[1] = ACCOUNTS_TRANSFER_TIMED_OUT + 1; /* unknown state */
    assert_int_equal(accounts_record_transfer_decode("tr_01", buf, len, &back), LEDGER_E_CORRUPT);
    buf[1] = ACCOUNTS_TRANSFER_RESERVED;
    assert_int_equal(accounts_record_transfer_decode("", buf, len, &back), LEDGER_E_CORRUPT);
    assert_int_equal(accounts_record_transfer_decode("tr_01", NULL, 0, &back), LEDGER_E_CORRUPT);
    assert_int_equal(accounts_record_transfer_encode(&tr, buf, 10, &len), LEDGER_E_TOO_LARGE);
}

/*  Version 3 (no capture, timers, refunds) reads as an auto transfer with those 0 / "",
    version 2 (no reserved_seq either) and version 1 (no kind, principal or reserved_seq) read as
    reserved_seq 0 (and kind transfer, principal "" for version 1); encoded again they are the
    newest version with those values, which read back the same. */
static void test_older_transfer_records_read_as_reserved_seq_0_and_write_back_new(void **state)
{
    (void)state;
    accounts_transfer_t tr = a_transfer(), back, again;
    uint8_t buf[ACCOUNTS_TRANSFER_MAX_BYTES], old[ACCOUNTS_TRANSFER_MAX_BYTES];
    size_t len, old_len;
    assert_int_equal(accounts_record_transfer_encode(&tr, buf, sizeof buf, &len), LEDGER_OK);
    const size_t principal_bytes = 1 + strlen(tr.principal);
    for (uint8_t version = ACCOUNTS_TRANSFER_VERSION_1; version < ACCOUNTS_TRANSFER_VERSION;
         version++) {
        /* the old layout: the newest without its trailing fields */
        old_len = len - V4_TAIL_BYTES - (version < ACCOUNTS_TRANSFER_VERSION_3 ? 8 : 0) -
                  (version == ACCOUNTS_TRANSFER_VERSION_1 ? 1 + principal_bytes : 0);
        memcpy(old, buf, old_len);
        old[0] = version;
        assert_int_equal(accounts_record_transfer_decode("tr_01", old, old_len, &back), LEDGER_OK);
        accounts_transfer_t expected = tr;
        expected.version = version;
        if (version < ACCOUNTS_TRANSFER_VERSION_3)
            expected.reserved_seq = 0;
        if (version == ACCOUNTS_TRANSFER_VERSION_1) {
            expected.kind = PROTO_TRANSFER_KIND_TRANSFER;
            memset(expected.principal, 0, sizeof expected.principal);
        }
        assert_memory_equal(&expected, &back, sizeof back);
        /* trailing bytes after an older layout are refused too */
        assert_int_equal(accounts_record_transfer_decode("tr_01", old, old_len + 1, &again),
                         LEDGER_E_CORRUPT);
        uint8_t newer[ACCOUNTS_TRANSFER_MAX_BYTES];
        size_t newer_len;
        assert_int_equal(accounts_record_transfer_encode(&back, newer, sizeof newer, &newer_len),
                         LEDGER_OK);
        assert_int_equal(newer[0], ACCOUNTS_TRANSFER_VERSION);
        assert_int_equal(accounts_record_transfer_decode("tr_01", newer, newer_len, &again),
                         LEDGER_OK);
        expected.version = ACCOUNTS_TRANSFER_VERSION;
        assert_memory_equal(&expected, &again, sizeof again);
    }
}

/* A capture flag, operator flag or amount that no encoder writes is corrupt, not read. */
static void test_v4_fields_out_of_range_are_refused(void **state)
{
    (void)state;
    accounts_transfer_t tr = a_transfer(), back;
    uint8_t buf[ACCOUNTS_TRANSFER_MAX_BYTES];
    size_t len;
    assert_int_equal(accounts_record_transfer_encode(&tr, buf, sizeof buf, &len), LEDGER_OK);
    size_t capture_at = len - V4_TAIL_BYTES;
    buf[capture_at] = 2;
    assert_int_equal(accounts_record_transfer_decode("tr_01", buf, len, &back), LEDGER_E_CORRUPT);
    buf[capture_at] = 0;
    buf[len - 1] = 2; /* operator_scope */
    assert_int_equal(accounts_record_transfer_decode("tr_01", buf, len, &back), LEDGER_E_CORRUPT);
    buf[len - 1] = 0;
    buf[capture_at + 1 + 2 * 8] = 0x80; /* captured_minor's sign bit: negative */
    assert_int_equal(accounts_record_transfer_decode("tr_01", buf, len, &back), LEDGER_E_CORRUPT);
}

TEST_MAIN(cmocka_unit_test(test_account_record_round_trips_and_rejects_garbage),
          cmocka_unit_test(test_account_record_version_4_keeps_the_controls_and_refuses_bad_ones),
          cmocka_unit_test(test_transfer_record_round_trips_and_rejects_garbage),
          cmocka_unit_test(test_older_transfer_records_read_as_reserved_seq_0_and_write_back_new),
          cmocka_unit_test(test_v4_fields_out_of_range_are_refused))

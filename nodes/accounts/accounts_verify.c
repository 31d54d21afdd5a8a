/*  accounts_verify.c: the integrity check: the ledger's own verify, then
    each account against its entries, then the table against the ledger.
    See accounts_verify.h. */
#include "accounts_verify.h"

#include <assert.h>
#include <inttypes.h>
#include <string.h>

#include "accounts_cache.h"
#include "accounts_record.h"
#include "text.h"

#define VERIFY_CURRENCIES_MAX ACCOUNTS_VERIFY_CURRENCIES_MAX

/* The ledger balances of one currency, summed (128 bits: partial sums may pass int64). */
typedef struct {
    char currency[PROTO_CURRENCY_LEN + 1];
    __int128 sum;
} currency_sum_t;

typedef struct {
    store_txn_t *txn;
    currency_sum_t sums[VERIFY_CURRENCIES_MAX];
    size_t currencies;
    uint64_t mark;         /* accounts_cache_checkpoint_mark: records may lag only behind it */
    __int128 table_behind; /* sum of (ledger balance - record balance) of lagging records */
    ledger_err_t err;      /* first store error seen in the callback */
    bool bad;
    char problem[sizeof((store_ledger_report_t *)0)->problem];
} check_t;

/*  A record behind its account's newest entry (the balances in memory,
    accounts_cache.h): it must hold the after values of the entry it names,
    that entry must be in the account's chain, and every newer entry of the
    account must be at or after the checkpoint mark (the start-up replay
    applies exactly those). */
static void check_lagging(check_t *c, const accounts_record_t *rec, uint64_t last_seq)
{
    uint64_t seq = last_seq;
    store_ledger_entry_t e;
    while (seq > rec->ledger_seq) {
        if (seq < c->mark) {
            c->bad = true;
            text_format(c->problem, sizeof c->problem,
                        "account '%s': entry %" PRIu64 " is newer than its record (entry %" PRIu64
                        ") but older than the checkpoint mark %" PRIu64,
                        rec->id, seq, rec->ledger_seq, c->mark);
            return;
        }
        ledger_err_t err = store_ledger_get(c->txn, seq, &e);
        if (err) {
            c->err = err;
            return;
        }
        seq = e.account_prev_seq;
    }
    int64_t balance = 0, held = 0;
    if (seq == rec->ledger_seq && seq != 0) {
        ledger_err_t err = store_ledger_get(c->txn, seq, &e);
        if (err) {
            c->err = err;
            return;
        }
        balance = e.balance_after_minor;
        held = e.held_after_minor;
    }
    if (seq != rec->ledger_seq) {
        c->bad = true;
        text_format(c->problem, sizeof c->problem,
                    "account '%s': its record names ledger entry %" PRIu64
                    ", which is not in its chain",
                    rec->id, rec->ledger_seq);
    } else if (rec->balance_minor != balance || rec->held_minor != held) {
        c->bad = true;
        text_format(c->problem, sizeof c->problem,
                    "account '%s': table balance %" PRId64 " held %" PRId64 ", its entry %" PRIu64
                    " says balance %" PRId64 " held %" PRId64,
                    rec->id, rec->balance_minor, rec->held_minor, rec->ledger_seq, balance, held);
    }
}

/*  The rules of money that came with settlement accounts (issue 18) and overdrafts (issue
    21): an account that is not a settlement account has available (balance - held) at or
    above minus its overdraft limit (accounts_controls.h), and each currency's balances sum to
    zero (added up here, judged at the end by check_currency_sums). `balance_minor` and
    `held_minor` are the account's by its entries. */
static void check_money(check_t *c, const accounts_record_t *rec, int64_t balance_minor,
                        int64_t held_minor)
{
    __int128 available = (__int128)balance_minor - held_minor;
    if (!rec->settlement && available < -(__int128)rec->overdraft_limit_minor) {
        c->bad = true;
        text_format(c->problem, sizeof c->problem,
                    "account '%s' is not a settlement account but its available balance is "
                    "%" PRId64 " - %" PRId64 ", below its overdraft limit of %" PRId64,
                    rec->id, balance_minor, held_minor, rec->overdraft_limit_minor);
        return;
    }
    size_t i = 0;
    while (i < c->currencies && strcmp(c->sums[i].currency, rec->currency) != 0)
        i++;
    if (i == VERIFY_CURRENCIES_MAX) {
        c->bad = true;
        text_format(c->problem, sizeof c->problem, "more than %d currencies in the ledger",
                    VERIFY_CURRENCIES_MAX);
        return;
    }
    if (i == c->currencies) {
        text_copy(c->sums[i].currency, sizeof c->sums[i].currency, rec->currency);
        c->currencies++;
    }
    c->sums[i].sum += balance_minor;
}

static void check_currency_sums(check_t *c)
{
    for (size_t i = 0; i < c->currencies && !c->bad; i++) {
        if (c->sums[i].sum == 0)
            continue;
        c->bad = true;
        __int128 sum = c->sums[i].sum;
        if (sum >= INT64_MIN && sum <= INT64_MAX)
            text_format(c->problem, sizeof c->problem,
                        "the %s balances in the ledger sum to %" PRId64 ", not 0",
                        c->sums[i].currency, (int64_t)sum);
        else
            text_format(c->problem, sizeof c->problem,
                        "the %s balances in the ledger sum to more than an int64, not 0",
                        c->sums[i].currency);
    }
}

/* Called by store_ledger_verify once per account with its recomputed amounts. */
static void check_account(const char *account, int64_t balance_minor, int64_t held_minor,
                          uint64_t last_seq, void *arg)
{
    check_t *c = arg;
    if (c->bad || c->err)
        return;
    accounts_record_t rec;
    ledger_err_t err = accounts_record_get(c->txn, account, &rec);
    if (err == LEDGER_E_NOT_FOUND) {
        c->bad = true;
        text_format(c->problem, sizeof c->problem,
                    "account '%s' is in the ledger but not in the accounts table", account);
        return;
    }
    if (err) {
        c->err = err;
        return;
    }
    check_money(c, &rec, balance_minor, held_minor);
    if (c->bad)
        return;
    if (rec.ledger_seq < last_seq) {
        check_lagging(c, &rec, last_seq);
        if (!c->bad)
            c->table_behind += (__int128)balance_minor - rec.balance_minor;
    } else if (rec.balance_minor != balance_minor || rec.held_minor != held_minor) {
        c->bad = true;
        text_format(c->problem, sizeof c->problem,
                    "account '%s': table balance %" PRId64 " held %" PRId64
                    ", ledger balance %" PRId64 " held %" PRId64,
                    account, rec.balance_minor, rec.held_minor, balance_minor, held_minor);
    } else if (rec.ledger_seq != last_seq) {
        c->bad = true;
        text_format(c->problem, sizeof c->problem,
                    "account '%s': its record names ledger entry %" PRIu64
                    " as its newest, the ledger's newest is %" PRIu64,
                    account, rec.ledger_seq, last_seq);
    }
}

/* Accounts the ledger never mentions must be empty; the table's balances must sum to 0. */
static ledger_err_t check_table(store_txn_t *txn, check_t *c)
{
    store_cursor_t *cur;
    ledger_err_t err = store_cursor_open(txn, STORE_DB_ACCOUNTS, &cur);
    if (err)
        return err;
    /* 128 bits: partial sums of a correct table may pass int64 (the funding
       account, which balances them, can come last in id order). */
    __int128 sum = 0;
    store_kv_t kv;
    for (err = store_cursor_get(cur, STORE_FIRST, &kv); !err && !c->bad;
         err = store_cursor_get(cur, STORE_NEXT, &kv)) {
        accounts_record_t rec;
        err = accounts_record_decode(kv.val, kv.val_size, &rec);
        if (err)
            break;
        sum += rec.balance_minor;
        /* Accounts in the ledger were compared by check_account; an account that
           names an entry must be one of them, one that names none must be empty. */
        store_ledger_entry_t last;
        if (rec.ledger_seq) {
            err = store_ledger_get(txn, rec.ledger_seq, &last);
            if (err && err != LEDGER_E_NOT_FOUND)
                break;
            if (err || strcmp(last.account, rec.id) != 0) {
                err = LEDGER_OK;
                c->bad = true;
                text_format(c->problem, sizeof c->problem,
                            "account '%s' names ledger entry %" PRIu64 ", which is not its own",
                            rec.id, rec.ledger_seq);
            }
        } else if (rec.balance_minor != 0 || rec.held_minor != 0) {
            c->bad = true;
            text_format(c->problem, sizeof c->problem,
                        "account '%s' has balance %" PRId64 " held %" PRId64
                        " but no ledger entries",
                        rec.id, rec.balance_minor, rec.held_minor);
        }
    }
    store_cursor_close(&cur);
    if (err && err != LEDGER_E_NOT_FOUND)
        return err;
    sum += c->table_behind; /* as the records will be once the checkpoint writes them */
    if (!c->bad && sum != 0) {
        c->bad = true;
        bool fits = sum >= INT64_MIN && sum <= INT64_MAX;
        text_format(c->problem, sizeof c->problem, "the accounts table's balances sum to %s, not 0",
                    fits ? "a non-zero amount" : "more than an int64");
        if (fits)
            text_format(c->problem, sizeof c->problem,
                        "the accounts table's balances sum to %" PRId64 ", not 0", (int64_t)sum);
    }
    return LEDGER_OK;
}

/* The per-currency sums of a walk, for the report (int64 or flagged as too large). */
static void copy_sums(const check_t *c, accounts_verify_sums_t *sums)
{
    memset(sums, 0, sizeof *sums);
    for (size_t i = 0; i < c->currencies; i++) {
        accounts_verify_sum_t *out = &sums->items[sums->count++];
        text_copy(out->currency, sizeof out->currency, c->sums[i].currency);
        __int128 sum = c->sums[i].sum;
        out->fits = sum >= INT64_MIN && sum <= INT64_MAX;
        out->sum_minor = out->fits ? (int64_t)sum : 0;
    }
}

/*  The checks after a finished walk, in `txn` (the walk's last step's): each account against
    its entries, the sums (into *sums, may be NULL), then the table against the ledger. */
static ledger_err_t verify_after_walk(store_txn_t *txn, store_ledger_walk_t *walk,
                                      store_ledger_report_t *report, accounts_verify_sums_t *sums)
{
    check_t c;
    memset(&c, 0, sizeof c);
    c.txn = txn;
    ledger_err_t err = accounts_cache_checkpoint_mark(txn, &c.mark);
    if (!err)
        err = store_ledger_walk_finish(walk, check_account, &c, report);
    if (err)
        return err;
    if (c.err)
        return c.err;
    if (sums)
        copy_sums(&c, sums);
    if (report->ok && !c.bad)
        check_currency_sums(&c);
    if (report->ok && !c.bad && report->balance_sum_minor != 0) {
        c.bad = true;
        text_format(c.problem, sizeof c.problem, "ledger balances sum to %" PRId64 ", not 0",
                    report->balance_sum_minor);
    }
    if (report->ok && !c.bad) {
        err = check_table(txn, &c);
        if (err)
            return err;
    }
    if (c.bad) {
        report->ok = false;
        text_copy(report->problem, sizeof report->problem, c.problem);
    }
    return LEDGER_OK;
}

/* accounts_verify_chunk with the per-currency sums (may be NULL). */
static ledger_err_t verify_chunk(store_txn_t *txn, store_ledger_walk_t *walk,
                                 uint64_t chunk_entries, bool *done_out,
                                 store_ledger_report_t *report, accounts_verify_sums_t *sums,
                                 char *why, size_t why_size)
{
    assert(txn && walk && chunk_entries > 0 && done_out && report);
    if (why && why_size)
        why[0] = '\0';
    ledger_err_t err = store_ledger_walk_step(walk, txn, chunk_entries, done_out);
    if (err || !*done_out)
        return err;
    err = verify_after_walk(txn, walk, report, sums);
    if (!err && !report->ok && why && why_size)
        text_format(why, why_size, "%s", report->problem);
    return err;
}

ledger_err_t accounts_verify_chunk(store_txn_t *txn, store_ledger_walk_t *walk,
                                   uint64_t chunk_entries, bool *done_out,
                                   store_ledger_report_t *report, char *why, size_t why_size)
{
    return verify_chunk(txn, walk, chunk_entries, done_out, report, NULL, why, why_size);
}

ledger_err_t accounts_verify_ledger(store_txn_t *txn, store_ledger_report_t *report, char *why,
                                    size_t why_size)
{
    return accounts_verify_ledger_sums(txn, report, NULL, why, why_size);
}

ledger_err_t accounts_verify_ledger_sums(store_txn_t *txn, store_ledger_report_t *report,
                                         accounts_verify_sums_t *sums, char *why, size_t why_size)
{
    assert(txn && report);
    if (sums)
        memset(sums, 0, sizeof *sums);
    if (why && why_size)
        why[0] = '\0';
    store_ledger_walk_t *walk = NULL;
    ledger_err_t err = store_ledger_walk_new(&walk);
    bool done = false;
    if (!err)
        err = verify_chunk(txn, walk, UINT64_MAX, &done, report, sums, why, why_size);
    store_ledger_walk_destroy(&walk);
    assert(err || done);
    return err;
}

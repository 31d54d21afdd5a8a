/*  fraud.c: risk rules, decisions and the risk state behind them.

    fraud_apply reads everything it needs first (the decision guard, the
    velocity window, the known payee), decides, then writes the decision,
    the risk state and the verdict. The one write that happens while
    reading is the pruning of velocity entries that have left the window:
    it changes no decision, so it is safe to do on the way. Formats: fraud.h.
*/
#include "fraud.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "money.h"
#include "record.h"
#include "text.h"

/*  Risk keys (fraud.h): a tag byte, the source length-prefixed, so keys sort
    by source, then time (velocity) or destination (payee). Keys of the first
    layout ('v' / 'p', ids NUL-padded to 64 bytes) are rewritten at start by
    fraud_migrate_risk. */
#define RISK_TAG_VELOCITY 'V'
#define RISK_TAG_PAYEE FRAUD_RISK_TAG_PAYEE
#define RISK_TAG_VELOCITY_PADDED 'v'
#define RISK_TAG_PAYEE_PADDED 'p'
#define RISK_ID_FIELD PROTO_ACCOUNT_ID_MAX             /* padded account id of the first layout */
#define VELOCITY_PREFIX_MAX (2 + PROTO_ACCOUNT_ID_MAX) /* 'V' + len + source */
#define VELOCITY_TS_BYTES 8                            /* be64 ts_ms */
#define VELOCITY_KEY_MAX (VELOCITY_PREFIX_MAX + VELOCITY_TS_BYTES + PROTO_TRANSFER_ID_MAX)
#define PAYEE_KEY_MAX FRAUD_PAYEE_KEY_MAX
#define PADDED_VELOCITY_PREFIX_BYTES (1 + RISK_ID_FIELD)
#define PADDED_PAYEE_KEY_BYTES (1 + 2 * RISK_ID_FIELD)
/* Largest encoded decision record. */
#define DECISION_RECORD_MAX_BYTES                                                                  \
    (2 + 8 + 8 + PROTO_CURRENCY_LEN + 2 + 2 * PROTO_ACCOUNT_ID_MAX + 1 +                           \
     PROTO_RULES_MAX * (1 + PROTO_RULE_NAME_MAX) + 2 + PROTO_REASON_MAX)
#define RISK_VALUE_BYTES 8      /* a risk value: be64 amount_minor or be64 ms */
#define RISK_VALUE_MAX_BYTES 16 /* room for a first-layout value copied by the migration */
#define MS_PER_S 1000u
#define DECIMAL_BASE 10u
#define WINDOW_TEXT_MAX 32          /* "<n> s" or "<n> ms" for a uint64 window, in bytes */
#define BLOCKLIST_ITEM_SHOWN_MAX 64 /* bytes of a bad blocklist item quoted in a reason */
#define RULES_TEXT_SHOWN_MAX 40     /* bytes of a bad rules key or value quoted in a reason */
#define APPROVAL_REASON "no rule fired"
#define CUT_MARK "..." /* ends a reason that was cut */
#define CUT_MARK_LEN (sizeof CUT_MARK - 1)

/* 'tag' + u8 len + source: the prefix of a source's keys. Returns its length. */
static size_t risk_prefix(uint8_t key[VELOCITY_PREFIX_MAX], uint8_t tag, const char *source)
{
    size_t n = strnlen(source, PROTO_ACCOUNT_ID_MAX);
    key[0] = tag;
    key[1] = (uint8_t)n;
    memcpy(key + 2, source, n);
    return 2 + n;
}

/* --- rules --------------------------------------------------------------- */

void fraud_rules_defaults(fraud_rules_t *rules)
{
    assert(rules);
    memset(rules, 0, sizeof *rules);
    rules->amount_threshold_minor = FRAUD_DEFAULT_AMOUNT_THRESHOLD_MINOR;
    rules->velocity_max_count = FRAUD_DEFAULT_VELOCITY_MAX_COUNT;
    rules->velocity_max_sum_minor = FRAUD_DEFAULT_VELOCITY_MAX_SUM_MINOR;
    rules->velocity_window_ms = FRAUD_DEFAULT_VELOCITY_WINDOW_MS;
    rules->new_payee_limit_minor = FRAUD_DEFAULT_NEW_PAYEE_LIMIT_MINOR;
    text_copy(rules->blocklist[0], sizeof rules->blocklist[0], FRAUD_DEFAULT_BLOCKLIST);
    rules->blocklist_count = 1;
}

/* A plain decimal integer: digits only, 0..max. */
static ledger_err_t parse_uint(const char *key, const char *text, uint64_t max, uint64_t *out,
                               char *why, size_t why_size)
{
    if (text[0] == '\0') {
        text_format(why, why_size, "%s: empty value, expected a whole number", key);
        return LEDGER_E_INVALID;
    }
    uint64_t acc = 0;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9') {
            text_format(why, why_size, "%s: '%.*s' is not a whole number (digits only)", key,
                        RULES_TEXT_SHOWN_MAX, text);
            return LEDGER_E_INVALID;
        }
        if (__builtin_mul_overflow(acc, DECIMAL_BASE, &acc) ||
            __builtin_add_overflow(acc, (uint64_t)(*p - '0'), &acc) || acc > max) {
            text_format(why, why_size, "%s: '%.*s' is above the maximum %" PRIu64, key,
                        RULES_TEXT_SHOWN_MAX, text, max);
            return LEDGER_E_INVALID;
        }
    }
    *out = acc;
    return LEDGER_OK;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* Parses a comma separated list of account ids into rules->blocklist (replacing it). */
static ledger_err_t parse_blocklist(fraud_rules_t *rules, const char *value, char *why,
                                    size_t why_size)
{
    fraud_rules_t next = *rules;
    next.blocklist_count = 0;
    memset(next.blocklist, 0, sizeof next.blocklist);
    const char *p = value;
    while (*p && is_space(*p))
        p++;
    if (*p != '\0') {
        for (;;) {
            const char *end = strchr(p, ',');
            size_t len = end ? (size_t)(end - p) : strlen(p);
            const char *item = p;
            size_t item_len = len;
            while (item_len && is_space(*item)) {
                item++;
                item_len--;
            }
            while (item_len && is_space(item[item_len - 1]))
                item_len--;
            if (!proto_account_id_valid(item, item_len)) {
                text_format(why, why_size,
                            "blocklist: '%.*s' is not an account id (1 to %d of a-z 0-9 _ -)",
                            (int)(item_len > BLOCKLIST_ITEM_SHOWN_MAX ? BLOCKLIST_ITEM_SHOWN_MAX
                                                                      : item_len),
                            item, PROTO_ACCOUNT_ID_MAX);
                return LEDGER_E_INVALID;
            }
            bool duplicate = false;
            for (uint32_t i = 0; i < next.blocklist_count; i++)
                if (strlen(next.blocklist[i]) == item_len &&
                    memcmp(next.blocklist[i], item, item_len) == 0)
                    duplicate = true;
            if (!duplicate) {
                if (next.blocklist_count == FRAUD_BLOCKLIST_MAX) {
                    text_format(why, why_size, "blocklist: more than %d accounts",
                                FRAUD_BLOCKLIST_MAX);
                    return LEDGER_E_INVALID;
                }
                memcpy(next.blocklist[next.blocklist_count], item, item_len);
                next.blocklist[next.blocklist_count][item_len] = '\0';
                next.blocklist_count++;
            }
            if (!end)
                break;
            p = end + 1;
        }
    }
    *rules = next;
    return LEDGER_OK;
}

ledger_err_t fraud_rules_set(fraud_rules_t *rules, const char *key, const char *value, char *why,
                             size_t why_size)
{
    assert(rules && key && value);
    if (why && why_size)
        why[0] = '\0';
    uint64_t v;
    ledger_err_t err;
    if (strcmp(key, "blocklist") == 0)
        return parse_blocklist(rules, value, why, why_size);
    if (strcmp(key, "amount_threshold_minor") == 0) {
        err = parse_uint(key, value, INT64_MAX, &v, why, why_size);
        if (!err)
            rules->amount_threshold_minor = (int64_t)v;
    } else if (strcmp(key, "velocity_max_count") == 0) {
        err = parse_uint(key, value, FRAUD_VELOCITY_COUNT_MAX, &v, why, why_size);
        if (!err)
            rules->velocity_max_count = (uint32_t)v;
    } else if (strcmp(key, "velocity_max_sum_minor") == 0) {
        err = parse_uint(key, value, INT64_MAX, &v, why, why_size);
        if (!err)
            rules->velocity_max_sum_minor = (int64_t)v;
    } else if (strcmp(key, "velocity_window_ms") == 0) {
        err = parse_uint(key, value, FRAUD_WINDOW_MAX_MS, &v, why, why_size);
        if (!err)
            rules->velocity_window_ms = v;
    } else if (strcmp(key, "new_payee_limit_minor") == 0) {
        err = parse_uint(key, value, INT64_MAX, &v, why, why_size);
        if (!err)
            rules->new_payee_limit_minor = (int64_t)v;
    } else {
        text_format(why, why_size, "unknown key '%.*s'", RULES_TEXT_SHOWN_MAX, key);
        err = LEDGER_E_INVALID;
    }
    return err;
}

/* Trims spaces at both ends of s[0..*len) in place; returns the new start. */
static char *trim(char *s, size_t *len)
{
    while (*len && is_space(*s)) {
        s++;
        (*len)--;
    }
    while (*len && is_space(s[*len - 1]))
        (*len)--;
    s[*len] = '\0';
    return s;
}

/* Applies one line (NUL-terminated, comment not yet removed) to `rules`. */
static ledger_err_t rules_apply_line(fraud_rules_t *rules, char *line, char *why, size_t why_size)
{
    char *hash = strchr(line, '#');
    if (hash)
        *hash = '\0';
    size_t len = strlen(line);
    char *text = trim(line, &len);
    if (len == 0)
        return LEDGER_OK;
    char *eq = strchr(text, '=');
    if (!eq) {
        text_format(why, why_size, "expected 'key = value'");
        return LEDGER_E_INVALID;
    }
    *eq = '\0';
    size_t key_size = (size_t)(eq - text);
    size_t value_size = len - key_size - 1;
    char *key = trim(text, &key_size);
    char *value = trim(eq + 1, &value_size);
    if (key_size == 0) {
        text_format(why, why_size, "missing key before '='");
        return LEDGER_E_INVALID;
    }
    return fraud_rules_set(rules, key, value, why, why_size);
}

ledger_err_t fraud_rules_load_file(fraud_rules_t *rules, const char *path, char *why,
                                   size_t why_size)
{
    assert(rules && path);
    if (why && why_size)
        why[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f) {
        text_format(why, why_size, "cannot open: %s", strerror(errno));
        return LEDGER_E_IO;
    }
    fraud_rules_t next = *rules;
    char line[FRAUD_RULES_LINE_MAX + 1];
    char line_why[PROTO_REASON_MAX];
    ledger_err_t err = LEDGER_OK;
    unsigned long line_no = 0;
    int c = 0;
    while (!err && c != EOF) {
        size_t len = 0;
        bool has_nul = false;
        line_no++;
        while ((c = getc(f)) != EOF && c != '\n') {
            if (c == '\0')
                has_nul = true;
            if (len == FRAUD_RULES_LINE_MAX) {
                text_format(why, why_size, "line %lu: longer than %d bytes", line_no,
                            FRAUD_RULES_LINE_MAX);
                err = LEDGER_E_TOO_LARGE;
                break;
            }
            line[len++] = (char)c;
        }
        if (err)
            break;
        if (ferror(f)) {
            text_format(why, why_size, "line %lu: read error: %s", line_no, strerror(errno));
            err = LEDGER_E_IO;
            break;
        }
        if (c == EOF && len == 0)
            break; /* the end, or the newline of the last line was the last byte */
        line[len] = '\0';
        if (has_nul) {
            text_format(why, why_size, "line %lu: contains a NUL byte", line_no);
            err = LEDGER_E_INVALID;
            break;
        }
        err = rules_apply_line(&next, line, line_why, sizeof line_why);
        if (err)
            text_format(why, why_size, "line %lu: %s", line_no, line_why);
    }
    fclose(f);
    if (!err)
        *rules = next;
    return err;
}

/* --- decisions ----------------------------------------------------------- */

static ledger_err_t decision_put(store_txn_t *txn, const fraud_decision_t *d)
{
    size_t id_len = text_len_within(d->transfer, PROTO_TRANSFER_ID_MAX);
    assert(id_len > 0 && d->rule_count <= PROTO_RULES_MAX);
    uint8_t buf[DECISION_RECORD_MAX_BYTES];
    record_writer_t w = {buf, sizeof buf, 0, true};
    record_put_u8(&w, FRAUD_DECISION_VERSION);
    record_put_u8(&w, (uint8_t)d->verdict);
    record_put_u64(&w, d->ts_ms);
    record_put_u64(&w, (uint64_t)d->amount_minor);
    record_put_bytes(&w, d->currency, PROTO_CURRENCY_LEN);
    record_put_str8(&w, d->from);
    record_put_str8(&w, d->to);
    record_put_u8(&w, (uint8_t)d->rule_count);
    for (uint32_t i = 0; i < d->rule_count; i++)
        record_put_str8(&w, d->rules[i]);
    record_put_str16(&w, d->reason);
    assert(w.ok);
    return store_put(txn, STORE_DB_DECISIONS, d->transfer, id_len, buf, w.len,
                     STORE_PUT_NOOVERWRITE);
}

ledger_err_t fraud_decision_get(store_txn_t *txn, const char *transfer, fraud_decision_t *out)
{
    assert(txn && transfer && out);
    size_t id_len = text_len_within(transfer, PROTO_TRANSFER_ID_MAX);
    if (id_len == 0)
        return LEDGER_E_NOT_FOUND;
    const void *val;
    size_t size;
    ledger_err_t err = store_get(txn, STORE_DB_DECISIONS, transfer, id_len, &val, &size);
    if (err)
        return err;
    fraud_decision_t d;
    memset(&d, 0, sizeof d);
    text_copy(d.transfer, sizeof d.transfer, transfer);
    record_reader_t r = {val, size, 0, true};
    uint8_t version = record_get_u8(&r);
    uint8_t verdict = record_get_u8(&r);
    d.ts_ms = record_get_u64(&r);
    d.amount_minor = (int64_t)record_get_u64(&r);
    record_get_fixed(&r, d.currency, PROTO_CURRENCY_LEN);
    record_get_str8(&r, d.from, PROTO_ACCOUNT_ID_MAX);
    record_get_str8(&r, d.to, PROTO_ACCOUNT_ID_MAX);
    d.rule_count = record_get_u8(&r);
    if (d.rule_count > PROTO_RULES_MAX)
        r.ok = false;
    for (uint32_t i = 0; r.ok && i < d.rule_count; i++)
        record_get_str8(&r, d.rules[i], PROTO_RULE_NAME_MAX);
    record_get_str16(&r, d.reason, PROTO_REASON_MAX);
    if (!record_done(&r) || version != FRAUD_DECISION_VERSION ||
        (verdict != FRAUD_APPROVED && verdict != FRAUD_REJECTED))
        return LEDGER_E_CORRUPT;
    d.verdict = (fraud_verdict_t)verdict;
    *out = d;
    return LEDGER_OK;
}

/* --- evaluation ---------------------------------------------------------- */

/* Rules that fired so far and the reason text built from them. */
typedef struct {
    uint32_t count;
    char rules[PROTO_RULES_MAX][PROTO_RULE_NAME_MAX + 1];
    char reason[PROTO_REASON_MAX + 1];
    size_t reason_len;
} findings_t;

static void fire(findings_t *f, const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records a fired rule and appends "; <text>" to the reason, cut with "..." if it is full. */
static void fire(findings_t *f, const char *rule, const char *fmt, ...)
{
    va_list ap;
    char part[PROTO_REASON_MAX + 1];
    assert(f->count < PROTO_RULES_MAX);
    text_copy(f->rules[f->count++], sizeof f->rules[0], rule);
    va_start(ap, fmt);
    int n = vsnprintf(part, sizeof part, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    const char *sep = f->reason_len ? "; " : "";
    size_t room = sizeof f->reason - f->reason_len;
    int wrote = snprintf(f->reason + f->reason_len, room, "%s%s", sep, part);
    if (wrote < 0)
        return;
    if ((size_t)wrote >= room) {
        /* Cut at the start of a UTF-8 character so the text stays valid. */
        size_t cut = sizeof f->reason - 1 - CUT_MARK_LEN;
        while (cut > 0 && ((unsigned char)f->reason[cut] & 0xC0) == 0x80)
            cut--;
        memcpy(f->reason + cut, CUT_MARK, CUT_MARK_LEN + 1);
        f->reason_len = cut + CUT_MARK_LEN;
    } else {
        f->reason_len += (size_t)wrote;
    }
}

/* "60 s" for whole seconds, else "1500 ms". */
static void fmt_window(uint64_t window_ms, char *out, size_t out_size)
{
    if (window_ms % MS_PER_S == 0)
        text_format(out, out_size, "%" PRIu64 " s", window_ms / MS_PER_S);
    else
        text_format(out, out_size, "%" PRIu64 " ms", window_ms);
}

static bool in_window(uint64_t now_ms, uint64_t ts_ms, uint64_t window_ms)
{
    return ts_ms > now_ms || now_ms - ts_ms < window_ms;
}

/*  Counts and sums the source's approved transfers inside the window, and
    deletes (up to FRAUD_PRUNE_MAX_PER_EVAL) the ones that have left it.
    Old entries sort first, so they are met first; after each delete the
    cursor seeks the first entry of the source again. */
static ledger_err_t velocity_scan(node_ctx_t *ctx, const char *source, uint64_t window_ms,
                                  uint64_t *count_out, int64_t *sum_out)
{
    uint8_t start[VELOCITY_PREFIX_MAX + VELOCITY_TS_BYTES];
    size_t prefix = risk_prefix(start, RISK_TAG_VELOCITY, source);
    store_be64_put(start + prefix, 0);
    size_t start_size = prefix + VELOCITY_TS_BYTES;
    store_cursor_t *cur;
    ledger_err_t err = store_cursor_open(ctx->txn, STORE_DB_RISK, &cur);
    if (err)
        return err;
    uint64_t count = 0;
    int64_t sum = 0;
    size_t pruned = 0;
    store_kv_t kv = {.key = start, .key_size = start_size};
    for (err = store_cursor_get(cur, STORE_SEEK, &kv); !err;) {
        if (kv.key_size < start_size || memcmp(kv.key, start, prefix) != 0)
            break; /* past this source's entries */
        if (kv.val_size != RISK_VALUE_BYTES) {
            err = LEDGER_E_CORRUPT;
            break;
        }
        uint64_t ts_ms = store_be64_get((const uint8_t *)kv.key + prefix);
        int64_t amount_minor = (int64_t)store_be64_get(kv.val);
        if (in_window(ctx->now_ms, ts_ms, window_ms)) {
            count++;
            /* A sum beyond int64 is beyond any limit: saturate. */
            if (money_add(sum, amount_minor, &sum))
                sum = INT64_MAX;
            err = store_cursor_get(cur, STORE_NEXT, &kv);
        } else if (pruned < FRAUD_PRUNE_MAX_PER_EVAL) {
            err = store_cursor_del(cur);
            pruned++;
            if (!err) {
                kv = (store_kv_t){.key = start, .key_size = start_size};
                err = store_cursor_get(cur, STORE_SEEK, &kv);
            }
        } else {
            err = store_cursor_get(cur, STORE_NEXT, &kv);
        }
    }
    store_cursor_close(&cur);
    if (err && err != LEDGER_E_NOT_FOUND)
        return err;
    *count_out = count;
    *sum_out = sum;
    return LEDGER_OK;
}

/* 'P' + u8 len + source + destination. Returns the key's length. */
static size_t payee_key(uint8_t key[PAYEE_KEY_MAX], const char *source, const char *dest)
{
    size_t prefix = risk_prefix(key, RISK_TAG_PAYEE, source);
    size_t n = strnlen(dest, PROTO_ACCOUNT_ID_MAX);
    memcpy(key + prefix, dest, n);
    return prefix + n;
}

static bool blocklisted(const fraud_rules_t *rules, const char *id)
{
    for (uint32_t i = 0; i < rules->blocklist_count; i++)
        if (strcmp(rules->blocklist[i], id) == 0)
            return true;
    return false;
}

/* Evaluates every rule for transfer `t`; fills *f with those that fire. */
static ledger_err_t evaluate(node_ctx_t *ctx, const fraud_rules_t *rules, const proto_transfer_t *t,
                             findings_t *f)
{
    memset(f, 0, sizeof *f);
    char amount[MONEY_TEXT_MAX], limit[MONEY_TEXT_MAX];

    if (rules->amount_threshold_minor > 0 && t->amount_minor > rules->amount_threshold_minor)
        fire(f, FRAUD_RULE_AMOUNT, "amount %s above limit %s",
             money_format(t->amount_minor, amount),
             money_format(rules->amount_threshold_minor, limit));

    uint64_t count = 0;
    int64_t sum = 0;
    ledger_err_t err = velocity_scan(ctx, t->from, rules->velocity_window_ms, &count, &sum);
    if (err)
        return err;
    if (rules->velocity_window_ms > 0) {
        count++; /* this transfer counts */
        if (money_add(sum, t->amount_minor, &sum))
            sum = INT64_MAX;
        char window[WINDOW_TEXT_MAX];
        fmt_window(rules->velocity_window_ms, window, sizeof window);
        if (rules->velocity_max_count > 0 && count > rules->velocity_max_count)
            fire(f, FRAUD_RULE_VELOCITY_COUNT, "%" PRIu64 " transfers in %s above limit %" PRIu32,
                 count, window, rules->velocity_max_count);
        if (rules->velocity_max_sum_minor > 0 && sum > rules->velocity_max_sum_minor)
            fire(f, FRAUD_RULE_VELOCITY_SUM, "%s sent in %s above limit %s",
                 money_format(sum, amount), window,
                 money_format(rules->velocity_max_sum_minor, limit));
    }

    bool from_blocked = blocklisted(rules, t->from), to_blocked = blocklisted(rules, t->to);
    if (from_blocked && to_blocked)
        fire(f, FRAUD_RULE_BLOCKLIST, "blocklisted accounts %s and %s", t->from, t->to);
    else if (from_blocked || to_blocked)
        fire(f, FRAUD_RULE_BLOCKLIST, "blocklisted account %s", from_blocked ? t->from : t->to);

    if (rules->new_payee_limit_minor > 0 && t->amount_minor > rules->new_payee_limit_minor) {
        uint8_t key[PAYEE_KEY_MAX];
        size_t key_size = payee_key(key, t->from, t->to);
        const void *val;
        size_t size;
        err = store_get(ctx->txn, STORE_DB_RISK, key, key_size, &val, &size);
        if (err == LEDGER_E_NOT_FOUND)
            fire(f, FRAUD_RULE_NEW_PAYEE, "first payment to %s of %s above new payee limit %s",
                 t->to, money_format(t->amount_minor, amount),
                 money_format(rules->new_payee_limit_minor, limit));
        else if (err)
            return err;
    }
    return LEDGER_OK;
}

/* Risk state learned from an approval: a velocity entry and the known payee. */
static ledger_err_t learn_approval(node_ctx_t *ctx, const fraud_rules_t *rules,
                                   const proto_transfer_t *t)
{
    if (rules->velocity_window_ms > 0) {
        uint8_t key[VELOCITY_KEY_MAX];
        size_t id_len = strnlen(t->transfer, PROTO_TRANSFER_ID_MAX);
        size_t prefix = risk_prefix(key, RISK_TAG_VELOCITY, t->from);
        store_be64_put(key + prefix, ctx->now_ms);
        memcpy(key + prefix + VELOCITY_TS_BYTES, t->transfer, id_len);
        uint8_t amount[RISK_VALUE_BYTES];
        store_be64_put(amount, (uint64_t)t->amount_minor);
        ledger_err_t err = store_put(ctx->txn, STORE_DB_RISK, key,
                                     prefix + VELOCITY_TS_BYTES + id_len, amount, sizeof amount, 0);
        if (err)
            return err;
    }
    uint8_t key[PAYEE_KEY_MAX], approved_ms[RISK_VALUE_BYTES];
    size_t key_size = payee_key(key, t->from, t->to);
    const void *old = NULL;
    size_t old_size = 0;
    ledger_err_t err = store_get(ctx->txn, STORE_DB_RISK, key, key_size, &old, &old_size);
    if (err == LEDGER_OK && old_size == RISK_VALUE_BYTES &&
        store_be64_get(old) + FRAUD_PAYEE_REFRESH_MS > ctx->now_ms)
        return LEDGER_OK; /* approved within the refresh period: no write */
    if (err != LEDGER_OK && err != LEDGER_E_NOT_FOUND)
        return err;
    store_be64_put(approved_ms, ctx->now_ms);
    return store_put(ctx->txn, STORE_DB_RISK, key, key_size, approved_ms, sizeof approved_ms, 0);
}

ledger_err_t fraud_apply(node_ctx_t *ctx, const fraud_rules_t *rules, const proto_msg_t *msg)
{
    assert(ctx && ctx->txn && rules && msg);
    if (msg->type != PROTO_FUNDS_RESERVED)
        return LEDGER_E_INVALID;
    const proto_transfer_t *t = &msg->body.transfer;
    /* proto validation guarantees these; without them there is no key to store under. */
    if (text_len_within(t->transfer, PROTO_TRANSFER_ID_MAX) == 0 ||
        text_len_within(t->from, PROTO_ACCOUNT_ID_MAX) == 0 ||
        text_len_within(t->to, PROTO_ACCOUNT_ID_MAX) == 0 ||
        strnlen(t->currency, sizeof t->currency) != PROTO_CURRENCY_LEN)
        return LEDGER_E_INVALID;

    fraud_decision_t d;
    ledger_err_t err = fraud_decision_get(ctx->txn, t->transfer, &d);
    if (err == LEDGER_OK)
        return LEDGER_OK; /* decided before: the verdict was sent then */
    if (err != LEDGER_E_NOT_FOUND)
        return err;

    /* A deposit is money from outside, asked for by an operator: no rule is about it, and it
       teaches the risk state nothing about the settlement account it comes from. */
    bool deposit = t->kind == PROTO_TRANSFER_KIND_DEPOSIT;
    findings_t f;
    memset(&f, 0, sizeof f);
    err = deposit ? LEDGER_OK : evaluate(ctx, rules, t, &f);
    if (err)
        return err;

    memset(&d, 0, sizeof d);
    text_copy(d.transfer, sizeof d.transfer, t->transfer);
    d.verdict = f.count ? FRAUD_REJECTED : FRAUD_APPROVED;
    d.rule_count = f.count;
    memcpy(d.rules, f.rules, sizeof d.rules);
    text_copy(d.reason, sizeof d.reason,
              f.count   ? f.reason
              : deposit ? FRAUD_DEPOSIT_REASON
                        : APPROVAL_REASON);
    d.ts_ms = ctx->now_ms;
    d.amount_minor = t->amount_minor;
    text_copy(d.currency, sizeof d.currency, t->currency);
    text_copy(d.from, sizeof d.from, t->from);
    text_copy(d.to, sizeof d.to, t->to);
    err = decision_put(ctx->txn, &d);
    if (!err && d.verdict == FRAUD_APPROVED && !deposit)
        err = learn_approval(ctx, rules, t);
    if (err)
        return err;

    proto_msg_t out;
    memset(&out, 0, sizeof out);
    out.v = PROTO_VERSION;
    out.type = d.verdict == FRAUD_APPROVED ? PROTO_FRAUD_APPROVED : PROTO_FRAUD_REJECTED;
    text_copy(out.corr, sizeof out.corr, t->transfer);
    proto_verdict_t *v = &out.body.verdict;
    text_copy(v->transfer, sizeof v->transfer, t->transfer);
    v->rule_count = d.rule_count;
    memcpy(v->rules, d.rules, sizeof v->rules);
    text_copy(v->reason, sizeof v->reason, d.reason);
    /* accounts acts on the verdict; the gateway shows it (and its rules) in the timeline. */
    const char *peers[] = {NODE_PEER_ACCOUNTS, NODE_PEER_GATEWAY};
    return node_ctx_emit(ctx, peers, 2, &out, msg);
}

/* --- migration of the first risk key layout ------------------------------ */

/*  Rewrites one key of the first (padded) layout in the compact one; `key`
    and `val` are copies. The ids are taken as they were stored (whatever
    proto validation let through then: non-empty, no NUL); only a key whose
    size or padding cannot be of that layout is LEDGER_E_CORRUPT. */
static ledger_err_t migrate_risk_key(store_txn_t *txn, const uint8_t *key, size_t key_size,
                                     const uint8_t *val, size_t val_size)
{
    bool payee = key[0] == RISK_TAG_PAYEE_PADDED;
    size_t velocity_fixed = PADDED_VELOCITY_PREFIX_BYTES + VELOCITY_TS_BYTES;
    if (payee ? key_size != PADDED_PAYEE_KEY_BYTES
              : key_size <= velocity_fixed || key_size - velocity_fixed > PROTO_TRANSFER_ID_MAX)
        return LEDGER_E_CORRUPT;
    char source[PROTO_ACCOUNT_ID_MAX + 1] = "", dest[PROTO_ACCOUNT_ID_MAX + 1] = "";
    size_t source_len = strnlen((const char *)key + 1, RISK_ID_FIELD);
    if (source_len == 0)
        return LEDGER_E_CORRUPT;
    memcpy(source, key + 1, source_len);
    uint8_t out[VELOCITY_KEY_MAX > PAYEE_KEY_MAX ? VELOCITY_KEY_MAX : PAYEE_KEY_MAX];
    size_t out_size;
    unsigned flags = 0;
    if (payee) {
        size_t dest_len = strnlen((const char *)key + 1 + RISK_ID_FIELD, RISK_ID_FIELD);
        if (dest_len == 0)
            return LEDGER_E_CORRUPT;
        memcpy(dest, key + 1 + RISK_ID_FIELD, dest_len);
        out_size = payee_key(out, source, dest);
        flags = STORE_PUT_NOOVERWRITE; /* a compact key already there is newer: keep it */
    } else {
        size_t id_len = key_size - velocity_fixed;
        size_t prefix = risk_prefix(out, RISK_TAG_VELOCITY, source);
        memcpy(out + prefix, key + PADDED_VELOCITY_PREFIX_BYTES, VELOCITY_TS_BYTES);
        memcpy(out + prefix + VELOCITY_TS_BYTES, key + velocity_fixed, id_len);
        out_size = prefix + VELOCITY_TS_BYTES + id_len;
    }
    ledger_err_t err = store_put(txn, STORE_DB_RISK, out, out_size, val, val_size, flags);
    if (err && err != LEDGER_E_EXISTS)
        return err;
    return store_del(txn, STORE_DB_RISK, key, key_size);
}

ledger_err_t fraud_migrate_risk(store_txn_t *txn, size_t *migrated_out)
{
    assert(txn);
    size_t migrated = 0;
    ledger_err_t err = LEDGER_OK;
    const uint8_t tags[] = {RISK_TAG_PAYEE_PADDED, RISK_TAG_VELOCITY_PADDED};
    for (size_t t = 0; t < sizeof tags && !err; t++) {
        for (;;) {
            store_cursor_t *cur;
            err = store_cursor_open(txn, STORE_DB_RISK, &cur);
            if (err)
                break;
            store_kv_t kv = {.key = &tags[t], .key_size = 1};
            err = store_cursor_get(cur, STORE_SEEK, &kv);
            bool found = !err && kv.key_size > 0 && ((const uint8_t *)kv.key)[0] == tags[t];
            uint8_t key[PADDED_PAYEE_KEY_BYTES + PROTO_TRANSFER_ID_MAX + VELOCITY_TS_BYTES];
            uint8_t val[RISK_VALUE_MAX_BYTES];
            size_t key_size = kv.key_size, val_size = kv.val_size;
            if (found && (key_size > sizeof key || val_size > sizeof val))
                err = LEDGER_E_CORRUPT;
            else if (found) {
                memcpy(key, kv.key, key_size); /* LMDB's memory is not ours past the next write */
                memcpy(val, kv.val, val_size);
            }
            store_cursor_close(&cur);
            if (err == LEDGER_E_NOT_FOUND)
                err = LEDGER_OK;
            if (err || !found)
                break;
            err = migrate_risk_key(txn, key, key_size, val, val_size);
            if (err)
                break;
            migrated++;
        }
    }
    if (err)
        return err;
    if (migrated_out)
        *migrated_out = migrated;
    return LEDGER_OK;
}

/*  proto.c: msgpack encoding and strict, bounded decoding of the wire protocol.

    Decoding runs in four steps, each refusing what it cannot vouch for:
      1. size: frames over PROTO_FRAME_MAX are refused before a byte is read;
      2. proto_frame_check: a walk over the raw bytes that checks the msgpack
         structure (truncation, nesting depth, element counts, trailing bytes)
         without allocating anything; see there for why msgpack-c needs this;
      3. msgpack-c builds the object tree (strings point into the input);
      4. the tree is read into a proto_msg_t field by field (exact key sets,
         types, lengths, no NUL), then check_msg() applies the value rules.
    check_msg() is the same function proto_validate() runs before encoding,
    so an encoder can never produce what a decoder refuses.

    Encoding packs into a growable buffer capped at PROTO_FRAME_MAX.
    Nothing here keeps state between calls: every function is thread-safe.
*/
#include "proto.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "text.h"

/* First allocation of an encode buffer: any saga message fits without growing. */
#define ENCODE_INITIAL_BYTES 512
/* Longest piece of an unknown key quoted back in a reason. */
#define REASON_KEY_MAX 32
/* HTTP-like status range accepted in account.reply. */
#define REPLY_STATUS_MIN 100
#define REPLY_STATUS_MAX 599

static const char *const type_names[PROTO_TYPE__COUNT] = {
    [PROTO_TRANSFER_REQUESTED] = "transfer.requested",
    [PROTO_FUNDS_RESERVED] = "funds.reserved",
    [PROTO_FRAUD_APPROVED] = "fraud.approved",
    [PROTO_FRAUD_REJECTED] = "fraud.rejected",
    [PROTO_TRANSFER_SETTLED] = "transfer.settled",
    [PROTO_TRANSFER_REJECTED_FRAUD] = "transfer.rejected_fraud",
    [PROTO_TRANSFER_DECLINED] = "transfer.declined",
    [PROTO_ACK] = "ack",
    [PROTO_NACK] = "nack",
    [PROTO_ACCOUNT_QUERY] = "account.query",
    [PROTO_ACCOUNT_REPLY] = "account.reply",
};

static const char *const op_names[] = {
    [PROTO_QUERY_LIST] = "list",
    [PROTO_QUERY_GET] = "get",
    [PROTO_QUERY_LEDGER] = "ledger",
    [PROTO_QUERY_OPEN] = "open",
};
#define OP_COUNT (sizeof op_names / sizeof op_names[0])

/* ---------------------------------------------------------------------------
   Reasons. A ctx_t carries the caller's `why` buffer and where in the message
   we are, so that every reason names its field ("body.accounts[3].currency").
*/
typedef struct {
    char *why;
    size_t why_size;
    const char *scope; /* "" for the envelope, "body", "body.accounts", ... */
    long index;        /* element of an array scope, -1 if none */
} ctx_t;

static void say(char *why, size_t why_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(char *why, size_t why_size, const char *fmt, ...)
{
    if (!why || why_size == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_size, fmt, ap);
    va_end(ap);
}

/* Empties the caller's `why` (every decode does: without a format to parse). */
static void say_nothing(char *why, size_t why_size)
{
    if (why && why_size)
        why[0] = '\0';
}

static ledger_err_t fail(ctx_t *c, ledger_err_t err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static ledger_err_t fail(ctx_t *c, ledger_err_t err, const char *field, const char *fmt, ...)
{
    if (!c->why || c->why_size == 0)
        return err;
    char where[96];
    if (c->index >= 0 && !field[0])
        snprintf(where, sizeof where, "%s[%ld]", c->scope, c->index);
    else if (c->index >= 0)
        snprintf(where, sizeof where, "%s[%ld].%s", c->scope, c->index, field);
    else if (c->scope[0])
        snprintf(where, sizeof where, "%s.%s", c->scope, field);
    else
        snprintf(where, sizeof where, "%s", field);
    char text[192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    say(c->why, c->why_size, "%s: %s", where, text);
    return err;
}

/* ---------------------------------------------------------------------------
   Names, ids, tags.
*/
const char *proto_type_name(proto_type_t type)
{
    if ((unsigned)type >= PROTO_TYPE__COUNT)
        return NULL;
    return type_names[type];
}

ledger_err_t proto_type_from_name(const char *name, size_t len, proto_type_t *type_out)
{
    assert(type_out);
    if (!name)
        return LEDGER_E_UNKNOWN_TYPE;
    for (int t = PROTO_TRANSFER_REQUESTED; t < PROTO_TYPE__COUNT; t++) {
        if (strlen(type_names[t]) == len && memcmp(type_names[t], name, len) == 0) {
            *type_out = (proto_type_t)t;
            return LEDGER_OK;
        }
    }
    return LEDGER_E_UNKNOWN_TYPE;
}

static bool is_origin_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
}

static bool origin_valid(const char *origin, size_t len)
{
    if (len == 0 || len > PROTO_NODE_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!is_origin_char((unsigned char)origin[i]))
            return false;
    return true;
}

/* Parses `len` bytes of "<origin>/<seq>"; outputs written only on success. */
static bool id_parse(const char *id, size_t len, char origin_out[PROTO_NODE_MAX + 1],
                     uint64_t *seq_out)
{
    if (len > PROTO_ID_MAX)
        return false;
    const char *slash = memchr(id, '/', len);
    if (!slash)
        return false;
    size_t origin_len = (size_t)(slash - id);
    size_t digits = len - origin_len - 1;
    if (!origin_valid(id, origin_len) || digits == 0 || slash[1] == '0')
        return false;
    uint64_t seq = 0;
    for (size_t i = 0; i < digits; i++) {
        unsigned char ch = (unsigned char)slash[1 + i];
        if (ch < '0' || ch > '9')
            return false;
        if (__builtin_mul_overflow(seq, 10, &seq) || __builtin_add_overflow(seq, ch - '0', &seq))
            return false;
    }
    if (origin_out) {
        memcpy(origin_out, id, origin_len);
        origin_out[origin_len] = '\0';
    }
    if (seq_out)
        *seq_out = seq;
    return true;
}

ledger_err_t proto_id_parse(const char *id, char origin_out[PROTO_NODE_MAX + 1], uint64_t *seq_out)
{
    if (!id)
        return LEDGER_E_INVALID;
    size_t len = strnlen(id, PROTO_ID_MAX + 1);
    return id_parse(id, len, origin_out, seq_out) ? LEDGER_OK : LEDGER_E_INVALID;
}

void proto_msg_id(const proto_msg_t *msg, char out[PROTO_ID_MAX + 1])
{
    assert(msg && out);
    /* "<origin>/<seq>": at most PROTO_NODE_MAX + 1 + TEXT_U64_DIGITS_MAX bytes. */
    _Static_assert(PROTO_NODE_MAX + 1 + TEXT_U64_DIGITS_MAX <= PROTO_ID_MAX, "id fits");
    size_t n = strnlen(msg->origin, PROTO_NODE_MAX);
    memcpy(out, msg->origin, n);
    out[n] = '/';
    text_u64(msg->seq, out + n + 1);
}

void proto_tag_pack(uint64_t tag, uint8_t out[PROTO_TAG_SIZE])
{
    assert(out);
    for (int i = PROTO_TAG_SIZE - 1; i >= 0; i--) {
        out[i] = (uint8_t)(tag & 0xff);
        tag >>= 8;
    }
}

ledger_err_t proto_tags_unpack(const void *data, size_t size, uint64_t tags_out[PROTO_ACK_TAGS_MAX],
                               size_t *count_out)
{
    assert(tags_out && count_out);
    if (!data || size == 0 || size % PROTO_TAG_SIZE != 0 ||
        size > (size_t)PROTO_ACK_TAGS_MAX * PROTO_TAG_SIZE)
        return LEDGER_E_DECODE;
    size_t count = size / PROTO_TAG_SIZE;
    for (size_t i = 0; i < count; i++)
        proto_tag_unpack((const uint8_t *)data + i * PROTO_TAG_SIZE, PROTO_TAG_SIZE, &tags_out[i]);
    *count_out = count;
    return LEDGER_OK;
}

ledger_err_t proto_tag_unpack(const void *data, size_t size, uint64_t *tag_out)
{
    assert(tag_out);
    if (size != PROTO_TAG_SIZE || !data)
        return LEDGER_E_DECODE;
    const uint8_t *p = data;
    uint64_t tag = 0;
    for (int i = 0; i < PROTO_TAG_SIZE; i++)
        tag = (tag << 8) | p[i];
    *tag_out = tag;
    return LEDGER_OK;
}

/* ---------------------------------------------------------------------------
   Value rules, shared by proto_validate (before encoding) and proto_decode
   (after reading the fields). Codes follow proto_decode's contract: a string
   that is not well formed (unterminated, not UTF-8, bad id) is
   LEDGER_E_DECODE; a well-formed value that breaks a rule is LEDGER_E_INVALID.
*/
typedef enum {
    STR_TEXT,  /* free text: valid UTF-8 */
    STR_IDENT, /* identifier: valid UTF-8 without control characters */
    STR_CODE,  /* machine-readable code: [a-z0-9_] */
    STR_KIND,  /* ledger entry kind: [a-z_] */
} str_kind_t;

static bool utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint32_t cp, min;
        if ((c & 0xe0) == 0xc0) {
            len = 2, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (len > n - i)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        /* overlong forms, surrogates and code points past Unicode are not UTF-8 */
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}

/* `cap` is the size of the field's buffer, terminator included. */
static ledger_err_t check_str(ctx_t *c, const char *field, const char *s, size_t cap, bool required,
                              str_kind_t kind)
{
    size_t n = strnlen(s, cap);
    if (n == cap)
        return fail(c, LEDGER_E_DECODE, field, "longer than %zu bytes", cap - 1);
    if (n == 0)
        return required ? fail(c, LEDGER_E_INVALID, field, "must not be empty") : LEDGER_OK;
    const unsigned char *u = (const unsigned char *)s;
    switch (kind) {
    case STR_TEXT:
    case STR_IDENT:
        if (!utf8_valid(u, n))
            return fail(c, LEDGER_E_DECODE, field, "is not valid UTF-8");
        if (kind == STR_IDENT)
            for (size_t i = 0; i < n; i++)
                if (u[i] < 0x20 || u[i] == 0x7f)
                    return fail(c, LEDGER_E_INVALID, field, "contains a control character");
        break;
    case STR_CODE:
    case STR_KIND:
        for (size_t i = 0; i < n; i++) {
            bool ok = (u[i] >= 'a' && u[i] <= 'z') || u[i] == '_' ||
                      (kind == STR_CODE && u[i] >= '0' && u[i] <= '9');
            if (!ok)
                return fail(c, LEDGER_E_INVALID, field, "must contain only %s",
                            kind == STR_CODE ? "[a-z0-9_]" : "[a-z_]");
        }
        break;
    }
    return LEDGER_OK;
}

static ledger_err_t check_currency(ctx_t *c, const char *field, const char *s)
{
    for (int i = 0; i < PROTO_CURRENCY_LEN; i++)
        if (s[i] < 'A' || s[i] > 'Z')
            return fail(c, LEDGER_E_INVALID, field, "must be 3 upper-case letters A-Z");
    if (s[PROTO_CURRENCY_LEN] != '\0')
        return fail(c, LEDGER_E_INVALID, field, "must be 3 upper-case letters A-Z");
    return LEDGER_OK;
}

/* A message id field: "" when `optional`, else "<origin>/<seq>". */
static ledger_err_t check_id(ctx_t *c, const char *field, const char *s, bool optional)
{
    size_t n = strnlen(s, PROTO_ID_MAX + 1);
    if (n > PROTO_ID_MAX)
        return fail(c, LEDGER_E_DECODE, field, "longer than %d bytes", PROTO_ID_MAX);
    if (n == 0 && optional)
        return LEDGER_OK;
    if (!id_parse(s, n, NULL, NULL))
        return fail(c, LEDGER_E_DECODE, field,
                    "not a message id \"<origin>/<seq>\" (origin [a-z0-9_-]{1,%d}, seq > 0)",
                    PROTO_NODE_MAX);
    return LEDGER_OK;
}

static bool is_saga_type(proto_type_t t)
{
    return t >= PROTO_TRANSFER_REQUESTED && t <= PROTO_TRANSFER_DECLINED;
}

#define CHECK(expr)                                                                                \
    do {                                                                                           \
        ledger_err_t check_err_ = (expr);                                                          \
        if (check_err_ != LEDGER_OK)                                                               \
            return check_err_;                                                                     \
    } while (0)

#define FIELD_STR(c, name, buf, req, kind) check_str((c), (name), (buf), sizeof(buf), (req), (kind))

/* Saga bodies carry the transfer id twice (corr and body.transfer): they must agree. */
static ledger_err_t check_transfer_id(ctx_t *c, const proto_msg_t *m,
                                      const char transfer[PROTO_TRANSFER_ID_MAX + 1])
{
    CHECK(check_str(c, "transfer", transfer, PROTO_TRANSFER_ID_MAX + 1, true, STR_IDENT));
    if (strcmp(transfer, m->corr) != 0)
        return fail(c, LEDGER_E_INVALID, "transfer", "must equal the envelope's corr");
    return LEDGER_OK;
}

static ledger_err_t check_transfer(ctx_t *c, const proto_msg_t *m)
{
    const proto_transfer_t *b = &m->body.transfer;
    CHECK(check_transfer_id(c, m, b->transfer));
    CHECK(FIELD_STR(c, "from", b->from, true, STR_IDENT));
    CHECK(FIELD_STR(c, "to", b->to, true, STR_IDENT));
    if (b->amount_minor <= 0)
        return fail(c, LEDGER_E_INVALID, "amount_minor", "must be > 0, got %" PRId64,
                    b->amount_minor);
    CHECK(check_currency(c, "currency", b->currency));
    CHECK(FIELD_STR(c, "reference", b->reference, false, STR_TEXT));
    return LEDGER_OK;
}

static ledger_err_t check_verdict(ctx_t *c, const proto_msg_t *m)
{
    const proto_verdict_t *b = &m->body.verdict;
    CHECK(check_transfer_id(c, m, b->transfer));
    if (b->rule_count > PROTO_RULES_MAX)
        return fail(c, LEDGER_E_INVALID, "rules", "more than %d rules", PROTO_RULES_MAX);
    for (uint32_t i = 0; i < b->rule_count; i++) {
        const char *scope = c->scope;
        c->scope = "body.rules";
        c->index = (long)i;
        ledger_err_t err = FIELD_STR(c, "", b->rules[i], true, STR_IDENT);
        c->scope = scope;
        c->index = -1;
        CHECK(err);
    }
    CHECK(FIELD_STR(c, "reason", b->reason, false, STR_TEXT));
    return LEDGER_OK;
}

static ledger_err_t check_declined(ctx_t *c, const proto_msg_t *m)
{
    const proto_declined_t *b = &m->body.declined;
    CHECK(check_transfer_id(c, m, b->transfer));
    CHECK(FIELD_STR(c, "code", b->code, true, STR_CODE));
    CHECK(FIELD_STR(c, "reason", b->reason, false, STR_TEXT));
    return LEDGER_OK;
}

static ledger_err_t check_reply(ctx_t *c, const proto_msg_t *m)
{
    const proto_reply_t *b = &m->body.reply;
    if (m->type == PROTO_ACK) {
        CHECK(check_id(c, "of", b->of, false));
        /* an ack carries only `of`: anything else would silently vanish on the wire */
        if (b->code[0] || b->reason[0])
            return fail(c, LEDGER_E_INVALID, b->code[0] ? "code" : "reason",
                        "not carried by an ack (use a nack)");
        return LEDGER_OK;
    }
    CHECK(check_id(c, "of", b->of, true));
    CHECK(FIELD_STR(c, "code", b->code, true, STR_CODE));
    CHECK(FIELD_STR(c, "reason", b->reason, false, STR_TEXT));
    return LEDGER_OK;
}

/* Which body keys each query op carries; see proto/README.md. */
enum {
    QK_OP = 1u << 0,
    QK_ACCOUNT = 1u << 1,
    QK_CURSOR = 1u << 2,
    QK_LIMIT = 1u << 3,
    QK_NAME = 1u << 4,
    QK_CURRENCY = 1u << 5,
    QK_AMOUNT = 1u << 6,
};

static const uint32_t op_keys[] = {
    [PROTO_QUERY_LIST] = QK_OP | QK_CURSOR | QK_LIMIT,
    [PROTO_QUERY_GET] = QK_OP | QK_ACCOUNT,
    [PROTO_QUERY_LEDGER] = QK_OP | QK_ACCOUNT | QK_CURSOR | QK_LIMIT,
    [PROTO_QUERY_OPEN] = QK_OP | QK_ACCOUNT | QK_NAME | QK_CURRENCY | QK_AMOUNT,
};

static ledger_err_t unused(ctx_t *c, const char *field, const char *op)
{
    return fail(c, LEDGER_E_INVALID, field, "not carried by op %s: must be empty/zero", op);
}

static ledger_err_t check_query(ctx_t *c, const proto_msg_t *m)
{
    const proto_query_t *b = &m->body.query;
    if ((unsigned)b->op == 0 || (unsigned)b->op >= OP_COUNT)
        return fail(c, LEDGER_E_INVALID, "op", "unknown query op %d", (int)b->op);
    const char *op = op_names[b->op];
    uint32_t keys = op_keys[b->op];

    if (keys & QK_ACCOUNT)
        CHECK(FIELD_STR(c, "account", b->account, true, STR_IDENT));
    else if (b->account[0] != '\0')
        return unused(c, "account", op);

    if (keys & QK_NAME)
        CHECK(FIELD_STR(c, "name", b->name, true, STR_TEXT));
    else if (b->name[0] != '\0')
        return unused(c, "name", op);

    if (keys & QK_CURRENCY)
        CHECK(check_currency(c, "currency", b->currency));
    else if (b->currency[0] != '\0')
        return unused(c, "currency", op);

    if (keys & QK_AMOUNT) {
        if (b->amount_minor < 0)
            return fail(c, LEDGER_E_INVALID, "amount_minor", "must be >= 0, got %" PRId64,
                        b->amount_minor);
    } else if (b->amount_minor != 0) {
        return unused(c, "amount_minor", op);
    }

    if (keys & QK_LIMIT) {
        if (b->limit < 1 || b->limit > PROTO_PAGE_MAX)
            return fail(c, LEDGER_E_INVALID, "limit", "must be 1..%d, got %" PRIu32, PROTO_PAGE_MAX,
                        b->limit);
    } else if (b->limit != 0) {
        return unused(c, "limit", op);
    }

    /* cursor: an account id (`after`) for list, a ledger seq (`cursor`) for ledger */
    if (b->op == PROTO_QUERY_LIST)
        CHECK(FIELD_STR(c, "cursor", b->after, false, STR_IDENT));
    else if (b->after[0] != '\0')
        return unused(c, "cursor (after)", op);
    if (b->op != PROTO_QUERY_LEDGER && b->cursor != 0)
        return unused(c, "cursor", op);
    return LEDGER_OK;
}

static ledger_err_t check_account(ctx_t *c, const proto_account_t *a)
{
    CHECK(FIELD_STR(c, "id", a->id, true, STR_IDENT));
    CHECK(FIELD_STR(c, "name", a->name, false, STR_TEXT));
    CHECK(check_currency(c, "currency", a->currency));
    return LEDGER_OK;
}

static ledger_err_t check_row(ctx_t *c, const proto_ledger_row_t *r)
{
    CHECK(FIELD_STR(c, "account", r->account, true, STR_IDENT));
    CHECK(FIELD_STR(c, "transfer", r->transfer, false, STR_IDENT));
    CHECK(FIELD_STR(c, "kind", r->kind, true, STR_KIND));
    return LEDGER_OK;
}

static ledger_err_t check_account_reply(ctx_t *c, const proto_msg_t *m)
{
    const proto_account_reply_t *b = &m->body.account_reply;
    if (b->status < REPLY_STATUS_MIN || b->status > REPLY_STATUS_MAX)
        return fail(c, LEDGER_E_INVALID, "status", "must be %d..%d, got %" PRIu32, REPLY_STATUS_MIN,
                    REPLY_STATUS_MAX, b->status);
    CHECK(FIELD_STR(c, "code", b->code, false, STR_CODE));
    CHECK(FIELD_STR(c, "reason", b->reason, false, STR_TEXT));
    if (b->account_count > PROTO_PAGE_MAX)
        return fail(c, LEDGER_E_INVALID, "accounts", "more than %d items", PROTO_PAGE_MAX);
    if (b->entry_count > PROTO_PAGE_MAX)
        return fail(c, LEDGER_E_INVALID, "entries", "more than %d items", PROTO_PAGE_MAX);
    if (b->account_count && !b->accounts)
        return fail(c, LEDGER_E_INVALID, "accounts", "count %" PRIu32 " with a NULL array",
                    b->account_count);
    if (b->entry_count && !b->entries)
        return fail(c, LEDGER_E_INVALID, "entries", "count %" PRIu32 " with a NULL array",
                    b->entry_count);
    ledger_err_t err = LEDGER_OK;
    const char *scope = c->scope;
    c->scope = "body.accounts";
    for (uint32_t i = 0; i < b->account_count && !err; i++) {
        c->index = (long)i;
        err = check_account(c, &b->accounts[i]);
    }
    c->scope = "body.entries";
    for (uint32_t i = 0; i < b->entry_count && !err; i++) {
        c->index = (long)i;
        err = check_row(c, &b->entries[i]);
    }
    c->scope = scope;
    c->index = -1;
    CHECK(err);
    CHECK(FIELD_STR(c, "next", b->next, false, STR_IDENT));
    return LEDGER_OK;
}

static ledger_err_t check_msg(ctx_t *c, const proto_msg_t *m)
{
    if (m->v != PROTO_VERSION)
        return fail(c, LEDGER_E_VERSION, "v",
                    "unsupported protocol version %" PRIu32 " (this build speaks %d)", m->v,
                    PROTO_VERSION);
    if (!proto_type_name(m->type))
        return fail(c, LEDGER_E_UNKNOWN_TYPE, "type", "unknown message type %d", (int)m->type);
    size_t origin_len = strnlen(m->origin, sizeof m->origin);
    if (!origin_valid(m->origin, origin_len))
        return fail(c, LEDGER_E_DECODE, "id", "origin must be [a-z0-9_-]{1,%d}", PROTO_NODE_MAX);
    if (m->seq == 0)
        return fail(c, LEDGER_E_DECODE, "id", "seq must be > 0");
    CHECK(FIELD_STR(c, "corr", m->corr, is_saga_type(m->type), STR_IDENT));
    CHECK(check_id(c, "cause", m->cause, true));
    if (m->ts_ms > PROTO_TS_MAX_MS)
        return fail(c, LEDGER_E_INVALID, "ts",
                    "ts must be a unix time in ms no later than %" PRIu64 " (year 9999)",
                    (uint64_t)PROTO_TS_MAX_MS);

    c->scope = "body";
    c->index = -1;
    ledger_err_t err;
    switch (m->type) {
    case PROTO_TRANSFER_REQUESTED:
    case PROTO_FUNDS_RESERVED:
    case PROTO_TRANSFER_SETTLED:
        err = check_transfer(c, m);
        break;
    case PROTO_FRAUD_APPROVED:
    case PROTO_FRAUD_REJECTED:
    case PROTO_TRANSFER_REJECTED_FRAUD:
        err = check_verdict(c, m);
        break;
    case PROTO_TRANSFER_DECLINED:
        err = check_declined(c, m);
        break;
    case PROTO_ACK:
    case PROTO_NACK:
        err = check_reply(c, m);
        break;
    case PROTO_ACCOUNT_QUERY:
        err = check_query(c, m);
        break;
    case PROTO_ACCOUNT_REPLY:
        err = check_account_reply(c, m);
        break;
    default:
        err = fail(c, LEDGER_E_UNKNOWN_TYPE, "type", "unknown message type %d", (int)m->type);
        break;
    }
    c->scope = "";
    return err;
}

ledger_err_t proto_validate(const proto_msg_t *msg, char *why, size_t why_size)
{
    assert(msg);
    say_nothing(why, why_size);
    ctx_t c = {why, why_size, "", -1};
    return check_msg(&c, msg) == LEDGER_OK ? LEDGER_OK : LEDGER_E_INVALID;
}

/* ---------------------------------------------------------------------------
   Encoding.
*/
typedef struct {
    char *data;
    size_t size;
    size_t alloc;
    ledger_err_t err;
} wbuf_t;

/* msgpack_packer callback: appends, growing by doubling, never past PROTO_FRAME_MAX. */
static int wbuf_write(void *data, const char *buf, size_t len)
{
    wbuf_t *w = data;
    if (w->err)
        return -1;
    if (len > PROTO_FRAME_MAX - w->size) {
        w->err = LEDGER_E_TOO_LARGE;
        return -1;
    }
    if (len > w->alloc - w->size) {
        size_t alloc = w->alloc ? w->alloc : ENCODE_INITIAL_BYTES;
        while (alloc < w->size + len)
            alloc *= 2;
        if (alloc > PROTO_FRAME_MAX)
            alloc = PROTO_FRAME_MAX;
        char *grown = realloc(w->data, alloc);
        if (!grown) {
            w->err = LEDGER_E_NOMEM;
            return -1;
        }
        w->data = grown;
        w->alloc = alloc;
    }
    memcpy(w->data + w->size, buf, len);
    w->size += len;
    return 0;
}

/* Each pack_* returns non-zero once a write failed; callers OR the results. */
static int pack_strn(msgpack_packer *pk, const char *s, size_t len)
{
    return msgpack_pack_str(pk, len) | msgpack_pack_str_body(pk, s, len);
}

static int pack_str(msgpack_packer *pk, const char *s)
{
    return pack_strn(pk, s, strlen(s));
}

#define PACK_KEY(pk, lit) pack_strn((pk), (lit), sizeof(lit) - 1)

static int pack_transfer(msgpack_packer *pk, const proto_transfer_t *b)
{
    int rc = msgpack_pack_map(pk, 6);
    rc |= PACK_KEY(pk, "transfer") | pack_str(pk, b->transfer);
    rc |= PACK_KEY(pk, "from") | pack_str(pk, b->from);
    rc |= PACK_KEY(pk, "to") | pack_str(pk, b->to);
    rc |= PACK_KEY(pk, "amount_minor") | msgpack_pack_int64(pk, b->amount_minor);
    rc |= PACK_KEY(pk, "currency") | pack_str(pk, b->currency);
    rc |= PACK_KEY(pk, "reference") | pack_str(pk, b->reference);
    return rc;
}

static int pack_verdict(msgpack_packer *pk, const proto_verdict_t *b)
{
    int rc = msgpack_pack_map(pk, 3);
    rc |= PACK_KEY(pk, "transfer") | pack_str(pk, b->transfer);
    rc |= PACK_KEY(pk, "rules") | msgpack_pack_array(pk, b->rule_count);
    for (uint32_t i = 0; i < b->rule_count; i++)
        rc |= pack_str(pk, b->rules[i]);
    rc |= PACK_KEY(pk, "reason") | pack_str(pk, b->reason);
    return rc;
}

static int pack_declined(msgpack_packer *pk, const proto_declined_t *b)
{
    int rc = msgpack_pack_map(pk, 3);
    rc |= PACK_KEY(pk, "transfer") | pack_str(pk, b->transfer);
    rc |= PACK_KEY(pk, "code") | pack_str(pk, b->code);
    rc |= PACK_KEY(pk, "reason") | pack_str(pk, b->reason);
    return rc;
}

static int pack_reply(msgpack_packer *pk, proto_type_t type, const proto_reply_t *b)
{
    if (type == PROTO_ACK)
        return msgpack_pack_map(pk, 1) | PACK_KEY(pk, "of") | pack_str(pk, b->of);
    int rc = msgpack_pack_map(pk, 3);
    rc |= PACK_KEY(pk, "of") | pack_str(pk, b->of);
    rc |= PACK_KEY(pk, "code") | pack_str(pk, b->code);
    rc |= PACK_KEY(pk, "reason") | pack_str(pk, b->reason);
    return rc;
}

static int pack_query(msgpack_packer *pk, const proto_query_t *b)
{
    uint32_t keys = op_keys[b->op];
    int rc = msgpack_pack_map(pk, (size_t)__builtin_popcount(keys));
    rc |= PACK_KEY(pk, "op") | pack_str(pk, op_names[b->op]);
    if (keys & QK_ACCOUNT)
        rc |= PACK_KEY(pk, "account") | pack_str(pk, b->account);
    if (keys & QK_CURSOR) {
        rc |= PACK_KEY(pk, "cursor");
        rc |=
            b->op == PROTO_QUERY_LIST ? pack_str(pk, b->after) : msgpack_pack_uint64(pk, b->cursor);
    }
    if (keys & QK_LIMIT)
        rc |= PACK_KEY(pk, "limit") | msgpack_pack_uint32(pk, b->limit);
    if (keys & QK_NAME)
        rc |= PACK_KEY(pk, "name") | pack_str(pk, b->name);
    if (keys & QK_CURRENCY)
        rc |= PACK_KEY(pk, "currency") | pack_str(pk, b->currency);
    if (keys & QK_AMOUNT)
        rc |= PACK_KEY(pk, "amount_minor") | msgpack_pack_int64(pk, b->amount_minor);
    return rc;
}

static int pack_account_reply(msgpack_packer *pk, const proto_account_reply_t *b)
{
    int rc = msgpack_pack_map(pk, 6);
    rc |= PACK_KEY(pk, "status") | msgpack_pack_uint32(pk, b->status);
    rc |= PACK_KEY(pk, "code") | pack_str(pk, b->code);
    rc |= PACK_KEY(pk, "reason") | pack_str(pk, b->reason);
    rc |= PACK_KEY(pk, "accounts") | msgpack_pack_array(pk, b->account_count);
    for (uint32_t i = 0; i < b->account_count && !rc; i++) {
        const proto_account_t *a = &b->accounts[i];
        rc |= msgpack_pack_map(pk, 6);
        rc |= PACK_KEY(pk, "id") | pack_str(pk, a->id);
        rc |= PACK_KEY(pk, "name") | pack_str(pk, a->name);
        rc |= PACK_KEY(pk, "currency") | pack_str(pk, a->currency);
        rc |= PACK_KEY(pk, "balance_minor") | msgpack_pack_int64(pk, a->balance_minor);
        rc |= PACK_KEY(pk, "held_minor") | msgpack_pack_int64(pk, a->held_minor);
        rc |= PACK_KEY(pk, "funding");
        rc |= a->funding ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
    }
    rc |= PACK_KEY(pk, "entries") | msgpack_pack_array(pk, b->entry_count);
    for (uint32_t i = 0; i < b->entry_count && !rc; i++) {
        const proto_ledger_row_t *r = &b->entries[i];
        rc |= msgpack_pack_map(pk, 8);
        rc |= PACK_KEY(pk, "seq") | msgpack_pack_uint64(pk, r->seq);
        rc |= PACK_KEY(pk, "account") | pack_str(pk, r->account);
        rc |= PACK_KEY(pk, "transfer") | pack_str(pk, r->transfer);
        rc |= PACK_KEY(pk, "kind") | pack_str(pk, r->kind);
        rc |= PACK_KEY(pk, "amount_minor") | msgpack_pack_int64(pk, r->amount_minor);
        rc |= PACK_KEY(pk, "balance_after_minor") | msgpack_pack_int64(pk, r->balance_after_minor);
        rc |= PACK_KEY(pk, "held_after_minor") | msgpack_pack_int64(pk, r->held_after_minor);
        rc |= PACK_KEY(pk, "ts_ms") | msgpack_pack_uint64(pk, r->ts_ms);
    }
    rc |= PACK_KEY(pk, "next") | pack_str(pk, b->next);
    return rc;
}

ledger_err_t proto_encode(const proto_msg_t *msg, void **data_out, size_t *size_out, char *why,
                          size_t why_size)
{
    assert(msg && data_out && size_out);
    ledger_err_t err = proto_validate(msg, why, why_size);
    if (err)
        return err;

    wbuf_t w = {0};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &w, wbuf_write);
    char id[PROTO_ID_MAX + 1];
    proto_msg_id(msg, id);

    int rc = msgpack_pack_map(&pk, 7);
    rc |= PACK_KEY(&pk, "v") | msgpack_pack_uint32(&pk, msg->v);
    rc |= PACK_KEY(&pk, "id") | pack_str(&pk, id);
    rc |= PACK_KEY(&pk, "type") | pack_str(&pk, type_names[msg->type]);
    rc |= PACK_KEY(&pk, "corr") | pack_str(&pk, msg->corr);
    rc |= PACK_KEY(&pk, "cause") | pack_str(&pk, msg->cause);
    rc |= PACK_KEY(&pk, "ts") | msgpack_pack_uint64(&pk, msg->ts_ms);
    rc |= PACK_KEY(&pk, "body");
    switch (msg->type) {
    case PROTO_TRANSFER_REQUESTED:
    case PROTO_FUNDS_RESERVED:
    case PROTO_TRANSFER_SETTLED:
        rc |= pack_transfer(&pk, &msg->body.transfer);
        break;
    case PROTO_FRAUD_APPROVED:
    case PROTO_FRAUD_REJECTED:
    case PROTO_TRANSFER_REJECTED_FRAUD:
        rc |= pack_verdict(&pk, &msg->body.verdict);
        break;
    case PROTO_TRANSFER_DECLINED:
        rc |= pack_declined(&pk, &msg->body.declined);
        break;
    case PROTO_ACK:
    case PROTO_NACK:
        rc |= pack_reply(&pk, msg->type, &msg->body.reply);
        break;
    case PROTO_ACCOUNT_QUERY:
        rc |= pack_query(&pk, &msg->body.query);
        break;
    case PROTO_ACCOUNT_REPLY:
        rc |= pack_account_reply(&pk, &msg->body.account_reply);
        break;
    default:
        assert(!"proto_validate let an unknown type through");
        break;
    }
    if (rc != 0 || w.err) {
        free(w.data);
        if (w.err == LEDGER_E_TOO_LARGE) {
            say(why, why_size, "encoded message exceeds PROTO_FRAME_MAX (%d bytes)",
                PROTO_FRAME_MAX);
            return LEDGER_E_TOO_LARGE;
        }
        say(why, why_size, "out of memory while encoding");
        return LEDGER_E_NOMEM;
    }
    *data_out = w.data;
    *size_out = w.size;
    return LEDGER_OK;
}

/* ---------------------------------------------------------------------------
   Decoding, step 2: the structural check (proto_frame_check).

   msgpack-c allocates an array's or map's elements as soon as it reads the
   count, before reading them: a 5-byte frame claiming 2^32 elements asks for
   ~100 GB. Its nesting limit is 32 and not configurable. So before handing
   the bytes to msgpack-c we walk them once, allocating nothing: every claimed
   element needs at least one byte of input (a map entry two), nesting may not
   pass PROTO_NEST_MAX, lengths may not run past the end, and exactly one
   object must fill the frame.
*/
ledger_err_t proto_frame_check(const void *data, size_t size, char *why, size_t why_size)
{
    if (size > PROTO_FRAME_MAX) {
        say(why, why_size, "frame of %zu bytes exceeds PROTO_FRAME_MAX (%d)", size,
            PROTO_FRAME_MAX);
        return LEDGER_E_TOO_LARGE;
    }
    if (size == 0 || !data) {
        say(why, why_size, "empty frame");
        return LEDGER_E_DECODE;
    }
    const uint8_t *p = data;
    uint64_t left[PROTO_NEST_MAX + 1]; /* items still to read at each open level */
    int top = 0;
    size_t pos = 0;
    left[0] = 1;

#define NEED(n)                                                                                    \
    do {                                                                                           \
        if ((uint64_t)(n) > size - pos) {                                                          \
            say(why, why_size, "truncated frame: needs %" PRIu64 " more bytes at offset %zu",      \
                (uint64_t)(n), pos);                                                               \
            return LEDGER_E_DECODE;                                                                \
        }                                                                                          \
    } while (0)

    while (top >= 0) {
        if (left[top] == 0) {
            top--;
            continue;
        }
        left[top]--;
        NEED(1);
        uint8_t b = p[pos++];
        uint64_t skip = 0;  /* payload bytes after the header */
        uint64_t count = 0; /* items of a container */
        int width = 0;      /* bytes of a big-endian length or count that follows */
        bool container = false, is_map = false;

        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
            skip = 0;
        } else if (b <= 0x8f) {
            container = is_map = true;
            count = b & 0x0f;
        } else if (b <= 0x9f) {
            container = true;
            count = b & 0x0f;
        } else if (b <= 0xbf) {
            skip = b & 0x1f;
        } else {
            /* clang-format off */
            switch (b) {
            case 0xc4: case 0xd9: width = 1; break;         /* bin8, str8 */
            case 0xc5: case 0xda: width = 2; break;         /* bin16, str16 */
            case 0xc6: case 0xdb: width = 4; break;         /* bin32, str32 */
            case 0xc7: width = 1, skip = 1; break;          /* ext8: + type byte */
            case 0xc8: width = 2, skip = 1; break;          /* ext16 */
            case 0xc9: width = 4, skip = 1; break;          /* ext32 */
            case 0xca: skip = 4; break;                     /* float32 */
            case 0xcb: skip = 8; break;                     /* float64 */
            case 0xcc: case 0xd0: skip = 1; break;          /* (u)int8 */
            case 0xcd: case 0xd1: skip = 2; break;          /* (u)int16 */
            case 0xce: case 0xd2: skip = 4; break;          /* (u)int32 */
            case 0xcf: case 0xd3: skip = 8; break;          /* (u)int64 */
            case 0xd4: skip = 2; break;                     /* fixext1 */
            case 0xd5: skip = 3; break;                     /* fixext2 */
            case 0xd6: skip = 5; break;                     /* fixext4 */
            case 0xd7: skip = 9; break;                     /* fixext8 */
            case 0xd8: skip = 17; break;                    /* fixext16 */
            case 0xdc: container = true, width = 2; break;  /* array16 */
            case 0xdd: container = true, width = 4; break;  /* array32 */
            case 0xde: container = is_map = true, width = 2; break; /* map16 */
            case 0xdf: container = is_map = true, width = 4; break; /* map32 */
            default: /* 0xc1 */
                say(why, why_size, "not msgpack: byte 0x%02x at offset %zu", b, pos - 1);
                return LEDGER_E_DECODE;
            }
            /* clang-format on */
        }
        if (width) {
            NEED(width);
            uint64_t n = 0;
            for (int i = 0; i < width; i++)
                n = (n << 8) | p[pos++];
            if (container)
                count = n;
            else
                skip += n;
        }
        if (!container) {
            NEED(skip);
            pos += (size_t)skip;
            continue;
        }
        if (top + 1 > PROTO_NEST_MAX) {
            say(why, why_size, "nesting deeper than %d levels at offset %zu", PROTO_NEST_MAX, pos);
            return LEDGER_E_DECODE;
        }
        uint64_t items = is_map ? count * 2 : count;
        if (items > size - pos) {
            say(why, why_size,
                "truncated frame: container claims %" PRIu64 " items, %zu bytes remain", count,
                size - pos);
            return LEDGER_E_DECODE;
        }
        left[++top] = items;
    }
#undef NEED
    if (pos != size) {
        say(why, why_size, "%zu trailing bytes after the envelope", size - pos);
        return LEDGER_E_DECODE;
    }
    return LEDGER_OK;
}

/* ---------------------------------------------------------------------------
   Decoding, step 4: reading the tree into a proto_msg_t.
*/
typedef struct {
    const char *name;
    uint32_t len;
} keyname_t;

#define KEY(s)                                                                                     \
    {                                                                                              \
        s, sizeof(s) - 1                                                                           \
    }

static const char *obj_type_name(msgpack_object_type t)
{
    switch (t) {
    case MSGPACK_OBJECT_NIL:
        return "nil";
    case MSGPACK_OBJECT_BOOLEAN:
        return "bool";
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return "uint";
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return "negative int";
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return "float";
    case MSGPACK_OBJECT_STR:
        return "str";
    case MSGPACK_OBJECT_ARRAY:
        return "array";
    case MSGPACK_OBJECT_MAP:
        return "map";
    case MSGPACK_OBJECT_BIN:
        return "bin";
    case MSGPACK_OBJECT_EXT:
        return "ext";
    }
    return "unknown";
}

/*  Files each value of `map` under its key's index in `keys` (at most 32).
    Unknown keys, duplicates and non-string keys are errors; which keys must
    be present is the caller's decision (*present_out, one bit per key). */
static ledger_err_t map_collect(ctx_t *c, const char *field, const msgpack_object *map,
                                const keyname_t *keys, unsigned nkeys, const msgpack_object **slots,
                                uint32_t *present_out)
{
    if (map->type != MSGPACK_OBJECT_MAP)
        return fail(c, LEDGER_E_DECODE, field, "must be a map, got %s", obj_type_name(map->type));
    uint32_t present = 0;
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object_kv *kv = &map->via.map.ptr[i];
        if (kv->key.type != MSGPACK_OBJECT_STR)
            return fail(c, LEDGER_E_DECODE, field, "has a key of type %s (keys are str)",
                        obj_type_name(kv->key.type));
        const char *k = kv->key.via.str.ptr;
        uint32_t klen = kv->key.via.str.size;
        unsigned j = 0;
        while (j < nkeys && !(keys[j].len == klen && memcmp(keys[j].name, k, klen) == 0))
            j++;
        if (j == nkeys) {
            char shown[REASON_KEY_MAX + 1];
            size_t n = klen < REASON_KEY_MAX ? klen : REASON_KEY_MAX;
            for (size_t q = 0; q < n; q++)
                shown[q] = (k[q] >= 0x20 && k[q] < 0x7f) ? k[q] : '?';
            shown[n] = '\0';
            return fail(c, LEDGER_E_DECODE, field, "unknown key \"%s\"", shown);
        }
        if (present & (1u << j))
            return fail(c, LEDGER_E_DECODE, field, "duplicate key \"%s\"", keys[j].name);
        present |= 1u << j;
        slots[j] = &kv->val;
    }
    *present_out = present;
    return LEDGER_OK;
}

/* Every key whose bit is in `required` must be present, and no other. */
static ledger_err_t require_keys(ctx_t *c, const keyname_t *keys, unsigned nkeys, uint32_t present,
                                 uint32_t required, const char *extra_why)
{
    for (unsigned j = 0; j < nkeys; j++) {
        uint32_t bit = 1u << j;
        if ((required & bit) && !(present & bit))
            return fail(c, LEDGER_E_DECODE, keys[j].name, "missing");
        if (!(required & bit) && (present & bit))
            return fail(c, LEDGER_E_DECODE, keys[j].name, "unexpected key%s", extra_why);
    }
    return LEDGER_OK;
}

static ledger_err_t get_str(ctx_t *c, const char *field, const msgpack_object *o, char *out,
                            size_t cap)
{
    if (o->type != MSGPACK_OBJECT_STR)
        return fail(c, LEDGER_E_DECODE, field, "must be a str, got %s", obj_type_name(o->type));
    uint32_t n = o->via.str.size;
    if (n > cap - 1)
        return fail(c, LEDGER_E_DECODE, field, "longer than %zu bytes (%" PRIu32 ")", cap - 1, n);
    if (n && memchr(o->via.str.ptr, '\0', n))
        return fail(c, LEDGER_E_DECODE, field, "contains a NUL byte");
    memcpy(out, o->via.str.ptr, n);
    out[n] = '\0';
    return LEDGER_OK;
}

#define GET_STR(c, field, o, buf) get_str((c), (field), (o), (buf), sizeof(buf))

static ledger_err_t get_uint(ctx_t *c, const char *field, const msgpack_object *o, uint64_t *out)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return fail(c, LEDGER_E_DECODE, field, "must be a uint, got %s", obj_type_name(o->type));
    *out = o->via.u64;
    return LEDGER_OK;
}

static ledger_err_t get_uint32(ctx_t *c, const char *field, const msgpack_object *o, uint32_t *out)
{
    uint64_t v = 0;
    CHECK(get_uint(c, field, o, &v));
    if (v > UINT32_MAX)
        return fail(c, LEDGER_E_INVALID, field, "must be <= %" PRIu32, UINT32_MAX);
    *out = (uint32_t)v;
    return LEDGER_OK;
}

static ledger_err_t get_int(ctx_t *c, const char *field, const msgpack_object *o, int64_t *out)
{
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *out = o->via.i64;
        return LEDGER_OK;
    }
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return fail(c, LEDGER_E_DECODE, field, "must be an int, got %s", obj_type_name(o->type));
    if (o->via.u64 > INT64_MAX)
        return fail(c, LEDGER_E_INVALID, field, "beyond int64");
    *out = (int64_t)o->via.u64;
    return LEDGER_OK;
}

static ledger_err_t get_bool(ctx_t *c, const char *field, const msgpack_object *o, bool *out)
{
    if (o->type != MSGPACK_OBJECT_BOOLEAN)
        return fail(c, LEDGER_E_DECODE, field, "must be a bool, got %s", obj_type_name(o->type));
    *out = o->via.boolean;
    return LEDGER_OK;
}

static ledger_err_t get_array(ctx_t *c, const char *field, const msgpack_object *o, uint32_t max,
                              uint32_t *count_out)
{
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return fail(c, LEDGER_E_DECODE, field, "must be an array, got %s", obj_type_name(o->type));
    if (o->via.array.size > max)
        return fail(c, LEDGER_E_DECODE, field, "more than %" PRIu32 " items (%" PRIu32 ")", max,
                    o->via.array.size);
    *count_out = o->via.array.size;
    return LEDGER_OK;
}

static const keyname_t transfer_keys[] = {KEY("transfer"),     KEY("from"),     KEY("to"),
                                          KEY("amount_minor"), KEY("currency"), KEY("reference")};

static ledger_err_t read_transfer(ctx_t *c, const msgpack_object *o, proto_transfer_t *b)
{
    const msgpack_object *s[6];
    uint32_t present;
    CHECK(map_collect(c, "body", o, transfer_keys, 6, s, &present));
    c->scope = "body";
    CHECK(require_keys(c, transfer_keys, 6, present, 0x3f, ""));
    CHECK(GET_STR(c, "transfer", s[0], b->transfer));
    CHECK(GET_STR(c, "from", s[1], b->from));
    CHECK(GET_STR(c, "to", s[2], b->to));
    CHECK(get_int(c, "amount_minor", s[3], &b->amount_minor));
    CHECK(GET_STR(c, "currency", s[4], b->currency));
    CHECK(GET_STR(c, "reference", s[5], b->reference));
    return LEDGER_OK;
}

static const keyname_t verdict_keys[] = {KEY("transfer"), KEY("rules"), KEY("reason")};

static ledger_err_t read_verdict(ctx_t *c, const msgpack_object *o, proto_verdict_t *b)
{
    const msgpack_object *s[3];
    uint32_t present;
    CHECK(map_collect(c, "body", o, verdict_keys, 3, s, &present));
    c->scope = "body";
    CHECK(require_keys(c, verdict_keys, 3, present, 0x7, ""));
    CHECK(GET_STR(c, "transfer", s[0], b->transfer));
    uint32_t n;
    CHECK(get_array(c, "rules", s[1], PROTO_RULES_MAX, &n));
    c->scope = "body.rules";
    for (uint32_t i = 0; i < n; i++) {
        c->index = (long)i;
        CHECK(GET_STR(c, "", &s[1]->via.array.ptr[i], b->rules[i]));
    }
    b->rule_count = n;
    c->scope = "body";
    c->index = -1;
    CHECK(GET_STR(c, "reason", s[2], b->reason));
    return LEDGER_OK;
}

static const keyname_t declined_keys[] = {KEY("transfer"), KEY("code"), KEY("reason")};

static ledger_err_t read_declined(ctx_t *c, const msgpack_object *o, proto_declined_t *b)
{
    const msgpack_object *s[3];
    uint32_t present;
    CHECK(map_collect(c, "body", o, declined_keys, 3, s, &present));
    c->scope = "body";
    CHECK(require_keys(c, declined_keys, 3, present, 0x7, ""));
    CHECK(GET_STR(c, "transfer", s[0], b->transfer));
    CHECK(GET_STR(c, "code", s[1], b->code));
    CHECK(GET_STR(c, "reason", s[2], b->reason));
    return LEDGER_OK;
}

static const keyname_t reply_keys[] = {KEY("of"), KEY("code"), KEY("reason")};

static ledger_err_t read_reply(ctx_t *c, const msgpack_object *o, proto_type_t type,
                               proto_reply_t *b)
{
    const msgpack_object *s[3];
    uint32_t present;
    CHECK(map_collect(c, "body", o, reply_keys, 3, s, &present));
    c->scope = "body";
    bool ack = type == PROTO_ACK;
    CHECK(require_keys(c, reply_keys, 3, present, ack ? 0x1 : 0x7, ack ? " in an ack" : ""));
    CHECK(GET_STR(c, "of", s[0], b->of));
    if (!ack) {
        CHECK(GET_STR(c, "code", s[1], b->code));
        CHECK(GET_STR(c, "reason", s[2], b->reason));
    }
    return LEDGER_OK;
}

/* Order matches the QK_* bits. */
static const keyname_t query_keys[] = {KEY("op"),          KEY("account"), KEY("cursor"),
                                       KEY("limit"),       KEY("name"),    KEY("currency"),
                                       KEY("amount_minor")};

static ledger_err_t read_query(ctx_t *c, const msgpack_object *o, proto_query_t *b)
{
    const msgpack_object *s[7];
    uint32_t present;
    CHECK(map_collect(c, "body", o, query_keys, 7, s, &present));
    c->scope = "body";
    if (!(present & QK_OP))
        return fail(c, LEDGER_E_DECODE, "op", "missing");
    if (s[0]->type != MSGPACK_OBJECT_STR)
        return fail(c, LEDGER_E_DECODE, "op", "must be a str, got %s", obj_type_name(s[0]->type));
    const char *op = s[0]->via.str.ptr;
    uint32_t op_len = s[0]->via.str.size;
    unsigned i = 1;
    while (i < OP_COUNT && !(strlen(op_names[i]) == op_len && memcmp(op, op_names[i], op_len) == 0))
        i++;
    if (i == OP_COUNT)
        return fail(c, LEDGER_E_INVALID, "op", "unknown query op (list, get, ledger, open)");
    b->op = (proto_query_op_t)i;
    char extra[32];
    snprintf(extra, sizeof extra, " for op %s", op_names[i]);
    CHECK(require_keys(c, query_keys, 7, present, op_keys[b->op], extra));
    if (present & QK_ACCOUNT)
        CHECK(GET_STR(c, "account", s[1], b->account));
    if (present & QK_CURSOR) {
        if (b->op == PROTO_QUERY_LIST)
            CHECK(GET_STR(c, "cursor", s[2], b->after));
        else
            CHECK(get_uint(c, "cursor", s[2], &b->cursor));
    }
    if (present & QK_LIMIT)
        CHECK(get_uint32(c, "limit", s[3], &b->limit));
    if (present & QK_NAME)
        CHECK(GET_STR(c, "name", s[4], b->name));
    if (present & QK_CURRENCY)
        CHECK(GET_STR(c, "currency", s[5], b->currency));
    if (present & QK_AMOUNT)
        CHECK(get_int(c, "amount_minor", s[6], &b->amount_minor));
    return LEDGER_OK;
}

static const keyname_t account_keys[] = {KEY("id"),         KEY("name"),
                                         KEY("currency"),   KEY("balance_minor"),
                                         KEY("held_minor"), KEY("funding")};

static ledger_err_t read_account(ctx_t *c, const msgpack_object *o, proto_account_t *a)
{
    const msgpack_object *s[6];
    uint32_t present;
    CHECK(map_collect(c, "", o, account_keys, 6, s, &present));
    CHECK(require_keys(c, account_keys, 6, present, 0x3f, ""));
    CHECK(GET_STR(c, "id", s[0], a->id));
    CHECK(GET_STR(c, "name", s[1], a->name));
    CHECK(GET_STR(c, "currency", s[2], a->currency));
    CHECK(get_int(c, "balance_minor", s[3], &a->balance_minor));
    CHECK(get_int(c, "held_minor", s[4], &a->held_minor));
    CHECK(get_bool(c, "funding", s[5], &a->funding));
    return LEDGER_OK;
}

static const keyname_t row_keys[] = {KEY("seq"),
                                     KEY("account"),
                                     KEY("transfer"),
                                     KEY("kind"),
                                     KEY("amount_minor"),
                                     KEY("balance_after_minor"),
                                     KEY("held_after_minor"),
                                     KEY("ts_ms")};

static ledger_err_t read_row(ctx_t *c, const msgpack_object *o, proto_ledger_row_t *r)
{
    const msgpack_object *s[8];
    uint32_t present;
    CHECK(map_collect(c, "", o, row_keys, 8, s, &present));
    CHECK(require_keys(c, row_keys, 8, present, 0xff, ""));
    CHECK(get_uint(c, "seq", s[0], &r->seq));
    CHECK(GET_STR(c, "account", s[1], r->account));
    CHECK(GET_STR(c, "transfer", s[2], r->transfer));
    CHECK(GET_STR(c, "kind", s[3], r->kind));
    CHECK(get_int(c, "amount_minor", s[4], &r->amount_minor));
    CHECK(get_int(c, "balance_after_minor", s[5], &r->balance_after_minor));
    CHECK(get_int(c, "held_after_minor", s[6], &r->held_after_minor));
    CHECK(get_uint(c, "ts_ms", s[7], &r->ts_ms));
    return LEDGER_OK;
}

static const keyname_t account_reply_keys[] = {KEY("status"),   KEY("code"),    KEY("reason"),
                                               KEY("accounts"), KEY("entries"), KEY("next")};

/* Arrays are attached to `b` as soon as allocated, so proto_msg_release frees them on error. */
static ledger_err_t read_account_reply(ctx_t *c, const msgpack_object *o, proto_account_reply_t *b)
{
    const msgpack_object *s[6];
    uint32_t present;
    CHECK(map_collect(c, "body", o, account_reply_keys, 6, s, &present));
    c->scope = "body";
    CHECK(require_keys(c, account_reply_keys, 6, present, 0x3f, ""));
    CHECK(get_uint32(c, "status", s[0], &b->status));
    CHECK(GET_STR(c, "code", s[1], b->code));
    CHECK(GET_STR(c, "reason", s[2], b->reason));
    uint32_t na, ne;
    CHECK(get_array(c, "accounts", s[3], PROTO_PAGE_MAX, &na));
    CHECK(get_array(c, "entries", s[4], PROTO_PAGE_MAX, &ne));
    CHECK(GET_STR(c, "next", s[5], b->next));
    if (na) {
        b->accounts = calloc(na, sizeof *b->accounts);
        if (!b->accounts)
            return fail(c, LEDGER_E_NOMEM, "accounts", "out of memory");
        b->account_count = na;
    }
    if (ne) {
        b->entries = calloc(ne, sizeof *b->entries);
        if (!b->entries)
            return fail(c, LEDGER_E_NOMEM, "entries", "out of memory");
        b->entry_count = ne;
    }
    c->scope = "body.accounts";
    for (uint32_t i = 0; i < na; i++) {
        c->index = (long)i;
        CHECK(read_account(c, &s[3]->via.array.ptr[i], &b->accounts[i]));
    }
    c->scope = "body.entries";
    for (uint32_t i = 0; i < ne; i++) {
        c->index = (long)i;
        CHECK(read_row(c, &s[4]->via.array.ptr[i], &b->entries[i]));
    }
    c->scope = "body";
    c->index = -1;
    return LEDGER_OK;
}

static const keyname_t envelope_keys[] = {KEY("v"),     KEY("id"), KEY("type"), KEY("corr"),
                                          KEY("cause"), KEY("ts"), KEY("body")};

static ledger_err_t read_envelope(ctx_t *c, const msgpack_object *root, proto_msg_t *m)
{
    if (root->type != MSGPACK_OBJECT_MAP)
        return fail(c, LEDGER_E_DECODE, "envelope", "must be a map, got %s",
                    obj_type_name(root->type));
    /* The version decides what the rest means: look at it before judging the rest,
       so that a newer peer gets "unknown version", not "unknown key". */
    for (uint32_t i = 0; i < root->via.map.size; i++) {
        const msgpack_object_kv *kv = &root->via.map.ptr[i];
        if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == 1 &&
            kv->key.via.str.ptr[0] == 'v' && kv->val.type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
            kv->val.via.u64 != PROTO_VERSION)
            return fail(c, LEDGER_E_VERSION, "v",
                        "unsupported protocol version %" PRIu64 " (this build speaks %d)",
                        kv->val.via.u64, PROTO_VERSION);
    }
    const msgpack_object *s[7];
    uint32_t present;
    CHECK(map_collect(c, "envelope", root, envelope_keys, 7, s, &present));
    CHECK(require_keys(c, envelope_keys, 7, present, 0x7f, ""));

    CHECK(get_uint32(c, "v", s[0], &m->v));
    char id[PROTO_ID_MAX + 1];
    CHECK(GET_STR(c, "id", s[1], id));
    if (!id_parse(id, strlen(id), m->origin, &m->seq))
        return fail(c, LEDGER_E_DECODE, "id",
                    "not a message id \"<origin>/<seq>\" (origin [a-z0-9_-]{1,%d}, seq > 0)",
                    PROTO_NODE_MAX);
    if (s[2]->type != MSGPACK_OBJECT_STR)
        return fail(c, LEDGER_E_DECODE, "type", "must be a str, got %s", obj_type_name(s[2]->type));
    if (proto_type_from_name(s[2]->via.str.ptr, s[2]->via.str.size, &m->type) != LEDGER_OK) {
        char shown[REASON_KEY_MAX + 1];
        size_t n = s[2]->via.str.size < REASON_KEY_MAX ? s[2]->via.str.size : REASON_KEY_MAX;
        for (size_t q = 0; q < n; q++) {
            char ch = s[2]->via.str.ptr[q];
            shown[q] = (ch >= 0x20 && ch < 0x7f) ? ch : '?';
        }
        shown[n] = '\0';
        return fail(c, LEDGER_E_UNKNOWN_TYPE, "type", "unknown message type \"%s\"", shown);
    }
    CHECK(GET_STR(c, "corr", s[3], m->corr));
    CHECK(GET_STR(c, "cause", s[4], m->cause));
    CHECK(get_uint(c, "ts", s[5], &m->ts_ms));

    switch (m->type) {
    case PROTO_TRANSFER_REQUESTED:
    case PROTO_FUNDS_RESERVED:
    case PROTO_TRANSFER_SETTLED:
        return read_transfer(c, s[6], &m->body.transfer);
    case PROTO_FRAUD_APPROVED:
    case PROTO_FRAUD_REJECTED:
    case PROTO_TRANSFER_REJECTED_FRAUD:
        return read_verdict(c, s[6], &m->body.verdict);
    case PROTO_TRANSFER_DECLINED:
        return read_declined(c, s[6], &m->body.declined);
    case PROTO_ACK:
    case PROTO_NACK:
        return read_reply(c, s[6], m->type, &m->body.reply);
    case PROTO_ACCOUNT_QUERY:
        return read_query(c, s[6], &m->body.query);
    case PROTO_ACCOUNT_REPLY:
        return read_account_reply(c, s[6], &m->body.account_reply);
    default:
        return fail(c, LEDGER_E_UNKNOWN_TYPE, "type", "unknown message type");
    }
}

ledger_err_t proto_decode(const void *data, size_t size, proto_msg_t *out, char *why,
                          size_t why_size)
{
    assert(out);
    memset(out, 0, sizeof *out);
    say_nothing(why, why_size);
    ledger_err_t err = proto_frame_check(data, size, why, why_size);
    if (err)
        return err;

    msgpack_unpacked unpacked;
    msgpack_unpacked_init(&unpacked);
    size_t off = 0;
    msgpack_unpack_return ret = msgpack_unpack_next(&unpacked, data, size, &off);
    ctx_t c = {why, why_size, "", -1};
    if (ret == MSGPACK_UNPACK_NOMEM_ERROR) {
        say(why, why_size, "out of memory while unpacking");
        err = LEDGER_E_NOMEM;
    } else if (ret != MSGPACK_UNPACK_SUCCESS || off != size) {
        /* proto_frame_check accepted it, so this is msgpack-c disagreeing: still refuse */
        say(why, why_size, "not a msgpack frame (unpack returned %d)", (int)ret);
        err = LEDGER_E_DECODE;
    } else {
        err = read_envelope(&c, &unpacked.data, out);
        if (!err)
            err = check_msg(&c, out);
    }
    msgpack_unpacked_destroy(&unpacked);
    if (err) {
        proto_msg_release(out);
        memset(out, 0, sizeof *out);
    }
    return err;
}

void proto_msg_release(proto_msg_t *msg)
{
    if (!msg || msg->type != PROTO_ACCOUNT_REPLY)
        return;
    proto_account_reply_t *b = &msg->body.account_reply;
    free(b->accounts);
    free(b->entries);
    b->accounts = NULL;
    b->entries = NULL;
    b->account_count = 0;
    b->entry_count = 0;
}

/* ---------------------------------------------------------------------------
   Equality of what the wire carries.
*/
#define STR_EQ(a, b) (strncmp((a), (b), sizeof(a)) == 0)

static bool transfer_equal(const proto_transfer_t *a, const proto_transfer_t *b)
{
    return STR_EQ(a->transfer, b->transfer) && STR_EQ(a->from, b->from) && STR_EQ(a->to, b->to) &&
           a->amount_minor == b->amount_minor && STR_EQ(a->currency, b->currency) &&
           STR_EQ(a->reference, b->reference);
}

static bool verdict_equal(const proto_verdict_t *a, const proto_verdict_t *b)
{
    if (!STR_EQ(a->transfer, b->transfer) || a->rule_count != b->rule_count ||
        !STR_EQ(a->reason, b->reason) || a->rule_count > PROTO_RULES_MAX)
        return false;
    for (uint32_t i = 0; i < a->rule_count; i++)
        if (!STR_EQ(a->rules[i], b->rules[i]))
            return false;
    return true;
}

static bool query_equal(const proto_query_t *a, const proto_query_t *b)
{
    return a->op == b->op && STR_EQ(a->account, b->account) && STR_EQ(a->name, b->name) &&
           STR_EQ(a->currency, b->currency) && a->amount_minor == b->amount_minor &&
           a->cursor == b->cursor && STR_EQ(a->after, b->after) && a->limit == b->limit;
}

static bool account_reply_equal(const proto_account_reply_t *a, const proto_account_reply_t *b)
{
    if (a->status != b->status || !STR_EQ(a->code, b->code) || !STR_EQ(a->reason, b->reason) ||
        a->account_count != b->account_count || a->entry_count != b->entry_count ||
        !STR_EQ(a->next, b->next))
        return false;
    for (uint32_t i = 0; i < a->account_count; i++) {
        const proto_account_t *x = &a->accounts[i], *y = &b->accounts[i];
        if (!STR_EQ(x->id, y->id) || !STR_EQ(x->name, y->name) ||
            !STR_EQ(x->currency, y->currency) || x->balance_minor != y->balance_minor ||
            x->held_minor != y->held_minor || x->funding != y->funding)
            return false;
    }
    for (uint32_t i = 0; i < a->entry_count; i++) {
        const proto_ledger_row_t *x = &a->entries[i], *y = &b->entries[i];
        if (x->seq != y->seq || !STR_EQ(x->account, y->account) ||
            !STR_EQ(x->transfer, y->transfer) || !STR_EQ(x->kind, y->kind) ||
            x->amount_minor != y->amount_minor ||
            x->balance_after_minor != y->balance_after_minor ||
            x->held_after_minor != y->held_after_minor || x->ts_ms != y->ts_ms)
            return false;
    }
    return true;
}

bool proto_msg_equal(const proto_msg_t *a, const proto_msg_t *b)
{
    assert(a && b);
    if (a->v != b->v || !STR_EQ(a->origin, b->origin) || a->seq != b->seq || a->type != b->type ||
        !STR_EQ(a->corr, b->corr) || !STR_EQ(a->cause, b->cause) || a->ts_ms != b->ts_ms)
        return false;
    switch (a->type) {
    case PROTO_TRANSFER_REQUESTED:
    case PROTO_FUNDS_RESERVED:
    case PROTO_TRANSFER_SETTLED:
        return transfer_equal(&a->body.transfer, &b->body.transfer);
    case PROTO_FRAUD_APPROVED:
    case PROTO_FRAUD_REJECTED:
    case PROTO_TRANSFER_REJECTED_FRAUD:
        return verdict_equal(&a->body.verdict, &b->body.verdict);
    case PROTO_TRANSFER_DECLINED:
        return STR_EQ(a->body.declined.transfer, b->body.declined.transfer) &&
               STR_EQ(a->body.declined.code, b->body.declined.code) &&
               STR_EQ(a->body.declined.reason, b->body.declined.reason);
    case PROTO_ACK:
        return STR_EQ(a->body.reply.of, b->body.reply.of);
    case PROTO_NACK:
        return STR_EQ(a->body.reply.of, b->body.reply.of) &&
               STR_EQ(a->body.reply.code, b->body.reply.code) &&
               STR_EQ(a->body.reply.reason, b->body.reply.reason);
    case PROTO_ACCOUNT_QUERY:
        return query_equal(&a->body.query, &b->body.query);
    case PROTO_ACCOUNT_REPLY:
        return account_reply_equal(&a->body.account_reply, &b->body.account_reply);
    default:
        return true;
    }
}

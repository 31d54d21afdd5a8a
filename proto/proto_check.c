/*  proto_check.c: the value rules of the wire protocol.

    proto_validate runs them on a struct before encoding; proto_decode runs the
    same function (proto_check_msg) after reading the fields, so an encoder can
    never produce what a decoder refuses. The account-id, currency and UTF-8
    rules are proto_rules.c's (proto.h); this file decides which field follows
    which rule, and which fields a message does not carry must stay empty.
*/
#include <assert.h>
#include <inttypes.h>
#include <string.h>

#include "proto.h"
#include "proto_internal.h"

/* HTTP-like status range accepted in account.reply. */
#define REPLY_STATUS_MIN 100
#define REPLY_STATUS_MAX 599
/* Bytes below this one, and DEL, are control characters (not in identifiers). */
#define ASCII_FIRST_PRINTABLE 0x20
#define ASCII_DEL 0x7f
/* Set in every byte of a multi-byte UTF-8 sequence, clear in ASCII. */
#define ASCII_HIGH_BIT 0x80

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

/* `cap` is the size of the field's buffer, terminator included. */
/* Text: valid UTF-8 (decoded only if a byte is not ASCII); an identifier
   also without control characters. */
static ledger_err_t check_text(proto_ctx_t *c, const char *field, const char *s, size_t n,
                               bool ident)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n && u[i] < ASCII_HIGH_BIT)
        i++;
    if (i < n && !proto_utf8_valid(s + i, n - i))
        return proto_reason_fail(c, LEDGER_E_DECODE, field, "is not valid UTF-8");
    if (!ident)
        return LEDGER_OK;
    for (i = 0; i < n; i++)
        if (u[i] < ASCII_FIRST_PRINTABLE || u[i] == ASCII_DEL)
            return proto_reason_fail(c, LEDGER_E_INVALID, field, "contains a control character");
    return LEDGER_OK;
}

/* A code ([a-z0-9_]) or a ledger entry kind ([a-z_]). */
static ledger_err_t check_code(proto_ctx_t *c, const char *field, const char *s, size_t n,
                               bool digits)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        bool ok = (ch >= 'a' && ch <= 'z') || ch == '_' || (digits && ch >= '0' && ch <= '9');
        if (!ok)
            return proto_reason_fail(c, LEDGER_E_INVALID, field, "must contain only %s",
                                     digits ? "[a-z0-9_]" : "[a-z_]");
    }
    return LEDGER_OK;
}

/* `cap` is the size of the field's buffer, terminator included. */
static ledger_err_t check_str(proto_ctx_t *c, const char *field, const char *s, size_t cap,
                              bool required, str_kind_t kind)
{
    size_t n = strnlen(s, cap);
    if (n == cap)
        return proto_reason_fail(c, LEDGER_E_DECODE, field, "longer than %zu bytes", cap - 1);
    if (n == 0)
        return required ? proto_reason_fail(c, LEDGER_E_INVALID, field, "must not be empty")
                        : LEDGER_OK;
    switch (kind) {
    case STR_TEXT:
        return check_text(c, field, s, n, false);
    case STR_IDENT:
        return check_text(c, field, s, n, true);
    case STR_CODE:
        return check_code(c, field, s, n, true);
    case STR_KIND:
        return check_code(c, field, s, n, false);
    }
    assert(!"check_str of an unknown kind");
    return LEDGER_E_INVALID;
}

static ledger_err_t check_currency(proto_ctx_t *c, const char *field, const char *s)
{
    if (!proto_currency_valid(s))
        return proto_reason_fail(c, LEDGER_E_INVALID, field, "must be 3 upper-case letters A-Z");
    return LEDGER_OK;
}

/* A message id field: "" when `optional`, else "<origin>/<seq>". */
static ledger_err_t check_id(proto_ctx_t *c, const char *field, const char *s, bool optional)
{
    size_t n = strnlen(s, PROTO_ID_MAX + 1);
    if (n > PROTO_ID_MAX)
        return proto_reason_fail(c, LEDGER_E_DECODE, field, "longer than %d bytes", PROTO_ID_MAX);
    if (n == 0 && optional)
        return LEDGER_OK;
    if (!proto_id_parse_n(s, n, NULL, NULL))
        return proto_reason_fail(
            c, LEDGER_E_DECODE, field,
            "not a message id \"<origin>/<seq>\" (origin [a-z0-9_-]{1,%d}, seq > 0)",
            PROTO_NODE_MAX);
    return LEDGER_OK;
}

#define FIELD_STR(c, name, buf, req, kind) check_str((c), (name), (buf), sizeof(buf), (req), (kind))

/* A principal id (the account-id rule, proto_account_id_valid); "" unless `required`. */
static ledger_err_t check_principal(proto_ctx_t *c, const char *field,
                                    const char s[PROTO_ACCOUNT_ID_MAX + 1], bool required)
{
    size_t n = strnlen(s, PROTO_ACCOUNT_ID_MAX + 1);
    if (n > PROTO_ACCOUNT_ID_MAX)
        return proto_reason_fail(c, LEDGER_E_DECODE, field, "longer than %d bytes",
                                 PROTO_ACCOUNT_ID_MAX);
    if (n == 0 && !required)
        return LEDGER_OK;
    if (!proto_account_id_valid(s, n))
        return proto_reason_fail(c, LEDGER_E_INVALID, field,
                                 "must be a principal id [a-z0-9_-]{1,%d}", PROTO_ACCOUNT_ID_MAX);
    return LEDGER_OK;
}

/* Saga bodies carry the transfer id twice (corr and body.transfer): they must agree. */
static ledger_err_t check_transfer_id(proto_ctx_t *c, const proto_msg_t *m,
                                      const char transfer[PROTO_TRANSFER_ID_MAX + 1])
{
    PROTO_CHECK(check_str(c, "transfer", transfer, PROTO_TRANSFER_ID_MAX + 1, true, STR_IDENT));
    if (strcmp(transfer, m->corr) != 0)
        return proto_reason_fail(c, LEDGER_E_INVALID, "transfer", "must equal the envelope's corr");
    return LEDGER_OK;
}

/* The keys of payments (issue 21): capture, expiry, captured amount, refund_of. */
static ledger_err_t check_transfer_payment(proto_ctx_t *c, const proto_msg_t *m)
{
    const proto_transfer_t *b = &m->body.transfer;
    if (!proto_capture_name(b->capture))
        return proto_reason_fail(c, LEDGER_E_INVALID, "capture", "unknown capture mode %d",
                                 (int)b->capture);
    bool manual = b->capture == PROTO_CAPTURE_MANUAL;
    if (manual != (b->expires_at_ms > 0))
        return proto_reason_fail(c, LEDGER_E_INVALID, "expires_at_ms",
                                 manual ? "must be > 0 for a manual capture"
                                        : "must be 0 unless the capture is manual");
    if (b->expires_at_ms > PROTO_TS_MAX_MS)
        return proto_reason_fail(c, LEDGER_E_INVALID, "expires_at_ms",
                                 "must be a unix time in ms no later than %" PRIu64,
                                 (uint64_t)PROTO_TS_MAX_MS);
    if (m->type == PROTO_TRANSFER_AUTHORIZED && !manual)
        return proto_reason_fail(c, LEDGER_E_INVALID, "capture",
                                 "must be manual in transfer.authorized");
    if (b->captured_minor < 0 || b->captured_minor > b->amount_minor)
        return proto_reason_fail(c, LEDGER_E_INVALID, "captured_minor",
                                 "must be 0..amount_minor (%" PRId64 "), got %" PRId64,
                                 b->amount_minor, b->captured_minor);
    bool refund = b->kind == PROTO_TRANSFER_KIND_REFUND;
    PROTO_CHECK(FIELD_STR(c, "refund_of", b->refund_of, refund, STR_IDENT));
    if (!refund && b->refund_of[0] != '\0')
        return proto_reason_fail(c, LEDGER_E_INVALID, "refund_of",
                                 "must be empty unless the kind is refund");
    /* only a transfer is authorised and captured: a refund, deposit or withdrawal settles at
       once (a voided or expired refund would never give its amount back to its original) */
    if (manual && b->kind != PROTO_TRANSFER_KIND_TRANSFER)
        return proto_reason_fail(c, LEDGER_E_INVALID, "capture",
                                 "must be auto unless the kind is transfer");
    return LEDGER_OK;
}

static ledger_err_t check_transfer(proto_ctx_t *c, const proto_msg_t *m)
{
    const proto_transfer_t *b = &m->body.transfer;
    PROTO_CHECK(check_transfer_id(c, m, b->transfer));
    PROTO_CHECK(FIELD_STR(c, "from", b->from, true, STR_IDENT));
    PROTO_CHECK(FIELD_STR(c, "to", b->to, true, STR_IDENT));
    if (b->amount_minor <= 0)
        return proto_reason_fail(c, LEDGER_E_INVALID, "amount_minor", "must be > 0, got %" PRId64,
                                 b->amount_minor);
    PROTO_CHECK(check_currency(c, "currency", b->currency));
    PROTO_CHECK(FIELD_STR(c, "reference", b->reference, false, STR_TEXT));
    /* "" only in a body from before principals: the accounts node declines it */
    PROTO_CHECK(check_principal(c, "principal", b->principal, false));
    if (!proto_transfer_kind_name(b->kind))
        return proto_reason_fail(c, LEDGER_E_INVALID, "kind", "unknown transfer kind %d",
                                 (int)b->kind);
    return check_transfer_payment(c, m);
}

/* transfer.capture (amount_minor > 0) and transfer.void (no amount). */
static ledger_err_t check_action(proto_ctx_t *c, const proto_msg_t *m)
{
    const proto_action_t *b = &m->body.action;
    PROTO_CHECK(check_transfer_id(c, m, b->transfer));
    if (m->type == PROTO_TRANSFER_CAPTURE && b->amount_minor <= 0)
        return proto_reason_fail(c, LEDGER_E_INVALID, "amount_minor", "must be > 0, got %" PRId64,
                                 b->amount_minor);
    if (m->type == PROTO_TRANSFER_VOID && b->amount_minor != 0)
        return proto_reason_fail(c, LEDGER_E_INVALID, "amount_minor",
                                 "not carried by transfer.void: must be 0");
    return check_principal(c, "principal", b->principal, true);
}

static ledger_err_t check_verdict(proto_ctx_t *c, const proto_msg_t *m)
{
    const proto_verdict_t *b = &m->body.verdict;
    PROTO_CHECK(check_transfer_id(c, m, b->transfer));
    if (b->rule_count > PROTO_RULES_MAX)
        return proto_reason_fail(c, LEDGER_E_INVALID, "rules", "more than %d rules",
                                 PROTO_RULES_MAX);
    for (uint32_t i = 0; i < b->rule_count; i++) {
        const char *scope = c->scope;
        c->scope = "body.rules";
        c->index = (long)i;
        ledger_err_t err = FIELD_STR(c, "", b->rules[i], true, STR_IDENT);
        c->scope = scope;
        c->index = -1;
        PROTO_CHECK(err);
    }
    PROTO_CHECK(FIELD_STR(c, "reason", b->reason, false, STR_TEXT));
    return LEDGER_OK;
}

static ledger_err_t check_declined(proto_ctx_t *c, const proto_msg_t *m)
{
    const proto_declined_t *b = &m->body.declined;
    PROTO_CHECK(check_transfer_id(c, m, b->transfer));
    PROTO_CHECK(FIELD_STR(c, "code", b->code, true, STR_CODE));
    /* voided and expired say what happened in their type: the code repeats it */
    const char *code = m->type == PROTO_TRANSFER_VOIDED    ? PROTO_CODE_VOIDED
                       : m->type == PROTO_TRANSFER_EXPIRED ? PROTO_CODE_EXPIRED
                                                           : NULL;
    if (code && strcmp(b->code, code) != 0)
        return proto_reason_fail(c, LEDGER_E_INVALID, "code", "must be \"%s\" in %s", code,
                                 proto_type_name(m->type));
    PROTO_CHECK(FIELD_STR(c, "reason", b->reason, false, STR_TEXT));
    return LEDGER_OK;
}

static ledger_err_t check_reply(proto_ctx_t *c, const proto_msg_t *m)
{
    const proto_reply_t *b = &m->body.reply;
    if (m->type == PROTO_ACK) {
        PROTO_CHECK(check_id(c, "of", b->of, false));
        /* an ack carries only `of`: anything else would silently vanish on the wire */
        if (b->code[0] || b->reason[0])
            return proto_reason_fail(c, LEDGER_E_INVALID, b->code[0] ? "code" : "reason",
                                     "not carried by an ack (use a nack)");
        return LEDGER_OK;
    }
    PROTO_CHECK(check_id(c, "of", b->of, true));
    PROTO_CHECK(FIELD_STR(c, "code", b->code, true, STR_CODE));
    PROTO_CHECK(FIELD_STR(c, "reason", b->reason, false, STR_TEXT));
    return LEDGER_OK;
}

/* True if a query of `op` carries the key in `slot` of proto_query_table. */
static bool query_carries(proto_query_op_t op, unsigned slot)
{
    return (proto_fields_carried(&proto_query_table, (unsigned)op) & (1u << slot)) != 0;
}

static bool bytes_zero(const unsigned char *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (v[i])
            return false;
    return true;
}

static ledger_err_t unused(proto_ctx_t *c, const char *field, const char *op)
{
    return proto_reason_fail(c, LEDGER_E_INVALID, field, "not carried by op %s: must be empty/zero",
                             op);
}

/* Every plain key `op` does not carry must be empty (a str) or zero: anything else would
   silently vanish on the wire. The cursor, an OWN key, is checked by check_query. */
static ledger_err_t check_query_unused(proto_ctx_t *c, const proto_query_t *b, const char *op)
{
    uint32_t carried = proto_fields_carried(&proto_query_table, (unsigned)b->op);
    for (unsigned i = 0; i < proto_query_table.count; i++) {
        const proto_field_t *f = &proto_query_table.fields[i];
        if (f->kind == PROTO_FIELD_OWN || (carried & (1u << i)))
            continue;
        const unsigned char *v = (const unsigned char *)b + f->offset;
        bool zero = f->kind == PROTO_FIELD_STR ? v[0] == '\0' : bytes_zero(v, f->size);
        if (!zero)
            return unused(c, f->name, op);
    }
    return LEDGER_OK;
}

/* The values of the keys of list, get, ledger and open. */
static ledger_err_t check_query_account_keys(proto_ctx_t *c, const proto_query_t *b)
{
    if (query_carries(b->op, PROTO_QUERY_KEY_ACCOUNT))
        PROTO_CHECK(FIELD_STR(c, "account", b->account, true, STR_IDENT));
    if (query_carries(b->op, PROTO_QUERY_KEY_NAME))
        PROTO_CHECK(FIELD_STR(c, "name", b->name, true, STR_TEXT));
    if (query_carries(b->op, PROTO_QUERY_KEY_CURRENCY))
        PROTO_CHECK(check_currency(c, "currency", b->currency));
    if (query_carries(b->op, PROTO_QUERY_KEY_OWNER))
        PROTO_CHECK(check_principal(c, "owner", b->owner, true));
    if (query_carries(b->op, PROTO_QUERY_KEY_AMOUNT_MINOR) && b->amount_minor < 0)
        return proto_reason_fail(c, LEDGER_E_INVALID, "amount_minor", "must be >= 0, got %" PRId64,
                                 b->amount_minor);
    if (query_carries(b->op, PROTO_QUERY_KEY_LIMIT) && (b->limit < 1 || b->limit > PROTO_PAGE_MAX))
        return proto_reason_fail(c, LEDGER_E_INVALID, "limit", "must be 1..%d, got %" PRIu32,
                                 PROTO_PAGE_MAX, b->limit);
    return LEDGER_OK;
}

/* The values of the keys of update, balance_at and statement. */
static ledger_err_t check_query_control_keys(proto_ctx_t *c, const proto_query_t *b)
{
    if (query_carries(b->op, PROTO_QUERY_KEY_PRINCIPAL))
        PROTO_CHECK(check_principal(c, "principal", b->principal, true));
    if (query_carries(b->op, PROTO_QUERY_KEY_STATUS)) {
        PROTO_CHECK(FIELD_STR(c, "status", b->status, false, STR_CODE));
        if (b->status[0] && !proto_account_status_valid(b->status))
            return proto_reason_fail(c, LEDGER_E_INVALID, "status",
                                     "must be \"\" (unchanged), active, frozen or closed");
    }
    int64_t od = b->overdraft_limit_minor;
    if (query_carries(b->op, PROTO_QUERY_KEY_OVERDRAFT_LIMIT_MINOR) && od != -1 &&
        (od < 0 || od > PROTO_OVERDRAFT_MAX_MINOR))
        return proto_reason_fail(c, LEDGER_E_INVALID, "overdraft_limit_minor",
                                 "must be -1 (unchanged) or 0..%lld, got %" PRId64,
                                 PROTO_OVERDRAFT_MAX_MINOR, od);
    if (b->at_ms > PROTO_TS_MAX_MS || b->to_ms > PROTO_TS_MAX_MS)
        return proto_reason_fail(
            c, LEDGER_E_INVALID, b->at_ms > PROTO_TS_MAX_MS ? "at_ms" : "to_ms",
            "must be a unix time in ms no later than %" PRIu64, (uint64_t)PROTO_TS_MAX_MS);
    if (query_carries(b->op, PROTO_QUERY_KEY_FROM_MS) && b->from_ms >= b->to_ms)
        return proto_reason_fail(c, LEDGER_E_INVALID, "from_ms",
                                 "must be < to_ms (%" PRIu64 "), got %" PRIu64, b->to_ms,
                                 b->from_ms);
    return LEDGER_OK;
}

static ledger_err_t check_query(proto_ctx_t *c, const proto_msg_t *m)
{
    const proto_query_t *b = &m->body.query;
    const char *op = proto_query_op_name(b->op);
    if (!op)
        return proto_reason_fail(c, LEDGER_E_INVALID, "op", "unknown query op %d", (int)b->op);
    PROTO_CHECK(check_query_unused(c, b, op));
    PROTO_CHECK(check_query_account_keys(c, b));
    PROTO_CHECK(check_query_control_keys(c, b));
    /* cursor: an id (`after`) for list and holds, a ledger seq (`cursor`) for ledger and
       statement */
    bool by_id = b->op == PROTO_QUERY_LIST || b->op == PROTO_QUERY_HOLDS;
    bool by_seq = b->op == PROTO_QUERY_LEDGER || b->op == PROTO_QUERY_STATEMENT;
    if (by_id)
        PROTO_CHECK(FIELD_STR(c, "cursor", b->after, false, STR_IDENT));
    else if (b->after[0] != '\0')
        return unused(c, "cursor (after)", op);
    if (!by_seq && b->cursor != 0)
        return unused(c, "cursor", op);
    return LEDGER_OK;
}

static ledger_err_t check_account(proto_ctx_t *c, const proto_account_t *a)
{
    PROTO_CHECK(FIELD_STR(c, "id", a->id, true, STR_IDENT));
    PROTO_CHECK(FIELD_STR(c, "name", a->name, false, STR_TEXT));
    PROTO_CHECK(check_currency(c, "currency", a->currency));
    PROTO_CHECK(check_principal(c, "owner", a->owner, false));
    /* "" is an account from before statuses: written as "active" */
    if (a->status[0] != '\0' && !proto_account_status_valid(a->status))
        return proto_reason_fail(c, LEDGER_E_INVALID, "status", "must be active, frozen or closed");
    if (a->overdraft_limit_minor < 0)
        return proto_reason_fail(c, LEDGER_E_INVALID, "overdraft_limit_minor",
                                 "must be >= 0, got %" PRId64, a->overdraft_limit_minor);
    return LEDGER_OK;
}

static ledger_err_t check_row(proto_ctx_t *c, const proto_ledger_row_t *r)
{
    PROTO_CHECK(FIELD_STR(c, "account", r->account, true, STR_IDENT));
    PROTO_CHECK(FIELD_STR(c, "transfer", r->transfer, false, STR_IDENT));
    PROTO_CHECK(FIELD_STR(c, "kind", r->kind, true, STR_KIND));
    PROTO_CHECK(FIELD_STR(c, "memo", r->memo, false, STR_TEXT));
    return LEDGER_OK;
}

static ledger_err_t check_hold(proto_ctx_t *c, const proto_hold_t *h)
{
    PROTO_CHECK(FIELD_STR(c, "transfer", h->transfer, true, STR_IDENT));
    if (h->amount_minor <= 0)
        return proto_reason_fail(c, LEDGER_E_INVALID, "amount_minor", "must be > 0, got %" PRId64,
                                 h->amount_minor);
    if (!proto_transfer_kind_name(h->kind))
        return proto_reason_fail(c, LEDGER_E_INVALID, "kind", "unknown transfer kind %d",
                                 (int)h->kind);
    if (!proto_capture_name(h->capture))
        return proto_reason_fail(c, LEDGER_E_INVALID, "capture", "unknown capture mode %d",
                                 (int)h->capture);
    if (h->created_ms > PROTO_TS_MAX_MS || h->expires_at_ms > PROTO_TS_MAX_MS)
        return proto_reason_fail(
            c, LEDGER_E_INVALID, h->created_ms > PROTO_TS_MAX_MS ? "created_ms" : "expires_at_ms",
            "must be a unix time in ms no later than %" PRIu64, (uint64_t)PROTO_TS_MAX_MS);
    return LEDGER_OK;
}

/* An array of a reply: at most PROTO_PAGE_MAX items, and an array behind a count. */
static ledger_err_t check_items_shape(proto_ctx_t *c, const char *field, uint32_t count,
                                      const void *items)
{
    if (count > PROTO_PAGE_MAX)
        return proto_reason_fail(c, LEDGER_E_INVALID, field, "more than %d items", PROTO_PAGE_MAX);
    if (count && !items)
        return proto_reason_fail(c, LEDGER_E_INVALID, field, "count %" PRIu32 " with a NULL array",
                                 count);
    return LEDGER_OK;
}

/* Each item of the reply's arrays, in scope "body.<array>" with its index. */
static ledger_err_t check_reply_items(proto_ctx_t *c, const proto_account_reply_t *b)
{
    ledger_err_t err = LEDGER_OK;
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
    c->scope = "body.holds";
    for (uint32_t i = 0; i < b->hold_count && !err; i++) {
        c->index = (long)i;
        err = check_hold(c, &b->holds[i]);
    }
    c->scope = "body";
    c->index = -1;
    return err;
}

static ledger_err_t check_account_reply(proto_ctx_t *c, const proto_msg_t *m)
{
    const proto_account_reply_t *b = &m->body.account_reply;
    if (b->status < REPLY_STATUS_MIN || b->status > REPLY_STATUS_MAX)
        return proto_reason_fail(c, LEDGER_E_INVALID, "status", "must be %d..%d, got %" PRIu32,
                                 REPLY_STATUS_MIN, REPLY_STATUS_MAX, b->status);
    PROTO_CHECK(FIELD_STR(c, "code", b->code, false, STR_CODE));
    PROTO_CHECK(FIELD_STR(c, "reason", b->reason, false, STR_TEXT));
    PROTO_CHECK(check_items_shape(c, "accounts", b->account_count, b->accounts));
    PROTO_CHECK(check_items_shape(c, "entries", b->entry_count, b->entries));
    PROTO_CHECK(check_items_shape(c, "holds", b->hold_count, b->holds));
    PROTO_CHECK(check_reply_items(c, b));
    PROTO_CHECK(FIELD_STR(c, "next", b->next, false, STR_IDENT));
    return LEDGER_OK;
}

/* The envelope's rules: version, type, id, corr, cause and ts. */
static ledger_err_t check_envelope(proto_ctx_t *c, const proto_msg_t *m)
{
    if (m->v != PROTO_VERSION)
        return proto_reason_fail(c, LEDGER_E_VERSION, "v",
                                 "unsupported protocol version %" PRIu32 " (this build speaks %d)",
                                 m->v, PROTO_VERSION);
    if (!proto_type_name(m->type))
        return proto_reason_fail(c, LEDGER_E_UNKNOWN_TYPE, "type", "unknown message type %d",
                                 (int)m->type);
    size_t origin_len = strnlen(m->origin, sizeof m->origin);
    if (!proto_node_name_valid(m->origin, origin_len))
        return proto_reason_fail(c, LEDGER_E_DECODE, "id", "origin must be [a-z0-9_-]{1,%d}",
                                 PROTO_NODE_MAX);
    if (m->seq == 0)
        return proto_reason_fail(c, LEDGER_E_DECODE, "id", "seq must be > 0");
    PROTO_CHECK(FIELD_STR(c, "corr", m->corr, proto_type_is_saga(m->type), STR_IDENT));
    PROTO_CHECK(check_id(c, "cause", m->cause, true));
    if (m->ts_ms > PROTO_TS_MAX_MS)
        return proto_reason_fail(c, LEDGER_E_INVALID, "ts",
                                 "ts must be a unix time in ms no later than %" PRIu64
                                 " (year 9999)",
                                 (uint64_t)PROTO_TS_MAX_MS);
    return LEDGER_OK;
}

/* The body's rules, by type; `c` is in scope "body". */
static ledger_err_t check_body(proto_ctx_t *c, const proto_msg_t *m)
{
    switch (m->type) {
    case PROTO_TRANSFER_REQUESTED:
    case PROTO_FUNDS_RESERVED:
    case PROTO_TRANSFER_SETTLED:
    case PROTO_TRANSFER_AUTHORIZED:
        return check_transfer(c, m);
    case PROTO_TRANSFER_CAPTURE:
    case PROTO_TRANSFER_VOID:
        return check_action(c, m);
    case PROTO_FRAUD_APPROVED:
    case PROTO_FRAUD_REJECTED:
    case PROTO_TRANSFER_REJECTED_FRAUD:
        return check_verdict(c, m);
    case PROTO_TRANSFER_DECLINED:
    case PROTO_TRANSFER_VOIDED:
    case PROTO_TRANSFER_EXPIRED:
        return check_declined(c, m);
    case PROTO_ACK:
    case PROTO_NACK:
        return check_reply(c, m);
    case PROTO_ACCOUNT_QUERY:
        return check_query(c, m);
    case PROTO_ACCOUNT_REPLY:
        return check_account_reply(c, m);
    default:
        return proto_reason_fail(c, LEDGER_E_UNKNOWN_TYPE, "type", "unknown message type %d",
                                 (int)m->type);
    }
}

ledger_err_t proto_check_msg(proto_ctx_t *c, const proto_msg_t *m)
{
    assert(c && m);
    PROTO_CHECK(check_envelope(c, m));
    c->scope = "body";
    c->index = -1;
    ledger_err_t err = check_body(c, m);
    c->scope = "";
    return err;
}

ledger_err_t proto_validate(const proto_msg_t *msg, char *why, size_t why_size)
{
    assert(msg);
    proto_reason_clear(why, why_size);
    proto_ctx_t c = {why, why_size, "", -1};
    return proto_check_msg(&c, msg) == LEDGER_OK ? LEDGER_OK : LEDGER_E_INVALID;
}

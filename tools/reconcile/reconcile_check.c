/*  reconcile_check.c: the three transfer tables walked side by side, each
    transfer classified, and the accounts node's ledger and holds checked
    (reconcile_check.h). */
#include "reconcile_check.h"

#include <stdlib.h>
#include <string.h>

#include "accounts_verify.h"
#include "reconcile_holds.h"
#include "text.h"

#define CHECK_PROBLEM_MAX 96
#define CHECK_LINE_MAX 640
#define FNV_OFFSET 1469598103934665603ull
#define FNV_PRIME 1099511628211ull

static bool is_final(reconcile_outcome_t o)
{
    return o == RECONCILE_SETTLED || o == RECONCILE_REJECTED || o == RECONCILE_DECLINED ||
           o == RECONCILE_VOIDED || o == RECONCILE_EXPIRED || o == RECONCILE_TIMED_OUT;
}

/* An outcome that needs fraud's approval first (an authorisation and its ends). */
static bool approved_outcome(reconcile_outcome_t o)
{
    return o == RECONCILE_SETTLED || o == RECONCILE_AUTHORIZED || o == RECONCILE_VOIDED ||
           o == RECONCILE_EXPIRED;
}

/*  Whether fraud's verdict `f` (SETTLED: approved, REJECTED) fits the outcome `o` of
    the gateway or the accounts node: an approval leads to settled, authorized, voided or
    expired, a rejection to rejected; a timed-out transfer takes any late verdict. */
static bool verdict_fits(reconcile_outcome_t f, reconcile_outcome_t o)
{
    if (o == RECONCILE_TIMED_OUT || o == RECONCILE_OPEN || o == RECONCILE_ABSENT)
        return true;
    return f == RECONCILE_SETTLED ? approved_outcome(o) : o == f;
}

/* The contradictions that no message in flight can resolve; NULL if none. */
static const char *hard_problem(reconcile_outcome_t g, reconcile_outcome_t a, reconcile_outcome_t f,
                                bool pruned_ok)
{
    bool g_known = g != RECONCILE_ABSENT || pruned_ok;
    bool a_known = a != RECONCILE_ABSENT || pruned_ok;
    bool f_known = f != RECONCILE_ABSENT || pruned_ok;
    if (!g_known)
        return "unknown_at_gateway";
    if (is_final(g) && is_final(a) && g != a)
        return "final_states_differ";
    if (is_final(g) && (a == RECONCILE_OPEN || a == RECONCILE_AUTHORIZED))
        return "held_for_final_transfer";
    if (is_final(g) && !a_known)
        return "final_at_gateway_unknown_at_accounts";
    if (f != RECONCILE_ABSENT && !a_known)
        return "verdict_without_saga_at_accounts";
    if (f != RECONCILE_ABSENT && (!verdict_fits(f, a) || !verdict_fits(f, g)))
        return "verdict_does_not_match";
    bool needs_verdict = approved_outcome(a) || a == RECONCILE_REJECTED || approved_outcome(g) ||
                         g == RECONCILE_REJECTED;
    if (needs_verdict && !f_known)
        return "final_without_verdict_at_fraud";
    return NULL;
}

/* Why a transfer that contradicts nothing is not final yet. */
static const char *open_problem(reconcile_outcome_t g, reconcile_outcome_t a, reconcile_outcome_t f)
{
    if (is_final(a))
        return "final_at_accounts_pending_at_gateway";
    if (a == RECONCILE_ABSENT)
        return "pending_at_gateway_unknown_at_accounts";
    (void)g;
    return f != RECONCILE_ABSENT ? "verdict_not_applied_at_accounts" : "awaiting_verdict";
}

reconcile_class_t reconcile_check_classify(const reconcile_side_t sides[RECONCILE_NODE__COUNT],
                                           bool waiting, bool dead, bool pruned_ok, char *problem,
                                           size_t problem_size)
{
    reconcile_outcome_t g = sides[RECONCILE_NODE_GATEWAY].outcome;
    reconcile_outcome_t a = sides[RECONCILE_NODE_ACCOUNTS].outcome;
    reconcile_outcome_t f = sides[RECONCILE_NODE_FRAUD].outcome;
    const char *hard = dead ? "dead_letter" : hard_problem(g, a, f, pruned_ok);
    if (hard) {
        text_copy(problem, problem_size, hard);
        return RECONCILE_DISAGREE;
    }
    bool g_done = is_final(g) || (g == RECONCILE_ABSENT && pruned_ok);
    bool a_done = is_final(a) || (a == RECONCILE_ABSENT && pruned_ok);
    /* an authorisation both sides hold, waiting for its capture, void or expiry, agrees */
    bool both_authorized = g == RECONCILE_AUTHORIZED && a == RECONCILE_AUTHORIZED;
    if ((g_done && a_done) || both_authorized) {
        text_copy(problem, problem_size, "");
        return RECONCILE_AGREE;
    }
    const char *open = open_problem(g, a, f);
    if (waiting) {
        text_copy(problem, problem_size, open);
        return RECONCILE_IN_FLIGHT;
    }
    snprintf(problem, problem_size, "stuck_%s", open);
    return RECONCILE_DISAGREE;
}

/* --- output ------------------------------------------------------------------ */

static void emit(FILE *out, reconcile_report_t *report, const char *line)
{
    fprintf(out, "%s\n", line);
    for (const char *p = line; *p; p++)
        report->lines_hash = (report->lines_hash ^ (uint8_t)*p) * FNV_PRIME;
}

/* " waiting: accounts->gateway transfer.settled, ..." for the transfer's messages. */
static void describe_flight(char *buf, size_t size, const reconcile_flight_item_t *items, size_t n)
{
    size_t used = strlen(buf);
    for (size_t i = 0; i < n && used < size; i++) {
        const char *type = proto_type_name(items[i].type);
        int w =
            snprintf(buf + used, size - used, "%s%s->%s %s%s",
                     i ? ", " : " waiting: ", reconcile_node_name(items[i].sender), items[i].peer,
                     type ? type : "unknown", items[i].dead ? " (dead letter)" : "");
        if (w < 0)
            return;
        used += (size_t)w;
    }
}

static void report_transfer(FILE *out, reconcile_report_t *report, reconcile_class_t cls,
                            const char *id, const char *problem,
                            const reconcile_side_t sides[RECONCILE_NODE__COUNT],
                            const reconcile_flight_item_t *items, size_t n)
{
    char line[CHECK_LINE_MAX];
    snprintf(line, sizeof line, "%s transfer %s %s: gateway=%s accounts=%s fraud=%s",
             cls == RECONCILE_IN_FLIGHT ? "in_flight" : "disagree", id, problem,
             sides[RECONCILE_NODE_GATEWAY].state, sides[RECONCILE_NODE_ACCOUNTS].state,
             sides[RECONCILE_NODE_FRAUD].state);
    describe_flight(line, sizeof line, items, n);
    if (cls == RECONCILE_IN_FLIGHT)
        fprintf(out, "%s\n", line); /* not part of the hash: it is expected to change */
    else
        emit(out, report, line);
}

/* --- the walk ------------------------------------------------------------------ */

typedef struct {
    store_cursor_t *cursor;
    bool valid;
    store_kv_t kv;
    char id[PROTO_TRANSFER_ID_MAX + 1];
} walk_cursor_t;

static ledger_err_t cursor_step(walk_cursor_t *c, store_seek_t op, reconcile_node_t node, char *why,
                                size_t why_size)
{
    ledger_err_t err = store_cursor_get(c->cursor, op, &c->kv);
    c->valid = err == LEDGER_OK;
    if (err == LEDGER_E_NOT_FOUND)
        return LEDGER_OK;
    if (err == LEDGER_OK && !reconcile_key_id(&c->kv, c->id)) {
        snprintf(why, why_size, "%s: a transfer table key is not a transfer id",
                 reconcile_node_name(node));
        return LEDGER_E_CORRUPT;
    }
    return err;
}

/* The smallest id among the valid cursors; NULL when all are done. */
static const char *walk_min(const walk_cursor_t cursors[RECONCILE_NODE__COUNT])
{
    const char *min = NULL;
    for (int i = 0; i < RECONCILE_NODE__COUNT; i++)
        if (cursors[i].valid && (!min || strcmp(cursors[i].id, min) < 0))
            min = cursors[i].id;
    return min;
}

typedef struct {
    store_txn_t *const *txns;
    const reconcile_options_t *options;
    const reconcile_flight_t *flight;
    reconcile_holds_t *holds;
    FILE *out;
    reconcile_report_t *report;
} walk_t;

/*  Decodes the sides of transfer `id` and advances the cursors that were on
    it. A record that does not decode is not an error of the run: its side
    reads "corrupt" and *corrupt_out names the (last such) node. */
static ledger_err_t walk_sides(walk_t *w, walk_cursor_t cursors[RECONCILE_NODE__COUNT],
                               const char *id, reconcile_side_t sides[RECONCILE_NODE__COUNT],
                               int *corrupt_out, char *why, size_t why_size)
{
    *corrupt_out = -1;
    for (int i = 0; i < RECONCILE_NODE__COUNT; i++) {
        memset(&sides[i], 0, sizeof sides[i]);
        text_copy(sides[i].state, sizeof sides[i].state, "none");
        if (!cursors[i].valid || strcmp(cursors[i].id, id) != 0)
            continue;
        char reason[128] = "";
        ledger_err_t err = reconcile_node_decoder((reconcile_node_t)i)(
            w->txns[i], id, &cursors[i].kv, &sides[i], reason, sizeof reason);
        if (err == LEDGER_E_CORRUPT) {
            memset(&sides[i], 0, sizeof sides[i]);
            text_copy(sides[i].state, sizeof sides[i].state, "corrupt");
            *corrupt_out = i;
        } else if (err != LEDGER_OK) {
            snprintf(why, why_size, "%s transfer %s: %s", reconcile_node_name(i), id, reason);
            return err;
        }
        err = cursor_step(&cursors[i], STORE_NEXT, (reconcile_node_t)i, why, why_size);
        if (err != LEDGER_OK)
            return err;
    }
    return LEDGER_OK;
}

static ledger_err_t walk_one(walk_t *w, walk_cursor_t cursors[RECONCILE_NODE__COUNT], char *why,
                             size_t why_size)
{
    char id[PROTO_TRANSFER_ID_MAX + 1];
    text_copy(id, sizeof id, walk_min(cursors));
    reconcile_side_t sides[RECONCILE_NODE__COUNT];
    int corrupt;
    ledger_err_t err = walk_sides(w, cursors, id, sides, &corrupt, why, why_size);
    if (err != LEDGER_OK)
        return err;
    uint64_t newest = 0;
    for (int i = 0; i < RECONCILE_NODE__COUNT; i++)
        if (sides[i].outcome != RECONCILE_ABSENT && sides[i].updated_ms > newest)
            newest = sides[i].updated_ms;
    bool pruned_ok =
        w->options->retention_ms && newest + w->options->retention_ms < w->options->now_ms;
    const reconcile_flight_item_t *items;
    size_t n = reconcile_flight_find(w->flight, id, &items);
    bool dead = false;
    for (size_t i = 0; i < n; i++)
        dead = dead || items[i].dead;
    char problem[CHECK_PROBLEM_MAX];
    reconcile_class_t cls =
        reconcile_check_classify(sides, n > 0, dead, pruned_ok, problem, sizeof problem);
    const reconcile_side_t *acc = &sides[RECONCILE_NODE_ACCOUNTS];
    if (acc->outcome == RECONCILE_OPEN || acc->outcome == RECONCILE_AUTHORIZED) {
        err = reconcile_holds_add(w->holds, acc->from, acc->amount_minor);
        if (err != LEDGER_OK)
            return err;
    }
    w->report->transfers++;
    if (cls == RECONCILE_AGREE)
        w->report->agree++;
    else if (cls == RECONCILE_IN_FLIGHT)
        w->report->in_flight++;
    else
        w->report->disagree++;
    if (cls != RECONCILE_AGREE)
        report_transfer(w->out, w->report, cls, id, problem, sides, items, n);
    return LEDGER_OK;
}

static ledger_err_t walk_transfers(walk_t *w, char *why, size_t why_size)
{
    walk_cursor_t cursors[RECONCILE_NODE__COUNT];
    memset(cursors, 0, sizeof cursors);
    ledger_err_t err = LEDGER_OK;
    for (int i = 0; i < RECONCILE_NODE__COUNT && err == LEDGER_OK; i++) {
        err = store_cursor_open(w->txns[i], reconcile_node_table((reconcile_node_t)i),
                                &cursors[i].cursor);
        if (err == LEDGER_OK)
            err = cursor_step(&cursors[i], STORE_FIRST, (reconcile_node_t)i, why, why_size);
    }
    while (err == LEDGER_OK && walk_min(cursors))
        err = walk_one(w, cursors, why, why_size);
    for (int i = 0; i < RECONCILE_NODE__COUNT; i++)
        store_cursor_close(&cursors[i].cursor);
    return err;
}

/* --- the accounts node's ledger and holds ----------------------------------------- */

static void report_line(void *ctx, const char *line)
{
    walk_t *w = ctx;
    w->report->disagree++;
    emit(w->out, w->report, line);
}

/* One line per node with outbox entries or dead letters that do not decode. */
static void check_messages(walk_t *w)
{
    for (int i = 0; i < RECONCILE_NODE__COUNT; i++) {
        if (!w->flight->undecodable[i])
            continue;
        char line[CHECK_LINE_MAX];
        snprintf(line, sizeof line, "disagree messages %s messages_do_not_decode: %llu",
                 reconcile_node_name(i), (unsigned long long)w->flight->undecodable[i]);
        report_line(w, line);
    }
}

static ledger_err_t check_ledger(walk_t *w)
{
    check_messages(w);
    store_txn_t *txn = w->txns[RECONCILE_NODE_ACCOUNTS];
    store_ledger_report_t rep;
    char why[256] = "";
    ledger_err_t err = accounts_verify_ledger(txn, &rep, why, sizeof why);
    if (err != LEDGER_OK && err != LEDGER_E_CORRUPT)
        return err;
    if (err == LEDGER_E_CORRUPT || !rep.ok) {
        char line[CHECK_LINE_MAX];
        snprintf(line, sizeof line, "disagree ledger accounts balances_do_not_match_ledger: %s%s%s",
                 rep.problem, why[0] ? ": " : "", why);
        report_line(w, line);
    }
    return reconcile_holds_compare(w->holds, txn, report_line, w);
}

ledger_err_t reconcile_check_run(store_txn_t *const txns[RECONCILE_NODE__COUNT],
                                 const reconcile_options_t *options, FILE *out,
                                 reconcile_report_t *report, char *why, size_t why_size)
{
    memset(report, 0, sizeof *report);
    report->lines_hash = FNV_OFFSET;
    reconcile_flight_t flight;
    memset(&flight, 0, sizeof flight);
    flight.lenient = true;
    ledger_err_t err = LEDGER_OK;
    for (int i = 0; i < RECONCILE_NODE__COUNT && err == LEDGER_OK; i++)
        err = reconcile_flight_add_store(&flight, txns[i], (reconcile_node_t)i, why, why_size);
    reconcile_flight_sort(&flight);
    reconcile_holds_t holds;
    reconcile_holds_init(&holds);
    walk_t w = {txns, options, &flight, &holds, out, report};
    if (err == LEDGER_OK)
        err = walk_transfers(&w, why, why_size);
    if (err == LEDGER_OK)
        err = check_ledger(&w);
    reconcile_holds_free(&holds);
    reconcile_flight_free(&flight);
    return err;
}

/*  reconcile_main.c: ledger-reconcile, the operator's tool that compares the
    three nodes and reports every disagreement (reconcile_check.h says what
    counts as one), one line each, then a summary line.

    It reads the nodes' data directories read-only (store_open read_only:
    LMDB lets readers in another process run beside the live writer, and
    never blocks it), not their admin endpoints: the stores hold everything
    (outboxes and dead letters too, which no endpoint lists in full), it
    works the same on a stopped mesh or on a set of backups, and it needs no
    admin token. It must run on the host that holds the data directories.
    At start it clears the reader slots that dead processes left in each
    directory (store_reader_check: a reconcile or backup killed inside its
    read transaction would make the live node's file grow), on stderr.

    The three read transactions are begun one after the other, so messages
    move between the three snapshots: a transfer may look final at one node
    and unknown at the next for a moment. --settle-wait S repeats the whole
    comparison (every 200 ms, for at most S seconds) until nothing is in
    flight and two passes in a row find the same disagreements, and prints
    the last pass only. Without it, one pass: transfers in flight are
    reported as "in_flight" lines and are not disagreements.

    Exit codes: 0 the nodes agree (in-flight transfers allowed), 1 at least
    one disagreement (a record or message that does not decode is one), 2
    usage or I/O (a data directory that does not open).
*/
#define _GNU_SOURCE /* open_memstream */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "reconcile_check.h"

#define RECONCILE_EXIT_AGREE 0
#define RECONCILE_EXIT_DISAGREE 1
#define RECONCILE_EXIT_ERROR 2
#define RECONCILE_PATH_MAX 4000
#define RECONCILE_SETTLE_MAX_S 3600u /* longest --settle-wait */
#define RECONCILE_RETENTION_MAX_S (3650u * 86400u)
#define RECONCILE_PASS_PAUSE_MS 200

static const char *const USAGE =
    "usage: ledger-reconcile (--data-root DIR | --gateway DIR --accounts DIR --fraud DIR)\n"
    "                        [--settle-wait SECONDS] [--retention SECONDS]\n"
    "\n"
    "Reads the three nodes' data directories read-only (beside the live nodes, or\n"
    "stopped ones, or backups) and prints one line per disagreement:\n"
    "  disagree transfer <id> <problem>: gateway=<status> accounts=<state> fraud=<verdict>\n"
    "  disagree account <id> held_does_not_match_reserved_transfers: held=N reserved=M\n"
    "  disagree ledger accounts balances_do_not_match_ledger: <what>\n"
    "  disagree messages <node> messages_do_not_decode: N\n"
    "and transfers not final yet with a message waiting in an outbox:\n"
    "  in_flight transfer <id> <step>: ... waiting: <from>-><to> <type>\n"
    "then: summary transfers=N agree=N in_flight=N disagree=N\n"
    "\n"
    "--data-root DIR     DIR/gateway, DIR/accounts, DIR/fraud\n"
    "--settle-wait S     repeat until nothing is in flight and two passes agree (at most S s)\n"
    "--retention S       a transfer older than S seconds may be pruned at some node: its\n"
    "                    absence there is not a disagreement (0, the default: never)\n"
    "Exit codes: 0 all agree, 1 disagreements found, 2 usage or I/O error.\n";

typedef struct {
    char dirs[RECONCILE_NODE__COUNT][RECONCILE_PATH_MAX + 1];
    uint64_t settle_wait_ms;
    uint64_t retention_ms;
} options_t;

static int usage_error(const char *what)
{
    fprintf(stderr, "ledger-reconcile: %s\n\n%s", what, USAGE);
    return RECONCILE_EXIT_ERROR;
}

static bool parse_seconds(const char *text, uint64_t max_s, uint64_t *ms_out)
{
    char *end;
    if (!text || !*text || strspn(text, "0123456789") != strlen(text))
        return false;
    unsigned long long v = strtoull(text, &end, 10);
    if (*end || v > max_s)
        return false;
    *ms_out = (uint64_t)v * 1000u;
    return true;
}

static bool set_dir(char *dst, const char *root, const char *name)
{
    int n = root ? snprintf(dst, RECONCILE_PATH_MAX + 1, "%s/%s", root, name)
                 : snprintf(dst, RECONCILE_PATH_MAX + 1, "%s", name);
    return n > 0 && n <= RECONCILE_PATH_MAX;
}

/* Returns -1 when the options are complete, else the exit code. */
static int parse_args(int argc, char **argv, options_t *opt)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        reconcile_node_t node;
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h"))
            return fputs(USAGE, stdout), RECONCILE_EXIT_AGREE;
        if (!val)
            return usage_error("every option takes a value");
        i++;
        if (!strcmp(arg, "--data-root")) {
            for (int n = 0; n < RECONCILE_NODE__COUNT; n++)
                if (!set_dir(opt->dirs[n], val, reconcile_node_name(n)))
                    return usage_error("--data-root: path too long");
        } else if (!strncmp(arg, "--", 2) && reconcile_node_from_name(arg + 2, &node)) {
            if (!set_dir(opt->dirs[node], NULL, val))
                return usage_error("data directory path too long");
        } else if (!strcmp(arg, "--settle-wait")) {
            if (!parse_seconds(val, RECONCILE_SETTLE_MAX_S, &opt->settle_wait_ms))
                return usage_error("--settle-wait: whole seconds, 0 .. 3600");
        } else if (!strcmp(arg, "--retention")) {
            if (!parse_seconds(val, RECONCILE_RETENTION_MAX_S, &opt->retention_ms))
                return usage_error("--retention: whole seconds, 0 .. 10 years");
        } else {
            return usage_error("unknown option");
        }
    }
    for (int n = 0; n < RECONCILE_NODE__COUNT; n++)
        if (!opt->dirs[n][0])
            return usage_error("the three data directories are required");
    return -1;
}

typedef struct {
    store_t *stores[RECONCILE_NODE__COUNT];
} nodes_t;

static void nodes_close(nodes_t *nodes)
{
    for (int n = 0; n < RECONCILE_NODE__COUNT; n++)
        store_destroy(&nodes->stores[n]);
}

static bool nodes_open(nodes_t *nodes, const options_t *opt)
{
    store_config_t config = {.read_only = true};
    for (int n = 0; n < RECONCILE_NODE__COUNT; n++) {
        ledger_err_t err = store_open(opt->dirs[n], &config, &nodes->stores[n]);
        if (err != LEDGER_OK) {
            fprintf(stderr, "ledger-reconcile: cannot open %s (%s): %s: %s\n",
                    reconcile_node_name(n), opt->dirs[n], ledger_err_name(err),
                    store_last_error(NULL));
            nodes_close(nodes);
            return false;
        }
        /* A reconcile or backup killed inside its read transaction left a slot (store.h). */
        unsigned cleared = 0;
        if (store_reader_check(nodes->stores[n], &cleared) == LEDGER_OK && cleared)
            fprintf(stderr, "ledger-reconcile: %s: cleared %u stale reader slot(s)\n", opt->dirs[n],
                    cleared);
    }
    return true;
}

/* One comparison; its lines into a new buffer (*text_out, the caller frees). */
static ledger_err_t one_pass(nodes_t *nodes, const options_t *opt, reconcile_report_t *report,
                             char **text_out, char *why, size_t why_size)
{
    store_txn_t *txns[RECONCILE_NODE__COUNT] = {NULL};
    ledger_err_t err = LEDGER_OK;
    for (int n = 0; n < RECONCILE_NODE__COUNT && err == LEDGER_OK; n++) {
        err = store_txn_begin(nodes->stores[n], false, &txns[n]);
        if (err != LEDGER_OK)
            snprintf(why, why_size, "%s: %s", reconcile_node_name(n),
                     store_last_error(nodes->stores[n]));
    }
    size_t size = 0;
    FILE *out = err == LEDGER_OK ? open_memstream(text_out, &size) : NULL;
    if (err == LEDGER_OK && !out)
        err = LEDGER_E_NOMEM;
    reconcile_options_t ropt = {opt->retention_ms, clock_wall_ms()};
    if (err == LEDGER_OK)
        err = reconcile_check_run(txns, &ropt, out, report, why, why_size);
    if (out)
        fclose(out);
    for (int n = 0; n < RECONCILE_NODE__COUNT; n++)
        store_txn_abort(&txns[n]);
    return err;
}

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
    options_t opt;
    memset(&opt, 0, sizeof opt);
    int rc = parse_args(argc, argv, &opt);
    if (rc >= 0)
        return rc;
    nodes_t nodes = {{NULL}};
    if (!nodes_open(&nodes, &opt))
        return RECONCILE_EXIT_ERROR;
    uint64_t deadline = clock_mono_ms() + opt.settle_wait_ms;
    reconcile_report_t report, last = {0};
    char *text = NULL;
    char why[512] = "";
    for (int pass = 0;; pass++) {
        free(text);
        text = NULL;
        ledger_err_t err = one_pass(&nodes, &opt, &report, &text, why, sizeof why);
        if (err != LEDGER_OK) {
            fprintf(stderr, "ledger-reconcile: %s: %s\n", ledger_err_name(err), why);
            free(text);
            nodes_close(&nodes);
            return RECONCILE_EXIT_ERROR;
        }
        bool settled = report.in_flight == 0 &&
                       (report.disagree == 0 || (pass > 0 && report.lines_hash == last.lines_hash));
        if (settled || clock_mono_ms() >= deadline)
            break;
        last = report;
        pause_ms(RECONCILE_PASS_PAUSE_MS);
    }
    fputs(text ? text : "", stdout);
    printf("summary transfers=%llu agree=%llu in_flight=%llu disagree=%llu\n",
           (unsigned long long)report.transfers, (unsigned long long)report.agree,
           (unsigned long long)report.in_flight, (unsigned long long)report.disagree);
    free(text);
    nodes_close(&nodes);
    return report.disagree ? RECONCILE_EXIT_DISAGREE : RECONCILE_EXIT_AGREE;
}

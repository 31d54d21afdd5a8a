/*  node_log.h: one log line per event, key=value, on stderr.

    Every line starts with ts (unix ms), node and level, then the caller's
    key=value pairs, so one transfer can be followed across the three nodes'
    logs with `grep corr=<transfer id>`.

    What it owns: the process's node name and lowest level printed (set once
    by node_log_init; "node" and info until then).

    How to call it: node_log_init at start (node_main_setup does), then
    node_log_write(level, "event=... key=%s", ...) anywhere; wrap costly
    lines in node_log_enabled.

    Errors: none: a line longer than NODE_LOG_LINE_MAX_BYTES is cut, a
    failed write to stderr is ignored.

    Thread: node_log_write and node_log_enabled from any thread (one fprintf
    per line); node_log_init before other threads start.
*/
#ifndef LEDGER_NODE_LOG_H
#define LEDGER_NODE_LOG_H

typedef enum { NODE_LOG_DEBUG = 0, NODE_LOG_INFO, NODE_LOG_WARN, NODE_LOG_ERROR } node_log_level_t;

/* Sets the node name printed on every line and the lowest level printed. */
void node_log_init(const char *node_name, node_log_level_t min_level);
/* Parses "debug" / "info" / "warn" / "error"; returns -1 for anything else. */
int node_log_level_parse(const char *text);
/* Whether a line at `level` would be printed (to skip building expensive lines). */
int node_log_enabled(node_log_level_t level);
/* Prints one line: "ts=<ms> node=<name> level=<level> <fmt...>"; control characters in
   the result (from peers' text) are printed as '?', so one call is always one line. */
void node_log_write(node_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif

/* node_log.c: key=value log lines on stderr. */
#include "node_log.h"

#include "clock.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define NODE_LOG_NAME_BYTES 64       /* the node name printed on every line */
#define NODE_LOG_LINE_MAX_BYTES 1024 /* one line; longer ones are cut */

static char log_node[NODE_LOG_NAME_BYTES] = "node";
static node_log_level_t log_min = NODE_LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};
#define NODE_LOG_LEVELS (sizeof level_names / sizeof level_names[0])

void node_log_init(const char *node_name, node_log_level_t min_level)
{
    assert(node_name);
    snprintf(log_node, sizeof log_node, "%s", node_name);
    log_min = min_level;
}

int node_log_level_parse(const char *text)
{
    assert(text);
    for (int i = 0; i < (int)NODE_LOG_LEVELS; i++)
        if (strcmp(text, level_names[i]) == 0)
            return i;
    return -1;
}

int node_log_enabled(node_log_level_t level)
{
    return level >= log_min;
}

void node_log_write(node_log_level_t level, const char *fmt, ...)
{
    if (level < log_min)
        return;
    char line[NODE_LOG_LINE_MAX_BYTES];
    unsigned long long ms = (unsigned long long)clock_wall_ms();
    int n =
        snprintf(line, sizeof line, "ts=%llu node=%s level=%s ", ms, log_node, level_names[level]);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof line)
        vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    /* Peers' free text (nack reasons) ends up in lines: a control character there must
       never start a forged line of its own. */
    for (char *p = line; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    fprintf(stderr, "%s\n", line);
}

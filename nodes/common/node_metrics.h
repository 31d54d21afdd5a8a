/*  node_metrics.h: the counters and histograms a node keeps for /metrics.

    Plain data and small helpers; node.c owns the instances and guards them
    with its stats lock, admin_metrics.c renders them in the Prometheus text
    format. Histograms keep one count per bucket (not cumulative: the
    renderer sums them) plus the count and sum of all observations, in the
    unit of their bounds.

    HTTP requests (the gateway's public API) are counted by route label and
    status in a small fixed table: routes are a bounded set chosen by the
    caller (never the raw URL), so the table cannot grow with traffic; a
    pair that does not fit is counted under route "other".

    What it owns: nothing; the histograms and tables are the caller's plain
    structs (fixed size, no allocation).

    How to call it: node_metrics_histogram_observe per observation,
    node_metrics_http_count_add per answered request; read the structs.

    Errors: none: values above the last bound count as `over`, pairs that
    do not fit the table are folded into "other" (or dropped).

    Thread: none of these lock; the owner does.
*/
#ifndef LEDGER_NODE_METRICS_H
#define LEDGER_NODE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define NODE_HISTOGRAM_BUCKETS_MAX 16
#define NODE_HTTP_COUNTS_MAX 64 /* (route, status) pairs */
#define NODE_HTTP_ROUTE_MAX 47  /* bytes of a route label */
#define NODE_HTTP_METHOD_MAX 7  /* bytes of a method label ("OPTIONS") */

/* Upper bounds of the batch size buckets (messages per write batch). */
#define NODE_BATCH_SIZE_BOUNDS                                                                     \
    {                                                                                              \
        1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384                                   \
    }
/* Upper bounds of the commit latency buckets, in microseconds (rendered in seconds). */
#define NODE_COMMIT_US_BOUNDS                                                                      \
    {                                                                                              \
        250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000  \
    }

typedef struct {
    uint64_t buckets[NODE_HISTOGRAM_BUCKETS_MAX]; /* observations <= bound[i] and > bound[i-1] */
    uint64_t over;                                /* above the last bound */
    uint64_t count;
    uint64_t sum;
} node_histogram_t;

/* Counts `value` into `h` whose bucket bounds are `bounds[0..n)` (ascending, n <= max). */
void node_metrics_histogram_observe(node_histogram_t *h, const uint64_t *bounds, size_t n,
                                    uint64_t value);

typedef struct {
    char method[NODE_HTTP_METHOD_MAX +
                1]; /* GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS or "other" */
    char route[NODE_HTTP_ROUTE_MAX + 1];
    unsigned status;
    uint64_t count;
} node_http_count_t;

typedef struct {
    node_http_count_t items[NODE_HTTP_COUNTS_MAX];
    size_t count;
} node_http_counts_t;

/*  Counts one `method` request of `route` answered with `status` (route
    truncated to the label limit; methods outside the known set count as "other"). */
void node_metrics_http_count_add(node_http_counts_t *t, const char *method, const char *route,
                                 unsigned status);

#endif

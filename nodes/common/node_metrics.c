/* node_metrics.c: histogram and HTTP counter helpers for /metrics (see node_metrics.h). */
#include "node_metrics.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

void node_metrics_histogram_observe(node_histogram_t *h, const uint64_t *bounds, size_t n,
                                    uint64_t value)
{
    assert(h && (bounds || n == 0) && n <= NODE_HISTOGRAM_BUCKETS_MAX);
    h->count++;
    h->sum += value;
    for (size_t i = 0; i < n; i++) {
        if (value <= bounds[i]) {
            h->buckets[i]++;
            return;
        }
    }
    h->over++;
}

static node_http_count_t *http_find(node_http_counts_t *t, const char *method, const char *route,
                                    unsigned status)
{
    for (size_t i = 0; i < t->count; i++)
        if (t->items[i].status == status && strcmp(t->items[i].route, route) == 0 &&
            strcmp(t->items[i].method, method) == 0)
            return &t->items[i];
    return NULL;
}

static const char *method_label(const char *method)
{
    static const char *const known[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};
    for (size_t i = 0; method && i < sizeof known / sizeof known[0]; i++)
        if (strcmp(method, known[i]) == 0)
            return known[i];
    return "other";
}

void node_metrics_http_count_add(node_http_counts_t *t, const char *method, const char *route,
                                 unsigned status)
{
    assert(t);
    char label[NODE_HTTP_ROUTE_MAX + 1];
    const char *m = method_label(method);
    snprintf(label, sizeof label, "%s", route && *route ? route : "other");
    node_http_count_t *item = http_find(t, m, label, status);
    if (!item && t->count < NODE_HTTP_COUNTS_MAX) {
        item = &t->items[t->count++];
        snprintf(item->method, sizeof item->method, "%s", m);
        snprintf(item->route, sizeof item->route, "%s", label);
        item->status = status;
        item->count = 0;
    }
    if (!item) /* table full: fold into "other", or drop rather than grow without bound */
        item = http_find(t, "other", "other", status);
    if (item)
        item->count++;
}

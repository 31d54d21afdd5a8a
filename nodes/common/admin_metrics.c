/* admin_metrics.c: the Prometheus text for /metrics (families listed in admin_metrics.h). */
#include "admin_metrics.h"

#include <assert.h>
#include <inttypes.h>
#include <string.h>

#include "proto.h"

#define ADMIN_METRICS_MS_PER_S 1000.0 /* milliseconds per second, as rendered */
#define ADMIN_METRICS_US_PER_S 1e6    /* microseconds per second, as rendered */

static void family(FILE *out, const char *name, const char *type, const char *help)
{
    fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void admin_metrics_scalar(FILE *out, const char *name, const char *type, const char *help,
                          uint64_t value)
{
    assert(out && name && type && help);
    family(out, name, type, help);
    fprintf(out, "%s %" PRIu64 "\n", name, value);
}

void admin_metrics_retention_pruned(FILE *out, const char *what, uint64_t value)
{
    assert(out && what);
    family(out, "ledger_retention_pruned_total", "counter",
           "Records deleted past their retention since the start");
    fprintf(out, "ledger_retention_pruned_total{what=\"%s\"} %" PRIu64 "\n", what, value);
}

static const char *type_label(size_t type)
{
    const char *name = type ? proto_type_name((proto_type_t)type) : NULL;
    return name ? name : "undecodable";
}

/* A histogram whose bounds are in `unit_div` units per rendered unit (1e6 for us -> s). */
static void histogram(FILE *out, const char *name, const char *help, const node_histogram_t *h,
                      const uint64_t *bounds, size_t n, double unit_div)
{
    family(out, name, "histogram", help);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < n; i++) {
        cumulative += h->buckets[i];
        fprintf(out, "%s_bucket{le=\"%g\"} %" PRIu64 "\n", name, (double)bounds[i] / unit_div,
                cumulative);
    }
    fprintf(out, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, cumulative + h->over);
    fprintf(out, "%s_sum %.6f\n", name, (double)h->sum / unit_div);
    fprintf(out, "%s_count %" PRIu64 "\n", name, h->count);
}

/* What /metrics reads from the store in one short read transaction (zeros if it cannot). */
typedef struct {
    uint64_t outbox_depth;
    uint64_t outbox_oldest_ms;
    uint64_t dead_letters;
} store_gauges_t;

static void read_store_gauges(node_t *node, store_gauges_t *g)
{
    memset(g, 0, sizeof *g);
    store_txn_t *txn = NULL;
    if (store_txn_begin(node_store(node), false, &txn) == LEDGER_OK) {
        store_outbox_stats(txn, node_now_ms(), &g->outbox_depth, &g->outbox_oldest_ms);
        store_count(txn, STORE_DB_DEAD_LETTERS, &g->dead_letters);
        store_txn_abort(&txn);
    }
}

/* ledger_messages_received_total{type,outcome} and ledger_messages_emitted_total{type}. */
static void write_messages_by_type(FILE *out, const node_stats_t *s)
{
    static const char *const outcomes[NODE_IN__COUNT] = {"applied", "duplicate", "nacked", "query"};
    family(out, "ledger_messages_received_total", "counter",
           "Inbound messages by type and outcome (applied, duplicate: acked again with no effect, "
           "nacked, query).");
    for (size_t t = 0; t < PROTO_TYPE__COUNT; t++)
        for (size_t o = 0; o < NODE_IN__COUNT; o++)
            if (s->in_by_type[t][o])
                fprintf(out,
                        "ledger_messages_received_total{type=\"%s\",outcome=\"%s\"} %" PRIu64 "\n",
                        type_label(t), outcomes[o], s->in_by_type[t][o]);
    family(out, "ledger_messages_emitted_total", "counter",
           "Messages this node emitted (outbox and feed), by type.");
    for (size_t t = 1; t < PROTO_TYPE__COUNT; t++)
        if (s->out_by_type[t])
            fprintf(out, "ledger_messages_emitted_total{type=\"%s\"} %" PRIu64 "\n", type_label(t),
                    s->out_by_type[t]);
}

/*  Acks and nacks sent and received, the relay's sends, resends and entries
    in flight, and the answers it ignored. */
static void write_delivery(FILE *out, const node_stats_t *s)
{
    admin_metrics_scalar(out, "ledger_acks_sent_total", "counter",
                         "Acks sent for applied or already seen messages.",
                         s->messages_in + s->duplicates);
    admin_metrics_scalar(out, "ledger_nacks_sent_total", "counter",
                         "Inbound messages refused with a nack.", s->nacks_sent);
    admin_metrics_scalar(out, "ledger_acks_received_total", "counter", "Acks received from peers.",
                         s->relay.acked);
    admin_metrics_scalar(out, "ledger_nacks_received_total", "counter",
                         "Nacks received from peers.", s->relay.nacked);
    admin_metrics_scalar(out, "ledger_relay_sent_total", "counter",
                         "Outbox entries sent for the first time.", s->relay.sent);
    admin_metrics_scalar(out, "ledger_relay_bundles_sent_total", "counter",
                         "Messages that carried more than one outbox entry to a peer.",
                         s->relay.bundles);
    admin_metrics_scalar(out, "ledger_redeliveries_total", "counter",
                         "Outbox entries resent after no answer in time.", s->relay.redelivered);
    admin_metrics_scalar(out, "ledger_relay_inflight", "gauge",
                         "Outbox entries sent and not yet answered.", s->relay.inflight);
    family(out, "ledger_answers_ignored_total", "counter",
           "Tags of peers' acks and nacks that settled nothing (relay.h): unknown_tag (not in "
           "flight, e.g. a late duplicate), other_peer (in flight to another peer), id_mismatch "
           "(the answer's of is not the id sent under its tag).");
    for (size_t r = 0; r < RELAY_IGNORED__COUNT; r++)
        fprintf(out, "ledger_answers_ignored_total{reason=\"%s\"} %" PRIu64 "\n",
                relay_ignored_name((relay_ignored_t)r), s->relay.answers_ignored[r]);
}

/*  ledger_handshake_failures_total{socket,reason} (inbox, feed) and
    ledger_peer_handshake_failures_total{peer,reason} (node_monitor.h). */
static void write_handshakes(FILE *out, const node_stats_t *s)
{
    const node_handshake_stats_t *h = &s->handshakes;
    family(out, "ledger_handshake_failures_total", "counter",
           "Failed ZeroMQ handshakes of peers connecting to this node's inbox or feed, by reason "
           "(auth: key refused, protocol: e.g. no CURVE, other).");
    for (size_t r = 0; r < NODE_HANDSHAKE__COUNT; r++) {
        const char *reason = node_handshake_reason_name((node_handshake_reason_t)r);
        fprintf(out,
                "ledger_handshake_failures_total{socket=\"inbox\",reason=\"%s\"} %" PRIu64 "\n",
                reason, h->inbox[r]);
        fprintf(out, "ledger_handshake_failures_total{socket=\"feed\",reason=\"%s\"} %" PRIu64 "\n",
                reason, h->feed[r]);
    }
    family(out, "ledger_peer_handshake_failures_total", "counter",
           "Failed ZeroMQ handshakes of this node's links to its peers, by peer and reason "
           "(auth: the peer refuses this node's key, other: e.g. a wrong server key).");
    for (size_t p = 0; p < h->peer_count; p++)
        for (size_t r = 0; r < NODE_HANDSHAKE__COUNT; r++)
            fprintf(out,
                    "ledger_peer_handshake_failures_total{peer=\"%s\",reason=\"%s\"} %" PRIu64 "\n",
                    h->peer_names[p], node_handshake_reason_name((node_handshake_reason_t)r),
                    h->peers[p][r]);
}

/* Dead letters (moved so far, there now) and the outbox (depth, oldest entry's age). */
static void write_outbox(FILE *out, const node_stats_t *s, const store_gauges_t *g)
{
    admin_metrics_scalar(out, "ledger_dead_lettered_total", "counter",
                         "Own outbox entries moved to dead_letters (a peer nacked).",
                         s->dead_lettered);
    admin_metrics_scalar(out, "ledger_dead_letters", "gauge", "Entries in dead_letters now.",
                         g->dead_letters);
    admin_metrics_scalar(out, "ledger_outbox_depth", "gauge", "Entries in the outbox.",
                         g->outbox_depth);
    family(out, "ledger_outbox_oldest_age_seconds", "gauge",
           "Age of the oldest outbox entry (0 when empty).");
    fprintf(out, "ledger_outbox_oldest_age_seconds %.3f\n",
            (double)g->outbox_oldest_ms / ADMIN_METRICS_MS_PER_S);
}

/* Write batches (committed, failed), queries answered and feed items dropped. */
static void write_batches(FILE *out, const node_stats_t *s)
{
    admin_metrics_scalar(out, "ledger_batches_total", "counter", "Write batches committed.",
                         s->batches);
    admin_metrics_scalar(out, "ledger_batch_failures_total", "counter",
                         "Write batches that failed (nothing acknowledged).", s->batch_failures);
    admin_metrics_scalar(out, "ledger_queries_total", "counter", "Account queries answered.",
                         s->queries);
    admin_metrics_scalar(out, "ledger_feed_dropped_total", "counter",
                         "Feed items dropped: a batch emitted more than the feed keeps.",
                         s->feed_dropped);
}

/*  Issue 19's link checks: refusals by reason and type (node_inbound.h), the
    allow table's size and whether links run without CURVE. */
static void write_links(FILE *out, const node_stats_t *s)
{
    family(
        out, "ledger_messages_refused_total", "counter",
        "Inbound messages refused for who sent them, by reason (unauthenticated, "
        "origin_mismatch, forbidden_type, id_too_far_ahead, replay_not_seen, id_too_old) and type; "
        "also "
        "counted in ledger_messages_received_total{outcome=\"nacked\"}.");
    for (size_t r = 0; r < NODE_REFUSED__COUNT; r++)
        for (size_t t = 0; t < PROTO_TYPE__COUNT; t++)
            if (s->links.refused[r][t])
                fprintf(
                    out, "ledger_messages_refused_total{reason=\"%s\",type=\"%s\"} %" PRIu64 "\n",
                    node_refused_name((node_refused_t)r), type_label(t), s->links.refused[r][t]);
    admin_metrics_scalar(out, "ledger_insecure_plaintext", "gauge",
                         "1 when node links run without CURVE (--insecure-plaintext): NOT "
                         "authenticated or encrypted.",
                         s->links.insecure_plaintext);
    admin_metrics_scalar(out, "ledger_curve_allowed_keys", "gauge",
                         "Public keys this node's allow-list accepts (0 in plaintext).",
                         s->links.allow.allowed_keys);
    admin_metrics_scalar(out, "ledger_allow_reload_failures_total", "counter",
                         "Reloads of the allow-list that failed (a bad file in allow/<node>/); "
                         "the previous table stayed in use.",
                         s->links.allow.reload_failures);
    admin_metrics_scalar(out, "ledger_allow_table_ok", "gauge",
                         "0 while the last reload of the allow-list failed (/health is 503), "
                         "else 1.",
                         !s->links.allow.reload_failing);
}

/* The data file's preallocation (nothing when it is off). */
static void write_prealloc(FILE *out, node_t *node)
{
    prealloc_stats_t pre;
    if (!store_prealloc_stats(node_store(node), &pre))
        return;
    admin_metrics_scalar(out, "ledger_store_preallocated_bytes_total", "counter",
                         "Data file bytes allocated ahead of use (--prealloc-bytes).",
                         pre.bytes_allocated);
    admin_metrics_scalar(out, "ledger_store_prealloc_failures_total", "counter",
                         "fallocate or fdatasync calls of the preallocation that failed "
                         "(commits then allocate as they write).",
                         pre.failures);
}

/*  Room of the map and the disk (store_space): bytes used, the map and its
    max, the data directory's file system, whether the store is full and the
    writes that failed or were refused for it. */
static void write_storage(FILE *out, node_t *node)
{
    store_space_t sp;
    store_space(node_store(node), &sp); /* what could not be read stays 0 */
    admin_metrics_scalar(out, "ledger_store_used_bytes", "gauge",
                         "LMDB pages in use (the data's last page minus free pages), bytes.",
                         sp.used_bytes);
    admin_metrics_scalar(out, "ledger_store_file_bytes", "gauge",
                         "The data's high-water mark (last page + 1), bytes: LMDB never shrinks.",
                         sp.file_bytes);
    admin_metrics_scalar(out, "ledger_store_map_bytes", "gauge", "The LMDB map now, bytes.",
                         sp.map_bytes);
    admin_metrics_scalar(out, "ledger_store_map_max_bytes", "gauge",
                         "The largest map (--map-max-bytes), bytes.", sp.map_max_bytes);
    admin_metrics_scalar(out, "ledger_disk_total_bytes", "gauge",
                         "Size of the data directory's file system, bytes.", sp.disk_total_bytes);
    admin_metrics_scalar(out, "ledger_disk_free_bytes", "gauge",
                         "Bytes of the data directory's file system available to the node.",
                         sp.disk_free_bytes);
    family(out, "ledger_store_full", "gauge",
           "1 while the last write failed for room (map_full: at --map-max-bytes; disk_full: "
           "ENOSPC) and nothing has committed since.");
    for (int r = STORE_ROOM_MAP_FULL; r < STORE_ROOM__COUNT; r++)
        fprintf(out, "ledger_store_full{reason=\"%s\"} %d\n", store_room_name((store_room_t)r),
                sp.room == (store_room_t)r);
    family(out, "ledger_store_room_failures_total", "counter",
           "Write transactions that failed for room, nothing written (map_full, disk_full).");
    for (int r = STORE_ROOM_MAP_FULL; r < STORE_ROOM__COUNT; r++)
        fprintf(out, "ledger_store_room_failures_total{reason=\"%s\"} %" PRIu64 "\n",
                store_room_name((store_room_t)r), sp.room_failures[r]);
    admin_metrics_scalar(out, "ledger_storage_refused_total", "counter",
                         "Write requests answered 503 storage_unavailable because the store had "
                         "no room (gateway).",
                         sp.refused_requests);
}

/* Messages per write batch and the batch's duration (kept in us, rendered in seconds). */
static void write_histograms(FILE *out, const node_stats_t *s)
{
    static const uint64_t batch_bounds[] = NODE_BATCH_SIZE_BOUNDS;
    static const uint64_t commit_bounds[] = NODE_COMMIT_US_BOUNDS;
    histogram(out, "ledger_batch_messages", "Inbound messages and peer answers per write batch.",
              &s->batch_size, batch_bounds, sizeof batch_bounds / sizeof batch_bounds[0], 1.0);
    histogram(out, "ledger_commit_duration_seconds",
              "Write batch duration: apply and durable commit.", &s->commit_us, commit_bounds,
              sizeof commit_bounds / sizeof commit_bounds[0], ADMIN_METRICS_US_PER_S);
}

/* Issue 20's storage fault (node.h, "Storage faults"): 1 while the node writes nothing. */
static void write_storage_fault(FILE *out, node_t *node)
{
    node_fault_t f;
    node_fault_get(node, &f);
    admin_metrics_scalar(out, "ledger_storage_faulted", "gauge",
                         "1 once stored data did not decode or add up: the node writes nothing "
                         "(/health is 503 with the reason) until restored and restarted, else 0.",
                         f.faulted);
    admin_metrics_scalar(out, "ledger_storage_faulted_since_seconds", "gauge",
                         "Unix time of the storage fault, 0 when none.",
                         (uint64_t)(f.since_ms / ADMIN_METRICS_MS_PER_S));
}

/* The gateway's public API requests and the transfers that reached a final status. */
static void write_gateway(FILE *out, node_t *node, const node_stats_t *s)
{
    node_http_counts_t http;
    node_get_http_counts(node, &http);
    family(out, "ledger_http_requests_total", "counter",
           "Public HTTP API requests answered, by method, route pattern and status.");
    for (size_t i = 0; i < http.count; i++)
        fprintf(
            out,
            "ledger_http_requests_total{method=\"%s\",route=\"%s\",status=\"%u\"} %" PRIu64 "\n",
            http.items[i].method, http.items[i].route, http.items[i].status, http.items[i].count);
    static const struct {
        proto_type_t type;
        const char *status;
    } finals[] = {{PROTO_TRANSFER_SETTLED, "settled"},
                  {PROTO_TRANSFER_REJECTED_FRAUD, "rejected_fraud"},
                  {PROTO_TRANSFER_DECLINED, "declined"}};
    family(out, "ledger_transfers_final_total", "counter",
           "Transfers that reached a final status (status events applied since start).");
    for (size_t i = 0; i < sizeof finals / sizeof finals[0]; i++)
        fprintf(out, "ledger_transfers_final_total{status=\"%s\"} %" PRIu64 "\n", finals[i].status,
                s->in_by_type[finals[i].type][NODE_IN_APPLIED]);
}

void admin_metrics_write(node_t *node, FILE *out)
{
    assert(node && out);
    node_stats_t s;
    node_get_stats(node, &s);
    store_gauges_t g;
    read_store_gauges(node, &g);
    write_messages_by_type(out, &s);
    write_delivery(out, &s);
    write_links(out, &s);
    write_handshakes(out, &s);
    write_outbox(out, &s, &g);
    write_batches(out, &s);
    write_prealloc(out, node);
    write_storage(out, node);
    write_histograms(out, &s);
    write_storage_fault(out, node);
    if (strcmp(node_name(node), "gateway") == 0)
        write_gateway(out, node, &s);
}

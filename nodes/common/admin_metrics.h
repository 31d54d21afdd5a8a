/*  admin_metrics.h: renders a node's /metrics in the Prometheus text
    exposition format (version 0.0.4): counters (`_total`), gauges and
    histograms (`_bucket{le=...}`, `_sum`, `_count`, cumulative buckets,
    base units: seconds), one HELP and TYPE line per family. Every name
    starts with `ledger_`; the node is the scrape target, so no node label.

    Families (labels in braces):
      ledger_messages_received_total{type,outcome}  inbound messages: outcome
          applied | duplicate (acked again, no effect) | nacked | query;
          type "undecodable" for bytes that never decoded
      ledger_messages_emitted_total{type}           messages this node emitted
      ledger_acks_sent_total, ledger_nacks_sent_total
      ledger_acks_received_total, ledger_nacks_received_total  (from peers)
      ledger_relay_sent_total, ledger_redeliveries_total, ledger_relay_inflight
      ledger_answers_ignored_total{reason}          answer tags that settled nothing:
          unknown_tag | other_peer (relay.h)
      ledger_dead_lettered_total, ledger_dead_letters           (now in dead_letters)
      ledger_outbox_depth, ledger_outbox_oldest_age_seconds
      ledger_batches_total, ledger_batch_failures_total, ledger_queries_total
      ledger_batch_messages (histogram)             inbound messages + answers per write batch
      ledger_commit_duration_seconds (histogram)    write batch apply + durable commit
      ledger_feed_dropped_total                     feed items dropped (batch over the feed's limit)
      ledger_store_preallocated_bytes_total, ledger_store_prealloc_failures_total
                                                    data file allocated ahead of use
                                                    (store/prealloc.h; absent with
                                                    --prealloc-bytes 0)
      ledger_storage_faulted, ledger_storage_faulted_since_seconds
                                                    1 once the node is faulted (node.h,
                                                    "Storage faults"), and since when
      ledger_store_used_bytes, ledger_store_file_bytes  pages in use; the data's
                                                    high-water mark (store_space, store.h)
      ledger_store_map_bytes, ledger_store_map_max_bytes  the map now; --map-max-bytes
      ledger_disk_total_bytes, ledger_disk_free_bytes  the data directory's file system
      ledger_store_full{reason}                     1 while the store has no room:
          map_full | disk_full (store_room)
      ledger_store_room_failures_total{reason}      write transactions that failed for room
      ledger_storage_refused_total                  write requests answered 503
                                                    storage_unavailable for room (gateway)
      gateway only:
      ledger_http_requests_total{method,route,status}  public API requests answered
      ledger_transfers_final_total{status}          transfers that reached settled |
          rejected_fraud | declined (status events applied since start)
      accounts only (its own hook, accounts_main.c, admin_metrics_fn):
      ledger_accounts_dirty_balances, ledger_accounts_checkpoints_total,
      ledger_accounts_balances_written_total        the balance cache (accounts_cache.h)

    What it owns: nothing; it writes to the caller's FILE.

    How to call it: admin_metrics_write(node, out) per scrape (admin_http.c
    does, then appends the node's own families through an admin_metrics_fn);
    admin_metrics_scalar for such a family of one sample.

    Errors: none returned: a store that cannot be read shows as zero
    gauges; write errors are the FILE's. A NULL node or FILE is a bug,
    asserted.

    Thread: any (reads the node through its thread-safe getters and the
    store in a short read transaction).
*/
#ifndef LEDGER_ADMIN_METRICS_H
#define LEDGER_ADMIN_METRICS_H

#include <stdio.h>
#include "node.h"

/* Writes the exposition text for `node` to `out`. */
void admin_metrics_write(node_t *node, FILE *out);

/* Writes one metric family with a single sample: HELP, TYPE ("counter" or "gauge"), value. */
void admin_metrics_scalar(FILE *out, const char *name, const char *type, const char *help,
                          uint64_t value);

/*  ledger_retention_pruned_total{what="<what>"}: records a node deleted past their retention
    since its start (the gateway's views, the accounts node's saga state). */
void admin_metrics_retention_pruned(FILE *out, const char *what, uint64_t value);

/*  A node's own metrics, appended to /metrics (MHD's thread: read only what
    is safe to read from another thread, e.g. atomics). */
typedef void (*admin_metrics_fn)(FILE *out, void *arg);

#endif

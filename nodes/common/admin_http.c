/* admin_http.c: health, metrics, outbox and dead-letter views, replay. */
#include "admin_http.h"
#include "text.h"

#include <arpa/inet.h>
#include <assert.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admin_metrics.h"
#include "clock.h"
#include "http_deadline.h"
#include "node_log.h"
#include "proto_json.h"

#define ADMIN_CONNECTIONS_MAX 64u             /* concurrent admin connections */
#define ADMIN_CONNECTION_TIMEOUT_S 10u        /* an idle admin connection is closed after this */
#define ADMIN_CONNECTION_MEMORY (32u * 1024u) /* MHD_OPTION_CONNECTION_MEMORY_LIMIT, bytes */
#define ADMIN_REPLAY_ID_MAX 23                /* bytes of the id in /dead-letters/{id}/replay */
#define ADMIN_MESSAGE_BYTES 64                /* an error message built from a bound */
#define ADMIN_BEARER_PREFIX "Bearer "         /* the Authorization scheme, with its space */
#define ADMIN_DISCARD_MAX (1024 * 1024) /* body bytes read past ADMIN_BODY_MAX before closing */
#define ADMIN_HOST_MAX 255              /* bytes of the name in a Host header */

/* One request's body while it is read (MHD's per-request pointer). */
typedef struct {
    char *body;
    size_t len;
    size_t discarded;
    bool too_large;
} admin_req_t;

struct admin_http_t {
    admin_http_config_t config;
    char token[ADMIN_TOKEN_MAX + 1];
    char route_path[ADMIN_ROUTE_PATH_MAX + 1];
    struct MHD_Daemon *daemon;
    http_deadline_t *deadline; /* head and body deadlines (http_deadline.h) */
};

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, const char *type,
                               char *body, size_t len)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", type);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    enum MHD_Result r = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return r;
}

static enum MHD_Result respond_json(struct MHD_Connection *conn, unsigned status, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text)
        return MHD_NO;
    return respond(conn, status, "application/json", text, strlen(text));
}

static enum MHD_Result respond_error(struct MHD_Connection *conn, unsigned status, const char *code,
                                     const char *message)
{
    return respond_json(conn, status,
                        json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", message));
}

/* Reads ?after= and ?limit=; false (and an answer queued) if they are bad. */
static bool page_args(struct MHD_Connection *conn, uint64_t *after, uint64_t *limit)
{
    const char *a = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "after");
    const char *l = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "limit");
    *after = 0;
    *limit = ADMIN_PAGE_DEFAULT;
    if ((a && !text_parse_u64(a, after)) ||
        (l && (!text_parse_u64(l, limit) || *limit == 0 || *limit > ADMIN_PAGE_MAX))) {
        char message[ADMIN_MESSAGE_BYTES];
        snprintf(message, sizeof message, "after must be an integer, limit 1..%d", ADMIN_PAGE_MAX);
        respond_error(conn, 400, "invalid_page", message);
        return false;
    }
    return true;
}

static json_t *message_json(const void *msg, size_t size)
{
    json_t *decoded = proto_json_from_frame(msg, size);
    return decoded ? decoded
                   : json_pack("{s:s,s:I}", "undecodable", "true", "size_bytes", (json_int_t)size);
}

/* Reads the entry after key `after` of one table: LEDGER_OK with its key and its JSON, or an
   error (LEDGER_E_NOT_FOUND past the last). */
typedef ledger_err_t (*page_next_fn)(store_txn_t *txn, uint64_t after, uint64_t *key,
                                     json_t **entry);

/* Appends up to `limit` entries after `after` to `entries`; *last: the key of the last one read
   (`after` if none). True when the page is full and more may follow. */
static bool page_read(store_txn_t *txn, page_next_fn next, uint64_t after, uint64_t limit,
                      json_t *entries, uint64_t *last)
{
    *last = after;
    ledger_err_t err = LEDGER_OK;
    json_t *entry = NULL;
    while (json_array_size(entries) < limit && (err = next(txn, *last, last, &entry)) == LEDGER_OK)
        json_array_append_new(entries, entry);
    return json_array_size(entries) == limit && err == LEDGER_OK;
}

static ledger_err_t outbox_next_json(store_txn_t *txn, uint64_t after, uint64_t *key,
                                     json_t **entry)
{
    store_outbox_entry_t e;
    ledger_err_t err = store_outbox_next(txn, after, &e);
    if (err)
        return err;
    *key = e.seq;
    *entry =
        json_pack("{s:I,s:s,s:I,s:I,s:I,s:o}", "seq", (json_int_t)e.seq, "peer", e.peer, "attempts",
                  (json_int_t)e.attempts, "created_ms", (json_int_t)e.created_ms, "next_attempt_ms",
                  (json_int_t)e.next_attempt_ms, "message", message_json(e.msg, e.msg_size));
    return LEDGER_OK;
}

static json_t *dead_json(const store_dead_letter_t *d)
{
    return json_pack("{s:I,s:s,s:I,s:I,s:I,s:s,s:s,s:o}", "id", (json_int_t)d->id, "peer", d->peer,
                     "attempts", (json_int_t)d->attempts, "created_ms", (json_int_t)d->created_ms,
                     "dead_ms", (json_int_t)d->dead_ms, "code", d->code, "reason", d->reason,
                     "message", message_json(d->msg, d->msg_size));
}

static ledger_err_t dead_next_json(store_txn_t *txn, uint64_t after, uint64_t *key, json_t **entry)
{
    store_dead_letter_t d;
    ledger_err_t err = store_dead_next(txn, after, &d);
    if (err)
        return err;
    *key = d.id;
    *entry = dead_json(&d);
    return LEDGER_OK;
}

/* GET of a page of one table (?after=&limit=): its entries under `name`, with the outbox's
   depth and oldest age when `outbox_stats`, and "next_after" when more may follow. */
static enum MHD_Result get_page(admin_http_t *self, struct MHD_Connection *conn, page_next_fn next,
                                const char *name, bool outbox_stats)
{
    uint64_t after, limit;
    if (!page_args(conn, &after, &limit))
        return MHD_YES;
    store_txn_t *txn = NULL;
    if (store_txn_begin(node_store(self->config.node), false, &txn))
        return respond_error(conn, 503, "store_unavailable", "could not read the store");
    json_t *entries = json_array();
    uint64_t last;
    bool more = page_read(txn, next, after, limit, entries, &last);
    json_t *body = json_pack("{s:o}", name, entries);
    if (outbox_stats) {
        uint64_t depth = 0, oldest = 0;
        store_outbox_stats(txn, node_now_ms(), &depth, &oldest);
        json_object_set_new(body, "depth", json_integer((json_int_t)depth));
        json_object_set_new(body, "oldest_age_ms", json_integer((json_int_t)oldest));
    }
    store_txn_abort(&txn);
    if (more)
        json_object_set_new(body, "next_after", json_integer((json_int_t)last));
    return respond_json(conn, 200, body);
}

typedef struct {
    uint64_t id;
    uint64_t new_seq;
} replay_t;

static ledger_err_t replay_write(store_txn_t *txn, void *arg)
{
    replay_t *r = arg;
    return store_dead_replay(txn, r->id, node_now_ms(), &r->new_seq);
}

/* The message id and transfer id of outbox entry `seq`, for the log line ("-" if unknown). */
static void describe_outbox_entry(store_t *store, uint64_t seq, char msg_id[PROTO_ID_MAX + 1],
                                  char corr[PROTO_TRANSFER_ID_MAX + 1])
{
    store_txn_t *txn = NULL;
    if (store_txn_begin(store, false, &txn) != LEDGER_OK)
        return;
    store_outbox_entry_t e;
    proto_msg_t msg;
    if (store_outbox_get(txn, seq, &e) == LEDGER_OK &&
        proto_decode(e.msg, e.msg_size, &msg, NULL, 0) == LEDGER_OK) {
        proto_msg_id(&msg, msg_id);
        if (msg.corr[0])
            snprintf(corr, PROTO_TRANSFER_ID_MAX + 1, "%s", msg.corr);
        proto_msg_release(&msg);
    }
    store_txn_abort(&txn);
}

/* 503 storage_unavailable for a write on a faulted node (node.h, "Storage faults"). */
static enum MHD_Result refuse_faulted(struct MHD_Connection *conn)
{
    return respond_error(conn, 503, "storage_unavailable",
                         "the node's storage is faulted (see /health): it writes nothing until "
                         "restored and restarted");
}

static enum MHD_Result post_replay(admin_http_t *self, struct MHD_Connection *conn,
                                   const char *id_text)
{
    replay_t r = {0};
    if (!text_parse_u64(id_text, &r.id))
        return respond_error(conn, 400, "invalid_id", "dead letter id must be an integer");
    if (node_fault_active(self->config.node))
        return refuse_faulted(conn);
    ledger_err_t err = store_write(node_store(self->config.node), replay_write, &r);
    if (err == LEDGER_E_NOT_FOUND)
        return respond_error(conn, 404, "not_found", "no such dead letter (replayed already?)");
    if (err)
        return respond_error(conn, 503, ledger_err_name(err), "could not write the store");
    node_wake(self->config.node);
    char msg_id[PROTO_ID_MAX + 1] = "-", corr[PROTO_TRANSFER_ID_MAX + 1] = "-";
    describe_outbox_entry(node_store(self->config.node), r.new_seq, msg_id, corr);
    node_log_write(NODE_LOG_INFO,
                   "event=dead_letter_replayed id=%" PRIu64 " outbox_seq=%" PRIu64
                   " msg=%s corr=%s",
                   r.id, r.new_seq, msg_id, corr);
    return respond_json(conn, 200,
                        json_pack("{s:I,s:I,s:s}", "replayed", (json_int_t)r.id, "outbox_seq",
                                  (json_int_t)r.new_seq, "status", "queued"));
}

/*  /health's verdict: each check below raises it (never lowers) and adds
    its fields, and a reason when it raises, to the body. */
typedef enum { HEALTH_OK, HEALTH_DEGRADED, HEALTH_UNAVAILABLE, HEALTH_FAULTED } health_level_t;

static const char *const health_status[] = {"ok", "degraded", "unavailable", "faulted"};

static void health_raise(json_t *body, health_level_t *level, health_level_t to, const char *why)
{
    if (to > *level)
        *level = to;
    json_array_append_new(json_object_get(body, "reasons"), json_string(why));
}

/*  Peers and the allow-list: 503 when the oldest outbox entry is older
    than stale_outbox_ms (a peer is away) or the allow-list's last reload
    failed (the node judges peers by an older list than the operator wrote). */
static void health_links(admin_http_t *self, json_t *body, health_level_t *level, uint64_t oldest)
{
    uint64_t stale_ms =
        self->config.stale_outbox_ms ? self->config.stale_outbox_ms : ADMIN_STALE_OUTBOX_MS;
    node_stats_t stats;
    node_get_stats(self->config.node, &stats);
    bool allow_ok = !stats.links.allow.reload_failing;
    json_object_set_new(body, "peers_reachable", json_boolean(oldest < stale_ms));
    json_object_set_new(body, "allow_list", json_string(allow_ok ? "ok" : "reload_failed"));
    if (oldest >= stale_ms)
        health_raise(body, level, HEALTH_UNAVAILABLE, "peers_unreachable");
    if (!allow_ok) {
        json_object_set_new(body, "allow_list_error", json_string(stats.links.allow.reload_error));
        health_raise(body, level, HEALTH_UNAVAILABLE, "allow_list_reload_failed");
    }
}

/* `part` of `whole` in percent, one decimal (0 when whole is 0). */
static double health_pct(uint64_t part, uint64_t whole)
{
    return whole ? (double)(part * 1000 / whole) / 10.0 : 0.0;
}

/*  Room of the map and the disk (store_space): degraded (200) from
    ADMIN_HEALTH_DEGRADED_PCT used, 503 from ADMIN_HEALTH_UNAVAILABLE_PCT or
    while the store is full (its last write failed for room). */
static void health_storage(admin_http_t *self, json_t *body, health_level_t *level)
{
    store_space_t sp;
    store_space(node_store(self->config.node), &sp);
    uint64_t disk_whole = sp.disk_used_bytes + sp.disk_free_bytes;
    double map_pct = health_pct(sp.used_bytes, sp.map_max_bytes);
    double disk_pct = health_pct(sp.disk_used_bytes, disk_whole);
    json_object_set_new(body, "storage",
                        json_pack("{s:s,s:f,s:f,s:I,s:I,s:I}", "room", store_room_name(sp.room),
                                  "map_used_pct", map_pct, "disk_used_pct", disk_pct, "used_bytes",
                                  (json_int_t)sp.used_bytes, "map_max_bytes",
                                  (json_int_t)sp.map_max_bytes, "disk_free_bytes",
                                  (json_int_t)sp.disk_free_bytes));
    if (sp.room != STORE_ROOM_OK)
        health_raise(body, level, HEALTH_UNAVAILABLE, store_room_name(sp.room));
    if (map_pct >= ADMIN_HEALTH_UNAVAILABLE_PCT)
        health_raise(body, level, HEALTH_UNAVAILABLE, "map_usage_critical");
    else if (map_pct >= ADMIN_HEALTH_DEGRADED_PCT)
        health_raise(body, level, HEALTH_DEGRADED, "map_usage_high");
    if (disk_whole && disk_pct >= ADMIN_HEALTH_UNAVAILABLE_PCT)
        health_raise(body, level, HEALTH_UNAVAILABLE, "disk_usage_critical");
    else if (disk_whole && disk_pct >= ADMIN_HEALTH_DEGRADED_PCT)
        health_raise(body, level, HEALTH_DEGRADED, "disk_usage_high");
}

/*  Issue 20's storage fault (node.h, "Storage faults"): when the node is
    faulted, "fault" {source, reason, since} and the reason
    "storage_faulted"; status "faulted" (503), above every other. */
static void health_storage_fault(node_t *node, json_t *body, health_level_t *level)
{
    node_fault_t fault;
    node_fault_get(node, &fault);
    if (!fault.faulted)
        return;
    char since[CLOCK_UTC_TEXT_SIZE];
    clock_format_utc(fault.since_ms, since);
    json_object_set_new(body, "fault",
                        json_pack("{s:s,s:s,s:s,s:I}", "source", fault.source, "reason",
                                  fault.reason, "since", since, "since_ms",
                                  (json_int_t)fault.since_ms));
    health_raise(body, level, HEALTH_FAULTED, "storage_faulted");
}

/*  200 "ok" when every check passes, 200 "degraded" when one warns (room
    running out), 503 "unavailable" when one fails, 503 "faulted" when the
    storage is faulted; "reasons" names each
    check that did not pass. 503 at once when the store cannot be read. */
static enum MHD_Result get_health(admin_http_t *self, struct MHD_Connection *conn)
{
    store_txn_t *txn = NULL;
    if (store_txn_begin(node_store(self->config.node), false, &txn))
        return respond_json(conn, 503,
                            json_pack("{s:s,s:s,s:[s]}", "status", "unavailable", "store",
                                      "unreadable", "reasons", "store_unreadable"));
    uint64_t depth = 0, oldest = 0;
    ledger_err_t err = store_outbox_stats(txn, node_now_ms(), &depth, &oldest);
    store_txn_abort(&txn);
    json_t *body =
        json_pack("{s:s,s:I,s:I,s:[]}", "store", err ? "error" : "ok", "outbox_depth",
                  (json_int_t)depth, "outbox_oldest_age_ms", (json_int_t)oldest, "reasons");
    health_level_t level = HEALTH_OK;
    if (err)
        health_raise(body, &level, HEALTH_UNAVAILABLE, "store_error");
    health_links(self, body, &level, oldest);
    health_storage(self, body, &level);
    health_storage_fault(self->config.node, body, &level);
    json_object_set_new(body, "status", json_string(health_status[level]));
    return respond_json(conn, level >= HEALTH_UNAVAILABLE ? 503 : 200, body);
}

/* The admin port's own connections closed past their deadlines (http_deadline.h). */
static void write_refusals(admin_http_t *self, FILE *out)
{
    uint64_t body = 0, head = http_deadline_closed(self->deadline, &body);
    fprintf(out,
            "# HELP ledger_admin_http_refused_total Admin port connections closed to bound "
            "resources\n"
            "# TYPE ledger_admin_http_refused_total counter\n"
            "ledger_admin_http_refused_total{reason=\"head_deadline\"} %" PRIu64 "\n"
            "ledger_admin_http_refused_total{reason=\"body_deadline\"} %" PRIu64 "\n",
            head, body);
}

static enum MHD_Result get_metrics(admin_http_t *self, struct MHD_Connection *conn)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (!out)
        return MHD_NO;
    admin_metrics_write(self->config.node, out);
    if (self->config.node_metrics)
        self->config.node_metrics(out, self->config.node_metrics_arg);
    write_refusals(self, out);
    fclose(out);
    return respond(conn, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

static bool authorized(admin_http_t *self, struct MHD_Connection *conn)
{
    if (!self->token[0])
        return true;
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    size_t prefix = strlen(ADMIN_BEARER_PREFIX);
    if (!auth || strncmp(auth, ADMIN_BEARER_PREFIX, prefix) != 0)
        return false;
    /* Both sides padded to the longest token: the time taken says nothing of the
       token's length or of how much of it matched. */
    char given[ADMIN_TOKEN_MAX + 1] = {0};
    size_t given_len = strnlen(auth + prefix, ADMIN_TOKEN_MAX + 1);
    memcpy(given, auth + prefix, given_len > ADMIN_TOKEN_MAX ? ADMIN_TOKEN_MAX : given_len);
    unsigned char diff = given_len != strlen(self->token);
    for (size_t i = 0; i < ADMIN_TOKEN_MAX; i++)
        diff |= (unsigned char)(given[i] ^ self->token[i]);
    return diff == 0;
}

/*  True if `host` (a Host header: name or address, optional port) names this
    machine by address or as localhost. A DNS-rebinding page reaches the admin
    port under its own domain name, which this refuses. */
static bool admin_host_trusted(const char *host)
{
    if (!host)
        return true; /* HTTP/1.0 without Host: no browser sends that */
    char name[ADMIN_HOST_MAX + 1];
    size_t n = strcspn(host, host[0] == '[' ? "]" : ":");
    if (host[0] == '[')
        host++, n--;
    if (n == 0 || n > ADMIN_HOST_MAX)
        return false;
    memcpy(name, host, n);
    name[n] = '\0';
    unsigned char addr[sizeof(struct in6_addr)];
    return strcmp(name, "localhost") == 0 || inet_pton(AF_INET, name, addr) == 1 ||
           inet_pton(AF_INET6, name, addr) == 1;
}

/*  True if a POST says its body is JSON (Content-Type application/json, parameters allowed). A
    page can make a browser send a "simple" cross-site POST (text/plain, a form) without asking
    first; never one with this type. Bodiless POSTs say it too: the rule has no exceptions. */
static bool admin_post_is_json(struct MHD_Connection *conn)
{
    const char *type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    static const char json[] = "application/json";
    size_t n = sizeof json - 1;
    return type && strncasecmp(type, json, n) == 0 &&
           (type[n] == '\0' || type[n] == ';' || type[n] == ' ');
}

/*  Refuses, before any body is read, what no operator's tool sends: a browser's
    cross-origin or rebinding request (an Origin header, a Host that is a
    domain name, a POST that is not JSON) and a request without the admin
    token. NULL: go on. */
static const char *admin_refusal(admin_http_t *self, struct MHD_Connection *conn,
                                 const char *method, unsigned *status, const char **code)
{
    if (MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin")) {
        *status = 403, *code = "forbidden_origin";
        return "the admin API does not answer browsers' cross-origin requests";
    }
    if (!admin_host_trusted(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host"))) {
        *status = 403, *code = "bad_host";
        return "the Host header must be an address or localhost";
    }
    if (!authorized(self, conn)) {
        *status = 401, *code = "unauthorized";
        return "admin token required: Authorization: Bearer <token>";
    }
    if (strcmp(method, "POST") == 0 && !admin_post_is_json(conn)) {
        *status = 415, *code = "unsupported_media_type";
        return "an admin POST needs Content-Type: application/json (also without a body)";
    }
    return NULL;
}

/* Matches url against pattern; fills req->params (pointing into store[]) on a match. */
static bool pattern_match(const char *pattern, const char *url, admin_request_t *req,
                          char store[ADMIN_PARAMS_MAX][ADMIN_PARAM_MAX + 1])
{
    req->param_count = 0;
    while (*pattern && *url) {
        if (strncmp(pattern, "{}", 2) == 0) {
            size_t n = strcspn(url, "/");
            if (n == 0 || n > ADMIN_PARAM_MAX || req->param_count == ADMIN_PARAMS_MAX)
                return false;
            memcpy(store[req->param_count], url, n);
            store[req->param_count][n] = '\0';
            req->params[req->param_count] = store[req->param_count];
            req->param_count++;
            pattern += 2;
            url += n;
        } else if (*pattern++ != *url++) {
            return false;
        }
    }
    return *pattern == '\0' && *url == '\0';
}

/* A route of the node's table, if one matches; *queued: an answer was queued (or failed). */
static bool serve_table(admin_http_t *self, struct MHD_Connection *conn, const char *url,
                        const char *method, const admin_req_t *rq, enum MHD_Result *queued)
{
    char params[ADMIN_PARAMS_MAX][ADMIN_PARAM_MAX + 1];
    admin_request_t req = {.body = rq->len ? rq->body : NULL, .body_len = rq->len};
    const admin_route_t *path_match = NULL;
    for (size_t i = 0; i < self->config.route_count; i++) {
        const admin_route_t *r = &self->config.routes[i];
        if (!pattern_match(r->pattern, url, &req, params))
            continue;
        path_match = r;
        if (strcmp(r->method, method) != 0)
            continue;
        if (rq->too_large) {
            char message[ADMIN_MESSAGE_BYTES];
            snprintf(message, sizeof message, "the body is larger than %d bytes", ADMIN_BODY_MAX);
            *queued = respond_error(conn, 413, "payload_too_large", message);
            return true;
        }
        if (strcmp(method, "GET") != 0 && node_fault_active(self->config.node)) {
            *queued = refuse_faulted(conn);
            return true;
        }
        json_t *body = NULL;
        unsigned status =
            r->handler(node_store(self->config.node), &req, &body, self->config.routes_arg);
        *queued = body ? respond_json(conn, status, body)
                       : respond(conn, status, "application/json", NULL, 0);
        return true;
    }
    if (path_match)
        *queued = respond_error(conn, 405, "method_not_allowed", "no such method on this route");
    return path_match != NULL;
}

/* Keeps an upload chunk (up to ADMIN_BODY_MAX; past it, drops and counts). false: close. */
static bool body_append(admin_req_t *rq, const char *data, size_t size)
{
    if (rq->too_large || size > ADMIN_BODY_MAX - rq->len) {
        rq->too_large = true;
        rq->discarded += size;
        return rq->discarded <= ADMIN_DISCARD_MAX;
    }
    char *grown = realloc(rq->body, rq->len + size);
    if (!grown)
        return false;
    memcpy(grown + rq->len, data, size);
    rq->body = grown;
    rq->len += size;
    return true;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    admin_http_t *self = cls;
    http_deadline_next_request(self->deadline, conn);
    admin_req_t *rq = *req_cls;
    if (rq) {
        free(rq->body);
        free(rq);
    }
    *req_cls = NULL;
}

/* The built-in routes and the node's single GET route; false if none matches. */
static bool serve_builtin(admin_http_t *self, struct MHD_Connection *conn, const char *url,
                          bool get, enum MHD_Result *queued)
{
    if (!(strcmp(url, "/health") == 0 || strcmp(url, "/metrics") == 0 ||
          strcmp(url, "/outbox") == 0 || strcmp(url, "/dead-letters") == 0 ||
          (self->route_path[0] && strcmp(url, self->route_path) == 0)))
        return false;
    if (!get)
        *queued = respond_error(conn, 405, "method_not_allowed", "use GET");
    else if (strcmp(url, "/health") == 0)
        *queued = get_health(self, conn);
    else if (strcmp(url, "/metrics") == 0)
        *queued = get_metrics(self, conn);
    else if (strcmp(url, "/outbox") == 0)
        *queued = get_page(self, conn, outbox_next_json, "entries", true);
    else if (strcmp(url, "/dead-letters") == 0)
        *queued = get_page(self, conn, dead_next_json, "dead_letters", false);
    else {
        json_t *body = NULL;
        unsigned status =
            self->config.route(node_store(self->config.node), &body, self->config.route_arg);
        *queued = respond_json(conn, status, body ? body : json_object());
    }
    return true;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **req_cls)
{
    (void)version;
    admin_http_t *self = cls;
    if (*req_cls == NULL) { /* first call: headers only */
        unsigned status;
        const char *code;
        const char *why = admin_refusal(self, conn, method, &status, &code);
        http_deadline_head_done(self->deadline, conn, strcmp(method, "POST") == 0, ADMIN_BODY_MAX);
        if (why)
            return respond_error(conn, status, code, why);
        *req_cls = calloc(1, sizeof(admin_req_t));
        return *req_cls ? MHD_YES : MHD_NO;
    }
    admin_req_t *rq = *req_cls;
    if (*upload_size) {
        bool keep = body_append(rq, upload, *upload_size);
        *upload_size = 0;
        return keep ? MHD_YES : MHD_NO;
    }
    http_deadline_body_done(self->deadline, conn);
    bool get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
    const char *replay_prefix = "/dead-letters/";
    size_t plen = strlen(replay_prefix);
    if (post && strncmp(url, replay_prefix, plen) == 0) {
        const char *rest = url + plen;
        const char *slash = strchr(rest, '/');
        if (slash && strcmp(slash, "/replay") == 0 &&
            (size_t)(slash - rest) <= ADMIN_REPLAY_ID_MAX) {
            char id[ADMIN_REPLAY_ID_MAX + 1];
            memcpy(id, rest, (size_t)(slash - rest));
            id[slash - rest] = '\0';
            return post_replay(self, conn, id);
        }
    }
    enum MHD_Result queued = MHD_NO;
    if (serve_builtin(self, conn, url, get, &queued) ||
        serve_table(self, conn, url, method, rq, &queued))
        return queued;
    return respond_error(conn, 404, "not_found", "no such admin route");
}

ledger_err_t admin_http_start(const admin_http_config_t *config, admin_http_t **out)
{
    assert(config && out);
    *out = NULL;
    if (config->port == 0)
        return LEDGER_OK;
    if (config->token && strlen(config->token) > ADMIN_TOKEN_MAX) {
        /* Truncating it would lock every operator out with a token that never matches. */
        node_log_write(NODE_LOG_ERROR, "event=admin_token_too_long max_bytes=%d", ADMIN_TOKEN_MAX);
        return LEDGER_E_INVALID;
    }
    admin_http_t *self = calloc(1, sizeof *self);
    if (!self)
        return LEDGER_E_NOMEM;
    self->config = *config;
    snprintf(self->token, sizeof self->token, "%s", config->token ? config->token : "");
    snprintf(self->route_path, sizeof self->route_path, "%s",
             config->route && config->route_path ? config->route_path : "");
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons(config->port);
    if (inet_pton(AF_INET, config->host, &addr.sin_addr) != 1) {
        node_log_write(NODE_LOG_ERROR, "event=admin_bad_host host=%s", config->host);
        free(self);
        return LEDGER_E_INVALID;
    }
    /* The public port's slowloris deadlines and memory limit (README, limits of the ports). */
    if (http_deadline_new(config->head_timeout_ms, 0, 1000u * ADMIN_CONNECTION_TIMEOUT_S,
                          &self->deadline) != LEDGER_OK) {
        free(self);
        return LEDGER_E_NOMEM;
    }
    self->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, config->port, NULL, NULL, on_request,
        self, MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_CONNECTION_LIMIT, ADMIN_CONNECTIONS_MAX,
        MHD_OPTION_CONNECTION_TIMEOUT, ADMIN_CONNECTION_TIMEOUT_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)ADMIN_CONNECTION_MEMORY,
        MHD_OPTION_NOTIFY_CONNECTION, http_deadline_notify, self->deadline,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, self, MHD_OPTION_END);
    if (!self->daemon) {
        http_deadline_destroy(&self->deadline);
        node_log_write(NODE_LOG_ERROR, "event=admin_bind_failed host=%s port=%u", config->host,
                       config->port);
        free(self);
        return LEDGER_E_IO;
    }
    node_log_write(NODE_LOG_INFO, "event=admin_listening host=%s port=%u auth=%s", config->host,
                   config->port, self->token[0] ? "token" : "none");
    *out = self;
    return LEDGER_OK;
}

void admin_http_destroy(admin_http_t **admin_p)
{
    assert(admin_p);
    if (!*admin_p)
        return;
    MHD_stop_daemon((*admin_p)->daemon);
    http_deadline_destroy(&(*admin_p)->deadline);
    free(*admin_p);
    *admin_p = NULL;
}

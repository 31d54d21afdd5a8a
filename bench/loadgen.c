/*  loadgen.c: HTTP load generator for the ledger benchmark (bench/run.sh).

    Plain sockets + epoll, HTTP/1.1 keep-alive, one request in flight per
    connection. Two loads:

      --mode single   POST /api/transfers, one transfer per request, its own
                      Idempotency-Key header
      --mode batch    POST /api/transfers/batch with --batch N transfers per
                      request, each with its own idempotency_key

    Closed loop by default (every connection sends its next request as soon as
    the answer arrives); --rate R (transfers/s) paces the sends (open loop on
    a schedule; latency is measured from the actual send, so it is a lower
    bound when the server falls behind). Transfers go between random
    accounts <prefix>0000000 .. <prefix>(N-1), amounts 1..99 pence.

    Prints one line of key=value figures on stdout: requests, transfers
    sent, accepted (HTTP 202 / batch items with status 202), errors (split
    into errors_status: another answer, the last one's status in
    last_error_status; errors_closed: not sent, or the connection closed
    before the answer), elapsed seconds, accepted/s and the request latency p50/p99/p999 in ms.
    With --api-key (or $LEDGER_API_KEY) every request carries
    "Authorization: Bearer <key>" (the gateway refuses /api requests without one).
*/
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CONNS_MAX 4096
#define BATCH_ITEMS_MAX 8190
#define REQUEST_ITEM_BYTES 160
#define RESPONSE_INITIAL_BYTES 65536
#define LATENCY_SAMPLES_MAX 4000000
#define AUTH_HEADER_MAX 256 /* bytes of the Authorization header line */

typedef struct {
    int fd;
    bool busy;
    char *req;
    size_t req_len, req_sent;
    char *resp;
    size_t resp_len, resp_cap;
    uint64_t sent_ns;
    uint32_t items; /* transfers in the request in flight */
    uint64_t counter;
} conn_t;

static struct {
    const char *host;
    int port;
    int conns;
    double duration_s;
    double rate; /* transfers/s; 0 = closed loop */
    bool batch;
    int batch_items;
    uint32_t accounts;
    const char *account_prefix;
    const char *key_prefix;
    uint64_t max_transfers; /* stop sending after this many; 0 = no limit */
} opt = {"127.0.0.1", 8080, 64, 10.0, 0, false, 1000, 10000, "acct-", "lg", 0};

static uint64_t requests, transfers_sent, accepted, errors, replies;
/* What the errors were: answers other than 202 (the last such status), and
   transfers whose request could not be sent or whose connection closed first. */
static uint64_t errors_status, errors_closed;
static int last_error_status;
static uint64_t *lat_us;
static size_t lat_count;
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void pick_pair(uint32_t *from, uint32_t *to)
{
    *from = (uint32_t)(rng() % opt.accounts);
    do
        *to = (uint32_t)(rng() % opt.accounts);
    while (*to == *from);
}

static int connect_one(void)
{
    /* Blocking connect, then non-blocking I/O: the edge-triggered EPOLLOUT of the
       connect is never missed. */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt.port)};
    inet_pton(AF_INET, opt.host, &addr.sin_addr);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

/* "Authorization: Bearer <key>\r\n" (--api-key, else $LEDGER_API_KEY), or "" for none. */
static char auth_header[AUTH_HEADER_MAX];

/* Builds the next request of `c` into c->req. */
static void build_request(conn_t *c, int index)
{
    char body_small[256];
    char *body = body_small;
    size_t body_len;
    uint32_t from, to;
    if (!opt.batch) {
        pick_pair(&from, &to);
        body_len = (size_t)snprintf(
            body_small, sizeof body_small, "{\"from\":\"%s%07u\",\"to\":\"%s%07u\",\"amount\":%u}",
            opt.account_prefix, from, opt.account_prefix, to, (unsigned)(rng() % 99 + 1));
        c->items = 1;
        c->req_len =
            (size_t)snprintf(c->req, 1024,
                             "POST /api/transfers HTTP/1.1\r\nHost: bench\r\n"
                             "Content-Type: application/json\r\n%s"
                             "Idempotency-Key: %s-%d-%" PRIu64 "\r\n"
                             "Content-Length: %zu\r\n\r\n%s",
                             auth_header, opt.key_prefix, index, c->counter++, body_len, body);
        return;
    }
    size_t cap = (size_t)opt.batch_items * REQUEST_ITEM_BYTES + 64;
    body = malloc(cap);
    size_t len = (size_t)snprintf(body, cap, "{\"transfers\":[");
    for (int i = 0; i < opt.batch_items; i++) {
        pick_pair(&from, &to);
        len +=
            (size_t)snprintf(body + len, cap - len,
                             "%s{\"idempotency_key\":\"%s-%d-%" PRIu64 "\",\"from\":\"%s%07u\","
                             "\"to\":\"%s%07u\",\"amount\":%u}",
                             i ? "," : "", opt.key_prefix, index, c->counter++, opt.account_prefix,
                             from, opt.account_prefix, to, (unsigned)(rng() % 99 + 1));
    }
    len += (size_t)snprintf(body + len, cap - len, "]}");
    c->items = (uint32_t)opt.batch_items;
    c->req_len = (size_t)snprintf(c->req, 1024,
                                  "POST /api/transfers/batch HTTP/1.1\r\nHost: bench\r\n"
                                  "Content-Type: application/json\r\n%sContent-Length: %zu\r\n\r\n",
                                  auth_header, len);
    memcpy(c->req + c->req_len, body, len);
    c->req_len += len;
    free(body);
}

static bool send_more(conn_t *c)
{
    while (c->req_sent < c->req_len) {
        ssize_t n = send(c->fd, c->req + c->req_sent, c->req_len - c->req_sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return true;
            return false;
        }
        c->req_sent += (size_t)n;
    }
    return true;
}

/* Replaces connection `index` (closed or failed) with a new one. */
static void reconnect(int ep, conn_t *c, int index)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = connect_one();
    if (c->fd >= 0) {
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET,
                                 .data.u32 = (uint32_t)index};
        epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    }
}

static void start_request(int ep, conn_t *c, int index)
{
    build_request(c, index);
    c->req_sent = 0;
    c->resp_len = 0;
    c->busy = true;
    c->sent_ns = now_ns();
    requests++;
    transfers_sent += c->items;
    if (!send_more(c)) { /* the server closed it while it was idle */
        errors += c->items;
        errors_closed += c->items;
        c->busy = false;
        reconnect(ep, c, index);
    }
}

static size_t count_occurrences(const char *hay, size_t len, const char *needle)
{
    size_t n = 0, nl = strlen(needle);
    const char *p = hay, *end = hay + len;
    while ((p = memmem(p, (size_t)(end - p), needle, nl)) != NULL) {
        n++;
        p += nl;
    }
    return n;
}

/* Returns true when a whole response is in c->resp (and accounts for it). */
static bool response_done(conn_t *c)
{
    char *head_end = memmem(c->resp, c->resp_len, "\r\n\r\n", 4);
    if (!head_end)
        return false;
    size_t head_len = (size_t)(head_end - c->resp) + 4;
    const char *cl = memmem(c->resp, head_len, "Content-Length:", 15);
    if (!cl)
        cl = memmem(c->resp, head_len, "content-length:", 15);
    size_t body_len = cl ? strtoul(cl + 15, NULL, 10) : 0;
    if (c->resp_len < head_len + body_len)
        return false;
    int status = atoi(c->resp + 9);
    replies++;
    uint64_t failed = 0;
    if (!opt.batch) {
        if (status == 202)
            accepted++;
        else
            failed = 1;
    } else if (status == 200) {
        size_t ok = count_occurrences(head_end + 4, body_len, "\"status\":202");
        accepted += ok;
        failed = c->items - ok;
    } else {
        failed = c->items;
    }
    if (failed) {
        errors += failed;
        errors_status += failed;
        last_error_status = status; /* batch: 200 with refused items, or the request's status */
    }
    if (lat_count < LATENCY_SAMPLES_MAX)
        lat_us[lat_count++] = (now_ns() - c->sent_ns) / 1000u;
    c->busy = false;
    return true;
}

static bool read_more(conn_t *c)
{
    for (;;) {
        if (c->resp_cap - c->resp_len < 4096) {
            char *grown = realloc(c->resp, c->resp_cap * 2);
            if (!grown)
                return false; /* counted as a failed connection */
            c->resp = grown;
            c->resp_cap *= 2;
        }
        ssize_t n = recv(c->fd, c->resp + c->resp_len, c->resp_cap - c->resp_len, 0);
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK;
        if (n == 0)
            return false;
        c->resp_len += (size_t)n;
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(double p)
{
    if (lat_count == 0)
        return 0;
    size_t i = (size_t)(p * (double)(lat_count - 1));
    return (double)lat_us[i] / 1000.0;
}

static void usage(void)
{
    fprintf(stderr, "usage: loadgen [--host H] [--port P] [--conns C] [--duration S] [--rate R]\n"
                    "               [--mode single|batch] [--batch N] [--accounts N]\n"
                    "               [--account-prefix P] [--key-prefix K] [--seed S]\n"
                    "               [--max-transfers N] [--api-key lk_...]\n"
                    "  --api-key (or $LEDGER_API_KEY): sent as Authorization: Bearer\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *api_key = getenv("LEDGER_API_KEY");
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            usage();
        if (!strcmp(a, "--host"))
            opt.host = v;
        else if (!strcmp(a, "--port"))
            opt.port = atoi(v);
        else if (!strcmp(a, "--conns"))
            opt.conns = atoi(v);
        else if (!strcmp(a, "--duration"))
            opt.duration_s = atof(v);
        else if (!strcmp(a, "--rate"))
            opt.rate = atof(v);
        else if (!strcmp(a, "--mode"))
            opt.batch = !strcmp(v, "batch");
        else if (!strcmp(a, "--batch"))
            opt.batch_items = atoi(v);
        else if (!strcmp(a, "--accounts"))
            opt.accounts = (uint32_t)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--account-prefix"))
            opt.account_prefix = v;
        else if (!strcmp(a, "--key-prefix"))
            opt.key_prefix = v;
        else if (!strcmp(a, "--max-transfers"))
            opt.max_transfers = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--api-key"))
            api_key = v;
        else if (!strcmp(a, "--seed"))
            rng_state ^= strtoull(v, NULL, 10) * 0x2545f4914f6cdd1dull;
        else
            usage();
    }
    if (opt.conns < 1 || opt.conns > CONNS_MAX || opt.accounts < 2 || opt.batch_items < 1 ||
        opt.batch_items > BATCH_ITEMS_MAX)
        usage();
    if (api_key && *api_key &&
        snprintf(auth_header, sizeof auth_header, "Authorization: Bearer %s\r\n", api_key) >=
            (int)sizeof auth_header)
        usage();
    lat_us = malloc(LATENCY_SAMPLES_MAX * sizeof *lat_us);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    conn_t *conns = calloc((size_t)opt.conns, sizeof *conns);
    if (!lat_us || ep < 0 || !conns) {
        perror("loadgen: setup");
        return 1;
    }
    size_t req_cap = opt.batch ? (size_t)opt.batch_items * REQUEST_ITEM_BYTES + 1024 : 1024;
    for (int i = 0; i < opt.conns; i++) {
        conn_t *c = &conns[i];
        c->fd = connect_one();
        if (c->fd < 0) {
            perror("connect");
            return 1;
        }
        c->req = malloc(req_cap);
        c->resp_cap = RESPONSE_INITIAL_BYTES;
        c->resp = malloc(c->resp_cap);
        if (!c->req || !c->resp) {
            perror("loadgen: buffers");
            return 1;
        }
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    }
    uint64_t start = now_ns();
    uint64_t stop_at = start + (uint64_t)(opt.duration_s * 1e9);
    struct epoll_event events[256];
    int busy = 0;
    bool sending = true;
    for (;;) {
        uint64_t now = now_ns();
        if (sending &&
            (now >= stop_at || (opt.max_transfers && transfers_sent >= opt.max_transfers)))
            sending = false;
        if (sending) {
            double budget = opt.rate > 0 ? opt.rate * (double)(now - start) / 1e9 : 1e18;
            for (int i = 0; i < opt.conns && (double)transfers_sent < budget; i++) {
                conn_t *c = &conns[i];
                if (c->busy || c->fd < 0)
                    continue;
                start_request(ep, c, i);
                busy += c->busy;
            }
        }
        if (!sending && busy == 0)
            break;
        int n = epoll_wait(ep, events, 256, opt.rate > 0 ? 1 : 100);
        for (int k = 0; k < n; k++) {
            conn_t *c = &conns[events[k].data.u32];
            if (!c->busy)
                continue;
            bool ok = true;
            if (events[k].events & EPOLLOUT)
                ok = send_more(c);
            if (ok && (events[k].events & EPOLLIN)) {
                ok = read_more(c);
                if (response_done(c))
                    busy--;
            }
            if (!ok || (events[k].events & (EPOLLERR | EPOLLHUP))) {
                if (c->busy) {
                    errors += c->items;
                    errors_closed += c->items;
                    busy--;
                    c->busy = false;
                }
                reconnect(ep, c, (int)events[k].data.u32);
            }
        }
    }
    double elapsed = (double)(now_ns() - start) / 1e9;
    qsort(lat_us, lat_count, sizeof *lat_us, cmp_u64);
    printf("requests=%" PRIu64 " transfers=%" PRIu64 " accepted=%" PRIu64 " errors=%" PRIu64
           " errors_status=%" PRIu64 " last_error_status=%d errors_closed=%" PRIu64
           " elapsed_s=%.3f accepted_per_s=%.0f req_p50_ms=%.2f req_p99_ms=%.2f "
           "req_p999_ms=%.2f\n",
           requests, transfers_sent, accepted, errors, errors_status, last_error_status,
           errors_closed, elapsed, (double)accepted / elapsed, pct(0.50), pct(0.99), pct(0.999));
    for (int i = 0; i < opt.conns; i++) {
        if (conns[i].fd >= 0)
            close(conns[i].fd);
        free(conns[i].req);
        free(conns[i].resp);
    }
    free(conns);
    free(lat_us);
    close(ep);
    return 0;
}

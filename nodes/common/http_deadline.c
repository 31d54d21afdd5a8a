/* http_deadline.c: head and body deadlines per connection (http_deadline.h). */
#include "http_deadline.h"

#include "text.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#define SWEEP_MS 200u

typedef struct entry_t {
    struct entry_t *prev, *next;
    int fd;
    uint64_t deadline_ms; /* 0: none */
    bool in_head;         /* the deadline is a head's (else a body's) */
} entry_t;

struct http_deadline_t {
    uint32_t head_ms, min_rate, idle_ms;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stopping;
    entry_t *head; /* open connections */
    pthread_t thread;
    _Atomic uint64_t closed_head, closed_body;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sweep_once(http_deadline_t *d, uint64_t now)
{
    for (entry_t *e = d->head; e; e = e->next) {
        if (!e->deadline_ms || now < e->deadline_ms)
            continue;
        shutdown(e->fd, SHUT_RDWR); /* MHD sees the end and closes it */
        atomic_fetch_add(e->in_head ? &d->closed_head : &d->closed_body, 1);
        e->deadline_ms = 0;
    }
}

static void *sweep_main(void *arg)
{
    http_deadline_t *d = arg;
    pthread_mutex_lock(&d->lock);
    while (!d->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += (long)SWEEP_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&d->wake, &d->lock, &until);
        sweep_once(d, now_ms());
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

ledger_err_t http_deadline_new(uint32_t head_ms, uint32_t min_rate, uint32_t idle_ms,
                               http_deadline_t **out)
{
    assert(out);
    http_deadline_t *d = calloc(1, sizeof *d);
    if (!d)
        return LEDGER_E_NOMEM;
    d->head_ms = head_ms ? head_ms : HTTP_DEADLINE_HEAD_MS_DEFAULT;
    d->min_rate = min_rate ? min_rate : HTTP_DEADLINE_MIN_RATE_DEFAULT;
    d->idle_ms = idle_ms;
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->wake, NULL);
    if (pthread_create(&d->thread, NULL, sweep_main, d) != 0) {
        pthread_cond_destroy(&d->wake);
        pthread_mutex_destroy(&d->lock);
        free(d);
        return LEDGER_E_IO;
    }
    *out = d;
    return LEDGER_OK;
}

void http_deadline_destroy(http_deadline_t **self_p)
{
    http_deadline_t *d = self_p ? *self_p : NULL;
    if (!d)
        return;
    pthread_mutex_lock(&d->lock);
    d->stopping = true;
    pthread_cond_signal(&d->wake);
    pthread_mutex_unlock(&d->lock);
    pthread_join(d->thread, NULL);
    while (d->head) { /* none after MHD_stop_daemon; freed all the same */
        entry_t *e = d->head;
        d->head = e->next;
        free(e);
    }
    pthread_cond_destroy(&d->wake);
    pthread_mutex_destroy(&d->lock);
    free(d);
    *self_p = NULL;
}

void http_deadline_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    http_deadline_t *d = cls;
    entry_t *e = *socket_context;
    pthread_mutex_lock(&d->lock);
    if (code == MHD_CONNECTION_NOTIFY_STARTED && !e) {
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        e = info ? calloc(1, sizeof *e) : NULL;
        if (e) {
            e->fd = info->connect_fd;
            e->deadline_ms = now_ms() + d->head_ms;
            e->in_head = true;
            e->next = d->head;
            if (d->head)
                d->head->prev = e;
            d->head = e;
            *socket_context = e;
        }
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED && e) {
        if (e->prev)
            e->prev->next = e->next;
        else
            d->head = e->next;
        if (e->next)
            e->next->prev = e->prev;
        free(e);
        *socket_context = NULL;
    }
    pthread_mutex_unlock(&d->lock);
}

static void set_deadline(http_deadline_t *d, struct MHD_Connection *conn, uint64_t deadline,
                         bool in_head)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    entry_t *e = info ? info->socket_context : NULL;
    if (!e)
        return;
    pthread_mutex_lock(&d->lock);
    e->deadline_ms = deadline;
    e->in_head = in_head;
    pthread_mutex_unlock(&d->lock);
}

void http_deadline_head_done(http_deadline_t *self, struct MHD_Connection *conn, bool is_post,
                             uint64_t cap)
{
    const char *length =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    uint64_t body_bytes = is_post ? cap : 0;
    if (is_post && length && text_parse_u64(length, &body_bytes) && body_bytes > cap)
        body_bytes = cap; /* refused 413 with the headers anyway */
    uint64_t deadline =
        body_bytes ? now_ms() + self->head_ms + body_bytes * 1000u / self->min_rate : 0;
    set_deadline(self, conn, deadline, false);
}

void http_deadline_body_done(http_deadline_t *self, struct MHD_Connection *conn)
{
    set_deadline(self, conn, 0, false);
}

void http_deadline_next_request(http_deadline_t *self, struct MHD_Connection *conn)
{
    set_deadline(self, conn, now_ms() + self->idle_ms + self->head_ms, true);
}

uint64_t http_deadline_closed(const http_deadline_t *self, uint64_t *body)
{
    http_deadline_t *d = (http_deadline_t *)self;
    *body = d ? atomic_load(&d->closed_body) : 0;
    return d ? atomic_load(&d->closed_head) : 0;
}

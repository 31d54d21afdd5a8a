/* prealloc.c: a thread that keeps a data file allocated ahead of its used end (prealloc.h). */
#define _GNU_SOURCE /* fallocate */
#include "prealloc.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

struct prealloc_t {
    int fd;
    size_t ahead_bytes;
    pthread_t thread;
    pthread_mutex_t mutex;
    pthread_cond_t wake;    /* the thread waits here for work */
    pthread_cond_t reached; /* prealloc_wait waits here */
    size_t want_end;        /* under mutex: the end the thread is to reach */
    size_t asked_end;       /* under mutex: the largest end ever asked for */
    bool idle;              /* under mutex: the thread waits with nothing to do */
    bool stop;              /* under mutex */
    _Atomic size_t allocated_end;
    atomic_bool unsupported;
    uint32_t retry_ms;
    _Atomic uint64_t retry_after_ms; /* CLOCK_MONOTONIC: no new round before this */
    _Atomic uint64_t bytes_allocated, extensions, failures;
    atomic_int last_errno;
};

static size_t round_up(size_t n, size_t unit)
{
    return (n + unit - 1) / unit * unit;
}

static void count_failure(prealloc_t *self, int err)
{
    atomic_fetch_add(&self->failures, 1);
    atomic_store(&self->last_errno, err ? err : EIO);
    atomic_store(&self->retry_after_ms, clock_mono_ms() + self->retry_ms);
}

/*  Allocates the file up to `target` and makes that durable. fallocate (mode
    0) keeps every byte already in the file and only ever raises its size, so
    a commit writing past the end meanwhile is safe (prealloc.h). */
static bool extend_to(prealloc_t *self, size_t target)
{
    struct stat st;
    if (fstat(self->fd, &st) != 0) {
        count_failure(self, errno);
        return false;
    }
    size_t start = (size_t)st.st_size;
    if (start >= target) {
        atomic_store(&self->allocated_end, start);
        return true;
    }
    int rc;
    do
        rc = fallocate(self->fd, 0, (off_t)start, (off_t)(target - start));
    while (rc != 0 && errno == EINTR);
    if (rc != 0) {
        if (errno == EOPNOTSUPP || errno == ENOSYS)
            atomic_store(&self->unsupported, true);
        count_failure(self, errno);
        return false;
    }
    atomic_fetch_add(&self->bytes_allocated, target - start);
    atomic_store(&self->allocated_end, target);
    /* The allocation's metadata is written here, not in a node's commit. */
    if (fdatasync(self->fd) != 0) {
        count_failure(self, errno);
        return false;
    }
    atomic_fetch_add(&self->extensions, 1);
    return true;
}

static void *run(void *arg)
{
    prealloc_t *self = arg;
    pthread_mutex_lock(&self->mutex);
    while (!self->stop) {
        size_t target = self->want_end;
        if (target <= atomic_load(&self->allocated_end) || atomic_load(&self->unsupported)) {
            self->idle = true;
            pthread_cond_broadcast(&self->reached);
            pthread_cond_wait(&self->wake, &self->mutex);
            continue;
        }
        pthread_mutex_unlock(&self->mutex);
        bool ok = extend_to(self, target);
        pthread_mutex_lock(&self->mutex);
        if (!ok && self->want_end == target) {
            /* Give this target up (a full disk): the next note with more in use tries again. */
            self->want_end = atomic_load(&self->allocated_end);
        }
    }
    pthread_cond_broadcast(&self->reached);
    pthread_mutex_unlock(&self->mutex);
    return NULL;
}

ledger_err_t prealloc_new(int fd, size_t ahead_bytes, uint32_t retry_ms, prealloc_t **out)
{
    if (fd < 0 || ahead_bytes == 0 || !out)
        return LEDGER_E_INVALID;
    prealloc_t *self = calloc(1, sizeof *self);
    if (!self)
        return LEDGER_E_NOMEM;
    self->fd = fd;
    self->ahead_bytes = round_up(ahead_bytes, 4096);
    self->retry_ms = retry_ms;
    pthread_mutex_init(&self->mutex, NULL);
    pthread_cond_init(&self->wake, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&self->reached, &attr);
    pthread_condattr_destroy(&attr);
    struct stat st;
    size_t size = fstat(fd, &st) == 0 && st.st_size > 0 ? (size_t)st.st_size : 0;
    atomic_init(&self->allocated_end, size);
    self->want_end = size;
    if (pthread_create(&self->thread, NULL, run, self) != 0) {
        pthread_cond_destroy(&self->reached);
        pthread_cond_destroy(&self->wake);
        pthread_mutex_destroy(&self->mutex);
        free(self);
        return LEDGER_E_IO;
    }
    *out = self;
    return LEDGER_OK;
}

void prealloc_destroy(prealloc_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    prealloc_t *self = *self_p;
    pthread_mutex_lock(&self->mutex);
    self->stop = true;
    pthread_cond_signal(&self->wake);
    pthread_mutex_unlock(&self->mutex);
    pthread_join(self->thread, NULL);
    pthread_cond_destroy(&self->reached);
    pthread_cond_destroy(&self->wake);
    pthread_mutex_destroy(&self->mutex);
    free(self);
    *self_p = NULL;
}

void prealloc_note_used(prealloc_t *self, size_t used_bytes, size_t limit_bytes)
{
    assert(self);
    size_t allocated = atomic_load(&self->allocated_end);
    if (allocated >= limit_bytes || allocated >= used_bytes + self->ahead_bytes / 2 ||
        atomic_load(&self->unsupported) || clock_mono_ms() < atomic_load(&self->retry_after_ms))
        return;
    size_t target = round_up(used_bytes + self->ahead_bytes, PREALLOC_CHUNK_BYTES);
    if (target > limit_bytes)
        target = limit_bytes;
    pthread_mutex_lock(&self->mutex);
    if (target > self->want_end) {
        self->want_end = target;
        self->idle = false;
        pthread_cond_signal(&self->wake);
    }
    if (target > self->asked_end)
        self->asked_end = target;
    pthread_mutex_unlock(&self->mutex);
}

bool prealloc_wait(prealloc_t *self, uint32_t timeout_ms)
{
    struct timespec deadline = clock_mono_deadline(timeout_ms);
    pthread_mutex_lock(&self->mutex);
    /* Until the thread has nothing left to do: the end reached, or given up. */
    while (!self->idle && !self->stop)
        if (pthread_cond_timedwait(&self->reached, &self->mutex, &deadline) == ETIMEDOUT)
            break;
    bool reached = atomic_load(&self->allocated_end) >= self->asked_end;
    pthread_mutex_unlock(&self->mutex);
    return reached;
}

void prealloc_get_stats(prealloc_t *self, prealloc_stats_t *stats_out)
{
    stats_out->bytes_allocated = atomic_load(&self->bytes_allocated);
    stats_out->extensions = atomic_load(&self->extensions);
    stats_out->failures = atomic_load(&self->failures);
    stats_out->last_errno = atomic_load(&self->last_errno);
    stats_out->unsupported = atomic_load(&self->unsupported);
    stats_out->allocated_end = atomic_load(&self->allocated_end);
}

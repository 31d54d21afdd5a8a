/*  prealloc.h: keeps a data file's blocks allocated ahead of its used end.

    Why: LMDB grows its data file by writing pages past the end. On ext4 (and
    most file systems) a write that allocates blocks and moves the file size
    makes the next fdatasync write the allocation and the inode too: on a
    journaled ext4 that is a commit of the journal, which every process on
    the disk shares, so the three nodes' commits queue behind each other's;
    without a journal (this VM's ext4: perf shows ext4_fsync_nojournal) it is
    extra metadata writes in each commit. Measured on the 2-vCPU VM (three
    writers at once, 3 pages and two fdatasyncs per commit, like an LMDB
    commit; bench/fsync_growth.c): commit p50 0.77 ms when the file grows,
    0.65 ms when its blocks were fallocate()d before, 0.45 ms when they were
    written with zeros before (p99 noisy: 1.2-2.1 ms in all three).

    Zeros would be faster per commit but double the bytes written (the data
    files grow by ~2.5 KB per transfer, ~17 MB/s at the peak): in an A/B run
    at the peak that cost 0.80-0.92x settled/s, and writing them safely needs
    LMDB's writer lock. fallocate() writes no data: it allocates the blocks as
    "unwritten" extents and sets the size, in one call, and leaves every byte
    already in the file as it is, so it needs no lock: a commit that writes
    past the end at the same time loses nothing (both only ever raise the
    size). Pages past LMDB's last page are never read by it.

    So a thread of its own fallocate()s past the used end and fdatasyncs,
    off the committing thread's path: the allocation's metadata (or journal
    commit) is written there, once per chunk, instead of in the commits.
    Writing into an "unwritten" extent still marks it written at the next
    fdatasync, which is why fallocate gains less than zeros do.

    A file system without fallocate (EOPNOTSUPP) turns the thread off: LMDB
    writes past the end as before. Threads: prealloc_note_used from any
    thread (it takes a mutex only when the thread must be woken); new and
    destroy by the owner. Never prints: prealloc_get_stats says what happened.
*/
#ifndef LEDGER_PREALLOC_H
#define LEDGER_PREALLOC_H

#include <stddef.h>
#include <stdint.h>

#include <stdbool.h>

#include "ledger_err.h"

#define PREALLOC_CHUNK_BYTES ((size_t)1 << 20) /* ends are rounded up to this */

typedef struct prealloc_t prealloc_t;

typedef struct {
    uint64_t bytes_allocated; /* allocated past the end by the thread */
    uint64_t extensions;      /* fallocate + fdatasync rounds that succeeded */
    uint64_t failures;        /* fallocate or fdatasync calls that failed */
    int last_errno;           /* of the last failure, 0 if none */
    bool unsupported;         /* the file system has no fallocate: the thread is off */
    uint64_t allocated_end;   /* the file's blocks are allocated up to here */
} prealloc_stats_t;

/*  Starts the thread for `fd` (not owned: the caller keeps it open until
    prealloc_destroy returns; give it an fd of its own, not the one LMDB
    writes through: a write-back error is reported once per open file).
    `ahead_bytes` (> 0): how far past the used end the file is kept
    allocated; the thread is woken once less than half of that is left.
    After a failure (a full disk) notes are ignored for `retry_ms`.
    Errors: LEDGER_E_INVALID (bad arguments), LEDGER_E_NOMEM, LEDGER_E_IO
    (the thread did not start). */
ledger_err_t prealloc_new(int fd, size_t ahead_bytes, uint32_t retry_ms, prealloc_t **out);

/*  Stops and joins the thread (a call in progress finishes first), frees,
    sets *self_p to NULL. NULL or *self_p NULL: nothing. */
void prealloc_destroy(prealloc_t **self_p);

/*  After a commit: the file's pages are in use up to `used_bytes`, and none
    past `limit_bytes` (the map size) can ever be used. Wakes the thread when
    less than half of ahead_bytes is allocated past used_bytes. Cheap when it
    need not wake it (one atomic read). */
void prealloc_note_used(prealloc_t *self, size_t used_bytes, size_t limit_bytes);

/*  Waits until the thread has nothing left to do (it reached the end asked
    for, or gave it up after a failure) or `timeout_ms` passes. true when the
    file is allocated up to the largest end any prealloc_note_used asked for
    (its fdatasync may still be under way). For tests; the node never waits. */
bool prealloc_wait(prealloc_t *self, uint32_t timeout_ms);

void prealloc_get_stats(prealloc_t *self, prealloc_stats_t *stats_out);

#endif

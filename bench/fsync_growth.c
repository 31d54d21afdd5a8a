/*  fsync_growth.c: what a commit's fdatasync costs when the file grows,
    against a file whose blocks were allocated (fallocate) or written (zeros)
    before. The measurement behind store/prealloc.h.

        ledger-bench-fsync-growth [DIR] [COMMITS]

    Three writer processes at once (one per node), each in a file of its own
    in DIR (default: the current directory), do COMMITS (default 3000)
    commits shaped like an LMDB commit: three new 4 KiB pages at the end,
    fdatasync, the meta page rewritten, fdatasync. Prints each mode's p50,
    p90, p99 and p999 commit time in ms (the median of the three writers).
    Modes: grow (the file grows with each commit: LMDB as it is), fallocate
    (blocks allocated before, "unwritten" extents), zeros (blocks written
    with zeros before). The files are removed afterwards.
*/
#define _GNU_SOURCE /* fallocate */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WRITERS 3
#define PAGE_BYTES 4096
#define PAGES_PER_COMMIT 3

enum { MODE_GROW, MODE_FALLOCATE, MODE_ZEROS, MODE__COUNT };
static const char *const mode_names[MODE__COUNT] = {"grow", "fallocate", "zeros"};

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int write_all(int fd, const char *buf, size_t size, off_t offset)
{
    return pwrite(fd, buf, size, offset) == (ssize_t)size ? 0 : -1;
}

/* One writer: COMMITS commits into `path`; writes p50 p90 p99 p999 to `out`. */
static int run_writer(const char *path, int mode, int commits, double out[4])
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return -1;
    char page[PAGE_BYTES];
    memset(page, 0x5a, sizeof page);
    size_t ahead = ((size_t)commits * PAGES_PER_COMMIT + 16) * PAGE_BYTES;
    if (mode == MODE_FALLOCATE && fallocate(fd, 0, 0, (off_t)ahead) != 0)
        return -1;
    if (mode == MODE_ZEROS) {
        char zeros[PAGE_BYTES] = {0};
        for (size_t off = 0; off < ahead; off += PAGE_BYTES)
            if (write_all(fd, zeros, PAGE_BYTES, (off_t)off) != 0)
                return -1;
    }
    if (fsync(fd) != 0)
        return -1;
    double *lat = malloc((size_t)commits * sizeof *lat);
    if (!lat)
        return -1;
    off_t end = PAGE_BYTES; /* page 0 is the meta page */
    for (int i = 0; i < commits; i++) {
        double t0 = now_ms();
        for (int k = 0; k < PAGES_PER_COMMIT; k++, end += PAGE_BYTES)
            if (write_all(fd, page, PAGE_BYTES, end) != 0)
                return -1;
        if (fdatasync(fd) != 0 || write_all(fd, page, PAGE_BYTES, 0) != 0 || fdatasync(fd) != 0)
            return -1;
        lat[i] = now_ms() - t0;
    }
    qsort(lat, (size_t)commits, sizeof *lat, compare_double);
    out[0] = lat[commits / 2];
    out[1] = lat[commits * 9 / 10];
    out[2] = lat[commits * 99 / 100];
    out[3] = lat[commits * 999 / 1000];
    free(lat);
    close(fd);
    unlink(path);
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    int commits = argc > 2 ? atoi(argv[2]) : 3000;
    if (commits < 100 || commits > 1000000) {
        fprintf(stderr, "COMMITS must be 100..1000000\n");
        return 2;
    }
    printf("| mode | p50 ms | p90 ms | p99 ms | p999 ms |\n|---|---|---|---|---|\n");
    for (int mode = 0; mode < MODE__COUNT; mode++) {
        int pipes[WRITERS][2];
        pid_t pids[WRITERS];
        for (int w = 0; w < WRITERS; w++) {
            if (pipe(pipes[w]) != 0)
                return 1;
            pids[w] = fork();
            if (pids[w] < 0)
                return 1;
            if (pids[w] == 0) {
                char path[4096];
                snprintf(path, sizeof path, "%s/fsync-growth-%d-%d.tmp", dir, (int)getpid(), w);
                double out[4];
                int rc = run_writer(path, mode, commits, out);
                if (rc == 0 && write(pipes[w][1], out, sizeof out) != (ssize_t)sizeof out)
                    rc = -1;
                if (rc != 0)
                    unlink(path);
                _exit(rc == 0 ? 0 : 1);
            }
            close(pipes[w][1]);
        }
        double figures[4][WRITERS];
        int failed = 0;
        for (int w = 0; w < WRITERS; w++) {
            double out[4];
            int status = 0;
            if (read(pipes[w][0], out, sizeof out) != (ssize_t)sizeof out)
                failed = 1;
            close(pipes[w][0]);
            waitpid(pids[w], &status, 0);
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                failed = 1;
            for (int q = 0; q < 4 && !failed; q++)
                figures[q][w] = out[q];
        }
        if (failed) {
            fprintf(stderr, "%s: a writer failed (is %s writable, with room?)\n", mode_names[mode],
                    dir);
            return 1;
        }
        printf("| %s |", mode_names[mode]);
        for (int q = 0; q < 4; q++) {
            qsort(figures[q], WRITERS, sizeof figures[q][0], compare_double);
            printf(" %.3f |", figures[q][WRITERS / 2]);
        }
        printf("\n");
        fflush(stdout);
    }
    return 0;
}

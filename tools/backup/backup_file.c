/*  backup_file.c: SHA-256 of a file and a durable file copy (backup_file.h). */
#include "backup_file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#define BACKUP_FILE_CHUNK_BYTES (1u << 20) /* read and hash 1 MiB at a time */
#define BACKUP_FILE_MODE 0600
#define BACKUP_FILE_PATH_MAX 4096

static ledger_err_t io_error(char *why, size_t why_size, const char *what, const char *path)
{
    snprintf(why, why_size, "%s %s: %s", what, path, strerror(errno));
    return LEDGER_E_IO;
}

ledger_err_t backup_file_sha256(const char *path, char *hex_out, uint64_t *size_out, char *why,
                                size_t why_size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return io_error(why, why_size, "cannot open", path);
    unsigned char *buf = malloc(BACKUP_FILE_CHUNK_BYTES);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    ledger_err_t err =
        buf && md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 ? LEDGER_OK : LEDGER_E_NOMEM;
    uint64_t total = 0;
    for (ssize_t n; err == LEDGER_OK && (n = read(fd, buf, BACKUP_FILE_CHUNK_BYTES)) != 0;) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            err = io_error(why, why_size, "cannot read", path);
        else if (EVP_DigestUpdate(md, buf, (size_t)n) != 1)
            err = LEDGER_E_NOMEM;
        else
            total += (uint64_t)n;
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (err == LEDGER_OK && EVP_DigestFinal_ex(md, digest, &len) != 1)
        err = LEDGER_E_NOMEM;
    for (unsigned int i = 0; err == LEDGER_OK && i < len && i < BACKUP_SHA256_HEX_LEN / 2; i++)
        snprintf(hex_out + 2 * i, 3, "%02x", digest[i]);
    if (err == LEDGER_OK)
        *size_out = total;
    EVP_MD_CTX_free(md);
    free(buf);
    close(fd);
    return err;
}

bool backup_file_fmt(char *buf, size_t size, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    int n = vsnprintf(buf, size, fmt, args);
    va_end(args);
    return n >= 0 && (size_t)n < size;
}

ledger_err_t backup_file_sync_dir(const char *dir, char *why, size_t why_size)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return io_error(why, why_size, "cannot open directory", dir);
    int rc = fsync(fd);
    close(fd);
    return rc == 0 ? LEDGER_OK : io_error(why, why_size, "cannot sync directory", dir);
}

ledger_err_t backup_file_sync(const char *path, char *why, size_t why_size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return io_error(why, why_size, "cannot open", path);
    int rc = fsync(fd);
    close(fd);
    return rc == 0 ? LEDGER_OK : io_error(why, why_size, "cannot sync", path);
}

/* Copies every byte of fd `in` to fd `out` and fsyncs `out`. */
static ledger_err_t copy_fd(int in, int out, const char *to, char *why, size_t why_size)
{
    unsigned char *buf = malloc(BACKUP_FILE_CHUNK_BYTES);
    if (!buf)
        return LEDGER_E_NOMEM;
    ledger_err_t err = LEDGER_OK;
    for (ssize_t n; err == LEDGER_OK && (n = read(in, buf, BACKUP_FILE_CHUNK_BYTES)) != 0;) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            err = io_error(why, why_size, "cannot read the copy's source for", to);
            break;
        }
        for (ssize_t done = 0; err == LEDGER_OK && done < n;) {
            ssize_t w = write(out, buf + done, (size_t)(n - done));
            if (w < 0 && errno != EINTR)
                err = io_error(why, why_size, "cannot write", to);
            else if (w > 0)
                done += w;
        }
    }
    free(buf);
    if (err == LEDGER_OK && fsync(out) != 0)
        err = io_error(why, why_size, "cannot sync", to);
    return err;
}

ledger_err_t backup_file_copy(const char *from, const char *to, char *why, size_t why_size)
{
    char tmp[BACKUP_FILE_PATH_MAX], dir[BACKUP_FILE_PATH_MAX];
    struct stat st;
    if (snprintf(tmp, sizeof tmp, "%s.tmp", to) >= (int)sizeof tmp)
        return snprintf(why, why_size, "path too long: %s", to), LEDGER_E_IO;
    if (stat(to, &st) == 0)
        return snprintf(why, why_size, "%s exists already", to), LEDGER_E_EXISTS;
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return io_error(why, why_size, "cannot open", from);
    int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, BACKUP_FILE_MODE);
    if (out < 0) {
        close(in);
        return io_error(why, why_size, "cannot create", tmp);
    }
    ledger_err_t err = copy_fd(in, out, to, why, why_size);
    close(in);
    if (close(out) != 0 && err == LEDGER_OK)
        err = io_error(why, why_size, "cannot close", tmp);
    if (err == LEDGER_OK && rename(tmp, to) != 0)
        err = io_error(why, why_size, "cannot rename to", to);
    if (err != LEDGER_OK) {
        unlink(tmp);
        return err;
    }
    snprintf(dir, sizeof dir, "%s", to);
    return backup_file_sync_dir(dirname(dir), why, why_size);
}

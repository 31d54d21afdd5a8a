/*  backup_file.h: the file work of ledger-backup: the SHA-256 of a data file
    and a durable copy of one.

    What it owns: nothing past each call (its own file descriptors).
    Errors: LEDGER_E_IO with the OS reason in `why`, LEDGER_E_EXISTS (copy:
    the target exists), LEDGER_E_NOMEM.
    Threads: any.
*/
#ifndef LEDGER_BACKUP_FILE_H
#define LEDGER_BACKUP_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ledger_err.h"

#define BACKUP_SHA256_HEX_LEN 64

/*  hex_out (BACKUP_SHA256_HEX_LEN + 1 bytes) = lower-case hex SHA-256 of the
    file at `path`; *size_out its size in bytes. */
ledger_err_t backup_file_sha256(const char *path, char *hex_out, uint64_t *size_out, char *why,
                                size_t why_size);

/*  Copies `from` to `to` (which must not exist: LEDGER_E_EXISTS), mode 0600,
    through `to`.tmp that is fsynced and then renamed, and the directory of
    `to` fsynced: after LEDGER_OK the copy survives a crash; after an error no
    `to` exists. */
ledger_err_t backup_file_copy(const char *from, const char *to, char *why, size_t why_size);

/*  snprintf into buf (`size` bytes, always terminated); false if the text
    was cut. For paths and reasons whose parts are the operator's. */
bool backup_file_fmt(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Fsyncs the directory `dir` (its new entries survive a crash). */
ledger_err_t backup_file_sync_dir(const char *dir, char *why, size_t why_size);

/* Fsyncs the file at `path` (its bytes survive a crash). */
ledger_err_t backup_file_sync(const char *path, char *why, size_t why_size);

#endif

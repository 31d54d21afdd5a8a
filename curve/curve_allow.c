/*  curve_allow.c: the User-Id -> peer table of curve_allow.h, built by one
    pass over the allow dir with the same file selection as zauth's cert store
    (regular, non-hidden, recursive: hence no subdirectories allowed). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "curve_allow.h"
#include "curve_why.h"

struct curve_allow_t {
    char dir[CURVE_KEYS_PATH_MAX];
    uint64_t stamp; /* curve_allow_dir_stamp before the last build or reload attempt */
    curve_allow_entry_t entries[CURVE_ALLOW_ENTRIES_MAX];
    size_t count;
};

static const char *const ROLES[] = {"gateway", "accounts", "fraud", "harness"};
#define CURVE_ALLOW_OPEN_ROLE "harness" /* the one role whose keys may have any name */

bool curve_allow_role_valid(const char *role)
{
    for (size_t i = 0; role != NULL && i < sizeof ROLES / sizeof ROLES[0]; i++)
        if (strcmp(role, ROLES[i]) == 0)
            return true;
    return false;
}

/* The rules one new entry must meet against itself and the entries before it. */
static ledger_err_t check_entry(const curve_allow_t *table, const curve_allow_entry_t *entry,
                                const char *path, char *why, size_t why_size)
{
    if (!curve_allow_role_valid(entry->role))
        return curve_why_fail(LEDGER_E_INVALID, why, why_size,
                              "%s: role \"%s\" is not gateway, accounts, fraud or harness", path,
                              entry->role);
    if (strcmp(entry->role, CURVE_ALLOW_OPEN_ROLE) != 0 && strcmp(entry->role, entry->name) != 0)
        return curve_why_fail(LEDGER_E_INVALID, why, why_size,
                              "%s: a key of role \"%s\" must be named \"%s\", not \"%s\"", path,
                              entry->role, entry->role, entry->name);
    for (size_t i = 0; i < table->count; i++) {
        if (strcmp(table->entries[i].name, entry->name) == 0)
            return curve_why_fail(LEDGER_E_INVALID, why, why_size, "%s: a second key named \"%s\"",
                                  path, entry->name);
        if (strcmp(table->entries[i].user_id, entry->user_id) == 0)
            return curve_why_fail(LEDGER_E_INVALID, why, why_size, "%s: the same key as \"%s\"",
                                  path, table->entries[i].name);
    }
    return LEDGER_OK;
}

/* Judges one directory entry: skipped (hidden, not a file), refused, or added. */
static ledger_err_t add_file(curve_allow_t *table, const char *file, char *why, size_t why_size)
{
    char path[CURVE_KEYS_PATH_MAX];
    if (file[0] == '.')
        return LEDGER_OK; /* zauth's cert store skips hidden files too: temp files live here */
    if (curve_keys_path(path, sizeof path, table->dir, file, NULL, NULL) != LEDGER_OK)
        return curve_why_fail(LEDGER_E_TOO_LARGE, why, why_size, "allow dir path too long");
    struct stat st;
    if (lstat(path, &st) != 0)
        return curve_why_fail(LEDGER_E_IO, why, why_size, "cannot stat %s: %s", path,
                              strerror(errno));
    if (S_ISDIR(st.st_mode))
        return curve_why_fail(
            LEDGER_E_INVALID, why, why_size,
            "%s is a directory: zauth would accept the keys in it; an allow-list is flat", path);
    /* zauth follows a symlink to wherever it points: nothing but files of their own here. */
    if (!S_ISREG(st.st_mode))
        return curve_why_fail(LEDGER_E_INVALID, why, why_size,
                              "%s is %s: an allow-list holds regular files only", path,
                              S_ISLNK(st.st_mode) ? "a symbolic link" : "not a regular file");
    if (table->count == CURVE_ALLOW_ENTRIES_MAX)
        return curve_why_fail(LEDGER_E_TOO_LARGE, why, why_size, "%s: more than %d keys",
                              table->dir, CURVE_ALLOW_ENTRIES_MAX);
    curve_allow_entry_t entry;
    ledger_err_t err =
        curve_keys_read_public_file(path, entry.user_id, entry.name, entry.role, why, why_size);
    if (err == LEDGER_OK)
        err = check_entry(table, &entry, path, why, why_size);
    if (err == LEDGER_OK)
        table->entries[table->count++] = entry;
    return err;
}

#define CURVE_ALLOW_FNV_OFFSET 14695981039346656037ull /* FNV-1a 64-bit */
#define CURVE_ALLOW_FNV_PRIME 1099511628211ull

static uint64_t fnv(uint64_t h, const void *data, size_t size)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < size; i++)
        h = (h ^ p[i]) * CURVE_ALLOW_FNV_PRIME;
    return h;
}

/* What of an inode may change what a table built from it says (or whether it builds). */
static uint64_t fnv_stat(uint64_t h, const struct stat *st)
{
    const uint64_t fields[] = {(uint64_t)st->st_ino,         (uint64_t)st->st_mode,
                               (uint64_t)st->st_uid,         (uint64_t)st->st_size,
                               (uint64_t)st->st_mtim.tv_sec, (uint64_t)st->st_mtim.tv_nsec,
                               (uint64_t)st->st_ctim.tv_sec, (uint64_t)st->st_ctim.tv_nsec};
    return fnv(h, fields, sizeof fields);
}

uint64_t curve_allow_dir_stamp(const char *allow_dir)
{
    assert(allow_dir != NULL);
    struct stat st;
    DIR *dir = opendir(allow_dir);
    if (dir == NULL || fstat(dirfd(dir), &st) != 0) {
        if (dir != NULL)
            closedir(dir);
        return 0;
    }
    uint64_t stamp = fnv_stat(CURVE_ALLOW_FNV_OFFSET, &st);
    struct dirent *ent;
    /* Each entry hashed alone and summed: the order readdir gives does not matter. */
    while ((ent = readdir(dir)) != NULL) {
        uint64_t h = fnv(CURVE_ALLOW_FNV_OFFSET, ent->d_name, strlen(ent->d_name));
        if (fstatat(dirfd(dir), ent->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
            h = fnv_stat(h, &st);
        stamp += h;
    }
    closedir(dir);
    return stamp ? stamp : 1;
}

/* Fills table (its dir set, count 0) from the directory. */
static ledger_err_t build(curve_allow_t *table, char *why, size_t why_size)
{
    table->stamp = curve_allow_dir_stamp(table->dir);
    struct stat st;
    if (stat(table->dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return curve_why_fail(LEDGER_E_NOT_FOUND, why, why_size,
                              "allow-list directory %s is missing", table->dir);
    if ((st.st_mode & 022) != 0)
        return curve_why_fail(LEDGER_E_INVALID, why, why_size,
                              "%s is writable by group or others (mode %04o): chmod 755 %s",
                              table->dir, (unsigned)(st.st_mode & 07777), table->dir);
    DIR *dir = opendir(table->dir);
    if (dir == NULL)
        return curve_why_fail(LEDGER_E_IO, why, why_size, "cannot read %s: %s", table->dir,
                              strerror(errno));
    ledger_err_t err = LEDGER_OK;
    struct dirent *ent;
    while (err == LEDGER_OK && (ent = readdir(dir)) != NULL)
        err = add_file(table, ent->d_name, why, why_size);
    closedir(dir);
    return err;
}

ledger_err_t curve_allow_new(const char *allow_dir, curve_allow_t **self_p, char *why,
                             size_t why_size)
{
    assert(allow_dir != NULL && self_p != NULL);
    if (strlen(allow_dir) >= CURVE_KEYS_PATH_MAX)
        return curve_why_fail(LEDGER_E_TOO_LARGE, why, why_size, "allow dir path too long");
    curve_allow_t *self = calloc(1, sizeof *self);
    if (self == NULL)
        return curve_why_fail(LEDGER_E_NOMEM, why, why_size, "out of memory");
    strcpy(self->dir, allow_dir);
    ledger_err_t err = build(self, why, why_size);
    if (err != LEDGER_OK) {
        free(self);
        return err;
    }
    *self_p = self;
    return LEDGER_OK;
}

void curve_allow_destroy(curve_allow_t **self_p)
{
    assert(self_p != NULL);
    free(*self_p);
    *self_p = NULL;
}

const curve_allow_entry_t *curve_allow_lookup(const curve_allow_t *self, const char *user_id)
{
    assert(self != NULL);
    if (user_id == NULL)
        return NULL;
    for (size_t i = 0; i < self->count; i++)
        if (strcmp(self->entries[i].user_id, user_id) == 0)
            return &self->entries[i];
    return NULL;
}

ledger_err_t curve_allow_reload(curve_allow_t *self, char *why, size_t why_size)
{
    assert(self != NULL);
    curve_allow_t *fresh = calloc(1, sizeof *fresh);
    if (fresh == NULL)
        return curve_why_fail(LEDGER_E_NOMEM, why, why_size, "out of memory");
    memcpy(fresh->dir, self->dir, sizeof fresh->dir);
    ledger_err_t err = build(fresh, why, why_size);
    if (err == LEDGER_OK)
        *self = *fresh;
    self->stamp = fresh->stamp; /* a failure is not tried again until the dir changes */
    free(fresh);
    return err;
}

bool curve_allow_changed(const curve_allow_t *self)
{
    assert(self != NULL);
    return curve_allow_dir_stamp(self->dir) != self->stamp;
}

size_t curve_allow_count(const curve_allow_t *self)
{
    assert(self != NULL);
    return self->count;
}

const curve_allow_entry_t *curve_allow_at(const curve_allow_t *self, size_t i)
{
    assert(self != NULL && i < self->count);
    return &self->entries[i];
}

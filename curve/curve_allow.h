/*  curve_allow.h: who a connected peer is. A table from the ZAP User-Id of
    a CURVE connection (the client's Z85 public key, curve_sock_user_id) to
    the peer's name and role, built from the same allow dir that zauth
    judges handshakes by (allow/<node>/ of curve_keys.h).

    The table is the only source of a peer's name: the envelope's origin and
    any message property other than User-Id are claims, not identity.

    The directory must look like what this table can vouch for, since zauth
    accepts every key it can load there: every non-hidden entry must be a
    regular file (not a symlink, which zauth would follow anywhere), writable
    by its owner only, owned by this process's user, root or the directory's
    owner (curve_keys_read_public_file), and a public cert (no secret key) with name and role
   metadata and no other (zauth copies a cert's metadata into its ZAP reply through a fixed 512-byte
    buffer without a bound: czmq 4.2.1, zauth.c); a role is
    gateway, accounts, fraud or harness; a gateway/accounts/fraud key is
    named as its role; no name and no key appears twice; no subdirectory
    (zauth recurses into them); the directory is not writable by group or
    others. Anything else fails the whole build, with a reason.

    Owns: its entries. Pointers from curve_allow_lookup / curve_allow_at are
    valid until the next curve_allow_reload or curve_allow_destroy.
    Errors: LEDGER_E_NOT_FOUND (no such dir), LEDGER_E_INVALID (the dir
    breaks a rule above), LEDGER_E_TOO_LARGE (over CURVE_ALLOW_ENTRIES_MAX),
    LEDGER_E_IO, LEDGER_E_NOMEM; why says which file and what to do.
    Threads: one thread per table (the node loop); no locking inside.
*/
#ifndef LEDGER_CURVE_ALLOW_H
#define LEDGER_CURVE_ALLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "curve_keys.h"
#include "ledger_err.h"

#define CURVE_ALLOW_ENTRIES_MAX 64 /* keys one node accepts */

typedef struct {
    char user_id[CURVE_KEYS_Z85_BYTES]; /* Z85 public key, as zauth's User-Id */
    char name[CURVE_KEYS_NAME_MAX + 1];
    char role[CURVE_KEYS_NAME_MAX + 1]; /* gateway, accounts, fraud or harness */
} curve_allow_entry_t;

typedef struct curve_allow_t curve_allow_t;

/* Builds the table from allow_dir (kept, for reloads). */
ledger_err_t curve_allow_new(const char *allow_dir, curve_allow_t **self_p, char *why,
                             size_t why_size);

/* Frees the table and sets *self_p to NULL; NULL *self_p is fine. */
void curve_allow_destroy(curve_allow_t **self_p);

/* The entry whose key is user_id, or NULL (also for a NULL user_id). */
const curve_allow_entry_t *curve_allow_lookup(const curve_allow_t *self, const char *user_id);

/* Rebuilds the table from the directory. On failure the old table stays
   in use unchanged and the error says why. Either way the directory's stamp
   is the one taken before this attempt (curve_allow_changed). */
ledger_err_t curve_allow_reload(curve_allow_t *self, char *why, size_t why_size);

/* A fingerprint of allow_dir: its own inode times and, for every entry, its
   name, inode, mode, owner, size and times (not following symlinks). Any
   file added, removed, replaced, edited, chmod-ed or chown-ed changes it,
   whatever the clock's resolution (the inode number and ctime change too).
   0 when the directory cannot be read, never 0 otherwise. A readdir and one
   lstat per entry: cheap enough to take once a second. */
uint64_t curve_allow_dir_stamp(const char *allow_dir);

/* True if the directory's stamp differs from the one taken at the last
   build or reload attempt: a reload would read something new. This is how
   a node learns of a deny: zauth judges only new handshakes. */
bool curve_allow_changed(const curve_allow_t *self);

/* Number of entries, and entry i < count (in directory order). */
size_t curve_allow_count(const curve_allow_t *self);
const curve_allow_entry_t *curve_allow_at(const curve_allow_t *self, size_t i);

/* True if role is one of gateway, accounts, fraud, harness. */
bool curve_allow_role_valid(const char *role);

#endif

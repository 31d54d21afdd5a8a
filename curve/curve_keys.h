/*  curve_keys.h: the mesh's CURVE key pairs on disk: layout, creation that
    several processes can race, the checks a node makes on its own secret key,
    and the allow-lists (which public keys a node accepts).

    Layout of a keys directory (see README "Node keys (CURVE)"):

        <dir>/                  0700
          <name>.key            0600  secret cert: metadata name + role, public and secret key
          public/<name>.pub     0644  public cert (clients read a peer's server key here)
          allow/<node>/         0755  the public certs <node> accepts (flat: see below)
            <peer>.pub          0644

    Files are in zcert's text format (zconfig), so zauth's cert store and
    python's zmq.auth.load_certificate read them. The names avoid zcert's
    "_secret" suffix rule; this module writes them itself (open O_EXCL, fchmod,
    fsync) instead of zcert_save_*, because zcert_save_secret keeps an existing
    file's mode, swaps the process-wide umask and does not fsync.

    Why allow/<node>/ must be flat: zauth's cert store loads every regular,
    non-hidden file under the directory, recursing into subdirectories. A
    stray file or subdirectory there is a key the node would accept;
    curve_allow.h refuses such a directory. Temporary files here are hidden
    (".name"), which the cert store skips.

    Every cert read back must hold metadata name and role only, each a name
    of at most CURVE_KEYS_NAME_MAX bytes (see curve_allow.h for why).

    Owns: nothing between calls; a loaded cert (curve_keys_load_own) is the
    caller's, to zcert_destroy.
    Errors: LEDGER_E_INVALID (bad name, bad mode, mismatch, malformed file),
    LEDGER_E_NOT_FOUND (missing file or dir), LEDGER_E_EXISTS (init over an
    existing dir), LEDGER_E_IO (any other system call failure), LEDGER_E_TOO_LARGE
    (a path or file over its limit). Each failure fills why with a sentence a
    person can act on (for a bad mode: the chmod command that fixes it).
    Threads: every function may be called from any thread; none keeps state.
*/
#ifndef LEDGER_CURVE_KEYS_H
#define LEDGER_CURVE_KEYS_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "ledger_err.h"

#define CURVE_KEYS_NAME_MAX 31       /* bytes of a key's name: a node name fits the seen key */
#define CURVE_KEYS_PATH_MAX 400      /* bytes of any path this module builds */
#define CURVE_KEYS_FILE_MAX 4096     /* bytes of a cert file read back */
#define CURVE_KEYS_Z85_BYTES 41      /* a Z85 key (40 characters) and its NUL */
#define CURVE_KEYS_PLAN_NAMES_MAX 16 /* key pairs one plan creates */
#define CURVE_KEYS_SECRET_SUFFIX ".key"
#define CURVE_KEYS_PUBLIC_SUFFIX ".pub"
#define CURVE_KEYS_PUBLIC_DIR "public"
#define CURVE_KEYS_ALLOW_DIR "allow"
#define CURVE_KEYS_TEMP_PREFIX ".keys-" /* mkdtemp dirs beside the keys dir while it is made */
#define CURVE_KEYS_DEFAULT_DIR "./data/keys"

/* One "peer may connect to node" edge of a plan. */
typedef struct {
    const char *peer;
    const char *node;
} curve_keys_edge_t;

/* What a new keys directory holds: key pairs (name, role) and allow-list edges. */
typedef struct {
    const char *const *names;
    const char *const *roles;
    size_t name_count;
    const curve_keys_edge_t *edges;
    size_t edge_count;
} curve_keys_plan_t;

/* The mesh's plan: gateway, accounts, fraud, harness; gateway <- accounts, fraud;
   accounts <- gateway, fraud; fraud <- accounts. The harness is allowed nowhere. */
extern const curve_keys_plan_t CURVE_KEYS_MESH_PLAN;

typedef enum {
    CURVE_KEYS_CREATED, /* this call made the directory */
    CURVE_KEYS_FOUND,   /* it existed, or another process made it first: use it */
} curve_keys_outcome_t;

/* True if name is 1..CURVE_KEYS_NAME_MAX bytes of [a-z0-9_-], starting with a letter. */
bool curve_keys_name_valid(const char *name);

/* Creates dir with plan's keys and allow-lists, atomically: everything is
   written and fsynced in a hidden mkdtemp dir beside it, then rename(2)d into
   place. If dir already exists (or another process wins the rename), nothing
   is written, the temp dir is removed and *outcome is CURVE_KEYS_FOUND; with
   must_be_new that is LEDGER_E_EXISTS instead. The parent is created (0700)
   if missing. */
ledger_err_t curve_keys_create_mesh(const char *dir, const curve_keys_plan_t *plan,
                                    bool must_be_new, curve_keys_outcome_t *outcome, char *why,
                                    size_t why_size);

/* LEDGER_OK if path's mode gives group and other nothing; else LEDGER_E_INVALID
   with why "mode 0644, must be 0600: chmod 600 <path>". */
ledger_err_t curve_keys_check_secret_mode(const char *path, char *why, size_t why_size);

/* Loads a node's own secret cert from key_path (NULL: <dir>/<name>.key) and
   checks it: a regular file of mode 0600 or stricter, well-formed, metadata
   name equal to name, a secret key whose public key is the stored one, and
   that public key equal to <dir>/public/<name>.pub. *cert_p is the caller's. */
ledger_err_t curve_keys_load_own(const char *dir, const char *key_path, const char *name,
                                 zcert_t **cert_p, char *why, size_t why_size);

/* Reads <dir>/public/<name>.pub: its Z85 public key into z85_out
   (CURVE_KEYS_Z85_BYTES) and, if role_out is not NULL, its role metadata
   (CURVE_KEYS_NAME_MAX + 1 bytes). */
ledger_err_t curve_keys_load_public(const char *dir, const char *name, char *z85_out,
                                    char *role_out, char *why, size_t why_size);

/* Reads one public cert file (any path) the same way, with its name metadata
   into name_out (CURVE_KEYS_NAME_MAX + 1 bytes). A file holding a secret key
   is refused (it does not belong where public certs are), and so is one that
   is not a regular file (a symlink is not followed), is writable by group or
   others, or is owned by anyone but this process's user, root or the owner
   of its directory: whoever can write it decides whom a node accepts. */
ledger_err_t curve_keys_read_public_file(const char *path, char *z85_out, char *name_out,
                                         char *role_out, char *why, size_t why_size);

/* Lets name connect to node: copies public/<name>.pub into allow/<node>/
   through a hidden temp file and rename(2). allow/<node>/ must exist. */
ledger_err_t curve_keys_allow(const char *dir, const char *name, const char *node, char *why,
                              size_t why_size);

/* Removes allow/<node>/<name>.pub; LEDGER_E_NOT_FOUND if it was not there. */
ledger_err_t curve_keys_deny(const char *dir, const char *name, const char *node, char *why,
                             size_t why_size);

/* Writes a cert file at path (which must not exist: O_EXCL, no symlink
   followed) with mode set explicitly by fchmod, fsynced. secret_z85 NULL
   writes a public cert. name and role must be valid names. */
ledger_err_t curve_keys_write_cert(const char *path, mode_t mode, const char *name,
                                   const char *role, const char *public_z85, const char *secret_z85,
                                   char *why, size_t why_size);

/* Builds "<dir>/<a>[/<b>]<suffix>" into out; LEDGER_E_TOO_LARGE past out_size. */
ledger_err_t curve_keys_path(char *out, size_t out_size, const char *dir, const char *a,
                             const char *b, const char *suffix);

#endif

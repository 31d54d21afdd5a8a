/*  curve_keys.c: making a keys directory (curve_keys_create_mesh) and editing
    its allow-lists (curve_keys_allow / curve_keys_deny).

    Why a temp dir and rename(2): three nodes started at the same moment with
    no keys each try to make the mesh's keys. Each writes a complete directory
    under a hidden mkdtemp name beside the target, fsyncs it, and renames it
    into place. rename(2) of a directory onto an existing non-empty one fails
    (ENOTEMPTY or EEXIST), so exactly one wins; the others remove their temp
    dir and use the winner's. A reader sees no directory or a complete one;
    there is no lock file to go stale.
*/
#define _GNU_SOURCE /* nftw, mkdtemp, explicit_bzero */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "curve_keys.h"
#include "curve_why.h"

#define CURVE_KEYS_DIR_MODE 0700      /* the keys dir: it holds secret keys */
#define CURVE_KEYS_OPEN_DIR_MODE 0755 /* public/, allow/, allow/<node>/ */
#define CURVE_KEYS_SECRET_MODE 0600
#define CURVE_KEYS_PUBLIC_MODE 0644
#define CURVE_KEYS_NFTW_FDS 16

static const char *const MESH_NAMES[] = {"gateway", "accounts", "fraud", "harness"};
static const char *const MESH_ROLES[] = {"gateway", "accounts", "fraud", "harness"};
static const curve_keys_edge_t MESH_EDGES[] = {
    {"accounts", "gateway"}, {"fraud", "gateway"},  {"gateway", "accounts"},
    {"fraud", "accounts"},   {"accounts", "fraud"},
};
const curve_keys_plan_t CURVE_KEYS_MESH_PLAN = {
    MESH_NAMES,
    MESH_ROLES,
    sizeof MESH_NAMES / sizeof MESH_NAMES[0],
    MESH_EDGES,
    sizeof MESH_EDGES / sizeof MESH_EDGES[0],
};

static ledger_err_t fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return LEDGER_E_IO;
    int rc = fsync(fd);
    close(fd);
    return rc == 0 ? LEDGER_OK : LEDGER_E_IO;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Removes a temp dir of ours and everything in it (no symlink is followed). */
static void remove_tree(const char *path)
{
    nftw(path, remove_entry, CURVE_KEYS_NFTW_FDS, FTW_DEPTH | FTW_PHYS);
}

/* mkdir -p path with mode for the dirs it makes; existing ones are fine. */
static ledger_err_t make_parents(const char *path, char *why, size_t why_size)
{
    char buf[CURVE_KEYS_PATH_MAX];
    if (strlen(path) >= sizeof buf)
        return curve_why_fail(LEDGER_E_TOO_LARGE, why, why_size, "path too long: %s", path);
    strcpy(buf, path);
    for (char *p = buf + 1;; p++) {
        bool end = *p == '\0';
        if (*p != '/' && !end)
            continue;
        *p = '\0';
        if (mkdir(buf, CURVE_KEYS_DIR_MODE) != 0 && errno != EEXIST)
            return curve_why_fail(LEDGER_E_IO, why, why_size, "cannot create %s: %s", buf,
                                  strerror(errno));
        if (end)
            return LEDGER_OK;
        *p = '/';
    }
}

static ledger_err_t check_plan(const curve_keys_plan_t *plan, char *why, size_t why_size)
{
    if (plan->name_count == 0 || plan->name_count > CURVE_KEYS_PLAN_NAMES_MAX)
        return curve_why_fail(LEDGER_E_INVALID, why, why_size, "a plan has 1..%d keys",
                              CURVE_KEYS_PLAN_NAMES_MAX);
    for (size_t i = 0; i < plan->name_count; i++)
        if (!curve_keys_name_valid(plan->names[i]) || !curve_keys_name_valid(plan->roles[i]))
            return curve_why_fail(LEDGER_E_INVALID, why, why_size, "invalid key name in the plan");
    for (size_t e = 0; e < plan->edge_count; e++) {
        bool peer = false, node = false;
        for (size_t i = 0; i < plan->name_count; i++) {
            peer = peer || strcmp(plan->names[i], plan->edges[e].peer) == 0;
            node = node || strcmp(plan->names[i], plan->edges[e].node) == 0;
        }
        if (!peer || !node)
            return curve_why_fail(LEDGER_E_INVALID, why, why_size,
                                  "an allow edge names an unknown key");
    }
    return LEDGER_OK;
}

/* mkdir + explicit chmod (the umask must not decide) of <dir>/<a>[/<b>]. */
static ledger_err_t make_dir(const char *dir, const char *a, const char *b, char *why,
                             size_t why_size)
{
    char path[CURVE_KEYS_PATH_MAX];
    if (curve_keys_path(path, sizeof path, dir, a, b, NULL) != LEDGER_OK)
        return curve_why_fail(LEDGER_E_TOO_LARGE, why, why_size, "keys dir path too long");
    if (mkdir(path, CURVE_KEYS_OPEN_DIR_MODE) != 0 || chmod(path, CURVE_KEYS_OPEN_DIR_MODE) != 0)
        return curve_why_fail(LEDGER_E_IO, why, why_size, "cannot create %s: %s", path,
                              strerror(errno));
    return LEDGER_OK;
}

/* A fresh key pair for plan entry i: <name>.key and public/<name>.pub. */
static ledger_err_t write_pair(const char *dir, const curve_keys_plan_t *plan, size_t i,
                               char public_z85[CURVE_KEYS_Z85_BYTES], char *why, size_t why_size)
{
    char secret_z85[CURVE_KEYS_Z85_BYTES];
    char path[CURVE_KEYS_PATH_MAX];
    if (zmq_curve_keypair(public_z85, secret_z85) != 0)
        return curve_why_fail(LEDGER_E_IO, why, why_size,
                              "libzmq cannot make a key pair (no CURVE)");
    ledger_err_t err =
        curve_keys_path(path, sizeof path, dir, plan->names[i], NULL, CURVE_KEYS_SECRET_SUFFIX);
    if (err == LEDGER_OK)
        err = curve_keys_write_cert(path, CURVE_KEYS_SECRET_MODE, plan->names[i], plan->roles[i],
                                    public_z85, secret_z85, why, why_size);
    explicit_bzero(secret_z85, sizeof secret_z85);
    if (err == LEDGER_OK)
        err = curve_keys_path(path, sizeof path, dir, CURVE_KEYS_PUBLIC_DIR, plan->names[i],
                              CURVE_KEYS_PUBLIC_SUFFIX);
    if (err == LEDGER_OK)
        err = curve_keys_write_cert(path, CURVE_KEYS_PUBLIC_MODE, plan->names[i], plan->roles[i],
                                    public_z85, NULL, why, why_size);
    return err;
}

/* The allow dirs (every key whose role is not "harness") and the plan's edges. */
static ledger_err_t write_allow(const char *dir, const curve_keys_plan_t *plan,
                                char public_z85[][CURVE_KEYS_Z85_BYTES], char *why, size_t why_size)
{
    ledger_err_t err = make_dir(dir, CURVE_KEYS_ALLOW_DIR, NULL, why, why_size);
    for (size_t i = 0; err == LEDGER_OK && i < plan->name_count; i++)
        if (strcmp(plan->roles[i], "harness") != 0)
            err = make_dir(dir, CURVE_KEYS_ALLOW_DIR, plan->names[i], why, why_size);
    for (size_t e = 0; err == LEDGER_OK && e < plan->edge_count; e++) {
        size_t p = 0;
        while (strcmp(plan->names[p], plan->edges[e].peer) != 0)
            p++;
        char node_dir[CURVE_KEYS_PATH_MAX], path[CURVE_KEYS_PATH_MAX];
        err = curve_keys_path(node_dir, sizeof node_dir, dir, CURVE_KEYS_ALLOW_DIR,
                              plan->edges[e].node, NULL);
        if (err == LEDGER_OK)
            err = curve_keys_path(path, sizeof path, node_dir, plan->names[p], NULL,
                                  CURVE_KEYS_PUBLIC_SUFFIX);
        if (err == LEDGER_OK)
            err = curve_keys_write_cert(path, CURVE_KEYS_PUBLIC_MODE, plan->names[p],
                                        plan->roles[p], public_z85[p], NULL, why, why_size);
    }
    return err;
}

/* fsyncs every directory of a written keys dir, deepest first. */
static ledger_err_t sync_tree(const char *dir, const curve_keys_plan_t *plan)
{
    char path[CURVE_KEYS_PATH_MAX];
    ledger_err_t err = LEDGER_OK;
    for (size_t i = 0; err == LEDGER_OK && i < plan->name_count; i++)
        if (strcmp(plan->roles[i], "harness") != 0 &&
            curve_keys_path(path, sizeof path, dir, CURVE_KEYS_ALLOW_DIR, plan->names[i], NULL) ==
                LEDGER_OK)
            err = fsync_dir(path);
    if (err == LEDGER_OK &&
        curve_keys_path(path, sizeof path, dir, CURVE_KEYS_ALLOW_DIR, NULL, NULL) == LEDGER_OK)
        err = fsync_dir(path);
    if (err == LEDGER_OK &&
        curve_keys_path(path, sizeof path, dir, CURVE_KEYS_PUBLIC_DIR, NULL, NULL) == LEDGER_OK)
        err = fsync_dir(path);
    return err == LEDGER_OK ? fsync_dir(dir) : err;
}

/* Writes the whole plan into the (empty, private) directory tmp. */
static ledger_err_t write_mesh(const char *tmp, const curve_keys_plan_t *plan, char *why,
                               size_t why_size)
{
    char public_z85[CURVE_KEYS_PLAN_NAMES_MAX][CURVE_KEYS_Z85_BYTES];
    ledger_err_t err = make_dir(tmp, CURVE_KEYS_PUBLIC_DIR, NULL, why, why_size);
    for (size_t i = 0; err == LEDGER_OK && i < plan->name_count; i++)
        err = write_pair(tmp, plan, i, public_z85[i], why, why_size);
    if (err == LEDGER_OK)
        err = write_allow(tmp, plan, public_z85, why, why_size);
    if (err == LEDGER_OK && sync_tree(tmp, plan) != LEDGER_OK)
        err =
            curve_why_fail(LEDGER_E_IO, why, why_size, "cannot fsync %s: %s", tmp, strerror(errno));
    return err;
}

/* Splits dir into its parent (into parent, "." if none). */
static ledger_err_t parent_of(const char *dir, char *parent, size_t parent_size)
{
    const char *slash = strrchr(dir, '/');
    assert(slash == NULL || slash[1] != '\0'); /* trailing slashes were stripped */
    if (slash == NULL)
        return snprintf(parent, parent_size, ".") > 0 ? LEDGER_OK : LEDGER_E_IO;
    size_t len = slash == dir ? 1 : (size_t)(slash - dir);
    if (len >= parent_size)
        return LEDGER_E_TOO_LARGE;
    memcpy(parent, dir, len);
    parent[len] = '\0';
    return LEDGER_OK;
}

/* Renames the finished tmp into dir; a loser of the race removes tmp and finds dir. */
static ledger_err_t publish(const char *tmp, const char *dir, const char *parent, bool must_be_new,
                            curve_keys_outcome_t *outcome, char *why, size_t why_size)
{
    if (rename(tmp, dir) == 0) {
        *outcome = CURVE_KEYS_CREATED;
        if (fsync_dir(parent) != LEDGER_OK)
            return curve_why_fail(LEDGER_E_IO, why, why_size, "cannot fsync %s", parent);
        return LEDGER_OK;
    }
    int rename_errno = errno;
    remove_tree(tmp);
    if (rename_errno == ENOTEMPTY || rename_errno == EEXIST) {
        *outcome = CURVE_KEYS_FOUND;
        return must_be_new ? curve_why_fail(LEDGER_E_EXISTS, why, why_size,
                                            "%s was created by another process meanwhile", dir)
                           : LEDGER_OK;
    }
    return curve_why_fail(LEDGER_E_IO, why, why_size, "cannot rename %s to %s: %s", tmp, dir,
                          strerror(rename_errno));
}

ledger_err_t curve_keys_create_mesh(const char *dir_arg, const curve_keys_plan_t *plan,
                                    bool must_be_new, curve_keys_outcome_t *outcome, char *why,
                                    size_t why_size)
{
    assert(dir_arg != NULL && plan != NULL && outcome != NULL);
    ledger_err_t err = check_plan(plan, why, why_size);
    if (err != LEDGER_OK)
        return err;
    char dir[CURVE_KEYS_PATH_MAX];
    size_t len = strlen(dir_arg);
    while (len > 1 && dir_arg[len - 1] == '/')
        len--; /* "keys/" is "keys": rename(2) needs the name itself */
    if (len == 0 || len >= sizeof dir || (len == 1 && dir_arg[0] == '/'))
        return curve_why_fail(LEDGER_E_INVALID, why, why_size, "not a keys dir path: \"%s\"",
                              dir_arg);
    memcpy(dir, dir_arg, len);
    dir[len] = '\0';
    struct stat st;
    if (lstat(dir, &st) == 0) {
        *outcome = CURVE_KEYS_FOUND;
        return must_be_new
                   ? curve_why_fail(LEDGER_E_EXISTS, why, why_size, "%s already exists", dir)
                   : LEDGER_OK;
    }
    if (errno != ENOENT)
        return curve_why_fail(LEDGER_E_IO, why, why_size, "cannot stat %s: %s", dir,
                              strerror(errno));
    char parent[CURVE_KEYS_PATH_MAX], tmp[CURVE_KEYS_PATH_MAX];
    if (parent_of(dir, parent, sizeof parent) != LEDGER_OK ||
        curve_keys_path(tmp, sizeof tmp, parent, CURVE_KEYS_TEMP_PREFIX "XXXXXX", NULL, NULL) !=
            LEDGER_OK)
        return curve_why_fail(LEDGER_E_TOO_LARGE, why, why_size, "keys dir path too long: %s", dir);
    err = make_parents(parent, why, why_size);
    if (err != LEDGER_OK)
        return err;
    if (mkdtemp(tmp) == NULL)
        return curve_why_fail(LEDGER_E_IO, why, why_size, "cannot create a temp dir in %s: %s",
                              parent, strerror(errno));
    err = chmod(tmp, CURVE_KEYS_DIR_MODE) == 0
              ? write_mesh(tmp, plan, why, why_size)
              : curve_why_fail(LEDGER_E_IO, why, why_size, "cannot chmod %s", tmp);
    if (err != LEDGER_OK) {
        remove_tree(tmp);
        return err;
    }
    return publish(tmp, dir, parent, must_be_new, outcome, why, why_size);
}

/* Paths of allow/<node>/ and of <name>.pub in it; the node's allow dir must exist. */
static ledger_err_t allow_paths(const char *dir, const char *name, const char *node, char *node_dir,
                                char *target, char *why, size_t why_size)
{
    if (!curve_keys_name_valid(name) || !curve_keys_name_valid(node))
        return curve_why_fail(LEDGER_E_INVALID, why, why_size, "invalid key or node name");
    if (curve_keys_path(node_dir, CURVE_KEYS_PATH_MAX, dir, CURVE_KEYS_ALLOW_DIR, node, NULL) !=
            LEDGER_OK ||
        curve_keys_path(target, CURVE_KEYS_PATH_MAX, node_dir, name, NULL,
                        CURVE_KEYS_PUBLIC_SUFFIX) != LEDGER_OK)
        return curve_why_fail(LEDGER_E_TOO_LARGE, why, why_size, "keys dir path too long");
    struct stat st;
    if (stat(node_dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return curve_why_fail(LEDGER_E_NOT_FOUND, why, why_size,
                              "no allow-list for node \"%s\" (%s)", node, node_dir);
    return LEDGER_OK;
}

ledger_err_t curve_keys_allow(const char *dir, const char *name, const char *node, char *why,
                              size_t why_size)
{
    char node_dir[CURVE_KEYS_PATH_MAX], target[CURVE_KEYS_PATH_MAX], tmp[CURVE_KEYS_PATH_MAX];
    char z85[CURVE_KEYS_Z85_BYTES], role[CURVE_KEYS_NAME_MAX + 1];
    ledger_err_t err = allow_paths(dir, name, node, node_dir, target, why, why_size);
    if (err == LEDGER_OK)
        err = curve_keys_load_public(dir, name, z85, role, why, why_size);
    if (err != LEDGER_OK)
        return err;
    /* Hidden temp name: zauth's cert store skips dot files, so a half-written
       copy is never a key anyone is allowed with. */
    if (snprintf(tmp, sizeof tmp, "%s/.%s.pub.%ld", node_dir, name, (long)getpid()) >=
        (int)sizeof tmp)
        return curve_why_fail(LEDGER_E_TOO_LARGE, why, why_size, "keys dir path too long");
    unlink(tmp); /* a crashed earlier run of this same pid number */
    err = curve_keys_write_cert(tmp, CURVE_KEYS_PUBLIC_MODE, name, role, z85, NULL, why, why_size);
    if (err == LEDGER_OK && rename(tmp, target) != 0)
        err = curve_why_fail(LEDGER_E_IO, why, why_size, "cannot rename %s: %s", tmp,
                             strerror(errno));
    if (err != LEDGER_OK) {
        unlink(tmp);
        return err;
    }
    return fsync_dir(node_dir) == LEDGER_OK
               ? LEDGER_OK
               : curve_why_fail(LEDGER_E_IO, why, why_size, "cannot fsync %s", node_dir);
}

ledger_err_t curve_keys_deny(const char *dir, const char *name, const char *node, char *why,
                             size_t why_size)
{
    char node_dir[CURVE_KEYS_PATH_MAX], target[CURVE_KEYS_PATH_MAX];
    ledger_err_t err = allow_paths(dir, name, node, node_dir, target, why, why_size);
    if (err != LEDGER_OK)
        return err;
    if (unlink(target) != 0)
        return curve_why_fail(errno == ENOENT ? LEDGER_E_NOT_FOUND : LEDGER_E_IO, why, why_size,
                              "\"%s\" is not on the allow-list of \"%s\" (%s)", name, node, target);
    return fsync_dir(node_dir) == LEDGER_OK
               ? LEDGER_OK
               : curve_why_fail(LEDGER_E_IO, why, why_size, "cannot fsync %s", node_dir);
}

/*  curve_keys_file.c: reading and writing one cert file of curve_keys.h, and
    the checks on a node's own secret key (mode, name, key pair, public copy).

    Files are read with one bounded read from an open descriptor, and the mode
    is judged on that descriptor (fstat), so the file checked is the file read.
*/
#define _GNU_SOURCE /* O_NOFOLLOW, O_CLOEXEC, explicit_bzero */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "curve_keys.h"
#include "curve_why.h"

/* A cert file's fields, as text. */
typedef struct {
    char public_z85[CURVE_KEYS_Z85_BYTES];
    char secret_z85[CURVE_KEYS_Z85_BYTES];
    bool has_secret;
    char name[CURVE_KEYS_NAME_MAX + 1];
    char role[CURVE_KEYS_NAME_MAX + 1];
} cert_text_t;

bool curve_keys_name_valid(const char *name)
{
    size_t len = name != NULL ? strnlen(name, CURVE_KEYS_NAME_MAX + 1) : 0;
    if (len == 0 || len > CURVE_KEYS_NAME_MAX || name[0] < 'a' || name[0] > 'z')
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

ledger_err_t curve_keys_path(char *out, size_t out_size, const char *dir, const char *a,
                             const char *b, const char *suffix)
{
    int n = snprintf(out, out_size, "%s/%s%s%s%s", dir, a, b != NULL ? "/" : "", b != NULL ? b : "",
                     suffix != NULL ? suffix : "");
    return n < 0 || (size_t)n >= out_size ? LEDGER_E_TOO_LARGE : LEDGER_OK;
}

/* True if text is a 40-character Z85 key that decodes. */
static bool z85_key_valid(const char *text)
{
    uint8_t bytes[32];
    return text != NULL && strlen(text) == CURVE_KEYS_Z85_BYTES - 1 &&
           zmq_z85_decode(bytes, text) != NULL;
}

static ledger_err_t write_all(int fd, const char *text, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, text, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return LEDGER_E_IO;
        text += n;
        len -= (size_t)n;
    }
    return LEDGER_OK;
}

ledger_err_t curve_keys_write_cert(const char *path, mode_t mode, const char *name,
                                   const char *role, const char *public_z85, const char *secret_z85,
                                   char *why, size_t why_size)
{
    assert(path != NULL && public_z85 != NULL);
    if (!curve_keys_name_valid(name) || !curve_keys_name_valid(role))
        return curve_why_fail(LEDGER_E_INVALID, why, why_size, "invalid key name or role");
    char text[CURVE_KEYS_FILE_MAX];
    int len = snprintf(text, sizeof text,
                       "#   ZeroMQ CURVE %s Certificate (ledger-keys)\n%s\n"
                       "metadata\n    name = \"%s\"\n    role = \"%s\"\n"
                       "curve\n    public-key = \"%s\"\n",
                       secret_z85 != NULL ? "**Secret**" : "Public",
                       secret_z85 != NULL ? "#   Secret: keep it mode 0600, never copy it.\n" : "",
                       name, role, public_z85);
    if (secret_z85 != NULL && len > 0 && (size_t)len < sizeof text)
        len += snprintf(text + len, sizeof text - (size_t)len, "    secret-key = \"%s\"\n",
                        secret_z85);
    assert(len > 0 && (size_t)len < sizeof text);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0)
        return curve_why_fail(LEDGER_E_IO, why, why_size, "cannot create %s: %s", path,
                              strerror(errno));
    /* fchmod, not the umask: the mode is the point of this file. */
    ledger_err_t err = fchmod(fd, mode) == 0 ? write_all(fd, text, (size_t)len) : LEDGER_E_IO;
    if (err == LEDGER_OK && fsync(fd) != 0)
        err = LEDGER_E_IO;
    if (close(fd) != 0 && err == LEDGER_OK)
        err = LEDGER_E_IO;
    if (err != LEDGER_OK)
        return curve_why_fail(err, why, why_size, "cannot write %s: %s", path, strerror(errno));
    return LEDGER_OK;
}

/* Reads the whole file on fd (a regular file up to CURVE_KEYS_FILE_MAX bytes) into text. */
static ledger_err_t read_fd(int fd, const char *path, const struct stat *st, char *text,
                            size_t text_size, char *why, size_t why_size)
{
    if (!S_ISREG(st->st_mode))
        return curve_why_fail(LEDGER_E_INVALID, why, why_size, "%s is not a regular file", path);
    if (st->st_size == 0)
        return curve_why_fail(LEDGER_E_INVALID, why, why_size, "%s is empty", path);
    if (st->st_size < 0 || (size_t)st->st_size >= text_size)
        return curve_why_fail(LEDGER_E_TOO_LARGE, why, why_size,
                              "%s: %lld bytes, a cert is 1..%zu bytes", path,
                              (long long)st->st_size, text_size - 1);
    size_t got = 0;
    while (got < (size_t)st->st_size) {
        ssize_t n = read(fd, text + got, (size_t)st->st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return curve_why_fail(LEDGER_E_IO, why, why_size, "cannot read %s", path);
        got += (size_t)n;
    }
    text[got] = '\0';
    return LEDGER_OK;
}

/* Copies the zconfig value at key (NULL if absent) into out; false if it does not fit. */
static bool copy_value(zconfig_t *root, const char *key, char *out, size_t out_size)
{
    const char *value = zconfig_get(root, key, NULL);
    out[0] = '\0';
    if (value == NULL)
        return true;
    if (strlen(value) >= out_size)
        return false;
    strcpy(out, value);
    return true;
}

/* True if the metadata section holds only name and role, once each, each a short value.
   Why: zauth copies a cert's metadata into its ZAP reply through a fixed 512-byte buffer
   with no bound check (czmq 4.2.1 zauth.c), so a big or extra property in an allow dir
   would overflow the node's heap. */
static bool metadata_small(zconfig_t *root)
{
    zconfig_t *meta = zconfig_locate(root, "metadata");
    bool seen_name = false, seen_role = false;
    for (zconfig_t *item = meta != NULL ? zconfig_child(meta) : NULL; item != NULL;
         item = zconfig_next(item)) {
        const char *key = zconfig_name(item), *value = zconfig_value(item);
        bool *seen = strcmp(key, "name") == 0   ? &seen_name
                     : strcmp(key, "role") == 0 ? &seen_role
                                                : NULL;
        if (seen == NULL || *seen || zconfig_child(item) != NULL || value == NULL ||
            strlen(value) > CURVE_KEYS_NAME_MAX)
            return false;
        *seen = true;
    }
    return true;
}

/* Parses cert text; the public key must be valid Z85, a secret key too if present. */
static ledger_err_t parse_cert(const char *path, char *text, cert_text_t *cert, char *why,
                               size_t why_size)
{
    memset(cert, 0, sizeof *cert);
    zconfig_t *root = zconfig_str_load(text);
    if (root == NULL)
        return curve_why_fail(LEDGER_E_INVALID, why, why_size, "%s is not a cert file", path);
    bool fits = copy_value(root, "curve/public-key", cert->public_z85, sizeof cert->public_z85) &&
                copy_value(root, "curve/secret-key", cert->secret_z85, sizeof cert->secret_z85) &&
                copy_value(root, "metadata/name", cert->name, sizeof cert->name) &&
                copy_value(root, "metadata/role", cert->role, sizeof cert->role);
    bool small = metadata_small(root);
    zconfig_destroy(&root);
    if (!small)
        return curve_why_fail(
            LEDGER_E_INVALID, why, why_size,
            "%s: metadata other than one short name and role (zauth's buffer for it "
            "is small)",
            path);
    cert->has_secret = cert->secret_z85[0] != '\0';
    if (!fits || !z85_key_valid(cert->public_z85) ||
        (cert->has_secret && !z85_key_valid(cert->secret_z85)))
        return curve_why_fail(LEDGER_E_INVALID, why, why_size, "%s: no valid curve public-key%s",
                              path, cert->has_secret ? " or secret-key" : "");
    if (!curve_keys_name_valid(cert->name) || !curve_keys_name_valid(cert->role))
        return curve_why_fail(LEDGER_E_INVALID, why, why_size,
                              "%s: metadata name and role must be names of [a-z0-9_-]", path);
    return LEDGER_OK;
}

/*  The rules of a public cert file, judged on the descriptor read: a regular
    file (open did not follow a symlink) that only its owner may write, and
    that owner is this process's user, root, or the owner of the directory it
    is in (who can replace it anyway: a root node reading an operator's
    mounted keys). Anyone else could change who the node accepts. */
static ledger_err_t check_public(const char *path, const struct stat *st, char *why,
                                 size_t why_size)
{
    if (!S_ISREG(st->st_mode))
        return curve_why_fail(LEDGER_E_INVALID, why, why_size, "%s is not a regular file", path);
    if ((st->st_mode & 022) != 0)
        return curve_why_fail(LEDGER_E_INVALID, why, why_size,
                              "%s has mode %04o: a public cert must be writable by its owner "
                              "only; fix it with: chmod 644 %s",
                              path, (unsigned)(st->st_mode & 07777), path);
    if (st->st_uid == geteuid() || st->st_uid == 0)
        return LEDGER_OK;
    char dir[CURVE_KEYS_PATH_MAX];
    const char *slash = strrchr(path, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    struct stat dst;
    if (stat(dir[0] ? dir : "/", &dst) == 0 && dst.st_uid == st->st_uid)
        return LEDGER_OK;
    return curve_why_fail(LEDGER_E_INVALID, why, why_size,
                          "%s is owned by uid %u, neither this process's user (%u), root, nor "
                          "the owner of its directory: chown it",
                          path, (unsigned)st->st_uid, (unsigned)geteuid());
}

/*  Opens, checks, reads and parses one cert file: a secret one's mode; a
    public one is opened without following a symlink and meets check_public.
    O_NONBLOCK: opening a FIFO planted there must not hang the node. */
static ledger_err_t load_cert(const char *path, bool secret, cert_text_t *cert, char *why,
                              size_t why_size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | (secret ? 0 : O_NOFOLLOW));
    if (fd < 0 && errno == ELOOP && !secret)
        return curve_why_fail(LEDGER_E_INVALID, why, why_size,
                              "%s is a symbolic link: a public cert must be a regular file "
                              "(copy it in place)",
                              path);
    if (fd < 0)
        return curve_why_fail(errno == ENOENT ? LEDGER_E_NOT_FOUND : LEDGER_E_IO, why, why_size,
                              "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    char text[CURVE_KEYS_FILE_MAX];
    ledger_err_t err = fstat(fd, &st) == 0 ? LEDGER_OK : LEDGER_E_IO;
    if (err != LEDGER_OK)
        curve_why_fail(err, why, why_size, "cannot stat %s", path);
    if (err == LEDGER_OK && secret && S_ISREG(st.st_mode) && (st.st_mode & 077) != 0)
        err = curve_why_fail(
            LEDGER_E_INVALID, why, why_size,
            "%s has mode %04o: a secret key must not be readable or writable by group "
            "or others; fix it with: chmod 600 %s",
            path, (unsigned)(st.st_mode & 07777), path);
    if (err == LEDGER_OK && !secret)
        err = check_public(path, &st, why, why_size);
    if (err == LEDGER_OK)
        err = read_fd(fd, path, &st, text, sizeof text, why, why_size);
    close(fd);
    return err == LEDGER_OK ? parse_cert(path, text, cert, why, why_size) : err;
}

ledger_err_t curve_keys_check_secret_mode(const char *path, char *why, size_t why_size)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return curve_why_fail(errno == ENOENT ? LEDGER_E_NOT_FOUND : LEDGER_E_IO, why, why_size,
                              "cannot stat %s: %s", path, strerror(errno));
    if ((st.st_mode & 077) != 0)
        return curve_why_fail(LEDGER_E_INVALID, why, why_size,
                              "%s has mode %04o, must be 0600: fix it with: chmod 600 %s", path,
                              (unsigned)(st.st_mode & 07777), path);
    return LEDGER_OK;
}

ledger_err_t curve_keys_read_public_file(const char *path, char *z85_out, char *name_out,
                                         char *role_out, char *why, size_t why_size)
{
    cert_text_t cert;
    ledger_err_t err = load_cert(path, false, &cert, why, why_size);
    if (err != LEDGER_OK)
        return err;
    if (cert.has_secret)
        return curve_why_fail(LEDGER_E_INVALID, why, why_size,
                              "%s holds a secret key: only public certs belong there", path);
    memcpy(z85_out, cert.public_z85, CURVE_KEYS_Z85_BYTES);
    if (name_out != NULL)
        memcpy(name_out, cert.name, sizeof cert.name);
    if (role_out != NULL)
        memcpy(role_out, cert.role, sizeof cert.role);
    return LEDGER_OK;
}

ledger_err_t curve_keys_load_public(const char *dir, const char *name, char *z85_out,
                                    char *role_out, char *why, size_t why_size)
{
    char path[CURVE_KEYS_PATH_MAX];
    char file_name[CURVE_KEYS_NAME_MAX + 1];
    if (!curve_keys_name_valid(name))
        return curve_why_fail(LEDGER_E_INVALID, why, why_size, "invalid key name");
    if (curve_keys_path(path, sizeof path, dir, CURVE_KEYS_PUBLIC_DIR, name,
                        CURVE_KEYS_PUBLIC_SUFFIX) != LEDGER_OK)
        return curve_why_fail(LEDGER_E_TOO_LARGE, why, why_size, "keys dir path too long");
    ledger_err_t err =
        curve_keys_read_public_file(path, z85_out, file_name, role_out, why, why_size);
    if (err == LEDGER_OK && strcmp(file_name, name) != 0)
        return curve_why_fail(LEDGER_E_INVALID, why, why_size,
                              "%s is named \"%s\" inside, not \"%s\"", path, file_name, name);
    return err;
}

/* The checks on a loaded secret cert: name, key pair, public copy. */
static ledger_err_t check_own(const char *dir, const char *path, const char *name,
                              const cert_text_t *cert, char *why, size_t why_size)
{
    if (!cert->has_secret)
        return curve_why_fail(LEDGER_E_INVALID, why, why_size, "%s holds no secret key", path);
    if (strcmp(cert->name, name) != 0)
        return curve_why_fail(LEDGER_E_INVALID, why, why_size,
                              "%s is the key of \"%s\", not of this node \"%s\"", path, cert->name,
                              name);
    char derived[CURVE_KEYS_Z85_BYTES];
    if (zmq_curve_public(derived, cert->secret_z85) != 0 || strcmp(derived, cert->public_z85) != 0)
        return curve_why_fail(LEDGER_E_INVALID, why, why_size,
                              "%s: its secret key does not belong to its public key", path);
    char published[CURVE_KEYS_Z85_BYTES];
    ledger_err_t err = curve_keys_load_public(dir, name, published, NULL, why, why_size);
    if (err != LEDGER_OK)
        return err;
    if (strcmp(published, cert->public_z85) != 0)
        return curve_why_fail(LEDGER_E_INVALID, why, why_size,
                              "%s does not match %s/%s/%s%s: the peers know another key for \"%s\"",
                              path, dir, CURVE_KEYS_PUBLIC_DIR, name, CURVE_KEYS_PUBLIC_SUFFIX,
                              name);
    return LEDGER_OK;
}

ledger_err_t curve_keys_load_own(const char *dir, const char *key_path, const char *name,
                                 zcert_t **cert_p, char *why, size_t why_size)
{
    assert(dir != NULL && cert_p != NULL);
    char path[CURVE_KEYS_PATH_MAX];
    if (!curve_keys_name_valid(name))
        return curve_why_fail(LEDGER_E_INVALID, why, why_size, "invalid node name");
    if (key_path == NULL &&
        curve_keys_path(path, sizeof path, dir, name, NULL, CURVE_KEYS_SECRET_SUFFIX) != LEDGER_OK)
        return curve_why_fail(LEDGER_E_TOO_LARGE, why, why_size, "keys dir path too long");
    if (key_path != NULL && strlen(key_path) >= sizeof path)
        return curve_why_fail(LEDGER_E_TOO_LARGE, why, why_size, "key path too long");
    if (key_path != NULL)
        strcpy(path, key_path);
    cert_text_t cert;
    ledger_err_t err = load_cert(path, true, &cert, why, why_size);
    if (err == LEDGER_OK)
        err = check_own(dir, path, name, &cert, why, why_size);
    if (err == LEDGER_OK) {
        uint8_t public_key[32], secret_key[32];
        zmq_z85_decode(public_key, cert.public_z85);
        zmq_z85_decode(secret_key, cert.secret_z85);
        *cert_p = zcert_new_from(public_key, secret_key);
        explicit_bzero(secret_key, sizeof secret_key);
        if (*cert_p == NULL)
            err = curve_why_fail(LEDGER_E_NOMEM, why, why_size, "out of memory");
        else {
            zcert_set_meta(*cert_p, "name", "%s", cert.name);
            zcert_set_meta(*cert_p, "role", "%s", cert.role);
        }
    }
    explicit_bzero(&cert, sizeof cert); /* the secret key's text */
    return err;
}

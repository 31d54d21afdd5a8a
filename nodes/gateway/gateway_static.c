/*  gateway_static.c: the web app's files (rules in gateway_static.h).

    Defence in depth: the path is checked as text first (no '..', no '%',
    no backslash, ...), then resolved with realpath() and compared with the
    resolved web_dir, then opened with O_NOFOLLOW and checked with fstat to
    be a regular file. Any one of them alone would refuse the usual attacks.
*/
#define _GNU_SOURCE /* O_NOFOLLOW, O_CLOEXEC, realpath */
#include "gateway_static.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define ASSETS_PREFIX "assets/"
#define INDEX_FILE "index.html"

struct gateway_static_t {
    char web_dir[PATH_MAX];
};

static const char not_built_page[] =
    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<title>Ledger mesh</title></head>\n<body style=\"font-family:sans-serif;max-width:40em;"
    "margin:3em auto\"><h1>Ledger mesh</h1>\n<p>The gateway is running, but the web app is not "
    "built: there is no index.html in its web directory (LEDGER_WEB_DIR, --web-dir; default "
    "./web/dist).</p>\n<p>Run <code>scripts/demo.sh</code> to build it and start the demo, or use "
    "the API under <a href=\"/api/transfers\">/api/</a>.</p>\n</body></html>\n";

/* --- pure rules ----------------------------------------------------------- */

bool gateway_static_path_sanitize(const char *url, char *rel, size_t rel_size)
{
    if (!url || url[0] != '/' || !rel || rel_size == 0)
        return false;
    size_t len = strlen(url);
    if (len > GATEWAY_STATIC_PATH_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)url[i];
        if (c < 0x20 || c == 0x7F || c == '\\' || c == '%')
            return false;
    }
    /* Every segment: not "." or "..", not a dotfile. */
    const char *seg = url + 1;
    while (*seg) {
        size_t seg_len = strcspn(seg, "/");
        if (seg_len > 0 && seg[0] == '.')
            return false;
        seg += seg_len;
        if (*seg == '/')
            seg++;
    }
    const char *path = url + 1;
    if (*path == '\0')
        path = INDEX_FILE;
    if (strlen(path) >= rel_size)
        return false;
    memcpy(rel, path, strlen(path) + 1);
    return true;
}

const char *gateway_static_content_type(const char *name)
{
    static const struct {
        const char *ext;
        const char *type;
    } types[] = {
        {"html", "text/html; charset=utf-8"},
        {"htm", "text/html; charset=utf-8"},
        {"js", "text/javascript; charset=utf-8"},
        {"mjs", "text/javascript; charset=utf-8"},
        {"css", "text/css; charset=utf-8"},
        {"svg", "image/svg+xml"},
        {"png", "image/png"},
        {"jpg", "image/jpeg"},
        {"jpeg", "image/jpeg"},
        {"gif", "image/gif"},
        {"webp", "image/webp"},
        {"ico", "image/x-icon"},
        {"json", "application/json"},
        {"map", "application/json"},
        {"webmanifest", "application/manifest+json"},
        {"woff2", "font/woff2"},
        {"woff", "font/woff"},
        {"txt", "text/plain; charset=utf-8"},
        {"wasm", "application/wasm"},
    };
    const char *fallback = "application/octet-stream";
    if (!name)
        return fallback;
    const char *slash = strrchr(name, '/');
    const char *base = slash ? slash + 1 : name;
    const char *dot = strrchr(base, '.');
    if (!dot || dot == base)
        return fallback;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        if (strcasecmp(dot + 1, types[i].ext) == 0)
            return types[i].type;
    }
    return fallback;
}

const char *gateway_static_cache_control(const char *rel)
{
    if (rel && strncmp(rel, ASSETS_PREFIX, sizeof ASSETS_PREFIX - 1) == 0)
        return GATEWAY_STATIC_IMMUTABLE;
    return GATEWAY_STATIC_NO_CACHE;
}

/* --- serving -------------------------------------------------------------- */

ledger_err_t gateway_static_new(const char *web_dir, gateway_static_t **out)
{
    assert(out);
    *out = NULL;
    if (!web_dir || !web_dir[0] || strlen(web_dir) >= PATH_MAX)
        return LEDGER_E_INVALID;
    gateway_static_t *self = calloc(1, sizeof *self);
    if (!self)
        return LEDGER_E_NOMEM;
    snprintf(self->web_dir, sizeof self->web_dir, "%s", web_dir);
    *out = self;
    return LEDGER_OK;
}

void gateway_static_destroy(gateway_static_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

typedef enum { OPEN_OK, OPEN_MISSING, OPEN_REFUSED } open_result_t;

/*  Opens root/rel if it is a regular file inside root (both resolved). On
    OPEN_OK *fd_out and *size_out are set. A path that does not exist or is
    a directory is OPEN_MISSING; one that resolves outside root (a symlink)
    or cannot be opened safely is OPEN_REFUSED. */
static open_result_t open_inside(const char *root, const char *rel, int *fd_out, uint64_t *size_out)
{
    char joined[PATH_MAX];
    if ((size_t)snprintf(joined, sizeof joined, "%s/%s", root, rel) >= sizeof joined)
        return OPEN_REFUSED;
    char resolved[PATH_MAX];
    if (!realpath(joined, resolved))
        return (errno == ENOENT || errno == ENOTDIR) ? OPEN_MISSING : OPEN_REFUSED;
    size_t root_len = strlen(root);
    if (strncmp(resolved, root, root_len) != 0 || resolved[root_len] != '/')
        return OPEN_REFUSED;
    int fd = open(resolved, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? OPEN_MISSING : OPEN_REFUSED;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return OPEN_REFUSED;
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return OPEN_MISSING;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return OPEN_REFUSED;
    }
    *fd_out = fd;
    *size_out = (uint64_t)st.st_size;
    return OPEN_OK;
}

static enum MHD_Result queue(struct MHD_Connection *conn, unsigned status,
                             struct MHD_Response *response, const char *type, const char *cache)
{
    if (!response)
        return MHD_NO;
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, cache);
    MHD_add_response_header(response, "X-Content-Type-Options", "nosniff");
    /* The page holds API keys in its tab: no script, style or connection but its own. */
    MHD_add_response_header(response, "Content-Security-Policy", GATEWAY_STATIC_CSP);
    MHD_add_response_header(response, "Referrer-Policy", "no-referrer");
    enum MHD_Result result = MHD_queue_response(conn, status, response);
    MHD_destroy_response(response);
    return result;
}

static enum MHD_Result reply_json(struct MHD_Connection *conn, unsigned status, const char *body)
{
    struct MHD_Response *response =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
    if (response && status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    return queue(conn, status, response, "application/json", "no-store");
}

static enum MHD_Result reply_not_found(struct MHD_Connection *conn)
{
    return reply_json(conn, MHD_HTTP_NOT_FOUND,
                      "{\"error\":{\"code\":\"not_found\",\"message\":\"no such file\","
                      "\"field\":null}}");
}

static enum MHD_Result send_file(struct MHD_Connection *conn, int fd, uint64_t size,
                                 const char *rel)
{
    struct MHD_Response *response = MHD_create_response_from_fd64(size, fd);
    if (!response) {
        close(fd);
        return MHD_NO;
    }
    return queue(conn, MHD_HTTP_OK, response, gateway_static_content_type(rel),
                 gateway_static_cache_control(rel));
}

enum MHD_Result gateway_static_serve(gateway_static_t *self, struct MHD_Connection *conn,
                                     const char *url, const char *method)
{
    assert(self && conn && url && method);
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return reply_json(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
                          "{\"error\":{\"code\":\"method_not_allowed\",\"message\":\"the web app "
                          "answers GET and HEAD only\",\"field\":null}}");
    char rel[GATEWAY_STATIC_PATH_MAX + 1];
    if (!gateway_static_path_sanitize(url, rel, sizeof rel))
        return reply_not_found(conn);

    char root[PATH_MAX];
    int fd = -1;
    uint64_t size = 0;
    open_result_t opened = OPEN_MISSING;
    bool have_root = realpath(self->web_dir, root) != NULL;
    if (have_root)
        opened = open_inside(root, rel, &fd, &size);
    if (opened == OPEN_OK)
        return send_file(conn, fd, size, rel);
    if (opened == OPEN_REFUSED)
        return reply_not_found(conn);
    if (strncmp(rel, ASSETS_PREFIX, sizeof ASSETS_PREFIX - 1) == 0)
        return reply_not_found(conn);

    /* The SPA: every other unknown path is the app's own route. */
    opened = have_root ? open_inside(root, INDEX_FILE, &fd, &size) : OPEN_MISSING;
    if (opened == OPEN_OK)
        return send_file(conn, fd, size, INDEX_FILE);
    if (opened == OPEN_REFUSED)
        return reply_not_found(conn);
    struct MHD_Response *response = MHD_create_response_from_buffer(
        sizeof not_built_page - 1, (void *)not_built_page, MHD_RESPMEM_PERSISTENT);
    return queue(conn, MHD_HTTP_OK, response, "text/html; charset=utf-8", GATEWAY_STATIC_NO_CACHE);
}

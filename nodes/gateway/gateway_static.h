/*  gateway_static.h: serves the built web app (web/dist) at / and every
    path outside /api.

    Rules:
    - GET and HEAD only (else 405 with Allow: GET, HEAD). HEAD gets the
      headers (Content-Length included) and no body.
    - The path MHD hands over is already percent-decoded once. It is refused
      (404 not_found, nothing read) if it does not start with '/', is longer
      than GATEWAY_STATIC_PATH_MAX, or contains a '..' or '.' segment, a
      segment starting with '.' (dotfiles), a backslash, a '%' (double
      encoding such as %252e) or a control character. So "/../x",
      "/%2e%2e/x", "/assets/..%2f..%2fx" and "/x%5cy" never reach the disk.
      A "%00" ends the decoded path at the NUL (MHD's decoding), so only the
      part before it is checked and served: it can only shorten a path.
    - The file is resolved with realpath() and must lie inside realpath(web_dir);
      it is opened with O_NOFOLLOW and must be a regular file. A symlink
      (anywhere on the path) that leads outside web_dir is refused with 404.
    - "/" is index.html. A path under /assets/ that names no file is 404 (a
      missing script must not be answered with HTML). Any other path that
      names no regular file is answered with index.html (the SPA's client-side
      routes), status 200.
    - Content-Type by extension (gateway_static_content_type); X-Content-Type-
      Options: nosniff. Cache-Control: "public, max-age=31536000, immutable"
      under /assets/ (Vite puts a content hash in those names), "no-cache"
      for index.html and everything else.
    - No index.html in web_dir (the app is not built): "/" and the fallback
      answer 200 with a small HTML page that says so and how to build it
      (scripts/demo.sh).
    - Files are sent with MHD_create_response_from_fd (no copy into memory).

    Threads: any MHD worker thread; the server holds no mutable state.
*/
#ifndef LEDGER_GATEWAY_STATIC_H
#define LEDGER_GATEWAY_STATIC_H

#include <stdbool.h>
#include <stddef.h>
#include <microhttpd.h>
#include "ledger_err.h"

#define GATEWAY_STATIC_PATH_MAX 1024 /* longest URL path served, bytes */
#define GATEWAY_STATIC_IMMUTABLE "public, max-age=31536000, immutable"
#define GATEWAY_STATIC_NO_CACHE "no-cache"
/* Every file's Content-Security-Policy: the app's own scripts, styles and API only (the page
   keeps API keys in its tab, so an injected script must have nowhere to load from or send to). */
#define GATEWAY_STATIC_CSP                                                                         \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

typedef struct gateway_static_t gateway_static_t;

/*  Creates a server for `web_dir` (copied; it need not exist yet: it is
    resolved on every request, so a build made after start is picked up).
    LEDGER_E_INVALID (NULL, empty or too long), LEDGER_E_NOMEM. */
ledger_err_t gateway_static_new(const char *web_dir, gateway_static_t **out);
void gateway_static_destroy(gateway_static_t **self_p);

/* Answers `url` (a non-API path) on `conn`. */
enum MHD_Result gateway_static_serve(gateway_static_t *self, struct MHD_Connection *conn,
                                     const char *url, const char *method);

/* --- pure rules (exposed for tests) --- */

/*  Checks a decoded URL path by the rules above and writes the relative file
    path (without the leading '/'; "index.html" for "/"; a trailing '/' kept)
    into `rel` (rel_size bytes). False if the path is refused. */
bool gateway_static_path_sanitize(const char *url, char *rel, size_t rel_size);

/*  Content-Type for a file name by its extension (case-insensitive): html,
    js, mjs, css, svg, png, ico, json, woff2, map, txt, webmanifest ...;
    "application/octet-stream" for anything else. Never NULL. */
const char *gateway_static_content_type(const char *name);

/* Cache-Control for a relative path: immutable under "assets/", else no-cache. */
const char *gateway_static_cache_control(const char *rel);

#endif

/*  node_keys.h: a node's CURVE identity and its judge of peers (issue 19):
    the keys directory, the node's own key pair, the zauth actor that decides
    which client keys may connect, the User-Id -> peer table, and the peers'
    public keys for the node's own DEALERs.

    Start-up (node_keys_open), before the store opens and before any socket
    binds, in this order:
      1. the keys directory (config->keys_dir). Only the DEFAULT one
         (./data/keys, keys_dir_given false) is created when missing, with
         curve_keys_create_mesh (atomic, safe when three nodes start at once):
         `event=keys_created dir=` or `event=keys_found dir=`. An explicitly
         given directory that is missing is refused: a typo in production must
         never mint a new mesh.
      2. the node's own key (config->node_key, else <dir>/<name>.key):
         curve_keys_load_own checks mode 0600 or stricter, the name, and that
         it matches public/<name>.pub.
      3. allow/<name>/: the curve_allow table (curve_allow.h rules) and the
         zauth actor over the same directory, started BEFORE the caller binds
         anything (curve_sock.h: a CURVE server with no ZAP handler would
         refuse, and without the enforce option accept, everyone).
      4. public/<peer>.pub of every peer the node sends to.
    Any failure: `level=error event=keys_refused path=<file or dir>
    reason="..."` and an error; node_main exits 2 (NODE_MAIN_EXIT_USAGE).

    With config->insecure_plaintext none of this happens: no key, no zauth,
    sockets stay plain, peers are judged by the envelope's origin
    (node_inbound.h), and the node logs `level=warn event=insecure_plaintext
    note="node links are NOT authenticated or encrypted"` at start.

    Owns: the cert, the zauth actor, the allow table, the peers' keys.
    Errors: node_keys_open returns the curve_* errors (LEDGER_E_INVALID,
    LEDGER_E_NOT_FOUND, LEDGER_E_IO, LEDGER_E_TOO_LARGE, LEDGER_E_NOMEM),
    each logged as keys_refused. NULL arguments are bugs, asserted.
    Threads: open and destroy on main's thread; node_keys_peer,
    node_keys_refresh and node_keys_table_state on the node loop's (the
    allow table has no lock); the rest are read-only after open.
    Destroy after every socket that uses the keys is destroyed (zauth must
    outlive the server sockets it judges).
*/
#ifndef LEDGER_NODE_KEYS_H
#define LEDGER_NODE_KEYS_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "curve_allow.h"
#include "ledger_err.h"
#include "node_config.h"
#include "relay.h"

/* How often the node looks at allow/<name>/ for a change (a key allowed or denied after
   start); a lookup miss looks at once, at most this often too. */
#define NODE_KEYS_RELOAD_MIN_MS 1000
#define NODE_KEYS_ERROR_BYTES 256 /* the reason of a failed reload kept for /health */

/* The allow table's state, for /metrics and /health. */
typedef struct {
    uint64_t allowed_keys;    /* keys in the table (0 in plaintext) */
    uint64_t reload_failures; /* reloads that failed: ledger_allow_reload_failures_total */
    bool reload_failing;      /* the last reload failed: the table is older than the dir */
    char reload_error[NODE_KEYS_ERROR_BYTES]; /* why, while reload_failing */
} node_keys_table_t;

typedef struct node_keys_t node_keys_t;

/*  Opens the keys for `config` (steps 1-4 above) and the public keys of
    `peers[0..peer_count)` (their names). Logs every refusal. */
ledger_err_t node_keys_open(const node_config_t *config, const relay_peer_t *peers,
                            size_t peer_count, node_keys_t **out);

/* Stops zauth, frees everything, sets *self_p to NULL; NULL *self_p is fine. */
void node_keys_destroy(node_keys_t **self_p);

/* True when the node runs with --insecure-plaintext. */
bool node_keys_plaintext(const node_keys_t *self);

/* The node's own cert (NULL in plaintext): valid until node_keys_destroy. */
zcert_t *node_keys_cert(const node_keys_t *self);

/* The Z85 public key of peer `name` read at open; NULL in plaintext or for another name. */
const char *node_keys_peer_key(const node_keys_t *self, const char *name);

/* Makes `sock` (not yet bound) a CURVE server with the node's key; nothing in plaintext. */
ledger_err_t node_keys_server(const node_keys_t *self, zsock_t *sock);

/* Makes `sock` (not yet connected) a CURVE client of peer `name`; nothing in plaintext. */
ledger_err_t node_keys_client(const node_keys_t *self, zsock_t *sock, const char *name);

/*  The allowed peer whose key is `user_id` (curve_sock_user_id), or NULL.
    First node_keys_refresh; then a miss looks at the dir at once (at most
    once per NODE_KEYS_RELOAD_MIN_MS) and looks the key up again. Node
    loop's thread; `now_ms`: clock_mono_ms. */
const curve_allow_entry_t *node_keys_peer(node_keys_t *self, const char *user_id, uint64_t now_ms);

/*  Reloads the allow table if allow/<name>/ changed (curve_allow_changed),
    looking at most once per NODE_KEYS_RELOAD_MIN_MS: zauth judges only new
    handshakes, so this is what refuses the next message of a connection
    whose key was denied. A failed reload keeps the old table, counts, and
    logs `level=error event=allow_reload_failed` once until a reload
    succeeds (node_keys_table_state says so meanwhile). True if it reloaded
    or tried. Node loop's thread; false and nothing in plaintext. */
bool node_keys_refresh(node_keys_t *self, uint64_t now_ms);

/*  True once after the allow dir changed and the table was reloaded or a reload was tried (by
    node_keys_refresh or node_keys_peer; maybe a deny): the node then drops its feed's
    subscriptions, which zauth judged at their handshake only (node.c). Any change counts,
    failed reloads too, since zauth reads the dir on its own and may have let in a key this
    table never saw. Node loop's thread. */
bool node_keys_take_dropped(node_keys_t *self);

/* The table's size and reload state (node loop's thread). */
void node_keys_table_state(const node_keys_t *self, node_keys_table_t *out);

/* Keys in the allow table now (0 in plaintext): ledger_curve_allowed_keys. */
size_t node_keys_allowed_count(const node_keys_t *self);

#endif

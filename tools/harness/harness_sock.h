/*  harness_sock.h: ledger-harness's sockets to the nodes, as a peer of the
    mesh: its own CURVE key, the nodes' public keys, a handshake monitor on
    every socket, and the send-and-wait exchange with a node's inbox.

    Keys (curve/curve_keys.h layout): the harness loads its secret cert
    <keys-dir>/<key>.key (key "harness" unless --key / LEDGER_HARNESS_KEY),
    with the checks a node makes on its own (mode 0600 or stricter, name
    metadata, public key equal to <keys-dir>/public/<key>.pub). The keys dir
    is --keys-dir, else LEDGER_KEYS_DIR, else ./data/keys; the harness never
    creates it. A node name ("gateway", "accounts", "fraud") is reached with
    that node's public key <keys-dir>/public/<node>.pub; a raw tcp://
    endpoint needs --server-key (a public cert file or 40 Z85 characters).
    With --insecure-plaintext no key is read and the sockets are plain (for
    nodes started with --insecure-plaintext).

    A node accepts the harness only if the operator allowed its key there
    (ledger-keys allow harness --to <node>). When it does not, the node's
    ZAP handler refuses the handshake and libzmq reports
    ZMQ_EVENT_HANDSHAKE_FAILED_AUTH on the harness's socket: every socket
    has a raw zmq_socket_monitor into an inproc PAIR, and harness_sock_poll
    turns that event into HARNESS_SOCK_REFUSED instead of a silent wait
    (a SUB or a DEALER otherwise keeps reconnecting forever).

    Owns: each harness_sock_t owns its socket and monitor until
    harness_sock_close; harness_sock_keys_t owns the loaded cert until
    harness_sock_keys_release. An answer's reply JSON is the caller's.
    Errors (with a reason in why, never printed here): LEDGER_E_NOT_FOUND
    (keys dir, key file or a node's public cert missing; unknown node),
    LEDGER_E_INVALID (a key refused: mode, name, mismatch; a bad
    --server-key; a raw endpoint without one), LEDGER_E_TOO_LARGE (a path or
    endpoint over its limit), LEDGER_E_IO (libzmq refused a socket or an
    option). Threads: single-threaded tool; one thread uses all of it.
*/
#ifndef LEDGER_HARNESS_SOCK_H
#define LEDGER_HARNESS_SOCK_H

#include <czmq.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "curve_keys.h"
#include "harness.h"
#include "proto.h"

#define HARNESS_SOCK_KEY_DEFAULT "harness"
#define HARNESS_SOCK_PROBLEM_MAX 160 /* bytes of a handshake problem kept for the operator */

/* Where the keys come from; NULL fields take the variable, then the default. */
typedef struct {
    const char *keys_dir;   /* --keys-dir, else $LEDGER_KEYS_DIR, else ./data/keys */
    const char *key_name;   /* --key, else $LEDGER_HARNESS_KEY, else "harness" */
    const char *server_key; /* --server-key: a public cert path or a Z85 key; NULL none */
    bool plaintext;         /* --insecure-plaintext: no keys, plain sockets */
} harness_sock_config_t;

/* The harness's identity for one run. */
typedef struct {
    char keys_dir[CURVE_KEYS_PATH_MAX + 1];
    char key_name[CURVE_KEYS_NAME_MAX + 1];
    char server_z85[CURVE_KEYS_Z85_BYTES];     /* --server-key, "" when not given */
    char server_name[CURVE_KEYS_NAME_MAX + 1]; /* the name in a --server-key cert, or "" */
    zcert_t *cert;                             /* NULL with plaintext */
    bool plaintext;
    unsigned monitors; /* inproc monitor endpoints handed out (each is unique) */
} harness_sock_keys_t;

typedef enum {
    HARNESS_SOCK_OK,      /* nothing refused (so far) */
    HARNESS_SOCK_REFUSED, /* the node's ZAP handler refused our key */
} harness_sock_state_t;

/* One socket to one node (a DEALER to its inbox or a SUB on its feed). */
typedef struct {
    zsock_t *sock;
    zsock_t *monitor; /* PAIR on the socket's handshake events */
    char node[HARNESS_ENDPOINT_MAX + 1];
    char endpoint[HARNESS_ENDPOINT_MAX + 1];
    bool refused;                               /* HANDSHAKE_FAILED_AUTH seen */
    char problem[HARNESS_SOCK_PROBLEM_MAX + 1]; /* another handshake failure, "" if none */
} harness_sock_t;

typedef enum {
    HARNESS_ANSWER_ACK,
    HARNESS_ANSWER_NACK,
    HARNESS_ANSWER_REPLY,
    HARNESS_ANSWER_TIMEOUT,
    HARNESS_ANSWER_REFUSED, /* the node refused the handshake (our key is not allowed) */
    HARNESS_ANSWER_BAD,
} harness_answer_kind_t;

typedef struct {
    harness_answer_kind_t kind;
    char code[PROTO_CODE_MAX + 1];
    char reason[PROTO_REASON_MAX + 1];
    json_t *reply; /* the answer envelope as JSON (the caller's), or NULL */
} harness_answer_t;

/* The answer's name in the harness's JSON lines ("ack", "refused", ...). */
const char *harness_sock_answer_name(harness_answer_kind_t kind);

/* Resolves cfg and loads the harness's key (or nothing with plaintext). */
ledger_err_t harness_sock_keys_load(harness_sock_keys_t *keys, const harness_sock_config_t *cfg,
                                    char *why, size_t why_size);

/* Frees the cert; keys may be loaded again. */
void harness_sock_keys_release(harness_sock_keys_t *keys);

/* Opens a socket of zmq_type (ZMQ_DEALER or ZMQ_SUB; a SUB subscribes to
   nothing yet) to `to` (a node name or an endpoint, harness_resolve) as a
   CURVE client of that node, with its monitor, and connects it. */
ledger_err_t harness_sock_open(harness_sock_t *s, harness_sock_keys_t *keys, int zmq_type,
                               const char *to, harness_socket_kind_t kind, char *why,
                               size_t why_size);

/* Closes the socket and its monitor; a closed (or zeroed) s is fine. */
void harness_sock_close(harness_sock_t *s);

/* Reads the handshake events waiting on s's monitor (none blocks). */
harness_sock_state_t harness_sock_poll(harness_sock_t *s);

/* "<node> does not accept key <name>: ledger-keys allow <name> --to <node>"
   (plus the keys dir when it is not the default) into out. For a raw
   endpoint the node is the name in the --server-key cert (NODE if a bare
   Z85 key was given). */
void harness_sock_refusal(const harness_sock_t *s, const harness_sock_keys_t *keys, char *out,
                          size_t out_size);

/* Sends [tag][frame] on the DEALER s and waits up to timeout_ms for the
   answer carrying tag (an ack may list several tags); other answers are
   late ones and skipped. A refused handshake ends the wait at once. */
void harness_sock_exchange(harness_sock_t *s, uint64_t tag, const void *frame, size_t size,
                           uint64_t timeout_ms, harness_answer_t *answer);

#endif

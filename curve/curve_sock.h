/*  curve_sock.h: CURVE on a czmq socket, and the ZAP handler (czmq's zauth
    actor) that decides which client keys a CURVE server accepts.

    Two behaviours of the libraries as installed (czmq 4.2.1, libzmq 4.3.4)
    fail open, and this module exists so that no caller meets them:

    1. A CURVE server with no ZAP handler running accepts ANY client key
       (libzmq's "Stonehouse" default), on ROUTER and PUB alike. So
       curve_sock_server sets ZMQ_ZAP_ENFORCE_DOMAIN: with it, a server whose
       ZAP handler is missing refuses every client instead.
    2. czmq's zsock_set_zap_enforce_domain() is a silent no-op here: czmq
       compiles it only when ZMQ_ZAP_ENFORCE_DOMAIN is defined, and zmq.h
       defines it only in its DRAFT section. libzmq itself implements the
       option, so curve_sock_server sets it raw (option 93) and checks rc.

    A server and its zauth: start zauth (curve_auth_start) before binding the
    server socket, and stop it after destroying the socket. zauth reloads its
    allow dir on the next handshake when a file changed, so allow/deny apply
    to new connections without a restart; connected clients stay until they
    reconnect. zauth sets the ZAP User-Id of an accepted CURVE client to its
    public key in Z85 (40 characters); read it with curve_sock_user_id from
    a frame the client sent (never the identity frame a ROUTER prepends,
    which carries no metadata). Take the peer's name from that key through
    curve_allow.h, never from other message properties: libzmq lets a client
    supply a property zauth did not set.

    Owns: the zauth actor returned by curve_auth_start (the caller's, to
    curve_auth_stop). Errors: LEDGER_E_NOT_FOUND (allow dir missing),
    LEDGER_E_INVALID (bad server key text), LEDGER_E_IO (libzmq refused an
    option). Threads: as czmq: a socket is used by one thread; the actor is
    a thread of its own behind a pipe.
*/
#ifndef LEDGER_CURVE_SOCK_H
#define LEDGER_CURVE_SOCK_H

#include <czmq.h>
#include <stddef.h>

#include "ledger_err.h"

#define CURVE_SOCK_ZAP_DOMAIN "ledger"
#define CURVE_SOCK_USER_ID_PROPERTY "User-Id"

/* Starts a zauth actor that accepts CURVE clients whose public keys are
   certs in allow_dir (every regular, non-hidden file, recursively). */
ledger_err_t curve_auth_start(const char *allow_dir, zactor_t **auth_p, char *why, size_t why_size);

/* Stops the actor and sets *auth_p to NULL; NULL *auth_p is fine. */
void curve_auth_stop(zactor_t **auth_p);

/* Makes sock (not yet bound) a CURVE server with cert's key pair, in the
   ledger's ZAP domain, with the ZAP handler required (see 1 and 2 above). */
ledger_err_t curve_sock_server(zsock_t *sock, zcert_t *cert, char *why, size_t why_size);

/* Makes sock (not yet connected) a CURVE client with cert's key pair of the
   server whose public key is server_z85 (40 characters of Z85). */
ledger_err_t curve_sock_client(zsock_t *sock, zcert_t *cert, const char *server_z85, char *why,
                               size_t why_size);

/* The ZAP User-Id of the connection a received frame came over (the
   client's Z85 public key on a CURVE server with zauth), or NULL if none.
   Valid while frame is. */
const char *curve_sock_user_id(zmq_msg_t *frame);

#endif

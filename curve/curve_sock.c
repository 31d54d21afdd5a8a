/*  curve_sock.c: CURVE server and client set-up, and zauth over an allow dir
    (curve_sock.h says why each step is there). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "curve_sock.h"
#include "curve_why.h"

/* ZMQ_ZAP_ENFORCE_DOMAIN: in zmq.h's DRAFT section only (zmq_has("draft") is 0
   here), but implemented by libzmq 4.3.x. Without it a CURVE server whose ZAP
   handler is not running accepts every client key. Fixed by libzmq's ABI. */
#define CURVE_ZAP_ENFORCE_DOMAIN 93
#define CURVE_Z85_KEY_CHARS 40

ledger_err_t curve_auth_start(const char *allow_dir, zactor_t **auth_p, char *why, size_t why_size)
{
    assert(allow_dir != NULL && auth_p != NULL);
    struct stat st;
    if (stat(allow_dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return curve_why_fail(LEDGER_E_NOT_FOUND, why, why_size,
                              "allow-list directory %s is missing", allow_dir);
    zactor_t *auth = zactor_new(zauth, NULL);
    if (auth == NULL)
        return curve_why_fail(LEDGER_E_IO, why, why_size, "cannot start the zauth actor");
    /* "CURVE" is synchronous: after the wait, handshakes are judged. */
    if (zstr_sendx(auth, "CURVE", allow_dir, NULL) != 0 || zsock_wait(auth) != 0) {
        zactor_destroy(&auth);
        return curve_why_fail(LEDGER_E_IO, why, why_size, "zauth refused CURVE over %s", allow_dir);
    }
    *auth_p = auth;
    return LEDGER_OK;
}

void curve_auth_stop(zactor_t **auth_p)
{
    assert(auth_p != NULL);
    zactor_destroy(auth_p);
}

ledger_err_t curve_sock_server(zsock_t *sock, zcert_t *cert, char *why, size_t why_size)
{
    assert(sock != NULL && cert != NULL);
    zcert_apply(cert, sock);
    zsock_set_curve_server(sock, 1);
    zsock_set_zap_domain(sock, CURVE_SOCK_ZAP_DOMAIN);
    int one = 1;
    if (zmq_setsockopt(zsock_resolve(sock), CURVE_ZAP_ENFORCE_DOMAIN, &one, sizeof one) != 0)
        return curve_why_fail(
            LEDGER_E_IO, why, why_size,
            "libzmq refused ZAP_ENFORCE_DOMAIN (%s): a CURVE server would accept any key",
            zmq_strerror(zmq_errno()));
    if (zsock_mechanism(sock) != ZMQ_CURVE)
        return curve_why_fail(LEDGER_E_IO, why, why_size, "the socket is not CURVE after set-up");
    return LEDGER_OK;
}

ledger_err_t curve_sock_client(zsock_t *sock, zcert_t *cert, const char *server_z85, char *why,
                               size_t why_size)
{
    assert(sock != NULL && cert != NULL);
    uint8_t key[32];
    if (server_z85 == NULL || strlen(server_z85) != CURVE_Z85_KEY_CHARS ||
        zmq_z85_decode(key, server_z85) == NULL)
        return curve_why_fail(LEDGER_E_INVALID, why, why_size,
                              "server key is not a 40-character Z85 key");
    zcert_apply(cert, sock);
    zsock_set_curve_serverkey(sock, server_z85);
    if (zsock_mechanism(sock) != ZMQ_CURVE)
        return curve_why_fail(LEDGER_E_IO, why, why_size, "the socket is not CURVE after set-up");
    return LEDGER_OK;
}

const char *curve_sock_user_id(zmq_msg_t *frame)
{
    assert(frame != NULL);
    return zmq_msg_gets(frame, CURVE_SOCK_USER_ID_PROPERTY);
}

/*  gateway_tls.h: whether and how the gateway's public HTTP port speaks TLS.

    A bearer key or a transfer sent over plain HTTP is readable by anyone on
    the path, so the gateway serves HTTPS itself (libmicrohttpd's TLS, which
    is GnuTLS) when given a certificate and its key, and keeps plain HTTP for
    loopback only. This module holds the three parts of that decision that
    are not HTTP serving:
    - the listen rule (gateway_tls_decide): HTTPS with a certificate; plain
      HTTP on a loopback address (127.0.0.0/8, ::1, localhost); plain HTTP
      on any other address only when the operator said --insecure-http;
      otherwise a refusal with the reason;
    - loading the PEM files at start (gateway_tls_new, gateway_tls_read_pem):
      bounded in size, checked to look like PEM, then by GnuTLS (they parse,
      the key belongs to the certificate), with a reason on failure;
    - the libmicrohttpd flags and options that turn TLS on
      (gateway_tls_mhd_flags, gateway_tls_mhd_options: MHD_USE_TLS, the
      certificate and key in memory, and GATEWAY_TLS_PRIORITIES, a GnuTLS
      priority string whose floor is TLS 1.2).

    What it owns: a gateway_tls_t owns copies of the certificate and the key
    (the key's bytes are wiped at destroy) and the option array that points
    into them. libmicrohttpd keeps those pointers: the gateway_tls_t must
    outlive the daemon it was given to.

    Errors: LEDGER_E_INVALID with a reason in `why` (the listen rule refuses,
    a file is empty or not PEM, GnuTLS cannot read them or the key is not
    the certificate's, libmicrohttpd was built without TLS),
    LEDGER_E_TOO_LARGE (a file over its bound), LEDGER_E_IO (a file cannot
    be opened or read; the reason names the path and errno's text),
    LEDGER_E_NOMEM. NULL where a value is required is a bug, asserted.

    Threads: gateway_tls_new and _destroy on main's thread at start and stop;
    the accessors from any thread (they read an object that no longer
    changes).
*/
#ifndef LEDGER_GATEWAY_TLS_H
#define LEDGER_GATEWAY_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ledger_err.h"

/* Most bytes a certificate (chain) or key file may have: a long chain is a few KiB. */
#define GATEWAY_TLS_PEM_MAX_BYTES (64u * 1024u)
/*  GnuTLS priorities: its SECURE128 cipher choice (no export, RC4, 3DES or
    other ciphers under 128 bits), every protocol version off, then TLS 1.3
    and 1.2 back on (so SSL 3.0, TLS 1.0 and 1.1 are refused), no static RSA
    key exchange (forward secrecy only), and the server's order of preference. */
#define GATEWAY_TLS_PRIORITIES                                                                     \
    "SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-RSA:%SERVER_PRECEDENCE"

typedef enum {
    GATEWAY_TLS_MODE_HTTPS,         /* a certificate was given: HTTPS on any address */
    GATEWAY_TLS_MODE_LOOPBACK_HTTP, /* no certificate, a loopback address: plain HTTP */
    GATEWAY_TLS_MODE_INSECURE_HTTP  /* no certificate, another address, --insecure-http */
} gateway_tls_mode_t;

typedef struct gateway_tls_t gateway_tls_t;
struct MHD_OptionItem;

/*  The listen rule. `cert_path` and `key_path` are "" when not given (both
    or neither; node_config_load checks the pair). Fills *mode_out, or
    returns LEDGER_E_INVALID with the reason in `why` when `host` is not
    loopback, no certificate was given and `insecure_http` is false. */
ledger_err_t gateway_tls_decide(const char *host, const char *cert_path, const char *key_path,
                                bool insecure_http, gateway_tls_mode_t *mode_out, char *why,
                                size_t why_size);

/*  Reads the file at `path` into a new NUL-terminated buffer (*pem_out, the
    caller frees it; wipe it first if it is a key) of *len_out bytes.
    Refuses a file of more than `max_bytes` bytes (LEDGER_E_TOO_LARGE), an
    empty one or one without a "-----BEGIN " line (LEDGER_E_INVALID), one
    that holds a NUL byte (LEDGER_E_INVALID). */
ledger_err_t gateway_tls_read_pem(const char *path, size_t max_bytes, char **pem_out,
                                  size_t *len_out, char *why, size_t why_size);

/*  Loads the certificate (chain) and key files for HTTPS, each bounded by
    GATEWAY_TLS_PEM_MAX_BYTES. Fails with LEDGER_E_INVALID when this
    libmicrohttpd has no TLS support (MHD_FEATURE_TLS), and when GnuTLS
    cannot load the pair (not a certificate, an encrypted or unreadable key,
    a key that is not the certificate's: GnuTLS's message in `why`). */
ledger_err_t gateway_tls_new(const char *cert_path, const char *key_path, gateway_tls_t **out,
                             char *why, size_t why_size);

/* MHD_USE_TLS for a gateway_tls_t, 0 for NULL (plain HTTP). */
/*  The public port's socket address for an IPv4 or IPv6 literal (with the
    gateway_http start): *flags gains MHD_USE_IPv6 for IPv6. LEDGER_E_INVALID:
    not a literal. */
struct sockaddr_storage;
ledger_err_t gateway_tls_listen_address(const char *address, uint16_t port,
                                        struct sockaddr_storage *addr, unsigned *flags);
unsigned gateway_tls_mhd_flags(const gateway_tls_t *self);

/*  The options to give MHD_start_daemon through MHD_OPTION_ARRAY, ended by
    MHD_OPTION_END: the certificate, the key and the priorities; for NULL,
    an array with MHD_OPTION_END alone. Valid while `self` lives. */
const struct MHD_OptionItem *gateway_tls_mhd_options(const gateway_tls_t *self);

/* Wipes the key, frees everything, sets *self_p to NULL. Safe on NULL. */
void gateway_tls_destroy(gateway_tls_t **self_p);

#endif

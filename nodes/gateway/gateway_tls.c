/* gateway_tls.c: the listen rule, bounded PEM loading and the TLS options for libmicrohttpd. */
#include "gateway_tls.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sodium.h>
#include "net_addr.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Certificate, key, priorities, end. */
#define GATEWAY_TLS_OPTION_COUNT 4

struct gateway_tls_t {
    char *cert_pem;
    size_t cert_len;
    char *key_pem;
    size_t key_len;
    struct MHD_OptionItem options[GATEWAY_TLS_OPTION_COUNT];
};

static const struct MHD_OptionItem no_options[] = {{MHD_OPTION_END, 0, NULL}};

ledger_err_t gateway_tls_decide(const char *host, const char *cert_path, const char *key_path,
                                bool insecure_http, gateway_tls_mode_t *mode_out, char *why,
                                size_t why_size)
{
    assert(host && cert_path && key_path && mode_out && why);
    if (*cert_path && *key_path) {
        *mode_out = GATEWAY_TLS_MODE_HTTPS;
        return LEDGER_OK;
    }
    if (net_addr_is_loopback(host)) {
        *mode_out = GATEWAY_TLS_MODE_LOOPBACK_HTTP;
        return LEDGER_OK;
    }
    if (insecure_http) {
        *mode_out = GATEWAY_TLS_MODE_INSECURE_HTTP;
        return LEDGER_OK;
    }
    snprintf(why, why_size,
             "refusing plain HTTP on the non-loopback address '%s': API keys would travel "
             "unencrypted; give --tls-cert and --tls-key (LEDGER_TLS_CERT, LEDGER_TLS_KEY), "
             "listen on 127.0.0.1, or accept the risk with --insecure-http",
             host);
    return LEDGER_E_INVALID;
}

/* Reads at most max_bytes + 1 bytes of fd into buf (so that a file that grew is still caught). */
static ledger_err_t read_bounded(int fd, char *buf, size_t max_bytes, size_t *len_out)
{
    size_t len = 0;
    while (len <= max_bytes) {
        ssize_t n = read(fd, buf + len, max_bytes + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return LEDGER_E_IO;
        if (n == 0)
            break;
        len += (size_t)n;
    }
    *len_out = len;
    return LEDGER_OK;
}

/* The checks on what was read: within the bound, not empty, text, PEM. */
static ledger_err_t check_pem(const char *path, const char *buf, size_t len, size_t max_bytes,
                              char *why, size_t why_size)
{
    if (len > max_bytes) {
        snprintf(why, why_size, "%s: larger than %zu bytes", path, max_bytes);
        return LEDGER_E_TOO_LARGE;
    }
    if (len == 0) {
        snprintf(why, why_size, "%s: empty file", path);
        return LEDGER_E_INVALID;
    }
    if (memchr(buf, '\0', len)) {
        snprintf(why, why_size, "%s: not PEM (holds a NUL byte; DER must be converted)", path);
        return LEDGER_E_INVALID;
    }
    if (!strstr(buf, "-----BEGIN ")) {
        snprintf(why, why_size, "%s: not PEM (no -----BEGIN line)", path);
        return LEDGER_E_INVALID;
    }
    return LEDGER_OK;
}

ledger_err_t gateway_tls_read_pem(const char *path, size_t max_bytes, char **pem_out,
                                  size_t *len_out, char *why, size_t why_size)
{
    assert(path && pem_out && len_out && why && max_bytes > 0);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, why_size, "%s: cannot open: %s", path, strerror(errno));
        return LEDGER_E_IO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(why, why_size, "%s: not a regular file", path);
        close(fd);
        return LEDGER_E_INVALID;
    }
    if ((uint64_t)st.st_size > max_bytes) {
        snprintf(why, why_size, "%s: %lld bytes, larger than %zu", path, (long long)st.st_size,
                 max_bytes);
        close(fd);
        return LEDGER_E_TOO_LARGE;
    }
    char *buf = calloc(1, max_bytes + 2);
    if (!buf) {
        close(fd);
        return LEDGER_E_NOMEM;
    }
    size_t len = 0;
    ledger_err_t err = read_bounded(fd, buf, max_bytes, &len);
    if (err)
        snprintf(why, why_size, "%s: cannot read: %s", path, strerror(errno));
    close(fd);
    if (!err)
        err = check_pem(path, buf, len, max_bytes, why, why_size);
    if (err) {
        sodium_memzero(buf, max_bytes + 2);
        free(buf);
        return err;
    }
    *pem_out = buf;
    *len_out = len;
    return LEDGER_OK;
}

/*  What libmicrohttpd would find only when the daemon starts, with no more
    than "cannot start" to say: the certificate and key parse, belong
    together, and the priority string is one this GnuTLS accepts. */
static ledger_err_t check_with_gnutls(const gateway_tls_t *tls, const char *cert_path,
                                      const char *key_path, char *why, size_t why_size)
{
    gnutls_datum_t cert = {(unsigned char *)tls->cert_pem, (unsigned)tls->cert_len};
    gnutls_datum_t key = {(unsigned char *)tls->key_pem, (unsigned)tls->key_len};
    /*  The chain alone first: GnuTLS 3.7.9 leaks a certificate object when
        gnutls_certificate_set_x509_key_mem is given one it cannot parse. */
    gnutls_x509_crt_t *chain = NULL;
    unsigned chain_len = 0;
    int rc = gnutls_x509_crt_list_import2(&chain, &chain_len, &cert, GNUTLS_X509_FMT_PEM, 0);
    for (unsigned i = 0; i < chain_len; i++)
        gnutls_x509_crt_deinit(chain[i]);
    gnutls_free(chain);
    if (rc < 0) {
        snprintf(why, why_size, "certificate %s: %s", cert_path, gnutls_strerror(rc));
        return LEDGER_E_INVALID;
    }
    gnutls_certificate_credentials_t cred;
    if (gnutls_certificate_allocate_credentials(&cred) < 0)
        return LEDGER_E_NOMEM;
    rc = gnutls_certificate_set_x509_key_mem(cred, &cert, &key, GNUTLS_X509_FMT_PEM);
    gnutls_certificate_free_credentials(cred);
    if (rc < 0) {
        snprintf(why, why_size, "certificate %s with key %s: %s", cert_path, key_path,
                 gnutls_strerror(rc));
        return LEDGER_E_INVALID;
    }
    gnutls_priority_t priority;
    const char *at = NULL;
    rc = gnutls_priority_init(&priority, GATEWAY_TLS_PRIORITIES, &at);
    if (rc < 0) {
        snprintf(why, why_size, "TLS priorities '%s' refused by GnuTLS at '%s': %s",
                 GATEWAY_TLS_PRIORITIES, at ? at : "", gnutls_strerror(rc));
        return LEDGER_E_INVALID;
    }
    gnutls_priority_deinit(priority);
    return LEDGER_OK;
}

ledger_err_t gateway_tls_new(const char *cert_path, const char *key_path, gateway_tls_t **out,
                             char *why, size_t why_size)
{
    assert(cert_path && key_path && out && why);
    *out = NULL;
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        snprintf(why, why_size,
                 "this libmicrohttpd was built without TLS support (MHD_FEATURE_TLS): "
                 "HTTPS is not available");
        return LEDGER_E_INVALID;
    }
    gateway_tls_t *tls = calloc(1, sizeof *tls);
    if (!tls)
        return LEDGER_E_NOMEM;
    ledger_err_t err = gateway_tls_read_pem(cert_path, GATEWAY_TLS_PEM_MAX_BYTES, &tls->cert_pem,
                                            &tls->cert_len, why, why_size);
    if (!err)
        err = gateway_tls_read_pem(key_path, GATEWAY_TLS_PEM_MAX_BYTES, &tls->key_pem,
                                   &tls->key_len, why, why_size);
    if (!err)
        err = check_with_gnutls(tls, cert_path, key_path, why, why_size);
    if (err) {
        gateway_tls_destroy(&tls);
        return err;
    }
    tls->options[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, tls->cert_pem};
    tls->options[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, tls->key_pem};
    tls->options[2] =
        (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)GATEWAY_TLS_PRIORITIES};
    tls->options[3] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    *out = tls;
    return LEDGER_OK;
}

unsigned gateway_tls_mhd_flags(const gateway_tls_t *self)
{
    return self ? (unsigned)MHD_USE_TLS : 0u;
}

const struct MHD_OptionItem *gateway_tls_mhd_options(const gateway_tls_t *self)
{
    return self ? self->options : no_options;
}

void gateway_tls_destroy(gateway_tls_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gateway_tls_t *tls = *self_p;
    if (tls->key_pem)
        sodium_memzero(tls->key_pem, tls->key_len);
    free(tls->key_pem);
    free(tls->cert_pem);
    free(tls);
    *self_p = NULL;
}

/* The listening address (gateway_tls.h). */
ledger_err_t gateway_tls_listen_address(const char *address, uint16_t port,
                                        struct sockaddr_storage *addr, unsigned *flags)
{
    memset(addr, 0, sizeof *addr);
    struct sockaddr_in *v4 = (struct sockaddr_in *)addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)addr;
    if (inet_pton(AF_INET, address, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        return LEDGER_OK;
    }
    if (inet_pton(AF_INET6, address, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        *flags |= MHD_USE_IPv6;
        return LEDGER_OK;
    }
    return LEDGER_E_INVALID;
}

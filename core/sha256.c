/* sha256.c: SHA-256 through libcrypto's EVP interface. */
#include "sha256.h"

#include <openssl/evp.h>
#include <pthread.h>

static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md; /* fetched once: an implicit fetch per call costs more than the hash */

static void fetch_sha256(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

ledger_err_t sha256_parts(const sha256_part_t *parts, size_t count, uint8_t out[SHA256_SIZE])
{
    pthread_once(&fetch_once, fetch_sha256);
    if (!sha256_md)
        return LEDGER_E_IO;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        return LEDGER_E_NOMEM;
    int ok = EVP_DigestInit_ex2(ctx, sha256_md, NULL);
    for (size_t i = 0; ok && i < count; i++)
        ok = EVP_DigestUpdate(ctx, parts[i].data, parts[i].size);
    unsigned size = 0;
    ok = ok && EVP_DigestFinal_ex(ctx, out, &size) && size == SHA256_SIZE;
    EVP_MD_CTX_free(ctx);
    return ok ? LEDGER_OK : LEDGER_E_IO;
}

/*  sha256.h: SHA-256 of a few byte ranges, for the ledger's hash chain and
    the gateway's request hashes.

    Computed by OpenSSL's libcrypto, which uses the CPU's SHA instructions
    (or its AVX2 code where there are none). libsodium, which DESIGN.md
    names for hashing, has only portable C for SHA-256: 1.15 µs against
    0.33 µs for one ledger entry on the 2-core machine, and the chain hash
    was ~22% of the accounts node's instructions per transfer
    (bench/README.md, 2026-12-03). The digest is the same SHA-256, so
    ledgers written before verify unchanged; sha256_test checks it against
    libsodium. Thread-safe. */
#ifndef LEDGER_SHA256_H
#define LEDGER_SHA256_H

#include <stddef.h>
#include <stdint.h>
#include "ledger_err.h"

#define SHA256_SIZE 32

typedef struct {
    const void *data;
    size_t size;
} sha256_part_t;

/*  out = SHA-256 of parts[0] .. parts[count - 1] one after the other.
    LEDGER_E_NOMEM when libcrypto cannot allocate its context (or, never
    seen, fails to run the digest: LEDGER_E_IO); `out` is then unset. */
ledger_err_t sha256_parts(const sha256_part_t *parts, size_t count, uint8_t out[SHA256_SIZE]);

#endif

/* proto_bundle.c: several envelopes for one peer in one ZeroMQ message (proto.h, proto/README.md).
 */
#include <assert.h>
#include <string.h>

#include "proto.h"

void proto_bundle_len_pack(uint32_t len, uint8_t out[PROTO_BUNDLE_LEN_SIZE])
{
    assert(out);
    out[0] = (uint8_t)(len >> 24);
    out[1] = (uint8_t)(len >> 16);
    out[2] = (uint8_t)(len >> 8);
    out[3] = (uint8_t)len;
}

ledger_err_t proto_bundle_next(const void *data, size_t size, size_t *offset, const void **env_out,
                               size_t *env_size_out)
{
    assert(offset && env_out && env_size_out);
    const uint8_t *p = data;
    if (!data || *offset > size || size - *offset < PROTO_BUNDLE_LEN_SIZE)
        return LEDGER_E_DECODE;
    const uint8_t *h = p + *offset;
    size_t len = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | (size_t)h[3];
    size_t rest = size - *offset - PROTO_BUNDLE_LEN_SIZE;
    if (len == 0 || len > PROTO_FRAME_MAX || len > rest)
        return LEDGER_E_DECODE;
    *env_out = h + PROTO_BUNDLE_LEN_SIZE;
    *env_size_out = len;
    *offset += PROTO_BUNDLE_LEN_SIZE + len;
    return LEDGER_OK;
}

ledger_err_t proto_bundle_check(const void *data, size_t size, size_t count)
{
    if (count < 2 || count > PROTO_BUNDLE_MAX || size > PROTO_BUNDLE_BYTES_MAX)
        return LEDGER_E_DECODE;
    size_t offset = 0;
    for (size_t i = 0; i < count; i++) {
        const void *env;
        size_t env_size;
        if (proto_bundle_next(data, size, &offset, &env, &env_size) != LEDGER_OK)
            return LEDGER_E_DECODE;
    }
    return offset == size ? LEDGER_OK : LEDGER_E_DECODE;
}

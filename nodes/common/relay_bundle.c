/* relay_bundle.c: outbox entries for one peer gathered into one ZeroMQ message (relay_bundle.h). */
#include "relay_bundle.h"

#include <assert.h>
#include <string.h>
#include <zmq.h>

bool relay_bundle_fits(const relay_bundle_t *b, size_t env_size, size_t max)
{
    assert(b && max >= 1 && max <= PROTO_BUNDLE_MAX);
    if (b->count == 0)
        return true; /* alone, an entry is sent as [tag][envelope], whatever its size */
    return !b->big && b->count < max && env_size <= PROTO_FRAME_MAX &&
           b->size + PROTO_BUNDLE_LEN_SIZE + env_size <= PROTO_BUNDLE_BYTES_MAX;
}

void relay_bundle_add(relay_bundle_t *b, uint64_t tag, const void *env, size_t env_size,
                      uint32_t slot)
{
    assert(b && env && b->count < PROTO_BUNDLE_MAX);
    proto_tag_pack(tag, b->tags + b->count * PROTO_TAG_SIZE);
    b->slots[b->count] = slot;
    if (b->count == 0 && env_size > PROTO_BUNDLE_BYTES_MAX - PROTO_BUNDLE_LEN_SIZE) {
        /* Too big to bundle: sent alone from the caller's bytes (relay_bundle_send). */
        b->count = 1;
        b->size = 0;
        b->big = env;
        b->big_size = env_size;
        return;
    }
    proto_bundle_len_pack((uint32_t)env_size, b->payload + b->size);
    memcpy(b->payload + b->size + PROTO_BUNDLE_LEN_SIZE, env, env_size);
    b->size += PROTO_BUNDLE_LEN_SIZE + env_size;
    b->count++;
}

bool relay_bundle_send(const relay_bundle_t *b, void *sock)
{
    assert(b && sock && b->count >= 1);
    const uint8_t *data = b->payload;
    size_t size = b->size;
    if (b->big) {
        data = b->big;
        size = b->big_size;
    } else if (b->count == 1) { /* one entry: the plain [tag][envelope] framing */
        data += PROTO_BUNDLE_LEN_SIZE;
        size -= PROTO_BUNDLE_LEN_SIZE;
    }
    return relay_bundle_send_frames(sock, b->tags, b->count * PROTO_TAG_SIZE, data, size);
}

bool relay_bundle_send_frames(void *sock, const void *tags, size_t tags_size, const void *data,
                              size_t size)
{
    assert(sock && tags && data);
    if (zmq_send(sock, tags, tags_size, ZMQ_SNDMORE | ZMQ_DONTWAIT) != (int)tags_size)
        return false;
    /* A multipart message is queued whole once its first part is accepted. */
    return zmq_send(sock, data, size, ZMQ_DONTWAIT) == (int)size;
}

void relay_bundle_clear(relay_bundle_t *b)
{
    assert(b);
    b->count = 0;
    b->size = 0;
    b->big = NULL;
    b->big_size = 0;
}

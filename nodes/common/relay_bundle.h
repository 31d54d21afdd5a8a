/*  relay_bundle.h: the outbox entries a relay is about to send to one peer,
    gathered into one ZeroMQ message (a bundle, proto/README.md "Framing").

    Why: every ZeroMQ frame on a CURVE link is encrypted on its own, and the
    fixed cost per frame is most of the cost of a ~300-byte envelope. A busy
    link sends runs of entries to the same peer, so the relay packs up to
    `max` of them (PROTO_BUNDLE_MAX at most, PROTO_BUNDLE_BYTES_MAX bytes)
    into one [tags][payload] message. A bundle of one is sent as today's
    two frames [tag][envelope], so `max` 1 (--bundle-max 1) speaks exactly
    the framing of builds before bundles (for a rolling upgrade).

    How to call it: relay_bundle_fits, then relay_bundle_add for each
    entry (in outbox order); relay_bundle_send when the next entry does not
    fit or the run ends; relay_bundle_clear after reading the slots back.
    Owns: copies of the entries' bytes until cleared; no allocation.
    Errors: relay_bundle_send returns false when the socket refused the
    message (peer away or its queue full): nothing of it went out.
    Threads: the node loop's, like the relay.
*/
#ifndef LEDGER_RELAY_BUNDLE_H
#define LEDGER_RELAY_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "proto.h"

typedef struct {
    uint8_t tags[PROTO_BUNDLE_MAX * PROTO_TAG_SIZE];
    uint8_t payload[PROTO_BUNDLE_BYTES_MAX]; /* n x [u32 length][envelope] */
    uint32_t slots[PROTO_BUNDLE_MAX];        /* the caller's index of each entry */
    size_t count;
    size_t size;     /* bytes used in payload */
    const void *big; /* an entry too big to bundle, sent alone from the caller's bytes */
    size_t big_size;
} relay_bundle_t;

/* True if an envelope of env_size bytes may join the bundle, which then holds at most `max`. */
bool relay_bundle_fits(const relay_bundle_t *b, size_t env_size, size_t max);
/*  Adds the entry `tag` with envelope env[0..env_size) (relay_bundle_fits
    said true). An envelope too big for a bundle is not copied: env must
    then stay valid until the bundle is sent (the relay's read transaction). */
void relay_bundle_add(relay_bundle_t *b, uint64_t tag, const void *env, size_t env_size,
                      uint32_t slot);
/*  Sends [tags][data] on the DEALER `sock` without blocking: the one way a
    relay message goes out (a resend of one entry too). False: nothing went. */
bool relay_bundle_send_frames(void *sock, const void *tags, size_t tags_size, const void *data,
                              size_t size);
/* Sends the bundle (count >= 1) on the DEALER `sock` without blocking. */
bool relay_bundle_send(const relay_bundle_t *b, void *sock);
/* Empties the bundle. */
void relay_bundle_clear(relay_bundle_t *b);

#endif

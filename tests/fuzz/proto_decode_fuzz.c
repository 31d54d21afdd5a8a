/*  proto_decode_fuzz.c: libFuzzer target for proto_decode.

    For any input: proto_decode must not crash, leak or trip a sanitizer; on
    error the output is all zeros and a reason is given; on success the
    message must pass proto_validate (re-encoding succeeds), decode again to
    an equal message, and encode to the same bytes a second time (encoding is
    deterministic). Seeds: corpus/proto/, written by make_proto_corpus.
*/
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

#define WHY_SIZE 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    proto_msg_t msg;
    char why[WHY_SIZE];
    if (proto_decode(data, size, &msg, why, sizeof why) != LEDGER_OK) {
        const unsigned char *p = (const unsigned char *)&msg;
        for (size_t i = 0; i < sizeof msg; i++)
            check(p[i] == 0);
        check(why[0] != '\0');
        proto_msg_release(&msg);
        return 0;
    }

    void *again = NULL;
    size_t again_size = 0;
    check(proto_encode(&msg, &again, &again_size, why, sizeof why) == LEDGER_OK);
    check(again_size <= size);

    proto_msg_t second;
    check(proto_decode(again, again_size, &second, why, sizeof why) == LEDGER_OK);
    check(proto_msg_equal(&msg, &second));

    void *third = NULL;
    size_t third_size = 0;
    check(proto_encode(&second, &third, &third_size, why, sizeof why) == LEDGER_OK);
    check(third_size == again_size && memcmp(third, again, again_size) == 0);

    free(third);
    free(again);
    proto_msg_release(&second);
    proto_msg_release(&msg);
    return 0;
}

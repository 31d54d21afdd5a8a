/*  make_proto_corpus.c: writes the fuzz seed corpus, one valid frame per
    message type (and per account.query op) as a binary file: the samples
    the proto unit tests use (tests/unit/proto_samples.h).

    Usage: make_proto_corpus DIR     (e.g. tests/fuzz/corpus/proto)
    Files are named after the sample (sample_names: the type, and a query's
    op or a variant): transfer.requested.msgpack, account.query.list.msgpack, ...
    Rerun it whenever the wire format changes, and commit the result.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "proto_samples.h"

static int write_frame(const char *dir, const char *name, const proto_msg_t *m)
{
    void *data;
    size_t size;
    char why[256];
    ledger_err_t err = proto_encode(m, &data, &size, why, sizeof why);
    if (err != LEDGER_OK) {
        fprintf(stderr, "make_proto_corpus: %s: %s: %s\n", name, ledger_err_name(err), why);
        return -1;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.msgpack", dir, name);
    FILE *f = fopen(path, "wb");
    int rc = f && fwrite(data, 1, size, f) == size ? 0 : -1;
    if (f && fclose(f) != 0)
        rc = -1;
    if (rc != 0)
        perror(path);
    free(data);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_proto_corpus DIR\n");
        return 2;
    }
    int rc = 0;
    for (int s = 0; s < S__COUNT; s++) {
        proto_msg_t m = sample((sample_t)s);
        rc |= write_frame(argv[1], sample_names[s], &m);
    }
    return rc ? 1 : 0;
}

/*  outbox_put.c: test tool. Puts raw bytes (a file, or - for stdin) into a
    node's outbox for a peer, through the store API, as if the node had
    written them: the way integration tests plant a poison message.
    usage: outbox_put <data-dir> <peer> <file|-> */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "store.h"

typedef struct {
    const char *peer;
    const void *data;
    size_t size;
    uint64_t seq;
} put_t;

static ledger_err_t put(store_txn_t *txn, void *arg)
{
    put_t *p = arg;
    return store_outbox_put(txn, p->peer, p->data, p->size, clock_wall_ms(), &p->seq);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s <data-dir> <peer> <file|->\n", argv[0]);
        return 2;
    }
    FILE *in = strcmp(argv[3], "-") == 0 ? stdin : fopen(argv[3], "rb");
    if (!in) {
        perror(argv[3]);
        return 1;
    }
    static unsigned char buf[STORE_MSG_MAX];
    size_t size = fread(buf, 1, sizeof buf, in);
    if (in != stdin)
        fclose(in);
    store_t *store = NULL;
    ledger_err_t err = store_open(argv[1], NULL, &store);
    if (err) {
        fprintf(stderr, "open %s: %s\n", argv[1], ledger_err_name(err));
        return 1;
    }
    put_t p = {argv[2], buf, size, 0};
    err = store_write(store, put, &p);
    store_destroy(&store);
    if (err) {
        fprintf(stderr, "put: %s\n", ledger_err_name(err));
        return 1;
    }
    printf("%llu\n", (unsigned long long)p.seq);
    return 0;
}

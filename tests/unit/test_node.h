/*  test_node.h: the fixture of the handler tests (accounts, fraud): a store
    in a temporary directory of its own (test_store.h), the one write
    transaction a test's handlers run in, as the node loop's batch, and a
    node context on it. Closing aborts that transaction: a test inspects
    what the handlers wrote through it, nothing is committed. Header-only;
    include after cmocka.h. */
#ifndef LEDGER_TEST_NODE_H
#define LEDGER_TEST_NODE_H

#include <stdint.h>

#include "node_ctx.h"
#include "test_store.h"

typedef struct {
    char dir[TEST_DIR_BYTES];
    store_t *store;
    store_txn_t *txn;
    node_ctx_t ctx;  /* node_ctx_init'ed on txn, as `node` at `now_ms` */
    uint64_t in_seq; /* sequence of the inbound messages the test makes */
} test_node_t;

/* Opens the store in "/tmp/<name>.XXXXXX", begins the write transaction and the context. */
static inline void test_node_open(test_node_t *t, const char *name, const char *node,
                                  uint64_t now_ms)
{
    test_store_open(t->dir, name, &t->store);
    assert_int_equal(store_txn_begin(t->store, true, &t->txn), LEDGER_OK);
    node_ctx_init(&t->ctx, t->txn, node, now_ms);
}

static inline void test_node_close(test_node_t *t)
{
    node_ctx_fini(&t->ctx);
    store_txn_abort(&t->txn);
    test_store_close(t->dir, &t->store);
}

#endif

/*  test_node.h: the fixture of the handler tests (accounts, fraud): a store
    in a temporary directory of its own (test_store.h), the one write
    transaction a test's handlers run in, as the node loop's batch, and a
    node context on it. Closing aborts that transaction: a test inspects
    what the handlers wrote through it, nothing is committed. Header-only;
    include after cmocka.h. */
#ifndef LEDGER_TEST_NODE_H
#define LEDGER_TEST_NODE_H

#include <stdbool.h>
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

/* A node's message handler as the tests call it; `arg` is what it needs besides the context. */
typedef ledger_err_t (*test_handler_fn)(node_ctx_t *ctx, const proto_msg_t *msg, void *arg);

/*  Feeds `msg` to `handle` as each type the node does not handle (every type
    but the `handled` ones): each is refused as LEDGER_E_INVALID and nothing
    is published. The caller checks that nothing was written. */
static inline void test_node_expect_other_types_refused(test_node_t *t, test_handler_fn handle,
                                                        void *arg, proto_msg_t msg,
                                                        const proto_type_t *handled,
                                                        size_t handled_count)
{
    for (int type = 1; type < PROTO_TYPE__COUNT; type++) {
        bool is_handled = false;
        for (size_t i = 0; i < handled_count; i++)
            is_handled = is_handled || handled[i] == (proto_type_t)type;
        if (is_handled)
            continue;
        msg.type = (proto_type_t)type;
        assert_int_equal(handle(&t->ctx, &msg, arg), LEDGER_E_INVALID);
    }
    assert_int_equal(t->ctx.published_count, 0);
}

#endif

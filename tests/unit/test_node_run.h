/*  test_node_run.h: what the tests that run a real node in a thread share:
    the thread's body and two free loopback ports for its inbox and feed.
    Header-only; include after czmq.h and node.h. */
#ifndef LEDGER_TEST_NODE_RUN_H
#define LEDGER_TEST_NODE_RUN_H

#include <czmq.h>

#include "node.h"

/* pthread body: runs the node `arg` until node_stop. */
static inline void *test_node_run(void *arg)
{
    node_run(arg);
    return NULL;
}

/* Two distinct free loopback ports: both sockets stay bound until both are known. */
static inline void test_free_ports(int *first, int *second)
{
    zsock_t *a = zsock_new(ZMQ_ROUTER), *b = zsock_new(ZMQ_ROUTER);
    *first = zsock_bind(a, "tcp://127.0.0.1:*");
    *second = zsock_bind(b, "tcp://127.0.0.1:*");
    zsock_destroy(&a);
    zsock_destroy(&b);
}

#endif

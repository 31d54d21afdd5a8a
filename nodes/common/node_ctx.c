/* node_ctx.c: emitting messages from business logic into the outbox. */
#include "node_ctx.h"

#include "grow.h"
#include "text.h"

#include <assert.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#define NODE_MSG_SEQUENCE "msg"
#define NODE_CTX_PUBLISH_FIRST_CAP 64 /* feed copies allocated at first, then doubled */

void node_ctx_init(node_ctx_t *ctx, store_txn_t *txn, const char *node_name, uint64_t now_ms)
{
    assert(ctx && node_name);
    memset(ctx, 0, sizeof *ctx);
    ctx->txn = txn;
    ctx->node_name = node_name;
    ctx->now_ms = now_ms;
}

void node_ctx_reset(node_ctx_t *ctx)
{
    assert(ctx);
    for (size_t i = 0; i < ctx->published_count; i++)
        free(ctx->published[i].data);
    ctx->published_count = 0;
}

void node_ctx_begin(node_ctx_t *ctx, store_txn_t *txn, uint64_t now_ms)
{
    assert(ctx && txn);
    node_ctx_reset(ctx);
    ctx->txn = txn;
    ctx->now_ms = now_ms;
}

void node_ctx_fini(node_ctx_t *ctx)
{
    assert(ctx);
    node_ctx_reset(ctx);
    free(ctx->published);
    ctx->published = NULL;
    ctx->published_cap = 0;
}

static ledger_err_t keep_for_feed(node_ctx_t *ctx, proto_type_t type, void *data, size_t size)
{
    if (ctx->published_count == ctx->published_cap && ctx->published_cap >= NODE_CTX_PUBLISH_MAX)
        return LEDGER_E_TOO_LARGE;
    node_published_t *published =
        grow_for_one(ctx->published, ctx->published_count, &ctx->published_cap, sizeof *published,
                     NODE_CTX_PUBLISH_FIRST_CAP);
    if (!published)
        return LEDGER_E_NOMEM;
    ctx->published = published;
    ctx->published[ctx->published_count++] = (node_published_t){type, data, size};
    return LEDGER_OK;
}

ledger_err_t node_ctx_emit(node_ctx_t *ctx, const char *const *peers, size_t peer_count,
                           proto_msg_t *msg, const proto_msg_t *cause)
{
    assert(ctx && ctx->txn && msg);
    uint64_t seq;
    ledger_err_t err = store_seq_next(ctx->txn, NODE_MSG_SEQUENCE, &seq);
    if (err)
        return err;
    msg->v = PROTO_VERSION;
    text_copy(msg->origin, sizeof msg->origin, ctx->node_name); /* config: 1..PROTO_NODE_MAX */
    msg->seq = seq;
    msg->ts_ms = ctx->now_ms;
    if (cause)
        proto_msg_id(cause, msg->cause);
    else
        msg->cause[0] = '\0';

    void *data = NULL;
    size_t size = 0;
    err = proto_encode(msg, &data, &size, NULL, 0);
    if (err)
        return err;
    for (size_t i = 0; i < peer_count; i++) {
        err = store_outbox_put(ctx->txn, peers[i], data, size, ctx->now_ms, NULL);
        if (err) {
            free(data);
            return err;
        }
    }
    /* The feed is best effort: past its limit the copy is dropped (and counted), the
       message itself is in the outbox and goes out as usual. */
    if (keep_for_feed(ctx, msg->type, data, size) != LEDGER_OK) {
        free(data);
        ctx->feed_dropped++;
    }
    return LEDGER_OK;
}

/*  gateway_prune.c: the retention actor (idempotency keys, the event log, transfer views).

    The actor sleeps on its pipe until the next run is due, so $TERM ends it
    at once; it never holds a transaction while it waits. Each kind of
    retention runs in a write transaction of its own, so that a record one
    kind cannot read stops that kind alone, and only after the kinds before
    it committed (the map would fill if one bad view stopped every kind).
*/
#include "gateway_prune.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <czmq.h>

#include "gateway_actor.h"

#include "clock.h"
#include "gateway_events.h"
#include "gateway_view.h"
#include "gateway_view_prune.h"

#define LOG_LINE_MAX 512     /* bytes of one log line */
#define FAULT_REASON_MAX 200 /* bytes of the reason handed to config.fault */

struct gateway_prune_t {
    gateway_prune_config_t config; /* read by the actor: outlives it */
    zactor_t *actor;
    /* The actor's own: where the views' walk resumes (gateway_view_prune.h). */
    char views_after[PROTO_TRANSFER_ID_MAX + 1];
    _Atomic uint64_t views_pruned; /* written by the actor, read by /metrics */
};

/* The kinds of retention, in the order a run takes them, each in its own write transaction. */
typedef enum { PRUNE_KEYS = 0, PRUNE_EVENTS, PRUNE_VIEWS, PRUNE__KINDS } prune_kind_t;

static const char *const PRUNE_KIND_NAMES[PRUNE__KINDS] = {"idempotency keys", "events",
                                                           "transfer views"};

typedef struct {
    prune_kind_t kind;
    uint64_t now_ms;
    uint64_t retention_ms;
    uint64_t views_retention_ms;
    const char *views_after;
    size_t pruned;
    gateway_view_prune_result_t views; /* the views' kind */
} prune_run_t;

static ledger_err_t prune_fn(store_txn_t *txn, void *arg)
{
    prune_run_t *p = arg;
    p->pruned = 0;
    switch (p->kind) {
    case PRUNE_KEYS:
        return gateway_view_prune_idempotency(txn, p->now_ms, p->retention_ms,
                                              GATEWAY_PRUNE_KEYS_MAX, &p->pruned);
    case PRUNE_EVENTS: /* the event log's retention (gateway_events.h) */
        return gateway_events_prune(txn, p->now_ms, GATEWAY_EVENTS_KEEP_MAX, GATEWAY_EVENTS_KEEP_MS,
                                    GATEWAY_EVENTS_PRUNE_MAX, &p->pruned);
    default: /* the transfer views' (gateway_view_prune.h) */
        assert(p->kind == PRUNE_VIEWS);
        return gateway_view_prune_transfers(txn, p->now_ms, p->views_retention_ms, p->views_after,
                                            GATEWAY_PRUNE_VIEWS_MAX, GATEWAY_PRUNE_VIEWS_SCAN_MAX,
                                            &p->views);
    }
}

/* True if a committed run of its kind hit its limit: more are due. */
static bool prune_more(const prune_run_t *p)
{
    switch (p->kind) {
    case PRUNE_KEYS:
        return p->pruned == GATEWAY_PRUNE_KEYS_MAX;
    case PRUNE_EVENTS:
        return p->pruned == GATEWAY_EVENTS_PRUNE_MAX;
    default:
        return p->views.pruned == GATEWAY_PRUNE_VIEWS_MAX || p->views.next_after[0];
    }
}

/*  A kind's run failed: logged; LEDGER_E_CORRUPT (a record that does not decode) faults the
    node through config.fault (node.h, "Storage faults"). */
static void prune_failed(const gateway_prune_config_t *c, prune_kind_t kind, ledger_err_t err)
{
    if (c->log) {
        char line[LOG_LINE_MAX];
        snprintf(line, sizeof line, "gateway http: pruning %s failed: %s (%s)",
                 PRUNE_KIND_NAMES[kind], ledger_err_name(err), store_last_error(c->store));
        c->log(c->log_arg, line);
    }
    if (err != LEDGER_E_CORRUPT || !c->fault)
        return;
    char reason[FAULT_REASON_MAX];
    snprintf(reason, sizeof reason,
             "stored data does not decode (corrupt) in the gateway's retention of %s",
             PRUNE_KIND_NAMES[kind]);
    c->fault(c->fault_arg, "prune", reason);
}

static bool prune_faulted(const gateway_prune_config_t *c)
{
    return c->faulted && c->faulted(c->fault_arg);
}

/*  The period between runs: GATEWAY_PRUNE_INTERVAL_MS, or half the shortest retention when that
    is shorter (not under GATEWAY_PRUNE_INTERVAL_MIN_MS), so that a retention of seconds (tests,
    the soak) is kept to within about half of itself. */
static uint64_t prune_interval_ms(const gateway_prune_config_t *c)
{
    uint64_t ms = GATEWAY_PRUNE_INTERVAL_MS;
    if (c->retention_ms && c->retention_ms / 2 < ms)
        ms = c->retention_ms / 2;
    if (c->views_retention_ms && c->views_retention_ms / 2 < ms)
        ms = c->views_retention_ms / 2;
    return ms < GATEWAY_PRUNE_INTERVAL_MIN_MS ? GATEWAY_PRUNE_INTERVAL_MIN_MS : ms;
}

/*  One run: each kind in its own write transaction, none while the node is faulted (it writes
    nothing), none after a kind met corrupt data. Returns the monotonic time of the next. */
static uint64_t prune_once(gateway_prune_t *self)
{
    const gateway_prune_config_t *c = &self->config;
    uint64_t now_ms = c->now_ms ? c->now_ms() : clock_wall_ms();
    bool more = false;
    for (int kind = 0; kind < PRUNE__KINDS && !prune_faulted(c); kind++) {
        prune_run_t p = {.kind = (prune_kind_t)kind,
                         .now_ms = now_ms,
                         .retention_ms = c->retention_ms,
                         .views_retention_ms = c->views_retention_ms,
                         .views_after = self->views_after};
        ledger_err_t err = store_write(c->store, prune_fn, &p);
        if (err) {
            prune_failed(c, (prune_kind_t)kind, err);
            if (err == LEDGER_E_CORRUPT)
                break;
            continue; /* the other kinds still run: one may free the room this one lacked */
        }
        if (kind == PRUNE_VIEWS) {
            memcpy(self->views_after, p.views.next_after, sizeof self->views_after);
            atomic_fetch_add(&self->views_pruned, p.views.pruned);
        }
        more = more || prune_more(&p); /* a full run means more are due: go again soon */
    }
    return clock_mono_ms() + (more ? GATEWAY_PRUNE_AGAIN_MS : prune_interval_ms(c));
}

static void prune_actor(zsock_t *pipe, void *args)
{
    gateway_prune_t *self = args;
    zpoller_t *poller = zpoller_new(pipe, NULL);
    zsock_signal(pipe, 0);
    if (!poller) {
        while (!gateway_actor_pipe_says_stop(pipe))
            ;
        return;
    }
    uint64_t next_ms = clock_mono_ms();
    for (;;) {
        uint64_t now = clock_mono_ms();
        int wait_ms = next_ms > now ? (int)(next_ms - now) : 0;
        /* A signal (EINTR) only ends this wait: the actor ends on $TERM alone. */
        if (zpoller_wait(poller, wait_ms) == pipe && gateway_actor_pipe_says_stop(pipe))
            break;
        if (clock_mono_ms() >= next_ms)
            next_ms = prune_once(self);
    }
    zpoller_destroy(&poller);
}

ledger_err_t gateway_prune_start(const gateway_prune_config_t *config, gateway_prune_t **out)
{
    assert(config && config->store && out);
    *out = NULL;
    gateway_prune_t *self = calloc(1, sizeof *self);
    if (!self)
        return LEDGER_E_NOMEM;
    self->config = *config;
    self->actor = zactor_new(prune_actor, self);
    if (!self->actor) {
        free(self);
        return LEDGER_E_IO;
    }
    *out = self;
    return LEDGER_OK;
}

uint64_t gateway_prune_views_pruned(const gateway_prune_t *self)
{
    return self ? atomic_load(&((gateway_prune_t *)self)->views_pruned) : 0;
}

void gateway_prune_destroy(gateway_prune_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gateway_prune_t *self = *self_p;
    zactor_destroy(&self->actor);
    free(self);
    *self_p = NULL;
}

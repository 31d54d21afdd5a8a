/*  gateway_owners_fill.c: the start-up fill of the owner map (gateway_owners_fill.h).

    The thread asks one page at a time and waits for its answer on a
    condition variable that the client's resume callback signals; destroy
    stops the client first (the waiting query is answered STOPPING), so the
    thread always wakes up and ends. */
#include "gateway_owners_fill.h"

#include <assert.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "gateway_accounts_client.h"
#include "gateway_owners.h"
#include "node_log.h"

struct gateway_owners_fill_t {
    store_t *store;
    bool (*faulted)(void *arg); /* config.faulted, config.fault, config.fault_arg */
    void (*fault)(void *arg, const char *source, const char *reason);
    void *fault_arg;
    gateway_accounts_client_t *client;
    pthread_t thread;
    bool started;
    pthread_mutex_t lock; /* guards resumed, stopping and done */
    pthread_cond_t cond;
    bool resumed;
    bool stopping;
    bool done; /* the whole list was read */
    /* what the fill did, for its log lines (the fill thread's alone) */
    uint64_t accounts, added, conflicts, pages;
};

static void on_suspend(void *waiter)
{
    (void)waiter; /* nothing to suspend: the thread waits for on_resume */
}

static void on_resume(void *waiter)
{
    gateway_owners_fill_t *self = waiter;
    pthread_mutex_lock(&self->lock);
    self->resumed = true;
    pthread_cond_broadcast(&self->cond);
    pthread_mutex_unlock(&self->lock);
}

/*  Waits for the query's answer (always comes: stopping the client answers it, and the
    query must not be left with the client), or `ms` (ends early at a stop). false once
    stopping. */
static bool wait_for(gateway_owners_fill_t *self, bool for_answer, uint32_t ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&self->lock);
    int rc = 0;
    while (for_answer ? !self->resumed : (!self->stopping && rc == 0))
        rc = for_answer ? pthread_cond_wait(&self->cond, &self->lock)
                        : pthread_cond_timedwait(&self->cond, &self->lock, &until);
    bool go_on = !self->stopping;
    pthread_mutex_unlock(&self->lock);
    return go_on;
}

typedef struct {
    const proto_account_reply_t *rep;
    uint64_t added, conflicts;
} page_write_t;

/* One page's missing entries in one write (re-runnable: counts restart). */
static ledger_err_t page_write(store_txn_t *txn, void *arg)
{
    page_write_t *w = arg;
    w->added = w->conflicts = 0;
    for (uint32_t i = 0; i < w->rep->account_count; i++) {
        const proto_account_t *a = &w->rep->accounts[i];
        if (!a->owner[0])
            continue; /* a settlement account: nobody owns it */
        bool added = false;
        ledger_err_t err = gateway_owners_put(txn, a->id, a->owner, &added);
        if (err == LEDGER_E_EXISTS) {
            node_log_write(NODE_LOG_WARN,
                           "event=owners_fill_conflict account=%s owner_accounts=%s "
                           "detail=\"the gateway's map names another owner; kept\"",
                           a->id, a->owner);
            w->conflicts++;
            continue;
        }
        if (err)
            return err;
        w->added += added ? 1 : 0;
    }
    return LEDGER_OK;
}

/* True once the node is faulted (node.h, "Storage faults"): the fill writes nothing more. */
static bool fill_faulted(gateway_owners_fill_t *self)
{
    return self->faulted && self->faulted(self->fault_arg);
}

/*  Asks for the page after `after`; on an answer, writes it and moves `after` on. Returns
    1 for a page done with more to come, 0 when the list is done, -1 to retry, -2 to stop
    (also once the node is faulted). */
static int fill_page(gateway_owners_fill_t *self, char after[PROTO_ACCOUNT_ID_MAX + 1])
{
    if (fill_faulted(self))
        return -2;
    proto_query_t q = {.op = PROTO_QUERY_LIST, .limit = PROTO_PAGE_MAX};
    memcpy(q.after, after, sizeof q.after);
    gateway_accounts_query_t query;
    char why[PROTO_REASON_MAX + 1] = "";
    if (gateway_accounts_client_prepare(self->client, &query, &q, why, sizeof why) != LEDGER_OK)
        return -2; /* a query of ours that breaks a wire rule: a bug, nothing to retry */
    query.waiter = self;
    pthread_mutex_lock(&self->lock);
    self->resumed = false;
    pthread_mutex_unlock(&self->lock);
    int result = -2;
    if (gateway_accounts_client_send(self->client, &query) && wait_for(self, true, 0)) {
        const proto_account_reply_t *rep = &query.reply.body.account_reply;
        result = -1;
        if (query.outcome == GATEWAY_ACCOUNTS_OK && query.has_reply && rep->status == 200) {
            page_write_t w = {.rep = rep};
            ledger_err_t err =
                fill_faulted(self) ? LEDGER_E_STORE : store_write(self->store, page_write, &w);
            if (err == LEDGER_E_CORRUPT && self->fault)
                self->fault(self->fault_arg, "owners_fill",
                            "stored data does not decode (corrupt) in the owner map, "
                            "while the start-up fill wrote a page");
            if (err == LEDGER_OK) {
                self->accounts += rep->account_count;
                self->added += w.added;
                self->conflicts += w.conflicts;
                self->pages++;
                memcpy(after, rep->next, PROTO_ACCOUNT_ID_MAX + 1);
                result = rep->next[0] ? 1 : 0;
            }
        }
    }
    gateway_accounts_client_query_release(&query);
    return result;
}

static void *fill_thread(void *arg)
{
    gateway_owners_fill_t *self = arg;
    uint64_t start_ms = clock_mono_ms();
    char after[PROTO_ACCOUNT_ID_MAX + 1] = "";
    int step;
    for (;;) {
        step = fill_page(self, after);
        if (step == 1 && self->pages % GATEWAY_OWNERS_FILL_LOG_PAGES == 0)
            node_log_write(NODE_LOG_INFO, "event=owners_fill_page pages=%llu accounts=%llu",
                           (unsigned long long)self->pages, (unsigned long long)self->accounts);
        if (step == 0 || step == -2)
            break;
        if (step == -1) {
            node_log_write(NODE_LOG_INFO, "event=owners_fill_retry after=\"%s\" in_ms=%u", after,
                           GATEWAY_OWNERS_FILL_RETRY_MS);
            if (!wait_for(self, false, GATEWAY_OWNERS_FILL_RETRY_MS))
                break;
        }
    }
    pthread_mutex_lock(&self->lock);
    bool stopped = self->stopping || fill_faulted(self);
    self->done = step == 0;
    pthread_mutex_unlock(&self->lock);
    node_log_write(
        NODE_LOG_INFO, "event=%s accounts=%llu added=%llu conflicts=%llu pages=%llu ms=%llu",
        stopped ? "owners_fill_stopped" : "owners_fill_done", (unsigned long long)self->accounts,
        (unsigned long long)self->added, (unsigned long long)self->conflicts,
        (unsigned long long)self->pages, (unsigned long long)(clock_mono_ms() - start_ms));
    return NULL;
}

ledger_err_t gateway_owners_fill_start(const gateway_owners_fill_config_t *config,
                                       gateway_owners_fill_t **out)
{
    assert(config && config->store && out);
    *out = NULL;
    gateway_owners_fill_t *self = calloc(1, sizeof *self);
    if (!self)
        return LEDGER_E_NOMEM;
    self->store = config->store;
    self->faulted = config->faulted;
    self->fault = config->fault;
    self->fault_arg = config->fault_arg;
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->cond, NULL);
    gateway_accounts_client_config_t ac = {.endpoint = config->accounts_endpoint,
                                           .node_name = config->node_name,
                                           .cert = config->cert,
                                           .server_key = config->server_key,
                                           .timeout_ms = config->timeout_ms,
                                           .suspend = on_suspend,
                                           .resume = on_resume};
    ledger_err_t err = gateway_accounts_client_new(&ac, &self->client);
    if (!err && pthread_create(&self->thread, NULL, fill_thread, self) != 0)
        err = LEDGER_E_IO;
    self->started = err == LEDGER_OK;
    if (err) {
        gateway_owners_fill_destroy(&self);
        return err;
    }
    *out = self;
    return LEDGER_OK;
}

bool gateway_owners_fill_done(gateway_owners_fill_t *self)
{
    if (!self)
        return false;
    pthread_mutex_lock(&self->lock);
    bool done = self->done;
    pthread_mutex_unlock(&self->lock);
    return done;
}

void gateway_owners_fill_destroy(gateway_owners_fill_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gateway_owners_fill_t *self = *self_p;
    pthread_mutex_lock(&self->lock);
    self->stopping = true;
    pthread_cond_broadcast(&self->cond);
    pthread_mutex_unlock(&self->lock);
    if (self->client)
        gateway_accounts_client_stop(self->client); /* answers a waiting query: the thread wakes */
    if (self->started)
        pthread_join(self->thread, NULL);
    gateway_accounts_client_destroy(&self->client);
    pthread_cond_destroy(&self->cond);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

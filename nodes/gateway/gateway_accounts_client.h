/*  gateway_accounts_client.h: the gateway's client of the accounts node (account queries).

    What it does: sends account.query envelopes (list, get, open, ledger) to
    the accounts node over one persistent DEALER (a CURVE client with the
    gateway's key unless plaintext) and hands each reply back
    to the request that asked. ZMQ_IMMEDIATE, so nothing is queued towards a
    peer that is away: a query that cannot be sent is retried every
    SEND_RETRY_MS until its deadline (config.timeout_ms after it was
    prepared), then answered GATEWAY_ACCOUNTS_TIMEOUT. Replies are matched by
    delivery tag; an ack is not the answer (the query keeps waiting); a reply
    to a query already timed out is dropped.

    What it owns: one CZMQ actor (zactor: a thread behind a pipe; the
    constructor returns once the thread has its socket, the destructor sends
    $TERM and returns once the thread has answered every query and ended),
    the DEALER (created, used and closed by the actor alone), and the queue
    of queries handed to it. The queries are the caller's (embedded in the
    HTTP request state): from gateway_accounts_client_send until their waiter
    is resumed they belong to the actor; after the resume it never touches
    them again.

    How HTTP workers hand a query over: a ZeroMQ socket belongs to one
    thread, so workers never touch one. A worker links its query into a
    mutex-guarded queue (the lock is held for a few pointer writes and the
    suspend) and writes an eventfd the actor polls beside its pipe and the
    DEALER. So a worker never blocks on the accounts node, a socket or a
    timeout, and an accounts node that is down ties up no worker.

    How to call it, per query, on an HTTP worker:
      gateway_accounts_client_prepare   encodes the query (or refuses it);
      gateway_accounts_client_send      suspends its waiter and queues it;
      gateway_accounts_client_query_done  after the resume: true;
      read outcome / reply, then gateway_accounts_client_query_release.

    Errors: gateway_accounts_client_new: LEDGER_E_INVALID (a bad endpoint,
    node name or server key, or only one of cert and server_key), LEDGER_E_IO (no socket, no
   thread), LEDGER_E_NOMEM. A query's outcome says how it ended (gateway_accounts_outcome_t).

    Threads: new, stop and destroy on the thread that owns the server; prepare,
    send, query_done and query_release on any thread; config.suspend on the
    sending thread, config.resume on the actor's.
*/
#ifndef LEDGER_GATEWAY_ACCOUNTS_CLIENT_H
#define LEDGER_GATEWAY_ACCOUNTS_CLIENT_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ledger_err.h"
#include "proto.h"

#define GATEWAY_ACCOUNTS_ENDPOINT_MAX 256    /* bytes of the accounts endpoint */
#define GATEWAY_ACCOUNTS_SERVER_KEY_BYTES 41 /* a Z85 public key (40 characters) and its NUL */

typedef enum {
    GATEWAY_ACCOUNTS_OK = 0,    /* `reply` holds the account.reply */
    GATEWAY_ACCOUNTS_TIMEOUT,   /* no answer by the deadline */
    GATEWAY_ACCOUNTS_STOPPING,  /* the client stopped first */
    GATEWAY_ACCOUNTS_BAD_REPLY, /* an answer the gateway cannot use: `why` */
} gateway_accounts_outcome_t;

/* One account query and, once done, how it ended. */
typedef struct gateway_accounts_query {
    struct gateway_accounts_query *next; /* the client's link */
    proto_query_op_t op;
    uint64_t tag; /* delivery tag = the envelope's seq */
    void *data;   /* the encoded account.query envelope (owned; query_release frees it) */
    size_t size;
    uint64_t deadline_mono_ms;
    bool sent;
    void *waiter; /* handed to config.suspend / config.resume (an MHD connection) */
    bool done;    /* guarded by the client's lock: read it with query_done */
    gateway_accounts_outcome_t outcome;
    char why[PROTO_REASON_MAX + 1];
    bool has_reply;
    proto_msg_t reply; /* GATEWAY_ACCOUNTS_OK: the account.reply (query_release frees it) */
} gateway_accounts_query_t;

typedef struct {
    const char *endpoint;  /* required: the accounts node's inbox, e.g. "tcp://127.0.0.1:7201" */
    const char *node_name; /* required: queries come from "<node_name>-q" */
    /*  CURVE (issue 19): the gateway's own cert (copied) and the accounts
        node's Z85 public key; both NULL: a plain DEALER (--insecure-plaintext,
        tests). The accounts node takes the queries as from the key's name. */
    const zcert_t *cert;
    const char *server_key;
    uint32_t timeout_ms;      /* required (> 0): a query's deadline */
    uint64_t (*now_ms)(void); /* envelope timestamps; NULL = the real clock */
    /*  Called under the client's lock before the query becomes visible to the
        actor, so its resume can never come first (MHD_suspend_connection). */
    void (*suspend)(void *waiter);
    /* Called once per query after it is done, outside the lock (MHD_resume_connection). */
    void (*resume)(void *waiter);
} gateway_accounts_client_config_t;

typedef struct gateway_accounts_client_t gateway_accounts_client_t;

/* Starts the actor and connects its DEALER (config copied). */
ledger_err_t gateway_accounts_client_new(const gateway_accounts_client_config_t *config,
                                         gateway_accounts_client_t **out);

/*  Encodes `q` into `query` (zeroed first) with a fresh tag and sets its
    deadline. LEDGER_E_INVALID (the query breaks a wire rule: `why` says
    which), LEDGER_E_NOMEM. */
ledger_err_t gateway_accounts_client_prepare(gateway_accounts_client_t *self,
                                             gateway_accounts_query_t *query,
                                             const proto_query_t *q, char *why, size_t why_size);

/*  Hands a prepared query (waiter set) to the actor: suspends the waiter and
    wakes the actor. false, with nothing done, once the client is stopping. */
bool gateway_accounts_client_send(gateway_accounts_client_t *self, gateway_accounts_query_t *query);

/* True once the actor has answered the query. */
bool gateway_accounts_client_query_done(gateway_accounts_client_t *self,
                                        const gateway_accounts_query_t *query);

/* Frees what a query holds (its envelope, its reply); safe on a zeroed query. */
void gateway_accounts_client_query_release(gateway_accounts_query_t *query);

/*  Refuses new queries from now on (send returns false), answers every
    query it holds GATEWAY_ACCOUNTS_STOPPING (their waiters resumed) and
    stops the actor. Idempotent. The client stays valid for prepare, send,
    query_done until destroy, so HTTP workers may still call it. */
void gateway_accounts_client_stop(gateway_accounts_client_t *self);

/*  Stops the client (gateway_accounts_client_stop) if it is not stopped,
    frees everything, sets *self_p to NULL. Safe on NULL. No other thread
    may use the client any more (stop the HTTP daemon first). */
void gateway_accounts_client_destroy(gateway_accounts_client_t **self_p);

#endif

/*  gateway_actor.h: what the gateway's CZMQ actors (gateway_accounts_client,
    gateway_prune) share about their pipe.

    zactor_destroy sends "$TERM" down the pipe and waits for the actor to end;
    an actor reads one command when its pipe is readable and ends on $TERM or
    on a broken pipe. Header-only; call from the actor's thread.
*/
#ifndef LEDGER_GATEWAY_ACTOR_H
#define LEDGER_GATEWAY_ACTOR_H

#include <stdbool.h>
#include <string.h>
#include <czmq.h>

/* Reads one command from the actor's pipe: true when it says $TERM (or the pipe broke). */
static inline bool gateway_actor_pipe_says_stop(zsock_t *pipe)
{
    char *command = zstr_recv(pipe);
    bool stop = !command || strcmp(command, "$TERM") == 0;
    zstr_free(&command);
    return stop;
}

#endif

/*  harness.h: the pieces of ledger-harness that are not command-line parsing.

    Node names and endpoints: "gateway", "accounts" and "fraud" name the
    nodes' inboxes (ROUTER) at tcp://127.0.0.1:7101 / 7201 / 7301, and their
    feeds (PUB) at 7102 / 7202 / 7302. The same variables the nodes read
    override the inboxes (LEDGER_GATEWAY_ENDPOINT, LEDGER_ACCOUNTS_ENDPOINT,
    LEDGER_FRAUD_ENDPOINT); the feeds are overridden by LEDGER_GATEWAY_FEED,
    LEDGER_ACCOUNTS_FEED and LEDGER_FRAUD_FEED. Anything containing "://" is
    taken as an endpoint as it is.

    Messages: JSON envelopes as in proto/README.md (proto_json.h converts
    them to msgpack). A file holds one JSON envelope (it may span lines), a
    JSON array of envelopes, or JSON lines; a line written by `record`
    ({"node","topic","message"}) stands for its "message".

    What it owns: nothing between calls; loaded message lists and encoded
    frames are handed to the caller (who frees them). The keys and sockets
    live in harness_sock.c, the command line in harness_main.c.

    How to call it: harness_load_file / harness_load_text, then per message
    harness_envelope_complete, harness_receiver_of (for --to auto),
    harness_resolve and harness_encode.

    Errors are returned, never printed (a reason in `why`); main decides
    what to say and the exit code (HARNESS_EXIT_*). NULL arguments are
    bugs, asserted. Thread: single-threaded tool.
*/
#ifndef LEDGER_HARNESS_H
#define LEDGER_HARNESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ledger_err.h"

/* Exit codes of every subcommand. */
#define HARNESS_EXIT_OK 0
#define HARNESS_EXIT_NACK 1    /* the node answered nack / a check failed */
#define HARNESS_EXIT_USAGE 2   /* bad flags, bad JSON, unknown node */
#define HARNESS_EXIT_TIMEOUT 3 /* no answer in time / unreachable */

#define HARNESS_ENDPOINT_MAX 255
#define HARNESS_MESSAGES_MAX 100000     /* envelopes read from one file */
#define HARNESS_LINE_MAX (256u * 1024u) /* longest JSON line of a file */
#define HARNESS_TIMES_MAX 1000000u      /* --times upper bound */
#define HARNESS_TIMEOUT_MS_DEFAULT 2000u

typedef enum { HARNESS_INBOX, HARNESS_FEED } harness_socket_kind_t;

/*  Resolves a node name ("gateway", "accounts", "fraud") or an endpoint
    (contains "://") into `out`. `node_out` (HARNESS_ENDPOINT_MAX + 1 bytes,
    may be NULL) gets the node name, or the endpoint itself.
    LEDGER_E_NOT_FOUND for an unknown name, LEDGER_E_TOO_LARGE if too long. */
ledger_err_t harness_resolve(const char *name, harness_socket_kind_t kind,
                             char out[HARNESS_ENDPOINT_MAX + 1], char *node_out);

/*  The node that receives messages of `type` in the saga ("accounts" for
    transfer.requested and fraud.*, "fraud" for funds.reserved, "gateway" for
    transfer.settled / rejected_fraud / declined, "accounts" for
    account.query). NULL for ack, nack, account.reply and unknown types. */
const char *harness_receiver_of(const char *type);

/*  Completes an envelope given by a person: sets "v" to 1, "cause" to "" and
    "ts" to now when they are absent. Returns the envelope or NULL if it is
    not a JSON object. */
json_t *harness_envelope_complete(json_t *envelope);

/*  Encodes an envelope to its wire frame (proto_json_to_frame). Unless `raw`,
    the frame must then pass proto_decode: LEDGER_E_* from it, with a reason
    in `why`. *frame_out is malloc'd. */
ledger_err_t harness_encode(const json_t *envelope, bool raw, void **frame_out, size_t *size_out,
                            char *why, size_t why_size);

/*  Reads envelopes from `path` ("-" = stdin) into a new JSON array
    (*out owned by the caller). LEDGER_E_IO (cannot read), LEDGER_E_DECODE
    (bad JSON, with line number in `why`), LEDGER_E_TOO_LARGE (over the limits),
    LEDGER_E_INVALID (no envelopes). */
ledger_err_t harness_load_file(const char *path, json_t **out, char *why, size_t why_size);

/*  Parses one JSON text given on the command line: an object (one envelope,
    or a record line) or an array of them. Same errors as harness_load_file. */
ledger_err_t harness_load_text(const char *text, json_t **out, char *why, size_t why_size);

/* Milliseconds of CLOCK_MONOTONIC. */
uint64_t harness_monotonic_ms(void);

#endif

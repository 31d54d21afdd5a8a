/*  harness_main.c: ledger-harness, the operator's tool for talking to nodes
    by hand: send any message to any node's inbox and print its answer,
    replay a message (same id) many times, tap the nodes' feeds as JSON
    lines, record a feed to a file that replay reads back.

    It speaks the nodes' own protocol: a DEALER sends [8-byte tag][msgpack
    envelope] to a node's ROUTER and waits for the answer with the same tag
    (ack / nack / account.reply); a SUB reads [topic][envelope] from a PUB.
    Exit codes: harness.h (0 ok, 1 nack, 2 usage, 3 timeout).
*/
#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "proto.h"
#include "proto_json.h"

#define HARNESS_FEEDS_MAX 8              /* --from nodes in one tap */
#define HARNESS_TYPES_MAX 16             /* --type filters in one tap */
#define HARNESS_PEERS_MAX 8              /* destinations (DEALERs) of one send or replay */
#define HARNESS_TIMEOUT_MS_MAX 86400000u /* --timeout-ms upper bound: one day */
#define HARNESS_U64_DIGITS_MAX 20        /* decimal digits of the largest uint64_t */
#define HARNESS_WHY_BYTES 512            /* a reason printed to the operator */
/* Largest message a socket takes: a frame plus room for the frames around it (as the nodes). */
#define HARNESS_SOCKET_MSG_MAX_BYTES (PROTO_FRAME_MAX + 1024)
#define HARNESS_FEED_HWM_MESSAGES 100000 /* feed messages a tap's SUB queues */
#define HARNESS_POLL_SLICE_MS 1000u      /* longest wait of a tap between checks of its deadline */
/* Tags start at the monotonic ms shifted this far: a rerun's tags differ from the last run's. */
#define HARNESS_TAG_START_SHIFT 16

typedef struct {
    const char *to;
    const char *json;
    const char *file;
    const char *out;
    const char *corr;
    const char *from[HARNESS_FEEDS_MAX];
    size_t from_count;
    const char *types[HARNESS_TYPES_MAX];
    size_t type_count;
    uint64_t times;
    uint64_t count;
    uint64_t timeout_ms;
    bool timeout_given;
    bool raw;
    bool help;
} options_t;

static const char *const USAGE_MAIN =
    "usage: ledger-harness <command> [options]   (ledger-harness <command> --help)\n"
    "\n"
    "commands:\n"
    "  send     send one message to a node's inbox and print its answer\n"
    "  replay   send the same message(s), same ids, N times and count the answers\n"
    "  tap      print the messages the nodes publish on their feeds, as JSON lines\n"
    "  record   write the feeds to a file that replay reads\n"
    "\n"
    "nodes: gateway, accounts, fraud, or any ZeroMQ endpoint (tcp://host:port).\n"
    "  inboxes: tcp://127.0.0.1:7101 / 7201 / 7301, overridden by LEDGER_GATEWAY_ENDPOINT,\n"
    "           LEDGER_ACCOUNTS_ENDPOINT, LEDGER_FRAUD_ENDPOINT\n"
    "  feeds:   tcp://127.0.0.1:7102 / 7202 / 7302, overridden by LEDGER_GATEWAY_FEED,\n"
    "           LEDGER_ACCOUNTS_FEED, LEDGER_FRAUD_FEED\n"
    "exit codes: 0 ok, 1 a node answered nack, 2 usage / bad JSON / unknown node,\n"
    "            3 timeout (no answer, nothing arrived, node unreachable)\n";

static const char *const USAGE_SEND =
    "usage: ledger-harness send --to <node|endpoint|auto> (--json '<envelope>' | --file F)\n"
    "                           [--raw] [--timeout-ms N]\n"
    "\n"
    "Encodes the JSON envelope (proto/README.md) to the wire format, checks it as a\n"
    "node would (proto_decode), sends it and prints the answer as one JSON line:\n"
    "  "
    "{\"to\",\"id\",\"type\",\"answer\":\"ack\"|\"nack\"|\"account.reply\",\"code\",\"reason\","
    "\"reply\"}\n"
    "Missing \"v\", \"cause\" and \"ts\" are filled in (1, \"\", now). A file holds one\n"
    "envelope, an array, or JSON lines (a line written by `record` counts as its message);\n"
    "each message is sent once, in order.\n"
    "  --to auto     send each message to the node that receives its type in the saga\n"
    "  --raw         skip the check: send what the JSON encodes even if a node must refuse it\n"
    "                (to plant a poison message on purpose)\n"
    "  --timeout-ms  how long to wait for each answer (default 2000)\n"
    "exit: 0 all acked, 1 a nack, 2 bad input, 3 no answer in time\n";

static const char *const USAGE_REPLAY =
    "usage: ledger-harness replay --to <node|endpoint|auto> (--json '<envelope>' | --file F)\n"
    "                             [--times N] [--raw] [--timeout-ms N]\n"
    "\n"
    "Sends every message N times (default 1) with its id unchanged, one after the\n"
    "other, each after the previous answer. A node has applied a message id once;\n"
    "every resend must be acked and change nothing. Prints one JSON line per message\n"
    "  {\"to\",\"id\",\"type\",\"sent\",\"ack\",\"nack\",\"timeout\",\"code\",\"reason\"}\n"
    "and then {\"summary\":{\"messages\",\"sent\",\"ack\",\"nack\",\"timeout\"}}.\n"
    "A file written by `record` is replayed line by line (use --to auto to send each\n"
    "message to its saga receiver). Stops at the first message left unanswered.\n"
    "exit: 0 all acked, 1 any nack, 2 bad input, 3 a timeout\n";

static const char *const USAGE_TAP =
    "usage: ledger-harness tap --from <node...> [--type T]... [--corr ID] [--count N]\n"
    "                          [--timeout-ms N]\n"
    "\n"
    "Subscribes to the nodes' feeds (PUB: every message a node commits, topic = type)\n"
    "and prints one JSON line per message: {\"node\",\"topic\",\"message\":{envelope}}.\n"
    "  --from     one or more nodes or feed endpoints (--from gateway accounts fraud,\n"
    "             or --from gateway --from accounts, or --from gateway,accounts)\n"
    "  --type     only this message type (repeatable)\n"
    "  --corr     only messages of this transfer id\n"
    "  --count    stop after N lines\n"
    "  --timeout-ms  stop after N ms (default: run until interrupted)\n"
    "The feed is best effort (ZeroMQ PUB/SUB): a subscriber sees what is published\n"
    "after it has connected, nothing older.\n"
    "exit: 0 done (count reached, time up without --count, interrupted),\n"
    "      2 bad input, 3 time up before --count lines arrived\n";

static const char *const USAGE_RECORD =
    "usage: ledger-harness record --from <node...> --out FILE [--type T]... [--corr ID]\n"
    "                             [--count N] [--timeout-ms N]\n"
    "\n"
    "Like tap, but writes the JSON lines to FILE (flushed line by line); `replay --file\n"
    "FILE --to auto` sends them again. Options and exit codes as for tap.\n";

static int usage_error(const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prints "ledger-harness: <problem>" and the usage to stderr; returns the usage exit code. */
static int usage_error(const char *usage, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "ledger-harness: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n\n%s", usage);
    va_end(ap);
    return HARNESS_EXIT_USAGE;
}

static bool parse_u64(const char *text, uint64_t max, uint64_t *out)
{
    if (!text || !*text || strlen(text) > HARNESS_U64_DIGITS_MAX)
        return false;
    uint64_t v = 0;
    for (const char *p = text; *p; p++)
        if (*p < '0' || *p > '9' || __builtin_mul_overflow(v, 10, &v) ||
            __builtin_add_overflow(v, (uint64_t)(*p - '0'), &v))
            return false;
    if (v > max)
        return false;
    *out = v;
    return true;
}

/* Adds one --from value, which may be a comma-separated list. */
static bool add_from(options_t *o, char *value)
{
    char *save = NULL;
    for (char *part = strtok_r(value, ",", &save); part; part = strtok_r(NULL, ",", &save)) {
        if (o->from_count == HARNESS_FEEDS_MAX)
            return false;
        o->from[o->from_count++] = part;
    }
    return true;
}

/* Parses argv[first..] into `o`. Returns -1 to go on, or an exit code (usage printed). */
static int parse_options(int argc, char **argv, int first, const char *usage, options_t *o)
{
    memset(o, 0, sizeof *o);
    o->times = 1;
    o->timeout_ms = HARNESS_TIMEOUT_MS_DEFAULT;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            o->help = true;
        } else if (strcmp(a, "--raw") == 0) {
            o->raw = true;
        } else if (strcmp(a, "--to") == 0 && has_value) {
            o->to = argv[++i];
        } else if (strcmp(a, "--json") == 0 && has_value) {
            o->json = argv[++i];
        } else if (strcmp(a, "--file") == 0 && has_value) {
            o->file = argv[++i];
        } else if (strcmp(a, "--out") == 0 && has_value) {
            o->out = argv[++i];
        } else if (strcmp(a, "--corr") == 0 && has_value) {
            o->corr = argv[++i];
        } else if (strcmp(a, "--type") == 0 && has_value) {
            if (o->type_count == HARNESS_TYPES_MAX)
                return usage_error(usage, "at most %d --type filters", HARNESS_TYPES_MAX);
            o->types[o->type_count++] = argv[++i];
        } else if (strcmp(a, "--from") == 0 && has_value) {
            /* Every following word up to the next option is a node. */
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
                if (!add_from(o, argv[++i]))
                    return usage_error(usage, "at most %d --from nodes", HARNESS_FEEDS_MAX);
        } else if (strcmp(a, "--times") == 0 && has_value) {
            if (!parse_u64(argv[++i], HARNESS_TIMES_MAX, &o->times) || o->times == 0)
                return usage_error(usage, "--times must be 1..%u, not \"%s\"", HARNESS_TIMES_MAX,
                                   argv[i]);
        } else if (strcmp(a, "--count") == 0 && has_value) {
            if (!parse_u64(argv[++i], UINT32_MAX, &o->count) || o->count == 0)
                return usage_error(usage, "--count must be a positive integer, not \"%s\"",
                                   argv[i]);
        } else if (strcmp(a, "--timeout-ms") == 0 && has_value) {
            if (!parse_u64(argv[++i], HARNESS_TIMEOUT_MS_MAX, &o->timeout_ms) || o->timeout_ms == 0)
                return usage_error(usage, "--timeout-ms must be 1..%u, not \"%s\"",
                                   HARNESS_TIMEOUT_MS_MAX, argv[i]);
            o->timeout_given = true;
        } else if (strncmp(a, "--", 2) == 0 && !has_value && strcmp(a, "--raw") != 0) {
            return usage_error(usage, "%s needs a value", a);
        } else {
            return usage_error(usage, "unknown option \"%s\"", a);
        }
    }
    if (o->help) {
        fputs(usage, stdout);
        return HARNESS_EXIT_OK;
    }
    return -1;
}

static void print_json_line(FILE *out, json_t *value)
{
    char *text = json_dumps(value, JSON_COMPACT | JSON_ENSURE_ASCII);
    if (text) {
        fprintf(out, "%s\n", text);
        fflush(out);
        free(text);
    }
}

/* ------------------------------------------------------------------ send / replay */

typedef enum { ANSWER_ACK, ANSWER_NACK, ANSWER_REPLY, ANSWER_TIMEOUT, ANSWER_BAD } answer_kind_t;

typedef struct {
    answer_kind_t kind;
    char code[PROTO_CODE_MAX + 1];
    char reason[PROTO_REASON_MAX + 1];
    json_t *reply; /* the answer envelope as JSON (owned), or NULL */
} answer_t;

/* One DEALER per destination endpoint, reused for every message sent there. */
typedef struct {
    char endpoint[HARNESS_ENDPOINT_MAX + 1];
    char node[HARNESS_ENDPOINT_MAX + 1];
    zsock_t *sock;
} peer_t;

typedef struct {
    peer_t peers[HARNESS_PEERS_MAX];
    size_t peer_count;
    uint64_t next_tag;
} sender_t;

static void sender_fini(sender_t *s)
{
    for (size_t i = 0; i < s->peer_count; i++)
        zsock_destroy(&s->peers[i].sock);
}

/* The socket for `to` (a node, an endpoint). NULL with a reason if unknown. */
static peer_t *sender_peer(sender_t *s, const char *to, char *why, size_t why_size)
{
    char endpoint[HARNESS_ENDPOINT_MAX + 1], node[HARNESS_ENDPOINT_MAX + 1];
    if (harness_resolve(to, HARNESS_INBOX, endpoint, node) != LEDGER_OK) {
        snprintf(why, why_size, "unknown node \"%s\" (gateway, accounts, fraud or tcp://host:port)",
                 to);
        return NULL;
    }
    for (size_t i = 0; i < s->peer_count; i++)
        if (strcmp(s->peers[i].endpoint, endpoint) == 0)
            return &s->peers[i];
    if (s->peer_count == HARNESS_PEERS_MAX) {
        snprintf(why, why_size, "too many destinations");
        return NULL;
    }
    zsock_t *sock = zsock_new(ZMQ_DEALER);
    if (!sock) {
        snprintf(why, why_size, "cannot create a socket");
        return NULL;
    }
    zsock_set_linger(sock, 0);
    zsock_set_maxmsgsize(sock, HARNESS_SOCKET_MSG_MAX_BYTES);
    if (zsock_connect(sock, "%s", endpoint) != 0) {
        zsock_destroy(&sock);
        snprintf(why, why_size, "bad endpoint \"%s\"", endpoint);
        return NULL;
    }
    peer_t *p = &s->peers[s->peer_count++];
    snprintf(p->endpoint, sizeof p->endpoint, "%s", endpoint);
    snprintf(p->node, sizeof p->node, "%s", node);
    p->sock = sock;
    return p;
}

/* Sends one frame and waits up to timeout_ms for the answer with the same tag. */
static void exchange(sender_t *s, peer_t *p, const void *frame, size_t size, uint64_t timeout_ms,
                     answer_t *answer)
{
    memset(answer, 0, sizeof *answer);
    uint64_t tag = ++s->next_tag;
    uint8_t tag_bytes[PROTO_TAG_SIZE];
    proto_tag_pack(tag, tag_bytes);
    void *sock = zsock_resolve(p->sock);
    uint64_t deadline = harness_monotonic_ms() + timeout_ms;
    answer->kind = ANSWER_TIMEOUT;
    zmq_pollitem_t out_item = {.socket = sock, .events = ZMQ_POLLOUT};
    if (zmq_poll(&out_item, 1, (long)timeout_ms) <= 0 ||
        zmq_send(sock, tag_bytes, sizeof tag_bytes, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(sock, frame, size, ZMQ_DONTWAIT) < 0)
        return;
    for (;;) {
        uint64_t now = harness_monotonic_ms();
        if (now >= deadline || zsys_interrupted)
            return;
        zmq_pollitem_t item = {.socket = sock, .events = ZMQ_POLLIN};
        int rc = zmq_poll(&item, 1, (long)(deadline - now));
        if (rc < 0 && zmq_errno() != EINTR)
            return;
        if (rc <= 0)
            continue;
        zmsg_t *msg = zmsg_recv(p->sock);
        if (!msg)
            return;
        zframe_t *tag_frame = zmsg_first(msg);
        zframe_t *env_frame = zmsg_next(msg);
        /* An ack may answer several tags at once (proto/README.md): ours may be any of them. */
        static uint64_t got[PROTO_ACK_TAGS_MAX];
        size_t count = 0;
        bool ours =
            zmsg_size(msg) == 2 && proto_tags_unpack(zframe_data(tag_frame), zframe_size(tag_frame),
                                                     got, &count) == LEDGER_OK;
        bool found = false;
        for (size_t i = 0; ours && i < count; i++)
            found = found || got[i] == tag;
        ours = ours && found;
        if (!ours) { /* a late answer to an earlier send: not this one */
            zmsg_destroy(&msg);
            continue;
        }
        answer->reply = proto_json_from_frame(zframe_data(env_frame), zframe_size(env_frame));
        proto_msg_t reply;
        char why[PROTO_REASON_MAX + 1] = "";
        if (proto_decode(zframe_data(env_frame), zframe_size(env_frame), &reply, why, sizeof why) !=
            LEDGER_OK) {
            answer->kind = ANSWER_BAD;
            snprintf(answer->code, sizeof answer->code, "bad_answer");
            snprintf(answer->reason, sizeof answer->reason, "%s", why);
        } else {
            answer->kind = reply.type == PROTO_ACK    ? ANSWER_ACK
                           : reply.type == PROTO_NACK ? ANSWER_NACK
                                                      : ANSWER_REPLY;
            if (reply.type == PROTO_NACK) {
                snprintf(answer->code, sizeof answer->code, "%s", reply.body.reply.code);
                snprintf(answer->reason, sizeof answer->reason, "%s", reply.body.reply.reason);
            }
            proto_msg_release(&reply);
        }
        zmsg_destroy(&msg);
        return;
    }
}

static const char *answer_name(answer_kind_t kind)
{
    switch (kind) {
    case ANSWER_ACK:
        return "ack";
    case ANSWER_NACK:
        return "nack";
    case ANSWER_REPLY:
        return "account.reply";
    case ANSWER_TIMEOUT:
        return "timeout";
    default:
        return "bad_answer";
    }
}

/* Loads --json / --file into an array of completed envelopes. Exit code or -1. */
static int load_messages(const options_t *o, const char *usage, json_t **out)
{
    if (!o->to)
        return usage_error(usage, "%s", "--to is required");
    if (!o->json == !o->file)
        return usage_error(usage, "%s", "give exactly one of --json or --file");
    char why[HARNESS_WHY_BYTES] = "";
    ledger_err_t err = o->json ? harness_load_text(o->json, out, why, sizeof why)
                               : harness_load_file(o->file, out, why, sizeof why);
    if (err) {
        fprintf(stderr, "ledger-harness: %s\n", why);
        return HARNESS_EXIT_USAGE;
    }
    size_t i;
    json_t *env;
    json_array_foreach(*out, i, env) harness_envelope_complete(env);
    return -1;
}

typedef struct {
    const char *to_node;
    peer_t *peer;
    void *frame;
    size_t size;
    const char *id, *type;
} prepared_t;

/* Encodes message `env` and finds its destination. Exit code or -1. */
static int prepare(sender_t *s, const options_t *o, json_t *env, size_t index, prepared_t *p)
{
    memset(p, 0, sizeof *p);
    p->id = json_string_value(json_object_get(env, "id"));
    p->type = json_string_value(json_object_get(env, "type"));
    if (!p->id)
        p->id = "";
    if (!p->type)
        p->type = "";
    p->to_node = o->to;
    if (strcmp(o->to, "auto") == 0) {
        p->to_node = harness_receiver_of(p->type);
        if (!p->to_node) {
            fprintf(stderr,
                    "ledger-harness: message %zu (%s): no node receives type \"%s\"; use --to\n",
                    index + 1, p->id, p->type);
            return HARNESS_EXIT_USAGE;
        }
    }
    char why[HARNESS_WHY_BYTES] = "";
    p->peer = sender_peer(s, p->to_node, why, sizeof why);
    if (!p->peer) {
        fprintf(stderr, "ledger-harness: %s\n", why);
        return HARNESS_EXIT_USAGE;
    }
    ledger_err_t err = harness_encode(env, o->raw, &p->frame, &p->size, why, sizeof why);
    if (err) {
        fprintf(stderr, "ledger-harness: message %zu (%s) is not a valid %s: %s: %s%s\n", index + 1,
                p->id, p->type[0] ? p->type : "message", ledger_err_name(err), why,
                o->raw ? "" : " (--raw sends it anyway)");
        return HARNESS_EXIT_USAGE;
    }
    return -1;
}

static void warn_no_answer(const options_t *o, const prepared_t *p)
{
    fprintf(stderr,
            "ledger-harness: no answer from %s (%s) within %" PRIu64 " ms: is it running?\n",
            p->peer->node, p->peer->endpoint, o->timeout_ms);
}

/* What send and replay do with each prepared message; false stops the run. */
typedef bool (*send_one_fn)(sender_t *s, const options_t *o, const prepared_t *p, void *arg);

/*  Loads the messages (--json / --file), prepares each in turn and hands it
    to `one`. Returns the exit code of a load or a message that could not be
    prepared (the run stops there), else HARNESS_EXIT_OK: `one` keeps its
    own outcome in `arg`. */
static int send_each(const options_t *o, const char *usage, send_one_fn one, void *arg)
{
    json_t *list = NULL;
    int code = load_messages(o, usage, &list);
    if (code >= 0)
        return code;
    sender_t s = {.next_tag = harness_monotonic_ms() << HARNESS_TAG_START_SHIFT};
    code = HARNESS_EXIT_OK;
    size_t i;
    json_t *env;
    json_array_foreach(list, i, env)
    {
        prepared_t p;
        int c = prepare(&s, o, env, i, &p);
        if (c >= 0) {
            code = c;
            break;
        }
        bool more = one(&s, o, &p, arg);
        free(p.frame);
        if (!more)
            break;
    }
    sender_fini(&s);
    json_decref(list);
    return code;
}

/* send: one exchange, one line; `arg` is the exit code so far (a nack, a timeout). */
static bool send_one(sender_t *s, const options_t *o, const prepared_t *p, void *arg)
{
    int *code = arg;
    answer_t a;
    exchange(s, p->peer, p->frame, p->size, o->timeout_ms, &a);
    json_t *line = json_pack("{s:s,s:s,s:s,s:s}", "to", p->peer->node, "id", p->id, "type", p->type,
                             "answer", answer_name(a.kind));
    if (a.kind == ANSWER_NACK || a.kind == ANSWER_BAD) {
        json_object_set_new(line, "code", json_string(a.code));
        json_object_set_new(line, "reason", json_string(a.reason));
    }
    if (a.reply)
        json_object_set_new(line, "reply", a.reply);
    print_json_line(stdout, line);
    json_decref(line);
    if (a.kind == ANSWER_TIMEOUT) {
        warn_no_answer(o, p);
        *code = HARNESS_EXIT_TIMEOUT;
        return false;
    }
    if (a.kind == ANSWER_NACK || a.kind == ANSWER_BAD)
        *code = HARNESS_EXIT_NACK;
    return true;
}

static int cmd_send(const options_t *o)
{
    int outcome = HARNESS_EXIT_OK;
    int code = send_each(o, USAGE_SEND, send_one, &outcome);
    return code == HARNESS_EXIT_OK ? outcome : code;
}

/* Answers to the sends of one message, or of all of them. */
typedef struct {
    uint64_t sent, acks, nacks, timeouts;
} replay_counts_t;

/*  Sends prepared message `p` o->times times (stopping at the first
    timeout), prints its line, and adds its counts to `total`. Returns
    false after a timeout (the caller stops there). */
static bool replay_one(sender_t *s, const options_t *o, const prepared_t *p, replay_counts_t *total)
{
    replay_counts_t c = {0};
    char code_text[PROTO_CODE_MAX + 1] = "", reason[PROTO_REASON_MAX + 1] = "";
    for (uint64_t n = 0; n < o->times && !zsys_interrupted; n++) {
        answer_t a;
        exchange(s, p->peer, p->frame, p->size, o->timeout_ms, &a);
        json_decref(a.reply);
        c.sent++;
        if (a.kind == ANSWER_ACK || a.kind == ANSWER_REPLY) {
            c.acks++;
        } else if (a.kind == ANSWER_TIMEOUT) {
            c.timeouts++;
            break;
        } else {
            c.nacks++;
            snprintf(code_text, sizeof code_text, "%s", a.code);
            snprintf(reason, sizeof reason, "%s", a.reason);
        }
    }
    json_t *line = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:I}", "to", p->peer->node, "id", p->id,
                             "type", p->type, "sent", (json_int_t)c.sent, "ack", (json_int_t)c.acks,
                             "nack", (json_int_t)c.nacks, "timeout", (json_int_t)c.timeouts);
    if (c.nacks) {
        json_object_set_new(line, "code", json_string(code_text));
        json_object_set_new(line, "reason", json_string(reason));
    }
    print_json_line(stdout, line);
    json_decref(line);
    total->sent += c.sent;
    total->acks += c.acks;
    total->nacks += c.nacks;
    total->timeouts += c.timeouts;
    if (c.timeouts)
        warn_no_answer(o, p);
    return c.timeouts == 0;
}

/* Prints the summary line; returns the exit code the counts call for. */
static int replay_summary(size_t messages, const replay_counts_t *total)
{
    json_t *summary =
        json_pack("{s:{s:I,s:I,s:I,s:I,s:I}}", "summary", "messages", (json_int_t)messages, "sent",
                  (json_int_t)total->sent, "ack", (json_int_t)total->acks, "nack",
                  (json_int_t)total->nacks, "timeout", (json_int_t)total->timeouts);
    print_json_line(stdout, summary);
    json_decref(summary);
    return total->timeouts ? HARNESS_EXIT_TIMEOUT
           : total->nacks  ? HARNESS_EXIT_NACK
                           : HARNESS_EXIT_OK;
}

/* What a replay adds up over its messages. */
typedef struct {
    replay_counts_t total;
    size_t messages;
} replay_run_t;

static bool replay_each(sender_t *s, const options_t *o, const prepared_t *p, void *arg)
{
    replay_run_t *run = arg;
    run->messages++;
    return replay_one(s, o, p, &run->total);
}

static int cmd_replay(const options_t *o)
{
    replay_run_t run = {0};
    int code = send_each(o, USAGE_REPLAY, replay_each, &run);
    return code == HARNESS_EXIT_OK ? replay_summary(run.messages, &run.total) : code;
}

/* ------------------------------------------------------------------ tap / record */

static bool type_wanted(const options_t *o, const char *topic, size_t len)
{
    if (o->type_count == 0)
        return true;
    for (size_t i = 0; i < o->type_count; i++)
        if (strlen(o->types[i]) == len && memcmp(o->types[i], topic, len) == 0)
            return true;
    return false;
}

/* The SUB sockets of a tap, one per --from feed. */
typedef struct {
    zsock_t *subs[HARNESS_FEEDS_MAX];
    char names[HARNESS_FEEDS_MAX][HARNESS_ENDPOINT_MAX + 1];
    zmq_pollitem_t items[HARNESS_FEEDS_MAX];
    size_t count;
} tap_t;

/*  Connects one SUB per --from feed, subscribed to the --type topics (all
    without one). Returns -1 to go on, or an exit code (the problem printed). */
static int tap_connect(tap_t *t, const options_t *o, const char *usage)
{
    for (size_t i = 0; i < o->from_count; i++) {
        char endpoint[HARNESS_ENDPOINT_MAX + 1];
        if (harness_resolve(o->from[i], HARNESS_FEED, endpoint, t->names[i]) != LEDGER_OK)
            return usage_error(usage,
                               "unknown node \"%s\" (gateway, accounts, fraud or tcp://host:port)",
                               o->from[i]);
        t->subs[i] = zsock_new(ZMQ_SUB);
        if (!t->subs[i]) {
            fprintf(stderr, "ledger-harness: cannot create a socket\n");
            return HARNESS_EXIT_TIMEOUT;
        }
        t->count = i + 1;
        zsock_set_linger(t->subs[i], 0);
        zsock_set_maxmsgsize(t->subs[i], HARNESS_SOCKET_MSG_MAX_BYTES);
        zsock_set_rcvhwm(t->subs[i], HARNESS_FEED_HWM_MESSAGES);
        if (o->type_count == 0)
            zsock_set_subscribe(t->subs[i], "");
        for (size_t k = 0; k < o->type_count; k++)
            zsock_set_subscribe(t->subs[i], o->types[k]);
        if (zsock_connect(t->subs[i], "%s", endpoint) != 0)
            return usage_error(usage, "bad endpoint \"%s\"", endpoint);
        t->items[i] = (zmq_pollitem_t){.socket = zsock_resolve(t->subs[i]), .events = ZMQ_POLLIN};
        fprintf(stderr, "ledger-harness: tapping %s at %s\n", t->names[i], endpoint);
    }
    return -1;
}

/*  Prints feed message `msg` of node `name` as one JSON line if it passes
    the --type and --corr filters. Returns true when it printed one. */
static bool tap_print(const options_t *o, const char *name, zmsg_t *msg, FILE *out)
{
    zframe_t *topic = zmsg_first(msg);
    zframe_t *env = zmsg_next(msg);
    if (zmsg_size(msg) != 2 ||
        !type_wanted(o, (const char *)zframe_data(topic), zframe_size(topic)))
        return false;
    bool printed = false;
    json_t *message = proto_json_from_frame(zframe_data(env), zframe_size(env));
    const char *corr = json_string_value(json_object_get(message, "corr"));
    if (!o->corr || (corr && strcmp(corr, o->corr) == 0)) {
        json_t *line = json_pack("{s:s,s:s%,s:o}", "node", name, "topic",
                                 (const char *)zframe_data(topic), zframe_size(topic), "message",
                                 message ? json_incref(message)
                                         : json_pack("{s:b,s:I}", "undecodable", 1, "size_bytes",
                                                     (json_int_t)zframe_size(env)));
        /* json_pack fails on a topic that is not UTF-8: such a line is not
           printed, so it is not counted either. */
        if (line) {
            print_json_line(out, line);
            json_decref(line);
            printed = true;
        }
    }
    json_decref(message);
    return printed;
}

/*  Prints what the feeds publish until --count lines, the --timeout-ms
    deadline or an interrupt. Returns the exit code. */
static int tap_run(tap_t *t, const options_t *o, FILE *out)
{
    uint64_t printed = 0;
    uint64_t deadline = o->timeout_given ? harness_monotonic_ms() + o->timeout_ms : UINT64_MAX;
    while (!zsys_interrupted) {
        uint64_t now = harness_monotonic_ms();
        if (now >= deadline)
            return o->count && printed < o->count ? HARNESS_EXIT_TIMEOUT : HARNESS_EXIT_OK;
        uint64_t wait = deadline == UINT64_MAX ? HARNESS_POLL_SLICE_MS : deadline - now;
        int rc = zmq_poll(t->items, (int)t->count,
                          (long)(wait > HARNESS_POLL_SLICE_MS ? HARNESS_POLL_SLICE_MS : wait));
        if (rc < 0 && zmq_errno() != EINTR) {
            fprintf(stderr, "ledger-harness: poll failed: %s\n", zmq_strerror(zmq_errno()));
            return HARNESS_EXIT_TIMEOUT;
        }
        for (size_t i = 0; rc > 0 && i < t->count; i++) {
            if (!(t->items[i].revents & ZMQ_POLLIN))
                continue;
            zmsg_t *msg = zmsg_recv(t->subs[i]);
            if (!msg)
                continue;
            bool counted = tap_print(o, t->names[i], msg, out);
            zmsg_destroy(&msg);
            if (counted && o->count && ++printed >= o->count)
                return HARNESS_EXIT_OK;
        }
    }
    return HARNESS_EXIT_OK; /* interrupted */
}

static int cmd_tap(const options_t *o, const char *usage, FILE *out)
{
    if (o->from_count == 0)
        return usage_error(usage, "%s", "--from needs at least one node");
    tap_t t;
    memset(&t, 0, sizeof t);
    int code = tap_connect(&t, o, usage);
    if (code < 0)
        code = tap_run(&t, o, out);
    for (size_t i = 0; i < t.count; i++)
        zsock_destroy(&t.subs[i]);
    return code;
}

static int cmd_record(const options_t *o)
{
    if (!o->out)
        return usage_error(USAGE_RECORD, "%s", "--out FILE is required");
    FILE *out = fopen(o->out, "w");
    if (!out) {
        fprintf(stderr, "ledger-harness: cannot write %s: %s\n", o->out, strerror(errno));
        return HARNESS_EXIT_USAGE;
    }
    int code = cmd_tap(o, USAGE_RECORD, out);
    if (fclose(out) != 0) {
        fprintf(stderr, "ledger-harness: cannot write %s: %s\n", o->out, strerror(errno));
        return HARNESS_EXIT_USAGE;
    }
    return code;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(USAGE_MAIN, stderr);
        return HARNESS_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(USAGE_MAIN, stdout);
        return HARNESS_EXIT_OK;
    }
    const char *usage = strcmp(cmd, "send") == 0     ? USAGE_SEND
                        : strcmp(cmd, "replay") == 0 ? USAGE_REPLAY
                        : strcmp(cmd, "tap") == 0    ? USAGE_TAP
                        : strcmp(cmd, "record") == 0 ? USAGE_RECORD
                                                     : NULL;
    if (!usage) {
        fprintf(stderr, "ledger-harness: unknown command \"%s\"\n\n%s", cmd, USAGE_MAIN);
        return HARNESS_EXIT_USAGE;
    }
    options_t o;
    int code = parse_options(argc, argv, 2, usage, &o);
    if (code >= 0)
        return code;
    if (usage == USAGE_SEND)
        code = cmd_send(&o);
    else if (usage == USAGE_REPLAY)
        code = cmd_replay(&o);
    else if (usage == USAGE_TAP)
        code = cmd_tap(&o, USAGE_TAP, stdout);
    else
        code = cmd_record(&o);
    return code;
}

/*  harness_main.c: ledger-harness, the operator's tool for talking to nodes
    by hand: send any message to any node's inbox and print its answer,
    replay a message (same id) many times, tap the nodes' feeds as JSON
    lines, record a feed to a file that replay reads back.

    It speaks the nodes' own protocol: a DEALER sends [8-byte tag][msgpack
    envelope] to a node's ROUTER and waits for the answer with the same tag
    (ack / nack / account.reply); a SUB reads [topic][envelope] from a PUB.
    Both are CURVE clients with the harness's own key (harness_sock.h: keys,
    sockets, the handshake monitor, the exchange); this file is the command
    line and what each command prints.
    Exit codes: harness.h (0 ok, 1 nack, 2 usage or keys, 3 timeout or the
    node refused the harness's key).
*/
#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "harness_sock.h"
#include "proto.h"
#include "proto_json.h"

#define HARNESS_FEEDS_MAX 8              /* --from nodes in one tap */
#define HARNESS_TYPES_MAX 16             /* --type filters in one tap */
#define HARNESS_PEERS_MAX 8              /* destinations (DEALERs) of one send or replay */
#define HARNESS_TIMEOUT_MS_MAX 86400000u /* --timeout-ms upper bound: one day */
#define HARNESS_U64_DIGITS_MAX 20        /* decimal digits of the largest uint64_t */
#define HARNESS_WHY_BYTES 1024           /* a reason printed to the operator */
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
    harness_sock_config_t keys; /* --keys-dir, --key, --server-key, --insecure-plaintext */
} options_t;

/* The key options every command takes (harness_sock.h). */
#define USAGE_KEYS                                                                                 \
    "keys (the harness is a CURVE peer of the mesh, like a node):\n"                               \
    "  --keys-dir D         the mesh's keys (default $LEDGER_KEYS_DIR, else ./data/keys)\n"        \
    "  --key NAME           use D/NAME.key (default $LEDGER_HARNESS_KEY, else harness); mode\n"    \
    "                       0600 or stricter, as for the nodes\n"                                  \
    "  --server-key K       a raw tcp:// endpoint's node key: its public cert file or 40 Z85\n"    \
    "                       characters (node names use D/public/<node>.pub)\n"                     \
    "  --insecure-plaintext no CURVE (nodes started with --insecure-plaintext only)\n"             \
    "A node accepts the key only once allowed: ledger-keys allow NAME --to <node> --dir D.\n"

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
    "\n" USAGE_KEYS "\n"
    "What a node takes from the harness key (the role table, README \"Operating the mesh\"):\n"
    "account.query get/list/ledger at accounts; with LEDGER_HARNESS_REPLAY=1 on a node,\n"
    "replays of messages it has already seen (answered as duplicates, never applied).\n"
    "\n"
    "exit codes: 0 ok, 1 a node answered nack, 2 usage / bad JSON / unknown node / keys\n"
    "            missing or refused (ledger-keys init), 3 timeout (no answer, nothing\n"
    "            arrived, node unreachable) or a node refused the key (ledger-keys allow)\n";

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
    "\n" USAGE_KEYS "\n"
    "exit: 0 all acked, 1 a nack, 2 bad input or keys, 3 no answer in time or the node\n"
    "      refused the key (\"answer\":\"refused\")\n";

static const char *const USAGE_REPLAY =
    "usage: ledger-harness replay --to <node|endpoint|auto> (--json '<envelope>' | --file F)\n"
    "                             [--times N] [--raw] [--timeout-ms N]\n"
    "\n"
    "Sends every message N times (default 1) with its id unchanged, one after the\n"
    "other, each after the previous answer. A node has applied a message id once;\n"
    "every resend must be acked and change nothing. Prints one JSON line per message\n"
    "  {\"to\",\"id\",\"type\",\"sent\",\"ack\",\"nack\",\"timeout\",\"refused\",\"code\","
    "\"reason\"}\n"
    "and then {\"summary\":{\"messages\",\"sent\",\"ack\",\"nack\",\"timeout\",\"refused\"}}.\n"
    "A node takes a replay from the harness key only where LEDGER_HARNESS_REPLAY=1, and\n"
    "only as a duplicate of a message it has seen (nack replay_not_seen otherwise).\n"
    "A file written by `record` is replayed line by line (use --to auto to send each\n"
    "message to its saga receiver). Stops at the first message left unanswered.\n"
    "\n" USAGE_KEYS "\n"
    "exit: 0 all acked, 1 any nack, 2 bad input or keys, 3 a timeout or a refused key\n";

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
    "after it has connected, nothing older. A node's feed, like its inbox, takes only\n"
    "allowed keys.\n"
    "\n" USAGE_KEYS "\n"
    "exit: 0 done (count reached, time up without --count, interrupted),\n"
    "      2 bad input or keys, 3 time up before --count lines arrived, or a node\n"
    "      refused the key\n";

static const char *const USAGE_RECORD =
    "usage: ledger-harness record --from <node...> --out FILE [--type T]... [--corr ID]\n"
    "                             [--count N] [--timeout-ms N]\n"
    "\n"
    "Like tap, but writes the JSON lines to FILE (flushed line by line); `replay --file\n"
    "FILE --to auto` sends them again. Options (keys too) and exit codes as for tap.\n";

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

/* A key option (harness_sock_config_t) at argv[*i]: true if it was one (its value taken). */
static bool parse_key_option(int argc, char **argv, int *i, harness_sock_config_t *keys)
{
    const char *a = argv[*i];
    if (strcmp(a, "--insecure-plaintext") == 0) {
        keys->plaintext = true;
        return true;
    }
    const char **slot = strcmp(a, "--keys-dir") == 0     ? &keys->keys_dir
                        : strcmp(a, "--key") == 0        ? &keys->key_name
                        : strcmp(a, "--server-key") == 0 ? &keys->server_key
                                                         : NULL;
    if (!slot || *i + 1 >= argc)
        return false;
    *slot = argv[++*i];
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
        } else if (parse_key_option(argc, argv, &i, &o->keys)) {
            continue;
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

/* One DEALER per destination endpoint, reused for every message sent there. */
typedef struct {
    harness_sock_keys_t keys;
    harness_sock_t peers[HARNESS_PEERS_MAX];
    size_t peer_count;
    uint64_t next_tag;
} sender_t;

static void sender_fini(sender_t *s)
{
    for (size_t i = 0; i < s->peer_count; i++)
        harness_sock_close(&s->peers[i]);
    harness_sock_keys_release(&s->keys);
}

/*  Loads the harness's key for a command (the problem printed). Returns -1
    to go on, or the exit code: keys missing or refused are HARNESS_EXIT_USAGE. */
static int keys_load(harness_sock_keys_t *keys, const options_t *o)
{
    char why[HARNESS_WHY_BYTES] = "";
    if (harness_sock_keys_load(keys, &o->keys, why, sizeof why) != LEDGER_OK) {
        fprintf(stderr, "ledger-harness: %s\n", why);
        return HARNESS_EXIT_USAGE;
    }
    if (keys->plaintext)
        fprintf(stderr,
                "ledger-harness: warning: --insecure-plaintext: no CURVE; the links are "
                "NOT authenticated or encrypted, and nodes running with keys refuse them\n");
    return -1;
}

/* The exit code for a socket harness_sock_open could not make. */
static int open_failure_code(ledger_err_t err)
{
    return err == LEDGER_E_IO ? HARNESS_EXIT_TIMEOUT : HARNESS_EXIT_USAGE;
}

/* The socket for `to` (a node, an endpoint). NULL with a reason and *code if it cannot be. */
static harness_sock_t *sender_peer(sender_t *s, const char *to, char *why, size_t why_size,
                                   int *code)
{
    char endpoint[HARNESS_ENDPOINT_MAX + 1];
    bool known = harness_resolve(to, HARNESS_INBOX, endpoint, NULL) == LEDGER_OK;
    for (size_t i = 0; known && i < s->peer_count; i++)
        if (strcmp(s->peers[i].endpoint, endpoint) == 0)
            return &s->peers[i];
    *code = HARNESS_EXIT_USAGE;
    if (s->peer_count == HARNESS_PEERS_MAX) {
        snprintf(why, why_size, "too many destinations");
        return NULL;
    }
    harness_sock_t *p = &s->peers[s->peer_count];
    ledger_err_t err = harness_sock_open(p, &s->keys, ZMQ_DEALER, to, HARNESS_INBOX, why, why_size);
    if (err) {
        *code = open_failure_code(err);
        return NULL;
    }
    s->peer_count++;
    return p;
}

/* Prints the hint for a node that refused the harness's key. */
static void warn_refused(const harness_sock_t *peer, const harness_sock_keys_t *keys)
{
    char hint[HARNESS_WHY_BYTES];
    harness_sock_refusal(peer, keys, hint, sizeof hint);
    fprintf(stderr, "ledger-harness: %s\n", hint);
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
    harness_sock_t *peer;
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
    int code = HARNESS_EXIT_USAGE;
    p->peer = sender_peer(s, p->to_node, why, sizeof why, &code);
    if (!p->peer) {
        fprintf(stderr, "ledger-harness: %s\n", why);
        return code;
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

/* No answer in time: says so, with the handshake's problem if the monitor saw one. */
static void warn_no_answer(const options_t *o, const prepared_t *p)
{
    harness_sock_poll(p->peer);
    fprintf(stderr, "ledger-harness: no answer from %s (%s) within %" PRIu64 " ms: %s\n",
            p->peer->node, p->peer->endpoint, o->timeout_ms,
            p->peer->problem[0] ? p->peer->problem : "is it running?");
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
    code = keys_load(&s.keys, o);
    if (code >= 0) {
        json_decref(list);
        return code;
    }
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
    harness_answer_t a;
    harness_sock_exchange(p->peer, ++s->next_tag, p->frame, p->size, o->timeout_ms, &a);
    json_t *line = json_pack("{s:s,s:s,s:s,s:s}", "to", p->peer->node, "id", p->id, "type", p->type,
                             "answer", harness_sock_answer_name(a.kind));
    if (a.kind == HARNESS_ANSWER_NACK || a.kind == HARNESS_ANSWER_BAD) {
        json_object_set_new(line, "code", json_string(a.code));
        json_object_set_new(line, "reason", json_string(a.reason));
    }
    if (a.reply)
        json_object_set_new(line, "reply", a.reply);
    print_json_line(stdout, line);
    json_decref(line);
    if (a.kind == HARNESS_ANSWER_TIMEOUT || a.kind == HARNESS_ANSWER_REFUSED) {
        if (a.kind == HARNESS_ANSWER_REFUSED)
            warn_refused(p->peer, &s->keys);
        else
            warn_no_answer(o, p);
        *code = HARNESS_EXIT_TIMEOUT;
        return false;
    }
    if (a.kind == HARNESS_ANSWER_NACK || a.kind == HARNESS_ANSWER_BAD)
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
    uint64_t sent, acks, nacks, timeouts, refusals;
} replay_counts_t;

/*  Sends prepared message `p` o->times times (stopping at the first
    timeout or refused handshake), prints its line, and adds its counts to
    `total`. Returns false after a timeout or a refusal (the caller stops). */
static bool replay_one(sender_t *s, const options_t *o, const prepared_t *p, replay_counts_t *total)
{
    replay_counts_t c = {0};
    char code_text[PROTO_CODE_MAX + 1] = "", reason[PROTO_REASON_MAX + 1] = "";
    for (uint64_t n = 0; n < o->times && !zsys_interrupted; n++) {
        harness_answer_t a;
        harness_sock_exchange(p->peer, ++s->next_tag, p->frame, p->size, o->timeout_ms, &a);
        json_decref(a.reply);
        c.sent++;
        if (a.kind == HARNESS_ANSWER_ACK || a.kind == HARNESS_ANSWER_REPLY) {
            c.acks++;
        } else if (a.kind == HARNESS_ANSWER_TIMEOUT || a.kind == HARNESS_ANSWER_REFUSED) {
            c.timeouts += a.kind == HARNESS_ANSWER_TIMEOUT;
            c.refusals += a.kind == HARNESS_ANSWER_REFUSED;
            break;
        } else {
            c.nacks++;
            snprintf(code_text, sizeof code_text, "%s", a.code);
            snprintf(reason, sizeof reason, "%s", a.reason);
        }
    }
    json_t *line = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I}", "to", p->peer->node, "id", p->id,
                             "type", p->type, "sent", (json_int_t)c.sent, "ack", (json_int_t)c.acks,
                             "nack", (json_int_t)c.nacks, "timeout", (json_int_t)c.timeouts,
                             "refused", (json_int_t)c.refusals);
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
    total->refusals += c.refusals;
    if (c.timeouts)
        warn_no_answer(o, p);
    if (c.refusals)
        warn_refused(p->peer, &s->keys);
    return c.timeouts == 0 && c.refusals == 0;
}

/* Prints the summary line; returns the exit code the counts call for. */
static int replay_summary(size_t messages, const replay_counts_t *total)
{
    json_t *summary = json_pack(
        "{s:{s:I,s:I,s:I,s:I,s:I,s:I}}", "summary", "messages", (json_int_t)messages, "sent",
        (json_int_t)total->sent, "ack", (json_int_t)total->acks, "nack", (json_int_t)total->nacks,
        "timeout", (json_int_t)total->timeouts, "refused", (json_int_t)total->refusals);
    print_json_line(stdout, summary);
    json_decref(summary);
    return total->timeouts || total->refusals ? HARNESS_EXIT_TIMEOUT
           : total->nacks                     ? HARNESS_EXIT_NACK
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

/* The SUB sockets of a tap, one per --from feed, and their monitors. */
typedef struct {
    harness_sock_keys_t keys;
    harness_sock_t feeds[HARNESS_FEEDS_MAX];
    zmq_pollitem_t items[2 * HARNESS_FEEDS_MAX]; /* the SUBs, then their monitors */
    size_t count;
} tap_t;

/*  Connects one SUB per --from feed, subscribed to the --type topics (all
    without one). Returns -1 to go on, or an exit code (the problem printed). */
static int tap_connect(tap_t *t, const options_t *o)
{
    int code = keys_load(&t->keys, o);
    for (size_t i = 0; code < 0 && i < o->from_count; i++) {
        harness_sock_t *feed = &t->feeds[i];
        char why[HARNESS_WHY_BYTES] = "";
        ledger_err_t err =
            harness_sock_open(feed, &t->keys, ZMQ_SUB, o->from[i], HARNESS_FEED, why, sizeof why);
        if (err) {
            fprintf(stderr, "ledger-harness: %s\n", why);
            return open_failure_code(err);
        }
        t->count = i + 1;
        if (o->type_count == 0)
            zsock_set_subscribe(feed->sock, "");
        for (size_t k = 0; k < o->type_count; k++)
            zsock_set_subscribe(feed->sock, o->types[k]);
        t->items[i] = (zmq_pollitem_t){.socket = zsock_resolve(feed->sock), .events = ZMQ_POLLIN};
        fprintf(stderr, "ledger-harness: tapping %s at %s\n", feed->node, feed->endpoint);
    }
    for (size_t i = 0; i < t->count; i++)
        t->items[t->count + i] =
            (zmq_pollitem_t){.socket = zsock_resolve(t->feeds[i].monitor), .events = ZMQ_POLLIN};
    return code;
}

/* True (the hint printed) if a node refused the tap's key; else says what else went wrong. */
static bool tap_refused(tap_t *t, bool time_up)
{
    for (size_t i = 0; i < t->count; i++) {
        if (harness_sock_poll(&t->feeds[i]) == HARNESS_SOCK_REFUSED) {
            warn_refused(&t->feeds[i], &t->keys);
            return true;
        }
        if (time_up && t->feeds[i].problem[0])
            fprintf(stderr, "ledger-harness: %s: %s\n", t->feeds[i].node, t->feeds[i].problem);
    }
    return false;
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
        if (tap_refused(t, now >= deadline))
            return HARNESS_EXIT_TIMEOUT;
        if (now >= deadline)
            return o->count && printed < o->count ? HARNESS_EXIT_TIMEOUT : HARNESS_EXIT_OK;
        uint64_t wait = deadline == UINT64_MAX ? HARNESS_POLL_SLICE_MS : deadline - now;
        int rc = zmq_poll(t->items, (int)(2 * t->count),
                          (long)(wait > HARNESS_POLL_SLICE_MS ? HARNESS_POLL_SLICE_MS : wait));
        if (rc < 0 && zmq_errno() != EINTR) {
            fprintf(stderr, "ledger-harness: poll failed: %s\n", zmq_strerror(zmq_errno()));
            return HARNESS_EXIT_TIMEOUT;
        }
        for (size_t i = 0; rc > 0 && i < t->count; i++) {
            if (!(t->items[i].revents & ZMQ_POLLIN))
                continue;
            zmsg_t *msg = zmsg_recv(t->feeds[i].sock);
            if (!msg)
                continue;
            bool counted = tap_print(o, t->feeds[i].node, msg, out);
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
    int code = tap_connect(&t, o);
    if (code < 0)
        code = tap_run(&t, o, out);
    for (size_t i = 0; i < t.count; i++)
        harness_sock_close(&t.feeds[i]);
    harness_sock_keys_release(&t.keys);
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

/*  harness_sock.c: the harness's key, its CURVE sockets to the nodes with a
    handshake monitor each, and the tagged exchange with an inbox
    (harness_sock.h says what each step is for). */
#include "harness_sock.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "curve_sock.h"
#include "proto_json.h"

/* Largest message a socket takes: a frame plus room for the frames around it (as the nodes). */
#define HARNESS_SOCK_MSG_MAX_BYTES (PROTO_FRAME_MAX + 1024)
#define HARNESS_SOCK_FEED_HWM_MESSAGES 100000 /* feed messages a tap's SUB queues */
#define HARNESS_SOCK_MONITOR_ENDPOINT_MAX 64
#define HARNESS_SOCK_EVENT_BYTES 6 /* a monitor event frame: uint16 event, uint32 value */
#define HARNESS_SOCK_WHY_MAX 400   /* a reason from curve/ quoted in ours */
/* The events the monitor reports: enough to tell "refused" from "not there" and "wrong key". */
#define HARNESS_SOCK_EVENTS                                                                        \
    (ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |                       \
     ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_SUCCEEDED)

static ledger_err_t fail(ledger_err_t err, char *why, size_t why_size, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static ledger_err_t fail(ledger_err_t err, char *why, size_t why_size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_size, fmt, ap);
    va_end(ap);
    return err;
}

static const char *flag_or_env(const char *flag, const char *var, const char *fallback)
{
    const char *env = getenv(var);
    return flag ? flag : env && *env ? env : fallback;
}

/* --server-key: 40 characters of Z85, or else the path of a public cert. */
static ledger_err_t load_server_key(harness_sock_keys_t *keys, const char *text, char *why,
                                    size_t why_size)
{
    uint8_t raw[32];
    struct stat st;
    if (strlen(text) == CURVE_KEYS_Z85_BYTES - 1 && stat(text, &st) != 0 &&
        zmq_z85_decode(raw, text) != NULL) {
        snprintf(keys->server_z85, sizeof keys->server_z85, "%s", text);
        return LEDGER_OK;
    }
    char inner[HARNESS_SOCK_WHY_MAX] = "";
    ledger_err_t err = curve_keys_read_public_file(text, keys->server_z85, keys->server_name, NULL,
                                                   inner, sizeof inner);
    if (err)
        return fail(LEDGER_E_INVALID, why, why_size,
                    "--server-key %s is neither a 40-character Z85 key nor a public cert: %s", text,
                    inner);
    return LEDGER_OK;
}

/* Loads <dir>/<name>.key with a node's own checks; the reason names the fix. */
static ledger_err_t load_cert(harness_sock_keys_t *keys, char *why, size_t why_size)
{
    const char *dir = keys->keys_dir;
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return fail(LEDGER_E_NOT_FOUND, why, why_size,
                    "no keys directory %s (--keys-dir, LEDGER_KEYS_DIR): give the mesh's "
                    "(export LEDGER_KEYS_DIR=.demo/keys for scripts/demo.sh) or make one with "
                    "`ledger-keys init --dir %s`",
                    dir, dir);
    char inner[HARNESS_SOCK_WHY_MAX] = "";
    ledger_err_t err =
        curve_keys_load_own(dir, NULL, keys->key_name, &keys->cert, inner, sizeof inner);
    if (err == LEDGER_E_NOT_FOUND)
        return fail(err, why, why_size,
                    "no usable key \"%s\" in %s (%s): `ledger-keys init --dir %s` makes the "
                    "mesh's keys, the harness's included",
                    keys->key_name, dir, inner, dir);
    if (err)
        return fail(err, why, why_size, "key \"%s\" in %s refused: %s", keys->key_name, dir, inner);
    return LEDGER_OK;
}

ledger_err_t harness_sock_keys_load(harness_sock_keys_t *keys, const harness_sock_config_t *cfg,
                                    char *why, size_t why_size)
{
    assert(keys && cfg && why);
    memset(keys, 0, sizeof *keys);
    keys->plaintext = cfg->plaintext;
    const char *dir = flag_or_env(cfg->keys_dir, "LEDGER_KEYS_DIR", CURVE_KEYS_DEFAULT_DIR);
    const char *name = flag_or_env(cfg->key_name, "LEDGER_HARNESS_KEY", HARNESS_SOCK_KEY_DEFAULT);
    if (strlen(dir) >= sizeof keys->keys_dir)
        return fail(LEDGER_E_TOO_LARGE, why, why_size, "keys dir path too long");
    snprintf(keys->keys_dir, sizeof keys->keys_dir, "%s", dir);
    if (!curve_keys_name_valid(name))
        return fail(LEDGER_E_INVALID, why, why_size,
                    "key name \"%.*s\" is not a key name (1..%d of a-z 0-9 _ -, a letter first)",
                    CURVE_KEYS_NAME_MAX + 8, name, CURVE_KEYS_NAME_MAX);
    snprintf(keys->key_name, sizeof keys->key_name, "%s", name);
    if (keys->plaintext) {
        if (cfg->server_key)
            return fail(LEDGER_E_INVALID, why, why_size,
                        "--server-key means CURVE: it does not go with --insecure-plaintext");
        return LEDGER_OK;
    }
    ledger_err_t err =
        cfg->server_key ? load_server_key(keys, cfg->server_key, why, why_size) : LEDGER_OK;
    return err ? err : load_cert(keys, why, why_size);
}

void harness_sock_keys_release(harness_sock_keys_t *keys)
{
    assert(keys);
    zcert_destroy(&keys->cert);
}

/* The Z85 key of the server `node` names: its public cert, or --server-key for an endpoint. */
static ledger_err_t server_key_of(const harness_sock_keys_t *keys, const char *to, const char *node,
                                  char z85[CURVE_KEYS_Z85_BYTES], char *why, size_t why_size)
{
    if (strstr(to, "://")) {
        if (!keys->server_z85[0])
            return fail(LEDGER_E_INVALID, why, why_size,
                        "%s is an endpoint, not a node name: give its node's public key with "
                        "--server-key PUBFILE|Z85 (a node's is %s/public/<node>.pub)",
                        to, keys->keys_dir);
        memcpy(z85, keys->server_z85, CURVE_KEYS_Z85_BYTES);
        return LEDGER_OK;
    }
    char inner[HARNESS_SOCK_WHY_MAX] = "";
    ledger_err_t err = curve_keys_load_public(keys->keys_dir, node, z85, NULL, inner, sizeof inner);
    if (err)
        return fail(err, why, why_size, "no public key of %s: %s", node, inner);
    return LEDGER_OK;
}

/* Starts s's monitor: libzmq publishes the socket's events on a fresh inproc endpoint. */
static ledger_err_t monitor_attach(harness_sock_t *s, harness_sock_keys_t *keys, char *why,
                                   size_t why_size)
{
    char endpoint[HARNESS_SOCK_MONITOR_ENDPOINT_MAX];
    snprintf(endpoint, sizeof endpoint, "inproc://harness-monitor-%u", keys->monitors++);
    if (zmq_socket_monitor(zsock_resolve(s->sock), endpoint, HARNESS_SOCK_EVENTS) != 0)
        return fail(LEDGER_E_IO, why, why_size, "cannot monitor a socket: %s",
                    zmq_strerror(zmq_errno()));
    s->monitor = zsock_new(ZMQ_PAIR);
    if (!s->monitor || zsock_connect(s->monitor, "%s", endpoint) != 0)
        return fail(LEDGER_E_IO, why, why_size, "cannot read a socket's monitor");
    return LEDGER_OK;
}

/* Sets up s->sock (already created) as a CURVE client of `to` unless plaintext. */
static ledger_err_t apply_security(harness_sock_t *s, const harness_sock_keys_t *keys,
                                   const char *to, char *why, size_t why_size)
{
    if (keys->plaintext)
        return LEDGER_OK;
    char z85[CURVE_KEYS_Z85_BYTES];
    ledger_err_t err = server_key_of(keys, to, s->node, z85, why, why_size);
    if (err)
        return err;
    return curve_sock_client(s->sock, keys->cert, z85, why, why_size);
}

ledger_err_t harness_sock_open(harness_sock_t *s, harness_sock_keys_t *keys, int zmq_type,
                               const char *to, harness_socket_kind_t kind, char *why,
                               size_t why_size)
{
    assert(s && keys && to && why);
    assert(zmq_type == ZMQ_DEALER || zmq_type == ZMQ_SUB);
    memset(s, 0, sizeof *s);
    ledger_err_t err = harness_resolve(to, kind, s->endpoint, s->node);
    if (err)
        return fail(err, why, why_size,
                    "unknown node \"%s\" (gateway, accounts, fraud or tcp://host:port)", to);
    s->sock = zsock_new(zmq_type);
    if (!s->sock)
        return fail(LEDGER_E_IO, why, why_size, "cannot create a socket");
    zsock_set_linger(s->sock, 0);
    zsock_set_maxmsgsize(s->sock, HARNESS_SOCK_MSG_MAX_BYTES);
    if (zmq_type == ZMQ_SUB)
        zsock_set_rcvhwm(s->sock, HARNESS_SOCK_FEED_HWM_MESSAGES);
    err = apply_security(s, keys, to, why, why_size);
    if (!err)
        err = monitor_attach(s, keys, why, why_size);
    if (!err && zsock_connect(s->sock, "%s", s->endpoint) != 0)
        err = fail(LEDGER_E_INVALID, why, why_size, "bad endpoint \"%s\"", s->endpoint);
    if (err)
        harness_sock_close(s);
    return err;
}

void harness_sock_close(harness_sock_t *s)
{
    assert(s);
    zsock_destroy(&s->monitor);
    zsock_destroy(&s->sock);
}

/* Notes one monitor event in s. */
static void note_event(harness_sock_t *s, uint16_t event, uint32_t value)
{
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
        s->refused = true;
    } else if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
        s->problem[0] = '\0';
    } else if (value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH) {
        snprintf(s->problem, sizeof s->problem,
                 "the handshake failed: one side runs CURVE, the other --insecure-plaintext");
    } else if (value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC) {
        snprintf(s->problem, sizeof s->problem,
                 "the handshake failed: the node's key is not the server key used "
                 "(public/<node>.pub or --server-key)");
    } else {
        /* libzmq reports a server that could not open our HELLO (another key
           than the one we used as its public key) as a failure without detail. */
        snprintf(s->problem, sizeof s->problem,
                 "the handshake failed (libzmq event 0x%x, 0x%x): is the server key used "
                 "(public/<node>.pub or --server-key) that node's?",
                 (unsigned)event, (unsigned)value);
    }
}

harness_sock_state_t harness_sock_poll(harness_sock_t *s)
{
    assert(s);
    while (s->monitor && (zsock_events(s->monitor) & ZMQ_POLLIN)) {
        zmsg_t *msg = zmsg_recv(s->monitor);
        zframe_t *head = msg ? zmsg_first(msg) : NULL;
        if (head && zframe_size(head) == HARNESS_SOCK_EVENT_BYTES) {
            uint16_t event;
            uint32_t value;
            memcpy(&event, zframe_data(head), sizeof event);
            memcpy(&value, zframe_data(head) + sizeof event, sizeof value);
            note_event(s, event, value);
        }
        zmsg_destroy(&msg);
    }
    return s->refused ? HARNESS_SOCK_REFUSED : HARNESS_SOCK_OK;
}

void harness_sock_refusal(const harness_sock_t *s, const harness_sock_keys_t *keys, char *out,
                          size_t out_size)
{
    assert(s && keys && out);
    bool default_dir = strcmp(keys->keys_dir, CURVE_KEYS_DEFAULT_DIR) == 0;
    const char *node = !strstr(s->node, "://") ? s->node
                       : keys->server_name[0]  ? keys->server_name
                                               : "NODE";
    snprintf(out, out_size, "%s does not accept key %s: ledger-keys allow %s --to %s%s%s", s->node,
             keys->key_name, keys->key_name, node, default_dir ? "" : " --dir ",
             default_dir ? "" : keys->keys_dir);
}

const char *harness_sock_answer_name(harness_answer_kind_t kind)
{
    switch (kind) {
    case HARNESS_ANSWER_ACK:
        return "ack";
    case HARNESS_ANSWER_NACK:
        return "nack";
    case HARNESS_ANSWER_REPLY:
        return "account.reply";
    case HARNESS_ANSWER_TIMEOUT:
        return "timeout";
    case HARNESS_ANSWER_REFUSED:
        return "refused";
    default:
        return "bad_answer";
    }
}

/* Fills answer from the envelope of a reply that carried our tag. */
static void read_answer(zframe_t *env_frame, harness_answer_t *answer)
{
    answer->reply = proto_json_from_frame(zframe_data(env_frame), zframe_size(env_frame));
    proto_msg_t reply;
    char why[PROTO_REASON_MAX + 1] = "";
    if (proto_decode(zframe_data(env_frame), zframe_size(env_frame), &reply, why, sizeof why) !=
        LEDGER_OK) {
        answer->kind = HARNESS_ANSWER_BAD;
        snprintf(answer->code, sizeof answer->code, "bad_answer");
        snprintf(answer->reason, sizeof answer->reason, "%s", why);
        return;
    }
    answer->kind = reply.type == PROTO_ACK    ? HARNESS_ANSWER_ACK
                   : reply.type == PROTO_NACK ? HARNESS_ANSWER_NACK
                                              : HARNESS_ANSWER_REPLY;
    if (reply.type == PROTO_NACK) {
        snprintf(answer->code, sizeof answer->code, "%s", reply.body.reply.code);
        snprintf(answer->reason, sizeof answer->reason, "%s", reply.body.reply.reason);
    }
    proto_msg_release(&reply);
}

/* True if msg is [tags][envelope] and tags include `tag` (an ack may answer several). */
static bool answers_tag(zmsg_t *msg, uint64_t tag)
{
    static uint64_t got[PROTO_ACK_TAGS_MAX];
    size_t count = 0;
    zframe_t *tags = zmsg_first(msg);
    if (zmsg_size(msg) != 2 ||
        proto_tags_unpack(zframe_data(tags), zframe_size(tags), got, &count) != LEDGER_OK)
        return false;
    for (size_t i = 0; i < count; i++)
        if (got[i] == tag)
            return true;
    return false;
}

void harness_sock_exchange(harness_sock_t *s, uint64_t tag, const void *frame, size_t size,
                           uint64_t timeout_ms, harness_answer_t *answer)
{
    assert(s && s->sock && frame && answer);
    memset(answer, 0, sizeof *answer);
    uint8_t tag_bytes[PROTO_TAG_SIZE];
    proto_tag_pack(tag, tag_bytes);
    void *sock = zsock_resolve(s->sock);
    uint64_t deadline = harness_monotonic_ms() + timeout_ms;
    answer->kind = HARNESS_ANSWER_TIMEOUT;
    zmq_pollitem_t out_item = {.socket = sock, .events = ZMQ_POLLOUT};
    if (zmq_poll(&out_item, 1, (long)timeout_ms) <= 0 ||
        zmq_send(sock, tag_bytes, sizeof tag_bytes, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(sock, frame, size, ZMQ_DONTWAIT) < 0)
        return;
    for (;;) {
        uint64_t now = harness_monotonic_ms();
        if (harness_sock_poll(s) == HARNESS_SOCK_REFUSED) {
            answer->kind = HARNESS_ANSWER_REFUSED;
            return;
        }
        if (now >= deadline || zsys_interrupted)
            return;
        zmq_pollitem_t items[] = {{.socket = sock, .events = ZMQ_POLLIN},
                                  {.socket = zsock_resolve(s->monitor), .events = ZMQ_POLLIN}};
        int rc = zmq_poll(items, 2, (long)(deadline - now));
        if (rc < 0 && zmq_errno() != EINTR)
            return;
        if (rc <= 0 || !(items[0].revents & ZMQ_POLLIN))
            continue;
        zmsg_t *msg = zmsg_recv(s->sock);
        if (!msg)
            return;
        bool ours = answers_tag(msg, tag);
        if (ours) /* else a late answer to an earlier send: not this one */
            read_answer(zmsg_last(msg), answer);
        zmsg_destroy(&msg);
        if (ours)
            return;
    }
}

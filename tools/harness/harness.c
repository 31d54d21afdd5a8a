/* harness.c: endpoints, message files and encoding for ledger-harness. */
#include "harness.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto.h"
#include "proto_json.h"
#include "clock.h"

typedef struct {
    const char *name;
    const char *inbox_var, *inbox_default;
    const char *feed_var, *feed_default;
} harness_node_t;

static const harness_node_t NODES[] = {
    {"gateway", "LEDGER_GATEWAY_ENDPOINT", "tcp://127.0.0.1:7101", "LEDGER_GATEWAY_FEED",
     "tcp://127.0.0.1:7102"},
    {"accounts", "LEDGER_ACCOUNTS_ENDPOINT", "tcp://127.0.0.1:7201", "LEDGER_ACCOUNTS_FEED",
     "tcp://127.0.0.1:7202"},
    {"fraud", "LEDGER_FRAUD_ENDPOINT", "tcp://127.0.0.1:7301", "LEDGER_FRAUD_FEED",
     "tcp://127.0.0.1:7302"},
};

ledger_err_t harness_resolve(const char *name, harness_socket_kind_t kind,
                             char out[HARNESS_ENDPOINT_MAX + 1], char *node_out)
{
    assert(name && out);
    const char *endpoint = NULL;
    const char *node = name;
    if (strstr(name, "://")) {
        endpoint = name;
    } else {
        for (size_t i = 0; i < sizeof NODES / sizeof NODES[0]; i++) {
            if (strcmp(NODES[i].name, name) != 0)
                continue;
            const char *var = kind == HARNESS_INBOX ? NODES[i].inbox_var : NODES[i].feed_var;
            const char *env = getenv(var);
            endpoint = env && *env ? env
                                   : (kind == HARNESS_INBOX ? NODES[i].inbox_default
                                                            : NODES[i].feed_default);
            node = NODES[i].name;
        }
    }
    if (!endpoint)
        return LEDGER_E_NOT_FOUND;
    if (strlen(endpoint) > HARNESS_ENDPOINT_MAX || strlen(node) > HARNESS_ENDPOINT_MAX)
        return LEDGER_E_TOO_LARGE;
    snprintf(out, HARNESS_ENDPOINT_MAX + 1, "%s", endpoint);
    if (node_out)
        snprintf(node_out, HARNESS_ENDPOINT_MAX + 1, "%s", node);
    return LEDGER_OK;
}

const char *harness_receiver_of(const char *type)
{
    static const struct {
        const char *type, *node;
    } routes[] = {
        {"transfer.requested", "accounts"}, {"funds.reserved", "fraud"},
        {"fraud.approved", "accounts"},     {"fraud.rejected", "accounts"},
        {"transfer.settled", "gateway"},    {"transfer.rejected_fraud", "gateway"},
        {"transfer.declined", "gateway"},   {"account.query", "accounts"},
    };
    if (!type)
        return NULL;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (strcmp(routes[i].type, type) == 0)
            return routes[i].node;
    return NULL;
}

uint64_t harness_monotonic_ms(void)
{
    return clock_mono_ms();
}

json_t *harness_envelope_complete(json_t *envelope)
{
    if (!json_is_object(envelope))
        return NULL;
    if (!json_object_get(envelope, "v"))
        json_object_set_new(envelope, "v", json_integer(PROTO_VERSION));
    if (!json_object_get(envelope, "cause"))
        json_object_set_new(envelope, "cause", json_string(""));
    if (!json_object_get(envelope, "ts")) {
        json_object_set_new(envelope, "ts", json_integer((json_int_t)clock_wall_ms()));
    }
    return envelope;
}

ledger_err_t harness_encode(const json_t *envelope, bool raw, void **frame_out, size_t *size_out,
                            char *why, size_t why_size)
{
    assert(envelope && frame_out && size_out && why);
    void *frame = NULL;
    size_t size = 0;
    ledger_err_t err = proto_json_to_frame(envelope, &frame, &size);
    if (err) {
        snprintf(why, why_size, "%s",
                 err == LEDGER_E_TOO_LARGE
                     ? "the message is larger than the 64 KiB frame limit"
                     : "the JSON has reals or is nested too deep for the wire format");
        return err;
    }
    if (!raw) {
        proto_msg_t msg;
        err = proto_decode(frame, size, &msg, why, why_size);
        if (err) {
            free(frame);
            return err;
        }
        proto_msg_release(&msg);
    }
    *frame_out = frame;
    *size_out = size;
    return LEDGER_OK;
}

/* Appends one parsed JSON value (an envelope, a record line, or an array of them) to `list`. */
static ledger_err_t add_value(json_t *list, json_t *value, char *why, size_t why_size, size_t line)
{
    if (json_is_array(value)) {
        size_t i;
        json_t *item;
        json_array_foreach(value, i, item)
        {
            ledger_err_t err = add_value(list, item, why, why_size, line);
            if (err)
                return err;
        }
        return LEDGER_OK;
    }
    if (!json_is_object(value)) {
        snprintf(why, why_size, "line %zu: expected a JSON object (an envelope)", line);
        return LEDGER_E_DECODE;
    }
    json_t *message = json_object_get(value, "message");
    json_t *envelope = json_is_object(message) && !json_object_get(value, "type") ? message : value;
    if (json_array_size(list) >= HARNESS_MESSAGES_MAX) {
        snprintf(why, why_size, "more than %u messages", (unsigned)HARNESS_MESSAGES_MAX);
        return LEDGER_E_TOO_LARGE;
    }
    json_array_append(list, envelope);
    return LEDGER_OK;
}

ledger_err_t harness_load_text(const char *text, json_t **out, char *why, size_t why_size)
{
    assert(text && out && why);
    json_error_t jerr;
    json_t *value = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    if (!value) {
        snprintf(why, why_size, "bad JSON at line %d column %d: %s", jerr.line, jerr.column,
                 jerr.text);
        return LEDGER_E_DECODE;
    }
    json_t *list = json_array();
    ledger_err_t err = add_value(list, value, why, why_size, 1);
    json_decref(value);
    if (!err && json_array_size(list) == 0) {
        snprintf(why, why_size, "no messages given");
        err = LEDGER_E_INVALID;
    }
    if (err) {
        json_decref(list);
        return err;
    }
    *out = list;
    return LEDGER_OK;
}

/* Reads a whole file (at most HARNESS_MESSAGES_MAX * HARNESS_LINE_MAX would be absurd: cap it). */
#define HARNESS_FILE_MAX (256u * 1024u * 1024u)
#define HARNESS_READ_FIRST_BYTES 65536u /* buffer of a file read at first, doubled as it fills */

static ledger_err_t read_all(const char *path, char **text_out, size_t *len_out, char *why,
                             size_t why_size)
{
    FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!in) {
        snprintf(why, why_size, "cannot open %s: %s", path, strerror(errno));
        return LEDGER_E_IO;
    }
    size_t cap = HARNESS_READ_FIRST_BYTES, len = 0;
    char *text = malloc(cap);
    ledger_err_t err = text ? LEDGER_OK : LEDGER_E_NOMEM;
    while (!err) {
        if (len + 1 >= cap) {
            if (cap >= HARNESS_FILE_MAX) {
                snprintf(why, why_size, "%s is larger than %u bytes", path, HARNESS_FILE_MAX);
                err = LEDGER_E_TOO_LARGE;
                break;
            }
            char *grown = realloc(text, cap * 2);
            if (!grown) {
                err = LEDGER_E_NOMEM;
                break;
            }
            text = grown;
            cap *= 2;
        }
        size_t n = fread(text + len, 1, cap - len - 1, in);
        len += n;
        if (n == 0) {
            if (ferror(in)) {
                snprintf(why, why_size, "cannot read %s: %s", path, strerror(errno));
                err = LEDGER_E_IO;
            }
            break;
        }
    }
    if (in != stdin)
        fclose(in);
    if (err) {
        free(text);
        return err;
    }
    text[len] = '\0';
    *text_out = text;
    *len_out = len;
    return LEDGER_OK;
}

ledger_err_t harness_load_file(const char *path, json_t **out, char *why, size_t why_size)
{
    assert(path && out && why);
    char *text = NULL;
    size_t len = 0;
    ledger_err_t err = read_all(path, &text, &len, why, why_size);
    if (err)
        return err;
    /* One JSON value (an envelope over several lines, or an array) first; else JSON lines. */
    json_error_t jerr;
    json_t *whole = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *list = json_array();
    if (whole) {
        err = add_value(list, whole, why, why_size, 1);
        json_decref(whole);
    } else {
        size_t line_no = 0;
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line && !err;
             line = strtok_r(NULL, "\n", &save)) {
            line_no++;
            size_t n = strlen(line);
            while (n && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
                line[--n] = '\0';
            if (n == 0)
                continue;
            if (n > HARNESS_LINE_MAX) {
                snprintf(why, why_size, "%s line %zu: longer than %u bytes", path, line_no,
                         HARNESS_LINE_MAX);
                err = LEDGER_E_TOO_LARGE;
                break;
            }
            json_t *value = json_loadb(line, n, JSON_REJECT_DUPLICATES, &jerr);
            if (!value) {
                snprintf(why, why_size, "%s line %zu: bad JSON: %s", path, line_no, jerr.text);
                err = LEDGER_E_DECODE;
                break;
            }
            err = add_value(list, value, why, why_size, line_no);
            json_decref(value);
        }
    }
    free(text);
    if (!err && json_array_size(list) == 0) {
        snprintf(why, why_size, "%s holds no messages", path);
        err = LEDGER_E_INVALID;
    }
    if (err) {
        json_decref(list);
        return err;
    }
    *out = list;
    return LEDGER_OK;
}

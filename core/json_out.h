/*  json_out.h: writes JSON text straight into a growing buffer, for the hot
    answers whose shape is fixed (a pending transfer, the batch endpoint's
    results). Building a jansson tree and dumping it cost ~45,000
    instructions per batch item (bench/callgrind.py), most of the gateway's
    HTTP thread; writing the text costs a few hundred. Everything else, and
    all parsing, stays with jansson.

    json_out writes objects, arrays, keys, strings, integers and null exactly
    as jansson's json_dumps(JSON_COMPACT) does (strings:
    `"` `\` and control characters escaped, \b \f \n \r \t by name, others as
    \u00XX; other bytes, UTF-8 included, as they are). json_out_test checks
    it byte for byte against jansson. Strings must be valid UTF-8 (every text
    the gateway answers with was validated on the way in or is its own).

    Out of memory is sticky: later writes do nothing and json_out_take
    returns NULL. Pure; one json_out_t per thread. */
#ifndef LEDGER_JSON_OUT_H
#define LEDGER_JSON_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *data;
    size_t len;
    size_t cap;
    bool failed; /* an allocation failed */
} json_out_t;

/* An empty buffer with room for `reserve` bytes (0: allocate on first write). */
void json_out_init(json_out_t *out, size_t reserve);

/*  Values, keys and containers. Each writes the comma before itself when
    one is due (after a value, inside an object or array), so a caller
    writes only what it means: begin_object, key, str, ..., end_object. */
void json_out_begin_object(json_out_t *out);
void json_out_end_object(json_out_t *out);
void json_out_begin_array(json_out_t *out);
void json_out_end_array(json_out_t *out);
/* `"key":` (key escaped like a string). */
void json_out_key(json_out_t *out, const char *key);
/* `text` as a quoted, escaped JSON string. */
void json_out_str(json_out_t *out, const char *text);
/* `value` in decimal. */
void json_out_int(json_out_t *out, int64_t value);
void json_out_null(json_out_t *out);
/* A key and its value. */
void json_out_member_str(json_out_t *out, const char *key, const char *text);
void json_out_member_int(json_out_t *out, const char *key, int64_t value);

/*  Hands over the text (NUL-terminated, free() it; *size_out its length)
    and empties `out`. NULL (and `out` freed) if a write ran out of memory. */
char *json_out_take(json_out_t *out, size_t *size_out);
/* Frees the buffer; safe twice. */
void json_out_free(json_out_t *out);

#endif

/*  proto_json.h: wire frames as JSON (jansson), for people and tools.

    The conversion is generic and structural: a msgpack map becomes a JSON
    object, an array an array, a string a string, an integer an integer; and
    back. It knows nothing about message types: proto_decode stays the one
    place that validates a message. To build a message from JSON, convert
    with proto_json_to_frame and then run proto_decode on the frame.

    The JSON form therefore mirrors proto/README.md field for field:
    {"v":1,"id":"gateway/7","type":"transfer.requested","corr":"tr_...",
     "cause":"","ts":1764000000000,"body":{...}}. Thread-safe.
*/
#ifndef LEDGER_PROTO_JSON_H
#define LEDGER_PROTO_JSON_H

#include <jansson.h>
#include <stddef.h>
#include "ledger_err.h"

/*  JSON for a msgpack frame (any frame up to PROTO_FRAME_MAX, nesting up to
    PROTO_NEST_MAX). NULL if it is not msgpack of those kinds (binary, float,
    nil and bool values are shown as null / real / true/false), or too large. */
json_t *proto_json_from_frame(const void *data, size_t size);

/*  msgpack for a JSON value (objects, arrays, strings, integers, true/false,
    null; reals are refused). *data_out is malloc'd (free()).
    Errors: LEDGER_E_INVALID (a real, nesting over PROTO_NEST_MAX),
    LEDGER_E_TOO_LARGE (over PROTO_FRAME_MAX), LEDGER_E_NOMEM. */
ledger_err_t proto_json_to_frame(const json_t *json, void **data_out, size_t *size_out);

#endif

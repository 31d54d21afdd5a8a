/* proto_json.c: structural msgpack <-> JSON conversion for tools and admin views. */
#include "proto_json.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

static json_t *object_to_json(const msgpack_object *o, int depth)
{
    if (depth > PROTO_NEST_MAX + 1)
        return NULL;
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return json_null();
    case MSGPACK_OBJECT_BOOLEAN:
        return json_boolean(o->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        if (o->via.u64 > (uint64_t)INT64_MAX)
            return NULL;
        return json_integer((json_int_t)o->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return json_integer((json_int_t)o->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return json_real(o->via.f64);
    case MSGPACK_OBJECT_STR:
        return json_stringn_nocheck(o->via.str.ptr, o->via.str.size);
    case MSGPACK_OBJECT_ARRAY: {
        json_t *arr = json_array();
        for (uint32_t i = 0; arr && i < o->via.array.size; i++) {
            json_t *item = object_to_json(&o->via.array.ptr[i], depth + 1);
            if (!item || json_array_append_new(arr, item)) {
                json_decref(arr);
                return NULL;
            }
        }
        return arr;
    }
    case MSGPACK_OBJECT_MAP: {
        json_t *obj = json_object();
        for (uint32_t i = 0; obj && i < o->via.map.size; i++) {
            const msgpack_object_kv *kv = &o->via.map.ptr[i];
            if (kv->key.type != MSGPACK_OBJECT_STR || kv->key.via.str.size > 255) {
                json_decref(obj);
                return NULL;
            }
            char key[256];
            memcpy(key, kv->key.via.str.ptr, kv->key.via.str.size);
            key[kv->key.via.str.size] = '\0';
            json_t *val = object_to_json(&kv->val, depth + 1);
            if (!val || json_object_set_new_nocheck(obj, key, val)) {
                json_decref(obj);
                return NULL;
            }
        }
        return obj;
    }
    default:
        return NULL; /* bin, ext */
    }
}

json_t *proto_json_from_frame(const void *data, size_t size)
{
    if (!data || size == 0 || size > PROTO_FRAME_MAX)
        return NULL;
    /* msgpack-c allocates a container's items as soon as it reads the count:
       check the bytes first, without allocating (a 5-byte frame can claim 2^32 items). */
    if (proto_frame_check(data, size, NULL, 0) != LEDGER_OK)
        return NULL;
    msgpack_unpacked result;
    msgpack_unpacked_init(&result);
    size_t offset = 0;
    json_t *out = NULL;
    if (msgpack_unpack_next(&result, data, size, &offset) == MSGPACK_UNPACK_SUCCESS &&
        offset == size)
        out = object_to_json(&result.data, 0);
    msgpack_unpacked_destroy(&result);
    return out;
}

static ledger_err_t pack_json(msgpack_packer *pk, const json_t *j, int depth)
{
    if (depth > PROTO_NEST_MAX + 1)
        return LEDGER_E_INVALID;
    switch (json_typeof(j)) {
    case JSON_NULL:
        return msgpack_pack_nil(pk) ? LEDGER_E_NOMEM : LEDGER_OK;
    case JSON_TRUE:
        return msgpack_pack_true(pk) ? LEDGER_E_NOMEM : LEDGER_OK;
    case JSON_FALSE:
        return msgpack_pack_false(pk) ? LEDGER_E_NOMEM : LEDGER_OK;
    case JSON_INTEGER:
        return msgpack_pack_int64(pk, json_integer_value(j)) ? LEDGER_E_NOMEM : LEDGER_OK;
    case JSON_REAL:
        return LEDGER_E_INVALID;
    case JSON_STRING: {
        size_t len = json_string_length(j);
        if (msgpack_pack_str(pk, len) || msgpack_pack_str_body(pk, json_string_value(j), len))
            return LEDGER_E_NOMEM;
        return LEDGER_OK;
    }
    case JSON_ARRAY: {
        if (msgpack_pack_array(pk, json_array_size(j)))
            return LEDGER_E_NOMEM;
        size_t i;
        json_t *item;
        json_array_foreach(j, i, item)
        {
            ledger_err_t err = pack_json(pk, item, depth + 1);
            if (err)
                return err;
        }
        return LEDGER_OK;
    }
    case JSON_OBJECT: {
        if (msgpack_pack_map(pk, json_object_size(j)))
            return LEDGER_E_NOMEM;
        const char *key;
        json_t *val;
        json_object_foreach((json_t *)j, key, val)
        {
            size_t len = strlen(key);
            if (msgpack_pack_str(pk, len) || msgpack_pack_str_body(pk, key, len))
                return LEDGER_E_NOMEM;
            ledger_err_t err = pack_json(pk, val, depth + 1);
            if (err)
                return err;
        }
        return LEDGER_OK;
    }
    }
    return LEDGER_E_INVALID;
}

ledger_err_t proto_json_to_frame(const json_t *json, void **data_out, size_t *size_out)
{
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    ledger_err_t err = pack_json(&pk, json, 0);
    if (!err && sbuf.size > PROTO_FRAME_MAX)
        err = LEDGER_E_TOO_LARGE;
    if (err) {
        msgpack_sbuffer_destroy(&sbuf);
        return err;
    }
    /* msgpack_sbuffer_release resets sbuf.size: read it first. */
    *size_out = sbuf.size;
    *data_out = msgpack_sbuffer_release(&sbuf);
    return LEDGER_OK;
}
